#!/usr/bin/python3
"""The large nested-UNet case of UNet Lens (issue 12, item 6): bench/.data/nested/ (git-ignored).

    /usr/bin/python3 scripts/make_bench_nested.py [--steps 10] [--out bench/.data/nested]   # 5-12 minutes (training on 2 loaded cores)

Stands in for the reporter's case: a public ~44 M-parameter nested UNet (UNet++ style) on
1024x1024 RGB photographs, 2 labelled + 2 unlabelled images, default settings.

Writes
    bench/.data/nested/model.onnx      opset 13, input `image` N x 3 x 1024 x 1024 (dynamic batch),
                                       output `logits` N x 2 x 1024 x 1024
    bench/.data/nested/unetlens.json   the dataset file (defaults: maxPoints 4096, k 10, seed 0,
                                       taps auto, maxTaps 64, shifts on)
    bench/.data/nested/data/train/{images,masks}/photoN.png   2 labelled RGB images + masks
    bench/.data/nested/data/photos/images/photoN.png          2 unlabelled RGB images
    bench/.data/nested/info.json       what was built (parameters, GFLOP, taps expected, seconds)

The network (NestedUNet): UNet++ (Zhou et al. 2018) over a ResNet-34-like encoder, the way
segmentation_models_pytorch's UnetPlusPlus builds it:
  encoder X^{i,0}, i = 0..4 at 512², 256², 128², 64², 32² (1/2 … 1/32 of the input):
    X^{0,0}: Conv3x3/2 + BN + ReLU, Conv3x3 + BN + ReLU (width 32);
    X^{i,0}: MaxPool 2 + 3/4/6/3 residual basic blocks (conv-bn-relu-conv-bn + skip, relu)
             at widths 64/128/256/W4;
  dense skip nodes X^{i,j}, j ≥ 1: concat(X^{i,0}, …, X^{i,j-1}, Up(X^{i+1,j-1})) ->
    (Conv3x3 + BN + ReLU) x 2 at the level's width (Up: bilinear x2, an ONNX Resize);
  head: Up(X^{0,4}) to 1024², Conv3x3 + BN + ReLU (16), Conv1x1 -> 2 logits.
W4 is chosen so that the whole has about 44 M parameters (most of them in the 1/32 level, as
in the public model). `auto` taps: 71 candidates (ReLUs, pools, resizes, logits), so the
default maxTaps 64 caps them.

Weights: --steps Adam steps (default 10, batch 2, 256x256 crops, cross-entropy) from a fixed
seed, then the BatchNorm statistics re-estimated on the 4 full images; only so that the
predictions are not constant. The timing does not depend on the weights. --steps 0: random
initialisation (BatchNorm statistics still re-estimated).

Images: 1024x1024 RGB "photographs": a smooth coloured textured background with shading, 3-6
filled shapes (ellipses, rectangles, triangles) of random colour; class 1 = the ellipses, the
other shapes are distractors. Masks: pixel value = class index. The unlabelled split is the
same kind of scene under another camera (warmer, blurrier, noisier, lower contrast).
Deterministic (fixed seeds).
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFilter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "bench", ".data", "nested")
SIZE = 1024
SEEDS = {"train": 1001, "photos": 2002}
WIDTHS = (32, 64, 128, 256, 800)
BLOCKS = (3, 4, 6, 3)


def cbr(cin, cout, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Basic(nn.Module):
    """ResNet basic block: conv-bn-relu-conv-bn + (projected) skip, relu."""

    def __init__(self, cin, cout):
        super().__init__()
        self.c1 = cbr(cin, cout)
        self.c2 = nn.Sequential(nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout))
        self.proj = None if cin == cout else nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        s = x if self.proj is None else self.proj(x)
        return self.relu(self.c2(self.c1(x)) + s)


class NestedUNet(nn.Module):
    """UNet++ with dense skip nodes X^{i,j} over a ResNet-34-like encoder (see the module doc)."""

    def __init__(self, widths=WIDTHS, blocks=BLOCKS, classes=2):
        super().__init__()
        w = widths
        self.widths = widths
        self.x00 = nn.Sequential(cbr(3, w[0], stride=2), cbr(w[0], w[0]))
        enc = []
        for i in range(1, 5):
            layers = [nn.MaxPool2d(2)] + [Basic(w[i - 1] if b == 0 else w[i], w[i]) for b in range(blocks[i - 1])]
            enc.append(nn.Sequential(*layers))
        self.enc = nn.ModuleList(enc)
        self.nodes = nn.ModuleDict()
        for j in range(1, 5):
            for i in range(0, 5 - j):
                cin = j * w[i] + w[i + 1]
                self.nodes[f"x{i}{j}"] = nn.Sequential(cbr(cin, w[i]), cbr(w[i], w[i]))
        self.head = nn.Sequential(cbr(w[0], 16), nn.Conv2d(16, classes, 1))

    @staticmethod
    def up(x):
        return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)

    def forward(self, x):
        X = {(0, 0): self.x00(x)}
        for i in range(1, 5):
            X[(i, 0)] = self.enc[i - 1](X[(i - 1, 0)])
        for j in range(1, 5):
            for i in range(0, 5 - j):
                cat = [X[(i, k)] for k in range(j)] + [self.up(X[(i + 1, j - 1)])]
                X[(i, j)] = self.nodes[f"x{i}{j}"](torch.cat(cat, 1))
        return self.head(self.up(X[(0, 4)]))


def smooth_noise(rng, size, scale):
    """Band-limited noise in [-1, 1]: a small random grid upsampled bicubically."""
    n = max(2, size // scale)
    g = (rng.random((n, n)) * 255).astype(np.uint8)
    a = np.asarray(Image.fromarray(g).resize((size, size), Image.BICUBIC), dtype=np.float32) / 127.5 - 1
    return a


def make_photo(rng, camera):
    """One 1024² RGB scene and its mask (1 = ellipses)."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) / SIZE
    base = rng.uniform(0.25, 0.65, size=3).astype(np.float32)
    tex = 0.5 * smooth_noise(rng, SIZE, 64) + 0.3 * smooth_noise(rng, SIZE, 16) + 0.2 * smooth_noise(rng, SIZE, 4)
    shade = 0.85 + 0.3 * (rng.uniform(-1, 1) * (xx - 0.5) + rng.uniform(-1, 1) * (yy - 0.5))
    img = (base[None, None, :] + 0.12 * tex[..., None] * rng.uniform(0.5, 1.5, size=3)[None, None, :]) * shade[..., None]
    canvas = Image.fromarray(np.uint8(np.clip(img, 0, 1) * 255), "RGB")
    mask = Image.new("L", (SIZE, SIZE), 0)
    dc, dm = ImageDraw.Draw(canvas), ImageDraw.Draw(mask)
    for _ in range(int(rng.integers(3, 7))):
        kind = rng.choice(["ellipse", "ellipse", "rect", "tri"])
        cx, cy = rng.uniform(0.12, 0.88, size=2) * SIZE
        rx, ry = rng.uniform(0.04, 0.14, size=2) * SIZE
        col = tuple(int(c) for c in rng.integers(20, 236, size=3))
        box = [cx - rx, cy - ry, cx + rx, cy + ry]
        if kind == "ellipse":
            dc.ellipse(box, fill=col)
            dm.ellipse(box, fill=1)
        elif kind == "rect":
            dc.rectangle(box, fill=col)
            dm.rectangle(box, fill=0)
        else:
            pts = [(cx, cy - ry), (cx - rx, cy + ry), (cx + rx, cy + ry)]
            dc.polygon(pts, fill=col)
            dm.polygon(pts, fill=0)
    a = np.asarray(canvas, dtype=np.float32) / 255
    grain = 0.02
    if camera == "B":
        a = np.asarray(canvas.filter(ImageFilter.GaussianBlur(2.0)), dtype=np.float32) / 255
        a = 0.15 + 0.7 * a * np.array([1.08, 0.97, 0.82], dtype=np.float32)
        grain = 0.05
    a = a + rng.normal(0, grain, a.shape).astype(np.float32)
    return np.uint8(np.clip(a, 0, 1) * 255 + 0.5), np.asarray(mask, dtype=np.uint8)


def write_split(root, name, camera, labelled, n=2):
    rng = np.random.default_rng(SEEDS[name])
    xs, ys = [], []
    for i in range(n):
        img, m = make_photo(rng, camera)
        os.makedirs(os.path.join(root, "data", name, "images"), exist_ok=True)
        Image.fromarray(img, "RGB").save(os.path.join(root, "data", name, "images", f"photo{i}.png"))
        if labelled:
            os.makedirs(os.path.join(root, "data", name, "masks"), exist_ok=True)
            Image.fromarray(m, "L").save(os.path.join(root, "data", name, "masks", f"photo{i}.png"))
        xs.append(img)
        ys.append(m)
    return np.stack(xs), np.stack(ys)


def to_tensor(x_u8):
    return torch.from_numpy(x_u8.astype(np.float32) / 255).permute(0, 3, 1, 2).contiguous()


def gflop(net):
    """Multiply-adds x 2 of the convolutions for one 1024² image (hooks on a 1x3x1024x1024 run)."""
    total = [0]

    def hook(m, inp, out):
        k = m.kernel_size[0] * m.kernel_size[1] * m.in_channels // m.groups
        total[0] += 2 * k * out.numel()

    hs = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        net(torch.zeros(1, 3, SIZE, SIZE))
    for h in hs:
        h.remove()
    return total[0] / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--out", default=OUT)
    a = ap.parse_args()
    out = os.path.abspath(a.out)
    t0 = time.time()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    os.makedirs(out, exist_ok=True)
    tr_x, tr_y = write_split(out, "train", "A", True)
    ph_x, _ = write_split(out, "photos", "B", False)
    print(f"images written ({time.time() - t0:.1f} s); foreground share {tr_y.mean():.3f}", flush=True)

    net = NestedUNet()
    params = int(sum(p.numel() for p in net.parameters()))
    print(f"NestedUNet: {params / 1e6:.2f} M parameters", flush=True)
    rng = np.random.default_rng(0)
    x_all, y_all = to_tensor(tr_x), torch.from_numpy(tr_y.astype(np.int64))
    if a.steps > 0:
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        net.train()
        crop = 256
        for step in range(a.steps):
            xs, ys = [], []
            for _ in range(2):
                i = int(rng.integers(len(tr_x)))
                oy, ox = (int(v) for v in rng.integers(0, SIZE - crop + 1, size=2))
                xs.append(x_all[i, :, oy:oy + crop, ox:ox + crop])
                ys.append(y_all[i, oy:oy + crop, ox:ox + crop])
            loss = F.cross_entropy(net(torch.stack(xs)), torch.stack(ys), weight=torch.tensor([1.0, 3.0]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            print(f"step {step:3d}  loss {loss.item():.4f}  ({time.time() - t0:.0f} s)", flush=True)
    # BatchNorm statistics of the full-size images (cumulative average over the 4 images)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    net.train()
    with torch.no_grad():
        for x in list(x_all) + list(to_tensor(ph_x)):
            net(x[None])
    net.eval()
    with torch.no_grad():
        pred = net(x_all[:1]).argmax(1).numpy()
    flops = gflop(net)
    torch.onnx.export(net, torch.zeros(1, 3, SIZE, SIZE), os.path.join(out, "model.onnx"), input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13, do_constant_folding=True)
    dataset = {
        "task": "segmentation",
        "classes": ["background", "ellipse"],
        "input": {"layout": "NCHW", "size": [SIZE, SIZE], "channels": 3, "scale": 1.0 / 255.0, "mean": [0.0], "std": [1.0]},
        "splits": {
            "train": {"images": "data/train/images", "labels": "data/train/masks"},
            "photos": {"images": "data/photos/images"},
        },
    }
    with open(os.path.join(out, "unetlens.json"), "w") as f:
        json.dump(dataset, f, indent=2)
        f.write("\n")
    info = {
        "model": "NestedUNet (scripts/make_bench_nested.py): UNet++ dense skip nodes over a ResNet-34-like encoder, "
                 f"widths {'/'.join(map(str, WIDTHS))}, blocks {'/'.join(map(str, BLOCKS))}",
        "parameters": params,
        "gflopPerImage": round(flops, 1),
        "input": [1, 3, SIZE, SIZE],
        "weights": f"{a.steps} Adam steps on 256² crops + BatchNorm statistics of the 4 images" if a.steps else "random (seed 0) + BatchNorm statistics of the 4 images",
        "predictedForegroundShareTrain0": round(float(pred.mean()), 4),
        "trueForegroundShareTrain0": round(float((tr_y[0] == 1).mean()), 4),
        "seconds": round(time.time() - t0, 1),
    }
    with open(os.path.join(out, "info.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    print(json.dumps(info))


if __name__ == "__main__":
    main()
