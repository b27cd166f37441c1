/**
 * Label-free neighbourhood metrics against the `train` points of a tap (METHOD.md §4):
 * `knnConfidence` and `featureShift`. Pure: no `vscode`, no I/O.
 *
 * The train-side work — the leave-one-out k-NN of the train points among themselves, their
 * k-th neighbour distances and the median of those — is done once per tap by
 * `buildTrainReference` and reused for every split:
 *
 * ```ts
 * const ref = buildTrainReference({ points: trainPts, n: nTrain, dim, labels: trainGt, k });
 * for (const split of splits) {
 *   const nb = split.name === 'train' ? ref.self : neighborsInTrain(ref, split.points, split.n);
 *   const conf = knnConfidence({ ref, neighbors: nb, predicted: split.predicted });
 *   const shift = featureShift({ ref, neighbors: nb });
 * }
 * ```
 *
 * Distances are Euclidean on the raw C-vectors, neighbours exact (`knnSearch`). When k is at
 * least the number of train points available (n, or n − 1 leave-one-out), every available
 * train point is a neighbour, and the "k-th" neighbour is the farthest one.
 */

import { MetricArgumentError, checkInt, checkLabels, type IntArray } from './validate';
import { knnSearch, knnSearchAsync, type AsyncGemm, type Gemm, type KnnResult, type TopkHook } from './knn';
import { median } from './stats';

export interface TrainReference {
  points: Float32Array;
  n: number;
  dim: number;
  /** Ground-truth train labels per point, or null (unlabelled / regression). */
  labels: Int32Array | null;
  /** k asked for. */
  k: number;
  /** Leave-one-out neighbours of every train point among the train points. */
  self: KnnResult;
  /** Per train point: distance to its k-th leave-one-out neighbour (empty when self.k = 0). */
  kthDistances: Float64Array;
  /** Median (NumPy's) of `kthDistances`, or null when there is none. */
  medianKth: number | null;
}

export interface TrainReferenceOptions {
  /** Train points, row-major n×dim. */
  points: Float32Array;
  n: number;
  dim: number;
  /** Ground-truth label of each train point (needed by `knnConfidence`). */
  labels?: IntArray | null;
  /** Neighbours per point (METHOD.md / settings `k`). */
  k: number;
  gemm?: Gemm;
  gemmErrorFactor?: number;
}

function prepare(o: TrainReferenceOptions, fn: string): { labels: Int32Array | null } {
  if (!o || typeof o !== 'object') throw new MetricArgumentError(fn, 'options', 'must be an object');
  checkInt(fn, 'n', o.n, 0);
  checkInt(fn, 'k', o.k, 1);
  if (o.labels != null) checkLabels(fn, 'labels', o.labels, o.n);
  return { labels: o.labels == null ? null : Int32Array.from(o.labels) };
}

function finishReference(o: TrainReferenceOptions, labels: Int32Array | null, self: KnnResult): TrainReference {
  const kk = self.k;
  const kthDistances = new Float64Array(kk > 0 ? o.n : 0);
  if (kk > 0) for (let i = 0; i < o.n; i++) kthDistances[i] = self.distances[i * kk + kk - 1];
  return {
    points: o.points,
    n: o.n,
    dim: o.dim,
    labels,
    k: o.k,
    self,
    kthDistances,
    medianKth: kthDistances.length > 0 ? median(kthDistances) : null,
  };
}

/**
 * The train side of a tap, computed once: leave-one-out k-NN of the train points
 * (`knnSearch` with `excludeSelf`), each point's k-th neighbour distance `r_k(t)`, and
 * `median_t r_k(t)` (NumPy median).
 */
export function buildTrainReference(o: TrainReferenceOptions): TrainReference {
  const { labels } = prepare(o, 'buildTrainReference');
  const self = knnSearch({ query: o.points, nq: o.n, ref: o.points, nr: o.n, dim: o.dim, k: o.k, excludeSelf: true, gemm: o.gemm, gemmErrorFactor: o.gemmErrorFactor });
  return finishReference(o, labels, self);
}

/** `buildTrainReference` with a gemm hook that may be asynchronous. */
export async function buildTrainReferenceAsync(o: Omit<TrainReferenceOptions, 'gemm'> & { gemm?: AsyncGemm; topk?: TopkHook }): Promise<TrainReference> {
  const { labels } = prepare(o as TrainReferenceOptions, 'buildTrainReferenceAsync');
  const self = await knnSearchAsync({ query: o.points, nq: o.n, ref: o.points, nr: o.n, dim: o.dim, k: o.k, excludeSelf: true, gemm: o.gemm, topk: o.topk, gemmErrorFactor: o.gemmErrorFactor });
  return finishReference(o as TrainReferenceOptions, labels, self);
}

/** k nearest train points of each query point (not leave-one-out: use `ref.self` for train itself). */
export function neighborsInTrain(ref: TrainReference, query: Float32Array, nq: number, opts: { gemm?: Gemm; gemmErrorFactor?: number } = {}): KnnResult {
  checkRef('neighborsInTrain', ref);
  return knnSearch({ query, nq, ref: ref.points, nr: ref.n, dim: ref.dim, k: ref.k, gemm: opts.gemm, gemmErrorFactor: opts.gemmErrorFactor });
}

/** `neighborsInTrain` with a gemm hook that may be asynchronous. */
export async function neighborsInTrainAsync(ref: TrainReference, query: Float32Array, nq: number, opts: { gemm?: AsyncGemm; topk?: TopkHook; gemmErrorFactor?: number } = {}): Promise<KnnResult> {
  checkRef('neighborsInTrainAsync', ref);
  return knnSearchAsync({ query, nq, ref: ref.points, nr: ref.n, dim: ref.dim, k: ref.k, gemm: opts.gemm, topk: opts.topk, gemmErrorFactor: opts.gemmErrorFactor });
}

function checkRef(fn: string, ref: TrainReference): void {
  if (!ref || !(ref.points instanceof Float32Array) || !ref.self || !(ref.kthDistances instanceof Float64Array)) {
    throw new MetricArgumentError(fn, 'ref', 'must be the result of buildTrainReference');
  }
}

function checkNeighbors(fn: string, ref: TrainReference, nb: KnnResult): void {
  if (!nb || !(nb.indices instanceof Int32Array) || !(nb.distances instanceof Float64Array) || typeof nb.k !== 'number') {
    throw new MetricArgumentError(fn, 'neighbors', 'must be a knnSearch result against ref.points (or ref.self)');
  }
  if (nb.indices.length !== nb.nq * nb.k) throw new MetricArgumentError(fn, 'neighbors', 'has indices of the wrong length');
  for (let i = 0; i < nb.indices.length; i++) {
    if (nb.indices[i] < 0 || nb.indices[i] >= ref.n) {
      throw new MetricArgumentError(fn, 'neighbors', `holds index ${nb.indices[i]}, not a train point of ref (n = ${ref.n})`);
    }
  }
}

/**
 * kNN confidence (METHOD.md §4): for query point q with predicted label ŷ_q and k nearest
 * train points N(q) (leave-one-out when the split is train itself),
 *
 * `conf(q) = |{ t ∈ N(q) : y_t = ŷ_q }| / |N(q)|`, with y_t the ground-truth train label;
 * per-tap value `mean_q conf(q)` (float64).
 *
 * @param ref the tap's train reference (must have labels)
 * @param neighbors `ref.self` for the train split, else `neighborsInTrain(ref, …)`
 * @param predicted the predicted label of each query point (length neighbors.nq)
 * @returns per-point values (Float64Array, in [0, 1]; lay them on the H×W grid for the map)
 *   and their mean (`null` when there are no query points or no neighbours)
 */
export function knnConfidence(o: { ref: TrainReference; neighbors: KnnResult; predicted: IntArray }): { perPoint: Float64Array; mean: number | null } {
  const fn = 'knnConfidence';
  if (!o || typeof o !== 'object') throw new MetricArgumentError(fn, 'options', 'must be an object');
  checkRef(fn, o.ref);
  const { ref, neighbors: nb, predicted } = o;
  if (!ref.labels) throw new MetricArgumentError(fn, 'ref', 'has no train labels (knnConfidence needs the ground truth of train)');
  checkNeighbors(fn, ref, nb);
  checkLabels(fn, 'predicted', predicted, nb.nq);
  const k = nb.k;
  const perPoint = new Float64Array(nb.nq);
  if (k === 0 || nb.nq === 0) return { perPoint, mean: null };
  const labels = ref.labels;
  let sum = 0;
  for (let q = 0; q < nb.nq; q++) {
    const p = predicted[q];
    let agree = 0;
    for (let j = 0; j < k; j++) if (labels[nb.indices[q * k + j]] === p) agree++;
    const c = agree / k;
    perPoint[q] = c;
    sum += c;
  }
  return { perPoint, mean: sum / nb.nq };
}

/**
 * Feature shift (METHOD.md §4): for query point q with distance `r_k(q)` to its k-th
 * nearest train point (leave-one-out when the split is train itself),
 *
 * `shift(q) = r_k(q) / median_t r_k(t)` (median over the train points, leave-one-out);
 * per-tap value `median_q shift(q)` (NumPy median). About 1 in distribution.
 *
 * @returns per-point values (Float64Array) and the per-tap median; `value` is null (and
 *   perPoint empty) when there are no query points, no neighbours, or the train median is 0
 *   (at least half the train points have k duplicates), where the ratio is undefined
 */
export function featureShift(o: { ref: TrainReference; neighbors: KnnResult }): { perPoint: Float64Array; value: number | null } {
  const fn = 'featureShift';
  if (!o || typeof o !== 'object') throw new MetricArgumentError(fn, 'options', 'must be an object');
  checkRef(fn, o.ref);
  const { ref, neighbors: nb } = o;
  checkNeighbors(fn, ref, nb);
  const k = nb.k;
  const m = ref.medianKth;
  if (k === 0 || nb.nq === 0 || m === null || !(m > 0)) return { perPoint: new Float64Array(0), value: null };
  const perPoint = new Float64Array(nb.nq);
  for (let q = 0; q < nb.nq; q++) perPoint[q] = nb.distances[q * k + k - 1] / m;
  return { perPoint, value: median(perPoint) };
}

/**
 * kNN Dice (used by the predictor of METHOD.md §5): the Dice the train neighbours suggest,
 * without labels on the split. For query point q, `s_c(q)` = share of its k nearest train
 * points with ground-truth label c; with ŷ_q its predicted label, per class c a soft confusion
 * `TP_c = Σ_{ŷ=c} s_c`, `FP_c = Σ_{ŷ=c} (1 − s_c)`, `FN_c = Σ_{ŷ≠c} s_c` and
 * `Dice_c = 2·TP_c / (2·TP_c + FP_c + FN_c)`, 0 when the denominator is 0 (neither the
 * prediction nor the neighbours hold class c: nothing found). Value: the mean over the
 * foreground classes 1 … K−1 (`null` without query points or neighbours).
 */
export function knnDice(o: { ref: TrainReference; neighbors: KnnResult; predicted: IntArray; numClasses: number }): number | null {
  const fn = 'knnDice';
  checkRef(fn, o.ref);
  const { ref, neighbors: nb, predicted, numClasses: K } = o;
  if (!ref.labels) throw new MetricArgumentError(fn, 'ref', 'has no train labels (knnDice needs the ground truth of train)');
  checkNeighbors(fn, ref, nb);
  checkLabels(fn, 'predicted', predicted, nb.nq);
  const k = nb.k;
  if (k === 0 || nb.nq === 0 || K < 2) return null;
  const tp = new Float64Array(K);
  const fp = new Float64Array(K);
  const fnc = new Float64Array(K);
  const share = new Float64Array(K);
  for (let q = 0; q < nb.nq; q++) {
    share.fill(0);
    for (let j = 0; j < k; j++) {
      const l = ref.labels[nb.indices[q * k + j]];
      if (l >= 0 && l < K) share[l] += 1 / k;
    }
    const p = predicted[q];
    for (let c = 1; c < K; c++) {
      if (p === c) {
        tp[c] += share[c];
        fp[c] += 1 - share[c];
      } else fnc[c] += share[c];
    }
  }
  let sum = 0;
  for (let c = 1; c < K; c++) {
    const d = 2 * tp[c] + fp[c] + fnc[c];
    sum += d > 0 ? (2 * tp[c]) / d : 0;
  }
  return sum / (K - 1);
}


/** The per-point values of the points predicted as foreground (label ≥ 1), in point order. */
function foregroundValues(fn: string, perPoint: ArrayLike<number>, predicted: IntArray): number[] {
  checkLabels(fn, 'predicted', predicted, perPoint.length);
  const v: number[] = [];
  for (let q = 0; q < perPoint.length; q++) if (predicted[q] >= 1) v.push(perPoint[q]);
  return v;
}

/**
 * Median (NumPy's) of the per-point featureShift over the points predicted as foreground (label ≥ 1); null when there are none.
 * @throws MetricArgumentError when `predicted` is not an integer array as long as `perPoint`
 */
export function foregroundShift(perPoint: ArrayLike<number>, predicted: IntArray): number | null {
  const v = foregroundValues('foregroundShift', perPoint, predicted);
  return v.length ? median(v) : null;
}

/**
 * Foreground kNN confidence (METHOD.md §4 `knnConfidenceFg`): the mean of the per-point
 * knnConfidence over the points predicted as foreground (label ≥ 1), float64; null when there
 * are none (the pipeline then reports the mean over all points, as METHOD.md says).
 * @param perPoint `knnConfidence(…).perPoint`
 * @throws MetricArgumentError when `predicted` is not an integer array as long as `perPoint`
 */
export function foregroundConfidence(perPoint: ArrayLike<number>, predicted: IntArray): number | null {
  const v = foregroundValues('foregroundConfidence', perPoint, predicted);
  let sum = 0;
  for (const x of v) sum += x;
  return v.length ? sum / v.length : null;
}
