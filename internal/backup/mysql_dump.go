package backup

import (
	"bufio"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
)

// dumpMySQL takes one consistent snapshot of every base table of dbs inside
// a single transaction (WITH CONSISTENT SNAPSHOT) and streams each table,
// compressed, to dest under dir. The binlog position is the snapshot's own
// (MariaDB's binlog_snapshot_file/position), or taken under a brief global
// read lock on MySQL.
func dumpMySQL(ctx context.Context, s MySQLServer, dbs []string, dest Store, dir string, log *slog.Logger) (*MySQLManifest, time.Time, error) {
	pool, err := s.open("")
	if err != nil {
		return nil, time.Time{}, err
	}
	defer pool.Close()
	conn, err := pool.Conn(ctx)
	if err != nil {
		return nil, time.Time{}, connectError(s, err)
	}
	defer conn.Close()
	si, err := readServerInfo(ctx, conn)
	if err != nil {
		return nil, time.Time{}, err
	}
	mm := &MySQLManifest{Server: s.addr(), ServerVersion: si.Version, BinlogFormat: si.BinlogFormat}
	snapAt, err := startSnapshot(ctx, conn, si, mm)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK") //nolint:errcheck // read-only transaction
	// Values leave the server as stored, whatever their character set.
	if _, err := conn.ExecContext(ctx, "SET SESSION character_set_results = binary"); err != nil {
		return nil, time.Time{}, fmt.Errorf("setting character_set_results: %w", err)
	}
	log.Info("snapshot started", "server", s.addr(), "binlog_file", mm.BinlogFile, "binlog_position", mm.BinlogPosition, "snapshot_at", snapAt)
	for _, db := range dbs {
		dd, err := dumpDatabase(ctx, conn, db, dest, dir, log)
		if err != nil {
			return nil, time.Time{}, err
		}
		mm.Databases = append(mm.Databases, *dd)
	}
	return mm, snapAt, nil
}

func startSnapshot(ctx context.Context, conn *sql.Conn, si serverInfo, mm *MySQLManifest) (time.Time, error) {
	if _, err := conn.ExecContext(ctx, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"); err != nil {
		return time.Time{}, fmt.Errorf("setting the isolation level: %w", err)
	}
	var snapAt time.Time
	if si.MariaDB || !si.LogBin {
		if _, err := conn.ExecContext(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"); err != nil {
			return snapAt, fmt.Errorf("starting the consistent snapshot: %w", err)
		}
		if si.LogBin {
			st, err := statusVars(ctx, conn, "binlog_snapshot_%")
			if err != nil {
				return snapAt, err
			}
			mm.BinlogFile = st["binlog_snapshot_file"]
			mm.BinlogPosition, _ = strconv.ParseUint(st["binlog_snapshot_position"], 10, 64)
		}
	} else {
		// MySQL: a global read lock held only while the snapshot starts.
		if _, err := conn.ExecContext(ctx, "FLUSH TABLES WITH READ LOCK"); err != nil {
			return snapAt, fmt.Errorf("taking the global read lock for the binlog position (needs RELOAD): %w", err)
		}
		_, err := conn.ExecContext(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
		if err == nil {
			var doDB, ignoreDB, gtid sql.NullString
			err = conn.QueryRowContext(ctx, "SHOW MASTER STATUS").Scan(&mm.BinlogFile, &mm.BinlogPosition, &doDB, &ignoreDB, &gtid)
			mm.GTID = gtid.String
		}
		if _, uerr := conn.ExecContext(ctx, "UNLOCK TABLES"); uerr != nil && err == nil {
			err = uerr
		}
		if err != nil {
			return snapAt, fmt.Errorf("starting the consistent snapshot: %w", err)
		}
	}
	if si.MariaDB && si.LogBin {
		var gtid sql.NullString
		if err := conn.QueryRowContext(ctx, "SELECT BINLOG_GTID_POS(?, ?)", mm.BinlogFile, mm.BinlogPosition).Scan(&gtid); err == nil {
			mm.GTID = gtid.String
		}
	}
	var ts string
	if err := conn.QueryRowContext(ctx, "SELECT DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%fZ')").Scan(&ts); err != nil {
		return snapAt, fmt.Errorf("reading the snapshot time: %w", err)
	}
	return time.Parse(time.RFC3339Nano, ts)
}

func statusVars(ctx context.Context, conn *sql.Conn, like string) (map[string]string, error) {
	rows, err := conn.QueryContext(ctx, "SHOW STATUS LIKE '"+like+"'")
	if err != nil {
		return nil, fmt.Errorf("reading status %s: %w", like, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[strings.ToLower(k)] = v
	}
	return out, rows.Err()
}

func dumpDatabase(ctx context.Context, conn *sql.Conn, db string, dest Store, dir string, log *slog.Logger) (*DatabaseDump, error) {
	dd := &DatabaseDump{Name: db}
	var name string
	if err := conn.QueryRowContext(ctx, "SHOW CREATE DATABASE "+quoteIdent(db)).Scan(&name, &dd.CreateSQL); err != nil {
		return nil, fmt.Errorf("reading database %s (does it exist, and may the backup user read it?): %w", db, err)
	}
	tables, err := queryStrings(ctx, conn, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME", db)
	if err != nil {
		return nil, fmt.Errorf("listing the tables of %s: %w", db, err)
	}
	for _, t := range tables {
		td, err := dumpTable(ctx, conn, db, t, dest, dir)
		if err != nil {
			return nil, fmt.Errorf("dumping %s.%s: %w", db, t, err)
		}
		log.Info("table dumped", "database", db, "table", t, "rows", td.Rows, "bytes", td.Data.Size)
		dd.Tables = append(dd.Tables, *td)
	}
	return dd, nil
}

func queryStrings(ctx context.Context, conn *sql.Conn, q string, args ...any) ([]string, error) {
	rows, err := conn.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func dumpTable(ctx context.Context, conn *sql.Conn, db, table string, dest Store, dir string) (*TableDump, error) {
	td := &TableDump{Name: table}
	var name string
	if err := conn.QueryRowContext(ctx, "SHOW CREATE TABLE "+quoteIdent(db)+"."+quoteIdent(table)).Scan(&name, &td.CreateSQL); err != nil {
		return nil, fmt.Errorf("reading the table definition: %w", err)
	}
	rows, err := conn.QueryContext(ctx, "SELECT COLUMN_NAME, DATA_TYPE, EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", db, table)
	if err != nil {
		return nil, fmt.Errorf("reading the columns: %w", err)
	}
	var sel []string
	for rows.Next() {
		var col, typ, extra string
		if err := rows.Scan(&col, &typ, &extra); err != nil {
			rows.Close()
			return nil, err
		}
		if strings.Contains(strings.ToUpper(extra), "GENERATED") {
			continue // computed by the server on restore
		}
		c := Column{Name: col, Bit: strings.EqualFold(typ, "bit")}
		td.Columns = append(td.Columns, c)
		if c.Bit {
			sel = append(sel, "CAST("+quoteIdent(col)+" AS UNSIGNED)")
		} else {
			sel = append(sel, quoteIdent(col))
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	td.Data.Path = dir + "mysql/" + db + "/" + table + ".tsv.zst"
	q := "SELECT " + strings.Join(sel, ", ") + " FROM " + quoteIdent(db) + "." + quoteIdent(table)
	err = streamPart(ctx, dest, &td.Data, func(w *bufio.Writer) error {
		rows, err := conn.QueryContext(ctx, q)
		if err != nil {
			return fmt.Errorf("reading rows: %w", err)
		}
		defer rows.Close()
		vals := make([]sql.RawBytes, len(sel))
		ptrs := make([]any, len(sel))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				return fmt.Errorf("reading rows: %w", err)
			}
			if err := writeTSVRow(w, vals); err != nil {
				return err
			}
			td.Rows++
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("reading rows: %w", err)
		}
		return nil
	})
	return td, err
}

// streamPart runs produce into a zstd stream uploaded to p.Path as it is
// written, and fills p's sizes and SHA-256 (of the stored bytes).
func streamPart(ctx context.Context, dest Store, p *Part, produce func(*bufio.Writer) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	putErr := make(chan error, 1)
	go func() {
		err := dest.Put(ctx, p.Path, pr)
		pr.CloseWithError(err) // unblock the writer if the upload stopped early
		putErr <- err
	}()
	h := sha256.New()
	stored := &countWriter{w: io.MultiWriter(pw, h)}
	zw, err := zstd.NewWriter(stored, zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		pw.CloseWithError(err)
		return err
	}
	raw := &countWriter{w: zw}
	bw := bufio.NewWriterSize(raw, 256<<10)
	err = produce(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = zw.Close()
	} else {
		_ = zw.Close() // the first error is the one reported
	}
	if err != nil {
		pw.CloseWithError(err)
		<-putErr //nolint:errcheck // the upload fails because of err, which is reported
		return err
	}
	_ = pw.Close() // PipeWriter.Close never fails
	if err := <-putErr; err != nil {
		return err
	}
	p.Size, p.RawSize, p.SHA256 = stored.n, raw.n, hexSum(h)
	return nil
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// hashReader hashes and counts what is read through it.
type hashReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func newHashReader(r io.Reader) *hashReader { return &hashReader{r: r, h: sha256.New()} }

func (h *hashReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	return n, err
}

func (h *hashReader) sum() string { return hexSum(h.h) }
