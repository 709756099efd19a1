package provider

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/objectvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
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

type iamSourceRoleModel struct {
	ID                   types.String   `tfsdk:"id"`
	Name                 types.String   `tfsdk:"name"`
	NamePrefix           types.String   `tfsdk:"name_prefix"`
	Path                 types.String   `tfsdk:"path"`
	Description          types.String   `tfsdk:"description"`
	Trust                *iamTrustModel `tfsdk:"trust"`
	ManagedRoleARNs      types.Set      `tfsdk:"managed_role_arns"`
	Bake                 *iamBakeModel  `tfsdk:"bake"`
	AdditionalPolicyJSON types.String   `tfsdk:"additional_policy_json"`
	PermissionsBoundary  types.String   `tfsdk:"permissions_boundary"`
	MaxSessionDuration   types.Int64    `tfsdk:"max_session_duration"`
	Tags                 types.Map      `tfsdk:"tags"`
	ARN                  types.String   `tfsdk:"arn"`
	UniqueID             types.String   `tfsdk:"unique_id"`
	TrustPolicyJSON      types.String   `tfsdk:"trust_policy_json"`
	PolicyJSON           types.String   `tfsdk:"policy_json"`
	ManagedRoles         types.Map      `tfsdk:"managed_roles"`
	Timeouts             timeouts.Value `tfsdk:"timeouts"`
}

type iamTrustModel struct {
	PrincipalARNs types.Set `tfsdk:"principal_arns"`
	EKSOIDC       types.Set `tfsdk:"eks_oidc"`
}

type iamEKSOIDCModel struct {
	ProviderARN     types.String `tfsdk:"provider_arn"`
	ServiceAccounts types.Set    `tfsdk:"service_accounts"`
}

type iamBakeModel struct {
	Enabled types.Bool `tfsdk:"enabled"`
}

var (
	iamEKSOIDCAttrTypes = map[string]attr.Type{
		"provider_arn":     types.StringType,
		"service_accounts": types.SetType{ElemType: types.StringType},
	}
	iamManagedRoleAttrTypes = map[string]attr.Type{
		"readable":   types.BoolType,
		"trusted":    types.BoolType,
		"conditions": types.ListType{ElemType: types.StringType},
		"detail":     types.StringType,
	}
)

func (r *iamSourceRoleResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_iam_source_role"
}

func (r *iamSourceRoleResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = iamSourceRoleSchema(ctx)
}

func iamSourceRoleSchema(ctx context.Context) schema.Schema {
	roleARNs := setvalidator.ValueStringsAre(validators.RoleARN())
	return schema.Schema{
		// Version 1: timeouts is a block, as on every other resource (it was
		// an attribute in version 0).
		Version: 1,
		MarkdownDescription: "The AWS \"managing\" (source) role Spinnaker runs as. Clouddriver and Rosco run as this role " +
			"(through IRSA or the EKS node role) and assume one \"managed\" (destination) role in each target account.\n\n" +
			"The role gets a trust policy built from `trust` and one inline policy, `" + awscloud.SourceRolePolicyName + "`, with exactly " +
			"`ec2:DescribeAvailabilityZones`, `ec2:DescribeRegions` and `sts:AssumeRole` on exactly `managed_role_arns` " +
			"(plus what image baking needs when `bake` is enabled). `additional_policy_json` goes into a second inline policy, `" +
			awscloud.AdditionalPolicyName + "`. Documents are written as canonical JSON (sorted keys, lists always arrays) and compared " +
			"semantically when read back, so plans do not flap; a trust or policy edited outside Terraform shows in the next plan and is put back.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The role's name.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "The role's name. Exactly one of `name` and `name_prefix` must be set. " +
					"Changing it replaces the role (and every managed role must then trust the new one).",
				Validators: []validator.String{
					stringvalidator.LengthBetween(1, 64),
					validators.RoleName(),
				},
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown(), stringplanmodifier.RequiresReplace()},
			},
			"name_prefix": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: fmt.Sprintf("Create a unique name beginning with this prefix (at most %d characters). Changing it replaces the role.", iamNamePrefixMaxLength),
				Validators: []validator.String{
					stringvalidator.LengthBetween(1, iamNamePrefixMaxLength),
					validators.RoleName(),
				},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"path": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString("/"),
				MarkdownDescription: "The role's path, `/` or `/something/`. It is part of the ARN. Defaults to `/`. Changing it replaces the role.",
				Validators: []validator.String{
					stringvalidator.LengthBetween(1, 512),
					validators.IAMPath(),
				},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"description": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "The role's description.",
				Validators:          []validator.String{stringvalidator.LengthBetween(1, 1000)},
			},
			"managed_role_arns": schema.SetAttribute{
				Optional:    true,
				ElementType: types.StringType,
				MarkdownDescription: "ARNs of the managed roles in the target accounts, the only roles the source role may assume. " +
					"With none and `bake` disabled the role can do nothing, and the plan warns.",
				Validators: []validator.Set{roleARNs},
			},
			"additional_policy_json": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "An identity-based policy document (JSON, e.g. from `jsonencode` or `aws_iam_policy_document`) for whatever else " +
					"Spinnaker needs in this account (S3 for Front50, ECR, ...). It is written as the inline policy `" + awscloud.AdditionalPolicyName +
					"`; it must have `Version`, `Statement`, `Effect`, `Action` and `Resource`, and no `Principal`.",
				Validators: []validator.String{validators.IdentityPolicy()},
			},
			"permissions_boundary": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "ARN of the managed policy to set as the role's permissions boundary.",
				Validators:          []validator.String{validators.PolicyARN()},
			},
			"max_session_duration": schema.Int64Attribute{
				Optional:            true,
				Computed:            true,
				Default:             int64default.StaticInt64(iamDefaultMaxSession),
				MarkdownDescription: "Maximum session duration in seconds, 3600 (the default) to 43200.",
				Validators:          []validator.Int64{int64validator.Between(3600, 43200)},
			},
			"tags": schema.MapAttribute{
				Optional:            true,
				ElementType:         types.StringType,
				MarkdownDescription: "Tags of the role.",
				Validators: []validator.Map{
					mapvalidator.SizeAtMost(50),
					mapvalidator.KeysAre(stringvalidator.LengthBetween(1, 128)),
					mapvalidator.ValueStringsAre(stringvalidator.LengthAtMost(256)),
				},
			},
			"arn": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The role's ARN: what the managed roles' trust policies name.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"unique_id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The role's unique id (`AROA...`).",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"trust_policy_json": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "The trust policy built from `trust`, canonical JSON. After a refresh it is the document IAM has; " +
					"when that was edited outside Terraform, the plan shows the change back.",
			},
			"policy_json": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "The inline policy `" + awscloud.SourceRolePolicyName + "` built from `managed_role_arns` and `bake`, canonical JSON. " +
					"After a refresh it is the document IAM has; when that was edited outside Terraform, the plan shows the change back.",
			},
			"managed_roles": schema.MapNestedAttribute{
				Computed: true,
				MarkdownDescription: "For each of `managed_role_arns`, what the provider can tell about it. IAM lets the provider read only roles " +
					"of its own account; roles elsewhere are reported unreadable.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"readable": schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the provider's credentials could read the role."},
					"trusted": schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the role's trust policy lets this role call `sts:AssumeRole` " +
						"(given `conditions`). False when the role is unreadable."},
					"conditions": schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Conditions of the trusting statement " +
						"the provider cannot evaluate, e.g. `StringEquals sts:ExternalId`."},
					"detail": schema.StringAttribute{Computed: true, MarkdownDescription: "Which statement decided, or why the role could not be read."},
				}},
			},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
			"trust": schema.SingleNestedBlock{
				MarkdownDescription: "Who may assume the role: Kubernetes service accounts through IRSA (`eks_oidc`), IAM principals such as " +
					"the EKS node role (`principal_arns`), or both. Required.",
				Validators: []validator.Object{objectvalidator.IsRequired()},
				Attributes: map[string]schema.Attribute{
					"principal_arns": schema.SetAttribute{
						Optional:            true,
						ElementType:         types.StringType,
						MarkdownDescription: "ARNs of IAM roles or users (or `arn:aws:iam::ACCOUNT:root`) allowed to call `sts:AssumeRole`, e.g. the EKS node role.",
						Validators: []validator.Set{
							setvalidator.SizeAtLeast(1),
							setvalidator.ValueStringsAre(validators.PrincipalARN()),
						},
					},
				},
				Blocks: map[string]schema.Block{
					"eks_oidc": schema.SetNestedBlock{
						MarkdownDescription: "IRSA: service accounts of one EKS cluster (one block per cluster) may call `sts:AssumeRoleWithWebIdentity`, " +
							"with the `aud` (`sts.amazonaws.com`) and `sub` conditions.",
						NestedObject: schema.NestedBlockObject{Attributes: map[string]schema.Attribute{
							"provider_arn": schema.StringAttribute{
								Required:            true,
								MarkdownDescription: "ARN of the cluster's IAM OIDC provider (the EKS module's `oidc_provider_arn`).",
								Validators:          []validator.String{validators.OIDCProviderARN()},
							},
							"service_accounts": schema.SetAttribute{
								Required:            true,
								ElementType:         types.StringType,
								MarkdownDescription: "Service accounts as `namespace:name`, e.g. `spinnaker:clouddriver`, `spinnaker:rosco`.",
								Validators: []validator.Set{
									setvalidator.SizeAtLeast(1),
									setvalidator.ValueStringsAre(validators.ServiceAccount()),
								},
							},
						}},
					},
				},
			},
			"bake": schema.SingleNestedBlock{
				MarkdownDescription: "Image baking: when enabled, the inline policy also grants what Rosco's Packer (amazon-ebs) needs to bake AMIs in this account.",
				Attributes: map[string]schema.Attribute{
					// Optional, checked in ValidateConfig: the framework would
					// require a Required attribute even without the block.
					"enabled": schema.BoolAttribute{Optional: true, MarkdownDescription: "Whether to add the bake permissions. Required in the block."},
				},
			},
		},
	}
}

func (r *iamSourceRoleResource) ConfigValidators(_ context.Context) []resource.ConfigValidator {
	return []resource.ConfigValidator{
		resourcevalidator.ExactlyOneOf(path.MatchRoot("name"), path.MatchRoot("name_prefix")),
	}
}

// ValidateConfig checks what single-attribute validators cannot: that
// someone may assume the role, that no OIDC provider is listed twice, and
// warns when the role would be allowed to do nothing.
func (r *iamSourceRoleResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m iamSourceRoleModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if m.Trust != nil && !m.Trust.PrincipalARNs.IsUnknown() && !m.Trust.EKSOIDC.IsUnknown() &&
		m.Trust.PrincipalARNs.IsNull() && len(m.Trust.EKSOIDC.Elements()) == 0 {
		resp.Diagnostics.AddAttributeError(path.Root("trust"), "Nobody may assume the role",
			"The trust block must set principal_arns (e.g. the EKS node role) and/or at least one eks_oidc block (IRSA service accounts).")
	}
	if m.Trust != nil && !m.Trust.EKSOIDC.IsUnknown() {
		var blocks []iamEKSOIDCModel
		resp.Diagnostics.Append(m.Trust.EKSOIDC.ElementsAs(ctx, &blocks, false)...)
		seen := map[string]bool{}
		for _, b := range blocks {
			if b.ProviderARN.IsUnknown() || b.ProviderARN.IsNull() {
				continue
			}
			if seen[b.ProviderARN.ValueString()] {
				resp.Diagnostics.AddAttributeError(path.Root("trust").AtName("eks_oidc"), "OIDC provider listed twice",
					fmt.Sprintf("%s appears in two eks_oidc blocks: list all its service accounts in one block.", b.ProviderARN.ValueString()))
			}
			seen[b.ProviderARN.ValueString()] = true
		}
	}
	if m.Bake != nil && m.Bake.Enabled.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("bake").AtName("enabled"), "Missing bake.enabled",
			"The bake block needs enabled = true (or false).")
	}
	noRoles := !m.ManagedRoleARNs.IsUnknown() && len(m.ManagedRoleARNs.Elements()) == 0
	noBake := m.Bake == nil || !m.Bake.Enabled.IsUnknown() && !m.Bake.Enabled.ValueBool()
	if noRoles && noBake {
		resp.Diagnostics.AddAttributeWarning(path.Root("managed_role_arns"), "The source role can do nothing",
			"managed_role_arns is empty and bake is not enabled: Spinnaker running as this role can list regions and availability zones, "+
				"but can neither assume a managed role nor bake. Add the managed roles of the target accounts.")
	}
}

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
func uniqueSuffix(now time.Time) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return now.UTC().Format("20060102150405") + hex.EncodeToString(b)
}

// ---- expand: configuration → backend ----

// documents builds the trust and inline policy documents from the model;
// unknown when an input they depend on is not known yet.
func (m *iamSourceRoleModel) documents(ctx context.Context) (trust, policy types.String, diags diag.Diagnostics) {
	trust, policy = types.StringUnknown(), types.StringUnknown()
	arns, known, d := setStrings(ctx, m.ManagedRoleARNs)
	diags.Append(d...)
	if known && (m.Bake == nil || !m.Bake.Enabled.IsUnknown()) {
		policy = types.StringValue(awscloud.SourceRolePolicy(arns, m.Bake != nil && m.Bake.Enabled.ValueBool()))
	}
	t, known, d := m.trustSpec(ctx)
	diags.Append(d...)
	if !known || diags.HasError() {
		return trust, policy, diags
	}
	doc, err := awscloud.SourceRoleTrustPolicy(t)
	if err != nil {
		diags.AddAttributeError(path.Root("trust"), "Invalid trust", err.Error())
		return trust, policy, diags
	}
	return types.StringValue(doc), policy, diags
}

func (m *iamSourceRoleModel) trustSpec(ctx context.Context) (awscloud.SourceRoleTrust, bool, diag.Diagnostics) {
	var t awscloud.SourceRoleTrust
	var diags diag.Diagnostics
	if m.Trust == nil {
		return t, true, diags
	}
	principals, known, d := setStrings(ctx, m.Trust.PrincipalARNs)
	diags.Append(d...)
	if !known || m.Trust.EKSOIDC.IsUnknown() {
		return t, false, diags
	}
	t.PrincipalARNs = principals
	var blocks []iamEKSOIDCModel
	diags.Append(m.Trust.EKSOIDC.ElementsAs(ctx, &blocks, false)...)
	for _, b := range blocks {
		sas, known, d := setStrings(ctx, b.ServiceAccounts)
		diags.Append(d...)
		if !known || b.ProviderARN.IsUnknown() {
			return t, false, diags
		}
		t.EKSOIDC = append(t.EKSOIDC, awscloud.EKSOIDCTrust{ProviderARN: b.ProviderARN.ValueString(), ServiceAccounts: sas})
	}
	return t, true, diags
}

// spec is the backend's view of the planned role.
func (m *iamSourceRoleModel) spec(ctx context.Context, name string) (awscloud.SourceRoleSpec, diag.Diagnostics) {
	trust, policy, diags := m.documents(ctx)
	if diags.HasError() {
		return awscloud.SourceRoleSpec{}, diags
	}
	if trust.IsUnknown() || policy.IsUnknown() {
		diags.AddError("Unknown policy inputs", "The trust or managed roles are still unknown at apply time; this is a bug in the provider.")
		return awscloud.SourceRoleSpec{}, diags
	}
	spec := awscloud.SourceRoleSpec{
		Name:                name,
		Path:                m.Path.ValueString(),
		Description:         m.Description.ValueString(),
		TrustPolicy:         trust.ValueString(),
		Policy:              policy.ValueString(),
		PermissionsBoundary: m.PermissionsBoundary.ValueString(),
		MaxSessionDuration:  int32(m.MaxSessionDuration.ValueInt64()),
		Tags:                map[string]string{},
	}
	if add := m.AdditionalPolicyJSON.ValueString(); add != "" {
		canonical, err := awscloud.CanonicalPolicy(add)
		if err != nil {
			diags.AddAttributeError(path.Root("additional_policy_json"), "Invalid policy document", err.Error())
			return spec, diags
		}
		spec.AdditionalPolicy = canonical
	}
	diags.Append(m.Tags.ElementsAs(ctx, &spec.Tags, false)...)
	return spec, diags
}

// setStrings returns a set's strings sorted; known is false when the set
// or an element is unknown. A null set gives nil.
func setStrings(ctx context.Context, s types.Set) ([]string, bool, diag.Diagnostics) {
	if s.IsUnknown() {
		return nil, false, nil
	}
	for _, e := range s.Elements() {
		if e.IsUnknown() {
			return nil, false, nil
		}
	}
	var out []string
	diags := s.ElementsAs(ctx, &out, false)
	sort.Strings(out)
	return out, true, diags
}

// ---- flatten: IAM → state ----

// refresh updates the model from what IAM has. Documents semantically
// equal to the state's keep the state's text; others are stored canonical,
// so the plan shows the difference. When importing, the arguments are
// recovered from the documents too.
func (m *iamSourceRoleModel) refresh(ctx context.Context, role *awscloud.SourceRole, importing bool) diag.Diagnostics {
	var diags diag.Diagnostics
	m.ID = types.StringValue(role.Name)
	m.Name = types.StringValue(role.Name)
	m.Path = types.StringValue(role.Path)
	m.ARN = types.StringValue(role.ARN)
	m.UniqueID = types.StringValue(role.UniqueID)
	m.Description = stringOrNull(role.Description)
	m.PermissionsBoundary = stringOrNull(role.PermissionsBoundary)
	m.MaxSessionDuration = types.Int64Value(int64(role.MaxSessionDuration))
	if role.MaxSessionDuration == 0 {
		m.MaxSessionDuration = types.Int64Value(iamDefaultMaxSession)
	}
	if len(role.Tags) > 0 || !m.Tags.IsNull() {
		tags, d := types.MapValueFrom(ctx, types.StringType, role.Tags)
		diags.Append(d...)
		m.Tags = tags
	}

	var err error
	if m.TrustPolicyJSON, err = refreshDocument(m.TrustPolicyJSON, role.TrustPolicy); err != nil {
		diags.AddError("reading IAM source role ("+role.Name+")", "trust policy: "+err.Error())
	}
	if m.PolicyJSON, err = refreshDocument(m.PolicyJSON, role.Policy); err != nil {
		diags.AddError("reading IAM source role ("+role.Name+")", "inline policy "+awscloud.SourceRolePolicyName+": "+err.Error())
	}
	if m.AdditionalPolicyJSON, err = refreshDocument(m.AdditionalPolicyJSON, role.AdditionalPolicy); err != nil {
		diags.AddError("reading IAM source role ("+role.Name+")", "inline policy "+awscloud.AdditionalPolicyName+": "+err.Error())
	}
	if importing {
		diags.Append(m.recoverArguments(ctx, role)...)
	}
	return diags
}

// refreshDocument returns the value to store for a document IAM has as
// remote ("" when absent).
func refreshDocument(prior types.String, remote string) (types.String, error) {
	if remote == "" {
		return types.StringNull(), nil
	}
	if !prior.IsNull() && !prior.IsUnknown() && awscloud.PoliciesEquivalent(prior.ValueString(), remote) {
		return prior, nil
	}
	canonical, err := awscloud.CanonicalPolicy(remote)
	if err != nil {
		return types.StringNull(), err
	}
	return types.StringValue(canonical), nil
}

// recoverArguments sets trust, managed_role_arns and bake from the role's
// documents (import).
func (m *iamSourceRoleModel) recoverArguments(ctx context.Context, role *awscloud.SourceRole) diag.Diagnostics {
	var diags diag.Diagnostics
	trust, _ := awscloud.ParseSourceRoleTrust(role.TrustPolicy)
	m.Trust = &iamTrustModel{PrincipalARNs: types.SetNull(types.StringType)}
	if len(trust.PrincipalARNs) > 0 {
		s, d := types.SetValueFrom(ctx, types.StringType, trust.PrincipalARNs)
		diags.Append(d...)
		m.Trust.PrincipalARNs = s
	}
	blocks := make([]iamEKSOIDCModel, 0, len(trust.EKSOIDC))
	for _, o := range trust.EKSOIDC {
		sas, d := types.SetValueFrom(ctx, types.StringType, o.ServiceAccounts)
		diags.Append(d...)
		blocks = append(blocks, iamEKSOIDCModel{ProviderARN: types.StringValue(o.ProviderARN), ServiceAccounts: sas})
	}
	oidc, d := types.SetValueFrom(ctx, types.ObjectType{AttrTypes: iamEKSOIDCAttrTypes}, blocks)
	diags.Append(d...)
	m.Trust.EKSOIDC = oidc

	arns, bake := awscloud.ParseSourceRolePolicy(role.Policy)
	m.ManagedRoleARNs = types.SetNull(types.StringType)
	if len(arns) > 0 {
		s, d := types.SetValueFrom(ctx, types.StringType, arns)
		diags.Append(d...)
		m.ManagedRoleARNs = s
	}
	m.Bake = nil
	if bake {
		m.Bake = &iamBakeModel{Enabled: types.BoolValue(true)}
	}
	return diags
}

// setManagedRoles evaluates each managed role for role.
func (m *iamSourceRoleModel) setManagedRoles(ctx context.Context, client *awscloud.IAMClient, role *awscloud.SourceRole) diag.Diagnostics {
	arns, _, diags := setStrings(ctx, m.ManagedRoleARNs)
	statuses := client.CheckManagedRoles(ctx, role.Identity(), arns)
	elems := make(map[string]attr.Value, len(statuses))
	for _, st := range statuses {
		conds := st.Trust.Conditions
		if conds == nil {
			conds = []string{}
		}
		list, d := types.ListValueFrom(ctx, types.StringType, conds)
		diags.Append(d...)
		obj, d := types.ObjectValue(iamManagedRoleAttrTypes, map[string]attr.Value{
			"readable":   types.BoolValue(st.Readable),
			"trusted":    types.BoolValue(st.Readable && st.Trust.Trusted),
			"conditions": list,
			"detail":     types.StringValue(st.Detail),
		})
		diags.Append(d...)
		elems[st.ARN] = obj
		tflog.Debug(ctx, "managed role", map[string]any{"arn": st.ARN, "readable": st.Readable, "trusted": st.Trust.Trusted, "detail": st.Detail})
	}
	mv, d := types.MapValue(types.ObjectType{AttrTypes: iamManagedRoleAttrTypes}, elems)
	diags.Append(d...)
	m.ManagedRoles = mv
	return diags
}

func stringOrNull(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}
