package backup

import (
	"bytes"
	"database/sql"
	"math/rand/v2"
	"testing"
)

// TestAppendTSVRowEscapesEveryByte: every value, whatever bytes it holds,
// comes out escaped byte by byte as LOAD DATA's default format reads it
// (\\ \t \n \r \0, \N for NULL), including values with no byte to escape
// (the fast path) and values made only of such bytes.
func TestAppendTSVRowEscapesEveryByte(t *testing.T) {
	reference := func(vals []sql.RawBytes) []byte {
		var b []byte
		for i, v := range vals {
			if i > 0 {
				b = append(b, '\t')
			}
			if v == nil {
				b = append(b, `\N`...)
				continue
			}
			for _, c := range v {
				switch c {
				case '\\':
					b = append(b, `\\`...)
				case '\t':
					b = append(b, `\t`...)
				case '\n':
					b = append(b, `\n`...)
				case '\r':
					b = append(b, `\r`...)
				case 0:
					b = append(b, `\0`...)
				default:
					b = append(b, c)
				}
			}
		}
		return append(b, '\n')
	}
	rng := rand.New(rand.NewPCG(14, 15))
	special := []byte{'\\', '\t', '\n', '\r', 0}
	for i := range 2000 {
		vals := make([]sql.RawBytes, 1+rng.IntN(4))
		for j := range vals {
			if rng.IntN(10) == 0 {
				continue // NULL
			}
			v := make([]byte, rng.IntN(300))
			for k := range v {
				switch i % 3 {
				case 0: // plain text: the fast path
					v[k] = byte('a' + rng.IntN(26))
				case 1: // any byte
					v[k] = byte(rng.IntN(256))
				default: // only bytes to escape
					v[k] = special[rng.IntN(len(special))]
				}
			}
			vals[j] = v
		}
		got, want := appendTSVRow(nil, vals), reference(vals)
		if !bytes.Equal(got, want) {
			t.Fatalf("row %d: appendTSVRow gave %q, want %q", i, got, want)
		}
	}
}
