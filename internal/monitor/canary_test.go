package monitor

import (
	"strings"
	"testing"
	"time"
)

func TestCanaryPipelineCheck(t *testing.T) {
	g := newGateStandIn(t)
	g.pipelines = map[string][]string{
		"canary/noop":    {"NOT_STARTED", "RUNNING", "RUNNING", "SUCCEEDED"},
		"canary/broken":  {"RUNNING", "TERMINAL"},
		"canary/stuck":   {"RUNNING"},
		"canary/skipped": {"SKIPPED"},
	}
	e := g.endpoints()
	run := func(pipeline string, timeout time.Duration) Result {
		return CanaryCheck("canary", pipeline, false, timeout, 5*time.Millisecond).Run(t.Context(), &e, time.Second)
	}
	if r := run("noop", 0); !r.OK || r.HTTPCode != 200 {
		t.Errorf("noop: %+v", r)
	}
	if r := run("broken", 0); !strings.HasPrefix(r.Reason, "canary pipeline execution 01EXEC0001 ended") {
		t.Errorf("the reason names the execution: %+v", r)
	}
	for pipeline, want := range map[string]string{
		"broken":  "ended TERMINAL",
		"skipped": "ended SKIPPED",
		"missing": `Gate has no pipeline "missing" in application "canary"`,
	} {
		if r := run(pipeline, 0); r.OK || !strings.Contains(r.Reason, want) {
			t.Errorf("%s: %+v, want %q", pipeline, r, want)
		}
	}
	if r := run("stuck", 100*time.Millisecond); r.OK || !strings.Contains(r.Reason, "still RUNNING when the check timed out; canceled it") || r.Latency < 100*time.Millisecond {
		t.Errorf("stuck: %+v", r)
	}
	// The execution given up on was canceled, with a reason; the ones that
	// ended were left alone.
	g.mu.Lock()
	canceled := g.canceled
	g.mu.Unlock()
	if len(canceled) != 1 {
		t.Errorf("canceled executions %v, want exactly the stuck one", canceled)
	}
	for id, reason := range canceled {
		if g.executions[id][0] != "CANCELED" || reason != "spinops monitor: the canary check timed out" {
			t.Errorf("execution %s: %v, reason %q", id, g.executions[id], reason)
		}
	}
	// Without valid credentials Gate redirects to /login.
	e.Auth.Password = "wrong"
	if r := run("noop", 0); r.OK || !strings.Contains(r.Reason, "refused the monitor's credentials") {
		t.Errorf("wrong password: %+v", r)
	}
	// Down: 503.
	e.Auth.Password = g.password
	g.down.Store(true)
	if r := run("noop", 0); r.OK || r.Reason != "starting the canary pipeline: HTTP 503" {
		t.Errorf("down: %+v", r)
	}
}

// TestCanaryCreatesItsPipeline: with create, a pipeline Gate does not know
// is created (and its application when Gate does not know that either),
// then started; once there it is only started; a refused save is reported
// with Gate's message.
func TestCanaryCreatesItsPipeline(t *testing.T) {
	g := newGateStandIn(t)
	g.pipelines = map[string][]string{}
	e := g.endpoints()
	run := func(app, pipeline string) Result {
		return CanaryCheck(app, pipeline, true, 0, 5*time.Millisecond).Run(t.Context(), &e, time.Second)
	}
	if r := run("spinops-canary", "noop"); !r.OK {
		t.Fatalf("first run: %+v", r)
	}
	if r := run("spinops-canary", "noop"); !r.OK {
		t.Fatalf("second run: %+v", r)
	}
	g.mu.Lock()
	if len(g.tasks) != 1 || len(g.saved) != 1 {
		t.Fatalf("%d tasks and %d saves, want the application and the pipeline created once", len(g.tasks), len(g.saved))
	}
	job := g.tasks[0]["job"].([]any)[0].(map[string]any)
	if job["type"] != "createApplication" || job["application"].(map[string]any)["name"] != "spinops-canary" || g.tasks[0]["application"] != "spinops-canary" {
		t.Errorf("task: %v", g.tasks[0])
	}
	stages := g.saved[0]["stages"].([]any)
	if g.saved[0]["application"] != "spinops-canary" || g.saved[0]["name"] != "noop" || len(stages) != 1 || stages[0].(map[string]any)["type"] != "wait" {
		t.Errorf("saved pipeline: %v", g.saved[0])
	}
	g.mu.Unlock()

	// The application exists, the pipeline does not: only the pipeline.
	if r := run("spinops-canary", "second"); !r.OK {
		t.Fatalf("second pipeline: %+v", r)
	}
	g.mu.Lock()
	if len(g.tasks) != 1 || len(g.saved) != 2 {
		t.Errorf("%d tasks and %d saves after a second pipeline in the same application", len(g.tasks), len(g.saved))
	}
	g.refuseSave = "Pipeline save operation did not succeed: 01TASK (status: TERMINAL)"
	g.mu.Unlock()
	if r := run("spinops-canary", "refused"); r.OK || !strings.Contains(r.Reason, `creating the canary pipeline "refused" in application "spinops-canary": HTTP 400: Pipeline save operation did not succeed`) {
		t.Errorf("refused save: %+v", r)
	}
	// Without create, nothing is created.
	if r := CanaryCheck("other", "noop", false, 0, 5*time.Millisecond).Run(t.Context(), &e, time.Second); r.OK || !strings.Contains(r.Reason, "create the canary pipeline") {
		t.Errorf("without create: %+v", r)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.tasks) != 1 || g.apps["other"] {
		t.Errorf("without create an application was created: %v", g.tasks)
	}
}

func TestCanaryConfig(t *testing.T) {
	c := &Config{Installation: "p", Interval: Duration(30 * time.Second), Zones: []ZoneConfig{{Name: "g", Namespace: "n", Tier: TierProduction, GateURL: "https://g", DeckURL: "https://d"}},
		CanaryPipeline: &CanaryConfig{Application: "spinops-canary", Pipeline: "noop", Timeout: Duration(20 * time.Second)}}
	o, err := c.Options(nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if n := len(o.Checks); n != 5 || o.Checks[4].Name != "canary-pipeline" || o.Checks[4].Timeout != 20*time.Second {
		t.Fatalf("checks: %d %+v", n, o.Checks)
	}
	o.Store = &ConfigMapStore{}
	if err := o.CheckAndSetDefaults(); err != nil {
		t.Fatal(err)
	}
	c.CanaryPipeline.Timeout = Duration(time.Minute)
	o, _ = c.Options(nil, func(string) string { return "" })
	o.Store = &ConfigMapStore{}
	if err := o.CheckAndSetDefaults(); err == nil || !strings.Contains(err.Error(), "check canary-pipeline: its timeout (1m0s) must be shorter than the interval") {
		t.Fatalf("a canary timeout above the interval: %v", err)
	}
}
