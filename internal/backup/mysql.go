package backup

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// MySQLServer is how to reach a MySQL-compatible server.
type MySQLServer struct {
	Host     string
	Port     int
	User     string
	Password string
	// TLS is "" (the driver's default: no TLS), "required" (encrypted, the
	// certificate is not checked), "verify_ca" (the certificate chains to
	// CAFile) or "verify_full" (and names Host). CAFile is a PEM file
	// (mounted from a Secret in the cluster); without it the system roots.
	TLS    string
	CAFile string
}

// TLS modes of MySQLServer.
const (
	TLSRequired   = "required"
	TLSVerifyCA   = "verify_ca"
	TLSVerifyFull = "verify_full"
)

// TLSModes lists the accepted values of MySQLServer.TLS.
var TLSModes = []string{TLSRequired, TLSVerifyCA, TLSVerifyFull}

func (s MySQLServer) addr() string {
	port := s.Port
	if port == 0 {
		port = 3306
	}
	return net.JoinHostPort(s.Host, strconv.Itoa(port))
}

func (s MySQLServer) String() string { return s.User + "@" + s.addr() }

// conn opens one connection to database db ("" for none); release
// releases it and its pool.
func (s MySQLServer) conn(ctx context.Context, db string) (conn *sql.Conn, release func(), err error) {
	pool, err := s.open(db)
	if err != nil {
		return nil, nil, err
	}
	c, err := pool.Conn(ctx)
	if err != nil {
		_ = pool.Close()
		return nil, nil, connectError(s, err)
	}
	return c, func() { _ = c.Close(); _ = pool.Close() }, nil
}

// open returns a connection pool to database db ("" for none).
func (s MySQLServer) open(db string) (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = s.User, s.Password, "tcp", s.addr(), db
	cfg.Timeout = 10 * time.Second
	cfg.AllowNativePasswords = true
	cfg.MaxAllowedPacket = 0 // ask the server
	cfg.DialFunc = dialBuffered
	if s.TLS != "" {
		tc, err := s.tlsConfig()
		if err != nil {
			return nil, err
		}
		cfg.TLS = tc
	}
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("configuring the connection to %s: %w", s, err)
	}
	return sql.OpenDB(c), nil
}

// readBuffer is how much of the server's stream one read takes in. The
// driver reads a connection 4 KiB at a time (its buffer), so a dump of
// gigabytes would be about a million read system calls; with this buffer
// it is a few thousand.
const readBuffer = 256 << 10

// dialBuffered dials the server over TCP (with keep-alives, as the driver
// sets them on a plain TCP connection) and reads it through a 256 KiB
// buffer. TLS, when configured, runs on top of it.
func dialBuffered(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{KeepAlive: 15 * time.Second}
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, readBuffer)}, nil
}

// bufferedConn is a connection whose reads go through a buffer; bufio's
// Read makes at most one read of the connection, so it never waits for
// more than the server has sent.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// connectError explains a failed connection in terms of what to fix.
func connectError(s MySQLServer, err error) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1045:
			return fmt.Errorf("MySQL at %s rejected user %q: wrong user or password (%v)", s.addr(), s.User, err)
		case 1044, 1049:
			return fmt.Errorf("MySQL at %s: %v", s.addr(), err)
		}
	}
	return fmt.Errorf("connecting to MySQL at %s as %q: %w", s.addr(), s.User, err)
}

// serverInfo is what preflight checks learn about a server.
type serverInfo struct {
	Version      string
	MariaDB      bool
	LogBin       bool
	BinlogFormat string
	// Identity: server_id, and MySQL's server_uuid or MariaDB's GTID domain.
	ServerID   uint32
	ServerUUID string
	GTIDDomain uint32
	// Instance is @@hostname:@@port:@@datadir. MariaDB's identity
	// (server_id, GTID domain) is unique only among servers that replicate
	// from each other: two unrelated servers are often both server_id 1.
	// The instance tells them apart, and is the same whatever address or
	// proxy the server is reached through.
	Instance string
}

// Key is the server's identity as a folder name of the binlog archive:
// mysql-<server_uuid>, or mariadb-<gtid_domain_id>-<server_id> (MariaDB has
// no server_uuid; replication already requires server_id to be unique).
func (si serverInfo) Key() string {
	if si.ServerUUID != "" {
		return "mysql-" + si.ServerUUID
	}
	if si.MariaDB {
		return fmt.Sprintf("mariadb-%d-%d", si.GTIDDomain, si.ServerID)
	}
	return fmt.Sprintf("mysql-%d", si.ServerID)
}

func readServerInfo(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (serverInfo, error) {
	var si serverInfo
	var logBin int
	if err := q.QueryRowContext(ctx, "SELECT VERSION(), @@global.log_bin, @@global.binlog_format").Scan(&si.Version, &logBin, &si.BinlogFormat); err != nil {
		return si, fmt.Errorf("reading the server version and binary-log settings: %w", err)
	}
	si.MariaDB = strings.Contains(strings.ToLower(si.Version), "mariadb")
	si.LogBin = logBin == 1
	var err error
	if si.MariaDB {
		err = q.QueryRowContext(ctx, "SELECT @@server_id, @@gtid_domain_id").Scan(&si.ServerID, &si.GTIDDomain)
	} else {
		err = q.QueryRowContext(ctx, "SELECT @@server_id, @@server_uuid").Scan(&si.ServerID, &si.ServerUUID)
	}
	if err != nil {
		return si, fmt.Errorf("reading the server's identity (server_id): %w", err)
	}
	var host, datadir string
	var port int
	if err := q.QueryRowContext(ctx, "SELECT @@hostname, @@port, @@datadir").Scan(&host, &port, &datadir); err != nil {
		return si, fmt.Errorf("reading the server's instance (hostname, port, datadir): %w", err)
	}
	si.Instance = fmt.Sprintf("%s:%d:%s", host, port, datadir)
	return si, nil
}

// binaryLogStatus is the end of the server's binary log: SHOW BINARY LOG
// STATUS (MySQL 8.2+, where 8.4 removed SHOW MASTER STATUS), else SHOW
// MASTER STATUS (MariaDB, older MySQL). Columns: File, Position,
// Binlog_Do_DB, Binlog_Ignore_DB and, on MySQL, Executed_Gtid_Set.
func binaryLogStatus(ctx context.Context, conn *sql.Conn) (file string, pos uint64, gtid string, err error) {
	for _, q := range []string{"SHOW BINARY LOG STATUS", "SHOW MASTER STATUS"} {
		file, pos, gtid, err = scanBinlogStatus(ctx, conn, q)
		if err == nil {
			return file, pos, gtid, nil
		}
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 1064 { // 1064: syntax error, the statement does not exist here
			break
		}
	}
	return "", 0, "", fmt.Errorf("reading the binary log position (needs BINLOG MONITOR / REPLICATION CLIENT): %w", err)
}

func scanBinlogStatus(ctx context.Context, conn *sql.Conn, q string) (string, uint64, string, error) {
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return "", 0, "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", 0, "", err
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return "", 0, "", err
		}
		return "", 0, "", errors.New(q + " returned nothing: is the binary log enabled?")
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return "", 0, "", err
	}
	var file, gtid string
	var pos uint64
	for i, c := range cols {
		switch strings.ToLower(c) {
		case "file":
			file = vals[i].String
		case "position":
			pos, _ = strconv.ParseUint(vals[i].String, 10, 64)
		case "executed_gtid_set":
			gtid = vals[i].String
		}
	}
	return file, pos, gtid, nil
}

// checkPointInTime refuses a server whose binary log cannot give point-in-time recovery.
func (si serverInfo) checkPointInTime(addr string) error {
	if !si.LogBin {
		return fmt.Errorf("point-in-time recovery needs the binary log, and MySQL at %s has log_bin=OFF: start it with --log-bin (Aurora: binlog_format in the cluster parameter group)", addr)
	}
	if !strings.EqualFold(si.BinlogFormat, "ROW") {
		return fmt.Errorf("point-in-time recovery needs binlog_format=ROW, and MySQL at %s has %s: set binlog_format=ROW", addr, si.BinlogFormat)
	}
	return nil
}

func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// QuoteIdent quotes a MySQL identifier with backticks (a backtick in it doubled).
func QuoteIdent(s string) string { return quoteIdent(s) }
