package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/monitor"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"

	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
)

var (
	_ resource.ResourceWithConfigure      = &monitorResource{}
	_ resource.ResourceWithValidateConfig = &monitorResource{}
	_ resource.ResourceWithImportState    = &monitorResource{}
	_ resource.ResourceWithModifyPlan     = &monitorResource{}
)

// ModifyPlan plans an update when Read found objects drifted, when the
// PrometheusRule is wanted, was not installed, and the cluster serves the
// kind now (prometheus-operator installed after the monitor), or when the
// rule is no longer wanted.
func (r *monitorResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || req.State.Raw.IsNull() {
		return
	}
	var plan, state monitorModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !req.Plan.Raw.Equal(req.State.Raw) {
		r.planKeepsSecret(ctx, req, &plan, &state, resp)
	}
	// Objects changed or deleted outside Terraform (found by Read): the
	// plan shows them going away, and the apply puts them back.
	if len(state.DriftedObjects.Elements()) > 0 {
		plan.DriftedObjects = noDrift()
	}
	// Not read by the last refresh (pending.go): applied again, on a
	// cluster that may or may not serve PrometheusRule.
	if recheckUnread(ctx, req.Private, &resp.Diagnostics) {
		plan.DriftedObjects = types.ListUnknown(types.StringType)
		if plan.PrometheusRule.IsUnknown() || plan.PrometheusRule.ValueBool() {
			plan.PrometheusRuleInstalled = types.BoolUnknown()
		} else {
			plan.PrometheusRuleInstalled = types.BoolValue(false)
		}
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		return
	}
	if plan.PrometheusRule.IsUnknown() {
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		return
	}
	want, have := plan.PrometheusRule.ValueBool(), state.PrometheusRuleInstalled.ValueBool()
	switch {
	case !want && have:
		plan.PrometheusRuleInstalled = types.BoolValue(false)
	case want && !have:
		var quiet diag.Diagnostics
		if c := kubeClientAt(ctx, r.data, plan.Kubernetes, path.Root("kubernetes"), &quiet); c != nil && c.Serves(ctx, prometheusRuleGVK) == nil {
			plan.PrometheusRuleInstalled = types.BoolUnknown()
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// planKeepsSecret refuses an update that would leave the monitor's Secret as
// it is (secrets_wo_version and the Gate usernames unchanged) while the
// configuration gives other write-only values than the Secret holds. The
// monitor's configuration names the files of the values the configuration
// gives: one the Secret lacks stops the monitor at start, and one the
// configuration no longer gives (a configuration written by terraform plan
// -generate-config-out, or a value removed without a new version) would
// silently stop a notifier or a zone's authenticated checks.
func (r *monitorResource) planKeepsSecret(ctx context.Context, req resource.ModifyPlanRequest, plan, state *monitorModel, resp *resource.ModifyPlanResponse) {
	if plan.SecretsWOVersion.IsUnknown() || !plan.SecretsWOVersion.Equal(state.SecretsWOVersion) || gateUser(plan) != gateUser(state) || !req.Config.Raw.IsFullyKnown() {
		return
	}
	var config monitorModel
	var quiet diag.Diagnostics
	quiet.Append(req.Config.Get(ctx, &config)...)
	c := kubeClientAt(ctx, r.data, plan.Kubernetes, path.Root("kubernetes"), &quiet)
	if quiet.HasError() || c == nil {
		return // no cluster at plan time: nothing to compare with
	}
	held, exists, ok := secretKeysForDrift(ctx, c, "the monitor", plan.Namespace.ValueString(), plan.Name.ValueString(), &quiet)
	if !ok || !exists {
		return // a missing Secret is the apply's error, with its remedy
	}
	given := plan.spec(ctx, &config, &quiet).Secrets
	var dropped, added []string
	for k := range held {
		if _, ok := given[k]; !ok {
			dropped = append(dropped, monitorSecretArgument(k))
		}
	}
	for k := range given {
		if !held[k] {
			added = append(added, monitorSecretArgument(k))
		}
	}
	if len(dropped)+len(added) == 0 {
		return
	}
	slices.Sort(dropped)
	slices.Sort(added)
	var what []string
	if len(dropped) > 0 {
		what = append(what, "The monitor's Secret holds "+strings.Join(dropped, ", ")+", which the configuration does not set")
	}
	if len(added) > 0 {
		what = append(what, "The configuration sets "+strings.Join(added, ", ")+", which the Secret does not hold")
	}
	version := "null"
	if !state.SecretsWOVersion.IsNull() {
		version = strconv.FormatInt(state.SecretsWOVersion.ValueInt64(), 10)
	}
	resp.Diagnostics.AddAttributeError(path.Root("secrets_wo_version"), "Write-only values differ from the monitor's Secret",
		fmt.Sprintf("%s. Write-only values are written only when secrets_wo_version changes (it stays %s), so this apply would leave the Secret "+
			"as it is while the monitor is told to read what the configuration sets. Raise secrets_wo_version to write the Secret as the "+
			"configuration says, or set the values the Secret holds.", strings.Join(what, ". "), version))
}

// monitorSecretArgument names the argument a key of the monitor's Secret
// comes from.
func monitorSecretArgument(key string) string {
	at := ""
	if rest, ok := strings.CutPrefix(key, "zone-"); ok {
		for _, k := range []string{monitorKeyGateUsername, monitorKeyGatePassword, monitorKeyGateToken} {
			if zone, ok := strings.CutSuffix(rest, "-"+k); ok {
				at, key = "zone "+zone+" ", k
				break
			}
		}
	}
	switch key {
	case monitorKeyGateUsername:
		return at + "gate_auth.username"
	case monitorKeyGatePassword:
		return at + "gate_auth.password_wo"
	case monitorKeyGateToken:
		return at + "gate_auth.token_wo"
	case monitorKeyWebhook:
		return "notify.webhook_url_wo"
	case monitorKeySlack:
		return "notify.slack_url_wo"
	case monitorKeyPagerDuty:
		return "notify.pagerduty_routing_key_wo"
	}
	return "key " + key
}

func newMonitorResource() resource.Resource { return &monitorResource{} }

// monitorResource is spinops_monitor: `spinops monitor` deployed by
// Terraform (internal/monitor renders its objects).
type monitorResource struct {
	data *providerData
}

// prometheusRuleGVK is prometheus-operator's PrometheusRule.
var prometheusRuleGVK = k8sschema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "PrometheusRule"}

func (r *monitorResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_monitor"
}

func (r *monitorResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	var diags diag.Diagnostics
	r.data, diags = providerDataFrom(req.ProviderData)
	resp.Diagnostics.Append(diags...)
}

func (r *monitorResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan, config monitorModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Create(ctx, 10*time.Minute)
	resp.Diagnostics.Append(d...)
	r.apply(ctx, &plan, &config, true, timeout, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *monitorResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, config, state monitorModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Update(ctx, 10*time.Minute)
	resp.Diagnostics.Append(d...)
	writeSecrets := !plan.SecretsWOVersion.Equal(state.SecretsWOVersion) || gateUser(&plan) != gateUser(&state)
	r.apply(ctx, &plan, &config, writeSecrets, timeout, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	clearUnread(ctx, resp.Private, &resp.Diagnostics)
	// Roles of zone namespaces no longer checked.
	if c := kubeClientAt(ctx, r.data, plan.Kubernetes, path.Root("kubernetes"), &resp.Diagnostics); c != nil {
		keep := map[string]bool{}
		for _, z := range plan.Zones {
			keep[z.Namespace.ValueString()] = true
		}
		for _, z := range state.Zones {
			if ns := z.Namespace.ValueString(); !keep[ns] {
				for _, kind := range []string{"RoleBinding", "Role"} {
					ref := &unstructured.Unstructured{}
					ref.SetAPIVersion("rbac.authorization.k8s.io/v1")
					ref.SetKind(kind)
					ref.SetNamespace(ns)
					ref.SetName(plan.Name.ValueString())
					if err := c.Delete(ctx, ref); err != nil {
						resp.Diagnostics.AddWarning("Old RBAC left behind", err.Error())
					}
				}
			}
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// gateUser is every Gate username the monitor is given (not secret, so
// a change of one rewrites the Secret without a new secrets_wo_version).
func gateUser(m *monitorModel) string {
	var users []string
	if m.GateAuth != nil {
		users = append(users, m.GateAuth.Username.ValueString())
	}
	for _, z := range m.Zones {
		if z.GateAuth != nil {
			users = append(users, z.Name.ValueString()+"="+z.GateAuth.Username.ValueString())
		}
	}
	return strings.Join(users, ",")
}

// apply renders and applies the monitor. The Secret is applied only with
// writeSecrets (a create, or a new secrets_wo_version), or when it is
// missing: the write-only values exist only in this apply's configuration,
// and are compared with nothing.
func (r *monitorResource) apply(ctx context.Context, m, config *monitorModel, writeSecrets bool, timeout time.Duration, diags *diag.Diagnostics) {
	spec := m.spec(ctx, config, diags)
	c := kubeClientAt(ctx, r.data, m.Kubernetes, path.Root("kubernetes"), diags)
	if diags.HasError() || c == nil {
		return
	}
	if err := checkMonitorConfig(spec); err != nil {
		diags.AddError("Invalid monitor configuration", err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := c.Get(ctx, k8sschema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, "", spec.Namespace); err != nil {
		diags.AddAttributeError(path.Root("namespace"), "No namespace for the monitor", fmt.Sprintf("namespace %s: %v (create it first, or use the operator's)", spec.Namespace, err))
		return
	}
	us, err := monitorObjects(spec, m.SecretsWOVersion.ValueInt64())
	if err != nil {
		diags.AddError("Rendering the monitor failed", err.Error())
		return
	}
	tflog.Info(ctx, "deploying the spinops monitor", map[string]any{"namespace": spec.Namespace, "name": spec.Name, "zones": len(spec.Config.Zones)})
	for _, u := range us {
		if u.GetKind() == "Secret" && !m.SecretsWOVersion.IsNull() {
			// The version the write-only values are written with (they
			// are never read back), so an import knows it.
			u.SetAnnotations(map[string]string{monitorAnnotationSecretsVersion: strconv.FormatInt(m.SecretsWOVersion.ValueInt64(), 10)})
		}
		if u.GetKind() == "Secret" && !writeSecrets {
			_, err := c.Get(ctx, u.GroupVersionKind(), u.GetNamespace(), u.GetName())
			if err == nil {
				continue
			}
			if !apierrors.IsNotFound(err) {
				diags.AddError("Deploying the monitor failed", fmt.Sprintf("reading %s: %v", kube.Describe(u), err))
				return
			}
			// Gone (deleted outside Terraform, or a new cluster behind a
			// connection known only after apply: pending.go): nothing to
			// overwrite, so it is written from this apply's write-only
			// values, which the monitor's configuration was rendered from.
			tflog.Info(ctx, "the monitor's Secret is missing: written from this apply's write-only values", map[string]any{"secret": kube.Describe(u)})
		}
		if _, err := c.Apply(ctx, u); err != nil {
			diags.AddError("Deploying the monitor failed", fmt.Sprintf("applying %s: %v", kube.Describe(u), err))
			return
		}
	}
	m.ID = types.StringValue(spec.Namespace + "/" + spec.Name)
	m.DriftedObjects = noDrift()
	m.PrometheusRuleInstalled = types.BoolValue(false)
	if m.PrometheusRule.ValueBool() {
		if err := c.Serves(ctx, prometheusRuleGVK); err == nil {
			rule, err := monitorPrometheusRule(ctx, m, spec, diags)
			if err != nil {
				diags.AddError("Rendering the PrometheusRule failed", err.Error())
				return
			}
			if _, err := c.Apply(ctx, rule); err != nil {
				diags.AddError("Applying the PrometheusRule failed", err.Error())
				return
			}
			m.PrometheusRuleInstalled = types.BoolValue(true)
		} else {
			tflog.Info(ctx, "the cluster does not serve PrometheusRule; the burn-rate rules run in the monitor only", map[string]any{"reason": err.Error()})
		}
	}
	if !m.PrometheusRuleInstalled.ValueBool() {
		if err := c.Delete(ctx, monitorRef(prometheusRuleGVK, spec.Namespace, spec.Name)); err != nil {
			diags.AddWarning("Old PrometheusRule left behind", err.Error())
		}
	}
	if !m.Wait.ValueBool() {
		return
	}
	hasNodes, err := spinnaker.HasKubelet(ctx, c)
	if err != nil {
		diags.AddError("Waiting for the monitor failed", err.Error())
		return
	}
	if !hasNodes {
		diags.AddWarning("The monitor was not waited for", fmt.Sprintf("the cluster has no Node, so no pod can run: Deployment %s/%s was applied but not waited for. "+
			"Set wait = false to silence this on a cluster without nodes.", spec.Namespace, spec.Name))
		return
	}
	if err := c.WaitForDeploymentAvailable(ctx, spec.Namespace, spec.Name, timeout); err != nil {
		diags.AddError("The monitor did not become available", err.Error())
	}
}

// checkMonitorConfig runs the monitor's own start-up check on spec before
// anything is applied: the secrets go to files of a private temporary
// directory (the pod's Secret mount) for as long as the check takes.
func checkMonitorConfig(spec monitor.InstallSpec) error {
	dir, err := os.MkdirTemp("", "spinops-monitor-check-")
	if err != nil {
		return fmt.Errorf("checking the monitor configuration: %w", err)
	}
	defer os.RemoveAll(dir)
	for k, v := range spec.Secrets {
		if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o600); err != nil {
			return fmt.Errorf("checking the monitor configuration: %w", err)
		}
	}
	cfg := spec.Config
	local := func(f string) string {
		if f == "" {
			return ""
		}
		return filepath.Join(dir, filepath.Base(f))
	}
	cfg.GateAuth.UsernameFile, cfg.GateAuth.PasswordFile, cfg.GateAuth.TokenFile = local(cfg.GateAuth.UsernameFile), local(cfg.GateAuth.PasswordFile), local(cfg.GateAuth.TokenFile)
	cfg.Zones = append([]monitor.ZoneConfig(nil), cfg.Zones...)
	for i := range cfg.Zones {
		if a := cfg.Zones[i].GateAuth; a != nil {
			cfg.Zones[i].GateAuth = &monitor.GateAuthConfig{UsernameFile: local(a.UsernameFile), PasswordFile: local(a.PasswordFile), TokenFile: local(a.TokenFile)}
		}
	}
	cfg.Notify = append([]monitor.NotifyConfig(nil), cfg.Notify...)
	for i := range cfg.Notify {
		cfg.Notify[i].SecretFile = local(cfg.Notify[i].SecretFile)
	}
	// In its pod the monitor has the in-cluster connection; the check only
	// needs one to exist (nothing is dialled here).
	o, err := cfg.Options(&rest.Config{Host: "https://kubernetes.default.svc"}, func(string) string { return "" })
	if err != nil {
		return err
	}
	o.Store = &monitor.ConfigMapStore{} // the pod's; only its presence is checked
	return o.CheckAndSetDefaults()
}

func monitorRef(gvk k8sschema.GroupVersionKind, ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

// Read removes a monitor whose Deployment is gone (the next apply makes it
// again) and reads back the image.
func (r *monitorResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state monitorModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || keepUnread(ctx, req, resp, "the monitor "+state.ID.ValueString(), r.data.pendingFor(false, state.Kubernetes)) {
		return
	}
	c := kubeClientAt(ctx, r.data, state.Kubernetes, path.Root("kubernetes"), &resp.Diagnostics)
	if resp.Diagnostics.HasError() || c == nil {
		return
	}
	d, err := c.Clientset.AppsV1().Deployments(state.Namespace.ValueString()).Get(ctx, state.Name.ValueString(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Reading the monitor failed", err.Error())
		return
	}
	if len(d.Spec.Template.Spec.Containers) == 1 {
		state.Image = types.StringValue(d.Spec.Template.Spec.Containers[0].Image)
	}
	if state.PrometheusRuleInstalled.ValueBool() || state.PrometheusRuleInstalled.IsNull() {
		// Deleted outside Terraform, or prometheus-operator's CRD removed
		// with it: recorded as not installed, so the next plan installs it
		// again when the cluster serves the kind (ModifyPlan). Imported
		// (null): installed when it is there.
		rule, err := c.Get(ctx, prometheusRuleGVK, state.Namespace.ValueString(), state.Name.ValueString())
		switch {
		case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
			state.PrometheusRuleInstalled = types.BoolValue(false)
		case err == nil:
			if state.PrometheusRuleInstalled.IsNull() {
				// An import: the labels are the configuration's.
				state.PrometheusRuleLabels = prometheusRuleLabels(rule)
			}
			state.PrometheusRuleInstalled = types.BoolValue(true)
		default:
			resp.Diagnostics.AddError("Reading the monitor's PrometheusRule failed", err.Error())
			return
		}
	}
	state.ID = types.StringValue(state.Namespace.ValueString() + "/" + state.Name.ValueString())
	if len(state.Zones) == 0 {
		// An import: the settings come from the monitor's ConfigMap and
		// Secret (keys, usernames and the version; never a write-only value).
		if !readMonitorSettings(ctx, c, &state, &resp.Diagnostics) {
			return
		}
	}
	if state.DriftedObjects = monitorDrift(ctx, c, &state, &resp.Diagnostics); resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// monitorDrift renders the monitor's objects from state (the write-only
// values' presence from the Secret's keys) and asks the API server which
// differ from what an apply would make them (kube.Client.Drift). A state
// just imported (no zones yet: the configuration comes with the next
// apply) is not checked.
func monitorDrift(ctx context.Context, c *kube.Client, state *monitorModel, diags *diag.Diagnostics) types.List {
	prior := state.DriftedObjects
	if len(state.Zones) == 0 {
		return prior
	}
	fail := func(err error) types.List {
		diags.AddError("Checking the monitor for drift failed", err.Error())
		return prior
	}
	ns, name := state.Namespace.ValueString(), state.Name.ValueString()
	var drifted []string
	keys, exists, ok := secretKeysForDrift(ctx, c, "the monitor", ns, name, diags)
	if !ok {
		return prior
	}
	if !exists {
		drifted = append(drifted, fmt.Sprintf("Secret %s/%s: deleted", ns, name))
	}
	var rd diag.Diagnostics
	spec := state.spec(ctx, state.secretKeysConfig(keys), &rd)
	if rd.HasError() {
		return fail(fmt.Errorf("rendering the monitor from state: %v", rd))
	}
	us, err := monitorObjects(spec, state.SecretsWOVersion.ValueInt64())
	if err != nil {
		return fail(fmt.Errorf("rendering the monitor from state: %w", err))
	}
	// The Secret was checked above: its values are write-only.
	check := slices.DeleteFunc(us, func(u *unstructured.Unstructured) bool { return u.GetKind() == "Secret" })
	if state.PrometheusRuleInstalled.ValueBool() {
		rule, err := monitorPrometheusRule(ctx, state, spec, &rd)
		if err != nil {
			return fail(fmt.Errorf("rendering the PrometheusRule from state: %w", err))
		}
		check = append(check, rule)
	}
	return driftedObjects(ctx, c, "the monitor", prior, diags, check, drifted...)
}

// monitorObjects renders what apply applies (monitor.InstallObjects), the
// Deployment's pod template carrying the checksum that rolls it when the
// configuration or the secrets' version changes.
func monitorObjects(spec monitor.InstallSpec, secretsVersion int64) ([]*unstructured.Unstructured, error) {
	objs, err := monitor.InstallObjects(spec)
	if err != nil {
		return nil, err
	}
	checksum, err := monitorChecksum(spec, secretsVersion)
	if err != nil {
		return nil, err
	}
	us, err := kube.ToUnstructured(objs...)
	if err != nil {
		return nil, err
	}
	for _, u := range us {
		if u.GetKind() == "Deployment" {
			if err := unstructured.SetNestedField(u.Object, checksum, "spec", "template", "metadata", "annotations", "spinops.io/monitor-checksum"); err != nil {
				return nil, fmt.Errorf("setting the monitor's checksum: %w", err)
			}
		}
	}
	return us, nil
}

// prometheusRuleLabels are the labels of the monitor's PrometheusRule
// the configuration gave (prometheus_rule_labels): all but the one the
// rendering adds; null when there are none.
func prometheusRuleLabels(rule *unstructured.Unstructured) types.Map {
	labels := map[string]attr.Value{}
	for k, v := range rule.GetLabels() {
		if k != monitor.LabelManagedBy {
			labels[k] = types.StringValue(v)
		}
	}
	if len(labels) == 0 {
		return types.MapNull(types.StringType)
	}
	return types.MapValueMust(types.StringType, labels)
}

// monitorPrometheusRule renders the monitor's PrometheusRule.
func monitorPrometheusRule(ctx context.Context, m *monitorModel, spec monitor.InstallSpec, diags *diag.Diagnostics) (*unstructured.Unstructured, error) {
	labels := map[string]string{}
	diags.Append(m.PrometheusRuleLabels.ElementsAs(ctx, &labels, true)...)
	return monitor.RenderPrometheusRule(monitor.PrometheusRuleOptions{Name: spec.Name, Namespace: spec.Namespace, Labels: labels, SLO: spec.Config.SLO})
}

func (r *monitorResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state monitorModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := kubeClientAt(ctx, r.data, state.Kubernetes, path.Root("kubernetes"), &resp.Diagnostics)
	if resp.Diagnostics.HasError() || c == nil {
		return
	}
	ns, name := state.Namespace.ValueString(), state.Name.ValueString()
	refs := []*unstructured.Unstructured{
		monitorRef(prometheusRuleGVK, ns, name),
		monitorRef(k8sschema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, ns, name),
	}
	for _, z := range state.Zones {
		refs = append(refs,
			monitorRef(k8sschema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"}, z.Namespace.ValueString(), name),
			monitorRef(k8sschema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"}, z.Namespace.ValueString(), name))
	}
	refs = append(refs,
		monitorRef(k8sschema.GroupVersionKind{Version: "v1", Kind: "Secret"}, ns, name),
		monitorRef(k8sschema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, ns, name),
		monitorRef(k8sschema.GroupVersionKind{Version: "v1", Kind: "ServiceAccount"}, ns, name))
	for _, ref := range refs {
		if err := c.Delete(ctx, ref); err != nil {
			resp.Diagnostics.AddError("Removing the monitor failed", err.Error())
			return
		}
	}
	// The zones' SLI ConfigMaps (spinops-monitor-<zone>) are kept: they are
	// the record of the promise, and a new monitor continues them.
}

// ImportState takes `<namespace>/<name>`; Read fills the settings from the
// monitor's ConfigMap and Secret (readMonitorSettings). What no cluster
// holds takes its default: wait.
func (r *monitorResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	ns, name, ok := strings.Cut(req.ID, "/")
	if !ok || !validators.IsDNSLabel(ns) || !validators.IsDNSLabel(name) {
		resp.Diagnostics.AddError("Invalid import id", fmt.Sprintf("import by <namespace>/<name> of the monitor's Deployment (e.g. spinnaker-operator/spinops-monitor), got %q", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("namespace"), ns)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("wait"), true)...)
	markImported(ctx, resp)
}
