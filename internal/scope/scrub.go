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
		b, err := encodeLine(v)
		if err != nil {
			return err
		}
		if err := write(b); err != nil {
			return err
		}
	}
}

// encodeLine writes a scrubbed value back: compact JSON, HTML characters
// as they are, followed by a newline.
func encodeLine(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding a scrubbed Secret: %w", err)
	}
	return buf.Bytes(), nil
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
		if kind, _ := t["kind"].(string); strings.EqualFold(kind, "Status") {
			scrubStatus(t)
			return
		}
		if _, ok := t["columnDefinitions"]; ok {
			scrubTable(t)
		}
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

// scrubStatus withholds what a Status in a Secret answer says in words.
// The API server quotes what it could not take: a JSON or merge patch of a
// Secret that does not decode is answered 422 with the whole patched
// Secret, data and all, in the message and in details.causes
// (k8s.io/apiserver's patch handler: field.Invalid(field.NewPath("patch"),
// string(patchedObjJS), ...)), and an admission webhook's denial may quote
// the object too. So a Status keeps its apiVersion, kind, status, reason
// and code, and of its details the name, group, kind, uid,
// retryAfterSeconds and each cause's reason and field (what clients act
// on: NotFound, AlreadyExists, Conflict, Expired, the causes' types); the
// message becomes one that names the reason and code only.
func scrubStatus(m map[string]any) {
	reason, _ := m["reason"].(string)
	code := m["code"]
	var details map[string]any
	if d, ok := m["details"].(map[string]any); ok {
		details = map[string]any{}
		for _, k := range []string{"name", "group", "kind", "uid", "retryAfterSeconds"} {
			if v, ok := d[k]; ok {
				details[k] = v
			}
		}
		if causes, ok := d["causes"].([]any); ok {
			var kept []any
			for _, c := range causes {
				if cm, ok := c.(map[string]any); ok {
					kc := map[string]any{}
					for _, k := range []string{"reason", "field"} {
						if v, ok := cm[k]; ok {
							kc[k] = v
						}
					}
					kept = append(kept, kc)
				}
			}
			details["causes"] = kept
		}
	}
	for k := range m {
		switch k {
		case "apiVersion", "kind", "status", "reason", "code":
		default:
			delete(m, k)
		}
	}
	m["metadata"] = map[string]any{}
	if details != nil {
		m["details"] = details
	}
	if st, _ := m["status"].(string); st == "Success" {
		return // a deleted Secret's answer: no message needed
	}
	if reason == "" {
		reason = "Failure"
	}
	if code != nil {
		reason = fmt.Sprintf("%s (%v)", reason, code)
	}
	m["message"] = reason + ": the API server's message is withheld, as an answer about a Secret may quote its data"
}

// scrubTable removes the Data column of a Table of Secrets: the API
// server's printer puts the number of keys there
// (k8s.io/kubernetes/pkg/printers/internalversion: len(obj.Data)), and
// the objects it comes with are served without their data.
func scrubTable(t map[string]any) {
	defs, _ := t["columnDefinitions"].([]any)
	col := -1
	for i, d := range defs {
		if dm, ok := d.(map[string]any); ok {
			if name, _ := dm["name"].(string); strings.EqualFold(name, "Data") {
				col = i
			}
		}
	}
	if col < 0 {
		return
	}
	t["columnDefinitions"] = append(defs[:col:col], defs[col+1:]...)
	rows, _ := t["rows"].([]any)
	for _, r := range rows {
		rm, ok := r.(map[string]any)
		if !ok {
			continue
		}
		if cells, ok := rm["cells"].([]any); ok && col < len(cells) {
			rm["cells"] = append(cells[:col:col], cells[col+1:]...)
		}
	}
}

// secretAnswerHeaders are the headers of the API server's answer to a
// Secret request that are passed on: none that describes the body as the
// API server wrote it (Content-Length was the length of the unscrubbed
// Secret, which told a value's length, whether a key exists, and — an
// unchanged write adds no managedFields entry — whether a guess was
// right), no Warning (an admission webhook's text, which may quote the
// object), and none of spinops' own (AgentStatusHeader: only the agent
// sets it).
var secretAnswerHeaders = map[string]bool{
	"content-type": true, "date": true, "audit-id": true, "cache-control": true,
	"x-kubernetes-pf-flowschema-uid": true, "x-kubernetes-pf-prioritylevel-uid": true,
}

// SecretAnswerHeader reports whether a header of the API server's answer
// to a Secret request is passed on (secretAnswerHeaders).
func SecretAnswerHeader(name string) bool {
	return secretAnswerHeaders[strings.ToLower(name)]
}

// AgentStatusHeader marks an answer the agent wrote itself (a refusal, in
// words of its own): the bridge passes its Status message on. The agent
// never passes the API server's headers of that name.
const AgentStatusHeader = "Spinops-Agent-Status"

// ScrubAgentStatus scrubs a Secret answer the agent wrote itself (marked
// with AgentStatusHeader) as ScrubSecrets does, but keeps a Status's
// message: it is the agent's, not the API server's.
func ScrubAgentStatus(body []byte) ([]byte, error) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || dec.More() || m["kind"] != "Status" {
		return ScrubSecrets(body)
	}
	msg, _ := m["message"].(string)
	scrubStatus(m)
	m["message"] = msg
	return encodeLine(m)
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
