/**
 * UNet Lens inside real VS Code (code-server 4.100.3 + Debian Chromium, driven by
 * playwright-core): the user's path end to end, on a copy of the bundled example.
 *
 * - right-click model.onnx in the Explorer → "Analyze Generalization" → the worker runs →
 *   the panel opens beside the training script and draws every tap and split;
 * - the same analysis again: read back from the split cache;
 * - the palette command with its quick pick, then Cancel in the progress notification:
 *   the worker is gone within 2 s and the editor goes on working;
 * - a corrupt .onnx: a clear error naming the file, the file untouched, the editor usable;
 * - a model file clicked in the Explorer opens to its page (graph, Analyze Generalization),
 *   and a corrupt one to what is wrong with it.
 * Screenshots go to test-results/e2e/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import {
  REPO_ROOT,
  explorerContextMenu,
  openBrowser,
  runCommand,
  screenshot,
  startCodeServer,
  waitForNotification,
  waitForWorkbench,
  webviewFrame,
  webviewWith,
  workerPids,
  type CodeServer,
  panelBody,
} from './codeServer';
import { describeModel } from '../../src/host/modelPage';

const EXAMPLE = path.join(REPO_ROOT, 'examples', 'synthetic');
let workspace: string;
let server: CodeServer;
let browser: Browser;
let page: Page;
const consoleLines: string[] = [];


before(async () => {
  assert.ok(fs.existsSync(path.join(REPO_ROOT, 'dist', 'extension.js')), 'build first (npm test does)');
  workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'unetlens-ws-'));
  fs.cpSync(EXAMPLE, workspace, { recursive: true, filter: (src) => !src.includes('unetlens-out') });
  // A training script to edit while the panel sits beside it.
  fs.writeFileSync(
    path.join(workspace, 'train.py'),
    'import torch\n\n# ... train the UNet ...\ntorch.onnx.export(model, x, "model.onnx", opset_version=13)\n',
  );
  // A model file cut short, as an interrupted export leaves it.
  const bytes = fs.readFileSync(path.join(workspace, 'model.onnx'));
  fs.writeFileSync(path.join(workspace, 'broken.onnx'), bytes.subarray(0, 5000));
  // The same network saved by Keras (built from the ONNX weights by scripts/onnx-to-tfjs.ts).
  fs.copyFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'tfjs', 'example.keras'), path.join(workspace, 'unet.keras'));
  server = await startCodeServer({ workspace, extensionDevPath: REPO_ROOT });
  ({ browser, page } = await openBrowser(server.url, { console: consoleLines, viewport: { width: 1600, height: 1000 } }));
  await waitForWorkbench(page);
});

after(async () => {
  await browser?.close().catch(() => {});
  if (server) {
    const ours = server.extensionLog().split('\n').slice(-60);
    process.stderr.write(`[e2e] the extension's log, last lines:\n${ours.join('\n')}\n`);
    await server.stop();
  }
  if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
});

test('right-click model.onnx → Analyze Generalization → the panel opens beside the training code with every tap and split', async () => {
  // Open the training script first: the panel must open beside it.
  await runCommand(page, 'Go to File...').catch(async () => {
    await page.keyboard.press('Control+P');
  });
  const quick = page.locator('.quick-input-widget .quick-input-box input');
  await quick.fill('train.py');
  await page.locator('.quick-input-widget .monaco-list-row.focused', { hasText: 'train.py' }).waitFor({ timeout: 15_000 });
  await quick.press('Enter');
  await page.locator('.editor-group-container .tab.active', { hasText: 'train.py' }).waitFor({ timeout: 15_000 });

  const t0 = Date.now();
  await explorerContextMenu(page, 'model.onnx', 'Analyze Generalization', 30_000);
  // The panel opens at once (loading), then fills when the worker answers.
  await panelBody(page, 30_000, 'loading').catch(() => {});
  const firstPanelMs = Date.now() - t0;
  const { frame } = await panelBody(page, 180_000, 'ready');
  const readyMs = Date.now() - t0;
  process.stderr.write(`[e2e] first panel after ${firstPanelMs} ms; results drawn after ${readyMs} ms\n`);

  const body = frame.locator('body');
  assert.equal(await body.getAttribute('data-taps'), '15');
  assert.equal(await body.getAttribute('data-splits'), '3');
  const metrics = (await body.getAttribute('data-metrics'))!.split(',');
  for (const m of ['db', 'roughness', 'knnConfidence', 'featureShift']) assert.ok(metrics.includes(m), `${m} drawn (${metrics})`);
  const series = JSON.parse((await frame.locator('canvas[data-chart="db"]').getAttribute('data-series'))!) as { split: string; values: (number | null)[] }[];
  assert.deepEqual(series.map((s) => s.split), ['train', 'test'], 'db needs labels: train and test only');
  for (const s of series) {
    assert.equal(s.values.length, 15);
    assert.ok(s.values.every((v) => typeof v === 'number' && v > 0), `${s.split}: ${s.values}`);
  }
  const shift = JSON.parse((await frame.locator('canvas[data-chart="featureShift"]').getAttribute('data-series'))!) as { split: string; values: number[] }[];
  assert.deepEqual(shift.map((s) => s.split), ['train', 'test', 'siteB']);

  // Beside the training code: two editor groups, train.py in one, the panel in the other.
  const groups = page.locator('.editor-group-container');
  assert.equal(await groups.count(), 2);
  assert.equal(await page.locator('.editor-group-container .tab', { hasText: 'train.py' }).count(), 1);
  assert.equal(await page.locator('.editor-group-container .tab', { hasText: 'UNet Lens: model.onnx' }).count(), 1);

  // The results were written into the extension's storage, not the workspace.
  assert.ok(!fs.existsSync(path.join(workspace, 'results.json')));
  await screenshot(page, 'panel-overview');
  assert.equal(workerPids(server).length, 0, 'the worker exits when done');
});

/** The palette command, model.onnx picked in its quick pick (two models in the workspace). */
async function analyzeFromPalette(): Promise<void> {
  await runCommand(page, 'UNet Lens: Analyze Generalization');
  const quick = page.locator('.quick-input-widget');
  await quick.locator('.monaco-list-row', { hasText: 'model.onnx' }).first().waitFor({ timeout: 15_000 });
  await quick.locator('.quick-input-box input').fill('model.onnx');
  await quick.locator('.monaco-list-row.focused', { hasText: 'model.onnx' }).waitFor({ timeout: 5000 });
  await quick.locator('.quick-input-box input').press('Enter');
}

test('the same analysis again: every split and the shifted copies read back from the split cache, the same panel in a few seconds', async () => {
  // The panel already shows these results, so asking again runs the analysis (the host's
  // results cache is for reopening): this run ends with one more "done in" line in the log.
  const runs = () => (server.extensionLog().match(/\] done in \d+ ms/g) ?? []).length;
  const before = runs();
  const t0 = Date.now();
  await analyzeFromPalette();
  while (runs() === before && Date.now() - t0 < 60_000) await page.waitForTimeout(100);
  const readyMs = Date.now() - t0;
  process.stderr.write(`[e2e] the same analysis again: done after ${readyMs} ms\n`);
  assert.match(server.extensionLog(), /split cache: read back train, test, siteB, the shifted copies; measured nothing/);
  const { frame } = await panelBody(page, 30_000, 'ready');
  const body = frame.locator('body');
  assert.equal(await body.getAttribute('data-taps'), '15');
  assert.equal(await body.getAttribute('data-splits'), '3');
  assert.ok(readyMs < 20_000, `ready after ${readyMs} ms`);
  assert.equal(workerPids(server).length, 0);
});

test('palette command with quick pick, then Cancel: the worker stops within 2 s and the editor stays usable', async () => {
  // A train image touched (a new mtime): every split's key holds train's files, so this run
  // measures everything again (and lasts long enough to be cancelled).
  const trainImages = path.join(workspace, 'data', 'train', 'images');
  const touched = new Date(Date.now() + 60_000);
  fs.utimesSync(path.join(trainImages, fs.readdirSync(trainImages).sort()[0]), touched, touched);
  await analyzeFromPalette();

  // The progress notification, with its Cancel button, once the worker is running.
  const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'UNet Lens' }).first();
  await toast.waitFor({ timeout: 30_000 });
  const deadline = Date.now() + 30_000;
  while (workerPids(server).length === 0 && Date.now() < deadline) await page.waitForTimeout(100);
  assert.ok(workerPids(server).length > 0, 'a worker process runs the analysis');
  await page.waitForTimeout(1500);
  await screenshot(page, 'progress-notification');
  const text = await toast.innerText();
  // Whatever stage the worker is in when the toast is read (it moves on quickly), it is named after the model.
  assert.match(text, /model\.onnx: (Reading|Loading|Forward passes|Train reference|Metrics|Maps|Shift sweep|Label-free)/, `progress shows the stage: ${text}`);

  const t0 = Date.now();
  await toast.hover();
  await toast.locator('.monaco-button', { hasText: 'Cancel' }).click();
  while (workerPids(server).length > 0 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
  const stoppedMs = Date.now() - t0;
  process.stderr.write(`[e2e] worker gone ${stoppedMs} ms after Cancel\n`);
  assert.equal(workerPids(server).length, 0);
  assert.ok(stoppedMs < 2000, `worker stopped after ${stoppedMs} ms`);
  await waitForNotification(page, /analysis cancelled/i, 10_000);

  // The editor still answers: type into the training script.
  await page.locator('.editor-group-container .tab', { hasText: 'train.py' }).click();
  await page.locator('.monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type('# still responsive\n');
  await page.locator('.view-line', { hasText: 'still responsive' }).waitFor({ timeout: 5000 });
});

test('right-click a Keras .keras file → the same analysis through TF.js, with the backend named', async () => {
  await explorerContextMenu(page, 'unet.keras', 'Analyze Generalization', 30_000);
  const { frame } = await panelBody(page, 240_000, 'ready', 'unet.keras');
  const body = frame.locator('body');
  assert.equal(await body.getAttribute('data-taps'), '15');
  assert.equal(await body.getAttribute('data-splits'), '3');
  const text = await body.innerText();
  assert.match(text, /tfjs 4\.22\.0 (wasm|node|cpu)/, 'the panel says which backend ran');
  await screenshot(page, 'panel-keras');
});

test('a corrupt .onnx gets a clear error naming the file; the file is untouched and the editor usable', async () => {
  const before = fs.readFileSync(path.join(workspace, 'broken.onnx'));
  await explorerContextMenu(page, 'broken.onnx', 'Analyze Generalization', 30_000);
  const msg = await waitForNotification(page, /broken\.onnx is not a valid ONNX model/, 60_000);
  process.stderr.write(`[e2e] error shown: ${msg}\n`);
  assert.match(msg, /truncated at byte \d+/);
  // The panel of that model says the same, in its error state.
  const { body } = await panelBody(page, 30_000, 'error', 'broken.onnx');
  assert.match(await body.innerText(), /broken\.onnx is not a valid ONNX model/);
  await screenshot(page, 'corrupt-model-error');
  assert.deepEqual(fs.readFileSync(path.join(workspace, 'broken.onnx')), before, 'the model file is unchanged');
  assert.equal(workerPids(server).length, 0);
  // Usable: the next command runs (open the log channel).
  await runCommand(page, 'UNet Lens: Show Log');
  await page.locator('.part.panel', { hasText: 'UNet Lens' }).first().waitFor({ timeout: 15_000 });
});

test('clicking model.onnx in the Explorer opens its page, not its bytes; Analyze Generalization there runs the analysis; a corrupt file\'s page says what is wrong', async () => {
  const ext = 'unetlens.unet-lens';
  const row = (name: string) => page.locator('.explorer-folders-view .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${name.replace('.', '\\.')}$`) }) }).first();
  await row('model.onnx').click();
  const f = await webviewWith(page, 'body[data-state="model"][data-format="onnx"]', { extensionId: ext, timeoutMs: 30_000 });
  const expected = (await describeModel(path.join(workspace, 'model.onnx'), 'model.onnx')).onnx!;
  assert.equal(await f.locator('td[data-role="inputs"]').innerText(), `image: float32 [${expected.inputs[0].dims!.join(', ')}]`);
  assert.match(await f.locator('td[data-role="layers"]').innerText(), new RegExp(`^${expected.nodes} nodes: Conv ${expected.ops[0].count} · Relu`));
  assert.match(await f.locator('td[data-role="parameters"]').innerText(), /^29\.3 k$/);
  assert.equal(await page.locator('.editor-group-container .tab.active', { hasText: 'model.onnx' }).count(), 1);
  await screenshot(page, 'model-page');

  // The page's one action: the same analysis as the Explorer's menu, for this model.
  const runs = () => (server.extensionLog().match(/\] done in \d+ ms/g) ?? []).length;
  const before = runs();
  await f.locator('a[data-role="analyze"]').click();
  const t0 = Date.now();
  while (runs() === before && Date.now() - t0 < 120_000) await page.waitForTimeout(200);
  assert.ok(runs() > before, 'the analysis ran to its end');
  assert.match(server.extensionLog(), /analyze: model .*model\.onnx/);
  const panel = await webviewWith(page, 'body[data-state="ready"][data-taps="15"]', { extensionId: ext, timeoutMs: 30_000 });
  assert.equal(await panel.locator('body').getAttribute('data-splits'), '3');
  // the page, still open, now shows what that analysis found: the verdict, the answer first
  const last = await webviewWith(page, 'body[data-state="model"] [data-role="last"] li', { extensionId: ext, timeoutMs: 30_000 });
  assert.match(await last.locator('[data-role="last"] li').first().innerText(), /^siteB: /);
  assert.match(await last.locator('[data-role="last"]').innerText(), /with unetlens\.json/);
  await screenshot(page, 'model-page-last');

  // A corrupt file opens to what is wrong with it, and no action; the file is not touched.
  const bytes = fs.readFileSync(path.join(workspace, 'broken.onnx'));
  await row('broken.onnx').click();
  const b = await webviewWith(page, 'body[data-state="model"] [data-role="error"]', { extensionId: ext, timeoutMs: 30_000 });
  assert.match(await b.locator('[data-role="error"]').innerText(), /cannot be read as an ONNX model\. broken\.onnx is not a valid ONNX model/);
  assert.equal(await b.locator('a[data-role="analyze"]').count(), 0);
  await screenshot(page, 'model-page-corrupt');
  assert.deepEqual(fs.readFileSync(path.join(workspace, 'broken.onnx')), bytes);
  await runCommand(page, 'View: Close All Editors');
});
