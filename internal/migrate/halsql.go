package migrate

// This file: the services' SQL connection settings (Halyard keeps them in
// the clouddriver, orca and front50 profiles; kork-sql's sql.connectionPools
// and sql.migration) turned into spinops_managed_spinnaker's sql block when
// they have the shape that block renders (internal/spinnaker renderSQL).

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// sqlSpec is what the sql block gets.
type sqlSpec struct {
	endpoint, reader string
	port             int64
	user             string
	// password is the literal password (it becomes a write-only variable),
	// or empty when secretName/secretKey reference a Kubernetes Secret.
	password              string
	secretName, secretKey string
	databases             map[string]string
}

// sqlServices are the services spinops' sql block configures, and the
// read-only Clouddrivers that read from reader_endpoint.
var (
	sqlBlockServices = []string{"clouddriver", "front50", "orca"}
	sqlReaderProfile = []string{"clouddriver-ro", "clouddriver-ro-deck"}
)

// sqlConn is one pool or migration entry: jdbc:mysql://host:port/db, user,
// password.
type sqlConn struct {
	host, db       string
	port           int64
	user, password string
	secret         [2]string // Secret name and key of an encrypted:k8s password
	why            string
}

// parseSQLConn reads a connection map ({jdbcUrl, user, password, default})
// when it has nothing spinops' sql block does not render: a plain
// jdbc:mysql URL without credentials or parameters, a user, and a literal
// password or an encrypted:k8s reference.
func parseSQLConn(m map[string]any) (sqlConn, bool) {
	var c sqlConn
	raw, _ := m["jdbcUrl"].(string)
	for k := range m {
		switch k {
		case "jdbcUrl", "user", "password", "default":
		default:
			c.why = "it sets " + k
			return c, false
		}
	}
	if !strings.HasPrefix(raw, "jdbc:mysql://") {
		c.why = "its jdbcUrl is not jdbc:mysql://host:port/database"
		return c, false
	}
	u, err := url.Parse(strings.TrimPrefix(raw, "jdbc:"))
	if err != nil || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Hostname() == "" {
		c.why = "its jdbcUrl carries credentials or parameters"
		return c, false
	}
	c.host, c.db, c.port = u.Hostname(), strings.TrimPrefix(u.Path, "/"), 3306
	if p := u.Port(); p != "" {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			c.why = "its jdbcUrl's port is not a number"
			return c, false
		}
		c.port = n
	}
	if c.db == "" || strings.Contains(c.db, "/") {
		c.why = "its jdbcUrl names no single database"
		return c, false
	}
	c.user, _ = m["user"].(string)
	pw, _ := m["password"].(string)
	if c.user == "" || pw == "" {
		c.why = "it has no user or no password"
		return c, false
	}
	if isReference(pw) {
		name, key, ok := k8sSecretRef(pw)
		if !ok {
			c.why = "its password is a secret reference other than encrypted:k8s"
			return c, false
		}
		c.secret = [2]string{name, key}
	} else {
		c.password = pw
	}
	return c, true
}

// k8sSecretRef splits encrypted:k8s!n:<name>!k:<key>.
func k8sSecretRef(s string) (name, key string, ok bool) {
	rest, found := strings.CutPrefix(s, "encrypted:k8s!")
	if !found {
		return "", "", false
	}
	for _, part := range strings.Split(rest, "!") {
		switch {
		case strings.HasPrefix(part, "n:"):
			name = part[2:]
		case strings.HasPrefix(part, "k:"):
			key = part[2:]
		}
	}
	return name, key, name != "" && key != ""
}

// sameCredentials says whether two connections log in alike.
func (c sqlConn) sameCredentials(o sqlConn) bool {
	return c.user == o.user && c.password == o.password && c.secret == o.secret
}

// sqlFromProfiles finds the sql block in profiles (which it changes: the
// connection settings the block now renders are removed, the rest stay).
// Every service with sql.enabled must use one server, one user and one
// password for its default pool and its migrations, as the block renders
// them; otherwise the profiles are left as they are and a note says why.
func sqlFromProfiles(profiles map[string]any, rep *Report) *sqlSpec {
	var spec *sqlSpec
	var first sqlConn
	type found struct {
		svc        string
		sql, pools map[string]any
		hasMigrate bool
	}
	var services []found
	refuse := func(why string) *sqlSpec {
		rep.Notes = append(rep.Notes, "sql: the services' SQL settings stay in their profiles, not in the sql block, because "+why+
			" (the sql block gives every service one server, one user and one password for its pool and its migrations)")
		return nil
	}
	for _, svc := range sqlBlockServices {
		sql := mapOf(mapOf(profiles[svc])["sql"])
		if !enabled(sql) {
			continue
		}
		pools := mapOf(sql["connectionPools"])
		def := mapOf(pools["default"])
		if def == nil {
			return refuse(fmt.Sprintf("profiles.%s has no connection pool named default", svc))
		}
		for name, p := range pools {
			if name != "default" && mapOf(p)["default"] == true {
				return refuse(fmt.Sprintf("profiles.%s's default pool is %s", svc, name))
			}
		}
		c, ok := parseSQLConn(def)
		if !ok {
			return refuse(fmt.Sprintf("profiles.%s sql.connectionPools.default: %s", svc, c.why))
		}
		if spec == nil {
			first = c
			spec = &sqlSpec{endpoint: c.host, port: c.port, user: c.user, password: c.password,
				secretName: c.secret[0], secretKey: c.secret[1], databases: map[string]string{}}
		}
		if c.host != first.host || c.port != first.port || !c.sameCredentials(first) {
			return refuse(fmt.Sprintf("profiles.%s connects to %s:%d as %s, another service to %s:%d as %s (or with another password)",
				svc, c.host, c.port, c.user, first.host, first.port, first.user))
		}
		mig := mapOf(sql["migration"])
		if mig != nil {
			m, ok := parseSQLConn(mig)
			if !ok {
				return refuse(fmt.Sprintf("profiles.%s sql.migration: %s", svc, m.why))
			}
			if m.host != c.host || m.port != c.port || m.db != c.db || !m.sameCredentials(c) {
				return refuse(fmt.Sprintf("profiles.%s runs its migrations on %s:%d/%s as %s, not through its pool's server, database and user",
					svc, m.host, m.port, m.db, m.user))
			}
		}
		spec.databases[svc] = c.db
		services = append(services, found{svc, sql, pools, mig != nil})
	}
	if spec == nil {
		return nil
	}
	// The read-only Clouddrivers (zone HA with clouddriver_split) read
	// from the replicas: reader_endpoint.
	for _, ro := range sqlReaderProfile {
		def := mapOf(mapOf(mapOf(mapOf(profiles[ro])["sql"])["connectionPools"])["default"])
		if def == nil {
			continue
		}
		c, ok := parseSQLConn(def)
		if !ok || c.port != spec.port || c.db != spec.databases["clouddriver"] || !c.sameCredentials(first) || (spec.reader != "" && c.host != spec.reader) {
			return refuse(fmt.Sprintf("profiles.%s's pool is not the clouddriver pool on another host", ro))
		}
		spec.reader = c.host
	}
	for _, ro := range sqlReaderProfile {
		if p := mapOf(profiles[ro]); p != nil {
			pools := mapOf(mapOf(p["sql"])["connectionPools"])
			delete(pools, "default")
			pruneInto(profiles, ro)
		}
	}
	for _, f := range services {
		delete(f.pools, "default")
		delete(f.sql, "enabled")
		delete(f.sql, "migration")
		pruneInto(profiles, f.svc)
	}
	if spec.secretName != "" {
		rep.Notes = append(rep.Notes, fmt.Sprintf("sql: the password stays in Secret %s (key %s); it must exist in the operator namespace", spec.secretName, spec.secretKey))
	}
	rep.Notes = append(rep.Notes, fmt.Sprintf("sql: endpoint %s is the old installation's server; point it at the new primary once `spinops migrate data` has copied the databases", spec.endpoint))
	return spec
}

// pruneInto drops what is left empty of profiles[svc], and the profile
// when nothing is left.
func pruneInto(profiles map[string]any, svc string) {
	p := prune(profiles[svc])
	if m, ok := p.(map[string]any); !ok || len(m) == 0 {
		delete(profiles, svc)
		return
	}
	profiles[svc] = p
}

// orcaRedisToSQL is Orca's own, documented move of executions from Redis to
// SQL (DualExecutionRepository plus its migration agents).
const orcaRedisToSQL = "https://spinnaker.io/docs/guides/operator/orca-redis-to-sql/"

// oldRedis is the old installation's Redis as the new zone will see it.
type oldRedis struct {
	// URL is where it is (without a password), for `migrate data`.
	URL string
	// Shared: the plan points the new zone at it (the redis block).
	Shared bool
}

// oldOrcaRedis is the old installation's Redis: service-settings
// redis.overrideBaseUrl (written as the zone's redis block, so shared,
// unless it carries a password: HalyardToHCL writes the block from this
// answer), else the Redis Halyard and the operator
// deploy beside Spinnaker, Service spin-redis on port 6379 of its namespace.
func oldOrcaRedis(h *Halyard, namespace string) oldRedis {
	if u, _ := mapOf(h.ServiceSettings["redis"])["overrideBaseUrl"].(string); u != "" {
		if looksSecret(u) {
			return oldRedis{URL: "the URL of service-settings redis.overrideBaseUrl without its password"}
		}
		return oldRedis{URL: u, Shared: true}
	}
	return oldRedis{URL: "redis://spin-redis." + namespace + ":6379/0"}
}

// orcaExecutions says what happens to the old Orca's pipeline executions,
// and whether the new zone's Orca is to move them from Redis to SQL itself
// (the sql block's orca_executions_from_redis). Orca keeps them in Redis
// unless executionRepository.sql.enabled (Redis is its default, per the
// Orca SQL setup guide). newSQL says whether the new Orca keeps executions
// in SQL (the sql block names an orca database); newNS is the new zone's
// namespace (its Redis, the operator's spin-redis, is there).
func orcaExecutions(orcaProfile map[string]any, newSQL bool, old oldRedis, newNS string, rep *Report) (fromRedis bool) {
	repo := mapOf(orcaProfile["executionRepository"])
	switch {
	case enabled(mapOf(repo["dual"])):
		rep.Unmapped = append(rep.Unmapped, "orca executionRepository.dual: the old Orca is half-way through its Redis-to-SQL migration; "+
			"finish it ("+orcaRedisToSQL+") before moving, or the executions still in Redis are left behind")
	case enabled(mapOf(repo["sql"])):
		// In the orca database: `spinops migrate data` copies them.
	case newSQL && old.Shared:
		rep.Unmapped = append(rep.Unmapped, "orca executions: the old Orca keeps pipeline executions in Redis and the new one in SQL, and the new zone "+
			"uses the old installation's Redis (the redis block, "+old.URL+"): its Orca would share the old one's work queue, so it is not set to "+
			"move them (orca_executions_from_redis). Give the new zone a Redis of its own, then follow docs/migration.md, \"From Redis to SQL\"")
	case newSQL:
		rep.Notes = append(rep.Notes, "orca executions: the old Orca keeps pipeline executions in Redis and the new one in SQL; the new zone's Orca "+
			"moves the finished ones into SQL itself (sql.orca_executions_from_redis: Orca's DualExecutionRepository and migration agents, "+
			orcaRedisToSQL+"). Copy them into the new zone's Redis first: `spinops migrate data --from-redis "+old.URL+
			" --to-redis redis://spin-redis."+newNS+":6379/0` (again before the cutover), then watch `spinops migrate orca-status`; "+
			"remove orca_executions_from_redis once it says nothing Orca will move is left")
		return true
	case old.Shared:
		rep.Notes = append(rep.Notes, "orca executions: both Orcas keep pipeline executions in Redis, and the new zone uses the old installation's Redis "+
			"(the redis block, "+old.URL+"): they share executions and Orca's work queue, so never run both at once")
	default:
		rep.Notes = append(rep.Notes, "orca executions: both Orcas keep pipeline executions in Redis and the new zone gets a Redis of its own: "+
			"copy the history with `spinops migrate data --from-redis "+old.URL+" --to-redis redis://NEW:6379/0` from where both are reachable "+
			"(e.g. through kubectl port-forward), and again before the cutover (only what changed); the old Orca's work queue stays behind")
	}
	return false
}

func (s *sqlSpec) orcaDatabase() (string, bool) {
	if s == nil {
		return "", false
	}
	db, ok := s.databases["orca"]
	return db, ok
}
