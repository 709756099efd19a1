package backup

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Environment variables holding the manifest keys (from a Kubernetes
// Secret, never from the bucket or the configuration file).
const (
	// EnvSigningKey is a shared secret (at least 32 bytes) for HMAC-SHA256.
	EnvSigningKey = "SPINOPS_BACKUP_SIGNING_KEY"
	// EnvEd25519PrivateKey signs (PEM PKCS#8, or base64 of the 32-byte seed).
	EnvEd25519PrivateKey = "SPINOPS_BACKUP_ED25519_PRIVATE_KEY"
	// EnvEd25519PublicKey verifies (PEM PKIX, or base64 of the 32-byte key),
	// so a host that only restores needs no secret at all.
	EnvEd25519PublicKey = "SPINOPS_BACKUP_ED25519_PUBLIC_KEY"
)

// Keys sign manifests when a backup is written, and archived binlog files
// when the archiver uploads them (binlog_sign.go), and verify both before a
// restore trusts them. A nil *Keys can neither sign nor verify.
type Keys struct {
	HMAC       []byte
	Ed25519    ed25519.PrivateKey
	Ed25519Pub ed25519.PublicKey
	// AllowUnsigned lets restore use manifests no key verifies (backups
	// made before signing existed), and archived binlogs unchecked (their
	// .sig is not read). It is never the default.
	AllowUnsigned bool
}

// ErrUnsigned is returned (wrapped) when a manifest cannot be verified.
var ErrUnsigned = errors.New("the manifest is not signed by a trusted key")

type signatureFile struct {
	Signatures []signature `json:"signatures"`
}

type signature struct {
	Alg   string `json:"alg"` // hmac-sha256 or ed25519
	KeyID string `json:"key_id"`
	Value string `json:"value"` // base64
}

// KeysFromEnv reads the keys from the environment; none set gives an empty
// (non-nil) Keys that neither signs nor verifies.
func KeysFromEnv() (*Keys, error) {
	k := &Keys{}
	if s := os.Getenv(EnvSigningKey); s != "" {
		if len(s) < 32 {
			return nil, fmt.Errorf("%s must be at least 32 characters (e.g. `openssl rand -hex 32`)", EnvSigningKey)
		}
		k.HMAC = []byte(s)
	}
	if s := os.Getenv(EnvEd25519PrivateKey); s != "" {
		priv, err := parseEd25519Private(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvEd25519PrivateKey, err)
		}
		k.Ed25519, k.Ed25519Pub = priv, priv.Public().(ed25519.PublicKey)
	}
	if s := os.Getenv(EnvEd25519PublicKey); s != "" {
		pub, err := parseEd25519Public(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvEd25519PublicKey, err)
		}
		k.Ed25519Pub = pub
	}
	return k, nil
}

func parseEd25519Private(s string) (ed25519.PrivateKey, error) {
	if b, _ := pem.Decode([]byte(s)); b != nil {
		key, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, err
		}
		if k, ok := key.(ed25519.PrivateKey); ok {
			return k, nil
		}
		return nil, errors.New("the PEM key is not an ed25519 key")
	}
	seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, errors.New("want a PEM PKCS#8 ed25519 key or base64 of a 32-byte seed")
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

func parseEd25519Public(s string) (ed25519.PublicKey, error) {
	if b, _ := pem.Decode([]byte(s)); b != nil {
		key, err := x509.ParsePKIXPublicKey(b.Bytes)
		if err != nil {
			return nil, err
		}
		if k, ok := key.(ed25519.PublicKey); ok {
			return k, nil
		}
		return nil, errors.New("the PEM key is not an ed25519 key")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, errors.New("want a PEM PKIX ed25519 public key or base64 of the 32-byte key")
	}
	return ed25519.PublicKey(raw), nil
}

func (k *Keys) canSign() bool { return k != nil && (len(k.HMAC) > 0 || k.Ed25519 != nil) }

// CanVerify reports whether k holds a key that can check a manifest.
func (k *Keys) CanVerify() bool { return k != nil && (len(k.HMAC) > 0 || k.Ed25519Pub != nil) }

func keyID(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:4])
}

func (k *Keys) sign(manifest []byte) ([]byte, error) {
	return json.Marshal(signatureFile{Signatures: k.signatures(manifest)})
}

// signatures signs payload with every key k can sign with: the manifest's
// signatures, and an archived binlog's (binlog_sign.go).
func (k *Keys) signatures(payload []byte) []signature {
	var out []signature
	if len(k.HMAC) > 0 {
		mac := hmac.New(sha256.New, k.HMAC)
		mac.Write(payload)
		out = append(out, signature{Alg: "hmac-sha256", KeyID: keyID(k.HMAC), Value: base64.StdEncoding.EncodeToString(mac.Sum(nil))})
	}
	if k.Ed25519 != nil {
		pub := k.Ed25519.Public().(ed25519.PublicKey)
		out = append(out, signature{Alg: "ed25519", KeyID: keyID(pub), Value: base64.StdEncoding.EncodeToString(ed25519.Sign(k.Ed25519, payload))})
	}
	return out
}

// verify checks the manifest's bytes against sigFile (nil: no signature
// object): every configured key must have a valid signature.
func (k *Keys) verify(manifest, sigFile []byte) error {
	if !k.CanVerify() {
		if k != nil && k.AllowUnsigned {
			return nil
		}
		return fmt.Errorf("%w: no key to verify it with (set %s, or %s for ed25519; --allow-unsigned trusts it anyway)", ErrUnsigned, EnvSigningKey, EnvEd25519PublicKey)
	}
	var f signatureFile
	if sigFile == nil {
		if k.AllowUnsigned {
			return nil
		}
		return fmt.Errorf("%w: manifest.sig is missing", ErrUnsigned)
	}
	if err := json.Unmarshal(sigFile, &f); err != nil {
		return fmt.Errorf("%w: manifest.sig cannot be read: %v", ErrUnsigned, err)
	}
	return k.check(manifest, f.Signatures, "the manifest")
}

// check verifies payload against sigs (what names the signed thing in
// errors): every key k verifies with must have a valid signature.
func (k *Keys) check(payload []byte, sigs []signature, what string) error {
	find := func(alg string) []byte {
		for _, s := range sigs {
			if s.Alg == alg {
				if v, err := base64.StdEncoding.DecodeString(s.Value); err == nil {
					return v
				}
			}
		}
		return nil
	}
	if len(k.HMAC) > 0 {
		mac := hmac.New(sha256.New, k.HMAC)
		mac.Write(payload)
		if got := find("hmac-sha256"); got == nil || !hmac.Equal(got, mac.Sum(nil)) {
			return fmt.Errorf("%w: the HMAC-SHA256 signature does not match (key %s): %s was changed, or signed with another key", ErrUnsigned, keyID(k.HMAC), what)
		}
	}
	if k.Ed25519Pub != nil {
		if got := find("ed25519"); got == nil || !ed25519.Verify(k.Ed25519Pub, payload, got) {
			return fmt.Errorf("%w: the ed25519 signature does not match (key %s): %s was changed, or signed with another key", ErrUnsigned, keyID(k.Ed25519Pub), what)
		}
	}
	return nil
}
