package scope

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
)

// TestCheckSecretPatch: a JSON Patch on a Secret that reads a hidden value
// (copy or move from it, test it), in any spelling JSON and JSON Pointer
// allow, or that is not a JSON array of operations, is refused with a
// Denied that names no value; patches that only set values pass.
func TestCheckSecretPatch(t *testing.T) {
	const secretGuess = "hunter2-guess"
	for _, c := range []struct {
		name, contentType, body string
		deny                    string // "" = allowed
	}{
		// What Spinnaker and kubectl send.
		{"label add", JSONPatchType, `[{"op":"add","path":"/metadata/labels/app","value":"web"}]`, ""},
		{"label replace and remove", JSONPatchType, `[{"op":"replace","path":"/metadata/labels/app","value":"x"},{"op":"remove","path":"/metadata/labels/old"}]`, ""},
		{"data add (sets a key whether or not it exists)", JSONPatchType, `[{"op":"add","path":"/data/password","value":"bmV3"}]`, ""},
		{"data replace (at the API server, a replace of a key the object lacks adds it)", JSONPatchType, `[{"op":"replace","path":"/data/password","value":"bmV3"}]`, ""},
		{"stringData add", JSONPatchType, `[{"op":"add","path":"/stringData/password","value":"new"}]`, ""},
		{"the whole data", JSONPatchType, `[{"op":"replace","path":"/data","value":{"a":"Yg=="}},{"op":"remove","path":"/stringData"},{"op":"add","path":"/data","value":{}}]`, ""},
		{"the whole managedFields", JSONPatchType, `[{"op":"replace","path":"/metadata/managedFields","value":[{}]}]`, ""},
		{"the last-applied annotation as a whole", JSONPatchType, `[{"op":"remove","path":"/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration"}]`, ""},
		{"what holds a hidden part", JSONPatchType, `[{"op":"remove","path":"/metadata/annotations"}]`, ""},
		{"move into data (brings in stored bytes)", JSONPatchType, `[{"op":"move","from":"/metadata/labels/a","path":"/data/a"}]`, "may move only within metadata"},
		{"move stored labels into stringData (a review's size probe)", JSONPatchType, `[{"op":"add","path":"/metadata/labels/password","value":"x"},{"op":"move","from":"/metadata/labels","path":"/stringData"},{"op":"add","path":"/stringData/zzpad","value":"QUFB"}]`, "may move only within metadata (operation 1"},
		{"move out of metadata", JSONPatchType, `[{"op":"move","from":"/metadata/labels/a","path":"/spec"}]`, "may move only within metadata"},
		{"move the metadata", JSONPatchType, `[{"op":"move","from":"/metadata/x","path":"/metadata"}]`, "may move only within metadata"},
		{"copy between labels (a copy repeats bytes the body does not carry)", JSONPatchType, `[{"op":"copy","from":"/metadata/labels/a","path":"/metadata/labels/b"}]`, "may not copy (operation 0)"},
		{"move an annotation", JSONPatchType, `[{"op":"move","from":"/metadata/annotations/a","path":"/metadata/annotations/b"}]`, ""},
		{"test a label", JSONPatchType, `[{"op":"test","path":"/metadata/labels/app","value":"web"}]`, ""},
		{"copy into data", JSONPatchType, `[{"op":"copy","from":"/metadata/name","path":"/data/name"}]`, "may not copy (operation 0)"},
		{"copies filling data from a small body", JSONPatchType, `[{"op":"add","path":"/pad","value":"QUFB"},{"op":"copy","from":"/pad","path":"/data/p1"},{"op":"copy","from":"/pad","path":"/data/p2"},{"op":"remove","path":"/pad"}]`, "may not copy (operation 1)"},
		{"empty patch", JSONPatchType, `[]`, ""},
		{"charset parameter", JSONPatchType + "; charset=utf-8", `[{"op":"add","path":"/metadata/labels/a","value":"b"}]`, ""},
		{"merge patch is not read as JSON Patch", "application/merge-patch+json", `{"data":{"a":"Yg=="}}`, ""},
		{"merge patch body that looks like JSON Patch", "application/merge-patch+json", `[{"op":"copy","from":"/data","path":"/metadata/annotations"}]`, ""},
		{"strategic merge patch", "application/strategic-merge-patch+json", `{"metadata":{"labels":{"a":"b"}}}`, ""},
		{"apply patch", "application/apply-patch+yaml", "metadata:\n  labels:\n    a: b\n", ""},

		// The reviewer's reads.
		{"copy data to annotations", JSONPatchType, `[{"op":"copy","from":"/data","path":"/metadata/annotations"}]`, `may not copy from "/data"`},
		{"copy data to labels", JSONPatchType, `[{"op":"copy","from":"/data","path":"/metadata/labels"}]`, `may not copy from "/data"`},
		{"copy a value to generateName", JSONPatchType, `[{"op":"copy","from":"/data/password","path":"/metadata/generateName"}]`, `may not copy from "/data/password"`},
		{"copy a value to an annotation", JSONPatchType, `[{"op":"add","path":"/metadata/annotations","value":{}},{"op":"copy","from":"/data/password","path":"/metadata/annotations/x"}]`, "operation 1"},
		{"move is a copy", JSONPatchType, `[{"op":"move","from":"/data/password","path":"/metadata/annotations/x"}]`, `may not move from "/data/password"`},
		{"test oracle", JSONPatchType, `[{"op":"test","path":"/data/password","value":"` + secretGuess + `"}]`, `may not test "/data/password"`},
		{"test the data", JSONPatchType, `[{"op":"test","path":"/data","value":{"password":"` + secretGuess + `"}}]`, "may not test"},
		{"copy the whole document", JSONPatchType, `[{"op":"copy","from":"","path":"/metadata/generateName"}]`, `may not copy from ""`},
		{"copy the root slash", JSONPatchType, `[{"op":"copy","from":"/","path":"/metadata/generateName"}]`, `may not copy from "/"`},
		{"test the whole document", JSONPatchType, `[{"op":"test","path":"","value":{}}]`, "may not test"},
		{"test the root slash", JSONPatchType, `[{"op":"test","path":"/","value":{}}]`, "may not test"},
		{"stringData", JSONPatchType, `[{"op":"copy","from":"/stringData/p","path":"/metadata/labels/x"}]`, "may not copy"},
		{"managedFields", JSONPatchType, `[{"op":"copy","from":"/metadata/managedFields/0/fieldsV1","path":"/metadata/annotations/x"}]`, "may not copy"},
		{"last-applied", JSONPatchType, `[{"op":"copy","from":"/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration","path":"/metadata/annotations/x"}]`, "may not copy"},
		{"test last-applied", JSONPatchType, `[{"op":"test","path":"/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration","value":"x"}]`, "may not test"},
		{"every annotation holds last-applied", JSONPatchType, `[{"op":"copy","from":"/metadata/annotations","path":"/metadata/labels"}]`, "may not copy"},
		{"metadata holds managedFields", JSONPatchType, `[{"op":"move","from":"/metadata","path":"/spec"}]`, "may not move"},

		// Writes whose success tells whether a key exists (with
		// ?dryRun=All they cost nothing): the Secret's key names, which
		// the bridge never serves.
		{"remove a key", JSONPatchType, `[{"op":"remove","path":"/data/password"}]`, `may not remove "/data/password"`},
		{"replace inside data", JSONPatchType, `[{"op":"replace","path":"/data/password/x","value":"bmV3"}]`, "may not replace"},
		{"remove a stringData key", JSONPatchType, `[{"op":"remove","path":"/stringData/p"}]`, "may not remove"},
		{"add under a key", JSONPatchType, `[{"op":"add","path":"/data/password/x","value":"x"}]`, "reaches inside"},
		{"add under a managedFields entry", JSONPatchType, `[{"op":"add","path":"/metadata/managedFields/0/fieldsV1/f:data/f:password/x","value":{}}]`, "may not add"},
		{"remove a managedFields key", JSONPatchType, `[{"op":"remove","path":"/metadata/managedFields/0/fieldsV1/f:data/f:password"}]`, "may not remove"},
		{"add a managedFields entry (tells how many)", JSONPatchType, `[{"op":"add","path":"/metadata/managedFields/3","value":{}}]`, "may not add"},
		{"inside the last-applied annotation", JSONPatchType, `[{"op":"remove","path":"/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration/x"}]`, "may not remove"},
		{"copy under a key", JSONPatchType, `[{"op":"copy","from":"/metadata/name","path":"/data/password/x"}]`, "may not copy"},
		{"move under managedFields", JSONPatchType, `[{"op":"move","from":"/metadata/labels/a","path":"/metadata/managedFields/0/manager"}]`, "may not move"},
		{"escaped key path", JSONPatchType, `[{"op":"remove","path":"/\u0064ata/password"}]`, "may not remove"},
		{"letter case key path", JSONPatchType, `[{"op":"remove","path":"/Data/password"}]`, "may not remove"},
		{"empty token under data", JSONPatchType, `[{"op":"add","path":"/data//password","value":"x"}]`, "reaches inside"},
		{"trailing slash under data", JSONPatchType, `[{"op":"add","path":"/data/password/","value":"x"}]`, "reaches inside"},

		// Hostile encodings of the same reads.
		{"escaped op and pointer", JSONPatchType, `[{"op":"\u0063opy","from":"/\u0064ata","path":"/metadata/annotations"}]`, `may not copy from "/data"`},
		{"escaped keys", JSONPatchType, `[{"\u006fp":"copy","\u0066rom":"/data","path":"/metadata/annotations"}]`, "may not copy"},
		{"escaped slash", JSONPatchType, `[{"op":"copy","from":"\/data\/password","path":"/metadata/generateName"}]`, "may not copy"},
		{"pointer escapes", JSONPatchType, `[{"op":"copy","from":"/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration","path":"/metadata/labels/x"}]`, "may not copy"},
		{"letter case", JSONPatchType, `[{"op":"copy","from":"/DATA","path":"/metadata/annotations"}]`, "may not copy"},
		{"letter case stringdata", JSONPatchType, `[{"op":"test","path":"/stringdata/p","value":"x"}]`, "may not test"},
		{"empty tokens", JSONPatchType, `[{"op":"copy","from":"//data","path":"/metadata/annotations"}]`, "may not copy"},
		{"trailing slash", JSONPatchType, `[{"op":"test","path":"/data/","value":"x"}]`, "may not test"},
		{"whitespace and newlines", JSONPatchType, " \n[ {\n\"op\" : \"copy\" ,\"from\":\"/data\",\"path\":\"/metadata/annotations\"} ]\n", "may not copy"},
		{"media type letter case", "Application/JSON-Patch+JSON", `[{"op":"copy","from":"/data","path":"/metadata/annotations"}]`, "may not copy"},
		{"media type spacing", " application/json-patch+json ;charset=utf-8", `[{"op":"copy","from":"/data","path":"/metadata/annotations"}]`, "may not copy"},
		{"later operation", JSONPatchType, `[{"op":"add","path":"/metadata/labels/a","value":"b"},{"op":"test","path":"/data/password","value":"x"}]`, "operation 1"},
		{"duplicate op (last wins at the API server)", JSONPatchType, `[{"op":"add","op":"copy","from":"/data","path":"/metadata/annotations"}]`, `repeats the key "op"`},
		{"duplicate from", JSONPatchType, `[{"op":"copy","from":"/metadata/name","from":"/data","path":"/metadata/annotations"}]`, `repeats the key "from"`},
		{"escaped duplicate", JSONPatchType, `[{"op":"copy","from":"/metadata/name","\u0066rom":"/data","path":"/x"}]`, "repeats the key"},
		{"key in another case", JSONPatchType, `[{"op":"copy","From":"/data","from":"/metadata/name","path":"/x"}]`, "letter case"},

		// Malformed bodies are not sent on.
		{"not JSON", JSONPatchType, `[{"op":"copy",`, "does not parse"},
		{"trailing data", JSONPatchType, `[] [{"op":"copy","from":"/data","path":"/x"}]`, "does not parse"},
		{"an object", JSONPatchType, `{"op":"copy","from":"/data","path":"/x"}`, "not a JSON array"},
		{"null", JSONPatchType, `null`, "not a JSON array"},
		{"empty body", JSONPatchType, ``, "not a JSON array"},
		{"byte order mark", JSONPatchType, "\xef\xbb\xbf[]", "not a JSON array"},
		{"an element that is not an object", JSONPatchType, `["copy"]`, "operation 0 is not a JSON object"},
		{"a null element", JSONPatchType, `[null]`, "is not a JSON object"},
		{"nested arrays", JSONPatchType, `[[{"op":"copy","from":"/data","path":"/x"}]]`, "is not a JSON object"},
		{"no op", JSONPatchType, `[{"from":"/data","path":"/x"}]`, `has no "op"`},
		{"op not a string", JSONPatchType, `[{"op":["copy"],"from":"/data","path":"/x"}]`, "not a string"},
		{"op null", JSONPatchType, `[{"op":null,"path":"/x"}]`, "not a string"},
		{"unknown op", JSONPatchType, `[{"op":"COPY","from":"/data","path":"/x"}]`, "not one of"},
		{"from not a string", JSONPatchType, `[{"op":"copy","from":{"a":1},"path":"/x"}]`, "not a string"},
		{"copy without from", JSONPatchType, `[{"op":"copy","path":"/x"}]`, `has no "from"`},
		{"no path", JSONPatchType, `[{"op":"test","value":"x"}]`, `has no "path"`},
		{"no value (the API server's JSON Patch panics on this one)", JSONPatchType, `[{"op":"replace","path":""}]`, `has no "value"`},
		{"add without a value", JSONPatchType, `[{"op":"add","path":"/metadata/labels/a"}]`, `has no "value"`},
		{"a null value is a value", JSONPatchType, `[{"op":"add","path":"/metadata/labels/a","value":null}]`, ""},
		{"from not a pointer (the first token is skipped by the API server)", JSONPatchType, `[{"op":"copy","from":"x/data","path":"/x"}]`, "not a JSON Pointer"},
		{"path not a pointer", JSONPatchType, `[{"op":"test","path":"x/data/password","value":"x"}]`, "not a JSON Pointer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := CheckSecretPatch(c.contentType, []byte(c.body))
			wantRefusal(t, err, c.deny)
			if err != nil && strings.Contains(err.Error(), secretGuess) {
				t.Errorf("the refusal echoes a value: %v", err)
			}
		})
	}
}

// wantRefusal fails t unless err is a Denied containing deny, or nil when
// deny is "".
func wantRefusal(t *testing.T, err error, deny string) {
	t.Helper()
	var d *Denied
	switch {
	case deny == "" && err != nil:
		t.Errorf("refused: %v", err)
	case deny != "" && (!errors.As(err, &d) || !strings.Contains(err.Error(), deny)):
		t.Errorf("got %v, want a refusal containing %q", err, deny)
	}
}

// TestCheckSecretRequest: only a PATCH of a Secret is judged, under every
// Content-Type it carries.
func TestCheckSecretRequest(t *testing.T) {
	read := []byte(`[{"op":"copy","from":"/data","path":"/metadata/annotations"}]`)
	for _, c := range []struct {
		method, path string
		types        []string
		deny         bool
	}{
		{http.MethodPatch, "/api/v1/namespaces/n/secrets/db", []string{JSONPatchType}, true},
		{http.MethodPatch, "/api/v1/namespaces/n/secrets/db", []string{"application/merge-patch+json", JSONPatchType}, true},
		// An array is no merge patch of a Secret: it does not parse as an
		// object (CheckSecretSetsImmutable).
		{http.MethodPatch, "/api/v1/namespaces/n/secrets/db", []string{"application/merge-patch+json"}, true},
		{http.MethodPatch, "/api/v1/namespaces/n/secrets/db", nil, true}, // no Content-Type: nothing the bridge can read
		{http.MethodPatch, "/api/v1/namespaces/n/configmaps/db", []string{JSONPatchType}, false},
		{http.MethodPatch, "/apis/example.com/v1/namespaces/n/secrets/db", []string{JSONPatchType}, false},
		{http.MethodPut, "/api/v1/namespaces/n/secrets/db", []string{JSONPatchType}, false},
	} {
		req, _, err := ParseRequest(c.method, c.path, "")
		if err != nil {
			t.Fatal(err)
		}
		err = CheckSecretRequest(req, nil, c.types, read)
		if (err != nil) != c.deny {
			t.Errorf("%s %s %v: got %v, want refused=%v", c.method, c.path, c.types, err, c.deny)
		}
	}
}

// TestCheckSecretApply: a server-side apply of a Secret passes only when
// it forces conflicts, force read as the API server reads it, every value
// given true; other patch types and other objects are not judged.
func TestCheckSecretApply(t *testing.T) {
	const apply = "application/apply-patch+yaml"
	for _, c := range []struct {
		method, path, query string
		types               []string
		deny                bool
	}{
		{http.MethodPatch, "/api/v1/namespaces/n/secrets/db", "fieldManager=m&force=true", []string{apply}, false},
		{http.MethodPatch, "/api/v1/namespaces/n/secrets/db", "fieldManager=m&force=1", []string{apply}, false},
		{http.MethodPatch, "/api/v1/namespaces/n/secrets/db", "fieldManager=m&force=", []string{apply}, false}, // the API server reads "" as true
		{http.MethodPatch, "/api/v1/namespaces/n/secrets/db", "fieldManager=m", []string{apply}, true},
		{http.MethodPatch, "/api/v1/namespaces/n/secrets/db", "fieldManager=m&force=false", []string{apply}, true},
		{http.MethodPatch, "/api/v1/namespaces/n/secrets/db", "force=FALSE", []string{apply}, true},
		{http.MethodPatch, "/api/v1/namespaces/n/secrets/db", "force=0", []string{apply}, true},
		{http.MethodPatch, "/api/v1/namespaces/n/secrets/db", "force=true&force=false", []string{apply}, true},
		{http.MethodPatch, "/api/v1/namespaces/n/secrets/db", "force=false&force=true", []string{apply}, true},
		{http.MethodPatch, "/api/v1/namespaces/n/secrets/db", "dryRun=All", []string{"Application/Apply-Patch+YAML; charset=utf-8"}, true},
		{http.MethodPatch, "/api/v1/namespaces/n/secrets/db", "", []string{"application/apply-patch+cbor"}, true},
		{http.MethodPatch, "/api/v1/namespaces/n/secrets/db", "", []string{"application/merge-patch+json", apply}, true},
		{http.MethodPatch, "/api/v1/namespaces/n/secrets/db", "", []string{"application/merge-patch+json"}, false},
		{http.MethodPatch, "/api/v1/namespaces/n/configmaps/db", "fieldManager=m", []string{apply}, false},
		{http.MethodPatch, "/apis/example.com/v1/namespaces/n/secrets/db", "fieldManager=m", []string{apply}, false},
	} {
		req, q, err := ParseRequest(c.method, c.path, c.query)
		if err != nil {
			t.Fatal(err)
		}
		err = CheckSecretRequest(req, q, c.types, []byte(`{"apiVersion":"v1","kind":"Secret"}`))
		var d *Denied
		if (err != nil) != c.deny || (err != nil && (!errors.As(err, &d) || !strings.Contains(err.Error(), "must force conflicts"))) {
			t.Errorf("%s %s?%s %v: got %v, want refused=%v", c.method, c.path, c.query, c.types, err, c.deny)
		}
	}
}

// TestCheckSecretSetsImmutable: a write of a Secret that may set its
// immutable field, in any body format and spelling, is refused; so is a
// body the bridge cannot read. Other writes pass.
func TestCheckSecretSetsImmutable(t *testing.T) {
	const (
		merge = "application/merge-patch+json"
		smp   = "application/strategic-merge-patch+json"
		apply = "application/apply-patch+yaml"
	)
	for _, c := range []struct {
		name, contentType, body string
		deny                    string
	}{
		{"merge patch of labels", merge, `{"metadata":{"labels":{"a":"b"}}}`, ""},
		{"merge patch of data", merge, `{"data":{"a":"Yg=="}}`, ""},
		{"strategic merge patch", smp, `{"metadata":{"annotations":{"a":"b"}}}`, ""},
		{"apply YAML", apply, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  a: Yg==\n", ""},
		{"apply JSON as YAML", apply, `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db"}}`, ""},
		{"PUT JSON", "application/json", `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db"},"data":{}}`, ""},
		{"PUT YAML", "application/yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n", ""},
		{"JSON Patch of a label", JSONPatchType, `[{"op":"add","path":"/metadata/labels/a","value":"b"}]`, ""},
		{"JSON Patch of the whole Secret", JSONPatchType, `[{"op":"replace","path":"","value":{"apiVersion":"v1","kind":"Secret"}}]`, ""},
		{"JSON Patch removing immutable (a no-op or refused)", JSONPatchType, `[{"op":"remove","path":"/immutable"}]`, ""},

		{"merge patch", merge, `{"immutable":true}`, `sets "immutable"`},
		{"merge patch, false (stays mutable)", merge, `{"immutable":false}`, ""},
		{"null", merge, `{"immutable":null,"metadata":{}}`, ""},
		{"JSON Patch of false", JSONPatchType, `[{"op":"add","path":"/immutable","value":false}]`, ""},
		{"false and true", merge, `{"Immutable":false,"immutable":true}`, `sets "immutable"`},
		{"a string", merge, `{"immutable":"true"}`, "may not set immutable"},
		{"JSON Patch under immutable", JSONPatchType, `[{"op":"add","path":"/immutable/x","value":false}]`, "may not set immutable"},
		{"letter case", merge, `{"Immutable":true}`, `sets "Immutable"`},
		{"escaped key", merge, `{"\u0069mmutable":true}`, "may not set immutable"},
		{"repeated key", merge, `{"immutable":false,"immutable":true}`, "may not set immutable"},
		{"strategic merge", smp, `{"immutable":true,"metadata":{"labels":{"a":"b"}}}`, "may not set immutable"},
		{"apply YAML", apply, "apiVersion: v1\nkind: Secret\nimmutable: true\n", "may not set immutable"},
		{"apply YAML, quoted key", apply, "apiVersion: v1\n\"immutable\": true\n", "may not set immutable"},
		{"apply YAML, merge key", apply, "base: &b {immutable: true}\n<<: *b\n", "may not set immutable"},
		{"PUT JSON", "application/json", `{"apiVersion":"v1","kind":"Secret","immutable":true}`, "may not set immutable"},
		{"JSON Patch add", JSONPatchType, `[{"op":"add","path":"/immutable","value":true}]`, `writes "/immutable"`},
		{"JSON Patch replace, letter case", JSONPatchType, `[{"op":"replace","path":"/Immutable","value":true}]`, "may not set immutable"},
		{"JSON Patch copy", JSONPatchType, `[{"op":"copy","from":"/metadata/labels/t","path":"/immutable"}]`, "may not set immutable"},
		{"JSON Patch move to the document", JSONPatchType, `[{"op":"move","from":"/metadata","path":""}]`, "in place of the whole Secret"},
		{"JSON Patch whole Secret", JSONPatchType, `[{"op":"replace","path":"","value":{"kind":"Secret","immutable":true}}]`, "may not set immutable"},
		{"JSON Patch escaped pointer", JSONPatchType, `[{"op":"add","path":"/\u0069mmutable","value":true}]`, "may not set immutable"},

		{"protobuf", "application/vnd.kubernetes.protobuf", "k8s\x00", "JSON or YAML body"},
		{"CBOR apply", "application/apply-patch+cbor", "\xa0", "JSON or YAML body"},
		{"no Content-Type", "", "{}", "JSON or YAML body"},
		{"YAML that does not parse", apply, "a: [\n", "does not parse"},
		{"a JSON array", merge, `[{"immutable":true}]`, "does not parse as one"},
		{"JSON that does not parse", merge, `{"immutable":`, "does not parse as one"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantRefusal(t, CheckSecretSetsImmutable(c.contentType, []byte(c.body)), c.deny)
		})
	}
	// A PUT and every PATCH type are judged; a create is not.
	for _, c := range []struct {
		method string
		deny   bool
	}{{http.MethodPut, true}, {http.MethodPatch, true}, {http.MethodPost, false}} {
		p := "/api/v1/namespaces/n/secrets/db"
		if c.method == http.MethodPost {
			p = "/api/v1/namespaces/n/secrets"
		}
		req, q, err := ParseRequest(c.method, p, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckSecretRequest(req, q, []string{merge}, []byte(`{"immutable":true}`)); (err != nil) != c.deny {
			t.Errorf("%s of a Secret setting immutable: %v, want refused=%v", c.method, err, c.deny)
		}
	}
}

// TestCheckSecretMergeDirectives: a strategic merge patch of a Secret with
// a directive inside, or naming, data, stringData, the annotations or
// managedFields is refused; kubectl's patches pass.
func TestCheckSecretMergeDirectives(t *testing.T) {
	const smp = "application/strategic-merge-patch+json"
	for _, c := range []struct {
		name, contentType, body string
		deny                    bool
	}{
		{"kubectl's 3-way patch", smp, `{"data":{"a":"Yg==","old":null},"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}"},"labels":{"x":null}}}`, false},
		{"a top-level patch directive", smp, `{"$patch":"replace","kind":"Secret"}`, false},
		{"a merge patch is not read so", "application/merge-patch+json", `{"data":{"$deleteFromPrimitiveList/password":"x"}}`, false},
		{"delete from a primitive list in data", smp, `{"data":{"$deleteFromPrimitiveList/password":"x"}}`, true},
		{"set element order in data", smp, `{"data":{"$setElementOrder/password":["a"]}}`, true},
		{"a patch directive in data", smp, `{"data":{"$patch":"delete"}}`, true},
		{"in stringData", smp, `{"stringData":{"$retainKeys":["a"]}}`, true},
		{"naming data", smp, `{"$setElementOrder/data":["a"]}`, true},
		{"naming data, letter case", smp, `{"$deleteFromPrimitiveList/Data":["a"]}`, true},
		{"in the annotations", smp, `{"metadata":{"annotations":{"$deleteFromPrimitiveList/kubectl.kubernetes.io/last-applied-configuration":"x"}}}`, true},
		{"naming managedFields", smp, `{"metadata":{"$setElementOrder/managedFields":[{"manager":"m"}]}}`, true},
		{"inside managedFields", smp, `{"metadata":{"managedFields":[{"$patch":"delete"}]}}`, true},
		{"letter case of data", smp, `{"DATA":{"$patch":"delete"}}`, true},
		{"escaped", smp, `{"data":{"\u0024deleteFromPrimitiveList/password":"x"}}`, true},
		{"not an object", smp, `[{"data":{}}]`, true},
	} {
		err := CheckSecretMergeDirectives(c.contentType, []byte(c.body))
		var d *Denied
		if (err != nil) != c.deny || (err != nil && !errors.As(err, &d)) {
			t.Errorf("%s: %s: got %v, want refused=%v", c.name, c.body, err, c.deny)
		}
	}
}

// TestMetadataOnlyWrite: only a patch that provably changes a Secret's
// metadata alone is one.
func TestMetadataOnlyWrite(t *testing.T) {
	for _, c := range []struct {
		verb, contentType, body string
		want                    bool
	}{
		{"patch", "application/merge-patch+json", `{"metadata":{"labels":{"a":"b"}}}`, true},
		{"patch", "application/strategic-merge-patch+json; charset=utf-8", `{"apiVersion":"v1","kind":"Secret","metadata":{"annotations":{"a":null}}}`, true},
		{"patch", JSONPatchType, `[{"op":"add","path":"/metadata/labels/a","value":"b"},{"op":"move","from":"/metadata/labels/a","path":"/metadata/labels/b"}]`, true},
		{"patch", JSONPatchType, `[]`, true},
		{"patch", "application/merge-patch+json", `{"metadata":{},"data":{"a":"Yg=="}}`, false},
		{"patch", "application/merge-patch+json", `{"immutable":true}`, false},
		{"patch", "application/strategic-merge-patch+json", `{"$patch":"replace","metadata":{}}`, false},
		{"patch", "application/merge-patch+json", `{"Metadata":{}}`, false},
		{"patch", JSONPatchType, `[{"op":"add","path":"/data/a","value":"Yg=="}]`, false},
		{"patch", JSONPatchType, `[{"op":"copy","from":"/data/a","path":"/metadata/labels/a"}]`, false},
		{"patch", JSONPatchType, `[{"op":"add","path":"/metadataX","value":{}}]`, false},
		{"patch", JSONPatchType, `[{"op":"replace","path":"","value":{}}]`, false},
		{"patch", "application/apply-patch+yaml", `{"metadata":{}}`, false},
		{"update", "application/json", `{"metadata":{}}`, false},
		{"patch", "application/merge-patch+json", `[]`, false},
	} {
		if got := MetadataOnlyWrite(c.verb, c.contentType, []byte(c.body)); got != c.want {
			t.Errorf("%s %s %s: %v, want %v", c.verb, c.contentType, c.body, got, c.want)
		}
	}
}

// TestCheckSecretWriteSize: a PATCH or PUT of a Secret over MaxSecretWrite
// is refused (it could tell the size of the data); a create is not.
func TestCheckSecretWriteSize(t *testing.T) {
	big := []byte(`{"data":{"x":"` + strings.Repeat("A", MaxSecretWrite) + `"}}`)
	small := []byte(`{"data":{"x":"QQ=="}}`)
	for _, c := range []struct {
		method, path string
		body         []byte
		deny         bool
	}{
		{http.MethodPatch, "/api/v1/namespaces/n/secrets/db", big, true},
		{http.MethodPut, "/api/v1/namespaces/n/secrets/db", big, true},
		{http.MethodPatch, "/api/v1/namespaces/n/secrets/db", small, false},
		{http.MethodPost, "/api/v1/namespaces/n/secrets", big, false},
		{http.MethodPatch, "/api/v1/namespaces/n/configmaps/db", big, false},
	} {
		req, q, err := ParseRequest(c.method, c.path, "")
		if err != nil {
			t.Fatal(err)
		}
		err = CheckSecretRequest(req, q, []string{"application/merge-patch+json"}, c.body)
		if (err != nil) != c.deny || (err != nil && !strings.Contains(err.Error(), "limited to")) {
			t.Errorf("%s %s, %d bytes: got %v, want refused=%v", c.method, c.path, len(c.body), err, c.deny)
		}
	}
	// YAML is measured as the API server expands it: aliases repeat an
	// anchor's bytes.
	pad := strings.Repeat("QUFB", MaxSecretWrite/16)
	var aliases strings.Builder
	aliases.WriteString("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  p0: &p " + pad + "\n")
	for i := 1; i < 8; i++ {
		fmt.Fprintf(&aliases, "  p%d: *p\n", i)
	}
	req, q, err := ParseRequest(http.MethodPatch, "/api/v1/namespaces/n/secrets/db", "fieldManager=m&force=true")
	if err != nil {
		t.Fatal(err)
	}
	// The same as a flow mapping, which begins like JSON: YAML all the same
	// to the API server's decoding (a review found it measured raw).
	var flow strings.Builder
	flow.WriteString(`{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "data": {"p0": &p "` + pad + `"`)
	for i := 1; i < 8; i++ {
		fmt.Fprintf(&flow, `, "p%d": *p`, i)
	}
	flow.WriteString("}}")
	for _, body := range [][]byte{[]byte(aliases.String()), []byte(flow.String())} {
		if len(body) > MaxSecretWrite {
			t.Fatalf("the YAML body is %d bytes itself", len(body))
		}
		if err := CheckSecretRequest(req, q, []string{"application/apply-patch+yaml"}, body); err == nil || !strings.Contains(err.Error(), "limited to") {
			t.Errorf("a YAML body of %d bytes whose aliases expand past the limit (%.40s…): %v; want it refused", len(body), body, err)
		}
	}
}

// FuzzCheckSecretPatch: a patch the check passes cannot tell two Secrets
// apart that differ only in what the scrubber hides — the values, or the
// names of the keys (in data, stringData and managedFields). It is applied
// as the API server applies it (gopkg.in/evanphx/json-patch.v4) to each:
// the outcome, the error and the scrubbed result are the same.
func FuzzCheckSecretPatch(f *testing.F) {
	for _, s := range []string{
		`[{"op":"copy","from":"/data","path":"/metadata/annotations"}]`,
		`[{"op":"copy","from":"/data/password","path":"/metadata/generateName"}]`,
		`[{"op":"test","path":"/data/password","value":"QUFBQQ=="}]`,
		`[{"op":"add","path":"/metadata/labels/a","value":"b"}]`,
		`[{"op":"move","from":"/metadata/labels/a","path":"/metadata/labels/b"}]`,
		`[{"op":"\u0063opy","from":"/\u0064ata","path":"/x"}]`,
		`[{"op":"copy","from":"x/data","path":"/metadata/labels"}]`,
		`[{"op":"copy","from":"/metadata/annotations","path":"/metadata/labels"}]`,
		`[{"op":"remove","path":"/data/password"}]`,
		`[{"op":"add","path":"/metadata/managedFields/0/fieldsV1/f:data/f:password/x","value":{}}]`,
		`[{"op":"add","path":"/data/token","value":"eA=="}]`,
		`[{"op":"replace","path":"/data/token","value":"eA=="}]`,
	} {
		f.Add([]byte(s))
	}
	secret := func(v, key string) []byte {
		return []byte(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db","labels":{"a":"b"},` +
			`"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"` + v + `","note":"n"},` +
			`"managedFields":[{"manager":"` + v + `","fieldsV1":{"f:data":{"f:` + key + `":{}}}}]},` +
			`"data":{"` + key + `":"` + v + `"},"stringData":{"` + key + `":"` + v + `"},"type":"Opaque"}`)
	}
	apply := func(p jsonpatch.Patch, doc []byte) (string, string) {
		out, err := p.Apply(doc)
		if err != nil {
			return "", err.Error()
		}
		scrubbed, err := ScrubSecrets(out)
		if err != nil {
			return "", "scrub: " + err.Error()
		}
		return string(scrubbed), ""
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if CheckSecretPatch(JSONPatchType, body) != nil {
			return
		}
		p, err := jsonpatch.DecodePatch(body)
		if err != nil {
			t.Fatalf("passed a body the API server does not decode: %q: %v", body, err)
		}
		outA, errA := apply(p, secret("QUFBQQ==", "password"))
		outB, errB := apply(p, secret("QkJCQg==", "password"))
		if outA != outB || errA != errB {
			t.Fatalf("passed a patch that reads a hidden value: %q\n%s %s\n%s %s", body, outA, errA, outB, errB)
		}
		outC, errC := apply(p, secret("QUFBQQ==", "token"))
		if outA != outC || errA != errC {
			t.Fatalf("passed a patch that tells a hidden key's name: %q\n%s %s\n%s %s", body, outA, errA, outC, errC)
		}
	})
}
