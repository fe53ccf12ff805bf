# GROUP BY: push queries with aggregates and HAVING, CREATE TABLE ... AS
# SELECT writing a table's changelog (tombstones when HAVING stops holding),
# state restored from the query's changelog after a restart, and exact
# results after the query's process is killed with SIGKILL several times
# mid-stream (no record lost, none counted twice). Plus the GROUP BY errors.
. "$(dirname "$0")/lib.sh"
D="$T/data"
sql() { "$MLPIPE" sql --data-dir "$D" "$@"; }

expect_exit 0 "stream" -- sql -e "CREATE STREAM pageviews (viewtime BIGINT, userid VARCHAR, pageid VARCHAR)
    WITH (KAFKA_TOPIC='pageviews', VALUE_FORMAT='DELIMITED', PARTITIONS=1);
    INSERT INTO pageviews VALUES (1, 'User_1', 'P1');
    INSERT INTO pageviews VALUES (2, 'User_2', 'P2');
    INSERT INTO pageviews VALUES (3, 'User_1', 'P3');"
expect_exit 0 "push query with aggregates" -- sql -e "SET 'auto.offset.reset'='earliest';
    SELECT userid, COUNT(*) AS n, SUM(viewtime) AS s, COLLECT_LIST(pageid) AS pages FROM pageviews
    GROUP BY userid EMIT CHANGES LIMIT 3;"
expect_out "^\| User_1 +\| 1 +\| 1 +\| \[\"P1\"\] +\|" "first update"
expect_out "^\| User_1 +\| 2 +\| 4 +\| \[\"P1\",\"P3\"\] +\|" "User_1 again: count, sum and list grow"
expect_exit 0 "HAVING in a push query" -- sql -e "SET 'auto.offset.reset'='earliest';
    SELECT userid, COUNT(*) AS n FROM pageviews GROUP BY userid HAVING COUNT(*) > 1 EMIT CHANGES LIMIT 1;"
expect_out "^\| User_1 +\| 2 +\|" "only groups passing HAVING"
[ "$(grep -c '^| User' "$T/out")" -eq 1 ] && ok || bad "one row: $(cat "$T/out")"

expect_exit 0 "table" -- sql --run-for 1 -e "SET 'auto.offset.reset'='earliest';
    CREATE TABLE busy AS SELECT userid, COUNT(*) AS n FROM pageviews GROUP BY userid HAVING COUNT(*) > 1;"
expect_out "Created query with ID CTAS_BUSY_[0-9]+" "CTAS query id"
expect_exit 0 "table changelog" -- "$MLPIPE" consume BUSY --data-dir "$D" --from-beginning --print-key
[ "$(tr '\t\n' ':|' <"$T/out")" = "User_1:|User_2:|User_1:2|" ] && ok ||
    bad "tombstones until HAVING holds, then the row: $(cat "$T/out")"
expect_exit 0 "restart keeps counting" -- sql --run-for 1 -e "INSERT INTO pageviews VALUES (4, 'User_1', 'P4');
    INSERT INTO pageviews VALUES (5, 'User_2', 'P5');"
"$MLPIPE" consume BUSY --data-dir "$D" --from-beginning --print-key >"$T/busy" 2>&1
[ "$(tail -2 "$T/busy" | tr '\t\n' ':|')" = "User_1:3|User_2:2|" ] && ok ||
    bad "state restored from the changelog, nothing re-emitted: $(cat "$T/busy")"

expect_exit 0 "describe a table" -- sql -e "SHOW TABLES; DESCRIBE busy;"
expect_out "BUSY +\| BUSY +\| KAFKA +\| DELIMITED" "listed"
expect_out "USERID +\| STRING +\| \(primary key\)" "the grouping column is the key"

# SIGKILL mid-stream, three times, then let it finish: every count exact.
python3 - "$T/big.txt" "$T/expected.txt" <<'PY'
import random, sys
r = random.Random(3)
counts, sums = {}, {}
with open(sys.argv[1], "w") as f:
    for i in range(300000):
        u = "u%d" % r.randrange(50)
        a = r.randrange(1000)
        f.write("%s,%d\n" % (u, a))
        counts[u] = counts.get(u, 0) + 1
        sums[u] = sums.get(u, 0) + a
with open(sys.argv[2], "w") as g:
    for u in sorted(counts):
        g.write("%s\t%d,%d\n" % (u, counts[u], sums[u]))
PY
expect_exit 0 "purchases stream" -- sql -e "CREATE STREAM purchases (userid VARCHAR, amount BIGINT)
    WITH (KAFKA_TOPIC='purchases', VALUE_FORMAT='DELIMITED', PARTITIONS=1);"
"$MLPIPE" produce purchases --data-dir "$D" <"$T/big.txt" >/dev/null 2>&1 || bad "produce purchases"
sql -e "SET 'auto.offset.reset'='earliest';
    CREATE TABLE totals AS SELECT userid, COUNT(*) AS n, SUM(amount) AS total FROM purchases GROUP BY userid;" \
    >/dev/null 2>&1 || bad "create totals"
for pause in 0.4 0.7 0.5; do
    # Started directly (not through the sql function) so that $! is the
    # mlpipe process itself.
    "$MLPIPE" sql --data-dir "$D" --run-for 30 -e "SHOW QUERIES;" >/dev/null 2>&1 &
    pid=$!
    sleep "$pause"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
done
sql --run-for 4 -e "SHOW QUERIES;" >/dev/null 2>&1 || bad "final run"
"$MLPIPE" consume TOTALS --data-dir "$D" --from-beginning --print-key >"$T/totals" 2>&1
python3 - "$T/totals" "$T/expected.txt" <<'PY' && ok || bad "exact counts and sums after SIGKILLs"
import sys
last = {}
for line in open(sys.argv[1]):
    k, _, v = line.rstrip("\n").partition("\t")
    last[k] = v
want = dict(l.rstrip("\n").split("\t") for l in open(sys.argv[2]))
diff = [(k, last.get(k), v) for k, v in want.items() if last.get(k) != v]
if diff or len(last) != len(want):
    print("mismatches:", diff[:5], len(last), len(want), file=sys.stderr)
    sys.exit(1)
PY

# Windows: TUMBLING and HOPPING over event time (the TIMESTAMP column),
# WINDOWSTART / WINDOWEND, a record arriving after its window's grace
# period dropped and counted, and a windowed table's key carrying its window.
expect_exit 0 "windowed stream" -- sql -e "CREATE STREAM clicks (viewtime BIGINT, userid VARCHAR)
    WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='DELIMITED', PARTITIONS=1, TIMESTAMP='viewtime');
    INSERT INTO clicks VALUES (60000, 'User_1');
    INSERT INTO clicks VALUES (61000, 'User_2');
    INSERT INTO clicks VALUES (119000, 'User_1');
    INSERT INTO clicks VALUES (125000, 'User_1');
    INSERT INTO clicks VALUES (59000, 'User_1');"
expect_exit 0 "tumbling" -- sql -e "SET 'auto.offset.reset'='earliest';
    SELECT userid, WINDOWSTART AS ws, WINDOWEND AS we, COUNT(*) AS n FROM clicks
    WINDOW TUMBLING (SIZE 1 MINUTE, GRACE PERIOD 10 SECONDS) GROUP BY userid EMIT CHANGES LIMIT 4;"
[ "$(grep '^| User' "$T/out" | tr -s ' ' | tr '\n' '/')" = "| User_1 | 60000 | 120000 | 1 |/| User_2 | 60000 | 120000 | 1 |/| User_1 | 60000 | 120000 | 2 |/| User_1 | 120000 | 180000 | 1 |/" ] && ok ||
    bad "tumbling windows: $(cat "$T/out")"
expect_exit 0 "hopping" -- sql -e "SET 'auto.offset.reset'='earliest';
    SELECT userid, WINDOWSTART AS ws, COUNT(*) AS n FROM clicks
    WINDOW HOPPING (SIZE 1 MINUTE, ADVANCE BY 30 SECONDS) GROUP BY userid EMIT CHANGES LIMIT 2;"
[ "$(grep '^| User' "$T/out" | tr -s ' ' | tr '\n' '/')" = "| User_1 | 30000 | 1 |/| User_1 | 60000 | 1 |/" ] && ok ||
    bad "a record falls in two hopping windows: $(cat "$T/out")"
# One shell: the table's query runs, then SHOW QUERIES reports its counters.
{
    echo "SET 'auto.offset.reset'='earliest';"
    echo "CREATE TABLE per_minute AS SELECT userid, WINDOWSTART AS ws, COUNT(*) AS n FROM clicks"
    echo "  WINDOW TUMBLING (SIZE 1 MINUTE, GRACE PERIOD 10 SECONDS) GROUP BY userid;"
    sleep 1.5
    echo "SHOW QUERIES;"
} | sql >"$T/out" 2>&1
grep -q "5 in, 4 out, 0 errors, 1 late" "$T/out" && ok || bad "one late record counted: $(cat "$T/out")"
"$MLPIPE" consume PER_MINUTE --data-dir "$D" --from-beginning >"$T/pm" 2>&1
[ "$(tr '\n' '/' <"$T/pm")" = "60000,1/60000,1/60000,2/120000,1/" ] && ok ||
    bad "the late record (59000, after the grace period) is dropped: $(cat "$T/pm")"
"$MLPIPE" consume PER_MINUTE --data-dir "$D" --from-beginning --print-key >"$T/pmk" 2>&1
head -c 14 "$T/pmk" | od -An -tx1 | tr -d ' \n' | grep -q '^557365725f31000000000000ea60$' && ok ||
    bad "key = the group's bytes + window start (8 bytes big-endian): $(head -c 14 "$T/pmk" | od -An -tx1)"

# Closed windows leave memory and the changelog (a tombstone each); open
# ones survive a restart.
expect_exit 0 "taps" -- sql -e "CREATE STREAM taps (t BIGINT, userid VARCHAR)
    WITH (KAFKA_TOPIC='taps', VALUE_FORMAT='DELIMITED', PARTITIONS=1, TIMESTAMP='t');
    INSERT INTO taps VALUES (60000, 'u'); INSERT INTO taps VALUES (61000, 'u');
    INSERT INTO taps VALUES (130000, 'u');"
expect_exit 0 "windowed table with no grace" -- sql --run-for 1 -e "SET 'auto.offset.reset'='earliest';
    CREATE TABLE taps_per_min AS SELECT userid, WINDOWSTART AS ws, COUNT(*) AS n FROM taps
    WINDOW TUMBLING (SIZE 1 MINUTE, GRACE PERIOD 0 SECONDS) GROUP BY userid;"
cl=$(sql -e "SHOW ALL TOPICS;" | grep -o '_mlpipe_CTAS_TAPS_PER_MIN_[0-9]*_changelog')
"$MLPIPE" consume "$cl" --data-dir "$D" --from-beginning --print-key >"$T/cl" 2>&1
grep -q '"WINDOWSTART":60000}	$' "$T/cl" && ok || bad "a tombstone for the closed window: $(cat "$T/cl")"
expect_exit 0 "restart and another tap in the open window" -- sql --run-for 1 -e "INSERT INTO taps VALUES (125000, 'u');"
"$MLPIPE" consume TAPS_PER_MIN --data-dir "$D" --from-beginning >"$T/tpm" 2>&1
[ "$(tr '\n' '/' <"$T/tpm")" = "60000,1/60000,2/120000,1/120000,2/" ] && ok ||
    bad "the open window's count continues after the restart: $(cat "$T/tpm")"

# Errors.
expect_exit 2 "column neither grouped nor aggregated" -- sql -e "SELECT userid, pageid, COUNT(*) FROM pageviews GROUP BY userid EMIT CHANGES;"
expect_err "line 1:16: this column is neither grouped by nor inside an aggregate" "names the column's position"
expect_exit 2 "CSAS with GROUP BY" -- sql -e "CREATE STREAM x AS SELECT userid, COUNT(*) FROM pageviews GROUP BY userid;"
expect_err "use CREATE TABLE" "says what to use"
expect_exit 2 "CTAS without GROUP BY" -- sql -e "CREATE TABLE y AS SELECT userid FROM pageviews;"
expect_err "Invalid result type\. Your SELECT query produces a STREAM\. Please use CREATE STREAM AS SELECT" "ksqlDB's error: a stream result"
expect_exit 2 "aggregate without GROUP BY" -- sql -e "SELECT COUNT(*) FROM pageviews EMIT CHANGES;"
expect_err "aggregate functions need GROUP BY" "aggregate needs grouping"
expect_exit 2 "SELECT * with GROUP BY" -- sql -e "SELECT * FROM pageviews GROUP BY userid EMIT CHANGES;"
expect_err "SELECT \* cannot be used with GROUP BY" "star refused"
expect_exit 2 "HAVING without GROUP BY" -- sql -e "SELECT userid FROM pageviews HAVING userid = 'a' EMIT CHANGES;"
expect_err "HAVING needs GROUP BY" "having needs grouping"
expect_exit 2 "advance above size" -- sql -e "SELECT userid, COUNT(*) FROM pageviews WINDOW HOPPING (SIZE 1 MINUTE, ADVANCE BY 2 MINUTES) GROUP BY userid EMIT CHANGES;"
expect_err "ADVANCE BY <= SIZE" "window bounds checked"
expect_exit 2 "window without GROUP BY" -- sql -e "SELECT userid FROM pageviews WINDOW TUMBLING (SIZE 1 MINUTE) EMIT CHANGES;"
expect_err "WINDOW needs GROUP BY" "window needs grouping"
finish
