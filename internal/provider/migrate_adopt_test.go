package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
	"github.com/spinops/terraform-provider-spinops/internal/migrate"
	"github.com/spinops/terraform-provider-spinops/internal/spinnaker"
)

// A "legacy" installation nobody made with spinops: the operator in
// cluster mode, installed by hand with its own selector, and a
// SpinnakerService written by hand, as a team running the Spinnaker
// Operator has them.
const (
	legacyOpNS = "tf-acc-legacy-op"
	legacyNS   = "tf-acc-legacy"
	legacyName = "spinnaker"
)

const legacySpinnakerService = `
apiVersion: spinnaker.io/v1alpha2
kind: SpinnakerService
metadata:
  name: spinnaker
  namespace: tf-acc-legacy
spec:
  spinnakerConfig:
    config:
      version: 1.35.3
      persistentStorage:
        persistentStoreType: s3
        s3:
          bucket: legacy-front50
          region: us-east-1
      security:
        uiSecurity:
          overrideBaseUrl: http://deck.legacy.example
        apiSecurity:
          overrideBaseUrl: http://gate.legacy.example:8084
      features:
        pipelineTemplates: true
    profiles:
      gate:
        server:
          tomcat:
            protocolHeader: X-Forwarded-Proto
    service-settings:
      deck:
        env:
          LEGACY: "yes"
  expose:
    type: service
    service:
      type: LoadBalancer
      annotations:
        service.beta.kubernetes.io/aws-load-balancer-scheme: internal
`

// startLegacyInstallation installs the legacy operator and
// SpinnakerService, waits for the operator stand-in to run it, and returns
// the SpinnakerService as the operator reports it.
func startLegacyInstallation(t *testing.T, z *zoneAccCluster, kc *kube.Client) *unstructured.Unstructured {
	t.Helper()
	ctx := t.Context()
	if err := spinnaker.InstallCRDs(ctx, kc, time.Minute); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{legacyOpNS, legacyNS} {
		if _, err := z.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	one := int32(1)
	// The real operator's manifests' selector (deploy/operator/cluster):
	// its webhook Service selects name: <OPERATOR_NAME>.
	sel := map[string]string{"name": "spinnaker-operator"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "spinnaker-operator", Namespace: legacyOpNS},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel}, Spec: corev1.PodSpec{Containers: []corev1.Container{
				{Name: "spinnaker-operator", Image: "armory/spinnaker-operator:1.3.1"},
				{Name: "halyard", Image: "armory/halyard:operator-0.3.x"},
			}}}},
	}
	if _, err := z.cs.AppsV1().Deployments(legacyOpNS).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var obj unstructured.Unstructured
	if err := yaml.Unmarshal([]byte(legacySpinnakerService), &obj.Object); err != nil {
		t.Fatal(err)
	}
	// The webhook the operator registers may not be up yet: retry.
	var last string
	err := kube.WaitFor(ctx, 500*time.Millisecond, 2*time.Minute, func(ctx context.Context) (bool, string, error) {
		if _, err := kc.Dynamic.Resource(spinsvcGVR).Namespace(legacyNS).Create(ctx, &obj, metav1.CreateOptions{}); err != nil {
			if strings.Contains(err.Error(), "denied the request") && !strings.Contains(err.Error(), "failed calling webhook") {
				return false, "", err // refused by the operator's validation: the test's object is wrong
			}
			if err.Error() != last {
				last = err.Error()
				t.Logf("creating the legacy SpinnakerService: %v", err)
			}
			return false, err.Error(), nil
		}
		return true, "", nil
	})
	if err != nil {
		t.Fatalf("creating the legacy SpinnakerService: %v", err)
	}
	var live *unstructured.Unstructured
	err = kube.WaitFor(ctx, 500*time.Millisecond, 3*time.Minute, func(ctx context.Context) (bool, string, error) {
		o, err := kc.Get(ctx, spinnaker.SpinnakerServiceGVK, legacyNS, legacyName)
		if err != nil {
			return false, "", err
		}
		st := spinnaker.ParseStatus(o)
		live = o
		return st.Status == "OK", "status " + st.Status, nil
	})
	if err != nil {
		t.Fatalf("the operator stand-in did not run the legacy SpinnakerService: %v", err)
	}
	return live
}

// legacyAdoption is a legacy installation running, and what
// `spinops migrate plan --from-cluster ... --adopt` writes for it.
type legacyAdoption struct {
	z             *zoneAccCluster
	kc            *kube.Client
	live          *unstructured.Unstructured
	opBefore      *appsv1.Deployment
	generated     string
	providerBlock string
}

// adoptLegacy skips under -short (an acceptance test) and with a real
// operator (the test installs its own legacy operator, which the stand-in
// plays).
func adoptLegacy(t *testing.T) *legacyAdoption {
	t.Helper()
	if testing.Short() {
		t.Skip("acceptance test")
	}
	if realOperator() {
		t.Skipf("%s is set: this test installs its own legacy operator (the stand-in plays it); it runs only locally", envRealOperator)
	}
	z := startZoneAccCluster(t, legacyOpNS)
	kc := kubeClientFor(t, z.kubeconfig)
	live := startLegacyInstallation(t, z, kc)
	opBefore, err := z.cs.AppsV1().Deployments(legacyOpNS).Get(t.Context(), "spinnaker-operator", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := migrate.FromSpinnakerService(live.Object)
	if err != nil {
		t.Fatal(err)
	}
	op, err := spinnaker.OperatorOf(t.Context(), kc, legacyNS)
	if err != nil {
		t.Fatal(err)
	}
	hcl, rep, err := migrate.HalyardToHCL(h, migrate.HalyardOptions{Adopt: migrate.AdoptionOf(op)})
	if err != nil {
		t.Fatal(err)
	}
	generated := string(hcl)
	t.Logf("generated:\n%s\nreport:\n%s", generated, rep.String())
	for _, want := range []string{`install      = false`, `namespace    = "` + legacyOpNS + `"`, `version      = "1.3.1"`,
		`id = "` + legacyOpNS + "/" + legacyNS + "/" + legacyName + `"`} {
		if !strings.Contains(generated, want) {
			t.Fatalf("the generated Terraform lacks %s", want)
		}
	}
	return &legacyAdoption{z: z, kc: kc, live: live, opBefore: opBefore, generated: generated,
		providerBlock: fmt.Sprintf("provider \"spinops\" {\n  kubernetes {\n    config_path = %q\n  }\n}\n", z.kubeconfig)}
}

// TestAccMigrateAdoptInPlace: a SpinnakerService and operator spinops did
// not make are adopted in place. `migrate plan --adopt`'s Terraform,
// applied, imports the zone and makes only the installation's records: the
// SpinnakerService's spec and generation and the operator's Deployment are
// untouched, and the plan after it is empty, also after a plan whose
// connection was known only after apply. An out-of-band edit after the
// adoption is still drift (the adoption hides nothing), and the zone's
// first change re-renders it the spinops way, after which it is an ordinary
// zone. Importing it by <namespace>/<name> alone is refused with the way to
// adopt it.
func TestAccMigrateAdoptInPlace(t *testing.T) {
	a := adoptLegacy(t)
	z, kc, generated, providerBlock, opBefore := a.z, a.kc, a.generated, a.providerBlock, a.opBefore
	specBefore := spinnaker.SpecHash(spinnaker.SpecOf(a.live))
	genBefore := a.live.GetGeneration()
	twoPart := strings.Replace(generated, `id = "`+legacyOpNS+"/", `id = "`, 1)
	// The zone's first change: the production zone's deletion protection
	// off (which also lets the test destroy it).
	changed := regexp.MustCompile(`(?m)^(\s*tier\s*=\s*"production")$`).ReplaceAllString(generated, "$1\n  deletion_protection = false")
	if changed == generated {
		t.Fatal("cannot find the zone's tier in the generated Terraform")
	}

	untouched := func(*terraform.State) error {
		o, err := kc.Get(t.Context(), spinnaker.SpinnakerServiceGVK, legacyNS, legacyName)
		if err != nil {
			return err
		}
		if got := spinnaker.SpecHash(spinnaker.SpecOf(o)); got != specBefore || o.GetGeneration() != genBefore {
			return fmt.Errorf("the adoption changed the SpinnakerService: spec %s → %s, generation %d → %d", specBefore, got, genBefore, o.GetGeneration())
		}
		if o.GetAnnotations()[spinnaker.AnnotationZone] != "" || o.GetLabels()[spinnaker.LabelInstallation] != "" {
			return fmt.Errorf("the adoption wrote spinops' metadata on the SpinnakerService: %v %v", o.GetAnnotations(), o.GetLabels())
		}
		return operatorUntouched(t, z, opBefore)
	}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []tfresource.TestStep{
			{
				// Imported by <namespace>/<name>, a SpinnakerService spinops
				// did not make is refused, naming the adoption id.
				Config:      providerBlock + twoPart,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)was not made by spinops.*` + regexp.QuoteMeta("<managed_spinnaker_id>/"+legacyNS+"/"+legacyName)),
			},
			{
				// The adoption: the zone imported with no change, the
				// installation's records made; the plan after it is empty
				// (the testing framework fails a non-empty one).
				Config: providerBlock + generated,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("spinops_zone."+legacyName, plancheck.ResourceActionNoop),
					plancheck.ExpectResourceAction("spinops_managed_spinnaker.this", plancheck.ResourceActionCreate),
				}},
				Check: untouched,
			},
			{
				// Still nothing to do on a later plan, from the adopted state.
				Config:   providerBlock + generated,
				PlanOnly: true,
			},
			{
				// The provider's connection known only after apply
				// (pending.go): the plan cannot tell whether the cluster
				// will be another one, so the zone is planned as an update;
				// the apply's final plan, with the connection known, finds
				// the adopted SpinnakerService there and plans no change,
				// so its spec is not re-rendered.
				Config: strings.Replace(providerBlock, fmt.Sprintf("config_path = %q", z.kubeconfig), "config_path = terraform_data.cluster.output", 1) +
					fmt.Sprintf("resource \"terraform_data\" \"cluster\" {\n  input = %q\n}\n", z.kubeconfig) + generated,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("spinops_zone."+legacyName, plancheck.ResourceActionUpdate),
				}},
				Check: untouched,
			},
			{
				// Edited out of band after the adoption: drift, as for any
				// zone.
				PreConfig: func() {
					patch := []byte(`{"spec":{"spinnakerConfig":{"profiles":{"echo":{"edited":"out-of-band"}}}}}`)
					if _, err := kc.Dynamic.Resource(spinsvcGVR).Namespace(legacyNS).Patch(t.Context(), legacyName, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config:             providerBlock + generated,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				// The first change re-renders the SpinnakerService the
				// spinops way; the operator stays as it was.
				Config: providerBlock + changed,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("spinops_zone."+legacyName, plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					o, err := kc.Get(t.Context(), spinnaker.SpinnakerServiceGVK, legacyNS, legacyName)
					if err != nil {
						return err
					}
					if o.GetAnnotations()[spinnaker.AnnotationZone] == "" || o.GetLabels()[spinnaker.LabelInstallation] != legacyOpNS {
						return fmt.Errorf("the zone's change did not render the SpinnakerService the spinops way: %v %v", o.GetAnnotations(), o.GetLabels())
					}
					if _, ok, _ := unstructured.NestedMap(o.Object, "spec", "spinnakerConfig", "profiles", "echo"); ok {
						return fmt.Errorf("the out-of-band edit survived the re-rendering: %v", o.Object["spec"])
					}
					if b, _, _ := unstructured.NestedString(o.Object, "spec", "spinnakerConfig", "config", "persistentStorage", "s3", "bucket"); b != "legacy-front50" {
						return fmt.Errorf("the re-rendered spec lost Front50's bucket: %q", b)
					}
					if st := spinnaker.ParseStatus(o); st.Status != "OK" {
						return fmt.Errorf("the re-rendered zone is %s", st.Status)
					}
					return operatorUntouched(t, z, opBefore)
				},
			},
		},
	})
}

// operatorUntouched: the legacy operator's Deployment kept its spec and
// selector.
func operatorUntouched(t *testing.T, z *zoneAccCluster, before *appsv1.Deployment) error {
	after, err := z.cs.AppsV1().Deployments(legacyOpNS).Get(t.Context(), "spinnaker-operator", metav1.GetOptions{})
	if err != nil {
		return err
	}
	if after.Generation != before.Generation || after.Spec.Selector.String() != before.Spec.Selector.String() ||
		after.Spec.Template.Spec.Containers[0].Image != before.Spec.Template.Spec.Containers[0].Image {
		return fmt.Errorf("the operator's Deployment changed: generation %d → %d, selector %v → %v", before.Generation, after.Generation,
			before.Spec.Selector, after.Spec.Selector)
	}
	return nil
}

var spinsvcGVR = spinnaker.SpinnakerServiceGVK.GroupVersion().WithResource("spinnakerservices")

func kubeClientFor(t *testing.T, kubeconfig string) *kube.Client {
	t.Helper()
	cfg, err := kube.Connection{ConfigPath: kubeconfig}.RESTConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	kc, err := kube.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return kc
}

// TestAccMigrateAdoptFollowsInstallationVersion: an adopted zone whose
// spinnaker_version is left to follow the installation (what the generated
// file writes) is upgraded when the installation's version is: the plan
// after the bump re-renders the SpinnakerService at the new version, once a
// sandbox zone verified it and the soak passed, and the apply's result is
// what was planned. Without the adoption rule's version check, the plan
// kept the adopted spec's hash while the apply re-rendered, and Terraform
// failed the apply with "Provider produced inconsistent result".
func TestAccMigrateAdoptFollowsInstallationVersion(t *testing.T) {
	a := adoptLegacy(t)
	factories, advance := clockedFactories()
	const newVersion = "1.36.0"
	// A sandbox zone of the installation that verifies the new version.
	red := fmt.Sprintf(`
resource "spinops_zone" "red" {
  managed_spinnaker_id = spinops_managed_spinnaker.this.id
  name                 = "red"
  tier                 = "sandbox"
  namespace            = "tf-acc-legacy-red"
  spinnaker_version    = %q
  verification {
    attempts = 3
    interval = "300ms"
  }
  timeouts {
    create = %q
    update = %q
  }
}
`, newVersion, accZoneTimeout(), accZoneTimeout())
	installationVersion := regexp.MustCompile(`(?m)^(\s*spinnaker_version\s*=\s*)"1\.35\.3"$`)
	if len(installationVersion.FindAllString(a.generated, -1)) != 1 {
		t.Fatalf("the generated Terraform should name the version once, in the installation:\n%s", a.generated)
	}
	bumped := installationVersion.ReplaceAllString(a.generated, `${1}"`+newVersion+`"`)
	// The last step turns the production zone's deletion protection off so
	// that the test can destroy it.
	unprotected := regexp.MustCompile(`(?m)^(\s*tier\s*=\s*"production")$`).ReplaceAllString(bumped, "$1\n  deletion_protection = false")

	rendered := func(version string) func(*terraform.State) error {
		return func(*terraform.State) error {
			o, err := a.kc.Get(t.Context(), spinnaker.SpinnakerServiceGVK, legacyNS, legacyName)
			if err != nil {
				return err
			}
			if v, _, _ := unstructured.NestedString(o.Object, "spec", "spinnakerConfig", "config", "version"); v != version {
				return fmt.Errorf("the adopted SpinnakerService runs %q, want %q", v, version)
			}
			if st := spinnaker.ParseStatus(o); st.Status != "OK" {
				return fmt.Errorf("the adopted SpinnakerService is %s", st.Status)
			}
			return operatorUntouched(t, a.z, a.opBefore)
		}
	}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: factories,
		Steps: []tfresource.TestStep{
			{
				// The adoption, with a sandbox zone verifying the new version.
				Config: a.providerBlock + a.generated + red,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("spinops_zone."+legacyName, plancheck.ResourceActionNoop),
				}},
				Check: rendered("1.35.3"),
			},
			{
				// The installation's version bumped, a day later: the zone
				// reads the installation at plan time, so it follows on the
				// next plan.
				PreConfig: func() { advance(25 * time.Hour) },
				Config:    a.providerBlock + bumped + red,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("spinops_managed_spinnaker.this", plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction("spinops_zone."+legacyName, plancheck.ResourceActionNoop),
				}},
				ExpectNonEmptyPlan: true,
			},
			{
				// The adopted zone follows: re-rendered at the new version,
				// and the apply's result is the plan's (the testing framework
				// fails an inconsistent result and a non-empty plan after it).
				Config: a.providerBlock + bumped + red,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("spinops_zone."+legacyName, plancheck.ResourceActionUpdate),
				}},
				Check: rendered(newVersion),
			},
			{
				Config: a.providerBlock + unprotected + red,
				Check:  rendered(newVersion),
			},
		},
	})
}
