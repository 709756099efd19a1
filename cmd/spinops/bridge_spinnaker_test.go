package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSpinnakerAccountsFlags: withdrawal from Spinnaker is off without
// --spinnaker-namespace, and a flag given without what it needs says so.
func TestSpinnakerAccountsFlags(t *testing.T) {
	if c, err := spinnakerAccounts("", ""); c != nil || err != nil {
		t.Fatalf("no flags: %v, %v", c, err)
	}
	if _, err := spinnakerAccounts("", "/some/kubeconfig"); err == nil || !strings.Contains(err.Error(), "needs --spinnaker-namespace") {
		t.Errorf("kubeconfig alone: %v", err)
	}
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	if _, err := spinnakerAccounts("spinnaker", ""); err == nil || !strings.Contains(err.Error(), "--spinnaker-kubeconfig") {
		t.Errorf("outside a cluster without a kubeconfig: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(bad, []byte("not: [a kubeconfig"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := spinnakerAccounts("spinnaker", bad); err == nil || !strings.Contains(err.Error(), "reading --spinnaker-kubeconfig") {
		t.Errorf("bad kubeconfig: %v", err)
	}
}
