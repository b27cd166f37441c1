/**
 * Workspace Trust, inside real VS Code: in a restricted (untrusted) workspace the command
 * explains why it will not run a model, and does nothing else — no worker, no panel. A
 * results.json opened there (its model changed since, and unetLens.autoRerun on in the user
 * and the workspace settings) is shown, but nothing runs: not the automatic re-run, not the
 * panel's Re-run.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { REPO_ROOT, answerFileDialog, openBrowser, runCommand, screenshot, startCodeServer, waitForNotification, waitForWorkbench, webviewFrame, workerPids, type CodeServer } from './codeServer';

let workspace: string;
let server: CodeServer;
let browser: Browser;
let page: Page;

before(async () => {
  workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'unetlens-untrusted-'));
  fs.cpSync(path.join(REPO_ROOT, 'examples', 'synthetic'), workspace, { recursive: true, filter: (s) => !s.includes('unetlens-out') });
  // A results file whose model is this workspace's model.onnx, analyzed at another sha256:
  // the panel's model "changed on disk", which with autoRerun on would re-run it.
  const sample = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'results-sample.json'), 'utf8'));
  sample.model = { ...sample.model, path: path.join(workspace, 'model.onnx'), sha256: '0'.repeat(64) };
  sample.dataset = { ...sample.dataset, path: path.join(workspace, 'unetlens.json') };
  fs.mkdirSync(path.join(workspace, 'lens-out'));
  fs.writeFileSync(path.join(workspace, 'lens-out', 'results.json'), JSON.stringify(sample));
  // autoRerun in the workspace's settings (a restricted setting: ignored while untrusted) and the user's
  fs.mkdirSync(path.join(workspace, '.vscode'));
  fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'unetLens.autoRerun': true, 'unetLens.workerMemoryMB': 600000 }));
  server = await startCodeServer({
    workspace,
    extensionDevPath: REPO_ROOT,
    workspaceTrust: true,
    userSettings: { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never', 'unetLens.autoRerun': true },
  });
  ({ browser, page } = await openBrowser(server.url));
  await waitForWorkbench(page);
});

after(async () => {
  await browser?.close().catch(() => {});
  await server?.stop();
  if (workspace) fs.rmSync(workspace, { recursive: true, force: true });
});

test('in Restricted Mode the command explains itself and runs nothing', async () => {
  await runCommand(page, 'UNet Lens: Analyze Generalization');
  const msg = await waitForNotification(page, /trusted workspace/, 20_000);
  assert.match(msg, /runs the model file to analyze it/);
  await page.waitForTimeout(1500);
  await screenshot(page, 'restricted-mode');
  assert.equal(workerPids(server).length, 0, 'no worker started');
  assert.equal(await page.locator('iframe.webview').count(), 0, 'no panel opened');
  assert.equal(await page.locator('.quick-input-widget:visible').count(), 0, 'no quick pick either');
});

test('in Restricted Mode a results.json opens, its model "changed", autoRerun is on: nothing runs, not even Re-run', async () => {
  await runCommand(page, 'UNet Lens: Open Results…');
  await answerFileDialog(page, path.join(workspace, 'lens-out', 'results.json'));
  const f = webviewFrame(page, { extensionId: 'unetlens.unet-lens' });
  // the freshness check finds another sha256: the stale banner, and (trusted) an automatic re-run
  await f.locator('body[data-state="stale"]').waitFor({ state: 'attached', timeout: 30_000 });
  await page.waitForTimeout(4000); // longer than the re-run debounce (2 s)
  assert.equal(workerPids(server).length, 0, 'the automatic re-run did not start a worker');
  const banner = f.locator('.banner.stale');
  assert.doesNotMatch(await banner.innerText(), /re-running/i, 'autoRerun is not in effect in Restricted Mode');
  await screenshot(page, 'restricted-mode-stale');
  // the panel's Re-run: explains, runs nothing
  await banner.getByRole('button', { name: 'Re-run' }).click();
  await waitForNotification(page, /trusted workspace/, 15_000);
  await page.waitForTimeout(1500);
  assert.equal(workerPids(server).length, 0, 'Re-run did not start a worker');
  assert.ok(!fs.existsSync(path.join(workspace, 'lens-out', 'report.html')), 'nothing written into the workspace');
  await screenshot(page, 'restricted-mode-rerun');
});
