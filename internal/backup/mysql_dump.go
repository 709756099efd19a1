package backup

import (
	"bufio"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sync/errgroup"
)

// DumpOptions tune the dump.
type DumpOptions struct {
	// Parallel is how many connections read at once (default 4). Extra
	// connections are used only when each one's snapshot provably is the
	// same (MariaDB: the same binlog_snapshot_file/position).
	Parallel int
	// ChunkBytes is the target size of one part (default: adaptive, the
	// data size over 4 × Parallel, between 8 MiB and 256 MiB).
	ChunkBytes int64
}

// dumpMySQL takes one consistent snapshot of every table and schema object
// of dbs and streams each table, in chunks, compressed, to dest under dir.
// The binlog position is the snapshot's own; no global lock is taken, so
// managed servers (RDS, Aurora, Cloud SQL) that refuse FLUSH TABLES WITH
// READ LOCK, RELOAD and SUPER can be backed up.
func dumpMySQL(ctx context.Context, s MySQLServer, dbs []string, dest Store, dir string, o DumpOptions, log *slog.Logger) (*MySQLManifest, time.Time, error) {
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
	mm := &MySQLManifest{Server: s.addr(), ServerVersion: si.Version, BinlogFormat: si.BinlogFormat,
		ServerID: si.ServerID, ServerUUID: si.ServerUUID, GTIDDomain: si.GTIDDomain, ArchiveServer: si.Key(), Instance: si.Instance}
	snapAt, err := startSnapshot(ctx, conn, si, mm)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK") //nolint:errcheck // read-only transaction
	if err := prepareDumpSession(ctx, conn); err != nil {
		return nil, time.Time{}, err
	}
	conns := []*sql.Conn{conn}
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	if si.MariaDB && si.LogBin && o.Parallel > 1 {
		extra := joinSnapshot(ctx, pool, o.Parallel-1, mm, log)
		for _, c := range extra {
			defer c.Close()
			defer c.ExecContext(context.WithoutCancel(ctx), "ROLLBACK") //nolint:errcheck // read-only transaction
		}
		conns = append(conns, extra...)
	}
	log.Info("snapshot started", "server", s.addr(), "binlog_file", mm.BinlogFile, "binlog_position", mm.BinlogPosition, "snapshot_at", snapAt, "connections", len(conns))
	var jobs []chunkJob
	for _, db := range dbs {
		dd, dbJobs, err := planDatabase(ctx, conn, db, dir, o, len(conns))
		if err != nil {
			return nil, time.Time{}, err
		}
		mm.Databases = append(mm.Databases, *dd)
		jobs = append(jobs, dbJobs...)
	}
	if err := runChunks(ctx, conns, jobs, dest, log); err != nil {
		return nil, time.Time{}, err
	}
	for i := range mm.Databases {
		for j := range mm.Databases[i].Tables {
			t := &mm.Databases[i].Tables[j]
			var d rowDigest
			for k := range t.Parts {
				t.Rows += t.Parts[k].Rows
			}
			for _, jb := range jobs {
				if jb.table == t {
					d += jb.digest
				}
			}
			t.RowDigest = strconv.FormatUint(uint64(d), 16)
		}
	}
	return mm, snapAt, nil
}

func prepareDumpSession(ctx context.Context, conn *sql.Conn) error {
	// Values leave the server as stored, whatever their character set.
	if _, err := conn.ExecContext(ctx, "SET SESSION character_set_results = binary"); err != nil {
		return fmt.Errorf("setting character_set_results: %w", err)
	}
	return nil
}

// joinSnapshot opens up to n more connections whose consistent snapshot
// is at the same binlog position as mm's: on MariaDB a snapshot is exactly
// the state at binlog_snapshot_file/position, so equal positions mean equal
// snapshots. A connection that starts after a commit tries again.
func joinSnapshot(ctx context.Context, pool *sql.DB, n int, mm *MySQLManifest, log *slog.Logger) []*sql.Conn {
	var out []*sql.Conn
	for i := 0; i < n; i++ {
		c, err := pool.Conn(ctx)
		if err != nil {
			break
		}
		joined := false
		for attempt := 0; attempt < 20 && !joined; attempt++ {
			if _, err := c.ExecContext(ctx, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"); err != nil {
				break
			}
			if _, err := c.ExecContext(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"); err != nil {
				break
			}
			st, err := StatusVars(ctx, c, "binlog_snapshot_%")
			if err != nil {
				break
			}
			pos, _ := strconv.ParseUint(st["binlog_snapshot_position"], 10, 64)
			if st["binlog_snapshot_file"] == mm.BinlogFile && pos == mm.BinlogPosition {
				joined = prepareDumpSession(ctx, c) == nil
				break
			}
			_, _ = c.ExecContext(ctx, "ROLLBACK")
			// The snapshot moved on: commits happened since. The first
			// connection's snapshot cannot move, so only a quiet moment
			// lets another join; give up after a few tries.
			time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
		}
		if !joined {
			c.Close()
			log.Info("a parallel connection could not join the snapshot (writes in progress); dumping with fewer connections", "connections", len(out)+1)
			break
		}
		out = append(out, c)
	}
	return out
}

func startSnapshot(ctx context.Context, conn *sql.Conn, si serverInfo, mm *MySQLManifest) (time.Time, error) {
	if _, err := conn.ExecContext(ctx, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"); err != nil {
		return time.Time{}, fmt.Errorf("setting the isolation level: %w", err)
	}
	var snapAt time.Time
	switch {
	case si.MariaDB || !si.LogBin:
		if _, err := conn.ExecContext(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"); err != nil {
			return snapAt, fmt.Errorf("starting the consistent snapshot: %w", err)
		}
		if si.LogBin {
			// MariaDB: the snapshot's own binlog position (what
			// mariadb-dump --single-transaction --master-data uses without
			// FLUSH TABLES WITH READ LOCK).
			st, err := StatusVars(ctx, conn, "binlog_snapshot_%")
			if err != nil {
				return snapAt, err
			}
			mm.BinlogFile = st["binlog_snapshot_file"]
			mm.BinlogPosition, _ = strconv.ParseUint(st["binlog_snapshot_position"], 10, 64)
		}
	default:
		// MySQL has no snapshot position. Without FLUSH TABLES WITH READ
		// LOCK (refused by RDS/Aurora/Cloud SQL), bracket the snapshot:
		// read the binlog position and the executed GTID set, start the
		// snapshot, read them again; equal means nothing committed in
		// between, so the snapshot is at that position. Retry otherwise.
		var err error
		for attempt := 0; attempt < 50; attempt++ {
			var f1, f2, g1, g2 string
			var p1, p2 uint64
			if f1, p1, g1, err = binaryLogStatus(ctx, conn); err != nil {
				return snapAt, err
			}
			if _, err = conn.ExecContext(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"); err != nil {
				return snapAt, fmt.Errorf("starting the consistent snapshot: %w", err)
			}
			if f2, p2, g2, err = binaryLogStatus(ctx, conn); err != nil {
				return snapAt, err
			}
			if f1 == f2 && p1 == p2 && g1 == g2 {
				mm.BinlogFile, mm.BinlogPosition, mm.GTID = f1, p1, g1
				break
			}
			err = errors.New("the binary log kept moving while the snapshot started")
			_, _ = conn.ExecContext(ctx, "ROLLBACK")
			time.Sleep(time.Duration(attempt+1) * 10 * time.Millisecond)
		}
		if err != nil {
			return snapAt, fmt.Errorf("starting a consistent snapshot at a known binlog position after 50 attempts: %w", err)
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

// Queryer is what reads from a server: a *sql.DB, *sql.Conn or *sql.Tx.
type Queryer interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// StatusVars reads SHOW STATUS LIKE like (names lower-cased).
func StatusVars(ctx context.Context, conn Queryer, like string) (map[string]string, error) {
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

// chunkJob is one part of one table: the rows with lo <= pk < hi (bounds
// absent at the ends), or the whole table.
type chunkJob struct {
	db     string
	table  *TableDump
	query  string
	digest rowDigest
	// pathPrefix + "<n>.tsv.zst" names the job's parts: a job cuts its
	// stream into parts of about chunk raw bytes, so even a table that
	// cannot be split by key restores in parallel.
	pathPrefix string
	chunk      int64
	parts      []TablePart
}

// planDatabase reads the database's definitions inside the snapshot and
// splits each table into chunks.
func planDatabase(ctx context.Context, conn *sql.Conn, db, dir string, o DumpOptions, workers int) (*DatabaseDump, []chunkJob, error) {
	dd := &DatabaseDump{Name: db}
	var name string
	if err := conn.QueryRowContext(ctx, "SHOW CREATE DATABASE "+quoteIdent(db)).Scan(&name, &dd.CreateSQL); err != nil {
		return nil, nil, fmt.Errorf("reading database %s (does it exist, and may the backup user read it?): %w", db, err)
	}
	rows, err := conn.QueryContext(ctx, "SELECT TABLE_NAME, TABLE_TYPE, COALESCE(DATA_LENGTH, 0) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME", db)
	if err != nil {
		return nil, nil, fmt.Errorf("listing the tables of %s: %w", db, err)
	}
	type tbl struct {
		name, typ string
		size      int64
	}
	var tables []tbl
	var total int64
	for rows.Next() {
		var t tbl
		if err := rows.Scan(&t.name, &t.typ, &t.size); err != nil {
			rows.Close()
			return nil, nil, err
		}
		tables = append(tables, t)
		total += t.size
	}
	rows.Close()
	chunk := o.ChunkBytes
	if chunk <= 0 {
		chunk = min(max(total/int64(4*workers), 8<<20), 256<<20)
	}
	for _, t := range tables {
		if t.typ == "VIEW" {
			continue
		}
		dd.Tables = append(dd.Tables, TableDump{Name: t.name})
	}
	var jobs []chunkJob
	for i := range dd.Tables {
		td := &dd.Tables[i]
		size := int64(0)
		for _, t := range tables {
			if t.name == td.Name {
				size = t.size
			}
		}
		tj, err := planTable(ctx, conn, db, td, dir, size, chunk)
		if err != nil {
			return nil, nil, fmt.Errorf("dumping %s.%s: %w", db, td.Name, err)
		}
		jobs = append(jobs, tj...)
	}
	var views []string
	for _, t := range tables {
		if t.typ == "VIEW" {
			views = append(views, t.name)
		}
	}
	if dd.Objects, err = dumpObjects(ctx, conn, db, views); err != nil {
		return nil, nil, err
	}
	return dd, jobs, nil
}

func planTable(ctx context.Context, conn *sql.Conn, db string, td *TableDump, dir string, size, chunk int64) ([]chunkJob, error) {
	var name string
	if err := conn.QueryRowContext(ctx, "SHOW CREATE TABLE "+quoteIdent(db)+"."+quoteIdent(td.Name)).Scan(&name, &td.CreateSQL); err != nil {
		return nil, fmt.Errorf("reading the table definition: %w", err)
	}
	rows, err := conn.QueryContext(ctx, "SELECT COLUMN_NAME, DATA_TYPE, EXTRA, COLUMN_KEY FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", db, td.Name)
	if err != nil {
		return nil, fmt.Errorf("reading the columns: %w", err)
	}
	var sel, pri []string
	var priType string
	for rows.Next() {
		var col, typ, extra, key string
		if err := rows.Scan(&col, &typ, &extra, &key); err != nil {
			rows.Close()
			return nil, err
		}
		if key == "PRI" {
			pri = append(pri, col)
			priType = strings.ToLower(typ)
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
	from := "SELECT " + strings.Join(sel, ", ") + " FROM " + quoteIdent(db) + "." + quoteIdent(td.Name)
	prefix := func(n int) string { return dir + "mysql/" + db + "/" + td.Name + "." + strconv.Itoa(n) + "." }
	whole := func() []chunkJob {
		return []chunkJob{{db: db, table: td, query: from, pathPrefix: prefix(0), chunk: chunk}}
	}
	intPK := len(pri) == 1 && strings.Contains(priType, "int")
	if !intPK || size < 2*chunk {
		return whole(), nil
	}
	var lo, hi sql.NullInt64
	pk := quoteIdent(pri[0])
	if err := conn.QueryRowContext(ctx, "SELECT MIN("+pk+"), MAX("+pk+") FROM "+quoteIdent(db)+"."+quoteIdent(td.Name)).Scan(&lo, &hi); err != nil {
		return nil, fmt.Errorf("reading the key range: %w", err)
	}
	n := int(size / chunk)
	if !lo.Valid || hi.Int64-lo.Int64 < int64(n) || n < 2 {
		return whole(), nil
	}
	step := (hi.Int64 - lo.Int64) / int64(n)
	var jobs []chunkJob
	for i := 0; i < n; i++ {
		var where []string
		if i > 0 {
			where = append(where, pk+" >= "+strconv.FormatInt(lo.Int64+int64(i)*step, 10))
		}
		if i < n-1 {
			where = append(where, pk+" < "+strconv.FormatInt(lo.Int64+int64(i+1)*step, 10))
		}
		jobs = append(jobs, chunkJob{db: db, table: td, query: from + " WHERE " + strings.Join(where, " AND "), pathPrefix: prefix(i), chunk: chunk})
	}
	return jobs, nil
}

// runChunks dumps the jobs, largest tables first, one per connection.
func runChunks(ctx context.Context, conns []*sql.Conn, jobs []chunkJob, dest Store, log *slog.Logger) error {
	work := make(chan int)
	g, gctx := errgroup.WithContext(ctx)
	var mu sync.Mutex
	for _, c := range conns {
		g.Go(func() error {
			for i := range work {
				jb := &jobs[i]
				parts, d, err := dumpChunk(gctx, c, jb, dest)
				if err != nil {
					return fmt.Errorf("dumping %s.%s: %w", jb.db, jb.table.Name, err)
				}
				mu.Lock()
				jb.parts, jb.digest = parts, d
				mu.Unlock()
				log.Debug("chunk dumped", "database", jb.db, "table", jb.table.Name, "parts", len(parts))
			}
			return nil
		})
	}
	g.Go(func() error {
		defer close(work)
		for i := range jobs {
			select {
			case work <- i:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return err
	}
	for i := range jobs {
		jobs[i].table.Parts = append(jobs[i].table.Parts, jobs[i].parts...)
	}
	return nil
}

// dumpChunk streams the job's rows into parts of about jb.chunk raw bytes.
func dumpChunk(ctx context.Context, conn *sql.Conn, jb *chunkJob, dest Store) ([]TablePart, rowDigest, error) {
	var d rowDigest
	rows, err := conn.QueryContext(ctx, jb.query)
	if err != nil {
		return nil, d, fmt.Errorf("reading rows: %w", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var parts []TablePart
	var pw *partWriter
	var n int64
	finish := func() error {
		p, err := pw.close()
		if err != nil {
			return err
		}
		parts = append(parts, TablePart{Part: p, Rows: n})
		pw, n = nil, 0
		return nil
	}
	var line []byte
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			pw.abort(err)
			return nil, d, fmt.Errorf("reading rows: %w", err)
		}
		if pw == nil {
			pw = newPartWriter(ctx, dest, jb.pathPrefix+strconv.Itoa(len(parts))+".tsv.zst")
		}
		line = appendTSVRow(line[:0], vals)
		d.add(line)
		if err := pw.write(line); err != nil {
			pw.abort(err)
			return nil, d, err
		}
		n++
		if jb.chunk > 0 && pw.raw.n >= jb.chunk {
			if err := finish(); err != nil {
				return nil, d, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		pw.abort(err)
		return nil, d, fmt.Errorf("reading rows: %w", err)
	}
	if pw == nil && len(parts) == 0 {
		pw = newPartWriter(ctx, dest, jb.pathPrefix+"0.tsv.zst") // an empty table still has its (empty) part
	}
	if pw != nil {
		if err := finish(); err != nil {
			return nil, d, err
		}
	}
	return parts, d, nil
}

// partWriter is one part being compressed, hashed and uploaded as it is
// written.
type partWriter struct {
	path    string
	cancel  context.CancelFunc
	pw      *io.PipeWriter
	putErr  chan error
	h       hash.Hash
	stored  *countWriter
	zw      *zstd.Encoder
	raw     *countWriter
	bw      *bufio.Writer
	initErr error
}

func newPartWriter(ctx context.Context, dest Store, path string) *partWriter {
	ctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	w := &partWriter{path: path, cancel: cancel, pw: pw, putErr: make(chan error, 1), h: sha256.New()}
	go func() {
		err := dest.Put(ctx, path, pr)
		pr.CloseWithError(err) // unblock the writer if the upload stopped early
		w.putErr <- err
	}()
	w.stored = &countWriter{w: io.MultiWriter(pw, w.h)}
	w.zw, w.initErr = getEncoder(w.stored)
	w.raw = &countWriter{w: w.zw}
	w.bw = bufio.NewWriterSize(w.raw, 256<<10)
	return w
}

func (w *partWriter) write(b []byte) error {
	if w.initErr != nil {
		return w.initErr
	}
	_, err := w.bw.Write(b)
	return err
}

func (w *partWriter) abort(err error) {
	if w == nil {
		return
	}
	w.pw.CloseWithError(err)
	<-w.putErr //nolint:errcheck // the upload fails because of err, which is reported
	w.cancel()
}

func (w *partWriter) close() (Part, error) {
	defer w.cancel()
	err := w.initErr
	if err == nil {
		err = w.bw.Flush()
	}
	if err == nil {
		if err = w.zw.Close(); err == nil {
			putEncoder(w.zw)
		}
	}
	if err != nil {
		w.pw.CloseWithError(err)
		<-w.putErr //nolint:errcheck // the upload fails because of err, which is reported
		return Part{}, err
	}
	_ = w.pw.Close() // PipeWriter.Close never fails
	if err := <-w.putErr; err != nil {
		return Part{}, err
	}
	return Part{Path: w.path, Size: w.stored.n, RawSize: w.raw.n, SHA256: hexSum(w.h)}, nil
}

// dumpObjects reads the views, triggers, routines and events of db.
func dumpObjects(ctx context.Context, conn *sql.Conn, db string, views []string) ([]SchemaObject, error) {
	var out []SchemaObject
	show := func(kind, name, stmtCol string) error {
		row, err := showCreate(ctx, conn, "SHOW CREATE "+kind+" "+quoteIdent(db)+"."+quoteIdent(name))
		if err != nil {
			return fmt.Errorf("reading %s %s.%s (the backup user needs SHOW VIEW, TRIGGER, EVENT and SELECT on mysql.proc or SHOW CREATE ROUTINE): %w", strings.ToLower(kind), db, name, err)
		}
		stmt := row[strings.ToLower(stmtCol)]
		if stmt == "" {
			return fmt.Errorf("reading %s %s.%s: the server did not show its definition (the backup user may not see it: grant SHOW CREATE ROUTINE or SELECT on mysql.proc)", strings.ToLower(kind), db, name)
		}
		out = append(out, SchemaObject{Kind: kind, Name: name, CreateSQL: stmt, SQLMode: row["sql_mode"]})
		return nil
	}
	for _, v := range views {
		if err := show(ObjectView, v, "Create View"); err != nil {
			return nil, err
		}
	}
	for _, q := range []struct{ kind, list, col string }{
		{ObjectTrigger, "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY EVENT_OBJECT_TABLE, ACTION_ORDER", "SQL Original Statement"},
		{ObjectProcedure, "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? AND ROUTINE_TYPE = 'PROCEDURE' ORDER BY 1", "Create Procedure"},
		{ObjectFunction, "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? AND ROUTINE_TYPE = 'FUNCTION' ORDER BY 1", "Create Function"},
		{ObjectEvent, "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? ORDER BY 1", "Create Event"},
	} {
		names, err := queryStrings(ctx, conn, q.list, db)
		if err != nil {
			return nil, fmt.Errorf("listing the %ss of %s: %w", strings.ToLower(q.kind), db, err)
		}
		for _, n := range names {
			if err := show(q.kind, n, q.col); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// showCreate runs a SHOW CREATE statement and returns its columns by lower-case name.
func showCreate(ctx context.Context, conn *sql.Conn, q string) (map[string]string, error) {
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	if !rows.Next() {
		return nil, errors.Join(errors.New("no result"), rows.Err())
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for i, c := range cols {
		out[strings.ToLower(c)] = vals[i].String
	}
	return out, nil
}

func queryStrings(ctx context.Context, conn Queryer, q string, args ...any) ([]string, error) {
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
	zw, err := getEncoder(stored)
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
		if err = zw.Close(); err == nil {
			putEncoder(zw)
		}
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

// HashReader hashes (SHA-256) and counts what is read through it.
type HashReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

// NewHashReader reads r, hashing and counting.
func NewHashReader(r io.Reader) *HashReader { return &HashReader{r: r, h: sha256.New()} }

func (h *HashReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	return n, err
}

// Sum is the hex SHA-256 of what was read so far.
func (h *HashReader) Sum() string { return hexSum(h.h) }

// Size is how many bytes were read so far.
func (h *HashReader) Size() int64 { return h.n }

// partEncoding is how table parts are compressed: zstd's fastest level,
// one goroutine per part (parts are written in parallel already), and no
// frame checksum: each part's SHA-256 is in the signed manifest and
// restore checks it, so zstd's own xxHash of every byte would only cost
// time (backups made with it still restore: the decoder checks it when
// present).
var partEncoding = []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false)}

// encoders keeps part encoders for the next part: a new encoder allocates
// and zeroes its history window, which was a seventh of a backup's client
// CPU (bench/RESULTS.md). Only an encoder closed without error comes back.
var encoders sync.Pool

func getEncoder(w io.Writer) (*zstd.Encoder, error) {
	if e, ok := encoders.Get().(*zstd.Encoder); ok {
		e.Reset(w)
		return e, nil
	}
	return zstd.NewWriter(w, partEncoding...)
}

func putEncoder(e *zstd.Encoder) {
	e.Reset(io.Discard) // let go of the part's writer
	encoders.Put(e)
}
