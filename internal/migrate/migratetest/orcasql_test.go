package migratetest

import (
	"database/sql"
	"testing"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// The stand-in's SqlExecutionRepository: a ULID id is kept with legacy_id
// NULL; another id gets a ULID and is kept in legacy_id, and storing it
// again finds the same row (mapLegacyId) instead of adding one.
func TestSQLExecutionLegacyIDs(t *testing.T) {
	db, _ := OrcaSQLDatabase(t, testenv.SharedMariaDB(t))
	ctx := t.Context()
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

// The stand-in's Front50 listings: applications sorted, upper case;
// every pipeline config and every strategy; anything else 404.
func TestFront50Listings(t *testing.T) {
	f := NewFront50()
	f.AddApplication("shop")
	f.AddApplication("Billing")
	f.AddPipeline("shop", "cfg-1", "deploy", false)
	f.AddPipeline("billing", "cfg-2", "release", false)
	f.AddPipeline("shop", "strat-1", "highlander", true)
	url := httptestServer(t, f)
	var apps, pipelines, strategies []map[string]any
	for _, c := range []struct {
		path string
		v    *[]map[string]any
	}{{"/v2/applications", &apps}, {"/pipelines?restricted=false", &pipelines}, {"/strategies", &strategies}} {
		if code := standInCall(t, "GET", url+c.path, "", c.v); code != 200 {
			t.Fatalf("%s: %d", c.path, code)
		}
	}
	if len(apps) != 2 || apps[0]["name"] != "BILLING" || apps[1]["name"] != "SHOP" {
		t.Errorf("applications %v", apps)
	}
	if len(pipelines) != 2 || pipelines[0]["id"] != "cfg-1" || pipelines[1]["id"] != "cfg-2" || len(strategies) != 1 || strategies[0]["id"] != "strat-1" {
		t.Errorf("pipelines %v, strategies %v", pipelines, strategies)
	}
	if code := standInCall(t, "GET", url+"/pipelines/cfg-1/history", "", nil); code != 404 {
		t.Errorf("another path: %d", code)
	}
}
