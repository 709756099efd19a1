package backup

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// tlsConfig is the driver's TLS configuration for s.TLS.
func (s MySQLServer) tlsConfig() (*tls.Config, error) {
	var roots *x509.CertPool
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading the MySQL CA file: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("the MySQL CA file %s holds no PEM certificate", s.CAFile)
		}
	}
	switch s.TLS {
	case TLSRequired:
		return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, nil //nolint:gosec // "required" encrypts without checking, as libpq's sslmode=require
	case TLSVerifyFull:
		return &tls.Config{RootCAs: roots, ServerName: s.Host, MinVersion: tls.VersionTLS12}, nil
	case TLSVerifyCA:
		// Check the chain, not the name (managed servers are often reached
		// by an address their certificate does not list).
		return &tls.Config{
			InsecureSkipVerify: true, //nolint:gosec // the chain is verified below
			MinVersion:         tls.VersionTLS12,
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 {
					return errors.New("the MySQL server sent no certificate")
				}
				opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
				for _, c := range cs.PeerCertificates[1:] {
					opts.Intermediates.AddCert(c)
				}
				if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
					return fmt.Errorf("the MySQL server's certificate is not signed by the configured CA: %w", err)
				}
				return nil
			},
		}, nil
	}
	return nil, fmt.Errorf("mysql tls %q: use one of required, verify_ca, verify_full", s.TLS)
}

// cliArgs are the connection options of the mariadb / mariadb-binlog
// command-line tools (the password goes in MYSQL_PWD). The MariaDB client
// has no CA-only check, so verify_ca asks it for the CA and full
// verification like verify_full.
func (s MySQLServer) cliArgs() []string {
	args := []string{"--host=" + s.Host, "--port=" + strconv.Itoa(portOr(s.Port)), "--user=" + s.User}
	switch s.TLS {
	case "":
	case TLSRequired:
		args = append(args, "--ssl")
	default:
		args = append(args, "--ssl", "--ssl-verify-server-cert")
		if s.CAFile != "" {
			args = append(args, "--ssl-ca="+s.CAFile)
		}
	}
	return args
}
