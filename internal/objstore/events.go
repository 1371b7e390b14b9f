package objstore

import (
	"time"

	"github.com/sluicehq/sluice/internal/meta"
)

// Object changes are reported to an Events implementation (package
// notify) inside the metadata transaction that makes them, so that what
// the bucket's notification configuration asks to deliver is written in
// that same transaction (an outbox) and exists exactly when the change is
// committed. Failed operations emit nothing: their transaction does not
// commit.

// Event types, as event records name them (without the "s3:" prefix of
// notification configurations).
const (
	EventObjectCreatedPut                     = "ObjectCreated:Put"
	EventObjectCreatedPost                    = "ObjectCreated:Post"
	EventObjectCreatedCopy                    = "ObjectCreated:Copy"
	EventObjectCreatedCompleteMultipartUpload = "ObjectCreated:CompleteMultipartUpload"
	EventObjectRemovedDelete                  = "ObjectRemoved:Delete"
	EventObjectRemovedDeleteMarkerCreated     = "ObjectRemoved:DeleteMarkerCreated"
	EventObjectTaggingPut                     = "ObjectTagging:Put"
	EventObjectTaggingDelete                  = "ObjectTagging:Delete"
	EventObjectACLPut                         = "ObjectAcl:Put"
)

// Origin identifies the request behind a change, for the event records it
// causes. Every mutating operation takes one; the zero Origin stands for
// sluice itself.
type Origin struct {
	// RequestID and HostID are the request's x-amz-request-id and
	// x-amz-id-2.
	RequestID string
	HostID    string
	// PrincipalID identifies the requester as event records do
	// (userIdentity.principalId).
	PrincipalID string
	// SourceIP is the client's address.
	SourceIP string
	// TraceID is the X-Amzn-Trace-Id of a request a function made with
	// its own credentials: the chain of events that led to it, which
	// recursive loop detection follows. "" otherwise.
	TraceID string
}

// Event is a change to an object that notifications may report.
type Event struct {
	// Name is one of the Event* types.
	Name string
	// Bucket is the bucket as the transaction read it (its configuration
	// documents included).
	Bucket *meta.Bucket
	Key    string
	// VersionID is the version created, tagged or removed, or the delete
	// marker created ("null" for the null version; "" when a delete on a
	// bucket that never had versioning removed nothing).
	VersionID string
	// Size and ETag describe the object created or tagged.
	Size int64
	ETag string
	// Time is when the change took effect.
	Time   time.Time
	Origin Origin
	// Seq, if not 0, is a sequence number that the change's transaction
	// drew for this change alone (the new version's), which Emit may use
	// rather than drawing another.
	Seq uint64
	// Prepared is what Events.Prepare encoded of the event before the
	// transaction, or nil.
	Prepared any
}

// Events receives the events of object changes.
type Events interface {
	// Prepare encodes ahead of a change's transaction what it can of the
	// change's event: an event of type name for key, caused by o, in
	// bucket b as read before the transaction. Its result, set as the
	// event's Prepared, spares Emit that work inside the transaction, on
	// the metadata store's single committer; Emit uses it only if it
	// still fits the event and the bucket as the transaction read them,
	// so a change of the bucket's configuration in between is harmless.
	// nil means there is nothing to prepare.
	Prepare(b *meta.Bucket, name, key string, o Origin) any
	// Emit is called inside the metadata transaction that makes the
	// change ev describes. It writes whatever the bucket's configuration
	// asks to deliver into tx, and reports whether it wrote anything.
	// Like the transaction, it may run more than once and must have no
	// effect outside tx; an error aborts the change.
	Emit(tx meta.Tx, ev *Event) (bool, error)
	// Dispatch is called after a transaction in which Emit wrote
	// something has committed, to start delivering it.
	Dispatch()
}

// WithOrigin names the request behind a delete, for its events.
func WithOrigin(o Origin) DeleteOption {
	return func(d *deleteOptions) { d.origin = o }
}

// emit reports ev to the store's Events, if any, inside tx.
func (s *Store) emit(tx meta.Tx, ev *Event) (bool, error) {
	if s.events == nil {
		return false, nil
	}
	return s.events.Emit(tx, ev)
}

// dispatch starts delivering what a committed transaction emitted.
func (s *Store) dispatch(emitted bool) {
	if emitted && s.events != nil {
		s.events.Dispatch()
	}
}

// creation is what a new object version's event says: the operation that
// created it and the request behind it; prepared is the event as
// Events.Prepare encoded it, if it was.
type creation struct {
	event    string
	origin   Origin
	prepared any
}

// prepareEvent returns c with its event for key prepared
// (Events.Prepare), b being the bucket as read before the transaction.
func (s *Store) prepareEvent(b *meta.Bucket, key string, c creation) creation {
	if s.events != nil && b != nil {
		c.prepared = s.events.Prepare(b, c.event, key, c.origin)
	}
	return c
}

// createdEvent is the event of a version made the newest of its key.
func createdEvent(c creation, b *meta.Bucket, v *meta.Version) *Event {
	return &Event{
		Name: c.event, Bucket: b, Key: v.Key, VersionID: v.VersionID,
		Size: v.Size, ETag: v.ETag, Time: v.LastModified, Origin: c.origin,
		Seq: v.Seq, Prepared: c.prepared,
	}
}
