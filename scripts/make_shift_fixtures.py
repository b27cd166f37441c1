#!/usr/bin/env python3
"""A model whose output turns NaN only under some synthetic shifts (for the sweep's robustness test).

    /usr/bin/python3 scripts/make_shift_fixtures.py   → test/fixtures/tasks/seg2d/sqrt_input.onnx

The tiny 2D UNet of the seg2d fixture (scripts/make_task_fixtures.py: Seg2D), trained on
sqrt(x) of the seg2d train images and exported with the sqrt inside: on the dataset's images
(x ≥ 0) its output is finite, but a shift that makes some input values negative (Gaussian
noise) gives sqrt(negative) = NaN and a NaN prediction. The other families (blur, gamma,
contrast around the mean, scale) keep x ≥ 0. Deterministic.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_task_fixtures import ROOT, Seg2D, export, train  # noqa: E402


class SqrtInput(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(torch.sqrt(x))


def main():
    d = os.path.join(ROOT, "seg2d", "data", "train")
    names = sorted(os.listdir(os.path.join(d, "images")))
    imgs = np.stack([np.load(os.path.join(d, "images", n)) for n in names])
    masks = np.stack([np.load(os.path.join(d, "masks", n)) for n in names])
    x = torch.from_numpy((imgs.astype(np.float64) / 255).astype(np.float32)[:, None])
    y = torch.from_numpy(masks).long()
    torch.manual_seed(9)
    m = SqrtInput(Seg2D())
    train(m, x, F.cross_entropy, y, 80, lr=0.03, seed=9)
    m.eval()
    with torch.no_grad():
        assert torch.isfinite(m(x)).all(), "finite on the dataset's images"
        assert torch.isnan(m(x - 0.5)).any(), "NaN once inputs go negative"
    path = os.path.join(ROOT, "seg2d", "sqrt_input.onnx")
    export(m, torch.zeros(1, 1, 16, 16), path)
    print(f"wrote {os.path.relpath(path)}")


if __name__ == "__main__":
    main()
