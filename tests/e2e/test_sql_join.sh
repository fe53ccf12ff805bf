# Joins from the shell: a push query over a stream-table join, the join
# errors with their SQL positions and ksqlDB's wording, and persistent
# joins that rebuild their state after a restart (the table from its topic,
# the stream-stream window from the records before the commit) without
# writing anything twice.
. "$(dirname "$0")/lib.sh"
D="$T/data"
sql() { "$MLPIPE" sql --data-dir "$D" "$@"; }

expect_exit 0 "sources" -- sql -e "CREATE STREAM pageviews (viewtime BIGINT, userid VARCHAR, pageid VARCHAR)
    WITH (KAFKA_TOPIC='pageviews', VALUE_FORMAT='DELIMITED', PARTITIONS=1);
  CREATE TABLE users (userid VARCHAR PRIMARY KEY, name VARCHAR, regionid INT)
    WITH (KAFKA_TOPIC='users', VALUE_FORMAT='JSON', PARTITIONS=1);
  CREATE STREAM clicks (userid VARCHAR KEY, x INT)
    WITH (KAFKA_TOPIC='clicks', VALUE_FORMAT='JSON', PARTITIONS=2);
  CREATE STREAM views2 (userid VARCHAR KEY, pageid VARCHAR)
    WITH (KAFKA_TOPIC='views2', VALUE_FORMAT='JSON', PARTITIONS=1);
  INSERT INTO users (userid, name, regionid, ROWTIME) VALUES ('User_1', 'Ann', 1, 1);
  INSERT INTO pageviews (viewtime, userid, pageid, ROWTIME) VALUES (1, 'User_1', 'P1', 2);
  INSERT INTO pageviews (viewtime, userid, pageid, ROWTIME) VALUES (2, 'User_2', 'P2', 3);
  INSERT INTO users (userid, name, regionid, ROWTIME) VALUES ('User_2', 'Bob', 2, 4);
  INSERT INTO pageviews (viewtime, userid, pageid, ROWTIME) VALUES (3, 'User_2', 'P3', 5);"

# ---- a push query ---------------------------------------------------------
expect_exit 0 "push query over a stream-table join" -- sql -e "SET 'auto.offset.reset'='earliest';
    SELECT pv.pageid, u.name, pv.userid FROM pageviews pv LEFT JOIN users u ON pv.userid = u.userid
    EMIT CHANGES LIMIT 3;"
expect_out "PAGEID +\| NAME +\| PV_USERID" "ksqlDB's column names (USERID is in both sources)"
expect_out "^\| P1 +\| Ann +\| User_1 +\|" "joined"
expect_out "^\| P2 +\| (null|NULL)? *\| User_2 +\|" "LEFT: no user yet, NULL"
expect_out "^\| P3 +\| Bob +\| User_2 +\|" "the table as of the view's time"
expect_out "Limit Reached" "LIMIT"

# ---- errors ---------------------------------------------------------------
join_err() { # DESCRIPTION PATTERN SQL
    expect_exit 2 "$1" -- sql -e "$3"
    expect_err "$2" "$1"
}
join_err "unknown alias" "line 1:8: column 'X.NAME' cannot be resolved: no source or alias 'X'" \
    "SELECT x.name FROM pageviews pv JOIN users u ON pv.userid = u.userid EMIT CHANGES;"
join_err "unknown alias in ON" "line 1:64: column 'Q.USERID' cannot be resolved" \
    "SELECT pv.pageid FROM pageviews pv JOIN users u ON pv.userid = q.userid EMIT CHANGES;"
join_err "non-equi join" "line 1:44: Only equality join criteria is supported\." \
    "SELECT * FROM pageviews pv JOIN users u ON pv.userid <> u.userid EMIT CHANGES;"
join_err "not a comparison" "line 1:44: Unsupported join expression: PV.USERID = U.USERID AND TRUE" \
    "SELECT * FROM pageviews pv JOIN users u ON pv.userid = u.userid AND TRUE EMIT CHANGES;"
join_err "stream-stream without WITHIN" "line 1:33: Stream-Stream joins must have a WITHIN clause specified\. None was provided\." \
    "SELECT * FROM pageviews pv JOIN views2 v ON pv.userid = v.userid EMIT CHANGES;"
join_err "WITHIN on a stream-table join" "line 1:33: A window definition was provided for a Stream-Table join" \
    "SELECT * FROM pageviews pv JOIN users u WITHIN 1 HOUR ON pv.userid = u.userid EMIT CHANGES;"
join_err "table-stream order" "line 1:15: Invalid join order: table-stream joins are not supported; only stream-table joins\. Got U \[INNER\] JOIN PV\." \
    "SELECT * FROM users u JOIN pageviews pv ON pv.userid = u.userid EMIT CHANGES;"
join_err "FULL OUTER stream-table" "line 1:44: Invalid join type: full-outer join not supported for stream-table join\. Got PV \[FULL\] OUTER JOIN U\." \
    "SELECT * FROM pageviews pv FULL OUTER JOIN users u ON pv.userid = u.userid EMIT CHANGES;"
join_err "RIGHT stream-table" "line 1:45: Invalid join type: right-outer join not supported for stream-table join\. Got PV RIGHT \[OUTER\] JOIN U\." \
    "SELECT * FROM pageviews pv RIGHT OUTER JOIN users u ON pv.userid = u.userid EMIT CHANGES;"
join_err "table side not on its key" "line 1:44: Invalid join condition: stream-table joins require to join on the table's primary key\. Got PAGEVIEWS\.USERID = USERS\.NAME\." \
    "SELECT * FROM pageviews pv JOIN users u ON pv.userid = u.name EMIT CHANGES;"
join_err "types differ" "line 1:59: Invalid join condition: types don't match\\. Got PV\\.VIEWTIME\\{BIGINT\\} = V\\.USERID\\{STRING\\}\\." \
    "SELECT * FROM pageviews pv JOIN views2 v WITHIN 1 HOUR ON pv.viewtime = v.userid EMIT CHANGES;"
join_err "co-partitioning" "line 1:33: Can't join \`PV\` with \`C\` since the number of partitions don't match\. \`PV\` partitions = 1; \`C\` partitions = 2\." \
    "SELECT * FROM pageviews pv JOIN clicks c WITHIN 1 HOUR ON pv.userid = c.userid EMIT CHANGES;"
join_err "the key must be selected" "The query used to build \`OUT1\` must include the join expressions PV\.USERID or U\.USERID in its projection" \
    "CREATE STREAM out1 AS SELECT pv.pageid, u.name FROM pageviews pv JOIN users u ON pv.userid = u.userid;"
join_err "FULL OUTER needs ROWKEY" "must include the join expression ROWKEY in its projection" \
    "CREATE STREAM out2 AS SELECT v.pageid FROM pageviews pv FULL OUTER JOIN views2 v WITHIN 1 HOUR ON pv.userid = v.userid;"
join_err "same name twice" "line 1:33: both sides of the join are called PV; give one an alias" \
    "SELECT * FROM pageviews pv JOIN users pv ON pv.userid = pv.userid EMIT CHANGES;"
join_err "ambiguous column" "line 1:8: column 'USERID' is ambiguous: it could be PV.USERID, U.USERID" \
    "SELECT userid FROM pageviews pv JOIN users u ON pv.userid = u.userid EMIT CHANGES;"

# ---- a persistent stream-table join across restarts ------------------------
expect_exit 0 "CSAS over a join" -- sql --run-for 1 -e "SET 'auto.offset.reset'='earliest';
    CREATE STREAM enriched AS SELECT pv.userid AS userid, pv.pageid, u.name
    FROM pageviews pv JOIN users u ON pv.userid = u.userid;"
expect_out "Created query with ID CSAS_ENRICHED_[0-9]+" "query id"
expect_exit 0 "enriched" -- "$MLPIPE" consume ENRICHED --data-dir "$D" --from-beginning --print-key
[ "$(tr '\t\n' ':|' <"$T/out")" = "User_1:P1,Ann|User_2:P3,Bob|" ] && ok || bad "inner join output: $(cat "$T/out")"
expect_exit 2 "a join's table cannot be dropped" -- sql -e "DROP TABLE users;"
expect_err "query CSAS_ENRICHED_[0-9]+ reads from it" "DROP names the join query"
# Only stream records arrive after the restart: the users come from the
# table's topic, read again up to the committed offset.
expect_exit 0 "restart" -- sql --run-for 1 -e "INSERT INTO pageviews (viewtime, userid, pageid, ROWTIME) VALUES (4, 'User_1', 'P4', 6);"
"$MLPIPE" consume ENRICHED --data-dir "$D" --from-beginning --print-key >"$T/enriched" 2>&1
[ "$(tr '\t\n' ':|' <"$T/enriched")" = "User_1:P1,Ann|User_2:P3,Bob|User_1:P4,Ann|" ] && ok ||
    bad "table state restored, nothing written twice: $(cat "$T/enriched")"
expect_exit 0 "describe extended" -- sql -e "DESCRIBE users EXTENDED;"
expect_out "CSAS_ENRICHED_[0-9]+ +\| reads" "the join query reads the table"

# ---- a persistent stream-stream join across restarts ------------------------
expect_exit 0 "stream-stream CSAS" -- sql --run-for 1 -e "SET 'auto.offset.reset'='earliest';
    CREATE STREAM orders (id INT KEY, item VARCHAR) WITH (KAFKA_TOPIC='orders', VALUE_FORMAT='JSON', PARTITIONS=1);
    CREATE STREAM shipments (id INT KEY, wh VARCHAR) WITH (KAFKA_TOPIC='shipments', VALUE_FORMAT='JSON', PARTITIONS=1);
    CREATE STREAM shipped AS SELECT o.id, o.item, s.wh FROM orders o JOIN shipments s WITHIN 1 HOUR ON o.id = s.id;
    INSERT INTO orders (id, item, ROWTIME) VALUES (1, 'book', 1000);"
# The order is in the window buffer only; after the restart it is read
# again from before the committed offset, and the shipment finds it.
expect_exit 0 "shipment after restart" -- sql --run-for 1 -e "INSERT INTO shipments (id, wh, ROWTIME) VALUES (1, 'north', 2000);"
"$MLPIPE" consume SHIPPED --data-dir "$D" --from-beginning >"$T/shipped" 2>&1
[ "$(cat "$T/shipped")" = '{"ITEM":"book","WH":"north"}' ] && ok || bad "window restored: $(cat "$T/shipped")"
expect_exit 0 "a third run writes nothing again" -- sql --run-for 1 -e "SHOW QUERIES;"
"$MLPIPE" consume SHIPPED --data-dir "$D" --from-beginning >"$T/shipped" 2>&1
[ "$(wc -l <"$T/shipped")" -eq 1 ] && ok || bad "once: $(cat "$T/shipped")"

# ---- joins of more than two sources ------------------------------------------
expect_exit 0 "more tables" -- sql -e "CREATE TABLE regions (regionid INT PRIMARY KEY, rname VARCHAR)
    WITH (KAFKA_TOPIC='regions', VALUE_FORMAT='JSON', PARTITIONS=1);
  CREATE TABLE tags (userid VARCHAR PRIMARY KEY, tag VARCHAR)
    WITH (KAFKA_TOPIC='tags', VALUE_FORMAT='JSON', PARTITIONS=1);
  CREATE STREAM views3 (userid VARCHAR KEY, pageid VARCHAR)
    WITH (KAFKA_TOPIC='views3', VALUE_FORMAT='JSON', PARTITIONS=1);
  INSERT INTO regions (regionid, rname, ROWTIME) VALUES (1, 'North', 0);"
join_err "criteria without the joined source" "line 1:83: A join criteria is expected to reference the source \(\`R\`\) in the FROM clause, instead the right source references \`U\` and the left source references \`PV\`" \
    "SELECT * FROM pageviews pv JOIN users u ON pv.userid = u.userid JOIN regions r ON pv.userid = u.userid EMIT CHANGES;"
join_err "both sides on one source" "line 1:83: Each side of the join must reference exactly one source and not the same source\. Left side references \`PV\` and right references \`PV\`" \
    "SELECT * FROM pageviews pv JOIN users u ON pv.userid = u.userid JOIN regions r ON pv.userid = pv.pageid EMIT CHANGES;"
join_err "a source twice" "line 1:70: N-way joins do not support multiple occurrences of the same source\. Source: 'U2'" \
    "SELECT * FROM pageviews pv JOIN users u ON pv.userid = u.userid JOIN users u2 ON pv.userid = u2.userid EMIT CHANGES;"
join_err "joined on a later source" "line 1:88: Cannot build JOIN tree; neither source in the join is the FROM source or included in a previous JOIN" \
    "SELECT * FROM pageviews pv JOIN users u ON pv.userid = u.userid LEFT JOIN regions r ON t.userid = r.regionid JOIN tags t ON pv.userid = t.userid EMIT CHANGES;"
join_err "table-table-stream" "line 1:63: Invalid join order: table-stream joins are not supported; only stream-table joins\. Got U \[INNER\] JOIN PV\." \
    "SELECT * FROM users u JOIN tags t ON u.userid = t.userid JOIN pageviews pv ON u.userid = pv.userid EMIT CHANGES;"
join_err "a third stream" "line 1:85: joining a third stream is not supported yet" \
    "SELECT * FROM pageviews pv JOIN views2 v WITHIN 1 HOUR ON pv.userid = v.userid JOIN views3 w WITHIN 1 HOUR ON pv.userid = w.userid EMIT CHANGES;"
join_err "step not on the table's key" "line 1:83: Invalid join condition: stream-table joins require to join on the table's primary key\. Got USERS\.NAME = REGIONS\.RNAME\." \
    "SELECT * FROM pageviews pv JOIN users u ON pv.userid = u.userid JOIN regions r ON u.name = r.rname EMIT CHANGES;"
join_err "foreign key in a chain of tables" "line 1:76: Invalid join condition: foreign-key table-table joins are not supported as part of n-way joins\. Got USERS\.REGIONID = REGIONS\.REGIONID\." \
    "SELECT * FROM users u JOIN tags t ON u.userid = t.userid JOIN regions r ON u.regionid = r.regionid EMIT CHANGES;"
join_err "RIGHT stream-table step" "line 1:76: Invalid join type: right-outer join not supported for stream-table join\. Got PV RIGHT \[OUTER\] JOIN T\." \
    "SELECT * FROM pageviews pv JOIN users u ON pv.userid = u.userid RIGHT JOIN tags t ON pv.userid = t.userid EMIT CHANGES;"
join_err "the chain's key must be selected" "The query used to build \`OUT3\` must include the join expressions PV\.USERID, U\.USERID or T\.USERID in its projection \(eg, SELECT PV\.USERID\.\.\.\)\." \
    "CREATE STREAM out3 AS SELECT pv.pageid FROM pageviews pv JOIN users u ON pv.userid = u.userid JOIN tags t ON u.userid = t.userid;"
join_err "a rekeyed chain's key" "must include the join expressions U\.REGIONID or R\.REGIONID in its projection" \
    "CREATE STREAM out4 AS SELECT pv.userid AS userid FROM pageviews pv JOIN users u ON pv.userid = u.userid LEFT JOIN regions r ON u.regionid = r.regionid;"

# A persistent stream-table-table join: after the restart both tables
# come from their topics again.
expect_exit 0 "CSAS over three sources" -- sql --run-for 1 -e "SET 'auto.offset.reset'='earliest';
    CREATE STREAM regional AS SELECT u.regionid AS region, pv.pageid, u.name, r.rname
    FROM pageviews pv JOIN users u ON pv.userid = u.userid LEFT JOIN regions r ON u.regionid = r.regionid;"
"$MLPIPE" consume REGIONAL --data-dir "$D" --from-beginning >"$T/regional" 2>&1
[ "$(tr '\n' '|' <"$T/regional")" = "P1,Ann,North|P3,Bob,|P4,Ann,North|" ] && ok ||
    bad "stream-table-table output: $(cat "$T/regional")"
expect_exit 2 "a third source cannot be dropped" -- sql -e "DROP TABLE regions;"
expect_err "query CSAS_REGIONAL_[0-9]+ reads from it" "DROP names the multi-way join query"
expect_exit 0 "restart with a new region and view" -- sql --run-for 1 -e "
    INSERT INTO regions (regionid, rname, ROWTIME) VALUES (2, 'South', 7);
    INSERT INTO pageviews (viewtime, userid, pageid, ROWTIME) VALUES (5, 'User_2', 'P5', 8);"
"$MLPIPE" consume REGIONAL --data-dir "$D" --from-beginning >"$T/regional" 2>&1
[ "$(tr '\n' '|' <"$T/regional")" = "P1,Ann,North|P3,Bob,|P4,Ann,North|P5,Bob,South|" ] && ok ||
    bad "tables restored, nothing written twice: $(cat "$T/regional")"
expect_exit 0 "describe extended" -- sql -e "DESCRIBE regions EXTENDED;"
expect_out "CSAS_REGIONAL_[0-9]+ +\| reads" "the multi-way join query reads its third source"

finish
