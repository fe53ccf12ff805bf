# Neural networks through the same commands as every model: train (presets
# and --layers specs, CSV and IDX), live progress lines, predict, eval,
# inspect, reproducibility for a seed, the autoencoder's anomaly scores, and
# every bad spec, flag and shape rejected before training with a clear
# message. Data: scikit-learn's digits and iris (tests/fixtures/sklearn) and
# small generated sets; everything is small enough to train in seconds.
. "$(dirname "$0")/lib.sh"
FX="$FIXTURES/sklearn"

# --- an MLP on iris (CSV, standardised features) ---
expect_exit 0 "train mlp on iris" -- "$MLPIPE" train "$FX/iris_train.csv" --target target --id id \
    --algorithm mlp --epochs 60 --batch-size 16 --learning-rate 0.01 --model-dir "$T/iris"
expect_out "trained mlp \(classification\) on 112 rows x 4 features, 3 classes" "train summary"
expect_err "^epoch 60/60: loss [0-9.]+ acc [0-9.]+ \(" "one progress line per epoch when stderr is not a terminal"
[ "$(grep -c '^epoch ' "$T/err")" -eq 60 ] && ok || bad "60 epoch lines: $(head -3 "$T/err")"
grep -q "$(printf '\r')" "$T/err" && bad "no carriage returns off a terminal" || ok
expect_exit 0 "predict" -- "$MLPIPE" predict --model "$T/iris" "$FX/iris_test.csv" --proba --output "$T/iris.csv"
expect_exit 0 "eval" -- "$MLPIPE" eval --predictions "$T/iris.csv" --actual "$FX/iris_actual.csv" --json
acc=$(json_get "$T/out" "j['accuracy']")
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 0.9 else 1)" "$acc" && ok || bad "iris mlp accuracy $acc < 0.9"
expect_exit 0 "inspect" -- "$MLPIPE" inspect "$T/iris"
expect_out "algorithm:  mlp \(classification\)" "inspect names the algorithm"
expect_out "\"layers\":\"dense\(128\) relu dense\(3\) softmax\"" "inspect shows the architecture"
expect_out "\"history\":\[\{\"epoch\":1," "inspect shows the training history"

# --- the same seed gives the same model; another seed another one ---
for s in 1 1 2; do
    "$MLPIPE" train "$FX/iris_train.csv" --target target --id id --algorithm mlp --epochs 3 \
        --model-dir "$T/seed$s" --seed "$s" >/dev/null 2>&1 || bad "train with seed $s"
done
"$MLPIPE" predict --model "$T/seed1/1" "$FX/iris_test.csv" --proba >"$T/s1a.csv" 2>/dev/null
"$MLPIPE" predict --model "$T/seed1/2" "$FX/iris_test.csv" --proba >"$T/s1b.csv" 2>/dev/null
"$MLPIPE" predict --model "$T/seed2/1" "$FX/iris_test.csv" --proba >"$T/s2.csv" 2>/dev/null
cmp -s "$T/s1a.csv" "$T/s1b.csv" && ok || bad "same seed, same probabilities"
cmp -s "$T/s1a.csv" "$T/s2.csv" && bad "another seed should give other weights" || ok

# --- a CNN on digits (8x8 images given as CSV rows with --input-shape) ---
expect_exit 0 "train a cnn spec on digits" -- "$MLPIPE" train "$FX/digits_train.csv" --target target --id id \
    --algorithm nn --input-shape 1x8x8 --layers "conv2d(8,3,padding=1) relu maxpool(2) flatten dense(10) softmax" \
    --epochs 15 --learning-rate 0.01 --model-dir "$T/digits"
expect_exit 0 "predict digits" -- "$MLPIPE" predict --model "$T/digits" "$FX/digits_test.csv" --output "$T/d.csv"
expect_exit 0 "eval digits" -- "$MLPIPE" eval --predictions "$T/d.csv" --actual "$FX/digits_actual.csv" --json
acc=$(json_get "$T/out" "j['accuracy']")
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 0.93 else 1)" "$acc" && ok || bad "digits cnn accuracy $acc < 0.93"

# --- the cnn preset and an LSTM on IDX images (shape from the header) ---
python3 - "$T" <<'PY'
import random, struct, sys
t = sys.argv[1]
rnd = random.Random(7)
def make(n):
    imgs, labels = bytearray(), bytearray()
    for i in range(n):
        c = i % 3  # a bright top, middle or bottom band
        for r in range(12):
            for col in range(12):
                on = r // 4 == c
                imgs.append(min(255, max(0, (190 if on else 40) + rnd.randint(-50, 50))))
        labels.append(c)
    return (struct.pack(">BBBBIII", 0, 0, 8, 3, n, 12, 12) + bytes(imgs),
            struct.pack(">BBBBI", 0, 0, 8, 1, n) + bytes(labels))
for name, n in (("train", 300), ("test", 60)):
    i, l = make(n)
    open(f"{t}/{name}-images-idx3-ubyte", "wb").write(i)
    open(f"{t}/{name}-labels-idx1-ubyte", "wb").write(l)
PY
for algo in cnn lstm gru mlp; do
    expect_exit 0 "train $algo on IDX" -- "$MLPIPE" train "$T/train-images-idx3-ubyte" \
        --labels "$T/train-labels-idx1-ubyte" --algorithm "$algo" --epochs 4 --model-dir "$T/img-$algo"
    expect_exit 0 "predict $algo on IDX" -- "$MLPIPE" predict --model "$T/img-$algo" "$T/test-images-idx3-ubyte" \
        --output "$T/img-$algo.csv"
    expect_exit 0 "eval $algo on IDX" -- "$MLPIPE" eval --predictions "$T/img-$algo.csv" \
        --actual "$T/test-labels-idx1-ubyte" --json
    acc=$(json_get "$T/out" "j['accuracy']")
    python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 0.95 else 1)" "$acc" && ok ||
        bad "$algo on band images: accuracy $acc < 0.95"
done
expect_exit 0 "inspect a cnn" -- "$MLPIPE" inspect "$T/img-cnn" --json
[ "$(json_get "$T/out" "j['params']['input_shape']")" = "1x12x12" ] && ok || bad "input shape from the IDX header"

# --- regression: an MLP learns a smooth function ---
python3 - "$T" <<'PY'
import math, random, sys
rnd = random.Random(3)
with open(sys.argv[1] + "/wave.csv", "w") as f:
    f.write("id,a,b,y\n")
    for i in range(600):
        a, b = rnd.uniform(-2, 2), rnd.uniform(-2, 2)
        f.write(f"{i},{a},{b},{1000 + 300 * math.sin(a) + 100 * b * b}\n")
PY
expect_exit 0 "mlp regression" -- "$MLPIPE" train "$T/wave.csv" --target y --id id --algorithm mlp \
    --task regression --epochs 150 --learning-rate 0.01 --model-dir "$T/wave"
r2=$(sed -n 's/^training R2: \([0-9.-]*\).*/\1/p' "$T/out")
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 0.95 else 1)" "${r2:-0}" && ok || bad "regression R2 $r2 < 0.95"

# --- anomaly detection with an autoencoder ---
python3 - "$T" <<'PY'
import random, sys
t = sys.argv[1]
rnd = random.Random(11)
def normal():
    a = rnd.gauss(0, 1)
    return [a, 2 * a + rnd.gauss(0, 0.05), -a + rnd.gauss(0, 0.05), rnd.gauss(0, 1) * 0.1]
with open(f"{t}/normal.csv", "w") as f:
    f.write("id,x1,x2,x3,x4\n")
    for i in range(800):
        f.write(f"{i}," + ",".join(map(str, normal())) + "\n")
with open(f"{t}/mixed.csv", "w") as f, open(f"{t}/mixed_actual.csv", "w") as g:
    f.write("id,x1,x2,x3,x4\n"); g.write("id,fraud\n")
    for i in range(200):
        v, y = normal(), 0
        if i % 10 == 0:   # breaks the relation between the columns
            v, y = [rnd.gauss(0, 1) for _ in range(3)] + [rnd.gauss(0, 1)], 1
        f.write(f"{i}," + ",".join(map(str, v)) + "\n"); g.write(f"{i},{y}\n")
PY
expect_exit 0 "train an autoencoder without a target" -- "$MLPIPE" train "$T/normal.csv" --id id \
    --algorithm autoencoder --epochs 60 --learning-rate 0.01 --param hidden=2 --model-dir "$T/ae"
expect_out "trained autoencoder \(anomaly\) on 800 rows x 4 features" "anomaly summary"
expect_out "anomaly threshold: [0-9.e-]+ \(training rows flagged: [0-9.]+% of 800\)" "threshold reported"
expect_exit 0 "predict --score" -- "$MLPIPE" predict --model "$T/ae" "$T/mixed.csv" --score --output "$T/ae.csv"
[ "$(head -1 "$T/ae.csv")" = "id,prediction,score" ] && ok || bad "score header: $(head -1 "$T/ae.csv")"
expect_exit 0 "eval anomaly flags" -- "$MLPIPE" eval --predictions "$T/ae.csv" --actual "$T/mixed_actual.csv" --json
rec=$(json_get "$T/out" "[c for c in j['classes'] if c['label']=='1'][0]['recall']")
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 0.8 else 1)" "$rec" && ok || bad "anomaly recall $rec < 0.8"
expect_exit 0 "inspect shows the threshold" -- "$MLPIPE" inspect "$T/ae"
expect_out "^threshold: " "threshold line"
expect_exit 0 "--score on a classifier warns" -- "$MLPIPE" predict --model "$T/iris" "$FX/iris_test.csv" --score
expect_err "warning: --score ignored" "warning"

# --- bad specs and flags, rejected before any training ---
expect_exit 2 "unknown layer" -- "$MLPIPE" train "$FX/iris_train.csv" --target target --algorithm nn \
    --layers "dense(8) frobnicate dense(3) softmax" --model-dir "$T/bad"
expect_err "layer 2: unknown layer \"frobnicate\"" "names the layer"
expect_exit 2 "dense on an image" -- "$MLPIPE" train "$T/train-images-idx3-ubyte" --labels "$T/train-labels-idx1-ubyte" \
    --algorithm nn --layers "conv2d(4,3) relu dense(3) softmax" --model-dir "$T/bad"
expect_err "layer 3 \(dense\(3\)\).*1?4x10x10" "names the layer and the shape it got"
expect_exit 2 "kernel larger than the image" -- "$MLPIPE" train "$T/train-images-idx3-ubyte" \
    --labels "$T/train-labels-idx1-ubyte" --algorithm nn --layers "conv2d(4,13) flatten dense(3) softmax" --model-dir "$T/bad"
expect_err "layer 1 \(conv2d\(4,13\)\)" "names the conv layer"
expect_exit 2 "wrong output size" -- "$MLPIPE" train "$FX/iris_train.csv" --target target --algorithm nn \
    --layers "dense(8) relu dense(5) softmax" --model-dir "$T/bad"
expect_err "3 values per row" "says what the output must be"
expect_exit 2 "classifier without softmax" -- "$MLPIPE" train "$FX/iris_train.csv" --target target --algorithm nn \
    --layers "dense(8) relu dense(3)" --model-dir "$T/bad"
expect_err "must end with softmax" "asks for softmax"
expect_exit 2 "input shape that does not fit" -- "$MLPIPE" train "$FX/iris_train.csv" --target target --id id --algorithm mlp \
    --input-shape 1x3x3 --model-dir "$T/bad"
expect_err "input_shape 1x3x3 holds 9 values but the rows have 4 features" "input shape mismatch"
expect_exit 2 "cnn on tabular rows" -- "$MLPIPE" train "$FX/iris_train.csv" --target target --algorithm cnn --model-dir "$T/bad"
expect_err "cnn needs images" "cnn needs images"
expect_exit 2 "nn without layers" -- "$MLPIPE" train "$FX/iris_train.csv" --target target --algorithm nn --model-dir "$T/bad"
expect_err "nn needs its layers" "nn needs layers"
expect_exit 2 "network flags on knn" -- "$MLPIPE" train "$FX/iris_train.csv" --target target --algorithm knn \
    --epochs 3 --model-dir "$T/bad"
expect_err "--epochs is for neural networks" "flag on a classic model"
expect_exit 2 "bad epochs" -- "$MLPIPE" train "$FX/iris_train.csv" --target target --algorithm mlp --epochs 0 --model-dir "$T/bad"
expect_err "epochs" "names the parameter"
expect_exit 2 "bad optimizer" -- "$MLPIPE" train "$FX/iris_train.csv" --target target --algorithm mlp \
    --optimizer rmsprop --model-dir "$T/bad"
expect_err "optimizer" "names the parameter"
expect_exit 2 "syntax error in a spec" -- "$MLPIPE" train "$FX/iris_train.csv" --target target --algorithm nn \
    --layers "dense(8 relu" --model-dir "$T/bad"
expect_err "layers|spec" "names the spec"
[ -e "$T/bad" ] && bad "no model directory after rejected specs" || ok
expect_exit 2 "cv of an autoencoder" -- "$MLPIPE" cv "$T/normal.csv" --algorithm autoencoder --epochs 1
expect_err "cross-validation needs a target" "cv refuses anomaly detection"
expect_exit 2 "predict digits rows with the iris network" -- "$MLPIPE" predict --model "$T/iris" "$FX/digits_test.csv"
finish
