package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"time"
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

// SetSwapFault makes the swap of a restore fail at step ("drop",
// "rename", "objects", "created"; while it commits, "record" (before the
// journal records the restore complete; db "") or "commit") of database
// db, as a lost connection or a refused statement would, until the test
// ends.
func SetSwapFault(t interface{ Cleanup(func()) }, f func(step, db string) error) {
	swapFault = f
	t.Cleanup(func() { swapFault = nil })
}

// SetSwapFaultRecovery makes RollbackSQL stop with f's error after it has
// put back a database, as a process killed there would.
func SetSwapFaultRecovery(t interface{ Cleanup(func()) }, f func(db string) error) {
	swapFaultRecovery = f
	t.Cleanup(func() { swapFaultRecovery = nil })
}

// SetSwapKeepalive sets how often a restore pings its journal's lock
// connection, until the test ends.
func SetSwapKeepalive(t interface{ Cleanup(func()) }, d time.Duration) {
	old := swapKeepalive
	swapKeepalive = d
	t.Cleanup(func() { swapKeepalive = old })
}

// ServerBinlogs lists the server's binary log files, oldest first, as the
// archiver does.
var ServerBinlogs = serverBinlogs

// UploadBinlog puts b as the server's archived binlog file name, signed
// with keys, as an archiver would (the tests use it to play an archiver
// of an earlier version).
func UploadBinlog(ctx context.Context, dest Store, keys *Keys, server, name string, b []byte) error {
	key := serverBinlogDir(server) + name
	if err := dest.Put(ctx, key, bytes.NewReader(b)); err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	return writeBinlogSig(ctx, dest, keys, server, key, name, int64(len(b)), hex.EncodeToString(sum[:]))
}
