#!/usr/bin/python3
"""Build the LARGE benchmark case of UNet Lens: bench/.data/ (git-ignored, regenerated here).

Run from anywhere with Debian's Python (torch 1.13, onnx, numpy, scipy, PIL):

    /usr/bin/python3 scripts/make_bench_model.py            # 3-5 minutes on 2 cores

Writes
    bench/.data/model.onnx          opset 13, input `image` N x 1 x 256 x 256 (dynamic batch),
                                    output `logits` N x 2 x 256 x 256 (background / lesion)
    bench/.data/model.pt            the same network's PyTorch state_dict (class BenchUNet below)
    bench/.data/unetlens.json       the dataset file (maxPoints 4096, k 10, seed 0, taps auto)
    bench/.data/data/{train,test}/{images,masks}/caseNNN.png   100 + 100 labelled images
    bench/.data/data/siteB/images/caseNNN.png                  100 unlabelled images
    bench/.data/info.json           what was built (architecture, steps, Dice, seconds)

The network (BenchUNet): a 2D UNet with 4 down-sampling levels, base width 32:
    enc1 32 @256² -> pool1 -> enc2 64 @128² -> pool2 -> enc3 128 @64² -> pool3 -> enc4 256 @32²
    -> pool4 -> bottleneck 512 @16² -> up4 (ConvTranspose 2x2/2) + enc4 -> dec4 256 -> up3 + enc3
    -> dec3 128 -> up2 + enc2 -> dec2 64 -> up1 + enc1 -> dec1 32 -> head 1x1 -> 2 logits.
Every block is Conv3x3+ReLU twice (no BatchNorm, like the bundled example, so the ONNX graph is
plain Conv/Relu/MaxPool/ConvTranspose/Concat); ~7.8 M parameters, ~24 GFLOP per 256x256 image.
`auto` taps: 27 (every ReLU after a conv, the 4 pools, the 4 up-convolutions, the logits).

Training is not the point of the benchmark, only that predictions are not constant: 120 Adam
steps on random 64x64 crops (batch 4) of the train split, cross-entropy + soft Dice. The UNet is
fully convolutional, so the crops train the same weights that run on 256x256.

Images: 256x256 8-bit grey: smooth texture + shading, 1-4 soft bright ellipses ("lesions",
semi-axes 6-24 px) = class 1, a few small bright dots that are not lesions. siteB: the same
scenes through a "different scanner" (blur, lower gain, gamma, more noise). Masks: pixel value =
class index. Deterministic data (fixed seeds); training uses fixed seeds too.
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from scipy.ndimage import gaussian_filter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "bench", ".data")
SIZE = 256
N_PER_SPLIT = 100
SEEDS = {"train": 11, "test": 22, "siteB": 33}
TORCH_SEED = 0
STEPS = 120
BATCH = 4
CROP = 64
LR = 1e-3


# --------------------------------------------------------------------------- model
class Block(nn.Module):
    """Conv3x3 -> ReLU -> Conv3x3 -> ReLU, each step its own named module."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, kernel_size=3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, kernel_size=3, padding=1)
        self.relu2 = nn.ReLU()

    def forward(self, x):
        return self.relu2(self.conv2(self.relu1(self.conv1(x))))


class BenchUNet(nn.Module):
    """4-level UNet, widths 32/64/128/256, bottleneck 512."""

    def __init__(self, in_channels: int = 1, num_classes: int = 2, base: int = 32):
        super().__init__()
        b = base
        self.enc1 = Block(in_channels, b)
        self.pool1 = nn.MaxPool2d(2)
        self.enc2 = Block(b, 2 * b)
        self.pool2 = nn.MaxPool2d(2)
        self.enc3 = Block(2 * b, 4 * b)
        self.pool3 = nn.MaxPool2d(2)
        self.enc4 = Block(4 * b, 8 * b)
        self.pool4 = nn.MaxPool2d(2)
        self.bottleneck = Block(8 * b, 16 * b)
        self.up4 = nn.ConvTranspose2d(16 * b, 8 * b, kernel_size=2, stride=2)
        self.dec4 = Block(16 * b, 8 * b)
        self.up3 = nn.ConvTranspose2d(8 * b, 4 * b, kernel_size=2, stride=2)
        self.dec3 = Block(8 * b, 4 * b)
        self.up2 = nn.ConvTranspose2d(4 * b, 2 * b, kernel_size=2, stride=2)
        self.dec2 = Block(4 * b, 2 * b)
        self.up1 = nn.ConvTranspose2d(2 * b, b, kernel_size=2, stride=2)
        self.dec1 = Block(2 * b, b)
        self.head = nn.Conv2d(b, num_classes, kernel_size=1)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool1(e1))
        e3 = self.enc3(self.pool2(e2))
        e4 = self.enc4(self.pool3(e3))
        bn = self.bottleneck(self.pool4(e4))
        d4 = self.dec4(torch.cat([self.up4(bn), e4], dim=1))
        d3 = self.dec3(torch.cat([self.up3(d4), e3], dim=1))
        d2 = self.dec2(torch.cat([self.up2(d3), e2], dim=1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], dim=1))
        return self.head(d1)


def load_bench_model(path: str) -> BenchUNet:
    net = BenchUNet()
    net.load_state_dict(torch.load(path, map_location="cpu"))
    net.eval()
    return net


# --------------------------------------------------------------------------- data
def make_case(rng: np.random.Generator, site: str):
    """One image (float in [0, 1]) and its mask (uint8 0/1), SIZE x SIZE."""
    n = SIZE
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64)
    tex = gaussian_filter(rng.standard_normal((n, n)), sigma=6.0)
    tex /= tex.std() + 1e-8
    g = rng.uniform(-1, 1, size=2)
    img = 0.35 + 0.06 * tex + (g[0] * (xx / n - 0.5) + g[1] * (yy / n - 0.5)) * 0.12

    mask = np.zeros((n, n), dtype=bool)
    lesion = np.zeros((n, n))
    for _ in range(rng.integers(1, 5)):
        a, b = rng.uniform(6.0, 24.0, size=2)
        th = rng.uniform(0, np.pi)
        cy, cx = rng.uniform(24, n - 24, size=2)
        c = rng.uniform(0.18, 0.40)
        u = ((xx - cx) * np.cos(th) + (yy - cy) * np.sin(th)) / a
        v = (-(xx - cx) * np.sin(th) + (yy - cy) * np.cos(th)) / b
        inside = u * u + v * v <= 1.0
        mask |= inside
        lesion = np.maximum(lesion, c * gaussian_filter(inside.astype(np.float64), 1.2))
    for _ in range(rng.integers(0, 6)):
        cy, cx = rng.uniform(2, n - 2, size=2)
        r = rng.uniform(1.0, 2.5)
        img += rng.uniform(0.15, 0.3) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
    img += lesion * (1.0 + 0.15 * tex)

    if site == "B":
        img = gaussian_filter(img, sigma=1.2)
        img = np.clip(0.55 * img + 0.22, 0, 1) ** 1.25
        img += rng.normal(0, 0.07, size=(n, n))
    else:
        img += rng.normal(0, 0.035, size=(n, n))
    return np.clip(img, 0, 1), mask.astype(np.uint8)


def write_split(name, site, with_masks):
    rng = np.random.default_rng(SEEDS[name])
    base = os.path.join(OUT, "data", name)
    img_dir = os.path.join(base, "images")
    mask_dir = os.path.join(base, "masks")
    os.makedirs(img_dir, exist_ok=True)
    if with_masks:
        os.makedirs(mask_dir, exist_ok=True)
    imgs, masks = [], []
    for i in range(N_PER_SPLIT):
        img, mask = make_case(rng, site)
        u8 = np.round(img * 255.0).astype(np.uint8)
        fn = f"case{i:03d}.png"
        Image.fromarray(u8, mode="L").save(os.path.join(img_dir, fn))
        if with_masks:
            Image.fromarray(mask, mode="L").save(os.path.join(mask_dir, fn))
        imgs.append(u8)
        masks.append(mask)
    return np.stack(imgs), np.stack(masks)


# --------------------------------------------------------------------------- training
def to_input(u8):
    return torch.from_numpy(u8.astype(np.float32) / 255.0)[:, None]


def train(x_u8, y_u8):
    torch.manual_seed(TORCH_SEED)
    torch.set_num_threads(2)
    rng = np.random.default_rng(TORCH_SEED)
    net = BenchUNet()
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=STEPS)
    x_all = to_input(x_u8)
    y_all = torch.from_numpy(y_u8.astype(np.int64))
    weight = torch.tensor([1.0, 3.0])
    net.train()
    for step in range(STEPS):
        idx = rng.choice(len(x_all), BATCH, replace=False)
        xs, ys = [], []
        for i in idx:
            # Crops centred near a lesion pixel half of the time, else anywhere.
            if rng.random() < 0.5 and y_u8[i].any():
                pts = np.argwhere(y_u8[i])
                cy, cx = pts[rng.integers(len(pts))] + rng.integers(-CROP // 3, CROP // 3 + 1, size=2)
            else:
                cy, cx = rng.integers(0, SIZE, size=2)
            y0 = int(np.clip(cy - CROP // 2, 0, SIZE - CROP))
            x0 = int(np.clip(cx - CROP // 2, 0, SIZE - CROP))
            xs.append(x_all[i, :, y0:y0 + CROP, x0:x0 + CROP])
            ys.append(y_all[i, y0:y0 + CROP, x0:x0 + CROP])
        x, y = torch.stack(xs), torch.stack(ys)
        k = int(rng.integers(0, 4))
        x, y = torch.rot90(x, k, (2, 3)).contiguous(), torch.rot90(y, k, (1, 2)).contiguous()
        logits = net(x)
        ce = F.cross_entropy(logits, y, weight=weight)
        p = logits.softmax(1)[:, 1]
        t = (y == 1).float()
        loss = ce + 1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 25 == 0 or step == STEPS - 1:
            print(f"step {step:4d}  loss {loss.item():.4f}", flush=True)
    net.eval()
    return net


def predict(net, u8, batch=10):
    out = []
    with torch.no_grad():
        for s in range(0, len(u8), batch):
            out.append(net(to_input(u8[s:s + batch])).argmax(1).numpy().astype(np.uint8))
    return np.concatenate(out)


def pooled_dice(pred, truth):
    p, t = pred == 1, truth == 1
    denom = p.sum() + t.sum()
    return float(2 * np.logical_and(p, t).sum() / denom) if denom else 1.0


def main():
    t_all = time.time()
    os.makedirs(OUT, exist_ok=True)
    tr_x, tr_y = write_split("train", "A", True)
    te_x, te_y = write_split("test", "A", True)
    sb_x, sb_y = write_split("siteB", "B", False)
    print(f"data: {N_PER_SPLIT} images per split, lesion share train {tr_y.mean():.3f} "
          f"test {te_y.mean():.3f} siteB {sb_y.mean():.3f} ({time.time() - t_all:.1f} s)", flush=True)

    t0 = time.time()
    net = train(tr_x, tr_y)
    train_s = time.time() - t0
    torch.save(net.state_dict(), os.path.join(OUT, "model.pt"))
    torch.onnx.export(
        net, torch.zeros(1, 1, SIZE, SIZE), os.path.join(OUT, "model.onnx"),
        input_names=["image"], output_names=["logits"],
        dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=13, do_constant_folding=True,
    )

    dataset = {
        "task": "segmentation",
        "classes": ["background", "lesion"],
        "input": {"layout": "NCHW", "size": [SIZE, SIZE], "channels": 1,
                  "scale": 1.0 / 255.0, "mean": [0.0], "std": [1.0]},
        "splits": {
            "train": {"images": "data/train/images", "labels": "data/train/masks"},
            "test": {"images": "data/test/images", "labels": "data/test/masks"},
            "siteB": {"images": "data/siteB/images"},
        },
        "model": {"output": "auto", "activation": "auto"},
        "analysis": {"maxPoints": 4096, "k": 10, "seed": 0, "taps": "auto", "maxTaps": 64},
    }
    with open(os.path.join(OUT, "unetlens.json"), "w") as f:
        json.dump(dataset, f, indent=2)
        f.write("\n")

    # Quick sanity figures on 20 images per split (full-size inference is ~24 GFLOP/image).
    dice = {
        "train": pooled_dice(predict(net, tr_x[:20]), tr_y[:20]),
        "test": pooled_dice(predict(net, te_x[:20]), te_y[:20]),
        "siteB": pooled_dice(predict(net, sb_x[:20]), sb_y[:20]),
    }
    pred_share = float(predict(net, te_x[:5]).mean())
    info = {
        "model": "BenchUNet (scripts/make_bench_model.py): 4 levels, widths 32/64/128/256, bottleneck 512, "
                 "Conv3x3+ReLU x2 per block, MaxPool down, ConvTranspose 2x2/2 up, concat skips, 1x1 head",
        "parameters": int(sum(p.numel() for p in net.parameters())),
        "input": [1, SIZE, SIZE],
        "imagesPerSplit": N_PER_SPLIT,
        "training": {"steps": STEPS, "batch": BATCH, "crop": CROP, "lr": LR, "seconds": round(train_s, 1)},
        "diceFirst20": {k: round(v, 4) for k, v in dice.items()},
        "lesionShareTruth": {"train": round(float(tr_y.mean()), 4), "test": round(float(te_y.mean()), 4),
                             "siteB": round(float(sb_y.mean()), 4)},
        "lesionSharePredictedTest5": round(pred_share, 4),
        "seconds": round(time.time() - t_all, 1),
        "torch": torch.__version__,
    }
    with open(os.path.join(OUT, "info.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    print(json.dumps(info, indent=2))


if __name__ == "__main__":
    sys.exit(main())
