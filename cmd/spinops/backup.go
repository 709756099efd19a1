package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

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
	cmd.AddCommand(newBackupRunCommand(load), newBackupArchiveCommand(load), newBackupMetricsCommand(load), newBackupListCommand(load),
		newBackupRestoreCommand(load), newBackupRollbackBucketCommand(load), newBackupRollbackSQLCommand(load), newBackupVerifyCommand(load))
	return cmd
}

type loadFunc func() (*backup.Config, backup.Store, error)

func backupLogger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func signalContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
}

func mysqlServer(c *backup.MySQLConfig) *backup.MySQLServer { return c.Server() }

// targetFlags are --target-host, --target-port and --target-user: the
// server a restore, a drill or rollback-sql writes into.
type targetFlags struct {
	host, user string
	port       int
}

func (t *targetFlags) add(f *pflag.FlagSet, hostHelp string) {
	f.StringVar(&t.host, "target-host", "", hostHelp+" (default: the configured source)")
	f.IntVar(&t.port, "target-port", 0, "port of --target-host")
	f.StringVar(&t.user, "target-user", "", "user on the target server (password: "+envRestorePassword+", default "+backup.EnvMySQLPassword+")")
}

// server is the configured source c with the flags' overrides and the
// password from envRestorePassword, where given.
func (t *targetFlags) server(c *backup.MySQLConfig) backup.MySQLServer {
	srv := *mysqlServer(c)
	if t.host != "" {
		srv.Host = t.host
	}
	if t.port != 0 {
		srv.Port = t.port
	}
	if t.user != "" {
		srv.User = t.user
	}
	if p := os.Getenv(envRestorePassword); p != "" {
		srv.Password = p
	}
	return srv
}

// engine is the engine over dest with the manifest keys of the environment.
func engine(dest backup.Store, allowUnsigned bool) (*backup.Engine, error) {
	keys, err := backup.KeysFromEnv()
	if err != nil {
		return nil, err
	}
	keys.AllowUnsigned = allowUnsigned
	return &backup.Engine{Dest: dest, Log: backupLogger(), ToolVersion: version.Version, Keys: keys}, nil
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
			eng, err := engine(dest, false)
			if err != nil {
				return err
			}
			if !eng.Keys.CanVerify() {
				eng.Log.Warn("no signing key (" + backup.EnvSigningKey + " or " + backup.EnvEd25519PrivateKey + "): the manifest is not signed, and restore will refuse it without --allow-unsigned")
			}
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
	var workDir, metricsAddr string
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
			// The manifests' keys sign every archived binlog: a restore
			// that verifies refuses binlogs without a valid signature.
			keys, err := backup.KeysFromEnv()
			if err != nil {
				return err
			}
			a := &backup.Archiver{Server: *mysqlServer(cfg.MySQL), Dest: dest, WorkDir: workDir, FlushInterval: interval, Log: backupLogger(), Keys: keys}
			if metricsAddr != "" {
				stopMetrics, err := serveBackupMetrics(ctx, metricsAddr, dest, keys, a, 30*time.Second)
				if err != nil {
					return err
				}
				defer stopMetrics()
			}
			if err := a.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&metricsAddr, "metrics-addr", "", "serve Prometheus /metrics on this address (e.g. :9464): backup, restore-window, drill and archiver figures")
	cmd.Flags().StringVar(&workDir, "work-dir", filepath.Join(os.TempDir(), "spinops-binlogs"), "local directory for the binlog being streamed")
	cmd.Flags().DurationVar(&interval, "flush-interval", 10*time.Second, "how often the binlog being written is uploaded (the recovery point objective)")
	return cmd
}

func newBackupMetricsCommand(load loadFunc) *cobra.Command {
	var metricsAddr string
	var every time.Duration
	cmd := &cobra.Command{
		Use:   "metrics",
		Short: "Serve the backups' figures (last backup, restore window, drills) read from the destination as Prometheus /metrics (runs until stopped; archive-binlogs serves them too)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext(cmd)
			defer stop()
			_, dest, err := load()
			if err != nil {
				return err
			}
			if every <= 0 {
				return fmt.Errorf("--interval must be a positive duration, got %s", every)
			}
			keys, err := backup.KeysFromEnv()
			if err != nil {
				return err
			}
			stopMetrics, err := serveBackupMetrics(ctx, metricsAddr, dest, keys, nil, every)
			if err != nil {
				return err
			}
			defer stopMetrics()
			<-ctx.Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&metricsAddr, "metrics-addr", fmt.Sprintf(":%d", backup.MetricsPort), "serve Prometheus /metrics on this address")
	cmd.Flags().DurationVar(&every, "interval", 30*time.Second, "how often the destination is read")
	return cmd
}

func newBackupListCommand(load loadFunc) *cobra.Command {
	var asJSON, allowUnsigned bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List complete backups and the restore window",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, dest, err := load()
			if err != nil {
				return err
			}
			// With a key, what a restore would trust (manifests and binlogs
			// signed); without one, what the bucket claims.
			keys, err := backup.KeysFromEnv()
			if err != nil {
				return err
			}
			keys.AllowUnsigned = allowUnsigned
			l, err := backup.ListVerified(cmd.Context(), dest, keys)
			if err != nil {
				return err
			}
			return printListing(cmd.OutOrStdout(), l, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&allowUnsigned, "allow-unsigned", false, "list what the bucket claims, without checking signatures (the default when no key is configured)")
	return cmd
}

func printListing(out io.Writer, l *backup.Listing, asJSON bool) error {
	w, ok := l.RestoreWindow()
	if asJSON {
		v := map[string]any{"backups": l.Complete, "incomplete": l.Incomplete, "unverified": l.Unverified, "drills": l.Drills}
		if ok {
			rw := map[string]any{"earliest": w.Earliest, "latest": w.Latest}
			if w.Gap != nil {
				rw["gap"] = w.Gap.Error()
			}
			v["restore_window"] = rw
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
		if w.Gap != nil {
			fmt.Fprintf(out, "binlog gap: %v\n", w.Gap)
		}
	}
	if l.ChainErr != nil {
		fmt.Fprintf(out, "point in time: %v\n", l.ChainErr)
	}
	if d := l.LastDrill(); d != nil {
		res := "passed"
		if !d.OK {
			res = "FAILED: " + d.Error
		}
		fmt.Fprintf(out, "last drill: %s %s (recovery %.1fs, data loss window %.0fs)\n", d.StartedAt.UTC().Format(time.RFC3339), res, d.RecoverySeconds, d.DataLossSeconds)
	}
	if len(l.Incomplete) > 0 {
		fmt.Fprintf(out, "incomplete (not restorable): %s\n", strings.Join(l.Incomplete, ", "))
	}
	if len(l.Unverified) > 0 {
		fmt.Fprintf(out, "not signed by a configured key (a restore refuses them without --allow-unsigned): %s\n", strings.Join(l.Unverified, ", "))
	}
	return nil
}

func newBackupRestoreCommand(load loadFunc) *cobra.Command {
	var (
		id, at, bucketTarget                    string
		target                                  targetFlags
		dbMap                                   []string
		overwrite, confirmSource, allowUnsigned bool
		noMySQL, noBucket                       bool
	)
	cmd := &cobra.Command{
		Use:   "restore (--backup ID | --at TIME)",
		Short: "Restore a backup, or the state at a point in time, into a database and a bucket prefix",
		Long: "Restores the MySQL databases into the configured server (or --target-host) and the bucket objects into the\n" +
			"configured bucket (or --bucket-target). Everything is loaded and verified beside the target first (staging\n" +
			"databases, every bucket part read) and swapped in only then, so a failed restore changes nothing.\n" +
			"Non-empty targets are refused unless --overwrite is given; the databases and bucket the backup was taken\n" +
			"from (the default target) also need --confirm-overwrite-source.\n" +
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
				srv := target.server(cfg.MySQL)
				t := &backup.MySQLTarget{Server: srv, Overwrite: overwrite, ConfirmSource: confirmSource, DatabaseMap: map[string]string{}}
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
				o.Bucket = &backup.BucketTarget{Store: st, Overwrite: overwrite, ConfirmSource: confirmSource}
			}
			eng, err := engine(dest, allowUnsigned)
			if err != nil {
				return err
			}
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
	target.add(f, "MySQL server to restore into")
	f.StringSliceVar(&dbMap, "database-map", nil, "restore database source=target (repeatable)")
	f.StringVar(&bucketTarget, "bucket-target", "", "s3://, gs:// or file:// location to restore the bucket objects into (default: the configured source)")
	f.BoolVar(&overwrite, "overwrite", false, "allow restoring into non-empty databases and bucket prefixes, replacing their contents once the restore is verified")
	f.BoolVar(&confirmSource, "confirm-overwrite-source", false, "with --overwrite: allow replacing the very databases / bucket the backup was taken from")
	f.BoolVar(&allowUnsigned, "allow-unsigned", false, "trust a manifest, and archived binlogs, no configured key verifies (backups and binlogs made without a signing key)")
	f.BoolVar(&noMySQL, "no-mysql", false, "do not restore the databases")
	f.BoolVar(&noBucket, "no-bucket", false, "do not restore the bucket objects")
	cmd.MarkFlagsMutuallyExclusive("backup", "at")
	cmd.MarkFlagsOneRequired("backup", "at")
	return cmd
}

func newBackupVerifyCommand(load loadFunc) *cobra.Command {
	var (
		id                   string
		target               targetFlags
		drill, allowUnsigned bool
	)
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check a backup (default: the newest): signature, sizes, SHA-256 and row counts; --drill restores it",
		Long: "Without --drill: reads every part and checks it against the signed manifest.\n" +
			"With --drill: restores the newest backup into scratch databases (spinops_stage_*, dropped afterwards) on the\n" +
			"configured server (or --target-host), re-reads every table and compares row counts and row digests with the\n" +
			"manifest, then restores the newest point in time the binlog archive proves the same way. It reports the\n" +
			"recovery time (start to verified) and the data-loss window, and records the result at the destination.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext(cmd)
			defer stop()
			cfg, dest, err := load()
			if err != nil {
				return err
			}
			eng, err := engine(dest, allowUnsigned)
			if err != nil {
				return err
			}
			if drill {
				if cfg.MySQL == nil {
					return errors.New("--drill needs a mysql source in the configuration (the server to restore into)")
				}
				srv := target.server(cfg.MySQL)
				res, err := eng.Drill(ctx, backup.DrillOptions{Server: srv})
				if err != nil {
					return fmt.Errorf("drill of backup %s failed after %.1fs: %w", res.BackupID, res.RecoverySeconds, err)
				}
				pit := "no binlog archive to roll forward"
				if !res.PointInTime.IsZero() {
					pit = "rolled forward to " + res.PointInTime.UTC().Format(time.RFC3339)
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "drill of backup %s OK: %d tables, %d rows verified, %s; recovery time %.1fs, data-loss window %.0fs\n",
					res.BackupID, res.Tables, res.Rows, pit, res.RecoverySeconds, res.DataLossSeconds)
				return err
			}
			if id == "" {
				l, err := backup.List(ctx, dest)
				if err != nil {
					return err
				}
				if l.Latest() == nil {
					return errors.New("there is no complete backup to verify")
				}
				id = l.Latest().ID
			}
			rep, err := eng.Verify(ctx, id)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "backup %s OK: %d parts, %d rows, %d bytes\n", id, rep.Parts, rep.Rows, rep.Bytes)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&id, "backup", "", "backup id (default: the newest)")
	f.BoolVar(&drill, "drill", false, "restore the newest backup and a point in time into scratch databases and verify them")
	target.add(f, "with --drill: MySQL server to restore into")
	f.BoolVar(&allowUnsigned, "allow-unsigned", false, "trust a manifest, and archived binlogs, no configured key verifies")
	cmd.MarkFlagsMutuallyExclusive("backup", "drill")
	return cmd
}

// serveBackupMetrics serves /metrics on addr: the archiver's own figures
// and, refreshed every 30 seconds, those read from the destination (as a
// restore that verifies with keys would trust them, when they can).
func serveBackupMetrics(ctx context.Context, addr string, dest backup.Store, keys *backup.Keys, a *backup.Archiver, every time.Duration) (func(), error) {
	reg := prometheus.NewRegistry()
	m := backup.NewMetrics(reg)
	if a != nil {
		a.Metrics = m
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	rctx, cancel := context.WithCancel(ctx)
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if l, err := backup.ListVerified(rctx, dest, keys); err == nil {
				m.ObserveListing(l)
			} else if rctx.Err() == nil {
				backupLogger().Warn("reading the destination for the metrics failed; will retry", "error", err)
			}
			select {
			case <-rctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		cancel()
		_ = srv.Close()
	}, nil
}
