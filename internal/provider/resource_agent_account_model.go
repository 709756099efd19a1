package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	corev1 "k8s.io/api/core/v1"
	k8sresource "k8s.io/apimachinery/pkg/api/resource"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/attach"
)

type agentAccountModel struct {
	ID                      types.String                `tfsdk:"id"`
	Name                    types.String                `tfsdk:"name"`
	Mode                    types.String                `tfsdk:"mode"`
	Kinds                   types.List                  `tfsdk:"kinds"`
	OmitKinds               types.List                  `tfsdk:"omit_kinds"`
	Namespaces              types.List                  `tfsdk:"namespaces"`
	OmitNamespaces          types.List                  `tfsdk:"omit_namespaces"`
	OnlyNamespacedResources types.Bool                  `tfsdk:"only_namespaced_resources"`
	Permissions             *agentPermissionsModel      `tfsdk:"permissions"`
	GracePeriod             types.String                `tfsdk:"grace_period"`
	ClientIdentity          types.String                `tfsdk:"client_identity"`
	WaitForSync             types.Bool                  `tfsdk:"wait_for_sync"`
	CredentialRotation      types.String                `tfsdk:"credential_rotation"`
	InstallAgent            *agentInstallModel          `tfsdk:"install_agent"`
	CredentialSecret        *agentCredentialSecretModel `tfsdk:"credential_secret"`
	Spinnaker               *agentSpinnakerModel        `tfsdk:"spinnaker"`
	Timeouts                timeouts.Value              `tfsdk:"timeouts"`

	Status                    types.String `tfsdk:"status"`
	AgentID                   types.String `tfsdk:"agent_id"`
	KubernetesVersion         types.String `tfsdk:"kubernetes_version"`
	APIServerFingerprint      types.String `tfsdk:"api_server_fingerprint"`
	Objects                   types.Map    `tfsdk:"objects"`
	LastHeartbeat             types.String `tfsdk:"last_heartbeat"`
	Endpoint                  types.String `tfsdk:"endpoint"`
	AgentInstalled            types.Bool   `tfsdk:"agent_installed"`
	SpinnakerAccountInstalled types.Bool   `tfsdk:"spinnaker_account_installed"`
	DriftedObjects            types.List   `tfsdk:"drifted_objects"`
}

type agentPermissionsModel struct {
	Read  types.List `tfsdk:"read"`
	Write types.List `tfsdk:"write"`
}

type agentInstallModel struct {
	Kubernetes       *kubernetesModel       `tfsdk:"kubernetes"`
	Namespace        types.String           `tfsdk:"namespace"`
	Image            types.String           `tfsdk:"image"`
	Replicas         types.Int64            `tfsdk:"replicas"`
	Requests         types.Map              `tfsdk:"requests"`
	Limits           types.Map              `tfsdk:"limits"`
	NodeSelector     types.Map              `tfsdk:"node_selector"`
	Tolerations      []agentTolerationModel `tfsdk:"toleration"`
	BridgeAddress    types.String           `tfsdk:"bridge_address"`
	BridgeServerName types.String           `tfsdk:"bridge_server_name"`
}

type agentTolerationModel struct {
	Key               types.String `tfsdk:"key"`
	Operator          types.String `tfsdk:"operator"`
	Value             types.String `tfsdk:"value"`
	Effect            types.String `tfsdk:"effect"`
	TolerationSeconds types.Int64  `tfsdk:"toleration_seconds"`
}

type agentCredentialSecretModel struct {
	Kubernetes *kubernetesModel `tfsdk:"kubernetes"`
	Namespace  types.String     `tfsdk:"namespace"`
	Name       types.String     `tfsdk:"name"`
}

type agentSpinnakerModel struct {
	Kubernetes           *kubernetesModel `tfsdk:"kubernetes"`
	Namespace            types.String     `tfsdk:"namespace"`
	ClouddriverURL       types.String     `tfsdk:"clouddriver_url"`
	CacheIntervalSeconds types.Int64      `tfsdk:"cache_interval_seconds"`
}

// clouddriverURL is where the bridge pushes re-cache requests: the
// attribute (set, or resolved from the SpinnakerService by
// resolveClouddriverURL), else the spin-clouddriver Service in Spinnaker's
// namespace (port 7002); "" turns pushes off.
func (m *agentSpinnakerModel) clouddriverURL() string {
	if m == nil || m.Namespace.IsNull() || m.Namespace.IsUnknown() {
		return ""
	}
	if !m.ClouddriverURL.IsNull() && !m.ClouddriverURL.IsUnknown() {
		return m.ClouddriverURL.ValueString()
	}
	return "http://spin-clouddriver." + m.Namespace.ValueString() + ":7002"
}

var agentModes = map[string]bridgev1.Mode{
	"agent":             bridgev1.Mode_MODE_AGENT,
	"infrastructure":    bridgev1.Mode_MODE_INFRASTRUCTURE,
	"spinnaker_service": bridgev1.Mode_MODE_SPINNAKER_SERVICE,
}

func modeName(m bridgev1.Mode) string {
	for k, v := range agentModes {
		if v == m {
			return k
		}
	}
	return "agent"
}

func listStrings(ctx context.Context, l types.List, diags *diag.Diagnostics) []string {
	if l.IsNull() || l.IsUnknown() {
		return nil
	}
	var out []string
	diags.Append(l.ElementsAs(ctx, &out, false)...)
	return out
}

func (m *agentAccountModel) spec(ctx context.Context, diags *diag.Diagnostics) *bridgev1.AccountSpec {
	s := &bridgev1.AccountSpec{
		Name:                    m.Name.ValueString(),
		Kinds:                   listStrings(ctx, m.Kinds, diags),
		OmitKinds:               listStrings(ctx, m.OmitKinds, diags),
		Namespaces:              listStrings(ctx, m.Namespaces, diags),
		OmitNamespaces:          listStrings(ctx, m.OmitNamespaces, diags),
		OnlyNamespacedResources: m.OnlyNamespacedResources.ValueBool(),
		Mode:                    agentModes[m.Mode.ValueString()],
		ClientIdentity:          m.ClientIdentity.ValueString(),
		Permissions:             &bridgev1.Permissions{},
		ClouddriverUrl:          m.Spinnaker.clouddriverURL(),
	}
	if m.Permissions != nil {
		s.Permissions.Read = listStrings(ctx, m.Permissions.Read, diags)
		s.Permissions.Write = listStrings(ctx, m.Permissions.Write, diags)
	}
	if g := m.GracePeriod.ValueString(); g != "" {
		d, err := time.ParseDuration(g)
		if err != nil {
			diags.AddAttributeError(path.Root("grace_period"), "Invalid grace_period", err.Error())
		}
		s.GracePeriodSeconds = int64(d.Round(time.Second) / time.Second)
	}
	return s
}

// clusters are the connections of the clusters the account's parts live
// in (each part's own kubernetes block, or nil: the provider's).
func (m *agentAccountModel) clusters() []*kubernetesModel {
	var out []*kubernetesModel
	if m.InstallAgent != nil {
		out = append(out, m.InstallAgent.Kubernetes)
	}
	if m.CredentialSecret != nil {
		out = append(out, m.CredentialSecret.Kubernetes)
	}
	if m.Spinnaker != nil {
		out = append(out, m.Spinnaker.Kubernetes)
	}
	return out
}

func (m *agentAccountModel) waits() bool {
	if !m.WaitForSync.IsNull() && !m.WaitForSync.IsUnknown() {
		return m.WaitForSync.ValueBool()
	}
	return m.InstallAgent != nil || m.CredentialSecret != nil
}

func (r *agentAccountResource) bridgeEndpoint(in *agentInstallModel) (attach.BridgeEndpoint, error) {
	s, err := r.data.bridgeSettings()
	if err != nil {
		return attach.BridgeEndpoint{}, err
	}
	ep := attach.BridgeEndpoint{Address: s.Address, CAPEM: s.CACertificate, ServerName: s.ServerName, Insecure: s.Insecure}
	if in != nil {
		if a := in.BridgeAddress.ValueString(); a != "" {
			ep.Address = a
		}
		if n := in.BridgeServerName.ValueString(); n != "" {
			ep.ServerName = n
		}
	}
	return ep, nil
}

func (r *agentAccountResource) install(ctx context.Context, m *agentAccountModel, spec *bridgev1.AccountSpec, diags *diag.Diagnostics) *attach.AgentInstall {
	in := m.InstallAgent
	if in == nil {
		return nil
	}
	ep, err := r.bridgeEndpoint(in)
	if err != nil {
		diags.AddAttributeError(path.Root("install_agent"), "No bridge address for the agent", err.Error())
		return nil
	}
	out := &attach.AgentInstall{
		Account: spec.GetName(), Namespace: in.Namespace.ValueString(), Image: in.Image.ValueString(), Replicas: int32(in.Replicas.ValueInt64()),
		Bridge: ep, Filter: attach.FilterOf(spec),
	}
	out.Resources.Requests = quantities(ctx, in.Requests, path.Root("install_agent").AtName("requests"), diags)
	out.Resources.Limits = quantities(ctx, in.Limits, path.Root("install_agent").AtName("limits"), diags)
	if !in.NodeSelector.IsNull() {
		diags.Append(in.NodeSelector.ElementsAs(ctx, &out.NodeSelector, false)...)
	}
	for _, t := range in.Tolerations {
		tol := corev1.Toleration{Key: t.Key.ValueString(), Operator: corev1.TolerationOperator(t.Operator.ValueString()),
			Value: t.Value.ValueString(), Effect: corev1.TaintEffect(t.Effect.ValueString())}
		if !t.TolerationSeconds.IsNull() {
			s := t.TolerationSeconds.ValueInt64()
			tol.TolerationSeconds = &s
		}
		out.Tolerations = append(out.Tolerations, tol)
	}
	return out
}

func quantities(ctx context.Context, m types.Map, p path.Path, diags *diag.Diagnostics) corev1.ResourceList {
	if m.IsNull() || m.IsUnknown() {
		return nil
	}
	var raw map[string]string
	diags.Append(m.ElementsAs(ctx, &raw, false)...)
	out := corev1.ResourceList{}
	for k, v := range raw {
		q, err := k8sresource.ParseQuantity(v)
		if err != nil {
			diags.AddAttributeError(p.AtMapKey(k), "Invalid quantity", fmt.Sprintf("%q: %v", v, err))
			continue
		}
		out[corev1.ResourceName(k)] = q
	}
	return out
}

func credentialSecret(m *agentAccountModel, ep attach.BridgeEndpoint) *attach.CredentialSecret {
	cs := m.CredentialSecret
	if cs == nil {
		return nil
	}
	name := cs.Name.ValueString()
	if name == "" {
		name = "spinops-agent-" + m.Name.ValueString()
	}
	return &attach.CredentialSecret{Account: m.Name.ValueString(), Namespace: cs.Namespace.ValueString(), Name: name, Bridge: ep}
}

var attachmentPaths = map[attach.Part]path.Path{
	attach.PartAgent:            path.Root("install_agent").AtName("kubernetes"),
	attach.PartKinds:            path.Root("kinds"),
	attach.PartCredentialSecret: path.Root("credential_secret").AtName("kubernetes"),
	attach.PartSpinnaker:        path.Root("spinnaker").AtName("kubernetes"),
}

func (r *agentAccountResource) attachment(ctx context.Context, m *agentAccountModel, spec *bridgev1.AccountSpec, diags *diag.Diagnostics) *attach.Attachment {
	a := &attach.Attachment{Spec: spec}
	if m.InstallAgent != nil {
		a.Install = r.install(ctx, m, spec, diags)
		a.Target = kubeClientAt(ctx, r.data, m.InstallAgent.Kubernetes, attachmentPaths[attach.PartAgent], diags)
		if a.Install == nil || a.Target == nil {
			a.Install, a.Target = nil, nil
		}
	}
	if m.CredentialSecret != nil {
		ep, err := r.bridgeEndpoint(nil)
		if err != nil {
			diags.AddAttributeError(path.Root("credential_secret"), "No bridge address for the agent", err.Error())
		} else {
			a.CredentialSecret = credentialSecret(m, ep)
			a.CredentialSecretCluster = kubeClientAt(ctx, r.data, m.CredentialSecret.Kubernetes, attachmentPaths[attach.PartCredentialSecret], diags)
		}
		if a.CredentialSecretCluster == nil {
			a.CredentialSecret = nil
		}
	}
	if m.Spinnaker != nil {
		a.Spinnaker = spinnakerAccountOf(m, spec)
		a.SpinnakerCluster = kubeClientAt(ctx, r.data, m.Spinnaker.Kubernetes, attachmentPaths[attach.PartSpinnaker], diags)
		if a.SpinnakerCluster == nil {
			a.Spinnaker = nil
		}
	}
	return a
}

// spinnakerAccountOf is the SpinnakerAccount m asks for (m.Spinnaker
// set). RegistrationID is m's id: empty before the first apply, which sets
// it from the registration.
func spinnakerAccountOf(m *agentAccountModel, spec *bridgev1.AccountSpec) *attach.SpinnakerAccount {
	return &attach.SpinnakerAccount{Account: spec.GetName(), Namespace: m.Spinnaker.Namespace.ValueString(), Filter: attach.FilterOf(spec),
		CacheIntervalSeconds: m.Spinnaker.CacheIntervalSeconds.ValueInt64(), RegistrationID: m.ID.ValueString()}
}

// installed translates what state says was installed, for removal: a part
// whose cluster cannot be reached is left out, with a diagnostic in diags.
func (r *agentAccountResource) installed(ctx context.Context, m *agentAccountModel, spec *bridgev1.AccountSpec, diags *diag.Diagnostics) *attach.Attachment {
	var sub diag.Diagnostics
	a := r.attachment(ctx, m, spec, &sub)
	for _, d := range sub {
		diags.AddWarning("Cannot reach where the account was installed: "+d.Summary(), d.Detail())
	}
	return a
}

// refresh copies the bridge's view of the account into m: the
// registration (drift) and the status.
func (r *agentAccountResource) refresh(ctx context.Context, admin *attach.Admin, m *agentAccountModel, diags *diag.Diagnostics) bool {
	acct, err := admin.Get(ctx, m.Name.ValueString())
	if err != nil {
		if attach.IsNotFound(err) {
			return false
		}
		diags.AddError("Reading the account failed", err.Error())
		return true
	}
	s, st := acct.GetSpec(), acct.GetStatus()
	m.ID = types.StringValue(acct.GetId())
	m.Mode = types.StringValue(modeName(s.GetMode()))
	m.Kinds = keepNullList(m.Kinds, s.GetKinds())
	m.OmitKinds = keepNullList(m.OmitKinds, s.GetOmitKinds())
	m.Namespaces = keepNullList(m.Namespaces, s.GetNamespaces())
	m.OmitNamespaces = keepNullList(m.OmitNamespaces, s.GetOmitNamespaces())
	m.OnlyNamespacedResources = types.BoolValue(s.GetOnlyNamespacedResources())
	if m.Spinnaker != nil {
		// The URL the bridge pushes to; the plan compares it with what the
		// SpinnakerService asks for now.
		m.Spinnaker.ClouddriverURL = types.StringValue(s.GetClouddriverUrl())
	}
	if !m.ClientIdentity.IsNull() || s.GetClientIdentity() != "" { // unset stays null
		m.ClientIdentity = types.StringValue(s.GetClientIdentity())
	}
	read, write := s.GetPermissions().GetRead(), s.GetPermissions().GetWrite()
	if m.Permissions != nil || len(read) > 0 || len(write) > 0 {
		if m.Permissions == nil {
			m.Permissions = &agentPermissionsModel{Read: types.ListNull(types.StringType), Write: types.ListNull(types.StringType)}
		}
		m.Permissions.Read = keepNullList(m.Permissions.Read, read)
		m.Permissions.Write = keepNullList(m.Permissions.Write, write)
	}
	g := s.GetGracePeriodSeconds()
	cur, perr := time.ParseDuration(m.GracePeriod.ValueString())
	switch {
	case g == 0:
		m.GracePeriod = types.StringNull()
	case m.GracePeriod.IsNull() || perr != nil || int64(cur.Round(time.Second)/time.Second) != g:
		m.GracePeriod = types.StringValue((time.Duration(g) * time.Second).String())
	}

	m.Status = types.StringValue(attach.Status(acct))
	m.AgentID = types.StringValue(st.GetAgentId())
	m.KubernetesVersion = types.StringValue(st.GetKubernetesVersion())
	m.APIServerFingerprint = types.StringValue(st.GetCaFingerprint())
	objs := map[string]attr.Value{}
	for k, v := range st.GetObjectCounts() {
		objs[k] = types.Int64Value(v)
	}
	m.Objects = types.MapValueMust(types.Int64Type, objs)
	m.LastHeartbeat = types.StringValue("")
	if hb := st.GetLastHeartbeatUnix(); hb > 0 {
		m.LastHeartbeat = types.StringValue(time.Unix(hb, 0).UTC().Format(time.RFC3339))
	}
	m.Endpoint = types.StringValue("")
	if kc, err := admin.Kubeconfig(ctx, m.Name.ValueString()); err == nil {
		m.Endpoint = types.StringValue(kc.GetServer())
	}
	return true
}

// keepNullList returns the bridge's list, or null when the bridge has none
// and the configuration had none (so unset stays unset).
func keepNullList(cur types.List, v []string) types.List {
	if len(v) == 0 && (cur.IsNull() || cur.IsUnknown()) {
		return types.ListNull(types.StringType)
	}
	vals := make([]attr.Value, len(v))
	for i, s := range v {
		vals[i] = types.StringValue(s)
	}
	return types.ListValueMust(types.StringType, vals)
}
