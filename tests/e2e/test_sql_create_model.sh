# CREATE MODEL: training from inside SQL on a stream's (or a table's)
# current contents, publishing the next version in the registry. The model
# equals what `mlpipe train` makes of the same rows (same predictions and
# probabilities), TEST_SIZE holds out the rows `mlpipe split` would, a
# running query's PREDICT moves to a version trained meanwhile, every bad
# statement is refused with its position and publishes nothing, and a
# restart does not train again.
. "$(dirname "$0")/lib.sh"
D="$T/data"
R="$T/registry"
sql() { "$MLPIPE" sql --data-dir "$D" --registry "$R" "$@"; }
versions() { ls "$R/$1" 2>/dev/null | grep -E '^[0-9]+$' | sort -n | tr '\n' ' '; }

# The heart rows, with the header as SQL names the columns, so that the
# CLI's models have the same input names.
{ head -1 "$SRC/examples/heart/heart.csv" | tr a-z A-Z; tail -n +2 "$SRC/examples/heart/heart.csv"; } >"$T/heart.csv"
expect_exit 0 "the heart stream" -- sql -e "CREATE STREAM heart_in (id BIGINT, age INT, sex INT, trestbps INT, target INT)
    WITH (KAFKA_TOPIC='heart_in', VALUE_FORMAT='DELIMITED', PARTITIONS=1);"
tail -n +2 "$T/heart.csv" | "$MLPIPE" produce heart_in --data-dir "$D" >/dev/null 2>&1 || bad "produce the heart rows"

# ---- version 1 equals mlpipe train on the same rows with the same seed ----
expect_exit 0 "CREATE MODEL" -- sql -e "CREATE MODEL heart WITH (ALGORITHM='logistic-regression', TARGET='target', ID='id', SEED=7)
    AS SELECT id, age, sex, trestbps, target FROM heart_in;"
expect_out "^Model HEART version 1 trained on 15 rows \(training accuracy 0\.[0-9]{4}\)$" "the result message"
[ "$(versions HEART)" = "1 " ] && [ -f "$R/HEART/1/model.safetensors" ] && ok || bad "registry has version 1: $(ls -R "$R")"
sql_acc=$(sed -n 's/.*training accuracy \([0-9.]*\).*/\1/p' "$T/out")
"$MLPIPE" train "$T/heart.csv" --target TARGET --id ID --algorithm logistic-regression --seed 7 \
    --model-dir "$T/cli" >"$T/cli.out" 2>&1 || bad "mlpipe train: $(cat "$T/cli.out")"
grep -q "training accuracy: $sql_acc " "$T/cli.out" && ok || bad "same training accuracy ($sql_acc): $(cat "$T/cli.out")"
"$MLPIPE" predict --model "$R/HEART/1" "$T/heart.csv" --proba >"$T/p_sql" 2>&1 || bad "predict with the SQL model"
"$MLPIPE" predict --model "$T/cli/1" "$T/heart.csv" --proba >"$T/p_cli" 2>&1 || bad "predict with the CLI model"
[ "$(wc -l <"$T/p_sql")" -eq 16 ] && cmp -s "$T/p_sql" "$T/p_cli" && ok ||
    bad "SQL and CLI models predict alike: $(diff "$T/p_sql" "$T/p_cli" | head)"
"$MLPIPE" inspect "$R/HEART" >"$T/inspect" 2>&1
grep -Eq "target: +TARGET +id: ID" "$T/inspect" && grep -q "AGE .*numeric" "$T/inspect" && ok ||
    bad "inspect shows the columns: $(cat "$T/inspect")"

# STRING columns are categorical features, parameters are properties
# (K=3 is --param k=3): again the CLI's model.
python3 - "$T/heart.csv" "$T/cat.csv" <<'PY'
import sys
rows = open(sys.argv[1]).read().splitlines()
with open(sys.argv[2], "w") as f:
    f.write("ID,AGE,BP,TARGET\n")
    for r in rows[1:]:
        i, age, sex, bps, y = r.split(",")
        f.write(",".join([i, age, "high" if int(bps) > 200 else "normal", y]) + "\n")
PY
expect_exit 0 "a stream with a STRING column" -- sql -e "CREATE STREAM cat_in (id BIGINT, age INT, bp STRING, target INT)
    WITH (KAFKA_TOPIC='cat_in', VALUE_FORMAT='DELIMITED', PARTITIONS=1);"
tail -n +2 "$T/cat.csv" | "$MLPIPE" produce cat_in --data-dir "$D" >/dev/null 2>&1 || bad "produce the categorical rows"
expect_exit 0 "knn with K=3 and a categorical feature" -- sql -e "CREATE MODEL \`cat\` WITH (ALGORITHM='knn', TARGET='TARGET', ID='ID', K=3, WEIGHTS='distance')
    AS SELECT * FROM cat_in;"
expect_out "^Model cat version 1 trained on 15 rows" "a quoted name keeps its case"
"$MLPIPE" train "$T/cat.csv" --target TARGET --id ID --algorithm knn --param k=3 --param weights=distance \
    --model-dir "$T/cli-cat" >/dev/null 2>&1 || bad "mlpipe train knn"
"$MLPIPE" predict --model "$R/cat" "$T/cat.csv" --proba >"$T/p_sql" 2>&1
"$MLPIPE" predict --model "$T/cli-cat" "$T/cat.csv" --proba >"$T/p_cli" 2>&1
[ "$(wc -l <"$T/p_sql")" -eq 16 ] && cmp -s "$T/p_sql" "$T/p_cli" && ok ||
    bad "knn: SQL and CLI models predict alike: $(diff "$T/p_sql" "$T/p_cli" | head)"
"$MLPIPE" inspect "$R/cat" >"$T/inspect" 2>&1
grep -q "BP .*categorical (2 levels)" "$T/inspect" && grep -q '"k":3' "$T/inspect" && ok ||
    bad "the STRING column is categorical and k is 3: $(cat "$T/inspect")"

# TEST_SIZE holds out the rows `mlpipe split` holds out with the same seed,
# and the message scores them as `mlpipe eval` does.
expect_exit 0 "TEST_SIZE" -- sql -e "CREATE MODEL held WITH (ALGORITHM='logistic-regression', TARGET='target', ID='id', TEST_SIZE=0.25, SEED=3)
    AS SELECT id, age, sex, trestbps, target FROM heart_in;"
expect_out "^Model HELD version 1 trained on 11 rows \(accuracy 0\.[0-9]{4} on 4 held-out rows\)$" "held-out score"
held=$(sed -n 's/.*(accuracy \([0-9.]*\) on.*/\1/p' "$T/out")
"$MLPIPE" split "$T/heart.csv" --target TARGET --id ID --test-size 0.25 --seed 3 --train "$T/tr.csv" \
    --test "$T/te.csv" --actual "$T/act.csv" >/dev/null 2>&1 || bad "mlpipe split"
"$MLPIPE" train "$T/tr.csv" --target TARGET --id ID --algorithm logistic-regression --seed 3 \
    --model-dir "$T/cli-held" >/dev/null 2>&1 || bad "train on the split"
"$MLPIPE" predict --model "$T/cli-held" "$T/te.csv" --output "$T/te.pred" >/dev/null 2>&1 || bad "predict the test rows"
"$MLPIPE" eval --predictions "$T/te.pred" --actual "$T/act.csv" --json >"$T/eval.json" 2>&1 || bad "eval: $(cat "$T/eval.json")"
cli_held=$(python3 -c 'import json,sys; print("%.4f" % json.load(open(sys.argv[1]))["accuracy"])' "$T/eval.json" 2>/dev/null)
[ -n "$held" ] && [ "$held" = "$cli_held" ] && ok || bad "held-out accuracy $held equals mlpipe eval's $cli_held"
"$MLPIPE" predict --model "$R/HELD" "$T/te.csv" >"$T/a" 2>&1
"$MLPIPE" predict --model "$T/cli-held" "$T/te.csv" >"$T/b" 2>&1
cmp -s "$T/a" "$T/b" && ok || bad "trained on the split's training rows: $(diff "$T/a" "$T/b")"
"$MLPIPE" inspect "$R/HELD" 2>&1 | grep -q '"heldout_accuracy":.*"heldout_rows":4' && ok || bad "held-out score in the metrics"

# ---- a second CREATE MODEL while a query scores with PREDICT ----
# One shell process: a persistent query scores patients with HEART (v1);
# CREATE MODEL trains version 2 on inverted labels meanwhile; the records
# after it are scored by version 2, with no restart.
expect_exit 0 "patients" -- sql -e "CREATE STREAM patients (id BIGINT KEY, age INT, sex INT, trestbps INT)
    WITH (KAFKA_TOPIC='patients', VALUE_FORMAT='JSON', PARTITIONS=1);"
{
    echo "SET 'auto.offset.reset'='earliest';"
    echo "CREATE STREAM scored AS SELECT id + 0 AS rid, PREDICT('HEART', age, sex, trestbps) AS pred FROM patients;"
    for i in 10 11 12 13 14; do
        echo "INSERT INTO patients (id, age, sex, trestbps) VALUES ($i, 63, 1, 233);"
    done
    sleep 2
    echo "CREATE MODEL heart WITH (ALGORITHM='logistic-regression', TARGET='target', ID='id', SEED=7)
        AS SELECT id, age, sex, trestbps, 1 - target AS target FROM heart_in;"
    sleep 2
    for i in 30 31 32 33 34; do
        echo "INSERT INTO patients (id, age, sex, trestbps) VALUES ($i, 63, 1, 233);"
    done
    sleep 2
} | sql >"$T/q.out" 2>"$T/q.err" || bad "the shell failed: $(cat "$T/q.err")"
grep -q "Model HEART version 2 trained on 15 rows" "$T/q.out" && ok || bad "version 2: $(cat "$T/q.out" "$T/q.err")"
[ "$(versions HEART)" = "1 2 " ] && ok || bad "versions 1 and 2: $(versions HEART)"
"$MLPIPE" consume SCORED --data-dir "$D" --from-beginning >"$T/scored" 2>&1
first=$(grep '"RID":1[0-9],' "$T/scored" | grep -o '"PRED":"[01]"' | sort -u | tr '\n' ' ')
last=$(grep '"RID":3[0-9],' "$T/scored" | grep -o '"PRED":"[01]"' | sort -u | tr '\n' ' ')
[ "$(grep -c . "$T/scored")" -eq 10 ] && [ "$(echo "$first" | wc -w)" -eq 1 ] && [ "$(echo "$last" | wc -w)" -eq 1 ] &&
    [ "$first" != "$last" ] && ok || bad "v1 scored the first group, v2 the second ($first / $last): $(cat "$T/scored")"
# A push query started now binds version 2: its prediction is mlpipe predict's with HEART/2.
printf 'ID,AGE,SEX,TRESTBPS\n1,63,1,233\n' >"$T/one.csv"
v2=$("$MLPIPE" predict --model "$R/HEART/2" "$T/one.csv" 2>/dev/null | sed -n 2p | cut -d, -f2)
expect_exit 0 "push query with PREDICT" -- sql -e "SET 'auto.offset.reset'='earliest';
    SELECT id, PREDICT('HEART', age, sex, trestbps) AS pred FROM patients EMIT CHANGES LIMIT 1;"
[ -n "$v2" ] && grep -Eq "^\| 10 +\| $v2 +\|" "$T/out" && ok || bad "the push query uses version 2 ($v2): $(cat "$T/out")"

# The directory is the upper-cased name; a lower-case PREDICT name is told so.
expect_exit 2 "PREDICT('heart')" -- sql -e "SELECT PREDICT('heart', age, sex, trestbps) FROM patients EMIT CHANGES LIMIT 1;"
expect_err "model 'heart': .* \(there is a model 'HEART': CREATE MODEL upper-cases names that are not quoted\)" "the hint"

# ---- a table: its latest row per key ----
# Key 1 is updated, key 5 has a NULL feature: refused, then dropped or
# imputed. (Tombstones are in tests/unit/test_engine_model.c.)
expect_exit 0 "a table with updates and a delete" -- sql -e "CREATE TABLE people (id BIGINT PRIMARY KEY, age INT, kind STRING, target INT)
    WITH (KAFKA_TOPIC='people', VALUE_FORMAT='JSON', PARTITIONS=2);
    INSERT INTO people (id, age, kind, target) VALUES (1, 10, 'a', 1);
    INSERT INTO people (id, age, kind, target) VALUES (2, 20, 'b', 1);
    INSERT INTO people (id, age, kind, target) VALUES (3, 30, 'a', 0);
    INSERT INTO people (id, age, kind, target) VALUES (1, 40, 'b', 0);
    INSERT INTO people (id, age, kind, target) VALUES (4, 50, 'b', 1);
    INSERT INTO people (id, age, kind, target) VALUES (5, NULL, 'b', 1);"
expect_exit 2 "a NULL feature" -- sql -e "CREATE MODEL people_m WITH (ALGORITHM='naive-bayes', TARGET='target', ID='id') AS SELECT * FROM people;"
expect_err "line 1:[0-9]+: column AGE is NULL in the record of PEOPLE at partition [01] offset [0-9]+; MISSING='drop'" "names the record"
expect_exit 0 "MISSING='drop'" -- sql -e "CREATE MODEL people_m WITH (ALGORITHM='naive-bayes', TARGET='target', ID='id', MISSING='drop') AS SELECT * FROM people;"
expect_out "^Model PEOPLE_M version 1 trained on 4 rows \(training accuracy [01]\.[0-9]{4}\); 1 row with missing values dropped$" "latest row per key"
expect_exit 0 "MISSING='mean', WHERE" -- sql -e "CREATE MODEL people_m WITH (ALGORITHM='naive-bayes', TARGET='target', MISSING='mean') AS SELECT age, kind, target FROM people WHERE id <> 2;"
expect_out "^Model PEOPLE_M version 2 trained on 4 rows" "WHERE on the latest rows"

# ---- errors: positions, and nothing published ----
before=$(find "$R" -name model.safetensors | wc -l)
expect_exit 2 "a table function" -- sql -e "CREATE MODEL m WITH (ALGORITHM='knn', TARGET='target') AS SELECT EXPLODE(ARRAY[age]) AS a, target FROM heart_in;"
expect_err "line 1:[0-9]+: CREATE MODEL does not take table functions such as EXPLODE" "refused with its position"
expect_exit 2 "unknown algorithm" -- sql -e "CREATE MODEL m WITH (ALGORITHM='forest', TARGET='target') AS SELECT age, target FROM heart_in;"
expect_err "line 1:22: unknown algorithm 'forest' \(known: knn\|" "unknown algorithm"
expect_exit 2 "no ALGORITHM" -- sql -e "CREATE MODEL m WITH (TARGET='target') AS SELECT age, target FROM heart_in;"
expect_err "line 1:1: CREATE MODEL needs ALGORITHM in WITH" "ALGORITHM required"
expect_exit 2 "missing TARGET" -- sql -e "CREATE MODEL m WITH (ALGORITHM='knn') AS SELECT age, target FROM heart_in;"
expect_err "line 1:1: CREATE MODEL needs TARGET in WITH" "TARGET required"
expect_exit 2 "TARGET not selected" -- sql -e "CREATE MODEL m WITH (ALGORITHM='knn', TARGET='sex') AS SELECT age, target FROM heart_in;"
expect_err "line 1:39: TARGET 'sex' is not a column of the SELECT \(its columns: AGE, TARGET\)" "TARGET in the select list"
expect_exit 2 "ID not selected" -- sql -e "CREATE MODEL m WITH (ALGORITHM='knn', TARGET='target', ID='id') AS SELECT age, target FROM heart_in;"
expect_err "ID 'id' is not a column of the SELECT" "ID in the select list"
expect_exit 2 "no rows" -- sql -e "CREATE MODEL m WITH (ALGORITHM='knn', TARGET='target') AS SELECT age, target FROM heart_in WHERE age > 1000;"
expect_err "line 1:[0-9]+: CREATE MODEL M: no rows to train on: HEART_IN has no records that pass WHERE" "no rows"
expect_exit 0 "an empty stream" -- sql -e "CREATE STREAM empty_in (a INT, b INT) WITH (KAFKA_TOPIC='empty_in', VALUE_FORMAT='JSON', PARTITIONS=3);"
expect_exit 2 "no records" -- sql -e "CREATE MODEL m WITH (ALGORITHM='knn', TARGET='b') AS SELECT a, b FROM empty_in;"
expect_err "no rows to train on: EMPTY_IN has no records$" "empty stream"
expect_exit 2 "no registry" -- "$MLPIPE" sql --data-dir "$D" -e "CREATE MODEL m WITH (ALGORITHM='knn', TARGET='target') AS SELECT age, target FROM heart_in;"
expect_err "line 1:1: CREATE MODEL needs a model registry: start mlpipe with --registry DIR" "registry required"
expect_exit 2 "a BOOLEAN feature" -- sql -e "CREATE MODEL m WITH (ALGORITHM='knn', TARGET='target') AS SELECT age > 50 AS old, target FROM heart_in;"
expect_err "line 1:[0-9]+: column OLD is BOOLEAN, which a model cannot take as a feature" "feature types"
expect_exit 2 "an ARRAY feature" -- sql -e "CREATE MODEL m WITH (ALGORITHM='knn', TARGET='target') AS SELECT ARRAY[age, sex] AS v, target FROM heart_in;"
expect_err "column V is ARRAY" "arrays refused"
expect_exit 2 "unknown property" -- sql -e "CREATE MODEL m WITH (ALGORITHM='knn', TARGET='target', DEPTH=3) AS SELECT age, target FROM heart_in;"
expect_err "line 1:56: unknown property 'DEPTH' in CREATE MODEL's WITH \(.*knn takes k, weights" "unknown property"
expect_exit 2 "bad parameter value" -- sql -e "CREATE MODEL m WITH (ALGORITHM='knn', TARGET='target', K='many') AS SELECT age, target FROM heart_in;"
expect_err "line 1:56: parameter k=many" "parameter value at its position"
expect_exit 2 "bad TEST_SIZE" -- sql -e "CREATE MODEL m WITH (ALGORITHM='knn', TARGET='target', TEST_SIZE=15) AS SELECT age, target FROM heart_in;"
expect_err "line 1:56: TEST_SIZE=15 leaves 15 held-out and 0 training rows of 15" "TEST_SIZE checked"
expect_exit 2 "bad TASK" -- sql -e "CREATE MODEL m WITH (ALGORITHM='logistic-regression', TARGET='target', TASK='regression') AS SELECT age, target FROM heart_in;"
expect_err "logistic-regression cannot do regression" "TASK checked"
expect_exit 2 "one class" -- sql -e "CREATE MODEL m WITH (ALGORITHM='knn', TARGET='target') AS SELECT age, target FROM heart_in WHERE target = 1;"
expect_err "line 1:1: CREATE MODEL M: .*single class" "a single class"
expect_exit 2 "unknown source" -- sql -e "CREATE MODEL m WITH (ALGORITHM='knn', TARGET='target') AS SELECT age, target FROM nowhere;"
expect_err "NOWHERE does not exist" "unknown source"
expect_exit 2 "a join" -- sql -e "CREATE MODEL m WITH (ALGORITHM='knn', TARGET='target') AS SELECT h.age, h.target FROM heart_in h JOIN cat_in c WITHIN 1 HOUR ON h.id = c.id;"
expect_err "CREATE MODEL reads one stream or table" "joins refused"
expect_exit 2 "a path as a name" -- sql -e "CREATE MODEL \`../m\` WITH (ALGORITHM='knn', TARGET='target') AS SELECT age, target FROM heart_in;"
expect_err "cannot name a model" "no path traversal"
[ "$(find "$R" -name model.safetensors | wc -l)" -eq "$before" ] && [ ! -e "$R/M" ] && ok || bad "failed statements published nothing"
ls -a "$R"/*/ | grep -q '^\.tmp' && bad "a temporary directory was left" || ok

# IF NOT EXISTS trains only a model that has no version yet.
expect_exit 0 "IF NOT EXISTS" -- sql -e "CREATE MODEL IF NOT EXISTS heart WITH (ALGORITHM='knn', TARGET='target') AS SELECT age, target FROM heart_in;"
expect_out "Model HEART already exists \(version 2\); not trained" "IF NOT EXISTS"
[ "$(versions HEART)" = "1 2 " ] && ok || bad "IF NOT EXISTS trained: $(versions HEART)"

# ---- a restart does not train again ----
expect_exit 0 "restart" -- sql -e "SHOW QUERIES;"
expect_out "CSAS_SCORED" "the persistent query is back"
[ "$(versions HEART)" = "1 2 " ] && [ "$(versions PEOPLE_M)" = "1 2 " ] && [ "$(versions HELD)" = "1 " ] && ok ||
    bad "a restart trained again: $(ls -R "$R")"
"$MLPIPE" consume _mlpipe_commands --data-dir "$D" --from-beginning >"$T/commands" 2>&1
grep -q "CREATE STREAM heart_in" "$T/commands" && ! grep -q "CREATE MODEL" "$T/commands" && ok ||
    bad "CREATE MODEL is not a command: $(cat "$T/commands")"
finish
