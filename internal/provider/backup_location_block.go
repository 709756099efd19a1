package provider

import (
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	dsschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/spinops/terraform-provider-spinops/internal/backup"

	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
)

// The s3 and gcs blocks of spinops_backup_policy (destination, sources.bucket)
// and spinops_backups (destination), written once: schema, model, checks and
// the conversion to the backup engine's StoreConfig. path_style is the
// provider's one name for path-style addressing (spinops_managed_spinnaker
// uses it too); force_path_style, the name of 0.1, stays as a deprecated
// alias so existing configurations and states keep working.

const forcePathStyleDeprecation = "Use `path_style` (the name spinops_managed_spinnaker uses too). `force_path_style` will be removed in a future major version."

var backupS3Fields = []field{
	{name: "bucket", kind: "string", desc: "Bucket name. Required in this block."},
	{name: "prefix", kind: "string", desc: "Key prefix."},
	{name: "region", kind: "string", desc: "Region (default: the provider's / `us-east-1`)."},
	{name: "endpoint", kind: "string", desc: "Endpoint of an S3-compatible server, e.g. `http://minio:9000`."},
	{name: "path_style", kind: "bool", desc: "Path-style addressing (MinIO and most S3-compatible servers need it)."},
	{name: "force_path_style", kind: "bool", desc: "Deprecated: use `path_style`."},
}

var backupGCSFields = []field{
	{name: "bucket", kind: "string", desc: "Bucket name. Required in this block."},
	{name: "prefix", kind: "string", desc: "Object name prefix."},
	{name: "endpoint", kind: "string", desc: "Endpoint of an emulator (fake-gcs-server)."},
}

// backupLocationBlock renders the s3/gcs block into one schema package:
// str and boolean make its attributes (deprecation is set for the
// deprecated field), block a single nested block.
func backupLocationBlock[A, B any](what string, str func(desc string) A, boolean func(desc, deprecation string) A,
	block func(desc string, attrs map[string]A, blocks map[string]B) B) B {
	sub := func(fs []field, desc string) B {
		a := map[string]A{}
		for _, f := range fs {
			switch {
			case f.kind == "bool" && f.name == "force_path_style":
				a[f.name] = boolean(f.desc, forcePathStyleDeprecation)
			case f.kind == "bool":
				a[f.name] = boolean(f.desc, "")
			default:
				a[f.name] = str(f.desc)
			}
		}
		return block(desc, a, nil)
	}
	return block(what+": one `s3` or `gcs` block.", nil, map[string]B{
		"s3":  sub(backupS3Fields, "An S3 or S3-compatible (MinIO) bucket."),
		"gcs": sub(backupGCSFields, "A Cloud Storage bucket."),
	})
}

func backupLocationBlockResource(what string) rschema.SingleNestedBlock {
	return backupLocationBlock(what,
		func(d string) rschema.Attribute {
			return rschema.StringAttribute{Optional: true, MarkdownDescription: d}
		},
		func(d, dep string) rschema.Attribute {
			return rschema.BoolAttribute{Optional: true, MarkdownDescription: d, DeprecationMessage: dep}
		},
		func(d string, a map[string]rschema.Attribute, b map[string]rschema.SingleNestedBlock) rschema.SingleNestedBlock {
			return rschema.SingleNestedBlock{MarkdownDescription: d, Attributes: a,
				Blocks: blocksOf(b, func(x rschema.SingleNestedBlock) rschema.Block { return x })}
		})
}

func backupLocationBlockDataSource(what string) dsschema.SingleNestedBlock {
	return backupLocationBlock(what,
		func(d string) dsschema.Attribute {
			return dsschema.StringAttribute{Optional: true, MarkdownDescription: d}
		},
		func(d, dep string) dsschema.Attribute {
			return dsschema.BoolAttribute{Optional: true, MarkdownDescription: d, DeprecationMessage: dep}
		},
		func(d string, a map[string]dsschema.Attribute, b map[string]dsschema.SingleNestedBlock) dsschema.SingleNestedBlock {
			return dsschema.SingleNestedBlock{MarkdownDescription: d, Attributes: a,
				Blocks: blocksOf(b, func(x dsschema.SingleNestedBlock) dsschema.Block { return x })}
		})
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

func validateLocation(p path.Path, l *backupLocationModel, required bool, need func(path.Path, attr.Value), diags *diag.Diagnostics) {
	if l == nil || (l.S3 == nil && l.GCS == nil) {
		if required {
			diags.AddAttributeError(p, "Missing bucket", p.String()+" needs an s3 or a gcs block.")
		}
		return
	}
	// A dynamic block whose for_each is not known yet arrives as a block of
	// unknowns: whether it will exist is not known, so the conflict waits.
	if l.S3 != nil && l.GCS != nil && !validators.PlaceholderValues(l.S3.Bucket, l.S3.Prefix, l.S3.Region, l.S3.Endpoint, l.S3.PathStyle, l.S3.ForcePathStyle) &&
		!validators.PlaceholderValues(l.GCS.Bucket, l.GCS.Prefix, l.GCS.Endpoint) {
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

// storeConfig turns an s3/gcs block into the engine's StoreConfig.
func storeConfig(l *backupLocationModel) (backup.StoreConfig, error) {
	switch {
	case l == nil:
		return backup.StoreConfig{}, fmt.Errorf("no bucket given")
	case l.S3 != nil:
		return backup.StoreConfig{
			URL:       "s3://" + l.S3.Bucket.ValueString() + "/" + strings.Trim(l.S3.Prefix.ValueString(), "/"),
			Endpoint:  l.S3.Endpoint.ValueString(),
			Region:    l.S3.Region.ValueString(),
			PathStyle: l.S3.PathStyle.ValueBool() || l.S3.ForcePathStyle.ValueBool(),
		}, nil
	case l.GCS != nil:
		return backup.StoreConfig{
			URL:      "gs://" + l.GCS.Bucket.ValueString() + "/" + strings.Trim(l.GCS.Prefix.ValueString(), "/"),
			Endpoint: l.GCS.Endpoint.ValueString(),
		}, nil
	}
	return backup.StoreConfig{}, fmt.Errorf("no s3 or gcs block")
}
