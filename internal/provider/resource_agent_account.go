package provider

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	corev1 "k8s.io/api/core/v1"
	k8sresource "k8s.io/apimachinery/pkg/api/resource"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/attach"
	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/version"
)

var (
	_ resource.ResourceWithConfigure      = &agentAccountResource{}
	_ resource.ResourceWithValidateConfig = &agentAccountResource{}
	_ resource.ResourceWithModifyPlan     = &agentAccountResource{}
	_ resource.ResourceWithImportState    = &agentAccountResource{}
)

func newAgentAccountResource() resource.Resource { return &agentAccountResource{} }

type agentAccountResource struct {
	data *providerData
	// waitInterval is how often the wait asks the bridge (tests shorten it).
	waitInterval time.Duration
}

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
	Kubernetes *kubernetesModel `tfsdk:"kubernetes"`
	Namespace  types.String     `tfsdk:"namespace"`
}

// Modes as Terraform spells them, and as the bridge does.
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

func defaultAgentImage() string {
	return version.Image()
}

func (r *agentAccountResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_agent_account"
}

func (r *agentAccountResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	strList := func(desc string, conflicts string) schema.ListAttribute {
		return schema.ListAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: desc,
			Validators: []validator.List{
				listvalidator.SizeAtLeast(1),
				listvalidator.UniqueValues(),
				listvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1)),
				listvalidator.ConflictsWith(path.MatchRoot(conflicts)),
			}}
	}
	nsList := func(desc, conflicts string) schema.ListAttribute {
		a := strList(desc, conflicts)
		a.Validators = append(a.Validators, listvalidator.ValueStringsAre(stringvalidator.RegexMatches(spinDNSLabelRegexp, "must be a namespace name (a DNS-1123 label)")))
		return a
	}
	computed := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	connBlock := func(desc string) schema.SingleNestedBlock {
		b := resourceKubernetesBlock()
		b.MarkdownDescription = desc + " Defaults to the provider's connection. " + kubeOverrideDesc
		return b
	}
	roles := schema.ListAttribute{Optional: true, ElementType: types.StringType, Validators: []validator.List{listvalidator.UniqueValues()}}
	readRoles, writeRoles := roles, roles
	readRoles.MarkdownDescription = "Spinnaker (Fiat) roles that may see the account."
	writeRoles.MarkdownDescription = "Spinnaker roles that may deploy to it. When set, the installed agent also gets create/update/patch/delete on the watched kinds; " +
		"when empty it can only read."

	resp.Schema = schema.Schema{
		MarkdownDescription: "Attaches a Kubernetes cluster to Spinnaker through the bridge: registers the account at the bridge, installs the agent in the " +
			"target cluster (`install_agent`, agent mode), creates the `SpinnakerAccount` that points Clouddriver at the account's endpoint on the bridge " +
			"(`spinnaker`), and waits until the agent is connected and its first full sync is done.\n\n" +
			"The agent credential never enters Terraform state: it goes from the bridge straight into the target cluster's Secret (or the " +
			"`credential_secret`). For agents deployed another way, read it with the ephemeral resource `spinops_agent_credential`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The bridge's registration id (changes when the account is registered again).",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Required: true,
				MarkdownDescription: "Account name, unique at the bridge; the name Spinnaker shows. A DNS-1123 label. Changing it replaces the account.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:          []validator.String{stringvalidator.RegexMatches(spinDNSLabelRegexp, "must be a DNS-1123 label: lowercase letters, digits and '-', at most 63 characters")}},
			"mode": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("agent"),
				MarkdownDescription: "`agent` (the agent runs in the target cluster with its service account; `install_agent` installs it), `infrastructure` " +
					"(one agent serves many clusters from kubeconfigs) or `spinnaker_service` (the agent runs beside Spinnaker). Defaults to `agent`.",
				Validators: []validator.String{stringvalidator.OneOf("agent", "infrastructure", "spinnaker_service")}},
			"kinds":      strList("Kinds to watch (`Deployment`, `deployments` or `deployments.apps`); all kinds when unset. Conflicts with `omit_kinds`.", "omit_kinds"),
			"omit_kinds": strList("Kinds not to watch. Conflicts with `kinds`.", "kinds"),
			"namespaces": nsList("Namespaces to watch; all when unset. With `install_agent` the agent's RBAC is bound in these namespaces only. "+
				"Conflicts with `omit_namespaces`.", "omit_namespaces"),
			"omit_namespaces": nsList("Namespaces not to watch. Conflicts with `namespaces`.", "namespaces"),
			"only_namespaced_resources": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Watch namespaced kinds only. Defaults to `false`."},
			"grace_period": schema.StringAttribute{Optional: true,
				MarkdownDescription: "How long a disconnected account stays known (unavailable) before it is withdrawn from Spinnaker, e.g. `5m`. Defaults to the bridge's setting.",
				Validators:          []validator.String{spinDurationValidator{}}},
			"client_identity": schema.StringAttribute{Optional: true,
				MarkdownDescription: "An mTLS client certificate identity (subject CN, DNS or URI SAN) that may serve the account without the credential."},
			"credential_rotation": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Any value (a date, a counter). Changing it rotates the agent credential and the endpoint token at the bridge: the " +
					"old ones stop working, the new credential goes into the agent's Secret (which rolls the agent) or `credential_secret`, and the new " +
					"kubeconfig into the SpinnakerAccount's Secret. Neither value enters state."},
			"wait_for_sync": schema.BoolAttribute{Optional: true,
				MarkdownDescription: "Wait until an agent is connected and its first full sync is done. Defaults to `true` when this resource installs the " +
					"agent or writes its `credential_secret`, `false` otherwise (an agent deployed after this resource could not connect before it finishes)."},

			"status":                 computed("`connected` (agent connected, first sync done), `syncing`, `never_connected`, `unavailable` (disconnected, inside the grace period) or `withdrawn`."),
			"agent_id":               computed("The id of the agent serving the account."),
			"kubernetes_version":     computed("The target cluster's Kubernetes version, as its agent reports it."),
			"api_server_fingerprint": computed("SHA-256 fingerprint of the target cluster's CA, as its agent reports it."),
			"objects": schema.MapAttribute{Computed: true, ElementType: types.Int64Type,
				MarkdownDescription: "Objects in the bridge's cache by kind (`deployments.apps` → count)."},
			"last_heartbeat": computed("When the agent last sent anything (RFC 3339)."),
			"endpoint":       computed("The account's Kubernetes API endpoint on the bridge (Clouddriver and kubectl use it)."),
			"agent_installed": schema.BoolAttribute{Computed: true,
				MarkdownDescription: "Whether the agent's Deployment, ConfigMap and Secret are in the target cluster; `false` in state (deleted out of band) plans an update that reinstalls them."},
			"spinnaker_account_installed": schema.BoolAttribute{Computed: true,
				MarkdownDescription: "Whether the SpinnakerAccount and its kubeconfig Secret exist; `false` plans an update that recreates them."},
		},
		Blocks: map[string]schema.Block{
			"permissions": schema.SingleNestedBlock{
				MarkdownDescription: "Who may use the account in Spinnaker; written to the `SpinnakerAccount` for Fiat and registered at the bridge.",
				Attributes:          map[string]schema.Attribute{"read": readRoles, "write": writeRoles},
			},
			"install_agent": schema.SingleNestedBlock{
				MarkdownDescription: "Install the agent in the target cluster (mode `agent`): a ServiceAccount, RBAC limited to the watched kinds (get/list/watch; write " +
					"verbs only with `permissions.write`), a Secret with the credential, bridge address and CA, a ConfigMap with the agent config, and a Deployment. " +
					"Every object is named `spinops-agent-<name>`. The namespace is created when missing (and then removed with the account).",
				Attributes: map[string]schema.Attribute{
					"namespace": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("spinops-agent"),
						MarkdownDescription: "Namespace of the agent. Defaults to `spinops-agent`.",
						Validators:          []validator.String{stringvalidator.RegexMatches(spinDNSLabelRegexp, "must be a namespace name (a DNS-1123 label)")}},
					"image": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(defaultAgentImage()),
						MarkdownDescription: "The spinops image (it runs `spinops agent`). Defaults to `ghcr.io/spinops/spinops:<provider version>`. Changing it rolls the agent.",
						Validators:          []validator.String{stringvalidator.LengthAtLeast(1)}},
					"replicas": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(1),
						MarkdownDescription: "Agent replicas. One serves the account; the others are refused by the bridge and wait as standbys. Defaults to 1.",
						Validators:          []validator.Int64{int64validator.Between(0, 5)}},
					"requests": schema.MapAttribute{Optional: true, ElementType: types.StringType,
						MarkdownDescription: "Resource requests, e.g. `{ cpu = \"100m\", memory = \"128Mi\" }`.", Validators: []validator.Map{quantityMapValidator{}}},
					"limits": schema.MapAttribute{Optional: true, ElementType: types.StringType,
						MarkdownDescription: "Resource limits.", Validators: []validator.Map{quantityMapValidator{}}},
					"node_selector": schema.MapAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: "Node selector of the agent's pods."},
					"bridge_address": schema.StringAttribute{Optional: true,
						MarkdownDescription: "host:port the agent dials, when it differs from the provider's `bridge.address` (e.g. a load balancer in front of the bridge).",
						Validators:          []validator.String{stringvalidator.RegexMatches(hostPortRegexp, "must be host:port")}},
					"bridge_server_name": schema.StringAttribute{Optional: true,
						MarkdownDescription: "Name the agent verifies in the bridge's certificate, when it differs from the address's host."},
				},
				Blocks: map[string]schema.Block{
					"kubernetes": connBlock("The target cluster."),
					"toleration": schema.ListNestedBlock{
						MarkdownDescription: "Tolerations of the agent's pods.",
						NestedObject: schema.NestedBlockObject{Attributes: map[string]schema.Attribute{
							"key": schema.StringAttribute{Optional: true, MarkdownDescription: "Taint key."},
							"operator": schema.StringAttribute{Optional: true, MarkdownDescription: "`Equal` or `Exists`.",
								Validators: []validator.String{stringvalidator.OneOf("Equal", "Exists")}},
							"value": schema.StringAttribute{Optional: true, MarkdownDescription: "Taint value."},
							"effect": schema.StringAttribute{Optional: true, MarkdownDescription: "`NoSchedule`, `PreferNoSchedule` or `NoExecute`.",
								Validators: []validator.String{stringvalidator.OneOf("NoSchedule", "PreferNoSchedule", "NoExecute")}},
							"toleration_seconds": schema.Int64Attribute{Optional: true, MarkdownDescription: "For `NoExecute`: how long the pod stays bound."},
						}},
					},
				},
			},
			"credential_secret": schema.SingleNestedBlock{
				MarkdownDescription: "For `infrastructure` and `spinnaker_service` modes: write the agent credential (key `credential`), the bridge address " +
					"(`bridge-address`) and CA (`ca.crt`) into this Secret, where the agent that serves the account mounts it (`credentialFile` in its config).",
				Attributes: map[string]schema.Attribute{
					"namespace": schema.StringAttribute{Optional: true, MarkdownDescription: "Namespace of the Secret (required in the block).",
						Validators: []validator.String{stringvalidator.RegexMatches(spinDNSLabelRegexp, "must be a namespace name (a DNS-1123 label)")}},
					"name": schema.StringAttribute{Optional: true, MarkdownDescription: "Name of the Secret. Defaults to `spinops-agent-<name>`."},
				},
				Blocks: map[string]schema.Block{"kubernetes": connBlock("The cluster the Secret goes to.")},
			},
			"spinnaker": schema.SingleNestedBlock{
				MarkdownDescription: "Make the account visible to Spinnaker: a `SpinnakerAccount` (`spinnaker.io/v1alpha2`, type Kubernetes) and a Secret " +
					"`spinops-account-<name>` with a kubeconfig for the account's endpoint on the bridge. The Spinnaker Operator hands it to Clouddriver without a restart.",
				Attributes: map[string]schema.Attribute{
					"namespace": schema.StringAttribute{Optional: true, MarkdownDescription: "Spinnaker's namespace (required in the block).",
						Validators: []validator.String{stringvalidator.RegexMatches(spinDNSLabelRegexp, "must be a namespace name (a DNS-1123 label)")}},
				},
				Blocks: map[string]schema.Block{"kubernetes": connBlock("The Spinnaker cluster.")},
			},
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *agentAccountResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	var diags diag.Diagnostics
	r.data, diags = providerDataFrom(req.ProviderData)
	resp.Diagnostics.Append(diags...)
	if r.waitInterval == 0 {
		r.waitInterval = time.Second
	}
}

func (r *agentAccountResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m agentAccountModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	mode := m.Mode.ValueString()
	if m.InstallAgent != nil && !m.Mode.IsUnknown() && mode != "" && mode != "agent" {
		resp.Diagnostics.AddAttributeError(path.Root("install_agent"), "install_agent needs mode = \"agent\"",
			fmt.Sprintf("mode is %q: an agent in %s mode serves several clusters and is deployed on its own. Remove install_agent and give the agent "+
				"its credential with credential_secret or the ephemeral resource spinops_agent_credential.", mode, mode))
	}
	if m.InstallAgent != nil && m.CredentialSecret != nil {
		resp.Diagnostics.AddAttributeError(path.Root("credential_secret"), "Conflicting credential delivery",
			"install_agent already puts the credential in the target cluster; credential_secret is for agents deployed another way. Set one of them.")
	}
	if m.CredentialSecret != nil && m.CredentialSecret.Namespace.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("credential_secret").AtName("namespace"), "Missing namespace", "credential_secret needs the namespace of the Secret.")
	}
	if m.Spinnaker != nil && m.Spinnaker.Namespace.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("spinnaker").AtName("namespace"), "Missing namespace",
			"spinnaker needs the namespace Spinnaker runs in (where the operator looks for SpinnakerAccounts).")
	}
	if in := m.InstallAgent; in != nil {
		for i, t := range in.Tolerations {
			if t.Operator.ValueString() == "Exists" && t.Value.ValueString() != "" {
				resp.Diagnostics.AddAttributeError(path.Root("install_agent").AtName("toleration").AtListIndex(i).AtName("value"),
					"Invalid toleration", "a toleration with operator Exists must not set a value.")
			}
		}
	}
}

// ModifyPlan plans the reinstall of objects deleted out of band, and keeps
// the computed status unknown only when something changes.
func (r *agentAccountResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan agentAccountModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.AgentInstalled = types.BoolValue(plan.InstallAgent != nil)
	plan.SpinnakerAccountInstalled = types.BoolValue(plan.Spinnaker != nil)
	changing := true
	if !req.State.Raw.IsNull() {
		var state agentAccountModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if resp.Diagnostics.HasError() {
			return
		}
		changing = !agentAccountUnchanged(&state, &plan)
		if !changing {
			// Nothing to do: keep what was read.
			plan.Status, plan.AgentID, plan.KubernetesVersion = state.Status, state.AgentID, state.KubernetesVersion
			plan.APIServerFingerprint, plan.Objects, plan.LastHeartbeat, plan.Endpoint = state.APIServerFingerprint, state.Objects, state.LastHeartbeat, state.Endpoint
		} else {
			// An update (possibly only a reinstall, which Terraform does not
			// see as a change of configuration): the status is read again.
			plan.Status, plan.AgentID, plan.KubernetesVersion = types.StringUnknown(), types.StringUnknown(), types.StringUnknown()
			plan.APIServerFingerprint, plan.LastHeartbeat, plan.Endpoint = types.StringUnknown(), types.StringUnknown(), types.StringUnknown()
			plan.Objects = types.MapUnknown(types.Int64Type)
		}
	}
	if changing {
		r.checkInstallAtPlan(ctx, &plan, &resp.Diagnostics)
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// checkInstallAtPlan asks the target cluster, at plan time, whether the
// install may proceed, so missing RBAC is reported by `terraform plan`.
// When the check cannot run yet (values known only at apply, a cluster not
// reachable from where the plan runs) it stays silent: apply checks again.
func (r *agentAccountResource) checkInstallAtPlan(ctx context.Context, plan *agentAccountModel, diags *diag.Diagnostics) {
	if r.data == nil || plan.InstallAgent == nil || plan.InstallAgent.Namespace.IsUnknown() {
		return
	}
	var quiet diag.Diagnostics
	spec := plan.spec(ctx, &quiet)
	in := r.install(ctx, plan, spec, &quiet)
	c := kubeClientAt(ctx, r.data, plan.InstallAgent.Kubernetes, path.Root("install_agent").AtName("kubernetes"), &quiet)
	if quiet.HasError() || in == nil || c == nil {
		return
	}
	var ma *attach.MissingAccessError
	if err := in.Check(ctx, c); errors.As(err, &ma) {
		diags.AddAttributeError(path.Root("install_agent").AtName("kubernetes"), "Missing permissions in the target cluster", err.Error())
	}
}

// agentAccountUnchanged compares what the user configures (and the
// reinstall flags), not what the bridge reports.
func agentAccountUnchanged(state, plan *agentAccountModel) bool {
	a, b := *state, *plan
	for _, m := range []*agentAccountModel{&a, &b} {
		m.Status, m.AgentID, m.KubernetesVersion, m.APIServerFingerprint = types.String{}, types.String{}, types.String{}, types.String{}
		m.Objects, m.LastHeartbeat, m.Endpoint, m.Timeouts = types.Map{}, types.String{}, types.String{}, timeouts.Value{}
		m.ID = types.String{}
	}
	return reflect.DeepEqual(a, b)
}

// ---------------------------------------------------------------------------
// translation

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

func (m *agentAccountModel) filter(s *bridgev1.AccountSpec) attach.AccountFilter {
	return attach.AccountFilter{
		Kinds: s.GetKinds(), OmitKinds: s.GetOmitKinds(), Namespaces: s.GetNamespaces(), OmitNamespaces: s.GetOmitNamespaces(),
		OnlyNamespacedResources: s.GetOnlyNamespacedResources(), Read: s.GetPermissions().GetRead(), Write: s.GetPermissions().GetWrite(),
	}
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
		Bridge: ep, Filter: m.filter(spec),
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

func (r *agentAccountResource) admin(diags *diag.Diagnostics) *attach.Admin {
	s, err := r.data.bridgeSettings()
	if err != nil {
		diags.AddError("No bridge configured", err.Error())
		return nil
	}
	a, err := attach.Dial(s)
	if err != nil {
		diags.AddError("Invalid bridge settings", err.Error())
		return nil
	}
	return a
}

func kubeClientAt(ctx context.Context, data *providerData, override *kubernetesModel, p path.Path, diags *diag.Diagnostics) *kube.Client {
	c, d := spinKubeClient(ctx, data, override, p)
	diags.Append(d...)
	if d.HasError() {
		return nil
	}
	return c
}

// credentialSecretObjects is what credential_secret writes.
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

// ---------------------------------------------------------------------------
// CRUD

func (r *agentAccountResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan agentAccountModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Create(ctx, 10*time.Minute)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	admin := r.admin(&resp.Diagnostics)
	if admin == nil {
		return
	}
	defer admin.Close()
	spec := plan.spec(ctx, &resp.Diagnostics)
	st := r.prepare(ctx, &plan, spec, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}

	acct, credential, err := admin.Register(ctx, spec)
	if err != nil {
		if attach.IsAlreadyExists(err) {
			resp.Diagnostics.AddAttributeError(path.Root("name"), "Account name already registered",
				err.Error()+". To manage the existing account with Terraform, import it: terraform import <address> "+spec.GetName())
			return
		}
		resp.Diagnostics.AddError("Registering the account failed", err.Error())
		return
	}
	tflog.Info(ctx, "account registered at the bridge", map[string]any{"account": spec.GetName(), "id": acct.GetId()})

	if err := st.apply(ctx, admin, credential, nil); err != nil {
		// Leave nothing behind: the account is not in state yet.
		rb := st.remove(context.WithoutCancel(ctx))
		rbErr := admin.Deregister(context.WithoutCancel(ctx), spec.GetName())
		msg := err.Error() + "\n\nThe registration and the objects applied so far were removed."
		if rb != nil || (rbErr != nil && !attach.IsNotFound(rbErr)) {
			msg = err.Error() + fmt.Sprintf("\n\nRemoving what was made also failed (remove it by hand): %v %v", rb, rbErr)
		}
		resp.Diagnostics.AddError("Attaching the account failed", msg)
		return
	}

	plan.ID = types.StringValue(acct.GetId())
	if plan.waits() {
		err := r.wait(ctx, admin, spec.GetName(), remaining(ctx), st)
		r.refresh(ctx, admin, &plan, &resp.Diagnostics)
		if err != nil {
			resp.Diagnostics.AddError("The account did not become ready", err.Error()+
				"\n\nThe account stays registered and its objects stay installed; Terraform marks it tainted, so the next apply replaces it.")
		}
	} else {
		r.refresh(ctx, admin, &plan, &resp.Diagnostics)
	}
	plan.AgentInstalled = types.BoolValue(plan.InstallAgent != nil)
	plan.SpinnakerAccountInstalled = types.BoolValue(plan.Spinnaker != nil)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// attachment is everything one apply installs, with its clients resolved.
type attachment struct {
	name      string
	install   *attach.AgentInstall
	target    *kube.Client
	rules     attach.Rules
	spin      *attach.SpinnakerAccount
	spinC     *kube.Client
	credSec   *attach.CredentialSecret
	credSecC  *kube.Client
	installed []string // what apply did, for the wait's progress
}

// prepare resolves clients and checks, before anything is registered, that
// the install can succeed: permissions, the watched kinds, the
// SpinnakerAccount kind.
func (r *agentAccountResource) prepare(ctx context.Context, m *agentAccountModel, spec *bridgev1.AccountSpec, diags *diag.Diagnostics) *attachment {
	st := &attachment{name: spec.GetName()}
	if m.InstallAgent != nil {
		p := path.Root("install_agent").AtName("kubernetes")
		st.install = r.install(ctx, m, spec, diags)
		st.target = kubeClientAt(ctx, r.data, m.InstallAgent.Kubernetes, p, diags)
		if diags.HasError() {
			return st
		}
		if err := st.install.Check(ctx, st.target); err != nil {
			var ma *attach.MissingAccessError
			if errors.As(err, &ma) {
				diags.AddAttributeError(p, "Missing permissions in the target cluster", err.Error())
			} else {
				diags.AddAttributeError(p, "Checking the target cluster failed", err.Error())
			}
			return st
		}
		rules, err := attach.ResolveRules(ctx, st.target, st.install.Filter)
		if err != nil {
			diags.AddAttributeError(path.Root("kinds"), "Resolving the watched kinds failed", err.Error())
			return st
		}
		st.rules = rules
	}
	if m.CredentialSecret != nil {
		ep, err := r.bridgeEndpoint(nil)
		if err != nil {
			diags.AddAttributeError(path.Root("credential_secret"), "No bridge address for the agent", err.Error())
			return st
		}
		st.credSec = credentialSecret(m, ep)
		st.credSecC = kubeClientAt(ctx, r.data, m.CredentialSecret.Kubernetes, path.Root("credential_secret").AtName("kubernetes"), diags)
		if diags.HasError() {
			return st
		}
		missing, err := st.credSecC.MissingAccess(ctx, []kube.Access{{Verb: "create", Resource: "secrets", Namespace: st.credSec.Namespace}})
		if err == nil && len(missing) > 0 {
			err = &attach.MissingAccessError{Host: st.credSecC.Config.Host, Missing: missing}
		}
		if err != nil {
			diags.AddAttributeError(path.Root("credential_secret").AtName("kubernetes"), "Cannot write the credential Secret", err.Error())
			return st
		}
	}
	if m.Spinnaker != nil {
		p := path.Root("spinnaker").AtName("kubernetes")
		st.spin = &attach.SpinnakerAccount{Account: spec.GetName(), Namespace: m.Spinnaker.Namespace.ValueString(), Filter: m.filter(spec)}
		st.spinC = kubeClientAt(ctx, r.data, m.Spinnaker.Kubernetes, p, diags)
		if diags.HasError() {
			return st
		}
		if _, err := st.spinC.Mapper.RESTMapping(attach.SpinnakerAccountGVK.GroupKind(), attach.SpinnakerAccountGVK.Version); err != nil {
			diags.AddAttributeError(p, "SpinnakerAccount kind not found",
				fmt.Sprintf("%s does not serve spinnaker.io/v1alpha2 SpinnakerAccount: install the Spinnaker Operator there first "+
					"(spinops_managed_spinnaker installs its CRDs), or point spinnaker.kubernetes at the Spinnaker cluster. (%v)", st.spinC.Config.Host, err))
		}
	}
	return st
}

// apply installs the agent objects, the credential Secret and the
// SpinnakerAccount. credential is read from the bridge when empty.
func (st *attachment) apply(ctx context.Context, admin *attach.Admin, credential string, previousNamespaces []string) error {
	if (st.install != nil || st.credSec != nil) && credential == "" {
		c, err := admin.Credential(ctx, st.name)
		if err != nil {
			return err
		}
		credential = c
	}
	if st.install != nil {
		if err := st.install.Apply(ctx, st.target, st.rules, credential); err != nil {
			return fmt.Errorf("installing the agent in %s: %w", st.target.Config.Host, err)
		}
		if err := st.install.RemoveStaleRoleBindings(ctx, st.target, previousNamespaces); err != nil {
			return fmt.Errorf("removing RoleBindings of namespaces no longer watched in %s: %w", st.target.Config.Host, err)
		}
		st.installed = append(st.installed, fmt.Sprintf("agent objects applied in %s namespace %s (%d kinds granted)", st.target.Config.Host, st.install.Namespace, st.rules.Kinds))
	}
	if st.credSec != nil {
		if err := st.credSec.Apply(ctx, st.credSecC, credential); err != nil {
			return fmt.Errorf("writing the credential Secret in %s: %w", st.credSecC.Config.Host, err)
		}
		st.installed = append(st.installed, fmt.Sprintf("credential Secret %s/%s written", st.credSec.Namespace, st.credSec.Name))
	}
	if st.spin != nil {
		kc, err := admin.Kubeconfig(ctx, st.name)
		if err != nil {
			return err
		}
		if err := st.spin.Apply(ctx, st.spinC, kc.GetKubeconfig()); err != nil {
			return fmt.Errorf("creating the SpinnakerAccount in %s: %w", st.spinC.Config.Host, err)
		}
	}
	return nil
}

// remove deletes what apply made, tolerating what is gone.
func (st *attachment) remove(ctx context.Context) error {
	var errs []error
	if st.install != nil && st.target != nil {
		errs = append(errs, st.install.Remove(ctx, st.target))
	}
	if st.credSec != nil && st.credSecC != nil {
		errs = append(errs, st.credSec.Remove(ctx, st.credSecC))
	}
	if st.spin != nil && st.spinC != nil {
		errs = append(errs, st.spin.Remove(ctx, st.spinC))
	}
	return errors.Join(errs...)
}

// remaining is what is left of the operation's timeout (its context's
// deadline).
func remaining(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return time.Until(d)
	}
	return 10 * time.Minute
}

func (r *agentAccountResource) wait(ctx context.Context, admin *attach.Admin, name string, timeout time.Duration, st *attachment) error {
	err := kube.WaitFor(ctx, r.waitInterval, timeout, func(ctx context.Context) (bool, string, error) {
		acct, err := admin.Get(ctx, name)
		if err != nil {
			return false, "", err
		}
		done, progress := attach.Progress(acct)
		if !done && len(st.installed) > 0 {
			progress = fmt.Sprintf("%s (done: %v)", progress, st.installed)
		}
		return done, progress, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for account %q to connect and sync: %w", name, err)
	}
	return nil
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

func (r *agentAccountResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state agentAccountModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	admin := r.admin(&resp.Diagnostics)
	if admin == nil {
		return
	}
	defer admin.Close()
	if !r.refresh(ctx, admin, &state, &resp.Diagnostics) {
		resp.Diagnostics.AddWarning("Account no longer registered",
			fmt.Sprintf("Account %q is not registered at the bridge %s any more (deregistered out of band); Terraform will register and attach it again.",
				state.Name.ValueString(), admin.Address()))
		resp.State.RemoveResource(ctx)
		return
	}
	if resp.Diagnostics.HasError() {
		return
	}
	spec := state.spec(ctx, &resp.Diagnostics)
	if state.InstallAgent != nil {
		in := r.install(ctx, &state, spec, &resp.Diagnostics)
		if c := kubeClientAt(ctx, r.data, state.InstallAgent.Kubernetes, path.Root("install_agent").AtName("kubernetes"), &resp.Diagnostics); c != nil && in != nil {
			state.AgentInstalled = r.present(ctx, "agent", func() ([]string, error) { return in.Missing(ctx, c) }, state.AgentInstalled, &resp.Diagnostics)
		}
	}
	if state.Spinnaker != nil {
		sa := &attach.SpinnakerAccount{Account: spec.GetName(), Namespace: state.Spinnaker.Namespace.ValueString(), Filter: state.filter(spec)}
		if c := kubeClientAt(ctx, r.data, state.Spinnaker.Kubernetes, path.Root("spinnaker").AtName("kubernetes"), &resp.Diagnostics); c != nil {
			state.SpinnakerAccountInstalled = r.present(ctx, "SpinnakerAccount", func() ([]string, error) { return sa.Missing(ctx, c) }, state.SpinnakerAccountInstalled, &resp.Diagnostics)
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// present checks installed objects; a cluster that cannot be reached is a
// warning (the previous value is kept), not a failed refresh.
func (r *agentAccountResource) present(ctx context.Context, what string, missing func() ([]string, error), prev types.Bool, diags *diag.Diagnostics) types.Bool {
	m, err := missing()
	if err != nil {
		diags.AddWarning("Could not check the "+what+" objects", err.Error())
		return prev
	}
	if len(m) > 0 {
		tflog.Warn(ctx, "installed objects are missing; the plan reinstalls them", map[string]any{"missing": m})
		return types.BoolValue(false)
	}
	return types.BoolValue(true)
}

func (r *agentAccountResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state agentAccountModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Update(ctx, 10*time.Minute)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	admin := r.admin(&resp.Diagnostics)
	if admin == nil {
		return
	}
	defer admin.Close()

	spec := plan.spec(ctx, &resp.Diagnostics)
	oldSpec := state.spec(ctx, &resp.Diagnostics)
	st := r.prepare(ctx, &plan, spec, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if _, err := admin.Update(ctx, spec); err != nil {
		resp.Diagnostics.AddError("Updating the registration failed", err.Error())
		return
	}
	credential := ""
	if !plan.CredentialRotation.Equal(state.CredentialRotation) {
		c, err := admin.Rotate(ctx, spec.GetName())
		if err != nil {
			resp.Diagnostics.AddError("Rotating the agent credential failed", err.Error())
			return
		}
		credential = c
		tflog.Info(ctx, "agent credential and endpoint token rotated", map[string]any{"account": spec.GetName()})
	}
	// What moved away (another cluster or namespace) or was dropped from the
	// configuration is removed from where it was.
	old := r.prepareRemoval(ctx, &state, oldSpec, &resp.Diagnostics)
	if !sameTarget(state.InstallAgent, plan.InstallAgent) && old.install != nil {
		if err := old.install.Remove(ctx, old.target); err != nil {
			resp.Diagnostics.AddWarning("Removing the previous agent install failed", err.Error())
		}
	}
	if !sameSecret(state.CredentialSecret, plan.CredentialSecret) && old.credSec != nil {
		if err := old.credSec.Remove(ctx, old.credSecC); err != nil {
			resp.Diagnostics.AddWarning("Removing the previous credential Secret failed", err.Error())
		}
	}
	if !sameSpinnaker(state.Spinnaker, plan.Spinnaker) && old.spin != nil {
		if err := old.spin.Remove(ctx, old.spinC); err != nil {
			resp.Diagnostics.AddWarning("Removing the previous SpinnakerAccount failed", err.Error())
		}
	}
	if err := st.apply(ctx, admin, credential, oldSpec.GetNamespaces()); err != nil {
		resp.Diagnostics.AddError("Updating the attachment failed", err.Error())
		return
	}
	plan.ID = state.ID
	if plan.waits() {
		if err := r.wait(ctx, admin, spec.GetName(), remaining(ctx), st); err != nil {
			resp.Diagnostics.AddError("The account did not become ready", err.Error())
		}
	}
	r.refresh(ctx, admin, &plan, &resp.Diagnostics)
	plan.AgentInstalled = types.BoolValue(plan.InstallAgent != nil)
	plan.SpinnakerAccountInstalled = types.BoolValue(plan.Spinnaker != nil)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// prepareRemoval resolves the clients of what state says was installed,
// without the install checks.
func (r *agentAccountResource) prepareRemoval(ctx context.Context, m *agentAccountModel, spec *bridgev1.AccountSpec, diags *diag.Diagnostics) *attachment {
	st := &attachment{name: spec.GetName()}
	var sub diag.Diagnostics
	if m.InstallAgent != nil {
		st.install = r.install(ctx, m, spec, &sub)
		st.target = kubeClientAt(ctx, r.data, m.InstallAgent.Kubernetes, path.Root("install_agent").AtName("kubernetes"), &sub)
		if st.target == nil || st.install == nil {
			st.install = nil
		}
	}
	if m.CredentialSecret != nil {
		st.credSec = credentialSecret(m, attach.BridgeEndpoint{})
		st.credSecC = kubeClientAt(ctx, r.data, m.CredentialSecret.Kubernetes, path.Root("credential_secret").AtName("kubernetes"), &sub)
		if st.credSecC == nil {
			st.credSec = nil
		}
	}
	if m.Spinnaker != nil {
		st.spin = &attach.SpinnakerAccount{Account: spec.GetName(), Namespace: m.Spinnaker.Namespace.ValueString()}
		st.spinC = kubeClientAt(ctx, r.data, m.Spinnaker.Kubernetes, path.Root("spinnaker").AtName("kubernetes"), &sub)
		if st.spinC == nil {
			st.spin = nil
		}
	}
	for _, d := range sub {
		diags.AddWarning("Cannot reach where the account was installed: "+d.Summary(), d.Detail())
	}
	return st
}

func sameTarget(a, b *agentInstallModel) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Namespace.Equal(b.Namespace) && reflect.DeepEqual(a.Kubernetes, b.Kubernetes)
}

func sameSecret(a, b *agentCredentialSecretModel) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Namespace.Equal(b.Namespace) && a.Name.Equal(b.Name) && reflect.DeepEqual(a.Kubernetes, b.Kubernetes)
}

func sameSpinnaker(a, b *agentSpinnakerModel) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Namespace.Equal(b.Namespace) && reflect.DeepEqual(a.Kubernetes, b.Kubernetes)
}

func (r *agentAccountResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state agentAccountModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := state.Timeouts.Delete(ctx, 5*time.Minute)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	admin := r.admin(&resp.Diagnostics)
	if admin == nil {
		return
	}
	defer admin.Close()
	spec := state.spec(ctx, &resp.Diagnostics)
	// Spinnaker stops using the account first, then the agent goes, then
	// the registration.
	var sub diag.Diagnostics
	st := r.prepareRemoval(ctx, &state, spec, &sub)
	for _, dg := range sub {
		resp.Diagnostics.AddError(dg.Summary(), dg.Detail()+"\n\nNothing was deleted; fix the connection and destroy again.")
	}
	if resp.Diagnostics.HasError() {
		return
	}
	if err := st.remove(ctx); err != nil {
		resp.Diagnostics.AddError("Removing the installed objects failed", err.Error())
		return
	}
	if err := admin.Deregister(ctx, spec.GetName()); err != nil && !attach.IsNotFound(err) {
		resp.Diagnostics.AddError("Deregistering the account failed", err.Error())
	}
}

func (r *agentAccountResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if !spinDNSLabelRegexp.MatchString(req.ID) {
		resp.Diagnostics.AddError("Invalid import id", fmt.Sprintf("import by account name (a DNS-1123 label), got %q", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("mode"), "agent")...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("only_namespaced_resources"), false)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("agent_installed"), false)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("spinnaker_account_installed"), false)...)
}
