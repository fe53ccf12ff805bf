# INSERT INTO stream SELECT ...: a persistent query (INSERTQUERY_<n>) into
# an existing stream, listed by SHOW QUERIES, back after a restart, stopped
# by TERMINATE (for good), holding DROP off while it runs; ksqlDB's errors
# for a schema that differs, a table target or result, a missing target.
. "$(dirname "$0")/lib.sh"
D="$T/data"
sql() { "$MLPIPE" sql --data-dir "$D" "$@"; }
count() { sql -e "SET 'auto.offset.reset'='earliest'; SELECT * FROM all_orders;" >"$T/c" 2>&1; grep -c '^| [0-9]' "$T/c"; }

expect_exit 0 "streams" -- sql -e "
  CREATE STREAM web (id INT KEY, item VARCHAR) WITH (KAFKA_TOPIC='web', VALUE_FORMAT='JSON', PARTITIONS=1);
  CREATE STREAM shop (id INT KEY, item VARCHAR, n INT) WITH (KAFKA_TOPIC='shop', VALUE_FORMAT='JSON', PARTITIONS=1);
  CREATE STREAM all_orders (id INT KEY, item VARCHAR) WITH (KAFKA_TOPIC='all_orders', VALUE_FORMAT='JSON', PARTITIONS=1);
  CREATE TABLE t (id INT PRIMARY KEY, item VARCHAR) WITH (KAFKA_TOPIC='t', VALUE_FORMAT='JSON', PARTITIONS=1);
  INSERT INTO web (id, item) VALUES (1, 'pen');
  INSERT INTO shop (id, item, n) VALUES (2, 'ink', 3);"

expect_exit 0 "INSERT INTO ... SELECT" -- sql --run-for 2 -e "SET 'auto.offset.reset'='earliest';
  INSERT INTO all_orders SELECT id, item FROM web;
  INSERT INTO all_orders SELECT id, item FROM shop WHERE n > 0;
  SHOW QUERIES;"
expect_out "Created query with ID INSERTQUERY_[0-9]+" "query id"
[ "$(grep -c '^| INSERTQUERY_[0-9]* *| PERSISTENT *| RUNNING *| ALL_ORDERS' "$T/out")" -eq 2 ] && ok || bad "SHOW QUERIES lists both: $(cat "$T/out")"
[ "$(count)" -eq 2 ] && ok || bad "both rows written: $(cat "$T/c")"

# A restart: the queries come back (from the command topic) and go on.
expect_exit 0 "more input after a restart" -- sql --run-for 2 -e "INSERT INTO web (id, item) VALUES (3, 'pad'); SHOW QUERIES;"
[ "$(grep -c '^| INSERTQUERY_' "$T/out")" -eq 2 ] && ok || bad "restarted: $(cat "$T/out")"
[ "$(count)" -eq 3 ] && ok || bad "the new record, nothing twice: $(cat "$T/c")"

expect_exit 2 "DROP while written" -- sql -e "DROP STREAM all_orders;"
expect_err "cannot drop ALL_ORDERS: query INSERTQUERY_[0-9]+ writes to it" "refused"

id=$(sql -e "SHOW QUERIES;" | grep -o 'INSERTQUERY_[0-9]*' | head -1)
expect_exit 0 "TERMINATE" -- sql -e "TERMINATE $id; SHOW QUERIES;"
[ "$(grep -c '^| INSERTQUERY_' "$T/out")" -eq 1 ] && ok || bad "one left: $(cat "$T/out")"
expect_exit 0 "stays terminated" -- sql -e "SHOW QUERIES;"
grep -q "$id " "$T/out" && bad "$id came back" || ok

# ---- errors -----------------------------------------------------------------
expect_exit 2 "a different schema" -- sql -e "INSERT INTO all_orders SELECT id, item, n FROM shop;"
expect_err "line 1:1: Incompatible schema between results and sink\." "ksqlDB's error"
grep -q '^Result schema is `ID` INTEGER KEY, `ITEM` STRING, `N` INTEGER$' "$T/err" && ok || bad "result schema: $(cat "$T/err")"
grep -q '^Sink schema is `ID` INTEGER KEY, `ITEM` STRING$' "$T/err" && ok || bad "sink schema: $(cat "$T/err")"
expect_exit 2 "a type that differs" -- sql -e "INSERT INTO all_orders SELECT id, CAST(n AS VARCHAR) AS item2 FROM shop;"
expect_err "Incompatible schema" "names differ"
expect_exit 2 "into a table" -- sql -e "INSERT INTO t SELECT id, item FROM web;"
expect_err "INSERT INTO can only be used to insert into a stream\. T is a table\." "ksqlDB's error"
expect_exit 2 "a table result" -- sql -e "INSERT INTO all_orders SELECT id, item FROM t;"
expect_err "Incompatible data sink and query result\. Data sink \(ALL_ORDERS\) type is STREAM but select query result is TABLE\." "ksqlDB's error"
expect_exit 2 "a missing target" -- sql -e "INSERT INTO nowhere SELECT id, item FROM web;"
expect_err "line 1:1: NOWHERE does not exist" "names it"
expect_exit 2 "a missing source" -- sql -e "INSERT INTO all_orders SELECT id, item FROM nowhere;"
expect_err "NOWHERE does not exist" "names it"
expect_exit 0 "nothing started by the failures" -- sql -e "SHOW QUERIES;"
[ "$(grep -c '^| INSERTQUERY_' "$T/out")" -eq 1 ] && ok || bad "still one: $(cat "$T/out")"
finish
