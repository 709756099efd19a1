package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // registers the "sqlite" driver (pure Go, no cgo)
)

// OpenSQLite opens (creating it and its schema when needed) the SQLite
// database at path.
func OpenSQLite(ctx context.Context, path string) (Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("creating the directory of the SQLite store %s: %w", path, err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("opening the SQLite store %s: %w", path, err)
	}
	db.SetMaxOpenConns(1) // one writer; reads are rare and small
	s := &sqlStore{db: db, d: dialect{
		name:         "SQLite",
		insertIgnore: "INSERT OR IGNORE",
		isDuplicate: func(err error) bool {
			return strings.Contains(err.Error(), "UNIQUE constraint failed") ||
				strings.Contains(err.Error(), "PRIMARY KEY")
		},
	}}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening the SQLite store %s: %w", path, err)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}
