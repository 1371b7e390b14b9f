//go:build !no_bbolt

package main

import (
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

func init() {
	register(engine{name: "bbolt", order: 10, open: openBolt("bbolt", bolt.DefaultFillPercent)})
	// Keys that arrive in order within a prefix split leaves at FillPercent
	// and leave them that full; a higher fill suits S3's append-heavy keys.
	register(engine{name: "bbolt-fill90", order: 11, optIn: true, open: openBolt("bbolt-fill90", 0.9)})
}

var (
	boltHeads    = []byte("heads")
	boltVersions = []byte("versions")
	boltBodies   = []byte("bodies")
)

// boltStore keeps heads, versions and bodies in three buckets of one file.
// Commits fsync (NoSync is false); the freelist is not persisted and is
// rebuilt on open, as etcd runs it.
type boltStore struct {
	name string
	db   *bolt.DB
	grp  *group
	fill float64 // bucket FillPercent, which bbolt does not persist
}

// openBolt returns an opener whose buckets split leaves at fill.
func openBolt(name string, fill float64) func(dir string) (store, error) {
	return func(dir string) (store, error) { return openBoltFill(name, dir, fill) }
}

func openBoltFill(name, dir string, fill float64) (store, error) {
	db, err := bolt.Open(filepath.Join(dir, "meta.db"), 0o600, &bolt.Options{
		Timeout:         time.Second,
		NoFreelistSync:  true,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: 2 << 30,
	})
	if err != nil {
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{boltHeads, boltVersions, boltBodies} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &boltStore{name: name, db: db, fill: fill}
	s.grp = newGroup(1024, func(fns []func(txn) error, errs []error) {
		runWithRetry(s.tx, fns, errs)
	})
	return s, nil
}

// tx runs fn in one read-write transaction.
func (s *boltStore) tx(fn func(txn) error) error {
	return s.db.Update(func(tx *bolt.Tx) error { return fn(s.txn(tx)) })
}

func (s *boltStore) committers() []committer {
	return []committer{
		{name: s.name + " (Update, no grouping)", update: func(_ []byte, fn func(txn) error) error { return s.tx(fn) }},
		{name: s.name + " group-commit loop", update: s.grp.update},
		{name: s.name + " db.Batch (10 ms timer)", update: func(_ []byte, fn func(txn) error) error {
			return s.db.Batch(func(tx *bolt.Tx) error { return fn(s.txn(tx)) })
		}},
	}
}

func (s *boltStore) load(items []loadItem) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		t := s.txn(tx)
		for _, it := range items {
			if err := t.putHead(it.key, it.head); err != nil {
				return err
			}
			if err := t.putVersion(it.key, it.vid, it.version); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *boltStore) get(key []byte) ([]byte, error) {
	var v []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(boltHeads).Get(key); b != nil {
			v = append([]byte(nil), b...)
		}
		return nil
	})
	return v, err
}

func (s *boltStore) iter() (iterator, error) {
	tx, err := s.db.Begin(false)
	if err != nil {
		return nil, err
	}
	return &boltIter{tx: tx, c: tx.Bucket(boltHeads).Cursor()}, nil
}

func (s *boltStore) close() error {
	s.grp.close()
	return s.db.Close()
}

type boltTxn struct{ heads, versions, bodies *bolt.Bucket }

func (s *boltStore) txn(tx *bolt.Tx) boltTxn {
	t := boltTxn{tx.Bucket(boltHeads), tx.Bucket(boltVersions), tx.Bucket(boltBodies)}
	for _, b := range []*bolt.Bucket{t.heads, t.versions, t.bodies} {
		b.FillPercent = s.fill
	}
	return t
}

func (t boltTxn) head(key []byte) ([]byte, error) { return t.heads.Get(key), nil }
func (t boltTxn) putHead(key, rec []byte) error   { return t.heads.Put(key, rec) }
func (t boltTxn) putVersion(key, vid, rec []byte) error {
	return t.versions.Put(versionKey(0, key, vid)[1:], rec)
}
func (t boltTxn) putBody(key, vid, body []byte) error {
	return t.bodies.Put(versionKey(0, key, vid)[1:], body)
}

type boltIter struct {
	tx   *bolt.Tx
	c    *bolt.Cursor
	k, v []byte
}

func (it *boltIter) seekGE(key []byte) bool { it.k, it.v = it.c.Seek(key); return it.k != nil }
func (it *boltIter) next() bool             { it.k, it.v = it.c.Next(); return it.k != nil }
func (it *boltIter) key() []byte            { return it.k }
func (it *boltIter) value() []byte          { return it.v }
func (it *boltIter) close() error           { return it.tx.Rollback() }
