#!/usr/bin/python3
"""Reference values for the metric functions of src/engine/metrics/ (test/unit/metrics.test.ts).

Run with Debian's Python, which has numpy, scikit-learn 1.2, scikit-image and scipy:

    /usr/bin/python3 scripts/make_metric_references.py

Writes test/fixtures/metrics-reference.json. Everything is seeded: rerunning gives the same file.

Point sets are float32 (stored as base64 of little-endian float32 bytes, so the TypeScript side
reads exactly the values used here); the references are computed on their exact float64 copies
(`X.astype(np.float64)`), which is what the TypeScript code accumulates in:

- davies_bouldin_score (sklearn), PCA(n_components=3, svd_solver='full') ratios and components
  (also of a 160-wide set, for fitPca's Lanczos route),
- kNN via sklearn NearestNeighbors (brute and ball_tree must agree; leave-one-out through
  kneighbors(None)), and a tie-heavy set checked against a NumPy brute force with
  (distance, index) ordering,
- knnConfidence and featureShift computed in NumPy from those neighbours (METHOD.md §4), and
  knnConfidenceFg: the mean of the per-point confidence over the points predicted as a class
  other than 0 (over all points when none is: a case where every point is predicted 0),
- numpy.median, scipy.stats.spearmanr, skimage structural_similarity / peak_signal_noise_ratio,
- pooled Dice / pixel accuracy, and label pooling by a direct NumPy implementation of the
  METHOD.md §2 block rule (see src/engine/metrics/pooling.ts).
"""

import base64
import json
import math
import os
import sys

import numpy as np
import scipy
import scipy.stats
import skimage
import sklearn
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from sklearn.decomposition import PCA
from sklearn.metrics import davies_bouldin_score
from sklearn.neighbors import NearestNeighbors

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "metrics-reference.json")


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_json import b64, floats, ints  # noqa: E402,F401


def point_set(rng, n, dim, n_classes, spread, relu=False, offset=0.0, label_noise=0.2):
    labels = rng.integers(0, n_classes, n)
    means = rng.normal(0.0, spread, (n_classes, dim))
    X = rng.normal(0.0, 1.0, (n, dim)) + means[labels] + offset
    if relu:
        X = np.maximum(X, 0.0)
    X = X.astype(np.float32)
    flip = rng.random(n) < label_noise
    predicted = np.where(flip, rng.integers(0, n_classes, n), labels)
    return X, labels.astype(np.int32), predicted.astype(np.int32)


def brute_knn(Q, R, k, exclude_self):
    """Exact float64 brute force, (distance, index) order: the definition in knn.ts."""
    Q = Q.astype(np.float64)
    R = R.astype(np.float64)
    d = np.empty((len(Q), len(R)))
    for q0 in range(0, len(Q), 64):  # chunks keep the broadcast small
        d[q0:q0 + 64] = ((Q[q0:q0 + 64, None, :] - R[None, :, :]) ** 2).sum(axis=2)
    if exclude_self:
        np.fill_diagonal(d, np.inf)
    idx = np.empty((len(Q), k), dtype=np.int64)
    for q in range(len(Q)):
        order = np.lexsort((np.arange(len(R)), d[q]))
        idx[q] = order[:k]
    dist = np.sqrt(np.take_along_axis(d, idx, axis=1))
    return idx, dist


def sk_knn(Q, R, k, exclude_self):
    Q64 = Q.astype(np.float64)
    R64 = R.astype(np.float64)
    out = []
    for algorithm in ("brute", "ball_tree"):
        nn = NearestNeighbors(n_neighbors=k, algorithm=algorithm).fit(R64)
        dist, idx = nn.kneighbors(None if exclude_self else Q64, n_neighbors=k)
        out.append((idx, dist))
    (i1, d1), (i2, d2) = out
    assert np.array_equal(i1, i2), "sklearn brute and ball_tree disagree on the neighbours"
    assert np.allclose(d1, d2, rtol=1e-12, atol=1e-12)
    # ball_tree sums (a-b)^2 directly in float64: the definition used by knn.ts
    return i2, d2


def confidence_and_shift(train_labels, loo_idx, loo_dist, q_idx, q_dist, predicted, k):
    kth_train = loo_dist[:, k - 1]
    med = float(np.median(kth_train))
    conf = (train_labels[q_idx] == predicted[:, None]).mean(axis=1)
    shift = q_dist[:, k - 1] / med
    return {
        "medianKth": med,
        "confidencePerPoint": floats(conf),
        "confidence": float(conf.mean()),
        "featureShiftPerPoint": b64(shift, np.float64),
        "featureShift": float(np.median(shift)),
    }


def confidence_fg(train_labels, q_idx, predicted):
    """knnConfidenceFg (METHOD.md §4): mean confidence over the points predicted >= 1, else over all."""
    conf = (train_labels[q_idx] == predicted[:, None]).mean(axis=1)
    fg = predicted >= 1
    return {"value": float(conf[fg].mean() if fg.any() else conf.mean()), "foregroundPoints": int(fg.sum())}


def blocks(S, T):
    if T <= S:
        return [(i * S // T, (i + 1) * S // T) for i in range(T)]
    return [((2 * i + 1) * S // (2 * T), (2 * i + 1) * S // (2 * T) + 1) for i in range(T)]


def pool(mask, out_dims, C):
    per_axis = [blocks(S, T) for S, T in zip(mask.shape, out_dims)]
    out = np.empty(out_dims, dtype=np.int64)
    for idx in np.ndindex(*out_dims):
        sl = tuple(slice(*per_axis[a][i]) for a, i in enumerate(idx))
        block = mask[sl].ravel()
        block = block[block >= 0]
        out[idx] = -1 if block.size == 0 else int(np.argmax(np.bincount(block, minlength=C)))
    return out


def dice_scores(images, C):
    inter = np.zeros(C)
    ps = np.zeros(C)
    gs = np.zeros(C)
    correct = 0
    count = 0
    per_image = []
    for pred, gt in images:
        valid = gt >= 0
        p = pred[valid]
        g = gt[valid]
        ii = np.array([np.sum((p == c) & (g == c)) for c in range(C)], dtype=float)
        pp = np.array([np.sum(p == c) for c in range(C)], dtype=float)
        gg = np.array([np.sum(g == c) for c in range(C)], dtype=float)
        inter += ii
        ps += pp
        gs += gg
        correct += int(np.sum(p == g))
        count += int(p.size)
        d = [2 * ii[c] / (pp[c] + gg[c]) for c in range(1, C) if pp[c] + gg[c] > 0]
        per_image.append(float(np.mean(d)) if d else None)
    dice = [float(2 * inter[c] / (ps[c] + gs[c])) if ps[c] + gs[c] > 0 else None for c in range(C)]
    fg = [d for d in dice[1:] if d is not None]
    return {
        "dicePerClass": dice,
        "dice": float(np.mean(fg)) if fg else None,
        "accuracy": correct / count,
        "perImageDice": per_image,
    }


def main():
    rng = np.random.default_rng(20210707)
    ref = {
        "meta": {
            "generator": "scripts/make_metric_references.py",
            "numpy": np.__version__,
            "sklearn": sklearn.__version__,
            "skimage": skimage.__version__,
            "scipy": scipy.__version__,
            "python": sys.version.split()[0],
        }
    }

    # ── point sets ──
    sets = {}
    Xs, ys, ps = point_set(rng, 300, 16, 3, 1.5)
    sets["small"] = (Xs, ys, ps)
    Xl, yl, pl = point_set(rng, 2000, 64, 4, 0.6, relu=True, offset=0.3)
    sets["large"] = (Xl, yl, pl)
    # a shifted "test" split against the large train set (same class means would need the same
    # draw: take the large set's recipe with more noise instead)
    Xq = (Xl[rng.integers(0, 2000, 500)] + rng.normal(0.0, 0.5, (500, 64)).astype(np.float32) + 0.2).astype(np.float32)
    Xq = np.maximum(Xq, 0).astype(np.float32)
    pq = rng.integers(0, 4, 500).astype(np.int32)
    sets["largeQuery"] = (Xq, None, pq)
    # tie-heavy: values on a grid of 1/4, many exactly equal distances and duplicate points
    Xt = (np.round(rng.normal(0.0, 1.0, (400, 6)) * 2) / 4).astype(np.float32)
    Xt[50:60] = Xt[0]  # ten duplicates of point 0
    yt = rng.integers(0, 2, 400).astype(np.int32)
    sets["ties"] = (Xt, yt, yt.copy())

    ref["pointSets"] = {
        name: {
            "n": int(X.shape[0]),
            "dim": int(X.shape[1]),
            "points": b64(X, np.float32),
            "labels": ints(y) if y is not None else None,
            "predicted": ints(p),
        }
        for name, (X, y, p) in sets.items()
    }

    # ── Davies–Bouldin ──
    db = []
    for name in ("small", "large", "ties"):
        X, y, _ = sets[name]
        db.append({"set": name, "labels": "labels", "value": float(davies_bouldin_score(X.astype(np.float64), y))})
    # labels with gaps and unbalanced classes
    X, y, _ = sets["small"]
    y2 = np.where(y == 1, 7, np.where(y == 2, -3, 0)).astype(np.int32)
    y2[:5] = 42
    db.append({"set": "small", "labels": ints(y2), "value": float(davies_bouldin_score(X.astype(np.float64), y2))})
    ref["db"] = db

    # ── PCA ──
    pca = []
    for name in ("small", "large", "largeQuery"):
        X = sets[name][0].astype(np.float64)
        model = PCA(n_components=3, svd_solver="full").fit(X)
        pca.append({
            "set": name,
            "explainedVarianceRatio": floats(model.explained_variance_ratio_),
            "explainedVariance": floats(model.explained_variance_),
            "components": floats(model.components_),
            "mean": floats(model.mean_),
        })
    ref["pca"] = pca

    # ── kNN ──
    knn = []
    conf = []
    for train, query, k in (("small", None, 10), ("large", None, 10), ("large", "largeQuery", 10), ("small", None, 1), ("large", "largeQuery", 25)):
        R = sets[train][0]
        loo_idx, loo_dist = sk_knn(R, R, k, True)
        bi, _ = brute_knn(R, R, k, True)
        assert np.array_equal(bi, loo_idx), f"sklearn and the NumPy brute force disagree on {train} LOO"
        if query is None:
            q_idx, q_dist = loo_idx, loo_dist
        else:
            Q = sets[query][0]
            q_idx, q_dist = sk_knn(Q, R, k, False)
            bi, _ = brute_knn(Q, R, k, False)
            assert np.array_equal(bi, q_idx), f"sklearn and the NumPy brute force disagree on {query} vs {train}"
        knn.append({
            "query": query or train,
            "ref": train,
            "k": k,
            "excludeSelf": query is None,
            "indices": ints(q_idx),
            "distances": b64(q_dist, np.float64),
        })
        pred = sets[query or train][2]
        entry = {"train": train, "query": query or train, "k": k}
        entry.update(confidence_and_shift(sets[train][1], loo_idx, loo_dist, q_idx, q_dist, pred, k))
        entry["confidenceFg"] = confidence_fg(sets[train][1], q_idx, pred)
        # nothing predicted as foreground: the mean over all points
        entry["confidenceFgAllBackground"] = confidence_fg(sets[train][1], q_idx, np.zeros_like(pred))
        conf.append(entry)
    # ties: NumPy brute force with (distance, index) order is the reference
    Xt = sets["ties"][0]
    for k, excl in ((5, True), (12, False)):
        idx, dist = brute_knn(Xt, Xt, k, excl)
        knn.append({"query": "ties", "ref": "ties", "k": k, "excludeSelf": excl, "indices": ints(idx), "distances": b64(dist, np.float64)})
    ref["knn"] = knn
    ref["confidence"] = conf

    # ── median ──
    med = []
    for n in (1, 2, 7, 10, 101, 1000):
        v = rng.normal(0.0, 1.0, n)
        if n >= 10:
            v[: n // 3] = np.round(v[: n // 3], 1)  # duplicates
        med.append({"values": floats(v), "median": float(np.median(v))})
    med.append({"values": [3.0, 1.0, 2.0, 2.0], "median": float(np.median([3.0, 1.0, 2.0, 2.0]))})
    ref["median"] = med

    # ── Spearman ──
    sp = []
    for n, tie in ((20, False), (30, True), (8, True), (200, True)):
        x = rng.normal(0.0, 1.0, n)
        y = 0.5 * x + rng.normal(0.0, 1.0, n)
        if tie:
            x = np.round(x * 2) / 2
            y = np.round(y * 2) / 2
        sp.append({"x": floats(x), "y": floats(y), "rho": float(scipy.stats.spearmanr(x, y).correlation)})
    sp.append({"x": [1.0, 2.0, 3.0, 4.0], "y": [10.0, 9.0, 3.0, -1.0], "rho": float(scipy.stats.spearmanr([1, 2, 3, 4], [10, 9, 3, -1]).correlation)})
    sp.append({"x": [1.0, 1.0, 1.0], "y": [1.0, 2.0, 3.0], "rho": None})
    ref["spearman"] = sp

    # ── SSIM / PSNR ──
    ss = []
    for dims, R, channels in (((16, 16), 1.0, 1), ((23, 31), 255.0, 1), ((8, 9, 10), 1.0, 1), ((12, 13), 2.0, 2), ((7, 7), 1.0, 1)):
        shape = (channels,) + dims
        target = rng.random(shape) * R
        # smooth-ish structure so that SSIM is not near 0
        target = (target + np.roll(target, 1, axis=-1) + np.roll(target, 1, axis=-2)) / 3
        pred = target + rng.normal(0.0, 0.05 * R, shape)
        if channels == 1:
            s = structural_similarity(target[0], pred[0], data_range=R)
        else:
            s = structural_similarity(target, pred, data_range=R, channel_axis=0)
        p = peak_signal_noise_ratio(target, pred, data_range=R)
        ss.append({"dims": list(shape), "dataRange": R, "target": floats(target), "predicted": floats(pred), "ssim": float(s), "psnr": float(p)})
    ref["ssim"] = ss

    # ── Dice ──
    dice = []
    for C, n_img, shape in ((3, 3, (10, 12)), (2, 4, (9, 9)), (4, 2, (5, 6, 7))):
        images = []
        for _ in range(n_img):
            gt = rng.integers(0, C, shape)
            pred = np.where(rng.random(shape) < 0.7, gt, rng.integers(0, C, shape))
            images.append((pred, gt))
        if C == 3:
            images[0][1][0:2, 0:3] = -1  # unlabelled pixels
            images[1][0][images[1][0] == 2] = 1  # class 2 never predicted in image 1
        entry = {"numClasses": C, "images": [{"predicted": ints(p), "groundTruth": ints(g)} for p, g in images]}
        entry.update(dice_scores(images, C))
        dice.append(entry)
    # a class absent from both prediction and ground truth everywhere
    gt = rng.integers(0, 2, (6, 6))
    pred = np.where(rng.random((6, 6)) < 0.8, gt, 1 - gt)
    entry = {"numClasses": 3, "images": [{"predicted": ints(pred), "groundTruth": ints(gt)}]}
    entry.update(dice_scores([(pred, gt)], 3))
    dice.append(entry)
    ref["dice"] = dice

    # ── pooling ──
    pooling = []
    cases = [
        ((16, 16), (8, 8), 3),
        ((17, 23), (5, 7), 4),
        ((8, 8), (16, 16), 3),
        ((10, 7), (4, 14), 3),
        ((9, 10, 11), (4, 5, 3), 3),
        ((6, 9), (6, 9), 5),
        ((5, 5), (2, 2), 2),
        ((12,), (5,), 3),
        ((7, 7), (3, 11), 2),
    ]
    for in_dims, out_dims, C in cases:
        mask = rng.integers(0, C, in_dims)
        # some structure: a block of one class, so that majorities are not all noise
        sl = tuple(slice(0, max(1, d // 2)) for d in in_dims)
        mask[sl] = C - 1
        if in_dims == (17, 23):
            mask[3:6, 3:9] = -1  # unlabelled region
        if in_dims == (5, 5):
            mask = np.array([[0, 1, 0, 1, 0], [1, 0, 1, 0, 1], [0, 1, 0, 1, 0], [1, 0, 1, 0, 1], [0, 1, 0, 1, 0]])  # 2x2 blocks tie
        pooling.append({"inDims": list(in_dims), "outDims": list(out_dims), "numClasses": C, "mask": ints(mask), "expected": ints(pool(mask, out_dims, C))})
    # predictions: argmax of logits then pooled
    logits = rng.normal(0.0, 1.0, (3, 10, 10)).astype(np.float32)
    pred = np.argmax(logits, axis=0)
    pooling.append({
        "inDims": [10, 10], "outDims": [4, 4], "numClasses": 3, "logits": b64(logits, np.float32),
        "mask": ints(pred), "expected": ints(pool(pred, (4, 4), 3)),
    })
    ref["pooling"] = pooling

    # ── PCA of a wide set: 160 channels, above fitPca's LANCZOS_MIN_DIM (128), so the leading
    # components come from its Lanczos route. A generator of its own, so that every draw above
    # stays as it was.
    rw = np.random.default_rng(20261205)
    Xw, yw, pw = point_set(rw, 1000, 160, 4, 1.2, relu=True, offset=0.2)
    ref["pointSets"]["wide"] = {
        "n": int(Xw.shape[0]),
        "dim": int(Xw.shape[1]),
        "points": b64(Xw, np.float32),
        "labels": ints(yw),
        "predicted": ints(pw),
    }
    model = PCA(n_components=3, svd_solver="full").fit(Xw.astype(np.float64))
    ref["pca"].append({
        "set": "wide",
        "explainedVarianceRatio": floats(model.explained_variance_ratio_),
        "explainedVariance": floats(model.explained_variance_),
        "components": floats(model.components_),
        "mean": floats(model.mean_),
    })

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(ref, f, separators=(",", ":"))
    print(f"wrote {OUT} ({os.path.getsize(OUT) / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
