package migrate

// This file: `spinops migrate data`'s SQL part, Spinnaker's databases moved
// from the old server to the new one: whole through the backup engine, or,
// once a copy is recorded on the new server, by applying the old server's
// binary log since then (databases_incr.go).

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

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
	// Full copies the databases whole even when the new server records a
	// position an incremental copy could start from.
	Full bool
	// Staging holds the backup a full copy goes through.
	Staging backup.Store
	// ToolVersion is recorded in the staging manifest.
	ToolVersion string
	// BinlogTool and ClientTool override mariadb-binlog and mariadb.
	BinlogTool, ClientTool string
	// ProgressEvery is how often a long copy logs its progress (default
	// 10 seconds).
	ProgressEvery time.Duration
	// Progress, when set, is shown each long step instead (the snapshot
	// staged, its load into the new server, each database's binary log
	// applied) and the progress lines are not logged.
	Progress Progress

	// Verify compares an incremental copy with the old server: the copy
	// stops at the position of a consistent snapshot of the old server,
	// and every copied table on the new server must then hold the
	// snapshot's rows (count and digest); a database that differs is
	// refused now and by every later incremental copy, until a full copy.
	// Costs a read of every copied table on both servers: meant for the
	// final copy of a cutover. A full copy is verified against its
	// snapshot's manifest anyway.
	Verify bool

	// Tests only: run after an incremental copy with Verify opened its
	// snapshot of the old server, and after it applied the binary log,
	// before it reads the new tables' checksums.
	afterSnapshot, afterApply func()
	// Tests only: stop an incremental copy's stream as a crash would
	// (see positionFilter).
	crashAfterCommits int
	crashInStatement  bool
	// Tests only: stop a full copy after the swap, before its position
	// is recorded.
	crashAfterSwap bool
}

func (c DatabaseCopy) target(db string) string {
	if n, ok := c.DatabaseMap[db]; ok && n != "" {
		return n
	}
	return db
}

func (c DatabaseCopy) progressEvery() time.Duration {
	if c.ProgressEvery > 0 {
		return c.ProgressEvery
	}
	return 10 * time.Second
}

// CopyResult says what a copy did.
type CopyResult struct {
	// Incremental is true when the copy applied the old server's binary
	// log from the recorded position (From) instead of copying whole.
	Incremental bool
	// Verified is true when an incremental copy was compared with the old
	// server at To (DatabaseCopy.Verify) and matched.
	Verified bool
	// From is where an incremental copy started (the earliest recorded
	// position of its databases); To is the position now recorded (for a
	// full copy: its snapshot's; empty when the old server has no binary
	// log, and the next copy is whole again).
	From, To Position
	// Manifest is a full copy's snapshot.
	Manifest *backup.Manifest
	// Transactions and Statements (outside transactions: DDL) applied by
	// an incremental copy, with its row events.
	Transactions, Statements, RowEvents int64
	// Bytes moved: a full copy's rows as dumped (uncompressed; the
	// manifest has what was stored); an incremental copy's binary log
	// range read from the old server, once per database, and the SQL sent
	// to the new server.
	Bytes, SQLBytes int64
	Duration        time.Duration
}

// CopyDatabases copies the databases. The first copy, and every copy with
// Full, goes through the backup engine: a consistent snapshot of From
// (without FLUSH TABLES WITH READ LOCK, so it works on RDS, Aurora and
// Cloud SQL) into Staging, then a restore into To that loads every table
// beside the target, checks its row count and checksum against the
// snapshot's manifest, and swaps it in only when all match: a failed copy
// leaves To as it was. The manifest is signed with a key made for this
// copy alone and kept in memory, so nothing else written to Staging can be
// restored by it. The snapshot's binary log position is then recorded on
// To (spinops_migrate.copy_position), and the next copy applies only the
// binary log since then (copyIncremental).
func CopyDatabases(ctx context.Context, c DatabaseCopy, log *slog.Logger) (*CopyResult, error) {
	if len(c.Databases) == 0 {
		return nil, errors.New("no databases to copy: name them (e.g. clouddriver, orca, front50)")
	}
	started := time.Now()
	target, err := c.To.Open("")
	if err != nil {
		return nil, err
	}
	defer target.Close()
	unlock, err := lockCopy(ctx, target, c.To)
	if err != nil {
		return nil, err
	}
	defer unlock()
	targets := make([]string, len(c.Databases))
	for i, d := range c.Databases {
		targets[i] = c.target(d)
	}
	var res *CopyResult
	if !c.Full {
		recs, err := readRecords(ctx, target, targets)
		if err != nil {
			return nil, err
		}
		if len(recs) > 0 {
			if res, err = copyIncremental(ctx, c, target, recs, log); err != nil {
				return nil, err
			}
		} else {
			log.Info("the new server records no earlier copy of these databases: copying them whole")
		}
	}
	if res == nil {
		if res, err = copyFull(ctx, c, target, targets, log); err != nil {
			return nil, err
		}
	}
	res.Duration = time.Since(started)
	return res, nil
}

// lockCopy takes a named lock on the new server for the whole copy: two
// copies at once would apply the same events twice.
func lockCopy(ctx context.Context, target *sql.DB, s backup.MySQLServer) (func(), error) {
	conn, err := target.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("connecting to the new server %s: %w", s.Addr(), err)
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK('spinops_migrate_copy', 0)").Scan(&got); err != nil {
		conn.Close()
		return nil, fmt.Errorf("taking the copy lock on the new server %s: %w", s.Addr(), err)
	}
	if got.Int64 != 1 {
		conn.Close()
		return nil, fmt.Errorf("another `spinops migrate data` is copying into %s (it holds the lock spinops_migrate_copy): wait for it to finish", s.Addr())
	}
	return func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "DO RELEASE_LOCK('spinops_migrate_copy')")
		conn.Close()
	}, nil
}

func copyFull(ctx context.Context, c DatabaseCopy, target *sql.DB, targets []string, log *slog.Logger) (*CopyResult, error) {
	if c.Staging == nil {
		return nil, errors.New("no staging location for the copy")
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("making the copy's signing key: %w", err)
	}
	staging := &progressStore{Store: c.Staging}
	if c.Progress == nil {
		stop := logProgress(log, c.progressEvery(), "copy progress", func() []any {
			return []any{"snapshot_bytes_staged", staging.put.Load(), "bytes_loaded_into_new_server", staging.got.Load()}
		})
		defer stop()
	}
	eng := &backup.Engine{Dest: staging, Log: log, ToolVersion: c.ToolVersion, Keys: &backup.Keys{HMAC: key}}
	from := c.From
	stopRead := trackStep(c.Progress, "reading "+strings.Join(c.Databases, ", ")+" from the old server", 0, staging.put.Load)
	m, err := eng.Run(ctx, backup.RunOptions{MySQL: &from, Databases: c.Databases})
	stopRead()
	if err != nil {
		return nil, fmt.Errorf("reading the old databases: %w", err)
	}
	// The new databases are about to be replaced (with Overwrite, or when
	// they are empty; otherwise the restore refuses and leaves them, and
	// their recorded position, as they are): a recorded position must not
	// outlive them, even if this copy stops half-way.
	replacing := c.Overwrite
	if !replacing {
		var n int
		q := "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (?" + strings.Repeat(", ?", len(targets)-1) + ")"
		args := make([]any, len(targets))
		for i, t := range targets {
			args[i] = t
		}
		if err := target.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
			return nil, fmt.Errorf("checking the new databases: %w", err)
		}
		replacing = n == 0
	}
	if replacing {
		if err := clearRecords(ctx, target, targets); err != nil {
			return nil, err
		}
	}
	// The load's progress: the bytes of the table parts read back.
	var stored int64
	staging.parts = map[string]bool{}
	for _, d := range m.MySQL.Databases {
		for _, t := range d.Tables {
			for _, p := range t.Parts {
				stored += p.Size
				staging.parts[p.Path] = true
			}
		}
	}
	stopLoad := trackStep(c.Progress, "loading them into the new server", stored, func() int64 { return min(staging.gotParts.Load(), stored) })
	_, err = eng.Restore(ctx, backup.RestoreOptions{BackupID: m.ID,
		MySQL: &backup.MySQLTarget{Server: c.To, DatabaseMap: c.DatabaseMap, Overwrite: c.Overwrite}})
	stopLoad()
	if err != nil {
		return nil, fmt.Errorf("writing the new databases (the old ones were read into %s, backup %s): %w", c.Staging, m.ID, err)
	}
	if c.crashAfterSwap {
		return nil, errSimulatedCrash
	}
	res := &CopyResult{Manifest: m}
	for _, d := range m.MySQL.Databases {
		for _, t := range d.Tables {
			for _, p := range t.Parts {
				res.Bytes += p.RawSize
			}
		}
	}
	if mm := m.MySQL; mm.BinlogFile != "" {
		res.To = Position{File: mm.BinlogFile, Position: mm.BinlogPosition, GTID: mm.GTID}
		src := backup.ServerState{Instance: mm.Instance, Key: mm.ArchiveServer}
		recs, err := recordsFor(ctx, c, target, newCopyID(), src, res.To)
		if err == nil {
			err = writeRecords(ctx, target, recs)
		}
		if err != nil {
			return nil, fmt.Errorf("the databases were copied and verified, but recording the copy's position failed (the next copy will be whole): %w", err)
		}
	} else {
		log.Warn("the old server has no binary log (log_bin=OFF): the next copy will be whole again")
	}
	log.Info("databases migrated", "from", c.From.Addr(), "to", c.To.Addr(), "databases", c.Databases, "backup", m.ID, "position", res.To.String())
	return res, nil
}

// progressStore counts what goes through the staging store, for the
// progress lines of a long full copy.
type progressStore struct {
	backup.Store
	put, got atomic.Int64
	// parts are the paths whose reads count in gotParts (set before
	// the restore starts).
	parts    map[string]bool
	gotParts atomic.Int64
}

func (p *progressStore) Put(ctx context.Context, key string, r io.Reader) error {
	return p.Store.Put(ctx, key, &countReader{r: r, n: &p.put})
}

func (p *progressStore) Get(ctx context.Context, key string) (io.ReadCloser, backup.ObjectInfo, error) {
	rc, info, err := p.Store.Get(ctx, key)
	if err != nil {
		return rc, info, err
	}
	if p.parts[key] {
		return &countReadCloser{countReader: countReader{r: rc, n: &p.got, also: &p.gotParts}, c: rc}, info, nil
	}
	return &countReadCloser{countReader: countReader{r: rc, n: &p.got}, c: rc}, info, nil
}

type countReader struct {
	r io.Reader
	n *atomic.Int64
	// also counts the same bytes, when set.
	also *atomic.Int64
}

func (c *countReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	if c.also != nil {
		c.also.Add(int64(n))
	}
	return n, err
}

type countReadCloser struct {
	countReader
	c io.Closer
}

func (c *countReadCloser) Close() error { return c.c.Close() }
