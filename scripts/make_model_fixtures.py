"""Tiny ONNX models and their reference values for test/unit/model.test.ts.

Run with Debian's Python (torch 1.13, onnx 1.12):

    /usr/bin/python3 scripts/make_model_fixtures.py

Writes into test/fixtures/models/:
  <name>.onnx            the model (a few KB each)
  <name>.expected.json   what the loader must find, computed here independently of the
                         TypeScript code:
    - taps: the expected `auto` taps in forward order (hand-written per model from
      METHOD.md §1), each with op, stage, level, per-image shape (from PyTorch forward
      hooks) and receptive field (size, jump) measured by probing gradients on a
      "dependency twin" of the model (see `receptive_field`);
    - values: two taps' activations for a fixed input (PyTorch forward hooks), to
      compare with what onnxruntime returns (1e-5).

Receptive field probe: copy the model, set every conv weight to 1/fan_in (positive),
biases to 0, batch norms to identity, replace MaxPool by AvgPool of the same geometry
(a max routes the gradient to one input only; an average routes it to the whole window,
which is the dependency we want), run in float64 on an all-ones input large enough that
the probed location's field never reaches the border, and measure the extent of the
non-zero input gradient of one output location (summed over channels). The field of a
transposed convolution depends on the phase of the location, so we take the largest
extent over a few neighbouring locations. The jump is the shift of the field's start
between two locations `stride` apart, divided by that stride.
"""
import copy
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "models")


# ----------------------------------------------------------------------------- models

class Block2(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.relu2 = nn.ReLU()

    def forward(self, x):
        return self.relu2(self.conv2(self.relu1(self.conv1(x))))


class UNet2D(nn.Module):
    """2 levels: 1 -> 4 ch at full res, 8 ch at half res; ConvTranspose up, concat skip."""

    def __init__(self):
        super().__init__()
        self.enc1 = Block2(1, 4)
        self.pool1 = nn.MaxPool2d(2)
        self.enc2 = Block2(4, 8)
        self.up1 = nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.dec1 = Block2(8, 4)
        self.head = nn.Conv2d(4, 2, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool1(e1))
        d1 = self.dec1(torch.cat([self.up1(e2), e1], dim=1))
        return self.head(d1)


class Block3(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv3d(cin, cout, 3, padding=1)
        self.relu1 = nn.ReLU()

    def forward(self, x):
        return self.relu1(self.conv1(x))


class UNet3D(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc1 = Block3(1, 2)
        self.pool1 = nn.MaxPool3d(2)
        self.enc2 = Block3(2, 4)
        self.up1 = nn.Upsample(scale_factor=2, mode="nearest")
        self.dec1 = Block3(6, 2)
        self.head = nn.Conv3d(2, 2, 1)

    def forward(self, x):
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool1(e1))
        d1 = self.dec1(torch.cat([self.up1(e2), e1], dim=1))
        return self.head(d1)


class ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self.relu2 = nn.ReLU()

    def forward(self, x):
        y = self.relu1(self.bn1(self.conv1(x)))
        return self.relu2(self.bn2(self.conv2(y)) + x)


class BnBilinear(nn.Module):
    """Conv-BN-ReLU stem, a residual block, MaxPool, Conv-BN without activation, bilinear
    nn.Upsample (-> Resize), concat, Conv-InstanceNorm-LeakyReLU, 1x1 head. 3 input channels,
    fixed 16x16 and a fixed batch of 1."""

    def __init__(self):
        super().__init__()
        self.stem_conv = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(4)
        self.stem_relu = nn.ReLU()
        self.res = ResBlock(4)
        self.pool = nn.MaxPool2d(2)
        self.mid_conv = nn.Conv2d(4, 8, 3, padding=1, bias=False)
        self.mid_bn = nn.BatchNorm2d(8)
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.dec_conv = nn.Conv2d(12, 4, 3, padding=1)
        self.dec_norm = nn.InstanceNorm2d(4, affine=True)
        self.dec_act = nn.LeakyReLU(0.1)
        self.head = nn.Conv2d(4, 1, 1)

    def forward(self, x):
        s = self.stem_relu(self.stem_bn(self.stem_conv(x)))
        r = self.res(s)
        m = self.mid_bn(self.mid_conv(self.pool(r)))
        d = self.dec_act(self.dec_norm(self.dec_conv(torch.cat([self.up(m), r], dim=1))))
        return self.head(d)


class DilatedStrided(nn.Module):
    """Dilated conv, strided conv (down-sampling), dilated 5x5 with SiLU, AvgPool, ConvTranspose
    k4 s2 p1 + ReLU, ConvTranspose k2 s2 without activation, 1x1 head."""

    def __init__(self):
        super().__init__()
        self.a_conv = nn.Conv2d(1, 4, 3, padding=2, dilation=2)
        self.a_relu = nn.ReLU()
        self.down_conv = nn.Conv2d(4, 8, 3, stride=2, padding=1)
        self.down_relu = nn.ReLU()
        self.b_conv = nn.Conv2d(8, 8, 5, padding=6, dilation=3)
        self.b_act = nn.SiLU()
        self.avg = nn.AvgPool2d(3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1)
        self.up_relu = nn.ReLU()
        self.up2 = nn.ConvTranspose2d(4, 4, 2, stride=2)
        self.head = nn.Conv2d(4, 2, 1)

    def forward(self, x):
        x = self.a_relu(self.a_conv(x))
        x = self.down_relu(self.down_conv(x))
        x = self.b_act(self.b_conv(x))
        x = self.avg(x)
        x = self.up_relu(self.up(x))
        x = self.up2(x)
        return self.head(x)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.flat = nn.Flatten()
        self.fc1 = nn.Linear(64, 16)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(16, 2)

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(self.flat(x))))


class NhwcNet(nn.Module):
    """Takes N x H x W x C and returns N x H x W x 2 (like a converted TF/Keras model)."""

    def __init__(self):
        super().__init__()
        self.c1_conv = nn.Conv2d(1, 4, 3, padding=1)
        self.c1_relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.c2_conv = nn.Conv2d(4, 4, 3, padding=1)
        self.c2_relu = nn.ReLU()
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.head = nn.Conv2d(4, 2, 1)

    def forward(self, x):
        x = x.permute(0, 3, 1, 2)
        x = self.c1_relu(self.c1_conv(x))
        x = self.c2_relu(self.c2_conv(self.pool(x)))
        x = self.head(self.up(x))
        return x.permute(0, 2, 3, 1)


# ------------------------------------------------------------------ reference helpers

def module_by_path(model, path):
    m = model
    for p in path.split("."):
        m = getattr(m, p)
    return m


def dependency_twin(model):
    twin = copy.deepcopy(model).double().eval()

    def fix(mod):
        for name, child in list(mod.named_children()):
            if isinstance(child, (nn.MaxPool2d, nn.MaxPool3d)):
                k, s, p = child.kernel_size, child.stride, child.padding
                assert child.dilation in (1, (1, 1), (1, 1, 1))
                Pool = nn.AvgPool2d if isinstance(child, nn.MaxPool2d) else nn.AvgPool3d
                setattr(mod, name, Pool(k, s, p, count_include_pad=False))
            elif isinstance(child, (nn.SiLU, nn.LeakyReLU, nn.ReLU)):
                setattr(mod, name, nn.Identity())  # inputs stay positive: same dependency
            elif isinstance(child, (nn.BatchNorm2d, nn.InstanceNorm2d)):
                setattr(mod, name, nn.Identity())  # per-location affine: no spatial mixing
            else:
                fix(child)

    fix(twin)
    with torch.no_grad():
        for m in twin.modules():
            if isinstance(m, (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.ConvTranspose3d, nn.Linear)):
                m.weight.fill_(1.0 / m.weight[0].numel())
                if m.bias is not None:
                    m.bias.zero_()
    return twin


def extent(grad, spatial_rank):
    """Per spatial axis (first, last) indices where grad != 0."""
    nz = np.nonzero(np.abs(grad) > 0)
    return [(int(nz[a].min()), int(nz[a].max())) for a in range(spatial_rank)]


def receptive_field(model, module_path, in_ch, probe_size, spatial_rank, permute_input=False):
    """(size, jump) of a tap, measured by gradients on the dependency twin."""
    twin = dependency_twin(model)
    mod = module_by_path(twin, module_path)
    store = {}
    h = mod.register_forward_hook(lambda m, i, o: store.__setitem__("o", o))
    shape = [1, in_ch] + [probe_size] * spatial_rank
    if permute_input:
        shape = [1] + [probe_size] * spatial_rank + [in_ch]
    best = [0] * spatial_rank
    starts = []
    out_sp = None
    for off in range(5):
        x = torch.ones(shape, dtype=torch.float64, requires_grad=True)
        twin(x)
        o = store["o"]
        out_sp = list(o.shape[2:])
        loc = tuple(s // 2 + off for s in out_sp)
        o[(0, slice(None)) + loc].sum().backward()
        g = x.grad[0].numpy()
        g = np.moveaxis(g, -1, 0) if permute_input else g
        g = g.sum(axis=0)
        ext = extent(g, spatial_rank)
        for a, (lo, hi) in enumerate(ext):
            assert lo > 0 and hi < probe_size - 1, f"{module_path}: field reaches the border; probe larger"
            best[a] = max(best[a], hi - lo + 1)
        starts.append(ext)
    h.remove()
    # jump: shift of the field's centre per location step, over 4 steps (the phase pattern
    # of the transposed convolutions here repeats every 2 or 4 locations)
    jumps = []
    for a in range(spatial_rank):
        c0 = (starts[0][a][0] + starts[0][a][1]) / 2
        c4 = (starts[4][a][0] + starts[4][a][1]) / 2
        jumps.append((c4 - c0) / 4)
    assert len(set(best)) == 1, f"anisotropic field {best}"
    assert len(set(jumps)) == 1, f"anisotropic jump {jumps}"
    assert jumps[0] == probe_size / out_sp[0], (module_path, jumps, out_sp)
    return {"size": best[0], "jump": jumps[0]}


def onnx_name(path, op):
    return "/" + path.replace(".", "/") + f"/{op}_output_0"


def export(name, model, example, dynamic_axes, taps, value_taps, probe_size, in_ch,
           spatial_rank, output_name="logits", input_name="image", permute_input=False,
           extra=None):
    """taps: list of (module path, op, stage, level, onnx name override or None)."""
    torch.manual_seed(0)
    model.eval()
    # give batch norms non-trivial statistics
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
    path = os.path.join(OUT, name + ".onnx")
    torch.onnx.export(model, example, path, opset_version=13, input_names=[input_name],
                      output_names=[output_name], dynamic_axes=dynamic_axes,
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=True)

    # shapes and values from forward hooks on the export-size example
    store = {}
    hooks = []
    for (mp, *_rest) in taps:
        mod = module_by_path(model, mp)
        hooks.append(mod.register_forward_hook(
            lambda m, i, o, mp=mp: store.__setitem__(mp, o.detach().clone())))
    with torch.no_grad():
        out = model(example)
    for h in hooks:
        h.remove()

    expected_taps = []
    for (mp, op, stage, level, override) in taps:
        t = store[mp]
        rf = receptive_field(model, mp, in_ch, probe_size, spatial_rank, permute_input)
        expected_taps.append({
            "name": override or onnx_name(mp, op),
            "module": mp,
            "op": op,
            "stage": stage,
            "level": level,
            "shape": list(t.shape[1:]),
            "receptiveField": rf,
        })
    values = {}
    for mp in value_taps:
        t = next(e for e in expected_taps if e["module"] == mp)
        values[t["name"]] = r7(store[mp][0].flatten().tolist())
    doc = {
        "model": name + ".onnx",
        "inputName": input_name,
        "outputName": output_name,
        "inputDims": list(example.shape[1:]),
        "input": r7(example[0].flatten().tolist()),
        "output": r7(out[0].flatten().tolist()),
        "outputDims": list(out.shape),
        "taps": expected_taps,
        "values": values,
    }
    doc["graph"] = graph_summary(path)
    if extra:
        doc.update(extra)
    with open(os.path.join(OUT, name + ".expected.json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    print(f"{name}: {os.path.getsize(path)} bytes, {len(expected_taps)} taps")
    for t in expected_taps:
        print(f"   {t['name']:40s} {t['op']:20s} {t['stage']:10s} L{t['level']} {t['shape']} rf={t['receptiveField']}")


def graph_summary(path):
    """What onnx's own parser reads from the file, to check the TypeScript parser against."""
    import onnx
    m = onnx.load(path)
    dims = lambda vi: [d.dim_param if d.dim_param else d.dim_value for d in vi.type.tensor_type.shape.dim]
    return {
        "irVersion": m.ir_version,
        "opsets": [{"domain": o.domain, "version": o.version} for o in m.opset_import],
        "nodes": [{"name": n.name, "op": n.op_type, "inputs": list(n.input), "outputs": list(n.output)} for n in m.graph.node],
        "initializers": {t.name: list(t.dims) for t in m.graph.initializer},
        "inputs": [{"name": i.name, "elemType": i.type.tensor_type.elem_type, "dims": dims(i)} for i in m.graph.input],
        "outputs": [{"name": o.name, "elemType": o.type.tensor_type.elem_type, "dims": dims(o)} for o in m.graph.output],
    }


def r7(values):
    """7 significant digits: float32 precision, and a small file."""
    return [float(f"{v:.7g}") for v in values]


def fixed_input(shape):
    n = int(np.prod(shape))
    v = np.sin(np.arange(n, dtype=np.float64) * 0.37) * 0.8 + 0.1
    return torch.tensor(v.reshape(shape), dtype=torch.float32)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)

    # 1. 2-level 2D UNet, dynamic batch and spatial dims
    torch.manual_seed(1)
    m = UNet2D()
    export("unet2d", m, fixed_input([1, 1, 16, 16]),
           {"image": {0: "batch", 2: "height", 3: "width"}, "logits": {0: "batch", 2: "height", 3: "width"}},
           [("enc1.relu1", "Relu", "encoder", 0, None),
            ("enc1.relu2", "Relu", "encoder", 0, None),
            ("pool1", "MaxPool", "bottleneck", 1, None),
            ("enc2.relu1", "Relu", "bottleneck", 1, None),
            ("enc2.relu2", "Relu", "bottleneck", 1, None),
            ("up1", "ConvTranspose", "decoder", 0, None),
            ("dec1.relu1", "Relu", "decoder", 0, None),
            ("dec1.relu2", "Relu", "decoder", 0, None),
            ("head", "Conv", "decoder", 0, "logits")],
           ["enc1.relu2", "dec1.relu1"], probe_size=64, in_ch=1, spatial_rank=2)

    # same graph with its nodes in reverse file order (the loader must sort them itself)
    import onnx
    g = onnx.load(os.path.join(OUT, "unet2d.onnx"))
    nodes = list(g.graph.node)[::-1]
    del g.graph.node[:]
    g.graph.node.extend(nodes)
    onnx.save(g, os.path.join(OUT, "unet2d_shuffled.onnx"))

    # same model with its weights in an external file (as large models are saved)
    g = onnx.load(os.path.join(OUT, "unet2d.onnx"))
    data_file = os.path.join(OUT, "unet2d_external.onnx.data")
    if os.path.exists(data_file):
        os.remove(data_file)  # onnx appends to an existing data file
    onnx.save_model(g, os.path.join(OUT, "unet2d_external.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="unet2d_external.onnx.data", size_threshold=64)

    # 2. tiny 3D UNet: Conv3d, MaxPool3d, Upsample (nearest -> Resize)
    torch.manual_seed(2)
    m = UNet3D()
    export("unet3d", m, fixed_input([1, 1, 8, 8, 8]),
           {"image": {0: "batch"}, "logits": {0: "batch"}},
           [("enc1.relu1", "Relu", "encoder", 0, None),
            ("pool1", "MaxPool", "bottleneck", 1, None),
            ("enc2.relu1", "Relu", "bottleneck", 1, None),
            ("up1", "Resize", "decoder", 0, None),
            ("dec1.relu1", "Relu", "decoder", 0, None),
            ("head", "Conv", "decoder", 0, "logits")],
           ["enc1.relu1", "up1"], probe_size=32, in_ch=1, spatial_rank=3)

    # 3. BatchNorm, residual add, bilinear Resize, InstanceNorm + LeakyReLU; fixed 1x3x16x16
    torch.manual_seed(3)
    m = BnBilinear()
    export("bn_bilinear", m, fixed_input([1, 3, 16, 16]), None,
           [("stem_relu", "Relu", "encoder", 0, None),
            ("res.relu1", "Relu", "encoder", 0, None),
            ("res.relu2", "Relu", "encoder", 0, None),
            ("pool", "MaxPool", "bottleneck", 1, None),
            ("mid_bn", "BatchNormalization", "bottleneck", 1, None),
            ("up", "Resize", "decoder", 0, None),
            ("dec_act", "LeakyRelu", "decoder", 0, None),
            ("head", "Conv", "decoder", 0, "logits")],
           ["res.relu2", "mid_bn"], probe_size=64, in_ch=3, spatial_rank=2)

    # 4. dilated and strided convolutions, SiLU, AvgPool, ConvTranspose k4 s2 p1
    torch.manual_seed(4)
    m = DilatedStrided()
    export("dilated_strided", m, fixed_input([1, 1, 16, 16]),
           {"image": {0: "batch"}, "logits": {0: "batch"}},
           [("a_relu", "Relu", "encoder", 0, None),
            ("down_relu", "Relu", "encoder", 1, None),
            ("b_act", "Mul", "encoder", 1, None),
            ("avg", "AveragePool", "bottleneck", 2, None),
            ("up_relu", "Relu", "decoder", 1, None),
            ("up2", "ConvTranspose", "decoder", 0, None),
            ("head", "Conv", "decoder", 0, "logits")],
           ["b_act", "up_relu"], probe_size=160, in_ch=1, spatial_rank=2)

    # 5. NHWC in and out (like a converted Keras model)
    torch.manual_seed(5)
    m = NhwcNet()
    export("nhwc", m, fixed_input([1, 16, 16, 1]),
           {"image": {0: "batch"}, "logits": {0: "batch"}},
           [("c1_relu", "Relu", "encoder", 0, None),
            ("pool", "MaxPool", "bottleneck", 1, None),
            ("c2_relu", "Relu", "bottleneck", 1, None),
            ("up", "Resize", "decoder", 0, None),
            ("head", "Conv", "decoder", 0, "/head/Conv_output_0")],
           ["c1_relu", "head"], probe_size=48, in_ch=1, spatial_rank=2, permute_input=True)

    # 6. an MLP: no spatial layers at all (the loader must refuse it)
    torch.manual_seed(6)
    m = MLP().eval()
    torch.onnx.export(m, torch.zeros(1, 1, 8, 8), os.path.join(OUT, "mlp.onnx"), opset_version=13,
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    print("mlp:", os.path.getsize(os.path.join(OUT, "mlp.onnx")), "bytes")

    fixed_reshape()


class FixedReshape(nn.Module):
    """A 512x512 net with a Reshape to constant shapes in the middle (a flattened softmax):
    it runs only at its declared size, so the loader's small-size shape probe must give way to
    the full-size one (onnxModel.ts, probeShapes.ts)."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 2, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.c2 = nn.Conv2d(2, 2, 3, padding=1)
        self.up = nn.ConvTranspose2d(2, 2, 2, stride=2)
        self.head = nn.Conv2d(2, 2, 1)

    def forward(self, x):
        y = torch.relu(self.c1(x))
        z = torch.relu(self.c2(self.pool(y)))
        z = torch.softmax(z.reshape(1, 2, 256 * 256), dim=2).reshape(1, 2, 256, 256)
        return self.head(self.up(z) + y)


def fixed_reshape():
    torch.manual_seed(7)
    m = FixedReshape().eval()
    path = os.path.join(OUT, "fixed_reshape.onnx")
    torch.onnx.export(m, torch.zeros(1, 1, 512, 512), path, opset_version=13,
                      input_names=["image"], output_names=["logits"])
    print("fixed_reshape:", os.path.getsize(path), "bytes")


if __name__ == "__main__":
    sys.exit(main())
