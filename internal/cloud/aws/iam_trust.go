package aws

import (
	"fmt"
	"sort"
	"strings"
)

// Does a managed role's trust policy let the source role assume it?
//
// IAM evaluates trust policies server-side and offers no API to ask; moto
// does not evaluate them at all. TrustsRole answers from the document: an
// Allow statement whose Principal names the role (its ARN, its unique id,
// its account, or "*") and whose Action covers sts:AssumeRole, and no Deny
// statement that certainly applies. Conditions on aws:PrincipalArn and
// aws:PrincipalAccount are evaluated; any other condition (sts:ExternalId,
// aws:PrincipalOrgID, tags, ...) cannot be known from here and is reported.

// RoleIdentity is the role asking to be trusted.
type RoleIdentity struct {
	ARN      string // arn:aws:iam::123456789012:role/path/name
	UniqueID string // AROA...
}

// AccountID returns the account of an IAM ARN ("" when it has none).
func AccountID(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	return parts[4]
}

func (r RoleIdentity) account() string { return AccountID(r.ARN) }

func (r RoleIdentity) partition() string {
	parts := strings.SplitN(r.ARN, ":", 3)
	if len(parts) < 3 {
		return "aws"
	}
	return parts[1]
}

// TrustVerdict is what a trust policy says about one role.
type TrustVerdict struct {
	// Trusted: an Allow statement lets the role call sts:AssumeRole, given
	// Conditions hold, and no Deny certainly stops it.
	Trusted bool
	// Conditions the allowing statement (or a Deny that might apply) puts
	// on the call that cannot be evaluated here, as "Operator key", sorted.
	Conditions []string
	// Detail says which statement decided, in words.
	Detail string
}

type tristate int

const (
	no tristate = iota
	maybe
	yes
)

// TrustsRole evaluates trustPolicy (JSON or URL-encoded JSON) for role.
func TrustsRole(trustPolicy string, role RoleIdentity) (TrustVerdict, error) {
	v, err := parsePolicy(trustPolicy)
	if err != nil {
		return TrustVerdict{}, err
	}
	stmts, _ := v["Statement"].([]any)

	type match struct {
		label   string
		how     string
		unknown []string
	}
	var allows, maybeDenies []match
	for i, s := range stmts {
		m, _ := s.(map[string]any)
		if m == nil {
			continue
		}
		label := fmt.Sprintf("statement %d", i+1)
		if sid, _ := m["Sid"].(string); sid != "" {
			label = fmt.Sprintf("statement %q", sid)
		}
		if !actionCovers(m, actionAssumeRole) {
			continue
		}
		how, ok := principalCovers(m, role)
		if !ok {
			continue
		}
		cond, unknown := evaluateConditions(m["Condition"], role)
		if cond == no {
			continue
		}
		switch m["Effect"] {
		case "Deny":
			if cond == yes {
				return TrustVerdict{Detail: fmt.Sprintf("%s denies %s sts:AssumeRole", label, role.ARN)}, nil
			}
			maybeDenies = append(maybeDenies, match{label: label, unknown: unknown})
		case "Allow":
			allows = append(allows, match{label: label, how: how, unknown: unknown})
		}
	}
	if len(allows) == 0 {
		return TrustVerdict{Detail: fmt.Sprintf("no statement allows %s to call sts:AssumeRole", role.ARN)}, nil
	}
	// Prefer an allow without conditions we cannot evaluate.
	best := allows[0]
	for _, a := range allows {
		if len(a.unknown) < len(best.unknown) {
			best = a
		}
	}
	verdict := TrustVerdict{Trusted: true, Conditions: best.unknown}
	detail := fmt.Sprintf("trusted by %s (%s)", best.label, best.how)
	if len(best.unknown) > 0 {
		detail += " when " + strings.Join(best.unknown, ", ") + " hold"
	}
	for _, d := range maybeDenies {
		verdict.Conditions = append(verdict.Conditions, prefixAll("Deny ", d.unknown)...)
		detail += fmt.Sprintf("; %s denies it when %s hold", d.label, strings.Join(d.unknown, ", "))
	}
	sort.Strings(verdict.Conditions)
	verdict.Detail = detail
	return verdict, nil
}

func prefixAll(p string, ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = p + s
	}
	return out
}

// actionCovers: Action matches want, or NotAction is present and does not.
func actionCovers(stmt map[string]any, want string) bool {
	if acts, ok := stmt["Action"]; ok {
		for _, a := range stringsOf(acts) {
			if globMatch(strings.ToLower(a), strings.ToLower(want)) {
				return true
			}
		}
		return false
	}
	if acts, ok := stmt["NotAction"]; ok {
		for _, a := range stringsOf(acts) {
			if globMatch(strings.ToLower(a), strings.ToLower(want)) {
				return false
			}
		}
		return true
	}
	return false
}

// principalCovers reports whether the statement's Principal (or
// NotPrincipal) applies to role, and how.
func principalCovers(stmt map[string]any, role RoleIdentity) (string, bool) {
	if p, ok := stmt["Principal"]; ok {
		if s, ok := p.(string); ok {
			return "any principal", s == "*"
		}
		pm, _ := p.(map[string]any)
		for _, id := range stringsOf(pm["AWS"]) {
			if how, ok := awsPrincipalIs(id, role); ok {
				return how, true
			}
		}
		return "", false
	}
	if p, ok := stmt["NotPrincipal"]; ok {
		pm, _ := p.(map[string]any)
		for _, id := range stringsOf(pm["AWS"]) {
			if _, ok := awsPrincipalIs(id, role); ok {
				return "", false
			}
		}
		return "every principal not excluded by NotPrincipal", true
	}
	return "", false
}

func awsPrincipalIs(id string, role RoleIdentity) (string, bool) {
	acct := role.account()
	switch {
	case id == "*":
		return "any AWS principal", true
	case id == role.ARN:
		return "the role's ARN", true
	case role.UniqueID != "" && id == role.UniqueID:
		return "the role's unique id", true
	case acct != "" && (id == acct || id == "arn:"+role.partition()+":iam::"+acct+":root"):
		return "its account " + acct + ", so any role there allowed to call sts:AssumeRole on it", true
	}
	return "", false
}

// evaluateConditions returns yes when every condition holds, no when one
// certainly fails, maybe otherwise, with the conditions it could not
// evaluate.
func evaluateConditions(c any, role RoleIdentity) (tristate, []string) {
	cm, _ := c.(map[string]any)
	if len(cm) == 0 {
		return yes, nil
	}
	facts := map[string]string{
		"aws:principalarn":     role.ARN,
		"aws:principalaccount": role.account(),
		"aws:principaltype":    "AssumedRole",
	}
	result := yes
	var unknown []string
	for op, kv := range cm {
		keys, _ := kv.(map[string]any)
		for key, vals := range keys {
			fact, known := facts[strings.ToLower(key)]
			holds, ok := evalOperator(op, fact, stringsOf(vals))
			if !known || !ok {
				unknown = append(unknown, op+" "+key)
				result = maybe
				continue
			}
			if !holds {
				return no, nil
			}
		}
	}
	sort.Strings(unknown)
	return result, unknown
}

// evalOperator evaluates a single-valued string/ARN condition operator.
// ok is false for operators it does not know (set operators, numeric,
// date, ...).
func evalOperator(op, fact string, vals []string) (holds, ok bool) {
	op = strings.TrimSuffix(op, "IfExists")
	anyOf := func(f func(string) bool) bool {
		for _, v := range vals {
			if f(v) {
				return true
			}
		}
		return false
	}
	switch op {
	case "StringEquals", "ArnEquals":
		return anyOf(func(v string) bool { return v == fact }), true
	case "StringNotEquals", "ArnNotEquals":
		return !anyOf(func(v string) bool { return v == fact }), true
	case "StringEqualsIgnoreCase":
		return anyOf(func(v string) bool { return strings.EqualFold(v, fact) }), true
	case "StringNotEqualsIgnoreCase":
		return !anyOf(func(v string) bool { return strings.EqualFold(v, fact) }), true
	case "StringLike", "ArnLike":
		return anyOf(func(v string) bool { return globMatch(v, fact) }), true
	case "StringNotLike", "ArnNotLike":
		return !anyOf(func(v string) bool { return globMatch(v, fact) }), true
	}
	return false, false
}

// globMatch matches s against pattern with IAM's wildcards: * (any run of
// characters) and ? (one character).
func globMatch(pattern, s string) bool {
	p, str := []rune(pattern), []rune(s)
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(str) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == str[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
