/**
 * The pipeline (src/engine/pipeline/analyze.ts) on tiny fixtures of every task, its maps, how it reads
 * the prediction output, and its failure modes.
 *
 * Fixtures and their reference numbers (PyTorch forward pass, NumPy MSE/PSNR,
 * skimage.metrics.structural_similarity, accuracy, pooled Dice) are written by
 *   /usr/bin/python3 scripts/make_task_fixtures.py   → test/fixtures/tasks/
 * The failure-mode tests that need exit codes run the built CLI (dist/cli.js; `node esbuild.mjs`)
 * on copies of the fixtures in temp folders, and check that nothing is written and no user file
 * changes. The shift sweep (performance without labels) is in pipelineShifts.test.ts; the
 * fixtures and checks both files use are in pipelineFixtures.ts.
 * Run: node --import tsx --test test/integration/pipeline.test.ts
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyze } from '../../src/engine/pipeline/analyze';
import { loadOnnxModel } from '../../src/engine/model/onnxModel';
import { readNpy } from '../../src/engine/data/formats';
import { LensError } from '../../src/engine/types';
import { centreIndexMap } from '../../src/engine/metrics';
import { mapSize } from '../../src/engine/points';
import { root, TASKS, expected, cli, rel, tmp, lensError, writeNpyU8, cliFails, copyFixture, noNonFinite, writeLesionDataset } from './pipelineFixtures';

describe('classification', () => {
  for (const modelName of ['classifier.onnx', 'classifier_conv.onnx']) {
    it(`${modelName}: accuracy as PyTorch, every point carries its image's label, maps filled with the image's classes`, async () => {
      const r = await analyze(path.join(TASKS, 'classification', modelName), path.join(TASKS, 'classification', 'unetlens.json'));
      const e = expected.classification[modelName].accuracy;
      assert.equal(r.model.activation, 'softmax');
      assert.deepEqual(r.splits.map((s) => s.name), ['train', 'test', 'shifted']);
      for (const s of r.splits) {
        if (s.name === 'shifted') {
          assert.equal(s.performance, null);
          continue;
        }
        assert.ok(Math.abs((s.performance!.accuracy as number) - e[s.name]) < 1e-12, `${s.name}: accuracy ${s.performance!.accuracy} vs ${e[s.name]}`);
      }
      // 3 classes; labels of the points are the CSV's class of their image
      const csv = fs.readFileSync(path.join(TASKS, 'classification', 'data', 'train.csv'), 'utf8').trim().split('\n').slice(1);
      const classesInTrain = new Set(csv.map((l) => ['hbar', 'vbar', 'blob'].indexOf(l.split(',')[1])));
      for (const t of r.taps) {
        const [, H, W] = t.shape;
        assert.equal(r.metrics.train[t.name].points, 18 * H * W, 'every location of every image (no sampling)');
        assert.equal(r.metrics.test[t.name].points, 9 * H * W);
        for (const split of ['train', 'test']) assert.ok(r.metrics[split][t.name].db !== null, `${split} ${t.name}: db with image labels`);
        assert.equal(r.metrics.shifted[t.name].db, null);
        for (const split of ['train', 'test', 'shifted']) {
          const c = r.metrics[split][t.name].knnConfidence!;
          assert.ok(c >= 0 && c <= 1, `${split} ${t.name}: knnConfidence ${c}`);
        }
        const labels = new Set(r.pca[t.name].points.train.map((row) => row[3]));
        for (const l of labels) assert.ok(classesInTrain.has(l), `PCA label ${l} is an image label`);
      }
      // maps: 2 images per split; the label and prediction maps hold one class each
      assert.deepEqual(r.maps.items.map((m) => m.split), ['train', 'train', 'test', 'test', 'shifted', 'shifted']);
      for (const m of r.maps.items) {
        assert.deepEqual(m.preview.dims, [16, 16]);
        assert.equal(m.prediction!.length, 256);
        assert.equal(new Set(m.prediction).size, 1);
        if (m.split === 'shifted') assert.equal(m.label, null);
        else {
          assert.equal(new Set(m.label).size, 1);
          const [file, cls] = (m.split === 'train' ? csv : fs.readFileSync(path.join(TASKS, 'classification', 'data', 'test.csv'), 'utf8').trim().split('\n').slice(1))
            .find((l) => l.startsWith(`${m.image}.npy,`))!
            .split(',');
          assert.ok(file);
          assert.equal(m.label![0], ['hbar', 'vbar', 'blob'].indexOf(cls));
        }
        for (const t of r.taps) {
          const c = m.confidence[t.name];
          assert.deepEqual(c.dims, t.shape.slice(1));
          assert.ok(c.values.every((v) => v >= 0 && v <= 1));
        }
      }
      noNonFinite(r);
    });
  }

  it('a segmentation model under task "classification" is refused, naming both files', async () => {
    const { file } = copyFixture('classification');
    const e = await lensError(analyze(path.join(TASKS, 'seg2d', 'seg2d.onnx'), file));
    assert.equal(e.kind, 'dataset');
    assert.match(e.message, /seg2d\.onnx/);
    assert.match(e.message, /2×16×16/);
    assert.match(e.message, /classification/);
    assert.match(e.message, /one score per class/);
  });
});

describe('regression', () => {
  it('denoising: MSE, PSNR, SSIM as NumPy / skimage with R = max − min of the train targets; no labels, no maps', async () => {
    const r = await analyze(path.join(TASKS, 'denoise', 'denoiser.onnx'), path.join(TASKS, 'denoise', 'unetlens.json'));
    const e = expected.regression;
    assert.equal(r.dataset.task, 'regression');
    assert.equal(r.model.activation, undefined);
    assert.ok(rel(r.settings.dataRange!, e.dataRange) < 1e-12, `dataRange ${r.settings.dataRange} vs ${e.dataRange}`);
    for (const s of r.splits) {
      if (s.name === 'noisier') {
        assert.equal(s.performance, null);
        continue;
      }
      const p = s.performance!;
      const x = e.splits[s.name];
      // onnxruntime and PyTorch differ in float32 rounding only
      assert.ok(rel(p.mse as number, x.mse) < 1e-5, `${s.name} mse ${p.mse} vs ${x.mse}`);
      assert.ok(rel(p.psnr as number, x.psnr) < 1e-6, `${s.name} psnr ${p.psnr} vs ${x.psnr}`);
      assert.ok(rel(p.ssim as number, x.ssim) < 1e-5, `${s.name} ssim ${p.ssim} vs ${x.ssim}`);
    }
    for (const split of ['train', 'test', 'noisier']) {
      for (const t of r.taps) {
        const m = r.metrics[split][t.name];
        assert.equal(m.db, null, 'no classes: no db');
        assert.equal(m.knnConfidence, null, 'no classes: no knnConfidence');
        assert.ok(m.points > 0);
      }
      assert.ok(r.taps.some((t) => typeof r.metrics[split][t.name].roughness === 'number'), `${split}: roughness with K = 2`);
      assert.ok(r.taps.some((t) => typeof r.metrics[split][t.name].featureShift === 'number'), `${split}: featureShift`);
    }
    assert.deepEqual(r.maps.items, []);
    noNonFinite(r);
  });

  it('a target with the wrong number of values is refused, naming the target array', async () => {
    const { dir, file } = copyFixture('denoise');
    const target = readNpy(path.join(dir, 'data', 'test_clean.npy'));
    writeNpyU8(path.join(dir, 'data', 'test_clean.npy'), [7, 16, 16], Uint8Array.from(target.data.subarray(0, 7 * 256)));
    const line = cliFails(path.join(TASKS, 'denoise', 'denoiser.onnx'), dir, file, 2, /test_clean\.npy/);
    assert.match(line, /8 images/);
    assert.match(line, /7 targets/);
  });
});

describe('3D segmentation', () => {
  it('Dice and accuracy as PyTorch; maps of the middle slice', async () => {
    const r = await analyze(path.join(TASKS, 'unet3d', 'unet3d.onnx'), path.join(TASKS, 'unet3d', 'unetlens.json'));
    for (const s of r.splits) {
      if (!s.labeled) continue;
      const e = expected.unet3d[s.name];
      assert.ok(Math.abs((s.performance!.dice as number) - e.dice) < 1e-12, `${s.name} dice ${s.performance!.dice} vs ${e.dice}`);
      assert.ok(Math.abs((s.performance!.accuracy as number) - e.accuracy) < 1e-12, `${s.name} accuracy`);
      // the labelled foreground share, counted here from the mask files themselves (6 digits kept)
      const dir = path.join(TASKS, 'unet3d', 'data', s.name, 'masks');
      let fg = 0;
      let all = 0;
      for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.npy'))) {
        const m = readNpy(path.join(dir, f)).data;
        for (let i = 0; i < m.length; i++) if (m[i] !== 0) fg++;
        all += m.length;
      }
      assert.ok(fg > 0 && Math.abs(s.labelForeground! - fg / all) <= 5e-7, `${s.name} labelForeground ${s.labelForeground} vs ${fg / all}`);
    }
    assert.equal(r.splits.find((s) => !s.labeled)?.labelForeground, undefined, 'no labels, no labelled share');
    assert.deepEqual(r.maps.items.map((m) => `${m.split}/${m.image}`), ['train/vol00', 'test/vol00', 'extra/vol00']);
    for (const m of r.maps.items) {
      assert.deepEqual(m.preview.dims, [16, 16]);
      assert.ok(m.preview.values.every((v) => Number.isInteger(v) && v >= 0 && v <= 255));
      assert.equal(Math.min(...m.preview.values), 0);
      assert.equal(Math.max(...m.preview.values), 255);
      for (const t of r.taps) assert.deepEqual(m.confidence[t.name].dims, t.shape.slice(2), `${t.name}: H×W of the tap`);
      if (m.split === 'extra') assert.equal(m.label, null);
      else {
        // the label map is slice 4 of the 8×16×16 mask
        const mask = readNpy(path.join(TASKS, 'unet3d', 'data', m.split, 'masks', `${m.image}.npy`));
        assert.deepEqual(m.label, Array.from(mask.data.subarray(4 * 256, 5 * 256)));
      }
      // the image's middle slice, min-max scaled
      const img = readNpy(path.join(TASKS, 'unet3d', 'data', m.split, 'images', `${m.image}.npy`)).data.subarray(4 * 256, 5 * 256);
      const lo = Math.min(...img);
      const hi = Math.max(...img);
      assert.deepEqual(m.preview.values, Array.from(img, (v) => Math.round(((v / 255 - lo / 255) / (hi / 255 - lo / 255)) * 255)));
    }
    noNonFinite(r);
  });
});

describe('maps', () => {
  it('without sampling, the mean of a split\'s maps over all its images is its knnConfidence (train: leave-one-out)', async () => {
    const r = await analyze(path.join(TASKS, 'seg2d', 'seg2d.onnx'), path.join(TASKS, 'seg2d', 'unetlens.json'), { overrides: { mapsPerSplit: 1000 } });
    assert.equal(r.maps.items.length, 10);
    for (const split of ['train', 'test']) {
      const items = r.maps.items.filter((m) => m.split === split);
      for (const t of r.taps) {
        const vals = items.flatMap((m) => m.confidence[t.name].values);
        assert.equal(vals.length, r.metrics[split][t.name].points, `${split} ${t.name}: one value per point`);
        const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
        assert.ok(Math.abs(mean - r.metrics[split][t.name].knnConfidence!) < 1e-9, `${split} ${t.name}: maps ${mean} vs metric ${r.metrics[split][t.name].knnConfidence}`);
      }
      for (const m of items) {
        const mask = readNpy(path.join(TASKS, 'seg2d', 'data', split, 'masks', `${m.image}.npy`));
        assert.deepEqual(m.label, Array.from(mask.data));
        assert.ok(m.prediction!.every((v) => v === 0 || v === 1));
      }
    }
  });

  it('analysis.mapGrid: a tap wider than it is measured on a grid of at most mapGrid a side, each cell the full map\'s value at the location holding the cell\'s centre; out of 8..128 the CLI exits 2 naming the file and field', async () => {
    const model = path.join(TASKS, 'seg2d', 'seg2d.onnx');
    const data = path.join(TASKS, 'seg2d', 'unetlens.json');
    const full = await analyze(model, data, { overrides: { mapsPerSplit: 2 } });
    const { file } = copyFixture('seg2d', (cfg) => {
      cfg.analysis.mapGrid = 8;
    });
    const coarse = await analyze(model, file, { overrides: { mapsPerSplit: 2 } });
    assert.equal(coarse.maps.items.length, full.maps.items.length);
    let cut = 0;
    for (let i = 0; i < full.maps.items.length; i++) {
      const f = full.maps.items[i];
      const c = coarse.maps.items[i];
      assert.deepEqual(c.preview, f.preview, 'the preview does not follow mapGrid');
      for (const t of full.taps) {
        const fd = f.confidence[t.name].dims as [number, number];
        assert.deepEqual(fd, t.shape.slice(1), `${t.name}: the default 64 keeps every location of these taps`);
        const cd = mapSize(fd, 8);
        assert.deepEqual(c.confidence[t.name].dims, cd, t.name);
        if (cd[0] !== fd[0] || cd[1] !== fd[1]) cut++;
        const locs = centreIndexMap(fd, cd);
        assert.deepEqual(c.confidence[t.name].values, Array.from(locs, (l) => f.confidence[t.name].values[l]), t.name);
      }
    }
    assert.ok(cut > 0, 'some tap is wider than 8');
    const bad = copyFixture('seg2d', (cfg) => {
      cfg.analysis.mapGrid = 256;
    });
    cliFails(model, bad.dir, bad.file, 2, /unetlens\.json: "analysis\.mapGrid" must be an integer ≥ 8 and ≤ 128 \(got 256\)/);
  });

  it('mapsPerSplit 0 gives no maps; the results stream (onPartial): the taps first, then tap by tap and split by split, each a prefix of the final ones', async () => {
    const seen: { stage: string; splits: string[]; metrics: string; taps: string[]; calibrating?: boolean }[] = [];
    const r = await analyze(path.join(TASKS, 'seg2d', 'seg2d.onnx'), path.join(TASKS, 'seg2d', 'unetlens.json'), {
      overrides: { mapsPerSplit: 0 },
      onPartial: (p, stage) =>
        seen.push({ stage, splits: p.splits.map((s) => s.name), metrics: JSON.stringify(p.metrics), taps: p.taps.map((t) => t.name), calibrating: p.verdict?.calibrating }),
    });
    assert.deepEqual(r.maps.items, []);
    // The skeleton: every tap, before any split.
    assert.deepEqual(seen[0], { stage: 'taps', splits: [], metrics: '{}', taps: r.taps.map((t) => t.name), calibrating: undefined });
    // Train's Davies–Bouldin of every tap first (the first chart), then its first tap's metrics;
    // then at most one every 3 s, tap by tap.
    const [dbFirst, firstTap] = seen.filter((s) => s.stage === 'metrics train').map((s) => JSON.parse(s.metrics).train);
    assert.deepEqual(Object.keys(dbFirst), r.taps.map((t) => t.name));
    for (const t of r.taps) assert.deepEqual(dbFirst[t.name], { db: r.metrics.train[t.name].db, roughness: null, knnConfidence: null, knnConfidenceFg: null, featureShift: null, points: r.metrics.train[t.name].points });
    assert.deepEqual(firstTap[r.taps[0].name], r.metrics.train[r.taps[0].name]);
    // From the first split on, the verdict so far, marked: the sweep is still to come.
    if (r.performanceWithoutLabels) assert.ok(seen.filter((s) => s.stage.startsWith('split ') || s.stage === 'calibrating').every((s) => s.calibrating === true));
    assert.equal(r.verdict?.calibrating, undefined, 'the final verdict has no mark');
    const perSplit = seen.filter((s) => s.stage.startsWith('split '));
    assert.deepEqual(perSplit.map((s) => s.stage), r.splits.map((s) => `split ${s.name}`));
    perSplit.forEach((s, i) => {
      const names = r.splits.slice(0, i + 1).map((x) => x.name);
      assert.deepEqual(s.splits, names);
      assert.equal(s.metrics, JSON.stringify(Object.fromEntries(names.map((n) => [n, r.metrics[n]]))));
    });
    if (r.performanceWithoutLabels) assert.equal(seen.at(-1)!.stage, 'calibrating');
  });
});

describe('model.activation', () => {
  /** Dice of class 1 over a split from a single-channel output thresholded at thr (the test's own count). */
  async function diceAt(model: string, split: string, thr: number): Promise<number> {
    const m = await loadOnnxModel(model, { taps: 'auto', maxTaps: 64, output: 'auto', inputDims: [1, 16, 16] });
    try {
      let inter = 0;
      let sizes = 0;
      for (const f of fs.readdirSync(path.join(TASKS, 'seg2d', 'data', split, 'images')).sort()) {
        const img = readNpy(path.join(TASKS, 'seg2d', 'data', split, 'images', f)).data;
        const mask = readNpy(path.join(TASKS, 'seg2d', 'data', split, 'masks', f)).data;
        const { output } = await m.run({ data: Float32Array.from(img, (v) => v / 255), dims: [1, 1, 16, 16] }, { taps: [] });
        for (let i = 0; i < 256; i++) {
          const p = output.data[i] > thr ? 1 : 0;
          if (p === 1 && mask[i] === 1) inter++;
          sizes += p + (mask[i] === 1 ? 1 : 0);
        }
      }
      return (2 * inter) / sizes;
    } finally {
      await m.dispose();
    }
  }

  it('"sigmoid" thresholds one channel at 0 and "probability" at 0.5, as asked, and the results say which', async () => {
    // the denoiser has one output channel: read as a binary segmentation of the seg2d images
    const model = path.join(TASKS, 'denoise', 'denoiser.onnx');
    const got: Record<string, number> = {};
    for (const activation of ['sigmoid', 'probability'] as const) {
      const { file } = copyFixture('seg2d', (cfg) => (cfg.model = { activation }));
      const r = await analyze(model, file, { overrides: { mapsPerSplit: 0 } });
      assert.equal(r.model.activation, activation);
      got[activation] = r.splits.find((s) => s.name === 'test')!.performance!.dice as number;
    }
    const sig = await diceAt(model, 'test', 0);
    const prob = await diceAt(model, 'test', 0.5);
    assert.ok(Math.abs(sig - prob) > 1e-3, 'the fixture tells the two thresholds apart');
    assert.ok(Math.abs(got.sigmoid - sig) < 1e-12, `sigmoid: ${got.sigmoid} vs ${sig}`);
    assert.ok(Math.abs(got.probability - prob) < 1e-12, `probability: ${got.probability} vs ${prob}`);
  });

  it('"softmax" on a one-channel output, and a channel count that does not match the classes, are refused', async () => {
    let { file } = copyFixture('seg2d', (cfg) => (cfg.model = { activation: 'softmax' }));
    let e = await lensError(analyze(path.join(TASKS, 'denoise', 'denoiser.onnx'), file));
    assert.equal(e.kind, 'dataset');
    assert.match(e.message, /model\.activation/);
    ({ file } = copyFixture('seg2d', (cfg) => (cfg.classes = ['background', 'disc', 'ring'])));
    e = await lensError(analyze(path.join(TASKS, 'seg2d', 'seg2d.onnx'), file));
    assert.equal(e.kind, 'dataset');
    assert.match(e.message, /seg2d\.onnx/);
    assert.match(e.message, /2 channels/);
    assert.match(e.message, /3 classes/);
  });
});

/* ------------------------------------------------------------------------------------------ */

describe('robustness', () => {
  it('NaN/Inf at an interior tap: that tap\'s metrics are null on each split, warnings name tap and split, nothing non-finite', async () => {
    const tap = expected.seg2d.nanTap as string;
    const r = await analyze(path.join(TASKS, 'seg2d', 'nan_tap.onnx'), path.join(TASKS, 'seg2d', 'unetlens.json'));
    assert.ok(r.taps.some((t) => t.name === tap), `${tap} is a tap`);
    for (const split of ['train', 'test']) {
      assert.deepEqual(r.metrics[split][tap], { db: null, roughness: null, knnConfidence: null, knnConfidenceFg: null, featureShift: null, points: 0 });
      assert.ok(
        r.warnings.some((w) => w.includes(tap) && w.includes(`"${split}"`) && /NaN or Inf/.test(w)),
        `a warning names ${tap} and ${split}: ${JSON.stringify(r.warnings)}`,
      );
      // the tap after it reads it for roughness
      const next = r.taps[r.taps.findIndex((t) => t.name === tap) + 1];
      assert.equal(r.metrics[split][next.name].roughness, null);
      assert.ok(r.warnings.some((w) => w.includes(next.name) && w.includes(`"${split}"`) && w.includes('roughness')));
      assert.ok(typeof r.metrics[split][next.name].db === 'number', 'the other metrics of the next tap stand');
      // the taps before it are untouched
      assert.ok(typeof r.metrics[split][r.taps[0].name].knnConfidence === 'number');
    }
    assert.deepEqual(r.pca[tap].explainedVariance, []);
    for (const m of r.maps.items) assert.ok(!(tap in m.confidence), 'no map of the non-finite tap');
    assert.ok(r.splits.every((s) => typeof s.performance!.dice === 'number'), 'the prediction is finite, so is the performance');
    noNonFinite(r);
  });

  it('NaN/Inf at an interior tap through the CLI: exit 0, no NaN in results.json, warnings on stderr', () => {
    const out = tmp();
    const res = spawnSync(process.execPath, [cli, 'analyze', path.join(TASKS, 'seg2d', 'nan_tap.onnx'), '--data', path.join(TASKS, 'seg2d', 'unetlens.json'), '--out', out], { encoding: 'utf8' });
    assert.equal(res.status, 0, res.stderr);
    const text = fs.readFileSync(path.join(out, 'results.json'), 'utf8');
    assert.ok(!/[:[,]\s*(NaN|-?Infinity)\b/.test(text), 'no NaN or Infinity as a value');
    assert.ok(JSON.parse(text).warnings.length >= 2);
    assert.match(res.stderr, /warning: Tap \/relu2\/Relu_output_0: split "train"/);
  });

  it('a prediction output that holds NaN is a LensError naming the model (exit 3, nothing written)', async () => {
    const model = path.join(TASKS, 'seg2d', 'nan_output.onnx');
    const e = await lensError(analyze(model, path.join(TASKS, 'seg2d', 'unetlens.json')));
    assert.equal(e.kind, 'model');
    assert.match(e.message, /nan_output\.onnx/);
    assert.match(e.message, /NaN or Inf/);
    const { dir, file } = copyFixture('seg2d');
    cliFails(model, dir, file, 3, /nan_output\.onnx.*NaN or Inf/);
  });

  it('images and masks that do not pair up (a mask missing) fail naming the image (exit 2)', () => {
    const { dir, file } = copyFixture('seg2d');
    fs.rmSync(path.join(dir, 'data', 'test', 'masks', 'case02.npy'));
    const line = cliFails(path.join(TASKS, 'seg2d', 'seg2d.onnx'), dir, file, 2, /case02\.npy has no mask/);
    assert.match(line, /4 images, 3 masks/);
  });

  it('a mask of the wrong size fails naming the mask and both sizes (exit 2)', () => {
    const { dir, file } = copyFixture('seg2d');
    writeNpyU8(path.join(dir, 'data', 'test', 'masks', 'case03.npy'), [12, 12], new Uint8Array(144));
    const line = cliFails(path.join(TASKS, 'seg2d', 'seg2d.onnx'), dir, file, 2, /case03\.npy/);
    assert.match(line, /12×12/);
    assert.match(line, /16×16/);
  });

  it('a label value outside the classes fails naming the mask, the value and the classes (exit 2)', () => {
    const { dir, file } = copyFixture('seg2d');
    const mask = new Uint8Array(256);
    mask[17] = 2;
    writeNpyU8(path.join(dir, 'data', 'train', 'masks', 'case01.npy'), [16, 16], mask);
    const line = cliFails(path.join(TASKS, 'seg2d', 'seg2d.onnx'), dir, file, 2, /case01\.npy/);
    assert.match(line, /label value 2/);
    assert.match(line, /0\.\.1/);
    assert.match(line, /background, disc/);
  });

  it('a model whose input cannot take the images fails naming the model and both shapes (exit 3)', () => {
    const { dir, file } = copyFixture('seg2d', (cfg) => (cfg.input.channels = 3));
    const line = cliFails(path.join(TASKS, 'seg2d', 'seg2d.onnx'), dir, file, 3, /seg2d\.onnx/);
    assert.match(line, /\[1, 16, 16\]/);
    assert.match(line, /\[3, 16, 16\]/);
  });

  it('a model without spatial layers fails naming the model file (exit 3)', () => {
    const model = path.join(root, 'test', 'fixtures', 'models', 'mlp.onnx');
    const { dir, file } = copyFixture('seg2d', (cfg) => (cfg.input.size = [8, 8]));
    cliFails(model, dir, file, 3, /mlp\.onnx/);
  });

  it('a truncated PNG in a split fails naming the file (exit 2)', () => {
    // four images and masks of the bundled example, one image cut short
    const dir = path.join(tmp(), 'png');
    const ex = path.join(root, 'examples', 'synthetic', 'data', 'test');
    for (const sub of ['images', 'masks']) {
      fs.mkdirSync(path.join(dir, 'data', sub), { recursive: true });
      for (const f of fs.readdirSync(path.join(ex, sub)).sort().slice(0, 4)) fs.copyFileSync(path.join(ex, sub, f), path.join(dir, 'data', sub, f));
    }
    const victim = fs.readdirSync(path.join(dir, 'data', 'images')).sort()[2];
    const bytes = fs.readFileSync(path.join(dir, 'data', 'images', victim));
    fs.writeFileSync(path.join(dir, 'data', 'images', victim), bytes.subarray(0, Math.floor(bytes.length / 2)));
    const file = path.join(dir, 'unetlens.json');
    writeLesionDataset(file, { train: { images: 'data/images', labels: 'data/masks' } }, { maxPoints: 256, mapsPerSplit: 0 });
    const line = cliFails(path.join(root, 'examples', 'synthetic', 'model.onnx'), dir, file, 2, new RegExp(victim.replace('.', '\\.')));
    assert.match(line, /truncated/);
  });
});
