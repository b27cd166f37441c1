/**
 * The taps of a stage on several threads (issue 12, item 5: use the cores the machine has).
 *
 * Each tap's metrics on a split (and train's reference of it), each tap's map of an image and
 * each tap's label-free features of a shifted copy depend only on that tap's sample and
 * reference: no random stream, no running sum is shared between taps. So they can be measured
 * at once. onnxruntime-node's `session.run` holds the thread that calls it and most of the
 * rest is JavaScript, so one thread used about one core; two analyses side by side took 9.1 s
 * where one took 7.4 s (example, `--threads 1`, quiet machine), while one with `--threads 2`
 * took 6.8 s. Here `lanes` worker threads (`tapThread.ts`, bundled as dist/tapThread.js), each
 * with its own one-thread Gemm and Gemm + TopK sessions (metrics/gemm-onnx.ts), take the jobs;
 * the main thread starts a few ahead and takes the answers in tap order (`inOrder`), so the
 * warnings, the streamed partial results and the results file come out as before, equal to a
 * run on one thread (the kNN and k-means routes are exact whatever the sessions' threads:
 * knn.ts, kmeans.ts).
 *
 * If a thread fails (it cannot load onnxruntime, runs out of memory, is killed), the pool
 * stops, says so once through `log`, and every job, pending or to come, runs in this thread:
 * the analysis goes on with the same results.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';

/** The thread's script next to this bundle (dist/tapThread.js); null when absent (running from the sources, e.g. unit tests). */
export function tapThreadScript(dir: string = __dirname): string | null {
  const p = path.join(dir, 'tapThread.js');
  return existsSync(p) ? p : null;
}

/**
 * Threads for the taps: `UNET_LENS_TAP_THREADS` when set (0 or 1: none, everything in this
 * thread), else the analysis's thread count (`--threads`, the `unetLens.threads` setting) when
 * it is 1 or more, else (unset or 0, onnxruntime's default) one per core, at most 4 (each
 * thread holds its own onnxruntime, about 60 MB); never more than 8. Below 2, no pool.
 */
export function tapLanes(threads: number | undefined, cores: number, env: string | undefined = process.env.UNET_LENS_TAP_THREADS): number {
  if (env !== undefined && env.trim() !== '') {
    const n = Number(env);
    if (Number.isInteger(n) && n >= 0) return Math.min(8, n);
  }
  return Math.min(8, threads !== undefined && threads >= 1 ? threads : Math.min(4, Math.max(1, cores)));
}

/** A job as the thread receives it (`job` is the kind's own payload, structured-cloned). */
export interface PoolRequest {
  id: number;
  kind: string;
  job: unknown;
}

export type PoolReply = { id: number; result: unknown } | { id: number; error: string };

export interface TapPool {
  lanes: number;
  /**
   * Runs `job` of `kind` on a thread; `local` runs the same job here (the fallback after a
   * thread failure: the same functions, so the same result).
   */
  run<T>(kind: string, job: unknown, local: () => Promise<T>): Promise<T>;
  dispose(): Promise<void>;
}

interface Lane {
  worker: Worker;
  pending: number;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  local: () => Promise<unknown>;
  lane: Lane;
}

/**
 * The job with every typed array that is a view of a larger buffer copied out: a view is
 * structured-cloned with its whole buffer (a sample's rows sliced from a batch would carry the
 * batch along).
 */
export function compact<T>(v: T, depth = 0): T {
  if (ArrayBuffer.isView(v)) {
    const a = v as unknown as Float32Array;
    return (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? v : a.slice()) as T;
  }
  if (depth > 4 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => compact(x, depth + 1)) as T;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = compact(x, depth + 1);
  return out as T;
}

/**
 * Node 20 takes a worker's isolate off its platform before it disposes of it. An optimizing
 * compile job still running on a background thread for that isolate then asks the platform
 * for the isolate's task runner and the whole process aborts (`NodePlatform::ForIsolate`,
 * `Assertion failed: (data.first) != nullptr`, native stack through
 * `OptimizingCompileDispatcher::CompileTask`). CI saw it once, as the pool was stopped right
 * after the maps. V8 makes an isolate's compile dispatcher when the isolate is created, from
 * this flag: isolates created after it (the tap threads) compile on their own thread, so no
 * job of theirs outlives them; this thread's isolate keeps its dispatcher. Process-wide, so
 * it is set once, in the analysis process only (the CLI or the extension's forked worker).
 */
let recompilationSet = false;
export function noConcurrentRecompilationInNewIsolates(): void {
  if (recompilationSet) return;
  recompilationSet = true;
  setFlagsFromString('--no-concurrent-recompilation');
}

export function createTapPool(
  script: string,
  lanes: number,
  sessionOptions: object,
  run: { settings: { k: number; seed: number }; numClasses: number; task: string },
  log: (m: string) => void = () => undefined,
): TapPool {
  const pool: Lane[] = [];
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let broken = false;
  let disposed = false;

  const fail = (why: string) => {
    if (broken || disposed) return;
    broken = true;
    log(`tap threads: ${why}; the taps go on in this thread (same results)`);
    for (const lane of pool) void lane.worker.terminate();
    for (const [id, p] of pending) {
      pending.delete(id);
      p.local().then(p.resolve, p.reject);
    }
    for (const { p } of queue.splice(0)) p.local().then(p.resolve, p.reject);
  };

  // The threads start with the first job (after train's pass and the first chart's data),
  // so loading onnxruntime in them does not take a core from the start of the analysis.
  const start = () => {
    if (pool.length) return;
    noConcurrentRecompilationInNewIsolates();
    for (let i = 0; i < lanes; i++) {
      const worker = new Worker(script, { workerData: { sessionOptions, run } });
      worker.unref();
      const lane: Lane = { worker, pending: 0 };
      worker.on('message', (r: PoolReply) => {
        const p = pending.get(r.id);
        if (!p) return;
        pending.delete(r.id);
        lane.pending--;
        dispatch();
        if ('error' in r) {
          // A job's own error (bad input) is the same here: run it locally to get the same error, with its kind.
          p.local().then(p.resolve, p.reject);
          return;
        }
        p.resolve(r.result);
      });
      worker.on('error', (e) => fail(`thread ${i + 1} of ${lanes} stopped: ${e.message}`));
      worker.on('exit', (code) => {
        if (!disposed) fail(`thread ${i + 1} of ${lanes} exited (code ${code})`);
      });
      pool.push(lane);
    }
  };

  // Jobs wait here until a thread is free: a long job on one thread never holds back a short
  // one that the other thread could take.
  const queue: { req: PoolRequest; p: Omit<Pending, 'lane'> }[] = [];
  const dispatch = () => {
    for (const lane of pool) {
      if (queue.length === 0 || broken || disposed) return;
      if (lane.pending > 0) continue;
      const { req, p } = queue.shift()!;
      pending.set(req.id, { ...p, lane });
      lane.pending++;
      lane.worker.postMessage(req);
    }
  };
  return {
    lanes,
    run<T>(kind: string, job: unknown, local: () => Promise<T>): Promise<T> {
      if (broken || disposed) return local();
      start();
      const req: PoolRequest = { id: nextId++, kind, job: compact(job) };
      return new Promise<T>((resolve, reject) => {
        queue.push({ req, p: { resolve: resolve as (v: unknown) => void, reject, local } });
        dispatch();
      });
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await Promise.all(pool.map((l) => l.worker.terminate()));
      for (const [id, p] of pending) {
        pending.delete(id);
        p.reject(new Error('the tap threads were stopped'));
      }
      for (const { p } of queue.splice(0)) p.reject(new Error('the tap threads were stopped'));
    },
  };
}

/**
 * `count` jobs started in order, at most `ahead` unanswered at a time, their answers taken in
 * order (`take(i, answer)`); the first failure stops the starting and is thrown once every
 * started job has settled (none left running unobserved).
 */
export async function inOrder<T>(count: number, ahead: number, start: (i: number) => Promise<T>, take: (i: number, v: T) => void | Promise<void>): Promise<void> {
  const started: Promise<T>[] = [];
  let next = 0;
  const fill = (upTo: number) => {
    while (next < count && next <= upTo) started.push(start(next++));
  };
  try {
    for (let i = 0; i < count; i++) {
      fill(i + Math.max(0, ahead - 1));
      await take(i, await started[i]);
    }
  } finally {
    for (const p of started) p.catch(() => undefined);
  }
}
