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
	"encoding/json"
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
	// Rows is CHECKSUM TABLE of each of the new database's tables when
	// the copy ended (JSON, table → checksum); "" while an incremental
	// copy is applying (its stream clears it with the first transaction)
	// or after one stopped half-way. The next incremental copy compares
	// it with the tables: a difference is a write by something else.
	Rows string
	Seal string
}

// seal is a digest of every field but Tables (which is checked against
// the tables themselves, and rewritten by the SQL stream after a DDL
// statement): a row changed by hand no longer matches it. Rows counts
// only when set, so rows written before it existed keep their seal.
func (r copyRecord) seal() string {
	h := sha256.New()
	fields := []string{r.TargetDB, r.SourceDB, r.CopyID, r.SourceInstance, r.SourceKey, r.Databases,
		r.File, fmt.Sprint(r.Position.Position), r.GTID, fmt.Sprint(r.Pending)}
	if r.Rows != "" {
		fields = append(fields, r.Rows)
	}
	for _, f := range fields {
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
  rows_checksums MEDIUMTEXT NOT NULL,
  seal CHAR(64) NOT NULL,
  updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("creating %s on the new server (the copy records its position there): %w", positionTable, err)
		}
	}
	// A table made by a spinops without rows_checksums gets it (empty:
	// such a row's next copy cannot check for writes, and says so).
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'copy_position' AND COLUMN_NAME = 'rows_checksums'",
		positionSchema).Scan(&n); err != nil {
		return fmt.Errorf("reading the columns of %s on the new server: %w", positionTable, err)
	}
	if n == 0 {
		if _, err := db.ExecContext(ctx, "ALTER TABLE "+positionTable+" ADD COLUMN rows_checksums MEDIUMTEXT NOT NULL AFTER tables_digest"); err != nil {
			return fmt.Errorf("adding rows_checksums to %s on the new server: %w", positionTable, err)
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
	if err := ensurePositionTable(ctx, db); err != nil {
		return nil, err
	}
	for _, t := range targets {
		var r copyRecord
		err := db.QueryRowContext(ctx, `SELECT target_db, source_db, copy_id, source_instance, source_key, databases_map, binlog_file,
			binlog_position, gtid, pending_position, tables_digest, rows_checksums, seal FROM `+positionTable+` WHERE target_db = ?`, t).Scan(
			&r.TargetDB, &r.SourceDB, &r.CopyID, &r.SourceInstance, &r.SourceKey, &r.Databases, &r.File, &r.Position.Position,
			&r.GTID, &r.Pending, &r.Tables, &r.Rows, &r.Seal)
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
			binlog_file, binlog_position, gtid, pending_position, tables_digest, rows_checksums, seal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.TargetDB, r.SourceDB, r.CopyID, r.SourceInstance, r.SourceKey, r.Databases, r.File, r.Position.Position, r.GTID,
			r.Pending, r.Tables, r.Rows, r.Seal); err != nil {
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
// digest of the new database's tables (after a DDL statement). r.Rows is
// written as it is: the stream's records have it empty (the tables'
// checksums are taken once the copy ends).
func (r copyRecord) updateSQL(tables bool) string {
	set := ""
	if tables {
		set = ", tables_digest = (" + strings.Replace(digestQuery, "?", hexLiteral(r.TargetDB), 1) + ")"
	}
	return fmt.Sprintf("UPDATE %s SET binlog_file = %s, binlog_position = %d, gtid = %s, pending_position = %d, rows_checksums = %s, seal = %s%s WHERE target_db = %s AND copy_id = %s",
		positionTable, hexLiteral(r.File), r.Position.Position, hexLiteral(r.GTID), r.Pending, hexLiteral(r.Rows), hexLiteral(r.seal()), set, hexLiteral(r.TargetDB), hexLiteral(r.CopyID))
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
		rows, err := tableChecksums(ctx, target, c.target(d))
		if err != nil {
			return nil, err
		}
		out = append(out, copyRecord{TargetDB: c.target(d), SourceDB: d, CopyID: copyID, SourceInstance: src.Instance, SourceKey: src.Key,
			Databases: databaseSet(c), Position: pos, Tables: digest, Rows: encodeChecksums(rows)})
	}
	return out, nil
}

// tableChecksums is CHECKSUM TABLE of every base table of the database db
// names on the new server (nil for a table CHECKSUM TABLE has no checksum
// for). Its cost is one read of every row: once when a copy ends, once
// when the next incremental copy starts.
func tableChecksums(ctx context.Context, db *sql.DB, schema string) (map[string]*int64, error) {
	rows, err := db.QueryContext(ctx, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME", schema)
	if err != nil {
		return nil, fmt.Errorf("listing the tables of %s on the new server: %w", schema, err)
	}
	var names, quoted []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("listing the tables of %s on the new server: %w", schema, err)
		}
		names = append(names, n)
		quoted = append(quoted, backup.QuoteIdent(schema)+"."+backup.QuoteIdent(n))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing the tables of %s on the new server: %w", schema, err)
	}
	out := map[string]*int64{}
	if len(names) == 0 {
		return out, nil
	}
	// One statement; its rows come in the order the tables are named.
	sums, err := db.QueryContext(ctx, "CHECKSUM TABLE "+strings.Join(quoted, ", "))
	if err != nil {
		return nil, fmt.Errorf("reading the checksums of the tables of %s on the new server: %w", schema, err)
	}
	defer sums.Close()
	for i := 0; sums.Next(); i++ {
		var name string
		var sum sql.NullInt64
		if err := sums.Scan(&name, &sum); err != nil {
			return nil, fmt.Errorf("reading the checksums of the tables of %s on the new server: %w", schema, err)
		}
		if i >= len(names) {
			return nil, fmt.Errorf("CHECKSUM TABLE on %s answered more rows than the %d tables named", schema, len(names))
		}
		if sum.Valid {
			out[names[i]] = &sum.Int64
		} else {
			out[names[i]] = nil
		}
	}
	if err := sums.Err(); err != nil {
		return nil, fmt.Errorf("reading the checksums of the tables of %s on the new server: %w", schema, err)
	}
	if len(out) != len(names) {
		return nil, fmt.Errorf("CHECKSUM TABLE on %s answered %d rows for %d tables", schema, len(out), len(names))
	}
	return out, nil
}

func encodeChecksums(m map[string]*int64) string {
	b, _ := json.Marshal(m) // map keys are sorted; a map of strings to numbers always encodes
	return string(b)
}

// changedTables compares checksums recorded when a copy ended with the
// tables now: the tables whose rows differ, were added or are gone.
func changedTables(recorded string, now map[string]*int64) ([]string, error) {
	var was map[string]*int64
	if err := json.Unmarshal([]byte(recorded), &was); err != nil {
		return nil, fmt.Errorf("the recorded checksums are not readable: %w", err)
	}
	return tableChanges(was, now, " (new)", " (gone)", func(w, s *int64) (string, bool) {
		return "", (w == nil) != (s == nil) || w != nil && *w != *s
	}), nil
}

// tableChanges compares two readings of a database's tables (table →
// value): the tables now whose value differs (changed says so, and what to
// add to the name), and those added or gone (named with the suffix),
// sorted.
func tableChanges[V any](was, now map[string]V, added, gone string, changed func(was, now V) (string, bool)) []string {
	var out []string
	for t, n := range now {
		w, ok := was[t]
		if !ok {
			out = append(out, t+added)
		} else if how, ok := changed(w, n); ok {
			out = append(out, t+how)
		}
	}
	for t := range was {
		if _, ok := now[t]; !ok {
			out = append(out, t+gone)
		}
	}
	slices.Sort(out)
	return out
}
