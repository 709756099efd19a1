package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runSpinopsCmd(t *testing.T, args ...string) error {
	t.Helper()
	cmd := newRootCommand()
	cmd.SetArgs(args)
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	return cmd.Execute()
}

func TestBridgeRefusesToServeWithoutTLS(t *testing.T) {
	err := runSpinopsCmd(t, "bridge", "--sqlite", filepath.Join(t.TempDir(), "b.db"), "--grpc-addr", "127.0.0.1:0", "--ops-addr", "", "--endpoint-addr", "")
	if err == nil || !strings.Contains(err.Error(), "--insecure-grpc") {
		t.Fatalf("got %v", err)
	}
	err = runSpinopsCmd(t, "bridge", "--sqlite", filepath.Join(t.TempDir(), "b.db"), "--grpc-addr", "127.0.0.1:0", "--insecure-grpc")
	if err == nil || !strings.Contains(err.Error(), "Kubernetes endpoint needs") {
		t.Fatalf("got %v", err)
	}
}

func TestAgentReportsAMalformedConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.yaml")
	if err := os.WriteFile(path, []byte("bridge: {grpc: 'b:1'}\nkubernetes: {accounts: [{name: a, kubeconfigFile: k, namespaces: [x], omitNamespaces: [y]}]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := runSpinopsCmd(t, "agent", "--config", path)
	if err == nil || !strings.Contains(err.Error(), "namespaces and omitNamespaces are exclusive") {
		t.Fatalf("got %v", err)
	}
}
