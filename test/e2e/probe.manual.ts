/**
 * Manual smoke test of the e2e harness itself (not part of the regular suite):
 *
 *   node --import tsx --test test/e2e/probe.manual.ts
 *
 * Builds a throw-away extension in a temp dir (never in the repo) that, on "Probe: Hello",
 * forks a Node worker which loads onnxruntime-node from this repo and answers, then opens
 * a webview beside the editor whose script sets document.body.dataset.answer = '42'.
 * A second command is contributed to the Explorer context menu of *.onnx files.
 * The test drives all of it through code-server + Chromium and prints the timings.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import {
  REPO_ROOT, ensureCodeServer, explorerContextMenu, notifications, openBrowser, runCommand,
  screenshot, startCodeServer, waitForNotification, waitForWorkbench, webviewFrame, type CodeServer,
} from './codeServer';

const ORT = path.join(REPO_ROOT, 'node_modules', 'onnxruntime-node');

function writeProbeExtension(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({
    name: 'unet-lens-probe',
    displayName: 'UNet Lens harness probe',
    publisher: 'unetlens',
    version: '0.0.1',
    engines: { vscode: '^1.100.0' },
    main: './extension.js',
    activationEvents: [],
    contributes: {
      commands: [
        { command: 'unetlensProbe.hello', title: 'Probe: Hello' },
        { command: 'unetlensProbe.inspect', title: 'Probe: Inspect Model' },
      ],
      menus: {
        'explorer/context': [
          { command: 'unetlensProbe.inspect', when: 'resourceExtname == .onnx', group: 'navigation' },
        ],
      },
    },
  }, null, 2));
  fs.writeFileSync(path.join(dir, 'worker.js'), `
const ort = require(${JSON.stringify(ORT)});
process.on('message', (msg) => {
  const t = new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4]), [2, 2]);
  process.send({ reply: 'pong:' + msg.ping, dims: t.dims, backends: ort.listSupportedBackends().map((b) => b.name) });
  process.disconnect();
});
`);
  fs.writeFileSync(path.join(dir, 'extension.js'), `
const vscode = require('vscode');
const { fork } = require('child_process');
const path = require('path');
const crypto = require('crypto');

function askWorker() {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'worker.js'), [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { child.kill(); reject(new Error('worker timeout ' + stderr)); }, 20000);
    child.once('message', (m) => { clearTimeout(timer); resolve(m); });
    child.once('exit', (code) => { clearTimeout(timer); if (code) reject(new Error('worker exit ' + code + ' ' + stderr)); });
    child.send({ ping: 'hello' });
  });
}

exports.activate = function activate(context) {
  context.subscriptions.push(vscode.commands.registerCommand('unetlensProbe.hello', async () => {
    let reply;
    try { reply = await askWorker(); } catch (e) { reply = { error: String(e) }; }
    const panel = vscode.window.createWebviewPanel('unetlensProbe', 'Probe Panel', vscode.ViewColumn.Beside, { enableScripts: true });
    const nonce = crypto.randomBytes(16).toString('hex');
    panel.webview.html = \`<!DOCTYPE html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-\${nonce}';">
<style>body { font: 16px sans-serif; padding: 1em; } #answer { font-size: 64px; color: #4ec9b0; }</style></head>
<body><h1>Probe panel</h1><div id="answer">?</div><pre id="worker"></pre>
<script nonce="\${nonce}">
  document.body.dataset.answer = '42';
  document.getElementById('answer').textContent = 'answer = ' + document.body.dataset.answer;
  window.addEventListener('message', (ev) => {
    document.body.dataset.worker = JSON.stringify(ev.data);
    document.getElementById('worker').textContent = 'worker: ' + JSON.stringify(ev.data, null, 1);
  });
  acquireVsCodeApi().postMessage({ type: 'ready' });
</script></body></html>\`;
    panel.webview.onDidReceiveMessage((m) => { if (m.type === 'ready') panel.webview.postMessage(reply); });
    vscode.window.showInformationMessage('Probe: worker replied ' + (reply.reply || reply.error));
  }));
  context.subscriptions.push(vscode.commands.registerCommand('unetlensProbe.inspect', (uri) => {
    vscode.window.showInformationMessage('Probe: inspected ' + (uri ? path.basename(uri.fsPath) : 'nothing'));
  }));
};
exports.deactivate = function () {};
`);
}

let tmp: string;
let server: CodeServer | undefined;
let browser: Browser | undefined;
let page: Page;
const consoleLines: string[] = [];
const timings: Record<string, number> = {};

before(async () => {
  let t = Date.now();
  ensureCodeServer();
  timings.ensureCodeServerMs = Date.now() - t;

  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unetlens-probe-'));
  const extDir = path.join(tmp, 'probe-extension');
  const workspace = path.join(tmp, 'workspace');
  writeProbeExtension(extDir);
  fs.mkdirSync(workspace);
  fs.writeFileSync(path.join(workspace, 'model.onnx'), Buffer.from([0x08, 0x07]));
  fs.writeFileSync(path.join(workspace, 'notes.txt'), 'not a model\n');

  t = Date.now();
  server = await startCodeServer({ workspace, extensionDevPath: extDir });
  timings.serverHealthyMs = Date.now() - t;
  t = Date.now();
  ({ browser, page } = await openBrowser(server.url, { console: consoleLines }));
  timings.browserOpenMs = Date.now() - t;
  await waitForWorkbench(page);
  timings.workbenchReadyMs = Date.now() - t;
});

after(async () => {
  await browser?.close().catch(() => {});
  if (process.env.UNETLENS_E2E_DEBUG) {
    console.log(server?.logs.join(''));
    console.log(server?.serverLogs());
    console.log(consoleLines.join('\n'));
  }
  await server?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  console.log('timings (ms):', JSON.stringify(timings));
});

/** Screenshot test-results/e2e/<name>-FAILED.png when the body throws. */
function shotOnFailure(name: string, body: () => Promise<void>): () => Promise<void> {
  return async () => {
    try { await body(); } catch (e) { await screenshot(page, `${name}-FAILED`).catch(() => {}); throw e; }
  };
}

test('palette command forks an onnxruntime worker and opens a scripted webview', shotOnFailure('probe-hello', async () => {
  const t = Date.now();
  await runCommand(page, 'Probe: Hello');
  const body = webviewFrame(page).locator('body[data-answer]');
  await body.waitFor({ state: 'attached', timeout: 30_000 });
  timings.commandToWebviewMs = Date.now() - t;
  assert.equal(await body.getAttribute('data-answer'), '42');

  const workerBody = webviewFrame(page).locator('body[data-worker]');
  await workerBody.waitFor({ state: 'attached', timeout: 30_000 });
  const worker = JSON.parse((await workerBody.getAttribute('data-worker'))!);
  assert.equal(worker.reply, 'pong:hello', JSON.stringify(worker));
  assert.deepEqual(worker.dims, [2, 2]);
  assert.ok(worker.backends.includes('cpu'), JSON.stringify(worker.backends));

  const toast = await waitForNotification(page, 'Probe: worker replied');
  assert.match(toast, /pong:hello/);
  await screenshot(page, 'probe-hello');
}));

test('Explorer context menu entry appears for .onnx files and runs', shotOnFailure('probe-context-menu', async () => {
  await explorerContextMenu(page, 'model.onnx', 'Probe: Inspect Model');
  const toast = await waitForNotification(page, 'Probe: inspected');
  assert.equal(toast, 'Probe: inspected model.onnx');
  assert.ok((await notifications(page)).includes('Probe: inspected model.onnx'));
  await screenshot(page, 'probe-context-menu');

  // …and is absent for other files (the `when` clause is honoured).
  await assert.rejects(
    explorerContextMenu(page, 'notes.txt', 'Probe: Inspect Model', 3000),
    /not in the Explorer context menu/);
}));
