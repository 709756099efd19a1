package spinnaker

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// Tiers of a zone.
const (
	// TierSandbox is the red zone: it proves upgrades and configuration first.
	TierSandbox = "sandbox"
	// TierProduction is the green zone: it only takes what a sandbox verified.
	TierProduction = "production"
)

// Exposure types of a zone.
const (
	ExposeService = "service"
	ExposeIngress = "ingress"
	// ExposeAWSTargetGroups registers Deck's and Gate's pods in the target
	// groups of load balancers made outside the cluster (modules/aws/edge)
	// with the AWS Load Balancer Controller's TargetGroupBindings; the
	// operator makes no load balancer of its own (no spec.expose).
	ExposeAWSTargetGroups = "aws-target-groups"
)

// ExposedServices are the services whose Services the Spinnaker Operator
// builds from spec.expose with type service, replacing their annotations
// with expose's (armory/spinnaker-operator pkg/deploy/spindeploy/
// expose_service/transform.go, ApplyExposeServiceConfig).
var ExposedServices = []string{"deck", "gate"}

// Installation is the shared configuration of one Spinnaker installation,
// inherited by every zone. It holds no secret values: those live in the
// installation's credentials Secret (see Credentials).
type Installation struct {
	// ID identifies the installation; it is the operator namespace.
	ID string `json:"id"`
	// Namespace is the operator namespace on the control cluster, where the
	// installation's ConfigMap, credentials Secret and ledger live.
	Namespace string `json:"namespace"`
	// SpinnakerVersion is the default version of new zones.
	SpinnakerVersion string          `json:"spinnakerVersion"`
	Persistence      *Persistence    `json:"persistence,omitempty"`
	SQL              *SQL            `json:"sql,omitempty"`
	Redis            *Redis          `json:"redis,omitempty"`
	Auth             *Auth           `json:"auth,omitempty"`
	Features         map[string]bool `json:"features,omitempty"`
	// Profiles are per-service profile YAML (service name → YAML).
	Profiles map[string]string `json:"profiles,omitempty"`
	// ServiceSettings are per-service service-settings YAML.
	ServiceSettings map[string]string `json:"serviceSettings,omitempty"`
	// ConfigOverrides is Halyard configuration YAML merged last.
	ConfigOverrides string    `json:"configOverrides,omitempty"`
	Promotion       Promotion `json:"promotion"`
	// Revision is the config_revision Terraform computed for this
	// configuration: a zone planned against a newer revision knows the
	// stored configuration is about to change.
	Revision string `json:"revision,omitempty"`
	// SecretVersions are the *_wo_version numbers the write-only secrets
	// were last written with (argument path → version; the secrets
	// themselves are never stored here), so an import reads them back.
	SecretVersions map[string]int64 `json:"secretVersions,omitempty"`
}

// Persistence is Front50's bucket: exactly one of S3 and GCS.
type Persistence struct {
	S3  *S3Persistence  `json:"s3,omitempty"`
	GCS *GCSPersistence `json:"gcs,omitempty"`
}

// S3Persistence is an S3 (or S3-compatible, e.g. MinIO through Endpoint)
// bucket.
type S3Persistence struct {
	Bucket     string `json:"bucket"`
	Region     string `json:"region,omitempty"`
	RootFolder string `json:"rootFolder,omitempty"`
	Endpoint   string `json:"endpoint,omitempty"`
	PathStyle  bool   `json:"pathStyle,omitempty"`
	// AssumeRoleARN is refused by Validate: the operator's Halyard has no
	// persistentStorage.s3.assumeRole (OPERATOR-CONTRACT.md). Kept so that
	// a stored installation that has it still reads.
	AssumeRoleARN string `json:"assumeRoleArn,omitempty"`
	AccessKeyID   string `json:"accessKeyId,omitempty"`
	// HasSecretAccessKey says the credentials Secret holds KeyS3SecretAccessKey.
	HasSecretAccessKey bool `json:"hasSecretAccessKey,omitempty"`
}

// GCSPersistence is a Google Cloud Storage bucket.
type GCSPersistence struct {
	Bucket     string `json:"bucket"`
	Project    string `json:"project,omitempty"`
	RootFolder string `json:"rootFolder,omitempty"`
}

// SQL is the MySQL-compatible database of Clouddriver, Orca and Front50.
type SQL struct {
	Endpoint       string `json:"endpoint"`
	ReaderEndpoint string `json:"readerEndpoint,omitempty"`
	Port           int64  `json:"port"`
	// Databases maps a service (clouddriver, orca, front50) to its schema.
	Databases map[string]string `json:"databases"`
	User      string            `json:"user"`
	// PasswordSecret, when set, is an existing Secret in the operator
	// namespace that holds the password; otherwise the credentials Secret
	// holds it under KeySQLPassword.
	PasswordSecret *SecretRef `json:"passwordSecret,omitempty"`
	// OrcaExecutionsFromRedis turns on Orca's own move of executions from
	// Redis to SQL (orcaFromRedisProfile) beside Databases["orca"].
	OrcaExecutionsFromRedis bool `json:"orcaExecutionsFromRedis,omitempty"`
}

// SecretRef names a key of a Secret.
type SecretRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// Redis is an external Redis.
type Redis struct {
	Endpoint string `json:"endpoint"`
}

// Auth is Gate's authentication: any of OAuth2, SAML and LDAP.
type Auth struct {
	OAuth2 *OAuth2 `json:"oauth2,omitempty"`
	SAML   *SAML   `json:"saml,omitempty"`
	LDAP   *LDAP   `json:"ldap,omitempty"`
}

// OAuth2 login; the client secret is in the credentials Secret.
type OAuth2 struct {
	Provider        string   `json:"provider"`
	ClientID        string   `json:"clientId"`
	Scopes          []string `json:"scopes,omitempty"`
	HasClientSecret bool     `json:"hasClientSecret,omitempty"`
}

// SAML login. Halyard's SamlValidator requires the keystore Gate signs
// with: KeyStoreSecret names the Secret in the operator namespace holding
// the JKS file, the credentials Secret holds its password
// (KeySAMLKeyStorePassword), KeyStoreAliasName names the key in it.
type SAML struct {
	MetadataURL         string     `json:"metadataUrl"`
	IssuerID            string     `json:"issuerId"`
	ServiceAddress      string     `json:"serviceAddress,omitempty"`
	KeyStoreSecret      *SecretRef `json:"keyStoreSecret,omitempty"`
	KeyStoreAliasName   string     `json:"keyStoreAliasName,omitempty"`
	HasKeyStorePassword bool       `json:"hasKeyStorePassword,omitempty"`
}

// Validate reports what Halyard's SamlValidator would refuse.
func (s *SAML) Validate() error {
	var missing []string
	if s.MetadataURL == "" {
		missing = append(missing, "metadata_url")
	}
	if s.IssuerID == "" {
		missing = append(missing, "issuer_id")
	}
	if s.KeyStoreSecret == nil || s.KeyStoreSecret.Name == "" || s.KeyStoreSecret.Key == "" {
		missing = append(missing, "keystore_secret { name, key }")
	}
	if !s.HasKeyStorePassword {
		missing = append(missing, "keystore_password_wo")
	}
	if s.KeyStoreAliasName == "" {
		missing = append(missing, "keystore_alias_name")
	}
	if len(missing) > 0 {
		return fmt.Errorf("SAML needs %s: Halyard refuses SAML without keyStore, keyStorePassword and keyStoreAliasName", strings.Join(missing, ", "))
	}
	return nil
}

// HalyardFeatures are the flags of Halyard's `features` node (the fields
// of halyard-config/.../config/model/v1/node/Features.java); Halyard parses
// the node strictly, so no other key may be rendered under `features`.
var HalyardFeatures = []string{"auth", "chaos", "entityTags", "fiat", "jobs", "pipelineTemplates"}

// FeatureCanary is spinops' own flag, not a Halyard feature: it renders
// `canary.enabled: true` (Halyard's canary node), which runs Kayenta.
const FeatureCanary = "canary"

// ValidateFeatures refuses feature flags Halyard does not have.
func ValidateFeatures(features map[string]bool) error {
	var bad []string
	for k := range features {
		if k == FeatureCanary || slices.Contains(HalyardFeatures, k) {
			continue
		}
		bad = append(bad, k)
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return fmt.Errorf("unknown feature flag(s) %s: Halyard's features are %s, and %q turns on Kayenta (canary.enabled); "+
		"`artifacts` is obsolete (artifacts are always on). Set other Halyard keys through config_overrides",
		strings.Join(bad, ", "), strings.Join(HalyardFeatures, ", "), FeatureCanary)
}

// LDAP login; the manager password is in the credentials Secret.
type LDAP struct {
	URL                string `json:"url"`
	UserDNPattern      string `json:"userDnPattern,omitempty"`
	UserSearchBase     string `json:"userSearchBase,omitempty"`
	UserSearchFilter   string `json:"userSearchFilter,omitempty"`
	ManagerDN          string `json:"managerDn,omitempty"`
	HasManagerPassword bool   `json:"hasManagerPassword,omitempty"`
}

// Promotion is the policy production zones follow.
type Promotion struct {
	// Soak is how long a version must have been verified in a sandbox zone
	// before a production zone may take it.
	Soak Duration `json:"soak"`
	// RequireVerification: when false, having been applied to a sandbox
	// zone at least Soak ago is enough.
	RequireVerification bool `json:"requireVerification"`
	// MinSandboxAvailability, when > 0, also requires every sandbox zone
	// that ran the version to have kept at least this availability (as
	// the spinops monitor measured it) since it took the version.
	MinSandboxAvailability float64 `json:"minSandboxAvailability,omitempty"`
}

// Duration is a time.Duration that reads and writes as "24h0m0s".
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Zone is one Spinnaker instance of an installation.
type Zone struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Tier      string `json:"tier"`
	// Version is the Spinnaker version; empty means the installation's.
	Version string  `json:"version,omitempty"`
	HA      *HA     `json:"ha,omitempty"`
	Expose  *Expose `json:"expose,omitempty"`
	// Profiles, ServiceSettings and ConfigOverrides are merged over the
	// installation's.
	Profiles        map[string]string `json:"profiles,omitempty"`
	ServiceSettings map[string]string `json:"serviceSettings,omitempty"`
	ConfigOverrides string            `json:"configOverrides,omitempty"`
	// Policy is how the zone is operated; it is stored with the zone's
	// settings (not in the spec) so that an imported zone keeps it.
	Policy *ZonePolicy `json:"policy,omitempty"`
}

// ZonePolicy is how changes to a zone are carried out.
type ZonePolicy struct {
	Wait               bool `json:"wait"`
	RollbackOnFailure  bool `json:"rollbackOnFailure"`
	DeletionProtection bool `json:"deletionProtection"`
}

// HA runs Spinnaker highly available.
type HA struct {
	Enabled bool `json:"enabled"`
	// ClouddriverSplit runs Clouddriver as caching / rw / ro / ro-deck, the
	// read-only ones on the SQL read replica.
	ClouddriverSplit bool `json:"clouddriverSplit"`
	// Replicas of every horizontally scalable service.
	Replicas int64 `json:"replicas"`
	// ZoneSpread is how every service with at least two replicas is spread
	// over the availability zones: ZoneSpreadRequired (also when empty) or
	// ZoneSpreadPreferred (see SpreadConstraints).
	ZoneSpread string `json:"zoneSpread,omitempty"`
}

// Expose makes Deck and Gate (and nothing else) reachable by users.
type Expose struct {
	Type         string            `json:"type"`
	DeckHost     string            `json:"deckHost,omitempty"`
	GateHost     string            `json:"gateHost,omitempty"`
	TLSSecret    string            `json:"tlsSecret,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	SourceRanges []string          `json:"sourceRanges,omitempty"`
	// TargetGroups are the IP target groups of type aws-target-groups.
	TargetGroups *TargetGroups `json:"targetGroups,omitempty"`
}

// TargetGroups are the ARNs of IP target groups (modules/aws/edge's
// target_group_arns) the zone's pods are registered in; empty: none.
type TargetGroups struct {
	Deck string `json:"deck,omitempty"`
	Gate string `json:"gate,omitempty"`
	// GateX509 takes Gate's x509 API port (the gate profile's
	// default.apiPort), through a Service the zone makes for it.
	GateX509 string `json:"gateX509,omitempty"`
}

// TargetGroupARN is an Elastic Load Balancing target group's ARN (any
// partition).
var TargetGroupARN = regexp.MustCompile(`^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}$`)

// URLs are Deck's and Gate's URLs as users reach them ("" for a host not
// given): https with a TLS Secret, or behind the load balancers of type
// aws-target-groups (modules/aws/edge's certificate); Gate on 8084 behind
// the operator's plain-HTTP load balancer. They are the services' base URLs
// and what verification through the exposed URLs calls.
func (e *Expose) URLs() (deck, gate string) {
	scheme := "http://"
	if e.TLSSecret != "" || e.Type == ExposeAWSTargetGroups {
		scheme = "https://"
	}
	if e.DeckHost != "" {
		deck = scheme + e.DeckHost
	}
	if e.GateHost != "" {
		gate = scheme + e.GateHost
		if e.Type == ExposeService && e.TLSSecret == "" {
			gate += ":8084"
		}
	}
	return deck, gate
}

func (e *Expose) validate() error {
	switch e.Type {
	case ExposeService, ExposeIngress:
		if e.TargetGroups != nil {
			return fmt.Errorf("expose.target_groups is for expose type %q (target groups of load balancers made outside the cluster); with type %q the %s makes the load balancer: remove target_groups",
				ExposeAWSTargetGroups, e.Type, map[string]string{ExposeService: "Spinnaker Operator", ExposeIngress: "ingress controller"}[e.Type])
		}
	case ExposeAWSTargetGroups:
		tg := e.TargetGroups
		if tg == nil || tg.Deck == "" && tg.Gate == "" && tg.GateX509 == "" {
			return fmt.Errorf("expose type %q needs target_groups: the ARNs of the IP target groups to register Deck's and Gate's pods in (modules/aws/edge's output target_group_arns: deck, gate, gate_x509)",
				ExposeAWSTargetGroups)
		}
		for _, f := range []struct{ name, arn string }{{"deck", tg.Deck}, {"gate", tg.Gate}, {"gate_x509", tg.GateX509}} {
			if f.arn != "" && !TargetGroupARN.MatchString(f.arn) {
				return fmt.Errorf("expose.target_groups.%s %q is not a target group ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID)", f.name, f.arn)
			}
		}
		if e.TLSSecret != "" || len(e.Annotations) > 0 || len(e.SourceRanges) > 0 {
			return fmt.Errorf("with expose type %q the load balancers are made outside the cluster (modules/aws/edge): TLS is their certificate and who may connect their security groups, "+
				"and no Service or Ingress is made to annotate; remove tls_secret, annotations and source_ranges", ExposeAWSTargetGroups)
		}
	default:
		return fmt.Errorf("expose.type %q must be %q, %q or %q", e.Type, ExposeService, ExposeIngress, ExposeAWSTargetGroups)
	}
	return nil
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// Validate checks the zone's shape.
func (z *Zone) Validate() error {
	if !dnsLabel.MatchString(z.Name) || len(z.Name) > 40 {
		return fmt.Errorf("zone name %q must be a DNS label of at most 40 characters", z.Name)
	}
	if !dnsLabel.MatchString(z.Namespace) || len(z.Namespace) > 63 {
		return fmt.Errorf("namespace %q must be a DNS label", z.Namespace)
	}
	if z.Tier != TierSandbox && z.Tier != TierProduction {
		return fmt.Errorf("tier %q must be %q or %q", z.Tier, TierSandbox, TierProduction)
	}
	if z.HA != nil && z.HA.ZoneSpread != "" && !slices.Contains(ZoneSpreads, z.HA.ZoneSpread) {
		return fmt.Errorf("ha.zone_spread %q must be %q (replicas only where they stay spread over the availability zones) or %q (spread when possible)",
			z.HA.ZoneSpread, ZoneSpreadRequired, ZoneSpreadPreferred)
	}
	if z.Expose != nil {
		return z.Expose.validate()
	}
	return nil
}

// EffectiveVersion is the version the zone runs: its own or the
// installation's default.
func (z *Zone) EffectiveVersion(inst *Installation) string {
	if z.Version != "" {
		return z.Version
	}
	return inst.SpinnakerVersion
}
