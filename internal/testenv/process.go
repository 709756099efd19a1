package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/procfs"
)

// process is one service process started directly (no shell), so that the
// PID we signal is the server's own. Its output goes to logPath.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	waitErr error // valid once done is closed
}

// startProcess starts path with args; env is added to the test binary's
// environment. The child gets SIGKILL when the test binary dies
// (Pdeathsig), so nothing outlives a crashed or timed-out test run.
func startProcess(name, logPath string, env []string, path string, args ...string) (*process, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating log for %s: %w", name, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := StartCommand(cmd); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	began := time.Now()
	go func() {
		p.waitErr = cmd.Wait()
		logf.Close()
		recordCPU(os.Getenv(EnvCPULog), name, cmd.ProcessState, time.Since(began))
		close(p.done)
	}()
	return p, nil
}

// recordCPU appends name's line to the EnvCPULog file at path (nothing
// when path is empty): the CPU seconds wait(2) reported for the ended
// process, which include those of the children it waited for (k8s-testenv's
// kube-controller-manager), and its wall seconds. One write of a short line
// to a file opened O_APPEND: the test binaries running at once append whole
// lines. A failure to write is ignored: the figure is for the summary only.
func recordCPU(path, name string, st *os.ProcessState, ran time.Duration) {
	if path == "" || st == nil {
		return
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	cpu := st.UserTime() + st.SystemTime()
	_, _ = fmt.Fprintf(f, "%s\t%.2f\t%.2f\n", name, cpu.Seconds(), ran.Seconds())
}

// pid returns the process id.
func (p *process) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, waits up to grace, then SIGKILLs, and waits for exit.
func (p *process) stop(grace time.Duration) {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// tail returns the last n lines of the process log.
func (p *process) tail(n int) string { return logTail(p.logPath, n) }

func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// errPortInUse marks a start that failed because another process took the
// port between our probe and the server's bind; the caller retries.
var errPortInUse = errors.New("port already in use")

// errSlowStart marks a start the service gave up on by itself, because it
// did not become ready within its own limit (k8s-testenv: "kube-apiserver
// at ... not ready after 90s", seen once on a loaded 2-core CI machine);
// the caller tries once more.
var errSlowStart = errors.New("the service gave up waiting to become ready")

// startError wraps why a service did not come up with the tail of its log.
func (p *process) startError(err error) error {
	tail := p.tail(30)
	if p.exited() && strings.Contains(strings.ToLower(tail), "already in use") {
		err = fmt.Errorf("%w: %w", errPortInUse, err)
	} else if p.exited() && strings.Contains(tail, "not ready after") {
		err = fmt.Errorf("%w: %w", errSlowStart, err)
	}
	return fmt.Errorf("%s (pid %d) did not become ready: %w\n--- last lines of %s ---\n%s",
		p.name, p.pid(), err, p.logPath, tail)
}

// waitReady polls check every interval until it returns nil, the process
// exits, or ctx ends. The last check error is reported.
func (p *process) waitReady(ctx context.Context, interval time.Duration, check func(context.Context) error) error {
	var last error
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		last = check(cctx)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-p.done:
			return p.startError(fmt.Errorf("exited early (%v); last check: %w", p.waitErr, last))
		case <-ctx.Done():
			return p.startError(fmt.Errorf("%w; last check: %w", ctx.Err(), last))
		case <-time.After(interval):
		}
	}
}

// retryStart runs start up to three times while it fails with
// errPortInUse, and once more after errSlowStart.
func retryStart[T any](start func() (T, error)) (T, error) {
	var (
		v    T
		err  error
		slow bool
	)
	for range 3 {
		v, err = start()
		if errors.Is(err, errSlowStart) && !slow {
			slow = true
			continue
		}
		if !errors.Is(err, errPortInUse) {
			break
		}
	}
	return v, err
}

// CPUSeconds is a process's user + system CPU time in seconds (for
// benchmarks that report where the CPU went).
func CPUSeconds(pid int) (float64, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0, fmt.Errorf("reading process %d: %w", pid, err)
	}
	st, err := p.Stat()
	if err != nil {
		return 0, fmt.Errorf("reading the CPU time of process %d: %w", pid, err)
	}
	return st.CPUTime(), nil
}
