package testenv

import (
	"crypto/rand"
	"fmt"
	"net"
	"sync"
)

var (
	portsMu sync.Mutex
	// portsGiven avoids handing the same port out twice in one test binary
	// while the first taker has not bound it yet.
	portsGiven = map[int]bool{}
)

// freePort returns a currently unused TCP port on 127.0.0.1.
func freePort() (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("finding a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !portsGiven[port] {
			portsGiven[port] = true
			return port, nil
		}
	}
	return 0, fmt.Errorf("finding a free port: no unused port after 20 tries")
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
