package migrate

// This file: `spinops migrate data`'s SQL part, Spinnaker's databases moved
// from the old server to the new one through the backup engine.

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
)

// DatabaseCopy is what CopyDatabases moves.
type DatabaseCopy struct {
	From, To  backup.MySQLServer
	Databases []string
	// DatabaseMap renames databases (old name → new name).
	DatabaseMap map[string]string
	// Overwrite replaces databases that already have tables at To (loaded
	// and verified beside them, then swapped in).
	Overwrite bool
	// Staging holds the backup the copy goes through.
	Staging backup.Store
	// ToolVersion is recorded in the staging manifest.
	ToolVersion string
}

// CopyDatabases copies the databases with the backup engine: a consistent
// snapshot of From (without FLUSH TABLES WITH READ LOCK, so it works on
// RDS, Aurora and Cloud SQL) into Staging, then a restore into To that
// loads every table beside the target, checks its row count and checksum
// against the snapshot's manifest, and swaps it in only when all match: a
// failed copy leaves To as it was. The manifest is signed with a key made
// for this copy alone and kept in memory, so nothing else written to
// Staging can be restored by it.
func CopyDatabases(ctx context.Context, c DatabaseCopy, log *slog.Logger) (*backup.Manifest, error) {
	if len(c.Databases) == 0 {
		return nil, errors.New("no databases to copy: name them (e.g. clouddriver, orca, front50)")
	}
	if c.Staging == nil {
		return nil, errors.New("no staging location for the copy")
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("making the copy's signing key: %w", err)
	}
	eng := &backup.Engine{Dest: c.Staging, Log: log, ToolVersion: c.ToolVersion, Keys: &backup.Keys{HMAC: key}}
	from := c.From
	m, err := eng.Run(ctx, backup.RunOptions{MySQL: &from, Databases: c.Databases})
	if err != nil {
		return nil, fmt.Errorf("reading the old databases: %w", err)
	}
	if _, err := eng.Restore(ctx, backup.RestoreOptions{BackupID: m.ID,
		MySQL: &backup.MySQLTarget{Server: c.To, DatabaseMap: c.DatabaseMap, Overwrite: c.Overwrite}}); err != nil {
		return nil, fmt.Errorf("writing the new databases (the old ones were read into %s, backup %s): %w", c.Staging, m.ID, err)
	}
	log.Info("databases migrated", "from", fmt.Sprintf("%s:%d", c.From.Host, c.From.Port), "to", fmt.Sprintf("%s:%d", c.To.Host, c.To.Port),
		"databases", c.Databases, "backup", m.ID)
	return m, nil
}
