package provider

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/attach"
	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"

	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
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

// Modes as Terraform spells them, and as the bridge does.
func (r *agentAccountResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_agent_account"
}

func (r *agentAccountResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	var diags diag.Diagnostics
	r.data, diags = providerDataFrom(req.ProviderData)
	resp.Diagnostics.Append(diags...)
	if r.waitInterval == 0 {
		r.waitInterval = time.Second
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
	var state *agentAccountModel
	if !req.State.Raw.IsNull() {
		state = &agentAccountModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
		if resp.Diagnostics.HasError() {
			return
		}
		// Objects changed or deleted outside Terraform (found by Read): the
		// plan shows them going away, and the apply puts them back.
		if len(state.DriftedObjects.Elements()) > 0 {
			plan.DriftedObjects = noDrift()
		}
		// Not read by the last refresh (pending.go): applied again, and
		// registered again (a new id) if the bridge is a new one.
		if recheckUnread(ctx, req.Private, &resp.Diagnostics) {
			plan.DriftedObjects, plan.ID = types.ListUnknown(types.StringType), types.StringUnknown()
		}
		if adoptsRotation(ctx, req.Private, state, &plan) {
			resp.Diagnostics.AddAttributeWarning(path.Root("credential_rotation"), "credential_rotation adopted, not rotated",
				fmt.Sprintf("Account %q was imported, and no bridge records credential_rotation: the apply records %q in state and keeps the "+
					"credential the agent runs with. Change credential_rotation afterwards to rotate it.", plan.Name.ValueString(), plan.CredentialRotation.ValueString()))
		}
	}
	if plan.Spinnaker != nil {
		var configured types.String
		resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("spinnaker").AtName("clouddriver_url"), &configured)...)
		if configured.IsNull() {
			prior := types.StringUnknown()
			if state != nil && state.Spinnaker != nil && !state.Spinnaker.ClouddriverURL.IsNull() {
				prior = state.Spinnaker.ClouddriverURL
			}
			plan.Spinnaker.ClouddriverURL = r.planClouddriverURL(ctx, plan.Spinnaker, prior)
		}
	}
	changing := true
	if state != nil {
		changing = !agentAccountUnchanged(state, &plan)
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

// planClouddriverURL is the Clouddriver URL the SpinnakerService in the
// spinnaker namespace asks for (spinnaker.ClouddriverURL), read at plan
// time so a zone switched to or from HA mode is a planned update. When it
// cannot be read yet (the cluster is known only at apply, or not reachable
// from where the plan runs, or the namespace has no SpinnakerService yet:
// the zone is made in the same apply) it is the prior value, or unknown for
// a new account: apply reads it then (resolveClouddriverURL).
func (r *agentAccountResource) planClouddriverURL(ctx context.Context, m *agentSpinnakerModel, prior types.String) types.String {
	if r.data == nil || m.Namespace.IsUnknown() || m.Namespace.IsNull() {
		return types.StringUnknown()
	}
	var quiet diag.Diagnostics
	c := kubeClientAt(ctx, r.data, m.Kubernetes, path.Root("spinnaker").AtName("kubernetes"), &quiet)
	if c == nil || quiet.HasError() {
		return prior
	}
	url, _, deployed, err := spinnaker.ClouddriverURL(ctx, c, m.Namespace.ValueString())
	if err != nil {
		tflog.Warn(ctx, "could not read the SpinnakerService at plan time; apply reads it", map[string]any{"err": err.Error()})
		return prior
	}
	if !deployed {
		// No SpinnakerService yet: a zone made in the same apply decides
		// (with HA, spin-clouddriver-caching). A known guess now would
		// differ from what apply finds.
		return prior
	}
	return types.StringValue(url)
}

// resolveClouddriverURL sets spinnaker.clouddriver_url when the plan left
// it unknown, from the SpinnakerService at apply time. Without permission
// to list SpinnakerServices it takes spin-clouddriver, with a warning.
func (r *agentAccountResource) resolveClouddriverURL(ctx context.Context, m *agentAccountModel, diags *diag.Diagnostics) {
	if m.Spinnaker == nil || !m.Spinnaker.ClouddriverURL.IsUnknown() || m.Spinnaker.Namespace.IsNull() {
		return
	}
	c := kubeClientAt(ctx, r.data, m.Spinnaker.Kubernetes, path.Root("spinnaker").AtName("kubernetes"), diags)
	if c == nil {
		return
	}
	url, _, _, err := spinnaker.ClouddriverURL(ctx, c, m.Spinnaker.Namespace.ValueString())
	if err != nil {
		diags.AddAttributeWarning(path.Root("spinnaker").AtName("clouddriver_url"), "Could not tell whether Clouddriver runs in HA mode",
			err.Error()+"\n\nThe bridge pushes re-cache requests to "+url+"; with Clouddriver in HA mode they belong to spin-clouddriver-caching. "+
				"Grant list on spinnakerservices.spinnaker.io in the namespace, or set spinnaker.clouddriver_url.")
	}
	m.Spinnaker.ClouddriverURL = types.StringValue(url)
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

// credentialSecretObjects is what credential_secret writes.
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

	admin := bridgeAdmin(r.data, &resp.Diagnostics)
	if admin == nil {
		return
	}
	defer admin.Close()
	r.resolveClouddriverURL(ctx, &plan, &resp.Diagnostics)
	spec := plan.spec(ctx, &resp.Diagnostics)
	a := r.prepare(ctx, &plan, spec, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}

	applied, err := a.Apply(ctx, admin, attach.ApplyOptions{})
	if err != nil {
		applyFailed(err, spec.GetName(), &resp.Diagnostics)
		return
	}
	tflog.Info(ctx, "account registered and attached", map[string]any{"account": spec.GetName(), "id": applied.Account.GetId()})

	plan.ID = types.StringValue(applied.Account.GetId())
	if plan.waits() {
		err := a.Wait(ctx, admin, r.waitInterval)
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
	plan.DriftedObjects = noDrift()
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateImported, nil)...) // updated once: no longer just imported
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// applyFailed turns a failed attach.Apply into a diagnostic.
func applyFailed(err error, name string, diags *diag.Diagnostics) {
	var se *attach.StepError
	if !errors.As(err, &se) {
		diags.AddError("Attaching the account failed", err.Error())
		return
	}
	msg := se.Err.Error()
	switch se.Step {
	case attach.StepRegister:
		if attach.IsAlreadyExists(se.Err) {
			diags.AddAttributeError(path.Root("name"), "Account name already registered",
				msg+". To manage the existing account with Terraform, import it: terraform import <address> "+name)
			return
		}
		diags.AddError("Registering the account failed", msg)
	case attach.StepUpdate:
		diags.AddError("Updating the registration failed", msg)
	case attach.StepRotate:
		diags.AddError("Rotating the agent credential failed", msg)
	case attach.StepAttach:
		if !se.RolledBack {
			diags.AddError("Updating the attachment failed", msg)
			return
		}
		if se.Rollback != nil {
			msg += fmt.Sprintf("\n\nRemoving what was made also failed (remove it by hand): %v", se.Rollback)
		} else {
			msg += "\n\nThe registration and the objects applied so far were removed."
		}
		diags.AddError("Attaching the account failed", msg)
	default:
		diags.AddError("Attaching the account failed", msg)
	}
}

// attachmentPaths point each part of an attachment at its configuration.
// attachment translates the model into the attachment it describes, with
// the clients of its clusters. A part whose translation or client fails is
// left out, and the failure is in diags.
// prepare translates the model and checks, before anything is registered,
// that the install can succeed (attach.Attachment.Prepare).
func (r *agentAccountResource) prepare(ctx context.Context, m *agentAccountModel, spec *bridgev1.AccountSpec, diags *diag.Diagnostics) *attach.Attachment {
	a := r.attachment(ctx, m, spec, diags)
	if diags.HasError() {
		return a
	}
	if err := a.Prepare(ctx); err != nil {
		var ce *attach.CheckError
		if errors.As(err, &ce) {
			diags.AddAttributeError(attachmentPaths[ce.Part], ce.Summary, ce.Err.Error())
		} else {
			diags.AddError("Checking the attachment failed", err.Error())
		}
		return a
	}
	if err := a.Incomplete(); err != nil {
		diags.AddAttributeWarning(attachmentPaths[attach.PartKinds], "Not every API group of the target cluster could be discovered",
			fmt.Sprintf("%v. The agent's ClusterRole grants only the kinds that were discovered: those of the groups that did not answer are not "+
				"watched until an apply grants them. Once the group answers again, the next plan lists the ClusterRole under drifted_objects "+
				"and an apply grants the rest (kubectl get apiservices shows which aggregated API is unavailable).", err))
	}
	return a
}

// Read refreshes the account from the bridge (its registration and
// status) and checks that what it installed in the target cluster and in
// Spinnaker's namespace is still there.
func (r *agentAccountResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state agentAccountModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || keepUnread(ctx, req, resp, "agent account "+state.Name.ValueString(), r.data.pendingFor(true, state.clusters()...)) {
		return
	}
	admin := bridgeAdmin(r.data, &resp.Diagnostics)
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
	var in *attach.AgentInstall
	var target *kube.Client
	if state.InstallAgent != nil {
		in = r.install(ctx, &state, spec, &resp.Diagnostics)
		if target = kubeClientAt(ctx, r.data, state.InstallAgent.Kubernetes, path.Root("install_agent").AtName("kubernetes"), &resp.Diagnostics); target != nil && in != nil {
			state.AgentInstalled = r.present(ctx, "agent", func() ([]string, error) { return in.Missing(ctx, target) }, state.AgentInstalled, &resp.Diagnostics)
		}
	}
	// Edits outside Terraform of what the apply made for the agent.
	if state.DriftedObjects = r.agentDrift(ctx, admin, &state, in, target, &resp.Diagnostics); resp.Diagnostics.HasError() {
		return
	}
	if state.Spinnaker != nil {
		// What the last apply wrote: Missing also reports a settings or
		// permissions change made out of band, so the plan writes them back.
		sa := spinnakerAccountOf(&state, spec)
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
	admin := bridgeAdmin(r.data, &resp.Diagnostics)
	if admin == nil {
		return
	}
	defer admin.Close()

	r.resolveClouddriverURL(ctx, &plan, &resp.Diagnostics)
	spec := plan.spec(ctx, &resp.Diagnostics)
	oldSpec := state.spec(ctx, &resp.Diagnostics)
	a := r.prepare(ctx, &plan, spec, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	// What moved away (another cluster or namespace) or was dropped from the
	// configuration is removed from where it was.
	previous := r.installed(ctx, &state, oldSpec, &resp.Diagnostics)
	rotate := !plan.CredentialRotation.Equal(state.CredentialRotation) && !adoptsRotation(ctx, req.Private, &state, &plan)
	applied, err := a.Apply(ctx, admin, attach.ApplyOptions{Previous: previous, Rotate: rotate})
	if applied != nil {
		for _, w := range applied.Warnings {
			resp.Diagnostics.AddWarning("Removing a previous part of the attachment failed", w.Error())
		}
		if applied.Rotated {
			tflog.Info(ctx, "agent credential and endpoint token rotated", map[string]any{"account": spec.GetName()})
		}
	}
	if err != nil {
		applyFailed(err, spec.GetName(), &resp.Diagnostics)
		return
	}
	idPlannedUnknown := plan.ID.IsUnknown() // so planned for an unread refresh (pending.go)
	plan.ID = state.ID
	switch {
	case applied.Reregistered && idPlannedUnknown:
		tflog.Warn(ctx, "the bridge had no registration of the account: registered again, with a new credential", map[string]any{"account": spec.GetName()})
		plan.ID = types.StringValue(applied.Account.GetId())
	case applied.Reregistered:
		// Gone from the bridge between the plan and the apply: the plan
		// promised the old id, the next refresh reads the new one.
		resp.Diagnostics.AddWarning("Account registered again",
			fmt.Sprintf("The bridge had no registration of account %q when it was updated, so it was registered again with a new credential, "+
				"delivered to its agent. Its new registration id is recorded by the next refresh.", spec.GetName()))
	}
	if plan.waits() {
		if err := a.Wait(ctx, admin, r.waitInterval); err != nil {
			resp.Diagnostics.AddError("The account did not become ready", err.Error())
		}
	}
	r.refresh(ctx, admin, &plan, &resp.Diagnostics)
	plan.AgentInstalled = types.BoolValue(plan.InstallAgent != nil)
	plan.SpinnakerAccountInstalled = types.BoolValue(plan.Spinnaker != nil)
	plan.DriftedObjects = noDrift()
	clearUnread(ctx, resp.Private, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
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
	admin := bridgeAdmin(r.data, &resp.Diagnostics)
	if admin == nil {
		return
	}
	defer admin.Close()
	spec := state.spec(ctx, &resp.Diagnostics)
	var sub diag.Diagnostics
	a := r.attachment(ctx, &state, spec, &sub)
	for _, dg := range sub {
		resp.Diagnostics.AddError(dg.Summary(), dg.Detail()+"\n\nNothing was deleted; fix the connection and destroy again.")
	}
	if resp.Diagnostics.HasError() {
		return
	}
	// Spinnaker stops using the account first, then the agent goes, then
	// the registration (attach.Attachment.Remove).
	if err := a.Remove(ctx, admin); err != nil {
		var se *attach.StepError
		if errors.As(err, &se) && se.Step == attach.StepDeregister {
			resp.Diagnostics.AddError("Deregistering the account failed", se.Err.Error())
			return
		}
		if se != nil {
			err = se.Err
		}
		resp.Diagnostics.AddError("Removing the installed objects failed", err.Error())
	}
}
func (r *agentAccountResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if !validators.IsDNSLabel(req.ID) {
		resp.Diagnostics.AddError("Invalid import id", fmt.Sprintf("import by account name (a DNS-1123 label), got %q", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("mode"), "agent")...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("only_namespaced_resources"), false)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("agent_installed"), false)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("spinnaker_account_installed"), false)...)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateImported, []byte("true"))...)
	markImported(ctx, resp)
}

// privateImported marks, in private state, an account imported and not yet
// updated: its credential_rotation (no bridge stores it) is null in state,
// and the configuration's value is adopted by the first apply, not taken as
// a rotation, which would revoke the credential the agent runs with.
const privateImported = "imported"

// adoptsRotation reports whether a plan adopts the configuration's
// credential_rotation of an imported account rather than rotating.
func adoptsRotation(ctx context.Context, private interface {
	GetKey(context.Context, string) ([]byte, diag.Diagnostics)
}, state, plan *agentAccountModel) bool {
	v, _ := private.GetKey(ctx, privateImported)
	return string(v) == "true" && state.CredentialRotation.IsNull() && !plan.CredentialRotation.IsNull()
}
