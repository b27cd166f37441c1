/**
 * The background worker: a forked Node process that takes one analysis job from the
 * extension host, runs the engine, streams progress, replies with the results and exits.
 * Cancellation is the host killing this process; results files are written atomically,
 * so a killed worker leaves nothing half-written.
 */
import { parseWorkerRequest, type WorkerMessage } from './protocol/messages';
import { analyze } from './engine/pipeline/analyze';
import { writeOutputs } from './engine/output';
import { LensError } from './engine/types';

function send(msg: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(msg, undefined, {}, () => resolve());
  });
}

process.on('message', async (raw: unknown) => {
  const parsed = parseWorkerRequest(raw);
  if (!parsed.ok) {
    process.stderr.write(`unet-lens worker: rejected a job message: ${parsed.reason}\n`);
    process.exit(2);
  }
  const job = parsed.message;
  const id = job.id;
  try {
    const results = await analyze(job.modelPath, job.datasetPath, {
      overrides: job.overrides,
      threads: job.threads,
      onProgress: (event) => void send({ type: 'progress', id, event }),
      log: (message) => void send({ type: 'log', id, level: 'info', message }),
      distDir: __dirname,
    });
    if (job.outDir) await writeOutputs(results, job.outDir, __dirname);
    const peakRssBytes = process.resourceUsage().maxRSS * 1024;
    await send({ type: 'result', id, results, peakRssBytes });
    process.exit(0);
  } catch (e) {
    const err = e as Error;
    if (err instanceof LensError) {
      await send({ type: 'error', id, message: err.message, kind: err.kind, where: err.where });
    } else {
      process.stderr.write(`${err?.stack ?? String(err)}\n`);
      await send({ type: 'error', id, message: `Internal error: ${err?.message ?? String(err)}`, kind: 'internal' });
    }
    process.exit(1);
  }
});

process.on('disconnect', () => process.exit(0));
