package spinnaker

import (
	"bytes"
	"embed"
	"fmt"
	"strings"
	"text/template"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

//go:embed manifests/*
var manifestFS embed.FS

// decodeYAMLDocuments splits a multi-document YAML stream into objects.
func decodeYAMLDocuments(src []byte) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for i, doc := range strings.Split(string(src), "\n---\n") {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		obj := map[string]any{}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		out = append(out, &unstructured.Unstructured{Object: obj})
	}
	return out, nil
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// CRDs returns the SpinnakerService and SpinnakerAccount
// CustomResourceDefinitions.
func CRDs() ([]*unstructured.Unstructured, error) {
	b, err := manifestFS.ReadFile("manifests/crds.yaml")
	if err != nil {
		return nil, err
	}
	return decodeYAMLDocuments(b)
}

// OperatorSettings configure the operator's Deployment and RBAC.
type OperatorSettings struct {
	Namespace string
	// Image is the operator image with its tag.
	Image        string
	HalyardImage string
	// ClusterWide: the operator manages SpinnakerServices in every
	// namespace (ClusterRole); otherwise only its own (Role).
	ClusterWide bool
	// Selector of the Deployment; empty means OperatorSelector. An
	// existing Deployment's selector is immutable, so InstallOperator
	// keeps the one it finds.
	Selector map[string]string
}

// OperatorSelector is the selector of a new operator Deployment, the one of
// the real operator's own manifests (deploy/operator/cluster/deployment.yaml).
func OperatorSelector() map[string]string { return map[string]string{"name": "spinnaker-operator"} }

// RoleName is the name of the operator's (Cluster)Role and binding. A
// cluster-wide role carries the namespace, so that installations in
// different namespaces do not share it.
func (s OperatorSettings) RoleName() string {
	if s.ClusterWide {
		return "spinnaker-operator-" + s.Namespace
	}
	return "spinnaker-operator"
}

var operatorTemplate = template.Must(template.New("operator.yaml.tmpl").ParseFS(manifestFS, "manifests/operator.yaml.tmpl"))

// OperatorObjects renders the operator's ServiceAccount, RBAC and Deployment.
func OperatorObjects(s OperatorSettings) ([]*unstructured.Unstructured, error) {
	var buf bytes.Buffer
	if len(s.Selector) == 0 {
		s.Selector = OperatorSelector()
	}
	podLabels := map[string]string{"name": "spinnaker-operator", "app.kubernetes.io/name": "spinnaker-operator"}
	for k, v := range s.Selector {
		podLabels[k] = v
	}
	data := struct {
		OperatorSettings
		RoleName  string
		PodLabels map[string]string
	}{s, s.RoleName(), podLabels}
	if err := operatorTemplate.Execute(&buf, data); err != nil {
		return nil, err
	}
	return decodeYAMLDocuments(buf.Bytes())
}
