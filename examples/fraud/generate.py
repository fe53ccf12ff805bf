#!/usr/bin/python3
"""A synthetic card-transaction generator for the fraud example.

Usage: generate.py OUT_DIR [--train N] [--test N] [--fraud-rate R] [--seed S]

Writes three CSV files to OUT_DIR:
  train.csv        N (default 20000) normal transactions: what a bank keeps
                   as "known good" history, to teach an autoencoder normal.
  test.csv         N (default 10000) new transactions, about R (default
                   0.5%) of them fraudulent, without the answer.
  test_actual.csv  id,is_fraud for the test rows: the reserved actuals.

Every transaction has seven features:
  amount         purchase amount (normal: log-normal around 33; fraud: around 250)
  hour_sin,
  hour_cos       time of day on the unit circle (normal: daytime; fraud: mostly night)
  distance_km    distance from the card holder's home (normal: a few km; fraud: far)
  tx_last_24h    the card's transactions in the last day (fraud: bursts)
  merchant_risk  the merchant category's historical risk score in [0, 1]
  amount_ratio   amount over the card holder's average purchase (normal: near 1)

Fraud differs from normal in several features at once but overlaps on each
one alone, so no single-column rule catches it all: what the autoencoder
learns is the joint shape of normal transactions. Only Python's standard
library is used; the same seed gives the same files.
"""
import argparse
import math
import os
import random


def transaction(rnd, fraud):
    if fraud:
        amount = rnd.lognormvariate(5.5, 1.0)
        hour = rnd.gauss(3.0, 3.0) % 24
        distance = rnd.expovariate(1 / 120.0)
        burst = rnd.randint(4, 15)
        risk = rnd.uniform(0.3, 1.0)
        ratio = amount / rnd.lognormvariate(3.5, 0.5)
    else:
        amount = rnd.lognormvariate(3.5, 0.8)
        hour = min(23.99, max(0.0, rnd.gauss(14.5, 3.5)))
        distance = rnd.expovariate(1 / 6.0)
        burst = min(12, int(rnd.expovariate(1 / 2.5)))
        risk = rnd.betavariate(2, 12)
        ratio = amount / (amount * rnd.lognormvariate(0.0, 0.25))
    angle = 2 * math.pi * hour / 24
    return [round(amount, 2), round(math.sin(angle), 5), round(math.cos(angle), 5),
            round(distance, 2), burst, round(risk, 4), round(ratio, 4)]


HEADER = "id,amount,hour_sin,hour_cos,distance_km,tx_last_24h,merchant_risk,amount_ratio\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--train", type=int, default=20000)
    ap.add_argument("--test", type=int, default=10000)
    ap.add_argument("--fraud-rate", type=float, default=0.005)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "train.csv"), "w") as f:
        f.write(HEADER)
        for i in range(a.train):
            f.write(f"t{i}," + ",".join(map(str, transaction(rnd, False))) + "\n")
    frauds = 0
    with open(os.path.join(a.out, "test.csv"), "w") as f, \
            open(os.path.join(a.out, "test_actual.csv"), "w") as g:
        f.write(HEADER)
        g.write("id,is_fraud\n")
        for i in range(a.test):
            fraud = rnd.random() < a.fraud_rate
            frauds += fraud
            f.write(f"n{i}," + ",".join(map(str, transaction(rnd, fraud))) + "\n")
            g.write(f"n{i},{int(fraud)}\n")
    print(f"wrote {a.train} normal training and {a.test} test transactions "
          f"({frauds} fraudulent) to {a.out}")


if __name__ == "__main__":
    main()
