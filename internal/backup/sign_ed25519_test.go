package backup_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"testing"
	"time"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
)

// A manifest signed with an ed25519 key (PEM PKCS#8, as
// SPINOPS_BACKUP_ED25519_PRIVATE_KEY takes it) is trusted by a host that
// holds only the public key (base64, SPINOPS_BACKUP_ED25519_PUBLIC_KEY),
// and by nothing else: another public key, an edit after signing, or a
// backup written by a host with only the public key (it cannot sign) are
// refused.
func TestEd25519SignedManifest(t *testing.T) {
	e := newEnv(t)
	ctx := ctxTimeout(t, 2*time.Minute)
	db := e.db.Database(t)
	exec(t, e.sql(db), "CREATE TABLE notes (id INT PRIMARY KEY)")
	exec(t, e.sql(db), "INSERT INTO notes VALUES (1), (2)")
	dest := e.store(e.bucket(), "")

	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	keysFrom := func(env, value string) *backup.Keys {
		t.Helper()
		t.Setenv(backup.EnvSigningKey, "")
		t.Setenv(backup.EnvEd25519PrivateKey, "")
		t.Setenv(backup.EnvEd25519PublicKey, "")
		t.Setenv(env, value)
		k, err := backup.KeysFromEnv()
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	signer := keysFrom(backup.EnvEd25519PrivateKey, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
	verifier := keysFrom(backup.EnvEd25519PublicKey, base64.StdEncoding.EncodeToString(pub))
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	stranger := keysFrom(backup.EnvEd25519PublicKey, base64.StdEncoding.EncodeToString(otherPub))

	m, err := (&backup.Engine{Dest: dest, Keys: signer}).Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}})
	if err != nil {
		t.Fatal(err)
	}
	verify := func(k *backup.Keys, id string) error {
		_, err := (&backup.Engine{Dest: dest, Keys: k}).Verify(ctx, id)
		return err
	}
	if err := verify(verifier, m.ID); err != nil {
		t.Fatalf("verify with the public key: %v", err)
	}
	if err := verify(stranger, m.ID); !errors.Is(err, backup.ErrUnsigned) {
		t.Errorf("verify with another public key: %v, want ErrUnsigned", err)
	}
	_, err = (&backup.Engine{Dest: dest, Keys: verifier}).Restore(ctx, backup.RestoreOptions{BackupID: m.ID,
		MySQL: &backup.MySQLTarget{Server: *e.server(), DatabaseMap: map[string]string{db: e.db.Database(t)}}})
	if err != nil {
		t.Errorf("restore with only the public key: %v", err)
	}

	// A host with only the public key cannot sign what it writes.
	unsigned, err := (&backup.Engine{Dest: dest, Keys: verifier}).Run(ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{db}})
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(verifier, unsigned.ID); !errors.Is(err, backup.ErrUnsigned) {
		t.Errorf("a backup written without the private key: %v, want ErrUnsigned", err)
	}

	// Someone who can write the bucket, but has no private key, edits it.
	key := "backups/" + m.ID + "/manifest.json"
	raw := readAll(t, dest, key)
	edited := bytes.Replace(raw, []byte(`"rows": 2`), []byte(`"rows": 3`), 1)
	if bytes.Equal(raw, edited) {
		t.Fatal("test setup: no row count to edit")
	}
	if err := dest.Put(ctx, key, bytes.NewReader(edited)); err != nil {
		t.Fatal(err)
	}
	if err := verify(verifier, m.ID); !errors.Is(err, backup.ErrUnsigned) {
		t.Errorf("verify of an edited manifest: %v, want ErrUnsigned", err)
	}
}
