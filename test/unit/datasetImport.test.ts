/**
 * nnU-Net v2 / Decathlon dataset folders → unetlens.json (datasetImport.ts), the multi-channel
 * case reader (caseFolders.ts) and nnU-Net's normalisations (normalize.ts), on the tiny
 * fixtures of scripts/make_nnunet_fixtures.py; reference numbers from NumPy (expected.json).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { importDataset, nnunetSideFolders, normalizationForChannel, percentileSorted, writeDatasetFile } from '../../src/engine/data/datasetImport';
import { groupChannelFiles } from '../../src/engine/data/caseFolders';
import { normalizeChannel } from '../../src/engine/data/normalize';
import { loadDatasetFile, validateDatasetJson } from '../../src/engine/data/datasetFile';
import { listSplit } from '../../src/engine/data/splits';
import { toModelInput } from '../../src/engine/data/preprocess';
import { throwsLens } from '../helpers';
import * as path from 'node:path';

const fixtures = resolve(__dirname, '..', 'fixtures', 'nnunet');
const expected = JSON.parse(readFileSync(join(fixtures, 'expected.json'), 'utf8'));
/** A private copy of the fixtures (the importer's output is written into the dataset folder). */
function copy(): string {
  const d = mkdtempSync(join(tmpdir(), 'unetlens-nnunet-'));
  cpSync(fixtures, d, { recursive: true });
  return d;
}

test('nnU-Net v2: classes, channel files, z-score, fold 0 of splits_final.json as train/validation, imagesTs+labelsTs as test', () => {
  const d = copy();
  const ds = join(d, 'nnUNet_raw', 'Dataset042_Tiny');
  const r = importDataset(ds, { env: {} });
  assert.equal(r.kind, 'nnunet');
  assert.deepEqual(r.json.classes, ['background', 'lesion', 'edema']);
  assert.deepEqual(r.json.input, {
    layout: 'NCDHW',
    size: [8, 16, 16],
    channels: 2,
    channelFiles: ['_0000', '_0001'],
    normalize: ['zscore'],
    scale: 1,
    mean: [0],
    std: [1],
    resize: 'crop',
  });
  const splits = r.json.splits as Record<string, { images: string; labels?: string; cases?: string[] }>;
  assert.deepEqual(Object.keys(splits), ['train', 'validation', 'test']);
  assert.deepEqual(splits.validation, { images: 'imagesTr', labels: 'labelsTr', cases: ['tiny_003', 'tiny_007'] });
  assert.equal(splits.train.cases!.length, 8);
  assert.deepEqual(splits.test, { images: 'imagesTs', labels: 'labelsTs' });
  assert.ok(r.notes.some((n) => /fold 0/.test(n)));
  // fold 1
  const r1 = importDataset(ds, { env: {}, fold: 1 });
  assert.deepEqual((r1.json.splits as typeof splits).validation.cases, ['tiny_000', 'tiny_001']);
  throwsLens(() => importDataset(ds, { env: {}, fold: 5 }), 'dataset', /no fold 5/);
});

test('the created file reads back: 2 channels stacked per case, normalised like nnU-Net (NumPy reference)', () => {
  const d = copy();
  const ds = join(d, 'nnUNet_raw', 'Dataset042_Tiny');
  const file = join(ds, 'unetlens.json');
  writeDatasetFile(file, importDataset(ds, { env: {} }).json);
  const cfg = loadDatasetFile(file);
  const train = listSplit(cfg, cfg.splits[0]);
  assert.equal(train.count, 8);
  assert.equal(train.ids[0], 'tiny_000');
  const item = train.read(0);
  assert.deepEqual(item.image.dims, [2, 8, 16, 16]);
  assert.deepEqual(item.label!.dims, [8, 16, 16]);
  const x = toModelInput(item.image, cfg.input, cfg.input.size);
  const ref = expected.firstCase.normalized as number[];
  for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(x[i] - ref[i]) < 1e-5, `value ${i}: ${x[i]} vs ${ref[i]}`);
  const n = 8 * 16 * 16;
  for (let c = 0; c < 2; c++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.abs(x[c * n + i]);
    assert.ok(Math.abs(s - expected.firstCase.normalizedSum[c]) / s < 1e-5, `channel ${c}: Σ|x| ${s} vs ${expected.firstCase.normalizedSum[c]}`);
  }
  const val = listSplit(cfg, cfg.splits[1]);
  assert.deepEqual(val.ids, ['tiny_003', 'tiny_007']);
});

test('a case missing a channel file is an error naming the case, the channel and the file expected; no file is changed', () => {
  const d = copy();
  const ds = join(d, 'nnUNet_raw', 'Dataset042_Tiny');
  const file = join(ds, 'unetlens.json');
  writeDatasetFile(file, importDataset(ds, { env: {} }).json);
  const before = readFileSync(file, 'utf8');
  renameSync(join(ds, 'imagesTr', 'tiny_005_0001.nii.gz'), join(d, 'moved.nii.gz'));
  const cfg = loadDatasetFile(file);
  throwsLens(
    () => listSplit(cfg, cfg.splits[0]),
    'data',
    'split "train": case "tiny_005" in imagesTr has no file for channel 1 (suffix "_0001": expected tiny_005_0001.nii.gz; found tiny_005_0000.nii.gz); every case needs one file per channel of input.channelFiles ("_0000", "_0001")',
  );
  throwsLens(() => importDataset(ds, { env: {} }), 'data', /case "tiny_005" in imagesTr has no file for channel 1/);
  assert.equal(readFileSync(file, 'utf8'), before);
});

test('a listed case that is not in the folder, and channelFiles that do not match input.channels, are named', () => {
  const d = copy();
  const ds = join(d, 'nnUNet_raw', 'Dataset042_Tiny');
  const json = importDataset(ds, { env: {} }).json as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  json.splits.validation.cases = ['tiny_003', 'tiny_099'];
  const file = join(ds, 'x.unetlens.json');
  writeDatasetFile(file, json);
  const cfg = loadDatasetFile(file);
  throwsLens(() => listSplit(cfg, cfg.splits[1]), 'data', /case "tiny_099" of splits.validation.cases is not in imagesTr/);
  json.input.channelFiles = ['_0000', '_0001', '_0002'];
  throwsLens(() => validateDatasetJson(json, file), 'dataset', /"input.channelFiles" lists 3 suffixes but input.channels is 2/);
  json.input.channelFiles = ['_0000', '_0001'];
  json.input.normalize = [{ clip: [5, 1] }];
  throwsLens(() => validateDatasetJson(json, file), 'dataset', /"input.normalize\[0\].clip" must be \[low, high\]/);
  json.input.normalize = ['zscore', 'zscore', 'zscore'];
  throwsLens(() => validateDatasetJson(json, file), 'dataset', /"input.normalize" must have 1 entry or one per channel/);
});

test('an existing unetlens.json is never replaced without asking', () => {
  const d = copy();
  const ds = join(d, 'nnUNet_raw', 'Dataset042_Tiny');
  const file = join(ds, 'unetlens.json');
  writeFileSync(file, '{"mine": true}\n');
  const r = importDataset(ds, { env: {} });
  throwsLens(() => writeDatasetFile(file, r.json), 'dataset', /already exists; it was left as it is/);
  assert.equal(readFileSync(file, 'utf8'), '{"mine": true}\n');
  writeDatasetFile(file, r.json, true);
  assert.equal(JSON.parse(readFileSync(file, 'utf8')).task, 'segmentation');
});

test('without splits_final.json and plans: every training case in train, the first case size, resized', () => {
  const d = copy();
  rmSync(join(d, 'nnUNet_preprocessed'), { recursive: true });
  const r = importDataset(join(d, 'nnUNet_raw', 'Dataset042_Tiny'), { env: {} });
  const splits = r.json.splits as Record<string, { cases?: string[] }>;
  assert.deepEqual(Object.keys(splits), ['train', 'test']);
  assert.equal(splits.train.cases, undefined);
  assert.equal((r.json.input as { resize: string }).resize, 'resize');
  assert.ok(r.notes.some((n) => /no splits_final.json/.test(n)));
});

test('MSD: 4D NIfTI channels, labels by value, CT clipped and standardised with the training foreground statistics (NumPy reference)', () => {
  const d = copy();
  const ds = join(d, 'Task09_Tiny');
  const r = importDataset(ds, { env: {} });
  assert.equal(r.kind, 'msd');
  assert.deepEqual(r.json.classes, ['background', 'tumour', 'node']);
  const input = r.json.input as { channels: number; channelFiles?: string[]; normalize: unknown[]; mean: number[]; std: number[] };
  assert.equal(input.channels, 2);
  assert.equal(input.channelFiles, undefined);
  const ct = expected.msdCt;
  const clip = (input.normalize[0] as { clip: [number, number] }).clip;
  assert.ok(Math.abs(clip[0] - ct.p005) < 1e-9 && Math.abs(clip[1] - ct.p995) < 1e-9, `clip ${clip} vs ${ct.p005}, ${ct.p995}`);
  assert.ok(Math.abs(input.mean[0] - ct.mean) < 1e-9 && Math.abs(input.std[0] - ct.std) < 1e-9);
  assert.equal(input.normalize[1], 'zscore');
  assert.deepEqual(r.json.splits, { train: { images: 'imagesTr', labels: 'labelsTr' }, test: { images: 'imagesTs' } });
  // with nnU-Net's fingerprint, its numbers are used
  writeFileSync(
    join(ds, 'dataset_fingerprint.json'),
    JSON.stringify({ foreground_intensity_properties_per_channel: { '0': { mean: 50, std: 20, percentile_00_5: -10, percentile_99_5: 300 } } }),
  );
  const r2 = importDataset(ds, { env: {} });
  const in2 = r2.json.input as typeof input;
  assert.deepEqual(in2.normalize[0], { clip: [-10, 300] });
  assert.deepEqual([in2.mean[0], in2.std[0]], [50, 20]);
  writeDatasetFile(join(ds, 'unetlens.json'), r.json);
  const cfg = loadDatasetFile(join(ds, 'unetlens.json'));
  const item = listSplit(cfg, cfg.splits[0]).read(0);
  assert.deepEqual(item.image.dims, [2, 8, 16, 16]);
});

test('bad dataset folders get an error naming the file and what is wrong', () => {
  const d = copy();
  throwsLens(() => importDataset(join(d, 'nnUNet_raw')), 'dataset', /no dataset.json in .*nnUNet_raw: expected an nnU-Net v2 raw dataset/);
  const ds = join(d, 'nnUNet_raw', 'Dataset042_Tiny');
  const dj = join(ds, 'dataset.json');
  const orig = JSON.parse(readFileSync(dj, 'utf8'));
  writeFileSync(dj, JSON.stringify({ ...orig, labels: { background: 0, whole_tumor: [1, 2, 3], tumor_core: [2, 3] } }));
  throwsLens(() => importDataset(ds, { env: {} }), 'dataset', /label "whole_tumor" is a region \(\[1,2,3\]\): region-based labels/);
  writeFileSync(dj, JSON.stringify({ ...orig, labels: { background: 0, lesion: 2 } }));
  throwsLens(() => importDataset(ds, { env: {} }), 'dataset', /label values must be consecutive from 0 \(got background=0, lesion=2\)/);
  writeFileSync(dj, JSON.stringify({ ...orig, file_ending: '.mha' }));
  throwsLens(() => importDataset(ds, { env: {} }), 'dataset', /file_ending ".mha" cannot be read by UNet Lens/);
  writeFileSync(dj, JSON.stringify(orig));
  rmSync(join(ds, 'labelsTr', 'tiny_004.nii.gz'));
  throwsLens(() => importDataset(ds, { env: {} }), 'dataset', /case "tiny_004" has images in imagesTr but no label labelsTr\/tiny_004.nii.gz/);
  assert.ok(!existsSync(join(ds, 'unetlens.json')), 'nothing written');
});

test('groupChannelFiles: longest suffix wins, duplicates and unmatched files', () => {
  const g = groupChannelFiles(['a_0000.nii.gz', 'a_0001.nii.gz', 'b_0001.nii.gz', 'b_0000.nii.gz', 'notes.nii.gz'], ['_0000', '_0001'], '/d', 'imagesTr', path.posix.join);
  assert.deepEqual(g.ids, ['a', 'b']);
  assert.deepEqual(g.files.get('b'), ['/d/b_0000.nii.gz', '/d/b_0001.nii.gz']);
  assert.deepEqual(g.unmatched, ['notes.nii.gz']);
  const g2 = groupChannelFiles(['x_0.png', 'x_10.png'], ['_0', '_10'], '/d', 'imgs', path.posix.join);
  assert.deepEqual(g2.files.get('x'), ['/d/x_0.png', '/d/x_10.png']);
  throwsLens(() => groupChannelFiles(['a_0000.nii.gz', 'a_0000.nii'], ['_0000'], '/d', 'imagesTr', path.posix.join), 'data', /two files for case "a", channel 0/);
  // Windows paths
  const w = groupChannelFiles(['c1_0000.nii.gz'], ['_0000'], 'C:\\data\\imagesTr', 'imagesTr', path.win32.join);
  assert.deepEqual(w.files.get('c1'), ['C:\\data\\imagesTr\\c1_0000.nii.gz']);
});

test("normalisations follow nnU-Net's formulas", () => {
  const src = Float32Array.from([1, 2, 3, 4, 100]);
  const out = new Float32Array(5);
  normalizeChannel(src, out, 5, 'zscore', 1, 0, 1);
  const mu = 22;
  const sd = Math.sqrt([1, 2, 3, 4, 100].reduce((a, v) => a + (v - mu) ** 2, 0) / 5);
  assert.ok(Math.abs(out[0] - (1 - mu) / sd) < 1e-6);
  normalizeChannel(src, out, 5, 'minmax', 1, 0, 1);
  assert.ok(Math.abs(out[1] - 1 / 99) < 1e-7 && out[4] === 1);
  normalizeChannel(src, out, 5, { clip: [2, 50] }, 1, 10, 4);
  assert.deepEqual(Array.from(out), [-2, -2, -1.75, -1.5, 10]);
  normalizeChannel(Float32Array.from([5, 5]), out, 2, 'zscore', 1, 0, 1);
  assert.deepEqual(Array.from(out.subarray(0, 2)), [0, 0], 'a constant channel stays finite (σ floored at 1e-8)');
  assert.equal(normalizationForChannel('CT'), 'ct');
  assert.equal(normalizationForChannel('noNorm'), 'none');
  assert.equal(normalizationForChannel('T2'), 'zscore');
  assert.equal(percentileSorted([0, 10], 25), 2.5);
});

test('nnU-Net side folders: the dataset, $nnUNet_preprocessed/<name>, and the sibling of nnUNet_raw (POSIX and Windows)', () => {
  assert.deepEqual(nnunetSideFolders('/w/nnUNet_raw/Dataset042_Tiny', { nnUNet_preprocessed: '/p' }, path.posix), [
    '/w/nnUNet_raw/Dataset042_Tiny',
    '/p/Dataset042_Tiny',
    '/w/nnUNet_preprocessed/Dataset042_Tiny',
    '/w/nnUNet_raw/nnUNet_preprocessed/Dataset042_Tiny',
  ]);
  assert.deepEqual(nnunetSideFolders('D:\\w\\nnUNet_raw\\Dataset042_Tiny', {}, path.win32 as typeof path).slice(1, 2), ['D:\\w\\nnUNet_preprocessed\\Dataset042_Tiny']);
});

test("nnU-Net natural images: one RGB PNG per case (_0000 holds every channel), rgb_to_0_1 → /255", () => {
  const d = mkdtempSync(join(tmpdir(), 'unetlens-nnunet-png-'));
  for (const sub of ['imagesTr', 'labelsTr']) mkdirSync(join(d, sub));
  const png = (w: number, h: number, rgb: boolean, f: (i: number) => number[]) => {
    const p = new PNG({ width: w, height: h, colorType: rgb ? 2 : 0, inputColorType: 6, bitDepth: 8 });
    for (let i = 0; i < w * h; i++) {
      const [r, g, b] = f(i);
      p.data.set([r, g, b, 255], i * 4);
    }
    return PNG.sync.write(p, { colorType: rgb ? 2 : 0, inputColorType: 6 });
  };
  for (const id of ['road_1', 'road_2']) {
    writeFileSync(join(d, 'imagesTr', `${id}_0000.png`), png(8, 6, true, (i) => [i, 2 * i, 255 - i]));
    writeFileSync(join(d, 'labelsTr', `${id}.png`), png(8, 6, false, (i) => { const v = i % 2; return [v, v, v]; }));
  }
  writeFileSync(
    join(d, 'dataset.json'),
    JSON.stringify({ channel_names: { '0': 'rgb_to_0_1', '1': 'rgb_to_0_1', '2': 'rgb_to_0_1' }, labels: { background: 0, road: 1 }, numTraining: 2, file_ending: '.png' }),
  );
  const r = importDataset(d, { env: {} });
  const input = r.json.input as Record<string, unknown>;
  assert.deepEqual([input.layout, input.channels, input.channelFiles, input.normalize, input.std, input.size], ['NCHW', 3, ['_0000'], ['fixed'], [255], [6, 8]]);
  writeDatasetFile(join(d, 'unetlens.json'), r.json);
  const cfg = loadDatasetFile(join(d, 'unetlens.json'));
  const item = listSplit(cfg, cfg.splits[0]).read(1);
  assert.equal(item.id, 'road_2');
  assert.deepEqual(item.image.dims, [3, 6, 8]);
  const x = toModelInput(item.image, cfg.input, cfg.input.size);
  assert.ok(Math.abs(x[48 + 5] - 10 / 255) < 1e-7, 'green of pixel 5 is 10/255');
});
