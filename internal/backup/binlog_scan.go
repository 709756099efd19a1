package backup

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"
)

// A binary log file (MySQL and MariaDB, format v4) is the magic
// "\xfebin" followed by events; every event starts with a 19-byte header:
// timestamp (uint32, seconds), type (uint8), server id (uint32), event
// length (uint32, header included), position of the next event (uint32) and
// flags (uint16), all little-endian. With binlog_checksum=CRC32 the last 4
// bytes of an event are the CRC-32 of the rest of it. A file that was
// finished ends with a ROTATE event naming the next file, or a STOP event
// when the server shut down (a restarted server opens the next file of the
// same basename: binlogSuccessor). Sources: MySQL's
// libbinlogevents/include/binlog_event.h (LOG_EVENT_HEADER_LEN, Log_event_type)
// and MariaDB's sql/log_event.h (ROTATE_EVENT = 4, STOP_EVENT = 3,
// FORMAT_DESCRIPTION_EVENT = 15).
const (
	binlogHeaderLen      = 19
	binlogEventStop      = 3
	binlogEventRotate    = 4
	binlogEventFormat    = 15
	binlogEventHeartbeat = 27
	binlogRotatePostLen  = 8
	binlogFlagsOffset    = 17
	binlogFlagInUse      = 0x1
)

var binlogMagic = []byte{0xfe, 'b', 'i', 'n'}

// BinlogFile is what scanning an archived binlog file proved about it.
type BinlogFile struct {
	Name string `json:"name"`
	// Size is the object's size; ValidSize the end of its last complete
	// event (an upload of the file being written may end inside an event).
	Size      int64 `json:"size"`
	ValidSize int64 `json:"valid_size"`
	Events    int64 `json:"events"`
	// FirstEventAt and LastEventAt are the timestamps of the first and last
	// complete events that carry one (the server writes 0 in some).
	FirstEventAt time.Time `json:"first_event_at,omitzero"`
	LastEventAt  time.Time `json:"last_event_at,omitzero"`
	// Complete: the file ends with a ROTATE (Next names the following
	// file) or a STOP event (Next is empty: the following file is
	// binlogSuccessor's); nothing more will ever be written to it.
	Complete bool   `json:"complete"`
	Next     string `json:"next,omitempty"`
	ServerID uint32 `json:"server_id,omitempty"`
	// CreatedAt is the time of the file's format description event, which
	// the server writes when it opens the file (zero when it carries
	// none, and in scans cached before it was recorded).
	CreatedAt time.Time `json:"created_at,omitzero"`
}

// ErrCorruptBinlog is returned (wrapped) for a file that is not a binary
// log or whose event checksums do not match.
var ErrCorruptBinlog = errors.New("corrupt binary log")

// scanBinlog reads a binlog file to the end and checks every event: the
// magic number, event lengths, and CRC-32 checksums when the format
// description event says they are on (its own included: a format
// description declaring CRC32 whose checksum fails is corrupt, not a
// file without checksums).
func scanBinlog(name string, r io.Reader) (*BinlogFile, error) {
	s := &binlogScan{BinlogFile: BinlogFile{Name: name}}
	if err := s.feed(r); err != nil {
		return nil, err
	}
	bf := s.BinlogFile
	return &bf, nil
}

// binlogScan is the state of scanning one file, so the file being written
// can be scanned on from where the last flush stopped (feed reads from
// offset ValidSize, or from 0 before the magic number was seen).
type binlogScan struct {
	BinlogFile
	checksum, started bool
}

func (s *binlogScan) feed(r io.Reader) error {
	er := newBinlogEventReader(r, s.Name)
	if !s.started {
		n, err := er.magic()
		if errors.Is(err, ErrCorruptBinlog) {
			return err
		}
		if err != nil {
			s.Size = n
			if errors.Is(err, io.EOF) {
				return nil // nothing received yet
			}
			return err
		}
		s.started, s.Size, s.ValidSize = true, 4, 4
	}
	s.Size = s.ValidSize
	for {
		n, err := er.next(s.ValidSize)
		if err != nil {
			s.Size += n
			if errors.Is(err, io.EOF) {
				return nil // the end, or a partial last event: not counted
			}
			return err
		}
		hdr, body, ts, typ := er.hdr, er.body, er.ts(), er.typ()
		if typ == binlogEventFormat {
			on, err := formatChecksum(hdr, body, s.Name, s.ValidSize)
			if err != nil {
				return err
			}
			s.checksum = s.checksum || on
			if ts != 0 && s.CreatedAt.IsZero() {
				s.CreatedAt = time.Unix(int64(ts), 0).UTC()
			}
		} else if s.checksum && !crcOK(hdr, body) {
			return fmt.Errorf("%w: %s: the checksum of the event at offset %d does not match", ErrCorruptBinlog, s.Name, s.ValidSize)
		}
		s.ValidSize += n
		s.Size = s.ValidSize
		if typ == binlogEventHeartbeat {
			continue
		}
		s.Events++
		if sid := binary.LittleEndian.Uint32(hdr[5:9]); sid != 0 && s.ServerID == 0 {
			s.ServerID = sid
		}
		if ts != 0 {
			at := time.Unix(int64(ts), 0).UTC()
			if s.FirstEventAt.IsZero() {
				s.FirstEventAt = at
			}
			if at.After(s.LastEventAt) {
				s.LastEventAt = at
			}
		}
		switch typ {
		case binlogEventRotate:
			b := body
			if s.checksum {
				b = b[:len(b)-4]
			}
			// A rotate with next position 0 is the artificial one a server
			// sends first; only a real one closes the file.
			if binary.LittleEndian.Uint32(hdr[13:17]) != 0 && len(b) > binlogRotatePostLen {
				s.Next = string(b[binlogRotatePostLen:])
				s.Complete = true
			}
		case binlogEventStop:
			s.Complete = true
		}
	}
}

// binlogEventReader reads a binlog file's events one at a time: the magic
// number, then each event's 19-byte header (its length checked) and body.
// The scan and the statement check (binlog_statements.go) both read files
// through it.
type binlogEventReader struct {
	br        *bufio.Reader
	name      string
	hdr, body []byte // the last event read (body reused by the next)
}

func newBinlogEventReader(r io.Reader, name string) *binlogEventReader {
	return &binlogEventReader{br: bufio.NewReaderSize(r, 1<<20), name: name, hdr: make([]byte, binlogHeaderLen)}
}

// magic reads and checks the magic number; n is what was read. A file
// shorter than it returns io.EOF.
func (r *binlogEventReader) magic() (int64, error) {
	m := make([]byte, len(binlogMagic))
	n, err := io.ReadFull(r.br, m)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.EOF
		}
		return int64(n), err
	}
	if !bytes.Equal(m, binlogMagic) {
		return int64(n), fmt.Errorf("%w: %s does not start with the binlog magic number", ErrCorruptBinlog, r.name)
	}
	return int64(n), nil
}

// next reads the event at offset off (for errors) into hdr and body and
// returns its length. At the end of the input, or inside a partial last
// event, it returns io.EOF and the bytes it read.
func (r *binlogEventReader) next(off int64) (int64, error) {
	n, err := io.ReadFull(r.br, r.hdr)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.EOF
		}
		return int64(n), err
	}
	length := binary.LittleEndian.Uint32(r.hdr[9:13])
	if length < binlogHeaderLen || length > 1<<30 {
		return 0, fmt.Errorf("%w: %s: event at offset %d has length %d", ErrCorruptBinlog, r.name, off, length)
	}
	size := int(length) - binlogHeaderLen
	if cap(r.body) < size {
		r.body = make([]byte, size)
	}
	r.body = r.body[:size]
	m, err := io.ReadFull(r.br, r.body)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.EOF
		}
		return int64(n + m), err
	}
	return int64(length), nil
}

func (r *binlogEventReader) ts() uint32 { return binary.LittleEndian.Uint32(r.hdr[0:4]) }
func (r *binlogEventReader) typ() byte  { return r.hdr[4] }

// formatChecksum reads a format description event (hdr, body): whether it
// turns CRC32 checksums on. The checksum algorithm is the byte before the
// FDE's own checksum (1 = CRC32): a checksum-aware server's FDE always
// carries both, and with CRC32 the checksum is the event's own (MySQL's and
// MariaDB's Format_description_log_event::write). One declaring CRC32 that
// does not match is damaged: taking it for a file without checksums would
// let every later event through unchecked. The server computes it without
// the in-use flag (LOG_EVENT_BINLOG_IN_USE_F, set in the file being
// written and cleared in place on close) and checks it so
// (Log_event::event_checksum_test); one computed over the flag as written
// (a tool that rewrote the event) passes too: that bit is all the two
// differ in.
func formatChecksum(hdr, body []byte, name string, off int64) (bool, error) {
	if len(body) < 5 || body[len(body)-5] != 1 {
		return false, nil
	}
	h := [binlogHeaderLen]byte(hdr)
	h[binlogFlagsOffset] &^= binlogFlagInUse
	if !crcOK(h[:], body) && !crcOK(hdr, body) {
		return false, fmt.Errorf("%w: %s: the format description event at offset %d declares CRC32 checksums and its own checksum does not match", ErrCorruptBinlog, name, off)
	}
	return true, nil
}

func crcOK(hdr, body []byte) bool {
	if len(body) < 4 {
		return false
	}
	c := crc32.NewIEEE()
	c.Write(hdr)
	c.Write(body[:len(body)-4])
	return c.Sum32() == binary.LittleEndian.Uint32(body[len(body)-4:])
}
