package backup

import (
	"bufio"
	"database/sql"
	"io"

	"github.com/klauspost/compress/zstd"
)

// Rows travel in the default LOAD DATA text format: fields separated by a
// tab, rows by a newline, backslash escapes (\\ \t \n \r \0) and \N for
// NULL. Values are the server's bytes with character_set_results=binary, so
// no character set conversion happens on the way out or back in.

func writeTSVRow(w *bufio.Writer, vals []sql.RawBytes) error {
	for i, v := range vals {
		if i > 0 {
			if err := w.WriteByte('\t'); err != nil {
				return err
			}
		}
		if v == nil {
			if _, err := w.WriteString(`\N`); err != nil {
				return err
			}
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
			if _, err := w.Write(v[start:j]); err != nil {
				return err
			}
			if _, err := w.Write([]byte{'\\', esc}); err != nil {
				return err
			}
			start = j + 1
		}
		if _, err := w.Write(v[start:]); err != nil {
			return err
		}
	}
	return w.WriteByte('\n')
}

func newZstdReader(r io.Reader) (*zstd.Decoder, error) {
	return zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
}
