"""How ours combines its two parts, re-fitted offline on the three zoos (issue 10, session 13).

    /usr/bin/python3 bench/zoo_combine.py     (after `node --import tsx bench/zoo.bench.ts --all-tasks`)

Ours (combine.ts) is the mean of the anchored set-level fit and the anchored per-image
aggregate, its change from the unshifted copy de-shrunk, its interval split-conformal on the
leave-one-family-out (LOFO) residuals divided by sigma(d) = 0.03 + 0.1 d. This script re-fits that
recipe from each model's results.json with zoo_ablation.py's parts (the set-level fit with
scikit-learn; the per-image aggregate as the engine wrote it) and measures variants chosen on the
calibration copies only, never on the held-out sets:

- "refit, w = 0.5": the recipe (without the engine's halves rows, noise shrink and extrapolation
  widening: the difference from the engine's row is those);
- "w by the copies": per model the weight w of the set-level part from {0, 0.25, 0.5, 0.75, 1}
  with the smallest LOFO MAE on the copies (stacking);
- "w = ..." fixed weights, for reference (reading them on the held-out sets would be tuning);
- "sigma(d) fitted": a + b d by least squares of the copies' |LOFO residual| on d, per model.

Prints, over all held-out sets, the frozen families and the related ones: pooled and mean
per-model Spearman, MAE, bias, interval coverage and width, the share "cannot tell"; and the iid
set's |error| <= 0.03 count. A reading aid for bench/README.md, not a test.
"""
import os
import sys
import warnings

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zoo_ablation as za  # noqa: E402

ZOOS = {"lesion": "zoo", "vessel": "zoo-vessel", "vol3d": "zoo-vol3d"}
GRID = [0, 0.25, 0.5, 0.75, 1]


def combine(parts, w, sigma="fixed"):
    """combine.ts with the set-level weight w: (value, low, high) per held-out set, and the copies' LOFO MAE."""
    sl, il, y, fam, dl, sv, iv, dv = parts
    y0 = y[list(fam).index("none")]
    ml = w * sl + (1 - w) * il
    mv = w * sv + (1 - w) * iv
    cal = (fam != "none") & np.isfinite(ml)
    raw = np.clip(ml, 0, 1)
    nested = raw.copy()
    for g in set(fam[cal]):
        sel, tr = cal & (fam == g), cal & (fam != g)
        nested[sel] = np.clip(y0 + za.deshrink_k(ml[tr], y[tr], y0) * (ml[sel] - y0), 0, 1)
    stretch = np.mean(np.abs(nested - y)[cal]) < np.mean(np.abs(raw - y)[cal])
    k = za.deshrink_k(ml[cal], y[cal], y0) if stretch else 1.0
    lofo = nested if stretch else raw
    a, b = 0.03, 0.1
    if sigma == "fitted":
        b, a = np.polyfit(dl[cal], np.abs(lofo - y)[cal], 1)
        a, b = max(a, 0.01), max(b, 0.0)
    q = za.conformal((np.abs(lofo - y) / (a + b * dl))[cal])
    v = np.clip(y0 + k * (mv - y0), 0, 1)
    half = q * (a + b * dv)
    return list(zip(v, np.maximum(0, v - half), np.minimum(1, v + half))), float(np.mean(np.abs(lofo - y)[cal]))


def main():
    warnings.simplefilter("ignore")
    rows = []  # (model, set, frozen, truth, {variant: (value, low, high)})
    for _zoo, m, r, t, kin in za.zoo_results(tuple(ZOOS.values())):
        p = r["performanceWithoutLabels"]
        sets = [s for s in p["splits"] if s in t and s not in ("train", "test")]
        sl = za.set_level_lofo(r, p)
        il = np.array([np.nan if c.get("lofoFromImages") is None else c["lofoFromImages"] for c in p["shifts"]], float)
        y = np.array([c["performance"] for c in p["shifts"]])
        fam = np.array([c["family"] for c in p["shifts"]])
        dl, dv = za.set_level_dist(r, p, sets)
        sv = np.array([e[0] for e in za.estimates(p, sets, za.stage_columns(r, za.INTERIOR, out=za.OUTPUT))])
        iv = np.array([e[0] for e in za.engine(p, sets, "fromImages")])
        parts = (sl, il, y, fam, dl, sv, iv, dv)
        out = {"engine (as written)": za.engine(p, sets), "refit, w = 0.5": combine(parts, 0.5)[0]}
        fits = {w: combine(parts, w) for w in GRID}
        best = min(GRID, key=lambda w: fits[w][1])
        out["w by the copies' LOFO MAE"] = fits[best][0]
        for w in GRID:
            if w != 0.5:
                out[f"w = {w} (reference only)"] = fits[w][0]
        out["sigma(d) fitted on the copies"] = combine(parts, 0.5, "fitted")[0]
        print(f"{m}: w chosen {best} (copies' LOFO MAE {' / '.join(f'{fits[w][1]:.3f}' for w in GRID)} for w = {GRID})", file=sys.stderr)
        for i, s in enumerate(sets):
            rows.append((m, s, kin.get(s) is None and s != "iid", t[s], {k: v[i] for k, v in out.items()}))
    if not rows:
        sys.exit("no zoo results: run `node --import tsx bench/zoo.bench.ts --all-tasks` first")
    for label, sel in (("all held-out sets", rows), ("frozen families", [r for r in rows if r[2]]), ("related sets", [r for r in rows if not r[2] and r[1] != "iid"])):
        print(f"\n{label} ({len(sel)} pairs)\n")
        print("| variant | pooled Spearman | mean per-model Spearman | MAE | bias | coverage | mean width | \"cannot tell\" |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for k in sel[0][4]:
            pr, lo, hi = (np.array([r[4][k][j] for r in sel]) for j in range(3))
            tt = np.array([r[3] for r in sel])
            per = [spearmanr(pr[ix], tt[ix]).correlation for m in dict.fromkeys(r[0] for r in sel) for ix in [[i for i, r in enumerate(sel) if r[0] == m]] if len(ix) >= 3]
            print(f"| {k} | {spearmanr(pr, tt).correlation:.3f} | {np.nanmean(per):.3f} | {np.mean(np.abs(pr - tt)):.3f} | {np.mean(pr - tt):+.3f} | "
                  f"{np.mean((tt >= lo - 1e-9) & (tt <= hi + 1e-9)) * 100:.0f}% | {np.mean(hi - lo):.3f} | {np.mean(hi - lo > 0.3 + 1e-9) * 100:.0f}% |")
    iid = [r for r in rows if r[1] == "iid"]
    print()
    for k in iid[0][4]:
        e = [abs(r[4][k][0] - r[3]) for r in iid]
        print(f"iid, {k}: within 0.03 on {sum(x <= 0.03 for x in e)}/{len(e)} models (max {max(e):.3f})")


if __name__ == "__main__":
    main()
