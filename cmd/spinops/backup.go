package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
	"github.com/spinops/terraform-provider-spinops/internal/version"
)

// envRestorePassword is the target server's password for `backup restore`
// when it is not the source server's (EnvMySQLPassword).
const envRestorePassword = "SPINOPS_RESTORE_MYSQL_PASSWORD"

func newBackupCommand() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Back up and restore Spinnaker's MySQL databases and Front50 bucket",
		Long: "Backups go to the destination of the configuration file (--config, the ConfigMap of a spinops_backup_policy).\n" +
			"The MySQL password is read from " + backup.EnvMySQLPassword + "; cloud credentials from the SDKs' usual chains.",
	}
	cmd.PersistentFlags().StringVar(&configPath, "config", "/etc/spinops/backup/config.json", "backup configuration file (JSON)")
	load := func() (*backup.Config, backup.Store, error) {
		cfg, err := backup.LoadConfig(configPath)
		if err != nil {
			return nil, nil, err
		}
		dest, err := backup.Clients{}.Open(context.Background(), cfg.Destination)
		return cfg, dest, err
	}
	cmd.AddCommand(newBackupRunCommand(load), newBackupArchiveCommand(load), newBackupListCommand(load),
		newBackupRestoreCommand(load), newBackupVerifyCommand(load))
	return cmd
}

type loadFunc func() (*backup.Config, backup.Store, error)

func backupLogger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func signalContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
}

func mysqlServer(c *backup.MySQLConfig) *backup.MySQLServer {
	if c == nil {
		return nil
	}
	return &backup.MySQLServer{Host: c.Host, Port: c.Port, User: c.User, Password: c.Password}
}

func newBackupRunCommand(load loadFunc) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Take one backup, then apply retention",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext(cmd)
			defer stop()
			cfg, dest, err := load()
			if err != nil {
				return err
			}
			o := backup.RunOptions{MySQL: mysqlServer(cfg.MySQL), Retention: cfg.Retention, PointInTime: cfg.PointInTime}
			if cfg.MySQL != nil {
				o.Databases = cfg.MySQL.Databases
			}
			if cfg.Bucket != nil {
				if o.Bucket, err = (backup.Clients{}).Open(ctx, *cfg.Bucket); err != nil {
					return err
				}
			}
			eng := &backup.Engine{Dest: dest, Log: backupLogger(), ToolVersion: version.Version}
			m, err := eng.Run(ctx, o)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "backup %s complete (%d bytes stored)\n", m.ID, m.StoredBytes)
			return err
		},
	}
}

func newBackupArchiveCommand(load loadFunc) *cobra.Command {
	var workDir string
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "archive-binlogs",
		Short: "Copy the binary log to the destination continuously (runs until stopped)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext(cmd)
			defer stop()
			cfg, dest, err := load()
			if err != nil {
				return err
			}
			if cfg.MySQL == nil {
				return errors.New("archive-binlogs needs a mysql source in the configuration")
			}
			a := &backup.Archiver{Server: *mysqlServer(cfg.MySQL), Dest: dest, WorkDir: workDir, FlushInterval: interval, Log: backupLogger()}
			if err := a.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&workDir, "work-dir", filepath.Join(os.TempDir(), "spinops-binlogs"), "local directory for the binlog being streamed")
	cmd.Flags().DurationVar(&interval, "flush-interval", 10*time.Second, "how often the binlog being written is uploaded (the recovery point objective)")
	return cmd
}

func newBackupListCommand(load loadFunc) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List complete backups and the restore window",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, dest, err := load()
			if err != nil {
				return err
			}
			l, err := backup.List(cmd.Context(), dest)
			if err != nil {
				return err
			}
			return printListing(cmd.OutOrStdout(), l, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printListing(out io.Writer, l *backup.Listing, asJSON bool) error {
	w, ok := l.RestoreWindow()
	if asJSON {
		v := map[string]any{"backups": l.Complete, "incomplete": l.Incomplete}
		if ok {
			v["restore_window"] = map[string]time.Time{"earliest": w.Earliest, "latest": w.Latest}
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSNAPSHOT\tSTORED BYTES\tBINLOG")
	for _, m := range l.Complete {
		pos := "-"
		if m.MySQL != nil && m.MySQL.BinlogFile != "" {
			pos = fmt.Sprintf("%s:%d", m.MySQL.BinlogFile, m.MySQL.BinlogPosition)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", m.ID, m.SnapshotAt.UTC().Format(time.RFC3339), m.StoredBytes, pos)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if ok {
		fmt.Fprintf(out, "restore window: %s .. %s\n", w.Earliest.UTC().Format(time.RFC3339), w.Latest.UTC().Format(time.RFC3339))
	}
	if len(l.Incomplete) > 0 {
		fmt.Fprintf(out, "incomplete (not restorable): %s\n", strings.Join(l.Incomplete, ", "))
	}
	return nil
}

func newBackupRestoreCommand(load loadFunc) *cobra.Command {
	var (
		id, at, bucketTarget, targetHost, targetUser string
		targetPort                                   int
		dbMap                                        []string
		overwrite, noMySQL, noBucket                 bool
	)
	cmd := &cobra.Command{
		Use:   "restore (--backup ID | --at TIME)",
		Short: "Restore a backup, or the state at a point in time, into a database and a bucket prefix",
		Long: "Restores the MySQL databases into the configured server (or --target-host) and the bucket objects into the\n" +
			"configured bucket (or --bucket-target). Non-empty targets are refused unless --overwrite is given.\n" +
			"--at TIME (RFC 3339) restores the newest backup before TIME and replays the archived binlog up to TIME.\n" +
			"The target password is " + envRestorePassword + " (default: " + backup.EnvMySQLPassword + ").",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext(cmd)
			defer stop()
			cfg, dest, err := load()
			if err != nil {
				return err
			}
			o := backup.RestoreOptions{BackupID: id}
			if at != "" {
				if o.At, err = time.Parse(time.RFC3339, at); err != nil {
					return fmt.Errorf("--at: %w (use RFC 3339, e.g. 2026-01-02T15:04:05Z)", err)
				}
			}
			if cfg.MySQL != nil && !noMySQL {
				srv := *mysqlServer(cfg.MySQL)
				if targetHost != "" {
					srv.Host = targetHost
				}
				if targetPort != 0 {
					srv.Port = targetPort
				}
				if targetUser != "" {
					srv.User = targetUser
				}
				if p := os.Getenv(envRestorePassword); p != "" {
					srv.Password = p
				}
				t := &backup.MySQLTarget{Server: srv, Overwrite: overwrite, DatabaseMap: map[string]string{}}
				for _, kv := range dbMap {
					from, to, ok := strings.Cut(kv, "=")
					if !ok {
						return fmt.Errorf("--database-map %q: use source=target", kv)
					}
					t.DatabaseMap[from] = to
				}
				o.MySQL = t
			}
			if !noBucket && (cfg.Bucket != nil || bucketTarget != "") {
				sc := backup.StoreConfig{}
				if cfg.Bucket != nil {
					sc = *cfg.Bucket
				}
				if bucketTarget != "" {
					sc.URL = bucketTarget
				}
				st, err := (backup.Clients{}).Open(ctx, sc)
				if err != nil {
					return err
				}
				o.Bucket = &backup.BucketTarget{Store: st, Overwrite: overwrite}
			}
			eng := &backup.Engine{Dest: dest, Log: backupLogger(), ToolVersion: version.Version}
			m, err := eng.Restore(ctx, o)
			if err != nil {
				return err
			}
			msg := fmt.Sprintf("restored backup %s (snapshot %s)", m.ID, m.SnapshotAt.UTC().Format(time.RFC3339))
			if !o.At.IsZero() {
				msg += " rolled forward to " + o.At.UTC().Format(time.RFC3339)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), msg)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&id, "backup", "", "backup id (see `spinops backup list`)")
	f.StringVar(&at, "at", "", "point in time to restore to (RFC 3339)")
	f.StringVar(&targetHost, "target-host", "", "MySQL server to restore into (default: the configured source)")
	f.IntVar(&targetPort, "target-port", 0, "port of --target-host")
	f.StringVar(&targetUser, "target-user", "", "user on the target server")
	f.StringSliceVar(&dbMap, "database-map", nil, "restore database source=target (repeatable)")
	f.StringVar(&bucketTarget, "bucket-target", "", "s3://, gs:// or file:// location to restore the bucket objects into (default: the configured source)")
	f.BoolVar(&overwrite, "overwrite", false, "allow restoring into non-empty databases and bucket prefixes, replacing their contents")
	f.BoolVar(&noMySQL, "no-mysql", false, "do not restore the databases")
	f.BoolVar(&noBucket, "no-bucket", false, "do not restore the bucket objects")
	cmd.MarkFlagsMutuallyExclusive("backup", "at")
	cmd.MarkFlagsOneRequired("backup", "at")
	return cmd
}

func newBackupVerifyCommand(load loadFunc) *cobra.Command {
	var id string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Read a backup (default: the newest) and check sizes, SHA-256 and row counts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, dest, err := load()
			if err != nil {
				return err
			}
			if id == "" {
				l, err := backup.List(cmd.Context(), dest)
				if err != nil {
					return err
				}
				if l.Latest() == nil {
					return errors.New("there is no complete backup to verify")
				}
				id = l.Latest().ID
			}
			rep, err := (&backup.Engine{Dest: dest}).Verify(cmd.Context(), id)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "backup %s OK: %d parts, %d rows, %d bytes\n", id, rep.Parts, rep.Rows, rep.Bytes)
			return err
		},
	}
	cmd.Flags().StringVar(&id, "backup", "", "backup id (default: the newest)")
	return cmd
}
