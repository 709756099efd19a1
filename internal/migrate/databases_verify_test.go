package migrate

import (
	"maps"
	"strings"
	"testing"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

// TestCopyDatabasesIncrementalVerify: an incremental copy with Verify stops
// at a consistent snapshot of the old server and compares every copied
// table with it (two real MariaDB servers).
//
//   - Writes on the old server while the copy runs, after its snapshot,
//     are not part of it: the copy verifies, and the next copy brings them
//     (fails when the old side is read outside the snapshot, or when the
//     copy stops at the binary log's end instead of the snapshot's
//     position).
//   - A write on the new server while the copy runs, after the check at
//     its start (the hole the checksums at the end of a copy cannot see:
//     they would record it): refused, naming the table, and refused again
//     by the next incremental copy, with or without Verify; a full copy
//     with --overwrite replaces the database and the copies go on. The
//     same write without Verify is recorded silently (why Verify exists).
//   - Two equal rows in a table without a primary key do not cancel out:
//     one written twice on the new server is refused.
func TestCopyDatabasesIncrementalVerify(t *testing.T) {
	oldSrv, newSrv := testenv.StartMariaDB(t), testenv.StartMariaDB(t)
	orca, front50 := spinnakerLike(t, oldSrv, 200)
	c := DatabaseCopy{From: server(oldSrv), To: server(newSrv), Databases: []string{orca, front50},
		DatabaseMap: map[string]string{front50: front50 + "_v2"}, Staging: backup.NewFileStore(t.TempDir()), ToolVersion: "test"}
	if _, err := CopyDatabases(t.Context(), c, quiet()); err != nil {
		t.Fatal(err)
	}
	o, n := openDB(t, oldSrv, orca), openDB(t, newSrv, orca)
	same := func(what string) {
		t.Helper()
		for old, new := range map[string]string{orca: orca, front50: front50 + "_v2"} {
			if got, want := tableSums(t, newSrv, new), tableSums(t, oldSrv, old); !maps.Equal(got, want) {
				t.Errorf("%s: the new %s %v, the old %s %v", what, new, got, old, want)
			}
		}
	}

	// The old server written while the copy runs.
	mustExec(t, o, "INSERT INTO pipelines VALUES ('p3', 'web', 'before the copy', 3)")
	v := c
	v.Verify = true
	v.afterSnapshot = func() {
		mustExec(t, o, "INSERT INTO pipelines VALUES ('p5', 'web', 'after the snapshot', 5)")
	}
	v.afterApply = func() {
		mustExec(t, o, "INSERT INTO pipelines VALUES ('p4', 'web', 'during the copy', 4)", "UPDATE executions SET status = 'TERMINAL' WHERE id = 5")
	}
	res, err := CopyDatabases(t.Context(), v, quiet())
	if err != nil {
		t.Fatalf("a copy while the old server is written: %v", err)
	}
	if !res.Incremental || !res.Verified {
		t.Fatalf("incremental %v, verified %v; want both", res.Incremental, res.Verified)
	}
	var later int
	if err := n.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM pipelines WHERE id IN ('p4', 'p5')").Scan(&later); err != nil || later != 0 {
		t.Fatalf("rows written on the old server after the snapshot are on the new server (%d, %v): the copy did not stop at the snapshot", later, err)
	}
	v.afterSnapshot, v.afterApply = nil, nil
	if _, err := CopyDatabases(t.Context(), v, quiet()); err != nil {
		t.Fatal(err)
	}
	same("after the next copy")

	// The new server written while the copy runs, after its check.
	mustExec(t, o, "INSERT INTO notifications VALUES ('p3', 'started')")
	v.afterApply = func() {
		mustExec(t, n, "UPDATE pipelines SET body = 'edited by the new Orca during the copy' WHERE id = 'p1'")
	}
	_, err = CopyDatabases(t.Context(), v, quiet())
	if err == nil || !strings.Contains(err.Error(), "differ from the old server") || !strings.Contains(err.Error(), orca+" (pipelines)") || !strings.Contains(err.Error(), "--full") {
		t.Fatalf("a write on the new server during the copy: %v; want it refused, naming %s's pipelines, saying to run with --full", err, orca)
	}
	v.afterApply = nil
	for _, again := range []DatabaseCopy{v, c} {
		_, err := CopyDatabases(t.Context(), again, quiet())
		if err == nil || !strings.Contains(err.Error(), "found it differing from the old server") || !strings.Contains(err.Error(), "pipelines") {
			t.Errorf("the next copy (verify %v) after a refused verification: %v; want it refused, naming pipelines", again.Verify, err)
		}
	}
	// The mark is sealed: cleared by hand, the record no longer verifies.
	target := openDB(t, newSrv, "")
	mustExec(t, target, "UPDATE "+positionTable+" SET rows_checksums = '' WHERE target_db = '"+orca+"'")
	if _, err := CopyDatabases(t.Context(), c, quiet()); err == nil || !strings.Contains(err.Error(), "was altered") {
		t.Errorf("the divergence mark removed by hand: %v; want the record refused as altered", err)
	}
	full := v
	full.Full, full.Overwrite = true, true
	if _, err := CopyDatabases(t.Context(), full, quiet()); err != nil {
		t.Fatalf("a full copy after a refused verification: %v", err)
	}
	same("after the full copy")
	if _, err := CopyDatabases(t.Context(), v, quiet()); err != nil {
		t.Fatalf("an incremental copy after the full copy: %v", err)
	}

	// Without Verify the same write is recorded silently.
	c.afterApply = func() { mustExec(t, n, "UPDATE pipelines SET body = 'unseen' WHERE id = 'p2'") }
	if _, err := CopyDatabases(t.Context(), c, quiet()); err != nil {
		t.Fatalf("without Verify: %v", err)
	}
	c.afterApply = nil
	if _, err := CopyDatabases(t.Context(), c, quiet()); err != nil {
		t.Fatalf("without Verify, the write during the copy is in the recorded checksums, so the next copy goes on; got %v", err)
	}
	if _, err := CopyDatabases(t.Context(), v, quiet()); err == nil || !strings.Contains(err.Error(), orca+" (pipelines)") {
		t.Fatalf("a copy with Verify after an unseen write: %v; want pipelines refused", err)
	}
	if _, err := CopyDatabases(t.Context(), full, quiet()); err != nil {
		t.Fatal(err)
	}

	// A duplicate of an existing row in a table without a primary key:
	// one row more, and a sum (not an XOR) of the rows' digests.
	for _, w := range []struct{ name, do string }{
		{"a row duplicated", "INSERT INTO notifications SELECT * FROM notifications LIMIT 1"},
		{"two rows duplicated", "INSERT INTO notifications SELECT * FROM notifications LIMIT 1; INSERT INTO notifications SELECT * FROM notifications LIMIT 1"},
	} {
		v.afterApply = func() {
			for _, q := range strings.Split(w.do, "; ") {
				mustExec(t, n, q)
			}
		}
		if _, err := CopyDatabases(t.Context(), v, quiet()); err == nil || !strings.Contains(err.Error(), "notifications") {
			t.Errorf("%s on the new server during the copy: %v; want notifications refused", w.name, err)
		}
		if _, err := CopyDatabases(t.Context(), full, quiet()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRowDigests: the digest tells apart what CHECKSUM-like sums confuse:
// NULL and the empty string, a value beside a NULL or in its place, values
// moved between columns, two equal rows
// against none, and a row's bytes (binary and multi-byte text).
func TestRowDigests(t *testing.T) {
	srv := testenv.StartMariaDB(t)
	db := srv.Database(t)
	d := openDB(t, srv, db)
	digest := func(rows ...string) rowDigest {
		t.Helper()
		mustExec(t, d, "DROP TABLE IF EXISTS t", "CREATE TABLE t (a VARCHAR(10), b VARCHAR(10), c VARBINARY(10))")
		for _, r := range rows {
			mustExec(t, d, "INSERT INTO t VALUES "+r)
		}
		got, err := rowDigests(t.Context(), d, db, "test")
		if err != nil {
			t.Fatal(err)
		}
		return got["t"]
	}
	cases := [][2][]string{
		{{"(NULL, 'x', NULL)"}, {"('', 'x', NULL)"}},
		// CONCAT_WS skips NULLs: without a marker per column both are "x".
		{{"(NULL, 'x', NULL)"}, {"('x', NULL, NULL)"}},
		{{"('x', '', NULL)"}, {"('', 'x', NULL)"}},
		// An XOR of the rows' digests would be 0 for both.
		{{"('x', 'y', NULL)", "('x', 'y', NULL)"}, {"('z', 'z', NULL)", "('z', 'z', NULL)"}},
		{{"('ä', NULL, X'00')"}, {"('ä', NULL, X'01')"}},
		{{"('a', 'b', NULL)"}, {"('a,b', NULL, NULL)"}},
	}
	for _, tc := range cases {
		a, b := digest(tc[0]...), digest(tc[1]...)
		if a == b {
			t.Errorf("%v and %v have the same digest %+v", tc[0], tc[1], a)
		}
	}
	if a, b := digest("('x', 'y', X'00')", "('p', NULL, NULL)"), digest("('p', NULL, NULL)", "('x', 'y', X'00')"); a != b {
		t.Errorf("the same rows in another order: %+v and %+v", a, b)
	}
	var empty rowDigest
	if empty = digest(); empty.Rows != 0 || empty.A != "" {
		t.Errorf("an empty table: %+v", empty)
	}
}
