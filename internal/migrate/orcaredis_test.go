package migrate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/spinops/terraform-provider-spinops/internal/migrate/migratetest"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// redisPair is an old and a new Redis with clients.
type redisPair struct {
	old, new       *redis.Client
	oldURL, newURL string
	oldSrv, newSrv *testenv.Redis
}

func startRedisPair(t *testing.T) redisPair {
	t.Helper()
	a, b := testenv.StartRedis(t), testenv.StartRedis(t)
	return redisPair{old: a.Client(t, 0), new: b.Client(t, 0), oldURL: a.URL(0), newURL: b.URL(0), oldSrv: a, newSrv: b}
}

func (p redisPair) copier() OrcaRedisCopy {
	return OrcaRedisCopy{From: p.old, To: p.new, FromName: p.oldURL, ToName: p.newURL, QueueName: OrcaQueueName}
}

// dumpRedis is every key of c but the copy's record, each as its type and
// content in a canonical form, for comparing two servers.
func dumpRedis(t *testing.T, c *redis.Client, skip func(string) bool) map[string]string {
	t.Helper()
	ctx := t.Context()
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range keys {
		if strings.HasPrefix(k, "spinops:migrate:") || (skip != nil && skip(k)) {
			continue
		}
		typ := c.Type(ctx, k).Val()
		var v any
		switch typ {
		case "string":
			v = c.Get(ctx, k).Val()
		case "hash":
			m := c.HGetAll(ctx, k).Val()
			v = slices.Sorted(func(yield func(string) bool) {
				for f, x := range m {
					if !yield(f + "=" + x) {
						return
					}
				}
			})
		case "list":
			v = c.LRange(ctx, k, 0, -1).Val()
		case "set":
			v = slices.Sorted(slices.Values(c.SMembers(ctx, k).Val()))
		case "zset":
			v = c.ZRangeWithScores(ctx, k, 0, -1).Val()
		default:
			t.Fatalf("%s: unexpected type %s", k, typ)
		}
		out[k] = fmt.Sprintf("%s %v", typ, v)
	}
	return out
}

// notCopied are the old Orca's keys a copy leaves behind: its work queue
// and its pending starts.
func notCopied(k string) bool {
	return strings.HasPrefix(k, "orca.task.queue.") || strings.HasPrefix(k, "orca.pipeline.queue.")
}

func legacyExecutions() []migratetest.RedisExecution {
	big := map[string]any{"manifest": strings.Repeat("x", 200_000)} // a stage context of 200 KB
	return []migratetest.RedisExecution{
		{Type: "pipeline", ID: "01HP0001", Application: "shop", Name: "deploy", PipelineConfigID: "cfg-deploy", Status: "SUCCEEDED", BuildTime: 1_700_000_000_000,
			Stages: []migratetest.RedisStage{{ID: "s1", RefID: "1", Type: "bake", Name: "Bake", Status: "SUCCEEDED", Context: big},
				{ID: "s2", RefID: "2", Type: "deployManifest", Name: "Deploy", Status: "SUCCEEDED"}}},
		{Type: "pipeline", ID: "01HP0002", Application: "shop", Name: "deploy", PipelineConfigID: "cfg-deploy", Status: "RUNNING", BuildTime: 1_700_000_100_000,
			Stages: []migratetest.RedisStage{{ID: "s1", RefID: "1", Type: "wait", Name: "Wait", Status: "RUNNING"}}},
		{Type: "pipeline", ID: "01HP0003", Application: "shop", Name: "deploy", PipelineConfigID: "cfg-deploy", Status: "BUFFERED", BuildTime: 1_700_000_200_000},
		{Type: "pipeline", ID: "01HP0004", Application: "ads", Name: "adhoc", Status: "TERMINAL", BuildTime: 1_700_000_300_000,
			Stages: []migratetest.RedisStage{{ID: "s9", RefID: "1", Type: "script", Name: "Script ünïcødé \x00 bytes", Status: "TERMINAL"}}},
		{Type: "orchestration", ID: "01HO0001", Application: "shop", Name: "Resize server group", Status: "SUCCEEDED", CorrelationID: "corr-done"},
		{Type: "orchestration", ID: "01HO0002", Application: "ads", Name: "Rollback", Status: "RUNNING", CorrelationID: "corr-running",
			Stages: []migratetest.RedisStage{{ID: "t1", RefID: "1", Type: "rollbackServerGroup", Name: "Rollback", Status: "RUNNING"}}},
	}
}

func storeAll(t *testing.T, c *redis.Client, es ...migratetest.RedisExecution) {
	t.Helper()
	for _, e := range es {
		if err := migratetest.StoreRedisExecution(t.Context(), c, OrcaQueueName, e); err != nil {
			t.Fatal(err)
		}
	}
}

// The old Redis's executions, as Orca wrote them, copied into the new one:
// the first run whole, the next ones only what changed, deletions followed,
// the new Orca's own executions and the old Orca's queue left alone.
func TestCopyOrcaExecutions(t *testing.T) {
	ctx := t.Context()
	p := startRedisPair(t)
	es := legacyExecutions()
	storeAll(t, p.old, es...)
	// The old Orca's work queue and a pending start: not copied.
	p.old.Set(ctx, "orca.task.queue.messages", "…", 0)
	p.old.ZAdd(ctx, "orca.task.queue.queue", redis.Z{Score: 1, Member: "m1"})
	for range 2 {
		if err := migratetest.EnqueuePendingStart(ctx, p.old, "cfg-deploy", map[string]any{"kind": "startExecution", "executionId": "01HP0003"}); err != nil {
			t.Fatal(err)
		}
	}
	// The new Orca already ran one execution of its own.
	mine := migratetest.RedisExecution{Type: "pipeline", ID: "01HNEW01", Application: "shop", Name: "deploy", PipelineConfigID: "cfg-deploy", Status: "SUCCEEDED", BuildTime: 1_800_000_000_000}
	storeAll(t, p.new, mine)
	p.new.Set(ctx, "correlation:corr-new", mine.ID, 0)
	newBefore := dumpRedis(t, p.new, nil)
	oldBefore := dumpRedis(t, p.old, nil)

	res, err := CopyOrcaExecutions(ctx, p.copier(), quiet())
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(oldBefore, dumpRedis(t, p.old, nil)) {
		t.Error("the copy wrote into the old Redis")
	}
	if res.Executions != 6 || res.Copied != 6 || res.Unchanged != 0 || res.Deleted != 0 || res.Pending != 2 || res.Correlations != 2 {
		t.Fatalf("first copy: %+v", res)
	}
	slices.Sort(res.Unfinished)
	if want := []string{"orchestration:01HO0002 RUNNING", "pipeline:01HP0002 RUNNING", "pipeline:01HP0003 BUFFERED"}; !slices.Equal(res.Unfinished, want) {
		t.Errorf("unfinished %q, want %q", res.Unfinished, want)
	}
	if res.Bytes < 200_000 {
		t.Errorf("bytes %d", res.Bytes)
	}
	t.Logf("first copy: %s", res)
	assertCopied(t, p, mine, newBefore)

	// The old Orca goes on: a stage added, an execution deleted, a new one.
	if err := migratetest.AddRedisStage(ctx, p.old, es[1], migratetest.RedisStage{ID: "s2", RefID: "2", Type: "deploy", Name: "Deploy", Status: "NOT_STARTED"}); err != nil {
		t.Fatal(err)
	}
	if err := migratetest.DeleteRedisExecution(ctx, p.old, OrcaQueueName, es[3]); err != nil {
		t.Fatal(err)
	}
	storeAll(t, p.old, migratetest.RedisExecution{Type: "orchestration", ID: "01HO0003", Application: "ads", Name: "Enable", Status: "SUCCEEDED"})
	res, err = CopyOrcaExecutions(ctx, p.copier(), quiet())
	if err != nil {
		t.Fatal(err)
	}
	if res.Executions != 6 || res.Copied != 2 || res.Unchanged != 4 || res.Deleted != 1 {
		t.Fatalf("second copy: %+v", res)
	}
	t.Logf("second copy: %s", res)
	assertCopied(t, p, mine, newBefore)

	c := p.copier()
	c.Verify = true
	res, err = CopyOrcaExecutions(ctx, c, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if res.Copied != 0 || res.Unchanged != 6 || !res.Verified {
		t.Fatalf("third copy: %+v", res)
	}
	if !strings.Contains(res.String(), "every execution matches the old Redis") || !strings.Contains(res.String(), "2 pending starts in the old Orca's queue were not copied") {
		t.Errorf("summary %q", res)
	}
}

// assertCopied checks that the new Redis holds the old one's executions,
// index sets and correlation ids, plus exactly what the new Orca had.
func assertCopied(t *testing.T, p redisPair, mine migratetest.RedisExecution, newBefore map[string]string) {
	t.Helper()
	ctx := t.Context()
	got := dumpRedis(t, p.new, nil)
	for k, v := range newBefore {
		if (strings.Contains(k, mine.ID) || k == "correlation:corr-new") && got[k] != v {
			t.Errorf("the new Orca's %s changed: %s", k, got[k])
		}
	}
	// Without the new Orca's execution, the new Redis is the old one less
	// its queue.
	if err := migratetest.DeleteRedisExecution(ctx, p.new, OrcaQueueName, mine); err != nil {
		t.Fatal(err)
	}
	p.new.Del(ctx, "correlation:corr-new")
	got = dumpRedis(t, p.new, nil)
	storeAll(t, p.new, mine)
	p.new.Set(ctx, "correlation:corr-new", mine.ID, 0)
	old := dumpRedis(t, p.old, notCopied)
	for k := range old {
		if old[k] != got[k] {
			t.Errorf("%s:\n old %.200s\n new %.200s", k, old[k], got[k])
		}
	}
	for k := range got {
		if _, ok := old[k]; !ok {
			t.Errorf("%s is in the new Redis only: %.200s", k, got[k])
		}
	}
}

// What a copy refuses, and what it leaves alone: nothing it did not copy is
// ever overwritten or deleted.
func TestCopyOrcaExecutionsRefusals(t *testing.T) {
	ctx := t.Context()
	p := startRedisPair(t)
	es := legacyExecutions()
	storeAll(t, p.old, es...)

	t.Run("the same database", func(t *testing.T) {
		c := p.copier()
		c.To, c.ToName = p.old, p.oldURL
		_, err := CopyOrcaExecutions(ctx, c, quiet())
		if err == nil || !strings.Contains(err.Error(), "are the same Redis database") {
			t.Fatalf("err %v", err)
		}
		// Another database of the same server is another keyspace: allowed.
		other := p.oldSrv.Client(t, 3)
		c.To, c.ToName = other, p.oldURL+"-db3"
		res, err := CopyOrcaExecutions(ctx, c, quiet())
		if err != nil || res.Copied != 6 {
			t.Fatalf("into database 3: %+v, %v", res, err)
		}
	})

	t.Run("another old installation", func(t *testing.T) {
		q := startRedisPair(t)
		storeAll(t, q.old, es[0])
		if _, err := CopyOrcaExecutions(ctx, q.copier(), quiet()); err != nil {
			t.Fatal(err)
		}
		before := dumpRedis(t, q.new, nil)
		c := q.copier()
		c.From, c.FromName = p.old, p.oldURL
		_, err := CopyOrcaExecutions(ctx, c, quiet())
		if err == nil || !strings.Contains(err.Error(), "was filled from "+q.oldURL+" (run_id ") || !strings.Contains(err.Error(), "not "+p.oldURL+" (run_id ") {
			t.Fatalf("err %v", err)
		}
		if after := dumpRedis(t, q.new, nil); !maps.Equal(before, after) {
			t.Error("the refused copy wrote into the new Redis")
		}
		// The same old server under another address (a port-forward's
		// port changes between runs): the same source.
		c = q.copier()
		c.FromName = "redis://localhost:16379/0"
		if res, err := CopyOrcaExecutions(ctx, c, quiet()); err != nil || res.Unchanged != 1 {
			t.Errorf("the same server under another address: %+v, %v", res, err)
		}
		// The same address after the old server restarted (a new run_id).
		q.new.HSet(ctx, orcaRecordSource, "run_id", "before-the-restart")
		if res, err := CopyOrcaExecutions(ctx, c, quiet()); err != nil || res.Unchanged != 1 {
			t.Errorf("the same address, another run_id: %+v, %v", res, err)
		}
	})

	t.Run("executions the copy did not make", func(t *testing.T) {
		q := startRedisPair(t)
		storeAll(t, q.old, es...)
		// The new Redis has an execution of the same id that spinops did
		// not copy (another tool, or the new Orca): never overwritten.
		foreign := es[0]
		foreign.Status, foreign.Stages = "CANCELED", nil
		storeAll(t, q.new, foreign)
		res, err := CopyOrcaExecutions(ctx, q.copier(), quiet())
		if err == nil || !strings.Contains(err.Error(), "pipeline:01HP0001 is in the new Redis and was not copied there by spinops: left as it is") {
			t.Fatalf("err %v", err)
		}
		if res.Copied != 5 {
			t.Errorf("copied %d, want the 5 others", res.Copied)
		}
		if st := q.new.HGet(ctx, "pipeline:01HP0001", "status").Val(); st != "CANCELED" {
			t.Errorf("the foreign execution was overwritten: status %s", st)
		}

		// Changed in both after the copy: the new one is kept.
		if err := migratetest.AddRedisStage(ctx, q.old, es[1], migratetest.RedisStage{ID: "old2", RefID: "2", Type: "wait", Name: "Old", Status: "NOT_STARTED"}); err != nil {
			t.Fatal(err)
		}
		q.new.HSet(ctx, "pipeline:01HP0002", "status", "CANCELED", "canceled", "true")
		// Deleted from the old one but changed in the new one: not deleted.
		if err := migratetest.DeleteRedisExecution(ctx, q.old, OrcaQueueName, es[4]); err != nil {
			t.Fatal(err)
		}
		q.new.HSet(ctx, "orchestration:01HO0001", "status", "TERMINAL")
		newBefore := dumpRedis(t, q.new, nil)
		_, err = CopyOrcaExecutions(ctx, q.copier(), quiet())
		for _, want := range []string{
			"pipeline:01HP0002 was changed in the new Redis after it was copied, and in the old one too: left as the new Orca has it",
			"orchestration:01HO0001 is gone from the old Redis but was changed in the new one after it was copied: not deleted",
		} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("err %v\nwant %q", err, want)
			}
		}
		if after := dumpRedis(t, q.new, nil); !maps.Equal(newBefore, after) {
			t.Error("the new Orca's changes were overwritten or deleted")
		}
	})

	t.Run("verify finds what differs", func(t *testing.T) {
		q := startRedisPair(t)
		storeAll(t, q.old, es...)
		if _, err := CopyOrcaExecutions(ctx, q.copier(), quiet()); err != nil {
			t.Fatal(err)
		}
		q.new.SRem(ctx, "allJobs:pipeline", "01HP0004")
		q.new.HSet(ctx, "orchestration:01HO0002", "stage.t1.status", "SUCCEEDED")
		c := q.copier()
		c.Verify = true
		_, err := CopyOrcaExecutions(ctx, c, quiet())
		for _, want := range []string{"verifying the copy: 2 executions differ", "orchestration:01HO0002 differs in the new Redis",
			"pipeline:01HP0004 is missing from an index set of the new Redis"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("err %v\nwant %q", err, want)
			}
		}
	})
}

// failWrite makes the n-th write of a copy (the transaction that writes an
// execution with its record) fail as a lost connection does: before it
// reaches the server, or after the server ran it and before the answer.
type failWrite struct {
	n, at  atomic.Int64
	landed bool
}

func (h *failWrite) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *failWrite) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *failWrite) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		write := false
		for _, c := range cmds {
			if a := c.Args(); len(a) > 1 && c.Name() == "hset" && a[1] == orcaRecordExecutions {
				write = true
			}
		}
		if write && h.n.Add(1) == h.at.Load() {
			if h.landed {
				_ = next(ctx, cmds)
			}
			return errors.New("connection reset by peer")
		}
		return next(ctx, cmds)
	}
}

// A copy that dies at any write is finished by running it again: nothing
// lost, nothing half written, no execution copied twice.
func TestCopyOrcaExecutionsFailsMidway(t *testing.T) {
	ctx := t.Context()
	es := legacyExecutions()
	for _, landed := range []bool{false, true} {
		for _, at := range []int64{1, 4, 6} {
			t.Run(fmt.Sprintf("write %d landed %v", at, landed), func(t *testing.T) {
				p := startRedisPair(t)
				storeAll(t, p.old, es...)
				h := &failWrite{landed: landed}
				h.at.Store(at)
				c := p.copier()
				c.To = p.newSrv.Client(t, 0)
				c.To.AddHook(h)
				first, err := CopyOrcaExecutions(ctx, c, quiet())
				if err == nil || !strings.Contains(err.Error(), "connection reset by peer") || !strings.Contains(err.Error(), "run the copy again to finish") {
					t.Fatalf("err %v", err)
				}
				if first.Copied != int(at-1) {
					t.Errorf("copied %d before the failure, want %d", first.Copied, at-1)
				}
				second, err := CopyOrcaExecutions(ctx, p.copier(), quiet())
				if err != nil {
					t.Fatal(err)
				}
				wantCopied := 6 - int(at-1)
				if landed {
					wantCopied-- // written with its record: unchanged now
				}
				if second.Copied != wantCopied || second.Copied+second.Unchanged != 6 {
					t.Errorf("second run %+v, want %d copied", second, wantCopied)
				}
				if old, got := dumpRedis(t, p.old, notCopied), dumpRedis(t, p.new, nil); !maps.Equal(old, got) {
					t.Errorf("after the second run the new Redis differs from the old one")
				}
			})
		}
	}
}

// The old Orca keeps writing while the copy runs (an at-will migration's
// first copies): each execution is read in one transaction, so the copy
// never holds a stage index and stages that do not belong together.
func TestCopyOrcaExecutionsWhileOrcaWrites(t *testing.T) {
	ctx := t.Context()
	p := startRedisPair(t)
	es := legacyExecutions()
	storeAll(t, p.old, es...)
	running := es[1]
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var added atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		e := running
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			s := migratetest.RedisStage{ID: fmt.Sprintf("w%04d", i), RefID: fmt.Sprint(i + 2), Type: "wait", Name: "Wait", Status: "NOT_STARTED"}
			if err := migratetest.AddRedisStage(context.Background(), p.old, e, s); err != nil {
				t.Error(err)
				return
			}
			e.Stages = append(e.Stages, s)
			added.Add(1)
			time.Sleep(time.Millisecond) // Orca's pace, not a flood: the execution stays copyable
		}
	}()
	for range 20 {
		if _, err := CopyOrcaExecutions(ctx, p.copier(), quiet()); err != nil {
			close(stop)
			wg.Wait()
			t.Fatal(err)
		}
		// Every stage in the index has its fields, and no stage has fields
		// without being in the index.
		ids := p.new.LRange(ctx, "pipeline:"+running.ID+":stageIndex", 0, -1).Val()
		fields := p.new.HKeys(ctx, "pipeline:"+running.ID).Val()
		var withFields []string
		for _, f := range fields {
			if id, ok := strings.CutSuffix(strings.TrimPrefix(f, "stage."), ".status"); ok && strings.HasPrefix(f, "stage.") {
				withFields = append(withFields, id)
			}
		}
		slices.Sort(withFields)
		if sorted := slices.Sorted(slices.Values(ids)); !slices.Equal(sorted, withFields) {
			close(stop)
			wg.Wait()
			t.Fatalf("the copy holds %d stages in the index and %d with fields", len(ids), len(withFields))
		}
	}
	close(stop)
	wg.Wait()
	c := p.copier()
	c.Verify = true
	res, err := CopyOrcaExecutions(ctx, c, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d stages added while copying; last copy: %s", added.Load(), res)
	if added.Load() < 20 {
		t.Errorf("only %d stages added while copying", added.Load())
	}
}
