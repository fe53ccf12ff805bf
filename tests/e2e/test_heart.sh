# Phase One end to end on the talk's heart records: split, train, predict,
# eval, inspect, versions, and the embedded scorer.
. "$(dirname "$0")/lib.sh"
H=$SRC/examples/heart/heart.csv

expect_exit 0 "split" -- "$MLPIPE" split "$H" --target target --id id --test-size 5 --seed 7 --stratify \
    --train "$T/train.csv" --test "$T/test.csv" --actual "$T/actual.csv"
[ "$(wc -l <"$T/train.csv")" -eq 11 ] && ok || bad "train.csv should have 10 rows + header"
[ "$(wc -l <"$T/test.csv")" -eq 6 ] && ok || bad "test.csv should have 5 rows + header"
[ "$(head -1 "$T/test.csv")" = "id,age,sex,trestbps" ] && ok || bad "test.csv keeps all columns but the target"
[ "$(head -1 "$T/actual.csv")" = "id,target" ] && ok || bad "actual.csv header is id,target"
# Every record lands in exactly one part, with its cells unchanged.
cat "$T/train.csv" "$T/test.csv" | grep -v '^id' | cut -d, -f1 | sort -n | tr '\n' ' ' >"$T/ids"
[ "$(cat "$T/ids")" = "0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 " ] && ok || bad "split lost or duplicated rows: $(cat "$T/ids")"
for id in $(tail -n +2 "$T/actual.csv" | cut -d, -f1); do
    grep -q "^$id,.*,$(grep "^$id," "$T/actual.csv" | cut -d, -f2)\$" "$H" && ok || bad "actual of id $id differs from the data"
done
# Stratified: 9 of 15 are class 1, so 3 of the 5 test rows are.
[ "$(tail -n +2 "$T/actual.csv" | cut -d, -f2 | grep -c 1)" -eq 3 ] && ok || bad "stratified split keeps class shares"
# Same seed, same split; another seed, another split.
"$MLPIPE" split "$H" --target target --id id --test-size 5 --seed 7 --stratify \
    --train "$T/t2.csv" --test "$T/s2.csv" --actual "$T/a2.csv" >/dev/null
cmp -s "$T/actual.csv" "$T/a2.csv" && ok || bad "the same seed gives the same split"
"$MLPIPE" split "$H" --target target --id id --test-size 5 --seed 8 \
    --train "$T/t3.csv" --test "$T/s3.csv" --actual "$T/a3.csv" >/dev/null
cmp -s "$T/actual.csv" "$T/a3.csv" && bad "another seed should give another split" || ok

# Without --id, an id column is added to all three files.
cut -d, -f2- "$H" >"$T/nid.csv"
expect_exit 0 "split without id" -- "$MLPIPE" split "$T/nid.csv" --target target --train "$T/n_tr.csv" \
    --test "$T/n_te.csv" --actual "$T/n_ac.csv"
[ "$(head -1 "$T/n_tr.csv")" = "id,age,sex,trestbps,target" ] && ok || bad "generated id column in train"
[ "$(head -1 "$T/n_te.csv")" = "id,age,sex,trestbps" ] && ok || bad "generated id column in test"
[ "$(wc -l <"$T/n_te.csv")" -eq 5 ] && ok || bad "default test size 0.25 of 15 rows is 4"

# Train: versions 1 then 2, older ones untouched.
expect_exit 0 "train" -- "$MLPIPE" train "$T/train.csv" --target target --id id --algorithm knn --param k=3 --model-dir "$T/m"
expect_out "trained knn \(classification\) on 10 rows x 3 features, 2 classes" "train summary"
expect_out "training accuracy" "train prints the training metric"
[ -f "$T/m/1/model.safetensors" ] && ok || bad "version 1 written"
sum1=$(md5sum <"$T/m/1/model.safetensors")
expect_exit 0 "train v2" -- "$MLPIPE" train "$T/train.csv" --target target --id id --algorithm naive-bayes --model-dir "$T/m"
[ -f "$T/m/2/model.safetensors" ] && ok || bad "version 2 written"
[ "$(md5sum <"$T/m/1/model.safetensors")" = "$sum1" ] && ok || bad "version 1 untouched by version 2"
ls -a "$T/m" | grep -q tmp && bad "temp dirs left behind" || ok

# Predict with the newest (naive Bayes) and a specific version (knn).
expect_exit 0 "predict newest" -- "$MLPIPE" predict --model "$T/m" "$T/test.csv" --proba --output "$T/p2.csv"
[ "$(head -1 "$T/p2.csv")" = "id,prediction,p_0,p_1" ] && ok || bad "predict header: $(head -1 "$T/p2.csv")"
[ "$(wc -l <"$T/p2.csv")" -eq 6 ] && ok || bad "one prediction per test row"
expect_exit 0 "predict v1" -- "$MLPIPE" predict --model "$T/m/1" "$T/test.csv"
head -1 "$T/out" | grep -qx "id,prediction" && ok || bad "predict to stdout without --proba"
# k=3 uniform: probabilities are multiples of 1/3.
"$MLPIPE" predict --model "$T/m/1" "$T/test.csv" --proba | tail -n +2 | cut -d, -f3 >"$T/p1"
grep -Evq '^(0|1|0\.3333333333333333|0\.6666666666666666)$' "$T/p1" && bad "knn k=3 probabilities: $(cat "$T/p1")" || ok

# Eval: table, JSON, HTML report.
expect_exit 0 "eval" -- "$MLPIPE" eval --predictions "$T/p2.csv" --actual "$T/actual.csv" --report "$T/r.html"
expect_out "ccuracy" "eval table shows accuracy"
grep -q "<svg" "$T/r.html" && ok || bad "HTML report has inline SVG"
"$MLPIPE" eval --predictions "$T/p2.csv" --actual "$T/actual.csv" --json >"$T/e.json"
acc=$(json_get "$T/e.json" "j['accuracy']")
# The accuracy must equal the share of matching rows, computed here independently.
python3 - "$T/p2.csv" "$T/actual.csv" "$acc" <<'PY' && ok || bad "eval accuracy disagrees with the files"
import csv, sys
p = {r['id']: r['prediction'] for r in csv.DictReader(open(sys.argv[1]))}
a = {r['id']: r['target'] for r in csv.DictReader(open(sys.argv[2]))}
want = sum(p[i] == a[i] for i in a) / len(a)
sys.exit(0 if abs(want - float(sys.argv[3])) < 1e-12 else 1)
PY
python3 -c "import json,sys; j=json.load(open(sys.argv[1])); assert 'roc_auc' in j and 'log_loss' in j and 'confusion_matrix' in j" "$T/e.json" && ok || bad "eval JSON with probabilities has roc_auc, log_loss, confusion_matrix"

# Inspect lists versions and what the model is.
expect_exit 0 "inspect" -- "$MLPIPE" inspect --model "$T/m"
expect_out "naive-bayes" "inspect names the algorithm"
expect_out "versions: +1, 2\*" "inspect lists versions with the current one starred"
expect_exit 0 "inspect v1 json" -- "$MLPIPE" inspect --model "$T/m/1" --json
python3 -c "import json,sys; j=json.load(open(sys.argv[1])); assert j['algorithm']=='knn' and j['params']['k']==3 and j['versions']==[1,2], j" "$T/out" && ok || bad "inspect --json"

# Cross-validation prints folds and a mean.
expect_exit 0 "cv" -- "$MLPIPE" cv "$H" --target target --id id --algorithm logistic-regression --folds 3
expect_out "accuracy \(logistic-regression, 3 folds\): [01]\.[0-9]{4} \+- [0-9.]+" "cv summary"

# The embedded scorer gives the same predictions as the CLI.
if [ -n "${EMBED_SCORE:-}" ]; then
    expect_exit 0 "embed" -- "$EMBED_SCORE" "$T/m/1" <"$T/test.csv"
    "$MLPIPE" predict --model "$T/m/1" "$T/test.csv" >"$T/cli.csv"
    cmp -s "$T/out" "$T/cli.csv" && ok || bad "embedded scorer differs from mlpipe predict: $(cat "$T/out")"
fi

# Regression on the same rows: linear regression of trestbps.
expect_exit 0 "train regression" -- "$MLPIPE" train "$H" --target trestbps --id id --algorithm linear-regression --model-dir "$T/lr"
expect_out "linear-regression \(regression\)" "regression summary"
"$MLPIPE" predict --model "$T/lr" "$H" >"$T/lp.csv"
cut -d, -f1,4 "$H" >"$T/la.csv"
expect_exit 0 "eval regression" -- "$MLPIPE" eval --predictions "$T/lp.csv" --actual "$T/la.csv" --json
python3 -c "import json,sys; j=json.load(open(sys.argv[1])); assert j['task']=='regression' and set(['mae','rmse','r2'])<=set(j), j" "$T/out" && ok || bad "regression eval keys"
finish
