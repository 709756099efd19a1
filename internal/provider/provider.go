// Package provider translates between Terraform and spinops' backend
// packages (kube, cloud, bridge, spinnaker, backup). It holds no logic of its
// own beyond schemas, validation, and mapping values in and out.
package provider

import (
	"context"
	"os"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
)

var (
	_ provider.Provider                       = &spinopsProvider{}
	_ provider.ProviderWithEphemeralResources = &spinopsProvider{}
)

// New returns the provider factory providerserver.Serve expects.
func New(version string) func() provider.Provider {
	return func() provider.Provider {
		return &spinopsProvider{version: version, getenv: os.Getenv}
	}
}

type spinopsProvider struct {
	version string
	// getenv reads the environment variables that stand in for unset
	// provider arguments (os.Getenv; the settings functions take it as an
	// argument, so unit tests pass their own).
	getenv func(string) string
}

type providerModel struct {
	Kubernetes *providerKubernetesModel `tfsdk:"kubernetes"`
	Bridge     *bridgeModel             `tfsdk:"bridge"`
	AWS        *awsModel                `tfsdk:"aws"`
	GCP        *gcpModel                `tfsdk:"gcp"`
}

type bridgeModel struct {
	Address types.String    `tfsdk:"address"`
	Token   types.String    `tfsdk:"token"`
	TLS     *bridgeTLSModel `tfsdk:"tls"`
}

type bridgeTLSModel struct {
	CACertificate     types.String `tfsdk:"ca_certificate"`
	ClientCertificate types.String `tfsdk:"client_certificate"`
	ClientKey         types.String `tfsdk:"client_key"`
	ServerName        types.String `tfsdk:"server_name"`
	Insecure          types.Bool   `tfsdk:"insecure"`
}

type awsModel struct {
	Region     types.String        `tfsdk:"region"`
	Profile    types.String        `tfsdk:"profile"`
	AssumeRole *awsAssumeRoleModel `tfsdk:"assume_role"`
	Endpoints  *awsEndpointsModel  `tfsdk:"endpoints"`
}

type awsAssumeRoleModel struct {
	RoleARN     types.String `tfsdk:"role_arn"`
	ExternalID  types.String `tfsdk:"external_id"`
	SessionName types.String `tfsdk:"session_name"`
}

type awsEndpointsModel struct {
	IAM types.String `tfsdk:"iam"`
	STS types.String `tfsdk:"sts"`
	S3  types.String `tfsdk:"s3"`
	EC2 types.String `tfsdk:"ec2"`
	EKS types.String `tfsdk:"eks"`
}

type gcpModel struct {
	Project         types.String `tfsdk:"project"`
	Credentials     types.String `tfsdk:"credentials"`
	AccessToken     types.String `tfsdk:"access_token"`
	StorageEndpoint types.String `tfsdk:"storage_endpoint"`
}

func (p *spinopsProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "spinops"
	resp.Version = p.version
}

func (p *spinopsProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = providerSchema()
}

func providerSchema() schema.Schema {
	str := func(f field) schema.StringAttribute {
		return schema.StringAttribute{Optional: true, Sensitive: f.sensitive, MarkdownDescription: fieldDesc(f), Validators: f.validators}
	}
	urlValidators := []validator.String{validators.URL()}
	return schema.Schema{
		MarkdownDescription: "The spinops provider runs a production Spinnaker the way a managed-service SRE team would: " +
			"the install through its Kubernetes operator, red (sandbox) and green (production) zones with verified and promoted upgrades, " +
			"clusters attached through the spinops agent and bridge, IAM for deploying into AWS accounts, and backups with point-in-time recovery. " +
			"Every argument is optional and may come from an environment variable instead, so Terraform Cloud workspaces need no local files. " +
			"Clients are built on first use: a plan that touches no AWS needs no AWS credentials.",
		Blocks: map[string]schema.Block{
			"kubernetes": providerKubernetesBlock(),
			"bridge": schema.SingleNestedBlock{
				MarkdownDescription: "The spinops bridge's admin API (gRPC), used by `spinops_agent_account`.",
				Attributes: map[string]schema.Attribute{
					"address": str(field{env: envBridgeAddress, desc: "`host:port` of the bridge's gRPC listener."}),
					"token":   str(field{env: envBridgeToken, sensitive: true, desc: "The bridge's admin token."}),
				},
				Blocks: map[string]schema.Block{
					"tls": schema.SingleNestedBlock{
						MarkdownDescription: "TLS / mTLS towards the bridge. Without this block the connection is TLS with the system roots.",
						Attributes: map[string]schema.Attribute{
							"ca_certificate":     str(field{env: envBridgeCA, desc: "PEM CA bundle the bridge's certificate is verified against."}),
							"client_certificate": str(field{env: envBridgeClientCert, desc: "PEM client certificate (mTLS)."}),
							"client_key":         str(field{env: envBridgeClientKey, sensitive: true, desc: "PEM private key for `client_certificate`."}),
							"server_name":        str(field{env: envBridgeServerName, desc: "Server name to verify instead of the address's host."}),
							"insecure": schema.BoolAttribute{Optional: true, MarkdownDescription: fieldDesc(field{env: envBridgeInsecure,
								desc: "Use plaintext (no TLS). For local development only."})},
						},
					},
				},
			},
			"aws": schema.SingleNestedBlock{
				MarkdownDescription: "AWS access, used by `spinops_iam_source_role`, S3 backups and the `eks` token source. Unset values fall back to the AWS SDK's default chain (environment, shared config, IRSA, instance metadata).",
				Attributes: map[string]schema.Attribute{
					"region":  str(field{env: "AWS_REGION", desc: "The AWS region. `AWS_DEFAULT_REGION` is read too."}),
					"profile": str(field{env: "AWS_PROFILE", desc: "A shared-config profile."}),
				},
				Blocks: map[string]schema.Block{
					"assume_role": schema.SingleNestedBlock{
						MarkdownDescription: "A role to assume on top of the base credentials.",
						Attributes: map[string]schema.Attribute{
							"role_arn":     str(field{env: envAWSAssumeRoleARN, desc: "The role's ARN.", validators: []validator.String{validators.RoleARN()}}),
							"external_id":  str(field{env: envAWSAssumeRoleExternalID, desc: "The external id the role's trust policy requires."}),
							"session_name": str(field{env: envAWSAssumeRoleSession, desc: "The session name; defaults to `spinops`."}),
						},
					},
					"endpoints": schema.SingleNestedBlock{
						MarkdownDescription: "Service endpoint overrides (VPC endpoints, moto, LocalStack).",
						Attributes: map[string]schema.Attribute{
							"iam": schema.StringAttribute{Optional: true, Validators: urlValidators, MarkdownDescription: "IAM endpoint URL. Environment variable: `AWS_ENDPOINT_URL_IAM`."},
							"sts": schema.StringAttribute{Optional: true, Validators: urlValidators, MarkdownDescription: "STS endpoint URL. Environment variable: `AWS_ENDPOINT_URL_STS`."},
							"s3":  schema.StringAttribute{Optional: true, Validators: urlValidators, MarkdownDescription: "S3 endpoint URL (path-style addressing is used when set). Environment variable: `AWS_ENDPOINT_URL_S3`."},
							"ec2": schema.StringAttribute{Optional: true, Validators: urlValidators, MarkdownDescription: "EC2 endpoint URL. Environment variable: `AWS_ENDPOINT_URL_EC2`."},
							"eks": schema.StringAttribute{Optional: true, Validators: urlValidators, MarkdownDescription: "EKS endpoint URL. Environment variable: `AWS_ENDPOINT_URL_EKS`."},
						},
					},
				},
			},
			"gcp": schema.SingleNestedBlock{
				MarkdownDescription: "Google Cloud access, used by GCS backups and the `gke` token source. Unset credentials fall back to Application Default Credentials.",
				Attributes: map[string]schema.Attribute{
					"project":          str(field{env: envGCPProject, desc: "The project id. `GOOGLE_CLOUD_PROJECT` is read too."}),
					"credentials":      str(field{env: envGCPCredentials, sensitive: true, desc: "A service-account key: the JSON itself or a path to it. `GOOGLE_APPLICATION_CREDENTIALS` (a path) is read too."}),
					"access_token":     str(field{env: envGCPAccessToken, sensitive: true, desc: "A short-lived OAuth2 access token, used instead of `credentials`."}),
					"storage_endpoint": str(field{env: envGCPStorageEndpoint, desc: "Cloud Storage endpoint override (e.g. fake-gcs-server). `STORAGE_EMULATOR_HOST` is read too.", validators: urlValidators}),
				},
			},
		},
	}
}

func (p *spinopsProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var m providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// Values not known yet (a cluster endpoint another resource creates or
	// replaces in this apply) leave the block pending for this plan
	// (pending.go); Terraform configures the provider again, with them
	// known, for the apply.
	kubePending, bridgePending := unknownPaths(req.Config.Raw, "kubernetes"), unknownPaths(req.Config.Raw, "bridge")
	var conn kube.Connection
	if len(kubePending) == 0 {
		var diags diag.Diagnostics
		conn, diags = providerConnection(ctx, m.Kubernetes, p.getenv)
		resp.Diagnostics.Append(diags...)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	bridge := BridgeSettings{}
	if len(bridgePending) == 0 {
		bridge = bridgeSettingsFrom(m.Bridge, p.getenv)
	}
	data := newProviderData(p.version, conn, bridge, awsSettingsFrom(m.AWS, p.getenv), gcpSettingsFrom(m.GCP, p.getenv))
	data.kubePending, data.bridgePending = kubePending, bridgePending
	tflog.Debug(ctx, "configured spinops provider", map[string]any{
		"kubernetes_host": conn.Host, "kubernetes_config_path": conn.ConfigPath, "bridge_address": data.bridge.Address,
	})
	resp.DataSourceData = data
	resp.ResourceData = data
	resp.EphemeralResourceData = data
}

func (p *spinopsProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		newIAMSourceRoleResource,
		newManagedSpinnakerResource,
		newZoneResource,
		newBackupPolicyResource,
		newAgentAccountResource,
		newBridgeResource,
		newMonitorResource,
	}
}

func (p *spinopsProvider) EphemeralResources(_ context.Context) []func() ephemeral.EphemeralResource {
	return []func() ephemeral.EphemeralResource{
		newAgentCredentialEphemeral,
	}
}

func (p *spinopsProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		newKubernetesClusterDataSource,
		newIAMManagedRolePolicyDataSource,
		newBackupsDataSource,
		newAgentAccountsDataSource,
		newZoneSLODataSource,
	}
}
