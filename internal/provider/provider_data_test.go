package provider

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
)

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestProviderConnectionFillsEmptyAttributesFromEnvironment(t *testing.T) {
	m := &providerKubernetesModel{
		kubernetesModel: kubernetesModel{Host: types.StringValue("https://from-config:6443")},
	}
	c, diags := providerConnection(context.Background(), m, envMap(map[string]string{
		envKubeHost:          "https://from-env:6443",
		envKubeToken:         "env-token",
		envKubeCA:            "env-ca",
		envKubeConfigContext: "ctx",
		envKubeInsecure:      "true",
	}))
	if diags.HasError() {
		t.Fatal(diags)
	}
	if c.Host != "https://from-config:6443" {
		t.Errorf("configuration must win over the environment: host = %q", c.Host)
	}
	if c.Token != "env-token" || c.ClusterCACertificate != "env-ca" || c.ConfigContext != "ctx" || !c.Insecure {
		t.Errorf("environment not applied: %+v", c)
	}
}

func TestProviderConnectionCredentialPluginsFromEnvironment(t *testing.T) {
	c, diags := providerConnection(context.Background(), nil, envMap(map[string]string{
		envKubeExecCommand: "aws",
		envKubeExecArgs:    `["eks", "get-token", "--cluster-name", "spin naker"]`,
		envKubeExecEnv:     `{"AWS_PROFILE":"prod"}`,
		envKubeEKSCluster:  "spinnaker",
		envKubeEKSRegion:   "eu-west-1",
		envKubeGKE:         "1",
	}))
	if diags.HasError() {
		t.Fatal(diags)
	}
	if c.Exec == nil || c.Exec.Command != "aws" || !reflect.DeepEqual(c.Exec.Args, []string{"eks", "get-token", "--cluster-name", "spin naker"}) ||
		c.Exec.Env["AWS_PROFILE"] != "prod" {
		t.Errorf("exec from environment = %+v", c.Exec)
	}
	if c.EKS == nil || c.EKS.ClusterName != "spinnaker" || c.EKS.Region != "eu-west-1" {
		t.Errorf("eks from environment = %+v", c.EKS)
	}
	if c.GKE == nil {
		t.Error("SPINOPS_KUBE_GKE=1 did not enable the gke source")
	}
}

func TestProviderConnectionRejectsMalformedExecEnv(t *testing.T) {
	_, diags := providerConnection(context.Background(), nil, envMap(map[string]string{
		envKubeExecCommand: "aws",
		envKubeExecEnv:     "AWS_PROFILE=prod",
	}))
	if !diags.HasError() || !strings.Contains(diags.Errors()[0].Detail(), envKubeExecEnv) {
		t.Fatalf("want an error naming %s, got %v", envKubeExecEnv, diags)
	}
}

func TestSplitArgs(t *testing.T) {
	for in, want := range map[string][]string{
		"":                     nil,
		"eks get-token":        {"eks", "get-token"},
		`["a b", "c"]`:         {"a b", "c"},
		"  spaced   words  ":   {"spaced", "words"},
		`[not json`:            {"[not", "json"},
		`["--flag=x","--y=z"]`: {"--flag=x", "--y=z"},
	} {
		if got := splitArgs(in); !reflect.DeepEqual(got, want) {
			t.Errorf("splitArgs(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOverrideBlockIsSetOnlyWhenWritten(t *testing.T) {
	var absent *kubernetesModel
	if absent.isSet() {
		t.Error("nil block reported as set")
	}
	empty := &kubernetesModel{}
	for _, s := range []*types.String{&empty.Host, &empty.ClusterCACertificate, &empty.ClientCertificate, &empty.ConfigPath, &empty.ConfigContext} {
		*s = types.StringNull()
	}
	empty.Insecure = types.BoolNull()
	if empty.isSet() {
		t.Error("block with only null attributes reported as set")
	}
	empty.EKS = &eksModel{ClusterName: types.StringValue("x")}
	if !empty.isSet() {
		t.Error("block with an eks sub-block not reported as set")
	}
}

func TestBridgeSettingsAndMissingAddress(t *testing.T) {
	b := bridgeSettingsFrom(&bridgeModel{Token: types.StringValue("cfg-token")}, envMap(map[string]string{
		envBridgeToken: "env-token", envBridgeInsecure: "yes", envBridgeCA: "ca",
	}))
	if b.Token != "cfg-token" || !b.Insecure || b.CACertificate != "ca" || b.Address != "" {
		t.Fatalf("bridge settings = %+v", b)
	}
	d := newProviderData("test", kube.Connection{}, b, awsSettingsFrom(nil, envMap(nil)), gcpSettingsFrom(nil, envMap(nil)))
	_, err := d.bridgeSettings()
	if err == nil || !strings.Contains(err.Error(), "bridge.address") || !strings.Contains(err.Error(), envBridgeAddress) {
		t.Fatalf("missing address error must name the attribute and %s: %v", envBridgeAddress, err)
	}
}

func TestAWSSettingsFromEnvironment(t *testing.T) {
	s := awsSettingsFrom(&awsModel{Endpoints: &awsEndpointsModel{IAM: types.StringValue("http://iam.local")}}, envMap(map[string]string{
		"AWS_DEFAULT_REGION":       "eu-central-1",
		envAWSAssumeRoleARN:        "arn:aws:iam::123456789012:role/x",
		envAWSAssumeRoleExternalID: "ext",
		"AWS_ENDPOINT_URL":         "http://all.local",
		"AWS_ENDPOINT_URL_STS":     "http://sts.local",
	}))
	if s.Region != "eu-central-1" {
		t.Errorf("region = %q", s.Region)
	}
	if s.AssumeRole == nil || s.AssumeRole.RoleARN != "arn:aws:iam::123456789012:role/x" || s.AssumeRole.ExternalID != "ext" {
		t.Errorf("assume role = %+v", s.AssumeRole)
	}
	if s.Endpoints.IAM != "http://iam.local" || s.Endpoints.STS != "http://sts.local" || s.Endpoints.S3 != "http://all.local" {
		t.Errorf("endpoints = %+v", s.Endpoints)
	}
}

func TestGCPCredentialsPathIsReadOrReported(t *testing.T) {
	key := filepath.Join(t.TempDir(), "key.json")
	if err := os.WriteFile(key, []byte(`{"type":"service_account"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	g := gcpSettingsFrom(nil, envMap(map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": key, "STORAGE_EMULATOR_HOST": "127.0.0.1:4443"}))
	if g.Credentials != `{"type":"service_account"}` || g.CredentialsErr != nil {
		t.Errorf("credentials from path = %q, %v", g.Credentials, g.CredentialsErr)
	}
	if g.StorageEndpoint != "http://127.0.0.1:4443" {
		t.Errorf("storage endpoint = %q", g.StorageEndpoint)
	}
	bad := gcpSettingsFrom(&gcpModel{Credentials: types.StringValue("/no/such/key.json")}, envMap(nil))
	if bad.CredentialsErr == nil || !strings.Contains(bad.CredentialsErr.Error(), "/no/such/key.json") {
		t.Errorf("unreadable credentials path must be reported with the path: %v", bad.CredentialsErr)
	}
}

// The provider schema documents an environment variable for every
// attribute of the kubernetes block, so none is forgotten.
func TestEveryKubernetesAttributeHasAnEnvironmentVariable(t *testing.T) {
	for _, group := range [][]field{kubeFields(true), execFields, eksFields} {
		for _, f := range group {
			if f.env == "" {
				t.Errorf("kubernetes attribute %q has no environment variable", f.name)
			}
		}
	}
}
