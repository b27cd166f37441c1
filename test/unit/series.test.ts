/**
 * The checkpoint series (src/engine/series.ts, CONTRACT.md §4) and finding checkpoints on
 * disk (src/engine/checkpoints.ts): ordering by the number in the name or by mtime, the
 * union of taps, every split's performance per checkpoint, peaks, the gap, the comparison
 * of two results; globs and folders; the dataset file's `checkpoints` field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, basename } from 'node:path';
import { assembleSeries, checkpointNumber, checkSeries, compareResults, orderCheckpoints, argBest } from '../../src/engine/series';
import { globFiles, listCheckpoints, segmentRegex } from '../../src/engine/checkpoints';
import { validateDatasetJson } from '../../src/engine/data/datasetFile';
import { results, split, tap, tapMetrics, uTaps } from '../builders';
import type { Results } from '../../src/engine/types';

const sha = (i: number) => i.toString(16).padStart(64, '0');

/** Results of checkpoint `file` with the given true Dice of train and test, and siteB's predicted Dice. */
function ckpt(file: string, train: number, testDice: number, predicted: number, o: { taps?: Results['taps']; db?: number } = {}): Results {
  const r = results({
    taps: o.taps,
    splits: [split('train', { performance: { dice: train } }), split('test', { performance: { dice: testDice } }), split('siteB', { labeled: false, predictedPerformance: { dice: predicted, low: predicted - 0.1, high: predicted + 0.1 } })],
    value: (s, _t, i) => tapMetrics({ db: s.labeled ? (o.db ?? 1) + i : null }),
  });
  r.model = { ...r.model, path: `/runs/${file}`, sha256: sha(checkpointNumber(file) ?? 99) };
  return r;
}

test('checkpointNumber reads the epoch or step from the name, else the last number, else null', () => {
  assert.equal(checkpointNumber('/r/epoch_12.onnx'), 12);
  assert.equal(checkpointNumber('ckpt-step3000.h5'), 3000);
  assert.equal(checkpointNumber('unet2d_ep7.keras'), 7);
  assert.equal(checkpointNumber('run3_e005.onnx'), 5);
  assert.equal(checkpointNumber('model-0042.onnx'), 42);
  assert.equal(checkpointNumber('best.onnx'), null);
});

test('orderCheckpoints: by number when every name has one (epoch_10 after epoch_9), else by modification time', () => {
  const a = orderCheckpoints([{ path: 'epoch_10.onnx', mtimeMs: 1 }, { path: 'epoch_9.onnx', mtimeMs: 2 }, { path: 'epoch_1.onnx', mtimeMs: 3 }]);
  assert.equal(a.order, 'number');
  assert.deepEqual(a.items.map((i) => i.path), ['epoch_1.onnx', 'epoch_9.onnx', 'epoch_10.onnx']);
  const b = orderCheckpoints([{ path: 'last.onnx', mtimeMs: 30 }, { path: 'epoch_9.onnx', mtimeMs: 20 }, { path: 'first.onnx', mtimeMs: 10 }]);
  assert.equal(b.order, 'mtime');
  assert.deepEqual(b.items.map((i) => i.path), ['first.onnx', 'epoch_9.onnx', 'last.onnx']);
});

test('assembleSeries: checkpoints in epoch order whatever the input order, performance per split, peaks, gap, best', () => {
  const dice = [
    ['epoch_1.onnx', 0.6, 0.55, 0.5],
    ['epoch_2.onnx', 0.8, 0.75, 0.7],
    ['epoch_3.onnx', 0.9, 0.8, 0.72],
    ['epoch_4.onnx', 0.95, 0.7, 0.6],
    ['epoch_5.onnx', 0.99, 0.6, 0.5],
  ] as const;
  const inputs = dice.map(([f, a, b, c]) => ({ path: `/runs/${f}`, mtimeMs: 0, results: ckpt(f, a, b, c) })).reverse();
  const s = assembleSeries(inputs, 'now');
  checkSeries(JSON.parse(JSON.stringify(s)));
  assert.equal(s.schema, 'unet-lens/series@1');
  assert.deepEqual(s.checkpoints.map((c) => c.name), dice.map((d) => d[0]));
  assert.equal(s.metric, 'dice');
  const byName = (n: string) => s.splits.find((x) => x.name === n)!;
  assert.deepEqual(byName('test').performance, dice.map((d) => d[2]));
  assert.deepEqual(byName('siteB').predicted.map((e) => e?.value), dice.map((d) => d[3]));
  assert.deepEqual(byName('test').peak, { checkpoint: 2, value: 0.8, by: 'true' });
  assert.deepEqual(byName('siteB').peak, { checkpoint: 2, value: 0.72, by: 'predicted' });
  assert.equal(byName('train').peak, null);
  assert.deepEqual(s.gap!.values, [0.05, 0.05, 0.1, 0.25, 0.39]);
  assert.equal(s.gap!.widest!.checkpoint, 4);
  assert.deepEqual(s.best, { checkpoint: 2, value: 0.8, by: 'true', split: 'test' });
  // taps × checkpoints
  assert.equal(s.metrics.test.db.length, 5);
  assert.deepEqual(s.metrics.test.db[3], [4, 4, 4, 4, 4]);
  assert.deepEqual(s.metrics.siteB.db[0], [null, null, null, null, null]);
  assert.deepEqual(s.warnings, []);
});

test('assembleSeries: taps are the union in forward order (a tap only some graphs have is marked), a repeated model shown once, different settings warned', () => {
  const t = uTaps();
  const extra = tap('/extra/Relu_output_0', 2, { stage: 'bottleneck' });
  const a = ckpt('epoch_1.onnx', 0.5, 0.5, 0.5, { taps: t });
  const b = ckpt('epoch_2.onnx', 0.6, 0.6, 0.6, { taps: [...t.slice(0, 2), extra, ...t.slice(2)] });
  b.settings = { ...b.settings, seed: 3 };
  const s = assembleSeries([
    { path: a.model.path, results: a },
    { path: b.model.path, results: b },
    { path: '/runs/copy_of_epoch_1.onnx', results: a },
  ]);
  assert.deepEqual(s.taps.map((x) => x.name), [t[0].name, t[1].name, extra.name, t[2].name, t[3].name, t[4].name]);
  assert.deepEqual(s.taps[2].present, [false, true]);
  assert.deepEqual(s.taps[0].present, [true, true]);
  assert.equal(s.metrics.test.roughness[2][0], null);
  assert.equal(s.checkpoints.length, 2);
  assert.ok(s.warnings.some((w) => /same model/.test(w)));
  assert.ok(s.warnings.some((w) => /seed 3 differs/.test(w)));
});

test('argBest: the earliest on a tie, nulls skipped, lower-better', () => {
  assert.deepEqual(argBest([null, 0.5, 0.7, 0.7]), { index: 2, value: 0.7 });
  assert.deepEqual(argBest([3, 1, 1], true), { index: 1, value: 1 });
  assert.equal(argBest([null, null]), null);
});

test('checkSeries rejects documents of the wrong shape with a reason', () => {
  assert.throws(() => checkSeries({ schema: 'x' }), /not a unet-lens\/series@1/);
  const s = assembleSeries([{ path: '/runs/epoch_1.onnx', results: ckpt('epoch_1.onnx', 0.5, 0.5, 0.5) }]);
  s.splits[0].performance.push(1);
  assert.throws(() => checkSeries(s), /split train has the wrong number/);
});

test('compareResults: taps matched by name, b − a per tap and split, the predicted Dice difference, and says when the graphs differ', () => {
  const a = ckpt('epoch_1.onnx', 0.6, 0.5, 0.4, { db: 1 });
  const b = ckpt('epoch_2.onnx', 0.9, 0.7, 0.65, { db: 3, taps: [...uTaps().slice(0, 4), tap('/other/Relu_output_0', 4, { stage: 'decoder' })] });
  const c = compareResults(a, b);
  assert.equal(c.schema, 'unet-lens/comparison@1');
  assert.equal(c.sameGraph, false);
  assert.deepEqual(c.taps.map((t) => [t.inA, t.inB]), [[true, true], [true, true], [true, true], [true, true], [true, false], [false, true]]);
  assert.deepEqual(c.metrics.test.db.a.slice(0, 5), [1, 2, 3, 4, 5]);
  assert.deepEqual(c.metrics.test.db.b, [3, 4, 5, 6, null, 7]);
  assert.deepEqual(c.metrics.test.db.diff, [2, 2, 2, 2, null, null]);
  const siteB = c.splits.find((s) => s.name === 'siteB')!;
  // without performanceWithoutLabels, the split's predictedPerformance (as the series reads it)
  assert.equal(siteB.predictedA!.value, 0.4);
  assert.equal(siteB.predictedB!.value, 0.65);
  assert.equal(siteB.predictedDiff, 0.25);
  const testSplit = c.splits.find((s) => s.name === 'test')!;
  assert.deepEqual([testSplit.a, testSplit.b, testSplit.diff], [0.5, 0.7, 0.2]);
  assert.ok(c.warnings.some((w) => /graphs differ: 1 tap\(s\) only in A, 1 only in B/.test(w)));
  assert.equal(compareResults(a, a).sameGraph, true);
});

test('globFiles and listCheckpoints: *, ?, **, a folder; non-model and temporary files left out', () => {
  const d = mkdtempSync(join(tmpdir(), 'unetlens-glob-'));
  mkdirSync(join(d, 'runs', 'exp1', 'sub'), { recursive: true });
  for (const f of ['epoch_1.onnx', 'epoch_2.onnx', 'epoch_10.onnx', 'notes.txt', 'epoch_3.onnx.tmp', '.epoch_4.onnx'])
    writeFileSync(join(d, 'runs', 'exp1', f), 'x');
  writeFileSync(join(d, 'runs', 'exp1', 'sub', 'epoch_5.onnx'), 'x');
  assert.deepEqual(globFiles(join(d, 'runs/exp1/epoch_?.onnx')).map((f) => basename(f)).sort(), ['epoch_1.onnx', 'epoch_2.onnx']);
  assert.deepEqual(globFiles(join(d, 'runs/**/*.onnx')).map((f) => basename(f)).sort(), ['epoch_1.onnx', 'epoch_10.onnx', 'epoch_2.onnx', 'epoch_5.onnx']);
  const byGlob = listCheckpoints(join(d, 'runs/exp1/epoch_*.onnx'));
  assert.deepEqual(byGlob.items.map((i) => basename(i.path)), ['epoch_1.onnx', 'epoch_2.onnx', 'epoch_10.onnx']);
  const byFolder = listCheckpoints(join(d, 'runs/exp1'));
  assert.deepEqual(byFolder.items.map((i) => basename(i.path)), ['epoch_1.onnx', 'epoch_2.onnx', 'epoch_10.onnx']);
  // Names without numbers: modification time.
  const m = join(d, 'mtime');
  mkdirSync(m);
  ['b.onnx', 'a.onnx', 'c.onnx'].forEach((f, i) => {
    writeFileSync(join(m, f), 'x');
    utimesSync(join(m, f), 1000 + i, 1000 + i);
  });
  const byTime = listCheckpoints(m);
  assert.equal(byTime.order, 'mtime');
  assert.deepEqual(byTime.items.map((i) => basename(i.path)), ['b.onnx', 'a.onnx', 'c.onnx']);
  assert.ok(segmentRegex('[ab]*.onnx').test('a1.onnx'));
});

test('the dataset file takes "checkpoints" (a glob or folder, resolved against the file) and rejects a non-string', () => {
  const base = { task: 'segmentation', classes: ['bg', 'fg'], splits: { train: { images: 'i', labels: 'l' } } };
  const cfg = validateDatasetJson({ ...base, checkpoints: 'runs/exp1/epoch_*.onnx' }, '/w/unetlens.json');
  assert.equal(cfg.checkpoints, '/w/runs/exp1/epoch_*.onnx');
  assert.equal(validateDatasetJson(base, '/w/unetlens.json').checkpoints, undefined);
  assert.throws(() => validateDatasetJson({ ...base, checkpoints: 3 }, '/w/unetlens.json'), /"checkpoints" must be/);
});

test('waitStable: a checkpoint written in parts is read only after its size has been quiet; an empty or missing file is waited for; cancel stops it', async () => {
  const { waitStable } = await import('../../src/engine/checkpoints');
  const d = mkdtempSync(join(tmpdir(), 'unetlens-stable-'));
  const f = join(d, 'epoch_9.onnx');
  const t0 = Date.now();
  const writer = (async () => {
    await new Promise((r) => setTimeout(r, 150));
    writeFileSync(f, ''); // created empty
    await new Promise((r) => setTimeout(r, 150));
    writeFileSync(f, 'a'.repeat(100));
    await new Promise((r) => setTimeout(r, 150));
    writeFileSync(f, 'a'.repeat(200));
    return Date.now();
  })();
  await waitStable(f, new AbortController().signal, 200, 40);
  const lastWrite = await writer;
  assert.ok(Date.now() - lastWrite >= 190, `returned ${Date.now() - lastWrite} ms after the last write`);
  assert.ok(Date.now() - t0 >= 600);
  const ac = new AbortController();
  const p = waitStable(join(d, 'never.onnx'), ac.signal, 200, 20);
  setTimeout(() => ac.abort(), 60);
  await assert.rejects(p, /cancelled/);
});

test('the timeline messages: declared once, validated on arrival (series, comparison, status; ready, openCheckpoint, exports)', async () => {
  const { parseHostToTimeline, parseTimelineToHost, hostToTimeline, timelineToHost } = await import('../../src/protocol/messages');
  assert.deepEqual(hostToTimeline.types, ['series', 'comparison', 'timelineStatus', 'remember']);
  assert.deepEqual(timelineToHost.types, ['ready', 'openCheckpoint', 'exportPng', 'exportCsv']);
  const s = assembleSeries([{ path: '/runs/epoch_1.onnx', results: ckpt('epoch_1.onnx', 0.5, 0.5, 0.5) }]);
  assert.ok(parseHostToTimeline({ type: 'series', series: s, status: 'Watching' }).ok);
  assert.ok(parseHostToTimeline({ type: 'comparison', comparison: compareResults(ckpt('epoch_1.onnx', 1, 1, 1), ckpt('epoch_2.onnx', 1, 1, 1)) }).ok);
  assert.ok(parseHostToTimeline({ type: 'timelineStatus', message: 'x' }).ok);
  assert.match((parseHostToTimeline({ type: 'series', series: { schema: 'unet-lens/results@1' } }) as { reason: string }).reason, /malformed "series".*series@1/);
  assert.ok(parseTimelineToHost({ type: 'openCheckpoint', checkpoint: 2, tap: '/t0' }).ok);
  assert.match((parseTimelineToHost({ type: 'openCheckpoint', checkpoint: '2' }) as { reason: string }).reason, /malformed "openCheckpoint".*finite number/);
  assert.match((parseTimelineToHost({ type: 'selectTap', tap: 'x' }) as { reason: string }).reason, /unknown message type/);
  assert.equal(parseTimelineToHost(null).ok, false);
});

test('readResultsDir: a torn results file is a warning and left out, a folder whose run has not finished (only a temporary file) is skipped', async () => {
  const { readResultsDir, seriesFromResultsDir } = await import('../../src/engine/checkpoints');
  const d = mkdtempSync(join(tmpdir(), 'unetlens-rd-'));
  const good = ckpt('epoch_1.onnx', 0.5, 0.5, 0.5);
  mkdirSync(join(d, good.model.sha256));
  writeFileSync(join(d, good.model.sha256, 'results.json'), JSON.stringify(good));
  mkdirSync(join(d, 'b'.repeat(64)));
  writeFileSync(join(d, 'b'.repeat(64), 'results.json'), JSON.stringify(good).slice(0, 100));
  mkdirSync(join(d, 'c'.repeat(64)));
  writeFileSync(join(d, 'c'.repeat(64), 'results.json.host.1.x.tmp'), '{');
  const { inputs, warnings } = await readResultsDir(d);
  assert.equal(inputs.length, 1);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /bbbb.*not valid JSON.*skipped/);
  const s = await seriesFromResultsDir(d);
  assert.equal(s.checkpoints.length, 1);
  assert.equal(s.checkpoints[0].resultsPath, join(d, good.model.sha256, 'results.json'));
  await assert.rejects(seriesFromResultsDir(mkdtempSync(join(tmpdir(), 'unetlens-rd-empty-'))), /no results in/);
});
