# Bad input: every error names where it is, exits 2, never crashes, and
# never leaves a half-written output file.
. "$(dirname "$0")/lib.sh"
H=$SRC/examples/heart/heart.csv

# Ragged row: file:line:column.
printf 'a,b,target\n1,2,0\n3,4,1,9\n' >"$T/ragged.csv"
expect_exit 2 "ragged row" -- "$MLPIPE" train "$T/ragged.csv" --target target --algorithm knn --model-dir "$T/m"
expect_err "ragged.csv:3:[0-9]+: row has 4 fields, the header has 3" "ragged row message"
[ -e "$T/m" ] && [ -n "$(ls -A "$T/m" 2>/dev/null)" ] && bad "failed train left files" || ok

# A non-numeric cell in a numeric column.
printf 'a,b,target\n1,2,0\n3,4,1\nx,5,0\n6,7,1\n' >"$T/nan.csv"
expect_exit 2 "non-numeric" -- "$MLPIPE" train "$T/nan.csv" --target target --algorithm knn --model-dir "$T/m"
expect_err "nan.csv:4:1: cannot parse 'x' as a number in column 'a'" "non-numeric message"

# Missing target column.
expect_exit 2 "missing target" -- "$MLPIPE" train "$H" --target nope --algorithm knn --model-dir "$T/m"
expect_err "no column 'nope'" "missing target message"
expect_exit 2 "split missing target" -- "$MLPIPE" split "$H" --target nope --train "$T/a" --test "$T/b" --actual "$T/c"
[ -e "$T/a" ] && bad "failed split wrote a file" || ok

# Empty file and header-only file.
: >"$T/empty.csv"
expect_exit 2 "empty file" -- "$MLPIPE" train "$T/empty.csv" --target target --algorithm knn --model-dir "$T/m"
expect_err "empty.csv:1:1: empty file" "empty file message"
printf 'a,target\n' >"$T/header.csv"
expect_exit 2 "header only" -- "$MLPIPE" train "$T/header.csv" --target target --algorithm knn --model-dir "$T/m"
expect_err "no data rows" "header-only message"

# A UTF-8 byte-order mark and CRLF line ends are accepted.
printf '\357\273\277id,age,sex,trestbps,target\r\n' >"$T/bom.csv"
tail -n +2 "$H" | sed 's/$/\r/' >>"$T/bom.csv"
expect_exit 0 "BOM + CRLF" -- "$MLPIPE" train "$T/bom.csv" --target target --id id --algorithm naive-bayes --model-dir "$T/bom"

# Semicolons and tabs are detected.
tr ',' ';' <"$H" >"$T/semi.csv"
expect_exit 0 "semicolon delimiter" -- "$MLPIPE" train "$T/semi.csv" --target target --id id --algorithm knn --model-dir "$T/semi"
tr ',' '\t' <"$H" >"$T/tab.tsv"
expect_exit 0 "tab delimiter" -- "$MLPIPE" train "$T/tab.tsv" --target target --id id --algorithm knn --model-dir "$T/tab"

# Missing values: error by default, drop or mean on request.
printf 'a,b,target\n1,2,0\n,4,1\n3,NA,0\n5,6,1\n7,8,0\n9,1,1\n' >"$T/miss.csv"
expect_exit 2 "missing value" -- "$MLPIPE" train "$T/miss.csv" --target target --algorithm naive-bayes --model-dir "$T/m"
expect_err "miss.csv:3:1: missing value in column 'a'" "missing value message"
expect_exit 0 "--missing drop" -- "$MLPIPE" train "$T/miss.csv" --target target --algorithm naive-bayes --missing drop --model-dir "$T/md"
expect_out "on 4 rows" "drop keeps 4 rows"
expect_exit 0 "--missing mean" -- "$MLPIPE" train "$T/miss.csv" --target target --algorithm naive-bayes --missing mean --model-dir "$T/mm"
expect_out "on 6 rows" "mean keeps all 6 rows"
expect_exit 0 "predict imputes for a mean model" -- "$MLPIPE" predict --model "$T/mm" "$T/miss.csv"
expect_exit 2 "predict errs on missing for a drop model" -- "$MLPIPE" predict --model "$T/md" "$T/miss.csv"
expect_err "missing value in column 'a'" "predict missing message"

# Unknown algorithm, unknown or bad parameter, bad flags.
expect_exit 2 "unknown algorithm" -- "$MLPIPE" train "$H" --target target --algorithm forest --model-dir "$T/m"
expect_err "unknown algorithm 'forest'" "unknown algorithm message"
expect_exit 2 "unknown parameter" -- "$MLPIPE" train "$H" --target target --algorithm knn --param kk=3 --model-dir "$T/m"
expect_err "unknown parameter 'kk' for knn \(known: k" "unknown parameter message"
expect_exit 2 "bad parameter value" -- "$MLPIPE" train "$H" --target target --algorithm knn --param k=zero --model-dir "$T/m"
expect_err "k=zero" "bad parameter value message"
expect_exit 2 "unknown flag" -- "$MLPIPE" train "$H" --targt target
expect_err "unknown option '--targt'" "unknown flag message"
expect_exit 2 "unknown command" -- "$MLPIPE" frobnicate
expect_exit 2 "classifier on a continuous target" -- "$MLPIPE" train "$T/nan.csv" --target b --algorithm logistic-regression --model-dir "$T/m" --missing drop
[ -e "$T/m" ] && [ -n "$(ls -A "$T/m")" ] && bad "failed trainings created versions in $T/m" || ok

# Every command has --help.
for c in split train predict eval cv inspect; do
    expect_exit 0 "$c --help" -- "$MLPIPE" "$c" --help
    expect_out "usage: mlpipe $c" "$c --help text"
done

# Truncated and altered model files are rejected with a clear error.
"$MLPIPE" train "$H" --target target --id id --algorithm logistic-regression --model-dir "$T/good" >/dev/null
f=$T/good/1/model.safetensors
size=$(wc -c <"$f")
mkdir -p "$T/trunc/1" "$T/alt/1" "$T/hdr/1"
head -c $((size - 7)) "$f" >"$T/trunc/1/model.safetensors"
expect_exit 2 "truncated model" -- "$MLPIPE" predict --model "$T/trunc" "$H"
expect_err "model.safetensors" "truncated model message names the file"
head -c 40 "$f" >"$T/trunc/1/model.safetensors"
expect_exit 2 "model cut inside its header" -- "$MLPIPE" predict --model "$T/trunc" "$H"
# Alter the header: change a dtype name.
sed 's/"F64"/"F16"/' "$f" >"$T/alt/1/model.safetensors"
expect_exit 2 "altered dtype" -- "$MLPIPE" predict --model "$T/alt" "$H"
# Alter the metadata so the preprocessing no longer fits the weights.
python3 - "$f" "$T/hdr/1/model.safetensors" <<'PY'
import json, struct, sys
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8 + n])
h['__metadata__']['labels'] = '["only-one"]'
nh = json.dumps(h).encode()
nh += b' ' * (-len(nh) % 8)
open(sys.argv[2], 'wb').write(struct.pack('<Q', len(nh)) + nh + b[8 + n:])
PY
expect_exit 2 "altered labels" -- "$MLPIPE" predict --model "$T/hdr" "$H"
expect_err "label" "altered labels message"
expect_exit 2 "missing version" -- "$MLPIPE" predict --model "$T/good/9" "$H"
expect_err "no version 9" "missing version message"
expect_exit 2 "missing model dir" -- "$MLPIPE" predict --model "$T/nowhere" "$H"

# Predict output is all or nothing: a failing run leaves no file.
expect_exit 2 "predict on bad data" -- "$MLPIPE" predict --model "$T/good" "$T/ragged.csv" --output "$T/never.csv"
[ -e "$T/never.csv" ] && bad "failed predict wrote its output" || ok
ls "$T" | grep -q 'never.csv.tmp' && bad "temp file left behind" || ok
# A model column absent from the data is named.
cut -d, -f1,2,3 "$H" >"$T/fewer.csv"
expect_exit 2 "predict without a needed column" -- "$MLPIPE" predict --model "$T/good" "$T/fewer.csv"
expect_err "no column 'trestbps'" "absent column message"

# Eval: ids that do not match, duplicate ids.
printf 'id,prediction\n0,1\n99,0\n' >"$T/p.csv"
printf 'id,target\n0,1\n1,0\n' >"$T/a.csv"
expect_exit 2 "eval unknown id" -- "$MLPIPE" eval --predictions "$T/p.csv" --actual "$T/a.csv"
expect_err "p.csv:3:1: no actual value for id '99'" "eval unknown id message"
printf 'id,target\n0,1\n0,0\n' >"$T/dup.csv"
expect_exit 2 "eval duplicate id" -- "$MLPIPE" eval --predictions "$T/p.csv" --actual "$T/dup.csv"
expect_err "dup.csv:3:1: duplicate id '0'" "duplicate id message"

# Eval: a probability column that is not a probability, a prediction that
# is not a number for a regression.
printf 'id,prediction,p_0,p_1\n0,1,0.2,0.8\n1,0,1.5,x\n' >"$T/pp.csv"
expect_exit 2 "eval bad probability" -- "$MLPIPE" eval --predictions "$T/pp.csv" --actual "$T/a.csv"
expect_err "pp.csv:3:[0-9]+: probability '1.5' is not a number in \[0, 1\]" "bad probability message"
printf 'id,prediction\n0,2.5\n1,abc\n' >"$T/pr.csv"
printf 'id,target\n0,1.5\n1,2.5\n' >"$T/ar.csv"
expect_exit 2 "eval non-numeric regression prediction" -- "$MLPIPE" eval --predictions "$T/pr.csv" --actual "$T/ar.csv" --task regression
expect_err "pr.csv:3:[0-9]+: prediction 'abc' is not a number" "non-numeric prediction message"

# Concurrent trainings into one model directory get distinct versions.
for i in 1 2 3 4 5 6; do
    "$MLPIPE" train "$H" --target target --id id --algorithm knn --param k=$i --model-dir "$T/conc" >/dev/null 2>&1 &
done
wait
[ "$(ls "$T/conc" | sort -n | tr '\n' ' ')" = "1 2 3 4 5 6 " ] && ok || bad "concurrent versions: $(ls -a "$T/conc")"
ks=$(for v in 1 2 3 4 5 6; do "$MLPIPE" inspect --model "$T/conc/$v" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["params"]["k"])'; done | sort -n | tr '\n' ' ')
[ "$ks" = "1 2 3 4 5 6 " ] && ok || bad "each concurrent version holds its own model: $ks"
# Cross-validation with a class too rare to be in every training part:
# that fold's row counts as a miss instead of failing the run.
printf 'a,y\n1,x\n2,x\n3,y\n4,y\n5,x\n6,y\n7,z\n8,x\n' >"$T/rare.csv"
expect_exit 0 "cv with a rare class" -- "$MLPIPE" cv "$T/rare.csv" --target y --algorithm knn --param k=1 --folds 4
expect_out "accuracy \(knn, 4 folds\)" "cv with a rare class prints its summary"
finish
