# Tables as query sources: a push query over a table shows each update of
# its changelog (not its deletions), CREATE TABLE AS SELECT filters and
# projects a table, and the errors ksqlDB gives for a stream result from a
# table, a table result from a stream, and a table query without the key.
. "$(dirname "$0")/lib.sh"
D="$T/data"
sql() { "$MLPIPE" sql --data-dir "$D" "$@"; }

expect_exit 0 "a table with updates and a deletion" -- sql -e "
  CREATE TABLE acc (id INT PRIMARY KEY, owner VARCHAR, balance DOUBLE)
    WITH (KAFKA_TOPIC='acc', VALUE_FORMAT='JSON', PARTITIONS=1);
  CREATE STREAM pays (id INT KEY, amount DOUBLE) WITH (KAFKA_TOPIC='pays', VALUE_FORMAT='JSON', PARTITIONS=1);
  INSERT INTO acc (id, owner, balance) VALUES (1, 'ann', 150.0);
  INSERT INTO acc (id, owner, balance) VALUES (2, 'bo', 20.0);
  INSERT INTO acc (id, owner, balance) VALUES (1, 'ann', 10.0);"
expect_exit 0 "push query over a table" -- sql -e "SET 'auto.offset.reset'='earliest';
  SELECT * FROM acc EMIT CHANGES LIMIT 3;"
expect_out "^\| ID +\| OWNER +\| BALANCE +\|" "the table's columns"
expect_out "^\| 1 +\| ann +\| 150.0 +\|" "first update"
expect_out "^\| 1 +\| ann +\| 10.0 +\|" "second update of the same key: a row too"
expect_out "^\| 2 +\| bo +\| 20.0 +\|" "other key"
expect_out "Limit Reached" "LIMIT"

expect_exit 0 "push query over a table with WHERE" -- sql -e "SET 'auto.offset.reset'='earliest';
  SELECT id, owner FROM acc WHERE balance > 15 EMIT CHANGES LIMIT 2;"
grep -q "| 10.0" "$T/out" && bad "filtered update shown" || ok
expect_out "^\| 1 +\| ann +\|" "matching update"
expect_out "^\| 2 +\| bo +\|" "matching update of another key"

# ---- persistent: a table from a table ------------------------------------
expect_exit 0 "CTAS over a table" -- sql -e "SET 'auto.offset.reset'='earliest';
  CREATE TABLE rich AS SELECT id, owner FROM acc WHERE balance >= 100;"
expect_out "Created query with ID CTAS_RICH_" "query id"
expect_exit 0 "the result's topic" -- sql --run-for 2 -e "PRINT 'RICH' FROM BEGINNING LIMIT 3;"
expect_out "^\| [0-9-]+ +\| 0 +\| .* +\| \{\"OWNER\":\"ann\"\}" "a matching row"
[ "$(grep -c '^|' "$T/out")" -eq 4 ] && ok || bad "three records (a row, then two tombstones): $(cat "$T/out")"
expect_exit 0 "SHOW QUERIES" -- sql -e "SHOW QUERIES;"
expect_out "CTAS_RICH_.*RICH" "listed"

# ---- GROUP BY over a table -------------------------------------------------
# A push query: the update of key 1 within ann's group replaces its row
# (ann counted once, with the new balance), never adds to it.
expect_exit 0 "push query grouping a table" -- sql -e "SET 'auto.offset.reset'='earliest';
  SELECT owner, COUNT(*) AS n, SUM(balance) AS total FROM acc GROUP BY owner EMIT CHANGES LIMIT 3;"
expect_out "^\| ann +\| 1 +\| 150.0 +\|" "first row of ann"
expect_out "^\| bo +\| 1 +\| 20.0 +\|" "bo"
expect_out "^\| ann +\| 1 +\| 10.0 +\|" "ann's update replaces its row"
grep -Eq "^\| ann +\| 2 " "$T/out" && bad "an update counted twice" || ok
# Persistent, across a restart: the previous rows come back from the
# changelog, so an update after the restart still leaves its old group.
expect_exit 0 "CTAS grouping a table" -- sql --run-for 2 -e "SET 'auto.offset.reset'='earliest';
  CREATE TABLE per_owner AS SELECT owner, COUNT(*) AS n, SUM(balance) AS total FROM acc GROUP BY owner;"
expect_exit 0 "key 1 moves to bo after a restart" -- sql --run-for 2 -e "INSERT INTO acc (id, owner, balance) VALUES (1, 'bo', 5.0);"
expect_exit 0 "a new group after another restart" -- sql --run-for 2 -e "INSERT INTO acc (id, owner, balance) VALUES (3, 'cy', 1.0);"
expect_exit 0 "the grouped table's topic" -- sql --run-for 2 -e "PRINT 'PER_OWNER' FROM BEGINNING LIMIT 6;"
[ "$(grep -c '^|' "$T/out")" -eq 7 ] && ok || bad "six records: $(cat "$T/out")"
expect_out '^\| [0-9-]+ +\| 0 +\| ann +\| \{"N":0,"TOTAL":0\.0\}' "ann's group emptied, count 0"
expect_out '^\| [0-9-]+ +\| 0 +\| bo +\| \{"N":2,"TOTAL":25\.0\}' "bo's group gained key 1"
expect_out '^\| [0-9-]+ +\| 0 +\| cy +\| \{"N":1,"TOTAL":1\.0\}' "a new group"
grep -q '"N":3' "$T/out" && bad "a row counted twice after the restart" || ok

# ---- errors ----------------------------------------------------------------
expect_exit 2 "CSAS from a table" -- sql -e "CREATE STREAM s AS SELECT * FROM acc;"
expect_err "line 1:1: Invalid result type\. Your SELECT query produces a TABLE\. Please use CREATE TABLE AS SELECT statement instead\." "ksqlDB's error"
expect_exit 2 "CTAS from a stream without GROUP BY" -- sql -e "CREATE TABLE t AS SELECT * FROM pays;"
expect_err "Invalid result type\. Your SELECT query produces a STREAM\. Please use CREATE STREAM AS SELECT statement instead\." "ksqlDB's error"
expect_exit 2 "CTAS from a table without its key" -- sql -e "CREATE TABLE t AS SELECT owner FROM acc;"
expect_err "Key missing from projection \(ie, SELECT\)\. The query used to build \`T\` must include the key column ID in its projection \(eg, SELECT ID\.\.\.\)\." "ksqlDB's error"
expect_exit 2 "aggregates without undo over a table" -- sql -e "SELECT owner, MIN(balance), COUNT(*), MAX(balance), LATEST_BY_OFFSET(balance), MIN(id) FROM acc GROUP BY owner EMIT CHANGES;"
expect_err "^error: line 1:15: The aggregation functions MIN, MAX and LATEST_BY_OFFSET cannot be applied to a table source, only to a stream source\.$" "ksqlDB's error, each name once"
expect_exit 2 "one aggregate without undo" -- sql -e "CREATE TABLE t AS SELECT owner, COUNT(*), TOPK(balance, 2) FROM acc GROUP BY owner;"
expect_err "line 1:43: The aggregation function TOPK cannot be applied to a table source, only to a stream source\." "singular"
expect_exit 2 "a window over a table" -- sql -e "SELECT owner, COUNT(*) FROM acc WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY owner EMIT CHANGES;"
expect_err "line 1:29: Windowing not supported for table aggregations\." "ksqlDB's error"
expect_exit 0 "nothing was created by the failures" -- sql -e "SHOW TABLES; SHOW STREAMS;"
grep -Eq "^\| (S|T) " "$T/out" && bad "a failed statement created something" || ok
finish
