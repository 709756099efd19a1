package aws

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// IAM policy documents, the way spinops writes and compares them.
//
// Canonical form (CanonicalPolicy): compact JSON with object keys sorted,
// "Statement" always an array, and every list-valued element (Action,
// NotAction, Resource, NotResource, each Principal type's values, each
// condition key's values) always an array, sorted and without duplicates.
// The only scalar kept is the wildcard principal "Principal": "*". Statement
// order is kept as written: the documents spinops builds list their
// statements in a fixed order, so the same input always gives the same bytes
// and plans do not flap.
//
// Equivalence (PoliciesEquivalent) is looser: statement order and the case
// of action names do not matter, and "Principal": "*" equals
// {"AWS": "*"}. IAM returns documents URL-encoded and may reformat them;
// moto may reorder them; neither is drift.

// PolicyVersion is the policy language version every document spinops
// writes declares.
const PolicyVersion = "2012-10-17"

// listElements are the statement elements whose value is a list of strings
// (or a single string, which means a list of one).
var listElements = []string{"Action", "NotAction", "Resource", "NotResource"}

// DecodePolicyDocument turns a document as IAM returns it (URL-encoded
// JSON) into JSON. A document that already is JSON is returned unchanged.
func DecodePolicyDocument(doc string) (string, error) {
	if strings.HasPrefix(strings.TrimSpace(doc), "{") {
		return doc, nil
	}
	s, err := url.QueryUnescape(doc)
	if err != nil {
		return "", fmt.Errorf("decoding policy document: %w", err)
	}
	return s, nil
}

// CanonicalPolicy returns doc in canonical form (see the package comment
// above). It fails when doc is not a JSON object.
func CanonicalPolicy(doc string) (string, error) {
	v, err := parsePolicy(doc)
	if err != nil {
		return "", err
	}
	return marshalCanonical(v)
}

// PoliciesEquivalent reports whether two documents grant the same thing in
// the sense described above. Documents that do not parse are equivalent
// only when byte-identical.
func PoliciesEquivalent(a, b string) bool {
	if a == b {
		return true
	}
	ka, errA := policyKey(a)
	kb, errB := policyKey(b)
	if errA != nil || errB != nil {
		return false
	}
	return ka == kb
}

// policyKey is the canonical form with statements sorted, action names
// lowercased and the bare wildcard principal expanded.
func policyKey(doc string) (string, error) {
	v, err := parsePolicy(doc)
	if err != nil {
		return "", err
	}
	stmts, _ := v["Statement"].([]any)
	keys := make([]string, 0, len(stmts))
	for _, s := range stmts {
		m, ok := s.(map[string]any)
		if !ok {
			return "", errors.New("policy statement is not an object")
		}
		for _, k := range []string{"Action", "NotAction"} {
			if acts, ok := m[k].([]any); ok {
				for i, a := range acts {
					if s, ok := a.(string); ok {
						acts[i] = strings.ToLower(s)
					}
				}
				m[k] = sortedUnique(acts)
			}
		}
		for _, k := range []string{"Principal", "NotPrincipal"} {
			if p, ok := m[k].(string); ok && p == "*" {
				m[k] = map[string]any{"AWS": []any{"*"}}
			}
		}
		b, err := marshalCompact(m)
		if err != nil {
			return "", err
		}
		keys = append(keys, b)
	}
	sort.Strings(keys)
	v["Statement"] = keys
	return marshalCompact(v)
}

// parsePolicy decodes doc (JSON or URL-encoded JSON) and normalises it in
// place to canonical shape.
func parsePolicy(doc string) (map[string]any, error) {
	doc, err := DecodePolicyDocument(doc)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("policy document is not a JSON object: %w", err)
	}
	if v == nil {
		return nil, errors.New("policy document is not a JSON object: null")
	}
	if dec.More() {
		return nil, errors.New("policy document has trailing data after the JSON object")
	}
	if st, ok := v["Statement"]; ok {
		var stmts []any
		switch st := st.(type) {
		case []any:
			stmts = st
		default:
			stmts = []any{st}
		}
		for _, s := range stmts {
			if m, ok := s.(map[string]any); ok {
				canonicalStatement(m)
			}
		}
		v["Statement"] = stmts
	}
	return v, nil
}

func canonicalStatement(s map[string]any) {
	for _, k := range listElements {
		if x, ok := s[k]; ok {
			s[k] = sortedUnique(asList(x))
		}
	}
	for _, k := range []string{"Principal", "NotPrincipal"} {
		if m, ok := s[k].(map[string]any); ok {
			for typ, vals := range m {
				m[typ] = sortedUnique(asList(vals))
			}
		}
	}
	if c, ok := s["Condition"].(map[string]any); ok {
		for _, kv := range c {
			if m, ok := kv.(map[string]any); ok {
				for k, vals := range m {
					m[k] = sortedUnique(asList(vals))
				}
			}
		}
	}
}

func asList(x any) []any {
	if l, ok := x.([]any); ok {
		return l
	}
	return []any{x}
}

// sortedUnique sorts values by their JSON text and drops duplicates.
func sortedUnique(vals []any) []any {
	type kv struct {
		key string
		v   any
	}
	all := make([]kv, 0, len(vals))
	for _, v := range vals {
		b, err := marshalCompact(v)
		if err != nil {
			b = fmt.Sprint(v)
		}
		all = append(all, kv{b, v})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].key < all[j].key })
	out := make([]any, 0, len(all))
	for i, e := range all {
		if i > 0 && e.key == all[i-1].key {
			continue
		}
		out = append(out, e.v)
	}
	return out
}

// marshalCanonical encodes v compactly with sorted keys and without HTML
// escaping (so "<", ">" and "&" in conditions stay readable).
func marshalCanonical(v map[string]any) (string, error) {
	return marshalCompact(v)
}

func marshalCompact(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", fmt.Errorf("encoding policy document: %w", err)
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// Statement is one policy statement as spinops builds it. Empty fields are
// left out of the document.
type Statement struct {
	Sid       string
	Effect    string
	Principal map[string][]string
	Action    []string
	Resource  []string
	// Condition maps operator → condition key → values.
	Condition map[string]map[string][]string
}

// PolicyDocument builds a canonical document from statements, in the given
// order.
func PolicyDocument(stmts ...Statement) string {
	list := make([]any, 0, len(stmts))
	for _, s := range stmts {
		m := map[string]any{"Effect": s.Effect}
		if s.Effect == "" {
			m["Effect"] = "Allow"
		}
		if s.Sid != "" {
			m["Sid"] = s.Sid
		}
		if len(s.Principal) > 0 {
			p := map[string]any{}
			for typ, vals := range s.Principal {
				p[typ] = strings2any(vals)
			}
			m["Principal"] = p
		}
		if len(s.Action) > 0 {
			m["Action"] = strings2any(s.Action)
		}
		if len(s.Resource) > 0 {
			m["Resource"] = strings2any(s.Resource)
		}
		if len(s.Condition) > 0 {
			c := map[string]any{}
			for op, kv := range s.Condition {
				ck := map[string]any{}
				for k, vals := range kv {
					ck[k] = strings2any(vals)
				}
				c[op] = ck
			}
			m["Condition"] = c
		}
		canonicalStatement(m)
		list = append(list, m)
	}
	out, err := marshalCanonical(map[string]any{"Version": PolicyVersion, "Statement": list})
	if err != nil {
		// Only strings, maps and slices go in: encoding cannot fail.
		panic(err)
	}
	return out
}

func strings2any(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// ValidateIdentityPolicy checks that doc is an identity-based policy IAM
// would accept as an inline role policy: a JSON object with a supported
// Version and at least one statement, each with an Effect of Allow or Deny,
// exactly one of Action/NotAction and of Resource/NotResource, and no
// Principal. The error says what is wrong and where.
func ValidateIdentityPolicy(doc string) error {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil || v == nil {
		if err == nil {
			err = errors.New("null")
		}
		return fmt.Errorf("not a JSON object: %w", err)
	}
	if dec.More() {
		return errors.New("trailing data after the JSON object")
	}
	for k := range v {
		switch k {
		case "Version", "Id", "Statement":
		default:
			return fmt.Errorf("unknown top-level element %q (allowed: Version, Id, Statement)", k)
		}
	}
	switch ver := v["Version"].(type) {
	case string:
		if ver != "2012-10-17" && ver != "2008-10-17" {
			return fmt.Errorf(`"Version" is %q: use "2012-10-17"`, ver)
		}
	case nil:
		return errors.New(`"Version" is missing: add "Version": "2012-10-17"`)
	default:
		return errors.New(`"Version" must be a string: use "2012-10-17"`)
	}
	var stmts []any
	switch st := v["Statement"].(type) {
	case []any:
		stmts = st
	case map[string]any:
		stmts = []any{st}
	case nil:
		return errors.New(`"Statement" is missing`)
	default:
		return errors.New(`"Statement" must be an object or an array of objects`)
	}
	if len(stmts) == 0 {
		return errors.New(`"Statement" is empty`)
	}
	sids := map[string]bool{}
	for i, s := range stmts {
		m, ok := s.(map[string]any)
		if !ok {
			return fmt.Errorf("statement %d is not an object", i)
		}
		if err := validateIdentityStatement(m); err != nil {
			return fmt.Errorf("statement %d: %w", i, err)
		}
		if sid, _ := m["Sid"].(string); sid != "" {
			if sids[sid] {
				return fmt.Errorf("statement %d: Sid %q is used twice", i, sid)
			}
			sids[sid] = true
		}
	}
	return nil
}

func validateIdentityStatement(m map[string]any) error {
	for k := range m {
		switch k {
		case "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition":
		case "Principal", "NotPrincipal":
			return fmt.Errorf("%q is not allowed in an identity-based policy (a role's own permissions)", k)
		default:
			return fmt.Errorf("unknown element %q", k)
		}
	}
	if sid, ok := m["Sid"]; ok {
		if _, isStr := sid.(string); !isStr {
			return errors.New(`"Sid" must be a string`)
		}
	}
	if e, _ := m["Effect"].(string); e != "Allow" && e != "Deny" {
		return errors.New(`"Effect" must be "Allow" or "Deny"`)
	}
	if err := exactlyOneStringList(m, "Action", "NotAction"); err != nil {
		return err
	}
	if err := exactlyOneStringList(m, "Resource", "NotResource"); err != nil {
		return err
	}
	if c, ok := m["Condition"]; ok {
		cm, ok := c.(map[string]any)
		if !ok {
			return errors.New(`"Condition" must be an object of operator → {key: value(s)}`)
		}
		for op, kv := range cm {
			if _, ok := kv.(map[string]any); !ok {
				return fmt.Errorf(`"Condition" operator %q must map condition keys to values`, op)
			}
		}
	}
	return nil
}

func exactlyOneStringList(m map[string]any, a, b string) error {
	va, hasA := m[a]
	vb, hasB := m[b]
	switch {
	case hasA && hasB:
		return fmt.Errorf("has both %q and %q: use one", a, b)
	case !hasA && !hasB:
		return fmt.Errorf("needs %q (or %q)", a, b)
	}
	name, v := a, va
	if hasB {
		name, v = b, vb
	}
	list := asList(v)
	if len(list) == 0 {
		return fmt.Errorf("%q is empty", name)
	}
	for _, x := range list {
		if s, ok := x.(string); !ok || s == "" {
			return fmt.Errorf("%q must be a string or an array of non-empty strings", name)
		}
	}
	return nil
}
