/**
 * src/engine/data: dataset file, readers, splits, preprocessing.
 * Fixtures (and their expected values, and torch reference resizes) are written by
 *   /usr/bin/python3 scripts/make_data_fixtures.py
 * Run: node --import tsx --test test/unit/data.test.ts
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { throwsLens } from '../helpers';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { DEFAULT_ANALYSIS, LensError, type DatasetConfig } from '../../src/engine/types';
import { resolveSettings } from '../../src/engine/pipeline/context';
import {
  DATASET_SCHEMA,
  DEFAULT_INPUT,
  loadDatasetFile,
  validateDatasetJson,
} from '../../src/engine/data/datasetFile';
import {
  baseNameOf,
  extOf,
  fortranToC,
  readImageFile,
  readLabelFile,
  readNpy,
  readNpzMember,
  READERS,
} from '../../src/engine/data/formats';
import { listSplit, naturalCompare } from '../../src/engine/data/splits';
import { centerCrop, chwToHwc, resizeLinear, toLabelMap, toModelInput } from '../../src/engine/data/preprocess';

const FIX = path.resolve(__dirname, '../fixtures/data');
const DS = path.join(FIX, 'ds');
const expected: Record<string, any> = JSON.parse(fs.readFileSync(path.join(FIX, 'expected.json'), 'utf8'));
const resizeRef: { cases: any[] } = JSON.parse(fs.readFileSync(path.join(FIX, 'resize.json'), 'utf8'));


const BASE = {
  task: 'segmentation',
  classes: ['background', 'lesion'],
  splits: { train: { images: 'train/images', labels: 'train/masks' } },
};

/** A dataset file path inside a fixture folder (validateDatasetJson touches no file). */
function cfgAt(dir: string, obj: Record<string, unknown>): DatasetConfig {
  return validateDatasetJson(obj, path.join(DS, dir, 'unetlens.json'));
}

function allClose(actual: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, want.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(actual[i] - want[i]));
  assert.ok(worst <= tol, `${what}: max abs error ${worst} > ${tol}`);
}

/* ============================================================================================ */

describe('schema: media/unetlens.schema.json', () => {
  const props = (DATASET_SCHEMA as any).properties;

  it('is draft-07 and its defaults match DEFAULT_ANALYSIS and DEFAULT_INPUT', () => {
    assert.equal((DATASET_SCHEMA as any).$schema, 'http://json-schema.org/draft-07/schema#');
    for (const [k, v] of Object.entries(DEFAULT_ANALYSIS)) {
      if (k === 'shifts') continue;
      assert.deepEqual(props.analysis.properties[k]?.default, v, `analysis.${k}`);
    }
    // analysis.shifts: false | true | { … }; each field's default is DEFAULT_ANALYSIS.shifts'.
    const shiftObject = props.analysis.properties.shifts;
    for (const [k, v] of Object.entries(DEFAULT_ANALYSIS.shifts)) {
      assert.deepEqual(shiftObject.properties[k]?.default, v, `analysis.shifts.${k}`);
    }
    for (const [k, v] of Object.entries(DEFAULT_INPUT)) {
      assert.deepEqual(props.input.properties[k]?.default, v, `input.${k}`);
    }
    assert.equal(props.model.properties.output.default, 'auto');
    assert.equal(props.model.properties.activation.default, 'auto');
    assert.deepEqual(props.task.enum, ['segmentation', 'classification', 'regression']);
    assert.deepEqual(props.input.properties.resize.enum, ['resize', 'crop']);
    assert.deepEqual(props.splits.required, ['train']);
  });

  it('describes every field (hover text in VS Code)', () => {
    const missing: string[] = [];
    const walk = (s: any, at: string): void => {
      if (!s || typeof s !== 'object') return;
      if (s.properties) {
        for (const [k, v] of Object.entries<any>(s.properties)) {
          if (!v.description) missing.push(`${at}${k}`);
          walk(v, `${at}${k}.`);
        }
      }
    };
    walk(DATASET_SCHEMA, '');
    walk((DATASET_SCHEMA as any).definitions.split, 'splits.<name>.');
    assert.deepEqual(missing, []);
  });
});

/* ============================================================================================ */

describe('dataset file: loadDatasetFile / validateDatasetJson', () => {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unetlens-data-'));
    fs.mkdirSync(path.join(tmp, 'data', 'train', 'images'), { recursive: true });
    fs.mkdirSync(path.join(tmp, 'data', 'train', 'masks'), { recursive: true });
    fs.mkdirSync(path.join(tmp, 'data', 'test', 'images'), { recursive: true });
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const write = (name: string, text: string): string => {
    const p = path.join(tmp, name);
    fs.writeFileSync(p, text);
    return p;
  };

  it('loads a good file: defaults, absolute paths, train first', () => {
    const file = path.join(DS, 'ok', 'unetlens.json');
    const cfg = loadDatasetFile(file);
    assert.equal(cfg.path, file);
    assert.equal(cfg.task, 'segmentation');
    assert.deepEqual(cfg.classes, ['background', 'lesion']);
    assert.deepEqual(cfg.input, {
      layout: 'NCHW',
      size: [8, 8],
      channels: 1,
      scale: 1 / 255,
      mean: [0.5],
      std: [0.25],
      resize: 'resize',
    });
    assert.deepEqual(
      cfg.splits.map((s) => s.name),
      ['train', 'test', 'siteB'],
    );
    assert.deepEqual(cfg.splits[0], {
      name: 'train',
      images: path.join(DS, 'ok', 'train', 'images'),
      labels: path.join(DS, 'ok', 'train', 'masks'),
    });
    assert.equal(cfg.splits[2].labels, undefined);
    assert.deepEqual(cfg.model, { output: 'auto', activation: 'auto' });
    assert.deepEqual(cfg.analysis, { ...DEFAULT_ANALYSIS, maxPoints: 1000, taps: ['a', 'b'] });
  });

  it('fills every default for a minimal file; regression needs no classes', () => {
    const cfg = validateDatasetJson(
      { $schema: './unetlens.schema.json', task: 'regression', splits: { train: { images: 'x' } } },
      '/d/unetlens.json',
    );
    assert.deepEqual(cfg.input, { ...DEFAULT_INPUT });
    assert.equal(cfg.input.size, undefined);
    assert.deepEqual(cfg.classes, []);
    assert.deepEqual(cfg.analysis, DEFAULT_ANALYSIS);
    assert.deepEqual(cfg.splits, [{ name: 'train', images: path.resolve('/d/x') }]);
  });

  it('reads analysis.mapGrid: 64 by default, 8 to 128 as given; an override is held to the same bounds', () => {
    assert.equal(DEFAULT_ANALYSIS.mapGrid, 64);
    assert.equal(validateDatasetJson(BASE, '/d/unetlens.json').analysis.mapGrid, 64);
    for (const v of [8, 100, 128]) assert.equal(validateDatasetJson({ ...BASE, analysis: { mapGrid: v } }, '/d/unetlens.json').analysis.mapGrid, v);
    const cfg = validateDatasetJson({ ...BASE, analysis: { mapGrid: 128 } }, '/d/unetlens.json');
    assert.equal(resolveSettings(cfg).mapGrid, 128);
    assert.equal(resolveSettings(cfg, { mapGrid: 32 }).mapGrid, 32);
    for (const v of [4, 129, 64.5]) throwsLens(() => resolveSettings(cfg, { mapGrid: v }), 'args', `the mapGrid override must be a whole number from 8 to 128 (got ${v})`);
  });

  it('reads analysis.shifts as false, true or an object over the defaults', () => {
    const off = validateDatasetJson({ ...BASE, analysis: { shifts: false } }, '/d/unetlens.json');
    assert.deepEqual(off.analysis.shifts, { ...DEFAULT_ANALYSIS.shifts, enabled: false });
    const on = validateDatasetJson({ ...BASE, analysis: { shifts: true } }, '/d/unetlens.json');
    assert.deepEqual(on.analysis.shifts, { ...DEFAULT_ANALYSIS.shifts, enabled: true });
    const some = validateDatasetJson({ ...BASE, analysis: { shifts: { images: 8, families: ['noise', 'blur'] } } }, '/d/unetlens.json');
    assert.deepEqual(some.analysis.shifts, { ...DEFAULT_ANALYSIS.shifts, images: 8, families: ['noise', 'blur'] });
    // the defaults are not shared with a parsed file
    some.analysis.shifts.families.push('gamma');
    assert.deepEqual(DEFAULT_ANALYSIS.shifts.families, ['noise', 'blur', 'gamma', 'contrast', 'scale', 'distractors', 'dim', 'bias', 'lowres', 'stripes']);
  });

  it('keeps an .npz#member suffix when resolving', () => {
    const cfg = validateDatasetJson(
      { ...BASE, splits: { train: { images: 'a/train.npz#images', labels: 'a/train.npz#masks' } } },
      '/d/unetlens.json',
    );
    assert.equal(cfg.splits[0].images, `${path.resolve('/d/a/train.npz')}#images`);
    assert.equal(cfg.splits[0].labels, `${path.resolve('/d/a/train.npz')}#masks`);
  });

  const bad: [string, unknown, string][] = [
    ['wrong type', { ...BASE, input: { channels: 'one' } }, 'unetlens.json: "input.channels" must be an integer ≥ 1 and ≤ 4096 (got "one")'],
    ['no train split', { ...BASE, splits: { test: { images: 'a' } } }, 'unetlens.json: "splits.train" is missing: the split named "train" is required (it is the reference the other splits are measured against)'],
    ['missing task', { classes: ['a', 'b'], splits: BASE.splits }, 'unetlens.json: "task" is required: one of "segmentation", "classification", "regression"'],
    ['missing splits', { task: 'segmentation', classes: ['a', 'b'] }, 'unetlens.json: "splits" is required: an object with "train"'],
    ['missing classes', { task: 'segmentation', splits: BASE.splits }, 'unetlens.json: "classes" is required for task "segmentation": the class names in index order, e.g. ["background", "lesion"]'],
    ['one class', { ...BASE, classes: ['lesion'] }, 'unetlens.json: "classes" must list at least 2 classes for task "segmentation" (got ["lesion"]); include the background, e.g. ["background", "lesion"]'],
    ['bad task', { ...BASE, task: 'segmantation' }, 'unetlens.json: "task" must be one of "segmentation", "classification", "regression" (got "segmantation")'],
    ['split without images', { ...BASE, splits: { train: { labels: 'm' } } }, 'unetlens.json: "splits.train.images" is required: a non-empty string'],
    ['typo in a split', { ...BASE, splits: { train: { images: 'a', lables: 'b' } } }, 'unetlens.json: unknown field "splits.train.lables" (did you mean "labels"?): expected in "splits.train" only "images", "labels", "cases"'],
    ['typo at top level', { ...BASE, anaylsis: {} }, 'unetlens.json: unknown field "anaylsis" (did you mean "analysis"?): expected at the top level only "task", "classes", "input", "splits", "model", "analysis", "checkpoints"'],
    ['negative k', { ...BASE, analysis: { k: 0 } }, 'unetlens.json: "analysis.k" must be an integer ≥ 1 and ≤ 1024 (got 0)'],
    ['huge maxPoints', { ...BASE, analysis: { maxPoints: 1e20 } }, 'unetlens.json: "analysis.maxPoints" must be an integer ≥ 1 and ≤ 1000000 (got 100000000000000000000)'],
    ['mapGrid too small', { ...BASE, analysis: { mapGrid: 4 } }, 'unetlens.json: "analysis.mapGrid" must be an integer ≥ 8 and ≤ 128 (got 4)'],
    ['mapGrid too large', { ...BASE, analysis: { mapGrid: 256 } }, 'unetlens.json: "analysis.mapGrid" must be an integer ≥ 8 and ≤ 128 (got 256)'],
    ['mapGrid not whole', { ...BASE, analysis: { mapGrid: 64.5 } }, 'unetlens.json: "analysis.mapGrid" must be an integer ≥ 8 and ≤ 128 (got 64.5)'],
    ['mapGrid a string', { ...BASE, analysis: { mapGrid: '128' } }, 'unetlens.json: "analysis.mapGrid" must be an integer ≥ 8 and ≤ 128 (got "128")'],
    ['std 0', { ...BASE, input: { std: [0] } }, 'unetlens.json: "input.std[0]" must be a number > 0 (got 0)'],
    ['size 1-d', { ...BASE, input: { size: [128] } }, 'unetlens.json: "input.size" must be an array of 2 to 3 integers ≥ 1 and ≤ 65536 (got [128])'],
    ['size vs layout', { ...BASE, input: { size: [8, 8, 8] } }, 'unetlens.json: "input.size" must be [H, W] for layout "NCHW" (got [8,8,8])'],
    ['mean length', { ...BASE, input: { channels: 3, mean: [0.5, 0.5] } }, 'unetlens.json: "input.mean" must have 1 value or one per channel (input.channels is 3) (got [0.5,0.5])'],
    ['taps', { ...BASE, analysis: { taps: 'all' } }, 'unetlens.json: "analysis.taps" must be "auto" or a non-empty array of non-empty strings, without repeats (got "all")'],
    ['tap name not a string', { ...BASE, analysis: { taps: ['a', 3] } }, 'unetlens.json: "analysis.taps" must be "auto" or a non-empty array of non-empty strings, without repeats (got ["a",3])'],
    ['activation', { ...BASE, model: { activation: 'relu' } }, 'unetlens.json: "model.activation" must be one of "auto", "softmax", "sigmoid", "probability" (got "relu")'],
    ['resize mode', { ...BASE, input: { resize: 'pad' } }, 'unetlens.json: "input.resize" must be one of "resize", "crop" (got "pad")'],
    ['duplicate classes', { ...BASE, classes: ['a', 'b', 'a'] }, 'unetlens.json: "classes" has a repeated value: items 0 and 2 are both "a"'],
    ['class not a string', { ...BASE, classes: ['a', 1] }, 'unetlens.json: "classes[1]" must be a non-empty string (got 1)'],
    ['not an object', [1, 2], 'unetlens.json: the file must hold a JSON object (got an array)'],
    ['shifts not a boolean or object', { ...BASE, analysis: { shifts: 'no' } }, 'unetlens.json: "analysis.shifts" must be true or false or an object (got "no")'],
    ['unknown shift family', { ...BASE, analysis: { shifts: { families: ['noize', 'blur'] } } }, 'unetlens.json: "analysis.shifts.families[0]" must be one of "noise", "blur", "gamma", "contrast", "scale", "distractors", "dim", "bias", "lowres", "stripes", "objects" (got "noize")'],
    ['one shift family', { ...BASE, analysis: { shifts: { families: ['noise'] } } }, 'unetlens.json: "analysis.shifts.families" must be an array of at least 2 values among "noise", "blur", "gamma", "contrast", "scale", "distractors", "dim", "bias", "lowres", "stripes", "objects", without repeats (got ["noise"])'],
    ['typo in shifts', { ...BASE, analysis: { shifts: { famlies: [] } } }, 'unetlens.json: unknown field "analysis.shifts.famlies" (did you mean "families"?): expected in "analysis.shifts" only "enabled", "images", "maxPoints", "families", "mixes", "tta"'],
  ];
  for (const [name, obj, msg] of bad) {
    it(`rejects: ${name}`, () => {
      const e = throwsLens(() => validateDatasetJson(obj, '/some/where/unetlens.json'), 'dataset', msg);
      assert.equal(e.where, '/some/where/unetlens.json');
      assert.equal(e.exitCode, 2);
    });
  }

  it('rejects bad JSON with line:column', () => {
    const p = write('unetlens.json', '{\n  "task": "segmentation",\n  "classes": ["a", "b"]\n  "splits": {}\n}\n');
    throwsLens(() => loadDatasetFile(p), 'dataset', /^unetlens\.json:4:3: not valid JSON: \S.*$/);
    const q = write('trunc.unetlens.json', '{\n  "task": "segmentation",\n  "classes": [');
    throwsLens(() => loadDatasetFile(q), 'dataset', /^trunc\.unetlens\.json:3:15: not valid JSON: unexpected end of the file$/);
    const r = write('empty.unetlens.json', '  \n');
    throwsLens(() => loadDatasetFile(r), 'dataset', 'empty.unetlens.json: the file is empty (expected a JSON object, see the unetlens.json schema)');
  });

  it('rejects a missing file', () => {
    const p = path.join(tmp, 'nope.unetlens.json');
    throwsLens(() => loadDatasetFile(p), 'dataset', `nope.unetlens.json: file not found (${p})`);
  });

  it('rejects a split folder that does not exist, naming split, folder, file and field', () => {
    const p = write(
      'unetlens.json',
      JSON.stringify({
        ...BASE,
        splits: {
          train: { images: 'data/train/images', labels: 'data/train/masks' },
          test: { images: 'data/test/images', labels: 'data/test/masks' },
        },
      }),
    );
    const e = throwsLens(
      () => loadDatasetFile(p),
      'dataset',
      'split "test": labels folder data/test/masks does not exist (unetlens.json, splits.test.labels)',
    );
    assert.equal(e.where, p);
    const q = write('b.unetlens.json', JSON.stringify({ ...BASE, splits: { train: { images: 'data/train.npz' } } }));
    throwsLens(() => loadDatasetFile(q), 'dataset', 'split "train": images array file data/train.npz does not exist (b.unetlens.json, splits.train.images)');
  });

  it('rejects a single image file as a split', () => {
    write('data/one.png', 'x');
    const p = write('c.unetlens.json', JSON.stringify({ ...BASE, splits: { train: { images: 'data/one.png' } } }));
    throwsLens(
      () => loadDatasetFile(p),
      'dataset',
      'split "train": images data/one.png is a single .png file; expected a folder, or one .npy/.npz array (c.unetlens.json, splits.train.images)',
    );
  });
});

/* ============================================================================================ */

describe('readers: raw values against what Python wrote', () => {
  const ctx = { channels: 1, layout: 'NCHW' as const };
  for (const [rel, e] of Object.entries(expected)) {
    if (!/\.(png|npy|npz)$/.test(rel)) continue;
    it(`${rel}: dims ${JSON.stringify(e.dims)}${e.dtype ? ` dtype ${e.dtype}` : ''}`, () => {
      const img = readImageFile(path.join(FIX, rel), { ...ctx, channels: e.dims[0] });
      assert.deepEqual(img.dims, e.dims);
      assert.ok(img.data instanceof Float32Array);
      assert.deepEqual(Array.from(img.data), e.data.map((v: number) => Math.fround(v)));
      if (e.label) {
        const lab = readLabelFile(path.join(FIX, rel), ctx);
        assert.ok(lab.data instanceof Int32Array);
        assert.deepEqual(lab.dims, e.label.dims);
        assert.deepEqual(Array.from(lab.data), e.label.data);
      }
    });
  }

  it('reads 16-bit PNG values unscaled (65535 stays 65535, 256 stays 256)', () => {
    const img = readImageFile(path.join(FIX, 'png/grey16.png'), ctx);
    assert.equal(img.data[0], 65535);
    assert.equal(img.data[1], 256);
  });

  it('reads a palette mask as its indices, a palette image as its colours', () => {
    const p = path.join(FIX, 'png/palette.png');
    assert.equal(readImageFile(p, ctx).dims[0], 3);
    assert.equal(readLabelFile(p, ctx).dims.length, 2);
  });

  it('picks .npz members by name, by role, or as asked with #member', () => {
    const f = path.join(FIX, 'npz/multi.npz');
    assert.deepEqual(readNpzMember(f, 'image').shape, [2, 4, 5, 3]);
    assert.deepEqual(readNpzMember(f, 'label').shape, [2, 4, 5]);
    assert.deepEqual(readNpzMember(f, 'image', 'other').shape, [3]);
    throwsLens(() => readNpzMember(f, 'image', 'nope'), 'data', `${f} has no array named "nope" (it holds: images, masks, other)`);
    const g = path.join(FIX, 'npz/ambiguous.npz');
    throwsLens(() => readNpzMember(g, 'image'), 'data', `${g} holds several arrays (foo, bar); name the one with the images as "ambiguous.npz#foo" in unetlens.json`);
  });

  it('transposes Fortran-order arrays to C order', () => {
    const a = readNpy(path.join(FIX, 'npy/fortran_hwc.npy'));
    assert.deepEqual(a.shape, [3, 4, 2]);
    assert.deepEqual(Array.from(a.data), Array.from({ length: 24 }, (_, i) => i * 0.5));
    // 2×3 Fortran [[0,1,2],[3,4,5]] is stored 0,3,1,4,2,5
    assert.deepEqual(Array.from(fortranToC(Float32Array.from([0, 3, 1, 4, 2, 5]), [2, 3])), [0, 1, 2, 3, 4, 5]);
  });

  const broken: [string, 'image' | 'label', string][] = [
    ['png/truncated.png', 'image', 'is not a readable PNG: truncated (IDAT chunk at byte 33 needs 1067 bytes, the file ends 633 bytes later)'],
    ['png/not_a_png.png', 'image', 'is not a readable PNG: it does not start with the PNG signature'],
    ['png/empty.png', 'image', 'is not a readable PNG: the file is empty'],
    ['png/corrupt_data.png', 'image', 'is not a readable PNG: corrupt image data ('],
    ['png/mask_rgb_colour.png', 'label', ': a colour mask is not supported: pixel (x=3, y=2) is (1, 0, 0); save masks as single-channel (grey or palette) images whose values are the class indices'],
    ['npy/truncated.npy', 'image', 'is not a readable .npy array: truncated (the header promises 1024 bytes of data, the file holds 924)'],
    ['npy/object.npy', 'image', 'is not a readable .npy array: unsupported dtype "|O" (object arrays (saved with allow_pickle) are not supported)'],
    ['npy/complex.npy', 'image', 'is not a readable .npy array: unsupported dtype "<c8" (complex arrays are not supported)'],
    ['npz/not_a_zip.npz', 'image', 'is not a readable .npz array: not a valid zip archive ('],
  ];
  for (const [rel, role, tail] of broken) {
    it(`rejects ${rel}`, () => {
      const f = path.join(FIX, rel);
      const read = role === 'label' ? readLabelFile : readImageFile;
      const e = throwsLens(() => read(f, ctx), 'data', new RegExp(`^${escape(f)}${tail.startsWith(':') ? '' : ' '}${escape(tail)}`));
      assert.equal(e.where, f);
    });
  }

  it('knows double extensions and base names; the reader table is keyed by extension', () => {
    assert.equal(extOf('a/b/case1.nii.gz'), '.nii.gz');
    assert.equal(extOf('CASE.PNG'), '.png');
    assert.equal(baseNameOf('a/case001.nii.gz'), 'case001');
    assert.equal(baseNameOf('a/case.001.png'), 'case.001');
    assert.deepEqual(Object.keys(READERS).sort(), ['.dcm', '.jpeg', '.jpg', '.nii', '.nii.gz', '.npy', '.npz', '.png', '.tif', '.tiff']);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/* ============================================================================================ */

describe('splits: listSplit', () => {
  const seg = (dir: string, splits: Record<string, unknown>, extra: Record<string, unknown> = {}): DatasetConfig =>
    cfgAt(dir, { ...BASE, splits, ...extra });
  const only = (cfg: DatasetConfig, name = 'train') => listSplit(cfg, cfg.splits.find((s) => s.name === name)!);

  it('lists a folder split in natural order and pairs masks by base name', () => {
    const cfg = loadDatasetFile(path.join(DS, 'ok', 'unetlens.json'));
    const train = only(cfg);
    assert.equal(train.count, 4);
    assert.deepEqual(train.ids, ['case001', 'case002', 'case003', 'case10']);
    assert.equal(train.labeled, true);
    const it0 = train.read(3);
    assert.equal(it0.id, 'case10');
    assert.deepEqual(it0.image.dims, [1, 6, 5]);
    assert.deepEqual(it0.label!.dims, [6, 5]);
    assert.ok(it0.label!.data instanceof Int32Array);
    assert.equal(it0.labelFile, path.join(DS, 'ok', 'train', 'masks', 'case10.png'));
    assert.deepEqual(Array.from(it0.label!.data), Array.from(readLabelFile(it0.labelFile!, { channels: 1, layout: 'NCHW' }).data));

    const test = only(cfg, 'test');
    assert.deepEqual(test.ids, ['img1', 'img2', 'img10']); // .npy images, .png masks
    assert.deepEqual(test.read(2).image.dims, [1, 6, 5]);

    const site = only(cfg, 'siteB');
    assert.equal(site.labeled, false);
    assert.deepEqual(site.ids, ['s1', 's2']);
    assert.equal(site.read(0).label, undefined);
    assert.deepEqual(site.notes, [
      'split "siteB": skipped 2 file(s) in siteB/images that cannot be read: 1 .mha (MetaImage, not supported yet), 1 .txt',
    ]);
    assert.throws(() => site.read(2), RangeError);
  });

  it('natural order: img2 < img10, case001 < case10', () => {
    assert.deepEqual(['img10', 'img2', 'img1'].sort(naturalCompare), ['img1', 'img2', 'img10']);
    assert.deepEqual(['case10', 'case001'].sort(naturalCompare), ['case001', 'case10']);
  });

  it('names the first image without a mask', () => {
    const cfg = seg('missing_pair', { train: { images: 'images', labels: 'masks' } });
    throwsLens(() => only(cfg), 'data', 'split "train": image case003.png has no mask in masks (no file named case003.*; 3 images, 2 masks)');
  });

  it('names the first mask without an image', () => {
    const cfg = seg('extra_label', { train: { images: 'images', labels: 'masks' } });
    throwsLens(() => only(cfg), 'data', 'split "train": mask case004.png in masks has no image in images (2 images, 3 masks)');
  });

  it('rejects mask value 255 with two classes and suggests 0/1', () => {
    const src = only(seg('mask255', { train: { images: 'images', labels: 'masks' } }));
    throwsLens(
      () => src.read(0),
      'data',
      'split "train": masks/a.png: label value 255 at pixel (x=3, y=2) is outside 0..1 (classes: background, lesion). The mask looks like it was saved as 0/255: save it as 0/1 (class indices), e.g. mask // 255',
    );
  });

  it('rejects a mask whose size differs from its image, naming both', () => {
    const src = only(seg('wrong_size', { train: { images: 'images', labels: 'masks' } }));
    const e = throwsLens(
      () => src.read(0),
      'data',
      'split "train": mask masks/a.png is 4×4 but its image images/a.png is 6×5 (H×W); a mask must have the size of its image',
    );
    assert.equal(e.where, path.join(DS, 'wrong_size', 'masks', 'a.png'));
  });

  it('rejects a colour mask', () => {
    const src = only(seg('rgb_mask', { train: { images: 'images', labels: 'masks' } }));
    throwsLens(() => src.read(0), 'data', /^split "train": masks\/a\.png: a colour mask is not supported: pixel \(x=2, y=1\) is \(1, 0, 0\)/);
  });

  it('rejects a folder with nothing readable, saying what it found', () => {
    throwsLens(
      () => only(seg('unsupported', { train: { images: 'images' } })),
      'data',
      'split "train": no readable images in images (found 2 .mha (MetaImage, not supported yet), 1 .txt; supported: .png, .npy, .npz, .jpg, .jpeg, .tif, .tiff, .nii, .nii.gz, .dcm)',
    );
    throwsLens(
      () => only(seg('empty', { train: { images: 'images' } })),
      'data',
      'split "train": no readable images in images (the folder is empty; supported: .png, .npy, .npz, .jpg, .jpeg, .tif, .tiff, .nii, .nii.gz, .dcm)',
    );
  });

  it('rejects two files with the same base name', () => {
    throwsLens(
      () => only(seg('dup', { train: { images: 'images' } })),
      'data',
      'split "train": images holds two files with the base name "a" (a.npy, a.png); files are paired by base name, so base names must be unique',
    );
  });

  it('is lazy: listing reads no image; a corrupt one fails only when read', () => {
    const src = only(seg('corrupt', { train: { images: 'images' } }));
    assert.equal(src.count, 2);
    assert.deepEqual(src.read(0).image.dims, [1, 6, 5]);
    throwsLens(() => src.read(1), 'data', /^split "train": images\/b\.png is not a readable PNG: truncated/);
  });

  it('reads arrays: N×H×W×C images with N×H×W masks from one .npz, N×1×H×W from .npy', () => {
    const exp = expected['ds/arrays'];
    const cfg = cfgAt('arrays', {
      ...BASE,
      classes: ['a', 'b', 'c'],
      input: { channels: 3 },
      splits: {
        train: { images: 'train.npz', labels: 'train.npz' },
        test: { images: 'test_images.npy', labels: 'test_masks.npy' },
        named: { images: 'train.npz#images', labels: 'train.npz#masks' },
      },
    });
    for (const name of ['train', 'named']) {
      const tr = only(cfg, name);
      assert.equal(tr.count, 3);
      assert.deepEqual(tr.ids, ['train.npz[0]', 'train.npz[1]', 'train.npz[2]']);
      for (let i = 0; i < 3; i++) {
        const item = tr.read(i);
        assert.deepEqual(item.image.dims, exp.dims);
        assert.deepEqual(Array.from(item.image.data), exp.train_images[i]);
        assert.deepEqual(item.label!.dims, [6, 5]);
        assert.deepEqual(Array.from(item.label!.data), exp.train_masks[i]);
      }
    }
    const te = only(cfg, 'test');
    const item = te.read(1);
    assert.deepEqual(item.image.dims, [1, 6, 5]); // grey, repeated to 3 channels by toModelInput
    assert.deepEqual(Array.from(item.image.data), exp.test_images[1].map((v: number) => Math.fround(v)));
    assert.deepEqual(Array.from(item.label!.data), exp.test_masks[1]);
    assert.equal(item.imageFile, `${path.join(DS, 'arrays', 'test_images.npy')}[1]`);
  });

  it('array errors: count mismatch, bad label value, mixing a folder with an array', () => {
    const base = { ...BASE, classes: ['a', 'b', 'c'], input: { channels: 3 } };
    throwsLens(
      () => only(cfgAt('arrays', { ...base, splits: { train: { images: 'test_images.npy', labels: 'short_masks.npy' } } })),
      'data',
      'split "train": test_images.npy holds 3 images but short_masks.npy holds 2 masks',
    );
    const src = only(cfgAt('arrays', { ...base, splits: { train: { images: 'test_images.npy', labels: 'bad_masks.npy' } } }));
    src.read(0);
    throwsLens(
      () => src.read(1),
      'data',
      'split "train": bad_masks.npy[1]: label value 7 at pixel (x=2, y=0) is outside 0..2 (classes: a, b, c)',
    );
    throwsLens(
      () => only(cfgAt('arrays', { ...base, splits: { train: { images: 'test_images.npy', labels: '../ok/train/masks' } } })),
      'data',
      'split "train": images is an array file but labels is a folder; use two folders (paired by name) or two arrays (paired by index)',
    );
    throwsLens(
      () => only(cfgAt('arrays', { ...base, input: { channels: 1 }, splits: { train: { images: 'nchw3.npy' } } })),
      'data',
      'split "train": nchw3.npy: cannot tell the channel axis of an array of shape [3, 6, 5]: input.channels is 1, so expected C×H×W or H×W×C with C = 1 (or 1)',
    );
  });

  it('classification: a folder per class (ImageFolder) and a CSV file,label', () => {
    const cfg = cfgAt('classif', {
      task: 'classification',
      classes: ['cat', 'dog'],
      splits: {
        train: { images: 'train', labels: 'train' },
        test: { images: 'test', labels: 'test_labels.csv' },
      },
    });
    const tr = only(cfg);
    assert.deepEqual(tr.ids, ['cat/cat0', 'cat/cat1', 'dog/dog0', 'dog/dog1']);
    assert.deepEqual(
      tr.ids.map((_, i) => tr.read(i).label!.data[0]),
      [0, 0, 1, 1],
    );
    const te = only(cfg, 'test');
    assert.deepEqual(te.ids, ['t0', 't1', 't2']);
    const l = te.read(1).label!;
    assert.deepEqual(l.dims, []);
    assert.deepEqual(Array.from(l.data), [1]);
  });

  it('regression: targets are images', () => {
    const cfg = cfgAt('regression', { task: 'regression', splits: { train: { images: 'inputs', labels: 'targets' } } });
    const it0 = only(cfg).read(0);
    assert.equal(it0.label, undefined);
    assert.deepEqual(it0.target!.dims, [1, 6, 5]);
  });
});

/* ============================================================================================ */

describe('preprocess: toModelInput / toLabelMap', () => {
  const input = (o: Partial<DatasetConfig['input']> = {}): DatasetConfig['input'] => ({ ...DEFAULT_INPUT, ...o });

  for (const [i, c] of resizeRef.cases.entries()) {
    it(`${c.kind} ${c.dims.join('×')} → ${c.target.join('×')} matches torch (case ${i})`, () => {
      if (c.kind === 'bilinear') {
        allClose(resizeLinear(Float32Array.from(c.data), c.dims, c.target), c.out, 1e-5, 'resize');
        // and through toModelInput with the identity normalisation
        const x = toModelInput({ data: Float32Array.from(c.data), dims: c.dims }, input({ channels: c.dims[0] }), c.target);
        allClose(x, c.out, 1e-5, 'toModelInput');
      } else if (c.kind === 'nearest') {
        const out = toLabelMap({ data: Int32Array.from(c.data), dims: c.dims }, c.target, 'resize');
        assert.deepEqual(Array.from(out), c.out);
      } else {
        const x = toModelInput({ data: Float32Array.from(c.data), dims: c.dims }, c.input, c.target);
        allClose(x, c.out, 1e-5, 'modelInput');
      }
    });
  }

  it('normalises per channel: (raw * scale - mean[c]) / std[c], mean/std of length 1 broadcast', () => {
    const raw = { data: Float32Array.from([0, 255, 10, 20]), dims: [2, 1, 2] };
    const x = toModelInput(raw, input({ channels: 2, scale: 1 / 255, mean: [0.5, 0], std: [0.5, 2] }));
    allClose(x, [-1, 1, 10 / 255 / 2, 20 / 255 / 2], 1e-7, 'x');
    const y = toModelInput(raw, input({ channels: 2, scale: 2, mean: [1], std: [4] }));
    allClose(y, [-0.25, 127.25, 4.75, 9.75], 1e-6, 'y');
  });

  it('repeats a grey image to 3 channels; refuses RGB for a 1-channel model', () => {
    const grey = { data: Float32Array.from([1, 2, 3, 4]), dims: [1, 2, 2] };
    assert.deepEqual(Array.from(toModelInput(grey, input({ channels: 3 }))), [1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4]);
    const rgb = { data: new Float32Array(12), dims: [3, 2, 2] };
    throwsLens(
      () => toModelInput(rgb, input({ channels: 1 }), undefined, 'images/a.png'),
      'data',
      'images/a.png: the image has 3 channels but input.channels is 1; convert the images to grey, or set "input.channels": 3 if the model takes colour images',
    );
  });

  it('centre-crops, and zero-pads where the image is smaller', () => {
    // 4×5 → 2×3: rows 1..2, cols 1..3
    const data = Float32Array.from({ length: 20 }, (_, i) => i);
    assert.deepEqual(Array.from(centerCrop(data, [1, 4, 5], [2, 3])), [6, 7, 8, 11, 12, 13]);
    // 2×2 → 4×3: padded with 0 (model space), image at rows 1..2, col 0..1 (offset ⌊1/2⌋ = 0)
    const x = toModelInput({ data: Float32Array.from([1, 2, 3, 4]), dims: [1, 2, 2] }, input({ resize: 'crop', mean: [1] }), [4, 3]);
    assert.deepEqual(Array.from(x), [0, 0, 0, 0, 1, 0, 2, 3, 0, 0, 0, 0]);
    const m = toLabelMap({ data: Int32Array.from({ length: 20 }, (_, i) => i), dims: [4, 5] }, [2, 3], 'crop');
    assert.deepEqual(Array.from(m), [6, 7, 8, 11, 12, 13]);
  });

  it('leaves sizes alone without a target and transposes to HWC on request', () => {
    const lab = { data: Int32Array.from([0, 1, 1, 0]), dims: [2, 2] };
    assert.deepEqual(Array.from(toLabelMap(lab, undefined)), [0, 1, 1, 0]);
    assert.deepEqual(Array.from(toLabelMap(lab, [2, 2])), [0, 1, 1, 0]);
    assert.deepEqual(Array.from(chwToHwc(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 1, 3])), [1, 4, 2, 5, 3, 6]);
  });

  it('end to end: a split item through toModelInput / toLabelMap at the configured size', () => {
    const cfg = loadDatasetFile(path.join(DS, 'ok', 'unetlens.json'));
    const item = listSplit(cfg, cfg.splits[0]).read(0);
    const x = toModelInput(item.image, cfg.input, cfg.input.size, item.imageFile);
    assert.equal(x.length, 64);
    const y = toLabelMap(item.label!, cfg.input.size, cfg.input.resize);
    assert.equal(y.length, 64);
    assert.ok(Array.from(y).every((v) => v === 0 || v === 1));
  });
});
