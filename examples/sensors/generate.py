#!/usr/bin/python3
"""A synthetic sensor signal for the sequence example.

Usage: generate.py OUT_DIR [--steps N] [--window W] [--seed S]

The signal is what a machine's temperature sensor might report: a slow
daily cycle, a faster load cycle whose period drifts, and measurement
noise. Each row holds a window of W (default 24) consecutive readings
(lag_24 ... lag_1, oldest first) and the reading that followed (next): the
task is to forecast the next reading from the recent past. The first 80% of
the time line is for training and the last 20% for testing, so the test
never looks back into training time. Writes train.csv, test.csv (no
target) and test_actual.csv (id,next), and prints the error of two naive
forecasts (the last reading; the window's mean) for comparison.
"""
import argparse
import math
import os
import random


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--steps", type=int, default=12000)
    ap.add_argument("--window", type=int, default=24)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    sig, phase = [], 0.0
    for t in range(a.steps):
        period = 17 + 4 * math.sin(2 * math.pi * t / 900)
        phase += 2 * math.pi / period
        sig.append(60 + 8 * math.sin(2 * math.pi * t / 240) + 3 * math.sin(phase)
                   + rnd.gauss(0, 0.4))
    w = a.window
    rows = [(sig[t - w:t], sig[t]) for t in range(w, a.steps)]
    cut = int(0.8 * len(rows))
    os.makedirs(a.out, exist_ok=True)
    head = "id," + ",".join(f"lag_{w - i}" for i in range(w))
    with open(os.path.join(a.out, "train.csv"), "w") as f:
        f.write(head + ",next\n")
        for i, (x, y) in enumerate(rows[:cut]):
            f.write(f"{i}," + ",".join(f"{v:.4f}" for v in x) + f",{y:.4f}\n")
    se_last = se_mean = 0.0
    with open(os.path.join(a.out, "test.csv"), "w") as f, \
            open(os.path.join(a.out, "test_actual.csv"), "w") as g:
        f.write(head + "\n")
        g.write("id,next\n")
        for i, (x, y) in enumerate(rows[cut:], start=cut):
            f.write(f"{i}," + ",".join(f"{v:.4f}" for v in x) + "\n")
            g.write(f"{i},{y:.4f}\n")
            se_last += (x[-1] - y) ** 2
            se_mean += (sum(x) / w - y) ** 2
    n = len(rows) - cut
    print(f"wrote {cut} training and {n} test windows of {w} readings to {a.out}")
    print(f"naive forecasts on the test windows: last reading RMSE {math.sqrt(se_last / n):.4f}, "
          f"window mean RMSE {math.sqrt(se_mean / n):.4f}")


if __name__ == "__main__":
    main()
