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

# ---- errors ----------------------------------------------------------------
expect_exit 2 "CSAS from a table" -- sql -e "CREATE STREAM s AS SELECT * FROM acc;"
expect_err "line 1:1: Invalid result type\. Your SELECT query produces a TABLE\. Please use CREATE TABLE AS SELECT statement instead\." "ksqlDB's error"
expect_exit 2 "CTAS from a stream without GROUP BY" -- sql -e "CREATE TABLE t AS SELECT * FROM pays;"
expect_err "Invalid result type\. Your SELECT query produces a STREAM\. Please use CREATE STREAM AS SELECT statement instead\." "ksqlDB's error"
expect_exit 2 "CTAS from a table without its key" -- sql -e "CREATE TABLE t AS SELECT owner FROM acc;"
expect_err "Key missing from projection \(ie, SELECT\)\. The query used to build \`T\` must include the key column ID in its projection \(eg, SELECT ID\.\.\.\)\." "ksqlDB's error"
expect_exit 2 "GROUP BY over a table" -- sql -e "SELECT owner, COUNT(*) FROM acc GROUP BY owner EMIT CHANGES;"
expect_err "line 1:[0-9]+: GROUP BY over a table is not supported yet" "refused"
expect_exit 0 "nothing was created by the failures" -- sql -e "SHOW TABLES; SHOW STREAMS;"
grep -Eq "^\| (S|T) " "$T/out" && bad "a failed statement created something" || ok
finish
