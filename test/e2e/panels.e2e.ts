/**
 * The panels beside the training code, inside real VS Code (code-server 4.100.3 + Debian
 * Chromium, driven by playwright-core), on a copy of the bundled example:
 *
 * - the "Analyze generalization" CodeLens above `torch.onnx.export(…)` in train.py runs the
 *   analysis; every view draws the right number of taps, splits and points (read from the
 *   `data-` hooks and checked against the results.json the worker wrote);
 * - clicking a block of The U (and Enter on one) selects that tap in every view;
 * - a light and a dark colour theme: the webview's body class changes and the charts are
 *   drawn again with the new colours;
 * - a window reload brings the panel back; the model file changing on disk shows the
 *   stale banner (and goes away when the file is restored); the cache shows the same
 *   analysis at once, saying it is cached; `unetLens.autoRerun` re-runs by itself;
 * - "Without labels" (METHOD.md §5): the example has a labelled test split, so the shift
 *   sweep runs; the heat strip's cells, the scatter's points and the estimates of siteB are
 *   the numbers of results.json, a click on a cell selects its tap everywhere; with
 *   `unetLens.predictPerformance` off the view says why it is empty;
 * - Open Results… on the sample results (with confidence maps), PNG export of The U, and
 *   Export report….
 * Screenshots go to test-results/e2e/panels-*.png.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, FrameLocator, Page } from 'playwright-core';
import {
  REPO_ROOT,
  openBrowser,
  runCommand,
  screenshot,
  startCodeServer,
  waitForNotification,
  waitForWorkbench,
  webviewFrame,
  workerPids,
  type CodeServer,
  answerFileDialog,
  workspaceSettings,
} from './codeServer';
import type { Results } from '../../src/engine/types';

const EXAMPLE = path.join(REPO_ROOT, 'examples', 'synthetic');
const SAMPLE = path.join(REPO_ROOT, 'test', 'fixtures', 'results-sample.json');
const EXT = 'unetlens.unet-lens';
let workspace: string;
let server: CodeServer;
let browser: Browser;
let page: Page;
const consoleLines: string[] = [];
let modelBytes: Buffer;

// ---------------------------------------------------------------- helpers


function frame(index?: number): FrameLocator {
  return webviewFrame(page, { extensionId: EXT, index });
}

async function waitState(state: string, timeoutMs: number, f = frame()): Promise<void> {
  await f.locator(`body[data-state="${state}"]`).waitFor({ state: 'attached', timeout: timeoutMs });
}

async function bodyAttr(name: string, f = frame()): Promise<string | null> {
  return f.locator('body').getAttribute(`data-${name}`);
}

/** The results.json files the extension wrote into its workspace storage, newest first. */
function cachedResults(): string[] {
  const root = path.join(server.userDataDir, 'User', 'workspaceStorage');
  const out: { p: string; t: number }[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name === 'results.json' && p.includes(`${path.sep}${EXT}${path.sep}`)) out.push({ p, t: fs.statSync(p).mtimeMs });
    }
  };
  if (fs.existsSync(root)) walk(root);
  return out.sort((a, b) => b.t - a.t).map((x) => x.p);
}

async function showTab(title: string, f = frame()): Promise<void> {
  await f.getByRole('tab', { name: title, exact: true }).click();
  await f.locator(`[role="tab"][aria-selected="true"]`, { hasText: title }).waitFor({ timeout: 5000 });
}

async function openFile(name: string): Promise<void> {
  await page.locator('.part.statusbar').click({ position: { x: 2, y: 2 } }).catch(() => {});
  await page.keyboard.press('Control+P');
  const quick = page.locator('.quick-input-widget .quick-input-box input');
  await quick.waitFor({ timeout: 10_000 });
  await quick.fill(name);
  await page.locator('.quick-input-widget .monaco-list-row.focused', { hasText: name }).waitFor({ timeout: 15_000 });
  await quick.press('Enter');
  await page.locator('.editor-group-container .tab.active', { hasText: name }).waitFor({ timeout: 15_000 });
}

function lens(text: string | RegExp) {
  return page.locator('.codelens-decoration a', { hasText: text }).first();
}

const writeWorkspaceSettings = (extra: Record<string, unknown>) => workspaceSettings(workspace, extra);

/**
 * Runs a palette command by clicking the row whose label is exactly `title` (runCommand
 * needs the command to be the first match; "Preferences: Color Theme" ranks second after
 * "Preferences: Browse Color Themes in Marketplace").
 */
async function runExactCommand(title: string): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  const input = widget.locator('.quick-input-box input');
  const escaped = title.replace(/[.*+?^$(){}|[\]\\]/g, '\\$&');
  // (the row's text runs on into its keybinding, "…Color ThemeCtrl+K Ctrl+T")
  const row = widget.locator('.monaco-list-row').filter({ hasText: new RegExp(`^\\s*${escaped}(?!s)`) }).first();
  const deadline = Date.now() + 30_000;
  for (;;) {
    await page.locator('.part.statusbar').click({ position: { x: 2, y: 2 } }).catch(() => {});
    await page.keyboard.press('F1');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill(`>${title}`);
    if (await row.waitFor({ state: 'visible', timeout: 3000 }).then(() => true, () => false)) break;
    await page.keyboard.press('Escape');
    if (Date.now() > deadline) throw new Error(`command "${title}" not in the palette`);
  }
  await row.click();
}

/** Preferences: Color Theme, as a user does it: the palette, the theme's name, Enter. */
async function pickColorTheme(name: string): Promise<void> {
  await runExactCommand('Preferences: Color Theme');
  const widget = page.locator('.quick-input-widget');
  const input = widget.locator('.quick-input-box input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(name);
  await widget.locator('.monaco-list-row.focused', { hasText: name }).waitFor({ timeout: 10_000 });
  await input.press('Enter');
  await widget.waitFor({ state: 'hidden', timeout: 10_000 });
}

/** Closes an editor tab by its close button. */
async function closeTab(title: string): Promise<void> {
  const tab = page.locator('.editor-group-container .tab', { hasText: title }).first();
  await tab.hover();
  await tab.locator('.tab-actions .action-label').first().click();
  await tab.waitFor({ state: 'detached', timeout: 10_000 });
}

/**
 * Checks the "Without labels" view against the results it draws: every cell of the heat
 * strip with its ρ, the scatter's points (and the baselines' when toggled on), and each
 * unlabelled split's estimates.
 */
async function checkWithoutLabels(f: FrameLocator, r: Results): Promise<void> {
  const pwl = r.performanceWithoutLabels!;
  const view = f.locator('#view-withoutLabels');
  assert.equal(await view.getAttribute('data-empty'), null);
  assert.equal(await view.getAttribute('data-shifts'), String(pwl.shifts.length));
  const strip = f.locator('svg[data-chart="indicativeness"]');
  await strip.waitFor({ timeout: 10_000 });
  const cells = await strip.locator('g[data-tap]').evaluateAll((els) =>
    els.map((g) => [g.getAttribute('data-tap') ?? '', g.getAttribute('data-metric') ?? '', g.getAttribute('data-rho') ?? '']),
  );
  const metrics = [...new Set(cells.map((c) => c[1]))];
  assert.deepEqual(metrics.slice(0, 3), ['roughness', 'knnConfidence', 'featureShift'], 'the three label-free metrics of METHOD.md §4 are rows');
  // every metric some tap has a ρ for is a row
  for (const cell of Object.values(pwl.indicativeness)) {
    for (const [m, v] of Object.entries(cell)) if (typeof v === 'number') assert.ok(metrics.includes(m), `a row for ${m}`);
  }
  assert.equal(await strip.getAttribute('data-cells'), String(r.taps.length * metrics.length));
  assert.equal(cells.length, r.taps.length * metrics.length);
  for (const [tap, metric, rho] of cells) {
    const want = (pwl.indicativeness[tap] as unknown as Record<string, number | null> | undefined)?.[metric] ?? null;
    assert.equal(rho === '' ? null : Number(rho), want, `ρ of ${metric} at ${tap}`);
  }
  const scatter = f.locator('canvas[data-chart="shift-scatter"]');
  assert.equal(await scatter.getAttribute('data-points'), String(pwl.shifts.filter((c) => typeof c.lofo.features === 'number').length));
  const baselinePoints = pwl.shifts.filter((c) => typeof c.lofo.maxProbability === 'number').length + pwl.shifts.filter((c) => typeof c.lofo.entropy === 'number').length;
  const box = f.locator('#nl-baselines');
  if (!(await box.isChecked())) await box.check();
  await f.locator(`canvas[data-chart="shift-scatter"][data-baselines="true"][data-baseline-points="${baselinePoints}"]`).waitFor({ timeout: 5000 });
  for (const n of ['features', 'maxProbability', 'entropy'] as const) {
    const row = f.locator(`tr[data-predictor="${n}"]`);
    assert.equal(await row.getAttribute('data-mae'), String(pwl.predictors[n]?.lofoMae ?? ''));
  }
  for (const [split, e] of Object.entries(pwl.splits)) {
    const plot = f.locator(`svg[data-chart="estimates"][data-split="${split}"]`);
    for (const n of ['features', 'maxProbability', 'entropy'] as const) {
      const est = e.predicted[n];
      assert.equal(await plot.locator(`g[data-predictor="${n}"]`).getAttribute('data-estimate'), est ? `${est.value},${est.low},${est.high}` : 'none', `${split} ${n}`);
    }
    const ours = e.predicted.features;
    // the one rule: two decimals, and only the range when it cannot tell
    const start = ours && (ours.grade === 'cannot tell' ? `Predicted Dice somewhere in ${ours.low.toFixed(2)}–${ours.high.toFixed(2)} (cannot tell)` : `Predicted Dice ${ours.value.toFixed(2)} [${ours.low.toFixed(2)}, ${ours.high.toFixed(2)}]`);
    if (start) assert.ok((await f.locator(`.nl-split-card[data-split="${split}"] [data-role="estimate-text"]`).innerText()).startsWith(start), start);
  }
}

// ---------------------------------------------------------------- set-up

before(async () => {
  assert.ok(fs.existsSync(path.join(REPO_ROOT, 'dist', 'extension.js')), 'build first (npm test does)');
  workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'unetlens-panels-'));
  fs.cpSync(EXAMPLE, workspace, { recursive: true, filter: (src) => !src.includes('unetlens-out') });
  modelBytes = fs.readFileSync(path.join(workspace, 'model.onnx'));
  fs.writeFileSync(
    path.join(workspace, 'train.py'),
    [
      'import torch',
      'from example_unet import ExampleUNet',
      '',
      'model = ExampleUNet()',
      '# ... train the UNet ...',
      'x = torch.zeros(1, 1, 64, 64)',
      'torch.onnx.export(model, x, "model.onnx", opset_version=13,',
      '                  input_names=["image"], output_names=["logits"])',
      'torch.onnx.export(model, x, "not_written_yet.onnx")',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(path.join(workspace, 'train_keras.py'), 'import tensorflow as tf\n\nmodel = build_unet()\ntf.saved_model.save(model, "exported")\n');
  fs.mkdirSync(path.join(workspace, 'exported'));
  fs.writeFileSync(path.join(workspace, 'exported', 'saved_model.pb'), Buffer.from([0x08, 0x01]));
  server = await startCodeServer({ workspace, extensionDevPath: REPO_ROOT });
  ({ browser, page } = await openBrowser(server.url, { console: consoleLines, viewport: { width: 1600, height: 1000 } }));
  await waitForWorkbench(page);
});

after(async () => {
  await browser?.close().catch(() => {});
  if (server) {
    const ours = server.serverLogs().split('\n').filter((l) => /unet ?lens/i.test(l)).slice(-40);
    if (ours.length) process.stderr.write(`[e2e] extension log lines:\n${ours.join('\n')}\n`);
    await server.stop();
  }
  const errors = consoleLines.filter((l) => /UNet Lens|unetlens/i.test(l) && /error|pageerror/i.test(l));
  if (errors.length) process.stderr.write(`[e2e] webview errors:\n${errors.join('\n')}\n`);
  if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
});

// ---------------------------------------------------------------- tests

let results: Results;

test('the CodeLens over torch.onnx.export runs the analysis beside train.py; every view draws the right taps, splits and points', async () => {
  await openFile('train.py');
  // A lens over the export of the existing model.onnx only (not_written_yet.onnx does not exist).
  await lens('Analyze generalization').waitFor({ timeout: 60_000 });
  assert.equal(await page.locator('.codelens-decoration a', { hasText: 'Analyze generalization' }).count(), 1);
  await screenshot(page, 'panels-codelens');
  const t0 = Date.now();
  await lens('Analyze generalization').click();
  await waitState('loading', 30_000).catch(() => {});
  await waitState('ready', 240_000);
  process.stderr.write(`[e2e] CodeLens → results drawn after ${Date.now() - t0} ms\n`);
  assert.equal(await page.locator('.editor-group-container').count(), 2, 'the panel opens beside the code');

  const files = cachedResults();
  assert.equal(files.length, 1, 'the worker wrote its results into the extension storage (the cache)');
  results = JSON.parse(fs.readFileSync(files[0], 'utf8'));
  assert.ok(fs.existsSync(path.join(path.dirname(files[0]), 'report.html')));
  assert.ok(fs.existsSync(path.join(path.dirname(files[0]), '..', 'index.json')), 'the cache index');
  const nTaps = results.taps.length;
  const nSplits = results.splits.length;
  const f = frame();
  assert.equal(await bodyAttr('taps'), String(nTaps));
  assert.equal(await bodyAttr('splits'), String(nSplits));
  assert.equal(await bodyAttr('cached'), 'false');

  // Overview: the log toggle of roughness.
  const rough = f.locator('canvas[data-chart="roughness"]');
  assert.equal(await rough.getAttribute('data-scale'), 'linear');
  await f.locator('#ov-log-roughness').check();
  assert.equal(await rough.getAttribute('data-scale'), 'log');
  // hover a point of the DB chart: the tooltip names the tap, its op, shape and receptive field
  const db = f.locator('canvas[data-chart="db"]');
  const box = (await db.boundingBox())!;
  await db.hover({ position: { x: box.width * 0.45, y: box.height * 0.5 } });
  await page.waitForTimeout(300);
  await screenshot(page, 'panels-overview-dark');

  // The U: one block per tap.
  await showTab('The U');
  const unet = f.locator('svg[data-chart="unet"]');
  await unet.waitFor({ timeout: 10_000 });
  assert.equal(await unet.getAttribute('data-blocks'), String(nTaps));
  assert.equal(await unet.locator('g[data-tap]').count(), nTaps);
  assert.ok(Number(await unet.locator('[data-skips]').getAttribute('data-skips')) >= 1, 'skip connections drawn');
  await screenshot(page, 'panels-unet-dark');

  // Tap view: the PCA of the selected tap with every point of every split.
  await showTab('Tap view');
  const first = results.taps[0].name;
  const pca = f.locator('canvas[data-chart="pca"]');
  await pca.waitFor({ timeout: 10_000 });
  assert.equal(await pca.getAttribute('data-tap'), first);
  const total = Object.values(results.pca[first].points).reduce((a, r) => a + r.length, 0);
  assert.equal(await pca.getAttribute('data-total'), String(total));
  assert.equal(await pca.getAttribute('data-points'), String(Math.min(total, Number(await pca.getAttribute('data-points')))));
  assert.ok(Number(await pca.getAttribute('data-points')) >= Math.min(total, 2500));
  process.stderr.write(`[e2e] PCA: ${await pca.getAttribute('data-points')} points drawn in ${await pca.getAttribute('data-draw-ms')} ms\n`);
  assert.ok(Number(await pca.getAttribute('data-draw-ms')) < 1000, 'the scatter draws in well under a second');
  // Hovering redraws only the tooltip over the kept bitmap of the points. (The verdict above
  // the tabs can push the scatter below the fold: bring it into view to hover it.)
  await pca.scrollIntoViewIfNeeded();
  const pbox = (await pca.boundingBox())!;
  const hoverMs: number[] = [];
  const hitsBefore = Number((await pca.getAttribute('data-cache-hits')) ?? 0);
  for (let i = 0; i < 12; i++) {
    await page.mouse.move(pbox.x + pbox.width * (0.3 + 0.03 * i), pbox.y + pbox.height * 0.45);
    await page.waitForTimeout(40);
    hoverMs.push(Number(await pca.getAttribute('data-render-ms')));
  }
  hoverMs.sort((a, b) => a - b);
  const hits = Number((await pca.getAttribute('data-cache-hits')) ?? 0) - hitsBefore;
  process.stderr.write(`[e2e] PCA hover redraw: median ${hoverMs[6]} ms, ${hits} of them from the kept bitmap\n`);
  // (a timing, not asserted: the speed of the panel is measured in bench/, not in tests)
  assert.ok(hits > 0, 'hovering redraws the tooltip over the kept bitmap of the points, not the points again');

  // Where is the model unsure: maps, or the empty state when the results have none.
  await showTab('Where is the model unsure');
  const maps = results.maps?.items ?? [];
  const mapsRoot = f.locator('#view-maps');
  assert.equal(await mapsRoot.getAttribute('data-items'), String(maps.length));
  if (maps.length === 0) {
    assert.equal(await mapsRoot.getAttribute('data-empty'), 'maps');
    assert.match(await mapsRoot.innerText(), /This results file has no confidence maps/);
  } else {
    await f.locator('canvas[data-chart="map"]').waitFor({ timeout: 10_000 });
  }
  await screenshot(page, 'panels-maps-dark');

  // Splits: every split, measured or predicted (or "not predicted yet").
  await showTab('Splits');
  const plot = f.locator('svg[data-chart="splits"]');
  await plot.waitFor({ timeout: 10_000 });
  assert.equal(await plot.getAttribute('data-splits'), String(nSplits));
  for (const s of results.splits) {
    const row = plot.locator(`g[data-split="${s.name}"]`);
    if (s.labeled) assert.equal(Number(await row.getAttribute('data-value')), s.performance!.dice);
    else if (s.predictedPerformance) assert.equal(Number((await row.getAttribute('data-predicted'))!.split(',')[0]), s.predictedPerformance.dice);
    else {
      assert.equal(await row.getAttribute('data-predicted'), 'none');
      assert.match(await f.locator(`.split-card[data-split="${s.name}"]`).innerText(), /not predicted yet/);
    }
  }
  await screenshot(page, 'panels-splits-dark');

  // Without labels: the example has a labelled test split, so the shift sweep ran.
  assert.ok(results.performanceWithoutLabels, 'results.json has performanceWithoutLabels (the example has a labelled test split)');
  await showTab('Without labels');
  await checkWithoutLabels(f, results);
  await screenshot(page, 'panels-without-labels-dark');
  await f.locator('canvas[data-chart="shift-scatter"]').scrollIntoViewIfNeeded();
  await screenshot(page, 'panels-without-labels-scatter-dark');
  await f.locator('svg[data-chart="estimates"]').first().scrollIntoViewIfNeeded();
  await screenshot(page, 'panels-without-labels-estimates-dark');
  await f.locator('svg[data-chart="indicativeness"]').scrollIntoViewIfNeeded();
  // a click on a cell selects its tap in every view
  const deep = results.taps.find((t) => t.stage === 'bottleneck') ?? results.taps[Math.floor(results.taps.length / 2)];
  await f.locator(`svg[data-chart="indicativeness"] g[data-tap="${deep.name}"][data-metric="featureShift"]`).click();
  await f.locator(`body[data-tap="${deep.name}"]`).waitFor({ state: 'attached', timeout: 5000 });
  assert.equal(await f.locator('svg[data-chart="indicativeness"]').getAttribute('data-selected'), deep.name);
  await showTab('The U');
  assert.equal(await f.locator('svg[data-chart="unet"]').getAttribute('data-selected'), deep.name);
});

test('clicking a block of The U selects that tap everywhere; Enter on a block does too', async () => {
  const f = frame();
  await showTab('The U');
  const unet = f.locator('svg[data-chart="unet"]');
  const target = results.taps.find((t) => t.stage === 'bottleneck') ?? results.taps[Math.floor(results.taps.length / 2)];
  await unet.locator(`g[data-tap="${target.name}"]`).click();
  await f.locator(`body[data-tap="${target.name}"]`).waitFor({ timeout: 5000 });
  assert.equal(await unet.getAttribute('data-selected'), target.name);
  assert.equal(await unet.locator(`g[data-tap="${target.name}"]`).getAttribute('aria-pressed'), 'true');
  assert.match(await f.locator('.unet-detail').innerText(), new RegExp(target.op));
  await screenshot(page, 'panels-unet-selected');
  await showTab('Tap view');
  const pca = f.locator('canvas[data-chart="pca"]');
  await f.locator(`canvas[data-chart="pca"][data-tap="${target.name}"]`).waitFor({ timeout: 5000 });
  const total = Object.values(results.pca[target.name].points).reduce((a, r) => a + r.length, 0);
  assert.equal(await pca.getAttribute('data-total'), String(total));
  assert.equal(await f.locator('#tap-select').inputValue(), target.name);

  // Keyboard: focus the selected block, arrow to the next one, Enter.
  await showTab('The U');
  const idx = results.taps.findIndex((t) => t.name === target.name);
  const next = results.taps[idx + 1];
  await unet.locator(`g[data-tap="${target.name}"]`).focus();
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('Enter');
  await f.locator(`body[data-tap="${next.name}"]`).waitFor({ timeout: 5000 });
  assert.equal(await unet.getAttribute('data-selected'), next.name);
  await showTab('Tap view');
  await f.locator(`canvas[data-chart="pca"][data-tap="${next.name}"]`).waitFor({ timeout: 5000 });
});

test('light and dark themes: the webview body class changes and every chart is drawn again in the new colours', async () => {
  const f = frame();
  await showTab('The U');
  const unet = f.locator('svg[data-chart="unet"]');
  const darkBg = await unet.getAttribute('data-bg');
  assert.match((await f.locator('body').getAttribute('class')) ?? '', /vscode-dark/);
  const redraws = Number((await bodyAttr('redraws')) ?? '0');

  await pickColorTheme('Light Modern');
  await f.locator('body.vscode-light').waitFor({ state: 'attached', timeout: 30_000 });
  await f.locator(`body[data-theme="light"]`).waitFor({ state: 'attached', timeout: 10_000 });
  await page.waitForFunction(() => true);
  const lightBg = await unet.getAttribute('data-bg');
  assert.notEqual(lightBg, darkBg, `The U drawn again (${darkBg} → ${lightBg})`);
  assert.equal(await unet.getAttribute('data-theme'), 'light');
  assert.ok(Number(await bodyAttr('redraws')) > redraws, 'the charts were redrawn');
  await screenshot(page, 'panels-unet-light');
  for (const [tab, sel, shot] of [
    ['Overview', 'canvas[data-chart="db"]', 'panels-overview-light'],
    ['Tap view', 'canvas[data-chart="pca"]', 'panels-tap-light'],
    ['Splits', 'svg[data-chart="splits"]', 'panels-splits-light'],
    ['Without labels', 'svg[data-chart="indicativeness"]', 'panels-without-labels-light'],
  ] as const) {
    await showTab(tab);
    await f.locator(`${sel}[data-theme="light"]`).waitFor({ timeout: 10_000 });
    if (tab === 'Without labels') await f.locator('canvas[data-chart="shift-scatter"][data-theme="light"]').waitFor({ timeout: 10_000 });
    await screenshot(page, shot);
    if (tab === 'Without labels') {
      await f.locator('canvas[data-chart="shift-scatter"]').scrollIntoViewIfNeeded();
      await screenshot(page, 'panels-without-labels-scatter-light');
    }
  }

  await pickColorTheme('Dark High Contrast');
  await f.locator('body.vscode-high-contrast').waitFor({ state: 'attached', timeout: 30_000 });
  await showTab('The U');
  await f.locator('svg[data-chart="unet"][data-theme="high-contrast"]').waitFor({ timeout: 10_000 });
  await screenshot(page, 'panels-unet-hc');

  await pickColorTheme('Dark Modern');
  await f.locator('body.vscode-dark').waitFor({ state: 'attached', timeout: 30_000 });
  await f.locator('svg[data-chart="unet"][data-theme="dark"]').waitFor({ timeout: 10_000 });
  assert.equal(await f.locator('svg[data-chart="unet"]').getAttribute('data-bg'), darkBg);
  await showTab('Tap view');
  await f.locator('canvas[data-chart="pca"][data-theme="dark"]').waitFor({ timeout: 10_000 });
});

test('a window reload brings the panel back, on the same view and tap', async () => {
  const f = frame();
  await showTab('The U');
  const tap = await bodyAttr('tap');
  await page.waitForTimeout(600); // the view choices are saved debounced
  // Developer: Reload Window shuts the window down properly (its state is saved), as a
  // user's reload does; a bare page reload in the browser may lose the last minute of it.
  const reloaded = page.waitForEvent('load', { timeout: 60_000 });
  await runCommand(page, 'Developer: Reload Window');
  await reloaded;
  await waitForWorkbench(page);
  await waitState('ready', 60_000);
  assert.equal(await bodyAttr('taps'), String(results.taps.length));
  assert.equal(await bodyAttr('view'), 'unet');
  assert.equal(await bodyAttr('tap'), tap);
  await f.locator('svg[data-chart="unet"]').waitFor({ timeout: 10_000 });
  await screenshot(page, 'panels-after-reload');
});

test('the model file changing on disk shows the stale banner with Re-run; restoring it clears the banner', async () => {
  const f = frame();
  const model = path.join(workspace, 'model.onnx');
  // touched but the same bytes: not stale
  fs.utimesSync(model, new Date(), new Date());
  await page.waitForTimeout(2500);
  assert.equal(await bodyAttr('state'), 'ready');
  // a new checkpoint (here: the same network with another doc_string, field 6 of ModelProto)
  fs.writeFileSync(model, Buffer.concat([modelBytes, Buffer.from([0x32, 0x05]), Buffer.from('epoch')]));
  await waitState('stale', 20_000);
  const banner = f.locator('.banner.stale');
  assert.match(await banner.innerText(), /model file changed on disk/i);
  assert.equal(await banner.getByRole('button', { name: 'Re-run' }).count(), 1);
  await screenshot(page, 'panels-stale');
  fs.writeFileSync(model, modelBytes);
  await waitState('ready', 20_000);
});

test('the cache: the same analysis again shows the cached results at once and says so', async () => {
  // Close the panel, then ask again from the CodeLens.
  await closeTab('UNet Lens: model.onnx');
  await openFile('train.py');
  await lens('Analyze generalization').click();
  const t0 = Date.now();
  await waitState('ready', 30_000);
  const ms = Date.now() - t0;
  process.stderr.write(`[e2e] cached results shown after ${ms} ms\n`);
  assert.equal(await bodyAttr('cached'), 'true');
  assert.equal(workerPids(server).length, 0, 'no worker ran');
  assert.ok(ms < 15_000, `at once (${ms} ms)`);
  const banner = frame().locator('.banner.cached');
  assert.match(await banner.innerText(), /Cached results/);
  assert.equal(await banner.getByRole('button', { name: 'Re-run' }).count(), 1);
  assert.equal(cachedResults().length, 1, 'no second copy');
  await screenshot(page, 'panels-cached');
});

test('unetLens.autoRerun: a new checkpoint re-runs the analysis by itself (here with unetLens.predictPerformance off: "Without labels" says why it is empty)', async () => {
  writeWorkspaceSettings({ 'unetLens.autoRerun': true, 'unetLens.predictPerformance': false });
  await page.waitForTimeout(3000); // the settings file is read again (and a panel already stale would re-run now)
  const model = path.join(workspace, 'model.onnx');
  const newBytes = Buffer.concat([modelBytes, Buffer.from([0x32, 0x06]), Buffer.from('epoch2')]);
  fs.writeFileSync(model, newBytes);
  await waitState('stale', 20_000).catch(() => {});
  // the worker starts once the file has been quiet, then the panel fills again
  const deadline = Date.now() + 30_000;
  while (workerPids(server).length === 0 && Date.now() < deadline) await page.waitForTimeout(200);
  assert.ok(workerPids(server).length > 0, 'a worker runs the analysis again');
  await waitState('ready', 240_000);
  assert.equal(await bodyAttr('cached'), 'false');
  const newest = JSON.parse(fs.readFileSync(cachedResults()[0], 'utf8')) as Results;
  assert.notEqual(newest.model.sha256, results.model.sha256, 'the new checkpoint was analyzed');
  assert.equal(newest.performanceWithoutLabels, undefined, 'the sweep is off');
  const f = frame();
  await showTab('Without labels');
  const view = f.locator('#view-withoutLabels');
  await view.locator('[data-role="nl-absent"]').waitFor({ timeout: 10_000 });
  assert.equal(await view.getAttribute('data-empty'), 'without-labels');
  assert.equal(await view.getAttribute('data-reason'), 'off');
  assert.match(await view.innerText(), /unetLens\.predictPerformance/);
  assert.equal(await f.locator('svg[data-chart="indicativeness"], canvas[data-chart="shift-scatter"]').count(), 0);
  await screenshot(page, 'panels-without-labels-off');
  writeWorkspaceSettings({ 'unetLens.autoRerun': false, 'unetLens.predictPerformance': true });
});

test('a lens over a SavedModel export explains that the format is coming', async () => {
  await openFile('train_keras.py');
  const l = lens(/support coming/);
  await l.waitFor({ timeout: 30_000 });
  assert.match(await l.innerText(), /SavedModel/);
  await l.click();
  await waitForNotification(page, /reads ONNX, TF\.js \(model\.json\) and Keras/, 10_000);
  await screenshot(page, 'panels-codelens-keras');
  await page.keyboard.press('Escape');
});

test('Open Results… on the sample results: the confidence map follows the tap chosen in The U; PNG export and Export report…', async () => {
  // Only one panel at a time in view: close the model's panel first.
  await closeTab('UNet Lens: model.onnx');
  await runCommand(page, 'UNet Lens: Open Results…');
  await answerFileDialog(page, SAMPLE, 'panels-file-dialog-stuck');
  const f = frame();
  await waitState('ready', 30_000, f);
  const sample = JSON.parse(fs.readFileSync(SAMPLE, 'utf8')) as Results;
  assert.equal(await bodyAttr('taps', f), String(sample.taps.length));
  await showTab('Where is the model unsure', f);
  const map = f.locator('canvas[data-chart="map"]');
  await map.waitFor({ timeout: 10_000 });
  // It starts where problems are: the first unlabelled split with maps (its worst predicted
  // image first when the results rank them; the sample's do not, so file order).
  const unlabelled = new Set(sample.splits.filter((sp) => !sp.labeled).map((sp) => sp.name));
  const first = sample.maps.items.find((i) => unlabelled.has(i.split))!;
  assert.ok(first, 'the sample holds maps of an unlabelled split');
  assert.equal(await map.getAttribute('data-split'), first.split);
  assert.equal(await map.getAttribute('data-image'), first.image);
  assert.equal(await map.getAttribute('data-preview'), first.preview.dims.join('x'));
  assert.equal(await f.locator('.map-thumb').count(), sample.maps.items.filter((i) => i.split === first.split).length);
  assert.equal(await f.locator('.map-tapcell').count(), sample.taps.length);
  assert.equal(await map.getAttribute('data-contours'), 'prediction');
  await screenshot(page, 'panels-maps-sample');

  // Without labels on the sample: its section drawn as it is
  await showTab('Without labels', f);
  await checkWithoutLabels(f, sample);
  await screenshot(page, 'panels-without-labels-sample');

  // choose a deeper tap in The U: the map follows
  await showTab('The U', f);
  const deep = sample.taps.find((t) => t.level === 2)!;
  await f.locator(`svg[data-chart="unet"] g[data-tap="${deep.name}"]`).click();
  await showTab('Where is the model unsure', f);
  await f.locator(`canvas[data-chart="map"][data-tap="${deep.name}"]`).waitFor({ timeout: 5000 });
  assert.equal(await map.getAttribute('data-grid'), deep.shape.slice(1).join('x'));
  // a labelled split: the label's contour too
  const labelled = sample.maps.items.find((i) => !unlabelled.has(i.split))!;
  await f.locator('#maps-split').selectOption(labelled.split);
  await f.locator(`canvas[data-chart="map"][data-split="${labelled.split}"]`).waitFor({ timeout: 5000 });
  assert.match((await map.getAttribute('data-contours')) ?? '', /label/);
  await screenshot(page, 'panels-maps-labelled');

  // PNG of The U through the save dialog
  await showTab('The U', f);
  const png = path.join(workspace, 'the-u.png');
  await f.locator('#view-unet').getByRole('button', { name: 'Export the network picture as PNG' }).click();
  await answerFileDialog(page, png, 'panels-file-dialog-stuck');
  // written: there and not empty (the file can be seen created before its bytes land)
  const written = (f: string) => fs.existsSync(f) && fs.statSync(f).size > 0;
  const deadline = Date.now() + 10_000;
  while (!written(png) && Date.now() < deadline) await page.waitForTimeout(200);
  const bytes = fs.readFileSync(png);
  assert.deepEqual([...bytes.subarray(1, 4)], [0x50, 0x4e, 0x47], 'a PNG');
  assert.ok(bytes.readUInt32BE(16) > 600, `wide enough (${bytes.readUInt32BE(16)} px)`);

  // Export report…: a copy of the self-contained report with the new views
  const report = path.join(workspace, 'report-copy.html');
  await f.getByRole('button', { name: 'Export report…' }).click();
  await answerFileDialog(page, report, 'panels-file-dialog-stuck');
  const d2 = Date.now() + 10_000;
  while (!written(report) && Date.now() < d2) await page.waitForTimeout(200);
  const html = fs.readFileSync(report, 'utf8');
  assert.match(html, /id="unetlens-results"/);
  assert.match(html, /Where is the model unsure/);
  assert.match(html, /"maps":\{"items":\[\{/);
});
