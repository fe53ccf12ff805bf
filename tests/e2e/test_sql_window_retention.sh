# WINDOW ... RETENTION: refused below size (or gap) + grace with Kafka
# Streams' message; a closed window stays in state (no changelog
# tombstone) until its retention has passed, while records for it are
# still dropped as late once its grace period is over.
. "$(dirname "$0")/lib.sh"
D="$T/data"
sql() { "$MLPIPE" sql --data-dir "$D" "$@"; }

expect_exit 0 "stream" -- sql -e "CREATE STREAM taps (t BIGINT, userid VARCHAR)
    WITH (KAFKA_TOPIC='taps', VALUE_FORMAT='DELIMITED', PARTITIONS=1, TIMESTAMP='t');"

# Errors, as ksqlDB (Kafka Streams) words them.
expect_exit 2 "tumbling retention below size + grace" -- sql -e "SELECT userid, COUNT(*) FROM taps
    WINDOW TUMBLING (SIZE 1 MINUTE, RETENTION 61 SECONDS, GRACE PERIOD 2 SECONDS) GROUP BY userid EMIT CHANGES;"
expect_err "line 1:1: The retention period of the window store Aggregate-Aggregate-Materialize must be no smaller than its window size plus the grace period. Got size=\[60000\], grace=\[2000\], retention=\[61000\]" "tumbling: Kafka Streams' message"
expect_exit 2 "hopping retention below size + default grace" -- sql -e "SELECT userid, COUNT(*) FROM taps
    WINDOW HOPPING (SIZE 1 MINUTE, ADVANCE BY 30 SECONDS, RETENTION 1 HOUR) GROUP BY userid EMIT CHANGES;"
expect_err "Got size=\[60000\], grace=\[86400000\], retention=\[3600000\]" "hopping: the default grace counts"
expect_exit 2 "session retention below gap + grace" -- sql -e "SELECT userid, COUNT(*) FROM taps
    WINDOW SESSION (5 MINUTES, RETENTION 5 MINUTES, GRACE PERIOD 1 SECOND) GROUP BY userid EMIT CHANGES;"
expect_err "The retention period of the session store Aggregate-Aggregate-Materialize must be no smaller than the session inactivity gap plus the grace period. Got gap=\[300000\], grace=\[1000\], retention=\[300000\]" "session: Kafka Streams' message"
expect_exit 2 "retention out of range" -- sql -e "SELECT userid, COUNT(*) FROM taps
    WINDOW TUMBLING (SIZE 1 MINUTE, RETENTION 9223372036854775807 DAYS) GROUP BY userid EMIT CHANGES;"
expect_err "window duration out of range" "overflow refused"
expect_exit 0 "retention equal to size + grace is fine" -- sql -e "SET 'auto.offset.reset'='earliest';
    SELECT userid, COUNT(*) FROM taps WINDOW TUMBLING (SIZE 1 MINUTE, RETENTION 62 SECONDS,
    GRACE PERIOD 2 SECONDS) GROUP BY userid EMIT CHANGES LIMIT 0;"

# State: with RETENTION 5 MINUTES the window [60000, 120000) closes at
# 120000 (grace 0) but stays until stream time reaches 360000.
expect_exit 0 "taps" -- sql -e "INSERT INTO taps VALUES (60000, 'u');
    INSERT INTO taps VALUES (130000, 'u');
    INSERT INTO taps VALUES (61000, 'u');"
expect_exit 0 "table" -- sql --run-for 1 -e "SET 'auto.offset.reset'='earliest';
    CREATE TABLE per_min AS SELECT userid, WINDOWSTART AS ws, COUNT(*) AS n FROM taps
    WINDOW TUMBLING (SIZE 1 MINUTE, RETENTION 5 MINUTES, GRACE PERIOD 0 SECONDS) GROUP BY userid;"
"$MLPIPE" consume PER_MIN --data-dir "$D" --from-beginning >"$T/pm" 2>&1
[ "$(tr '\n' '/' <"$T/pm")" = "60000,1/120000,1/" ] && ok || bad "61000 is late despite the retention: $(cat "$T/pm")"
cl=$(sql -e "SHOW ALL TOPICS;" | grep -o '_mlpipe_CTAS_PER_MIN_[0-9]*_changelog')
"$MLPIPE" consume "$cl" --data-dir "$D" --from-beginning --print-key >"$T/cl" 2>&1
grep -q '"WINDOWSTART":60000}	$' "$T/cl" && bad "evicted before its retention: $(cat "$T/cl")" || ok
expect_exit 0 "stream time past the retention" -- sql --run-for 1 -e "INSERT INTO taps VALUES (360000, 'u');"
"$MLPIPE" consume "$cl" --data-dir "$D" --from-beginning --print-key >"$T/cl" 2>&1
grep -q '"WINDOWSTART":60000}	$' "$T/cl" && ok || bad "a tombstone once the retention passed: $(cat "$T/cl")"
grep -q '"WINDOWSTART":120000}	$' "$T/cl" && bad "120000 + 5 minutes is not past yet: $(cat "$T/cl")" || ok
finish
