package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
)

// newBackupRollbackBucketCommand: `spinops backup rollback-bucket` puts a
// bucket target back to its contents before a restore that was stopped
// mid-way (see internal/backup/bucket_undo.go).
func newBackupRollbackBucketCommand(load loadFunc) *cobra.Command {
	var bucketTarget string
	cmd := &cobra.Command{
		Use:   "rollback-bucket",
		Short: "Put a bucket back as it was before a restore that was stopped mid-way",
		Long: "A bucket restore keeps an undo copy of the target's objects inside the target (.spinops-restore-undo/) until\n" +
			"it completes. When the restore process was stopped mid-way, the next restore into that target is refused;\n" +
			"this command puts the target back to its contents before that restore and removes the undo copy.\n" +
			"Without an undo journal it changes nothing.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext(cmd)
			defer stop()
			cfg, dest, err := load()
			if err != nil {
				return err
			}
			sc := backup.StoreConfig{}
			if cfg.Bucket != nil {
				sc = *cfg.Bucket
			}
			if bucketTarget != "" {
				sc.URL = bucketTarget
			}
			if sc.URL == "" {
				return fmt.Errorf("no bucket: give --bucket-target (the restore's target) or configure a bucket source")
			}
			st, err := (backup.Clients{}).Open(ctx, sc)
			if err != nil {
				return err
			}
			eng := &backup.Engine{Dest: dest, Log: backupLogger()}
			rolled, err := eng.RollbackBucket(ctx, st)
			if err != nil {
				return fmt.Errorf("rolling back %s: %w", st, err)
			}
			msg := fmt.Sprintf("%s: no interrupted restore; nothing changed", st)
			if rolled {
				msg = fmt.Sprintf("%s: put back as it was before the interrupted restore", st)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), msg)
			return err
		},
	}
	cmd.Flags().StringVar(&bucketTarget, "bucket-target", "", "the interrupted restore's bucket target: s3://, gs:// or file:// (default: the configured bucket source)")
	return cmd
}

// newBackupRollbackSQLCommand: `spinops backup rollback-sql` puts the
// databases of a restore that was stopped mid-swap back as they were, from
// the journal the restore keeps on the server (internal/backup/swap_journal.go).
func newBackupRollbackSQLCommand(load loadFunc) *cobra.Command {
	var (
		target   targetFlags
		complete bool
	)
	cmd := &cobra.Command{
		Use:   "rollback-sql",
		Short: "Put databases back as they were before a restore that was stopped mid-swap",
		Long: "A restore with --overwrite swaps the restored tables in only after everything was loaded and verified, and keeps\n" +
			"a journal of the swap on the target server (a spinops_swap_* database) until it completes. When the restore\n" +
			"process was stopped mid-swap, the next restore into those databases is refused; this command puts every\n" +
			"database the journal names back as it was before that restore (its tables, views, triggers, routines and\n" +
			"events), drops the staging and trash databases and the journal. A restore that had completed and was stopped\n" +
			"while dropping what it replaced is finished instead (the restored data stays). A journal whose restore is\n" +
			"still running is left alone. Without journals it changes nothing. With --complete, a restore that swapped every\n" +
			"database in but could not record its completion (its error says so) is kept instead of put back.\n" +
			"The server is the configured MySQL source, or --target-host; the password is " + envRestorePassword + " (default: " + backup.EnvMySQLPassword + ").",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext(cmd)
			defer stop()
			cfg, dest, err := load()
			if err != nil {
				return err
			}
			mc := cfg.MySQL
			if mc == nil {
				if target.host == "" {
					return fmt.Errorf("no MySQL server: give --target-host (the interrupted restore's target) or configure a mysql source")
				}
				mc = &backup.MySQLConfig{}
			}
			srv := target.server(mc)
			if srv.User == "" {
				return fmt.Errorf("no MySQL user: give --target-user (the user the restore ran as)")
			}
			eng := &backup.Engine{Dest: dest, Log: backupLogger()}
			done, err := eng.RollbackSQL(ctx, srv, complete)
			out := cmd.OutOrStdout()
			for _, r := range done {
				what := "put back as they were before the interrupted restore"
				if r.Completed {
					what = "kept as restored; what the restore replaced was dropped (it had completed)"
				}
				if _, werr := fmt.Fprintf(out, "%s: restore of backup %s into %s: %s\n", srv.String(), r.Backup, strings.Join(r.Databases, ", "), what); werr != nil {
					return werr
				}
				for _, k := range r.Kept {
					if _, werr := fmt.Fprintf(out, "  kept %s: the tables the restore had swapped in, with what was written to them while they were in use; drop it when not needed\n", k); werr != nil {
						return werr
					}
				}
			}
			if err != nil {
				return fmt.Errorf("rolling back on %s: %w", srv.String(), err)
			}
			if len(done) == 0 {
				_, err = fmt.Fprintf(out, "%s: no interrupted restore; nothing changed\n", srv.String())
			}
			return err
		},
	}
	f := cmd.Flags()
	target.add(f, "the interrupted restore's MySQL server")
	f.BoolVar(&complete, "complete", false, "keep a restore that swapped every database in but could not record its completion, dropping what it replaced")
	return cmd
}
