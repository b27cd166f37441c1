#!/usr/bin/python3
"""Build test/fixtures/series/: a checkpoint series whose generalization gap grows.

Run from the repository root with Debian's Python (torch, onnx, numpy, PIL):

    /usr/bin/python3 scripts/make_series_fixture.py

A tiny UNet (2 levels, widths 4/8/16) is trained on tiny 32x32 images of bright blobs and
exported to ONNX after every epoch:

- epochs 1..2 train on a clean pool (true masks; not one of the fixture's splits): Dice on
  the `test` split rises;
- epochs 3..7 train only on the `train` split, whose labels are the true masks DILATED by
  3 px (a biased annotator at the training site). The model learns to over-segment:
  its Dice against the train split's labels keeps rising and its Dice on `test` (true
  masks) falls. The generalization gap (train - test) grows after epoch 3, and test Dice
  peaks at epoch 3.

Written:
    test/fixtures/series/unetlens.json
    test/fixtures/series/data/{train,test}/{images,masks}/caseNN.png, data/siteB/images/
    test/fixtures/series/checkpoints/epoch_1.onnx … epoch_6.onnx
    test/fixtures/series/late/epoch_7.onnx       (held back: the e2e test copies it into
                                                  checkpoints/ to watch the timeline grow)
    test/fixtures/series/expected.json           (PyTorch's Dice per epoch and split, the peak)

Deterministic: fixed seeds, one torch thread.
"""
import json
import os
import shutil

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "series")
SIZE = 32
EPOCHS = 7
CLEAN_EPOCHS = 2
DILATE = 3
torch.set_num_threads(1)
torch.manual_seed(0)
WEIGHT = torch.tensor([1.0, 3.0])  # lesions are ~5% of the pixels


class Block(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.relu2 = nn.ReLU()

    def forward(self, x):
        return self.relu2(self.conv2(self.relu1(self.conv1(x))))


class TinyUNet(nn.Module):
    def __init__(self, b=4):
        super().__init__()
        self.enc1 = Block(1, b)
        self.pool1 = nn.MaxPool2d(2)
        self.enc2 = Block(b, 2 * b)
        self.pool2 = nn.MaxPool2d(2)
        self.bottleneck = Block(2 * b, 4 * b)
        self.up2 = nn.ConvTranspose2d(4 * b, 2 * b, 2, stride=2)
        self.dec2 = Block(4 * b, 2 * b)
        self.up1 = nn.ConvTranspose2d(2 * b, b, 2, stride=2)
        self.dec1 = Block(2 * b, b)
        self.head = nn.Conv2d(b, 2, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool1(e1))
        bn = self.bottleneck(self.pool2(e2))
        d2 = self.dec2(torch.cat([self.up2(bn), e2], 1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], 1))
        return self.head(d1)


def make_case(rng, brightness=1.0):
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    img = 0.2 + 0.05 * rng.standard_normal((SIZE, SIZE))
    mask = np.zeros((SIZE, SIZE), np.uint8)
    for _ in range(rng.integers(1, 3)):
        cy, cx = rng.uniform(7, SIZE - 7, 2)
        r = rng.uniform(2.5, 5.0)
        m = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        mask[m] = 1
        img[m] += 0.45
    img = np.clip(img * brightness, 0, 1)
    return (img * 255).round().astype(np.uint8), mask


def dilate(mask, r):
    t = torch.from_numpy(mask.astype(np.float32))[None, None]
    return (F.max_pool2d(t, 2 * r + 1, stride=1, padding=r)[0, 0].numpy() > 0).astype(np.uint8)


def make_set(seed, n, brightness=1.0):
    rng = np.random.default_rng(seed)
    cases = [make_case(rng, brightness) for _ in range(n)]
    return np.stack([c[0] for c in cases]), np.stack([c[1] for c in cases])


def to_x(imgs):
    return torch.from_numpy(imgs.astype(np.float32) / 255.0)[:, None]


def dice(net, imgs, masks):
    with torch.no_grad():
        pred = net(to_x(imgs)).argmax(1).numpy()
    inter = float(((pred == 1) & (masks == 1)).sum())
    return 2 * inter / float((pred == 1).sum() + (masks == 1).sum())


def write_pngs(folder, arr):
    os.makedirs(folder, exist_ok=True)
    for i, a in enumerate(arr):
        Image.fromarray(a).save(os.path.join(folder, f"case{i:02d}.png"), optimize=True)


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    pool_x, pool_y = make_set(11, 96)
    train_x, train_true = make_set(22, 12)
    train_y = np.stack([dilate(m, DILATE) for m in train_true])
    test_x, test_y = make_set(33, 12)
    site_x, site_true = make_set(44, 8, brightness=0.8)
    write_pngs(f"{OUT}/data/train/images", train_x)
    write_pngs(f"{OUT}/data/train/masks", train_y)
    write_pngs(f"{OUT}/data/test/images", test_x)
    write_pngs(f"{OUT}/data/test/masks", test_y)
    write_pngs(f"{OUT}/data/siteB/images", site_x)
    os.makedirs(f"{OUT}/checkpoints")
    os.makedirs(f"{OUT}/late")
    with open(f"{OUT}/unetlens.json", "w") as f:
        json.dump({
            "task": "segmentation",
            "classes": ["background", "lesion"],
            "input": {"layout": "NCHW", "size": [SIZE, SIZE], "channels": 1, "scale": 1 / 255},
            "splits": {
                "train": {"images": "data/train/images", "labels": "data/train/masks"},
                "test": {"images": "data/test/images", "labels": "data/test/masks"},
                "siteB": {"images": "data/siteB/images"},
            },
            "checkpoints": "checkpoints/epoch_*.onnx",
            "analysis": {"maxPoints": 256, "k": 5, "seed": 0, "mapsPerSplit": 1,
                         "shifts": {"images": 12, "maxPoints": 128, "families": ["noise", "gamma", "contrast"]}},
        }, f, indent=2)
        f.write("\n")

    net = TinyUNet()
    opt = torch.optim.Adam(net.parameters(), lr=5e-3)
    log = []
    for epoch in range(1, EPOCHS + 1):
        net.train()
        if epoch <= CLEAN_EPOCHS:
            xs, ys, steps = pool_x, pool_y, 60
        else:
            xs, ys, steps = train_x, train_y, 15
        g = torch.Generator().manual_seed(epoch)
        for _ in range(steps):
            idx = torch.randint(0, len(xs), (12,), generator=g).numpy()
            loss = F.cross_entropy(net(to_x(xs[idx])), torch.from_numpy(ys[idx].astype(np.int64)), weight=WEIGHT)
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        folder = "checkpoints" if epoch < EPOCHS else "late"
        path = f"{OUT}/{folder}/epoch_{epoch}.onnx"
        torch.onnx.export(net, to_x(test_x[:1]), path, opset_version=13, input_names=["image"],
                          output_names=["logits"], dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
        row = {"epoch": epoch, "file": f"{folder}/epoch_{epoch}.onnx",
               "dice": {"train": round(dice(net, train_x, train_y), 6), "test": round(dice(net, test_x, test_y), 6),
                        "siteB": round(dice(net, site_x, site_true), 6)}}
        row["gap"] = round(row["dice"]["train"] - row["dice"]["test"], 6)
        log.append(row)
        print(row)
    six = log[: EPOCHS - 1]
    peak = max(six, key=lambda r: r["dice"]["test"])
    second = sorted((r["dice"]["test"] for r in six), reverse=True)[1]
    assert peak["epoch"] == CLEAN_EPOCHS, f"test Dice should peak at epoch {CLEAN_EPOCHS}: {log}"
    assert peak["dice"]["test"] - second > 0.02, f"the peak should be clear: {log}"
    assert six[-1]["gap"] > six[CLEAN_EPOCHS - 1]["gap"] + 0.1, f"the gap should grow: {log}"
    with open(f"{OUT}/expected.json", "w") as f:
        json.dump({"note": "PyTorch's Dice (pooled over the split, class 1) per epoch; made by scripts/make_series_fixture.py",
                   "peakTestEpoch": peak["epoch"], "epochs": log}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
