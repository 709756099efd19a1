package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/spinops/terraform-provider-spinops/internal/attach"
)

var _ datasource.DataSourceWithConfigure = &agentAccountsDataSource{}

func newAgentAccountsDataSource() datasource.DataSource { return &agentAccountsDataSource{} }

type agentAccountsDataSource struct {
	data *providerData
}

type agentAccountsModel struct {
	Accounts []agentAccountSummary `tfsdk:"accounts"`
}

type agentAccountSummary struct {
	Name                 types.String `tfsdk:"name"`
	ID                   types.String `tfsdk:"id"`
	Mode                 types.String `tfsdk:"mode"`
	Status               types.String `tfsdk:"status"`
	Connected            types.Bool   `tfsdk:"connected"`
	AgentID              types.String `tfsdk:"agent_id"`
	KubernetesVersion    types.String `tfsdk:"kubernetes_version"`
	APIServerHost        types.String `tfsdk:"api_server_host"`
	APIServerFingerprint types.String `tfsdk:"api_server_fingerprint"`
	Objects              types.Map    `tfsdk:"objects"`
	LastHeartbeat        types.String `tfsdk:"last_heartbeat"`
	Kinds                types.List   `tfsdk:"kinds"`
	Namespaces           types.List   `tfsdk:"namespaces"`
	LastRefusal          types.String `tfsdk:"last_refusal"`
}

func (d *agentAccountsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_agent_accounts"
}

func (d *agentAccountsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Every account registered at the bridge, with its status: for dashboards, checks and landing zones that need to know which clusters are attached.",
		Attributes: map[string]schema.Attribute{
			"accounts": schema.ListNestedAttribute{Computed: true, MarkdownDescription: "The accounts, sorted by name.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name":                   str("Account name."),
					"id":                     str("Registration id."),
					"mode":                   str("`agent` or `infrastructure` (`spinnaker_service` for an account registered with that removed mode: it behaves as `infrastructure`)."),
					"status":                 str("`connected`, `syncing`, `never_connected`, `unavailable` or `withdrawn`."),
					"connected":              schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether an agent is connected now."},
					"agent_id":               str("The serving agent's id."),
					"kubernetes_version":     str("The cluster's Kubernetes version."),
					"api_server_host":        str("The cluster's API server, as the agent reaches it."),
					"api_server_fingerprint": str("SHA-256 fingerprint of the cluster's CA."),
					"objects":                schema.MapAttribute{Computed: true, ElementType: types.Int64Type, MarkdownDescription: "Cached objects by kind."},
					"last_heartbeat":         str("Last heartbeat (RFC 3339), empty when disconnected."),
					"kinds":                  schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Registered kinds (empty: all)."},
					"namespaces":             schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Registered namespaces (empty: all)."},
					"last_refusal":           str("Why the bridge last refused an agent for the account (empty once one is accepted)."),
				}}},
		},
	}
}

func (d *agentAccountsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	var diags diag.Diagnostics
	d.data, diags = providerDataFrom(req.ProviderData)
	resp.Diagnostics.Append(diags...)
}

func (d *agentAccountsDataSource) Read(ctx context.Context, _ datasource.ReadRequest, resp *datasource.ReadResponse) {
	admin := bridgeAdmin(d.data, &resp.Diagnostics)
	if admin == nil {
		return
	}
	defer admin.Close()
	accts, err := admin.List(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Listing the accounts failed", err.Error())
		return
	}
	m := agentAccountsModel{Accounts: []agentAccountSummary{}}
	for _, a := range accts {
		s, st := a.GetSpec(), a.GetStatus()
		objs := map[string]attr.Value{}
		for k, v := range st.GetObjectCounts() {
			objs[k] = types.Int64Value(v)
		}
		hb := ""
		if st.GetConnected() && st.GetLastHeartbeatUnix() > 0 {
			hb = time.Unix(st.GetLastHeartbeatUnix(), 0).UTC().Format(time.RFC3339)
		}
		m.Accounts = append(m.Accounts, agentAccountSummary{
			Name: types.StringValue(s.GetName()), ID: types.StringValue(a.GetId()), Mode: types.StringValue(modeName(s.GetMode())),
			Status: types.StringValue(attach.Status(a)), Connected: types.BoolValue(st.GetConnected()), AgentID: types.StringValue(st.GetAgentId()),
			KubernetesVersion: types.StringValue(st.GetKubernetesVersion()), APIServerHost: types.StringValue(st.GetApiServerHost()),
			APIServerFingerprint: types.StringValue(st.GetCaFingerprint()), Objects: types.MapValueMust(types.Int64Type, objs),
			LastHeartbeat: types.StringValue(hb), Kinds: stringList(s.GetKinds()), Namespaces: stringList(s.GetNamespaces()),
			LastRefusal: types.StringValue(st.GetLastRefusal()),
		})
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func stringList(v []string) types.List {
	vals := make([]attr.Value, len(v))
	for i, s := range v {
		vals[i] = types.StringValue(s)
	}
	return types.ListValueMust(types.StringType, vals)
}
