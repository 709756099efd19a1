package migratetest

// This file: Front50's listings Orca's Redis-to-SQL migration agents read
// (spinnaker/orca 2fdb327a9 Front50Service.groovy: GET /v2/applications,
// GET /pipelines?restricted=false, GET /strategies), as Front50 answers
// them (spinnaker/front50 ceda49e0cb67925d85f0dc7f928c8909f53f1813):
//
//   - v2/ApplicationsController.java + Application.getName: every
//     application, sorted by name, names upper case;
//   - PipelineController.java list (@RequestMapping("pipelines")): with
//     none of enabledPipelines, enabledTriggers, triggerTypes, every
//     pipeline config (pipelineDAO.all); restricted=false skips Fiat's
//     filter;
//   - StrategyController.java list (@RequestMapping("strategies")): every
//     strategy (pipelineStrategyDAO.all), filtered by Fiat (none here).
//
// A pipeline config or strategy is answered as its id, application and
// name (Pipeline's JSON has more; the agents read only "id").

import (
	"net/http"
	"sort"
	"strings"
	"sync"
)

// Front50 is Front50's applications, pipeline configs and strategies.
type Front50 struct {
	mu         sync.Mutex
	apps       map[string]bool
	pipelines  []map[string]any
	strategies []map[string]any
}

// NewFront50 is an empty Front50.
func NewFront50() *Front50 { return &Front50{apps: map[string]bool{}} }

// AddApplication adds an application.
func (f *Front50) AddApplication(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.apps[name] = true
}

// AddPipeline adds a pipeline config (or, with strategy, a strategy) of
// application app.
func (f *Front50) AddPipeline(app, id, name string, strategy bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := map[string]any{"id": id, "application": app, "name": name}
	if strategy {
		f.strategies = append(f.strategies, p)
	} else {
		f.pipelines = append(f.pipelines, p)
	}
}

// ServeHTTP answers the three listings.
func (f *Front50) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method != http.MethodGet:
	case r.URL.Path == "/v2/applications":
		writeJSON(w, http.StatusOK, applicationsV2(f.apps))
		return
	case r.URL.Path == "/pipelines":
		writeJSON(w, http.StatusOK, orEmpty(f.pipelines))
		return
	case r.URL.Path == "/strategies":
		writeJSON(w, http.StatusOK, orEmpty(f.strategies))
		return
	}
	springError(w, http.StatusNotFound, "No handler for "+r.Method+" "+r.URL.Path)
}

func orEmpty(l []map[string]any) []map[string]any {
	if l == nil {
		return []map[string]any{}
	}
	return l
}

// applicationsV2 is GET /v2/applications of apps: sorted by name, names
// upper case.
func applicationsV2(apps map[string]bool) []map[string]any {
	out := []map[string]any{}
	for app := range apps {
		out = append(out, map[string]any{"name": strings.ToUpper(strings.TrimSpace(app)), "email": "team@example.com"})
	}
	sort.Slice(out, func(i, j int) bool { return out[i]["name"].(string) < out[j]["name"].(string) })
	return out
}
