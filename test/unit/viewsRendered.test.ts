/**
 * The panel's views drawn in Node (test/dom.ts, no browser) from small Results made by
 * test/builders.ts: what they render (text, table cells, SVG marks, the charts' test hooks)
 * and how they take a selected tap through the View contract (webview/views/view.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PerformanceWithoutLabels, Results } from '../../src/engine/types';
import { installDom, type FakeElement } from '../dom';
import { results, shiftCopy, split, tap, tapMetrics, testTheme, uTaps, withoutLabelsSection } from '../builders';
import { computeVerdict } from '../../src/engine/verdict';
import type { View } from '../../webview/views/view';
import type { ViewContext } from '../../webview/views/context';

let dom: ReturnType<typeof installDom>;
let views: typeof import('../../webview/views/overview') & typeof import('../../webview/views/splitsView') & typeof import('../../webview/views/unetView') & typeof import('../../webview/views/tapView') & typeof import('../../webview/views/mapsView') & typeof import('../../webview/views/withoutLabels') & typeof import('../../webview/views/verdictView');
let Store: typeof import('../../webview/state').Store;
let Chart: typeof import('../../webview/charts').Chart;

before(async () => {
  dom = installDom(900);
  views = Object.assign(
    {},
    await import('../../webview/views/overview'),
    await import('../../webview/views/splitsView'),
    await import('../../webview/views/unetView'),
    await import('../../webview/views/tapView'),
    await import('../../webview/views/mapsView'),
    await import('../../webview/views/withoutLabels'),
    await import('../../webview/views/verdictView'),
  );
  ({ Store } = await import('../../webview/state'));
  ({ Chart } = await import('../../webview/charts'));
});
after(() => dom.uninstall());

interface Harness {
  root: FakeElement;
  ctx: ViewContext;
  exported: { png: string[]; csv: [string, string][] };
  selected: string[];
  /** `split/image` of each `showMap` call. */
  shownMaps: string[];
}

function harness(r: Results): Harness {
  const exported = { png: [] as string[], csv: [] as [string, string][] };
  const host = { mode: 'report' as const, post() {}, getState: () => undefined, setState() {}, exportPng: (n: string) => exported.png.push(n), exportCsv: (n: string, c: string) => exported.csv.push([n, c]) };
  const store = new Store(host);
  store.setResults(r, '', false);
  const selected: string[] = [];
  const shownMaps: string[] = [];
  const root = document.createElement('div') as unknown as FakeElement;
  const ctx: ViewContext = {
    host,
    store,
    theme: testTheme,
    selectTap(name) {
      selected.push(name);
      store.tap = name;
    },
    showMap(sp, image) {
      shownMaps.push(`${sp}/${image}`);
    },
  };
  return { root, ctx, exported, selected, shownMaps };
}

function draw<V extends View>(make: (root: HTMLElement, ctx: ViewContext) => V, r: Results): Harness & { view: V } {
  const hs = harness(r);
  const view = make(hs.root as unknown as HTMLElement, hs.ctx);
  view.render(r);
  return { ...hs, view };
}

const cells = (row: FakeElement) => row.children.map((c) => c.textContent);

test('Overview: the performance table, one chart per metric with its series, the values table', () => {
  const r = results({ splits: [split('train', { performance: { dice: 0.91, accuracy: 0.99 } }), split('siteB', { labeled: false })] });
  const { root, view } = draw((a, b) => new views.OverviewView(a, b), r);
  const perf = root.querySelector('table.data')!;
  assert.deepEqual(cells(perf.querySelector('thead tr')!), ['Split', 'Labels', 'Images', 'Dice', 'Accuracy']);
  assert.deepEqual(perf.querySelectorAll('tbody tr').map(cells), [
    ['train', 'labeled', '4', '0.91', '0.99'],
    ['siteB', 'unlabeled', '4', 'not predicted yet', '—'],
  ]);
  const canvases = root.querySelectorAll('canvas');
  assert.deepEqual(canvases.map((c) => c.dataset.chart), ['db', 'roughness', 'knnConfidence', 'knnConfidenceFg', 'featureShift']);
  assert.deepEqual(JSON.parse(canvases[0].dataset.series!).map((s: { split: string }) => s.split), ['train'], 'db: no series for the unlabeled split');
  assert.deepEqual(JSON.parse(canvases[4].dataset.series!)[1], { split: 'siteB', values: [1, 1, 1, 1, 1] });
  assert.deepEqual(root.querySelectorAll('.chart-card h3').map((e) => e.textContent), ['Class separation (Davies–Bouldin)', 'Roughness', 'kNN confidence', 'kNN confidence (foreground)', 'Feature shift']);
  // every chart explained from the metric table: what it says, which way, what to do (the formula as the tooltip)
  const explained = root.querySelectorAll('.chart-card .metric-explain');
  assert.deepEqual(explained.map((e) => e.dataset.metric), ['db', 'roughness', 'knnConfidence', 'knnConfidenceFg', 'featureShift']);
  for (const e of explained) assert.deepEqual(e.querySelectorAll('[data-role]').map((x) => x.dataset.role), ['says', 'direction', 'todo']);
  assert.match(explained[4].getAttribute('title') ?? '', /10-th nearest train point/);
  assert.match(explained[4].textContent, /below 0\.8 or above 1\.25 is unusual/);
  assert.match(explained[3].textContent, /background cannot hide a foreground failure/);
  assert.deepEqual(view.summary, { taps: 5, splits: 2, metrics: ['db', 'roughness', 'knnConfidence', 'knnConfidenceFg', 'featureShift'] });
  const shift = Chart.getChart(canvases[4] as unknown as HTMLCanvasElement)!;
  assert.deepEqual(shift.data.datasets.map((d) => [d.label, d.data]), [['train', [1, 1, 1, 1, 1]], ['siteB (unlabeled)', [1, 1, 1, 1, 1]]]);
  assert.deepEqual((shift.data.datasets[1] as { borderDash?: number[] }).borderDash, [6, 4], 'unlabeled: dashed');
  assert.equal(shift.options.plugins?.unetlensStages && shift.options.plugins.unetlensStages.refLine, 1, 'featureShift: the reference line at 1');
  view.selectTap(r.taps[2].name);
  assert.equal(shift.options.plugins?.unetlensStages && shift.options.plugins.unetlensStages.selected, 2);
});

test('Splits: one row per split, measured or predicted with its interval', () => {
  const r = results({
    splits: [split('test', { performance: { dice: 0.8 } }), split('siteB', { labeled: false, predictedPerformance: { dice: 0.6, low: 0.5, high: 0.7 } }), split('siteC', { labeled: false })],
  });
  const { root } = draw((a, b) => new views.SplitsView(a, b), r);
  const svg = root.querySelector('svg[data-chart="splits"]')!;
  assert.equal(svg.dataset.metric, 'dice');
  const rows = svg.querySelectorAll('g[data-split]');
  assert.deepEqual(rows.map((g) => [g.dataset.split, g.dataset.value ?? g.dataset.predicted]), [['test', '0.8'], ['siteB', '0.6,0.5,0.7'], ['siteC', 'none']]);
  assert.match(rows[1].textContent, /≈ 0\.60 \[0\.50, 0\.70\]/);
  assert.equal(root.querySelectorAll('.split-card').length, 3);
  assert.match(root.querySelector('.split-card[data-split="siteB"]')!.textContent, /Dice \(predicted\)≈ 0\.60 \[0\.50, 0\.70\]/);
});

test('Splits and Overview: an estimate that cannot tell shows only its range, in words, never a precise-looking value', () => {
  const r = results({
    splits: [split('test', { performance: { dice: 0.92 } }), split('siteB', { labeled: false, predictedPerformance: { dice: 0.879, low: 0.653, high: 1 } })],
  });
  const { root } = draw((a, b) => new views.SplitsView(a, b), r);
  const row = root.querySelectorAll('svg[data-chart="splits"] g[data-split]')[1];
  assert.equal(row.textContent, 'siteBunlabeled0.65–1.00 (cannot tell)');
  assert.match(root.querySelector('.split-card[data-split="siteB"]')!.textContent, /Dice \(predicted\)0\.65–1\.00 \(cannot tell\)/);
  const o = draw((a, b) => new views.OverviewView(a, b), r).root;
  const cell = o.querySelector('td[data-role="predicted"]')!;
  assert.match(cell.textContent, /^0\.65–1\.00/);
  assert.doesNotMatch(cell.textContent, /0\.879|0\.88|≈/);
});

test('The U: one block per tap with its value, coloured by the metric; a selected tap is outlined', () => {
  const r = results({ value: (_s, _t, i) => tapMetrics({ roughness: i + 1 }) });
  const { root, ctx, view, selected } = draw((a, b) => new views.UnetView(a, b), r);
  ctx.store.unetMetric = 'roughness';
  view.draw();
  const svg = root.querySelector('svg[data-chart="unet"]')!;
  assert.equal(svg.dataset.blocks, '5');
  const blocks = svg.querySelectorAll('g.ublock');
  assert.deepEqual(blocks.map((b) => b.dataset.value), ['1', '2', '3', '4', '5']);
  assert.equal(root.querySelector('#unet-metric')!.children.map((o) => o.textContent).join(', '), 'Davies–Bouldin, Roughness, kNN confidence, kNN confidence (fg), Feature shift');
  blocks[2].click();
  assert.deepEqual(selected, [r.taps[2].name]);
  view.selectTap(r.taps[2].name);
  assert.equal(svg.dataset.selected, r.taps[2].name);
  assert.ok(svg.querySelectorAll('g.ublock')[2].classList.contains('selected'));
});

test('Tap view: the facts and metrics of the selected tap; selectTap shows another', () => {
  const r = results({ value: (s, _t, i) => tapMetrics({ db: s.labeled ? 1 : null, featureShift: s.labeled ? 1 : 1 + i / 10 }) });
  const { root, view } = draw((a, b) => new views.TapView(a, b), r);
  const metricRows = () => root.querySelectorAll('.tap-top table tbody tr').map(cells);
  assert.deepEqual(metricRows()[2], ['siteB (unlabeled)', '—', '2', '0.9', '0.8', '1', '100']);
  view.selectTap(r.taps[3].name);
  assert.deepEqual(metricRows()[2], ['siteB (unlabeled)', '—', '2', '0.9', '0.8', '1.3', '100']);
  assert.match(root.querySelector('.pca-card')!.textContent, /no PCA projection/);
});

test('Maps: without maps, says so', () => {
  const { root } = draw((a, b) => new views.MapsView(a, b), results());
  assert.equal(root.dataset.empty, 'maps');
  assert.match(root.textContent, /no confidence maps/);
});

test('Without labels: the heat strip cells, the scatter hooks, the estimates of each unlabeled split', () => {
  const taps = uTaps();
  const pwl = withoutLabelsSection({
    taps,
    rho: (_t, i) => ({ roughness: i === 4 ? null : -0.5 + i / 4, knnConfidence: 0.3, featureShift: -0.9 }),
    estimates: {
      siteB: {
        output: { maxProbability: 0.9, entropy: 0.3, foreground: 0.1 },
        features: {},
        predicted: { features: { value: 0.6, low: 0.5, high: 0.7 }, maxProbability: { value: 0.85, low: 0.8, high: 0.9 }, entropy: null },
      },
    },
  });
  const r = results({ taps, extra: { performanceWithoutLabels: pwl } });
  const { root, selected } = draw((a, b) => new views.WithoutLabelsView(a, b), r);
  assert.equal(root.dataset.shifts, '3');
  const strip = root.querySelector('svg[data-chart="indicativeness"]')!;
  assert.equal(strip.dataset.cells, String(5 * 3));
  const rough = strip.querySelectorAll('g[data-metric="roughness"]');
  assert.deepEqual(rough.map((g) => g.dataset.rho), ['-0.5', '-0.25', '0', '0.25', '']);
  assert.deepEqual(rough.map((g) => g.querySelector('text')?.textContent ?? ''), ['−0.50', '−0.25', '0.00', '0.25', '—']);
  rough[1].click();
  assert.deepEqual(selected, [taps[1].name]);
  const scatter = root.querySelector('canvas[data-chart="shift-scatter"]')!;
  assert.equal(scatter.dataset.points, '3');
  const chart = Chart.getChart(scatter as unknown as HTMLCanvasElement)!;
  assert.deepEqual(chart.data.datasets.map((d) => [d.label, (d.data as { x: number; y: number }[]).map((q) => [q.x, q.y])]), [
    ['unshifted · network features', [[0.8, 0.78]]],
    ['Gaussian noise · network features', [[0.5, 0.55], [0.7, 0.72]]],
  ]);
  assert.equal(scatter.dataset.families, 'none,noise');
  const est = root.querySelector('svg[data-chart="estimates"][data-split="siteB"]')!;
  assert.deepEqual(est.querySelectorAll('g[data-predictor]').map((g) => [g.dataset.predictor, g.dataset.estimate]), [
    ['features', '0.6,0.5,0.7'],
    ['maxProbability', '0.85,0.8,0.9'],
    ['entropy', 'none'],
  ]);
  assert.match(root.querySelector('[data-role="estimate-text"]')!.textContent, /^Predicted Dice 0\.60 \[0\.50, 0\.70\] from the network features; the max-softmax baseline says 0\.85 \[0\.80, 0\.90\], the entropy baseline has none\.$/);
});

/** A without-labels section with one unlabelled split, siteB, and its estimates (and more of its entry). */
function siteBSection(taps: ReturnType<typeof uTaps>, predicted: PerformanceWithoutLabels['splits'][string]['predicted'], more: Partial<PerformanceWithoutLabels['splits'][string]> = {}): PerformanceWithoutLabels {
  return withoutLabelsSection({
    taps,
    rho: () => ({ roughness: null, knnConfidence: null, featureShift: null }),
    estimates: { siteB: { output: { maxProbability: 0.9, entropy: 0.3, foreground: 0.1 }, features: {}, predicted, ...more } },
  });
}

test('Without labels: an estimate that cannot tell is drawn as its interval alone, no marker, and labelled with its range in words', () => {
  const taps = uTaps();
  const pwl = siteBSection(
    taps,
    { features: { value: 0.879, low: 0.653, high: 1, grade: 'cannot tell' }, maxProbability: { value: 0.85, low: 0.8, high: 0.9, grade: 'good' }, entropy: null },
    { samplingNoise: { sd: 0.036, shrink: 0.6, unshrunk: 0.858 } },
  );
  const { root } = draw((a, b) => new views.WithoutLabelsView(a, b), results({ taps, extra: { performanceWithoutLabels: pwl } }));
  const est = root.querySelector('svg[data-chart="estimates"][data-split="siteB"]')!;
  const ours = est.querySelector('g[data-predictor="features"]')!;
  const base = est.querySelector('g[data-predictor="maxProbability"]')!;
  assert.equal(ours.dataset.cannotTell, 'true');
  assert.equal(base.dataset.cannotTell, 'false');
  assert.equal(ours.querySelectorAll('circle').length, 0, 'no marker at a value it cannot vouch for');
  assert.equal(base.querySelectorAll('path').length >= 1, true, 'the baseline keeps its marker');
  assert.match(ours.textContent, /0\.65–1\.00/);
  assert.match(ours.querySelector('title')!.textContent, /cannot tell — Dice anywhere in 0\.65–1\.00/);
  assert.doesNotMatch(ours.textContent, /0\.879|0\.88\b/);
  const noise = root.querySelector('[data-role="sampling-noise"]')!.textContent;
  assert.match(noise, /pulled toward their Dice\.$/);
  assert.doesNotMatch(noise, /0\.858|0\.879|0\.86|0\.88/, 'no point values for an estimate that cannot tell');
  assert.match(root.querySelector('[data-role="estimate-text"]')!.textContent, /^Predicted Dice somewhere in 0\.65–1\.00 \(cannot tell\) from the network features; the max-softmax baseline says 0\.85 \[0\.80, 0\.90\]/);
});

test('Without labels: baselines that did not follow Dice are named with ρ to two decimals, as in the rest of the view', () => {
  const taps = uTaps();
  const pwl = siteBSection(taps, { features: { value: 0.6, low: 0.5, high: 0.7 }, maxProbability: { value: 0.85, low: 0.8, high: 0.9 }, entropy: { value: 0.84, low: 0.8, high: 0.9 } });
  const summary = { description: 'x', inputs: ['a'], lofoMae: 0.1, interval: { below: 0.07, above: 0.07 } };
  pwl.predictors = { features: { ...summary, lofoSpearman: 0.8 }, maxProbability: { ...summary, lofoSpearman: -0.04 }, entropy: { ...summary, lofoSpearman: -0.0423 } };
  const { root } = draw((a, b) => new views.WithoutLabelsView(a, b), results({ taps, extra: { performanceWithoutLabels: pwl } }));
  const weak = root.querySelector('[data-role="weak-baselines"]')!.textContent;
  assert.match(weak, /^Not a guide here: the max-softmax baseline \(ρ −0\.04\) and the entropy baseline \(ρ −0\.04\) did not follow/);
});

test('Without labels: the cases to label, worst predicted first, the verdict\'s images marked, the list as CSV', () => {
  const taps = uTaps();
  const perImage = [
    { id: 'case7', file: 'data/siteB/images/case7.png', value: 0.0, low: 0, high: 0.2265, grade: 'fair' as const, thumb: { dims: [2, 3], image: [0, 50, 100, 150, 200, 250], prediction: [0, 1, 1, 0, 0, 0] } },
    { id: 'case2', file: 'data/siteB/images/case2.png', value: 0.2384, low: 0.0119, high: 0.4649, grade: 'cannot tell' as const },
    { id: 'case9', file: 'data/siteB/images/case9.png', value: 0.8869, low: 0.6605, high: 1, grade: 'cannot tell' as const },
  ];
  const pwl = siteBSection(taps, { features: { value: 0.6, low: 0.5, high: 0.7 }, maxProbability: null, entropy: null }, { perImage, casesToLabel: 'cases-to-label-siteB.csv' });
  const r = results({ taps, splits: [split('test', { performance: { dice: 0.9 } }), split('siteB', { labeled: false })], extra: { performanceWithoutLabels: pwl } });
  r.verdict = computeVerdict(r);
  assert.deepEqual(r.verdict.unlabeled[0].action.images, ['case7', 'case2', 'case9']);
  assert.match(r.verdict.unlabeled[0].action.sentence, /listed under Without labels/);
  const { root, exported } = draw((a, b) => new views.WithoutLabelsView(a, b), r);
  const section = root.querySelector('[data-role="cases"]')!;
  assert.ok(section, 'the list the verdict points to is in the view');
  const rows = section.querySelectorAll('table[data-split="siteB"] tbody tr');
  assert.deepEqual(rows.map((tr) => [tr.dataset.rank, tr.dataset.image, tr.dataset.labelFirst]), [['1', 'case7', 'true'], ['2', 'case2', 'true'], ['3', 'case9', 'true']]);
  assert.deepEqual(cells(rows[0]), ['1', '', 'case7.pnglabel first', '0.00 [0.00, 0.23]', 'fair']);
  assert.deepEqual(cells(rows[1]), ['2', '', 'case2.pnglabel first', '0.01–0.46', 'cannot tell'], 'cannot tell: the range, not the value');
  // the image with the prediction over it, where results.json holds its thumbnail
  const thumb = rows[0].querySelector('canvas.case-thumb')!;
  assert.deepEqual([thumb.dataset.image, thumb.dataset.predicted, thumb.getAttribute('width'), thumb.getAttribute('height')], ['case7', '2', '3', '2']);
  assert.equal(rows[1].querySelector('canvas.case-thumb'), null);
  assert.match(section.textContent, /written beside results\.json as cases-to-label-siteB\.csv/);
  section.querySelector('button')!.click();
  assert.equal(exported.csv.length, 1);
  assert.equal(exported.csv[0][0], 'unetlens-cases-to-label-siteB');
  assert.equal(exported.csv[0][1].split('\n')[0], 'rank,file,id,predicted_dice,low,high,grade,outside_calibration');
  assert.equal(exported.csv[0][1].split('\n')[2], '2,data/siteB/images/case2.png,case2,0.2384,0.0119,0.4649,cannot tell,false');
  // an image with a confidence map in the results links to it ("where unsure"); the others do not
  const mapped = (image: string) => ({ split: 'siteB', image, preview: { dims: [2, 2] as [number, number], values: [0, 1, 2, 3] }, label: null, prediction: null, confidence: {} });
  const withMaps = { ...r, maps: { items: [mapped('case7'), mapped('case9')] } };
  const { root: linked, shownMaps } = draw((a, b) => new views.WithoutLabelsView(a, b), withMaps);
  const links = linked.querySelectorAll('[data-role="cases"] table[data-split="siteB"] tbody tr').map((tr) => tr.querySelector('[data-role="show-map"]'));
  assert.deepEqual(links.map((b) => !!b), [true, false, true]);
  links[2]!.click();
  assert.deepEqual(shownMaps, ['siteB/case9']);
  assert.match(links[0]!.getAttribute('aria-label')!, /Where is the model unsure in case7/);
  // no per-image estimates (classification, older results): no section
  const { root: bare } = draw((a, b) => new views.WithoutLabelsView(a, b), results({ taps, extra: { performanceWithoutLabels: withoutLabelsSection({ taps, rho: () => ({}) }) } }));
  assert.equal(bare.querySelector('[data-role="cases"]'), null);
});

test('Without labels: the predictor table shows a normalised interval as a function of the distance d, a plain one as − / +', () => {
  const taps = uTaps();
  const pwl = withoutLabelsSection({ taps, rho: () => ({ roughness: null, knnConfidence: null, featureShift: null }) });
  const summary = { description: 'x', inputs: ['a'], lofoMae: 0.1, lofoSpearman: 0.8, interval: { below: 0.07, above: 0.07 } };
  pwl.predictors = { features: { ...summary, intervalPerDistance: 0.23, deshrink: 1.4 }, maxProbability: { ...summary, interval: { below: 0.2, above: 0.2 } }, entropy: null };
  const { root } = draw((a, b) => new views.WithoutLabelsView(a, b), results({ taps, extra: { performanceWithoutLabels: pwl } }));
  const cell = (n: string) => root.querySelector(`tr[data-predictor="${n}"]`)!.querySelectorAll('td').at(-1)!.textContent;
  assert.equal(cell('features'), '±(0.07 + 0.23·d)');
  assert.equal(cell('maxProbability'), '−0.2 / +0.2');
  assert.equal(cell('entropy'), '—');
});

test('Without labels: absent section says why', () => {
  const { root } = draw((a, b) => new views.WithoutLabelsView(a, b), results({ splits: [split('siteB', { labeled: false })] }));
  assert.equal(root.dataset.empty, 'without-labels');
  assert.equal(root.dataset.reason, 'no-labels');
});

test('every view takes the selected tap the same way, and render → destroy → render works', () => {
  const r = results({ taps: [tap('a', 0), tap('b', 1, { stage: 'decoder' })] });
  for (const make of [views.OverviewView, views.UnetView, views.TapView, views.MapsView, views.SplitsView, views.WithoutLabelsView]) {
    const { view, root } = draw((a, b) => new make(a, b), r);
    view.selectTap('b');
    view.destroy();
    view.render(r);
    assert.ok(root.children.length > 0, make.name);
  }
});

test('table headers name the metrics in words (from the metric table), the key as the tooltip', () => {
  const r = results();
  const tapView = draw((a, b) => new views.TapView(a, b), r);
  const head = tapView.root.querySelector('.tap-top table thead tr')!;
  assert.deepEqual(cells(head), ['Split', 'Davies–Bouldin', 'Roughness', 'kNN confidence', 'kNN confidence (fg)', 'Feature shift', 'Points measured']);
  assert.equal(head.children[1].getAttribute('title'), 'db');
  const overview = draw((a, b) => new views.OverviewView(a, b), r);
  assert.deepEqual(overview.root.querySelectorAll('table.compact th.group').map((e) => e.textContent), ['Davies–Bouldin', 'Roughness', 'kNN confidence', 'kNN confidence (fg)', 'Feature shift']);
});

test('the skeleton (the first partial results: taps, no split yet) draws in every view: the U lays out every tap, the Overview says the charts fill in', () => {
  const r = results({ splits: [] });
  for (const make of [views.OverviewView, views.UnetView, views.TapView, views.MapsView, views.SplitsView, views.WithoutLabelsView, views.VerdictView]) {
    const { root } = draw((a, b) => new make(a, b), r);
    assert.ok(make === views.VerdictView || root.children.length > 0, make.name);
  }
  const overview = draw((a, b) => new views.OverviewView(a, b), r);
  assert.equal(overview.root.querySelectorAll('canvas').length, 0);
  assert.match(overview.root.textContent, /The taps are laid out; the charts fill in as each split is measured/);
  assert.deepEqual(overview.view.summary, { taps: 5, splits: 0, metrics: [] });
  const u = draw((a, b) => new views.UnetView(a, b), r);
  u.view.draw();
  assert.equal(u.root.querySelector('svg[data-chart="unet"]')?.dataset.blocks, '5');
  assert.match(u.root.querySelector('[data-role="unet-note"]')!.textContent, /^The taps are laid out; they are coloured as each split is measured/);
});

test('Verdict while calibrating (partial results before the sweep): marked "calibrating…", the engine\'s sentence as it is, no grade', () => {
  const r = results();
  r.verdict = {
    calibrating: true,
    labeled: [],
    unlabeled: [
      {
        split: 'siteB', metric: 'dice', reference: null, estimate: null, grade: null, expect: 'unknown',
        sentence: 'siteB: calibrating… the predicted Dice comes when the shift sweep is done (no labelled split to compare with).',
        foreground: null, foregroundSentence: null, movedMost: [], movedSentence: 'Features stay in distribution.',
        action: { kind: 'none', images: [], sentence: 'Wait for the shift sweep.' },
      },
    ],
  };
  const { root } = draw((a, b) => new views.VerdictView(a, b), r);
  assert.equal(root.dataset.calibrating, 'true');
  assert.equal(root.querySelector('[data-role="calibrating"]')!.textContent, 'calibrating…');
  assert.equal(root.querySelector('[data-split="siteB"] .verdict-grade')!.textContent, 'calibrating…');
  assert.equal(root.querySelector('[data-split="siteB"] [data-role="answer"]')!.textContent, r.verdict.unlabeled[0].sentence);
  delete r.verdict.calibrating;
  const final = draw((a, b) => new views.VerdictView(a, b), r);
  assert.equal(final.root.dataset.calibrating, 'false');
  assert.equal(final.root.querySelector('[data-role="calibrating"]'), null);
});
