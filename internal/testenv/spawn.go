package testenv

import (
	"os/exec"
	"runtime"
	"sync"
)

// Pdeathsig is delivered when the *thread* that forked a child exits, not
// the process. The Go runtime ends a thread whose goroutine exits while
// locked to it (TestHost.Listen did so after joining another network
// namespace; it now goes back and keeps the thread, but any other locked
// goroutine may still end one). A service forked from a thread the scheduler
// later handed to such a goroutine was SIGKILLed mid-test ("connection
// refused" from an API server that had been fine). So every child is
// forked from one thread that lives as long as the test binary.
var (
	spawnOnce sync.Once
	spawnCh   chan func()
)

// StartCommand starts cmd from the spawner thread; use it for every child
// that sets Pdeathsig.
func StartCommand(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnCh = make(chan func())
		go func() {
			runtime.LockOSThread() // never unlocked: this thread never exits
			for f := range spawnCh {
				f()
			}
		}()
	})
	errc := make(chan error, 1)
	spawnCh <- func() { errc <- cmd.Start() }
	return <-errc
}
