package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/objectvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	awscloud "github.com/spinops/terraform-provider-spinops/internal/cloud/aws"

	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
)

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

// iamSourceRoleSchemaV0 is the schema of version 0, where timeouts was an
// attribute (`timeouts = { create = "5m" }`). Everything else is as now.
func iamSourceRoleSchemaV0(ctx context.Context) schema.Schema {
	s := iamSourceRoleSchema(ctx)
	s.Version = 0
	blocks := make(map[string]schema.Block, len(s.Blocks))
	for k, b := range s.Blocks {
		if k != "timeouts" {
			blocks[k] = b
		}
	}
	attrs := make(map[string]schema.Attribute, len(s.Attributes)+1)
	for k, a := range s.Attributes {
		attrs[k] = a
	}
	attrs["timeouts"] = timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true})
	s.Blocks, s.Attributes = blocks, attrs
	return s
}

// UpgradeState moves state of version 0 to version 1: the timeouts
// attribute became a block holding the same object, so every value is
// carried over as it is.
func (r *iamSourceRoleResource) UpgradeState(ctx context.Context) map[int64]resource.StateUpgrader {
	v0 := iamSourceRoleSchemaV0(ctx)
	return map[int64]resource.StateUpgrader{
		0: {
			PriorSchema: &v0,
			StateUpgrader: func(ctx context.Context, req resource.UpgradeStateRequest, resp *resource.UpgradeStateResponse) {
				var m iamSourceRoleModel
				resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
				if resp.Diagnostics.HasError() {
					return
				}
				resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
			},
		},
	}
}
