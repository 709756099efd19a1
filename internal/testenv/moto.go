package testenv

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Static credentials and location moto accepts (it accepts any; these are
// the conventional test values). MotoAccountID is the account moto reports.
const (
	MotoAccessKeyID     = "testing"
	MotoSecretAccessKey = "testing"
	MotoRegion          = "us-east-1"
	MotoAccountID       = "123456789012"
)

const (
	motoStartTimeout = 90 * time.Second
	motoStopGrace    = 5 * time.Second
)

// Moto is a running moto_server (AWS mock) with AWS managed IAM policies
// loaded. It does not check credentials or enforce IAM/trust policies.
type Moto struct {
	// Endpoint is http://127.0.0.1:<Port>, for AWS_ENDPOINT_URL or an SDK
	// client's BaseEndpoint (set UsePathStyle on S3 clients).
	Endpoint string
	Host     string
	Port     int
	Dir      string

	proc     *process
	stopOnce sync.Once
}

// StartMoto starts a private moto server for t, stopped on t.Cleanup.
func StartMoto(t testing.TB) *Moto {
	t.Helper()
	bin := requireBinaries(t, binMoto)[0]
	return startOwn(t, "moto", motoStartTimeout, func(ctx context.Context) (*Moto, error) {
		return startMoto(ctx, bin)
	})
}

var sharedMoto sharedSlot[*Moto]

// SharedMoto returns the moto server shared by all tests of this test
// binary, starting it on first use. The package must call Main from
// TestMain. Tests sharing it must use unique resource names and must not
// call Reset.
func SharedMoto(t testing.TB) *Moto {
	t.Helper()
	bin := requireBinaries(t, binMoto)[0]
	return sharedMoto.get(t, "moto", motoStartTimeout, func(ctx context.Context) (*Moto, error) {
		return startMoto(ctx, bin)
	})
}

func startMoto(ctx context.Context, bin string) (*Moto, error) {
	return retryStart(func() (*Moto, error) {
		dir, err := newStateDir("moto")
		if err != nil {
			return nil, err
		}
		m, err := launchMoto(ctx, bin, dir)
		if err != nil {
			removeStateDir(dir)
			return nil, err
		}
		return m, nil
	})
}

func launchMoto(ctx context.Context, bin, dir string) (*Moto, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	m := &Moto{Host: "127.0.0.1", Port: port, Dir: dir}
	m.Endpoint = "http://" + net.JoinHostPort(m.Host, strconv.Itoa(port))
	env := []string{"MOTO_IAM_LOAD_MANAGED_POLICIES=true", "PYTHONUNBUFFERED=1"}
	m.proc, err = startProcess(binMoto, filepath.Join(dir, "moto.log"), env, bin,
		"-H", m.Host, "-p", strconv.Itoa(port))
	if err != nil {
		return nil, err
	}
	err = m.proc.waitReady(ctx, 200*time.Millisecond, func(ctx context.Context) error {
		_, err := httpDo(ctx, http.MethodGet, m.Endpoint+"/moto-api/", "", nil)
		return err
	})
	if err != nil {
		m.proc.stop(motoStopGrace)
		return nil, err
	}
	track(m)
	return m, nil
}

// Reset wipes all state in the server (POST /moto-api/reset).
func (m *Moto) Reset(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := httpDo(ctx, http.MethodPost, m.Endpoint+"/moto-api/reset", "", nil); err != nil {
		t.Fatalf("testenv: resetting moto: %v", err)
	}
}

// SetEnv points AWS SDKs and tools in this process at the server for the
// duration of t: AWS_ENDPOINT_URL, static credentials, region, and no EC2
// instance metadata. Like t.Setenv it cannot be used in parallel tests.
func (m *Moto) SetEnv(t testing.TB) {
	t.Helper()
	for k, v := range m.Env() {
		t.Setenv(k, v)
	}
}

// Env returns the environment SetEnv sets, e.g. for a child process.
func (m *Moto) Env() map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL":          m.Endpoint,
		"AWS_ACCESS_KEY_ID":         MotoAccessKeyID,
		"AWS_SECRET_ACCESS_KEY":     MotoSecretAccessKey,
		"AWS_SESSION_TOKEN":         "",
		"AWS_REGION":                MotoRegion,
		"AWS_DEFAULT_REGION":        MotoRegion,
		"AWS_EC2_METADATA_DISABLED": "true",
	}
}

// LogTail returns the last n lines of the server log.
func (m *Moto) LogTail(n int) string { return m.proc.tail(n) }

// Stop stops the server. It is idempotent.
func (m *Moto) Stop() {
	m.stopOnce.Do(func() {
		untrack(m)
		m.proc.stop(motoStopGrace)
		removeStateDir(m.Dir)
	})
}
