"""The small 2D UNet of the bundled example (examples/synthetic/).

Importable by other scripts (e.g. a reference implementation of the metrics) so that
they can reload examples/synthetic/model.pt and get exactly the network that was
exported to examples/synthetic/model.onnx:

    import sys; sys.path.insert(0, "scripts")
    from example_unet import ExampleUNet, load_example_model
    net = load_example_model("examples/synthetic/model.pt")

Architecture: 3 resolution levels (64 -> 32 -> 16), widths 8/16/32, every block is
Conv3x3+ReLU twice (no BatchNorm, so the ONNX graph is plain Conv/Relu), MaxPool2d(2)
down, ConvTranspose2d(k=2, s=2) up, skip connections by concatenation, 1x1 head to two
class logits (background, lesion). Modules are named so that the exported ONNX value
names read like `/enc1/relu2/Relu_output_0`.
"""
import torch
import torch.nn as nn


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


class ExampleUNet(nn.Module):
    def __init__(self, in_channels: int = 1, num_classes: int = 2, base: int = 8):
        super().__init__()
        b = base
        self.enc1 = Block(in_channels, b)          # 64x64,  8 ch
        self.pool1 = nn.MaxPool2d(2)               # -> 32x32
        self.enc2 = Block(b, 2 * b)                # 32x32, 16 ch
        self.pool2 = nn.MaxPool2d(2)               # -> 16x16
        self.bottleneck = Block(2 * b, 4 * b)      # 16x16, 32 ch
        self.up2 = nn.ConvTranspose2d(4 * b, 2 * b, kernel_size=2, stride=2)  # -> 32x32
        self.dec2 = Block(4 * b, 2 * b)            # concat(up2, enc2) -> 16 ch
        self.up1 = nn.ConvTranspose2d(2 * b, b, kernel_size=2, stride=2)      # -> 64x64
        self.dec1 = Block(2 * b, b)                # concat(up1, enc1) -> 8 ch
        self.head = nn.Conv2d(b, num_classes, kernel_size=1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool1(e1))
        bn = self.bottleneck(self.pool2(e2))
        d2 = self.dec2(torch.cat([self.up2(bn), e2], dim=1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], dim=1))
        return self.head(d1)


def load_example_model(path: str) -> ExampleUNet:
    net = ExampleUNet()
    net.load_state_dict(torch.load(path, map_location="cpu"))
    net.eval()
    return net
