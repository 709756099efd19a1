package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/float64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
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
)

func (r *bridgeResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	computed := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: desc, PlanModifiers: keep}
	}
	strList := func(desc string, v ...validator.String) schema.ListAttribute {
		return schema.ListAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: desc,
			Validators: []validator.List{listvalidator.UniqueValues(), listvalidator.ValueStringsAre(v...)}}
	}
	conn := resourceKubernetesBlock()
	conn.MarkdownDescription = "The cluster the bridge runs in (Spinnaker's). Defaults to the provider's connection. " + kubeOverrideDesc

	resp.Schema = schema.Schema{
		MarkdownDescription: "The spinops bridge, deployed next to Spinnaker: a Deployment of `spinops bridge` (one replica on SQLite with a volume, " +
			"or two or more sharing a MySQL store), Services for agents (gRPC), for Clouddriver (the per-account Kubernetes endpoint) and for " +
			"health and metrics, a PodDisruptionBudget (two or more replicas), a NetworkPolicy, RBAC to withdraw the SpinnakerAccounts of agents gone " +
			"past their grace period, the TLS serving certificate (from cert-manager, an existing Secret, or a CA made here), the key ring that " +
			"derives agent credentials (generated into a Secret, never into state) and the admin token (write-only).\n\n" +
			"`address`, `ca_certificate` and the admin token are what the provider's `bridge` block and every `spinops_agent_account` need: " +
			"see *Configuring the provider from this resource* below.",
		Attributes: map[string]schema.Attribute{
			"id": computed("`<namespace>/<name>`."),
			"name": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("spinops-bridge"), PlanModifiers: replace,
				MarkdownDescription: "Name of the Deployment, its Services (`<name>`, `<name>-endpoint`, `<name>-ops`) and Secrets. Changing it replaces the bridge.",
				Validators:          []validator.String{validators.DNSLabel()}},
			"namespace": schema.StringAttribute{Required: true, PlanModifiers: replace,
				MarkdownDescription: "Namespace the bridge runs in; created (and on destroy deleted) when it does not exist.",
				Validators:          []validator.String{validators.NamespaceName()}},
			"image": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(defaultSpinopsImage()),
				MarkdownDescription: "The spinops image (it runs `spinops bridge`). Defaults to `ghcr.io/spinops/spinops:<provider version>`."},
			"replicas": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(1),
				MarkdownDescription: "Replicas. More than one needs `mysql`: replicas share the registry and fence each account's lease in it.",
				Validators:          []validator.Int64{int64validator.Between(1, 20)}},
			"admin_token_wo": schema.StringAttribute{Optional: true, WriteOnly: true, Sensitive: true,
				MarkdownDescription: "The admin token the provider authenticates with (the provider's `bridge.token`). Write-only: written to the `<name>-admin` Secret, " +
					"never stored in state or plan. Change `admin_token_wo_version` to write a new one. Needed when the bridge is created and whenever " +
					"`admin_token_wo_version` changes (the plan says so); an imported bridge whose Secret records the configured version keeps its token without it.",
				Validators: []validator.String{stringvalidator.LengthAtLeast(24)}},
			"admin_token_wo_version": schema.Int64Attribute{Required: true,
				MarkdownDescription: "Change this number to write `admin_token_wo` again (and roll the bridge so it reads it). Recorded on the admin token Secret, so an import reads it back."},
			"external_address": schema.StringAttribute{Optional: true,
				MarkdownDescription: "`host:port` agents outside the cluster and the provider dial: the edge's load balancer (for example `modules/aws/edge`'s `bridge_address`). " +
					"Its host is added to the serving certificate. Default: the gRPC Service's cluster name.",
				Validators: []validator.String{validators.HostPort()}},
			"dns_names": strList("Extra names on the serving certificate (generated or cert-manager).", stringvalidator.LengthAtLeast(1)),
			"spinnaker_namespace": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Namespace of the zone's SpinnakerAccounts (`spinops_zone.<z>.namespace`). The bridge gets get/patch on `spinnakeraccounts` there, " +
					"disables the account of an agent gone longer than its grace period (Clouddriver drops it) and enables it again when the agent is back; " +
					"Clouddriver pods of that namespace may reach the endpoint. Without it, nothing is withdrawn.",
				Validators: []validator.String{validators.NamespaceName()}},
			"grace_period": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("5m"),
				MarkdownDescription: "Default time a disconnected account stays known before it is withdrawn (an account's own `grace_period` wins).",
				Validators:          []validator.String{validators.Duration()}},
			"refresh_account_rate": schema.Float64Attribute{Optional: true,
				MarkdownDescription: "On-demand re-cache requests per second the bridge may send to one account's Clouddriver (`--refresh-account-rate`; default 50). " +
					"With N objects changing at once each is re-read about every N ÷ rate seconds: 100 hot objects need about 200 for a p99 under a second " +
					"(bench/RESULTS.md). A real Clouddriver starts a `kubectl` process per request: raise it only for a Clouddriver sized for it.",
				Validators: []validator.Float64{float64validator.Between(0.001, 10000)}},
			"refresh_account_burst": schema.Int64Attribute{Optional: true,
				MarkdownDescription: "Burst of `refresh_account_rate` (`--refresh-account-burst`; default 100).",
				Validators:          []validator.Int64{int64validator.Between(1, 100000)}},
			"refresh_global_rate": schema.Float64Attribute{Optional: true,
				MarkdownDescription: "Re-cache requests per second over all accounts (`--refresh-global-rate`; default 200).",
				Validators:          []validator.Float64{float64validator.Between(0.001, 10000)}},
			"refresh_global_burst": schema.Int64Attribute{Optional: true,
				MarkdownDescription: "Burst of `refresh_global_rate` (`--refresh-global-burst`; default 400).",
				Validators:          []validator.Int64{int64validator.Between(1, 100000)}},
			"grpc_allowed_cidrs": strList("CIDR blocks that may reach the gRPC port (agents, the provider) through the NetworkPolicy. Default: anywhere "+
				"(every call is authenticated by TLS and a credential); narrow it to the edge's and your CI's ranges.", validators.CIDR()),
			"health_check_cidrs": strList("CIDR blocks that may reach the ops port (`/readyz`), for a load balancer's health checks: the subnets of modules/aws/edge's bridge NLB (its VPC CIDR).", validators.CIDR()),
			"aws_target_group_arn": schema.StringAttribute{Optional: true,
				MarkdownDescription: "An NLB IP target group (modules/aws/edge's `bridge_target_group_arn`): a `TargetGroupBinding` registers the bridge pods in it. Needs the AWS Load Balancer Controller in the cluster (checked before anything is applied).",
				Validators:          []validator.String{validators.TargetGroupARN()}},
			"metrics_namespaces": strList("Namespaces (besides the bridge's own) whose pods may scrape `/metrics` on the ops port, e.g. your Prometheus's.", validators.NamespaceName()),
			"requests": schema.MapAttribute{Optional: true, ElementType: types.StringType,
				MarkdownDescription: "Resource requests, e.g. `{ cpu = \"100m\", memory = \"256Mi\" }`.", Validators: []validator.Map{validators.Quantities()}},
			"limits": schema.MapAttribute{Optional: true, ElementType: types.StringType,
				MarkdownDescription: "Resource limits.", Validators: []validator.Map{validators.Quantities()}},
			"wait": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Wait for the Deployment to roll out (when the cluster has nodes at all; a cluster without any gets a warning instead)."},

			"address":      computed("What agents and the provider's `bridge.address` dial: `external_address`, or `<name>.<namespace>.svc:9091`."),
			"endpoint_url": computed("The per-account Kubernetes endpoint Clouddriver reaches (written into the kubeconfigs the bridge hands out)."),
			"drifted_objects": driftedObjectsAttribute("bridge's objects (Deployment, Services, NetworkPolicy, PodDisruptionBudget, RBAC, volume claim, Certificate, TargetGroupBinding)",
				"The Secrets it generates are only checked to exist (a missing one makes the next apply install the bridge again, keeping a key ring that survived). "+
					"Not checked right after an import: the first apply brings the configuration the objects are compared with."),
			"ca_certificate": schema.StringAttribute{Computed: true,
				MarkdownDescription: "PEM CA of the serving certificate (`ca.crt` of the TLS Secret): the provider's `bridge.tls.ca_certificate`. Empty for a Secret without `ca.crt` (a public CA)."},
			"tls_secret":  computed("The Secret holding the serving certificate."),
			"keys_secret": computed("The Secret holding the key ring (`bridge.keys`). Rotate with `spinops bridge keygen`; see the bridge guide."),
		},
		Blocks: map[string]schema.Block{
			"kubernetes": conn,
			"storage": schema.SingleNestedBlock{
				MarkdownDescription: "The SQLite store's volume (when `mysql` is not set).",
				Attributes: map[string]schema.Attribute{
					"size": schema.StringAttribute{Optional: true, MarkdownDescription: "Size of the PersistentVolumeClaim (default `1Gi`).",
						Validators: []validator.String{validators.Quantity()}},
					"storage_class": schema.StringAttribute{Optional: true, MarkdownDescription: "Its storage class (default: the cluster's)."},
				},
				Validators: nil,
			},
			"mysql": schema.SingleNestedBlock{
				MarkdownDescription: "The MySQL store (the installation's database), shared by replicas. The DSN is read from a Secret you create " +
					"(`user:password@tcp(host:3306)/database`): it never passes through Terraform.",
				Attributes: map[string]schema.Attribute{
					"dsn_secret_name": schema.StringAttribute{Optional: true, MarkdownDescription: "Secret in `namespace` holding the DSN.",
						Validators: []validator.String{validators.DNSSubdomain()}},
					"dsn_secret_key": schema.StringAttribute{Optional: true, MarkdownDescription: "Its key (default `dsn`)."},
				},
			},
			"grpc_service": schema.SingleNestedBlock{
				MarkdownDescription: "The agent-facing Service (`<name>`). `LoadBalancer` makes it a passthrough network load balancer (GKE's, for example); TLS stays with the bridge. " +
					"On AWS, prefer modules/aws/edge's NLB with `aws_target_group_arn`.",
				Attributes: map[string]schema.Attribute{
					"type": schema.StringAttribute{Optional: true, MarkdownDescription: "`ClusterIP` (default) or `LoadBalancer`.",
						Validators: []validator.String{stringvalidator.OneOf("ClusterIP", "LoadBalancer")}},
					"port": schema.Int64Attribute{Optional: true, MarkdownDescription: "The Service's port (default 9091; 443 suits a load balancer). The pods listen on 9091.",
						Validators: []validator.Int64{int64validator.Between(1, 65535)}},
					"load_balancer_ip": schema.StringAttribute{Optional: true, MarkdownDescription: "A reserved address for the load balancer (e.g. a `google_compute_address`)."},
					"source_ranges":    strList("CIDR blocks the cloud's firewall lets reach the load balancer (`loadBalancerSourceRanges`): the agents' egress and where Terraform runs.", validators.CIDR()),
					"annotations": schema.MapAttribute{Optional: true, ElementType: types.StringType,
						MarkdownDescription: "Annotations of the Service (a cloud's load balancer settings)."},
				},
			},
			"tls": schema.SingleNestedBlock{
				MarkdownDescription: "Where the serving certificate comes from; exactly one of `secret_name`, `cert_manager_issuer` or `generate`. " +
					"Without this block a CA and certificate are generated into `<name>-tls` (their keys never enter state).",
				Attributes: map[string]schema.Attribute{
					"secret_name": schema.StringAttribute{Optional: true, MarkdownDescription: "An existing `kubernetes.io/tls` Secret in `namespace` (`tls.crt`, `tls.key`, optionally `ca.crt`).",
						Validators: []validator.String{validators.DNSSubdomain()}},
					"cert_manager_issuer": schema.StringAttribute{Optional: true, MarkdownDescription: "A cert-manager issuer: a Certificate for the Services' names (and `external_address`'s host and `dns_names`) is created and renewed by cert-manager.",
						Validators: []validator.String{validators.DNSSubdomain()}},
					"cert_manager_issuer_kind": schema.StringAttribute{Optional: true, MarkdownDescription: "`Issuer` (default) or `ClusterIssuer`.",
						Validators: []validator.String{stringvalidator.OneOf("Issuer", "ClusterIssuer"), stringvalidator.AlsoRequires(path.MatchRelative().AtParent().AtName("cert_manager_issuer"))}},
					"generate": schema.BoolAttribute{Optional: true, MarkdownDescription: "Generate a CA and serving certificate once (delete the Secret to renew; agents get the new CA on their next apply)."},
				},
			},
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}
