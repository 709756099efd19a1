package scope

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzScrubSecrets: whatever the answer, the scrubber either refuses it or
// gives JSON in which no object it walks holds data, stringData,
// managedFields or the last-applied annotation; and a value planted in a
// Secret's data, in any JSON spelling, never comes out.
func FuzzScrubSecrets(f *testing.F) {
	f.Add([]byte(`{"kind":"Secret","data":{"p":"c2VjcmV0"}}`), "s3cr3t-value")
	f.Add([]byte(`{"kind":"SecretList","items":[{"kind":"Secret","d\u0061ta":{"p":"c2VjcmV0"}}]}`), "abcd")
	f.Add([]byte(`{"type":"ADDED","object":{"kind":"Secret","stringData":{"p":"x"}}}`+"\n"+`{"type":"DELETED","object":{}}`), "xyzw")
	f.Add([]byte(`{"kind":"Table","rows":[{"cells":["s"],"object":{"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"x"}}}}]}`), "\u00e9\u00e9\u00e9\u00e9")
	f.Add([]byte("k8s\x00\x0a\x02v1"), "\\\"\\\"")
	f.Fuzz(func(t *testing.T, body []byte, planted string) {
		out, err := ScrubSecrets(body)
		if err == nil {
			checkScrubbed(t, out)
			again, err := ScrubSecrets(out)
			if err != nil || !bytes.Equal(again, out) {
				t.Fatalf("scrubbing is not idempotent: %q -> %q (%v)", out, again, err)
			}
		}
		if len(planted) < 4 || !json.Valid([]byte(`"`+planted+`"`)) {
			return
		}
		var value string
		_ = json.Unmarshal([]byte(`"`+planted+`"`), &value)
		enc, _ := json.Marshal(value)
		needles := [][]byte{[]byte(planted), []byte(value), enc[1 : len(enc)-1]}
		// The value under data in several spellings of the key, in each
		// shape a Secret answer has.
		for _, key := range []string{`"data"`, `"d\u0061ta"`, `"\u0064\u0061\u0074\u0061"`, `"DaTa"`, `"stringData"`} {
			for _, shape := range []string{`%s`, `{"items":[%s]}`, `{"type":"ADDED","object":%s}` + "\n" + `%s`, `{"rows":[{"cells":[],"object":%s}]}`} {
				doc := func(v string) string {
					d := `{"kind":"Secret","metadata":{"name":"n"},` + key + `:{"k":"` + v + `"}}`
					return strings.ReplaceAll(shape, "%s", d)
				}
				out, err := ScrubSecrets([]byte(doc(planted)))
				if err != nil {
					t.Fatalf("a valid Secret answer was refused: %v: %s", err, doc(planted))
				}
				empty, _ := ScrubSecrets([]byte(doc("")))
				for _, n := range needles {
					if len(n) >= 4 && bytes.Contains(out, n) && !bytes.Contains(empty, n) {
						t.Fatalf("planted value %q left in %s", planted, out)
					}
				}
			}
		}
	})
}

// checkScrubbed walks out independently of the scrubber.
func checkScrubbed(t *testing.T, out []byte) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(out))
	// Numbers as written: JSON allows 1E700, which no float64 holds (the
	// fuzzer found this checker, not the scrubber, refusing it).
	dec.UseNumber()
	for {
		var v any
		if err := dec.Decode(&v); err != nil {
			if errors.Is(err, io.EOF) {
				return
			}
			t.Fatalf("scrubbed output is not JSON: %v: %q", err, out)
		}
		walkScrubbed(t, v, out)
	}
}

func walkScrubbed(t *testing.T, v any, out []byte) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			walkScrubbed(t, e, out)
		}
	case map[string]any:
		for k, val := range x {
			switch strings.ToLower(k) {
			case "data", "stringdata":
				t.Fatalf("key %q left in %q", k, out)
			case "metadata":
				if md, ok := val.(map[string]any); ok {
					for mk, mv := range md {
						if strings.EqualFold(mk, "managedFields") {
							t.Fatalf("managedFields left in %q", out)
						}
						if ann, ok := mv.(map[string]any); ok && strings.EqualFold(mk, "annotations") {
							for ak := range ann {
								if strings.EqualFold(ak, LastApplied) {
									t.Fatalf("last-applied left in %q", out)
								}
							}
						}
					}
				}
			case "items", "rows", "object":
				walkScrubbed(t, val, out)
			}
		}
	}
}
