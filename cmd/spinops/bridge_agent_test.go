package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spinops/terraform-provider-spinops/internal/bridge"
	"github.com/spinops/terraform-provider-spinops/internal/bridge/store"
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
	keys := filepath.Join(t.TempDir(), "bridge.keys")
	if err := runSpinopsCmd(t, "bridge", "keygen", "--out", keys); err != nil {
		t.Fatal(err)
	}
	err := runSpinopsCmd(t, "bridge", "--key-file", keys, "--sqlite", filepath.Join(t.TempDir(), "b.db"), "--grpc-addr", "127.0.0.1:0", "--ops-addr", "", "--endpoint-addr", "")
	if err == nil || !strings.Contains(err.Error(), "--insecure-grpc") {
		t.Fatalf("got %v", err)
	}
	err = runSpinopsCmd(t, "bridge", "--key-file", keys, "--sqlite", filepath.Join(t.TempDir(), "b.db"), "--grpc-addr", "127.0.0.1:0", "--insecure-grpc")
	if err == nil || !strings.Contains(err.Error(), "Kubernetes endpoint needs") {
		t.Fatalf("got %v", err)
	}
	// Plaintext on a non-loopback address needs its own flag.
	err = runSpinopsCmd(t, "bridge", "--key-file", keys, "--sqlite", filepath.Join(t.TempDir(), "b.db"), "--grpc-addr", ":0", "--insecure-grpc", "--endpoint-addr", "", "--ops-addr", "")
	if err == nil || !strings.Contains(err.Error(), "--insecure-grpc-allow-remote") {
		t.Fatalf("plaintext on all interfaces: got %v", err)
	}
}

// TestBridgeNeedsItsKeyFile: without --key-file (and without the
// development directory) the bridge does not start, and says how to make
// one; keygen never overwrites a key file.
func TestBridgeNeedsItsKeyFile(t *testing.T) {
	err := runSpinopsCmd(t, "bridge", "--sqlite", filepath.Join(t.TempDir(), "b.db"), "--grpc-addr", "127.0.0.1:0", "--insecure-grpc", "--endpoint-addr", "")
	if err == nil || !strings.Contains(err.Error(), "spinops bridge keygen") {
		t.Fatalf("got %v", err)
	}
	keys := filepath.Join(t.TempDir(), "bridge.keys")
	if err := runSpinopsCmd(t, "bridge", "keygen", "--out", keys); err != nil {
		t.Fatal(err)
	}
	if err := runSpinopsCmd(t, "bridge", "keygen", "--out", keys); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("keygen over an existing key file: %v", err)
	}
	if fi, err := os.Stat(keys); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the key file's mode: %v %v", fi, err)
	}
	// A key file others may read, or that is missing, stops the bridge
	// before it serves, naming the flag and the fix.
	if err := os.Chmod(keys, 0o644); err != nil {
		t.Fatal(err)
	}
	err = runSpinopsCmd(t, "bridge", "--key-file", keys, "--sqlite", filepath.Join(t.TempDir(), "b.db"), "--grpc-addr", "127.0.0.1:0", "--insecure-grpc", "--endpoint-addr", "", "--ops-addr", "")
	if err == nil || !strings.Contains(err.Error(), "--key-file") || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a world-readable key file: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "missing.keys")
	err = runSpinopsCmd(t, "bridge", "--key-file", missing, "--sqlite", filepath.Join(t.TempDir(), "b.db"), "--grpc-addr", "127.0.0.1:0", "--insecure-grpc", "--endpoint-addr", "", "--ops-addr", "")
	if err == nil || !strings.Contains(err.Error(), "--key-file") || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("a missing key file: %v", err)
	}
}

// TestMigrateKeyMovesTheKeyOutOfTheStore: the key an older bridge kept in
// its store ends up in the key file as "legacy" and is gone from the store.
func TestMigrateKeyMovesTheKeyOutOfTheStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "b.db")
	st, err := store.OpenSQLite(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	old := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	if _, err := st.Setting(ctx, bridge.LegacyKeySetting, func() (string, error) { return old, nil }); err != nil {
		t.Fatal(err)
	}
	st.Close()
	keys := filepath.Join(dir, "bridge.keys")
	if err := runSpinopsCmd(t, "bridge", "migrate-key", "--key-file", keys, "--sqlite", db); err != nil {
		t.Fatal(err)
	}
	ring, err := bridge.LoadKeyRing(keys)
	if err != nil {
		t.Fatal(err)
	}
	if ids := ring.IDs(); len(ids) != 2 || ids[1] != bridge.LegacyKeyID || ids[0] == bridge.LegacyKeyID {
		t.Fatalf("key ids after the migration: %v", ids)
	}
	b, _ := os.ReadFile(keys)
	if !strings.Contains(string(b), old) {
		t.Fatal("the legacy key is not in the key file")
	}
	st, err = store.OpenSQLite(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, found, err := st.LookupSetting(ctx, bridge.LegacyKeySetting); err != nil || found {
		t.Fatalf("the key is still in the store: %v %v", found, err)
	}
}

// TestKubeconfigCAIsTheServingCA: the CA written into kubeconfigs is the
// one that issued the endpoint's certificate (--tls-ca, or the chain in
// --tls-cert), never the client CA of agents' certificates.
func TestKubeconfigCAIsTheServingCA(t *testing.T) {
	dir := t.TempDir()
	servingCA, _ := bridge.NewCA("serving-ca")
	clientCA, _ := bridge.NewCA("client-ca")
	_, certPEM, keyPEM, err := servingCA.IssueServer("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	f := bridgeFlags{tlsCert: write("tls.crt", certPEM), tlsKey: write("tls.key", keyPEM), clientCA: write("client-ca.pem", clientCA.CertPEM)}
	_, ca, err := servingCertificate(f)
	if err != nil {
		t.Fatal(err)
	}
	if string(ca) == string(clientCA.CertPEM) {
		t.Fatal("the kubeconfig CA is the client CA")
	}
	f.tlsCA = write("serving-ca.pem", servingCA.CertPEM)
	if _, ca, err = servingCertificate(f); err != nil || string(ca) != string(servingCA.CertPEM) {
		t.Fatalf("with --tls-ca: %v", err)
	}
	f.tlsCA = ""
	f.tlsCert = write("chain.crt", append(append([]byte{}, certPEM...), servingCA.CertPEM...))
	if _, ca, err = servingCertificate(f); err != nil || !strings.Contains(string(ca), strings.TrimSpace(string(servingCA.CertPEM))) {
		t.Fatalf("from the chain in --tls-cert: %v %q", err, ca)
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
