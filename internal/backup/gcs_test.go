package backup_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
	"github.com/spinops/terraform-provider-spinops/internal/cloud/gcs"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// A Front50 bucket on GCS backed up to GCS and restored to another prefix,
// byte for byte; generations drive the incremental copy.
func TestBucketOnGCS(t *testing.T) {
	fake := testenv.SharedFakeGCS(t)
	ctx := ctxTimeout(t, time.Minute)
	clients := backup.Clients{GCS: gcs.StorageSettings{Endpoint: fake.Endpoint}}
	bucket := fake.Bucket(t)
	src, err := clients.Open(ctx, backup.StoreConfig{URL: "gs://" + bucket + "/front50"})
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte{0, 1, 2, 3, 255}, 5<<20/5) // 5 MiB
	_ = src.Put(ctx, "pipelines/p.json", bytes.NewReader(big))
	_ = src.Put(ctx, "applications/a.json", strings.NewReader(`{"a":1}`))
	dest, err := clients.Open(ctx, backup.StoreConfig{URL: "gs://" + fake.Bucket(t) + "/backups"})
	if err != nil {
		t.Fatal(err)
	}
	eng := &backup.Engine{Dest: dest, Keys: testKeys()}
	m, err := eng.Run(ctx, backup.RunOptions{Bucket: src})
	if err != nil {
		t.Fatal(err)
	}
	_ = src.Put(ctx, "applications/a.json", strings.NewReader(`{"a":2}`))
	m2, err := eng.Run(ctx, backup.RunOptions{Bucket: src})
	if err != nil {
		t.Fatal(err)
	}
	copied := 0
	for _, o := range m2.Bucket.Objects {
		if strings.Contains(o.Stored.Path, m2.ID) {
			copied++
		}
	}
	if copied != 1 {
		t.Errorf("second backup copied %d objects, want 1 (the changed generation)", copied)
	}
	target, _ := clients.Open(ctx, backup.StoreConfig{URL: "gs://" + bucket + "/restored"})
	if _, err := eng.Restore(ctx, backup.RestoreOptions{BackupID: m.ID, Bucket: &backup.BucketTarget{Store: target}}); err != nil {
		t.Fatal(err)
	}
	if b := readAll(t, target, "pipelines/p.json"); !bytes.Equal(b, big) {
		t.Errorf("restored %d bytes, want %d identical", len(b), len(big))
	}
	if b := readAll(t, target, "applications/a.json"); string(b) != `{"a":1}` {
		t.Errorf("restored %q from the first backup", b)
	}
}
