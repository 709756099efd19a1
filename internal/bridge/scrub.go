package bridge

import (
	"bytes"
	"encoding/json"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

func isSecret(gvr schema.GroupVersionResource) bool {
	return gvr.Group == "" && gvr.Resource == "secrets"
}

// lastApplied is the annotation kubectl apply writes: for a Secret it holds
// the data.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// scrubSecret removes data, stringData and the last-applied annotation from
// a Secret's JSON. Agents watch Secrets metadata-only, so this is a second
// line of defence: whatever an agent sends, the cache holds no secret data.
func scrubSecret(raw []byte) []byte {
	if !bytes.Contains(raw, []byte(`"data"`)) && !bytes.Contains(raw, []byte(`"stringData"`)) && !bytes.Contains(raw, []byte(lastApplied)) {
		return raw
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return []byte(`{}`)
	}
	delete(m, "data")
	delete(m, "stringData")
	if md, ok := m["metadata"].(map[string]any); ok {
		if ann, ok := md["annotations"].(map[string]any); ok {
			delete(ann, lastApplied)
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		return []byte(`{}`)
	}
	return out
}
