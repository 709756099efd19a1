package migratetest

// Each copied behaviour of the stand-ins, on its own.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func httptestServer(t *testing.T, h http.Handler) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.URL
}

func standInCall(t *testing.T, method, url, body string, v any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
	}
	return resp.StatusCode
}

// An instance out of service takes nothing from the shared queue: a new
// execution is still accepted (NOT_STARTED) but starts only once an
// instance is in service again, and a running one does not complete. One
// instance in service is enough for the queue to move.
func TestOrcaStandInOutOfServiceStopsTheQueue(t *testing.T) {
	q := NewOrcaQueue(t, 2)
	q.AddApplication("shop", "deploy-cfg")
	a, b := httptestServer(t, q.Instances[0]), httptestServer(t, q.Instances[1])
	start := func() string {
		var ref map[string]string
		if code := standInCall(t, "POST", a+"/orchestrate", `{"application":"shop","name":"deploy","id":"deploy-cfg"}`, &ref); code != 200 {
			t.Fatalf("POST /orchestrate: %d", code)
		}
		return strings.TrimPrefix(ref["ref"], "/pipelines/")
	}
	disable := func(url string, enabled bool) {
		if code := standInCall(t, "POST", url+"/admin/instance/enabled", fmt.Sprintf(`{"enabled":%t}`, enabled), nil); code != 200 {
			t.Fatalf("POST /admin/instance/enabled: %d", code)
		}
	}
	first := start()
	Eventually(t, "first RUNNING", func() bool { return q.Status(first) == "RUNNING" })
	disable(a, false)
	disable(a, false) // idempotent
	second := start()
	Eventually(t, "second RUNNING through the other instance", func() bool { return q.Status(second) == "RUNNING" })
	disable(b, false)
	third := start()
	q.Finish(first)
	Stays(t, "third NOT_STARTED, first RUNNING while every instance is out of service", func() bool {
		return q.Status(third) == "NOT_STARTED" && q.Status(first) == "RUNNING"
	})
	disable(b, true)
	Eventually(t, "queue moves again", func() bool { return q.Status(third) == "RUNNING" && q.Status(first) == "SUCCEEDED" })
}

// POST /admin/instance/enabled refuses a body without "enabled", and an
// instance whose status Eureka manages.
func TestOrcaStandInEnabledRefusals(t *testing.T) {
	q := NewOrcaQueue(t, 2)
	q.Instances[1].Eureka = true
	var e map[string]any
	if code := standInCall(t, "POST", httptestServer(t, q.Instances[0])+"/admin/instance/enabled", `{}`, &e); code != 400 || !q.Instances[0].Enabled.Load() {
		t.Errorf("without enabled: %d %v", code, e)
	}
	if code := standInCall(t, "POST", httptestServer(t, q.Instances[1])+"/admin/instance/enabled", `{"enabled":false}`, &e); code != 400 ||
		!strings.Contains(fmt.Sprint(e["message"]), "cannot be overwritten") || !q.Instances[1].Enabled.Load() {
		t.Errorf("under Eureka: %d %v", code, e)
	}
}

// The listings: statuses filter, limit per pipeline config, only configs
// Front50 knows, tasks as OrchestrationViewModel, /pipelines/running gone,
// Front50's names upper case and sorted.
func TestOrcaStandInListings(t *testing.T) {
	q := NewOrcaQueue(t, 1)
	q.AddApplication("shop", "cfg-a", "cfg-b")
	q.AddApplication("billing")
	orca := httptestServer(t, q.Instances[0])
	for range 3 {
		q.Launch("PIPELINE", "shop", "a", "cfg-a")
	}
	q.Launch("PIPELINE", "shop", "b", "cfg-b")
	q.Launch("PIPELINE", "shop", "gone", "cfg-deleted")
	task := q.Launch("ORCHESTRATION", "shop", "Resize", "")
	Eventually(t, "all RUNNING", func() bool { return q.Status(task) == "RUNNING" })
	q.Finish(task)
	Eventually(t, "task done", func() bool { return q.Status(task) == "SUCCEEDED" })

	var ps []Execution
	standInCall(t, "GET", orca+"/applications/shop/pipelines?statuses=RUNNING&limit=2", "", &ps)
	if len(ps) != 3 { // 2 of cfg-a, 1 of cfg-b; cfg-deleted is not in Front50
		t.Errorf("pipelines: %+v", ps)
	}
	standInCall(t, "GET", orca+"/applications/shop/pipelines?statuses=NOT_STARTED", "", &ps)
	if len(ps) != 0 {
		t.Errorf("NOT_STARTED pipelines: %+v", ps)
	}
	var ts []map[string]any
	standInCall(t, "GET", orca+"/applications/shop/tasks?statuses=RUNNING", "", &ts)
	if len(ts) != 0 {
		t.Errorf("running tasks: %v", ts)
	}
	standInCall(t, "GET", orca+"/applications/shop/tasks", "", &ts)
	if len(ts) != 1 || ts[0]["status"] != "SUCCEEDED" || ts[0]["execution"] == nil {
		t.Errorf("tasks: %v", ts)
	}
	if code := standInCall(t, "GET", orca+"/pipelines/running", "", nil); code != http.StatusGone {
		t.Errorf("/pipelines/running: %d", code)
	}
	var apps []map[string]any
	standInCall(t, "GET", httptestServer(t, q.Front50())+"/v2/applications", "", &apps)
	if len(apps) != 2 || apps[0]["name"] != "BILLING" || apps[1]["name"] != "SHOP" {
		t.Errorf("Front50 applications: %v", apps)
	}
}
