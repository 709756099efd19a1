package backup

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/sync/errgroup"
)

// MySQLTarget is where a restore writes the databases.
type MySQLTarget struct {
	Server MySQLServer
	// DatabaseMap renames databases (source name → target name); databases
	// not in it keep their name.
	DatabaseMap map[string]string
	// Overwrite allows restoring into a database that has tables: the
	// restore is loaded and verified beside it, then swapped in.
	Overwrite bool
	// ConfirmSource is needed, with Overwrite, to restore into the very
	// databases the backup was taken from on the same server.
	ConfirmSource bool
	// Parallel is how many parts load at once (default 4).
	Parallel int
}

func (t MySQLTarget) target(db string) string {
	if n, ok := t.DatabaseMap[db]; ok && n != "" {
		return n
	}
	return db
}

// ErrLiveSource is returned (wrapped) when a restore would replace the
// databases the backup was taken from without both confirmations.
var ErrLiveSource = errors.New("the restore target is the live source")

// preflightMySQLRestore checks credentials, that no earlier restore into
// a target stopped mid-swap (its journal is still on the server), that
// every target database is empty (or Overwrite is set), and that the live
// source is replaced only with Overwrite and ConfirmSource, before
// anything is changed.
func preflightMySQLRestore(ctx context.Context, t MySQLTarget, mm *MySQLManifest) error {
	pool, err := t.Server.open("")
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := pool.PingContext(ctx); err != nil {
		return connectError(t.Server, err)
	}
	// The address can differ for the same server (an alias, a proxy), and
	// be the same for another one: compare identities. server_id (and the
	// GTID domain) is not unique across unrelated MariaDB servers, so the
	// instance decides where both sides know it.
	sameServer := t.Server.addr() == mm.Server
	if si, err := readServerInfo(ctx, pool); err == nil && mm.ArchiveServer != "" {
		sameServer = si.Key() == mm.ArchiveServer
		if sameServer && mm.Instance != "" && si.Instance != "" {
			sameServer = si.Instance == mm.Instance
		}
	}
	var targets []string
	for _, d := range mm.Databases {
		name := t.target(d.Name)
		if reservedDatabase(name) {
			return fmt.Errorf("database %s cannot be a restore's target: spinops_stage_*, spinops_old_*, spinops_swap_* and spinops_migrate are spinops' own (staging, trash, journals, migration records), and the server's system databases are not restored into; choose another with --database-map %s=NAME", name, d.Name)
		}
		targets = append(targets, name)
	}
	if err := checkNoInterruptedSwap(ctx, pool, t.Server, targets); err != nil {
		return err
	}
	for _, d := range mm.Databases {
		name := t.target(d.Name)
		n, err := countObjects(ctx, pool, name)
		if err != nil {
			return err
		}
		if sameServer && name == d.Name && (!t.Overwrite || !t.ConfirmSource) {
			return fmt.Errorf("%w: database %s on %s is the database the backup was taken from; restore beside it (--database-map %s=%s_restored), or pass both --overwrite and --confirm-overwrite-source to replace it",
				ErrLiveSource, name, t.Server.addr(), d.Name, d.Name)
		}
		if n > 0 && !t.Overwrite {
			return fmt.Errorf("database %s on %s is not empty (%d objects): restore into an empty database, or pass --overwrite to replace it once the restore has been verified", name, t.Server.addr(), n)
		}
	}
	return nil
}

func countObjects(ctx context.Context, q Queryer, db string) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?)
		+ (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?)
		+ (SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?)`, db, db, db).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("checking whether database %s is empty: %w", db, err)
	}
	return n, nil
}

// staged is a database loaded into a staging database, ready to swap.
type staged struct {
	dump         DatabaseDump
	stage, final string
}

// stageMySQL loads every database of mm into a new staging database on
// the target server, checking each part's SHA-256, row count and LOAD
// DATA warnings. The targets are not touched. On error the staging
// databases are dropped.
func stageMySQL(ctx context.Context, src Store, mm *MySQLManifest, t MySQLTarget, log *slog.Logger) ([]staged, error) {
	admin, err := t.Server.open("")
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	var out []staged
	fail := func(err error) ([]staged, error) {
		dropStages(context.WithoutCancel(ctx), admin, out, log)
		return nil, err
	}
	for _, d := range mm.Databases {
		st := staged{dump: d, stage: "spinops_stage_" + randHex(6), final: t.target(d.Name)}
		create := "CREATE DATABASE " + quoteIdent(st.stage)
		if cs := charsetClause(d.CreateSQL); cs != "" {
			create += " " + cs
		}
		if _, err := admin.ExecContext(ctx, create); err != nil {
			return fail(fmt.Errorf("creating the staging database for %s: %w", st.final, err))
		}
		out = append(out, st)
		if err := loadDatabase(ctx, src, d, st.stage, t, log); err != nil {
			return fail(fmt.Errorf("restoring %s (nothing in %s was changed): %w", st.final, st.final, err))
		}
	}
	return out, nil
}

func dropStages(ctx context.Context, admin *sql.DB, stages []staged, log *slog.Logger) {
	for _, st := range stages {
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(st.stage)); err != nil {
			log.Warn("dropping a staging database failed; drop it yourself", "database", st.stage, "error", err)
		}
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// loadDatabase creates the tables (secondary indexes deferred), loads
// every part, then adds the deferred indexes.
func loadDatabase(ctx context.Context, src Store, d DatabaseDump, stage string, t MySQLTarget, log *slog.Logger) error {
	par := t.Parallel
	if par <= 0 {
		par = 4
	}
	pool, err := t.Server.open(stage)
	if err != nil {
		return err
	}
	defer pool.Close()
	pool.SetMaxOpenConns(par)
	deferred := map[string]string{}
	conn, err := pool.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET SESSION FOREIGN_KEY_CHECKS = 0"); err != nil {
		return err
	}
	for _, td := range d.Tables {
		stmt, err := checkCreate("TABLE", td.Name, td.CreateSQL)
		if err != nil {
			return err
		}
		create, indexes := deferIndexes(stmt)
		if _, err := conn.ExecContext(ctx, create); err != nil {
			return fmt.Errorf("creating table %s: %w", td.Name, err)
		}
		if indexes != "" {
			deferred[td.Name] = indexes
		}
	}
	conn.Close()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(par)
	for _, td := range d.Tables {
		for _, p := range td.parts() {
			g.Go(func() error {
				if err := loadPart(gctx, pool, src, td, p); err != nil {
					return fmt.Errorf("table %s, part %s: %w", td.Name, p.Path, err)
				}
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return err
	}
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(par)
	for name, idx := range deferred {
		g.Go(func() error {
			if _, err := pool.ExecContext(gctx, "ALTER TABLE "+quoteIdent(name)+" "+idx); err != nil {
				return fmt.Errorf("table %s: adding the secondary indexes after the load: %w", name, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	log.Info("database loaded", "database", d.Name, "staging", stage, "tables", len(d.Tables))
	return nil
}

// deferIndexes splits SHOW CREATE TABLE's secondary KEY lines off, to be
// added with one ALTER TABLE after the load (faster than maintaining them
// row by row). Tables with foreign keys keep their indexes (a foreign key
// needs one).
func deferIndexes(stmt string) (create, alter string) {
	if strings.Contains(stmt, "FOREIGN KEY") {
		return stmt, ""
	}
	lines := strings.Split(stmt, "\n")
	var keep, adds []string
	for _, l := range lines {
		tl := strings.TrimSpace(l)
		isKey := false
		for _, p := range []string{"KEY ", "UNIQUE KEY ", "FULLTEXT KEY ", "SPATIAL KEY ", "INDEX "} {
			if strings.HasPrefix(tl, p) {
				isKey = true
			}
		}
		if isKey && strings.HasPrefix(l, "  ") {
			adds = append(adds, "ADD "+strings.TrimSuffix(tl, ","))
			continue
		}
		keep = append(keep, l)
	}
	if len(adds) == 0 {
		return stmt, ""
	}
	// The line before ") ENGINE=..." must not end with a comma any more.
	for i := len(keep) - 1; i > 0; i-- {
		if strings.HasPrefix(strings.TrimSpace(keep[i]), ")") {
			keep[i-1] = strings.TrimSuffix(keep[i-1], ",")
			break
		}
	}
	return strings.Join(keep, "\n"), strings.Join(adds, ", ")
}

// loadPart streams one part in with LOAD DATA LOCAL INFILE in its own
// transaction, rolled back when the part's SHA-256 or row count do not
// match the manifest or the server reported any warning (LOAD DATA LOCAL
// turns conversion errors into warnings and goes on).
func loadPart(ctx context.Context, pool *sql.DB, src Store, td TableDump, p TablePart) error {
	conn, err := pool.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, s := range []string{
		"SET SESSION FOREIGN_KEY_CHECKS = 0",
		"SET SESSION UNIQUE_CHECKS = 0",
		"SET SESSION SQL_MODE = CONCAT(@@SESSION.SQL_MODE, ',NO_AUTO_VALUE_ON_ZERO')",
	} {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("preparing the session (%s): %w", s, err)
		}
	}
	rc, _, err := src.Get(ctx, p.Path)
	if err != nil {
		return err
	}
	defer rc.Close()
	stored := NewHashReader(rc)
	zr, err := zstd.NewReader(stored, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return err
	}
	defer zr.Close()
	handler := "spinops-" + randHex(8)
	mysql.RegisterReaderHandler(handler, func() io.Reader { return zr })
	defer mysql.DeregisterReaderHandler(handler)

	if _, err := conn.ExecContext(ctx, "START TRANSACTION"); err != nil {
		return err
	}
	rollback := func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK") }
	res, err := conn.ExecContext(ctx, loadDataSQL(td, handler))
	if err != nil {
		rollback()
		return fmt.Errorf("loading rows (LOAD DATA LOCAL INFILE; the server needs local_infile=ON): %w", err)
	}
	warnings, werr := loadWarnings(ctx, conn)
	// Drain what the server did not read (nothing, normally) so the hash covers the whole part.
	if _, err := io.Copy(io.Discard, stored); err != nil {
		rollback()
		return err
	}
	n, _ := res.RowsAffected()
	switch {
	case werr != nil:
		rollback()
		return fmt.Errorf("reading the warnings of LOAD DATA: %w", werr)
	case stored.Sum() != p.SHA256:
		rollback()
		return fmt.Errorf("checksum mismatch for %s: stored part has SHA-256 %s, the manifest says %s (the backup is damaged)", p.Path, stored.Sum(), p.SHA256)
	case len(warnings) > 0:
		rollback()
		return fmt.Errorf("LOAD DATA of %s reported %d warning(s), so rows would not be restored as backed up: %s", p.Path, len(warnings), strings.Join(warnings, "; "))
	case n != p.Rows:
		rollback()
		return fmt.Errorf("row count mismatch in %s: loaded %d rows, the manifest says %d", p.Path, n, p.Rows)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}

// loadWarnings returns up to 5 warnings of the last statement (and a
// count line when there are more).
func loadWarnings(ctx context.Context, conn *sql.Conn) ([]string, error) {
	var count int
	if err := conn.QueryRowContext(ctx, "SELECT @@warning_count").Scan(&count); err != nil {
		return nil, err
	}
	if count == 0 {
		return nil, nil
	}
	rows, err := conn.QueryContext(ctx, "SHOW WARNINGS LIMIT 5")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var level, msg string
		var code int
		if err := rows.Scan(&level, &code, &msg); err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("%s %d: %s", level, code, msg))
	}
	if count > len(out) {
		out = append(out, fmt.Sprintf("(%d in all)", count))
	}
	if len(out) == 0 {
		out = []string{fmt.Sprintf("%d warnings", count)}
	}
	return out, rows.Err()
}

func loadDataSQL(td TableDump, handler string) string {
	cols := make([]string, len(td.Columns))
	var sets []string
	for i, c := range td.Columns {
		if c.Bit {
			v := fmt.Sprintf("@spinops_bit_%d", i)
			cols[i] = v
			sets = append(sets, quoteIdent(c.Name)+" = CAST("+v+" AS UNSIGNED)")
		} else {
			cols[i] = quoteIdent(c.Name)
		}
	}
	q := "LOAD DATA LOCAL INFILE 'Reader::" + handler + "' INTO TABLE " + quoteIdent(td.Name) +
		` CHARACTER SET binary FIELDS TERMINATED BY '\t' ESCAPED BY '\\' LINES TERMINATED BY '\n' (` +
		strings.Join(cols, ", ") + ")"
	if len(sets) > 0 {
		q += " SET " + strings.Join(sets, ", ")
	}
	return q
}

// swapIn makes each staged database the final one, all of them or none.
// It runs only after every part was loaded and verified.
//
// First the backup's views, triggers and routines are created beside the
// staged tables and dropped again: a definition the target server refuses
// (a privilege the restore lacks, a syntax of another version, a missing
// table) fails here, before any target is touched; and every target's own
// objects are read (and logged), to be put back. Then, for each database:
// its objects dropped, its tables moved to a trash database and the staged
// tables moved in, in one atomic RENAME TABLE, and the backup's objects
// created. If any step of any database fails, every database
// swapped so far is put back as it was (its tables renamed back, its
// objects re-created from their definitions) before the error is
// returned. The replaced tables stay in the trash databases until the
// caller commits (or rolls every database back, when what is restored
// with them, the bucket, fails).
//
// Before the first change, a journal of the whole swap is written on the
// server (swap_journal.go): a process killed mid-swap leaves it, and
// RollbackSQL puts the targets back from it.
func swapIn(ctx context.Context, t MySQLTarget, backupID string, stages []staged, log *slog.Logger) (*swapped, error) {
	for _, st := range stages {
		if err := rehearseObjects(ctx, t.Server, st); err != nil {
			return nil, fmt.Errorf("%w (nothing in the targets was changed)", err)
		}
	}
	// Before anything changes: every target's own objects, read to be put
	// back if the restore fails (a privilege that hides one fails here).
	sw := &swapped{server: t.Server, log: log}
	for _, st := range stages {
		u := &swapUndo{staged: st}
		if err := u.readTarget(ctx, t.Server, log); err != nil {
			return nil, fmt.Errorf("%w (nothing in the targets was changed)", err)
		}
		u.trashName = "spinops_old_" + randHex(6)
		sw.undos = append(sw.undos, u)
	}
	j, err := writeSwapJournal(ctx, t.Server, backupID, sw.undos)
	if err != nil {
		return nil, err
	}
	sw.journal = j
	for i, u := range sw.undos {
		err := j.mark(ctx, i, swapSwapping)
		if err == nil {
			err = u.swap(ctx, t.Server, log)
		}
		if err == nil {
			err = j.mark(ctx, i, swapDone)
		}
		if err != nil {
			err = fmt.Errorf("swapping the restored tables into %s: %w", u.final, err)
			undo := &swapped{server: t.Server, undos: sw.undos[:i+1], log: log, journal: j}
			if rerr := undo.rollBack(ctx); rerr != nil {
				return nil, fmt.Errorf("%w; %w", err, rerr)
			}
			return nil, fmt.Errorf("%w (every target was put back as it was)", err)
		}
	}
	return sw, nil
}

// errJournalKept marks (with an empty message) an error after which the
// swap's journal stays for RollbackSQL: the staging databases it names
// must stay too (a swapped database's tables go back into its staging
// database).
var errJournalKept = errors.New("")

// swapped is a swap of every database done, not yet committed.
type swapped struct {
	server  MySQLServer
	undos   []*swapUndo
	log     *slog.Logger
	journal *swapJournal
}

// rollBack puts every database back as it was before its swap (unless
// the restore lost its journal's lock: another session may be putting
// them back) and drops the journal. When any of it fails the journal
// stays, with the staging databases it names (the error wraps
// errJournalKept), for RollbackSQL to finish the job.
func (sw *swapped) rollBack(ctx context.Context) error {
	if err := sw.journal.check(context.WithoutCancel(ctx)); err != nil {
		sw.journal.release()
		return fmt.Errorf("the databases are not put back here: %w; %s%w", err, sw.journal.rollbackHint(), errJournalKept)
	}
	if err := rollBack(context.WithoutCancel(ctx), sw.server, sw.undos); err != nil {
		sw.journal.release()
		return fmt.Errorf("putting the databases back failed: %w; %s%w", err, sw.journal.rollbackHint(), errJournalKept)
	}
	if err := sw.journal.mark(context.WithoutCancel(ctx), -1, swapPending); err != nil {
		sw.journal.release()
		return fmt.Errorf("the databases were put back, but the journal %s could not record it: %w; %s, which finds them back and removes the journal%w", sw.journal.db, err, rollbackSQLCommand(sw.server, ""), errJournalKept)
	}
	sw.journal.discard(ctx, sw.log)
	return nil
}

// commit drops the replaced tables and the staging databases (whatever
// happens to ctx now: the restore is complete). The journal says so
// first, so that RollbackSQL finishes a commit stopped half-way instead of
// undoing a restore that completed. Only recording that can fail it: the
// journal then still says the restore is under way, and the error says
// how to keep the restore (rollback-sql --complete) or undo it.
func (sw *swapped) commit(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	log := sw.log
	var err error
	if swapFault != nil {
		err = swapFault("record", "")
	}
	if err == nil {
		err = sw.journal.mark(ctx, -1, swapCommitted)
	}
	if err != nil {
		sw.journal.release()
		return fmt.Errorf("every database was restored and swapped in, but recording that in the journal %s failed: %w. "+
			"Run %s to keep the restore and drop what it replaced, or rollback-sql without --complete to put the databases back as they were before it",
			sw.journal.db, err, rollbackSQLCommand(sw.server, "--complete"))
	}
	admin, err := sw.server.open("")
	if err != nil {
		sw.journal.release()
		log.Warn("dropping the replaced tables failed; run `spinops backup rollback-sql` to drop them (it keeps the restored data)", "error", err)
		return nil
	}
	defer admin.Close()
	for _, u := range sw.undos {
		if u.trash != "" {
			if _, err := admin.ExecContext(ctx, "DROP DATABASE "+quoteIdent(u.trash)); err != nil {
				log.Warn("dropping the replaced tables failed; drop the database yourself", "database", u.trash, "error", err)
			}
		}
		if err := u.fault("commit"); err != nil {
			sw.journal.release()
			log.Warn("the restore is complete, but dropping what it replaced stopped: run `spinops backup rollback-sql` to finish (it keeps the restored data)", "error", err)
			return nil
		}
		if _, err := admin.ExecContext(ctx, "DROP DATABASE "+quoteIdent(u.stage)); err != nil {
			log.Warn("dropping the staging database failed; drop it yourself", "database", u.stage, "error", err)
		}
		log.Info("database restored", "database", u.final, "tables", len(u.dump.Tables), "objects", len(u.dump.Objects))
	}
	sw.journal.discard(ctx, log)
	return nil
}

// swapFault, set by tests, fails a step of the swap as a lost connection
// or a refused statement would.
var swapFault func(step, db string) error

// swapUndo is one database's swap and what undoes it.
type swapUndo struct {
	staged
	exists    bool            // the final database existed before the restore
	trashName string          // where its tables go (named before anything changes, for the journal)
	created   bool            // the restore created it
	objects   []SchemaObject  // the final database's own objects, without DEFINER
	dropped   map[string]bool // those dropped so far (objectKey)
	made      []SchemaObject  // the backup's objects created so far
	trash     string          // where its tables went
	old       []string        // its tables
	swapped   bool            // the RENAME TABLE ran
}

func (u *swapUndo) fault(step string) error {
	if swapFault != nil {
		return swapFault(step, u.final)
	}
	return nil
}

// readTarget reads whether the final database exists and its own views,
// triggers, routines and events, as statements without their DEFINER (a
// restore user on a managed server cannot name another definer; the
// restoring user becomes it, as for the backup's own objects), and logs
// each, so that they are not lost with the process if it is killed.
func (u *swapUndo) readTarget(ctx context.Context, s MySQLServer, log *slog.Logger) error {
	conn, closeConn, err := s.conn(ctx, "")
	if err != nil {
		return err
	}
	defer closeConn()
	exists, err := queryStrings(ctx, conn, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", u.final)
	if err != nil {
		return fmt.Errorf("looking for database %s: %w", u.final, err)
	}
	if u.exists = len(exists) > 0; !u.exists {
		return nil
	}
	views, err := queryStrings(ctx, conn, "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?", u.final)
	if err != nil {
		return fmt.Errorf("listing the views of %s: %w", u.final, err)
	}
	objs, err := dumpObjects(ctx, conn, u.final, views)
	if err != nil {
		return fmt.Errorf("reading the objects of %s, to put back if the restore fails: %w", u.final, err)
	}
	for _, o := range objs {
		stmt, err := checkCreate(o.Kind, o.Name, o.CreateSQL, u.final)
		if err != nil {
			return fmt.Errorf("the %s %s.%s of the target cannot be saved to put back if the restore fails: %w", strings.ToLower(o.Kind), u.final, o.Name, err)
		}
		o.CreateSQL = stmt
		u.objects = append(u.objects, o)
		log.Info("saved to put back if the restore fails", "database", u.final, "kind", strings.ToLower(o.Kind), "name", o.Name, "definition", stmt)
	}
	return nil
}

// tableRenames adds to renames the RENAME TABLE clauses that move tables
// from database from to database to.
func tableRenames(renames []string, from, to string, tables []string) []string {
	for _, tb := range tables {
		renames = append(renames, quoteIdent(from)+"."+quoteIdent(tb)+" TO "+quoteIdent(to)+"."+quoteIdent(tb))
	}
	return renames
}

// dumpTables names the backup's tables of this database.
func (u *swapUndo) dumpTables() []string {
	names := make([]string, 0, len(u.dump.Tables))
	for _, td := range u.dump.Tables {
		names = append(names, td.Name)
	}
	return names
}

func (u *swapUndo) swap(ctx context.Context, s MySQLServer, log *slog.Logger) error {
	conn, closeConn, err := s.conn(ctx, "")
	if err != nil {
		return err
	}
	defer closeConn()
	if !u.exists {
		create := "CREATE DATABASE " + quoteIdent(u.final)
		if cs := charsetClause(u.dump.CreateSQL); cs != "" {
			create += " " + cs
		}
		if _, err := conn.ExecContext(ctx, create); err != nil {
			return fmt.Errorf("creating database %s: %w", u.final, err)
		}
		u.created = true
	}
	if err := u.fault("drop"); err != nil {
		return err
	}
	u.dropped = map[string]bool{}
	if err := dropObjects(ctx, conn, u.final, func(kind, name string) { u.dropped[objectKey(kind, name)] = true }); err != nil {
		return err
	}
	if u.old, err = queryStrings(ctx, conn, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'", u.final); err != nil {
		return err
	}
	var renames []string
	if len(u.old) > 0 {
		trash := u.trashName
		if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+quoteIdent(trash)); err != nil {
			return fmt.Errorf("creating %s for the replaced tables: %w", trash, err)
		}
		u.trash = trash
		log.Info("the replaced tables go to a database of their own until the restore is complete", "database", u.final, "trash", trash)
		renames = tableRenames(renames, u.final, trash, u.old)
	}
	renames = tableRenames(renames, u.stage, u.final, u.dumpTables())
	if err := u.fault("rename"); err != nil {
		return err
	}
	if len(renames) > 0 {
		if _, err := conn.ExecContext(ctx, "RENAME TABLE "+strings.Join(renames, ", ")); err != nil {
			return fmt.Errorf("RENAME TABLE: %w", err)
		}
	}
	u.swapped = true
	if err := u.fault("objects"); err != nil {
		return err
	}
	if err := createObjects(ctx, s, u.final, u.dump, func(o SchemaObject) { u.made = append(u.made, o) }); err != nil {
		return err
	}
	return u.fault("created")
}

// rollBack puts every database of undos back as it was before its swap,
// newest first, on connections of its own (the swap's may be gone).
func rollBack(ctx context.Context, s MySQLServer, undos []*swapUndo) error {
	conn, closeConn, err := s.conn(ctx, "")
	if err != nil {
		return err
	}
	defer closeConn()
	var errs []error
	for i := len(undos) - 1; i >= 0; i-- {
		if err := undos[i].undo(ctx, s, conn); err != nil {
			where := ""
			if undos[i].trash != "" {
				where = " (its own tables are in " + undos[i].trash + ")"
			}
			errs = append(errs, fmt.Errorf("%s%s: %w", undos[i].final, where, err))
		}
	}
	return errors.Join(errs...)
}

// undo takes back exactly what the swap did, in reverse: the backup's
// objects it created are dropped, the tables renamed back, the target's
// own objects it dropped re-created (from the definitions read before
// anything changed), a database it created dropped.
func (u *swapUndo) undo(ctx context.Context, s MySQLServer, conn *sql.Conn) error {
	for i := len(u.made) - 1; i >= 0; i-- {
		if err := dropObject(ctx, conn, u.final, u.made[i].Kind, u.made[i].Name); err != nil {
			return fmt.Errorf("removing what the restore created: %w", err)
		}
	}
	u.made = nil
	if u.swapped {
		renames := tableRenames(nil, u.final, u.stage, u.dumpTables())
		renames = tableRenames(renames, u.trash, u.final, u.old)
		if len(renames) > 0 {
			if _, err := conn.ExecContext(ctx, "RENAME TABLE "+strings.Join(renames, ", ")); err != nil {
				return fmt.Errorf("moving the replaced tables back: %w", err)
			}
		}
	}
	if u.trash != "" {
		if _, err := conn.ExecContext(ctx, "DROP DATABASE "+quoteIdent(u.trash)); err != nil {
			return fmt.Errorf("dropping %s, now empty: %w", u.trash, err)
		}
		u.trash = ""
	}
	var back []SchemaObject
	for _, o := range u.objects {
		if u.dropped[objectKey(o.Kind, o.Name)] {
			back = append(back, o)
		}
	}
	if err := createSchemaObjects(ctx, s, u.final, back, func(o SchemaObject) { delete(u.dropped, objectKey(o.Kind, o.Name)) }); err != nil {
		return fmt.Errorf("re-creating the objects it had: %w", err)
	}
	if u.created {
		if _, err := conn.ExecContext(ctx, "DROP DATABASE "+quoteIdent(u.final)); err != nil {
			return fmt.Errorf("dropping %s, which the restore created: %w", u.final, err)
		}
	}
	return nil
}

// rehearseObjects creates the backup's objects beside the staged tables
// and drops them again (a trigger cannot move to another database with
// its table, so they are created for real only after the swap).
//
// Events are left out: the event scheduler would run one scheduled AT
// CURRENT_TIMESTAMP at once, against the staged tables.
func rehearseObjects(ctx context.Context, s MySQLServer, st staged) error {
	d := st.dump
	d.Objects = slices.DeleteFunc(slices.Clone(d.Objects), func(o SchemaObject) bool { return o.Kind == ObjectEvent })
	if len(d.Objects) == 0 {
		return nil
	}
	if err := createObjects(ctx, s, st.stage, d, nil); err != nil {
		return fmt.Errorf("the target server refuses an object of database %s: %w", st.dump.Name, err)
	}
	conn, closeConn, err := s.conn(ctx, "")
	if err != nil {
		return err
	}
	defer closeConn()
	return dropObjects(ctx, conn, st.stage, nil)
}

// dropObjects drops the views, triggers, routines and events of db (the
// backup's own are created after the swap).
func dropObjects(ctx context.Context, conn *sql.Conn, db string, dropped func(kind, name string)) error {
	for _, q := range []struct{ kind, list string }{
		{ObjectTrigger, "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?"},
		{ObjectView, "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?"},
		{ObjectProcedure, "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? AND ROUTINE_TYPE = 'PROCEDURE'"},
		{ObjectFunction, "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? AND ROUTINE_TYPE = 'FUNCTION'"},
		{ObjectEvent, "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?"},
	} {
		names, err := queryStrings(ctx, conn, q.list, db)
		if err != nil {
			return fmt.Errorf("listing the objects of %s: %w", db, err)
		}
		for _, n := range names {
			if err := dropObject(ctx, conn, db, q.kind, n); err != nil {
				return fmt.Errorf("replacing %s: %w", db, err)
			}
			if dropped != nil {
				dropped(q.kind, n)
			}
		}
	}
	return nil
}

// dropObject drops one view, trigger, routine or event of db.
func dropObject(ctx context.Context, conn *sql.Conn, db, kind, name string) error {
	stmt := "DROP " + kind + " IF EXISTS " + quoteIdent(db) + "." + quoteIdent(name)
	if _, err := conn.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("%s: %w", stmt, err)
	}
	return nil
}

func objectKey(kind, name string) string { return kind + " " + name }

// createObjects creates the backup's views (in dependency order: a view
// that needs another is retried after it), triggers, routines and events
// in db, each statement checked against what the manifest names. A view's
// references to its own source database are pointed at db.
func createObjects(ctx context.Context, s MySQLServer, db string, d DatabaseDump, created func(SchemaObject)) error {
	var objs []SchemaObject
	for _, o := range d.Objects {
		stmt, err := checkCreate(o.Kind, o.Name, o.CreateSQL, d.Name)
		if err != nil {
			return err
		}
		if o.Kind == ObjectView && db != d.Name {
			stmt = strings.ReplaceAll(stmt, quoteIdent(d.Name)+".", quoteIdent(db)+".")
		}
		o.CreateSQL = stmt
		objs = append(objs, o)
	}
	return createSchemaObjects(ctx, s, db, objs, created)
}

// createSchemaObjects runs objs' CREATE statements in db, each with its
// sql_mode, views in dependency order (a view that needs another is
// retried after it).
func createSchemaObjects(ctx context.Context, s MySQLServer, db string, objs []SchemaObject, created func(SchemaObject)) error {
	if len(objs) == 0 {
		return nil
	}
	conn, closeConn, err := s.conn(ctx, db)
	if err != nil {
		return err
	}
	defer closeConn()
	pending := objs
	for len(pending) > 0 {
		var retry []SchemaObject
		var lastErr error
		for _, o := range pending {
			if o.SQLMode != "" {
				if _, err := conn.ExecContext(ctx, "SET SESSION sql_mode = ?", o.SQLMode); err != nil {
					return fmt.Errorf("setting sql_mode for %s %s: %w", strings.ToLower(o.Kind), o.Name, err)
				}
			}
			if _, err := conn.ExecContext(ctx, o.CreateSQL); err != nil {
				var me *mysql.MySQLError
				if o.Kind == ObjectView && errors.As(err, &me) && (me.Number == 1146 || me.Number == 1356) {
					retry = append(retry, o) // depends on a view not created yet
					lastErr = err
					continue
				}
				return fmt.Errorf("creating %s %s.%s: %w", strings.ToLower(o.Kind), db, o.Name, err)
			}
			if created != nil {
				created(o)
			}
		}
		if len(retry) == len(pending) {
			return fmt.Errorf("creating view %s.%s: %w", db, retry[0].Name, lastErr)
		}
		pending = retry
	}
	return nil
}

// charsetClause extracts "DEFAULT CHARACTER SET ... COLLATE ..." from SHOW
// CREATE DATABASE, only when it is made of plain words.
func charsetClause(createSQL string) string {
	i := strings.Index(createSQL, "*/")
	j := strings.Index(createSQL, "DEFAULT CHARACTER SET")
	if j < 0 {
		return ""
	}
	s := createSQL[j:]
	if i > j {
		s = createSQL[j:i]
	}
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "*/"))
	for _, c := range s {
		plain := c == ' ' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !plain {
			return ""
		}
	}
	return s
}
