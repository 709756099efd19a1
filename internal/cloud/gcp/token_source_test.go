package gcp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTokenSource_staticAccessToken(t *testing.T) {
	ts, err := TokenSource(context.Background(), `{"type":"service_account"}`, "ya29.static")
	if err != nil {
		t.Fatalf("TokenSource: %v", err)
	}
	tok, err := ts.Token()
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if tok.AccessToken != "ya29.static" || tok.Type() != "Bearer" {
		t.Errorf("token = %q (%s), want the static access token as Bearer", tok.AccessToken, tok.Type())
	}
}

// fakeTokenEndpoint stands in for oauth2.googleapis.com/token and returns
// the service-account JSON whose token_uri points at it.
func fakeTokenEndpoint(t *testing.T) (credentialsJSON string, requests *int) {
	t.Helper()
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		if err := r.ParseForm(); err != nil {
			t.Errorf("parsing token request: %v", err)
		}
		if got := r.PostForm.Get("grant_type"); got != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
			t.Errorf("grant_type = %q, want the JWT bearer grant", got)
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"ya29.from-service-account","token_type":"Bearer","expires_in":3600}`)
	}))
	t.Cleanup(srv.Close)

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: must(x509.MarshalPKCS8PrivateKey(key))})
	b, err := json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     "spinops-test",
		"private_key_id": "test-key",
		"private_key":    string(keyPEM),
		"client_email":   "spinops@spinops-test.iam.gserviceaccount.com",
		"token_uri":      srv.URL + "/token",
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b), &n
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestTokenSource_serviceAccountJSON(t *testing.T) {
	creds, requests := fakeTokenEndpoint(t)
	ts, err := TokenSource(context.Background(), creds, "")
	if err != nil {
		t.Fatalf("TokenSource: %v", err)
	}
	for range 3 {
		tok, err := ts.Token()
		if err != nil {
			t.Fatalf("Token: %v", err)
		}
		if tok.AccessToken != "ya29.from-service-account" {
			t.Errorf("access token = %q", tok.AccessToken)
		}
	}
	if *requests != 1 {
		t.Errorf("token endpoint called %d times, want 1 (tokens must be reused until they expire)", *requests)
	}
}

func TestTokenSource_applicationDefaultCredentials(t *testing.T) {
	creds, _ := fakeTokenEndpoint(t)
	path := filepath.Join(t.TempDir(), "adc.json")
	if err := os.WriteFile(path, []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", path)

	ts, err := TokenSource(context.Background(), "", "")
	if err != nil {
		t.Fatalf("TokenSource: %v", err)
	}
	tok, err := ts.Token()
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if tok.AccessToken != "ya29.from-service-account" {
		t.Errorf("access token = %q", tok.AccessToken)
	}
}

func TestTokenSource_rejectsBadCredentialsJSON(t *testing.T) {
	for name, tc := range map[string]struct{ json, want string }{
		"not json":     {`{nope`, "not valid JSON"},
		"no type":      {`{"client_email":"a@b"}`, `no "type" field`},
		"unknown type": {`{"type":"api_key"}`, `"api_key" is not supported`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := TokenSource(context.Background(), tc.json, "")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
