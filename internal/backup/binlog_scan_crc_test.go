package backup

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"strings"
	"testing"
	"time"
)

// binlogEvent is one event as a server writes it: the 19-byte header
// (timestamp, type, server id, length, next position, flags) and body,
// with its CRC-32 appended when crc is set.
func binlogEvent(ts uint32, typ byte, serverID uint32, body []byte, crc bool) []byte {
	n := binlogHeaderLen + len(body)
	if crc {
		n += 4
	}
	ev := make([]byte, binlogHeaderLen, n)
	binary.LittleEndian.PutUint32(ev[0:4], ts)
	ev[4] = typ
	binary.LittleEndian.PutUint32(ev[5:9], serverID)
	binary.LittleEndian.PutUint32(ev[9:13], uint32(n))
	binary.LittleEndian.PutUint32(ev[13:17], 1)
	ev = append(ev, body...)
	if crc {
		ev = binary.LittleEndian.AppendUint32(ev, crc32.ChecksumIEEE(ev))
	}
	return ev
}

// formatDescription is the format description event of a checksum-aware
// server: binlog version 4, server version, create time, header length,
// post-header lengths, then the checksum algorithm (alg: 0 off, 1 CRC32)
// and a 4-byte checksum value, the event's CRC-32 (whatever alg says, as
// the servers write it).
func formatDescription(ts uint32, alg byte) []byte {
	body := binary.LittleEndian.AppendUint16(nil, 4)
	body = append(body, make([]byte, 50)...)
	copy(body[2:], "10.11.6-MariaDB-log")
	body = binary.LittleEndian.AppendUint32(body, 0)
	body = append(body, binlogHeaderLen)
	body = append(body, 0x38, 0x0d, 0, 8, 0, 0x12, 0, 4, 4, 4, 4, 0x12, 0, 0, 0x5c, 0, 4, 0x1a, 8, 0, 0, 0, 8, 8, 8, 2, 0)
	body = append(body, alg)
	return binlogEvent(ts, binlogEventFormat, 1, body, true)
}

func binlogFileOf(evs ...[]byte) []byte {
	b := append([]byte(nil), binlogMagic...)
	for _, e := range evs {
		b = append(b, e...)
	}
	return b
}

// A format description that declares CRC32 checksums and whose own
// checksum fails is corruption: it used to be taken for a file without
// checksums, so every later event went unchecked and a damaged timestamp
// became the file's (and the restore window's) last event. Every damage
// is caught, whether or not a later event is damaged too, by a whole
// scan and by the archiver's incremental one.
func TestDamagedFormatDescriptionIsCorrupt(t *testing.T) {
	fde := formatDescription(100, 1)
	query := binlogEvent(150, 2, 1, []byte("INSERT INTO t VALUES (1)"), true)
	for _, c := range []struct {
		name   string
		damage func(fde, query []byte)
	}{
		{"timestamp", func(fde, _ []byte) { fde[2] ^= 1 }},
		{"server version", func(fde, _ []byte) { fde[binlogHeaderLen+5] ^= 0x20 }},
		{"post-header length", func(fde, _ []byte) { fde[len(fde)-8] ^= 0x04 }},
		{"its checksum", func(fde, _ []byte) { fde[len(fde)-1] ^= 0x80 }},
		// A later event's timestamp pushed into the future: it must not
		// become LastEventAt.
		{"and a later event", func(fde, query []byte) { fde[2] ^= 1; query[3] ^= 0x40 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, q := bytes.Clone(fde), bytes.Clone(query)
			c.damage(f, q)
			file := binlogFileOf(f, q)
			bf, err := scanBinlog("mysql-bin.000007", bytes.NewReader(file))
			if !errors.Is(err, ErrCorruptBinlog) {
				t.Fatalf("scan of a file whose format description is damaged: %+v, %v; want ErrCorruptBinlog", bf, err)
			}
			if !strings.Contains(err.Error(), "mysql-bin.000007") || !strings.Contains(err.Error(), "offset 4") {
				t.Errorf("the error does not name the file and the event's offset: %v", err)
			}
			// The archiver feeds the file as it grows.
			s := &binlogScan{BinlogFile: BinlogFile{Name: "mysql-bin.000007"}}
			if err := s.feed(bytes.NewReader(file[:4+len(f)/2])); err != nil {
				t.Fatalf("half a format description: %v", err)
			}
			if err := s.feed(bytes.NewReader(file[s.ValidSize:])); !errors.Is(err, ErrCorruptBinlog) {
				t.Errorf("incremental scan: %+v, %v; want ErrCorruptBinlog", s.BinlogFile, err)
			}
		})
	}
}

// The cases that are not corruption: a sound format description with
// CRC32 checks the later events (and finds a damaged one), also in the
// file the server is writing, whose format description has the in-use
// flag set after its checksum was computed; one with checksums off (whose
// checksum value is not checked) checks none.
func TestFormatDescriptionChecksumAlgorithms(t *testing.T) {
	query := binlogEvent(150, 2, 1, []byte("INSERT INTO t VALUES (1)"), true)
	damaged := bytes.Clone(query)
	damaged[3] ^= 0x40
	inUse := formatDescription(100, 1)
	inUse[binlogFlagsOffset] |= binlogFlagInUse
	for name, fde := range map[string][]byte{"closed": formatDescription(100, 1), "in use": inUse} {
		bf, err := scanBinlog("f", bytes.NewReader(binlogFileOf(fde, query)))
		if err != nil || bf.Events != 2 || !bf.LastEventAt.Equal(time.Unix(150, 0)) {
			t.Errorf("a sound file with CRC32 (%s): %+v, %v", name, bf, err)
		}
		if _, err := scanBinlog("f", bytes.NewReader(binlogFileOf(fde, damaged))); !errors.Is(err, ErrCorruptBinlog) {
			t.Errorf("a damaged event after a sound CRC32 format description (%s): %v, want ErrCorruptBinlog", name, err)
		}
	}

	off := formatDescription(100, 0)
	binary.LittleEndian.PutUint32(off[len(off)-4:], 0) // not checked with checksums off
	plain := binlogEvent(150, 2, 1, []byte("INSERT INTO t VALUES (1)"), false)
	bf, err := scanBinlog("f", bytes.NewReader(binlogFileOf(off, plain)))
	if err != nil || bf.Events != 2 || !bf.LastEventAt.Equal(time.Unix(150, 0)) {
		t.Errorf("a file without checksums: %+v, %v", bf, err)
	}
}
