/**
 * The "Without labels" view (webview/views/withoutLabels/, METHOD.md §5): its pure
 * helpers (webview/withoutLabels.ts) on the sample results. The view itself, drawn by the
 * real panel bundle in headless Chromium, is checked in
 * test/integration/withoutLabelsView-browser.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Results } from '../../src/engine/types';
import { tapsInOrder } from '../../webview/format';
import {
  absence,
  divergingColor,
  estimateRows,
  estimateSentence,
  estimatesCsv,
  estimateSplits,
  indicativenessCells,
  indicativenessCsv,
  inputsText,
  moveCell,
  parseInput,
  rhoPosition,
  rhoText,
  scatterRange,
  shiftFamilies,
  shiftPoints,
  shiftsCsv,
  stripMetrics,
  withoutLabels,
} from '../../webview/withoutLabels';

const root = path.resolve(__dirname, '../..');
const sample: Results = JSON.parse(readFileSync(path.join(root, 'test/fixtures/results-sample.json'), 'utf8'));
const pwl = sample.performanceWithoutLabels!;
const NAN_TAP = '/dec1/relu1/Relu_output_0';

function without(r: Results): Results {
  const c = structuredClone(r);
  delete c.performanceWithoutLabels;
  return c;
}

// ---------------------------------------------------------------- the sample

test('the sample has a plausible performanceWithoutLabels section', () => {
  assert.ok(pwl, 'present');
  assert.equal(pwl.metric, 'dice');
  assert.deepEqual(pwl.calibration.splits, ['test']);
  assert.equal(pwl.shifts.length, 5 * 4 + 1);
  assert.equal(pwl.shifts.filter((c) => c.family === 'none').length, 1);
  for (const f of pwl.settings.families) {
    assert.equal(pwl.shifts.filter((c) => c.family === f).length, 4, f);
    assert.deepEqual(pwl.shifts.filter((c) => c.family === f).map((c) => c.strength), pwl.settings.strengths[f]);
  }
  const taps = sample.taps.map((t) => t.name);
  for (const c of pwl.shifts) {
    assert.ok(c.performance >= 0 && c.performance <= 1);
    assert.ok(c.label.length > 0);
    assert.deepEqual(Object.keys(c.features).sort(), [...taps].sort());
    for (const f of Object.values(c.features)) assert.deepEqual(Object.keys(f), ['roughness', 'knnConfidence', 'featureShift', 'knnDice']);
    for (const v of Object.values(c.lofo)) assert.ok(v === null || (v >= 0 && v <= 1));
  }
  assert.equal(pwl.shifts.find((c) => c.family === 'none')!.performance, sample.splits.find((s) => s.name === 'test')!.performance!.dice);
  assert.deepEqual(Object.keys(pwl.indicativeness).sort(), [...taps].sort());
  for (const [tap, m] of Object.entries(pwl.indicativeness)) {
    for (const v of Object.values(m)) assert.ok(v === null || (v >= -1 && v <= 1), tap);
  }
  assert.deepEqual(pwl.indicativeness[NAN_TAP], { roughness: null, knnConfidence: null, featureShift: null, knnDice: null }, 'the NaN tap has no values');
  // as in the engine, the features predictor reads every (tap, metric) finite on every copy
  assert.equal(pwl.predictors.features!.inputs.length, (sample.taps.length - 1) * 4);
  // the interior features follow performance better than the output baselines
  assert.ok(pwl.predictors.features!.lofoMae! < pwl.predictors.maxProbability!.lofoMae!);
  assert.ok(pwl.predictors.features!.lofoMae! < pwl.predictors.entropy!.lofoMae!);
  // siteB: the same estimate as its predictedPerformance
  const siteB = sample.splits.find((s) => s.name === 'siteB')!.predictedPerformance!;
  assert.deepEqual(pwl.splits.siteB.predicted.features, { value: siteB.dice, low: siteB.low, high: siteB.high });
  for (const e of Object.values(pwl.splits.siteB.predicted)) assert.ok(e && e.low <= e.value && e.value <= e.high);
});

// ---------------------------------------------------------------- pure helpers

test('withoutLabels: the section, or undefined when absent or malformed', () => {
  assert.equal(withoutLabels(sample)?.shifts.length, 21);
  assert.equal(withoutLabels(without(sample)), undefined);
  assert.equal(withoutLabels(undefined), undefined);
  assert.equal(withoutLabels({ ...sample, performanceWithoutLabels: { metric: 'dice' } } as unknown as Results), undefined);
  const bare = withoutLabels({ ...sample, performanceWithoutLabels: { shifts: [] } } as unknown as Results)!;
  assert.deepEqual(bare.predictors, { features: null, maxProbability: null, entropy: null });
  assert.deepEqual(bare.splits, {});
});

test('indicativenessCells: one cell per tap (forward order) and label-free metric, ρ as in results.json', () => {
  const cells = indicativenessCells(sample, pwl);
  const taps = tapsInOrder(sample);
  assert.deepEqual(stripMetrics(pwl), ['roughness', 'knnConfidence', 'featureShift', 'knnDice']);
  assert.equal(cells.length, taps.length * 4);
  assert.deepEqual([...new Set(cells.map((c) => c.metric))], ['roughness', 'knnConfidence', 'featureShift', 'knnDice']);
  for (const c of cells) {
    assert.equal(c.tap.name, taps[c.col].name);
    assert.equal(c.rho, pwl.indicativeness[c.tap.name][c.metric as keyof typeof pwl.indicativeness[string]]);
  }
  assert.equal(cells.filter((c) => c.rho === null).length, 4, 'the NaN tap');
  assert.equal(cells.filter((c) => c.input).length, 0, 'the predictor reads every cell with a value: no marks');
  // a predictor that reads a few cells: those are marked
  const few = structuredClone(pwl);
  few.predictors.features!.inputs = [`${taps[6].name}:featureShift`, `${taps[8].name}:knnConfidence`];
  assert.deepEqual(indicativenessCells(sample, few).filter((c) => c.input).map((c) => [c.col, c.metric]), [[8, 'knnConfidence'], [6, 'featureShift']]);
  // knnDice is a row only where it has values (classification, regression: none)
  const noDice = structuredClone(pwl);
  for (const m of Object.values(noDice.indicativeness)) m.knnDice = null;
  assert.deepEqual(stripMetrics(noDice), ['roughness', 'knnConfidence', 'featureShift']);
  // a metric this panel does not know yet is a row too, under its key, when it has values
  const extra = structuredClone(pwl);
  (extra.indicativeness[taps[3].name] as unknown as Record<string, number>).featureShiftFg = -0.5;
  assert.deepEqual(stripMetrics(extra), ['roughness', 'knnConfidence', 'featureShift', 'knnDice', 'featureShiftFg']);
  assert.equal(indicativenessCells(sample, extra).find((c) => c.metric === 'featureShiftFg' && c.col === 3)?.rho, -0.5);
  assert.equal(indicativenessCells(sample, noDice).length, taps.length * 3);
  assert.deepEqual(parseInput('onnx::Conv_12:knnConfidence'), { tap: 'onnx::Conv_12', metric: 'knnConfidence' });
  assert.equal(parseInput('maxProbability'), null);
  assert.equal(inputsText(few.predictors.features!.inputs), 'bottleneck/relu1 · Feature shift, up2 · kNN confidence');
  assert.equal(inputsText(pwl.predictors.features!.inputs), '56 interior features: 14 taps × Roughness, kNN confidence, Feature shift, kNN Dice');
  assert.equal(inputsText(['maxProbability']), 'max-softmax', 'no code keys: the metric table names it');
});

test('the diverging scale: −1 → neg, 0 → the background, +1 → pos; ρ as text', () => {
  const neg: [number, number, number] = [200, 100, 0];
  const mid: [number, number, number] = [255, 255, 255];
  const pos: [number, number, number] = [0, 100, 255];
  assert.deepEqual(divergingColor(-1, neg, mid, pos), neg);
  assert.deepEqual(divergingColor(0, neg, mid, pos), mid);
  assert.deepEqual(divergingColor(1, neg, mid, pos), pos);
  assert.deepEqual(divergingColor(7, neg, mid, pos), pos, 'clamped');
  assert.deepEqual(divergingColor(0.5, neg, mid, pos), [128, 178, 255]);
  assert.equal(rhoPosition(-1), 0);
  assert.equal(rhoPosition(0), 0.5);
  assert.equal(rhoPosition(null), null);
  assert.equal(rhoText(-0.8234), '−0.82');
  assert.equal(rhoText(0.1), '0.10');
  assert.equal(rhoText(-0.001), '0.00', 'no minus on a zero');
  assert.equal(rhoText(null), '—');
});

test('shiftPoints: every copy with a LOFO prediction, (true, predicted) as in results.json', () => {
  const ours = shiftPoints(pwl, 'features');
  assert.equal(ours.length, pwl.shifts.filter((c) => c.lofo.features !== null).length);
  ours.forEach((q, i) => {
    const c = pwl.shifts.filter((x) => x.lofo.features !== null)[i];
    assert.deepEqual([q.x, q.y, q.label, q.family], [c.performance, c.lofo.features, c.label, c.family]);
  });
  const ent = shiftPoints(pwl, 'entropy');
  assert.equal(ent.length, pwl.shifts.filter((c) => c.lofo.entropy !== null).length);
  assert.ok(ent.length < pwl.shifts.length, 'the sample has a copy the entropy baseline could not predict');
  assert.deepEqual(shiftPoints(pwl, 'features', 'noise').map((q) => q.family), ['noise', 'noise', 'noise', 'noise']);
  assert.deepEqual(shiftFamilies(pwl), ['none', 'noise', 'blur', 'gamma', 'contrast', 'scale']);
  const all = ['features', 'maxProbability', 'entropy'].flatMap((n) => shiftPoints(pwl, n as 'features')).flatMap((q) => [q.x, q.y]);
  const [lo, hi] = scatterRange(all, 'dice');
  assert.ok(lo >= 0 && hi <= 1 && lo <= Math.min(...all) && hi >= Math.max(...all));
  assert.deepEqual(scatterRange([], 'dice'), [0, 1]);
  assert.deepEqual(scatterRange([0.95, 0.99], 'dice').map((x) => x <= 1), [true, true]);
});

test('estimates: each predictor per unlabelled split, and a sentence with the numbers', () => {
  assert.deepEqual(estimateSplits(sample, pwl), ['siteB']);
  const rows = estimateRows(pwl, 'siteB');
  assert.deepEqual(rows.map((r) => r.predictor), ['features', 'maxProbability', 'entropy']);
  assert.deepEqual(rows[0].estimate, pwl.splits.siteB.predicted.features);
  const text = estimateSentence('dice', rows);
  // two decimals: a label-free estimate's interval never deserves a third
  assert.match(text, /^Predicted Dice 0\.71 \[0\.62, 0\.79\] from the network features; the max-softmax baseline says /);
  const mp = pwl.splits.siteB.predicted.maxProbability!;
  assert.ok(text.includes(mp.high - mp.low > 0.3 ? `${mp.low.toFixed(2)}–${mp.high.toFixed(2)}` : `${mp.value.toFixed(2)} [${mp.low.toFixed(2)}, ${mp.high.toFixed(2)}]`), text);
  // one that cannot tell: only where it lies
  const wide = estimateSentence('dice', [{ predictor: 'features', estimate: { value: 0.879, low: 0.653, high: 1, grade: 'cannot tell' } }]);
  assert.equal(wide, 'Predicted Dice somewhere in 0.65–1.00 (cannot tell) from the network features.');
  assert.doesNotMatch(wide, /0\.879|0\.88/);
  const none = estimateSentence('dice', [{ predictor: 'features', estimate: null }, { predictor: 'maxProbability', estimate: null }, { predictor: 'entropy', estimate: null }]);
  assert.match(none, /no estimate of Dice/);
  assert.match(none, /max-softmax baseline has none/);
  assert.deepEqual(estimateRows(pwl, 'nope').map((r) => r.estimate), [null, null, null]);
});

test('absence: no labelled split, or the sweep was off', () => {
  const off = absence(without(sample));
  assert.equal(off.reason, 'off');
  assert.match(off.detail, /"shifts": false/);
  assert.match(off.detail, /unetLens\.predictPerformance/);
  assert.match(off.detail, /train, test/);
  const none = without(sample);
  none.splits = none.splits.map((s) => ({ ...s, labeled: false }));
  assert.equal(absence(none).reason, 'no-labels');
  assert.match(absence(none).title, /nothing to shift/);
});

test('CSV of the copies, of ρ per tap and of the estimates', () => {
  const copies = shiftsCsv(pwl).trim().split('\n');
  assert.equal(copies[0], 'family,strength,label,images,dice,maxProbability,entropy,lofo_features,lofo_maxProbability,lofo_entropy');
  assert.equal(copies.length, 1 + 21);
  const rho = indicativenessCsv(sample, pwl).trim().split('\n');
  assert.equal(rho.length, 1 + sample.taps.length);
  assert.match(rho[0], /,rho_roughness,rho_knnConfidence,rho_featureShift,rho_knnDice,predictorInputs$/);
  assert.match(rho.find((l) => l.startsWith(NAN_TAP))!, /,,,,,$/);
  const est = estimatesCsv(sample, pwl).trim().split('\n');
  assert.equal(est.length, 1 + 3);
  assert.equal(est[1], 'siteB,dice,features,0.712,0.624,0.793');
});

test('moveCell: arrows across taps and metrics, Home, End, clamped', () => {
  assert.deepEqual(moveCell(2, 1, 'ArrowRight', 15, 3), { col: 3, row: 1 });
  assert.deepEqual(moveCell(14, 1, 'ArrowRight', 15, 3), { col: 14, row: 1 });
  assert.deepEqual(moveCell(2, 0, 'ArrowUp', 15, 3), { col: 2, row: 0 });
  assert.deepEqual(moveCell(2, 1, 'ArrowDown', 15, 3), { col: 2, row: 2 });
  assert.deepEqual(moveCell(2, 2, 'Home', 15, 3), { col: 0, row: 2 });
  assert.deepEqual(moveCell(2, 2, 'End', 15, 3), { col: 14, row: 2 });
  assert.equal(moveCell(2, 2, 'x', 15, 3), null);
  assert.equal(moveCell(0, 0, 'End', 0, 3), null);
});
