package testenv

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestHost is a network namespace this test made, joined to the machine by a
// veth pair: a second "host" with its own non-loopback address.
//
// It exists for what refuses loopback: the API server's service proxy will
// not proxy to a pod IP in 127.0.0.0/8, so servers standing in for pods
// listen on the test host's IP instead. Traffic stays on this machine,
// between the root namespace and a namespace the test created.
type TestHost struct {
	// Name of the network namespace (ip netns list).
	Name string
	// IP is the test host's address; HostIP the root namespace's end.
	IP, HostIP string
}

// testHostNet is the range test hosts are numbered from, one /30 each.
var testHostNet = [2]byte{10, 213}

// StartTestHost creates a network namespace with a veth pair, removed when
// the test ends. It needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) and iproute2's
// ip; without them it skips, or fails under SPINOPS_TESTENV=required.
func StartTestHost(t testing.TB) *TestHost {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		unavailable(t, fmt.Errorf("test host: iproute2's ip command is missing: run 'apt-get install -y iproute2' (make testenv does)"))
	}
	var b [2]byte
	_, _ = rand.Read(b[:])
	slot := binary.BigEndian.Uint16(b[:]) % (1 << 14) // 16384 /30 subnets in 10.213.0.0/16
	base := uint32(testHostNet[0])<<24 | uint32(testHostNet[1])<<16 | uint32(slot)<<2
	addr := func(n uint32) string {
		v := base + n
		return fmt.Sprintf("%d.%d.%d.%d", v>>24, v>>16&0xff, v>>8&0xff, v&0xff)
	}
	h := &TestHost{Name: UniqueName("spinops-", 8), HostIP: addr(1), IP: addr(2)}
	veth := "sp" + strings.TrimPrefix(h.Name, "spinops-") // ≤ 15 characters

	run := func(args ...string) error { _, err := runIP(args...); return err }
	if err := run("netns", "add", h.Name); err != nil {
		unavailable(t, fmt.Errorf("test host: creating a network namespace needs root: %w", err))
	}
	t.Cleanup(func() {
		_ = run("link", "del", veth) // removes both ends
		_ = run("netns", "del", h.Name)
	})
	for _, args := range [][]string{
		{"link", "add", veth, "type", "veth", "peer", "name", veth + "p"},
		{"link", "set", veth + "p", "netns", h.Name},
		{"addr", "add", h.HostIP + "/30", "dev", veth},
		{"link", "set", veth, "up"},
		{"-n", h.Name, "addr", "add", h.IP + "/30", "dev", veth + "p"},
		{"-n", h.Name, "link", "set", veth + "p", "up"},
		{"-n", h.Name, "link", "set", "lo", "up"},
	} {
		if err := run(args...); err != nil {
			t.Fatalf("setting up test host %s: %v", h.Name, err)
		}
	}
	return h
}

// Listen opens a TCP listener inside the test host on its IP (port 0 picks a
// free port). The socket belongs to the namespace it was made in, so it is
// made on a thread locked to a goroutine that joins the namespace and then
// goes back to the root namespace.
//
// The thread must survive: a child started with Pdeathsig (terraform-exec
// starts terraform so, StartCommand every service) is SIGKILLed when the
// thread that forked it ends, and the Go runtime ends a thread whose
// goroutine exits while locked to it. Only when the way back fails is the
// thread left to end, so that nothing else ever runs in the test host.
func (h *TestHost) Listen(port int) (net.Listener, error) {
	type result struct {
		l   net.Listener
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("opening this thread's network namespace: %w", err)}
			return
		}
		defer home.Close()
		f, err := os.Open(filepath.Join("/run/netns", h.Name))
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("opening network namespace %s: %w", h.Name, err)}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("joining network namespace %s: %w", h.Name, err)}
			return
		}
		l, err := net.Listen("tcp", net.JoinHostPort(h.IP, fmt.Sprint(port)))
		if err := unix.Setns(int(home.Fd()), unix.CLONE_NEWNET); err == nil {
			runtime.UnlockOSThread()
		} // else: still locked, the thread ends with this goroutine
		ch <- result{l, err}
	}()
	r := <-ch
	return r.l, r.err
}

// runIP runs iproute2's ip with a timeout and returns its output.
func runIP(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

func containsWord(s, word string) bool {
	for _, f := range strings.Fields(s) {
		if f == word {
			return true
		}
	}
	return false
}
