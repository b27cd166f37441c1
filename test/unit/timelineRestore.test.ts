/**
 * The Timeline and Compare panels after a window reload (src/host/timelineRestore.ts and the
 * serializer in src/commands/timeline.ts, against the `vscode` fake): the saved state is
 * declared once (src/protocol/messages.ts `savedTimeline`) and checked before anything is
 * read; hostile and old state shapes are rejected with a sentence for the panel, never a
 * throw. What the panel shows again is read from the results files the state names: a file
 * that is gone, or a checkpoint rewritten since, is said in words. A restored checkpoint
 * series runs nothing on restore, and watches its folder again only in a trusted workspace
 * with its folder and dataset file inside the workspace.
 */
import { fake, state, reset, Uri } from './fakeVscode'; // first: installs `vscode`
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, statSync, utimesSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as vscode from 'vscode';
import { CANNOT_RESTORE, parseTimelineState, readSavedColumns, readSavedComparison, resumeProblem, restoredStatus, someNames, type SavedSeries } from '../../src/host/timelineRestore';
import { MAX_SAVED_CHECKPOINTS, parseHostToTimeline, type SavedTimeline } from '../../src/protocol/messages';
import { restoreTimelinePanel } from '../../src/commands/timeline';
import type { AnalyzeDeps } from '../../src/commands/analyze';
import { results } from '../builders';
import { genericMalformed, HUGE } from './messageCases';
import type { Results } from '../../src/engine/types';

const ws = fake.workspace as { isTrusted: boolean; workspaceFolders: unknown };
let dir: string;

beforeEach(() => {
  reset();
  ws.isTrusted = true;
  ws.workspaceFolders = undefined;
  dir = mkdtempSync(path.join(os.tmpdir(), 'unetlens-restore-'));
});
afterEach(() => {
  ws.isTrusted = true;
  ws.workspaceFolders = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const CACHE = '/store/results';
const series = (o: Partial<SavedSeries> = {}): SavedSeries => ({
  type: 'series',
  spec: '/w/checkpoints',
  datasetPath: '/w/unetlens.json',
  resultsDir: false,
  checkpoints: [{ path: '/w/checkpoints/epoch_1.onnx', mtimeMs: 1700000000000.5, resultsPath: `${CACHE}/0123456789abcdef/results.json` }],
  ...o,
});
const comparison: SavedTimeline = { type: 'comparison', a: '/w/a/results.json', b: '/w/b/results.json' };
/** The webview's whole state: its view choices and what the host asked it to remember. */
const webviewState = (restore: unknown) => ({ metric: 'featureShift', split: 'test', restore });

function rejected(st: unknown): string {
  let r: ReturnType<typeof parseTimelineState> | undefined;
  assert.doesNotThrow(() => (r = parseTimelineState(st, CACHE)));
  assert.ok(r && !r.ok, `accepted: ${JSON.stringify(st)?.slice(0, 200)}`);
  assert.ok(r.reason.startsWith(`${CANNOT_RESTORE}: `), r.reason);
  assert.match(r.reason, /Run UNet Lens: Analyze Checkpoints… or UNet Lens: Compare Results… again\.$/);
  assert.ok(r.reason.length < 700, `reason of ${r.reason.length} characters`);
  return r.reason;
}

test('the saved state is declared once: a series and a comparison pass, as does the remember message that carries them', () => {
  for (const saved of [series(), series({ resultsDir: true, datasetPath: undefined, checkpoints: [] }), comparison]) {
    const r = parseTimelineState(webviewState(saved), CACHE);
    assert.ok(r.ok, r.ok ? '' : r.reason);
    assert.deepEqual(r.saved, saved);
    assert.ok(parseHostToTimeline({ type: 'remember', state: saved }).ok);
  }
  // A saved state that does not parse is no remember message either (the webview never keeps it).
  const bad = parseHostToTimeline({ type: 'remember', state: { ...comparison, a: 7 } });
  assert.ok(!bad.ok);
  assert.match(bad.reason, /malformed "remember".*"state".*malformed "comparison".*"a" must be a string/);
});

test('old and hostile state shapes are rejected with a sentence for the panel, never a throw', () => {
  assert.match(rejected(undefined), /no saved state came back with it/);
  assert.match(rejected(null), /no saved state came back with it/);
  assert.match(rejected('series'), /not an object \(got string\)/);
  assert.match(rejected([webviewState(series())]), /not an object \(got an array\)/);
  // What the Timeline's webview kept before panels came back: the view choices only.
  assert.match(rejected({ metric: 'featureShift', split: 'test' }), /older UNet Lens, which kept only the view choices/);
  // `restore` only on the prototype is not the state's own.
  assert.match(rejected(Object.create({ restore: series() })), /older UNet Lens/);
  for (const { what, raw } of genericMalformed()) assert.match(rejected(webviewState(raw)), /saved state is not valid/, what);

  const cases: [string, unknown, RegExp][] = [
    ['an extra field', { ...series(), extra: 1 }, /unexpected field "extra"/],
    ['no spec', { ...series(), spec: undefined }, /missing "spec"/],
    ['a numeric spec', series({ spec: 7 as unknown as string }), /"spec" must be a string/],
    ['a huge spec', series({ spec: HUGE }), /"spec" is too long/],
    ['resultsDir a string', series({ resultsDir: 'yes' as unknown as boolean }), /"resultsDir" must be true or false/],
    ['checkpoints an object', series({ checkpoints: {} as unknown as SavedSeries['checkpoints'] }), /"checkpoints" must be a list/],
    ['a checkpoint a string', series({ checkpoints: ['/w/epoch_1.onnx'] as unknown as SavedSeries['checkpoints'] }), /"checkpoints" \[0\] must be an object/],
    ['mtime NaN', series({ checkpoints: [{ ...series().checkpoints[0], mtimeMs: NaN }] }), /\[0\] is not right: "mtimeMs" must be a finite number/],
    ['mtime a string', series({ checkpoints: [{ ...series().checkpoints[0], mtimeMs: '1' as unknown as number }] }), /"mtimeMs" must be a finite number/],
    ['a checkpoint with an extra field', series({ checkpoints: [{ ...series().checkpoints[0], results: {} } as unknown as SavedSeries['checkpoints'][0]] }), /unexpected field "results"/],
    ['an own __proto__ field', { ...JSON.parse('{"__proto__":{"x":1}}'), ...series() }, /unexpected field "__proto__"/],
    ['too many checkpoints', series({ checkpoints: Array.from({ length: MAX_SAVED_CHECKPOINTS + 1 }, () => series().checkpoints[0]) }), /too many entries \(10001, at most 10000\)/],
    ['a relative spec', series({ spec: 'checkpoints' }), /"checkpoints", which is not an absolute path/],
    ['a relative dataset file', series({ datasetPath: '../unetlens.json' }), /not an absolute path/],
    ['a NUL in a checkpoint path', series({ checkpoints: [{ ...series().checkpoints[0], path: '/w/a\0.onnx' }] }), /not an absolute path/],
    ['an empty results path', series({ checkpoints: [{ ...series().checkpoints[0], resultsPath: '' }] }), /not an absolute path/],
    ['no dataset file for checkpoints', series({ datasetPath: undefined }), /no dataset file for the checkpoints/],
    ['a results file outside the cache', series({ checkpoints: [{ ...series().checkpoints[0], resultsPath: '/etc/results.json' }] }), /outside the extension's results cache \(\/etc\/results\.json\)/],
    ['a results file climbing out of the cache', series({ checkpoints: [{ ...series().checkpoints[0], resultsPath: `${CACHE}/../../x/results.json` }] }), /outside the extension's results cache/],
    ['a comparison with one file', { type: 'comparison', a: '/w/a/results.json' }, /missing "b"/],
    ['a comparison with a relative file', { ...comparison, b: 'b/results.json' }, /not an absolute path/],
    ['an unknown kind', { type: 'report', file: '/w/report.html' }, /unknown message type "report"/],
  ];
  for (const [what, saved, re] of cases) assert.match(rejected(webviewState(saved)), re, what);
});

// ---------------------------------------------------------------- reading the files again

/** Results of one checkpoint (its own sha256, so a series keeps it) written to `file`. */
function writeResults(file: string, n: number, o: Partial<Results> = {}): Results {
  const r = results();
  r.model = { ...r.model, path: `/elsewhere/epoch_${n}.onnx`, sha256: n.toString(16).padStart(64, '0') };
  Object.assign(r, o);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(r));
  return r;
}

/** A workspace with checkpoints 1–4 analysed (results in `<dir>/cache`), as a live session saves it. */
function savedWorkspace(): { saved: SavedSeries; cache: string; ckpts: string; dataset: string } {
  const ckpts = path.join(dir, 'w', 'checkpoints');
  const cache = path.join(dir, 'cache');
  mkdirSync(ckpts, { recursive: true });
  const dataset = path.join(dir, 'w', 'unetlens.json');
  writeFileSync(dataset, '{}');
  const checkpoints = [1, 2, 3, 4].map((n) => {
    const p = path.join(ckpts, `epoch_${n}.onnx`);
    writeFileSync(p, `model ${n}`);
    const resultsPath = path.join(cache, `${String(n).repeat(16)}`, 'results.json');
    writeResults(resultsPath, n);
    return { path: p, mtimeMs: statSync(p).mtimeMs, resultsPath };
  });
  return { saved: series({ spec: ckpts, datasetPath: dataset, checkpoints }), cache, ckpts, dataset };
}

test('readSavedColumns: columns read again from their results files; a gone file, a rewritten checkpoint and an unreadable file are named, a deleted checkpoint keeps its column', async () => {
  const { saved } = savedWorkspace();
  const [c1, c2, c3, c4] = saved.checkpoints;
  rmSync(c2.resultsPath); // dropped from the cache
  utimesSync(c3.path, new Date(), new Date(Date.now() + 5000)); // rewritten since it was analysed
  rmSync(c4.path); // the checkpoint deleted; its results still there
  const extra = { ...c1, path: path.join(path.dirname(c1.path), 'epoch_9.onnx'), resultsPath: path.join(path.dirname(c1.resultsPath), '..', 'bad', 'results.json') };
  mkdirSync(path.dirname(extra.resultsPath), { recursive: true });
  writeFileSync(extra.resultsPath, '{"schema": "something else"}');
  const read = await readSavedColumns({ ...saved, checkpoints: [c1, c2, c3, c4, extra] });
  assert.deepEqual(read.columns.map((c) => c.path), [c1.path, c4.path]);
  assert.deepEqual(read.columns.map((c) => c.results.model.path), [c1.path, c4.path], "the model path is the checkpoint's, as in the live panel");
  assert.deepEqual(read.gone, [c2.path]);
  assert.deepEqual(read.changed, [c3.path]);
  assert.equal(read.unreadable.length, 1);
  assert.match(read.unreadable[0], /^epoch_9\.onnx: not a UNet Lens results file: its "schema" is "something else"/);

  const status = restoredStatus(read, { watching: true, notListed: ['/w/checkpoints/epoch_10.onnx'] });
  assert.match(status, /^Back after the window reload: 2 checkpoints read from their results files\./);
  assert.match(status, /The results of epoch_2\.onnx are gone \(deleted, or dropped from the results cache\)\./);
  assert.match(status, /epoch_3\.onnx changed on disk after it was analysed: left out\./);
  assert.match(status, /Not in this timeline: epoch_10\.onnx\./);
  assert.match(status, /Nothing is analysed on a reload: run UNet Lens: Analyze Checkpoints… on the same folder to analyse them here\./);
  assert.match(status, /Watching the folder for new checkpoints\.$/);
  const none = restoredStatus({ columns: [], gone: [c1.path], changed: [], unreadable: [] }, { watching: false, notWatching: 'Not watching: why.', notListed: [] });
  assert.match(none, /^Back after the window reload, but no checkpoint’s results could be read again\. The results of epoch_1\.onnx are gone.*Not watching: why\.$/);
  assert.equal(someNames(['/a/1', '/a/2', '/a/3', '/a/4', '/a/5']), '1, 2, 3 and 2 more');
});

test('resumeProblem: a checkpoint series watches again only when trusted, inside the workspace, with its dataset file; a results folder always', () => {
  const ctx = { trusted: true, workspaceFolders: ['/w'], datasetExists: true };
  const s = series();
  assert.equal(resumeProblem(s, '/w/checkpoints', ctx), undefined);
  assert.match(resumeProblem(s, '/w/checkpoints', { ...ctx, trusted: false })!, /not trusted, and UNet Lens analyses no checkpoint in it/);
  assert.match(resumeProblem(s, '/elsewhere/checkpoints', ctx)!, /\/elsewhere\/checkpoints lies outside the workspace; run UNet Lens: Analyze Checkpoints… to watch it again/);
  assert.match(resumeProblem(series({ datasetPath: '/d/unetlens.json' }), '/elsewhere', ctx)!, /\/elsewhere and \/d\/unetlens\.json lie outside the workspace/);
  assert.match(resumeProblem(s, '/w/checkpoints', { ...ctx, workspaceFolders: [] })!, /outside the workspace/);
  assert.match(resumeProblem(s, '/w/checkpoints', { ...ctx, datasetExists: false })!, /dataset file \/w\/unetlens\.json is gone/);
  const rd = series({ resultsDir: true, datasetPath: undefined, checkpoints: [] });
  assert.equal(resumeProblem(rd, '/anywhere', { trusted: false, workspaceFolders: [], datasetExists: false }), undefined, 'a results folder is only read');
});

test('readSavedComparison: both files read again; a file that is gone is said with its side', async () => {
  const a = path.join(dir, 'a', 'results.json');
  const b = path.join(dir, 'b', 'results.json');
  writeResults(a, 1);
  writeResults(b, 2);
  const ok = await readSavedComparison({ type: 'comparison', a, b });
  assert.ok(ok.ok);
  assert.deepEqual([ok.a.model.sha256, ok.b.model.sha256], ['1'.padStart(64, '0'), '2'.padStart(64, '0')]);
  rmSync(b);
  const gone = await readSavedComparison({ type: 'comparison', a, b });
  assert.ok(!gone.ok);
  assert.equal(gone.reason, `${CANNOT_RESTORE}: the results file B, ${b}: it is gone (deleted or moved). Run UNet Lens: Compare Results… again.`);
});

// ---------------------------------------------------------------- the serializer's revive path

const tick = () => new Promise((r) => setImmediate(r));
type Posted = { type: string; message?: string; series?: { checkpoints: { path: string }[] }; comparison?: { taps: unknown[] }; status?: string; state?: unknown };

function deps(cacheRoot: string, logs: string[] = []): AnalyzeDeps {
  const log = { info: (l: string) => void logs.push(l), warn: (l: string) => void logs.push(`warn ${l}`), error: (l: string) => void logs.push(`error ${l}`) };
  return { context: { extensionUri: Uri.file('/ext'), extension: { packageJSON: { version: '0' } } }, cache: { root: cacheRoot }, log } as unknown as AnalyzeDeps;
}

/** What VS Code hands the serializer, revived with `state`; the webview says `ready`; what it was sent. */
async function revive(d: AnalyzeDeps, st: unknown): Promise<Posted[]> {
  const panel = fake.window.createWebviewPanel('unetLens.timeline', 'UNet Lens Timeline: checkpoints');
  await restoreTimelinePanel(d, panel as unknown as vscode.WebviewPanel, st);
  assert.equal(state.panels.length, 1, 'the restored panel is used, no new one opened');
  assert.match(panel.webview.html, /dist\/timeline\.js/);
  panel.receive({ type: 'ready' });
  await tick();
  for (const m of panel.posted) assert.ok(parseHostToTimeline(m).ok, JSON.stringify(m).slice(0, 200));
  return panel.posted as Posted[];
}

test('revive: a checkpoint series comes back from its results files, watches its folder again (trusted, in the workspace) and runs nothing', async () => {
  const { saved, cache, ckpts } = savedWorkspace();
  ws.workspaceFolders = [{ uri: Uri.file(path.join(dir, 'w')) }];
  writeFileSync(path.join(ckpts, 'epoch_5.onnx'), 'written during the reload');
  const logs: string[] = [];
  const posted = await revive(deps(cache, logs), webviewState(saved));
  const shown = posted.find((m) => m.type === 'series')!;
  assert.deepEqual(shown.series!.checkpoints.map((c) => path.basename(c.path)), ['epoch_1.onnx', 'epoch_2.onnx', 'epoch_3.onnx', 'epoch_4.onnx']);
  assert.match(shown.status!, /^Back after the window reload: 4 checkpoints.*Not in this timeline: epoch_5\.onnx\. Nothing is analysed on a reload.*Watching the folder for new checkpoints\.$/);
  assert.deepEqual(posted.find((m) => m.type === 'remember')!.state, saved, 'remembered again for the next reload');
  assert.deepEqual(state.watchers, [ckpts]);
  assert.ok(!logs.some((l) => /analyze /.test(l)), logs.join('\n'));
});

test('revive in an untrusted workspace: the same columns, no folder watched, and the panel says why', async () => {
  const { saved, cache } = savedWorkspace();
  ws.workspaceFolders = [{ uri: Uri.file(path.join(dir, 'w')) }];
  ws.isTrusted = false;
  const posted = await revive(deps(cache), webviewState(saved));
  assert.equal(posted.find((m) => m.type === 'series')!.series!.checkpoints.length, 4);
  assert.match(posted.find((m) => m.type === 'series')!.status!, /Not watching the folder: the workspace is not trusted/);
  assert.deepEqual(state.watchers, [], 'nothing watched, so nothing analysed');
  assert.deepEqual(state.messages, [], 'no trust prompt on a reload');
});

test('revive: when every results file is gone the panel says so in words; a hostile state is refused in words', async () => {
  const { saved, cache } = savedWorkspace();
  rmSync(cache, { recursive: true });
  let posted = await revive(deps(cache), webviewState(saved));
  assert.equal(posted.some((m) => m.type === 'series'), false);
  assert.match(posted.find((m) => m.type === 'timelineStatus')!.message!, /^Back after the window reload, but no checkpoint’s results could be read again\. The results of epoch_1\.onnx, epoch_2\.onnx, epoch_3\.onnx and 1 more are gone/);

  reset();
  const logs: string[] = [];
  posted = await revive(deps(cache, logs), webviewState({ ...saved, checkpoints: [{ ...saved.checkpoints[0], resultsPath: '/etc/passwd' }] }));
  assert.deepEqual(posted.map((m) => m.type), ['timelineStatus']);
  assert.match(posted[0].message!, /could not come back.*outside the extension's results cache/);
  assert.ok(logs.some((l) => l.startsWith('warn [timeline] ')));
  assert.deepEqual(state.watchers, []);
});

test('revive: a comparison comes back from its two files, or says which file is gone', async () => {
  const a = path.join(dir, 'a', 'results.json');
  const b = path.join(dir, 'b', 'results.json');
  writeResults(a, 1);
  writeResults(b, 2);
  const saved: SavedTimeline = { type: 'comparison', a, b };
  let posted = await revive(deps(path.join(dir, 'cache')), webviewState(saved));
  assert.ok(posted.find((m) => m.type === 'comparison')!.comparison!.taps.length > 0);
  assert.deepEqual(posted.find((m) => m.type === 'remember')!.state, saved);
  assert.equal(state.panels[0].title, 'UNet Lens Compare: epoch_1.onnx ↔ epoch_2.onnx');

  reset();
  rmSync(a);
  posted = await revive(deps(path.join(dir, 'cache')), webviewState(saved));
  assert.deepEqual(posted.map((m) => m.type), ['timelineStatus']);
  assert.match(posted[0].message!, /the results file A, .*a\/results\.json: it is gone \(deleted or moved\)\. Run UNet Lens: Compare Results… again\.$/);
});

test('revive: a restored page that never loads is loaded again once, then restored again into a new panel (here a Compare panel, which shows the comparison)', async (t) => {
  const a = path.join(dir, 'a', 'results.json');
  const b = path.join(dir, 'b', 'results.json');
  writeResults(a, 1);
  writeResults(b, 2);
  const saved: SavedTimeline = { type: 'comparison', a, b };
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const logs: string[] = [];
  const restored = fake.window.createWebviewPanel('unetLens.timeline', 'UNet Lens Compare');
  await restoreTimelinePanel(deps(path.join(dir, 'cache'), logs), restored as unknown as vscode.WebviewPanel, webviewState(saved));
  const firstHtml = restored.webview.html;
  t.mock.timers.tick(20_000);
  assert.notEqual(restored.webview.html, firstHtml, 'loaded again (a new nonce)');
  assert.equal(restored.disposed, false);
  assert.equal(state.panels.length, 1);
  t.mock.timers.tick(20_000);
  assert.equal(restored.disposed, true, 'the stuck restored panel is closed');
  assert.equal(state.panels.length, 2, 'and a new one opened');
  const fresh = state.panels[1];
  // the new panel is restored from the same state: the two files are read again (async; up to
  // 10 s of real time: file reads on a busy machine take many event-loop turns)
  for (const end = Date.now() + 10_000; Date.now() < end && !fresh.webview.html; ) await tick();
  fresh.receive({ type: 'ready' });
  // the comparison is posted once both files are read and compared (async: more than one tick on a busy machine)
  for (const end = Date.now() + 10_000; Date.now() < end && !(fresh.posted as Posted[]).some((m) => m.type === 'comparison'); ) await tick();
  assert.ok((fresh.posted as Posted[]).find((m) => m.type === 'comparison')!.comparison!.taps.length > 0);
  assert.equal(fresh.title, 'UNet Lens Compare: epoch_1.onnx ↔ epoch_2.onnx');
  assert.deepEqual((fresh.posted as Posted[]).find((m) => m.type === 'remember')!.state, saved, 'remembered for the next reload');
  assert.ok(logs.some((l) => /still not loaded; opening it again as a new panel/.test(l)), logs.join('\n'));
  // a page that loads is left alone
  reset();
  const ok = fake.window.createWebviewPanel('unetLens.timeline', 'UNet Lens Compare');
  await restoreTimelinePanel(deps(path.join(dir, 'cache')), ok as unknown as vscode.WebviewPanel, webviewState(saved));
  ok.receive({ type: 'ready' });
  await tick();
  t.mock.timers.tick(60_000);
  assert.equal(ok.disposed, false);
  assert.equal(state.panels.length, 1);
});
