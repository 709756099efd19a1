package backup

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

// The listing's window (spinops backup list, the policy's metrics from the
// archiver) is what a restore that verifies would reach: List reports what
// the bucket claims, ListVerified only signed manifests, binlogs whose
// signature covers the whole object, and a signed archiver status. Each
// case leaves List's window as it was and ends ListVerified's where a
// verifying restore stops.
func TestListVerifiedReportsWhatARestoreTrusts(t *testing.T) {
	ctx := t.Context()
	const server = "mariadb-0-1"
	keys := &Keys{HMAC: []byte("tf-acc-test-signing-key-0123456789abcdef")}
	first := historyFile(1000, 1, "mysql-bin.000002") // events until 1002
	second := historyFile(1100, 1, "")                // events until 1101
	setup := func(t *testing.T) Store {
		dest, m := stopArchive(t, map[string][]byte{"mysql-bin.000001": first, "mysql-bin.000002": second}, "mysql-bin.000001", time.Unix(1000, 0))
		if err := writeManifest(ctx, dest, m, keys); err != nil {
			t.Fatal(err)
		}
		for name, b := range map[string][]byte{"mysql-bin.000001": first, "mysql-bin.000002": second} {
			signArchived(t, dest, keys, server, name, b)
		}
		st := ArchiveStatus{Server: server, CaughtUpAt: time.Unix(1500, 0).UTC(), CaughtUpFile: "mysql-bin.000002", CaughtUpPosition: uint64(len(second))}
		if err := writeStatus(ctx, dest, st, keys); err != nil {
			t.Fatal(err)
		}
		return dest
	}
	window := func(t *testing.T, l *Listing) time.Time {
		t.Helper()
		w, ok := l.RestoreWindow()
		if !ok {
			return time.Time{}
		}
		return w.Latest.UTC()
	}
	put := func(t *testing.T, dest Store, key string, b []byte) {
		t.Helper()
		if err := dest.Put(ctx, key, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	full, lastEvent, firstEnd := time.Unix(1500, 0).UTC(), time.Unix(1101, 0).UTC(), time.Unix(1002, 0).UTC()
	for _, c := range []struct {
		name   string
		change func(t *testing.T, dest Store)
		want   time.Time // ListVerified's window end; zero: no backup
		why    string
	}{
		{"everything signed", func(*testing.T, Store) {}, full, ""},
		{"a binlog without its signature", func(t *testing.T, dest Store) {
			if err := dest.Delete(ctx, serverBinlogDir(server)+"mysql-bin.000002"+sigSuffix); err != nil {
				t.Fatal(err)
			}
		}, firstEnd, "is missing"},
		{"a binlog longer than its signature covers", func(t *testing.T, dest Store) {
			sum := sha256.Sum256(second[:100])
			sig, _ := keys.signBinlog(server, "mysql-bin.000002", 100, hex.EncodeToString(sum[:]))
			put(t, dest, serverBinlogDir(server)+"mysql-bin.000002"+sigSuffix, sig)
		}, firstEnd, "covers 100"},
		{"another file's signature", func(t *testing.T, dest Store) {
			b, _ := readSmall(ctx, dest, serverBinlogDir(server)+"mysql-bin.000001"+sigSuffix)
			put(t, dest, serverBinlogDir(server)+"mysql-bin.000002"+sigSuffix, b)
		}, firstEnd, "another file"},
		{"an unsigned status", func(t *testing.T, dest Store) {
			st := ArchiveStatus{Server: server, CaughtUpAt: time.Unix(1500, 0).UTC(), CaughtUpFile: "mysql-bin.000002", CaughtUpPosition: uint64(len(second))}
			if err := writeStatus(ctx, dest, st, nil); err != nil {
				t.Fatal(err)
			}
			if err := dest.Delete(ctx, serverBinlogDir(server)+statusObject+sigSuffix); err != nil {
				t.Fatal(err)
			}
		}, lastEvent, ""},
		{"a manifest not signed by the key", func(t *testing.T, dest Store) {
			put(t, dest, sigKey("20240101T000000Z-abcd"), []byte(`{"signatures":[]}`))
		}, time.Time{}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			dest := setup(t)
			c.change(t, dest)
			claimed, err := List(ctx, dest)
			if err != nil {
				t.Fatal(err)
			}
			if c.name != "an unsigned status" && window(t, claimed) != full {
				t.Errorf("List: window to %v, want what the bucket claims, %v", window(t, claimed), full)
			}
			l, err := ListVerified(ctx, dest, keys)
			if err != nil {
				t.Fatal(err)
			}
			if got := window(t, l); !got.Equal(c.want) {
				t.Errorf("ListVerified: window to %v, want %v (chain gap: %v, error: %v)", got, c.want, l.Chain != nil && l.Chain.Gap != nil, l.ChainErr)
			}
			if c.why != "" && (l.Chain == nil || l.Chain.Gap == nil || !strings.Contains(l.Chain.Gap.Reason, c.why)) {
				t.Errorf("ListVerified's gap: %+v; want it to say %q", l.Chain, c.why)
			}
			if c.want.IsZero() && (len(l.Unverified) != 1 || len(l.Complete) != 0) {
				t.Errorf("ListVerified: complete %d, unverified %v; want the backup unverified", len(l.Complete), l.Unverified)
			}
			// Without keys, or with AllowUnsigned, ListVerified is List.
			if l, err := ListVerified(ctx, dest, &Keys{HMAC: keys.HMAC, AllowUnsigned: true}); err != nil || !window(t, l).Equal(window(t, claimed)) {
				t.Errorf("ListVerified with AllowUnsigned: %v, %v; want List's %v", window(t, l), err, window(t, claimed))
			}
		})
	}
}

// signArchived writes the .sig the archiver writes for server's archived
// file name holding b.
func signArchived(t *testing.T, dest Store, keys *Keys, server, name string, b []byte) {
	t.Helper()
	sum := sha256.Sum256(b)
	if err := writeBinlogSig(t.Context(), dest, keys, server, serverBinlogDir(server)+name, name, int64(len(b)), hex.EncodeToString(sum[:])); err != nil {
		t.Fatal(err)
	}
}
