package objstore

import (
	"context"

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
// transaction. fn may run more than once.
func (s *Store) UpdateObjectVersion(ctx context.Context, bucket, key, versionID string, fn func(*meta.Version) error) (*meta.Version, error) {
	var out *meta.Version
	err := s.update(ctx, func(tx meta.Tx) error {
		v, err := lookup(tx, bucket, key, versionID)
		if err != nil {
			return err
		}
		if err := fn(v); err != nil {
			return err
		}
		if err := tx.UpdateVersion(bucket, v); err != nil {
			return err
		}
		out = v
		return nil
	})
	return out, err
}
