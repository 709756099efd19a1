package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/float64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/float64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"

	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
)

func (r *monitorResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	wo := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Optional: true, WriteOnly: true, Sensitive: true, MarkdownDescription: desc +
			" Write-only: written to the monitor's Secret, never stored in state or plan; raise `secrets_wo_version` to write a new value."}
	}
	url := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Optional: true, MarkdownDescription: desc, Validators: []validator.String{validators.BaseURL()}}
	}
	conn := resourceKubernetesBlock()
	conn.MarkdownDescription = "The cluster the monitor runs in (the zones' namespaces are there). Defaults to the provider's connection. " + kubeOverrideDesc

	resp.Schema = schema.Schema{
		MarkdownDescription: "The spinops monitor (`spinops monitor`), deployed into the cluster: synthetic checks of every zone on an interval, the " +
			"availability SLI per zone kept in a ConfigMap of the zone's namespace (read it with `spinops_zone_slo`), and the SRE workbook's " +
			"burn-rate alerts to a webhook, Slack or PagerDuty (production pages, sandbox tickets). It installs a ServiceAccount with the least " +
			"RBAC the monitor needs, the configuration (a ConfigMap, no secret), a Secret with the Gate credentials and notification endpoints " +
			"(write-only), a one-replica Deployment, and, when the cluster serves `monitoring.coreos.com/v1` PrometheusRule, the same " +
			"burn-rate rules for Alertmanager. Every refresh checks those objects for edits and deletions made outside Terraform " +
			"(`drifted_objects`); the next apply puts them back. See docs/monitoring.md.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "`<namespace>/<name>`; also the import id.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("spinops-monitor"), PlanModifiers: replace,
				MarkdownDescription: "Name of the monitor's objects.", Validators: []validator.String{validators.DNSLabel()}},
			"namespace": schema.StringAttribute{Required: true, PlanModifiers: replace,
				MarkdownDescription: "Namespace the monitor runs in (it must exist, e.g. the operator's).", Validators: []validator.String{validators.NamespaceName()}},
			"installation": schema.StringAttribute{Required: true,
				MarkdownDescription: "The installation's name in alerts and metrics (e.g. `spinops_managed_spinnaker.this.id`).",
				Validators:          []validator.String{stringvalidator.LengthBetween(1, 63)}},
			"image": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(defaultSpinopsImage()),
				MarkdownDescription: "The spinops image (it runs `spinops monitor`). Defaults to `ghcr.io/spinops/spinops:<provider version>`."},
			"slo": schema.Float64Attribute{Optional: true, Computed: true, Default: float64default.StaticFloat64(0.999),
				MarkdownDescription: "The availability objective (default 0.999: 43 minutes of error budget in 30 days).",
				Validators:          []validator.Float64{float64validator.Between(0.5, 0.99999)}},
			"interval": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("30s"),
				MarkdownDescription: "How often every zone is checked.", Validators: []validator.String{validators.Duration()}},
			"check_timeout": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("10s"),
				MarkdownDescription: "Timeout of one check.", Validators: []validator.String{validators.Duration()}},
			"prometheus_rule": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Also install the burn-rate rules as a PrometheusRule when the cluster serves the kind (prometheus-operator)."},
			"prometheus_rule_labels": schema.MapAttribute{Optional: true, ElementType: types.StringType,
				MarkdownDescription: "Labels of the PrometheusRule (a Prometheus's `ruleSelector` usually selects on one, e.g. `release = \"kube-prometheus-stack\"`)."},
			"prometheus_rule_installed": schema.BoolAttribute{Computed: true, PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()},
				MarkdownDescription: "Whether the PrometheusRule was installed (false when the cluster does not serve the kind)."},
			"drifted_objects": driftedObjectsAttribute("monitor's objects", "The Secret is only checked to exist (its values are write-only)."),
			"secrets_wo_version": schema.Int64Attribute{Optional: true,
				MarkdownDescription: "Change this number to write the write-only values (`gate_auth`, `notify`) again. They are written only then (and when a Gate " +
					"username changes): an update that keeps the number while the configuration gives other write-only values than the monitor's Secret " +
					"holds (one removed, one added) is refused at plan time, since the monitor would be told to read what the Secret does not hold. " +
					"A Secret that is missing (deleted, or a new cluster behind a connection known only after apply) is written from the apply's values " +
					"whatever the number. Recorded on the Secret, so an import reads it back."},
			"wait": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Wait for the Deployment to roll out (when the cluster has nodes at all; a cluster without any gets a warning instead)."},
		},
		Blocks: map[string]schema.Block{
			"kubernetes": conn,
			"zone": schema.ListNestedBlock{
				MarkdownDescription: "A zone to check. Its SLI goes to the ConfigMap `spinops-monitor-<name>` of its namespace, where `spinops_zone_slo` reads it.",
				Validators:          []validator.List{listvalidator.SizeAtLeast(1)},
				NestedObject: schema.NestedBlockObject{Attributes: map[string]schema.Attribute{
					"name": schema.StringAttribute{Required: true, MarkdownDescription: "The zone's name (`spinops_zone.<z>.name`).", Validators: []validator.String{validators.DNSLabel()}},
					"namespace": schema.StringAttribute{Required: true, MarkdownDescription: "The zone's namespace (`spinops_zone.<z>.namespace`).",
						Validators: []validator.String{validators.NamespaceName()}},
					"tier": schema.StringAttribute{Required: true, MarkdownDescription: "`production` (alerts page) or `sandbox` (alerts only open tickets): `spinops_zone.<z>.tier`.",
						Validators: []validator.String{stringvalidator.OneOf(spinnaker.TierSandbox, spinnaker.TierProduction)}},
					"gate_url": url("Gate's URL as users reach it (e.g. `https://api.spinnaker.example.com`). Without `gate_url` and `deck_url` the zone is checked through the API server's service proxy."),
					"deck_url": url("Deck's URL as users reach it."),
					"gate_port": schema.Int64Attribute{Optional: true, Validators: []validator.Int64{int64validator.Between(1, 65535)},
						MarkdownDescription: "The port of `spin-gate`'s Service, for the service proxy (without `gate_url` and `deck_url`): " +
							"`spinops_zone.<z>.service_ports[\"gate\"]`. Default 8084, Spinnaker's; a zone exposed as a Service, or with a `port` " +
							"in Gate's service settings, listens elsewhere, and the checks of a wrong port all fail."},
					"deck_port": schema.Int64Attribute{Optional: true, Validators: []validator.Int64{int64validator.Between(1, 65535)},
						MarkdownDescription: "The port of `spin-deck`'s Service, for the service proxy: `spinops_zone.<z>.service_ports[\"deck\"]`. Default 9000."},
				},
					Blocks: map[string]schema.Block{
						"gate_auth": schema.SingleNestedBlock{
							MarkdownDescription: "This zone's own Gate credentials (its own identity provider or Fiat), instead of the top-level `gate_auth`.",
							Attributes: map[string]schema.Attribute{
								"username":    schema.StringAttribute{Optional: true, MarkdownDescription: "User for Gate's basic authentication."},
								"password_wo": wo("Its password."),
								"token_wo":    wo("A bearer token instead of a username and password."),
							},
						},
					}},
			},
			"maintenance_window": schema.ListNestedBlock{
				MarkdownDescription: "Declared maintenance: checks in the window do not count against the SLO (as the managed service's SLA excludes them).",
				NestedObject: schema.NestedBlockObject{Attributes: map[string]schema.Attribute{
					"zone":  schema.StringAttribute{Optional: true, MarkdownDescription: "The zone's name; unset: every zone."},
					"start": schema.StringAttribute{Required: true, MarkdownDescription: "RFC 3339 start.", Validators: []validator.String{validators.RFC3339()}},
					"end":   schema.StringAttribute{Required: true, MarkdownDescription: "RFC 3339 end.", Validators: []validator.String{validators.RFC3339()}},
				}},
			},
			"gate_auth": schema.SingleNestedBlock{
				MarkdownDescription: "Credentials for the checks that need them (list applications: Front50; list credentials: Clouddriver; the canary pipeline). " +
					"Without this block only Gate's `/health` and Deck are checked.",
				Attributes: map[string]schema.Attribute{
					"username":    schema.StringAttribute{Optional: true, MarkdownDescription: "User for Gate's basic authentication."},
					"password_wo": wo("Its password."),
					"token_wo":    wo("A bearer token instead of a username and password."),
				},
			},
			"notify": schema.SingleNestedBlock{
				MarkdownDescription: "Where alerts go (each with retries, deduplication and a resolved message).",
				Attributes: map[string]schema.Attribute{
					"webhook_url_wo":           wo("A generic JSON webhook."),
					"slack_url_wo":             wo("A Slack incoming-webhook URL."),
					"pagerduty_routing_key_wo": wo("A PagerDuty Events v2 routing key."),
				},
			},
			"canary_pipeline": schema.SingleNestedBlock{
				MarkdownDescription: "The deepest check: start a no-op pipeline through Gate and wait for it (needs `gate_auth`).",
				Attributes: map[string]schema.Attribute{
					"application": schema.StringAttribute{Optional: true, MarkdownDescription: "The application (required in this block)."},
					"pipeline":    schema.StringAttribute{Optional: true, MarkdownDescription: "The pipeline's name (required in this block)."},
					"timeout":     schema.StringAttribute{Optional: true, MarkdownDescription: "How long it may run (default 20s).", Validators: []validator.String{validators.Duration()}},
					"create": schema.BoolAttribute{Optional: true, MarkdownDescription: "Create the pipeline (one one-second Wait stage), and its application when Gate does not know it either, " +
						"when Gate answers that it does not exist (default `true`; the monitor's Gate user needs the right to create applications and pipelines). " +
						"With `false`, a missing pipeline fails the check."},
				},
			},
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

// ValidateConfig refuses what the monitor itself would refuse to start with.
func (r *monitorResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m monitorModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if g := m.GateAuth; g != nil {
		if !g.TokenWO.IsNull() && !g.Username.IsNull() {
			resp.Diagnostics.AddAttributeError(path.Root("gate_auth"), "Two kinds of Gate credentials", "gate_auth: give token_wo, or username and password_wo, not both.")
		}
		if !g.Username.IsUnknown() && !g.PasswordWO.IsUnknown() && g.Username.IsNull() != g.PasswordWO.IsNull() {
			resp.Diagnostics.AddAttributeError(path.Root("gate_auth"), "Incomplete Gate credentials", "gate_auth: a username needs password_wo, and password_wo a username.")
		}
	}
	if c := m.CanaryPipeline; c != nil {
		if c.Application.IsNull() || c.Pipeline.IsNull() {
			resp.Diagnostics.AddAttributeError(path.Root("canary_pipeline"), "Incomplete canary pipeline", "canary_pipeline needs application and pipeline.")
		}
		if m.GateAuth == nil {
			resp.Diagnostics.AddAttributeError(path.Root("canary_pipeline"), "Canary pipeline without credentials", "the canary pipeline is started through Gate's API: add gate_auth.")
		}
	}
	interval, ierr := time.ParseDuration(m.Interval.ValueString())
	timeout, terr := time.ParseDuration(m.CheckTimeout.ValueString())
	if m.Interval.IsNull() {
		interval, ierr = 30*time.Second, nil
	}
	if m.CheckTimeout.IsNull() {
		timeout, terr = 10*time.Second, nil
	}
	if ierr == nil && terr == nil && !m.Interval.IsUnknown() && !m.CheckTimeout.IsUnknown() && timeout >= interval {
		resp.Diagnostics.AddAttributeError(path.Root("check_timeout"), "Check timeout not shorter than the interval",
			fmt.Sprintf("the check timeout (%s) must be shorter than the interval (%s): a round must end before the next starts", timeout, interval))
	}
	seen := map[string]bool{}
	for i, z := range m.Zones {
		if g := z.GateAuth; g != nil {
			if !g.TokenWO.IsNull() && !g.Username.IsNull() {
				resp.Diagnostics.AddAttributeError(path.Root("zone").AtListIndex(i).AtName("gate_auth"), "Two kinds of Gate credentials", "zone gate_auth: give token_wo, or username and password_wo, not both.")
			}
			if !g.Username.IsUnknown() && !g.PasswordWO.IsUnknown() && g.Username.IsNull() != g.PasswordWO.IsNull() {
				resp.Diagnostics.AddAttributeError(path.Root("zone").AtListIndex(i).AtName("gate_auth"), "Incomplete Gate credentials", "zone gate_auth: a username needs password_wo, and password_wo a username.")
			}
		}
		if (!z.GatePort.IsNull() || !z.DeckPort.IsNull()) && (!z.GateURL.IsNull() || !z.DeckURL.IsNull()) {
			resp.Diagnostics.AddAttributeError(path.Root("zone").AtListIndex(i).AtName("gate_port"), "Service ports beside URLs",
				"zone gate_port and deck_port are the Services' ports for checks through the API server's service proxy, which a zone with gate_url or "+
					"deck_url does not use: remove them, or the URLs.")
		}
		if z.Name.IsUnknown() {
			continue
		}
		if seen[z.Name.ValueString()] {
			resp.Diagnostics.AddAttributeError(path.Root("zone").AtListIndex(i).AtName("name"), "Zone checked twice", "zone "+z.Name.ValueString()+" is listed twice.")
		}
		seen[z.Name.ValueString()] = true
	}
}
