package bridge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/munnerz/goautoneg"
	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/spinops/terraform-provider-spinops/internal/bridge/cache"
)

// servedMediaTypes are the encodings the API server offers for a resource,
// in its order (k8s.io/apimachinery v0.37.2 pkg/runtime/serializer
// codec_factory.go newSerializersForScheme; CBOR is alpha and off by
// default, but a client asking for it is not given JSON by the cache).
// YAML has no stream serializer, so no watch.
var servedMediaTypes = []struct {
	typ, sub string
	stream   bool
}{{"application", "json", true}, {"application", "yaml", false}, {"application", "vnd.kubernetes.protobuf", true}, {"application", "cbor", true}}

// negotiatesJSON reports whether the API server would answer the request
// in plain JSON, the one encoding the cache writes: it negotiates as
// k8s.io/apiserver v0.37.2 pkg/endpoints/handlers/negotiation
// NegotiateMediaTypeOptions does (the first Accept header, its clauses
// ordered by goautoneg; the first clause and served type that match and
// whose parameters the endpoint allows wins; no Accept is JSON). Before
// it, kube-apiserver's resource routes are go-restful's, whose route
// filter answers 406 unless some clause, its parameters cut off, is
// exactly "*/*" or a served type (github.com/emicklei/go-restful/v3
// v3.13.0 route.go matchesAccept, jsr311.go): "application/*" alone is
// refused there, though the negotiation would take it as JSON. A
// wildcard-subtype clause is therefore never taken as JSON here (where the
// API server would answer JSON for it, the forwarded request gets that).
// TestCachedMediaTypesMatchTheAPIServer checks each case against the real
// kube-apiserver. False when another encoding wins (YAML, protobuf), when
// none does (the API server's 406) and when the winning clause asks for a
// conversion ("as", "g", "v", "sv", "export"): the API server renders
// those, so the request is forwarded.
func negotiatesJSON(r *http.Request) bool {
	header := r.Header.Get("Accept")
	if header == "" {
		return true
	}
	for _, clause := range goautoneg.ParseAccept(header) {
		for _, t := range servedMediaTypes {
			exact := clause.Type == t.typ && clause.SubType == t.sub
			if !exact && (clause.Type != "*" || clause.SubType != "*") {
				continue
			}
			if s := clause.Params["stream"]; s != "" && (!t.stream || s != "watch") {
				continue // this type cannot stream so; the API server tries the next
			}
			for _, p := range []string{"as", "g", "v", "sv", "export"} {
				if _, ok := clause.Params[p]; ok {
					return false
				}
			}
			return t.sub == "json"
		}
	}
	return false
}

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

// wantsTable reports whether the caller (kubectl get) asked for the
// server-side printing format.
func wantsTable(r *http.Request) bool { return alternateRepresentation(r) == "Table" }

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
