/**
 * The JPEG, TIFF and NIfTI readers (src/engine/data/formats/jpeg.ts, tiff.ts, nifti.ts, registered
 * in formats/registry.ts's READERS), 3D volumes through listSplit and preprocess. The 3D end-to-end
 * run of analyze() and the bundled readers: test/integration/readers-analyze.test.ts.
 * Fixtures and the values Python reads from them (PIL, tifffile, nibabel, torch) are written by
 *   /usr/bin/python3 scripts/make_format_fixtures.py
 * Run: node --import tsx --test test/unit/readers.test.ts
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { throwsLens } from '../helpers';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { LensError, type DatasetConfig, type Results } from '../../src/engine/types';
import { DATASET_SCHEMA, loadDatasetFile } from '../../src/engine/data/datasetFile';
import {
  baseNameOf,
  extOf,
  NOT_YET_SUPPORTED,
  READERS,
  readImageFile,
  readLabelFile,
  supportedExtensions,
  type ReadContext,
} from '../../src/engine/data/formats';
import { listSplit } from '../../src/engine/data/splits';
import { toLabelMap, toModelInput } from '../../src/engine/data/preprocess';

const ROOT = path.resolve(__dirname, '../..');
const FIX = path.join(ROOT, 'test/fixtures/data/formats');
const expected: Record<string, any> = JSON.parse(fs.readFileSync(path.join(FIX, 'expected.json'), 'utf8'));

type Layout = ReadContext['layout'];


const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * JPEG: jpeg-js against PIL (libjpeg-turbo 2.1.5) on the same files, measured when the fixtures
 * were made: [max |difference|, mean |difference|] in grey levels (0–255). Grey and 4:4:4 colour
 * differ only by IDCT / colour-conversion rounding (≤ 1 grey, ≤ 2–3 colour); 4:2:0 colour
 * differs more because jpeg-js replicates the half-resolution chroma where libjpeg interpolates
 * it ("fancy upsampling"): up to 18 at sharp colour edges on noise, 10 on a smooth gradient.
 */
const JPEG_TOLERANCE: Record<string, [number, number]> = {
  'jpeg/grey.jpg': [1, 0.1],
  'jpeg/grey_q50.jpg': [1, 0.1],
  'jpeg/grey_progressive.jpg': [1, 0.1],
  'jpeg/grey_as_rgb.jpg': [1, 0.1],
  'jpeg/rgb444.jpg': [2, 0.6],
  'jpeg/rgb_progressive.jpeg': [3, 0.6],
  'jpeg/rgb420.jpg': [18, 3.7],
  'jpeg/rgb420_smooth.jpg': [10, 2.5],
};

/* ============================================================================================ */

describe('formats: raw values against what Python read from the same files', () => {
  const entries = Object.entries(expected).filter(([k]) => !k.startsWith('_'));

  it('covers every format and has a tolerance for every JPEG', () => {
    const dirs = new Set(entries.map(([k]) => k.split('/')[0]));
    assert.deepEqual([...dirs].sort(), ['jpeg', 'nifti', 'tiff']);
    for (const [k] of entries) if (k.startsWith('jpeg/')) assert.ok(JPEG_TOLERANCE[k], k);
  });

  for (const [key, e] of entries) {
    const file = path.join(FIX, e.file ?? key);
    const tol = JPEG_TOLERANCE[key];
    it(`${key}: dims ${JSON.stringify(e.dims)} (${e.layout})${tol ? `, |Δ| ≤ ${tol[0]} vs PIL` : ', exact'}`, () => {
      const ctx = { channels: e.dims[0], layout: e.layout as Layout };
      const img = readImageFile(file, ctx);
      assert.deepEqual(img.dims, e.dims);
      assert.ok(img.data instanceof Float32Array);
      assert.equal(img.data.length, e.data.length);
      if (tol) {
        let worst = 0;
        let sum = 0;
        for (let i = 0; i < e.data.length; i++) {
          const d = Math.abs(img.data[i] - e.data[i]);
          worst = Math.max(worst, d);
          sum += d;
        }
        assert.ok(worst <= tol[0], `max |Δ| ${worst} > ${tol[0]}`);
        assert.ok(sum / e.data.length <= tol[1], `mean |Δ| ${sum / e.data.length} > ${tol[1]}`);
      } else {
        // TIFF and NIfTI: exactly Python's values (as float32)
        assert.deepEqual(Array.from(img.data), e.data.map((v: number) => Math.fround(v)));
      }
      if (e.label) {
        const lab = readLabelFile(file, { channels: 1, layout: e.layout });
        assert.ok(lab.data instanceof Int32Array);
        assert.deepEqual(lab.dims, e.label.dims);
        assert.deepEqual(Array.from(lab.data), e.label.data);
      }
    });
  }
});

/* ============================================================================================ */

describe('JPEG', () => {
  const ctx = { channels: 1, layout: 'NCHW' as const };
  it('grey JPEGs are one channel, colour ones three (even when the colours are grey)', () => {
    assert.equal(readImageFile(path.join(FIX, 'jpeg/grey.jpg'), ctx).dims[0], 1);
    assert.equal(readImageFile(path.join(FIX, 'jpeg/grey_progressive.jpg'), ctx).dims[0], 1);
    assert.equal(readImageFile(path.join(FIX, 'jpeg/rgb420.jpg'), ctx).dims[0], 3);
    assert.equal(readImageFile(path.join(FIX, 'jpeg/grey_as_rgb.jpg'), ctx).dims[0], 3);
  });

  it('a JPEG is never read as a mask: masks must be lossless', () => {
    const f = path.join(FIX, 'jpeg/grey.jpg');
    const e = throwsLens(
      () => readLabelFile(f, ctx),
      'data',
      `${f}: a JPEG cannot be a mask: JPEG compression is lossy and changes the class indices along every edge; save masks losslessly (PNG, TIFF, .npy or NIfTI)`,
    );
    assert.equal(e.where, f);
  });
});

describe('TIFF', () => {
  it('a multi-page TIFF is a volume [C, D, H, W] in a 3D layout, an error in a 2D one', () => {
    const f = path.join(FIX, 'tiff/stack.tif');
    assert.deepEqual(readImageFile(f, { channels: 1, layout: 'NCDHW' }).dims, [1, 4, 6, 7]);
    assert.deepEqual(readLabelFile(f, { channels: 1, layout: 'NDHWC' }).dims, [4, 6, 7]);
    throwsLens(
      () => readImageFile(f, { channels: 1, layout: 'NCHW' }),
      'data',
      `${f} holds 4 pages (a stack); with input.layout "NCHW" each file must be one 2D image: save one image per file, or set "input.layout": "NCDHW" to read the pages as the slices of a volume`,
    );
  });

  it('a single page in a 3D layout is a volume of depth 1', () => {
    assert.deepEqual(readImageFile(path.join(FIX, 'tiff/rgb8_lzw.tif'), { channels: 3, layout: 'NCDHW' }).dims, [3, 1, 10, 13]);
  });

  it('reads 16-bit and float values unscaled; a palette mask as its indices', () => {
    const g16 = readImageFile(path.join(FIX, 'tiff/grey16.tif'), { channels: 1, layout: 'NCHW' });
    assert.equal(g16.data[0], 65535);
    assert.equal(g16.data[1], 256);
    const f32 = readImageFile(path.join(FIX, 'tiff/float32.tif'), { channels: 1, layout: 'NCHW' });
    assert.ok(Object.is(f32.data[0], -0));
    assert.equal(f32.data[1], Math.fround(1e-30));
    const pal = path.join(FIX, 'tiff/palette.tif');
    assert.equal(readImageFile(pal, { channels: 3, layout: 'NCHW' }).dims[0], 3);
    assert.ok(Array.from(readLabelFile(pal, { channels: 1, layout: 'NCHW' }).data).every((v) => v >= 0 && v <= 2));
  });
});

describe('NIfTI', () => {
  it('keeps the file order: dims (X=5, Y=4, Z=3) → [C=1, D=3, H=4, W=5]; a 4th dim is channels', () => {
    assert.deepEqual(readImageFile(path.join(FIX, 'nifti/vol_u8.nii'), { channels: 1, layout: 'NCDHW' }).dims, [1, 3, 4, 5]);
    assert.deepEqual(readImageFile(path.join(FIX, 'nifti/vol4d_f32.nii.gz'), { channels: 2, layout: 'NCDHW' }).dims, [2, 3, 4, 5]);
  });

  it('applies scl_slope/scl_inter to images, not to masks', () => {
    const f = path.join(FIX, 'nifti/vol_i16_scaled.nii.gz');
    const img = readImageFile(f, { channels: 1, layout: 'NCDHW' });
    const lab = readLabelFile(f, { channels: 1, layout: 'NCDHW' });
    for (let i = 0; i < lab.data.length; i++) assert.equal(img.data[i], lab.data[i] * 2 - 10);
  });

  it('a NIfTI with Z = 1 is a 2D image in a 2D layout; a volume in a 2D layout is an error', () => {
    assert.deepEqual(readImageFile(path.join(FIX, 'nifti/slice2d.nii.gz'), { channels: 1, layout: 'NCHW' }).dims, [1, 5, 6]);
    const f = path.join(FIX, 'nifti/vol_u8.nii');
    throwsLens(
      () => readImageFile(f, { channels: 1, layout: 'NHWC' }),
      'data',
      `${f} is a 3D volume (5×4×3); with input.layout "NHWC" the model takes 2D images: set "input.layout": "NCDHW" for a 3D model`,
    );
  });

  it('a mask volume must have one value per voxel', () => {
    const f = path.join(FIX, 'nifti/vol4d_f32.nii.gz');
    throwsLens(
      () => readLabelFile(f, { channels: 1, layout: 'NCDHW' }),
      'data',
      `${f}: a mask must hold one class index per voxel, but this volume has 2 values per voxel (dims 5×4×3×2); save the mask as X×Y×Z`,
    );
  });
});

/* ============================================================================================ */

describe('broken files: one LensError naming the file', () => {
  const cases: [string, 'image' | 'label', Layout, string][] = [
    ['jpeg/truncated.jpg', 'image', 'NCHW', 'is not a readable JPEG: truncated (segment 0xC4 at byte 135 needs 181 bytes, the file ends 63 bytes later)'],
    ['jpeg/truncated_scan.jpg', 'image', 'NCHW', 'is not a readable JPEG: truncated (no end-of-image marker after the image data)'],
    ['jpeg/not_a_jpeg.jpg', 'image', 'NCHW', 'is not a readable JPEG: it does not start with the JPEG start-of-image marker (FF D8)'],
    ['jpeg/empty.jpg', 'image', 'NCHW', 'is not a readable JPEG: the file is empty'],
    ['tiff/truncated.tif', 'image', 'NCHW', 'is not a readable TIFF: truncated (directory 1 at byte 8 needs 114 bytes, the file ends 52 bytes later)'],
    ['tiff/truncated_data.tif', 'image', 'NCHW', 'is not a readable TIFF: truncated (strip 1 of 1 at byte 122 needs 130 bytes, the file ends 110 bytes later)'],
    ['tiff/truncated_header.tif', 'label', 'NCHW', 'is not a readable TIFF: truncated header'],
    ['tiff/not_a_tiff.tif', 'image', 'NCHW', 'is not a readable TIFF: it does not start with a TIFF header ("II*\\0" or "MM\\0*")'],
    ['tiff/empty.tif', 'image', 'NCDHW', 'is not a readable TIFF: the file is empty'],
    ['tiff/jpeg_compressed.tif', 'image', 'NCHW', 'is not a readable TIFF: JPEG compression is not supported (supported: none, LZW, Deflate, PackBits)'],
    ['nifti/truncated_data.nii', 'image', 'NCDHW', 'is not a readable NIfTI file: truncated (the header promises 60 bytes of uint8 voxels from byte 352, the file holds 53)'],
    ['nifti/truncated_header.nii', 'image', 'NCDHW', 'is not a readable NIfTI file: truncated header (200 bytes; a NIfTI-1 header is 348)'],
    ['nifti/truncated.nii.gz', 'label', 'NCDHW', 'is not a readable NIfTI file: corrupt or truncated gzip data (unexpected end of file)'],
    ['nifti/corrupt_gzip.nii.gz', 'image', 'NCDHW', 'is not a readable NIfTI file: corrupt or truncated gzip data (incorrect data check)'],
    ['nifti/not_nifti.nii', 'image', 'NCDHW', 'is not a readable NIfTI file: it does not start with a NIfTI header (the first 4 bytes should hold 348 or 540)'],
    ['nifti/empty.nii.gz', 'image', 'NCDHW', 'is not a readable NIfTI file: the file is empty'],
    ['nifti/complex.nii.gz', 'image', 'NCDHW', 'is not a readable NIfTI file: complex64 data is not supported (supported: uint8/16/32/64, int8/16/32/64, float32/64)'],
  ];
  for (const [rel, role, layout, tail] of cases) {
    it(`rejects ${rel} (${role})`, () => {
      const f = path.join(FIX, rel);
      const read = role === 'label' ? readLabelFile : readImageFile;
      const e = throwsLens(() => read(f, { channels: 1, layout }), 'data', new RegExp(`^${escape(f)} ${escape(tail)}$`));
      assert.equal(e.where, f);
    });
  }

  it('a file that does not exist', () => {
    const f = path.join(FIX, 'nifti/nope.nii.gz');
    throwsLens(() => readImageFile(f, { channels: 1, layout: 'NCDHW' }), 'data', `${f} does not exist`);
  });
});

/* ============================================================================================ */

describe('reader table, names, schema', () => {
  it('has one entry per extension; nothing is both readable and "not supported yet"', () => {
    for (const ext of ['.png', '.npy', '.npz', '.jpg', '.jpeg', '.tif', '.tiff', '.nii', '.nii.gz']) {
      assert.ok(READERS[ext], ext);
      assert.ok(supportedExtensions().includes(ext), ext);
      assert.equal(NOT_YET_SUPPORTED[ext], undefined, ext);
    }
    assert.equal(READERS['.jpg'].format, 'JPEG');
    assert.equal(READERS['.tiff'].format, 'TIFF');
    assert.equal(READERS['.nii.gz'].format, 'NIfTI');
  });

  it('treats .nii.gz as one extension: case001.nii.gz has base name case001', () => {
    assert.equal(extOf('/d/CASE001.NII.GZ'), '.nii.gz');
    assert.equal(baseNameOf('/d/case001.nii.gz'), 'case001');
    assert.equal(baseNameOf('/d/case.001.nii.gz'), 'case.001');
    assert.equal(baseNameOf('/d/case001.nii'), 'case001');
    assert.equal(baseNameOf('/d/scan.tiff'), 'scan');
    assert.equal(READERS[extOf('x.nii.gz')], READERS['.nii']);
  });

  it('the schema lists the formats for images and says masks are never JPEG', () => {
    const split = (DATASET_SCHEMA as any).definitions.split.properties;
    for (const ext of ['.png', '.jpg', '.tif', '.nii', '.nii.gz', '.npy', '.npz']) {
      assert.ok(split.images.description.includes(ext), `images: ${ext}`);
      assert.ok(split.images.markdownDescription.includes(ext), `images (markdown): ${ext}`);
    }
    for (const ext of ['.png', '.tif', '.nii.gz', '.npy']) assert.ok(split.labels.description.includes(ext), `labels: ${ext}`);
    assert.match(split.labels.description, /never JPEG/);
    assert.match((DATASET_SCHEMA as any).properties.input.properties.layout.description, /NIfTI/);
  });
});

/* ============================================================================================ */

const DS3D = path.join(FIX, 'ds3d', 'unetlens.json');
const files3d: Record<string, any> = expected._ds3d;

describe('3D: a split folder of NIfTI volumes', () => {
  let cfg: DatasetConfig;
  before(() => {
    cfg = loadDatasetFile(DS3D);
  });
  const split = (name: string) => listSplit(cfg, cfg.splits.find((s) => s.name === name)!);

  it('lists volumes by base name, pairs .nii.gz with .nii masks, notes skipped files', () => {
    const train = split('train');
    assert.deepEqual(train.ids, ['case001', 'case002', 'case010']);
    assert.deepEqual(train.notes, ['split "train": skipped 1 file(s) in train/images that cannot be read: 1 .txt']);
    const test = split('test');
    assert.deepEqual(test.ids, ['case003', 'case004']);
    const it3 = test.read(0);
    assert.equal(path.basename(it3.imageFile), 'case003.nii.gz');
    assert.equal(path.basename(it3.labelFile!), 'case003.nii');
    const site = split('siteB');
    assert.equal(site.labeled, false);
    assert.deepEqual(site.ids, ['s1', 's2']); // .nii.gz and a multi-page .tif
  });

  it('reads every volume as [1, D, H, W] and every mask as the class map Python wrote', () => {
    for (const s of ['train', 'test', 'siteB']) {
      const src = split(s);
      for (let i = 0; i < src.count; i++) {
        const item = src.read(i);
        const e = files3d[`${s}/${item.id}`];
        assert.ok(e, `${s}/${item.id}`);
        assert.deepEqual(item.image.dims, e.dims, item.id);
        assert.equal(item.image.data.reduce((a, b) => a + b, 0), e.imageSum, item.id);
        if (e.mask) {
          assert.deepEqual(item.label!.dims, e.dims.slice(1));
          assert.deepEqual(Array.from(item.label!.data), e.maskData, item.id);
        } else {
          assert.equal(item.label, undefined);
        }
      }
    }
  });

  it('mask and image sizes must agree (D×H×W)', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unetlens-3d-'));
    try {
      fs.mkdirSync(path.join(tmp, 'i'));
      fs.mkdirSync(path.join(tmp, 'm'));
      fs.copyFileSync(path.join(FIX, 'ds3d/train/images/case002.nii.gz'), path.join(tmp, 'i/a.nii.gz'));
      fs.copyFileSync(path.join(FIX, 'ds3d/train/masks/case001.nii.gz'), path.join(tmp, 'm/a.nii.gz'));
      const c = loadDatasetFileFrom(tmp, { train: { images: 'i', labels: 'm' } });
      const src = listSplit(c, c.splits[0]);
      throwsLens(
        () => src.read(0),
        'data',
        'split "train": mask m/a.nii.gz is 8×8×8 but its image i/a.nii.gz is 7×9×10 (D×H×W); a mask must have the size of its image',
      );
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

function loadDatasetFileFrom(dir: string, splits: Record<string, unknown>): DatasetConfig {
  const p = path.join(dir, 'unetlens.json');
  fs.writeFileSync(
    p,
    JSON.stringify({ task: 'segmentation', classes: ['background', 'lesion'], input: { layout: 'NCDHW', size: [8, 8, 8] }, splits }),
  );
  return loadDatasetFile(p);
}

describe('3D: preprocess a NIfTI volume like torch', () => {
  const refs = expected._preprocess3d;
  const input = (size: number[], resize: 'resize' | 'crop') => ({
    layout: 'NCDHW' as const,
    size,
    channels: 1,
    scale: refs.scale,
    mean: [refs.mean],
    std: [refs.std],
    resize,
  });
  for (const c of refs.cases) {
    it(`${c.source} → ${c.size.join('×')} (${c.mode})`, () => {
      const f = path.join(FIX, c.source);
      if (c.mode === 'label') {
        const lab = readLabelFile(f, { channels: 1, layout: 'NCDHW' });
        assert.deepEqual(Array.from(toLabelMap(lab, c.size, 'resize')), c.data);
        return;
      }
      const raw = readImageFile(f, { channels: 1, layout: 'NCDHW' });
      const x = toModelInput(raw, input(c.size, c.mode), c.size, c.source);
      assert.equal(x.length, c.data.length);
      let worst = 0;
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - c.data[i]));
      assert.ok(worst <= 2e-6, `max |Δ| ${worst} vs torch`);
    });
  }
});
