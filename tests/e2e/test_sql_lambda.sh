# Table functions and lambdas in mlpipe's SQL (ksqlDB's dialect): EXPLODE
# in push queries (zipped with a second table function, NULL and empty
# arrays giving no rows, LIMIT counting output rows), a user-defined table
# function from an extension (examples/udf/tokens.c), ksqlDB's errors for
# table functions where they are not allowed, each naming the position;
# TRANSFORM, FILTER and REDUCE with lambdas over arrays and maps, nested
# lambdas, parameters shadowing columns, and their bind errors; DESCRIBE
# FUNCTION documenting them.
. "$(dirname "$0")/lib.sh"
EXT_DIR=${EXT_DIR:-$(dirname "$MLPIPE")/ext}
D="$T/data"
sql() { "$MLPIPE" sql --data-dir "$D" "$@"; }
early() { sql -e "SET 'auto.offset.reset'='earliest'; $1"; }

expect_exit 0 "create" -- sql -e "CREATE STREAM books (id INT, title VARCHAR, tags ARRAY<VARCHAR>,
    scores MAP<VARCHAR, INT>, nums ARRAY<INT>)
    WITH (KAFKA_TOPIC='books', VALUE_FORMAT='JSON', PARTITIONS=1);"
"$MLPIPE" produce books --data-dir "$D" >/dev/null 2>&1 <<'JSON' || bad "produce books"
{"ID": 1, "TITLE": "the old  man", "TAGS": ["x", "y"], "SCORES": {"a": 1, "b": 2}, "NUMS": [1, 2, 3]}
{"ID": 2, "TITLE": "", "TAGS": ["z"], "SCORES": {"c": 30}, "NUMS": []}
{"ID": 3, "TITLE": null, "TAGS": null, "SCORES": null, "NUMS": null}
{"ID": 4, "TITLE": "sea", "TAGS": [], "SCORES": {"d": null}, "NUMS": [null, 5]}
JSON

# ---- EXPLODE in push queries ----------------------------------------------
expect_exit 0 "explode" -- early "SELECT id, EXPLODE(tags) AS tag, EXPLODE(nums) AS n FROM books EMIT CHANGES LIMIT 6;"
expect_out "^\| ID +\| TAG +\| N +\|" "header"
expect_out "^\| 1 +\| x +\| 1 +\|" "row 1"
expect_out "^\| 1 +\| y +\| 2 +\|" "row 2"
expect_out "^\| 1 +\| null +\| 3 +\|" "the shorter array gives NULL"
expect_out "^\| 2 +\| z +\| null +\|" "an empty array gives NULL beside a longer one"
expect_out "^\| 4 +\| null +\| null +\|" "a NULL element"
expect_out "^\| 4 +\| null +\| 5 +\|" "after it"
expect_out "^Limit Reached" "LIMIT counts output rows"
grep -q "^| 3 " "$T/out" && bad "NULL arrays gave rows: $(cat "$T/out")" || ok
[ "$(grep -c '^| [0-9]' "$T/out")" -eq 6 ] && ok || bad "six rows: $(cat "$T/out")"
expect_exit 0 "limit inside one record" -- early "SELECT EXPLODE(nums) FROM books EMIT CHANGES LIMIT 2;"
[ "$(grep -c '^| [0-9]' "$T/out")" -eq 2 ] && ok || bad "LIMIT 2 within the first record: $(cat "$T/out")"
expect_out "^\| KSQL_COL_0 +\|" "an unnamed table function's column"

# ---- errors ----------------------------------------------------------------
expect_exit 2 "with GROUP BY" -- sql -e "SELECT id, EXPLODE(tags) FROM books GROUP BY id EMIT CHANGES;"
expect_err "^error: line 1:12: Table functions cannot be used with aggregations\.$" "ksqlDB's message"
expect_exit 2 "with an aggregate" -- sql -e "SELECT EXPLODE(tags), COUNT(*) FROM books EMIT CHANGES;"
expect_err "line 1:8: Table functions cannot be used with aggregations\." "aggregate without GROUP BY"
expect_exit 2 "in WHERE" -- sql -e "SELECT id FROM books WHERE EXPLODE(tags) = 'x' EMIT CHANGES;"
expect_err "line 1:28: EXPLODE can only be used in the select list" "WHERE"
expect_exit 2 "nested" -- sql -e "SELECT EXPLODE(EXPLODE(ARRAY[tags])) FROM books EMIT CHANGES;"
expect_err "line 1:16: Table functions cannot be nested: EXPLODE\(EXPLODE\(\)\)" "nesting"
expect_exit 2 "in CASE" -- sql -e "SELECT CASE WHEN id > 1 THEN EXPLODE(tags) END FROM books EMIT CHANGES;"
expect_err "line 1:30: Table functions cannot be used in CASE: CASE WHEN ID > 1 THEN EXPLODE\(TAGS\) END" "CASE"
expect_exit 2 "a map" -- sql -e "SELECT EXPLODE(scores) FROM books EMIT CHANGES;"
expect_err "line 1:8: Function 'EXPLODE' does not accept parameters \(MAP<STRING, INTEGER>\)" "arrays only"
expect_exit 2 "inside a lambda" -- sql -e "SELECT TRANSFORM(nums, x => EXPLODE(tags)) FROM books EMIT CHANGES;"
expect_err "line 1:29: " "position inside the lambda"

# ---- a user-defined table function -----------------------------------------
[ -f "$EXT_DIR/tokens.so" ] && ok || bad "the example table function is built: $EXT_DIR/tokens.so"
expect_exit 0 "TOKENS" -- sql --ext-dir "$EXT_DIR" -e "SET 'auto.offset.reset'='earliest';
    SELECT id, TOKENS(title) AS word, TOKENS('a,b,,c', ',') AS piece FROM books EMIT CHANGES LIMIT 13;"
expect_out "^\| 1 +\| the +\| a +\|" "word 1 zipped with piece 1"
expect_out "^\| 1 +\| old +\| b +\|" "blanks collapse"
expect_out "^\| 1 +\| man +\| +\|" "an empty piece is kept"
expect_out "^\| 1 +\| null +\| c +\|" "the longer one sets the count"
expect_out "^\| 2 +\| null +\| a +\|" "an empty text gives no words"
expect_out "^\| 4 +\| sea +\| a +\|" "record 4"
expect_out "^\| 3 +\| null +\| a +\|" "a NULL title gives no words"
[ "$(grep -c '^| 3 ' "$T/out")" -eq 4 ] && ok || bad "record 3: the pieces only: $(cat "$T/out")"
expect_exit 0 "describe TOKENS" -- sql --ext-dir "$EXT_DIR" -e "DESCRIBE FUNCTION tokens; SHOW FUNCTIONS;"
expect_out "^Name: TOKENS \| Type: TABLE \| Category: STRING \| One row for each word of a text\." "type TABLE"
expect_out "^\| \(text STRING, sep STRING\) +\| STRING +\|" "the two-argument variant"
expect_out "^\| TOKENS +\| TABLE +\| STRING +\|" "listed"
expect_exit 2 "TOKENS in WHERE" -- sql --ext-dir "$EXT_DIR" -e "SELECT id FROM books WHERE TOKENS(title) = 'x' EMIT CHANGES;"
expect_err "line 1:28: TOKENS can only be used in the select list" "a UDTF follows the same rules"
# ---- lambdas ------------------------------------------------------------------
expect_exit 0 "lambdas in a push query" -- early "SELECT id,
    TRANSFORM(nums, x => x * 10) AS t,
    FILTER(tags, tags => tags <> 'x') AS f,
    REDUCE(scores, 0, (s, k, v) => s + v) AS r,
    TRANSFORM(scores, (k, v) => UCASE(k), (k, v) => TRANSFORM(nums, n => n + v)) AS nested
  FROM books EMIT CHANGES LIMIT 4;"
expect_out '^\| 1 +\| \[10,20,30\] +\| \["y"\] +\| 3 +\| \{"A":\[2,3,4\],"B":\[3,4,5\]\} +\|' "record 1"
expect_out '^\| 2 +\| \[\] +\| \["z"\] +\| 30 +\| \{"C":\[\]\} +\|' "record 2: empty array"
expect_out '^\| 3 +\| null +\| null +\| 0 +\| null +\|' "record 3: NULL collections; REDUCE gives its start"
expect_out '^\| 4 +\| \[null,50\] +\| \[\] +\| null +\| \{"D":\[null,null\]\} +\|' "record 4: NULL elements and values"
expect_exit 0 "describe TRANSFORM" -- sql -e "DESCRIBE FUNCTION transform; SHOW FUNCTIONS;"
expect_out "^Name: TRANSFORM \| Type: SCALAR \| Category: LAMBDA \| Transform a collection with a lambda function\." "TRANSFORM documented"
expect_out "^\| \(map MAP<K, V>, \(k, v\) => K2, \(k, v\) => V2\) +\| MAP<K2, V2> +\|" "the map variant"
expect_out "^\| REDUCE +\| SCALAR +\| LAMBDA +\|" "REDUCE listed"
expect_out "^\| FILTER +\| SCALAR +\| LAMBDA +\|" "FILTER listed"
expect_exit 2 "REDUCE's types" -- sql -e "SELECT REDUCE(nums, 0, (s, x) => s + id * 10000000000) FROM books EMIT CHANGES;"
expect_err "^error: line 1:24: REDUCE: the lambda returns BIGINT but the initial state is INTEGER" "REDUCE names both types"
expect_exit 2 "lambda arity" -- sql -e "SELECT TRANSFORM(scores, (k, v) => k) FROM books EMIT CHANGES;"
expect_err "line 1:8: Function 'TRANSFORM' does not accept parameters \(MAP<STRING, INTEGER>, LAMBDA\)" "a map needs two lambdas"
expect_exit 2 "a lambda elsewhere" -- sql -e "SELECT UCASE(title, x => x) FROM books EMIT CHANGES;"
expect_err "line 1:21: UCASE does not take a lambda \(argument 2\)" "only invocation functions take lambdas"
expect_exit 2 "an aggregate in a lambda" -- sql -e "SELECT id, TRANSFORM(nums, x => COUNT(x)) FROM books GROUP BY id EMIT CHANGES;"
expect_err "line 1:33: aggregate functions cannot be used in a lambda \(COUNT\)" "aggregates refused"
expect_exit 2 "parameter out of scope" -- sql -e "SELECT TRANSFORM(nums, x => x), x FROM books EMIT CHANGES;"
expect_err "line 1:33: column 'X' cannot be resolved" "a parameter exists only in its lambda"
expect_exit 2 "a lambda first" -- sql -e "SELECT FILTER(x => x, nums) FROM books EMIT CHANGES;"
expect_err "a lambda can't be the first argument of FILTER" "parse error"
# A persistent query with lambdas comes back after a restart.
expect_exit 0 "CSAS with lambdas" -- sql --run-for 2 -e "SET 'auto.offset.reset'='earliest';
    CREATE STREAM sums AS SELECT id, REDUCE(nums, 0, (s, x) => s + COALESCE(x, 0)) AS total FROM books;"
"$MLPIPE" produce books --data-dir "$D" >/dev/null 2>&1 <<'JSON' || bad "produce more"
{"ID": 5, "TITLE": "t", "TAGS": [], "SCORES": {}, "NUMS": [100, 200]}
JSON
expect_exit 0 "restart" -- sql --run-for 2 -e "SHOW QUERIES;"
expect_exit 0 "the sums" -- "$MLPIPE" consume SUMS --data-dir "$D" --from-beginning
expect_out '"TOTAL":6' "record 1 summed"
expect_out '"TOTAL":5' "NULL elements count as 0 with COALESCE"
expect_out '"TOTAL":300' "a record produced while stopped, summed after the restart"

# ---- NULL comparisons (ksqlDB's rule; tests/sql/null_comparisons pins the values) ----
expect_exit 2 "col = NULL" -- sql -e "SELECT id FROM books WHERE id = NULL EMIT CHANGES;"
expect_err "^error: line 1:28: Comparison with NULL not supported: INTEGER = NULL\. Use 'IS NULL' or 'IS NOT NULL' instead\.$" "ksqlDB's words"
expect_exit 2 "NULL = NULL" -- sql -e "SELECT NULL = NULL FROM books EMIT CHANGES;"
expect_err "line 1:8: Comparison with NULL not supported: NULL = NULL" "two NULLs"
expect_exit 2 "col > NULL" -- sql -e "SELECT id FROM books WHERE title > NULL EMIT CHANGES;"
expect_err "line 1:28: Comparison with NULL not supported: STRING > NULL" "ordering"
expect_exit 0 "NOT (col = 1) keeps NULLs" -- early "SELECT id, id IN (1, NULL) AS i FROM books WHERE NOT (title = 'sea') EMIT CHANGES LIMIT 3;"
expect_out "^\| 1 +\| true +\|" "IN matches 1"
expect_out "^\| 2 +\| false +\|" "IN with a NULL item is FALSE, not NULL"
expect_out "^\| 3 +\| false +\|" "the NULL title passes NOT (title = 'sea')"

# Last: the query below needs --ext-dir whenever the engine restarts.
expect_exit 0 "a run-time error" -- sql --ext-dir "$EXT_DIR" --run-for 2 -e "SET 'auto.offset.reset'='earliest';
    CREATE STREAM words AS SELECT id, TOKENS(title, '') AS w FROM books WHERE id = 1;"
expect_exit 0 "processing log" -- sql --ext-dir "$EXT_DIR" -e "PRINT 'mlpipe_processing_log' FROM BEGINNING LIMIT 1;"
expect_out "TOKENS: the separator is empty" "the failure is logged, naming the function"

finish
