package spinnaker

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
)

// GVKs of the operator's kinds.
var (
	SpinnakerServiceGVK = schema.GroupVersionKind{Group: "spinnaker.io", Version: "v1alpha2", Kind: "SpinnakerService"}
	SpinnakerAccountGVK = schema.GroupVersionKind{Group: "spinnaker.io", Version: "v1alpha2", Kind: "SpinnakerAccount"}
)

// Labels and annotations spinops puts on what it creates.
const (
	LabelManagedBy    = "app.kubernetes.io/managed-by"
	LabelInstallation = "spinops.io/installation"
	LabelTier         = "spinops.io/tier"
	LabelZone         = "spinops.io/zone"
	// AnnotationZone holds the zone's settings (JSON), so that an imported
	// zone can be read back in full.
	AnnotationZone = "spinops.io/zone-settings"
	managedBy      = "spinops"
)

// Keys of the credentials Secrets (the installation's and each zone's).
const (
	KeySQLPassword         = "sql-password"
	KeyS3SecretAccessKey   = "s3-secret-access-key"
	KeyOAuth2ClientSecret  = "oauth2-client-secret"
	KeyLDAPManagerPassword = "ldap-manager-password"
	// KeySAMLKeyStore is the JKS file copied from auth.saml.keystore_secret.
	KeySAMLKeyStore         = "saml-keystore"
	KeySAMLKeyStorePassword = "saml-keystore-password"
)

// Rendered is what a zone applies to its cluster.
type Rendered struct {
	// Service is the SpinnakerService. It carries no secret value.
	Service *unstructured.Unstructured
	// Secret holds the credentials Service references; nil when it needs none.
	Secret *unstructured.Unstructured
	// Ingress exposes Deck and Gate when expose.type is ingress.
	Ingress *unstructured.Unstructured
	// Services are the services Halyard deploys for Service's config
	// (halyardServices): what readiness waits for and verification checks.
	Services []Service
	// TurnedOff are the services Spinnaker needs that service-settings
	// turn off (`enabled: false`) though Halyard would deploy them
	// (turnedOff): the zone would be ready and verified without them, and
	// not work. A plan warns about them.
	TurnedOff []string
	// SettingsMissed are the service-settings that do not reach HA
	// services Halyard deploys (settingsMissed). A plan warns about them.
	SettingsMissed []MissedSettings
	// Recreated are the zone's HA services (HAServices) whose
	// service-settings give them Halyard's recreate deployment strategy:
	// every rollout stops all their pods before it starts new ones, which
	// no disruption budget holds back. A plan warns about them.
	Recreated []string
	// PDBs are the PodDisruptionBudgets of the zone's HA services (none
	// without HA or with one replica).
	PDBs []*unstructured.Unstructured
	// TargetGroupBindings register Deck's and Gate's pods in the target
	// groups of expose type aws-target-groups; X509Service is the Service
	// the x509 one binds to (Gate's API port), nil without it.
	TargetGroupBindings []*unstructured.Unstructured
	X509Service         *unstructured.Unstructured
	// SpecHash identifies the SpinnakerService's spec (see SpecHash).
	SpecHash string
}

// AccountTokensSecret holds, one key per account, the bridge endpoint
// tokens of the SpinnakerAccounts in a zone's namespace
// (spinops_agent_account writes them); AccountTokensDir is where every
// Clouddriver of the zone mounts it, so that a SpinnakerAccount's inline
// kubeconfig names a tokenFile instead of holding the token.
const (
	AccountTokensSecret = "spinops-account-tokens"
	AccountTokensDir    = "/var/run/spinops/account-tokens"
)

// CredentialsSecretName is the name of a zone's credentials Secret.
func CredentialsSecretName(zone string) string { return zone + "-spinops-credentials" }

// secretRef is how the operator and Spinnaker reference a Kubernetes Secret.
func secretRef(secret, key string) string { return "encrypted:k8s!n:" + secret + "!k:" + key }

// secretFileRef references a Secret's key as a file Halyard reads (the
// operator writes it out and passes its path).
func secretFileRef(secret, key string) string { return "encryptedFile:k8s!n:" + secret + "!k:" + key }

// ValidateInstallation checks what Halyard would refuse in the shared
// configuration, so that it is refused at plan time rather than by the
// operator's admission webhook at apply time.
func ValidateInstallation(inst *Installation) error {
	if err := ValidateFeatures(inst.Features); err != nil {
		return err
	}
	if p := inst.Persistence; p != nil && p.S3 != nil && p.S3.AssumeRoleARN != "" {
		return fmt.Errorf("persistence.s3.assume_role_arn: the Spinnaker Operator's Halyard has no persistentStorage.s3.assumeRole key and refuses the configuration; " +
			"give Front50's service account an IAM role instead (IRSA), or set the role in profiles.front50")
	}
	if s := inst.SQL; s != nil && s.OrcaExecutionsFromRedis && s.Databases["orca"] == "" {
		return fmt.Errorf("sql.orca_executions_from_redis: Orca moves executions from Redis into its SQL database, but sql.databases names none for orca; " +
			"add orca = \"<schema>\" to sql.databases, or leave orca_executions_from_redis out")
	}
	if a := inst.Auth; a != nil && a.SAML != nil {
		if err := a.SAML.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// Render turns a zone of an installation into the objects to apply.
// credentials are the secret values the zone needs, by key (KeySQLPassword,
// ...); they go into the zone's Secret, never into the SpinnakerService.
func Render(inst *Installation, z *Zone, credentials map[string][]byte) (*Rendered, error) {
	if err := z.Validate(); err != nil {
		return nil, err
	}
	if err := ValidateInstallation(inst); err != nil {
		return nil, err
	}
	version := z.EffectiveVersion(inst)
	if version == "" {
		return nil, fmt.Errorf("zone %s has no Spinnaker version and the installation has no default", z.Name)
	}
	secretName := CredentialsSecretName(z.Name)
	services := Services(inst, z)

	config := map[string]any{"version": version}
	profiles := map[string]any{}
	settings := map[string]any{}

	if p := inst.Persistence; p != nil {
		if err := renderPersistence(config, p, secretName); err != nil {
			return nil, err
		}
	}
	if inst.SQL != nil {
		renderSQL(profiles, inst.SQL, z, secretName)
	}
	if inst.Redis != nil && inst.Redis.Endpoint != "" {
		url := inst.Redis.Endpoint
		if !strings.Contains(url, "://") {
			url = "redis://" + url
		}
		settings["redis"] = map[string]any{"overrideBaseUrl": url, "skipLifeCycleManagement": true}
	}
	security := map[string]any{}
	if inst.Auth != nil {
		security["authn"] = renderAuth(inst.Auth, secretName)
		security["authz"] = map[string]any{"enabled": true}
	}
	if e := z.Expose; e != nil {
		deck, gate := e.URLs()
		if deck != "" {
			security["uiSecurity"] = map[string]any{"overrideBaseUrl": deck}
		}
		if gate != "" {
			security["apiSecurity"] = map[string]any{"overrideBaseUrl": gate}
		}
	}
	if len(security) > 0 {
		config["security"] = security
	}
	// Only Halyard's own feature flags go under features; canary is
	// Halyard's canary node (ValidateInstallation refused anything else).
	f := map[string]any{}
	for k, v := range inst.Features {
		if k != FeatureCanary {
			f[k] = v
		}
	}
	if len(f) > 0 {
		config["features"] = f
	}
	if inst.Features[FeatureCanary] {
		config["canary"] = map[string]any{"enabled": true}
	}
	config["deploymentEnvironment"] = renderDeploymentEnvironment(z, services)

	// Overrides: the installation's, then the zone's; config_overrides last.
	for _, layer := range []struct {
		what     string
		profiles map[string]string
		settings map[string]string
	}{
		{"the installation's", inst.Profiles, inst.ServiceSettings},
		{"the zone's", z.Profiles, z.ServiceSettings},
	} {
		if err := mergeYAMLMap(profiles, layer.profiles, layer.what+" profiles"); err != nil {
			return nil, err
		}
		if err := mergeYAMLMap(settings, layer.settings, layer.what+" service_settings"); err != nil {
			return nil, err
		}
	}
	for _, o := range []struct{ what, yaml string }{
		{"the installation's config_overrides", inst.ConfigOverrides},
		{"the zone's config_overrides", z.ConfigOverrides},
	} {
		if strings.TrimSpace(o.yaml) == "" {
			continue
		}
		m, err := parseYAMLObject(o.yaml)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.what, err)
		}
		deepMerge(config, m)
	}
	if config["version"] != version {
		return nil, fmt.Errorf("config_overrides may not set version (%v): set spinnaker_version instead, so that promotion can gate it", config["version"])
	}

	// What Halyard will deploy, once config_overrides and service_settings
	// had their say (Igor only with a CI system or a Docker registry).
	if err := checkPorts(settings); err != nil {
		return nil, err
	}
	if err := checkServerPorts(profiles, settings, z.Expose); err != nil {
		return nil, err
	}
	services = halyardServices(config, settings)
	if err := checkPodLabels(settings, services); err != nil {
		return nil, err
	}
	missed := settingsMissed(settings, services)
	// Every Clouddriver mounts the account tokens (Halyard service
	// settings kubernetes.volumes, type secret), beside the user's volumes.
	for _, svc := range services {
		if baseService(svc.Name) != "clouddriver" {
			continue
		}
		if err := addAccountTokensVolume(settings, svc.Name); err != nil {
			return nil, err
		}
	}
	// The global service-settings' lists merged here, where the operator
	// would drop them (settings_lists.go).
	hoistGlobalLists(settings)
	if err := checkVolumes(settings); err != nil {
		return nil, err
	}
	if err := checkDeploymentStrategy(settings); err != nil {
		return nil, err
	}
	var recreated []string
	for _, s := range HAServices(z, services) {
		if t, _ := settingValue(settings, s.Name, "kubernetes", "deploymentStrategy", "type").(string); t == "recreate" {
			recreated = append(recreated, s.Name)
		}
	}
	spinnakerConfig := map[string]any{"config": config}
	if len(profiles) > 0 {
		spinnakerConfig["profiles"] = profiles
	}
	if len(settings) > 0 {
		spinnakerConfig["service-settings"] = settings
	}
	// SpinnakerAccounts (spinops_agent_account) reach Clouddriver only when
	// the SpinnakerService turns them on; dynamic hands them over without a
	// Clouddriver restart (armory/spinnaker-operator pkg/controller/
	// spinnakeraccount, pkg/deploy/spindeploy/transformer/accounts.go).
	spec := map[string]any{"spinnakerConfig": spinnakerConfig, "accounts": map[string]any{"enabled": true, "dynamic": true}}
	if z.Expose != nil && z.Expose.Type == ExposeService {
		// The operator replaces spin-deck's and spin-gate's annotations
		// with expose's (armory/spinnaker-operator pkg/deploy/spindeploy/
		// expose_service/transform.go, ApplyExposeServiceConfig): Halyard's
		// kubernetes.serviceAnnotations for them would be dropped silently.
		for _, svc := range ExposedServices {
			if _, found, _ := unstructured.NestedFieldNoCopy(settings, svc, "kubernetes", "serviceAnnotations"); found {
				return nil, fmt.Errorf("service_settings for %s set kubernetes.serviceAnnotations, but with expose type %q the Spinnaker Operator replaces "+
					"spin-deck's and spin-gate's annotations with expose's, so they would never reach the Service: put them in expose.annotations "+
					"(both Services get them), or leave Deck and Gate unexposed (no expose block: ClusterIP Services, as modules/gcp/edge's NEGs and "+
					"modules/aws/edge's TargetGroupBindings use) and keep them in service_settings", svc, ExposeService)
			}
		}
		spec["expose"] = renderServiceExpose(z.Expose)
	}
	kustomize, err := renderKustomize(z, services)
	if err != nil {
		return nil, err
	}
	if len(kustomize) > 0 {
		spec["kustomize"] = kustomize
	}
	pdbs, err := renderPDBs(inst, z, services)
	if err != nil {
		return nil, err
	}
	spec, err = normalize(spec)
	if err != nil {
		return nil, err
	}

	settingsJSON, err := json.Marshal(z)
	if err != nil {
		return nil, err
	}
	svc := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	svc.SetGroupVersionKind(SpinnakerServiceGVK)
	svc.SetName(z.Name)
	svc.SetNamespace(z.Namespace)
	svc.SetLabels(zoneLabels(inst, z))
	svc.SetAnnotations(map[string]string{AnnotationZone: string(settingsJSON)})

	r := &Rendered{Service: svc, Services: services, TurnedOff: turnedOff(config, settings), PDBs: pdbs,
		SettingsMissed: missed, Recreated: recreated, SpecHash: SpecHash(spec)}
	if len(credentials) > 0 {
		r.Secret = renderSecret(inst, z, secretName, credentials)
	}
	if z.Expose != nil && z.Expose.Type == ExposeIngress {
		r.Ingress = renderIngress(inst, z, settings)
	}
	if z.Expose != nil && z.Expose.Type == ExposeAWSTargetGroups {
		if r.TargetGroupBindings, r.X509Service, err = renderTargetGroupBindings(inst, z, profiles, settings); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func zoneLabels(inst *Installation, z *Zone) map[string]string {
	return map[string]string{
		LabelManagedBy:    managedBy,
		LabelInstallation: inst.ID,
		LabelTier:         z.Tier,
		LabelZone:         z.Name,
	}
}

// SpecHash is the SHA-256 of a SpinnakerService spec's canonical JSON (keys
// sorted). Rendering and reading back the same spec give the same hash, so a
// difference means the object was edited out of band or the configuration
// changed.
func SpecHash(spec map[string]any) string {
	b, err := json.Marshal(spec)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// SpecOf returns a SpinnakerService's spec (empty when it has none).
func SpecOf(obj *unstructured.Unstructured) map[string]any {
	spec, _, _ := unstructured.NestedMap(obj.Object, "spec")
	if spec == nil {
		return map[string]any{}
	}
	return spec
}

// VersionOf returns the Spinnaker version a SpinnakerService's spec asks for.
func VersionOf(obj *unstructured.Unstructured) string {
	v, _, _ := unstructured.NestedString(obj.Object, "spec", "spinnakerConfig", "config", "version")
	return v
}

// ZoneOf reads back the settings Render stored on a SpinnakerService.
func ZoneOf(obj *unstructured.Unstructured) (*Zone, error) {
	raw := obj.GetAnnotations()[AnnotationZone]
	if raw == "" {
		return nil, fmt.Errorf("%s %s/%s was not created by spinops (no %s annotation)", obj.GetKind(), obj.GetNamespace(), obj.GetName(), AnnotationZone)
	}
	var z Zone
	if err := json.Unmarshal([]byte(raw), &z); err != nil {
		return nil, fmt.Errorf("reading annotation %s: %w", AnnotationZone, err)
	}
	return &z, nil
}

func renderPersistence(config map[string]any, p *Persistence, secretName string) error {
	switch {
	case p.S3 != nil && p.GCS != nil:
		return fmt.Errorf("persistence: set s3 or gcs, not both")
	case p.S3 != nil:
		s3 := map[string]any{"bucket": p.S3.Bucket}
		setIf(s3, "region", p.S3.Region)
		setIf(s3, "rootFolder", p.S3.RootFolder)
		setIf(s3, "endpoint", p.S3.Endpoint)
		setIf(s3, "accessKeyId", p.S3.AccessKeyID)
		if p.S3.PathStyle {
			s3["pathStyleAccess"] = true
		}
		if p.S3.HasSecretAccessKey {
			s3["secretAccessKey"] = secretRef(secretName, KeyS3SecretAccessKey)
		}
		config["persistentStorage"] = map[string]any{"persistentStoreType": "s3", "s3": s3}
	case p.GCS != nil:
		gcs := map[string]any{"bucket": p.GCS.Bucket}
		setIf(gcs, "project", p.GCS.Project)
		setIf(gcs, "rootFolder", p.GCS.RootFolder)
		config["persistentStorage"] = map[string]any{"persistentStoreType": "gcs", "gcs": gcs}
	}
	return nil
}

// orcaFromRedisProfile is the part of Orca's profile that makes it move its
// executions from Redis to SQL itself, as Orca's own guide does it
// (spinnaker.io docs/guides/operator/orca-redis-to-sql; spinnaker/orca
// 2fdb327a9):
//
//   - executionRepository.dual (DualExecutionRepository.kt): reads and
//     updates go to the repository that has the execution, SQL first, new
//     executions to SQL. The repositories are named by bean, not class:
//     both beans are InstrumentedProxy proxies (SqlConfiguration.kt
//     sqlExecutionRepository, RedisConfiguration.java
//     redisExecutionRepository), which a primaryClass/previousClass lookup
//     (Class.isInstance) does not find.
//   - executionRepository.redis.enabled: the Redis repository exists only
//     then (matchIfMissing, but the sql block turns it off).
//   - pollers.pipelineMigrator and pollers.orchestrationMigrator
//     (orca-migration MigrationConfiguration.kt): the agents that store
//     finished executions from the previous repository into the primary,
//     every intervalMs (Orca's default, one hour). They run in the zone's
//     Orca itself (the guide's separate migration cluster is optional).
func orcaFromRedisProfile() map[string]any {
	return map[string]any{
		"executionRepository": map[string]any{
			"sql":   map[string]any{"enabled": true},
			"redis": map[string]any{"enabled": true},
			"dual": map[string]any{
				"enabled":      true,
				"primaryName":  "sqlExecutionRepository",
				"previousName": "redisExecutionRepository",
			},
		},
		"pollers": map[string]any{
			"pipelineMigrator":      map[string]any{"enabled": true},
			"orchestrationMigrator": map[string]any{"enabled": true},
		},
	}
}

// sqlServices are the services that keep their state in SQL.
var sqlServices = []string{"clouddriver", "front50", "orca"}

func renderSQL(profiles map[string]any, sql *SQL, z *Zone, secretName string) {
	port := sql.Port
	if port == 0 {
		port = 3306
	}
	password := secretRef(secretName, KeySQLPassword)
	jdbc := func(host, db string) string {
		return "jdbc:mysql://" + host + ":" + strconv.FormatInt(port, 10) + "/" + db
	}
	pool := func(host, db string) map[string]any {
		return map[string]any{
			"enabled": true,
			"connectionPools": map[string]any{
				"default": map[string]any{"default": true, "jdbcUrl": jdbc(host, db), "user": sql.User, "password": password},
			},
			"migration": map[string]any{"jdbcUrl": jdbc(sql.Endpoint, db), "user": sql.User, "password": password},
		}
	}
	for _, s := range sqlServices {
		db := sql.Databases[s]
		if db == "" {
			continue
		}
		p := map[string]any{"sql": pool(sql.Endpoint, db)}
		switch s {
		case "orca":
			p["monitor"] = map[string]any{"activeExecutions": map[string]any{"redis": false}}
			if sql.OrcaExecutionsFromRedis {
				maps.Copy(p, orcaFromRedisProfile())
			} else {
				p["executionRepository"] = map[string]any{"sql": map[string]any{"enabled": true}, "redis": map[string]any{"enabled": false}}
			}
		case "front50":
			p["spinnaker"] = map[string]any{"s3": map[string]any{"enabled": false}, "gcs": map[string]any{"enabled": false}}
		case "clouddriver":
			p["redis"] = map[string]any{"enabled": false}
			p["sql"].(map[string]any)["taskRepository"] = map[string]any{"enabled": true}
			p["sql"].(map[string]any)["cache"] = map[string]any{"enabled": true}
			p["sql"].(map[string]any)["scheduler"] = map[string]any{"enabled": true}
		}
		profiles[s] = p
		// The read-only Clouddriver replicas read from the replica endpoint.
		if s == "clouddriver" && z.HA != nil && z.HA.Enabled && z.HA.ClouddriverSplit && sql.ReaderEndpoint != "" {
			for _, ro := range []string{"clouddriver-ro", "clouddriver-ro-deck"} {
				profiles[ro] = map[string]any{"sql": map[string]any{"connectionPools": map[string]any{
					"default": map[string]any{"default": true, "jdbcUrl": jdbc(sql.ReaderEndpoint, db), "user": sql.User, "password": password},
				}}}
			}
		}
	}
}

func renderAuth(a *Auth, secretName string) map[string]any {
	authn := map[string]any{}
	if o := a.OAuth2; o != nil {
		client := map[string]any{"clientId": o.ClientID}
		if o.HasClientSecret {
			client["clientSecret"] = secretRef(secretName, KeyOAuth2ClientSecret)
		}
		if len(o.Scopes) > 0 {
			client["scope"] = strings.Join(o.Scopes, " ")
		}
		authn["oauth2"] = map[string]any{"enabled": true, "provider": strings.ToUpper(o.Provider), "client": client}
	}
	if s := a.SAML; s != nil {
		m := map[string]any{"enabled": true, "metadataRemote": s.MetadataURL, "issuerId": s.IssuerID,
			"keyStore":          secretFileRef(secretName, KeySAMLKeyStore),
			"keyStorePassword":  secretRef(secretName, KeySAMLKeyStorePassword),
			"keyStoreAliasName": s.KeyStoreAliasName}
		setIf(m, "serviceAddress", s.ServiceAddress)
		authn["saml"] = m
	}
	if l := a.LDAP; l != nil {
		m := map[string]any{"enabled": true, "url": l.URL}
		setIf(m, "userDnPattern", l.UserDNPattern)
		setIf(m, "userSearchBase", l.UserSearchBase)
		setIf(m, "userSearchFilter", l.UserSearchFilter)
		setIf(m, "managerDn", l.ManagerDN)
		if l.HasManagerPassword {
			m["managerPassword"] = secretRef(secretName, KeyLDAPManagerPassword)
		}
		authn["ldap"] = m
	}
	authn["enabled"] = true
	return authn
}

func renderDeploymentEnvironment(z *Zone, services []Service) map[string]any {
	ha := z.HA != nil && z.HA.Enabled
	sizing := map[string]any{}
	for _, s := range services {
		sizing[s.ObjectName()] = map[string]any{"replicas": s.Replicas}
	}
	return map[string]any{
		"haServices": map[string]any{
			"clouddriver": map[string]any{"enabled": ha && z.HA.ClouddriverSplit, "disableClouddriverRoDeck": false},
			"echo":        map[string]any{"enabled": ha},
		},
		"customSizing": sizing,
	}
}

// publicPorts are the ports users reach Deck and Gate on with
// expose.type = service: 80 and 8084, or 443 for both with TLS.
func publicPorts(e *Expose) (deck, gate int64) {
	if e.TLSSecret != "" {
		return 443, 443
	}
	return 80, 8084
}

// sourceRangesAnnotation restricts a cloud load balancer to CIDRs.
const sourceRangesAnnotation = "service.beta.kubernetes.io/load-balancer-source-ranges"

func renderServiceExpose(e *Expose) map[string]any {
	ann := map[string]any{}
	for k, v := range e.Annotations {
		ann[k] = v
	}
	if len(e.SourceRanges) > 0 {
		ann[sourceRangesAnnotation] = strings.Join(e.SourceRanges, ",")
	}
	deckPort, gatePort := publicPorts(e)
	svc := map[string]any{
		"type":       "LoadBalancer",
		"publicPort": deckPort,
		"overrides":  map[string]any{"gate": map[string]any{"publicPort": gatePort}},
	}
	if len(ann) > 0 {
		svc["annotations"] = ann
	}
	return map[string]any{"type": "service", "service": svc}
}

// ingressSourceRangesAnnotation restricts ingress-nginx to CIDRs.
const ingressSourceRangesAnnotation = "nginx.ingress.kubernetes.io/whitelist-source-range"

func renderIngress(inst *Installation, z *Zone, settings map[string]any) *unstructured.Unstructured {
	e := z.Expose
	rule := func(host, svc string, port int) any {
		return map[string]any{"host": host, "http": map[string]any{"paths": []any{map[string]any{
			"path": "/", "pathType": "Prefix",
			"backend": map[string]any{"service": map[string]any{"name": svc, "port": map[string]any{"number": int64(port)}}},
		}}}}
	}
	var rules, hosts []any
	if e.DeckHost != "" {
		rules = append(rules, rule(e.DeckHost, "spin-deck", settingsPort(settings, "deck")))
		hosts = append(hosts, e.DeckHost)
	}
	if e.GateHost != "" {
		rules = append(rules, rule(e.GateHost, "spin-gate", settingsPort(settings, "gate")))
		hosts = append(hosts, e.GateHost)
	}
	spec := map[string]any{"rules": rules}
	if e.TLSSecret != "" && len(hosts) > 0 {
		spec["tls"] = []any{map[string]any{"hosts": hosts, "secretName": e.TLSSecret}}
	}
	ing := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	ing.SetAPIVersion("networking.k8s.io/v1")
	ing.SetKind("Ingress")
	ing.SetName(z.Name + "-spinnaker")
	ing.SetNamespace(z.Namespace)
	ing.SetLabels(zoneLabels(inst, z))
	ann := map[string]string{}
	for k, v := range e.Annotations {
		ann[k] = v
	}
	if len(e.SourceRanges) > 0 {
		ann[ingressSourceRangesAnnotation] = strings.Join(e.SourceRanges, ",")
	}
	if len(ann) > 0 {
		ing.SetAnnotations(ann)
	}
	return ing
}

func renderSecret(inst *Installation, z *Zone, name string, credentials map[string][]byte) *unstructured.Unstructured {
	data := map[string]any{}
	keys := make([]string, 0, len(credentials))
	for k := range credentials {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		data[k] = base64.StdEncoding.EncodeToString(credentials[k]) // binary-safe (a SAML keystore is a JKS file)
	}
	s := &unstructured.Unstructured{Object: map[string]any{"type": "Opaque", "data": data}}
	s.SetAPIVersion("v1")
	s.SetKind("Secret")
	s.SetName(name)
	s.SetNamespace(z.Namespace)
	s.SetLabels(zoneLabels(inst, z))
	return s
}

func baseService(name string) string {
	if i := strings.Index(name, "-"); i > 0 {
		return name[:i]
	}
	return name
}

func setIf(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

// mergeYAMLMap merges service → YAML documents into dst[service].
func mergeYAMLMap(dst map[string]any, src map[string]string, what string) error {
	keys := make([]string, 0, len(src))
	for k := range src {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m, err := parseYAMLObject(src[k])
		if err != nil {
			return fmt.Errorf("%s[%q]: %w", what, k, err)
		}
		cur, _ := dst[k].(map[string]any)
		if cur == nil {
			cur = map[string]any{}
		}
		deepMerge(cur, m)
		dst[k] = cur
	}
	return nil
}

// parseYAMLObject parses YAML that must be a mapping; empty input is an
// empty mapping.
func parseYAMLObject(s string) (map[string]any, error) {
	if strings.TrimSpace(s) == "" {
		return map[string]any{}, nil
	}
	j, err := yaml.YAMLToJSON([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	var v any
	if err := json.Unmarshal(j, &v); err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("must be a YAML mapping (key: value), not %T", v)
	}
	return m, nil
}

// ValidateYAMLObject reports whether s is a YAML mapping, for plan-time
// validation.
func ValidateYAMLObject(s string) error {
	_, err := parseYAMLObject(s)
	return err
}

// deepMerge merges src into dst: mappings merge key by key, anything else
// replaces.
func deepMerge(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				deepMerge(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

// normalize round-trips a value through JSON so that it holds only what
// JSON decodes to (numbers as float64), as an object read from the API
// server does once converted.
func normalize(m map[string]any) (map[string]any, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// halyardSelector is the selector of the Services Halyard makes for a
// service (app: spin, cluster: spin-<service>; armory/spinnaker-operator
// pkg/deploy/spindeploy/expose_service/testdata/service.yml, Halyard's
// output for spin-gate). The operator's own x509 Service is a copy of
// spin-gate's (pkg/deploy/spindeploy/x509/transform.go, createX509Service).
func halyardSelector(service string) map[string]any {
	return map[string]any{"app": "spin", "cluster": "spin-" + service}
}

// GateX509Port is the port of the x509 Service a zone of expose type
// aws-target-groups makes for Gate's x509 API (the gate profile's
// default.apiPort); the operator names its own x509 port the same
// (armory/spinnaker-operator pkg/util/constants.go, GateX509PortName).
const GateX509Port = "gate-x509"

// gateAPIPort reads default.apiPort from the merged gate profile (nested
// or as one dotted key), 0 when unset.
func gateAPIPort(profiles map[string]any) (int64, error) {
	gate, _ := profiles["gate"].(map[string]any)
	v, ok := gate["default.apiPort"]
	if !ok {
		d, _ := gate["default"].(map[string]any)
		v, ok = d["apiPort"]
	}
	if !ok {
		return 0, nil
	}
	var port int64
	switch n := v.(type) {
	case int:
		port = int64(n)
	case int64:
		port = n
	case float64:
		port = int64(n)
		if float64(port) != n {
			port = 0
		}
	case string:
		port, _ = strconv.ParseInt(n, 10, 32)
	}
	if port < 1 || port > 65535 {
		return 0, fmt.Errorf("the gate profile's default.apiPort %v is not a port", v)
	}
	return port, nil
}

// renderTargetGroupBindings renders one TargetGroupBinding per target
// group of expose type aws-target-groups: Deck's Service port 9000, Gate's
// 8084 (Halyard's ClusterIP Services: the operator makes no load balancer
// without spec.expose), and Gate's x509 API through a Service of the
// zone's own, since Halyard's spin-gate has one port and the operator makes
// its spin-gate-x509 only with spec.expose (pkg/deploy/spindeploy/x509/
// transform.go: TransformManifests returns when expose.type is empty).
func renderTargetGroupBindings(inst *Installation, z *Zone, profiles, settings map[string]any) ([]*unstructured.Unstructured, *unstructured.Unstructured, error) {
	tg := z.Expose.TargetGroups
	var out []*unstructured.Unstructured
	bind := func(key, arn, service string, port int64) {
		b := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{
			"targetGroupARN": arn,
			"targetType":     "ip",
			"serviceRef":     map[string]any{"name": service, "port": port},
		}}}
		b.SetGroupVersionKind(kube.TargetGroupBindingGVK)
		b.SetName(z.Name + "-" + key)
		b.SetNamespace(z.Namespace)
		b.SetLabels(zoneLabels(inst, z))
		out = append(out, b)
	}
	if tg.Deck != "" {
		bind("deck", tg.Deck, "spin-deck", int64(settingsPort(settings, "deck")))
	}
	if tg.Gate != "" {
		bind("gate", tg.Gate, "spin-gate", int64(settingsPort(settings, "gate")))
	}
	var x509 *unstructured.Unstructured
	if tg.GateX509 != "" {
		port, err := gateAPIPort(profiles)
		if err != nil {
			return nil, nil, err
		}
		if port == 0 {
			return nil, nil, fmt.Errorf("expose.target_groups.gate_x509 needs Gate listening for x509 clients on a port of its own: set default.apiPort in the gate profile " +
				"(with its server.ssl and x509 settings, Spinnaker's x509 authentication guide), or leave gate_x509 out")
		}
		name := z.Name + "-" + GateX509Port
		x509 = &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{
			"type":     "ClusterIP",
			"selector": halyardSelector("gate"),
			"ports":    []any{map[string]any{"name": GateX509Port, "protocol": "TCP", "port": port, "targetPort": port}},
		}}}
		x509.SetAPIVersion("v1")
		x509.SetKind("Service")
		x509.SetName(name)
		x509.SetNamespace(z.Namespace)
		x509.SetLabels(zoneLabels(inst, z))
		bind(GateX509Port, tg.GateX509, name, port)
	}
	return out, x509, nil
}
