package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/monitor"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
)

var (
	_ resource.ResourceWithConfigure      = &zoneResource{}
	_ resource.ResourceWithModifyPlan     = &zoneResource{}
	_ resource.ResourceWithValidateConfig = &zoneResource{}
	_ resource.ResourceWithImportState    = &zoneResource{}
)

func newZoneResource() resource.Resource {
	return &zoneResource{}
}

type zoneResource struct {
	data *providerData
}

func (r *zoneResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_zone"
}

func (r *zoneResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	var diags diag.Diagnostics
	r.data, diags = providerDataFrom(req.ProviderData)
	resp.Diagnostics.Append(diags...)
}

// zoneClients are the clusters a zone works with.
type zoneClients struct {
	control, target *kube.Client
}

func (r *zoneResource) clients(ctx context.Context, m *zoneModel) (*zoneClients, diag.Diagnostics) {
	var diags diag.Diagnostics
	if r.data == nil {
		diags.AddError("Provider not configured", "The spinops provider was not configured; this is a bug in the provider.")
		return nil, diags
	}
	control, d := kubeClient(ctx, r.data, m.ControlKubernetes, path.Root("control_kubernetes"))
	diags.Append(d...)
	if diags.HasError() {
		return nil, diags
	}
	c := &zoneClients{control: control, target: control}
	if m.Kubernetes.isSet() {
		c.target, d = kubeClient(ctx, r.data, m.Kubernetes, path.Root("kubernetes"))
		diags.Append(d...)
	}
	return c, diags
}

func (r *zoneResource) deployer(ctx context.Context, c *zoneClients) *spinnaker.Deployer {
	return &spinnaker.Deployer{Control: c.control, Target: c.target, Now: r.data.now,
		Log: func(msg string, fields map[string]any) { tflog.Info(ctx, msg, fields) }}
}

// ModifyPlan fills the tier- and installation-dependent defaults, detects
// drift of the SpinnakerService, runs the promotion gate and refuses to plan
// the destruction of a protected zone.
func (r *zoneResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		if req.State.Raw.IsNull() {
			return
		}
		var state zoneModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if state.DeletionProtection.ValueBool() {
			resp.Diagnostics.AddError(fmt.Sprintf("Zone %s is deletion-protected", state.Name.ValueString()), deletionProtectedDetail(&state))
		}
		return
	}
	var plan, config zoneModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var state *zoneModel
	if !req.State.Raw.IsNull() {
		state = &zoneModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
	}
	changed := state == nil
	rechecked := false // changed only to deploy what the last refresh could not read
	if state != nil {
		kept, err := zoneKeepsCluster(req.Plan.Raw, req.Config.Raw, req.State.Raw)
		switch {
		case err != nil:
			resp.Diagnostics.AddError(fmt.Sprintf("planning zone (%s)", plan.Name.ValueString()), err.Error())
			return
		case kept.IsNull():
			changed = true
		default:
			// Only what no cluster holds changes (timeouts, wait, ...):
			// the zone keeps what it reads back, and the apply records the
			// new values without deploying or verifying again.
			resp.Plan.Raw = kept
			resp.Diagnostics.Append(resp.Plan.Get(ctx, &plan)...)
			if resp.Diagnostics.HasError() {
				return
			}
		}
		// Not read by the last refresh (pending.go): deployed again,
		// unless it is an adopted zone left alone that is still there.
		if recheckUnread(ctx, req.Private, &resp.Diagnostics) && !r.adoptedZoneStillThere(ctx, req.Private, &plan, state, &resp.Diagnostics) {
			rechecked = !changed
			changed = true
		}
	}

	if !plan.Tier.IsUnknown() {
		production := plan.Tier.ValueString() == spinnaker.TierProduction
		if config.RollbackOnFailure.IsNull() {
			plan.RollbackOnFailure = types.BoolValue(production)
		}
		if config.DeletionProtection.IsNull() {
			plan.DeletionProtection = types.BoolValue(production)
		}
	}
	if !plan.Namespace.IsUnknown() && !plan.Name.IsUnknown() {
		plan.ID = types.StringValue(plan.Namespace.ValueString() + "/" + plan.Name.ValueString())
	}

	inst, op := r.planInstallation(ctx, &plan, state != nil)
	if inst != nil && (plan.ConfigRevision.IsUnknown() || (!plan.ConfigRevision.IsNull() && plan.ConfigRevision.ValueString() != inst.Revision)) {
		// The installation is changed in this same apply: what the zone
		// renders is known only then.
		inst, op = nil, nil
		changed = true
		if config.SpinnakerVersion.IsNull() {
			plan.SpinnakerVersion = types.StringUnknown()
		}
	}
	if inst != nil && config.SpinnakerVersion.IsNull() {
		plan.SpinnakerVersion = types.StringValue(inst.SpinnakerVersion)
		// A version that follows the installation's is a change once that
		// moved, though the zone's own arguments did not (an adopted zone
		// would otherwise keep its adopted spec while the apply re-renders).
		if state != nil && !plan.SpinnakerVersion.Equal(state.SpinnakerVersion) {
			changed = true
		}
	}
	if inst != nil && op != nil && !plan.Namespace.IsUnknown() {
		if err := spinnaker.CheckZoneWatched(op, inst.Namespace, plan.Namespace.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("namespace"), "Zone outside the operator's namespace", err.Error())
			return
		}
	}
	if op != nil && !plan.SpinnakerVersion.IsUnknown() && !plan.SpinnakerVersion.IsNull() {
		if err := spinnaker.CheckSpinnakerVersion(op.Version, plan.SpinnakerVersion.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("spinnaker_version"), "Spinnaker version not deployable by the operator", err.Error())
			return
		}
	}
	adoption, d := adoptionOf(ctx, req.Private)
	resp.Diagnostics.Append(d...)
	if state == nil {
		adoption = nil
	}
	switch {
	case adoption != nil && !changed && state.SpecSHA256.ValueString() == adoption.SpecSHA256:
		// Adopted and left alone since: the SpinnakerService runs as it
		// did, and nothing asks to change it.
	case adoption != nil && !changed:
		resp.Diagnostics.AddWarning(fmt.Sprintf("Zone %s changed since it was adopted", plan.Name.ValueString()),
			"The SpinnakerService's spec was edited since the import adopted it, so this apply re-renders it from the zone's and the installation's arguments, "+
				"which replaces whatever else the spec now holds.")
		fallthrough
	case adoption != nil && changed:
		if adoption.SpecSHA256 == state.SpecSHA256.ValueString() && !rechecked {
			resp.Diagnostics.AddWarning(fmt.Sprintf("Zone %s was adopted: this change re-renders its SpinnakerService", plan.Name.ValueString()),
				"The zone was imported from a SpinnakerService spinops did not make, and has run as it was since. Its first change re-renders the whole spec "+
					"from the zone's and the installation's arguments (what `spinops migrate plan --adopt` wrote, with its report of what it could not map); "+
					"what the old spec held beyond them is replaced. From then on spinops manages the zone like any other.")
		}
		changed = true
	}
	if inst != nil && r.allKnown(&plan) && (adoption == nil || changed) {
		zone, d := expandZone(ctx, &plan)
		resp.Diagnostics.Append(d...)
		if rd, err := spinnaker.Render(inst, zone, nil); err == nil {
			if state == nil || state.SpecSHA256.ValueString() != rd.SpecHash {
				changed = true
			}
			plan.SpecSHA256 = types.StringValue(rd.SpecHash)
			if len(rd.TurnedOff) > 0 {
				resp.Diagnostics.AddWarning(turnedOffWarning(plan.Name.ValueString(), rd.TurnedOff))
			}
			for _, m := range rd.SettingsMissed {
				resp.Diagnostics.AddWarning(settingsMissedWarning(plan.Name.ValueString(), m))
			}
			if len(rd.Recreated) > 0 {
				resp.Diagnostics.AddWarning(recreatedWarning(plan.Name.ValueString(), rd.Recreated))
			}
			budgets := make([]string, len(rd.PDBs))
			for i, p := range rd.PDBs {
				budgets[i] = p.GetName()
			}
			plan.ServicePorts = servicePorts(ctx, rd.Service, &resp.Diagnostics)
			plan.DisruptionBudgets = stringList(budgets)
			if state == nil || !state.DisruptionBudgets.Equal(plan.DisruptionBudgets) {
				changed = true
			}
			bindings := map[string]string{}
			for _, b := range rd.TargetGroupBindings {
				bindings[b.GetName()], _, _ = unstructured.NestedString(b.Object, "spec", "targetGroupARN")
			}
			var d diag.Diagnostics
			plan.TargetGroupBindings, d = types.MapValueFrom(ctx, types.StringType, bindings)
			resp.Diagnostics.Append(d...)
			// (A state from before the attribute holds null; every refresh
			// reads the bindings, so only a plan without one sees it.)
			if state == nil || !state.TargetGroupBindings.Equal(plan.TargetGroupBindings) {
				changed = true
			}
		} else {
			resp.Diagnostics.AddError(fmt.Sprintf("planning zone (%s)", plan.Name.ValueString()), err.Error())
			return
		}
	} else if changed {
		plan.SpecSHA256 = types.StringUnknown()
		plan.ServicePorts = types.MapUnknown(types.Int64Type)
		plan.DisruptionBudgets = types.ListUnknown(types.StringType)
		plan.TargetGroupBindings = types.MapUnknown(types.StringType)
	}
	if changed {
		for _, v := range []*types.String{&plan.Status, &plan.DeployedVersion, &plan.VerifiedVersion, &plan.VerifiedAt, &plan.UIURL, &plan.APIURL} {
			*v = types.StringUnknown()
		}
		plan.Services = types.MapUnknown(zoneServiceType)
	}

	// The promotion gate.
	if inst != nil && plan.Tier.ValueString() == spinnaker.TierProduction && !plan.SpinnakerVersion.IsUnknown() &&
		(state == nil || state.SpinnakerVersion.ValueString() != plan.SpinnakerVersion.ValueString() || state.Tier.ValueString() != plan.Tier.ValueString()) {
		clients, _ := r.clients(ctx, &plan)
		if clients != nil {
			ledger, err := spinnaker.LoadLedger(ctx, clients.control.Clientset, inst.Namespace)
			if err != nil {
				resp.Diagnostics.AddError(fmt.Sprintf("planning zone (%s)", plan.Name.ValueString()), err.Error())
				return
			}
			var perr error
			if e := spinnaker.CheckPromotion(ledger, plan.Name.ValueString(), plan.SpinnakerVersion.ValueString(), inst.Promotion, r.data.now()); e != nil {
				perr = e
			} else if e := spinnaker.CheckSandboxAvailability(ctx, ledger, plan.Name.ValueString(), plan.SpinnakerVersion.ValueString(), inst.Promotion,
				r.data.now(), monitoredAvailability(clients.control)); e != nil {
				perr = e
			}
			if perr != nil {
				if plan.PromotionOverride != nil && !plan.PromotionOverride.Reason.IsNull() {
					resp.Diagnostics.AddAttributeWarning(path.Root("promotion_override"), "Promotion gate overridden",
						fmt.Sprintf("Reason: %s\nThe override will be recorded in the promotion ledger. What the gate said:\n%s", plan.PromotionOverride.Reason.ValueString(), perr))
				} else {
					resp.Diagnostics.AddAttributeError(path.Root("spinnaker_version"), "Spinnaker version not promoted", perr.Error())
					return
				}
			}
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// zoneStateOnly are the zone's arguments no cluster holds: they say how
// the provider deploys (its timeouts, whether it waits and verifies, what
// it does on failure, the promotion override, what happens around an
// upgrade) and whether Terraform may destroy the zone. A change of them
// alone is recorded in state; they take effect at the zone's next deploy.
var zoneStateOnly = []string{"timeouts", "wait", "verification", "rollback_on_failure", "deletion_protection",
	"promotion_override", "upgrade_notifications", "backup_before_upgrade"}

// objectNames lists services by their Kubernetes objects' names
// (spin-<service>), comma-separated.
func objectNames(services []string) string {
	objects := make([]string, len(services))
	for i, n := range services {
		objects[i] = "spin-" + n
	}
	return strings.Join(objects, ", ")
}

// turnedOffWarning is the plan's warning about a zone whose service-settings
// turn off services Spinnaker needs (spinnaker.Rendered.TurnedOff).
func turnedOffWarning(zone string, services []string) (summary, detail string) {
	return fmt.Sprintf("Zone %s runs without %s", zone, objectNames(services)),
		fmt.Sprintf("service_settings (the zone's or the installation's, or their global `spinnaker` key, which the Spinnaker Operator merges under every service but Deck) "+
			"set `enabled: false` for %s, so Halyard will not deploy them. The zone still becomes ready and passes verification, which follow what Halyard deploys, "+
			"but Spinnaker does not work without them. Remove the setting, or set `skipLifeCycleManagement: true` for a service you run yourself.", strings.Join(services, ", "))
}

// recreatedWarning is the plan's warning about a zone's HA services under
// Halyard's recreate deployment strategy (spinnaker.Rendered.Recreated).
func recreatedWarning(zone string, services []string) (summary, detail string) {
	return fmt.Sprintf("Zone %s stops %s entirely at every rollout", zone, objectNames(services)),
		fmt.Sprintf("service_settings give %s kubernetes.deploymentStrategy type recreate (Kubernetes' Recreate: every old pod is stopped before "+
			"a new one starts), so each upgrade or configuration change takes them down however many replicas HA gives them; their disruption "+
			"budgets guard node drains, not a Deployment's own rollout. Use rollingUpdate, Halyard's default, for services that must stay up.",
			strings.Join(services, ", "))
}

// settingsMissedWarning says which HA services service-settings do not
// reach (spinnaker.Rendered.SettingsMissed).
func settingsMissedWarning(zone string, m spinnaker.MissedSettings) (summary, detail string) {
	services := strings.Join(m.Services, ", ")
	summary = fmt.Sprintf("Zone %s: service_settings %q do not reach %s", zone, m.Key, services)
	why := fmt.Sprintf("Halyard reads the settings of the HA services %s under their own names only, not under %q", services, m.Key)
	if m.Key == "spinnaker" {
		why = fmt.Sprintf("The global key reaches the services the Spinnaker Operator knows (its BOM: gate, orca, clouddriver, front50, rosco, igor, "+
			"echo, fiat, kayenta), not the HA services %s, whose settings Halyard reads under their own names only", services)
	}
	return summary, fmt.Sprintf("%s (%s). If they need the same (a pull secret, a CA volume, a node selector), repeat those settings under each of "+
		"their names in service_settings.", why, strings.Join(m.Settings, ", "))
}

// zoneKeepsCluster decides whether a planned update of a zone changes
// nothing a cluster holds. If so it returns the plan with every value the
// framework marked unknown only because the resource changes (a computed
// value the configuration leaves out) set back to the state's; otherwise,
// a null value. An unknown the configuration itself holds (a value from
// another resource) is a change: what it will be is not known.
func zoneKeepsCluster(plan, config, state tftypes.Value) (tftypes.Value, error) {
	none := tftypes.NewValue(plan.Type(), nil)
	kept, err := tftypes.Transform(plan, func(p *tftypes.AttributePath, v tftypes.Value) (tftypes.Value, error) {
		if v.IsKnown() {
			return v, nil
		}
		if c, _, err := tftypes.WalkAttributePath(config, p); err == nil {
			if cv, ok := c.(tftypes.Value); ok && !cv.IsNull() {
				return v, nil // the configuration's own unknown
			}
		}
		if s, _, err := tftypes.WalkAttributePath(state, p); err == nil {
			if sv, ok := s.(tftypes.Value); ok {
				return sv, nil
			}
		}
		return v, nil
	})
	if err != nil {
		return none, fmt.Errorf("comparing the plan with the state: %w", err)
	}
	withoutStateOnly := func(v tftypes.Value) (tftypes.Value, error) {
		return tftypes.Transform(v, func(p *tftypes.AttributePath, v tftypes.Value) (tftypes.Value, error) {
			if steps := p.Steps(); len(steps) == 1 {
				if name, ok := steps[0].(tftypes.AttributeName); ok && slices.Contains(zoneStateOnly, string(name)) {
					return tftypes.NewValue(v.Type(), nil), nil
				}
			}
			return v, nil
		})
	}
	a, err := withoutStateOnly(kept)
	if err != nil {
		return none, fmt.Errorf("comparing the plan with the state: %w", err)
	}
	b, err := withoutStateOnly(state)
	if err != nil {
		return none, fmt.Errorf("comparing the plan with the state: %w", err)
	}
	if !a.Equal(b) {
		return none, nil
	}
	return kept, nil
}

// planInstallation reads the installation and its operator record at plan
// time. nil means the plan cannot know it yet (connection unknown,
// installation created in the same apply); apply checks again.
func (r *zoneResource) planInstallation(ctx context.Context, plan *zoneModel, exists bool) (*spinnaker.Installation, *spinnaker.OperatorRecord) {
	if r.data == nil || plan.ManagedSpinnakerID.IsUnknown() || plan.ManagedSpinnakerID.IsNull() {
		return nil, nil
	}
	clients, diags := r.clients(ctx, plan)
	if diags.HasError() {
		tflog.Debug(ctx, "no control cluster connection at plan time", map[string]any{"diagnostics": fmt.Sprint(diags)})
		return nil, nil
	}
	inst, op, err := spinnaker.LoadInstallationWithOperator(ctx, clients.control.Clientset, plan.ManagedSpinnakerID.ValueString())
	if err != nil {
		tflog.Debug(ctx, "installation not readable at plan time", map[string]any{"error": err.Error(), "zone_exists": exists})
		return nil, nil
	}
	return inst, op
}

// allKnown reports whether everything the rendering depends on is known.
func (r *zoneResource) allKnown(m *zoneModel) bool {
	for _, v := range []attr.Value{m.Name, m.Namespace, m.Tier, m.SpinnakerVersion, m.Profiles, m.ServiceSettings, m.ConfigOverrides} {
		if v.IsUnknown() {
			return false
		}
	}
	if m.HA != nil && (m.HA.Enabled.IsUnknown() || m.HA.ClouddriverSplit.IsUnknown() || m.HA.Replicas.IsUnknown()) {
		return false
	}
	if e := m.Expose; e != nil {
		for _, v := range []attr.Value{e.Type, e.DeckHost, e.GateHost, e.TLSSecret, e.Annotations, e.SourceRanges, e.TargetGroups} {
			if v.IsUnknown() {
				return false
			}
		}
		if !e.TargetGroups.IsNull() {
			for _, v := range e.TargetGroups.Attributes() {
				if v.IsUnknown() {
					return false
				}
			}
		}
	}
	return true
}

// adoptedZoneStillThere is, for a zone its last refresh could not read
// (pending.go), whether it is adopted, left alone since, and its
// SpinnakerService is still there: it is then not deployed again, since
// re-rendering an adopted zone's spec is a change only a change of its
// arguments may make. While the connection is still unknown (the plan the
// user sees) that cannot be told, so the zone is planned as an update; the
// apply's final plan, with the connection known, finds it there and plans
// no change, which Terraform and OpenTofu then apply as none. On a new
// cluster it is missing and is rendered there.
func (r *zoneResource) adoptedZoneStillThere(ctx context.Context, private privateState, plan, state *zoneModel, diags *diag.Diagnostics) bool {
	adoption, d := adoptionOf(ctx, private)
	diags.Append(d...)
	if adoption == nil || state.SpecSHA256.ValueString() != adoption.SpecSHA256 || len(r.data.pendingFor(false, plan.ControlKubernetes)) > 0 {
		return false
	}
	clients, d := r.clients(ctx, plan)
	if d.HasError() {
		return false // the apply reports it
	}
	_, err := clients.target.Get(ctx, spinnaker.SpinnakerServiceGVK, state.Namespace.ValueString(), state.Name.ValueString())
	if err != nil && !apierrors.IsNotFound(err) {
		diags.AddError(fmt.Sprintf("planning zone (%s)", plan.Name.ValueString()), fmt.Sprintf("reading the adopted SpinnakerService %s/%s: %v",
			state.Namespace.ValueString(), state.Name.ValueString(), err))
	}
	return err == nil
}

func (r *zoneResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan zoneModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, 30*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r.deploy(ctx, "creating", &plan, nil, timeout, &resp.State, &resp.Diagnostics)
}

func (r *zoneResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state zoneModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, 30*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if !plan.Status.IsUnknown() {
		// ModifyPlan kept what the zone reads back: only what no cluster
		// holds changed (zoneStateOnly), so there is nothing to deploy.
		tflog.Info(ctx, "zone unchanged in the cluster: state updated only", map[string]any{"zone": plan.Name.ValueString()})
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
		return
	}
	r.deploy(ctx, "updating", &plan, &state, timeout, &resp.State, &resp.Diagnostics)
	if !resp.Diagnostics.HasError() {
		// An adopted zone is spinops' own once a change was rendered.
		resp.Diagnostics.Append(clearAdoption(ctx, resp.Private)...)
		clearUnread(ctx, resp.Private, &resp.Diagnostics)
	}
}

// stateSetter is what Create and Update responses share.
type stateSetter interface {
	Set(ctx context.Context, val any) diag.Diagnostics
}

// deploy applies plan (state is the zone before, nil on create), waits,
// verifies and records, and sets the resulting state, also on failure.
func (r *zoneResource) deploy(ctx context.Context, verb string, plan, state *zoneModel, timeout time.Duration, out stateSetter, diags *diag.Diagnostics) {
	summary := fmt.Sprintf("%s zone (%s)", verb, plan.Name.ValueString())
	clients, d := r.clients(ctx, plan)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	inst, op, err := spinnaker.LoadInstallationWithOperator(ctx, clients.control.Clientset, plan.ManagedSpinnakerID.ValueString())
	if err != nil {
		diags.AddAttributeError(path.Root("managed_spinnaker_id"), summary, err.Error())
		return
	}
	zone, d := expandZone(ctx, plan)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	if plan.SpinnakerVersion.IsUnknown() || plan.SpinnakerVersion.IsNull() {
		plan.SpinnakerVersion = types.StringValue(inst.SpinnakerVersion)
		zone.Version = inst.SpinnakerVersion
	}
	ledger, err := spinnaker.LoadLedger(ctx, clients.control.Clientset, inst.Namespace)
	if err != nil {
		diags.AddError(summary, err.Error())
		return
	}
	if rec, ok := ledger.Zones[zone.Name]; ok && rec.DeletedAt == nil && rec.Namespace != zone.Namespace && state == nil {
		diags.AddAttributeError(path.Root("name"), summary, fmt.Sprintf("the installation already has a zone %q (namespace %s); zone names are unique within an installation", zone.Name, rec.Namespace))
		return
	}

	opts := spinnaker.DeployOptions{Wait: plan.Wait.ValueBool(), Timeout: timeout, Verify: true, VerifyVia: "proxy",
		RollbackOnError: plan.RollbackOnFailure.ValueBool(), VerifyOptions: spinnaker.VerifyOptions{Attempts: 5, Interval: 5 * time.Second}}
	if v := plan.Verification; v != nil {
		opts.Verify = v.Enabled.ValueBool()
		opts.VerifyVia = v.Via.ValueString()
		opts.VerifyOptions.Attempts = int(v.Attempts.ValueInt64())
		opts.VerifyOptions.Interval, _ = time.ParseDuration(v.Interval.ValueString())
	}
	if e := zone.Expose; e != nil {
		opts.DeckURL, opts.GateURL = e.URLs()
	}
	// The gate again at apply time: the plan may not have known the
	// installation, and the ledger may have changed since.
	if zone.Tier == spinnaker.TierProduction && (state == nil || state.SpinnakerVersion.ValueString() != plan.SpinnakerVersion.ValueString() || state.Tier.ValueString() != plan.Tier.ValueString()) {
		var refusal error
		if perr := spinnaker.CheckPromotion(ledger, zone.Name, zone.Version, inst.Promotion, r.data.now()); perr != nil {
			refusal = perr
		} else if aerr := spinnaker.CheckSandboxAvailability(ctx, ledger, zone.Name, zone.Version, inst.Promotion, r.data.now(),
			monitoredAvailability(clients.control)); aerr != nil {
			refusal = aerr
		}
		if refusal != nil {
			if plan.PromotionOverride == nil || plan.PromotionOverride.Reason.IsNull() {
				diags.AddAttributeError(path.Root("spinnaker_version"), "Spinnaker version not promoted", refusal.Error())
				return
			}
			opts.Override = &spinnaker.Override{Version: zone.Version, Reason: plan.PromotionOverride.Reason.ValueString()}
		}
	}
	if state != nil {
		prev, d := expandZone(ctx, state)
		diags.Append(d...)
		opts.Previous = prev
	}

	if b := plan.BackupBeforeUpgrade; b != nil && state != nil && state.SpinnakerVersion.ValueString() != "" &&
		state.SpinnakerVersion.ValueString() != plan.SpinnakerVersion.ValueString() {
		if !r.backupBeforeUpgrade(ctx, clients.control, b, state.SpinnakerVersion.ValueString(), zone, diags) {
			return
		}
	}
	var announce func(phase monitor.ChangePhase, result, detail string)
	if n := plan.UpgradeNotifications; n != nil && state != nil && state.SpinnakerVersion.ValueString() != "" &&
		state.SpinnakerVersion.ValueString() != plan.SpinnakerVersion.ValueString() {
		announce = r.upgradeAnnouncer(ctx, clients.control, n.MonitorID.ValueString(), plan.ManagedSpinnakerID.ValueString(), zone, state.SpinnakerVersion.ValueString(), diags)
		announce(monitor.ChangeStarted, "", "")
		opts.OnVerifying = func() { announce(monitor.ChangeVerifying, "", "") }
		if n.CountAsMaintenance.ValueBool() {
			endMaintenance := r.upgradeMaintenance(ctx, clients.target, zone, state.SpinnakerVersion.ValueString(), timeout, diags)
			defer endMaintenance()
		}
	}
	tflog.Info(ctx, "deploying zone", map[string]any{"zone": zone.Name, "namespace": zone.Namespace, "version": zone.Version, "tier": zone.Tier})
	dep := r.deployer(ctx, clients)
	dep.Operator = op
	res, err := dep.Deploy(ctx, inst, zone, opts)
	if announce != nil {
		switch {
		case res != nil && res.RolledBack:
			announce(monitor.ChangeFinished, "rolled back", errString(err))
		case err != nil:
			announce(monitor.ChangeFinished, "failed", err.Error())
		case opts.Wait && opts.Verify:
			announce(monitor.ChangeFinished, "verified", "")
		default:
			announce(monitor.ChangeFinished, "applied", "not verified: the zone does not wait")
		}
	}
	if err != nil {
		diags.AddError(summary, err.Error())
		if res == nil {
			return
		}
	}
	// On a completed rollback the zone is what it was: keep the previous
	// arguments so that the next plan proposes the change again.
	result := plan
	if res != nil && res.RolledBack && state != nil {
		prevState := *state
		result = &prevState
	}
	if res != nil && res.Object != nil {
		r.flatten(ctx, result, res.Object, clients, inst.Namespace, diags)
	}
	if res != nil && len(res.LeftRunning) > 0 {
		diags.AddWarning(leftRunningWarning(plan.Name.ValueString(), res.LeftRunning))
	}
	diags.Append(out.Set(ctx, result)...)
}

// leftRunningWarning says which services the zone no longer runs still run
// after an apply that does not wait: the operator never removes one, and
// spinops removes them only once the zone is ready.
func leftRunningWarning(zone string, names []string) (string, string) {
	return fmt.Sprintf("Zone %s still runs %s", zone, strings.Join(names, ", ")),
		fmt.Sprintf("The zone no longer runs %s, and the Spinnaker Operator never removes a service its configuration stops asking for. spinops "+
			"removes them once the zone is ready, and this apply did not wait (wait = false); until an apply with wait = true, they keep running "+
			"beside the services that replace them (two Echo schedulers fire each cron trigger twice). Apply with wait = true, or delete their "+
			"Deployments and Services once the zone is ready.", strings.Join(names, ", "))
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// upgradeAnnouncer announces a zone's upgrade to the endpoints of a
// spinops_monitor, read from its Secret in the cluster (the write-only
// values never pass through Terraform). Nothing it does fails the upgrade:
// an endpoint it cannot read or reach is a warning.
func (r *zoneResource) upgradeAnnouncer(ctx context.Context, c *kube.Client, monitorID, installation string, zone *spinnaker.Zone, from string, diags *diag.Diagnostics) func(monitor.ChangePhase, string, string) {
	ns, name, _ := strings.Cut(monitorID, "/")
	var announcers []monitor.Announcer
	sec, err := c.Clientset.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		diags.AddAttributeWarning(path.Root("upgrade_notifications"), "Upgrade not announced",
			fmt.Sprintf("reading the endpoints of monitor %s (Secret %s/%s): %v", monitorID, ns, name, err))
	} else {
		if u := string(sec.Data[monitorKeyWebhook]); u != "" {
			announcers = append(announcers, &monitor.Webhook{ID: "upgrades", URL: u})
		}
		if u := string(sec.Data[monitorKeySlack]); u != "" {
			announcers = append(announcers, &monitor.Slack{URL: u})
		}
		if k := string(sec.Data[monitorKeyPagerDuty]); k != "" {
			announcers = append(announcers, &monitor.PagerDuty{RoutingKey: k})
		}
		if len(announcers) == 0 {
			diags.AddAttributeWarning(path.Root("upgrade_notifications"), "Upgrade not announced",
				fmt.Sprintf("monitor %s has no notification endpoint (its notify block is empty)", monitorID))
		}
	}
	return func(phase monitor.ChangePhase, result, detail string) {
		ch := monitor.Change{Installation: installation, Zone: zone.Name, Tier: monitor.Tier(zone.Tier), Phase: phase,
			From: from, To: zone.Version, Result: result, Detail: detail, At: r.data.now()}
		for _, a := range announcers {
			actx, cancel := context.WithTimeout(ctx, 30*time.Second)
			if err := a.Announce(actx, ch); err != nil {
				diags.AddAttributeWarning(path.Root("upgrade_notifications"), "Upgrade announcement failed", err.Error())
			}
			cancel()
		}
	}
}

// upgradeMaintenance records the upgrade as a maintenance window in the
// zone's monitor state, bounded by the update's timeout, and returns what
// closes it. Failing to record is a warning: the upgrade goes on, counted.
func (r *zoneResource) upgradeMaintenance(ctx context.Context, c *kube.Client, zone *spinnaker.Zone, from string, timeout time.Duration, diags *diag.Diagnostics) func() {
	store := &monitor.ConfigMapStore{Client: c.Clientset}
	ref := monitor.ZoneRef{Name: zone.Name, Namespace: zone.Namespace}
	now := r.data.now()
	w := monitor.RecordedMaintenance{ID: "upgrade-" + zone.Version + "-" + now.UTC().Format("20060102T150405Z"), Start: now, End: now.Add(timeout),
		Reason: fmt.Sprintf("upgrade %s → %s (spinops_zone)", from, zone.Version)}
	write := func(ctx context.Context) error {
		// The zero shape: keep whatever ring the monitor keeps.
		_, err := store.Update(ctx, ref, monitor.RingShape{}, func(st *monitor.ZoneState) error {
			st.SetMaintenance(w, r.data.now())
			return nil
		})
		return err
	}
	if err := write(ctx); err != nil {
		diags.AddAttributeWarning(path.Root("upgrade_notifications"), "Upgrade not recorded as maintenance", err.Error())
		return func() {}
	}
	bound := w.End
	return func() {
		w.End = r.data.now()
		// The apply's context may be done (a timeout); closing the window
		// still must happen.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := write(cctx); err != nil {
			diags.AddAttributeWarning(path.Root("upgrade_notifications"), "Maintenance window left open",
				fmt.Sprintf("closing the upgrade's maintenance window failed (it ends by itself at %s): %v", bound.UTC().Format(time.RFC3339), err))
		}
	}
}

// monitoredAvailability reads a sandbox zone's checks since a time from
// the SLI the spinops monitor keeps in the zone's namespace (the ConfigMap
// spinops_zone_slo reads).
func monitoredAvailability(c *kube.Client) spinnaker.AvailabilityReader {
	store := &monitor.ConfigMapStore{Client: c.Clientset}
	return func(ctx context.Context, zone, namespace string, since, now time.Time) (spinnaker.Measured, bool, error) {
		st, err := store.Load(ctx, monitor.ZoneRef{Name: zone, Namespace: namespace})
		if err != nil || st == nil || st.Ring == nil {
			return spinnaker.Measured{}, false, err
		}
		cnt := st.Ring.Since(since, now)
		return spinnaker.Measured{Good: cnt.Good, Bad: cnt.Bad}, true, nil
	}
}

// backupBeforeUpgrade runs one backup of the configured policy before an
// upgrade and reports whether the upgrade may go on; when it may not, diags
// say why and the zone has not been touched.
func (r *zoneResource) backupBeforeUpgrade(ctx context.Context, c *kube.Client, b *backupBeforeUpgradeModel, from string, zone *spinnaker.Zone, diags *diag.Diagnostics) bool {
	ns, name, _ := strings.Cut(b.PolicyID.ValueString(), "/")
	timeout := 30 * time.Minute
	if d, err := time.ParseDuration(b.Timeout.ValueString()); err == nil && d > 0 {
		timeout = d
	}
	tflog.Info(ctx, "backing up before the upgrade", map[string]any{"zone": zone.Name, "from": from, "to": zone.Version, "policy": b.PolicyID.ValueString()})
	job, err := backup.RunPolicyNow(ctx, c.Clientset, ns, name, "pre-upgrade", timeout)
	if err != nil {
		diags.AddAttributeError(path.Root("backup_before_upgrade"), "Backup before the upgrade failed",
			fmt.Sprintf("the upgrade of zone %s from %s to %s was not started and the zone is unchanged: %v", zone.Name, from, zone.Version, err))
		return false
	}
	tflog.Info(ctx, "backup before the upgrade complete", map[string]any{"zone": zone.Name, "job": job.Namespace + "/" + job.Name})
	return true
}

func (r *zoneResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state zoneModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || keepUnread(ctx, req, resp, "zone "+state.Name.ValueString(), r.data.pendingFor(false, state.ControlKubernetes)) {
		return
	}
	clients, diags := r.clients(ctx, &state)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ns, name := state.Namespace.ValueString(), state.Name.ValueString()
	obj, err := clients.target.Get(ctx, spinnaker.SpinnakerServiceGVK, ns, name)
	if apierrors.IsNotFound(err) {
		tflog.Warn(ctx, "the SpinnakerService is gone; removing the zone from state", map[string]any{"namespace": ns, "name": name})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("reading zone (%s)", name), err.Error())
		return
	}
	if state.Tier.IsNull() {
		// Imported (tier is required, so only an import leaves it null):
		// everything comes from the object.
		adopted, d := importedZone(ctx, &state, obj)
		resp.Diagnostics.Append(d...)
		if resp.Diagnostics.HasError() {
			return
		}
		if adopted {
			resp.Diagnostics.Append(setAdoption(ctx, resp.Private, obj)...)
		}
	} else if obj.GetAnnotations()[spinnaker.AnnotationZone] != "" {
		// Re-rendered by spinops since an adoption: no longer adopted.
		resp.Diagnostics.Append(clearAdoption(ctx, resp.Private)...)
	}
	r.flatten(ctx, &state, obj, clients, state.ManagedSpinnakerID.ValueString(), &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *zoneResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state zoneModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	summary := fmt.Sprintf("deleting zone (%s)", state.Name.ValueString())
	if state.DeletionProtection.ValueBool() {
		resp.Diagnostics.AddError(summary, deletionProtectedDetail(&state))
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, 10*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	clients, diags := r.clients(ctx, &state)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	zone, diags := expandZone(ctx, &state)
	resp.Diagnostics.Append(diags...)
	inst, err := spinnaker.LoadInstallation(ctx, clients.control.Clientset, state.ManagedSpinnakerID.ValueString())
	if err != nil && !errors.Is(err, spinnaker.ErrInstallationNotFound) {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	if err := r.deployer(ctx, clients).Destroy(ctx, inst, zone, timeout); err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
	}
}

// ImportState takes <namespace>/<name> for a zone spinops made (its
// settings are read back from its annotation), or
// <managed_spinnaker_id>/<namespace>/<name> to adopt a SpinnakerService
// spinops did not make (docs/migration.md, "Adopting an operator install in
// place"). Read does the rest.
func (r *zoneResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	parts := strings.Split(req.ID, "/")
	for _, p := range parts {
		if p == "" {
			parts = nil
		}
	}
	var installation, ns, name string
	switch len(parts) {
	case 2:
		ns, name = parts[0], parts[1]
	case 3:
		installation, ns, name = parts[0], parts[1], parts[2]
	default:
		resp.Diagnostics.AddError("Invalid import id", fmt.Sprintf("%q: import a zone spinops made by <namespace>/<name> (e.g. spinnaker-green/green), "+
			"or adopt a SpinnakerService it did not make by <managed_spinnaker_id>/<namespace>/<name> (e.g. spinnaker-operator/spinnaker/spinnaker).", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), ns+"/"+name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("namespace"), ns)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	if installation != "" {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("managed_spinnaker_id"), installation)...)
	}
	markImported(ctx, resp)
}

func deletionProtectedDetail(m *zoneModel) string {
	return fmt.Sprintf("Zone %s (%s, namespace %s) has deletion_protection = true, so it cannot be destroyed. "+
		"To destroy it, first apply deletion_protection = false, then destroy.", m.Name.ValueString(), m.Tier.ValueString(), m.Namespace.ValueString())
}
