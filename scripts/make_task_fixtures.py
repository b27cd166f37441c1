"""Tiny models and datasets for the pipeline tests of the three tasks and of its failure modes
(test/integration/pipeline.test.ts, pipelineShifts.test.ts), with reference numbers computed here independently of the
TypeScript code.

Run with Debian's Python (torch 1.13, onnx 1.12, scikit-image 0.19):

    /usr/bin/python3 scripts/make_task_fixtures.py

Writes test/fixtures/tasks/ (a few KB per file):

  classification/   a small CNN classifier (3 classes: hbar, vbar, blob) exported twice:
                    classifier.onnx with an N×K output (global average pool, Flatten, Gemm) and
                    classifier_conv.onnx with an N×K×1×1 output (1×1 conv head); 16×16 grey
                    images as uint8 .npy files in folders, labels in CSV files (file,label)
                    with a few deliberate annotation errors (so accuracy is not 1); splits
                    train, test and an unlabeled "shifted" (darker, noisier).
  denoise/          a small denoising UNet (one output channel, no activation); images and
                    targets as single N×16×16 uint8 .npy arrays; splits train, test and an
                    unlabeled "noisier".
  unet3d/           a small 3D UNet (2 classes) on 8×16×16 uint8 .npy volumes in folders
                    (layout NCDHW); splits train, test, unlabeled "extra".
  seg2d/            16×16 grey segmentation (2 classes), .npy files in folders; three models:
                    seg2d.onnx (a plain tiny UNet, for the failure-mode tests),
                    nan_tap.onnx (an interior ReLU tap holds ±Inf/NaN — the log of a ReLU
                    output that is exactly 0 in one channel, through a conv — while the
                    prediction stays finite: the non-finite values are replaced by 0 before
                    the head), nan_output.onnx (the prediction is the log of a conv output
                    that is negative somewhere: NaN).
  expected.json     per task and split the performance the engine must report, computed from
                    the PyTorch forward pass on the same preprocessed inputs:
                    - classification: accuracy (argmax of the scores; the script checks that
                      every top-2 margin is > 1e-3, so float32 differences between PyTorch and
                      onnxruntime cannot flip a prediction);
                    - regression: pooled MSE (NumPy), PSNR = 10·log10(R²/MSE) and SSIM = mean
                      over images of skimage.metrics.structural_similarity(target, prediction,
                      data_range=R) in float64, with R = max − min of the preprocessed train
                      targets (the engine's documented choice);
                    - 3D segmentation: pooled Dice of class 1 and pixel accuracy (margins
                      > 1e-4 checked likewise);
                    and the name of nan_tap.onnx's non-finite tap.

Preprocessing (as the dataset files say): x = (raw / 255 − 0.5) / 0.25 for classification and
regression (the regression targets likewise), x = raw / 255 for the segmentation fixtures.
"""
import json
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from skimage.metrics import structural_similarity

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "tasks")


def save_npy(path, a):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.save(path, a)


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def export(model, example, path):
    model.eval()
    torch.onnx.export(model, example, path, opset_version=13, input_names=["image"], output_names=["prediction"],
                      dynamic_axes={"image": {0: "batch"}, "prediction": {0: "batch"}}, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))


def train(model, x, loss_fn, y, steps, lr=0.03, seed=0):
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    model.eval()
    return float(loss)


# ----------------------------------------------------------------------------- classification

CLASSES = ["hbar", "vbar", "blob"]


def class_image(rng, k, dark=False):
    img = rng.normal(40, 12, (16, 16))
    fg = 190 if not dark else 120
    if k == 0:
        r = rng.integers(3, 12)
        c0 = rng.integers(0, 5)
        img[r:r + 3, c0:c0 + 11] = fg
    elif k == 1:
        c = rng.integers(3, 12)
        r0 = rng.integers(0, 5)
        img[r0:r0 + 11, c:c + 3] = fg
    else:
        cy, cx = rng.integers(5, 11, 2)
        yy, xx = np.mgrid[0:16, 0:16]
        img[(yy - cy) ** 2 + (xx - cx) ** 2 <= 9] = fg
    if dark:
        img += rng.normal(0, 25, (16, 16))
    return np.clip(img, 0, 255).astype(np.uint8)


class Classifier(nn.Module):
    def __init__(self, conv_head=False):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(4, 8, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.conv_head = conv_head
        self.head = nn.Conv2d(8, 3, 1) if conv_head else nn.Linear(8, 3)

    def forward(self, x):
        f = self.gap(self.relu2(self.conv2(self.pool(self.relu1(self.conv1(x))))))
        return self.head(f) if self.conv_head else self.head(torch.flatten(f, 1))


def norm_cls(raw):
    return ((raw.astype(np.float64) / 255.0 - 0.5) / 0.25).astype(np.float32)


def make_classification(expected):
    out = os.path.join(ROOT, "classification")
    rng = np.random.default_rng(11)
    splits = {}
    for name, n, dark, labeled in [("train", 18, False, True), ("test", 9, False, True), ("shifted", 6, True, False)]:
        ks = [i % 3 for i in range(n)]
        rng.shuffle(ks)
        imgs = [class_image(rng, k, dark) for k in ks]
        files = []
        for i, (img, k) in enumerate(zip(imgs, ks)):
            f = f"img{i:03d}.npy"
            save_npy(os.path.join(out, "data", name, f), img)
            files.append(f)
        if labeled:
            # a few annotation errors (the first image of train, the first two of test), so that
            # accuracy is not trivially 1
            wrong = {"train": 1, "test": 2}[name]
            ks = [(k + 1) % 3 if i < wrong else k for i, k in enumerate(ks)]
            with open(os.path.join(out, "data", f"{name}.csv"), "w") as fh:
                fh.write("file,label\n")
                for f, k in zip(files, ks):
                    fh.write(f"{f},{CLASSES[k]}\n")
        splits[name] = (np.stack(imgs), np.array(ks), labeled)
    x_train = torch.from_numpy(norm_cls(splits["train"][0])[:, None])
    y_train = torch.from_numpy(splits["train"][1]).long()
    res = {}
    for fname, conv_head in [("classifier.onnx", False), ("classifier_conv.onnx", True)]:
        for seed in range(20):
            torch.manual_seed(seed)
            m = Classifier(conv_head)
            lossf = (lambda o, y: F.cross_entropy(o.flatten(1), y))
            train(m, x_train, lossf, y_train, 25, lr=0.05, seed=seed)
            ok = True
            acc = {}
            for name, (imgs, ks, labeled) in splits.items():
                with torch.no_grad():
                    s = m(torch.from_numpy(norm_cls(imgs)[:, None])).flatten(1).numpy().astype(np.float64)
                top = np.sort(s, axis=1)
                if np.min(top[:, -1] - top[:, -2]) <= 1e-3:
                    ok = False
                if labeled:
                    acc[name] = float(np.mean(np.argmax(s, axis=1) == ks))
            if ok:
                break
        else:
            raise SystemExit(f"{fname}: no seed without near-ties")
        export(m, torch.zeros(1, 1, 16, 16), os.path.join(out, fname))
        res[fname] = {"accuracy": acc}
        print(f"{fname}: accuracy {acc}, {os.path.getsize(os.path.join(out, fname))} bytes")
    write_json(os.path.join(out, "unetlens.json"), {
        "task": "classification",
        "classes": CLASSES,
        "input": {"layout": "NCHW", "channels": 1, "scale": 1 / 255, "mean": [0.5], "std": [0.25]},
        "splits": {
            "train": {"images": "data/train", "labels": "data/train.csv"},
            "test": {"images": "data/test", "labels": "data/test.csv"},
            "shifted": {"images": "data/shifted"},
        },
        "analysis": {"maxPoints": 100000, "k": 5, "seed": 0, "mapsPerSplit": 2},
    })
    expected["classification"] = res


# ----------------------------------------------------------------------------- regression

def clean_image(rng):
    yy, xx = np.mgrid[0:16, 0:16]
    img = 30 + 6 * xx + rng.normal(0, 1, ())
    for _ in range(2):
        cy, cx = rng.uniform(2, 14, 2)
        s = rng.uniform(2, 4)
        img = img + rng.uniform(60, 120) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
    return np.clip(img, 0, 255)


class Denoiser(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc_conv = nn.Conv2d(1, 4, 3, padding=1)
        self.enc_relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.mid_conv = nn.Conv2d(4, 8, 3, padding=1)
        self.mid_relu = nn.ReLU()
        self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.dec_conv = nn.Conv2d(8, 4, 3, padding=1)
        self.dec_relu = nn.ReLU()
        self.head = nn.Conv2d(4, 1, 1)

    def forward(self, x):
        e = self.enc_relu(self.enc_conv(x))
        m = self.mid_relu(self.mid_conv(self.pool(e)))
        d = self.dec_relu(self.dec_conv(torch.cat([self.up(m), e], 1)))
        return self.head(d) + x


def make_regression(expected):
    out = os.path.join(ROOT, "denoise")
    rng = np.random.default_rng(22)
    data = {}
    for name, n, sigma, labeled in [("train", 16, 18, True), ("test", 8, 18, True), ("noisier", 6, 40, False)]:
        clean = np.stack([clean_image(rng) for _ in range(n)])
        noisy = np.clip(clean + rng.normal(0, sigma, clean.shape), 0, 255).astype(np.uint8)
        clean = np.round(clean).astype(np.uint8)
        save_npy(os.path.join(out, "data", f"{name}_noisy.npy"), noisy)
        if labeled:
            save_npy(os.path.join(out, "data", f"{name}_clean.npy"), clean)
        data[name] = (noisy, clean, labeled)
    torch.manual_seed(3)
    m = Denoiser()
    x = torch.from_numpy(norm_cls(data["train"][0])[:, None])
    y = torch.from_numpy(norm_cls(data["train"][1])[:, None])
    loss = train(m, x, F.mse_loss, y, 300, lr=0.01, seed=3)
    export(m, torch.zeros(1, 1, 16, 16), os.path.join(out, "denoiser.onnx"))
    R = float(np.max(norm_cls(data["train"][1])).astype(np.float64) - np.min(norm_cls(data["train"][1])).astype(np.float64))
    res = {"dataRange": R, "splits": {}}
    for name, (noisy, clean, labeled) in data.items():
        if not labeled:
            continue
        with torch.no_grad():
            p = m(torch.from_numpy(norm_cls(noisy)[:, None])).numpy()[:, 0].astype(np.float64)
        t = norm_cls(clean).astype(np.float64)
        mse = float(np.mean((p - t) ** 2))
        psnr = float(10 * np.log10(R * R / mse))
        ssim = float(np.mean([structural_similarity(t[i], p[i], data_range=R) for i in range(len(t))]))
        res["splits"][name] = {"mse": mse, "psnr": psnr, "ssim": ssim}
    print(f"denoiser: train loss {loss:.4f}, R {R}, {res['splits']}, {os.path.getsize(os.path.join(out, 'denoiser.onnx'))} bytes")
    write_json(os.path.join(out, "unetlens.json"), {
        "task": "regression",
        "input": {"layout": "NCHW", "channels": 1, "scale": 1 / 255, "mean": [0.5], "std": [0.25]},
        "splits": {
            "train": {"images": "data/train_noisy.npy", "labels": "data/train_clean.npy"},
            "test": {"images": "data/test_noisy.npy", "labels": "data/test_clean.npy"},
            "noisier": {"images": "data/noisier_noisy.npy"},
        },
        "analysis": {"maxPoints": 100000, "k": 5, "seed": 0},
    })
    expected["regression"] = res


# ----------------------------------------------------------------------------- 3D segmentation

class UNet3D(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc_conv = nn.Conv3d(1, 4, 3, padding=1)
        self.enc_relu = nn.ReLU()
        self.pool = nn.MaxPool3d(2)
        self.mid_conv = nn.Conv3d(4, 8, 3, padding=1)
        self.mid_relu = nn.ReLU()
        self.up = nn.ConvTranspose3d(8, 4, 2, stride=2)
        self.dec_conv = nn.Conv3d(8, 4, 3, padding=1)
        self.dec_relu = nn.ReLU()
        self.head = nn.Conv3d(4, 2, 1)

    def forward(self, x):
        e = self.enc_relu(self.enc_conv(x))
        m = self.mid_relu(self.mid_conv(self.pool(e)))
        d = self.dec_relu(self.dec_conv(torch.cat([self.up(m), e], 1)))
        return self.head(d)


def volume(rng):
    zz, yy, xx = np.mgrid[0:8, 0:16, 0:16]
    cz, cy, cx = rng.uniform(2.5, 5.5), rng.uniform(5, 11), rng.uniform(5, 11)
    r = rng.uniform(2.5, 4)
    mask = ((zz - cz) * 1.6) ** 2 + (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    img = rng.normal(50, 15, mask.shape) + 130 * mask
    return np.clip(img, 0, 255).astype(np.uint8), mask.astype(np.uint8)


def dice_acc(pred, gt):
    inter = np.sum((pred == 1) & (gt == 1))
    dice = 2 * inter / (np.sum(pred == 1) + np.sum(gt == 1))
    return float(dice), float(np.mean(pred == gt))


def make_unet3d(expected):
    out = os.path.join(ROOT, "unet3d")
    rng = np.random.default_rng(33)
    data = {}
    for name, n, labeled in [("train", 6, True), ("test", 3, True), ("extra", 2, False)]:
        vols, masks = zip(*[volume(rng) for _ in range(n)])
        for i, (v, mk) in enumerate(zip(vols, masks)):
            save_npy(os.path.join(out, "data", name, "images", f"vol{i:02d}.npy"), v)
            if labeled:
                save_npy(os.path.join(out, "data", name, "masks", f"vol{i:02d}.npy"), mk)
        data[name] = (np.stack(vols), np.stack(masks), labeled)
    x = torch.from_numpy((data["train"][0].astype(np.float64) / 255).astype(np.float32)[:, None])
    y = torch.from_numpy(data["train"][1]).long()
    for seed in range(20):
        torch.manual_seed(seed)
        m = UNet3D()
        train(m, x, F.cross_entropy, y, 60, lr=0.03, seed=seed)
        ok = True
        res = {}
        for name, (vols, masks, labeled) in data.items():
            with torch.no_grad():
                lo = m(torch.from_numpy((vols.astype(np.float64) / 255).astype(np.float32)[:, None])).numpy().astype(np.float64)
            if np.min(np.abs(lo[:, 1] - lo[:, 0])) <= 1e-4:
                ok = False
            if labeled:
                d, a = dice_acc(np.argmax(lo, axis=1), masks)
                res[name] = {"dice": d, "accuracy": a}
        if ok:
            break
    else:
        raise SystemExit("unet3d: no seed without near-ties")
    export(m, torch.zeros(1, 1, 8, 16, 16), os.path.join(out, "unet3d.onnx"))
    print(f"unet3d: {res}, {os.path.getsize(os.path.join(out, 'unet3d.onnx'))} bytes")
    write_json(os.path.join(out, "unetlens.json"), {
        "task": "segmentation",
        "classes": ["background", "blob"],
        "input": {"layout": "NCDHW", "size": [8, 16, 16], "channels": 1, "scale": 1 / 255, "mean": [0.0], "std": [1.0]},
        "splits": {
            "train": {"images": "data/train/images", "labels": "data/train/masks"},
            "test": {"images": "data/test/images", "labels": "data/test/masks"},
            "extra": {"images": "data/extra/images"},
        },
        "analysis": {"maxPoints": 100000, "k": 5, "seed": 0, "mapsPerSplit": 1},
    })
    expected["unet3d"] = res


# ----------------------------------------------------------------------------- 2D segmentation, NaN

class Seg2D(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.head = nn.Conv2d(8, 2, 1)

    def forward(self, x):
        e = self.relu1(self.conv1(x))
        m = self.relu2(self.conv2(self.pool(e)))
        return self.head(torch.cat([self.up(m), e], 1))


class NanTap(nn.Module):
    """conv1 → ReLU (channel 0 is 0 everywhere: weights 0, bias −1) → log (−Inf there) →
    conv2 → ReLU: +Inf/NaN at every location (the tap); the prediction reads it only through
    where(isfinite, ·, 0)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.head = nn.Conv2d(8, 2, 1)
        with torch.no_grad():
            self.conv1.weight[0].zero_()
            self.conv1.bias[0] = -1.0
            self.conv2.weight[:, 0].fill_(-0.5)

    def forward(self, x):
        e = self.relu1(self.conv1(x))
        r = self.relu2(self.conv2(torch.log(e)))
        z = torch.where(torch.isnan(r) | torch.isinf(r), torch.zeros_like(r), r)
        return self.head(torch.cat([e, z], 1))


class NanOutput(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.head = nn.Conv2d(4, 2, 1)
        with torch.no_grad():
            self.head.bias.fill_(-5.0)

    def forward(self, x):
        return torch.log(self.head(self.relu1(self.conv1(x))))


def seg_image(rng):
    yy, xx = np.mgrid[0:16, 0:16]
    cy, cx = rng.uniform(4, 12, 2)
    r = rng.uniform(2.5, 4.5)
    mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    img = rng.normal(60, 15, mask.shape) + 120 * mask
    return np.clip(img, 0, 255).astype(np.uint8), mask.astype(np.uint8)


def make_seg2d(expected):
    out = os.path.join(ROOT, "seg2d")
    rng = np.random.default_rng(44)
    data = {}
    for name, n in [("train", 6), ("test", 4)]:
        imgs, masks = zip(*[seg_image(rng) for _ in range(n)])
        for i, (im, mk) in enumerate(zip(imgs, masks)):
            save_npy(os.path.join(out, "data", name, "images", f"case{i:02d}.npy"), im)
            save_npy(os.path.join(out, "data", name, "masks", f"case{i:02d}.npy"), mk)
        data[name] = (np.stack(imgs), np.stack(masks))
    x = torch.from_numpy((data["train"][0].astype(np.float64) / 255).astype(np.float32)[:, None])
    y = torch.from_numpy(data["train"][1]).long()
    torch.manual_seed(5)
    m = Seg2D()
    train(m, x, F.cross_entropy, y, 80, lr=0.03, seed=5)
    export(m, torch.zeros(1, 1, 16, 16), os.path.join(out, "seg2d.onnx"))

    torch.manual_seed(6)
    nt = NanTap().eval()
    with torch.no_grad():
        inner = {}
        nt.relu2.register_forward_hook(lambda mod, i, o: inner.__setitem__("r", o))
        p = nt(x)
    assert torch.isfinite(p).all(), "nan_tap: the prediction must stay finite"
    assert not torch.isfinite(inner["r"]).all(), "nan_tap: the tap must hold Inf/NaN"
    path = os.path.join(out, "nan_tap.onnx")
    export(nt, torch.zeros(1, 1, 16, 16), path)
    g = onnx.load(path).graph
    relus = [n for n in g.node if n.op_type == "Relu"]
    producers = {o: n for n in g.node for o in n.output}
    def op_of(value):
        return producers[value].op_type if value in producers else None

    tap = next(n.output[0] for n in relus if op_of(n.input[0]) == "Conv" and op_of(producers[n.input[0]].input[0]) == "Log")

    torch.manual_seed(7)
    no = NanOutput().eval()
    with torch.no_grad():
        assert torch.isnan(no(x)).any(), "nan_output: the prediction must hold NaN"
    export(no, torch.zeros(1, 1, 16, 16), os.path.join(out, "nan_output.onnx"))
    write_json(os.path.join(out, "unetlens.json"), {
        "task": "segmentation",
        "classes": ["background", "disc"],
        "input": {"layout": "NCHW", "channels": 1, "scale": 1 / 255, "mean": [0.0], "std": [1.0]},
        "splits": {
            "train": {"images": "data/train/images", "labels": "data/train/masks"},
            "test": {"images": "data/test/images", "labels": "data/test/masks"},
        },
        "analysis": {"maxPoints": 100000, "k": 5, "seed": 0, "mapsPerSplit": 1},
    })
    expected["seg2d"] = {"nanTap": tap}
    print(f"seg2d: nan tap {tap}")


def main():
    os.makedirs(ROOT, exist_ok=True)
    expected = {}
    make_classification(expected)
    make_regression(expected)
    make_unet3d(expected)
    make_seg2d(expected)
    write_json(os.path.join(ROOT, "expected.json"), expected)
    return 0


if __name__ == "__main__":
    sys.exit(main())
