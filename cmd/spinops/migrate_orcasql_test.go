package main

import (
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/spinops/terraform-provider-spinops/internal/migrate"
	"github.com/spinops/terraform-provider-spinops/internal/migrate/migratetest"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// `spinops migrate orca-status`: the new zone's Redis against its Orca's
// database; passwords from the environment and never printed; not done
// while a finished execution waits for Orca's agent, done (with what stays
// in Redis) once it has moved it.
func TestMigrateOrcaStatus(t *testing.T) {
	r := testenv.StartRedis(t)
	srv := testenv.StartMariaDB(t)
	db, dbName := migratetest.OrcaSQLDatabase(t, srv)
	ctx := t.Context()
	rc := r.Client(t, 0)
	var execs []migratetest.RedisExecution
	for i := range 3 {
		e := migratetest.RedisExecution{Type: "pipeline", ID: fmt.Sprintf("01HQ%022d", i), Application: "shop", Name: "deploy",
			PipelineConfigID: "cfg", Status: "SUCCEEDED", BuildTime: int64(1_700_000_000_000 + i)}
		if i == 2 {
			e.PipelineConfigID = "" // started without a config: never moved
		}
		execs = append(execs, e)
		if err := migratetest.StoreRedisExecution(ctx, rc, migrate.OrcaQueueName, e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := migratetest.StoreSQLExecution(ctx, db, execs[0]); err != nil {
		t.Fatal(err)
	}
	const secret = "s3cr3t-Pässword-of-mysql"
	run := func(args ...string) (string, error) {
		t.Helper()
		return runSpinops(t, []string{testenv.RedisPassword, testenv.MariaDBRootPassword, secret}, append([]string{"migrate", "orca-status"}, args...)...)
	}
	args := []string{"--redis", r.URL(0), "--mysql", srv.Addr(), "--mysql-user", srv.RootUser, "--database", dbName}

	t.Setenv(envMigrateToRedisPassword, testenv.RedisPassword)
	t.Setenv(envMigrateToPassword, secret)
	if _, err := run(args...); err == nil || !strings.Contains(err.Error(), "Access denied") {
		t.Errorf("a wrong MySQL password: %v", err)
	}
	t.Setenv(envMigrateToPassword, testenv.MariaDBRootPassword)
	out, err := run(args...)
	if err != nil || !strings.Contains(out, "pipelines: 3 in Redis, 1 moved to SQL, 1 finished and waiting for Orca's agent, 0 unfinished") ||
		!strings.Contains(out, "not done:") {
		t.Fatalf("first look: %q, %v", out, err)
	}
	if _, err := run(append(args, "--require-done")...); err == nil || !strings.Contains(err.Error(), "not done: 1 finished executions are still to be moved") {
		t.Errorf("--require-done while one waits: %v", err)
	}
	if _, err := migratetest.StoreSQLExecution(ctx, db, execs[1]); err != nil {
		t.Fatal(err)
	}
	out, err = run(append(args, "--require-done")...)
	if err != nil || !strings.Contains(out, "done: Orca's agents have moved all they will; 1 executions (unfinished, or out of their reach) stay in Redis only") ||
		!strings.Contains(out, "1 out of its reach (1 without a pipeline config id)") {
		t.Fatalf("after the agent's tick: %q, %v", out, err)
	}
	// With the new Front50, whose pipeline "cfg" is gone: the waiting one
	// is out of the agents' reach, so done even before their tick.
	f50 := migratetest.NewFront50()
	f50.AddApplication("shop")
	fs := httptest.NewServer(f50)
	defer fs.Close()
	if _, err := db.ExecContext(ctx, "DELETE FROM pipelines WHERE id = ?", execs[1].ID); err != nil {
		t.Fatal(err)
	}
	out, err = run(append(args, "--front50", fs.URL, "--spinnaker-user", "admin", "--require-done")...)
	if err != nil || !strings.Contains(out, "2 out of its reach (1 of a pipeline config Front50 no longer has; 1 without a pipeline config id)") ||
		strings.Contains(out, "Front50 was not read") {
		t.Fatalf("with Front50: %q, %v", out, err)
	}
	if _, err := run("--redis", strings.Replace(r.URL(0), "redis://", "redis://:"+url.QueryEscape(secret)+"@", 1), "--mysql", srv.Addr()); err == nil ||
		!strings.Contains(err.Error(), "--redis: the URL carries a password: leave it out and give it in "+envMigrateToRedisPassword) {
		t.Errorf("a password in the URL: %v", err)
	}
}
