package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// dialect holds what differs between SQLite and MySQL.
type dialect struct {
	name         string
	insertIgnore string // "INSERT OR IGNORE" / "INSERT IGNORE"
	isDuplicate  func(error) bool
}

// sqlStore implements Store over database/sql.
type sqlStore struct {
	db *sql.DB
	d  dialect
}

var schema = []string{
	`CREATE TABLE IF NOT EXISTS spinops_accounts (
		id              VARCHAR(64)  NOT NULL PRIMARY KEY,
		name            VARCHAR(253) NOT NULL UNIQUE,
		spec            TEXT         NOT NULL,
		credential_hash VARCHAR(128) NOT NULL,
		created_unix    BIGINT       NOT NULL,
		updated_unix    BIGINT       NOT NULL,
		agent_id        VARCHAR(253) NOT NULL DEFAULT '',
		last_seen_unix  BIGINT       NOT NULL DEFAULT 0
	)`,
	`CREATE TABLE IF NOT EXISTS spinops_settings (
		name  VARCHAR(128) NOT NULL PRIMARY KEY,
		value TEXT         NOT NULL
	)`,
}

func (s *sqlStore) migrate(ctx context.Context) error {
	for _, stmt := range schema {
		if _, err := s.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("creating the %s schema: %w", s.d.name, err)
		}
	}
	return nil
}

const accountColumns = `id, name, spec, credential_hash, created_unix, updated_unix, agent_id, last_seen_unix`

func scanAccount(row interface{ Scan(...any) error }) (*Account, error) {
	var a Account
	var spec string
	var created, updated, seen int64
	if err := row.Scan(&a.ID, &a.Name, &spec, &a.CredentialHash, &created, &updated, &a.AgentID, &seen); err != nil {
		return nil, err
	}
	a.Spec = []byte(spec)
	a.CreatedAt = time.Unix(0, created)
	a.UpdatedAt = time.Unix(0, updated)
	if seen != 0 {
		a.LastSeen = time.Unix(0, seen)
	}
	return &a, nil
}

func (s *sqlStore) Create(ctx context.Context, a *Account) error {
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO spinops_accounts (`+accountColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Name, string(a.Spec), a.CredentialHash, a.CreatedAt.UnixNano(), a.UpdatedAt.UnixNano(), a.AgentID, unixNano(a.LastSeen))
	if err != nil {
		if s.d.isDuplicate(err) {
			return fmt.Errorf("registering %q: %w", a.Name, ErrExists)
		}
		return fmt.Errorf("registering %q in %s: %w", a.Name, s.d.name, err)
	}
	return nil
}

func (s *sqlStore) Get(ctx context.Context, name string) (*Account, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM spinops_accounts WHERE name = ?`, name)
	a, err := scanAccount(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("reading %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %q from %s: %w", name, s.d.name, err)
	}
	return a, nil
}

func (s *sqlStore) List(ctx context.Context) ([]*Account, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+accountColumns+` FROM spinops_accounts ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("listing accounts in %s: %w", s.d.name, err)
	}
	defer rows.Close()
	var out []*Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("listing accounts in %s: %w", s.d.name, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing accounts in %s: %w", s.d.name, err)
	}
	return out, nil
}

func (s *sqlStore) update(ctx context.Context, what, name, query string, args ...any) error {
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("updating the %s of %q in %s: %w", what, name, s.d.name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("updating the %s of %q in %s: %w", what, name, s.d.name, err)
	}
	if n == 0 {
		// MySQL reports 0 rows when nothing changed: tell that from absence.
		if _, err := s.Get(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

func (s *sqlStore) UpdateSpec(ctx context.Context, name string, spec []byte, at time.Time) error {
	return s.update(ctx, "spec", name, `UPDATE spinops_accounts SET spec = ?, updated_unix = ? WHERE name = ?`,
		string(spec), at.UnixNano(), name)
}

func (s *sqlStore) UpdateCredential(ctx context.Context, name, hash string, at time.Time) error {
	return s.update(ctx, "credential", name, `UPDATE spinops_accounts SET credential_hash = ?, updated_unix = ? WHERE name = ?`,
		hash, at.UnixNano(), name)
}

func (s *sqlStore) RecordSeen(ctx context.Context, name, agentID string, at time.Time) error {
	return s.update(ctx, "connection state", name, `UPDATE spinops_accounts SET agent_id = ?, last_seen_unix = ? WHERE name = ?`,
		agentID, at.UnixNano(), name)
}

func (s *sqlStore) Delete(ctx context.Context, name string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM spinops_accounts WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("deleting %q from %s: %w", name, s.d.name, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("deleting %q: %w", name, ErrNotFound)
	}
	return nil
}

func (s *sqlStore) Setting(ctx context.Context, key string, create func() (string, error)) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM spinops_settings WHERE name = ?`, key).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("reading setting %s from %s: %w", key, s.d.name, err)
	}
	nv, err := create()
	if err != nil {
		return "", fmt.Errorf("creating setting %s: %w", key, err)
	}
	if _, err := s.db.ExecContext(ctx, s.d.insertIgnore+` INTO spinops_settings (name, value) VALUES (?, ?)`, key, nv); err != nil {
		return "", fmt.Errorf("storing setting %s in %s: %w", key, s.d.name, err)
	}
	// Read back: another replica may have won the race.
	if err := s.db.QueryRowContext(ctx, `SELECT value FROM spinops_settings WHERE name = ?`, key).Scan(&v); err != nil {
		return "", fmt.Errorf("reading setting %s from %s: %w", key, s.d.name, err)
	}
	return v, nil
}

func (s *sqlStore) LookupSetting(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM spinops_settings WHERE name = ?`, key).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", false, nil
	case err != nil:
		return "", false, fmt.Errorf("reading setting %s from %s: %w", key, s.d.name, err)
	}
	return v, true, nil
}

func (s *sqlStore) DeleteSetting(ctx context.Context, key string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM spinops_settings WHERE name = ?`, key); err != nil {
		return fmt.Errorf("deleting setting %s from %s: %w", key, s.d.name, err)
	}
	return nil
}

func (s *sqlStore) Close() error { return s.db.Close() }

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}
