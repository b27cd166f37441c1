/**
 * Pure helpers of the panel's new views: the U's layout (webview/unetLayout.ts), the colour
 * scales (webview/scale.ts), the confidence maps (webview/maps.ts) and the sample results'
 * maps (scripts/make_sample_results.mjs → test/fixtures/results-sample.json).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Results, TapInfo } from '../../src/engine/types';
import { layoutUnet, moveFocus } from '../../webview/unetLayout';
import {
  badness,
  canLog,
  contrast,
  decadesSpanned,
  domainOf,
  interpolate,
  legendTicks,
  metricsPresent,
  metricValues,
  position,
  readableOn,
  valueAt,
} from '../../webview/scale';
import { contourMask, contourSegments, gridOf, integerZoom, labelMap, mapItems, mapOrder, mapSplits, nearestIndex, upsampleNearest } from '../../webview/maps';
import { primaryMetric, tapsInOrder } from '../../webview/format';

const root = path.resolve(__dirname, '../..');
const sample: Results = JSON.parse(readFileSync(path.join(root, 'test/fixtures/results-sample.json'), 'utf8'));

const tap = (name: string, stage: TapInfo['stage'], level: number, index: number): TapInfo => ({
  name,
  op: 'Relu',
  index,
  stage,
  level,
  shape: [8, 64 >> level, 64 >> level],
  receptiveField: { size: 3, jump: 1 },
});

test('layoutUnet on the sample: one block per tap, rows by level, the U shape, skips per level', () => {
  const taps = tapsInOrder(sample);
  const L = layoutUnet(taps);
  assert.equal(L.blocks.length, 15);
  assert.equal(L.cols, 15);
  assert.equal(L.rows, 3);
  assert.deepEqual(L.blocks.map((b) => b.row), [0, 0, 1, 1, 1, 2, 2, 2, 1, 1, 1, 0, 0, 0, 0]);
  // encoder down the left, bottleneck at the bottom, decoder up the right
  const colsOf = (stage: string) => L.blocks.filter((b) => b.stage === stage).map((b) => b.col);
  assert.ok(Math.max(...colsOf('encoder')) < Math.min(...colsOf('bottleneck')));
  assert.ok(Math.max(...colsOf('bottleneck')) < Math.min(...colsOf('decoder')));
  assert.ok(L.blocks.filter((b) => b.stage === 'bottleneck').every((b) => b.row === L.rows - 1));
  // skips: enc2/relu2 → up2 (level 1), enc1/relu2 → up1 (level 0)
  assert.deepEqual(L.skips, [
    { level: 0, from: 1, to: 11 },
    { level: 1, from: 4, to: 8 },
  ]);
  assert.equal(L.flows.length, 14);
  assert.deepEqual(L.stages.map((s) => [s.stage, s.from, s.to]), [['encoder', 0, 5], ['bottleneck', 6, 7], ['decoder', 8, 14]]);
});

test('layoutUnet: odd networks keep every tap (no decoder; bad levels; empty)', () => {
  const enc = layoutUnet([tap('a', 'encoder', 0, 0), tap('b', 'encoder', 1, 1), tap('c', 'encoder', 2, 2)]);
  assert.equal(enc.blocks.length, 3);
  assert.deepEqual(enc.skips, []);
  const odd = layoutUnet([tap('a', 'encoder', -1, 0), { ...tap('b', 'decoder', 0, 1), level: 1.5 }]);
  assert.deepEqual(odd.blocks.map((b) => b.row), [0, 0]);
  assert.deepEqual(odd.skips, [], 'adjacent encoder and decoder: nothing to skip over');
  const none = layoutUnet([]);
  assert.equal(none.rows, 0);
  assert.deepEqual(none.blocks, []);
});

test('moveFocus: arrows, Home, End, clamped', () => {
  assert.equal(moveFocus(3, 'ArrowRight', 5), 4);
  assert.equal(moveFocus(4, 'ArrowRight', 5), 4);
  assert.equal(moveFocus(0, 'ArrowLeft', 5), 0);
  assert.equal(moveFocus(2, 'ArrowUp', 5), 1);
  assert.equal(moveFocus(2, 'Home', 5), 0);
  assert.equal(moveFocus(2, 'End', 5), 4);
  assert.equal(moveFocus(2, 'a', 5), null);
  assert.equal(moveFocus(0, 'End', 0), null);
});

test('scale: domains (linear, log), positions, values, ticks', () => {
  const d = domainOf([2, null, 4, 6], false)!;
  assert.deepEqual(d, { min: 2, max: 6, log: false });
  assert.equal(position(4, d), 0.5);
  assert.equal(position(10, d), 1, 'clamped');
  assert.equal(position(null, d), null);
  assert.equal(valueAt(0.25, d), 3);
  const lg = domainOf([0.5, 5, 50], true)!;
  assert.equal(lg.log, true);
  assert.ok(Math.abs(position(5, lg)! - 0.5) < 1e-12);
  assert.ok(Math.abs(valueAt(0.5, lg) - 5) < 1e-9);
  assert.deepEqual(legendTicks(d, 3), [2, 4, 6]);
  assert.equal(domainOf([0, 5], true)!.log, false, 'a zero forbids log');
  assert.equal(domainOf([], false), null);
  const one = domainOf([3], false)!;
  assert.ok(one.min < 3 && one.max > 3);
  assert.equal(position(3, one), 0.5);
  assert.equal(canLog([1, 2, null]), true);
  assert.equal(canLog([0, 2]), false);
  assert.equal(canLog([null]), false);
  assert.ok(Math.abs(decadesSpanned([0.5, 50]) - 2) < 1e-12);
  assert.equal(decadesSpanned([3]), 0);
});

test('scale: colours between stops, better/worse, readable text', () => {
  const stops: [number, number, number][] = [[0, 0, 255], [255, 255, 0], [255, 0, 0]];
  assert.deepEqual(interpolate(stops, 0), [0, 0, 255]);
  assert.deepEqual(interpolate(stops, 0.5), [255, 255, 0]);
  assert.deepEqual(interpolate(stops, 1), [255, 0, 0]);
  assert.deepEqual(interpolate(stops, 0.25), [128, 128, 128]);
  assert.deepEqual(interpolate(stops, 7), [255, 0, 0], 'clamped');
  assert.equal(badness(0.2, false), 0.2);
  assert.equal(badness(0.2, true), 0.8);
  const white: [number, number, number] = [255, 255, 255];
  const black: [number, number, number] = [0, 0, 0];
  assert.ok(Math.abs(contrast(white, black) - 21) < 1e-9);
  assert.deepEqual(readableOn([250, 240, 60], white, black), black);
  assert.deepEqual(readableOn([20, 40, 120], white, black), white);
});

test('scale on the sample: values per metric and split come straight from results.json', () => {
  assert.deepEqual(metricsPresent(sample), ['db', 'roughness', 'knnConfidence', 'knnConfidenceFg', 'featureShift']);
  const db = metricValues(sample, 'db');
  assert.equal(db.length, 15 + 14, 'train all taps, test all but the NaN tap, siteB none');
  assert.deepEqual(metricValues(sample, 'db', 'siteB'), []);
  assert.equal(metricValues(sample, 'roughness', 'train')[3], sample.metrics.train[tapsInOrder(sample)[3].name].roughness);
});

test('maps: grids, nearest upsampling, contours', () => {
  assert.deepEqual(gridOf([4, 6], 24), { h: 4, w: 6 });
  assert.deepEqual(gridOf([1, 4, 6], 24), { h: 4, w: 6 });
  assert.equal(gridOf([4, 6], 23), null);
  assert.equal(gridOf([4], 4), null);
  const src = { h: 2, w: 2 };
  const dst = { h: 4, w: 4 };
  assert.deepEqual([...upsampleNearest([1, 2, 3, 4], src, dst)], [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  assert.equal(nearestIndex(3, 0, dst, src), 2);
  assert.equal(nearestIndex(0, 3, dst, src), 1);
  // a 64² confidence grid (analysis.mapGrid) over a 128² preview: preview pixels 2i and 2i+1 show cell i
  const coarse = Array.from({ length: 64 * 64 }, (_, i) => i);
  const fine = upsampleNearest(coarse, { h: 64, w: 64 }, { h: 128, w: 128 });
  for (const [y, x] of [[0, 0], [0, 1], [1, 1], [5, 100], [127, 126], [127, 127]]) assert.equal(fine[y * 128 + x], (y >> 1) * 64 + (x >> 1));
  assert.equal(nearestIndex(11, 15, { h: 128, w: 128 }, { h: 64, w: 64 }), 5 * 64 + 7);
  // 3×3 odd ratio: every destination pixel maps inside the source
  const up = upsampleNearest([0, 1, 2, 3, 4, 5, 6, 7, 8], { h: 3, w: 3 }, { h: 4, w: 4 });
  assert.equal(up.length, 16);
  assert.equal(up[0], 0);
  assert.equal(up[15], 8);
  const m = [
    0, 0, 0, 0,
    0, 1, 1, 0,
    0, 1, 1, 0,
    0, 0, 0, 0,
  ];
  const g = { h: 4, w: 4 };
  assert.deepEqual([...contourMask(m, g)], [
    0, 1, 1, 0,
    1, 1, 1, 1,
    1, 1, 1, 1,
    0, 1, 1, 0,
  ]);
  assert.deepEqual([...contourMask([1, 1, 1, 1], { h: 2, w: 2 })], [0, 0, 0, 0]);
  const segs = contourSegments(m, g);
  assert.equal(segs.length, 8, 'the 2×2 square has 8 unit edges');
  assert.ok(segs.some((s) => s.join() === '1,1,1,2'), 'left edge of the square');
  assert.equal(integerZoom({ h: 64, w: 64 }, 512), 8);
  assert.equal(integerZoom({ h: 600, w: 64 }, 512), 1);
  assert.equal(labelMap([1, 2], { h: 1, w: 2 })?.length, 2);
  assert.equal(labelMap(null, { h: 1, w: 2 }), null);
  assert.equal(labelMap([1], { h: 1, w: 2 }), null);
});

test('maps: the order shown, worst predicted first, and whether the maps are of the worst images themselves', () => {
  // the engine mapped the split's worst predicted images: shown as they are, said to be the worst
  assert.deepEqual(mapOrder(['c7', 'c2', 'c9'], ['c7', 'c2', 'c9', 'c4']), { images: ['c7', 'c2', 'c9'], ranked: true, worst: true });
  // results that map the first images: those ranked come first, the others after in file order, not "the worst"
  assert.deepEqual(mapOrder(['c0', 'c1', 'c2'], ['c7', 'c2', 'c0']), { images: ['c2', 'c0', 'c1'], ranked: true, worst: false });
  assert.deepEqual(mapOrder(['c0', 'c1'], ['c1', 'c0']), { images: ['c1', 'c0'], ranked: true, worst: false });
  // no estimates: file order
  assert.deepEqual(mapOrder(['c0', 'c1'], []), { images: ['c0', 'c1'], ranked: false, worst: false });
  assert.deepEqual(mapOrder([], ['c0']), { images: [], ranked: false, worst: false });
});

test('the sample has plausible maps: every split, previews 0..255, label only where labeled, grids per tap shape', () => {
  const items = mapItems(sample);
  assert.ok(items.length >= 3);
  assert.deepEqual(mapSplits(sample, items), ['train', 'test', 'siteB']);
  const taps = new Map(sample.taps.map((t) => [t.name, t]));
  for (const it of items) {
    const g = gridOf(it.preview.dims, it.preview.values.length)!;
    assert.ok(g && g.h <= 128 && g.w <= 128);
    assert.ok(it.preview.values.every((v) => Number.isInteger(v) && v >= 0 && v <= 255));
    const labeled = sample.splits.find((s) => s.name === it.split)!.labeled;
    assert.equal(it.label === null, !labeled, `${it.split}/${it.image}: label iff labeled`);
    assert.equal(it.prediction?.length, g.h * g.w);
    for (const [name, c] of Object.entries(it.confidence)) {
      const t = taps.get(name)!;
      assert.ok(t, name);
      assert.deepEqual(c.dims, t.shape.slice(1));
      assert.ok(c.values.every((v) => v >= 0 && v <= 1));
    }
  }
  assert.equal(mapItems({ ...sample, maps: { items: [] } }).length, 0);
  assert.equal(mapItems({ ...sample, maps: undefined } as unknown as Results).length, 0);
  assert.equal(mapItems({ ...sample, maps: { items: [{ split: 'x' }] } } as unknown as Results).length, 0, 'malformed items are skipped');
});

test('primaryMetric: dice for segmentation, accuracy, psnr for regression', () => {
  assert.equal(primaryMetric(sample), 'dice');
  const r = (perf: Record<string, number>) => ({ ...sample, splits: [{ name: 'train', labeled: true, images: 1, performance: perf }] }) as Results;
  assert.equal(primaryMetric(r({ accuracy: 0.9 })), 'accuracy');
  assert.equal(primaryMetric(r({ mse: 0.1, psnr: 30, ssim: 0.9 })), 'psnr');
  assert.equal(primaryMetric({ ...sample, splits: [] }), undefined);
});

test('Store: the view choices and source go into the webview state, never the results; old states still restore', async () => {
  const { Store } = await import('../../webview/state');
  let saved: unknown;
  const host = { mode: 'vscode' as const, post() {}, getState: () => saved, setState: (s: unknown) => (saved = s), exportPng() {}, exportCsv() {} };
  const a = new Store(host);
  a.setResults(sample, '/cache/abc/results.json');
  a.view = 'maps';
  a.tap = sample.taps[4].name;
  a.log.add('roughness');
  a.unetMetric = 'featureShift';
  a.unetSplit = 'siteB';
  a.mapSplit = 'test';
  a.mapOpacity = 0.3;
  a.persistNow();
  const state = saved as Record<string, unknown>;
  assert.equal(state.source, '/cache/abc/results.json');
  assert.equal('results' in state, false, 'the results are not in the state');
  assert.ok(JSON.stringify(state).length < 1000);
  const b = new Store(host);
  assert.equal(b.restore(), true);
  assert.equal(b.results, undefined);
  assert.equal(b.source, '/cache/abc/results.json');
  assert.equal(b.view, 'maps');
  assert.equal(b.tap, sample.taps[4].name);
  assert.deepEqual([...b.log], ['roughness']);
  assert.equal(b.unetMetric, 'featureShift');
  assert.equal(b.unetSplit, 'siteB');
  assert.equal(b.mapSplit, 'test');
  assert.equal(b.mapOpacity, 0.3);
  // a state from the first version of the panel (v1, results inside) keeps its view and tap
  saved = { v: 1, results: sample, source: '/x/results.json', view: 'tap', tap: 't', pc3: true };
  const c = new Store(host);
  assert.equal(c.restore(), true);
  assert.equal(c.view, 'tap');
  assert.equal(c.pc3, true);
  assert.equal(c.results, undefined);
  saved = { v: 2, view: 'nonsense', log: ['db', 'bogus'], mapOpacity: 7 };
  const d = new Store(host);
  d.restore();
  assert.equal(d.view, 'overview');
  assert.deepEqual([...d.log], ['db']);
  assert.equal(d.mapOpacity, 0.3);
});
