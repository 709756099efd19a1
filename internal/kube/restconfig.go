package kube

import (
	"context"
	"crypto/tls"
	"net/url"
	"strings"

	"k8s.io/client-go/rest"
)

// DefaultUserAgent is sent with every request to the API server when the
// Connection names no UserAgent.
const DefaultUserAgent = "spinops/dev"

const (
	// defaultQPS and defaultBurst lift client-go's 5/10 defaults, which make
	// an install of a few dozen objects crawl; the provider is one short-lived
	// client, not a controller.
	defaultQPS   = 50
	defaultBurst = 100
)

// RESTConfig turns c into a client-go configuration.
//
// With ConfigPath the kubeconfig (one file, or a list separated like
// KUBECONFIG; "~" is expanded) is loaded and ConfigContext, or else its
// current-context, is used; Host, ClusterCACertificate and Insecure override
// the context's cluster, and an explicit credential (Exec, EKS, GKE, client
// certificate, Token) replaces the context's user. Without ConfigPath, Host
// is required.
//
// Of the credentials only the first given counts, in this order: Exec, EKS,
// GKE, then ClientCertificate+ClientKey and Token (these two may be combined).
// EKS and GKE tokens are fetched when a request needs one, cached, and
// refreshed shortly before they expire; ctx is kept (without its
// cancellation) for those refreshes.
//
// Bad settings are reported as *ConfigError naming the attribute. Nothing is
// sent to the API server; see Preflight for that.
func (c Connection) RESTConfig(ctx context.Context) (*rest.Config, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}

	var (
		cfg *rest.Config
		err error
	)
	if c.ConfigPath != "" {
		cfg, err = c.kubeconfigRESTConfig()
	} else {
		cfg, err = c.directRESTConfig()
	}
	if err != nil {
		return nil, err
	}

	if err := c.applyCredentials(ctx, cfg); err != nil {
		return nil, err
	}

	cfg.UserAgent = c.UserAgent
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	cfg.QPS = defaultQPS
	cfg.Burst = defaultBurst
	// No client-side timeout: every call carries a context with its deadline,
	// and watches or long waits must not be cut off underneath it.
	cfg.Timeout = 0
	return cfg, nil
}

// directRESTConfig builds the configuration from Host and the TLS settings.
func (c Connection) directRESTConfig() (*rest.Config, error) {
	if c.Host == "" {
		return nil, &ConfigError{
			Attribute: "host",
			Summary:   "No Kubernetes API server",
			Detail:    "no API server address: set host (with cluster_ca_certificate and a credential), or config_path to use a kubeconfig",
		}
	}
	return &rest.Config{
		Host: normalizeHost(c.Host),
		TLSClientConfig: rest.TLSClientConfig{
			Insecure: c.Insecure,
			CAData:   []byte(c.ClusterCACertificate),
		},
	}, nil
}

// validate checks the settings that can be checked without loading anything.
func (c Connection) validate() error {
	if c.Host != "" {
		if _, err := url.Parse(normalizeHost(c.Host)); err != nil {
			return configErrorf("host", "Invalid Kubernetes API server address", "%q is not a URL (https://host:port): %v", c.Host, err)
		}
	}

	if c.Insecure && c.ClusterCACertificate != "" {
		return configErrorf("insecure", "Conflicting TLS settings",
			"insecure and cluster_ca_certificate are mutually exclusive; remove insecure to verify the server against the CA")
	}
	if c.ClusterCACertificate != "" {
		if _, err := parseCertificatesPEM([]byte(c.ClusterCACertificate)); err != nil {
			return configErrorf("cluster_ca_certificate", "Invalid cluster CA certificate",
				"not a usable CA certificate (%v); %s", err, pemHint(c.ClusterCACertificate, "cluster_ca_certificate"))
		}
	}

	switch {
	case c.ClientCertificate != "" && c.ClientKey == "":
		return configErrorf("client_key", "Incomplete client certificate",
			"client_certificate is set but client_key is not; set both or neither")
	case c.ClientCertificate == "" && c.ClientKey != "":
		return configErrorf("client_certificate", "Incomplete client certificate",
			"client_key is set but client_certificate is not; set both or neither")
	case c.ClientCertificate != "":
		if _, err := parseCertificatesPEM([]byte(c.ClientCertificate)); err != nil {
			return configErrorf("client_certificate", "Invalid client certificate",
				"not a usable certificate (%v); %s", err, pemHint(c.ClientCertificate, "client_certificate"))
		}
		if _, err := tls.X509KeyPair([]byte(c.ClientCertificate), []byte(c.ClientKey)); err != nil {
			return configErrorf("client_key", "Invalid client key",
				"client_key is not a PEM private key matching client_certificate: %v", err)
		}
	}

	if c.Exec != nil && c.Exec.Command == "" {
		return configErrorf("exec.command", "Missing exec command", "exec needs the command of a client-go credential plugin (e.g. aws, gke-gcloud-auth-plugin, kubelogin)")
	}
	if c.EKS != nil && c.EKS.ClusterName == "" {
		return configErrorf("eks.cluster_name", "Missing EKS cluster name", "eks needs the name of the EKS cluster the token is for")
	}
	return nil
}

// normalizeHost adds https:// to a bare host[:port]; client-go would
// otherwise pick plain http when no CA or client certificate is set, and
// send a bearer token in the clear.
func normalizeHost(host string) string {
	host = strings.TrimSpace(host)
	if !strings.Contains(host, "://") {
		return "https://" + host
	}
	return host
}
