package migrate

// This file: a Halyard configuration (~/.hal, or the spinnakerConfig of a
// live SpinnakerService, which has the same layout) into a
// spinops_managed_spinnaker and a spinops_zone.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	"sigs.k8s.io/yaml"

	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
)

// Halyard is one deployment of an existing installation: its deployment
// configuration (an entry of ~/.hal/config's deploymentConfigurations, or a
// SpinnakerService's spec.spinnakerConfig.config), profiles and service
// settings by service name.
type Halyard struct {
	// Source names where it was read, for the file's header.
	Source          string
	Config          map[string]any
	Profiles        map[string]any
	ServiceSettings map[string]any
	// Files are the supporting files a SpinnakerService carries
	// (spec.spinnakerConfig.files), by name.
	Files map[string]string
	// Name and Namespace of the SpinnakerService, when read from one.
	Name, Namespace string
	// Expose is the SpinnakerService's spec.expose, when read from one.
	Expose map[string]any
	// notes found while reading, for the report.
	unmapped []string
}

// ReadHalconfig reads deployment (empty: the config's currentDeployment)
// from a Halyard directory: path is ~/.hal or its config file. Profiles are
// read from <dir>/<deployment>/profiles/<service>-local.yml, service
// settings from <dir>/<deployment>/service-settings/<service>.yml, the
// layout Halyard's HalconfigDirectoryStructure defines.
func ReadHalconfig(path, deployment string) (*Halyard, error) {
	dir, file := path, filepath.Join(path, "config")
	if st, err := os.Stat(path); err == nil && !st.IsDir() {
		dir, file = filepath.Dir(path), path
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading the Halyard config: %w", err)
	}
	var hal struct {
		CurrentDeployment        string           `json:"currentDeployment"`
		DeploymentConfigurations []map[string]any `json:"deploymentConfigurations"`
	}
	if err := yaml.Unmarshal(raw, &hal); err != nil {
		return nil, fmt.Errorf("%s is not a Halyard config: %w", file, err)
	}
	if deployment == "" {
		deployment = hal.CurrentDeployment
	}
	if deployment == "" {
		deployment = "default"
	}
	var names []string
	h := &Halyard{Source: file}
	for _, d := range hal.DeploymentConfigurations {
		n, _ := d["name"].(string)
		names = append(names, n)
		if n == deployment {
			h.Config = d
		}
	}
	if h.Config == nil {
		return nil, fmt.Errorf("%s has no deployment %q (it has %s): choose one with --deployment", file, deployment, strings.Join(names, ", "))
	}
	h.Profiles, h.ServiceSettings = map[string]any{}, map[string]any{}
	pdir := filepath.Join(dir, deployment, "profiles")
	entries, err := os.ReadDir(pdir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading the profiles: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() {
			h.unmapped = append(h.unmapped, fmt.Sprintf("profiles/%s/: a directory of custom files; put what a profile names in a Secret and reference it as encryptedFile:k8s!n:<secret>!k:<key>", e.Name()))
			continue
		}
		b, err := os.ReadFile(filepath.Join(pdir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading profile %s: %w", e.Name(), err)
		}
		switch {
		case e.Name() == "settings-local.js":
			// The operator takes Deck's settings-local.js as profiles.deck's
			// "settings-local.js" key.
			deck, _ := h.Profiles["deck"].(map[string]any)
			if deck == nil {
				deck = map[string]any{}
			}
			deck["settings-local.js"] = string(b)
			h.Profiles["deck"] = deck
		case strings.HasSuffix(e.Name(), "-local.yml") || strings.HasSuffix(e.Name(), "-local.yaml"):
			svc := strings.TrimSuffix(strings.TrimSuffix(e.Name(), ".yml"), ".yaml")
			svc = strings.TrimSuffix(svc, "-local")
			m, err := yamlMapping(b)
			if err != nil {
				return nil, fmt.Errorf("profile %s: %w", e.Name(), err)
			}
			if m != nil {
				h.Profiles[svc] = m
			}
		default:
			h.unmapped = append(h.unmapped, fmt.Sprintf("profiles/%s: not a <service>-local.yml profile (a file a profile refers to?); put it in a Secret and reference it as encryptedFile:k8s!n:<secret>!k:<key>", e.Name()))
		}
	}
	sdir := filepath.Join(dir, deployment, "service-settings")
	entries, err = os.ReadDir(sdir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading the service settings: %w", err)
	}
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yml" && ext != ".yaml") {
			h.unmapped = append(h.unmapped, fmt.Sprintf("service-settings/%s: not a <service>.yml file", e.Name()))
			continue
		}
		b, err := os.ReadFile(filepath.Join(sdir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading service settings %s: %w", e.Name(), err)
		}
		m, err := yamlMapping(b)
		if err != nil {
			return nil, fmt.Errorf("service settings %s: %w", e.Name(), err)
		}
		if m != nil {
			h.ServiceSettings[strings.TrimSuffix(e.Name(), ext)] = m
		}
	}
	return h, nil
}

func yamlMapping(b []byte) (map[string]any, error) {
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not a YAML mapping")
	}
	return m, nil
}

// FromSpinnakerService reads a SpinnakerService object (its unstructured
// content) of the Spinnaker Operator: spec.spinnakerConfig's config,
// profiles, service-settings and files, and spec.expose.
func FromSpinnakerService(obj map[string]any) (*Halyard, error) {
	meta, _ := obj["metadata"].(map[string]any)
	spec, _ := obj["spec"].(map[string]any)
	sc, _ := spec["spinnakerConfig"].(map[string]any)
	cfg, _ := sc["config"].(map[string]any)
	if cfg == nil {
		return nil, errors.New("the SpinnakerService has no spec.spinnakerConfig.config: nothing to migrate")
	}
	h := &Halyard{Config: cfg, Profiles: map[string]any{}, ServiceSettings: map[string]any{}, Files: map[string]string{}}
	h.Name, _ = meta["name"].(string)
	h.Namespace, _ = meta["namespace"].(string)
	h.Source = "SpinnakerService " + h.Namespace + "/" + h.Name
	for svc, p := range mapOf(sc["profiles"]) {
		if m, ok := p.(map[string]any); ok { // the CRD takes only mappings
			h.Profiles[svc] = m
		}
	}
	for svc, s := range mapOf(sc["service-settings"]) {
		if m, ok := s.(map[string]any); ok {
			h.ServiceSettings[svc] = m
		}
	}
	for name, f := range mapOf(sc["files"]) {
		s, _ := f.(string)
		h.Files[name] = s
	}
	h.Expose = mapOf(spec["expose"])
	return h, nil
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// HalyardOptions shape the generated configuration.
type HalyardOptions struct {
	// ZoneName is the zone (and SpinnakerService) name; default the
	// SpinnakerService's name, else "green".
	ZoneName string
	// Namespace of the zone; default the SpinnakerService's namespace, else
	// Halyard's deploymentEnvironment.location, else spinnaker. Give
	// another one to run the new zone beside the old installation.
	Namespace string
	// Tier of the zone; default production.
	Tier string
	// AgentAccounts turns each Kubernetes account into a
	// spinops_agent_account served through the bridge, instead of keeping
	// it as a Clouddriver account in config_overrides.
	AgentAccounts bool
	// SecretName is the Secret, in each zone's namespace, that holds the
	// secrets and files moved out of the configuration; default
	// spinops-migrated-secrets.
	SecretName string
	// Adopt, for a SpinnakerService read from a cluster, writes the zone as
	// that SpinnakerService adopted in place (an import block, its own name
	// and namespace, production) and the installation with the operator that
	// already runs it, left as it is.
	Adopt *Adoption
}

// Adoption is the operator that reconciles an adopted SpinnakerService
// (spinnaker.OperatorOf).
type Adoption struct {
	// OperatorNamespace is its Deployment's namespace: the installation's id.
	OperatorNamespace string
	// ClusterWide: it watches every namespace.
	ClusterWide bool
	// OperatorVersion is its image's tag, when it has one.
	OperatorVersion string
}

// checkAdoption refuses options an in-place adoption cannot honour.
func checkAdoption(h *Halyard, o HalyardOptions) error {
	if o.Adopt == nil {
		return nil
	}
	switch {
	case h.Name == "" || h.Namespace == "":
		return errors.New("adopting in place needs a live SpinnakerService (--from-cluster with --spinnaker-service); a Halyard config has none")
	case o.ZoneName != "" && o.ZoneName != h.Name:
		return fmt.Errorf("adopting in place keeps the SpinnakerService's name %q (it cannot change): leave out --zone-name, or drop --adopt to run a new zone beside it", h.Name)
	case o.Namespace != "" && o.Namespace != h.Namespace:
		return fmt.Errorf("adopting in place keeps the SpinnakerService's namespace %q: leave out --namespace, or drop --adopt to run a new zone in %q beside it", h.Namespace, o.Namespace)
	case o.Tier != "" && o.Tier != "production":
		return errors.New("an adopted SpinnakerService is the installation's production zone (the one users reach): leave out --tier, and add a sandbox zone beside it afterwards")
	case o.Adopt.OperatorNamespace == "":
		return errors.New("adopting in place needs the namespace of the Spinnaker Operator that runs the SpinnakerService")
	}
	return nil
}

// Keys of the deployment configuration spinops sets itself, each with why
// it is not carried over.
var halDropped = map[string]string{
	"name":                                "the deployment's name in ~/.hal; the zone has its own name",
	"deploymentEnvironment.type":          "the Spinnaker Operator always deploys distributed, to its own cluster",
	"deploymentEnvironment.accountName":   "the operator deploys to the SpinnakerService's namespace, not through a Halyard account",
	"deploymentEnvironment.bootstrapOnly": "Halyard's bootstrap deployments do not exist under the operator",
	"deploymentEnvironment.updateVersions": "Halyard's version check: the zone's spinnaker_version is the version, " +
		"promoted from sandbox to production",
	"deploymentEnvironment.consul":    "Halyard's Consul integration (for its own service discovery) has no operator equivalent",
	"deploymentEnvironment.vault":     "Halyard's Vault integration: reference secrets with encrypted:k8s (or the vault engine in profiles) instead",
	"deploymentEnvironment.gitConfig": "only LocalGit deployments use it",
}

// HalyardToHCL writes the installation (spinops_managed_spinnaker) and one
// zone (spinops_zone) that run what h describes: the settings spinops has
// arguments for as those arguments (version, Front50's bucket, auth,
// features, HA, expose), profiles and service settings as they are, and
// every other Halyard setting in config_overrides. Secrets are never
// written: those spinops has write-only arguments for become ephemeral
// variables, the others and every local file a reference to a key of one
// Kubernetes Secret, whose keys the report lists with where each value
// comes from. Nothing is dropped without a line in the report.
func HalyardToHCL(h *Halyard, o HalyardOptions) ([]byte, Report, error) {
	var rep Report
	rep.Unmapped = append(rep.Unmapped, h.unmapped...)
	if err := checkAdoption(h, o); err != nil {
		return nil, rep, err
	}
	if o.SecretName == "" {
		o.SecretName = "spinops-migrated-secrets"
	}
	if o.Tier == "" {
		o.Tier = "production"
	}
	zoneName := o.ZoneName
	if zoneName == "" {
		zoneName = h.Name
	}
	if zoneName == "" {
		zoneName = "green"
	}
	cfg := deepCopy(h.Config).(map[string]any)
	version, _ := cfg["version"].(string)
	delete(cfg, "version")
	if version == "" {
		return nil, rep, errors.New("the deployment has no version: spinops needs the Spinnaker version it runs (set it in the Halyard config or the generated spinnaker_version)")
	}
	if strings.HasPrefix(version, "master-") || strings.HasPrefix(version, "branch:") {
		return nil, rep, fmt.Errorf("version %q is a development build: spinops runs releases (e.g. 1.35.3); choose the release to move to", version)
	}
	env := mapOf(cfg["deploymentEnvironment"])
	oldNS := h.Namespace
	if oldNS == "" {
		oldNS, _ = env["location"].(string)
	}
	if oldNS == "" {
		oldNS = "spinnaker"
	}
	namespace := o.Namespace
	if namespace == "" {
		namespace = h.Namespace
	}
	if namespace == "" {
		namespace, _ = env["location"].(string)
	}
	if namespace == "" {
		namespace = "spinnaker"
	}
	ha := mapOf(env["haServices"])
	if env != nil {
		delete(env, "haServices")
		delete(env, "location")
	}
	for _, key := range sortedKeys(halDropped) {
		parent, leaf, _ := strings.Cut(key, ".")
		m := cfg
		if leaf != "" {
			m = mapOf(cfg[parent])
		} else {
			leaf = parent
		}
		if v, ok := m[leaf]; ok {
			delete(m, leaf)
			if !isDefault(v) {
				rep.Unmapped = append(rep.Unmapped, key+": "+halDropped[key])
			}
		}
	}

	keeper := newSecretKeeper(o.SecretName)
	var vars []wovar

	varsFile, resFile := hclwrite.NewEmptyFile(), hclwrite.NewEmptyFile()
	body := varsFile.Body()
	res := resFile.Body()
	inst := res.AppendNewBlock("resource", []string{"spinops_managed_spinnaker", "this"}).Body()
	inst.SetAttributeValue("spinnaker_version", cty.StringVal(version))
	if a := o.Adopt; a != nil {
		// The operator that runs the SpinnakerService stays as it is
		// (its Deployment, selector and CRDs untouched): the installation
		// only keeps spinops' records in its namespace.
		inst.AppendNewline()
		op := inst.AppendNewBlock("operator", nil).Body()
		op.SetAttributeValue("namespace", cty.StringVal(a.OperatorNamespace))
		op.SetAttributeValue("install", cty.False)
		op.SetAttributeValue("cluster_wide", cty.BoolVal(a.ClusterWide))
		if a.OperatorVersion != "" {
			op.SetAttributeValue("version", cty.StringVal(a.OperatorVersion))
		}
	}

	// Front50's bucket.
	if ps := mapOf(cfg["persistentStorage"]); ps != nil {
		typ, _ := ps["persistentStoreType"].(string)
		switch strings.ToLower(typ) {
		case "s3":
			s3 := mapOf(ps["s3"])
			inst.AppendNewline()
			p := inst.AppendNewBlock("persistence", nil).Body().AppendNewBlock("s3", nil).Body()
			for _, kv := range [][2]string{{"bucket", "bucket"}, {"region", "region"}, {"rootFolder", "root_folder"}, {"endpoint", "endpoint"}, {"accessKeyId", "access_key_id"}} {
				if s, _ := s3[kv[0]].(string); s != "" {
					p.SetAttributeValue(kv[1], cty.StringVal(s))
				}
			}
			if b, ok := s3["pathStyleAccess"].(bool); ok && b {
				p.SetAttributeValue("path_style", cty.True)
			}
			if s, _ := s3["secretAccessKey"].(string); s != "" && !isReference(s) {
				vars = append(vars, wovar{"s3_secret_access_key", "persistentStorage.s3.secretAccessKey", p, "secret_access_key_wo"})
				delete(s3, "secretAccessKey")
			}
			for _, k := range []string{"bucket", "region", "rootFolder", "endpoint", "accessKeyId", "pathStyleAccess"} {
				delete(s3, k)
			}
			keepRest(ps, "s3", s3)
			delete(ps, "persistentStoreType")
		case "gcs":
			gcs := mapOf(ps["gcs"])
			inst.AppendNewline()
			p := inst.AppendNewBlock("persistence", nil).Body().AppendNewBlock("gcs", nil).Body()
			for _, kv := range [][2]string{{"bucket", "bucket"}, {"project", "project"}, {"rootFolder", "root_folder"}} {
				if s, _ := gcs[kv[0]].(string); s != "" {
					p.SetAttributeValue(kv[1], cty.StringVal(s))
				}
				delete(gcs, kv[0])
			}
			keepRest(ps, "gcs", gcs)
			delete(ps, "persistentStoreType")
		case "":
		default:
			rep.Notes = append(rep.Notes, fmt.Sprintf("persistentStorage: %s has no persistence block in spinops; it is carried over in config_overrides as it is", typ))
		}
		// The stores not in use: Halyard writes a node (with its defaults)
		// for each; Front50 reads only the one persistentStoreType names.
		if typ != "" {
			for _, k := range sortedKeys(ps) {
				if k != "persistentStoreType" && !strings.EqualFold(k, typ) {
					delete(ps, k)
				}
			}
		}
	}

	// SQL: the services' connection settings, when they fit the sql block.
	profilesIn := deepCopy(h.Profiles).(map[string]any)
	s := sqlFromProfiles(profilesIn, &rep)
	_, orcaSQL := s.orcaDatabase()
	oldRedis := oldOrcaRedis(h, oldNS)
	orcaFromRedis := false
	if o.Adopt == nil { // adopted in place, the same Orca and Redis go on
		orcaFromRedis = orcaExecutions(mapOf(h.Profiles["orca"]), orcaSQL, oldRedis, namespace, &rep)
	}
	if s != nil {
		inst.AppendNewline()
		b := inst.AppendNewBlock("sql", nil).Body()
		b.SetAttributeValue("endpoint", cty.StringVal(s.endpoint))
		if s.reader != "" {
			b.SetAttributeValue("reader_endpoint", cty.StringVal(s.reader))
		}
		if s.port != 3306 {
			b.SetAttributeValue("port", cty.NumberIntVal(s.port))
		}
		dbs := map[string]cty.Value{}
		for svc, db := range s.databases {
			dbs[svc] = cty.StringVal(db)
		}
		b.SetAttributeValue("databases", cty.ObjectVal(dbs))
		b.SetAttributeValue("user", cty.StringVal(s.user))
		if s.secretName != "" {
			ps := b.AppendNewBlock("password_secret", nil).Body()
			ps.SetAttributeValue("name", cty.StringVal(s.secretName))
			ps.SetAttributeValue("key", cty.StringVal(s.secretKey))
		} else {
			vars = append(vars, wovar{"sql_password", "the SQL password (profiles' sql.connectionPools.default.password)", b, "password_wo"})
		}
		if orcaFromRedis {
			b.SetAttributeValue("orca_executions_from_redis", cty.True)
		}
	}

	// Authentication.
	sec := mapOf(cfg["security"])
	if authn := mapOf(sec["authn"]); authn != nil {
		var auth *hclwrite.Body
		block := func() *hclwrite.Body {
			if auth == nil {
				inst.AppendNewline()
				auth = inst.AppendNewBlock("auth", nil).Body()
			}
			return auth
		}
		if m := mapOf(authn["oauth2"]); enabled(m) {
			client := mapOf(m["client"])
			provider, _ := m["provider"].(string)
			switch p := strings.ToLower(provider); p {
			case "github", "google", "azure", "oracle":
				b := block().AppendNewBlock("oauth2", nil).Body()
				b.SetAttributeValue("provider", cty.StringVal(p))
				if s, _ := client["clientId"].(string); s != "" {
					b.SetAttributeValue("client_id", cty.StringVal(s))
				}
				if s, _ := client["clientSecret"].(string); s != "" && !isReference(s) {
					vars = append(vars, wovar{"oauth2_client_secret", "security.authn.oauth2.client.clientSecret", b, "client_secret_wo"})
					delete(client, "clientSecret")
				}
				if s, _ := client["scope"].(string); s != "" {
					setList(b, "scopes", strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' }))
				}
				for _, k := range []string{"clientId", "scope"} {
					delete(client, k)
				}
				keepRest(m, "client", client)
				delete(m, "provider")
				delete(m, "enabled")
				keepRest(authn, "oauth2", m)
			default:
				rep.Notes = append(rep.Notes, fmt.Sprintf("security.authn.oauth2: provider %q has no oauth2.provider in spinops; carried over in config_overrides", provider))
			}
		}
		if m := mapOf(authn["ldap"]); enabled(m) {
			b := block().AppendNewBlock("ldap", nil).Body()
			for _, kv := range [][2]string{{"url", "url"}, {"userDnPattern", "user_dn_pattern"}, {"userSearchBase", "user_search_base"}, {"userSearchFilter", "user_search_filter"}, {"managerDn", "manager_dn"}} {
				if s, _ := m[kv[0]].(string); s != "" {
					b.SetAttributeValue(kv[1], cty.StringVal(s))
				}
				delete(m, kv[0])
			}
			if s, _ := m["managerPassword"].(string); s != "" && !isReference(s) {
				vars = append(vars, wovar{"ldap_manager_password", "security.authn.ldap.managerPassword", b, "manager_password_wo"})
				delete(m, "managerPassword")
			}
			delete(m, "enabled")
			keepRest(authn, "ldap", m)
		}
		if m := mapOf(authn["saml"]); enabled(m) {
			remote, _ := m["metadataRemote"].(string)
			ks, _ := m["keyStore"].(string)
			if remote != "" && ks != "" && !isReference(ks) {
				b := block().AppendNewBlock("saml", nil).Body()
				b.SetAttributeValue("metadata_url", cty.StringVal(remote))
				for _, kv := range [][2]string{{"issuerId", "issuer_id"}, {"keyStoreAliasName", "keystore_alias_name"}, {"serviceAddress", "service_address"}} {
					if s, _ := m[kv[0]].(string); s != "" {
						b.SetAttributeValue(kv[1], cty.StringVal(s))
					}
					delete(m, kv[0])
				}
				k := b.AppendNewBlock("keystore_secret", nil).Body()
				k.SetAttributeValue("name", cty.StringVal(o.SecretName))
				k.SetAttributeValue("key", cty.StringVal("saml-keystore"))
				rep.Notes = append(rep.Notes, fmt.Sprintf("SAML keystore %s: put it in Secret %s in the operator namespace under key saml-keystore "+
					"(kubectl -n <operator namespace> create secret generic %s --from-file=saml-keystore=%s)", ks, o.SecretName, o.SecretName, ks))
				if s, _ := m["keyStorePassword"].(string); s != "" && !isReference(s) {
					vars = append(vars, wovar{"saml_keystore_password", "security.authn.saml.keyStorePassword", b, "keystore_password_wo"})
					delete(m, "keyStorePassword")
				}
				for _, key := range []string{"metadataRemote", "keyStore", "enabled"} {
					delete(m, key)
				}
				keepRest(authn, "saml", m)
			} else {
				rep.Notes = append(rep.Notes, "security.authn.saml: spinops' saml block needs metadataRemote and a keyStore file; carried over in config_overrides")
			}
		}
		if enabled(authn) || auth != nil {
			delete(authn, "enabled")
		}
		keepRest(sec, "authn", authn)
		if az := mapOf(sec["authz"]); az != nil && auth != nil {
			delete(az, "enabled") // auth turns Fiat on
			keepRest(sec, "authz", az)
		}
	}

	// Features.
	if fm := mapOf(cfg["features"]); fm != nil {
		feats := map[string]cty.Value{}
		for _, k := range sortedKeys(fm) {
			b, ok := fm[k].(bool)
			switch {
			case !ok:
				if fm[k] != nil {
					rep.Unmapped = append(rep.Unmapped, fmt.Sprintf("features.%s: %v is not a boolean", k, fm[k]))
				}
			case !b: // Halyard's default
			case halFeatures[k]:
				feats[k] = cty.True
			default:
				rep.Unmapped = append(rep.Unmapped, fmt.Sprintf("features.%s: the operator's Halyard refuses it under features (spinops accepts %s); "+
					"set the service's own property in profiles if the version still reads it", k, strings.Join(sortedKeys(halFeatures), ", ")))
			}
		}
		if c := mapOf(cfg["canary"]); c != nil {
			if b, ok := c["enabled"].(bool); ok && b {
				feats["canary"] = cty.True
				delete(c, "enabled")
			}
		}
		if len(feats) > 0 {
			inst.AppendNewline()
			inst.SetAttributeValue("features", cty.ObjectVal(feats))
		}
		delete(cfg, "features")
	}

	// Everything else: as it is, without secrets.
	profiles := map[string]any{}
	for _, svc := range sortedKeys(profilesIn) {
		p := profilesIn[svc]
		if deck, ok := p.(map[string]any); ok && svc == "deck" {
			if js, ok := deck["settings-local.js"].(string); ok && jsSecretRE.MatchString(js) {
				delete(deck, "settings-local.js")
				rep.Unmapped = append(rep.Unmapped, "profiles.deck settings-local.js: it looks like it holds a secret (Deck's settings are served to every browser); "+
					"not written: add it to profiles.deck by hand after removing the secret")
			}
		}
		profiles[svc] = keeper.scrub(p, "profiles."+svc, false)
	}
	settings := map[string]any{}
	for _, svc := range sortedKeys(h.ServiceSettings) {
		s := h.ServiceSettings[svc]
		if svc == "redis" {
			if m, ok := s.(map[string]any); ok {
				if u, _ := m["overrideBaseUrl"].(string); u != "" {
					if oldRedis.Shared { // the URL carries no password
						inst.AppendNewline()
						inst.AppendNewBlock("redis", nil).Body().SetAttributeValue("endpoint", cty.StringVal(oldRedis.URL))
					} else {
						rep.Unmapped = append(rep.Unmapped, "service-settings redis.overrideBaseUrl: the URL carries a password, which would land in Terraform state as redis.endpoint; "+
							"set redis.endpoint by hand and the password through a Redis profile with an encrypted:k8s reference")
					}
					delete(m, "overrideBaseUrl")
					delete(m, "skipLifeCycleManagement")
					if len(m) == 0 {
						continue
					}
				}
			}
		}
		if m, ok := s.(map[string]any); ok && slices.Contains(spinnaker.ExposedServices, svc) && exposedAsService(h.Expose) {
			if k := mapOf(m["kubernetes"]); k != nil && k["serviceAnnotations"] != nil {
				// The operator replaces these Services' annotations with
				// expose's: they never reached the Service, and spinops
				// refuses them beside an expose of type service
				// (spinnaker.Render).
				rep.Unmapped = append(rep.Unmapped, fmt.Sprintf("service-settings.%s.kubernetes.serviceAnnotations (%s): with spec.expose type service the "+
					"Spinnaker Operator replaces spin-%s's annotations with expose's, so these never reached the Service; not written (put what the "+
					"Service needs in the zone's expose.annotations)", svc, strings.Join(sortedKeys(mapOf(k["serviceAnnotations"])), ", "), svc))
				delete(k, "serviceAnnotations")
				keepRest(m, "kubernetes", k)
				if len(m) == 0 {
					continue
				}
			}
		}
		settings[svc] = keeper.scrub(s, "service-settings."+svc, true)
	}
	for _, name := range sortedKeys(h.Files) {
		rep.Unmapped = append(rep.Unmapped, fmt.Sprintf("spinnakerConfig.files %s: supporting files are not carried over; put it in Secret %s and reference it as encryptedFile:k8s!n:%s!k:<key>", name, o.SecretName, o.SecretName))
	}
	var agentAccounts []agentAccountSpec
	if kube := mapOf(mapOf(cfg["providers"])["kubernetes"]); kube != nil {
		if accts, _ := kube["accounts"].([]any); len(accts) > 0 {
			if o.AgentAccounts {
				agentAccounts = halAgentAccounts(accts, &rep)
				delete(kube, "accounts")
			} else {
				rep.Notes = append(rep.Notes, fmt.Sprintf("providers.kubernetes: %d account(s) kept as they are in config_overrides (their kubeconfig files moved to Secret %s); "+
					"to serve them through spinops' bridge instead, run again with --agent-accounts", len(accts), o.SecretName))
			}
		}
	}
	overrides := pruneDisabled(keeper.scrub(cfg, "", true)).(map[string]any)

	setYAMLMap(inst, "profiles", profiles)
	setYAMLMap(inst, "service_settings", settings)
	if len(overrides) > 0 {
		inst.AppendNewline()
		inst.SetAttributeRaw("config_overrides", hclwrite.TokensForFunctionCall("yamlencode", hclwrite.TokensForValue(toCty(overrides))))
		rep.Notes = append(rep.Notes, "config_overrides carries the Halyard settings spinops has no argument for: "+strings.Join(sortedKeys(overrides), ", "))
	}

	// Variables for the write-only arguments, then the resources.
	sort.Slice(vars, func(i, j int) bool { return vars[i].name < vars[j].name })
	for _, v := range vars {
		vb := body.AppendNewBlock("variable", []string{v.name}).Body()
		vb.SetAttributeValue("description", cty.StringVal("The value of "+v.from+" in "+h.Source+"."))
		vb.SetAttributeTraversal("type", traversal("string"))
		vb.SetAttributeValue("sensitive", cty.True)
		vb.SetAttributeValue("ephemeral", cty.True)
		body.AppendNewline()
		v.block.SetAttributeTraversal(v.attr, traversal("var."+v.name))
		v.block.SetAttributeValue(v.attr+"_version", cty.NumberIntVal(1))
		rep.Notes = append(rep.Notes, fmt.Sprintf("variable %s: give it the value of %s (write-only: it never reaches Terraform state)", v.name, v.from))
	}
	res.AppendNewline()
	z := res.AppendNewBlock("resource", []string{"spinops_zone", resourceLabel(zoneName)}).Body()
	z.SetAttributeTraversal("managed_spinnaker_id", traversal("spinops_managed_spinnaker.this.id"))
	if o.Adopt == nil {
		// Adopted, the zone has no config_revision at first: the
		// installation is made in the same apply, so its revision would be
		// unknown and the import would plan a change.
		z.SetAttributeTraversal("config_revision", traversal("spinops_managed_spinnaker.this.config_revision"))
	}
	z.SetAttributeValue("name", cty.StringVal(zoneName))
	z.SetAttributeValue("namespace", cty.StringVal(namespace))
	z.SetAttributeValue("tier", cty.StringVal(o.Tier))
	if o.Tier == "production" && o.Adopt == nil {
		// The promotion gate lets a production zone take only a version a
		// sandbox zone verified; the version this installation already runs
		// in production is the exception, recorded in the ledger.
		z.AppendNewline()
		z.AppendNewBlock("promotion_override", nil).Body().SetAttributeValue("reason",
			cty.StringVal(fmt.Sprintf("migrated: %s already ran in production (%s)", version, h.Source)))
		rep.Notes = append(rep.Notes, fmt.Sprintf("zone %s: promotion_override lets it take %s, which no sandbox zone has verified yet "+
			"(the version the old installation runs); remove it after the first apply, so that later versions go through a sandbox zone", zoneName, version))
	}
	if hz := spinnaker.HAFromConfig(h.Config); hz != nil {
		cd, echo := mapOf(ha["clouddriver"]), mapOf(ha["echo"])
		z.AppendNewline()
		b := z.AppendNewBlock("ha", nil).Body()
		b.SetAttributeValue("enabled", cty.True)
		b.SetAttributeValue("clouddriver_split", cty.BoolVal(hz.ClouddriverSplit))
		if !enabled(echo) || !enabled(cd) {
			rep.Notes = append(rep.Notes, "deploymentEnvironment.haServices: only one of clouddriver and echo ran split; spinops' ha splits Echo whenever it is on (clouddriver_split is set as it was)")
		}
		if b, _ := cd["disableClouddriverRoDeck"].(bool); b {
			rep.Unmapped = append(rep.Unmapped, "deploymentEnvironment.haServices.clouddriver.disableClouddriverRoDeck: spinops always runs clouddriver-ro-deck with a split Clouddriver")
		}
	}
	if e := h.Expose; len(e) > 0 {
		exposeBlock(z, e, h.Config, &rep)
	}
	zoneLabel := resourceLabel(zoneName)
	seen := map[string]bool{}
	for _, a := range agentAccounts {
		label := resourceLabel(a.Name)
		for seen[label] {
			label += "_"
		}
		seen[label] = true
		res.AppendNewline()
		appendAgentAccount(res, label, a, func(b *hclwrite.Body) {
			b.SetAttributeTraversal("namespace", traversal("spinops_zone."+zoneLabel+".namespace"))
		}, &rep)
	}
	switch {
	case o.Adopt != nil:
		res.AppendNewline()
		imp := res.AppendNewBlock("import", nil).Body()
		imp.SetAttributeTraversal("to", traversal("spinops_zone."+zoneLabel))
		imp.SetAttributeValue("id", cty.StringVal(o.Adopt.OperatorNamespace+"/"+h.Namespace+"/"+h.Name))
		rep.Notes = append(rep.Notes, fmt.Sprintf("SpinnakerService %s/%s is adopted in place: the first apply imports it as zone %s and makes the installation's records "+
			"in namespace %s (its operator, %s, is left as it runs); the running Spinnaker is not changed, and the plan after it is empty", h.Namespace, h.Name, zoneName,
			o.Adopt.OperatorNamespace, "install = false"))
		rep.Notes = append(rep.Notes, fmt.Sprintf("zone %s: its first change after the adoption (an argument of the zone, or config_revision = spinops_managed_spinnaker.this.config_revision "+
			"added to roll the installation's changes out to it) re-renders the whole SpinnakerService from these arguments, the spinops way; review this file against the report first", zoneName))
	case h.Name != "":
		rep.Notes = append(rep.Notes, fmt.Sprintf("SpinnakerService %s/%s: run the new zone beside it (--namespace, --zone-name) and move over, "+
			"or adopt it in place with --adopt", h.Namespace, h.Name))
	}
	if !keeper.empty() {
		var b strings.Builder
		fmt.Fprintf(&b, "Secret %s in namespace %s (and in every other zone's namespace) holds what was moved out of the configuration; create it with\n", o.SecretName, namespace)
		fmt.Fprintf(&b, "      kubectl -n %s create secret generic %s", namespace, o.SecretName)
		for _, k := range sortedKeys(keeper.keys) {
			fmt.Fprintf(&b, " \\\n        --from-literal=%s=\"<the value of %s>\"", k, keeper.keys[k])
		}
		for _, k := range sortedKeys(keeper.files) {
			fmt.Fprintf(&b, " \\\n        --from-file=%s=%s", k, keeper.files[k])
		}
		rep.Notes = append(rep.Notes, b.String())
	}
	return hclwrite.Format(append(varsFile.Bytes(), resFile.Bytes()...)), rep, nil
}

// halAgentAccounts reads Halyard's providers.kubernetes.accounts (the
// KubernetesAccount fields of halyard-config) as agent accounts: an account
// read through its service account in the cluster Spinnaker runs in
// (serviceAccount: true) gets spinops' agent installed, a kubeconfig
// account an infrastructure-mode agent. Settings Clouddriver alone reads
// are reported.
func halAgentAccounts(accts []any, rep *Report) []agentAccountSpec {
	mapped := setOf("name", "namespaces", "omitNamespaces", "kinds", "omitKinds", "permissions", "serviceAccount", "kubeconfigFile", "context",
		"onlyNamespacedResources")
	var out []agentAccountSpec
	for _, raw := range accts {
		m := mapOf(raw)
		name, _ := m["name"].(string)
		if name == "" {
			rep.Unmapped = append(rep.Unmapped, "providers.kubernetes.accounts[]: an account without a name")
			continue
		}
		a := agentAccountSpec{Name: accountName(name), Kinds: strs(m["kinds"]), OmitKinds: strs(m["omitKinds"]), Namespaces: strs(m["namespaces"]),
			OmitNamespaces: strs(m["omitNamespaces"]), Read: strs(mapOf(m["permissions"])["READ"]), Write: strs(mapOf(m["permissions"])["WRITE"]),
			inClusterNote: "Clouddriver read it with its own service account", remove: "the account from the old installation",
			reachedBy: "the old Clouddriver reached it with"}
		a.OnlyNamespaced, _ = m["onlyNamespacedResources"].(bool)
		a.InCluster, _ = m["serviceAccount"].(bool)
		a.Kubeconfig, _ = m["kubeconfigFile"].(string)
		a.Context, _ = m["context"].(string)
		if a.Name != name {
			rep.Notes = append(rep.Notes, fmt.Sprintf("account %s is %s here: spinops account names are DNS-1123 labels (lowercase letters, digits, '-'); "+
				"pipelines and applications that name the account must use the new name", name, a.Name))
		}
		for _, k := range sortedKeys(m) {
			if !mapped[strings.ToLower(k)] && !isDefault(m[k]) {
				rep.Unmapped = append(rep.Unmapped, fmt.Sprintf("providers.kubernetes.accounts[%s].%s: a Clouddriver account setting spinops_agent_account has no equivalent for", name, k))
			}
		}
		out = append(out, a)
	}
	return out
}

func strs(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// halFeatures are the keys spinops' features accepts (ValidateFeatures;
// case-sensitive).
var halFeatures = map[string]bool{"auth": true, "chaos": true, "entityTags": true, "fiat": true, "jobs": true, "pipelineTemplates": true}

// wovar is a secret spinops has a write-only argument for: a variable the
// user gives its value (never read from the source into the output).
type wovar struct {
	name, from string
	block      *hclwrite.Body
	attr       string
}

// exposeBlock turns the SpinnakerService's spec.expose into the zone's,
// as spinnaker.ExposeFromSpec reads it (the mapping an adopted zone's
// import reads too).
func exposeBlock(z *hclwrite.Body, e, config map[string]any, rep *Report) {
	ex, why := spinnaker.ExposeFromSpec(e, config)
	if ex == nil {
		rep.Unmapped = append(rep.Unmapped, why)
		return
	}
	z.AppendNewline()
	b := z.AppendNewBlock("expose", nil).Body()
	b.SetAttributeValue("type", cty.StringVal(ex.Type))
	if ex.DeckHost != "" {
		b.SetAttributeValue("deck_host", cty.StringVal(ex.DeckHost))
	}
	if ex.GateHost != "" {
		b.SetAttributeValue("gate_host", cty.StringVal(ex.GateHost))
	}
	if len(ex.Annotations) > 0 {
		vals := map[string]cty.Value{}
		for k, v := range ex.Annotations {
			vals[k] = cty.StringVal(v)
		}
		b.SetAttributeValue("annotations", cty.ObjectVal(vals))
	}
	rep.Notes = append(rep.Notes, "spec.expose: with TLS, set expose.tls_secret (the ports become 443); the overrideBaseUrls stay in config_overrides until then")
}

// exposedAsService: spec.expose has the operator expose Deck and Gate
// with Services of its own (type service).
func exposedAsService(expose map[string]any) bool {
	t, _ := expose["type"].(string)
	return t == spinnaker.ExposeService
}

// keepRest puts m back under parent[key], or removes the key when nothing
// of m is left.
func keepRest(parent map[string]any, key string, m map[string]any) {
	if parent == nil {
		return
	}
	if len(prune(m).(map[string]any)) == 0 {
		delete(parent, key)
		return
	}
	parent[key] = m
}

func enabled(m map[string]any) bool {
	b, _ := m["enabled"].(bool)
	return b
}

// isDefault says whether v is an empty value Halyard writes for a setting
// left alone (null, false, "", an empty map or list, or maps of those).
func isDefault(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case bool:
		return !t
	case string:
		return t == ""
	case []any:
		return len(t) == 0
	case map[string]any:
		for _, c := range t {
			if !isDefault(c) {
				return false
			}
		}
		return true
	}
	return false
}

// prune drops nulls and empty maps (Halyard writes a node for every
// setting), keeping false, 0 and "" where they were set.
func prune(v any) any { return pruneWhere(v, func(any) bool { return false }) }

// pruneDisabled is prune that also drops the nodes Halyard writes for what
// is turned off: a map whose enabled is false and whose other settings are
// all empty.
func pruneDisabled(v any) any {
	return pruneWhere(v, func(c any) bool {
		m, ok := c.(map[string]any)
		e, has := m["enabled"].(bool)
		return ok && has && !e && isDefault(m)
	})
}

// pruneWhere prunes v's children first, then drops from each map the
// children that are null, empty maps, or what drop says.
func pruneWhere(v any, drop func(any) bool) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, c := range t {
			c = pruneWhere(c, drop)
			if m, ok := c.(map[string]any); c == nil || (ok && len(m) == 0) || drop(c) {
				continue
			}
			out[k] = c
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, c := range t {
			out[i] = pruneWhere(c, drop)
		}
		return out
	}
	return v
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, c := range t {
			out[k] = deepCopy(c)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, c := range t {
			out[i] = deepCopy(c)
		}
		return out
	}
	return v
}

// setYAMLMap writes service → yamlencode({...}) for each non-empty entry.
func setYAMLMap(b *hclwrite.Body, attr string, m map[string]any) {
	pruned := map[string]map[string]any{}
	for k, v := range m {
		if mm, ok := prune(v).(map[string]any); ok && len(mm) > 0 {
			pruned[k] = mm
		}
	}
	if len(pruned) == 0 {
		return
	}
	toks := hclwrite.Tokens{{Type: hclsyntax.TokenOBrace, Bytes: []byte("{")}, {Type: hclsyntax.TokenNewline, Bytes: []byte("\n")}}
	for _, k := range sortedKeys(pruned) {
		toks = append(toks, hclwrite.TokensForValue(cty.StringVal(k))...)
		toks = append(toks, &hclwrite.Token{Type: hclsyntax.TokenEqual, Bytes: []byte("=")})
		toks = append(toks, hclwrite.TokensForFunctionCall("yamlencode", hclwrite.TokensForValue(toCty(pruned[k])))...)
		toks = append(toks, &hclwrite.Token{Type: hclsyntax.TokenNewline, Bytes: []byte("\n")})
	}
	toks = append(toks, &hclwrite.Token{Type: hclsyntax.TokenCBrace, Bytes: []byte("}")})
	b.AppendNewline()
	b.SetAttributeRaw(attr, toks)
}

// toCty turns parsed YAML into a cty value for hclwrite (objects and
// tuples, so that mixed types stay as they are).
func toCty(v any) cty.Value {
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 {
			return cty.EmptyObjectVal
		}
		m := make(map[string]cty.Value, len(t))
		for k, c := range t {
			m[k] = toCty(c)
		}
		return cty.ObjectVal(m)
	case []any:
		if len(t) == 0 {
			return cty.EmptyTupleVal
		}
		l := make([]cty.Value, len(t))
		for i, c := range t {
			l[i] = toCty(c)
		}
		return cty.TupleVal(l)
	case string:
		return cty.StringVal(t)
	case bool:
		return cty.BoolVal(t)
	case float64:
		return cty.NumberFloatVal(t)
	case int64:
		return cty.NumberIntVal(t)
	case int:
		return cty.NumberIntVal(int64(t))
	case nil:
		return cty.NullVal(cty.DynamicPseudoType)
	}
	return cty.StringVal(fmt.Sprint(v))
}

// AdoptionOf is the Adoption of the operator that runs a SpinnakerService:
// its namespace, whether it watches every namespace, and its image's tag as
// the operator version (none for a digest or a tag that is no version).
func AdoptionOf(op spinnaker.OperatorInstance) *Adoption {
	a := &Adoption{OperatorNamespace: op.Namespace, ClusterWide: op.WatchNamespace == ""}
	image, _, _ := strings.Cut(op.Image, "@")
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		if tag := strings.TrimPrefix(image[i+1:], "v"); operatorTagRE.MatchString(tag) {
			a.OperatorVersion = tag
		}
	}
	return a
}

var operatorTagRE = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
