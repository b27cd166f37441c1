/**
 * "Meet researchers where their files are", inside real VS Code (code-server + Chromium):
 *
 * - right-click a TorchScript .pt → Analyze Generalization: exported to ONNX with the Python
 *   the Python extension has selected — the real ms-python.python cannot be installed offline,
 *   so a stand-in extension with the same API surface (test/fixtures/python-extension-standin)
 *   answers /usr/bin/python3 (Debian's python3-torch); `unetLens.pythonPath` is left empty and
 *   python3 on this machine's PATH has no torch, so only the extension's answer can work. The
 *   panel draws every tap and split, and nothing is written next to the .pt;
 * - right-click a plain state_dict .pt: the error says it holds weights without a graph;
 * - right-click an nnU-Net dataset folder → Create Dataset File…: unetlens.json appears and
 *   opens; the tiny 3D model in that folder is then analyzed with it (3 splits).
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
  screenshot,
  startCodeServer,
  waitForNotification,
  waitForWorkbench,
  webviewFrame,
  type CodeServer,
  panelBody,
} from './codeServer';

const PY = '/usr/bin/python3';
let workspace: string;
let server: CodeServer;
let browser: Browser;
let page: Page;

before(async () => {
  assert.ok(fs.existsSync(path.join(REPO_ROOT, 'dist', 'extension.js')), 'build first (npm test does)');
  workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'unetlens-ws-torch-'));
  const example = path.join(REPO_ROOT, 'examples', 'synthetic');
  fs.cpSync(example, workspace, { recursive: true, filter: (src) => !src.includes('unetlens-out') && !src.endsWith('model.onnx') });
  fs.copyFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'torch', 'example_traced.pt'), path.join(workspace, 'model_scripted.pt'));
  fs.writeFileSync(path.join(workspace, 'train.py'), 'import torch\n\n# ... train ...\ntorch.jit.save(torch.jit.script(model), "model_scripted.pt")\n');
  // An nnU-Net raw dataset with its splits and plans beside dataset.json, and a model trained on it.
  const nn = path.join(REPO_ROOT, 'test', 'fixtures', 'nnunet');
  const ds = path.join(workspace, 'Dataset042_Tiny');
  fs.cpSync(path.join(nn, 'nnUNet_raw', 'Dataset042_Tiny'), ds, { recursive: true });
  for (const f of ['splits_final.json', 'nnUNetPlans.json']) fs.copyFileSync(path.join(nn, 'nnUNet_preprocessed', 'Dataset042_Tiny', f), path.join(ds, f));
  fs.copyFileSync(path.join(nn, 'tiny3d.onnx'), path.join(ds, 'tiny3d.onnx'));
  server = await startCodeServer({
    workspace,
    extensionDevPath: REPO_ROOT,
    extraExtensions: [path.join(REPO_ROOT, 'test', 'fixtures', 'python-extension-standin')],
    env: { UNETLENS_STANDIN_PYTHON: PY },
  });
  ({ browser, page } = await openBrowser(server.url, { viewport: { width: 1600, height: 1000 } }));
  await waitForWorkbench(page);
});

after(async () => {
  await browser?.close().catch(() => {});
  if (server) {
    const ours = server.serverLogs().split('\n').filter((l) => /unet ?lens|export/i.test(l)).slice(-40);
    if (ours.length) process.stderr.write(`[e2e] extension log lines:\n${ours.join('\n')}\n`);
    await server.stop();
  }
  if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
});

test('right-click a TorchScript .pt → Analyze Generalization: exported with the user’s Python, every tap and split drawn', async () => {
  const before = fs.readdirSync(workspace).sort();
  const t0 = Date.now();
  await explorerContextMenu(page, 'model_scripted.pt', 'Analyze Generalization', 30_000);
  const { frame } = await panelBody(page, 300_000, 'ready', 'model_scripted.pt');
  process.stderr.write(`[e2e] .pt exported and analyzed in ${Date.now() - t0} ms\n`);
  const body = frame.locator('body');
  assert.equal(await body.getAttribute('data-taps'), '15');
  assert.equal(await body.getAttribute('data-splits'), '3');
  assert.deepEqual(fs.readdirSync(workspace).sort(), before, 'nothing written next to the .pt');
  assert.match(server.serverLogs(), /Python extension: selected interpreter \/usr\/bin\/python3/);
  await screenshot(page, 'pytorch-panel');
});

test('right-click a state_dict .pt: it holds weights without a graph, and the fix is shown', async () => {
  await explorerContextMenu(page, 'model.pt', 'Analyze Generalization', 30_000);
  const msg = await waitForNotification(page, /model\.pt holds weights without a graph/, 120_000);
  assert.match(msg, /state_dict of 26 tensors/);
  await screenshot(page, 'pytorch-state-dict-error');
});

test('right-click an nnU-Net folder → Create Dataset File…: unetlens.json is written and opened, then the 3D model is analyzed with it', async () => {
  const ds = path.join(workspace, 'Dataset042_Tiny');
  await explorerContextMenu(page, 'Dataset042_Tiny', 'Create Dataset File…', 30_000);
  await page.locator('.editor-group-container .tab', { hasText: 'unetlens.json' }).first().waitFor({ timeout: 60_000 });
  const json = JSON.parse(fs.readFileSync(path.join(ds, 'unetlens.json'), 'utf8'));
  assert.deepEqual(json.classes, ['background', 'lesion', 'edema']);
  assert.deepEqual(Object.keys(json.splits), ['train', 'validation', 'test']);
  await waitForNotification(page, /created unetlens\.json for the nnU-Net dataset \(3 classes, 2 channels/, 15_000);
  await screenshot(page, 'create-dataset-file');
  // The folder row expands when a file in it opens; the model is then visible.
  await explorerContextMenu(page, 'tiny3d.onnx', 'Analyze Generalization', 30_000);
  const { frame } = await panelBody(page, 240_000, 'ready', 'tiny3d.onnx');
  assert.equal(await frame.locator('body').getAttribute('data-splits'), '3');
  await screenshot(page, 'nnunet-panel');
});
