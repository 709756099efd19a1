package provider

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/client-go/rest"

	"github.com/spinops/terraform-provider-spinops/internal/attach"
	awscloud "github.com/spinops/terraform-provider-spinops/internal/cloud/aws"
	"github.com/spinops/terraform-provider-spinops/internal/kube"
)

// Environment variables of the bridge, aws and gcp blocks.
const (
	envBridgeAddress    = "SPINOPS_BRIDGE_ADDRESS"
	envBridgeToken      = "SPINOPS_BRIDGE_TOKEN"
	envBridgeCA         = "SPINOPS_BRIDGE_CA_CERTIFICATE"
	envBridgeClientCert = "SPINOPS_BRIDGE_CLIENT_CERTIFICATE"
	envBridgeClientKey  = "SPINOPS_BRIDGE_CLIENT_KEY"
	envBridgeServerName = "SPINOPS_BRIDGE_SERVER_NAME"
	envBridgeInsecure   = "SPINOPS_BRIDGE_INSECURE"

	envAWSAssumeRoleARN        = "SPINOPS_AWS_ASSUME_ROLE_ARN"
	envAWSAssumeRoleExternalID = "SPINOPS_AWS_ASSUME_ROLE_EXTERNAL_ID"
	envAWSAssumeRoleSession    = "SPINOPS_AWS_ASSUME_ROLE_SESSION_NAME"

	envGCPProject         = "GOOGLE_PROJECT"
	envGCPCredentials     = "GOOGLE_CREDENTIALS"
	envGCPAccessToken     = "GOOGLE_OAUTH_ACCESS_TOKEN"
	envGCPStorageEndpoint = "SPINOPS_GCP_STORAGE_ENDPOINT"
)

// BridgeSettings is where the bridge's admin API is and how to
// authenticate: the backend's own settings type.
type BridgeSettings = attach.Settings

// GCPSettings is the resolved `gcp` block.
type GCPSettings struct {
	Project         string
	Credentials     string // JSON content (a path is read at configure time)
	AccessToken     string
	StorageEndpoint string
	// CredentialsErr is set when `credentials` looked like a path that could
	// not be read; it is reported by the first object that needs Google.
	CredentialsErr error
}

// providerData is what Configure hands every resource and data source. It
// holds settings, not clients: each client is built on first use, so a
// missing setting is reported only by the object that needs it.
type providerData struct {
	version string
	kube    kube.Connection
	bridge  BridgeSettings
	aws     awscloud.Settings
	gcp     GCPSettings
	now     func() time.Time

	// kubePending and bridgePending are the attributes of the provider's
	// kubernetes and bridge blocks not known yet in this plan (pending.go).
	kubePending, bridgePending []string

	awsOnce sync.Once
	awsCfg  aws.Config
	awsErr  error
}

func newProviderData(version string, k kube.Connection, b BridgeSettings, a awscloud.Settings, g GCPSettings) *providerData {
	d := &providerData{version: version, kube: k, bridge: b, aws: a, gcp: g, now: time.Now}
	if d.kube.EKS != nil {
		d.kube.EKS.AWSConfig = d.awsConfig
	}
	d.wireGKE(&d.kube)
	return d
}

// awsConfig builds the AWS SDK configuration once, on first use.
func (d *providerData) awsConfig(ctx context.Context) (aws.Config, error) {
	d.awsOnce.Do(func() {
		d.awsCfg, d.awsErr = awscloud.LoadConfig(ctx, d.aws)
	})
	return d.awsCfg, d.awsErr
}

func (d *providerData) wireGKE(c *kube.Connection) {
	if c.GKE != nil {
		c.GKE.Credentials = d.gcp.Credentials
		c.GKE.AccessToken = d.gcp.AccessToken
	}
}

// restConfig resolves the connection an object uses: its own `kubernetes`
// block when it has one (reported at that block's path), else the
// provider's default.
// userAgent is what the provider's requests to API servers say they are.
func (d *providerData) userAgent() string { return "terraform-provider-spinops/" + d.version }

func (d *providerData) restConfig(ctx context.Context, override *kubernetesModel, overridePath path.Path) (*rest.Config, diag.Diagnostics) {
	conn, base := d.kube, (*path.Path)(nil)
	var diags diag.Diagnostics
	if !override.isSet() && len(d.kubePending) > 0 {
		pendingError(&diags, "Kubernetes connection not known yet", d.kubePending)
		return nil, diags
	}
	if override.isSet() {
		conn, diags = override.connection(ctx)
		if diags.HasError() {
			return nil, diags
		}
		if conn.EKS != nil {
			conn.EKS.AWSConfig = d.awsConfig
		}
		d.wireGKE(&conn)
		base = &overridePath
	}
	if conn.GKE != nil && d.gcp.CredentialsErr != nil {
		diags.AddError("Invalid Google credentials", d.gcp.CredentialsErr.Error())
		return nil, diags
	}
	conn.UserAgent = d.userAgent()
	cfg, more := restConfigDiags(ctx, conn, base)
	diags.Append(more...)
	return cfg, diags
}

// bridgeSettings returns the bridge settings, or an error naming the
// attribute and environment variable that would supply the address.
func (d *providerData) bridgeSettings() (BridgeSettings, error) {
	if len(d.bridgePending) > 0 {
		return d.bridge, fmt.Errorf("%s: this has to reach the bridge during the plan. Apply what the bridge block depends on first "+
			"(terraform apply -target=<that resource>), then plan again", pendingText(d.bridgePending))
	}
	if d.bridge.Address == "" {
		return d.bridge, fmt.Errorf("the provider's bridge.address is not set: set it in the provider block or with the environment variable %s", envBridgeAddress)
	}
	return d.bridge, nil
}

func strOr(v types.String, getenv func(string) string, envs ...string) string {
	if s := v.ValueString(); s != "" {
		return s
	}
	for _, e := range envs {
		if s := getenv(e); s != "" {
			return s
		}
	}
	return ""
}

func bridgeSettingsFrom(m *bridgeModel, getenv func(string) string) BridgeSettings {
	if m == nil {
		m = &bridgeModel{}
	}
	t := m.TLS
	if t == nil {
		t = &bridgeTLSModel{}
	}
	return BridgeSettings{
		Address:           strOr(m.Address, getenv, envBridgeAddress),
		Token:             strOr(m.Token, getenv, envBridgeToken),
		CACertificate:     strOr(t.CACertificate, getenv, envBridgeCA),
		ClientCertificate: strOr(t.ClientCertificate, getenv, envBridgeClientCert),
		ClientKey:         strOr(t.ClientKey, getenv, envBridgeClientKey),
		ServerName:        strOr(t.ServerName, getenv, envBridgeServerName),
		Insecure:          t.Insecure.ValueBool() || isTrue(getenv(envBridgeInsecure)),
	}
}

func awsSettingsFrom(m *awsModel, getenv func(string) string) awscloud.Settings {
	if m == nil {
		m = &awsModel{}
	}
	s := awscloud.Settings{
		Region:  strOr(m.Region, getenv, "AWS_REGION", "AWS_DEFAULT_REGION"),
		Profile: strOr(m.Profile, getenv, "AWS_PROFILE"),
	}
	ar := m.AssumeRole
	if ar == nil {
		ar = &awsAssumeRoleModel{}
	}
	if arn := strOr(ar.RoleARN, getenv, envAWSAssumeRoleARN); arn != "" {
		s.AssumeRole = &awscloud.AssumeRole{
			RoleARN:     arn,
			ExternalID:  strOr(ar.ExternalID, getenv, envAWSAssumeRoleExternalID),
			SessionName: strOr(ar.SessionName, getenv, envAWSAssumeRoleSession),
		}
	}
	e := m.Endpoints
	if e == nil {
		e = &awsEndpointsModel{}
	}
	s.Endpoints = awscloud.Endpoints{
		IAM: strOr(e.IAM, getenv, "AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL"),
		STS: strOr(e.STS, getenv, "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"),
		S3:  strOr(e.S3, getenv, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
		EC2: strOr(e.EC2, getenv, "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL"),
		EKS: strOr(e.EKS, getenv, "AWS_ENDPOINT_URL_EKS", "AWS_ENDPOINT_URL"),
	}
	return s
}

func gcpSettingsFrom(m *gcpModel, getenv func(string) string) GCPSettings {
	if m == nil {
		m = &gcpModel{}
	}
	g := GCPSettings{
		Project:         strOr(m.Project, getenv, envGCPProject, "GOOGLE_CLOUD_PROJECT"),
		Credentials:     strOr(m.Credentials, getenv, envGCPCredentials, "GOOGLE_APPLICATION_CREDENTIALS"),
		AccessToken:     strOr(m.AccessToken, getenv, envGCPAccessToken),
		StorageEndpoint: strOr(m.StorageEndpoint, getenv, envGCPStorageEndpoint),
	}
	if g.StorageEndpoint == "" {
		if h := getenv("STORAGE_EMULATOR_HOST"); h != "" {
			if !strings.Contains(h, "://") {
				h = "http://" + h
			}
			g.StorageEndpoint = h
		}
	}
	// credentials may be a path to the key file rather than its content.
	if g.Credentials != "" && !strings.HasPrefix(strings.TrimSpace(g.Credentials), "{") {
		b, err := os.ReadFile(g.Credentials)
		if err != nil {
			g.CredentialsErr = fmt.Errorf("gcp.credentials (or %s / GOOGLE_APPLICATION_CREDENTIALS) is neither a JSON key nor a readable file: %w", envGCPCredentials, err)
			g.Credentials = ""
		} else {
			g.Credentials = string(b)
		}
	}
	return g
}

// providerDataFrom is what every resource's and data source's Configure
// does: take the provider's data, or report a provider bug. Before the
// provider is configured (validation), pd is nil and so is the result.
func providerDataFrom(pd any) (*providerData, diag.Diagnostics) {
	var diags diag.Diagnostics
	if pd == nil {
		return nil, diags
	}
	data, ok := pd.(*providerData)
	if !ok {
		diags.AddError("Unexpected provider data", fmt.Sprintf("expected *providerData, got %T; this is a bug in the provider", pd))
	}
	return data, diags
}
