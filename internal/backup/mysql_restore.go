package backup

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
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
	// Overwrite allows restoring into a database that has tables: they are
	// dropped first.
	Overwrite bool
	// Parallel is how many tables load at once (default 2).
	Parallel int
}

func (t MySQLTarget) target(db string) string {
	if n, ok := t.DatabaseMap[db]; ok && n != "" {
		return n
	}
	return db
}

// preflightMySQLRestore checks credentials and that every target database
// is empty (or Overwrite is set) before anything is changed.
func preflightMySQLRestore(ctx context.Context, t MySQLTarget, mm *MySQLManifest) error {
	pool, err := t.Server.open("")
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := pool.PingContext(ctx); err != nil {
		return connectError(t.Server, err)
	}
	for _, d := range mm.Databases {
		name := t.target(d.Name)
		var n int
		if err := pool.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", name).Scan(&n); err != nil {
			return fmt.Errorf("checking whether database %s is empty: %w", name, err)
		}
		if n > 0 && !t.Overwrite {
			return fmt.Errorf("database %s on %s is not empty (%d tables): restore into an empty database, or pass --overwrite to drop its tables first", name, t.Server.addr(), n)
		}
	}
	return nil
}

func restoreMySQL(ctx context.Context, src Store, mm *MySQLManifest, t MySQLTarget, log *slog.Logger) error {
	for _, d := range mm.Databases {
		if err := restoreDatabase(ctx, src, d, t, log); err != nil {
			return err
		}
	}
	return nil
}

func restoreDatabase(ctx context.Context, src Store, d DatabaseDump, t MySQLTarget, log *slog.Logger) error {
	name := t.target(d.Name)
	admin, err := t.Server.open("")
	if err != nil {
		return err
	}
	defer admin.Close()
	create := "CREATE DATABASE IF NOT EXISTS " + quoteIdent(name)
	if cs := charsetClause(d.CreateSQL); cs != "" {
		create += " " + cs
	}
	if _, err := admin.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("creating database %s: %w", name, err)
	}
	pool, err := t.Server.open(name)
	if err != nil {
		return err
	}
	defer pool.Close()
	if t.Overwrite {
		if err := dropTables(ctx, pool, name); err != nil {
			return err
		}
	}
	par := t.Parallel
	if par <= 0 {
		par = 2
	}
	pool.SetMaxOpenConns(par)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(par)
	for _, td := range d.Tables {
		g.Go(func() error {
			if err := restoreTable(gctx, pool, src, td); err != nil {
				return fmt.Errorf("restoring %s.%s: %w", name, td.Name, err)
			}
			log.Info("table restored", "database", name, "table", td.Name, "rows", td.Rows)
			return nil
		})
	}
	return g.Wait()
}

// charsetClause extracts "DEFAULT CHARACTER SET ... COLLATE ..." from SHOW CREATE DATABASE.
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
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "*/"))
}

func dropTables(ctx context.Context, pool *sql.DB, db string) error {
	conn, err := pool.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	tables, err := queryStrings(ctx, conn, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", db)
	if err != nil {
		return fmt.Errorf("listing the tables of %s: %w", db, err)
	}
	if _, err := conn.ExecContext(ctx, "SET FOREIGN_KEY_CHECKS = 0"); err != nil {
		return err
	}
	for _, t := range tables {
		if _, err := conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+quoteIdent(t)); err != nil {
			if _, verr := conn.ExecContext(ctx, "DROP VIEW IF EXISTS "+quoteIdent(t)); verr != nil {
				return fmt.Errorf("dropping %s.%s (--overwrite): %w", db, t, err)
			}
		}
	}
	return nil
}

// restoreTable creates the table and streams its rows in with LOAD DATA
// LOCAL INFILE from the stored part, in one transaction that is rolled back
// when the part's SHA-256 or the row count do not match the manifest.
func restoreTable(ctx context.Context, pool *sql.DB, src Store, td TableDump) error {
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
	if _, err := conn.ExecContext(ctx, td.CreateSQL); err != nil {
		return fmt.Errorf("creating the table: %w", err)
	}
	rc, _, err := src.Get(ctx, td.Data.Path)
	if err != nil {
		return err
	}
	defer rc.Close()
	stored := newHashReader(rc)
	zr, err := zstd.NewReader(stored, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return err
	}
	defer zr.Close()
	handler := readerName()
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
	// Drain what the server did not read (nothing, normally) so the hash covers the whole part.
	if _, err := io.Copy(io.Discard, stored); err != nil {
		rollback()
		return err
	}
	n, _ := res.RowsAffected()
	if got := stored.sum(); got != td.Data.SHA256 {
		rollback()
		return fmt.Errorf("checksum mismatch for %s: stored part has SHA-256 %s, the manifest says %s (the backup is damaged)", td.Data.Path, got, td.Data.SHA256)
	}
	if n != td.Rows {
		rollback()
		return fmt.Errorf("row count mismatch: loaded %d rows, the manifest says %d", n, td.Rows)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
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

func readerName() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "spinops-" + hex.EncodeToString(b[:])
}
