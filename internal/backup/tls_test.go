package backup_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// writeCA makes a CA and a server certificate for 127.0.0.1 signed by it;
// it returns the CA file, the server's cert and key files.
func writeCA(t *testing.T, dir, name string, serverIP net.IP) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " CA"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srvKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	srv := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "mariadb"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{serverIP}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment}
	srvDER, err := x509.CreateCertificate(rand.Reader, srv, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(file, typ string, der []byte) string {
		p := filepath.Join(dir, file)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write(name+"-ca.pem", "CERTIFICATE", caDER), write(name+"-server.pem", "CERTIFICATE", srvDER), write(name+"-server-key.pem", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(srvKey))
}

// TLS to MySQL: a user that must use TLS can back up, archive and restore
// with tls = verify_full and the server's CA; without TLS, with the wrong
// CA, or with verify_full for a name the certificate does not carry, the
// connection is refused; verify_ca checks the chain without the name.
func TestMySQLTLS(t *testing.T) {
	t.Parallel() // (its own MariaDB server)
	requireTool(t, "mariadb-binlog")
	dir := t.TempDir()
	caFile, certFile, keyFile := writeCA(t, dir, "right", net.ParseIP("127.0.0.1"))
	wrongCA, _, _ := writeCA(t, dir, "wrong", net.ParseIP("127.0.0.1"))
	otherCA, otherCert, otherKey := writeCA(t, dir, "other", net.ParseIP("10.9.9.9"))
	_, _, _ = otherCA, otherCert, otherKey
	m := testenv.StartMariaDBWithArgs(t, "--ssl-ca="+caFile, "--ssl-cert="+certFile, "--ssl-key="+keyFile)
	root, err := sql.Open("mysql", m.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for _, q := range []string{
		"CREATE DATABASE tls_src",
		"CREATE TABLE tls_src.notes (id INT PRIMARY KEY, body TEXT)",
		"INSERT INTO tls_src.notes VALUES (1, 'over TLS')",
		"CREATE USER 'tls_user'@'127.0.0.1' IDENTIFIED BY 'tls-pass' REQUIRE SSL",
		"GRANT ALL ON *.* TO 'tls_user'@'127.0.0.1'",
	} {
		exec(t, root, q)
	}
	e := newEnv(t)
	ctx := ctxTimeout(t, 3*time.Minute)
	srv := backup.MySQLServer{Host: m.Host, Port: m.Port, User: "tls_user", Password: "tls-pass", TLS: backup.TLSVerifyFull, CAFile: caFile}
	dest := e.store(e.bucket(), "tls/")
	eng := e.engine(dest)

	for _, bad := range []struct {
		s    backup.MySQLServer
		want string
	}{
		{backup.MySQLServer{Host: m.Host, Port: m.Port, User: "tls_user", Password: "tls-pass"}, "Access denied"},
		{backup.MySQLServer{Host: m.Host, Port: m.Port, User: "tls_user", Password: "tls-pass", TLS: backup.TLSVerifyFull, CAFile: wrongCA}, "certificate"},
		{backup.MySQLServer{Host: m.Host, Port: m.Port, User: "tls_user", Password: "tls-pass", TLS: backup.TLSVerifyCA, CAFile: wrongCA}, "certificate"},
	} {
		_, err := eng.Run(ctx, backup.RunOptions{MySQL: &bad.s, Databases: []string{"tls_src"}})
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("tls=%q ca=%s: %v, want an error naming %q", bad.s.TLS, filepath.Base(bad.s.CAFile), err, bad.want)
		}
	}
	// verify_ca: the chain is checked, the name is not (the server is reached as "localhost").
	byName := srv
	byName.Host, byName.TLS = "localhost", backup.TLSVerifyCA
	if _, err := eng.Run(ctx, backup.RunOptions{MySQL: &byName, Databases: []string{"tls_src"}}); err != nil {
		t.Errorf("verify_ca by another name: %v", err)
	}
	byName.TLS = backup.TLSVerifyFull
	if _, err := eng.Run(ctx, backup.RunOptions{MySQL: &byName, Databases: []string{"tls_src"}}); err == nil {
		t.Error("verify_full accepted a certificate issued for another name")
	}

	a := &backup.Archiver{Server: srv, Dest: dest, WorkDir: filepath.Join(t.TempDir(), "binlogs"), FlushInterval: 300 * time.Millisecond, Log: testLogger(t), Keys: testKeys()}
	stop := archiving(t, a)
	mf, err := eng.Run(ctx, backup.RunOptions{MySQL: &srv, Databases: []string{"tls_src"}, PointInTime: true})
	if err != nil {
		t.Fatalf("backup over verify_full TLS: %v", err)
	}
	exec(t, root, "INSERT INTO tls_src.notes VALUES (2, 'archived over TLS')")
	time.Sleep(1100 * time.Millisecond)
	exec(t, root, "INSERT INTO tls_src.notes VALUES (3, 'a second later')")
	time.Sleep(1500 * time.Millisecond)
	stop()
	l, err := backup.List(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	if !l.ArchivedUntil.After(mf.SnapshotAt.Add(-time.Second)) {
		t.Errorf("mariadb-binlog over TLS archived nothing after the backup: %v (%v)", l.ArchivedUntil, l.ChainErr)
	}
	if _, err := eng.Restore(ctx, backup.RestoreOptions{BackupID: mf.ID, MySQL: &backup.MySQLTarget{Server: srv, DatabaseMap: map[string]string{"tls_src": "tls_restored"}}}); err != nil {
		t.Fatalf("restore over TLS: %v", err)
	}
	var body string
	if err := root.QueryRow("SELECT body FROM tls_restored.notes WHERE id = 1").Scan(&body); err != nil || body != "over TLS" {
		t.Errorf("restored %q, %v", body, err)
	}
	// A point in time: the archived binlog replayed by mariadb-binlog and
	// the mariadb client, both as the user that must use TLS.
	w, _ := l.RestoreWindow()
	if _, err := eng.Restore(ctx, backup.RestoreOptions{At: w.Latest, MySQL: &backup.MySQLTarget{Server: srv, DatabaseMap: map[string]string{"tls_src": "tls_at"}}}); err != nil {
		t.Fatalf("restore --at over TLS: %v", err)
	}
	if err := root.QueryRow("SELECT body FROM tls_at.notes WHERE id = 2").Scan(&body); err != nil || body != "archived over TLS" {
		t.Errorf("restore --at %s over TLS: row 2 %q, %v", w.Latest, body, err)
	}
}
