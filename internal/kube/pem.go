package kube

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// parseCertificatesPEM returns every CERTIFICATE block of data, failing when
// there is none or one does not parse.
func parseCertificatesPEM(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	return certs, nil
}

// pemHint adds advice for the two usual mistakes with PEM settings: passing
// the base64 form cloud APIs return (EKS certificate_authority[0].data, GKE
// master_auth[0].cluster_ca_certificate) and passing an empty string.
func pemHint(data string, attribute string) string {
	trimmed := strings.TrimSpace(data)
	if trimmed == "" {
		return fmt.Sprintf("%s is empty", attribute)
	}
	if decoded, err := base64.StdEncoding.DecodeString(trimmed); err == nil && bytes.Contains(decoded, []byte("-----BEGIN ")) {
		return fmt.Sprintf("%s looks base64-encoded; decode it first (base64decode(...) in Terraform)", attribute)
	}
	return fmt.Sprintf("%s must be PEM (-----BEGIN CERTIFICATE----- ...)", attribute)
}
