//go:build !no_pebble

package main

import (
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
)

func init() {
	register(engine{name: "pebble", order: 20, open: openPebble})
}

// pebbleStore writes every commit with pebble.Sync; concurrent syncing
// commits share WAL fsyncs (pebble's commit pipeline groups them). Pebble has
// no read-write transactions, so read-modify-write is serialised by locks
// held by the adapter.
type pebbleStore struct {
	db    *pebble.DB
	seed  maphash.Seed
	locks [1024]sync.Mutex
	mu    sync.Mutex
}

func openPebble(dir string) (store, error) {
	// A 256 MiB block cache (badger's default) and 10-bit bloom filters on
	// every level, as CockroachDB configures pebble for point reads.
	cache := pebble.NewCache(256 << 20)
	defer cache.Unref()
	opts := &pebble.Options{Cache: cache, Logger: quietPebbleLogger{}}
	opts.Levels[0].FilterPolicy = bloom.FilterPolicy(10)
	db, err := pebble.Open(dir, opts)
	if err != nil {
		return nil, err
	}
	return &pebbleStore{db: db, seed: maphash.MakeSeed()}, nil
}

func (s *pebbleStore) committers() []committer {
	return []committer{
		{name: "pebble per-key locks + Sync", update: s.updateKeyLock},
		{name: "pebble global lock, early release", update: s.updateGlobal},
	}
}

// updateKeyLock holds a striped per-key lock across the read, the write and
// the synced commit. It is serialisable only for closures that touch the one
// key they name.
func (s *pebbleStore) updateKeyLock(key []byte, fn func(txn) error) error {
	l := &s.locks[maphash.Bytes(s.seed, key)%uint64(len(s.locks))]
	l.Lock()
	defer l.Unlock()
	b := s.db.NewIndexedBatch()
	defer b.Close()
	if err := fn(pebbleTxn{b}); err != nil {
		return err
	}
	return b.Commit(pebble.Sync)
}

// updateGlobal serialises every closure with one mutex (so any closure is
// serialisable), applies the batch, releases the mutex and only then waits
// for the WAL fsync, so that waiting commits share fsyncs. Later commits may
// read the not-yet-synced state, but they are ordered after it in the WAL, so
// no durable commit can depend on a lost one.
func (s *pebbleStore) updateGlobal(_ []byte, fn func(txn) error) error {
	s.mu.Lock()
	b := s.db.NewIndexedBatch()
	if err := fn(pebbleTxn{b}); err != nil {
		s.mu.Unlock()
		b.Close()
		return err
	}
	err := s.db.ApplyNoSyncWait(b, pebble.Sync)
	s.mu.Unlock()
	if err != nil {
		b.Close()
		return err
	}
	err = b.SyncWait()
	b.Close()
	return err
}

func (s *pebbleStore) load(items []loadItem) error {
	b := s.db.NewBatch()
	defer b.Close()
	t := pebbleTxn{b}
	for _, it := range items {
		if err := t.putHead(it.key, it.head); err != nil {
			return err
		}
		if err := t.putVersion(it.key, it.vid, it.version); err != nil {
			return err
		}
	}
	return b.Commit(pebble.Sync)
}

func (s *pebbleStore) get(key []byte) ([]byte, error) {
	return pebbleGet(s.db, prefixed(pfxHead, key))
}

func (s *pebbleStore) iter() (iterator, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{
		LowerBound: []byte{pfxHead},
		UpperBound: []byte{pfxHead + 1},
	})
	if err != nil {
		return nil, err
	}
	return &pebbleIter{it: it}, nil
}

func (s *pebbleStore) close() error { return s.db.Close() }

type pebbleGetter interface {
	Get(key []byte) ([]byte, io.Closer, error)
}

func pebbleGet(r pebbleGetter, key []byte) ([]byte, error) {
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	v = append([]byte(nil), v...)
	return v, closer.Close()
}

type pebbleTxn struct{ b *pebble.Batch }

func (t pebbleTxn) head(key []byte) ([]byte, error) { return pebbleGet(t.b, prefixed(pfxHead, key)) }
func (t pebbleTxn) putHead(key, rec []byte) error {
	return t.b.Set(prefixed(pfxHead, key), rec, nil)
}
func (t pebbleTxn) putVersion(key, vid, rec []byte) error {
	return t.b.Set(versionKey(pfxVersion, key, vid), rec, nil)
}
func (t pebbleTxn) putBody(key, vid, body []byte) error {
	return t.b.Set(versionKey(pfxBody, key, vid), body, nil)
}

type pebbleIter struct{ it *pebble.Iterator }

func (p *pebbleIter) seekGE(key []byte) bool { return p.it.SeekGE(prefixed(pfxHead, key)) }
func (p *pebbleIter) next() bool             { return p.it.Next() }
func (p *pebbleIter) key() []byte            { return p.it.Key()[1:] }
func (p *pebbleIter) value() []byte {
	v, _ := p.it.ValueAndErr()
	return v
}
func (p *pebbleIter) close() error { return p.it.Close() }

// quietPebbleLogger drops pebble's informational logging and keeps errors.
type quietPebbleLogger struct{}

func (quietPebbleLogger) Infof(string, ...any) {}
func (quietPebbleLogger) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pebble: "+format+"\n", args...)
}
func (quietPebbleLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("pebble: "+format, args...))
}
