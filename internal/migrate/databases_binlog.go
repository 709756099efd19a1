package migrate

// This file: the filter between `mariadb-binlog` and `mariadb` in an
// incremental copy. It reads the tool's SQL output event by event and
// adds, inside each transaction before its COMMIT, the update of the
// copy's recorded position (databases_position.go): the position and the
// rows it covers commit together, so an interrupted apply is resumed by
// the next run without applying anything twice.
//
// The output it reads is mariadb-binlog's (MariaDB 10.11; the format is
// printed by the print functions of MariaDB/server sql/log_event_client.cc,
// commit a64991df9d86c57a597e012cbf04accb7a49defe): every event starts with a "# at <offset>" line,
// followed by a header comment "#<date> <time> server id <id>  end_log_pos
// <end> ... \t<type>", then the event's SQL, statements ending with the
// delimiter "/*!*/;". A MariaDB GTID event prints "GTID d-s-n [trans|ddl]"
// and, for a transaction, "START TRANSACTION"; the transaction ends with
// an Xid event ("Xid = n", "COMMIT/*!*/;") or a COMMIT query; a statement
// outside a transaction (DDL) is a Query event after a GTID "ddl" event.
// The filter only ever reads the real tool's output (MariaDB 10.11.19 in
// TestCopyDatabasesIncremental, ...ResumesAfterCrash, ...Refusals).

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

var (
	headerRE = regexp.MustCompile(`^#\d{6} +\d{1,2}:\d\d:\d\d server id \d+ +end_log_pos (\d+) .*?\t(.*)$`)
	gtidRE   = regexp.MustCompile(`^GTID (\d+)-(\d+)-(\d+)`)
	rotateRE = regexp.MustCompile(`^Rotate to (\S+)`)
	// The session GTID settings of the old server's events: dropped, so
	// the new server gives the applied transactions its own GTIDs (a copy
	// is not replication; the old server's GTIDs in the new server's log
	// would be refused under gtid_strict_mode once the new server's own
	// sequence is ahead, and setting them needs extra privileges).
	gtidSetRE = regexp.MustCompile(`^/\*M?!\d+ SET @@session\.(gtid_domain_id|server_id|gtid_seq_no)=\d+\*//\*!\*/;$`)
	dbDDLRE   = regexp.MustCompile(`(?i)^(CREATE|DROP|ALTER)\s+(DATABASE|SCHEMA)\b`)
)

const delimiter = "/*!*/;"

// errSimulatedCrash stops the filter in tests, as a crash would.
var errSimulatedCrash = errors.New("simulated crash")

// applyStats is what an incremental copy applied.
type applyStats struct {
	Transactions, Statements, RowEvents int64
	// SQLBytes is what went to the new server.
	SQLBytes int64
}

// positionFilter is the filter of one database's pass.
type positionFilter struct {
	rec  copyRecord
	gtid map[string]string // domain → last GTID, as BINLOG_GTID_POS lists them
	// every, when set, is called about every progressEvery.
	every         func(applyStats, Position)
	progressEvery time.Duration
	// crashAfterCommits > 0 stops the stream inside the transaction after
	// that many commits (its rows sent, its COMMIT not); crashInStatement
	// stops it after a statement outside a transaction, before its
	// position is recorded. Tests only.
	crashAfterCommits int
	crashInStatement  bool
	// plan decides a statement outside a transaction (DDL) before it is
	// applied: refused, or rewritten (backup.PlanStatement: a qualified
	// name of the copied database names its new name; one of another
	// database, or a statement that is not about the database's own data
	// and schema, is refused).
	plan func(q string) (refuse, rewritten string)

	stats applyStats
	out   *countWriter
	inTrx bool
	cur   string // GTID of the group being read
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func newPositionFilter(rec copyRecord) *positionFilter {
	// The tables' checksums describe the end of a copy; from the first
	// applied transaction on, the record no longer claims them.
	rec.Rows = ""
	f := &positionFilter{rec: rec, gtid: map[string]string{}, progressEvery: 10 * time.Second}
	for _, g := range strings.Split(rec.GTID, ",") {
		if d, _, ok := strings.Cut(strings.TrimSpace(g), "-"); ok {
			f.gtid[d] = strings.TrimSpace(g)
		}
	}
	return f
}

func (f *positionFilter) gtidString() string {
	var out []string
	for _, d := range slices.Sorted(func(yield func(string) bool) {
		for k := range f.gtid {
			if !yield(k) {
				return
			}
		}
	}) {
		out = append(out, f.gtid[d])
	}
	return strings.Join(out, ",")
}

// event is one "# at" group of the tool's output.
type event struct {
	text bytes.Buffer
	end  uint64 // end_log_pos of its last header
	kind string // the first header's type: GTID, Query, Xid, Rotate, rows, other
	gtid string
	file string // Rotate: the next file
	rows bool   // streamed through, not held
}

// run copies in to out, adding the position updates.
func (f *positionFilter) run(in io.Reader, out io.Writer) error {
	bw := bufio.NewWriterSize(out, 256<<10)
	f.out = &countWriter{w: bw}
	err := f.copy(in)
	if errors.Is(err, errSimulatedCrash) {
		_ = bw.Flush() // what was written before the crash reaches the client whole
	}
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	f.stats.SQLBytes = f.out.n
	return nil
}

func (f *positionFilter) copy(in io.Reader) error {
	r := bufio.NewReaderSize(in, 256<<10)
	var ev *event
	last := time.Now()
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			s := strings.TrimRight(string(line), "\r\n")
			switch {
			case strings.HasPrefix(s, "# at "):
				if ferr := f.finish(ev); ferr != nil {
					return ferr
				}
				ev = &event{}
				ev.text.Write(line)
			case strings.HasPrefix(s, "DELIMITER "), ev == nil:
				if ferr := f.finish(ev); ferr != nil {
					return ferr
				}
				ev = nil
				if _, werr := f.out.Write(line); werr != nil {
					return werr
				}
			case gtidSetRE.MatchString(s):
				// dropped (see gtidSetRE)
			default:
				if m := headerRE.FindStringSubmatch(s); m != nil {
					f.header(ev, m[1], m[2])
				}
				ev.text.Write(line)
				if ev.rows { // row events can be large: streamed, not held
					if _, werr := f.out.Write(ev.text.Bytes()); werr != nil {
						return werr
					}
					ev.text.Reset()
				}
			}
		}
		if err == io.EOF {
			if ferr := f.finish(ev); ferr != nil {
				return ferr
			}
			break
		}
		if err != nil {
			return err
		}
		if f.every != nil && time.Since(last) >= f.progressEvery {
			last = time.Now()
			f.every(f.stats, f.rec.Position)
		}
	}
	return nil
}

func (f *positionFilter) header(ev *event, end, typ string) {
	ev.end, _ = strconv.ParseUint(end, 10, 64)
	kind := "other"
	switch {
	case strings.HasPrefix(typ, "GTID "):
		kind = "GTID"
		if m := gtidRE.FindStringSubmatch(typ); m != nil {
			ev.gtid = m[1] + "-" + m[2] + "-" + m[3]
		}
	case strings.HasPrefix(typ, "Query"):
		kind = "Query"
	case strings.HasPrefix(typ, "Xid"):
		kind = "Xid"
	case strings.HasPrefix(typ, "Rotate to"):
		kind = "Rotate"
		if m := rotateRE.FindStringSubmatch(typ); m != nil {
			ev.file = m[1]
		}
	case strings.HasPrefix(typ, "Table_map"), strings.HasPrefix(typ, "Annotate_rows"), strings.Contains(typ, "_rows"):
		kind = "rows"
	case strings.HasPrefix(typ, "Begin_load_query"), strings.HasPrefix(typ, "Execute_load_query"), strings.HasPrefix(typ, "Append_block"),
		strings.HasPrefix(typ, "Delete_file"), strings.HasPrefix(typ, "Create_file"), strings.HasPrefix(typ, "Exec_load"), strings.HasPrefix(typ, "Load"):
		// A statement-logged LOAD DATA: SQL the client would run.
		kind = "load"
	}
	if ev.kind == "" || ev.kind == "other" {
		ev.kind = kind
	}
	if kind == "rows" {
		if !ev.rows {
			f.stats.RowEvents++
		}
		ev.rows = true
	}
}

// statement is the SQL of a Query event: its lines that are not session
// settings, comments or the delimiter.
func (ev *event) statement() string {
	var out []string
	for _, l := range strings.Split(ev.text.String(), "\n") {
		t := strings.TrimSpace(l)
		if t == "" || t == delimiter || strings.HasPrefix(t, "#") || strings.HasPrefix(t, "SET ") || strings.HasPrefix(t, "use ") ||
			strings.HasPrefix(t, "/*!") || strings.HasPrefix(t, "/*M!") {
			continue
		}
		out = append(out, strings.TrimSuffix(t, delimiter))
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// queryBounds finds the statement of a Query event in its printed text.
// mariadb-binlog prints the event's header comments, then the session
// settings it changes, one per line, each ending with the delimiter (the
// lines of settingLineRE), then the statement as the log holds it
// (executable comments included), a newline and the delimiter on a line
// of its own (Query_log_event::print_query_header and ::print,
// sql/log_event_client.cc). The statement starts at the first other
// line. One that holds the delimiter itself is refused (ok false): where
// the client would split it, and which part a check would read, cannot be
// told apart from the printed text.
func queryBounds(text string) (start, end int, ok bool) {
	end = strings.LastIndex(text, "\n"+delimiter+"\n")
	if end < 0 {
		return 0, 0, false
	}
	start = -1
	for off := 0; off < end; {
		nl := strings.IndexByte(text[off:], '\n')
		if nl < 0 {
			break
		}
		line := text[off : off+nl]
		if !strings.HasPrefix(line, "#") && !settingLineRE.MatchString(line) {
			start = off
			break
		}
		off += nl + 1
	}
	if start < 0 || strings.TrimSpace(text[start:end]) == "" || strings.Contains(text[start:end], delimiter) {
		return 0, 0, false
	}
	return start, end, true
}

// settingLineRE is a session setting line mariadb-binlog prints before a
// statement: SET TIMESTAMP, SET @@session.<name>=..., use `db`, the
// client's charset command, and version-guarded SET @@session ones.
var settingLineRE = regexp.MustCompile("^(SET TIMESTAMP=[0-9.]+|SET @@session\\.[a-z_]+=[^\\n]*|use `(?:[^`]|``)+`|/\\*!\\\\C [A-Za-z0-9_]+ \\*/|/\\*M?!\\d+ SET @@session\\.[a-z_]+=[^\\n]*\\*/)/\\*!\\*/;$")

// firstWord names a statement by its first word, for messages that must
// not quote it.
func firstWord(stmt string) string {
	w, _, _ := strings.Cut(strings.TrimSpace(stmt), " ")
	if len(w) > 24 {
		w = w[:24]
	}
	return strings.ToUpper(w)
}

func (f *positionFilter) write(s string) error {
	_, err := io.WriteString(f.out, s)
	return err
}

// commit moves the record to the end of the event that commits.
func (f *positionFilter) commit(end uint64) {
	if f.cur != "" {
		d, _, _ := strings.Cut(f.cur, "-")
		f.gtid[d] = f.cur
	}
	f.rec.Position.Position, f.rec.GTID, f.rec.Pending = end, f.gtidString(), 0
}

// finish writes a held event, with the position updates it needs.
func (f *positionFilter) finish(ev *event) error {
	if ev == nil {
		return nil
	}
	if ev.rows {
		_, err := f.out.Write(ev.text.Bytes())
		return err
	}
	text := ev.text.String()
	switch ev.kind {
	case "GTID":
		f.cur = ev.gtid
		if strings.Contains(text, "\nSTART TRANSACTION\n") || strings.Contains(text, "\nBEGIN\n") {
			f.inTrx = true
		}
		return f.write(text)
	case "Rotate":
		if err := f.write(text); err != nil {
			return err
		}
		if ev.file != "" {
			f.rec.File = ev.file
		}
		return nil
	case "Xid":
		return f.commitWith(ev, text)
	case "load":
		return fmt.Errorf("the old server's binary log has a statement-based LOAD DATA at %s:%d: only ROW events can be applied to a renamed or filtered database safely; set binlog_format=ROW on the old server and run with --full",
			f.rec.File, ev.end)
	case "Query":
		stmt := ev.statement()
		upper := strings.ToUpper(stmt)
		switch {
		case upper == "BEGIN" || upper == "START TRANSACTION":
			f.inTrx = true
			return f.write(text)
		case upper == "COMMIT":
			return f.commitWith(ev, text)
		case upper == "ROLLBACK":
			f.inTrx = false
			return f.write(text)
		case f.inTrx && (strings.HasPrefix(upper, "SAVEPOINT") || strings.HasPrefix(upper, "ROLLBACK TO") || strings.HasPrefix(upper, "RELEASE SAVEPOINT")):
			return f.write(text)
		case f.inTrx:
			return fmt.Errorf("the old server's binary log has a statement-based change at %s:%d (a %s statement): only ROW events can be applied to a renamed or filtered database safely; set binlog_format=ROW on the old server and run with --full",
				f.rec.File, ev.end, firstWord(stmt))
		case dbDDLRE.MatchString(stmt):
			return fmt.Errorf("the old server's binary log creates, drops or alters a database at %s:%d (a %s statement): an incremental copy cannot follow that; run with --full",
				f.rec.File, ev.end, firstWord(stmt))
		}
		if f.plan != nil {
			start, end, ok := queryBounds(text)
			if !ok {
				return fmt.Errorf("the statement at %s:%d cannot be told apart from mariadb-binlog's own lines (it holds the delimiter %s, or is not where the tool prints a statement): it cannot be checked, so it is not applied; %s", f.rec.File, ev.end, delimiter, fullHint)
			}
			refuse, rewritten := f.plan(text[start:end])
			if refuse != "" {
				return fmt.Errorf("the old server's binary log has at %s:%d %s: an incremental copy applies only the copied databases' own data and schema (the statement is not shown: it may hold a password); %s",
					f.rec.File, ev.end, refuse, fullHint)
			}
			if rewritten != "" {
				text = text[:start] + rewritten + text[end:]
			}
		}
		// A statement outside a transaction (DDL) commits by itself:
		// record that it is under way, apply it, record its end. A
		// crash in between leaves pending_position set, and the next
		// run refuses (it cannot know whether the statement took effect).
		f.rec.Pending = ev.end
		if err := f.write(f.rec.updateSQL(false) + delimiter + "\n" + text); err != nil {
			return err
		}
		if f.crashInStatement {
			return errSimulatedCrash
		}
		f.commit(ev.end)
		f.stats.Statements++
		return f.write(f.rec.updateSQL(true) + delimiter + "\n")
	}
	return f.write(text)
}

// commitWith writes the position update, then the committing event.
func (f *positionFilter) commitWith(ev *event, text string) error {
	if f.crashAfterCommits > 0 && f.stats.Transactions >= int64(f.crashAfterCommits) {
		return errSimulatedCrash
	}
	f.commit(ev.end)
	f.inTrx = false
	f.stats.Transactions++
	return f.write(f.rec.updateSQL(false) + delimiter + "\n" + text)
}
