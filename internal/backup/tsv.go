package backup

import (
	"bytes"
	"database/sql"
	"io"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/zstd"
)

// Rows travel in the default LOAD DATA text format: fields separated by a
// tab, rows by a newline, backslash escapes (\\ \t \n \r \0) and \N for
// NULL. Values are the server's bytes with character_set_results=binary, so
// no character set conversion happens on the way out or back in.

// appendTSVRow appends one row, newline included.
func appendTSVRow(b []byte, vals []sql.RawBytes) []byte {
	for i, v := range vals {
		if i > 0 {
			b = append(b, '\t')
		}
		if v == nil {
			b = append(b, '\\', 'N')
			continue
		}
		if !needsEscape(v) {
			b = append(b, v...)
			continue
		}
		start := 0
		for j, c := range v {
			var esc byte
			switch c {
			case '\\':
				esc = '\\'
			case '\t':
				esc = 't'
			case '\n':
				esc = 'n'
			case '\r':
				esc = 'r'
			case 0:
				esc = '0'
			default:
				continue
			}
			b = append(b, v[start:j]...)
			b = append(b, '\\', esc)
			start = j + 1
		}
		b = append(b, v[start:]...)
	}
	return append(b, '\n')
}

// needsEscape reports whether v holds a byte the format escapes. Most
// values hold none (Spinnaker's JSON bodies are compact), and a search for
// each byte with bytes.IndexByte (vectorised) is several times faster than
// looking at every byte in a loop.
func needsEscape(v []byte) bool {
	return bytes.IndexByte(v, '\\') >= 0 || bytes.IndexByte(v, '\t') >= 0 || bytes.IndexByte(v, '\n') >= 0 ||
		bytes.IndexByte(v, '\r') >= 0 || bytes.IndexByte(v, 0) >= 0
}

// rowDigest sums the xxHash64 of rows (their TSV form): independent of
// order and chunking.
type rowDigest uint64

func (d *rowDigest) add(row []byte) { *d += rowDigest(xxhash.Sum64(row)) }

func newZstdReader(r io.Reader) (*zstd.Decoder, error) {
	return zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
}
