# mlpipe test-runner, ksqlDB's ksql-test-runner: every case under tests/sql
# (statements.sql, input.json, output.json) passes; a wrong expectation of
# any kind (value, key, timestamp, too many or too few records, a topic
# that gets nothing) fails with exit 1 and names the first difference;
# malformed or incomplete test files exit 2 with the position or the
# missing field; a statement that fails is a failed test; each run starts
# from a fresh temporary log and removes it.
. "$(dirname "$0")/lib.sh"
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
CASES="$SRC/tests/sql"
runner() { "$MLPIPE" test-runner "$@"; }

# ---- every case passes --------------------------------------------------
n=0
for c in "$CASES"/*/; do
    c=${c%/}
    name=$(basename "$c")
    n=$((n + 1))
    expect_exit 0 "case $name" -- runner -s "$c/statements.sql" -i "$c/input.json" -o "$c/output.json"
    [ "$(cat "$T/out")" = "$(printf '\t >>> Test passed!')" ] && ok || bad "case $name: output: $(cat "$T/out")"
done
[ "$n" -ge 10 ] && ok || bad "only $n cases under $CASES"

O="$CASES/orders_case"
expect_exit 0 "long flags, --flag=value" -- runner --sql-file "$O/statements.sql" --input-file="$O/input.json" --output-file "$O/output.json"
expect_out "Test passed" "long flags"

# Fresh state per run, nothing left behind: the temporary log is removed.
mkdir -p "$T/tmp"
TMPDIR="$T/tmp" "$MLPIPE" test-runner -s "$O/statements.sql" -i "$O/input.json" -o "$O/output.json" >/dev/null 2>&1 || bad "run with TMPDIR"
[ -z "$(ls -A "$T/tmp")" ] && ok || bad "temporary directory left behind: $(ls -A "$T/tmp")"
# The same case twice in a row passes twice (nothing carried over).
expect_exit 0 "second run" -- runner -s "$O/statements.sql" -i "$O/input.json" -o "$O/output.json"

# ---- wrong expectations: exit 1 and the first difference ----------------
# edit FILE PYTHON: writes $T/edited.json, FILE's JSON changed by PYTHON on d.
edit() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); exec(sys.argv[2]); json.dump(d, open(sys.argv[3], "w"))' "$1" "$2" "$T/edited.json"
}
run_o() { runner -s "$O/statements.sql" -i "$O/input.json" -o "$T/edited.json"; }

edit "$O/output.json" 'd["outputs"][4]["value"]["ORDERUNITS"] = 18.0'
expect_exit 1 "wrong value" -- run_o
expect_out "Test failed: Topic 'S1', message 4: Expected <101, \{\"ORDERUNITS\":18.0,\"CASE_RESULT\":\"small\"\}> with timestamp=0 but was <101, \{\"ORDERUNITS\":1.0,\"CASE_RESULT\":\"small\"\}> with timestamp=0" "names topic, index, expected and actual"
grep -q "Test passed" "$T/out" && bad "a failure also says passed" || ok

edit "$O/output.json" 'd["outputs"][2]["value"]["CASE_RESULT"] = "LARGE"'
expect_exit 1 "strings compare exactly" -- run_o
expect_out "message 2:" "index of the first difference"

edit "$O/output.json" 'd["outputs"][1]["key"] = 99'
expect_exit 1 "wrong key" -- run_o
expect_out "message 1: Expected <99, .* but was <100, " "key difference"

edit "$O/output.json" 'd["outputs"][0]["key"] = "0"'
expect_exit 1 "a string key is not the number" -- run_o

edit "$O/output.json" 'd["outputs"][3]["timestamp"] = 5'
expect_exit 1 "wrong timestamp" -- run_o
expect_out "message 3: Expected <.*> with timestamp=5 but was <.*> with timestamp=0" "timestamp difference"

edit "$O/output.json" 'd["outputs"] = d["outputs"][:3]'
expect_exit 1 "extra actual records" -- run_o
expect_out "Topic 'S1'. Expected <3> records but it was <5>" "counts"
expect_out "First extra record, message 3: <101, " "the first extra one"
expect_out "^Actual records:" "lists the actual records"

edit "$O/output.json" 'd["outputs"].append({"topic": "S1", "key": 7, "value": {"ORDERUNITS": 1.0, "CASE_RESULT": "small"}})'
expect_exit 1 "missing actual records" -- run_o
expect_out "Expected <6> records but it was <5>" "counts"
expect_out "First missing record, message 5: <7, " "the first missing one"

edit "$O/output.json" 'd["outputs"].append({"topic": "nothing_here", "key": None, "value": "x"})'
expect_exit 1 "a topic that got nothing" -- run_o
expect_out "Topic 'nothing_here'. Expected <1> records but it was <0>" "empty topic"

edit "$O/output.json" 'd["outputs"][0]["value"]["EXTRA"] = 1'
expect_exit 1 "an extra field in the expected value" -- run_o
edit "$O/output.json" 'del d["outputs"][0]["value"]["CASE_RESULT"]'
expect_exit 1 "a field missing from the expected value" -- run_o
edit "$O/output.json" 'd["outputs"][0]["value"]["CASE_RESULT"] = None'
expect_exit 1 "null is not a value" -- run_o

# JSON is compared as values, not text: key order, spacing, 2 = 2.0.
edit "$O/output.json" 'd["outputs"] = [{"value": {"CASE_RESULT": r["value"]["CASE_RESULT"], "ORDERUNITS": int(r["value"]["ORDERUNITS"])}, "key": r["key"], "topic": r["topic"]} for r in d["outputs"]]'
expect_exit 0 "JSON values, not text; timestamps optional" -- run_o
expect_out "Test passed" "reordered, integers for doubles"

# Without input records (INSERT VALUES made them) an expected timestamp of
# 0 matches any; with input records it must be exact (above).
I="$CASES/insert_values"
edit "$I/output.json" 'd["outputs"][1]["timestamp"] = 0'
expect_exit 0 "timestamp 0 is a wildcard without inputs" -- runner -s "$I/statements.sql" -o "$T/edited.json"
edit "$I/output.json" 'd["outputs"][1]["timestamp"] = 1700000000001'
expect_exit 1 "a given ROWTIME is compared" -- runner -s "$I/statements.sql" -i "$I/input.json" -o "$T/edited.json"

# DELIMITED values are strings, compared exactly.
P="$CASES/pageviews_filter"
edit "$P/output.json" 'd["outputs"][1]["value"] = "1510923227000,User_1,Page_31"'
expect_exit 1 "delimited value" -- runner -s "$P/statements.sql" -i "$P/input.json" -o "$T/edited.json"
expect_out "Topic 'PAGEVIEWS_USER1', message 1: Expected <null, \"1510923227000,User_1,Page_31\"> with timestamp=1510923227000 but was <null, \"1510923227000,User_1,Page_30\">" "strings shown quoted"

# ---- what goes onto the topics ------------------------------------------
K="$CASES/keys_bigint"
expect_exit 0 "keep the data" -- runner -s "$K/statements.sql" -i "$K/input.json" -o "$K/output.json" --keep-data "$T/kept"
"$MLPIPE" consume HOT --data-dir "$T/kept" --from-beginning --print-key >"$T/raw" 2>&1 || bad "consume HOT"
# key 9007199254740993 = 0x0020000000000001, 8 bytes big-endian; 40.5 as an
# IEEE 754 double, big-endian; key -1 = ff x 8.
hex=$(od -An -v -tx1 "$T/raw" | tr -d ' \n')
case "$hex" in *00200000000000010940444000000000000a*) ok ;; *) bad "BIGINT key and DOUBLE value bytes: $hex" ;; esac
case "$hex" in *ffffffffffffffff09404e000000000000*) ok ;; *) bad "negative BIGINT key bytes: $hex" ;; esac
expect_exit 2 "--keep-data refuses a used directory" -- runner -s "$K/statements.sql" -i "$K/input.json" -o "$K/output.json" --keep-data "$T/kept"
expect_err "not empty" "says why"
J="$CASES/json_projection"
expect_exit 0 "keep json" -- runner -s "$J/statements.sql" -i "$J/input.json" -o "$J/output.json" --keep-data "$T/kept2"
"$MLPIPE" consume orders --data-dir "$T/kept2" --from-beginning >"$T/raw" 2>&1
grep -q '^{"customer":"bob","units":1,"price":9.99,' "$T/raw" && ok || bad "JSON input written as given: $(cat "$T/raw")"

# ---- bad files: exit 2, with the position or the field -------------------
printf '{"inputs": [\n  {"topic": "test_topic", "key": 0, "value": {"ORDERUNITS": 2.0}},\n  {"topic": "test_topic" "key": 1}\n]}\n' >"$T/bad_in.json"
expect_exit 2 "input syntax error" -- runner -s "$O/statements.sql" -i "$T/bad_in.json" -o "$O/output.json"
expect_err "bad_in.json: 3:26: " "file:line:column of the input error"
printf '{"outputs": [\n    {"topic": "S1", "value": {"A": 1,}}\n]}\n' >"$T/bad_out.json"
expect_exit 2 "output syntax error" -- runner -s "$O/statements.sql" -i "$O/input.json" -o "$T/bad_out.json"
expect_err "bad_out.json: 2:38: " "file:line:column of the output error"
printf '' >"$T/empty.json"
expect_exit 2 "empty file" -- runner -s "$O/statements.sql" -i "$T/empty.json" -o "$O/output.json"
expect_err "empty.json: 1:" "position"
printf '{"inputs": [{"topic": "a", "value": 1}], "inputs": []}' >"$T/dup.json"
expect_exit 2 "duplicate keys" -- runner -s "$O/statements.sql" -i "$T/dup.json" -o "$O/output.json"
expect_err "dup.json: 1:" "position"

edit "$O/input.json" 'del d["inputs"][1]["topic"]'
expect_exit 2 "input without topic" -- runner -s "$O/statements.sql" -i "$T/edited.json" -o "$O/output.json"
expect_err "inputs\[1\]: missing field 'topic'" "names the field and the record"
edit "$O/input.json" 'del d["inputs"][2]["value"]'
expect_exit 2 "input without value" -- runner -s "$O/statements.sql" -i "$T/edited.json" -o "$O/output.json"
expect_err "inputs\[2\]: missing field 'value'" "names the field"
edit "$O/output.json" 'd = {"records": d["outputs"]}'
expect_exit 2 "no outputs array" -- run_o
expect_err "missing field 'outputs'" "names the array"
edit "$O/output.json" 'd["outputs"] = []'
expect_exit 2 "empty outputs" -- run_o
expect_err "'outputs' is empty" "nothing expected is refused"
edit "$O/output.json" 'd["outputs"][0]["timestamp"] = "soon"'
expect_exit 2 "bad timestamp" -- run_o
expect_err "outputs\[0\]: 'timestamp'" "names the field"
# Windowed keys: a window expected where the key has none is a
# difference; a malformed window or one on an input record is refused.
edit "$O/output.json" 'd["outputs"][0]["window"] = {"start": 0, "end": 10, "type": "time"}'
expect_exit 1 "a window expected on an unwindowed key" -- run_o
expect_out "message 0: Expected <.* \[time 0..10\], .* but was <[^[]*>" "shows the expected window"
edit "$O/output.json" 'd["outputs"][0]["window"] = {"start": 0, "type": "time"}'
expect_exit 2 "window without end" -- run_o
expect_err "outputs\[0\]: 'window' must be" "names the record"
edit "$O/output.json" 'd["outputs"][0]["window"] = {"start": 0, "end": 5, "type": "sliding"}'
expect_exit 2 "unknown window type" -- run_o
edit "$O/input.json" 'd["inputs"][0]["window"] = {"start": 0, "end": 10, "type": "time"}'
expect_exit 2 "a windowed input record" -- runner -s "$O/statements.sql" -i "$T/edited.json" -o "$O/output.json"
expect_err "inputs\[0\]: windowed keys" "windowed inputs refused, said so"
S="$CASES/session_max"
run_s() { runner -s "$S/statements.sql" -i "$S/input.json" -o "$T/edited.json"; }
edit "$S/output.json" 'd["outputs"][2]["window"]["start"] = 1'
expect_exit 1 "wrong session start" -- run_s
expect_out "message 2: Expected <0 \[session 1..10000\], \"5\"> with timestamp=10000 but was <0 \[session 0..10000\], \"5\">" "session window difference"
edit "$S/output.json" 'd["outputs"][2]["window"]["type"] = "TIME"'
expect_exit 1 "a session is not a time window" -- run_s
edit "$S/output.json" 'd["outputs"][1]["window"]["type"] = "SESSION"'
expect_exit 0 "the window type in any case" -- run_s
edit "$S/output.json" 'del d["outputs"][1]'
expect_exit 1 "a missing tombstone" -- run_s
expect_out "message 1: Expected <0 \[session 0..10000\], \"5\"> .* but was <0 \[session 0..0\], null>" "the tombstone is a record"
edit "$O/input.json" 'd["inputs"][3]["key"] = "abc"'
expect_exit 2 "a key that does not fit the key column" -- runner -s "$O/statements.sql" -i "$T/edited.json" -o "$O/output.json"
expect_err "inputs\[3\]: key: " "names the record and the side"
expect_exit 2 "missing statements file" -- runner -s "$T/nope.sql" -i "$O/input.json" -o "$O/output.json"
expect_err "nope.sql" "names the file"
expect_exit 2 "missing input file" -- runner -s "$O/statements.sql" -i "$T/nope.json" -o "$O/output.json"
expect_err "nope.json" "names the file"
expect_exit 2 "no output file" -- runner -s "$O/statements.sql" -i "$O/input.json"
expect_err "usage" "usage"
expect_exit 2 "unknown flag" -- runner -s "$O/statements.sql" -o "$O/output.json" --bogus
expect_exit 0 "help" -- runner --help
expect_out "ksql-test-runner" "help text"

# ---- a statement that fails is a failed test ----------------------------
printf 'CREATE STREAM s (a INT) WITH (KAFKA_TOPIC='"'"'t'"'"', VALUE_FORMAT='"'"'JSON'"'"');\nCREATE STREAM s2 AS SELECT nope FROM s;\n' >"$T/bad.sql"
expect_exit 1 "statement error" -- runner -s "$T/bad.sql" -i "$O/input.json" -o "$O/output.json"
expect_out "Test failed: .*bad.sql: line 2:" "names the statement's position"
expect_out "NOPE" "and the problem"
expect_out "\^" "with a caret"

# ---- --qtt: files of ksqlDB's query-validation tests --------------------
Q="$SRC/tests/qtt"
expect_exit 0 "qtt file passes" -- runner --qtt "$Q/basic.json"
expect_out "^PASS project columns$" "projection"
expect_out "^PASS filter rows$" "filter"
expect_out "^PASS count by key$" "aggregation"
expect_out "^PASS unknown column$" "expected exception"
expect_out "^PASS value in each format/JSON$" "{FORMAT} as JSON"
expect_out "^SKIP value in each format/AVRO: format AVRO is not supported" "AVRO skipped"
expect_out "^PASS statements alone$" "no outputs"
expect_out "^SKIP a disabled test: disabled$" "enabled false"
expect_out "^SKIP an avro source: statement 1 uses format AVRO" "statements needing AVRO"
[ "$(tail -n 1 "$T/out")" = "6 passed, 0 failed, 3 skipped" ] && ok || bad "qtt summary: $(tail -n 1 "$T/out")"
[ "$(wc -l <"$T/out")" -eq 10 ] && ok || bad "one line per test and format: $(cat "$T/out")"
expect_exit 0 "--case filters by name" -- runner --qtt "$Q/basic.json" --case "by key"
[ "$(cat "$T/out")" = "$(printf 'PASS count by key\n1 passed, 0 failed, 0 skipped')" ] && ok || bad "--case: $(cat "$T/out")"
expect_exit 0 "--case matching nothing" -- runner --qtt "$Q/basic.json" --case "no such test"
expect_out "^0 passed, 0 failed, 0 skipped$" "nothing run"
mkdir -p "$T/qtmp"
TMPDIR="$T/qtmp" "$MLPIPE" test-runner --qtt "$Q/basic.json" >/dev/null 2>&1 || bad "qtt run with TMPDIR"
[ -z "$(ls -A "$T/qtmp")" ] && ok || bad "qtt left temporary logs: $(ls -A "$T/qtmp")"

expect_exit 1 "wrong expectations fail" -- runner --qtt "$Q/wrong.json"
expect_out "^FAIL wrong value: Topic 'OUTPUT', message 0: Expected <1, \{\"W\":21\}> with timestamp=0 but was <1, \{\"W\":20\}>" "the first difference"
expect_out "^FAIL an exception that does not come: expected an error containing 'should have failed', but the statements succeeded$" "no exception"
expect_out "^FAIL another exception: expected an error containing 'something else entirely', got: line 1:36: .*NOPE" "another message"
expect_out "^FAIL a statement that fails: statement 2: line 1:36: " "a failing statement names it"
expect_out "^0 passed, 4 failed, 0 skipped$" "summary"
grep -q "^PASS" "$T/out" && bad "a wrong expectation passed: $(cat "$T/out")" || ok
expect_exit 1 "one failure among passes" -- runner --qtt "$Q/wrong.json" --case "wrong value"
expect_out "^0 passed, 1 failed, 0 skipped$" "filtered failure"

# Each test and format runs on a fresh log: two tests create the same
# stream, and a test sees none of another's records.
edit "$Q/basic.json" 'd["tests"] = [d["tests"][0], d["tests"][0]]'
expect_exit 0 "same stream in two tests" -- runner --qtt "$T/edited.json"
expect_out "^2 passed, 0 failed, 0 skipped$" "both pass"
# Properties of every JSON kind are taken as session properties (a quote
# in a name or value included); objects and arrays are left out.
edit "$Q/basic.json" 'd["tests"] = [d["tests"][0]]; d["tests"][0]["properties"] = {"it'"'"'s": "o'"'"'clock", "ksql.n": 3, "ksql.x": 0.5, "ksql.b": True, "ksql.o": {"a": 1}, "ksql.a": [1]}'
expect_exit 0 "properties of every kind" -- runner --qtt "$T/edited.json"
expect_out "^PASS project columns$" "passes"
# A test's format list: every supported one runs, the statements' own
# format replaced each time.
edit "$Q/basic.json" 'd["tests"] = [d["tests"][1]]; d["tests"][0]["format"] = ["DELIMITED", "PROTOBUF", "JSON_SR"]; d["tests"][0]["statements"][0] = d["tests"][0]["statements"][0].replace("DELIMITED", "{FORMAT}")'
expect_exit 0 "formats" -- runner --qtt "$T/edited.json"
expect_out "^PASS filter rows/DELIMITED$" "delimited"
expect_out "^SKIP filter rows/PROTOBUF: " "protobuf skipped"
expect_out "^1 passed, 0 failed, 2 skipped$" "summary"
# An input record the engine cannot take yet skips the test.
edit "$Q/basic.json" 'd["tests"] = [d["tests"][0]]; d["tests"][0]["inputs"][0]["window"] = {"start": 0, "end": 10, "type": "time"}'
expect_exit 0 "windowed input skipped" -- runner --qtt "$T/edited.json"
expect_out "^SKIP project columns: inputs\[0\]: windowed keys" "says why"

# Malformed files: exit 2, nothing run.
printf '{"tests": [\n  {"name": "x",\n   "statements": ["CREATE STREAM"] "inputs": []}\n]}\n' >"$T/bad_qtt.json"
expect_exit 2 "qtt syntax error" -- runner --qtt "$T/bad_qtt.json"
expect_err "bad_qtt.json:3:36: " "file:line:column"
[ -s "$T/out" ] && bad "a malformed file ran tests: $(cat "$T/out")" || ok
edit "$Q/basic.json" 'd = {"cases": d["tests"]}'
expect_exit 2 "no tests array" -- runner --qtt "$T/edited.json"
expect_err "array 'tests'" "says what is missing"
edit "$Q/basic.json" 'del d["tests"][2]["name"]'
expect_exit 2 "a test without a name" -- runner --qtt "$T/edited.json"
expect_err "tests\[2\]: missing field 'name'" "names the test"
[ -s "$T/out" ] && bad "tests ran before the file was checked: $(cat "$T/out")" || ok
edit "$Q/basic.json" 'd["tests"][1]["statements"] = "SELECT 1;"'
expect_exit 2 "statements not an array" -- runner --qtt "$T/edited.json"
expect_err "tests\[1\] 'filter rows': 'statements' must be" "names the test and field"
edit "$Q/basic.json" 'del d["tests"][0]["inputs"][1]["topic"]'
expect_exit 2 "a record without a topic" -- runner --qtt "$T/edited.json"
expect_err "tests\[0\] 'project columns': inputs\[1\]: missing field 'topic'" "names test, record and field"
edit "$Q/basic.json" 'd["tests"][4]["format"] = "JSON"'
expect_exit 2 "format not an array" -- runner --qtt "$T/edited.json"
edit "$Q/basic.json" 'd["tests"][3]["expectedException"] = "boom"'
expect_exit 2 "expectedException not an object" -- runner --qtt "$T/edited.json"
expect_exit 2 "missing qtt file" -- runner --qtt "$T/nope.json"
expect_err "nope.json" "names the file"
expect_exit 2 "--qtt with -s" -- runner --qtt "$Q/basic.json" -s "$O/statements.sql"
expect_exit 2 "--case without --qtt" -- runner --case x -s "$O/statements.sql" -o "$O/output.json"
expect_exit 0 "help names --qtt" -- runner --help
expect_out "--qtt FILE.json" "help text"
finish
