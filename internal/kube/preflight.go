package kube

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// PreflightResult is what Preflight learned about a cluster.
type PreflightResult struct {
	// Host is the API server URL as the client dials it.
	Host string
	// ServerVersion is the server's gitVersion, e.g. "v1.33.1" or
	// "v1.32.5-eks-5d4a308".
	ServerVersion string
	// Platform is the server binary's platform, e.g. "linux/amd64".
	Platform string
	// CAFingerprintSHA256 identifies the cluster's CA; see Preflight.
	CAFingerprintSHA256 string
	// Permissions maps each install permission (keys of InstallPermissions)
	// to whether the caller has it.
	Permissions map[string]bool
	// Missing lists, sorted, the permissions the caller lacks.
	Missing []string
	// ReadyForInstall is true when nothing is missing.
	ReadyForInstall bool
}

// Permission is one "may I create this?" question asked of the cluster.
type Permission struct {
	Key      string
	Group    string
	Resource string
	// Namespaced permissions are asked for the namespace given to
	// Preflight, or cluster-wide when it is empty.
	Namespaced bool
}

// InstallPermissions are the create permissions an install of the Spinnaker
// Operator and a Spinnaker zone needs.
var InstallPermissions = []Permission{
	{Key: "namespaces", Resource: "namespaces"},
	{Key: "deployments", Group: "apps", Resource: "deployments", Namespaced: true},
	{Key: "secrets", Resource: "secrets", Namespaced: true},
	{Key: "customresourcedefinitions", Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"},
	{Key: "clusterroles", Group: "rbac.authorization.k8s.io", Resource: "clusterroles"},
}

// Preflight checks that cfg reaches a cluster, and may install there:
//
//   - the server version (GET /version), which also proves the address,
//     TLS trust and credentials;
//   - the CA fingerprint: the lowercase hex SHA-256 of the DER of the first
//     certificate in cfg's CA (CAData, else CAFile), equal to
//     `openssl x509 -in ca.crt -outform DER | sha256sum`. Without a
//     configured CA (system roots, or insecure) it is the fingerprint of the
//     top-most certificate the server presented in the TLS handshake; over
//     plain http it is empty;
//   - the InstallPermissions, through SelfSubjectAccessReviews asked
//     concurrently; namespaced ones in namespace, or cluster-wide when it is
//     empty.
//
// Failed calls are returned as *RequestError naming the host and the call.
// Lacking permissions is not an error: they are listed in Missing.
func Preflight(ctx context.Context, cfg *rest.Config, namespace string) (*PreflightResult, error) {
	if cfg == nil {
		return nil, errors.New("preflight: no client configuration")
	}
	serverURL, _, err := rest.DefaultServerUrlFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("preflight: invalid host %q: %w", cfg.Host, err)
	}
	host := strings.TrimSuffix(serverURL.String(), "/")

	cfg = rest.CopyConfig(cfg)
	var peer tlsRecorder
	cfg.Wrap(peer.wrap)
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("preflight of %s: building HTTP client: %w", host, err)
	}
	disco, err := discovery.NewDiscoveryClientForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("preflight of %s: building discovery client: %w", host, err)
	}
	clientset, err := kubernetes.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("preflight of %s: building clientset: %w", host, err)
	}

	info, err := disco.ServerVersionWithContext(ctx)
	if err != nil {
		return nil, newRequestError(http.MethodGet, host+"/version", err)
	}

	fingerprint, err := caFingerprint(cfg, peer.state())
	if err != nil {
		return nil, fmt.Errorf("preflight of %s: %w", host, err)
	}

	permissions, err := checkPermissions(ctx, clientset, host, namespace, InstallPermissions)
	if err != nil {
		return nil, err
	}
	var missing []string
	for key, ok := range permissions {
		if !ok {
			missing = append(missing, key)
		}
	}
	slices.Sort(missing)

	return &PreflightResult{
		Host:                host,
		ServerVersion:       info.GitVersion,
		Platform:            info.Platform,
		CAFingerprintSHA256: fingerprint,
		Permissions:         permissions,
		Missing:             missing,
		ReadyForInstall:     len(missing) == 0,
	}, nil
}

// checkPermissions asks one SelfSubjectAccessReview per permission, all at
// once, and returns the first failed call in the order of perms.
func checkPermissions(ctx context.Context, clientset kubernetes.Interface, host, namespace string, perms []Permission) (map[string]bool, error) {
	allowed := make([]bool, len(perms))
	errs := make([]error, len(perms))
	var wg sync.WaitGroup
	for i, p := range perms {
		wg.Go(func() {
			allowed[i], errs[i] = canCreate(ctx, clientset, p, namespace)
		})
	}
	wg.Wait()

	result := make(map[string]bool, len(perms))
	for i, p := range perms {
		if errs[i] != nil {
			return nil, newRequestError(http.MethodPost, host+"/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", errs[i])
		}
		result[p.Key] = allowed[i]
	}
	return result, nil
}

func canCreate(ctx context.Context, clientset kubernetes.Interface, p Permission, namespace string) (bool, error) {
	attrs := &authorizationv1.ResourceAttributes{Verb: "create", Group: p.Group, Resource: p.Resource}
	if p.Namespaced {
		attrs.Namespace = namespace
	}
	review, err := clientset.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx,
		&authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: attrs}},
		metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return review.Status.Allowed, nil
}

// caFingerprint fingerprints the configured CA, or else the top-most
// certificate the server presented.
func caFingerprint(cfg *rest.Config, state *tls.ConnectionState) (string, error) {
	switch {
	case len(cfg.CAData) > 0:
		return CAFingerprint(cfg.CAData)
	case cfg.CAFile != "":
		data, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return "", fmt.Errorf("reading CA file: %w", err)
		}
		return CAFingerprint(data)
	case state != nil && len(state.PeerCertificates) > 0:
		return fingerprintDER(state.PeerCertificates[len(state.PeerCertificates)-1].Raw), nil
	default:
		return "", nil
	}
}

// tlsRecorder keeps the TLS state of the responses passing through it.
type tlsRecorder struct {
	mu sync.Mutex
	cs *tls.ConnectionState
}

func (r *tlsRecorder) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(req)
		if resp != nil && resp.TLS != nil {
			r.mu.Lock()
			r.cs = resp.TLS
			r.mu.Unlock()
		}
		return resp, err
	})
}

func (r *tlsRecorder) state() *tls.ConnectionState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cs
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
