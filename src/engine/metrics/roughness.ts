/**
 * Roughness (METHOD.md §4), label-free. Pure: no `vscode`, no I/O.
 */

import { MetricArgumentError, checkInt, checkNumber, checkPoints, type FloatArray } from './validate';
import { kMeans, kMeansAsync } from './kmeans';
import type { AsyncGemm } from './knn';
import { daviesBouldin } from './db';

export interface RoughnessOptions {
  /** Points of tap l, row-major n×dim. */
  points: FloatArray;
  dim: number;
  /**
   * Points of the previous tap l−1 at the same input locations (row i: the l−1 location
   * whose cell contains the centre of point i's cell; `centreIndexMap` in pooling.ts gives
   * the correspondence), row-major n×prevDim. For the first tap: the input pixels of each
   * point's receptive field, flattened.
   */
  prevPoints: FloatArray;
  prevDim: number;
  n: number;
  /** K: the number of classes. */
  k: number;
  seed: number;
  maxIter?: number;
  tol?: number;
  nInit?: number;
}

/**
 * `roughness_l = DB(prevPoints grouped by ŷ)`, where `ŷ = kMeans(points, K, seed)` are the
 * k-means++ pseudo-labels of the tap-l points and DB is `daviesBouldin` (the
 * scikit-learn-identical Davies–Bouldin index). High: the partition drawn at layer l is not
 * yet separable in what layer l receives.
 *
 * @returns `value` (null when k-means yields fewer than 2 non-empty clusters, or as many
 *   clusters as points), the clusters made and the pseudo-labels
 */
export function roughness(o: RoughnessOptions): { value: number | null; clusters: number; labels: Int32Array } {
  const n = checkRoughness(o);
  if (n === 0) return { value: null, clusters: 0, labels: new Int32Array(0) };
  const km = kMeans({ points: o.points, n, dim: o.dim, k: o.k, seed: o.seed, maxIter: o.maxIter, tol: o.tol, nInit: o.nInit });
  return fromClusters(o, n, km);
}

/**
 * `roughness` with the k-means on the Gemm route (`kMeansAsync`: the same labels, so the same
 * value, bit for bit), for the pipeline.
 */
export async function roughnessAsync(o: RoughnessOptions & { gemm?: AsyncGemm }): Promise<{ value: number | null; clusters: number; labels: Int32Array }> {
  const n = checkRoughness(o);
  if (n === 0) return { value: null, clusters: 0, labels: new Int32Array(0) };
  const km = await kMeansAsync({ points: o.points, n, dim: o.dim, k: o.k, seed: o.seed, maxIter: o.maxIter, tol: o.tol, nInit: o.nInit, gemm: o.gemm });
  return fromClusters(o, n, km);
}

type RoughnessResult = { value: number | null; clusters: number; labels: Int32Array };

/** The argument checks both routes share; returns n. */
function checkRoughness(o: RoughnessOptions): number {
  const fn = 'roughness';
  if (!o || typeof o !== 'object') throw new MetricArgumentError(fn, 'options', 'must be an object');
  const n = checkInt(fn, 'n', o.n, 0);
  checkInt(fn, 'dim', o.dim, 1);
  checkInt(fn, 'prevDim', o.prevDim, 1);
  checkInt(fn, 'k', o.k, 1);
  checkNumber(fn, 'seed', o.seed);
  checkPoints(fn, 'points', o.points, n, o.dim);
  checkPoints(fn, 'prevPoints', o.prevPoints, n, o.prevDim);
  return n;
}

/** Davies–Bouldin of the previous tap's points grouped by this tap's k-means clusters. */
function fromClusters(o: RoughnessOptions, n: number, km: { k: number; sizes: ArrayLike<number>; labels: Int32Array }): RoughnessResult {
  let nonEmpty = 0;
  for (let c = 0; c < km.k; c++) if (km.sizes[c] > 0) nonEmpty++;
  if (nonEmpty < 2) return { value: null, clusters: nonEmpty, labels: km.labels };
  return { value: daviesBouldin(o.prevPoints, n, o.prevDim, km.labels), clusters: nonEmpty, labels: km.labels };
}
