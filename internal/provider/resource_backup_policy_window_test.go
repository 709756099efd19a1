package provider

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
)

// TestAccBackupPolicy_windowGapAndDrill: what spinops_backup_policy and
// spinops_backups report is what the destination proves, as the engine
// left it: a backup with point in time, its binlogs archived, a restore
// drill recorded (last_drill, drills: ok, its backup, a recovery time),
// then a binlog file after the backup's missing from the bucket — the
// window ends there and both name the missing file in restore_window.gap,
// with archived_until before the writes that followed it.
func TestAccBackupPolicy_windowGapAndDrill(t *testing.T) {
	if testing.Short() {
		t.Skip("acceptance test")
	}
	c, mdb, moto, ns, db := backupPolicyEnv(t)
	s3c, bucket := backupBucket(t, moto)
	dest := backup.NewS3Store(s3c, backup.Location{Scheme: "s3", Bucket: bucket, Prefix: "spinnaker/"})
	server := backup.MySQLServer{Host: mdb.Host, Port: mdb.Port, User: mdb.RootUser, Password: mdb.RootPassword}
	eng := &backup.Engine{Dest: dest, Keys: &backup.Keys{HMAC: []byte(accBackupSigningKey)}}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	d, err := sql.Open("mysql", mdb.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	exec := func(q string) {
		t.Helper()
		if _, err := d.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	exec("CREATE TABLE executions (id INT PRIMARY KEY, status TEXT)")
	exec("INSERT INTO executions VALUES (1, 'SUCCEEDED')")

	actx, stopArchiver := context.WithCancel(ctx)
	archived := make(chan error, 1)
	arch := &backup.Archiver{Server: server, Dest: dest, WorkDir: filepath.Join(t.TempDir(), "binlogs"), FlushInterval: 300 * time.Millisecond, Keys: &backup.Keys{HMAC: []byte(accBackupSigningKey)}}
	go func() { archived <- arch.Run(actx) }()
	m, err := eng.Run(ctx, backup.RunOptions{MySQL: &server, Databases: []string{db}, PointInTime: true})
	if err != nil {
		t.Fatal(err)
	}
	exec("INSERT INTO executions VALUES (2, 'RUNNING')")
	exec("FLUSH BINARY LOGS")
	exec("INSERT INTO executions VALUES (3, 'RUNNING')") // in the file that goes missing
	exec("FLUSH BINARY LOGS")
	time.Sleep(1100 * time.Millisecond)
	exec("INSERT INTO executions VALUES (4, 'RUNNING')") // after the gap
	afterGap := time.Now().UTC()
	time.Sleep(1500 * time.Millisecond)
	res, err := eng.Drill(ctx, backup.DrillOptions{Server: server})
	if err != nil || !res.OK {
		t.Fatalf("drill: %+v, %v", res, err)
	}
	// Stopped only once a flush after the drill found the archive caught
	// up: the drill's scratch database is written to the binary log too,
	// and a stop between such a write and the next flush (300 ms) leaves
	// the archiver's last status behind by those bytes, which the state
	// then rightly reports (seen once in a loaded CI run: 192 bytes).
	drilled := time.Now()
	for deadline := drilled.Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		l, err := backup.List(ctx, dest)
		if err != nil {
			t.Fatal(err)
		}
		if st := l.ArchiverStatus(); st != nil && st.HeartbeatAt.After(drilled) && st.BehindBytes == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the archiver did not catch up after the drill: %+v", l.ArchiverStatus())
		}
	}
	stopArchiver()
	if err := <-archived; err != nil && ctx.Err() == nil && actx.Err() == nil {
		t.Fatal(err)
	}

	// The file after the backup's goes missing from the bucket.
	l, err := backup.List(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	a := l.Archives[m.MySQL.ArchiveServer]
	if a == nil {
		t.Fatalf("no archive of %s", m.MySQL.ArchiveServer)
	}
	var lost, startKey string
	for i, f := range a.Files {
		if strings.HasSuffix(f.Key, "/"+m.MySQL.BinlogFile) && i+2 < len(a.Files) {
			lost, startKey = a.Files[i+1].Key, f.Key
		}
	}
	if lost == "" {
		t.Fatalf("no archived file after the backup's %s: %+v", m.MySQL.BinlogFile, a.Files)
	}
	if err := dest.Delete(ctx, lost); err != nil {
		t.Fatal(err)
	}
	lostName := lost[strings.LastIndex(lost, "/")+1:]

	before := func(limit time.Time) knownvalue.Check {
		return knownvalue.StringFunc(func(v string) error {
			at, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return err
			}
			if !at.Before(limit) {
				return fmt.Errorf("archived_until %s is not before %s: the window reaches past the gap", v, limit.Format(time.RFC3339))
			}
			return nil
		})
	}
	gap := knownvalue.StringRegexp(regexp.MustCompile(regexp.QuoteMeta(lostName)))
	startGap := knownvalue.StringRegexp(regexp.MustCompile(regexp.QuoteMeta(m.MySQL.BinlogFile) + ".*where the backup starts"))
	policy, backups := "spinops_backup_policy.this", "data.spinops_backups.all"
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []tfresource.TestStep{{
			Config: backupPolicyConfig(c.Kubeconfig, ns, moto.Endpoint, bucket, mdb.Host, mdb.Port, db, "0 */6 * * *", true, 7),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(policy, tfjsonpath.New("last_drill").AtMapKey("ok"), knownvalue.Bool(true)),
				statecheck.ExpectKnownValue(policy, tfjsonpath.New("last_drill").AtMapKey("backup_id"), knownvalue.StringExact(m.ID)),
				statecheck.ExpectKnownValue(policy, tfjsonpath.New("last_drill").AtMapKey("recovery_seconds"), knownvalue.Float64Func(positive)),
				statecheck.ExpectKnownValue(policy, tfjsonpath.New("restore_window").AtMapKey("gap"), gap),
				statecheck.ExpectKnownValue(policy, tfjsonpath.New("restore_window").AtMapKey("archived_until"), before(afterGap)),
				// The archiver stopped: its last heartbeat, caught up then.
				statecheck.ExpectKnownValue(policy, tfjsonpath.New("archiver_heartbeat"), knownvalue.StringFunc(func(v string) error {
					at, err := time.Parse(time.RFC3339, v)
					if err != nil || at.Before(afterGap.Add(-time.Minute)) || at.After(time.Now().Add(time.Second)) {
						return fmt.Errorf("archiver_heartbeat %s (%v): want the stopped archiver's last flush, after %s", v, err, afterGap.Format(time.RFC3339))
					}
					return nil
				})),
				statecheck.ExpectKnownValue(policy, tfjsonpath.New("archiver_behind_bytes"), knownvalue.Int64Exact(0)),
				statecheck.ExpectKnownValue(backups, tfjsonpath.New("drills"), knownvalue.ListSizeExact(1)),
				statecheck.ExpectKnownValue(backups, tfjsonpath.New("drills").AtSliceIndex(0).AtMapKey("ok"), knownvalue.Bool(true)),
				statecheck.ExpectKnownValue(backups, tfjsonpath.New("drills").AtSliceIndex(0).AtMapKey("point_in_time"), knownvalue.NotNull()),
				statecheck.ExpectKnownValue(backups, tfjsonpath.New("restore_window").AtMapKey("gap"), gap),
				statecheck.ExpectKnownValue(backups, tfjsonpath.New("restore_window").AtMapKey("archived_until"), before(afterGap)),
			},
		}, {
			// The file the backup starts in goes missing too: no point in
			// time past the snapshot, and the gap names that file.
			PreConfig: func() {
				if err := dest.Delete(ctx, startKey); err != nil {
					t.Fatal(err)
				}
			},
			Config: backupPolicyConfig(c.Kubeconfig, ns, moto.Endpoint, bucket, mdb.Host, mdb.Port, db, "0 */6 * * *", true, 7),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(policy, tfjsonpath.New("restore_window").AtMapKey("gap"), startGap),
				statecheck.ExpectKnownValue(policy, tfjsonpath.New("restore_window").AtMapKey("latest"), knownvalue.StringExact(m.SnapshotAt.UTC().Format(time.RFC3339))),
				statecheck.ExpectKnownValue(backups, tfjsonpath.New("restore_window").AtMapKey("gap"), startGap),
			},
		}},
	})
}

func positive(v float64) error {
	if v <= 0 {
		return fmt.Errorf("%v is not positive", v)
	}
	return nil
}
