package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"
)

// OpenMySQL opens a MySQL/MariaDB registry (go-sql-driver DSN, e.g.
// user:pass@tcp(host:3306)/spinops) and creates its tables when needed.
func OpenMySQL(ctx context.Context, dsn string) (Store, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("parsing the MySQL DSN: %w", err)
	}
	cfg.ParseTime = true
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, fmt.Errorf("opening the MySQL store: %w", err)
	}
	db.SetMaxOpenConns(8)
	db.SetConnMaxLifetime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connecting to the MySQL store at %s: %w", cfg.Addr, err)
	}
	s := &sqlStore{db: db, d: dialect{
		name:         "MySQL",
		insertIgnore: "INSERT IGNORE",
		isDuplicate: func(err error) bool {
			var me *mysql.MySQLError
			return errors.As(err, &me) && me.Number == 1062
		},
	}}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}
