/**
 * The background worker (dist/worker.js) driven by the host's runner, outside VS Code:
 * a job runs and streams progress; cancel stops it within 2 s; a crash is reported with
 * its stderr; an engine error comes back with its kind; the next run after a crash works; a
 * worker started ahead of its job runs it, and is stopped when it gets none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PrestartedWorker, runWorker, WorkerError } from '../../src/host/workerRunner';
import type { AnalyzeJob } from '../../src/protocol/messages';
import type { ProgressEvent } from '../../src/engine/types';
import { ANALYSIS_EXEC_ARGV } from '../../src/engine/limits';

const root = resolve(__dirname, '..', '..');
const worker = join(root, 'dist', 'worker.js');
const model = join(root, 'examples', 'synthetic', 'model.onnx');
const data = join(root, 'examples', 'synthetic', 'unetlens.json');
const job = (over: Partial<AnalyzeJob> = {}): AnalyzeJob => ({
  type: 'analyze',
  id: `job-${Math.random()}`,
  modelPath: model,
  datasetPath: data,
  overrides: { maxPoints: 256 },
  ...over,
});

test('a job runs in the worker, streams progress and writes its outputs', async () => {
  const out = mkdtempSync(join(tmpdir(), 'unetlens-worker-'));
  const events: ProgressEvent[] = [];
  let cmdline: string[] = [];
  const { results, peakRssBytes } = await runWorker(worker, job({ outDir: out }), {
    onProgress: (e) => events.push(e),
    onSpawn: (pid) => {
      if (process.platform === 'linux') cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    },
  });
  // started with the analysis flags (engine/limits.ts ANALYSIS_EXEC_ARGV: releaseBatch's gc)
  if (process.platform === 'linux') for (const f of ANALYSIS_EXEC_ARGV) assert.ok(cmdline.includes(f), `worker command line ${cmdline.join(' ')}`);
  assert.equal(results.taps.length, 15);
  assert.equal(results.splits.length, 3);
  assert.ok(peakRssBytes > 10 * 2 ** 20, `peak RSS ${peakRssBytes}`);
  assert.ok(events.some((e) => e.stage === 'load'));
  assert.ok(events.some((e) => e.stage === 'forward' && e.done === e.total));
  assert.ok(events.some((e) => e.stage === 'metrics'));
  assert.equal(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).schema, 'unet-lens/results@1');
  assert.ok(existsSync(join(out, 'report.html')));
});

test('cancel stops the worker within 2 s and writes nothing', async () => {
  const out = mkdtempSync(join(tmpdir(), 'unetlens-worker-'));
  const controller = new AbortController();
  let cancelledAt = 0;
  const p = runWorker(worker, job({ outDir: out, overrides: {} }), {
    signal: controller.signal,
    onProgress: (e) => {
      if (e.stage === 'forward' && !cancelledAt) {
        cancelledAt = Date.now();
        controller.abort();
      }
    },
  });
  await assert.rejects(p, (e: WorkerError) => e.kind === 'cancelled');
  assert.ok(Date.now() - cancelledAt < 2000, `stopped after ${Date.now() - cancelledAt} ms`);
  assert.ok(!existsSync(join(out, 'results.json')));
});

test('a worker killed from outside (e.g. out of memory) is reported as a crash, and the next run works', async () => {
  let pid = 0;
  const p = runWorker(worker, job({ overrides: {} }), {
    onSpawn: (id) => (pid = id),
    onProgress: (e) => {
      if (e.stage === 'forward' && pid) {
        process.kill(pid, 'SIGKILL');
        pid = 0;
      }
    },
  });
  await assert.rejects(p, (e: WorkerError) => {
    assert.equal(e.kind, 'crash');
    assert.match(e.message, /stopped unexpectedly \(signal SIGKILL\)/);
    assert.match(e.message, /output channel/);
    return true;
  });
  const again = await runWorker(worker, job());
  assert.equal(again.results.taps.length, 15);
});

test("a crash's stderr reaches the log and the error", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'unetlens-worker-'));
  const crasher = join(dir, 'crasher.js');
  writeFileSync(crasher, "process.on('message', () => { process.stderr.write('FATAL: native abort in kernel\\n'); process.exit(7); });");
  const lines: string[] = [];
  await assert.rejects(runWorker(crasher, job(), { onLog: (l) => lines.push(l) }), (e: WorkerError) => {
    assert.equal(e.kind, 'crash');
    assert.match(e.message, /exit code 7/);
    assert.match(e.message, /FATAL: native abort in kernel/);
    return true;
  });
  assert.ok(lines.some((l) => l.includes('FATAL: native abort in kernel')));
});

test('an engine error comes back with its kind and where', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'unetlens-worker-'));
  const bad = join(dir, 'model.onnx');
  writeFileSync(bad, Buffer.from('this is not an onnx model at all'));
  await assert.rejects(runWorker(worker, job({ modelPath: bad })), (e: WorkerError) => {
    assert.equal(e.kind, 'model');
    assert.match(e.message, /model\.onnx/);
    return true;
  });
});

test('malformed messages from a worker are rejected with a logged reason', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'unetlens-worker-'));
  const liar = join(dir, 'liar.js');
  writeFileSync(
    liar,
    "process.on('message', (j) => { process.send({ type: 'bogus' }); process.send({ type: 'result', id: j.id, results: { schema: 'other' } }); setTimeout(() => process.exit(0), 50); });",
  );
  const lines: string[] = [];
  await assert.rejects(runWorker(liar, job(), { onLog: (l) => lines.push(l) }), (e: WorkerError) => e.kind === 'crash');
  assert.ok(lines.some((l) => l.includes('unknown message type "bogus"')));
  assert.ok(lines.some((l) => l.includes('malformed "result" message')));
});

test('the worker rejects a malformed job (type "__proto__", an unknown type, extra fields) with its reason and exit code 2', async () => {
  const { fork } = await import('node:child_process');
  for (const raw of [{ type: '__proto__' }, { type: 'toString' }, { ...job(), extra: 1 }]) {
    const child = fork(worker, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (c) => resolve(c));
      child.send(raw);
    });
    assert.equal(code, 2, JSON.stringify(raw));
    assert.match(stderr, /rejected a job message: (unknown message type|malformed "analyze" message: has an unexpected field "extra")/);
  }
});

/** True when no process has this id (signal 0 only checks). */
function exited(pid: number): boolean {
  try {
    return !process.kill(pid, 0);
  } catch {
    return true;
  }
}

test('a worker started ahead of its job runs it; one started otherwise, dead or disposed is not used', async () => {
  const ahead = new PrestartedWorker(worker, {});
  await new Promise((r) => setTimeout(r, 200));
  let pid = 0;
  const { results } = await runWorker(worker, job(), { prestarted: ahead, onSpawn: (id) => (pid = id) });
  assert.equal(results.taps.length, 15);
  assert.equal(pid, ahead.pid, 'the job ran in the worker started ahead');
  ahead.dispose(); // taken: nothing to stop

  // Started with another heap limit: a new worker is forked, and the unused one is stopped.
  const other = new PrestartedWorker(worker, { maxOldSpaceMB: 1024 });
  const dir = mkdtempSync(join(tmpdir(), 'unetlens-worker-'));
  const echo = join(dir, 'echo.js');
  writeFileSync(echo, "process.on('message', (j) => { process.send({ type: 'log', id: j.id, level: 'info', message: 'hi' }); process.exit(9); });");
  let pid2 = 0;
  await assert.rejects(runWorker(echo, job(), { prestarted: other, onSpawn: (id) => (pid2 = id) }), (e: WorkerError) => e.kind === 'crash');
  assert.ok(pid2 && pid2 !== other.pid);
  other.dispose();
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(exited(other.pid!), 'an unused worker started ahead is stopped');

  // Dead before its job: a new one is forked and the job still runs.
  const dead = new PrestartedWorker(echo, {});
  process.kill(dead.pid!, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 300));
  let pid3 = 0;
  await assert.rejects(runWorker(echo, job(), { prestarted: dead, onSpawn: (id) => (pid3 = id) }), (e: WorkerError) => e.kind === 'crash' && /exit code 9/.test(e.message));
  assert.ok(pid3 && pid3 !== dead.pid);
});

test('a worker started ahead and told the job to come (preload) starts it; the job takes it over with the same results', async () => {
  const fresh = await runWorker(worker, job({ id: 'fresh' }));
  const ahead = new PrestartedWorker(worker, {});
  const { type: _t, id: _i, ...fields } = job();
  assert.equal(ahead.preload({ type: 'preload', ...fields }, worker, {}), true);
  assert.equal(ahead.preload({ type: 'preload', ...fields }, worker, { maxOldSpaceMB: 1024 }), false, 'not to a worker the job would not take');
  await new Promise((r) => setTimeout(r, 1500)); // the early run is under way
  const stages: string[] = [];
  let pid = 0;
  const early = await runWorker(worker, job({ id: 'taken-over' }), { prestarted: ahead, onSpawn: (id) => (pid = id), onPartial: (_r, stage) => stages.push(stage) });
  assert.equal(pid, ahead.pid);
  assert.equal(stages[0], 'taps', 'the partial results held before the job reach it');
  // What differs between two runs of the same inputs (as scripts/compare-results.mjs ignores it).
  const strip = (r: typeof early.results) => ({
    ...r,
    createdAt: '',
    timings: {},
    ...(r.performanceWithoutLabels ? { performanceWithoutLabels: { ...r.performanceWithoutLabels, timingMs: 0 } } : {}),
  });
  assert.deepEqual(strip(early.results), strip(fresh.results));
});
