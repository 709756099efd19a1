package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// archiveStatusKey is rewritten on every flush of archive-binlogs; its
// modification time is how far point-in-time recovery reaches.
const archiveStatusKey = "binlog-status.json"

// ArchiveStatus is the content of binlog-status.json.
type ArchiveStatus struct {
	File      string    `json:"file"`
	Size      int64     `json:"size"`
	FlushedAt time.Time `json:"flushed_at"`
}

// Archiver copies a server's binary log to the destination continuously with
// `mariadb-binlog --read-from-remote-server --raw --stop-never`, uploading
// each finished file and, every FlushInterval, the one being written.
type Archiver struct {
	Server        MySQLServer
	Dest          Store
	WorkDir       string
	Tool          string // mariadb-binlog (default) or mysqlbinlog
	FlushInterval time.Duration
	Log           *slog.Logger
}

// Preflight refuses a server without a ROW binary log, wrong credentials
// and an unwritable destination.
func (a *Archiver) Preflight(ctx context.Context) error {
	pool, err := a.Server.open("")
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := pool.PingContext(ctx); err != nil {
		return connectError(a.Server, err)
	}
	si, err := readServerInfo(ctx, pool)
	if err != nil {
		return err
	}
	if err := si.checkPointInTime(a.Server.addr()); err != nil {
		return err
	}
	if _, err := exec.LookPath(a.tool()); err != nil {
		return fmt.Errorf("archiving binlogs needs %s (Debian: apt-get install mariadb-client): %w", a.tool(), err)
	}
	return CheckWritable(ctx, a.Dest)
}

func (a *Archiver) tool() string {
	if a.Tool != "" {
		return a.Tool
	}
	return "mariadb-binlog"
}

// Run archives until ctx ends, restarting the streaming process when it
// exits (server restarts, network). Uploads finish before it returns.
func (a *Archiver) Run(ctx context.Context) error {
	if err := a.Preflight(ctx); err != nil {
		return err
	}
	if a.FlushInterval <= 0 {
		a.FlushInterval = 10 * time.Second
	}
	if a.Log == nil {
		a.Log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(a.WorkDir, 0o750); err != nil {
		return fmt.Errorf("creating the work directory: %w", err)
	}
	uploaded := map[string]int64{}
	for {
		start, err := a.startFile(ctx)
		if err != nil {
			return err
		}
		a.Log.Info("archiving binlogs", "server", a.Server.addr(), "from", start, "destination", a.Dest.String())
		runErr := a.stream(ctx, start, uploaded)
		if ctx.Err() != nil {
			return a.flush(context.WithoutCancel(ctx), uploaded, true)
		}
		a.Log.Warn("binlog stream ended; restarting", "error", runErr)
		select {
		case <-ctx.Done():
			return a.flush(context.WithoutCancel(ctx), uploaded, true)
		case <-time.After(5 * time.Second):
		}
	}
}

// startFile is the newest archived file (fetched again: it may be partial),
// or the oldest file the server still has.
func (a *Archiver) startFile(ctx context.Context) (string, error) {
	pool, err := a.Server.open("")
	if err != nil {
		return "", err
	}
	defer pool.Close()
	rows, err := pool.QueryContext(ctx, "SHOW BINARY LOGS")
	if err != nil {
		return "", fmt.Errorf("listing the server's binary logs (needs BINLOG MONITOR / REPLICATION CLIENT): %w", err)
	}
	var onServer []string
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]any, len(cols))
		var name string
		vals[0] = &name
		for i := 1; i < len(vals); i++ {
			vals[i] = new(any)
		}
		if err := rows.Scan(vals...); err != nil {
			rows.Close()
			return "", err
		}
		onServer = append(onServer, name)
	}
	rows.Close()
	if len(onServer) == 0 {
		return "", errors.New("the server has no binary logs")
	}
	archived, err := a.Dest.List(ctx, binlogsDir)
	if err != nil {
		return "", err
	}
	if len(archived) > 0 {
		last := strings.TrimPrefix(archived[len(archived)-1].Key, binlogsDir)
		for _, f := range onServer {
			if f == last {
				return last, nil
			}
		}
		a.Log.Warn("the newest archived binlog is no longer on the server: the archive has a gap", "archived", last, "oldest_on_server", onServer[0])
	}
	return onServer[0], nil
}

func (a *Archiver) stream(ctx context.Context, start string, uploaded map[string]int64) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(sctx, a.tool(),
		"--read-from-remote-server", "--raw", "--stop-never",
		"--host="+a.Server.Host, "--port="+strconv.Itoa(portOr(a.Server.Port)), "--user="+a.Server.User,
		"--stop-never-slave-server-id="+strconv.Itoa(4000000000+int(time.Now().UnixNano()%100000000)),
		"--result-file="+a.WorkDir+string(filepath.Separator), start)
	cmd.Env = append(os.Environ(), "MYSQL_PWD="+a.Server.Password)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", a.tool(), err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(a.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			_ = a.flush(context.WithoutCancel(ctx), uploaded, false)
			return fmt.Errorf("%s exited: %v: %s", a.tool(), err, strings.TrimSpace(stderr.String()))
		case <-tick.C:
			if err := a.flush(ctx, uploaded, false); err != nil {
				a.Log.Warn("uploading binlogs failed; will retry", "error", err)
			}
		case <-ctx.Done():
			cancel()
			<-done           //nolint:errcheck // killed by the cancel: its exit status says nothing
			return ctx.Err() // Run uploads what arrived (its final flush)
		}
	}
}

// flush uploads every finished file (then removes it locally) and the file
// being written when it grew, then rewrites the archive status.
func (a *Archiver) flush(ctx context.Context, uploaded map[string]int64, final bool) error {
	entries, err := os.ReadDir(a.WorkDir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Slice(names, func(i, j int) bool { return binlogBefore(names[i], names[j]) })
	var status ArchiveStatus
	for i, n := range names {
		p := filepath.Join(a.WorkDir, n)
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		current := i == len(names)-1
		if uploaded[n] != st.Size() {
			if err := a.upload(ctx, n, p); err != nil {
				return err
			}
			uploaded[n] = st.Size()
		}
		status = ArchiveStatus{File: n, Size: st.Size()}
		if !current && !final {
			_ = os.Remove(p) // finished and archived
		}
	}
	if status.File == "" {
		return nil
	}
	status.FlushedAt = time.Now().UTC()
	b, _ := json.Marshal(status)
	return a.Dest.Put(ctx, archiveStatusKey, bytes.NewReader(b))
}

func (a *Archiver) upload(ctx context.Context, name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := a.Dest.Put(ctx, binlogsDir+name, f); err != nil {
		return fmt.Errorf("archiving binlog %s: %w", name, err)
	}
	return nil
}

func portOr(p int) int {
	if p == 0 {
		return 3306
	}
	return p
}

// ArchivedUntil is when archive-binlogs last flushed (zero without archive).
func ArchivedUntil(ctx context.Context, dest Store) (time.Time, error) {
	rc, _, err := dest.Get(ctx, archiveStatusKey)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return time.Time{}, nil
		}
		return time.Time{}, err
	}
	defer rc.Close()
	var st ArchiveStatus
	if err := json.NewDecoder(io.LimitReader(rc, 1<<20)).Decode(&st); err != nil {
		return time.Time{}, fmt.Errorf("reading %s: %w", archiveStatusKey, err)
	}
	return st.FlushedAt, nil
}

// binlogsFor lists the archived files a point-in-time restore of m up to at
// needs, or says why the archive cannot serve it.
func binlogsFor(l *Listing, m *Manifest, at time.Time) ([]string, error) {
	if m.MySQL.BinlogFile == "" {
		return nil, fmt.Errorf("backup %s has no binlog position (the server ran without --log-bin): it cannot be rolled forward to %s", m.ID, at.UTC().Format(time.RFC3339))
	}
	if !l.ArchivedUntil.IsZero() && l.ArchivedUntil.Before(at) {
		return nil, fmt.Errorf("the binlog archive reaches only %s, before the requested %s: is `spinops backup archive-binlogs` running?", l.ArchivedUntil.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	}
	var files []string
	for _, b := range l.Binlogs {
		n := strings.TrimPrefix(b.Key, binlogsDir)
		if !binlogBefore(n, m.MySQL.BinlogFile) {
			files = append(files, n)
		}
	}
	if len(files) == 0 || files[0] != m.MySQL.BinlogFile {
		return nil, fmt.Errorf("the binlog archive does not hold %s, where backup %s starts: point-in-time recovery from it is not possible (is `spinops backup archive-binlogs` running?)", m.MySQL.BinlogFile, m.ID)
	}
	return files, nil
}

// replay applies archived binlogs from a backup's position up to a time,
// one database at a time (--database, --rewrite-db for renamed targets):
// `mariadb-binlog ... | mariadb`.
type replay struct {
	dest         Store
	tool, client string
	log          *slog.Logger
}

func (r replay) run(ctx context.Context, mm *MySQLManifest, files []string, at time.Time, t MySQLTarget) error {
	tool, client := r.tool, r.client
	if tool == "" {
		tool = "mariadb-binlog"
	}
	if client == "" {
		client = "mariadb"
	}
	dir, err := os.MkdirTemp("", "spinops-binlogs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var paths []string
	for _, f := range files {
		p := filepath.Join(dir, f)
		if err := r.download(ctx, binlogsDir+f, p); err != nil {
			return err
		}
		paths = append(paths, p)
	}
	stop := at.UTC().Format("2006-01-02 15:04:05")
	for _, d := range mm.Databases {
		args := []string{"--start-position=" + strconv.FormatUint(mm.BinlogPosition, 10), "--stop-datetime=" + stop, "--database=" + d.Name}
		if target := t.target(d.Name); target != d.Name {
			args = append(args, "--rewrite-db="+d.Name+"->"+target)
		}
		args = append(args, paths...)
		if err := r.pipe(ctx, tool, args, client, t.Server); err != nil {
			return fmt.Errorf("database %s: %w", d.Name, err)
		}
		r.log.Info("binlog replayed", "database", d.Name, "files", len(files), "until", stop)
	}
	return nil
}

func (r replay) download(ctx context.Context, key, path string) error {
	rc, _, err := r.dest.Get(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		return fmt.Errorf("downloading %s: %w", key, err)
	}
	return f.Close()
}

func (r replay) pipe(ctx context.Context, tool string, args []string, client string, s MySQLServer) error {
	dump := exec.CommandContext(ctx, tool, args...)
	dump.Env = append(os.Environ(), "TZ=UTC")
	apply := exec.CommandContext(ctx, client, "--host="+s.Host, "--port="+strconv.Itoa(portOr(s.Port)), "--user="+s.User, "--binary-mode")
	apply.Env = append(os.Environ(), "MYSQL_PWD="+s.Password, "TZ=UTC")
	var dumpErr, applyErr bytes.Buffer
	dump.Stderr, apply.Stderr = &dumpErr, &applyErr
	out, err := dump.StdoutPipe()
	if err != nil {
		return err
	}
	apply.Stdin = out
	if err := dump.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", tool, err)
	}
	if err := apply.Start(); err != nil {
		_ = dump.Process.Kill()
		_ = dump.Wait()
		return fmt.Errorf("starting %s: %w", client, err)
	}
	aerr := apply.Wait()
	derr := dump.Wait()
	if derr != nil {
		return fmt.Errorf("%s: %v: %s", tool, derr, strings.TrimSpace(dumpErr.String()))
	}
	if aerr != nil {
		return fmt.Errorf("%s: %v: %s", client, aerr, strings.TrimSpace(applyErr.String()))
	}
	return nil
}
