package kube

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
)

// CAFingerprint returns the lowercase hex SHA-256 of the DER encoding of a
// certificate given as PEM (the first CERTIFICATE block counts) or as DER.
// It equals
//
//	openssl x509 -in ca.crt -outform DER | sha256sum
func CAFingerprint(pemOrDER []byte) (string, error) {
	der := pemOrDER
	if bytes.Contains(pemOrDER, []byte("-----BEGIN")) {
		certs, err := parseCertificatesPEM(pemOrDER)
		if err != nil {
			return "", fmt.Errorf("computing CA fingerprint: %w", err)
		}
		der = certs[0].Raw
	} else if _, err := x509.ParseCertificate(der); err != nil {
		return "", fmt.Errorf("computing CA fingerprint: neither PEM nor a DER certificate: %w", err)
	}
	return fingerprintDER(der), nil
}

func fingerprintDER(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}
