// Package migrate benchmarks `spinops migrate data`'s copy of Orca's
// executions from one Redis to another against Redis's own MIGRATE ... COPY
// REPLACE of the same keys (the server-side copy an operator would script:
// no verification, no record, nothing incremental), on the same servers in
// the same run. Run (executions, default 2000, about 30 KB each):
//
//	SPINOPS_BENCH_REDIS_EXECUTIONS=2000 go test -run '^$' -bench BenchmarkOrcaRedisCopy -benchtime=1x -timeout 30m ./bench/migrate/
package migrate

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spinops/terraform-provider-spinops/internal/migrate"
	"github.com/spinops/terraform-provider-spinops/internal/migrate/migratetest"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func BenchmarkOrcaRedisCopy(b *testing.B) {
	n := 2000
	if s := os.Getenv("SPINOPS_BENCH_REDIS_EXECUTIONS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	ctx := context.Background()
	oldSrv, viaMigrate, viaSpinops := testenv.StartRedis(b), testenv.StartRedis(b), testenv.StartRedis(b)
	old := oldSrv.Client(b, 0)
	// Spinnaker-shaped executions: 12 stages each with a 2 KB context.
	ctxBody := map[string]any{"manifests": strings.Repeat("m", 2048), "account": "prod", "cloudProvider": "kubernetes"}
	execs := make([]migratetest.RedisExecution, n)
	start := time.Now()
	for i := range n {
		e := migratetest.RedisExecution{Type: "pipeline", ID: fmt.Sprintf("01HB%08d", i), Application: fmt.Sprintf("app%d", i%50), Name: "deploy",
			PipelineConfigID: fmt.Sprintf("cfg%d", i%200), Status: "SUCCEEDED", BuildTime: int64(1_700_000_000_000 + i)}
		if i%10 == 0 {
			e.Type, e.PipelineConfigID, e.CorrelationID = "orchestration", "", fmt.Sprintf("corr-%d", i)
		}
		for s := range 12 {
			e.Stages = append(e.Stages, migratetest.RedisStage{ID: fmt.Sprintf("s%02d", s), RefID: strconv.Itoa(s + 1), Type: "deployManifest", Name: "Deploy",
				Status: "SUCCEEDED", Context: ctxBody})
		}
		if err := migratetest.StoreRedisExecution(ctx, old, migrate.OrcaQueueName, e); err != nil {
			b.Fatal(err)
		}
		execs[i] = e
	}
	b.Logf("%d executions written in %s; old Redis: used_memory_human=%s", n, time.Since(start).Round(time.Millisecond),
		old.InfoMap(ctx, "memory").Item("Memory", "used_memory_human"))

	// Redis's MIGRATE ... COPY REPLACE of every key, 100 keys a call.
	migrateAll := func() time.Duration {
		t0 := time.Now()
		var batch []any
		flush := func() {
			if len(batch) == 0 {
				return
			}
			args := append([]any{"MIGRATE", viaMigrate.Host, viaMigrate.Port, "", 0, 60000, "COPY", "REPLACE", "AUTH", viaMigrate.Password, "KEYS"}, batch...)
			if err := old.Do(ctx, args...).Err(); err != nil {
				b.Fatalf("MIGRATE: %v", err)
			}
			batch = batch[:0]
		}
		iter := old.Scan(ctx, 0, "*", 1000).Iterator()
		for iter.Next(ctx) {
			batch = append(batch, iter.Val())
			if len(batch) == 100 {
				flush()
			}
		}
		if err := iter.Err(); err != nil {
			b.Fatal(err)
		}
		flush()
		return time.Since(t0)
	}
	c := migrate.OrcaRedisCopy{From: old, To: viaSpinops.Client(b, 0), FromName: oldSrv.URL(0), ToName: viaSpinops.URL(0), QueueName: migrate.OrcaQueueName}
	log := slog.New(slog.DiscardHandler)
	spinops := func(verify bool, want func(migrate.OrcaRedisResult) bool) time.Duration {
		c.Verify = verify
		t0 := time.Now()
		res, err := migrate.CopyOrcaExecutions(ctx, c, log)
		d := time.Since(t0)
		if err != nil || !want(res) {
			b.Fatalf("copy: %+v, %v", res, err)
		}
		return d
	}
	b.ResetTimer()
	for range b.N {
		tMigrate := migrateAll()
		tFirst := spinops(false, func(r migrate.OrcaRedisResult) bool { return r.Copied == n })
		tSame := spinops(false, func(r migrate.OrcaRedisResult) bool { return r.Copied == 0 && r.Unchanged == n })
		changed := max(1, n/100)
		for i := range changed {
			e := execs[i*(n/changed)]
			if err := migratetest.AddRedisStage(ctx, old, e, migratetest.RedisStage{ID: "late", RefID: "99", Type: "wait", Name: "Late", Status: "SUCCEEDED"}); err != nil {
				b.Fatal(err)
			}
		}
		tChanged := spinops(false, func(r migrate.OrcaRedisResult) bool { return r.Copied == changed })
		tVerify := spinops(true, func(r migrate.OrcaRedisResult) bool { return r.Copied == 0 && r.Verified })
		tMigrate2 := migrateAll()
		load, _ := os.ReadFile("/proc/loadavg")
		fmt.Printf("RESULT executions=%d redis_migrate=%s spinops_first=%s first_vs_migrate=%.2f spinops_unchanged=%s spinops_1pct_changed=%s "+
			"changed_vs_migrate=%.2f spinops_verify=%s redis_migrate_again=%s load=%q\n",
			n, tMigrate.Round(time.Millisecond), tFirst.Round(time.Millisecond), tFirst.Seconds()/tMigrate.Seconds(), tSame.Round(time.Millisecond),
			tChanged.Round(time.Millisecond), tChanged.Seconds()/tMigrate2.Seconds(), tVerify.Round(time.Millisecond), tMigrate2.Round(time.Millisecond), strings.TrimSpace(string(load)))
	}
}
