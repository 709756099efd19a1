package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var _ datasource.DataSourceWithConfigure = &backupsDataSource{}

func newBackupsDataSource() datasource.DataSource { return &backupsDataSource{} }

type backupsDataSource struct {
	data *providerData
}

type backupsModel struct {
	Destination   *backupLocationModel `tfsdk:"destination"`
	Backups       []restorePointModel  `tfsdk:"backups"`
	Latest        types.String         `tfsdk:"latest"`
	RestoreWindow types.Object         `tfsdk:"restore_window"`
	Drills        types.List           `tfsdk:"drills"`
}

type restorePointModel struct {
	ID             types.String `tfsdk:"id"`
	SnapshotAt     types.String `tfsdk:"snapshot_at"`
	CompletedAt    types.String `tfsdk:"completed_at"`
	StoredBytes    types.Int64  `tfsdk:"stored_bytes"`
	Databases      types.List   `tfsdk:"databases"`
	BucketObjects  types.Int64  `tfsdk:"bucket_objects"`
	BinlogFile     types.String `tfsdk:"binlog_file"`
	BinlogPosition types.Int64  `tfsdk:"binlog_position"`
	ToolVersion    types.String `tfsdk:"tool_version"`
}

func (d *backupsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_backups"
}

func (d *backupsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The restore points at a backup destination (the `destination` of a `spinops_backup_policy`): every complete " +
			"backup, oldest first, and the window a point-in-time restore can reach. Incomplete (interrupted) backups are not listed. " +
			"Reads the manifests with the provider's `aws` / `gcp` credentials.",
		Attributes: map[string]schema.Attribute{
			"latest":         schema.StringAttribute{Computed: true, MarkdownDescription: "Id of the newest complete backup, or null."},
			"restore_window": schema.ObjectAttribute{Computed: true, AttributeTypes: restoreWindowAttrTypes, MarkdownDescription: restoreWindowDesc},
			"drills": schema.ListAttribute{Computed: true, ElementType: types.ObjectType{AttrTypes: drillAttrTypes},
				MarkdownDescription: "The newest restore drills recorded at the destination (up to 20), oldest first: " + drillDesc},
			"backups": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "Complete backups, oldest first.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"id":              schema.StringAttribute{Computed: true, MarkdownDescription: "Backup id (`spinops backup restore --backup ID`)."},
					"snapshot_at":     schema.StringAttribute{Computed: true, MarkdownDescription: "Time of the consistent snapshot (RFC 3339)."},
					"completed_at":    schema.StringAttribute{Computed: true, MarkdownDescription: "When the manifest was written (RFC 3339)."},
					"stored_bytes":    schema.Int64Attribute{Computed: true, MarkdownDescription: "Bytes this backup stored (compressed)."},
					"databases":       schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Databases in the snapshot."},
					"bucket_objects":  schema.Int64Attribute{Computed: true, MarkdownDescription: "Bucket objects in the backup."},
					"binlog_file":     schema.StringAttribute{Computed: true, MarkdownDescription: "Binary-log file of the snapshot."},
					"binlog_position": schema.Int64Attribute{Computed: true, MarkdownDescription: "Binary-log position of the snapshot."},
					"tool_version":    schema.StringAttribute{Computed: true, MarkdownDescription: "spinops version that wrote it."},
				}},
			},
		},
		Blocks: map[string]schema.Block{
			"destination": backupLocationBlockDataSource("The backup destination"),
		},
	}
}

func (d *backupsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	var diags diag.Diagnostics
	d.data, diags = providerDataFrom(req.ProviderData)
	resp.Diagnostics.Append(diags...)
}

func (d *backupsDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m backupsModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	need := func(p path.Path, v attr.Value) {
		if v.IsNull() {
			resp.Diagnostics.AddAttributeError(p, "Missing bucket", p.String()+" is required in this block.")
		}
	}
	validateLocation(path.Root("destination"), m.Destination, true, need, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	sc, err := storeConfig(m.Destination)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("destination"), "Invalid destination", err.Error())
		return
	}
	if d.data == nil {
		resp.Diagnostics.AddError("Provider not configured", "spinops_backups needs a configured provider")
		return
	}
	l, err := listBackups(ctx, d.data, sc)
	if err != nil {
		resp.Diagnostics.AddError(fmt.Sprintf("listing backups at %s", sc.URL), err.Error())
		return
	}
	m.Latest = types.StringNull()
	m.RestoreWindow = types.ObjectNull(restoreWindowAttrTypes)
	setListingComputed(l, &m.Latest, &m.RestoreWindow)
	drills := []attr.Value{}
	for _, d := range l.Drills {
		drills = append(drills, drillObject(d))
	}
	dl, diags := types.ListValue(types.ObjectType{AttrTypes: drillAttrTypes}, drills)
	resp.Diagnostics.Append(diags...)
	m.Drills = dl
	m.Backups = []restorePointModel{}
	for _, b := range l.Complete {
		rp := restorePointModel{
			ID: types.StringValue(b.ID), SnapshotAt: types.StringValue(b.SnapshotAt.UTC().Format(time.RFC3339)),
			CompletedAt: types.StringValue(b.CompletedAt.UTC().Format(time.RFC3339)), StoredBytes: types.Int64Value(b.StoredBytes),
			BinlogFile: types.StringNull(), BinlogPosition: types.Int64Null(), ToolVersion: types.StringValue(b.ToolVersion),
			BucketObjects: types.Int64Value(0),
		}
		var dbs []string
		if b.MySQL != nil {
			for _, db := range b.MySQL.Databases {
				dbs = append(dbs, db.Name)
			}
			if b.MySQL.BinlogFile != "" {
				rp.BinlogFile = types.StringValue(b.MySQL.BinlogFile)
				rp.BinlogPosition = types.Int64Value(int64(b.MySQL.BinlogPosition))
			}
		}
		if dbs == nil {
			dbs = []string{}
		}
		lv, diags := types.ListValueFrom(ctx, types.StringType, dbs)
		resp.Diagnostics.Append(diags...)
		rp.Databases = lv
		if b.Bucket != nil {
			rp.BucketObjects = types.Int64Value(int64(len(b.Bucket.Objects)))
		}
		m.Backups = append(m.Backups, rp)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}
