/**
 * Workspace Trust, inside real VS Code: in a restricted (untrusted) workspace the command
 * explains why it will not run a model, and does nothing else — no worker, no panel.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { REPO_ROOT, openBrowser, runCommand, screenshot, startCodeServer, waitForNotification, waitForWorkbench, workerPids, type CodeServer } from './codeServer';

let workspace: string;
let server: CodeServer;
let browser: Browser;
let page: Page;

before(async () => {
  workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'unetlens-untrusted-'));
  fs.cpSync(path.join(REPO_ROOT, 'examples', 'synthetic'), workspace, { recursive: true, filter: (s) => !s.includes('unetlens-out') });
  server = await startCodeServer({
    workspace,
    extensionDevPath: REPO_ROOT,
    workspaceTrust: true,
    userSettings: { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never' },
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
