package migratetest

// This file: a new Orca's SQL execution repository, as far as its
// Redis-to-SQL migration agents fill it (spinnaker/orca 2fdb327a9):
//
//   - the tables pipelines and orchestrations as orca-sql's liquibase
//     changelog leaves them on MySQL (db/changelog 20180424-initial-schema.yml:
//     id char(26) primary key, application, status, build_time, body,
//     config_id for pipelines; 20180510-add-legacy-id-fields.yml and
//     20180530-add-legacy-id-constraints.yml: legacy_id varchar(500),
//     unique; 20180515: canceled; 20180724-partitions.yml: partition,
//     updated_at; 20181016: start_time), InnoDB;
//   - SqlExecutionRepository.storeExecutionInternal + mapLegacyId: an
//     execution whose id is a ULID (jooq.kt isULID: 26 characters that
//     parse as one) is kept under it with legacy_id NULL; any other id is
//     kept under the ULID already mapped to it in legacy_id, or a new
//     ULID, with the id in legacy_id; then an upsert of the row (status,
//     body, updated_at, ...).

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// OrcaSQLDatabase is a new database on srv with Orca's execution tables,
// open, and its name; closed and dropped when t ends.
func OrcaSQLDatabase(t testing.TB, srv *testenv.MariaDB) (*sql.DB, string) {
	t.Helper()
	name := srv.Database(t)
	db, err := sql.Open("mysql", srv.DSN(name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := OrcaSQLTables(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	return db, name
}

// OrcaSQLTables creates Orca's execution tables in db.
func OrcaSQLTables(ctx context.Context, db *sql.DB) error {
	for _, t := range []string{"pipelines", "orchestrations"} {
		config := ""
		if t == "pipelines" {
			config = "config_id char(36) NULL,"
		}
		ddl := "CREATE TABLE `" + t + "` (id char(26) NOT NULL PRIMARY KEY, legacy_id varchar(500) NULL UNIQUE, " + config +
			" application varchar(255) NOT NULL, status varchar(45) NOT NULL, build_time bigint NOT NULL, start_time bigint NULL," +
			" canceled boolean NOT NULL DEFAULT false, `partition` varchar(32) NULL, updated_at bigint NULL, body longtext NOT NULL) ENGINE=InnoDB"
		if _, err := db.ExecContext(ctx, ddl); err != nil {
			return fmt.Errorf("creating %s: %w", t, err)
		}
	}
	return nil
}

// crockford is the ULID alphabet.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// IsULID is jooq.kt's isULID: 26 characters of the ULID alphabet (either
// case) whose first one keeps the value within 128 bits.
func IsULID(id string) bool {
	if len(id) != 26 {
		return false
	}
	for _, c := range strings.ToUpper(id) {
		if !strings.ContainsRune(crockford, c) {
			return false
		}
	}
	return id[0] <= '7'
}

// NewULID is a ULID of ms (48 bits of time, 80 random).
func NewULID(ms int64) string {
	var b [26]byte
	t := uint64(ms)
	for i := 9; i >= 0; i-- {
		b[i] = crockford[t&31]
		t >>= 5
	}
	r := make([]byte, 16)
	_, _ = rand.Read(r)
	for i := 10; i < 26; i++ {
		b[i] = crockford[r[i-10]&31]
	}
	return string(b[:])
}

// StoreSQLExecution stores e as SqlExecutionRepository.store does, and
// answers the row's id.
func StoreSQLExecution(ctx context.Context, db *sql.DB, e RedisExecution) (string, error) {
	table := e.Type + "s"
	id, legacy := e.ID, sql.NullString{}
	if !IsULID(e.ID) {
		legacy = sql.NullString{String: e.ID, Valid: true}
		err := db.QueryRowContext(ctx, "SELECT id FROM `"+table+"` WHERE legacy_id = ? LIMIT 1", e.ID).Scan(&id)
		switch {
		case err == sql.ErrNoRows:
			id = NewULID(e.BuildTime)
		case err != nil:
			return "", err
		}
	}
	body := mustJSON(map[string]any{"id": e.ID, "type": strings.ToUpper(e.Type), "application": e.Application, "status": e.Status, "buildTime": e.BuildTime})
	now := time.Now().UnixMilli()
	var config any
	cols := "id, legacy_id, application, status, build_time, start_time, canceled, `partition`, updated_at, body"
	vals := "?, ?, ?, ?, ?, ?, false, NULL, ?, ?"
	args := []any{id, legacy, e.Application, e.Status, e.BuildTime, e.BuildTime + 10, now, body}
	if e.Type == "pipeline" {
		config = e.PipelineConfigID
		cols += ", config_id"
		vals += ", ?"
		args = append(args, config)
	}
	_, err := db.ExecContext(ctx, "INSERT INTO `"+table+"` ("+cols+") VALUES ("+vals+") "+
		"ON DUPLICATE KEY UPDATE status = VALUES(status), body = VALUES(body), updated_at = VALUES(updated_at)", args...)
	if err != nil {
		return "", fmt.Errorf("storing %s %s: %w", e.Type, e.ID, err)
	}
	return id, nil
}
