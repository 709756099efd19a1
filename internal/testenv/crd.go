package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
)

// The upstream projects whose published CustomResourceDefinitions tests
// install, read at test time from the Go module proxy (never copied into
// this repository): the file as the project's release ships it.
const (
	// PrometheusOperatorModule is prometheus-operator's main module; its
	// example/prometheus-operator-crd/ holds the CRDs its releases install.
	PrometheusOperatorModule = "github.com/prometheus-operator/prometheus-operator"
	// PrometheusOperatorVersion is the release read (the newest the module
	// proxy here serves; v0.95 is refused).
	PrometheusOperatorVersion = "v0.94.0"
	// PrometheusRuleCRDPath is the PrometheusRule CRD in that module.
	PrometheusRuleCRDPath = "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml"
)

// ModuleFile returns the path of file inside module@version, downloaded
// through the go command (the module proxy, checked against the checksum
// database) into the module cache. It skips t, or fails it when Required,
// when the module cannot be downloaded.
func ModuleFile(t testing.TB, module, version, file string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", module+"@"+version)
	// Outside this module, so its go.mod and flags play no part.
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
		err = fmt.Errorf("%s", info.Error)
	}
	if err != nil || info.Dir == "" {
		unavailable(t, fmt.Errorf("downloading %s@%s (for %s): %v %s", module, version, file, err, bytes.TrimSpace(stderr.Bytes())))
	}
	p := filepath.Join(info.Dir, filepath.FromSlash(file))
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s@%s has no %s: %v", module, version, file, err)
	}
	return p
}

// InstallCRD creates the CustomResourceDefinition in the YAML file at path
// and waits until the API server reports it Established and serves it. It
// returns the CRD as created.
func (c *Cluster) InstallCRD(t testing.TB, path string) *unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := yaml.Unmarshal(b, &obj); err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
	crd := &unstructured.Unstructured{Object: obj}
	if crd.GetKind() != "CustomResourceDefinition" {
		t.Fatalf("%s holds a %s, not a CustomResourceDefinition", path, crd.GetKind())
	}
	dc, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	crds := dc.Resource(kube.CRDGVR)
	created, err := crds.Create(ctx, crd, metav1.CreateOptions{FieldValidation: "Strict"})
	if err != nil {
		t.Fatalf("creating CustomResourceDefinition %s: %v", crd.GetName(), err)
	}
	group, _, _ := unstructured.NestedString(obj, "spec", "group")
	plural, _, _ := unstructured.NestedString(obj, "spec", "names", "plural")
	versions, _, _ := unstructured.NestedSlice(obj, "spec", "versions")
	var version string
	if len(versions) > 0 {
		v, _ := versions[0].(map[string]any)
		version, _ = v["name"].(string)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		cur, err := crds.Get(ctx, crd.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Fatalf("reading CustomResourceDefinition %s: %v", crd.GetName(), err)
		}
		if kube.CRDEstablished(cur) {
			// Discovery lags the condition a little: wait until the
			// group's version lists the resource.
			if served(c, group+"/"+version, plural) {
				return created
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("CustomResourceDefinition %s not Established and served after 1m: %v", crd.GetName(), cur.Object["status"])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func served(c *Cluster, groupVersion, plural string) bool {
	l, err := c.Clientset().Discovery().ServerResourcesForGroupVersion(groupVersion)
	if err != nil {
		return false
	}
	for _, r := range l.APIResources {
		if r.Name == plural {
			return true
		}
	}
	return false
}

// targetGroupBindingCRD is the AWS Load Balancer Controller's
// TargetGroupBinding CRD, version v1beta1 only (the storage version; the
// controller also serves v1alpha1), written for the tests from the
// controller's API types (kubernetes-sigs/aws-load-balancer-controller at
// 225f44568, apis/elbv2/v1beta1/targetgroupbinding_types.go, and the CRD
// its releases generate from them, config/crd/bases/
// elbv2.k8s.aws_targetgroupbindings.yaml): the fields spinops writes are
// typed and validated as there (serviceRef required, with name and port;
// targetType instance or ip; port an int or a string); the others are kept
// as they come. The module proxy serves no release of the controller that
// has the CRD (only v1.1.9, the ALB ingress controller), so it cannot be
// read at test time like the Prometheus Operator's.
const targetGroupBindingCRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: targetgroupbindings.elbv2.k8s.aws
spec:
  group: elbv2.k8s.aws
  names:
    kind: TargetGroupBinding
    listKind: TargetGroupBindingList
    plural: targetgroupbindings
    singular: targetgroupbinding
  scope: Namespaced
  versions:
  - name: v1beta1
    served: true
    storage: true
    subresources:
      status: {}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          apiVersion: {type: string}
          kind: {type: string}
          metadata: {type: object}
          spec:
            type: object
            required: [serviceRef]
            properties:
              targetGroupARN: {type: string}
              targetGroupName: {type: string}
              multiClusterTargetGroup: {type: boolean}
              targetType:
                type: string
                enum: [instance, ip]
              targetGroupProtocol: {type: string}
              serviceRef:
                type: object
                required: [name, port]
                properties:
                  name: {type: string}
                  port:
                    anyOf: [{type: integer}, {type: string}]
                    x-kubernetes-int-or-string: true
              networking:
                type: object
                x-kubernetes-preserve-unknown-fields: true
              nodeSelector:
                type: object
                x-kubernetes-preserve-unknown-fields: true
              ipAddressType:
                type: string
                enum: [ipv4, ipv6]
              vpcID: {type: string}
              iamRoleArnToAssume: {type: string}
              assumeRoleExternalId: {type: string}
          status:
            type: object
            x-kubernetes-preserve-unknown-fields: true
`

// InstallTargetGroupBindingCRD installs the AWS Load Balancer Controller's
// TargetGroupBinding CRD (see targetGroupBindingCRD) and waits until it is
// served.
func (c *Cluster) InstallTargetGroupBindingCRD(t testing.TB) *unstructured.Unstructured {
	t.Helper()
	p := filepath.Join(t.TempDir(), "targetgroupbindings.yaml")
	if err := os.WriteFile(p, []byte(targetGroupBindingCRD), 0o600); err != nil {
		t.Fatal(err)
	}
	return c.InstallCRD(t, p)
}
