/**
 * The metrics of a tap on a split (METHOD.md §3–§4): Davies–Bouldin, roughness, and against
 * the train reference kNN confidence and feature shift (plus the PCA rows of the tap view).
 */
import {
  neighborsInTrainAsync,
  knnConfidence,
  knnDice,
  foregroundConfidence,
  foregroundShift,
  featureShift,
  daviesBouldin,
  roughnessAsync,
  project,
} from '../metrics';
import type { SplitSource } from '../data/splits';
import type { ProgressEvent, Results, TapMetrics } from '../types';
import { checkCancel, finiteOrNull, PCA_ROWS, REGRESSION_CLUSTERS, round, shortName, type Run, type TapState } from './context';
import type { Sample, SplitPass } from './forwardPass';
import { tapPoints, type TapReference, type TrainReferences } from './trainReference';
import { aheadOf, slimTap, type JobRunner } from './jobTypes';
import { inOrder } from './tapPool';

export interface TapMetricsOptions {
  run: Run;
  tap: TapState;
  /** The tap's sampled points on the split. */
  sample: Sample;
  split: string;
  /** The tap's train reference (null: train gave none; knnConfidence(Fg) and featureShift are left out). */
  reference: TapReference | null;
  /** The split is train itself: its neighbours are the reference's leave-one-out ones. */
  isTrain: boolean;
  /** Ground-truth labels are there (db, PCA colours); false for regression. */
  labeled: boolean;
  /** False when the previous tap held NaN/Inf (roughness reads it). */
  withRoughness: boolean;
  /** Where the PCA rows go; without it, none are kept (the shift sweep). */
  pca?: Results['pca'];
  /** When given, also the predictor's derived metrics (knnDice, featureShiftFg) go here. */
  derived?: { knnDice: number | null; featureShiftFg: number | null };
  /** k-means++ initialisations of roughness. */
  kmeansInits: number;
  /** The tap's Davies–Bouldin when already computed (splitMetrics' `dbFirst`). */
  db?: number | null;
}

/** Davies–Bouldin of a tap's n points (n×C) grouped by their true labels `gt` (METHOD.md §4). */
function tapDb(P: Float32Array, n: number, C: number, gt: Int32Array): number | null {
  return finiteOrNull(daviesBouldin(P, n, C, gt));
}

export async function tapMetrics(o: TapMetricsOptions): Promise<TapMetrics> {
  const { run, tap, sample, split: splitName, reference, isTrain, labeled } = o;
  const { settings, numClasses, gemm, topk } = run;
  const n = sample.n;
  const D = sample.dim;
  const C = tap.C;
  const P = tapPoints(sample, C);
  const Q = o.withRoughness ? new Float32Array(n * tap.prevDim) : null;
  if (Q) for (let i = 0; i < n; i++) Q.set(sample.points.subarray(i * D + C, (i + 1) * D), i * tap.prevDim);
  const gt = sample.extras.gt as Int32Array;
  const pred = sample.extras.pred as Int32Array;
  const m = emptyTapMetrics(n);
  if (n === 0) return m;

  if (labeled) m.db = o.db !== undefined ? o.db : tapDb(P, n, C, gt);
  const clusters = run.task === 'regression' ? REGRESSION_CLUSTERS : numClasses;
  if (Q && clusters >= 2 && n > clusters) {
    const r = await roughnessAsync({ points: P, dim: C, prevPoints: Q, prevDim: tap.prevDim, n, k: clusters, seed: settings.seed, nInit: o.kmeansInits, gemm });
    m.roughness = finiteOrNull(r.value);
  }

  const ref = reference?.knn;
  if (ref && ref.n > 1) {
    const neighbors = isTrain ? ref.self : await neighborsInTrainAsync(ref, P, n, { gemm, topk });
    if (ref.labels && numClasses >= 2) {
      const conf = knnConfidence({ ref, neighbors, predicted: pred });
      m.knnConfidence = finiteOrNull(conf.mean);
      // METHOD.md §4: over the points predicted as foreground; over all points when none is.
      if (run.task === 'segmentation') m.knnConfidenceFg = finiteOrNull(foregroundConfidence(conf.perPoint, pred) ?? conf.mean);
    }
    const fs = featureShift({ ref, neighbors });
    m.featureShift = finiteOrNull(fs.value);
    const d = o.derived;
    if (d && ref.labels && run.task === 'segmentation') d.knnDice = finiteOrNull(knnDice({ ref, neighbors, predicted: pred, numClasses }));
    if (d && run.task === 'segmentation' && fs.perPoint.length === n) d.featureShiftFg = finiteOrNull(foregroundShift(fs.perPoint, pred) ?? fs.value);
  } else if (!ref) {
    run.warnings.push(`Tap ${tap.info.name}: split "${splitName}": knnConfidence and featureShift left out (no train reference: the train activations of this tap hold NaN or Inf).`);
  }

  if (o.pca && reference) {
    const proj = project(P, n, C, reference.pca);
    const width = proj.length / Math.max(1, n);
    const stride = Math.max(1, Math.ceil(n / PCA_ROWS));
    const rows: number[][] = [];
    for (let i = 0; i < n; i += stride) {
      rows.push([round(proj[i * width], 4), round(proj[i * width + 1], 4), round(proj[i * width + 2], 4), labeled ? gt[i] : pred[i]]);
    }
    o.pca[tap.info.name].points[splitName] = rows;
  }
  return m;
}

/** Every metric null (none measured yet, or left out), with `points` measured. */
function emptyTapMetrics(points: number): TapMetrics {
  return { db: null, roughness: null, knnConfidence: null, knnConfidenceFg: null, featureShift: null, points };
}

/**
 * The metrics of every tap on one split, from its samples (`finishSamples`), written into
 * `into` tap by tap (the caller streams them: `afterTap`), with a warning for each tap (or
 * roughness) left out because of NaN/Inf activations. On train (`trainReference`), each
 * tap's reference is built from its sample just before its metrics, in the same job, and
 * handed to `trainReference.onBuilt`. The taps' jobs run through `jobs` (several at once on
 * the tap threads, tapPool.ts), their answers taken in tap order: the warnings, the streamed
 * results and the entries come out in tap order whatever finished first.
 */
export async function splitMetrics(o: {
  run: Run;
  src: SplitSource;
  pass: SplitPass;
  samples: (Sample | null)[];
  reference: TrainReferences;
  isTrain: boolean;
  pca: Results['pca'];
  kmeansInits: number;
  progress: (e: ProgressEvent) => void;
  into: { [tap: string]: TapMetrics };
  jobs: JobRunner;
  /** Train: build each tap's reference from its sample first (`labeled`: with train's labels). */
  trainReference?: { labeled: boolean; onBuilt: (ti: number, ref: TapReference | null) => void };
  /** After each tap's metrics (ti), and with `dbFirst` once after every tap's db (ti = −1). */
  afterTap?: (ti: number) => void;
  dbFirst?: boolean;
}): Promise<void> {
  const { run, src, pass, isTrain } = o;
  const metrics = o.into;
  const labeled = src.labeled && run.task !== 'regression';
  // `dbFirst`: every tap's Davies–Bouldin before anything else (it needs no reference and costs
  // little), streamed at once (`afterTap(-1)`); the other metrics follow tap by tap. Every tap
  // gets its entry here, in tap order, so the final entries keep that order.
  const dbs: (number | null | undefined)[] = [];
  if (o.dbFirst && labeled) {
    run.taps.forEach((tap, ti) => {
      const sample = o.samples[ti];
      const ok = !pass.nonFinite.has(ti) && sample && sample.n > 0;
      dbs[ti] = ok ? tapDb(tapPoints(sample, tap.C), sample.n, tap.C, sample.extras.gt as Int32Array) : undefined;
      metrics[tap.info.name] = { ...emptyTapMetrics(ok ? sample.n : 0), db: dbs[ti] ?? null };
    });
    o.afterTap?.(-1);
  }
  await inOrder(
    run.taps.length,
    aheadOf(o.jobs),
    (ti) => {
      checkCancel(run.cancel);
      const tap = run.taps[ti];
      const sample = o.samples[ti];
      if (pass.nonFinite.has(ti) || !sample) return Promise.resolve(null);
      o.samples[ti] = null;
      return o.jobs.tap({
        tap: slimTap(tap),
        sample,
        split: src.name,
        reference: o.trainReference ? null : o.reference[ti],
        ...(o.trainReference ? { buildReference: { labeled: o.trainReference.labeled } } : {}),
        isTrain,
        labeled,
        withRoughness: !pass.roughOff.has(ti),
        withPca: true,
        withDerived: false,
        kmeansInits: o.kmeansInits,
        ...(dbs[ti] !== undefined ? { db: dbs[ti] } : {}),
      });
    },
    async (ti, res) => {
      checkCancel(run.cancel);
      const tap = run.taps[ti];
      if (o.trainReference) o.trainReference.onBuilt(ti, res ? res.reference ?? null : null);
      o.progress({ stage: 'metrics', message: `Metrics: ${src.name}, ${shortName(tap.info.name)}`, split: src.name, tap: tap.info.name, done: ti, total: run.taps.length });
      if (!res) {
        run.warnings.push(
          `Tap ${tap.info.name}: split "${src.name}": activations hold NaN or Inf; metrics left out for this tap and split` +
            (isTrain ? ' (and its knnConfidence and featureShift on every split, which need the train points).' : '.'),
        );
        metrics[tap.info.name] = emptyTapMetrics(0);
        o.afterTap?.(ti);
        return;
      }
      const roughOff = pass.roughOff.get(ti);
      if (roughOff !== undefined) {
        run.warnings.push(`Tap ${tap.info.name}: split "${src.name}": roughness left out (it reads the previous tap ${roughOff}, whose activations hold NaN or Inf).`);
      }
      run.warnings.push(...res.warnings);
      if (res.pcaRows) o.pca[tap.info.name].points[src.name] = res.pcaRows;
      metrics[tap.info.name] = res.metrics;
      o.afterTap?.(ti);
      // Let the event loop breathe between taps (progress messages, cancellation).
      await new Promise((r) => setImmediate(r));
    },
  );
}
