package testenv_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

func TestMoto(t *testing.T) {
	m := testenv.StartMoto(t)
	ctx := t.Context()
	creds := aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
		testenv.MotoAccessKeyID, testenv.MotoSecretAccessKey, ""))

	client := sts.New(sts.Options{Region: testenv.MotoRegion, Credentials: creds, BaseEndpoint: aws.String(m.Endpoint)})
	id, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(id.Account); got != testenv.MotoAccountID {
		t.Errorf("account = %s, want %s", got, testenv.MotoAccountID)
	}

	// IAM over the plain query API, signed with SigV4 (moto does not check
	// signatures, but routes by the service in the credential scope).
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	if code, body := iamCall(t, m, creds, url.Values{
		"Action": {"CreateRole"}, "RoleName": {"tf-acc-test-role"}, "AssumeRolePolicyDocument": {trust},
	}); code != http.StatusOK || !strings.Contains(body, "arn:aws:iam::"+testenv.MotoAccountID+":role/tf-acc-test-role") {
		t.Fatalf("CreateRole: %d %s", code, body)
	}
	if code, body := iamCall(t, m, creds, url.Values{"Action": {"GetRole"}, "RoleName": {"tf-acc-test-role"}}); code != http.StatusOK {
		t.Errorf("GetRole: %d %s", code, body)
	}
	// MOTO_IAM_LOAD_MANAGED_POLICIES=true: AWS managed policies exist.
	if code, body := iamCall(t, m, creds, url.Values{
		"Action": {"GetPolicy"}, "PolicyArn": {"arn:aws:iam::aws:policy/ReadOnlyAccess"},
	}); code != http.StatusOK {
		t.Errorf("GetPolicy ReadOnlyAccess: %d %s", code, body)
	}

	m.Reset(t)
	if code, body := iamCall(t, m, creds, url.Values{"Action": {"GetRole"}, "RoleName": {"tf-acc-test-role"}}); code != http.StatusNotFound || !strings.Contains(body, "NoSuchEntity") {
		t.Errorf("GetRole after Reset: %d %s, want 404 NoSuchEntity", code, body)
	}
}

func TestSharedMotoEnv(t *testing.T) {
	m := testenv.SharedMoto(t)
	if testenv.SharedMoto(t) != m {
		t.Fatal("SharedMoto returned a second server")
	}
	m.SetEnv(t)
	if got := m.Env()["AWS_ENDPOINT_URL"]; got != m.Endpoint {
		t.Errorf("AWS_ENDPOINT_URL = %q", got)
	}
}

func iamCall(t *testing.T, m *testenv.Moto, creds aws.CredentialsProvider, params url.Values) (int, string) {
	t.Helper()
	params.Set("Version", "2010-05-08")
	body := params.Encode()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.Endpoint+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	c, err := creds.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(ctx, c, req, hex.EncodeToString(sum[:]), "iam", testenv.MotoRegion, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
