package migrate

// Stand-ins for the old installation's Orca (its instances and their shared
// queue) and Front50, which cannot run here. Each copies what the real
// service does, read at these commits (paths in those repositories):
//
//   - spinnaker/orca 2fdb327a9f67345c4919e1503ff5119fa3c31caf
//     AdminController.groovy: POST /admin/instance/enabled takes
//     {"enabled": bool}; "enabled" missing → ValidationException (kork's
//     GenericExceptionHandlers: 400); Eureka managing the status →
//     DiscoveryUnchangeableException (400); otherwise 200, empty body.
//   - spinnaker/kork a7b6fdea15ec2e98c80093947f194afb0ee552f3
//     NoDiscoveryStatusPublisher: enabled → UP, disabled → OUT_OF_SERVICE
//     (both idempotent; UP again at start). orca keiko DiscoveryActivator +
//     QueueProcessor.poll: an instance takes messages from the shared queue
//     only while UP; messages stay queued otherwise.
//   - OperationsController.groovy + ExecutionLauncher.java +
//     QueueExecutionRunner.kt: POST /orchestrate stores the execution
//     NOT_STARTED, pushes StartExecution and answers {"ref": "/pipelines/ID"}
//     whether or not any instance is in service; POST /ops does the same
//     for an orchestration ({"ref": "/tasks/ID"}). StartExecution makes it
//     RUNNING; it completes only through further queue messages.
//   - TaskController.groovy: GET /applications/{app}/pipelines filters by
//     statuses (default all), keeps `limit` (default 5) per pipeline config,
//     and lists only pipeline configs Front50 has for the application;
//     GET /applications/{app}/tasks filters by statuses (default all), limit
//     default 3500, answers OrchestrationViewModel (id, name, application,
//     status, times, execution); GET /pipelines/running answers 410 Gone.
//   - spinnaker/front50 ceda49e0cb67925d85f0dc7f928c8909f53f1813
//     v2/ApplicationsController.java + Application.getName: GET
//     /v2/applications lists every application sorted by name, names upper
//     case.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type standInExecution struct {
	ID               string `json:"id"`
	Type             string `json:"type"`
	Application      string `json:"application"`
	Name             string `json:"name"`
	Status           string `json:"status"`
	PipelineConfigID string `json:"pipelineConfigId,omitempty"`
	BuildTime        int64  `json:"buildTime"`
	StartTime        *int64 `json:"startTime"`
	EndTime          *int64 `json:"endTime"`
}

// orcaQueue is Orca's execution repository and queue, shared by all of its
// instances (SQL or Redis), and Front50's applications and pipeline configs.
type orcaQueue struct {
	mu         sync.Mutex
	executions map[string]*standInExecution
	order      []string
	messages   []orcaMessage
	instances  []*orcaInstance
	// apps: application (as created) → pipeline config ids in Front50.
	apps   map[string][]string
	nextID int
}

type orcaMessage struct{ kind, id string } // kind: start or complete

// orcaInstance is one Orca pod.
type orcaInstance struct {
	q       *orcaQueue
	enabled atomic.Bool
	// eureka: the status is managed by Eureka, not NoDiscoveryStatusPublisher.
	eureka bool
	users  chan string // X-SPINNAKER-USER of each request
}

func newOrcaQueue(t *testing.T, instances int) *orcaQueue {
	q := &orcaQueue{executions: map[string]*standInExecution{}, apps: map[string][]string{}}
	for range instances {
		i := &orcaInstance{q: q, users: make(chan string, 1024)}
		i.enabled.Store(true) // NoDiscoveryStatusPublisher: UP at start
		q.instances = append(q.instances, i)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				q.poll()
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	return q
}

// poll is QueueProcessor.poll of every instance: an instance out of service
// takes nothing.
func (q *orcaQueue) poll() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !slices.ContainsFunc(q.instances, func(i *orcaInstance) bool { return i.enabled.Load() }) {
		return
	}
	now := time.Now().UnixMilli()
	for _, m := range q.messages {
		e := q.executions[m.id]
		switch m.kind {
		case "start":
			e.Status, e.StartTime = "RUNNING", &now
		case "complete":
			e.Status, e.EndTime = "SUCCEEDED", &now
		}
	}
	q.messages = nil
}

// finish pushes the messages that complete a running execution (its
// stages' tasks succeed): they are handled only by an instance in service.
func (q *orcaQueue) finish(id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.messages = append(q.messages, orcaMessage{"complete", id})
}

func (q *orcaQueue) status(id string) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.executions[id].Status
}

func (q *orcaQueue) addApplication(name string, pipelineConfigIDs ...string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.apps[name] = append(q.apps[name], pipelineConfigIDs...)
}

// launch is ExecutionLauncher.start: stored NOT_STARTED, StartExecution
// queued.
func (q *orcaQueue) launch(typ, app, name, configID string) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.nextID++
	id := fmt.Sprintf("01STANDIN%04d", q.nextID)
	q.executions[id] = &standInExecution{ID: id, Type: typ, Application: app, Name: name, Status: "NOT_STARTED",
		PipelineConfigID: configID, BuildTime: time.Now().UnixMilli()}
	q.order = append(q.order, id)
	q.messages = append(q.messages, orcaMessage{"start", id})
	return id
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func springError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"timestamp": time.Now().UnixMilli(), "status": status, "error": http.StatusText(status), "message": msg})
}

func statusFilter(r *http.Request) func(string) bool {
	s := r.URL.Query().Get("statuses")
	if s == "" {
		return func(string) bool { return true }
	}
	set := strings.Split(s, ",")
	return func(st string) bool { return slices.Contains(set, st) }
}

func intParam(r *http.Request, name string, def int) int {
	if v, err := strconv.Atoi(r.URL.Query().Get(name)); err == nil {
		return v
	}
	return def
}

// ServeHTTP is one Orca instance's web API.
func (i *orcaInstance) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case i.users <- r.Header.Get("X-SPINNAKER-USER"):
	default:
	}
	q := i.q
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/admin/instance/enabled":
		var body map[string]*bool
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			springError(w, http.StatusBadRequest, "JSON parse error")
			return
		}
		if i.eureka {
			springError(w, http.StatusBadRequest, "Discovery status cannot be overwritten")
			return
		}
		if body["enabled"] == nil {
			springError(w, http.StatusBadRequest, `The field "enabled" must be set`)
			return
		}
		i.enabled.Store(*body["enabled"])
	case r.Method == http.MethodPost && r.URL.Path == "/orchestrate":
		var p struct{ Application, Name, ID string }
		_ = json.NewDecoder(r.Body).Decode(&p)
		writeJSON(w, http.StatusOK, map[string]string{"ref": "/pipelines/" + q.launch("PIPELINE", p.Application, p.Name, p.ID)})
	case r.Method == http.MethodPost && r.URL.Path == "/ops":
		var p struct{ Application, Description string }
		_ = json.NewDecoder(r.Body).Decode(&p)
		writeJSON(w, http.StatusOK, map[string]string{"ref": "/tasks/" + q.launch("ORCHESTRATION", p.Application, p.Description, "")})
	case r.Method == http.MethodGet && r.URL.Path == "/pipelines/running":
		writeJSON(w, http.StatusGone, []string{})
	case r.Method == http.MethodGet && len(parts) == 3 && parts[0] == "applications" && parts[2] == "pipelines":
		keep, limit := statusFilter(r), intParam(r, "limit", 5)
		q.mu.Lock()
		var configs []string
		for app, ids := range q.apps { // Front50's pipeline lookup ignores case
			if strings.EqualFold(app, parts[1]) {
				configs = append(configs, ids...)
			}
		}
		perConfig := map[string]int{}
		out := []standInExecution{}
		for _, id := range slices.Backward(q.order) { // newest first per config
			e := q.executions[id]
			if e.Type != "PIPELINE" || !slices.Contains(configs, e.PipelineConfigID) || !keep(e.Status) || perConfig[e.PipelineConfigID] >= limit {
				continue
			}
			perConfig[e.PipelineConfigID]++
			out = append(out, *e)
		}
		q.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
	case r.Method == http.MethodGet && len(parts) == 3 && parts[0] == "applications" && parts[2] == "tasks":
		keep, limit := statusFilter(r), intParam(r, "limit", 3500)
		q.mu.Lock()
		out := []map[string]any{}
		for _, id := range q.order {
			e := q.executions[id]
			if e.Type != "ORCHESTRATION" || !strings.EqualFold(e.Application, parts[1]) || !keep(e.Status) || len(out) >= limit {
				continue
			}
			out = append(out, map[string]any{"id": e.ID, "name": e.Name, "application": e.Application, "status": e.Status,
				"buildTime": e.BuildTime, "startTime": e.StartTime, "endTime": e.EndTime, "execution": *e})
		}
		q.mu.Unlock()
		writeJSON(w, http.StatusOK, out)
	default:
		springError(w, http.StatusNotFound, "No handler for "+r.Method+" "+r.URL.Path)
	}
}

// front50 is Front50's application listing over the same applications.
func (q *orcaQueue) front50() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/v2/applications" {
			springError(w, http.StatusNotFound, "No handler for "+r.Method+" "+r.URL.Path)
			return
		}
		q.mu.Lock()
		var out []map[string]any
		for app := range q.apps {
			out = append(out, map[string]any{"name": strings.ToUpper(strings.TrimSpace(app)), "email": "team@example.com"})
		}
		q.mu.Unlock()
		sort.Slice(out, func(i, j int) bool { return out[i]["name"].(string) < out[j]["name"].(string) })
		writeJSON(w, http.StatusOK, out)
	})
}

// Each copied behaviour of the stand-ins, on its own.

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

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
	}
}

func stays(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(100 * time.Millisecond); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if !cond() {
			t.Fatalf("did not stay so: %s", what)
		}
	}
}

// An instance out of service takes nothing from the shared queue: a new
// execution is still accepted (NOT_STARTED) but starts only once an
// instance is in service again, and a running one does not complete. One
// instance in service is enough for the queue to move.
func TestOrcaStandInOutOfServiceStopsTheQueue(t *testing.T) {
	q := newOrcaQueue(t, 2)
	q.addApplication("shop", "deploy-cfg")
	a, b := httptestServer(t, q.instances[0]), httptestServer(t, q.instances[1])
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
	eventually(t, "first RUNNING", func() bool { return q.status(first) == "RUNNING" })
	disable(a, false)
	disable(a, false) // idempotent
	second := start()
	eventually(t, "second RUNNING through the other instance", func() bool { return q.status(second) == "RUNNING" })
	disable(b, false)
	third := start()
	q.finish(first)
	stays(t, "third NOT_STARTED, first RUNNING while every instance is out of service", func() bool {
		return q.status(third) == "NOT_STARTED" && q.status(first) == "RUNNING"
	})
	disable(b, true)
	eventually(t, "queue moves again", func() bool { return q.status(third) == "RUNNING" && q.status(first) == "SUCCEEDED" })
}

// POST /admin/instance/enabled refuses a body without "enabled", and an
// instance whose status Eureka manages.
func TestOrcaStandInEnabledRefusals(t *testing.T) {
	q := newOrcaQueue(t, 2)
	q.instances[1].eureka = true
	var e map[string]any
	if code := standInCall(t, "POST", httptestServer(t, q.instances[0])+"/admin/instance/enabled", `{}`, &e); code != 400 || !q.instances[0].enabled.Load() {
		t.Errorf("without enabled: %d %v", code, e)
	}
	if code := standInCall(t, "POST", httptestServer(t, q.instances[1])+"/admin/instance/enabled", `{"enabled":false}`, &e); code != 400 ||
		!strings.Contains(fmt.Sprint(e["message"]), "cannot be overwritten") || !q.instances[1].enabled.Load() {
		t.Errorf("under Eureka: %d %v", code, e)
	}
}

// The listings: statuses filter, limit per pipeline config, only configs
// Front50 knows, tasks as OrchestrationViewModel, /pipelines/running gone,
// Front50's names upper case and sorted.
func TestOrcaStandInListings(t *testing.T) {
	q := newOrcaQueue(t, 1)
	q.addApplication("shop", "cfg-a", "cfg-b")
	q.addApplication("billing")
	orca := httptestServer(t, q.instances[0])
	for range 3 {
		q.launch("PIPELINE", "shop", "a", "cfg-a")
	}
	q.launch("PIPELINE", "shop", "b", "cfg-b")
	q.launch("PIPELINE", "shop", "gone", "cfg-deleted")
	task := q.launch("ORCHESTRATION", "shop", "Resize", "")
	eventually(t, "all RUNNING", func() bool { return q.status(task) == "RUNNING" })
	q.finish(task)
	eventually(t, "task done", func() bool { return q.status(task) == "SUCCEEDED" })

	var ps []standInExecution
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
	standInCall(t, "GET", httptestServer(t, q.front50())+"/v2/applications", "", &apps)
	if len(apps) != 2 || apps[0]["name"] != "BILLING" || apps[1]["name"] != "SHOP" {
		t.Errorf("Front50 applications: %v", apps)
	}
}
