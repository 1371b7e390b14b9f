// Package bolt is sluice's embedded metadata backend: a single bbolt
// (B+tree, copy-on-write, MVCC readers) file with group commit.
//
// Concurrent Update calls are queued to one committer goroutine, which runs
// every queued closure inside a single read-write transaction and commits it
// with one pair of fsyncs, so durable throughput grows with concurrency while
// a lone writer still pays exactly one commit. A closure that fails without
// having written anything is simply reported; one that fails after writing
// forces the batch to be rolled back and rerun without it (then it runs
// alone), which is why closures may run more than once.
package bolt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/sluicehq/sluice/internal/meta"
)

var _ meta.Store = (*Store)(nil)

// maxBatch bounds how many closures share one commit.
const maxBatch = 512

// Options configure Open.
type Options struct {
	// Logger receives commit failures; nil discards.
	Logger *slog.Logger
	// NoSync disables fsync (tests and benchmarks of CPU cost only).
	NoSync bool
}

// Store is a meta.Store on one bbolt file.
type Store struct {
	db     *bbolt.DB
	log    *slog.Logger
	reqs   chan *request
	stop   chan struct{}
	done   chan struct{}
	closed sync.Once
	err    error
	// buckets is shared by every transaction (see bucketCache).
	buckets bucketCache
}

type request struct {
	fn   func(meta.Tx) error
	done chan error
	err  error
	// settled is set when the closure's outcome is known without needing
	// the commit (it failed before writing).
	settled bool
}

// Open opens (creating if needed) the metadata file at path.
func Open(path string, opts Options) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout:         5 * time.Second,
		NoFreelistSync:  true,
		FreelistType:    bbolt.FreelistMapType,
		InitialMmapSize: 1 << 30,
		NoSync:          opts.NoSync,
	})
	if err != nil {
		return nil, fmt.Errorf("open metadata %s: %w", path, err)
	}
	if err := db.Update(initSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("init metadata %s: %w", path, err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		db:   db,
		log:  log,
		reqs: make(chan *request, maxBatch),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go s.commitLoop()
	return s, nil
}

// Close stops the committer after it has answered every queued request and
// closes the file. It is safe to call more than once.
func (s *Store) Close() error {
	s.closed.Do(func() {
		close(s.stop)
		<-s.done
		s.err = s.db.Close()
	})
	return s.err
}

// View implements meta.Store.
func (s *Store) View(ctx context.Context, fn func(meta.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-s.stop:
		return meta.ErrClosed
	default:
	}
	err := s.db.View(func(btx *bbolt.Tx) error {
		return call(fn, &tx{btx: btx, buckets: &s.buckets})
	})
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		// Close won the race with the check above.
		return meta.ErrClosed
	}
	return err
}

// Update implements meta.Store. Once the closure is queued, Update waits for
// the commit even if ctx is cancelled, so that the caller always learns
// whether the change was made.
func (s *Store) Update(ctx context.Context, fn func(meta.Tx) error) error {
	// Check before queueing: select picks at random among ready cases,
	// and the queue usually has room.
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-s.stop:
		return meta.ErrClosed
	default:
	}
	req := &request{fn: fn, done: make(chan error, 1)}
	select {
	case <-s.stop:
		return meta.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	case s.reqs <- req:
	}
	select {
	case err := <-req.done:
		return err
	case <-s.done:
		// The committer answers every request it takes before it
		// exits, so one still unanswered was queued too late and never
		// ran.
		select {
		case err := <-req.done:
			return err
		default:
			return meta.ErrClosed
		}
	}
}

func (s *Store) commitLoop() {
	defer close(s.done)
	batch := make([]*request, 0, maxBatch)
	for {
		select {
		case req := <-s.reqs:
			batch = append(batch[:0], req)
		case <-s.stop:
			// Answer whatever is still queued, then exit.
			for {
				select {
				case req := <-s.reqs:
					s.runBatch([]*request{req})
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case req := <-s.reqs:
				batch = append(batch, req)
			default:
				break fill
			}
		}
		s.runBatch(batch)
	}
}

// errRerun aborts a batch transaction in which a closure failed after
// writing.
var errRerun = errors.New("bolt: rerun batch")

// runBatch commits the closures of batch in as few transactions as
// possible and answers each request.
func (s *Store) runBatch(batch []*request) {
	for len(batch) > 0 {
		failed := -1
		err := s.db.Update(func(btx *bbolt.Tx) error {
			for i, req := range batch {
				req.settled, req.err = false, nil
				t := &tx{btx: btx, writable: true, buckets: &s.buckets}
				if err := call(req.fn, t); err != nil {
					if t.dirty {
						failed = i
						return errRerun
					}
					req.settled, req.err = true, err
				}
			}
			return nil
		})
		switch {
		case err == nil:
			for _, req := range batch {
				req.done <- req.err
			}
			return
		case errors.Is(err, errRerun):
			// Run the failing closure alone so that its error (or, if
			// state changed, its success) is its own; then retry the rest.
			bad := batch[failed]
			bad.done <- s.runSolo(bad)
			batch = append(batch[:failed:failed], batch[failed+1:]...)
		default:
			s.log.Error("metadata commit failed", "err", err, "batch", len(batch))
			for _, req := range batch {
				req.done <- fmt.Errorf("metadata commit: %w", err)
			}
			return
		}
	}
}

func (s *Store) runSolo(req *request) error {
	return s.db.Update(func(btx *bbolt.Tx) error {
		return call(req.fn, &tx{btx: btx, writable: true, buckets: &s.buckets})
	})
}

// call runs fn, turning a panic into an error so that one bad closure
// cannot take the committer down.
func call(fn func(meta.Tx) error, t *tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			t.dirty = true
			err = fmt.Errorf("meta: transaction panicked: %v", r)
		}
	}()
	return fn(t)
}
