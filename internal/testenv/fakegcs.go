package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// FakeGCSProject is the project buckets are created in.
const FakeGCSProject = "spinops-test"

const (
	fakeGCSStartTimeout = 60 * time.Second
	fakeGCSStopGrace    = 5 * time.Second
)

// FakeGCS is a running fake-gcs-server (in-memory) speaking the GCS JSON
// API over plain HTTP. Buckets, versioning, objects and generations work;
// labels, lifecycle rules and bucket IAM are not implemented.
type FakeGCS struct {
	// Endpoint is http://127.0.0.1:<Port>; the JSON API is under
	// Endpoint+"/storage/v1/", uploads under Endpoint+"/upload/storage/v1/".
	// Use it as STORAGE_EMULATOR_HOST.
	Endpoint string
	Host     string
	Port     int
	Dir      string

	proc     *process
	stopOnce sync.Once
}

// StartFakeGCS starts a private fake-gcs-server for t, stopped on t.Cleanup.
func StartFakeGCS(t testing.TB) *FakeGCS {
	t.Helper()
	bin := requireBinaries(t, binFakeGCS)[0]
	return startOwn(t, "fake-gcs-server", fakeGCSStartTimeout, func(ctx context.Context) (*FakeGCS, error) {
		return startFakeGCS(ctx, bin)
	})
}

var sharedFakeGCS sharedSlot[*FakeGCS]

// SharedFakeGCS returns the fake-gcs-server shared by all tests of this test
// binary, starting it on first use. The package must call Main from
// TestMain. Isolate tests with Bucket.
func SharedFakeGCS(t testing.TB) *FakeGCS {
	t.Helper()
	bin := requireBinaries(t, binFakeGCS)[0]
	return sharedFakeGCS.get(t, "fake-gcs-server", fakeGCSStartTimeout, func(ctx context.Context) (*FakeGCS, error) {
		return startFakeGCS(ctx, bin)
	})
}

func startFakeGCS(ctx context.Context, bin string) (*FakeGCS, error) {
	return retryStart(func() (*FakeGCS, error) {
		dir, err := newStateDir("gcs")
		if err != nil {
			return nil, err
		}
		f, err := launchFakeGCS(ctx, bin, dir)
		if err != nil {
			removeStateDir(dir)
			return nil, err
		}
		return f, nil
	})
}

func launchFakeGCS(ctx context.Context, bin, dir string) (*FakeGCS, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	f := &FakeGCS{Host: "127.0.0.1", Port: port, Dir: dir}
	hostPort := net.JoinHostPort(f.Host, strconv.Itoa(port))
	f.Endpoint = "http://" + hostPort
	f.proc, err = startProcess(binFakeGCS, filepath.Join(dir, "fake-gcs-server.log"), nil, bin,
		"-scheme", "http",
		"-host", f.Host,
		"-port", strconv.Itoa(port),
		"-backend", "memory",
		"-public-host", hostPort,
		"-external-url", f.Endpoint,
	)
	if err != nil {
		return nil, err
	}
	err = f.proc.waitReady(ctx, 100*time.Millisecond, func(ctx context.Context) error {
		_, err := httpDo(ctx, http.MethodGet, f.Endpoint+"/storage/v1/b?project="+FakeGCSProject, "", nil)
		return err
	})
	if err != nil {
		f.proc.stop(fakeGCSStopGrace)
		return nil, err
	}
	track(f)
	return f, nil
}

// SetEnv sets STORAGE_EMULATOR_HOST to Endpoint for the duration of t, which
// points cloud.google.com/go/storage at the server. Like t.Setenv it cannot
// be used in parallel tests.
func (f *FakeGCS) SetEnv(t testing.TB) {
	t.Helper()
	t.Setenv("STORAGE_EMULATOR_HOST", f.Endpoint)
}

// Bucket creates a bucket named tf-acc-test-<random> and deletes it, with
// every object version in it, on t.Cleanup.
func (f *FakeGCS) Bucket(t testing.TB) string {
	t.Helper()
	name := UniqueName("tf-acc-test-", 8)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := f.CreateBucket(ctx, name, false); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		if f.proc.exited() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := f.DeleteBucket(ctx, name); err != nil {
			t.Logf("testenv: %v", err)
		}
	})
	return name
}

// CreateBucket creates a bucket through the JSON API.
func (f *FakeGCS) CreateBucket(ctx context.Context, name string, versioning bool) error {
	body, err := json.Marshal(map[string]any{
		"name":       name,
		"versioning": map[string]bool{"enabled": versioning},
	})
	if err != nil {
		return err
	}
	u := f.Endpoint + "/storage/v1/b?project=" + url.QueryEscape(FakeGCSProject)
	if _, err := httpDo(ctx, http.MethodPost, u, "application/json", bytes.NewReader(body)); err != nil {
		return fmt.Errorf("creating bucket %s: %w", name, err)
	}
	return nil
}

// DeleteBucket deletes every object version in a bucket, then the bucket.
func (f *FakeGCS) DeleteBucket(ctx context.Context, name string) error {
	base := f.Endpoint + "/storage/v1/b/" + url.PathEscape(name)
	b, err := httpDo(ctx, http.MethodGet, base+"/o?versions=true", "", nil)
	if err != nil {
		return fmt.Errorf("listing bucket %s: %w", name, err)
	}
	var list struct {
		Items []struct {
			Name       string `json:"name"`
			Generation string `json:"generation"`
		} `json:"items"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("listing bucket %s: %w", name, err)
	}
	for _, o := range list.Items {
		u := base + "/o/" + url.PathEscape(o.Name)
		if o.Generation != "" {
			u += "?generation=" + url.QueryEscape(o.Generation)
		}
		if _, err := httpDo(ctx, http.MethodDelete, u, "", nil); err != nil {
			return fmt.Errorf("emptying bucket %s: %w", name, err)
		}
	}
	if _, err := httpDo(ctx, http.MethodDelete, base, "", nil); err != nil {
		return fmt.Errorf("deleting bucket %s: %w", name, err)
	}
	return nil
}

// LogTail returns the last n lines of the server log.
func (f *FakeGCS) LogTail(n int) string { return f.proc.tail(n) }

// Stop stops the server. It is idempotent.
func (f *FakeGCS) Stop() {
	f.stopOnce.Do(func() {
		untrack(f)
		f.proc.stop(fakeGCSStopGrace)
		removeStateDir(f.Dir)
	})
}
