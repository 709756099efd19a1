package bridge

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"runtime"
	"strings"
	"time"
)

// The bridge key derives every agent credential and every endpoint token
// (HMAC-SHA256). It lives outside the store — a key file, in Kubernetes a
// Secret mounted into the bridge's pod — so that the store (and every
// backup of it) holds only salts and hashes, from which nobody can compute
// a credential the bridge accepts.
//
// Replicas of one installation (one shared store) must all read the same
// key file: a credential derived through one replica is verified by
// whichever replica its agent dials. A replica that is refused a
// credential derived from a key missing from its own file logs so.
//
// The key file is a key ring: one key per line,
//
//	<id> <base64 of at least 32 random bytes> [not-after=<RFC 3339 time>]
//
// blank lines and lines starting with # are ignored. The first key is the
// current one: new credentials (registration, RotateCredential) are derived
// from it. The others keep the credentials issued under them valid until
// those are rotated, or until their not-after time, after which agents and
// endpoint clients presenting them are refused. The stored credential
// records which key it was derived from ("v3$<key id>$<salt>$<hash>").
//
// Rotating the key: put a new key on the first line (`spinops bridge
// keygen`), keep the old one below it (optionally with not-after), let the
// bridge reload the file, rotate every account's credential
// (spinops_agent_account.credential_rotation), then remove the old key.

// LegacyKeyID is the id under which `spinops bridge migrate-key` puts the
// key that registries created before the key file kept in the store;
// credentials stored in the "v2" format are verified with it.
const LegacyKeyID = "legacy"

// LegacyKeySetting is the store setting that held the key before it moved
// to the key file.
const LegacyKeySetting = "endpoint-token-key"

// unsafeKeyFileBits are the permissions a key file must not have: any for
// other users, write for the group (group read is what a Kubernetes Secret
// mounted with fsGroup needs).
const unsafeKeyFileBits fs.FileMode = 0o027

// minKeyBytes is the shortest key accepted (HMAC-SHA256's block of
// security).
const minKeyBytes = 32

// minDistinctKeyBytes is the fewest distinct byte values a key may have:
// 32 random bytes have about 30, a placeholder (zeros, a word repeated)
// a handful.
const minDistinctKeyBytes = 8

func distinctBytes(b []byte) int {
	var seen [256]bool
	n := 0
	for _, c := range b {
		if !seen[c] {
			seen[c] = true
			n++
		}
	}
	return n
}

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Key is one key of the ring.
type Key struct {
	ID     string
	Secret []byte
	// NotAfter, when set, is when credentials derived from the key stop
	// being accepted.
	NotAfter time.Time
}

// KeyRing is the bridge's keys, the current one first.
type KeyRing struct {
	keys []Key
}

// NewKeyRing checks keys (the current one first) and makes a ring of them.
func NewKeyRing(keys ...Key) (*KeyRing, error) {
	if len(keys) == 0 {
		return nil, errors.New("the key ring is empty: it needs at least one key (spinops bridge keygen makes one)")
	}
	seen := map[string]bool{}
	for i, k := range keys {
		if !keyIDPattern.MatchString(k.ID) {
			return nil, fmt.Errorf("key %d: id %q is not valid: use 1 to 64 letters, digits, '.', '_' or '-'", i+1, k.ID)
		}
		if seen[k.ID] {
			return nil, fmt.Errorf("key id %q appears twice: every key needs its own id", k.ID)
		}
		seen[k.ID] = true
		if len(k.Secret) < minKeyBytes {
			return nil, fmt.Errorf("key %q has %d bytes: it needs at least %d random bytes (spinops bridge keygen makes one)", k.ID, len(k.Secret), minKeyBytes)
		}
		if n := distinctBytes(k.Secret); n < minDistinctKeyBytes {
			return nil, fmt.Errorf("key %q is not random: its %d bytes take only %d distinct values (a placeholder such as zeros or a repeated word?): "+
				"make a new key with spinops bridge keygen", k.ID, len(k.Secret), n)
		}
	}
	if !keys[0].NotAfter.IsZero() {
		return nil, fmt.Errorf("the current key %q (the first) has not-after set: only keys being retired may have one", keys[0].ID)
	}
	return &KeyRing{keys: append([]Key(nil), keys...)}, nil
}

// ParseKeyRing reads a key file's content.
func ParseKeyRing(b []byte) (*KeyRing, error) {
	var keys []Key
	sc := bufio.NewScanner(bytes.NewReader(b))
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		f := strings.Fields(s)
		if len(f) < 2 || len(f) > 3 {
			return nil, fmt.Errorf("line %d: want \"<id> <base64 key> [not-after=<RFC 3339 time>]\"", line)
		}
		secret, err := base64.StdEncoding.DecodeString(f[1])
		if err != nil {
			return nil, fmt.Errorf("line %d: key %q is not standard base64: %w", line, f[0], err)
		}
		k := Key{ID: f[0], Secret: secret}
		if len(f) == 3 {
			v, ok := strings.CutPrefix(f[2], "not-after=")
			if !ok {
				return nil, fmt.Errorf("line %d: unknown option %q (the only option is not-after=<RFC 3339 time>)", line, f[2])
			}
			if k.NotAfter, err = time.Parse(time.RFC3339, v); err != nil {
				return nil, fmt.Errorf("line %d: not-after %q is not an RFC 3339 time (e.g. 2026-12-31T00:00:00Z): %w", line, v, err)
			}
		}
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the key file: %w", err)
	}
	return NewKeyRing(keys...)
}

// LoadKeyRing reads the key file at path. It refuses a file that does
// not exist, cannot be read, is empty, holds a weak key, or that other
// users may read or change (any permission for others, or write for the
// group): whoever reads it and the store can mint every credential.
func LoadKeyRing(path string) (*KeyRing, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("the bridge key file %s does not exist: make one with `spinops bridge keygen --out %s` "+
			"(in Kubernetes, keep it in a Secret mounted as that file)", path, path)
	case err != nil:
		return nil, fmt.Errorf("the bridge key file %s cannot be read: %w", path, err)
	case fi.IsDir():
		return nil, fmt.Errorf("the bridge key file %s is a directory: give the file itself (in Kubernetes, the Secret volume's mount path joined with the key's name)", path)
	case runtime.GOOS != "windows" && fi.Mode().Perm()&unsafeKeyFileBits != 0:
		return nil, fmt.Errorf("the bridge key file %s is open to other users (mode %04o): with a copy of the store it mints every credential; "+
			"make it readable by the bridge alone: chmod 600 %s (in Kubernetes, mount the Secret with defaultMode: 0400, or 0440 with the pod's fsGroup)",
			path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("the bridge key file %s cannot be read: %w: the bridge's user must be able to read it", path, err)
	}
	r, err := ParseKeyRing(b)
	if err != nil {
		return nil, fmt.Errorf("the bridge key file %s: %w", path, err)
	}
	return r, nil
}

// NewKey draws a new random key called id.
func NewKey(id string) (Key, error) {
	b := make([]byte, minKeyBytes)
	if _, err := rand.Read(b); err != nil {
		return Key{}, fmt.Errorf("generating a key: %w", err)
	}
	return Key{ID: id, Secret: b}, nil
}

// NewKeyID is an id for a key made now: its date and a random suffix.
func NewKeyID() string {
	return "k" + time.Now().UTC().Format("20060102") + "-" + newID()[:6]
}

// KeyLine is a key as a key-file line.
func KeyLine(k Key) string {
	s := k.ID + " " + base64.StdEncoding.EncodeToString(k.Secret)
	if !k.NotAfter.IsZero() {
		s += " not-after=" + k.NotAfter.UTC().Format(time.RFC3339)
	}
	return s
}

// current is the key new credentials are derived from.
func (r *KeyRing) current() Key { return r.keys[0] }

// key returns the key called id that is still valid at now.
func (r *KeyRing) key(id string, now time.Time) (Key, error) {
	for _, k := range r.keys {
		if k.ID != id {
			continue
		}
		if !k.NotAfter.IsZero() && now.After(k.NotAfter) {
			return Key{}, fmt.Errorf("bridge key %q was retired at %s", id, k.NotAfter.UTC().Format(time.RFC3339))
		}
		return k, nil
	}
	return Key{}, fmt.Errorf("bridge key %q is not in the key file", id)
}

// missingKey reports the id of the key a stored credential was derived
// from when that key is not in the ring at all (retired keys are in it),
// and "" otherwise.
func (r *KeyRing) missingKey(stored string) string {
	sc := parseStoredCredential(stored)
	if sc.keyID == "" {
		return ""
	}
	for _, k := range r.keys {
		if k.ID == sc.keyID {
			return ""
		}
	}
	return sc.keyID
}

// IDs lists the ring's key ids, the current one first.
func (r *KeyRing) IDs() []string {
	out := make([]string, len(r.keys))
	for i, k := range r.keys {
		out[i] = k.ID
	}
	return out
}
