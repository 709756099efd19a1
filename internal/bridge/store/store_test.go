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
	if err := s.Delete(ctx, "dev"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := s.Delete(ctx, "dev"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete twice: got %v", err)
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
