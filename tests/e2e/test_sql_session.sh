# WINDOW SESSION: push queries, a session table's records (the new
# session's row after a tombstone for each session it replaced, keys
# carrying end and start as Kafka's session-windowed serializer writes
# them), late records dropped and counted, sessions restored from the
# changelog after a restart and merged with afterwards, and the errors.
. "$(dirname "$0")/lib.sh"
D="$T/data"
sql() { "$MLPIPE" sql --data-dir "$D" "$@"; }

# Key u: 0 and 19000 are two sessions (gap 10 s), 9000 bridges them;
# key v has one session; 100000 moves stream time on.
expect_exit 0 "stream" -- sql -e "CREATE STREAM acts (t BIGINT, userid VARCHAR, n INT)
    WITH (KAFKA_TOPIC='acts', VALUE_FORMAT='DELIMITED', PARTITIONS=1, TIMESTAMP='t');
    INSERT INTO acts VALUES (0, 'u', 1);
    INSERT INTO acts VALUES (19000, 'u', 2);
    INSERT INTO acts VALUES (5000, 'v', 3);
    INSERT INTO acts VALUES (9000, 'u', 4);"
expect_exit 0 "push query" -- sql -e "SET 'auto.offset.reset'='earliest';
    SELECT userid, WINDOWSTART AS ws, WINDOWEND AS we, COUNT(*) AS c, SUM(n) AS s FROM acts
    WINDOW SESSION (10 SECONDS) GROUP BY userid EMIT CHANGES LIMIT 4;"
[ "$(grep '^| [uv]' "$T/out" | tr -s ' ' | tr '\n' '/')" = "| u | 0 | 0 | 1 | 1 |/| u | 19000 | 19000 | 1 | 2 |/| v | 5000 | 5000 | 1 | 3 |/| u | 0 | 19000 | 3 | 7 |/" ] && ok ||
    bad "a record bridging two sessions merges them: $(cat "$T/out")"

# A table: the records, their keys and timestamps; one record too late
# (grace 30 s: stream time 100000 closes sessions ending before 60000).
expect_exit 0 "late input" -- sql -e "INSERT INTO acts VALUES (100000, 'v', 5);
    INSERT INTO acts VALUES (21000, 'u', 6);"
{
    echo "SET 'auto.offset.reset'='earliest';"
    echo "CREATE TABLE sessions AS SELECT userid, COUNT(*) AS c, SUM(n) AS s FROM acts"
    echo "  WINDOW SESSION (10 SECONDS, GRACE PERIOD 30 SECONDS) GROUP BY userid;"
    sleep 1.5
    echo "SHOW QUERIES;"
} | sql >"$T/out" 2>&1
grep -q "6 in, 7 out, 0 errors, 1 late" "$T/out" && ok || bad "one late record counted: $(cat "$T/out")"
"$MLPIPE" consume SESSIONS --data-dir "$D" --from-beginning --print-timestamp >"$T/s" 2>&1
# Rows: u[0], u[19000], v[5000], tombstones u[0] and u[19000], u[0..19000], v[100000].
[ "$(tr '\t\n' ' /' <"$T/s")" = "0 1,1/19000 1,2/5000 1,3/0 /19000 /19000 3,7/100000 1,5/" ] && ok ||
    bad "rows at their session's end, tombstones for replaced sessions: $(cat "$T/s")"
"$MLPIPE" consume SESSIONS --data-dir "$D" --from-beginning --print-key >"$T/sk" 2>&1
# u, end 0, start 0: the key's bytes, then end and start, 8 bytes big-endian each.
head -c 17 "$T/sk" | od -An -tx1 | tr -d ' \n' | grep -q '^7500000000000000000000000000000000$' && ok ||
    bad "key = group bytes + end + start: $(head -c 17 "$T/sk" | od -An -tx1)"
sed -n 6p "$T/sk" | head -c 17 | od -An -tx1 | tr -d ' \n' | grep -q '^750000000000004a380000000000000000$' && ok ||
    bad "the merged session's key: end 19000, start 0: $(sed -n 6p "$T/sk" | od -An -tx1)"

# The changelog: tombstones for the replaced sessions, the live ones'
# states; after a restart a record merges with a restored session.
cl=$(sql -e "SHOW ALL TOPICS;" | grep -o '_mlpipe_CTAS_SESSIONS_[0-9]*_changelog')
"$MLPIPE" consume "$cl" --data-dir "$D" --from-beginning --print-key >"$T/cl" 2>&1
grep -q '"WINDOWSTART":19000,"WINDOWEND":19000}	$' "$T/cl" && ok || bad "a tombstone for a merged session: $(cat "$T/cl")"
expect_exit 0 "restart: v at 104000 joins v's open session" -- sql --run-for 1 -e "INSERT INTO acts VALUES (104000, 'v', 7);"
"$MLPIPE" consume SESSIONS --data-dir "$D" --from-beginning --print-timestamp >"$T/s2" 2>&1
[ "$(tail -n 2 "$T/s2" | tr '\t\n' ' /')" = "100000 /104000 2,12/" ] && ok ||
    bad "the restored session merges with the new record: $(cat "$T/s2")"

# Errors.
expect_exit 2 "an aggregate that cannot merge" -- sql --ext-dir "$EXT_DIR" -e "SELECT userid, LONGEST(userid) FROM acts
    WINDOW SESSION (1 MINUTE) GROUP BY userid EMIT CHANGES;"
expect_err "line 1:16: LONGEST cannot be used with SESSION windows" "refused at bind time with its position"
expect_exit 0 "the same aggregate without a session window" -- sql --ext-dir "$EXT_DIR" -e "SET 'auto.offset.reset'='earliest';
    SELECT userid, LONGEST(userid) FROM acts WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY userid EMIT CHANGES LIMIT 1;"
expect_exit 2 "a zero gap" -- sql -e "SELECT userid, COUNT(*) FROM acts WINDOW SESSION (0 SECONDS) GROUP BY userid EMIT CHANGES;"
expect_err "inactivity gap above 0" "the gap is checked"
expect_exit 2 "session without GROUP BY" -- sql -e "SELECT userid FROM acts WINDOW SESSION (1 MINUTE) EMIT CHANGES;"
expect_err "WINDOW needs GROUP BY" "needs grouping"
finish
