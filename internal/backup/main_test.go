package backup_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	_ "github.com/go-sql-driver/mysql"

	"github.com/spinops/terraform-provider-spinops/internal/backup"
	awscloud "github.com/spinops/terraform-provider-spinops/internal/cloud/aws"
	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// env is one test's MariaDB database and moto buckets.
type env struct {
	t    *testing.T
	db   *testenv.MariaDB
	moto *testenv.Moto
	s3   *s3.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, db: testenv.SharedMariaDB(t), moto: testenv.SharedMoto(t)}
	cfg := aws.Config{
		Region:      testenv.MotoRegion,
		Credentials: credentials.NewStaticCredentialsProvider(testenv.MotoAccessKeyID, testenv.MotoSecretAccessKey, ""),
	}
	e.s3 = awscloud.NewS3Client(cfg, awscloud.Endpoints{}, awscloud.S3Options{Endpoint: e.moto.Endpoint, PathStyle: true})
	return e
}

// newOwnServerEnv is newEnv with a MariaDB server of the test's own, for
// tests that reset, purge, restart or roll back its binary log.
func newOwnServerEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	e.db = testenv.StartMariaDB(t)
	return e
}

func (e *env) bucket() string {
	e.t.Helper()
	name := testenv.UniqueName("tf-acc-test-", 8)
	if _, err := e.s3.CreateBucket(e.t.Context(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		e.t.Fatalf("creating bucket: %v", err)
	}
	return name
}

func (e *env) store(bucket, prefix string) backup.Store {
	return backup.NewS3Store(e.s3, backup.Location{Scheme: "s3", Bucket: bucket, Prefix: prefix})
}

func (e *env) server() *backup.MySQLServer {
	return &backup.MySQLServer{Host: e.db.Host, Port: e.db.Port, User: e.db.RootUser, Password: e.db.RootPassword}
}

func (e *env) sql(db string) *sql.DB {
	e.t.Helper()
	d, err := sql.Open("mysql", e.db.DSN(db)+"?multiStatements=true")
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { d.Close() })
	return d
}

func exec(t *testing.T, d *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := d.ExecContext(t.Context(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// dumpTables renders every row of every table of db, sorted, for comparison.
func dumpTables(t *testing.T, d *sql.DB, db string) string {
	t.Helper()
	rows, err := d.QueryContext(t.Context(), "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1", db)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	var out bytes.Buffer
	for _, tb := range tables {
		fmt.Fprintf(&out, "== %s\n", tb)
		r, err := d.QueryContext(t.Context(), "SELECT * FROM `"+db+"`.`"+tb+"`")
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := r.Columns()
		var lines []string
		for r.Next() {
			vals := make([]sql.RawBytes, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := r.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var parts []string
			for _, v := range vals {
				if v == nil {
					parts = append(parts, "NULL")
				} else {
					parts = append(parts, fmt.Sprintf("%q", []byte(v)))
				}
			}
			lines = append(lines, strings.Join(parts, "|"))
		}
		r.Close()
		sort.Strings(lines)
		out.WriteString(strings.Join(lines, "\n"))
		out.WriteString("\n")
	}
	return out.String()
}

func readAll(t *testing.T, s backup.Store, key string) []byte {
	t.Helper()
	b, err := tryRead(t.Context(), s, key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tryRead reads the object key, for a condition polled while the
// archiver may move or replace it.
func tryRead(ctx context.Context, s backup.Store, key string) ([]byte, error) {
	rc, _, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	return b, nil
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

var _ = os.Getenv

// testKeys signs and verifies the tests' manifests (HMAC, as a policy's
// signing Secret would).
func testKeys() *backup.Keys {
	return &backup.Keys{HMAC: []byte("tf-acc-test-signing-key-0123456789abcdef")}
}

// engine is an engine over dest with the tests' keys.
func (e *env) engine(dest backup.Store) *backup.Engine {
	return &backup.Engine{Dest: dest, Log: testLogger(e.t), Keys: testKeys()}
}
