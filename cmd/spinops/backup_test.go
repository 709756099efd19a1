package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
	awscloud "github.com/spinops/terraform-provider-spinops/internal/cloud/aws"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := newRootCommand()
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

// run → list → verify → restore through the CLI, with a bucket source and
// destination in local directories (file://), so no service is needed.
func TestBackupCommandRoundTrip(t *testing.T) {
	t.Setenv(backup.EnvSigningKey, "tf-acc-test-signing-key-0123456789abcdef")
	dir := t.TempDir()
	src := filepath.Join(dir, "front50")
	if err := os.MkdirAll(filepath.Join(src, "apps"), 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(filepath.Join(src, "apps", "a.json"), []byte(`{"name":"a"}`), 0o644)
	cfg := filepath.Join(dir, "config.json")
	_ = os.WriteFile(cfg, []byte(`{"destination":{"url":"file://`+dir+`/dest"},"bucket":{"url":"file://`+src+`"},"retention":{"count":2}}`), 0o644)

	out, err := runCLI(t, "backup", "run", "--config", cfg)
	if err != nil || !strings.Contains(out, "complete") {
		t.Fatalf("run: %v\n%s", err, out)
	}
	out, err = runCLI(t, "backup", "list", "--config", cfg)
	if err != nil || !strings.Contains(out, "restore window") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	out, err = runCLI(t, "backup", "verify", "--config", cfg)
	if err != nil || !strings.Contains(out, "OK") {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	id := strings.Fields(strings.Split(out, "\n")[0])[1]
	for _, flags := range [][]string{nil, {"--overwrite"}} {
		_, err = runCLI(t, append([]string{"backup", "restore", "--config", cfg, "--backup", id}, flags...)...)
		if err == nil || !strings.Contains(err.Error(), "--confirm-overwrite-source") {
			t.Fatalf("restore over the source bucket with %v: %v, want a refusal naming --confirm-overwrite-source", flags, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(src, "apps", "a.json")); string(b) != `{"name":"a"}` {
		t.Fatalf("a refused restore changed the source: %q", b)
	}
	t.Setenv(backup.EnvSigningKey, "")
	if _, err = runCLI(t, "backup", "verify", "--config", cfg); err == nil || !strings.Contains(err.Error(), "not signed by a trusted key") {
		t.Fatalf("verify without the key: %v", err)
	}
	t.Setenv(backup.EnvSigningKey, "tf-acc-test-signing-key-0123456789abcdef")
	restored := filepath.Join(dir, "restored")
	if out, err = runCLI(t, "backup", "restore", "--config", cfg, "--backup", id, "--bucket-target", "file://"+restored); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(restored, "apps", "a.json")); string(b) != `{"name":"a"}` {
		t.Errorf("restored %q", b)
	}
	// The completed restore left no undo journal: rollback-bucket has
	// nothing to do and changes nothing.
	if out, err = runCLI(t, "backup", "rollback-bucket", "--config", cfg, "--bucket-target", "file://"+restored); err != nil || !strings.Contains(out, "nothing changed") {
		t.Fatalf("rollback-bucket after a completed restore: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(restored, "apps", "a.json")); string(b) != `{"name":"a"}` {
		t.Errorf("rollback-bucket with nothing to roll back changed the target: %q", b)
	}
	if _, err := os.Stat(filepath.Join(restored, ".spinops-restore-undo")); !os.IsNotExist(err) {
		t.Errorf("the completed restore left its undo copy: %v", err)
	}
}

func TestBackupCommandRejectsBadConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "c.json")
	_ = os.WriteFile(cfg, []byte(`{"destination":{"url":"ftp://x"},"bucket":{"url":"s3://b"}}`), 0o644)
	if _, err := runCLI(t, "backup", "run", "--config", cfg); err == nil || !strings.Contains(err.Error(), "destination.url") {
		t.Errorf("bad destination: %v", err)
	}
	if _, err := runCLI(t, "backup", "restore", "--config", cfg); err == nil {
		t.Error("restore without --backup or --at accepted")
	}
}

// The demo's flow: MariaDB and a moto bucket, `spinops backup run` then
// `spinops backup restore --overwrite`, configured the way the policy's
// ConfigMap and Secret configure the CronJob (config file + environment).
func TestBackupCommandAgainstMariaDBAndMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("needs MariaDB and moto")
	}
	mdb := testenv.StartMariaDB(t)
	moto := testenv.StartMoto(t)
	moto.SetEnv(t)
	t.Setenv(backup.EnvMySQLPassword, mdb.RootPassword)
	t.Setenv(backup.EnvSigningKey, "tf-acc-test-signing-key-0123456789abcdef")
	ctx := t.Context()
	db, err := sql.Open("mysql", mdb.DSN("mysql"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{"CREATE DATABASE spinops_demo", "CREATE TABLE spinops_demo.applications (name VARCHAR(64) PRIMARY KEY)", "INSERT INTO spinops_demo.applications VALUES ('app1'), ('app2')"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	awsCfg, _ := awscloud.LoadConfig(ctx, awscloud.Settings{Region: testenv.MotoRegion})
	s3c := awscloud.NewS3Client(awsCfg, awscloud.Endpoints{}, awscloud.S3Options{Endpoint: moto.Endpoint, PathStyle: true})
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("spinops-demo-backups")}); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "config.json")
	_ = os.WriteFile(cfg, []byte(fmt.Sprintf(`{"destination":{"url":"s3://spinops-demo-backups/spinnaker","endpoint":%q,"path_style":true},
"mysql":{"host":"127.0.0.1","port":%d,"user":"root","databases":["spinops_demo"]},"retention":{"count":5},"point_in_time":true}`, moto.Endpoint, mdb.Port)), 0o644)
	if out, err := runCLI(t, "backup", "run", "--config", cfg); err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	out, err := runCLI(t, "backup", "verify", "--drill", "--config", cfg)
	if err != nil || !strings.Contains(out, "OK: 1 tables, 2 rows verified") || !strings.Contains(out, "recovery time") {
		t.Fatalf("verify --drill: %v\n%s", err, out)
	}
	if out, _ := runCLI(t, "backup", "list", "--config", cfg); !strings.Contains(out, "last drill:") || !strings.Contains(out, "passed") {
		t.Errorf("list does not show the drill:\n%s", out)
	}
	// What Prometheus scrapes: `backup metrics` (the Deployment of a policy
	// without point in time) and `archive-binlogs --metrics-addr` (the
	// archiver's), both from this destination.
	now := float64(time.Now().Unix())
	for _, args := range [][]string{
		{"backup", "metrics", "--config", cfg, "--interval", "200ms"},
		{"backup", "archive-binlogs", "--config", cfg, "--flush-interval", "300ms", "--work-dir", t.TempDir()},
	} {
		got := scrapeCommand(t, args, "spinops_backup_drill_ok")
		for name, ok := range map[string]func(float64) bool{
			"spinops_backup_last_success_timestamp":       func(v float64) bool { return v > now-600 && v <= now+60 },
			"spinops_backup_drill_ok":                     func(v float64) bool { return v == 1 },
			"spinops_backup_drill_recovery_seconds":       func(v float64) bool { return v > 0 },
			"spinops_backup_drill_last_success_timestamp": func(v float64) bool { return v > now-600 },
			"spinops_backup_restore_window_seconds":       func(v float64) bool { return v >= 0 },
		} {
			if v, found := got[name]; !found || !ok(v) {
				t.Errorf("%s: %s = %v (found %t)", args[1], name, v, found)
			}
		}
		if args[1] == "archive-binlogs" {
			if v := got["spinops_backup_binlog_heartbeat_timestamp"]; v < now-60 {
				t.Errorf("archive-binlogs: spinops_backup_binlog_heartbeat_timestamp = %v", v)
			}
		} else if _, found := got["spinops_backup_binlog_heartbeat_timestamp"]; !found {
			t.Errorf("backup metrics does not serve the archiver's gauges (at 0): %v", got)
		}
	}
	if _, err := db.ExecContext(ctx, "DELETE FROM spinops_demo.applications"); err != nil {
		t.Fatal(err)
	}
	out, _ = runCLI(t, "backup", "list", "--config", cfg, "--json")
	var l struct {
		Backups []struct {
			ID string `json:"id"`
		} `json:"backups"`
	}
	if err := json.Unmarshal([]byte(out), &l); err != nil || len(l.Backups) != 1 {
		t.Fatalf("list --json: %v\n%s", err, out)
	}
	if _, err := runCLI(t, "backup", "restore", "--config", cfg, "--backup", l.Backups[0].ID, "--overwrite"); err == nil || !strings.Contains(err.Error(), "--confirm-overwrite-source") {
		t.Fatalf("restore over the live source with --overwrite alone: %v", err)
	}
	if out, err := runCLI(t, "backup", "restore", "--config", cfg, "--backup", l.Backups[0].ID, "--overwrite", "--confirm-overwrite-source"); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM spinops_demo.applications").Scan(&n); err != nil || n != 2 {
		t.Errorf("after restore: %d rows, %v", n, err)
	}
	// The completed restore left no journal: rollback-sql has nothing to
	// do (internal/backup's TestRestoreKilledMidSwap kills restores).
	if out, err := runCLI(t, "backup", "rollback-sql", "--config", cfg); err != nil || !strings.Contains(out, "no interrupted restore; nothing changed") {
		t.Fatalf("rollback-sql after a completed restore: %v\n%s", err, out)
	}
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM spinops_demo.applications").Scan(&n); err != nil || n != 2 {
		t.Errorf("after rollback-sql with nothing to do: %d rows, %v", n, err)
	}
}

// scrapeCommand runs a long-running command with --metrics-addr on a free
// port, reads /metrics until ready is non-zero (the archiver also waits
// for its first flush), stops the command and returns the samples without
// labels.
func scrapeCommand(t *testing.T, args []string, ready string) map[string]float64 {
	t.Helper()
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out bytes.Buffer
	root := newRootCommand()
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append(args, "--metrics-addr", addr))
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	got := map[string]float64{}
	deadline := time.Now().Add(30 * time.Second)
	for got[ready] == 0 || got["spinops_backup_last_success_timestamp"] == 0 || (args[1] == "archive-binlogs" && got["spinops_backup_binlog_heartbeat_timestamp"] == 0) {
		if time.Now().After(deadline) {
			t.Fatalf("%v: /metrics never showed %s: %v\n%s", args, ready, got, out.String())
		}
		time.Sleep(200 * time.Millisecond)
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		for _, line := range strings.Split(string(body), "\n") {
			f := strings.Fields(line)
			if len(f) == 2 && !strings.HasPrefix(line, "#") && !strings.Contains(f[0], "{") {
				if v, err := strconv.ParseFloat(f[1], 64); err == nil {
					got[f[0]] = v
				}
			}
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%v stopped with %v\n%s", args, err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%v did not stop", args)
	}
	return got
}
