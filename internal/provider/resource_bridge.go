package provider

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	k8sresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/spinops/terraform-provider-spinops/internal/bridgeinstall"
	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"

	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
)

var (
	_ resource.ResourceWithConfigure      = &bridgeResource{}
	_ resource.ResourceWithValidateConfig = &bridgeResource{}
	_ resource.ResourceWithModifyPlan     = &bridgeResource{}
	_ resource.ResourceWithImportState    = &bridgeResource{}
)

func newBridgeResource() resource.Resource { return &bridgeResource{} }

// bridgeResource is spinops_bridge: the bridge deployed by Terraform in
// Spinnaker's cluster (internal/bridgeinstall renders and applies it).
type bridgeResource struct {
	data *providerData
}

func (r *bridgeResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_bridge"
}

func (r *bridgeResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	var diags diag.Diagnostics
	r.data, diags = providerDataFrom(req.ProviderData)
	resp.Diagnostics.Append(diags...)
}

// ValidateConfig refuses, at plan time, what the install would refuse.
func (r *bridgeResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m bridgeResourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if t := m.TLS; t != nil {
		n := 0
		for _, set := range []bool{!t.SecretName.IsNull(), !t.CertManagerIssuer.IsNull(), t.Generate.ValueBool()} {
			if set {
				n++
			}
		}
		if n > 1 {
			resp.Diagnostics.AddAttributeError(path.Root("tls"), "Conflicting TLS sources",
				"set exactly one of tls.secret_name, tls.cert_manager_issuer and tls.generate = true")
		}
	}
	if !m.Replicas.IsNull() && !m.Replicas.IsUnknown() && m.Replicas.ValueInt64() > 1 && !m.mysqlSet() && (m.MySQL == nil || !m.MySQL.DSNSecretName.IsUnknown()) {
		resp.Diagnostics.AddAttributeError(path.Root("replicas"), "More than one replica needs MySQL",
			fmt.Sprintf("replicas = %d: replicas share the registry and fence each account's lease in MySQL; SQLite is one file on one volume. "+
				"Set mysql { dsn_secret_name = ... } or use replicas = 1.", m.Replicas.ValueInt64()))
	}
	if g := m.GRPCService; g != nil && !g.Type.IsUnknown() && g.Type.ValueString() != "LoadBalancer" &&
		(!g.LoadBalancerIP.IsNull() || !g.SourceRanges.IsNull()) {
		resp.Diagnostics.AddAttributeError(path.Root("grpc_service").AtName("type"), "Load balancer settings without a load balancer",
			"grpc_service.load_balancer_ip and source_ranges apply to a LoadBalancer Service: set grpc_service.type = \"LoadBalancer\", or remove them")
	}
	if m.MySQL != nil && m.MySQL.DSNSecretName.IsNull() && !m.MySQL.DSNSecretKey.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("mysql").AtName("dsn_secret_name"), "Missing DSN Secret",
			"mysql.dsn_secret_key is set but mysql.dsn_secret_name is not: name the Secret that holds the DSN")
	}
	if m.mysqlSet() && m.Storage != nil && (!m.Storage.Size.IsNull() || !m.Storage.StorageClass.IsNull()) {
		resp.Diagnostics.AddAttributeError(path.Root("storage"), "storage with mysql",
			"the storage block sizes the SQLite volume; with mysql there is none: remove the storage block")
	}
}

// ModifyPlan keeps the CA known across updates that do not touch TLS, and
// plans drifted objects (found by Read) back.
func (r *bridgeResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan bridgeResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	var token types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("admin_token_wo"), &token)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var state bridgeResourceModel
	if !req.State.Raw.IsNull() {
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	// A replacement (a new name or namespace) is planned again as a create
	// (Terraform plans it with no prior state), which writes the token.
	resp.Diagnostics.Append(needWriteOnly(token, plan.AdminTokenWOVersion, state.AdminTokenWOVersion, !req.State.Raw.IsNull(),
		path.Root("admin_token_wo"), "admin_token_wo", "admin_token_wo_version", "the bridge's admin token Secret")...)
	if !req.State.Raw.IsNull() {
		// Objects changed or deleted outside Terraform (found by Read): the
		// plan shows them going away, and the apply puts them back.
		if len(state.DriftedObjects.Elements()) > 0 {
			plan.DriftedObjects = noDrift()
		}
		switch {
		case recheckUnread(ctx, req.Private, &resp.Diagnostics):
			// Not read by the last refresh (pending.go): applied again,
			// and on a new cluster with a new CA.
			plan.DriftedObjects, plan.CACertificate = types.ListUnknown(types.StringType), types.StringUnknown()
		case reflect.DeepEqual(plan.TLS, state.TLS) && plan.ExternalAddress.Equal(state.ExternalAddress) && plan.DNSNames.Equal(state.DNSNames):
			plan.CACertificate = state.CACertificate
		default:
			plan.CACertificate = types.StringUnknown()
		}
	}
	if plan.known() {
		var d diag.Diagnostics
		in := plan.install(ctx, &d)
		if !d.HasError() {
			plan.setComputed(in)
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func (r *bridgeResource) client(ctx context.Context, m *bridgeResourceModel, diags *diag.Diagnostics) *kube.Client {
	return kubeClientAt(ctx, r.data, m.Kubernetes, path.Root("kubernetes"), diags)
}

func (r *bridgeResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan, config bridgeResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Create(ctx, 10*time.Minute)
	resp.Diagnostics.Append(d...)
	r.apply(ctx, &plan, config.AdminTokenWO.ValueString(), true, timeout, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *bridgeResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, config, state bridgeResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Update(ctx, 10*time.Minute)
	resp.Diagnostics.Append(d...)
	// The token is written when its version changed, or when its Secret is
	// missing (a new cluster behind a connection known only after apply:
	// pending.go), from this apply's admin_token_wo.
	r.apply(ctx, &plan, config.AdminTokenWO.ValueString(), !plan.AdminTokenWOVersion.Equal(state.AdminTokenWOVersion), timeout, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if state.SpinnakerNamespace.ValueString() != "" && !state.SpinnakerNamespace.Equal(plan.SpinnakerNamespace) {
		// The Role of the namespace the bridge no longer withdraws in.
		var d diag.Diagnostics
		old := state.install(ctx, &d)
		if c := r.client(ctx, &plan, &resp.Diagnostics); c != nil && !d.HasError() {
			for _, ref := range old.Refs() {
				if ref.GetNamespace() == old.SpinnakerNamespace {
					if err := c.Delete(ctx, ref); err != nil {
						resp.Diagnostics.AddWarning("Old RBAC left behind", fmt.Sprintf("removing %s: %v", kube.Describe(ref), err))
					}
				}
			}
		}
	}
	clearUnread(ctx, resp.Private, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// apply installs the bridge, waits for it and fills the computed values.
// adminToken is the configuration's admin_token_wo, written over its Secret
// when newToken (bridgeinstall.AdminToken).
func (r *bridgeResource) apply(ctx context.Context, m *bridgeResourceModel, adminToken string, newToken bool, timeout time.Duration, diags *diag.Diagnostics) {
	in := m.install(ctx, diags)
	c := r.client(ctx, m, diags)
	if diags.HasError() || c == nil {
		return
	}
	if err := in.Validate(); err != nil {
		diags.AddError("Invalid bridge", err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tflog.Info(ctx, "deploying the spinops bridge", map[string]any{"namespace": in.Namespace, "name": in.Name, "image": in.Image, "replicas": in.Replicas})
	if err := in.Apply(ctx, c, bridgeinstall.AdminToken{Value: adminToken, Version: m.AdminTokenWOVersion.ValueInt64(), New: newToken}); err != nil {
		diags.AddError("Deploying the bridge failed", err.Error())
		return
	}
	if in.TLS.IssuerName != "" {
		if err := in.WaitForCertificate(ctx, c, timeout); err != nil {
			diags.AddError("The bridge's certificate was not issued", err.Error())
			return
		}
	}
	m.setComputed(in)
	m.DriftedObjects = noDrift()
	ca, err := in.CA(ctx, c)
	if err != nil {
		diags.AddError("Reading the bridge's CA failed", err.Error())
		return
	}
	m.CACertificate = types.StringValue(ca)
	if !m.Wait.ValueBool() {
		return
	}
	hasNodes, err := spinnaker.HasKubelet(ctx, c)
	if err != nil {
		diags.AddError("Waiting for the bridge failed", err.Error())
		return
	}
	if !hasNodes {
		diags.AddWarning("The bridge was not waited for",
			fmt.Sprintf("the cluster has no Node, so no pod can run: the bridge's Deployment %s/%s was applied but not waited for. "+
				"Set wait = false to silence this on a cluster without nodes.", in.Namespace, in.Name))
		return
	}
	if err := c.WaitForDeploymentAvailable(ctx, in.Namespace, in.Name, timeout); err != nil {
		diags.AddError("The bridge did not become available", err.Error()+
			fmt.Sprintf(" (kubectl -n %s describe deployment %s; kubectl -n %s logs deployment/%s)", in.Namespace, in.Name, in.Namespace, in.Name))
	}
}

// Read detects drift: a bridge whose Deployment or essential Secrets are
// gone is removed from state (the next apply makes it again, keeping a key
// ring that survived), and the image and replica count are read back.
func (r *bridgeResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state bridgeResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || keepUnread(ctx, req, resp, "the bridge "+state.ID.ValueString(), r.data.pendingFor(false, state.Kubernetes)) {
		return
	}
	in := state.install(ctx, &resp.Diagnostics)
	c := r.client(ctx, &state, &resp.Diagnostics)
	if resp.Diagnostics.HasError() || c == nil {
		return
	}
	d, err := c.Clientset.AppsV1().Deployments(in.Namespace).Get(ctx, in.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		tflog.Warn(ctx, "the bridge's Deployment is gone; removing it from state", map[string]any{"namespace": in.Namespace, "name": in.Name})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Reading the bridge failed", fmt.Sprintf("reading Deployment %s/%s: %v", in.Namespace, in.Name, err))
		return
	}
	if v, ok := d.Annotations[bridgeinstall.AnnotationExternalAddress]; ok && v != "" {
		state.ExternalAddress = types.StringValue(v)
	} else {
		state.ExternalAddress = types.StringNull()
	}
	if d.Spec.Replicas != nil {
		state.Replicas = types.Int64Value(int64(*d.Spec.Replicas))
	}
	for _, ctr := range d.Spec.Template.Spec.Containers {
		if ctr.Name != "bridge" {
			continue
		}
		state.Image = types.StringValue(ctr.Image)
		readBridgeArgs(&state, ctr.Args)
		state.Requests = readQuantities(state.Requests, ctr.Resources.Requests)
		state.Limits = readQuantities(state.Limits, ctr.Resources.Limits)
		for _, e := range ctr.Env {
			if e.Name == "SPINOPS_BRIDGE_MYSQL_DSN" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && !state.mysqlSet() {
				// An imported bridge on MySQL.
				state.MySQL = &bridgeMySQL{DSNSecretName: types.StringValue(e.ValueFrom.SecretKeyRef.Name), DSNSecretKey: types.StringValue(e.ValueFrom.SecretKeyRef.Key)}
			}
		}
	}
	for _, v := range d.Spec.Template.Spec.Volumes {
		// The TLS source of an imported bridge: a Secret that is not the
		// one the install generates or has cert-manager write is the user's.
		if v.Name == "tls" && v.Secret != nil && state.TLS == nil && v.Secret.SecretName != in.TLSSecret() {
			state.TLS = &bridgeTLS{SecretName: types.StringValue(v.Secret.SecretName), CertManagerIssuer: types.StringNull(),
				CertManagerIssuerKind: types.StringNull(), Generate: types.BoolNull()}
		}
	}
	// Everything below reads the install as the cluster says it is.
	in = state.install(ctx, &resp.Diagnostics)
	missing, err := in.Missing(ctx, c)
	if err != nil {
		resp.Diagnostics.AddError("Reading the bridge failed", err.Error())
		return
	}
	if len(missing) > 0 {
		resp.Diagnostics.AddWarning("Parts of the bridge are gone",
			fmt.Sprintf("%s deleted outside Terraform; the next apply installs the bridge again.", strings.Join(missing, ", ")))
		resp.State.RemoveResource(ctx)
		return
	}
	ca, err := in.CA(ctx, c)
	if err != nil {
		resp.Diagnostics.AddError("Reading the bridge's CA failed", err.Error())
		return
	}
	state.CACertificate = types.StringValue(ca)
	state.setComputed(in)
	if state.AdminTokenWOVersion.IsNull() {
		// An import: the admin token Secret records the version it holds.
		v, ok, err := in.AdminTokenVersion(ctx, c)
		if err != nil {
			resp.Diagnostics.AddError("Reading the bridge failed", err.Error())
			return
		}
		if ok {
			state.AdminTokenWOVersion = types.Int64Value(v)
		}
	}
	// Edits outside Terraform. A bridge whose token version is unknown
	// (imported from a Secret written without the annotation) is not
	// checked: its pods' checksum depends on the version the first apply
	// brings.
	if !state.AdminTokenWOVersion.IsNull() {
		objs, err := in.Objects(bridgeinstall.Checksum(state.AdminTokenWOVersion.ValueInt64(), in.TLS))
		if err != nil {
			resp.Diagnostics.AddError("Checking the bridge for drift failed", fmt.Sprintf("rendering the bridge from state: %v", err))
			return
		}
		if state.DriftedObjects = driftedObjects(ctx, c, "the bridge", state.DriftedObjects, &resp.Diagnostics, objs); resp.Diagnostics.HasError() {
			return
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// readQuantities reads a container's requests or limits back, keeping the
// configured spelling of a value that means the same quantity ("0.5" and
// "500m").
func readQuantities(old types.Map, got corev1.ResourceList) types.Map {
	if len(got) == 0 {
		if old.IsNull() || len(old.Elements()) == 0 {
			return old
		}
		return types.MapNull(types.StringType)
	}
	prev := map[string]string{}
	for k, v := range old.Elements() {
		if s, ok := v.(types.String); ok {
			prev[k] = s.ValueString()
		}
	}
	out := map[string]attr.Value{}
	for k, q := range got {
		v := q.String()
		if p, ok := prev[string(k)]; ok {
			if pq, err := k8sresource.ParseQuantity(p); err == nil && pq.Cmp(q) == 0 {
				v = p
			}
		}
		out[string(k)] = types.StringValue(v)
	}
	return types.MapValueMust(types.StringType, out)
}

// readBridgeArgs reads back what the Deployment's command line says (for
// import and drift).
func readBridgeArgs(m *bridgeResourceModel, args []string) {
	flag := func(name string) (string, bool) {
		for i := 0; i+1 < len(args); i++ {
			if args[i] == name {
				return args[i+1], true
			}
		}
		return "", false
	}
	if v, ok := flag("--spinnaker-namespace"); ok {
		m.SpinnakerNamespace = types.StringValue(v)
	} else {
		m.SpinnakerNamespace = types.StringNull()
	}
	rate := func(name string) types.Float64 {
		if v, ok := flag(name); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				return types.Float64Value(f)
			}
		}
		return types.Float64Null()
	}
	burst := func(name string) types.Int64 {
		if v, ok := flag(name); ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				return types.Int64Value(n)
			}
		}
		return types.Int64Null()
	}
	m.RefreshAccountRate, m.RefreshGlobalRate = rate("--refresh-account-rate"), rate("--refresh-global-rate")
	m.RefreshAccountBurst, m.RefreshGlobalBurst = burst("--refresh-account-burst"), burst("--refresh-global-burst")
	if v, ok := flag("--grace-period"); ok {
		if d, err := time.ParseDuration(v); err == nil {
			if old, err := time.ParseDuration(m.GracePeriod.ValueString()); err != nil || old != d {
				m.GracePeriod = types.StringValue(v)
			}
		}
	}
}

func (r *bridgeResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state bridgeResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := state.Timeouts.Delete(ctx, 10*time.Minute)
	resp.Diagnostics.Append(d...)
	in := state.install(ctx, &resp.Diagnostics)
	c := r.client(ctx, &state, &resp.Diagnostics)
	if resp.Diagnostics.HasError() || c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := in.Remove(ctx, c); err != nil {
		resp.Diagnostics.AddError("Removing the bridge failed", err.Error())
		return
	}
	err := c.WaitForDeleted(ctx, bridgeinstall.DeploymentGVK, in.Namespace, in.Name, timeout)
	if err != nil && !errors.Is(err, context.Canceled) {
		resp.Diagnostics.AddWarning("The bridge's Deployment is still terminating", err.Error())
	}
}

// ImportState takes `<namespace>/<name>`. Read takes admin_token_wo_version
// from the admin token Secret's annotation; without it (a Secret written by
// hand or by an older spinops), the first apply after an import writes the
// token again (set the same token to keep it).
func (r *bridgeResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	ns, name, ok := strings.Cut(req.ID, "/")
	if !ok || !validators.IsDNSLabel(ns) || !validators.IsDNSLabel(name) {
		resp.Diagnostics.AddError("Invalid import id", fmt.Sprintf("import by <namespace>/<name> of the bridge's Deployment (e.g. spinops/spinops-bridge), got %q", req.ID))
		return
	}
	for attr, v := range map[string]any{"namespace": ns, "name": name, "grace_period": "5m", "wait": true} {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(attr), v)...)
	}
	markImported(ctx, resp)
}
