package bridge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/spinops/terraform-provider-spinops/internal/bridge/cache"
)

// wantsTable reports whether the caller (kubectl get) asked for the
// server-side printing format.
// alternateRepresentation is the representation the Accept header asks
// for instead of the objects themselves ("Table", "PartialObjectMetadata",
// "PartialObjectMetadataList"), or "" (k8s.io/apiserver v0.37.2,
// pkg/endpoints/handlers/negotiation: the "as" media type parameter).
func alternateRepresentation(r *http.Request) string {
	for _, a := range r.Header.Values("Accept") {
		for _, mt := range strings.Split(a, ",") {
			for _, p := range strings.Split(mt, ";") {
				if v, ok := strings.CutPrefix(strings.TrimSpace(p), "as="); ok {
					return v
				}
			}
		}
	}
	return ""
}

func wantsTable(r *http.Request) bool {
	for _, a := range r.Header.Values("Accept") {
		if strings.Contains(a, "as=Table") {
			return true
		}
	}
	return false
}

// writeTable writes a meta.k8s.io/v1 Table with the columns every kind has
// (Name, Age), as the API server does for kinds without printer columns.
func writeTable(w http.ResponseWriter, k *cache.Kind, items []*cache.Object, rv string) {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, `{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{"resourceVersion":%q},`, rv)
	buf.WriteString(`"columnDefinitions":[{"name":"Name","type":"string","format":"name","description":"Name must be unique within a namespace.","priority":0},{"name":"Age","type":"string","format":"","description":"CreationTimestamp is a timestamp representing the server time when this object was created.","priority":0}],"rows":[`)
	now := time.Now()
	for i, o := range items {
		var m struct {
			Metadata json.RawMessage `json:"metadata"`
		}
		_ = json.Unmarshal(o.Raw, &m)
		var meta struct {
			CreationTimestamp time.Time `json:"creationTimestamp"`
		}
		_ = json.Unmarshal(m.Metadata, &meta)
		age := "<unknown>"
		if !meta.CreationTimestamp.IsZero() {
			age = duration.HumanDuration(now.Sub(meta.CreationTimestamp))
		}
		if len(m.Metadata) == 0 {
			m.Metadata = json.RawMessage(`{}`)
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		cells, _ := json.Marshal([]string{o.Name, age})
		fmt.Fprintf(&buf, `{"cells":%s,"object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":%s}}`, cells, m.Metadata)
	}
	buf.WriteString("]}")
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(buf.Bytes())
}
