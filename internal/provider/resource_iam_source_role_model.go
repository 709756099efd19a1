package provider

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sort"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	awscloud "github.com/spinops/terraform-provider-spinops/internal/cloud/aws"
)

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

func uniqueSuffix(now time.Time) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return now.UTC().Format("20060102150405") + hex.EncodeToString(b)
}

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
