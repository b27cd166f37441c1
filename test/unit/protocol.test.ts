/**
 * The messages between host, worker and webview (src/protocol/messages.ts): every declared
 * message has a well-formed example that passes; every malformed message (not an object,
 * unknown or inherited type such as `toString` / `__proto__` / `constructor`, missing,
 * extra, inherited or wrong-typed fields, huge strings) is rejected with a short reason by
 * the validators of both sides and by the worker's handler, and nothing throws. The
 * declarations match what the senders send and the receivers handle.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { parseHostToWebview, parseWebviewToHost, parseWorkerMessage, parseWorkerRequest, message, str, Protocol } from '../../src/protocol/messages';
import { createJobHandler, type WorkerIo } from '../../src/workerHandler';
import { LensError } from '../../src/engine/types';
import { examples, malformedFor, protocols, sampleResults } from './messageCases';

const parsers = {
  workerRequests: parseWorkerRequest,
  workerMessages: parseWorkerMessage,
  hostToWebview: parseHostToWebview,
  webviewToHost: parseWebviewToHost,
} as const;
const names = Object.keys(parsers) as (keyof typeof parsers)[];

test('every declared message has an example, and every example passes', () => {
  for (const name of names) {
    assert.deepEqual(examples[name].map((e) => e.type).sort(), [...protocols[name].types].sort(), `${name}: one example per declared message`);
    for (const ex of examples[name]) {
      const r = parsers[name](ex);
      assert.ok(r.ok, `${name} ${ex.type}: ${r.ok ? '' : r.reason}`);
    }
    // Optional fields may be left out.
    for (const ex of examples[name]) {
      const decl = (protocols[name] as unknown as { byType: Map<string, { fields: Record<string, { optional: boolean }> }> }).byType.get(ex.type)!;
      const bare = Object.fromEntries(Object.entries(ex).filter(([k]) => k === 'type' || !decl.fields[k].optional));
      const r = parsers[name](bare);
      assert.ok(r.ok, `${name} ${ex.type} without its optional fields: ${r.ok ? '' : r.reason}`);
    }
  }
});

test('the message lists: theme is gone, selectTap is declared, partial results stream', () => {
  assert.deepEqual(protocols.hostToWebview.types, ['results', 'partial', 'status']);
  assert.deepEqual(protocols.webviewToHost.types, ['ready', 'selectTap', 'exportPng', 'exportCsv', 'rerun', 'openReport', 'exportReport']);
  assert.deepEqual(protocols.workerRequests.types, ['analyze', 'preload']);
  assert.deepEqual(protocols.workerMessages.types, ['progress', 'log', 'result', 'partial', 'error']);
});

for (const name of names) {
  test(`${name}: every malformed message is rejected with a short reason, never a throw`, () => {
    const cases = malformedFor(name);
    assert.ok(cases.length > 30, `${cases.length} cases`);
    for (const { what, raw } of cases) {
      let r: ReturnType<(typeof parsers)[typeof name]> | undefined;
      assert.doesNotThrow(() => (r = parsers[name](raw)), what);
      assert.ok(r && !r.ok, `${name}: ${what} was accepted`);
      assert.equal(typeof r.reason, 'string');
      assert.ok(r.reason.length > 10 && r.reason.length < 400, `${what}: reason ${JSON.stringify(r.reason.slice(0, 500))}`);
    }
  });
}

test('reasons name the problem', () => {
  const reason = (r: { ok: boolean; reason?: string }) => (r.ok ? 'accepted' : r.reason!);
  assert.match(reason(parseWebviewToHost({ type: 'toString' })), /unknown message type "toString"/);
  assert.match(reason(parseWebviewToHost({ type: '__proto__' })), /unknown message type "__proto__"/);
  assert.match(reason(parseWebviewToHost({ type: 'constructor' })), /unknown message type "constructor"/);
  assert.match(reason(parseWebviewToHost(null)), /not an object \(got null\)/);
  assert.match(reason(parseWebviewToHost({ type: 'selectTap' })), /malformed "selectTap" message: is missing "tap"/);
  assert.match(reason(parseWebviewToHost({ type: 'selectTap', tap: 3 })), /"tap" must be a string \(got number\)/);
  assert.match(reason(parseWebviewToHost({ type: 'selectTap', tap: 'a', x: 1 })), /unexpected field "x"/);
  assert.match(reason(parseWebviewToHost({ type: 'selectTap', tap: 'y'.repeat(5000) })), /"tap" is too long \(5000 characters, at most 4096\)/);
  assert.match(reason(parseWebviewToHost({ type: 'exportPng', name: 'a', dataUrl: 'data:text/html,<b>' })), /"dataUrl" must be a data:image\/png;base64, URL/);
  assert.match(reason(parseHostToWebview({ type: 'theme' })), /unknown message type "theme"/);
  assert.match(reason(parseHostToWebview({ type: 'status', state: 'done', message: '' })), /"state" must be one of "loading", "error", "stale"/);
  assert.match(reason(parseWorkerMessage({ type: 'result', id: 'a', results: { schema: 'other' }, peakRssBytes: 1 })), /"results" must be a unet-lens\/results@1 results object/);
  const job = examples.workerRequests[0];
  assert.match(reason(parseWorkerRequest({ ...job, overrides: { maxPoints: '256' } })), /"overrides" is not right: "maxPoints" must be a finite number/);
  assert.match(reason(parseWorkerRequest({ ...job, overrides: { maxpoints: 256 } })), /"overrides" is not right: has an unexpected field "maxpoints"/);
  assert.match(reason(parseWorkerRequest({ ...job, overrides: { shifts: { enabled: 'no' } } })), /"shifts" is not right: "enabled" must be true or false/);
  assert.match(reason(parseWorkerRequest({ ...job, overrides: JSON.parse('{"__proto__":{"maxPoints":1}}') })), /unexpected field "__proto__"/);
});

test('a declaration table refuses duplicates and a field named "type"', () => {
  assert.throws(() => new Protocol('t', [message('a'), message('a')]), /declared twice/);
  assert.throws(() => new Protocol('t', [message('a', { type: str() })]), /field named "type"/);
});

// ---------------------------------------------------------------- the worker's handler

function fakeIo(over: Partial<WorkerIo> = {}) {
  const io = {
    sent: [] as unknown[],
    exits: [] as number[],
    err: '',
    analyzed: 0,
  };
  const w: WorkerIo = {
    send: async (m) => void io.sent.push(m),
    exit: (c) => void io.exits.push(c),
    stderr: (t) => void (io.err += t),
    analyze: async () => {
      io.analyzed++;
      return sampleResults;
    },
    writeOutputs: async () => ({}) as never,
    distDir: '/dist',
    peakRssBytes: () => 1,
    ...over,
  };
  return { io, w };
}

test("the worker's handler rejects every malformed job with its reason on stderr and exit code 2, never a throw", async () => {
  const cases = malformedFor('workerRequests');
  for (const { what, raw } of cases) {
    const { io, w } = fakeIo();
    await assert.doesNotReject(createJobHandler(w)(raw), what);
    assert.deepEqual(io.exits, [2], what);
    assert.equal(io.analyzed, 0, what);
    assert.match(io.err, /^unet-lens worker: rejected a job message: .{10,400}\n$/, what);
  }
});

test("the worker's handler runs a job, replies, exits 0; a second job while one runs is rejected and the first goes on", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const { io, w } = fakeIo({
    analyze: async (_m, _d, opts) => {
      io.analyzed++;
      opts?.onProgress?.({ stage: 'load', message: 'Loading' });
      await gate;
      return sampleResults;
    },
  });
  const handle = createJobHandler(w);
  const first = handle(examples.workerRequests[0]);
  await handle({ ...examples.workerRequests[0], id: 'j2' });
  assert.match(io.err, /rejected job j2: job j1 is still running/);
  await handle({ type: 'toString' });
  assert.deepEqual(io.exits, [], 'a bad message during a job does not stop it');
  release();
  await first;
  assert.equal(io.analyzed, 1);
  assert.deepEqual(io.exits, [0]);
  const types = io.sent.map((m) => (m as { type: string }).type);
  assert.deepEqual(types, ['progress', 'result']);
  for (const m of io.sent) assert.ok(parseWorkerMessage(m).ok, 'what the worker sends passes the host check');
});

test("the worker's handler turns an engine error into an error message and exit code 1", async () => {
  const { io, w } = fakeIo({
    analyze: async () => {
      throw new LensError('bad dataset', 'dataset', '/d/unetlens.json');
    },
  });
  await createJobHandler(w)(examples.workerRequests[0]);
  assert.deepEqual(io.sent, [{ type: 'error', id: 'j1', message: 'bad dataset', kind: 'dataset', where: '/d/unetlens.json' }]);
  assert.deepEqual(io.exits, [1]);
});

test("the worker's handler: a preload starts the job's analysis; the same job takes it over, its held messages first under the job's id", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const calls: { model: string; cancel: unknown }[] = [];
  const { io, w } = fakeIo({
    analyze: async (m, _d, opts) => {
      calls.push({ model: m, cancel: opts?.cancel });
      opts?.log?.('held line');
      const partial = structuredClone(sampleResults);
      opts?.onPartial?.(partial, 'taps');
      partial.splits = []; // the engine's object keeps growing: what was held is a copy
      await gate;
      opts?.onProgress?.({ stage: 'forward', message: 'after' });
      return sampleResults;
    },
  });
  const handle = createJobHandler(w);
  const [job, preload] = examples.workerRequests;
  await handle(preload);
  await handle(preload); // a second preload is ignored
  assert.match(io.err, /ignored a preload: one was started already/);
  assert.equal(calls.length, 1);
  assert.deepEqual(io.sent, [], 'nothing is sent before the job');
  const done = handle(job);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    io.sent.map((m) => [(m as { type: string }).type, (m as { id: string }).id]),
    [['log', 'j1'], ['partial', 'j1']],
  );
  assert.equal((io.sent[1] as { results: { splits: unknown[] } }).results.splits.length, sampleResults.splits.length);
  release();
  await done;
  assert.equal(calls.length, 1, 'the job ran once');
  assert.deepEqual(io.sent.map((m) => (m as { type: string }).type), ['log', 'partial', 'progress', 'result']);
  assert.deepEqual(io.exits, [0]);
  for (const m of io.sent) assert.ok(parseWorkerMessage(m).ok);
});

test("the worker's handler: a job unlike the preload, or on files changed since, cancels the early run and runs afresh", async () => {
  for (const change of ['fields', 'files'] as const) {
    let stamp = 'a';
    const cancels: { cancelled: boolean }[] = [];
    const { io, w } = fakeIo({
      stamp: () => stamp,
      analyze: async (_m, _d, opts) => {
        io.analyzed++;
        const cancel = opts?.cancel as { cancelled: boolean } | undefined;
        if (cancel) cancels.push(cancel);
        opts?.log?.(`run ${io.analyzed}`);
        await new Promise((r) => setImmediate(r));
        if (cancel?.cancelled) throw new LensError('Analysis cancelled.', 'cancelled');
        return sampleResults;
      },
    });
    const handle = createJobHandler(w);
    const [job, preload] = examples.workerRequests;
    await handle(preload);
    if (change === 'files') stamp = 'b';
    await handle(change === 'fields' ? { ...job, overrides: { maxPoints: 512 } } : job);
    assert.equal(io.analyzed, 2, change);
    assert.deepEqual(cancels.map((c) => c.cancelled), [true], change);
    assert.deepEqual(io.sent.map((m) => [(m as { type: string }).type, (m as { message?: string }).message]), [['log', 'run 2'], ['result', undefined]], `${change}: nothing of the early run is sent`);
    assert.deepEqual(io.exits, [0]);
  }
});

test("the worker's handler: an early run's error reaches the job that takes it over; a preload on a file that is not there starts nothing", async () => {
  const { io, w } = fakeIo({
    analyze: async () => {
      io.analyzed++;
      throw new LensError('bad dataset', 'dataset', '/d/unetlens.json');
    },
  });
  const handle = createJobHandler(w);
  await handle(examples.workerRequests[1]);
  await handle(examples.workerRequests[0]);
  assert.equal(io.analyzed, 1);
  assert.deepEqual(io.sent, [{ type: 'error', id: 'j1', message: 'bad dataset', kind: 'dataset', where: '/d/unetlens.json' }]);
  assert.deepEqual(io.exits, [1]);

  const b = fakeIo({
    precheck: () => {
      throw new LensError('not a file', 'model', '/m/model.onnx');
    },
  });
  await createJobHandler(b.w)(examples.workerRequests[1]);
  assert.equal(b.io.analyzed, 0);
});

// ---------------------------------------------------------------- declarations vs. senders and receivers

const root = path.resolve(__dirname, '..', '..');
const read = (...files: string[]) => files.map((f) => readFileSync(path.join(root, f), 'utf8')).join('\n');
const tsUnder = (dir: string): string[] =>
  readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsUnder(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );

test('every declared message is sent by its sender and handled by its receiver', () => {
  const sides = [
    { name: 'webviewToHost', senders: tsUnder('webview'), receivers: ['src/host/panelManager.ts'] },
    { name: 'hostToWebview', senders: tsUnder('src/host'), receivers: ['webview/main.ts'] },
    { name: 'workerRequests', senders: ['src/commands/analyze.ts'], receivers: ['src/workerHandler.ts'] },
    { name: 'workerMessages', senders: ['src/workerHandler.ts'], receivers: ['src/host/workerRunner.ts'] },
  ] as const;
  for (const side of sides) {
    const sent = read(...side.senders);
    const received = read(...side.receivers);
    for (const type of protocols[side.name].types) {
      assert.ok(sent.includes(`type: '${type}'`), `${side.name} "${type}" is declared but never sent`);
      if (side.name !== 'workerRequests') assert.ok(received.includes(`'${type}'`), `${side.name} "${type}" is declared but never handled`);
    }
  }
});
