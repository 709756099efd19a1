package backup

import (
	"strings"
	"testing"
	"time"
)

// The shared test server always has a ROW binlog, so the refusal for other
// servers is proved on what the preflight reads from them.
func TestPointInTimeRefusesServerWithoutRowBinlog(t *testing.T) {
	for _, tc := range []struct {
		si   serverInfo
		want string
	}{
		{serverInfo{LogBin: false, BinlogFormat: "ROW"}, "log_bin=OFF"},
		{serverInfo{LogBin: true, BinlogFormat: "STATEMENT"}, "binlog_format=ROW"},
		{serverInfo{LogBin: true, BinlogFormat: "MIXED"}, "binlog_format=ROW"},
	} {
		err := tc.si.checkPointInTime("db:3306")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error naming %s", tc.si, err, tc.want)
		}
	}
	if err := (serverInfo{LogBin: true, BinlogFormat: "row"}).checkPointInTime("db:3306"); err != nil {
		t.Errorf("ROW binlog refused: %v", err)
	}
}

func TestRetentionRules(t *testing.T) {
	if !(Retention{}).keeps(7, &Manifest{}, time.Time{}) {
		t.Error("no rules must keep everything")
	}
}

func TestParseLocation(t *testing.T) {
	l, err := ParseLocation("s3://bucket/a/b/")
	if err != nil || l.Bucket != "bucket" || l.Prefix != "a/b/" {
		t.Errorf("%+v %v", l, err)
	}
	if _, err := ParseLocation("http://x/y"); err == nil {
		t.Error("http:// accepted")
	}
	if _, err := parseStoreURL("file://relative"); err == nil {
		t.Error("relative file:// accepted")
	}
}

func TestCharsetClause(t *testing.T) {
	got := charsetClause("CREATE DATABASE `x` /*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci */")
	if got != "DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci" {
		t.Errorf("%q", got)
	}
}
