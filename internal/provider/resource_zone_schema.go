package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
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

	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
)

func (r *zoneResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	computed := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "One Spinnaker instance of a `spinops_managed_spinnaker` installation: a SpinnakerService in its own namespace " +
			"(optionally on its own cluster) with a `tier`: `sandbox` (the red zone, which proves upgrades and configuration first) or " +
			"`production` (the green zone, which only takes what a sandbox verified).\n\n" +
			"Create and update render and server-side-apply the SpinnakerService (credentials go to the Secret `<name>-spinops-credentials`, " +
			"never into the custom resource), wait for the operator to report `OK` with every service ready, then verify: Gate `/health`, " +
			"Deck `/` and every other service's `/health`, through the API server's service proxy (or the exposed URLs), with retries. " +
			"The result goes to the installation's promotion ledger. A failed verification is an error listing each failing check; with " +
			"`rollback_on_failure` the previous version and configuration are re-applied and waited for. An update that changes only " +
			"what no cluster holds (`timeouts`, `wait`, `verification`, `rollback_on_failure`, `deletion_protection`, `promotion_override`, " +
			"`upgrade_notifications`, `backup_before_upgrade`) is recorded in state: the zone is neither applied nor verified again, its " +
			"read-back values stay known in the plan, and the new values take effect at its next deploy.\n\n" +
			"**Promotion gate:** a production zone's plan is refused when it asks for a version that no sandbox zone of the installation verified " +
			"at least the installation's `promotion.soak` ago; the diagnostic names what each sandbox verified and when, and how long remains. " +
			"`promotion_override` lets an emergency through and is recorded in the ledger.\n\n" +
			"Out-of-band edits of the SpinnakerService show up as a planned change of `spec_sha256` (and of `spinnaker_version` when the version was edited).\n\n" +
			"**Import:** a zone spinops made by `<namespace>/<name>`. A SpinnakerService spinops did not make is adopted in place by " +
			"`<managed_spinnaker_id>/<namespace>/<name>` (`spinops migrate plan --adopt` writes the import block and the matching arguments): it runs " +
			"as it is, with an empty plan, until the zone's first change re-renders it.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "`<namespace>/<name>`.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"managed_spinnaker_id": schema.StringAttribute{Required: true, PlanModifiers: replace,
				MarkdownDescription: "The `id` of the `spinops_managed_spinnaker` this zone belongs to."},
			"name": schema.StringAttribute{Required: true, PlanModifiers: replace,
				Validators:          []validator.String{validators.DNSLabel(), stringvalidator.LengthAtMost(40)},
				MarkdownDescription: "The zone's name (e.g. `red`, `green`), also the SpinnakerService's name; unique within the installation."},
			"tier": schema.StringAttribute{Required: true,
				Validators:          []validator.String{stringvalidator.OneOf(spinnaker.TierSandbox, spinnaker.TierProduction)},
				MarkdownDescription: "`sandbox` (red: proves changes first) or `production` (green: gated by promotion, deletion-protected by default)."},
			"namespace": schema.StringAttribute{Required: true, PlanModifiers: replace,
				Validators:          []validator.String{validators.NamespaceName()},
				MarkdownDescription: "The namespace the zone runs in; created when missing."},
			"spinnaker_version": schema.StringAttribute{Optional: true, Computed: true,
				Validators:          []validator.String{validators.SpinnakerVersion()},
				MarkdownDescription: "The Spinnaker version; defaults to the installation's `spinnaker_version`."},
			"profiles": schema.MapAttribute{Optional: true, ElementType: types.StringType, Validators: []validator.Map{validators.YAMLMappings()},
				MarkdownDescription: "Per-service profile YAML merged over the installation's. A `server.port` other than the service's port " +
					"(its service settings' `port`, from which Halyard writes `server.port` itself) is refused at plan time: the service would listen " +
					"where its Service sends no traffic (Gate exposed as a Service excepted, whose target port the operator moves). So is any " +
					"`server.port` (nested or spelled `server.port`) of a service whose service settings turn Halyard's exec readiness probe into a TCP " +
					"or HTTP one (`kubernetes.useTcpProbe: true`, `kubernetes.useExecHealthCheck: false`, an empty `healthEndpoint`, Deck's without one): the Spinnaker " +
					"Operator's server-port transformer would crash on it, stopping the operator for every zone it serves."},
			"service_settings": schema.MapAttribute{Optional: true, ElementType: types.StringType, Validators: []validator.Map{validators.YAMLMappings()},
				MarkdownDescription: "Per-service service-settings YAML merged over the installation's. `port` is the port of the service's Kubernetes Service " +
					"and container (Halyard's), which readiness, verification and the zone's Ingress and TargetGroupBindings follow (a whole " +
					"number from 1 to 65535). `kubernetes.serviceAnnotations` annotates the service's " +
					"Kubernetes Service (e.g. GKE's `cloud.google.com/neg`); for `deck` and `gate` only without `expose { type = \"service\" }`, where the " +
					"operator replaces those Services' annotations with `expose.annotations` (refused at plan time). The key `spinnaker` is global: the " +
					"operator merges it under every service of its BOM but Deck (a service's own values win), so its `enabled`, `targetSize` and " +
					"`skipLifeCycleManagement` decide for them too; not under the HA services (`clouddriver-rw`, `echo-worker`, ...), whose settings " +
					"Halyard reads under their own names only (neither the global ones nor `clouddriver`'s or `echo`'s reach them: a plan names what misses them). Its lists (`kubernetes.imagePullSecrets`, `kubernetes.volumes`) are put before each of those services' own, as the " +
					"operator means to but does not do where a service's own `kubernetes` holds other keys. Lists of the zone's replace the " +
					"installation's. Every Clouddriver mounts the agent accounts' tokens after its own `kubernetes.volumes`; a volume needs an `id`, a " +
					"`mountPath` and a `type` Halyard knows, and an id given twice to one service is refused at plan time. `kubernetes.podLabels` " +
					"may not set `app`, `cluster` or `app.kubernetes.io/name` to anything but Halyard's own (`spin`, `spin-<service>`, `<service>`): " +
					"Halyard writes them after its own labels, and the pods would not match their Deployment's selector or be seen by the " +
					"operator's status. `kubernetes.deploymentStrategy` takes Halyard's spelling (`type` `rollingUpdate` or `recreate`; `strategySettings` " +
					"`maxSurge`, `maxUnavailable`, with `rollingUpdate` only), and a plan warns when it stops an HA zone's services at every rollout " +
					"(`recreate`). A plan warns when " +
					"`enabled: false` turns off a service Spinnaker needs (any but fiat, igor, kayenta and rosco): the zone would be ready and " +
					"verified without it."},
			"config_overrides": schema.StringAttribute{Optional: true, Validators: []validator.String{validators.YAMLMapping()},
				MarkdownDescription: "Halyard configuration YAML merged last, after the installation's `config_overrides`."},
			"wait": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Wait for readiness and verify after every change. Ready means the operator has deployed the change (a new `status.lastDeployed` hash for a changed `spinnakerConfig` or `kustomize`), reports `OK` at the version with every service's replicas ready, and every `spin-<service>` Deployment has rolled out. " +
					"`false` applies and returns (the ledger records verification as skipped): " +
					"for slow clusters, and for clusters where Spinnaker's pods cannot run. A zone applied without waiting proves nothing to the promotion gate, " +
					"and the services a change stops running (the unsplit Clouddriver and Echo after HA is turned on, the split ones after it is turned off) are " +
					"removed only by an apply that waits: until then the apply warns, naming them."},
			"rollback_on_failure": schema.BoolAttribute{Optional: true, Computed: true,
				MarkdownDescription: "When readiness or verification fails on update, re-apply the previous version and configuration and wait for it. Defaults to `true` for production, `false` for sandbox."},
			"deletion_protection": schema.BoolAttribute{Optional: true, Computed: true,
				MarkdownDescription: "Refuse to destroy the zone. Defaults to `true` for production, `false` for sandbox."},
			"status": computed("The operator's overall status: `OK`, `Updating`, `Unavailable`, `N/A` or `Failure`."),
			"services": schema.MapAttribute{Computed: true, ElementType: zoneServiceType,
				MarkdownDescription: "Service name → `{ image, replicas, ready_replicas, ready }` as the operator reports them."},
			"config_revision": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Pass `spinops_managed_spinnaker.<x>.config_revision`: a change of the installation's shared configuration then " +
					"updates this zone in the same apply (without it, the zone picks the change up at its next apply)."},
			"deployed_version": computed("The version the operator reports deployed."),
			"verified_version": computed("The version the zone runs, when it passed verification here (empty otherwise)."),
			"verified_at":      computed("When `verified_version` first passed verification here (RFC 3339)."),
			"ui_url": computed("Deck's URL: the base URL rendered from `expose.deck_host` (any expose type), else, with `expose { type = \"service\" }`, " +
				"the URL of Deck's load balancer as the operator reports it once the load balancer has an address (empty before); empty without `expose`."),
			"api_url": computed("Gate's URL: the base URL rendered from `expose.gate_host` (any expose type), else, with `expose { type = \"service\" }`, " +
				"the URL of Gate's load balancer as the operator reports it once the load balancer has an address (empty before); empty without `expose`."),
			"spec_sha256": computed("SHA-256 of the SpinnakerService's spec in the cluster; a planned change means the rendering changed or the object was edited out of band."),
			"target_group_bindings": schema.MapAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "The TargetGroupBindings spinops keeps for the zone (`expose { type = \"aws-target-groups\" }`), name → target group ARN, as found " +
					"in the cluster. A planned change means one was deleted or repointed out of band (or the rendering changed), and the apply restores them."},
			"service_ports": schema.MapAttribute{Computed: true, ElementType: types.Int64Type,
				MarkdownDescription: "The ports of `spin-deck`'s and `spin-gate`'s Services (keys `deck` and `gate`): the public ports with " +
					"`expose { type = \"service\" }`, otherwise the `port` of their service settings or Spinnaker's defaults (9000 and 8084). " +
					"Give them to `spinops_monitor`'s `zone` (`deck_port`, `gate_port`) when it checks the zone through the service proxy."},
			"disruption_budgets": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "The PodDisruptionBudgets spinops keeps for the zone (one per service with 2 or more replicas under `ha`), as found in the cluster. " +
					"A planned change means one was deleted out of band (or the rendering changed), and the apply restores them."},
		},
		Blocks: map[string]schema.Block{
			"kubernetes": func() schema.SingleNestedBlock {
				b := resourceKubernetesBlock()
				b.MarkdownDescription = "The cluster this zone runs on, when not the installation's control cluster. The installation's operator " +
					"(CRDs, RBAC, Deployment, as its `operator` block says) is installed there too, since only an operator in the same cluster reconciles " +
					"a SpinnakerService; it stays when the zone is destroyed, for other zones on that cluster. " + kubeOverrideDesc
				return b
			}(),
			"control_kubernetes": func() schema.SingleNestedBlock {
				b := resourceKubernetesBlock()
				b.MarkdownDescription = "How to reach the installation's control cluster (shared configuration, credentials, promotion ledger), when the " +
					"`spinops_managed_spinnaker` uses its own `kubernetes` block: give the same block here. Defaults to the provider's connection. " + kubeOverrideDesc
				return b
			}(),
			"ha": schema.SingleNestedBlock{
				MarkdownDescription: "High availability: every scalable service runs `replicas` replicas, Clouddriver runs split (caching / rw / ro / ro-deck, " +
					"the read-only ones on the SQL read replica), Echo runs as scheduler + worker, and the polling services (echo-scheduler, igor) run exactly one replica. " +
					"Turning HA on or off leaves the operator's Deployments of the services no longer run (the Spinnaker Operator never removes them); once the zone is " +
					"ready, spinops deletes them and their Services, which needs `delete` on `deployments` and `services` in the zone's namespace.",
				Attributes: map[string]schema.Attribute{
					"enabled":           schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true), MarkdownDescription: "Turn HA on. Defaults to `true` when the block is present."},
					"clouddriver_split": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true), MarkdownDescription: "Split Clouddriver. Defaults to `true`."},
					"replicas": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(2), Validators: []validator.Int64{int64validator.Between(1, 50)},
						MarkdownDescription: "Replicas of each scalable service. Defaults to 2. With 2 or more, each of those services is spread over the availability " +
							"zones (see `zone_spread`) and gets a PodDisruptionBudget (`maxUnavailable: 1`) so that a node drain takes one replica at a time; with 1 neither."},
					"zone_spread": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(spinnaker.ZoneSpreadRequired),
						Validators: []validator.String{stringvalidator.OneOf(spinnaker.ZoneSpreads...)},
						MarkdownDescription: "How each service with 2 or more replicas is spread over the availability zones (`" + spinnaker.TopologyZone + "`, maxSkew 1): " +
							"`required` (default; a replica is only scheduled where the service stays spread, so no zone holds all of them — nodes must carry the zone label) or " +
							"`preferred` (spread when possible, e.g. on a cluster whose nodes have no zone label). Either way the replicas are also spread over nodes when possible. " +
							"Rendered as the operator's `spec.kustomize` patches of each service's Deployment."},
				},
			},
			"expose": schema.SingleNestedBlock{
				MarkdownDescription: "Make Deck (80/443) and Gate (8084/443), and nothing else, reachable by users. With `type = \"service\"` an apply " +
					"that changes the block is ready once `spin-deck`'s and `spin-gate`'s Services show the change (type, port, annotations such as the " +
					"source ranges); removing the block or leaving type `service` has the operator deploy again, so they go back to ClusterIP Services " +
					"(the operator would not notice that on its own: spinops clears the SpinnakerService's `status.lastDeployed.config`, which needs `update` " +
					"on `spinnakerservices/status`).",
				Attributes: map[string]schema.Attribute{
					"type": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(spinnaker.ExposeService),
						Validators: []validator.String{stringvalidator.OneOf(spinnaker.ExposeService, spinnaker.ExposeIngress, spinnaker.ExposeAWSTargetGroups)},
						MarkdownDescription: "`service` (LoadBalancer Services through the operator), `ingress` (one Ingress for both hosts) or `aws-target-groups` " +
							"(Deck's and Gate's pods registered in the IP target groups of load balancers made outside the cluster, modules/aws/edge's, by the " +
							"AWS Load Balancer Controller's TargetGroupBindings, which the zone keeps; the URLs are https, the load balancers terminating TLS)."},
					"target_groups": schema.SingleNestedAttribute{Optional: true,
						MarkdownDescription: "With `type = \"aws-target-groups\"`: the ARNs of the IP target groups (modules/aws/edge's `target_group_arns`). `deck` binds " +
							"the Service spin-deck (port 9000), `gate` spin-gate (8084), `gate_x509` Gate's x509 API port (the gate profile's `default.apiPort`, " +
							"required for it) through a Service the zone makes, `<zone>-gate-x509`. The cluster must serve TargetGroupBinding (the AWS Load " +
							"Balancer Controller, modules/aws/lb-controller): checked before anything is applied.",
						Attributes: map[string]schema.Attribute{
							"deck":      schema.StringAttribute{Optional: true, Validators: []validator.String{targetGroupARNValidator}, MarkdownDescription: "Deck's target group."},
							"gate":      schema.StringAttribute{Optional: true, Validators: []validator.String{targetGroupARNValidator}, MarkdownDescription: "Gate's target group."},
							"gate_x509": schema.StringAttribute{Optional: true, Validators: []validator.String{targetGroupARNValidator}, MarkdownDescription: "The target group of Gate's x509 API port."},
						}},
					"deck_host":   schema.StringAttribute{Optional: true, MarkdownDescription: "Deck's host name; sets Deck's base URL."},
					"gate_host":   schema.StringAttribute{Optional: true, MarkdownDescription: "Gate's host name; sets Gate's base URL."},
					"tls_secret":  schema.StringAttribute{Optional: true, MarkdownDescription: "A TLS Secret in the zone's namespace; with it the URLs are https and the ports 443."},
					"annotations": schema.MapAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: "Annotations of the Services or the Ingress."},
					"source_ranges": schema.ListAttribute{Optional: true, ElementType: types.StringType,
						MarkdownDescription: "CIDRs allowed to connect (load balancer source ranges, or ingress-nginx's whitelist)."},
				},
			},
			"verification": schema.SingleNestedBlock{
				MarkdownDescription: "Post-upgrade verification. Without this block: through the API server's service proxy, 5 attempts 5s apart per check.",
				Attributes: map[string]schema.Attribute{
					"enabled": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true), MarkdownDescription: "Verify after readiness."},
					"via": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("proxy"),
						Validators:          []validator.String{stringvalidator.OneOf("proxy", "exposed")},
						MarkdownDescription: "`proxy`: every service through the API server's service proxy; `exposed`: Gate and Deck through `expose`'s hosts."},
					"attempts": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(5), Validators: []validator.Int64{int64validator.Between(1, 100)},
						MarkdownDescription: "Attempts per check."},
					"interval": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("5s"), Validators: []validator.String{validators.Duration()},
						MarkdownDescription: "Time between attempts."},
				},
			},
			"upgrade_notifications": schema.SingleNestedBlock{
				MarkdownDescription: "Announce every upgrade (a change of `spinnaker_version` on an existing zone) to the endpoints of a `spinops_monitor`: " +
					"when it starts, and when it finished (verified, applied without waiting, rolled back, or failed, with what went wrong). The webhook gets " +
					"`kind = \"change\"`, Slack a line, PagerDuty a change event (never an incident). An endpoint that cannot be reached is a warning, never a failed upgrade.",
				Attributes: map[string]schema.Attribute{
					"monitor_id": schema.StringAttribute{Optional: true, MarkdownDescription: "The `id` of the `spinops_monitor` whose endpoints to use (`<namespace>/<name>`). Required in this block.",
						Validators: []validator.String{validators.NamespacedName()}},
					"count_as_maintenance": schema.BoolAttribute{Optional: true,
						MarkdownDescription: "Also record each announced upgrade as a maintenance window in the zone's SLI (the monitor's state in the zone's namespace): " +
							"its checks do not count against the SLO, as the managed service's SLA excludes announced upgrades. The window opens bounded by the update timeout " +
							"(so an interrupted apply leaves a bounded window) and closes when the upgrade ends. Default `false`."},
				},
			},
			"backup_before_upgrade": schema.SingleNestedBlock{
				MarkdownDescription: "Back up before every upgrade: when `spinnaker_version` changes on an existing zone, the apply first runs one backup of this " +
					"`spinops_backup_policy` (a Job from its CronJob, as `kubectl create job --from=cronjob/...` makes it, in the provider's cluster) and waits for it. " +
					"If the backup fails or does not finish within `timeout`, the upgrade is refused and the zone is left as it was.",
				Attributes: map[string]schema.Attribute{
					"policy_id": schema.StringAttribute{Optional: true, MarkdownDescription: "The `id` of the `spinops_backup_policy` (`<namespace>/<name>`). Required in this block.",
						Validators: []validator.String{validators.NamespacedName()}},
					"timeout": schema.StringAttribute{Optional: true, MarkdownDescription: "How long the backup may take (default `30m`). It counts against the update timeout.",
						Validators: []validator.String{validators.Duration()}},
				},
			},
			"promotion_override": schema.SingleNestedBlock{
				MarkdownDescription: "Let a production zone take a version the promotion gate refuses (an emergency fix). The reason is recorded in the promotion ledger. Remove it afterwards.",
				Attributes: map[string]schema.Attribute{
					"reason": schema.StringAttribute{Optional: true, Validators: []validator.String{stringvalidator.LengthAtLeast(10)},
						MarkdownDescription: "Why the gate is overridden (required in this block; at least 10 characters)."},
				},
			},
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *zoneResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m zoneModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if o := m.PromotionOverride; o != nil && o.Reason.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("promotion_override").AtName("reason"), "Missing reason", "promotion_override needs a reason; it is recorded in the promotion ledger.")
	}
	if o := m.PromotionOverride; o != nil && m.Tier.ValueString() == spinnaker.TierSandbox {
		resp.Diagnostics.AddAttributeWarning(path.Root("promotion_override"), "Override on a sandbox zone", "Sandbox zones are not gated; promotion_override has no effect here.")
	}
	if n := m.UpgradeNotifications; n != nil && n.MonitorID.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("upgrade_notifications").AtName("monitor_id"), "Missing monitor",
			"upgrade_notifications needs monitor_id: the id of the spinops_monitor whose endpoints announce upgrades (spinops_monitor.<name>.id).")
	}
	if b := m.BackupBeforeUpgrade; b != nil && b.PolicyID.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("backup_before_upgrade").AtName("policy_id"), "Missing backup policy",
			"backup_before_upgrade needs policy_id: the id of the spinops_backup_policy to run before an upgrade (spinops_backup_policy.<name>.id).")
	}
	if h := m.HA; h != nil && (h.Enabled.IsNull() || h.Enabled.ValueBool()) && !h.Replicas.IsUnknown() && !h.Replicas.IsNull() && h.Replicas.ValueInt64() < 2 {
		resp.Diagnostics.AddAttributeWarning(path.Root("ha").AtName("replicas"), "HA with one replica",
			"With ha.replicas = 1 every service runs a single replica: nothing is spread over the availability zones and no PodDisruptionBudget is made "+
				"(one on a single replica would block every node drain). Set replicas to 2 or more for high availability.")
	}
	if e := m.Expose; e != nil {
		if e.DeckHost.IsNull() && e.GateHost.IsNull() && e.Type.ValueString() == spinnaker.ExposeIngress {
			resp.Diagnostics.AddAttributeError(path.Root("expose").AtName("deck_host"), "Missing host", "An ingress needs deck_host and/or gate_host.")
		}
		if !e.Type.IsUnknown() {
			typ := e.Type.ValueString()
			if typ == "" {
				typ = spinnaker.ExposeService // the default
			}
			aws := typ == spinnaker.ExposeAWSTargetGroups
			switch {
			case aws && e.TargetGroups.IsNull():
				resp.Diagnostics.AddAttributeError(path.Root("expose").AtName("target_groups"), "Missing target groups",
					"expose type \"aws-target-groups\" needs target_groups: the ARNs of the IP target groups to register Deck's and Gate's pods in "+
						"(modules/aws/edge's output target_group_arns: deck, gate, gate_x509).")
			case !aws && !e.TargetGroups.IsNull():
				resp.Diagnostics.AddAttributeError(path.Root("expose").AtName("target_groups"), "Target groups without their type",
					"target_groups is for expose type \"aws-target-groups\" (load balancers made outside the cluster); with type \""+typ+
						"\" the load balancer is made in the cluster. Set type = \"aws-target-groups\" or remove target_groups.")
			case aws && (!e.TLSSecret.IsNull() || !e.Annotations.IsNull() || !e.SourceRanges.IsNull()):
				resp.Diagnostics.AddAttributeError(path.Root("expose").AtName("type"), "Settings of another exposure",
					"With expose type \"aws-target-groups\" the load balancers are made outside the cluster (modules/aws/edge): TLS is their certificate and who may "+
						"connect their security groups, and no Service or Ingress is made to annotate. Remove tls_secret, annotations and source_ranges.")
			}
		}
	}
	if v := m.Verification; v != nil && v.Via.ValueString() == "exposed" && (m.Expose == nil || (m.Expose.DeckHost.IsNull() && m.Expose.GateHost.IsNull())) {
		resp.Diagnostics.AddAttributeError(path.Root("verification").AtName("via"), "Nothing exposed", "verification.via = \"exposed\" needs expose { deck_host / gate_host }.")
	}
}

// targetGroupARNValidator checks an Elastic Load Balancing target group ARN.
var targetGroupARNValidator = stringvalidator.RegexMatches(spinnaker.TargetGroupARN,
	"must be a target group ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID), e.g. modules/aws/edge's target_group_arns.deck")
