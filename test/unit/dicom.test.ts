/**
 * The DICOM reader (src/engine/data/formats/dicom.ts; registry.ts's DICOM_SERIES_READER and the
 * series sub-folders of splits.ts) against what pydicom reads from the same files. Fixtures and
 * expected.json are written once by
 *   /usr/bin/python3 scripts/make_dicom_fixtures.py
 * The 3D end-to-end run: test/integration/dicom-analyze.test.ts.
 * Run: node --import tsx --test test/unit/dicom.test.ts
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { throwsLens } from '../helpers';
import { type DatasetConfig } from '../../src/engine/types';
import { loadDatasetFile } from '../../src/engine/data/datasetFile';
import { readImageFile, readLabelFile, dicomSeriesFiles, isDicomSeriesDir, type RawImage } from '../../src/engine/data/formats';
import { listSplit } from '../../src/engine/data/splits';

const ROOT = path.resolve(__dirname, '../..');
const FIX = path.join(ROOT, 'test/fixtures/data/dicom');
const expected: Record<string, any> = JSON.parse(fs.readFileSync(path.join(FIX, 'expected.json'), 'utf8'));
const SERIES = Object.keys(expected).filter((k) => k.startsWith('series/'));
const ctx3 = { channels: 1, layout: 'NCDHW' as const };
const ctx2 = { channels: 1, layout: 'NCHW' as const };

const sha = (a: Float32Array): string => createHash('sha256').update(Buffer.from(a.buffer, a.byteOffset, a.byteLength)).digest('hex');

function sameAsPydicom(got: RawImage, want: any, what: string): void {
  assert.deepEqual(got.dims, want.dims, `${what}: dims`);
  assert.deepEqual(Array.from(got.data.slice(0, 8)), want.first.map(Math.fround), `${what}: first voxels`);
  assert.equal(sha(got.data), want.sha256, `${what}: sha256 of the float32 volume`);
}

/** A copy of a fixture series folder with its files renamed (and so listed) in another order. */
function shuffledCopy(src: string, names: (i: number, n: number) => string): string {
  const dst = fs.mkdtempSync(path.join(os.tmpdir(), 'unetlens-dicom-'));
  const files = fs.readdirSync(src).sort();
  files.forEach((f, i) => fs.copyFileSync(path.join(src, f), path.join(dst, names(i, files.length))));
  return dst;
}

describe('DICOM series: raw values against pydicom', () => {
  for (const key of SERIES) {
    it(`${key}: sorted, rescaled volume equals pydicom's`, () => {
      sameAsPydicom(readImageFile(path.join(FIX, key), ctx3), expected[key], key);
    });
  }

  it('signed 16-bit with RescaleSlope 0.5 / RescaleIntercept -1024 (values in HU), ordered by position, not by name or InstanceNumber', () => {
    const e = expected['series/ct_i16_rescale'];
    assert.deepEqual(e.order, ['IM0004.dcm', 'IM0001.dcm', 'IM0005.dcm', 'IM0002.dcm', 'IM0003.dcm']);
    const v = readImageFile(path.join(FIX, 'series/ct_i16_rescale'), ctx3);
    assert.ok(v.data.some((x) => x < -1024) && v.data.some((x) => !Number.isInteger(x)), 'negative, half-integer HU');
  });

  it('masks are the stored integers, not rescaled', () => {
    const key = 'series/ct_i16_rescale';
    const l = readLabelFile(path.join(FIX, key), ctx3);
    assert.deepEqual(l.dims, expected[key].stored.dims.slice(1));
    assert.deepEqual(Array.from(l.data.slice(0, 8)), expected[key].stored.first);
    assert.equal(sha(Float32Array.from(l.data)), expected[key].stored.sha256);
  });

  it('the order does not depend on the file names (shuffled copies read the same volume)', () => {
    for (const key of ['series/ct_i16_rescale', 'series/mr_u16_implicit_noext', 'series/mono1_u8_instance']) {
      const src = path.join(FIX, key);
      const noext = key.includes('noext');
      for (const perm of [(i: number, n: number) => n - 1 - i, (i: number, n: number) => (i + 1) % n]) {
        const dir = shuffledCopy(src, (i, n) => `z${String(perm(i, n)).padStart(2, '0')}${noext ? '' : '.dcm'}`);
        try {
          sameAsPydicom(readImageFile(dir, ctx3), expected[key], `${key} shuffled`);
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }
    }
  });

  it('files without an extension are taken by the DICM magic; other files in the folder are ignored', () => {
    const dir = shuffledCopy(path.join(FIX, 'series/mr_u16_implicit_noext'), (i) => `IMG${i}`);
    try {
      fs.writeFileSync(path.join(dir, 'NOTES'), 'not dicom');
      fs.writeFileSync(path.join(dir, 'DICOMDIR'), Buffer.alloc(200));
      assert.deepEqual(dicomSeriesFiles(dir).map((f) => path.basename(f)), ['IMG0', 'IMG1', 'IMG2', 'IMG3']);
      assert.equal(isDicomSeriesDir(dir), true);
      sameAsPydicom(readImageFile(dir, ctx3), expected['series/mr_u16_implicit_noext'], 'with other files');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(isDicomSeriesDir(path.join(FIX, 'ds')), false);
  });

  it('2D: a single-file series is a 2D image; a volume with a 2D layout is refused', () => {
    const e = expected['series/single_u16'];
    const one = readImageFile(path.join(FIX, 'series/single_u16'), ctx2);
    assert.deepEqual(one.dims, [1, 7, 6]);
    assert.equal(sha(one.data), e.sha256);
    const file = readImageFile(path.join(FIX, 'series/single_u16/only.dcm'), ctx2);
    assert.equal(sha(file.data), e.sha256);
    throwsLens(() => readImageFile(path.join(FIX, 'series/be_i16'), ctx2), 'data', /is a DICOM volume of 3 slices .*set "input.layout": "NCDHW"/);
    throwsLens(() => readImageFile(path.join(FIX, 'series/single_u16/only.dcm'), ctx3), 'data', /is one DICOM slice; .* a volume is a folder holding one series/);
  });
});

describe('DICOM: refused, naming the file or folder', () => {
  it('a compressed transfer syntax: names the file and the UID and says how to decompress', () => {
    const f = path.join(FIX, 'bad/compressed/jpeg.dcm');
    const e = throwsLens(() => readImageFile(path.join(FIX, 'bad/compressed'), ctx3), 'data', /jpeg\.dcm: the pixels are stored in a compressed transfer syntax, JPEG Baseline \(lossy\) \(1\.2\.840\.10008\.1\.2\.4\.50\).*gdcmconv --raw.*dcmdjpeg/);
    assert.equal(e.where, f);
  });

  it('a folder mixing two series', () => {
    const d = path.join(FIX, 'bad/mixed_series');
    const e = throwsLens(() => readImageFile(d, ctx3), 'data', /mixed_series: the folder mixes DICOM series: m0\.dcm is in series 1\.2\.826\.0\.1\.3680043\.8\.498\.10 but m2\.dcm in 1\.2\.826\.0\.1\.3680043\.8\.498\.11/);
    assert.equal(e.where, d);
  });

  it('a missing slice (uneven spacing)', () => {
    throwsLens(() => readImageFile(path.join(FIX, 'bad/missing_slice'), ctx3), 'data', /missing_slice: the slices are not evenly spaced: s2\.dcm → s3\.dcm is 2 mm where the median gap is 1 mm \(a missing slice\?\)/);
  });

  it('slices of two sizes', () => {
    throwsLens(() => readImageFile(path.join(FIX, 'bad/sizes'), ctx3), 'data', /sizes: slice b\.dcm is 5×4 \(rows×columns\) but a\.dcm is 4×4/);
  });

  it('not a DICOM file, a truncated one, an empty folder', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unetlens-dicom-'));
    try {
      fs.writeFileSync(path.join(dir, 'x.dcm'), 'hello');
      throwsLens(() => readImageFile(dir, ctx3), 'data', /x\.dcm is not a readable DICOM file: no "DICM" at byte 128/);
      const full = fs.readFileSync(path.join(FIX, 'series/single_u16/only.dcm'));
      fs.writeFileSync(path.join(dir, 'x.dcm'), full.subarray(0, full.length - 10));
      throwsLens(() => readImageFile(dir, ctx3), 'data', /x\.dcm is not a readable DICOM file: (truncated|corrupt)/);
      fs.rmSync(path.join(dir, 'x.dcm'));
      throwsLens(() => readImageFile(dir, ctx3), 'data', /no DICOM files in the folder/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a volume over the memory limit is refused before it is allocated', () => {
    const old = process.env.UNET_LENS_MEMORY_MB;
    process.env.UNET_LENS_MEMORY_MB = '64';
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unetlens-dicom-'));
    try {
      // Rows = Columns = 65535 declared in a tiny file: 16 GB as float32.
      const buf = Buffer.from(fs.readFileSync(path.join(FIX, 'series/single_u16/only.dcm')));
      const rowsTag = Buffer.from([0x28, 0x00, 0x10, 0x00, 0x55, 0x53, 0x02, 0x00]);
      const colsTag = Buffer.from([0x28, 0x00, 0x11, 0x00, 0x55, 0x53, 0x02, 0x00]);
      for (const t of [rowsTag, colsTag]) buf.writeUInt16LE(65535, buf.indexOf(t) + 8);
      fs.writeFileSync(path.join(dir, 'big.dcm'), buf);
      throwsLens(() => readImageFile(dir, ctx3), 'data', /big\.dcm: its declared 65535×65535 pixels \(as float32\) needs 16\.0 GB, over the limit of 16 MB/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      if (old === undefined) delete process.env.UNET_LENS_MEMORY_MB;
      else process.env.UNET_LENS_MEMORY_MB = old;
    }
  });
});

describe('DICOM in a split: a sub-folder per case, paired by folder name', () => {
  const cfgOf = (): DatasetConfig => loadDatasetFile(path.join(FIX, 'ds', 'unetlens.json'));

  it('lists the series sub-folders as items and pairs them with NIfTI / TIFF / .npy masks', () => {
    const cfg = cfgOf();
    for (const split of cfg.splits) {
      const src = listSplit(cfg, split);
      const want = Object.keys(expected._ds).filter((k) => k.startsWith(`${split.name}/`)).map((k) => k.split('/')[1]);
      assert.deepEqual(src.ids, want, split.name);
      assert.deepEqual(src.notes, [], split.name);
      for (let i = 0; i < src.count; i++) {
        const it = src.read(i);
        const e = expected._ds[`${split.name}/${src.ids[i]}`];
        assert.deepEqual(it.image.dims, e.dims);
        assert.equal(sha(it.image.data), e.sha256, `${split.name}/${src.ids[i]}`);
        if (e.mask) assert.deepEqual(Array.from(it.label!.data), e.mask, `${split.name}/${src.ids[i]} mask`);
        else assert.equal(it.label, undefined);
      }
    }
  });

  it('an image series without a mask names the folder', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unetlens-dicom-'));
    try {
      fs.cpSync(path.join(FIX, 'ds', 'test'), path.join(tmp, 'test'), { recursive: true });
      fs.rmSync(path.join(tmp, 'test', 'masks', 'case005.npy'));
      const cfg = cfgOf();
      const split = { ...cfg.splits.find((s) => s.name === 'test')!, images: path.join(tmp, 'test/images'), labels: path.join(tmp, 'test/masks') };
      throwsLens(() => listSplit({ ...cfg, path: path.join(tmp, 'unetlens.json') }, split), 'data', /image case005 has no mask in test\/masks \(no file named case005\.\* nor DICOM series folder case005\/; 2 images, 1 masks\)/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
