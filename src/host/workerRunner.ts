/**
 * Runs one analysis job in a forked Node process (dist/worker.js) and turns its messages
 * into a promise. Pure Node (no `vscode`), so integration tests drive it directly.
 *
 * Lifecycle (after microsoft/vscode-tensorboard's child handling): one process per job;
 * cancel = SIGTERM, then SIGKILL after `killGraceMs`; a process that exits without a
 * result is a crash, reported with the tail of its stderr.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { parseWorkerMessage, type AnalyzeJob, type PreloadRequest, type WorkerMessage } from '../protocol/messages';
import type { ProgressEvent, Results } from '../engine/types';
import { ANALYSIS_EXEC_ARGV } from '../engine/limits';

export interface WorkerOutcome {
  results: Results;
  peakRssBytes: number;
}

export class WorkerError extends Error {
  constructor(
    message: string,
    /** 'cancelled' | 'crash' | an engine LensError kind ('dataset', 'model', 'data', …) */
    public readonly kind: string,
    public readonly where?: string,
    public readonly stderrTail = '',
  ) {
    super(message);
    this.name = 'WorkerError';
  }
}

export interface RunOptions {
  onProgress?: (e: ProgressEvent) => void;
  /** The results so far (the worker's `partial` messages). */
  onPartial?: (results: Results, stage: string) => void;
  /** Every stderr chunk and every worker log line, for the output channel. */
  onLog?: (line: string) => void;
  signal?: AbortSignal;
  /** Heap limit of the worker, MB. */
  maxOldSpaceMB?: number;
  killGraceMs?: number;
  /** Extra environment for the worker (tests). */
  env?: NodeJS.ProcessEnv;
  /** Called with the worker's pid once it runs. */
  onSpawn?: (pid: number) => void;
  /**
   * A worker started ahead (`prestartWorker`), already compiling its bundle and loading
   * onnxruntime while the host was still finding files and hashing them. Used when it still
   * runs; else a new one is forked.
   */
  prestarted?: PrestartedWorker;
}

/** How a worker process is started: the heap limit and extra environment (see RunOptions). */
export type WorkerStart = Pick<RunOptions, 'maxOldSpaceMB' | 'env'>;

function forkWorker(workerPath: string, start: WorkerStart): ChildProcess {
  const execArgv = [...ANALYSIS_EXEC_ARGV, ...(start.maxOldSpaceMB ? [`--max-old-space-size=${start.maxOldSpaceMB}`] : [])];
  return fork(workerPath, [], {
    execArgv,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    // In desktop VS Code the extension host is Electron: run the child as plain Node.
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1', ...start.env },
  });
}

/**
 * A worker process forked before its job is known: it waits for the job message. `take()`
 * hands it to runWorker (once, and only while it still runs); `dispose()` stops it unless it
 * was taken (the cache answered, or the command ended without running anything).
 */
export class PrestartedWorker {
  private child: ChildProcess | undefined;
  private taken = false;
  readonly startedAt = Date.now();

  constructor(
    readonly workerPath: string,
    readonly start: WorkerStart,
  ) {
    try {
      this.child = forkWorker(workerPath, start);
      // An early failure (e.g. no such file) must not be an unhandled 'error' event; runWorker
      // then forks again and reports what goes wrong.
      this.child.on('error', () => undefined);
    } catch {
      this.child = undefined;
    }
  }

  /** The process id (undefined when the fork failed). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Tells the worker the job likely to come, so it starts it now (src/workerHandler.ts): the
   * job that follows takes that run over when it is the same job on unchanged files. False
   * (nothing sent) when the worker is gone, taken, or was started otherwise (`take` would not
   * give it to the job).
   */
  preload(req: PreloadRequest, workerPath: string, start: WorkerStart): boolean {
    const c = this.usable(workerPath, start);
    if (!c) return false;
    try {
      c.send(req, (err) => void err); // a failed send is no matter: the job then runs afresh
      return true;
    } catch {
      return false;
    }
  }

  /** The process, if it still runs and was started the same way; at most once. */
  take(workerPath: string, start: WorkerStart): ChildProcess | undefined {
    const c = this.usable(workerPath, start);
    if (c) this.taken = true;
    return c;
  }

  /** The process, if it is not taken, still runs and was started the same way. */
  private usable(workerPath: string, start: WorkerStart): ChildProcess | undefined {
    const c = this.child;
    if (this.taken || !c) return undefined;
    const same = workerPath === this.workerPath && start.maxOldSpaceMB === this.start.maxOldSpaceMB && JSON.stringify(start.env ?? {}) === JSON.stringify(this.start.env ?? {});
    if (!same || c.exitCode !== null || c.signalCode !== null || !c.connected) return undefined;
    return c;
  }

  dispose(): void {
    if (this.taken || !this.child) return;
    this.taken = true;
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

export function runWorker(workerPath: string, job: AnalyzeJob, opts: RunOptions = {}): Promise<WorkerOutcome> {
  return new Promise<WorkerOutcome>((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new WorkerError('Analysis cancelled.', 'cancelled'));
      return;
    }
    let child: ChildProcess;
    try {
      child = opts.prestarted?.take(workerPath, opts) ?? forkWorker(workerPath, opts);
    } catch (e) {
      reject(new WorkerError(`Could not start the analysis worker (${workerPath}): ${(e as Error).message}`, 'crash'));
      return;
    }

    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    let settled = false;
    let stderr = '';
    let cancelled = false;
    let killTimer: NodeJS.Timeout | undefined;
    const log = (line: string) => opts.onLog?.(line);

    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      fn();
    };

    const onAbort = () => {
      cancelled = true;
      log('[host] cancel requested: stopping the worker');
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), opts.killGraceMs ?? 1000);
      killTimer.unref();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout?.setEncoding('utf8').on('data', (s: string) => log(s.trimEnd()));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => {
      stderr = (stderr + s).slice(-8000);
      log(s.trimEnd());
    });

    child.on('message', (raw: unknown) => {
      const parsed = parseWorkerMessage(raw);
      if (!parsed.ok) {
        log(`[host] rejected a worker message: ${parsed.reason}`);
        return;
      }
      const msg: WorkerMessage = parsed.message;
      if (msg.id !== job.id) {
        log(`[host] rejected a worker message for another job (${msg.id})`);
        return;
      }
      switch (msg.type) {
        case 'progress':
          opts.onProgress?.(msg.event);
          break;
        case 'log':
          log(`[worker] ${msg.message}`);
          break;
        case 'partial':
          opts.onPartial?.(msg.results, msg.stage);
          break;
        case 'result':
          finish(() => resolve({ results: msg.results, peakRssBytes: msg.peakRssBytes }));
          child.disconnect?.();
          break;
        case 'error':
          finish(() => reject(new WorkerError(msg.message, msg.kind, msg.where, stderr)));
          break;
        default: {
          const unhandled: never = msg; // a new worker message must be handled here
          log(`[host] unhandled worker message ${JSON.stringify(unhandled)}`);
        }
      }
    });

    child.on('error', (e) => {
      finish(() => reject(new WorkerError(`The analysis worker failed: ${e.message}`, 'crash', workerPath, stderr)));
    });

    child.on('exit', (code, signal) => {
      if (killTimer) clearTimeout(killTimer);
      if (cancelled) {
        finish(() => reject(new WorkerError('Analysis cancelled.', 'cancelled')));
        return;
      }
      const tail = stderr.trim().split('\n').slice(-3).join(' | ');
      finish(() =>
        reject(
          new WorkerError(
            `The analysis worker stopped unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`})` +
              (tail ? `: ${tail}` : '') +
              '. See the UNet Lens output channel for its log.',
            'crash',
            workerPath,
            stderr,
          ),
        ),
      );
    });

    child.send(job, (err) => {
      if (err) finish(() => reject(new WorkerError(`Could not send the job to the worker: ${err.message}`, 'crash')));
    });
  });
}
