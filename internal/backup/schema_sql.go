package backup

import (
	"fmt"
	"regexp"
	"strings"
)

// Restore executes only the statements a manifest may carry: CREATE TABLE,
// VIEW, TRIGGER, PROCEDURE, FUNCTION or EVENT of exactly the object the
// manifest names, unqualified (so it lands in the database being
// restored), one statement, with no DEFINER (the restoring user becomes
// the definer, as managed servers refuse SET USER/SUPER). A table may not
// point at files or other servers (DATA/INDEX DIRECTORY, CONNECTION) or
// be filled from a query (CREATE TABLE ... SELECT).

var (
	// CREATE [OR REPLACE] [ALGORITHM=x] [DEFINER=u@h] [SQL SECURITY x] [AGGREGATE] <KIND> [IF NOT EXISTS] <name>
	createHead = regexp.MustCompile(`(?is)^\s*CREATE\s+(OR\s+REPLACE\s+)?` +
		`(ALGORITHM\s*=\s*\w+\s+)?` +
		`(DEFINER\s*=\s*(?:` + "`(?:[^`]|``)*`" + `|'(?:[^'\\]|\\.|'')*'|\w+)(?:@(?:` + "`(?:[^`]|``)*`" + `|'(?:[^'\\]|\\.|'')*'|[\w.%-]+))?\s+)?` +
		`(SQL\s+SECURITY\s+(?:DEFINER|INVOKER)\s+)?` +
		`(AGGREGATE\s+)?` +
		`(TABLE|VIEW|TRIGGER|PROCEDURE|FUNCTION|EVENT)\s+` +
		`(IF\s+NOT\s+EXISTS\s+)?` +
		"(`(?:[^`]|``)*`|\\w+)(\\s*\\.)?")
	qualifiedName         = regexp.MustCompile("^\\s*(`(?:[^`]|``)*`|\\w+)")
	quotedString          = regexp.MustCompile(`'(?:[^'\\]|\\.|'')*'`)
	forbiddenTableOptions = regexp.MustCompile(`(?i)\b(DATA\s+DIRECTORY|INDEX\s+DIRECTORY|CONNECTION\s*=|UNION\s*=|SELECT\b|LIKE\b)`)
)

// checkCreate validates a manifest's statement for an object of kind and
// name and returns it without its DEFINER clause. SHOW CREATE VIEW
// qualifies the view with its database when run from another one: a
// qualifier equal to ownDB is removed, any other refused. Routines,
// triggers and events have bodies with semicolons; they are sent as one
// statement without CLIENT_MULTI_STATEMENTS, so the server itself refuses
// a second statement after them.
func checkCreate(kind, name, stmt string, ownDB ...string) (string, error) {
	bad := func(why string) error {
		return fmt.Errorf("refusing the manifest's statement for %s %s: %s (the manifest may only create the objects it names)", strings.ToLower(kind), name, why)
	}
	m := createHead.FindStringSubmatchIndex(stmt)
	if m == nil {
		return "", bad("it is not a CREATE TABLE/VIEW/TRIGGER/PROCEDURE/FUNCTION/EVENT statement")
	}
	group := func(i int) string {
		if m[2*i] < 0 {
			return ""
		}
		return stmt[m[2*i]:m[2*i+1]]
	}
	gotKind := strings.ToUpper(group(6))
	if gotKind != kind {
		return "", bad("it creates a " + strings.ToLower(gotKind))
	}
	restStart := m[1]
	if strings.TrimSpace(group(9)) == "." {
		// db.name: allowed only for the object's own database.
		q := qualifiedName.FindStringSubmatchIndex(stmt[m[19]:])
		if q == nil || len(ownDB) == 0 || unquoteIdent(group(8)) != ownDB[0] {
			return "", bad("the name is qualified with another database")
		}
		real := stmt[m[19]+q[2] : m[19]+q[3]]
		if got := unquoteIdent(real); got != name {
			return "", bad(fmt.Sprintf("it names %q", got))
		}
		stmt = stmt[:m[16]] + real + stmt[m[19]+q[1]:]
		restStart = m[16] + len(real)
	} else if got := unquoteIdent(group(8)); got != name {
		return "", bad(fmt.Sprintf("it names %q", got))
	}
	if group(5) != "" && kind != ObjectFunction {
		return "", bad("AGGREGATE applies only to functions")
	}
	rest := stmt[restStart:]
	if (kind == "TABLE" || kind == ObjectView) && hasStatementBreak(rest) {
		return "", bad("it holds more than one statement")
	}
	if kind == "TABLE" {
		body, tail, ok := splitParens(rest)
		if !ok || strings.TrimSpace(rest[:strings.Index(rest, "(")]) != "" {
			return "", bad("a table must be defined by a column list")
		}
		_ = body
		tail = quotedString.ReplaceAllString(tail, "''")
		if forbiddenTableOptions.MatchString(tail) {
			return "", bad("its table options reach outside the table (" + forbiddenTableOptions.FindString(tail) + ")")
		}
	}
	// Drop the DEFINER clause (group 3).
	if m[6] >= 0 {
		stmt = stmt[:m[6]] + stmt[m[7]:]
	}
	return stmt, nil
}

func unquoteIdent(s string) string {
	if strings.HasPrefix(s, "`") && strings.HasSuffix(s, "`") && len(s) >= 2 {
		return strings.ReplaceAll(s[1:len(s)-1], "``", "`")
	}
	return s
}

// hasStatementBreak reports a ';' outside quotes and comments that is
// followed by anything but whitespace.
func hasStatementBreak(s string) bool {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' && quote != '`' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case c == ';':
			if strings.TrimSpace(s[i+1:]) != "" {
				return true
			}
		}
	}
	return false
}

// splitParens returns what is inside the first balanced parentheses of s
// (quotes respected) and what follows them.
func splitParens(s string) (inside, tail string, ok bool) {
	start := strings.IndexByte(s, '(')
	if start < 0 {
		return "", "", false
	}
	depth := 0
	var quote byte
	for i := start; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' && quote != '`' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"' || c == '`':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return s[start+1 : i], s[i+1:], true
			}
		}
	}
	return "", "", false
}
