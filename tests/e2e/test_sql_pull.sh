# Pull queries (SELECT without EMIT CHANGES) with `mlpipe sql -e`: a
# table's current state (latest row per key, from an aggregation's topic,
# a windowed aggregation with WINDOWSTART bounds, a SOURCE table), key
# lookups, IN, scans with other conditions, LIMIT, a stream's scan, and
# ksqlDB's errors for what pull queries refuse.
. "$(dirname "$0")/lib.sh"
D="$T/data"
sql() { "$MLPIPE" sql --data-dir "$D" "$@"; }

expect_exit 0 "sources, aggregations and records" -- sql --run-for 2 -e "
  CREATE STREAM clicks (userid VARCHAR KEY, page VARCHAR, ms INT)
    WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='JSON', PARTITIONS=2);
  SET 'auto.offset.reset'='earliest';
  CREATE TABLE per_user AS SELECT userid, COUNT(*) AS n, SUM(ms) AS total FROM clicks GROUP BY userid;
  CREATE TABLE per_win AS SELECT userid, COUNT(*) AS n FROM clicks WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY userid;
  CREATE TABLE plain (id INT PRIMARY KEY, v VARCHAR) WITH (KAFKA_TOPIC='plain', VALUE_FORMAT='JSON', PARTITIONS=1);
  CREATE SOURCE TABLE src (id INT PRIMARY KEY, v VARCHAR) WITH (KAFKA_TOPIC='plain', VALUE_FORMAT='JSON');
  INSERT INTO plain (id, v) VALUES (1, 'one');
  INSERT INTO plain (id, v) VALUES (2, 'two');
  INSERT INTO plain (id, v) VALUES (1, 'uno');
  INSERT INTO clicks (userid, page, ms, ROWTIME) VALUES ('a', 'p1', 10, 1000);
  INSERT INTO clicks (userid, page, ms, ROWTIME) VALUES ('b', 'p2', 5, 2000);
  INSERT INTO clicks (userid, page, ms, ROWTIME) VALUES ('a', 'p3', 7, 12000);"

rows() { grep -c '^| [^ ]' "$T/out" | awk '{print $1 - 1}'; } # minus the header

expect_exit 0 "a whole aggregation" -- sql -e "SELECT * FROM per_user;"
expect_out "^\| USERID +\| N +\| TOTAL +\|" "columns"
expect_out "^\| a +\| 2 +\| 17 +\|" "a's latest row"
expect_out "^\| b +\| 1 +\| 5 +\|" "b's row"
[ "$(rows)" -eq 2 ] && ok || bad "one row per key, got $(rows): $(cat "$T/out")"
expect_out "^Query terminated" "ends by itself"

expect_exit 0 "a key lookup" -- sql -e "SELECT * FROM per_user WHERE userid = 'a';"
expect_out "^\| a +\| 2 +\| 17 +\|" "the key's row"
[ "$(rows)" -eq 1 ] && ok || bad "only the key: $(cat "$T/out")"
expect_exit 0 "IN, a missing key" -- sql -e "SELECT n FROM per_user WHERE userid IN ('b', 'zz');"
expect_out "^\| 1 +\|" "b's count"
[ "$(rows)" -eq 1 ] && ok || bad "a missing key adds nothing: $(cat "$T/out")"
expect_exit 0 "a key that is not there" -- sql -e "SELECT * FROM per_user WHERE userid = 'nobody';"
[ "$(rows)" -eq 0 ] && ok || bad "no rows: $(cat "$T/out")"
expect_exit 0 "a scan with another condition" -- sql -e "SELECT userid FROM per_user WHERE total > 6;"
expect_out "^\| a +\|" "a matches"
grep -q "^| b " "$T/out" && bad "b does not match" || ok
expect_exit 0 "a lookup with another condition" -- sql -e "SELECT userid FROM per_user WHERE userid = 'a' AND total > 100;"
[ "$(rows)" -eq 0 ] && ok || bad "the other condition still applies: $(cat "$T/out")"
expect_exit 0 "LIMIT" -- sql -e "SELECT * FROM per_user LIMIT 1;"
[ "$(rows)" -eq 1 ] && ok || bad "LIMIT 1: $(cat "$T/out")"

expect_exit 0 "a windowed aggregation" -- sql -e "SELECT * FROM per_win;"
expect_out "^\| USERID +\| WINDOWSTART +\| WINDOWEND +\| N +\|" "keys, window bounds, values"
expect_out "^\| a +\| 0 +\| 10000 +\| 1 +\|" "a's first window"
expect_out "^\| a +\| 10000 +\| 20000 +\| 1 +\|" "a's second window"
expect_out "^\| b +\| 0 +\| 10000 +\| 1 +\|" "b's window"
expect_exit 0 "WINDOWSTART bounds" -- sql -e "SELECT userid, n FROM per_win WHERE userid = 'a' AND WINDOWSTART >= 10000;"
expect_out "^\| a +\| 1 +\|" "a's later window"
[ "$(rows)" -eq 1 ] && ok || bad "one window: $(cat "$T/out")"

expect_exit 0 "a SOURCE table" -- sql -e "SELECT * FROM src;"
expect_out "^\| 1 +\| uno +\|" "the latest value of key 1"
expect_out "^\| 2 +\| two +\|" "key 2"
[ "$(rows)" -eq 2 ] && ok || bad "one row per key: $(cat "$T/out")"
expect_exit 0 "a SOURCE table's key" -- sql -e "SELECT v FROM src WHERE id = 1;"
expect_out "^\| uno +\|" "looked up"

expect_exit 0 "a stream's scan" -- sql -e "SELECT * FROM clicks;"
[ "$(rows)" -eq 3 ] && ok || bad "every record: $(cat "$T/out")"
expect_exit 0 "a stream's scan with WHERE and LIMIT" -- sql -e "SELECT page FROM clicks WHERE ms > 6 LIMIT 1;"
[ "$(rows)" -eq 1 ] && ok || bad "LIMIT: $(cat "$T/out")"

# The state as of the query: a new update is seen by the next one.
expect_exit 0 "an update" -- sql -e "INSERT INTO plain (id, v) VALUES (2, 'dos'); SELECT v FROM src WHERE id = 2;"
expect_out "^\| dos +\|" "the new value"
grep -q "| two" "$T/out" && bad "the old value is gone" || ok

# ---- errors -----------------------------------------------------------------
pull_err() { # DESCRIPTION PATTERN SQL
    expect_exit 2 "$1" -- sql -e "$3"
    expect_err "$2" "$1"
}
pull_err "a plain CREATE TABLE" "line 1:15: The \`PLAIN\` table isn't queryable\. To derive a queryable table, you can do 'CREATE TABLE QUERYABLE_PLAIN AS SELECT \* FROM PLAIN'\. Add EMIT CHANGES if you intended to issue a push query\." \
    "SELECT * FROM plain;"
pull_err "GROUP BY" "line 1:1: Pull queries don't support GROUP BY clauses\. Add EMIT CHANGES" \
    "SELECT page, COUNT(*) FROM clicks GROUP BY page;"
pull_err "WINDOW" "Pull queries don't support WINDOW clauses" \
    "SELECT page, COUNT(*) FROM clicks WINDOW TUMBLING (SIZE 1 SECOND) GROUP BY page;"
pull_err "JOIN" "Pull queries don't support JOIN clauses" \
    "SELECT * FROM clicks c JOIN src s ON c.ms = s.id;"
pull_err "PARTITION BY" "Pull queries don't support PARTITION BY clauses" \
    "SELECT * FROM clicks PARTITION BY page;"
pull_err "unknown source" "line 1:15: NOPE does not exist" "SELECT * FROM nope;"
pull_err "unknown column" "line 1:8: .*NOPE" "SELECT nope FROM per_user;"
pull_err "bad WHERE" "WHERE needs a BOOLEAN condition" "SELECT * FROM per_user WHERE n;"
# Table functions in a pull query make their rows as in a push query.
expect_exit 0 "EXPLODE in a pull query" -- sql -e "CREATE STREAM baskets (id INT KEY, items ARRAY<VARCHAR>)
    WITH (KAFKA_TOPIC='baskets', VALUE_FORMAT='JSON', PARTITIONS=1);
  INSERT INTO baskets (id, items) VALUES (1, ARRAY['pear', 'fig']);
  INSERT INTO baskets (id, items) VALUES (2, ARRAY['plum']);
  SELECT id, EXPLODE(items) AS item FROM baskets;"
[ "$(grep -cE '^\| (1 +\| pear|1 +\| fig|2 +\| plum) +\|' "$T/out")" = 3 ] && ok || bad "three exploded rows: $(cat "$T/out")"
finish
