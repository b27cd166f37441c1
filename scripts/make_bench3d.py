#!/usr/bin/python3
"""The 3D benchmark case of UNet Lens (issue 12, item 7): bench/.data/vol3d/ (git-ignored).

    /usr/bin/python3 scripts/make_bench3d.py [--size 32,64,64] [--n 40] [--out bench/.data/vol3d]   # 1-3 minutes

Writes
    bench/.data/vol3d/model.onnx     opset 13, input `image` N x 1 x D x H x W (dynamic batch),
                                     output `logits` N x 2 x D x H x W
    bench/.data/vol3d/model.pt       the network's state_dict (class Bench3D below)
    bench/.data/vol3d/unetlens.json  the dataset file (NCDHW, maxPoints 4096, k 10, seed 0)
    bench/.data/vol3d/data/{train,test}/{images,masks}/volNNN.npy   --n labelled volumes each
    bench/.data/vol3d/data/siteB/images/volNNN.npy                  --n unlabelled volumes
    bench/.data/vol3d/info.json      what was built

The network (Bench3D): a 3-level 3D UNet, widths 8/16/32: Conv3x3x3+ReLU twice per block,
MaxPool3d down, ConvTranspose3d 2/2 up, concat skips, 1x1x1 head to 2 logits; `auto` taps: 15
(10 ReLUs, 2 pools, 2 up-convolutions, the logits). Trained for 100 Adam steps on 16x32x32
crops (half of them around a foreground voxel), only so that the predictions are not constant.

Volumes: uint8, smooth texture + 1-3 soft bright ellipsoids (class 1) + noise; siteB: the same
scenes blurred, at a lower gain and noisier. Deterministic (fixed seeds).
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy.ndimage import gaussian_filter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "bench", ".data", "vol3d")
SEEDS = {"train": 111, "test": 222, "siteB": 333}


def conv_relu_x2(cin, cout):
    """Conv3x3x3 -> ReLU -> Conv3x3x3 -> ReLU (one UNet block)."""
    return nn.Sequential(nn.Conv3d(cin, cout, 3, padding=1), nn.ReLU(), nn.Conv3d(cout, cout, 3, padding=1), nn.ReLU())


class Bench3D(nn.Module):
    """A 3D UNet with len(widths) levels: blocks down with MaxPool3d, up with ConvTranspose3d and concat skips."""

    def __init__(self, widths=(8, 16, 32)):
        super().__init__()
        ins = (1,) + tuple(widths[:-1])
        self.down = nn.ModuleList(conv_relu_x2(i, w) for i, w in zip(ins, widths))
        self.pool = nn.ModuleList(nn.MaxPool3d(2) for _ in widths[:-1])
        self.upconv = nn.ModuleList(nn.ConvTranspose3d(widths[k + 1], widths[k], 2, stride=2) for k in reversed(range(len(widths) - 1)))
        self.up = nn.ModuleList(conv_relu_x2(2 * widths[k], widths[k]) for k in reversed(range(len(widths) - 1)))
        self.head = nn.Conv3d(widths[0], 2, 1)

    def forward(self, x):
        skips = []
        for k, block in enumerate(self.down):
            x = block(x if k == 0 else self.pool[k - 1](x))
            skips.append(x)
        skips.pop()
        for upconv, block in zip(self.upconv, self.up):
            x = block(torch.cat([upconv(x), skips.pop()], 1))
        return self.head(x)


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def make_volume(rng, size, site):
    d, h, w = size
    zz, yy, xx = np.mgrid[0:d, 0:h, 0:w].astype(np.float32)
    tex = gaussian_filter(rng.standard_normal(size).astype(np.float32), 3.0)
    tex /= tex.std() + 1e-8
    img = 0.35 + 0.06 * tex
    mask = np.zeros(size, dtype=bool)
    for _ in range(rng.integers(1, 4)):
        r = rng.uniform(0.12, 0.25, size=3) * np.array(size)
        c = rng.uniform(0.25, 0.75, size=3) * np.array(size)
        inside = ((zz - c[0]) / r[0]) ** 2 + ((yy - c[1]) / r[1]) ** 2 + ((xx - c[2]) / r[2]) ** 2 <= 1
        mask |= inside
        img += rng.uniform(0.2, 0.4) * gaussian_filter(inside.astype(np.float32), 1.0)
    if site == "B":
        img = np.clip(0.55 * gaussian_filter(img, 1.0) + 0.22, 0, 1) ** 1.25
        img += rng.normal(0, 0.07, size).astype(np.float32)
    else:
        img += rng.normal(0, 0.035, size).astype(np.float32)
    return np.round(np.clip(img, 0, 1) * 255).astype(np.uint8), mask.astype(np.uint8)


def write_split(name, site, labelled, n, size):
    """Writes --n volumes (and masks) of one split under OUT/data/<name>/; returns them stacked."""
    rng = np.random.default_rng(SEEDS[name])
    vols, masks = [], []
    for i in range(n):
        v, m = make_volume(rng, size, site)
        for sub, a in [("images", v)] + ([("masks", m)] if labelled else []):
            os.makedirs(os.path.join(OUT, "data", name, sub), exist_ok=True)
            np.save(os.path.join(OUT, "data", name, sub, f"vol{i:03d}.npy"), a)
        vols.append(v)
        masks.append(m)
    return np.stack(vols), np.stack(masks)


def train(x_u8, y_u8, steps=100, crop=(16, 32, 32)):
    torch.manual_seed(0)
    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    net = Bench3D()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    weight = torch.tensor([1.0, 4.0])
    net.train()
    for step in range(steps):
        xs, ys = [], []
        for i in rng.choice(len(x_u8), 2, replace=False):
            if rng.random() < 0.5 and y_u8[i].any():  # half of the crops around a foreground voxel
                pts = np.argwhere(y_u8[i])
                ctr = pts[rng.integers(len(pts))]
                o = [int(np.clip(p - c // 2, 0, s - c)) for p, s, c in zip(ctr, x_u8.shape[1:], crop)]
            else:
                o = [int(rng.integers(0, s - c + 1)) for s, c in zip(x_u8.shape[1:], crop)]
            sl = tuple(slice(a, a + c) for a, c in zip(o, crop))
            xs.append(torch.from_numpy(x_u8[i][sl].astype(np.float32) / 255)[None])
            ys.append(torch.from_numpy(y_u8[i][sl].astype(np.int64)))
        logits = net(torch.stack(xs))
        loss = F.cross_entropy(logits, torch.stack(ys), weight=weight)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 10 == 0 or step == steps - 1:
            print(f"step {step:3d}  loss {loss.item():.4f}", flush=True)
    net.eval()
    return net


def main():
    global OUT
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="32,64,64")
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--out", default=OUT)
    a = ap.parse_args()
    OUT = os.path.abspath(a.out)
    size = tuple(int(s) for s in a.size.split(","))
    t0 = time.time()
    os.makedirs(OUT, exist_ok=True)
    tr_x, tr_y = write_split("train", "A", True, a.n, size)
    write_split("test", "A", True, a.n, size)
    write_split("siteB", "B", False, a.n, size)
    print(f"data: {a.n} volumes of {size} per split, foreground share {tr_y.mean():.3f} ({time.time() - t0:.1f} s)", flush=True)
    net = train(tr_x, tr_y)
    torch.save(net.state_dict(), os.path.join(OUT, "model.pt"))
    torch.onnx.export(net, torch.zeros(1, 1, *size), os.path.join(OUT, "model.onnx"), input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13, do_constant_folding=True)
    with torch.no_grad():
        pred = net(torch.from_numpy(tr_x[:4].astype(np.float32) / 255)[:, None]).argmax(1).numpy()
    dataset = {
        "task": "segmentation",
        "classes": ["background", "blob"],
        "input": {"layout": "NCDHW", "size": list(size), "channels": 1, "scale": 1.0 / 255.0, "mean": [0.0], "std": [1.0]},
        "splits": {
            "train": {"images": "data/train/images", "labels": "data/train/masks"},
            "test": {"images": "data/test/images", "labels": "data/test/masks"},
            "siteB": {"images": "data/siteB/images"},
        },
        "analysis": {"maxPoints": 4096, "k": 10, "seed": 0, "taps": "auto", "maxTaps": 64},
    }
    write_json(os.path.join(OUT, "unetlens.json"), dataset)
    info = {
        "model": "Bench3D (scripts/make_bench3d.py): 3 levels, widths 8/16/32, Conv3x3x3+ReLU x2 per block",
        "parameters": int(sum(p.numel() for p in net.parameters())),
        "input": [1, *size],
        "volumesPerSplit": a.n,
        "predictedForegroundShareTrain4": round(float(pred.mean()), 4),
        "trueForegroundShareTrain": round(float(tr_y.mean()), 4),
        "seconds": round(time.time() - t0, 1),
    }
    write_json(os.path.join(OUT, "info.json"), info)
    print(json.dumps(info))


if __name__ == "__main__":
    main()
