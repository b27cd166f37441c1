#!/usr/bin/python3
"""Writes the fixtures of test/unit/data.test.ts into test/fixtures/data/.

Run with Debian's python3 (it has numpy, Pillow and torch):

    /usr/bin/python3 scripts/make_data_fixtures.py

Everything is deterministic (seeded), tiny, and the expected values are written next to the
files in expected.json (pixel values) and resize.json (torch reference resizes), so the tests
compare the TypeScript readers against what Python wrote / computed.
"""
import json
import os
import shutil
import struct
import zlib

import numpy as np
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'data')
rng = np.random.default_rng(1234)
expected = {}


def out(*parts):
    p = os.path.join(ROOT, *parts)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


def rel(p):
    return os.path.relpath(p, ROOT).replace(os.sep, '/')


def expect(p, chw, label=None, **extra):
    """Records the raw values a reader must return for file p: planar [C, H, W]."""
    chw = np.asarray(chw)
    e = {'dims': list(chw.shape), 'data': [float(v) for v in chw.ravel()]}
    if label is not None:
        label = np.asarray(label)
        e['label'] = {'dims': list(label.shape), 'data': [int(v) for v in label.ravel()]}
    e.update(extra)
    expected[rel(p)] = e


# ---------------------------------------------------------------------------------------------
# A small PNG writer (any colour type / bit depth, optional palette and tRNS), independent of
# PIL so that 16-bit colour, 1/2/4-bit and tRNS cases are exactly what the test says.
# ---------------------------------------------------------------------------------------------

def chunk(kind, data):
    c = struct.pack('>I', len(data)) + kind + data
    return c + struct.pack('>I', zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_png(path, samples, color_type, depth, palette=None, trns=None):
    """samples: H×W (grey / palette index) or H×W×S integer array."""
    s = np.asarray(samples)
    if s.ndim == 2:
        s = s[:, :, None]
    h, w, n = s.shape
    raw = bytearray()
    for y in range(h):
        raw.append(0)  # filter: none
        row = s[y].reshape(-1)
        if depth == 16:
            for v in row:
                raw += struct.pack('>H', int(v))
        elif depth == 8:
            raw += bytes(int(v) for v in row)
        else:
            per = 8 // depth
            for i in range(0, len(row), per):
                b = 0
                for j in range(per):
                    v = int(row[i + j]) if i + j < len(row) else 0
                    b |= v << (8 - depth * (j + 1))
                raw.append(b)
    png = b'\x89PNG\r\n\x1a\n'
    png += chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, depth, color_type, 0, 0, 0))
    if palette is not None:
        png += chunk(b'PLTE', bytes(int(v) for rgb in palette for v in rgb))
    if trns is not None:
        png += chunk(b'tRNS', trns)
    png += chunk(b'IDAT', zlib.compress(bytes(raw), 9))
    png += chunk(b'IEND', b'')
    with open(path, 'wb') as f:
        f.write(png)


def hwc_to_chw(a):
    return np.transpose(a, (2, 0, 1))


# ---------------------------------------------------------------------------------------------
# PNG
# ---------------------------------------------------------------------------------------------

def make_pngs():
    H, W = 4, 5
    g8 = rng.integers(0, 256, (H, W), dtype=np.uint8)
    p = out('png', 'grey8.png')
    Image.fromarray(g8, 'L').save(p)
    expect(p, g8[None], label=g8)

    g16 = rng.integers(0, 65536, (H, W)).astype(np.uint16)
    g16[0, 0] = 65535
    g16[0, 1] = 256  # would be rescaled to 1 by an 8-bit reader
    p = out('png', 'grey16.png')
    Image.fromarray(g16).save(p)  # PIL mode I;16 → 16-bit grey PNG
    assert np.array_equal(np.array(Image.open(p)), g16)
    expect(p, g16[None])

    g4 = rng.integers(0, 16, (H, W))
    p = out('png', 'grey4.png')
    write_png(p, g4, 0, 4)
    expect(p, g4[None], label=g4)

    g1 = rng.integers(0, 2, (H, 11))  # odd width: exercises bit padding at row ends
    p = out('png', 'grey1.png')
    write_png(p, g1, 0, 1)
    expect(p, g1[None], label=g1)

    la = rng.integers(0, 256, (H, W, 2), dtype=np.uint8)
    p = out('png', 'greyalpha8.png')
    Image.fromarray(la, 'LA').save(p)
    expect(p, la[:, :, :1].transpose(2, 0, 1))

    la16 = rng.integers(0, 65536, (H, W, 2))
    p = out('png', 'greyalpha16.png')
    write_png(p, la16, 4, 16)
    expect(p, la16[:, :, :1].transpose(2, 0, 1))

    rgb = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    p = out('png', 'rgb8.png')
    Image.fromarray(rgb, 'RGB').save(p)
    expect(p, hwc_to_chw(rgb))

    rgba = rng.integers(0, 256, (H, W, 4), dtype=np.uint8)
    rgba[0, 0, 3] = 0  # fully transparent pixel keeps its colour
    p = out('png', 'rgba8.png')
    Image.fromarray(rgba, 'RGBA').save(p)
    expect(p, hwc_to_chw(rgba[:, :, :3]))

    rgb16 = rng.integers(0, 65536, (H, W, 3))
    p = out('png', 'rgb16.png')
    write_png(p, rgb16, 2, 16)
    expect(p, hwc_to_chw(rgb16))

    rgba16 = rng.integers(0, 65536, (H, W, 4))
    p = out('png', 'rgba16.png')
    write_png(p, rgba16, 6, 16)
    expect(p, hwc_to_chw(rgba16[:, :, :3]))

    # Palette (colour): image → palette colours (3 channels); label → palette indices.
    pal = [(0, 0, 0), (255, 0, 0), (0, 128, 255), (10, 20, 30)]
    idx = rng.integers(0, 4, (H, W), dtype=np.uint8)
    p = out('png', 'palette.png')
    im = Image.fromarray(idx, 'P')
    im.putpalette([v for c in pal for v in c])
    im.save(p)
    assert np.array_equal(np.array(Image.open(p)), idx)
    colours = np.array(pal)[idx]
    expect(p, hwc_to_chw(colours), label=idx)

    # Palette, 2-bit, with tRNS (palette alpha) — indices must survive.
    idx2 = rng.integers(0, 3, (H, 7))
    p = out('png', 'palette2bit.png')
    write_png(p, idx2, 3, 2, palette=[(5, 5, 5), (200, 100, 50), (1, 2, 3)], trns=bytes([0, 255, 128]))
    expect(p, hwc_to_chw(np.array([(5, 5, 5), (200, 100, 50), (1, 2, 3)])[idx2]), label=idx2)

    # Palette whose entries are all grey → one channel of grey levels.
    gpal = [(0, 0, 0), (90, 90, 90), (255, 255, 255)]
    gidx = rng.integers(0, 3, (H, W))
    p = out('png', 'palette_grey.png')
    write_png(p, gidx, 3, 8, palette=gpal)
    expect(p, np.array([c[0] for c in gpal])[gidx][None], label=gidx)

    # Grey with a tRNS colour: pngjs would zero those pixels; the raw value must survive.
    gt = rng.integers(0, 10, (H, W))
    gt[1, 1] = 7
    p = out('png', 'grey_trns.png')
    write_png(p, gt, 0, 8, trns=struct.pack('>H', 7))
    expect(p, gt[None], label=gt)

    # A mask saved as RGB with equal channels is fine; unequal channels are an error.
    m = rng.integers(0, 2, (H, W), dtype=np.uint8)
    p = out('png', 'mask_rgb_equal.png')
    Image.fromarray(np.stack([m, m, m], -1), 'RGB').save(p)
    expect(p, np.stack([m, m, m]), label=m)
    col = np.stack([m, m, m], -1)
    col[2, 3] = (1, 0, 0)
    p = out('png', 'mask_rgb_colour.png')
    Image.fromarray(col, 'RGB').save(p)

    # Broken files.
    big = rng.integers(0, 256, (32, 32), dtype=np.uint8)
    buf = open_bytes(Image.fromarray(big, 'L'))
    with open(out('png', 'truncated.png'), 'wb') as f:
        f.write(buf[: int(len(buf) * 0.6)])
    with open(out('png', 'not_a_png.png'), 'wb') as f:
        f.write(b'hello, I am text\n')
    with open(out('png', 'empty.png'), 'wb') as f:
        pass
    # Valid chunks but corrupt compressed data.
    bad = bytearray(buf)
    i = bytes(bad).index(b'IDAT') + 4
    for k in range(i + 2, min(i + 40, len(bad) - 16)):
        bad[k] ^= 0x5A
    # fix the IDAT CRC so that the failure is in the data, not the CRC
    L = struct.unpack('>I', bytes(bad[i - 8:i - 4]))[0]
    crc = zlib.crc32(bytes(bad[i - 4:i + L])) & 0xFFFFFFFF
    bad[i + L:i + L + 4] = struct.pack('>I', crc)
    with open(out('png', 'corrupt_data.png'), 'wb') as f:
        f.write(bytes(bad))


def open_bytes(im):
    import io
    b = io.BytesIO()
    im.save(b, format='PNG')
    return b.getvalue()


# ---------------------------------------------------------------------------------------------
# NPY / NPZ
# ---------------------------------------------------------------------------------------------

def make_arrays():
    base = np.array([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]])
    specials = {
        'u1': np.array([[0, 1, 127, 255]] * 3),
        'i1': np.array([[-128, -1, 0, 127]] * 3),
        'u2': np.array([[0, 1, 256, 65535]] * 3),
        'i2': np.array([[-32768, -1, 0, 32767]] * 3),
        'u4': np.array([[0, 1, 65536, 16777216]] * 3),
        'i4': np.array([[-16777216, -1, 0, 16777215]] * 3),
        'i8': np.array([[-5, -1, 0, 255]] * 3),
        'u8': np.array([[0, 1, 2, 255]] * 3),
        'f2': np.array([[-1.5, 0.0, 0.25, 1024.0]] * 3),
        'f4': np.array([[-1.5, 0.0, 0.1, 3.4e38]] * 3),
        'f8': np.array([[-1.5, 0.0, 0.25, 1e30]] * 3),
        'b1': np.array([[0, 1, 1, 0]] * 3),
    }
    for dt, vals in specials.items():
        a = (vals + (base * 0)).astype('<' + dt if dt not in ('u1', 'i1', 'b1') else '|' + dt)
        if dt == 'b1':
            a = vals.astype(bool)
        p = out('npy', f'{dt}.npy')
        np.save(p, a)
        expect(p, np.asarray(a, dtype=np.float32)[None].astype(np.float64), dtype=a.dtype.str)

    # big-endian
    a = (base.astype('>f4') / 4)
    p = out('npy', 'be_f4.npy')
    np.save(p, a)
    expect(p, a.astype(np.float64)[None], dtype=a.dtype.str)
    a = base.astype('>i2') - 6
    p = out('npy', 'be_i2.npy')
    np.save(p, a)
    expect(p, a.astype(np.float64)[None], dtype=a.dtype.str)

    # Fortran order: H×W×C = 3×4×2 (channels last)
    a = np.asfortranarray(np.arange(24, dtype=np.float32).reshape(3, 4, 2) * 0.5)
    p = out('npy', 'fortran_hwc.npy')
    np.save(p, a)
    with open(p, 'rb') as f:
        assert b"'fortran_order': True" in f.read(128)
    expect(p, np.transpose(a, (2, 0, 1)).astype(np.float64))

    # C×H×W with C = 3
    a = rng.random((3, 4, 5)).astype(np.float32)
    p = out('npy', 'chw3.npy')
    np.save(p, a)
    expect(p, a.astype(np.float64))

    # H×W×C with C = 3
    a = rng.random((4, 5, 3)).astype(np.float32)
    p = out('npy', 'hwc3.npy')
    np.save(p, a)
    expect(p, np.transpose(a, (2, 0, 1)).astype(np.float64))

    # format version 2.0 header
    a = base.astype('<u2')
    p = out('npy', 'v2.npy')
    with open(p, 'wb') as f:
        np.lib.format.write_array(f, a, version=(2, 0))
    expect(p, a.astype(np.float64)[None])

    # broken
    a = rng.random((16, 16)).astype(np.float32)
    p = out('npy', 'truncated.npy')
    np.save(p, a)
    with open(p, 'rb') as f:
        b = f.read()
    with open(p, 'wb') as f:
        f.write(b[: len(b) - 100])
    np.save(out('npy', 'object.npy'), np.array([{'a': 1}, None], dtype=object), allow_pickle=True)
    np.save(out('npy', 'complex.npy'), np.zeros((2, 2), dtype=np.complex64))

    # npz
    a = rng.integers(0, 256, (4, 5), dtype=np.uint8)
    p = out('npz', 'single.npz')
    np.savez(p, a)
    expect(p, a.astype(np.float64)[None])
    imgs = rng.integers(0, 256, (2, 4, 5, 3), dtype=np.uint8)
    masks = rng.integers(0, 2, (2, 4, 5)).astype(np.int64)
    p = out('npz', 'multi.npz')
    np.savez_compressed(p, images=imgs, masks=masks, other=np.zeros(3))
    p = out('npz', 'ambiguous.npz')
    np.savez(p, foo=np.zeros((2, 2)), bar=np.ones((2, 2)))
    with open(out('npz', 'not_a_zip.npz'), 'wb') as f:
        f.write(b'PK\x03\x04 this is not really a zip file at all')


# ---------------------------------------------------------------------------------------------
# Datasets (folders and arrays); configs are built by the test with validateDatasetJson
# ---------------------------------------------------------------------------------------------

def grey(h, w, lo=0, hi=256):
    return rng.integers(lo, hi, (h, w), dtype=np.uint8)


def save_png(p, a):
    Image.fromarray(a).save(out(*p.split('/')))


def make_datasets():
    ds = 'ds'
    H, W = 6, 5
    # A working folder dataset: train (png/png), test (npy images, png masks), siteB unlabeled.
    for i in (1, 2, 3, 10):
        save_png(f'{ds}/ok/train/images/case{i:03d}.png' if i < 10 else f'{ds}/ok/train/images/case{i}.png', grey(H, W))
        m = rng.integers(0, 2, (H, W), dtype=np.uint8)
        save_png(f'{ds}/ok/train/masks/case{i:03d}.png' if i < 10 else f'{ds}/ok/train/masks/case{i}.png', m)
    # natural order: case001, case002, case003, case10 (also plain sort here) + img2 < img10 below
    for name in ('img2', 'img10', 'img1'):
        a = rng.random((H, W)).astype(np.float32)
        np.save(out(ds, 'ok', 'test', 'images', f'{name}.npy'), a)
        save_png(f'{ds}/ok/test/masks/{name}.png', rng.integers(0, 2, (H, W), dtype=np.uint8))
    for name in ('s1', 's2'):
        save_png(f'{ds}/ok/siteB/images/{name}.png', grey(H, W))
    with open(out(ds, 'ok', 'siteB', 'images', 'notes.txt'), 'w') as f:
        f.write('not an image\n')
    with open(out(ds, 'ok', 'siteB', 'images', 'scan.mha'), 'wb') as f:
        f.write(b'\xff\xd8\xff\xe0 fake jpeg')
    with open(out(ds, 'ok', 'siteB', 'images', '.DS_Store'), 'wb') as f:
        f.write(b'junk')
    with open(out(ds, 'ok', 'unetlens.json'), 'w') as f:
        json.dump({
            'task': 'segmentation',
            'classes': ['background', 'lesion'],
            'input': {'layout': 'NCHW', 'size': [8, 8], 'channels': 1, 'scale': 1 / 255, 'mean': [0.5], 'std': [0.25]},
            'splits': {
                'test': {'images': 'test/images', 'labels': 'test/masks'},
                'train': {'images': 'train/images', 'labels': 'train/masks'},
                'siteB': {'images': 'siteB/images'},
            },
            'analysis': {'maxPoints': 1000, 'taps': ['a', 'b']},
        }, f, indent=2)

    # Missing pair: case003 has no mask.
    for i in (1, 2, 3):
        save_png(f'{ds}/missing_pair/images/case{i:03d}.png', grey(H, W))
    for i in (1, 2):
        save_png(f'{ds}/missing_pair/masks/case{i:03d}.png', grey(H, W, 0, 2))
    # Extra label: case004 mask has no image.
    for i in (1, 2):
        save_png(f'{ds}/extra_label/images/case{i:03d}.png', grey(H, W))
    for i in (1, 2, 4):
        save_png(f'{ds}/extra_label/masks/case{i:03d}.png', grey(H, W, 0, 2))
    # Mask 0/255 with two classes.
    save_png(f'{ds}/mask255/images/a.png', grey(H, W))
    m = np.zeros((H, W), dtype=np.uint8)
    m[2, 3] = 255
    save_png(f'{ds}/mask255/masks/a.png', m)
    # Mask of the wrong size.
    save_png(f'{ds}/wrong_size/images/a.png', grey(H, W))
    save_png(f'{ds}/wrong_size/masks/a.png', grey(4, 4, 0, 2))
    # RGB mask with different channels.
    save_png(f'{ds}/rgb_mask/images/a.png', grey(H, W))
    col = np.zeros((H, W, 3), dtype=np.uint8)
    col[1, 2] = (1, 0, 0)
    save_png(f'{ds}/rgb_mask/masks/a.png', col)
    # No supported files.
    for name in ('a.mha', 'b.mha', 'readme.txt'):
        with open(out(ds, 'unsupported', 'images', name), 'wb') as f:
            f.write(b'x')
    # Empty folder
    os.makedirs(os.path.join(ROOT, ds, 'empty', 'images'), exist_ok=True)
    with open(os.path.join(ROOT, ds, 'empty', 'images', '.gitkeep'), 'w') as f:
        pass
    # Duplicate base names.
    save_png(f'{ds}/dup/images/a.png', grey(H, W))
    np.save(out(ds, 'dup', 'images', 'a.npy'), grey(H, W))
    # A corrupt image inside a split.
    save_png(f'{ds}/corrupt/images/a.png', grey(H, W))
    shutil.copy(out('png', 'truncated.png'), out(ds, 'corrupt', 'images', 'b.png'))

    # Arrays: train.npz (N×H×W×3 uint8 + N×H×W int64 masks), test .npy N×1×H×W + N×H×W.
    N = 3
    imgs = rng.integers(0, 256, (N, H, W, 3), dtype=np.uint8)
    masks = rng.integers(0, 3, (N, H, W)).astype(np.int64)
    np.savez_compressed(out(ds, 'arrays', 'train.npz'), images=imgs, masks=masks)
    timgs = rng.random((N, 1, H, W)).astype(np.float32)
    tmasks = rng.integers(0, 3, (N, H, W)).astype(np.uint8)
    np.save(out(ds, 'arrays', 'test_images.npy'), timgs)
    np.save(out(ds, 'arrays', 'test_masks.npy'), tmasks)
    np.save(out(ds, 'arrays', 'short_masks.npy'), tmasks[:2])
    np.save(out(ds, 'arrays', 'nchw3.npy'), rng.random((2, 3, H, W)).astype(np.float32))
    bad = tmasks.copy()
    bad[1, 0, 2] = 7
    np.save(out(ds, 'arrays', 'bad_masks.npy'), bad)
    expected['ds/arrays'] = {
        'train_images': [hwc_to_chw(x).astype(float).ravel().tolist() for x in imgs],
        'train_masks': [x.ravel().tolist() for x in masks],
        'test_images': [x.astype(float).ravel().tolist() for x in timgs],
        'test_masks': [x.ravel().tolist() for x in tmasks],
        'dims': [3, H, W],
    }

    # Classification: ImageFolder layout (labels == images) and a CSV.
    for c in ('cat', 'dog'):
        for i in range(2):
            save_png(f'{ds}/classif/train/{c}/{c}{i}.png', grey(H, W))
    for i in range(3):
        save_png(f'{ds}/classif/test/t{i}.png', grey(H, W))
    with open(out(ds, 'classif', 'test_labels.csv'), 'w') as f:
        f.write('file,label\nt0.png,cat\nt1.png,1\nt2.png,dog\n')

    # Regression: targets are images.
    for i in range(2):
        save_png(f'{ds}/regression/inputs/r{i}.png', grey(H, W))
        np.save(out(ds, 'regression', 'targets', f'r{i}.npy'), rng.random((H, W)).astype(np.float32))


# ---------------------------------------------------------------------------------------------
# Resize references (torch)
# ---------------------------------------------------------------------------------------------

def make_resize():
    import torch
    import torch.nn.functional as F

    cases = []
    for (c, h, w, oh, ow) in [(2, 7, 5, 11, 13), (2, 7, 5, 3, 2), (1, 4, 4, 8, 8), (3, 9, 6, 9, 4), (1, 1, 1, 3, 3), (1, 5, 8, 5, 8), (1, 16, 12, 5, 7)]:
        x = rng.standard_normal((c, h, w)).astype(np.float32)
        y = F.interpolate(torch.from_numpy(x)[None], size=(oh, ow), mode='bilinear', align_corners=False, antialias=False)[0]
        cases.append({'kind': 'bilinear', 'dims': [c, h, w], 'data': x.ravel().tolist(), 'target': [oh, ow],
                      'out': y.numpy().ravel().astype(float).tolist()})
    # trilinear (3D)
    x = rng.standard_normal((1, 4, 5, 6)).astype(np.float32)
    y = F.interpolate(torch.from_numpy(x)[None], size=(7, 3, 8), mode='trilinear', align_corners=False)[0]
    cases.append({'kind': 'bilinear', 'dims': [1, 4, 5, 6], 'data': x.ravel().tolist(), 'target': [7, 3, 8],
                  'out': y.numpy().ravel().astype(float).tolist()})
    # nearest-exact for masks
    for (h, w, oh, ow) in [(7, 5, 11, 13), (7, 5, 3, 2), (6, 6, 4, 9), (16, 12, 5, 7)]:
        m = rng.integers(0, 5, (h, w))
        y = F.interpolate(torch.from_numpy(m.astype(np.float32))[None, None], size=(oh, ow), mode='nearest-exact')[0, 0]
        cases.append({'kind': 'nearest', 'dims': [h, w], 'data': m.ravel().tolist(), 'target': [oh, ow],
                      'out': [int(v) for v in y.numpy().ravel()]})
    # Full preprocessing: uint8 RGB → scale, mean, std (ImageNet) → bilinear 10×9 → 6×7
    raw = rng.integers(0, 256, (3, 10, 9)).astype(np.float32)
    scale = 1 / 255
    mean = np.array([0.485, 0.456, 0.406], dtype=np.float64)
    std = np.array([0.229, 0.224, 0.225], dtype=np.float64)
    xn = ((raw.astype(np.float64) * scale - mean[:, None, None]) / std[:, None, None])
    y = F.interpolate(torch.from_numpy(xn)[None], size=(6, 7), mode='bilinear', align_corners=False, antialias=False)[0]
    cases.append({'kind': 'modelInput', 'dims': [3, 10, 9], 'data': raw.ravel().tolist(), 'target': [6, 7],
                  'input': {'layout': 'NCHW', 'channels': 3, 'scale': scale, 'mean': mean.tolist(), 'std': std.tolist(), 'resize': 'resize'},
                  'out': y.numpy().ravel().astype(float).tolist()})
    with open(out('resize.json'), 'w') as f:
        json.dump({'torch': torch.__version__, 'cases': cases}, f)


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(ROOT)
    make_pngs()
    make_arrays()
    make_datasets()
    make_resize()
    with open(out('expected.json'), 'w') as f:
        json.dump(expected, f)
    n = sum(len(fs) for _, _, fs in os.walk(ROOT))
    print(f'wrote {n} files under {os.path.relpath(ROOT)}')


if __name__ == '__main__':
    main()
