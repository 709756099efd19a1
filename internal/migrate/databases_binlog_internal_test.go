package migrate

import "testing"

// TestQueryBounds: the statement of a Query event as mariadb-binlog prints
// it (MariaDB 10.11's layout: header comments, setting lines, the
// statement, the delimiter alone on a line), and texts where the
// statement cannot be told apart from the tool's own lines.
func TestQueryBounds(t *testing.T) {
	head := "# at 4567\n#261207 16:30:09 server id 1  end_log_pos 4690 CRC32 0x1d2e3f40 \tQuery\tthread_id=9\texec_time=0\terror_code=0\txid=0\n" +
		"use `app_v2`/*!*/;\nSET TIMESTAMP=1796661009/*!*/;\nSET @@session.foreign_key_checks=1, sql_auto_is_null=0, unique_checks=1, autocommit=1, check_constraint_checks=1/*!*/;\n" +
		"SET @@session.sql_mode=1411383296/*!*/;\n/*!\\C utf8mb4 *//*!*/;\nSET @@session.character_set_client=utf8mb4,@@session.collation_connection=45,@@session.collation_server=45/*!*/;\n" +
		"/*!100001 SET @@session.gtid_seq_no=12*//*!*/;\n"
	for _, c := range []struct {
		name, stmt string
		ok         bool
	}{
		{"one line", "ALTER TABLE `app`.t ADD c INT", true},
		{"several lines", "CREATE TABLE t (\n  id INT,\n  v TEXT\n)", true},
		{"an executable comment", "/*!40000 ALTER TABLE app.t DISABLE KEYS */", true},
		{"starting like a setting", "SET PASSWORD FOR 'u'@'%' = PASSWORD('x')", true},
		{"the delimiter inside", "ALTER TABLE other.t ADD ts TIMESTAMP NULL ON # /*!*/;\nUPDATE CURRENT_TIMESTAMP", false},
		{"the delimiter ending a first line", "ALTER TABLE other.t DROP c /*!*/;\n, DROP d", false},
		{"the delimiter in a string", "ALTER TABLE t COMMENT '/*!*/;'", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			text := head + c.stmt + "\n" + delimiter + "\n"
			start, end, ok := queryBounds(text)
			if ok != c.ok {
				t.Fatalf("queryBounds: ok %t, want %t (%q)", ok, c.ok, text[start:end])
			}
			if ok && text[start:end] != c.stmt {
				t.Errorf("queryBounds: %q, want %q", text[start:end], c.stmt)
			}
		})
	}
	if _, _, ok := queryBounds(head); ok {
		t.Error("queryBounds of a text without the closing delimiter: ok")
	}
}
