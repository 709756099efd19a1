package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
)

var _ ephemeral.EphemeralResourceWithConfigure = &agentCredentialEphemeral{}

func newAgentCredentialEphemeral() ephemeral.EphemeralResource { return &agentCredentialEphemeral{} }

// agentCredentialEphemeral hands an account's agent credential to whatever
// deploys the agent (Helm, Kustomize, a write-only argument) without it
// ever entering state or plan.
type agentCredentialEphemeral struct {
	data *providerData
}

type agentCredentialModel struct {
	Name           types.String `tfsdk:"name"`
	RegistrationID types.String `tfsdk:"registration_id"`
	Credential     types.String `tfsdk:"credential"`
	BridgeAddress  types.String `tfsdk:"bridge_address"`
	CACertificate  types.String `tfsdk:"ca_certificate"`
	Endpoint       types.String `tfsdk:"endpoint"`
}

func (e *agentCredentialEphemeral) Metadata(_ context.Context, req ephemeral.MetadataRequest, resp *ephemeral.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_agent_credential"
}

func (e *agentCredentialEphemeral) Schema(_ context.Context, _ ephemeral.SchemaRequest, resp *ephemeral.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The current agent credential of an account registered at the bridge (`spinops_agent_account`), for teams that deploy the agent " +
			"with their own Helm chart or Kustomize. Ephemeral: the value is never stored in the plan or state. Reading it does not rotate it.",
		Attributes: map[string]schema.Attribute{
			"name": schema.StringAttribute{Required: true, MarkdownDescription: "The account name.",
				Validators: []validator.String{validators.AccountName()}},
			"registration_id": schema.StringAttribute{Optional: true,
				MarkdownDescription: "The registration this credential must belong to: pass `spinops_agent_account.<x>.id`. It is unknown until the account " +
					"is registered, so Terraform opens this resource only after the account exists; and a registration replaced in between is refused " +
					"instead of handing out another registration's credential."},
			"credential": schema.StringAttribute{Computed: true, Sensitive: true,
				MarkdownDescription: "The agent credential (`bridge.auth.token` or the account's `credential` in the agent config)."},
			"bridge_address": schema.StringAttribute{Computed: true, MarkdownDescription: "The provider's bridge address."},
			"ca_certificate": schema.StringAttribute{Computed: true, MarkdownDescription: "The bridge CA the provider trusts (PEM; empty when it uses the system roots)."},
			"endpoint":       schema.StringAttribute{Computed: true, MarkdownDescription: "The account's Kubernetes endpoint on the bridge."},
		},
	}
}

func (e *agentCredentialEphemeral) Configure(_ context.Context, req ephemeral.ConfigureRequest, resp *ephemeral.ConfigureResponse) {
	var diags diag.Diagnostics
	e.data, diags = providerDataFrom(req.ProviderData)
	resp.Diagnostics.Append(diags...)
}

func (e *agentCredentialEphemeral) Open(ctx context.Context, req ephemeral.OpenRequest, resp *ephemeral.OpenResponse) {
	var m agentCredentialModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	admin := bridgeAdmin(e.data, &resp.Diagnostics)
	if admin == nil {
		return
	}
	defer admin.Close()
	if id := m.RegistrationID.ValueString(); id != "" {
		acct, err := admin.Get(ctx, m.Name.ValueString())
		if err != nil {
			resp.Diagnostics.AddError("Reading the account failed", err.Error())
			return
		}
		if acct.GetId() != id {
			resp.Diagnostics.AddAttributeError(path.Root("registration_id"), "Another registration",
				fmt.Sprintf("account %q is now registration %s, not %s: it was registered again; apply the spinops_agent_account first.", m.Name.ValueString(), acct.GetId(), id))
			return
		}
	}
	cred, err := admin.Credential(ctx, m.Name.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Reading the agent credential failed", err.Error())
		return
	}
	m.Credential = types.StringValue(cred)
	m.BridgeAddress = types.StringValue(e.data.bridge.Address)
	m.CACertificate = types.StringValue(e.data.bridge.CACertificate)
	m.Endpoint = types.StringValue("")
	if kc, err := admin.Kubeconfig(ctx, m.Name.ValueString()); err == nil {
		m.Endpoint = types.StringValue(kc.GetServer())
	}
	resp.Diagnostics.Append(resp.Result.Set(ctx, &m)...)
}
