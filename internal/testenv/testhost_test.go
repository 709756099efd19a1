package testenv

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A server in the test host is reachable from the root namespace at the
// test host's (non-loopback) address, and the namespace is gone afterwards.
func TestTestHostServesFromItsOwnAddress(t *testing.T) {
	var name string
	t.Run("serve", func(t *testing.T) {
		h := StartTestHost(t)
		name = h.Name
		l, err := h.Listen(0)
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "from the test host")
		}), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(l) }()
		t.Cleanup(func() { _ = srv.Close() })

		c := &http.Client{Timeout: 5 * time.Second}
		resp, err := c.Get("http://" + l.Addr().String() + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if string(body) != "from the test host" {
			t.Fatalf("body = %q", body)
		}
		if got := l.Addr().String(); got[:len(h.IP)] != h.IP {
			t.Fatalf("listener %s is not on the test host's IP %s", got, h.IP)
		}
	})
	if name == "" {
		return // skipped
	}
	out, err := runIP("netns", "list")
	if err != nil {
		t.Fatal(err)
	}
	if containsWord(out, name) {
		t.Fatalf("network namespace %s still exists after the test", name)
	}
}

// Listen must not end the thread it ran on: a child process started with
// Pdeathsig (as terraform-exec starts terraform, and StartCommand every
// service) is SIGKILLed when the thread that forked it ends, which made a
// provider acceptance test fail with "Error running apply: signal: killed"
// when the operator stand-in opened its webhook listener mid-apply.
func TestTestHostListenKeepsItsThread(t *testing.T) {
	h := StartTestHost(t)

	// Children forked from several distinct threads, each of which goes back
	// to the scheduler's pool afterwards, as terraform-exec's fork does.
	const forkers = 8
	type child struct {
		cmd  *exec.Cmd
		done chan struct{}
	}
	children := make([]child, forkers)
	var locked, release sync.WaitGroup
	locked.Add(forkers)
	release.Add(1)
	errs := make(chan error, forkers)
	for i := range children {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cmd := exec.Command("sleep", "60")
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			if err := cmd.Start(); err != nil {
				errs <- err
			}
			children[i] = child{cmd: cmd, done: make(chan struct{})}
			locked.Done()
			release.Wait() // all forkers hold a thread at once: distinct threads
		}()
	}
	locked.Wait()
	release.Done()
	select {
	case err := <-errs:
		t.Fatalf("starting sleep: %v", err)
	default:
	}
	for _, c := range children {
		if c.cmd.Process == nil {
			t.Fatal("a child did not start")
		}
		go func() { _ = c.cmd.Wait(); close(c.done) }()
		t.Cleanup(func() { _ = c.cmd.Process.Kill(); <-c.done })
	}

	before := threadIDs(t)
	for range 40 {
		l, err := h.Listen(0)
		if err != nil {
			t.Fatal(err)
		}
		_ = l.Close()
	}
	time.Sleep(200 * time.Millisecond) // a SIGKILL is delivered asynchronously
	after := threadIDs(t)
	var gone []string
	for id := range before {
		if !after[id] {
			gone = append(gone, id)
		}
	}
	if len(gone) > 0 {
		t.Errorf("threads %v ended during TestHost.Listen: every child forked from them got SIGKILL (Pdeathsig)", gone)
	}
	for i, c := range children {
		select {
		case <-c.done:
			t.Errorf("child %d (pid %d) was killed: %v", i, c.cmd.Process.Pid, c.cmd.ProcessState)
		default:
		}
	}

	// The thread went back to the root namespace: a listener opened right
	// after Listen, on any goroutine, is not inside the test host.
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		runtime.Gosched()
		tns, err := os.Readlink("/proc/thread-self/ns/net")
		if err != nil {
			t.Fatal(err)
		}
		if tns != self {
			t.Fatalf("a thread is left in network namespace %s (the process is in %s)", tns, self)
		}
	}
}

// threadIDs lists the process's OS threads.
func threadIDs(t *testing.T) map[string]bool {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, e := range ents {
		ids[e.Name()] = true
	}
	return ids
}
