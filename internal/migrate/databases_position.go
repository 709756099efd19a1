package migrate

// This file: where a database copy stands, recorded on the new server
// (spinops_migrate.copy_position, one row per copied database) so that the
// record always describes what the new server holds: it is written after a
// full copy, and during an incremental copy in the same transaction as
// each applied one (databases_binlog.go).

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
)

const (
	positionSchema = "spinops_migrate"
	positionTable  = positionSchema + ".copy_position"
)

// Position is a place in the old server's binary log.
type Position struct {
	File     string
	Position uint64
	// GTID is the server's GTID position there (MariaDB), "" when unknown.
	GTID string
}

func (p Position) String() string {
	s := fmt.Sprintf("%s:%d", p.File, p.Position)
	if p.GTID != "" {
		s += " (GTID " + p.GTID + ")"
	}
	return s
}

// copyRecord is one row of spinops_migrate.copy_position.
type copyRecord struct {
	TargetDB, SourceDB string
	// CopyID names the full copy the rows build on; every database of a
	// copy has the same.
	CopyID string
	// SourceInstance and SourceKey identify the old server.
	SourceInstance, SourceKey string
	// Databases is the whole database map of the copy (old=new, sorted).
	Databases string
	Position
	// Pending is set while a statement outside a transaction (DDL) is
	// being applied: its end position. A run that finds it set cannot
	// know whether the statement took effect.
	Pending uint64
	// Tables is the digest of the new database's table definitions
	// (columns) when the row was written.
	Tables string
	Seal   string
}

// seal is a digest of every field but Tables (which is checked against
// the tables themselves, and rewritten by the SQL stream after a DDL
// statement): a row changed by hand no longer matches it.
func (r copyRecord) seal() string {
	h := sha256.New()
	for _, f := range []string{r.TargetDB, r.SourceDB, r.CopyID, r.SourceInstance, r.SourceKey, r.Databases,
		r.File, fmt.Sprint(r.Position.Position), r.GTID, fmt.Sprint(r.Pending)} {
		fmt.Fprintf(h, "%d:%s\n", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// databaseSet is the copy's database map in one canonical string.
func databaseSet(c DatabaseCopy) string {
	m := map[string]string{}
	for _, d := range c.Databases {
		m[d] = c.target(d)
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

func newCopyID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func ensurePositionTable(ctx context.Context, db *sql.DB) error {
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS " + positionSchema,
		`CREATE TABLE IF NOT EXISTS ` + positionTable + ` (
  target_db VARCHAR(64) NOT NULL PRIMARY KEY,
  source_db VARCHAR(64) NOT NULL,
  copy_id CHAR(32) NOT NULL,
  source_instance VARCHAR(1024) NOT NULL,
  source_key VARCHAR(255) NOT NULL,
  databases_map TEXT NOT NULL,
  binlog_file VARCHAR(255) NOT NULL,
  binlog_position BIGINT UNSIGNED NOT NULL,
  gtid VARCHAR(1024) NOT NULL,
  pending_position BIGINT UNSIGNED NOT NULL,
  tables_digest VARCHAR(80) NOT NULL,
  seal CHAR(64) NOT NULL,
  updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("creating %s on the new server (the copy records its position there): %w", positionTable, err)
		}
	}
	return nil
}

// readRecords reads the rows of the target databases (missing ones are
// absent from the map).
func readRecords(ctx context.Context, db *sql.DB, targets []string) (map[string]copyRecord, error) {
	out := map[string]copyRecord{}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'copy_position'", positionSchema).Scan(&n); err != nil {
		return nil, fmt.Errorf("looking for %s on the new server: %w", positionTable, err)
	}
	if n == 0 {
		return out, nil
	}
	for _, t := range targets {
		var r copyRecord
		err := db.QueryRowContext(ctx, `SELECT target_db, source_db, copy_id, source_instance, source_key, databases_map, binlog_file,
			binlog_position, gtid, pending_position, tables_digest, seal FROM `+positionTable+` WHERE target_db = ?`, t).Scan(
			&r.TargetDB, &r.SourceDB, &r.CopyID, &r.SourceInstance, &r.SourceKey, &r.Databases, &r.File, &r.Position.Position,
			&r.GTID, &r.Pending, &r.Tables, &r.Seal)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading the recorded position of %s on the new server: %w", t, err)
		}
		out[t] = r
	}
	return out, nil
}

// clearRecords removes the rows of the target databases: a full copy is
// about to replace them, and a position must never outlive the data it
// describes.
func clearRecords(ctx context.Context, db *sql.DB, targets []string) error {
	if err := ensurePositionTable(ctx, db); err != nil {
		return err
	}
	for _, t := range targets {
		if _, err := db.ExecContext(ctx, "DELETE FROM "+positionTable+" WHERE target_db = ?", t); err != nil {
			return fmt.Errorf("clearing the recorded position of %s: %w", t, err)
		}
	}
	return nil
}

// writeRecords writes the rows in one transaction.
func writeRecords(ctx context.Context, db *sql.DB, recs []copyRecord) error {
	if err := ensurePositionTable(ctx, db); err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it does nothing
	for _, r := range recs {
		r.Seal = r.seal()
		if _, err := tx.ExecContext(ctx, `REPLACE INTO `+positionTable+` (target_db, source_db, copy_id, source_instance, source_key, databases_map,
			binlog_file, binlog_position, gtid, pending_position, tables_digest, seal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.TargetDB, r.SourceDB, r.CopyID, r.SourceInstance, r.SourceKey, r.Databases, r.File, r.Position.Position, r.GTID,
			r.Pending, r.Tables, r.Seal); err != nil {
			return fmt.Errorf("recording the position of %s: %w", r.TargetDB, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("recording the copy's position: %w", err)
	}
	return nil
}

// hexLiteral writes s so that the stream's sql_mode (ANSI_QUOTES,
// NO_BACKSLASH_ESCAPES) cannot change its meaning.
func hexLiteral(s string) string {
	if s == "" {
		return "''"
	}
	return "X'" + hex.EncodeToString([]byte(s)) + "'"
}

// updateSQL is the statement that moves r's row to r's position, for the
// SQL stream of an incremental copy. With tables, it also recomputes the
// digest of the new database's tables (after a DDL statement).
func (r copyRecord) updateSQL(tables bool) string {
	set := ""
	if tables {
		set = ", tables_digest = (" + strings.Replace(digestQuery, "?", hexLiteral(r.TargetDB), 1) + ")"
	}
	return fmt.Sprintf("UPDATE %s SET binlog_file = %s, binlog_position = %d, gtid = %s, pending_position = %d, seal = %s%s WHERE target_db = %s AND copy_id = %s",
		positionTable, hexLiteral(r.File), r.Position.Position, hexLiteral(r.GTID), r.Pending, hexLiteral(r.seal()), set, hexLiteral(r.TargetDB), hexLiteral(r.CopyID))
}

// digestQuery is a digest of the definitions of the tables of the
// database its placeholder names (table name, and each column's name,
// position, type, nullability, default and extra), from
// information_schema: cheap, and it changes when a table is added, dropped
// or altered.
const digestQuery = `SELECT CONCAT(COUNT(*), '-', IFNULL(CAST(SUM(CONV(LEFT(SHA2(CONCAT_WS('|', TABLE_NAME, ORDINAL_POSITION, COLUMN_NAME,
	COLUMN_TYPE, IS_NULLABLE, IFNULL(COLUMN_DEFAULT, '<null>'), EXTRA), 256), 15), 16, 10)) AS CHAR), '0'))
	FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ?`

func tablesDigest(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, db string) (string, error) {
	var d string
	if err := q.QueryRowContext(ctx, digestQuery, db).Scan(&d); err != nil {
		return "", fmt.Errorf("reading the table definitions of %s: %w", db, err)
	}
	return d, nil
}

// recordsFor builds the rows of a copy at pos.
func recordsFor(ctx context.Context, c DatabaseCopy, target *sql.DB, copyID string, src backup.ServerState, pos Position) ([]copyRecord, error) {
	var out []copyRecord
	for _, d := range c.Databases {
		digest, err := tablesDigest(ctx, target, c.target(d))
		if err != nil {
			return nil, err
		}
		out = append(out, copyRecord{TargetDB: c.target(d), SourceDB: d, CopyID: copyID, SourceInstance: src.Instance, SourceKey: src.Key,
			Databases: databaseSet(c), Position: pos, Tables: digest})
	}
	return out, nil
}
