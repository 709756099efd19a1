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

// newCredential issues an agent credential for the registration id and
// returns it with what the store keeps. The credential is derived from the
// bridge's secret key, the id and a random salt; the store keeps the salt
// and the credential's hash ("v2$<salt>$<sha256 hex>"), so the bridge can
// verify it and hand it out again (GetCredential) but the store alone
// cannot reproduce it.
func newCredential(key []byte, id string) (string, string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("generating a credential: %w", err)
	}
	salt := base64.RawURLEncoding.EncodeToString(b)
	c := deriveCredential(key, id, salt)
	return c, "v2$" + salt + "$" + hashCredential(c), nil
}

func deriveCredential(key []byte, id, salt string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("agent\x00" + id + "\x00" + salt))
	return credentialPrefix + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// recoverCredential re-derives the credential a stored hash belongs to; it
// fails for hashes of the first format (random credentials, only their hash
// kept): rotate those.
func recoverCredential(key []byte, id, stored string) (string, error) {
	salt, ok := credentialSalt(stored)
	if !ok {
		return "", errors.New("this credential was issued before credentials could be retrieved: rotate it (RotateCredential) to get one that can")
	}
	c := deriveCredential(key, id, salt)
	if !credentialMatches(c, stored) {
		return "", errors.New("the stored credential does not belong to this bridge's secret key (was the key changed?): rotate the credential")
	}
	return c, nil
}

// credentialSalt is the salt of a stored "v2$salt$hash"; false for a bare
// hash (the first format).
func credentialSalt(stored string) (string, bool) {
	parts := strings.Split(stored, "$")
	if len(parts) != 3 || parts[0] != "v2" {
		return "", false
	}
	return parts[1], true
}

func hashCredential(c string) string {
	s := sha256.Sum256([]byte(c))
	return hex.EncodeToString(s[:])
}

// credentialMatches compares a presented credential with the stored hash
// (either "v2$salt$hash" or a bare hash).
func credentialMatches(c, stored string) bool {
	if c == "" || stored == "" {
		return false
	}
	hash := stored
	if i := strings.LastIndexByte(stored, '$'); i >= 0 {
		hash = stored[i+1:]
	}
	return subtle.ConstantTimeCompare([]byte(hashCredential(c)), []byte(hash)) == 1
}

// endpointToken derives the bearer token of an account's Kubernetes
// endpoint from the bridge's secret key, the registration id and the salt
// of the current agent credential: nothing to store, stable across restarts
// and replicas, different for every registration, and rotated together with
// the agent credential (RotateCredential).
func endpointToken(key []byte, accountID, storedCredential string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("endpoint\x00" + accountID))
	if salt, ok := credentialSalt(storedCredential); ok {
		m.Write([]byte("\x00" + salt))
	}
	return endpointTokenPrefix + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
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

func (s *Server) unaryAdminAuth(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if strings.HasPrefix(info.FullMethod, adminServicePrefix) {
		if err := s.adminAuthorized(ctx); err != nil {
			return nil, err
		}
	}
	return handler(ctx, req)
}
