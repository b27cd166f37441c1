#!/usr/bin/python3
"""Independent end-to-end reference of the method (METHOD.md §1-§4) on a small subset of the
bundled example (examples/synthetic/), for the TypeScript engine's tests to compare against.

Run with Debian's Python (torch 1.13, onnx, numpy, scikit-learn 1.2, scipy, PIL), from anywhere:

    /usr/bin/python3 scripts/make_reference.py

Writes
    test/fixtures/reference/data/{train,test,siteB}/{images,masks}/   (3 train, 2 test, 2 siteB images)
    test/fixtures/reference/unetlens.json                              (maxPoints 100000: no sampling)
    test/fixtures/reference/example-reference.json                     (the numbers)
and prints a summary. Deterministic: a re-run gives the same files (timings are not stored).

Nothing here is taken from the TypeScript engine; every step is computed from the definitions:

- Model: examples/synthetic/model.pt loaded into scripts/example_unet.py's ExampleUNet (float32, CPU);
  its state_dict is checked to equal the initializers of examples/synthetic/model.onnx.
- Input: x = (raw * scale - mean) / std computed in float64 from the 8-bit PNG, then rounded to
  float32 (64x64 already: no resize).
- Taps: the `auto` rule of METHOD §1 applied to the ONNX graph (every Relu fed by a Conv /
  ConvTranspose, a Conv / ConvTranspose with no activation after it, every MaxPool / AveragePool /
  Resize / Upsample output, every ConvTranspose output, and the graph output), in node order.
  Each ONNX value is mapped to the PyTorch module that produces it (`/enc1/relu2/Relu_output_0` ->
  `enc1.relu2`, the output `logits` -> `head`) and captured with forward hooks.
- stage: by the tap's own spatial size H: taps before the first tap at the lowest resolution are
  `encoder`, taps at the lowest resolution are `bottleneck`, taps after the last one are `decoder`.
  A pooling output is judged at its own (new, lower) resolution: pool1 (32x32) is `encoder`, pool2
  (16x16, the lowest) is `bottleneck`; an up-sampling output likewise (up2 at 32x32 is `decoder`).
- level: log2(H0 / H), i.e. the net number of down-samplings at that tap (decoder taps count down
  again: up2 -> 1, up1 -> 0).
- receptiveField: the METHOD §1 formula propagated over the ONNX graph (conv/pool: r' = r+(k-1)*d*j,
  j' = j*s; concat: largest r). METHOD's "up-sampling by f: j' = j/f, r' = r (plus the kernel of a
  transposed conv)" is read as the exact field of a ConvTranspose (kernel k, stride s):
  j' = j/s, r' = r + (ceil(k/s)-1)*j (ceil(k/s) input positions feed one output location; for the
  2x2 stride-2 up-convolutions here r' = r), which is what the gradient probe confirms at up2/up1.
  The literal alternative r' = r + (k-1)*j' is given as `receptiveFieldLiteralTranspose` (it
  over-states by 2-3 px here). `rfByGradient` is measured independently: the network
  with every weight 1, every bias 0 and MaxPool replaced by AvgPool (same kernel/stride) in float64,
  on a 256x256 input of ones; the gradient of the channel sum at one tap location w.r.t. the input;
  size = extent of its non-zero support (maximum over the 4 location parities next to the centre),
  jump = shift of the support start between tap locations 8 apart, divided by 8. Known difference:
  at dec1.relu1 the probe finds 44 (sizeMin 40) where the formula gives 42: after two up-samplings
  the locations are no longer a regular lattice of step j (steps alternate 4,0,...), which the
  formula cannot express.
- Points: per tap and split, every location of every image (image by image, row-major), the float64
  copy of the float32 C-vector. Labels: the mask block-pooled to the tap's H x W, location (i, j)
  owning rows [floor(i*H0/H), floor((i+1)*H0/H)) (columns likewise; at least one pixel), majority
  class, ties to the lower class. Predicted labels: argmax over the logits (ties to the lower class)
  at full resolution, pooled the same way.
- db: sklearn.metrics.davies_bouldin_score(points, ground-truth labels); null with < 2 classes.
- PCA: sklearn PCA(n_components=min(3, C), svd_solver='full') fitted on the train points
  (svd_solver is fixed because 'auto' would pick the randomized solver for these shapes).
- kNN: exact float64 brute force in NumPy. Squared distances are accumulated channel by channel in
  channel order (acc += (q_c - t_c)^2), i.e. a sequential sum. Neighbours are ordered by (squared
  distance, train index) - the order np.argsort(kind='stable') gives - and on train the point itself
  is excluded (leave-one-out by index, so duplicates of it still count as neighbours).
  The set of the first k is taken as: all train points strictly closer than the k-th distance, then
  the tied ones at the k-th distance in increasing train index.
  knnConfidence = mean over the split's points of (# of the k neighbours whose TRAIN ground-truth
  label == the point's predicted label) / k.
  featureShift = median over the split's points of d_k(point) / median over train of LOO d_k
  (Euclidean distances). null if that train median is 0.
  For comparison, sklearn.neighbors.NearestNeighbors (default algorithm; on train kneighbors(None),
  its own leave-one-out) is run as well and its knnConfidence is reported as `knnConfidenceSklearn`.
  knnConfidenceFg = the same per-point shares averaged over the points whose predicted label is
  >= 1 only (over all points when there is none); its near-tie bounds are the per-point bounds
  averaged over the same points.
- Ties: per split and tap, `tiesAtK` reports how many query points have an exact tie at the k-th
  distance (>= 2 candidates at d_k), how many have a tie group straddling the k-th position (more
  tied candidates than remaining slots: the chosen set depends on the tie rule), how many of those
  have a label share that depends on the rule, the largest tie group, and the interval
  [knnConfidenceMin, knnConfidenceMax] that ANY tie rule yields (plus the value with ties averaged:
  each tied candidate weighted slots/n_tied). `nearTiesAtK` does the same for candidates within
  1e-4*d_k + 1e-5 of the k-th Euclidean distance (what float32 differences between runtimes can
  reorder).
- roughness: labels yhat = sklearn KMeans(n_clusters=#classes, n_init=10, random_state=0) of the
  split's points at tap l; roughness = davies_bouldin_score of the previous tap's points at the same
  locations grouped by yhat. The l-1 location of l-location i is i' = floor(c*H'/H0) with
  c = (i+0.5)*H0/H (columns likewise). For the first tap, the "previous tap" is the model input
  (preprocessed x) in the r x r patch (r = its receptive-field size) centred on input pixel
  floor(c): rows floor(c)-floor(r/2) ... floor(c)-floor(r/2)+r-1, zero outside the image, flattened
  channel-last (patch row-major, then channel). null if k-means gives < 2 clusters.
  `kmeansClusterSizes[split][tap]` lists the cluster sizes, largest first. k-means has many
  near-equal optima on these point clouds: with random_state 0..5 sklearn itself lands on
  partitions that differ by a few to ~100 points in most taps, so `roughnessAcrossSeeds` gives the
  roughness and cluster sizes for each of those seeds and their min/max - a tolerance band for an
  engine whose k-means++ draws differ from sklearn's.
- Performance (labelled splits): Dice per class pooled over the split (2*sum|P&G| / (sum|P|+sum|G|)),
  `dice` = mean over foreground classes, pixel `accuracy`. For siteB the hidden masks of the example
  (examples/synthetic/data/siteB/masks_hidden, not copied to the fixture) give `performanceHidden`.
- Medians are numpy.median.
"""

import json
import math
import os
import shutil
import sys
import time

import numpy as np
import onnx
import onnx.numpy_helper
import scipy
import sklearn
import torch
import torch.nn as nn
from PIL import Image
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import davies_bouldin_score
from sklearn.neighbors import NearestNeighbors

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from example_unet import load_example_model  # noqa: E402

EX = os.path.join(ROOT, "examples", "synthetic")
OUT = os.path.join(ROOT, "test", "fixtures", "reference")
SUBSET = {"train": 3, "test": 2, "siteB": 2}
K = 10
SEED = 0
MAX_POINTS = 100000
NEAR_REL, NEAR_ABS = 1e-4, 1e-5
ROUGHNESS_SEEDS = [0, 1, 2, 3, 4, 5]


# ----------------------------------------------------------------------------------------------
# 1. fixture dataset

def make_fixture():
    with open(os.path.join(EX, "unetlens.json")) as f:
        ex = json.load(f)
    splits = {}
    files = {}
    for split, n in SUBSET.items():
        src = ex["splits"][split]
        names = sorted(os.listdir(os.path.join(EX, src["images"])))[:n]
        files[split] = names
        dst_img = os.path.join(OUT, "data", split, "images")
        os.makedirs(dst_img, exist_ok=True)
        for nm in sorted(os.listdir(dst_img)):
            if nm not in names:
                os.remove(os.path.join(dst_img, nm))
        for nm in names:
            shutil.copyfile(os.path.join(EX, src["images"], nm), os.path.join(dst_img, nm))
        entry = {"images": "data/%s/images" % split}
        if "labels" in src:
            dst_m = os.path.join(OUT, "data", split, "masks")
            os.makedirs(dst_m, exist_ok=True)
            for nm in sorted(os.listdir(dst_m)):
                if nm not in names:
                    os.remove(os.path.join(dst_m, nm))
            for nm in names:
                shutil.copyfile(os.path.join(EX, src["labels"], nm), os.path.join(dst_m, nm))
            entry["labels"] = "data/%s/masks" % split
        splits[split] = entry
    ds = {
        "task": ex["task"],
        "classes": ex["classes"],
        "input": ex["input"],
        "splits": splits,
        "model": ex.get("model", {"output": "auto", "activation": "auto"}),
        "analysis": {"maxPoints": MAX_POINTS, "k": K, "seed": SEED, "taps": "auto", "maxTaps": 64},
    }
    with open(os.path.join(OUT, "unetlens.json"), "w") as f:
        json.dump(ds, f, indent=2)
        f.write("\n")
    return ds, files


def load_split(ds, split, names):
    inp = ds["input"]
    scale = float(inp["scale"])
    mean = np.asarray(inp["mean"], dtype=np.float64)
    std = np.asarray(inp["std"], dtype=np.float64)
    xs, masks = [], []
    for nm in names:
        raw = np.asarray(Image.open(os.path.join(OUT, ds["splits"][split]["images"], nm)), dtype=np.float64)
        assert raw.ndim == 2 and raw.shape == tuple(inp["size"]), raw.shape
        x = (raw[None] * scale - mean[:, None, None]) / std[:, None, None]
        xs.append(x.astype(np.float32))
        if "labels" in ds["splits"][split]:
            m = np.asarray(Image.open(os.path.join(OUT, ds["splits"][split]["labels"], nm)))
            masks.append(m.astype(np.int64))
    return np.stack(xs), (np.stack(masks) if masks else None)


# ----------------------------------------------------------------------------------------------
# 2./3. model, taps, receptive fields

def check_onnx_weights(net, model):
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    sd = net.state_dict()
    worst = 0.0
    for name, t in sd.items():
        assert name in inits, "state_dict entry %s not an ONNX initializer" % name
        worst = max(worst, float(np.max(np.abs(t.numpy() - inits[name]))))
    return worst


def attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return list(a.ints) if a.ints else (a.i if a.type == onnx.AttributeProto.INT else a)
    return default


def auto_taps_and_rf(model):
    """METHOD §1 `auto` rule and receptive-field formula on the ONNX graph (nodes are in topological
    order in this file; checked)."""
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    producer = {}
    for n in g.node:
        for o in n.output:
            producer[o] = n
    consumers = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    # topological check
    seen = set(i.name for i in g.input) | set(inits)
    for n in g.node:
        for i in n.input:
            assert i in seen or i == "", "graph not topologically ordered at %s" % n.name
        seen.update(n.output)

    conv_ops = ("Conv", "ConvTranspose")
    act_ops = ("Relu", "LeakyRelu", "Sigmoid", "Tanh", "Elu", "Selu", "PRelu", "Gelu", "HardSigmoid", "Softplus", "Clip")
    pool_ops = ("MaxPool", "AveragePool")
    up_ops = ("ConvTranspose", "Resize", "Upsample")
    out_names = [o.name for o in g.output]
    taps = []
    for n in g.node:
        o = n.output[0]
        is_tap = False
        if n.op_type in act_ops and n.input[0] in producer and producer[n.input[0]].op_type in conv_ops:
            is_tap = True
        if n.op_type in conv_ops and not any(c.op_type in act_ops for c in consumers.get(o, [])):
            is_tap = True
        if n.op_type in pool_ops or n.op_type in up_ops:
            is_tap = True
        if o in out_names:
            is_tap = True
        if is_tap and o not in [t["name"] for t in taps]:
            taps.append({"name": o, "op": n.op_type, "node": n.name})

    # receptive field (per axis; square here): literal formula and exact-transpose variant
    rf = {g.input[0].name: (1.0, 1.0)}
    rf_exact = {g.input[0].name: (1.0, 1.0)}
    for n in g.node:
        ins = [i for i in n.input if i in rf]
        if n.op_type in ("Conv", "MaxPool", "AveragePool"):
            if n.op_type == "Conv":
                k = attr(n, "kernel_shape") or list(onnx.numpy_helper.to_array(inits[n.input[1]]).shape[2:])
            else:
                k = attr(n, "kernel_shape")
            s = attr(n, "strides", [1] * len(k))
            d = attr(n, "dilations", [1] * len(k))
            assert len(set(k)) == 1 and len(set(s)) == 1 and len(set(d)) == 1
            k, s, d = k[0], s[0], d[0]
            for table in (rf, rf_exact):
                r, j = table[n.input[0]]
                table[n.output[0]] = (r + (k - 1) * d * j, j * s)
        elif n.op_type == "ConvTranspose":
            k = attr(n, "kernel_shape") or list(onnx.numpy_helper.to_array(inits[n.input[1]]).shape[2:])
            s = attr(n, "strides", [1] * len(k))
            assert len(set(k)) == 1 and len(set(s)) == 1
            k, s = k[0], s[0]
            r, j = rf[n.input[0]]
            jn = j / s
            rf[n.output[0]] = (r + (k - 1) * jn, jn)
            r, j = rf_exact[n.input[0]]
            rf_exact[n.output[0]] = (r + (math.ceil(k / s) - 1) * j, j / s)
        elif n.op_type in ("Concat", "Add", "Sum"):
            for table in (rf, rf_exact):
                vals = [table[i] for i in n.input if i in table]
                js = set(v[1] for v in vals)
                assert len(js) == 1, "concat of different jumps at %s" % n.name
                table[n.output[0]] = (max(v[0] for v in vals), vals[0][1])
        elif ins:
            for table in (rf, rf_exact):
                table[n.output[0]] = table[n.input[0]]
    for t in taps:
        t["rfLiteral"] = rf[t["name"]]
        t["rfFormula"] = rf_exact[t["name"]]
    return taps


def onnx_to_module(tap, out_names):
    """`/enc1/relu2/Relu_output_0` (node `/enc1/relu2/Relu`) -> `enc1.relu2`; graph output -> node's module."""
    node = tap["node"]
    parts = [p for p in node.split("/") if p]
    assert len(parts) >= 2, node
    return ".".join(parts[:-1])


class Capture:
    def __init__(self, net, modules):
        self.store = {}
        self.handles = []
        named = dict(net.named_modules())
        for m in modules:
            self.handles.append(named[m].register_forward_hook(self._hook(m)))

    def _hook(self, name):
        def f(mod, inp, out):
            self.store[name] = out.detach().clone()
        return f

    def remove(self):
        for h in self.handles:
            h.remove()


def rf_by_gradient(modules, size=256):
    """Independent receptive field: structural copy (weights 1, biases 0, AvgPool for MaxPool), float64."""
    net = load_example_model(os.path.join(EX, "model.pt")).double()
    with torch.no_grad():
        for p_name, p in net.named_parameters():
            if p_name.endswith("bias"):
                p.zero_()
            else:
                p.fill_(1.0)
    for name, m in list(net.named_modules()):
        if isinstance(m, nn.MaxPool2d):
            setattr(net, name, nn.AvgPool2d(m.kernel_size, m.stride))
    x = torch.ones(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    res = {}
    live = {}
    handles = []
    named = dict(net.named_modules())
    for m in modules:
        handles.append(named[m].register_forward_hook(lambda mod, i, o, m=m: live.__setitem__(m, o)))
    net(x)
    for h in handles:
        h.remove()
    for m in modules:
        T = live[m]
        h = T.shape[2]
        c0 = h // 2

        def support(ii, jj):
            g, = torch.autograd.grad(T[0, :, ii, jj].sum(), x, retain_graph=True)
            nz = (g[0, 0].abs() > 0).numpy()
            rows = np.where(nz.any(axis=1))[0]
            cols = np.where(nz.any(axis=0))[0]
            full = bool(nz[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].all())
            return rows[0], rows[-1] - rows[0] + 1, cols[0], cols[-1] - cols[0] + 1, full

        sizes = []
        full_all = True
        for off in range(4):
            r0, rh, c0_, cw, full = support(c0 + off, c0 + off)
            sizes.append((int(rh), int(cw)))
            full_all = full_all and full
        a = support(c0, c0)
        b = support(c0 + 8, c0 + 8)
        jump = (b[0] - a[0]) / 8.0
        jump_c = (b[2] - a[2]) / 8.0
        assert jump == jump_c
        res[m] = {
            "size": max(max(s) for s in sizes),
            "sizeMin": min(min(s) for s in sizes),
            "jump": jump,
            "solidSquare": full_all and all(s[0] == s[1] for s in sizes),
        }
    return res


# ----------------------------------------------------------------------------------------------
# 5. labels

def block_bounds(n_out, n_in):
    lo = [(i * n_in) // n_out for i in range(n_out)]
    hi = [max(((i + 1) * n_in) // n_out, lo[i] + 1) for i in range(n_out)]
    return lo, hi


def pool_labels(lab, h, w, ncls):
    """lab: (N, H0, W0) int -> (N, h, w) majority over blocks, ties to the lower class."""
    N, H0, W0 = lab.shape
    onehot = (lab[:, None, :, :] == np.arange(ncls)[None, :, None, None]).astype(np.int64)
    rlo, rhi = block_bounds(h, H0)
    clo, chi = block_bounds(w, W0)
    out = np.zeros((N, h, w), dtype=np.int64)
    # cumulative sums for block counts
    cs = np.zeros((N, ncls, H0 + 1, W0 + 1), dtype=np.int64)
    cs[:, :, 1:, 1:] = onehot.cumsum(2).cumsum(3)
    for i in range(h):
        for j in range(w):
            cnt = (cs[:, :, rhi[i], chi[j]] - cs[:, :, rlo[i], chi[j]]
                   - cs[:, :, rhi[i], clo[j]] + cs[:, :, rlo[i], clo[j]])
            out[:, i, j] = np.argmax(cnt, axis=1)  # first maximum: lower class on ties
    return out


def to_points(F):
    """(N, C, h, w) float32 tensor -> (N*h*w, C) float64, image by image, row-major."""
    a = F.numpy().astype(np.float64)
    N, C, h, w = a.shape
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1).reshape(N * h * w, C))


# ----------------------------------------------------------------------------------------------
# 6. kNN

def knn_stats(Q, T, k, q_pred, t_gt, loo):
    """Exact brute force. Returns per-query: d_k (Euclidean), confidence (stable tie rule), bounds etc."""
    m, C = Q.shape
    n = T.shape[0]
    block = max(1, int(2e6 // n))
    out = {key: np.zeros(m) for key in ("dk", "conf", "cmin", "cmax", "cavg", "ncmin", "ncmax")}
    for key in ("n_eq", "n_lt", "nb", "nb_lt"):
        out[key] = np.zeros(m, dtype=np.int64)
    Tt = [np.ascontiguousarray(T[:, c]) for c in range(C)]
    D = np.empty((block, n))
    tmp = np.empty((block, n))
    for s in range(0, m, block):
        e = min(m, s + block)
        b = e - s
        Db, tb = D[:b], tmp[:b]
        Db.fill(0.0)
        for c in range(C):  # sequential sum over channels, channel order
            np.subtract(Q[s:e, c][:, None], Tt[c][None, :], out=tb)
            np.multiply(tb, tb, out=tb)
            Db += tb
        if loo:
            Db[np.arange(b), np.arange(s, e)] = np.inf
        dk2 = np.partition(Db, k - 1, axis=1)[:, k - 1]
        dk = np.sqrt(dk2)
        delta = NEAR_REL * dk + NEAR_ABS
        lo2 = np.maximum(dk - delta, 0.0) ** 2
        hi2 = (dk + delta) ** 2
        hi2 = np.maximum(hi2, dk2)
        # candidates: everything up to the top of the near-tie band (row-major: columns ascending)
        rows, cols = np.nonzero(Db <= hi2[:, None])
        d = Db[rows, cols]
        ltm = d < dk2[rows]
        eqm = d == dk2[rows]
        match = t_gt[cols] == q_pred[s + rows]
        cnt = lambda w: np.bincount(rows, weights=w, minlength=b).round().astype(np.int64)  # noqa: E731
        n_lt, n_eq = cnt(ltm), cnt(eqm)
        slots = k - n_lt
        starts = np.searchsorted(rows, np.arange(b))
        cs = np.cumsum(eqm)
        eq_rank = cs - (cs[starts] - eqm[starts])[rows]
        chosen = ltm | (eqm & (eq_rank <= slots[rows]))
        assert np.all(cnt(chosen) == k)
        m_lt, m_eq = cnt(ltm & match), cnt(eqm & match)
        out["conf"][s:e] = cnt(chosen & match) / k
        out["cmin"][s:e] = (m_lt + np.maximum(0, slots - (n_eq - m_eq))) / k
        out["cmax"][s:e] = (m_lt + np.minimum(slots, m_eq)) / k
        out["cavg"][s:e] = (m_lt + slots * m_eq / n_eq) / k
        out["dk"][s:e] = dk
        out["n_eq"][s:e] = n_eq
        out["n_lt"][s:e] = n_lt
        # near ties: band [d_k - delta, d_k + delta] of Euclidean distances
        blt = d < lo2[rows]
        bnd = ~blt
        nb_lt, nb = cnt(blt), cnt(bnd)
        bslots = k - nb_lt
        mb_lt, mb = cnt(blt & match), cnt(bnd & match)
        out["ncmin"][s:e] = (mb_lt + np.maximum(0, bslots - (nb - mb))) / k
        out["ncmax"][s:e] = (mb_lt + np.minimum(bslots, mb)) / k
        out["nb"][s:e] = nb
        out["nb_lt"][s:e] = nb_lt
    return out


def sklearn_knn(Q, T, k, q_pred, t_gt, loo, nn_model):
    if loo:
        dist, ind = nn_model.kneighbors(None, n_neighbors=k)
    else:
        dist, ind = nn_model.kneighbors(Q, n_neighbors=k)
    conf = (t_gt[ind] == q_pred[:, None]).mean(1)
    return conf, dist[:, -1], ind


# ----------------------------------------------------------------------------------------------
# 6. roughness helpers

def prev_index_map(h, H0, hp):
    """For l-locations 0..h-1 the l-1 index i' = floor(c*hp/H0), c = (i+0.5)*H0/h (exact rationals)."""
    # c*hp/H0 = (i+0.5)*hp/h = (2i+1)*hp / (2h)
    return np.array([((2 * i + 1) * hp) // (2 * h) for i in range(h)], dtype=np.int64)


def input_patches(x, h, w, r):
    """x: (N, Cin, H0, W0) float32 preprocessed input -> (N*h*w, r*r*Cin) patches centred on floor(c)."""
    N, Cin, H0, W0 = x.shape
    xa = x.astype(np.float64)
    half = r // 2
    pad = np.zeros((N, Cin, H0 + 2 * r, W0 + 2 * r))
    pad[:, :, r:r + H0, r:r + W0] = xa
    ci = np.array([((2 * i + 1) * H0) // (2 * h) for i in range(h)])  # floor(c)
    cj = np.array([((2 * j + 1) * W0) // (2 * w) for j in range(w)])
    rows = ci[:, None] - half + np.arange(r)[None, :] + r  # (h, r)
    cols = cj[:, None] - half + np.arange(r)[None, :] + r  # (w, r)
    # patch[n, i, j, a, b, c] = pad[n, c, rows[i, a], cols[j, b]]
    P = pad[:, :, rows[:, None, :, None], cols[None, :, None, :]]  # (N, Cin, h, w, r, r)
    P = P.transpose(0, 2, 3, 4, 5, 1)  # (N, h, w, r, r, Cin): patch row-major, then channel
    return np.ascontiguousarray(P.reshape(N * h * w, r * r * Cin))


def db_or_none(X, lab):
    if len(np.unique(lab)) < 2:
        return None
    v = float(davies_bouldin_score(X, lab))
    return v if math.isfinite(v) else None


def dice_acc(pred, gt, ncls):
    inter = [int(np.sum((pred == c) & (gt == c))) for c in range(ncls)]
    sp = [int(np.sum(pred == c)) for c in range(ncls)]
    sg = [int(np.sum(gt == c)) for c in range(ncls)]
    dice = [(2 * inter[c] / (sp[c] + sg[c])) if sp[c] + sg[c] > 0 else None for c in range(ncls)]
    fg = [d for d in dice[1:] if d is not None]
    return {
        "dice": float(np.mean(fg)) if fg else None,
        "dicePerClass": dice,
        "accuracy": float(np.mean(pred == gt)),
        "intersections": inter, "predictedSizes": sp, "truthSizes": sg,
    }


def rnd(v, nd=12):
    if v is None:
        return None
    if isinstance(v, (list, tuple)):
        return [rnd(x, nd) for x in v]
    v = float(v)
    if v == 0.0:
        return 0.0
    return float("%.*g" % (nd, v))


# ----------------------------------------------------------------------------------------------

def main():
    t0 = time.time()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    ds, files = make_fixture()
    classes = ds["classes"]
    ncls = len(classes)
    H0, W0 = ds["input"]["size"]

    model = onnx.load(os.path.join(EX, "model.onnx"))
    net = load_example_model(os.path.join(EX, "model.pt"))
    weight_diff = check_onnx_weights(net, model)
    value_names = set(i.name for i in model.graph.input) | set(o for n in model.graph.node for o in n.output)

    taps = auto_taps_and_rf(model)
    out_names = [o.name for o in model.graph.output]
    for t in taps:
        t["torchModule"] = onnx_to_module(t, out_names)
        assert t["name"] in value_names
    modules = [t["torchModule"] for t in taps]
    expected = ["enc1.relu1", "enc1.relu2", "pool1", "enc2.relu1", "enc2.relu2", "pool2",
                "bottleneck.relu1", "bottleneck.relu2", "up2", "dec2.relu1", "dec2.relu2", "up1",
                "dec1.relu1", "dec1.relu2", "head"]
    assert modules == expected, modules
    rfg = rf_by_gradient(modules)

    # forward passes
    data, acts, logits = {}, {}, {}
    cap = Capture(net, modules)
    with torch.no_grad():
        for split in SUBSET:
            x, masks = load_split(ds, split, files[split])
            data[split] = (x, masks)
            cap.store = {}
            lg = net(torch.from_numpy(x))
            acts[split] = dict(cap.store)
            logits[split] = lg.numpy()
            assert torch.equal(acts[split]["head"], lg)
    cap.remove()

    # tap metadata
    sizes = [tuple(acts["train"][m].shape[2:]) for m in modules]
    lowest = min(s[0] for s in sizes)
    first_low = min(i for i, s in enumerate(sizes) if s[0] == lowest)
    last_low = max(i for i, s in enumerate(sizes) if s[0] == lowest)
    tap_meta = []
    for i, t in enumerate(taps):
        shp = list(acts["train"][t["torchModule"]].shape[1:])
        stage = "bottleneck" if sizes[i][0] == lowest else ("encoder" if i < first_low else "decoder")
        assert i < first_low or i > last_low or stage == "bottleneck"
        level = int(round(math.log2(H0 / shp[1])))
        r, j = t["rfFormula"]
        rx, jx = t["rfLiteral"]
        g = rfg[t["torchModule"]]
        tap_meta.append({
            "name": t["name"], "op": t["op"], "torchModule": t["torchModule"], "index": i,
            "shape": shp, "stage": stage, "level": level,
            "receptiveField": {"size": r, "jump": j},
            "receptiveFieldLiteralTranspose": {"size": rx, "jump": jx},
            "rfByGradient": g,
        })

    # 4. activation checks (train[0])
    activations = {"image": "train/" + files["train"][0], "dtype": "float32 values, sums in float64", "taps": {}}
    for tm in tap_meta:
        a = acts["train"][tm["torchModule"]][0].numpy()
        C, h, w = a.shape
        pos = [[(q * 5 + 1) % C, (q * 7 + 3) % h, (q * 11 + 5) % w] for q in range(16)]
        a64 = a.astype(np.float64)
        activations["taps"][tm["name"]] = {
            "sum": float(a64.sum()), "sumSquares": float((a64 * a64).sum()),
            "min": float(a64.min()), "max": float(a64.max()),
            "zeroFraction": float(np.mean(a64 == 0)),
            "positions": pos, "values": [float(a64[c, i, j]) for c, i, j in pos],
        }

    # predictions and performance
    preds = {s: np.argmax(logits[s], axis=1) for s in SUBSET}
    split_info = {}
    for s in SUBSET:
        x, masks = data[s]
        info = {"images": len(files[s]), "files": files[s], "labeled": masks is not None}
        if masks is not None:
            info["performance"] = dice_acc(preds[s], masks, ncls)
            info["perImageDice"] = [dice_acc(preds[s][n:n + 1], masks[n:n + 1], ncls)["dice"] for n in range(len(files[s]))]
        else:
            info["performance"] = None
            hid = os.path.join(EX, "data", s, "masks_hidden")
            if os.path.isdir(hid):
                hm = np.stack([np.asarray(Image.open(os.path.join(hid, nm))).astype(np.int64) for nm in files[s]])
                info["performanceHidden"] = dice_acc(preds[s], hm, ncls)
        split_info[s] = info

    # points and labels
    pts, gt, pr = {}, {}, {}
    for s in SUBSET:
        x, masks = data[s]
        pts[s], gt[s], pr[s] = {}, {}, {}
        for tm in tap_meta:
            F = acts[s][tm["torchModule"]]
            C, h, w = tm["shape"]
            pts[s][tm["name"]] = to_points(F)
            pr[s][tm["name"]] = pool_labels(preds[s], h, w, ncls).reshape(-1)
            gt[s][tm["name"]] = pool_labels(masks, h, w, ncls).reshape(-1) if masks is not None else None

    # PCA
    pca = {}
    for tm in tap_meta:
        X = pts["train"][tm["name"]]
        p = PCA(n_components=min(3, X.shape[1]), svd_solver="full").fit(X)
        pca[tm["name"]] = {"explainedVariance": [float(v) for v in p.explained_variance_ratio_]}

    # metrics
    metrics = {s: {} for s in SUBSET}
    kms = {s: {} for s in SUBSET}
    sk_info = {}
    train_dk_median = {}
    for ti, tm in enumerate(tap_meta):
        name = tm["name"]
        T = pts["train"][name]
        tg = gt["train"][name]
        nn_model = NearestNeighbors(n_neighbors=K).fit(T)
        sk_info[name] = nn_model._fit_method
        res_train = knn_stats(T, T, K, pr["train"][name], tg, loo=True)
        med = float(np.median(res_train["dk"]))
        train_dk_median[name] = med
        for s in SUBSET:
            Q = pts[s][name]
            loo = s == "train"
            res = res_train if loo else knn_stats(Q, T, K, pr[s][name], tg, loo=False)
            sk_conf, sk_dk, _ = sklearn_knn(Q, T, K, pr[s][name], tg, loo, nn_model)
            fs = float(np.median(res["dk"] / med)) if med > 0 else None
            straddle = (res["n_lt"] + res["n_eq"]) > K
            depend = res["cmin"] != res["cmax"]
            nstraddle = (res["nb_lt"] + res["nb"]) > K
            ndepend = res["ncmin"] != res["ncmax"]
            fg = pr[s][name] >= 1
            fg_mean = lambda v: float(v[fg].mean() if fg.any() else v.mean())  # noqa: E731
            # roughness
            C, h, w = tm["shape"]
            N = len(files[s])
            km = KMeans(n_clusters=ncls, n_init=10, random_state=SEED).fit(Q)
            lab = km.labels_
            kms[s][name] = sorted([int(v) for v in np.bincount(lab, minlength=ncls)], reverse=True)
            if ti == 0:
                r = int(round(tm["receptiveField"]["size"]))
                P = input_patches(data[s][0], h, w, r)
            else:
                prev = tap_meta[ti - 1]
                Cp, hp, wp = prev["shape"]
                ii = prev_index_map(h, H0, hp)
                jj = prev_index_map(w, W0, wp)
                Fp = pts[s][prev["name"]].reshape(N, hp, wp, Cp)
                P = Fp[:, ii][:, :, jj].reshape(N * h * w, Cp)
            rough = db_or_none(P, lab)
            # seed sensitivity of the k-means partition (sklearn's own optimum moves with the seed)
            seed_vals, seed_sizes = [], []
            for rs in ROUGHNESS_SEEDS:
                lab_r = lab if rs == SEED else KMeans(n_clusters=ncls, n_init=10, random_state=rs).fit(Q).labels_
                seed_vals.append(db_or_none(P, lab_r))
                seed_sizes.append(sorted([int(v) for v in np.bincount(lab_r, minlength=ncls)], reverse=True))
            finite = [v for v in seed_vals if v is not None]
            metrics[s][name] = {
                "db": db_or_none(Q, gt[s][name]) if gt[s][name] is not None else None,
                "roughness": rough,
                "roughnessAcrossSeeds": {
                    "randomStates": ROUGHNESS_SEEDS, "values": seed_vals, "clusterSizes": seed_sizes,
                    "min": min(finite) if finite else None, "max": max(finite) if finite else None,
                },
                "knnConfidence": float(res["conf"].mean()),
                "knnConfidenceFg": fg_mean(res["conf"]),
                "foregroundPoints": int(fg.sum()),
                "featureShift": fs,
                "points": int(Q.shape[0]),
                "allZeroPoints": int(np.sum(~Q.any(axis=1))),
                "knnConfidenceSklearn": float(sk_conf.mean()),
                "knnConfidenceFgSklearn": fg_mean(sk_conf),
                "sklearnMaxAbsDkDiff": float(np.max(np.abs(sk_dk - res["dk"]))),
                "trainMedianDk": med,
                "gtCounts": ([int(v) for v in np.bincount(gt[s][name], minlength=ncls)]
                             if gt[s][name] is not None else None),
                "predCounts": [int(v) for v in np.bincount(pr[s][name], minlength=ncls)],
                "tiesAtK": {
                    "withTie": int(np.sum(res["n_eq"] > 1)),
                    "straddling": int(np.sum(straddle)),
                    "labelDependent": int(np.sum(depend)),
                    "maxTieGroup": int(res["n_eq"].max()),
                    "zeroDk": int(np.sum(res["dk"] == 0)),
                    "knnConfidenceMin": float(res["cmin"].mean()),
                    "knnConfidenceMax": float(res["cmax"].mean()),
                    "knnConfidenceTieAveraged": float(res["cavg"].mean()),
                },
                "nearTiesAtK": {
                    "tolerance": "|d - d_k| <= %g*d_k + %g" % (NEAR_REL, NEAR_ABS),
                    "straddling": int(np.sum(nstraddle)),
                    "labelDependent": int(np.sum(ndepend)),
                    "knnConfidenceMin": float(res["ncmin"].mean()),
                    "knnConfidenceMax": float(res["ncmax"].mean()),
                    "knnConfidenceFgMin": fg_mean(res["ncmin"]),
                    "knnConfidenceFgMax": fg_mean(res["ncmax"]),
                },
            }

    elapsed = time.time() - t0
    result = {
        "generatedBy": "scripts/make_reference.py (independent Python reference of METHOD.md §1-§4)",
        "methodVersion": "1",
        "versions": {"python": sys.version.split()[0], "torch": torch.__version__, "sklearn": sklearn.__version__,
                     "numpy": np.__version__, "scipy": scipy.__version__, "onnx": onnx.__version__},
        "model": {"onnx": "examples/synthetic/model.onnx", "torch": "examples/synthetic/model.pt",
                  "maxAbsWeightDiffTorchVsOnnx": weight_diff},
        "dataset": "test/fixtures/reference/unetlens.json",
        "settings": {"maxPoints": MAX_POINTS, "k": K, "seed": SEED, "taps": "auto", "maxTaps": 64,
                     "classes": classes, "kmeans": "sklearn KMeans(n_clusters=%d, n_init=10, random_state=%d)" % (ncls, SEED),
                     "pca": "sklearn PCA(n_components=min(3,C), svd_solver='full') on train points",
                     "knnTieRule": "(squared distance accumulated channel by channel in float64, train index) ascending; LOO excludes the point's own index",
                     "sklearnNearestNeighborsAlgorithm": sk_info},
        "conventions": {
            "stage": "by the tap's own resolution: before the first lowest-resolution tap = encoder, at the lowest = bottleneck, after = decoder; pool outputs are at their new lower resolution (pool2 = bottleneck)",
            "level": "log2(H0/H): net number of down-samplings at the tap",
            "receptiveField": "METHOD §1 formula on the ONNX graph; ConvTranspose: r' = r + (ceil(k/s)-1)*j, j' = j/s (exact field of a transposed conv)",
            "receptiveFieldLiteralTranspose": "ConvTranspose read as r' = r + (k-1)*j', j' = j/s",
            "rfByGradient": "support of d(sum_c T[c,i,j])/d(input), weights 1, biases 0, MaxPool->AvgPool, 256x256 ones, float64; size = max over 4 parities, jump = support shift over 8 locations / 8",
            "labels": "block [floor(i*H0/H), floor((i+1)*H0/H)) per axis, majority, ties to lower class; prediction = argmax of logits (ties lower), pooled the same way",
            "roughnessPrevious": "i' = floor(((i+0.5)*H0/H) * H'/H0); first tap: r x r input patch centred on floor(c), zero-padded, channel-last",
            "featureShift": "median_split(d_k / median_train(LOO d_k)); null if the train median is 0",
        },
        "taps": tap_meta,
        "activations": activations,
        "splits": split_info,
        "metrics": metrics,
        "pca": pca,
        "kmeansClusterSizes": kms,
    }
    path = os.path.join(OUT, "example-reference.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")

    # 8. summary
    print("weights torch vs onnx: max |diff| = %g" % weight_diff)
    print("\n%-32s %-16s %-11s %-10s %5s  %-14s %-14s %-14s" % ("tap", "module", "shape", "stage", "level", "RF formula", "RF literalTr", "RF gradient"))
    for tm in tap_meta:
        rf = tm["receptiveField"]
        rx = tm["receptiveFieldLiteralTranspose"]
        g = tm["rfByGradient"]
        print("%-32s %-16s %-11s %-10s %5d  %-14s %-14s %-14s" % (
            tm["name"], tm["torchModule"], "x".join(map(str, tm["shape"])), tm["stage"], tm["level"],
            "%g/%g" % (rf["size"], rf["jump"]), "%g/%g" % (rx["size"], rx["jump"]),
            "%d/%g%s" % (g["size"], g["jump"], "" if g["sizeMin"] == g["size"] else " (min %d)" % g["sizeMin"])))
    print("\nperformance:")
    for s in SUBSET:
        p = split_info[s]["performance"] or split_info[s].get("performanceHidden")
        print("  %-6s %s dice=%.6f acc=%.6f" % (s, "" if split_info[s]["performance"] else "(hidden)", p["dice"], p["accuracy"]))
    for s in SUBSET:
        print("\nsplit %s" % s)
        print("%-18s %6s %10s %10s %19s %9s %9s %9s %9s %12s %6s %6s %6s %12s" % (
            "tap", "points", "db", "roughness", "rough seeds 0-5", "knnConf", "knnSkl", "confMin", "confMax", "featShift",
            "tieK", "strad", "dep", "kmSizes"))
        for tm in tap_meta:
            m = metrics[s][tm["name"]]
            f = lambda v: "null" if v is None else "%.6g" % v  # noqa: E731
            print("%-18s %6d %10s %10s %19s %9.6f %9.6f %9.6f %9.6f %12s %6d %6d %6d %12s" % (
                tm["torchModule"], m["points"], f(m["db"]), f(m["roughness"]),
                "%s..%s" % (f(m["roughnessAcrossSeeds"]["min"]), f(m["roughnessAcrossSeeds"]["max"])), m["knnConfidence"],
                m["knnConfidenceSklearn"], m["tiesAtK"]["knnConfidenceMin"], m["tiesAtK"]["knnConfidenceMax"],
                f(m["featureShift"]), m["tiesAtK"]["withTie"], m["tiesAtK"]["straddling"],
                m["tiesAtK"]["labelDependent"], kms[s][tm["name"]]))
    print("\nPCA explained variance (train):")
    for tm in tap_meta:
        print("  %-18s %s" % (tm["torchModule"], ["%.6f" % v for v in pca[tm["name"]]["explainedVariance"]]))
    print("\nwrote %s (%d bytes) in %.1f s" % (os.path.relpath(path, ROOT), os.path.getsize(path), elapsed))


if __name__ == "__main__":
    main()
