package provider

import (
	"encoding/json"
	"reflect"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"sigs.k8s.io/yaml"

	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
)

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
		Endpoint:          flattenString(prior.Endpoint, s.Endpoint),
		ReaderEndpoint:    flattenString(prior.ReaderEndpoint, s.ReaderEndpoint),
		Port:              types.Int64Value(s.Port),
		Databases:         databases,
		User:              flattenString(prior.User, s.User),
		PasswordWO:        types.StringNull(),
		PasswordWOVersion: prior.PasswordWOVersion,
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
	m := &promotionModel{Soak: types.StringValue(shortDuration(soak)), RequireVerification: types.BoolValue(p.RequireVerification)}
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
