#!/usr/bin/python3
"""The plain researcher's pipeline: the same metrics as `unet-lens analyze`, the way one would
compute them today with PyTorch forward hooks + NumPy + scikit-learn. It is the baseline that
bench/analyze.bench.mjs times against our CLI in the same invocation.

    /usr/bin/python3 bench/python_pipeline.py --arch example|bench --weights model.pt \
        --data unetlens.json --out metrics.json [--max-points 4096] [--k 10] [--seed 0] \
        [--threads 2] [--batch 4] [--sklearn-threads 0]

Same model (the PyTorch class + state_dict that the ONNX file was exported from), same dataset
file, same settings (maxPoints, k, seed, batch of 4 images). What it does, per METHOD.md §1-§4:

- Taps: forward hooks on every nn.ReLU, nn.MaxPool2d, nn.ConvTranspose2d and on the final 1x1
  conv (`head`, the logits), in module order — the same taps as `auto` on the exported ONNX
  (`enc1.relu2` <-> `/enc1/relu2/Relu_output_0`, `pool1` <-> `/pool1/MaxPool_output_0`,
  `up1` <-> `/up1/ConvTranspose_output_0`, `head` <-> `logits`).
- Forward (streaming, batch by batch, like the engine, so that memory stays bounded): PNGs read
  with PIL, x = (raw*scale - mean)/std; per tap the points (N*h*w x C), area-pooled labels
  (np.add.reduceat block counts, majority, ties to the lower class) of the mask and of the
  argmax prediction, the previous tap's vector at the same input location (first tap: the
  r x r input patch, r = min(9, receptive field)), and a streaming stratified sample: every
  point gets a uniform key, per stratum the maxPoints smallest keys are kept (np.argpartition);
  at the end quotas proportional to the stratum counts (largest remainder). Dice pooled over
  the split.
- Metrics, per split (train first) and tap: sklearn davies_bouldin_score (db); KMeans(K,
  n_init=10, random_state=seed) on the tap's points + davies_bouldin_score of the previous-tap
  points grouped by its labels (roughness); NearestNeighbors(n_neighbors=k) (default algorithm)
  fitted on train, kneighbors(None) on train (leave-one-out) and kneighbors(points) on other
  splits: knnConfidence (share of train ground-truth labels equal to the point's predicted
  label) and featureShift (median of d_k / median train LOO d_k); PCA(3) fitted on train,
  every split projected (at most 1000 rows kept, like the engine's results file).
- Maps (as the engine's `analysis.mapsPerSplit`, default 3): for the first 3 images of every
  split, knnConfidence at every location of every tap, or for a tap wider than the engine's
  `analysis.mapGrid` (default 64) at the locations holding its grid cells' centres, as the
  engine does (kneighbors against the train sample; on train a location that is itself a
  reference point leaves itself out), from the activations kept during the forward pass.

Prints one JSON object on stdout (and writes it to --out): timings (importMs, loadMs,
forwardMs, metricsMs, mapsMs and the metric stages dbMs/roughnessMs/knnMs/pcaMs, totalMs), maxRssMB
(resource.getrusage: the peak of this process), the metrics and the performance.
"""
import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from PIL import Image  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.metrics import davies_bouldin_score  # noqa: E402
from sklearn.neighbors import NearestNeighbors  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
T_IMPORTED = time.perf_counter()

PCA_ROWS = 1000
MAX_FIRST_PATCH = 9
IMG_EXT = (".png", ".jpg", ".jpeg", ".tif", ".tiff")


def ms(t):
    return round(t * 1000.0)


# ------------------------------------------------------------------------------------ model
def build_model(arch, weights):
    if arch == "example":
        from example_unet import ExampleUNet as Net
    elif arch == "bench":
        from make_bench_model import BenchUNet as Net
    else:
        raise SystemExit("unknown --arch %s" % arch)
    net = Net()
    net.load_state_dict(torch.load(weights, map_location="cpu"))
    net.eval()
    return net


def tap_modules(net):
    """Module paths of the taps, in module (= forward) order, and the first conv's kernel."""
    names = []
    last_conv = None
    first_kernel = None
    for name, m in net.named_modules():
        if isinstance(m, nn.Conv2d) and first_kernel is None:
            first_kernel = m.kernel_size[0]
        if isinstance(m, (nn.ReLU, nn.MaxPool2d, nn.ConvTranspose2d)):
            names.append(name)
        if isinstance(m, nn.Conv2d):
            last_conv = name
    names.append(last_conv)  # the logits
    return names, first_kernel


# ------------------------------------------------------------------------------------ data
def list_split(base, spec):
    img_dir = os.path.join(base, spec["images"])
    files = sorted(f for f in os.listdir(img_dir) if f.lower().endswith(IMG_EXT))
    lab_dir = os.path.join(base, spec["labels"]) if "labels" in spec else None
    return [(os.path.join(img_dir, f), os.path.join(lab_dir, f) if lab_dir else None) for f in files]


def block_starts(n_in, n_out):
    return np.array([(i * n_in) // n_out for i in range(n_out)])


def pool_labels(lab, h, w, ncls):
    """(N, H0, W0) int -> (N, h, w): majority class of each area block, ties to the lower class."""
    N, H0, W0 = lab.shape
    if (h, w) == (H0, W0):
        return lab
    onehot = (lab[:, None] == np.arange(ncls)[None, :, None, None]).astype(np.int32)
    cnt = np.add.reduceat(onehot, block_starts(H0, h), axis=2)
    cnt = np.add.reduceat(cnt, block_starts(W0, w), axis=3)
    return cnt.argmax(axis=1)


def centre_index(n_out, n_in):
    """For each of n_out cells the index (of n_in) of the cell that holds its centre."""
    return np.array([((2 * i + 1) * n_in) // (2 * n_out) for i in range(n_out)])


def map_size(h, w, grid):
    """The engine's map grid of an h x w tap (points.ts mapSize): the longer side at most `grid`, the aspect kept (JavaScript's Math.round)."""
    m = max(h, w)
    if m <= grid:
        return h, w
    return max(1, int(np.floor(h * grid / m + 0.5))), max(1, int(np.floor(w * grid / m + 0.5)))


def input_patches(x, h, w, r):
    """(N, C0, H0, W0) -> (N*h*w, r*r*C0): r x r input patch centred on each cell, zero outside."""
    N, C0, H0, W0 = x.shape
    half = r // 2
    pad = np.zeros((N, C0, H0 + 2 * r, W0 + 2 * r), dtype=np.float32)
    pad[:, :, r:r + H0, r:r + W0] = x
    rows = centre_index(h, H0)[:, None] - half + np.arange(r)[None, :] + r
    cols = centre_index(w, W0)[:, None] - half + np.arange(r)[None, :] + r
    P = pad[:, :, rows[:, None, :, None], cols[None, :, None, :]]  # N, C0, h, w, r, r
    return np.ascontiguousarray(P.transpose(0, 2, 3, 4, 5, 1).reshape(N * h * w, r * r * C0))


class Sampler:
    """Streaming stratified sample without replacement: per stratum the M smallest random keys."""

    def __init__(self, max_points, n_strata, rng):
        self.M = max_points
        self.rng = rng
        self.seen = 0
        self.count = np.zeros(n_strata, dtype=np.int64)
        self.kept = [None] * n_strata  # (keys, seq, rows, gt, pred)

    def add(self, rows_fn, n, strata, gt, pred):
        keys = self.rng.random(n)
        seq = np.arange(self.seen, self.seen + n)
        self.seen += n
        for s in range(len(self.count)):
            idx = np.nonzero(strata == s)[0]
            self.count[s] += len(idx)
            if len(idx) == 0:
                continue
            old = self.kept[s]
            if old is not None and len(old[0]) >= self.M:
                idx = idx[keys[idx] < old[0].max()]  # only points that can enter the sample
                if len(idx) == 0:
                    continue
            new = (keys[idx], seq[idx], rows_fn(idx), gt[idx], pred[idx])
            if old is not None:
                new = tuple(np.concatenate([a, b]) for a, b in zip(old, new))
            if len(new[0]) > self.M:
                keep = np.argpartition(new[0], self.M - 1)[:self.M]
                new = tuple(a[keep] for a in new)
            self.kept[s] = new

    def finish(self):
        T = int(self.count.sum())
        if T <= self.M:
            q = self.count.copy()
        else:
            q = (self.M * self.count) // T
            rem = (self.M * self.count) % T
            for s in sorted(range(len(q)), key=lambda s: (-rem[s], s))[: self.M - int(q.sum())]:
                q[s] += 1
        parts = []
        for s, k in enumerate(self.kept):
            if k is None or q[s] == 0:
                continue
            order = np.lexsort((k[1], k[0]))[: q[s]]
            parts.append(tuple(a[order] for a in k))
        seq = np.concatenate([p[1] for p in parts])
        o = np.argsort(seq, kind="stable")  # arrival order
        rows, gt, pred = (np.concatenate([p[i] for p in parts])[o] for i in (2, 3, 4))
        return rows, gt, pred, seq[o]


# ------------------------------------------------------------------------------------ main
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-points", type=int, default=None)
    ap.add_argument("--k", type=int, default=None)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--maps", type=int, default=None, help="images per split with a spatial knnConfidence map")
    ap.add_argument("--sklearn-threads", type=int, default=0,
                    help="OpenMP/BLAS threads for the metrics stage (threadpoolctl); 0: the libraries' default")
    a = ap.parse_args()

    t_load = time.perf_counter()
    torch.set_num_threads(a.threads)
    with open(a.data) as f:
        ds = json.load(f)
    base = os.path.dirname(os.path.abspath(a.data))
    an = ds.get("analysis", {})
    M = a.max_points or an.get("maxPoints", 4096)
    K = a.k or an.get("k", 10)
    seed = a.seed if a.seed is not None else an.get("seed", 0)
    maps = a.maps if a.maps is not None else an.get("mapsPerSplit", 3)
    grid = an.get("mapGrid", 64)  # the engine's analysis.mapGrid: each map measured on a grid of at most grid x grid
    ncls = len(ds["classes"])
    inp = ds["input"]
    scale = inp.get("scale", 1.0)
    mean = np.array(inp.get("mean", [0.0]), dtype=np.float64)[:, None, None]
    std = np.array(inp.get("std", [1.0]), dtype=np.float64)[:, None, None]
    splits = sorted(ds["splits"].items(), key=lambda kv: kv[0] != "train")
    files = {name: list_split(base, spec) for name, spec in splits}

    net = build_model(a.arch, a.weights)
    taps, first_kernel = tap_modules(net)
    store = {}
    mods = dict(net.named_modules())
    for name in taps:
        mods[name].register_forward_hook(lambda m, i, o, name=name: store.__setitem__(name, o))
    first_side = min(MAX_FIRST_PATCH, first_kernel)
    loadMs = ms(time.perf_counter() - t_load)

    forwardMs = metricsMs = mapsMs = 0
    stage = {"dbMs": 0.0, "roughnessMs": 0.0, "knnMs": 0.0, "pcaMs": 0.0}
    results = {"taps": taps, "splits": [], "metrics": {}, "pca": {t: {"points": {}} for t in taps}, "maps": []}
    ref = {}  # per tap: NearestNeighbors, train gt, median LOO d_k, PCA
    for split_index, (sname, _spec) in enumerate(splits):
        t0 = time.perf_counter()
        items = files[sname]
        labeled = items[0][1] is not None
        rng = np.random.default_rng([seed, split_index])
        samplers = [Sampler(M, ncls, rng) for _ in taps]
        kept = []  # (image index, {tap: (points, pooled prediction)}) of the first `maps` images
        inter = np.zeros(ncls)
        psum = np.zeros(ncls)
        tsum = np.zeros(ncls)
        correct = total = 0
        for s in range(0, len(items), a.batch):
            chunk = items[s:s + a.batch]
            raw = np.stack([np.asarray(Image.open(p), dtype=np.float64) for p, _ in chunk])[:, None]
            x = ((raw * scale - mean) / std).astype(np.float32)
            gt_full = np.stack([np.asarray(Image.open(l)).astype(np.int64) for _, l in chunk]) if labeled else None
            with torch.no_grad():
                logits = net(torch.from_numpy(x)).numpy()
            pred_full = logits.argmax(axis=1)
            if labeled:
                for c in range(ncls):
                    p, g = pred_full == c, gt_full == c
                    inter[c] += np.sum(p & g)
                    psum[c] += p.sum()
                    tsum[c] += g.sum()
                correct += int(np.sum(pred_full == gt_full))
                total += gt_full.size
            N = x.shape[0]
            for b in range(N):
                if s + b < maps:
                    kept.append((s + b, {}))
            prev = None
            for ti, name in enumerate(taps):
                Ft = store[name].numpy()
                _, C, h, w = Ft.shape
                pts = Ft.transpose(0, 2, 3, 1).reshape(-1, C)
                pred = pool_labels(pred_full, h, w, ncls).reshape(-1)
                gt = pool_labels(gt_full, h, w, ncls).reshape(-1) if labeled else np.full(pred.shape, -1)
                if prev is None:
                    Q = input_patches(x, h, w, first_side)
                else:
                    Fp, hp, wp = prev
                    loc = (centre_index(h, hp)[:, None] * wp + centre_index(w, wp)[None, :]).reshape(-1)
                    Q = Fp.reshape(N, hp * wp, -1)[:, loc].reshape(N * h * w, -1)
                strata = gt if labeled else pred

                def rows_fn(idx, pts=pts, Q=Q):
                    return np.concatenate([pts[idx], Q[idx]], axis=1)

                samplers[ti].add(rows_fn, pts.shape[0], strata, gt, pred)
                for img, d in kept:
                    if s <= img < s + N:
                        L = h * w
                        d[name] = (pts[(img - s) * L:(img - s + 1) * L].copy(), pred[(img - s) * L:(img - s + 1) * L].copy(), h, w)
                prev = (pts, h, w)
        forwardMs += ms(time.perf_counter() - t0)

        t1 = time.perf_counter()
        limits = threadpool_limits(limits=a.sklearn_threads) if a.sklearn_threads > 0 else None
        perf = None
        if labeled:
            dice = [float(2 * inter[c] / (psum[c] + tsum[c])) if psum[c] + tsum[c] > 0 else None for c in range(ncls)]
            fg = [d for d in dice[1:] if d is not None]
            perf = {"dice": float(np.mean(fg)) if fg else None, "dicePerClass": dice, "accuracy": correct / total}
        results["splits"].append({"name": sname, "labeled": labeled, "images": len(items), "performance": perf})
        results["metrics"][sname] = {}
        ref_seq = {}
        for ti, name in enumerate(taps):
            rows, gt, pred, seq = samplers[ti].finish()
            ref_seq[name] = seq
            C = store[name].shape[1]
            P, Q = rows[:, :C], rows[:, C:]
            m = {"db": None, "roughness": None, "knnConfidence": None, "featureShift": None, "points": int(len(P))}
            tt = time.perf_counter()
            if labeled and len(np.unique(gt)) >= 2:
                m["db"] = float(davies_bouldin_score(P, gt))
            tr = time.perf_counter()
            stage["dbMs"] += tr - tt
            lab = KMeans(n_clusters=ncls, n_init=10, random_state=seed).fit(P).labels_
            if len(np.unique(lab)) >= 2:
                m["roughness"] = float(davies_bouldin_score(Q, lab))
            tk = time.perf_counter()
            stage["roughnessMs"] += tk - tr
            if sname == "train":
                nbrs = NearestNeighbors(n_neighbors=K).fit(P)
                dist, ind = nbrs.kneighbors(None)  # leave-one-out
                med = float(np.median(dist[:, -1]))
                ref[name] = (nbrs, gt, med)
            else:
                nbrs, _, med = ref[name][:3]
                dist, ind = nbrs.kneighbors(P)
            tgt = ref[name][1]
            if ncls >= 2 and np.all(tgt >= 0):
                m["knnConfidence"] = float(np.mean(tgt[ind] == pred[:, None]))
            if med > 0:
                m["featureShift"] = float(np.median(dist[:, -1] / med))
            tp = time.perf_counter()
            stage["knnMs"] += tp - tk
            if sname == "train":
                pca = PCA(n_components=min(3, C)).fit(P)
                ref[name] = ref[name] + (pca,)
                results["pca"][name]["explainedVariance"] = [float(v) for v in pca.explained_variance_ratio_]
            proj = ref[name][3].transform(P)
            stride = max(1, math.ceil(len(P) / PCA_ROWS))
            labs = gt if labeled else pred
            results["pca"][name]["points"][sname] = [
                [round(float(v), 4) for v in proj[i]] + [int(labs[i])] for i in range(0, len(P), stride)]
            stage["pcaMs"] += time.perf_counter() - tp
            results["metrics"][sname][name] = m
        if limits is not None:
            limits.restore_original_limits()
        metricsMs += ms(time.perf_counter() - t1)

        # Spatial knnConfidence maps of the first `maps` images: every tap, on the engine's grid
        # (analysis.mapGrid, default 64: a tap wider than that is measured at the locations
        # holding the grid cells' centres; every location of a narrower one).
        t2 = time.perf_counter()
        limits = threadpool_limits(limits=a.sklearn_threads) if a.sklearn_threads > 0 else None
        for img, d in kept:
            conf_maps = {}
            for name in taps:
                pts_all, pred_all, h, w = d[name]
                gh, gw = map_size(h, w, grid)
                cells = (centre_index(gh, h)[:, None] * w + centre_index(gw, w)[None, :]).reshape(-1)
                pts, pred = pts_all[cells], pred_all[cells]
                nbrs, tgt = ref[name][0], ref[name][1]
                if sname == "train":  # a location that is a reference point leaves itself out
                    L = len(pts_all)
                    own_all = np.full(L, -1)
                    seq = ref_seq[name]
                    sel = np.nonzero((seq >= img * L) & (seq < (img + 1) * L))[0]
                    own_all[seq[sel] - img * L] = sel
                    own = own_all[cells]
                    Lq = len(pts)
                    _, ind = nbrs.kneighbors(pts, n_neighbors=K + 1)
                    drop = np.where((ind == own[:, None]).any(1), np.argmax(ind == own[:, None], axis=1), K)
                    keep = np.ones(ind.shape, dtype=bool)
                    keep[np.arange(Lq), drop] = False
                    ind = ind[keep].reshape(Lq, K)
                else:
                    _, ind = nbrs.kneighbors(pts)
                conf_maps[name] = float(np.mean(tgt[ind] == pred[:, None]))
            results["maps"].append({"split": sname, "image": img, "meanConfidence": conf_maps})
        if limits is not None:
            limits.restore_original_limits()
        mapsMs += ms(time.perf_counter() - t2)

    t_end = time.perf_counter()
    results["settings"] = {"maxPoints": M, "k": K, "seed": seed, "threads": a.threads, "batch": a.batch,
                           "sklearnThreads": a.sklearn_threads or "default"}
    results["timings"] = {
        "importMs": ms(T_IMPORTED - T_START), "loadMs": loadMs, "forwardMs": forwardMs, "metricsMs": metricsMs, "mapsMs": mapsMs,
        **{k: ms(v) for k, v in stage.items()}, "totalMs": ms(t_end - T_START),
    }
    results["maxRssMB"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)
    results["versions"] = {"torch": torch.__version__, "numpy": np.__version__,
                           "sklearn": __import__("sklearn").__version__}
    with open(a.out, "w") as f:
        json.dump(results, f)
    print(json.dumps({"timings": results["timings"], "maxRssMB": results["maxRssMB"]}))


if __name__ == "__main__":
    main()
