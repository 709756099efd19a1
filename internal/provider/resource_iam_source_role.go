package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	awscloud "github.com/spinops/terraform-provider-spinops/internal/cloud/aws"

	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
)

var (
	_ resource.ResourceWithConfigure        = &iamSourceRoleResource{}
	_ resource.ResourceWithImportState      = &iamSourceRoleResource{}
	_ resource.ResourceWithModifyPlan       = &iamSourceRoleResource{}
	_ resource.ResourceWithValidateConfig   = &iamSourceRoleResource{}
	_ resource.ResourceWithConfigValidators = &iamSourceRoleResource{}
	_ resource.ResourceWithUpgradeState     = &iamSourceRoleResource{}
)

const (
	iamSourceRoleDefaultTimeout = 5 * time.Minute
	// iamNamePrefixMaxLength leaves room for the 26 characters of the
	// generated suffix within IAM's 64.
	iamNamePrefixMaxLength = 64 - 26
	iamDefaultMaxSession   = 3600
)

func newIAMSourceRoleResource() resource.Resource {
	return &iamSourceRoleResource{}
}

type iamSourceRoleResource struct {
	data *providerData
}

func (r *iamSourceRoleResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_iam_source_role"
}

// ValidateConfig checks what single-attribute validators cannot: that
// someone may assume the role, that no OIDC provider is listed twice, and
// warns when the role would be allowed to do nothing.
func (r *iamSourceRoleResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	var diags diag.Diagnostics
	r.data, diags = providerDataFrom(req.ProviderData)
	resp.Diagnostics.Append(diags...)
}

// ModifyPlan puts the documents the configuration asks for into the plan.
// After a refresh, state holds the documents IAM has, so an out-of-band
// edit shows as a change of trust_policy_json or policy_json.
func (r *iamSourceRoleResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy
	}
	var plan iamSourceRoleModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	trust, policy, diags := plan.documents(ctx)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("trust_policy_json"), trust)...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("policy_json"), policy)...)
	if req.State.Raw.IsNull() || resp.Diagnostics.HasError() {
		return
	}
	// managed_roles is read again after any change; it may then differ.
	if !resp.Plan.Raw.Equal(req.State.Raw) {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("managed_roles"), types.MapUnknown(types.ObjectType{AttrTypes: iamManagedRoleAttrTypes}))...)
	}
}

func (r *iamSourceRoleResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan iamSourceRoleModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, iamSourceRoleDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	name := plan.Name.ValueString()
	if name == "" {
		name = plan.NamePrefix.ValueString() + uniqueSuffix(time.Now())
	}
	summary := fmt.Sprintf("creating IAM source role (%s)", name)
	spec, diags := plan.spec(ctx, name)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	client, err := iamClient(ctx, r.data)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	tflog.Info(ctx, "creating IAM source role", map[string]any{"name": name, "path": spec.Path, "managed_roles": len(plan.ManagedRoleARNs.Elements())})
	role, err := client.CreateSourceRole(ctx, spec)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	tflog.Debug(ctx, "created IAM source role", map[string]any{"arn": role.ARN, "unique_id": role.UniqueID})

	plan.ID = types.StringValue(role.Name)
	plan.Name = types.StringValue(role.Name)
	plan.ARN = types.StringValue(role.ARN)
	plan.UniqueID = types.StringValue(role.UniqueID)
	plan.TrustPolicyJSON = types.StringValue(spec.TrustPolicy)
	plan.PolicyJSON = types.StringValue(spec.Policy)
	resp.Diagnostics.Append(plan.setManagedRoles(ctx, client, role)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *iamSourceRoleResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state iamSourceRoleModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := state.ID.ValueString()
	summary := fmt.Sprintf("reading IAM source role (%s)", name)
	client, err := iamClient(ctx, r.data)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	role, err := client.FindSourceRole(ctx, name)
	if awscloud.IsNotFound(err) {
		tflog.Warn(ctx, "IAM source role not found, removing it from state", map[string]any{"name": name})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	importing := state.Trust == nil
	resp.Diagnostics.Append(state.refresh(ctx, role, importing)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(state.setManagedRoles(ctx, client, role)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *iamSourceRoleResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state iamSourceRoleModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, iamSourceRoleDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	name := state.ID.ValueString()
	summary := fmt.Sprintf("updating IAM source role (%s)", name)
	spec, diags := plan.spec(ctx, name)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	client, err := iamClient(ctx, r.data)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	tflog.Info(ctx, "updating IAM source role", map[string]any{"name": name})
	role, err := client.UpdateSourceRole(ctx, spec)
	if awscloud.IsNotFound(err) {
		resp.Diagnostics.AddError(summary, "The role no longer exists (deleted outside Terraform since the last refresh). Run the plan again to create it.")
		return
	}
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	plan.ID = state.ID
	plan.Name = types.StringValue(role.Name)
	plan.ARN = types.StringValue(role.ARN)
	plan.UniqueID = types.StringValue(role.UniqueID)
	plan.TrustPolicyJSON = types.StringValue(spec.TrustPolicy)
	plan.PolicyJSON = types.StringValue(spec.Policy)
	resp.Diagnostics.Append(plan.setManagedRoles(ctx, client, role)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *iamSourceRoleResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state iamSourceRoleModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, iamSourceRoleDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	name := state.ID.ValueString()
	summary := fmt.Sprintf("deleting IAM source role (%s)", name)
	client, err := iamClient(ctx, r.data)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	tflog.Info(ctx, "deleting IAM source role", map[string]any{"name": name})
	if err := client.DeleteRole(ctx, name); err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
	}
}

// ImportState imports a role by its name; Read then recovers the
// arguments from its documents.
func (r *iamSourceRoleResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	name := strings.TrimSpace(req.ID)
	if name == "" || !validators.IsRoleName(name) {
		resp.Diagnostics.AddError("importing IAM source role",
			fmt.Sprintf("%q is not an IAM role name: import by the role's name (not its ARN), e.g. `terraform import spinops_iam_source_role.this spinnaker-managing`.", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
}

// uniqueSuffix returns 26 characters that sort by creation time: a UTC
// timestamp to the second and 12 random hex digits.
// ---- expand: configuration → backend ----

// documents builds the trust and inline policy documents from the model;
// unknown when an input they depend on is not known yet.
// spec is the backend's view of the planned role.
// setStrings returns a set's strings sorted; known is false when the set
// or an element is unknown. A null set gives nil.
// ---- flatten: IAM → state ----

// refresh updates the model from what IAM has. Documents semantically
// equal to the state's keep the state's text; others are stored canonical,
// so the plan shows the difference. When importing, the arguments are
// recovered from the documents too.
// refreshDocument returns the value to store for a document IAM has as
// remote ("" when absent).
// recoverArguments sets trust, managed_role_arns and bake from the role's
// documents (import).
// setManagedRoles evaluates each managed role for role.
