/**
 * The background worker: a forked Node process that takes one analysis job from the
 * extension host, runs the engine, streams progress, replies with the results and exits.
 * Cancellation is the host killing this process; results files are written atomically,
 * so a killed worker leaves nothing half-written. What it does with each message is in
 * workerHandler.ts.
 */
import { statSync } from 'node:fs';
import type { WorkerMessage } from './protocol/messages';
import { analyze } from './engine/pipeline/analyze';
import { writeOutputs } from './engine/output';
import { createJobHandler, precheckJob } from './workerHandler';

function send(msg: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(msg, undefined, {}, () => resolve());
  });
}

const handle = createJobHandler({
  send,
  exit: (code) => process.exit(code),
  stderr: (text) => void process.stderr.write(text),
  analyze,
  writeOutputs,
  distDir: __dirname,
  peakRssBytes: () => process.resourceUsage().maxRSS * 1024,
  precheck: precheckJob,
  stamp: (p) => {
    const st = statSync(p);
    return `${st.size}:${st.mtimeMs}:${st.ino}`;
  },
});

process.on('message', (raw: unknown) => void handle(raw));

process.on('disconnect', () => process.exit(0));
