#!/usr/bin/python3
"""The MANY-SPLIT benchmark case of UNet Lens (issue 12): bench/.data/manysplit/ (git-ignored).

    /usr/bin/python3 scripts/make_manysplit.py [--splits 16] [--images 16]

The bundled example's model (examples/synthetic/model.onnx, and model.pt for the Python side)
and its train split (read in place), plus `--splits` more splits of `--images` 64x64 images
each, drawn with make_example.py's `make_case` under varied acquisition settings (lesion size and
contrast, texture, noise, distractor dots; every fourth split through the site-B "scanner"):
three of every four labelled, the fourth unlabelled. Deterministic (seed per split). Writes
bench/.data/manysplit/unetlens.json and data/<split>/{images,masks}/caseNNN.png. Seconds.
"""
import argparse
import json
import os
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from make_example import make_case, to_u8  # noqa: E402

OUT = os.path.join(ROOT, "bench", ".data", "manysplit")
EXAMPLE = os.path.join(ROOT, "examples", "synthetic")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--splits", type=int, default=16)
    ap.add_argument("--images", type=int, default=16)
    a = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    train = os.path.relpath(os.path.join(EXAMPLE, "data", "train"), OUT)
    splits = {"train": {"images": f"{train}/images", "labels": f"{train}/masks"}}
    for s in range(a.splits):
        rng = np.random.default_rng(5000 + s)
        t = s / max(1, a.splits - 1)
        kw = dict(axes=(3.0 - 1.5 * t, 10.0 + 4 * t * (s % 2)), contrast=(0.18 - 0.08 * t, 0.40 - 0.15 * t),
                  dots=(0, 4 + (s % 3) * 4), tex_amp=0.06 * (1 + (s % 5) / 4), noise=0.035 * (1 + (s % 4) / 2))
        site = "B" if s % 4 == 3 else "A"
        labelled = s % 4 != 2
        name = f"site{s:02d}"
        base = os.path.join(OUT, "data", name)
        os.makedirs(os.path.join(base, "images"), exist_ok=True)
        if labelled:
            os.makedirs(os.path.join(base, "masks"), exist_ok=True)
        for i in range(a.images):
            img, mask = make_case(rng, site, **kw)
            fn = f"case{i:03d}.png"
            Image.fromarray(to_u8(img), mode="L").save(os.path.join(base, "images", fn))
            if labelled:
                Image.fromarray(mask, mode="L").save(os.path.join(base, "masks", fn))
        splits[name] = {"images": f"data/{name}/images", **({"labels": f"data/{name}/masks"} if labelled else {})}
    with open(os.path.join(EXAMPLE, "unetlens.json")) as f:
        ds = json.load(f)
    ds["splits"] = splits
    with open(os.path.join(OUT, "unetlens.json"), "w") as f:
        json.dump(ds, f, indent=2)
    print(f"wrote {OUT}: train + {a.splits} splits of {a.images} images")


if __name__ == "__main__":
    main()
