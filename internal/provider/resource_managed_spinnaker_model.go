package provider

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"sigs.k8s.io/yaml"

	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"

	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
)

// defaultHalyardImage is the Halyard sidecar of the default operator
// release (spinnaker.OperatorReleases, the one table).
var defaultHalyardImage, _ = spinnaker.HalyardImageFor(defaultOperatorVersion)

// Defaults of the operator block.
const (
	defaultOperatorNamespace = "spinnaker-operator"
	defaultOperatorImage     = "armory/spinnaker-operator"
	defaultOperatorVersion   = spinnaker.DefaultOperatorVersion
	defaultSoak              = "24h"
)

type managedSpinnakerModel struct {
	ID               types.String      `tfsdk:"id"`
	Kubernetes       *kubernetesModel  `tfsdk:"kubernetes"`
	Operator         *operatorModel    `tfsdk:"operator"`
	SpinnakerVersion types.String      `tfsdk:"spinnaker_version"`
	Persistence      *persistenceModel `tfsdk:"persistence"`
	SQL              *sqlModel         `tfsdk:"sql"`
	Redis            *redisModel       `tfsdk:"redis"`
	Auth             *authModel        `tfsdk:"auth"`
	Features         types.Map         `tfsdk:"features"`
	Profiles         types.Map         `tfsdk:"profiles"`
	ServiceSettings  types.Map         `tfsdk:"service_settings"`
	ConfigOverrides  types.String      `tfsdk:"config_overrides"`
	Promotion        *promotionModel   `tfsdk:"promotion"`
	VerifiedVersions types.Map         `tfsdk:"verified_versions"`
	ConfigRevision   types.String      `tfsdk:"config_revision"`
	DriftedObjects   types.List        `tfsdk:"drifted_objects"`
	Timeouts         timeouts.Value    `tfsdk:"timeouts"`
}

type operatorModel struct {
	Install      types.Bool   `tfsdk:"install"`
	Namespace    types.String `tfsdk:"namespace"`
	Image        types.String `tfsdk:"image"`
	Version      types.String `tfsdk:"version"`
	HalyardImage types.String `tfsdk:"halyard_image"`
	ClusterWide  types.Bool   `tfsdk:"cluster_wide"`
	Wait         types.Bool   `tfsdk:"wait"`
}

type persistenceModel struct {
	S3  *s3Model  `tfsdk:"s3"`
	GCS *gcsModel `tfsdk:"gcs"`
}

type s3Model struct {
	Bucket                   types.String `tfsdk:"bucket"`
	Region                   types.String `tfsdk:"region"`
	RootFolder               types.String `tfsdk:"root_folder"`
	Endpoint                 types.String `tfsdk:"endpoint"`
	PathStyle                types.Bool   `tfsdk:"path_style"`
	AssumeRoleARN            types.String `tfsdk:"assume_role_arn"`
	AccessKeyID              types.String `tfsdk:"access_key_id"`
	SecretAccessKeyWO        types.String `tfsdk:"secret_access_key_wo"`
	SecretAccessKeyWOVersion types.Int64  `tfsdk:"secret_access_key_wo_version"`
}

type gcsModel struct {
	Bucket     types.String `tfsdk:"bucket"`
	Project    types.String `tfsdk:"project"`
	RootFolder types.String `tfsdk:"root_folder"`
}

type sqlModel struct {
	Endpoint          types.String    `tfsdk:"endpoint"`
	ReaderEndpoint    types.String    `tfsdk:"reader_endpoint"`
	Port              types.Int64     `tfsdk:"port"`
	Databases         types.Map       `tfsdk:"databases"`
	User              types.String    `tfsdk:"user"`
	PasswordWO        types.String    `tfsdk:"password_wo"`
	PasswordWOVersion types.Int64     `tfsdk:"password_wo_version"`
	PasswordSecret    *secretRefModel `tfsdk:"password_secret"`
	// OrcaExecutionsFromRedis: Orca's own Redis-to-SQL move.
	OrcaExecutionsFromRedis types.Bool `tfsdk:"orca_executions_from_redis"`
}

type secretRefModel struct {
	Name types.String `tfsdk:"name"`
	Key  types.String `tfsdk:"key"`
}

// set says whether the block is given: present and not a placeholder of a
// dynamic block whose for_each is not known yet (validators.Placeholder).
func (s *secretRefModel) set() bool {
	return s != nil && !validators.PlaceholderValues(s.Name, s.Key)
}

type redisModel struct {
	Endpoint types.String `tfsdk:"endpoint"`
}

type authModel struct {
	OAuth2 *oauth2Model `tfsdk:"oauth2"`
	SAML   *samlModel   `tfsdk:"saml"`
	LDAP   *ldapModel   `tfsdk:"ldap"`
}

type oauth2Model struct {
	Provider              types.String `tfsdk:"provider"`
	ClientID              types.String `tfsdk:"client_id"`
	Scopes                types.List   `tfsdk:"scopes"`
	ClientSecretWO        types.String `tfsdk:"client_secret_wo"`
	ClientSecretWOVersion types.Int64  `tfsdk:"client_secret_wo_version"`
}

type samlModel struct {
	MetadataURL               types.String    `tfsdk:"metadata_url"`
	IssuerID                  types.String    `tfsdk:"issuer_id"`
	ServiceAddress            types.String    `tfsdk:"service_address"`
	KeyStoreSecret            *secretRefModel `tfsdk:"keystore_secret"`
	KeyStoreAliasName         types.String    `tfsdk:"keystore_alias_name"`
	KeyStorePasswordWO        types.String    `tfsdk:"keystore_password_wo"`
	KeyStorePasswordWOVersion types.Int64     `tfsdk:"keystore_password_wo_version"`
}

type ldapModel struct {
	URL                      types.String `tfsdk:"url"`
	UserDNPattern            types.String `tfsdk:"user_dn_pattern"`
	UserSearchBase           types.String `tfsdk:"user_search_base"`
	UserSearchFilter         types.String `tfsdk:"user_search_filter"`
	ManagerDN                types.String `tfsdk:"manager_dn"`
	ManagerPasswordWO        types.String `tfsdk:"manager_password_wo"`
	ManagerPasswordWOVersion types.Int64  `tfsdk:"manager_password_wo_version"`
}

type promotionModel struct {
	Soak                   types.String  `tfsdk:"soak"`
	RequireVerification    types.Bool    `tfsdk:"require_verification"`
	MinSandboxAvailability types.Float64 `tfsdk:"min_sandbox_availability"`
}

// operatorSettingsModel is the operator block with its defaults applied.
type operatorSettingsModel struct {
	spinnaker.OperatorSettings
	install, wait bool
}

func operatorSettings(m *operatorModel) operatorSettingsModel {
	rec := operatorRecord(m)
	ns := defaultOperatorNamespace
	if m != nil && !m.Namespace.IsNull() && !m.Namespace.IsUnknown() {
		ns = m.Namespace.ValueString()
	}
	return operatorSettingsModel{install: rec.Install, wait: rec.Wait, OperatorSettings: rec.Settings(ns)}
}

// operatorRecord is the operator block with its defaults applied, as the
// installation stores it.
func operatorRecord(m *operatorModel) spinnaker.OperatorRecord {
	r := spinnaker.OperatorRecord{Install: true, Image: defaultOperatorImage, Version: defaultOperatorVersion,
		HalyardImage: defaultHalyardImage, ClusterWide: true, Wait: true}
	if m == nil {
		return r
	}
	str := func(v types.String, def string) string {
		if v.IsNull() || v.IsUnknown() {
			return def
		}
		return v.ValueString()
	}
	b := func(v types.Bool, def bool) bool {
		if v.IsNull() || v.IsUnknown() {
			return def
		}
		return v.ValueBool()
	}
	r.Install = b(m.Install, r.Install)
	r.Image = str(m.Image, r.Image)
	r.Version = str(m.Version, r.Version)
	r.HalyardImage = str(m.HalyardImage, r.HalyardImage)
	r.ClusterWide = b(m.ClusterWide, r.ClusterWide)
	r.Wait = b(m.Wait, r.Wait)
	return r
}

// expandInstallation converts the plan into the backend's installation. The
// config supplies which write-only secrets are set.
func expandInstallation(ctx context.Context, plan, config *managedSpinnakerModel) (*spinnaker.Installation, diag.Diagnostics) {
	var diags diag.Diagnostics
	ns := operatorSettings(plan.Operator).Namespace
	inst := &spinnaker.Installation{ID: ns, Namespace: ns, SpinnakerVersion: plan.SpinnakerVersion.ValueString(),
		ConfigOverrides: plan.ConfigOverrides.ValueString()}
	if p := plan.Persistence; p != nil {
		inst.Persistence = &spinnaker.Persistence{}
		if s := p.S3; s != nil {
			inst.Persistence.S3 = &spinnaker.S3Persistence{
				Bucket: s.Bucket.ValueString(), Region: s.Region.ValueString(), RootFolder: s.RootFolder.ValueString(),
				Endpoint: s.Endpoint.ValueString(), PathStyle: s.PathStyle.ValueBool(), AssumeRoleARN: s.AssumeRoleARN.ValueString(),
				AccessKeyID:        s.AccessKeyID.ValueString(),
				HasSecretAccessKey: config.Persistence != nil && config.Persistence.S3 != nil && !config.Persistence.S3.SecretAccessKeyWO.IsNull(),
			}
		}
		if g := p.GCS; g != nil {
			inst.Persistence.GCS = &spinnaker.GCSPersistence{Bucket: g.Bucket.ValueString(), Project: g.Project.ValueString(), RootFolder: g.RootFolder.ValueString()}
		}
	}
	if s := plan.SQL; s != nil {
		inst.SQL = &spinnaker.SQL{Endpoint: s.Endpoint.ValueString(), ReaderEndpoint: s.ReaderEndpoint.ValueString(),
			Port: s.Port.ValueInt64(), User: s.User.ValueString(), Databases: map[string]string{},
			OrcaExecutionsFromRedis: s.OrcaExecutionsFromRedis.ValueBool()}
		if !s.Databases.IsNull() {
			diags.Append(s.Databases.ElementsAs(ctx, &inst.SQL.Databases, false)...)
		}
		if ref := s.PasswordSecret; ref != nil {
			inst.SQL.PasswordSecret = &spinnaker.SecretRef{Name: ref.Name.ValueString(), Key: ref.Key.ValueString()}
		}
	}
	if rd := plan.Redis; rd != nil {
		inst.Redis = &spinnaker.Redis{Endpoint: rd.Endpoint.ValueString()}
	}
	if a := plan.Auth; a != nil {
		inst.Auth = &spinnaker.Auth{}
		if o := a.OAuth2; o != nil {
			inst.Auth.OAuth2 = &spinnaker.OAuth2{Provider: o.Provider.ValueString(), ClientID: o.ClientID.ValueString(),
				HasClientSecret: config.Auth != nil && config.Auth.OAuth2 != nil && !config.Auth.OAuth2.ClientSecretWO.IsNull()}
			if !o.Scopes.IsNull() {
				diags.Append(o.Scopes.ElementsAs(ctx, &inst.Auth.OAuth2.Scopes, false)...)
			}
		}
		if s := a.SAML; s != nil {
			inst.Auth.SAML = &spinnaker.SAML{MetadataURL: s.MetadataURL.ValueString(), IssuerID: s.IssuerID.ValueString(), ServiceAddress: s.ServiceAddress.ValueString(),
				KeyStoreAliasName:   s.KeyStoreAliasName.ValueString(),
				HasKeyStorePassword: config.Auth != nil && config.Auth.SAML != nil && !config.Auth.SAML.KeyStorePasswordWO.IsNull()}
			if ref := s.KeyStoreSecret; ref != nil {
				inst.Auth.SAML.KeyStoreSecret = &spinnaker.SecretRef{Name: ref.Name.ValueString(), Key: ref.Key.ValueString()}
			}
		}
		if l := a.LDAP; l != nil {
			inst.Auth.LDAP = &spinnaker.LDAP{URL: l.URL.ValueString(), UserDNPattern: l.UserDNPattern.ValueString(), UserSearchBase: l.UserSearchBase.ValueString(),
				UserSearchFilter: l.UserSearchFilter.ValueString(), ManagerDN: l.ManagerDN.ValueString(),
				HasManagerPassword: config.Auth != nil && config.Auth.LDAP != nil && !config.Auth.LDAP.ManagerPasswordWO.IsNull()}
		}
	}
	if !plan.Features.IsNull() {
		diags.Append(plan.Features.ElementsAs(ctx, &inst.Features, false)...)
	}
	if !plan.Profiles.IsNull() {
		diags.Append(plan.Profiles.ElementsAs(ctx, &inst.Profiles, false)...)
	}
	if !plan.ServiceSettings.IsNull() {
		diags.Append(plan.ServiceSettings.ElementsAs(ctx, &inst.ServiceSettings, false)...)
	}
	inst.Promotion = defaultPromotion()
	if p := plan.Promotion; p != nil {
		if d, err := time.ParseDuration(p.Soak.ValueString()); err == nil {
			inst.Promotion.Soak = spinnaker.Duration(d)
		}
		if !p.RequireVerification.IsNull() {
			inst.Promotion.RequireVerification = p.RequireVerification.ValueBool()
		}
		inst.Promotion.MinSandboxAvailability = p.MinSandboxAvailability.ValueFloat64()
	}
	inst.SecretVersions = map[string]int64{}
	for k, v := range secretVersions(plan) {
		if !v.IsNull() && !v.IsUnknown() {
			inst.SecretVersions[k] = v.ValueInt64()
		}
	}
	return inst, diags
}

// secretVersions are the model's *_wo_version arguments by path, each a
// pointer into m (nil blocks are left out).
func secretVersions(m *managedSpinnakerModel) map[string]*types.Int64 {
	out := map[string]*types.Int64{}
	if m.Persistence != nil && m.Persistence.S3 != nil {
		out["persistence.s3.secret_access_key_wo_version"] = &m.Persistence.S3.SecretAccessKeyWOVersion
	}
	if m.SQL != nil {
		out["sql.password_wo_version"] = &m.SQL.PasswordWOVersion
	}
	if a := m.Auth; a != nil {
		if a.OAuth2 != nil {
			out["auth.oauth2.client_secret_wo_version"] = &a.OAuth2.ClientSecretWOVersion
		}
		if a.SAML != nil {
			out["auth.saml.keystore_password_wo_version"] = &a.SAML.KeyStorePasswordWOVersion
		}
		if a.LDAP != nil {
			out["auth.ldap.manager_password_wo_version"] = &a.LDAP.ManagerPasswordWOVersion
		}
	}
	return out
}

// credentialsFromConfig collects the write-only secrets set in config.
func credentialsFromConfig(c *managedSpinnakerModel) map[string][]byte {
	out := map[string][]byte{}
	put := func(key string, v types.String) {
		if !v.IsNull() && !v.IsUnknown() {
			out[key] = []byte(v.ValueString())
		}
	}
	if c.SQL != nil {
		put(spinnaker.KeySQLPassword, c.SQL.PasswordWO)
	}
	if c.Persistence != nil && c.Persistence.S3 != nil {
		put(spinnaker.KeyS3SecretAccessKey, c.Persistence.S3.SecretAccessKeyWO)
	}
	if c.Auth != nil && c.Auth.OAuth2 != nil {
		put(spinnaker.KeyOAuth2ClientSecret, c.Auth.OAuth2.ClientSecretWO)
	}
	if c.Auth != nil && c.Auth.LDAP != nil {
		put(spinnaker.KeyLDAPManagerPassword, c.Auth.LDAP.ManagerPasswordWO)
	}
	if c.Auth != nil && c.Auth.SAML != nil {
		put(spinnaker.KeySAMLKeyStorePassword, c.Auth.SAML.KeyStorePasswordWO)
	}
	return out
}

// defaultPromotion is the policy without a promotion block.
func defaultPromotion() spinnaker.Promotion {
	return spinnaker.Promotion{Soak: spinnaker.Duration(24 * time.Hour), RequireVerification: true}
}

// flattenInstallation rebuilds the model from the stored installation, for
// Read and import. prior is the state being refreshed (after an import it
// holds only the id). Where the stored value means the same as prior's —
// null and "" or an empty map, "1h" and "1h0m0s", YAML spelled differently
// — prior's is kept, so that a refresh changes only what really changed.
// What the installation does not store (write-only values and their
// versions, the kubernetes override, timeouts) is taken from prior.
func flattenInstallation(inst *spinnaker.Installation, op *spinnaker.OperatorRecord, prior *managedSpinnakerModel) (*managedSpinnakerModel, diag.Diagnostics) {
	var diags diag.Diagnostics
	m := &managedSpinnakerModel{
		ID:               prior.ID,
		Kubernetes:       prior.Kubernetes,
		Timeouts:         prior.Timeouts,
		VerifiedVersions: prior.VerifiedVersions,
		ConfigRevision:   prior.ConfigRevision,
		DriftedObjects:   prior.DriftedObjects,
		SpinnakerVersion: flattenString(prior.SpinnakerVersion, inst.SpinnakerVersion),
		ConfigOverrides:  flattenYAML(prior.ConfigOverrides, inst.ConfigOverrides),
		Operator:         flattenOperator(op, prior.ID.ValueString(), prior.Operator),
		Persistence:      flattenPersistence(inst.Persistence, prior.Persistence),
		Redis:            flattenRedis(inst.Redis, prior.Redis),
		Promotion:        flattenPromotion(inst.Promotion, prior.Promotion),
	}
	var d diag.Diagnostics
	m.SQL, d = flattenSQL(inst.SQL, prior.SQL)
	diags.Append(d...)
	m.Auth, d = flattenAuth(inst.Auth, prior.Auth)
	diags.Append(d...)
	m.Features, d = flattenBoolMap(prior.Features, inst.Features)
	diags.Append(d...)
	m.Profiles, d = flattenStringMap(prior.Profiles, inst.Profiles, sameYAML)
	diags.Append(d...)
	m.ServiceSettings, d = flattenStringMap(prior.ServiceSettings, inst.ServiceSettings, sameYAML)
	diags.Append(d...)
	// After an import prior holds none of these: the stored installation
	// says which revision and secret versions the cluster holds.
	if m.ConfigRevision.IsNull() && inst.Revision != "" {
		m.ConfigRevision = types.StringValue(inst.Revision)
	}
	for k, v := range secretVersions(m) {
		if n, ok := inst.SecretVersions[k]; ok && v.IsNull() {
			*v = types.Int64Value(n)
		}
	}
	return m, diags
}

// flattenOperator returns the operator block, or nil when prior has none
// and the record holds only defaults. An installation saved without a
// record tells nothing about its operator: prior is kept.
func flattenOperator(rec *spinnaker.OperatorRecord, namespace string, prior *operatorModel) *operatorModel {
	if rec == nil {
		if prior != nil {
			return prior
		}
		def := operatorRecord(nil)
		rec = &def
	}
	if prior == nil && namespace == defaultOperatorNamespace && *rec == operatorRecord(nil) {
		return nil
	}
	return &operatorModel{
		Install:      types.BoolValue(rec.Install),
		Namespace:    types.StringValue(namespace),
		Image:        types.StringValue(rec.Image),
		Version:      types.StringValue(rec.Version),
		HalyardImage: types.StringValue(rec.HalyardImage),
		ClusterWide:  types.BoolValue(rec.ClusterWide),
		Wait:         types.BoolValue(rec.Wait),
	}
}

func flattenPersistence(p *spinnaker.Persistence, prior *persistenceModel) *persistenceModel {
	if p == nil {
		return nil
	}
	if prior == nil {
		prior = &persistenceModel{}
	}
	m := &persistenceModel{}
	if s := p.S3; s != nil {
		ps := prior.S3
		if ps == nil {
			ps = &s3Model{}
		}
		m.S3 = &s3Model{
			Bucket:                   flattenString(ps.Bucket, s.Bucket),
			Region:                   flattenString(ps.Region, s.Region),
			RootFolder:               flattenString(ps.RootFolder, s.RootFolder),
			Endpoint:                 flattenString(ps.Endpoint, s.Endpoint),
			PathStyle:                flattenBool(ps.PathStyle, s.PathStyle),
			AssumeRoleARN:            flattenString(ps.AssumeRoleARN, s.AssumeRoleARN),
			AccessKeyID:              flattenString(ps.AccessKeyID, s.AccessKeyID),
			SecretAccessKeyWO:        types.StringNull(),
			SecretAccessKeyWOVersion: ps.SecretAccessKeyWOVersion,
		}
	}
	if g := p.GCS; g != nil {
		pg := prior.GCS
		if pg == nil {
			pg = &gcsModel{}
		}
		m.GCS = &gcsModel{
			Bucket:     flattenString(pg.Bucket, g.Bucket),
			Project:    flattenString(pg.Project, g.Project),
			RootFolder: flattenString(pg.RootFolder, g.RootFolder),
		}
	}
	return m
}

func flattenSQL(s *spinnaker.SQL, prior *sqlModel) (*sqlModel, diag.Diagnostics) {
	if s == nil {
		return nil, nil
	}
	if prior == nil {
		prior = &sqlModel{}
	}
	databases, diags := flattenStringMap(prior.Databases, s.Databases, func(a, b string) bool { return a == b })
	m := &sqlModel{
		Endpoint:                flattenString(prior.Endpoint, s.Endpoint),
		ReaderEndpoint:          flattenString(prior.ReaderEndpoint, s.ReaderEndpoint),
		Port:                    types.Int64Value(s.Port),
		Databases:               databases,
		User:                    flattenString(prior.User, s.User),
		PasswordWO:              types.StringNull(),
		PasswordWOVersion:       prior.PasswordWOVersion,
		OrcaExecutionsFromRedis: flattenBool(prior.OrcaExecutionsFromRedis, s.OrcaExecutionsFromRedis),
	}
	if ref := s.PasswordSecret; ref != nil {
		pr := prior.PasswordSecret
		if pr == nil {
			pr = &secretRefModel{}
		}
		m.PasswordSecret = &secretRefModel{Name: flattenString(pr.Name, ref.Name), Key: flattenString(pr.Key, ref.Key)}
	}
	return m, diags
}

func flattenRedis(r *spinnaker.Redis, prior *redisModel) *redisModel {
	if r == nil {
		return nil
	}
	if prior == nil {
		prior = &redisModel{}
	}
	return &redisModel{Endpoint: flattenString(prior.Endpoint, r.Endpoint)}
}

func flattenAuth(a *spinnaker.Auth, prior *authModel) (*authModel, diag.Diagnostics) {
	var diags diag.Diagnostics
	if a == nil {
		return nil, diags
	}
	if prior == nil {
		prior = &authModel{}
	}
	m := &authModel{}
	if o := a.OAuth2; o != nil {
		po := prior.OAuth2
		if po == nil {
			po = &oauth2Model{}
		}
		scopes, d := flattenStringList(po.Scopes, o.Scopes)
		diags.Append(d...)
		m.OAuth2 = &oauth2Model{
			Provider:              flattenString(po.Provider, o.Provider),
			ClientID:              flattenString(po.ClientID, o.ClientID),
			Scopes:                scopes,
			ClientSecretWO:        types.StringNull(),
			ClientSecretWOVersion: po.ClientSecretWOVersion,
		}
	}
	if s := a.SAML; s != nil {
		ps := prior.SAML
		if ps == nil {
			ps = &samlModel{}
		}
		m.SAML = &samlModel{
			MetadataURL:               flattenString(ps.MetadataURL, s.MetadataURL),
			IssuerID:                  flattenString(ps.IssuerID, s.IssuerID),
			ServiceAddress:            flattenString(ps.ServiceAddress, s.ServiceAddress),
			KeyStoreAliasName:         flattenString(ps.KeyStoreAliasName, s.KeyStoreAliasName),
			KeyStorePasswordWO:        types.StringNull(),
			KeyStorePasswordWOVersion: ps.KeyStorePasswordWOVersion,
		}
		if ref := s.KeyStoreSecret; ref != nil {
			m.SAML.KeyStoreSecret = &secretRefModel{Name: types.StringValue(ref.Name), Key: types.StringValue(ref.Key)}
		}
	}
	if l := a.LDAP; l != nil {
		pl := prior.LDAP
		if pl == nil {
			pl = &ldapModel{}
		}
		m.LDAP = &ldapModel{
			URL:                      flattenString(pl.URL, l.URL),
			UserDNPattern:            flattenString(pl.UserDNPattern, l.UserDNPattern),
			UserSearchBase:           flattenString(pl.UserSearchBase, l.UserSearchBase),
			UserSearchFilter:         flattenString(pl.UserSearchFilter, l.UserSearchFilter),
			ManagerDN:                flattenString(pl.ManagerDN, l.ManagerDN),
			ManagerPasswordWO:        types.StringNull(),
			ManagerPasswordWOVersion: pl.ManagerPasswordWOVersion,
		}
	}
	return m, diags
}

// flattenPromotion returns the promotion block, or nil when prior has none
// and the stored policy is the default one.
func flattenPromotion(p spinnaker.Promotion, prior *promotionModel) *promotionModel {
	if prior == nil && p == defaultPromotion() {
		return nil
	}
	soak := time.Duration(p.Soak)
	m := &promotionModel{Soak: types.StringValue(shortDuration(soak)), RequireVerification: types.BoolValue(p.RequireVerification), MinSandboxAvailability: types.Float64Null()}
	if p.MinSandboxAvailability > 0 {
		m.MinSandboxAvailability = types.Float64Value(p.MinSandboxAvailability)
	}
	if prior != nil && !prior.Soak.IsNull() && !prior.Soak.IsUnknown() {
		if d, err := time.ParseDuration(prior.Soak.ValueString()); err == nil && d == soak {
			m.Soak = prior.Soak
		}
	}
	return m
}

// shortDuration writes d as Go does without the zero units it ends with:
// 24h, 1h30m, 90s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// flattenString is v, or prior when it holds the same; the installation
// stores an unset string as "", which is null unless prior says "".
func flattenString(prior types.String, v string) types.String {
	if !prior.IsUnknown() && prior.ValueString() == v {
		return prior
	}
	if v == "" {
		return types.StringNull()
	}
	return types.StringValue(v)
}

// flattenBool is flattenString for an optional bool without default, which
// the installation stores as false when unset.
func flattenBool(prior types.Bool, v bool) types.Bool {
	if !prior.IsUnknown() && prior.ValueBool() == v {
		return prior
	}
	if !v {
		return types.BoolNull()
	}
	return types.BoolValue(v)
}

// flattenYAML is v, or prior when it is the same YAML.
func flattenYAML(prior types.String, v string) types.String {
	if !prior.IsUnknown() && sameYAML(prior.ValueString(), v) {
		return prior
	}
	return flattenString(prior, v)
}

// sameYAML reports whether a and b are the same YAML document; "" is the
// empty mapping, as for rendering.
func sameYAML(a, b string) bool {
	if a == b {
		return true
	}
	parse := func(s string) (any, bool) {
		if strings.TrimSpace(s) == "" {
			return map[string]any{}, true
		}
		j, err := yaml.YAMLToJSON([]byte(s))
		if err != nil {
			return nil, false
		}
		var v any
		if err := json.Unmarshal(j, &v); err != nil {
			return nil, false
		}
		return v, true
	}
	av, aok := parse(a)
	bv, bok := parse(b)
	return aok && bok && reflect.DeepEqual(av, bv)
}

// flattenStringMap is v as a map, keeping prior's elements that are the
// same by same; an empty v is prior when that is an empty map, else null.
func flattenStringMap(prior types.Map, v map[string]string, same func(a, b string) bool) (types.Map, diag.Diagnostics) {
	if len(v) == 0 {
		if !prior.IsNull() && !prior.IsUnknown() && len(prior.Elements()) == 0 {
			return prior, nil
		}
		return types.MapNull(types.StringType), nil
	}
	old := prior.Elements()
	elems := make(map[string]attr.Value, len(v))
	for k, s := range v {
		if p, ok := old[k].(types.String); ok && !p.IsNull() && !p.IsUnknown() && same(p.ValueString(), s) {
			elems[k] = p
			continue
		}
		elems[k] = types.StringValue(s)
	}
	return types.MapValue(types.StringType, elems)
}

// flattenBoolMap is flattenStringMap for a map of bools.
func flattenBoolMap(prior types.Map, v map[string]bool) (types.Map, diag.Diagnostics) {
	if len(v) == 0 {
		if !prior.IsNull() && !prior.IsUnknown() && len(prior.Elements()) == 0 {
			return prior, nil
		}
		return types.MapNull(types.BoolType), nil
	}
	elems := make(map[string]attr.Value, len(v))
	for k, b := range v {
		elems[k] = types.BoolValue(b)
	}
	return types.MapValue(types.BoolType, elems)
}

// flattenStringList is v as a list in its stored order; an empty v is prior
// when that is an empty list, else null.
func flattenStringList(prior types.List, v []string) (types.List, diag.Diagnostics) {
	if len(v) == 0 {
		if !prior.IsNull() && !prior.IsUnknown() && len(prior.Elements()) == 0 {
			return prior, nil
		}
		return types.ListNull(types.StringType), nil
	}
	elems := make([]attr.Value, len(v))
	for i, s := range v {
		elems[i] = types.StringValue(s)
	}
	return types.ListValue(types.StringType, elems)
}
