"""The `objects` shift family (issue 10) on the zoo: does calibrating on copies whose objects are
truly grown or shrunk (so their true foreground share differs from test's) help, alone or with
|log(predicted foreground share / test's true share)| as a feature of the set-level fit?

    /usr/bin/python3 bench/zoo_objects.py      (after bench/zoo.bench.ts with `objects` in the
                                               zoo dataset file's analysis.shifts.families)
    /usr/bin/python3 bench/zoo_objects.py --results a/results.json --truth '{"siteB": 0.604}'

Re-fits with bench/zoo_ablation.py's sklearn re-fit of the engine's final recipe (`combo`), on
the sweep's copies without the `objects` copies ("before": the default sweep; the first 31
copies are the default sweep's, same seeds) and with them. Caveat: the per-image half of the
recipe (the engine's `fromImages`, and its per-copy LOFO) is the engine's own, fitted on every
copy of the run, `objects` included, in both rows. Prints the tables of zoo_ablation.py.
"""
import argparse
import json
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zoo_ablation as za  # noqa: E402

LOG = [([], "logratio")]


def without(p, fam="objects"):
    return {**p, "shifts": [c for c in p["shifts"] if c["family"] != fam]}


def variants(r):
    full = za.stage_columns(r, za.INTERIOR, out=za.OUTPUT)
    return {
        "engine (TS) as run (objects copies in the fit)": lambda p, s: za.engine(p, s),
        "default sweep (no objects copies): ours, final": lambda p, s: za.combo(r, without(p), s, 0.5),
        "default sweep: + |log(a/b)|": lambda p, s: za.combo(r, without(p), s, 0.5, extra=LOG),
        "+ objects copies: ours, final": lambda p, s: za.combo(r, p, s, 0.5),
        "+ objects copies: + |log(a/b)|": lambda p, s: za.combo(r, p, s, 0.5, extra=LOG),
        "set-level fit alone, default sweep": lambda p, s: za.estimates(without(p), s, full),
        "set-level fit alone, default sweep + |log(a/b)|": lambda p, s: za.estimates(without(p), s, full + LOG),
        "set-level fit alone, + objects copies": lambda p, s: za.estimates(p, s, full),
        "set-level fit alone, + objects copies + |log(a/b)|": lambda p, s: za.estimates(p, s, full + LOG),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", default=None)
    ap.add_argument("--truth", default=None)
    ap.add_argument("--test-share", type=float, default=None)
    ap.add_argument("--zoo", default=None, help="another zoo directory (default bench/.data/zoo)")
    args = ap.parse_args()
    if args.zoo:
        za.ZOO = os.path.abspath(args.zoo)
    if args.results:
        runs = [("run", args.results, json.loads(args.truth))]
        kin = {}
    else:
        truth = json.load(open(os.path.join(za.ZOO, "truth.json")))
        runs = []
        for m in truth["models"]:
            f = os.path.join(za.ZOO, "out", m, "results.json")
            if os.path.exists(f):
                runs.append((m, f, truth["models"][m]["dice"]))
        kin = {s: v.get("kin") for s, v in truth["sets"].items()}
    got = {}
    for name, f, t in runs:
        r = json.load(open(f))
        p = r["performanceWithoutLabels"]
        fams = sorted({c["family"] for c in p["shifts"]})
        ds = r["dataset"]["path"]
        if not os.path.exists(ds) and not args.results:
            ds = os.path.join(za.ZOO, "unetlens.json")
        za.REF["share"] = args.test_share if args.test_share is not None else za.test_share(ds)
        print(f"{name}: {len(p['shifts'])} copies ({', '.join(fams)}); test's true share {za.REF['share']}")
        for c in p["shifts"]:
            if c["family"] in ("none", "objects"):
                print(f"  {c['family']} {c['strength']}: true {c['performance']:.3f}, predicted share {c['output']['foreground']:.4f}")
        sets = [s for s in p["splits"] if s in t and s not in ("train", "test")]
        for k, fn in variants(r).items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pr = fn(p, sets)
            got.setdefault(k, []).extend((name, s, e, t[s]) for s, e in zip(sets, pr))
        if args.results:
            for s in sets:
                print(f"  {s} (true {t[s]}): " + "; ".join(f"{k}: {v[2][0]:.3f} [{v[2][1]:.3f}, {v[2][2]:.3f}]" for k, rows in got.items() for v in rows if v[1] == s and v[0] == name))
    print()
    za.table(got)
    size = {s for s in ("smallMild", "smallSevere", "large") if s in kin}
    if size:
        print(f"\nLesion-size sets only ({', '.join(sorted(size))})\n")
        za.table(got, size)
        frozen = {s for s, k in kin.items() if k is None and s != "iid"}
        print(f"\nFrozen families only ({len(frozen)} sets)\n")
        za.table(got, frozen)
        rest = set(kin) - size - {"iid"}
        print(f"\nAll but the lesion-size sets and iid ({len(rest)} sets)\n")
        za.table(got, rest)


if __name__ == "__main__":
    main()
