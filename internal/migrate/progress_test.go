package migrate

import (
	"slices"
	"strings"
	"sync"
	"testing"
)

// recordedProgress records the steps a copy reports, as a terminal's bars
// would show them.
type recordedProgress struct {
	mu    sync.Mutex
	steps []*recordedStep
}

type recordedStep struct {
	p     *recordedProgress
	desc  string
	total int64
	sets  []int64
	done  bool
	late  bool // Set or Done after Done
}

func (p *recordedProgress) Step(desc string, total int64) ProgressBar {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := &recordedStep{p: p, desc: desc, total: total}
	p.steps = append(p.steps, s)
	return s
}

func (s *recordedStep) Set(n int64) {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	s.late = s.late || s.done
	s.sets = append(s.sets, n)
}

func (s *recordedStep) Done() {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	s.late = s.late || s.done
	s.done = true
}

// check: the steps are the ones named (by a part of their description, in
// order), each ended once, its figures never going back, and a step with
// a total ends exactly at it; one without ends above zero. It returns the
// steps.
func (p *recordedProgress) check(t *testing.T, want ...string) []*recordedStep {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.steps) != len(want) {
		var got []string
		for _, s := range p.steps {
			got = append(got, s.desc)
		}
		t.Fatalf("steps %q, want %d: %q", got, len(want), want)
	}
	for i, s := range p.steps {
		switch {
		case !strings.Contains(s.desc, want[i]):
			t.Errorf("step %d is %q, want one about %q", i, s.desc, want[i])
		case !s.done || s.late:
			t.Errorf("step %q: done %v, reported after it ended %v", s.desc, s.done, s.late)
		case len(s.sets) == 0:
			t.Errorf("step %q: never set", s.desc)
		case !slices.IsSorted(s.sets):
			t.Errorf("step %q went back: %v", s.desc, s.sets)
		case s.total > 0 && s.sets[len(s.sets)-1] != s.total:
			t.Errorf("step %q ended at %d of %d", s.desc, s.sets[len(s.sets)-1], s.total)
		case s.total == 0 && s.sets[len(s.sets)-1] <= 0:
			t.Errorf("step %q (no total) ended at %d", s.desc, s.sets[len(s.sets)-1])
		}
	}
	return p.steps
}
