package provider

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/spinops/terraform-provider-spinops/internal/monitor"
)

var _ datasource.DataSourceWithConfigure = &zoneSLODataSource{}

func newZoneSLODataSource() datasource.DataSource { return &zoneSLODataSource{} }

type zoneSLODataSource struct {
	data *providerData
}

type zoneSLOModel struct {
	Kubernetes      *kubernetesModel         `tfsdk:"kubernetes"`
	ZoneID          types.String             `tfsdk:"zone_id"`
	ID              types.String             `tfsdk:"id"`
	Measured        types.Bool               `tfsdk:"measured"`
	SLO             types.Float64            `tfsdk:"slo"`
	Availability    map[string]types.Float64 `tfsdk:"availability"`
	BadRounds       map[string]types.Int64   `tfsdk:"bad_rounds"`
	BudgetRemaining types.Float64            `tfsdk:"error_budget_remaining"`
	Alerts          []zoneSLOAlertModel      `tfsdk:"alerts"`
	LastFailure     *zoneSLOFailureModel     `tfsdk:"last_failure"`
	LastRound       types.String             `tfsdk:"last_round"`
}

type zoneSLOAlertModel struct {
	Rule     types.String `tfsdk:"rule"`
	Severity types.String `tfsdk:"severity"`
	Since    types.String `tfsdk:"since"`
}

type zoneSLOFailureModel struct {
	At     types.String `tfsdk:"at"`
	Check  types.String `tfsdk:"check"`
	Reason types.String `tfsdk:"reason"`
}

func (d *zoneSLODataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_zone_slo"
}

func (d *zoneSLODataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	windows := make([]string, 0, 4)
	for _, w := range monitor.DefaultWindows() {
		windows = append(windows, "`"+w.Name+"`")
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A zone's availability as `spinops monitor` measured it (see the monitoring guide): the share of good synthetic " +
			"check rounds over the rolling windows " + strings.Join(windows, ", ") + " (maintenance windows excluded), the 30-day error " +
			"budget left, the burn-rate alerts firing and the last failed check. Reads the monitor's ConfigMap `spinops-monitor-<zone>` " +
			"in the zone's namespace; figures are as of the read.",
		Attributes: map[string]schema.Attribute{
			"zone_id": schema.StringAttribute{Required: true, MarkdownDescription: "The zone: `<namespace>/<name>`, the `id` of a `spinops_zone`."},
			"id":      schema.StringAttribute{Computed: true, MarkdownDescription: "Same as `zone_id`."},
			"measured": schema.BoolAttribute{Computed: true, MarkdownDescription: "False when the monitor has recorded no round of the zone yet " +
				"(then the availability maps are empty and the budget is 1)."},
			"slo": schema.Float64Attribute{Computed: true, MarkdownDescription: "The objective the monitor measures against, e.g. `0.999`."},
			"availability": schema.MapAttribute{Computed: true, ElementType: types.Float64Type, MarkdownDescription: "Good rounds / all rounds per window " +
				"(keys " + strings.Join(windows, ", ") + "); a window without a counted round is absent."},
			"bad_rounds": schema.MapAttribute{Computed: true, ElementType: types.Int64Type, MarkdownDescription: "Failed rounds per window; " +
				"× the monitor's interval, the measured downtime."},
			"error_budget_remaining": schema.Float64Attribute{Computed: true, MarkdownDescription: "Share of the 30-day error budget left: " +
				"1 − (bad/all) / (1 − slo); below 0 when overspent."},
			"alerts": schema.ListNestedAttribute{Computed: true, MarkdownDescription: "Burn-rate alerts firing now, by rule name.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"rule":     schema.StringAttribute{Computed: true, MarkdownDescription: "`burn-rate-1h`, `burn-rate-6h` or `burn-rate-3d`."},
					"severity": schema.StringAttribute{Computed: true, MarkdownDescription: "`page` or `ticket` (a sandbox zone only opens tickets)."},
					"since":    schema.StringAttribute{Computed: true, MarkdownDescription: "When it started firing (RFC 3339)."},
				}}},
			"last_failure": schema.SingleNestedAttribute{Computed: true, MarkdownDescription: "The last failed check, or null.",
				Attributes: map[string]schema.Attribute{
					"at":     schema.StringAttribute{Computed: true, MarkdownDescription: "When (RFC 3339)."},
					"check":  schema.StringAttribute{Computed: true, MarkdownDescription: "`gate-health`, `deck-index`, `gate-applications` or `gate-credentials`."},
					"reason": schema.StringAttribute{Computed: true, MarkdownDescription: "What failed, e.g. `HTTP 503`."},
				}},
			"last_round": schema.StringAttribute{Computed: true, MarkdownDescription: "When the monitor last checked the zone (RFC 3339), or null."},
		},
		Blocks: map[string]schema.Block{
			"kubernetes": dataSourceKubernetesBlock(),
		},
	}
}

func (d *zoneSLODataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	var diags diag.Diagnostics
	d.data, diags = providerDataFrom(req.ProviderData)
	resp.Diagnostics.Append(diags...)
}

func (d *zoneSLODataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m zoneSLOModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ns, name, ok := strings.Cut(m.ZoneID.ValueString(), "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		resp.Diagnostics.AddAttributeError(path.Root("zone_id"), "Invalid zone_id",
			fmt.Sprintf("zone_id %q is not <namespace>/<name>: use the id of a spinops_zone, e.g. spinops_zone.green.id", m.ZoneID.ValueString()))
		return
	}
	if d.data == nil {
		resp.Diagnostics.AddError("Provider not configured", "spinops_zone_slo needs a configured provider")
		return
	}
	kc := kubeClientAt(ctx, d.data, m.Kubernetes, path.Root("kubernetes"), &resp.Diagnostics)
	if kc == nil {
		return
	}
	tflog.Debug(ctx, "reading zone SLO", map[string]any{"namespace": ns, "zone": name})
	st, err := monitor.ReadStatus(ctx, &monitor.ConfigMapStore{Client: kc.Clientset}, monitor.ZoneRef{Name: name, Namespace: ns},
		"", monitor.DefaultWindows(), 0.999, time.Now())
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("reading the SLO of zone %s", m.ZoneID.ValueString()), err.Error())
		return
	}
	m.ID = m.ZoneID
	m.Measured = types.BoolValue(!st.LastRound.IsZero())
	m.SLO = types.Float64Value(st.SLO)
	m.BudgetRemaining = types.Float64Value(st.BudgetRemaining)
	m.Availability = map[string]types.Float64{}
	m.BadRounds = map[string]types.Int64{}
	for w, c := range st.Counts {
		if c.Total() > 0 {
			m.Availability[w] = types.Float64Value(st.Availability[w])
		}
		m.BadRounds[w] = types.Int64Value(c.Bad)
	}
	m.Alerts = []zoneSLOAlertModel{}
	rules := make([]string, 0, len(st.Alerts))
	for r := range st.Alerts {
		rules = append(rules, r)
	}
	sort.Strings(rules)
	for _, r := range rules {
		if a := st.Alerts[r]; a.Firing {
			m.Alerts = append(m.Alerts, zoneSLOAlertModel{Rule: types.StringValue(r), Severity: types.StringValue(string(a.Severity)),
				Since: types.StringValue(a.Since.UTC().Format(time.RFC3339))})
		}
	}
	m.LastFailure = nil
	if f := st.LastFailure; f != nil {
		m.LastFailure = &zoneSLOFailureModel{At: types.StringValue(f.At.UTC().Format(time.RFC3339)), Check: types.StringValue(f.Check), Reason: types.StringValue(f.Reason)}
	}
	m.LastRound = types.StringNull()
	if !st.LastRound.IsZero() {
		m.LastRound = types.StringValue(st.LastRound.UTC().Format(time.RFC3339))
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
