package testenv

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// ModulePath is the Go module whose root holds .testenv/bin.
const ModulePath = "github.com/spinops/terraform-provider-spinops"

// Environment variables read by this package.
const (
	// EnvMode set to "required" turns every "service unavailable" skip into
	// a test failure.
	EnvMode = "SPINOPS_TESTENV"
	// EnvBinDir names a directory searched first for the service binaries.
	EnvBinDir = "SPINOPS_TESTENV_BIN"
	// EnvKeep set to a non-empty value keeps state directories and logs.
	EnvKeep = "SPINOPS_TESTENV_KEEP"
	// EnvCPULog names a file to which every service process this package
	// started (kube-apiserver with etcd, MariaDB, moto, fake-gcs-server,
	// Redis) appends a line when it ends: its binary's name, the CPU
	// seconds it and the processes it waited for used (user + system), and
	// the seconds it ran, tab-separated. scripts/test.sh sums them in its
	// summary: what the tests' servers cost, apart from the tests.
	EnvCPULog = "SPINOPS_TESTENV_CPU_LOG"
)

// Binary names.
const (
	binK8s          = "k8s-testenv"
	binFakeGCS      = "fake-gcs-server"
	binMoto         = "moto_server"
	binMariaDB      = "mariadbd"
	binMariaInstall = "mariadb-install-db"
	binRedis        = "redis-server"
)

// Required reports whether SPINOPS_TESTENV=required: tests must fail, not
// skip, when a service cannot be started.
func Required() bool { return os.Getenv(EnvMode) == "required" }

func keepState() bool { return os.Getenv(EnvKeep) != "" }

// installHint says how to get a missing binary.
func installHint(name string) string {
	switch name {
	case binMoto:
		return "moto_server (moto 5.2.1) ships with the machine image and cannot be installed here " +
			"(PyPI is not reachable); run the tests on a machine that has it on PATH"
	case binMariaDB, binMariaInstall:
		return "install MariaDB with `make testenv` (scripts/testenv.sh runs " +
			"`apt-get install -y mariadb-server mariadb-client`)"
	case binRedis:
		return "install Redis with `make testenv` (scripts/testenv.sh runs " +
			"`apt-get install -y redis-server`)"
	default:
		return "build it with `make testenv` (or scripts/testenv.sh), which caches it in " +
			"$HOME/.cache/spinops and links it into <repo>/.testenv/bin"
	}
}

// errNotFound is returned by findBinary; its message carries the hint.
type errNotFound struct {
	name   string
	looked []string
}

func (e *errNotFound) Error() string {
	return fmt.Sprintf("testenv: %s not found (looked in %s); %s",
		e.name, strings.Join(e.looked, ", "), installHint(e.name))
}

// findBinary looks for an executable named name in $SPINOPS_TESTENV_BIN,
// <repo>/.testenv/bin, $PATH and, for MariaDB, /usr/sbin and /usr/bin.
func findBinary(name string) (string, error) {
	var looked []string
	var dirs []string
	if d := os.Getenv(EnvBinDir); d != "" {
		dirs = append(dirs, d)
		looked = append(looked, "$"+EnvBinDir+"="+d)
	}
	if root, err := repoRoot(); err == nil {
		d := filepath.Join(root, ".testenv", "bin")
		dirs = append(dirs, d)
		looked = append(looked, d)
	}
	for _, d := range dirs {
		if p := filepath.Join(d, name); isExecutable(p) {
			return p, nil
		}
	}
	looked = append(looked, "$PATH")
	if p, err := exec.LookPath(name); err == nil {
		return filepath.Abs(p)
	}
	if name == binMariaDB || name == binMariaInstall || name == binRedis {
		for _, d := range []string{"/usr/sbin", "/usr/bin"} {
			looked = append(looked, d)
			if p := filepath.Join(d, name); isExecutable(p) {
				return p, nil
			}
		}
	}
	return "", &errNotFound{name: name, looked: looked}
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p) // follows symlinks: a dangling link is "missing"
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// requireBinaries returns the paths of names, or skips t (fails it under
// Required) naming what is missing and how to install it.
func requireBinaries(t testing.TB, names ...string) []string {
	t.Helper()
	paths := make([]string, len(names))
	for i, n := range names {
		p, err := findBinary(n)
		if err != nil {
			unavailable(t, err)
		}
		paths[i] = p
	}
	return paths
}

// unavailable skips t, or fails it when Required.
func unavailable(t testing.TB, err error) {
	t.Helper()
	if Required() {
		t.Fatalf("%v (%s=required)", err, EnvMode)
	}
	t.Skipf("%v (set %s=required to fail instead of skipping)", err, EnvMode)
}

var (
	repoRootOnce sync.Once
	repoRootDir  string
	repoRootErr  error
)

// repoRoot walks up from the working directory to the go.mod of ModulePath.
func repoRoot() (string, error) {
	repoRootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			repoRootErr = fmt.Errorf("getting working directory: %w", err)
			return
		}
		for {
			if modulePathOf(filepath.Join(dir, "go.mod")) == ModulePath {
				repoRootDir = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				repoRootErr = errors.New("no go.mod of " + ModulePath + " above the working directory")
				return
			}
			dir = parent
		}
	})
	return repoRootDir, repoRootErr
}

// modulePathOf returns the module line of a go.mod, or "".
func modulePathOf(gomod string) string {
	f, err := os.Open(gomod)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if rest, ok := strings.CutPrefix(line, "module"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}
