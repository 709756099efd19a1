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
	br := bufio.NewReaderSize(r, 1<<20)
	name := s.Name
	if !s.started {
		magic := make([]byte, 4)
		n, err := io.ReadFull(br, magic)
		if err != nil {
			s.Size = int64(n)
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil // nothing received yet
			}
			return err
		}
		if !bytes.Equal(magic, binlogMagic) {
			return fmt.Errorf("%w: %s does not start with the binlog magic number", ErrCorruptBinlog, name)
		}
		s.started, s.Size, s.ValidSize = true, 4, 4
	}
	s.Size = s.ValidSize
	hdr := make([]byte, binlogHeaderLen)
	var body []byte
	for {
		n, err := io.ReadFull(br, hdr)
		if err != nil {
			s.Size += int64(n)
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil
			}
			return err
		}
		ts := binary.LittleEndian.Uint32(hdr[0:4])
		typ := hdr[4]
		length := binary.LittleEndian.Uint32(hdr[9:13])
		if length < binlogHeaderLen || length > 1<<30 {
			return fmt.Errorf("%w: %s: event at offset %d has length %d", ErrCorruptBinlog, name, s.ValidSize, length)
		}
		if cap(body) < int(length)-binlogHeaderLen {
			body = make([]byte, int(length)-binlogHeaderLen)
		}
		body = body[:int(length)-binlogHeaderLen]
		m, err := io.ReadFull(br, body)
		if err != nil {
			s.Size += int64(n + m)
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				rest, _ := io.Copy(io.Discard, br)
				s.Size += rest
				return nil // a partial last event: not counted
			}
			return err
		}
		if typ == binlogEventFormat {
			// The checksum algorithm is the byte before the FDE's own checksum
			// (1 = CRC32): a checksum-aware server's FDE always carries both,
			// and with CRC32 the checksum is the event's own (MySQL's and
			// MariaDB's Format_description_log_event::write). One declaring
			// CRC32 that does not match is damaged: taking it for a file
			// without checksums would let every later event through unchecked.
			// The server computes it without the in-use flag
			// (LOG_EVENT_BINLOG_IN_USE_F, set in the file being written and
			// cleared in place on close) and checks it so
			// (Log_event::event_checksum_test); one computed over the flag
			// as written (a tool that rewrote the event) passes too: that
			// bit is all the two differ in.
			if len(body) >= 5 && body[len(body)-5] == 1 {
				h := [binlogHeaderLen]byte(hdr)
				h[binlogFlagsOffset] &^= binlogFlagInUse
				if !crcOK(h[:], body) && !crcOK(hdr, body) {
					return fmt.Errorf("%w: %s: the format description event at offset %d declares CRC32 checksums and its own checksum does not match", ErrCorruptBinlog, name, s.ValidSize)
				}
				s.checksum = true
			}
			if ts != 0 && s.CreatedAt.IsZero() {
				s.CreatedAt = time.Unix(int64(ts), 0).UTC()
			}
		} else if s.checksum && !crcOK(hdr, body) {
			return fmt.Errorf("%w: %s: the checksum of the event at offset %d does not match", ErrCorruptBinlog, name, s.ValidSize)
		}
		s.ValidSize += int64(length)
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

func crcOK(hdr, body []byte) bool {
	if len(body) < 4 {
		return false
	}
	c := crc32.NewIEEE()
	c.Write(hdr)
	c.Write(body[:len(body)-4])
	return c.Sum32() == binary.LittleEndian.Uint32(body[len(body)-4:])
}
