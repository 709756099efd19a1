package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// testStore runs the same contract against every implementation.
func testStore(t *testing.T, open func(t *testing.T) Store) {
	ctx := context.Background()
	s := open(t)
	now := time.Now().Truncate(time.Microsecond)
	a := &Account{ID: "id-1", Name: "prod-east", Spec: []byte(`{"name":"prod-east"}`), CredentialHash: "h1", CreatedAt: now, UpdatedAt: now}
	if err := s.Create(ctx, a); err != nil {
		t.Fatalf("Create: %v", err)
	}
	dup := *a
	dup.ID = "id-2"
	if err := s.Create(ctx, &dup); !errors.Is(err, ErrExists) {
		t.Fatalf("Create of a taken name: got %v, want ErrExists", err)
	}
	got, err := s.Get(ctx, "prod-east")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.ID != "id-1" || string(got.Spec) != `{"name":"prod-east"}` || got.CredentialHash != "h1" || !got.CreatedAt.Equal(now) {
		t.Fatalf("Get returned %+v", got)
	}
	if _, err := s.Get(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of an unknown name: got %v, want ErrNotFound", err)
	}
	if err := s.UpdateSpec(ctx, "prod-east", []byte(`{"name":"prod-east","kinds":["Pod"]}`), now.Add(time.Second)); err != nil {
		t.Fatalf("UpdateSpec: %v", err)
	}
	if err := s.UpdateSpec(ctx, "nope", []byte(`{}`), now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("UpdateSpec of an unknown name: got %v", err)
	}
	if err := s.UpdateCredential(ctx, "prod-east", "h2", now); err != nil {
		t.Fatalf("UpdateCredential: %v", err)
	}
	if err := s.RecordSeen(ctx, "prod-east", "agent-a", now); err != nil {
		t.Fatalf("RecordSeen: %v", err)
	}
	// Same values again: MySQL reports 0 rows changed, which is not "absent".
	if err := s.RecordSeen(ctx, "prod-east", "agent-a", now); err != nil {
		t.Fatalf("RecordSeen (unchanged): %v", err)
	}
	if err := s.Create(ctx, &Account{ID: "id-3", Name: "dev", Spec: []byte(`{}`), CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "dev" || list[1].Name != "prod-east" {
		t.Fatalf("List: %v %+v", err, list)
	}
	if list[1].CredentialHash != "h2" || list[1].AgentID != "agent-a" || !list[1].LastSeen.Equal(now) {
		t.Fatalf("List returned %+v", list[1])
	}
	calls := 0
	mk := func() (string, error) { calls++; return "secret-1", nil }
	v1, err := s.Setting(ctx, "hmac", mk)
	if err != nil || v1 != "secret-1" {
		t.Fatalf("Setting: %q %v", v1, err)
	}
	v2, err := s.Setting(ctx, "hmac", func() (string, error) { return "other", nil })
	if err != nil || v2 != "secret-1" {
		t.Fatalf("Setting (existing): %q %v", v2, err)
	}
	if v, ok, err := s.LookupSetting(ctx, "hmac"); err != nil || !ok || v != "secret-1" {
		t.Fatalf("LookupSetting: %q %v %v", v, ok, err)
	}
	if err := s.DeleteSetting(ctx, "hmac"); err != nil {
		t.Fatalf("DeleteSetting: %v", err)
	}
	if v, ok, err := s.LookupSetting(ctx, "hmac"); err != nil || ok {
		t.Fatalf("LookupSetting after DeleteSetting: %q %v %v", v, ok, err)
	}
	if err := s.DeleteSetting(ctx, "hmac"); err != nil {
		t.Fatalf("DeleteSetting of a missing setting: %v", err)
	}
	if err := s.Delete(ctx, "dev"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := s.Delete(ctx, "dev"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete twice: got %v", err)
	}
	testHolders(t, s)
}

// testHolders: one live agent holds an account across replicas; the same
// agent may move to another replica; an expired hold is taken over and its
// old replica's renewal fails.
func testHolders(t *testing.T, s Store) {
	ctx := context.Background()
	now := time.Now()
	a := &Holder{Account: "prod", BridgeID: "bridge-a", AgentID: "agent-1", PeerURL: "https://a:8443", Status: []byte(`{"connected":true}`), Expires: now.Add(10 * time.Second)}
	if _, err := s.Claim(ctx, a, now); err != nil {
		t.Fatalf("Claim: %v", err)
	}
	intruder := &Holder{Account: "prod", BridgeID: "bridge-b", AgentID: "agent-2", PeerURL: "https://b:8443", Expires: now.Add(10 * time.Second)}
	cur, err := s.Claim(ctx, intruder, now)
	if !errors.Is(err, ErrHeld) || cur.BridgeID != "bridge-a" || cur.AgentID != "agent-1" || cur.PeerURL != "https://a:8443" {
		t.Fatalf("Claim by another agent: %v %+v", err, cur)
	}
	// The same agent reconnects to replica b: it takes the hold over, and
	// replica a's renewal fails.
	moved := &Holder{Account: "prod", BridgeID: "bridge-b", AgentID: "agent-1", PeerURL: "https://b:8443", Expires: now.Add(10 * time.Second)}
	if _, err := s.Claim(ctx, moved, now); err != nil {
		t.Fatalf("Claim by the same agent elsewhere: %v", err)
	}
	if ok, err := s.Renew(ctx, a); err != nil || ok {
		t.Fatalf("Renew of a lost hold: %v %v", ok, err)
	}
	moved.Status = []byte(`{"connected":true,"agentId":"agent-1"}`)
	moved.Expires = now.Add(20 * time.Second)
	if ok, err := s.Renew(ctx, moved); err != nil || !ok {
		t.Fatalf("Renew: %v %v", ok, err)
	}
	// Expired: anyone may take it.
	later := now.Add(time.Minute)
	intruder.Expires = later.Add(10 * time.Second)
	if _, err := s.Claim(ctx, intruder, later); err != nil {
		t.Fatalf("Claim of an expired hold: %v", err)
	}
	hs, err := s.Holders(ctx)
	if err != nil || len(hs) != 1 || hs[0].AgentID != "agent-2" || hs[0].BridgeID != "bridge-b" {
		t.Fatalf("Holders: %v %+v", err, hs)
	}
	if err := s.Release(ctx, "prod", "bridge-a"); err != nil {
		t.Fatal(err)
	}
	if hs, _ := s.Holders(ctx); len(hs) != 1 {
		t.Fatal("Release by a replica that does not hold the account removed the hold")
	}
	if err := s.Release(ctx, "prod", "bridge-b"); err != nil {
		t.Fatal(err)
	}
	if hs, _ := s.Holders(ctx); len(hs) != 0 {
		t.Fatalf("after Release: %+v", hs)
	}
}

func TestSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bridge.db")
	testStore(t, func(t *testing.T) Store {
		s, err := OpenSQLite(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
	// Registrations survive reopening (a bridge restart).
	s, err := OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Get(context.Background(), "prod-east"); err != nil {
		t.Fatalf("after reopening: %v", err)
	}
}

func TestMySQL(t *testing.T) {
	m := testenv.SharedMariaDB(t)
	dsn := m.DSN(m.Database(t))
	testStore(t, func(t *testing.T) Store {
		s, err := OpenMySQL(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
	s, err := OpenMySQL(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Get(context.Background(), "prod-east"); err != nil {
		t.Fatalf("after reopening: %v", err)
	}
}
