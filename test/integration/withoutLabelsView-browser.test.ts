/**
 * The "Without labels" view (webview/views/withoutLabels/, METHOD.md §5) drawn by the
 * real panel bundle in the offline report, in headless Chromium (skipped when
 * /usr/bin/chromium is missing): the heat strip's cells and ρ values, the scatter's points,
 * the estimates' numbers and the message when the results have no such section. Its pure
 * helpers are checked in test/unit/withoutLabelsView.test.ts.
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
import { indicativenessCsv, rhoText } from '../../webview/withoutLabels';

const root = path.resolve(__dirname, '../..');
const sample: Results = JSON.parse(readFileSync(path.join(root, 'test/fixtures/results-sample.json'), 'utf8'));
const pwl = sample.performanceWithoutLabels!;

function without(r: Results): Results {
  const c = structuredClone(r);
  delete c.performanceWithoutLabels;
  return c;
}

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
    assert.match(await page.locator('[data-role="scatter-caption"]').innerText(), new RegExp(`network features ${pwl.predictors.features!.lofoMae} \\(ρ ${rhoText(pwl.predictors.features!.lofoSpearman)}\\)`));
    // the estimates of siteB
    const est = page.locator('svg[data-chart="estimates"][data-split="siteB"]');
    for (const n of ['features', 'maxProbability', 'entropy'] as const) {
      const e = pwl.splits.siteB.predicted[n]!;
      assert.equal(await est.locator(`g[data-predictor="${n}"]`).getAttribute('data-estimate'), `${e.value},${e.low},${e.high}`);
    }
    assert.match(await page.locator('.nl-split-card[data-split="siteB"] [data-role="estimate-text"]').innerText(), /Predicted Dice 0\.71 \[0\.62, 0\.79\] from the network features/);
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

  test('the sampling-noise note: within the noise, pulled part of the way, or untouched; none without samplingNoise', async () => {
    const est = sample.performanceWithoutLabels!.splits.siteB.predicted.features!;
    const cases: [string, { sd: number; shrink: number; unshrunk: number } | undefined, RegExp | null][] = [
      ['within', { sd: 0.036, shrink: 0, unshrunk: 0.69 }, new RegExp(`move ours by about ±0\\.036\\. Its features differ from the unshifted calibration images' by no more than that, so ours is their measured Dice \\(0\\.69 before\\)`)],
      ['pulled', { sd: 0.036, shrink: 0.666, unshrunk: 0.69 }, new RegExp(`may be that noise, so ours was pulled toward their Dice: 0\\.69 before, ${est.value.toFixed(2).replace('.', '\\.')} now`)],
      ['far', { sd: 0.01, shrink: 0.999, unshrunk: 0.7 }, /Its change is far beyond that; ours is unchanged by it\./],
      ['absent', undefined, null],
    ];
    for (const [name, sn, want] of cases) {
      const r = structuredClone(sample);
      if (sn) r.performanceWithoutLabels!.splits.siteB.samplingNoise = sn;
      const { page, errors } = await open(r, `noise-${name}`);
      await page.locator('svg[data-chart="estimates"][data-split="siteB"]').waitFor({ timeout: 10_000 });
      const note = page.locator('.nl-split-card[data-split="siteB"] [data-role="sampling-noise"]');
      if (want) assert.match(await note.innerText(), want, name);
      else assert.equal(await note.count(), 0, name);
      assert.deepEqual(errors, []);
      await page.close();
    }
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
