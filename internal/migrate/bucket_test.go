package migrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
	awscloud "github.com/spinops/terraform-provider-spinops/internal/cloud/aws"
	"github.com/spinops/terraform-provider-spinops/internal/cloud/gcs"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// s3Stores returns two stores on buckets of their own in moto.
func s3Stores(t *testing.T) (old, fresh backup.Store) {
	t.Helper()
	m := testenv.SharedMoto(t)
	c := awscloud.NewS3Client(aws.Config{Region: testenv.MotoRegion,
		Credentials: credentials.NewStaticCredentialsProvider(testenv.MotoAccessKeyID, testenv.MotoSecretAccessKey, "")},
		awscloud.Endpoints{}, awscloud.S3Options{Endpoint: m.Endpoint, PathStyle: true})
	var stores []backup.Store
	for range 2 {
		name := testenv.UniqueName("tf-acc-test-", 8)
		if _, err := c.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
		stores = append(stores, backup.NewS3Store(c, backup.Location{Scheme: "s3", Bucket: name, Prefix: "front50/"}))
	}
	return stores[0], stores[1]
}

func put(t *testing.T, s backup.Store, objs map[string]string) {
	t.Helper()
	for k, v := range objs {
		if err := s.Put(t.Context(), k, strings.NewReader(v)); err != nil {
			t.Fatal(err)
		}
	}
}

func contents(t *testing.T, s backup.Store) map[string]string {
	t.Helper()
	l, err := s.List(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, o := range l {
		if strings.HasPrefix(o.Key, syncPrefix) {
			continue
		}
		rc, _, err := s.Get(t.Context(), o.Key)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[o.Key] = string(b)
	}
	return out
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestSyncBucketIncremental: the first run copies everything; the second
// only what changed (an edit of the same size included: the version
// differs), deletes what the source lost, and leaves alone what the new
// installation wrote itself.
func TestSyncBucketIncremental(t *testing.T) {
	src, dst := s3Stores(t)
	ctx := t.Context()
	want := map[string]string{
		"applications/app1/specification.json": `{"name":"app1"}`,
		"pipelines/p1/pipeline-metadata.json":  strings.Repeat("stage ", 200000), // multipart-sized
		"pipelines/p2/pipeline-metadata.json":  `{"name":"p2"}`,
		"pipelines/p3/pipeline-metadata.json":  `{"name":"p3"}`,
	}
	put(t, src, want)
	var bars recordedProgress
	res, err := SyncBucketWithProgress(ctx, src, dst, quiet(), &bars)
	if err != nil {
		t.Fatal(err)
	}
	if res.Copied != 4 || res.Unchanged != 0 || !maps.Equal(contents(t, dst), want) {
		t.Fatalf("first run: %s; destination %v", res, contents(t, dst))
	}
	var size int64
	for _, v := range want {
		size += int64(len(v))
	}
	if steps := bars.check(t, "copying 4 objects"); steps[0].total != size {
		t.Errorf("the bucket copy's step counts %d bytes, want the %d of the four objects", steps[0].total, size)
	}

	// Between the runs: p2 edited with the same size, p3 deleted, p4 added
	// at the source; the new installation wrote its own object.
	put(t, src, map[string]string{"pipelines/p2/pipeline-metadata.json": `{"name":"P2"}`, "pipelines/p4/pipeline-metadata.json": `{"name":"p4"}`})
	if err := src.Delete(ctx, "pipelines/p3/pipeline-metadata.json"); err != nil {
		t.Fatal(err)
	}
	put(t, dst, map[string]string{"applications/new-only/specification.json": `{"name":"new-only"}`})
	bars = recordedProgress{}
	res, err = SyncBucketWithProgress(ctx, src, dst, quiet(), &bars)
	if err != nil {
		t.Fatal(err)
	}
	if steps := bars.check(t, "copying 2 objects"); steps[0].total != int64(len(`{"name":"P2"}`)+len(`{"name":"p4"}`)) {
		t.Errorf("the second run's step counts %d bytes, want those of p2 and p4 only", steps[0].total)
	}
	if res.Copied != 2 || res.Unchanged != 2 || res.Deleted != 1 || res.Foreign != 1 {
		t.Errorf("second run: %s; want 2 copied (p2 edited, p4 new), 2 unchanged, 1 deleted (p3), 1 left alone", res)
	}
	want = contents(t, src)
	want["applications/new-only/specification.json"] = `{"name":"new-only"}`
	if got := contents(t, dst); !maps.Equal(got, want) {
		t.Errorf("after the second run the destination holds %v, want %v", keys(got), keys(want))
	}
	// A third run has nothing to do.
	if res, err = SyncBucket(ctx, src, dst, quiet()); err != nil || res.Copied != 0 || res.Deleted != 0 || res.Unchanged != 4 {
		t.Errorf("third run: %s, %v; want nothing copied or deleted", res, err)
	}
	// An object deleted at the destination is copied again, though its
	// source is unchanged.
	if err := dst.Delete(ctx, "pipelines/p4/pipeline-metadata.json"); err != nil {
		t.Fatal(err)
	}
	if res, err = SyncBucket(ctx, src, dst, quiet()); err != nil || res.Copied != 1 {
		t.Errorf("after a deletion at the destination: %s, %v; want it copied again", res, err)
	}
}

// corruptStore flips a byte of every object it is given under key: a
// destination that stores something else than it was sent.
type corruptStore struct {
	backup.Store
	key string
}

func (c *corruptStore) Put(ctx context.Context, key string, r io.Reader) error {
	if key != c.key {
		return c.Store.Put(ctx, key, r)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	b[len(b)/2] ^= 0xff
	return c.Store.Put(ctx, key, bytes.NewReader(b))
}

// dyingStore fails every Put after the first n: the process or the network
// died half-way.
type dyingStore struct {
	backup.Store
	n    int32
	puts atomic.Int32
}

var errDied = errors.New("connection reset (simulated)")

func (d *dyingStore) Put(ctx context.Context, key string, r io.Reader) error {
	if !strings.HasPrefix(key, syncPrefix) && d.puts.Add(1) > d.n {
		return errDied
	}
	return d.Store.Put(ctx, key, r)
}

// TestSyncBucketNeverTrustsAWrite: an object the destination stores wrong
// fails the run naming it, and is not recorded as copied (the next run
// copies it again); a run that dies half-way is finished by the next one;
// the destination of another source, and the source itself, are refused.
func TestSyncBucketNeverTrustsAWrite(t *testing.T) {
	src, dst := s3Stores(t)
	ctx := t.Context()
	objs := map[string]string{"a/1.json": `{"n":1}`, "a/2.json": `{"n":2}`, "a/3.json": `{"n":3}`, "a/4.json": `{"n":4}`, "a/5.json": `{"n":5}`}
	put(t, src, objs)

	_, err := SyncBucket(ctx, src, &corruptStore{Store: dst, key: "a/3.json"}, quiet())
	if err == nil || !strings.Contains(err.Error(), "a/3.json") || !strings.Contains(err.Error(), "does not match the source") {
		t.Fatalf("a corrupting destination: %v, want an error naming a/3.json", err)
	}
	st, err := readSyncState(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Objects["a/3.json"]; ok {
		t.Error("the corrupted object is recorded as copied")
	}
	res, err := SyncBucket(ctx, src, dst, quiet())
	if err != nil || !maps.Equal(contents(t, dst), objs) {
		t.Fatalf("the run after the corruption: %s, %v; destination %v", res, err, contents(t, dst))
	}

	// A run that dies after two objects; the next run finishes.
	src2, dst2 := s3Stores(t)
	put(t, src2, objs)
	if _, err := SyncBucket(ctx, src2, &dyingStore{Store: dst2, n: 2}, quiet()); err == nil || !strings.Contains(err.Error(), "run the migration again") {
		t.Fatalf("a dying destination: %v", err)
	}
	if res, err := SyncBucket(ctx, src2, dst2, quiet()); err != nil || !maps.Equal(contents(t, dst2), objs) || res.Copied+res.Unchanged != len(objs) {
		t.Fatalf("the run after the crash: %s, %v; destination %v", res, err, contents(t, dst2))
	}

	if _, err := SyncBucket(ctx, src2, dst, quiet()); err == nil || !strings.Contains(err.Error(), "was filled from "+src.String()) {
		t.Errorf("a destination filled from another source: %v", err)
	}
	if _, err := SyncBucket(ctx, src, src, quiet()); err == nil || !strings.Contains(err.Error(), "both") {
		t.Errorf("the source as its own destination: %v", err)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// slowStore delays every write, so that a copy takes long enough to report
// its progress.
type slowStore struct {
	backup.Store
	delay time.Duration
}

func (s slowStore) Put(ctx context.Context, key string, r io.Reader) error {
	time.Sleep(s.delay)
	return s.Store.Put(ctx, key, r)
}

// TestSyncBucketReportsProgress: a long copy logs how far it is while it
// runs, not only at the end.
func TestSyncBucketReportsProgress(t *testing.T) {
	old, fresh := s3Stores(t)
	objs := map[string]string{}
	for i := range 12 {
		objs[fmt.Sprintf("pipelines/p%02d/pipeline-metadata.json", i)] = strings.Repeat("x", i+1)
	}
	put(t, old, objs)
	defer func(d time.Duration) { bucketProgressEvery = d }(bucketProgressEvery)
	bucketProgressEvery = 20 * time.Millisecond
	var logged bytes.Buffer
	var mu sync.Mutex
	h := slog.NewTextHandler(writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return logged.Write(p) }), nil)
	if _, err := SyncBucket(t.Context(), old, slowStore{fresh, 50 * time.Millisecond}, slog.New(h)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	lines := strings.Count(logged.String(), `msg="copying the bucket"`)
	if lines == 0 || !strings.Contains(logged.String(), "to_copy=") {
		t.Fatalf("no progress while copying:\n%s", logged.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Front50's bucket moved between clouds, incrementally both ways: S3
// (moto) to GCS (fake-gcs-server, the real client library), where an
// object's version is its generation, and back from GCS to S3, where it is
// the ETag. A same-size edit, a deletion and an addition at the source are
// each found by the second run.
func TestSyncBucketBetweenS3AndGCS(t *testing.T) {
	fake := testenv.SharedFakeGCS(t)
	ctx := t.Context()
	s3Src, s3Dst := s3Stores(t)
	clients := backup.Clients{GCS: gcs.StorageSettings{Endpoint: fake.Endpoint}}
	gcsStore := func() backup.Store {
		t.Helper()
		s, err := clients.Open(ctx, backup.StoreConfig{URL: "gs://" + fake.Bucket(t) + "/front50"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, tc := range []struct {
		name     string
		src, dst backup.Store
	}{{"s3 to gcs", s3Src, gcsStore()}, {"gcs to s3", gcsStore(), s3Dst}} {
		t.Run(tc.name, func(t *testing.T) {
			want := map[string]string{
				"applications/app1/specification.json": `{"name":"app1"}`,
				"pipelines/p1/pipeline-metadata.json":  `{"name":"p1"}`,
				"pipelines/p2/pipeline-metadata.json":  `{"name":"p2"}`,
			}
			put(t, tc.src, want)
			res, err := SyncBucket(ctx, tc.src, tc.dst, quiet())
			if err != nil {
				t.Fatal(err)
			}
			if res.Copied != 3 || !maps.Equal(contents(t, tc.dst), want) {
				t.Fatalf("first run: %s; destination %v", res, contents(t, tc.dst))
			}
			put(t, tc.src, map[string]string{"pipelines/p1/pipeline-metadata.json": `{"name":"P1"}`, "pipelines/p3/pipeline-metadata.json": `{"name":"p3"}`})
			if err := tc.src.Delete(ctx, "pipelines/p2/pipeline-metadata.json"); err != nil {
				t.Fatal(err)
			}
			res, err = SyncBucket(ctx, tc.src, tc.dst, quiet())
			if err != nil {
				t.Fatal(err)
			}
			want = map[string]string{
				"applications/app1/specification.json": `{"name":"app1"}`,
				"pipelines/p1/pipeline-metadata.json":  `{"name":"P1"}`,
				"pipelines/p3/pipeline-metadata.json":  `{"name":"p3"}`,
			}
			if res.Copied != 2 || res.Unchanged != 1 || res.Deleted != 1 || !maps.Equal(contents(t, tc.dst), want) {
				t.Errorf("second run: %s; destination %v", res, contents(t, tc.dst))
			}
		})
	}
}
