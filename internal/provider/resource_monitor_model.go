package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/monitor"
)

type monitorModel struct {
	ID                      types.String         `tfsdk:"id"`
	Name                    types.String         `tfsdk:"name"`
	Namespace               types.String         `tfsdk:"namespace"`
	Installation            types.String         `tfsdk:"installation"`
	Image                   types.String         `tfsdk:"image"`
	SLO                     types.Float64        `tfsdk:"slo"`
	Interval                types.String         `tfsdk:"interval"`
	CheckTimeout            types.String         `tfsdk:"check_timeout"`
	PrometheusRule          types.Bool           `tfsdk:"prometheus_rule"`
	PrometheusRuleLabels    types.Map            `tfsdk:"prometheus_rule_labels"`
	PrometheusRuleInstalled types.Bool           `tfsdk:"prometheus_rule_installed"`
	DriftedObjects          types.List           `tfsdk:"drifted_objects"`
	SecretsWOVersion        types.Int64          `tfsdk:"secrets_wo_version"`
	Wait                    types.Bool           `tfsdk:"wait"`
	Kubernetes              *kubernetesModel     `tfsdk:"kubernetes"`
	Zones                   []monitorZoneModel   `tfsdk:"zone"`
	Maintenance             []monitorMaintenance `tfsdk:"maintenance_window"`
	GateAuth                *monitorGateAuth     `tfsdk:"gate_auth"`
	Notify                  *monitorNotify       `tfsdk:"notify"`
	CanaryPipeline          *monitorCanary       `tfsdk:"canary_pipeline"`
	Timeouts                timeouts.Value       `tfsdk:"timeouts"`
}

type monitorZoneModel struct {
	Name      types.String     `tfsdk:"name"`
	Namespace types.String     `tfsdk:"namespace"`
	Tier      types.String     `tfsdk:"tier"`
	GateURL   types.String     `tfsdk:"gate_url"`
	DeckURL   types.String     `tfsdk:"deck_url"`
	GatePort  types.Int64      `tfsdk:"gate_port"`
	DeckPort  types.Int64      `tfsdk:"deck_port"`
	GateAuth  *monitorGateAuth `tfsdk:"gate_auth"`
}

type monitorMaintenance struct {
	Zone  types.String `tfsdk:"zone"`
	Start types.String `tfsdk:"start"`
	End   types.String `tfsdk:"end"`
}

type monitorGateAuth struct {
	Username   types.String `tfsdk:"username"`
	PasswordWO types.String `tfsdk:"password_wo"`
	TokenWO    types.String `tfsdk:"token_wo"`
}

type monitorNotify struct {
	WebhookURLWO          types.String `tfsdk:"webhook_url_wo"`
	SlackURLWO            types.String `tfsdk:"slack_url_wo"`
	PagerDutyRoutingKeyWO types.String `tfsdk:"pagerduty_routing_key_wo"`
}

type monitorCanary struct {
	Application types.String `tfsdk:"application"`
	Pipeline    types.String `tfsdk:"pipeline"`
	Timeout     types.String `tfsdk:"timeout"`
	Create      types.Bool   `tfsdk:"create"`
}

// Keys of the monitor's Secret.
const (
	monitorKeyGateUsername = "gate-username"
	monitorKeyGatePassword = "gate-password"
	monitorKeyGateToken    = "gate-token"
	monitorKeyWebhook      = "webhook-url"
	monitorKeySlack        = "slack-url"
	monitorKeyPagerDuty    = "pagerduty-routing-key"
)

// spec is the monitor as monitor.InstallObjects renders it. plan carries
// the configuration; config carries the write-only values (only
// Terraform's config holds them, and only during an apply): the Secret's
// data, and which *_file keys the configuration names.
func (m *monitorModel) spec(ctx context.Context, config *monitorModel, diags *diag.Diagnostics) monitor.InstallSpec {
	_ = ctx
	file := func(key string) string { return monitor.SecretMountPath + "/" + key }
	cfg := monitor.Config{
		Installation: m.Installation.ValueString(), SLO: m.SLO.ValueFloat64(),
	}
	if d, err := time.ParseDuration(m.Interval.ValueString()); err == nil {
		cfg.Interval = monitor.Duration(d)
	}
	if d, err := time.ParseDuration(m.CheckTimeout.ValueString()); err == nil {
		cfg.CheckTimeout = monitor.Duration(d)
	}
	secrets := map[string]string{}
	put := func(key string, v types.String) bool {
		if v.IsNull() || v.IsUnknown() || v.ValueString() == "" {
			return false
		}
		secrets[key] = v.ValueString()
		return true
	}
	// gateAuth names the files of one set of Gate credentials (keys with
	// prefix in the Secret).
	gateAuth := func(prefix string, g *monitorGateAuth) monitor.GateAuthConfig {
		var a monitor.GateAuthConfig
		if put(prefix+monitorKeyGateUsername, g.Username) {
			a.UsernameFile = file(prefix + monitorKeyGateUsername)
		}
		if put(prefix+monitorKeyGatePassword, g.PasswordWO) {
			a.PasswordFile = file(prefix + monitorKeyGatePassword)
		}
		if put(prefix+monitorKeyGateToken, g.TokenWO) {
			a.TokenFile = file(prefix + monitorKeyGateToken)
		}
		return a
	}
	for i, z := range m.Zones {
		zc := monitor.ZoneConfig{Name: z.Name.ValueString(), Namespace: z.Namespace.ValueString(), Tier: monitor.Tier(z.Tier.ValueString()),
			GateURL: z.GateURL.ValueString(), DeckURL: z.DeckURL.ValueString()}
		zc.ServiceProxy = zc.GateURL == "" && zc.DeckURL == ""
		zc.GatePort, zc.DeckPort = int(z.GatePort.ValueInt64()), int(z.DeckPort.ValueInt64())
		if i < len(config.Zones) && config.Zones[i].GateAuth != nil {
			a := gateAuth("zone-"+zc.Name+"-", config.Zones[i].GateAuth)
			zc.GateAuth = &a
		}
		cfg.Zones = append(cfg.Zones, zc)
	}
	for i, w := range m.Maintenance {
		start, err1 := time.Parse(time.RFC3339, w.Start.ValueString())
		end, err2 := time.Parse(time.RFC3339, w.End.ValueString())
		if err1 != nil || err2 != nil || !end.After(start) {
			diags.AddError("Invalid maintenance window", fmt.Sprintf("maintenance_window[%d]: end must be an RFC 3339 time after start", i))
			continue
		}
		cfg.Maintenance = append(cfg.Maintenance, monitor.MaintenanceConfig{Zone: w.Zone.ValueString(), Start: start, End: end})
	}
	if g := config.GateAuth; g != nil {
		cfg.GateAuth = gateAuth("", g)
	}
	if n := config.Notify; n != nil {
		if put(monitorKeyWebhook, n.WebhookURLWO) {
			cfg.Notify = append(cfg.Notify, monitor.NotifyConfig{Type: "webhook", SecretFile: file(monitorKeyWebhook)})
		}
		if put(monitorKeySlack, n.SlackURLWO) {
			cfg.Notify = append(cfg.Notify, monitor.NotifyConfig{Type: "slack", SecretFile: file(monitorKeySlack)})
		}
		if put(monitorKeyPagerDuty, n.PagerDutyRoutingKeyWO) {
			cfg.Notify = append(cfg.Notify, monitor.NotifyConfig{Type: "pagerduty", SecretFile: file(monitorKeyPagerDuty)})
		}
	}
	if c := m.CanaryPipeline; c != nil {
		// create defaults to true: a missing canary is created.
		cc := &monitor.CanaryConfig{Application: c.Application.ValueString(), Pipeline: c.Pipeline.ValueString(),
			Create: c.Create.IsNull() || c.Create.IsUnknown() || c.Create.ValueBool()}
		if d, err := time.ParseDuration(c.Timeout.ValueString()); err == nil {
			cc.Timeout = monitor.Duration(d)
		}
		cfg.CanaryPipeline = cc
	}
	return monitor.InstallSpec{Name: m.Name.ValueString(), Namespace: m.Namespace.ValueString(), Image: m.Image.ValueString(), Config: cfg, Secrets: secrets}
}

// monitorChecksum rolls the monitor's pod when its configuration or its
// secrets' version changes (the monitor reads both at start).
// It hashes the configuration's JSON (what the monitor reads): %+v, used
// before, printed the addresses of the nested pointers (a zone's
// gate_auth, canary_pipeline), so the same configuration had another
// checksum in every apply and rolled the pod for nothing.
func monitorChecksum(spec monitor.InstallSpec, secretsVersion int64) (string, error) {
	b, err := json.Marshal(spec.Config)
	if err != nil {
		return "", fmt.Errorf("encoding the monitor configuration: %w", err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d", b, secretsVersion)
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// secretKeysConfig stands in for the configuration where Read has none:
// the write-only values' presence is read from the monitor's Secret's keys
// (the values themselves never leave the cluster: a present key is given
// a placeholder), so spec renders the ConfigMap the last apply rendered.
func (m *monitorModel) secretKeysConfig(keys map[string]bool) *monitorModel {
	placeholder := func(key string) types.String {
		if keys[key] {
			return types.StringValue("present")
		}
		return types.StringNull()
	}
	auth := func(prefix string, g *monitorGateAuth) *monitorGateAuth {
		if g == nil {
			return nil
		}
		return &monitorGateAuth{Username: g.Username, PasswordWO: placeholder(prefix + monitorKeyGatePassword), TokenWO: placeholder(prefix + monitorKeyGateToken)}
	}
	c := *m
	c.GateAuth = auth("", m.GateAuth)
	c.Zones = make([]monitorZoneModel, len(m.Zones))
	for i, z := range m.Zones {
		c.Zones[i] = z
		c.Zones[i].GateAuth = auth("zone-"+z.Name.ValueString()+"-", z.GateAuth)
	}
	c.Notify = &monitorNotify{WebhookURLWO: placeholder(monitorKeyWebhook), SlackURLWO: placeholder(monitorKeySlack), PagerDutyRoutingKeyWO: placeholder(monitorKeyPagerDuty)}
	return &c
}

// monitorAnnotationSecretsVersion on the monitor's Secret records the
// secrets_wo_version its write-only values were written with.
const monitorAnnotationSecretsVersion = "spinops.io/secrets-version"

// readMonitorSettings fills an imported monitor's state from its ConfigMap
// (the configuration the monitor runs) and its Secret: which write-only
// values it holds (their blocks, every value null), the Gate usernames (not
// secret) and secrets_wo_version. False after an error.
func readMonitorSettings(ctx context.Context, c *kube.Client, m *monitorModel, diags *diag.Diagnostics) bool {
	ns, name := m.Namespace.ValueString(), m.Name.ValueString()
	cm, err := c.Clientset.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		diags.AddError("Reading the monitor failed", fmt.Sprintf("reading its configuration (ConfigMap %s/%s): %v", ns, name, err))
		return false
	}
	var cfg monitor.Config
	if err := json.Unmarshal([]byte(cm.Data["config.json"]), &cfg); err != nil {
		diags.AddError("Reading the monitor failed", fmt.Sprintf("ConfigMap %s/%s: config.json: %v", ns, name, err))
		return false
	}
	var data map[string][]byte
	switch s, err := c.Clientset.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{}); {
	case apierrors.IsNotFound(err):
	case err != nil:
		diags.AddError("Reading the monitor failed", fmt.Sprintf("reading Secret %s/%s (its keys, usernames and version): %v", ns, name, err))
		return false
	default:
		data = s.Data
		if v, err := strconv.ParseInt(s.Annotations[monitorAnnotationSecretsVersion], 10, 64); err == nil {
			m.SecretsWOVersion = types.Int64Value(v)
		}
	}
	m.settingsFrom(cfg, data)
	return true
}

// settingsFrom sets the arguments the monitor's configuration cfg and its
// Secret's data hold (every write-only value null; a block whose values
// are all write-only is there when the configuration uses it).
func (m *monitorModel) settingsFrom(cfg monitor.Config, data map[string][]byte) {
	optional := func(s string) types.String {
		if s == "" {
			return types.StringNull()
		}
		return types.StringValue(s)
	}
	duration := func(d monitor.Duration) types.String {
		if d == 0 {
			return types.StringNull()
		}
		return types.StringValue(shortDuration(time.Duration(d)))
	}
	auth := func(prefix string, a monitor.GateAuthConfig) *monitorGateAuth {
		if a == (monitor.GateAuthConfig{}) {
			return nil
		}
		g := &monitorGateAuth{Username: types.StringNull(), PasswordWO: types.StringNull(), TokenWO: types.StringNull()}
		if u, ok := data[prefix+monitorKeyGateUsername]; ok && a.UsernameFile != "" {
			g.Username = types.StringValue(string(u))
		}
		return g
	}
	m.Installation = types.StringValue(cfg.Installation)
	if cfg.SLO != 0 {
		m.SLO = types.Float64Value(cfg.SLO)
	}
	if d := duration(cfg.Interval); !d.IsNull() {
		m.Interval = d
	}
	if d := duration(cfg.CheckTimeout); !d.IsNull() {
		m.CheckTimeout = d
	}
	m.Zones = nil
	for _, z := range cfg.Zones {
		zm := monitorZoneModel{Name: types.StringValue(z.Name), Namespace: types.StringValue(z.Namespace), Tier: types.StringValue(string(z.Tier)),
			GateURL: optional(z.GateURL), DeckURL: optional(z.DeckURL), GatePort: optionalPort(z.GatePort), DeckPort: optionalPort(z.DeckPort)}
		if z.GateAuth != nil {
			zm.GateAuth = auth("zone-"+z.Name+"-", *z.GateAuth)
		}
		m.Zones = append(m.Zones, zm)
	}
	m.Maintenance = nil
	for _, w := range cfg.Maintenance {
		m.Maintenance = append(m.Maintenance, monitorMaintenance{Zone: optional(w.Zone),
			Start: types.StringValue(w.Start.UTC().Format(time.RFC3339)), End: types.StringValue(w.End.UTC().Format(time.RFC3339))})
	}
	m.GateAuth = auth("", cfg.GateAuth)
	m.Notify = nil
	if len(cfg.Notify) > 0 {
		m.Notify = &monitorNotify{WebhookURLWO: types.StringNull(), SlackURLWO: types.StringNull(), PagerDutyRoutingKeyWO: types.StringNull()}
	}
	m.CanaryPipeline = nil
	if cc := cfg.CanaryPipeline; cc != nil {
		// create: null is true.
		create := types.BoolNull()
		if !cc.Create {
			create = types.BoolValue(false)
		}
		m.CanaryPipeline = &monitorCanary{Application: types.StringValue(cc.Application), Pipeline: types.StringValue(cc.Pipeline),
			Timeout: duration(cc.Timeout), Create: create}
	}
	if m.PrometheusRule.IsNull() {
		m.PrometheusRule = types.BoolValue(true) // the default; not installed where the cluster does not serve the kind
	}
}

// optionalPort is a port of the monitor's configuration as an attribute:
// null when not given (0).
func optionalPort(p int) types.Int64 {
	if p == 0 {
		return types.Int64Null()
	}
	return types.Int64Value(int64(p))
}
