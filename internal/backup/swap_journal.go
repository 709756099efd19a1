package backup

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// A restore with --overwrite swaps the staged databases in with a few
// statements per database (the target's views, triggers, routines and
// events dropped; its tables renamed into a trash database and the staged
// ones into the target, in one atomic RENAME TABLE; the backup's objects
// created). A failed step is undone at once (swapIn), but a process killed
// between two steps (OOM, a node drained, Ctrl-C twice) left a target
// without its own views and triggers, its tables in spinops_old_*, and
// nothing to say what to put back but the restore's log.
//
// So the swap keeps a journal in the target server itself, written before
// anything is changed: one database (spinops_swap_<hex>) with one row per
// target database — the staging and trash databases, whether the target
// existed, the backup's tables, and the target's own objects as CREATE
// statements (without DEFINER, as readTarget saves them) — and each
// database's state (pending → swapping → done; all committed at once when
// the restore completes). The restore holds a named lock (GET_LOCK, the
// journal's name) on a connection of its own for as long as the journal
// exists, so a journal whose lock is free belongs to a restore that is gone.
//
// A journal left behind makes the next restore into any of its databases
// refuse to start (ErrInterruptedSwap), until RollbackSQL (`spinops backup
// rollback-sql`) has put every database it names back as it was — or, when
// the journal says the restore had completed (committed), finished dropping
// the replaced tables. Recovery reads the state of the databases themselves
// (where the backup's tables are, what the trash holds), so running it
// again after it was itself interrupted finishes the job.
const swapJournalPrefix = "spinops_swap_"

// ErrInterruptedSwap is returned (wrapped) when a database a restore would
// write still has the journal of an earlier restore that did not finish.
var ErrInterruptedSwap = errors.New("an earlier restore into these databases did not finish")

// swapEntry is the journal's row for one target database.
type swapEntry struct {
	Backup  string         `json:"backup"`
	Started time.Time      `json:"started"`
	Final   string         `json:"final"`
	Stage   string         `json:"stage"`
	Trash   string         `json:"trash"`
	Existed bool           `json:"existed"`
	Tables  []string       `json:"tables"`  // the backup's tables (moved from Stage into Final)
	Objects []SchemaObject `json:"objects"` // the target's own objects, to put back
	state   string
}

const (
	swapPending   = "pending"
	swapSwapping  = "swapping"
	swapDone      = "done"
	swapCommitted = "committed"
	swapKept      = "kept" // put back by RollbackSQL; its staging database kept
)

// Names a restore gives its staging and trash databases.
var (
	stageNameRE = regexp.MustCompile(`^spinops_stage_[0-9a-f]{12}$`)
	trashNameRE = regexp.MustCompile(`^spinops_old_[0-9a-f]{12}$`)
)

// valid refuses an entry whose names a restore would not have written:
// RollbackSQL renames and drops the databases a journal names, so a
// journal planted by someone who can create a spinops_swap_* database
// must not be able to name any other.
func (e swapEntry) valid() error {
	switch {
	case !stageNameRE.MatchString(e.Stage):
		return fmt.Errorf("staging database %q", e.Stage)
	case !trashNameRE.MatchString(e.Trash):
		return fmt.Errorf("trash database %q", e.Trash)
	case e.Final == "" || len(e.Final) > 64 || reservedDatabase(e.Final):
		return fmt.Errorf("target database %q", e.Final)
	}
	switch e.state {
	case swapPending, swapSwapping, swapDone, swapCommitted, swapKept:
		return nil
	}
	return fmt.Errorf("state %q", e.state)
}

// reservedDatabase: never a restore's target, so never a journal's:
// the server's system databases and spinops' own.
func reservedDatabase(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "mysql", "information_schema", "performance_schema", "sys", "spinops_migrate":
		return true
	}
	return strings.HasPrefix(n, "spinops_stage_") || strings.HasPrefix(n, "spinops_old_") || strings.HasPrefix(n, swapJournalPrefix)
}

// swapJournal is a restore's journal and the lock that says it is alive.
// The lock belongs to one connection: a keepalive pings it (an idle
// connection is closed by the server after wait_timeout, and the lock
// with it, while a bucket restore may still take hours), and every step
// first checks that the lock is still this restore's (held).
type swapJournal struct {
	server MySQLServer
	db     string

	mu          sync.Mutex // guards lock and releaseLock
	lock        *sql.Conn
	releaseLock func()
	stopKeep    func()
}

// swapKeepalive is how often the journal's lock connection is pinged.
var swapKeepalive = 30 * time.Second

// errLockHeld: another session holds a journal's lock.
var errLockHeld = errors.New("another session holds it")

// lockWait is how long a lock held by a session that is going away is
// waited for: a server notices a client killed with SIGKILL, and frees
// its locks, only once it reads the closed socket.
const lockWait = 5

// takeLock opens a connection that holds the named lock, waiting up to
// wait seconds for it.
func takeLock(ctx context.Context, s MySQLServer, name string, wait int) (*sql.Conn, func(), error) {
	conn, release, err := s.conn(ctx, "")
	if err != nil {
		return nil, nil, err
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", name, wait).Scan(&got); err != nil {
		release()
		return nil, nil, fmt.Errorf("taking the lock %s: %w", name, err)
	}
	if got.Int64 != 1 {
		release()
		return nil, nil, fmt.Errorf("taking the lock %s: %w", name, errLockHeld)
	}
	return conn, release, nil
}

// writeSwapJournal records every database's swap before anything
// changes, in one transaction (a journal has all its rows or none), and
// takes the journal's lock.
func writeSwapJournal(ctx context.Context, s MySQLServer, backupID string, undos []*swapUndo) (*swapJournal, error) {
	j := &swapJournal{server: s, db: swapJournalPrefix + randHex(6)}
	conn, release, err := takeLock(ctx, s, j.db, 0)
	if err != nil {
		return nil, fmt.Errorf("writing the restore's journal (nothing in the targets was changed): %w", err)
	}
	j.lock, j.releaseLock = conn, release
	j.stopKeep = repeat(context.WithoutCancel(ctx), swapKeepalive, func(ctx context.Context) {
		j.mu.Lock()
		defer j.mu.Unlock()
		if j.lock != nil {
			_ = j.lock.PingContext(ctx)
		}
	})
	fail := func(err error) (*swapJournal, error) {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+quoteIdent(j.db))
		j.release()
		return nil, fmt.Errorf("writing the restore's journal %s (nothing in the targets was changed): %w", j.db, err)
	}
	for _, q := range []string{
		"CREATE DATABASE " + quoteIdent(j.db),
		"CREATE TABLE " + quoteIdent(j.db) + ".journal (ord INT PRIMARY KEY, final VARCHAR(64) NOT NULL, state VARCHAR(16) NOT NULL, entry LONGTEXT NOT NULL) ENGINE=InnoDB",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fail(err)
		}
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	now := time.Now().UTC()
	for i, u := range undos {
		e := swapEntry{Backup: backupID, Started: now, Final: u.final, Stage: u.stage, Trash: u.trashName,
			Existed: u.exists, Tables: u.dumpTables(), Objects: u.objects}
		b, err := json.Marshal(e)
		if err != nil {
			_ = tx.Rollback()
			return fail(err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+quoteIdent(j.db)+".journal VALUES (?, ?, ?, ?)", i, u.final, swapPending, string(b)); err != nil {
			_ = tx.Rollback()
			return fail(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return j, nil
}

// held makes sure the journal's lock is still this restore's (j.mu
// held), on the connection that took it. A lost connection loses the
// lock with it, and the restore must not take it again: between the two,
// another session (a rollback-sql) may have taken the journal over and
// put the targets back; from then on only RollbackSQL touches them.
func (j *swapJournal) held(ctx context.Context) error {
	if j.lock != nil {
		var mine sql.NullInt64
		err := j.lock.QueryRowContext(ctx, "SELECT IS_USED_LOCK(?) = CONNECTION_ID()", j.db).Scan(&mine)
		if err == nil && mine.Int64 == 1 {
			return nil
		}
		j.releaseLock()
		j.lock, j.releaseLock = nil, nil
		if err != nil {
			return fmt.Errorf("the restore lost the lock of its journal %s (its connection failed: %w)", j.db, err)
		}
	}
	return fmt.Errorf("the restore lost the lock of its journal %s (its connection was closed)", j.db)
}

// check makes sure the restore still holds its journal's lock.
func (j *swapJournal) check(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.held(ctx)
}

// mark records the state of database ord (-1: every database).
func (j *swapJournal) mark(ctx context.Context, ord int, state string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.held(ctx); err != nil {
		return err
	}
	q, args := "UPDATE "+quoteIdent(j.db)+".journal SET state = ?", []any{state}
	if ord >= 0 {
		q, args = q+" WHERE ord = ?", append(args, ord)
	}
	if _, err := j.lock.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("recording %s in the restore's journal %s: %w", state, j.db, err)
	}
	return nil
}

// discard drops the journal (the targets are as it says they will stay)
// and releases its lock; not when another session holds the lock.
func (j *swapJournal) discard(ctx context.Context, log *slog.Logger) {
	ctx = context.WithoutCancel(ctx)
	j.mu.Lock()
	err := j.held(ctx)
	if err == nil {
		_, err = j.lock.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(j.db))
	}
	j.mu.Unlock()
	if err != nil {
		log.Warn("dropping the restore's journal failed; run `spinops backup rollback-sql` once no restore runs (it finds nothing to put back and drops it)", "database", j.db, "error", err)
	}
	j.release()
}

// release stops the keepalive and frees the lock: the journal, if it is
// still there, can then be taken over by RollbackSQL.
func (j *swapJournal) release() {
	if j.stopKeep != nil {
		j.stopKeep()
		j.stopKeep = nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.releaseLock != nil {
		j.releaseLock()
		j.lock, j.releaseLock = nil, nil
	}
}

// rollbackHint is what to tell the user when a journal stays.
func (j *swapJournal) rollbackHint() string {
	return fmt.Sprintf("the restore's journal %s on %s says what to put back: run %s", j.db, j.server.addr(), rollbackSQLCommand(j.server, ""))
}

// rollbackSQLCommand is the rollback-sql command line for server s, with
// flags ("" for none).
func rollbackSQLCommand(s MySQLServer, flags string) string {
	if flags != "" {
		flags += " "
	}
	return fmt.Sprintf("`spinops backup rollback-sql %s--target-host %s --target-port %d`", flags, s.Host, portOr(s.Port))
}

// journals lists the swap journals on the server.
func journals(ctx context.Context, q Queryer) ([]string, error) {
	names, err := queryStrings(ctx, q, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ?", strings.ReplaceAll(swapJournalPrefix, "_", `\_`)+"%")
	if err != nil {
		return nil, fmt.Errorf("looking for the journals of interrupted restores: %w", err)
	}
	slices.Sort(names)
	return names, nil
}

// readJournalEntries reads a journal's rows in swap order; a journal
// without its table (a restore killed while writing it, before anything
// changed) has none.
func readJournalEntries(ctx context.Context, q Queryer, db string) ([]swapEntry, error) {
	tables, err := queryStrings(ctx, q, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'journal'", db)
	if err != nil {
		return nil, fmt.Errorf("reading the restore's journal %s: %w", db, err)
	}
	if len(tables) == 0 {
		return nil, nil
	}
	rows, err := q.QueryContext(ctx, "SELECT state, entry FROM "+quoteIdent(db)+".journal ORDER BY ord")
	if err != nil {
		return nil, fmt.Errorf("reading the restore's journal %s: %w", db, err)
	}
	defer rows.Close()
	var out []swapEntry
	for rows.Next() {
		var state, raw string
		if err := rows.Scan(&state, &raw); err != nil {
			return nil, fmt.Errorf("reading the restore's journal %s: %w", db, err)
		}
		var e swapEntry
		if err := json.Unmarshal([]byte(raw), &e); err != nil {
			return nil, fmt.Errorf("the restore's journal %s is damaged: %w", db, err)
		}
		e.state = state
		out = append(out, e)
	}
	return out, rows.Err()
}

// checkNoInterruptedSwap refuses a restore into a database an earlier
// restore's journal names: it may hold that restore's half-swapped state.
func checkNoInterruptedSwap(ctx context.Context, q Queryer, s MySQLServer, targets []string) error {
	names, err := journals(ctx, q)
	if err != nil {
		return err
	}
	for _, jdb := range names {
		entries, err := readJournalEntries(ctx, q, jdb)
		if err != nil {
			return err
		}
		for _, e := range entries {
			// (Compared without case: on a server with
			// lower_case_table_names, Spin and spin are one database.)
			if !slices.ContainsFunc(targets, func(t string) bool { return strings.EqualFold(t, e.Final) }) {
				continue
			}
			var free int
			if err := q.QueryRowContext(ctx, "SELECT IS_FREE_LOCK(?)", jdb).Scan(&free); err != nil {
				return fmt.Errorf("checking whether the restore of journal %s still runs: %w", jdb, err)
			}
			if free != 1 {
				return fmt.Errorf("%w: a restore of backup %s into database %s on %s is running now (journal %s; a session holds its lock); wait for it, or, if its process is gone, run %s once the server has closed its session",
					ErrInterruptedSwap, e.Backup, e.Final, s.addr(), jdb, rollbackSQLCommand(s, ""))
			}
			return fmt.Errorf("%w: the restore of backup %s into database %s on %s, started %s, stopped mid-swap (journal %s). "+
				"Run %s to put its databases back as they were (or finish it, if it had completed), then restore again",
				ErrInterruptedSwap, e.Backup, e.Final, s.addr(), e.Started.Format(time.RFC3339), jdb, rollbackSQLCommand(s, ""))
		}
	}
	return nil
}

// SwapRecovery is what RollbackSQL did with one journal.
type SwapRecovery struct {
	Journal   string
	Backup    string
	Databases []string
	// Completed: the restore had completed (its journal committed);
	// recovery only dropped what it replaced. Otherwise every database was
	// put back as it was before the restore.
	Completed bool
	// Kept are staging databases kept after putting the databases back:
	// they hold the tables the restore had swapped in, with what was
	// written to them while they were in use.
	Kept []string
}

// swapFaultRecovery, set by tests, stops RollbackSQL after it has put back
// the database named (as a process killed there would).
var swapFaultRecovery func(db string) error

// RollbackSQL finds the journals of restores that stopped mid-swap on the
// server and, for each, puts every database it names back as it was
// before that restore (the restore had not completed) or drops what the
// restore replaced (it had). A journal whose restore still runs is left
// alone, with an error. Without journals it changes nothing.
//
// With complete, a journal whose every database was swapped in (a restore
// that could not record its completion) is finished as a completed one:
// the restore is kept and what it replaced dropped; a journal of a swap
// that did not reach every database is refused.
func (e *Engine) RollbackSQL(ctx context.Context, s MySQLServer, complete bool) ([]SwapRecovery, error) {
	admin, err := s.open("")
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	if err := admin.PingContext(ctx); err != nil {
		return nil, connectError(s, err)
	}
	names, err := journals(ctx, admin)
	if err != nil {
		return nil, err
	}
	var done []SwapRecovery
	for _, jdb := range names {
		r, err := recoverJournal(ctx, s, jdb, complete, e.log())
		if err != nil {
			return done, fmt.Errorf("recovering the restore of journal %s: %w", jdb, err)
		}
		done = append(done, r)
	}
	return done, nil
}

// recoverJournal takes a journal's lock (refusing when its restore still
// runs) and puts its databases back, or finishes its commit.
func recoverJournal(ctx context.Context, s MySQLServer, jdb string, complete bool, log *slog.Logger) (SwapRecovery, error) {
	r := SwapRecovery{Journal: jdb}
	conn, release, err := takeLock(ctx, s, jdb, lockWait)
	if errors.Is(err, errLockHeld) {
		return r, fmt.Errorf("the restore that wrote it is still running (it holds the lock %s); let it finish or stop it first", jdb)
	}
	if err != nil {
		return r, err
	}
	defer release()
	entries, err := readJournalEntries(ctx, conn, jdb)
	if err != nil {
		return r, err
	}
	allDone := len(entries) > 0
	for _, e := range entries {
		if err := e.valid(); err != nil {
			return r, fmt.Errorf("the journal is not one a restore writes (%w): left alone; drop the database %s yourself if no restore of yours stopped", err, jdb)
		}
	}
	for _, e := range entries {
		r.Backup = e.Backup
		r.Databases = append(r.Databases, e.Final)
		r.Completed = r.Completed || e.state == swapCommitted
		allDone = allDone && (e.state == swapDone || e.state == swapCommitted)
	}
	if complete && !r.Completed {
		if !allDone {
			return r, fmt.Errorf("--complete: the restore of backup %s did not swap every database in (%s), so it cannot be kept; run rollback-sql without --complete to put them back",
				r.Backup, strings.Join(r.Databases, ", "))
		}
		r.Completed = true
	}
	if r.Completed {
		// Every database holds the backup: what is left is what it replaced.
		for _, e := range entries {
			for _, db := range []string{e.Trash, e.Stage} {
				if _, err := conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(db)); err != nil {
					return r, fmt.Errorf("dropping %s, left by the completed restore of %s: %w", db, e.Final, err)
				}
			}
		}
	} else {
		for i := len(entries) - 1; i >= 0; i-- {
			e := entries[i]
			if e.state == swapPending || e.state == swapKept {
				continue // the swap never reached it, or it is back
			}
			if err := putBack(ctx, s, conn, e); err != nil {
				return r, fmt.Errorf("putting %s back as it was before the restore of backup %s: %w", e.Final, e.Backup, err)
			}
			// A database whose swap had completed may have been in use
			// with the backup's tables for long (during the bucket's
			// restore, or after it): its staging database, which holds
			// them again, is kept with what was written to them.
			next := swapPending
			if e.state == swapDone {
				next = swapKept
			}
			if _, err := conn.ExecContext(ctx, "UPDATE "+quoteIdent(jdb)+".journal SET state = ? WHERE ord = ?", next, i); err != nil {
				return r, fmt.Errorf("recording that %s was put back: %w", e.Final, err)
			}
			entries[i].state = next
			log.Info("put back as it was before the interrupted restore", "database", e.Final, "backup", e.Backup, "journal", jdb)
			if swapFaultRecovery != nil {
				if err := swapFaultRecovery(e.Final); err != nil {
					return r, err
				}
			}
		}
		for _, e := range entries {
			if e.state == swapKept {
				r.Kept = append(r.Kept, e.Stage)
				log.Warn("kept: the restored tables of the interrupted restore, with whatever was written to them while they were in use; drop the database when it is not needed", "database", e.Stage, "target", e.Final)
				continue
			}
			if _, err := conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(e.Stage)); err != nil {
				return r, fmt.Errorf("dropping the staging database %s: %w", e.Stage, err)
			}
		}
	}
	if _, err := conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(jdb)); err != nil {
		return r, fmt.Errorf("dropping the journal: %w", err)
	}
	return r, nil
}

// putBack undoes one database's swap from what the server holds now, so
// that it works from any point the swap was stopped at, and again after
// it was itself stopped: every view, trigger, routine and event of the
// target is dropped (its own that were not dropped yet, or the backup's
// created already); if the backup's tables are in the target (the RENAME
// ran), they go back to the staging database and the trash's tables back
// to the target, in one RENAME TABLE; the emptied trash is dropped; the
// target's own objects are created from the journal (each checked to be
// the CREATE of what it names, in that database, as the restore's own
// statements are); a database the restore created is dropped.
func putBack(ctx context.Context, s MySQLServer, conn *sql.Conn, e swapEntry) error {
	has := func(db string) (bool, error) {
		n, err := queryStrings(ctx, conn, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", db)
		return len(n) > 0, err
	}
	tablesOf := func(db string) ([]string, error) {
		return queryStrings(ctx, conn, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'", db)
	}
	objs := make([]SchemaObject, 0, len(e.Objects))
	for _, o := range e.Objects {
		stmt, err := checkCreate(o.Kind, o.Name, o.CreateSQL, e.Final)
		if err != nil {
			return fmt.Errorf("the journal's %s %s cannot be put back: %w", strings.ToLower(o.Kind), o.Name, err)
		}
		o.CreateSQL = stmt
		objs = append(objs, o)
	}
	finalExists, err := has(e.Final)
	if err != nil {
		return err
	}
	if finalExists {
		if err := dropObjects(ctx, conn, e.Final, nil); err != nil {
			return err
		}
		inFinal, err := tablesOf(e.Final)
		if err != nil {
			return err
		}
		trashExists, err := has(e.Trash)
		if err != nil {
			return err
		}
		var trashed []string
		if trashExists {
			if trashed, err = tablesOf(e.Trash); err != nil {
				return err
			}
		}
		stageExists, err := has(e.Stage)
		if err != nil {
			return err
		}
		var inStage []string
		if stageExists {
			if inStage, err = tablesOf(e.Stage); err != nil {
				return err
			}
		}
		// One RENAME TABLE moved the target's tables into the trash and
		// the backup's out of the staging database at once: tables in
		// the trash say it ran. A target without tables of its own has
		// no trash; then it ran when the staging database is there with
		// none of the backup's tables left, and the target has them all.
		// (A staging database that is gone says nothing: the restore
		// drops it only after putting the target back.)
		moved := len(trashed) > 0
		if !moved && stageExists && len(e.Tables) > 0 {
			moved = true
			for _, tb := range e.Tables {
				if slices.Contains(inStage, tb) || !slices.Contains(inFinal, tb) {
					moved = false
				}
			}
		}
		var renames []string
		if moved {
			var back []string
			for _, tb := range e.Tables {
				if slices.Contains(inFinal, tb) {
					back = append(back, tb)
				}
			}
			if _, err := conn.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(e.Stage)); err != nil {
				return fmt.Errorf("creating %s again to move the backup's tables back into: %w", e.Stage, err)
			}
			renames = tableRenames(renames, e.Final, e.Stage, back)
			renames = tableRenames(renames, e.Trash, e.Final, trashed)
		}
		if len(renames) > 0 {
			if _, err := conn.ExecContext(ctx, "RENAME TABLE "+strings.Join(renames, ", ")); err != nil {
				return fmt.Errorf("moving the replaced tables back: %w", err)
			}
		}
		if trashExists {
			if _, err := conn.ExecContext(ctx, "DROP DATABASE "+quoteIdent(e.Trash)); err != nil {
				return fmt.Errorf("dropping %s, now empty: %w", e.Trash, err)
			}
		}
	}
	if !e.Existed {
		if !finalExists {
			return nil
		}
		left, err := tablesOf(e.Final)
		if err != nil {
			return err
		}
		if len(left) > 0 {
			return fmt.Errorf("%s, which the restore created, has tables that are not the backup's (%s): left as it is", e.Final, strings.Join(left, ", "))
		}
		if _, err := conn.ExecContext(ctx, "DROP DATABASE "+quoteIdent(e.Final)); err != nil {
			return fmt.Errorf("dropping %s, which the restore created: %w", e.Final, err)
		}
		return nil
	}
	if !finalExists {
		return fmt.Errorf("the database is gone: nothing to put its objects back into")
	}
	return createSchemaObjects(ctx, s, e.Final, objs, nil)
}
