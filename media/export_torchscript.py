#!/usr/bin/env python3
"""UNet Lens: export a PyTorch TorchScript file (.pt / .pth) to ONNX.

    python export_torchscript.py MODEL.pt OUT.onnx --shape 1,1,64,64 [--opset 13]

Run by the extension (and `unet-lens analyze model.pt …`) with the user's own Python. It
never writes next to the user's files: OUT.onnx is in the extension's storage.

- A TorchScript archive (torch.jit.save) is loaded with torch.jit.load, run once on a
  random input of --shape, and exported with torch.onnx.export (batch axis dynamic).
- Anything else is opened only with torch.load(weights_only=True), which never runs code
  from the file, to tell the user what it holds (a state_dict, a checkpoint dict, a pickled
  module) and how to save a graph instead.

The last line on stdout is one JSON object: {"ok": true, ...} or {"ok": false, "code": ...}.
Exit code 0 when exported, 3 for a model problem, 4 when torch cannot be imported.
"""
import argparse
import json
import os
import re
import sys
import zipfile

VERSION = 1


def emit(obj, code):
    obj.setdefault("python", sys.executable)
    obj.setdefault("pythonVersion", sys.version.split()[0])
    obj["scriptVersion"] = VERSION
    sys.stdout.write("\n" + json.dumps(obj) + "\n")
    sys.stdout.flush()
    sys.exit(code)


def fail(code, message, **extra):
    obj = {"ok": False, "code": code, "message": message}
    obj.update(extra)
    emit(obj, 4 if code == "no-torch" else 3)


def sniff(path):
    """'torchscript', 'torch-zip' (torch.save, zip), 'torch-legacy' (torch.save, pickle) or 'unknown'."""
    if zipfile.is_zipfile(path):
        try:
            names = zipfile.ZipFile(path).namelist()
        except Exception:  # noqa: BLE001
            return "unknown"
        if any(n.endswith("/constants.pkl") or "/code/" in n for n in names):
            return "torchscript"
        if any(n.endswith("/data.pkl") for n in names):
            return "torch-zip"
        return "unknown"
    with open(path, "rb") as f:
        head = f.read(2)
    if len(head) == 2 and head[0] == 0x80 and head[1] in (2, 3, 4, 5):
        return "torch-legacy"
    return "unknown"


SAFE_MODULES = {"torch", "collections", "builtins", "__builtin__", "_codecs", "numpy", "copyreg", "argparse"}


def pickle_globals(path, kind):
    """Module.name of every class or function a torch.save pickle refers to, without unpickling."""
    import pickletools

    if kind == "torch-zip":
        z = zipfile.ZipFile(path)
        data = z.read(next(n for n in z.namelist() if n.endswith("/data.pkl")))
    else:
        with open(path, "rb") as f:
            data = f.read()
    found = []
    strings = []
    pos = 0
    try:
        while pos < len(data):  # legacy files hold several pickles in a row
            end = pos
            for op, arg, at in pickletools.genops(data[pos:]):
                end = pos + at + 1
                if op.name == "GLOBAL":
                    found.append(str(arg).replace(" ", "."))
                elif op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
                    strings.append(str(arg))
                elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                    found.append(strings[-2] + "." + strings[-1])
                if op.name == "STOP":
                    break
            if kind == "torch-zip" or end <= pos:
                break
            pos = end
    except Exception:  # noqa: BLE001 (tensor bytes after the last pickle of a legacy file)
        pass
    return found


def describe_weights(obj, torch):
    """What a weights-only torch.load returned: a state_dict, a checkpoint holding one, or other."""
    def tensors(d):
        return isinstance(d, dict) and len(d) > 0 and all(isinstance(v, torch.Tensor) for v in d.values())

    if tensors(obj):
        keys = list(obj.keys())
        return {"holds": "state_dict", "tensors": len(keys), "keys": [str(k) for k in keys[:3]]}
    if isinstance(obj, dict):
        for k in ("state_dict", "model_state_dict", "model", "net", "weights"):
            if tensors(obj.get(k)):
                sub = list(obj[k].keys())
                return {"holds": "checkpoint", "key": k, "tensors": len(sub), "keys": [str(x) for x in sub[:3]],
                        "topKeys": [str(x) for x in list(obj.keys())[:8]]}
        return {"holds": "dict", "topKeys": [str(x) for x in list(obj.keys())[:8]]}
    if isinstance(obj, torch.Tensor):
        return {"holds": "tensor", "shape": list(obj.shape)}
    return {"holds": type(obj).__name__}


def output_names(y, torch):
    if isinstance(y, torch.Tensor):
        return ["output"]
    if isinstance(y, (list, tuple)) and all(isinstance(t, torch.Tensor) for t in y):
        return ["output" if i == 0 else "output_%d" % i for i in range(len(y))]
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("onnx")
    ap.add_argument("--shape", required=True, help="input shape, e.g. 1,1,64,64")
    ap.add_argument("--opset", type=int, default=13)
    a = ap.parse_args()
    try:
        import torch  # noqa: F401
    except Exception as e:  # noqa: BLE001
        fail("no-torch", "%s: %s" % (type(e).__name__, e))
    import torch
    info = {"torch": torch.__version__}
    shape = [int(s) for s in a.shape.split(",")]
    if not os.path.isfile(a.model):
        fail("not-found", "no such file", **info)
    kind = sniff(a.model)
    if kind != "torchscript":
        if kind == "unknown":
            fail("not-torch", "not a file written by torch.save or torch.jit.save", **info)
        try:
            obj = torch.load(a.model, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 (pickle.UnpicklingError, RuntimeError)
            # torch's safe loader refused something. Read the pickle's opcodes (pickletools parses,
            # it never executes) for the classes it would import: a class from the user's code
            # means a pickled module; only torch/builtins means weights in a dict it cannot read.
            msg = str(e).strip().splitlines()[-1][:300] if str(e).strip() else type(e).__name__
            classes = [g for g in pickle_globals(a.model, kind) if not g.split(".")[0] in SAFE_MODULES]
            if classes:
                fail("pickled-module", msg, cls=classes[0], **info)
            fail("weights-only", "no graph", holds="checkpoint", detail=msg, **info)
        fail("weights-only", "no graph", **describe_weights(obj, torch), **info)
    try:
        model = torch.jit.load(a.model, map_location="cpu")
    except Exception as e:  # noqa: BLE001
        fail("load-failed", str(e).strip().splitlines()[-1][:400] if str(e).strip() else type(e).__name__, **info)
    model.eval()
    torch.manual_seed(0)
    x = torch.randn(*shape)
    try:
        with torch.no_grad():
            y = model(x)
    except Exception as e:  # noqa: BLE001
        lines = [ln for ln in str(e).strip().splitlines() if ln.strip()]
        fail("run-failed", (lines[-1] if lines else type(e).__name__)[:400], shape=shape, **info)
    names = output_names(y, torch)
    if names is None:
        fail("bad-output", "the model returns %s; UNet Lens needs a tensor (or a tuple of tensors)" % type(y).__name__, **info)
    tmp = a.onnx + ".part"
    dynamic = {"input": {0: "batch"}}
    for n in names:
        dynamic[n] = {0: "batch"}
    try:
        torch.onnx.export(model, (x,), tmp, opset_version=a.opset, input_names=["input"], output_names=names,
                          dynamic_axes=dynamic, do_constant_folding=True)
    except Exception as e:  # noqa: BLE001
        msg = str(e).strip()
        m = re.search(r"operator '?([\w:.]+)'? to ONNX", msg) or re.search(r"Unsupported: ONNX export of (?:operator )?([\w:.]+)", msg) \
            or re.search(r"(aten::\w+|prim::\w+)", msg)
        if os.path.exists(tmp):
            os.remove(tmp)
        first = [ln for ln in msg.splitlines() if ln.strip()]
        if m:
            fail("unsupported-op", (first[0] if first else type(e).__name__)[:400], op=m.group(1), opset=a.opset, **info)
        fail("export-failed", "%s: %s" % (type(e).__name__, (first[0] if first else "")[:400]), opset=a.opset, **info)
    os.replace(tmp, a.onnx)
    emit({"ok": True, "onnx": a.onnx, "outputs": names, "inputShape": shape, "opset": a.opset, **info}, 0)


if __name__ == "__main__":
    main()
