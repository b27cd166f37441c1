#!/usr/bin/python3
"""Writes the DICOM fixtures of test/unit/dicom.test.ts and test/integration/dicom-analyze.test.ts
into test/fixtures/data/dicom/, and expected.json: what pydicom reads from them.

Run once with Debian's python3 (`apt-get install python3-pydicom python3-nibabel python3-tifffile`):

    /usr/bin/python3 scripts/make_dicom_fixtures.py

The files are written by pydicom (uncompressed transfer syntaxes; one with a JPEG transfer
syntax, which the reader must refuse). The expected values are read back with pydicom:
`dcmread`, slices sorted by ImagePositionPatient projected on the normal of
ImageOrientationPatient (else InstanceNumber), `pixel_array`, then `apply_modality_lut`
(RescaleSlope/Intercept) for images; stacked as [D, H, W] float32. expected.json holds the
shape, the sha256 of the float32 little-endian bytes, the sum, the first voxels and the file
order. Everything is seeded and tiny.
"""
import hashlib
import json
import os
import shutil

import numpy as np
import nibabel as nib
import pydicom
import tifffile
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.pixel_data_handlers.util import apply_modality_lut
from pydicom.uid import (ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian,
                         DeflatedExplicitVRLittleEndian, JPEGBaseline8Bit, generate_uid)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'data', 'dicom')
rng = np.random.default_rng(16003)
expected = {}
CT = '1.2.840.10008.5.1.4.1.1.2'


def out(*parts):
    p = os.path.join(ROOT, *parts)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


def write_slice(path, arr, syntax=ExplicitVRLittleEndian, series=None, position=None,
                orientation=(1, 0, 0, 0, 1, 0), instance=None, slope=None, intercept=None,
                photometric='MONOCHROME2', bits_stored=None, frames=None):
    arr = np.asarray(arr)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CT
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = syntax
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CT
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = 'CT'
    ds.StudyInstanceUID = '1.2.826.0.1.3680043.8.498.1'
    ds.SeriesInstanceUID = series or '1.2.826.0.1.3680043.8.498.2'
    if instance is not None:
        ds.InstanceNumber = instance
    if position is not None:
        ds.ImagePositionPatient = [float(v) for v in position]
        ds.ImageOrientationPatient = [float(v) for v in orientation]
    rows, cols = arr.shape[-2:]
    ds.Rows, ds.Columns = rows, cols
    if frames:
        ds.NumberOfFrames = frames
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    bits = arr.dtype.itemsize * 8
    ds.BitsAllocated = bits
    ds.BitsStored = bits_stored or bits
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if arr.dtype.kind == 'i' else 0
    if slope is not None:
        ds.RescaleSlope = slope
        ds.RescaleIntercept = intercept
    big = syntax == ExplicitVRBigEndian
    ds.is_little_endian = not big
    ds.is_implicit_VR = syntax == ImplicitVRLittleEndian
    if syntax == JPEGBaseline8Bit:
        ds.PixelData = encapsulate([b'\xff\xd8\xff\xd9'])  # not a real JPEG: refused before decoding
        ds['PixelData'].VR = 'OB'
    else:
        ds.PixelData = arr.astype(arr.dtype.newbyteorder('>' if big else '<')).tobytes()
        ds['PixelData'].VR = 'OW' if bits == 16 else 'OB'
    ds.save_as(path, write_like_original=False)


def read_series(files, rescale=True):
    """What pydicom reads: sorted slices → [D, H, W] float32 (rescaled when `rescale`)."""
    dss = [pydicom.dcmread(f) for f in files]
    if all('ImagePositionPatient' in d and 'ImageOrientationPatient' in d for d in dss):
        o = np.array(dss[0].ImageOrientationPatient, dtype=np.float64)
        n = np.cross(o[:3], o[3:])
        key = [float(np.dot(np.array(d.ImagePositionPatient, dtype=np.float64), n)) for d in dss]
    else:
        key = [int(d.InstanceNumber) for d in dss]
    order = sorted(range(len(dss)), key=lambda i: key[i])
    planes = []
    for i in order:
        a = dss[i].pixel_array
        a = apply_modality_lut(a, dss[i]) if rescale else a
        a = np.asarray(a, dtype=np.float64)
        planes.append(a if a.ndim == 3 else a[None])
    vol = np.concatenate(planes).astype(np.float32)
    return vol, [os.path.basename(files[i]) for i in order]


def describe(vol, order):
    le = vol.astype('<f4')
    return {'dims': [1] + list(vol.shape), 'sha256': hashlib.sha256(le.tobytes()).hexdigest(),
            'sum': float(vol.astype(np.float64).sum()), 'first': [float(v) for v in vol.ravel()[:8]],
            'order': order}


def series(name, slices, **kw):
    """slices: [(file name, array, position, instance)] → writes series/<name>/ and records it."""
    d = os.path.join(ROOT, 'series', name)
    files = []
    for fname, arr, pos, inst in slices:
        p = out('series', name, fname)
        write_slice(p, arr, position=pos, instance=inst, **kw)
        files.append(p)
    vol, order = read_series(files)
    raw, _ = read_series(files, rescale=False)
    expected[f'series/{name}'] = {**describe(vol, order), 'stored': describe(raw, order)}
    return d


def make_series():
    # Signed 16-bit CT with rescale; files named against the slice order (file names, instance
    # numbers and positions all disagree: the position along the normal decides).
    H, W = 6, 5
    ct = [rng.integers(-2000, 3000, (H, W)).astype(np.int16) for _ in range(5)]
    z = [10.0, 12.5, 15.0, 17.5, 20.0]
    names = ['IM0004.dcm', 'IM0001.dcm', 'IM0005.dcm', 'IM0002.dcm', 'IM0003.dcm']
    series('ct_i16_rescale', [(names[k], ct[k], (-100.0, -80.0, z[k]), 5 - k) for k in range(5)],
           slope='0.5', intercept='-1024')
    # Oblique, unsigned 16-bit (12 bits stored), Implicit VR LE, files without an extension.
    c, s = np.cos(0.3), np.sin(0.3)
    ori = (1, 0, 0, 0, c, s)
    nrm = np.cross(ori[:3], ori[3:])
    mr = [rng.integers(0, 4096, (4, 7)).astype(np.uint16) for _ in range(4)]
    pos = [tuple(np.array([3.0, 1.0, -2.0]) + nrm * 1.25 * k) for k in range(4)]
    series('mr_u16_implicit_noext', [(f'slice{k}', mr[k], pos[(k * 3) % 4], None) for k in range(4)],
           syntax=ImplicitVRLittleEndian, orientation=ori, bits_stored=12)
    # Explicit VR Big Endian, signed 16-bit, no rescale.
    be = [rng.integers(-300, 300, (3, 4)).astype(np.int16) for _ in range(3)]
    series('be_i16', [(f'b{k}.dcm', be[k], (0, 0, -k * 2.0), k + 1) for k in range(3)], syntax=ExplicitVRBigEndian)
    # MONOCHROME1, 8-bit unsigned, ordered by InstanceNumber only (no position).
    m1 = [rng.integers(0, 256, (5, 5)).astype(np.uint8) for _ in range(3)]
    series('mono1_u8_instance', [(f'x{k}.dcm', m1[k], None, [3, 1, 2][k]) for k in range(3)], photometric='MONOCHROME1')
    # Deflated Explicit VR Little Endian, signed 8-bit with rescale.
    df = [rng.integers(-100, 100, (4, 4)).astype(np.int8) for _ in range(3)]
    series('deflate_i8', [(f'd{k}.dcm', df[k], (0, 0, k * 3.0), None) for k in range(3)],
           syntax=DeflatedExplicitVRLittleEndian, slope='1.5', intercept='7')
    # One file: a 2D image.
    series('single_u16', [('only.dcm', rng.integers(0, 65535, (7, 6)).astype(np.uint16), (0, 0, 0), 1)])


def make_bad():
    # A JPEG transfer syntax: refused, naming the file and the UID.
    write_slice(out('bad', 'compressed', 'jpeg.dcm'), np.zeros((4, 4), np.uint8), syntax=JPEGBaseline8Bit,
                position=(0, 0, 0), instance=1)
    # Two series in one folder.
    for k, uid in enumerate(['1.2.826.0.1.3680043.8.498.10', '1.2.826.0.1.3680043.8.498.10',
                             '1.2.826.0.1.3680043.8.498.11']):
        write_slice(out('bad', 'mixed_series', f'm{k}.dcm'), np.full((4, 4), k, np.uint16), series=uid,
                    position=(0, 0, k), instance=k + 1)
    # A missing slice (positions 0, 1, 2, 4).
    for k, zz in enumerate([0, 1, 2, 4]):
        write_slice(out('bad', 'missing_slice', f's{k}.dcm'), np.full((4, 4), k, np.uint16),
                    position=(0, 0, zz), instance=k + 1)
    # Slices of two sizes.
    write_slice(out('bad', 'sizes', 'a.dcm'), np.zeros((4, 4), np.uint16), position=(0, 0, 0), instance=1)
    write_slice(out('bad', 'sizes', 'b.dcm'), np.zeros((5, 4), np.uint16), position=(0, 0, 1), instance=2)


def ball(shp, c, r):
    z, y, x = np.indices(shp)
    return ((z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2 <= r * r).astype(np.uint8)


def make_ds():
    """A 3D dataset for unet3d.onnx: DICOM series images, NIfTI / TIFF / .npy masks."""
    d = os.path.join(ROOT, 'ds')
    cases = {'train': [('case001', '.nii.gz'), ('case002', '.nii.gz'), ('case003', '.tif')],
             'test': [('case004', '.nii'), ('case005', '.npy')],
             'siteB': [('s1', None)]}
    files = {}
    for split, items in cases.items():
        for name, mext in items:
            shp = (8, 8, 8)
            m = ball(shp, [s / 2 + rng.uniform(-1, 1) for s in shp], 2.6)
            img = (40 + 120 * m + rng.normal(0, 15, shp)).clip(0, 255).astype(np.int16)
            perm = rng.permutation(shp[0])  # file names in a shuffled order
            paths = []
            for k in range(shp[0]):
                p = out('ds', split, 'images', name, f'{perm[k]:03d}.dcm')
                write_slice(p, img[k],
                            position=(0, 0, 4.0 * k), instance=k + 1, series=f'1.2.826.0.1.3680043.8.498.{100 + len(files)}')
                paths.append(p)
            vol, _ = read_series(paths)
            entry = {'dims': [1, 8, 8, 8], 'sha256': describe(vol, [])['sha256']}
            if mext:
                mp = out('ds', split, 'masks', name + mext)
                if mext.startswith('.nii'):
                    # [z, y, x] (the series' [slice, row, column]) stored x fastest: nibabel takes [x, y, z]
                    nib.save(nib.Nifti1Image(m.transpose(2, 1, 0).copy(), np.eye(4)), mp)
                elif mext == '.tif':
                    tifffile.imwrite(mp, m, photometric='minisblack')
                else:
                    np.save(mp, m)
                entry['mask'] = [int(v) for v in m.ravel()]
            files[f'{split}/{name}'] = entry
    with open(os.path.join(d, 'unetlens.json'), 'w') as f:
        json.dump({
            '$schema': '../../../../../media/unetlens.schema.json',
            'task': 'segmentation',
            'classes': ['background', 'lesion'],
            'input': {'layout': 'NCDHW', 'size': [8, 8, 8], 'channels': 1, 'scale': 0.00392156862745098,
                      'mean': [0.5], 'std': [0.25]},
            'splits': {'train': {'images': 'train/images', 'labels': 'train/masks'},
                       'test': {'images': 'test/images', 'labels': 'test/masks'},
                       'siteB': {'images': 'siteB/images'}},
            'analysis': {'maxPoints': 512, 'k': 3, 'seed': 0, 'batchSize': 2, 'mapsPerSplit': 1},
        }, f, indent=2)
        f.write('\n')
    expected['_ds'] = files


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(ROOT)
    make_series()
    make_bad()
    make_ds()
    expected['_pydicom'] = pydicom.__version__
    with open(os.path.join(ROOT, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write('\n')


if __name__ == '__main__':
    main()
