package migratetest

import (
	"database/sql"
	"testing"

	_ "github.com/go-sql-driver/mysql"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// The stand-in's SqlExecutionRepository: a ULID id is kept with legacy_id
// NULL; another id gets a ULID and is kept in legacy_id, and storing it
// again finds the same row (mapLegacyId) instead of adding one.
func TestSQLExecutionLegacyIDs(t *testing.T) {
	srv := testenv.SharedMariaDB(t)
	db, err := sql.Open("mysql", srv.DSN(srv.Database(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	if err := OrcaSQLTables(ctx, db); err != nil {
		t.Fatal(err)
	}
	ulid := NewULID(1_700_000_000_000)
	if !IsULID(ulid) || IsULID("2f1c7a0e-1d7b-4b3e-9c52-6d6f0f8e7a11") || IsULID("8ZZZZZZZZZZZZZZZZZZZZZZZZZ") || IsULID("01ARZ3NDEKTSV4RRFFQ69G5FAU") {
		t.Fatalf("IsULID: %s", ulid)
	}
	p := RedisExecution{Type: "pipeline", ID: ulid, Application: "app", PipelineConfigID: "cfg", Status: "SUCCEEDED", BuildTime: 1}
	if id, err := StoreSQLExecution(ctx, db, p); err != nil || id != ulid {
		t.Fatalf("ULID kept: %s %v", id, err)
	}
	legacy := RedisExecution{Type: "orchestration", ID: "2f1c7a0e-1d7b-4b3e-9c52-6d6f0f8e7a11", Application: "app", Status: "RUNNING", BuildTime: 2}
	first, err := StoreSQLExecution(ctx, db, legacy)
	if err != nil || !IsULID(first) {
		t.Fatalf("legacy id: %s %v", first, err)
	}
	legacy.Status = "SUCCEEDED"
	second, err := StoreSQLExecution(ctx, db, legacy)
	if err != nil || second != first {
		t.Fatalf("stored again: %s, first %s, %v", second, first, err)
	}
	var n int
	var status, leg string
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*), MAX(status), MAX(legacy_id) FROM orchestrations").Scan(&n, &status, &leg); err != nil || n != 1 || status != "SUCCEEDED" || leg != legacy.ID {
		t.Fatalf("orchestrations: %d rows, %s, %s, %v", n, status, leg, err)
	}
	var pl sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT legacy_id FROM pipelines WHERE id = ?", ulid).Scan(&pl); err != nil || pl.Valid {
		t.Fatalf("pipeline's legacy_id %v %v", pl, err)
	}
}
