package agent

import (
	"bytes"
	"strings"
	"testing"
	"time"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"
)

func TestScrubSecretJSON(t *testing.T) {
	const v = "c2VjcmV0"
	for name, in := range map[string]string{
		"secret":      `{"kind":"Secret","data":{"p":"` + v + `"},"metadata":{"name":"s","annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"stringData\":{\"p\":\"` + v + `\"}}","keep":"me"}}}`,
		"list":        `{"kind":"SecretList","items":[{"kind":"Secret","data":{"p":"` + v + `"}}]}`,
		"watch event": `{"type":"ADDED","object":{"kind":"Secret","stringData":{"p":"` + v + `"}}}`,
		"table":       `{"kind":"Table","rows":[{"cells":["s"],"object":{"kind":"Secret","data":{"p":"` + v + `"}}}]}`,
	} {
		out := scrubSecretJSON([]byte(in))
		if bytes.Contains(out, []byte(v)) {
			t.Errorf("%s: data left in %s", name, out)
		}
	}
	if out := scrubSecretJSON([]byte(`{"kind":"Secret","metadata":{"annotations":{"keep":"me"}}}`)); !bytes.Contains(out, []byte("keep")) {
		t.Errorf("scrubbing removed other annotations: %s", out)
	}
	var got bytes.Buffer
	err := scrubLines(strings.NewReader(`{"type":"ADDED","object":{"kind":"Secret","data":{"p":"`+v+`"}}}`+"\n"+`{"type":"DELETED","object":{"kind":"Secret"}}`+"\n"), func(b []byte) error {
		got.Write(b)
		return nil
	})
	if err != nil || bytes.Contains(got.Bytes(), []byte(v)) || strings.Count(got.String(), "\n") != 2 {
		t.Fatalf("scrubLines: %v %q", err, got.String())
	}
}

func TestIsSecretPath(t *testing.T) {
	for p, want := range map[string]bool{
		"/api/v1/secrets":                     true,
		"/api/v1/namespaces/x/secrets":        true,
		"/api/v1/namespaces/x/secrets/db":     true,
		"/api/v1/namespaces/secrets":          false, // the namespace called "secrets"
		"/api/v1/namespaces/secrets/pods":     false,
		"/apis/example.com/v1/secrets":        false,
		"/api/v1/namespaces/x/configmaps/abc": false,
	} {
		if got := isSecretPath(p); got != want {
			t.Errorf("isSecretPath(%s) = %v", p, got)
		}
	}
}

func TestMatchKind(t *testing.T) {
	dep := &bridgev1.Kind{Group: "apps", Version: "v1", Resource: "deployments", Kind: "Deployment"}
	for _, n := range []string{"Deployment", "deployments", "deployments.apps", "Deployment.apps", "DEPLOYMENT"} {
		if !matchKind([]string{n}, dep) {
			t.Errorf("%q does not match deployments.apps", n)
		}
	}
	if matchKind([]string{"deployments.extensions"}, dep) || matchKind([]string{"Pod"}, dep) {
		t.Error("matched the wrong kind")
	}
}

func TestBackoffGrowsWithJitterAndCaps(t *testing.T) {
	for attempt := 0; attempt < 20; attempt++ {
		d := backoff(100*time.Millisecond, 2*time.Second, attempt)
		want := 100 * time.Millisecond << min(attempt, 5)
		if want > 2*time.Second {
			want = 2 * time.Second
		}
		if d < want/2 || d > want {
			t.Fatalf("attempt %d: %s outside [%s, %s]", attempt, d, want/2, want)
		}
	}
}
