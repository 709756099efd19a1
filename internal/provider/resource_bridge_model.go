package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	corev1 "k8s.io/api/core/v1"

	"github.com/spinops/terraform-provider-spinops/internal/bridgeinstall"
)

// bridgeResourceModel is spinops_bridge (bridgeModel is the provider's
// `bridge` block).
type bridgeResourceModel struct {
	ID                  types.String     `tfsdk:"id"`
	Name                types.String     `tfsdk:"name"`
	Namespace           types.String     `tfsdk:"namespace"`
	Image               types.String     `tfsdk:"image"`
	Replicas            types.Int64      `tfsdk:"replicas"`
	AdminTokenWO        types.String     `tfsdk:"admin_token_wo"`
	AdminTokenWOVersion types.Int64      `tfsdk:"admin_token_wo_version"`
	ExternalAddress     types.String     `tfsdk:"external_address"`
	DNSNames            types.List       `tfsdk:"dns_names"`
	SpinnakerNamespace  types.String     `tfsdk:"spinnaker_namespace"`
	GracePeriod         types.String     `tfsdk:"grace_period"`
	RefreshAccountRate  types.Float64    `tfsdk:"refresh_account_rate"`
	RefreshAccountBurst types.Int64      `tfsdk:"refresh_account_burst"`
	RefreshGlobalRate   types.Float64    `tfsdk:"refresh_global_rate"`
	RefreshGlobalBurst  types.Int64      `tfsdk:"refresh_global_burst"`
	GRPCAllowedCIDRs    types.List       `tfsdk:"grpc_allowed_cidrs"`
	MetricsNamespaces   types.List       `tfsdk:"metrics_namespaces"`
	HealthCheckCIDRs    types.List       `tfsdk:"health_check_cidrs"`
	AWSTargetGroupARN   types.String     `tfsdk:"aws_target_group_arn"`
	Requests            types.Map        `tfsdk:"requests"`
	Limits              types.Map        `tfsdk:"limits"`
	Wait                types.Bool       `tfsdk:"wait"`
	Address             types.String     `tfsdk:"address"`
	EndpointURL         types.String     `tfsdk:"endpoint_url"`
	CACertificate       types.String     `tfsdk:"ca_certificate"`
	DriftedObjects      types.List       `tfsdk:"drifted_objects"`
	TLSSecret           types.String     `tfsdk:"tls_secret"`
	KeysSecret          types.String     `tfsdk:"keys_secret"`
	Kubernetes          *kubernetesModel `tfsdk:"kubernetes"`
	Storage             *bridgeStorage   `tfsdk:"storage"`
	MySQL               *bridgeMySQL     `tfsdk:"mysql"`
	TLS                 *bridgeTLS       `tfsdk:"tls"`
	GRPCService         *bridgeGRPCSvc   `tfsdk:"grpc_service"`
	Timeouts            timeouts.Value   `tfsdk:"timeouts"`
}

type bridgeStorage struct {
	Size         types.String `tfsdk:"size"`
	StorageClass types.String `tfsdk:"storage_class"`
}

type bridgeMySQL struct {
	DSNSecretName types.String `tfsdk:"dsn_secret_name"`
	DSNSecretKey  types.String `tfsdk:"dsn_secret_key"`
}

type bridgeGRPCSvc struct {
	Type           types.String `tfsdk:"type"`
	Port           types.Int64  `tfsdk:"port"`
	LoadBalancerIP types.String `tfsdk:"load_balancer_ip"`
	SourceRanges   types.List   `tfsdk:"source_ranges"`
	Annotations    types.Map    `tfsdk:"annotations"`
}

type bridgeTLS struct {
	SecretName            types.String `tfsdk:"secret_name"`
	CertManagerIssuer     types.String `tfsdk:"cert_manager_issuer"`
	CertManagerIssuerKind types.String `tfsdk:"cert_manager_issuer_kind"`
	Generate              types.Bool   `tfsdk:"generate"`
}

// mysqlSet reports whether the mysql block says anything (an empty single
// nested block is an object of nulls, not null).
func (m *bridgeResourceModel) mysqlSet() bool {
	return m.MySQL != nil && !m.MySQL.DSNSecretName.IsNull()
}

// install is the bridge as bridgeinstall renders it.
func (m *bridgeResourceModel) install(ctx context.Context, diags *diag.Diagnostics) *bridgeinstall.Install {
	in := &bridgeinstall.Install{
		Name: m.Name.ValueString(), Namespace: m.Namespace.ValueString(), Image: m.Image.ValueString(),
		Replicas: int32(m.Replicas.ValueInt64()), ExternalAddress: m.ExternalAddress.ValueString(),
		SpinnakerNamespace: m.SpinnakerNamespace.ValueString(),
	}
	if d, err := time.ParseDuration(m.GracePeriod.ValueString()); err == nil {
		in.GracePeriod = d
	}
	in.Refresh = bridgeinstall.RefreshBounds{AccountRate: m.RefreshAccountRate.ValueFloat64(), AccountBurst: m.RefreshAccountBurst.ValueInt64(),
		GlobalRate: m.RefreshGlobalRate.ValueFloat64(), GlobalBurst: m.RefreshGlobalBurst.ValueInt64()}
	diags.Append(m.DNSNames.ElementsAs(ctx, &in.DNSNames, true)...)
	diags.Append(m.GRPCAllowedCIDRs.ElementsAs(ctx, &in.GRPCAllowedCIDRs, true)...)
	diags.Append(m.MetricsNamespaces.ElementsAs(ctx, &in.MetricsNamespaces, true)...)
	diags.Append(m.HealthCheckCIDRs.ElementsAs(ctx, &in.HealthCheckCIDRs, true)...)
	in.AWSTargetGroupARN = m.AWSTargetGroupARN.ValueString()
	in.Resources = corev1.ResourceRequirements{
		Requests: quantities(ctx, m.Requests, path.Root("requests"), diags),
		Limits:   quantities(ctx, m.Limits, path.Root("limits"), diags),
	}
	if g := m.GRPCService; g != nil {
		in.GRPCService = bridgeinstall.GRPCService{Type: g.Type.ValueString(), Port: int32(g.Port.ValueInt64()), LoadBalancerIP: g.LoadBalancerIP.ValueString()}
		diags.Append(g.SourceRanges.ElementsAs(ctx, &in.GRPCService.SourceRanges, true)...)
		diags.Append(g.Annotations.ElementsAs(ctx, &in.GRPCService.Annotations, true)...)
	}
	if m.Storage != nil {
		in.StorageSize, in.StorageClass = m.Storage.Size.ValueString(), m.Storage.StorageClass.ValueString()
	}
	if m.mysqlSet() {
		key := m.MySQL.DSNSecretKey.ValueString()
		if key == "" {
			key = "dsn"
		}
		in.MySQL = &bridgeinstall.MySQL{SecretName: m.MySQL.DSNSecretName.ValueString(), SecretKey: key}
	}
	switch t := m.TLS; {
	case t == nil || (t.SecretName.IsNull() && t.CertManagerIssuer.IsNull() && !t.Generate.ValueBool()):
		in.TLS.Generate = true
	default:
		in.TLS.SecretName = t.SecretName.ValueString()
		in.TLS.IssuerName = t.CertManagerIssuer.ValueString()
		if in.TLS.IssuerName != "" {
			in.TLS.IssuerKind = t.CertManagerIssuerKind.ValueString()
			if in.TLS.IssuerKind == "" {
				in.TLS.IssuerKind = "Issuer"
			}
		}
		in.TLS.Generate = t.Generate.ValueBool()
	}
	return in
}

// known reports whether every value install reads is known (a plan-time
// check runs only then).
func (m *bridgeResourceModel) known() bool {
	for _, v := range []interface{ IsUnknown() bool }{m.Name, m.Namespace, m.Image, m.Replicas, m.ExternalAddress, m.DNSNames,
		m.SpinnakerNamespace, m.GracePeriod, m.RefreshAccountRate, m.RefreshAccountBurst, m.RefreshGlobalRate, m.RefreshGlobalBurst, m.GRPCAllowedCIDRs, m.MetricsNamespaces, m.HealthCheckCIDRs, m.AWSTargetGroupARN, m.Requests, m.Limits} {
		if v.IsUnknown() {
			return false
		}
	}
	if m.MySQL != nil && (m.MySQL.DSNSecretName.IsUnknown() || m.MySQL.DSNSecretKey.IsUnknown()) {
		return false
	}
	if g := m.GRPCService; g != nil && (g.Type.IsUnknown() || g.Port.IsUnknown() || g.LoadBalancerIP.IsUnknown() || g.SourceRanges.IsUnknown() || g.Annotations.IsUnknown()) {
		return false
	}
	if m.TLS != nil && (m.TLS.SecretName.IsUnknown() || m.TLS.CertManagerIssuer.IsUnknown() || m.TLS.Generate.IsUnknown()) {
		return false
	}
	return true
}

// setComputed fills what the install decides.
func (m *bridgeResourceModel) setComputed(in *bridgeinstall.Install) {
	m.ID = types.StringValue(in.Namespace + "/" + in.Name)
	m.Address = types.StringValue(in.Address())
	m.EndpointURL = types.StringValue(in.EndpointURL())
	m.TLSSecret = types.StringValue(in.TLSSecret())
	m.KeysSecret = types.StringValue(in.KeysSecret())
}
