// Package objstore is where S3 semantics live: buckets, objects, versions
// and delete markers, multipart uploads, copies, tagging and listing. It
// composes a metadata store (package meta) with a content store (package
// blob) and knows nothing of HTTP.
//
// Write protocol: content is streamed into a new blob (hashing it on the
// way), the blob is committed (fsynced), and only then is the metadata that
// references it committed in one transaction. A crash before the metadata
// commit leaves an unreferenced blob, which the orphan sweep removes; nothing
// half-written is ever visible. Blobs an operation displaces are released in
// the same transaction and deleted by the collector afterwards.
package objstore

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/sluicehq/sluice/internal/blob"
	"github.com/sluicehq/sluice/internal/kms"
	"github.com/sluicehq/sluice/internal/meta"
)

// Limits S3 imposes.
const (
	MaxKeyLength      = 1024
	MaxPutSize        = 5 << 30 // single PUT and copy source
	MinPartSize       = 5 << 20
	MaxPartSize       = 5 << 30
	MaxPartNumber     = 10000
	MaxUserMetaSize   = 2 << 10
	MaxTags           = 10
	MaxTagKeyLength   = 128
	MaxTagValueLength = 256
	MaxDeleteObjects  = 1000
	DefaultInlineMax  = 64 << 10
	defaultGCGrace    = 2 * time.Second
	gcBatch           = 256
)

// Config holds the dependencies and settings of a Store.
type Config struct {
	Meta   meta.Store
	Blobs  blob.Store
	Region string
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// InlineMax is the largest object stored inside the metadata store
	// instead of a blob; 0 means DefaultInlineMax, negative disables
	// inlining.
	InlineMax int64
	// Keys is the key service of server-side encryption; nil refuses
	// encrypted writes.
	Keys *kms.Service
	// DefaultEncryption is the encryption of new objects whose request and
	// bucket ask for none: "" (plaintext) or SSES3.
	DefaultEncryption string
	// Events receives the events of object changes inside their
	// transactions (bucket notifications); nil emits none.
	Events Events
}

// Store implements S3 object semantics.
type Store struct {
	meta      meta.Store
	blobs     blob.Store
	region    string
	log       *slog.Logger
	now       func() time.Time
	inlineMax int64
	// keys and defaultSSE: see Config.Keys and Config.DefaultEncryption.
	keys       *kms.Service
	defaultSSE string
	events     Events

	pins *pinSet

	wake    chan struct{}
	stop    chan struct{}
	wg      sync.WaitGroup
	started time.Time
	once    sync.Once
}

// New returns a Store; call Start to run its background collector.
func New(cfg Config) *Store {
	s := &Store{
		meta:       cfg.Meta,
		blobs:      cfg.Blobs,
		region:     cfg.Region,
		log:        cfg.Logger,
		now:        cfg.Now,
		inlineMax:  cfg.InlineMax,
		keys:       cfg.Keys,
		defaultSSE: cfg.DefaultEncryption,
		events:     cfg.Events,
		pins:       newPinSet(),
		wake:       make(chan struct{}, 1),
		stop:       make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	switch {
	case s.inlineMax == 0:
		s.inlineMax = DefaultInlineMax
	case s.inlineMax < 0:
		s.inlineMax = -1
	}
	if s.region == "" {
		s.region = "us-east-1"
	}
	return s
}

// Region is the region the store reports for its buckets.
func (s *Store) Region() string { return s.region }

// Start runs the blob collector and a one-off sweep for blobs orphaned by
// a crash.
func (s *Store) Start() {
	s.started = time.Now()
	s.wg.Add(2)
	go s.collectLoop()
	go s.sweepOrphans()
}

// Close stops background work and waits for it. It does not close the
// metadata or blob stores, which the caller owns.
func (s *Store) Close() error {
	s.once.Do(func() { close(s.stop) })
	s.wg.Wait()
	return nil
}

func (s *Store) timestamp() time.Time {
	// S3 timestamps have millisecond precision on the wire; keep what we
	// store equal to what we report.
	return s.now().UTC().Truncate(time.Millisecond)
}

// wakeCollector nudges the collector after a commit released blobs.
func (s *Store) wakeCollector() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// mapMeta turns metadata-layer errors into S3 errors.
func mapMeta(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, meta.ErrNoSuchBucket):
		return ErrNoSuchBucket
	case errors.Is(err, meta.ErrNoSuchKey):
		return ErrNoSuchKey
	case errors.Is(err, meta.ErrNoSuchVersion):
		return ErrNoSuchVersion
	case errors.Is(err, meta.ErrNoSuchUpload):
		return ErrNoSuchUpload
	case errors.Is(err, meta.ErrBucketNotEmpty):
		return ErrBucketNotEmpty
	}
	return err
}

// view and update run metadata transactions and map their errors.
func (s *Store) view(ctx context.Context, fn func(meta.Tx) error) error {
	return mapMeta(s.meta.View(ctx, fn))
}

func (s *Store) update(ctx context.Context, fn func(meta.Tx) error) error {
	return mapMeta(s.meta.Update(ctx, fn))
}

// Orphaned blobs and deferred deletion.

// pinSet counts readers of each blob so that the collector never deletes
// a blob while a GET streams it.
type pinSet struct {
	mu sync.Mutex
	n  map[string]int
}

func newPinSet() *pinSet { return &pinSet{n: make(map[string]int)} }

func (p *pinSet) pin(ids []string) {
	p.mu.Lock()
	for _, id := range ids {
		p.n[id]++
	}
	p.mu.Unlock()
}

func (p *pinSet) unpin(ids []string) {
	p.mu.Lock()
	for _, id := range ids {
		if p.n[id]--; p.n[id] <= 0 {
			delete(p.n, id)
		}
	}
	p.mu.Unlock()
}

func (p *pinSet) pinned(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n[id] > 0
}

func (s *Store) collectLoop() {
	defer s.wg.Done()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-s.wake:
			// Let the grace period pass: a reader that looked up the
			// version just before it was released pins it within it.
			select {
			case <-s.stop:
				return
			case <-time.After(defaultGCGrace):
			}
		case <-tick.C:
		}
		s.collect(context.Background())
	}
}

// collect deletes released blobs that no reader has pinned.
func (s *Store) collect(ctx context.Context) {
	for {
		var ids []string
		if err := s.meta.View(ctx, func(tx meta.Tx) error {
			var err error
			ids, err = tx.ReleasedBlobs(gcBatch)
			return err
		}); err != nil || len(ids) == 0 {
			return
		}
		var gone []string
		for _, id := range ids {
			if s.pins.pinned(id) {
				continue
			}
			if err := s.blobs.Delete(ctx, id); err != nil {
				s.log.Error("delete blob", "blob", id, "err", err)
				continue
			}
			gone = append(gone, id)
		}
		if len(gone) == 0 {
			return
		}
		if err := s.meta.Update(ctx, func(tx meta.Tx) error { return tx.ForgetReleased(gone...) }); err != nil {
			s.log.Error("forget released blobs", "err", err)
			return
		}
		if len(ids) < gcBatch {
			return
		}
	}
}

// sweepOrphans deletes committed blobs that no metadata references and that
// predate this process: what a crash between a blob commit and its metadata
// commit leaves behind.
func (s *Store) sweepOrphans() {
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	var candidates []string
	flush := func() error {
		var orphans []string
		err := s.meta.View(ctx, func(tx meta.Tx) error {
			orphans = orphans[:0]
			for _, id := range candidates {
				ok, err := tx.BlobReferenced(id)
				if err != nil {
					return err
				}
				if !ok {
					orphans = append(orphans, id)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, id := range orphans {
			if err := s.blobs.Delete(ctx, id); err != nil {
				return err
			}
			s.log.Info("removed orphaned blob", "blob", id)
		}
		candidates = candidates[:0]
		return nil
	}
	err := s.blobs.Walk(ctx, func(id string, modified time.Time) error {
		if !modified.Before(s.started) {
			return nil
		}
		candidates = append(candidates, id)
		if len(candidates) >= 1000 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil && ctx.Err() == nil {
		s.log.Error("orphan sweep", "err", err)
	}
}
