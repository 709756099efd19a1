package kube

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestRequestError_saysWhatToDo(t *testing.T) {
	const u = "https://10.0.0.1:6443/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
	wrapURL := func(err error) error { return &url.Error{Op: "Post", URL: u + "?timeout=32s", Err: err} }
	forbidden := apierrors.NewForbidden(schema.GroupResource{Group: "authorization.k8s.io", Resource: "selfsubjectaccessreviews"}, "", errors.New(`User "ci" cannot create resource`))

	for name, tc := range map[string]struct {
		err  error
		want string
	}{
		"401": {apierrors.NewUnauthorized("Unauthorized"),
			"POST " + u + ": the server has asked for the client to provide credentials (401 Unauthorized): check token / client certificate"},
		"403": {forbidden,
			`User "ci" cannot create resource (403 Forbidden): the credentials were accepted but the identity may not do this; grant it the missing RBAC permission`},
		"hostname": {wrapURL(x509.HostnameError{Certificate: &x509.Certificate{}, Host: "10.0.0.1"}),
			"not valid for this address"},
		"unknown authority": {wrapURL(x509.UnknownAuthorityError{}),
			"set cluster_ca_certificate"},
		"dns": {wrapURL(&net.DNSError{Err: "no such host", Name: "api.example", IsNotFound: true}),
			"lookup api.example: no such host: the host name does not resolve; check host"},
		"deadline": {wrapURL(context.DeadlineExceeded),
			"context deadline exceeded: no answer in time"},
		"unrecognised": {errors.New("something odd"),
			"POST " + u + ": something odd"},
	} {
		t.Run(name, func(t *testing.T) {
			got := newRequestError("POST", u, tc.err).Error()
			if !strings.Contains(got, tc.want) {
				t.Errorf("message = %q, want it to contain %q", got, tc.want)
			}
			if strings.Contains(got, "?timeout=") {
				t.Errorf("message %q repeats client-go's URL", got)
			}
		})
	}
}

func TestRequestError_unwraps(t *testing.T) {
	err := newRequestError("GET", "https://x/version", apierrors.NewUnauthorized("Unauthorized"))
	if !apierrors.IsUnauthorized(err) {
		t.Error("apierrors.IsUnauthorized does not see through *RequestError")
	}
}
