/**
 * The results panel (src/host/panelManager.ts) and the analyze command's panel handling,
 * against a small fake of the `vscode` API (fakeVscode.ts): disposing a panel releases
 * every listener and its event emitter; malformed webview messages are logged, never
 * thrown; the selected tap is remembered for the next panel of the model and after a
 * reload; closing the panel while its analysis runs stops the worker and does not reopen
 * the panel.
 */
import { fake, state, reset, EventEmitter, Uri, type FakeWebviewPanel } from './fakeVscode'; // first: installs `vscode`
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as vscode from 'vscode';
import { PanelManager, ResultsPanel } from '../../src/host/panelManager';
import { cancelCurrent, runAnalysis } from '../../src/commands/analyze';
import { ResultsCache } from '../../src/host/resultsCache';
import { FileHasher } from '../../src/host/hash';
import { malformedFor, sampleResults } from './messageCases';

beforeEach(() => reset());

const tick = () => new Promise((r) => setImmediate(r));
const ext = Uri.file('/ext') as unknown as vscode.Uri;
const manager = (logs: string[] = []) => new PanelManager(ext, { log: (l) => void logs.push(l) });
const lastResults = (fp: FakeWebviewPanel) =>
  [...fp.posted].reverse().find((m) => (m as { type: string }).type === 'results') as { type: 'results'; tap?: string } | undefined;

test('closing a panel releases every listener it registered and its event emitter; dispose is idempotent', () => {
  const panels = manager();
  const liveBefore = EventEmitter.live.size;
  const p = panels.panelFor('/m/model.onnx', 'UNet Lens: model.onnx');
  const fp = state.panels[0];
  assert.equal(fp.listenerCount, 3, 'message, view state and dispose listeners');
  assert.equal(EventEmitter.live.size, liveBefore + 4, "the fake panel's three emitters and the panel's own");
  let closed = 0;
  p.onDidClose(() => closed++);

  fp.dispose(); // the user closes the tab
  assert.equal(closed, 1);
  assert.ok(p.closed);
  assert.equal(fp.listenerCount, 0, 'no listener left on the closed webview panel');
  assert.equal(EventEmitter.live.size, liveBefore + 3, "the panel's own emitter is disposed");
  assert.equal(panels.all().length, 0);

  p.dispose();
  fp.dispose();
  assert.equal(closed, 1, 'onDidClose fires once');
  assert.doesNotThrow(() => p.showStatus('error', 'after close'), 'a closed panel posts nothing');
  assert.equal(fp.posted.length, 0);
});

test('disposing a panel from the host (PanelManager.dispose) closes its webview panel and releases everything', () => {
  const panels = manager();
  const a = panels.panelFor('/m/a.onnx', 'a');
  const b = panels.panelFor('/m/b.onnx', 'b');
  const closed: ResultsPanel[] = [];
  a.onDidClose(() => closed.push(a));
  b.onDidClose(() => closed.push(b));
  panels.dispose();
  assert.deepEqual(closed, [a, b]);
  for (const fp of state.panels) {
    assert.ok(fp.disposed);
    assert.equal(fp.listenerCount, 0);
  }
  assert.equal(panels.all().length, 0);
});

test('malformed webview messages are rejected with a logged reason; none throws or rejects', async () => {
  const logs: string[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => void unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  try {
    manager(logs).panelFor('/m/model.onnx', 'model');
    const fp = state.panels[0];
    const cases = malformedFor('webviewToHost');
    for (const { raw } of cases) fp.receive(raw);
    await tick();
    await tick();
    const rejected = logs.filter((l) => l.startsWith('[panel] rejected a webview message: '));
    assert.equal(rejected.length, cases.length, logs.filter((l) => !rejected.includes(l)).join('\n'));
    assert.ok(rejected.every((l) => l.length < 450));
    assert.deepEqual(unhandled, []);
    assert.deepEqual(state.messages, [], 'nothing shown to the user');
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});

test('the selected tap: the host remembers it, sends it again after ready, and the next panel of the model opens at it', async () => {
  const panels = manager();
  const model = '/m/model.onnx';
  const p = panels.show(model, sampleResults, '/r/results.json');
  const fp = state.panels[0];
  fp.receive({ type: 'ready' });
  await tick();
  assert.equal(lastResults(fp)?.tap, undefined, 'no tap chosen yet: the webview picks its first');
  fp.receive({ type: 'selectTap', tap: sampleResults.taps[3].name });
  await tick();
  assert.equal(p.selectedTap, sampleResults.taps[3].name);
  fp.receive({ type: 'ready' }); // hidden and shown again
  await tick();
  assert.equal(lastResults(fp)?.tap, sampleResults.taps[3].name);

  fp.dispose();
  panels.show(model, sampleResults, '/r/results.json', true);
  const fp2 = state.panels[1];
  assert.notEqual(fp2, fp);
  fp2.receive({ type: 'ready' });
  await tick();
  assert.equal(lastResults(fp2)?.tap, sampleResults.taps[3].name, 'a new panel of the model opens at the tap');
});

test('a panel restored after a reload opens at the tap in its saved state', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'unetlens-panel-'));
  try {
    const source = path.join(dir, 'results.json');
    writeFileSync(source, JSON.stringify(sampleResults));
    const panels = manager();
    const restored = fake.window.createWebviewPanel('unetLens.results', 'UNet Lens'); // what VS Code hands the serializer
    await panels.deserializeWebviewPanel(restored as unknown as vscode.WebviewPanel, { source, tap: sampleResults.taps[2].name });
    restored.receive({ type: 'ready' });
    await tick();
    assert.equal(lastResults(restored)?.tap, sampleResults.taps[2].name);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------- closing the panel cancels its analysis

/** A worker that starts, says it is loading, writes its pid and then works forever. */
const FAKE_WORKER = `
const fs = require('fs'), path = require('path');
process.on('message', (job) => {
  fs.writeFileSync(path.join(__dirname, 'pid'), String(process.pid));
  process.send({ type: 'progress', id: job.id, event: { stage: 'load', message: 'Loading the model' } });
  setInterval(() => {}, 1000);
  process.on('disconnect', () => process.exit(0));
});
`;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitFor(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The analyze command's dependencies around a fake extension folder whose worker works forever. */
function analysisSetup(dir: string) {
  const extDir = path.join(dir, 'ext');
  mkdirSync(path.join(extDir, 'dist'), { recursive: true });
  writeFileSync(path.join(extDir, 'dist', 'worker.js'), FAKE_WORKER);
  const model = path.join(dir, 'model.onnx');
  const dataset = path.join(dir, 'unetlens.json');
  writeFileSync(model, 'not really a model');
  writeFileSync(dataset, JSON.stringify({ splits: {} }));
  const logs: string[] = [];
  const log = { info: (l: string) => logs.push(l), warn: (l: string) => logs.push(l), error: (l: string) => logs.push(l), show() {} };
  const extensionUri = Uri.file(extDir) as unknown as vscode.Uri;
  const panels = new PanelManager(extensionUri, { log: (l) => void logs.push(l) });
  const running: boolean[] = [];
  const deps = {
    context: { extensionUri, extension: { packageJSON: { version: '0.0.0-test' } } } as unknown as vscode.ExtensionContext,
    panels,
    log: log as unknown as vscode.LogOutputChannel,
    setRunning: (r: boolean) => void running.push(r),
    cache: new ResultsCache(path.join(dir, 'cache')),
    hasher: new FileHasher(),
  };
  const pidFile = path.join(extDir, 'dist', 'pid');
  /** Starts the analysis and resolves with the worker's pid once it runs. */
  const start = async () => {
    const run = runAnalysis(deps, model, dataset);
    await waitFor('the worker to run', () => state.progress.length > 0 && existsSync(pidFile));
    const pid = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(alive(pid));
    return { run, pid };
  };
  return { start, panels, logs, running };
}

test('closing the panel while its analysis runs stops the worker, and the panel is not reopened', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'unetlens-close-'));
  try {
    const { start, panels, logs, running } = analysisSetup(dir);
    const { run, pid } = await start();
    assert.equal(state.panels.length, 1);

    state.panels[0].dispose(); // the user closes the panel
    await run;
    await waitFor('the worker to stop', () => !alive(pid), 3000);
    assert.equal(state.panels.length, 1, 'no panel was opened again');
    assert.equal(panels.all().length, 0);
    assert.deepEqual(running, [true, false]);
    assert.ok(logs.some((l) => /panel .*was closed: cancelling its analysis/.test(l)), logs.join('\n'));
    assert.ok(logs.includes('analysis cancelled: its panel was closed'), logs.join('\n'));
    assert.deepEqual(state.messages, [], 'no "cancelled" or error notification for a panel the user closed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Cancel Analysis (panel open) stops the worker and the panel says so', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'unetlens-cancel-'));
  try {
    const { start, panels, running } = analysisSetup(dir);
    const { run, pid } = await start();
    assert.ok(cancelCurrent());
    await run;
    await waitFor('the worker to stop', () => !alive(pid), 3000);
    assert.equal(state.panels.length, 1);
    const [p] = panels.all();
    assert.equal(p.status, 'error');
    assert.deepEqual(running, [true, false]);
    assert.deepEqual(state.messages, [{ kind: 'info', text: 'UNet Lens: analysis cancelled.' }]);
    p.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
