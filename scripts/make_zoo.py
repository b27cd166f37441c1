#!/usr/bin/python3
"""Build the model zoo of the "performance without labels" benchmark (issue 5):
bench/.data/zoo/ (git-ignored, regenerated here).

Run from anywhere with Debian's Python (torch 1.13, onnx, numpy, scipy, PIL):

    /usr/bin/python3 scripts/make_zoo.py [--force] [--threads 1] [--task lesion|vessel|vol3d]

About 6-8 minutes on this 2-core machine from scratch (the wall time is printed and stored in
truth.json). If truth.json exists and --force is not given, it does nothing. Without --force a
model whose models/<name>.pt and models/<name>.json exist (with the same configuration) is not
retrained, so changing only the held-out sets costs seconds.

It writes, under bench/.data/zoo/:

    data/train/{images,masks}/caseNNN.png     80 labelled images (the example's generator, site A)
    data/test/{images,masks}/caseNNN.png      32 labelled images: what the engine shifts (noise,
                                              blur, gamma, contrast, scale) to calibrate
    data/<set>/images/caseNNN.png             24 images per HELD-OUT set, unlabelled in the
    data/<set>/masks_hidden/caseNNN.png       dataset file; the masks are for truth.json only
    models/<name>.onnx                        opset 13, input `image` N x 1 x 64 x 64 (dynamic
                                              batch), output `logits` N x 2 x 64 x 64
    models/<name>.pt, models/<name>.json      state_dict, and its training record
    unetlens.json                             one dataset file: train, test, every held-out set
    truth.json                                true pooled lesion Dice of every model on train,
                                              test and every held-out set; the models' and the
                                              sets' descriptions; wall time

Images come from scripts/make_example.py's `make_case` (the bundled example's generator), the
networks are scripts/example_unet.py's `ExampleUNet` at base width 4, 8 or 16. The held-out shifts
are deliberately NOT of the five calibration families (Gaussian noise, Gaussian blur, gamma,
contrast, intensity scale): lesion size, lesion contrast, background texture, distractor dots
(scene changes, through make_case's keyword arguments), a smooth multiplicative bias field,
speckle (multiplicative) noise, pixelation, stripe and ring artefacts (acquisition changes,
applied to the finished image), combinations, the example's "site B", and a fresh unshifted
set (in-distribution). Each at mild and severe strength where it makes sense.

Other tasks (issue 10: "one more real-looking task besides lesions", "a 3D one"), each in its own
directory with its own held-out sets, frozen families (truth.json `kin` null), models and truth.json,
the same layout and training recipe otherwise:

    --task vessel   bench/.data/zoo-vessel/: 64x64 images of branching tubular vessels
                    (make_vessel_case) on the lesion task's background; 80 / 32 / 24 per set; 16
                    held-out sets (frozen: thin, thick, tortuous, dense, dark (reversed polarity),
                    ghost, occlusion); ExampleUNet models vessel-w8-s900-aug, vessel-w4-s300-plain,
                    vessel-w8-s600-heavy.
    --task vol3d    bench/.data/zoo-vol3d/: 24x48x48 uint8 volumes (.npy, NCDHW) with 1-3 soft
                    ellipsoids (make_volume_case); 40 / 16 / 12 per set; 12 held-out sets (frozen:
                    small, large, ghost, occlusion; 3-D forms of pixelation, stripes, ghost and
                    occlusion); make_bench3d.Bench3D at widths 4/8/16 (vol3d-w4-s300-aug), batch 4.

Dice: foreground (class 1: lesion, vessel, blob), pooled over the set (make_example.pooled_dice) of the argmax of the torch
model's logits on the 8-bit PNGs as the dataset file feeds them (x = raw / 255).

Deterministic: fixed data seeds per set, a fixed torch seed per model, deterministic algorithms,
one torch thread by default (for these tiny networks one thread trains ~1.5x faster than two on
this machine; --threads 2 is allowed). trainSeconds and the wall time vary, nothing else.
"""
import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from scipy.ndimage import binary_dilation, binary_erosion, gaussian_filter

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from example_unet import ExampleUNet  # noqa: E402
from make_example import (  # noqa: E402
    SIZE,
    acquire,
    augment,
    export_onnx,
    make_case,
    pooled_dice,
    predict,
    to_input,
    to_u8,
)

ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "bench", ".data", "zoo")
N_TRAIN, N_TEST, N_HELD = 80, 32, 24
TRAIN_SEED, TEST_SEED = 11001, 12002
BATCH = 16
LR = 3e-3
REUSE_DATA = False


# --------------------------------------------------------------------------- held-out shifts
# Acquisition artefacts, applied to make_case's finished image (float in [0, 1]) with the same
# generator, after the scene was drawn. None of them is one of the engine's calibration families.
def bias_field(img, rng, s):
    """Smooth multiplicative bias field exp(s * g), g a very smooth unit-variance field."""
    g = gaussian_filter(rng.standard_normal(img.shape), sigma=14.0)
    g /= g.std() + 1e-8
    return img * np.exp(s * g)


def speckle(img, rng, s):
    """Multiplicative noise: u * (1 + s * eps)."""
    return img * (1.0 + s * rng.standard_normal(img.shape))


def pixelate(img, rng, k):
    """Block means of k x k pixels, blown back up (nearest): a low-resolution acquisition."""
    n = img.shape[0]
    small = img.reshape(n // k, k, n // k, k).mean(axis=(1, 3))
    return np.kron(small, np.ones((k, k)))


def stripes(img, rng, a):
    """Additive sinusoidal stripes of amplitude a, random period (4-8 px), angle and phase."""
    n = img.shape[0]
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64)
    th = rng.uniform(0, np.pi)
    period = rng.uniform(4.0, 8.0)
    ph = rng.uniform(0, 2 * np.pi)
    return img + a * np.sin(2 * np.pi * (xx * np.cos(th) + yy * np.sin(th)) / period + ph)


def rings(img, rng, a):
    """Additive concentric rings (period 5-9 px) around a random centre, amplitude a."""
    n = img.shape[0]
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64)
    cy, cx = rng.uniform(0, n, size=2)
    period = rng.uniform(5.0, 9.0)
    r = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
    return img + a * np.sin(2 * np.pi * r / period)


def ghost(img, rng, a):
    """MRI-like ghosting: a copy of the image shifted by a quarter of the side along a random axis, added at amplitude a."""
    n = img.shape[0]
    return img + a * np.roll(img, n // 4, axis=int(rng.integers(0, 2)))


def salt_pepper(img, rng, share):
    """Impulse noise: a share of the pixels set to 0 or 1 at random."""
    out = img.copy()
    hit = rng.random(img.shape) < share
    out[hit] = (rng.random(int(hit.sum())) < 0.5).astype(np.float64)
    return out


def occlusion(img, rng, k):
    """k rectangles (6-16 px sides) filled with the image's median: objects under them vanish (the masks are unchanged)."""
    n = img.shape[0]
    out = img.copy()
    med = float(np.median(img))
    for _ in range(int(k)):
        h, w = rng.integers(6, 17, size=2)
        y, x = rng.integers(0, n - h), rng.integers(0, n - w)
        out[y:y + h, x:x + w] = med
    return out


# name: (description, make_case site, make_case keyword arguments, [(artefact, strength), ...])
SMALL_MILD = {"axes": (2.0, 5.0)}
SETS = {
    "iid": ("fresh unshifted set (in-distribution)", "A", {}, []),
    "siteB": ("the example's site B: blur 0.9, gain 0.55 + 0.22, gamma 1.25, noise 0.07", "B", {}, []),
    "smallMild": ("smaller lesions: semi-axes 2-5 px (train 3-10)", "A", SMALL_MILD, []),
    "smallSevere": ("much smaller lesions: semi-axes 1.2-3 px", "A", {"axes": (1.2, 3.0)}, []),
    "large": ("larger lesions: semi-axes 10-20 px", "A", {"axes": (10.0, 20.0)}, []),
    "faintMild": ("fainter lesions: contrast 0.09-0.20 (train 0.18-0.40)", "A", {"contrast": (0.09, 0.20)}, []),
    "faintSevere": ("much fainter lesions: contrast 0.05-0.11", "A", {"contrast": (0.05, 0.11)}, []),
    "texture": ("other background texture: fine grain (sigma 1 px, train 3) of twice the amplitude", "A",
                {"tex_sigma": 1.0, "tex_amp": 0.12}, []),
    "dotsMild": ("more distractor dots: 8-15, radius 1-2.2 px (train 0-3, 0.8-1.6)", "A",
                 {"dots": (8, 16), "dot_radius": (1.0, 2.2)}, []),
    "dotsSevere": ("many larger distractor dots: 20-35, radius 1.5-3.5 px", "A",
                   {"dots": (20, 36), "dot_radius": (1.5, 3.5)}, []),
    "biasMild": ("smooth multiplicative bias field, exp(0.25 g)", "A", {}, [("bias", 0.25)]),
    "biasSevere": ("strong smooth multiplicative bias field, exp(0.6 g)", "A", {}, [("bias", 0.6)]),
    "speckleMild": ("speckle (multiplicative) noise, 1 + 0.15 eps", "A", {}, [("speckle", 0.15)]),
    "speckleSevere": ("strong speckle noise, 1 + 0.4 eps", "A", {}, [("speckle", 0.4)]),
    "pixel2": ("pixelation: 2x2 block means", "A", {}, [("pixelate", 2)]),
    "pixel4": ("pixelation: 4x4 block means", "A", {}, [("pixelate", 4)]),
    "stripesMild": ("stripe artefact, amplitude 0.06", "A", {}, [("stripes", 0.06)]),
    "stripesSevere": ("stripe artefact, amplitude 0.15", "A", {}, [("stripes", 0.15)]),
    "rings": ("ring artefact, amplitude 0.1", "A", {}, [("rings", 0.1)]),
    "combo": ("smaller lesions (2-5 px) + bias field 0.25 + speckle 0.15", "A", SMALL_MILD,
              [("bias", 0.25), ("speckle", 0.15)]),
    # Frozen evaluation families (issue 10): kinds of shift the engine's calibration has no family for.
    "ghost": ("ghosting: the image shifted by 16 px added at 0.35", "A", {}, [("ghost", 0.35)]),
    "saltPepper": ("impulse noise: 3% of the pixels set to 0 or 1", "A", {}, [("saltPepper", 0.03)]),
    "occlusion": ("1-3 rectangles (6-16 px) filled with the median", "A", {}, [("occlusion", 2)]),
}
ARTEFACTS = {"bias": bias_field, "speckle": speckle, "pixelate": pixelate, "stripes": stripes, "rings": rings,
             "ghost": ghost, "saltPepper": salt_pepper, "occlusion": occlusion}
# The engine's calibration family (transforms.ts) each held-out set resembles, or None: a family the
# calibration never sees (the frozen evaluation set of issue 10; its figures are reported apart).
KIN = {
    "iid": None, "siteB": "blur+scale+gamma+noise", "smallMild": None, "smallSevere": None, "large": None,
    "faintMild": "dim", "faintSevere": "dim", "texture": None, "dotsMild": "distractors", "dotsSevere": "distractors",
    "biasMild": "bias", "biasSevere": "bias", "speckleMild": "noise", "speckleSevere": "noise",
    "pixel2": "lowres", "pixel4": "lowres", "stripesMild": "stripes", "stripesSevere": "stripes", "rings": "stripes",
    "combo": "bias+noise", "ghost": None, "saltPepper": None, "occlusion": None,
}


def make_shifted_case(rng, site, kwargs, artefacts):
    img, mask = CASE(rng, site, **kwargs)
    for name, s in artefacts:
        img = ARTEFACTS[name](img, rng, s)
    return np.clip(img, 0, 1), mask


def read_set(name, n, labelled=True):
    """The set as an earlier run wrote it (--reuse-data: another run may be reading these files)."""
    base = os.path.join(OUT, "data", name)
    md = "masks" if labelled else "masks_hidden"
    if is_volume():
        fns = [f"vol{i:03d}.npy" for i in range(n)]
        return (np.stack([np.load(os.path.join(base, "images", f)) for f in fns]),
                np.stack([np.load(os.path.join(base, md, f)) for f in fns]))
    fns = [f"case{i:03d}.png" for i in range(n)]
    imgs = [np.array(Image.open(os.path.join(base, "images", f))) for f in fns]
    masks = [np.array(Image.open(os.path.join(base, md, f))) for f in fns]
    return np.stack(imgs), np.stack(masks)


def write_set(name, n, seed, site="A", kwargs=None, artefacts=(), labelled=True):
    if REUSE_DATA and os.path.isdir(os.path.join(OUT, "data", name, "images")):
        return read_set(name, n, labelled)
    rng = np.random.default_rng(seed)
    base = os.path.join(OUT, "data", name)
    img_dir = os.path.join(base, "images")
    mask_dir = os.path.join(base, "masks" if labelled else "masks_hidden")
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(mask_dir, exist_ok=True)
    imgs, masks = [], []
    for i in range(n):
        img, mask = make_shifted_case(rng, site, kwargs or {}, artefacts)
        u8 = to_u8(img)
        if is_volume():
            np.save(os.path.join(img_dir, f"vol{i:03d}.npy"), u8)
            np.save(os.path.join(mask_dir, f"vol{i:03d}.npy"), mask)
        else:
            fn = f"case{i:03d}.png"
            Image.fromarray(u8, mode="L").save(os.path.join(img_dir, fn), optimize=True)
            Image.fromarray(mask, mode="L").save(os.path.join(mask_dir, fn), optimize=True)
        imgs.append(u8)
        masks.append(mask)
    return np.stack(imgs), np.stack(masks)


# --------------------------------------------------------------------------- the zoo
# name: width (base channels), Adam steps, augmentation, label noise, torch seed
MODELS = {
    "w8-s900-aug": dict(width=8, steps=900, aug="flip+intensity", labelNoise="none", seed=1),
    "w8-s900-plain": dict(width=8, steps=900, aug="none", labelNoise="none", seed=2),
    "w8-s150-plain": dict(width=8, steps=150, aug="none", labelNoise="none", seed=13),
    "w4-s900-aug": dict(width=4, steps=900, aug="flip+intensity", labelNoise="none", seed=4),
    "w4-s300-plain": dict(width=4, steps=300, aug="none", labelNoise="none", seed=5),
    "w16-s400-aug": dict(width=16, steps=400, aug="flip+intensity", labelNoise="none", seed=6),
    "w16-s300-plain": dict(width=16, steps=300, aug="none", labelNoise="none", seed=7),
    "w8-s600-plain-boundary": dict(width=8, steps=600, aug="none", labelNoise="boundary", seed=8),
    "w8-s600-aug-flip": dict(width=8, steps=600, aug="flip+intensity", labelNoise="flip", seed=9),
    "w8-s900-heavy": dict(width=8, steps=900, aug="heavy", labelNoise="none", seed=10),
    "w12-s500-aug": dict(width=12, steps=500, aug="flip+intensity", labelNoise="none", seed=11),
    "w6-s600-plain": dict(width=6, steps=600, aug="none", labelNoise="none", seed=12),
}
LABEL_NOISE = {
    "none": "clean masks",
    "boundary": "each training mask dilated or eroded (random per image) by 1-2 px",
    "flip": "30% of lesion pixels flipped to background, 3% of the background within 3 px of a lesion flipped to lesion",
}
AUG = {
    "none": "no augmentation",
    "flip+intensity": "per batch: random 90-degree rotation and flip; per image: intensity x[0.85, 1.15] "
                      "+ [-0.05, 0.05], gamma [0.8, 1.25], Gaussian noise sigma [0, 0.04]",
    "heavy": "flip+intensity with wider ranges (gain x[0.6, 1.4] + [-0.12, 0.12], gamma [0.6, 1.6], noise sigma "
             "[0, 0.1]), plus per image a Gaussian blur sigma [0, 1.5] (half of the images), a smooth bias field "
             "exp(0.4 g) (half) and speckle 1 + [0, 0.2] eps (a third)",
}


# --------------------------------------------------------------------------- other tasks (issue 10)
# `--task vessel`: a second, real-looking 2-D task, thin tubular structures (vessels) with branches
# on the lesion task's background; `--task vol3d`: a small 3-D UNet on 24x48x48 volumes with
# lesion-like blobs. Each task has its own directory, held-out sets (with their own frozen
# families), models and truth.json; the lesion zoo above is `--task lesion` (the default), unchanged.
def make_vessel_case(rng, site, *, radius=(1.0, 2.0), vessels=(2, 5), contrast=(0.18, 0.40), tortuosity=0.12,
                     branch=0.5, blobs=(0, 3), blob_radius=(1.5, 3.0), tex_sigma=3.0, tex_amp=0.06, noise=0.035,
                     polarity=1.0):
    """One 64x64 image (float in [0, 1]) and its vessel mask (uint8 0/1).

    Each vessel enters from a random side and walks inwards one pixel per step, its direction a
    random walk (tortuosity: sd of the angle change per step, radians), its radius tapering by 40%;
    with probability `branch` a thinner branch leaves it halfway. Vessels are brighter than the
    background by `contrast` (polarity -1: darker); bright round blobs are distractors (not vessels).
    """
    n = SIZE
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float64)
    tex = gaussian_filter(rng.standard_normal((n, n)), sigma=tex_sigma)
    tex /= tex.std() + 1e-8
    g = rng.uniform(-1, 1, size=2)
    img = 0.35 + tex_amp * tex + (g[0] * (xx / n - 0.5) + g[1] * (yy / n - 0.5)) * 0.12
    mask = np.zeros((n, n), dtype=bool)
    vess = np.zeros((n, n))

    def walk(y, x, ang, r0, length, c):
        m = np.zeros((n, n), dtype=bool)
        pts = []
        for t in range(length):
            r = r0 * (1.0 - 0.4 * t / length)
            m |= (yy - y) ** 2 + (xx - x) ** 2 <= r * r
            pts.append((y, x, ang, r))
            y, x = y + np.sin(ang), x + np.cos(ang)
            ang += rng.normal(0.0, tortuosity)
            if not (-3 <= y <= n + 2 and -3 <= x <= n + 2):
                break
        return m, pts

    for _ in range(rng.integers(*vessels)):
        side = int(rng.integers(0, 4))
        u = rng.uniform(6, n - 6)
        y, x, ang = [(0.0, u, np.pi / 2), (n - 1.0, u, -np.pi / 2), (u, 0.0, 0.0), (u, n - 1.0, np.pi)][side]
        ang += rng.uniform(-0.6, 0.6)
        r0 = rng.uniform(*radius)
        c = rng.uniform(*contrast)
        m, pts = walk(y, x, ang, r0, int(rng.integers(40, 90)), c)
        if rng.random() < branch and len(pts) > 10:
            by, bx, bang, br = pts[len(pts) // 2]
            m2, _ = walk(by, bx, bang + rng.choice([-1, 1]) * rng.uniform(0.5, 1.1), 0.75 * br, int(rng.integers(20, 45)), c)
            m |= m2
        mask |= m
        vess = np.maximum(vess, c * gaussian_filter(m.astype(np.float64), 0.7))
    for _ in range(rng.integers(*blobs)):
        cy, cx = rng.uniform(3, n - 3, size=2)
        r = rng.uniform(*blob_radius)
        img += rng.uniform(0.15, 0.3) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
    img += polarity * vess * (1.0 + 0.15 * tex)
    return acquire(img, rng, site, noise), mask.astype(np.uint8)


VOL = (24, 48, 48)


def make_volume_case(rng, site, *, radius=(0.10, 0.22), contrast=(0.2, 0.4), lesions=(1, 4), dots=(0, 3),
                     tex_sigma=3.0, tex_amp=0.06, noise=0.035):
    """One 24x48x48 volume (float in [0, 1]) and its mask: 1-3 soft bright ellipsoids (semi-axes a share
    `radius` of each side), distractor blobs, smooth texture, noise; site B as the lesion task's."""
    size = VOL
    zz, yy, xx = np.mgrid[0:size[0], 0:size[1], 0:size[2]].astype(np.float64)
    tex = gaussian_filter(rng.standard_normal(size), tex_sigma)
    tex /= tex.std() + 1e-8
    img = 0.35 + tex_amp * tex
    mask = np.zeros(size, dtype=bool)
    les = np.zeros(size)
    for _ in range(rng.integers(*lesions)):
        r = rng.uniform(*radius, size=3) * np.array(size)
        c = rng.uniform(0.25, 0.75, size=3) * np.array(size)
        inside = ((zz - c[0]) / r[0]) ** 2 + ((yy - c[1]) / r[1]) ** 2 + ((xx - c[2]) / r[2]) ** 2 <= 1
        mask |= inside
        les = np.maximum(les, rng.uniform(*contrast) * gaussian_filter(inside.astype(np.float64), 0.8))
    for _ in range(rng.integers(*dots)):
        c = rng.uniform(0.1, 0.9, size=3) * np.array(size)
        r = rng.uniform(1.0, 2.0)
        img += rng.uniform(0.15, 0.3) * np.exp(-((zz - c[0]) ** 2 + (yy - c[1]) ** 2 + (xx - c[2]) ** 2) / (2 * r * r))
    img += les * (1.0 + 0.15 * tex)
    return acquire(img, rng, site, noise), mask.astype(np.uint8)


# 3-D versions of the artefacts whose 2-D form assumes two axes
def pixelate_nd(img, rng, k):
    """Block means of k^ndim voxels, blown back up (nearest); every side divisible by k."""
    sh = img.shape
    r = img.reshape(*[v for s in sh for v in (s // k, k)])
    small = r.mean(axis=tuple(range(1, 2 * len(sh), 2)))
    for ax in range(len(sh)):
        small = np.repeat(small, k, axis=ax)
    return small


def stripes_nd(img, rng, a):
    """Additive sinusoidal stripes along a random unit direction (period 4-8 px)."""
    grids = np.meshgrid(*[np.arange(s, dtype=np.float64) for s in img.shape], indexing="ij")
    d = rng.standard_normal(img.ndim)
    d /= np.linalg.norm(d)
    period = rng.uniform(4.0, 8.0)
    ph = rng.uniform(0, 2 * np.pi)
    return img + a * np.sin(2 * np.pi * sum(g * v for g, v in zip(grids, d)) / period + ph)


def ghost_nd(img, rng, a):
    """The image shifted by a quarter of a random in-plane axis, added at amplitude a."""
    ax = img.ndim - 1 - int(rng.integers(0, 2))
    return img + a * np.roll(img, img.shape[ax] // 4, axis=ax)


def occlusion_nd(img, rng, k):
    """k boxes (a quarter to a third of each side) filled with the median."""
    out = img.copy()
    med = float(np.median(img))
    for _ in range(int(k)):
        sl = []
        for s in img.shape:
            h = int(rng.integers(max(2, s // 4), s // 3 + 1))
            o = int(rng.integers(0, s - h))
            sl.append(slice(o, o + h))
        out[tuple(sl)] = med
    return out


VESSEL_SETS = {
    "iid": ("fresh unshifted set (in-distribution)", "A", {}, []),
    "siteB": ("site B (the lesion task's scanner change): blur 0.9, gain 0.55 + 0.22, gamma 1.25, noise 0.07", "B", {}, []),
    "thin": ("thinner vessels: radius 0.6-1.1 px (train 1-2)", "A", {"radius": (0.6, 1.1)}, []),
    "thick": ("thicker vessels: radius 2.4-3.6 px", "A", {"radius": (2.4, 3.6)}, []),
    "tortuous": ("tortuous vessels: angle sd 0.35 rad per step (train 0.12)", "A", {"tortuosity": 0.35}, []),
    "dense": ("dense vessel tree: 6-9 vessels (train 2-4)", "A", {"vessels": (6, 10)}, []),
    "faintMild": ("fainter vessels: contrast 0.09-0.20 (train 0.18-0.40)", "A", {"contrast": (0.09, 0.20)}, []),
    "faintSevere": ("much fainter vessels: contrast 0.05-0.11", "A", {"contrast": (0.05, 0.11)}, []),
    "blobs": ("many bright blobs: 8-13, radius 1.5-3.5 px (train 0-2)", "A", {"blobs": (8, 14), "blob_radius": (1.5, 3.5)}, []),
    "bias": ("smooth multiplicative bias field, exp(0.45 g)", "A", {}, [("bias", 0.45)]),
    "speckle": ("speckle noise, 1 + 0.3 eps", "A", {}, [("speckle", 0.3)]),
    "pixel2": ("pixelation: 2x2 block means", "A", {}, [("pixelate", 2)]),
    "stripes": ("stripe artefact, amplitude 0.12", "A", {}, [("stripes", 0.12)]),
    "dark": ("dark vessels: the same vessels darker than the background (polarity reversed)", "A", {"polarity": -1.0}, []),
    "ghost": ("ghosting: the image shifted by 16 px added at 0.35", "A", {}, [("ghost", 0.35)]),
    "occlusion": ("1-3 rectangles (6-16 px) filled with the median", "A", {}, [("occlusion", 2)]),
}
VESSEL_KIN = {
    "iid": None, "siteB": "blur+scale+gamma+noise", "thin": None, "thick": None, "tortuous": None, "dense": None,
    "faintMild": "dim", "faintSevere": "dim", "blobs": "distractors", "bias": "bias", "speckle": "noise",
    "pixel2": "lowres", "stripes": "stripes", "dark": None, "ghost": None, "occlusion": None,
}
VESSEL_MODELS = {
    "vessel-w8-s900-aug": dict(width=8, steps=900, aug="flip+intensity", labelNoise="none", seed=21),
    "vessel-w4-s300-plain": dict(width=4, steps=300, aug="none", labelNoise="none", seed=22),
    "vessel-w8-s600-heavy": dict(width=8, steps=600, aug="heavy", labelNoise="none", seed=23),
}
VOL_SETS = {
    "iid": ("fresh unshifted set (in-distribution)", "A", {}, []),
    "siteB": ("site B: blur 0.9, gain 0.55 + 0.22, gamma 1.25, noise 0.07", "B", {}, []),
    "small": ("smaller blobs: semi-axes 6-11% of each side (train 10-22%)", "A", {"radius": (0.06, 0.11)}, []),
    "large": ("larger blobs: semi-axes 22-32% of each side", "A", {"radius": (0.22, 0.32)}, []),
    "faint": ("fainter blobs: contrast 0.09-0.18 (train 0.2-0.4)", "A", {"contrast": (0.09, 0.18)}, []),
    "dots": ("many distractor blobs: 10-17 (train 0-2)", "A", {"dots": (10, 18)}, []),
    "bias": ("smooth multiplicative bias field, exp(0.45 g)", "A", {}, [("bias", 0.45)]),
    "speckle": ("speckle noise, 1 + 0.3 eps", "A", {}, [("speckle", 0.3)]),
    "pixel2": ("low resolution: 2x2x2 block means", "A", {}, [("pixelate", 2)]),
    "stripes": ("stripe artefact (3-D direction), amplitude 0.12", "A", {}, [("stripes", 0.12)]),
    "ghost": ("ghosting: the volume shifted by a quarter of an in-plane side, added at 0.35", "A", {}, [("ghost", 0.35)]),
    "occlusion": ("2 boxes (a quarter to a third of each side) filled with the median", "A", {}, [("occlusion", 2)]),
}
VOL_KIN = {
    "iid": None, "siteB": "blur+scale+gamma+noise", "small": None, "large": None, "faint": "dim", "dots": "distractors",
    "bias": "bias", "speckle": "noise", "pixel2": "lowres", "stripes": "stripes", "ghost": None, "occlusion": None,
}
VOL_MODELS = {
    "vol3d-w4-s300-aug": dict(width=4, steps=300, aug="flip+intensity", labelNoise="none", seed=31),
}
# task: directory under bench/.data, class names, sets, kin, models, (train, test, held-out) counts, seeds, case generator
TASKS = {
    "lesion": dict(dir="zoo", classes=["background", "lesion"], counts=(80, 32, 24), seeds=(11001, 12002, 20000)),
    "vessel": dict(dir="zoo-vessel", classes=["background", "vessel"], sets=VESSEL_SETS, kin=VESSEL_KIN,
                   models=VESSEL_MODELS, counts=(80, 32, 24), seeds=(31001, 32002, 40000), case=make_vessel_case),
    "vol3d": dict(dir="zoo-vol3d", classes=["background", "blob"], sets=VOL_SETS, kin=VOL_KIN, models=VOL_MODELS,
                  counts=(40, 16, 12), seeds=(51001, 52002, 60000), case=make_volume_case, volume=True),
}
TASK = "lesion"
CASE = make_case


def use_task(name):
    """Points the module's globals (OUT, SETS, KIN, MODELS, counts, seeds, generator) at one task."""
    global TASK, OUT, SETS, KIN, MODELS, N_TRAIN, N_TEST, N_HELD, TRAIN_SEED, TEST_SEED, HELD_SEED, CASE
    t = TASKS[name]
    TASK = name
    OUT = os.path.join(ROOT, "bench", ".data", t["dir"])
    N_TRAIN, N_TEST, N_HELD = t["counts"]
    TRAIN_SEED, TEST_SEED, HELD_SEED = t["seeds"]
    if name != "lesion":
        SETS, KIN, MODELS, CASE = t["sets"], t["kin"], t["models"], t["case"]
    if t.get("volume"):
        ARTEFACTS.update({"pixelate": pixelate_nd, "stripes": stripes_nd, "ghost": ghost_nd, "occlusion": occlusion_nd})


def is_volume():
    return bool(TASKS[TASK].get("volume"))


def new_net(cfg):
    if is_volume():
        from make_bench3d import Bench3D
        w = cfg["width"]
        return Bench3D(widths=(w, 2 * w, 4 * w))
    return ExampleUNet(base=cfg["width"])


def flip_aug_nd(x, y, rng):
    """3-D: a random flip along each spatial axis and an in-plane 90-degree rotation (numpy RNG)."""
    k = int(rng.integers(0, 4))
    x, y = torch.rot90(x, k, (3, 4)), torch.rot90(y, k, (2, 3))
    for ax in range(3):
        if rng.random() < 0.5:
            x, y = torch.flip(x, (2 + ax,)), torch.flip(y, (1 + ax,))
    return x.contiguous(), y.contiguous()


def export_model(net, path):
    if not is_volume():
        export_onnx(net, path)
        return
    torch.onnx.export(net, torch.zeros(1, 1, *VOL), path, input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13,
                      do_constant_folding=True)


def predict_any(net, u8):
    """Argmax labels, in batches of 8 (volumes)."""
    with torch.no_grad():
        return np.concatenate([net(to_input(u8[i:i + 8])).argmax(1).numpy().astype(np.uint8)
                               for i in range(0, len(u8), 8)])


def noisy_masks(y_u8, kind, seed):
    """Label noise of the training masks, fixed once per image (seeded)."""
    if kind == "none":
        return y_u8
    rng = np.random.default_rng(seed)
    out = []
    for m in y_u8.astype(bool):
        if kind == "boundary":
            it = int(rng.integers(1, 3))
            m2 = binary_dilation(m, iterations=it) if rng.random() < 0.5 else binary_erosion(m, iterations=it)
        elif kind == "flip":
            m2 = m & (rng.random(m.shape) >= 0.30)
            band = binary_dilation(m, iterations=3) & ~m
            m2 |= band & (rng.random(m.shape) < 0.03)
        else:
            raise ValueError(kind)
        out.append(m2.astype(np.uint8))
    return np.stack(out)


def intensity_aug(x, rng):
    """Per image: gain, offset, gamma and Gaussian noise (numpy RNG: deterministic)."""
    n = x.shape[0]
    sh = (n,) + (1,) * (x.dim() - 1)
    gain = torch.from_numpy(rng.uniform(0.85, 1.15, n).astype(np.float32)).reshape(sh)
    off = torch.from_numpy(rng.uniform(-0.05, 0.05, n).astype(np.float32)).reshape(sh)
    gam = torch.from_numpy(rng.uniform(0.8, 1.25, n).astype(np.float32)).reshape(sh)
    sd = torch.from_numpy(rng.uniform(0.0, 0.04, n).astype(np.float32)).reshape(sh)
    eps = torch.from_numpy(rng.standard_normal(x.shape).astype(np.float32))
    return x.clamp(0, 1).pow(gam) * gain + off + sd * eps


def heavy_aug(x, rng):
    """The "heavy" augmentation: wider intensity changes, blur, bias field and speckle (numpy RNG)."""
    xs = x.clamp(0, 1).numpy().astype(np.float64)
    n = xs.shape[0]
    for i in range(n):
        im = xs[i, 0]
        if rng.random() < 0.5:
            im = gaussian_filter(im, sigma=rng.uniform(0.0, 1.5))
        if rng.random() < 0.5:
            im = bias_field(im, rng, 0.4)
        if rng.random() < 1 / 3:
            im = speckle(im, rng, rng.uniform(0.0, 0.2))
        im = np.clip(im, 0, None) ** rng.uniform(0.6, 1.6)
        im = im * rng.uniform(0.6, 1.4) + rng.uniform(-0.12, 0.12)
        im = im + rng.uniform(0.0, 0.1) * rng.standard_normal(im.shape)
        xs[i, 0] = im
    return torch.from_numpy(xs.astype(np.float32))


def train(cfg, x_u8, y_u8):
    torch.manual_seed(cfg["seed"])
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(cfg["seed"])
    net = new_net(cfg)
    steps = cfg["steps"]
    batch = 4 if is_volume() else BATCH
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    x_all = to_input(x_u8)
    y_all = torch.from_numpy(noisy_masks(y_u8, cfg["labelNoise"], 100 + cfg["seed"]).astype(np.int64))
    weight = torch.tensor([1.0, 2.0])  # lesions are ~10% of the pixels
    net.train()
    for step in range(steps):
        idx = torch.from_numpy(rng.choice(len(x_all), batch, replace=False))
        x, y = x_all[idx], y_all[idx]
        if cfg["aug"] != "none":
            x, y = flip_aug_nd(x, y, rng) if is_volume() else augment(x, y, rng)
            x = heavy_aug(x, rng) if cfg["aug"] == "heavy" else intensity_aug(x, rng)
        logits = net(x)
        ce = F.cross_entropy(logits, y, weight=weight)
        p = logits.softmax(1)[:, 1]
        t = (y == 1).float()
        loss = ce + 1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    net.eval()
    return net, float(loss.item())


def cfg_key(cfg):
    """What a cached model must match to be reused."""
    c = dict(cfg, batch=BATCH, lr=LR, nTrain=N_TRAIN, trainSeed=TRAIN_SEED)
    if TASK != "lesion":
        c["task"] = TASK
    return hashlib.sha256(json.dumps(c, sort_keys=True).encode()).hexdigest()[:16]


def merge_truth():
    import glob
    parts = sorted(glob.glob(os.path.join(OUT, "truth-*.json")))
    if not parts:
        raise SystemExit("no bench/.data/zoo/truth-*.json to merge")
    merged = None
    for f in parts:
        with open(f) as fh:
            t = json.load(fh)
        if merged is None:
            merged = t
        else:
            merged["models"].update(t["models"])
            merged["wallSeconds"] = round(merged["wallSeconds"] + t["wallSeconds"], 1)
    merged["models"] = {m: merged["models"][m] for m in MODELS if m in merged["models"]}
    with open(os.path.join(OUT, "truth.json"), "w") as fh:
        json.dump(merged, fh, indent=2)
        fh.write("\n")
    print(f"truth.json: {len(merged['models'])} models from {len(parts)} files")


# --------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--force", action="store_true", help="rebuild everything, retrain every model")
    ap.add_argument("--threads", type=int, default=1, choices=(1, 2), help="torch threads (default 1)")
    ap.add_argument("--truth", default="truth.json", help="file name of the truth record under bench/.data/zoo/ (several --models runs in parallel: one each, then merge)")
    ap.add_argument("--merge-truth", action="store_true", help="merge bench/.data/zoo/truth-*.json (runs of --models with --truth) into truth.json, and stop")
    ap.add_argument("--reuse-data", action="store_true", help="read the sets an earlier run wrote instead of drawing them again (the same images; safe while a benchmark reads them)")
    ap.add_argument("--models", default=None, help="comma-separated subset of the zoo to train and score (default: all); truth.json then lists only these")
    ap.add_argument("--task", default="lesion", choices=list(TASKS),
                    help="lesion (bench/.data/zoo, the default), vessel (bench/.data/zoo-vessel) or vol3d (bench/.data/zoo-vol3d)")
    args = ap.parse_args()
    use_task(args.task)
    if args.merge_truth:
        merge_truth()
        return
    global REUSE_DATA
    REUSE_DATA = args.reuse_data
    truth_path = os.path.join(OUT, args.truth)
    if os.path.exists(truth_path) and not args.force:
        print(f"{os.path.relpath(truth_path, ROOT)} exists; nothing to do (--force rebuilds)")
        return
    t_start = time.time()
    torch.set_num_threads(args.threads)
    os.makedirs(os.path.join(OUT, "models"), exist_ok=True)

    data = {
        "train": write_set("train", N_TRAIN, TRAIN_SEED),
        "test": write_set("test", N_TEST, TEST_SEED),
    }
    sets = {}
    for i, (name, (desc, site, kwargs, arts)) in enumerate(SETS.items()):
        seed = HELD_SEED + 101 * i
        data[name] = write_set(name, N_HELD, seed, site, kwargs, arts, labelled=False)
        sets[name] = {
            "description": desc, "site": site, "scene": {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()},
            "artefacts": [{"kind": a, "strength": s} for a, s in arts], "images": N_HELD, "seed": seed,
            ("lesionShare" if TASK == "lesion" else "foregroundShare"): round(float(data[name][1].mean()), 4), "kin": KIN[name],
        }
    print(f"data: {time.time() - t_start:.1f} s "
          f"(train {N_TRAIN}, test {N_TEST}, {len(SETS)} held-out sets x {N_HELD})", flush=True)

    dataset = {
        "task": "segmentation",
        "classes": TASKS[TASK]["classes"],
        "input": {"layout": "NCDHW" if is_volume() else "NCHW", "size": list(VOL) if is_volume() else [SIZE, SIZE],
                  "channels": 1, "scale": 1.0 / 255.0, "mean": [0.0], "std": [1.0]},
        "splits": {
            "train": {"images": "data/train/images", "labels": "data/train/masks"},
            "test": {"images": "data/test/images", "labels": "data/test/masks"},
            **{name: {"images": f"data/{name}/images"} for name in SETS},
        },
        "model": {"output": "auto", "activation": "auto"},
        # The example's settings, but no spatial maps (mapsPerSplit 0): the benchmark does not read
        # them, and with 22 splits they would be a third of each analysis.
        "analysis": {"maxPoints": 4096, "k": 10, "seed": 0, "taps": "auto", "maxTaps": 64, "mapsPerSplit": 0},
    }
    with open(os.path.join(OUT, "unetlens.json"), "w") as f:
        json.dump(dataset, f, indent=2)
        f.write("\n")

    models = {}
    tr_x, tr_y = data["train"]
    picked = [m.strip() for m in args.models.split(",")] if args.models else list(MODELS)
    for m in picked:
        if m not in MODELS:
            raise SystemExit(f"unknown model {m} (zoo: {', '.join(MODELS)})")
    for name, cfg in MODELS.items():
        if name not in picked:
            continue
        pt = os.path.join(OUT, "models", f"{name}.pt")
        rec_path = os.path.join(OUT, "models", f"{name}.json")
        key = cfg_key(cfg)
        rec = None
        if not args.force and os.path.exists(pt) and os.path.exists(rec_path):
            with open(rec_path) as f:
                rec = json.load(f)
            if rec.get("key") != key:
                rec = None
        if rec is not None:
            net = new_net(cfg)
            net.load_state_dict(torch.load(pt, map_location="cpu"))
            net.eval()
            print(f"{name:24s} reused (trained in {rec['trainSeconds']} s)", flush=True)
        else:
            t0 = time.time()
            net, last_loss = train(cfg, tr_x, tr_y)
            secs = round(time.time() - t0, 1)
            torch.save(net.state_dict(), pt)
            export_model(net, os.path.join(OUT, "models", f"{name}.onnx"))
            rec = {"key": key, "trainSeconds": secs, "finalLoss": round(last_loss, 4)}
            with open(rec_path, "w") as f:
                json.dump(rec, f, indent=2)
                f.write("\n")
            print(f"{name:24s} trained in {secs:5.1f} s (final loss {last_loss:.3f})", flush=True)
        pred = predict_any if is_volume() else predict
        dice = {s: round(pooled_dice(pred(net, x), y), 4) for s, (x, y) in data.items()}
        models[name] = {
            **{k: cfg[k] for k in ("width", "steps", "aug", "labelNoise", "seed")},
            "params": sum(p.numel() for p in net.parameters()),
            "trainSeconds": rec["trainSeconds"], "finalLoss": rec["finalLoss"],
            "onnx": f"models/{name}.onnx", "dice": dice,
        }

    wall = time.time() - t_start
    truth = {
        "task": TASK,
        "classes": TASKS[TASK]["classes"],
        "note": "true foreground (class 1) Dice pooled over each set (make_example.pooled_dice of the torch model's "
                "argmax on the PNGs, x = raw/255); held-out sets are unlabelled in unetlens.json, their "
                "masks are data/<set>/masks_hidden",
        "heldOut": list(SETS),
        "calibration": "test",
        "sets": sets,
        "models": models,
        "labelNoise": LABEL_NOISE,
        "augmentation": AUG,
        "training": {"batch": 4 if is_volume() else BATCH, "lr": LR, "schedule": "cosine", "optimizer": "Adam",
                     "loss": "cross-entropy (class weights 1, 2) + soft Dice of the lesion class",
                     "trainImages": N_TRAIN, "trainSeed": TRAIN_SEED, "testSeed": TEST_SEED,
                     "threads": args.threads, "torch": torch.__version__},
        "wallSeconds": round(wall, 1),
    }
    with open(truth_path, "w") as f:
        json.dump(truth, f, indent=2)
        f.write("\n")

    cols = ["train", "test"] + list(SETS)
    print("\ntrue Dice (rows: models, columns: sets)")
    print(f"{'':24s} " + " ".join(f"{c[:7]:>7s}" for c in cols))
    for name, m in models.items():
        print(f"{name:24s} " + " ".join(f"{m['dice'][c]:7.3f}" for c in cols))
    print(f"\nwall time {wall:.1f} s")


if __name__ == "__main__":
    main()
