package backup_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
)

// signedArchive is a backup with point in time and its signed binlog
// archive: the backup's file (first, complete) and current (the next
// one, being written when the archiver stopped). oldSig is current's
// signature as it was after `second` (id 2) was archived, before `third`
// (id 3) and the markers 10 and 11 were written. At at1 the database
// holds ids 1 and 2; at at2 ids 1, 2, 3 and 10.
type signedArchive struct {
	e                    *env
	ctx                  context.Context
	db                   string
	dest                 backup.Store
	eng                  *backup.Engine
	server               string
	first, current       string // binlog file names
	oldSig               []byte
	at1, at2             time.Time
	firstKey, currentKey string
}

func newSignedArchive(t *testing.T) *signedArchive {
	t.Helper()
	requireTool(t, "mariadb-binlog")
	e := newEnv(t)
	s := &signedArchive{e: e, ctx: ctxTimeout(t, 3*time.Minute), db: e.db.Database(t)}
	d := e.sql(s.db)
	exec(t, d, "CREATE TABLE events (id INT PRIMARY KEY, what VARCHAR(32))")
	exec(t, d, "INSERT INTO events VALUES (1, 'first')")
	s.dest = e.store(e.bucket(), "signed/")
	s.eng = e.engine(s.dest)
	arch := e.archiver(s.dest)
	stop := archiving(t, arch)
	m, err := s.eng.Run(s.ctx, backup.RunOptions{MySQL: e.server(), Databases: []string{s.db}, PointInTime: true})
	if err != nil {
		t.Fatal(err)
	}
	s.first = m.MySQL.BinlogFile
	exec(t, d, "FLUSH BINARY LOGS")
	s.current = currentBinlog(t, e)
	exec(t, d, "INSERT INTO events VALUES (2, 'second')")
	time.Sleep(1100 * time.Millisecond)
	s.at1 = serverTime(t, e).Truncate(time.Second)
	exec(t, d, "INSERT INTO events VALUES (10, 'marker-1')")
	time.Sleep(time.Second) // flushed
	s.server = arch.ServerKey()
	s.firstKey = "binlogs/" + s.server + "/" + s.first
	s.currentKey = "binlogs/" + s.server + "/" + s.current
	s.oldSig = s.read(t, s.currentKey+".sig")
	exec(t, d, "INSERT INTO events VALUES (3, 'third-row-AAAAAA')")
	time.Sleep(1100 * time.Millisecond)
	s.at2 = serverTime(t, e).Truncate(time.Second)
	exec(t, d, "INSERT INTO events VALUES (11, 'marker-2')")
	time.Sleep(time.Second)
	stop()
	return s
}

func (s *signedArchive) read(t *testing.T, key string) []byte {
	t.Helper()
	rc, _, err := s.dest.Get(s.ctx, key)
	if err != nil {
		t.Fatalf("reading %s: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (s *signedArchive) put(t *testing.T, key string, b []byte) {
	t.Helper()
	if err := s.dest.Put(s.ctx, key, bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
}

// restore restores at into a database holding a table the restore must
// leave alone when it fails (--overwrite), and returns its rows.
func (s *signedArchive) restore(t *testing.T, eng *backup.Engine, at time.Time) (string, error) {
	t.Helper()
	target := s.e.db.Database(t)
	exec(t, s.e.sql(target), "CREATE TABLE keep (id INT PRIMARY KEY)")
	exec(t, s.e.sql(target), "INSERT INTO keep VALUES (42)")
	_, err := eng.Restore(s.ctx, backup.RestoreOptions{At: at, MySQL: &backup.MySQLTarget{Server: *s.e.server(), DatabaseMap: map[string]string{s.db: target}, Overwrite: true}})
	if err != nil {
		if got := rowsOf(t, s.e.sql(target), "SELECT id FROM keep"); got != "42" {
			t.Errorf("a refused restore changed the target: keep holds %q", got)
		}
		return "", err
	}
	return rowsOf(t, s.e.sql(target), "SELECT CONCAT(id, ':', what) FROM events ORDER BY id"), nil
}

// refused checks that err is a refusal of file's signature.
func refused(t *testing.T, err error, file, why string) {
	t.Helper()
	if err == nil || !errors.Is(err, backup.ErrUnsigned) || !strings.Contains(err.Error(), "archived binlog "+file+" ") ||
		!strings.Contains(err.Error(), why) || !strings.Contains(err.Error(), "--allow-unsigned") {
		t.Fatalf("restore over %s: %v, want a refusal naming it (%q)", file, err, why)
	}
}

const (
	wantAt1 = "1:first,2:second"
	wantAt2 = "1:first,2:second,3:third-row-AAAAAA,10:marker-1"
)

// Signed binlogs restore as before; every archived file has its .sig,
// which is not taken for a binlog file.
func TestSignedBinlogsRestore(t *testing.T) {
	s := newSignedArchive(t)
	for _, k := range []string{s.firstKey, s.currentKey} {
		s.read(t, k+".sig")
	}
	l, err := backup.List(s.ctx, s.dest)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range l.Archives[s.server].Files {
		if strings.HasSuffix(f.Key, ".sig") {
			t.Errorf("a signature is listed as a binlog file: %s", f.Key)
		}
	}
	if l.ChainErr != nil || l.Chain == nil || l.Chain.Gap != nil {
		t.Fatalf("chain: %+v, %v", l.Chain, l.ChainErr)
	}
	got, err := s.restore(t, s.eng, s.at2)
	if err != nil || got != wantAt2 {
		t.Fatalf("restore --at %s: %q, %v; want %q", s.at2, got, err, wantAt2)
	}
}

// reCRC fixes the CRC-32 of every event of a binlog that overlaps
// [from, to) and had a valid one: what someone who edits a file does.
func reCRC(b []byte, from, to int) {
	for off := 4; off+19 <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[off+9:]))
		if n < 19 || off+n > len(b) {
			return
		}
		if off < to && from < off+n {
			binary.LittleEndian.PutUint32(b[off+n-4:], crc32.ChecksumIEEE(b[off:off+n-4]))
		}
		off += n
	}
}

// Someone who can write the bucket rewrites an event of the archived
// binlog (its CRC-32 fixed, so it scans as sound) without the key: the
// restore refuses the file and changes nothing.
func TestTamperedBinlogIsRefused(t *testing.T) {
	s := newSignedArchive(t)
	b := s.read(t, s.currentKey)
	evil := []byte("evil-row-ZZZZZZZ")
	n := 0
	for i := bytes.Index(b, []byte("third-row-AAAAAA")); i >= 0; i = bytes.Index(b, []byte("third-row-AAAAAA")) {
		copy(b[i:], evil)
		reCRC(b, i, i+len(evil))
		n++
	}
	if n == 0 {
		t.Fatalf("%s does not hold the row's value", s.current)
	}
	s.put(t, s.currentKey, b)
	_, err := s.restore(t, s.eng, s.at2)
	refused(t, err, s.current, "not the ones signed")

	// Another archived file's content under its name: refused too.
	s.put(t, s.currentKey, s.read(t, s.firstKey))
	_, err = s.restore(t, s.eng, s.at2)
	refused(t, err, s.current, "replaced")

	// And the backup's own file, replaced by the current one.
	s.put(t, s.firstKey, b)
	_, err = s.restore(t, s.eng, s.at2)
	refused(t, err, s.first, "replaced")
}

// A binlog whose signature was deleted is refused.
func TestBinlogWithoutSignatureIsRefused(t *testing.T) {
	s := newSignedArchive(t)
	if err := s.dest.Delete(s.ctx, s.currentKey+".sig"); err != nil {
		t.Fatal(err)
	}
	_, err := s.restore(t, s.eng, s.at2)
	refused(t, err, s.current, s.current+".sig is missing")
	// Nor is another file's signature taken for it.
	s.put(t, s.currentKey+".sig", s.read(t, s.firstKey+".sig"))
	_, err = s.restore(t, s.eng, s.at2)
	refused(t, err, s.current, "another file")
}

// A file that grew after its last signature (the archiver stopped between
// the upload and the signature, or someone appended events) is used up to
// what was signed: a restore before that works, one after it finds the
// archive too short.
func TestBinlogIsUsedUpToItsSignature(t *testing.T) {
	s := newSignedArchive(t)
	s.put(t, s.currentKey+".sig", s.oldSig)
	got, err := s.restore(t, s.eng, s.at1)
	if err != nil || got != wantAt1 {
		t.Fatalf("restore --at %s within the signed prefix: %q, %v; want %q", s.at1, got, err, wantAt1)
	}
	_, err = s.restore(t, s.eng, s.at2)
	if err == nil || !strings.Contains(err.Error(), "reaches only") {
		t.Fatalf("restore --at %s past the signed prefix: %v, want the archive to reach only the signed events", s.at2, err)
	}
}

// --allow-unsigned trusts the archived binlogs as before signing existed.
func TestAllowUnsignedBinlogs(t *testing.T) {
	s := newSignedArchive(t)
	for _, k := range []string{s.firstKey, s.currentKey} {
		if err := s.dest.Delete(s.ctx, k+".sig"); err != nil {
			t.Fatal(err)
		}
	}
	keys := testKeys()
	keys.AllowUnsigned = true
	eng := &backup.Engine{Dest: s.dest, Log: testLogger(t), Keys: keys}
	got, err := s.restore(t, eng, s.at2)
	if err != nil || got != wantAt2 {
		t.Fatalf("restore --allow-unsigned --at %s: %q, %v; want %q", s.at2, got, err, wantAt2)
	}
}
