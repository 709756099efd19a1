package provider

import (
	"context"
	"encoding/json"
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
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"github.com/robfig/cron/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"
	k8stypes "k8s.io/apimachinery/pkg/types"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
	"github.com/spinops/terraform-provider-spinops/internal/kube"
)

var (
	_ resource.ResourceWithConfigure      = &backupPolicyResource{}
	_ resource.ResourceWithValidateConfig = &backupPolicyResource{}
	_ resource.ResourceWithImportState    = &backupPolicyResource{}
	_ resource.ResourceWithModifyPlan     = &backupPolicyResource{}
)

func newBackupPolicyResource() resource.Resource { return &backupPolicyResource{} }

type backupPolicyResource struct {
	data *providerData
}

func (r *backupPolicyResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_backup_policy"
}

func (r *backupPolicyResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	var diags diag.Diagnostics
	r.data, diags = providerDataFrom(req.ProviderData)
	resp.Diagnostics.Append(diags...)
}

func (r *backupPolicyResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan, config backupPolicyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, 5*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	made := r.apply(ctx, "creating", &plan, &config, nil, "", &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(setMadeServiceAccount(ctx, resp.Private, made)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *backupPolicyResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, config, state backupPolicyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, 5*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	prior, d := madeServiceAccountUID(ctx, req.Private)
	resp.Diagnostics.Append(d...)
	made := r.apply(ctx, "updating", &plan, &config, &state, prior, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	clearUnread(ctx, resp.Private, &resp.Diagnostics)
	resp.Diagnostics.Append(setMadeServiceAccount(ctx, resp.Private, made)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// apply renders and server-side applies the objects, removes the archiver
// when point-in-time recovery was turned off, then fills the computed values.
// It returns the UID of the ServiceAccount the policy made (or ""), which
// priorUID is from the apply before.
func (r *backupPolicyResource) apply(ctx context.Context, verb string, plan, config, prior *backupPolicyModel, priorUID string, diags *diag.Diagnostics) (madeUID string) {
	id := plan.Namespace.ValueString() + "/" + plan.Name.ValueString()
	client, d := kubeClient(ctx, r.data, plan.Kubernetes, path.Root("kubernetes"))
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	pol, err := expandBackupPolicy(plan)
	if err != nil {
		diags.AddError(fmt.Sprintf("%s backup policy (%s)", verb, id), err.Error())
		return
	}
	// Kubernetes makes no pod for a missing ServiceAccount: the archiver's
	// Deployment and every backup Job would stay without pods, with nothing
	// in Terraform to say so. One the policy is to make must not be someone
	// else's: taking it over would change what their pods may reach. Nor
	// may the pods run as one another policy made, which goes with it.
	var saVersion string // the policy's own account, as read: the precondition of its apply
	if sa := plan.ServiceAccountName.ValueString(); sa != "" {
		cur, err := client.Clientset.CoreV1().ServiceAccounts(plan.Namespace.ValueString()).Get(ctx, sa, metav1.GetOptions{})
		owner := "" // the backup policy that made it
		if err == nil {
			owner = backup.ServiceAccountPolicy(cur.Labels)
		}
		switch {
		case pol.MakeServiceAccount && err == nil && owner != plan.Name.ValueString():
			diags.AddAttributeError(path.Root("service_account_annotations"), fmt.Sprintf("%s backup policy (%s)", verb, id),
				notTheirsMessage(plan.Namespace.ValueString(), sa, plan.Name.ValueString(), "already exists"))
			return
		case pol.MakeServiceAccount && err == nil:
			saVersion = cur.ResourceVersion
		case pol.MakeServiceAccount && apierrors.IsNotFound(err):
			// made below, before the pods that run as it
		case err == nil && owner != "" && owner != plan.Name.ValueString():
			diags.AddAttributeError(path.Root("service_account_name"), fmt.Sprintf("%s backup policy (%s)", verb, id),
				fmt.Sprintf("ServiceAccount %q in namespace %s was made by the backup policy %q and goes when that policy is destroyed or names "+
					"another account; this policy's pods would then stop running. Give this policy an account of its own (service_account_annotations "+
					"makes one) or run the backups from the policy that owns it.", sa, plan.Namespace.ValueString(), owner))
			return
		case err != nil:
			msg := fmt.Sprintf("reading ServiceAccount %s/%s, which the backup pods run as: %v", plan.Namespace.ValueString(), sa, err)
			if apierrors.IsNotFound(err) {
				msg = fmt.Sprintf("ServiceAccount %q does not exist in namespace %s. The backup CronJob's pods and the binary-log archiver run as it "+
					"(service_account_name), and Kubernetes creates no pod without it, so no backup would run. Create it first, with the "+
					"annotation that lets it reach the buckets (on EKS eks.amazonaws.com/role-arn: the backup role, modules/aws/iam's "+
					"service_account_annotations; on GKE iam.gke.io/gcp-service-account), then apply again — or set service_account_annotations "+
					"and the policy makes it.", sa, plan.Namespace.ValueString())
			}
			diags.AddAttributeError(path.Root("service_account_name"), fmt.Sprintf("%s backup policy (%s)", verb, id), msg)
			return
		}
	}
	if m := config.Sources.MySQL; m != nil && !m.PasswordWO.IsNull() {
		pol.Password = m.PasswordWO.ValueString()
	}
	if !config.SigningKeyWO.IsNull() {
		pol.SigningKey = config.SigningKeyWO.ValueString()
	}
	objs, err := pol.Objects()
	if err != nil {
		diags.AddError(fmt.Sprintf("%s backup policy (%s)", verb, id), err.Error())
		return
	}
	for _, o := range objs {
		tflog.Debug(ctx, "applying", map[string]any{"object": o.GetKind() + "/" + o.GetName()})
		if o.GetKind() == "ServiceAccount" {
			uid, err := applyServiceAccount(ctx, client, o, saVersion, plan.Name.ValueString())
			if err != nil {
				diags.AddAttributeError(path.Root("service_account_annotations"), fmt.Sprintf("%s backup policy (%s)", verb, id), err.Error())
				return ""
			}
			madeUID = uid
			continue
		}
		if _, err := client.Apply(ctx, o); err != nil {
			diags.AddError(fmt.Sprintf("%s backup policy (%s)", verb, id), fmt.Sprintf("applying %s %s: %v", o.GetKind(), o.GetName(), err))
			return
		}
	}
	if !pol.Config.PointInTime {
		if err := deleteIfExists(ctx, client.Delete, deploymentGVK, plan.Namespace.ValueString(), backup.ObjectName(plan.Name.ValueString())); err != nil {
			diags.AddError(fmt.Sprintf("%s backup policy (%s)", verb, id), "removing the binlog archiver: "+err.Error())
			return
		}
	} else if err := deleteIfExists(ctx, client.Delete, deploymentGVK, plan.Namespace.ValueString(), backup.MetricsObjectName(plan.Name.ValueString())); err != nil {
		// The archiver serves the metrics now.
		diags.AddError(fmt.Sprintf("%s backup policy (%s)", verb, id), "removing the metrics Deployment: "+err.Error())
		return
	}
	if pol.DrillSchedule == "" {
		if err := deleteIfExists(ctx, client.Delete, cronJobGVK, plan.Namespace.ValueString(), backup.DrillObjectName(plan.Name.ValueString())); err != nil {
			diags.AddError(fmt.Sprintf("%s backup policy (%s)", verb, id), "removing the drill CronJob: "+err.Error())
			return
		}
	}
	// The ServiceAccount the policy made before: deleted when the pods run
	// as another one now, left in place (no longer the policy's) when they
	// still run as it.
	if prior != nil && !prior.ServiceAccountAnnotations.IsNull() {
		old := prior.ServiceAccountName.ValueString()
		if old != "" && (old != plan.ServiceAccountName.ValueString() || !pol.MakeServiceAccount) {
			if err := letGoServiceAccount(ctx, client, plan.Namespace.ValueString(), old, plan.Name.ValueString(), priorUID, old != plan.ServiceAccountName.ValueString()); err != nil {
				diags.AddError(fmt.Sprintf("%s backup policy (%s)", verb, id), err.Error())
				return
			}
		}
	}
	plan.ID = types.StringValue(id)
	plan.DriftedObjects = noDrift()
	r.fillComputed(ctx, plan, diags)
	return madeUID
}

// ModifyPlan plans objects that drifted (found by Read) back: the plan
// shows drifted_objects going to [], and the apply puts them back.
func (r *backupPolicyResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || req.State.Raw.IsNull() {
		return
	}
	var state backupPolicyModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if len(state.DriftedObjects.Elements()) > 0 {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("drifted_objects"), noDrift())...)
	}
	// Not read by the last refresh (pending.go): applied again, and what
	// the apply reads back (fillComputed) is not known before.
	if recheckUnread(ctx, req.Private, &resp.Diagnostics) {
		for at, v := range map[string]attr.Value{
			"drifted_objects": types.ListUnknown(types.StringType), "next_run": types.StringUnknown(),
			"last_successful_backup": types.StringUnknown(), "restore_window": types.ObjectUnknown(restoreWindowAttrTypes),
			"last_drill": types.ObjectUnknown(drillAttrTypes), "archiver_heartbeat": types.StringUnknown(),
			"archiver_behind_bytes": types.Int64Unknown(),
		} {
			resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(at), v)...)
		}
	}
	// Every apply writes the policy's Secret from the configuration's
	// write-only values: an update without the signing key the Secret
	// holds, its version unchanged, would quietly stop signing. Refused;
	// the version says.
	var key, secret types.String
	var planVersion types.Int64
	stateVersion := state.SigningKeyWOVersion
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("signing_key_wo"), &key)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("signing_key_secret").AtName("name"), &secret)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("signing_key_wo_version"), &planVersion)...)
	if resp.Diagnostics.HasError() || resp.Plan.Raw.Equal(req.State.Raw) {
		return // (an update that only puts drifted objects back writes the Secret too)
	}
	if key.IsNull() && secret.IsNull() && !stateVersion.IsNull() && planVersion.Equal(stateVersion) && r.holdsSigningKey(ctx, &state) {
		resp.Diagnostics.AddAttributeError(path.Root("signing_key_wo"), "Missing signing_key_wo",
			fmt.Sprintf("The policy's Secret holds the manifest signing key written with signing_key_wo_version = %d, and the configuration "+
				"does not set signing_key_wo: this apply would write the Secret without it, and the backups would no longer be signed. "+
				"Write-only values count only when their version changes: set signing_key_wo, or change signing_key_wo_version to stop "+
				"signing.", stateVersion.ValueInt64()))
	}
}

// holdsSigningKey reports whether the policy's Secret holds a signing key:
// false when the cluster cannot be asked at plan time, true when the
// provider's connection to it is known only after apply (the state's
// signing_key_wo_version says the last apply wrote one; pending.go).
func (r *backupPolicyResource) holdsSigningKey(ctx context.Context, state *backupPolicyModel) bool {
	if len(r.data.pendingFor(false, state.Kubernetes)) > 0 {
		return true
	}
	var quiet diag.Diagnostics
	client, d := kubeClient(ctx, r.data, state.Kubernetes, path.Root("kubernetes"))
	quiet.Append(d...)
	if quiet.HasError() {
		return false
	}
	keys, exists, ok := secretKeysForDrift(ctx, client, "the backup policy", state.Namespace.ValueString(), backup.ObjectName(state.Name.ValueString()), &quiet)
	return ok && exists && keys[backup.SecretSigningKey]
}

var (
	configMapGVK  = k8sschema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	secretGVK     = k8sschema.GroupVersionKind{Version: "v1", Kind: "Secret"}
	cronJobGVK    = k8sschema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "CronJob"}
	deploymentGVK = k8sschema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
)

// notTheirsMessage says why a ServiceAccount the policy did not make is
// refused, and how its owner can hand it over on purpose.
func notTheirsMessage(ns, sa, policy, what string) string {
	var labels []string
	for k, v := range backup.PolicyLabels(policy) {
		labels = append(labels, k+"="+v)
	}
	slices.Sort(labels)
	return fmt.Sprintf("ServiceAccount %q %s in namespace %s and this policy did not make it (it lacks the policy's labels). "+
		"With service_account_annotations the policy makes its own ServiceAccount, and it does not take over one that others may run as "+
		"or manage. Either leave out service_account_annotations to run as that account as it is, delete it, name another "+
		"service_account_name, or hand it to the policy on purpose: kubectl -n %s label serviceaccount %s %s",
		sa, what, ns, ns, sa, strings.Join(labels, " "))
}

// applyServiceAccount makes or updates the policy's own ServiceAccount.
// A new one is created, never applied: an account someone made after the
// check (another policy or tool in the same apply) is then refused
// instead of taken over by a forced apply. The annotations go on by
// server-side apply, so a key dropped from the configuration leaves the
// account, with the version read (or created) as the precondition: an
// account swapped in between is a conflict, not overwritten.
func applyServiceAccount(ctx context.Context, client *kube.Client, obj *unstructured.Unstructured, version, policy string) (uid string, err error) {
	sas := client.Clientset.CoreV1().ServiceAccounts(obj.GetNamespace())
	if version == "" {
		bare := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: obj.GetName(), Namespace: obj.GetNamespace(), Labels: obj.GetLabels()}}
		made, err := sas.Create(ctx, bare, metav1.CreateOptions{FieldManager: kube.FieldManager + "-create"})
		if apierrors.IsAlreadyExists(err) {
			return "", errors.New(notTheirsMessage(obj.GetNamespace(), obj.GetName(), policy, "was made by someone else while this apply ran"))
		}
		if err != nil {
			return "", fmt.Errorf("making ServiceAccount %s/%s, which the backup pods run as: %w", obj.GetNamespace(), obj.GetName(), err)
		}
		version = made.ResourceVersion
	}
	o := obj.DeepCopy()
	o.SetResourceVersion(version)
	out, err := client.Apply(ctx, o)
	if err != nil {
		if apierrors.IsConflict(err) {
			return "", fmt.Errorf("ServiceAccount %s/%s changed while this apply ran; apply again (it is checked anew): %w", obj.GetNamespace(), obj.GetName(), err)
		}
		return "", fmt.Errorf("applying ServiceAccount %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	return string(out.GetUID()), nil
}

// privateKeyServiceAccount keeps, in the resource's private state, the UID
// of the ServiceAccount the policy made: a rename or destroy deletes that
// account only, whatever the labels and the ConfigMap's record (which
// anyone who may edit the namespace's objects can change) say.
const privateKeyServiceAccount = "service_account"

type madeServiceAccountRecord struct {
	UID string `json:"uid"`
}

func setMadeServiceAccount(ctx context.Context, p privateState, uid string) diag.Diagnostics {
	if uid == "" {
		return p.SetKey(ctx, privateKeyServiceAccount, nil)
	}
	b, _ := json.Marshal(madeServiceAccountRecord{UID: uid})
	return p.SetKey(ctx, privateKeyServiceAccount, b)
}

// madeServiceAccountUID is the UID setMadeServiceAccount kept, or "" (an
// imported policy, or a state from before it was kept: the labels decide).
func madeServiceAccountUID(ctx context.Context, p privateState) (string, diag.Diagnostics) {
	b, d := p.GetKey(ctx, privateKeyServiceAccount)
	if d.HasError() || len(b) == 0 {
		return "", d
	}
	var rec madeServiceAccountRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return "", d
	}
	return rec.UID, d
}

// letGoServiceAccount deletes (remove) or releases a ServiceAccount policy
// made; one it did not make (any more) is left alone.
func letGoServiceAccount(ctx context.Context, client *kube.Client, ns, name, policy, uid string, remove bool) error {
	sas := client.Clientset.CoreV1().ServiceAccounts(ns)
	cur, err := sas.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading ServiceAccount %s/%s, which the policy made: %w", ns, name, err)
	}
	if !backup.OwnsServiceAccount(cur.Labels, policy) || (uid != "" && string(cur.UID) != uid) {
		return nil
	}
	if remove {
		err = sas.Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &cur.UID}})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting ServiceAccount %s/%s, which the policy made: %w", ns, name, err)
		}
		return nil
	}
	if _, err := sas.Patch(ctx, name, k8stypes.MergePatchType, backup.ServiceAccountReleasePatch(), metav1.PatchOptions{FieldManager: kube.FieldManager}); err != nil {
		return fmt.Errorf("releasing ServiceAccount %s/%s (taking the policy's labels off it): %w", ns, name, err)
	}
	return nil
}

// readServiceAccountAnnotations is service_account_annotations as the
// cluster has them: of the annotations the policy set, those the account
// still carries; null when the account is gone or is no longer the
// policy's, so the next plan makes it again (or says why not).
func readServiceAccountAnnotations(ctx context.Context, client *kube.Client, m *backupPolicyModel) error {
	if m.ServiceAccountAnnotations.IsNull() || m.ServiceAccountName.ValueString() == "" {
		return nil
	}
	ns, name := m.Namespace.ValueString(), m.ServiceAccountName.ValueString()
	cur, err := client.Clientset.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		m.ServiceAccountAnnotations = types.MapNull(types.StringType)
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading ServiceAccount %s/%s, which the policy made: %w", ns, name, err)
	}
	if !backup.OwnsServiceAccount(cur.Labels, m.Name.ValueString()) {
		m.ServiceAccountAnnotations = types.MapNull(types.StringType)
		return nil
	}
	got := map[string]string{}
	for k := range m.ServiceAccountAnnotations.Elements() {
		if v, ok := cur.Annotations[k]; ok {
			got[k] = v
		}
	}
	var d diag.Diagnostics
	m.ServiceAccountAnnotations, d = types.MapValueFrom(ctx, types.StringType, got)
	if d.HasError() {
		return fmt.Errorf("reading ServiceAccount %s/%s's annotations: %v", ns, name, d)
	}
	return nil
}

func deleteIfExists(ctx context.Context, del func(context.Context, *unstructured.Unstructured) error, gvk k8sschema.GroupVersionKind, ns, name string) error {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(ns)
	u.SetName(name)
	if err := del(ctx, u); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}

func (r *backupPolicyResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state backupPolicyModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || keepUnread(ctx, req, resp, "backup policy "+state.ID.ValueString(), r.data.pendingFor(false, state.Kubernetes)) {
		return
	}
	client, d := kubeClient(ctx, r.data, state.Kubernetes, path.Root("kubernetes"))
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	ns, name := state.Namespace.ValueString(), backup.ObjectName(state.Name.ValueString())
	cm, err := client.Get(ctx, configMapGVK, ns, name)
	if apierrors.IsNotFound(err) {
		tflog.Warn(ctx, "backup policy ConfigMap is gone; removing from state", map[string]any{"namespace": ns, "name": name})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("reading backup policy (%s)", state.ID.ValueString()), err.Error())
		return
	}
	cj, err := client.Get(ctx, cronJobGVK, ns, name)
	if apierrors.IsNotFound(err) {
		resp.State.RemoveResource(ctx) // a policy without its CronJob runs nothing: recreate it
		return
	}
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("reading backup policy (%s)", state.ID.ValueString()), err.Error())
		return
	}
	_, depErr := client.Get(ctx, deploymentGVK, ns, name)
	if depErr != nil && !apierrors.IsNotFound(depErr) {
		resp.Diagnostics.AddError(fmt.Sprintf("reading backup policy (%s)", state.ID.ValueString()), depErr.Error())
		return
	}
	drill, err := client.Get(ctx, cronJobGVK, ns, backup.DrillObjectName(state.Name.ValueString()))
	if apierrors.IsNotFound(err) {
		drill, err = nil, nil
	}
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("reading backup policy (%s)", state.ID.ValueString()), err.Error())
		return
	}
	// What the last apply made, to check the objects against; flatten
	// replaces the nested blocks rather than editing them.
	applied := state
	if err := flattenBackupPolicy(&state, cm, cj, drill, depErr == nil); err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("reading backup policy (%s)", state.ID.ValueString()), err.Error())
		return
	}
	if err := readServiceAccountAnnotations(ctx, client, &state); err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("reading backup policy (%s)", state.ID.ValueString()), err.Error())
		return
	}
	if applied.Destination == nil {
		applied = state // just imported: the objects are what there is to go by
	}
	if state.DriftedObjects = backupPolicyDrift(ctx, client, &applied, state.DriftedObjects, &resp.Diagnostics); resp.Diagnostics.HasError() {
		return
	}
	r.fillComputed(ctx, &state, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *backupPolicyResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state backupPolicyModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, 5*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client, d := kubeClient(ctx, r.data, state.Kubernetes, path.Root("kubernetes"))
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	ns, name := state.Namespace.ValueString(), backup.ObjectName(state.Name.ValueString())
	if err := deleteIfExists(ctx, client.Delete, cronJobGVK, ns, backup.DrillObjectName(state.Name.ValueString())); err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("deleting backup policy (%s)", state.ID.ValueString()), fmt.Sprintf("deleting the drill CronJob: %v", err))
		return
	}
	if err := deleteIfExists(ctx, client.Delete, deploymentGVK, ns, backup.MetricsObjectName(state.Name.ValueString())); err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("deleting backup policy (%s)", state.ID.ValueString()), fmt.Sprintf("deleting the metrics Deployment: %v", err))
		return
	}
	for _, gvk := range []k8sschema.GroupVersionKind{cronJobGVK, deploymentGVK, configMapGVK, secretGVK} {
		if err := deleteIfExists(ctx, client.Delete, gvk, ns, name); err != nil {
			resp.Diagnostics.AddError(fmt.Sprintf("deleting backup policy (%s)", state.ID.ValueString()), fmt.Sprintf("deleting %s %s: %v", gvk.Kind, name, err))
			return
		}
	}
	if !state.ServiceAccountAnnotations.IsNull() && state.ServiceAccountName.ValueString() != "" {
		uid, d := madeServiceAccountUID(ctx, req.Private)
		resp.Diagnostics.Append(d...)
		if err := letGoServiceAccount(ctx, client, ns, state.ServiceAccountName.ValueString(), state.Name.ValueString(), uid, true); err != nil {
			resp.Diagnostics.AddError(fmt.Sprintf("deleting backup policy (%s)", state.ID.ValueString()), err.Error())
			return
		}
	}
	where := "the destination"
	if cfg, err := backupConfigOf(&state); err == nil {
		where = cfg.Destination.URL
	}
	resp.Diagnostics.AddWarning("Backups left in place",
		fmt.Sprintf("The backup policy %s was removed from the cluster; its backups and binlog archive at %s were not deleted. Remove them yourself when they are no longer needed (restore with `spinops backup restore`).", state.ID.ValueString(), where))
}

func (r *backupPolicyResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	ns, name, ok := strings.Cut(req.ID, "/")
	if !ok || ns == "" || name == "" {
		resp.Diagnostics.AddError("Invalid import id", fmt.Sprintf("expected <namespace>/<name>, got %q", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("namespace"), ns)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	markImported(ctx, resp)
}

// fillComputed sets next_run from the schedule and reads the destination's
// manifests; an unreadable destination is a warning, not an error: the
// objects themselves are fine.
func (r *backupPolicyResource) fillComputed(ctx context.Context, m *backupPolicyModel, diags *diag.Diagnostics) {
	m.NextRun = types.StringNull()
	if sched, err := cron.ParseStandard(m.Schedule.ValueString()); err == nil {
		now := r.data.now()
		if tz := m.TimeZone.ValueString(); tz != "" {
			if loc, err := time.LoadLocation(tz); err == nil {
				now = now.In(loc)
			}
		} else {
			now = now.UTC()
		}
		m.NextRun = types.StringValue(sched.Next(now).UTC().Format(time.RFC3339))
	}
	m.LastSuccessfulBackup = types.StringNull()
	m.RestoreWindow = types.ObjectNull(restoreWindowAttrTypes)
	m.LastDrill = types.ObjectNull(drillAttrTypes)
	m.ArchiverHeartbeat, m.ArchiverBehindBytes = types.StringNull(), types.Int64Null()
	cfg, err := backupConfigOf(m)
	if err != nil {
		return
	}
	l, err := listBackups(ctx, r.data, cfg.Destination)
	if err != nil {
		diags.AddWarning("Cannot read the backup destination", fmt.Sprintf("last_successful_backup and restore_window are unknown: %v", err))
		return
	}
	setListingComputed(l, &m.LastSuccessfulBackup, &m.RestoreWindow)
	if d := l.LastDrill(); d != nil {
		m.LastDrill = drillObject(*d)
	}
	if st := l.ArchiverStatus(); st != nil && !st.HeartbeatAt.IsZero() {
		m.ArchiverHeartbeat = types.StringValue(st.HeartbeatAt.UTC().Format(time.RFC3339))
		m.ArchiverBehindBytes = types.Int64Value(st.BehindBytes)
	}
}
