package agent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
)

// lastAppliedAnnotation is written by kubectl apply: for a Secret it holds
// the data, so it never leaves the agent.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// scrubSecretJSON removes the data of a Secret, a SecretList, a watch event
// of a Secret or a Table of Secrets. Anything that is not such JSON comes
// back unchanged.
func scrubSecretJSON(b []byte) []byte {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return b
	}
	if !scrubValue(m) {
		return b
	}
	out, err := json.Marshal(m)
	if err != nil {
		return []byte(`{}`)
	}
	return out
}

// scrubValue scrubs m in place; true when it changed something.
func scrubValue(m map[string]any) bool {
	changed := false
	if kind, _ := m["kind"].(string); kind == "Secret" {
		for _, f := range []string{"data", "stringData"} {
			if _, ok := m[f]; ok {
				delete(m, f)
				changed = true
			}
		}
		if md, ok := m["metadata"].(map[string]any); ok {
			if ann, ok := md["annotations"].(map[string]any); ok {
				if _, ok := ann[lastAppliedAnnotation]; ok {
					delete(ann, lastAppliedAnnotation)
					changed = true
				}
			}
		}
	}
	for _, f := range []string{"items", "rows"} {
		if items, ok := m[f].([]any); ok {
			for _, it := range items {
				if im, ok := it.(map[string]any); ok {
					changed = scrubValue(im) || changed
				}
			}
		}
	}
	for _, f := range []string{"object"} { // watch events, table rows
		if om, ok := m[f].(map[string]any); ok {
			changed = scrubValue(om) || changed
		}
	}
	return changed
}

// scrubLines copies a stream of JSON lines (a watch) from r to w, scrubbing
// each line.
func scrubLines(r io.Reader, w func([]byte) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			trimmed := bytes.TrimRight(line, "\n")
			out := append(scrubSecretJSON(trimmed), '\n')
			if werr := w(out); werr != nil {
				return werr
			}
		}
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }
