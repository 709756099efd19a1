package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
)

// upgradeNotificationsModel is spinops_zone's upgrade_notifications block.
type upgradeNotificationsModel struct {
	MonitorID          types.String `tfsdk:"monitor_id"`
	CountAsMaintenance types.Bool   `tfsdk:"count_as_maintenance"`
}

// backupBeforeUpgradeModel is spinops_zone's backup_before_upgrade block.
type backupBeforeUpgradeModel struct {
	PolicyID types.String `tfsdk:"policy_id"`
	Timeout  types.String `tfsdk:"timeout"`
}

type zoneModel struct {
	ID                   types.String               `tfsdk:"id"`
	ManagedSpinnakerID   types.String               `tfsdk:"managed_spinnaker_id"`
	Name                 types.String               `tfsdk:"name"`
	Tier                 types.String               `tfsdk:"tier"`
	Namespace            types.String               `tfsdk:"namespace"`
	Kubernetes           *kubernetesModel           `tfsdk:"kubernetes"`
	ControlKubernetes    *kubernetesModel           `tfsdk:"control_kubernetes"`
	ConfigRevision       types.String               `tfsdk:"config_revision"`
	SpinnakerVersion     types.String               `tfsdk:"spinnaker_version"`
	HA                   *zoneHAModel               `tfsdk:"ha"`
	Expose               *zoneExposeModel           `tfsdk:"expose"`
	Profiles             types.Map                  `tfsdk:"profiles"`
	ServiceSettings      types.Map                  `tfsdk:"service_settings"`
	ConfigOverrides      types.String               `tfsdk:"config_overrides"`
	Wait                 types.Bool                 `tfsdk:"wait"`
	Verification         *zoneVerificationModel     `tfsdk:"verification"`
	RollbackOnFailure    types.Bool                 `tfsdk:"rollback_on_failure"`
	DeletionProtection   types.Bool                 `tfsdk:"deletion_protection"`
	PromotionOverride    *promotionOverrideModel    `tfsdk:"promotion_override"`
	BackupBeforeUpgrade  *backupBeforeUpgradeModel  `tfsdk:"backup_before_upgrade"`
	UpgradeNotifications *upgradeNotificationsModel `tfsdk:"upgrade_notifications"`
	Timeouts             timeouts.Value             `tfsdk:"timeouts"`

	Status              types.String `tfsdk:"status"`
	Services            types.Map    `tfsdk:"services"`
	DeployedVersion     types.String `tfsdk:"deployed_version"`
	VerifiedVersion     types.String `tfsdk:"verified_version"`
	VerifiedAt          types.String `tfsdk:"verified_at"`
	UIURL               types.String `tfsdk:"ui_url"`
	APIURL              types.String `tfsdk:"api_url"`
	SpecSHA256          types.String `tfsdk:"spec_sha256"`
	DisruptionBudgets   types.List   `tfsdk:"disruption_budgets"`
	TargetGroupBindings types.Map    `tfsdk:"target_group_bindings"`
	ServicePorts        types.Map    `tfsdk:"service_ports"`
}

type zoneHAModel struct {
	Enabled          types.Bool   `tfsdk:"enabled"`
	ClouddriverSplit types.Bool   `tfsdk:"clouddriver_split"`
	Replicas         types.Int64  `tfsdk:"replicas"`
	ZoneSpread       types.String `tfsdk:"zone_spread"`
}

type zoneExposeModel struct {
	Type         types.String `tfsdk:"type"`
	DeckHost     types.String `tfsdk:"deck_host"`
	GateHost     types.String `tfsdk:"gate_host"`
	TLSSecret    types.String `tfsdk:"tls_secret"`
	Annotations  types.Map    `tfsdk:"annotations"`
	SourceRanges types.List   `tfsdk:"source_ranges"`
	TargetGroups types.Object `tfsdk:"target_groups"`
}

// zoneTargetGroupsType is expose.target_groups (an object, so that a
// module output unknown at plan time is taken as it is).
var zoneTargetGroupsType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"deck": types.StringType, "gate": types.StringType, "gate_x509": types.StringType,
}}

type zoneTargetGroupsModel struct {
	Deck     types.String `tfsdk:"deck"`
	Gate     types.String `tfsdk:"gate"`
	GateX509 types.String `tfsdk:"gate_x509"`
}

type zoneVerificationModel struct {
	Enabled  types.Bool   `tfsdk:"enabled"`
	Via      types.String `tfsdk:"via"`
	Attempts types.Int64  `tfsdk:"attempts"`
	Interval types.String `tfsdk:"interval"`
}

type promotionOverrideModel struct {
	Reason types.String `tfsdk:"reason"`
}

var zoneServiceType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"image": types.StringType, "replicas": types.Int64Type, "ready_replicas": types.Int64Type, "ready": types.BoolType,
}}

// expandZone converts the zone's arguments into the backend's zone.
func expandZone(ctx context.Context, m *zoneModel) (*spinnaker.Zone, diag.Diagnostics) {
	var diags diag.Diagnostics
	z := &spinnaker.Zone{
		Name: m.Name.ValueString(), Namespace: m.Namespace.ValueString(), Tier: m.Tier.ValueString(),
		Version: m.SpinnakerVersion.ValueString(), ConfigOverrides: m.ConfigOverrides.ValueString(),
	}
	if h := m.HA; h != nil {
		z.HA = &spinnaker.HA{Enabled: h.Enabled.ValueBool(), ClouddriverSplit: h.ClouddriverSplit.ValueBool(), Replicas: h.Replicas.ValueInt64(),
			ZoneSpread: h.ZoneSpread.ValueString()}
	}
	if e := m.Expose; e != nil {
		z.Expose = &spinnaker.Expose{Type: e.Type.ValueString(), DeckHost: e.DeckHost.ValueString(), GateHost: e.GateHost.ValueString(), TLSSecret: e.TLSSecret.ValueString()}
		if z.Expose.Type == "" {
			z.Expose.Type = spinnaker.ExposeService
		}
		if !e.Annotations.IsNull() && !e.Annotations.IsUnknown() {
			diags.Append(e.Annotations.ElementsAs(ctx, &z.Expose.Annotations, false)...)
		}
		if !e.SourceRanges.IsNull() && !e.SourceRanges.IsUnknown() {
			diags.Append(e.SourceRanges.ElementsAs(ctx, &z.Expose.SourceRanges, false)...)
		}
		if !e.TargetGroups.IsNull() && !e.TargetGroups.IsUnknown() {
			var tg zoneTargetGroupsModel
			diags.Append(e.TargetGroups.As(ctx, &tg, basetypes.ObjectAsOptions{})...)
			z.Expose.TargetGroups = &spinnaker.TargetGroups{Deck: tg.Deck.ValueString(), Gate: tg.Gate.ValueString(), GateX509: tg.GateX509.ValueString()}
		}
	}
	if !m.Profiles.IsNull() && !m.Profiles.IsUnknown() {
		diags.Append(m.Profiles.ElementsAs(ctx, &z.Profiles, false)...)
	}
	if !m.ServiceSettings.IsNull() && !m.ServiceSettings.IsUnknown() {
		diags.Append(m.ServiceSettings.ElementsAs(ctx, &z.ServiceSettings, false)...)
	}
	z.Policy = &spinnaker.ZonePolicy{Wait: m.Wait.ValueBool(), RollbackOnFailure: m.RollbackOnFailure.ValueBool(), DeletionProtection: m.DeletionProtection.ValueBool()}
	return z, diags
}

// flatten sets the computed attributes from the SpinnakerService in the
// cluster and the zone's ledger record.
func (r *zoneResource) flatten(ctx context.Context, m *zoneModel, obj *unstructured.Unstructured, c *zoneClients, installation string, diags *diag.Diagnostics) {
	st := spinnaker.ParseStatus(obj)
	m.ID = types.StringValue(obj.GetNamespace() + "/" + obj.GetName())
	m.Status = types.StringValue(st.Status)
	m.DeployedVersion = types.StringValue(st.Version)
	deckURL, gateURL := spinnaker.URLsOf(obj)
	m.UIURL = types.StringValue(deckURL)
	m.APIURL = types.StringValue(gateURL)
	m.SpecSHA256 = types.StringValue(spinnaker.SpecHash(spinnaker.SpecOf(obj)))
	if v := spinnaker.VersionOf(obj); v != "" {
		m.SpinnakerVersion = types.StringValue(v)
	}
	services := map[string]attr.Value{}
	for _, s := range st.Services {
		services[s.Service] = types.ObjectValueMust(zoneServiceType.AttrTypes, map[string]attr.Value{
			"image": types.StringValue(s.Image), "replicas": types.Int64Value(s.Replicas),
			"ready_replicas": types.Int64Value(s.ReadyReplicas), "ready": types.BoolValue(s.Replicas > 0 && s.ReadyReplicas >= s.Replicas),
		})
	}
	sv, d := types.MapValue(zoneServiceType, services)
	diags.Append(d...)
	m.Services = sv

	m.ServicePorts = servicePorts(ctx, obj, diags)

	m.DisruptionBudgets = types.ListNull(types.StringType)
	if names, err := spinnaker.ZonePDBNames(ctx, c.target, obj.GetNamespace(), obj.GetName()); err != nil {
		diags.AddWarning("Cannot read the zone's PodDisruptionBudgets", err.Error())
	} else {
		m.DisruptionBudgets = stringList(names)
	}
	// Listed when the zone has (or had) bindings: for the others, looking
	// for the kind would rediscover the API on every refresh of a cluster
	// without the controller.
	had := !m.TargetGroupBindings.IsNull() && !m.TargetGroupBindings.IsUnknown() && len(m.TargetGroupBindings.Elements()) > 0
	bindings := map[string]string{}
	if had || m.Expose != nil && m.Expose.Type.ValueString() == spinnaker.ExposeAWSTargetGroups {
		var err error
		if bindings, err = spinnaker.ZoneTargetGroupBindings(ctx, c.target, obj.GetNamespace(), obj.GetName()); err != nil {
			diags.AddWarning("Cannot read the zone's TargetGroupBindings", err.Error())
		}
	}
	m.TargetGroupBindings = types.MapNull(types.StringType)
	if bindings != nil {
		var d diag.Diagnostics
		m.TargetGroupBindings, d = types.MapValueFrom(ctx, types.StringType, bindings)
		diags.Append(d...)
	}

	m.VerifiedVersion = types.StringValue("")
	m.VerifiedAt = types.StringValue("")
	ledger, err := spinnaker.LoadLedger(ctx, c.control.Clientset, installation)
	if err != nil {
		diags.AddWarning("Cannot read the promotion ledger", err.Error())
		return
	}
	if rec, ok := ledger.Zones[obj.GetName()]; ok {
		if t, ok := rec.Verified[rec.Version]; ok {
			m.VerifiedVersion = types.StringValue(rec.Version)
			m.VerifiedAt = types.StringValue(t.UTC().Format(time.RFC3339))
		}
	}
}

// importedZone fills the arguments of an imported zone from the settings
// spinops stored on its SpinnakerService, or, for one spinops did not make
// and that is imported with its installation's id, from the object itself
// (spinnaker.AdoptedZone); adopted says which.
func importedZone(ctx context.Context, m *zoneModel, obj *unstructured.Unstructured) (adopted bool, diags diag.Diagnostics) {
	ref := obj.GetNamespace() + "/" + obj.GetName()
	var z *spinnaker.Zone
	var err error
	switch label := obj.GetLabels()[spinnaker.LabelInstallation]; {
	case obj.GetAnnotations()[spinnaker.AnnotationZone] != "":
		if !m.ManagedSpinnakerID.IsNull() && m.ManagedSpinnakerID.ValueString() != label {
			diags.AddError("importing zone", fmt.Sprintf("SpinnakerService %s is zone of installation %q, not %q: import it by %s", ref, label, m.ManagedSpinnakerID.ValueString(), ref))
			return false, diags
		}
		z, err = spinnaker.ZoneOf(obj)
		m.ManagedSpinnakerID = types.StringValue(label)
	case m.ManagedSpinnakerID.IsNull():
		diags.AddError("importing zone", fmt.Sprintf("SpinnakerService %s was not made by spinops (it has no %s annotation). To adopt it in place, import it "+
			"with the id of the spinops_managed_spinnaker that takes it over: <managed_spinnaker_id>/%s; `spinops migrate plan --from-cluster KUBECONFIG "+
			"--spinnaker-service %s --adopt` writes that import block and the matching arguments.", ref, spinnaker.AnnotationZone, ref, ref))
		return false, diags
	default:
		z, err = spinnaker.AdoptedZone(obj)
		adopted = true
	}
	if err != nil {
		diags.AddError("importing zone", err.Error())
		return false, diags
	}
	m.Name = types.StringValue(z.Name)
	m.Namespace = types.StringValue(z.Namespace)
	m.Tier = types.StringValue(z.Tier)
	m.SpinnakerVersion = types.StringValue(z.Version)
	m.ConfigOverrides = optionalString(z.ConfigOverrides)
	production := z.Tier == spinnaker.TierProduction
	p := z.Policy
	if p == nil {
		p = &spinnaker.ZonePolicy{Wait: true, RollbackOnFailure: production, DeletionProtection: production}
	}
	m.Wait = types.BoolValue(p.Wait)
	m.RollbackOnFailure = types.BoolValue(p.RollbackOnFailure)
	m.DeletionProtection = types.BoolValue(p.DeletionProtection)
	if z.HA != nil {
		m.HA = &zoneHAModel{Enabled: types.BoolValue(z.HA.Enabled), ClouddriverSplit: types.BoolValue(z.HA.ClouddriverSplit), Replicas: types.Int64Value(z.HA.Replicas),
			ZoneSpread: types.StringValue(z.HA.EffectiveZoneSpread())}
	}
	if e := z.Expose; e != nil {
		m.Expose = &zoneExposeModel{Type: types.StringValue(e.Type), DeckHost: optionalString(e.DeckHost), GateHost: optionalString(e.GateHost), TLSSecret: optionalString(e.TLSSecret),
			Annotations: types.MapNull(types.StringType), SourceRanges: types.ListNull(types.StringType), TargetGroups: types.ObjectNull(zoneTargetGroupsType.AttrTypes)}
		if tg := e.TargetGroups; tg != nil {
			m.Expose.TargetGroups = types.ObjectValueMust(zoneTargetGroupsType.AttrTypes, map[string]attr.Value{
				"deck": optionalString(tg.Deck), "gate": optionalString(tg.Gate), "gate_x509": optionalString(tg.GateX509)})
		}
		if len(e.Annotations) > 0 {
			m.Expose.Annotations, diags = types.MapValueFrom(ctx, types.StringType, e.Annotations)
		}
		if len(e.SourceRanges) > 0 {
			var d diag.Diagnostics
			m.Expose.SourceRanges, d = types.ListValueFrom(ctx, types.StringType, e.SourceRanges)
			diags.Append(d...)
		}
	}
	m.Profiles, m.ServiceSettings = types.MapNull(types.StringType), types.MapNull(types.StringType)
	if len(z.Profiles) > 0 {
		var d diag.Diagnostics
		m.Profiles, d = types.MapValueFrom(ctx, types.StringType, z.Profiles)
		diags.Append(d...)
	}
	if len(z.ServiceSettings) > 0 {
		var d diag.Diagnostics
		m.ServiceSettings, d = types.MapValueFrom(ctx, types.StringType, z.ServiceSettings)
		diags.Append(d...)
	}
	return adopted, diags
}

// privateKeyAdopted is the zone's private state key that marks it adopted:
// the SHA-256 of the SpinnakerService's spec when it was imported. While the
// spec is that and the zone's arguments are unchanged, the plan leaves the
// SpinnakerService as it runs.
const privateKeyAdopted = "adopted"

type zoneAdoption struct {
	SpecSHA256 string `json:"spec_sha256"`
}

// privateState is what ReadResponse.Private and the others are.
type privateState interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

func setAdoption(ctx context.Context, p privateState, obj *unstructured.Unstructured) diag.Diagnostics {
	b, err := json.Marshal(zoneAdoption{SpecSHA256: spinnaker.SpecHash(spinnaker.SpecOf(obj))})
	if err != nil {
		var d diag.Diagnostics
		d.AddError("recording the adoption", err.Error())
		return d
	}
	return p.SetKey(ctx, privateKeyAdopted, b)
}

// clearAdoption removes the mark (the zone is spinops' own now).
func clearAdoption(ctx context.Context, p privateState) diag.Diagnostics {
	if b, d := p.GetKey(ctx, privateKeyAdopted); d.HasError() || len(b) == 0 {
		return d
	}
	return p.SetKey(ctx, privateKeyAdopted, nil)
}

// adoptionOf reads the adoption mark; nil when the zone is not adopted.
func adoptionOf(ctx context.Context, p privateState) (*zoneAdoption, diag.Diagnostics) {
	b, d := p.GetKey(ctx, privateKeyAdopted)
	if d.HasError() || len(b) == 0 {
		return nil, d
	}
	var a zoneAdoption
	if err := json.Unmarshal(b, &a); err != nil || a.SpecSHA256 == "" {
		return nil, d
	}
	return &a, d
}

func optionalString(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

// servicePorts is the zone's service_ports for a SpinnakerService's spec
// (spinnaker.ServicePortsOf).
func servicePorts(ctx context.Context, obj *unstructured.Unstructured, diags *diag.Diagnostics) types.Map {
	v, d := types.MapValueFrom(ctx, types.Int64Type, spinnaker.ServicePortsOf(obj))
	diags.Append(d...)
	return v
}
