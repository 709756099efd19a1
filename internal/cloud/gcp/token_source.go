package gcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// CloudPlatformScope is the OAuth2 scope GKE accepts for Kubernetes API
// access (the same scope gcloud's gke-gcloud-auth-plugin requests).
const CloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"

// acceptedCredentialTypes are the credential JSON types TokenSource accepts.
var acceptedCredentialTypes = []google.CredentialsType{
	google.ServiceAccount,
	google.AuthorizedUser,
	google.ExternalAccount,
	google.ImpersonatedServiceAccount,
}

// TokenSource returns Google OAuth2 access tokens for GKE, from the first
// source given:
//
//   - accessToken: used as is and never refreshed;
//   - credentialsJSON: a service-account key, gcloud user credentials,
//     workload identity federation or impersonated service-account JSON;
//   - otherwise Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS,
//     gcloud's application-default login, or the metadata server).
//
// The returned source caches and refreshes tokens itself. ctx is kept for
// refreshes, so it must outlive the source: pass a context that is not
// cancelled when the caller returns (context.WithoutCancel).
func TokenSource(ctx context.Context, credentialsJSON, accessToken string) (oauth2.TokenSource, error) {
	switch {
	case accessToken != "":
		return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: accessToken, TokenType: "Bearer"}), nil

	case credentialsJSON != "":
		credType, err := credentialsType([]byte(credentialsJSON))
		if err != nil {
			return nil, fmt.Errorf("reading Google credentials JSON: %w", err)
		}
		creds, err := google.CredentialsFromJSONWithType(ctx, []byte(credentialsJSON), credType, CloudPlatformScope)
		if err != nil {
			return nil, fmt.Errorf("reading Google credentials JSON (%s): %w", credType, err)
		}
		return creds.TokenSource, nil

	default:
		ts, err := google.DefaultTokenSource(ctx, CloudPlatformScope)
		if err != nil {
			return nil, fmt.Errorf("finding Google Application Default Credentials: %w; run `gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS, or give credentials or an access token explicitly", err)
		}
		return ts, nil
	}
}

// credentialsType reads the "type" field of a credentials JSON and checks it
// is one TokenSource accepts.
func credentialsType(data []byte) (google.CredentialsType, error) {
	var f struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return "", fmt.Errorf("not valid JSON: %w", err)
	}
	if f.Type == "" {
		return "", errors.New(`no "type" field; expected a service-account key or other Google credentials JSON`)
	}
	for _, t := range acceptedCredentialTypes {
		if google.CredentialsType(f.Type) == t {
			return t, nil
		}
	}
	return "", fmt.Errorf("credential type %q is not supported; use one of %v", f.Type, acceptedCredentialTypes)
}
