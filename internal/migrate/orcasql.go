package migrate

// What of Orca's executions in Redis a new Orca on SQL has moved into its
// database with its own migration agents (the zone's
// sql.orca_executions_from_redis), and what it still will.
//
// The agents are Orca's (spinnaker/orca 2fdb327a9, orca-migration
// PipelineMigrationAgent.kt and OrchestrationMigrationAgent.kt); each tick:
//
//   - pipelines: for every pipeline and strategy config Front50 lists, the
//     previous (Redis) repository's retrievePipelinesForPipelineConfigId
//     with statuses = ExecutionStatus.COMPLETED and pageSize 50:
//     ZREVRANGE pipeline:executions:<configId> 0 -1 (newest build time
//     first), only those whose hash has a COMPLETED status, the first 50
//     (RedisExecutionRepository.java). Those not yet in SQL are stored there.
//     So a finished pipeline that is not among the 50 newest finished of its
//     config, or has no config id ("---"), is never moved.
//   - orchestrations: for every application Front50 lists, its name lower
//     cased, retrieveOrchestrationsForApplication with the same statuses
//     and pageSize 3500: SMEMBERS orchestration:app:<application> in the
//     order Redis answers, only COMPLETED ones, the first 3500; then the
//     not yet moved ones oldest first, 1000 per tick. An application with
//     more than 3500 finished orchestrations keeps the rest in Redis. How
//     many is exact; which ones follows the order Jedis hands Orca the
//     members in, taken here as Redis's own (Jedis's smembers keeps it in
//     the 2.x/3.x line, SetFromList; the Jedis version Orca runs with
//     comes from kork and was not checked).
//   - COMPLETED is CANCELED, SUCCEEDED, STOPPED, SKIPPED, TERMINAL,
//     FAILED_CONTINUE (orca-api ExecutionStatus.java): running, paused or
//     buffered executions are moved once they finish.
//   - SqlExecutionRepository.storeExecutionInternal keeps an execution under
//     its own id when it is a ULID, else under a new ULID with its id in
//     legacy_id (mapLegacyId), in table pipelines or orchestrations
//     (orca-sql db/changelog 20180424-initial-schema.yml,
//     20180510-add-legacy-id-fields.yml).
//
// With Front50 (the new zone's), its listings are read as the agents read
// them (GET /pipelines?restricted=false and /strategies for the config ids,
// GET /v2/applications for the applications, lower cased): an execution of
// a pipeline config or application Front50 no longer has is out of reach.
// Without it, such an execution is counted as waiting (the report says so).

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Orca's migration agents' page sizes (see above).
const (
	orcaPipelineMigratorPage      = 50
	orcaOrchestrationMigratorPage = 3500
)

// orcaCompleted is ExecutionStatus.COMPLETED.
var orcaCompleted = map[string]bool{"CANCELED": true, "SUCCEEDED": true, "STOPPED": true, "SKIPPED": true, "TERMINAL": true, "FAILED_CONTINUE": true}

// OrcaSQLStatus compares the executions in the new zone's Redis with those
// in its Orca's SQL database.
type OrcaSQLStatus struct {
	Redis     *redis.Client
	RedisName string
	DB        *sql.DB // the orca database
	DBName    string
	// Front50 is the new zone's Front50 (http://HOST:PORT), or "" not to
	// read it; User is sent as X-SPINNAKER-USER (with Fiat: one who may
	// read every application); HTTP defaults to a client with a 30 s
	// timeout.
	Front50 string
	User    string
	HTTP    *http.Client
}

// front50Lists is what the agents read of Front50: pipeline and strategy
// config ids, and application names lower cased.
type front50Lists struct {
	configs, apps map[string]bool
}

// front50 reads the listings the agents read (nil without Front50).
func (s OrcaSQLStatus) front50(ctx context.Context) (*front50Lists, error) {
	if s.Front50 == "" {
		return nil, nil
	}
	hc := s.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	get := func(path string) ([]map[string]any, error) {
		u := strings.TrimSuffix(s.Front50, "/") + path
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, fmt.Errorf("reading Front50's %s: %w", path, err)
		}
		req.Header.Set("Accept", "application/json")
		if s.User != "" {
			req.Header.Set("X-SPINNAKER-USER", s.User)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("reading Front50's %s: %w", path, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			hint := ""
			if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
				hint = " (with Fiat, send a user who may read every application)"
			}
			return nil, fmt.Errorf("reading Front50's %s: %s%s: %s", path, resp.Status, hint, strings.TrimSpace(string(b)))
		}
		var out []map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return nil, fmt.Errorf("reading Front50's %s: %w", path, err)
		}
		return out, nil
	}
	l := &front50Lists{configs: map[string]bool{}, apps: map[string]bool{}}
	for _, path := range []string{"/pipelines?restricted=false", "/strategies"} {
		items, err := get(path)
		if err != nil {
			return nil, err
		}
		for _, p := range items {
			if id, ok := p["id"].(string); ok {
				l.configs[id] = true
			}
		}
	}
	apps, err := get("/v2/applications")
	if err != nil {
		return nil, err
	}
	for _, a := range apps {
		if name, ok := a["name"].(string); ok {
			l.apps[strings.ToLower(name)] = true
		}
	}
	return l, nil
}

// OrcaTypeStatus is one execution type's side of an OrcaSQLStatusResult;
// the lists hold execution ids, sorted.
type OrcaTypeStatus struct {
	InRedis int
	// Moved: in the SQL database (by id or legacy_id).
	Moved int
	// Unfinished: not finished, not in SQL. The agents take them only once
	// they finish, which the copy's never do after the final `migrate data`
	// (their work is in the old Orca's queue): they stay in Redis.
	Unfinished []string
	// Waiting: finished, within the agents' reach, not in SQL yet.
	Waiting []string
	// OutOfReach: finished, not in SQL, and never taken by the agents.
	OutOfReach []string
	// Reasons says why, by reason, how many of OutOfReach.
	Reasons map[string]int
}

// OrcaSQLStatusResult is what OrcaSQLStatus.Run found.
type OrcaSQLStatusResult struct {
	Pipelines, Orchestrations OrcaTypeStatus
	// Front50: its listings were read (else executions of deleted pipeline
	// configs and applications are counted as waiting).
	Front50 bool
}

// Waiting is how many finished executions the agents will still move.
func (r OrcaSQLStatusResult) Waiting() int {
	return len(r.Pipelines.Waiting) + len(r.Orchestrations.Waiting)
}

// Done: nothing is left that the agents will still move.
func (r OrcaSQLStatusResult) Done() bool { return r.Waiting() == 0 }

// Staying is how many executions stay in Redis only: unfinished, or out of
// the agents' reach.
func (r OrcaSQLStatusResult) Staying() int {
	return len(r.Pipelines.Unfinished) + len(r.Pipelines.OutOfReach) + len(r.Orchestrations.Unfinished) + len(r.Orchestrations.OutOfReach)
}

func (r OrcaSQLStatusResult) String() string {
	var b strings.Builder
	for _, t := range []struct {
		name string
		s    OrcaTypeStatus
	}{{"pipelines", r.Pipelines}, {"orchestrations", r.Orchestrations}} {
		fmt.Fprintf(&b, "%s: %d in Redis, %d moved to SQL, %d finished and waiting for Orca's agent, %d unfinished (not moved unless a later copy brings them finished), %d out of its reach",
			t.name, t.s.InRedis, t.s.Moved, len(t.s.Waiting), len(t.s.Unfinished), len(t.s.OutOfReach))
		if len(t.s.Reasons) > 0 {
			var rs []string
			for _, why := range sortedKeys(t.s.Reasons) {
				rs = append(rs, fmt.Sprintf("%d %s", t.s.Reasons[why], why))
			}
			b.WriteString(" (" + strings.Join(rs, "; ") + ")")
		}
		b.WriteString("\n")
		if len(t.s.Waiting) > 0 {
			fmt.Fprintf(&b, "  waiting: %s\n", strings.Join(firstN(t.s.Waiting, 10), ", "))
		}
		if len(t.s.Unfinished) > 0 {
			fmt.Fprintf(&b, "  unfinished: %s\n", strings.Join(firstN(t.s.Unfinished, 10), ", "))
		}
		if len(t.s.OutOfReach) > 0 {
			fmt.Fprintf(&b, "  out of reach: %s\n", strings.Join(firstN(t.s.OutOfReach, 10), ", "))
		}
	}
	if !r.Front50 {
		b.WriteString("Front50 was not read (--front50): executions of pipeline configs or applications deleted since are counted as waiting, " +
			"although Orca's agents never reach them\n")
	}
	return b.String()
}

// orcaExecHead is what the agents look at of an execution in Redis.
type orcaExecHead struct {
	id, status, application, configID string
	exists                            bool
}

// Run reads the Redis executions and the SQL ids and sorts every Redis
// execution into moved, unfinished, waiting or out of reach.
func (s OrcaSQLStatus) Run(ctx context.Context) (OrcaSQLStatusResult, error) {
	var res OrcaSQLStatusResult
	f50, err := s.front50(ctx)
	if err != nil {
		return res, err
	}
	res.Front50 = f50 != nil
	for _, typ := range orcaExecutionTypes {
		inSQL, err := s.sqlIDs(ctx, typ)
		if err != nil {
			return res, err
		}
		heads, err := s.heads(ctx, typ)
		if err != nil {
			return res, err
		}
		reach, reasons, err := s.reach(ctx, typ, heads, f50)
		if err != nil {
			return res, err
		}
		st := OrcaTypeStatus{Reasons: map[string]int{}}
		for _, h := range heads {
			st.InRedis++
			switch {
			case inSQL[h.id]:
				st.Moved++
			case !orcaCompleted[h.status]:
				st.Unfinished = append(st.Unfinished, h.id)
			case reach[h.id]:
				st.Waiting = append(st.Waiting, h.id)
			default:
				st.OutOfReach = append(st.OutOfReach, h.id)
				st.Reasons[reasons[h.id]]++
			}
		}
		for _, l := range [][]string{st.Unfinished, st.Waiting, st.OutOfReach} {
			sort.Strings(l)
		}
		if len(st.Reasons) == 0 {
			st.Reasons = nil
		}
		if typ == "pipeline" {
			res.Pipelines = st
		} else {
			res.Orchestrations = st
		}
	}
	return res, nil
}

// sqlIDs is every id and legacy_id of typ's table.
func (s OrcaSQLStatus) sqlIDs(ctx context.Context, typ string) (map[string]bool, error) {
	table := typ + "s" // pipelines, orchestrations
	rows, err := s.DB.QueryContext(ctx, "SELECT id, legacy_id FROM `"+table+"`")
	if err != nil {
		return nil, fmt.Errorf("reading Orca's %s table in %s (is it the orca database, migrated by a started Orca?): %w", table, s.DBName, err)
	}
	defer rows.Close()
	ids := map[string]bool{}
	for rows.Next() {
		var id string
		var legacy sql.NullString
		if err := rows.Scan(&id, &legacy); err != nil {
			return nil, fmt.Errorf("reading Orca's %s table in %s: %w", table, s.DBName, err)
		}
		ids[id] = true
		if legacy.Valid {
			ids[legacy.String] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading Orca's %s table in %s: %w", table, s.DBName, err)
	}
	return ids, nil
}

// heads reads allJobs:<typ> and each execution's status, application and
// pipeline config id (executions whose hash is gone are left out, as
// Orca's reads leave them out).
func (s OrcaSQLStatus) heads(ctx context.Context, typ string) ([]orcaExecHead, error) {
	var ids []string
	iter := s.Redis.SScan(ctx, "allJobs:"+typ, 0, "", 1000).Iterator()
	for iter.Next(ctx) {
		ids = append(ids, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("listing allJobs:%s in %s: %w", typ, s.RedisName, err)
	}
	sort.Strings(ids)
	var out []orcaExecHead
	for start := 0; start < len(ids); start += 500 {
		batch := ids[start:min(start+500, len(ids))]
		cmds := make([]*redis.SliceCmd, len(batch))
		if _, err := s.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, id := range batch {
				cmds[i] = p.HMGet(ctx, typ+":"+id, "status", "application", "pipelineConfigId")
			}
			return nil
		}); err != nil {
			return nil, fmt.Errorf("reading %s executions in %s: %w", typ, s.RedisName, err)
		}
		for i, c := range cmds {
			v := c.Val()
			h := orcaExecHead{id: batch[i]}
			for j, f := range []*string{&h.status, &h.application, &h.configID} {
				if str, ok := v[j].(string); ok {
					*f = str
					h.exists = true
				}
			}
			if h.exists {
				out = append(out, h)
			}
		}
	}
	return out, nil
}

// reach says which finished executions the agents take, as they choose
// them (see the top of the file), and why the others are not.
func (s OrcaSQLStatus) reach(ctx context.Context, typ string, heads []orcaExecHead, f50 *front50Lists) (map[string]bool, map[string]string, error) {
	reach, why := map[string]bool{}, map[string]string{}
	status := map[string]string{}
	groups := map[string]bool{}
	for _, h := range heads {
		status[h.id] = h.status
		if typ == "pipeline" {
			if h.configID == "" {
				why[h.id] = "without a pipeline config id"
				continue
			}
			if f50 != nil && !f50.configs[h.configID] {
				why[h.id] = "of a pipeline config Front50 no longer has"
				continue
			}
			groups[h.configID] = true
			why[h.id] = fmt.Sprintf("not among the %d newest finished of their pipeline config", orcaPipelineMigratorPage)
			continue
		}
		if h.application != strings.ToLower(h.application) {
			why[h.id] = "of an application whose name is not lower case (the agent looks it up lower cased)"
			continue
		}
		if f50 != nil && !f50.apps[h.application] {
			why[h.id] = "of an application Front50 no longer has"
			continue
		}
		groups[h.application] = true
		why[h.id] = fmt.Sprintf("beyond the %d finished orchestrations of their application the agent reads", orcaOrchestrationMigratorPage)
	}
	for _, g := range sortedKeys(groups) {
		var members []string
		var err error
		page := orcaPipelineMigratorPage
		if typ == "pipeline" {
			// ZREVRANGE, as Orca reads it: ZRANGE ... REV needs Redis 6.2,
			// and the Redis Halyard deploys beside Spinnaker is an image
			// built before it (gcr.io/kubernetes-spinnaker/redis-cluster:v2,
			// halyard's RedisService.getArtifactId).
			members, err = s.Redis.ZRevRange(ctx, "pipeline:executions:"+g, 0, -1).Result() //nolint:staticcheck // see above
		} else {
			page = orcaOrchestrationMigratorPage
			members, err = s.Redis.SMembers(ctx, "orchestration:app:"+g).Result()
		}
		if err != nil {
			return nil, nil, fmt.Errorf("reading Orca's index of %s %q in %s: %w", typ, g, s.RedisName, err)
		}
		// Orca reads the status of every member (fetchMultiExecutionStatus),
		// also of one missing from allJobs.
		var unknown []string
		for _, id := range members {
			if _, ok := status[id]; !ok {
				unknown = append(unknown, id)
			}
		}
		if len(unknown) > 0 {
			cmds := make([]*redis.StringCmd, len(unknown))
			if _, err := s.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
				for i, id := range unknown {
					cmds[i] = p.HGet(ctx, typ+":"+id, "status")
				}
				return nil
			}); err != nil && !errors.Is(err, redis.Nil) {
				return nil, nil, fmt.Errorf("reading %s statuses in %s: %w", typ, s.RedisName, err)
			}
			for i, c := range cmds {
				status[unknown[i]] = c.Val()
			}
		}
		taken := 0
		for _, id := range members {
			if taken == page {
				break
			}
			if orcaCompleted[status[id]] {
				reach[id] = true
				taken++
			}
		}
	}
	return reach, why, nil
}
