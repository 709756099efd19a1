package bridge

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

const (
	credentialPrefix    = "spa_" // agent credential
	endpointTokenPrefix = "spe_" // per-account endpoint bearer token
)

// storedCredential is what the store keeps of an agent credential.
type storedCredential struct {
	keyID string // the ring key it was derived from ("" for the first format)
	salt  string
	hash  string // hex SHA-256 of the credential
}

// parseStoredCredential reads the three stored formats:
//
//	v3$<key id>$<salt>$<hash>  derived from the key file's key <key id>
//	v2$<salt>$<hash>           derived from the key the store itself held
//	                           (before the key file): LegacyKeyID
//	<hash>                     a random credential (the first format)
func parseStoredCredential(stored string) storedCredential {
	parts := strings.Split(stored, "$")
	switch {
	case len(parts) == 4 && parts[0] == "v3":
		return storedCredential{keyID: parts[1], salt: parts[2], hash: parts[3]}
	case len(parts) == 3 && parts[0] == "v2":
		return storedCredential{keyID: LegacyKeyID, salt: parts[1], hash: parts[2]}
	}
	return storedCredential{hash: stored}
}

func (c storedCredential) String() string {
	return "v3$" + c.keyID + "$" + c.salt + "$" + c.hash
}

// newCredential issues an agent credential for the registration id from
// the ring's current key and returns it with what the store keeps
// ("v3$<key id>$<salt>$<sha256 hex>"): the bridge can verify it and hand
// it out again (GetCredential), but the store alone cannot reproduce it.
func (r *KeyRing) newCredential(id string) (string, string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("generating a credential: %w", err)
	}
	k := r.current()
	sc := storedCredential{keyID: k.ID, salt: base64.RawURLEncoding.EncodeToString(b)}
	c := deriveCredential(k.Secret, id, sc.salt)
	sc.hash = hashCredential(c)
	return c, sc.String(), nil
}

func deriveCredential(key []byte, id, salt string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("agent\x00" + id + "\x00" + salt))
	return credentialPrefix + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// recoverCredential re-derives the credential a stored hash belongs to; it
// fails for hashes of the first format (random credentials, only their hash
// kept) and for keys no longer in the ring: rotate those.
func (r *KeyRing) recoverCredential(id, stored string, now time.Time) (string, error) {
	sc := parseStoredCredential(stored)
	if sc.keyID == "" {
		return "", errors.New("this credential was issued before credentials could be retrieved: rotate it (RotateCredential) to get one that can")
	}
	k, err := r.key(sc.keyID, now)
	if err != nil {
		return "", fmt.Errorf("%w: rotate the credential (RotateCredential) to derive it from the current key", err)
	}
	c := deriveCredential(k.Secret, id, sc.salt)
	if subtle.ConstantTimeCompare([]byte(hashCredential(c)), []byte(sc.hash)) != 1 {
		return "", fmt.Errorf("the stored credential does not belong to bridge key %q (was the key replaced under the same id?): rotate the credential", sc.keyID)
	}
	return c, nil
}

// verifyCredential reports whether c is the credential of registration id
// whose stored form is stored. A derived credential is checked by deriving
// it again from the key ring — a stored hash alone, even one written into
// the store by an attacker, is not enough — and must also match the stored
// hash. Credentials of the first format (random, hash only) are checked
// against their hash.
func (r *KeyRing) verifyCredential(id, stored, c string, now time.Time) bool {
	sc := parseStoredCredential(stored)
	if sc.keyID == "" {
		if c == "" || sc.hash == "" {
			r.burn(id, c)
			return false
		}
		return subtle.ConstantTimeCompare([]byte(hashCredential(c)), []byte(sc.hash)) == 1
	}
	k, err := r.key(sc.keyID, now)
	if err != nil || c == "" {
		r.burn(id, c)
		return false
	}
	want := deriveCredential(k.Secret, id, sc.salt)
	ok := subtle.ConstantTimeCompare([]byte(want), []byte(c)) == 1
	ok = subtle.ConstantTimeCompare([]byte(hashCredential(c)), []byte(sc.hash)) == 1 && ok
	return ok
}

// burn does the work of a verification that fails early, so that refusing
// an unknown account, a retired key or a missing credential takes as long
// as refusing a wrong credential.
func (r *KeyRing) burn(id, c string) {
	want := deriveCredential(r.current().Secret, id, "")
	_ = subtle.ConstantTimeCompare([]byte(want), []byte(c))
	_ = hashCredential(c)
}

func hashCredential(c string) string {
	s := sha256.Sum256([]byte(c))
	return hex.EncodeToString(s[:])
}

// endpointToken derives the bearer token of an account's Kubernetes
// endpoint from the key the account's credential was derived from, the
// registration id and the credential's salt: nothing to store, stable
// across restarts and replicas, different for every registration, and
// rotated together with the agent credential (RotateCredential).
func (r *KeyRing) endpointToken(accountID, storedCredential string, now time.Time) (string, error) {
	sc := parseStoredCredential(storedCredential)
	keyID := sc.keyID
	if keyID == "" {
		keyID = LegacyKeyID // first-format credentials: the token came from the store's key
	}
	k, err := r.key(keyID, now)
	if err != nil {
		return "", fmt.Errorf("%w: rotate the account's credential (RotateCredential), which also rotates its endpoint token", err)
	}
	m := hmac.New(sha256.New, k.Secret)
	m.Write([]byte("endpoint\x00" + accountID))
	if sc.salt != "" {
		m.Write([]byte("\x00" + sc.salt))
	}
	return endpointTokenPrefix + base64.RawURLEncoding.EncodeToString(m.Sum(nil)), nil
}

// endpointTokenValid reports whether got is the endpoint token of the
// registration (id, stored credential).
func (s *Server) endpointTokenValid(got, id, stored string) bool {
	want, err := s.keys().endpointToken(id, stored, time.Now())
	if err != nil {
		return false
	}
	return tokenMatches(got, want)
}

func tokenMatches(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// bearer returns the bearer token of the incoming gRPC call, if any.
func bearer(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		if t, ok := strings.CutPrefix(v, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
	}
	return ""
}

// peerCertificate returns the verified client certificate of the call.
func peerCertificate(ctx context.Context) *x509.Certificate {
	p, ok := peer.FromContext(ctx)
	if !ok || p.AuthInfo == nil {
		return nil
	}
	ti, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(ti.State.VerifiedChains) == 0 || len(ti.State.VerifiedChains[0]) == 0 {
		return nil
	}
	return ti.State.VerifiedChains[0][0]
}

// adminAuthorized reports whether the call carries the admin token or an
// admin client certificate.
func (s *Server) adminAuthorized(ctx context.Context) error {
	if t := bearer(ctx); t != "" {
		for _, want := range s.cfg.AdminTokens {
			if tokenMatches(t, want) {
				return nil
			}
		}
		return status.Error(codes.Unauthenticated, "the admin token is not valid")
	}
	if c := peerCertificate(ctx); c != nil {
		for _, id := range certIdentities(c) {
			if slices.Contains(s.cfg.AdminIdentities, id) {
				return nil
			}
		}
		return status.Errorf(codes.PermissionDenied, "client certificate %q is not an admin identity of this bridge", c.Subject.CommonName)
	}
	return status.Error(codes.Unauthenticated, "admin calls need an admin token (authorization: Bearer ...) or an admin client certificate")
}

const adminServicePrefix = "/spinops.bridge.v1.AdminService/"

// unaryAdminAuth and streamAdminAuth authenticate every admin method,
// unary and streaming alike: a streaming admin method added later cannot
// skip authentication.
func (s *Server) unaryAdminAuth(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if strings.HasPrefix(info.FullMethod, adminServicePrefix) {
		if err := s.adminAuthorized(ctx); err != nil {
			return nil, err
		}
	}
	return handler(ctx, req)
}

func (s *Server) streamAdminAuth(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if strings.HasPrefix(info.FullMethod, adminServicePrefix) {
		if err := s.adminAuthorized(ss.Context()); err != nil {
			return err
		}
	}
	return handler(srv, ss)
}
