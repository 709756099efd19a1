// Package kube turns a cluster connection description into a client-go
// *rest.Config and holds the helpers every component uses against a cluster:
// server-side apply with the "spinops" field manager, waits, and the install
// preflight. It knows nothing about Terraform.
package kube

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Connection describes how to reach one Kubernetes API server. It mirrors the
// provider's `kubernetes` block; exactly one credential source is expected to
// be effective, in this order of precedence: ConfigPath (with ConfigContext),
// Exec, EKS, GKE, ClientCertificate+ClientKey, Token. Host and
// ClusterCACertificate, when set, override what a kubeconfig says; an
// explicit credential (Exec, EKS, GKE, client certificate, Token) replaces
// the kubeconfig context's user. RESTConfig turns it into a *rest.Config;
// its *ConfigError values name the attribute at fault as the block spells it
// ("config_path", "eks.region", ...).
type Connection struct {
	Host                 string // https://host:port; a bare host:port gets https://
	ClusterCACertificate string // PEM
	Insecure             bool
	Token                string
	ClientCertificate    string // PEM
	ClientKey            string // PEM
	ConfigPath           string // a kubeconfig, or a KUBECONFIG-style list; "~" is expanded
	ConfigContext        string // empty: the kubeconfig's current-context
	Exec                 *ExecConfig
	EKS                  *EKSConfig
	GKE                  *GKEConfig
	// UserAgent is sent with every request (the provider sends
	// "terraform-provider-spinops/<version>"); empty: DefaultUserAgent.
	UserAgent string
}

// ExecConfig is a client-go credential plugin (client.authentication.k8s.io).
// Plugins run non-interactively.
type ExecConfig struct {
	APIVersion string // empty: DefaultExecAPIVersion
	Command    string
	Args       []string
	Env        map[string]string
}

// EKSConfig produces aws-iam-authenticator tokens without the aws CLI.
type EKSConfig struct {
	ClusterName string
	// Region overrides the region of AWSConfig; one of the two must be set.
	Region string
	// RoleARN, when set, is assumed to make the tokens.
	RoleARN string
	// AWSConfig supplies the base AWS configuration (credentials, endpoints);
	// the provider passes its lazily built client config here. Nil means
	// the SDK's default chain (environment, shared config, IMDS).
	AWSConfig func(ctx context.Context) (aws.Config, error)
}

// GKEConfig produces Google OAuth2 access tokens from default credentials.
type GKEConfig struct {
	// Credentials is an optional service-account JSON; empty means
	// Application Default Credentials.
	Credentials string
	// AccessToken, when set, is used as is (and wins over Credentials).
	AccessToken string
	// Scopes of the access token; empty means cloud-platform.
	Scopes []string
}
