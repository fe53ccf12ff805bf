# `mlpipe ksql`: the `mlpipe sql` shell against `mlpipe server` over the
# REST API: statements and their tables, a push query with LIMIT, one
# without that streams live until Ctrl-C, a persistent query and its
# TERMINATE, server errors moved to their place in the script, parse errors
# caught before anything is sent, the interactive shell fed through stdin,
# an unreachable server and Basic authentication.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"
D="$T/data"

: >"$T/server.log"  # exists before the server opens it, for start_server's first look
start_server "$T/server.log" --data-dir "$D" || { bad "start the server"; finish; exit 1; }
URL="http://127.0.0.1:$PORT"
ksql() { "$MLPIPE" ksql "$URL" "$@"; }
# The client runs under the sanitizers too: their reports go to stderr.
clean_err() { grep -q "Sanitizer\|runtime error:" "$T/err" && bad "sanitizer report: $(cat "$T/err")" || ok; }

expect_exit 0 "create a stream" -- ksql -e "CREATE STREAM car_sensor (car_id VARCHAR KEY, speed DOUBLE, price DECIMAL(6, 2), tags ARRAY<STRING>)
    WITH (KAFKA_TOPIC='car_sensor', VALUE_FORMAT='JSON', PARTITIONS=1);"
expect_out "^Stream created$" "status message"
clean_err

expect_exit 0 "insert values" -- ksql -e "INSERT INTO car_sensor (car_id, speed, price, tags) VALUES ('car-1', 88.0, 1.50, ARRAY['a', 'b']);
    INSERT INTO car_sensor (car_id, speed) VALUES ('car-2', 120.25);
    INSERT INTO car_sensor (car_id, speed) VALUES ('car-3', 30.5);"
[ -s "$T/out" ] && bad "inserts print nothing, as in mlpipe sql: $(cat "$T/out")" || ok

expect_exit 0 "show streams" -- ksql -e "SHOW STREAMS;"
expect_out "^Streams$" "title"
expect_out "^\| Stream Name \| Kafka Topic \| Key Format \| Value Format \|$" "aligned header"
expect_out "^\| CAR_SENSOR  \| car_sensor  \| KAFKA      \| JSON         \|$" "aligned row"

expect_exit 0 "describe" -- ksql -e "DESCRIBE car_sensor;"
expect_out "^Name: CAR_SENSOR \| Type: STREAM \| Topic: car_sensor" "title"
expect_out "^\| ROWTIME +\| BIGINT +\| \(system\) \|" "ROWTIME as the local shell lists it"
expect_out "^\| CAR_ID +\| STRING +\| \(key\) +\|" "key column"
expect_out "^\| PRICE +\| DECIMAL\(6, 2\) +\| +\|" "full type"

# SET stays in the client and goes with the query.
expect_exit 0 "push query with LIMIT" -- ksql -e "SET 'auto.offset.reset'='earliest';
    SELECT car_id, speed, price, tags FROM car_sensor EMIT CHANGES LIMIT 2;"
expect_out "^Successfully changed local property 'auto.offset.reset' to 'earliest'.$" "SET"
expect_out "^\| CAR_ID +\| SPEED +\| PRICE +\| TAGS +\|$" "header"
expect_out "^\| car-1 +\| 88.0 +\| 1.50 +\| \[\"a\",\"b\"\] +\|$" "row 1 as mlpipe sql prints it"
expect_out "^\| car-2 +\| 120.25 +\| null +\| null +\|$" "row 2 with nulls"
expect_out "^Limit Reached$" "final message"
[ "$(grep -c '^| car-' "$T/out")" -eq 2 ] && ok || bad "two rows: $(cat "$T/out")"
clean_err

expect_exit 0 "show properties" -- ksql -e "SET 'auto.offset.reset'='earliest'; SHOW PROPERTIES;"
expect_out "^\| auto.offset.reset \| SESSION +\| earliest \|$" "a SET property is the session's"

# A push query without LIMIT streams rows as they come; Ctrl-C ends only it.
# (Started directly, not through the function, so $! is the client itself.)
"$MLPIPE" ksql "$URL" -e "SELECT car_id, speed FROM car_sensor EMIT CHANGES;" >"$T/live" 2>"$T/live.err" &
LIVE=$!
i=0; while [ $i -lt 100 ] && ! grep -q "CAR_ID" "$T/live"; do sleep 0.1; i=$((i + 1)); done
grep -q "CAR_ID" "$T/live" && ok || bad "live query header: $(cat "$T/live" "$T/live.err")"
ksql -e "INSERT INTO car_sensor (car_id, speed) VALUES ('live-1', 1.5);" >/dev/null 2>&1 || bad "insert while streaming"
i=0; while [ $i -lt 100 ] && ! grep -q "live-1" "$T/live"; do sleep 0.1; i=$((i + 1)); done
grep -q "^| live-1 .*| 1.5 " "$T/live" && ok || bad "the row arrived live: $(cat "$T/live" "$T/live.err")"
kill -INT $LIVE 2>/dev/null
i=0; while [ $i -lt 50 ] && kill -0 $LIVE 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
if kill -0 $LIVE 2>/dev/null; then
    bad "Ctrl-C did not end the live query"
    kill -KILL $LIVE 2>/dev/null
fi
wait $LIVE
[ $? -eq 0 ] && ok || bad "a stopped query is not an error: $(cat "$T/live.err")"
grep -q "^Query terminated$" "$T/live" && ok || bad "stopped query says so: $(cat "$T/live")"
grep -q "Sanitizer\|runtime error:" "$T/live.err" && bad "sanitizer report: $(cat "$T/live.err")" || ok
# Dropping the connection ends the query on the server.
active() { curl -s "$URL/metrics" | sed -n 's/^mlpipe_push_queries_active //p'; }
i=0; while [ $i -lt 50 ] && [ "$(active)" != 0 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(active)" = 0 ] && ok || bad "the server still runs the stopped query: $(active)"

# A persistent query: created, listed, terminated.
expect_exit 0 "create stream as select" -- ksql -e "SET 'auto.offset.reset'='earliest';
    CREATE STREAM fast AS SELECT car_id, speed FROM car_sensor WHERE speed > 50;"
expect_out "^Created query with ID CSAS_FAST_[0-9]+$" "query id"
expect_exit 0 "show queries" -- ksql -e "SHOW QUERIES;"
expect_out "^\| Query ID +\| Query Type +\| Status +\| Sink Name +\| Records +\| Query String +\|$" "columns"
expect_out "^\| CSAS_FAST_[0-9]+ +\| PERSISTENT +\| RUNNING +\| FAST +\|" "the query"
QID=$(grep -o 'CSAS_FAST_[0-9]*' "$T/out" | head -1)
expect_exit 0 "describe extended" -- ksql -e "DESCRIBE fast EXTENDED;"
expect_out "^\| $QID +\| writes +\|" "the writing query"
expect_exit 0 "terminate" -- ksql -e "TERMINATE $QID; SHOW QUERIES;"
expect_out "^Query terminated.$" "terminated"
grep -q "CSAS_FAST" "$T/out" && bad "the query is still listed: $(cat "$T/out")" || ok

# Server errors: the server's message, its position moved to the script's
# line and column, and a caret; earlier statements stay done.
expect_exit 2 "statement error" -- ksql -e "SHOW STREAMS;
  DESCRIBE nosuch;"
expect_err "^error: line 2:3: NOSUCH does not exist$" "server message at the script's line:col"
expect_err "^  \^$" "caret"
expect_out "CAR_SENSOR" "the statement before ran"
expect_exit 2 "query error" -- ksql -e "SELECT nope FROM car_sensor EMIT CHANGES;"
expect_err "line 1:8: .*NOPE" "names the column"
clean_err

# A parse error is found before anything is sent: the CREATE before it
# does not run.
expect_exit 2 "parse error" -- ksql -e "CREATE STREAM never (a INT) WITH (KAFKA_TOPIC='never', VALUE_FORMAT='JSON', PARTITIONS=1);
SELEC 1;"
expect_err "^error: line 2:1: unknown statement" "position"
expect_err "^\^$" "caret"
expect_exit 0 "nothing was sent" -- ksql -e "SHOW STREAMS;"
grep -q "NEVER" "$T/out" && bad "the statement before the parse error ran" || ok

# RUN SCRIPT reads the client's file.
printf 'SHOW TOPICS;\n' >"$T/script.sql"
expect_exit 0 "run script" -- ksql -e "RUN SCRIPT '$T/script.sql';"
expect_out "^\| car_sensor +\| 1 +\|$" "the script ran"
expect_exit 2 "run a missing script" -- ksql -e "RUN SCRIPT '$T/absent.sql';"
expect_err "RUN SCRIPT: cannot open '.*absent.sql'" "names the script"

# -f, and the interactive shell reading stdin: statements span lines.
printf 'SHOW\n  STREAMS;\n' >"$T/batch.sql"
expect_exit 0 "-f" -- ksql -f "$T/batch.sql"
expect_out "CAR_SENSOR" "ran the file"
printf "SET 'auto.offset.reset'='earliest';\nSELECT car_id\n  FROM car_sensor EMIT CHANGES LIMIT 1;\nDESCRIBE nosuch;\nSHOW STREAMS;\n" >"$T/stdin.sql"
expect_exit 0 "interactive over stdin" -- ksql <"$T/stdin.sql"
expect_out "^Connected to mlpipe server [0-9.]+ at $URL$" "greeting"
expect_out "^\| car-1 +\|$" "query row"
expect_out "^Limit Reached$" "limit"
expect_err "NOSUCH does not exist" "an error does not end the session"
expect_out "^\| FAST +\|" "later statements run"
clean_err

expect_exit 2 "-f and -e together" -- ksql -f "$T/batch.sql" -e "SHOW STREAMS;"
expect_err "give -f or -e, not both" "usage error"

stop_server
[ "$STOP_STATUS" = 0 ] && ok || bad "server exit status $STOP_STATUS"

# Unreachable: the server just stopped, its port is closed.
expect_exit 1 "unreachable server" -- ksql -e "SHOW STREAMS;"
expect_err "cannot reach $URL: " "clear message"

# Basic authentication.
HASH=$(openssl passwd -6 -salt mlpipesalt 's3cret')
printf 'alice: CRYPT:%s,admin\n' "$HASH" >"$T/users"
: >"$T/server2.log"
start_server "$T/server2.log" --data-dir "$D" --users-file "$T/users" || { bad "start with auth"; finish; exit 1; }
URL="http://127.0.0.1:$PORT"
expect_exit 2 "no credentials" -- ksql -e "SHOW STREAMS;"
expect_err "authentication failed" "says so"
expect_exit 2 "wrong password" -- ksql --user alice --password wrong -e "SHOW STREAMS;"
expect_err "authentication failed" "says so"
expect_exit 0 "right password" -- ksql --user alice --password s3cret -e "SHOW STREAMS;"
expect_out "CAR_SENSOR" "works"
expect_exit 2 "--user without --password" -- ksql --user alice -e "SHOW STREAMS;"
expect_err "--user needs --password" "usage error"
stop_server
finish
