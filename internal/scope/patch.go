package scope

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	sigsyaml "sigs.k8s.io/yaml"
)

// JSONPatchType is the media type of a JSON Patch (RFC 6902).
const JSONPatchType = "application/json-patch+json"

// secretHidden are the parts of a Secret the scrubber removes from every
// answer, as JSON Pointer tokens: the data, what names its keys
// (managedFields) and what repeats it (the last-applied annotation).
var secretHidden = [][]string{
	{"data"},
	{"stringData"},
	{"metadata", "managedFields"},
	{"metadata", "annotations", LastApplied},
}

// jsonPatchOps are the operations of RFC 6902, spelled as the API server's
// JSON Patch (gopkg.in/evanphx/json-patch.v4) matches them: exactly.
var jsonPatchOps = map[string]bool{"add": true, "remove": true, "replace": true, "move": true, "copy": true, "test": true}

// pointerDecoder undoes RFC 6901's escapes in one pass, as the API
// server's JSON Patch does.
var pointerDecoder = strings.NewReplacer("~1", "/", "~0", "~")

// CheckSecretRequest judges a PATCH or PUT of a Secret: the body's size
// (checkSecretWriteSize), a JSON Patch that reads what the scrubber hides
// or whose outcome tells key names (CheckSecretPatch), a server-side apply
// that does not force conflicts (CheckSecretApply), strategic merge
// directives in the hidden parts (CheckSecretMergeDirectives) and a write
// that may set immutable (CheckSecretSetsImmutable). Every Content-Type
// value is judged (none is judged as ""): the API server reads the first,
// a proxy may reorder them.
func CheckSecretRequest(req Request, q url.Values, contentTypes []string, body []byte) error {
	if !req.IsSecret() || (req.Verb != "patch" && req.Verb != "update") {
		return nil
	}
	if len(contentTypes) == 0 {
		// The API server reads a body without a Content-Type as JSON
		// (a PUT) or refuses it (a PATCH): judged as having none.
		contentTypes = []string{""}
	}
	for _, ct := range contentTypes {
		if err := checkSecretWriteSize(ct, body); err != nil {
			return err
		}
		if req.Verb == "patch" {
			if err := CheckSecretPatch(ct, body); err != nil {
				return err
			}
			if err := CheckSecretApply(ct, q); err != nil {
				return err
			}
			if err := CheckSecretMergeDirectives(ct, body); err != nil {
				return err
			}
		}
		if err := CheckSecretSetsImmutable(ct, body); err != nil {
			return err
		}
	}
	return nil
}

// MetadataOnlyWrite reports whether a write provably changes nothing of a
// Secret but its metadata: a merge or strategic merge patch whose only
// top-level keys are metadata, apiVersion and kind (no directive), or a
// JSON Patch each of whose operations reads and writes under /metadata.
// Such a write applies to an immutable Secret whatever its data (the API
// server's immutability check compares data, type and immutable only), so
// it tells nothing of them. A PUT, a server-side apply (it may remove
// fields the manager owned) and anything else are not.
func MetadataOnlyWrite(verb, contentType string, body []byte) bool {
	if verb != "patch" {
		return false
	}
	switch mediaType(contentType) {
	case JSONPatchType:
		ops, err := decodeJSONPatch(body)
		if err != nil {
			return false
		}
		for _, op := range ops {
			if !inMetadata(op.path) || (op.kind == "copy" || op.kind == "move") && !inMetadata(op.from) {
				return false
			}
		}
		return true
	case "application/merge-patch+json", "application/strategic-merge-patch+json":
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(body, &doc); err != nil {
			return false
		}
		for k := range doc {
			switch k {
			case "metadata", "apiVersion", "kind":
			default:
				return false
			}
		}
		return true
	}
	return false
}

// underMetadata reports whether a JSON Pointer lies strictly inside the
// metadata of the document, as the API server's JSON Patch splits it (on
// every "/", no "." or ".." segments); inMetadata, or is the metadata.
func underMetadata(ptr string) bool { return strings.HasPrefix(ptr, "/metadata/") }

func inMetadata(ptr string) bool { return ptr == "/metadata" || underMetadata(ptr) }

// MaxSecretWrite bounds the body of a PATCH or PUT of a Secret, YAML as
// the API server expands it (anchors and aliases repeat bytes). The API
// server refuses a Secret whose data exceed 1 MiB, so a write that adds V
// bytes applies exactly when the data held are at most 1 MiB − V: a
// binary search on V with ?dryRun=All tells their size, and a key of that
// size tells whether it exists. Bounded so (and with JSON Patch copies
// refused), one request can measure only a Secret with more than 1 MiB −
// MaxSecretWrite of data. Writes stored one after another can still fill
// a Secret up to the limit and measure it: they change it meanwhile.
const MaxSecretWrite = 512 << 10

// checkSecretWriteSize refuses a PATCH or PUT of a Secret over
// MaxSecretWrite, its YAML measured as the API server expands it.
func checkSecretWriteSize(contentType string, body []byte) error {
	n := len(body)
	if strings.Contains(mediaType(contentType), "yaml") && n <= MaxSecretWrite {
		// sigs.k8s.io/yaml, as the API server's YAML decoding reads it:
		// a body that begins like JSON is YAML too (a flow mapping with
		// anchors and aliases), which util/yaml.ToJSON would pass as is.
		doc, err := sigsyaml.YAMLToJSON(body)
		if err != nil {
			return denied("a write of a Secret whose YAML body does not parse is not sent on")
		}
		n = len(doc)
	}
	if n > MaxSecretWrite {
		return denied("a PATCH or PUT of a Secret is limited to %d bytes (this one has %d, YAML measured as the API server expands it): the API server refuses a Secret whose data exceed 1 MiB, so a larger write of an existing Secret tells the size of its data and whether a key exists. "+
			"Create the Secret anew (a create is not limited), or write it from outside Spinnaker", MaxSecretWrite, n)
	}
	return nil
}

// CheckSecretMergeDirectives refuses a strategic merge patch of a Secret
// with a directive ($-prefixed key) inside data, stringData,
// metadata.annotations or metadata.managedFields, or one that names one of
// them ($setElementOrder/data, $deleteFromPrimitiveList/managedFields, …).
// The API server applies such directives to what is there: with
// {"data":{"$deleteFromPrimitiveList/<guess>":"x"}} it skips a key that is
// missing (200) and writes "x", which is no base64, over one that exists
// (422), so the answer tells the key names. kubectl's patches of a Secret
// never hold them.
func CheckSecretMergeDirectives(contentType string, body []byte) error {
	if !strings.Contains(mediaType(contentType), "strategic-merge-patch") {
		return nil
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return denied("a strategic merge patch of a Secret must be a JSON object: the body does not parse as one, so it is not sent on")
	}
	refuse := func(key string) error {
		return denied("a strategic merge patch of a Secret may not hold the directive %q: applied to data, stringData, the annotations or managedFields it answers by what is there, which tells key names the bridge never serves", key)
	}
	names := func(key string) bool {
		_, field, ok := strings.Cut(key, "/")
		return ok && slices.ContainsFunc([]string{"data", "stringData", "annotations", "managedFields"}, func(h string) bool { return strings.EqualFold(field, h) })
	}
	var anyDirective func(v any) string
	anyDirective = func(v any) string {
		switch t := v.(type) {
		case map[string]any:
			for k, val := range t {
				if strings.HasPrefix(k, "$") {
					return k
				}
				if d := anyDirective(val); d != "" {
					return d
				}
			}
		case []any:
			for _, e := range t {
				if d := anyDirective(e); d != "" {
					return d
				}
			}
		}
		return ""
	}
	// directive returns the first directive of one level of the patch: a
	// key naming a guarded field, or any directive inside one of the
	// fields guarded at that level.
	directive := func(m map[string]any, guarded ...string) string {
		for k, v := range m {
			if strings.HasPrefix(k, "$") && names(k) {
				return k
			}
			if slices.ContainsFunc(guarded, func(g string) bool { return strings.EqualFold(k, g) }) {
				if d := anyDirective(v); d != "" {
					return d
				}
			}
		}
		return ""
	}
	if d := directive(doc, "data", "stringData"); d != "" {
		return refuse(d)
	}
	for k, v := range doc {
		if md, ok := v.(map[string]any); ok && strings.EqualFold(k, "metadata") {
			if d := directive(md, "annotations", "managedFields"); d != "" {
				return refuse(d)
			}
		}
	}
	return nil
}

// CheckSecretSetsImmutable refuses a write of an existing Secret (a PATCH
// of any type, a PUT) that may set its immutable field. The API server
// refuses a write that changes an immutable Secret's data (422, "field is
// immutable when `immutable` is set") and applies one that leaves it
// equal, so any write to an immutable Secret answers whether a guess
// equals its data; the agent refuses writes to one
// (agent: refuseImmutableSecretWrite), and this keeps a caller from making
// a Secret immutable through the bridge first. The body is read as the
// API server reads it (JSON; YAML through
// sigs.k8s.io/yaml.YAMLToJSON, which its apply and YAML decoding use); one that is neither, or does not parse, is refused, as
// the bridge cannot tell what it sets. Keys are compared in any letter
// case.
func CheckSecretSetsImmutable(contentType string, body []byte) error {
	mt := mediaType(contentType)
	refuse := func(how string) error {
		return denied("a write of a Secret may not set immutable (%s): the API server answers a write to an immutable Secret by whether it changes the data, which tells the data the bridge never serves; create an immutable Secret whole instead", how)
	}
	if isJSONPatch(mt) {
		ops, err := decodeJSONPatch(body)
		if err != nil {
			return err
		}
		for i, op := range ops {
			kind, path := op.kind, op.path
			tokens := pointerTokens(path)
			switch kind {
			case "add", "replace", "copy", "move":
			default:
				continue
			}
			switch {
			case len(tokens) > 0 && strings.EqualFold(tokens[0], "immutable") && (kind == "copy" || kind == "move" || len(tokens) > 1 || !falseOrNull(op.value)):
				return refuse(fmt.Sprintf("operation %d writes %q", i, path))
			case len(tokens) == 0 && (kind == "copy" || kind == "move"):
				return refuse(fmt.Sprintf("operation %d puts a value in place of the whole Secret", i))
			case len(tokens) == 0:
				if setsImmutableKey(op.value) != "" {
					return refuse(fmt.Sprintf("operation %d writes the whole Secret with an immutable field, or with a value that is not an object", i))
				}
			}
		}
		return nil
	}
	var doc []byte
	switch {
	case strings.Contains(mt, "json"):
		doc = body
	case strings.Contains(mt, "yaml"):
		var err error
		if doc, err = sigsyaml.YAMLToJSON(body); err != nil {
			return denied("a write of a Secret whose YAML body does not parse is not sent on")
		}
	default:
		return denied("a write of a Secret must have a JSON or YAML body (Content-Type %q), which the bridge reads to tell whether it sets immutable", contentType)
	}
	switch key := setsImmutableKey(doc); key {
	case "":
		return nil
	case "\x00":
		return denied("a write of a Secret must be a JSON or YAML object: the body does not parse as one, so it is not sent on")
	default:
		return refuse(fmt.Sprintf("the body sets %q", key))
	}
}

// setsImmutableKey returns the key of a JSON object that names immutable
// in any letter case with a value other than false or null, "" when there
// is none (or raw is JSON null, as an absent JSON Patch value), and "\x00"
// when raw is not a JSON object.
func setsImmutableKey(raw json.RawMessage) string {
	if t := bytes.TrimSpace(raw); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return ""
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "\x00"
	}
	for k, v := range obj {
		if strings.EqualFold(k, "immutable") && !falseOrNull(v) {
			return k
		}
	}
	return ""
}

// falseOrNull: a JSON value that leaves a Secret mutable.
func falseOrNull(v json.RawMessage) bool {
	t := bytes.TrimSpace(v)
	return bytes.Equal(t, []byte("false")) || bytes.Equal(t, []byte("null"))
}

// CheckSecretApply refuses a server-side apply of a Secret that does not
// force conflicts. Without force the API server refuses an apply whose
// value for a field another manager owns differs from the stored one
// ("conflict with "creator" using v1: .data.password") and applies it when
// it is the same — with ?dryRun=All, at no cost — so it answers whether a
// guess equals a value, as a JSON Patch test would, and names the keys.
// With force=true it applies either way. force is read as the API server
// reads it (k8s.io/apimachinery's Convert_Slice_string_To_Pointer_bool:
// absent, "0" or "false" in any letter case is false, anything else true);
// every value given must be true, since the API server reads only the
// first.
func CheckSecretApply(contentType string, q url.Values) error {
	if !strings.Contains(mediaType(contentType), "apply-patch") {
		return nil
	}
	vals := q["force"]
	forced := len(vals) > 0
	for _, v := range vals {
		if v == "0" || strings.EqualFold(v, "false") {
			forced = false
		}
	}
	if forced {
		return nil
	}
	return denied("a server-side apply of a Secret must force conflicts (force=true: kubectl apply --server-side --force-conflicts; in Spinnaker, the annotation strategy.spinnaker.io/server-side-apply: force-conflicts). " +
		"Without it the API server answers a conflict exactly when an applied value differs from the stored one, which tells values and key names the bridge never serves")
}

// CheckSecretPatch decides a PATCH body sent for a Secret. A JSON Patch
// can read the object it changes: copy and move take a value from one
// place (from) and put it where the answer, an error message or another
// field (an annotation every reader is served) shows it, and test answers
// whether a value equals a guess. So a JSON Patch on a Secret may not copy
// or move from, nor test, the whole document, the data, stringData,
// metadata.managedFields or the last-applied annotation, nor anything that
// holds or lies under them; nor write (add, remove, replace, or copy and
// move to) inside those parts, but for an add or replace of one key of
// data or stringData, since whether such a write applies tells the key names
// (checkHiddenWrite). A body that is not a JSON array of operations
// as RFC 6902 writes them (a string op, string from and path pointers) is
// refused too: what is not parsed here is not sent on. Other patch types
// (merge, strategic merge, apply) set values whether or not a key exists,
// and pass. The error
// names the operation and pointer, never a value.
func CheckSecretPatch(contentType string, body []byte) error {
	if !isJSONPatch(contentType) {
		return nil
	}
	ops, err := decodeJSONPatch(body)
	if err != nil {
		return err
	}
	for i, op := range ops {
		switch op.kind {
		case "copy", "move":
			if hidesUnder(op.from) {
				return denied("a JSON Patch on a Secret may not %s from %q: operation %d would read a value the bridge never serves (the document, data, stringData, managedFields or the last-applied annotation)", op.kind, op.from, i)
			}
			if op.kind == "copy" {
				// A copy repeats bytes the body does not carry (the API
				// server allows 3 MiB of them): it could fill the data to
				// the API server's 1 MiB limit from a body under
				// MaxSecretWrite and measure what the Secret holds.
				return denied("a JSON Patch on a Secret may not copy (operation %d): a copy repeats bytes the body does not carry, so it could fill the Secret's data up to the API server's limit and measure what it holds; write the value with add", i)
			}
			// A move brings in bytes stored before (labels without number,
			// written without touching the data): only within metadata.
			if !underMetadata(op.from) || !underMetadata(op.path) {
				return denied("a JSON Patch on a Secret may move only within metadata (operation %d moves %q to %q): a move brings in bytes the body does not carry, so it could fill the Secret's data up to the API server's limit and measure what it holds; write the value with add", i, op.from, op.path)
			}
			// The value goes to path as an add does.
			if err := checkHiddenWrite(op.kind, op.path, true, i); err != nil {
				return err
			}
		case "add", "replace":
			// The API server's replace of a key an object lacks adds it
			// (json-patch.v4's partialDoc.get answers nil, no error).
			if err := checkHiddenWrite(op.kind, op.path, true, i); err != nil {
				return err
			}
		case "remove":
			if err := checkHiddenWrite(op.kind, op.path, false, i); err != nil {
				return err
			}
		case "test":
			if hidesUnder(op.path) {
				return denied("a JSON Patch on a Secret may not test %q: operation %d would compare a value the bridge never serves (the document, data, stringData, managedFields or the last-applied annotation) with a guess", op.path, i)
			}
		}
	}
	return nil
}

// checkHiddenWrite refuses a write whose outcome depends on what the
// scrubber hides. The API server applies a JSON Patch only if its path
// exists (remove; and every container on the way for each operation), so
// success or its 422 — with ?dryRun=All, at no cost — tells whether a key
// exists: remove /data/<guess>, or add under
// /metadata/managedFields/0/fieldsV1/f:data/f:<guess>, names the Secret's
// keys, which the bridge never serves (managedFields are scrubbed because
// they name them). A write to a hidden part as a whole passes (it tells
// only whether the part exists), and so does an add or replace of one key
// straight under data or stringData (it sets the key whether or not it
// exists). setsKey: the operation sets a key of an object whether or not
// it is there (add, replace, and where copy and move put a value).
func checkHiddenWrite(kind, ptr string, setsKey bool, i int) error {
	tokens := pointerTokens(ptr)
	for _, h := range secretHidden {
		if len(tokens) <= len(h) || !prefixFold(tokens, h) {
			continue
		}
		if len(tokens) == len(h)+1 && len(h) == 1 && strings.Count(ptr, "/") == 2 {
			if setsKey {
				return nil // add /data/<key>, /stringData/<key>
			}
			return denied("a JSON Patch on a Secret may not %s %q: operation %d succeeds or fails by whether a key the bridge never serves exists. "+
				"Set a key with add or replace, remove one with a merge patch ({\"%s\":{\"<key>\":null}}), or write the whole of %s", kind, ptr, i, h[0], h[0])
		}
		return denied("a JSON Patch on a Secret may not %s %q: operation %d reaches inside a part the bridge never serves (data, stringData, managedFields or the last-applied annotation), "+
			"and whether it applies tells what is there; write the whole part, or one key of data or stringData with add", kind, ptr, i)
	}
	return nil
}

// mediaType is a Content-Type's media type as the checks compare it: the
// part before ';', trimmed and in lower case. The API server matches it
// exactly; the checks judge any media type that names a patch type (or
// json, yaml) in any letter case or spacing.
func mediaType(contentType string) string {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// isJSONPatch reports whether a Content-Type may be read as a JSON Patch.
func isJSONPatch(contentType string) bool {
	return strings.Contains(mediaType(contentType), "json-patch")
}

// patchOp is one JSON Patch operation; value is the raw "value" member
// (nil when absent).
type patchOp struct {
	kind, from, path string
	value            json.RawMessage
}

// decodeJSONPatch reads a JSON Patch body as the API server does: a JSON
// array of operations, each read by decodePatchOp. Its errors are the
// refusals CheckSecretPatch gives.
func decodeJSONPatch(body []byte) ([]patchOp, error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '[' {
		return nil, denied("a JSON Patch on a Secret must be a JSON array of operations: the body is not a JSON array, so it is not sent on")
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, denied("a JSON Patch on a Secret must be a JSON array of operations: the body does not parse (%s), so it is not sent on", jsonErrorKind(err))
	}
	ops := make([]patchOp, len(raws))
	for i, raw := range raws {
		op, err := decodePatchOp(raw)
		if err != nil {
			return nil, denied("a JSON Patch on a Secret: operation %d %v, so the patch is not sent on", i, err)
		}
		ops[i] = op
	}
	return ops, nil
}

// decodePatchOp reads one operation as the API server does (a JSON object
// read into a map: keys matched exactly, the values JSON strings) and
// refuses what it could read otherwise: a key repeated, or spelled in
// another letter case than RFC 6902's.
func decodePatchOp(raw json.RawMessage) (patchOp, error) {
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return patchOp{}, fmt.Errorf("is not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // {
		return patchOp{}, fmt.Errorf("does not parse")
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return patchOp{}, fmt.Errorf("does not parse")
		}
		key, _ := t.(string)
		lower := strings.ToLower(key)
		switch lower {
		case "op", "from", "path", "value":
			if key != lower {
				return patchOp{}, fmt.Errorf("spells %q in another letter case than RFC 6902", lower)
			}
		}
		if seen[lower] {
			return patchOp{}, fmt.Errorf("repeats the key %q", key)
		}
		seen[lower] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return patchOp{}, fmt.Errorf("does not parse")
		}
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return patchOp{}, fmt.Errorf("does not parse")
	}
	var op patchOp
	str := func(key string, dst *string) error {
		v, ok := m[key]
		if !ok {
			return fmt.Errorf("has no %q", key)
		}
		if err := json.Unmarshal(v, dst); err != nil || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			return fmt.Errorf("has a %q that is not a string", key)
		}
		return nil
	}
	if err := str("op", &op.kind); err != nil {
		return op, err
	}
	if !jsonPatchOps[op.kind] {
		return op, fmt.Errorf("has an op that is not one of add, remove, replace, move, copy, test")
	}
	if err := str("path", &op.path); err != nil {
		return op, err
	}
	if !isPointer(op.path) {
		return op, fmt.Errorf("has a path that is not a JSON Pointer (empty, or beginning with /)")
	}
	// RFC 6902 requires a value of add, replace and test; the API server's
	// JSON Patch panics on a replace of the document without one.
	op.value = m["value"]
	if op.value == nil && (op.kind == "add" || op.kind == "replace" || op.kind == "test") {
		return op, fmt.Errorf("has no %q (RFC 6902 requires one for %s)", "value", op.kind)
	}
	if op.kind == "copy" || op.kind == "move" {
		if err := str("from", &op.from); err != nil {
			return op, err
		}
		if !isPointer(op.from) {
			return op, fmt.Errorf("has a from that is not a JSON Pointer (empty, or beginning with /)")
		}
	}
	return op, nil
}

// isPointer: an RFC 6901 pointer is empty (the document) or begins with /.
func isPointer(p string) bool { return p == "" || strings.HasPrefix(p, "/") }

// hidesUnder reports whether a pointer reaches what the scrubber hides:
// the whole document, a hidden part, something inside one or something
// holding one. Tokens are unescaped (~1, ~0), compared in any letter case
// (as the scrubber does) and empty ones skipped, so "/" and "//data" are
// read as the document and /data whatever a JSON Patch implementation
// makes of them.
func hidesUnder(ptr string) bool {
	tokens := pointerTokens(ptr)
	for _, h := range secretHidden {
		if prefixFold(tokens, h) {
			return true
		}
	}
	return false
}

// pointerTokens splits a JSON Pointer into its unescaped tokens (~1, ~0),
// skipping empty ones, as hidesUnder reads them.
func pointerTokens(ptr string) []string {
	var tokens []string
	for _, t := range strings.Split(ptr, "/")[1:] {
		if t = pointerDecoder.Replace(t); t != "" {
			tokens = append(tokens, t)
		}
	}
	return tokens
}

// prefixFold reports whether a and b agree, in any letter case, as far as
// the shorter goes.
func prefixFold(a, b []string) bool {
	for i := range min(len(a), len(b)) {
		if !strings.EqualFold(a[i], b[i]) {
			return false
		}
	}
	return true
}

// jsonErrorKind describes a JSON error without the input it quotes.
func jsonErrorKind(err error) string {
	switch err.(type) {
	case *json.SyntaxError:
		return "a syntax error"
	case *json.UnmarshalTypeError:
		return "not an array"
	}
	return "invalid JSON"
}
