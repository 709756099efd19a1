package backup

// This file: the statements a point-in-time restore would replay, read from
// the archived binary logs and checked before `mariadb-binlog | mariadb`
// runs.
//
// The replay restores into a staging database beside the source (restore
// beside it, --overwrite before the swap, every drill), renamed with
// mariadb-binlog's --rewrite-db. That option changes only the default
// database of a statement event: "There is no statement analysis or rewrite
// of any kind, that is, if one specifies db1.tbl in the statement
// explicitly, that occurrence won't be changed to db2.tbl" (MariaDB's
// mariadb-binlog documentation, --rewrite-db; row events are rewritten).
// With binlog_format=ROW, DDL is still logged as statements, so a
// `TRUNCATE app.sessions` or `DROP TABLE app.report` issued by the
// application would run again against the live `app` database (and one
// naming another database against that one), while the restore still
// reports that it changed nothing. And --database keeps every statement
// whose default database is the one restored, whatever it does: `DROP
// DATABASE other`, `GRANT`, `CREATE EVENT` (which would then run in the
// restored database on its own schedule).
//
// So every statement event the replay would apply is read first, the way
// mariadb-binlog selects them (--database keeps an event whose default
// database equals the name, byte for byte; --start-position applies to the
// first file; --stop-datetime ends at the first event at or after it). A
// qualified name of the restored database itself is rewritten to name the
// target (rewriteFilter puts the statement in place in mariadb-binlog's
// output). The restore is refused, before anything runs, when one of them
//   - names another database of the server (a qualified name `db.tbl`), or
//   - is not a statement of a database's own data and schema: transaction
//     control, INSERT/REPLACE/UPDATE/DELETE, TRUNCATE, RENAME TABLE,
//     ANALYZE/OPTIMIZE/REPAIR, and CREATE/ALTER/DROP of tables, indexes,
//     views, triggers, procedures, functions (not a SONAME library) and
//     sequences are; anything else (databases, users, grants, events,
//     plugins, server settings) is not.
// The refusal names the file, offset and time of the event and never the
// statement's text (it may hold data); restoring to a time before it still
// works.

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Binary log event types that carry a statement (MariaDB sql/log_event.h,
// MySQL libbinlogevents binlog_event.h): QUERY_EVENT = 2,
// EXECUTE_LOAD_QUERY_EVENT = 18 (LOAD DATA logged as a statement), MariaDB's
// QUERY_COMPRESSED_EVENT = 165 (log_bin_compress), and MySQL 8's
// TRANSACTION_PAYLOAD_EVENT = 40 (binlog_transaction_compression), whose
// events are zstd-compressed inside it.
const (
	binlogEventQuery              = 2
	binlogEventExecuteLoadQuery   = 18
	binlogEventQueryCompressed    = 165
	binlogEventTransactionPayload = 40
	// The post-header of a query event: thread id (4), execution time (4),
	// database name length (1), error code (2), status variables length
	// (2); EXECUTE_LOAD_QUERY adds file id (4), start and end position of
	// the file name (4 + 4) and duplicate handling (1).
	queryPostHeaderLen            = 13
	executeLoadQueryPostHeaderLen = 26
)

// ReplayRefusedError is returned when the archived binary log holds, inside
// the range a point-in-time restore would replay, a statement the replay
// must not run.
type ReplayRefusedError struct {
	File   string
	Offset int64
	// At is the event's time (zero when the event carries none).
	At time.Time
	// Database is the source database the statement was logged for.
	Database string
	Reason   string
}

func (e *ReplayRefusedError) Error() string {
	at, before := "", "the time of that event"
	if !e.At.IsZero() {
		at = " (" + e.At.UTC().Format(time.RFC3339) + ")"
		before = e.At.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("the binary log holds a statement a restore must not replay: %s at offset %d%s, logged for database %s, %s; "+
		"nothing was run: restore to a time before %s, or from a backup taken after it",
		e.File, e.Offset, at, e.Database, e.Reason, before)
}

// replayedStatement is one statement event inside the replayed range.
type replayedStatement struct {
	file   string
	offset int64
	at     time.Time
	typ    byte
	db     string
	query  string
	// refuse, when set, refuses the event whatever its statement.
	refuse string
}

// stmtRewrite is a statement of the replay that runs rewritten: where it
// is (the index of its file among the replayed ones, its offset) and its
// text before and after.
type stmtRewrite struct {
	file      int
	offset    int64
	orig, new string
}

// checkReplay reads the local copies of the archived files the replay will
// read (paths, in order) from startPos in the first up to stop, and checks
// each statement event logged for one of the source databases of into
// (source → database the rows go to); serverDBs are the databases of the
// server the replay writes to (lower case). It returns, per source
// database, the statements that must run rewritten (in order).
func checkReplay(ctx context.Context, paths []string, startPos uint64, stop time.Time, into map[string]string, serverDBs map[string]bool) (map[string][]stmtRewrite, error) {
	stopAt := stop.UTC().Truncate(time.Second).Unix()
	rewrites := map[string][]stmtRewrite{}
	for i, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		from := int64(0)
		if i == 0 {
			from = int64(startPos)
		}
		done, err := readStatements(p, from, stopAt, func(st replayedStatement) error {
			if st.typ == binlogEventTransactionPayload {
				return &ReplayRefusedError{File: st.file, Offset: st.offset, At: st.at, Database: "(compressed)",
					Reason: "a compressed transaction (MySQL's binlog_transaction_compression), whose statements cannot be checked"}
			}
			target, restored := into[st.db]
			if !restored {
				return nil // mariadb-binlog --database leaves it out
			}
			reason, rewritten := st.refuse, ""
			if reason == "" {
				reason, rewritten = replayPlan(st.query, st.db, target, serverDBs)
			}
			if reason != "" {
				return &ReplayRefusedError{File: st.file, Offset: st.offset, At: st.at, Database: st.db, Reason: reason}
			}
			if rewritten != "" {
				rewrites[st.db] = append(rewrites[st.db], stmtRewrite{file: i, offset: st.offset, orig: st.query, new: rewritten})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if done {
			break
		}
	}
	return rewrites, nil
}

// rewriteFilter sits between mariadb-binlog and the client of one
// database's replay and puts the rewritten statements in place of the
// originals. mariadb-binlog prints each event as a group that starts with
// "# at <offset>" (the offset restarting at 4, the format description, in
// every file) and prints a statement's text as the log holds it. A
// statement group is held until it is whole; one at a planned place must
// hold the original text at the start of a line, and it is replaced
// there; an original met anywhere else, or a planned one never met, fails
// the replay before that group reaches the client.
func rewriteFilter(plan []stmtRewrite) func(io.Reader, io.Writer) error {
	return func(in io.Reader, out io.Writer) error {
		r := bufio.NewReaderSize(in, 1<<20)
		w := bufio.NewWriterSize(out, 1<<20)
		file, next := -1, 0
		var group bytes.Buffer
		var at int64 = -1
		// holding: the group is kept until its event header says what it
		// is (lines such as `use ...` may come before it); a statement's
		// group is then kept whole, any other streamed on.
		holding, header := false, false
		flush := func() error {
			if !holding {
				return nil
			}
			holding = false
			text := group.String()
			group.Reset()
			if next < len(plan) && plan[next].file == file && plan[next].offset == at {
				if i := lineStartIndex(text, plan[next].orig); i >= 0 {
					text = text[:i] + plan[next].new + text[i+len(plan[next].orig):]
					next++
					_, err := w.WriteString(text)
					return err
				}
				return fmt.Errorf("the statement at offset %d of the replay's file %d is not in mariadb-binlog's output as the log holds it: not replayed unrewritten", at, file+1)
			}
			for _, p := range plan[next:] {
				if lineStartIndex(text, p.orig) >= 0 {
					return fmt.Errorf("a statement that must be rewritten (offset %d of the replay's file %d) appeared in mariadb-binlog's output at offset %d of file %d: not replayed unrewritten", p.offset, p.file+1, at, file+1)
				}
			}
			_, err := w.WriteString(text)
			return err
		}
		for {
			line, rerr := r.ReadString('\n')
			if strings.HasPrefix(line, "# at ") {
				if err := flush(); err != nil {
					return err
				}
				n, perr := strconv.ParseInt(strings.TrimSpace(line[len("# at "):]), 10, 64)
				if perr != nil {
					return fmt.Errorf("reading mariadb-binlog's output: %q", strings.TrimSpace(line))
				}
				if n == 4 {
					file++
				}
				at, holding, header = n, true, false
			}
			switch {
			case !holding:
				if _, err := w.WriteString(line); err != nil {
					return err
				}
			case !header && eventHeaderRE.MatchString(line):
				header = true
				group.WriteString(line)
				// (MariaDB prints a compressed statement as Query_compressed.)
				if !strings.Contains(line, "\tQuery") {
					holding = false
					if _, err := w.WriteString(group.String()); err != nil {
						return err
					}
					group.Reset()
				}
			default:
				group.WriteString(line)
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				return rerr
			}
		}
		if err := flush(); err != nil {
			return err
		}
		if next < len(plan) {
			return fmt.Errorf("the statement at offset %d of the replay's file %d was not in mariadb-binlog's output: the replay's selection differs from the check's", plan[next].offset, plan[next].file+1)
		}
		return w.Flush()
	}
}

// eventHeaderRE is mariadb-binlog's event header line: "#YYMMDD HH:MM:SS
// server id N  end_log_pos ...".
var eventHeaderRE = regexp.MustCompile(`^#\d{6} +\d{1,2}:\d{2}:\d{2} server id `)

// lineStartIndex is the index of s in text where it starts a line, or -1.
func lineStartIndex(text, s string) int {
	for i := 0; i <= len(text)-len(s); {
		j := strings.Index(text[i:], s)
		if j < 0 {
			return -1
		}
		if k := i + j; k == 0 || text[k-1] == '\n' {
			return k
		}
		i += j + 1
	}
	return -1
}

// readStatements calls fn for every statement event of the binlog file at
// path from offset from (the format description event before it is still
// read, for the checksum setting), until the first event at or after
// stopAt (Unix seconds), as mariadb-binlog's --stop-datetime; done reports
// that the stop was reached.
func readStatements(path string, from, stopAt int64, fn func(replayedStatement) error) (done bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	name := filepath.Base(path)
	er := newBinlogEventReader(f, name)
	if _, err := er.magic(); err != nil {
		return false, fmt.Errorf("%w: %s does not start with the binlog magic number", ErrCorruptBinlog, name)
	}
	off := int64(4)
	checksum := false
	for {
		n, err := er.next(off)
		if errors.Is(err, io.EOF) {
			return false, nil // the end, or a partial last event mariadb-binlog does not apply either
		}
		if err != nil {
			return false, err
		}
		body, ts, typ := er.body, er.ts(), er.typ()
		at := off
		off += n
		if typ == binlogEventFormat {
			on, err := formatChecksum(er.hdr, body, name, at)
			if err != nil {
				return false, err
			}
			checksum = checksum || on
			continue
		}
		if at < from {
			continue
		}
		if ts != 0 && int64(ts) >= stopAt {
			return true, nil
		}
		b := body
		if checksum && len(b) >= 4 {
			b = b[:len(b)-4]
		}
		var evAt time.Time
		if ts != 0 {
			evAt = time.Unix(int64(ts), 0).UTC()
		}
		st := replayedStatement{file: name, offset: at, at: evAt, typ: typ}
		switch typ {
		case binlogEventQuery, binlogEventExecuteLoadQuery, binlogEventQueryCompressed:
			db, q, perr := parseQueryEvent(typ, b)
			switch {
			case perr != nil && db == "":
				return false, fmt.Errorf("%w: %s: the statement event at offset %d: %v", ErrCorruptBinlog, name, at, perr)
			case perr != nil:
				// Only the statement could not be read: refused for its
				// database.
				st.refuse = "a statement that could not be read (" + perr.Error() + ")"
			case typ == binlogEventExecuteLoadQuery:
				st.refuse = "a LOAD DATA statement (its rows come from a file the log carries beside it, which is not checked)"
			}
			st.db, st.query = db, q
		case binlogEventTransactionPayload:
		default:
			continue
		}
		if err := fn(st); err != nil {
			return false, err
		}
	}
}

// parseQueryEvent returns the default database and the statement of a
// query event's body (without its checksum).
func parseQueryEvent(typ byte, b []byte) (db, query string, err error) {
	post := queryPostHeaderLen
	if typ == binlogEventExecuteLoadQuery {
		post = executeLoadQueryPostHeaderLen
	}
	if len(b) < post {
		return "", "", fmt.Errorf("a statement event of %d bytes, shorter than its header", len(b))
	}
	dbLen := int(b[8])
	varsLen := int(binary.LittleEndian.Uint16(b[11:13]))
	p := post + varsLen
	if len(b) < p+dbLen+1 {
		return "", "", fmt.Errorf("a statement event whose database name lies past its end")
	}
	db = string(b[p : p+dbLen])
	q := b[p+dbLen+1:]
	if typ == binlogEventQueryCompressed {
		if q, err = uncompressQuery(q); err != nil {
			return db, "", err
		}
	}
	return db, string(q), nil
}

// uncompressQuery undoes MariaDB's binlog_buf_compress (log_bin_compress):
// one byte 0x80 | n, n bytes of the uncompressed length, then a zlib
// stream.
func uncompressQuery(b []byte) ([]byte, error) {
	if len(b) < 2 || b[0]&0x80 == 0 {
		return nil, errors.New("a compressed statement without its header")
	}
	n := int(b[0] & 0x07)
	if n < 1 || n > 4 || len(b) < 1+n {
		return nil, errors.New("a compressed statement with a bad length header")
	}
	r, err := zlib.NewReader(bytes.NewReader(b[1+n:]))
	if err != nil {
		return nil, fmt.Errorf("a compressed statement: %w", err)
	}
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, 1<<30))
	if err != nil {
		return nil, fmt.Errorf("a compressed statement: %w", err)
	}
	return out, nil
}

// replayPlan decides the statement q, logged with default database source,
// for a replay into target: why it must not run (refuse), or the statement
// to run instead (rewritten, "" when q runs as it is). A qualified name of
// the source database is rewritten to name the target, as --rewrite-db
// does for the default database: schema migration tools qualify their DDL
// (Liquibase, which Spinnaker's SQL services run at start, generates SQL
// naming the default catalog, on MySQL the database), and restoring across
// an upgrade must apply it to the restored copy, not to the live database.
func replayPlan(q, source, target string, serverDBs map[string]bool) (refuse, rewritten string) {
	toks, err := sqlTokens(q)
	if err != nil {
		return "a statement that could not be read (" + err.Error() + ")", ""
	}
	if len(toks) == 0 {
		return "", ""
	}
	if why := statementKindRefusal(toks); why != "" {
		return why, ""
	}
	var swap []sqlToken // qualifiers naming the source, to name the target
	for i := 0; i+2 < len(toks); i++ {
		if !toks[i].ident() || toks[i+1].text != "." || toks[i+1].kind != tokPunct {
			continue
		}
		if i > 0 && toks[i-1].kind == tokPunct && toks[i-1].text == "." {
			continue // the table of db.tbl.col
		}
		if !toks[i+2].ident() && toks[i+2].text != "*" {
			continue
		}
		qual := toks[i].name()
		switch {
		case strings.EqualFold(qual, source) && source == target:
			// Restoring under the same name: the qualifier is the target.
		case strings.EqualFold(qual, source):
			swap = append(swap, toks[i])
		case serverDBs[strings.ToLower(qual)]:
			return fmt.Sprintf("a %s statement naming database %s, not the database replayed", toks[0].upper(), qual), ""
		}
	}
	if len(swap) == 0 {
		return "", ""
	}
	var b strings.Builder
	last := 0
	for _, t := range swap {
		b.WriteString(q[last:t.pos])
		b.WriteString(quoteIdent(target))
		last = t.pos + len(t.text)
	}
	b.WriteString(q[last:])
	return "", b.String()
}

// statementKindRefusal refuses statements that are not about a database's
// own data and schema.
func statementKindRefusal(toks []sqlToken) string {
	first := toks[0]
	if first.kind != tokWord {
		return "a statement that does not start with a keyword"
	}
	kw := first.upper()
	switch kw {
	case "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "XA",
		"INSERT", "REPLACE", "UPDATE", "DELETE", "TRUNCATE",
		"ANALYZE", "OPTIMIZE", "REPAIR":
		return ""
	case "START":
		if len(toks) > 1 && toks[1].upper() == "TRANSACTION" {
			return ""
		}
	case "RENAME":
		if len(toks) > 1 && (toks[1].upper() == "TABLE" || toks[1].upper() == "TABLES") {
			return ""
		}
	case "CREATE", "ALTER", "DROP":
		kind := objectKind(toks[1:])
		switch kind {
		case "TABLE", "INDEX", "VIEW", "TRIGGER", "PROCEDURE", "SEQUENCE":
			return ""
		case "FUNCTION":
			for _, t := range toks {
				if t.kind == tokWord && t.upper() == "SONAME" {
					return "a " + kw + " FUNCTION ... SONAME statement (a server library, not the database's own)"
				}
			}
			return ""
		case "":
			return "a " + kw + " statement of an object kind that is not a database's own data or schema"
		default:
			return "a " + kw + " " + kind + " statement, not about a database's own data or schema"
		}
	}
	return "a " + kw + " statement, not about a database's own data or schema"
}

// objectKinds are the words that name what a CREATE, ALTER or DROP acts on.
var objectKinds = map[string]bool{
	"TABLE": true, "INDEX": true, "VIEW": true, "TRIGGER": true, "PROCEDURE": true, "FUNCTION": true,
	"SEQUENCE": true, "EVENT": true, "DATABASE": true, "SCHEMA": true, "USER": true, "ROLE": true,
	"SERVER": true, "TABLESPACE": true, "LOGFILE": true, "PACKAGE": true, "INSTANCE": true,
}

// objectKind finds the kind of object a CREATE, ALTER or DROP acts on,
// past its modifiers (OR REPLACE, DEFINER = ..., ALGORITHM = ..., SQL
// SECURITY ..., TEMPORARY, UNIQUE, ONLINE, IGNORE, AGGREGATE, ...).
func objectKind(toks []sqlToken) string {
	for i, t := range toks {
		if i > 16 {
			break
		}
		if t.kind == tokWord && objectKinds[t.upper()] {
			return t.upper()
		}
	}
	return ""
}

type tokKind int

const (
	tokWord   tokKind = iota // an unquoted word: keyword or identifier
	tokQuoted                // `identifier`
	tokDQuote                // "..." (an identifier under ANSI_QUOTES)
	tokString                // '...'
	tokNumber
	tokVar // @x, @@global.x
	tokPunct
)

type sqlToken struct {
	kind tokKind
	text string
	pos  int // offset of text in the statement
}

func (t sqlToken) ident() bool {
	return t.kind == tokWord || t.kind == tokQuoted || t.kind == tokDQuote
}

func (t sqlToken) upper() string { return strings.ToUpper(t.text) }

// name is the identifier a token spells.
func (t sqlToken) name() string {
	switch t.kind {
	case tokQuoted:
		return unquoteIdent(t.text)
	case tokDQuote:
		return strings.ReplaceAll(t.text[1:len(t.text)-1], `""`, `"`)
	}
	return t.text
}

func wordByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func digit(c byte) bool { return c >= '0' && c <= '9' }

// sqlTokens splits a MariaDB/MySQL statement into tokens, skipping
// comments but reading the text of executable comments (/*! ... */,
// /*M! ... */, which the server runs) as statement text.
func sqlTokens(q string) ([]sqlToken, error) {
	var out []sqlToken
	inExec := false
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '#' || c == '-' && strings.HasPrefix(q[i:], "--") && (i+2 == len(q) || q[i+2] <= ' '):
			if j := strings.IndexByte(q[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(q)
			}
		case strings.HasPrefix(q[i:], "/*!") || strings.HasPrefix(q[i:], "/*M!"):
			if inExec {
				return nil, errors.New("an executable comment inside another")
			}
			i += 3
			if q[i-1] == 'M' {
				i++
			}
			for i < len(q) && digit(q[i]) {
				i++
			}
			inExec = true
		case strings.HasPrefix(q[i:], "/*"):
			j := strings.Index(q[i+2:], "*/")
			if j < 0 {
				return nil, errors.New("an unterminated comment")
			}
			i += 2 + j + 2
		case inExec && strings.HasPrefix(q[i:], "*/"):
			inExec = false
			i += 2
		case c == '\'' || c == '"' || c == '`':
			j, err := quotedEnd(q, i)
			if err != nil {
				return nil, err
			}
			kind := tokQuoted
			switch c {
			case '\'':
				kind = tokString
			case '"':
				kind = tokDQuote
			}
			out = append(out, sqlToken{kind, q[i:j], i})
			i = j
		case c == '@':
			j := i
			for j < len(q) && q[j] == '@' {
				j++
			}
			for j < len(q) && (wordByte(q[j]) || q[j] == '.') {
				j++
			}
			if j < len(q) && (q[j] == '\'' || q[j] == '"' || q[j] == '`') {
				k, err := quotedEnd(q, j)
				if err != nil {
					return nil, err
				}
				j = k
			}
			out = append(out, sqlToken{tokVar, q[i:j], i})
			i = j
		case digit(c) || c == '.' && i+1 < len(q) && digit(q[i+1]) && !afterIdent(out):
			j := i
			for j < len(q) && wordByte(q[j]) {
				j++
			}
			word := q[i:j]
			if isNumber(word) || c == '.' {
				// 1.5, 1.5e3, .5: the fraction and exponent belong to it.
				for j < len(q) && (digit(q[j]) || q[j] == '.' || q[j] == 'e' || q[j] == 'E' ||
					(q[j] == '+' || q[j] == '-') && (q[j-1] == 'e' || q[j-1] == 'E')) {
					j++
				}
				out = append(out, sqlToken{tokNumber, q[i:j], i})
			} else {
				out = append(out, sqlToken{tokWord, word, i}) // an identifier may start with digits
			}
			i = j
		case wordByte(c):
			j := i
			for j < len(q) && wordByte(q[j]) {
				j++
			}
			out = append(out, sqlToken{tokWord, q[i:j], i})
			i = j
		default:
			out = append(out, sqlToken{tokPunct, q[i : i+1], i})
			i++
		}
	}
	return out, nil
}

func afterIdent(toks []sqlToken) bool {
	return len(toks) > 0 && toks[len(toks)-1].ident()
}

// isNumber: digits only, or digits with an exponent (1e5).
func isNumber(w string) bool {
	if w == "" || !digit(w[0]) {
		return false
	}
	for i := 0; i < len(w); i++ {
		if !digit(w[i]) {
			if (w[i] == 'e' || w[i] == 'E') && i > 0 {
				for _, c := range []byte(w[i+1:]) {
					if !digit(c) {
						return false
					}
				}
				return true
			}
			return false
		}
	}
	return true
}

// quotedEnd returns the end of the quoted token starting at q[i]: the
// quote doubled or (in strings) a backslash escapes.
func quotedEnd(q string, i int) (int, error) {
	quote := q[i]
	for j := i + 1; j < len(q); j++ {
		switch q[j] {
		case '\\':
			if quote != '`' {
				j++
			}
		case quote:
			if j+1 < len(q) && q[j+1] == quote {
				j++
				continue
			}
			return j + 1, nil
		}
	}
	return 0, errors.New("an unterminated quoted string or name")
}
