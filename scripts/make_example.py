#!/usr/bin/python3
"""Build the bundled example of UNet Lens: examples/synthetic/.

Run from the repository root with Debian's Python (it has torch, onnx, numpy, PIL):

    /usr/bin/python3 scripts/make_example.py

Deterministic (fixed seeds, one torch thread): every output file is byte-identical on
re-runs except trainingSeconds in training-log.json. About 1.5 minutes on this machine.
It writes

    examples/synthetic/data/{train,test}/{images,masks}/caseNNN.png
    examples/synthetic/data/siteB/images/caseNNN.png
    examples/synthetic/data/siteB/masks_hidden/caseNNN.png   (truth for checks only;
                                                             NOT referenced by unetlens.json)
    examples/synthetic/model.onnx, model.pt, unetlens.json, training-log.json

Images: 64x64 8-bit grey. Masks: 64x64 8-bit grey whose pixel value IS the class index
(0 = background, 1 = lesion), so they look black in an image viewer.
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from scipy.ndimage import gaussian_filter

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from example_unet import ExampleUNet  # noqa: E402

ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "examples", "synthetic")
SIZE = 64
N_TRAIN, N_TEST, N_SITEB = 48, 24, 24
SEEDS = {"train": 1001, "test": 2002, "siteB": 3003}
TORCH_SEED = 0
STEPS = 900
BATCH = 16
LR = 3e-3


# --------------------------------------------------------------------------- data
def make_case(rng: np.random.Generator, site: str, *, axes=(3.0, 10.0), contrast=(0.18, 0.40),
              lesions=(1, 4), dots=(0, 4), dot_radius=(0.8, 1.6), tex_sigma=3.0, tex_amp=0.06,
              noise=0.035):
    """One image (float in [0, 1]) and its mask (uint8 0/1).

    The keyword arguments (lesion semi-axes, lesion contrast, number of lesions [low, high),
    number of distractor dots [low, high) and their radius, background texture scale and
    amplitude, site-A noise sigma) exist for scripts/make_zoo.py's shifted sets; their
    defaults are the example's, and they change values drawn, never the number of draws, so
    the example's data is unchanged.
    """
    n = SIZE
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64)

    # Background: smooth "tissue" texture + a shading gradient.
    tex = gaussian_filter(rng.standard_normal((n, n)), sigma=tex_sigma)
    tex /= tex.std() + 1e-8
    g = rng.uniform(-1, 1, size=2)
    shading = (g[0] * (xx / n - 0.5) + g[1] * (yy / n - 0.5)) * 0.12
    img = 0.35 + tex_amp * tex + shading

    # Lesions: 1-3 ellipses with soft edges and varied size and contrast.
    mask = np.zeros((n, n), dtype=bool)
    lesion = np.zeros((n, n))
    for _ in range(rng.integers(*lesions)):
        a, b = rng.uniform(*axes, size=2)
        th = rng.uniform(0, np.pi)
        cy, cx = rng.uniform(8, n - 8, size=2)
        c = rng.uniform(*contrast)
        u = ((xx - cx) * np.cos(th) + (yy - cy) * np.sin(th)) / a
        v = (-(xx - cx) * np.sin(th) + (yy - cy) * np.cos(th)) / b
        inside = u * u + v * v <= 1.0
        mask |= inside
        lesion = np.maximum(lesion, c * gaussian_filter(inside.astype(np.float64), 0.8))
    # A few small bright "vessel dots" that are not lesions (distractors).
    for _ in range(rng.integers(*dots)):
        cy, cx = rng.uniform(2, n - 2, size=2)
        r = rng.uniform(*dot_radius)
        dot = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
        img += rng.uniform(0.15, 0.3) * dot
    img += lesion * (1.0 + 0.15 * tex)

    return acquire(img, rng, site, noise), mask.astype(np.uint8)


def acquire(img, rng, site, noise):
    """The scanner's last step, any number of dimensions: site A adds noise; site B is a
    different scanner (blur, lower gain, raised floor, gamma, stronger noise). Clipped to 0..1."""
    if site == "B":
        img = gaussian_filter(img, sigma=0.9)
        img = 0.55 * img + 0.22
        img = np.clip(img, 0, 1) ** 1.25
        img += rng.normal(0, 0.07, size=img.shape)
    else:
        img += rng.normal(0, noise, size=img.shape)
    return np.clip(img, 0, 1)


def to_u8(img):
    return np.round(img * 255.0).astype(np.uint8)


def write_split(name, n, site, with_masks, hidden_masks=False):
    rng = np.random.default_rng(SEEDS[name])
    base = os.path.join(OUT, "data", name)
    img_dir = os.path.join(base, "images")
    mask_dir = os.path.join(base, "masks_hidden" if hidden_masks else "masks")
    os.makedirs(img_dir, exist_ok=True)
    if with_masks or hidden_masks:
        os.makedirs(mask_dir, exist_ok=True)
    imgs, masks = [], []
    for i in range(n):
        img, mask = make_case(rng, site)
        u8 = to_u8(img)
        fn = f"case{i:03d}.png"
        Image.fromarray(u8, mode="L").save(os.path.join(img_dir, fn), optimize=True)
        Image.fromarray(mask, mode="L").save(os.path.join(mask_dir, fn), optimize=True)
        imgs.append(u8)
        masks.append(mask)
    return np.stack(imgs), np.stack(masks)


# --------------------------------------------------------------------------- model
def to_input(u8):
    """unetlens.json: x = (raw * 1/255 - 0) / 1, NCHW."""
    return torch.from_numpy(u8.astype(np.float32) / 255.0)[:, None]


def pooled_dice(pred, truth):
    """Dice of the lesion class, pooled over the split (METHOD.md section 4)."""
    p, t = pred == 1, truth == 1
    inter = np.logical_and(p, t).sum()
    denom = p.sum() + t.sum()
    return float(2 * inter / denom) if denom else 1.0


def predict(net, u8):
    with torch.no_grad():
        return net(to_input(u8)).argmax(1).numpy().astype(np.uint8)


def augment(x, y, rng):
    """Random flips and 90-degree rotations, per batch (numpy RNG: deterministic)."""
    k = int(rng.integers(0, 4))
    x, y = torch.rot90(x, k, (2, 3)), torch.rot90(y, k, (1, 2))
    if rng.random() < 0.5:
        x, y = torch.flip(x, (3,)), torch.flip(y, (2,))
    return x.contiguous(), y.contiguous()


def train(x_u8, y_u8):
    torch.manual_seed(TORCH_SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # faster than 2 for this tiny net, and reproducible
    rng = np.random.default_rng(TORCH_SEED)
    net = ExampleUNet()
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=STEPS)
    x_all = to_input(x_u8)
    y_all = torch.from_numpy(y_u8.astype(np.int64))
    weight = torch.tensor([1.0, 2.0])  # lesions are ~10% of the pixels
    net.train()
    for step in range(STEPS):
        idx = torch.from_numpy(rng.choice(len(x_all), BATCH, replace=False))
        x, y = augment(x_all[idx], y_all[idx], rng)
        logits = net(x)
        ce = F.cross_entropy(logits, y, weight=weight)
        p = logits.softmax(1)[:, 1]
        t = (y == 1).float()
        soft_dice = 1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1)
        loss = ce + soft_dice
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == STEPS - 1:
            print(f"step {step:4d}  loss {loss.item():.4f}", flush=True)
    net.eval()
    return net


def export_onnx(net, path):
    dummy = torch.zeros(1, 1, SIZE, SIZE)
    torch.onnx.export(
        net, dummy, path,
        input_names=["image"], output_names=["logits"],
        dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=13, do_constant_folding=True,
    )


# --------------------------------------------------------------------------- main
def main():
    os.makedirs(OUT, exist_ok=True)
    tr_x, tr_y = write_split("train", N_TRAIN, "A", True)
    te_x, te_y = write_split("test", N_TEST, "A", True)
    sb_x, sb_y = write_split("siteB", N_SITEB, "B", False, hidden_masks=True)
    print(f"lesion pixel share: train {tr_y.mean():.3f}  test {te_y.mean():.3f}  "
          f"siteB {sb_y.mean():.3f}")

    t0 = time.time()
    net = train(tr_x, tr_y)
    train_s = time.time() - t0

    torch.save(net.state_dict(), os.path.join(OUT, "model.pt"))
    export_onnx(net, os.path.join(OUT, "model.onnx"))

    dice = {
        "train": pooled_dice(predict(net, tr_x), tr_y),
        "test": pooled_dice(predict(net, te_x), te_y),
        "siteB": pooled_dice(predict(net, sb_x), sb_y),
    }
    acc = {
        "train": float((predict(net, tr_x) == tr_y).mean()),
        "test": float((predict(net, te_x) == te_y).mean()),
        "siteB": float((predict(net, sb_x) == sb_y).mean()),
    }

    dataset = {
        "task": "segmentation",
        "classes": ["background", "lesion"],
        "input": {
            "layout": "NCHW",
            "size": [SIZE, SIZE],
            "channels": 1,
            "scale": 1.0 / 255.0,
            "mean": [0.0],
            "std": [1.0],
        },
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

    log = {
        "dice": {k: round(v, 4) for k, v in dice.items()},
        "pixelAccuracy": {k: round(v, 4) for k, v in acc.items()},
        "diceNote": "lesion-class Dice pooled over the split; siteB uses data/siteB/masks_hidden",
        "images": {"train": N_TRAIN, "test": N_TEST, "siteB": N_SITEB},
        "dataSeeds": SEEDS,
        "torchSeed": TORCH_SEED,
        "steps": STEPS,
        "batch": BATCH,
        "lr": LR,
        "loss": "cross-entropy (class weights 1, 2) + soft Dice of the lesion class",
        "trainingSeconds": round(train_s, 1),
        "torch": torch.__version__,
    }
    with open(os.path.join(OUT, "training-log.json"), "w") as f:
        json.dump(log, f, indent=2)
        f.write("\n")

    print(f"training time {train_s:.1f} s")
    for k in ("train", "test", "siteB"):
        print(f"dice {k:6s} {dice[k]:.4f}   pixel accuracy {acc[k]:.4f}")


if __name__ == "__main__":
    main()
