# Picture data in the IDX format (as MNIST and Fashion-MNIST ship it):
# training from an image file and a label file, gzip or not, --limit,
# predicting, and eval against an IDX label file. The images are made here:
# two classes, a bright left half or a bright right half, with noise.
. "$(dirname "$0")/lib.sh"
python3 - "$T" <<'PY'
import gzip, random, struct, sys
t = sys.argv[1]
rnd = random.Random(5)
def make(n):
    imgs, labels = bytearray(), bytearray()
    for i in range(n):
        c = i % 2
        for r in range(6):
            for col in range(6):
                bright = (col < 3) == (c == 0)
                imgs.append(min(255, max(0, (200 if bright else 30) + rnd.randint(-40, 40))))
        labels.append(c)
    return (struct.pack(">BBBBIII", 0, 0, 8, 3, n, 6, 6) + bytes(imgs),
            struct.pack(">BBBBI", 0, 0, 8, 1, n) + bytes(labels))
tri, trl = make(200)
tei, tel = make(50)
open(f"{t}/train-images-idx3-ubyte", "wb").write(tri)
gzip.open(f"{t}/train-labels-idx1-ubyte.gz", "wb").write(trl)
gzip.open(f"{t}/test-images-idx3-ubyte.gz", "wb").write(tei)
open(f"{t}/test-labels-idx1-ubyte", "wb").write(tel)
open(f"{t}/short-images-idx3-ubyte", "wb").write(tri[:500])
PY
expect_exit 0 "train on IDX" -- "$MLPIPE" train "$T/train-images-idx3-ubyte" --labels "$T/train-labels-idx1-ubyte.gz" \
    --algorithm logistic-regression --model-dir "$T/m" --limit 150
expect_out "on 150 rows x 36 features, 2 classes" "IDX rows x pixels, --limit"
expect_exit 0 "predict IDX" -- "$MLPIPE" predict --model "$T/m" "$T/test-images-idx3-ubyte.gz" --output "$T/p.csv"
[ "$(wc -l <"$T/p.csv")" -eq 51 ] && ok || bad "one prediction per test image"
[ "$(sed -n 2p "$T/p.csv" | cut -d, -f1)" = "0" ] && ok || bad "ids are image indexes"
expect_exit 0 "eval against IDX labels" -- "$MLPIPE" eval --predictions "$T/p.csv" --actual "$T/test-labels-idx1-ubyte" --json
python3 -c "import json,sys; a=json.load(open(sys.argv[1]))['accuracy']; sys.exit(0 if a >= 0.98 else 1)" "$T/out" && ok || bad "separable images should be learned: $(cat "$T/out")"
expect_exit 0 "predict --limit" -- "$MLPIPE" predict --model "$T/m" "$T/test-images-idx3-ubyte.gz" --limit 10
[ "$(wc -l <"$T/out")" -eq 11 ] && ok || bad "--limit 10 predicts 10 rows"
cp "$T/out" "$T/p10.csv"
expect_exit 0 "eval a prefix of the images against the whole label file" -- "$MLPIPE" eval --predictions "$T/p10.csv" \
    --actual "$T/test-labels-idx1-ubyte" --json
expect_err "comparing the 10 predicted images of the 50 labels" "eval says it compares a prefix"
python3 -c "import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if j['n'] == 10 else 1)" "$T/out" && ok || bad "eval of 10 predictions counts 10"
expect_exit 2 "truncated IDX" -- "$MLPIPE" train "$T/short-images-idx3-ubyte" --labels "$T/train-labels-idx1-ubyte.gz" \
    --algorithm knn --model-dir "$T/bad"
expect_err "short-images-idx3-ubyte" "truncated IDX message names the file"
expect_exit 2 "label count mismatch" -- "$MLPIPE" train "$T/test-images-idx3-ubyte.gz" --labels "$T/train-labels-idx1-ubyte.gz" \
    --algorithm knn --model-dir "$T/bad"
finish
