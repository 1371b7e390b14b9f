//go:build !no_badger

package main

import (
	"errors"

	"github.com/dgraph-io/badger/v4"
)

func init() {
	register(engine{name: "badger", order: 50, open: openBadger})
}

// badgerStore uses badger's optimistic (SSI) transactions with
// SyncWrites=true; badger's single write goroutine batches the pending
// commits of all transactions into one value-log fsync.
type badgerStore struct{ db *badger.DB }

func openBadger(dir string) (store, error) {
	db, err := badger.Open(badger.DefaultOptions(dir).WithSyncWrites(true).WithLogger(nil))
	if err != nil {
		return nil, err
	}
	return &badgerStore{db: db}, nil
}

func (s *badgerStore) committers() []committer {
	return []committer{{name: "badger txn, SyncWrites", update: s.update}}
}

// update retries on badger.ErrConflict, as its optimistic concurrency
// control requires.
func (s *badgerStore) update(_ []byte, fn func(txn) error) error {
	for {
		err := s.db.Update(func(t *badger.Txn) error { return fn(badgerTxn{t}) })
		if !errors.Is(err, badger.ErrConflict) {
			return err
		}
	}
}

func (s *badgerStore) load(items []loadItem) error {
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, it := range items {
		if err := wb.Set(prefixed(pfxHead, it.key), it.head); err != nil {
			return err
		}
		if err := wb.Set(versionKey(pfxVersion, it.key, it.vid), it.version); err != nil {
			return err
		}
	}
	return wb.Flush()
}

func (s *badgerStore) get(key []byte) ([]byte, error) {
	var v []byte
	err := s.db.View(func(t *badger.Txn) error {
		var err error
		v, err = badgerTxn{t}.head(key)
		return err
	})
	return v, err
}

func (s *badgerStore) iter() (iterator, error) {
	t := s.db.NewTransaction(false)
	it := t.NewIterator(badger.IteratorOptions{Prefix: []byte{pfxHead}})
	return &badgerIter{t: t, it: it}, nil
}

func (s *badgerStore) close() error { return s.db.Close() }

type badgerTxn struct{ t *badger.Txn }

func (t badgerTxn) head(key []byte) ([]byte, error) {
	item, err := t.t.Get(prefixed(pfxHead, key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return item.ValueCopy(nil)
}
func (t badgerTxn) putHead(key, rec []byte) error {
	return t.t.Set(prefixed(pfxHead, key), rec)
}
func (t badgerTxn) putVersion(key, vid, rec []byte) error {
	return t.t.Set(versionKey(pfxVersion, key, vid), rec)
}
func (t badgerTxn) putBody(key, vid, body []byte) error {
	return t.t.Set(versionKey(pfxBody, key, vid), body)
}

type badgerIter struct {
	t   *badger.Txn
	it  *badger.Iterator
	buf []byte
}

func (b *badgerIter) seekGE(key []byte) bool {
	b.it.Seek(prefixed(pfxHead, key))
	return b.it.Valid()
}
func (b *badgerIter) next() bool  { b.it.Next(); return b.it.Valid() }
func (b *badgerIter) key() []byte { return b.it.Item().Key()[1:] }
func (b *badgerIter) value() []byte {
	v, err := b.it.Item().ValueCopy(b.buf[:0])
	if err != nil {
		return nil
	}
	b.buf = v
	return v
}
func (b *badgerIter) close() error {
	b.it.Close()
	b.t.Discard()
	return nil
}
