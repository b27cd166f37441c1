/**
 * Reference parity: the engine on a subset of the bundled example against an independent
 * implementation (scripts/make_reference.py: PyTorch forward hooks, scikit-learn's
 * davies_bouldin_score, PCA and NearestNeighbors, NumPy medians), stored in
 * test/fixtures/reference/example-reference.json. With maxPoints above the number of
 * points nothing is sampled, so every number is exact.
 * Regenerate with `/usr/bin/python3 scripts/make_reference.py` whenever the example changes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { analyze } from '../../src/engine/pipeline/analyze';
import { loadOnnxModel } from '../../src/engine/model/onnxModel';
import { loadDatasetFile } from '../../src/engine/data/datasetFile';
import { listSplit } from '../../src/engine/data/splits';
import { toModelInput } from '../../src/engine/data/preprocess';
import type { Results } from '../../src/engine/types';

const root = resolve(__dirname, '..', '..');
const model = join(root, 'examples', 'synthetic', 'model.onnx');
const dataset = join(root, 'test', 'fixtures', 'reference', 'unetlens.json');
const ref = JSON.parse(readFileSync(join(root, 'test', 'fixtures', 'reference', 'example-reference.json'), 'utf8'));

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

let results: Results;
const run = async () => (results ??= await analyze(model, dataset));

test('taps: names, order, shapes, stages, levels and receptive fields', async () => {
  const r = await run();
  assert.deepEqual(r.taps.map((t) => t.name), ref.taps.map((t: { name: string }) => t.name));
  for (const [i, t] of r.taps.entries()) {
    const e = ref.taps[i];
    assert.deepEqual(t.shape, e.shape, t.name);
    assert.equal(t.stage, e.stage, t.name);
    assert.equal(t.level, e.level, t.name);
    assert.equal(t.op, e.op, t.name);
    // METHOD §1's formula; the reference computes it on its own and also measures the field by gradients.
    assert.equal(t.receptiveField.size, e.receptiveField.size, t.name);
    assert.equal(t.receptiveField.jump, e.receptiveField.jump, t.name);
  }
});

test('activations match PyTorch forward hooks within 1e-5', async () => {
  const cfg = loadDatasetFile(dataset);
  const train = listSplit(cfg, cfg.splits.find((s) => s.name === 'train')!);
  const item = train.read(0);
  assert.equal(`train/${item.id}.png`.replace('.png.png', '.png'), ref.activations.image);
  const m = await loadOnnxModel(model, { taps: 'auto', maxTaps: 64, output: 'auto', inputDims: [1, 64, 64] });
  try {
    const x = toModelInput(item.image, cfg.input, [64, 64]);
    const { taps } = await m.run({ data: x, dims: [1, 1, 64, 64] });
    for (const [name, e] of Object.entries(ref.activations.taps) as [string, { sum: number; sumSquares: number; positions: number[][]; values: number[]; max: number }][]) {
      const t = taps.get(name);
      assert.ok(t, name);
      const [, C, H, W] = t!.dims;
      let sum = 0;
      let sq = 0;
      let max = -Infinity;
      for (const v of t!.data) {
        sum += v;
        sq += v * v;
        if (v > max) max = v;
      }
      const n = C * H * W;
      assert.ok(Math.abs(sum - e.sum) / n < 1e-5, `${name}: mean ${sum / n} vs ${e.sum / n}`);
      assert.ok(Math.abs(sq - e.sumSquares) / n < 1e-5, `${name}: mean square`);
      assert.ok(Math.abs(max - e.max) < 1e-5, `${name}: max`);
      e.positions.forEach(([c, i, j], p) => {
        const v = t!.data[(c * H + i) * W + j];
        assert.ok(Math.abs(v - e.values[p]) < 1e-5, `${name}[${c},${i},${j}] = ${v}, reference ${e.values[p]}`);
      });
    }
  } finally {
    await m.dispose();
  }
});

test('performance: pooled Dice per class and pixel accuracy equal the reference', async () => {
  const r = await run();
  for (const s of r.splits) {
    const e = ref.splits[s.name];
    assert.equal(s.images, e.images);
    if (!s.labeled) {
      assert.equal(s.performance, null);
      continue;
    }
    assert.ok(rel(s.performance!.dice as number, e.performance.dice) < 1e-12, `${s.name} dice`);
    assert.ok(rel(s.performance!.accuracy as number, e.performance.accuracy) < 1e-12, `${s.name} accuracy`);
    (s.performance!.dicePerClass as number[]).forEach((d, c) => assert.ok(rel(d, e.performance.dicePerClass[c]) < 1e-12));
  }
});

test('db within 1e-6 relative of scikit-learn, on every tap and labelled split; null without labels', async () => {
  const r = await run();
  let worst = 0;
  for (const split of ['train', 'test', 'siteB']) {
    for (const t of r.taps) {
      const got = r.metrics[split][t.name];
      const e = ref.metrics[split][t.name];
      assert.equal(got.points, e.points, `${split} ${t.name}: all points, nothing sampled`);
      if (e.db === null) {
        assert.equal(got.db, null);
        continue;
      }
      const d = rel(got.db!, e.db);
      worst = Math.max(worst, d);
      assert.ok(d < 1e-6, `${split} ${t.name}: db ${got.db} vs ${e.db}`);
    }
  }
  process.stderr.write(`# db: worst relative difference ${worst.toExponential(2)}\n`);
});

test('PCA explained-variance ratios within 1e-6 relative of scikit-learn', async () => {
  const r = await run();
  let worst = 0;
  for (const t of r.taps) {
    const e = ref.pca[t.name].explainedVariance as number[];
    e.forEach((v, i) => {
      const d = rel(r.pca[t.name].explainedVariance[i], v);
      worst = Math.max(worst, d);
      assert.ok(d < 1e-6, `${t.name} PC${i + 1}: ${r.pca[t.name].explainedVariance[i]} vs ${v}`);
    });
  }
  process.stderr.write(`# PCA: worst relative difference ${worst.toExponential(2)}\n`);
});

test('knnConfidence equals the reference (up to near-ties that float32 activations may reorder) and featureShift within 1e-4 relative', async () => {
  const r = await run();
  let exact = 0;
  let total = 0;
  let worstShift = 0;
  for (const split of ['train', 'test', 'siteB']) {
    for (const t of r.taps) {
      const got = r.metrics[split][t.name];
      const e = ref.metrics[split][t.name];
      total++;
      // The reference bounds how far near-ties (|d − d_k| ≤ 1e-4·d_k + 1e-5) can move the
      // share when ORT's and PyTorch's float32 activations order them differently.
      const lo = Math.min(e.knnConfidence, e.nearTiesAtK.knnConfidenceMin) - 1e-12;
      const hi = Math.max(e.knnConfidence, e.nearTiesAtK.knnConfidenceMax) + 1e-12;
      assert.ok(got.knnConfidence! >= lo && got.knnConfidence! <= hi, `${split} ${t.name}: knnConfidence ${got.knnConfidence} not in [${lo}, ${hi}]`);
      if (Math.abs(got.knnConfidence! - e.knnConfidence) < 1e-12) exact++;
      // d_k itself can move by the same near-tie tolerance (1e-4 relative).
      const fs = rel(got.featureShift!, e.featureShift);
      worstShift = Math.max(worstShift, fs);
      assert.ok(fs < 1e-4, `${split} ${t.name}: featureShift ${got.featureShift} vs ${e.featureShift}`);
    }
  }
  process.stderr.write(`# knnConfidence: ${exact}/${total} equal to the reference (to 1e-12), the rest within its near-tie bounds; featureShift worst relative difference ${worstShift.toExponential(2)}\n`);
});

test('knnConfidenceFg (the predicted foreground only) equals the reference up to the same near-ties', async () => {
  const r = await run();
  let exact = 0;
  let total = 0;
  for (const split of ['train', 'test', 'siteB']) {
    for (const t of r.taps) {
      const got = r.metrics[split][t.name].knnConfidenceFg!;
      const e = ref.metrics[split][t.name];
      total++;
      const lo = Math.min(e.knnConfidenceFg, e.nearTiesAtK.knnConfidenceFgMin) - 1e-12;
      const hi = Math.max(e.knnConfidenceFg, e.nearTiesAtK.knnConfidenceFgMax) + 1e-12;
      assert.ok(got >= lo && got <= hi, `${split} ${t.name}: knnConfidenceFg ${got} not in [${lo}, ${hi}] (reference ${e.knnConfidenceFg}, ${e.foregroundPoints} foreground points)`);
      if (Math.abs(got - e.knnConfidenceFg) < 1e-12) exact++;
    }
  }
  process.stderr.write(`# knnConfidenceFg: ${exact}/${total} equal to the reference (to 1e-12), the rest within its near-tie bounds\n`);
});

test('roughness lies in the band scikit-learn k-means gives across seeds', async () => {
  const r = await run();
  let inside = 0;
  let total = 0;
  const outside: string[] = [];
  for (const split of ['train', 'test', 'siteB']) {
    for (const t of r.taps) {
      const got = r.metrics[split][t.name].roughness!;
      const band = ref.metrics[split][t.name].roughnessAcrossSeeds;
      total++;
      const tol = 0.02 * Math.max(1, band.max);
      if (got >= band.min - tol && got <= band.max + tol) inside++;
      else outside.push(`${split} ${t.name}: ${got.toFixed(4)} vs [${band.min.toFixed(4)}, ${band.max.toFixed(4)}]`);
    }
  }
  process.stderr.write(`# roughness: ${inside}/${total} inside the scikit-learn seed band\n${outside.map((l) => `#   ${l}`).join('\n')}\n`);
  assert.equal(inside, total, `only ${inside}/${total} inside:\n${outside.join('\n')}`);
});
