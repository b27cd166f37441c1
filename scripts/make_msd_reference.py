#!/usr/bin/env python3
"""Reference numbers for the end-to-end analysis of the MSD fixture (test/fixtures/nnunet/Task09_Tiny)
with tiny3d.onnx, computed without the engine:

    /usr/bin/python3 scripts/make_msd_reference.py

(Debian's python3: torch, onnx, nibabel, numpy.) It does not regenerate any fixture: it loads
tiny3d.onnx's weights into the torch Tiny3d module of make_nnunet_fixtures.py, reads the MSD
cases with nibabel, normalises them as the unetlens.json written by `unet-lens init` says
(docs/CONTRACT.md, input.normalize; src/engine/data/datasetImport.ts maps the channel names
as nnU-Net v2 does):

  channel 0 "CT"   clip to the 0.5 / 99.5 percentiles of the training foreground (label > 0,
                   all 8 training cases), then (v - mean) / std of that foreground (population std)
  channel 1 "PET"  per-case z-score (v - mu) / max(sigma, 1e-8) (nnU-Net's default)

statistics in float64, the normalised image in float32; predicts with torch (float32, argmax,
ties to the lower index) and writes into test/fixtures/nnunet/expected.json, next to the
existing keys (left unchanged):

  msdDicePerClass   {"train": [Dice of background, tumour, node]} over the 8 labelled training
                    cases (the test split has no labels: no Dice)
  msdForeground     {"train": share, "test": share}: voxels predicted as a class other than
                    background over all voxels of the split
  msdLabelForeground {"train": share}: labelled voxels that are not background
  msdMinMargin      smallest gap between the largest and second-largest logit over all voxels
                    of both splits: how far the argmax is from flipping under float32 rounding
"""
import json
import os
import sys

import nibabel as nib
import numpy as np
import onnx
import torch
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_nnunet_fixtures import Tiny3d, dice_per_class, zscore  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "test", "fixtures", "nnunet")
MSD = os.path.join(FIX, "Task09_Tiny")


def load_model():
    m = onnx.load(os.path.join(FIX, "tiny3d.onnx"))
    # the graph has the structure of Tiny3d: the same operators in the same order
    ops = [n.op_type for n in m.graph.node]
    want = ["Conv", "Relu", "Conv", "Relu", "MaxPool", "Conv", "Relu", "ConvTranspose", "Concat", "Conv", "Relu", "Conv"]
    assert ops == want, ops
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    net = Tiny3d()
    sd = net.state_dict()
    assert set(sd) == set(inits), (sorted(sd), sorted(inits))
    for k, v in sd.items():
        assert tuple(v.shape) == inits[k].shape, (k, v.shape, inits[k].shape)
    net.load_state_dict({k: torch.tensor(np.array(v, np.float32)) for k, v in inits.items()})
    net.eval()
    return net


def check_on_nnunet(net):
    """The loaded net reproduces the Dice per class make_nnunet_fixtures.py computed with the trained torch net."""
    exp = json.load(open(os.path.join(FIX, "expected.json")))
    raw = os.path.join(FIX, "nnUNet_raw", "Dataset042_Tiny")
    for split, ids, folder in [("validation", ["tiny_003", "tiny_007"], "Tr"), ("test", ["tiny_010", "tiny_011", "tiny_012"], "Ts")]:
        preds, labs = [], []
        for cid in ids:
            img = np.stack([np.asarray(nib.load(os.path.join(raw, "images" + folder, "%s_%04d.nii.gz" % (cid, c))).dataobj).T for c in range(2)])
            lab = np.asarray(nib.load(os.path.join(raw, "labels" + folder, cid + ".nii.gz")).dataobj).T
            with torch.no_grad():
                preds.append(net(torch.tensor(zscore(img))[None]).argmax(1)[0].numpy())
            labs.append(lab)
        got = dice_per_class(preds, labs)
        assert np.allclose(got, exp["dicePerClass"][split], atol=1e-12), (split, got, exp["dicePerClass"][split])


def read_case(path):
    """4D NIfTI (x, y, z, t) in file voxel order → [t][z][y][x] float64 (no reorientation, like the engine)."""
    img = nib.load(path)
    a = np.asarray(img.dataobj, dtype=np.float64)  # scl_slope 0 in the header: raw values
    return a.T


def main():
    net = load_model()
    check_on_nnunet(net)
    ds = json.load(open(os.path.join(MSD, "dataset.json")))
    assert ds["modality"] == {"0": "CT", "1": "PET"}
    train = [(os.path.join(MSD, t["image"]), os.path.join(MSD, t["label"])) for t in ds["training"]]
    test = [os.path.join(MSD, t) for t in ds["test"]]
    imgs = {p: read_case(p) for p, _ in train}
    labs = {p: np.asarray(nib.load(l).dataobj).T.astype(np.int64) for p, l in train}
    for p in test:
        imgs[p] = read_case(p)

    # CT statistics of the training foreground (label > 0), float64
    fg = np.concatenate([imgs[p][0][labs[p] > 0] for p, _ in train])
    lo, hi = np.percentile(fg, 0.5), np.percentile(fg, 99.5)
    mean, std = fg.mean(), fg.std()

    def normalise(a):
        out = np.empty(a.shape, np.float32)
        out[0] = (np.clip(a[0], lo, hi) - mean) / max(std, 1e-8)
        pet = a[1]
        out[1] = (pet - pet.mean()) / max(pet.std(), 1e-8)
        return out

    preds = {}
    margin = np.inf
    for p, a in imgs.items():
        with torch.no_grad():
            logits = net(torch.tensor(normalise(a))[None])[0].numpy().astype(np.float64)
        preds[p] = logits.argmax(0)
        s = np.sort(logits, axis=0)
        margin = min(margin, float((s[-1] - s[-2]).min()))

    exp = json.load(open(os.path.join(FIX, "expected.json")))
    tr = [p for p, _ in train]
    exp["msdDicePerClass"] = {"train": dice_per_class([preds[p] for p in tr], [labs[p] for p in tr])}
    exp["msdForeground"] = {
        "train": float(sum((preds[p] > 0).sum() for p in tr) / sum(preds[p].size for p in tr)),
        "test": float(sum((preds[p] > 0).sum() for p in test) / sum(preds[p].size for p in test)),
    }
    exp["msdLabelForeground"] = {"train": float(sum((labs[p] > 0).sum() for p in tr) / sum(labs[p].size for p in tr))}
    exp["msdMinMargin"] = margin
    assert exp["msdCt"]["p005"] == lo and abs(exp["msdCt"]["p995"] - hi) < 1e-9 and abs(exp["msdCt"]["mean"] - mean) < 1e-9
    with open(os.path.join(FIX, "expected.json"), "w") as f:
        json.dump(exp, f, indent=1)
    print(json.dumps({k: exp[k] for k in ["msdDicePerClass", "msdForeground", "msdLabelForeground", "msdMinMargin"]}))


if __name__ == "__main__":
    main()
