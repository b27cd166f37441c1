/**
 * kNN confidence of the foreground (METHOD.md §4 `knnConfidenceFg`, `foregroundConfidence`)
 * against the NumPy computation from scikit-learn's neighbours in
 * test/fixtures/metrics-reference.json (scripts/make_metric_references.py), and the
 * pipeline's rule around it. Run: node --import tsx --test test/unit/confidenceFg.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTrainReference, foregroundConfidence, knnConfidence, MetricArgumentError, neighborsInTrain } from '../../src/engine/metrics';
import { REF, SETS } from '../metricsReference';

/** Mean of a per-point confidence agrees with NumPy's to this (float64 sums of at most 2000 values). */
const TOL = 1e-12;

test('foregroundConfidence equals the NumPy mean over the points predicted as foreground (sklearn neighbours)', () => {
  let worst = 0;
  for (const c of REF.confidence) {
    const t = SETS[c.train];
    const q = SETS[c.query];
    const ref = buildTrainReference({ points: t.points, n: t.n, dim: t.dim, labels: t.labels, k: c.k });
    const nb = c.query === c.train ? ref.self : neighborsInTrain(ref, q.points, q.n);
    const conf = knnConfidence({ ref, neighbors: nb, predicted: q.predicted });
    const fg = foregroundConfidence(conf.perPoint, q.predicted);
    assert.ok(c.confidenceFg.foregroundPoints > 0, 'the reference sets predict some foreground');
    assert.equal(q.predicted.filter((p) => p >= 1).length, c.confidenceFg.foregroundPoints);
    const d = Math.abs((fg as number) - c.confidenceFg.value);
    worst = Math.max(worst, d);
    assert.ok(d <= TOL, `${c.query} vs ${c.train} k=${c.k}: ${fg} vs NumPy ${c.confidenceFg.value}`);
    // the background does not enter: it differs from the mean over all points
    assert.notEqual(fg, conf.mean);
  }
  process.stderr.write(`# knnConfidenceFg vs NumPy: worst absolute difference ${worst.toExponential(2)} (tolerance ${TOL})\n`);
});

test('nothing predicted as foreground: null, and the mean over all points is what the pipeline reports', () => {
  for (const c of REF.confidence) {
    const t = SETS[c.train];
    const q = SETS[c.query];
    const ref = buildTrainReference({ points: t.points, n: t.n, dim: t.dim, labels: t.labels, k: c.k });
    const nb = c.query === c.train ? ref.self : neighborsInTrain(ref, q.points, q.n);
    const background = new Int32Array(q.n);
    const conf = knnConfidence({ ref, neighbors: nb, predicted: background });
    assert.equal(foregroundConfidence(conf.perPoint, background), null);
    // tapMetrics.ts: foregroundConfidence(…) ?? conf.mean
    const reported = foregroundConfidence(conf.perPoint, background) ?? conf.mean;
    assert.ok(Math.abs((reported as number) - c.confidenceFgAllBackground.value) <= TOL, `${c.query} vs ${c.train}: ${reported} vs ${c.confidenceFgAllBackground.value}`);
  }
});

test('a tolerance that can fail: one point moved from background to foreground changes the value beyond it', () => {
  const c = REF.confidence[0];
  const t = SETS[c.train];
  const ref = buildTrainReference({ points: t.points, n: t.n, dim: t.dim, labels: t.labels, k: c.k });
  const conf = knnConfidence({ ref, neighbors: ref.self, predicted: t.predicted });
  const pred = Int32Array.from(t.predicted);
  const i = pred.findIndex((p, j) => p === 0 && conf.perPoint[j] !== c.confidenceFg.value);
  pred[i] = 1;
  const moved = foregroundConfidence(knnConfidence({ ref, neighbors: ref.self, predicted: pred }).perPoint, pred) as number;
  assert.ok(Math.abs(moved - c.confidenceFg.value) > 1e3 * TOL, `${moved} vs ${c.confidenceFg.value}`);
});

test('argument checks: predicted must be an integer array as long as the values', () => {
  assert.throws(() => foregroundConfidence(new Float64Array(3), new Int32Array(2)), MetricArgumentError);
  assert.equal(foregroundConfidence(new Float64Array(0), new Int32Array(0)), null);
  assert.equal(foregroundConfidence([0.2, 0.4, 1], Int32Array.from([0, 2, 1])), 0.7);
});
