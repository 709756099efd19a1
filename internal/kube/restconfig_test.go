package kube

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
)

// getVersion sends GET /version with cfg and fails the test if it fails.
func getVersion(t *testing.T, cfg *rest.Config) {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatalf("discovery client: %v", err)
	}
	if _, err := dc.ServerVersionWithContext(context.Background()); err != nil {
		t.Fatalf("GET /version: %v", err)
	}
}

func restConfig(t *testing.T, c Connection) *rest.Config {
	t.Helper()
	cfg, err := c.RESTConfig(context.Background())
	if err != nil {
		t.Fatalf("RESTConfig: %v", err)
	}
	return cfg
}

// wantConfigError asserts err is a *ConfigError for attribute whose message
// contains every one of wants.
func wantConfigError(t *testing.T, err error, attribute string, wants ...string) {
	t.Helper()
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v (%T), want *ConfigError", err, err)
	}
	if ce.Attribute != attribute {
		t.Errorf("Attribute = %q, want %q (err: %v)", ce.Attribute, attribute, err)
	}
	if ce.Summary == "" || ce.Detail == "" {
		t.Errorf("ConfigError %+v lacks a summary or detail", ce)
	}
	for _, want := range wants {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not contain %q", err.Error(), want)
		}
	}
}

func TestRESTConfig_token(t *testing.T) {
	srv := newFakeAPIServer(t, false)
	srv.setAuthenticate(bearer("s3cret"))

	cfg := restConfig(t, Connection{Host: srv.URL, ClusterCACertificate: string(srv.CA.pem), Token: "s3cret"})
	getVersion(t, cfg)

	if ua := srv.lastHeader("/version", "User-Agent"); !strings.HasPrefix(ua, "spinops/") {
		t.Errorf("User-Agent = %q, want spinops/<version>", ua)
	}
	if cfg.QPS != defaultQPS || cfg.Burst != defaultBurst || cfg.Timeout != 0 {
		t.Errorf("QPS/Burst/Timeout = %v/%v/%v, want %v/%v/0", cfg.QPS, cfg.Burst, cfg.Timeout, defaultQPS, defaultBurst)
	}
}

func TestRESTConfig_bareHostGetsHTTPS(t *testing.T) {
	srv := newFakeAPIServer(t, false)
	cfg := restConfig(t, Connection{Host: strings.TrimPrefix(srv.URL, "https://"), Token: "t", Insecure: true})
	if !strings.HasPrefix(cfg.Host, "https://") {
		t.Fatalf("Host = %q, want https:// added", cfg.Host)
	}
	getVersion(t, cfg)
}

func TestRESTConfig_clientCertificate(t *testing.T) {
	srv := newFakeAPIServer(t, false)
	srv.setAuthenticate(func(r *http.Request) bool {
		return r.TLS != nil && len(r.TLS.PeerCertificates) > 0 && r.TLS.PeerCertificates[0].Subject.CommonName == "spinops-admin"
	})
	certPEM, keyPEM, _ := srv.CA.issue(t, "spinops-admin", false, "system:masters")

	getVersion(t, restConfig(t, Connection{
		Host:                 srv.URL,
		ClusterCACertificate: string(srv.CA.pem),
		ClientCertificate:    string(certPEM),
		ClientKey:            string(keyPEM),
	}))
}

func TestRESTConfig_insecure(t *testing.T) {
	srv := newFakeAPIServer(t, false)
	cfg := restConfig(t, Connection{Host: srv.URL, Insecure: true, Token: "t"})
	if !cfg.Insecure {
		t.Fatal("TLSClientConfig.Insecure not set")
	}
	getVersion(t, cfg)
}

// writeKubeconfig writes a kubeconfig with contexts alpha (current, token
// alpha-token) and beta (token beta-token, server beta.invalid), both
// trusting ca.
func writeKubeconfig(t *testing.T, dir, server string, ca []byte) string {
	t.Helper()
	caData := base64.StdEncoding.EncodeToString(ca)
	content := fmt.Sprintf(`apiVersion: v1
kind: Config
current-context: alpha
clusters:
- name: alpha
  cluster:
    server: %s
    certificate-authority-data: %s
- name: beta
  cluster:
    server: https://beta.invalid:6443
    certificate-authority-data: %s
users:
- name: alpha
  user:
    token: alpha-token
- name: beta
  user:
    token: beta-token
contexts:
- name: alpha
  context: {cluster: alpha, user: alpha}
- name: beta
  context: {cluster: beta, user: beta}
`, server, caData, caData)
	path := filepath.Join(dir, "config")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRESTConfig_kubeconfig(t *testing.T) {
	srv := newFakeAPIServer(t, false)
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("KUBECONFIG", "/nonexistent/must-not-be-read")
	path := writeKubeconfig(t, filepath.Join(home), srv.URL, srv.CA.pem)

	t.Run("current context", func(t *testing.T) {
		cfg := restConfig(t, Connection{ConfigPath: path})
		getVersion(t, cfg)
		if got := srv.lastHeader("/version", "Authorization"); got != "Bearer alpha-token" {
			t.Errorf("Authorization = %q, want the alpha user's token", got)
		}
	})

	t.Run("tilde and list", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "empty")
		if err := os.WriteFile(other, []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := restConfig(t, Connection{ConfigPath: "~/config" + string(filepath.ListSeparator) + other})
		if cfg.Host != srv.URL {
			t.Errorf("Host = %q, want %q", cfg.Host, srv.URL)
		}
	})

	t.Run("selected context with host override", func(t *testing.T) {
		cfg := restConfig(t, Connection{ConfigPath: path, ConfigContext: "beta", Host: srv.URL})
		if cfg.Host != srv.URL {
			t.Fatalf("Host = %q, want the override %q", cfg.Host, srv.URL)
		}
		getVersion(t, cfg)
		if got := srv.lastHeader("/version", "Authorization"); got != "Bearer beta-token" {
			t.Errorf("Authorization = %q, want the beta user's token", got)
		}
	})

	t.Run("token override replaces the kubeconfig user", func(t *testing.T) {
		cfg := restConfig(t, Connection{ConfigPath: path, Token: "explicit"})
		getVersion(t, cfg)
		if got := srv.lastHeader("/version", "Authorization"); got != "Bearer explicit" {
			t.Errorf("Authorization = %q, want the explicit token", got)
		}
	})
}

func TestRESTConfig_missingConfigPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope", "kubeconfig")
	_, err := Connection{ConfigPath: path}.RESTConfig(context.Background())
	wantConfigError(t, err, "config_path", path, "does not exist", "set config_path")
}

func TestRESTConfig_unknownContext(t *testing.T) {
	path := writeKubeconfig(t, t.TempDir(), "https://127.0.0.1:1", newTestCA(t).pem)
	_, err := Connection{ConfigPath: path, ConfigContext: "gamma"}.RESTConfig(context.Background())
	wantConfigError(t, err, "config_context", `"gamma"`, "alpha, beta")
}

func TestRESTConfig_exec(t *testing.T) {
	srv := newFakeAPIServer(t, false)
	srv.setAuthenticate(bearer("from-plugin"))

	plugin := filepath.Join(t.TempDir(), "credential-plugin")
	script := `#!/bin/sh
# Prints a client-go ExecCredential whose token names $CLUSTER.
echo '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"from-'"$CLUSTER"'"}}'
`
	if err := os.WriteFile(plugin, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}

	cfg := restConfig(t, Connection{
		Host:                 srv.URL,
		ClusterCACertificate: string(srv.CA.pem),
		Exec:                 &ExecConfig{Command: plugin, Args: []string{"token"}, Env: map[string]string{"CLUSTER": "plugin"}},
	})
	ep := cfg.ExecProvider
	if ep == nil {
		t.Fatal("ExecProvider not set")
	}
	if ep.APIVersion != DefaultExecAPIVersion || ep.InteractiveMode != "Never" || ep.Command != plugin || len(ep.Env) != 1 {
		t.Errorf("ExecProvider = %+v", ep)
	}
	getVersion(t, cfg)
}

func TestRESTConfig_badCAPEM(t *testing.T) {
	ca := newTestCA(t)
	for name, tc := range map[string]struct{ pem, want string }{
		"garbage":        {"not a certificate", "must be PEM"},
		"base64 encoded": {base64.StdEncoding.EncodeToString(ca.pem), "base64decode"},
		"broken body":    {"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "certificate 1"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Connection{Host: "https://127.0.0.1:6443", ClusterCACertificate: tc.pem, Token: "t"}.RESTConfig(context.Background())
			wantConfigError(t, err, "cluster_ca_certificate", tc.want)
		})
	}
}

func TestRESTConfig_clientCertificateNeedsKey(t *testing.T) {
	ca := newTestCA(t)
	certPEM, _, _ := ca.issue(t, "admin", false)
	_, otherKey, _ := ca.issue(t, "other", false)

	_, err := Connection{Host: "https://127.0.0.1:6443", ClientCertificate: string(certPEM)}.RESTConfig(context.Background())
	wantConfigError(t, err, "client_key", "set both or neither")

	_, err = Connection{Host: "https://127.0.0.1:6443", ClientKey: string(otherKey)}.RESTConfig(context.Background())
	wantConfigError(t, err, "client_certificate", "set both or neither")

	_, err = Connection{Host: "https://127.0.0.1:6443", ClientCertificate: string(certPEM), ClientKey: string(otherKey)}.RESTConfig(context.Background())
	wantConfigError(t, err, "client_key", "does not match")
}

func TestRESTConfig_requiresHost(t *testing.T) {
	_, err := Connection{Token: "t"}.RESTConfig(context.Background())
	wantConfigError(t, err, "host", "config_path")
}

func TestRESTConfig_insecureConflictsWithCA(t *testing.T) {
	_, err := Connection{Host: "https://127.0.0.1:6443", Insecure: true, ClusterCACertificate: string(newTestCA(t).pem)}.RESTConfig(context.Background())
	wantConfigError(t, err, "insecure", "mutually exclusive")
}

func TestRESTConfig_eks(t *testing.T) {
	srv := newFakeAPIServer(t, false)
	srv.setAuthenticate(func(r *http.Request) bool {
		return strings.HasPrefix(r.Header.Get("Authorization"), "Bearer k8s-aws-v1.")
	})

	var tokens atomic.Int32
	makeToken := eksToken
	eksToken = func(ctx context.Context, cfg aws.Config, clusterName, roleARN string) (string, time.Time, error) {
		tokens.Add(1)
		return makeToken(ctx, cfg, clusterName, roleARN)
	}
	t.Cleanup(func() { eksToken = makeToken })
	creds := credentials.NewStaticCredentialsProvider("AKIAEXAMPLEEXAMPLE", "secret", "")
	ctx, cancel := context.WithCancel(context.Background())
	cfg, err := Connection{
		Host:                 srv.URL,
		ClusterCACertificate: string(srv.CA.pem),
		EKS: &EKSConfig{
			ClusterName: "prod-a",
			Region:      "us-west-2",
			AWSConfig: func(context.Context) (aws.Config, error) {
				return aws.Config{Region: "eu-west-1", Credentials: creds}, nil
			},
		},
	}.RESTConfig(ctx)
	if err != nil {
		t.Fatalf("RESTConfig: %v", err)
	}
	cancel() // tokens must still be made after the configuring call returned

	for range 3 {
		getVersion(t, cfg)
	}
	if n := tokens.Load(); n != 1 {
		t.Errorf("made %d tokens for 3 requests, want 1 (tokens must be cached)", n)
	}

	auth := srv.lastHeader("/version", "Authorization")
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(auth, "Bearer k8s-aws-v1."))
	if err != nil {
		t.Fatalf("token is not base64url: %v", err)
	}
	u, err := url.Parse(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	if u.Host != "sts.us-west-2.amazonaws.com" {
		t.Errorf("token signed for %s, want eks.region us-west-2 to override the AWS config's region", u.Host)
	}
}

func TestRESTConfig_eksNeedsRegion(t *testing.T) {
	_, err := Connection{
		Host: "https://127.0.0.1:6443",
		EKS: &EKSConfig{ClusterName: "prod-a", AWSConfig: func(context.Context) (aws.Config, error) {
			return aws.Config{Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")}, nil
		}},
	}.RESTConfig(context.Background())
	wantConfigError(t, err, "eks.region", "prod-a")
}

func TestRESTConfig_gkeAccessToken(t *testing.T) {
	srv := newFakeAPIServer(t, false)
	srv.setAuthenticate(bearer("ya29.static"))

	cfg := restConfig(t, Connection{
		Host:                 srv.URL,
		ClusterCACertificate: string(srv.CA.pem),
		GKE:                  &GKEConfig{AccessToken: "ya29.static"},
	})
	getVersion(t, cfg)
	if got := srv.lastHeader("/version", "Authorization"); got != "Bearer ya29.static" {
		t.Errorf("Authorization = %q, want Bearer ya29.static", got)
	}
}

func TestRESTConfig_gkeBadCredentials(t *testing.T) {
	_, err := Connection{Host: "https://127.0.0.1:6443", GKE: &GKEConfig{Credentials: `{"type":"api_key"}`}}.RESTConfig(context.Background())
	wantConfigError(t, err, "gke.credentials", "api_key")
}

func TestEKSTokenSource_refreshesAMinuteEarly(t *testing.T) {
	src := &eksTokenSource{
		ctx:         context.Background(),
		cfg:         aws.Config{Region: "us-west-2", Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")},
		clusterName: "prod-a",
	}
	before := time.Now()
	tok, err := src.Token()
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if lo, hi := before.Add(14*time.Minute), time.Now().Add(14*time.Minute); tok.Expiry.Before(lo) || tok.Expiry.After(hi) {
		t.Errorf("Expiry = %v, want 14 minutes from now (15-minute token, refreshed 1 minute early)", tok.Expiry)
	}
}

func TestRESTConfig_kubeconfigWithoutCurrentContext(t *testing.T) {
	dir := t.TempDir()
	path := writeKubeconfig(t, dir, "https://127.0.0.1:1", newTestCA(t).pem)
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(content), "current-context: alpha\n", "", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Connection{ConfigPath: path}.RESTConfig(context.Background())
	wantConfigError(t, err, "config_context", "no current-context", "alpha, beta")
}

func TestRESTConfig_invalidKubeconfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte("clusters: [ this is not: yaml"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Connection{ConfigPath: path}.RESTConfig(context.Background())
	wantConfigError(t, err, "config_path", path)
}

func TestRESTConfig_execNeedsCommand(t *testing.T) {
	_, err := Connection{Host: "https://127.0.0.1:6443", Exec: &ExecConfig{}}.RESTConfig(context.Background())
	wantConfigError(t, err, "exec.command")
}

// The user agent is the connection's, not a process-wide setting.
func TestRESTConfigUserAgentIsTheConnections(t *testing.T) {
	c := Connection{Host: "https://127.0.0.1:6443", Token: "t"}
	cfg, err := c.RESTConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.UserAgent != DefaultUserAgent {
		t.Fatalf("user agent %q, want %q", cfg.UserAgent, DefaultUserAgent)
	}
	c.UserAgent = "terraform-provider-spinops/1.2.3"
	if cfg, err = c.RESTConfig(context.Background()); err != nil || cfg.UserAgent != c.UserAgent {
		t.Fatalf("user agent %q (%v), want %q", cfg.UserAgent, err, c.UserAgent)
	}
}
