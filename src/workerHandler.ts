/**
 * What the background worker does with a message from the host, apart from the process
 * it runs in (src/worker.ts wires it to `process`), so tests can hand it any message.
 *
 * A message that is not a well-formed `analyze` job is rejected with its reason on stderr
 * and the worker exits with code 2 (the host reports that as a crash, with the reason from
 * stderr). A second job while one runs is rejected the same way, without stopping the first.
 */
import { parseWorkerRequest, type AnalyzeJob, type WorkerMessage } from './protocol/messages';
import { LensError } from './engine/types';
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
}

/** The worker's message handler: resolves when the message is dealt with; never rejects. */
export function createJobHandler(io: WorkerIo): (raw: unknown) => Promise<void> {
  let running: string | undefined;
  return async (raw) => {
    const parsed = parseWorkerRequest(raw);
    if (!parsed.ok) {
      io.stderr(`unet-lens worker: rejected a job message: ${parsed.reason}\n`);
      if (!running) io.exit(2);
      return;
    }
    if (running) {
      io.stderr(`unet-lens worker: rejected job ${parsed.message.id}: job ${running} is still running (one job per worker)\n`);
      return;
    }
    running = parsed.message.id;
    await runJob(parsed.message, io);
  };
}

async function runJob(job: AnalyzeJob, io: WorkerIo): Promise<void> {
  const id = job.id;
  try {
    io.precheck?.(job);
    const results = await io.analyze(job.modelPath, job.datasetPath, {
      overrides: job.overrides,
      threads: job.threads,
      onProgress: (event) => void io.send({ type: 'progress', id, event }),
      onPartial: (results, stage) => void io.send({ type: 'partial', id, results, stage }),
      log: (message) => void io.send({ type: 'log', id, level: 'info', message }),
      distDir: io.distDir,
    });
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
