package provider

import (
	dsschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
)

// The s3 and gcs blocks of spinops_backup_policy (destination, sources.bucket)
// and spinops_backups (destination), described once. path_style is the
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

func backupLocationBlockResource(what string) rschema.SingleNestedBlock {
	sub := func(fs []field, desc string) rschema.SingleNestedBlock {
		a := map[string]rschema.Attribute{}
		for _, f := range fs {
			if f.kind == "bool" {
				b := rschema.BoolAttribute{Optional: true, MarkdownDescription: f.desc}
				if f.name == "force_path_style" {
					b.DeprecationMessage = forcePathStyleDeprecation
				}
				a[f.name] = b
				continue
			}
			a[f.name] = rschema.StringAttribute{Optional: true, MarkdownDescription: f.desc}
		}
		return rschema.SingleNestedBlock{MarkdownDescription: desc, Attributes: a}
	}
	return rschema.SingleNestedBlock{
		MarkdownDescription: what + ": one `s3` or `gcs` block.",
		Blocks: map[string]rschema.Block{
			"s3":  sub(backupS3Fields, "An S3 or S3-compatible (MinIO) bucket."),
			"gcs": sub(backupGCSFields, "A Cloud Storage bucket."),
		},
	}
}

func backupLocationBlockDataSource(what string) dsschema.SingleNestedBlock {
	sub := func(fs []field, desc string) dsschema.SingleNestedBlock {
		a := map[string]dsschema.Attribute{}
		for _, f := range fs {
			if f.kind == "bool" {
				b := dsschema.BoolAttribute{Optional: true, MarkdownDescription: f.desc}
				if f.name == "force_path_style" {
					b.DeprecationMessage = forcePathStyleDeprecation
				}
				a[f.name] = b
				continue
			}
			a[f.name] = dsschema.StringAttribute{Optional: true, MarkdownDescription: f.desc}
		}
		return dsschema.SingleNestedBlock{MarkdownDescription: desc, Attributes: a}
	}
	return dsschema.SingleNestedBlock{
		MarkdownDescription: what + ": one `s3` or `gcs` block.",
		Blocks: map[string]dsschema.Block{
			"s3":  sub(backupS3Fields, "An S3 or S3-compatible (MinIO) bucket."),
			"gcs": sub(backupGCSFields, "A Cloud Storage bucket."),
		},
	}
}
