# `mlpipe server`'s ksqlDB REST API with real clients: the talk's notebook
# flow from Python's standard library, curl for every endpoint and every
# bad request (malformed, deep and oversized JSON, wrong methods, unknown
# paths, queries sent to /ksql), /query-stream, /inserts-stream,
# /close-query, a client that hangs up mid-stream, a slow client, /metrics,
# Basic authentication with a hashed password, headless mode and a
# graceful SIGTERM that keeps persistent-query output across a restart.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/server_lib.sh"
D="$T/data"

start_server "$T/server.log" --data-dir "$D" --idle-timeout 2 --max-body-bytes 4096 || { bad "start"; finish; exit 1; }
URL="http://127.0.0.1:$PORT"
# post PATH BODY: status code in $T/code, body in $T/body
post() { curl -s -m 10 -o "$T/body" -w '%{http_code}' -X POST "$URL$1" -H 'Content-Type: application/json' --data-binary "$2" >"$T/code"; }
get() { curl -s -m 10 -o "$T/body" -w '%{http_code}' "$URL$1" >"$T/code"; }
code_is() { [ "$(cat "$T/code")" = "$1" ] && ok || bad "$2: status $(cat "$T/code"), wanted $1; body: $(cat "$T/body")"; }
body_has() { grep -Eq -- "$1" "$T/body" && ok || bad "$2: body lacks /$1/: $(cat "$T/body")"; }

python3 "$(dirname "$0")/ksql_notebook.py" "$PORT" >"$T/out" 2>"$T/err" && ok || bad "notebook flow: $(cat "$T/err")"

curl -s -m 10 -X POST "$URL/query" -d '{"ksql": "PRINT car_sensor FROM BEGINNING LIMIT 1;"}' >"$T/body"
body_has '^rowtime: .*, partition: 0, key: .*, value: \{"CAR_ID":"car0"' "PRINT over /query"
get /info; code_is 200 "/info"; body_has '"KsqlServerInfo":\{"version":"[0-9.]+"' "server info"
get /healthcheck; code_is 200 "/healthcheck"; body_has '"isHealthy":true' "healthy"
post /ksql '{"ksql": "SHOW STREAMS; LIST TOPICS; SHOW PROPERTIES;"}'; code_is 200 "SHOW statements"
body_has '"@type":"streams","streams":\[\{"type":"STREAM","name":"CAR_SENSOR"' "streams entity"
body_has '"@type":"kafka_topics","topics":\[\{"name":"car_sensor","replicaInfo":\[1\]' "topics entity"
body_has '"@type":"properties"' "properties entity"
post /ksql '{"ksql": "DESCRIBE FUNCTION ucase;"}'; code_is 200 "DESCRIBE FUNCTION"
body_has '"@type":"describe_function","name":"UCASE","type":"SCALAR","category":"STRING"' "function entity"

# A persistent query: currentStatus with its query id, then SHOW QUERIES and /status.
post /ksql '{"ksql": "CREATE STREAM fast AS SELECT car_id, speed FROM car_sensor WHERE speed > 55;", "streamsProperties": {"ksql.streams.auto.offset.reset": "earliest"}}'
code_is 200 "CSAS"; body_has '"queryId":"CSAS_FAST_[0-9]+"' "CSAS query id"
body_has '"commandId":"stream/`FAST`/create"' "command id"
post /ksql '{"ksql": "SHOW QUERIES;"}'; body_has '"@type":"queries","queries":\[\{"queryString":"CREATE STREAM fast' "queries entity"
get '/status/stream/`FAST`/create'; code_is 200 "/status of a command"; body_has '"status":"SUCCESS"' "command succeeded"

# /query-stream, delimited: a header line then one array per row.
post /query-stream '{"sql": "SELECT car_id, speed FROM fast EMIT CHANGES LIMIT 3;", "properties": {"auto.offset.reset": "earliest"}}'
code_is 200 "/query-stream"
[ "$(sed -n 1p "$T/body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["columnNames"])')" = "['CAR_ID', 'SPEED']" ] && ok || bad "query-stream header: $(cat "$T/body")"
[ "$(sed -n 2,4p "$T/body" | tr -d '\n')" = '["car2",55.5]["car0",56.5]["car1",57.5]' ] && ok || bad "query-stream rows: $(cat "$T/body")"

# Pull queries: a table's current state (CREATE TABLE AS SELECT), then the end.
post /ksql '{"ksql": "CREATE TABLE fast_counts AS SELECT car_id, COUNT(*) AS n FROM fast GROUP BY car_id;", "streamsProperties": {"auto.offset.reset": "earliest"}}'
code_is 200 "CTAS for pull queries"
for i in 1 2 3 4 5 6 7 8 9 10; do
    post /query-stream '{"sql": "SELECT * FROM fast_counts WHERE car_id = '"'car2'"';"}'
    [ "$(wc -l <"$T/body")" -ge 2 ] && break
    sleep 0.5
done
code_is 200 "pull query on /query-stream"
[ "$(sed -n 1p "$T/body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["columnNames"])')" = "['CAR_ID', 'N']" ] && ok || bad "pull header: $(cat "$T/body")"
[ "$(sed -n 2p "$T/body" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r[0], r[1] >= 1)')" = "car2 True" ] && ok || bad "pull row: $(cat "$T/body")"
[ "$(wc -l <"$T/body")" -eq 2 ] && ok || bad "one key, one row: $(cat "$T/body")"
post /query '{"ksql": "SELECT car_id, n FROM fast_counts WHERE car_id IN ('"'car2'"', '"'nobody'"');"}'
code_is 200 "pull query on /query"
python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); assert "header" in a[0] and a[0]["header"]["schema"] == "`CAR_ID` STRING, `N` BIGINT", a; assert len(a) == 2 and a[1]["row"]["columns"][0] == "car2", a; assert not any("finalMessage" in x for x in a), a' "$T/body" && ok || bad "legacy pull: one JSON array, header then rows: $(cat "$T/body")"
post /query-stream '{"sql": "SELECT car_id FROM car_sensor LIMIT 2;"}'
code_is 200 "a stream's scan"; [ "$(wc -l <"$T/body")" -eq 3 ] && ok || bad "header and two rows: $(cat "$T/body")"
post /query-stream '{"sql": "SELECT * FROM car_sensor GROUP BY car_id;"}'
code_is 400 "refused pull query"; body_has "Pull queries don't support GROUP BY clauses" "ksqlDB's error"

# /inserts-stream: one ack per row, a bad row acked with its error.
post /inserts-stream '{"target": "car_sensor"}
{"car_id": "car9", "event_id": 100, "speed": 1.5}
{"car_id": "car9", "event_id": "not a number", "speed": 2.5}
{"CAR_ID": "car9", "EVENT_ID": 102, "SPEED": 3.5}'
code_is 200 "/inserts-stream"
[ "$(grep -c '"status":"ok"' "$T/body")" = 2 ] && ok || bad "two rows acked: $(cat "$T/body")"
body_has '"status":"error","seq":1' "the bad row is refused"

# Bad requests: clear JSON errors with ksqlDB's codes, never a crash.
post /ksql '{"ksql": "CREATE STREAM x (a INT) WITH (KAFKA_TOPIC='"'x'"', VALUE_FORMAT='"'JSON'"', PARTITIONS=1); SELEC 1;"}'
code_is 400 "parse error"; body_has '"error_code":40001,"message":"line 1:[0-9]+: unknown statement' "parse error position"
post /ksql '{"ksql": "SHOW STREAMS; DESCRIBE nosuch;"}'; code_is 400 "unknown source"
body_has '"@type":"statement_error"' "statement_error"; body_has '"entities":\[\{"@type":"streams"' "earlier results kept"
post /ksql "{\"ksql\": \"RUN SCRIPT '/etc/passwd';\"}"; code_is 400 "RUN SCRIPT over REST"; body_has 'not accepted over REST' "says why"
post /ksql '{"ksql": "SELECT * FROM car_sensor EMIT CHANGES;"}'; code_is 400 "query sent to /ksql"; body_has '"error_code":40002' "40002"
post /ksql '{"ksql": '; code_is 400 "malformed JSON"; body_has 'malformed JSON in the request body at line 1' "names where"
post /ksql "$(python3 -c 'print("[" * 200 + "]" * 200)')"; code_is 400 "deep JSON"; body_has 'nested deeper than 64' "depth limit"
post /ksql '{"sql": "SHOW STREAMS;"}'; code_is 400 "missing ksql field"
post /query '{"ksql": "SELECT * FROM nosuch EMIT CHANGES;"}'; code_is 400 "unknown stream in a query"; body_has 'NOSUCH' "names the source"
post /ksql "{\"ksql\": \"$(head -c 5000 /dev/zero | tr '\0' ' ')SHOW STREAMS;\"}"; code_is 413 "oversized body"; body_has '"error":"request body larger than the limit of 4096 bytes"' "413 body"
get /ksql; code_is 405 "GET /ksql"
get /nosuch; code_is 404 "unknown path"; body_has '"error":"no such endpoint: /nosuch"' "404 body"
post /close-query '{"queryId": "nosuch"}'; code_is 400 "closing an unknown query"
post /close-query '{}'; code_is 400 "/close-query without a queryId"; body_has 'needs a \\"queryId\\" string' "names the field"
get '/status/stream/`NOSUCH`/create'; code_is 404 "/status of an unknown command"
post /inserts-stream '{"no": "target"}'; code_is 400 "/inserts-stream without a target"; body_has 'must start with' "says what it needs"
post /inserts-stream '{"target": "car_sensor"}
[1, 2]
{"car_id": "car9", "event_id": 103, "speed": 4.5'
code_is 200 "/inserts-stream with bad rows"
body_has '"seq":0,"error_code":40000,"message":"row 0: expected a JSON object' "a non-object row is refused"
body_has '"seq":1,"error_code":40000,"message":"row 1: malformed JSON' "a truncated row is refused"
post /v1/models/x:predict '{"instances": [1]}'; code_is 404 "no registry: no models"

# /close-query stops a running push query; a client hanging up stops its query too.
curl -s -m 20 -N -X POST "$URL/query-stream" -d '{"sql": "SELECT * FROM car_sensor EMIT CHANGES;"}' >"$T/stream" &
CURL=$!
i=0; while [ $i -lt 50 ] && ! [ -s "$T/stream" ]; do sleep 0.1; i=$((i + 1)); done
QID=$(head -1 "$T/stream" | python3 -c 'import json,sys; print(json.load(sys.stdin)["queryId"])')
post /close-query "{\"queryId\": \"$QID\"}"; code_is 200 "/close-query"
i=0; while [ $i -lt 50 ] && kill -0 $CURL 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
kill -0 $CURL 2>/dev/null && { bad "the closed query's stream did not end"; kill $CURL; } || ok
wait $CURL 2>/dev/null
curl -s -m 1 -N -X POST "$URL/query" -d '{"ksql": "SELECT * FROM car_sensor EMIT CHANGES;"}' >/dev/null 2>&1
active() { curl -s "$URL/metrics" | sed -n 's/^mlpipe_push_queries_active //p'; }
i=0; while [ $i -lt 30 ] && [ "$(active)" != 0 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(active)" = 0 ] && ok || bad "a disconnected client's query is still running: $(active)"

# A slow client (slowloris) is cut off after the idle timeout and does not
# hold up anyone else.
python3 - "$PORT" >"$T/out" 2>&1 <<'EOF' && ok || bad "slow client: $(cat "$T/out")"
import socket, sys, time, urllib.request
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"POST /ksql HTTP/1.1\r\nHost: x\r\n")
t0 = time.time()
# Meanwhile another client is served at once.
assert urllib.request.urlopen("http://127.0.0.1:%d/healthcheck" % port, timeout=5).status == 200
s.settimeout(10)
try:
    while s.recv(1024):
        pass
except (ConnectionResetError, socket.timeout):
    pass
waited = time.time() - t0
assert 1 <= waited < 8, "closed after %.1f s" % waited
print("slow client cut off after %.1f s" % waited)
EOF

curl -s "$URL/metrics" >"$T/body"
body_has '^mlpipe_http_requests_total\{endpoint="/ksql",code="200"\} [0-9]+' "request counter"
body_has '^mlpipe_http_request_duration_seconds_bucket\{endpoint="/query",le="\+Inf"\} [0-9]+' "latency histogram"
body_has '^mlpipe_query_records_in_total\{query="CSAS_FAST_[0-9]+",sink="FAST"\} [0-9]+' "per-query records"
body_has '^mlpipe_query_lag_records\{query="CSAS_FAST_[0-9]+",sink="FAST"\} 0' "per-query lag"

# SIGTERM: a graceful stop, exit 0; after a restart the query resumes
# and what it wrote is all there exactly once.
stop_server TERM
[ "$STOP_STATUS" = 0 ] && ok || bad "exit status after SIGTERM: $STOP_STATUS"
grep -q "SIGTERM: shutting down" "$T/server.log" && ok || bad "shutdown message: $(cat "$T/server.log")"
start_server "$T/server2.log" --data-dir "$D" || bad "restart"
URL="http://127.0.0.1:$PORT"
post /ksql '{"ksql": "INSERT INTO car_sensor (car_id, event_id, speed) VALUES ('"'car7'"', 200, 99.5);"}'
post /query-stream '{"sql": "SELECT car_id, speed FROM fast EMIT CHANGES LIMIT 8;", "properties": {"auto.offset.reset": "earliest"}}'
[ "$(sed -n 2,9p "$T/body" | tr -d '\n')" = '["car2",55.5]["car0",56.5]["car1",57.5]["car2",58.5]["car0",59.5]["car1",60.5]["car2",61.5]["car7",99.5]' ] && ok ||
    bad "persistent query after restart: $(cat "$T/body")"
stop_server INT
[ "$STOP_STATUS" = 0 ] && ok || bad "exit status after SIGINT: $STOP_STATUS"

# Basic authentication against a users file with a crypt(3) hash.
HASH=$(openssl passwd -6 -salt mlpipesalt 's3cret')
printf '# users\nalice: CRYPT:%s,admin\nbob: plain-pass\n' "$HASH" >"$T/users"
start_server "$T/server3.log" --data-dir "$D" --users-file "$T/users" --registry "$T/new-registry" || bad "start with auth"
URL="http://127.0.0.1:$PORT"
[ -d "$T/new-registry" ] && ok || bad "a missing registry directory is created"
[ "$(curl -s -o /dev/null -w '%{http_code}' -u bob:plain-pass "$URL/v1/models/nosuch")" = 404 ] && ok || bad "an empty registry serves no model"
get /info; code_is 401 "no credentials"; body_has '"error_code":40100' "401 body"
curl -s -D "$T/headers" -o /dev/null "$URL/info"; grep -qi '^WWW-Authenticate: Basic realm=' "$T/headers" && ok || bad "WWW-Authenticate header"
[ "$(curl -s -o /dev/null -w '%{http_code}' -u alice:s3cret "$URL/info")" = 200 ] && ok || bad "alice with her password"
[ "$(curl -s -o /dev/null -w '%{http_code}' -u alice:wrong "$URL/info")" = 401 ] && ok || bad "alice with a wrong password"
[ "$(curl -s -o /dev/null -w '%{http_code}' -u bob:plain-pass "$URL/info")" = 200 ] && ok || bad "bob (plain text)"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthcheck")" = 200 ] && ok || bad "healthcheck needs no credentials"
stop_server TERM
printf 'carol: MD5:0123456789abcdef\n' >"$T/users-bad"
expect_exit 2 "an MD5 users file" -- "$MLPIPE" server --data-dir "$D" --listen 127.0.0.1:0 --users-file "$T/users-bad" --run-for 1
expect_err "users-bad:1: MD5 passwords are not supported" "names the line"

# Headless: the queries file runs at start; REST takes no statements.
printf "CREATE STREAM slow AS SELECT car_id FROM car_sensor WHERE speed < 55;\n" >"$T/queries.sql"
start_server "$T/server4.log" --data-dir "$T/data2" --queries-file "$T/queries.sql" 2>/dev/null
grep -q "car_sensor does not exist\|CAR_SENSOR does not exist" "$T/server4.log" && ok || bad "a bad queries file is refused: $(cat "$T/server4.log")"
printf "CREATE STREAM s (a INT) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', PARTITIONS=1);\nCREATE STREAM s2 AS SELECT a * 2 AS b FROM s;\n" >"$T/queries.sql"
start_server "$T/server5.log" --data-dir "$T/data2" --queries-file "$T/queries.sql" || bad "headless start"
URL="http://127.0.0.1:$PORT"
post /ksql '{"ksql": "SHOW STREAMS;"}'; code_is 405 "headless refuses statements"; body_has 'headless' "says why"
get /info; code_is 200 "headless still answers /info"
stop_server TERM
start_server "$T/server6.log" --data-dir "$T/data2" --queries-file "$T/queries.sql" || bad "headless restart"
grep -q "kept from the last start" "$T/server6.log" && ok || bad "restart keeps the running definitions: $(cat "$T/server6.log")"
stop_server TERM
[ "$STOP_STATUS" = 0 ] && ok || bad "headless exit status: $STOP_STATUS"

# Bad flags and configs.
expect_exit 2 "--max-body-bytes 0" -- "$MLPIPE" server --data-dir "$D" --listen 127.0.0.1:0 --max-body-bytes 0 --run-for 1
expect_err "must be positive" "says why"
: >"$T/users-empty"
expect_exit 2 "an empty users file" -- "$MLPIPE" server --data-dir "$D" --listen 127.0.0.1:0 --users-file "$T/users-empty" --run-for 1
expect_err "users-empty: no users" "names the file"
printf 'dave: CRYPT:notahash\n' >"$T/users-crypt"
expect_exit 2 "a CRYPT password that is no hash" -- "$MLPIPE" server --data-dir "$D" --listen 127.0.0.1:0 --users-file "$T/users-crypt" --run-for 1
expect_err "users-crypt:1: CRYPT: needs a crypt\(3\) hash" "names the line"
printf 'erin:\n' >"$T/users-nopass"
expect_exit 2 "a user without a password" -- "$MLPIPE" server --data-dir "$D" --listen 127.0.0.1:0 --users-file "$T/users-nopass" --run-for 1
expect_err "users-nopass:1: empty password" "names the line"
expect_exit 2 "bad --listen" -- "$MLPIPE" server --data-dir "$D" --listen nowhere --run-for 1
printf 'listeners=http://127.0.0.1:0\nbroken line\n' >"$T/server.properties"
expect_exit 2 "a broken properties file" -- "$MLPIPE" server --data-dir "$D" --config "$T/server.properties" --run-for 1
expect_err "server.properties:2:1: expected key=value" "names file:line:column"
finish
