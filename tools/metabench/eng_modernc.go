//go:build !no_modernc

package main

import (
	"database/sql"
	"net/url"
	"strings"

	"modernc.org/sqlite"
)

func init() {
	register(engine{name: "sqlite-modernc", order: 30, open: func(dir string) (store, error) {
		return openSQL("sqlite-modernc", dir, openModernc)
	}})
}

// openModernc opens modernc.org/sqlite (SQLite transpiled to pure Go), which
// runs each _pragma DSN parameter on every new connection.
func openModernc(path string, pragmas []string) (*sql.DB, error) {
	q := url.Values{}
	for _, p := range pragmas {
		name, value, _ := strings.Cut(p, "=")
		q.Add("_pragma", name+"("+value+")")
	}
	return sql.OpenDB(dsnConnector{d: &sqlite.Driver{}, dsn: "file:" + path + "?" + q.Encode()}), nil
}
