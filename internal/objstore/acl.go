package objstore

import (
	"context"
	"slices"

	"github.com/sluicehq/sluice/internal/meta"
)

// ObjectVersion returns an object version as GET would find it: the
// latest version, or the named one ("null" for the null version). A
// latest version that is a delete marker is NoSuchKey, a delete marker
// named by ID is MethodNotAllowed (both carry the marker's details).
func (s *Store) ObjectVersion(ctx context.Context, bucket, key, versionID string) (*meta.Version, error) {
	var v *meta.Version
	err := s.view(ctx, func(tx meta.Tx) error {
		var err error
		v, err = lookup(tx, bucket, key, versionID)
		return err
	})
	return v, err
}

// UpdateObjectVersion applies fn to an object version (found as
// ObjectVersion finds it) and stores the result in place: for changes
// of its ACL, which fn may check against the version's owner in the same
// transaction. fn may run more than once. A change that leaves the ACL as
// it was emits nothing; one that changes it emits ObjectAcl:Put, as S3
// does, with origin as the request behind it.
func (s *Store) UpdateObjectVersion(ctx context.Context, bucket, key, versionID string, origin Origin, fn func(*meta.Version) error) (*meta.Version, error) {
	var out *meta.Version
	emitted := false
	err := s.update(ctx, func(tx meta.Tx) error {
		emitted = false
		v, err := lookup(tx, bucket, key, versionID)
		if err != nil {
			return err
		}
		before := v.ACL
		if err := fn(v); err != nil {
			return err
		}
		if err := tx.UpdateVersion(bucket, v); err != nil {
			return err
		}
		if !sameACL(before, v.ACL) {
			b, err := tx.Bucket(bucket)
			if err != nil {
				return err
			}
			ev := &Event{Name: EventObjectACLPut, Bucket: b, Key: v.Key, VersionID: v.VersionID, Size: v.Size, ETag: v.ETag, Time: s.timestamp(), Origin: origin}
			if emitted, err = s.emit(tx, ev); err != nil {
				return err
			}
		}
		out = v
		return nil
	})
	if err == nil {
		s.dispatch(emitted)
	}
	return out, err
}

// sameACL reports whether two stored ACLs grant the same, in the same
// order (nil and an ACL without grants are the same).
func sameACL(a, b *meta.ACL) bool {
	var ga, gb []meta.Grant
	if a != nil {
		ga = a.Grants
	}
	if b != nil {
		gb = b.Grants
	}
	return slices.Equal(ga, gb)
}
