#!/usr/bin/python3
"""scikit-learn's side of `make bench-ml`.

Usage:
    /usr/bin/python3 bench/sklearn_side.py prepare DATA_DIR
    /usr/bin/python3 bench/sklearn_side.py rows
    /usr/bin/python3 bench/sklearn_side.py run DATA_DIR FASHION_DIR [ROW_ID...]

`prepare` generates the synthetic data sets with fixed seeds and writes them
to DATA_DIR as CSV files (what bench_ml reads) plus .npy copies of the same
arrays (what `run` reads, so neither side times or waits on CSV parsing).
Existing files are reused when their stamp says they were made with the
same recipe. The CSV numbers are Python's repr, which reads back to the
exact same doubles: both sides train on identical values.

`rows` lists the row ids. `run` (all rows, or the ones named) times fit and
predict in-process with time.perf_counter (best of the row's repeat counts,
the same counts bench_ml uses), computes accuracy or R² and prints one JSON
document on stdout. Thread counts are left at their
defaults: OpenBLAS and OpenMP may use every core, as mlpipe may.
"""
import gzip
import json
import os
import platform
import resource
import sys
import time
import warnings

import numpy as np

# Recipe of the synthetic data; changing it invalidates the cache.
CLS = dict(n_samples=210000, n_features=20, n_informative=10, random_state=0)
CLS_TRAIN = 200000
REG = dict(n_samples=1010000, n_features=20, noise=10.0, random_state=0)
REG_TRAIN = 1000000
STAMP = json.dumps({"cls": CLS, "cls_train": CLS_TRAIN, "reg": REG, "reg_train": REG_TRAIN,
                    "format": 1}, sort_keys=True)

# Rows of the benchmark: (id, data set, algorithm, fit repeats, predict
# repeats). bench_ml.c has the same list; the ids join the two outputs.
ROWS = [
    ("cls-nb", "classification", "naive-bayes", 3, 3),
    ("cls-logreg", "classification", "logistic-regression", 3, 3),
    ("cls-knn", "classification", "knn", 3, 3),
    ("reg-linreg", "regression", "linear-regression", 3, 3),
    ("fm-knn", "fashion-mnist", "knn", 3, 3),
    ("fm-nb", "fashion-mnist", "naive-bayes", 3, 3),
    ("fm-logreg", "fashion-mnist", "logistic-regression", 2, 3),
]
FM_KNN_TEST = 2000


def write_csv(path, X, y, ycast):
    """Writes X and y as CSV with a header x0..x{d-1},y; atomically."""
    tmp = path + ".tmp"
    d = X.shape[1]
    with open(tmp, "w") as f:
        f.write(",".join(["x%d" % j for j in range(d)] + ["y"]) + "\n")
        rows = X.tolist()
        ys = [ycast(v) for v in y.tolist()]
        chunk = 20000
        for s in range(0, len(rows), chunk):
            f.write("".join(",".join(map(repr, r)) + "," + repr(t) + "\n"
                            for r, t in zip(rows[s:s + chunk], ys[s:s + chunk])))
    os.replace(tmp, path)


def save_npy(path, a):
    tmp = path + ".tmp.npy"
    np.save(tmp, a)
    os.replace(tmp, path)


def prepare(data_dir):
    from sklearn.datasets import make_classification, make_regression
    os.makedirs(data_dir, exist_ok=True)
    stamp_path = os.path.join(data_dir, "stamp.json")
    names = ["cls_train", "cls_test", "reg_train", "reg_test"]
    files = [os.path.join(data_dir, n + ext) for n in names for ext in (".csv", "_X.npy", "_y.npy")]
    try:
        with open(stamp_path) as f:
            if f.read() == STAMP and all(os.path.exists(p) for p in files):
                print("sklearn_side: reusing data in %s" % data_dir, file=sys.stderr)
                return
    except OSError:
        pass
    if os.path.exists(stamp_path):
        os.remove(stamp_path)
    t0 = time.perf_counter()
    X, y = make_classification(**CLS)
    parts = {"cls_train": (X[:CLS_TRAIN], y[:CLS_TRAIN], int),
             "cls_test": (X[CLS_TRAIN:], y[CLS_TRAIN:], int)}
    X, y = make_regression(**REG)
    parts["reg_train"] = (X[:REG_TRAIN], y[:REG_TRAIN], float)
    parts["reg_test"] = (X[REG_TRAIN:], y[REG_TRAIN:], float)
    for name, (Xp, yp, cast) in parts.items():
        Xp = np.ascontiguousarray(Xp)
        write_csv(os.path.join(data_dir, name + ".csv"), Xp, yp, cast)
        save_npy(os.path.join(data_dir, name + "_X.npy"), Xp)
        save_npy(os.path.join(data_dir, name + "_y.npy"), yp)
    with open(stamp_path, "w") as f:
        f.write(STAMP)
    print("sklearn_side: wrote data to %s in %.1f s" % (data_dir, time.perf_counter() - t0),
          file=sys.stderr)


def read_idx(path):
    """An IDX file (gzip) as a numpy array of unsigned bytes."""
    with gzip.open(path, "rb") as f:
        b = f.read()
    if b[0] != 0 or b[1] != 0 or b[2] != 0x08:
        raise SystemExit("%s: not an unsigned-byte IDX file" % path)
    nd = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


def load_fashion(fm_dir):
    def images(name):
        a = read_idx(os.path.join(fm_dir, name))
        return a.reshape(a.shape[0], -1).astype(np.float64) / 255.0
    return (images("train-images-idx3-ubyte.gz"),
            read_idx(os.path.join(fm_dir, "train-labels-idx1-ubyte.gz")).astype(np.int64),
            images("t10k-images-idx3-ubyte.gz"),
            read_idx(os.path.join(fm_dir, "t10k-labels-idx1-ubyte.gz")).astype(np.int64))


def make_model(dataset, algorithm):
    """The scikit-learn estimator equal to mlpipe's algorithm with the
    parameters bench_ml gives it (see the rows in bench_ml.c)."""
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    if algorithm == "naive-bayes":
        return GaussianNB(), "GaussianNB()"
    if algorithm == "linear-regression":
        return LinearRegression(), "LinearRegression()"
    if algorithm == "knn":
        # mlpipe's knn standardizes by default.
        return (make_pipeline(StandardScaler(), KNeighborsClassifier(5)),
                "make_pipeline(StandardScaler(), KNeighborsClassifier(5))")
    if algorithm == "logistic-regression":
        if dataset == "fashion-mnist":
            # Pixels already in [0, 1]; mlpipe is run with scale none.
            return LogisticRegression(max_iter=100), "LogisticRegression(max_iter=100)"
        return (make_pipeline(StandardScaler(), LogisticRegression(max_iter=100)),
                "make_pipeline(StandardScaler(), LogisticRegression(max_iter=100))")
    raise ValueError(algorithm)


def n_iter_of(model):
    est = model[-1] if hasattr(model, "steps") else model
    n = getattr(est, "n_iter_", None)
    return None if n is None else int(np.max(n))


def run(data_dir, fm_dir, only):
    import scipy
    import sklearn
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, r2_score

    def load(name):
        return (np.load(os.path.join(data_dir, name + "_X.npy")),
                np.load(os.path.join(data_dir, name + "_y.npy")))

    loaders = {
        "classification": lambda: load("cls_train") + load("cls_test"),
        "regression": lambda: load("reg_train") + load("reg_test"),
        "fashion-mnist": lambda: load_fashion(fm_dir),
    }
    data = {}
    results = []
    for rid, dataset, algorithm, fit_repeats, pred_repeats in ROWS:
        if only and rid not in only:
            continue
        if dataset not in data:
            data[dataset] = loaders[dataset]()
        Xtr, ytr, Xte, yte = data[dataset]
        if rid == "fm-knn":
            Xte, yte = Xte[:FM_KNN_TEST], yte[:FM_KNN_TEST]
        fit_best = pred_best = float("inf")
        converged = True
        for _ in range(fit_repeats):
            model, desc = make_model(dataset, algorithm)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                t0 = time.perf_counter()
                model.fit(Xtr, ytr)
                t1 = time.perf_counter()
            if any(issubclass(w.category, ConvergenceWarning) for w in caught):
                converged = False
            fit_best = min(fit_best, t1 - t0)
        for _ in range(pred_repeats):
            t0 = time.perf_counter()
            pred = model.predict(Xte)
            t1 = time.perf_counter()
            pred_best = min(pred_best, t1 - t0)
        if algorithm == "linear-regression":
            metric_name, metric = "r2", float(r2_score(yte, pred))
        else:
            metric_name, metric = "accuracy", float(accuracy_score(yte, pred))
        res = {"id": rid, "dataset": dataset, "algorithm": algorithm, "model": desc,
               "train_rows": int(Xtr.shape[0]), "test_rows": int(Xte.shape[0]),
               "features": int(Xtr.shape[1]),
               "fit_repeats": fit_repeats, "predict_repeats": pred_repeats,
               "fit_s": fit_best, "predict_s": pred_best,
               "metric_name": metric_name, "metric": metric}
        if algorithm == "logistic-regression":
            res["n_iter"] = n_iter_of(model)
            res["converged"] = converged
        results.append(res)
        print("sklearn_side: %-10s fit %.3f s predict %.3f s %s %.4f" %
              (rid, fit_best, pred_best, metric_name, metric), file=sys.stderr)

    versions = {"python": platform.python_version(), "sklearn": sklearn.__version__,
                "numpy": np.__version__, "scipy": scipy.__version__}
    try:
        from threadpoolctl import threadpool_info
        versions["threadpools"] = [
            {k: v.get(k) for k in ("internal_api", "version", "num_threads", "threading_layer",
                                   "architecture", "filepath")}
            for v in threadpool_info()]
    except ImportError:
        pass
    ru = resource.getrusage(resource.RUSAGE_SELF)
    json.dump({"side": "sklearn", "versions": versions, "results": results,
               "process_cpu_s": ru.ru_utime + ru.ru_stime}, sys.stdout, indent=1)
    sys.stdout.write("\n")


def main(argv):
    if len(argv) == 3 and argv[1] == "prepare":
        prepare(argv[2])
    elif len(argv) == 2 and argv[1] == "rows":
        print("\n".join(r[0] for r in ROWS))
    elif len(argv) >= 4 and argv[1] == "run":
        unknown = set(argv[4:]) - {r[0] for r in ROWS}
        if unknown:
            raise SystemExit("sklearn_side: unknown row ids: %s" % " ".join(sorted(unknown)))
        run(argv[2], argv[3], set(argv[4:]))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
