package kube

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"golang.org/x/oauth2"
	"k8s.io/client-go/rest"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/transport"

	"github.com/spinops/terraform-provider-spinops/internal/cloud/eks"
	"github.com/spinops/terraform-provider-spinops/internal/cloud/gcp"
)

const (
	// DefaultExecAPIVersion is used when ExecConfig.APIVersion is empty.
	DefaultExecAPIVersion = "client.authentication.k8s.io/v1beta1"

	// eksRefreshMargin is how long before EKS stops accepting a token a new
	// one is made.
	eksRefreshMargin = time.Minute
)

// applyCredentials puts the first explicit credential of c into cfg,
// replacing whatever user a kubeconfig supplied.
func (c Connection) applyCredentials(ctx context.Context, cfg *rest.Config) error {
	switch {
	case c.Exec != nil:
		clearCredentials(cfg)
		cfg.ExecProvider = c.Exec.execProvider()

	case c.EKS != nil:
		ts, err := c.EKS.tokenSource(ctx)
		if err != nil {
			return err
		}
		clearCredentials(cfg)
		cfg.Wrap(tokenSourceTransport(ts))

	case c.GKE != nil:
		ts, err := gcp.TokenSource(context.WithoutCancel(ctx), c.GKE.Credentials, c.GKE.AccessToken)
		if err != nil {
			attribute := "gke"
			if c.GKE.Credentials != "" {
				attribute = "gke.credentials"
			}
			return configErrorf(attribute, "Invalid Google credentials", "%v", err)
		}
		clearCredentials(cfg)
		cfg.Wrap(tokenSourceTransport(ts))

	case c.ClientCertificate != "" || c.Token != "":
		clearCredentials(cfg)
		if c.ClientCertificate != "" {
			cfg.CertData = []byte(c.ClientCertificate)
			cfg.KeyData = []byte(c.ClientKey)
		}
		cfg.BearerToken = c.Token
	}
	return nil
}

// clearCredentials removes every way cfg identifies the user.
func clearCredentials(cfg *rest.Config) {
	cfg.Username, cfg.Password = "", ""
	cfg.BearerToken, cfg.BearerTokenFile = "", ""
	cfg.AuthProvider, cfg.AuthConfigPersister = nil, nil
	cfg.ExecProvider = nil
	cfg.CertData, cfg.KeyData = nil, nil
	cfg.CertFile, cfg.KeyFile = "", ""
}

// tokenSourceTransport sends tokens of ts as bearer tokens, fetching a new
// one only when the cached one is about to expire or the server answered
// 401 to it.
func tokenSourceTransport(ts oauth2.TokenSource) transport.WrapperFunc {
	return transport.ResettableTokenSourceWrapTransport(transport.NewCachedTokenSource(ts))
}

// execProvider converts e to client-go's credential plugin configuration.
// Terraform runs plugins without a terminal, so they never prompt.
func (e *ExecConfig) execProvider() *clientcmdapi.ExecConfig {
	apiVersion := e.APIVersion
	if apiVersion == "" {
		apiVersion = DefaultExecAPIVersion
	}
	var env []clientcmdapi.ExecEnvVar
	for _, name := range slices.Sorted(maps.Keys(e.Env)) {
		env = append(env, clientcmdapi.ExecEnvVar{Name: name, Value: e.Env[name]})
	}
	return &clientcmdapi.ExecConfig{
		APIVersion:      apiVersion,
		Command:         e.Command,
		Args:            slices.Clone(e.Args),
		Env:             env,
		InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
	}
}

// tokenSource resolves the AWS configuration and region now, so that a
// missing region is reported as a configuration error rather than on the
// first request, and returns a source of EKS tokens.
func (e *EKSConfig) tokenSource(ctx context.Context) (oauth2.TokenSource, error) {
	load := e.AWSConfig
	if load == nil {
		load = func(ctx context.Context) (aws.Config, error) { return awsconfig.LoadDefaultConfig(ctx) }
	}
	cfg, err := load(ctx)
	if err != nil {
		return nil, configErrorf("eks", "Invalid AWS configuration", "loading the AWS configuration for EKS cluster %q: %v", e.ClusterName, err)
	}
	if e.Region != "" {
		cfg.Region = e.Region
	}
	if cfg.Region == "" {
		return nil, configErrorf("eks.region", "Missing AWS region",
			"no AWS region for EKS cluster %q; set eks.region (or AWS_REGION, or a region in the AWS profile)", e.ClusterName)
	}
	return &eksTokenSource{
		ctx:         context.WithoutCancel(ctx),
		cfg:         cfg,
		clusterName: e.ClusterName,
		roleARN:     e.RoleARN,
	}, nil
}

// eksToken makes one EKS token; a variable so tests can count the calls.
var eksToken = eks.Token

// eksTokenSource makes a new EKS token on every call; tokenSourceTransport
// caches them.
type eksTokenSource struct {
	ctx         context.Context
	cfg         aws.Config
	clusterName string
	roleARN     string
}

func (s *eksTokenSource) Token() (*oauth2.Token, error) {
	token, expires, err := eksToken(s.ctx, s.cfg, s.clusterName, s.roleARN)
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{
		AccessToken: token,
		TokenType:   "Bearer",
		Expiry:      expires.Add(-eksRefreshMargin),
	}, nil
}
