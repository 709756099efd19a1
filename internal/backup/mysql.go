package backup

import (
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
}

func (s MySQLServer) addr() string {
	port := s.Port
	if port == 0 {
		port = 3306
	}
	return net.JoinHostPort(s.Host, strconv.Itoa(port))
}

func (s MySQLServer) String() string { return s.User + "@" + s.addr() }

// open returns a connection pool to database db ("" for none).
func (s MySQLServer) open(db string) (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = s.User, s.Password, "tcp", s.addr(), db
	cfg.Timeout = 10 * time.Second
	cfg.AllowNativePasswords = true
	cfg.MaxAllowedPacket = 0 // ask the server
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("configuring the connection to %s: %w", s, err)
	}
	return sql.OpenDB(c), nil
}

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
	return si, nil
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
