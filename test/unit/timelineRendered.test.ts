/**
 * The Timeline panel drawn in Node (test/dom.ts) from series and comparisons assembled by
 * src/engine/series.ts out of small Results (test/builders.ts): the heat map has a cell per
 * tap and checkpoint carrying the series' number, the best column is marked, the table
 * carries every split's numbers, a click asks the host to open that checkpoint at that tap;
 * the comparison shows the two results' numbers and their difference, and says when the
 * graphs differ.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { installDom, type FakeElement } from '../dom';
import { results, split, tap, tapMetrics, testTheme, uTaps } from '../builders';
import { assembleSeries, compareResults } from '../../src/engine/series';
import type { Results } from '../../src/engine/types';
import type { TimelineToHost } from '../../src/protocol/messages';

let dom: ReturnType<typeof installDom>;
let render: typeof import('../../webview/timelineRender');
before(async () => {
  dom = installDom(900);
  render = await import('../../webview/timelineRender');
});
after(() => dom.uninstall());

function ckpt(epoch: number, train: number, testDice: number, predicted: number, taps = uTaps()): Results {
  const r = results({
    taps,
    splits: [split('train', { performance: { dice: train } }), split('test', { performance: { dice: testDice } }), split('siteB', { labeled: false, predictedPerformance: { dice: predicted, low: predicted - 0.1, high: predicted + 0.1 } })],
    value: (s, _t, i) => tapMetrics({ db: s.labeled ? i + epoch : null, featureShift: 1 + i / 10 + epoch / 100 }),
  });
  r.model = { ...r.model, path: `/runs/epoch_${epoch}.onnx`, sha256: epoch.toString(16).padStart(64, '0') };
  return r;
}

function harness(): { root: FakeElement; posted: TimelineToHost[]; ctx: import('../../webview/timelineRender').TimelineCtx } {
  const root = dom.body.appendChild(document.createElement('div') as unknown as FakeElement);
  const posted: TimelineToHost[] = [];
  return { root, posted, ctx: { root: root as unknown as HTMLElement, theme: testTheme(), post: (m) => posted.push(m), ui: { metric: 'featureShift', split: 'test' }, saveUi: () => undefined } };
}

test('the series: a cell per tap and checkpoint with the series value, the best column, the table, a click opens the checkpoint at the tap', () => {
  const inputs = [ckpt(1, 0.6, 0.55, 0.5), ckpt(2, 0.8, 0.8, 0.7), ckpt(3, 0.95, 0.6, 0.55)].map((r) => ({ path: r.model.path, results: r }));
  const series = assembleSeries(inputs);
  const { root, posted, ctx } = harness();
  render.drawSeries(ctx, series);
  assert.equal(document.body.dataset.state, 'series');
  assert.equal(document.body.dataset.checkpoints, '3');
  assert.equal(document.body.dataset.best, '1');
  const cells = root.querySelectorAll('rect.cell');
  assert.equal(cells.length, 5 * 3);
  for (const c of cells) {
    const t = series.taps.findIndex((x) => x.name === c.getAttribute('data-tap'));
    const j = Number(c.getAttribute('data-checkpoint'));
    assert.equal(Number(c.getAttribute('data-value')), series.metrics.test.featureShift[t][j]);
  }
  assert.equal(root.querySelectorAll('rect.best-col').length, 1);
  const rows = root.querySelectorAll('table.perf-table tbody tr');
  assert.equal(rows.length, 3);
  assert.ok(rows[1].getAttribute('class')?.includes('best'));
  assert.match(rows[2].textContent ?? '', /epoch_3\.onnx.*0\.95.*0\.6.*0\.55/);
  const cell = cells.find((c) => c.getAttribute('data-checkpoint') === '2')!;
  cell.click();
  assert.deepEqual(posted.at(-1), { type: 'openCheckpoint', checkpoint: 2, tap: cell.getAttribute('data-tap') });
});

test('the comparison shows the two results’ numbers and B − A, and says the graphs differ', () => {
  const a = ckpt(1, 0.6, 0.5, 0.4);
  const b = ckpt(2, 0.9, 0.7, 0.65, [...uTaps().slice(0, 4), tap('/other/Relu_output_0', 4, { stage: 'decoder' })]);
  const c = compareResults(a, b);
  const { root, ctx } = harness();
  render.drawComparison(ctx, c);
  assert.equal(document.body.dataset.state, 'comparison');
  assert.equal(document.body.dataset.samegraph, 'false');
  assert.match(root.querySelector('#compare-graphs')!.textContent ?? '', /graphs differ/);
  const testRow = root.querySelector('table.compare-splits tr[data-split="test"]')!;
  const tds = testRow.querySelectorAll('td').map((td) => td.textContent);
  assert.deepEqual(tds.slice(0, 4), ['test', '0.5', '0.7', '+0.2']);
  // estimates by the one rule: two decimals with the interval; the raw numbers stay in data-value
  const siteB = root.querySelector('table.compare-splits tr[data-split="siteB"]')!.querySelectorAll('td');
  assert.deepEqual(siteB.slice(4).map((td) => td.textContent), ['0.40 [0.30, 0.50]', '0.65 [0.55, 0.75]', '+0.25']);
  assert.equal(Number(siteB[6].getAttribute('data-value')), c.splits.find((x) => x.name === 'siteB')!.predictedDiff);
  const chart = root.querySelector('svg.compare-chart[data-metric="db"]')!;
  const aPts = chart.querySelectorAll('circle.pt-a').map((p) => Number(p.getAttribute('data-value')));
  assert.deepEqual(aPts, a.taps.map((t) => a.metrics.test[t.name].db));
  const bPts = chart.querySelectorAll('circle.pt-b').map((p) => Number(p.getAttribute('data-value')));
  assert.deepEqual(bPts, b.taps.map((t) => b.metrics.test[t.name].db));
  const blocks = chart.querySelectorAll('rect.u-block');
  assert.equal(blocks.length, 6);
  // read without hovering: each tap named under the U strip, the value axis' low, middle and high
  assert.deepEqual(chart.querySelectorAll('text.x-label').map((t) => t.querySelector('title')!.textContent), c.taps.map((t) => t.name));
  assert.equal(chart.querySelectorAll('text.y-label').length, 3);
  assert.equal(blocks[0].getAttribute('data-diff'), '1');
  assert.equal(blocks[4].getAttribute('data-diff'), '');
});

test('the comparison shows measured numbers with three significant digits and an estimate that cannot tell as its range, with no difference', () => {
  const a = ckpt(1, 0.49812841923409157, 0.8840943301555444, 0.6);
  const b = ckpt(2, 0.44158948311921126, 0.968595041322314, 0.7);
  b.splits[2].predictedPerformance = { dice: 0.7, low: 0.35, high: 1 };
  const c = compareResults(a, b);
  const { root, ctx } = harness();
  render.drawComparison(ctx, c);
  const row = (name: string) => root.querySelector(`table.compare-splits tr[data-split="${name}"]`)!.querySelectorAll('td');
  assert.deepEqual(row('train').slice(1, 4).map((td) => td.textContent), ['0.498', '0.442', '−0.0565']);
  assert.deepEqual(row('test').slice(1, 4).map((td) => td.textContent), ['0.884', '0.969', '+0.0845']);
  assert.equal(Number(row('train')[1].getAttribute('data-value')), 0.49812841923409157);
  assert.deepEqual(row('siteB').slice(4).map((td) => td.textContent), ['0.60 [0.50, 0.70]', '0.35–1.00', 'cannot tell']);
});

test('the heat map colours feature shift by what it means: collapsed and far from train both unusual, about 1 usual; the legend says so', () => {
  const shifts = [0.2, 1, 5, 1.1, 0.9];
  const r = (epoch: number) => {
    const x = ckpt(epoch, 0.9, 0.8, 0.7);
    for (const t of x.taps) x.metrics.test[t.name].featureShift = shifts[x.taps.indexOf(t)];
    return x;
  };
  const wide = r(2);
  wide.splits[2].predictedPerformance = { dice: 0.7, low: 0.3, high: 0.95 };
  const series = assembleSeries([r(1), wide].map((x) => ({ path: x.model.path, results: x })));
  const { root, ctx } = harness();
  render.drawSeries(ctx, series);
  // the table: an estimate that cannot tell keeps its range and shows no point value
  const rows = root.querySelectorAll('table.perf-table tbody tr').map((tr) => tr.querySelectorAll('td').map((td) => td.textContent));
  assert.deepEqual(rows[0].slice(4, 7), ['0.70', '0.60', '0.80']);
  assert.deepEqual(rows[1].slice(4, 7), ['cannot tell', '0.30', '0.95']);
  // and the chart: both intervals drawn, a point only where it can tell
  assert.deepEqual(root.querySelectorAll('svg.perf-chart line.pred-range-siteB').map((l) => l.getAttribute('data-cannot-tell')), ['false', 'true']);
  assert.equal(root.querySelector('svg.perf-chart polyline.pred-siteB')!.getAttribute('points')!.trim().split(/\s+/).length, 1);
  const tones = root.querySelectorAll('rect.cell').filter((c) => c.getAttribute('data-checkpoint') === '0').map((c) => c.getAttribute('data-tone'));
  assert.deepEqual(tones, ['unusual-low', 'usual', 'unusual-high', 'usual', 'usual']);
  const legend = root.querySelector('[data-role="legend"]')!;
  assert.equal(legend.getAttribute('data-scale-kind'), 'diverging');
  assert.match(legend.getAttribute('data-ends') ?? '', /collapsed.*in distribution.*far from train/);
  // the chart of the performance carries the checkpoints' numbers under it
  assert.deepEqual(root.querySelectorAll('svg.perf-chart text.x-label').map((t) => t.textContent), ['1', '2']);
});

test('the comparison calls B better by the metric’s direction: feature shift closer to 1 is better on either side', () => {
  const a = ckpt(1, 0.6, 0.5, 0.4);
  const b = ckpt(2, 0.9, 0.7, 0.65);
  const [fa, fb] = [[0.5, 2, 1.2, 0.9, 1], [0.9, 1.1, 1.5, 0.5, 1]];
  a.taps.forEach((t, i) => (a.metrics.test[t.name].featureShift = fa[i]));
  b.taps.forEach((t, i) => (b.metrics.test[t.name].featureShift = fb[i]));
  const c = compareResults(a, b);
  const { root, ctx } = harness();
  render.drawComparison(ctx, c);
  const blocks = root.querySelector('svg.compare-chart[data-metric="featureShift"]')!.querySelectorAll('rect.u-block');
  assert.deepEqual(blocks.map((x) => x.getAttribute('data-better')), ['true', 'true', 'false', 'false', '']);
  assert.deepEqual(blocks.map((x) => Number(x.getAttribute('data-diff'))), fb.map((v, i) => Math.round((v - fa[i]) * 1e6) / 1e6));
  // Davies–Bouldin: lower is better, so a higher B is worse
  const db = root.querySelector('svg.compare-chart[data-metric="db"]')!.querySelectorAll('rect.u-block');
  assert.ok(db.every((x) => x.getAttribute('data-better') === 'false'), 'B has the higher Davies–Bouldin on every tap');
});
