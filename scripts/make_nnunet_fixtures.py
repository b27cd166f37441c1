#!/usr/bin/env python3
"""Tiny nnU-Net v2 and Medical Segmentation Decathlon dataset folders, and a tiny 3D UNet
trained on them, for `unet-lens init` / Create Dataset File and the multi-channel reader:

    /usr/bin/python3 scripts/make_nnunet_fixtures.py

test/fixtures/nnunet/
  nnUNet_raw/Dataset042_Tiny/           nnU-Net v2: dataset.json (channel_names T2, ADC;
      imagesTr/tiny_000_0000.nii.gz …   labels background/lesion/edema; file_ending .nii.gz),
      labelsTr/, imagesTs/, labelsTs/   10 training cases, 3 test cases, 16×16×8 voxels,
                                        int16 images (a random gain and offset per case, so
                                        the per-case z-score matters), uint8 labels
  nnUNet_preprocessed/Dataset042_Tiny/  splits_final.json (2 folds: 8 train / 2 val),
                                        nnUNetPlans.json (3d_fullres patch_size [8, 16, 16])
  Task09_Tiny/                          MSD: dataset.json (modality CT, PET; labels "0"…"2";
      imagesTr/tiny_000.nii.gz …        training / test lists), 4D NIfTI (16×16×8×2) per case,
      labelsTr/, imagesTs/              8 training and 2 test cases
  tiny3d.onnx                           3D UNet, 2 channels in, 3 classes out (N×2×8×16×16 →
                                        N×3×8×16×16), trained on the nnU-Net data normalised
                                        as nnU-Net does (per-case z-score per channel)
  expected.json                         reference numbers computed here with NumPy / torch:
                                        the first case's normalised input, the Dice per class
                                        of the validation fold and of the test cases, and the
                                        CT statistics of the MSD training foreground
Lesion (class 1): bright in T2 (channel 0) and in ADC; edema (class 2): bright in ADC only,
so the model needs both channels.
"""
import gzip
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "nnunet")
Z, Y, X = 8, 16, 16


def save_nii(path, arr_zyx, dtype):
    """NIfTI-1 single file (gzip when .gz) of an array in [t][z][y][x] (C order) = x fastest on disk."""
    a = np.ascontiguousarray(arr_zyx.astype(dtype))
    shape_xyz = list(a.shape[::-1])  # x, y, z[, t]
    code = {np.dtype(np.uint8): (2, 8), np.dtype(np.int16): (4, 16), np.dtype(np.float32): (16, 32)}[a.dtype]
    hdr = bytearray(348)
    struct.pack_into("<i", hdr, 0, 348)
    dims = [len(shape_xyz)] + shape_xyz + [1] * (7 - len(shape_xyz))
    struct.pack_into("<8h", hdr, 40, *dims)
    struct.pack_into("<h", hdr, 70, code[0])
    struct.pack_into("<h", hdr, 72, code[1])
    struct.pack_into("<8f", hdr, 76, 1.0, 1.0, 1.0, 1.0, 1.0, 0, 0, 0)  # pixdim (qfac 1)
    struct.pack_into("<f", hdr, 108, 352.0)  # vox_offset
    struct.pack_into("<f", hdr, 112, 0.0)  # scl_slope 0: no scaling
    hdr[344:348] = b"n+1\0"
    data = bytes(hdr) + b"\0\0\0\0" + a.tobytes()
    if path.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    with open(path, "wb") as f:
        f.write(data)


def blob(rng, shape):
    zz, yy, xx = np.meshgrid(*[np.arange(s) for s in shape], indexing="ij")
    c = [rng.uniform(2, shape[0] - 2), rng.uniform(4, shape[1] - 4), rng.uniform(4, shape[2] - 4)]
    r = rng.uniform(2.0, 3.5, size=3)
    return ((zz - c[0]) / r[0]) ** 2 + ((yy - c[1]) / r[1]) ** 2 + ((xx - c[2]) / r[2]) ** 2 < 1


def make_case(rng):
    lab = np.zeros((Z, Y, X), np.uint8)
    lab[blob(rng, (Z, Y, X))] = 2  # edema first, lesion drawn over it
    lab[blob(rng, (Z, Y, X))] = 1
    t2 = rng.normal(0, 0.3, (Z, Y, X)) + 1.0 * (lab == 1)
    adc = rng.normal(0, 0.3, (Z, Y, X)) + 1.0 * (lab == 1) + 1.2 * (lab == 2)
    # scanner-dependent gain and offset per case and channel (int16, like real MRI)
    t2 = t2 * rng.uniform(80, 400) + rng.uniform(0, 500)
    adc = adc * rng.uniform(200, 900) + rng.uniform(100, 1500)
    return np.stack([np.round(t2), np.round(adc)]).astype(np.int16), lab


def zscore(img):
    """nnU-Net v2 ZScoreNormalization (use_mask_for_norm False), per channel, float32 like nnU-Net."""
    out = np.empty(img.shape, np.float32)
    for c in range(img.shape[0]):
        v = img[c].astype(np.float32)
        out[c] = (v - v.mean()) / max(v.std(), 1e-8)
    return out


class Tiny3d(nn.Module):
    def __init__(self, cin=2, k=3, b=8):
        super().__init__()
        self.enc1 = nn.Sequential(nn.Conv3d(cin, b, 3, padding=1), nn.ReLU(), nn.Conv3d(b, b, 3, padding=1), nn.ReLU())
        self.pool = nn.MaxPool3d(2)
        self.enc2 = nn.Sequential(nn.Conv3d(b, 2 * b, 3, padding=1), nn.ReLU())
        self.up = nn.ConvTranspose3d(2 * b, b, 2, stride=2)
        self.dec1 = nn.Sequential(nn.Conv3d(2 * b, b, 3, padding=1), nn.ReLU())
        self.head = nn.Conv3d(b, k, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        return self.head(self.dec1(torch.cat([self.up(e2), e1], 1)))


def dice_per_class(preds, labs, k=3):
    inter = np.zeros(k)
    p = np.zeros(k)
    g = np.zeros(k)
    for pr, gt in zip(preds, labs):
        for c in range(k):
            inter[c] += np.sum((pr == c) & (gt == c))
            p[c] += np.sum(pr == c)
            g[c] += np.sum(gt == c)
    return [float(2 * inter[c] / (p[c] + g[c])) if p[c] + g[c] > 0 else None for c in range(k)]


def main():
    rng = np.random.default_rng(42)
    torch.manual_seed(0)
    raw = os.path.join(OUT, "nnUNet_raw", "Dataset042_Tiny")
    pre = os.path.join(OUT, "nnUNet_preprocessed", "Dataset042_Tiny")
    for d in ["imagesTr", "labelsTr", "imagesTs", "labelsTs"]:
        os.makedirs(os.path.join(raw, d), exist_ok=True)
    os.makedirs(pre, exist_ok=True)
    train_ids = ["tiny_%03d" % i for i in range(10)]
    test_ids = ["tiny_%03d" % i for i in range(10, 13)]
    cases = {}
    for cid in train_ids + test_ids:
        img, lab = make_case(rng)
        cases[cid] = (img, lab)
        tr = cid in train_ids
        for c in range(2):
            save_nii(os.path.join(raw, "imagesTr" if tr else "imagesTs", "%s_%04d.nii.gz" % (cid, c)), img[c], np.int16)
        save_nii(os.path.join(raw, "labelsTr" if tr else "labelsTs", cid + ".nii.gz"), lab, np.uint8)
    json.dump({"channel_names": {"0": "T2", "1": "ADC"}, "labels": {"background": 0, "lesion": 1, "edema": 2},
               "numTraining": 10, "file_ending": ".nii.gz", "name": "Dataset042_Tiny"},
              open(os.path.join(raw, "dataset.json"), "w"), indent=2)
    val = ["tiny_003", "tiny_007"]
    json.dump([{"train": [c for c in train_ids if c not in val], "val": val},
               {"train": [c for c in train_ids if c not in ["tiny_000", "tiny_001"]], "val": ["tiny_000", "tiny_001"]}],
              open(os.path.join(pre, "splits_final.json"), "w"), indent=2)
    json.dump({"dataset_name": "Dataset042_Tiny", "configurations": {"3d_fullres": {"patch_size": [Z, Y, X], "spacing": [1, 1, 1]}}},
              open(os.path.join(pre, "nnUNetPlans.json"), "w"), indent=2)

    # ---- train the tiny 3D UNet on fold 0's train cases, nnU-Net-normalised
    fold_train = [c for c in train_ids if c not in val]
    xs = torch.tensor(np.stack([zscore(cases[c][0]) for c in fold_train]))
    ys = torch.tensor(np.stack([cases[c][1] for c in fold_train]).astype(np.int64))
    net = Tiny3d()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    w = torch.tensor([0.2, 1.0, 1.0])
    for step in range(300):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(xs), ys, weight=w)
        loss.backward()
        opt.step()
    net.eval()

    def predict(ids):
        with torch.no_grad():
            return [net(torch.tensor(zscore(cases[c][0]))[None]).argmax(1)[0].numpy() for c in ids]

    exp = {
        "firstCase": {"id": "tiny_000", "dims": [2, Z, Y, X],
                      "normalized": [round(float(v), 6) for v in zscore(cases["tiny_000"][0]).ravel()[:64]],
                      "normalizedSum": [float(zscore(cases["tiny_000"][0])[c].astype(np.float64).__abs__().sum()) for c in range(2)]},
        "dicePerClass": {"train": dice_per_class(predict(fold_train), [cases[c][1] for c in fold_train]),
                         "validation": dice_per_class(predict(val), [cases[c][1] for c in val]),
                         "test": dice_per_class(predict(test_ids), [cases[c][1] for c in test_ids])},
    }
    x0 = torch.zeros(1, 2, Z, Y, X)
    torch.onnx.export(net, x0, os.path.join(OUT, "tiny3d.onnx"), input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13, do_constant_folding=True)

    # ---- MSD: 4D NIfTI per case (CT in HU + PET), labels "0".."2"
    msd = os.path.join(OUT, "Task09_Tiny")
    for d in ["imagesTr", "labelsTr", "imagesTs"]:
        os.makedirs(os.path.join(msd, d), exist_ok=True)
    fg = []
    training = []
    for i in range(10):
        cid = "tiny_%03d" % i
        img, lab = make_case(rng)
        ct = np.round((img[0].astype(np.float32) - img[0].mean()) / img[0].std() * 60 + 40 + 150 * (lab > 0)).astype(np.int16)
        ct[0, 0, :4] = -1000  # air, outside the foreground
        pet = img[1]
        vol = np.stack([ct, pet])  # [t][z][y][x] → x, y, z, t on disk
        if i < 8:
            save_nii(os.path.join(msd, "imagesTr", cid + ".nii.gz"), vol, np.int16)
            save_nii(os.path.join(msd, "labelsTr", cid + ".nii.gz"), lab, np.uint8)
            training.append({"image": "./imagesTr/%s.nii.gz" % cid, "label": "./labelsTr/%s.nii.gz" % cid})
            fg.append(ct[lab > 0].astype(np.float64))
        else:
            save_nii(os.path.join(msd, "imagesTs", cid + ".nii.gz"), vol, np.int16)
    json.dump({"name": "Tiny", "tensorImageSize": "4D", "modality": {"0": "CT", "1": "PET"},
               "labels": {"0": "background", "1": "tumour", "2": "node"}, "numTraining": 8, "numTest": 2,
               "training": training, "test": ["./imagesTs/tiny_008.nii.gz", "./imagesTs/tiny_009.nii.gz"]},
              open(os.path.join(msd, "dataset.json"), "w"), indent=2)
    allfg = np.concatenate(fg)
    exp["msdCt"] = {"mean": float(allfg.mean()), "std": float(allfg.std()),
                    "p005": float(np.percentile(allfg, 0.5)), "p995": float(np.percentile(allfg, 99.5)), "voxels": int(allfg.size)}
    json.dump(exp, open(os.path.join(OUT, "expected.json"), "w"), indent=1)
    print(json.dumps(exp["dicePerClass"]))
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print("fixtures: %d bytes" % total)


if __name__ == "__main__":
    main()
