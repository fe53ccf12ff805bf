# Correctness against scikit-learn: on the committed fixture files
# (tests/fixtures/sklearn, made by make_sklearn_fixtures.py), every mlpipe
# algorithm must reach scikit-learn's accuracy within 1 point, or its R²
# within 0.01, or do better. Needs only Python's standard library.
. "$(dirname "$0")/lib.sh"
python3 - "$MLPIPE" "$FIXTURES/sklearn" "$T" <<'PY'
import glob, json, os, subprocess, sys
mlpipe, fx, tmp = sys.argv[1:4]
passed = failed = 0
rows = []
for exp_path in sorted(glob.glob(os.path.join(fx, "*_expected.json"))):
    exp = json.load(open(exp_path))
    name = exp["dataset"]
    f = {k: os.path.join(fx, v) for k, v in exp["files"].items()}
    for algo, m in sorted(exp["models"].items()):
        mdir = os.path.join(tmp, name, algo)
        pred = os.path.join(tmp, f"{name}-{algo}.csv")
        steps = [
            [mlpipe, "train", f["train"], "--model-dir", mdir] + m["args"],
            [mlpipe, "predict", "--model", mdir, f["test"], "--proba", "--output", pred],
            [mlpipe, "eval", "--predictions", pred, "--actual", f["actual"], "--json"],
        ]
        out = None
        for cmd in steps:
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                print(f"FAIL {name}/{algo}: {' '.join(cmd[1:3])} exited {r.returncode}: {r.stderr.strip()}")
                failed += 1
                break
            out = r.stdout
        else:
            got = json.loads(out)
            if "accuracy" in m:
                ok = got["accuracy"] >= m["accuracy"] - 0.01
                rows.append((name, algo, "accuracy", m["accuracy"], got["accuracy"], ok))
            else:
                ok = got["r2"] >= m["r2"] - 0.01
                rows.append((name, algo, "r2", m["r2"], got["r2"], ok))
            if ok:
                passed += 1
            else:
                failed += 1
for name, algo, metric, want, got, ok in rows:
    print(f"{'ok  ' if ok else 'FAIL'} {name:14s} {algo:20s} {metric:8s} scikit-learn {want:.4f}  mlpipe {got:.4f}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed or passed == 0 else 0)
PY
