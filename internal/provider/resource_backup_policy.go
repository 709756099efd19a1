package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"github.com/robfig/cron/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sschema "k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
	"github.com/spinops/terraform-provider-spinops/internal/cloud/gcp"
)

var (
	_ resource.ResourceWithConfigure      = &backupPolicyResource{}
	_ resource.ResourceWithValidateConfig = &backupPolicyResource{}
	_ resource.ResourceWithImportState    = &backupPolicyResource{}
)

func newBackupPolicyResource() resource.Resource { return &backupPolicyResource{} }

type backupPolicyResource struct {
	data *providerData
}

type backupPolicyModel struct {
	ID                    types.String          `tfsdk:"id"`
	Name                  types.String          `tfsdk:"name"`
	Namespace             types.String          `tfsdk:"namespace"`
	Kubernetes            *kubernetesModel      `tfsdk:"kubernetes"`
	Schedule              types.String          `tfsdk:"schedule"`
	TimeZone              types.String          `tfsdk:"time_zone"`
	Image                 types.String          `tfsdk:"image"`
	ServiceAccountName    types.String          `tfsdk:"service_account_name"`
	CredentialsSecretName types.String          `tfsdk:"credentials_secret_name"`
	Retention             *backupRetentionModel `tfsdk:"retention"`
	Sources               *backupSourcesModel   `tfsdk:"sources"`
	Destination           *backupLocationModel  `tfsdk:"destination"`
	PointInTime           *backupPITRModel      `tfsdk:"point_in_time"`
	Drill                 *backupDrillModel     `tfsdk:"drill"`
	SigningKeyWO          types.String          `tfsdk:"signing_key_wo"`
	SigningKeyWOVersion   types.Int64           `tfsdk:"signing_key_wo_version"`
	SigningKeySecret      *secretRefModel       `tfsdk:"signing_key_secret"`
	LastSuccessfulBackup  types.String          `tfsdk:"last_successful_backup"`
	RestoreWindow         types.Object          `tfsdk:"restore_window"`
	LastDrill             types.Object          `tfsdk:"last_drill"`
	NextRun               types.String          `tfsdk:"next_run"`
	Timeouts              timeouts.Value        `tfsdk:"timeouts"`
}

type backupRetentionModel struct {
	Count types.Int64 `tfsdk:"count"`
	Days  types.Int64 `tfsdk:"days"`
}

type backupSourcesModel struct {
	MySQL  *backupMySQLModel    `tfsdk:"mysql"`
	Bucket *backupLocationModel `tfsdk:"bucket"`
}

type backupMySQLModel struct {
	Host              types.String    `tfsdk:"host"`
	Port              types.Int64     `tfsdk:"port"`
	User              types.String    `tfsdk:"user"`
	PasswordWO        types.String    `tfsdk:"password_wo"`
	PasswordWOVersion types.Int64     `tfsdk:"password_wo_version"`
	PasswordSecret    *secretRefModel `tfsdk:"password_secret"`
	Databases         types.List      `tfsdk:"databases"`
	TLS               types.String    `tfsdk:"tls"`
	CASecret          *secretRefModel `tfsdk:"ca_secret"`
}

// backupLocationModel is an s3 or gcs block (destination, bucket source).
type backupLocationModel struct {
	S3  *backupS3Model  `tfsdk:"s3"`
	GCS *backupGCSModel `tfsdk:"gcs"`
}

type backupS3Model struct {
	Bucket         types.String `tfsdk:"bucket"`
	Prefix         types.String `tfsdk:"prefix"`
	Region         types.String `tfsdk:"region"`
	Endpoint       types.String `tfsdk:"endpoint"`
	PathStyle      types.Bool   `tfsdk:"path_style"`
	ForcePathStyle types.Bool   `tfsdk:"force_path_style"`
}

type backupGCSModel struct {
	Bucket   types.String `tfsdk:"bucket"`
	Prefix   types.String `tfsdk:"prefix"`
	Endpoint types.String `tfsdk:"endpoint"`
}

type backupPITRModel struct {
	Enabled types.Bool `tfsdk:"enabled"`
}

type backupDrillModel struct {
	Schedule types.String `tfsdk:"schedule"`
}

var restoreWindowAttrTypes = map[string]attr.Type{"earliest": types.StringType, "latest": types.StringType, "gap": types.StringType, "archived_until": types.StringType}

var drillAttrTypes = map[string]attr.Type{
	"started_at": types.StringType, "backup_id": types.StringType, "ok": types.BoolType, "error": types.StringType,
	"recovery_seconds": types.Float64Type, "data_loss_seconds": types.Float64Type, "point_in_time": types.StringType,
}

const restoreWindowDesc = "`earliest` and `latest` (RFC 3339) times a restore can reach: the oldest snapshot to the newest snapshot or, " +
	"with point-in-time recovery, to the newest time the binlog archive provably covers (its last archived event, or the archiver's last " +
	"check that it had caught up with the server). `gap` (else null) says where the archive stops being continuous — the window ends " +
	"there; `archived_until` is how far the archive reaches from the newest backup: when it stops advancing, the archiver is stalled."

const drillDesc = "`started_at`, `backup_id`, `ok`, `error`, `recovery_seconds` (start to a verified restore), `data_loss_seconds` " +
	"(how far behind the newest restorable time was at the end) and `point_in_time` (the time the drill also rolled forward to)."

func (r *backupPolicyResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_backup_policy"
}

func (r *backupPolicyResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Regular backups of Spinnaker's key data — the MySQL databases of Clouddriver, Orca and Front50 and the " +
			"Front50 bucket — with point-in-time recovery. Creates, in `namespace`, a Secret (the MySQL password when given as " +
			"`password_wo`), a ConfigMap (the backup configuration), a CronJob running `spinops backup run` on `schedule`, and " +
			"with `point_in_time { enabled = true }` a Deployment running `spinops backup archive-binlogs`.\n\n" +
			"Each run takes one consistent snapshot of the listed databases (with its binlog position), copies changed bucket " +
			"objects, and writes a manifest (sizes, SHA-256, row counts) last; then retention is applied. Restore with " +
			"`spinops backup restore --backup ID` or `--at TIME`.\n\n" +
			"`last_successful_backup` and `restore_window` are read from the destination's manifests with the provider's `aws` / " +
			"`gcp` credentials. Destroying the policy removes the Kubernetes objects and **leaves the backups in place**.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "`<namespace>/<name>`; the import id.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Required: true, MarkdownDescription: "Policy name; objects are named `spinops-backup-<name>`.",
				Validators:    []validator.String{stringvalidator.RegexMatches(spinDNSLabelRegexp, "must be a DNS label (lower-case letters, digits, '-')")},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"namespace": schema.StringAttribute{Required: true, MarkdownDescription: "Namespace of the objects (usually Spinnaker's).",
				Validators:    []validator.String{stringvalidator.RegexMatches(spinDNSLabelRegexp, "must be a DNS label")},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"schedule": schema.StringAttribute{Required: true, MarkdownDescription: "Cron schedule (5 fields, or `@hourly`, `@daily`, ...) of the backup CronJob.",
				Validators: []validator.String{cronScheduleValidator{}}},
			"time_zone": schema.StringAttribute{Optional: true, MarkdownDescription: "IANA time zone of `schedule` (default: the controller's, normally UTC).",
				Validators: []validator.String{timeZoneValidator{}}},
			"image": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(defaultSpinopsImage()),
				MarkdownDescription: "The spinops container image (runs `spinops backup`). Defaults to the release's own image, `ghcr.io/spinops/spinops:<provider version>` (pinned by digest in a release build).",
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)}},
			"service_account_name":    schema.StringAttribute{Optional: true, MarkdownDescription: "ServiceAccount of the pods (for IRSA / Workload Identity access to the buckets)."},
			"credentials_secret_name": schema.StringAttribute{Optional: true, MarkdownDescription: "An existing Secret whose keys become the pods' environment variables (e.g. `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`)."},
			"last_successful_backup":  schema.StringAttribute{Computed: true, MarkdownDescription: "Id of the newest complete backup at the destination, or null."},
			"restore_window": schema.ObjectAttribute{Computed: true, AttributeTypes: restoreWindowAttrTypes,
				MarkdownDescription: restoreWindowDesc},
			"next_run":   schema.StringAttribute{Computed: true, MarkdownDescription: "Next scheduled run (RFC 3339), computed from `schedule` and `time_zone`."},
			"last_drill": schema.ObjectAttribute{Computed: true, AttributeTypes: drillAttrTypes, MarkdownDescription: "The newest restore drill recorded at the destination, or null: " + drillDesc},
			"signing_key_wo": schema.StringAttribute{Optional: true, WriteOnly: true, Sensitive: true, Validators: []validator.String{stringvalidator.LengthAtLeast(32)},
				MarkdownDescription: "Key that signs every manifest (HMAC-SHA256, at least 32 characters), written to the policy's Secret. Write-only: never in state or plan; change `signing_key_wo_version` to write a new value. Keep a copy outside the bucket: `spinops backup restore` needs it (`SPINOPS_BACKUP_SIGNING_KEY`)."},
			"signing_key_wo_version": schema.Int64Attribute{Optional: true, MarkdownDescription: "Change this number to write a new `signing_key_wo`."},
		},
		Blocks: map[string]schema.Block{
			"kubernetes": resourceKubernetesBlock(),
			"retention": schema.SingleNestedBlock{
				MarkdownDescription: "Which complete backups to keep: the newest `count`, and any younger than `days`. The newest complete backup is never deleted. Without this block every backup is kept.",
				Attributes: map[string]schema.Attribute{
					"count": schema.Int64Attribute{Optional: true, MarkdownDescription: "Keep the newest N backups.", Validators: []validator.Int64{int64validator.AtLeast(1)}},
					"days":  schema.Int64Attribute{Optional: true, MarkdownDescription: "Keep backups younger than D days.", Validators: []validator.Int64{int64validator.AtLeast(1)}},
				},
			},
			"sources": schema.SingleNestedBlock{
				MarkdownDescription: "What to back up: a MySQL-compatible server's databases, a bucket, or both.",
				Blocks: map[string]schema.Block{
					"mysql": schema.SingleNestedBlock{
						MarkdownDescription: "A MySQL-compatible server (Aurora MySQL, Cloud SQL, MariaDB).",
						Attributes: map[string]schema.Attribute{
							"host": schema.StringAttribute{Optional: true, MarkdownDescription: "Host name. Required in this block."},
							"port": schema.Int64Attribute{Optional: true, MarkdownDescription: "Port (default 3306).", Validators: []validator.Int64{int64validator.Between(1, 65535)}},
							"user": schema.StringAttribute{Optional: true, MarkdownDescription: "User with SELECT, SHOW VIEW, RELOAD (MySQL), REPLICATION CLIENT/SLAVE or BINLOG MONITOR (point in time). Required in this block."},
							"password_wo": schema.StringAttribute{Optional: true, WriteOnly: true, Sensitive: true,
								MarkdownDescription: "The password, written to the policy's Secret. Write-only: never stored in state or plan; change `password_wo_version` to write a new value."},
							"password_wo_version": schema.Int64Attribute{Optional: true, MarkdownDescription: "Change this number to write a new `password_wo`."},
							"databases":           schema.ListAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: "Databases to back up (e.g. `clouddriver`, `orca`, `front50`). Required in this block."},
							"tls": schema.StringAttribute{Optional: true, Validators: []validator.String{stringvalidator.OneOf(backup.TLSModes...)},
								MarkdownDescription: "TLS to the server for dumps, the binlog archive, restores and drills: `required` (encrypted, certificate not checked), `verify_ca` (signed by `ca_secret`'s CA) or `verify_full` (and issued for `host`). Default: no TLS."},
						},
						Blocks: map[string]schema.Block{
							"ca_secret": schema.SingleNestedBlock{
								MarkdownDescription: "An existing Secret in `namespace` holding the server's CA certificate (PEM), mounted into the pods. Without it `verify_*` uses the image's system roots.",
								Attributes: map[string]schema.Attribute{
									"name": schema.StringAttribute{Optional: true, MarkdownDescription: "The Secret's name."},
									"key":  schema.StringAttribute{Optional: true, MarkdownDescription: "The key holding the PEM CA."},
								},
							},
							"password_secret": schema.SingleNestedBlock{
								MarkdownDescription: "An existing Secret in `namespace` holding the password, instead of `password_wo`.",
								Attributes: map[string]schema.Attribute{
									"name": schema.StringAttribute{Optional: true, MarkdownDescription: "The Secret's name."},
									"key":  schema.StringAttribute{Optional: true, MarkdownDescription: "The key holding the password."},
								},
							},
						},
					},
					"bucket": backupLocationBlockResource("The Front50 bucket (copied incrementally by ETag / generation)"),
				},
			},
			"destination": backupLocationBlockResource("Where backups go: one folder per backup under the prefix, the binlog archive (one folder per server) and the drill results"),
			"drill": schema.SingleNestedBlock{
				MarkdownDescription: "Restore drills: a CronJob running `spinops backup verify --drill`, which restores the newest backup and the newest provable point in time into scratch databases (`spinops_stage_*`, dropped afterwards) on the MySQL source, verifies row counts and row digests against the manifest, and records the recovery time. Results: `last_drill`, `data.spinops_backups.drills`, and the archiver's metrics. The MySQL user needs CREATE/DROP on `spinops\\_%`.",
				Attributes: map[string]schema.Attribute{"schedule": schema.StringAttribute{Optional: true, Validators: []validator.String{cronScheduleValidator{}},
					MarkdownDescription: "Cron schedule of the drills (same syntax and `time_zone` as `schedule`). Required in this block."}},
			},
			"signing_key_secret": schema.SingleNestedBlock{
				MarkdownDescription: "An existing Secret in `namespace` holding the manifest signing key (HMAC-SHA256, at least 32 characters), instead of `signing_key_wo`. The key stays out of the bucket: restore trusts only manifests it verifies.",
				Attributes: map[string]schema.Attribute{
					"name": schema.StringAttribute{Optional: true, MarkdownDescription: "The Secret's name."},
					"key":  schema.StringAttribute{Optional: true, MarkdownDescription: "The key holding the signing key."},
				},
			},
			"point_in_time": schema.SingleNestedBlock{
				MarkdownDescription: "Point-in-time recovery: archive the binary log continuously (the server must run with `binlog_format=ROW`).",
				Attributes:          map[string]schema.Attribute{"enabled": schema.BoolAttribute{Optional: true, MarkdownDescription: "Run the binlog archiver Deployment."}},
			},
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *backupPolicyResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	var diags diag.Diagnostics
	r.data, diags = providerDataFrom(req.ProviderData)
	resp.Diagnostics.Append(diags...)
}

func (r *backupPolicyResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m backupPolicyModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	need := func(p path.Path, v attr.Value) {
		if v.IsNull() {
			resp.Diagnostics.AddAttributeError(p, "Missing "+p.Steps()[len(p.Steps())-1].String(), p.String()+" is required in this block.")
		}
	}
	validateLocation(path.Root("destination"), m.Destination, true, need, &resp.Diagnostics)
	if m.Sources == nil || (m.Sources.MySQL == nil && m.Sources.Bucket == nil) {
		resp.Diagnostics.AddAttributeError(path.Root("sources"), "Nothing to back up", "sources needs a mysql block, a bucket block or both.")
		return
	}
	if s := m.Sources.MySQL; s != nil {
		sp := path.Root("sources").AtName("mysql")
		need(sp.AtName("host"), s.Host)
		need(sp.AtName("user"), s.User)
		need(sp.AtName("databases"), s.Databases)
		if s.PasswordSecret != nil && !s.PasswordWO.IsNull() {
			resp.Diagnostics.AddAttributeError(sp.AtName("password_wo"), "Conflicting MySQL password", "Set password_wo or password_secret, not both.")
		}
		if s.PasswordSecret == nil && s.PasswordWO.IsNull() && !s.PasswordWO.IsUnknown() {
			resp.Diagnostics.AddAttributeError(sp.AtName("password_wo"), "Missing MySQL password", "Set password_wo (write-only) or password_secret { name, key }.")
		}
		if s.PasswordSecret != nil {
			need(sp.AtName("password_secret").AtName("name"), s.PasswordSecret.Name)
			need(sp.AtName("password_secret").AtName("key"), s.PasswordSecret.Key)
		}
	}
	if m.Sources.Bucket != nil {
		validateLocation(path.Root("sources").AtName("bucket"), m.Sources.Bucket, true, need, &resp.Diagnostics)
	}
	if m.SigningKeySecret != nil && !m.SigningKeyWO.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("signing_key_wo"), "Conflicting signing keys", "Set signing_key_wo or signing_key_secret, not both.")
	}
	if m.SigningKeySecret == nil && m.SigningKeyWO.IsNull() && !m.SigningKeyWO.IsUnknown() {
		resp.Diagnostics.AddAttributeWarning(path.Root("signing_key_wo"), "Backups will not be signed",
			"Without signing_key_wo or signing_key_secret the manifests are not signed, and `spinops backup restore` refuses them unless given --allow-unsigned. Set a signing key kept outside the bucket.")
	}
	if m.SigningKeySecret != nil {
		need(path.Root("signing_key_secret").AtName("name"), m.SigningKeySecret.Name)
		need(path.Root("signing_key_secret").AtName("key"), m.SigningKeySecret.Key)
	}
	if m.Drill != nil {
		need(path.Root("drill").AtName("schedule"), m.Drill.Schedule)
		if m.Sources.MySQL == nil {
			resp.Diagnostics.AddAttributeError(path.Root("drill"), "A drill needs MySQL", "A restore drill restores the MySQL databases into scratch databases: add sources.mysql.")
		}
	}
	if s := m.Sources.MySQL; s != nil && s.CASecret != nil {
		sp := path.Root("sources").AtName("mysql")
		need(sp.AtName("ca_secret").AtName("name"), s.CASecret.Name)
		need(sp.AtName("ca_secret").AtName("key"), s.CASecret.Key)
		if s.TLS.IsNull() || s.TLS.ValueString() == backup.TLSRequired {
			resp.Diagnostics.AddAttributeError(sp.AtName("tls"), "CA without verification", "ca_secret is only used with tls = \"verify_ca\" or \"verify_full\".")
		}
	}
	if m.PointInTime != nil && m.PointInTime.Enabled.ValueBool() && m.Sources.MySQL == nil {
		resp.Diagnostics.AddAttributeError(path.Root("point_in_time").AtName("enabled"), "Point in time needs MySQL", "point_in_time archives a MySQL binary log: add sources.mysql.")
	}
}

func validateLocation(p path.Path, l *backupLocationModel, required bool, need func(path.Path, attr.Value), diags *diag.Diagnostics) {
	if l == nil || (l.S3 == nil && l.GCS == nil) {
		if required {
			diags.AddAttributeError(p, "Missing bucket", p.String()+" needs an s3 or a gcs block.")
		}
		return
	}
	if l.S3 != nil && l.GCS != nil {
		diags.AddAttributeError(p, "Conflicting buckets", p.String()+" takes an s3 or a gcs block, not both.")
	}
	if l.S3 != nil {
		need(p.AtName("s3").AtName("bucket"), l.S3.Bucket)
		if !l.S3.PathStyle.IsNull() && !l.S3.ForcePathStyle.IsNull() {
			diags.AddAttributeError(p.AtName("s3").AtName("force_path_style"), "Conflicting attributes", "force_path_style is the deprecated name of path_style: set only path_style.")
		}
	}
	if l.GCS != nil {
		need(p.AtName("gcs").AtName("bucket"), l.GCS.Bucket)
	}
}

func (r *backupPolicyResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan, config backupPolicyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, 5*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r.apply(ctx, "creating", &plan, &config, nil, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *backupPolicyResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, config, state backupPolicyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, 5*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r.apply(ctx, "updating", &plan, &config, &state, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// apply renders and server-side applies the objects, removes the archiver
// when point-in-time recovery was turned off, then fills the computed values.
func (r *backupPolicyResource) apply(ctx context.Context, verb string, plan, config, prior *backupPolicyModel, diags *diag.Diagnostics) {
	id := plan.Namespace.ValueString() + "/" + plan.Name.ValueString()
	client, d := spinKubeClient(ctx, r.data, plan.Kubernetes, path.Root("kubernetes"))
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	pol, err := expandBackupPolicy(plan)
	if err != nil {
		diags.AddError(fmt.Sprintf("%s backup policy (%s)", verb, id), err.Error())
		return
	}
	if m := config.Sources.MySQL; m != nil && !m.PasswordWO.IsNull() {
		pol.Password = m.PasswordWO.ValueString()
	}
	if !config.SigningKeyWO.IsNull() {
		pol.SigningKey = config.SigningKeyWO.ValueString()
	}
	objs, err := pol.Objects()
	if err != nil {
		diags.AddError(fmt.Sprintf("%s backup policy (%s)", verb, id), err.Error())
		return
	}
	for _, o := range objs {
		tflog.Debug(ctx, "applying", map[string]any{"object": o.GetKind() + "/" + o.GetName()})
		if _, err := client.Apply(ctx, o); err != nil {
			diags.AddError(fmt.Sprintf("%s backup policy (%s)", verb, id), fmt.Sprintf("applying %s %s: %v", o.GetKind(), o.GetName(), err))
			return
		}
	}
	if !pol.Config.PointInTime {
		if err := deleteIfExists(ctx, client.Delete, deploymentGVK, plan.Namespace.ValueString(), backup.ObjectName(plan.Name.ValueString())); err != nil {
			diags.AddError(fmt.Sprintf("%s backup policy (%s)", verb, id), "removing the binlog archiver: "+err.Error())
			return
		}
	}
	if pol.DrillSchedule == "" {
		if err := deleteIfExists(ctx, client.Delete, cronJobGVK, plan.Namespace.ValueString(), backup.DrillObjectName(plan.Name.ValueString())); err != nil {
			diags.AddError(fmt.Sprintf("%s backup policy (%s)", verb, id), "removing the drill CronJob: "+err.Error())
			return
		}
	}
	plan.ID = types.StringValue(id)
	r.fillComputed(ctx, plan, diags)
}

var (
	configMapGVK  = k8sschema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
	secretGVK     = k8sschema.GroupVersionKind{Version: "v1", Kind: "Secret"}
	cronJobGVK    = k8sschema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "CronJob"}
	deploymentGVK = k8sschema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
)

func deleteIfExists(ctx context.Context, del func(context.Context, *unstructured.Unstructured) error, gvk k8sschema.GroupVersionKind, ns, name string) error {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(ns)
	u.SetName(name)
	if err := del(ctx, u); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}

func (r *backupPolicyResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state backupPolicyModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	client, d := spinKubeClient(ctx, r.data, state.Kubernetes, path.Root("kubernetes"))
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	ns, name := state.Namespace.ValueString(), backup.ObjectName(state.Name.ValueString())
	cm, err := client.Get(ctx, configMapGVK, ns, name)
	if apierrors.IsNotFound(err) {
		tflog.Warn(ctx, "backup policy ConfigMap is gone; removing from state", map[string]any{"namespace": ns, "name": name})
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("reading backup policy (%s)", state.ID.ValueString()), err.Error())
		return
	}
	cj, err := client.Get(ctx, cronJobGVK, ns, name)
	if apierrors.IsNotFound(err) {
		resp.State.RemoveResource(ctx) // a policy without its CronJob runs nothing: recreate it
		return
	}
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("reading backup policy (%s)", state.ID.ValueString()), err.Error())
		return
	}
	_, depErr := client.Get(ctx, deploymentGVK, ns, name)
	if depErr != nil && !apierrors.IsNotFound(depErr) {
		resp.Diagnostics.AddError(fmt.Sprintf("reading backup policy (%s)", state.ID.ValueString()), depErr.Error())
		return
	}
	drill, err := client.Get(ctx, cronJobGVK, ns, backup.DrillObjectName(state.Name.ValueString()))
	if apierrors.IsNotFound(err) {
		drill, err = nil, nil
	}
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("reading backup policy (%s)", state.ID.ValueString()), err.Error())
		return
	}
	if err := flattenBackupPolicy(&state, cm, cj, drill, depErr == nil); err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("reading backup policy (%s)", state.ID.ValueString()), err.Error())
		return
	}
	r.fillComputed(ctx, &state, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *backupPolicyResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state backupPolicyModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, 5*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client, d := spinKubeClient(ctx, r.data, state.Kubernetes, path.Root("kubernetes"))
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	ns, name := state.Namespace.ValueString(), backup.ObjectName(state.Name.ValueString())
	if err := deleteIfExists(ctx, client.Delete, cronJobGVK, ns, backup.DrillObjectName(state.Name.ValueString())); err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("deleting backup policy (%s)", state.ID.ValueString()), fmt.Sprintf("deleting the drill CronJob: %v", err))
		return
	}
	for _, gvk := range []k8sschema.GroupVersionKind{cronJobGVK, deploymentGVK, configMapGVK, secretGVK} {
		if err := deleteIfExists(ctx, client.Delete, gvk, ns, name); err != nil {
			resp.Diagnostics.AddError(fmt.Sprintf("deleting backup policy (%s)", state.ID.ValueString()), fmt.Sprintf("deleting %s %s: %v", gvk.Kind, name, err))
			return
		}
	}
	where := "the destination"
	if cfg, err := backupConfigOf(&state); err == nil {
		where = cfg.Destination.URL
	}
	resp.Diagnostics.AddWarning("Backups left in place",
		fmt.Sprintf("The backup policy %s was removed from the cluster; its backups and binlog archive at %s were not deleted. Remove them yourself when they are no longer needed (restore with `spinops backup restore`).", state.ID.ValueString(), where))
}

func (r *backupPolicyResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	ns, name, ok := strings.Cut(req.ID, "/")
	if !ok || ns == "" || name == "" {
		resp.Diagnostics.AddError("Invalid import id", fmt.Sprintf("expected <namespace>/<name>, got %q", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("namespace"), ns)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
}

// fillComputed sets next_run from the schedule and reads the destination's
// manifests; an unreadable destination is a warning, not an error: the
// objects themselves are fine.
func (r *backupPolicyResource) fillComputed(ctx context.Context, m *backupPolicyModel, diags *diag.Diagnostics) {
	m.NextRun = types.StringNull()
	if sched, err := cron.ParseStandard(m.Schedule.ValueString()); err == nil {
		now := r.data.now()
		if tz := m.TimeZone.ValueString(); tz != "" {
			if loc, err := time.LoadLocation(tz); err == nil {
				now = now.In(loc)
			}
		} else {
			now = now.UTC()
		}
		m.NextRun = types.StringValue(sched.Next(now).UTC().Format(time.RFC3339))
	}
	m.LastSuccessfulBackup = types.StringNull()
	m.RestoreWindow = types.ObjectNull(restoreWindowAttrTypes)
	m.LastDrill = types.ObjectNull(drillAttrTypes)
	cfg, err := backupConfigOf(m)
	if err != nil {
		return
	}
	l, err := listBackups(ctx, r.data, cfg.Destination)
	if err != nil {
		diags.AddWarning("Cannot read the backup destination", fmt.Sprintf("last_successful_backup and restore_window are unknown: %v", err))
		return
	}
	setListingComputed(l, &m.LastSuccessfulBackup, &m.RestoreWindow)
	if d := l.LastDrill(); d != nil {
		m.LastDrill = drillObject(*d)
	}
}

func setListingComputed(l *backup.Listing, last *types.String, window *types.Object) {
	if latest := l.Latest(); latest != nil {
		*last = types.StringValue(latest.ID)
	}
	if w, ok := l.RestoreWindow(); ok {
		gap, until := types.StringNull(), types.StringNull()
		if w.Gap != nil {
			gap = types.StringValue(w.Gap.Error())
		}
		if !l.ArchivedUntil.IsZero() {
			until = types.StringValue(l.ArchivedUntil.UTC().Format(time.RFC3339))
		}
		*window = types.ObjectValueMust(restoreWindowAttrTypes, map[string]attr.Value{
			"earliest":       types.StringValue(w.Earliest.UTC().Format(time.RFC3339)),
			"latest":         types.StringValue(w.Latest.UTC().Format(time.RFC3339)),
			"gap":            gap,
			"archived_until": until,
		})
	}
}

func drillObject(d backup.DrillResult) types.Object {
	pit, errMsg := types.StringNull(), types.StringNull()
	if !d.PointInTime.IsZero() {
		pit = types.StringValue(d.PointInTime.UTC().Format(time.RFC3339))
	}
	if d.Error != "" {
		errMsg = types.StringValue(d.Error)
	}
	return types.ObjectValueMust(drillAttrTypes, map[string]attr.Value{
		"started_at": types.StringValue(d.StartedAt.UTC().Format(time.RFC3339)), "backup_id": types.StringValue(d.BackupID),
		"ok": types.BoolValue(d.OK), "error": errMsg, "recovery_seconds": types.Float64Value(d.RecoverySeconds),
		"data_loss_seconds": types.Float64Value(d.DataLossSeconds), "point_in_time": pit,
	})
}

// listBackups opens a destination with the provider's cloud settings.
func listBackups(ctx context.Context, data *providerData, sc backup.StoreConfig) (*backup.Listing, error) {
	if data.gcp.CredentialsErr != nil && strings.HasPrefix(sc.URL, "gs://") {
		return nil, data.gcp.CredentialsErr
	}
	clients := backup.Clients{
		AWSConfig:    data.awsConfig,
		AWSEndpoints: data.aws.Endpoints,
		GCS:          gcp.StorageSettings{Endpoint: data.gcp.StorageEndpoint, Credentials: data.gcp.Credentials, AccessToken: data.gcp.AccessToken},
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	st, err := clients.Open(ctx, sc)
	if err != nil {
		return nil, err
	}
	return backup.List(ctx, st)
}

// cronScheduleValidator checks schedules with the parser Kubernetes' own
// CronJob controller uses (robfig/cron, standard 5 fields and @descriptors).
type cronScheduleValidator struct{}

func (cronScheduleValidator) Description(context.Context) string {
	return "must be a cron schedule: 5 fields (minute hour day-of-month month day-of-week) or @hourly/@daily/@weekly/@monthly/@yearly"
}
func (v cronScheduleValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}
func (v cronScheduleValidator) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	s := req.ConfigValue.ValueString()
	if strings.HasPrefix(strings.TrimSpace(s), "TZ=") || strings.HasPrefix(strings.TrimSpace(s), "CRON_TZ=") {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid schedule", "Set the time zone with time_zone, not inside schedule.")
		return
	}
	if _, err := cron.ParseStandard(s); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid schedule", fmt.Sprintf("%q %s: %v", s, v.Description(ctx), err))
	}
}

type timeZoneValidator struct{}

func (timeZoneValidator) Description(context.Context) string {
	return "must be an IANA time zone name such as Etc/UTC or Europe/Paris"
}
func (v timeZoneValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (v timeZoneValidator) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := time.LoadLocation(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid time zone", fmt.Sprintf("%q %s: %v", req.ConfigValue.ValueString(), v.Description(ctx), err))
	}
}

var errNoPolicyAnnotation = errors.New("the ConfigMap has no " + backup.PolicyAnnotation + " annotation: it was not created by spinops_backup_policy")
