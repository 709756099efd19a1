package migrate

// This file: an incremental copy verified against the old server
// (DatabaseCopy.Verify): the copy stops at the binary log position of a
// consistent snapshot opened on the old server, and once applied, every
// copied table on the new server must hold exactly the rows the snapshot
// holds. A write on the new server by anything else, before the copy or
// while it ran, makes them differ; so does a change the stream applied
// wrongly.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
)

// divergedPrefix marks a record whose copy found the new database
// differing from the old server (rows_checksums, under the seal): the next
// incremental copy refuses it until a full copy replaces the database.
const divergedPrefix = "diverged:"

// oldSnapshot is a consistent snapshot of the old server and the binary
// log position it stands at (MariaDB's binlog_snapshot_file/position).
type oldSnapshot struct {
	conn *sql.Conn
	at   Position
}

// openOldSnapshot starts a read-only transaction WITH CONSISTENT SNAPSHOT
// on the old server: what it reads is the state at the position returned,
// however the old server goes on writing.
func openOldSnapshot(ctx context.Context, src *sql.DB) (*oldSnapshot, error) {
	conn, err := src.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("opening a connection to the old server for the verification's snapshot: %w", err)
	}
	s := &oldSnapshot{conn: conn}
	for _, q := range []string{
		"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
		"START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			s.close()
			return nil, fmt.Errorf("opening a consistent snapshot of the old server (%s): %w", q, err)
		}
	}
	st, err := backup.StatusVars(ctx, conn, "binlog_snapshot_%")
	if err != nil {
		s.close()
		return nil, fmt.Errorf("reading the old server's snapshot position: %w", err)
	}
	file := st["binlog_snapshot_file"]
	pos, _ := strconv.ParseUint(st["binlog_snapshot_position"], 10, 64)
	if file == "" || pos == 0 {
		s.close()
		return nil, errors.New("the old server reports no binlog_snapshot_file/position for a consistent snapshot (MariaDB reports them; without them the copy cannot be verified at one position): run without --verify")
	}
	s.at = Position{File: file, Position: pos}
	return s, nil
}

func (s *oldSnapshot) close() {
	_, _ = s.conn.ExecContext(context.Background(), "ROLLBACK")
	_ = s.conn.Close()
}

// rowDigest is a table's rows in a form two servers can compare: the
// count, and two sums of 60-bit slices of each row's MD5 (over every
// column's bytes, with a NULL marker per column). A sum, not an XOR: two
// equal rows (a table without a primary key) do not cancel out.
type rowDigest struct {
	Columns string
	Rows    int64
	A, B    string
}

// rowDigests reads the rowDigest of every base table of schema.
func rowDigests(ctx context.Context, q backup.Queryer, schema, which string) (map[string]rowDigest, error) {
	rows, err := q.QueryContext(ctx, `SELECT c.TABLE_NAME, c.COLUMN_NAME FROM information_schema.COLUMNS c
		JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
		WHERE c.TABLE_SCHEMA = ? AND t.TABLE_TYPE = 'BASE TABLE' ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION`, schema)
	if err != nil {
		return nil, fmt.Errorf("listing the columns of %s on the %s server: %w", schema, which, err)
	}
	cols := map[string][]string{}
	for rows.Next() {
		var t, c string
		if err := rows.Scan(&t, &c); err != nil {
			rows.Close()
			return nil, fmt.Errorf("listing the columns of %s on the %s server: %w", schema, which, err)
		}
		cols[t] = append(cols[t], c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing the columns of %s on the %s server: %w", schema, which, err)
	}
	out := map[string]rowDigest{}
	for _, t := range slices.Sorted(maps.Keys(cols)) {
		var vals, nulls []string
		for _, c := range cols[t] {
			vals = append(vals, "CAST("+backup.QuoteIdent(c)+" AS BINARY)")
			nulls = append(nulls, "ISNULL("+backup.QuoteIdent(c)+")")
		}
		h := "MD5(CONCAT_WS(0x1f, " + strings.Join(vals, ", ") + ", CONCAT(" + strings.Join(nulls, ", ") + ")))"
		d := rowDigest{Columns: strings.Join(cols[t], ",")}
		var a, b sql.NullString
		if err := q.QueryRowContext(ctx, "SELECT COUNT(*), CAST(SUM(CAST(CONV(SUBSTRING(h, 1, 15), 16, 10) AS UNSIGNED)) AS CHAR), "+
			"CAST(SUM(CAST(CONV(SUBSTRING(h, 16, 15), 16, 10) AS UNSIGNED)) AS CHAR) FROM (SELECT "+h+" AS h FROM "+
			backup.QuoteIdent(schema)+"."+backup.QuoteIdent(t)+") r").Scan(&d.Rows, &a, &b); err != nil {
			return nil, fmt.Errorf("reading the rows of %s.%s on the %s server: %w", schema, t, which, err)
		}
		d.A, d.B = a.String, b.String
		out[t] = d
	}
	return out, nil
}

// differingTables compares the rows of the old database (in the snapshot)
// with the new one's: the tables that differ, are only on one side, or
// have other columns.
func differingTables(ctx context.Context, snap *oldSnapshot, target *sql.DB, oldDB, newDB string) ([]string, error) {
	// The two servers read at once: each is a scan of every table.
	var was, now map[string]rowDigest
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { was, err = rowDigests(gctx, snap.conn, oldDB, "old"); return err })
	g.Go(func() (err error) { now, err = rowDigests(gctx, target, newDB, "new"); return err })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return tableChanges(was, now, " (only on the new server)", " (missing)", func(o, n rowDigest) (string, bool) {
		switch {
		case o.Columns != n.Columns:
			return " (other columns)", true
		case o.Rows != n.Rows:
			return fmt.Sprintf(" (%d rows, the old server %d)", n.Rows, o.Rows), true
		}
		return "", o != n
	}), nil
}

// verifyIncremental compares every copied database with the snapshot.
// Where one differs, its record (recs, about to be written) is marked
// diverged, so the next incremental copy refuses it; the error names the
// tables.
func verifyIncremental(ctx context.Context, snap *oldSnapshot, target *sql.DB, recs []copyRecord) error {
	var bad []string
	for i, r := range recs {
		diff, err := differingTables(ctx, snap, target, r.SourceDB, r.TargetDB)
		if err != nil {
			return fmt.Errorf("the copy was applied and recorded, but verifying it against the old server failed: %w", err)
		}
		if len(diff) > 0 {
			recs[i].Rows = divergedPrefix + strings.Join(diff, ", ")
			bad = append(bad, fmt.Sprintf("%s (%s)", r.TargetDB, strings.Join(diff, ", ")))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("the new server's databases differ from the old server at the copied position %s: %s. Something other than the copy wrote to them (before this copy or while it ran: the new installation's services started against them, a change by hand); they match neither server, and an incremental copy cannot repair them. Stop what writes there, then %s",
			snap.at, strings.Join(bad, "; "), fullHint)
	}
	return nil
}
