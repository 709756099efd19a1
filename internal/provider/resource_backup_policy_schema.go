package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
)

const restoreWindowDesc = "`earliest` and `latest` (RFC 3339) times a restore can reach: the oldest snapshot to the newest snapshot or, " +
	"with point-in-time recovery, to the newest time the binlog archive provably covers (its last archived event, or the archiver's last " +
	"check that it had caught up with the server). `gap` (else null) says where the archive stops being continuous — the window ends " +
	"there; `archived_until` is how far the archive reaches from the newest backup: when it stops advancing, the archiver is stalled. " +
	"Read without the signing key (write-only here), this is what the bucket claims; `spinops backup list` with the key, and the " +
	"policy's metrics, report only what a restore that verifies signatures would reach."

const drillDesc = "`started_at`, `backup_id`, `ok`, `error`, `recovery_seconds` (start to a verified restore), `data_loss_seconds` " +
	"(how far behind the newest restorable time was at the end) and `point_in_time` (the time the drill also rolled forward to)."

func (r *backupPolicyResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Regular backups of Spinnaker's key data — the MySQL databases of Clouddriver, Orca and Front50 and the " +
			"Front50 bucket — with point-in-time recovery. Creates, in `namespace`, a Secret (the MySQL password when given as " +
			"`password_wo`), a ConfigMap (the backup configuration), a CronJob running `spinops backup run` on `schedule`, and " +
			"with `point_in_time { enabled = true }` a Deployment running `spinops backup archive-binlogs`, or without it a Deployment " +
			"`spinops-backup-<name>-metrics` running `spinops backup metrics`; either serves Prometheus metrics on port 9464 " +
			"(`spinops_backup_last_success_timestamp`, `spinops_backup_restore_window_seconds`, `spinops_backup_drill_recovery_seconds`, …).\n\n" +
			"Each run takes one consistent snapshot of the listed databases (with its binlog position), copies changed bucket " +
			"objects, and writes a manifest (sizes, SHA-256, row counts) last; then retention is applied. Restore with " +
			"`spinops backup restore --backup ID` or `--at TIME`.\n\n" +
			"`last_successful_backup` and `restore_window` are read from the destination's manifests with the provider's `aws` / " +
			"`gcp` credentials. Every refresh checks the policy's objects for edits and deletions made outside Terraform — a CronJob suspended " +
			"or rescheduled with `kubectl`, the configuration in the ConfigMap pointed elsewhere, the archiver scaled to 0 — and lists them in " +
			"`drifted_objects`; the next apply puts them back. Destroying the policy removes the Kubernetes objects and **leaves the backups in place**.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "`<namespace>/<name>`; the import id.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Required: true, MarkdownDescription: "Policy name; objects are named `spinops-backup-<name>`.",
				Validators:    []validator.String{validators.DNSLabel()},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"namespace": schema.StringAttribute{Required: true, MarkdownDescription: "Namespace of the objects (usually Spinnaker's).",
				Validators:    []validator.String{validators.NamespaceName()},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"schedule": schema.StringAttribute{Required: true, MarkdownDescription: "Cron schedule (5 fields, or `@hourly`, `@daily`, ...) of the backup CronJob.",
				Validators: []validator.String{validators.CronSchedule()}},
			"time_zone": schema.StringAttribute{Optional: true, MarkdownDescription: "IANA time zone of `schedule` (default: the controller's, normally UTC).",
				Validators: []validator.String{validators.TimeZone()}},
			"image": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(defaultSpinopsImage()),
				MarkdownDescription: "The spinops container image (runs `spinops backup`). Defaults to the release's own image, `ghcr.io/spinops/spinops:<provider version>` (pinned by digest in a release build).",
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)}},
			"service_account_name": schema.StringAttribute{Optional: true, MarkdownDescription: "ServiceAccount of the pods (for IRSA / Workload Identity access to the buckets). " +
				"With `service_account_annotations` the policy makes it; without, it must exist in `namespace` (create it with its IRSA or Workload Identity annotation): " +
				"the apply is refused while it is missing, since Kubernetes would create no backup or archiver pod.",
				Validators: []validator.String{validators.DNSSubdomain()}},
			"service_account_annotations": schema.MapAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "When set, the policy makes the ServiceAccount `service_account_name` itself, with these annotations — on EKS `eks.amazonaws.com/role-arn` " +
					"(the backup role: `modules/aws/iam`'s `service_account_annotations[\"spinops-backup\"]`), on GKE `iam.gke.io/gcp-service-account` — keeps them as configured " +
					"(a changed or removed one shows as drift, annotations others add are left alone) and deletes the account with the policy. " +
					"A ServiceAccount of that name that the policy did not make is refused, never taken over. Removing the argument leaves the account in place, no longer the policy's.",
				Validators: []validator.Map{validators.ServiceAccountAnnotations(), mapvalidator.AlsoRequires(path.MatchRoot("service_account_name"))}},
			"credentials_secret_name": schema.StringAttribute{Optional: true, MarkdownDescription: "An existing Secret whose keys become the pods' environment variables (e.g. `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`)."},
			"last_successful_backup":  schema.StringAttribute{Computed: true, MarkdownDescription: "Id of the newest complete backup at the destination, or null."},
			"restore_window": schema.ObjectAttribute{Computed: true, AttributeTypes: restoreWindowAttrTypes,
				MarkdownDescription: restoreWindowDesc},
			"archiver_heartbeat": schema.StringAttribute{Computed: true, MarkdownDescription: "When the binlog archiver last flushed (RFC 3339), from its status file at the destination, or null without one. " +
				"It stops advancing when the archiver is gone (so does `restore_window.archived_until`)."},
			"archiver_behind_bytes": schema.Int64Attribute{Computed: true, MarkdownDescription: "Bytes of the server's binary log the archive lacked at the archiver's last flush, or null. " +
				"Above 0 for long, the archiver runs but its stream is stalled, and `restore_window.archived_until` stops advancing."},
			"drifted_objects": driftedObjectsAttribute("policy's objects (ConfigMap, backup and drill CronJobs, archiver or metrics Deployment, the ServiceAccount it makes)",
				"A CronJob suspended by hand is drift too: the policy sets `suspend = false`. Its Secret (the write-only password and signing key) is checked "+
					"for existence and for its keys, never for its values."),
			"next_run":   schema.StringAttribute{Computed: true, MarkdownDescription: "Next scheduled run (RFC 3339), computed from `schedule` and `time_zone`."},
			"last_drill": schema.ObjectAttribute{Computed: true, AttributeTypes: drillAttrTypes, MarkdownDescription: "The newest restore drill recorded at the destination, or null: " + drillDesc},
			"signing_key_wo": schema.StringAttribute{Optional: true, WriteOnly: true, Sensitive: true, Validators: []validator.String{stringvalidator.LengthAtLeast(32)},
				MarkdownDescription: "Key that signs every manifest and, with `point_in_time`, every archived binlog and the archiver's status (HMAC-SHA256, at least 32 characters), written to the policy's Secret. Write-only: never in state or plan; change `signing_key_wo_version` to write a new value. Keep a copy outside the bucket: `spinops backup restore` needs it (`SPINOPS_BACKUP_SIGNING_KEY`)."},
			"signing_key_wo_version": schema.Int64Attribute{Optional: true, MarkdownDescription: "Change this number to write a new `signing_key_wo`. " +
				"An update whose configuration leaves out the signing key the policy's Secret holds, with this number unchanged, is refused at plan " +
				"time (the backups would silently stop being signed); change the number to stop signing."},
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
							"user": schema.StringAttribute{Optional: true, MarkdownDescription: "User with SELECT, SHOW VIEW, TRIGGER, EVENT and SHOW CREATE ROUTINE (before MariaDB 11.3: SELECT on mysql.proc); for point in time also REPLICATION SLAVE and BINLOG MONITOR (MariaDB) or REPLICATION CLIENT (MySQL). No RELOAD, SUPER or global lock is needed (the snapshot takes none), so the master user of RDS, Aurora or Cloud SQL qualifies. Required in this block."},
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
				MarkdownDescription: "Restore drills: a CronJob running `spinops backup verify --drill`, which restores the newest backup and the newest provable point in time into scratch databases (`spinops_stage_*`, dropped afterwards) on the MySQL source, verifies row counts and row digests against the manifest, and records the recovery time. Results: `last_drill`, `data.spinops_backups.drills`, and the policy's metrics. The MySQL user needs CREATE/DROP on `spinops\\_%`.",
				Attributes: map[string]schema.Attribute{"schedule": schema.StringAttribute{Optional: true, Validators: []validator.String{validators.CronSchedule()},
					MarkdownDescription: "Cron schedule of the drills (same syntax and `time_zone` as `schedule`). Required in this block."}},
			},
			"signing_key_secret": schema.SingleNestedBlock{
				MarkdownDescription: "An existing Secret in `namespace` holding the signing key of manifests and archived binlogs (HMAC-SHA256, at least 32 characters), instead of `signing_key_wo`. The key stays out of the bucket: restore trusts only manifests it verifies, and replays only binlogs whose signed bytes it verifies.",
				Attributes: map[string]schema.Attribute{
					"name": schema.StringAttribute{Optional: true, MarkdownDescription: "The Secret's name."},
					"key":  schema.StringAttribute{Optional: true, MarkdownDescription: "The key holding the signing key."},
				},
			},
			"point_in_time": schema.SingleNestedBlock{
				MarkdownDescription: "Point-in-time recovery: archive the binary log continuously (the server must run with `binlog_format=ROW`).",
				Attributes:          map[string]schema.Attribute{"enabled": schema.BoolAttribute{Optional: true, MarkdownDescription: "Run the binlog archiver Deployment (which then also serves the metrics, in place of the metrics Deployment)."}},
			},
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
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
		if s.PasswordSecret.set() && !s.PasswordWO.IsNull() && !s.PasswordWO.IsUnknown() {
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
