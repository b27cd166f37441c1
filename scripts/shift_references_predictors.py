"""The predictor references of test/fixtures/shift-reference.json (see
scripts/make_shift_references.py, which writes the file): predictor.ts (`predictor`), the
assembly in withoutLabels.ts (`assemble`), the anchored ridge and conformal interval
(`anchored`), and combine.ts (`combined`)."""
from shift_references_common import *  # noqa: F401,F403

# ───────────── predictor ─────────────


def pipeline(alpha):
    return make_pipeline(StandardScaler(), Ridge(alpha=alpha))


def select_alpha(X, y, groups):
    """α by the pooled MAE of inner LOGO predictions; ties → larger α; one group → largest α."""
    if len(np.unique(groups)) < 2:
        return max(ALPHAS), None
    errs = np.array([mean_absolute_error(y, cross_val_predict(pipeline(a), X, y, groups=groups, cv=LeaveOneGroupOut())) for a in ALPHAS])
    best = errs.min()
    tied = [a for a, e in zip(ALPHAS, errs) if e == best]
    # The reference must not sit on a knife edge: the runner-up is clearly worse (or exactly tied).
    others = errs[errs != best]
    if len(others):
        assert (others.min() - best) > 1e-9 * max(best, 1e-12), (errs, "near tie: pick other data")
    return max(tied), errs


class NestedRidge(BaseEstimator, RegressorMixin):
    """StandardScaler + Ridge with α chosen by select_alpha on the rows it is fitted on."""

    def fit(self, X, y, groups):
        self.alpha_, _ = select_alpha(X, y, groups)
        self.model_ = pipeline(self.alpha_).fit(X, y)
        return self

    def predict(self, X):
        return self.model_.predict(X)


def original_units(pipe):
    sc, rd = pipe.named_steps["standardscaler"], pipe.named_steps["ridge"]
    coef = rd.coef_ / sc.scale_
    return float(rd.intercept_ - np.dot(coef, sc.mean_)), floats(coef)


def calibrate_ref(kind, X, y, groups, bounds, Xnew):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    groups = np.asarray(groups)
    logo_cv = LeaveOneGroupOut()
    if kind == "linear":
        est = LinearRegression()
        logo = cross_val_predict(est, X[:, :1], y, groups=groups, cv=logo_cv)
        full = LinearRegression().fit(X[:, :1], y)
        pred_new = full.predict(np.asarray(Xnew)[:, :1])
        model = {"intercept": float(full.intercept_), "coef": floats(full.coef_)}
    else:
        logo = cross_val_predict(NestedRidge(), X, y, groups=groups, cv=logo_cv, fit_params={"groups": groups})
        full = NestedRidge().fit(X, y, groups)
        pred_new = full.predict(np.asarray(Xnew))
        intercept, coef = original_units(full.model_)
        model = {"intercept": intercept, "coef": coef, "alpha": full.alpha_}
    logo_clipped = np.clip(logo, bounds[0], bounds[1])
    absr = np.abs(y - logo_clipped)
    q = float(np.quantile(absr, INTERVAL_QUANTILE))
    value = np.clip(pred_new, bounds[0], bounds[1])
    return {
        "model": model,
        "logoUnclipped": floats(logo),
        "logo": floats(logo_clipped),
        "halfWidth": q,
        "logoMae": float(absr.mean()),
        "clippedRows": int(np.sum(logo != logo_clipped)),
        "new": {"X": [floats(r) for r in np.asarray(Xnew)], "raw": floats(pred_new), "value": floats(value),
                "low": floats(np.clip(value - q, bounds[0], bounds[1])), "high": floats(np.clip(value + q, bounds[0], bounds[1]))},
    }


# ───────────── anchored ridge, conformal interval (issue 10) ─────────────


def conformal_half_width(absr, miss=CONFORMAL_MISS):
    s = np.sort(np.asarray([v for v in absr if np.isfinite(v)], dtype=np.float64))
    if len(s) == 0:
        return float("nan")
    k = int(math.ceil((len(s) + 1) * (1 - miss)))
    return float(s[min(len(s), max(1, k)) - 1])


def anchored_fit(X, y, anchor, alpha):
    """sklearn Ridge(fit_intercept=False) on (X - X[anchor]) / sd (population sd, constant columns dropped)."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    sd = X.std(axis=0)
    keep = sd > 1e-12 * np.maximum(1.0, np.abs(X.mean(axis=0)))
    coef = np.zeros(X.shape[1])
    if keep.any():
        Z = (X[:, keep] - X[anchor, keep]) / sd[keep]
        r = Ridge(alpha=alpha, fit_intercept=False).fit(Z, y - y[anchor])
        coef[keep] = r.coef_ / sd[keep]
    return float(y[anchor] - coef @ X[anchor]), coef


def anchored_logo(X, y, groups, anchor, fit):
    out = np.full(len(y), np.nan)
    for g in dict.fromkeys(groups):
        if g == groups[anchor]:
            continue
        tr = np.array([h != g for h in groups])
        if tr.sum() < 2:
            continue
        tri = np.flatnonzero(tr)
        icpt, coef = fit(X[tr], y[tr], [groups[i] for i in tri], int(np.flatnonzero(tri == anchor)[0]))
        te = ~tr
        out[te] = icpt + X[te] @ coef
    return out


def ols_slope(pred, truth):
    m = np.isfinite(pred) & np.isfinite(truth)
    return float(np.polyfit(np.asarray(truth)[m], np.asarray(pred)[m], 1)[0]) if m.sum() >= 2 else float("nan")


def anchored_selected(X, y, groups, anchor, check_ties=False):
    others = [g for g in dict.fromkeys(groups) if g != groups[anchor]]
    if len(others) < 2:
        return anchored_fit(X, y, anchor, ANCHORED_ALPHAS[-1]) + (ANCHORED_ALPHAS[-1],)
    scored = []
    for a in ANCHORED_ALPHAS:
        p = anchored_logo(X, y, groups, anchor, lambda Xt, yt, gt, an, a=a: anchored_fit(Xt, yt, an, a))
        m = np.isfinite(p)
        scored.append((a, float(np.abs(p[m] - y[m]).mean()), ols_slope(p, y) >= MIN_SLOPE))
    oks = [t for t in scored if t[2]]
    pool = oks if oks else scored
    best_e = min(t[1] for t in pool)
    if check_ties:
        rest = [t[1] for t in pool if t[1] != best_e]
        assert not rest or min(rest) - best_e > 1e-9 * max(best_e, 1e-12), ("near tie", scored)
    a = max(t[0] for t in pool if t[1] == best_e)
    return anchored_fit(X, y, anchor, a) + (a,)


def calibrate_anchored_ref(X, y, groups, anchor, bounds, Xnew):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    icpt, coef, alpha = anchored_selected(X, y, groups, anchor, check_ties=True)
    raw = anchored_logo(X, y, groups, anchor, lambda Xt, yt, gt, an: anchored_selected(Xt, yt, gt, an, check_ties=True)[:2])
    logo = np.where(np.array([g == groups[anchor] for g in groups]), icpt + X @ coef, raw)
    logo = np.clip(logo, bounds[0], bounds[1])
    other = np.array([g != groups[anchor] for g in groups])
    absr = np.abs(y - logo)[other]
    q = conformal_half_width(absr)
    lo, hi = X.min(axis=0), X.max(axis=0)
    Xnew = np.asarray(Xnew, dtype=np.float64)
    pred = icpt + Xnew @ coef
    value = np.clip(pred, bounds[0], bounds[1])
    ext = np.array([float(np.sum(np.abs(coef) * (np.maximum(0, r - hi) + np.maximum(0, lo - r)))) for r in Xnew])
    return {
        "model": {"intercept": icpt, "coef": floats(coef), "alpha": alpha},
        "logo": floats(logo), "halfWidth": q, "logoMae": float(absr.mean()),
        "lofoSlope": ols_slope(np.where(other, logo, np.nan), y),
        "new": {"X": [floats(r) for r in Xnew], "value": floats(value), "extrapolation": floats(ext),
                "low": floats(np.clip(value - q - ext, bounds[0], bounds[1])), "high": floats(np.clip(value + q + ext, bounds[0], bounds[1]))},
    }


def make_anchored(rng):
    out = {"conformal": [], "fit": [], "calibrate": []}
    for n in (5, 19, 40):
        v = rng.exponential(0.1, n)
        out["conformal"].append({"values": floats(v), "expected": conformal_half_width(v)})
    for n, p in ((25, 4), (12, 6)):
        X = rng.normal(size=(n, p))
        X[:, 1] = 3.0  # a constant column
        y = 0.8 + X @ rng.normal(0, 0.1, p) + rng.normal(0, 0.02, n)
        for alpha in (0.01, 1.0):
            icpt, coef = anchored_fit(X, y, 0, alpha)
            out["fit"].append({"X": [floats(r) for r in X], "y": floats(y), "anchor": 0, "alpha": alpha, "intercept": icpt, "coef": floats(coef)})
    # calibrate: 6 families x 4 strengths + the anchor, a trend the fit should keep
    fams = ["none"] + [f for f in ("a", "b", "c", "d", "e", "f") for _ in range(4)]
    n = len(fams)
    sev = np.concatenate([[0.0], rng.uniform(0, 0.8, n - 1)])
    y = np.clip(0.85 - 0.8 * sev + rng.normal(0, 0.02, n), 0, 1)
    X = np.column_stack([sev + rng.normal(0, 0.05, n), -1.5 * sev + rng.normal(0, 0.1, n), rng.normal(0, 1, n)])
    Xnew = np.array([X[0], X[0] + [0.3, -0.4, 0.1], [2.0, -3.0, 0.0]])  # the anchor itself, inside, outside
    out["calibrate"].append({"X": [floats(r) for r in X], "y": floats(y), "groups": fams, "anchor": 0, "bounds": [0.0, 1.0],
                             **calibrate_anchored_ref(X, y, fams, 0, [0.0, 1.0], Xnew)})
    return out


def make_predictor(rng):
    out = {}
    # quantile
    qs = [0.0, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 1.0]
    qcases = []
    for vals in [rng.normal(0, 1, 1), rng.normal(0, 1, 2), rng.exponential(1.0, 7), rng.normal(5, 3, 50), np.round(rng.normal(0, 2, 31)), rng.uniform(-1, 1, 20)[rng.permutation(20)]]:
        qcases.append({"values": floats(vals), "qs": qs, "expected": floats([np.quantile(vals, q) for q in qs])})
    out["quantile"] = qcases

    # OLS on one column (fitLinear reads the first column only)
    lcases = []
    for name, x, slope in [("random", rng.normal(0.5, 0.2, 17), 1.3), ("negative-slope", rng.uniform(0.0, 2.0, 9), -1.7), ("constant-x", np.full(8, 0.7), -1.7)]:
        y = 0.2 + slope * x + rng.normal(0, 0.05, x.size)
        X = np.stack([x, rng.normal(0, 1, x.size)], axis=1)  # a second column fitLinear must ignore
        lr = LinearRegression().fit(X[:, :1], y)
        Xnew = np.stack([rng.normal(0.5, 0.5, 5), rng.normal(0, 1, 5)], axis=1)
        lcases.append({"name": name, "X": [floats(r) for r in X], "y": floats(y), "intercept": float(lr.intercept_), "coef": float(lr.coef_[0]),
                       "Xnew": [floats(r) for r in Xnew], "predictions": floats(lr.predict(Xnew[:, :1]))})
    out["linear"] = lcases

    # Ridge with a fixed α on StandardScaler-transformed X
    rcases = []
    for name, n, p, alpha, const in [("n>p", 30, 6, 1.0, None), ("n>p-small-alpha", 25, 4, 0.01, None), ("n<p", 8, 20, 10.0, None),
                                     ("n<p-alpha-0.1", 6, 11, 0.1, None), ("constant-column", 20, 5, 1.0, (2, 3.25)), ("n<p-constant-column", 7, 12, 100.0, (5, 3.25)),
                                     ("constant-column-inexact-mean", 15, 4, 1.0, (1, 0.7))]:  # 0.7·15/15 ≠ 0.7 in float64
        X = rng.normal(0.0, 1.0, (n, p)) * rng.uniform(0.1, 10.0, p) + rng.normal(0, 5, p)
        if const is not None:
            const, value = const
            X[:, const] = value
        beta = rng.normal(0, 1, p)
        y = X @ beta * 0.1 + rng.normal(0, 0.2, n)
        pipe = pipeline(alpha).fit(X, y)
        intercept, coef = original_units(pipe)
        if const is not None:
            assert coef[const] == 0.0
        Xnew = rng.normal(0.0, 1.0, (6, p)) * X.std(axis=0) + X.mean(axis=0)
        rcases.append({"name": name, "alpha": alpha, "X": [floats(r) for r in X], "y": floats(y), "intercept": intercept, "coef": coef,
                       "Xnew": [floats(r) for r in Xnew], "predictions": floats(pipe.predict(Xnew))})
    out["ridge"] = rcases

    # α selection alone (fitRidgeSelected) and calibrate (ridge and linear)
    def grouped(n_per, names, p, noise, rng):
        groups = np.repeat(names, n_per)
        n = len(groups)
        X = rng.normal(0.0, 1.0, (n, p)) * rng.uniform(0.2, 3.0, p)
        shift = {g: rng.normal(0, 0.6, p) for g in names}
        X = X + np.stack([shift[g] for g in groups])
        beta = rng.normal(0, 1, p) * (rng.random(p) < 0.6)
        y = 0.5 + 0.08 * (X @ beta) + rng.normal(0, noise, n)
        return X, y, groups

    sel = []
    for name, n_per, names, p, noise in [("5-groups", [1, 4, 4, 4, 4, 4], ["none", "noise", "blur", "gamma", "contrast", "scale"], 6, 0.05),
                                         ("3-groups-noisy", [5, 6, 4], ["a", "b", "c"], 9, 0.3),
                                         ("4-groups-n<p", [2, 2, 2, 2], ["a", "b", "c", "d"], 12, 0.05)]:
        X, y, groups = grouped(n_per, names, p, noise, rng)
        m = NestedRidge().fit(X, y, groups)
        _, errs = select_alpha(X, y, groups)
        intercept, coef = original_units(m.model_)
        Xnew = rng.normal(0, 1.5, (4, p))
        sel.append({"name": name, "X": [floats(r) for r in X], "y": floats(y), "groups": [str(g) for g in groups], "alpha": m.alpha_,
                    "innerMae": floats(errs), "intercept": intercept, "coef": coef, "Xnew": [floats(r) for r in Xnew], "predictions": floats(m.predict(Xnew))})
    # Every column constant: every α predicts the mean, an exact tie → the largest α.
    X = np.full((9, 3), 2.0)
    y = rng.normal(0.5, 0.1, 9)
    groups = np.repeat(["a", "b", "c"], 3)
    m = NestedRidge().fit(X, y, groups)
    sel.append({"name": "all-constant-tie", "X": [floats(r) for r in X], "y": floats(y), "groups": [str(g) for g in groups], "alpha": m.alpha_,
                "innerMae": floats(select_alpha(X, y, groups)[1]), "intercept": float(y.mean()), "coef": [0.0, 0.0, 0.0], "Xnew": [[2.0, 2.0, 2.0]], "predictions": [float(y.mean())]})
    assert m.alpha_ == max(ALPHAS)
    out["ridgeSelected"] = sel

    cal = []
    X, y, groups = grouped([1, 4, 4, 4, 4, 4], ["none", "noise", "blur", "gamma", "contrast", "scale"], 7, 0.04, rng)
    Xnew = rng.normal(0, 1.5, (5, 7))
    cal.append({"name": "ridge-6-groups", "kind": "ridge", "bounds": [0.0, 1.0], "X": [floats(r) for r in X], "y": floats(y), "groups": [str(g) for g in groups], **calibrate_ref("ridge", X, y, groups, [0.0, 1.0], Xnew)})
    # Tight bounds: some LOGO predictions and estimates are clipped.
    lo_b, hi_b = float(np.quantile(y, 0.2)), float(np.quantile(y, 0.85))
    c = calibrate_ref("ridge", X, y, groups, [lo_b, hi_b], Xnew)
    assert c["clippedRows"] > 0
    cal.append({"name": "ridge-tight-bounds", "kind": "ridge", "bounds": [lo_b, hi_b], "X": [floats(r) for r in X], "y": floats(y), "groups": [str(g) for g in groups], **c})
    # Two groups: every outer fold fits on one group, whose inner selection falls back to the largest α.
    X2, y2, g2 = grouped([6, 7], ["a", "b"], 4, 0.05, rng)
    cal.append({"name": "ridge-2-groups", "kind": "ridge", "bounds": [-10.0, 10.0], "X": [floats(r) for r in X2], "y": floats(y2), "groups": [str(g) for g in g2], **calibrate_ref("ridge", X2, y2, g2, [-10.0, 10.0], rng.normal(0, 1, (3, 4)))})
    # Linear on the first column.
    x = rng.uniform(0.5, 1.0, 21)
    y = np.clip(1.6 * x - 0.6 + rng.normal(0, 0.05, 21), 0, 1)
    X = np.stack([x], axis=1)
    groups = np.array(["none"] + [f for f in FAMILIES for _ in range(4)])
    c = calibrate_ref("linear", X, y, groups, [0.0, 1.0], np.array([[0.3], [0.7], [0.95], [1.2]]))
    cal.append({"name": "linear-21", "kind": "linear", "bounds": [0.0, 1.0], "X": [floats(r) for r in X], "y": floats(y), "groups": [str(g) for g in groups], **c})
    out["calibrate"] = cal
    return out


# ───────────── assemble ─────────────


def make_assemble(rng):
    # Four taps in three stages: the predictor averages each metric over a stage's taps.
    taps = ["enc1", "enc2", "bottleneck", "dec1"]
    stage = {"enc1": "encoder", "enc2": "encoder", "bottleneck": "bottleneck", "dec1": "decoder"}
    tap_noise = {"enc1": 1.0, "enc2": 1.5, "bottleneck": 0.4, "dec1": 2.0}
    # The fixture's own four strengths per family (the engine's defaults are three since issue 10;
    # assemble does not read the strengths, only the families).
    strengths = {"noise": [0.04, 0.08, 0.16, 0.32], "blur": [0.6, 1.2, 2.0, 3.2], "gamma": [0.5, 0.7, 1.5, 2.2],
                 "contrast": [0.7, 0.5, 0.35, 0.2], "scale": [0.6, 0.8, 1.25, 1.6]}
    copies = [("none", 0.0)] + [(f, s) for f in FAMILIES for s in strengths[f]]
    severity = {"none": [0.0], "noise": [0.08, 0.2, 0.45, 0.8], "blur": [0.05, 0.15, 0.35, 0.6], "gamma": [0.2, 0.1, 0.1, 0.3],
                "contrast": [0.1, 0.25, 0.45, 0.75], "scale": [0.15, 0.05, 0.05, 0.2]}
    sev = [severity["none"][0]] + [severity[f][i] for f in FAMILIES for i in range(4)]
    y = np.clip(0.86 - 0.95 * np.array(sev) + rng.normal(0, 0.02, len(sev)), 0.0, 1.0)

    def features(perf, rng):
        out = {}
        for t in taps:
            s = tap_noise[t]
            out[t] = {
                "roughness": float(np.exp(0.2 + 0.5 * (1 - perf) + rng.normal(0, 0.15 * s))),
                "knnConfidence": float(0.55 + 0.4 * perf + rng.normal(0, 0.04 * s)),
                "featureShift": float(np.exp(0.8 * (1 - perf) + rng.normal(0, 0.15 * s))),
                "knnDice": float(0.8 * perf + rng.normal(0, 0.03 * s)),
                "featureShiftFg": float(np.exp(1.1 * (1 - perf) + rng.normal(0, 0.2 * s))),
            }
        out["dec1"]["roughness"] = 1.0  # constant on every copy and split: its ρ is null
        return out

    def output(perf, rng):
        return {"maxProbability": float(0.7 + 0.25 * perf + rng.normal(0, 0.015)), "entropy": float(0.5 - 0.4 * perf + rng.normal(0, 0.02)),
                "foreground": float(max(0.0, 0.05 * perf + rng.normal(0, 0.004)))}

    measures = []
    for i, (f, s) in enumerate(copies):
        feats = features(y[i], rng)
        measures.append({"family": f, "strength": s, "performance": float(y[i]), "images": 8, "output": output(y[i], rng), "features": feats})
    # One null at the bottleneck (its stage's only tap): that stage's knnDice column is dropped, its ρ is null.
    measures[7]["features"]["bottleneck"]["knnDice"] = None
    # One null at enc1 (the encoder has two taps): the encoder's mean is then enc2's alone; enc1's ρ is null.
    measures[9]["features"]["enc1"]["featureShiftFg"] = None
    # Nothing predicted as foreground on one copy: the share is floored at 1e-4 before the log.
    measures[12]["output"]["foreground"] = 0.0

    split_truth = {"unlabelled": 0.62, "partial": 0.3, "degraded": 0.08}
    splits = []
    for name, perf in split_truth.items():
        feats = features(perf, rng)
        out = output(perf, rng)
        if name == "partial":
            feats["bottleneck"]["featureShift"] = None  # missing: a refit without this column
            out = None  # no output statistics: no baseline estimates, no foreground column
        splits.append({"name": name, "images": 5, "output": out, "features": feats})

    # ---- expected ----
    groups = np.array([f for f, _ in copies])
    indic = {}
    for t in taps:
        indic[t] = {}
        for m in LABEL_FREE_METRICS:
            xs = [c["features"][t][m] for c in measures]
            if any(v is None or not np.isfinite(v) for v in xs):
                indic[t][m] = None
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = scipy.stats.spearmanr(xs, y)[0]
            indic[t][m] = none_if_nan(r)

    def transformed(v, metric):
        if v is None or not np.isfinite(v):
            return None
        if metric in ("roughness", "featureShift", "featureShiftFg"):
            return math.log(v) if v > 0 else None
        return v

    # Columns: per stage, the mean of knnDice, log featureShift, log featureShiftFg over its taps
    # (where finite); then log(max(foreground share, 1e-4)).
    stage_taps = {st: [t for t in taps if stage[t] == st] for st in ("encoder", "bottleneck", "decoder")}
    all_cols = []
    for st, ts in stage_taps.items():
        for m in PREDICTOR_METRICS:
            shown = m if m == "knnDice" else f"log {m}"
            all_cols.append((f"{st}: {shown} (mean of {len(ts)} tap{'s' if len(ts) > 1 else ''})", ts, m))
    all_cols.append(("output: log foreground share", [], "foreground"))

    def col_value(item, col):
        _, ts, m = col
        if m == "foreground":
            o = item["output"]
            return None if o is None else math.log(max(o["foreground"], 1e-4))
        vals = [transformed(item["features"][t][m], m) for t in ts]
        vals = [v for v in vals if v is not None]
        return float(np.mean(vals)) if vals else None

    cols = [c for c in all_cols if all(col_value(m, c) is not None for m in measures)]
    X = np.array([[col_value(m, c) for c in cols] for m in measures])
    names = [c[0] for c in cols]
    assert "bottleneck: knnDice (mean of 1 tap)" not in names and len(cols) == len(all_cols) - 1

    def conformal_linear(xs, xnew):
        c = calibrate_ref("linear", xs, y, groups, [0.0, 1.0], np.array([xnew]))
        q = conformal_half_width(np.abs(y - np.array(c["logo"])))
        lo, hi = xs.min(axis=0), xs.max(axis=0)
        coef = np.array(c["model"]["coef"])
        ext = float(np.sum(np.abs(coef) * (np.maximum(0, np.array(xnew) - hi) + np.maximum(0, lo - np.array(xnew)))))
        v = c["new"]["value"][0]
        c["halfWidth"] = q
        return c, {"value": v, "low": float(np.clip(v - q - ext, 0, 1)), "high": float(np.clip(v + q + ext, 0, 1)), "halfWidth": q, "extrapolation": ext}

    def anchored_for(Xfit, xnew):
        c = calibrate_anchored_ref(Xfit, y, list(groups), 0, [0.0, 1.0], np.array([xnew]))
        return c, {"value": c["new"]["value"][0], "low": c["new"]["low"][0], "high": c["new"]["high"][0], "halfWidth": c["halfWidth"],
                   "extrapolation": c["new"]["extrapolation"][0]}

    predictors = {}
    fits = {}
    fits["features"], _ = anchored_for(X, X[0])
    for which in ("maxProbability", "entropy"):
        xs = np.array([[c["output"][which]] for c in measures])
        fits[which], _ = conformal_linear(xs, xs[0])
    for p, c in fits.items():
        rows = np.arange(len(y)) != 0 if p == "features" else np.ones(len(y), dtype=bool)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rho = scipy.stats.spearmanr(np.array(c["logo"])[rows], y[rows])[0]
        mae = float(np.abs(np.array(c["logo"])[rows] - y[rows]).mean())
        predictors[p] = {"logo": c["logo"], "lofoMae": mae, "lofoSpearman": none_if_nan(rho), "interval": c["halfWidth"], "model": c["model"]}
    predictors["features"]["inputs"] = names
    predictors["features"]["lofoSlope"] = fits["features"]["lofoSlope"]

    est = {}
    for s in splits:
        e = {"features": None, "maxProbability": None, "entropy": None}
        row = [col_value(s, c) for c in cols]
        keep = [j for j, v in enumerate(row) if v is not None]
        _, e["features"] = anchored_for(X[:, keep], [row[j] for j in keep])
        e["features"]["columns"] = [names[j] for j in keep]
        if s["output"] is not None:
            for which in ("maxProbability", "entropy"):
                xs = np.array([[c["output"][which]] for c in measures])
                _, e[which] = conformal_linear(xs, [s["output"][which]])
        est[s["name"]] = e
    # The unshifted copy's own inputs as a split: its measured performance, exactly.
    _, e0 = anchored_for(X, X[0])
    est["_anchor"] = {"value": e0["value"], "truth": float(y[0])}
    assert len(est["partial"]["features"]["columns"]) == len(cols) - 2

    return {
        "metric": "dice",
        "bounds": [0.0, 1.0],
        "taps": [{"name": t, "stage": stage[t]} for t in taps],
        "copies": measures,
        "splits": splits,
        "expected": {"indicativeness": indic, "columns": names, "predictors": predictors, "estimates": est},
    }


# ───────────── ours, final: de-shrinking and the normalised conformal interval (combine.ts) ─────────────
COMBINE_K_MAX, COMBINE_EPS, COMBINE_PER_DISTANCE = 2.0, 0.03, 0.1


def combine_k(pred, truth, y0):
    d = np.asarray(pred) - y0
    sxx = float(np.sum(d * d))
    if not sxx > 0:
        return 1.0
    return float(min(COMBINE_K_MAX, max(1.0, np.sum(d * (np.asarray(truth) - y0)) / sxx)))


def combine_ref(pred, truth, groups, dist, y0, new_m, new_d, new_ext):
    """NumPy re-statement of combine.ts calibrateCombined + estimateCombined (bounds [0, 1])."""
    pred, truth, dist = np.asarray(pred, float), np.asarray(truth, float), np.asarray(dist, float)
    groups = np.asarray(groups)
    raw = np.clip(pred, 0, 1)
    nested = raw.copy()
    for g in dict.fromkeys(groups.tolist()):
        tr = groups != g
        nested[~tr] = np.clip(y0 + combine_k(pred[tr], truth[tr], y0) * (pred[~tr] - y0), 0, 1)
    stretch = np.mean(np.abs(nested - truth)) < np.mean(np.abs(raw - truth))
    k = combine_k(pred, truth, y0) if stretch else 1.0
    lofo = nested if stretch else raw
    sigma = COMBINE_EPS + COMBINE_PER_DISTANCE * dist
    q = conformal_half_width(np.abs(truth - lofo) / sigma)
    v = np.clip(y0 + k * (np.asarray(new_m) - y0), 0, 1)
    half = q * (COMBINE_EPS + COMBINE_PER_DISTANCE * np.asarray(new_d)) + np.asarray(new_ext)
    return {"k": k, "q": q, "lofo": floats(lofo), "mae": float(np.mean(np.abs(lofo - truth))), "slope": float(np.polyfit(truth, lofo, 1)[0]),
            "new": {"m": floats(new_m), "d": floats(new_d), "ext": floats(new_ext), "value": floats(v),
                    "low": floats(np.clip(v - half, 0, 1)), "high": floats(np.clip(v + half, 0, 1))}}


def make_combined(rng):
    out = {"cases": [], "distance": None}
    y0 = 0.85
    for stretch in (0.6, 1.6):
        groups = [f"f{g}" for g in range(10) for _ in range(3)]
        truth = np.clip(y0 - rng.uniform(0, 0.7, 30), 0, 1)
        pred = y0 + stretch * (truth - y0) + rng.normal(0, 0.04, 30)
        dist = np.abs(truth - y0) * 3 + rng.uniform(0, 0.3, 30)
        new_m, new_d, new_ext = [y0, 0.7, 0.5, 0.2], [0.0, 0.5, 1.2, 2.5], [0.0, 0.0, 0.02, 0.1]
        c = combine_ref(pred, truth, groups, dist, y0, new_m, new_d, new_ext)
        out["cases"].append({"pred": floats(pred), "truth": floats(truth), "groups": groups, "dist": floats(dist), "y0": y0, **c})
    X = rng.normal(0, 1, (12, 4))
    X[:, 2] = 3.0  # a constant column: no sd, left out of the distance
    sd = X.std(axis=0)
    sd[2] = 0.0
    x = rng.normal(0, 1, 4)
    keep = sd > 0
    out["distance"] = {"X": [floats(r) for r in X], "x": floats(x), "sd": floats(sd),
                       "expected": float(np.mean(np.abs(x[keep] - X[0, keep]) / sd[keep]))}
    return out


# ───────────── the sampling-noise floor of ours (withoutLabels.ts noiseFloor) ─────────────
def make_noise_floor(rng):
    """Halvings of the unshifted images (their predictions) -> s; then per split (value, low, high, m) the shrunk estimate."""
    y0, n = 0.84, 32
    halves = [{"images": [16, 16], "predicted": floats(rng.normal(y0, 0.03, 2))} for _ in range(4)]
    halves.append({"images": [15, 17], "predicted": floats(rng.normal(y0, 0.03, 2))})
    s1 = float(np.mean([(h["predicted"][0] - h["predicted"][1]) ** 2 / (1 / h["images"][0] + 1 / h["images"][1]) for h in halves]))
    value = np.array([y0, y0 + 0.01, y0 - 0.03, y0 - 0.12, 0.30, 0.97, y0 + 0.2])
    below = rng.uniform(0.02, 0.2, value.size)
    above = rng.uniform(0.02, 0.2, value.size)
    low, high = np.clip(value - below, 0, 1), np.clip(value + above, 0, 1)
    m = np.array([24, 24, 8, 24, 40, 3, 24], float)
    tau = np.sqrt(s1 * (1 / m + 1 / n))
    delta = value - y0
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(delta != 0, np.maximum(0.0, 1 - tau**2 / np.where(delta != 0, delta, 1) ** 2), 0.0)
    v = np.clip(y0 + w * delta, 0, 1)
    lo = np.clip(v - np.hypot(value - low, tau), 0, 1)
    hi = np.clip(v + np.hypot(high - value, tau), 0, 1)
    return {"y0": y0, "n": n, "halves": halves, "s1": s1,
            "splits": {"value": floats(value), "low": floats(low), "high": floats(high), "m": floats(m)},
            "expected": {"sd": floats(tau), "shrink": floats(w), "value": floats(v), "low": floats(lo), "high": floats(hi)}}
