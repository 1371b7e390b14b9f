// Package blob defines the content store: immutable byte blobs named by
// opaque IDs. Object keys never reach it, so no key can become a file path.
//
// A blob is written through a Writer and becomes durable and readable only
// at Commit; an abandoned Writer leaves nothing behind. Blobs are never
// modified after Commit, which lets several object versions share one blob
// through Link.
package blob

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned for an ID that names no blob.
var ErrNotFound = errors.New("blob: not found")

// Store is a content store.
type Store interface {
	// Create starts a new blob.
	Create(ctx context.Context) (Writer, error)
	// Open opens a committed blob for reading; ErrNotFound if absent.
	Open(ctx context.Context, id string) (Reader, error)
	// Link makes a new blob with the same content as id (cheaply where
	// the backend can) and returns its ID.
	Link(ctx context.Context, id string) (string, error)
	// Delete removes a blob; deleting an absent blob is not an error.
	Delete(ctx context.Context, id string) error
	// Walk calls fn for every committed blob, with its modification
	// time, in no particular order.
	Walk(ctx context.Context, fn func(id string, modified time.Time) error) error
}

// Writer receives the content of a new blob.
type Writer interface {
	io.Writer
	// Commit makes the blob durable and returns its ID. After Commit the
	// Writer is spent.
	Commit() (string, error)
	// Abort discards the blob; it is a no-op after Commit.
	Abort() error
}

// Reader reads a committed blob.
type Reader interface {
	io.ReadSeekCloser
	io.ReaderAt
	// Size is the blob's length in bytes.
	Size() int64
}
