package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindBinaryPrefersEnvDir(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, binFakeGCS)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvBinDir, dir)
	got, err := findBinary(binFakeGCS)
	if err != nil {
		t.Fatal(err)
	}
	if got != p {
		t.Errorf("findBinary = %q, want %q", got, p)
	}
}

func TestFindBinaryMissingSaysHowToInstall(t *testing.T) {
	t.Setenv(EnvBinDir, t.TempDir())
	t.Setenv("PATH", t.TempDir())
	for name, want := range map[string]string{
		binK8s:     "make testenv",
		binFakeGCS: "scripts/testenv.sh",
		binMoto:    "machine image",
	} {
		_, err := findBinary(name)
		if err == nil {
			// Only possible when a real binary sits in <repo>/.testenv/bin.
			if name == binMoto {
				t.Errorf("findBinary(%s) found something with an empty PATH", name)
			}
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("findBinary(%s) error %q does not mention %q", name, err, want)
		}
	}
}

func TestFindBinaryIgnoresNonExecutables(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "not-exec"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "gone"), filepath.Join(dir, "dangling")); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvBinDir, dir)
	t.Setenv("PATH", dir)
	for _, n := range []string{"not-exec", "dangling"} {
		if p, err := findBinary(n); err == nil {
			t.Errorf("findBinary(%s) = %q, want an error", n, p)
		}
	}
}

func TestRepoRoot(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if got := modulePathOf(filepath.Join(root, "go.mod")); got != ModulePath {
		t.Errorf("module of %s = %q, want %q", root, got, ModulePath)
	}
}

func TestUniqueName(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		n := UniqueName("tf-acc-test-", 8)
		if len(n) != len("tf-acc-test-")+8 || strings.Trim(n[12:], nameAlphabet) != "" {
			t.Fatalf("bad name %q", n)
		}
		if seen[n] {
			t.Fatalf("duplicate name %q", n)
		}
		seen[n] = true
	}
}

func TestFreePortNotRepeated(t *testing.T) {
	seen := map[int]bool{}
	for range 50 {
		p, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
}
