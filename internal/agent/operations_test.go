package agent

import (
	"context"
	"encoding/base64"
	"k8s.io/utils/clock"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/scope"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// countingTransport counts the requests the agent makes to its API server.
type countingTransport struct {
	rt http.RoundTripper
	n  *atomic.Int64
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.rt.RoundTrip(r)
}

// TestExecuteChecksTheRulesAgain: an operation outside the account's rules
// (as a bridge that did not check would send it) is refused by the agent
// with 403 without a request to the API server; a Secret operation asking
// for protobuf, or forging Accept-Encoding, gets JSON without the data.
func TestExecuteChecksTheRulesAgain(t *testing.T) {
	c := testenv.SharedCluster(t)
	ns := c.Namespace(t)
	other := c.Namespace(t)
	ctx := context.Background()
	const value = "agent-side-secret-value"
	createSecret(t, c, ns, "p", value)
	acct, calls := countedAccount(t, c, AccountConfig{Name: "a", Namespaces: []string{ns}, Kinds: []string{"Secret", "ConfigMap"}, Permissions: Permissions{Read: []string{"dev"}}})
	run := func(method, path, query string, headers map[string]string) (int, string, string) {
		op := &bridgev1.Operation{Id: "op", Account: "a", Method: method, Path: path, Query: query}
		for k, v := range headers {
			op.Headers = append(op.Headers, &bridgev1.Header{Name: k, Values: []string{v}})
		}
		var code int32
		var body strings.Builder
		var errMsg string
		acct.Execute(ctx, op, func(r *bridgev1.OperationResult) error {
			if r.GetStatusCode() != 0 {
				code = r.GetStatusCode()
			}
			body.Write(r.GetBody())
			errMsg += r.GetError()
			return nil
		})
		return int(code), body.String(), errMsg
	}
	before := calls.Load()
	for _, r := range []struct{ method, path, query string }{
		{"GET", "/api/v1/namespaces/" + other + "/configmaps", ""},
		{"GET", "/api/v1/watch/namespaces/" + other + "/secrets", ""},
		{"GET", "/api/v1/secrets", ""},
		{"GET", "/api/v1/namespaces/" + ns + "/pods", ""},
		{"POST", "/api/v1/namespaces/" + ns + "/configmaps", ""},
		{"DELETE", "/api/v1/namespaces/" + ns + "/secrets/db", ""},
		{"GET", "/api/v1//namespaces/" + ns + "/secrets", ""},
		{"GET", "/api/v1/namespaces/" + ns + "/secrets", "watch=false;watch=true"},
	} {
		code, body, _ := run(r.method, r.path, r.query, nil)
		if code != http.StatusForbidden && code != http.StatusBadRequest {
			t.Errorf("%s %s?%s -> %d, want 403 or 400: %s", r.method, r.path, r.query, code, body)
		}
	}
	if n := calls.Load() - before; n != 0 {
		t.Errorf("refused operations made %d requests to the API server", n)
	}
	b64 := base64.StdEncoding.EncodeToString([]byte(value))
	for _, h := range []map[string]string{
		{"Accept": "application/vnd.kubernetes.protobuf"},
		{"Accept": "application/yaml"},
		{"Accept": "application/json", "Accept-Encoding": "gzip"},
		{"Accept": "application/json", "Impersonate-User": "system:admin"},
	} {
		code, body, errMsg := run("GET", "/api/v1/namespaces/"+ns+"/secrets/db", "", h)
		if code != http.StatusOK || strings.Contains(body, value) || strings.Contains(body, b64) || !strings.Contains(body, `"name":"db"`) {
			t.Errorf("GET a Secret with %v -> %d %s: %.400s", h, code, errMsg, body)
		}
	}
}

// TestExecuteRefusesSecretPatchReads: the agent refuses on its own (as a
// bridge that did not check would send them) JSON Patches that read a
// Secret's data — copy, move and test, with escapes — with 403 and without
// a request to the API server, and writes whose success tells whether a
// key exists (remove of a key, anything inside managedFields);
// a JSON Patch on the Secret's labels runs.
func TestExecuteRefusesSecretPatchReads(t *testing.T) {
	c := testenv.SharedCluster(t)
	ns := c.Namespace(t)
	ctx := context.Background()
	const value = "agent-side-patch-secret-value"
	b64 := base64.StdEncoding.EncodeToString([]byte(value))
	createSecret(t, c, ns, "password", value)
	acct, calls := countedAccount(t, c, AccountConfig{Name: "a", Namespaces: []string{ns}, Kinds: []string{"Secret"}, Permissions: Permissions{Write: []string{"ops"}}})
	run := func(query, contentType, patch string) (int, string) {
		op := secretWrite(http.MethodPatch, ns, "db", query, contentType, []byte(patch))
		op.Headers[0].Name = "content-type" // as a caller may spell it
		return execute(ctx, acct, op)
	}
	before := calls.Load()
	// A server-side apply without force compares the applied value with
	// the stored one.
	if code, body := run("dryRun=All&fieldManager=probe", "application/apply-patch+yaml", `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db"},"data":{"password":"`+b64+`"}}`); code != http.StatusForbidden || !strings.Contains(body, "must force conflicts") {
		t.Errorf("a server-side apply without force -> %d, want 403 naming the rule: %.400s", code, body)
	}
	for _, p := range []struct{ query, body string }{
		{"dryRun=All", `[{"op":"copy","from":"/data","path":"/metadata/annotations"}]`},
		{"dryRun=All", `[{"op":"copy","from":"/data/password","path":"/metadata/generateName"}]`},
		{"", `[{"op":"add","path":"/metadata/annotations","value":{}},{"op":"copy","from":"/data/password","path":"/metadata/annotations/x"}]`},
		{"", `[{"op":"move","from":"/data/password","path":"/metadata/annotations/x"}]`},
		{"dryRun=All", `[{"op":"test","path":"/data/password","value":"` + b64 + `"}]`},
		{"dryRun=All", `[{"op":"copy","from":"","path":"/metadata/generateName"}]`},
		{"dryRun=All", `[{"op":"copy","from":"/\u0064ata","path":"/metadata/annotations"}]`},
		{"dryRun=All", `{"op":"copy","from":"/data","path":"/metadata/annotations"}`},
		// Writes whose success tells whether a key exists.
		{"dryRun=All", `[{"op":"remove","path":"/data/password"}]`},
		{"dryRun=All", `[{"op":"remove","path":"/metadata/managedFields/0/fieldsV1/f:data/f:apikey"}]`},
		{"dryRun=All", `[{"op":"add","path":"/metadata/managedFields/0/fieldsV1/f:data/f:password/x","value":{}}]`},
	} {
		code, body := run(p.query, "application/json-patch+json", p.body)
		if code != http.StatusForbidden || !strings.Contains(body, "JSON Patch on a Secret") || strings.Contains(body, value) || strings.Contains(body, b64) {
			t.Errorf("PATCH ?%s %s -> %d, want 403 naming the rule: %.400s", p.query, p.body, code, body)
		}
	}
	if n := calls.Load() - before; n != 0 {
		t.Errorf("refused patches made %d requests to the API server", n)
	}
	s, err := c.Clientset().CoreV1().Secrets(ns).Get(ctx, "db", metav1.GetOptions{})
	if err != nil || len(s.Annotations) != 0 || string(s.Data["password"]) != value {
		t.Errorf("the Secret changed: %v %v", s.Annotations, err)
	}
	code, body := run("", "application/json-patch+json", `[{"op":"add","path":"/metadata/labels","value":{"app":"web"}}]`)
	if code != http.StatusOK || strings.Contains(body, value) || strings.Contains(body, b64) || !strings.Contains(body, `"app":"web"`) {
		t.Errorf("a JSON Patch of the Secret's labels -> %d: %.400s", code, body)
	}
}

// TestExecuteRefusesImmutableSecretWrites: the real API server applies a
// write of an immutable Secret that leaves its data equal and refuses one
// that changes it, so any write answers whether a guess equals the data.
// The agent reads the Secret first and refuses every write of an immutable
// one (only its read reaches the API server) but a patch of its metadata
// alone, and refuses a write that would make a Secret immutable; a mutable
// Secret is written as before.
func TestExecuteRefusesImmutableSecretWrites(t *testing.T) {
	c := testenv.SharedCluster(t)
	ns := c.Namespace(t)
	ctx := context.Background()
	const value = "immutable-secret-value"
	b64 := base64.StdEncoding.EncodeToString([]byte(value))
	yes := true
	for _, name := range []string{"frozen", "open"} {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string][]byte{"password": []byte(value)}}
		if name == "frozen" {
			s.Immutable = &yes
		}
		if _, err := c.Clientset().CoreV1().Secrets(ns).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	guess := func(v string) []byte { return []byte(`{"data":{"password":"` + v + `"}}`) }
	secrets := c.Clientset().CoreV1().Secrets(ns)
	dry := metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}}
	_, errRight := secrets.Patch(ctx, "frozen", types.MergePatchType, guess(b64), dry)
	_, errWrong := secrets.Patch(ctx, "frozen", types.MergePatchType, guess("d3Jvbmc="), dry)
	if errRight != nil || errWrong == nil || !strings.Contains(errWrong.Error(), "immutable") {
		t.Fatalf("a merge patch of the immutable Secret straight to the API server: right guess %v, wrong guess %v; want only the wrong one refused as immutable (else this probe proves nothing)", errRight, errWrong)
	}

	acct, calls := countedAccount(t, c, AccountConfig{Name: "a", Namespaces: []string{ns}, Kinds: []string{"Secret"}, Permissions: Permissions{Write: []string{"ops"}}})
	run := func(method, name, query, contentType string, body []byte) (int, string) {
		return execute(ctx, acct, secretWrite(method, ns, name, query, contentType, body))
	}
	before := calls.Load()
	probes := []struct {
		method, query, contentType string
		body                       []byte
	}{
		{http.MethodPatch, "dryRun=All", "application/merge-patch+json", guess(b64)},
		{http.MethodPatch, "dryRun=All", "application/merge-patch+json", guess("d3Jvbmc=")},
		{http.MethodPatch, "dryRun=All", "application/strategic-merge-patch+json", guess(b64)},
		{http.MethodPatch, "dryRun=All", "application/json-patch+json", []byte(`[{"op":"add","path":"/data/password","value":"` + b64 + `"}]`)},
		{http.MethodPatch, "dryRun=All&fieldManager=p&force=true", "application/apply-patch+yaml", []byte(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"frozen"},"data":{"password":"` + b64 + `"}}`)},
		{http.MethodPut, "dryRun=All", "application/json", []byte(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"frozen"},"immutable":true,"data":{"password":"` + b64 + `"}}`)},
	}
	for _, p := range probes {
		code, body := run(p.method, "frozen", p.query, p.contentType, p.body)
		want := "is immutable"
		if p.method == http.MethodPut {
			want = "may not set immutable" // its body sets it: refused before the read
		}
		if code != http.StatusForbidden || !strings.Contains(body, want) || strings.Contains(body, value) || strings.Contains(body, b64) {
			t.Errorf("%s %s %s -> %d, want 403 (%s): %.400s", p.method, p.contentType, p.body, code, want, body)
		}
	}
	// Only the reads reached the API server (one for each write judged
	// there; the PUT was refused before).
	if n := calls.Load() - before; n != int64(len(probes)-1) {
		t.Errorf("the refused writes made %d requests to the API server, want %d (the reads)", n, len(probes)-1)
	}
	// A patch of the immutable Secret's metadata alone applies whatever
	// the data: it passes.
	for _, p := range []struct{ contentType, body string }{
		{"application/merge-patch+json", `{"metadata":{"labels":{"app":"web"}}}`},
		{"application/json-patch+json", `[{"op":"add","path":"/metadata/annotations","value":{"team":"ops"}}]`},
	} {
		if code, body := run(http.MethodPatch, "frozen", "", p.contentType, []byte(p.body)); code != http.StatusOK || strings.Contains(body, b64) {
			t.Errorf("a patch of the immutable Secret's metadata (%s) -> %d: %.400s", p.body, code, body)
		}
	}
	if s, err := secrets.Get(ctx, "frozen", metav1.GetOptions{}); err != nil || s.Labels["app"] != "web" || s.Annotations["team"] != "ops" {
		t.Errorf("the immutable Secret's metadata after the patches: %v, %v", s, err)
	}
	// The mutable Secret: written as before; made immutable, never.
	if code, body := run(http.MethodPatch, "open", "", "application/merge-patch+json", []byte(`{"metadata":{"labels":{"app":"web"}}}`)); code != http.StatusOK || strings.Contains(body, b64) {
		t.Errorf("a merge patch of a mutable Secret -> %d: %.400s", code, body)
	}
	if code, body := run(http.MethodPatch, "open", "", "application/merge-patch+json", []byte(`{"immutable":true}`)); code != http.StatusForbidden || !strings.Contains(body, "may not set immutable") {
		t.Errorf("a merge patch making a Secret immutable -> %d: %.400s", code, body)
	}
	if s, err := secrets.Get(ctx, "open", metav1.GetOptions{}); err != nil || s.Immutable != nil || s.Labels["app"] != "web" {
		t.Errorf("the mutable Secret after the writes: %v, %v", s, err)
	}
	// A Secret that does not exist yet: the write goes on (and is
	// answered by the API server).
	if code, _ := run(http.MethodPatch, "absent", "", "application/merge-patch+json", []byte(`{"metadata":{"labels":{"a":"b"}}}`)); code != http.StatusNotFound {
		t.Errorf("a merge patch of an absent Secret -> %d, want the API server's 404", code)
	}
}

// TestExecuteWithholdsWhatSecretErrorsQuote: the real API server answers a
// merge or JSON patch of a Secret that does not decode with a 422 quoting
// the whole patched Secret, data included; a strategic merge patch's
// $deleteFromPrimitiveList directive in data answers 422 for a key that
// exists and 200 for one that does not; a write over MaxSecretWrite could
// measure the data. Through the agent the 422 keeps its code and reason
// and loses its words, the directive is refused, and so is the large
// write.
func TestExecuteWithholdsWhatSecretErrorsQuote(t *testing.T) {
	c := testenv.SharedCluster(t)
	ns := c.Namespace(t)
	ctx := context.Background()
	const value = "quoted-in-errors-secret-value"
	b64 := base64.StdEncoding.EncodeToString([]byte(value))
	createSecret(t, c, ns, "password", value)
	secrets := c.Clientset().CoreV1().Secrets(ns)
	dry := metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}}
	undecodable := []struct {
		pt   types.PatchType
		body string
	}{
		{types.MergePatchType, `{"data":{"zz":"!"}}`},
		{types.JSONPatchType, `[{"op":"add","path":"/data/zz","value":1}]`},
	}
	for _, u := range undecodable {
		if _, err := secrets.Patch(ctx, "db", u.pt, []byte(u.body), dry); err == nil || !strings.Contains(err.Error(), b64) {
			t.Fatalf("%s %s straight to the API server: %v; want a 422 quoting the Secret's data (else this test proves nothing)", u.pt, u.body, err)
		}
	}
	directive := func(key string) []byte { return []byte(`{"data":{"$deleteFromPrimitiveList/` + key + `":"x"}}`) }
	_, errRight := secrets.Patch(ctx, "db", types.StrategicMergePatchType, directive("password"), dry)
	_, errWrong := secrets.Patch(ctx, "db", types.StrategicMergePatchType, directive("apikey"), dry)
	if errRight == nil || errWrong != nil {
		t.Fatalf("$deleteFromPrimitiveList straight to the API server: right guess %v, wrong guess %v; want only the right one refused (else this probe proves nothing)", errRight, errWrong)
	}

	acct, _ := countedAccount(t, c, AccountConfig{Name: "a", Namespaces: []string{ns}, Kinds: []string{"Secret"}, Permissions: Permissions{Write: []string{"ops"}}})
	run := func(contentType string, body []byte) (int, string) {
		return execute(ctx, acct, secretWrite(http.MethodPatch, ns, "db", "dryRun=All", contentType, body))
	}
	for _, u := range undecodable {
		code, body := run(string(u.pt), []byte(u.body))
		if code != http.StatusUnprocessableEntity || strings.Contains(body, b64) || strings.Contains(body, value) || strings.Contains(body, "password") ||
			!strings.Contains(body, `"reason":"Invalid"`) || !strings.Contains(body, "withheld") {
			t.Errorf("%s %s through the agent -> %d, want the 422 without its words: %.600s", u.pt, u.body, code, body)
		}
	}
	for _, key := range []string{"password", "apikey"} {
		if code, body := run(string(types.StrategicMergePatchType), directive(key)); code != http.StatusForbidden || !strings.Contains(body, "may not hold the directive") {
			t.Errorf("$deleteFromPrimitiveList/%s through the agent -> %d, want 403: %.400s", key, code, body)
		}
	}
	// The API server's Content-Length is the unscrubbed Secret's: a right
	// and a wrong key (and an unchanged value) give different lengths.
	// Through the agent no header tells them apart.
	lengths := map[string]string{}
	headersOf := map[string]string{}
	for _, key := range []string{"password", "passwore"} {
		body := []byte(`{"data":{"` + key + `":"QQ=="}}`)
		res := c.Clientset().CoreV1().RESTClient().Patch(types.MergePatchType).Namespace(ns).Resource("secrets").Name("db").Param("dryRun", "All").Body(body).Do(ctx)
		var raw []byte
		raw, err := res.Raw()
		if err != nil {
			t.Fatal(err)
		}
		lengths[key] = strconv.Itoa(len(raw))
		var names []string
		acct.Execute(ctx, secretWrite(http.MethodPatch, ns, "db", "dryRun=All", "application/merge-patch+json", body),
			func(r *bridgev1.OperationResult) error {
				for _, h := range r.GetHeaders() {
					name := http.CanonicalHeaderKey(h.GetName())
					switch name {
					case "Date", "Audit-Id": // differ between any two answers
						continue
					case "Content-Length", "Etag", "Content-Md5", "Warning":
						t.Errorf("a Secret answer through the agent carries %s: %v", name, h.GetValues())
					}
					names = append(names, name+"="+strings.Join(h.GetValues(), ","))
				}
				return nil
			})
		slices.Sort(names)
		headersOf[key] = strings.Join(names, ",")
	}
	if lengths["password"] == lengths["passwore"] {
		t.Fatalf("the API server's answers to a right and a wrong key have one length (%v): this check proves nothing", lengths)
	}
	if headersOf["password"] != headersOf["passwore"] {
		t.Errorf("the agent's answers to a right and a wrong key carry other headers: %v", headersOf)
	}
	// A Table of Secrets: the API server's has a Data column counting the
	// keys; the agent's has none.
	tableAccept := "application/json;as=Table;v=v1;g=meta.k8s.io"
	raw, err := c.Clientset().CoreV1().RESTClient().Get().Namespace(ns).Resource("secrets").SetHeader("Accept", tableAccept).DoRaw(ctx)
	if err != nil || !strings.Contains(string(raw), `"name":"Data"`) {
		t.Fatalf("a Table of Secrets straight from the API server: %v %.300s; want a Data column (else this check proves nothing)", err, raw)
	}
	code, body := execute(ctx, acct, &bridgev1.Operation{Id: "t", Account: "a", Method: http.MethodGet, Path: "/api/v1/namespaces/" + ns + "/secrets",
		Headers: []*bridgev1.Header{{Name: "Accept", Values: []string{tableAccept}}}})
	if code != http.StatusOK || strings.Contains(body, `"name":"Data"`) || !strings.Contains(body, `"name":"Type"`) {
		t.Errorf("a Table of Secrets through the agent -> %d: %.600s", code, body)
	}
	big := []byte(`{"data":{"pad":"` + strings.Repeat("QUFB", scope.MaxSecretWrite/4) + `"}}`)
	if code, body := run(string(types.MergePatchType), big); code != http.StatusForbidden || !strings.Contains(body, "limited to") {
		t.Errorf("a merge patch of %d bytes through the agent -> %d, want 403: %.400s", len(big), code, body)
	}
}

// secretWrite is an operation of account "a" that writes Secret name of
// namespace ns, asking for JSON.
// createSecret makes the Secret "db" in ns, holding key = value.
func createSecret(t *testing.T, c *testenv.Cluster, ns, key, value string) {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db"}, Data: map[string][]byte{key: []byte(value)}}
	if _, err := c.Clientset().CoreV1().Secrets(ns).Create(context.Background(), s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func secretWrite(method, ns, name, query, contentType string, body []byte) *bridgev1.Operation {
	return &bridgev1.Operation{Id: "op", Account: "a", Method: method, Path: "/api/v1/namespaces/" + ns + "/secrets/" + name, Query: query, Body: body,
		Headers: []*bridgev1.Header{{Name: "Content-Type", Values: []string{contentType}}, {Name: "Accept", Values: []string{"application/json"}}}}
}

// execute runs op on acct and returns the answer's status code and its
// body followed by any error the agent reported.
func execute(ctx context.Context, acct *clusterAccount, op *bridgev1.Operation) (int, string) {
	var code int32
	var out strings.Builder
	acct.Execute(ctx, op, func(r *bridgev1.OperationResult) error {
		if r.GetStatusCode() != 0 {
			code = r.GetStatusCode()
		}
		out.Write(r.GetBody())
		out.WriteString(r.GetError())
		return nil
	})
	return int(code), out.String()
}

// countedAccount starts an account of cfg on the cluster whose own
// requests (discovery and operations) are counted in calls: its informers
// list and watch on their own schedule, through a config without the
// counter. It stops with the test.
func countedAccount(t *testing.T, c *testenv.Cluster, cfg AccountConfig) (acct *clusterAccount, calls *atomic.Int64) {
	t.Helper()
	inf, err := NewInformerFactory(c.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	calls = &atomic.Int64{}
	rc := c.RESTConfig()
	rc.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return countingTransport{rt: rt, n: calls} }
	acct, err = startAccount(context.Background(), cfg, "cred", rc, inf, clock.RealClock{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(acct.stop)
	return acct, calls
}
