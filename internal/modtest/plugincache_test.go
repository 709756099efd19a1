//go:build modules

package modtest

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestPluginCacheKeepsOneKeyPerRun: a provider rebuilt into the mirror
// while the suite runs (scripts/test-modules.sh of one directory, beside
// it) does not give later tests another cache, and nothing a run might be
// using is removed: only a directory unused for a day is. On the earlier
// code, which keyed each call anew and removed every other key's directory,
// the second call returns a new directory and the first one's providers
// are gone.
func TestPluginCacheKeepsOneKeyPerRun(t *testing.T) {
	mirror := t.TempDir()
	bin := filepath.Join(mirror, "registry.terraform.io", "hashicorp", "example", "1.0.0", "linux_amd64", "terraform-provider-example_v1.0.0")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, bin, "built once")

	base := filepath.Join(repo(t), ".testenv", "terraform-plugins")
	if err := os.MkdirAll(base, 0o755); err != nil {
		t.Fatal(err)
	}
	stale, err := os.MkdirTemp(base, "test-stale-")
	if err != nil {
		t.Fatal(err)
	}
	recent, err := os.MkdirTemp(base, "test-recent-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(stale); os.RemoveAll(recent) })
	old := time.Now().Add(-staleAfter - time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}

	first := pluginCache(t, mirror)
	t.Cleanup(func() { os.RemoveAll(first) })
	installed := filepath.Join(first, "registry.terraform.io", "hashicorp", "example")
	if err := os.MkdirAll(installed, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("a plugin cache unused for over %s was kept (stat: %v)", staleAfter, err)
	}
	if _, err := os.Stat(recent); err != nil {
		t.Errorf("a plugin cache used within %s was removed: another run may be using it (%v)", staleAfter, err)
	}

	// The provider is rebuilt into the mirror while the run goes on.
	writeFile(t, bin, "built again, other bytes")
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(bin, later, later); err != nil {
		t.Fatal(err)
	}
	if second := pluginCache(t, mirror); second != first {
		t.Errorf("a test that started after the mirror changed got plugin cache %s, the earlier ones %s", second, first)
	}
	if _, err := os.Stat(installed); err != nil {
		t.Errorf("the providers installed for the earlier tests are gone: %v", err)
	}
}
