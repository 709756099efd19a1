package provider

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

const dsAddr = "data.spinops_kubernetes_cluster.test"

// caFingerprint computes the expected fingerprint independently of the code
// under test: SHA-256 over the CA certificate's DER.
func caFingerprint(t *testing.T, c *testenv.Cluster) string {
	t.Helper()
	b, _ := pem.Decode([]byte(c.CAPEM))
	if b == nil {
		t.Fatal("testenv CA is not PEM")
	}
	sum := sha256.Sum256(b.Bytes)
	return hex.EncodeToString(sum[:])
}

var allInstallPermissions = map[string]knownvalue.Check{
	"namespaces": knownvalue.Bool(true), "deployments": knownvalue.Bool(true), "secrets": knownvalue.Bool(true),
	"customresourcedefinitions": knownvalue.Bool(true), "clusterroles": knownvalue.Bool(true),
}

func TestAccKubernetesClusterDataSource_kubeconfig(t *testing.T) {
	c := testenv.SharedCluster(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "spinops" {
  kubernetes {
    config_path = %q
  }
}
data "spinops_kubernetes_cluster" "test" {}
`, c.Kubeconfig),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("server_version"), knownvalue.StringExact(testenv.KubernetesVersion)),
				statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("host"), knownvalue.StringExact(c.Host)),
				statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("id"), knownvalue.StringExact(c.Host)),
				statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("platform"), knownvalue.StringRegexp(regexp.MustCompile(`^linux/`))),
				statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("ca_fingerprint_sha256"), knownvalue.StringExact(caFingerprint(t, c))),
				statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("permissions"), knownvalue.MapExact(allInstallPermissions)),
				statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("missing_permissions"), knownvalue.ListSizeExact(0)),
				statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("ready_for_install"), knownvalue.Bool(true)),
			},
		}},
	})
}

// Terraform Cloud workspaces configure providers through the environment.
func TestAccKubernetesClusterDataSource_tokenFromEnvironment(t *testing.T) {
	c := testenv.SharedCluster(t)
	t.Setenv(envKubeHost, c.Host)
	t.Setenv(envKubeToken, c.AdminToken)
	t.Setenv(envKubeCA, c.CAPEM)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: `
provider "spinops" {}
data "spinops_kubernetes_cluster" "test" {}
`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("host"), knownvalue.StringExact(c.Host)),
				statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("ready_for_install"), knownvalue.Bool(true)),
			},
		}},
	})
}

func TestAccKubernetesClusterDataSource_clientCertificate(t *testing.T) {
	c := testenv.SharedCluster(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "spinops" {
  kubernetes {
    host                   = %q
    cluster_ca_certificate = file(%q)
    client_certificate     = file(%q)
    client_key             = file(%q)
  }
}
data "spinops_kubernetes_cluster" "test" {}
`, c.Host, c.CAFile, c.ClientCertFile, c.ClientKeyFile),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("ca_fingerprint_sha256"), knownvalue.StringExact(caFingerprint(t, c))),
				statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("ready_for_install"), knownvalue.Bool(true)),
			},
		}},
	})
}

// An exec credential plugin, run for real by client-go.
func TestAccKubernetesClusterDataSource_exec(t *testing.T) {
	c := testenv.SharedCluster(t)
	plugin := filepath.Join(t.TempDir(), "token-plugin")
	script := `#!/bin/sh
[ "$1" = "--cluster" ] && [ "$2" = "testenv" ] || { echo "unexpected args: $*" >&2; exit 1; }
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}' "$SPINOPS_TEST_TOKEN"
`
	if err := os.WriteFile(plugin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "spinops" {
  kubernetes {
    host                   = %q
    cluster_ca_certificate = file(%q)
    exec {
      api_version = "client.authentication.k8s.io/v1"
      command     = %q
      args        = ["--cluster", "testenv"]
      env         = { SPINOPS_TEST_TOKEN = %q }
    }
  }
}
data "spinops_kubernetes_cluster" "test" {}
`, c.Host, c.CAFile, plugin, c.AdminToken),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("ready_for_install"), knownvalue.Bool(true)),
			},
		}},
	})
}

// A second cluster reached through the data source's own block, while the
// provider's default points at the first.
func TestAccKubernetesClusterDataSource_overrideBlock(t *testing.T) {
	first := testenv.SharedCluster(t)
	second := testenv.StartCluster(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "spinops" {
  kubernetes {
    config_path = %q
  }
}
data "spinops_kubernetes_cluster" "default" {}
data "spinops_kubernetes_cluster" "test" {
  kubernetes {
    config_path = %q
  }
}
`, first.Kubeconfig, second.Kubeconfig),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.spinops_kubernetes_cluster.default", tfjsonpath.New("host"), knownvalue.StringExact(first.Host)),
				statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("host"), knownvalue.StringExact(second.Host)),
				statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("ca_fingerprint_sha256"), knownvalue.StringExact(caFingerprint(t, second))),
			},
		}},
	})
}

// A user without RBAC rights is told what is missing; a namespaced grant
// counts when the preflight is asked about that namespace.
func TestAccKubernetesClusterDataSource_missingPermissions(t *testing.T) {
	c := testenv.SharedCluster(t)
	ns := c.Namespace(t)
	grantNobodyNamespacedWrites(t, c, ns)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "spinops" {
  kubernetes {
    host                   = %q
    cluster_ca_certificate = file(%q)
    token                  = %q
  }
}
data "spinops_kubernetes_cluster" "test" {}
data "spinops_kubernetes_cluster" "namespaced" {
  namespace = %q
}
`, c.Host, c.CAFile, c.NobodyToken, ns),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("ready_for_install"), knownvalue.Bool(false)),
				statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("missing_permissions"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.StringExact("clusterroles"), knownvalue.StringExact("customresourcedefinitions"),
					knownvalue.StringExact("deployments"), knownvalue.StringExact("namespaces"), knownvalue.StringExact("secrets"),
				})),
				statecheck.ExpectKnownValue("data.spinops_kubernetes_cluster.namespaced", tfjsonpath.New("permissions"), knownvalue.MapExact(map[string]knownvalue.Check{
					"namespaces": knownvalue.Bool(false), "deployments": knownvalue.Bool(true), "secrets": knownvalue.Bool(true),
					"customresourcedefinitions": knownvalue.Bool(false), "clusterroles": knownvalue.Bool(false),
				})),
				statecheck.ExpectKnownValue("data.spinops_kubernetes_cluster.namespaced", tfjsonpath.New("missing_permissions"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.StringExact("clusterroles"), knownvalue.StringExact("customresourcedefinitions"), knownvalue.StringExact("namespaces"),
				})),
			},
		}},
	})
}

func grantNobodyNamespacedWrites(t *testing.T, c *testenv.Cluster, ns string) {
	t.Helper()
	bindNobody(t, c, ns, "installer", []rbacv1.PolicyRule{
		{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"create"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create"}},
	})
}

// bindNobody gives user "nobody" the rules of Role name in ns: the Role is
// created or replaced, its RoleBinding created once.
func bindNobody(t *testing.T, c *testenv.Cluster, ns, name string, rules []rbacv1.PolicyRule) {
	t.Helper()
	ctx := t.Context()
	roles := c.Clientset().RbacV1().Roles(ns)
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Rules: rules}
	if _, err := roles.Get(ctx, name, metav1.GetOptions{}); err == nil {
		if _, err := roles.Update(ctx, role, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("updating Role %s: %v", name, err)
		}
		return
	}
	if _, err := roles.Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating Role %s: %v", name, err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "nobody"}}}
	if _, err := c.Clientset().RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating RoleBinding %s: %v", name, err)
	}
}

// A wrong token: the diagnostic names the host and the call that failed.
func TestAccKubernetesClusterDataSource_wrongToken(t *testing.T) {
	c := testenv.SharedCluster(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "spinops" {
  kubernetes {
    host                   = %q
    cluster_ca_certificate = file(%q)
    token                  = "not-a-valid-token"
  }
}
data "spinops_kubernetes_cluster" "test" {}
`, c.Host, c.CAFile),
			ExpectError: regexp.MustCompile(`(?s)reading Kubernetes cluster \(` + regexp.QuoteMeta(c.Host) + `\).*GET\s+` +
				regexp.QuoteMeta(c.Host) + `/version.*401`),
		}},
	})
}

// A CA that did not sign the server's certificate is a TLS error that says so.
func TestAccKubernetesClusterDataSource_wrongCA(t *testing.T) {
	c := testenv.SharedCluster(t)
	other := testenv.StartCluster(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "spinops" {
  kubernetes {
    host                   = %q
    cluster_ca_certificate = file(%q)
    token                  = %q
  }
}
data "spinops_kubernetes_cluster" "test" {}
`, c.Host, other.CAFile, c.AdminToken),
			ExpectError: regexp.MustCompile(`(?s)GET\s+` + regexp.QuoteMeta(c.Host) + `/version.*certificate`),
		}},
	})
}

// A kubeconfig path that does not exist is named in the diagnostic, both in
// the provider block and in an object's own block.
func TestAccKubernetesClusterDataSource_missingConfigPath(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-kubeconfig")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: fmt.Sprintf(`
provider "spinops" {
  kubernetes {
    config_path = %q
  }
}
data "spinops_kubernetes_cluster" "test" {}
`, missing),
				ExpectError: regexp.MustCompile(`(?s)kubernetes\.config_path.*` + regexp.QuoteMeta(missing) + `.*` + envKubeConfigPath),
			},
			{
				Config: fmt.Sprintf(`
provider "spinops" {}
data "spinops_kubernetes_cluster" "test" {
  kubernetes {
    config_path = %q
  }
}
`, missing),
				ExpectError: regexp.MustCompile(`(?s)` + regexp.QuoteMeta(missing)),
			},
		},
	})
}

func TestAccKubernetesClusterDataSource_noConnection(t *testing.T) {
	for _, v := range []string{envKubeHost, envKubeConfigPath, envKubeExecCommand, envKubeEKSCluster, envKubeGKE} {
		t.Setenv(v, "")
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: `
provider "spinops" {}
data "spinops_kubernetes_cluster" "test" {}
`,
			ExpectError: regexp.MustCompile(`(?s)Missing Kubernetes connection.*` + envKubeConfigPath),
		}},
	})
}

// Two credential plugins at once is refused before anything is called.
func TestAccKubernetesClusterDataSource_conflictingSources(t *testing.T) {
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: `
provider "spinops" {}
data "spinops_kubernetes_cluster" "test" {
  kubernetes {
    host = "https://127.0.0.1:1"
    exec {
      command = "true"
    }
    eks {
      cluster_name = "spinnaker"
    }
  }
}
`,
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`(?s)Invalid Attribute Combination`),
		}},
	})
}
