package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
	"github.com/spinops/terraform-provider-spinops/internal/migrate"
)

// newMigrateOrcaStatusCommand: how far a new Orca on SQL has moved the old
// executions from its Redis (sql.orca_executions_from_redis).
func newMigrateOrcaStatusCommand() *cobra.Command {
	var redisURL, addr, database, front50, user string
	var server backup.MySQLServer
	var requireDone bool
	cmd := &cobra.Command{
		Use:   "orca-status --redis URL --mysql HOST:PORT [--database orca] [--front50 URL [--spinnaker-user U]] [--require-done]",
		Short: "Show how far the new Orca has moved the old executions from its Redis into SQL (sql.orca_executions_from_redis)",
		Long: "With sql.orca_executions_from_redis, the new zone's Orca reads executions it does not find in SQL from its Redis and its " +
			"migration agents move the finished ones into the orca database (Orca's DualExecutionRepository, PipelineMigrationAgent and " +
			"OrchestrationMigrationAgent, hourly). This compares the executions in that Redis (--redis, where `spinops migrate data " +
			"--to-redis` copied them) with the rows of the orca database (--mysql, --database) and sorts them: moved; unfinished (not moved " +
			"unless a later copy brings them finished); finished and waiting for the agents; and out of their reach, which stay in Redis only: a pipeline that is " +
			"not among the 50 newest finished executions of its pipeline config or has none, an orchestration beyond the 3,500 finished " +
			"ones the agent reads of its application, or of a pipeline config or application the new Front50 (--front50, read as the " +
			"agents read it) no longer has; without --front50 those are counted as waiting although the agents never reach them. Unfinished executions are not moved, and after the final " +
			"`migrate data` copy they never finish here (their work is in the old Orca's queue). Nothing is written to either side. When " +
			"nothing is waiting (after the final copy), remove orca_executions_from_redis: what stays in Redis is then no longer shown by " +
			"Spinnaker. Passwords: " +
			envMigrateToRedisPassword + " and " + envMigrateToPassword + ". --require-done fails while anything is waiting.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if redisURL == "" || addr == "" {
				return fmt.Errorf("give --redis (the new zone's Redis) and --mysql (the server of its orca database)")
			}
			rc, name, err := migrate.OpenRedis(redisURL, os.Getenv(envMigrateToRedisPassword), envMigrateToRedisPassword)
			if err != nil {
				return fmt.Errorf("--redis: %w", err)
			}
			defer func() { _ = rc.Close() }()
			if err := mysqlAt(&server, addr, envMigrateToPassword); err != nil {
				return fmt.Errorf("--mysql %w", err)
			}
			db, err := server.Open(database)
			if err != nil {
				return fmt.Errorf("connecting to %s: %w", server, err)
			}
			defer db.Close()
			res, err := migrate.OrcaSQLStatus{Redis: rc, RedisName: name, DB: db, DBName: database + " on " + server.String(),
				Front50: front50, User: user}.Run(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "orca executions in %s against %s on %s:\n%s", name, database, server, res)
			fmt.Fprint(out, statusVerdict(res))
			if requireDone && !res.Done() {
				return fmt.Errorf("not done: %d finished executions are still to be moved by Orca's agents", res.Waiting())
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&redisURL, "redis", "", "the new zone's Redis: redis://HOST:PORT/DB, rediss://... (TLS) or unix:///PATH?db=N (password: "+envMigrateToRedisPassword+")")
	cmd.Flags().StringVar(&addr, "mysql", "", "the server of the new Orca's database, HOST:PORT (password: "+envMigrateToPassword+")")
	cmd.Flags().StringVar(&server.User, "mysql-user", "spinnaker", "the user on that server (reads the pipelines and orchestrations tables)")
	cmd.Flags().StringVar(&server.TLS, "mysql-tls", "", "TLS to that server: required, verify_ca or verify_full (default none)")
	cmd.Flags().StringVar(&server.CAFile, "mysql-ca", "", "a PEM CA bundle for verify_ca/verify_full")
	cmd.Flags().StringVar(&database, "database", "orca", "the new Orca's database (sql.databases.orca)")
	cmd.Flags().StringVar(&front50, "front50", "", "the new zone's Front50, http://HOST:PORT (e.g. through kubectl port-forward svc/spin-front50 8080): "+
		"its pipeline configs, strategies and applications decide what the agents reach")
	cmd.Flags().StringVar(&user, "spinnaker-user", "", "sent to Front50 as X-SPINNAKER-USER (with Fiat: one who may read every application)")
	cmd.Flags().BoolVar(&requireDone, "require-done", false, "exit with an error while finished executions wait for Orca's agents")
	return cmd
}

func statusVerdict(res migrate.OrcaSQLStatusResult) string {
	switch {
	case !res.Done():
		return fmt.Sprintf("not done: %d finished executions wait for Orca's agents (hourly by default); keep orca_executions_from_redis\n", res.Waiting())
	case res.Staying() == 0:
		return "done: every execution is in SQL; remove orca_executions_from_redis\n"
	}
	return fmt.Sprintf("done: Orca's agents have moved all they will; %d executions (unfinished, or out of their reach) stay in Redis only "+
		"and are no longer shown once orca_executions_from_redis is removed\n", res.Staying())
}
