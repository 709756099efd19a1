package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Main runs the tests of a package and then stops the shared services it
// started. Call it from TestMain:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// On SIGINT or SIGTERM it stops every running service before exiting.
func Main(m *testing.M) {
	mainActive.Store(true)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s, ok := <-sigs
		if !ok {
			return
		}
		fmt.Fprintf(os.Stderr, "testenv: %v: stopping local services\n", s)
		stopAll()
		os.Exit(1)
	}()
	code := m.Run()
	signal.Stop(sigs)
	stopAll()
	os.Exit(code)
}

// stopper is a running service.
type stopper interface{ Stop() }

var (
	mainActive atomic.Bool
	liveMu     sync.Mutex
	live       = map[stopper]struct{}{}
)

// exitHook is a function AtExit runs when the test binary ends.
type exitHook struct{ f func() }

func (h *exitHook) Stop() { h.f() }

// AtExit runs f when Main ends the test binary (or a signal stops it), with
// the services: for what lives as long as the binary, such as a binary a
// package builds once into a temporary directory.
func AtExit(f func()) { track(&exitHook{f: f}) }

func track(s stopper) {
	liveMu.Lock()
	defer liveMu.Unlock()
	live[s] = struct{}{}
}

func untrack(s stopper) {
	liveMu.Lock()
	defer liveMu.Unlock()
	delete(live, s)
}

// stopAll stops every service still running, concurrently.
func stopAll() {
	liveMu.Lock()
	all := make([]stopper, 0, len(live))
	for s := range live {
		all = append(all, s)
	}
	liveMu.Unlock()
	var wg sync.WaitGroup
	for _, s := range all {
		wg.Go(s.Stop)
	}
	wg.Wait()
}

// sharedSlot holds the one instance of a service per test binary.
type sharedSlot[T stopper] struct {
	once sync.Once
	v    T
	err  error
	took time.Duration
}

// get starts the instance on first use; later callers get the same instance,
// or the same start error.
func (s *sharedSlot[T]) get(t testing.TB, what string, timeout time.Duration, start func(context.Context) (T, error)) T {
	t.Helper()
	if !mainActive.Load() {
		t.Fatalf("testenv: %s needs testenv.Main to stop it after the tests: "+
			"add `func TestMain(m *testing.M) { testenv.Main(m) }` to this package's tests", what)
	}
	started := false
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		began := time.Now()
		s.v, s.err = start(ctx)
		s.took, started = time.Since(began), true
	})
	if s.err != nil {
		t.Fatalf("testenv: starting shared %s: %v", what, s.err)
	}
	if started {
		t.Logf("testenv: started shared %s in %s", what, s.took.Round(10*time.Millisecond))
	}
	return s.v
}

// startOwn starts a private instance for t, stopped by t.Cleanup.
func startOwn[T stopper](t testing.TB, what string, timeout time.Duration, start func(context.Context) (T, error)) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	began := time.Now()
	v, err := start(ctx)
	if err != nil {
		t.Fatalf("testenv: starting %s: %v", what, err)
	}
	t.Logf("testenv: started %s in %s", what, time.Since(began).Round(10*time.Millisecond))
	t.Cleanup(v.Stop)
	return v
}

// ownerFile in a state directory holds the PID of the test binary that
// created it, so that a later run can remove what a killed one left behind.
const ownerFile = ".testenv-owner"

var sweepOnce sync.Once

// newStateDir creates a temporary directory for one service. The first call
// in a test binary also removes state directories of test binaries that no
// longer run.
func newStateDir(kind string) (string, error) {
	sweepOnce.Do(sweepStaleStateDirs)
	dir, err := os.MkdirTemp("", "spinops-"+kind+"-")
	if err != nil {
		return "", fmt.Errorf("creating state directory: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("creating state directory: %w", err)
	}
	return dir, nil
}

// sweepStaleStateDirs removes $TMPDIR/spinops-* directories whose owner
// process is gone (a test binary killed with SIGKILL or by -timeout).
func sweepStaleStateDirs() {
	if keepState() {
		return
	}
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "spinops-*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, ownerFile))
		if err != nil {
			continue // not ours, or being created right now
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if !processAlive(pid) {
			_ = os.RemoveAll(d)
		}
	}
}

// processAlive reports whether pid runs; a zombie (killed, not yet reaped)
// does not count.
func processAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	// "pid (comm) S ...": the state follows the last ')'.
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z'
	}
	return true
}

// removeStateDir deletes dir unless SPINOPS_TESTENV_KEEP is set.
func removeStateDir(dir string) {
	if dir == "" {
		return
	}
	if keepState() {
		fmt.Fprintf(os.Stderr, "testenv: keeping %s (%s is set)\n", dir, EnvKeep)
		return
	}
	_ = os.RemoveAll(dir)
}
