#!/usr/bin/python3
"""Writes the fixtures of test/unit/readers.test.ts into test/fixtures/data/formats/.

Run with Debian's python3 (numpy, Pillow, tifffile, torch; nibabel from `apt-get install
python3-nibabel`):

    /usr/bin/python3 scripts/make_format_fixtures.py

Every file is written by Python (PIL, tifffile, nibabel, or by hand where a header detail must
be exact) and the values Python reads back are stored in expected.json, so the tests compare
the TypeScript readers with Python's decoders:

- JPEG: PIL (libjpeg-turbo) decode. jpeg-js rounds its IDCT differently and upsamples chroma
  by pixel replication where libjpeg uses "fancy" (triangle) upsampling, so the tests allow a
  measured tolerance per file (see readers.test.ts).
- TIFF: tifffile.imread (cross-checked with PIL where PIL can read the file).
- NIfTI: nibabel: `img.dataobj.get_unscaled()` (raw stored values, for masks) and `img.get_fdata()` (scaled by
  scl_slope/scl_inter, for images), transposed from nibabel's [x, y, z, t] to the readers'
  [C = t, D = z, H = y, W = x] (the file's own voxel order, no reorientation).

Also: a 3D dataset of .nii/.nii.gz volumes (+ a TIFF stack) for the tiny 3D UNet of
test/fixtures/models/unet3d.onnx, and torch references of the 3D preprocessing of one volume.
Everything is seeded and tiny (the folder stays well under 500 KB).
"""
import gzip
import io
import json
import os
import shutil
import struct

import numpy as np
import nibabel as nib
import tifffile
import torch
import torch.nn.functional as F
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'data', 'formats')
rng = np.random.default_rng(20211)
expected = {}


def out(*parts):
    p = os.path.join(ROOT, *parts)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


def rel(p):
    return os.path.relpath(p, ROOT).replace(os.sep, '/')


def flist(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def expect(p, chw, label=None, layout='NCHW', **extra):
    """Records the raw values a reader must return for file p: planar [C, ...spatial]."""
    chw = np.asarray(chw)
    e = {'dims': list(chw.shape), 'layout': layout, 'data': flist(chw)}
    if label is not None:
        label = np.asarray(label)
        e['label'] = {'dims': list(label.shape), 'data': [int(v) for v in label.ravel()]}
    e.update(extra)
    expected[rel(p)] = e


def chw(a):
    """H×W → 1×H×W; H×W×C → C×H×W."""
    a = np.asarray(a)
    return a[None] if a.ndim == 2 else np.transpose(a, (2, 0, 1))


def smooth_noisy(h, w, c=None, amp=60):
    """A gradient with blobs and noise: exercises JPEG's high frequencies and clipping."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    base = 128 + 90 * np.sin(x / 3.1) * np.cos(y / 2.3)
    if c is None:
        img = base + rng.normal(0, amp / 3, (h, w))
    else:
        img = np.stack([base * (0.6 + 0.2 * k) + 40 * k + rng.normal(0, amp / 3, (h, w)) for k in range(c)], -1)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def truncate(src, dst, keep):
    with open(src, 'rb') as f:
        b = f.read()
    with open(dst, 'wb') as f:
        f.write(b[:keep] if keep >= 0 else b[:len(b) + keep])


# ---------------------------------------------------------------------------------------------
# JPEG
# ---------------------------------------------------------------------------------------------

def make_jpegs():
    H, W = 13, 20  # not multiples of 8/16: partial MCUs at the right and bottom edges
    g = smooth_noisy(H, W)
    for name, kw in [('grey.jpg', dict(quality=90)), ('grey_q50.jpg', dict(quality=50)),
                     ('grey_progressive.jpg', dict(quality=85, progressive=True))]:
        p = out('jpeg', name)
        Image.fromarray(g, 'L').save(p, **kw)
        dec = np.asarray(Image.open(p))
        assert dec.ndim == 2
        expect(p, chw(dec))

    rgb = smooth_noisy(H, W, 3)
    for name, kw in [('rgb444.jpg', dict(quality=90, subsampling=0)),
                     ('rgb420.jpg', dict(quality=90, subsampling=2)),
                     ('rgb420_smooth.jpg', dict(quality=90, subsampling=2)),
                     ('rgb_progressive.jpeg', dict(quality=85, subsampling=0, progressive=True))]:
        src = rgb
        if 'smooth' in name:  # chroma without sharp edges: upsampling differences stay small
            y, x = np.mgrid[0:H, 0:W].astype(np.float64)
            src = np.clip(np.stack([60 + 6 * x, 80 + 8 * y, 200 - 4 * x - 3 * y], -1), 0, 255).astype(np.uint8)
        p = out('jpeg', name)
        Image.fromarray(src, 'RGB').save(p, **kw)
        dec = np.asarray(Image.open(p).convert('RGB'))
        expect(p, chw(dec))

    # a grey-looking RGB JPEG is still 3 channels (the file has 3 components)
    p = out('jpeg', 'grey_as_rgb.jpg')
    Image.fromarray(np.repeat(g[:, :, None], 3, 2), 'RGB').save(p, quality=90, subsampling=0)
    expect(p, chw(np.asarray(Image.open(p).convert('RGB'))))

    # broken files
    truncate(out('jpeg', 'grey.jpg'), out('jpeg', 'truncated.jpg'), 200)  # inside a header segment
    truncate(out('jpeg', 'grey.jpg'), out('jpeg', 'truncated_scan.jpg'), -30)  # inside the image data
    with open(out('jpeg', 'not_a_jpeg.jpg'), 'wb') as f:
        f.write(b'GIF89a' + bytes(range(64)))
    open(out('jpeg', 'empty.jpg'), 'wb').close()


# ---------------------------------------------------------------------------------------------
# TIFF
# ---------------------------------------------------------------------------------------------

def read_tiff(p):
    """tifffile's reading (PIL's for LZW and PackBits: tifffile needs imagecodecs for those)."""
    try:
        return tifffile.imread(p)
    except ValueError as e:
        if 'imagecodecs' not in str(e):
            raise
        return np.asarray(Image.open(p))


def check_pil(p, want):
    """Cross-checks tifffile's reading with PIL's where PIL can read the file."""
    got = np.asarray(Image.open(p))
    assert np.array_equal(got, want), (p, got, want)


def make_tiffs():
    H, W = 10, 13
    g8 = rng.integers(0, 256, (H, W), dtype=np.uint8)
    for name, comp in [('grey8.tif', None), ('grey8_lzw.tif', 'tiff_lzw'),
                       ('grey8_deflate.tif', 'tiff_adobe_deflate'), ('grey8_packbits.tiff', 'packbits')]:
        p = out('tiff', name)
        Image.fromarray(g8, 'L').save(p, **({'compression': comp} if comp else {}))
        a = read_tiff(p)
        assert np.array_equal(a, g8)
        expect(p, chw(a), label=a)

    p = out('tiff', 'grey8_strips.tif')
    tifffile.imwrite(p, g8, rowsperstrip=3)
    expect(p, chw(read_tiff(p)))

    t = rng.integers(0, 256, (20, 18), dtype=np.uint8)
    p = out('tiff', 'grey8_tiled.tif')  # 16×16 tiles, partial tiles at the right and bottom
    tifffile.imwrite(p, t, tile=(16, 16))
    assert np.array_equal(read_tiff(p), t)
    expect(p, chw(t))

    g16 = rng.integers(0, 65536, (H, W)).astype(np.uint16)
    g16[0, 0], g16[0, 1] = 65535, 256
    p = out('tiff', 'grey16.tif')
    tifffile.imwrite(p, g16)
    check_pil(p, g16)
    expect(p, chw(g16))
    p = out('tiff', 'grey16_be.tif')
    tifffile.imwrite(p, g16, byteorder='>')
    expect(p, chw(read_tiff(p)))
    p = out('tiff', 'grey16_zlib_predictor.tif')
    tifffile.imwrite(p, g16, compression='zlib', predictor=True)
    assert tifffile.TiffFile(p).pages[0].predictor == 2
    expect(p, chw(read_tiff(p)))
    p = out('tiff', 'grey16_lzw.tif')
    Image.fromarray(g16).save(p, compression='tiff_lzw')
    expect(p, chw(read_tiff(p)))

    i16 = rng.integers(-30000, 30000, (H, W)).astype(np.int16)
    p = out('tiff', 'int16.tif')
    tifffile.imwrite(p, i16)
    expect(p, chw(i16))

    i32 = rng.integers(-2 ** 24, 2 ** 24, (H, W)).astype(np.int32)
    p = out('tiff', 'int32.tif')
    tifffile.imwrite(p, i32)
    expect(p, chw(i32))

    f32 = (rng.normal(0, 100, (H, W))).astype(np.float32)
    f32[0, 0] = -0.0
    f32[0, 1] = 1e-30
    for name, kw in [('float32.tif', {}), ('float32_be.tif', dict(byteorder='>')),
                     ('float32_zlib.tif', dict(compression='zlib'))]:
        p = out('tiff', name)
        tifffile.imwrite(p, f32, **kw)
        expect(p, chw(read_tiff(p)))
    p = out('tiff', 'float64.tif')
    tifffile.imwrite(p, f32.astype(np.float64) * 1.5)
    expect(p, chw(read_tiff(p)))

    rgb = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    for name, comp in [('rgb8.tif', None), ('rgb8_lzw.tif', 'tiff_lzw'), ('rgb8_deflate.tif', 'tiff_adobe_deflate')]:
        p = out('tiff', name)
        Image.fromarray(rgb, 'RGB').save(p, **({'compression': comp} if comp else {}))
        check_pil(p, rgb)
        expect(p, chw(read_tiff(p)))
    rgba = rng.integers(0, 256, (H, W, 4), dtype=np.uint8)
    p = out('tiff', 'rgba8.tif')  # alpha dropped, as for PNG
    Image.fromarray(rgba, 'RGBA').save(p)
    expect(p, chw(read_tiff(p)[:, :, :3]))
    p = out('tiff', 'rgb8_planar.tif')  # PlanarConfiguration 2: one plane per channel
    tifffile.imwrite(p, chw(rgb), photometric='rgb', planarconfig='separate', rowsperstrip=4)
    assert np.array_equal(read_tiff(p), chw(rgb))
    expect(p, chw(rgb))
    rgb16 = rng.integers(0, 65536, (H, W, 3)).astype(np.uint16)
    p = out('tiff', 'rgb16.tif')
    tifffile.imwrite(p, rgb16, photometric='rgb')
    expect(p, chw(read_tiff(p)))
    p = out('tiff', 'rgb16_zlib_predictor.tif')
    tifffile.imwrite(p, rgb16, photometric='rgb', compression='zlib', predictor=True)
    expect(p, chw(read_tiff(p)))

    bits = rng.integers(0, 2, (H, 11)).astype(bool)  # odd width: row padding of 1-bit data
    p = out('tiff', 'bilevel.tif')
    Image.fromarray(bits).save(p)
    a = read_tiff(p)
    assert np.array_equal(a.astype(bool), bits)
    expect(p, chw(a.astype(np.uint8)), label=a.astype(np.uint8))

    idx = rng.integers(0, 3, (H, W)).astype(np.uint8)
    p = out('tiff', 'palette.tif')
    im = Image.fromarray(idx, 'P')
    pal = [0, 0, 0, 255, 0, 0, 0, 128, 255]
    im.putpalette(pal + [0] * (768 - len(pal)))
    im.save(p)
    t = tifffile.TiffFile(p).pages[0]
    cmap = t.colormap  # 3×N, 16-bit
    colours = np.stack([cmap[k][idx] for k in range(3)])  # what the image reader returns: 16-bit colours
    assert np.array_equal(t.asarray(), idx)
    expect(p, colours, label=idx)

    mask = rng.integers(0, 3, (H, W)).astype(np.uint8)
    p = out('tiff', 'mask_lzw.tif')
    Image.fromarray(mask, 'L').save(p, compression='tiff_lzw')
    expect(p, chw(mask), label=mask)

    # multi-page stack: a volume [1, D, H, W] in a 3D layout
    # (photometric given: tifffile would take a leading 3 or 4 for planar RGB(A))
    stack = rng.integers(0, 256, (4, 6, 7), dtype=np.uint8)
    p = out('tiff', 'stack.tif')
    tifffile.imwrite(p, stack, photometric='minisblack')
    assert len(tifffile.TiffFile(p).pages) == 4
    expect(p, stack[None], label=stack, layout='NCDHW')
    stack16 = rng.integers(0, 65536, (3, 5, 6)).astype(np.uint16)
    p = out('tiff', 'stack16_zlib.tif')
    tifffile.imwrite(p, stack16, compression='zlib', photometric='minisblack')
    assert len(tifffile.TiffFile(p).pages) == 3
    expect(p, stack16[None], layout='NCDHW')
    # one page read in a 3D layout: D = 1
    expected['tiff/grey8.tif#3d'] = {'dims': [1, 1, H, W], 'layout': 'NCDHW', 'data': flist(g8), 'file': 'tiff/grey8.tif'}

    # JPEG-compressed TIFF: not supported (lossy, and utif2's decoder is partial)
    p = out('tiff', 'jpeg_compressed.tif')
    Image.fromarray(rgb, 'RGB').save(p, compression='jpeg')

    # broken files
    truncate(out('tiff', 'grey8.tif'), out('tiff', 'truncated.tif'), 60)  # inside the directory
    truncate(out('tiff', 'grey8.tif'), out('tiff', 'truncated_data.tif'), -20)  # inside the strip
    truncate(out('tiff', 'grey8_lzw.tif'), out('tiff', 'truncated_header.tif'), 6)
    with open(out('tiff', 'not_a_tiff.tif'), 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + bytes(range(64)))
    open(out('tiff', 'empty.tif'), 'wb').close()


# ---------------------------------------------------------------------------------------------
# NIfTI
# ---------------------------------------------------------------------------------------------

AFFINE = np.diag([1.5, 1.0, 2.0, 1.0])


def to_cdhw(a):
    """nibabel's [x, y, z(, t)] → the readers' [C, D, H, W] = [t, z, y, x]."""
    a = np.asarray(a)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim == 3:
        a = a[:, :, :, None]
    return np.ascontiguousarray(a.T)


def nii_bytes(img):
    bio = io.BytesIO()
    fh = nib.FileHolder(fileobj=bio)
    img.to_file_map({'header': fh, 'image': fh})
    return bio.getvalue()


def save_nii(p, data, dtype=None, slope_inter=None, endian=None, cls=nib.Nifti1Image):
    """Writes data ([x, y, z(, t)]) exactly as given (no rescaling by nibabel), optionally with
    scl_slope/scl_inter patched into the header, gzip-compressed when p ends with .gz."""
    data = np.asarray(data if dtype is None else data.astype(dtype))
    hdr = cls.header_class()
    if endian == '>':
        hdr = hdr.as_byteswapped('>')
    hdr.set_data_dtype(data.dtype)
    img = cls(data, AFFINE, header=hdr)
    b = bytearray(nii_bytes(img))
    if slope_inter is not None:
        fmt = ('>' if endian == '>' else '<') + 'ff'
        off = 112 if cls is nib.Nifti1Image else 176
        if cls is nib.Nifti2Image:
            fmt = fmt.replace('ff', 'dd')
        struct.pack_into(fmt, b, off, *slope_inter)
    raw = bytes(b)
    with open(p, 'wb') as f:
        f.write(gzip.compress(raw, mtime=0) if p.endswith('.gz') else raw)
    back = nib.load(p)
    return np.asanyarray(back.dataobj.get_unscaled()), back.get_fdata(), back


def hand_nifti1(p, data_xyz, extension=b''):
    """A NIfTI-1 single file written field by field (not nibabel): int16, little-endian, with an
    optional header extension (vox_offset > 352)."""
    data = np.asarray(data_xyz, dtype='<i2')
    nx, ny, nz = data.shape
    hdr = bytearray(348)
    struct.pack_into('<i', hdr, 0, 348)                       # sizeof_hdr
    struct.pack_into('<8h', hdr, 40, 3, nx, ny, nz, 1, 1, 1, 1)  # dim
    struct.pack_into('<hh', hdr, 70, 4, 16)                   # datatype int16, bitpix
    struct.pack_into('<8f', hdr, 76, 1, 0.8, 0.8, 3.0, 1, 1, 1, 1)  # pixdim (qfac 1)
    ext = b''
    if extension:
        esize = (8 + len(extension) + 15) // 16 * 16
        ext = struct.pack('<ii', esize, 6) + extension + b'\0' * (esize - 8 - len(extension))
    vox_offset = 352 + len(ext)
    struct.pack_into('<f', hdr, 108, vox_offset)
    struct.pack_into('<ff', hdr, 112, 0.0, 0.0)               # scl_slope 0: no scaling
    struct.pack_into('<h', hdr, 252, 0)                       # qform_code
    struct.pack_into('<h', hdr, 254, 1)                       # sform_code
    struct.pack_into('<4f', hdr, 280, 0.8, 0, 0, 0)
    struct.pack_into('<4f', hdr, 296, 0, 0.8, 0, 0)
    struct.pack_into('<4f', hdr, 312, 0, 0, 3.0, 0)
    hdr[344:348] = b'n+1\0'
    extender = bytes([1 if ext else 0, 0, 0, 0])
    with open(p, 'wb') as f:
        f.write(bytes(hdr) + extender + ext + data.tobytes(order='F'))
    back = nib.load(p)
    assert np.array_equal(np.asarray(back.dataobj), data)
    return data


def make_niftis():
    X, Y, Z = 5, 4, 3
    base = rng.normal(0, 1, (X, Y, Z))

    u8 = rng.integers(0, 256, (X, Y, Z)).astype(np.uint8)
    raw, u8_fdata, _ = save_nii(out('nifti', 'vol_u8.nii'), u8)
    expect(out('nifti', 'vol_u8.nii'), to_cdhw(u8_fdata), layout='NCDHW')

    i16 = (base * 3000).astype(np.int16)
    raw, fdata, back = save_nii(out('nifti', 'vol_i16_scaled.nii.gz'), i16, slope_inter=(2.0, -10.0))
    assert back.dataobj.slope == 2.0 and back.dataobj.inter == -10.0
    assert np.allclose(fdata, raw * 2.0 - 10.0)
    # image: scaled; mask: raw stored integers (scl_slope/inter are not applied to label volumes)
    expect(out('nifti', 'vol_i16_scaled.nii.gz'), to_cdhw(fdata), label=to_cdhw(raw)[0], layout='NCDHW')

    for name, dt, scale in [('vol_i8.nii', np.int8, 40), ('vol_u16.nii.gz', np.uint16, None),
                            ('vol_i32.nii.gz', np.int32, 1e6), ('vol_u32.nii', np.uint32, None),
                            ('vol_f32.nii.gz', np.float32, 100.0), ('vol_f64.nii.gz', np.float64, 1e3),
                            ('vol_i64.nii.gz', np.int64, 1e5)]:
        if scale is None:
            d = rng.integers(0, np.iinfo(dt).max, (X, Y, Z), endpoint=True).astype(dt)
        else:
            d = (base * scale).astype(dt)
        raw, fdata, _ = save_nii(out('nifti', name), d)
        assert raw.dtype == dt, (name, raw.dtype)
        expect(out('nifti', name), to_cdhw(fdata), layout='NCDHW', dtype=str(np.dtype(dt)))

    raw, fdata, _ = save_nii(out('nifti', 'vol_i16_be.nii'), (base * 1000).astype(np.int16), endian='>')
    assert raw.dtype.byteorder == '>'
    expect(out('nifti', 'vol_i16_be.nii'), to_cdhw(fdata), layout='NCDHW')
    raw, fdata, _ = save_nii(out('nifti', 'vol_f32_be_scaled.nii.gz'), (base * 10).astype(np.float32), endian='>',
                             slope_inter=(0.5, 3.0))
    expect(out('nifti', 'vol_f32_be_scaled.nii.gz'), to_cdhw(fdata), layout='NCDHW')

    v4 = (rng.normal(0, 50, (X, Y, Z, 2))).astype(np.float32)  # 4th dim → channels
    raw, fdata, _ = save_nii(out('nifti', 'vol4d_f32.nii.gz'), v4)
    expect(out('nifti', 'vol4d_f32.nii.gz'), to_cdhw(fdata), layout='NCDHW')

    s2 = rng.integers(0, 1000, (6, 5)).astype(np.int16)  # a 2D image stored as NIfTI
    raw, fdata, _ = save_nii(out('nifti', 'slice2d.nii.gz'), s2)
    assert raw.shape == (6, 5)
    expect(out('nifti', 'slice2d.nii.gz'), to_cdhw(fdata)[:, 0], label=to_cdhw(raw)[0, 0], layout='NCHW')
    expected[rel(out('nifti', 'slice2d.nii.gz')) + '#3d'] = {
        'dims': [1, 1, 5, 6], 'layout': 'NCDHW', 'data': flist(to_cdhw(fdata)), 'file': 'nifti/slice2d.nii.gz'}

    m = rng.integers(0, 3, (X, Y, Z)).astype(np.uint8)
    raw, fdata, _ = save_nii(out('nifti', 'mask_u8.nii.gz'), m)
    expect(out('nifti', 'mask_u8.nii.gz'), to_cdhw(fdata), label=to_cdhw(raw)[0], layout='NCDHW')
    raw, fdata, _ = save_nii(out('nifti', 'mask_f32.nii.gz'), m.astype(np.float32))
    expect(out('nifti', 'mask_f32.nii.gz'), to_cdhw(fdata), label=to_cdhw(raw)[0].astype(np.int64), layout='NCDHW')

    n2 = (base * 500).astype(np.int16)
    raw, fdata, back = save_nii(out('nifti', 'vol_nifti2.nii.gz'), n2, cls=nib.Nifti2Image, slope_inter=(0.25, 1.0))
    assert back.header.sizeof_hdr == 540
    expect(out('nifti', 'vol_nifti2.nii.gz'), to_cdhw(fdata), layout='NCDHW')

    hand = hand_nifti1(out('nifti', 'hand_ext.nii'), (base * 700).astype(np.int16), extension=b'{"note": "hand-written"}')
    expect(out('nifti', 'hand_ext.nii'), to_cdhw(hand), label=to_cdhw(hand)[0], layout='NCDHW')

    # not supported: complex data
    save_nii(out('nifti', 'complex.nii.gz'), (base + 1j * base).astype(np.complex64))
    # broken files
    with open(out('nifti', 'vol_u8.nii'), 'rb') as f:
        b = f.read()
    with open(out('nifti', 'truncated_data.nii'), 'wb') as f:
        f.write(b[:-7])
    with open(out('nifti', 'truncated_header.nii'), 'wb') as f:
        f.write(b[:200])
    with open(out('nifti', 'truncated.nii.gz'), 'wb') as f:
        f.write(gzip.compress(b, mtime=0)[:-20])
    with open(out('nifti', 'not_gzip.nii.gz'), 'wb') as f:
        f.write(b)  # an uncompressed file named .nii.gz is still read (magic bytes decide)
    expect(out('nifti', 'not_gzip.nii.gz'), to_cdhw(u8_fdata), layout='NCDHW')
    with open(out('nifti', 'not_nifti.nii'), 'wb') as f:
        f.write(bytes(rng.integers(0, 256, 400, dtype=np.uint8)))
    with open(out('nifti', 'corrupt_gzip.nii.gz'), 'wb') as f:
        g = bytearray(gzip.compress(b, mtime=0))
        g[20:40] = bytes(20)
        f.write(bytes(g))
    open(out('nifti', 'empty.nii.gz'), 'wb').close()


# ---------------------------------------------------------------------------------------------
# A 3D dataset for test/fixtures/models/unet3d.onnx (input 1×1×8×8×8, 2 classes)
# ---------------------------------------------------------------------------------------------

def ball(shape_xyz, centre, r):
    x, y, z = np.meshgrid(*[np.arange(s) for s in shape_xyz], indexing='ij')
    return ((x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2 <= r * r).astype(np.uint8)


def make_ds3d():
    d = os.path.join(ROOT, 'ds3d')
    if os.path.isdir(d):
        shutil.rmtree(d)
    cases = {
        'train': [('case001', (8, 8, 8), '.nii.gz', '.nii.gz'), ('case002', (10, 9, 7), '.nii.gz', '.nii.gz'),
                  ('case010', (8, 8, 8), '.nii', '.nii.gz')],
        'test': [('case003', (9, 8, 8), '.nii.gz', '.nii'), ('case004', (8, 8, 8), '.nii.gz', '.nii.gz')],
        'siteB': [('s1', (8, 8, 8), '.nii.gz', None), ('s2', (8, 8, 8), '.tif', None)],
    }
    files = {}
    for split, items in cases.items():
        for name, shp, iext, mext in items:
            c = [s / 2 + rng.uniform(-1, 1) for s in shp]
            m = ball(shp, c, 2.6)
            img = (40 + 120 * m + rng.normal(0, 15, shp)).clip(0, 255).astype(np.uint8 if split != 'test' else np.int16)
            ip = os.path.join(d, split, 'images', name + iext)
            os.makedirs(os.path.dirname(ip), exist_ok=True)
            if iext == '.tif':
                tifffile.imwrite(ip, to_cdhw(img)[0], photometric='minisblack')  # [z, y, x] pages, like the NIfTI voxel order
            else:
                save_nii(ip, img)
            files[f'{split}/{name}'] = {'image': rel(ip), 'dims': [1] + list(to_cdhw(img).shape[1:]),
                                        'imageSum': float(img.astype(np.float64).sum())}
            if mext:
                mp = os.path.join(d, split, 'masks', name + mext)
                os.makedirs(os.path.dirname(mp), exist_ok=True)
                save_nii(mp, m)
                files[f'{split}/{name}']['mask'] = rel(mp)
                files[f'{split}/{name}']['maskData'] = [int(v) for v in to_cdhw(m)[0].ravel()]
    # a stray file that no reader takes
    with open(os.path.join(d, 'train', 'images', 'README.txt'), 'w') as f:
        f.write('volumes: .nii.gz\n')
    cfg = {
        '$schema': '../../../../../media/unetlens.schema.json',
        'task': 'segmentation',
        'classes': ['background', 'lesion'],
        'input': {'layout': 'NCDHW', 'size': [8, 8, 8], 'channels': 1, 'scale': 0.00392156862745098,
                  'mean': [0.5], 'std': [0.25]},
        'splits': {'train': {'images': 'train/images', 'labels': 'train/masks'},
                   'test': {'images': 'test/images', 'labels': 'test/masks'},
                   'siteB': {'images': 'siteB/images'}},
        'analysis': {'maxPoints': 512, 'k': 3, 'seed': 0, 'batchSize': 2, 'mapsPerSplit': 1},
    }
    with open(os.path.join(d, 'unetlens.json'), 'w') as f:
        json.dump(cfg, f, indent=2)
        f.write('\n')
    expected['_ds3d'] = files


# ---------------------------------------------------------------------------------------------
# 3D preprocessing references (torch): a NIfTI volume to the model's 8×8×8
# ---------------------------------------------------------------------------------------------

def make_preprocess_refs():
    src = 'nifti/vol_f32.nii.gz'
    e = expected[src]
    vol = np.asarray(e['data'], dtype=np.float32).reshape(e['dims'])  # [1, 3, 4, 5]
    scale, mean, std = 0.01, 0.2, 0.5
    xn = ((vol * np.float32(scale) - np.float32(mean)) / np.float32(std)).astype(np.float32)
    refs = []
    for size in [(8, 8, 8), (2, 3, 7), (3, 4, 5)]:
        y = F.interpolate(torch.from_numpy(xn)[None], size=size, mode='trilinear', align_corners=False)[0].numpy()
        refs.append({'source': src, 'size': list(size), 'mode': 'resize', 'dims': list(y.shape), 'data': flist(y)})
    # centre crop / zero pad: D 3→2 (crop, offset 0), H 4→6 (pad 1), W 5→3 (crop, offset 1)
    size = (2, 6, 3)
    y = np.zeros((1,) + size, np.float32)
    y[:, :, 1:5, :] = xn[:, 0:2, :, 1:4]
    refs.append({'source': src, 'size': list(size), 'mode': 'crop', 'dims': list(y.shape), 'data': flist(y)})
    m = np.asarray(expected['nifti/mask_u8.nii.gz']['label']['data']).reshape(expected['nifti/mask_u8.nii.gz']['label']['dims'])
    for size in [(8, 8, 8), (2, 3, 7)]:
        y = F.interpolate(torch.from_numpy(m.astype(np.float32))[None, None], size=size, mode='nearest-exact')[0, 0].numpy()
        refs.append({'source': 'nifti/mask_u8.nii.gz', 'size': list(size), 'mode': 'label', 'dims': list(y.shape),
                     'data': [int(v) for v in y.ravel()]})
    expected['_preprocess3d'] = {'scale': scale, 'mean': mean, 'std': std, 'cases': refs}


def main():
    for sub in ['jpeg', 'tiff', 'nifti']:
        if os.path.isdir(os.path.join(ROOT, sub)):
            shutil.rmtree(os.path.join(ROOT, sub))
    os.makedirs(ROOT, exist_ok=True)
    make_jpegs()
    make_tiffs()
    make_niftis()
    make_ds3d()
    make_preprocess_refs()
    with open(os.path.join(ROOT, 'expected.json'), 'w') as f:
        json.dump(expected, f, separators=(',', ':'))
        f.write('\n')
    total = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(ROOT) for fn in fns)
    print(f'wrote {len(expected)} expectations; {ROOT}: {total / 1024:.1f} KB')
    assert total < 500 * 1024


if __name__ == '__main__':
    main()
