# Models as SQL functions: PREDICT, PREDICT_PROBA and ANOMALY over a
# registry of models written by `mlpipe train`, input checks when the
# statement is accepted, and a persistent query moving to a new model
# version without a restart, scoring every record exactly once.
. "$(dirname "$0")/lib.sh"
D="$T/data"
R="$T/registry"
sql() { "$MLPIPE" sql --data-dir "$D" --registry "$R" "$@"; }

# Version 1 learns the heart labels; version 2 learns them inverted, so
# every prediction tells which version made it.
"$MLPIPE" train "$SRC/examples/heart/heart.csv" --target target --id id --algorithm logistic-regression \
    --model-dir "$R/heart" >/dev/null 2>&1 || bad "train v1"
python3 - "$SRC/examples/heart/heart.csv" "$T/flipped.csv" <<'PY'
import sys
rows = open(sys.argv[1]).read().splitlines()
with open(sys.argv[2], "w") as f:
    f.write(rows[0] + "\n")
    for r in rows[1:]:
        *rest, y = r.split(",")
        f.write(",".join(rest + [str(1 - int(y))]) + "\n")
PY

expect_exit 0 "stream and inserts" -- sql -e "CREATE STREAM patients (id BIGINT KEY, age INT, sex INT, trestbps INT)
    WITH (KAFKA_TOPIC='patients', VALUE_FORMAT='JSON', PARTITIONS=1);
    INSERT INTO patients (id, age, sex, trestbps) VALUES (1, 63, 1, 233);
    INSERT INTO patients (id, age, sex, trestbps) VALUES (2, 37, 0, 130);"
expect_exit 0 "PREDICT and PREDICT_PROBA" -- sql -e "SET 'auto.offset.reset'='earliest';
    SELECT id, PREDICT('heart', age, sex, trestbps) AS pred, PREDICT_PROBA('heart', age, sex, trestbps)['1'] > 0.5 AS likely
    FROM patients EMIT CHANGES LIMIT 2;"
v1=$("$MLPIPE" predict --model "$R/heart" "$SRC/examples/heart/heart.csv" 2>/dev/null | sed -n 2p | cut -d, -f2)
grep -Eq "^\| 1 +\| $v1 +\| (true|false) +\|" "$T/out" && ok || bad "PREDICT agrees with mlpipe predict ($v1): $(cat "$T/out")"

expect_exit 2 "wrong number of inputs" -- sql -e "SELECT PREDICT('heart', age) FROM patients EMIT CHANGES;"
expect_err "line 1:8: PREDICT: model 'heart' takes 3 inputs \(age, sex, trestbps\), got 1" "names the inputs"
expect_exit 2 "a string for a numeric input" -- sql -e "SELECT PREDICT('heart', 'x', sex, trestbps) FROM patients EMIT CHANGES;"
expect_err "input 1 of model 'heart' \(age\) is numeric, got STRING" "checks the kinds"
expect_exit 2 "unknown model" -- sql -e "SELECT PREDICT('nope', age) FROM patients EMIT CHANGES;"
expect_err "model 'nope'" "names the model"
expect_exit 2 "path in a model name" -- sql -e "SELECT PREDICT('../heart', age, sex, trestbps) FROM patients EMIT CHANGES;"
expect_err "not a model name" "no path traversal"
expect_exit 2 "ANOMALY of a classifier" -- sql -e "SELECT ANOMALY('heart', age, sex, trestbps) FROM patients EMIT CHANGES;"
expect_err "not an anomaly detector" "task checked"

# The talk's ANOMALY(sensor_input): an autoencoder trained on normal card
# transactions scores a normal and a fraudulent one.
python3 "$SRC/examples/fraud/generate.py" "$T/fraud" --train 3000 --test 10 >/dev/null
"$MLPIPE" train "$T/fraud/train.csv" --id id --algorithm autoencoder --epochs 15 --learning-rate 0.003 \
    --model-dir "$R/fraud" >/dev/null 2>&1 || bad "train the autoencoder"
expect_exit 0 "ANOMALY and PREDICT of an autoencoder" -- sql -e "CREATE STREAM tx (amount DOUBLE, hour_sin DOUBLE,
      hour_cos DOUBLE, distance_km DOUBLE, tx_last_24h INT, merchant_risk DOUBLE, amount_ratio DOUBLE)
    WITH (KAFKA_TOPIC='tx', VALUE_FORMAT='DELIMITED', PARTITIONS=1);
    INSERT INTO tx VALUES (30.0, 0.5, -0.8, 3.0, 2, 0.1, 1.0);
    INSERT INTO tx VALUES (900.0, 0.7, 0.7, 400.0, 12, 0.9, 9.0);
    SET 'auto.offset.reset'='earliest';
    SELECT amount, ANOMALY('fraud', amount, hour_sin, hour_cos, distance_km, tx_last_24h, merchant_risk, amount_ratio) > 1 AS high,
      PREDICT('fraud', amount, hour_sin, hour_cos, distance_km, tx_last_24h, merchant_risk, amount_ratio) AS flagged
    FROM tx EMIT CHANGES LIMIT 2;"
expect_out "^\| 30.0 +\| false +\| false +\|" "a normal transaction is not flagged"
expect_out "^\| 900.0 +\| true +\| true +\|" "the fraudulent one is"

# Hot swap: one shell process runs a persistent query while statements
# arrive on its standard input over time; version 2 is published between
# two groups of inserts. Every record is scored once, the first group by
# v1 and the second by v2, with no restart.
{
    echo "SET 'auto.offset.reset'='earliest';"
    echo "CREATE STREAM scored AS SELECT id + 0 AS rid, PREDICT('heart', age, sex, trestbps) AS pred FROM patients;"
    for i in 10 11 12 13 14 15 16 17 18 19; do
        echo "INSERT INTO patients (id, age, sex, trestbps) VALUES ($i, 63, 1, 233);"
    done
    sleep 2
    "$MLPIPE" train "$T/flipped.csv" --target target --id id --algorithm logistic-regression \
        --model-dir "$R/heart" >/dev/null 2>&1 || echo "train v2 failed" >&2
    sleep 2
    for i in 30 31 32 33 34 35 36 37 38 39; do
        echo "INSERT INTO patients (id, age, sex, trestbps) VALUES ($i, 63, 1, 233);"
    done
    sleep 2
} | sql >"$T/q.out" 2>"$T/q.err" || bad "the shell failed: $(cat "$T/q.err")"
"$MLPIPE" consume SCORED --data-dir "$D" --from-beginning >"$T/scored" 2>&1
n=$(grep -c . "$T/scored")
[ "$n" -eq 22 ] && ok || bad "22 inputs, 22 scores, got $n: $(cat "$T/scored")"
first=$(grep '"RID":1[0-9],' "$T/scored" | grep -o '"PRED":"[01]"' | sort -u | tr '\n' ' ')
last=$(grep '"RID":3[0-9],' "$T/scored" | grep -o '"PRED":"[01]"' | sort -u | tr '\n' ' ')
[ "$(echo "$first" | wc -w)" -eq 1 ] && [ "$(echo "$last" | wc -w)" -eq 1 ] && [ "$first" != "$last" ] && ok ||
    bad "v1 scored the first group, v2 the second ($first / $last): $(cat "$T/scored")"
finish
