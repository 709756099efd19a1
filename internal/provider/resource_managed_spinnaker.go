package provider

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/objectvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
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
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
)

var (
	_ resource.ResourceWithConfigure      = &managedSpinnakerResource{}
	_ resource.ResourceWithModifyPlan     = &managedSpinnakerResource{}
	_ resource.ResourceWithValidateConfig = &managedSpinnakerResource{}
	_ resource.ResourceWithImportState    = &managedSpinnakerResource{}
)

func newManagedSpinnakerResource() resource.Resource {
	return &managedSpinnakerResource{}
}

// defaultHalyardImage is the Halyard sidecar of the default operator
// release (spinnaker.OperatorReleases, the one table).
var defaultHalyardImage, _ = spinnaker.HalyardImageFor(defaultOperatorVersion)

type managedSpinnakerResource struct {
	data *providerData
}

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
}

type secretRefModel struct {
	Name types.String `tfsdk:"name"`
	Key  types.String `tfsdk:"key"`
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
	Soak                types.String `tfsdk:"soak"`
	RequireVerification types.Bool   `tfsdk:"require_verification"`
}

func (r *managedSpinnakerResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_managed_spinnaker"
}

var spinYAMLValidator = spinYAMLMappingValidator{}

func (r *managedSpinnakerResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	optStr := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Optional: true, MarkdownDescription: desc}
	}
	writeOnly := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Optional: true, WriteOnly: true, Sensitive: true, MarkdownDescription: desc +
			" Write-only: never stored in state or plan; change the matching `_version` to write a new value."}
	}
	woVersion := func(of string) schema.Int64Attribute {
		return schema.Int64Attribute{Optional: true, MarkdownDescription: "Change this number to write a new `" + of + "` (Terraform cannot see write-only values change)."}
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
			"Terraform reads it back on every refresh, so an edit made there shows as a change in the next plan and applying puts it back.\n\n" +
			"**Import** by the operator namespace (the resource's `id`), through the provider's own `kubernetes` connection. " +
			"Everything is read back from the stored installation except what it never stores: the write-only secrets (`*_wo`) and their " +
			"`*_wo_version` numbers stay null, and so do a `kubernetes` override block and `timeouts`. The secrets stay in the cluster; " +
			"the first apply after an import sets the `*_wo_version` numbers from the configuration and writes its secrets again.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The installation's id: its operator namespace. Zones refer to it as `managed_spinnaker_id`.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"spinnaker_version": schema.StringAttribute{Required: true, MarkdownDescription: "The Spinnaker version new zones run unless they set their own, e.g. `1.35.3`.",
				Validators: []validator.String{stringvalidator.RegexMatches(spinVersionRegexp, "must be a Spinnaker version such as 1.35.3")}},
			"features": schema.MapAttribute{Optional: true, ElementType: types.BoolType, MarkdownDescription: "Halyard `features` flags, e.g. `{ pipelineTemplates = true }`: one of `" + strings.Join(spinnaker.HalyardFeatures, "`, `") +
				"` (Halyard refuses any other key under `features`), or `canary = true`, which renders Halyard's `canary.enabled` and runs Kayenta. Checked at plan time."},
			"profiles": schema.MapAttribute{Optional: true, ElementType: types.StringType, Validators: []validator.Map{spinYAMLValidator},
				MarkdownDescription: "Per-service profile YAML (service name → YAML mapping), e.g. `{ gate = yamlencode({...}) }`. Zones merge their own over these."},
			"service_settings": schema.MapAttribute{Optional: true, ElementType: types.StringType, Validators: []validator.Map{spinYAMLValidator},
				MarkdownDescription: "Per-service service-settings YAML (service name → YAML mapping)."},
			"config_overrides": schema.StringAttribute{Optional: true, Validators: []validator.String{spinYAMLValidator},
				MarkdownDescription: "Halyard configuration YAML merged last, over everything spinops renders (it may not set `version`)."},
			"config_revision": schema.StringAttribute{Computed: true,
				MarkdownDescription: "A hash of the shared configuration (version, persistence, SQL, Redis, auth, features, profiles, service settings, " +
					"overrides, and the versions of the write-only secrets). Pass it to each zone's `config_revision`, so that a change here updates " +
					"the zones in the same apply."},
			"verified_versions": schema.MapAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "From the promotion ledger: each version a sandbox zone verified → the earliest verification time (RFC 3339)."},
		},
		Blocks: map[string]schema.Block{
			"kubernetes": resourceKubernetesBlock(),
			"operator": schema.SingleNestedBlock{
				MarkdownDescription: "The Spinnaker Operator. Without this block it is installed with the defaults below.",
				Attributes: map[string]schema.Attribute{
					"install": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
						MarkdownDescription: "Apply the CRDs, RBAC and Deployment. `false` when the operator is managed elsewhere (the namespace is still used for the ledger). Turning it off later leaves the operator in place."},
					"namespace": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(defaultOperatorNamespace),
						Validators:          []validator.String{stringvalidator.RegexMatches(spinDNSLabelRegexp, "must be a DNS label")},
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
						Validators: []validator.Object{objectvalidator.ConflictsWith(path.MatchRelative().AtParent().AtName("gcs"))},
						Attributes: map[string]schema.Attribute{
							"bucket":                       optStr("The bucket name (required in this block)."),
							"region":                       optStr("The bucket's region."),
							"root_folder":                  optStr("The prefix under which Front50 stores its objects."),
							"endpoint":                     optStr("An S3-compatible endpoint, e.g. MinIO's `http://minio.minio:9000`."),
							"path_style":                   schema.BoolAttribute{Optional: true, MarkdownDescription: "Use path-style addressing (MinIO)."},
							"assume_role_arn":              optStr("Not supported: the Spinnaker Operator's Halyard has no `persistentStorage.s3.assumeRole` key, so setting it is refused at plan time. Give Front50's service account an IAM role (IRSA) instead."),
							"access_key_id":                optStr("A static access key id (MinIO); prefer IRSA / `assume_role_arn` on AWS."),
							"secret_access_key_wo":         writeOnly("The secret key of `access_key_id`."),
							"secret_access_key_wo_version": woVersion("secret_access_key_wo"),
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
					"password_wo_version": woVersion("password_wo"),
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
				Attributes:          map[string]schema.Attribute{"endpoint": optStr("`host:port` or a `redis://` URL.")},
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
							"client_secret_wo_version": woVersion("client_secret_wo"),
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
							"keystore_password_wo_version": woVersion("keystore_password_wo"),
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
							"manager_password_wo_version": woVersion("manager_password_wo"),
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
				},
			},
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *managedSpinnakerResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	var diags diag.Diagnostics
	r.data, diags = providerDataFrom(req.ProviderData)
	resp.Diagnostics.Append(diags...)
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
		if s.PasswordSecret != nil && !s.PasswordWO.IsNull() {
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

// ModifyPlan fixes the id at plan time (zones of the same apply can then
// read it) and replaces the installation when its namespace changes.
func (r *managedSpinnakerResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan managedSpinnakerModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ns := operatorSettings(plan.Operator).Namespace
	if plan.Operator != nil && plan.Operator.Namespace.IsUnknown() {
		return
	}
	if !req.State.Raw.IsNull() {
		var state managedSpinnakerModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if state.ID.ValueString() != ns {
			resp.RequiresReplace = append(resp.RequiresReplace, path.Root("operator").AtName("namespace"))
		}
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("id"), ns)...)
	if rev, ok := configRevision(req.Plan.Raw); ok {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("config_revision"), rev)...)
	}
	r.planOperatorConflicts(ctx, &plan, resp)
}

// planOperatorConflicts refuses, at plan time when the cluster can be
// reached, an operator install that another operator on the cluster would
// fight with (spinnaker.CheckOperatorConflicts; apply checks again).
func (r *managedSpinnakerResource) planOperatorConflicts(ctx context.Context, plan *managedSpinnakerModel, resp *resource.ModifyPlanResponse) {
	if r.data == nil {
		return
	}
	op := operatorSettings(plan.Operator)
	if !op.install || (plan.Operator != nil && (plan.Operator.ClusterWide.IsUnknown() || plan.Operator.Install.IsUnknown())) {
		return
	}
	client, diags := r.client(ctx, plan.Kubernetes)
	if diags.HasError() {
		tflog.Debug(ctx, "no cluster connection at plan time; the operator conflict check runs at apply", map[string]any{"diagnostics": fmt.Sprint(diags)})
		return
	}
	var conflict *spinnaker.OperatorConflictError
	switch err := spinnaker.CheckOperatorConflicts(ctx, client, op.OperatorSettings); {
	case errors.As(err, &conflict):
		resp.Diagnostics.AddAttributeError(path.Root("operator").AtName("cluster_wide"), "Another Spinnaker Operator on the cluster", err.Error())
	case err != nil:
		tflog.Debug(ctx, "cannot check for other operators at plan time; apply checks again", map[string]any{"error": err.Error()})
	}
}

func (r *managedSpinnakerResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan, config managedSpinnakerModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, 20*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	plan.ConfigRevision = revisionOf(req.Plan.Raw)
	r.apply(ctx, "creating", &plan, &config, timeout, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *managedSpinnakerResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, config managedSpinnakerModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, 20*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	plan.ConfigRevision = revisionOf(req.Plan.Raw)
	r.apply(ctx, "updating", &plan, &config, timeout, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// apply installs or updates the operator, the credentials and the shared
// configuration, and fills the computed attributes of plan.
func (r *managedSpinnakerResource) apply(ctx context.Context, verb string, plan, config *managedSpinnakerModel, timeout time.Duration, diags *diag.Diagnostics) {
	op := operatorSettings(plan.Operator)
	summary := fmt.Sprintf("%s managed Spinnaker (%s)", verb, op.Namespace)
	client, d := r.client(ctx, plan.Kubernetes)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	inst, d := expandInstallation(ctx, plan, config)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	inst.Revision = plan.ConfigRevision.ValueString()
	tflog.Info(ctx, "applying the Spinnaker installation", map[string]any{"namespace": op.Namespace, "install_operator": op.install})
	if err := spinnaker.EnsureNamespace(ctx, client, op.Namespace); err != nil {
		diags.AddError(summary, err.Error())
		return
	}
	if op.install {
		err := spinnaker.EnsureOperator(ctx, client, op.OperatorSettings, op.wait, timeout)
		switch {
		case errors.Is(err, spinnaker.ErrNoKubelet):
			diags.AddWarning("Not waiting for the Spinnaker Operator",
				"The cluster has no Node, so no pod can run: the operator's Deployment was applied but not waited for. Set operator.wait = false to silence this.")
		case err != nil:
			diags.AddError(summary, err.Error())
			return
		}
	}
	if err := spinnaker.WriteCredentials(ctx, client.Clientset, op.Namespace, credentialsFromConfig(config)); err != nil {
		diags.AddError(summary, err.Error())
		return
	}
	rec := operatorRecord(plan.Operator)
	if err := spinnaker.SaveInstallationWithOperator(ctx, client, inst, &rec); err != nil {
		diags.AddError(summary, err.Error())
		return
	}
	plan.ID = types.StringValue(op.Namespace)
	vv, d := r.verifiedVersions(ctx, client, op.Namespace)
	diags.Append(d...)
	plan.VerifiedVersions = vv
}

func (r *managedSpinnakerResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state managedSpinnakerModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	client, diags := r.client(ctx, state.Kubernetes)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ns := state.ID.ValueString()
	inst, op, err := spinnaker.LoadInstallationWithOperator(ctx, client.Clientset, ns)
	if errors.Is(err, spinnaker.ErrInstallationNotFound) {
		tflog.Warn(ctx, "the installation is gone; removing it from state", map[string]any{"namespace": ns})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("reading managed Spinnaker (%s)", ns), err.Error())
		return
	}
	refreshed, diags := flattenInstallation(inst, op, &state)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	refreshed.VerifiedVersions, diags = r.verifiedVersions(ctx, client, ns)
	resp.Diagnostics.Append(diags...)
	resp.Diagnostics.Append(resp.State.Set(ctx, refreshed)...)
}

func (r *managedSpinnakerResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state managedSpinnakerModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, 10*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	op := operatorSettings(state.Operator)
	summary := fmt.Sprintf("deleting managed Spinnaker (%s)", op.Namespace)
	client, diags := r.client(ctx, state.Kubernetes)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ledger, err := spinnaker.LoadLedger(ctx, client.Clientset, op.Namespace)
	if err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
		return
	}
	var live []string
	for name, rec := range ledger.Zones {
		if rec.DeletedAt == nil {
			live = append(live, fmt.Sprintf("%s (namespace %s)", name, rec.Namespace))
		}
	}
	// A zone the ledger does not know of (made out of band, or by an older
	// spinops) still belongs to the installation: a failed list is not "none
	// left", whether or not spinops installed the operator.
	zones, err := spinnaker.ListZones(ctx, client, op.Namespace)
	if err != nil {
		resp.Diagnostics.AddError(summary, fmt.Sprintf("cannot tell whether the installation still has zones: %v. "+
			"Nothing was deleted. Give the provider's Kubernetes credentials list access to spinnakerservices.spinnaker.io "+
			"in all namespaces (or fix the API server), then destroy again.", err))
		return
	}
	for _, z := range zones {
		s := fmt.Sprintf("%s (namespace %s)", z.GetName(), z.GetNamespace())
		if !spinContains(live, s) {
			live = append(live, s)
		}
	}
	if len(live) > 0 {
		sort.Strings(live)
		resp.Diagnostics.AddError(summary, "the installation still has zones: "+strings.Join(live, ", ")+
			". Destroy its spinops_zone resources first (Terraform does so when they reference this resource's id).")
		return
	}
	if op.install {
		removed, err := spinnaker.RemoveOperator(ctx, client, op.OperatorSettings)
		if err != nil {
			resp.Diagnostics.AddError(summary, err.Error())
			return
		}
		tflog.Info(ctx, "removed the Spinnaker Operator", map[string]any{"namespace": op.Namespace, "crds_removed": removed})
	}
	if err := spinnaker.DeleteInstallation(ctx, client.Clientset, op.Namespace); err != nil {
		resp.Diagnostics.AddError(summary, err.Error())
	}
}

// ImportState takes the operator namespace; Read rebuilds the rest from the
// stored installation.
func (r *managedSpinnakerResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if !spinDNSLabelRegexp.MatchString(req.ID) {
		resp.Diagnostics.AddError("Invalid import id",
			fmt.Sprintf("%q: import a managed Spinnaker by its operator namespace, e.g. %s.", req.ID, defaultOperatorNamespace))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
}

func (r *managedSpinnakerResource) client(ctx context.Context, override *kubernetesModel) (*kube.Client, diag.Diagnostics) {
	if r.data == nil {
		var d diag.Diagnostics
		d.AddError("Provider not configured", "The spinops provider was not configured; this is a bug in the provider.")
		return nil, d
	}
	return spinKubeClient(ctx, r.data, override, path.Root("kubernetes"))
}

func (r *managedSpinnakerResource) verifiedVersions(ctx context.Context, client *kube.Client, ns string) (types.Map, diag.Diagnostics) {
	var diags diag.Diagnostics
	l, err := spinnaker.LoadLedger(ctx, client.Clientset, ns)
	if err != nil {
		diags.AddWarning("Cannot read the promotion ledger", err.Error())
		return types.MapNull(types.StringType), diags
	}
	elems := map[string]attr.Value{}
	for v, t := range l.VerifiedVersions() {
		elems[v] = types.StringValue(t.UTC().Format(time.RFC3339))
	}
	m, d := types.MapValue(types.StringType, elems)
	diags.Append(d...)
	return m, diags
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
			Port: s.Port.ValueInt64(), User: s.User.ValueString(), Databases: map[string]string{}}
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
	}
	return inst, diags
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

func spinContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func revisionOf(raw tftypes.Value) types.String {
	if rev, ok := configRevision(raw); ok {
		return types.StringValue(rev)
	}
	return types.StringNull()
}
