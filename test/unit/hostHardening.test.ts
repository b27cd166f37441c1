/**
 * Issue #14 in the extension host: Workspace Trust and the results-file confirmation on
 * every path that runs a model (runAnalysis: Analyze, Re-run, auto re-run), settings
 * checked against their bounds, hostile results files, the results cache (npz members in
 * the fingerprint, index entries that would steer a delete, orphans swept), FIFOs never
 * hashed, temp reports deleted with their panel. Against the fake `vscode` (fakeVscode.ts).
 */
import { fake, state, reset, Uri } from './fakeVscode'; // first: installs `vscode`
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as vscode from 'vscode';
import { PanelManager } from '../../src/host/panelManager';
import { resultsProblem } from '../../src/host/resultsFile';
import { readRunSettings, runAnalysis } from '../../src/commands/analyze';
import { decideRun, confirmKey, type RunContext } from '../../src/host/runPolicy';
import { ResultsCache, dataFingerprint } from '../../src/host/resultsCache';
import { FileHasher } from '../../src/host/hash';
import { sampleResults } from './messageCases';
import { precheckJob } from '../../src/workerHandler';
import type { LensError } from '../../src/engine/types';

const REPO = path.resolve(__dirname, '..', '..');
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'unetlens-harden-'));
const ws = fake.workspace as { isTrusted: boolean; workspaceFolders: unknown };

beforeEach(() => reset());
afterEach(() => {
  ws.isTrusted = true;
  ws.workspaceFolders = undefined;
});

// ---------------------------------------------------------------- the policy

test('decideRun: untrusted refuses everything; results-file paths outside the workspace ask (or skip when automatic)', () => {
  const ctx: RunContext = { trusted: true, workspaceFolders: ['/w'], cacheRoot: '/store/results', confirmed: new Set() };
  const job = { modelPath: '/w/model.onnx', datasetPath: '/w/unetlens.json' };
  assert.deepEqual(decideRun(job, { ...ctx, trusted: false }), { action: 'refuse', reason: 'untrusted' });
  assert.deepEqual(decideRun({ ...job, auto: true, source: '/store/results/abc/results.json' }, { ...ctx, trusted: false }), { action: 'refuse', reason: 'untrusted' });
  assert.deepEqual(decideRun(job, ctx), { action: 'run' }, 'chosen by the user');
  assert.deepEqual(decideRun({ ...job, source: '/store/results/0123456789abcdef/results.json' }, ctx), { action: 'run' }, 'our own cache');
  assert.deepEqual(decideRun({ ...job, source: '/w/out/results.json' }, ctx), { action: 'run' }, 'all inside the workspace');
  assert.deepEqual(decideRun({ modelPath: '/etc/evil.onnx', datasetPath: '/w/unetlens.json', source: '/w/out/results.json' }, ctx), { action: 'confirm', outside: ['/etc/evil.onnx'] });
  assert.deepEqual(decideRun({ ...job, source: '/tmp/downloaded/results.json' }, ctx), { action: 'confirm', outside: ['/tmp/downloaded/results.json'] });
  assert.deepEqual(decideRun({ ...job, source: '/tmp/downloaded/results.json', auto: true }, ctx), { action: 'skip-auto', outside: ['/tmp/downloaded/results.json'] });
  assert.deepEqual(decideRun({ ...job, source: '/wx/results.json' }, ctx).action, 'confirm', '/wx is not inside /w');
  assert.deepEqual(decideRun({ ...job, source: '/w/../etc/results.json' }, ctx).action, 'confirm');
  const confirmed = new Set([confirmKey(job.modelPath, job.datasetPath)]);
  assert.deepEqual(decideRun({ ...job, source: '/tmp/r.json' }, { ...ctx, confirmed }), { action: 'run' }, 'confirmed this session');
  assert.deepEqual(decideRun({ modelPath: 'model.onnx', datasetPath: '/w/u.json', source: '/w/r.json' }, ctx), { action: 'refuse', reason: 'not-a-path' });
  assert.deepEqual(decideRun({ modelPath: 42 as unknown as string, datasetPath: '/w/u.json', source: '/w/r.json' }, ctx), { action: 'refuse', reason: 'not-a-path' });
});

test('readRunSettings: out-of-range settings are an error naming the setting; good ones pass through', () => {
  const from = (cfg: Record<string, unknown>) => readRunSettings(<T>(k: string) => cfg[k] as T | undefined);
  assert.deepEqual(from({}), { overrides: {}, threads: 0, workerMemoryMB: 8192, reuseSplits: true });
  assert.deepEqual(from({ maxPoints: 512, seed: 3, threads: 2, workerMemoryMB: 1024, predictPerformance: false, reuseSplits: false }), {
    overrides: { maxPoints: 512, seed: 3, shifts: { enabled: false } },
    threads: 2,
    workerMemoryMB: 1024,
    reuseSplits: false,
  });
  assert.deepEqual(from({ maxPoints: null, seed: null }), { overrides: {}, threads: 0, workerMemoryMB: 8192, reuseSplits: true });
  for (const [key, v] of [['maxPoints', 1e20], ['maxPoints', 2.5], ['seed', -1], ['threads', 1e9], ['workerMemoryMB', 16], ['maxPoints', '512']] as const) {
    const r = from({ [key]: v });
    assert.ok('error' in r, `${key}=${v}`);
    assert.match(r.error, new RegExp(`unetLens\\.${key} must be a whole number from \\d+ to \\d+`));
  }
});

test('resultsProblem: what the host reads of a results file is checked', () => {
  assert.equal(resultsProblem(sampleResults), undefined);
  assert.match(resultsProblem(null)!, /not a JSON object/);
  assert.match(resultsProblem([1])!, /not a JSON object/);
  assert.match(resultsProblem({ schema: 'x' })!, /"schema"/);
  assert.match(resultsProblem({ ...sampleResults, model: { path: 42 } })!, /model\.path/);
  assert.match(resultsProblem({ ...sampleResults, dataset: {} })!, /dataset\.path/);
});

// ---------------------------------------------------------------- runAnalysis: every path is gated

/** The analyze command's dependencies; the worker script records that it ran. */
function setup(dir: string) {
  const extDir = path.join(dir, 'ext');
  mkdirSync(path.join(extDir, 'dist'), { recursive: true });
  const ran = path.join(dir, 'worker-ran');
  writeFileSync(path.join(extDir, 'dist', 'worker.js'), `require('fs').writeFileSync(${JSON.stringify(ran)}, 'yes'); process.exit(0);`);
  const logs: string[] = [];
  const log = { info: (l: string) => logs.push(l), warn: (l: string) => logs.push(l), error: (l: string) => logs.push(l), show() {} };
  const extensionUri = Uri.file(extDir) as unknown as vscode.Uri;
  const panels = new PanelManager(extensionUri, { log: (l) => void logs.push(l) });
  const deps = {
    context: { extensionUri, extension: { packageJSON: { version: '0.0.0-test' } } } as unknown as vscode.ExtensionContext,
    panels,
    log: log as unknown as vscode.LogOutputChannel,
    setRunning: () => undefined,
    cache: new ResultsCache(path.join(dir, 'storage', 'results')),
    hasher: new FileHasher(),
  };
  const model = path.join(dir, 'model.onnx');
  const dataset = path.join(dir, 'unetlens.json');
  writeFileSync(model, 'not really a model');
  writeFileSync(dataset, JSON.stringify({ splits: {} }));
  return { deps, logs, ran, model, dataset, panels };
}

test('untrusted workspace: runAnalysis (Analyze, Re-run, auto re-run) starts no worker and opens no panel', async () => {
  const dir = tmp();
  try {
    const { deps, ran, model, dataset, logs } = setup(dir);
    ws.isTrusted = false;
    await runAnalysis(deps, model, dataset);
    await runAnalysis(deps, model, dataset, { force: true, source: path.join(dir, 'results.json') });
    await runAnalysis(deps, model, dataset, { auto: true, source: path.join(dir, 'results.json') });
    assert.ok(!existsSync(ran), 'no worker ran');
    assert.equal(state.panels.length, 0, 'no panel');
    assert.equal(state.messages.filter((m) => /trusted workspace/.test(m.text)).length, 2, 'the two user-started runs say why; the automatic one only logs');
    assert.ok(logs.some((l) => /automatic re-run skipped/.test(l)), logs.join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Re-run of a panel opened from a results file outside the workspace asks first; declined or automatic: nothing runs', async () => {
  const dir = tmp();
  try {
    const { deps, ran, dataset, panels } = setup(dir);
    ws.workspaceFolders = [{ uri: Uri.file(path.join(dir, 'workspace')) }];
    const source = path.join(dir, 'downloads', 'results.json');
    mkdirSync(path.dirname(source));
    const evil = { ...sampleResults, model: { ...sampleResults.model, path: '/usr/share/evil/model.onnx' }, dataset: { ...sampleResults.dataset, path: dataset } };
    writeFileSync(source, JSON.stringify(evil));
    const p = panels.show('/usr/share/evil/model.onnx', evil, source);
    assert.deepEqual(p.job, { modelPath: '/usr/share/evil/model.onnx', datasetPath: dataset, source });
    // What extension.ts wires to the panel's Re-run and to the auto re-run:
    await runAnalysis(deps, p.job!.modelPath, p.job!.datasetPath, { force: true, source: p.job!.source });
    const ask = state.messages.find((m) => m.kind === 'warning');
    assert.ok(ask && /Run the model named in results\.json\?/.test(ask.text), JSON.stringify(state.messages));
    await runAnalysis(deps, p.job!.modelPath, p.job!.datasetPath, { auto: true, source: p.job!.source });
    assert.equal(state.messages.filter((m) => m.kind === 'warning').length, 1, 'the automatic re-run does not ask');
    assert.ok(!existsSync(ran), 'no worker ran');
    p.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('out-of-range settings: runAnalysis says which setting and runs nothing', async () => {
  const dir = tmp();
  try {
    const { deps, ran, model, dataset } = setup(dir);
    state.config = { maxPoints: 1e20 };
    await runAnalysis(deps, model, dataset);
    assert.ok(!existsSync(ran));
    assert.match(state.messages.at(-1)!.text, /unetLens\.maxPoints must be a whole number from 16 to 1000000/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------- cache and files

test('dataFingerprint: a split given as data.npz#member follows data.npz (replacing it is a new fingerprint)', async () => {
  const dir = tmp();
  try {
    writeFileSync(path.join(dir, 'data.npz'), 'v1');
    const ds = path.join(dir, 'unetlens.json');
    writeFileSync(ds, JSON.stringify({ splits: { train: { images: 'data.npz#x_train', labels: 'data.npz#y_train' } } }));
    const f1 = await dataFingerprint(ds);
    writeFileSync(path.join(dir, 'data.npz'), 'version 2');
    assert.notEqual(await dataFingerprint(ds), f1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ResultsCache: an index entry whose dir leaves the cache is never deleted or read; orphans and old temp files are swept', async () => {
  const dir = tmp();
  try {
    const root = path.join(dir, 'results');
    const victim = path.join(dir, 'precious');
    mkdirSync(victim, { recursive: true });
    writeFileSync(path.join(victim, 'results.json'), '{}');
    mkdirSync(root, { recursive: true });
    const bad = (key: string, d: string) => ({ key, dir: d, modelPath: '/m', datasetPath: '/d', modelSha256: '', datasetSha256: '', settings: {}, createdAt: '2020', usedAt: '2020' });
    writeFileSync(
      path.join(root, 'index.json'),
      JSON.stringify({ version: 1, entries: { k1: bad('k1', '../precious'), k2: bad('k2', '/'), k3: bad('k3', '..') } }),
    );
    const cache = new ResultsCache(root, 1);
    assert.equal(await cache.lookup('k1'), undefined, 'not read');
    await cache.remove('k2');
    await cache.remove('k3');
    assert.ok(existsSync(path.join(victim, 'results.json')), 'nothing outside the cache removed');

    // orphans: a key folder no entry names, an old index temp file, a killed write in a key folder, many uncached runs
    const old = new Date(Date.now() - 3 * 3600 * 1000);
    const orphan = path.join(root, 'aaaaaaaaaaaaaaaa');
    mkdirSync(orphan);
    writeFileSync(path.join(orphan, 'results.json'), '{}');
    const fresh = path.join(root, 'bbbbbbbbbbbbbbbb'); // a worker may be writing it right now
    mkdirSync(fresh);
    const tmpIndex = path.join(root, 'index.json.123.456.tmp');
    writeFileSync(tmpIndex, '{');
    for (let i = 0; i < 7; i++) {
      const u = path.join(root, 'uncached', `${i}`.repeat(16));
      mkdirSync(u, { recursive: true });
      utimesSync(u, new Date(Date.now() - i * 1000), new Date(Date.now() - i * 1000));
    }
    const mine = path.join(root, 'notes.txt'); // not a name the cache makes
    writeFileSync(mine, 'x');
    for (const p of [orphan, tmpIndex, mine]) utimesSync(p, old, old);
    const key = 'c'.repeat(64);
    mkdirSync(cache.dirFor(key));
    writeFileSync(path.join(cache.dirFor(key), 'results.json'), '{}');
    const killed = path.join(cache.dirFor(key), 'results.json.4242.tmp');
    writeFileSync(killed, '{"half');
    utimesSync(killed, old, old);
    await cache.record({ key, modelPath: '/m', datasetPath: '/d', modelSha256: '', datasetSha256: '', settings: {} }); // sweeps
    assert.ok(!existsSync(orphan), 'orphaned key folder removed');
    assert.ok(existsSync(fresh), 'a new unreferenced folder is kept (may be in the making)');
    assert.ok(!existsSync(tmpIndex), 'old index temp file removed');
    assert.ok(!existsSync(killed), 'old temp file of a killed write removed');
    assert.ok(existsSync(path.join(cache.dirFor(key), 'results.json')));
    assert.ok(existsSync(mine), 'files the cache does not make are left alone');
    assert.deepEqual(readdirSync(path.join(root, 'uncached')).sort(), ['0000000000000000', '1111111111111111', '2222222222222222', '3333333333333333']);
    assert.ok(existsSync(path.join(victim, 'results.json')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('FileHasher refuses a FIFO at once (it would never end)', async () => {
  const dir = tmp();
  try {
    const fifo = path.join(dir, 'model.onnx');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(new FileHasher().sha256(fifo), /not a regular file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Open report on results without a report.html: one temp file per panel, deleted when the panel closes', async () => {
  const dir = tmp();
  try {
    const source = path.join(dir, 'results.json');
    writeFileSync(source, JSON.stringify(sampleResults));
    const panels = new PanelManager(Uri.file(REPO) as unknown as vscode.Uri, { log: () => undefined });
    const opened: string[] = [];
    const openExternal = fake.env.openExternal;
    (fake.env as { openExternal: (u: unknown) => Promise<boolean> }).openExternal = async (u: unknown) => {
      opened.push((u as Uri).fsPath);
      return true;
    };
    try {
      const p = panels.show(sampleResults.model.path, sampleResults, source);
      const fp = state.panels[0];
      fp.receive({ type: 'openReport' });
      await new Promise((r) => setTimeout(r, 300));
      fp.receive({ type: 'openReport' });
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(opened.length, 2);
      assert.equal(opened[0], opened[1], 'the same temp file');
      assert.ok(existsSync(opened[0]));
      p.dispose();
      assert.ok(!existsSync(opened[0]), 'deleted with the panel');
    } finally {
      fake.env.openExternal = openExternal;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the worker's precheck: a FIFO model, a device dataset file, an output folder that is a file: LensErrors before anything runs", () => {
  const dir = tmp();
  try {
    const fifo = path.join(dir, 'model.onnx');
    execFileSync('mkfifo', [fifo]);
    const ds = path.join(dir, 'unetlens.json');
    writeFileSync(ds, '{}');
    const job = { type: 'analyze' as const, id: 'j', modelPath: fifo, datasetPath: ds, outDir: path.join(dir, 'out') };
    assert.throws(() => precheckJob(job), (e: LensError) => e.kind === 'model' && /model\.onnx: the model file is a FIFO/.test(e.message));
    assert.throws(() => precheckJob({ ...job, datasetPath: '/dev/zero' }), (e: LensError) => e.kind === 'dataset' && /character device/.test(e.message));
    writeFileSync(path.join(dir, 'afile'), '');
    assert.throws(() => precheckJob({ ...job, outDir: path.join(dir, 'afile') }), (e: LensError) => e.kind === 'args' && /results folder .*afile: is a file/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
