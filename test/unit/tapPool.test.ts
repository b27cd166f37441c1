/**
 * The tap pool's machinery (src/engine/pipeline/tapPool.ts) on its own: answers taken in
 * order with a bounded number started ahead; views copied out before a job is posted; a
 * thread that dies hands its jobs, and every later one, to the main thread with one log line.
 * The engine's own jobs on the pool are checked against a run without it in
 * test/integration/tapThreads.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compact, createTapPool, inOrder, tapLanes } from '../../src/engine/pipeline/tapPool';

describe('inOrder', () => {
  it('takes the answers in order, with at most `ahead` started and unanswered', async () => {
    const started: number[] = [];
    const taken: number[] = [];
    let open = 0;
    let most = 0;
    await inOrder(
      7,
      3,
      (i) => {
        started.push(i);
        open++;
        most = Math.max(most, open);
        // later jobs answer sooner
        return new Promise<number>((r) => setTimeout(() => r(i * 10), (7 - i) * 3));
      },
      (i, v) => {
        open--;
        assert.equal(v, i * 10);
        taken.push(i);
      },
    );
    assert.deepEqual(taken, [0, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6]);
    assert.equal(most, 3);
  });

  it('stops starting at the first failure and throws it; nothing is left unobserved', async () => {
    const started: number[] = [];
    await assert.rejects(
      inOrder(
        6,
        2,
        (i) => {
          started.push(i);
          return i === 1 ? Promise.reject(new Error('job 1 failed')) : Promise.resolve(i);
        },
        () => undefined,
      ),
      /job 1 failed/,
    );
    assert.ok(started.length <= 3, `started ${started.join(',')}`);
  });
});

describe('compact', () => {
  it('copies a view of a larger buffer, keeps a whole array, and walks nested objects', () => {
    const big = new Float32Array(1000);
    big[10] = 7;
    const whole = new Int32Array(4);
    const job = { a: big.subarray(10, 12), b: whole, nested: { c: [big.subarray(0, 2)] }, n: 3 };
    const out = compact(job);
    assert.equal(out.a.buffer.byteLength, 8, 'the view is copied out');
    assert.equal(out.a[0], 7);
    assert.equal(out.b, whole, 'a whole array is kept as it is');
    assert.equal(out.nested.c[0].buffer.byteLength, 8);
    assert.equal(out.n, 3);
  });
});

describe('tapLanes', () => {
  it('follows UNET_LENS_TAP_THREADS, else --threads (1 or more), else one per core up to 4; at most 8', () => {
    assert.equal(tapLanes(2, 16, '0'), 0);
    assert.equal(tapLanes(2, 16, '3'), 3);
    assert.equal(tapLanes(2, 16, ''), 2);
    assert.equal(tapLanes(1, 16, undefined), 1, '--threads 1: no pool');
    assert.equal(tapLanes(undefined, 2, undefined), 2);
    assert.equal(tapLanes(0, 2, undefined), 2, 'unetLens.threads 0 (its default): one per core');
    assert.equal(tapLanes(0, 64, undefined), 4);
    assert.equal(tapLanes(undefined, 1, undefined), 1);
    assert.equal(tapLanes(32, 64, undefined), 8);
    assert.equal(tapLanes(2, 16, 'many'), 2);
  });
});

describe('createTapPool', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unetlens-tappool-'));
  // A stand-in thread: answers "thread:<job>"; job "die" ends the thread; job "bad" is an error.
  const script = join(dir, 'thread.js');
  writeFileSync(
    script,
    `const { parentPort } = require('node:worker_threads');
parentPort.on('message', (req) => {
  if (req.job === 'die') process.exit(3);
  if (req.job === 'bad') return parentPort.postMessage({ id: req.id, error: 'bad job' });
  setTimeout(() => parentPort.postMessage({ id: req.id, result: 'thread:' + req.job }), 5);
});`,
  );
  const run = { settings: { k: 10, seed: 0 }, numClasses: 2, task: 'segmentation' };

  it('runs jobs on the threads', async () => {
    const pool = createTapPool(script, 2, {}, run);
    try {
      const got = await Promise.all(['a', 'b', 'c'].map((j) => pool.run(j === 'a' ? 'tap' : 'map', j, async () => `local:${j}`)));
      assert.deepEqual(got, ['thread:a', 'thread:b', 'thread:c']);
    } finally {
      await pool.dispose();
    }
  });

  it("a job's own error is run again in the main thread (which gives it with its kind)", async () => {
    const pool = createTapPool(script, 2, {}, run);
    try {
      assert.equal(await pool.run('tap', 'bad', async () => 'local:bad'), 'local:bad');
      assert.equal(await pool.run('tap', 'ok', async () => 'local:ok'), 'thread:ok', 'the pool goes on');
    } finally {
      await pool.dispose();
    }
  });

  it('a thread that dies: its job and every later one run in the main thread, said once in the log', async () => {
    const logs: string[] = [];
    const pool = createTapPool(script, 2, {}, run, (m) => logs.push(m));
    try {
      const got = await Promise.all(['die', 'x', 'y'].map((j) => pool.run('tap', j, async () => `local:${j}`)));
      assert.equal(got[0], 'local:die');
      assert.deepEqual(await pool.run('tap', 'z', async () => 'local:z'), 'local:z');
      assert.equal(logs.length, 1, logs.join('\n'));
      assert.match(logs[0], /tap threads: thread \d of 2 exited \(code 3\); the taps go on in this thread/);
    } finally {
      await pool.dispose();
    }
  });

  it('after dispose, jobs run in the main thread', async () => {
    const pool = createTapPool(script, 1, {}, run);
    await pool.dispose();
    assert.equal(await pool.run('tap', 'q', async () => 'local:q'), 'local:q');
  });
});

describe('the threads compile on their own thread', () => {
  // Node 20 can abort the whole process when a worker is stopped while one of V8's background
  // compile jobs for it still runs (tapPool.ts, noConcurrentRecompilationInNewIsolates). The
  // pool's threads therefore compile synchronously: read back from V8's own --trace-opt, in a
  // child process, against a plain Worker (concurrent, as V8 does by default).
  const dir = mkdtempSync(join(tmpdir(), 'unetlens-tappool-jit-'));
  const script = join(dir, 'hot.js');
  writeFileSync(
    script,
    `const { parentPort } = require('node:worker_threads');
function tapHotLoop(n) { let s = 0; for (let i = 0; i < n; i++) s += Math.sqrt(i) * 0.5; return s; }
parentPort.on('message', (req) => {
  let t = 0;
  for (let r = 0; r < 3000; r++) t += tapHotLoop(1000);
  parentPort.postMessage({ id: req.id, result: t });
});`,
  );
  const pool = join(dir, 'pool.ts');
  writeFileSync(
    pool,
    `import { Worker } from 'node:worker_threads';
import { createTapPool } from ${JSON.stringify(join(process.cwd(), 'src/engine/pipeline/tapPool'))};
const script = ${JSON.stringify(script)};
(async () => {
  if (process.argv[2] === 'plain') {
    const w = new Worker(script);
    await new Promise((r) => { w.once('message', r); w.postMessage({ id: 1 }); });
    await w.terminate();
    return;
  }
  const p = createTapPool(script, 1, {}, { settings: { k: 10, seed: 0 }, numClasses: 2, task: 'segmentation' });
  await p.run('tap', 1, async () => 0);
  await p.dispose();
})();`,
  );
  const modes = (arg: string) => {
    const r = spawnSync(process.execPath, ['--trace-opt', '--import', 'tsx', pool, arg], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    return [...r.stdout.matchAll(/\[compiling method .*<JSFunction tapHotLoop .*mode: ConcurrencyMode::(\w+)\]/g)].map((m) => m[1]);
  };

  it('a plain worker compiles its hot function concurrently; a pool thread does it synchronously', () => {
    const plain = modes('plain');
    assert.ok(plain.includes('kConcurrent'), `plain worker: ${plain.join(', ') || 'never compiled'}`);
    const pooled = modes('pool');
    assert.ok(pooled.length > 0, 'the hot function was optimized in the pool thread');
    assert.deepEqual([...new Set(pooled)], ['kSynchronous']);
  });
});
