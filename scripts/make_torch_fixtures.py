#!/usr/bin/env python3
"""Fixtures for the PyTorch (.pt / .pth) path, written with Debian's python3-torch:

    /usr/bin/python3 scripts/make_torch_fixtures.py

test/fixtures/torch/
  example_traced.pt    the bundled example's UNet (examples/synthetic/model.pt weights,
                       scripts/example_unet.py) as TorchScript: torch.jit.trace + torch.jit.save.
                       Exported by the extension, it must give the same analysis as
                       examples/synthetic/model.onnx.
  example_scripted.pt  the same network through torch.jit.script (no tracing).
  pickled_module.pth   torch.save(model) of a class defined in a training script: a pickle
                       that needs the user's code (never unpickled by UNet Lens).
  checkpoint.pth       {"epoch": 3, "model_state_dict": …, "optimizer": …}: weights only.
  fft_net.pt           TorchScript of a net using torch.fft.rfft2, which the ONNX exporter
                       of torch 1.13 (opset 13) cannot export.
(examples/synthetic/model.pt itself is a plain state_dict.)
"""
import os
import sys

import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from example_unet import load_example_model  # noqa: E402

OUT = os.path.join(ROOT, "test", "fixtures", "torch")


class TrainingScriptNet(nn.Module):
    """Stands for a class defined in a user's train.py."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)

    def forward(self, x):
        return self.conv(x)


class FftNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)

    def forward(self, x):
        f = torch.fft.rfft2(x)
        return self.conv(x) + f.abs().mean()


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    net = load_example_model(os.path.join(ROOT, "examples", "synthetic", "model.pt"))
    x = torch.rand(1, 1, 64, 64)
    traced = torch.jit.trace(net, x)
    torch.jit.save(traced, os.path.join(OUT, "example_traced.pt"))
    scripted = torch.jit.script(net)
    torch.jit.save(scripted, os.path.join(OUT, "example_scripted.pt"))
    with torch.no_grad():
        assert torch.equal(traced(x), net(x)) and torch.allclose(scripted(x), net(x))

    small = TrainingScriptNet()
    torch.save(small, os.path.join(OUT, "pickled_module.pth"))
    torch.save({"epoch": 3, "model_state_dict": small.state_dict(), "optimizer": {"lr": 1e-3}},
               os.path.join(OUT, "checkpoint.pth"))

    fft = FftNet().eval()
    torch.jit.save(torch.jit.trace(fft, torch.rand(1, 1, 16, 16)), os.path.join(OUT, "fft_net.pt"))
    for n in sorted(os.listdir(OUT)):
        print("%-22s %7d bytes" % (n, os.path.getsize(os.path.join(OUT, n))))


if __name__ == "__main__":
    main()
