//go:build cgo && !no_mattn

package main

import (
	"database/sql"

	"github.com/mattn/go-sqlite3"
)

func init() {
	register(engine{name: "sqlite-mattn", order: 40, open: func(dir string) (store, error) {
		return openSQL("sqlite-mattn", dir, openMattn)
	}})
}

// openMattn opens github.com/mattn/go-sqlite3 (cgo, the SQLite C
// amalgamation), running pragmas from a connect hook.
func openMattn(path string, pragmas []string) (*sql.DB, error) {
	d := &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		for _, p := range pragmas {
			if _, err := c.Exec("PRAGMA "+p, nil); err != nil {
				return err
			}
		}
		return nil
	}}
	return sql.OpenDB(dsnConnector{d: d, dsn: "file:" + path}), nil
}
