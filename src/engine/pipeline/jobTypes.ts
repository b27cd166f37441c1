/**
 * The per-tap jobs (tapJobs.ts runs them, tapPool.ts on threads) as plain data: what the
 * stages that hand them out (splitMetrics, mapsPass, the sweep's features) need to know of them.
 */
import type { AsyncGemm, TopkHook } from '../metrics';
import type { Task, TapMetrics } from '../types';
import type { TapState } from './context';
import type { Sample } from './forwardPass';
import type { TapReference } from './trainReference';

/** What a job reads of the run: settings and kernels, no model, no data. */
export interface JobContext {
  settings: { k: number; seed: number };
  numClasses: number;
  task: Task;
  gemm: AsyncGemm;
  topk: TopkHook;
}

/** The part of a tap a job needs (not the previous taps it links to). */
export interface SlimTap {
  name: string;
  C: number;
  prevDim: number;
}

export function slimTap(tap: TapState): SlimTap {
  return { name: tap.info.name, C: tap.C, prevDim: tap.prevDim };
}

export interface TapJob {
  tap: SlimTap;
  sample: Sample;
  split: string;
  /** The tap's train reference; with `buildReference`, built from `sample` first (train). */
  reference: TapReference | null;
  buildReference?: { labeled: boolean };
  isTrain: boolean;
  labeled: boolean;
  withRoughness: boolean;
  withPca: boolean;
  withDerived: boolean;
  kmeansInits: number;
  db?: number | null;
}

export interface TapJobResult {
  metrics: TapMetrics;
  /** The PCA rows of the tap view (`withPca`). */
  pcaRows?: number[][];
  derived?: { knnDice: number | null; featureShiftFg: number | null };
  /** The reference built (`buildReference`). */
  reference?: TapReference | null;
  warnings: string[];
}

export interface MapJob {
  ref: TapReference;
  q: Float32Array;
  nq: number;
  pred: Int32Array;
  self: { image: number; offset: number; locs: Int32Array | null } | null;
}

/** Runs jobs, `lanes` at a time at most usefully (1: here, one after the other). */
export interface JobRunner {
  lanes: number;
  tap(job: TapJob): Promise<TapJobResult>;
  map(job: MapJob): Promise<Float64Array>;
}

/** Jobs to keep started ahead of the one awaited: two per thread (the queue keeps the threads busy); one at a time without threads. */
export function aheadOf(jobs: JobRunner): number {
  return jobs.lanes > 1 ? 2 * jobs.lanes : 1;
}
