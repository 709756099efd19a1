# failures.awk: what failed, from `go test` output (plain or -v, also
# indented, as the lanes' logs nest it), for the end of make test's log,
# which is all a truncated CI log shows: each failed test with the last
# lines it printed (attributed by go test -v's === RUN/CONT/NAME markers,
# or following its --- FAIL line without -v), and the failed packages.
#
# Lines before those last ones that report an error in terraform's words
# (an "Error: " line, which terraform prints above its details) are shown
# too, up to 5, so a terraform error followed by a long tail (its source
# excerpt, a destroy's output, the test's own clean-up) still shows.
#
# Usage: awk -v max=12 -f scripts/failures.awk LOG...
function trim(s) {
	sub(/^[[:space:]]+/, "", s)
	return length(s) > 300 ? substr(s, 1, 300) " …" : s
}
FNR == 1 { cur = "" }
/^[[:space:]]*=== (RUN|CONT|NAME|PAUSE)[[:space:]]/ { cur = FILENAME SUBSEP $3; next }
/^[[:space:]]*--- FAIL: / {
	t = FILENAME SUBSEP $3
	if (!(t in failed)) { failed[t] = 1; order[++n] = t }
	cur = t
	next
}
/^[[:space:]]*--- (PASS|SKIP): / { cur = ""; next }
/^[[:space:]]*FAIL[[:space:]]+[^[:space:]]+[[:space:]]+[0-9.]+s/ { pkgs[++np] = trim($0); cur = ""; next }
/^[[:space:]]*(PASS|FAIL|ok[[:space:]])/ { cur = ""; next }
cur != "" { lines[cur, ++count[cur]] = trim($0) }
END {
	if (max == "") max = 12
	for (i = 1; i <= n; i++) {
		t = order[i]
		split(t, parts, SUBSEP)
		# A parent that only failed because a subtest did prints nothing.
		if (count[t] == 0 && i < n && index(order[i + 1], t "/") == 1) continue
		printf "  --- FAIL: %s\n", parts[2]
		from = count[t] > max ? count[t] - max + 1 : 1
		if (from > 1) {
			shown = 0
			for (j = 1; j < from && shown < 5; j++)
				if (lines[t, j] ~ /^Error: /) {
					if (shown++ == 0) printf "      (terraform's errors in the %d lines before the last ones:)\n", from - 1
					printf "      %s\n", lines[t, j]
				}
			printf "      (%d lines before these)\n", from - 1
		}
		for (j = from; j <= count[t]; j++) printf "      %s\n", lines[t, j]
	}
	for (i = 1; i <= np; i++) printf "  %s\n", pkgs[i]
}
