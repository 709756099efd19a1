package backup

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The archiver's upload path writes a .sig only with a key that signs;
// fetchVerified keeps the signed prefix of a grown object and refuses a
// signature of another server or key; listArchives skips .sig objects.
func TestBinlogSignatureRoundTrip(t *testing.T) {
	ctx := t.Context()
	dest, err := (Clients{}).Open(ctx, StoreConfig{URL: "file://" + t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	const server, name = "mariadb-0-1", "mysql-bin.000001"
	key := serverBinlogDir(server) + name
	body := append(append([]byte{}, binlogMagic...), bytes.Repeat([]byte("event"), 100)...)
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	sc := &binlogScan{BinlogFile: BinlogFile{Name: name, Size: int64(len(body))}}
	a := &Archiver{Dest: dest, Log: slog.New(slog.DiscardHandler), server: server}
	if err := a.upload(ctx, name, path, sc); err != nil {
		t.Fatal(err)
	}
	if _, _, err := dest.Get(ctx, key+sigSuffix); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an archiver without a key wrote a signature: %v", err)
	}

	_, priv, _ := ed25519.GenerateKey(nil)
	a.Keys = &Keys{HMAC: []byte("binlog-signing-key-0123456789abcdef"), Ed25519: priv}
	if err := a.upload(ctx, name, path, sc); err != nil {
		t.Fatal(err)
	}
	// The object grows past its signature.
	if err := dest.Put(ctx, key, bytes.NewReader(append(append([]byte{}, body...), "appended"...))); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(t.TempDir(), name)
	verifier := &Keys{Ed25519Pub: priv.Public().(ed25519.PublicKey)}
	info, err := fetchVerified(ctx, dest, verifier, server, key, local)
	if err != nil || info.Size != int64(len(body)) {
		t.Fatalf("fetchVerified: %+v, %v", info, err)
	}
	if got, _ := os.ReadFile(local); !bytes.Equal(got, body) {
		t.Fatalf("the local copy is not the signed prefix: %d bytes", len(got))
	}
	for what, k := range map[string]*Keys{
		"another key":    {HMAC: []byte("another-key-another-key-another-key!")},
		"another server": a.Keys,
	} {
		srv := server
		if what == "another server" {
			srv = "mariadb-0-2"
			if err := dest.Put(ctx, serverBinlogDir(srv)+name, bytes.NewReader(body)); err != nil {
				t.Fatal(err)
			}
			sig, _ := readSmall(ctx, dest, key+sigSuffix)
			if err := dest.Put(ctx, serverBinlogDir(srv)+name+sigSuffix, bytes.NewReader(sig)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := fetchVerified(ctx, dest, k, srv, serverBinlogDir(srv)+name, local); !errors.Is(err, ErrUnsigned) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v, want a refusal naming %s", what, err, name)
		}
	}
	archives, _, err := listArchives(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	if f := archives[server].Files; len(f) != 1 || f[0].Key != key {
		t.Errorf("listed files: %+v, want only %s", f, key)
	}
}
