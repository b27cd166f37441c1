/**
 * The per-tap jobs that `tapPool.ts` runs on threads, as plain data in and out, and the one
 * function that runs each (on a thread by tapThread.ts, or here when there is no pool or a
 * thread failed): a tap's metrics on a split (with train's reference of it built first, on
 * train), and a tap's knnConfidence map of one image.
 */
import type { Results, TapMetrics } from '../types';
import type { Run, TapState } from './context';
import type { JobContext, JobRunner, MapJob, TapJob, TapJobResult } from './jobTypes';
import { confidenceAt } from './maps';
import { tapMetrics } from './tapMetrics';
import { tapReference } from './trainReference';
import type { TapPool } from './tapPool';

function runOf(ctx: JobContext, warnings: string[]): Run {
  return { settings: ctx.settings, numClasses: ctx.numClasses, task: ctx.task, gemm: ctx.gemm, topk: ctx.topk, warnings, log: () => undefined } as unknown as Run;
}

/** One tap's metrics on one split (and train's reference of it first, when asked). */
export async function runTapJob(ctx: JobContext, job: TapJob): Promise<TapJobResult> {
  const warnings: string[] = [];
  const run = runOf(ctx, warnings);
  const tap = { info: { name: job.tap.name }, C: job.tap.C, prevDim: job.tap.prevDim } as TapState;
  let reference = job.reference;
  const out: TapJobResult = { metrics: undefined as unknown as TapMetrics, warnings };
  if (job.buildReference) {
    reference = await tapReference(run, tap, job.sample, job.buildReference.labeled);
    out.reference = reference;
  }
  const pca: Results['pca'] | undefined = job.withPca ? { [job.tap.name]: { explainedVariance: [], points: {} } } : undefined;
  const derived = job.withDerived ? { knnDice: null as number | null, featureShiftFg: null as number | null } : undefined;
  out.metrics = await tapMetrics({
    run,
    tap,
    sample: job.sample,
    split: job.split,
    reference,
    isTrain: job.isTrain,
    labeled: job.labeled,
    withRoughness: job.withRoughness,
    kmeansInits: job.kmeansInits,
    ...(pca ? { pca } : {}),
    ...(derived ? { derived } : {}),
    ...(job.db !== undefined ? { db: job.db } : {}),
  });
  if (pca) out.pcaRows = pca[job.tap.name].points[job.split];
  if (derived) out.derived = derived;
  return out;
}

/** One tap's knnConfidence at every queried location of one image. */
export function runMapJob(ctx: JobContext, job: MapJob): Promise<Float64Array> {
  return confidenceAt(runOf(ctx, []), job.ref, job.q, job.nq, job.pred, job.self);
}

/**
 * The jobs' runner: on the pool's threads when there is a pool (the same function here as the
 * fallback), else here, one at a time (`lanes` 1).
 */
export function jobRunner(ctx: JobContext, pool: TapPool | null): JobRunner {
  if (!pool) return { lanes: 1, tap: (job) => runTapJob(ctx, job), map: (job) => runMapJob(ctx, job) };
  return {
    lanes: pool.lanes,
    tap: (job) => pool.run('tap', job, () => runTapJob(ctx, job)),
    map: (job) => pool.run('map', job, () => runMapJob(ctx, job)),
  };
}

/** Each analysis's runner (`setJobs`, analyze.ts); a run without one measures here, one job at a time. */
const runners = new WeakMap<Run, JobRunner>();

export function setJobs(run: Run, jobs: JobRunner): void {
  runners.set(run, jobs);
}

/** The run's job runner (see `setJobs`); without one, the jobs run here one after the other. */
export function jobsOf(run: Run): JobRunner {
  return runners.get(run) ?? jobRunner(contextOf(run), null);
}

/** What the jobs read of a run. */
export function contextOf(run: Run): JobContext {
  return { settings: { k: run.settings.k, seed: run.settings.seed }, numClasses: run.numClasses, task: run.task, gemm: run.gemm, topk: run.topk };
}
