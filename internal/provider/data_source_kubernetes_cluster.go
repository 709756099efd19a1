package provider

import (
	"context"
	"fmt"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
)

var (
	_ datasource.DataSource              = &kubernetesClusterDataSource{}
	_ datasource.DataSourceWithConfigure = &kubernetesClusterDataSource{}
)

func newKubernetesClusterDataSource() datasource.DataSource {
	return &kubernetesClusterDataSource{}
}

type kubernetesClusterDataSource struct {
	data *providerData
}

type kubernetesClusterModel struct {
	Kubernetes         *kubernetesModel `tfsdk:"kubernetes"`
	Namespace          types.String     `tfsdk:"namespace"`
	ID                 types.String     `tfsdk:"id"`
	Host               types.String     `tfsdk:"host"`
	ServerVersion      types.String     `tfsdk:"server_version"`
	Platform           types.String     `tfsdk:"platform"`
	CAFingerprint      types.String     `tfsdk:"ca_fingerprint_sha256"`
	Permissions        types.Map        `tfsdk:"permissions"`
	MissingPermissions types.List       `tfsdk:"missing_permissions"`
	ReadyForInstall    types.Bool       `tfsdk:"ready_for_install"`
}

func (d *kubernetesClusterDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_kubernetes_cluster"
}

func (d *kubernetesClusterDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The preflight a platform team runs before installing Spinnaker on a cluster: which Kubernetes it is, " +
			"how to pin its identity (the CA certificate's SHA-256 fingerprint), and whether the credentials may create what an install needs " +
			"(Namespaces, Deployments, Secrets, CustomResourceDefinitions and ClusterRoles), checked with SelfSubjectAccessReview.",
		Attributes: map[string]schema.Attribute{
			"namespace": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Check the namespaced permissions (Deployments, Secrets) in this namespace instead of cluster-wide.",
			},
			"id":             schema.StringAttribute{Computed: true, MarkdownDescription: "The API server URL."},
			"host":           schema.StringAttribute{Computed: true, MarkdownDescription: "The API server URL the connection resolved to."},
			"server_version": schema.StringAttribute{Computed: true, MarkdownDescription: "The API server's version, e.g. `v1.37.2`."},
			"platform":       schema.StringAttribute{Computed: true, MarkdownDescription: "The API server's platform, e.g. `linux/amd64`."},
			"ca_fingerprint_sha256": schema.StringAttribute{Computed: true, MarkdownDescription: "Lowercase hex SHA-256 of the cluster CA certificate (DER), " +
				"as `openssl x509 -in ca.crt -outform DER | sha256sum` prints it. Without a configured CA, the top-most certificate the server presents."},
			"permissions": schema.MapAttribute{Computed: true, ElementType: types.BoolType, MarkdownDescription: "Whether the credentials may create each of: " +
				"`namespaces`, `deployments`, `secrets`, `customresourcedefinitions`, `clusterroles`."},
			"missing_permissions": schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "The keys of `permissions` that are false, sorted."},
			"ready_for_install":   schema.BoolAttribute{Computed: true, MarkdownDescription: "True when every permission an install needs is granted."},
		},
		Blocks: map[string]schema.Block{
			"kubernetes": dataSourceKubernetesBlock(),
		},
	}
}

func (d *kubernetesClusterDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	var diags diag.Diagnostics
	d.data, diags = providerDataFrom(req.ProviderData)
	resp.Diagnostics.Append(diags...)
}

func (d *kubernetesClusterDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m kubernetesClusterModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cfg, diags := d.data.restConfig(ctx, m.Kubernetes, path.Root("kubernetes"))
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	tflog.Debug(ctx, "reading Kubernetes cluster", map[string]any{"host": cfg.Host, "namespace": m.Namespace.ValueString()})
	res, err := kube.Preflight(ctx, cfg, m.Namespace.ValueString())
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("reading Kubernetes cluster (%s)", cfg.Host), err.Error())
		return
	}

	m.ID = types.StringValue(res.Host)
	m.Host = types.StringValue(res.Host)
	m.ServerVersion = types.StringValue(res.ServerVersion)
	m.Platform = types.StringValue(res.Platform)
	m.CAFingerprint = types.StringValue(res.CAFingerprintSHA256)
	perms, diags := types.MapValueFrom(ctx, types.BoolType, res.Permissions)
	resp.Diagnostics.Append(diags...)
	m.Permissions = perms
	missing := append([]string{}, res.Missing...)
	sort.Strings(missing)
	list, diags := types.ListValueFrom(ctx, types.StringType, missing)
	resp.Diagnostics.Append(diags...)
	m.MissingPermissions = list
	m.ReadyForInstall = types.BoolValue(res.ReadyForInstall)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
