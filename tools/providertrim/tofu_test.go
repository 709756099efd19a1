package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTofu_dropsUnnamedBackendsAndKeyProviders: with HCL that names no
// backend or key provider, the trimmed OpenTofu registers only the light
// backends and key providers, and its build no longer reaches the cloud
// SDKs behind the others (the point of trimming it).
func TestTofu_dropsUnnamedBackendsAndKeyProviders(t *testing.T) {
	src := tofuSource(t)
	out := filepath.Join(t.TempDir(), "tofu")
	if err := runTofu(src, out, []string{hclDir(t, `resource "aws_s3_bucket" "b" {}`)}, false); err != nil {
		t.Fatal(err)
	}
	backends := importPaths(t, filepath.Join(out, tofuBackendsFile))
	var remote []string
	for p := range backends {
		if strings.HasPrefix(p, tofuRemoteState) {
			remote = append(remote, strings.TrimPrefix(p, tofuRemoteState))
		}
	}
	if strings.Join(sortedKeys(setOf(remote)), ",") != "http,inmem" {
		t.Fatalf("remote-state packages kept: %v, want http and inmem", remote)
	}
	if !backends["github.com/opentofu/opentofu/internal/backend/local"] {
		t.Fatal("the local backend was dropped")
	}
	kp := importPaths(t, filepath.Join(out, tofuKeyProvidersFile))
	for _, p := range []string{"aws_kms", "gcp_kms", "azure_vault", "openbao"} {
		if kp[tofuKeyProviders+p] {
			t.Errorf("key provider %s kept", p)
		}
	}
	for _, p := range []string{"pbkdf2", "external"} {
		if !kp[tofuKeyProviders+p] {
			t.Errorf("key provider %s dropped", p)
		}
	}

	// What the tofu binary would compile (go list reads the imports, it
	// does not compile).
	cmd := exec.Command("go", "list", "-deps", "./cmd/tofu")
	cmd.Dir = out
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	deps, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./cmd/tofu in the trimmed tree: %v", err)
	}
	for _, sdk := range []string{"k8s.io/client-go/", "github.com/Azure/azure-sdk-for-go/", "github.com/tencentcloud/", "github.com/aliyun/", "github.com/lib/pq", "github.com/hashicorp/consul/api", "github.com/aws/aws-sdk-go-v2/service/kms", "cloud.google.com/go/kms/"} {
		if strings.Contains(string(deps), "\n"+sdk) {
			t.Errorf("the trimmed tofu still builds %s", sdk)
		}
	}
}

// TestTofu_keepsWhatTheHCLNames: a backend or key provider named in the
// scanned HCL stays, and one OpenTofu does not have is an error rather than
// a silently missing backend.
func TestTofu_keepsWhatTheHCLNames(t *testing.T) {
	src := tofuSource(t)
	out := filepath.Join(t.TempDir(), "tofu")
	hcl := hclDir(t, "terraform {\n  backend \"s3\" {}\n  encryption {\n    key_provider \"aws_kms\" \"k\" {}\n  }\n}\n")
	if err := runTofu(src, out, []string{hcl}, false); err != nil {
		t.Fatal(err)
	}
	if !importPaths(t, filepath.Join(out, tofuBackendsFile))[tofuRemoteState+"s3"] {
		t.Error("the s3 backend, named in the HCL, was dropped")
	}
	if !importPaths(t, filepath.Join(out, tofuKeyProvidersFile))[tofuKeyProviders+"aws_kms"] {
		t.Error("the aws_kms key provider, named in the HCL, was dropped")
	}

	err := runTofu(src, filepath.Join(t.TempDir(), "tofu"), []string{hclDir(t, `terraform { backend "nosuch" {} }`)}, false)
	if err == nil || !strings.Contains(err.Error(), `backend "nosuch"`) {
		t.Fatalf("a backend OpenTofu lacks: error %v, want one naming it", err)
	}
}

func setOf(xs []string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}
