package migratetest

import (
	"context"
	"slices"
	"testing"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// The keys RedisExecutionRepository.store writes for a pipeline and an
// orchestration, and what delete leaves.
func TestRedisExecutionLayout(t *testing.T) {
	r := testenv.StartRedis(t)
	c := r.Client(t, 0)
	ctx := context.Background()
	p := RedisExecution{Type: "pipeline", ID: "01P", Application: "app", Name: "deploy", PipelineConfigID: "cfg", Status: "BUFFERED", BuildTime: 1000,
		Stages: []RedisStage{{ID: "s1", RefID: "1", Type: "wait", Name: "Wait", Status: "NOT_STARTED"}}}
	o := RedisExecution{Type: "orchestration", ID: "01O", Application: "app", Name: "Resize", Status: "RUNNING", CorrelationID: "corr-1"}
	for _, e := range []RedisExecution{p, o} {
		if err := StoreRedisExecution(ctx, c, "orca.task.queue", e); err != nil {
			t.Fatal(err)
		}
	}
	if err := EnqueuePendingStart(ctx, c, "cfg", map[string]any{"kind": "startExecution"}); err != nil {
		t.Fatal(err)
	}
	keys, _ := c.Keys(ctx, "*").Result()
	slices.Sort(keys)
	want := []string{"allJobs:orchestration", "allJobs:pipeline", "correlation:corr-1", "orca.pipeline.queue.cfg", "orca.task.queue:buffered:pipeline",
		"orchestration:01O", "orchestration:app:app", "pipeline:01P", "pipeline:01P:stageIndex", "pipeline:app:app", "pipeline:executions:cfg"}
	if !slices.Equal(keys, want) {
		t.Fatalf("keys %q\nwant %q", keys, want)
	}
	if s, _ := c.ZScore(ctx, "pipeline:executions:cfg", "01P").Result(); s != 1000 {
		t.Errorf("build time score %v", s)
	}
	if v, _ := c.HGet(ctx, "pipeline:01P", "stage.s1.status").Result(); v != "NOT_STARTED" {
		t.Errorf("stage status %q", v)
	}
	if err := AddRedisStage(ctx, c, p, RedisStage{ID: "s2", RefID: "2", Type: "deploy", Name: "Deploy", Status: "NOT_STARTED"}); err != nil {
		t.Fatal(err)
	}
	if ids, _ := c.LRange(ctx, "pipeline:01P:stageIndex", 0, -1).Result(); !slices.Equal(ids, []string{"s1", "s2"}) {
		t.Errorf("stage index %q", ids)
	}
	for _, e := range []RedisExecution{p, o} {
		if err := DeleteRedisExecution(ctx, c, "orca.task.queue", e); err != nil {
			t.Fatal(err)
		}
	}
	keys, _ = c.Keys(ctx, "*").Result()
	slices.Sort(keys)
	// The correlation id stays (Orca deletes it when it is looked up for a
	// finished execution), and so does the pending start.
	if want := []string{"correlation:corr-1", "orca.pipeline.queue.cfg"}; !slices.Equal(keys, want) {
		t.Fatalf("after delete: keys %q, want %q", keys, want)
	}
	if BufferedKey("", "pipeline") != "buffered:pipeline" || ConfigKey("") != "pipeline:executions:---" {
		t.Error("key names without a queue name or config id")
	}
}
