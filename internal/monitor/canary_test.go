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
		return CanaryCheck("canary", pipeline, timeout, 5*time.Millisecond).Run(t.Context(), &e, time.Second)
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
	if r := run("stuck", 100*time.Millisecond); r.OK || !strings.Contains(r.Reason, "still RUNNING when the check timed out") || r.Latency < 100*time.Millisecond {
		t.Errorf("stuck: %+v", r)
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
