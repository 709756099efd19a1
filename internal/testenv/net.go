package testenv

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Ports for processes a test starts and that must listen on a port known
// in advance (MariaDB, moto, Redis, fake-gcs-server, a pod stand-in's
// spinops process) are taken from below the kernel's ephemeral range and
// reserved for the whole test binary with a lock file every test binary
// of this project honours. Picked with Listen(":0") as they used to be,
// they came from the ephemeral range, where nothing reserves them: between
// the pick and the child's bind — and for a pod stand-in, between one start
// of its process and the next — any outgoing connection on the machine,
// or another test binary's Listen(":0"), could be given the same port
// ("bind: address already in use" seen under CI load). Below the ephemeral
// range the kernel never hands a port out on its own, and the lock file
// keeps the other test binaries off it.
const (
	// portFloor is the lowest port handed out.
	portFloor = 20000
	// portDirName (under the temporary directory) holds one lock file per
	// reserved port, shared by every test binary on the machine.
	portDirName = "spinops-test-ports"
)

var (
	portsMu sync.Mutex
	// portsHeld are this test binary's reservations (the lock files stay
	// open, and so locked, until the process exits; the kernel releases
	// them however it exits).
	portsHeld = map[int]*os.File{}
)

// ephemeralRangeLow is the low end of the kernel's ephemeral port range
// (net.ipv4.ip_local_port_range), 32768 (Linux's default) when unreadable.
var ephemeralRangeLow = sync.OnceValue(func() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if lo, err := strconv.Atoi(f[0]); err == nil && lo > portFloor+100 {
				return lo
			}
		}
	}
	return 32768
})

// freePort returns a TCP port on 127.0.0.1 that nothing listens on now,
// reserved for this test binary.
func freePort() (int, error) {
	return reservePort(filepath.Join(os.TempDir(), portDirName), portFloor, ephemeralRangeLow())
}

// reservePort picks a port in [lo, hi) that is neither reserved by a test
// binary (its lock file in dir locked) nor bound by anything, and reserves
// it until the process exits.
func reservePort(dir string, lo, hi int) (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return 0, fmt.Errorf("finding a free port: creating the reservation directory: %w", err)
	}
	n := hi - lo
	start, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	for i := range n {
		port := lo + (int(start.Int64())+i)%n
		if portsHeld[port] != nil {
			continue
		}
		f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)), os.O_CREATE|os.O_RDWR, 0o666)
		if err != nil {
			return 0, fmt.Errorf("finding a free port: %w", err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				continue // another test binary holds it
			}
			return 0, fmt.Errorf("finding a free port: locking %s: %w", f.Name(), err)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			f.Close() // bound by something else
			continue
		}
		l.Close()
		portsHeld[port] = f
		return port, nil
	}
	return 0, fmt.Errorf("finding a free port: every port in %d-%d is in use or reserved by another test binary", lo, hi-1)
}

const nameAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// UniqueName returns prefix followed by n random lowercase letters and digits,
// e.g. UniqueName("tf-acc-test-", 8). It suits Kubernetes, bucket and (with an
// underscore prefix) database names.
func UniqueName(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = nameAlphabet[int(b[i])%len(nameAlphabet)]
	}
	return prefix + string(b)
}

// FreePort returns a currently unused TCP port on 127.0.0.1, never one
// already handed out in this test binary (for a process the test starts
// that must listen on a known port).
func FreePort() (int, error) { return freePort() }
