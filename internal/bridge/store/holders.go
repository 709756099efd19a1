package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Holder says which bridge replica holds an account's agent stream. Several
// replicas sharing one store use it to let exactly one live agent serve an
// account, to find the replica to forward a request to, and to report an
// account's status from any replica.
type Holder struct {
	Account  string
	BridgeID string
	AgentID  string
	// PeerURL is the holding replica's Kubernetes endpoint as other
	// replicas reach it.
	PeerURL string
	// Status is the account's status as the holder last published it
	// (protojson of bridgev1.AccountStatus; the store does not interpret it).
	Status  []byte
	Expires time.Time
}

// ErrHeld is returned by Claim when another live agent holds the account.
var ErrHeld = errors.New("the account is held by another agent")

const holderColumns = `account, bridge_id, agent_id, peer_url, status, expires_unix`

func init() {
	schema = append(schema, `CREATE TABLE IF NOT EXISTS spinops_holders (
		account      VARCHAR(253) NOT NULL PRIMARY KEY,
		bridge_id    VARCHAR(128) NOT NULL,
		agent_id     VARCHAR(253) NOT NULL,
		peer_url     VARCHAR(512) NOT NULL,
		status       TEXT         NOT NULL,
		expires_unix BIGINT       NOT NULL
	)`)
}

func scanHolder(row interface{ Scan(...any) error }) (*Holder, error) {
	var h Holder
	var status string
	var exp int64
	if err := row.Scan(&h.Account, &h.BridgeID, &h.AgentID, &h.PeerURL, &status, &exp); err != nil {
		return nil, err
	}
	h.Status = []byte(status)
	h.Expires = time.Unix(0, exp)
	return &h, nil
}

// Claim makes h the holder of its account when nobody holds it, the hold
// expired, or the same agent holds it (it reconnected, possibly to another
// replica). Otherwise it returns the current holder and ErrHeld.
func (s *sqlStore) Claim(ctx context.Context, h *Holder, now time.Time) (*Holder, error) {
	res, err := s.db.ExecContext(ctx,
		`UPDATE spinops_holders SET bridge_id = ?, agent_id = ?, peer_url = ?, status = ?, expires_unix = ?
		 WHERE account = ? AND (expires_unix < ? OR agent_id = ?)`,
		h.BridgeID, h.AgentID, h.PeerURL, string(h.Status), h.Expires.UnixNano(), h.Account, now.UnixNano(), h.AgentID)
	if err != nil {
		return nil, fmt.Errorf("claiming %q in %s: %w", h.Account, s.d.name, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return h, nil
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO spinops_holders (`+holderColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		h.Account, h.BridgeID, h.AgentID, h.PeerURL, string(h.Status), h.Expires.UnixNano())
	if err == nil {
		return h, nil
	}
	if !s.d.isDuplicate(err) {
		return nil, fmt.Errorf("claiming %q in %s: %w", h.Account, s.d.name, err)
	}
	cur, err := scanHolder(s.db.QueryRowContext(ctx, `SELECT `+holderColumns+` FROM spinops_holders WHERE account = ?`, h.Account))
	if err != nil {
		return nil, fmt.Errorf("reading the holder of %q from %s: %w", h.Account, s.d.name, err)
	}
	return cur, ErrHeld
}

// Renew extends a hold and publishes the status; false when the hold was
// lost (it expired and another replica took it).
func (s *sqlStore) Renew(ctx context.Context, h *Holder) (bool, error) {
	res, err := s.db.ExecContext(ctx,
		`UPDATE spinops_holders SET status = ?, expires_unix = ? WHERE account = ? AND bridge_id = ? AND agent_id = ?`,
		string(h.Status), h.Expires.UnixNano(), h.Account, h.BridgeID, h.AgentID)
	if err != nil {
		return false, fmt.Errorf("renewing the hold of %q in %s: %w", h.Account, s.d.name, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// Release ends a replica's hold of an account (its agent disconnected).
func (s *sqlStore) Release(ctx context.Context, account, bridgeID string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM spinops_holders WHERE account = ? AND bridge_id = ?`, account, bridgeID); err != nil {
		return fmt.Errorf("releasing %q in %s: %w", account, s.d.name, err)
	}
	return nil
}

// Holders lists every hold, expired ones included.
func (s *sqlStore) Holders(ctx context.Context) ([]*Holder, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+holderColumns+` FROM spinops_holders ORDER BY account`)
	if err != nil {
		return nil, fmt.Errorf("listing holders in %s: %w", s.d.name, err)
	}
	defer rows.Close()
	var out []*Holder
	for rows.Next() {
		h, err := scanHolder(rows)
		if err != nil {
			return nil, fmt.Errorf("reading holders from %s: %w", s.d.name, err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}
