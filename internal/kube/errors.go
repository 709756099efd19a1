package kube

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// ConfigError reports a connection setting that cannot work, naming the
// setting (as the provider's `kubernetes` block spells it, e.g. "config_path"
// or "eks.region") so the provider can attach a diagnostic to that attribute.
type ConfigError struct {
	// Attribute is the setting at fault.
	Attribute string
	// Summary is a short title, e.g. "Kubeconfig not found".
	Summary string
	// Detail says what is wrong and what to do about it.
	Detail string
}

func (e *ConfigError) Error() string {
	msg := e.Detail
	if msg == "" {
		msg = e.Summary
	}
	if e.Attribute == "" {
		return msg
	}
	return e.Attribute + ": " + msg
}

func configErrorf(attribute, summary, format string, args ...any) *ConfigError {
	return &ConfigError{Attribute: attribute, Summary: summary, Detail: fmt.Sprintf(format, args...)}
}

// RequestError reports a failed call to the Kubernetes API server: which call,
// what went wrong and, when the cause is recognised, what to do about it.
// Its message reads like
//
//	GET https://127.0.0.1:6443/version: the server has asked for the client to provide credentials (401 Unauthorized): check token / client certificate
type RequestError struct {
	Method string
	URL    string
	// StatusCode is the HTTP status the server answered with; 0 when no
	// answer arrived (connection, TLS or DNS failure).
	StatusCode int
	// Hint says what to do; empty when the cause is not recognised.
	Hint string
	Err  error
}

func (e *RequestError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s", e.Method, e.URL, causeMessage(e.Err))
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (%d %s)", e.StatusCode, http.StatusText(e.StatusCode))
	}
	if e.Hint != "" {
		b.WriteString(": ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

func (e *RequestError) Unwrap() error { return e.Err }

// newRequestError describes err, returned by a call of method on rawURL, and
// adds a hint for the causes users can fix: rejected credentials, missing
// permission, an unreachable server and an untrusted certificate.
func newRequestError(method, rawURL string, err error) *RequestError {
	re := &RequestError{Method: method, URL: rawURL, Err: err}

	var status apierrors.APIStatus
	if errors.As(err, &status) {
		re.StatusCode = int(status.Status().Code)
	}

	var (
		unknownAuthority x509.UnknownAuthorityError
		hostnameErr      x509.HostnameError
		invalidCert      x509.CertificateInvalidError
		verifyErr        *tls.CertificateVerificationError
		dnsErr           *net.DNSError
	)
	switch {
	case apierrors.IsUnauthorized(err):
		re.Hint = "check token / client certificate (or the exec, EKS or GKE credentials): they were rejected or have expired"
	case apierrors.IsForbidden(err):
		re.Hint = "the credentials were accepted but the identity may not do this; grant it the missing RBAC permission or connect as a different identity"
	case errors.Is(err, syscall.ECONNREFUSED):
		re.Hint = "nothing is listening there; check host (scheme, address and port) and that the API server is running and reachable from where Terraform runs"
	case errors.As(err, &hostnameErr):
		re.Hint = "the server's certificate is not valid for this address; connect by a name or IP the certificate lists, or check host"
	case errors.As(err, &unknownAuthority), errors.As(err, &invalidCert), errors.As(err, &verifyErr):
		re.Hint = "the server's certificate is not trusted; set cluster_ca_certificate to the cluster's CA certificate (PEM) or check that host points at the right cluster"
	case errors.As(err, &dnsErr):
		re.Hint = "the host name does not resolve; check host"
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		re.Hint = "no answer in time; check host, firewalls and security groups between here and the API server"
	}
	return re
}

// causeMessage strips the url.Error wrapper, whose message repeats the URL
// (with client-go's query parameters) that RequestError already names, and
// spells out kube-apiserver's bare "Unauthorized".
func causeMessage(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		s := status.Status()
		if s.Code == http.StatusUnauthorized && (s.Message == "" || strings.EqualFold(s.Message, http.StatusText(http.StatusUnauthorized))) {
			return "the server has asked for the client to provide credentials"
		}
	}
	return err.Error()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
