package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
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

	"github.com/spinops/terraform-provider-spinops/internal/attach"
	"github.com/spinops/terraform-provider-spinops/internal/version"

	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
)

// defaultSpinopsImage is the release's own image (version.Image): the
// agent's and the backup jobs' default.
func defaultSpinopsImage() string { return version.Image() }

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
		a.Validators = append(a.Validators, listvalidator.ValueStringsAre(validators.NamespaceName()))
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
				Validators:          []validator.String{validators.DNSLabel()}},
			"mode": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("agent"),
				MarkdownDescription: "`agent` (the agent runs in the target cluster with its service account; `install_agent` installs it) or `infrastructure` " +
					"(one agent, deployed on its own anywhere — beside Spinnaker included — serves many clusters from kubeconfigs). Defaults to `agent`. " +
					"`spinnaker_service` was removed: it behaved exactly as `infrastructure`; write that instead (the account is updated in place).",
				Validators: []validator.String{validators.OneOfOrRemoved([]string{"agent", "infrastructure"}, map[string]string{
					"spinnaker_service": "it behaved exactly as \"infrastructure\" (an agent deployed on its own, anywhere, serving clusters from kubeconfigs; " +
						"beside Spinnaker is one place it can run). Write mode = \"infrastructure\": the account is updated in place, its credential and agent are kept.",
				})}},
			"kinds":      strList("Kinds to watch (`Deployment`, `deployments` or `deployments.apps`); all kinds when unset. Conflicts with `omit_kinds`.", "omit_kinds"),
			"omit_kinds": strList("Kinds not to watch. Conflicts with `kinds`.", "kinds"),
			"namespaces": nsList("Namespaces to watch; all when unset. With `install_agent` the agent's RBAC is bound in these namespaces only. "+
				"Conflicts with `omit_namespaces`.", "omit_namespaces"),
			"omit_namespaces": nsList("Namespaces not to watch. Conflicts with `namespaces`.", "namespaces"),
			"only_namespaced_resources": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Watch namespaced kinds only. Defaults to `false`."},
			"grace_period": schema.StringAttribute{Optional: true,
				MarkdownDescription: "How long a disconnected account stays known (unavailable) before it is withdrawn from Spinnaker, e.g. `5m`: a bridge run with " +
					"`--spinnaker-namespace` then sets the SpinnakerAccount to `enabled: false` (Clouddriver drops the account) and back to `true` when the " +
					"agent returns. Defaults to the bridge's setting.",
				Validators: []validator.String{validators.Duration()}},
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
			"drifted_objects": driftedObjectsAttribute("objects this resource made for the agent (with `install_agent`: its ServiceAccount, ClusterRole, "+
				"ClusterRoleBinding or RoleBindings, Secret, ConfigMap and Deployment in the target cluster; with `credential_secret`: that Secret)",
				"A ClusterRole given more rules by hand is drift, and so is a ClusterRole that no longer matches what the watched kinds resolve to in the "+
					"target cluster now (a CRD installed or removed there): the apply grants exactly those. The Secrets are rendered with the agent "+
					"credential the bridge holds (read for the check, never stored), so a credential, bridge address or CA changed in them is drift; "+
					"the SpinnakerAccount is checked by `spinnaker_account_installed`."),
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
						Validators:          []validator.String{validators.NamespaceName()}},
					"image": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(defaultSpinopsImage()),
						MarkdownDescription: "The spinops image (it runs `spinops agent`). Defaults to `ghcr.io/spinops/spinops:<provider version>`. Changing it rolls the agent.",
						Validators:          []validator.String{stringvalidator.LengthAtLeast(1)}},
					"replicas": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(1),
						MarkdownDescription: "Agent replicas. One serves the account; the others are refused by the bridge and wait as standbys. Defaults to 1.",
						Validators:          []validator.Int64{int64validator.Between(0, 5)}},
					"requests": schema.MapAttribute{Optional: true, ElementType: types.StringType,
						MarkdownDescription: "Resource requests, e.g. `{ cpu = \"100m\", memory = \"128Mi\" }`.", Validators: []validator.Map{validators.Quantities()}},
					"limits": schema.MapAttribute{Optional: true, ElementType: types.StringType,
						MarkdownDescription: "Resource limits.", Validators: []validator.Map{validators.Quantities()}},
					"node_selector": schema.MapAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: "Node selector of the agent's pods."},
					"bridge_address": schema.StringAttribute{Optional: true,
						MarkdownDescription: "host:port the agent dials, when it differs from the provider's `bridge.address` (e.g. a load balancer in front of the bridge).",
						Validators:          []validator.String{validators.HostPort()}},
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
				MarkdownDescription: "For `infrastructure` mode: write the agent credential (key `credential`), the bridge address " +
					"(`bridge-address`) and CA (`ca.crt`) into this Secret, where the agent that serves the account mounts it (`credentialFile` in its config).",
				Attributes: map[string]schema.Attribute{
					"namespace": schema.StringAttribute{Optional: true, MarkdownDescription: "Namespace of the Secret (required in the block).",
						Validators: []validator.String{validators.NamespaceName()}},
					"name": schema.StringAttribute{Optional: true, MarkdownDescription: "Name of the Secret. Defaults to `spinops-agent-<name>`."},
				},
				Blocks: map[string]schema.Block{"kubernetes": connBlock("The cluster the Secret goes to.")},
			},
			"spinnaker": schema.SingleNestedBlock{
				MarkdownDescription: "Make the account visible to Spinnaker: a `SpinnakerAccount` (`spinnaker.io/v1alpha2`, type Kubernetes) and a Secret " +
					"`spinops-account-<name>` with a kubeconfig for the account's endpoint on the bridge. The Spinnaker Operator hands it to Clouddriver without a restart.",
				Attributes: map[string]schema.Attribute{
					"namespace": schema.StringAttribute{Optional: true, MarkdownDescription: "Spinnaker's namespace (required in the block).",
						Validators: []validator.String{validators.NamespaceName()}},
					"clouddriver_url": schema.StringAttribute{Optional: true, Computed: true, MarkdownDescription: "Clouddriver's base URL, to which the bridge pushes an on-demand " +
						"re-cache request for each change of a manifest Spinnaker manages. Default: read from the SpinnakerService in `namespace`: " +
						"`http://spin-clouddriver-caching.<namespace>:7002` when it turns Clouddriver's HA mode on " +
						"(`deploymentEnvironment.haServices.clouddriver.enabled`; only the caching service runs the caching agents), else " +
						"`http://spin-clouddriver.<namespace>:7002` (also with no SpinnakerService). Read at plan time (at apply time when the cluster is " +
						"known only then) and again on every refresh, so a zone switched to or from HA is a planned update. Needs list on " +
						"`spinnakerservices.spinnaker.io` in `namespace`; without it the default is used, with a warning. A value set here wins; `\"\"` turns pushes off. " +
						"Clouddriver 1.23 and later re-caches nothing on demand for Kubernetes: the bridge then pauses its pushes and Spinnaker " +
						"sees changes on its caching cycle (see the bridge's architecture notes).",
						Validators: []validator.String{validators.ClouddriverURL()}},
					"cache_interval_seconds": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(attach.DefaultCacheIntervalSeconds),
						MarkdownDescription: fmt.Sprintf("Clouddriver's caching cycle for this account (the account setting `cacheIntervalSeconds`), in seconds. "+
							"Default: %d (Clouddriver's own default is 30). Clouddriver 1.23 and later re-caches nothing on demand for Kubernetes, so this "+
							"cycle is how soon Spinnaker's cache (Deck's clusters view, cache-backed lookups) sees a change. The bridge answers each cycle's lists "+
							"from its cache (a LIST of 10,000 Deployments takes it about 24 ms); the cost is on Clouddriver's side: each cycle runs one `kubectl get` of "+
							"all the account's kinds per namespace (per caching thread) and rebuilds the cache entries of all its objects, so for an account with many "+
							"namespaces or tens of thousands of objects set a longer cycle (or narrow `namespaces`). Set 30 for Clouddriver's default.",
							attach.DefaultCacheIntervalSeconds),
						Validators: []validator.Int64{int64validator.Between(1, 3600)}},
				},
				Blocks: map[string]schema.Block{"kubernetes": connBlock("The Spinnaker cluster.")},
			},
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
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
