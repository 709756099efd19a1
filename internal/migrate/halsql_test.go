package migrate

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	"sigs.k8s.io/yaml"

	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
)

// sqlProfiles are kork-sql settings as a Halyard install keeps them: one
// server, one user, default pools and migrations, an extra tuning setting,
// and the read-only Clouddrivers on the replica.
func sqlProfiles(password string) map[string]any {
	conn := func(host, db string) map[string]any {
		return map[string]any{"jdbcUrl": "jdbc:mysql://" + host + ":3307/" + db, "user": "spinnaker", "password": password}
	}
	svc := func(db string, extra map[string]any) map[string]any {
		def := conn("db.old.internal", db)
		def["default"] = true
		sql := map[string]any{"enabled": true, "connectionPools": map[string]any{"default": def}, "migration": conn("db.old.internal", db)}
		for k, v := range extra {
			sql[k] = v
		}
		return map[string]any{"sql": sql}
	}
	ro := map[string]any{"sql": map[string]any{"connectionPools": map[string]any{"default": conn("db-ro.old.internal", "clouddriver")}}}
	return map[string]any{
		"clouddriver":         svc("clouddriver", map[string]any{"cache": map[string]any{"readBatchSize": 500}}),
		"orca":                svc("orca_db", nil),
		"front50":             svc("front50", nil),
		"clouddriver-ro":      ro,
		"clouddriver-ro-deck": deepCopy(ro),
	}
}

// installationFromHCL reads back what HalyardToHCL wrote for the
// installation: the sql block (password from pw, as the user's variable
// would give it) and the profiles.
func installationFromHCL(t *testing.T, out []byte) *spinnaker.Installation {
	t.Helper()
	f, diags := hclsyntax.ParseConfig(out, "out.tf", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("%s\n%s", diags, out)
	}
	inst := &spinnaker.Installation{ID: "spinops", Namespace: "spinops", SpinnakerVersion: "1.35.3", Profiles: map[string]string{}}
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type != "resource" || b.Labels[0] != "spinops_managed_spinnaker" {
			continue
		}
		if a := b.Body.Attributes["profiles"]; a != nil {
			for _, it := range a.Expr.(*hclsyntax.ObjectConsExpr).Items {
				k, _ := it.KeyExpr.Value(nil)
				v, d := it.ValueExpr.(*hclsyntax.FunctionCallExpr).Args[0].Value(nil)
				if d.HasErrors() {
					t.Fatal(d)
				}
				j, err := ctyjson.Marshal(v, v.Type())
				if err != nil {
					t.Fatal(err)
				}
				inst.Profiles[k.AsString()] = string(j)
			}
		}
		for _, sb := range b.Body.Blocks {
			if sb.Type != "sql" {
				continue
			}
			s := &spinnaker.SQL{Port: 3306, Databases: map[string]string{}}
			str := func(name string) string {
				if a := sb.Body.Attributes[name]; a != nil {
					v, _ := a.Expr.Value(nil)
					return v.AsString()
				}
				return ""
			}
			s.Endpoint, s.ReaderEndpoint, s.User = str("endpoint"), str("reader_endpoint"), str("user")
			if a := sb.Body.Attributes["port"]; a != nil {
				v, _ := a.Expr.Value(nil)
				s.Port, _ = v.AsBigFloat().Int64()
			}
			v, _ := sb.Body.Attributes["databases"].Expr.Value(nil)
			for k, db := range v.AsValueMap() {
				s.Databases[k] = db.AsString()
			}
			for _, ps := range sb.Body.Blocks {
				if ps.Type == "password_secret" {
					n, _ := ps.Body.Attributes["name"].Expr.Value(nil)
					k, _ := ps.Body.Attributes["key"].Expr.Value(nil)
					s.PasswordSecret = &spinnaker.SecretRef{Name: n.AsString(), Key: k.AsString()}
				}
			}
			inst.SQL = s
		}
	}
	return inst
}

// effectiveSQL is each service's connection as the rendered
// SpinnakerService gives it: pool URL, user, password reference, and the
// migration's URL and user.
func effectiveSQL(t *testing.T, r *spinnaker.Rendered) map[string][5]string {
	t.Helper()
	profiles, _, _ := unstructuredMap(r.Service.Object, "spec", "spinnakerConfig", "profiles")
	out := map[string][5]string{}
	for svc, p := range profiles {
		var m map[string]any
		switch p := p.(type) {
		case map[string]any:
			m = p
		case string:
			if err := yaml.Unmarshal([]byte(p), &m); err != nil {
				t.Fatal(err)
			}
		}
		sql := mapOf(m["sql"])
		def, mig := mapOf(mapOf(sql["connectionPools"])["default"]), mapOf(sql["migration"])
		if def == nil {
			continue
		}
		s := func(m map[string]any, k string) string { v, _ := m[k].(string); return v }
		out[svc] = [5]string{s(def, "jdbcUrl"), s(def, "user"), s(def, "password"), s(mig, "jdbcUrl"), s(mig, "user")}
	}
	return out
}

func unstructuredMap(obj map[string]any, fields ...string) (map[string]any, bool, error) {
	cur := obj
	for _, f := range fields {
		cur = mapOf(cur[f])
		if cur == nil {
			return nil, false, nil
		}
	}
	return cur, true, nil
}

// TestHalyardSQLBlock: SQL settings of the sql block's shape become the sql
// block, and spinops' own rendering of that block gives every service the
// same server, database and user for its pool and its migrations as the
// old profiles did (the read-only Clouddrivers the replica), with the
// password from the variable, never written. Settings beside the
// connection (cache tuning) stay in the profiles.
func TestHalyardSQLBlock(t *testing.T) {
	const pw = "NEVER-sql-password"
	old := sqlProfiles(pw)
	h := &Halyard{Source: "test", Config: map[string]any{"version": "1.35.3"}, Profiles: deepCopy(old).(map[string]any)}
	out, rep, err := HalyardToHCL(h, HalyardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), pw) || strings.Contains(rep.String(), pw) {
		t.Fatalf("the password is in the output:\n%s\n%s", out, rep)
	}
	for _, want := range []string{"= var.sql_password", `variable "sql_password"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the output has no %q:\n%s", want, out)
		}
	}
	if !strings.Contains(string(out), "readBatchSize = 500") {
		t.Errorf("the cache tuning left the profiles:\n%s", out)
	}
	if strings.Contains(string(out), "jdbcUrl") {
		t.Errorf("a jdbcUrl stayed in the profiles though the sql block renders it:\n%s", out)
	}
	inst := installationFromHCL(t, out)
	if inst.SQL == nil {
		t.Fatalf("no sql block:\n%s", out)
	}
	if s := inst.SQL; s.Endpoint != "db.old.internal" || s.ReaderEndpoint != "db-ro.old.internal" || s.Port != 3307 || s.User != "spinnaker" ||
		len(s.Databases) != 3 || s.Databases["orca"] != "orca_db" {
		t.Errorf("sql block: %+v", *s)
	}
	z := &spinnaker.Zone{Name: "green", Namespace: "spinnaker", Tier: spinnaker.TierProduction, HA: &spinnaker.HA{Enabled: true, ClouddriverSplit: true, Replicas: 2}}
	r, err := spinnaker.Render(inst, z, map[string][]byte{spinnaker.KeySQLPassword: []byte(pw)})
	if err != nil {
		t.Fatal(err)
	}
	got := effectiveSQL(t, r)
	ref := "encrypted:k8s!n:" + spinnaker.CredentialsSecretName("green") + "!k:" + spinnaker.KeySQLPassword
	for svc, p := range old {
		def := mapOf(mapOf(mapOf(mapOf(p)["sql"])["connectionPools"])["default"])
		mig := mapOf(mapOf(mapOf(p)["sql"])["migration"])
		want := [5]string{def["jdbcUrl"].(string), "spinnaker", ref}
		if mig != nil {
			want[3], want[4] = mig["jdbcUrl"].(string), "spinnaker"
		}
		if got[svc] != want {
			t.Errorf("%s connects as\n  %q\nwant\n  %q", svc, got[svc], want)
		}
	}
	if js, _ := json.Marshal(r.Service.Object); strings.Contains(string(js), pw) {
		t.Error("the password is in the SpinnakerService")
	}
	if js, _ := json.Marshal(r.Secret.Object); !strings.Contains(string(js), pw) && !strings.Contains(string(js), base64.StdEncoding.EncodeToString([]byte(pw))) {
		t.Errorf("the zone's Secret does not hold the password: %s", js)
	}
}

// TestHalyardSQLBlockRefused: settings the sql block cannot express stay
// in the profiles unchanged, with a note saying why.
func TestHalyardSQLBlockRefused(t *testing.T) {
	cases := map[string]struct {
		change func(p map[string]any)
		why    string
	}{
		"another server": {func(p map[string]any) {
			pool(p, "orca")["jdbcUrl"] = "jdbc:mysql://other.internal:3307/orca_db"
			mapOf(mapOf(mapOf(p["orca"])["sql"])["migration"])["jdbcUrl"] = "jdbc:mysql://other.internal:3307/orca_db"
		}, "profiles.orca connects to other.internal:3307"},
		"another user for migrations": {func(p map[string]any) {
			mapOf(mapOf(mapOf(p["front50"])["sql"])["migration"])["user"] = "front50_migrate"
		}, "profiles.front50 runs its migrations"},
		"another password": {func(p map[string]any) { pool(p, "orca")["password"] = "NEVER-other" }, "profiles.orca connects"},
		"URL parameters": {func(p map[string]any) {
			pool(p, "clouddriver")["jdbcUrl"] = "jdbc:mysql://db.old.internal:3307/clouddriver?useSSL=true"
		}, "credentials or parameters"},
		"a pool setting": {func(p map[string]any) { pool(p, "front50")["maxPoolSize"] = 50 }, "it sets maxPoolSize"},
		"another default pool": {func(p map[string]any) {
			mapOf(mapOf(mapOf(p["orca"])["sql"])["connectionPools"])["other"] = map[string]any{"default": true}
		}, "default pool is other"},
		"a vault password": {func(p map[string]any) {
			for _, s := range sqlBlockServices {
				pool(p, s)["password"] = "encrypted:vault!e:secret!p:spinnaker/sql!k:password"
				mapOf(mapOf(mapOf(p[s])["sql"])["migration"])["password"] = "encrypted:vault!e:secret!p:spinnaker/sql!k:password"
			}
		}, "other than encrypted:k8s"},
		"a replica with another database": {func(p map[string]any) {
			pool(p, "clouddriver-ro")["jdbcUrl"] = "jdbc:mysql://db-ro.old.internal:3307/other"
		}, "clouddriver-ro's pool"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			profiles := sqlProfiles("NEVER-pw")
			c.change(profiles)
			before, _ := json.Marshal(profiles)
			var rep Report
			if s := sqlFromProfiles(profiles, &rep); s != nil {
				t.Fatalf("mapped into the sql block: %+v", *s)
			}
			if after, _ := json.Marshal(profiles); string(after) != string(before) {
				t.Errorf("the profiles changed:\n%s\n%s", before, after)
			}
			if !strings.Contains(rep.String(), c.why) {
				t.Errorf("the report does not say %q:\n%s", c.why, rep)
			}
		})
	}
	// A Kubernetes Secret reference becomes password_secret.
	profiles := sqlProfiles("encrypted:k8s!n:db-creds!k:password")
	var rep Report
	s := sqlFromProfiles(profiles, &rep)
	if s == nil || s.secretName != "db-creds" || s.secretKey != "password" || s.password != "" {
		t.Fatalf("encrypted:k8s password: %+v\n%s", s, rep)
	}
}

func pool(p map[string]any, svc string) map[string]any {
	return mapOf(mapOf(mapOf(mapOf(p[svc])["sql"])["connectionPools"])["default"])
}

// TestHalyardOrcaExecutions: what becomes of the old Orca's executions is
// stated: moved into SQL by the new Orca itself (orca_executions_from_redis,
// after a copy into the new zone's Redis) when they are in Redis and the new
// Orca uses SQL, unless the new zone would share the old Redis; carried by
// the database copy when already in SQL; shared or copied with
// --from-redis/--to-redis when both stay on Redis.
func TestHalyardOrcaExecutions(t *testing.T) {
	onSQL := map[string]any{"executionRepository": map[string]any{"sql": map[string]any{"enabled": true}, "redis": map[string]any{"enabled": false}}}
	cases := []struct {
		name    string
		profile map[string]any
		newSQL  bool
		want    string // in Unmapped ("" = nothing there)
		note    string // in Notes
		move    bool   // orca_executions_from_redis
	}{
		{"redis to sql", nil, true, "", "`spinops migrate data --from-redis redis://spin-redis.spinnaker:6379/0 --to-redis redis://spin-redis.spinnaker-new:6379/0`", true},
		{"redis to sql, explicit", map[string]any{"executionRepository": map[string]any{"redis": map[string]any{"enabled": true}}}, true, "", orcaRedisToSQL, true},
		{"redis to sql, shared", nil, true, "its Orca would share the old one's work queue, so it is not set to move them", "", false},
		{"sql to sql", onSQL, true, "", "", false},
		{"half-way", map[string]any{"executionRepository": map[string]any{"dual": map[string]any{"enabled": true}}}, true, "half-way", "", false},
		{"redis to redis, shared", nil, false, "", "the new zone uses the old installation's Redis (the redis block, redis://old:6379): they share executions", false},
		{"redis to a new redis", nil, false, "", "copy the history with `spinops migrate data --from-redis redis://spin-redis.spinnaker:6379/0 --to-redis", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var rep Report
			old := oldRedis{URL: "redis://spin-redis.spinnaker:6379/0"}
			if strings.Contains(c.name, "shared") {
				old = oldRedis{URL: "redis://old:6379", Shared: true}
			}
			move := orcaExecutions(c.profile, c.newSQL, old, "spinnaker-new", &rep)
			un, notes := strings.Join(rep.Unmapped, "\n"), strings.Join(rep.Notes, "\n")
			if move != c.move {
				t.Errorf("orca_executions_from_redis = %v, want %v", move, c.move)
			}
			if (c.want == "") != (un == "") || !strings.Contains(un, c.want) {
				t.Errorf("unmapped = %q, want %q", un, c.want)
			}
			if !strings.Contains(notes, c.note) {
				t.Errorf("notes = %q, want %q", notes, c.note)
			}
		})
	}
	// Through HalyardToHCL: Orca on Redis with SQL connections that become
	// the sql block gets orca_executions_from_redis, and the report says
	// how the executions get there.
	p := sqlProfiles("NEVER-pw")
	h := &Halyard{Source: "test", Config: map[string]any{"version": "1.35.3"}, Profiles: p}
	out, rep, err := HalyardToHCL(h, HalyardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(rep.Notes, "\n"), "moves the finished ones into SQL itself") {
		t.Errorf("the report does not say how the executions move:\n%s", rep)
	}
	if !regexp.MustCompile(`(?m)^\s+orca_executions_from_redis\s+= true$`).Match(out) {
		t.Errorf("the sql block does not turn on Orca's move:\n%s", out)
	}
	// Shared with the old Redis: not turned on.
	h.ServiceSettings = map[string]any{"redis": map[string]any{"overrideBaseUrl": "redis://old-cache:6379"}}
	out, _, err = HalyardToHCL(h, HalyardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "orca_executions_from_redis") {
		t.Errorf("orca_executions_from_redis beside the old installation's Redis:\n%s", out)
	}
	// Both on Redis, the old one Halyard's own (Service spin-redis in
	// deploymentEnvironment.location): the copy, from there, whatever
	// namespace the new zone gets.
	h = &Halyard{Source: "test", Config: map[string]any{"version": "1.35.3", "deploymentEnvironment": map[string]any{"location": "legacy"}}}
	_, rep, err = HalyardToHCL(h, HalyardOptions{Namespace: "spinnaker-new"})
	if err != nil {
		t.Fatal(err)
	}
	if notes := strings.Join(rep.Notes, "\n"); !strings.Contains(notes, "--from-redis redis://spin-redis.legacy:6379/0 --to-redis") {
		t.Errorf("the report does not name the copy from Halyard's Redis:\n%s", notes)
	}
	// An override URL with a password: not written, not echoed.
	h.ServiceSettings = map[string]any{"redis": map[string]any{"overrideBaseUrl": "redis://:NEVER-pw@cache.internal:6379"}}
	_, rep, err = HalyardToHCL(h, HalyardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if all := rep.String(); strings.Contains(all, "NEVER-pw") || !strings.Contains(all, "--from-redis the URL of service-settings redis.overrideBaseUrl without its password") {
		t.Errorf("the report with a password in the Redis URL:\n%s", all)
	}
}
