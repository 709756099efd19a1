package provider

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/spinops/terraform-provider-spinops/internal/attach"
	"github.com/spinops/terraform-provider-spinops/internal/backup"
	awscloud "github.com/spinops/terraform-provider-spinops/internal/cloud/aws"
	"github.com/spinops/terraform-provider-spinops/internal/cloud/gcs"
	"github.com/spinops/terraform-provider-spinops/internal/kube"
)

// The backend clients, each built in one place from the provider's
// settings (providerData): Kubernetes API servers, the bridge's admin API,
// AWS IAM and backup stores.

// kubeClient resolves an object's connection (its own block at p, or the
// provider's) and builds a client.
func kubeClient(ctx context.Context, data *providerData, override *kubernetesModel, p path.Path) (*kube.Client, diag.Diagnostics) {
	cfg, diags := data.restConfig(ctx, override, p)
	if diags.HasError() {
		return nil, diags
	}
	c, err := kube.NewClient(cfg)
	if err != nil {
		diags.AddError("Invalid Kubernetes connection", err.Error())
	}
	return c, diags
}

// kubeClientAt is kubeClient adding its diagnostics to diags; nil when it
// failed.
func kubeClientAt(ctx context.Context, data *providerData, override *kubernetesModel, p path.Path, diags *diag.Diagnostics) *kube.Client {
	c, d := kubeClient(ctx, data, override, p)
	diags.Append(d...)
	if d.HasError() {
		return nil
	}
	return c
}

// bridgeAdmin is a client of the bridge's admin API (the caller closes
// it); nil, with a diagnostic, when the bridge settings are missing or bad.
func bridgeAdmin(data *providerData, diags *diag.Diagnostics) *attach.Admin {
	s, err := data.bridgeSettings()
	if err != nil {
		summary := "No bridge configured"
		if len(data.bridgePending) > 0 {
			summary = "Bridge not known yet"
		}
		diags.AddError(summary, err.Error())
		return nil
	}
	a, err := attach.Dial(s)
	if err != nil {
		diags.AddError("Invalid bridge settings", err.Error())
		return nil
	}
	return a
}

// iamClient is an IAM client with the provider's AWS settings.
func iamClient(ctx context.Context, data *providerData) (*awscloud.IAMClient, error) {
	if data == nil {
		return nil, errors.New("the provider is not configured; this is a bug in the provider")
	}
	cfg, err := data.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	return awscloud.NewIAMClient(cfg, data.aws.Endpoints), nil
}

// listBackups opens a destination with the provider's cloud settings.
func listBackups(ctx context.Context, data *providerData, sc backup.StoreConfig) (*backup.Listing, error) {
	if data.gcp.CredentialsErr != nil && strings.HasPrefix(sc.URL, "gs://") {
		return nil, data.gcp.CredentialsErr
	}
	clients := backup.Clients{
		AWSConfig:    data.awsConfig,
		AWSEndpoints: data.aws.Endpoints,
		GCS:          gcs.StorageSettings{Endpoint: data.gcp.StorageEndpoint, Credentials: data.gcp.Credentials, AccessToken: data.gcp.AccessToken},
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	st, err := clients.Open(ctx, sc)
	if err != nil {
		return nil, err
	}
	return backup.List(ctx, st)
}
