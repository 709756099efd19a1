package monitor

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// gateStandIn is a Gate and a Deck for tests, behaving as the real ones do
// (spinnaker/gate):
//   - /health is Spring Boot's actuator endpoint, permitted without
//     authentication (gate-core AuthConfig.java: antMatchers("/health").permitAll());
//     200 {"status":"UP"}, or 503 {"status":"DOWN"} when a health indicator is down.
//   - every other path is authenticated (antMatchers("/**").authenticated());
//     with gate-basic (BasicAuthConfig.java: formLogin + httpBasic with a
//     LoginUrlAuthenticationEntryPoint("/login")) a request without valid
//     credentials is redirected to /login with 302.
//   - GET /applications (ApplicationController.groovy) and GET /credentials
//     (CredentialsController.groovy) answer JSON arrays.
//
// down makes every endpoint answer 503, as a Gate whose backends are gone
// or a load balancer with no healthy target does.
type gateStandIn struct {
	gate, deck     *httptest.Server
	user, password string
	down           atomic.Bool
	requests       atomic.Int64
	// pipelines are "<application>/<name>" → the statuses successive GETs
	// of an execution return (the last one repeats).
	pipelines  map[string][]string
	mu         sync.Mutex
	executions map[string][]string
	// canceled are the executions canceled, id → reason.
	canceled map[string]string
	// apps are the applications Front50 knows besides those of pipelines;
	// tasks the Orca operations posted to /tasks; saved the pipeline
	// definitions posted to /pipelines; refuseSave, when set, is the
	// message a save is refused with (400).
	apps       map[string]bool
	tasks      []map[string]any
	saved      []map[string]any
	refuseSave string
}

func (g *gateStandIn) knowsApp(name string) bool {
	if g.apps[name] {
		return true
	}
	for k := range g.pipelines {
		if app, _, _ := strings.Cut(k, "/"); app == name {
			return true
		}
	}
	return false
}

func newGateStandIn(t *testing.T) *gateStandIn {
	g := &gateStandIn{user: "monitor", password: "s3cret-gate-password"}
	g.gate = httptest.NewServer(http.HandlerFunc(g.serveGate))
	g.deck = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.requests.Add(1)
		if g.down.Load() {
			http.Error(w, "no healthy upstream", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<!doctype html><html><head><title>Spinnaker</title></head><body></body></html>"))
	}))
	t.Cleanup(g.gate.Close)
	t.Cleanup(g.deck.Close)
	return g
}

func (g *gateStandIn) serveGate(w http.ResponseWriter, r *http.Request) {
	g.requests.Add(1)
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/health" {
		if g.down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"DOWN"}`))
			return
		}
		_, _ = w.Write([]byte(`{"status":"UP"}`))
		return
	}
	u, p, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(u+":"+p), []byte(g.user+":"+g.password)) != 1 {
		http.Redirect(w, r, "/login", http.StatusFound)
		return
	}
	if g.down.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/pipelines/") {
		g.servePipelines(w, r)
		return
	}
	if r.URL.Path == "/tasks" || strings.HasPrefix(r.URL.Path, "/tasks/") || r.URL.Path == "/pipelines" ||
		strings.HasPrefix(r.URL.Path, "/applications/") {
		g.serveCreation(w, r)
		return
	}
	switch r.URL.Path {
	case "/applications":
		_, _ = w.Write([]byte(`[{"name":"demo","email":"ops@example.com","accounts":"green"}]`))
	case "/credentials":
		_, _ = w.Write([]byte(`[{"name":"green","type":"kubernetes","authorized":true}]`))
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// servePipelines is Gate's PipelineController: POST
// /pipelines/{application}/{pipelineNameOrId} answers 202 with Orca's
// {"ref": "/pipelines/<id>"} (404 for an unknown pipeline); GET
// /pipelines/{id} the execution with its ExecutionStatus; PUT
// /pipelines/{id}/cancel (cancelPipeline: optional reason parameter, a
// void handler so 200 and no body; an unknown execution is Orca's 404)
// cancels it: Orca records canceled, canceledBy and cancellationReason
// and the execution ends CANCELED.
func (g *gateStandIn) servePipelines(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	rest := strings.TrimPrefix(r.URL.Path, "/pipelines/")
	switch r.Method {
	case http.MethodPost:
		script, ok := g.pipelines[rest]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":"Not Found","message":"Pipeline not found"}`))
			return
		}
		if g.executions == nil {
			g.executions = map[string][]string{}
		}
		id := fmt.Sprintf("01EXEC%04d", len(g.executions))
		g.executions[id] = append([]string(nil), script...)
		w.WriteHeader(http.StatusAccepted)
		_, _ = fmt.Fprintf(w, `{"ref":"/pipelines/%s"}`, id)
	case http.MethodGet:
		script, ok := g.executions[rest]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		status := script[0]
		if len(script) > 1 {
			g.executions[rest] = script[1:]
		}
		_, _ = fmt.Fprintf(w, `{"id":%q,"status":%q,"application":"canary"}`, rest, status)
	case http.MethodPut:
		id, ok := strings.CutSuffix(rest, "/cancel")
		if _, known := g.executions[id]; !ok || !known {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if g.canceled == nil {
			g.canceled = map[string]string{}
		}
		g.canceled[id] = r.URL.Query().Get("reason")
		g.executions[id] = []string{"CANCELED"}
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

// serveCreation is what creating an application and a pipeline goes
// through:
//   - ApplicationController.groovy GET /applications/{application}: the
//     application, or 404 {"message": "Application not found (id: …)"}.
//   - TaskController POST /tasks: Orca's {"ref": "/tasks/<id>"} for the
//     operation posted; a createApplication job registers the application
//     in Front50 and the task SUCCEEDs, any other job type ends TERMINAL
//     here. GET /tasks/{id}: the task with its status.
//   - PipelineController.groovy POST /pipelines: saves the definition
//     (Gate waits for Orca's savePipeline task): 200 and no body, or 400
//     with Gate's PipelineException message.
func (g *gateStandIn) serveCreation(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var body map[string]any
	if r.Method == http.MethodPost {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
	}
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/applications/"):
		name := strings.TrimPrefix(r.URL.Path, "/applications/")
		if !g.knowsApp(name) {
			w.WriteHeader(http.StatusNotFound)
			_, _ = fmt.Fprintf(w, `{"error":"Not Found","message":"Application not found (id: %s)"}`, name)
			return
		}
		_, _ = fmt.Fprintf(w, `{"name":%q,"attributes":{"name":%q}}`, name, name)
	case r.Method == http.MethodPost && r.URL.Path == "/tasks":
		g.tasks = append(g.tasks, body)
		_, _ = fmt.Fprintf(w, `{"ref":"/tasks/01TASK%04d"}`, len(g.tasks)-1)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/tasks/"):
		var n int
		if _, err := fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/tasks/"), "01TASK%04d", &n); err != nil || n >= len(g.tasks) {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		status := "TERMINAL"
		jobs, _ := g.tasks[n]["job"].([]any)
		if len(jobs) == 1 {
			job, _ := jobs[0].(map[string]any)
			app, _ := job["application"].(map[string]any)
			if name, _ := app["name"].(string); job["type"] == "createApplication" && name != "" {
				if g.apps == nil {
					g.apps = map[string]bool{}
				}
				g.apps[name] = true
				status = "SUCCEEDED"
			}
		}
		_, _ = fmt.Fprintf(w, `{"id":"01TASK%04d","status":%q}`, n, status)
	case r.Method == http.MethodPost && r.URL.Path == "/pipelines":
		app, _ := body["application"].(string)
		name, _ := body["name"].(string)
		if g.refuseSave != "" || app == "" || name == "" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = fmt.Fprintf(w, `{"error":"Bad Request","message":%q}`, g.refuseSave)
			return
		}
		g.saved = append(g.saved, body)
		g.pipelines[app+"/"+name] = []string{"RUNNING", "SUCCEEDED"}
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func (g *gateStandIn) endpoints() Endpoints {
	return Endpoints{GateURL: g.gate.URL, DeckURL: g.deck.URL, Auth: GateAuth{Username: g.user, Password: g.password}}
}

// Each copied behaviour of the stand-in has its test.
func TestGateStandInBehavesAsGate(t *testing.T) {
	g := newGateStandIn(t)
	get := func(path string, auth bool) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, g.gate.URL+path, nil)
		if auth {
			req.SetBasicAuth(g.user, g.password)
		}
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp
	}
	if r := get("/health", false); r.StatusCode != 200 {
		t.Errorf("/health without credentials: %d, want 200 (permitAll)", r.StatusCode)
	}
	if r := get("/applications", false); r.StatusCode != 302 || r.Header.Get("Location") != "/login" {
		t.Errorf("/applications without credentials: %d → %q, want 302 → /login", r.StatusCode, r.Header.Get("Location"))
	}
	if r := get("/credentials", true); r.StatusCode != 200 {
		t.Errorf("/credentials with credentials: %d", r.StatusCode)
	}
	// PipelineController: POST /pipelines/{app}/{name} → 202 {"ref":
	// "/pipelines/<id>"}, 404 when unknown; GET /pipelines/{id} → status.
	g.pipelines = map[string][]string{"canary/noop": {"RUNNING", "SUCCEEDED"}}
	post := func(path string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodPost, g.gate.URL+path, strings.NewReader(`{}`))
		req.SetBasicAuth(g.user, g.password)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		return resp, string(b)
	}
	if r, _ := post("/pipelines/canary/nope"); r.StatusCode != 404 {
		t.Errorf("unknown pipeline: %d, want 404", r.StatusCode)
	}
	r, body := post("/pipelines/canary/noop")
	if r.StatusCode != 202 || body != `{"ref":"/pipelines/01EXEC0000"}` {
		t.Errorf("trigger: %d %s", r.StatusCode, body)
	}
	if r := get("/pipelines/01EXEC0000", true); r.StatusCode != 200 {
		t.Errorf("execution: %d", r.StatusCode)
	}
	put := func(path string) int {
		req, _ := http.NewRequest(http.MethodPut, g.gate.URL+path, nil)
		req.SetBasicAuth(g.user, g.password)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if len(b) != 0 {
			t.Errorf("PUT %s answered a body %q; cancelPipeline is void", path, b)
		}
		return resp.StatusCode
	}
	if code := put("/pipelines/01EXEC0000/cancel?reason=why"); code != 200 || g.canceled["01EXEC0000"] != "why" {
		t.Errorf("cancel: %d, recorded %v", code, g.canceled)
	}
	if code := put("/pipelines/01EXEC9999/cancel"); code != 404 {
		t.Errorf("cancel of an unknown execution: %d, want 404", code)
	}
	// Creating: an unknown application is a 404; a createApplication task
	// registers it; a saved pipeline can be triggered.
	if r := get("/applications/fresh", true); r.StatusCode != 404 {
		t.Errorf("unknown application: %d, want 404", r.StatusCode)
	}
	if r, body := post("/tasks"); r.StatusCode != 200 || body != `{"ref":"/tasks/01TASK0000"}` {
		t.Errorf("task: %d %s", r.StatusCode, body)
	}
	g.tasks[0] = map[string]any{"job": []any{map[string]any{"type": "createApplication", "application": map[string]any{"name": "fresh"}}}}
	if r := get("/tasks/01TASK0000", true); r.StatusCode != 200 {
		t.Errorf("task status: %d", r.StatusCode)
	}
	if r := get("/applications/fresh", true); r.StatusCode != 200 {
		t.Errorf("created application: %d", r.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPost, g.gate.URL+"/pipelines", strings.NewReader(`{"application":"fresh","name":"p"}`))
	req.SetBasicAuth(g.user, g.password)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("save: %v %v", resp, err)
	}
	if r, _ := post("/pipelines/fresh/p"); r.StatusCode != 202 {
		t.Errorf("trigger of the saved pipeline: %d", r.StatusCode)
	}
	g.down.Store(true)
	if r := get("/health", false); r.StatusCode != 503 {
		t.Errorf("/health when down: %d, want 503", r.StatusCode)
	}
}
