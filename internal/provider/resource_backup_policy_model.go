package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
)

type backupPolicyModel struct {
	ID                 types.String     `tfsdk:"id"`
	Name               types.String     `tfsdk:"name"`
	Namespace          types.String     `tfsdk:"namespace"`
	Kubernetes         *kubernetesModel `tfsdk:"kubernetes"`
	Schedule           types.String     `tfsdk:"schedule"`
	TimeZone           types.String     `tfsdk:"time_zone"`
	Image              types.String     `tfsdk:"image"`
	ServiceAccountName types.String     `tfsdk:"service_account_name"`
	// ServiceAccountAnnotations, when not null, has the policy make the
	// ServiceAccount with them.
	ServiceAccountAnnotations types.Map             `tfsdk:"service_account_annotations"`
	CredentialsSecretName     types.String          `tfsdk:"credentials_secret_name"`
	Retention                 *backupRetentionModel `tfsdk:"retention"`
	Sources                   *backupSourcesModel   `tfsdk:"sources"`
	Destination               *backupLocationModel  `tfsdk:"destination"`
	PointInTime               *backupPITRModel      `tfsdk:"point_in_time"`
	Drill                     *backupDrillModel     `tfsdk:"drill"`
	SigningKeyWO              types.String          `tfsdk:"signing_key_wo"`
	SigningKeyWOVersion       types.Int64           `tfsdk:"signing_key_wo_version"`
	SigningKeySecret          *secretRefModel       `tfsdk:"signing_key_secret"`
	LastSuccessfulBackup      types.String          `tfsdk:"last_successful_backup"`
	RestoreWindow             types.Object          `tfsdk:"restore_window"`
	LastDrill                 types.Object          `tfsdk:"last_drill"`
	ArchiverHeartbeat         types.String          `tfsdk:"archiver_heartbeat"`
	ArchiverBehindBytes       types.Int64           `tfsdk:"archiver_behind_bytes"`
	NextRun                   types.String          `tfsdk:"next_run"`
	DriftedObjects            types.List            `tfsdk:"drifted_objects"`
	Timeouts                  timeouts.Value        `tfsdk:"timeouts"`
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

var errNoPolicyAnnotation = errors.New("the ConfigMap has no " + backup.PolicyAnnotation + " annotation: it was not created by spinops_backup_policy")

// policyRecord is the non-secret configuration of a policy, kept as an
// annotation on its ConfigMap so Read and import can rebuild the arguments
// exactly (null stays null).
type policyRecord struct {
	ServiceAccountName *string `json:"service_account_name,omitempty"`
	// ServiceAccountAnnotations is set (possibly empty) when the policy
	// makes its ServiceAccount.
	ServiceAccountAnnotations *map[string]string `json:"service_account_annotations,omitempty"`
	CredentialsSecretName     *string            `json:"credentials_secret_name,omitempty"`
	Retention                 *retentionRec      `json:"retention,omitempty"`
	MySQL                     *mysqlRec          `json:"mysql,omitempty"`
	Bucket                    *locationRec       `json:"bucket,omitempty"`
	Destination               *locationRec       `json:"destination,omitempty"`
	PointInTime               *bool              `json:"point_in_time,omitempty"`
	HasPointInTimeBlock       bool               `json:"has_point_in_time_block,omitempty"`
	HasSourcesBlock           bool               `json:"has_sources_block,omitempty"`
	SigningKeySecret          *[2]string         `json:"signing_key_secret,omitempty"`
	SigningKeyWOVersion       *int64             `json:"signing_key_wo_version,omitempty"`
}

type retentionRec struct {
	Count *int64 `json:"count,omitempty"`
	Days  *int64 `json:"days,omitempty"`
}

type mysqlRec struct {
	Host           *string    `json:"host,omitempty"`
	Port           *int64     `json:"port,omitempty"`
	User           *string    `json:"user,omitempty"`
	Databases      []string   `json:"databases,omitempty"`
	PasswordSecret *[2]string `json:"password_secret,omitempty"`
	TLS            *string    `json:"tls,omitempty"`
	CASecret       *[2]string `json:"ca_secret,omitempty"`
	// PasswordWOVersion is the password_wo_version the policy's Secret was
	// written with (the password itself is write-only), for import.
	PasswordWOVersion *int64 `json:"password_wo_version,omitempty"`
}

type locationRec struct {
	S3  *s3Rec  `json:"s3,omitempty"`
	GCS *gcsRec `json:"gcs,omitempty"`
}

type s3Rec struct {
	Bucket, Prefix, Region, Endpoint *string
	PathStyle                        *bool `json:",omitempty"`
	ForcePathStyle                   *bool
}

type gcsRec struct {
	Bucket, Prefix, Endpoint *string
}

func strPtr(v types.String) *string {
	if v.IsNull() || v.IsUnknown() {
		return nil
	}
	s := v.ValueString()
	return &s
}

func int64Ptr(v types.Int64) *int64 {
	if v.IsNull() || v.IsUnknown() {
		return nil
	}
	n := v.ValueInt64()
	return &n
}

func boolPtr(v types.Bool) *bool {
	if v.IsNull() || v.IsUnknown() {
		return nil
	}
	b := v.ValueBool()
	return &b
}

func locationRecord(l *backupLocationModel) *locationRec {
	if l == nil {
		return nil
	}
	r := &locationRec{}
	if s := l.S3; s != nil {
		r.S3 = &s3Rec{Bucket: strPtr(s.Bucket), Prefix: strPtr(s.Prefix), Region: strPtr(s.Region), Endpoint: strPtr(s.Endpoint), PathStyle: boolPtr(s.PathStyle), ForcePathStyle: boolPtr(s.ForcePathStyle)}
	}
	if g := l.GCS; g != nil {
		r.GCS = &gcsRec{Bucket: strPtr(g.Bucket), Prefix: strPtr(g.Prefix), Endpoint: strPtr(g.Endpoint)}
	}
	return r
}

func locationModel(r *locationRec) *backupLocationModel {
	if r == nil {
		return nil
	}
	m := &backupLocationModel{}
	if s := r.S3; s != nil {
		m.S3 = &backupS3Model{Bucket: types.StringPointerValue(s.Bucket), Prefix: types.StringPointerValue(s.Prefix), Region: types.StringPointerValue(s.Region),
			Endpoint: types.StringPointerValue(s.Endpoint), PathStyle: types.BoolPointerValue(s.PathStyle), ForcePathStyle: types.BoolPointerValue(s.ForcePathStyle)}
	}
	if g := r.GCS; g != nil {
		m.GCS = &backupGCSModel{Bucket: types.StringPointerValue(g.Bucket), Prefix: types.StringPointerValue(g.Prefix), Endpoint: types.StringPointerValue(g.Endpoint)}
	}
	return m
}

// backupConfigOf renders the engine configuration (no secrets).
func backupConfigOf(m *backupPolicyModel) (*backup.Config, error) {
	dest, err := storeConfig(m.Destination)
	if err != nil {
		return nil, fmt.Errorf("destination: %w", err)
	}
	c := &backup.Config{Destination: dest}
	if m.Retention != nil {
		c.Retention = backup.Retention{Count: int(m.Retention.Count.ValueInt64()), Days: int(m.Retention.Days.ValueInt64())}
	}
	if m.PointInTime != nil {
		c.PointInTime = m.PointInTime.Enabled.ValueBool()
	}
	if m.Sources != nil && m.Sources.MySQL != nil {
		s := m.Sources.MySQL
		var dbs []string
		for _, v := range s.Databases.Elements() {
			if sv, ok := v.(types.String); ok {
				dbs = append(dbs, sv.ValueString())
			}
		}
		c.MySQL = &backup.MySQLConfig{Host: s.Host.ValueString(), Port: int(s.Port.ValueInt64()), User: s.User.ValueString(), Databases: dbs, TLS: s.TLS.ValueString()}
		if s.CASecret != nil {
			c.MySQL.CAFile = backup.CAMountPath + "/" + s.CASecret.Key.ValueString()
		}
	}
	if m.Sources != nil && m.Sources.Bucket != nil {
		b, err := storeConfig(m.Sources.Bucket)
		if err != nil {
			return nil, fmt.Errorf("sources.bucket: %w", err)
		}
		c.Bucket = &b
	}
	return c, c.Validate()
}

func expandBackupPolicy(m *backupPolicyModel) (backup.Policy, error) {
	cfg, err := backupConfigOf(m)
	if err != nil {
		return backup.Policy{}, err
	}
	rec := policyRecord{
		ServiceAccountName:    strPtr(m.ServiceAccountName),
		CredentialsSecretName: strPtr(m.CredentialsSecretName),
		Destination:           locationRecord(m.Destination),
		HasSourcesBlock:       m.Sources != nil,
		HasPointInTimeBlock:   m.PointInTime != nil,
	}
	if m.Retention != nil {
		rec.Retention = &retentionRec{Count: int64Ptr(m.Retention.Count), Days: int64Ptr(m.Retention.Days)}
	}
	if m.PointInTime != nil {
		rec.PointInTime = boolPtr(m.PointInTime.Enabled)
	}
	rec.SigningKeyWOVersion = int64Ptr(m.SigningKeyWOVersion)
	p := backup.Policy{
		Name: m.Name.ValueString(), Namespace: m.Namespace.ValueString(),
		Schedule: m.Schedule.ValueString(), TimeZone: m.TimeZone.ValueString(), Image: m.Image.ValueString(),
		Config: *cfg, ServiceAccountName: m.ServiceAccountName.ValueString(), CredentialsSecret: m.CredentialsSecretName.ValueString(),
	}
	if m.Drill != nil {
		p.DrillSchedule = m.Drill.Schedule.ValueString()
	}
	if !m.ServiceAccountAnnotations.IsNull() {
		ann := map[string]string{}
		if d := m.ServiceAccountAnnotations.ElementsAs(context.Background(), &ann, false); d.HasError() {
			return p, fmt.Errorf("reading service_account_annotations: %v", d)
		}
		p.MakeServiceAccount, p.ServiceAccountAnnotations = true, ann
		rec.ServiceAccountAnnotations = &ann
	}
	if ref := m.SigningKeySecret; ref != nil {
		rec.SigningKeySecret = &[2]string{ref.Name.ValueString(), ref.Key.ValueString()}
		p.SigningKeySecretName, p.SigningKeySecretKey = ref.Name.ValueString(), ref.Key.ValueString()
	}
	if m.Sources != nil {
		if s := m.Sources.MySQL; s != nil {
			mr := &mysqlRec{Host: strPtr(s.Host), Port: int64Ptr(s.Port), User: strPtr(s.User), Databases: cfg.MySQL.Databases, TLS: strPtr(s.TLS),
				PasswordWOVersion: int64Ptr(s.PasswordWOVersion)}
			if ref := s.CASecret; ref != nil {
				mr.CASecret = &[2]string{ref.Name.ValueString(), ref.Key.ValueString()}
				p.CASecretName, p.CASecretKey = ref.Name.ValueString(), ref.Key.ValueString()
			}
			if ref := s.PasswordSecret; ref != nil {
				mr.PasswordSecret = &[2]string{ref.Name.ValueString(), ref.Key.ValueString()}
				p.PasswordSecretName, p.PasswordSecretKey = ref.Name.ValueString(), ref.Key.ValueString()
			}
			rec.MySQL = mr
		}
		rec.Bucket = locationRecord(m.Sources.Bucket)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return p, err
	}
	p.Annotation = string(b)
	return p, nil
}

// flattenBackupPolicy rebuilds the arguments from the cluster objects: the
// record annotation for the configuration, the CronJob for schedule, time
// zone and image (so edits made with kubectl show as drift), and the
// archiver Deployment for point_in_time. Write-only values and their
// versions are kept from state.
func flattenBackupPolicy(m *backupPolicyModel, cm, cj, drill *unstructured.Unstructured, hasArchiver bool) error {
	raw := cm.GetAnnotations()[backup.PolicyAnnotation]
	if raw == "" {
		return errNoPolicyAnnotation
	}
	var rec policyRecord
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		return fmt.Errorf("decoding the %s annotation: %w", backup.PolicyAnnotation, err)
	}
	m.ID = types.StringValue(m.Namespace.ValueString() + "/" + m.Name.ValueString())
	m.ServiceAccountName = types.StringPointerValue(rec.ServiceAccountName)
	m.ServiceAccountAnnotations = types.MapNull(types.StringType)
	if a := rec.ServiceAccountAnnotations; a != nil {
		m.ServiceAccountAnnotations, _ = types.MapValueFrom(context.Background(), types.StringType, *a)
	}
	m.CredentialsSecretName = types.StringPointerValue(rec.CredentialsSecretName)
	m.Destination = locationModel(rec.Destination)
	m.Retention = nil
	if r := rec.Retention; r != nil {
		m.Retention = &backupRetentionModel{Count: types.Int64PointerValue(r.Count), Days: types.Int64PointerValue(r.Days)}
	}
	var prior *backupMySQLModel
	if m.Sources != nil {
		prior = m.Sources.MySQL
	}
	m.Sources = nil
	if rec.HasSourcesBlock {
		m.Sources = &backupSourcesModel{Bucket: locationModel(rec.Bucket)}
		if r := rec.MySQL; r != nil {
			dbs, _ := types.ListValueFrom(context.Background(), types.StringType, r.Databases)
			if r.Databases == nil {
				dbs = types.ListNull(types.StringType)
			}
			s := &backupMySQLModel{Host: types.StringPointerValue(r.Host), Port: types.Int64PointerValue(r.Port), User: types.StringPointerValue(r.User),
				Databases: dbs, PasswordWO: types.StringNull(), PasswordWOVersion: types.Int64Null(), TLS: types.StringPointerValue(r.TLS)}
			if cs := r.CASecret; cs != nil {
				s.CASecret = &secretRefModel{Name: types.StringValue(cs[0]), Key: types.StringValue(cs[1])}
			}
			s.PasswordWOVersion = types.Int64PointerValue(r.PasswordWOVersion)
			if prior != nil && !prior.PasswordWOVersion.IsNull() {
				s.PasswordWOVersion = prior.PasswordWOVersion // recorded before the record held it
			}
			if ps := r.PasswordSecret; ps != nil {
				s.PasswordSecret = &secretRefModel{Name: types.StringValue(ps[0]), Key: types.StringValue(ps[1])}
			}
			m.Sources.MySQL = s
		}
	}
	m.PointInTime = nil
	if rec.HasPointInTimeBlock || hasArchiver {
		m.PointInTime = &backupPITRModel{Enabled: types.BoolPointerValue(rec.PointInTime)}
		if hasArchiver != (rec.PointInTime != nil && *rec.PointInTime) {
			m.PointInTime.Enabled = types.BoolValue(hasArchiver)
		}
	}
	if s, ok, _ := unstructured.NestedString(cj.Object, "spec", "schedule"); ok {
		m.Schedule = types.StringValue(s)
	}
	m.Drill = nil
	if drill != nil {
		if s, ok, _ := unstructured.NestedString(drill.Object, "spec", "schedule"); ok {
			m.Drill = &backupDrillModel{Schedule: types.StringValue(s)}
		}
	}
	m.SigningKeyWO = types.StringNull()
	m.SigningKeyWOVersion = types.Int64PointerValue(rec.SigningKeyWOVersion)
	m.SigningKeySecret = nil
	if ss := rec.SigningKeySecret; ss != nil {
		m.SigningKeySecret = &secretRefModel{Name: types.StringValue(ss[0]), Key: types.StringValue(ss[1])}
	}
	if tz, ok, _ := unstructured.NestedString(cj.Object, "spec", "timeZone"); ok {
		m.TimeZone = types.StringValue(tz)
	} else {
		m.TimeZone = types.StringNull()
	}
	if cs, ok, _ := unstructured.NestedSlice(cj.Object, "spec", "jobTemplate", "spec", "template", "spec", "containers"); ok && len(cs) > 0 {
		if c, ok := cs[0].(map[string]any); ok {
			if img, ok := c["image"].(string); ok {
				m.Image = types.StringValue(img)
			}
		}
	}
	return nil
}
