package kube

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/client-go/rest"
)

func TestPreflight_reportsVersionFingerprintAndPermissions(t *testing.T) {
	srv := newFakeAPIServer(t, false)
	srv.setAuthenticate(bearer("t"))
	// The caller may create everything but CRDs and ClusterRoles, and
	// secrets only outside "spinnaker".
	srv.setAllowed(func(a authorizationv1.ResourceAttributes) bool {
		switch a.Resource {
		case "customresourcedefinitions", "clusterroles":
			return false
		case "secrets":
			return a.Namespace != "spinnaker"
		}
		return true
	})

	cfg := restConfig(t, Connection{Host: srv.URL, ClusterCACertificate: string(srv.CA.pem), Token: "t"})
	got, err := Preflight(context.Background(), cfg, "spinnaker")
	if err != nil {
		t.Fatalf("Preflight: %v", err)
	}

	if got.Host != srv.URL || got.ServerVersion != "v1.33.1" || got.Platform != "linux/amd64" {
		t.Errorf("Host/ServerVersion/Platform = %q/%q/%q", got.Host, got.ServerVersion, got.Platform)
	}
	if want := sha256Hex(srv.CA.cert.Raw); got.CAFingerprintSHA256 != want {
		t.Errorf("CAFingerprintSHA256 = %s, want %s (the configured CA)", got.CAFingerprintSHA256, want)
	}

	wantPerms := map[string]bool{
		"namespaces":                true,
		"deployments":               true,
		"secrets":                   false,
		"customresourcedefinitions": false,
		"clusterroles":              false,
	}
	if len(got.Permissions) != len(wantPerms) {
		t.Errorf("Permissions = %v, want keys %v", got.Permissions, wantPerms)
	}
	for k, v := range wantPerms {
		if got.Permissions[k] != v {
			t.Errorf("Permissions[%s] = %v, want %v", k, got.Permissions[k], v)
		}
	}
	if want := []string{"clusterroles", "customresourcedefinitions", "secrets"}; !slices.Equal(got.Missing, want) {
		t.Errorf("Missing = %v, want %v", got.Missing, want)
	}
	if got.ReadyForInstall {
		t.Error("ReadyForInstall = true with permissions missing")
	}

	// Each review asked for "create", namespaced ones in the namespace.
	srv.mu.Lock()
	reviews := slices.Clone(srv.reviews)
	srv.mu.Unlock()
	if len(reviews) != len(InstallPermissions) {
		t.Fatalf("%d reviews, want %d", len(reviews), len(InstallPermissions))
	}
	for _, r := range reviews {
		wantNS := ""
		if r.Resource == "deployments" || r.Resource == "secrets" {
			wantNS = "spinnaker"
		}
		if r.Verb != "create" || r.Namespace != wantNS {
			t.Errorf("review %+v: want verb create in namespace %q", r, wantNS)
		}
		if r.Resource == "deployments" && r.Group != "apps" || r.Resource == "customresourcedefinitions" && r.Group != "apiextensions.k8s.io" || r.Resource == "clusterroles" && r.Group != "rbac.authorization.k8s.io" {
			t.Errorf("review %+v has the wrong API group", r)
		}
	}
}

func TestPreflight_readyWhenEverythingAllowedClusterWide(t *testing.T) {
	srv := newFakeAPIServer(t, false)
	cfg := restConfig(t, Connection{Host: srv.URL, ClusterCACertificate: string(srv.CA.pem), Token: "t"})
	got, err := Preflight(context.Background(), cfg, "")
	if err != nil {
		t.Fatalf("Preflight: %v", err)
	}
	if !got.ReadyForInstall || len(got.Missing) != 0 {
		t.Errorf("ReadyForInstall = %v, Missing = %v; want ready", got.ReadyForInstall, got.Missing)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for _, r := range srv.reviews {
		if r.Namespace != "" {
			t.Errorf("review %+v: want cluster-wide without a namespace", r)
		}
	}
}

func TestPreflight_unauthorizedNamesHostAndCall(t *testing.T) {
	srv := newFakeAPIServer(t, false)
	srv.setAuthenticate(bearer("right"))
	cfg := restConfig(t, Connection{Host: srv.URL, ClusterCACertificate: string(srv.CA.pem), Token: "wrong"})

	_, err := Preflight(context.Background(), cfg, "")
	var re *RequestError
	if !errors.As(err, &re) || re.StatusCode != 401 {
		t.Fatalf("err = %v, want a *RequestError with status 401", err)
	}
	for _, want := range []string{
		"GET " + srv.URL + "/version: ",
		"the server has asked for the client to provide credentials (401 Unauthorized)",
		"check token / client certificate",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not contain %q", err.Error(), want)
		}
	}
}

func TestPreflight_connectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	_, err = Preflight(context.Background(), &rest.Config{Host: "https://" + addr, BearerToken: "t", TLSClientConfig: rest.TLSClientConfig{Insecure: true}}, "")
	if err == nil {
		t.Fatal("Preflight succeeded against a closed port")
	}
	for _, want := range []string{"GET https://" + addr + "/version: ", "connection refused", "check host"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not contain %q", err.Error(), want)
		}
	}
	if strings.Contains(err.Error(), "?timeout=") {
		t.Errorf("message %q repeats client-go's URL", err.Error())
	}
}

func TestPreflight_untrustedCertificate(t *testing.T) {
	srv := newFakeAPIServer(t, false)
	otherCA := newTestCA(t)
	cfg := restConfig(t, Connection{Host: srv.URL, ClusterCACertificate: string(otherCA.pem), Token: "t"})

	_, err := Preflight(context.Background(), cfg, "")
	if err == nil || !strings.Contains(err.Error(), "set cluster_ca_certificate") || !strings.Contains(err.Error(), srv.URL+"/version") {
		t.Fatalf("err = %v, want the x509 failure on %s/version with advice on cluster_ca_certificate", err, srv.URL)
	}
}

func TestPreflight_fingerprintFromServerWithoutConfiguredCA(t *testing.T) {
	// The server presents leaf + CA; with no CA configured the top-most
	// presented certificate, the CA, is fingerprinted.
	srv := newFakeAPIServer(t, true)
	cfg := restConfig(t, Connection{Host: srv.URL, Insecure: true, Token: "t"})

	got, err := Preflight(context.Background(), cfg, "")
	if err != nil {
		t.Fatalf("Preflight: %v", err)
	}
	if want := sha256Hex(srv.CA.cert.Raw); got.CAFingerprintSHA256 != want {
		t.Errorf("CAFingerprintSHA256 = %s, want the presented CA's %s", got.CAFingerprintSHA256, want)
	}
}

func TestPreflight_fingerprintFromCAFile(t *testing.T) {
	srv := newFakeAPIServer(t, false)
	caFile := t.TempDir() + "/ca.crt"
	if err := os.WriteFile(caFile, srv.CA.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &rest.Config{Host: srv.URL, BearerToken: "t", TLSClientConfig: rest.TLSClientConfig{CAFile: caFile}}
	got, err := Preflight(context.Background(), cfg, "")
	if err != nil {
		t.Fatalf("Preflight: %v", err)
	}
	if want := sha256Hex(srv.CA.cert.Raw); got.CAFingerprintSHA256 != want {
		t.Errorf("CAFingerprintSHA256 = %s, want %s", got.CAFingerprintSHA256, want)
	}
}

func TestCAFingerprint(t *testing.T) {
	ca := newTestCA(t)
	other := newTestCA(t)
	want := sha256Hex(ca.cert.Raw)

	bundle := append(append([]byte{}, ca.pem...), other.pem...)
	for name, in := range map[string][]byte{"PEM": ca.pem, "DER": ca.cert.Raw, "bundle uses the first": bundle} {
		got, err := CAFingerprint(in)
		if err != nil || got != want {
			t.Errorf("%s: CAFingerprint = %q, %v; want %q", name, got, err, want)
		}
	}
	for name, in := range map[string][]byte{
		"garbage":    []byte("hello"),
		"key only":   pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}}),
		"empty":      nil,
		"broken PEM": []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
	} {
		if _, err := CAFingerprint(in); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
