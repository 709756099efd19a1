package backup

// This file: what an incremental copy of databases (`spinops migrate data`)
// needs from the engine: a server's identity and binary-log settings, the
// binary log files it still has, where its log ends, and the replay pipe
// (`mariadb-binlog | mariadb`) reading the old server's log remotely.

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"strconv"
)

// Open returns a connection pool to database db ("" for none) on s, with
// the engine's settings (TLS included).
func (s MySQLServer) Open(db string) (*sql.DB, error) { return s.open(db) }

// Addr is s's HOST:PORT (port 3306 when unset).
func (s MySQLServer) Addr() string { return s.addr() }

// ServerState is a server's identity and binary-log settings.
type ServerState struct {
	Version      string
	MariaDB      bool
	LogBin       bool
	BinlogFormat string
	// Key is the server's identity as the binlog archive names it
	// (mariadb-<gtid_domain>-<server_id> or mysql-<server_uuid>); Instance
	// is @@hostname:@@port:@@datadir, which tells apart unrelated servers
	// that share a server_id.
	Key, Instance string
}

// ReadServerState connects to s and reads its identity and binary-log
// settings.
func ReadServerState(ctx context.Context, s MySQLServer) (ServerState, error) {
	pool, err := s.open("")
	if err != nil {
		return ServerState{}, err
	}
	defer pool.Close()
	if err := pool.PingContext(ctx); err != nil {
		return ServerState{}, connectError(s, err)
	}
	si, err := readServerInfo(ctx, pool)
	if err != nil {
		return ServerState{}, err
	}
	return ServerState{Version: si.Version, MariaDB: si.MariaDB, LogBin: si.LogBin, BinlogFormat: si.BinlogFormat, Key: si.Key(), Instance: si.Instance}, nil
}

// BinaryLogFile is one file of SHOW BINARY LOGS.
type BinaryLogFile struct {
	Name string
	Size uint64
}

// BinaryLogs lists the binary log files s still has, oldest first (SHOW
// BINARY LOGS: BINLOG MONITOR on MariaDB, REPLICATION CLIENT on MySQL).
func BinaryLogs(ctx context.Context, s MySQLServer) ([]BinaryLogFile, error) {
	pool, err := s.open("")
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	rows, err := pool.QueryContext(ctx, "SHOW BINARY LOGS")
	if err != nil {
		return nil, fmt.Errorf("listing the binary logs of %s (needs BINLOG MONITOR / REPLICATION CLIENT): %w", s.addr(), err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []BinaryLogFile
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		f := BinaryLogFile{Name: vals[0].String}
		if len(vals) > 1 {
			f.Size, _ = strconv.ParseUint(vals[1].String, 10, 64)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// BinaryLogEnd is where s's binary log ends now (SHOW BINARY LOG STATUS or
// SHOW MASTER STATUS).
func BinaryLogEnd(ctx context.Context, s MySQLServer) (file string, pos uint64, err error) {
	p, err := readServerPosition(ctx, s)
	return p.File, p.Position, err
}

// RemoteBinlogApply applies the events of one database from Source's binary
// log, read remotely (`mariadb-binlog --read-from-remote-server
// --start-position --stop-position --database [--rewrite-db] FILES...`),
// to Target through `mariadb --binary-mode`: the replay pipe of
// point-in-time recovery, with the log read from the server instead of
// the archive.
type RemoteBinlogApply struct {
	Source, Target MySQLServer
	// Files are the binary log files to read, in order; StartPosition is
	// in the first, StopPosition in the last (both event boundaries).
	Files                       []string
	StartPosition, StopPosition uint64
	// Database is the source database whose events are applied; Into is
	// the target database they go to (empty: the same name).
	Database, Into string
	// Tool and Client override mariadb-binlog and mariadb.
	Tool, Client string
	// Filter, when set, sits between the tool and the client.
	Filter func(io.Reader, io.Writer) error
}

// Run applies the events. The tool gets the source's password in its
// environment (MYSQL_PWD), never on its command line.
func (a RemoteBinlogApply) Run(ctx context.Context) error {
	if len(a.Files) == 0 || a.Database == "" {
		return fmt.Errorf("applying the binlog: no files or no database")
	}
	tool, client := a.Tool, a.Client
	if tool == "" {
		tool = "mariadb-binlog"
	}
	if client == "" {
		client = "mariadb"
	}
	args := append([]string{"--read-from-remote-server"}, a.Source.cliArgs()...)
	args = append(args, "--start-position="+strconv.FormatUint(a.StartPosition, 10),
		"--stop-position="+strconv.FormatUint(a.StopPosition, 10), "--database="+a.Database)
	if a.Into != "" && a.Into != a.Database {
		args = append(args, "--rewrite-db="+a.Database+"->"+a.Into)
	}
	args = append(args, a.Files...)
	return replay{}.pipe(ctx, tool, args, []string{"MYSQL_PWD=" + a.Source.Password}, client, a.Target, a.Filter)
}
