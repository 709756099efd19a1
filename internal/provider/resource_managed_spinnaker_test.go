package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// managedSpinnakerFullConfig sets every block of the shared configuration,
// so that the import step proves each of them is read back.
func managedSpinnakerFullConfig(kubeconfig, namespace string) string {
	return fmt.Sprintf(`
provider "spinops" {
  kubernetes {
    config_path = %q
  }
}

resource "spinops_managed_spinnaker" "this" {
  spinnaker_version = "1.35.3"

  operator {
    namespace     = %q
    halyard_image = "armory/halyard:operator-0.4.2"
    wait          = false
  }

  persistence {
    s3 {
      bucket                       = "tf-acc-test-front50"
      region                       = "us-east-1"
      root_folder                  = "front50"
      endpoint                     = "http://minio.minio:9000"
      path_style                   = true
      access_key_id                = "minio"
      secret_access_key_wo         = "minio-secret"
      secret_access_key_wo_version = 1
    }
  }

  sql {
    endpoint        = "db.example.internal"
    reader_endpoint = "db-ro.example.internal"
    databases = {
      clouddriver = "clouddriver"
      orca        = "orca"
    }
    user                       = "spinnaker"
    orca_executions_from_redis = true
    password_secret {
      name = "spinnaker-db"
      key  = "password"
    }
  }

  redis {
    endpoint = "redis.example.internal:6379"
  }

  auth {
    oauth2 {
      provider                 = "github"
      client_id                = "tf-acc-test"
      scopes                   = ["user:email", "read:org"]
      client_secret_wo         = "oauth2-secret"
      client_secret_wo_version = 1
    }
    saml {
      metadata_url                 = "https://idp.example/metadata.xml"
      issuer_id                    = "spinnaker"
      keystore_alias_name          = "saml"
      keystore_password_wo         = "keystore-secret"
      keystore_password_wo_version = 1
      keystore_secret {
        name = "spinnaker-saml"
        key  = "keystore.jks"
      }
    }
    ldap {
      url                         = "ldaps://ldap.example:636/dc=example,dc=com"
      user_dn_pattern             = "uid={0},ou=people"
      manager_dn                  = "cn=admin,dc=example,dc=com"
      manager_password_wo         = "ldap-secret"
      manager_password_wo_version = 1
    }
  }

  features = {
    pipelineTemplates = true
    canary            = false
  }
  profiles = {
    gate = yamlencode({ server = { port = 8084 } })
  }
  service_settings = {
    deck = yamlencode({ env = { API_HOST = "https://gate.example" } })
  }
  config_overrides = yamlencode({ providers = { kubernetes = { enabled = true } } })

  promotion {
    soak = "1h"
  }
}
`, kubeconfig, namespace)
}

// withoutOAuth2Secret is config without auth.oauth2.client_secret_wo, its
// version set to version and the soak changed (an update).
func withoutOAuth2Secret(t *testing.T, config string, version int) string {
	t.Helper()
	for old, repl := range map[string]string{
		`      client_secret_wo         = "oauth2-secret"` + "\n": "",
		`client_secret_wo_version = 1`:                            fmt.Sprintf("client_secret_wo_version = %d", version),
		`soak = "1h"`:                                             `soak = "2h"`,
	} {
		if !strings.Contains(config, old) {
			t.Fatal("withoutOAuth2Secret: the configuration has no " + old)
		}
		config = strings.Replace(config, old, repl, 1)
	}
	return config
}

// TestAccManagedSpinnaker_importAndDrift creates an installation, imports
// it, and shows that an edit of its ConfigMap is planned away, while an edit
// that changes nothing (YAML spelled differently, "1h" as "1h0m0s") is not.
func TestAccManagedSpinnaker_importAndDrift(t *testing.T) {
	c := testenv.SharedCluster(t)
	opNS := c.Namespace(t)
	config := managedSpinnakerFullConfig(c.Kubeconfig, opNS)
	const addr = "spinops_managed_spinnaker.this"
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: append([]tfresource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact(opNS)),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("promotion").AtMapKey("soak"), knownvalue.StringExact("1h")),
				},
				Check: func(*terraform.State) error {
					_, op, err := spinnaker.LoadInstallationWithOperator(t.Context(), c.Clientset(), opNS)
					if err != nil {
						return err
					}
					if op == nil || op.HalyardImage != "armory/halyard:operator-0.4.2" || op.Wait {
						return fmt.Errorf("operator record: %+v", op)
					}
					return nil
				},
			},
			{
				// A secret the installation uses, dropped from the
				// configuration without a new version, in an update (the
				// soak changed): refused, not silently left out of every
				// zone. With a new version it is a change, and planned.
				Config:      withoutOAuth2Secret(t, config, 1),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Write-only value missing.*OAuth2 client secret.*auth.oauth2.client_secret_wo_version stays 1`),
			},
			{
				// The same while the provider's connection is known only
				// after apply: the installation cannot be read during the
				// plan, and what the last apply wrote (the version in
				// state) says it uses the secret. Refused all the same.
				Config: strings.Replace(withoutOAuth2Secret(t, config, 1), fmt.Sprintf("config_path = %q", c.Kubeconfig),
					"config_path = terraform_data.cluster.output", 1) + fmt.Sprintf(`
resource "terraform_data" "cluster" {
  input = %q
}
`, c.Kubeconfig),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Write-only value missing.*OAuth2 client secret.*auth.oauth2.client_secret_wo_version stays 1`),
			},
			{
				Config:             withoutOAuth2Secret(t, config, 2),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{Config: config, PlanOnly: true}, // the applied configuration again, for the import steps
			{
				ResourceName:      addr,
				ImportState:       true,
				ImportStateId:     opNS,
				ImportStateVerify: true,
				// The write-only values' versions and config_revision are
				// read back from the stored installation; timeouts are in
				// no cluster.
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
			{
				// Equivalent values written differently are not drift.
				PreConfig: func() {
					editInstallationJSON(t, c.Clientset(), opNS, func(doc map[string]any) {
						doc["profiles"].(map[string]any)["gate"] = "server:\n  port: 8084\n"
						doc["configOverrides"] = "providers: {kubernetes: {enabled: true}}"
						doc["promotion"].(map[string]any)["soak"] = "60m"
					})
				},
				Config:   config,
				PlanOnly: true,
			},
			{
				// Drift in the shared configuration and the operator record is
				// planned as an update, and applying puts it back.
				PreConfig: func() {
					editInstallationJSON(t, c.Clientset(), opNS, func(doc map[string]any) {
						doc["profiles"].(map[string]any)["gate"] = "server:\n  port: 9999\n"
						doc["promotion"].(map[string]any)["soak"] = "2h0m0s"
						doc["operator"].(map[string]any)["halyardImage"] = "armory/halyard:edited"
						delete(doc, "redis")
					})
				},
				Config: config,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(addr, tfjsonpath.New("promotion").AtMapKey("soak"), knownvalue.StringExact("1h")),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					inst, op, err := spinnaker.LoadInstallationWithOperator(t.Context(), c.Clientset(), opNS)
					if err != nil {
						return err
					}
					if got := time.Duration(inst.Promotion.Soak); got != time.Hour {
						return fmt.Errorf("promotion soak after apply: %s, want 1h", got)
					}
					if inst.Redis == nil || !sameYAML(inst.Profiles["gate"], "server: {port: 8084}") {
						return fmt.Errorf("installation after apply: redis %+v, gate profile %q", inst.Redis, inst.Profiles["gate"])
					}
					if op == nil || op.HalyardImage != "armory/halyard:operator-0.4.2" {
						return fmt.Errorf("operator record after apply: %+v", op)
					}
					return nil
				},
			},
			{
				// The operator's objects edited with kubectl, each by its
				// own field manager: its Deployment scaled to 0 (no zone
				// would be reconciled) and its Halyard given another image,
				// its ClusterRole granted the nodes' proxy, its
				// ServiceAccount deleted. Refresh lists exactly those; the
				// apply puts them back.
				PreConfig: func() {
					ctx, cs := t.Context(), c.Clientset()
					edit := func(what string, err error) {
						if err != nil {
							t.Fatalf("%s outside Terraform: %v", what, err)
						}
					}
					edit("scaling the operator to 0", scaleToZeroByHand(ctx, cs, opNS, "spinnaker-operator"))
					_, err := cs.AppsV1().Deployments(opNS).Patch(ctx, "spinnaker-operator", k8stypes.StrategicMergePatchType,
						[]byte(`{"spec":{"template":{"spec":{"containers":[{"name":"halyard","image":"registry.attacker.example/halyard:1"}]}}}}`),
						metav1.PatchOptions{FieldManager: "kubectl-set"})
					edit("changing Halyard's image", err)
					_, err = cs.RbacV1().ClusterRoles().Patch(ctx, "spinnaker-operator-"+opNS, k8stypes.JSONPatchType,
						[]byte(`[{"op":"add","path":"/rules/-","value":{"apiGroups":[""],"resources":["nodes/proxy"],"verbs":["get"]}}]`),
						metav1.PatchOptions{FieldManager: "kubectl-edit"})
					edit("widening the operator's ClusterRole", err)
					edit("deleting the operator's ServiceAccount", cs.CoreV1().ServiceAccounts(opNS).Delete(ctx, "spinnaker-operator", metav1.DeleteOptions{}))
				},
				Config: config,
				ConfigPlanChecks: driftPlanChecks(addr,
					"ClusterRole spinnaker-operator-"+opNS+": changed: rules",
					"Deployment "+opNS+"/spinnaker-operator: changed: spec.replicas, spec.template",
					"ServiceAccount "+opNS+"/spinnaker-operator: deleted",
				),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("drifted_objects"), knownvalue.ListExact(nil)),
				},
				Check: func(*terraform.State) error {
					ctx, cs := t.Context(), c.Clientset()
					d, err := cs.AppsV1().Deployments(opNS).Get(ctx, "spinnaker-operator", metav1.GetOptions{})
					if err != nil {
						return err
					}
					if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || d.Spec.Template.Spec.Containers[1].Image != "armory/halyard:operator-0.4.2" {
						return fmt.Errorf("the operator's Deployment was not put back: replicas %v, Halyard image %s", d.Spec.Replicas, d.Spec.Template.Spec.Containers[1].Image)
					}
					cr, err := cs.RbacV1().ClusterRoles().Get(ctx, "spinnaker-operator-"+opNS, metav1.GetOptions{})
					if err != nil {
						return err
					}
					for _, r := range cr.Rules {
						if slices.Contains(r.Resources, "nodes/proxy") {
							return fmt.Errorf("the hand-added rule survived the apply: %v", cr.Rules)
						}
					}
					if _, err := cs.CoreV1().ServiceAccounts(opNS).Get(ctx, "spinnaker-operator", metav1.GetOptions{}); err != nil {
						return fmt.Errorf("the operator's ServiceAccount was not made again: %w", err)
					}
					return nil
				},
			},
		}, importSteps(addr, opNS, []string{"timeouts"}, regexp.MustCompile(`Missing SAML keystore password`))...),
	})
}

// TestAccManagedSpinnaker_disappears deletes the installation's ConfigMap
// behind Terraform's back: the next plan creates it again.
func TestAccManagedSpinnaker_disappears(t *testing.T) {
	c := testenv.SharedCluster(t)
	opNS := c.Namespace(t)
	const addr = "spinops_managed_spinnaker.this"
	config := fmt.Sprintf(`
provider "spinops" {
  kubernetes {
    config_path = %q
  }
}

resource "spinops_managed_spinnaker" "this" {
  spinnaker_version = "1.35.3"
  operator {
    namespace = %q
    install   = false
  }
}
`, c.Kubeconfig, opNS)
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{
				Config: config,
				Check: func(*terraform.State) error {
					return c.Clientset().CoreV1().ConfigMaps(opNS).Delete(t.Context(), spinnaker.InstallationConfigMap, metav1.DeleteOptions{})
				},
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionCreate)},
				},
				ExpectNonEmptyPlan: true,
			},
			{
				Config: config,
				Check: func(*terraform.State) error {
					_, err := spinnaker.LoadInstallation(t.Context(), c.Clientset(), opNS)
					return err
				},
			},
		},
	})
}

// editInstallationJSON changes the installation's stored JSON as someone
// editing the ConfigMap by hand would.
func editInstallationJSON(t *testing.T, cs kubernetes.Interface, namespace string, edit func(doc map[string]any)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cms := cs.CoreV1().ConfigMaps(namespace)
	cm, err := cms.Get(ctx, spinnaker.InstallationConfigMap, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading the installation: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(cm.Data[spinnaker.InstallationKey]), &doc); err != nil {
		t.Fatalf("decoding the installation: %v", err)
	}
	edit(doc)
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	cm.Data[spinnaker.InstallationKey] = string(b)
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("editing the installation: %v", err)
	}
}

// TestManagedSpinnakerFlatten_roundTrip: what expand stores, flatten reads
// back as the same model, and with no prior state (an import) only blocks
// that differ from the defaults appear.
func TestManagedSpinnakerFlatten_roundTrip(t *testing.T) {
	ctx := context.Background()
	emptyMap := types.MapValueMust(types.StringType, nil)
	plan := &managedSpinnakerModel{
		ID:               types.StringValue("spin"),
		SpinnakerVersion: types.StringValue("1.35.3"),
		Operator: &operatorModel{Install: types.BoolValue(true), Namespace: types.StringValue("spin"), Image: types.StringValue(defaultOperatorImage),
			Version: types.StringValue(defaultOperatorVersion), HalyardImage: types.StringValue(defaultHalyardImage), ClusterWide: types.BoolValue(true), Wait: types.BoolValue(true)},
		SQL: &sqlModel{Endpoint: types.StringValue("db"), Port: types.Int64Value(3306), Databases: emptyMap, User: types.StringValue("u"),
			ReaderEndpoint: types.StringValue(""), PasswordWOVersion: types.Int64Value(2)},
		Features:        types.MapNull(types.BoolType),
		Profiles:        types.MapValueMust(types.StringType, map[string]attr.Value{"gate": types.StringValue("a: 1")}),
		ServiceSettings: emptyMap,
		ConfigOverrides: types.StringNull(),
		Promotion:       &promotionModel{Soak: types.StringValue("90m"), RequireVerification: types.BoolValue(true)},
	}
	inst, diags := expandInstallation(ctx, plan, plan)
	if diags.HasError() {
		t.Fatal(diags)
	}
	rec := operatorRecord(plan.Operator)
	got, diags := flattenInstallation(inst, &rec, plan)
	if diags.HasError() {
		t.Fatal(diags)
	}
	if !reflect.DeepEqual(got, plan) {
		t.Errorf("refresh changed the model:\n got %+v\nwant %+v", got, plan)
	}

	inst.Revision = "4448ef083d13cd7e" // as Create stores it
	imported, diags := flattenInstallation(inst, &rec, &managedSpinnakerModel{ID: types.StringValue("spin"),
		Features: types.MapNull(types.BoolType), Profiles: types.MapNull(types.StringType), ServiceSettings: types.MapNull(types.StringType)})
	if diags.HasError() {
		t.Fatal(diags)
	}
	if imported.Operator == nil || imported.Operator.Namespace.ValueString() != "spin" {
		t.Errorf("imported operator block: %+v", imported.Operator)
	}
	if s := imported.Promotion; s == nil || s.Soak.ValueString() != "1h30m" {
		t.Errorf("imported promotion: %+v", s)
	}
	if !imported.ServiceSettings.IsNull() || !imported.SQL.Databases.IsNull() || !imported.SQL.ReaderEndpoint.IsNull() {
		t.Errorf("imported empty values should be null: %+v %+v", imported.ServiceSettings, imported.SQL)
	}
	// The secrets' versions and the revision are stored: an import reads
	// them back. An installation stored before they were leaves them null.
	if imported.SQL.PasswordWOVersion.ValueInt64() != 2 || imported.ConfigRevision.ValueString() != inst.Revision {
		t.Errorf("imported password_wo_version %v, config_revision %v; want 2 and %q", imported.SQL.PasswordWOVersion, imported.ConfigRevision, inst.Revision)
	}
	old := *inst
	old.SecretVersions, old.Revision = nil, ""
	imported, diags = flattenInstallation(&old, &rec, &managedSpinnakerModel{ID: types.StringValue("spin"),
		Features: types.MapNull(types.BoolType), Profiles: types.MapNull(types.StringType), ServiceSettings: types.MapNull(types.StringType)})
	if diags.HasError() {
		t.Fatal(diags)
	}
	if !imported.SQL.PasswordWOVersion.IsNull() || !imported.ConfigRevision.IsNull() {
		t.Errorf("an installation stored without versions imported password_wo_version %v, config_revision %v; want null", imported.SQL.PasswordWOVersion, imported.ConfigRevision)
	}

	def := operatorRecord(nil)
	if m := flattenOperator(&def, defaultOperatorNamespace, nil); m != nil {
		t.Errorf("default operator record imported as a block: %+v", m)
	}
	if m := flattenPromotion(defaultPromotion(), nil); m != nil {
		t.Errorf("default promotion imported as a block: %+v", m)
	}
}

func TestManagedSpinnakerFlatten_shortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		24 * time.Hour: "24h", 90 * time.Minute: "1h30m", 30 * time.Minute: "30m", 90 * time.Second: "1m30s", 0: "0s", 1500 * time.Millisecond: "1.5s",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%s) = %q, want %q", d, got, want)
		}
	}
}
