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

// SetObjectTags replaces the tag set of an object version (nil removes it)
// and returns the version.
func (s *Store) SetObjectTags(ctx context.Context, bucket, key, versionID string, tags []meta.Tag) (*meta.Version, error) {
	if tags != nil {
		if err := ValidateTags(tags, MaxTags); err != nil {
			return nil, err
		}
		if len(tags) == 0 {
			tags = nil
		}
	}
	var out *meta.Version
	err := s.update(ctx, func(tx meta.Tx) error {
		v, err := lookup(tx, bucket, key, versionID)
		if err != nil {
			return err
		}
		v.Tags = tags
		if err := tx.UpdateVersion(bucket, v); err != nil {
			return err
		}
		out = v
		return nil
	})
	return out, err
}
