# Streaming SQL through `mlpipe sql`: the talk's pageviews stream over
# DELIMITED records, push queries with WHERE and LIMIT, a persistent query
# (CREATE STREAM ... AS SELECT) that survives a restart through the command
# topic and resumes from its committed offsets, JSON streams, INSERT
# VALUES, SHOW / DESCRIBE, DROP and TERMINATE rules, bad records going to
# the processing log, and statement errors with their position.
. "$(dirname "$0")/lib.sh"
D="$T/data"
sql() { "$MLPIPE" sql --data-dir "$D" "$@"; }

expect_exit 0 "create a stream" -- sql -e "CREATE STREAM pageviews (viewtime BIGINT, userid VARCHAR, pageid VARCHAR)
    WITH (KAFKA_TOPIC='pageviews', VALUE_FORMAT='DELIMITED', PARTITIONS=2);"
expect_out "^Stream created" "status message"
printf '1510923225000,User_1,Page_10\n1510923226000,User_2,Page_20\n1510923227000,User_1,Page_30\n1510923228000,User_3,Page_40\n1510923229000,User_1,Page_50\nnot-a-number,User_9,Page_99\n' |
    "$MLPIPE" produce pageviews --data-dir "$D" --partition 0 >/dev/null 2>&1 || bad "produce pageviews"

expect_exit 0 "push query with WHERE on ROWTIME-like column and LIMIT" -- sql -e "SET 'auto.offset.reset'='earliest';
    SELECT userid, pageid FROM pageviews WHERE viewtime >= 1510923226000 AND viewtime <= 1510923228000 EMIT CHANGES LIMIT 3;"
expect_out "^\| USERID +\| PAGEID +\|" "header"
expect_out "^\| User_2 +\| Page_20 +\|" "row 1"
expect_out "^\| User_3 +\| Page_40 +\|" "row 3"
expect_out "^Limit Reached" "stops at the limit"
[ "$(grep -c '^| User' "$T/out")" -eq 3 ] && ok || bad "three rows: $(cat "$T/out")"

expect_exit 0 "expressions in the select list" -- sql -e "SET 'auto.offset.reset'='earliest';
    SELECT userid || '/' || pageid AS up, viewtime / 1000 AS secs, CASE WHEN userid = 'User_1' THEN 'one' ELSE 'other' END AS who
    FROM pageviews WHERE userid LIKE 'User_%' EMIT CHANGES LIMIT 2;"
expect_out "^\| User_1/Page_10 +\| 1510923225 +\| one +\|" "concatenation, division, CASE"

expect_exit 0 "persistent query" -- sql --run-for 2 -e "SET 'auto.offset.reset'='earliest';
    CREATE STREAM pageviews_user1 AS SELECT viewtime, pageid FROM pageviews WHERE userid = 'User_1';"
expect_out "^Created query with ID CSAS_PAGEVIEWS_USER1_[0-9]+" "query id"
expect_exit 0 "its output topic" -- "$MLPIPE" consume PAGEVIEWS_USER1 --data-dir "$D" --from-beginning
[ "$(sort "$T/out" | tr '\n' ' ')" = "1510923225000,Page_10 1510923227000,Page_30 1510923229000,Page_50 " ] && ok ||
    bad "CSAS output: $(cat "$T/out")"

# The bad record went to the processing log, the query went on.
expect_exit 0 "processing log" -- "$MLPIPE" consume mlpipe_processing_log --data-dir "$D" --from-beginning
expect_out "VIEWTIME" "the log names the column"
expect_out "\"offset\":5" "and the record's offset"

# A restart replays the command topic: the stream and the query are back,
# and the query resumes after what it already wrote.
printf '1510923230000,User_1,Page_60\n' | "$MLPIPE" produce pageviews --data-dir "$D" >/dev/null 2>&1
expect_exit 0 "restart" -- sql --run-for 2 -e "SHOW QUERIES; SHOW STREAMS;"
expect_out "CSAS_PAGEVIEWS_USER1_[0-9]+ +\| PERSISTENT" "query restored"
expect_out "PAGEVIEWS_USER1 +\| PAGEVIEWS_USER1 +\| NONE +\| DELIMITED" "sink stream restored"
expect_exit 0 "output after restart" -- "$MLPIPE" consume PAGEVIEWS_USER1 --data-dir "$D" --from-beginning
[ "$(grep -c . "$T/out")" -eq 4 ] && ok || bad "exactly one new row, no duplicates: $(cat "$T/out")"
grep -q "1510923230000,Page_60" "$T/out" && ok || bad "the new record was processed"

expect_exit 0 "describe" -- sql -e "DESCRIBE pageviews_user1 EXTENDED;"
expect_out "VIEWTIME +\| BIGINT" "columns"
expect_out "writes" "the writing query"

# DROP refuses while a query uses the stream; TERMINATE, then DROP.
expect_exit 2 "drop a stream a query reads" -- sql -e "DROP STREAM pageviews;"
expect_err "TERMINATE CSAS_PAGEVIEWS_USER1_[0-9]+ first" "names the query"
qid=$(sql -e "SHOW QUERIES;" | grep -o 'CSAS_PAGEVIEWS_USER1_[0-9]*' | head -1)
expect_exit 0 "terminate" -- sql -e "TERMINATE $qid; DROP STREAM pageviews_user1 DELETE TOPIC;"
expect_out "Query terminated" "terminated"
expect_exit 0 "after restart the query stays gone" -- sql -e "SHOW QUERIES; SHOW STREAMS;"
grep -q "CSAS_" "$T/out" && bad "terminated query came back: $(cat "$T/out")" || ok
grep -q "PAGEVIEWS_USER1" "$T/out" && bad "dropped stream came back" || ok

# JSON and INSERT VALUES.
expect_exit 0 "json stream and inserts" -- sql -e "CREATE STREAM car_sensor (car_id VARCHAR KEY, event_id BIGINT, speed DOUBLE, tags ARRAY<STRING>)
    WITH (KAFKA_TOPIC='car_sensor', VALUE_FORMAT='JSON', PARTITIONS=3);
    INSERT INTO car_sensor (car_id, event_id, speed, tags) VALUES ('car-1', 1, 88.5, ARRAY['a', 'b']);
    INSERT INTO car_sensor (car_id, event_id, speed) VALUES ('car-2', 2, 120.25);
    SET 'auto.offset.reset'='earliest';
    SELECT car_id, event_id, speed * 2 AS double_speed, tags[1] AS first_tag FROM car_sensor WHERE speed > 100 OR tags IS NOT NULL EMIT CHANGES LIMIT 2;"
expect_out "^\| car-1 +\| 1 +\| 177.0 +\| a +\|" "json row with an array"
expect_out "^\| car-2 +\| 2 +\| 240.5 +\| null +\|" "missing field is null"
expect_exit 0 "json bytes on the topic" -- "$MLPIPE" consume car_sensor --data-dir "$D" --from-beginning --print-key
grep -q '"EVENT_ID":1' "$T/out" && ok || bad "JSON value as ksqlDB writes it: $(cat "$T/out")"

# Statement errors: position and caret, nothing changed.
expect_exit 2 "syntax error" -- sql -e "SELEC * FROM pageviews EMIT CHANGES;"
expect_err "line 1:1" "position"
expect_err "\^" "caret"
expect_exit 2 "unknown stream" -- sql -e "SELECT * FROM nowhere EMIT CHANGES;"
expect_err "line 1:15: NOWHERE does not exist" "names the stream"
expect_exit 2 "type error" -- sql -e "SELECT * FROM pageviews WHERE userid > 5 EMIT CHANGES;"
expect_err "line 1:" "type errors have a position"
expect_exit 2 "unknown column" -- sql -e "SELECT nope FROM pageviews EMIT CHANGES;"
expect_err "NOPE" "names the column"
expect_exit 2 "duplicate stream" -- sql -e "CREATE STREAM pageviews (a INT) WITH (KAFKA_TOPIC='x', VALUE_FORMAT='JSON', PARTITIONS=1);"
expect_err "already exists" "duplicate"
expect_exit 2 "missing topic without PARTITIONS" -- sql -e "CREATE STREAM s2 (a INT) WITH (KAFKA_TOPIC='absent', VALUE_FORMAT='JSON');"
expect_err "topic 'absent' does not exist" "topic must exist"
expect_exit 2 "unknown format" -- sql -e "CREATE STREAM s3 (a INT) WITH (KAFKA_TOPIC='s3', VALUE_FORMAT='XML', PARTITIONS=1);"
expect_err "XML" "names the format"
expect_exit 2 "a missing script file" -- sql -f "$T/absent.sql"
expect_err "absent.sql" "names the file"
expect_exit 2 "RUN SCRIPT of a missing file" -- sql -e "RUN SCRIPT '$T/absent.sql';"
expect_err "RUN SCRIPT: cannot open '.*absent.sql'" "names the script"
echo "RUN SCRIPT '$T/self.sql';" >"$T/self.sql"
expect_exit 2 "a script that runs itself" -- sql -e "RUN SCRIPT '$T/self.sql';"
expect_err "RUN SCRIPT nested deeper than 16 scripts" "stops at a depth limit"
expect_exit 2 "-f and -e together" -- sql -f "$T/absent.sql" -e "SHOW STREAMS;"
expect_err "give -f or -e, not both" "usage error"
expect_exit 0 "nothing was created by the failures" -- sql -e "SHOW STREAMS;"
grep -Eq "S2|S3" "$T/out" && bad "a failed statement changed the catalog" || ok
expect_exit 2 "a stream without columns" -- sql -e "CREATE STREAM nocols WITH (KAFKA_TOPIC='nocols', VALUE_FORMAT='JSON', PARTITIONS=1);"
expect_err "line 1:1: The statement does not define any columns" "ksqlDB's words, with the position"
finish
