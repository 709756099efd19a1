package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/float64validator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
)

func (r *managedSpinnakerResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	optStr := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Optional: true, MarkdownDescription: desc}
	}
	writeOnly := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Optional: true, WriteOnly: true, Sensitive: true, MarkdownDescription: desc +
			" Write-only: never stored in state or plan; change the matching `_version` to write a new value."}
	}
	// optional: a secret the installation may go without (planKeepsSecrets).
	woVersion := func(of string, optional bool) schema.Int64Attribute {
		desc := "Change this number to write a new `" + of + "` (Terraform cannot see write-only values change). " +
			"Recorded in the stored installation, so an import reads it back."
		if optional {
			desc += " An update whose configuration drops the `" + of + "` the installation uses, with this number unchanged, is refused at " +
				"plan time (the zones would silently stop using it); change the number to drop it."
		}
		return schema.Int64Attribute{Optional: true, MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "One Spinnaker installation on a control cluster: the Spinnaker Operator (its CRDs " +
			"`spinnaker.io/v1alpha2` SpinnakerService and SpinnakerAccount, RBAC and Deployment, from manifests embedded in the provider), " +
			"the configuration every `spinops_zone` inherits, the promotion policy production zones follow, and the promotion ledger " +
			"(ConfigMap `" + spinnaker.LedgerName + "` in the operator namespace) recording what each zone runs and verified.\n\n" +
			"Secrets (`password_wo`, `secret_access_key_wo`, `client_secret_wo`, `manager_password_wo`) are write-only arguments: they go to " +
			"the Secret `" + spinnaker.InstallationCredentials + "` in the operator namespace and from there to each zone's own Secret, " +
			"referenced from the SpinnakerService as `encrypted:k8s!n:<secret>!k:<key>`; they never reach Terraform state or the custom resource.\n\n" +
			"Changes to the shared configuration reach the zones on their next plan (each zone compares the SpinnakerService it would render with the one in the cluster). " +
			"The configuration is stored as JSON in the ConfigMap `" + spinnaker.InstallationConfigMap + "` in the operator namespace; " +
			"Terraform reads it back on every refresh, so an edit made there shows as a change in the next plan and applying puts it back. " +
			"The operator's own objects (with `operator.install`) are compared on every refresh too: one scaled to 0, deleted, given another image or " +
			"more permissions by hand is listed in `drifted_objects` and put back by the next apply.\n\n" +
			"**Import** by the operator namespace (the resource's `id`), through the provider's own `kubernetes` connection. " +
			"Everything is read back from the stored installation, `config_revision` and the `*_wo_version` numbers the secrets were last written " +
			"with included, except what it never stores: the write-only secrets (`*_wo`) stay in the cluster and null in state, and so do a " +
			"`kubernetes` override block and `timeouts`. An installation stored before the versions were recorded leaves them null: the first " +
			"apply after its import sets them from the configuration and writes its secrets again.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The installation's id: its operator namespace. Zones refer to it as `managed_spinnaker_id`.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"spinnaker_version": schema.StringAttribute{Required: true, MarkdownDescription: "The Spinnaker version new zones run unless they set their own, e.g. `1.35.3`.",
				Validators: []validator.String{validators.SpinnakerVersion()}},
			"features": schema.MapAttribute{Optional: true, ElementType: types.BoolType, MarkdownDescription: "Halyard `features` flags, e.g. `{ pipelineTemplates = true }`: one of `" + strings.Join(spinnaker.HalyardFeatures, "`, `") +
				"` (Halyard refuses any other key under `features`), or `canary = true`, which renders Halyard's `canary.enabled` and runs Kayenta. Checked at plan time."},
			"profiles": schema.MapAttribute{Optional: true, ElementType: types.StringType, Validators: []validator.Map{validators.YAMLMappings()},
				MarkdownDescription: "Per-service profile YAML (service name → YAML mapping), e.g. `{ gate = yamlencode({...}) }`. Zones merge their own over these."},
			"service_settings": schema.MapAttribute{Optional: true, ElementType: types.StringType, Validators: []validator.Map{validators.YAMLMappings()},
				MarkdownDescription: "Per-service service-settings YAML (service name → YAML mapping), for every zone; a zone's " +
					"`service_settings` are merged over them (see `spinops_zone`, also for the global key `spinnaker`)."},
			"config_overrides": schema.StringAttribute{Optional: true, Validators: []validator.String{validators.YAMLMapping()},
				MarkdownDescription: "Halyard configuration YAML merged last, over everything spinops renders (it may not set `version`)."},
			"config_revision": schema.StringAttribute{Computed: true,
				MarkdownDescription: "A hash of the shared configuration (version, persistence, SQL, Redis, auth, features, profiles, service settings, " +
					"overrides, and the versions of the write-only secrets). Pass it to each zone's `config_revision`, so that a change here updates " +
					"the zones in the same apply."},
			"verified_versions": schema.MapAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "From the promotion ledger: each version a sandbox zone verified → the earliest verification time (RFC 3339)."},
			"drifted_objects": driftedObjectsAttribute("Spinnaker Operator's objects this resource installs (with `operator.install`: its ServiceAccount, "+
				"ClusterRole and ClusterRoleBinding — Role and RoleBinding without `cluster_wide` — and Deployment)",
				"An operator scaled to 0 or deleted (zones then never reconcile), given another image, or granted more by hand is drift. The CRDs "+
					"are not compared: every installation on a cluster shares them. Without `operator.install` the list stays empty."),
		},
		Blocks: map[string]schema.Block{
			"kubernetes": resourceKubernetesBlock(),
			"operator": schema.SingleNestedBlock{
				MarkdownDescription: "The Spinnaker Operator. Without this block it is installed with the defaults below.",
				Attributes: map[string]schema.Attribute{
					"install": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
						MarkdownDescription: "Apply the CRDs, RBAC and Deployment. `false` when the operator is managed elsewhere (the namespace is still used for the ledger). Turning it off later leaves the operator in place."},
					"namespace": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(defaultOperatorNamespace),
						Validators:          []validator.String{validators.NamespaceName()},
						MarkdownDescription: "The operator namespace; it holds the installation's configuration, credentials and promotion ledger. Changing it replaces the installation. Defaults to `" + defaultOperatorNamespace + "`."},
					"image": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(defaultOperatorImage),
						MarkdownDescription: "The operator image without tag. Defaults to `" + defaultOperatorImage + "`."},
					"version": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(defaultOperatorVersion),
						MarkdownDescription: "The operator image tag: one of `" + strings.Join(spinnaker.SupportedOperatorVersions(), "`, `") + "` (see the operator guide for the Halyard image of each), " +
							"or another release together with its `halyard_image`. Defaults to `" + defaultOperatorVersion + "`."},
					"halyard_image": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(defaultHalyardImage),
						MarkdownDescription: "The Halyard sidecar image (with tag) of the operator release: each release runs its own (the `halyard-version` file at its tag). " +
							"Defaults to `" + defaultHalyardImage + "`, the one of releases 1.3.1 and 1.4.0; required for an operator version spinops does not know."},
					"cluster_wide": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
						MarkdownDescription: "Run the operator in cluster mode: it reconciles SpinnakerServices in every namespace (ClusterRole) and validates them with its admission webhook. " +
							"`false` runs it in basic mode, which reconciles only the operator's own namespace (`WATCH_NAMESPACE`): every zone must then live in `namespace` (a zone elsewhere is refused at plan time). " +
							"A cluster runs at most one cluster-wide operator: installing one next to another operator is refused."},
					"wait": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
						MarkdownDescription: "Wait for the operator's Deployment to be available. Skipped (with a warning) on a cluster without any Node, where no pod can run."},
				},
			},
			"persistence": schema.SingleNestedBlock{
				MarkdownDescription: "Front50's bucket: set `s3` (AWS S3, or MinIO through `endpoint`) or `gcs`.",
				Blocks: map[string]schema.Block{
					"s3": schema.SingleNestedBlock{
						Validators: []validator.Object{validators.ConflictsWithBlock(path.MatchRelative().AtParent().AtName("gcs"))},
						Attributes: map[string]schema.Attribute{
							"bucket":                       optStr("The bucket name (required in this block)."),
							"region":                       optStr("The bucket's region."),
							"root_folder":                  optStr("The prefix under which Front50 stores its objects."),
							"endpoint":                     optStr("An S3-compatible endpoint, e.g. MinIO's `http://minio.minio:9000`."),
							"path_style":                   schema.BoolAttribute{Optional: true, MarkdownDescription: "Use path-style addressing (MinIO)."},
							"assume_role_arn":              optStr("Not supported: the Spinnaker Operator's Halyard has no `persistentStorage.s3.assumeRole` key, so setting it is refused at plan time. Give Front50's service account an IAM role (IRSA) instead."),
							"access_key_id":                optStr("A static access key id (MinIO); prefer IRSA / `assume_role_arn` on AWS."),
							"secret_access_key_wo":         writeOnly("The secret key of `access_key_id`."),
							"secret_access_key_wo_version": woVersion("secret_access_key_wo", true),
						},
						MarkdownDescription: "An S3 or S3-compatible bucket.",
					},
					"gcs": schema.SingleNestedBlock{
						MarkdownDescription: "A Google Cloud Storage bucket.",
						Attributes: map[string]schema.Attribute{
							"bucket":      optStr("The bucket name (required in this block)."),
							"project":     optStr("The bucket's project."),
							"root_folder": optStr("The prefix under which Front50 stores its objects."),
						},
					},
				},
			},
			"sql": schema.SingleNestedBlock{
				MarkdownDescription: "The MySQL-compatible database of Clouddriver, Orca and Front50. With zone HA and `clouddriver_split`, the read-only Clouddrivers use `reader_endpoint`.",
				Attributes: map[string]schema.Attribute{
					"endpoint":        optStr("The primary's host name (required in this block)."),
					"reader_endpoint": optStr("The read replicas' host name."),
					"port":            schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(3306), MarkdownDescription: "The port. Defaults to 3306."},
					"databases": schema.MapAttribute{Optional: true, ElementType: types.StringType,
						MarkdownDescription: "Service (`clouddriver`, `orca`, `front50`) → schema name. Services left out do not use SQL."},
					"user":                optStr("The database user."),
					"password_wo":         writeOnly("The database password."),
					"password_wo_version": woVersion("password_wo", false),
					"orca_executions_from_redis": schema.BoolAttribute{Optional: true, MarkdownDescription: "For a move from an Orca that kept " +
						"its executions in Redis: the zones' Orca reads every execution it does not find in SQL from its Redis and moves the finished " +
						"ones into the `orca` database itself (Orca's DualExecutionRepository and its pipeline and orchestration migration agents, " +
						"hourly, as Orca's Redis-to-SQL guide configures them). Needs `databases.orca`. Copy the old executions into the zones' " +
						"Redis first (`spinops migrate data --from-redis ... --to-redis ...`); remove this once `spinops migrate orca-status` " +
						"says nothing Orca will move is left. See docs/migration.md."},
				},
				Blocks: map[string]schema.Block{
					"password_secret": schema.SingleNestedBlock{
						MarkdownDescription: "An existing Secret in the operator namespace holding the password, instead of `password_wo`.",
						Attributes: map[string]schema.Attribute{
							"name": optStr("The Secret's name."),
							"key":  optStr("The key holding the password."),
						},
					},
				},
			},
			"redis": schema.SingleNestedBlock{
				MarkdownDescription: "An external Redis instead of the one the operator would run.",
				Attributes: map[string]schema.Attribute{"endpoint": schema.StringAttribute{Optional: true,
					MarkdownDescription: "`host:port`, a `redis://` URL, or a `rediss://` URL for a Redis that requires TLS (ElastiCache with " +
						"transit encryption). No user or password: they would be stored in state and in the SpinnakerService; " +
						"restrict access by network instead (`modules/aws/redis`, `modules/gcp/redis`).",
					Validators: []validator.String{validators.RedisEndpoint()}}},
			},
			"auth": schema.SingleNestedBlock{
				MarkdownDescription: "Gate's authentication (any turns Fiat on).",
				Blocks: map[string]schema.Block{
					"oauth2": schema.SingleNestedBlock{
						MarkdownDescription: "OAuth2 login.",
						Attributes: map[string]schema.Attribute{
							"provider":                 optStr("`github`, `google`, `azure` or `oracle`."),
							"client_id":                optStr("The OAuth2 client id."),
							"scopes":                   schema.ListAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: "Scopes to request."},
							"client_secret_wo":         writeOnly("The OAuth2 client secret."),
							"client_secret_wo_version": woVersion("client_secret_wo", true),
						},
					},
					"saml": schema.SingleNestedBlock{
						MarkdownDescription: "SAML login. Halyard refuses SAML without the keystore Gate signs with, so `keystore_secret`, " +
							"`keystore_password_wo` and `keystore_alias_name` are required with `metadata_url` and `issuer_id`.",
						Attributes: map[string]schema.Attribute{
							"metadata_url":                 optStr("The identity provider's metadata URL."),
							"issuer_id":                    optStr("The issuer id registered with the identity provider."),
							"service_address":              optStr("Gate's externally reachable URL."),
							"keystore_alias_name":          optStr("The alias of Gate's signing key in the keystore (Halyard `keyStoreAliasName`)."),
							"keystore_password_wo":         writeOnly("The keystore's password (Halyard `keyStorePassword`)."),
							"keystore_password_wo_version": woVersion("keystore_password_wo", false),
						},
						Blocks: map[string]schema.Block{
							"keystore_secret": schema.SingleNestedBlock{
								MarkdownDescription: "An existing Secret in the operator namespace holding the JKS keystore (Halyard `keyStore`); " +
									"it is copied into each zone's credentials Secret and referenced as `encryptedFile:k8s!n:<secret>!k:" + spinnaker.KeySAMLKeyStore + "`.",
								Attributes: map[string]schema.Attribute{
									"name": optStr("The Secret's name."),
									"key":  optStr("The key holding the keystore file."),
								},
							},
						},
					},
					"ldap": schema.SingleNestedBlock{
						MarkdownDescription: "LDAP login.",
						Attributes: map[string]schema.Attribute{
							"url":                         optStr("`ldaps://host:636/dc=example,dc=com`."),
							"user_dn_pattern":             optStr("e.g. `uid={0},ou=people`."),
							"user_search_base":            optStr("Where to search for users."),
							"user_search_filter":          optStr("e.g. `(uid={0})`."),
							"manager_dn":                  optStr("The bind DN for searches."),
							"manager_password_wo":         writeOnly("The bind DN's password."),
							"manager_password_wo_version": woVersion("manager_password_wo", true),
						},
					},
				},
			},
			"promotion": schema.SingleNestedBlock{
				MarkdownDescription: "The policy production zones follow. Without this block: `soak = \"24h\"`, `require_verification = true`.",
				Attributes: map[string]schema.Attribute{
					"soak": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(defaultSoak), Validators: []validator.String{validators.Duration()},
						MarkdownDescription: "How long a version must have been verified in a sandbox zone before a production zone may plan it (Go duration, e.g. `24h`, `30m`)."},
					"require_verification": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
						MarkdownDescription: "Require a passed verification; `false` accepts a version applied to a sandbox zone at least `soak` ago."},
					"min_sandbox_availability": schema.Float64Attribute{Optional: true,
						MarkdownDescription: "Also require health: every sandbox zone that ran the version must have kept at least this availability since it took it " +
							"(e.g. `0.999`), as a `spinops_monitor` checking the sandbox measured it. A version whose red zone burned its budget during the soak, " +
							"or that no monitor measured, is refused with the figures; `promotion_override` lets it through (recorded).",
						Validators: []validator.Float64{float64validator.Between(0.5, 1)}},
				},
			},
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *managedSpinnakerResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m managedSpinnakerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	need := func(p path.Path, v types.String, what string) {
		if v.IsNull() {
			resp.Diagnostics.AddAttributeError(p, "Missing "+what, p.String()+" is required in this block.")
		}
	}
	if p := m.Persistence; p != nil {
		if p.S3 == nil && p.GCS == nil {
			resp.Diagnostics.AddAttributeError(path.Root("persistence"), "Missing bucket", "persistence needs an s3 or a gcs block.")
		}
		if p.S3 != nil {
			need(path.Root("persistence").AtName("s3").AtName("bucket"), p.S3.Bucket, "bucket")
		}
		if p.GCS != nil {
			need(path.Root("persistence").AtName("gcs").AtName("bucket"), p.GCS.Bucket, "bucket")
		}
	}
	if s := m.SQL; s != nil {
		sp := path.Root("sql")
		need(sp.AtName("endpoint"), s.Endpoint, "endpoint")
		need(sp.AtName("user"), s.User, "user")
		if s.PasswordSecret.set() && !s.PasswordWO.IsNull() && !s.PasswordWO.IsUnknown() {
			resp.Diagnostics.AddAttributeError(sp.AtName("password_wo"), "Conflicting SQL password", "Set password_wo or password_secret, not both.")
		}
		if s.PasswordSecret == nil && s.PasswordWO.IsNull() && !s.PasswordWO.IsUnknown() {
			resp.Diagnostics.AddAttributeError(sp.AtName("password_wo"), "Missing SQL password", "Set password_wo (write-only) or password_secret { name, key }.")
		}
		if s.PasswordSecret != nil {
			need(sp.AtName("password_secret").AtName("name"), s.PasswordSecret.Name, "name")
			need(sp.AtName("password_secret").AtName("key"), s.PasswordSecret.Key, "key")
		}
		if !s.Databases.IsNull() && !s.Databases.IsUnknown() {
			for k := range s.Databases.Elements() {
				if k != "clouddriver" && k != "orca" && k != "front50" {
					resp.Diagnostics.AddAttributeError(sp.AtName("databases"), "Unknown service", fmt.Sprintf("databases key %q: must be clouddriver, orca or front50.", k))
				}
			}
		}
		if s.OrcaExecutionsFromRedis.ValueBool() && !s.Databases.IsUnknown() {
			if _, ok := s.Databases.Elements()["orca"]; !ok {
				resp.Diagnostics.AddAttributeError(sp.AtName("orca_executions_from_redis"), "No orca database",
					"orca_executions_from_redis makes Orca move its executions from Redis into its SQL database, but sql.databases names none for orca: "+
						"add orca = \"<schema>\" to databases, or leave orca_executions_from_redis out.")
			}
		}
	}
	if a := m.Auth; a != nil && a.OAuth2 != nil {
		need(path.Root("auth").AtName("oauth2").AtName("client_id"), a.OAuth2.ClientID, "client_id")
		need(path.Root("auth").AtName("oauth2").AtName("provider"), a.OAuth2.Provider, "provider")
	}
	if a := m.Auth; a != nil && a.LDAP != nil {
		need(path.Root("auth").AtName("ldap").AtName("url"), a.LDAP.URL, "url")
	}
	if a := m.Auth; a != nil && a.SAML != nil {
		sp := path.Root("auth").AtName("saml")
		need(sp.AtName("metadata_url"), a.SAML.MetadataURL, "metadata_url")
		need(sp.AtName("issuer_id"), a.SAML.IssuerID, "issuer_id")
		const why = " Halyard's SAML validator refuses SAML without keyStore, keyStorePassword and keyStoreAliasName, so the operator would refuse the zones."
		if a.SAML.KeyStoreSecret == nil {
			resp.Diagnostics.AddAttributeError(sp.AtName("keystore_secret"), "Missing SAML keystore", "Set keystore_secret { name, key }: a Secret in the operator namespace holding Gate's JKS keystore."+why)
		} else {
			need(sp.AtName("keystore_secret").AtName("name"), a.SAML.KeyStoreSecret.Name, "name")
			need(sp.AtName("keystore_secret").AtName("key"), a.SAML.KeyStoreSecret.Key, "key")
		}
		if a.SAML.KeyStorePasswordWO.IsNull() && !a.SAML.KeyStorePasswordWO.IsUnknown() {
			resp.Diagnostics.AddAttributeError(sp.AtName("keystore_password_wo"), "Missing SAML keystore password", "Set keystore_password_wo (write-only)."+why)
		}
		if a.SAML.KeyStoreAliasName.IsNull() {
			resp.Diagnostics.AddAttributeError(sp.AtName("keystore_alias_name"), "Missing SAML keystore alias", "Set keystore_alias_name: the alias of Gate's signing key in the keystore."+why)
		}
	}
	if p := m.Persistence; p != nil && p.S3 != nil && !p.S3.AssumeRoleARN.IsNull() && !p.S3.AssumeRoleARN.IsUnknown() {
		resp.Diagnostics.AddAttributeError(path.Root("persistence").AtName("s3").AtName("assume_role_arn"), "Not supported by the operator's Halyard",
			"The Spinnaker Operator's Halyard has no persistentStorage.s3.assumeRole key and refuses a configuration that has it. "+
				"Give Front50's service account an IAM role instead (IRSA), or set Front50's own S3 settings through profiles.front50.")
	}
	if !m.Features.IsNull() && !m.Features.IsUnknown() {
		features := map[string]bool{}
		resp.Diagnostics.Append(m.Features.ElementsAs(ctx, &features, false)...)
		if err := spinnaker.ValidateFeatures(features); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("features"), "Unknown Halyard feature flag", err.Error())
		}
	}
	if o := m.Operator; o != nil && !o.Version.IsUnknown() && !o.HalyardImage.IsUnknown() {
		version := defaultOperatorVersion
		if !o.Version.IsNull() {
			version = o.Version.ValueString()
		}
		if err := spinnaker.CheckOperatorVersion(version, !o.HalyardImage.IsNull()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("operator").AtName("version"), "Unknown operator version", err.Error())
		}
	}
	if !m.SpinnakerVersion.IsNull() && !m.SpinnakerVersion.IsUnknown() {
		version := defaultOperatorVersion
		if o := m.Operator; o != nil && !o.Version.IsNull() && !o.Version.IsUnknown() {
			version = o.Version.ValueString()
		}
		if err := spinnaker.CheckSpinnakerVersion(version, m.SpinnakerVersion.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("spinnaker_version"), "Spinnaker version not deployable by the operator", err.Error())
		}
	}
}
