// Package store keeps the bridge's account registrations: names, specs,
// hashed agent credentials and the last known connection state. SQLite is
// the default (one bridge replica); MySQL/MariaDB sits behind the same
// interface for bridges that share a registry.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when no account has the name asked for.
var ErrNotFound = errors.New("account not found")

// ErrExists is returned when an account of that name is already registered.
var ErrExists = errors.New("account already registered")

// Account is one registration.
type Account struct {
	ID   string
	Name string
	// Spec is the registration as the bridge encodes it (protojson of
	// bridgev1.AccountSpec); the store does not interpret it.
	Spec []byte
	// CredentialHash is what the bridge keeps of the agent credential: the
	// id of the bridge key it was derived from, its salt and its hex
	// SHA-256 — never the credential, nor the key.
	CredentialHash string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// AgentID and LastSeen record the last agent that served the account
	// and when it was last heard from (updated on connect and disconnect).
	AgentID  string
	LastSeen time.Time
}

// Store is the registry's persistence. Implementations are safe for
// concurrent use.
type Store interface {
	// Create stores a new account; ErrExists when the name is taken.
	Create(ctx context.Context, a *Account) error
	// Get returns the account called name; ErrNotFound when there is none.
	Get(ctx context.Context, name string) (*Account, error)
	// List returns every account, ordered by name.
	List(ctx context.Context) ([]*Account, error)
	// UpdateSpec replaces an account's spec; ErrNotFound when there is none.
	UpdateSpec(ctx context.Context, name string, spec []byte, at time.Time) error
	// UpdateCredential replaces an account's credential hash.
	UpdateCredential(ctx context.Context, name, hash string, at time.Time) error
	// RecordSeen records which agent serves an account and when it was seen.
	RecordSeen(ctx context.Context, name, agentID string, at time.Time) error
	// Delete removes an account; ErrNotFound when there is none.
	Delete(ctx context.Context, name string) error
	// Setting returns the value stored under key, storing create() first
	// when there is none (the first writer wins among several replicas).
	Setting(ctx context.Context, key string, create func() (string, error)) (string, error)
	// LookupSetting returns the value stored under key; false when there
	// is none.
	LookupSetting(ctx context.Context, key string) (string, bool, error)
	// DeleteSetting removes a setting (no error when there is none).
	DeleteSetting(ctx context.Context, key string) error

	// Claim, Renew, Release and Holders keep which replica holds which
	// account's agent stream (see Holder).
	Claim(ctx context.Context, h *Holder, now time.Time) (*Holder, error)
	Renew(ctx context.Context, h *Holder) (bool, error)
	Release(ctx context.Context, account, bridgeID string) error
	Holders(ctx context.Context) ([]*Holder, error)

	Close() error
}
