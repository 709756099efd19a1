package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
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

	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
)

var (
	_ resource.ResourceWithConfigure      = &managedSpinnakerResource{}
	_ resource.ResourceWithModifyPlan     = &managedSpinnakerResource{}
	_ resource.ResourceWithValidateConfig = &managedSpinnakerResource{}
	_ resource.ResourceWithImportState    = &managedSpinnakerResource{}
)

func newManagedSpinnakerResource() resource.Resource {
	return &managedSpinnakerResource{}
}

type managedSpinnakerResource struct {
	data *providerData
}

func (r *managedSpinnakerResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_managed_spinnaker"
}

func (r *managedSpinnakerResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	var diags diag.Diagnostics
	r.data, diags = providerDataFrom(req.ProviderData)
	resp.Diagnostics.Append(diags...)
}

// ModifyPlan fixes the id at plan time (zones of the same apply can then
// read it) and replaces the installation when its namespace changes.
func (r *managedSpinnakerResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan managedSpinnakerModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ns := operatorSettings(plan.Operator).Namespace
	if plan.Operator != nil && plan.Operator.Namespace.IsUnknown() {
		return
	}
	if !req.State.Raw.IsNull() {
		var state managedSpinnakerModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if state.ID.ValueString() != ns {
			resp.RequiresReplace = append(resp.RequiresReplace, path.Root("operator").AtName("namespace"))
		}
		// The operator's objects changed or deleted outside Terraform
		// (found by Read): the plan shows them going away, and the apply
		// puts them back.
		if len(state.DriftedObjects.Elements()) > 0 {
			resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("drifted_objects"), noDrift())...)
		}
		// Not read by the last refresh (pending.go): applied again, and
		// what the apply reads back is not known before.
		if recheckUnread(ctx, req.Private, &resp.Diagnostics) {
			resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("drifted_objects"), types.ListUnknown(types.StringType))...)
			resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("verified_versions"), types.MapUnknown(types.StringType))...)
		}
		// Every update writes the credentials and the configuration again,
		// also one that only puts drifted objects back.
		if !resp.Plan.Raw.Equal(req.State.Raw) && state.ID.ValueString() == ns {
			r.planKeepsSecrets(ctx, req, &plan, &state, resp)
		}
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("id"), ns)...)
	if rev, ok := configRevision(req.Plan.Raw); ok {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("config_revision"), rev)...)
	}
	r.planOperatorConflicts(ctx, &plan, resp)
}

// planKeepsSecrets refuses an update that would stop using a write-only
// secret the installation uses without a new *_wo_version (one the
// configuration adds is written and used: nothing is lost). The
// installation renders a secret's reference when the configuration gives
// the secret: an update whose configuration lacks one (a value removed, or
// a configuration written by terraform plan -generate-config-out with only
// the required secrets added) would silently drop Front50's bucket key,
// Gate's OAuth2 client secret or the LDAP manager password from every
// zone's next rendering.
func (r *managedSpinnakerResource) planKeepsSecrets(ctx context.Context, req resource.ModifyPlanRequest, plan, state *managedSpinnakerModel, resp *resource.ModifyPlanResponse) {
	if r.data == nil || !req.Config.Raw.IsFullyKnown() {
		return
	}
	var config managedSpinnakerModel
	if req.Config.Get(ctx, &config).HasError() {
		return
	}
	// With the provider's connection known only after apply (pending.go),
	// what the last apply wrote (a *_wo_version in state) stands for what
	// the installation uses.
	pending := len(r.data.pendingFor(false, plan.Kubernetes)) > 0
	var stored *spinnaker.Installation
	if !pending {
		client, d := r.client(ctx, plan.Kubernetes)
		if d.HasError() {
			return // no cluster at plan time: nothing to compare with
		}
		var err error
		if stored, err = spinnaker.LoadInstallation(ctx, client.Clientset, state.ID.ValueString()); err != nil {
			return // Read reports a missing installation
		}
	}
	given, _ := expandInstallation(ctx, plan, &config)
	planned, before := secretVersions(plan), secretVersions(state)
	for _, s := range usedSecrets(stored, given) {
		version := s.version.String()
		if s.given || planned[version] == nil || before[version] == nil || !planned[version].Equal(*before[version]) {
			continue
		}
		held := s.held
		if pending {
			// A version in state: the last apply wrote the value. None:
			// it never did, so the installation holds nothing to drop.
			held = !before[version].IsNull()
		}
		if !held {
			continue
		}
		resp.Diagnostics.AddAttributeError(s.attr, "Write-only value missing",
			fmt.Sprintf("The installation uses the %s its credentials Secret holds, and the configuration does not set %s: this apply would "+
				"stop using it, and each zone's next rendering would leave it out. Write-only values count only when their version changes "+
				"(%s stays %d): set %s, or change %s to stop using it.", s.what, s.attr, s.version, planned[version].ValueInt64(), s.attr, s.version))
	}
}

// usedSecret is one optional write-only secret (the SQL password and the
// SAML keystore password are required, at plan time): whether the stored
// installation uses it and whether the configuration gives it.
type usedSecret struct {
	what          string
	attr, version path.Path
	held, given   bool
}

func usedSecrets(stored, given *spinnaker.Installation) []usedSecret {
	s3 := func(i *spinnaker.Installation) bool {
		return i != nil && i.Persistence != nil && i.Persistence.S3 != nil && i.Persistence.S3.HasSecretAccessKey
	}
	oauth2 := func(i *spinnaker.Installation) bool {
		return i != nil && i.Auth != nil && i.Auth.OAuth2 != nil && i.Auth.OAuth2.HasClientSecret
	}
	ldap := func(i *spinnaker.Installation) bool {
		return i != nil && i.Auth != nil && i.Auth.LDAP != nil && i.Auth.LDAP.HasManagerPassword
	}
	s3Key, oauth2Secret, ldapPassword := path.Root("persistence").AtName("s3"), path.Root("auth").AtName("oauth2"), path.Root("auth").AtName("ldap")
	return []usedSecret{
		{"bucket's secret access key", s3Key.AtName("secret_access_key_wo"), s3Key.AtName("secret_access_key_wo_version"), s3(stored), s3(given)},
		{"OAuth2 client secret", oauth2Secret.AtName("client_secret_wo"), oauth2Secret.AtName("client_secret_wo_version"), oauth2(stored), oauth2(given)},
		{"LDAP manager password", ldapPassword.AtName("manager_password_wo"), ldapPassword.AtName("manager_password_wo_version"), ldap(stored), ldap(given)},
	}
}

// planOperatorConflicts refuses, at plan time when the cluster can be
// reached, an operator install that another operator on the cluster would
// fight with (spinnaker.CheckOperatorConflicts; apply checks again).
func (r *managedSpinnakerResource) planOperatorConflicts(ctx context.Context, plan *managedSpinnakerModel, resp *resource.ModifyPlanResponse) {
	if r.data == nil {
		return
	}
	op := operatorSettings(plan.Operator)
	if !op.install || (plan.Operator != nil && (plan.Operator.ClusterWide.IsUnknown() || plan.Operator.Install.IsUnknown())) {
		return
	}
	client, diags := r.client(ctx, plan.Kubernetes)
	if diags.HasError() {
		tflog.Debug(ctx, "no cluster connection at plan time; the operator conflict check runs at apply", map[string]any{"diagnostics": fmt.Sprint(diags)})
		return
	}
	var conflict *spinnaker.OperatorConflictError
	switch err := spinnaker.CheckOperatorConflicts(ctx, client, op.OperatorSettings); {
	case errors.As(err, &conflict):
		resp.Diagnostics.AddAttributeError(path.Root("operator").AtName("cluster_wide"), "Another Spinnaker Operator on the cluster", err.Error())
	case err != nil:
		tflog.Debug(ctx, "cannot check for other operators at plan time; apply checks again", map[string]any{"error": err.Error()})
	}
}

func (r *managedSpinnakerResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan, config managedSpinnakerModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, 20*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	plan.ConfigRevision = revisionOf(req.Plan.Raw)
	r.apply(ctx, "creating", &plan, &config, timeout, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *managedSpinnakerResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, config managedSpinnakerModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, 20*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	plan.ConfigRevision = revisionOf(req.Plan.Raw)
	r.apply(ctx, "updating", &plan, &config, timeout, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	clearUnread(ctx, resp.Private, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// apply installs or updates the operator, the credentials and the shared
// configuration, and fills the computed attributes of plan.
func (r *managedSpinnakerResource) apply(ctx context.Context, verb string, plan, config *managedSpinnakerModel, timeout time.Duration, diags *diag.Diagnostics) {
	op := operatorSettings(plan.Operator)
	summary := fmt.Sprintf("%s managed Spinnaker (%s)", verb, op.Namespace)
	client, d := r.client(ctx, plan.Kubernetes)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	inst, d := expandInstallation(ctx, plan, config)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	inst.Revision = plan.ConfigRevision.ValueString()
	tflog.Info(ctx, "applying the Spinnaker installation", map[string]any{"namespace": op.Namespace, "install_operator": op.install})
	if err := spinnaker.EnsureNamespace(ctx, client, op.Namespace); err != nil {
		diags.AddError(summary, err.Error())
		return
	}
	if op.install {
		err := spinnaker.EnsureOperator(ctx, client, op.OperatorSettings, op.wait, timeout)
		switch {
		case errors.Is(err, spinnaker.ErrNoKubelet):
			diags.AddWarning("Not waiting for the Spinnaker Operator",
				"The cluster has no Node, so no pod can run: the operator's Deployment was applied but not waited for. Set operator.wait = false to silence this.")
		case err != nil:
			diags.AddError(summary, err.Error())
			return
		}
	}
	if err := spinnaker.WriteCredentials(ctx, client.Clientset, op.Namespace, credentialsFromConfig(config)); err != nil {
		diags.AddError(summary, err.Error())
		return
	}
	rec := operatorRecord(plan.Operator)
	if err := spinnaker.SaveInstallationWithOperator(ctx, client, inst, &rec); err != nil {
		diags.AddError(summary, err.Error())
		return
	}
	plan.ID = types.StringValue(op.Namespace)
	plan.DriftedObjects = noDrift()
	vv, d := r.verifiedVersions(ctx, client, op.Namespace)
	diags.Append(d...)
	plan.VerifiedVersions = vv
}

func (r *managedSpinnakerResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state managedSpinnakerModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || keepUnread(ctx, req, resp, "the managed Spinnaker "+state.ID.ValueString(), r.data.pendingFor(false, state.Kubernetes)) {
		return
	}
	client, diags := r.client(ctx, state.Kubernetes)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ns := state.ID.ValueString()
	inst, op, err := spinnaker.LoadInstallationWithOperator(ctx, client.Clientset, ns)
	if errors.Is(err, spinnaker.ErrInstallationNotFound) {
		tflog.Warn(ctx, "the installation is gone; removing it from state", map[string]any{"namespace": ns})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("reading managed Spinnaker (%s)", ns), err.Error())
		return
	}
	refreshed, diags := flattenInstallation(inst, op, &state)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	refreshed.VerifiedVersions, diags = r.verifiedVersions(ctx, client, ns)
	resp.Diagnostics.Append(diags...)
	if refreshed.DriftedObjects = operatorDrift(ctx, client, &state, refreshed, &resp.Diagnostics); resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, refreshed)...)
}

// operatorDrift is drifted_objects of an installation: the Spinnaker
// Operator's objects when it installs the operator, rendered from the
// operator settings the last apply left (after an import, those the
// installation records) as InstallOperator applies them
// (spinnaker.OperatorObjectsOn: with the Deployment's selector as found).
func operatorDrift(ctx context.Context, c *kube.Client, state, refreshed *managedSpinnakerModel, diags *diag.Diagnostics) types.List {
	m := state.Operator
	if m == nil {
		m = refreshed.Operator
	}
	op := operatorSettings(m)
	if !op.install {
		return noDrift()
	}
	prior := priorDrift(state.DriftedObjects)
	objs, err := spinnaker.OperatorObjectsOn(ctx, c, op.OperatorSettings)
	if apierrors.IsForbidden(err) {
		diags.AddWarning("Drift not checked", fmt.Sprintf("Checking the Spinnaker Operator for changes made outside Terraform reads its Deployment, "+
			"and these credentials may not: %v. drifted_objects keeps its last value.", err))
		return prior
	}
	if err != nil {
		diags.AddError("Checking the Spinnaker Operator for drift failed", err.Error())
		return prior
	}
	return driftedObjects(ctx, c, "the Spinnaker Operator", prior, diags, objs)
}

func (r *managedSpinnakerResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state managedSpinnakerModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, 10*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	op := operatorSettings(state.Operator)
	summary := fmt.Sprintf("deleting managed Spinnaker (%s)", op.Namespace)
	client, diags := r.client(ctx, state.Kubernetes)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ledger, err := spinnaker.LoadLedger(ctx, client.Clientset, op.Namespace)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	var live []string
	for name, rec := range ledger.Zones {
		if rec.DeletedAt == nil {
			live = append(live, fmt.Sprintf("%s (namespace %s)", name, rec.Namespace))
		}
	}
	// A zone the ledger does not know of (made out of band, or by an older
	// spinops) still belongs to the installation: a failed list is not "none
	// left", whether or not spinops installed the operator.
	zones, err := spinnaker.ListZones(ctx, client, op.Namespace)
	if err != nil {
		resp.Diagnostics.AddError(summary, fmt.Sprintf("cannot tell whether the installation still has zones: %v. "+
			"Nothing was deleted. Give the provider's Kubernetes credentials list access to spinnakerservices.spinnaker.io "+
			"in all namespaces (or fix the API server), then destroy again.", err))
		return
	}
	for _, z := range zones {
		s := fmt.Sprintf("%s (namespace %s)", z.GetName(), z.GetNamespace())
		if !slices.Contains(live, s) {
			live = append(live, s)
		}
	}
	if len(live) > 0 {
		sort.Strings(live)
		resp.Diagnostics.AddError(summary, "the installation still has zones: "+strings.Join(live, ", ")+
			". Destroy its spinops_zone resources first (Terraform does so when they reference this resource's id).")
		return
	}
	if op.install {
		removed, err := spinnaker.RemoveOperator(ctx, client, op.OperatorSettings)
		if err != nil {
			resp.Diagnostics.AddError(summary, err.Error())
			return
		}
		tflog.Info(ctx, "removed the Spinnaker Operator", map[string]any{"namespace": op.Namespace, "crds_removed": removed})
	}
	if err := spinnaker.DeleteInstallation(ctx, client.Clientset, op.Namespace); err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
	}
}

// ImportState takes the operator namespace; Read rebuilds the rest from the
// stored installation.
func (r *managedSpinnakerResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if !validators.IsDNSLabel(req.ID) {
		resp.Diagnostics.AddError("Invalid import id",
			fmt.Sprintf("%q: import a managed Spinnaker by its operator namespace, e.g. %s.", req.ID, defaultOperatorNamespace))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	markImported(ctx, resp)
}

func (r *managedSpinnakerResource) client(ctx context.Context, override *kubernetesModel) (*kube.Client, diag.Diagnostics) {
	if r.data == nil {
		var d diag.Diagnostics
		d.AddError("Provider not configured", "The spinops provider was not configured; this is a bug in the provider.")
		return nil, d
	}
	return kubeClient(ctx, r.data, override, path.Root("kubernetes"))
}

func (r *managedSpinnakerResource) verifiedVersions(ctx context.Context, client *kube.Client, ns string) (types.Map, diag.Diagnostics) {
	var diags diag.Diagnostics
	l, err := spinnaker.LoadLedger(ctx, client.Clientset, ns)
	if err != nil {
		diags.AddWarning("Cannot read the promotion ledger", err.Error())
		return types.MapNull(types.StringType), diags
	}
	elems := map[string]attr.Value{}
	for v, t := range l.VerifiedVersions() {
		elems[v] = types.StringValue(t.UTC().Format(time.RFC3339))
	}
	m, d := types.MapValue(types.StringType, elems)
	diags.Append(d...)
	return m, diags
}

func revisionOf(raw tftypes.Value) types.String {
	if rev, ok := configRevision(raw); ok {
		return types.StringValue(rev)
	}
	return types.StringNull()
}
