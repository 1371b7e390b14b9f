package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
)

// The SQLite adapter is shared by both drivers; it needs only database/sql.

// sqlOpener opens a database/sql handle on the SQLite file at path whose
// every connection runs pragmas (each "name=value") first.
type sqlOpener func(path string, pragmas []string) (*sql.DB, error)

// dsnConnector adapts a driver and DSN to driver.Connector, so drivers can be
// used through sql.OpenDB without registering global names.
type dsnConnector struct {
	d   driver.Driver
	dsn string
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.d }

const sqlSchema = `
CREATE TABLE IF NOT EXISTS heads (
	key BLOB PRIMARY KEY,
	rec BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS versions (
	key BLOB NOT NULL,
	vid BLOB NOT NULL,
	rec BLOB NOT NULL,
	PRIMARY KEY (key, vid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bodies (
	key  BLOB NOT NULL,
	vid  BLOB NOT NULL,
	body BLOB NOT NULL,
	PRIMARY KEY (key, vid)
);`

var (
	sqlWriterPragmas = []string{
		"journal_mode=WAL", "synchronous=FULL", "busy_timeout=5000", "cache_size=-65536",
	}
	sqlReaderPragmas = []string{
		"synchronous=FULL", "busy_timeout=5000", "cache_size=-16384",
		"mmap_size=1073741824", "query_only=1",
	}
)

// sqlStore has one writer connection (all writes, BEGIN IMMEDIATE) and a
// pool of reader connections; WAL mode lets readers run beside the writer.
type sqlStore struct {
	name  string
	wdb   *sql.DB
	conn  *sql.Conn
	rdb   *sql.DB
	mu    sync.Mutex // owns conn for one transaction
	grp   *group
	rGet  *sql.Stmt
	rIter *sql.Stmt
	w     struct {
		begin, commit, rollback           *sql.Stmt
		savepoint, release, rollbackTo    *sql.Stmt
		getHead, putHead, putVersion, put *sql.Stmt
	}
}

func openSQL(name, dir string, open sqlOpener) (_ store, err error) {
	ctx := context.Background()
	path := filepath.Join(dir, "meta.db")
	s := &sqlStore{name: name}
	defer func() {
		if err != nil {
			s.closeHandles()
		}
	}()
	if s.wdb, err = open(path, sqlWriterPragmas); err != nil {
		return nil, err
	}
	s.wdb.SetMaxOpenConns(1)
	if s.conn, err = s.wdb.Conn(ctx); err != nil {
		return nil, err
	}
	if _, err = s.conn.ExecContext(ctx, sqlSchema); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	for _, p := range []struct {
		st  **sql.Stmt
		sql string
	}{
		{&s.w.begin, "BEGIN IMMEDIATE"},
		{&s.w.commit, "COMMIT"},
		{&s.w.rollback, "ROLLBACK"},
		{&s.w.savepoint, "SAVEPOINT c"},
		{&s.w.release, "RELEASE c"},
		{&s.w.rollbackTo, "ROLLBACK TO c"},
		{&s.w.getHead, "SELECT rec FROM heads WHERE key = ?"},
		{&s.w.putHead, "INSERT INTO heads (key, rec) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET rec = excluded.rec"},
		{&s.w.putVersion, "INSERT INTO versions (key, vid, rec) VALUES (?, ?, ?)"},
		{&s.w.put, "INSERT INTO bodies (key, vid, body) VALUES (?, ?, ?)"},
	} {
		if *p.st, err = s.conn.PrepareContext(ctx, p.sql); err != nil {
			return nil, fmt.Errorf("prepare %q: %w", p.sql, err)
		}
	}
	if s.rdb, err = open(path, sqlReaderPragmas); err != nil {
		return nil, err
	}
	s.rdb.SetMaxOpenConns(32)
	s.rdb.SetMaxIdleConns(32)
	if s.rGet, err = s.rdb.Prepare("SELECT rec FROM heads WHERE key = ?"); err != nil {
		return nil, err
	}
	if s.rIter, err = s.rdb.Prepare("SELECT key, rec FROM heads WHERE key >= ? ORDER BY key"); err != nil {
		return nil, err
	}
	s.grp = newGroup(1024, s.runGroup)
	return s, nil
}

func (s *sqlStore) committers() []committer {
	return []committer{
		{name: s.name + " BEGIN IMMEDIATE", update: s.update},
		{name: s.name + " group commit", update: s.grp.update},
	}
}

// update runs fn in its own BEGIN IMMEDIATE transaction on the writer
// connection; one fsync per commit.
func (s *sqlStore) update(_ []byte, fn func(txn) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inTx(func() error { return fn(sqlTxn{s}) })
}

// inTx runs fn between BEGIN IMMEDIATE and COMMIT; s.mu must be held.
func (s *sqlStore) inTx(fn func() error) error {
	if _, err := s.w.begin.Exec(); err != nil {
		return err
	}
	if err := fn(); err != nil {
		_, rbErr := s.w.rollback.Exec()
		return errors.Join(err, rbErr)
	}
	if _, err := s.w.commit.Exec(); err != nil {
		_, rbErr := s.w.rollback.Exec()
		return errors.Join(err, rbErr)
	}
	return nil
}

// runGroup runs a batch of closures in one transaction, each inside a
// savepoint so a failing closure is undone alone, and commits once.
func (s *sqlStore) runGroup(fns []func(txn) error, errs []error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.inTx(func() error {
		for i, fn := range fns {
			if _, err := s.w.savepoint.Exec(); err != nil {
				return err
			}
			if errs[i] = fn(sqlTxn{s}); errs[i] != nil {
				if _, err := s.w.rollbackTo.Exec(); err != nil {
					return err
				}
			}
			if _, err := s.w.release.Exec(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
}

func (s *sqlStore) load(items []loadItem) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inTx(func() error {
		t := sqlTxn{s}
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

func (s *sqlStore) get(key []byte) ([]byte, error) {
	var v []byte
	err := s.rGet.QueryRow(key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return v, err
}

func (s *sqlStore) iter() (iterator, error) {
	tx, err := s.rdb.Begin()
	if err != nil {
		return nil, err
	}
	return &sqlIter{tx: tx, st: tx.Stmt(s.rIter)}, nil
}

func (s *sqlStore) close() error {
	s.grp.close()
	return s.closeHandles()
}

func (s *sqlStore) closeHandles() error {
	var errs []error
	if s.conn != nil {
		errs = append(errs, s.conn.Close())
	}
	for _, db := range []*sql.DB{s.wdb, s.rdb} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	return errors.Join(errs...)
}

type sqlTxn struct{ s *sqlStore }

func (t sqlTxn) head(key []byte) ([]byte, error) {
	var v []byte
	err := t.s.w.getHead.QueryRow(key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return v, err
}
func (t sqlTxn) putHead(key, rec []byte) error {
	_, err := t.s.w.putHead.Exec(key, rec)
	return err
}
func (t sqlTxn) putVersion(key, vid, rec []byte) error {
	_, err := t.s.w.putVersion.Exec(key, vid, rec)
	return err
}
func (t sqlTxn) putBody(key, vid, body []byte) error {
	_, err := t.s.w.put.Exec(key, vid, body)
	return err
}

// sqlIter re-queries on every seek, inside one read transaction so every
// seek sees the same snapshot.
type sqlIter struct {
	tx   *sql.Tx
	st   *sql.Stmt
	rows *sql.Rows
	k, v sql.RawBytes
	err  error
}

func (it *sqlIter) seekGE(key []byte) bool {
	if it.rows != nil {
		it.rows.Close()
	}
	it.rows, it.err = it.st.Query(key)
	if it.err != nil {
		it.rows = nil
		return false
	}
	return it.next()
}

func (it *sqlIter) next() bool {
	if it.rows == nil || !it.rows.Next() {
		return false
	}
	if it.err = it.rows.Scan(&it.k, &it.v); it.err != nil {
		return false
	}
	return true
}

func (it *sqlIter) key() []byte   { return it.k }
func (it *sqlIter) value() []byte { return it.v }

func (it *sqlIter) close() error {
	var errs []error
	if it.rows != nil {
		errs = append(errs, it.rows.Err(), it.rows.Close())
	}
	errs = append(errs, it.err, it.tx.Rollback())
	return errors.Join(errs...)
}
