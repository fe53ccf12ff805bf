# eval --model: the model that made the predictions is named in the table,
# the JSON and the HTML report, and a network's training history (metadata
# "fit_info") becomes a "training" object and loss/accuracy curves. The
# history is written into a classic model's file by hand, so this runs
# without the network code; and bad models fail with exit 2 and a message
# naming the model file, never a crash.
. "$(dirname "$0")/lib.sh"
H=$SRC/examples/heart/heart.csv

# set_fit_info MODEL_FILE JSON: replaces the metadata "fit_info" (safetensors:
# 8-byte little-endian header length, JSON header, data). JSON "-" removes it.
set_fit_info() {
    python3 - "$1" "$2" <<'PY'
import json, struct, sys
path, fit = sys.argv[1], sys.argv[2]
raw = open(path, "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
hdr = json.loads(raw[8:8 + n])
meta = hdr.setdefault("__metadata__", {})
if fit == "-":
    meta.pop("fit_info", None)
else:
    meta["fit_info"] = fit
out = json.dumps(hdr, separators=(",", ":")).encode()
out += b" " * (-len(out) % 8)
open(path, "wb").write(struct.pack("<Q", len(out)) + out + raw[8 + n:])
PY
}

expect_exit 0 "split" -- "$MLPIPE" split "$H" --target target --id id --test-size 5 --seed 7 --stratify \
    --train "$T/train.csv" --test "$T/test.csv" --actual "$T/actual.csv"
expect_exit 0 "train" -- "$MLPIPE" train "$T/train.csv" --target target --id id --algorithm logistic-regression \
    --model-dir "$T/m"
expect_exit 0 "train v2" -- "$MLPIPE" train "$T/train.csv" --target target --id id --algorithm naive-bayes \
    --model-dir "$T/m"
F=$T/m/2/model.safetensors
HIST='{"parameters":101770,"epochs_run":3,"best_epoch":2,"stopped_early":true,"history":[
{"epoch":1,"loss":0.61,"accuracy":0.78,"val_loss":0.55,"val_accuracy":0.8,"seconds":4.1},
{"epoch":2,"loss":0.42,"accuracy":0.86,"val_loss":0.47,"val_accuracy":0.84,"seconds":4.0},
{"epoch":3,"loss":0.35,"accuracy":0.9,"val_loss":null,"val_accuracy":null,"seconds":3.9}]}'
set_fit_info "$F" "$HIST"
expect_exit 0 "inspect reads the rewritten model" -- "$MLPIPE" inspect "$T/m"
expect_exit 0 "predict" -- "$MLPIPE" predict --model "$T/m" "$T/test.csv" --proba --output "$T/p.csv"

# JSON: the metrics, the model, and the history as recorded.
expect_exit 0 "eval --model --json --report" -- "$MLPIPE" eval --predictions "$T/p.csv" --actual "$T/actual.csv" \
    --model "$T/m" --report "$T/r.html" --json
cp "$T/out" "$T/eval.json"
[ "$(json_get "$T/eval.json" "j['task']")" = classification ] && ok || bad "metrics still there: $(cat "$T/eval.json")"
[ "$(json_get "$T/eval.json" "j['model']")" = "{'path': '$T/m', 'version': 2, 'algorithm': 'naive-bayes'}" ] && ok ||
    bad "model object: $(json_get "$T/eval.json" "j.get('model')")"
[ "$(json_get "$T/eval.json" "[j['training'][k] for k in ('epochs_run', 'best_epoch', 'stopped_early')]")" = "[3, 2, True]" ] &&
    ok || bad "training summary: $(json_get "$T/eval.json" "j.get('training')")"
[ "$(json_get "$T/eval.json" "j['training']['history'][2]")" = \
  "{'epoch': 3, 'loss': 0.35, 'accuracy': 0.9, 'val_loss': None, 'val_accuracy': None, 'seconds': 3.9}" ] &&
    ok || bad "history entry: $(json_get "$T/eval.json" "j['training']['history']")"
[ "$(json_get "$T/eval.json" "[h['val_loss'] for h in j['training']['history']]")" = "[0.55, 0.47, None]" ] &&
    ok || bad "validation losses"
[ "$(wc -l <"$T/eval.json")" -eq 1 ] && ok || bad "one line of JSON"

# HTML: context lines, the training section with two charts of two curves.
R=$T/r.html
grep -q "<dt>model</dt><dd>$T/m version 2</dd>" "$R" && ok || bad "report names the model"
grep -q "<dt>algorithm</dt><dd>naive-bayes</dd>" "$R" && ok || bad "report names the algorithm"
grep -q "<h2>Training</h2>" "$R" && ok || bad "report has a Training section"
grep -q "3 epochs · best epoch 2 · stopped early · final loss 0.35 (validation 0.47)" "$R" && ok ||
    bad "training summary line: $(grep -o '<h2>Training</h2><p[^>]*>[^<]*' "$R")"
python3 - "$R" <<'PY' && ok || bad "training charts"
import re, sys
h = open(sys.argv[1]).read()
t = h[h.index("<h2>Training</h2>"):]
t = t[:t.index("</section>")]
assert t.count('<svg class="curve"') == 2, t.count("<svg")
lines = re.findall(r'<polyline[^>]*points="([^"]*)"><title>([^<]*)</title>', t)
got = [(name, len(pts.split(" "))) for pts, name in lines]
# validation stops after epoch 2: lines of 2 points, then nothing
assert got == [("training loss", 3), ("validation loss", 2), ("training accuracy", 3),
               ("validation accuracy", 2)], got
assert t.count("<circle") == 10, t.count("<circle")
assert "epoch 3: validation" not in t
assert "<script" not in h
PY

# The table names the model and sums up the training.
expect_exit 0 "eval --model table" -- "$MLPIPE" eval --predictions "$T/p.csv" --actual "$T/actual.csv" --model "$T/m/2"
expect_out "^model: $T/m version 2 \(naive-bayes\)$" "table names the model"
expect_out "^training: 3 epochs, best epoch 2, stopped early; last loss 0.35$" "table sums up the training"

# A classic model (its own fit_info, no history): named, no training.
expect_exit 0 "eval with a classic model" -- "$MLPIPE" eval --predictions "$T/p.csv" --actual "$T/actual.csv" \
    --model "$T/m/1" --json --report "$T/r1.html"
[ "$(json_get "$T/out" "j['model']['algorithm'], 'training' in j")" = "('logistic-regression', False)" ] && ok ||
    bad "classic model in JSON: $(cat "$T/out")"
grep -q "<dd>$T/m version 1</dd>" "$T/r1.html" && ok || bad "classic model named in the report"
grep -q "Training" "$T/r1.html" && bad "no Training section without a history" || ok
set_fit_info "$F" -
expect_exit 0 "eval with a model without fit_info" -- "$MLPIPE" eval --predictions "$T/p.csv" \
    --actual "$T/actual.csv" --model "$T/m" --json
[ "$(json_get "$T/out" "'training' in j")" = False ] && ok || bad "no training object without fit_info"

# Without --model nothing changes.
expect_exit 0 "eval without --model" -- "$MLPIPE" eval --predictions "$T/p.csv" --actual "$T/actual.csv" --json
[ "$(json_get "$T/out" "'model' in j or 'training' in j")" = False ] && ok || bad "no model keys without --model"

# A model that cannot be loaded is an input error; no report is written.
expect_exit 2 "missing model directory" -- "$MLPIPE" eval --predictions "$T/p.csv" --actual "$T/actual.csv" \
    --model "$T/nope" --report "$T/bad.html"
expect_err "^mlpipe eval: .*nope" "missing model message names the path"
[ -e "$T/bad.html" ] && bad "failed eval wrote a report" || ok
expect_exit 2 "missing model version" -- "$MLPIPE" eval --predictions "$T/p.csv" --actual "$T/actual.csv" \
    --model "$T/m/9"
expect_err "no version 9 \(versions: 1, 2\)" "missing version message"
expect_exit 2 "--model without a value" -- "$MLPIPE" eval --predictions "$T/p.csv" --actual "$T/actual.csv" --model
mkdir -p "$T/junk/1" && printf 'not a model' >"$T/junk/1/model.safetensors"
expect_exit 2 "not a model file" -- "$MLPIPE" eval --predictions "$T/p.csv" --actual "$T/actual.csv" --model "$T/junk"
expect_err "junk/1/model.safetensors" "bad model file message names the file"

# Malformed histories: exit 2 naming the model file and what is wrong.
bad_fit() { # JSON PATTERN DESCRIPTION
    set_fit_info "$F" "$1"
    expect_exit 2 "$3" -- "$MLPIPE" eval --predictions "$T/p.csv" --actual "$T/actual.csv" --model "$T/m" \
        --report "$T/bad.html" --json
    expect_err "^mlpipe eval: $F: metadata 'fit_info'.*$2" "$3 message"
    [ -e "$T/bad.html" ] && bad "$3: report written" || ok
}
bad_fit '{"history":[{"epoch":1,"loss":' "not valid JSON" "truncated fit_info"
bad_fit '[1,2]' "not a JSON object" "fit_info not an object"
bad_fit '{"history":{"epoch":1}}' "'history' is not a list" "history not a list"
bad_fit '{"history":[{"epoch":1,"loss":0.5},7]}' "history\[1\] is not an object" "history entry not an object"
bad_fit '{"history":[{"epoch":1,"loss":"low"}]}' "history\[0\]\.loss is not a number or null" "loss as text"
bad_fit '{"history":[{"epoch":1,"loss":0.5,"val_accuracy":[1]}]}' "history\[0\]\.val_accuracy" "accuracy as a list"
bad_fit '{"history":[{"loss":0.5}]}' "history\[0\]\.epoch is not a whole number" "epoch missing"
bad_fit '{"history":[{"epoch":1.5,"loss":0.5}]}' "history\[0\]\.epoch" "fractional epoch"
bad_fit '{"history":[{"epoch":0,"loss":0.5}]}' "history\[0\]\.epoch" "epoch 0"
bad_fit '{"best_epoch":"two","history":[{"epoch":1,"loss":0.5}]}' "best_epoch must be" "best_epoch as text"
bad_fit '{"stopped_early":1,"history":[{"epoch":1,"loss":0.5}]}' "stopped_early true or false" "stopped_early as a number"

# One epoch and an empty history are fine.
set_fit_info "$F" '{"history":[{"epoch":1,"loss":0.5}]}'
expect_exit 0 "one epoch" -- "$MLPIPE" eval --predictions "$T/p.csv" --actual "$T/actual.csv" --model "$T/m" \
    --report "$T/one.html" --json
[ "$(json_get "$T/out" "j['training']")" = \
  "{'epochs_run': 1, 'best_epoch': None, 'stopped_early': False, 'history': [{'epoch': 1, 'loss': 0.5, 'accuracy': None, 'val_loss': None, 'val_accuracy': None, 'seconds': None}]}" ] &&
    ok || bad "one-epoch training object: $(json_get "$T/out" "j.get('training')")"
grep -q "Loss per epoch" "$T/one.html" && ok || bad "one epoch still has a loss chart"
grep -q "Accuracy per epoch" "$T/one.html" && bad "no accuracy chart without accuracy" || ok
set_fit_info "$F" '{"history":[]}'
expect_exit 0 "empty history" -- "$MLPIPE" eval --predictions "$T/p.csv" --actual "$T/actual.csv" --model "$T/m" --json
[ "$(json_get "$T/out" "'training' in j")" = False ] && ok || bad "no training object for an empty history"

finish
