// Package migratetest holds stand-ins for the old installation's Orca (its instances and their shared
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
package migratetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type Execution struct {
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

// OrcaQueue is Orca's execution repository and queue, shared by all of its
// instances (SQL or Redis), and Front50's applications and pipeline configs.
type OrcaQueue struct {
	mu         sync.Mutex
	executions map[string]*Execution
	order      []string
	messages   []orcaMessage
	Instances  []*OrcaInstance
	// apps: application (as created) → pipeline config ids in Front50.
	apps   map[string][]string
	nextID int
}

type orcaMessage struct{ kind, id string } // kind: start or complete

// OrcaInstance is one Orca pod.
type OrcaInstance struct {
	q       *OrcaQueue
	Enabled atomic.Bool
	// eureka: the status is managed by Eureka, not NoDiscoveryStatusPublisher.
	Eureka bool
	Users  chan string // X-SPINNAKER-USER of each request
}

// NewOrcaQueue starts the queue of an Orca with instances instances, all
// in service, polled every 5 ms until the test ends.
func NewOrcaQueue(t testing.TB, instances int) *OrcaQueue {
	q := &OrcaQueue{executions: map[string]*Execution{}, apps: map[string][]string{}}
	for range instances {
		i := &OrcaInstance{q: q, Users: make(chan string, 1024)}
		i.Enabled.Store(true) // NoDiscoveryStatusPublisher: UP at start
		q.Instances = append(q.Instances, i)
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
func (q *OrcaQueue) poll() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !slices.ContainsFunc(q.Instances, func(i *OrcaInstance) bool { return i.Enabled.Load() }) {
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

// Finish pushes the messages that complete a running execution (its
// stages' tasks succeed): they are handled only by an instance in service.
func (q *OrcaQueue) Finish(id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.messages = append(q.messages, orcaMessage{"complete", id})
}

// Status is an execution's status.
func (q *OrcaQueue) Status(id string) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.executions[id].Status
}

// AddApplication adds an application to Front50, with its pipeline configs.
func (q *OrcaQueue) AddApplication(name string, pipelineConfigIDs ...string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.apps[name] = append(q.apps[name], pipelineConfigIDs...)
}

// Launch is ExecutionLauncher.start: stored NOT_STARTED, StartExecution
// queued.
func (q *OrcaQueue) Launch(typ, app, name, configID string) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.nextID++
	id := fmt.Sprintf("01STANDIN%04d", q.nextID)
	q.executions[id] = &Execution{ID: id, Type: typ, Application: app, Name: name, Status: "NOT_STARTED",
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
func (i *OrcaInstance) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case i.Users <- r.Header.Get("X-SPINNAKER-USER"):
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
		if i.Eureka {
			springError(w, http.StatusBadRequest, "Discovery status cannot be overwritten")
			return
		}
		if body["enabled"] == nil {
			springError(w, http.StatusBadRequest, `The field "enabled" must be set`)
			return
		}
		i.Enabled.Store(*body["enabled"])
	case r.Method == http.MethodPost && r.URL.Path == "/orchestrate":
		var p struct{ Application, Name, ID string }
		_ = json.NewDecoder(r.Body).Decode(&p)
		writeJSON(w, http.StatusOK, map[string]string{"ref": "/pipelines/" + q.Launch("PIPELINE", p.Application, p.Name, p.ID)})
	case r.Method == http.MethodPost && r.URL.Path == "/ops":
		var p struct{ Application, Description string }
		_ = json.NewDecoder(r.Body).Decode(&p)
		writeJSON(w, http.StatusOK, map[string]string{"ref": "/tasks/" + q.Launch("ORCHESTRATION", p.Application, p.Description, "")})
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
		out := []Execution{}
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

// Front50 is Front50's application listing over the same applications.
func (q *OrcaQueue) Front50() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/v2/applications" {
			springError(w, http.StatusNotFound, "No handler for "+r.Method+" "+r.URL.Path)
			return
		}
		q.mu.Lock()
		apps := map[string]bool{}
		for app := range q.apps {
			apps[app] = true
		}
		q.mu.Unlock()
		writeJSON(w, http.StatusOK, applicationsV2(apps))
	})
}
