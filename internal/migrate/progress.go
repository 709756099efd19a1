package migrate

// This file: how far a long copy is. A caller that draws progress bars (the
// command, on a terminal) gives a Progress; without one, a long copy logs a
// progress line every ProgressEvery.

import (
	"sync"
	"time"
)

// Progress shows the steps of a copy as they go.
type Progress interface {
	// Step starts a step of total bytes (0: not known beforehand) and
	// returns what to report it to.
	Step(description string, total int64) ProgressBar
}

// ProgressBar is one step's progress.
type ProgressBar interface {
	// Set says how many bytes are done.
	Set(done int64)
	// Done ends the step (after its last Set).
	Done()
}

// progressTick is how often a step's bar is set.
const progressTick = 200 * time.Millisecond

// trackStep starts a step on p and sets it from done every progressTick
// until the returned stop, which sets it a last time and ends it. With no
// Progress it does nothing.
func trackStep(p Progress, description string, total int64, done func() int64) (stop func()) {
	if p == nil {
		return func() {}
	}
	bar := p.Step(description, total)
	stopTick := tick(progressTick, func() { bar.Set(done()) })
	var once sync.Once
	return func() {
		once.Do(func() {
			stopTick()
			bar.Set(done())
			bar.Done()
		})
	}
}
