package testenv

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestFindBinaryPrefersEnvDir(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, binFakeGCS)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvBinDir, dir)
	got, err := findBinary(binFakeGCS)
	if err != nil {
		t.Fatal(err)
	}
	if got != p {
		t.Errorf("findBinary = %q, want %q", got, p)
	}
}

func TestFindBinaryMissingSaysHowToInstall(t *testing.T) {
	t.Setenv(EnvBinDir, t.TempDir())
	t.Setenv("PATH", t.TempDir())
	for name, want := range map[string]string{
		binK8s:     "make testenv",
		binFakeGCS: "scripts/testenv.sh",
		binMoto:    "machine image",
	} {
		_, err := findBinary(name)
		if err == nil {
			// Only possible when a real binary sits in <repo>/.testenv/bin.
			if name == binMoto {
				t.Errorf("findBinary(%s) found something with an empty PATH", name)
			}
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("findBinary(%s) error %q does not mention %q", name, err, want)
		}
	}
}

func TestFindBinaryIgnoresNonExecutables(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "not-exec"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "gone"), filepath.Join(dir, "dangling")); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvBinDir, dir)
	t.Setenv("PATH", dir)
	for _, n := range []string{"not-exec", "dangling"} {
		if p, err := findBinary(n); err == nil {
			t.Errorf("findBinary(%s) = %q, want an error", n, p)
		}
	}
}

func TestRepoRoot(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if got := modulePathOf(filepath.Join(root, "go.mod")); got != ModulePath {
		t.Errorf("module of %s = %q, want %q", root, got, ModulePath)
	}
}

func TestUniqueName(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		n := UniqueName("tf-acc-test-", 8)
		if len(n) != len("tf-acc-test-")+8 || strings.Trim(n[12:], nameAlphabet) != "" {
			t.Fatalf("bad name %q", n)
		}
		if seen[n] {
			t.Fatalf("duplicate name %q", n)
		}
		seen[n] = true
	}
}

func TestFreePortNotRepeated(t *testing.T) {
	seen := map[int]bool{}
	for range 50 {
		p, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
}

// consecutiveFreePorts finds n consecutive ports below the ephemeral range
// that nothing listens on now.
func consecutiveFreePorts(t *testing.T, n int) int {
	t.Helper()
	for lo := portFloor + 5000; lo+n < ephemeralRangeLow(); lo += n {
		ok := true
		for p := lo; p < lo+n && ok; p++ {
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err != nil {
				ok = false
				continue
			}
			l.Close()
		}
		if ok {
			return lo
		}
	}
	t.Fatal("no free run of ports")
	return 0
}

// TestFreePortBelowTheEphemeralRange: a port handed out is one the kernel
// never gives an outgoing connection or a Listen(":0") on its own.
func TestFreePortBelowTheEphemeralRange(t *testing.T) {
	for range 20 {
		p, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		if p < portFloor || p >= ephemeralRangeLow() {
			t.Fatalf("port %d is outside [%d, %d)", p, portFloor, ephemeralRangeLow())
		}
	}
}

// TestReservePortSkipsReservedAndBoundPorts: of three ports, one reserved by
// another test binary (its lock file locked through another open file, as
// another process's lock is) and one bound by a listener, only the third is
// ever handed out; once it is, the next pick says what is wrong.
func TestReservePortSkipsReservedAndBoundPorts(t *testing.T) {
	dir := t.TempDir()
	lo := consecutiveFreePorts(t, 3)
	other, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(lo)), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := unix.Flock(int(other.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(lo+1)))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p, err := reservePort(dir, lo, lo+3)
	if err != nil {
		t.Fatal(err)
	}
	if p != lo+2 {
		t.Fatalf("got port %d, want %d (%d is reserved elsewhere, %d bound)", p, lo+2, lo, lo+1)
	}
	// The reservation holds against every other open file of the lock,
	// as it would against another test binary.
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(p)), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); !errors.Is(err, unix.EWOULDBLOCK) {
		t.Fatalf("locking the handed-out port's file from elsewhere: %v, want EWOULDBLOCK", err)
	}
	if _, err := reservePort(dir, lo, lo+3); err == nil || !strings.Contains(err.Error(), "in use or reserved") {
		t.Fatalf("a fourth pick from three ports: %v", err)
	}
}
