package scope

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
)

// LastApplied is the annotation kubectl apply writes: on a Secret it holds
// the data.
const LastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// MaxScrubValue bounds one JSON value of a Secret answer (one object, one
// list, one watch event): larger ones are refused rather than buffered.
const MaxScrubValue = 64 << 20

// ErrNotJSON: a Secret answer that is not JSON cannot be scrubbed, so it is
// refused.
var ErrNotJSON = errors.New("a Secret answer that is not JSON cannot be scrubbed")

// SecretAccept is the Accept header to send the API server for a Secret
// request: the JSON media ranges the caller asked for (a Table, metadata
// only), or plain JSON. Protobuf, YAML and wildcards are dropped, so the
// answer is JSON, the one encoding the scrubber reads.
func SecretAccept(values []string) string {
	var keep []string
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err == nil && mt == "application/json" {
				keep = append(keep, strings.TrimSpace(part))
			}
		}
	}
	if len(keep) == 0 {
		return "application/json"
	}
	return strings.Join(keep, ", ")
}

// ScrubSecrets scrubs a whole answer to a Secret request: one JSON value or
// several (watch events), each written back compact, one a line.
func ScrubSecrets(body []byte) ([]byte, error) {
	var out bytes.Buffer
	err := ScrubSecretStream(bytes.NewReader(body), func(b []byte) error {
		out.Write(b)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// ScrubSecretStream reads JSON values from r (an object, a list, a Table,
// watch events) and hands each, scrubbed and followed by a newline, to
// write as soon as it is complete. It fails on anything that is not JSON:
// nothing is written that was not parsed.
func ScrubSecretStream(r io.Reader, write func([]byte) error) error {
	lr := &valueLimit{r: r}
	dec := json.NewDecoder(lr)
	dec.UseNumber()
	lr.dec = dec
	for {
		var v any
		if err := dec.Decode(&v); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			if lr.err != nil {
				return lr.err
			}
			var se *json.SyntaxError
			var te *json.UnmarshalTypeError
			if errors.As(err, &se) || errors.As(err, &te) || errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("%w: %v", ErrNotJSON, err)
			}
			return err
		}
		scrubAny(v)
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("encoding a scrubbed Secret: %w", err)
		}
		if err := write(buf.Bytes()); err != nil {
			return err
		}
	}
}

// valueLimit fails a read that would make one JSON value larger than
// MaxScrubValue.
type valueLimit struct {
	r   io.Reader
	dec *json.Decoder
	n   int64
	err error
}

func (l *valueLimit) Read(p []byte) (int, error) {
	if l.n-l.dec.InputOffset() > MaxScrubValue {
		l.err = fmt.Errorf("a JSON value of a Secret answer exceeds %d bytes", MaxScrubValue)
		return 0, l.err
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	return n, err
}

// scrubAny removes what a Secret answer must not carry from every object
// in v: data and stringData (any letter case: some JSON readers match keys
// case-insensitively), managedFields (they name the data's keys) and the
// last-applied annotation. It walks lists (items), Tables (rows[].object)
// and watch events (object).
func scrubAny(v any) {
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			scrubAny(e)
		}
	case map[string]any:
		for k, val := range t {
			switch {
			case strings.EqualFold(k, "data"), strings.EqualFold(k, "stringData"):
				delete(t, k)
			case strings.EqualFold(k, "metadata"):
				scrubMetadata(val)
			case strings.EqualFold(k, "items"), strings.EqualFold(k, "rows"), strings.EqualFold(k, "object"):
				scrubAny(val)
			}
		}
	}
}

func scrubMetadata(v any) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	for k, val := range m {
		switch {
		case strings.EqualFold(k, "managedFields"):
			delete(m, k)
		case strings.EqualFold(k, "annotations"):
			if ann, ok := val.(map[string]any); ok {
				for ak := range ann {
					if strings.EqualFold(ak, LastApplied) {
						delete(ann, ak)
					}
				}
			}
		}
	}
}
