package bridge

import (
	"bytes"
	"testing"
)

// The cache's scrubber parses: an escaped or upper-case key is the key
// data, and a byte-level pre-check would have let it through.
func TestScrubSecretParses(t *testing.T) {
	for _, in := range []string{
		`{"kind":"Secret","d\u0061ta":{"p":"c2VjcmV0LXZhbHVl"}}`,
		`{"kind":"Secret","\u0073tringData":{"p":"secret-value"}}`,
		`{"kind":"Secret","DATA":{"p":"c2VjcmV0LXZhbHVl"}}`,
		`{"kind":"Secret","metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"secret-value"}}}`,
		"k8s\x00secret-value",
	} {
		out := scrubSecret([]byte(in))
		if bytes.Contains(out, []byte("c2VjcmV0LXZhbHVl")) || bytes.Contains(out, []byte("secret-value")) {
			t.Errorf("scrubSecret(%q) = %s", in, out)
		}
	}
}
