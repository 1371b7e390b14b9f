package objstore

import (
	"context"
	"errors"
	"time"

	"github.com/sluicehq/sluice/internal/meta"
)

// DeleteResult reports what a delete did.
type DeleteResult struct {
	// VersionID is the version removed or the delete marker created; ""
	// on a bucket that never had versioning.
	VersionID string
	// DeleteMarker is set when a delete marker was created or removed.
	DeleteMarker bool
}

// ObjectID names an object version in a batch delete.
type ObjectID struct {
	Key       string
	VersionID string
	// IfMatch makes the delete conditional (If-Match, or the ETag of a
	// DeleteObjects entry): "*" deletes only an existing object, an ETag
	// only an object with that ETag. See checkDeleteMatch.
	IfMatch string
}

// DeleteOutcome is the result of one key of DeleteObjects: Err is nil on
// success.
type DeleteOutcome struct {
	ObjectID
	DeleteResult
	Err error
}

// DeleteObject deletes an object (creating a delete marker on a versioned
// bucket) or, with a version ID, permanently deletes that version unless
// Object Lock protects it.
func (s *Store) DeleteObject(ctx context.Context, bucket, key, versionID string, opts ...DeleteOption) (DeleteResult, error) {
	if versionID != "" {
		// A lone DELETE reports a malformed version ID as such; in a
		// batch S3 reports it as NoSuchVersion (see deleteOne).
		if err := validVersionID(versionID); err != nil {
			return DeleteResult{}, err
		}
	}
	var o deleteOptions
	for _, opt := range opts {
		opt(&o)
	}
	out := s.DeleteObjects(ctx, bucket, []ObjectID{{Key: key, VersionID: versionID, IfMatch: o.ifMatch}}, opts...)
	return out[0].DeleteResult, out[0].Err
}

// IfMatch makes DeleteObject conditional on the object's ETag ("*": on
// its existence), as the If-Match header does.
func IfMatch(etag string) DeleteOption {
	return func(o *deleteOptions) { o.ifMatch = etag }
}

// checkDeleteMatch evaluates a conditional delete, as S3 does since
// September 2025: against the object's current version (a delete marker
// counts as no object), or the version named. No object is 404 NoSuchKey
// whatever the condition; an ETag that differs is 412 PreconditionFailed.
func checkDeleteMatch(tx meta.Tx, bucket string, id ObjectID) error {
	var (
		v   *meta.Version
		err error
	)
	if id.VersionID != "" {
		v, err = tx.Version(bucket, id.Key, id.VersionID)
	} else {
		v, err = tx.Latest(bucket, id.Key)
	}
	switch {
	case errors.Is(err, meta.ErrNoSuchKey), errors.Is(err, meta.ErrNoSuchVersion), err == nil && v.DeleteMarker:
		return ErrNoSuchKey
	case err != nil:
		return err
	case id.IfMatch != "*" && !etagMatches(id.IfMatch, v.ETag):
		return ErrPreconditionFailed
	}
	return nil
}

// DeleteObjects deletes up to MaxDeleteObjects objects in one transaction
// and reports each outcome. A bucket-level failure is reported on every
// key.
func (s *Store) DeleteObjects(ctx context.Context, bucket string, ids []ObjectID, opts ...DeleteOption) []DeleteOutcome {
	var o deleteOptions
	for _, opt := range opts {
		opt(&o)
	}
	out := make([]DeleteOutcome, len(ids))
	released, emitted := false, false
	err := s.update(ctx, func(tx meta.Tx) error {
		released, emitted = false, false
		b, err := tx.Bucket(bucket)
		if err != nil {
			return err
		}
		now := s.timestamp()
		for i, id := range ids {
			out[i] = DeleteOutcome{ObjectID: id}
			res, freed, err := s.deleteOne(tx, b, id, o)
			out[i].DeleteResult = res
			out[i].Err = mapMeta(err)
			if len(freed) > 0 {
				if err := tx.ReleaseBlobs(freed...); err != nil {
					return err
				}
				released = true
			}
			if err == nil {
				ok, err := s.emit(tx, deletedEvent(b, id, res, now, o.origin))
				if err != nil {
					return err
				}
				emitted = emitted || ok
			}
		}
		return nil
	})
	if err != nil {
		err = mapMeta(err)
		for i := range out {
			out[i] = DeleteOutcome{ObjectID: ids[i], Err: err}
		}
		return out
	}
	if released {
		s.wakeCollector()
	}
	s.dispatch(emitted)
	return out
}

// deletedEvent is the event of a successful delete: a delete marker
// created, or a version (or, without versioning, the object) removed.
func deletedEvent(b *meta.Bucket, id ObjectID, res DeleteResult, now time.Time, o Origin) *Event {
	ev := &Event{Name: EventObjectRemovedDelete, Bucket: b, Key: id.Key, VersionID: res.VersionID, Time: now, Origin: o}
	if id.VersionID == "" && res.DeleteMarker {
		ev.Name = EventObjectRemovedDeleteMarkerCreated
	}
	return ev
}

// deleteOne performs one delete inside tx, returning the blobs it frees.
func (s *Store) deleteOne(tx meta.Tx, b *meta.Bucket, id ObjectID, o deleteOptions) (DeleteResult, []string, error) {
	if err := ValidKey(id.Key); err != nil {
		return DeleteResult{}, nil, err
	}
	if id.VersionID != "" {
		if err := validVersionID(id.VersionID); err != nil {
			return DeleteResult{}, nil, ErrNoSuchVersion
		}
	}
	if id.IfMatch != "" {
		if err := checkDeleteMatch(tx, b.Name, id); err != nil {
			return DeleteResult{}, nil, err
		}
	}
	if id.VersionID != "" {
		if err := s.checkVersionDelete(tx, b, id.Key, id.VersionID, o.bypassGovernance); err != nil {
			return DeleteResult{}, nil, err
		}
		old, err := tx.DeleteVersion(b.Name, id.Key, id.VersionID)
		if errors.Is(err, meta.ErrNoSuchVersion) {
			// Deleting a version that does not exist succeeds.
			return DeleteResult{VersionID: id.VersionID}, nil, nil
		}
		if err != nil {
			return DeleteResult{}, nil, err
		}
		return DeleteResult{VersionID: old.VersionID, DeleteMarker: old.DeleteMarker}, old.BlobIDs(), nil
	}
	switch b.Versioning {
	case meta.VersioningUnset:
		old, err := tx.DeleteVersion(b.Name, id.Key, meta.NullVersionID)
		if errors.Is(err, meta.ErrNoSuchVersion) {
			return DeleteResult{}, nil, nil
		}
		if err != nil {
			return DeleteResult{}, nil, err
		}
		return DeleteResult{}, old.BlobIDs(), nil
	default:
		marker := &meta.Version{
			Key:          id.Key,
			DeleteMarker: true,
			LastModified: s.timestamp(),
			Owner:        b.Owner,
		}
		if b.Versioning == meta.VersioningSuspended {
			marker.VersionID = meta.NullVersionID
		}
		res, err := tx.PutVersion(b.Name, marker, nil)
		if err != nil {
			return DeleteResult{}, nil, err
		}
		var freed []string
		if res.Replaced != nil {
			freed = res.Replaced.BlobIDs()
		}
		return DeleteResult{VersionID: marker.VersionID, DeleteMarker: true}, freed, nil
	}
}
