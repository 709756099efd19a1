package eks

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

func staticConfig(region string) awssdk.Config {
	return awssdk.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider("AKIAEXAMPLEEXAMPLE", "secret", ""),
	}
}

func decodeEKSToken(t *testing.T, token string) *url.URL {
	t.Helper()
	if !strings.HasPrefix(token, TokenPrefix) {
		t.Fatalf("token %q does not start with %q", token, TokenPrefix)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(token, TokenPrefix))
	if err != nil {
		t.Fatalf("token is not base64url without padding: %v", err)
	}
	u, err := url.Parse(string(raw))
	if err != nil {
		t.Fatalf("token does not hold a URL: %v", err)
	}
	return u
}

func TestEKSToken_presignedGetCallerIdentity(t *testing.T) {
	before := time.Now()
	token, expires, err := Token(context.Background(), staticConfig("us-west-2"), "prod-a", "")
	if err != nil {
		t.Fatalf("Token: %v", err)
	}

	u := decodeEKSToken(t, token)
	if u.Scheme != "https" || u.Host != "sts.us-west-2.amazonaws.com" {
		t.Errorf("URL %s: want https://sts.us-west-2.amazonaws.com", u)
	}
	q := u.Query()
	for key, want := range map[string]string{
		"Action":          "GetCallerIdentity",
		"Version":         "2011-06-15",
		"X-Amz-Expires":   "60",
		"X-Amz-Algorithm": "AWS4-HMAC-SHA256",
	} {
		if got := q.Get(key); got != want {
			t.Errorf("query %s = %q, want %q", key, got, want)
		}
	}
	if signed := q.Get("X-Amz-SignedHeaders"); !strings.Contains(signed, "x-k8s-aws-id") {
		t.Errorf("X-Amz-SignedHeaders = %q, want it to contain x-k8s-aws-id", signed)
	}
	if cred := q.Get("X-Amz-Credential"); !strings.HasPrefix(cred, "AKIAEXAMPLEEXAMPLE/") || !strings.Contains(cred, "/us-west-2/sts/aws4_request") {
		t.Errorf("X-Amz-Credential = %q, want the static key scoped to us-west-2/sts", cred)
	}
	if q.Get("X-Amz-Signature") == "" {
		t.Error("URL is not signed (no X-Amz-Signature)")
	}

	if lo, hi := before.Add(TokenLifetime), time.Now().Add(TokenLifetime); expires.Before(lo) || expires.After(hi) {
		t.Errorf("expires = %v, want signing time + %v", expires, TokenLifetime)
	}
}

func TestEKSToken_boundToCluster(t *testing.T) {
	a, _, err := Token(context.Background(), staticConfig("eu-central-1"), "a", "")
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := Token(context.Background(), staticConfig("eu-central-1"), "b", "")
	if err != nil {
		t.Fatal(err)
	}
	if decodeEKSToken(t, a).Query().Get("X-Amz-Signature") == decodeEKSToken(t, b).Query().Get("X-Amz-Signature") {
		t.Error("tokens for different clusters carry the same signature; x-k8s-aws-id is not signed")
	}
}

func TestEKSToken_requiresRegion(t *testing.T) {
	_, _, err := Token(context.Background(), staticConfig(""), "prod-a", "")
	if err == nil || !strings.Contains(err.Error(), "region") || !strings.Contains(err.Error(), "prod-a") {
		t.Fatalf("err = %v, want an error naming the cluster and the missing region", err)
	}
}

func TestEKSToken_requiresClusterName(t *testing.T) {
	if _, _, err := Token(context.Background(), staticConfig("us-west-2"), "", ""); err == nil {
		t.Fatal("want an error for an empty cluster name")
	}
}

// TestEKSToken_assumesRole serves sts:AssumeRole from an in-process STS
// stand-in and checks the token is signed with the assumed credentials.
func TestEKSToken_assumesRole(t *testing.T) {
	const roleARN = "arn:aws:iam::123456789012:role/spinops-deployer"
	var gotForm url.Values
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("parsing STS request: %v", err)
		}
		gotForm = r.PostForm
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprint(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>ASIAASSUMEDROLE</AccessKeyId>
      <SecretAccessKey>assumed-secret</SecretAccessKey>
      <SessionToken>assumed-session-token</SessionToken>
      <Expiration>2099-01-01T00:00:00Z</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/spinops-deployer/spinops-eks-token</Arn>
      <AssumedRoleId>AROAEXAMPLE:spinops-eks-token</AssumedRoleId>
    </AssumedRoleUser>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>
</AssumeRoleResponse>`)
	}))
	defer sts.Close()

	cfg := staticConfig("us-west-2")
	cfg.BaseEndpoint = awssdk.String(sts.URL)
	token, _, err := Token(context.Background(), cfg, "prod-a", roleARN)
	if err != nil {
		t.Fatalf("Token: %v", err)
	}

	if gotForm.Get("Action") != "AssumeRole" || gotForm.Get("RoleArn") != roleARN {
		t.Errorf("STS request = %v, want AssumeRole of %s", gotForm, roleARN)
	}
	q := decodeEKSToken(t, token).Query()
	if cred := q.Get("X-Amz-Credential"); !strings.HasPrefix(cred, "ASIAASSUMEDROLE/") {
		t.Errorf("X-Amz-Credential = %q, want the assumed role's key", cred)
	}
	if q.Get("X-Amz-Security-Token") != "assumed-session-token" {
		t.Errorf("X-Amz-Security-Token = %q, want the assumed session token", q.Get("X-Amz-Security-Token"))
	}
}
