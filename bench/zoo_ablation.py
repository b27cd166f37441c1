"""Predictor ablation on the zoo, and an independent re-computation of the engine's predictor.

    /usr/bin/python3 bench/zoo_ablation.py          (after `node --import tsx bench/zoo.bench.ts`)
    /usr/bin/python3 bench/zoo_ablation.py --results a/results.json --truth '{"siteB": 0.60}'   (one run)

Reads bench/.data/zoo/out/<model>/results.json (the label-free numbers the engine measured on
every shifted copy and every held-out set) and bench/.data/zoo/truth.json (the true Dice), and
refits predictors with scikit-learn and NumPy:

- "ours, sklearn": the engine's set-level recipe (src/engine/shift/withoutLabels.ts, predictor.ts, issue
  10) built from sklearn parts: per stage of the U the mean over its taps of knnDice, log
  featureShift, log featureShiftFg, log(max(foreground share, 1e-4)), and the output-based set
  features (soft-Dice confidence, object count and size distances to the training labels,
  boundary confidence, test-time-augmentation agreement); ANCHORED on the unshifted copy:
  Ridge(fit_intercept=False) on (x - x0)/sd -> y - y0, alpha by leave-one-family-out MAE among
  the alphas whose LOFO slope is >= 0.8; the engine's `features` is the mean of it and the
  engine's per-image aggregate (`fromImages`), its change from the unshifted copy de-shrunk and
  its interval normalised by the distance from that copy (combine.ts), re-fitted here from the
  same parts: its value must equal the engine's (the script prints the largest difference; the
  engine rounds to 4 digits; the re-fit leaves out the engine's extrapolation widening).
- ablations: input groups removed, not anchored, calibration on the five intensity families
  only, the per-image predictor aggregated, and the two output baselines.
- the area-consistency bound (pooled Dice <= 2 min(a, b) / (a + b), a the predicted foreground
  share of a set, b the labelled test split's TRUE share read from its mask PNGs, or
  --test-share): exact on every shifted copy, valid on a new site only if its prevalence is
  test's. As a feature of the set-level fit (the bound, or |log(a / b)|), as a cap on the
  final estimate, as a widening of the interval, as a hedge (the mean of ours with and without
  |log(a / b)|, the union of the intervals), and alone. Measured negative (bench/README.md,
  "Area-consistency bound"): not in the engine.

Prints one table: over models x held-out sets, pooled Spearman, mean per-model Spearman, MAE,
max error, mean bias, coverage and width of the intervals and the share wider than 0.3 ("cannot
tell") where a variant has them; also the same over the frozen
families only (sets whose truth.json `kin` is null), the lesion-size sets (small*, large: the
bound's assumption broken), the other sets, and iid. A reading aid for bench/README.md, not a test.
"""
import argparse
import glob
import json
import math
import os
import sys
import warnings

import numpy as np
from scipy.stats import spearmanr
from sklearn.linear_model import LinearRegression, Ridge

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZOO = os.path.join(ROOT, "bench", ".data", "zoo")
ALPHAS = [0.001, 0.01, 0.1, 1.0, 10.0, 100.0]
MIN_SLOPE = 0.8
STAGES = ("encoder", "bottleneck", "decoder")
INTERIOR = ["knnDice", "featureShift", "featureShiftFg"]
OUTPUT = ["softDice", "objectCountDistance", "objectSizeDistance", "boundaryConfidence", "tta"]
INTENSITY = {"none", "noise", "blur", "gamma", "contrast", "scale"}


def zoo_results(zoos=("zoo", "zoo-vessel", "zoo-vol3d")):
    """Every model's results beside its truth, over the zoos built under bench/.data: yields
    (zoo folder, model, results, its truth's Dice per set, kin per set); a zoo not built, or a
    model its truth.json does not know, is passed over."""
    for d in zoos:
        tp = os.path.join(ROOT, "bench", ".data", d, "truth.json")
        if not os.path.exists(tp):
            continue
        truth = json.load(open(tp))
        kin = {s: v.get("kin") for s, v in truth["sets"].items()}
        for f in sorted(glob.glob(os.path.join(ROOT, "bench", ".data", d, "out", "*", "results.json"))):
            m = os.path.basename(os.path.dirname(f))
            if m in truth["models"]:
                yield d, m, json.load(open(f)), truth["models"][m]["dice"], kin


def fval(m, metric):
    v = (m or {}).get(metric)
    if v is None or not np.isfinite(v):
        return None
    if metric in ("knnConfidence", "knnDice"):
        return v
    return math.log(v) if v > 0 else None


def stage_columns(r, metrics, fg=True, out=()):
    stage = {t["name"]: t["stage"] for t in r["taps"]}
    cols = []
    for st in STAGES:
        taps = [t for t in stage if stage[t] == st]
        if taps:
            cols += [(taps, m) for m in metrics]
    if fg:
        cols.append(([], "foreground"))
    cols += [([], "out:" + o) for o in out]
    return cols


def value(item, col):
    taps, m = col
    if m == "foreground":
        o = item.get("output")
        return None if o is None else math.log(max(o["foreground"], 1e-4))
    if m in ("bound", "logratio"):
        o = item.get("output")
        if o is None or REF["share"] is None:
            return None
        a, b = o["foreground"], REF["share"]
        return area_bound(a, b) if m == "bound" else abs(math.log(max(a, 1e-4) / b))
    if m.startswith("out:"):
        o = item.get("outputFeatures") or {}
        v = o.get(m[4:])
        return None if v is None or not np.isfinite(v) else float(v)
    v = [fval(item["features"].get(t), m) for t in taps]
    v = [x for x in v if x is not None]
    return float(np.mean(v)) if v else None


REF = {"share": None}  # the labelled test split's true foreground share (main() sets it)


def area_bound(a, b):
    """Area-consistency bound: pooled Dice <= 2 min(a, b) / (a + b), a the predicted and b the
    true foreground share. Exact on every shifted copy (its true share is test's); on a new
    site only if its true share is test's."""
    return 1.0 if a + b <= 0 else 2 * min(a, b) / (a + b)


def test_share(dataset):
    """The pooled true foreground share of the labelled test split (its mask PNGs)."""
    try:
        from PIL import Image
    except ImportError:
        return None
    d = json.load(open(dataset))
    lab = d["splits"]["test"].get("labels")
    fs = sorted(glob.glob(os.path.join(os.path.dirname(dataset), lab, "*.png"))) if lab else []
    if not fs:
        return None
    m = [np.asarray(Image.open(f)) > 0 for f in fs]
    return float(sum(x.sum() for x in m) / sum(x.size for x in m))


def conformal(absr, miss=0.2):
    s = np.sort(np.asarray(absr)[np.isfinite(absr)])
    if not len(s):
        return np.nan
    k = int(math.ceil((len(s) + 1) * (1 - miss)))
    return float(s[min(len(s), max(1, k)) - 1])


def slope(p, t):
    m = np.isfinite(p)
    return np.polyfit(t[m], p[m], 1)[0] if m.sum() >= 2 and np.std(t[m]) > 0 else np.nan


# ---- anchored ridge
def anchored_fit(X, y, a, alpha):
    sd = X.std(axis=0)
    keep = sd > 1e-12 * np.maximum(1, np.abs(X.mean(axis=0)))
    coef = np.zeros(X.shape[1])
    if keep.any():
        Z = (X[:, keep] - X[a, keep]) / sd[keep]
        coef[keep] = Ridge(alpha=alpha, fit_intercept=False).fit(Z, y - y[a]).coef_ / sd[keep]
    x0, y0 = X[a].copy(), y[a]
    return lambda Q: y0 + (np.asarray(Q) - x0) @ coef, coef


def anchored_logo(X, y, g, a, fit):
    out = np.full(len(y), np.nan)
    for grp in dict.fromkeys(g):
        if grp == g[a]:
            continue
        tr = np.array([h != grp for h in g])
        tri = np.flatnonzero(tr)
        f = fit(X[tr], y[tr], [g[i] for i in tri], int(np.flatnonzero(tri == a)[0]))[0]
        out[~tr] = f(X[~tr])
    return out


def anchored_selected(X, y, g, a, alphas=ALPHAS, min_slope=MIN_SLOPE):
    if len(set(g) - {g[a]}) < 2:
        return anchored_fit(X, y, a, alphas[-1])
    best = None
    for al in alphas:
        p = anchored_logo(X, y, g, a, lambda Xt, yt, gt, an, al=al: anchored_fit(Xt, yt, an, al))
        m = np.isfinite(p)
        e = np.mean(np.abs(p[m] - y[m]))
        ok = slope(p, y) >= min_slope
        if best is None or (ok and not best[2]) or (ok == best[2] and e <= best[1]):
            best = (al, e, ok)
    return anchored_fit(X, y, a, best[0])


# ---- plain ridge (intercept), alpha by LOGO MAE
def ridge_fit(X, y, alpha):
    mu, sd = X.mean(axis=0), X.std(axis=0)
    keep = sd > 1e-12 * np.maximum(1, np.abs(mu))
    if not keep.any():
        m = y.mean()
        return (lambda Q: np.full(len(Q), m)), np.zeros(X.shape[1])
    r = Ridge(alpha=alpha).fit((X[:, keep] - mu[keep]) / sd[keep], y)
    coef = np.zeros(X.shape[1])
    coef[keep] = r.coef_ / sd[keep]
    icpt = r.intercept_ - coef @ mu
    return (lambda Q: icpt + np.asarray(Q) @ coef), coef


def plain_logo(X, y, g, fit):
    out = np.full(len(y), np.nan)
    for grp in dict.fromkeys(g):
        tr = np.array([h != grp for h in g])
        if tr.sum() < 2:
            continue
        out[~tr] = fit(X[tr], y[tr], [g[i] for i in np.flatnonzero(tr)])[0](X[~tr])
    return out


def ridge_selected(X, y, g, alphas=(0.01, 0.1, 1.0, 10.0, 100.0)):
    best, err = alphas[-1], np.inf
    if len(set(g)) >= 2:
        for al in alphas:
            p = plain_logo(X, y, g, lambda Xt, yt, gt, al=al: ridge_fit(Xt, yt, al))
            e = np.nanmean(np.abs(p - y))
            if e <= err:
                best, err = al, e
    return ridge_fit(X, y, best)


def estimates(p, sets, cols, anchored=True, families=None):
    shifts = [c for c in p["shifts"] if families is None or c["family"] in families]
    rows = [[value(c, col) for col in cols] for c in shifts]
    keep = [j for j in range(len(cols)) if all(rw[j] is not None for rw in rows)]
    X = np.array([[rw[j] for j in keep] for rw in rows], float)
    y = np.array([c["performance"] for c in shifts])
    g = [c["family"] for c in shifts]
    a = g.index("none") if "none" in g else -1
    out = []
    cache = {}
    for s in sets:
        rw = [value(p["splits"][s], cols[j]) for j in keep]
        k2 = [i for i, v in enumerate(rw) if v is not None]
        Xk = X[:, k2]
        if tuple(k2) not in cache:
            if anchored and a >= 0:
                f, coef = anchored_selected(Xk, y, g, a)
                lp = anchored_logo(Xk, y, g, a, lambda Xt, yt, gt, an: anchored_selected(Xt, yt, gt, an))
                lp = np.clip(lp, 0, 1)
                q = conformal(np.abs(lp - y)[[h != "none" for h in g]])
            else:
                f, coef = ridge_selected(Xk, y, g)
                lp = np.clip(plain_logo(Xk, y, g, lambda Xt, yt, gt: ridge_selected(Xt, yt, gt)), 0, 1)
                q = conformal(np.abs(lp - y))
            cache[tuple(k2)] = (f, coef, q)
        f, coef, q = cache[tuple(k2)]
        x = np.array([rw[i] for i in k2])
        lo, hi = Xk.min(axis=0), Xk.max(axis=0)
        ext = float(np.sum(np.abs(coef) * (np.maximum(0, x - hi) + np.maximum(0, lo - x))))
        v = float(np.clip(f(x[None])[0], 0, 1))
        out.append((v, max(0.0, v - q - ext), min(1.0, v + q + ext)))
    return out


def baseline(p, sets, which):
    X = np.array([[c["output"][which]] for c in p["shifts"]])
    y = np.array([c["performance"] for c in p["shifts"]])
    r = LinearRegression().fit(X, y)
    return [(float(np.clip(r.predict([[p["splits"][s]["output"][which]]])[0], 0, 1)), np.nan, np.nan) for s in sets]


def engine(p, sets, key="features"):
    out = []
    for s in sets:
        e = p["splits"][s]["predicted"][key] if key not in ("fromImages", "fromSets") else p["splits"][s].get(key)
        out.append((e["value"], e["low"], e["high"]) if e else (np.nan, np.nan, np.nan))
    return out


def set_level_lofo(r, p, extra=()):
    """The set-level anchored fit's LOFO predictions per copy (sklearn), all columns."""
    cols = stage_columns(r, INTERIOR, out=OUTPUT) + list(extra)
    rows = [[value(c, col) for col in cols] for c in p["shifts"]]
    keep = [j for j in range(len(cols)) if all(rw[j] is not None for rw in rows)]
    X = np.array([[rw[j] for j in keep] for rw in rows], float)
    y = np.array([c["performance"] for c in p["shifts"]])
    g = [c["family"] for c in p["shifts"]]
    return np.clip(anchored_logo(X, y, g, g.index("none"), lambda Xt, yt, gt, an: anchored_selected(Xt, yt, gt, an)), 0, 1)


def set_level_dist(r, p, sets, extra=()):
    """Mean standardised distance of the set-level inputs from the unshifted copy's: copies, sets."""
    cols = stage_columns(r, INTERIOR, out=OUTPUT) + list(extra)
    rows = [[value(c, col) for col in cols] for c in p["shifts"]]
    keep = [j for j in range(len(cols)) if all(rw[j] is not None for rw in rows)]
    X = np.array([[rw[j] for j in keep] for rw in rows], float)
    a = [c["family"] for c in p["shifts"]].index("none")
    sd = X.std(axis=0)
    sd = np.where(sd > 1e-12 * np.maximum(1, np.abs(X.mean(axis=0))), sd, np.inf)
    xs = np.array([[value(p["splits"][s], cols[j]) for j in keep] for s in sets], float)
    return np.mean(np.abs(X - X[a]) / sd, axis=1), np.mean(np.abs(xs - X[a]) / sd, axis=1)


def deshrink_k(pred, truth, y0, kmax=2.0):
    d = pred - y0
    sxx = np.sum(d * d)
    return 1.0 if not sxx > 0 else float(min(kmax, max(1.0, np.sum(d * (truth - y0)) / sxx)))


def combo(r, p, sets, w, deshrink=True, normalise=True, eps=0.03, per_distance=0.1, extra=(), cap=None):
    """w * set-level + (1 - w) * fromImages, as the engine (combine.ts): the change from y0
    de-shrunk by k (nested by family, kept if it lowers the LOFO error), the interval
    split-conformal on |r| / (eps + per_distance * d), d the standardised distance of the
    set-level inputs from the unshifted copy's. deshrink / normalise False: without that step
    (both False: the engine before)."""
    sl = set_level_lofo(r, p)
    y = np.array([c["performance"] for c in p["shifts"]])
    fam = np.array([c["family"] for c in p["shifts"]])
    y0 = y[list(fam).index("none")]
    il = np.array([np.nan if c.get("lofoFromImages") is None else c["lofoFromImages"] for c in p["shifts"]], float)
    ml = w * sl + (1 - w) * il
    cal = (fam != "none") & np.isfinite(ml)
    est = estimates(p, sets, stage_columns(r, INTERIOR, out=OUTPUT) + list(extra))
    mv = np.array([w * a[0] + (1 - w) * b[0] for a, b in zip(est, engine(p, sets, "fromImages"))])
    bc = np.array([value(c, ([], "bound")) for c in p["shifts"]], float)
    bs = np.array([value(p["splits"][s], ([], "bound")) for s in sets], float)
    if cap in ("value", "interval"):
        ml = np.minimum(ml, bc)
    raw = np.clip(ml, 0, 1)
    nested = raw.copy()
    for g in set(fam[cal]):
        sel = cal & (fam == g)
        tr = cal & (fam != g)
        nested[sel] = np.clip(y0 + deshrink_k(ml[tr], y[tr], y0) * (ml[sel] - y0), 0, 1)
        if cap in ("value", "interval"):
            nested[sel] = np.minimum(nested[sel], bc[sel])
    stretch = deshrink and np.mean(np.abs(nested - y)[cal]) < np.mean(np.abs(raw - y)[cal])
    k = deshrink_k(ml[cal], y[cal], y0) if stretch else 1.0
    lofo = nested if stretch else raw
    dl, dv = set_level_dist(r, p, sets, extra)
    if not normalise:
        dl, dv, eps, per_distance = dl * 0, dv * 0, 1.0, 0.0
    q = conformal((np.abs(lofo - y) / (eps + per_distance * dl))[cal])
    v = np.clip(y0 + k * (mv - y0), 0, 1)
    half = q * (eps + per_distance * dv)  # (no extrapolation widening here; the engine adds it)
    if cap == "value":
        return [(float(min(a, b)), max(0.0, float(min(a, b) - h)), min(1.0, float(min(a + h, b)))) for a, h, b in zip(v, half, bs)]
    if cap == "widen":
        return [(float(a), max(0.0, float(min(a - h, b))), min(1.0, float(a + h))) for a, h, b in zip(v, half, bs)]
    if cap == "interval":
        return [(float(min(a, b)), max(0.0, float(min(a - h, b))), min(1.0, float(min(a + h, b)))) for a, h, b in zip(v, half, bs)]
    return [(float(a), max(0.0, float(a - h)), min(1.0, float(a + h))) for a, h in zip(v, half)]


def hedge(r, p, sets, extra):
    """The mean of ours and ours with `extra` columns; the interval the union of the two."""
    a, b = combo(r, p, sets, 0.5), combo(r, p, sets, 0.5, extra=extra)
    return [((x[0] + y[0]) / 2, min(x[1], y[1]), max(x[2], y[2])) for x, y in zip(a, b)]


def bound_scaled(p, sets):
    c0 = next(c for c in p["shifts"] if c["family"] == "none")
    b0 = value(c0, ([], "bound"))
    return [(c0["performance"] * value(p["splits"][x], ([], "bound")) / b0, np.nan, np.nan) for x in sets]


def variants(r):
    full = stage_columns(r, INTERIOR, out=OUTPUT)
    return {
        "engine (TS), as written in results.json": lambda p, s: engine(p, s),
        "set-level fit alone (engine fromSets)": lambda p, s: engine(p, s, "fromSets"),
        "ours, sklearn (the same recipe)": lambda p, s: estimates(p, s, full),
        "  not anchored (ridge with intercept)": lambda p, s: estimates(p, s, full, anchored=False),
        "  interior features only (+ foreground share)": lambda p, s: estimates(p, s, stage_columns(r, INTERIOR)),
        "  output features only (+ foreground share)": lambda p, s: estimates(p, s, stage_columns(r, [], out=OUTPUT)),
        "  without tta": lambda p, s: estimates(p, s, stage_columns(r, INTERIOR, out=[o for o in OUTPUT if o != "tta"])),
        "  without the object distances": lambda p, s: estimates(p, s, stage_columns(r, INTERIOR, out=["softDice", "boundaryConfidence", "tta"])),
        "  without softDice": lambda p, s: estimates(p, s, stage_columns(r, INTERIOR, out=[o for o in OUTPUT if o != "softDice"])),
        "  knnDice + softDice + object count + tta": lambda p, s: estimates(p, s, stage_columns(r, ["knnDice"], fg=True, out=["softDice", "objectCountDistance", "tta"])),
        "  calibrated on the 5 intensity families only": lambda p, s: estimates(p, s, full, families=INTENSITY),
        "  the old recipe (interior, not anchored, intensity families)": lambda p, s: estimates(p, s, stage_columns(r, INTERIOR), anchored=False, families=INTENSITY),
        "per-image predictor aggregated (engine fromImages)": lambda p, s: engine(p, s, "fromImages"),
        "ours, final: mean, de-shrunk, normalised interval (sklearn re-fit of the engine)": lambda p, s: combo(r, p, s, 0.5),
        "  not de-shrunk, plain conformal interval (the engine before)": lambda p, s: combo(r, p, s, 0.5, deshrink=False, normalise=False),
        "  de-shrunk, plain conformal interval": lambda p, s: combo(r, p, s, 0.5, normalise=False),
        "  not de-shrunk, normalised interval": lambda p, s: combo(r, p, s, 0.5, deshrink=False),
        "  + area bound as a feature": lambda p, s: combo(r, p, s, 0.5, extra=[([], "bound")]),
        "  + |log(predicted / test's true foreground share)| as a feature": lambda p, s: combo(r, p, s, 0.5, extra=[([], "logratio")]),
        "  capped at the area bound (lower half-width kept)": lambda p, s: combo(r, p, s, 0.5, cap="value"),
        "  capped at the area bound (interval clipped)": lambda p, s: combo(r, p, s, 0.5, cap="interval"),
        "  mean of ours and ours + |log(a/b)|, the union of their intervals": lambda p, s: hedge(r, p, s, [([], "logratio")]),
        "  interval's lower end lowered to the area bound": lambda p, s: combo(r, p, s, 0.5, cap="widen"),
        "  + area bound as a feature, and capped at it": lambda p, s: combo(r, p, s, 0.5, extra=[([], "bound")], cap="value"),
        "area bound alone (2 min(a, b) / (a + b))": lambda p, s: [(value(p["splits"][x], ([], "bound")), np.nan, np.nan) for x in s],
        "area bound x y0 / bound of the unshifted copy": lambda p, s: bound_scaled(p, s),
        "baseline: max-softmax (sklearn)": lambda p, s: baseline(p, s, "maxProbability"),
        "baseline: entropy (sklearn)": lambda p, s: baseline(p, s, "entropy"),
    }


def table(got, frozen_sets=None):
    print("| predictor | pairs | pooled Spearman | mean per-model Spearman | MAE | max error | mean bias | coverage | mean width | \"cannot tell\" |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for k, rows in got.items():
        if frozen_sets is not None:
            rows = [r for r in rows if r[1] in frozen_sets]
        if not rows:
            continue
        pr = np.array([r[2][0] for r in rows])
        lo = np.array([r[2][1] for r in rows])
        hi = np.array([r[2][2] for r in rows])
        tt = np.array([r[3] for r in rows])
        ok = np.isfinite(pr)
        per = []
        for m in dict.fromkeys(r[0] for r in rows):
            idx = [i for i, r in enumerate(rows) if r[0] == m and ok[i]]
            if len(idx) >= 3:
                per.append(spearmanr(pr[idx], tt[idx]).correlation)
        cov = np.mean((tt[ok] >= lo[ok] - 1e-9) & (tt[ok] <= hi[ok] + 1e-9)) if np.isfinite(lo[ok]).all() else np.nan
        wid = np.mean(hi[ok] - lo[ok]) if np.isfinite(lo[ok]).all() else np.nan
        ct = np.mean(hi[ok] - lo[ok] > 0.3 + 1e-9) if np.isfinite(lo[ok]).all() else np.nan
        rho = spearmanr(pr[ok], tt[ok]).correlation if ok.sum() >= 3 else np.nan
        print(f"| {k.strip()}{' (ablation)' if k.startswith('  ') else ''} | {ok.sum()} | {rho:.3f} | {np.nanmean(per) if per else float('nan'):.3f} | "
              f"{np.mean(np.abs(pr[ok] - tt[ok])):.3f} | {np.max(np.abs(pr[ok] - tt[ok])):.3f} | {np.mean(pr[ok] - tt[ok]):+.3f} | {cov * 100:.0f}% | {wid:.3f} | {ct * 100:.0f}% |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", default=None, help="one results.json instead of the zoo")
    ap.add_argument("--truth", default=None, help="with --results: JSON {split: true value}")
    ap.add_argument("--test-share", type=float, default=None, help="the test split's true foreground share (default: from its mask PNGs)")
    ap.add_argument("--only", default=None, help="comma-separated variant-name prefixes")
    args = ap.parse_args()
    if args.results:
        runs = [("run", args.results, json.loads(args.truth))]
        kin = {}
    else:
        truth = json.load(open(os.path.join(ZOO, "truth.json")))
        files = sorted(glob.glob(os.path.join(ZOO, "out", "*", "results.json")))
        runs = [(os.path.basename(os.path.dirname(f)), f, truth["models"][os.path.basename(os.path.dirname(f))]["dice"])
                for f in files if os.path.basename(os.path.dirname(f)) in truth["models"]]
        kin = {s: v.get("kin") for s, v in truth["sets"].items()}
        if not runs:
            sys.exit("no bench/.data/zoo/out/*/results.json: run `node --import tsx bench/zoo.bench.ts` first")
    got = {}
    diff = 0.0
    for name, f, t in runs:
        r = json.load(open(f))
        p = r["performanceWithoutLabels"]
        ds = r["dataset"]["path"]
        if not os.path.exists(ds) and not args.results:
            ds = os.path.join(ZOO, "unetlens.json")
        REF["share"] = args.test_share if args.test_share is not None else test_share(ds)
        sets = [s for s in p["splits"] if s in t and s not in ("train", "test")]
        for k, fn in variants(r).items():
            if args.only and not any(k.strip().startswith(o) for o in args.only.split(",")):
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pr = fn(p, sets)
            got.setdefault(k, []).extend((name, s, e, t[s]) for s, e in zip(sets, pr))
        ka, kb = "engine (TS), as written in results.json", "ours, final: mean, de-shrunk, normalised interval (sklearn re-fit of the engine)"
        if ka in got and kb in got:
            a = np.array([e[2][0] for e in got[ka] if e[0] == name])
            b = np.array([e[2][0] for e in got[kb] if e[0] == name])
            diff = max(diff, float(np.max(np.abs(a - b))))
    print(f"{len(runs)} runs; engine vs sklearn re-fit of the same recipe: largest |difference| {diff:.2e} (the engine rounds to 1e-4)\n")
    table(got)
    frozen = {s for s, k in kin.items() if k is None and s != "iid"}
    if frozen:
        print(f"\nFrozen families only ({', '.join(sorted(frozen))}):\n")
        table(got, frozen)
    size = {s for s in ("smallMild", "smallSevere", "large") if s in kin}
    if size:
        print(f"\nLesion-size sets only ({', '.join(sorted(size))}): the bound's assumption broken\n")
        table(got, size)
    if kin:
        rest = set(kin) - size - {"iid"}
        print(f"\nAll but the lesion-size sets and iid ({len(rest)} sets)\n")
        table(got, rest)
    if "iid" in kin:
        print("\niid set only:\n")
        table(got, {"iid"})


if __name__ == "__main__":
    main()
