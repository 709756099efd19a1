package migrate

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/spinops/terraform-provider-spinops/internal/migrate/migratetest"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// orcaSQLEnv is a new zone's Redis holding the old executions and its
// Orca's SQL database.
type orcaSQLEnv struct {
	status OrcaSQLStatus
	db     *sql.DB
}

func startOrcaSQLEnv(t *testing.T) orcaSQLEnv {
	t.Helper()
	r := testenv.StartRedis(t)
	db, name := migratetest.OrcaSQLDatabase(t, testenv.SharedMariaDB(t))
	return orcaSQLEnv{status: OrcaSQLStatus{Redis: r.Client(t, 0), RedisName: r.URL(0), DB: db, DBName: name}, db: db}
}

func (e orcaSQLEnv) redisStore(t *testing.T, x migratetest.RedisExecution) {
	t.Helper()
	if err := migratetest.StoreRedisExecution(t.Context(), e.status.Redis, OrcaQueueName, x); err != nil {
		t.Fatal(err)
	}
}

func (e orcaSQLEnv) sqlStore(t *testing.T, x migratetest.RedisExecution) {
	t.Helper()
	if _, err := migratetest.StoreSQLExecution(t.Context(), e.db, x); err != nil {
		t.Fatal(err)
	}
}

// TestOrcaSQLStatus sorts the executions in Redis the way Orca's migration
// agents will treat them: moved (also under a legacy id), unfinished,
// waiting, and never reached (a pipeline not among the 50 newest finished
// of its config or without one; an application whose name is not lower
// case), and is done only when no finished execution the agents will move
// is left.
func TestOrcaSQLStatus(t *testing.T) {
	env := startOrcaSQLEnv(t)
	ctx := t.Context()
	ulid := func(n int) string { return fmt.Sprintf("01J%023d", n) }

	var cfgA []migratetest.RedisExecution
	for i := 1; i <= 53; i++ {
		x := migratetest.RedisExecution{Type: "pipeline", ID: ulid(i), Application: "app", Name: "deploy", PipelineConfigID: "cfg-a", Status: "SUCCEEDED", BuildTime: int64(1000 + i)}
		if i%7 == 0 {
			x.Status = "TERMINAL"
		}
		cfgA = append(cfgA, x)
		env.redisStore(t, x)
	}
	running := migratetest.RedisExecution{Type: "pipeline", ID: ulid(60), Application: "app", Name: "deploy", PipelineConfigID: "cfg-a", Status: "RUNNING", BuildTime: 1060}
	noConfig := migratetest.RedisExecution{Type: "pipeline", ID: ulid(61), Application: "app", Name: "adhoc", Status: "SUCCEEDED", BuildTime: 1061}
	legacy := migratetest.RedisExecution{Type: "pipeline", ID: "2f1c7a0e-1d7b-4b3e-9c52-6d6f0f8e7a11", Application: "app", Name: "old", PipelineConfigID: "cfg-b", Status: "CANCELED", BuildTime: 900}
	for _, x := range []migratetest.RedisExecution{running, noConfig, legacy} {
		env.redisStore(t, x)
	}
	orch := []migratetest.RedisExecution{
		{Type: "orchestration", ID: ulid(100), Application: "app", Name: "Resize", Status: "SUCCEEDED", BuildTime: 1},
		{Type: "orchestration", ID: ulid(101), Application: "app", Name: "Resize", Status: "FAILED_CONTINUE", BuildTime: 2},
		{Type: "orchestration", ID: ulid(102), Application: "app", Name: "Resize", Status: "STOPPED", BuildTime: 3},
		{Type: "orchestration", ID: ulid(103), Application: "app", Name: "Resize", Status: "PAUSED", BuildTime: 4},
		{Type: "orchestration", ID: ulid(104), Application: "MixedCase", Name: "Resize", Status: "SUCCEEDED", BuildTime: 5},
	}
	for _, x := range orch {
		env.redisStore(t, x)
	}
	// An index entry whose execution is gone: Orca's reads skip it.
	env.status.Redis.SAdd(ctx, "allJobs:pipeline", "gone")

	// What the agents have moved so far: the 14 newest of cfg-a, the legacy
	// one (under a new ULID), one orchestration.
	for _, x := range cfgA[39:] {
		env.sqlStore(t, x)
	}
	env.sqlStore(t, legacy)
	env.sqlStore(t, orch[0])

	res, err := env.status.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(xs []migratetest.RedisExecution) []string {
		var out []string
		for _, x := range xs {
			out = append(out, x.ID)
		}
		slices.Sort(out)
		return out
	}
	p := res.Pipelines
	if p.InRedis != 56 || p.Moved != 15 {
		t.Errorf("pipelines: %d in Redis, %d moved; want 56, 15", p.InRedis, p.Moved)
	}
	if !slices.Equal(p.Unfinished, []string{running.ID}) {
		t.Errorf("unfinished pipelines %v", p.Unfinished)
	}
	if want := ids(cfgA[3:39]); !slices.Equal(p.Waiting, want) {
		t.Errorf("waiting pipelines %v\nwant %v", p.Waiting, want)
	}
	if want := ids(append(slices.Clone(cfgA[:3]), noConfig)); !slices.Equal(p.OutOfReach, want) {
		t.Errorf("pipelines out of reach %v\nwant %v", p.OutOfReach, want)
	}
	if p.Reasons["not among the 50 newest finished of their pipeline config"] != 3 || p.Reasons["without a pipeline config id"] != 1 {
		t.Errorf("reasons %v", p.Reasons)
	}
	o := res.Orchestrations
	if o.InRedis != 5 || o.Moved != 1 || !slices.Equal(o.Unfinished, []string{orch[3].ID}) ||
		!slices.Equal(o.Waiting, ids(orch[1:3])) || !slices.Equal(o.OutOfReach, []string{orch[4].ID}) {
		t.Errorf("orchestrations %+v", o)
	}
	if res.Done() {
		t.Fatalf("done with executions waiting:\n%s", res)
	}
	for _, want := range []string{"pipelines: 56 in Redis, 15 moved to SQL, 36 finished and waiting for Orca's agent, 1 unfinished", "4 out of its reach (3 not among the 50 newest"} {
		if !strings.Contains(res.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, res)
		}
	}

	// The running ones finish (in Redis: DualExecutionRepository updates
	// them where they are), and the agents take everything in reach.
	running.Status, orch[3].Status = "SUCCEEDED", "CANCELED"
	env.redisStore(t, running)
	env.redisStore(t, orch[3])
	for _, x := range append(slices.Clone(cfgA[3:39]), running, orch[1], orch[2], orch[3]) {
		env.sqlStore(t, x)
	}
	res, err = env.status.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Done() || res.Pipelines.Moved != 52 || len(res.Pipelines.OutOfReach) != 4 || res.Orchestrations.Moved != 4 ||
		len(res.Orchestrations.OutOfReach) != 1 || res.Staying() != 5 {
		t.Fatalf("after the agents' last tick:\n%s", res)
	}

	// An execution the final copy brought unfinished never finishes in the
	// new installation (its work is in the old queue): it stays in Redis
	// and does not hold "done" back.
	stuck := migratetest.RedisExecution{Type: "pipeline", ID: ulid(70), Application: "app", Name: "deploy", PipelineConfigID: "cfg-a", Status: "RUNNING", BuildTime: 1070}
	env.redisStore(t, stuck)
	if res, err = env.status.Run(ctx); err != nil || !res.Done() || res.Staying() != 6 || !slices.Equal(res.Pipelines.Unfinished, []string{stuck.ID}) {
		t.Fatalf("with an unfinished execution left (%v):\n%s", err, res)
	}
}

// An application with more than 3,500 finished orchestrations: the agent
// takes the first 3,500 of its set in the order Redis answers; the rest
// stay in Redis.
func TestOrcaSQLStatusOrchestrationPage(t *testing.T) {
	env := startOrcaSQLEnv(t)
	ctx := t.Context()
	for i := 0; i < orcaOrchestrationMigratorPage+2; i++ {
		x := migratetest.RedisExecution{Type: "orchestration", ID: fmt.Sprintf("01K%023d", i), Application: "big", Name: "Resize", Status: "SUCCEEDED", BuildTime: int64(i)}
		env.status.Redis.SAdd(ctx, "allJobs:orchestration", x.ID)
		env.status.Redis.SAdd(ctx, "orchestration:app:big", x.ID)
		env.status.Redis.HSet(ctx, "orchestration:"+x.ID, x.Fields())
	}
	res, err := env.status.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	o := res.Orchestrations
	if len(o.Waiting) != orcaOrchestrationMigratorPage || len(o.OutOfReach) != 2 ||
		o.Reasons["beyond the 3500 finished orchestrations of their application the agent reads"] != 2 {
		t.Fatalf("%d waiting, %d out of reach (%v)", len(o.Waiting), len(o.OutOfReach), o.Reasons)
	}
	// They are the last two SMEMBERS answers among the finished.
	members := env.status.Redis.SMembers(ctx, "orchestration:app:big").Val()
	tail := slices.Sorted(slices.Values(members[orcaOrchestrationMigratorPage:]))
	if !slices.Equal(o.OutOfReach, tail) {
		t.Errorf("out of reach %v, want the set's last %v", o.OutOfReach, tail)
	}
}

// A database that is not Orca's: the error says what was read and where.
func TestOrcaSQLStatusNotOrcasDatabase(t *testing.T) {
	env := startOrcaSQLEnv(t)
	if _, err := env.db.ExecContext(t.Context(), "DROP TABLE pipelines"); err != nil {
		t.Fatal(err)
	}
	_, err := env.status.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "reading Orca's pipelines table in "+env.status.DBName+" (is it the orca database") {
		t.Fatalf("err = %v", err)
	}
}

// With the new Front50 read as the agents read it: executions of a
// pipeline config or an application it no longer has are out of reach
// (the agents iterate Front50's lists), a strategy's are in reach, and the
// report no longer warns that Front50 was not read. A Front50 that refuses
// fails the run, naming the listing.
func TestOrcaSQLStatusFront50(t *testing.T) {
	env := startOrcaSQLEnv(t)
	ctx := t.Context()
	f := migratetest.NewFront50()
	f.AddApplication("shop")
	f.AddPipeline("shop", "cfg-live", "deploy", false)
	f.AddPipeline("shop", "strat-1", "highlander", true)
	srv := httptest.NewServer(f)
	defer srv.Close()
	execs := []migratetest.RedisExecution{
		{Type: "pipeline", ID: "01L00000000000000000000001", Application: "shop", PipelineConfigID: "cfg-live", Status: "SUCCEEDED", BuildTime: 1},
		{Type: "pipeline", ID: "01L00000000000000000000002", Application: "shop", PipelineConfigID: "strat-1", Status: "SUCCEEDED", BuildTime: 2},
		{Type: "pipeline", ID: "01L00000000000000000000003", Application: "shop", PipelineConfigID: "cfg-deleted", Status: "SUCCEEDED", BuildTime: 3},
		{Type: "orchestration", ID: "01L00000000000000000000004", Application: "shop", Status: "SUCCEEDED", BuildTime: 4},
		{Type: "orchestration", ID: "01L00000000000000000000005", Application: "gone", Status: "SUCCEEDED", BuildTime: 5},
	}
	for _, x := range execs {
		env.redisStore(t, x)
	}
	without, err := env.status.Run(ctx)
	if err != nil || without.Waiting() != 5 || !strings.Contains(without.String(), "Front50 was not read") {
		t.Fatalf("without Front50 (%v):\n%s", err, without)
	}
	st := env.status
	st.Front50 = srv.URL
	res, err := st.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Pipelines.Waiting, []string{execs[0].ID, execs[1].ID}) || !slices.Equal(res.Pipelines.OutOfReach, []string{execs[2].ID}) ||
		res.Pipelines.Reasons["of a pipeline config Front50 no longer has"] != 1 {
		t.Errorf("pipelines %+v", res.Pipelines)
	}
	if !slices.Equal(res.Orchestrations.Waiting, []string{execs[3].ID}) || !slices.Equal(res.Orchestrations.OutOfReach, []string{execs[4].ID}) ||
		res.Orchestrations.Reasons["of an application Front50 no longer has"] != 1 || strings.Contains(res.String(), "Front50 was not read") {
		t.Errorf("orchestrations %+v\n%s", res.Orchestrations, res)
	}

	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"Forbidden","message":"Access denied"}`, http.StatusForbidden)
	}))
	defer refusing.Close()
	st.Front50 = refusing.URL
	if _, err := st.Run(ctx); err == nil || !strings.Contains(err.Error(), "reading Front50's /pipelines?restricted=false: 403 Forbidden (with Fiat, send a user who may read every application)") {
		t.Errorf("a refusing Front50: %v", err)
	}
}
