/**
 * What the background worker does with a message from the host, apart from the process
 * it runs in (src/worker.ts wires it to `process`), so tests can hand it any message.
 *
 * A message that is not a well-formed `analyze` job (or `preload`) is rejected with its reason
 * on stderr and the worker exits with code 2 (the host reports that as a crash, with the reason
 * from stderr). A second job while one runs is rejected the same way, without stopping the first.
 *
 * `preload` (the job likely to come, sent while the host still hashes the files and looks up its
 * cache) starts that analysis at once and holds what it would send (progress, log lines,
 * partial results, copied as they come). The `analyze` job that follows takes it over when its
 * fields are the same and the model and dataset files are unchanged since (size, mtime): the
 * held messages go out under the job's id, in order, and the rest streams as usual. Otherwise
 * the early run is cancelled and the job runs afresh. The results are the same either way: the
 * same engine call on the same files.
 */
import { parseWorkerRequest, type AnalyzeJob, type PreloadRequest, type WorkerMessage } from './protocol/messages';
import { LensError, type Results } from './engine/types';
import { requireRegularFile } from './engine/limits';
import { checkOutDir } from './engine/output';
import type { analyze } from './engine/pipeline/analyze';

/**
 * What the worker checks before anything runs: an output folder that can take the results,
 * and a model and dataset file that are regular files (a FIFO would block, a device never end).
 */
export function precheckJob(job: AnalyzeJob): void {
  if (job.outDir) checkOutDir(job.outDir, 'results folder');
  requireRegularFile(job.datasetPath, 'dataset', 'dataset file');
  requireRegularFile(job.modelPath, 'model', 'model file');
}
import type { writeOutputs } from './engine/output';

export interface WorkerIo {
  send(msg: WorkerMessage): Promise<void>;
  exit(code: number): void;
  stderr(text: string): void;
  analyze: typeof analyze;
  writeOutputs: typeof writeOutputs;
  /** Where the bundles (and the wasm files, the report's script) are. */
  distDir: string;
  peakRssBytes(): number;
  /** Throws a LensError when the job cannot run (precheckJob in the worker). */
  precheck?(job: AnalyzeJob): void;
  /** What says a file is unchanged (size and mtime in the worker); absent: always the same. */
  stamp?(path: string): string;
}

/** An analysis started by `preload`, before its job came. */
interface Ahead {
  fields: Omit<PreloadRequest, 'type'>;
  stamps: string[];
  cancel: { cancelled: boolean };
  /** The messages sent so far, without their job id (none once a job took it over). */
  held: ((id: string) => void)[];
  /** The job that took it over. */
  id?: string;
  done: Promise<{ ok: true; results: Results } | { ok: false; error: unknown }>;
}

const sameFields = (a: Omit<PreloadRequest, 'type'>, b: AnalyzeJob) =>
  a.modelPath === b.modelPath &&
  a.datasetPath === b.datasetPath &&
  JSON.stringify(a.overrides ?? {}) === JSON.stringify(b.overrides ?? {}) &&
  (a.threads ?? 0) === (b.threads ?? 0) &&
  (a.cacheDir ?? '') === (b.cacheDir ?? '');

const stampsOf = (io: WorkerIo, f: { modelPath: string; datasetPath: string }): string[] => {
  try {
    return [f.modelPath, f.datasetPath].map((p) => io.stamp?.(p) ?? '');
  } catch {
    return ['?'];
  }
};

/** Starts the analysis of a `preload` (undefined when its files are not regular files: the job says so). */
function startAhead(req: PreloadRequest, io: WorkerIo): Ahead | undefined {
  const { type: _type, ...fields } = req;
  try {
    io.precheck?.({ type: 'analyze', id: 'preload', ...fields });
  } catch {
    return undefined;
  }
  const stamps = stampsOf(io, fields);
  if (stamps.includes('?')) return undefined;
  const ahead = { fields, stamps, cancel: { cancelled: false }, held: [] } as unknown as Ahead;
  const out = (send: (id: string) => void) => {
    if (ahead.id !== undefined) send(ahead.id);
    else if (!ahead.cancel.cancelled) ahead.held.push(send);
  };
  ahead.done = io
    .analyze(fields.modelPath, fields.datasetPath, {
      overrides: fields.overrides,
      threads: fields.threads,
      ...(fields.cacheDir ? { cacheDir: fields.cacheDir } : {}),
      onProgress: (event) => out((id) => void io.send({ type: 'progress', id, event })),
      onPartial: (results, stage) => {
        // The results object keeps growing: held, it is copied now.
        if (ahead.id !== undefined) void io.send({ type: 'partial', id: ahead.id, results, stage });
        else {
          const copy = structuredClone(results);
          out((id) => void io.send({ type: 'partial', id, results: copy, stage }));
        }
      },
      log: (message) => out((id) => void io.send({ type: 'log', id, level: 'info', message })),
      cancel: ahead.cancel,
      distDir: io.distDir,
    })
    .then(
      (results) => ({ ok: true as const, results }),
      (error: unknown) => ({ ok: false as const, error }),
    );
  return ahead;
}

/** The results of the job: the early run's when it fits the job (its held messages sent first), else a fresh run. */
async function jobResults(job: AnalyzeJob, io: WorkerIo, ahead: Ahead | undefined): Promise<Results> {
  const id = job.id;
  if (ahead && sameFields(ahead.fields, job) && JSON.stringify(stampsOf(io, job)) === JSON.stringify(ahead.stamps)) {
    ahead.id = id;
    for (const send of ahead.held.splice(0)) send(id);
    const r = await ahead.done;
    if (!r.ok) throw r.error;
    return r.results;
  }
  if (ahead) {
    // Another job, or the files changed since: the early run stops (at its next check) first.
    ahead.cancel.cancelled = true;
    ahead.held.length = 0;
    await ahead.done;
  }
  return io.analyze(job.modelPath, job.datasetPath, {
    overrides: job.overrides,
    threads: job.threads,
    ...(job.cacheDir ? { cacheDir: job.cacheDir } : {}),
    onProgress: (event) => void io.send({ type: 'progress', id, event }),
    onPartial: (results, stage) => void io.send({ type: 'partial', id, results, stage }),
    log: (message) => void io.send({ type: 'log', id, level: 'info', message }),
    distDir: io.distDir,
  });
}

/** The worker's message handler: resolves when the message is dealt with; never rejects. */
export function createJobHandler(io: WorkerIo): (raw: unknown) => Promise<void> {
  let running: string | undefined;
  let ahead: Ahead | undefined;
  return async (raw) => {
    const parsed = parseWorkerRequest(raw);
    if (!parsed.ok) {
      io.stderr(`unet-lens worker: rejected a job message: ${parsed.reason}\n`);
      if (!running) io.exit(2);
      return;
    }
    const msg = parsed.message;
    if (msg.type === 'preload') {
      if (running || ahead) io.stderr(`unet-lens worker: ignored a preload: ${running ? `job ${running} is running` : 'one was started already'}\n`);
      else ahead = startAhead(msg, io);
      return;
    }
    if (running) {
      io.stderr(`unet-lens worker: rejected job ${msg.id}: job ${running} is still running (one job per worker)\n`);
      return;
    }
    running = msg.id;
    const early = ahead;
    ahead = undefined;
    await runJob(msg, io, early);
  };
}

async function runJob(job: AnalyzeJob, io: WorkerIo, ahead: Ahead | undefined): Promise<void> {
  const id = job.id;
  try {
    io.precheck?.(job);
    const results = await jobResults(job, io, ahead);
    if (job.outDir) await io.writeOutputs(results, job.outDir, io.distDir);
    await io.send({ type: 'result', id, results, peakRssBytes: io.peakRssBytes() });
    io.exit(0);
  } catch (e) {
    const err = e as Error;
    try {
      if (err instanceof LensError) {
        await io.send({ type: 'error', id, message: err.message, kind: err.kind, where: err.where });
      } else {
        io.stderr(`${err?.stack ?? String(err)}\n`);
        await io.send({ type: 'error', id, message: `Internal error: ${err?.message ?? String(err)}`, kind: 'internal' });
      }
    } finally {
      io.exit(1);
    }
  }
}
