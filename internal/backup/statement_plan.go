package backup

import "context"

// PlanStatement decides a statement event of a binary log, logged with
// default database source, for applying it into database target on a
// server whose databases are databases (lower case): why it must not be
// applied (refuse, which never quotes the statement), or the statement to
// apply instead (rewritten, "" when q is applied as it is). It is the
// check a point-in-time replay makes (binlog_statements.go), for an
// incremental copy of another server's binary log (internal/migrate).
func PlanStatement(q, source, target string, databases map[string]bool) (refuse, rewritten string) {
	return replayPlan(q, source, target, databases)
}

// ServerDatabases lists the databases of s the user can see, lower case.
func ServerDatabases(ctx context.Context, s MySQLServer) (map[string]bool, error) {
	return serverDatabases(ctx, s)
}
