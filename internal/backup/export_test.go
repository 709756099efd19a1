package backup

import (
	"context"
	"database/sql"
)

// WriteManifest rewrites (and re-signs with keys) a manifest: the tests
// use it to play someone who holds the signing key, or a server that
// changes data on load.
func WriteManifest(ctx context.Context, dest Store, m *Manifest, keys *Keys) error {
	return writeManifest(ctx, dest, m, keys)
}

// CheckCreate exposes the statement check to the external tests.
var CheckCreate = checkCreate

// SQLOpen opens a pool to the server as the engine would (TLS included).
func SQLOpen(s MySQLServer) (*sql.DB, error) { return s.open("") }
