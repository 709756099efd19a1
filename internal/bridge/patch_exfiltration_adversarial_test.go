package bridge_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestAdversarialSecretJSONPatchReads: a writable account whose kinds
// include Secret sends JSON Patches that read the Secret they change —
// copy or move its data into annotations, labels or generateName (the
// answer, a 422 message, or an annotation every later reader is served),
// test a guess against it, copy the whole document, with JSON and JSON
// Pointer escapes, malformed bodies — through the real bridge, agent and
// kube-apiserver. Each is refused with 403 by the bridge before it reaches
// the agent; the Secret is unchanged and neither account (the writer nor a
// read-only one, cache or watch) is ever served its value. A JSON Patch on
// its labels and a merge patch still work. Writes whose success tells a
// key's name (remove /data/<guess>, anything inside managedFields), and a
// server-side apply without force (a conflict exactly when a guess
// differs), are refused too — each first shown to be a probe at the real
// API server.
func TestAdversarialSecretJSONPatchReads(t *testing.T) {
	c := testenv.SharedCluster(t)
	ns := c.Namespace(t)
	ctx := context.Background()
	p := newPKI(t)
	tb := startBridge(t, p, filepath.Join(t.TempDir(), "bridge.db"))
	credRW := tb.register(t, &bridgev1.AccountSpec{Name: "jp-rw", Namespaces: []string{ns}, Kinds: []string{"Secret"}, Permissions: &bridgev1.Permissions{Write: []string{"ops"}}})
	credRO := tb.register(t, &bridgev1.AccountSpec{Name: "jp-ro", Namespaces: []string{ns}, Kinds: []string{"Secret"}, Permissions: &bridgev1.Permissions{Read: []string{"dev"}}})
	cfgPath := filepath.Join(t.TempDir(), "agent.yaml")
	tb.agentConfig("jp-agent",
		agentAccount{Name: "jp-rw", KubeconfigFile: c.Kubeconfig, Credential: credRW, Kinds: []string{"Secret"}, Namespaces: []string{ns}, Permissions: &agentPermissions{Write: []string{"ops"}}},
		agentAccount{Name: "jp-ro", KubeconfigFile: c.Kubeconfig, Credential: credRO, Kinds: []string{"Secret"}, Namespaces: []string{ns}, Permissions: &agentPermissions{Read: []string{"dev"}}},
	).write(t, cfgPath)
	w := &wire{}
	startAgent(t, cfgPath, w.interceptor())
	tb.waitSynced(t, "jp-rw")
	tb.waitSynced(t, "jp-ro")

	const value = "hunter2-json-patch-secret-value"
	b64 := base64.StdEncoding.EncodeToString([]byte(value))
	leaked := func(b []byte) bool { return bytes.Contains(b, []byte(value)) || bytes.Contains(b, []byte(b64)) }
	lastApplied := `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db"},"stringData":{"password":"` + value + `"}}`
	annotations := map[string]string{"kubectl.kubernetes.io/last-applied-configuration": lastApplied, "team": "payments"}
	if _, err := c.Clientset().CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: ns, Annotations: annotations},
		Type:       corev1.SecretTypeOpaque, Data: map[string][]byte{"password": []byte(value)},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kcRW, err := tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "jp-rw"})
	if err != nil {
		t.Fatal(err)
	}
	kcRO, err := tb.admin.GetKubeconfig(adminCtx(), &bridgev1.GetKubeconfigRequest{Name: "jp-ro"})
	if err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/namespaces/" + ns + "/secrets/db"
	patch := func(query, contentType, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPatch, kcRW.GetServer()+path+query, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+kcRW.GetToken())
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Accept", "application/json")
		resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: tlsTo(tb)}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}

	const jp = "application/json-patch+json"
	// Writes whose success tells whether a key exists: the real API
	// server applies them to a right guess of the Secret's key names and
	// answers 422 to a wrong one, with ?dryRun=All at no cost. (The
	// bridge never serves the key names: managedFields, which name them,
	// are scrubbed.)
	keyProbes := []struct{ what, right, wrong string }{
		{"remove of a key", `[{"op":"remove","path":"/data/password"}]`, `[{"op":"remove","path":"/data/apikey"}]`},
		{"add under managedFields", `[{"op":"add","path":"/metadata/managedFields/0/fieldsV1/f:data/f:password/x","value":{}}]`, `[{"op":"add","path":"/metadata/managedFields/0/fieldsV1/f:data/f:apikey/x","value":{}}]`},
		{"remove from managedFields", `[{"op":"remove","path":"/metadata/managedFields/0/fieldsV1/f:data/f:password"}]`, `[{"op":"remove","path":"/metadata/managedFields/0/fieldsV1/f:data/f:apikey"}]`},
	}
	for _, kp := range keyProbes {
		_, errRight := c.Clientset().CoreV1().Secrets(ns).Patch(ctx, "db", types.JSONPatchType, []byte(kp.right), metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}})
		_, errWrong := c.Clientset().CoreV1().Secrets(ns).Patch(ctx, "db", types.JSONPatchType, []byte(kp.wrong), metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}})
		if errRight != nil || errWrong == nil {
			t.Fatalf("%s straight to the API server: right guess %v, wrong guess %v; want it to apply only to the right one (else this probe proves nothing)", kp.what, errRight, errWrong)
		}
	}
	// A server-side apply without force is a test: the API server answers
	// a conflict when the applied value differs from the stored one, and
	// applies it when it is the same.
	applyData := func(v string) []byte {
		return []byte(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db"},"data":{"password":"` + v + `"}}`)
	}
	noForce := false
	_, errRight := c.Clientset().CoreV1().Secrets(ns).Patch(ctx, "db", types.ApplyPatchType, applyData(b64), metav1.PatchOptions{FieldManager: "probe", Force: &noForce, DryRun: []string{metav1.DryRunAll}})
	_, errWrong := c.Clientset().CoreV1().Secrets(ns).Patch(ctx, "db", types.ApplyPatchType, applyData("d3Jvbmc="), metav1.PatchOptions{FieldManager: "probe", Force: &noForce, DryRun: []string{metav1.DryRunAll}})
	if errRight != nil || errWrong == nil || !strings.Contains(errWrong.Error(), ".data.password") {
		t.Fatalf("a server-side apply without force straight to the API server: right guess %v, wrong guess %v; want a conflict naming .data.password only for the wrong one", errRight, errWrong)
	}
	// What the check lets through because it is no probe: the API
	// server's replace of a key the Secret lacks adds it.
	if _, err := c.Clientset().CoreV1().Secrets(ns).Patch(ctx, "db", types.JSONPatchType, []byte(`[{"op":"replace","path":"/data/apikey","value":"eA=="}]`), metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatalf("a replace of a key the Secret lacks, straight to the API server: %v; want it applied (the check passes it as a write that tells nothing)", err)
	}
	opsBefore := len(w.operations())
	for _, pc := range []struct{ what, query, contentType, body string }{
		{"dryRun copy of the data into annotations", "?dryRun=All", jp, `[{"op":"copy","from":"/data","path":"/metadata/annotations"}]`},
		{"dryRun copy of the data into labels (a 422)", "?dryRun=All", jp, `[{"op":"copy","from":"/data","path":"/metadata/labels"}]`},
		{"dryRun copy of a value into generateName (a 422)", "?dryRun=All", jp, `[{"op":"copy","from":"/data/password","path":"/metadata/generateName"}]`},
		{"stored copy of a value into an annotation", "", jp, `[{"op":"add","path":"/metadata/annotations/x","value":""},{"op":"copy","from":"/data/password","path":"/metadata/annotations/x"}]`},
		{"stored move of a value into an annotation", "", jp, `[{"op":"move","from":"/data/password","path":"/metadata/annotations/x"}]`},
		{"test oracle, right guess", "?dryRun=All", jp, `[{"op":"test","path":"/data/password","value":"` + b64 + `"}]`},
		{"test oracle, wrong guess", "?dryRun=All", jp, `[{"op":"test","path":"/data/password","value":"d3Jvbmc="}]`},
		{"copy of the whole document", "?dryRun=All", jp, `[{"op":"copy","from":"","path":"/metadata/generateName"}]`},
		{"encoded pointer", "?dryRun=All", jp, `[{"op":"copy","from":"/\u0064ata","path":"/metadata/annotations"}]`},
		{"encoded op and keys", "?dryRun=All", jp, `[{"\u006fp":"\u0063opy","\u0066rom":"\/data\/password","path":"/metadata/generateName"}]`},
		{"copy of the last-applied annotation", "", jp, `[{"op":"copy","from":"/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration","path":"/metadata/annotations/x"}]`},
		{"media type parameters and case", "?dryRun=All", "Application/JSON-Patch+JSON; charset=utf-8", `[{"op":"copy","from":"/data","path":"/metadata/annotations"}]`},
		{"a body that is not an array", "?dryRun=All", jp, `{"op":"copy","from":"/data","path":"/metadata/annotations"}`},
		{"a body that does not parse", "?dryRun=All", jp, `[{"op":"copy","from":"/data","path":"/metadata/annotations"}`},
		{"key probe: " + keyProbes[0].what + ", right guess", "?dryRun=All", jp, keyProbes[0].right},
		{"key probe: " + keyProbes[0].what + ", wrong guess", "?dryRun=All", jp, keyProbes[0].wrong},
		{"key probe: " + keyProbes[1].what + ", right guess", "?dryRun=All", jp, keyProbes[1].right},
		{"key probe: " + keyProbes[1].what + ", wrong guess", "?dryRun=All", jp, keyProbes[1].wrong},
		{"key probe: " + keyProbes[2].what + ", right guess", "?dryRun=All", jp, keyProbes[2].right},
		{"key probe: " + keyProbes[2].what + ", wrong guess", "?dryRun=All", jp, keyProbes[2].wrong},
		{"key probe inside a value", "?dryRun=All", jp, `[{"op":"add","path":"/data/password/x","value":"x"}]`},
		{"key probe, the guess encoded", "?dryRun=All", jp, `[{"op":"remove","path":"/\u0064ata/pass\u0077ord"}]`},
		{"server-side apply without force, right guess", "?dryRun=All&fieldManager=probe", "application/apply-patch+yaml", string(applyData(b64))},
		{"server-side apply without force, wrong guess", "?dryRun=All&fieldManager=probe", "application/apply-patch+yaml", string(applyData("d3Jvbmc="))},
		{"server-side apply with force=false", "?dryRun=All&fieldManager=probe&force=false", "application/apply-patch+yaml", string(applyData("d3Jvbmc="))},
		{"server-side apply, force given twice", "?dryRun=All&fieldManager=probe&force=false&force=true", "application/apply-patch+yaml", string(applyData("d3Jvbmc="))},
		{"making the Secret immutable, to probe it next", "", "application/merge-patch+json", `{"immutable":true}`},
		{"making it immutable with a JSON Patch", "", jp, `[{"op":"add","path":"/immutable","value":true}]`},
	} {
		code, body := patch(pc.query, pc.contentType, pc.body)
		if leaked(body) {
			t.Errorf("%s: PATCH %s -> %d leaks the Secret:\n%.600s", pc.what, pc.body, code, body)
		}
		if code != http.StatusForbidden {
			t.Errorf("%s: PATCH %s -> %d, want 403: %.400s", pc.what, pc.body, code, body)
			continue
		}
		var st struct{ Kind, Reason, Message string }
		if err := json.Unmarshal(body, &st); err != nil || st.Kind != "Status" || st.Reason != "Forbidden" || !strings.Contains(st.Message, `account "jp-rw"`) ||
			(!strings.Contains(st.Message, "JSON Patch on a Secret") && !strings.Contains(st.Message, "server-side apply of a Secret must force conflicts") && !strings.Contains(st.Message, "may not set immutable")) {
			t.Errorf("%s: the refusal is not a Status saying why: %s", pc.what, body)
		}
	}
	if ops := w.operations()[opsBefore:]; len(ops) > 0 {
		t.Errorf("refused JSON Patches reached the agent: %v", ops)
	}
	// Nothing was stored: the annotations are the ones the Secret was
	// created with.
	s, err := c.Clientset().CoreV1().Secrets(ns).Get(ctx, "db", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(s.Annotations, annotations) || len(s.Labels) != 0 || string(s.Data["password"]) != value || len(s.Data) != 1 || s.Immutable != nil {
		t.Errorf("a refused patch changed the Secret: annotations %v, labels %v", s.Annotations, s.Labels)
	}

	// An immutable Secret answers any write by whether it leaves the data
	// equal: every write of one is refused (by the agent, which reads it
	// first), the right guess as the wrong one.
	yes := true
	if _, err := c.Clientset().CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "frozen", Namespace: ns},
		Immutable: &yes, Data: map[string][]byte{"password": []byte(value)}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{b64, "d3Jvbmc="} {
		req, _ := http.NewRequest(http.MethodPatch, kcRW.GetServer()+"/api/v1/namespaces/"+ns+"/secrets/frozen?dryRun=All", strings.NewReader(`{"data":{"password":"`+g+`"}}`))
		req.Header.Set("Authorization", "Bearer "+kcRW.GetToken())
		req.Header.Set("Content-Type", "application/merge-patch+json")
		resp, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: tlsTo(tb)}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "is immutable") || leaked(b) {
			t.Errorf("a merge patch of an immutable Secret through the bridge -> %d, want 403: %.400s", resp.StatusCode, b)
		}
	}

	// A patch that does not decode: the API server's 422 quotes the whole
	// patched Secret; through the bridge it keeps its code and reason only.
	code, body := patch("?dryRun=All", "application/merge-patch+json", `{"data":{"zz":"!"}}`)
	if code != http.StatusUnprocessableEntity || leaked(body) || !strings.Contains(string(body), "withheld") {
		t.Errorf("an undecodable merge patch -> %d, want a 422 without the Secret:\n%.600s", code, body)
	}

	// What only sets values still works: a JSON Patch of the labels (the
	// Patch (Manifest) stage's json strategy), a merge patch.
	code, body = patch("", jp, `[{"op":"add","path":"/metadata/labels","value":{"app":"web"}},{"op":"test","path":"/metadata/labels/app","value":"web"}]`)
	if code != http.StatusOK || leaked(body) || !strings.Contains(string(body), `"app":"web"`) {
		t.Errorf("a JSON Patch of the Secret's labels -> %d:\n%.600s", code, body)
	}
	code, body = patch("", "application/merge-patch+json", `{"metadata":{"annotations":{"owner":"ops"}}}`)
	if code != http.StatusOK || leaked(body) || !strings.Contains(string(body), `"owner":"ops"`) {
		t.Errorf("a merge patch of the Secret's annotations -> %d:\n%.600s", code, body)
	}
	// A key set with add or replace (whether or not it exists: the API
	// server's replace of a key an object lacks adds it), and removed with
	// a merge patch, as the refusal of remove says to.
	code, body = patch("", jp, `[{"op":"replace","path":"/data/extra","value":"ZXh0cmE="}]`)
	if code != http.StatusOK || leaked(body) {
		t.Errorf("a JSON Patch adding a key -> %d:\n%.600s", code, body)
	}
	if s, err := c.Clientset().CoreV1().Secrets(ns).Get(ctx, "db", metav1.GetOptions{}); err != nil || string(s.Data["extra"]) != "extra" {
		t.Errorf("the key added with a JSON Patch: %v, %v", s.Data, err)
	}
	code, body = patch("", "application/merge-patch+json", `{"data":{"extra":null}}`)
	if code != http.StatusOK || leaked(body) {
		t.Errorf("a merge patch removing a key -> %d:\n%.600s", code, body)
	}
	// A server-side apply that forces conflicts applies whatever the
	// stored value: it passes.
	code, body = patch("?dryRun=All&fieldManager=probe&force=true", "application/apply-patch+yaml", string(applyData("d3Jvbmc=")))
	if code != http.StatusOK || leaked(body) {
		t.Errorf("a server-side apply with force=true -> %d:\n%.600s", code, body)
	}

	// Every reader — the writer and a read-only account, from the cache,
	// forwarded, watching — sees the label and never the value.
	waitFor(t, 30*time.Second, "the cache to see the label", func() bool {
		_, b := call(t, tb, kcRO, http.MethodGet, path, "application/json", "")
		return bytes.Contains(b, []byte(`"owner":"ops"`))
	})
	for _, kc := range []*bridgev1.GetKubeconfigResponse{kcRW, kcRO} {
		for _, q := range []struct{ path, accept string }{
			{path, "application/json"},
			{path, "application/vnd.kubernetes.protobuf"},
			{"/api/v1/namespaces/" + ns + "/secrets", "application/json"},
			{"/api/v1/namespaces/" + ns + "/secrets", "application/json;as=Table;v=v1;g=meta.k8s.io"},
			{"/api/v1/namespaces/" + ns + "/secrets?watch=1&resourceVersion=0&timeoutSeconds=1", "application/json"},
		} {
			code, body := call(t, tb, kc, http.MethodGet, q.path, q.accept, "")
			if code != http.StatusOK || leaked(body) {
				t.Errorf("GET %s (Accept %q) -> %d:\n%.600s", q.path, q.accept, code, body)
			}
		}
	}
	if w.contains([]byte(value)) || w.contains([]byte(b64)) {
		t.Error("the agent sent the Secret's value to the bridge")
	}
}
