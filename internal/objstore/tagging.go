package objstore

import (
	"context"

	"github.com/sluicehq/sluice/internal/meta"
)

// ObjectTags returns the tag set of an object version and the version's ID.
func (s *Store) ObjectTags(ctx context.Context, bucket, key, versionID string) ([]meta.Tag, string, error) {
	var (
		tags []meta.Tag
		vid  string
	)
	err := s.view(ctx, func(tx meta.Tx) error {
		v, err := lookup(tx, bucket, key, versionID)
		if err != nil {
			return err
		}
		tags, vid = v.Tags, v.VersionID
		return nil
	})
	return tags, vid, err
}

// SetObjectTags replaces the tag set of an object version (nil removes it:
// DeleteObjectTagging) and returns the version. origin is the request
// behind the change, for its event.
func (s *Store) SetObjectTags(ctx context.Context, bucket, key, versionID string, tags []meta.Tag, origin Origin) (*meta.Version, error) {
	name := EventObjectTaggingPut
	if tags == nil {
		name = EventObjectTaggingDelete
	}
	if tags != nil {
		if err := ValidateTags(tags, MaxTags); err != nil {
			return nil, err
		}
		if len(tags) == 0 {
			tags = nil
		}
	}
	var out *meta.Version
	emitted := false
	err := s.update(ctx, func(tx meta.Tx) error {
		v, err := lookup(tx, bucket, key, versionID)
		if err != nil {
			return err
		}
		v.Tags = tags
		if err := tx.UpdateVersion(bucket, v); err != nil {
			return err
		}
		b, err := tx.Bucket(bucket)
		if err != nil {
			return err
		}
		ev := &Event{Name: name, Bucket: b, Key: key, VersionID: v.VersionID, Size: v.Size, ETag: v.ETag, Time: s.timestamp(), Origin: origin}
		if emitted, err = s.emit(tx, ev); err != nil {
			return err
		}
		out = v
		return nil
	})
	if err == nil {
		s.dispatch(emitted)
	}
	return out, err
}
