package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spinops/terraform-provider-spinops/internal/version"
)

func TestVersionCommandPrintsVersion(t *testing.T) {
	old := version.Version
	version.Version = "v9.8.7"
	t.Cleanup(func() { version.Version = old })

	var out bytes.Buffer
	root := newRootCommand()
	root.SetOut(&out)
	root.SetArgs([]string{"version"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != "spinops v9.8.7" {
		t.Fatalf("version output = %q, want %q", got, "spinops v9.8.7")
	}
}

func TestUnknownCommandFails(t *testing.T) {
	root := newRootCommand()
	root.SetArgs([]string{"no-such-command"})
	root.SetOut(&bytes.Buffer{})
	root.SetErr(&bytes.Buffer{})
	if err := root.Execute(); err == nil {
		t.Fatal("expected an error for an unknown command")
	}
}
