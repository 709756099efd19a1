package testenv

import (
	"sync"
	"testing"
)

// TestMariaDBParallelStarts starts six servers at the same moment, as the
// lanes of make test do, bypassing -parallel (two on this machine). Every
// install must succeed. It fails when the installs share a tmpdir: each
// bootstrap server deletes the others' temporary tables when it starts.
func TestMariaDBParallelStarts(t *testing.T) {
	bins := requireBinaries(t, binMariaDB, binMariaInstall)
	const n = 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			m, err := startMariaDB(t.Context(), bins[0], bins[1])
			if err != nil {
				errs[i] = err
				return
			}
			m.Stop()
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("server %d: %v", i, err)
		}
	}
}
