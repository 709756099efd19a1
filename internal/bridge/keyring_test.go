package bridge

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKeyRingFile: the key file's format and its mistakes.
func TestKeyRingFile(t *testing.T) {
	k1, _ := NewKey("k1")
	k2, _ := NewKey("k2")
	k2.NotAfter = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	r, err := ParseKeyRing([]byte("# comment\n\n" + KeyLine(k1) + "\n" + KeyLine(k2) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.IDs(), ","); got != "k1,k2" || r.current().ID != "k1" || !r.keys[1].NotAfter.Equal(k2.NotAfter) {
		t.Fatalf("parsed %v", r.keys)
	}
	short := "k3 " + "c2hvcnQ="
	for in, want := range map[string]string{
		"":                                  "the key ring is empty",
		short:                               "at least 32 random bytes",
		"k$1 " + KeyLine(k1)[3:]:            "id \"k$1\" is not valid",
		KeyLine(k1) + "\n" + KeyLine(k1):    "appears twice",
		"k1 not-base64!":                    "not standard base64",
		KeyLine(k1) + " color=blue":         "unknown option",
		KeyLine(k1) + " not-after=tomorrow": "not an RFC 3339 time",
		KeyLine(k2):                         "the current key \"k2\" (the first) has not-after set",
		"k1":                                "want \"<id> <base64 key>",
	} {
		if _, err := ParseKeyRing([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error containing %q", in, err, want)
		}
	}
}

// TestKeyRotation: new credentials come from the current key; those of an
// older key stay valid while it is in the ring and before its not-after,
// and stop being valid when it leaves or expires. Endpoint tokens follow
// the credential's key.
func TestKeyRotation(t *testing.T) {
	now := time.Now()
	old, _ := NewKey("old")
	ring1, _ := NewKeyRing(old)
	cred, stored, err := ring1.newCredential("acct-id")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, "v3$old$") || strings.Contains(stored, cred) {
		t.Fatalf("stored form %q", stored)
	}
	tok1, err := ring1.endpointToken("acct-id", stored, now)
	if err != nil {
		t.Fatal(err)
	}

	nu, _ := NewKey("new")
	retiring := old
	retiring.NotAfter = now.Add(time.Hour)
	ring2, err := NewKeyRing(nu, retiring)
	if err != nil {
		t.Fatal(err)
	}
	if !ring2.verifyCredential("acct-id", stored, cred, now) {
		t.Fatal("a credential of the retiring key is refused before its not-after")
	}
	if tok2, _ := ring2.endpointToken("acct-id", stored, now); tok2 != tok1 {
		t.Fatal("the endpoint token changed when a new key was added")
	}
	if got, err := ring2.recoverCredential("acct-id", stored, now); err != nil || got != cred {
		t.Fatalf("recoverCredential under the retiring key: %v", err)
	}
	if ring2.verifyCredential("acct-id", stored, cred, now.Add(2*time.Hour)) {
		t.Fatal("a credential of a key past its not-after is accepted")
	}
	if _, err := ring2.endpointToken("acct-id", stored, now.Add(2*time.Hour)); err == nil || !strings.Contains(err.Error(), "retired") {
		t.Fatalf("the endpoint token of a retired key: %v", err)
	}
	cred2, stored2, _ := ring2.newCredential("acct-id")
	if !strings.HasPrefix(stored2, "v3$new$") || !ring2.verifyCredential("acct-id", stored2, cred2, now) {
		t.Fatalf("a new credential is not from the new key: %q", stored2)
	}

	ring3, _ := NewKeyRing(nu)
	if ring3.verifyCredential("acct-id", stored, cred, now) {
		t.Fatal("a credential of a key removed from the ring is accepted")
	}
	if _, err := ring3.recoverCredential("acct-id", stored, now); err == nil || !strings.Contains(err.Error(), "not in the key file") {
		t.Fatalf("recoverCredential of a removed key: %v", err)
	}
	// A credential of another registration, or for another id, is refused.
	if ring2.verifyCredential("other-id", stored2, cred2, now) || ring2.verifyCredential("acct-id", stored2, cred, now) {
		t.Fatal("a credential was accepted for the wrong registration")
	}
	// Legacy "v2" credentials verify with the key called legacy.
	legacy := Key{ID: LegacyKeyID, Secret: old.Secret}
	ring4, _ := NewKeyRing(nu, legacy)
	v2 := "v2$" + strings.Split(stored, "$")[2] + "$" + strings.Split(stored, "$")[3]
	if !ring4.verifyCredential("acct-id", v2, cred, now) {
		t.Fatal("a v2 credential is refused with the legacy key in the ring")
	}
	if ring3.verifyCredential("acct-id", v2, cred, now) {
		t.Fatal("a v2 credential is accepted without the legacy key")
	}
}

// TestMissingKey: a credential derived from a key another ring lacks (a
// replica with a different key file) is named as such; one derived from a
// key of the ring, retired or not, is not.
func TestMissingKey(t *testing.T) {
	k1, _ := NewKey("k1")
	k2, _ := NewKey("k2")
	k2.NotAfter = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	a, err := NewKeyRing(k1, k2)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewKey("other")
	b, err := NewKeyRing(other)
	if err != nil {
		t.Fatal(err)
	}
	c, stored, err := b.newCredential("id-1")
	if err != nil {
		t.Fatal(err)
	}
	if a.verifyCredential("id-1", stored, c, time.Now()) {
		t.Fatal("a credential of another key file verified")
	}
	if got := a.missingKey(stored); got != "other" {
		t.Fatalf("missingKey = %q, want other", got)
	}
	_, stored, _ = a.newCredential("id-2")
	if got := a.missingKey(stored); got != "" {
		t.Fatalf("missingKey of the ring's own key = %q", got)
	}
	if got := a.missingKey(storedCredential{keyID: "k2", salt: "s", hash: "h"}.String()); got != "" {
		t.Fatalf("missingKey of a retired key of the ring = %q", got)
	}
	if got := a.missingKey("0123abcd"); got != "" {
		t.Fatalf("missingKey of a first-format credential = %q", got)
	}
}

// TestLoadKeyRingRefusesUnsafeFiles: the bridge does not start on a key
// file that is missing, a directory, empty, holds a placeholder key, or is
// open to other users; each refusal names the file and what to do, and
// none shows a key. 0600 and 0640 (a Secret mounted with fsGroup) load.
func TestLoadKeyRingRefusesUnsafeFiles(t *testing.T) {
	dir := t.TempDir()
	good, _ := NewKey("good")
	write := func(name, content string, mode os.FileMode) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return p
	}
	zeros := base64.StdEncoding.EncodeToString(make([]byte, 32))
	word := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("password", 4)))
	for _, c := range []struct {
		name, path string
		want       []string
	}{
		{"missing", filepath.Join(dir, "nope.keys"), []string{"nope.keys does not exist", "spinops bridge keygen --out"}},
		{"directory", dir, []string{"is a directory"}},
		{"empty", write("empty.keys", "", 0o600), []string{"empty.keys", "the key ring is empty", "keygen"}},
		{"comments only", write("comments.keys", "# nothing here\n\n", 0o600), []string{"the key ring is empty"}},
		{"zeros", write("zeros.keys", "k1 "+zeros+"\n", 0o600), []string{"zeros.keys", `key "k1" is not random`, "keygen"}},
		{"a repeated word", write("word.keys", "k1 "+word+"\n", 0o600), []string{`key "k1" is not random`}},
		{"short", write("short.keys", "k1 c2hvcnQ=\n", 0o600), []string{"at least 32 random bytes"}},
		{"world-readable", write("world.keys", KeyLine(good)+"\n", 0o644), []string{"world.keys is open to other users (mode 0644)", "chmod 600", "defaultMode: 0400"}},
		{"world-writable", write("ww.keys", KeyLine(good)+"\n", 0o602), []string{"mode 0602"}},
		{"group-writable", write("gw.keys", KeyLine(good)+"\n", 0o660), []string{"mode 0660"}},
	} {
		_, err := LoadKeyRing(c.path)
		if err == nil {
			t.Errorf("%s: loaded", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v\nwant it to say %q", c.name, err, w)
			}
		}
		if secret := base64.StdEncoding.EncodeToString(good.Secret); strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the error shows the key", c.name)
		}
	}
	for _, mode := range []os.FileMode{0o600, 0o400, 0o640, 0o440} {
		p := write(fmt.Sprintf("ok-%04o.keys", mode), KeyLine(good)+"\n", mode)
		if _, err := LoadKeyRing(p); err != nil {
			t.Errorf("mode %04o: %v", mode, err)
		}
	}
	// Through a symlink, as a Kubernetes Secret volume mounts it: the
	// target's mode counts.
	target := write("target.keys", KeyLine(good)+"\n", 0o644)
	link := filepath.Join(dir, "link.keys")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyRing(link); err == nil || !strings.Contains(err.Error(), "mode 0644") {
		t.Errorf("a symlink to a world-readable key file: %v", err)
	}
}
