package scope

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

const secretValue = "hunter2-s3cr3t"

var secretB64 = base64.StdEncoding.EncodeToString([]byte(secretValue))

func leaks(b []byte) bool {
	return bytes.Contains(b, []byte(secretValue)) || bytes.Contains(b, []byte(secretB64))
}

func TestScrubSecrets(t *testing.T) {
	v := secretB64
	la := `"kubectl.kubernetes.io/last-applied-configuration":"{\"stringData\":{\"p\":\"` + secretValue + `\"}}"`
	for name, in := range map[string]string{
		"secret":          `{"kind":"Secret","data":{"p":"` + v + `"},"metadata":{"name":"s","annotations":{` + la + `,"keep":"me"}}}`,
		"escaped key":     `{"kind":"Secret","d\u0061ta":{"p":"` + v + `"}}`,
		"upper key":       `{"kind":"Secret","DATA":{"p":"` + v + `"}}`,
		"string data":     `{"kind":"Secret","stringData":{"p":"` + secretValue + `"}}`,
		"list":            `{"kind":"SecretList","items":[{"kind":"Secret","data":{"p":"` + v + `"}}]}`,
		"v1 List":         `{"kind":"List","apiVersion":"v1","items":[{"kind":"Secret","data":{"p":"` + v + `"}}]}`,
		"watch events":    `{"type":"ADDED","object":{"kind":"Secret","data":{"p":"` + v + `"}}}` + "\n" + `{"type":"MODIFIED","object":{"kind":"Secret","data":{"p":"` + v + `"}}}`,
		"concatenated":    `{"type":"ADDED","object":{"kind":"Secret","data":{"p":"` + v + `"}}}{"type":"ADDED","object":{"data":{"p":"` + v + `"}}}`,
		"pretty":          "{\n  \"kind\": \"Secret\",\n  \"data\": {\n    \"p\": \"" + v + "\"\n  }\n}\n",
		"table objects":   `{"kind":"Table","rows":[{"cells":["s"],"object":{"kind":"Secret","data":{"p":"` + v + `"}}}]}`,
		"table metadata":  `{"kind":"Table","rows":[{"cells":["s"],"object":{"kind":"PartialObjectMetadata","metadata":{"annotations":{` + la + `}}}}]}`,
		"partial list":    `{"kind":"PartialObjectMetadataList","items":[{"metadata":{"annotations":{` + la + `}}}]}`,
		"no kind":         `{"data":{"p":"` + v + `"}}`,
		"managed fields":  `{"kind":"Secret","metadata":{"managedFields":[{"fieldsV1":{"f:data":{"f:` + secretValue + `":{}}}}]}}`,
		"annotation case": `{"kind":"Secret","metadata":{"annotations":{"Kubectl.Kubernetes.io/Last-Applied-Configuration":"` + v + `"}}}`,
	} {
		out, err := ScrubSecrets([]byte(in))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if leaks(out) {
			t.Errorf("%s: data left in %s", name, out)
		}
	}
	out, err := ScrubSecrets([]byte(`{"kind":"Secret","metadata":{"name":"s","annotations":{"keep":"me"}},"type":"Opaque"}`))
	if err != nil || !bytes.Contains(out, []byte(`"keep":"me"`)) || !bytes.Contains(out, []byte(`"type":"Opaque"`)) {
		t.Errorf("scrubbing removed more than the data: %s %v", out, err)
	}
	if out, err := ScrubSecrets([]byte(`{"kind":"Secret","metadata":{"name":"s","resourceVersion":"1"},"big":12345678901234567890}`)); err != nil || !bytes.Contains(out, []byte("12345678901234567890")) {
		t.Errorf("numbers changed: %s %v", out, err)
	}
	if out, err := ScrubSecrets([]byte(`{"kind":"Status","code":422,"retryAfter":1,"big":12345678901234567890}`)); err != nil || !bytes.Contains(out, []byte(`"code":422`)) {
		t.Errorf("a Status's code changed: %s %v", out, err)
	}
	if out, err := ScrubSecrets(nil); err != nil || len(out) != 0 {
		t.Errorf("an empty answer: %q %v", out, err)
	}
}

// TestScrubSecretsWithholdsStatusMessages: the API server's 422 for a
// patch of a Secret that does not decode quotes the whole patched Secret
// in its message and causes (as kube-apiserver writes it); an admission
// webhook's denial may too. A Status in a Secret answer, on its own or as
// a watch event, keeps what clients act on and loses the words.
func TestScrubSecretsWithholdsStatusMessages(t *testing.T) {
	quoted := `{\"apiVersion\":\"v1\",\"data\":{\"password\":\"aHVudGVyMg==\"},\"kind\":\"Secret\"}`
	status := `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",` +
		`"message":"Secret \"db\" is invalid: patch: Invalid value: \"` + quoted + `\": illegal base64 data at input byte 0",` +
		`"reason":"Invalid","details":{"name":"db","kind":"secrets","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: \"` + quoted + `\"","field":"patch"}]},"code":422}`
	for name, body := range map[string]string{
		"a Status":              status,
		"a watch event":         `{"type":"ERROR","object":` + status + `}`,
		"a Status in a list":    `{"kind":"List","items":[` + status + `]}`,
		"the kind in lowercase": strings.Replace(status, `"kind":"Status"`, `"kind":"status"`, 1),
	} {
		out, err := ScrubSecrets([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if bytes.Contains(out, []byte("aHVudGVyMg")) || bytes.Contains(out, []byte("password")) || bytes.Contains(out, []byte("illegal base64")) {
			t.Errorf("%s: the message is passed on: %s", name, out)
		}
		for _, keep := range []string{`"code":422`, `"reason":"Invalid"`, `"status":"Failure"`, `"name":"db"`, `"field":"patch"`, `"reason":"FieldValueInvalid"`, "withheld"} {
			if !bytes.Contains(out, []byte(keep)) {
				t.Errorf("%s: %s lost: %s", name, keep, out)
			}
		}
	}
	for _, h := range []string{"Content-Type", "Audit-Id", "Date", "X-Kubernetes-Pf-Flowschema-Uid"} {
		if !SecretAnswerHeader(h) {
			t.Errorf("SecretAnswerHeader(%q): dropped, want it kept", h)
		}
	}
	for _, h := range []string{"Warning", "warning", "spinops-agent-status", "Content-Length", "content-length", "Etag", "Content-Encoding", "Transfer-Encoding", "X-Anything"} {
		if SecretAnswerHeader(h) {
			t.Errorf("SecretAnswerHeader(%q): kept, want it dropped", h)
		}
	}
	// The agent's own refusal keeps its words; anything else it marks is
	// scrubbed as usual.
	out, err := ScrubAgentStatus([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"account a: Secret n/db is immutable","reason":"Forbidden","code":403}`))
	if err != nil || !bytes.Contains(out, []byte("Secret n/db is immutable")) || !bytes.Contains(out, []byte(`"code":403`)) {
		t.Errorf("ScrubAgentStatus of the agent's refusal: %s %v", out, err)
	}
	for _, body := range []string{
		`{"kind":"Secret","metadata":{"name":"db"},"data":{"password":"aHVudGVyMg=="}}`,
		`{"kind":"Status","message":"m","details":{"causes":[{"message":"aHVudGVyMg=="}]}} {"kind":"Secret","data":{"password":"aHVudGVyMg=="}}`,
	} {
		if out, err := ScrubAgentStatus([]byte(body)); err != nil || bytes.Contains(out, []byte("aHVudGVyMg")) {
			t.Errorf("ScrubAgentStatus(%s) = %s, %v", body, out, err)
		}
	}
}

// TestScrubSecretTables: a Table of Secrets loses its Data column, where
// the API server's printer puts the number of keys; a deleted Secret's
// Success Status keeps no message and says no failure.
func TestScrubSecretTables(t *testing.T) {
	table := `{"kind":"Table","apiVersion":"meta.k8s.io/v1","columnDefinitions":[{"name":"Name","type":"string"},{"name":"Type","type":"string"},{"name":"Data","type":"string"},{"name":"Age","type":"string"}],` +
		`"rows":[{"cells":["db","Opaque",3,"5m"],"object":{"kind":"PartialObjectMetadata","metadata":{"name":"db"}}}]}`
	out, err := ScrubSecrets([]byte(table))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte(`"Data"`)) || bytes.Contains(out, []byte(`,3,`)) || !bytes.Contains(out, []byte(`["db","Opaque","5m"]`)) {
		t.Errorf("the Table: %s", out)
	}
	out, err = ScrubSecrets([]byte(`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success","details":{"name":"db","kind":"secrets","uid":"u"}}`))
	if err != nil || bytes.Contains(out, []byte("Failure")) || bytes.Contains(out, []byte("message")) || !bytes.Contains(out, []byte(`"uid":"u"`)) {
		t.Errorf("a Success Status: %s %v", out, err)
	}
}

// Anything that is not JSON is refused, never passed through.
func TestScrubSecretsFailsClosed(t *testing.T) {
	for name, in := range map[string]string{
		"protobuf":  "k8s\x00\n\x0c\n\x02v1\x12\x06Secret\x12\x10" + secretB64,
		"yaml":      "apiVersion: v1\nkind: Secret\ndata:\n  p: " + secretB64 + "\n",
		"truncated": `{"kind":"Secret","data":{"p":"` + secretB64,
		"trailing":  `{"kind":"Secret"} data: ` + secretB64,
		"gzip":      "\x1f\x8b\x08\x00" + secretB64,
	} {
		out, err := ScrubSecrets([]byte(in))
		if err == nil {
			t.Errorf("%s: accepted: %q", name, out)
		}
		if !errors.Is(err, ErrNotJSON) {
			t.Errorf("%s: %v is not ErrNotJSON", name, err)
		}
	}
	// A stream writes the values before the bad one, never the bad one.
	var got bytes.Buffer
	err := ScrubSecretStream(strings.NewReader(`{"type":"ADDED","object":{"kind":"Secret"}}`+"\nk8s\x00"+secretB64), func(b []byte) error { got.Write(b); return nil })
	if err == nil || leaks(got.Bytes()) || !strings.Contains(got.String(), "ADDED") {
		t.Fatalf("stream: %v %q", err, got.String())
	}
}

func TestSecretAccept(t *testing.T) {
	for in, want := range map[string]string{
		"":                                    "application/json",
		"application/vnd.kubernetes.protobuf": "application/json",
		"application/yaml":                    "application/json",
		"*/*":                                 "application/json",
		"application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1;g=meta.k8s.io,application/json": "application/json;as=Table;v=v1;g=meta.k8s.io, application/json",
		"application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1":                                                              "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
	} {
		if got := SecretAccept([]string{in}); got != want {
			t.Errorf("SecretAccept(%q) = %q, want %q", in, got, want)
		}
	}
}
