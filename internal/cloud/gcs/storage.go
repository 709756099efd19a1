package gcs

import (
	"context"
	"fmt"
	"strings"

	"cloud.google.com/go/storage"
	"golang.org/x/oauth2"
	"google.golang.org/api/option"
)

// StorageSettings says how to reach Cloud Storage. Empty fields fall back to
// Application Default Credentials and the public endpoint; Endpoint (or the
// STORAGE_EMULATOR_HOST environment variable) points at an emulator such as
// fake-gcs-server, which needs no credentials.
type StorageSettings struct {
	Endpoint    string
	Credentials string // service-account JSON key content
	AccessToken string
}

// NewStorageClient returns a Cloud Storage client for s.
func NewStorageClient(ctx context.Context, s StorageSettings) (*storage.Client, error) {
	var opts []option.ClientOption
	if s.Endpoint != "" {
		ep := strings.TrimRight(s.Endpoint, "/")
		if !strings.Contains(ep, "://") {
			ep = "http://" + ep
		}
		opts = append(opts, option.WithEndpoint(ep+"/storage/v1/"), option.WithoutAuthentication())
	} else {
		switch {
		case s.AccessToken != "":
			opts = append(opts, option.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: s.AccessToken})))
		case s.Credentials != "":
			opts = append(opts, option.WithCredentialsJSON([]byte(s.Credentials))) //nolint:staticcheck // the key comes from the user's own configuration
		}
	}
	c, err := storage.NewClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("creating the Cloud Storage client: %w", err)
	}
	return c, nil
}
