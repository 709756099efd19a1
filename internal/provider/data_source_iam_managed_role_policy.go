package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	awscloud "github.com/spinops/terraform-provider-spinops/internal/cloud/aws"

	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
)

var _ datasource.DataSource = &iamManagedRolePolicyDataSource{}

func newIAMManagedRolePolicyDataSource() datasource.DataSource {
	return &iamManagedRolePolicyDataSource{}
}

// iamManagedRolePolicyDataSource computes documents only; it calls no AWS
// API, so it needs no provider configuration and works at plan time.
type iamManagedRolePolicyDataSource struct{}

type iamManagedRolePolicyModel struct {
	SourceRoleARNs    types.Set    `tfsdk:"source_role_arns"`
	ExternalID        types.String `tfsdk:"external_id"`
	Baseline          types.String `tfsdk:"baseline"`
	PassRoleARNs      types.Set    `tfsdk:"pass_role_arns"`
	ID                types.String `tfsdk:"id"`
	TrustPolicyJSON   types.String `tfsdk:"trust_policy_json"`
	PolicyJSON        types.String `tfsdk:"policy_json"`
	ManagedPolicyARNs types.List   `tfsdk:"managed_policy_arns"`
}

func (d *iamManagedRolePolicyDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_iam_managed_role_policy"
}

func (d *iamManagedRolePolicyDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	baselines := make([]string, len(awscloud.ManagedRoleBaselines))
	for i, b := range awscloud.ManagedRoleBaselines {
		baselines[i] = "`" + b + "`"
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "The documents a target account's managed (destination) role needs so that Spinnaker's source role " +
			"(`spinops_iam_source_role`) can deploy there: a trust policy that lets the source role assume it, an inline policy with " +
			"`iam:PassRole` and `iam:ListServerCertificates`, and a baseline of permissions. Landing zones create the managed roles " +
			"with their own per-account AWS providers from these outputs. Nothing is read from AWS: the documents are known at plan time " +
			"once the source role ARNs are.",
		Attributes: map[string]schema.Attribute{
			"source_role_arns": schema.SetAttribute{
				Required:    true,
				ElementType: types.StringType,
				MarkdownDescription: "ARNs of the source roles to trust (`spinops_iam_source_role.arn`); several when more than one Spinnaker " +
					"installation deploys into the account.",
				Validators: []validator.Set{
					setvalidator.SizeAtLeast(1),
					setvalidator.ValueStringsAre(validators.RoleARN()),
				},
			},
			"external_id": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "When set, the trust requires this `sts:ExternalId`; configure the same value on the Spinnaker AWS account " +
					"(`externalId`).",
				Validators: []validator.String{
					stringvalidator.LengthBetween(2, 1224),
					validators.ExternalID(),
				},
			},
			"baseline": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "The permissions besides PassRole and the certificate listing, one of " + strings.Join(baselines, ", ") + ". " +
					"`power_user` (the default) attaches the AWS managed policy PowerUserAccess, as Spinnaker's AWS guide does; " +
					"`ec2_deploy` is the narrower set Clouddriver needs to deploy EC2 server groups (Auto Scaling, launch templates, " +
					"security groups, load balancers, alarms), in `policy_json`; `none` adds nothing: attach your own.",
				Validators: []validator.String{stringvalidator.OneOf(awscloud.ManagedRoleBaselines...)},
			},
			"pass_role_arns": schema.SetAttribute{
				Optional:    true,
				ElementType: types.StringType,
				MarkdownDescription: "The roles Spinnaker may pass to the instances it launches (`iam:PassRole`), wildcards allowed. " +
					"Defaults to every role (`*`), as Spinnaker's AWS guide has it; narrow it to your instance roles.",
				Validators: []validator.Set{
					setvalidator.SizeAtLeast(1),
					setvalidator.ValueStringsAre(validators.PassRoleARN()),
				},
			},
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "A hash of the documents."},
			"trust_policy_json": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The managed role's trust policy (canonical JSON): `assume_role_policy` of an `aws_iam_role`.",
			},
			"policy_json": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The managed role's inline policy (canonical JSON): `policy` of an `aws_iam_role_policy`.",
			},
			"managed_policy_arns": schema.ListAttribute{
				Computed:            true,
				ElementType:         types.StringType,
				MarkdownDescription: "AWS managed policies to attach (`aws_iam_role_policy_attachment`); empty unless `baseline` is `power_user`.",
			},
		},
	}
}

func (d *iamManagedRolePolicyDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m iamManagedRolePolicyModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	sources, _, diags := setStrings(ctx, m.SourceRoleARNs)
	resp.Diagnostics.Append(diags...)
	passRoles, _, diags := setStrings(ctx, m.PassRoleARNs)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	baseline := m.Baseline.ValueString()
	if baseline == "" {
		baseline = awscloud.BaselinePowerUser
		m.Baseline = types.StringValue(baseline)
	}
	docs, err := awscloud.ManagedRolePolicies(sources, m.ExternalID.ValueString(), baseline, passRoles)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("source_role_arns"), "building managed role policy", err.Error())
		return
	}
	tflog.Debug(ctx, "built managed role documents", map[string]any{"source_roles": len(sources), "baseline": baseline, "external_id": m.ExternalID.ValueString() != ""})

	sum := sha256.Sum256([]byte(docs.TrustPolicy + "\n" + docs.Policy + "\n" + strings.Join(docs.ManagedPolicyARNs, ",")))
	m.ID = types.StringValue(hex.EncodeToString(sum[:8]))
	m.TrustPolicyJSON = types.StringValue(docs.TrustPolicy)
	m.PolicyJSON = types.StringValue(docs.Policy)
	list, diags := types.ListValueFrom(ctx, types.StringType, docs.ManagedPolicyARNs)
	resp.Diagnostics.Append(diags...)
	m.ManagedPolicyARNs = list
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
