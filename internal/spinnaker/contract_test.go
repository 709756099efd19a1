package spinnaker

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Unit tests of what spinops renders against the real operator's behaviour
// (shared/design/OPERATOR-CONTRACT.md); each names the contract line.

// Issue 12 point 1. Contract, "Admission webhook": the webhook Service
// selects pods labelled name: spinnaker-operator.
func TestOperatorObjects_podsCarryTheWebhookSelectorLabel(t *testing.T) {
	for _, wide := range []bool{true, false} {
		objs, err := OperatorObjects(OperatorSettings{Namespace: "ops", Image: "armory/spinnaker-operator:1.3.1", HalyardImage: "armory/halyard:operator-a6ac1d4", ClusterWide: wide})
		if err != nil {
			t.Fatal(err)
		}
		dep := objs[len(objs)-1]
		labels, _, _ := unstructured.NestedStringMap(dep.Object, "spec", "template", "metadata", "labels")
		if labels["name"] != "spinnaker-operator" {
			t.Errorf("cluster_wide=%v: pod labels %v lack name: spinnaker-operator, so the webhook Service has no endpoints", wide, labels)
		}
		// Port names are unique in the pod (kube-apiserver warns of a
		// duplicate on every apply), and the webhook's port is where the
		// operator's webhook Service sends it (9876, by number).
		containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
		seen := map[string]string{}
		for _, c := range containers {
			c := c.(map[string]any)
			ports, _, _ := unstructured.NestedSlice(c, "ports")
			for _, p := range ports {
				name, _ := p.(map[string]any)["name"].(string)
				if other, dup := seen[name]; dup {
					t.Errorf("cluster_wide=%v: port name %q in containers %s and %s", wide, name, other, c["name"])
				}
				seen[name] = c["name"].(string)
			}
		}
		if _, ok := seen["halyard"]; !ok || (wide && seen["http"] != "spinnaker-operator") {
			t.Errorf("cluster_wide=%v: ports by name %v, want halyard's, and the webhook's http on spinnaker-operator when cluster-wide", wide, seen)
		}
		sel, _, _ := unstructured.NestedStringMap(dep.Object, "spec", "selector", "matchLabels")
		for k, v := range sel {
			if labels[k] != v {
				t.Errorf("cluster_wide=%v: selector %v does not match the pod labels %v", wide, sel, labels)
			}
		}
	}
	// An existing Deployment's selector is kept (it is immutable), and the
	// pods still carry the webhook's label.
	objs, err := OperatorObjects(OperatorSettings{Namespace: "ops", Image: "i", HalyardImage: "h", ClusterWide: true, Selector: map[string]string{"app": "legacy"}})
	if err != nil {
		t.Fatal(err)
	}
	dep := objs[len(objs)-1]
	sel, _, _ := unstructured.NestedStringMap(dep.Object, "spec", "selector", "matchLabels")
	labels, _, _ := unstructured.NestedStringMap(dep.Object, "spec", "template", "metadata", "labels")
	if len(sel) != 1 || sel["app"] != "legacy" || labels["app"] != "legacy" || labels["name"] != "spinnaker-operator" {
		t.Errorf("adopted selector: selector %v, pod labels %v", sel, labels)
	}
}

// Issue 12 point 4. Contract, "Accounts": SpinnakerAccounts are used only
// with spec.accounts.enabled (and dynamic to reach Clouddriver without a
// restart).
func TestRender_turnsSpinnakerAccountsOn(t *testing.T) {
	r, err := Render(testInstallation(), &Zone{Name: "red", Namespace: "ns", Tier: TierSandbox}, testCredentials)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"enabled", "dynamic"} {
		if v, _, _ := unstructured.NestedBool(r.Service.Object, "spec", "accounts", f); !v {
			t.Errorf("spec.accounts.%s is not true: the operator ignores every SpinnakerAccount", f)
		}
	}
}

// Issue 12 point 5. Contract, "Expose": spin-deck and spin-gate are
// rewritten to the public ports.
func TestServicePort_exposeRewrite(t *testing.T) {
	deck, gate, orca := Service{Name: "deck", Port: 9000}, Service{Name: "gate", Port: 8084}, Service{Name: "orca", Port: 8083}
	for _, c := range []struct {
		e                    *Expose
		deck, gate, orcaPort int
	}{
		{nil, 9000, 8084, 8083},
		{&Expose{Type: ExposeIngress}, 9000, 8084, 8083},
		{&Expose{Type: ExposeService}, 80, 8084, 8083},
		{&Expose{Type: ExposeService, TLSSecret: "tls"}, 443, 443, 8083},
	} {
		if got := [3]int{ServicePort(deck, c.e), ServicePort(gate, c.e), ServicePort(orca, c.e)}; got != [3]int{c.deck, c.gate, c.orcaPort} {
			t.Errorf("expose %+v: ports %v, want %v", c.e, got, [3]int{c.deck, c.gate, c.orcaPort})
		}
	}
}

// Issue 12 point 6. Contract, "Halyard sidecar and config keys": only real
// Halyard keys; canary is canary.enabled; no persistentStorage.s3.assumeRole;
// SAML needs keyStore, keyStorePassword, keyStoreAliasName.
func TestRender_onlyHalyardKeys(t *testing.T) {
	inst := testInstallation()
	inst.Features = map[string]bool{"canary": true, "pipelineTemplates": true}
	r, err := Render(inst, &Zone{Name: "red", Namespace: "ns", Tier: TierSandbox}, testCredentials)
	if err != nil {
		t.Fatal(err)
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(r.Service.Object, "spec", "spinnakerConfig", "config", "features", "canary"); found {
		t.Error("features.canary rendered: not a Halyard key")
	}
	if on, _, _ := unstructured.NestedBool(r.Service.Object, "spec", "spinnakerConfig", "config", "canary", "enabled"); !on {
		t.Error("canary = true does not render canary.enabled")
	}
	if on, _, _ := unstructured.NestedBool(r.Service.Object, "spec", "spinnakerConfig", "config", "features", "pipelineTemplates"); !on {
		t.Error("a real Halyard feature flag was dropped")
	}

	for _, bad := range []string{"artifacts", "managedPipelineTemplatesV2UI", "canary2"} {
		inst := testInstallation()
		inst.Features = map[string]bool{bad: true}
		if _, err := Render(inst, &Zone{Name: "red", Namespace: "ns", Tier: TierSandbox}, testCredentials); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("feature %q: err = %v, want a refusal naming it", bad, err)
		}
	}

	inst = testInstallation()
	inst.Persistence.S3.AssumeRoleARN = "arn:aws:iam::123456789012:role/front50"
	if _, err := Render(inst, &Zone{Name: "red", Namespace: "ns", Tier: TierSandbox}, testCredentials); err == nil || !strings.Contains(err.Error(), "assume_role_arn") {
		t.Errorf("assume_role_arn: err = %v, want a refusal", err)
	}

	inst = testInstallation()
	inst.Auth = &Auth{SAML: &SAML{MetadataURL: "https://idp/metadata", IssuerID: "spinnaker"}}
	_, err = Render(inst, &Zone{Name: "red", Namespace: "ns", Tier: TierSandbox}, testCredentials)
	for _, want := range []string{"keystore_secret", "keystore_password_wo", "keystore_alias_name"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("SAML without keystore: err = %v, want it to name %s", err, want)
		}
	}
	inst.Auth.SAML.KeyStoreSecret = &SecretRef{Name: "saml", Key: "keystore.jks"}
	inst.Auth.SAML.HasKeyStorePassword = true
	inst.Auth.SAML.KeyStoreAliasName = "spinnaker"
	creds := map[string][]byte{KeySAMLKeyStore: {0xfe, 0xed, 0xfe, 0xed, 0x00}, KeySAMLKeyStorePassword: []byte("ks-s3cr3t")}
	for k, v := range testCredentials {
		creds[k] = v
	}
	r, err = Render(inst, &Zone{Name: "red", Namespace: "ns", Tier: TierSandbox}, creds)
	if err != nil {
		t.Fatal(err)
	}
	saml, _, _ := unstructured.NestedMap(r.Service.Object, "spec", "spinnakerConfig", "config", "security", "authn", "saml")
	if saml["keyStore"] != "encryptedFile:k8s!n:red-spinops-credentials!k:saml-keystore" ||
		saml["keyStorePassword"] != "encrypted:k8s!n:red-spinops-credentials!k:saml-keystore-password" || saml["keyStoreAliasName"] != "spinnaker" {
		t.Errorf("SAML keystore keys: %v", saml)
	}
	b, _ := yaml.Marshal(r.Service.Object)
	if strings.Contains(string(b), "ks-s3cr3t") {
		t.Error("the keystore password is in the SpinnakerService")
	}
}
