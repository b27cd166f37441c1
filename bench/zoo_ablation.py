"""Predictor ablation on the zoo, and an independent re-computation of the engine's predictor.

    /usr/bin/python3 bench/zoo_ablation.py          (after `node --import tsx bench/zoo.bench.ts`)

Reads bench/.data/zoo/out/<model>/results.json (the label-free numbers the engine measured on
every shifted copy and every held-out set) and bench/.data/zoo/truth.json (the true Dice), and
refits predictors with scikit-learn:

- "ours, sklearn": the engine's recipe (src/engine/shift/withoutLabels.ts, predictor.ts) built
  from sklearn parts: per stage of the U the mean over its taps of knnDice, log featureShift,
  log featureShiftFg, plus log(max(foreground share, 1e-4)); StandardScaler + Ridge, alpha from
  {0.01, 0.1, 1, 10, 100} by the pooled MAE of leave-one-shift-family-out predictions (ties: the
  larger alpha); predictions clipped to [0, 1]. Its estimates must equal the engine's (the
  script prints the largest difference; the engine rounds to 4 digits).
- ablations of that recipe (one input group removed, per-tap inputs instead of per-stage means,
  every label-free metric), and the two output baselines.

Prints one table: over models x held-out sets, pooled Spearman, mean per-model Spearman, MAE.
It is a reading aid for bench/README.md, not a test.
"""
import glob
import json
import math
import os
import sys
import warnings

import numpy as np
from scipy.stats import spearmanr
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.preprocessing import StandardScaler

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZOO = os.path.join(ROOT, "bench", ".data", "zoo")
ALPHAS = [0.01, 0.1, 1.0, 10.0, 100.0]
STAGES = ("encoder", "bottleneck", "decoder")


def fval(m, metric):
    v = (m or {}).get(metric)
    if v is None or not np.isfinite(v):
        return None
    if metric in ("knnConfidence", "knnDice"):
        return v
    return math.log(v) if v > 0 else None


def logo(X, y, g, fit):
    out = np.full(len(y), np.nan)
    for grp in dict.fromkeys(g):
        te = [i for i in range(len(y)) if g[i] == grp]
        tr = [i for i in range(len(y)) if g[i] != grp]
        if len(tr) < 2:
            continue
        out[te] = fit(X[tr], y[tr], [g[i] for i in tr])(X[te])
    return out


def ridge(alpha):
    def fit(X, y, g):
        sc = StandardScaler().fit(X)
        keep = sc.scale_ > 1e-12 * np.maximum(1, np.abs(sc.mean_))
        if not keep.any():
            m = y.mean()
            return lambda Z: np.full(len(Z), m)
        r = Ridge(alpha=alpha).fit(sc.transform(X)[:, keep], y)
        return lambda Z: r.predict(sc.transform(Z)[:, keep])
    return fit


def ridge_selected(X, y, g):
    best, err = ALPHAS[-1], np.inf
    if len(set(g)) >= 2:
        for a in ALPHAS:
            p = logo(X, y, g, ridge(a))
            ok = np.isfinite(p)
            e = np.mean(np.abs(p[ok] - y[ok])) if ok.any() else np.inf
            if e <= err:
                best, err = a, e
    return ridge(best)(X, y, g)


def linear(X, y, g):
    r = LinearRegression().fit(X, y)
    return lambda Z: r.predict(Z)


def stage_columns(r, metrics, fg=True):
    stage = {t["name"]: t["stage"] for t in r["taps"]}
    cols = []
    for st in STAGES:
        taps = [t for t in stage if stage[t] == st]
        if taps:
            cols += [(taps, m) for m in metrics]
    if fg:
        cols.append(([], "foreground"))
    return cols


def tap_columns(r, metrics):
    return [([t["name"]], m) for t in r["taps"] for m in metrics]


def value(item, col):
    taps, m = col
    if m == "foreground":
        o = item.get("output")
        return None if o is None else math.log(max(o["foreground"], 1e-4))
    v = [fval(item["features"].get(t), m) for t in taps]
    v = [x for x in v if x is not None]
    return float(np.mean(v)) if v else None


def predict_features(r, p, sets, cols):
    rows = [[value(c, col) for col in cols] for c in p["shifts"]]
    keep = [j for j in range(len(cols)) if all(rw[j] is not None for rw in rows)]
    X = np.array([[rw[j] for j in keep] for rw in rows], float)
    y = np.array([c["performance"] for c in p["shifts"]])
    g = [c["family"] for c in p["shifts"]]
    out = []
    for s in sets:
        rw = [value(p["splits"][s], cols[j]) for j in keep]
        k2 = [i for i, v in enumerate(rw) if v is not None]
        model = ridge_selected(X[:, k2], y, g)
        out.append(float(np.clip(model(np.array([[rw[i] for i in k2]]))[0], 0, 1)))
    return out


def predict_output(p, sets, which):
    X = np.array([[c["output"][which]] for c in p["shifts"]])
    y = np.array([c["performance"] for c in p["shifts"]])
    model = linear(X, y, None)
    return [float(np.clip(model(np.array([[p["splits"][s]["output"][which]]]))[0], 0, 1)) for s in sets]


def main():
    truth = json.load(open(os.path.join(ZOO, "truth.json")))
    files = sorted(glob.glob(os.path.join(ZOO, "out", "*", "results.json")))
    if not files:
        sys.exit("no bench/.data/zoo/out/*/results.json: run `node --import tsx bench/zoo.bench.ts` first")
    variants = {
        "engine (TS), as written in results.json": lambda r, p, sets: [p["splits"][s]["predicted"]["features"]["value"] for s in sets],
        "ours, sklearn (the same recipe)": lambda r, p, sets: predict_features(r, p, sets, stage_columns(r, ["knnDice", "featureShift", "featureShiftFg"])),
        "  without the foreground share": lambda r, p, sets: predict_features(r, p, sets, stage_columns(r, ["knnDice", "featureShift", "featureShiftFg"], fg=False)),
        "  without featureShiftFg": lambda r, p, sets: predict_features(r, p, sets, stage_columns(r, ["knnDice", "featureShift"])),
        "  knnDice only (per stage)": lambda r, p, sets: predict_features(r, p, sets, stage_columns(r, ["knnDice"], fg=False)),
        "  + roughness, knnConfidence": lambda r, p, sets: predict_features(r, p, sets, stage_columns(r, ["knnDice", "featureShift", "featureShiftFg", "roughness", "knnConfidence"])),
        "  per tap instead of per stage": lambda r, p, sets: predict_features(r, p, sets, tap_columns(r, ["knnDice", "featureShift", "featureShiftFg"]) + [([], "foreground")]),
        "  per tap, METHOD §4 metrics only": lambda r, p, sets: predict_features(r, p, sets, tap_columns(r, ["roughness", "knnConfidence", "featureShift"])),
        "baseline: max-softmax (sklearn)": lambda r, p, sets: predict_output(p, sets, "maxProbability"),
        "baseline: entropy (sklearn)": lambda r, p, sets: predict_output(p, sets, "entropy"),
    }
    got = {k: ([], [], []) for k in variants}
    engine_vs_sklearn = 0.0
    for f in files:
        name = os.path.basename(os.path.dirname(f))
        if name not in truth["models"]:
            continue
        r = json.load(open(f))
        p = r["performanceWithoutLabels"]
        t = truth["models"][name]["dice"]
        sets = [s for s in p["splits"] if s in t]
        preds = {}
        for k, fn in variants.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                preds[k] = fn(r, p, sets)
            got[k][0].extend(preds[k])
            got[k][1].extend(t[s] for s in sets)
            got[k][2].append(spearmanr(preds[k], [t[s] for s in sets]).correlation)
        d = np.max(np.abs(np.array(preds["engine (TS), as written in results.json"]) - np.array(preds["ours, sklearn (the same recipe)"])))
        engine_vs_sklearn = max(engine_vs_sklearn, float(d))
    print(f"{len(files)} models; engine vs sklearn re-fit of the same recipe: largest |difference| {engine_vs_sklearn:.2e} (the engine rounds to 1e-4)\n")
    print("| predictor | pooled Spearman | mean per-model Spearman | MAE |")
    print("|---|---:|---:|---:|")
    for k, (pr, tt, rho) in got.items():
        pr, tt = np.array(pr), np.array(tt)
        print(f"| {k.strip()}{' (ablation)' if k.startswith('  ') else ''} | {spearmanr(pr, tt).correlation:.3f} | {np.nanmean(rho):.3f} | {np.mean(np.abs(pr - tt)):.3f} |")


if __name__ == "__main__":
    main()
