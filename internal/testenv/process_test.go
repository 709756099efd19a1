package testenv

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A service process that ends leaves its CPU seconds in the EnvCPULog file,
// those of the children it waited for included (as k8s-testenv's
// kube-controller-manager is), and nothing is written without the variable.
func TestRecordCPU(t *testing.T) {
	dir := t.TempDir()
	cpuLog := filepath.Join(dir, "cpu.tsv")
	t.Setenv(EnvCPULog, cpuLog)
	// The busy loop runs in a child the shell waits for: its CPU is the
	// shell's children's, which wait(2) reports with the shell's own.
	loop := `i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done`
	p, err := startProcess("busy", filepath.Join(dir, "busy.log"), nil, "/bin/sh", "-c", "/bin/sh -c '"+loop+"'; true")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		p.stop(time.Second)
		t.Fatal("the busy loop did not end within a minute")
	}
	b, err := os.ReadFile(cpuLog)
	if err != nil {
		t.Fatalf("no CPU line written: %v", err)
	}
	f := strings.Split(strings.TrimSuffix(string(b), "\n"), "\t")
	if len(f) != 3 || f[0] != "busy" {
		t.Fatalf("CPU line %q, want busy<TAB>cpu<TAB>wall", b)
	}
	cpu, err1 := strconv.ParseFloat(f[1], 64)
	wall, err2 := strconv.ParseFloat(f[2], 64)
	if err1 != nil || err2 != nil || cpu < 0.05 || wall < cpu/2 {
		t.Errorf("CPU line %q: want the child's CPU seconds (a busy loop of 200,000 rounds) and the wall seconds", b)
	}

	t.Setenv(EnvCPULog, "")
	q, err := startProcess("quiet", filepath.Join(dir, "quiet.log"), nil, "/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	<-q.done
	if b2, _ := os.ReadFile(cpuLog); string(b2) != string(b) {
		t.Errorf("a line was written without %s: %q", EnvCPULog, b2)
	}
}
