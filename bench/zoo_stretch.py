"""Ours' last two steps re-computed offline from the zoo's results (issue 10, session 14).

    /usr/bin/python3 bench/zoo_stretch.py     (after `node --import tsx bench/zoo.bench.ts --all-tasks`)

Ours (withoutLabels.ts, combine.ts) is y0 + k * ((S + I) / 2 - y0): S the anchored set-level fit,
I the anchored per-image aggregate, k the stretch fitted on the copies' leave-one-family-out
predictions; then the change from y0 is shrunk by max(0, 1 - tau^2 / delta^2), tau from the
halves of the unshifted images. Every split's S and I and every half's are in results.json
(`fromSets`, `fromImages`, `samplingNoise.halves`), so the whole can be re-derived (the engine's
row is reproduced to 1e-4) and varied:

- "no stretch": k = 1;  "half the stretch": sqrt(k);
- "S toward I": the set-level part's difference from the per-image part shrunk by its own noise
  (the halves' S - I), with and without the shrink toward y0 afterwards.

Prints Spearman / MAE / coverage (the engine's interval widths moved with the value) over all
held-out sets, the frozen families and the related ones, and the iid count within 0.03.
A reading aid for bench/README.md, not a test; nothing here is chosen on the held-out sets.
"""
import os
import sys

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zoo_ablation as za  # noqa: E402


def js(delta, tau2):
    """James-Stein's positive part, as noiseFloor in withoutLabels.ts."""
    return 0.0 if delta == 0 else max(0.0, 1 - tau2 / delta ** 2)


def run(variant):
    out = []
    for _zoo, m, r, truth, kin in za.zoo_results():
        p = r["performanceWithoutLabels"]
        y0, n = p["shifts"][0]["performance"], p["shifts"][0]["images"]
        k = p["predictors"]["features"]["deshrink"]
        halves = p["samplingNoise"]["halves"]
        s_d = np.mean([((h["fromSets"][0] - h["fromImages"][0]) - (h["fromSets"][1] - h["fromImages"][1])) ** 2
                       / (1 / h["images"][0] + 1 / h["images"][1]) for h in halves])

        def comb(s, i, m_):
            if variant.startswith("S toward I"):
                d = s - i
                return y0 + k * (i + js(d, s_d * (1 / m_ + 1 / n)) * d / 2 - y0)
            if variant == "no stretch":
                return (s + i) / 2
            if variant == "half the stretch":
                return y0 + k ** 0.5 * ((s + i) / 2 - y0)
            return y0 + k * ((s + i) / 2 - y0)

        hp = [(comb(h["fromSets"][0], h["fromImages"][0], h["images"][0]), comb(h["fromSets"][1], h["fromImages"][1], h["images"][1]), h["images"]) for h in halves]
        s1 = np.mean([(a - b) ** 2 / (1 / im[0] + 1 / im[1]) for a, b, im in hp])
        for s, e in p["splits"].items():
            if s not in truth or s in ("train", "test") or not e.get("perImage") or e.get("fromSets") is None:
                continue
            mm = len(e["perImage"])
            v = comb(e["fromSets"]["value"], e["fromImages"]["value"], mm)
            if not variant.endswith("no shrink toward y0"):
                v = y0 + js(v - y0, s1 * (1 / mm + 1 / n)) * (v - y0)
            v = min(1, max(0, v))
            pf = e["predicted"]["features"]
            out.append((m, s, kin.get(s) is None and s != "iid", truth[s], v, v - (pf["value"] - pf["low"]), v + (pf["high"] - pf["value"])))
    return out


def stats(sel):
    tr, pr, lo, hi = (np.array([o[j] for o in sel]) for j in (3, 4, 5, 6))
    return f"{spearmanr(pr, tr).correlation:.3f} / {np.mean(np.abs(pr - tr)):.3f} / {np.mean((tr >= lo - 1e-9) & (tr <= hi + 1e-9)) * 100:.0f} %"


def main():
    print("| variant | all: Spearman / MAE / coverage | frozen | related | iid within 0.03 |")
    print("|---|---|---|---|---:|")
    for v in ["engine", "no stretch", "half the stretch", "S toward I", "S toward I, no shrink toward y0"]:
        o = run(v)
        if not o:
            raise SystemExit("no zoo results: run `node --import tsx bench/zoo.bench.ts --all-tasks` first")
        iid = [abs(x[4] - x[3]) for x in o if x[1] == "iid"]
        print(f"| {v} | {stats(o)} | {stats([x for x in o if x[2]])} | {stats([x for x in o if not x[2] and x[1] != 'iid'])} | {sum(e <= 0.03 for e in iid)}/{len(iid)} |")


if __name__ == "__main__":
    main()
