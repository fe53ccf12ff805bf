#!/usr/bin/python3
"""PyTorch's side of `make bench-nn`.

Usage:
    /usr/bin/python3 bench/torch_side.py FASHION_DIR MODEL EPOCHS

Trains MODEL (mlp | cnn | autoencoder | lstm) on Fashion-MNIST's 60000
training images for EPOCHS epochs on the CPU with 2 threads, batch 64, Adam
with learning rate 1e-3, inputs normalised by the mean and standard
deviation of all training pixels (as mlpipe's networks do), and prints one
JSON document: seconds per epoch, inference images per second on the 10000
test images, and test accuracy (classifiers) or test reconstruction MSE
(autoencoder). bench/bench_nn.c builds the same four networks.
"""
import gzip
import json
import struct
import sys
import time

import numpy as np
import torch
from torch import nn

torch.set_num_threads(2)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise SystemExit(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def build(model):
    if model == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    if model == "cnn":
        return nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(16 * 5 * 5, 10))
    if model == "autoencoder":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 784))
    if model == "lstm":
        class RowLSTM(nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm = nn.LSTM(28, 64, batch_first=True)
                self.out = nn.Linear(64, 10)

            def forward(self, x):
                seq = x.view(x.shape[0], 28, 28)
                _, (h, _) = self.lstm(seq)
                return self.out(h[-1])
        return RowLSTM()
    raise SystemExit(f"unknown model {model}")


def main():
    fm, model, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    xtr = read_idx(f"{fm}/train-images-idx3-ubyte.gz").astype(np.float32)
    ytr = read_idx(f"{fm}/train-labels-idx1-ubyte.gz").astype(np.int64)
    xte = read_idx(f"{fm}/t10k-images-idx3-ubyte.gz").astype(np.float32)
    yte = read_idx(f"{fm}/t10k-labels-idx1-ubyte.gz").astype(np.int64)
    mean, std = float(xtr.mean()), float(xtr.std())
    xtr = torch.from_numpy(((xtr - mean) / std).reshape(-1, 1, 28, 28))
    xte = torch.from_numpy(((xte - mean) / std).reshape(-1, 1, 28, 28))
    ytr, yte = torch.from_numpy(ytr), torch.from_numpy(yte)

    torch.manual_seed(42)
    net = build(model)
    auto = model == "autoencoder"
    loss_fn = nn.MSELoss() if auto else nn.CrossEntropyLoss()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    n, bs = xtr.shape[0], 64
    epoch_s = []
    for _ in range(epochs):
        perm = torch.randperm(n)
        net.train()
        t0 = time.perf_counter()
        for i in range(0, n, bs):
            idx = perm[i:i + bs]
            xb = xtr[idx]
            out = net(xb)
            loss = loss_fn(out, xb.view(xb.shape[0], -1)) if auto else loss_fn(out, ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        epoch_s.append(time.perf_counter() - t0)

    net.eval()
    with torch.no_grad():
        t0 = time.perf_counter()
        outs = [net(xte[i:i + 256]) for i in range(0, xte.shape[0], 256)]
        infer = time.perf_counter() - t0
        out = torch.cat(outs)
        if auto:
            quality = float(((out - xte.view(xte.shape[0], -1)) ** 2).mean())
        else:
            quality = float((out.argmax(1) == yte).float().mean())
    print(json.dumps({
        "side": "pytorch", "version": torch.__version__, "model": model, "epochs": epochs,
        "epoch_seconds": epoch_s, "infer_per_s": xte.shape[0] / infer,
        "metric": "test_mse" if auto else "test_accuracy", "value": quality,
    }))


if __name__ == "__main__":
    main()
