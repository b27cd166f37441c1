/**
 * The "Without labels" view (webview/views/withoutLabels/, METHOD.md §5): its pure
 * helpers (webview/withoutLabels.ts) on the sample results, and the view itself drawn by
 * the real panel bundle in the offline report, in headless Chromium (skipped when
 * /usr/bin/chromium is missing): the heat strip's cells and ρ values, the scatter's points,
 * the estimates' numbers and the message when the results have no such section.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Results } from '../../src/engine/types';
import { renderReport } from '../../src/engine/report';
import { webviewAssets } from '../helpers';
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
  assert.equal(inputsText(['maxProbability']), 'maxProbability');
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
  assert.match(text, /^Predicted Dice 0\.712 \[0\.624, 0\.793\] from the interior features; the max-softmax baseline says /);
  const mp = pwl.splits.siteB.predicted.maxProbability!;
  assert.ok(text.includes(`${Number(mp.value.toFixed(3))} [${Number(mp.low.toFixed(3))}, ${Number(mp.high.toFixed(3))}]`));
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

// ---------------------------------------------------------------- the view, drawn

const CHROMIUM = process.env.UNETLENS_CHROMIUM ?? '/usr/bin/chromium';

describe('the view in the offline report (headless Chromium)', { skip: existsSync(CHROMIUM) ? false : `no ${CHROMIUM}` }, () => {
  let dir: string;
  let assets: { script: string; css: string };
  let browser: import('playwright-core').Browser;

  before(async () => {
    assets = await webviewAssets();
    dir = mkdtempSync(path.join(tmpdir(), 'unetlens-nl-'));
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, chromiumSandbox: false, args: ['--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'] });
  });

  after(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Opens the report of `results` on the Without labels view; page errors fail the test. */
  async function open(results: Results, name: string) {
    const file = path.join(dir, `${name}.html`);
    writeFileSync(file, renderReport(results, assets));
    const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`file://${file}?theme=light#view=withoutLabels`);
    await page.locator('body[data-state="ready"]').waitFor({ state: 'attached', timeout: 10_000 });
    return { page, errors };
  }

  // (string expressions: tsx would wrap functions passed to evaluate in a helper the page lacks)
  const js = <T>(page: import('playwright-core').Page, expr: string) => page.evaluate(expr) as Promise<T>;

  test('draws the heat strip, the scatter and the estimates from results.json', async () => {
    const { page, errors } = await open(sample, 'present');
    const strip = page.locator('svg[data-chart="indicativeness"]');
    await strip.waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('body').getAttribute('data-view'), 'withoutLabels');
    assert.equal(await strip.getAttribute('data-cells'), String(sample.taps.length * 4));
    const cells = await js<{ tap: string; metric: string; rho: string; input: string | null; text: string }[]>(
      page,
      `[...document.querySelectorAll('svg[data-chart="indicativeness"] g[data-tap]')].map((g) => ({ tap: g.getAttribute('data-tap'), metric: g.getAttribute('data-metric'), rho: g.getAttribute('data-rho'), input: g.getAttribute('data-input'), text: g.querySelector('text')?.textContent ?? '' }))`,
    );
    assert.equal(cells.length, sample.taps.length * 4);
    for (const c of cells) {
      const want = pwl.indicativeness[c.tap][c.metric as 'roughness'];
      assert.equal(c.rho === '' ? null : Number(c.rho), want, `${c.tap} ${c.metric}`);
      assert.equal(c.text, rhoText(want), 'the value is written in the cell');
      assert.equal(c.input, null, 'the predictor reads every cell: no marks');
    }
    // the scatter: one point per copy the features predictor has a LOFO prediction for
    const scatter = page.locator('canvas[data-chart="shift-scatter"]');
    assert.equal(await scatter.getAttribute('data-points'), String(pwl.shifts.filter((c) => c.lofo.features !== null).length));
    assert.equal(await scatter.getAttribute('data-baselines'), 'false');
    assert.equal(await scatter.getAttribute('data-baseline-points'), '0');
    assert.equal(await scatter.getAttribute('data-families'), 'none,noise,blur,gamma,contrast,scale');
    await page.locator('#nl-baselines').check();
    const baselinePoints = pwl.shifts.filter((c) => c.lofo.maxProbability !== null).length + pwl.shifts.filter((c) => c.lofo.entropy !== null).length;
    await page.locator(`canvas[data-chart="shift-scatter"][data-baseline-points="${baselinePoints}"]`).waitFor({ timeout: 5000 });
    assert.equal(await scatter.getAttribute('data-baselines'), 'true');
    // the caption: each predictor's LOFO MAE and Spearman
    for (const n of ['features', 'maxProbability', 'entropy'] as const) {
      const row = page.locator(`tr[data-predictor="${n}"]`);
      assert.equal(Number(await row.getAttribute('data-mae')), pwl.predictors[n]!.lofoMae);
      assert.equal(Number(await row.getAttribute('data-spearman')), pwl.predictors[n]!.lofoSpearman);
    }
    assert.match(await page.locator('[data-role="scatter-caption"]').innerText(), new RegExp(`interior features ${pwl.predictors.features!.lofoMae} \\(ρ ${rhoText(pwl.predictors.features!.lofoSpearman)}\\)`));
    // the estimates of siteB
    const est = page.locator('svg[data-chart="estimates"][data-split="siteB"]');
    for (const n of ['features', 'maxProbability', 'entropy'] as const) {
      const e = pwl.splits.siteB.predicted[n]!;
      assert.equal(await est.locator(`g[data-predictor="${n}"]`).getAttribute('data-estimate'), `${e.value},${e.low},${e.high}`);
    }
    assert.match(await page.locator('.nl-split-card[data-split="siteB"] [data-role="estimate-text"]').innerText(), /Predicted Dice 0\.712 \[0\.624, 0\.793\] from the interior features/);
    // a click on a cell selects its tap everywhere
    const deep = sample.taps.find((t) => t.stage === 'bottleneck')!.name;
    await strip.locator(`g[data-tap="${deep}"][data-metric="featureShift"]`).click();
    await page.locator(`body[data-tap="${deep}"]`).waitFor({ state: 'attached', timeout: 5000 });
    assert.equal(await page.locator('svg[data-chart="indicativeness"]').getAttribute('data-selected'), deep);
    // … and so do Enter and the arrow keys
    await page.locator(`svg[data-chart="indicativeness"] g[data-tap="${deep}"][data-metric="featureShift"]`).focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    const next = tapsInOrder(sample)[tapsInOrder(sample).findIndex((t) => t.name === deep) + 1].name;
    await page.locator(`body[data-tap="${next}"]`).waitFor({ state: 'attached', timeout: 5000 });
    // exports: PNG of the strip, the scatter and the estimates, CSV of ρ (downloads in the report)
    const saved = async (button: string) => {
      const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 10_000 }), page.getByRole('button', { name: button, exact: true }).click()]);
      const file = path.join(dir, dl.suggestedFilename());
      await dl.saveAs(file);
      return { name: dl.suggestedFilename(), bytes: readFileSync(file) };
    };
    for (const [button, name] of [
      ['Export the indicativeness strip as PNG', 'unetlens-indicativeness.png'],
      ['Export the predicted-versus-true scatter as PNG', 'unetlens-shift-scatter.png'],
      ['Export the estimates of siteB as PNG', 'unetlens-estimates-siteB.png'],
    ]) {
      const png = await saved(button);
      assert.equal(png.name, name);
      assert.deepEqual([...png.bytes.subarray(1, 4)], [0x50, 0x4e, 0x47], `${name} is a PNG`);
      assert.ok(png.bytes.readUInt32BE(16) > 300, `${name} is wide enough`);
    }
    const csv = await saved('Export the Spearman ρ per tap and metric as CSV');
    assert.equal(csv.name, 'unetlens-indicativeness.csv');
    assert.equal(csv.bytes.toString('utf8'), indicativenessCsv(sample, pwl));
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('without the section: a message saying why, and no chart', async () => {
    const { page, errors } = await open(without(sample), 'absent');
    const view = page.locator('#view-withoutLabels');
    await view.locator('[data-role="nl-absent"]').waitFor({ timeout: 10_000 });
    assert.equal(await view.getAttribute('data-empty'), 'without-labels');
    assert.equal(await view.getAttribute('data-reason'), 'off');
    assert.match(await view.innerText(), /unetLens\.predictPerformance/);
    assert.equal(await page.locator('svg[data-chart="indicativeness"], canvas[data-chart="shift-scatter"]').count(), 0);
    await page.close();

    const unlabelled = without(sample);
    unlabelled.splits = unlabelled.splits.map((s) => ({ ...s, labeled: false, performance: null }));
    const second = await open(unlabelled, 'no-labels');
    const v2 = second.page.locator('#view-withoutLabels');
    await v2.locator('[data-role="nl-absent"]').waitFor({ timeout: 10_000 });
    assert.equal(await v2.getAttribute('data-reason'), 'no-labels');
    assert.match(await v2.innerText(), /nothing to shift/);
    assert.deepEqual([...errors, ...second.errors], []);
    await second.page.close();
  });

  test('a calibration without unlabelled splits says there is nothing to predict; a predictor reading a few cells marks them', async () => {
    const r = structuredClone(sample);
    r.performanceWithoutLabels!.splits = {};
    const taps = tapsInOrder(sample);
    r.performanceWithoutLabels!.predictors.features!.inputs = [`${taps[6].name}:featureShift`, `${taps[8].name}:knnConfidence`];
    const { page, errors } = await open(r, 'no-unlabelled');
    await page.locator('svg[data-chart="indicativeness"]').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator(`g[data-input="true"][data-tap="${taps[6].name}"][data-metric="featureShift"]`).count(), 1);
    assert.equal(await page.locator('g[data-input="true"]').count(), 2);
    assert.match(await page.locator('[data-role="nl-no-unlabelled"]').innerText(), /nothing to predict/);
    assert.equal(await page.locator('svg[data-chart="estimates"]').count(), 0);
    assert.deepEqual(errors, []);
    await page.close();
  });
});
