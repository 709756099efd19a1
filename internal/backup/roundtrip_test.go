package backup_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
)

const schema = `
CREATE TABLE pipelines (
  id BIGINT PRIMARY KEY AUTO_INCREMENT,
  name VARCHAR(255) NOT NULL,
  body LONGTEXT,
  raw BLOB,
  flags BIT(8),
  latin VARCHAR(64) CHARACTER SET latin1,
  created TIMESTAMP(6) NULL,
  name_len INT AS (CHAR_LENGTH(name)) VIRTUAL
);
CREATE TABLE executions (
  id VARCHAR(64) PRIMARY KEY,
  pipeline_id BIGINT NOT NULL,
  status ENUM('RUNNING','SUCCEEDED','TERMINAL'),
  amount DECIMAL(20,6),
  FOREIGN KEY (pipeline_id) REFERENCES pipelines(id)
);
CREATE TABLE empty_table (id INT PRIMARY KEY);
`

func seed(t *testing.T, e *env, db string) {
	t.Helper()
	d := e.sql(db)
	exec(t, d, schema)
	blob := make([]byte, 4096)
	_, _ = rand.Read(blob)
	exec(t, d, "INSERT INTO pipelines (name, body, raw, flags, latin, created) VALUES (?, ?, ?, b'10100101', ?, NOW(6))",
		"deploy\tprod\nline", `{"stages":[{"type":"bake"}],"path":"C:\\temp","nul":"a`+"\x00"+`b"}`, blob, "café")
	exec(t, d, "INSERT INTO pipelines (name, body, raw, flags, latin) VALUES ('\\\\N', NULL, NULL, NULL, NULL)")
	exec(t, d, "INSERT INTO pipelines (name, body) VALUES ('ünïcødé 🚀', REPEAT('x', 100000))")
	for i := 0; i < 500; i++ {
		exec(t, d, "INSERT INTO executions VALUES (?, 1 + ? % 3, 'SUCCEEDED', ? / 7)", "exec-"+strings.Repeat("0", 3)+string(rune('a'+i%26))+time.Now().Format("150405.000000")+string(rune('a'+i/26)), i, i)
	}
}

func TestBackupRestoreRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := ctxTimeout(t, 2*time.Minute)
	db := e.db.Database(t)
	seed(t, e, db)
	d := e.sql(db)

	srcBucket := e.store(e.bucket(), "front50/")
	objects := map[string][]byte{
		"applications/app1/specification.json": []byte(`{"name":"app1"}`),
		"pipelines/p1/pipeline-metadata.json":  bytes.Repeat([]byte("pipeline "), 200000), // ~1.8 MB: multipart-sized parts
		"empty":                                {},
	}
	for k, v := range objects {
		if err := srcBucket.Put(ctx, k, bytes.NewReader(v)); err != nil {
			t.Fatal(err)
		}
	}
	dest := e.store(e.bucket(), "spinops/")
	eng := &backup.Engine{Dest: dest, Log: testLogger(t), ToolVersion: "test", Keys: testKeys()}
	before := dumpTables(t, d, db)

	m, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}, Bucket: srcBucket, PointInTime: true})
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	if m.MySQL.BinlogFile == "" || m.MySQL.BinlogPosition == 0 {
		t.Errorf("manifest has no binlog position: %+v", m.MySQL)
	}
	if got := m.MySQL.Databases[0].Tables; len(got) != 3 || got[1].Name != "executions" || got[1].Rows != 500 {
		t.Errorf("manifest tables = %+v", got)
	}
	if rep, err := eng.Verify(ctx, m.ID); err != nil || rep.Rows != 503 {
		t.Fatalf("verify: %+v, %v", rep, err)
	}

	// Change and delete data, in the database and in the bucket.
	exec(t, d, "UPDATE pipelines SET name = 'changed'")
	exec(t, d, "DELETE FROM executions WHERE amount > 10")
	exec(t, d, "INSERT INTO empty_table VALUES (1)")
	if err := srcBucket.Delete(ctx, "applications/app1/specification.json"); err != nil {
		t.Fatal(err)
	}
	_ = srcBucket.Put(ctx, "stray", strings.NewReader("not in the backup"))

	// Restoring over the live source is refused without Overwrite and the
	// confirmation, before anything changes.
	for _, tg := range []*backup.MySQLTarget{{Server: *e.server()}, {Server: *e.server(), Overwrite: true}} {
		_, err = eng.Restore(ctx, backup.RestoreOptions{BackupID: m.ID, MySQL: tg})
		if !errors.Is(err, backup.ErrLiveSource) || !strings.Contains(err.Error(), "--confirm-overwrite-source") {
			t.Fatalf("restore into the source database (overwrite=%t): got %v, want a refusal naming --confirm-overwrite-source", tg.Overwrite, err)
		}
	}
	_, err = eng.Restore(ctx, backup.RestoreOptions{BackupID: m.ID, Bucket: &backup.BucketTarget{Store: srcBucket, Overwrite: true}})
	if !errors.Is(err, backup.ErrLiveSource) {
		t.Fatalf("restore into the source bucket without confirmation: got %v", err)
	}
	// A non-empty database that is not the source needs Overwrite.
	other := e.db.Database(t)
	exec(t, e.sql(other), "CREATE TABLE keep (id INT)")
	_, err = eng.Restore(ctx, backup.RestoreOptions{BackupID: m.ID, MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: map[string]string{db: other}}})
	if err == nil || !strings.Contains(err.Error(), "not empty") || !strings.Contains(err.Error(), "--overwrite") {
		t.Fatalf("restore into a non-empty database: got %v, want a refusal naming --overwrite", err)
	}

	if _, err := eng.Restore(ctx, backup.RestoreOptions{
		BackupID: m.ID,
		MySQL:    &backup.MySQLTarget{Server: *e.server(), Overwrite: true, ConfirmSource: true},
		Bucket:   &backup.BucketTarget{Store: srcBucket, Overwrite: true, ConfirmSource: true},
	}); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if after := dumpTables(t, d, db); after != before {
		t.Errorf("restored rows differ:\n--- before\n%.2000s\n--- after\n%.2000s", before, after)
	}
	got, err := srcBucket.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(objects) {
		t.Errorf("restored bucket has %d objects, want %d: %+v", len(got), len(objects), got)
	}
	for k, v := range objects {
		if b := readAll(t, srcBucket, k); !bytes.Equal(b, v) {
			t.Errorf("object %s: %d bytes restored, want %d identical bytes", k, len(b), len(v))
		}
	}

	// A second backup copies only what changed in the bucket.
	_ = srcBucket.Put(ctx, "applications/app2/specification.json", strings.NewReader(`{"name":"app2"}`))
	m2, err := eng.Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}, Bucket: srcBucket})
	if err != nil {
		t.Fatal(err)
	}
	shared := 0
	for _, o := range m2.Bucket.Objects {
		if strings.HasPrefix(o.Stored.Path, "backups/"+m.ID+"/") {
			shared++
		}
	}
	if shared != len(objects) {
		t.Errorf("incremental backup re-copied unchanged objects: %d of %d point at the first backup", shared, len(objects))
	}
}
