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
expect_exit 0 "a run-time error" -- sql --ext-dir "$EXT_DIR" --run-for 2 -e "SET 'auto.offset.reset'='earliest';
    CREATE STREAM words AS SELECT id, TOKENS(title, '') AS w FROM books WHERE id = 1;"
expect_exit 0 "processing log" -- sql --ext-dir "$EXT_DIR" -e "PRINT 'mlpipe_processing_log' FROM BEGINNING LIMIT 1;"
expect_out "TOKENS: the separator is empty" "the failure is logged, naming the function"

finish
