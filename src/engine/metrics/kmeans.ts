/**
 * Seeded k-means (k-means++ initialisation, Lloyd iterations), deterministic.
 * Pure: no `vscode`, no I/O.
 *
 * - Initialisation: greedy k-means++ as scikit-learn's `_kmeans_plusplus`: the first centre
 *   is a uniformly drawn point; each next one is the best (lowest resulting potential
 *   `Σ_i min_c ‖x_i − c‖²`) of `2 + floor(ln K)` candidates drawn with probability
 *   ∝ `D²(x)` (squared distance to the nearest centre chosen so far). Random numbers come
 *   from `Prng(seed)`. When the potential reaches 0 (fewer than K distinct points), no more
 *   centres are added: the result then has fewer than K clusters.
 * - Lloyd: assign every point to its nearest centre (squared Euclidean, float64; ties to the
 *   lower centre index), move each centre to the mean of its points. A cluster left empty
 *   takes the point farthest from its own centre (ties: lower index), as scikit-learn.
 *   Stop when the labels no longer change, or when `Σ_c ‖c_new − c_old‖² ≤ tol · mean_d var(x_d)`
 *   (scikit-learn's relative tolerance; then one last assignment makes labels and centres
 *   consistent), or after `maxIter` iterations.
 * - `nInit` > 1 runs that many initialisations from the same random stream and keeps the
 *   one of lowest inertia (first on ties).
 */

import { MetricArgumentError, checkInt, checkNumber, checkPoints, type FloatArray } from './validate';
import { Prng } from './prng';

export interface KMeansOptions {
  /** Row-major n×dim. */
  points: FloatArray;
  n: number;
  dim: number;
  /** Clusters wanted (K ≥ 1). */
  k: number;
  seed: number;
  /** Default 300. */
  maxIter?: number;
  /** Relative tolerance on the centre shift, default 1e-4. */
  tol?: number;
  /** Initialisations, default 1. */
  nInit?: number;
}

export interface KMeansResult {
  /** Cluster of each point, in [0, k). */
  labels: Int32Array;
  /** Row-major k×dim centres. */
  centroids: Float64Array;
  /** Clusters created: K, or fewer when there are fewer than K distinct points. */
  k: number;
  /** Points per cluster. */
  sizes: Int32Array;
  /** Σ_i ‖x_i − c_{label(i)}‖². */
  inertia: number;
  iterations: number;
  converged: boolean;
}

function sq(points: FloatArray, i: number, c: Float64Array, j: number, dim: number): number {
  let s = 0;
  const p = i * dim;
  const q = j * dim;
  for (let d = 0; d < dim; d++) {
    const t = points[p + d] - c[q + d];
    s += t * t;
  }
  return s;
}

function plusPlus(points: FloatArray, n: number, dim: number, K: number, prng: Prng): { centres: Float64Array; k: number } {
  const centres = new Float64Array(K * dim);
  const first = prng.int(n);
  for (let d = 0; d < dim; d++) centres[d] = points[first * dim + d];
  const closest = new Float64Array(n);
  let pot = 0;
  for (let i = 0; i < n; i++) {
    closest[i] = sq(points, i, centres, 0, dim);
    pot += closest[i];
  }
  const trials = 2 + Math.floor(Math.log(K));
  const cum = new Float64Array(n);
  const candDist = new Float64Array(n);
  const bestDist = new Float64Array(n);
  const one = new Float64Array(dim);
  let made = 1;
  for (let c = 1; c < K; c++) {
    if (!(pot > 0)) break;
    let acc = 0;
    for (let i = 0; i < n; i++) {
      acc += closest[i];
      cum[i] = acc;
    }
    let bestPot = Infinity;
    let bestId = -1;
    for (let t = 0; t < trials; t++) {
      const r = prng.next() * acc;
      // first index with cumulative sum > r (so its D² > 0)
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (cum[mid] > r) hi = mid;
        else lo = mid + 1;
      }
      const id = lo;
      for (let d = 0; d < dim; d++) one[d] = points[id * dim + d];
      let cp = 0;
      for (let i = 0; i < n; i++) {
        const v = Math.min(closest[i], sq(points, i, one, 0, dim));
        candDist[i] = v;
        cp += v;
      }
      if (cp < bestPot) {
        bestPot = cp;
        bestId = id;
        bestDist.set(candDist);
      }
    }
    for (let d = 0; d < dim; d++) centres[c * dim + d] = points[bestId * dim + d];
    closest.set(bestDist);
    pot = bestPot;
    made++;
  }
  return { centres, k: made };
}

/** Nearest centre per point; returns inertia and whether any label changed. */
function assign(points: FloatArray, n: number, dim: number, centres: Float64Array, k: number, labels: Int32Array, dist: Float64Array): { inertia: number; changed: boolean } {
  let inertia = 0;
  let changed = false;
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bd = sq(points, i, centres, 0, dim);
    for (let c = 1; c < k; c++) {
      const v = sq(points, i, centres, c, dim);
      if (v < bd) {
        bd = v;
        best = c;
      }
    }
    if (labels[i] !== best) changed = true;
    labels[i] = best;
    dist[i] = bd;
    inertia += bd;
  }
  return { inertia, changed };
}

function runOnce(points: FloatArray, n: number, dim: number, K: number, prng: Prng, maxIter: number, tolAbs: number): KMeansResult {
  const init = plusPlus(points, n, dim, K, prng);
  const k = init.k;
  let centres = init.centres.slice(0, k * dim);
  const labels = new Int32Array(n).fill(-1);
  const dist = new Float64Array(n);
  const sizes = new Int32Array(k);
  let converged = false;
  let iterations = 0;
  let inertia = 0;
  for (let it = 0; it < maxIter; it++) {
    iterations = it + 1;
    const a = assign(points, n, dim, centres, k, labels, dist);
    inertia = a.inertia;
    if (it > 0 && !a.changed) {
      converged = true;
      break;
    }
    // M-step
    sizes.fill(0);
    for (let i = 0; i < n; i++) sizes[labels[i]]++;
    // empty clusters take the farthest points
    for (let c = 0; c < k; c++) {
      if (sizes[c] > 0) continue;
      let far = -1;
      let fd = -1;
      for (let i = 0; i < n; i++) {
        if (sizes[labels[i]] > 1 && dist[i] > fd) {
          fd = dist[i];
          far = i;
        }
      }
      if (far < 0) break;
      sizes[labels[far]]--;
      labels[far] = c;
      sizes[c] = 1;
      dist[far] = 0;
    }
    const next = new Float64Array(k * dim);
    for (let i = 0; i < n; i++) {
      const c = labels[i] * dim;
      const p = i * dim;
      for (let d = 0; d < dim; d++) next[c + d] += points[p + d];
    }
    let shift = 0;
    for (let c = 0; c < k; c++) {
      for (let d = 0; d < dim; d++) {
        const j = c * dim + d;
        next[j] = sizes[c] > 0 ? next[j] / sizes[c] : centres[j];
        const t = next[j] - centres[j];
        shift += t * t;
      }
    }
    centres = next;
    if (shift <= tolAbs) {
      converged = true;
      inertia = assign(points, n, dim, centres, k, labels, dist).inertia;
      break;
    }
  }
  if (!converged) inertia = assign(points, n, dim, centres, k, labels, dist).inertia;
  sizes.fill(0);
  for (let i = 0; i < n; i++) sizes[labels[i]]++;
  return { labels, centroids: centres, k, sizes, inertia, iterations, converged };
}

/**
 * k-means clustering (see the file header for the algorithm and its determinism).
 * @throws MetricArgumentError on bad shapes or NaN/±Inf input
 */
export function kMeans(o: KMeansOptions): KMeansResult {
  const fn = 'kMeans';
  if (!o || typeof o !== 'object') throw new MetricArgumentError(fn, 'options', 'must be an object');
  const n = checkInt(fn, 'n', o.n, 1);
  const dim = checkInt(fn, 'dim', o.dim, 1);
  const K = checkInt(fn, 'k', o.k, 1);
  checkNumber(fn, 'seed', o.seed);
  const maxIter = checkInt(fn, 'maxIter', o.maxIter ?? 300, 1);
  const tol = checkNumber(fn, 'tol', o.tol ?? 1e-4, { min: 0 });
  const nInit = checkInt(fn, 'nInit', o.nInit ?? 1, 1);
  checkPoints(fn, 'points', o.points, n, dim);
  const points = o.points;

  // tol relative to the mean per-feature variance (population variance)
  let meanVar = 0;
  for (let d = 0; d < dim; d++) {
    let m = 0;
    for (let i = 0; i < n; i++) m += points[i * dim + d];
    m /= n;
    let v = 0;
    for (let i = 0; i < n; i++) {
      const t = points[i * dim + d] - m;
      v += t * t;
    }
    meanVar += v / n;
  }
  meanVar /= dim;
  const tolAbs = tol * meanVar;

  const prng = new Prng(o.seed);
  let best: KMeansResult | null = null;
  for (let r = 0; r < nInit; r++) {
    const res = runOnce(points, n, dim, Math.min(K, n), prng, maxIter, tolAbs);
    if (best === null || res.inertia < best.inertia) best = res;
  }
  return best as KMeansResult;
}
