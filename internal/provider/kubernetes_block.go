package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	dsschema "github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	provschema "github.com/hashicorp/terraform-plugin-framework/provider/schema"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/client-go/rest"

	"github.com/spinops/terraform-provider-spinops/internal/kube"

	"github.com/spinops/terraform-provider-spinops/internal/provider/validators"
)

// The `kubernetes` block is shared by the provider (the default connection)
// and every resource or data source that touches a cluster (an override that
// replaces the default as a whole). The schema is described once, as a
// framework-neutral list of fields, and rendered into each schema package.
//
// Static secrets (token, client_key) exist only in the provider's block:
// provider configuration never reaches state, while a resource's or data
// source's arguments do. Overrides use credential sources that carry no
// secret (kubeconfig file, exec plugin, EKS, GKE); a second cluster with a
// static token is reached through a provider alias.

// Environment variables read for the provider-level `kubernetes` block.
const (
	envKubeHost          = "SPINOPS_KUBE_HOST"
	envKubeCA            = "SPINOPS_KUBE_CLUSTER_CA_CERTIFICATE"
	envKubeInsecure      = "SPINOPS_KUBE_INSECURE"
	envKubeToken         = "SPINOPS_KUBE_TOKEN"
	envKubeClientCert    = "SPINOPS_KUBE_CLIENT_CERTIFICATE"
	envKubeClientKey     = "SPINOPS_KUBE_CLIENT_KEY"
	envKubeConfigPath    = "SPINOPS_KUBE_CONFIG_PATH"
	envKubeConfigContext = "SPINOPS_KUBE_CONFIG_CONTEXT"
	envKubeExecCommand   = "SPINOPS_KUBE_EXEC_COMMAND"
	envKubeExecArgs      = "SPINOPS_KUBE_EXEC_ARGS"
	envKubeExecEnv       = "SPINOPS_KUBE_EXEC_ENV"
	envKubeExecAPI       = "SPINOPS_KUBE_EXEC_API_VERSION"
	envKubeEKSCluster    = "SPINOPS_KUBE_EKS_CLUSTER_NAME"
	envKubeEKSRegion     = "SPINOPS_KUBE_EKS_REGION"
	envKubeEKSRole       = "SPINOPS_KUBE_EKS_ROLE_ARN"
	envKubeGKE           = "SPINOPS_KUBE_GKE"
)

// kubernetesModel is the override block of resources and data sources.
type kubernetesModel struct {
	Host                 types.String `tfsdk:"host"`
	ClusterCACertificate types.String `tfsdk:"cluster_ca_certificate"`
	Insecure             types.Bool   `tfsdk:"insecure"`
	ClientCertificate    types.String `tfsdk:"client_certificate"`
	ConfigPath           types.String `tfsdk:"config_path"`
	ConfigContext        types.String `tfsdk:"config_context"`
	Exec                 *execModel   `tfsdk:"exec"`
	EKS                  *eksModel    `tfsdk:"eks"`
	GKE                  *gkeModel    `tfsdk:"gke"`
}

// providerKubernetesModel adds the static secrets the provider block allows.
type providerKubernetesModel struct {
	kubernetesModel
	Token     types.String `tfsdk:"token"`
	ClientKey types.String `tfsdk:"client_key"`
}

type execModel struct {
	APIVersion types.String `tfsdk:"api_version"`
	Command    types.String `tfsdk:"command"`
	Args       types.List   `tfsdk:"args"`
	Env        types.Map    `tfsdk:"env"`
}

type eksModel struct {
	ClusterName types.String `tfsdk:"cluster_name"`
	Region      types.String `tfsdk:"region"`
	RoleARN     types.String `tfsdk:"role_arn"`
}

type gkeModel struct {
	Scopes types.List `tfsdk:"scopes"`
}

// field is one attribute of a block, described once for every schema package.
type field struct {
	name, desc, env string
	kind            string // "string", "bool", "list", "map"
	sensitive       bool
	validators      []validator.String
	// of is the value a top-level string field sets in the connection;
	// providerConnection fills it from env when the block leaves it empty.
	of func(*kube.Connection) *string
}

func kubeFields(withSecrets bool) []field {
	fs := []field{
		{name: "host", kind: "string", env: envKubeHost, of: func(c *kube.Connection) *string { return &c.Host }, desc: "The API server URL, e.g. `https://1.2.3.4:6443`. Overrides the server a kubeconfig names."},
		{name: "cluster_ca_certificate", kind: "string", env: envKubeCA, of: func(c *kube.Connection) *string { return &c.ClusterCACertificate }, desc: "PEM-encoded CA bundle the API server's certificate is verified against."},
		{name: "insecure", kind: "bool", env: envKubeInsecure, desc: "Skip TLS verification of the API server. For throwaway test clusters only."},
		{name: "client_certificate", kind: "string", env: envKubeClientCert, of: func(c *kube.Connection) *string { return &c.ClientCertificate }, desc: "PEM-encoded client certificate for TLS client authentication."},
		{name: "config_path", kind: "string", env: envKubeConfigPath, of: func(c *kube.Connection) *string { return &c.ConfigPath }, desc: "Path to a kubeconfig file (`~` is expanded; several paths may be joined with `:`)."},
		{name: "config_context", kind: "string", env: envKubeConfigContext, of: func(c *kube.Connection) *string { return &c.ConfigContext }, desc: "The kubeconfig context to use; defaults to the file's current context."},
	}
	if withSecrets {
		fs = append(fs,
			field{name: "token", kind: "string", env: envKubeToken, of: func(c *kube.Connection) *string { return &c.Token }, sensitive: true, desc: "A bearer token (e.g. a ServiceAccount token)."},
			field{name: "client_key", kind: "string", env: envKubeClientKey, of: func(c *kube.Connection) *string { return &c.ClientKey }, sensitive: true, desc: "PEM-encoded private key matching `client_certificate`."},
		)
	}
	return fs
}

var execFields = []field{
	{name: "api_version", kind: "string", env: envKubeExecAPI, desc: "The `client.authentication.k8s.io` API version the plugin speaks; defaults to `client.authentication.k8s.io/v1beta1`."},
	{name: "command", kind: "string", env: envKubeExecCommand, desc: "The credential plugin to run, e.g. `aws` or `gke-gcloud-auth-plugin`."},
	{name: "args", kind: "list", env: envKubeExecArgs, desc: "Arguments to the plugin (environment variable: a JSON array or space-separated words)."},
	{name: "env", kind: "map", env: envKubeExecEnv, desc: "Extra environment variables for the plugin (environment variable: a JSON object)."},
}

var eksFields = []field{
	{name: "cluster_name", kind: "string", env: envKubeEKSCluster, desc: "The EKS cluster's name, signed into the token as `x-k8s-aws-id`."},
	{name: "region", kind: "string", env: envKubeEKSRegion, desc: "The cluster's region; defaults to the provider's `aws.region`."},
	{name: "role_arn", kind: "string", env: envKubeEKSRole, desc: "A role to assume before signing the token.", validators: []validator.String{validators.RoleARN()}},
}

var gkeFields = []field{
	{name: "scopes", kind: "list", desc: "OAuth2 scopes of the access token; defaults to `https://www.googleapis.com/auth/cloud-platform`."},
}

func fieldDesc(f field) string {
	if f.env == "" {
		return f.desc
	}
	return fmt.Sprintf("%s Environment variable: `%s`.", f.desc, f.env)
}

const kubeBlockDesc = "How to reach the Kubernetes API server. Credential sources, by precedence: `config_path` (+ `config_context`), `exec`, `eks`, `gke`, `client_certificate` + `client_key`, `token`."

const kubeOverrideDesc = "The cluster connection for this object, replacing the provider's `kubernetes` block as a whole. Static secrets (`token`, `client_key`) are only accepted in the provider block, since arguments here are stored in state; use a kubeconfig file, `exec`, `eks` or `gke` here, or a provider alias."

func kubeSourceValidators(self string) []validator.Object {
	others := []string{"exec", "eks", "gke"}
	var ps []path.Expression
	for _, o := range others {
		if o != self {
			ps = append(ps, path.MatchRelative().AtParent().AtName(o))
		}
	}
	return []validator.Object{validators.ConflictsWithBlock(ps...)}
}

// blockKit builds one schema package's attributes and blocks; renderKube
// does the rest once for all three packages (provider, data source,
// resource).
type blockKit[A, B any] struct {
	str, boolean, list, mp func(desc string, f field) A
	block                  func(desc string, attrs map[string]A, blocks map[string]B, v []validator.Object) B
}

// kubeBlockFor names the descriptions of the block for the provider and
// for an object's override.
type kubeBlockFor struct {
	desc               string
	withSecrets, isEnv bool
	eksDesc, gkeDesc   string
}

var (
	providerKubeBlock = kubeBlockFor{
		desc: kubeBlockDesc + " Every attribute may instead come from its environment variable.", withSecrets: true, isEnv: true,
		eksDesc: "Sign an EKS token (as `aws eks get-token` does) with the provider's AWS credentials; needs no CLI. Set `" + envKubeEKSCluster + "` to enable it from the environment.",
		gkeDesc: "Use a Google access token from the provider's `gcp` credentials or Application Default Credentials; needs no CLI. Set `" + envKubeGKE + "=true` to enable it from the environment.",
	}
	overrideKubeBlock = kubeBlockFor{
		desc:    kubeOverrideDesc,
		eksDesc: "Sign an EKS token with the provider's AWS credentials.",
		gkeDesc: "Use a Google access token from the provider's `gcp` credentials.",
	}
)

// renderKube renders the `kubernetes` block from the field tables.
func renderKube[A, B any](k blockKit[A, B], b kubeBlockFor) B {
	attr := func(f field) A {
		d := f.desc
		if b.isEnv {
			d = fieldDesc(f)
		}
		switch f.kind {
		case "bool":
			return k.boolean(d, f)
		case "list":
			return k.list(d, f)
		case "map":
			return k.mp(d, f)
		default:
			return k.str(d, f)
		}
	}
	attrs := func(fs []field) map[string]A {
		a := map[string]A{}
		for _, f := range fs {
			a[f.name] = attr(f)
		}
		return a
	}
	return k.block(b.desc, attrs(kubeFields(b.withSecrets)), map[string]B{
		"exec": k.block("Run a client-go credential plugin for a token.", attrs(execFields), nil, kubeSourceValidators("exec")),
		"eks":  k.block(b.eksDesc, attrs(eksFields), nil, kubeSourceValidators("eks")),
		"gke":  k.block(b.gkeDesc, attrs(gkeFields), nil, kubeSourceValidators("gke")),
	}, nil)
}

// blocksOf converts the nested blocks to a schema package's Block
// interface.
func blocksOf[B, I any](m map[string]B, conv func(B) I) map[string]I {
	if m == nil {
		return nil
	}
	out := make(map[string]I, len(m))
	for k, v := range m {
		out[k] = conv(v)
	}
	return out
}

// providerKubernetesBlock renders the block for the provider schema.
func providerKubernetesBlock() provschema.SingleNestedBlock {
	return renderKube(blockKit[provschema.Attribute, provschema.SingleNestedBlock]{
		str: func(d string, f field) provschema.Attribute {
			return provschema.StringAttribute{Optional: true, Sensitive: f.sensitive, MarkdownDescription: d, Validators: f.validators}
		},
		boolean: func(d string, _ field) provschema.Attribute {
			return provschema.BoolAttribute{Optional: true, MarkdownDescription: d}
		},
		list: func(d string, _ field) provschema.Attribute {
			return provschema.ListAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: d}
		},
		mp: func(d string, _ field) provschema.Attribute {
			return provschema.MapAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: d}
		},
		block: func(d string, a map[string]provschema.Attribute, b map[string]provschema.SingleNestedBlock, v []validator.Object) provschema.SingleNestedBlock {
			return provschema.SingleNestedBlock{MarkdownDescription: d, Attributes: a, Validators: v,
				Blocks: blocksOf(b, func(x provschema.SingleNestedBlock) provschema.Block { return x })}
		},
	}, providerKubeBlock)
}

// dataSourceKubernetesBlock renders the override block for data sources.
func dataSourceKubernetesBlock() dsschema.SingleNestedBlock {
	return renderKube(blockKit[dsschema.Attribute, dsschema.SingleNestedBlock]{
		str: func(d string, f field) dsschema.Attribute {
			return dsschema.StringAttribute{Optional: true, MarkdownDescription: d, Validators: f.validators}
		},
		boolean: func(d string, _ field) dsschema.Attribute {
			return dsschema.BoolAttribute{Optional: true, MarkdownDescription: d}
		},
		list: func(d string, _ field) dsschema.Attribute {
			return dsschema.ListAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: d}
		},
		mp: func(d string, _ field) dsschema.Attribute {
			return dsschema.MapAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: d}
		},
		block: func(d string, a map[string]dsschema.Attribute, b map[string]dsschema.SingleNestedBlock, v []validator.Object) dsschema.SingleNestedBlock {
			return dsschema.SingleNestedBlock{MarkdownDescription: d, Attributes: a, Validators: v,
				Blocks: blocksOf(b, func(x dsschema.SingleNestedBlock) dsschema.Block { return x })}
		},
	}, overrideKubeBlock)
}

// resourceKubernetesBlock renders the override block for resources.
func resourceKubernetesBlock() rschema.SingleNestedBlock {
	return renderKube(blockKit[rschema.Attribute, rschema.SingleNestedBlock]{
		str: func(d string, f field) rschema.Attribute {
			return rschema.StringAttribute{Optional: true, MarkdownDescription: d, Validators: f.validators}
		},
		boolean: func(d string, _ field) rschema.Attribute {
			return rschema.BoolAttribute{Optional: true, MarkdownDescription: d}
		},
		list: func(d string, _ field) rschema.Attribute {
			return rschema.ListAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: d}
		},
		mp: func(d string, _ field) rschema.Attribute {
			return rschema.MapAttribute{Optional: true, ElementType: types.StringType, MarkdownDescription: d}
		},
		block: func(d string, a map[string]rschema.Attribute, b map[string]rschema.SingleNestedBlock, v []validator.Object) rschema.SingleNestedBlock {
			return rschema.SingleNestedBlock{MarkdownDescription: d, Attributes: a, Validators: v,
				Blocks: blocksOf(b, func(x rschema.SingleNestedBlock) rschema.Block { return x })}
		},
	}, overrideKubeBlock)
}

// isSet reports whether the user wrote anything in an override block. An
// absent SingleNestedBlock arrives as an object whose attributes are all null.
func (m *kubernetesModel) isSet() bool {
	if m == nil {
		return false
	}
	for _, s := range []types.String{m.Host, m.ClusterCACertificate, m.ClientCertificate, m.ConfigPath, m.ConfigContext} {
		if !s.IsNull() {
			return true
		}
	}
	return !m.Insecure.IsNull() || m.Exec != nil || m.EKS != nil || m.GKE != nil
}

// connection converts the block to the backend description. Values unknown at
// plan time read as empty.
func (m *kubernetesModel) connection(ctx context.Context) (kube.Connection, diag.Diagnostics) {
	var diags diag.Diagnostics
	c := kube.Connection{
		Host:                 m.Host.ValueString(),
		ClusterCACertificate: m.ClusterCACertificate.ValueString(),
		Insecure:             m.Insecure.ValueBool(),
		ClientCertificate:    m.ClientCertificate.ValueString(),
		ConfigPath:           m.ConfigPath.ValueString(),
		ConfigContext:        m.ConfigContext.ValueString(),
	}
	if m.Exec != nil {
		e := &kube.ExecConfig{APIVersion: m.Exec.APIVersion.ValueString(), Command: m.Exec.Command.ValueString()}
		diags.Append(m.Exec.Args.ElementsAs(ctx, &e.Args, false)...)
		if !m.Exec.Env.IsNull() {
			diags.Append(m.Exec.Env.ElementsAs(ctx, &e.Env, false)...)
		}
		c.Exec = e
	}
	if m.EKS != nil {
		c.EKS = &kube.EKSConfig{ClusterName: m.EKS.ClusterName.ValueString(), Region: m.EKS.Region.ValueString(), RoleARN: m.EKS.RoleARN.ValueString()}
	}
	if m.GKE != nil {
		c.GKE = &kube.GKEConfig{}
		if !m.GKE.Scopes.IsNull() {
			diags.Append(m.GKE.Scopes.ElementsAs(ctx, &c.GKE.Scopes, false)...)
		}
	}
	return c, diags
}

// providerConnection converts the provider block and fills every empty
// attribute from its environment variable.
func providerConnection(ctx context.Context, m *providerKubernetesModel, getenv func(string) string) (kube.Connection, diag.Diagnostics) {
	var c kube.Connection
	var diags diag.Diagnostics
	if m != nil {
		c, diags = m.connection(ctx)
		c.Token = m.Token.ValueString()
		c.ClientKey = m.ClientKey.ValueString()
	}
	for _, f := range kubeFields(true) {
		if f.of != nil && *f.of(&c) == "" {
			*f.of(&c) = getenv(f.env)
		}
	}
	if !c.Insecure && isTrue(getenv(envKubeInsecure)) {
		c.Insecure = true
	}
	if c.Exec == nil && getenv(envKubeExecCommand) != "" {
		c.Exec = &kube.ExecConfig{Command: getenv(envKubeExecCommand), APIVersion: getenv(envKubeExecAPI)}
		c.Exec.Args = splitArgs(getenv(envKubeExecArgs))
		if v := getenv(envKubeExecEnv); v != "" {
			if err := json.Unmarshal([]byte(v), &c.Exec.Env); err != nil {
				diags.AddError("Invalid "+envKubeExecEnv, fmt.Sprintf("%s must be a JSON object of strings, e.g. {\"AWS_PROFILE\":\"prod\"}: %s", envKubeExecEnv, err))
			}
		}
	}
	if c.EKS == nil && getenv(envKubeEKSCluster) != "" {
		c.EKS = &kube.EKSConfig{ClusterName: getenv(envKubeEKSCluster), Region: getenv(envKubeEKSRegion), RoleARN: getenv(envKubeEKSRole)}
	}
	if c.GKE == nil && isTrue(getenv(envKubeGKE)) {
		c.GKE = &kube.GKEConfig{}
	}
	return c, diags
}

func isTrue(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// splitArgs accepts a JSON array or whitespace-separated words.
func splitArgs(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	var out []string
	if strings.HasPrefix(s, "[") && json.Unmarshal([]byte(s), &out) == nil {
		return out
	}
	return strings.Fields(s)
}

// connectionIsEmpty reports whether nothing at all says where a cluster is.
func connectionIsEmpty(c kube.Connection) bool {
	return c.Host == "" && c.ConfigPath == "" && c.Exec == nil && c.EKS == nil && c.GKE == nil
}

// restConfigDiags resolves a connection to a *rest.Config and turns a
// kube.ConfigError into a diagnostic that points at the attribute that is
// wrong: under `base` when the connection came from an object's own block,
// or naming the provider attribute and its environment variable otherwise.
func restConfigDiags(ctx context.Context, c kube.Connection, base *path.Path) (*rest.Config, diag.Diagnostics) {
	var diags diag.Diagnostics
	if connectionIsEmpty(c) {
		msg := "No Kubernetes connection is configured. Set the provider's `kubernetes` block (for example `config_path` or `host` + `token`), " +
			"or the environment variables " + envKubeConfigPath + " / " + envKubeHost + " + " + envKubeToken + ", or this object's own `kubernetes` block."
		if base != nil {
			diags.AddAttributeError(*base, "Missing Kubernetes connection", msg)
		} else {
			diags.AddError("Missing Kubernetes connection", msg)
		}
		return nil, diags
	}
	cfg, err := c.RESTConfig(ctx)
	if err == nil {
		return cfg, diags
	}
	var ce *kube.ConfigError
	if errors.As(err, &ce) {
		if base != nil {
			diags.AddAttributeError(base.AtName(ce.Attribute), ce.Summary, ce.Detail)
		} else {
			env := kubeEnvFor(ce.Attribute)
			detail := fmt.Sprintf("provider \"spinops\" kubernetes.%s: %s", ce.Attribute, ce.Detail)
			if env != "" {
				detail += fmt.Sprintf(" (the value may also come from the environment variable %s)", env)
			}
			diags.AddError(ce.Summary, detail)
		}
		return nil, diags
	}
	diags.AddError("Invalid Kubernetes connection", err.Error())
	return nil, diags
}

func kubeEnvFor(attr string) string {
	for _, f := range kubeFields(true) {
		if f.name == attr {
			return f.env
		}
	}
	return ""
}
