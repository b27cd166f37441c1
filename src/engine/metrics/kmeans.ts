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
import { gemmNT, type AsyncGemm } from './knn';
import { rowSummer, sumRowsJs } from './rowSums';

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

// ───────────────────────────────────────────── the Gemm route (same result, provably)

/**
 * `kMeansAsync`: the same result as `kMeans`, bit for bit (labels, centres, sizes, inertia,
 * iterations), with the assignment step's point–centre products from a gemm hook
 * (onnxruntime's `Gemm`, `createOnnxGemm`; default the JavaScript `gemmNT`) and the centre sums
 * from rowSums.ts.
 *
 * - Assignment. `d̃(i, c) = ‖x_i‖² + ‖c‖² − 2·G[i, c]`, `G = X·fl32(C)ᵀ` in float32, norms in
 *   float64. Against the float64 loop `sq` of `kMeans` (the reference value),
 *   `|d̃ − sq| ≤ B = 2·(2·(γ + 2⁻²⁴)·‖x‖‖c‖ + (2·dim + 8)·2⁻⁵³·(‖x‖ + ‖c‖)²)` with
 *   `γ = dim·2⁻²⁴ / (1 − dim·2⁻²⁴)` (any float32 dot product of length dim, any order; the
 *   rounding of c to float32; the float64 norms and combination; the rounding of `sq`
 *   itself), doubled for safety. The nearest centre by `d̃` is certain when its upper bound
 *   is below every other centre's lower bound; otherwise the point takes `kMeans`'s own
 *   float64 loop (ties to the lower index). So the labels are `kMeans`'s.
 * - Centre sums: after each assignment, every point's row added to its label's row in point
 *   order (the order of `kMeans`'s M-step, so the same float64 sums), by rowSums.ts's
 *   WebAssembly function where it runs (the same additions, two lanes at a time); when a cluster
 *   is left empty (the farthest-point rule moves points), the sums are redone after the move,
 *   as `kMeans` does.
 * - Few centre values (K·dim ≤ `EXACT_KDIM`): no gemm; the assignment is `kMeans`'s own float64
 *   loop (`assignExact`), its inertia exact (bound 0).
 * - Best of `nInit`: each run's inertia is known to within the sum of its bounds; when two
 *   runs' intervals overlap, both exact inertias (`Σ sq`, in point order) decide, so the
 *   chosen run (lowest inertia, first on ties) is `kMeans`'s. The returned inertia is exact.
 */
export async function kMeansAsync(o: KMeansOptions & { gemm?: AsyncGemm; /** 'js': the centre sums by the JavaScript loop (the benchmark's comparison); the same result. */ rowSums?: 'auto' | 'js' }): Promise<KMeansResult> {
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
  const x32 = points instanceof Float32Array ? points : Float32Array.from(points);
  // Each point must be exactly representable in float32 for the bound (the gemm reads x32).
  if (!(points instanceof Float32Array)) {
    for (let i = 0; i < points.length; i++) if (x32[i] !== points[i]) return kMeans(o);
  }

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

  const xn2 = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0, p = i * dim; d < dim; d++, p++) s += points[p] * points[p];
    xn2[i] = s;
  }
  const gemm: AsyncGemm = o.gemm && n * dim >= 32768 ? o.gemm : gemmNT;
  // The centre sums of every pass (rowSums.ts): WebAssembly where it runs, the same sums either way.
  const summer = rowSummer(x32, n, dim, Math.min(K, n), o.rowSums ?? 'auto');
  const sumRows: SumRows = summer ? (l, s) => summer.sum(l, s) : (l, s) => sumRowsJs(x32, n, dim, l, s);
  const prng = new Prng(o.seed);
  let best: (KMeansResult & { approx: number; bound: number; exact?: number }) | null = null;
  const exactInertia = (r: KMeansResult & { exact?: number }): number => {
    if (r.exact === undefined) {
      let s = 0;
      for (let i = 0; i < n; i++) s += sq(points, i, r.centroids, r.labels[i], dim);
      r.exact = s;
    }
    return r.exact;
  };
  try {
    for (let r = 0; r < nInit; r++) {
      const res = await runOnceGemm(points, x32, xn2, n, dim, Math.min(K, n), prng, maxIter, tolAbs, gemm, sumRows);
      if (best === null) best = res;
      else if (res.approx + res.bound < best.approx - best.bound) best = res;
      else if (res.approx - res.bound > best.approx + best.bound) continue;
      else if (exactInertia(res) < exactInertia(best)) best = res;
    }
  } finally {
    summer?.release();
  }
  const b = best!;
  b.inertia = exactInertia(b);
  return { labels: b.labels, centroids: b.centroids, k: b.k, sizes: b.sizes, inertia: b.inertia, iterations: b.iterations, converged: b.converged };
}

const U32 = 2 ** -24;
const U64 = 2 ** -53;

/**
 * One certified assignment pass (see `kMeansAsync`): labels, exact labels where uncertain,
 * the centre sums of the new labels in point order (into `sums`, k×dim, zeroed here), and
 * the inertia to within `bound`.
 */
async function assignGemm(
  points: FloatArray, x32: Float32Array, xn2: Float64Array, n: number, dim: number,
  centres: Float64Array, k: number, labels: Int32Array, sums: Float64Array, G: Float32Array, gemm: AsyncGemm, sumRows: SumRows,
): Promise<{ approx: number; bound: number; changed: boolean; exactPoints: number }> {
  if (k * dim <= EXACT_KDIM) {
    const r = assignExact(x32, n, dim, centres, k, labels);
    sumRows(labels, sums);
    return r;
  }
  const c32 = Float32Array.from(centres);
  const cn2 = new Float64Array(k);
  const cn = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    let s = 0;
    for (let d = 0, q = c * dim; d < dim; d++, q++) s += centres[q] * centres[q];
    cn2[c] = s;
    cn[c] = Math.sqrt(s) * (1 + 1e-12);
  }
  await gemm(x32, n, c32, k, dim, G);
  const gamma = (dim * U32) / (1 - dim * U32);
  const a = 4 * (gamma * 1.0001 + U32);
  const bb = 2 * (2 * dim + 8) * U64 * 1.01;
  const dt = new Float64Array(k);
  const bd = new Float64Array(k);
  let approx = 0;
  let bound = 0;
  let changed = false;
  let exactPoints = 0;
  if (k === 2 && points instanceof Float32Array) {
    // Two clusters (roughness on a binary segmentation): the loop below with its per-centre
    // arrays unrolled, the same expressions in the same order, so the same labels, sums and bounds.
    const n0 = cn2[0];
    const n1 = cn2[1];
    const r0 = cn[0];
    const r1 = cn[1];
    for (let i = 0; i < n; i++) {
      const x2 = xn2[i];
      const xn = Math.sqrt(x2) * (1 + 1e-12);
      const d0 = x2 + n0 - 2 * G[2 * i];
      const d1 = x2 + n1 - 2 * G[2 * i + 1];
      const s0 = xn + r0;
      const b0 = a * xn * r0 + bb * s0 * s0;
      const s1 = xn + r1;
      const b1 = a * xn * r1 + bb * s1 * s1;
      let best = d1 < d0 ? 1 : 0;
      const sure = best === 0 ? d0 + b0 < d1 - b1 : d1 + b1 < d0 - b0;
      if (sure) {
        approx += best === 0 ? d0 : d1;
        bound += best === 0 ? b0 : b1;
      } else {
        exactPoints++;
        const v0 = sq(points, i, centres, 0, dim);
        const v = sq(points, i, centres, 1, dim);
        best = v < v0 ? 1 : 0;
        approx += best === 1 ? v : v0;
      }
      if (labels[i] !== best) changed = true;
      labels[i] = best;
    }
    bound += 4 * (n + 2) * U64 * (Math.abs(approx) + bound);
    sumRows(labels, sums);
    return { approx, bound, changed, exactPoints };
  }
  for (let i = 0; i < n; i++) {
    const xn = Math.sqrt(xn2[i]) * (1 + 1e-12);
    let best = 0;
    for (let c = 0; c < k; c++) {
      dt[c] = xn2[i] + cn2[c] - 2 * G[i * k + c];
      const s = xn + cn[c];
      bd[c] = a * xn * cn[c] + bb * s * s;
      if (dt[c] < dt[best]) best = c;
    }
    let sure = true;
    const hi = dt[best] + bd[best];
    for (let c = 0; c < k; c++) if (c !== best && !(hi < dt[c] - bd[c])) sure = false;
    if (sure) {
      approx += dt[best];
      bound += bd[best];
    } else {
      exactPoints++;
      best = 0;
      let v0 = sq(points, i, centres, 0, dim);
      for (let c = 1; c < k; c++) {
        const v = sq(points, i, centres, c, dim);
        if (v < v0) {
          v0 = v;
          best = c;
        }
      }
      approx += v0;
    }
    if (labels[i] !== best) changed = true;
    labels[i] = best;
  }
  // the float64 summation of the inertia itself (both sides), with room to spare
  bound += 4 * (n + 2) * U64 * (Math.abs(approx) + bound);
  sumRows(labels, sums);
  return { approx, bound, changed, exactPoints };
}

/**
 * Below this many centre values (K·dim), the assignment takes `kMeans`'s own float64 loop
 * (`sq`, ties to the lower centre): at so few products the gemm
 * call costs more than the distances themselves. The inertia is then exact (bound 0).
 */
const EXACT_KDIM = 32;

/** `assignGemm` without the gemm: the exact distances of `assign` (the caller then takes the centre sums). */
function assignExact(
  x: Float32Array, n: number, dim: number, centres: Float64Array, k: number, labels: Int32Array,
): { approx: number; bound: number; changed: boolean; exactPoints: number } {
  let approx = 0;
  let changed = false;
  if (k === 2) {
    // both distances in one loop over the channels: two sums, each in `sq`'s order
    for (let i = 0; i < n; i++) {
      const p = i * dim;
      let s0 = 0;
      let s1 = 0;
      for (let d = 0; d < dim; d++) {
        const v = x[p + d];
        const t0 = v - centres[d];
        const t1 = v - centres[dim + d];
        s0 += t0 * t0;
        s1 += t1 * t1;
      }
      const best = s1 < s0 ? 1 : 0;
      approx += best === 1 ? s1 : s0;
      if (labels[i] !== best) changed = true;
      labels[i] = best;
    }
    return { approx, bound: 0, changed, exactPoints: n };
  }
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bd = sq(x, i, centres, 0, dim);
    for (let c = 1; c < k; c++) {
      const v = sq(x, i, centres, c, dim);
      if (v < bd) {
        bd = v;
        best = c;
      }
    }
    approx += bd;
    if (labels[i] !== best) changed = true;
    labels[i] = best;
  }
  return { approx, bound: 0, changed, exactPoints: n };
}

/** Zeroes `sums` (k×dim) and adds every point's row to its label's row, in point order (rowSums.ts). */
type SumRows = (labels: Int32Array, sums: Float64Array) => void;

async function runOnceGemm(
  points: FloatArray, x32: Float32Array, xn2: Float64Array, n: number, dim: number, K: number, prng: Prng,
  maxIter: number, tolAbs: number, gemm: AsyncGemm, sumRows: SumRows,
): Promise<KMeansResult & { approx: number; bound: number }> {
  const init = plusPlus(points, n, dim, K, prng);
  const k = init.k;
  let centres = init.centres.slice(0, k * dim);
  const labels = new Int32Array(n).fill(-1);
  const sizes = new Int32Array(k);
  const G = new Float32Array(n * k);
  let sums = new Float64Array(k * dim);
  let converged = false;
  let iterations = 0;
  let a = { approx: 0, bound: 0, changed: false, exactPoints: 0 };
  for (let it = 0; it < maxIter; it++) {
    iterations = it + 1;
    a = await assignGemm(points, x32, xn2, n, dim, centres, k, labels, sums, G, gemm, sumRows);
    if (it > 0 && !a.changed) {
      converged = true;
      break;
    }
    sizes.fill(0);
    for (let i = 0; i < n; i++) sizes[labels[i]]++;
    let moved = false;
    let dist: Float64Array | null = null;
    for (let c = 0; c < k; c++) {
      if (sizes[c] > 0) continue;
      if (!dist) {
        dist = new Float64Array(n);
        for (let i = 0; i < n; i++) dist[i] = sq(points, i, centres, labels[i], dim);
      }
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
      moved = true;
    }
    if (moved) sumRows(labels, sums);
    const next = sums;
    let shift = 0;
    for (let c = 0; c < k; c++) {
      for (let d = 0; d < dim; d++) {
        const j = c * dim + d;
        next[j] = sizes[c] > 0 ? next[j] / sizes[c] : centres[j];
        const t = next[j] - centres[j];
        shift += t * t;
      }
    }
    sums = centres.length === next.length && centres !== init.centres ? centres : new Float64Array(k * dim);
    centres = next;
    if (shift <= tolAbs) {
      converged = true;
      a = await assignGemm(points, x32, xn2, n, dim, centres, k, labels, sums, G, gemm, sumRows);
      break;
    }
  }
  if (!converged) a = await assignGemm(points, x32, xn2, n, dim, centres, k, labels, sums, G, gemm, sumRows);
  sizes.fill(0);
  for (let i = 0; i < n; i++) sizes[labels[i]]++;
  return { labels, centroids: centres, k, sizes, inertia: a.approx, iterations, converged, approx: a.approx, bound: a.bound };
}
