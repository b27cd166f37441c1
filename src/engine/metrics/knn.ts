/**
 * Exact k-nearest-neighbour search (Euclidean) with a fast matrix-product filter.
 * Pure: no `vscode`, no I/O.
 *
 * ## Definition (what the result equals)
 *
 * For query point a_q and reference points b_r, the float64 squared distance is
 * `d(q, r) = Σ_i (a_q[i] − b_r[i])²`, summed in float64 in channel order, and the neighbours
 * of q are the k references of smallest `(d(q, r), r)` (lexicographic: ties go to the lower
 * reference index), sorted ascending; `distances = sqrt(d)`. With `excludeSelf`, r = q is
 * skipped (leave-one-out on a set queried against itself). This is exactly what the
 * float64 brute force `knnBruteForce` returns, bit for bit.
 *
 * When k exceeds the number of eligible references (nr, or nr − 1 with `excludeSelf`), k is
 * clamped to it; the result's `k` says how many columns there are (0 when none).
 *
 * ## Fast path (same result, provably)
 *
 * 1. Centre both sets on the mean μ of `ref` and round to float32: x = fl32(a − μ),
 *    y = fl32(b − μ) (distances are translation invariant; centring keeps ‖x‖, ‖y‖ close
 *    to the distances themselves, so the error bounds below stay tight).
 * 2. Approximate squared distances `d̃ = ‖x‖² + ‖y‖² − 2·G`, with the norms in float64 and
 *    the products `G = x·y` from the `gemm` hook (float32, blocks of queries × all refs).
 * 3. A rigorous bound `|d̃ − d| ≤ B = α‖x‖‖y‖ + β(‖x‖ + ‖y‖)²` with
 *    `α = 4·γ·gemmErrorFactor`, `γ = dim·2⁻²⁴ / (1 − dim·2⁻²⁴)` (the worst-case error of any
 *    float32 dot product of length dim, in any summation order, FMA or not) and
 *    `β = 2·(2.3·2⁻²⁴ + (dim+8)·2⁻⁵¹ + 1.1·(dim+2)·2⁻⁵²)` (the float32 rounding of the centred
 *    inputs, the float64 norm and combination roundings, and the rounding of the float64
 *    reference `d` itself), all doubled for safety.
 * 4. The margin. Per query (one pass over the block row): `T` = the k-th smallest upper
 *    bound `d̃ + B` over the eligible refs. At least k refs have `d ≤ T`, so the k-th
 *    smallest d is ≤ T, and every ref in the true top k (ties at the k-th distance included)
 *    has lower bound `d̃ − B ≤ d ≤ T`. The candidates are all refs with `d̃ − B ≤ T` — k plus
 *    the few whose distance is within rounding of the k-th (≈ k on real data; many more only
 *    with massive exact ties) — re-ranked by their exact float64 d and index. Hence the
 *    result equals the brute force exactly, ties included.
 * 5. Fallbacks to the brute force: `exact: true`, small problems (nq·nr·dim ≤ 65536), and
 *    inputs with |centred value| > 1e15 (float32 products could overflow).
 *
 * ## The gemm hook
 *
 * `gemm(a, m, b, n, k, out)` must set `out[i·n + j] = Σ_p a[i·k + p] · b[j·k + p]`
 * (i < m, j < n): A (m×k) times Bᵀ, both row-major with inner dimension k (ONNX `Gemm` with
 * `transB = 1`). `b` is the same array (the centred refs) at every call of one search, so a
 * hook may cache it. Any float32-or-better implementation satisfies the bound; a less
 * accurate one (e.g. TF32 or bf16 hardware) must raise `gemmErrorFactor` accordingly.
 * `knnSearchAsync` accepts a hook that returns a Promise (onnxruntime's `session.run`).
 */

import { MetricArgumentError, checkInt, checkPoints } from './validate';

/** `out[i·n + j] = Σ_p a[i·k + p] · b[j·k + p]`, i < m, j < n (A·Bᵀ, row-major). */
export type Gemm = (a: Float32Array, m: number, b: Float32Array, n: number, k: number, out: Float32Array) => void;
/** A gemm hook that may be asynchronous (for `knnSearchAsync`). */
export type AsyncGemm = (a: Float32Array, m: number, b: Float32Array, n: number, k: number, out: Float32Array) => void | Promise<void>;

export interface KnnOptions {
  /** Query points, row-major nq×dim. */
  query: Float32Array;
  nq: number;
  /** Reference points, row-major nr×dim. */
  ref: Float32Array;
  nr: number;
  dim: number;
  /** Neighbours per query (clamped to the eligible references). */
  k: number;
  /** Leave-one-out: query q never gets reference q (requires nq = nr; query is ref). */
  excludeSelf?: boolean;
  /** Matrix-product hook for the filter (default `gemmNT`, a blocked JavaScript kernel). */
  gemm?: Gemm;
  /** Multiplies the float32 dot-product error bound (default 1): raise for a less accurate gemm. */
  gemmErrorFactor?: number;
  /** Float32 values in one distance block, queries × refs (default 2²²). */
  blockSize?: number;
  /** Force the float64 brute force (no gemm). */
  exact?: boolean;
}

export interface KnnResult {
  /** Row-major nq×k reference indices, nearest first. */
  indices: Int32Array;
  /** Row-major nq×k Euclidean distances (float64), ascending. */
  distances: Float64Array;
  /** Columns of the result: min(k, eligible references). */
  k: number;
  nq: number;
  /** Exact re-rankings done per query on average (k + margin), for diagnostics. */
  candidatesPerQuery: number;
}

interface GemmRequest {
  a: Float32Array;
  m: number;
  b: Float32Array;
  n: number;
  k: number;
  out: Float32Array;
}

/**
 * Default gemm hook: `out = A·Bᵀ` (see `Gemm`) by a register-blocked (4×4) JavaScript
 * kernel over panels of B; products accumulate in float64 and are rounded once to float32.
 */
export function gemmNT(a: Float32Array, m: number, b: Float32Array, n: number, k: number, out: Float32Array): void {
  const JB = Math.max(4, Math.floor(65536 / Math.max(1, k)) & ~3);
  const m4 = m - (m % 4);
  for (let j0 = 0; j0 < n; j0 += JB) {
    const j1 = Math.min(n, j0 + JB);
    const j4 = j0 + ((j1 - j0) - ((j1 - j0) % 4));
    for (let i = 0; i < m4; i += 4) {
      const a0 = i * k;
      const a1 = a0 + k;
      const a2 = a1 + k;
      const a3 = a2 + k;
      for (let j = j0; j < j4; j += 4) {
        const b0 = j * k;
        const b1 = b0 + k;
        const b2 = b1 + k;
        const b3 = b2 + k;
        let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (let p = 0; p < k; p++) {
          const x0 = a[a0 + p], x1 = a[a1 + p], x2 = a[a2 + p], x3 = a[a3 + p];
          const y0 = b[b0 + p], y1 = b[b1 + p], y2 = b[b2 + p], y3 = b[b3 + p];
          c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
          c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
          c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
          c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
        }
        let o = i * n + j;
        out[o] = c00; out[o + 1] = c01; out[o + 2] = c02; out[o + 3] = c03; o += n;
        out[o] = c10; out[o + 1] = c11; out[o + 2] = c12; out[o + 3] = c13; o += n;
        out[o] = c20; out[o + 1] = c21; out[o + 2] = c22; out[o + 3] = c23; o += n;
        out[o] = c30; out[o + 1] = c31; out[o + 2] = c32; out[o + 3] = c33;
      }
      // leftover columns of this panel
      for (let j = j4; j < j1; j++) {
        const bj = j * k;
        for (let ii = i; ii < i + 4; ii++) {
          const ai = ii * k;
          let s = 0;
          for (let p = 0; p < k; p++) s += a[ai + p] * b[bj + p];
          out[ii * n + j] = s;
        }
      }
    }
    // leftover rows
    for (let i = m4; i < m; i++) {
      const ai = i * k;
      for (let j = j0; j < j1; j++) {
        const bj = j * k;
        let s = 0;
        for (let p = 0; p < k; p++) s += a[ai + p] * b[bj + p];
        out[i * n + j] = s;
      }
    }
  }
}

function validate(fn: string, o: KnnOptions): { kEff: number; excl: boolean } {
  if (!o || typeof o !== 'object') throw new MetricArgumentError(fn, 'options', 'must be an object');
  const dim = checkInt(fn, 'dim', o.dim, 1);
  const nq = checkInt(fn, 'nq', o.nq, 0);
  const nr = checkInt(fn, 'nr', o.nr, 0);
  const k = checkInt(fn, 'k', o.k, 1);
  checkPoints(fn, 'query', o.query, nq, dim, { float32Only: true });
  if (o.ref !== o.query) checkPoints(fn, 'ref', o.ref, nr, dim, { float32Only: true });
  else if (nr !== nq) throw new MetricArgumentError(fn, 'nr', `is ${nr} but ref is the query array with nq = ${nq}`);
  const excl = !!o.excludeSelf;
  if (excl && nq !== nr) throw new MetricArgumentError(fn, 'excludeSelf', `needs the query set to be the reference set (nq = ${nq}, nr = ${nr})`);
  if (o.gemm !== undefined && typeof o.gemm !== 'function') throw new MetricArgumentError(fn, 'gemm', 'must be a function');
  if (o.gemmErrorFactor !== undefined && !(typeof o.gemmErrorFactor === 'number' && o.gemmErrorFactor >= 1 && Number.isFinite(o.gemmErrorFactor))) {
    throw new MetricArgumentError(fn, 'gemmErrorFactor', `must be a finite number >= 1, got ${String(o.gemmErrorFactor)}`);
  }
  if (o.blockSize !== undefined) checkInt(fn, 'blockSize', o.blockSize, 1);
  const kEff = Math.max(0, Math.min(k, nr - (excl ? 1 : 0)));
  return { kEff, excl };
}

function emptyResult(nq: number): KnnResult {
  return { indices: new Int32Array(0), distances: new Float64Array(0), k: 0, nq, candidatesPerQuery: 0 };
}

/** Exact float64 squared distance between row q of a and row r of b. */
function sqdist(a: Float32Array, q: number, b: Float32Array, r: number, dim: number): number {
  let s = 0;
  const pa = q * dim;
  const pb = r * dim;
  for (let i = 0; i < dim; i++) {
    const t = a[pa + i] - b[pb + i];
    s += t * t;
  }
  return s;
}

/** Sorts `idx[0..len)` by (dist[idx], idx) ascending; insertion sort for short lists. */
function sortCandidates(idx: Int32Array, dist: Float64Array, len: number): void {
  if (len <= 48) {
    for (let i = 1; i < len; i++) {
      const vi = idx[i];
      const vd = dist[i];
      let j = i - 1;
      while (j >= 0 && (dist[j] > vd || (dist[j] === vd && idx[j] > vi))) {
        idx[j + 1] = idx[j];
        dist[j + 1] = dist[j];
        j--;
      }
      idx[j + 1] = vi;
      dist[j + 1] = vd;
    }
    return;
  }
  const order = Array.from({ length: len }, (_, i) => i).sort((p, q) => dist[p] - dist[q] || idx[p] - idx[q]);
  const i2 = Int32Array.from(order, (p) => idx[p]);
  const d2 = Float64Array.from(order, (p) => dist[p]);
  idx.set(i2);
  dist.set(d2);
}

/** Max-heap helper over float64 values (k smallest kept). */
class TopK {
  private heap: Float64Array;
  size = 0;
  constructor(private readonly cap: number) {
    this.heap = new Float64Array(Math.max(1, cap));
  }
  reset(): void {
    this.size = 0;
  }
  get top(): number {
    return this.heap[0];
  }
  get full(): boolean {
    return this.size === this.cap;
  }
  push(v: number): void {
    const h = this.heap;
    if (this.size < this.cap) {
      let i = this.size++;
      h[i] = v;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (h[p] >= h[i]) break;
        const t = h[p];
        h[p] = h[i];
        h[i] = t;
        i = p;
      }
    } else if (v < h[0]) {
      h[0] = v;
      let i = 0;
      const n = this.size;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        let c = l;
        if (l + 1 < n && h[l + 1] > h[l]) c = l + 1;
        if (h[c] <= h[i]) break;
        const t = h[c];
        h[c] = h[i];
        h[i] = t;
        i = c;
      }
    }
  }
}

/**
 * Exact float64 brute force: every distance, then the k smallest by (distance, index).
 * The definition that `knnSearch` reproduces; also its fallback. Same options and result.
 */
export function knnBruteForce(opts: KnnOptions): KnnResult {
  const { kEff, excl } = validate('knnBruteForce', opts);
  return bruteForce(opts, kEff, excl);
}

function bruteForce(o: KnnOptions, kEff: number, excl: boolean): KnnResult {
  const { query, nq, ref, nr, dim } = o;
  if (kEff === 0) return emptyResult(nq);
  const indices = new Int32Array(nq * kEff);
  const distances = new Float64Array(nq * kEff);
  const d = new Float64Array(nr);
  const heap = new TopK(kEff);
  const cIdx = new Int32Array(nr);
  const cDist = new Float64Array(nr);
  let cand = 0;
  for (let q = 0; q < nq; q++) {
    heap.reset();
    for (let r = 0; r < nr; r++) {
      if (excl && r === q) continue;
      d[r] = sqdist(query, q, ref, r, dim);
      heap.push(d[r]);
    }
    const T = heap.top;
    let len = 0;
    for (let r = 0; r < nr; r++) {
      if (excl && r === q) continue;
      if (d[r] <= T) {
        cIdx[len] = r;
        cDist[len] = d[r];
        len++;
      }
    }
    cand += len;
    sortCandidates(cIdx, cDist, len);
    for (let j = 0; j < kEff; j++) {
      indices[q * kEff + j] = cIdx[j];
      distances[q * kEff + j] = Math.sqrt(cDist[j]);
    }
  }
  return { indices, distances, k: kEff, nq, candidatesPerQuery: nq ? cand / nq : 0 };
}

/**
 * One pass over refs [rs, re) of a block row (a plain function, so that it is optimized
 * apart from the generator): pushes upper bounds U into `heap` (k smallest) and appends to
 * the candidate list every ref whose lower bound L is ≤ the running k-th smallest U. That
 * running value only decreases, so every ref with L ≤ the final T is in the list.
 * @returns the new length of the candidate list
 */
function scanRange(
  out: Float32Array, row: number, rs: number, re: number,
  Au: number, Al: number, c1: number,
  rn: Float64Array, Pu: Float64Array, Pl: Float64Array,
  heap: TopK, cIdx: Int32Array, cLow: Float64Array, len: number,
): number {
  let top = heap.full ? heap.top : Infinity;
  for (let r = rs; r < re; r++) {
    const g2 = 2 * out[row + r];
    const cr = c1 * rn[r];
    const L = Al + Pl[r] - cr - g2;
    if (L > top) continue; // then U ≥ L > top too
    const U = Au + Pu[r] + cr - g2;
    if (U < top) {
      heap.push(U);
      if (heap.full) top = heap.top;
    }
    if (L <= top) {
      cIdx[len] = r;
      cLow[len] = L;
      len++;
    }
  }
  return len;
}

/** The search as a coroutine: yields gemm requests, returns the result. */
function* knnCore(o: KnnOptions, fn: string): Generator<GemmRequest, KnnResult, void> {
  const { kEff, excl } = validate(fn, o);
  const { query, nq, ref, nr, dim } = o;
  if (kEff === 0) return emptyResult(nq);
  if (o.exact || nq * nr * dim <= 65536) return bruteForce(o, kEff, excl);

  // 1. centre on the mean of ref, round to float32
  const mu = new Float64Array(dim);
  for (let r = 0; r < nr; r++) for (let i = 0; i < dim; i++) mu[i] += ref[r * dim + i];
  for (let i = 0; i < dim; i++) mu[i] /= nr;
  const centre = (src: Float32Array, n: number): { c: Float32Array; n2: Float64Array; nn: Float64Array; maxAbs: number } => {
    const c = new Float32Array(n * dim);
    const n2 = new Float64Array(n);
    const nn = new Float64Array(n);
    let maxAbs = 0;
    for (let r = 0; r < n; r++) {
      let s = 0;
      for (let i = 0; i < dim; i++) {
        const v = Math.fround(src[r * dim + i] - mu[i]);
        c[r * dim + i] = v;
        s += v * v;
        const av = Math.abs(v);
        if (av > maxAbs) maxAbs = av;
      }
      n2[r] = s;
      nn[r] = Math.sqrt(s);
    }
    return { c, n2, nn, maxAbs };
  };
  const R = centre(ref, nr);
  const Q = query === ref ? R : centre(query, nq);
  if (R.maxAbs > 1e15 || Q.maxAbs > 1e15) return bruteForce(o, kEff, excl);

  // 3. error bound constants
  const u = Math.pow(2, -24);
  const gamma = (dim * u) / (1 - dim * u);
  const alpha = 4 * gamma * (o.gemmErrorFactor ?? 1);
  const beta = 2 * (2.3 * u + (dim + 8) * Math.pow(2, -51) + 1.1 * (dim + 2) * Math.pow(2, -52));

  const indices = new Int32Array(nq * kEff);
  const distances = new Float64Array(nq * kEff);
  const blockSize = o.blockSize ?? 1 << 22;
  const bq = Math.max(1, Math.min(nq, Math.floor(blockSize / nr)));
  const out = new Float32Array(bq * nr);
  const heap = new TopK(kEff);
  const cIdx = new Int32Array(nr);
  const cLow = new Float64Array(nr);
  const cDist = new Float64Array(nr);
  const rn = R.nn;
  // U = d̃ + B and L = d̃ − B expanded:  B = α‖x‖‖y‖ + β(‖x‖² + 2‖x‖‖y‖ + ‖y‖²), so
  // U = (1+β)‖x‖² + (1+β)‖y‖² + (α+2β)‖x‖‖y‖ − 2G and L = (1−β)‖x‖² + (1−β)‖y‖² − (α+2β)‖x‖‖y‖ − 2G.
  // The few extra float64 roundings of this form (≲ 6·2⁻⁵³(‖x‖+‖y‖)²) sit well inside the
  // factor-2 slack of β.
  const Pu = new Float64Array(nr);
  const Pl = new Float64Array(nr);
  for (let r = 0; r < nr; r++) {
    Pu[r] = (1 + beta) * R.n2[r];
    Pl[r] = (1 - beta) * R.n2[r];
  }
  const ab = alpha + 2 * beta;
  let cand = 0;

  for (let q0 = 0; q0 < nq; q0 += bq) {
    const m = Math.min(bq, nq - q0);
    const blockOut = out.subarray(0, m * nr);
    yield { a: Q.c.subarray(q0 * dim, (q0 + m) * dim), m, b: R.c, n: nr, k: dim, out: blockOut };
    for (let qi = 0; qi < m; qi++) {
      const q = q0 + qi;
      const row = qi * nr;
      const Au = (1 + beta) * Q.n2[q];
      const Al = (1 - beta) * Q.n2[q];
      const c1 = ab * Q.nn[q];
      // One pass: `top` is the k-th smallest upper bound U so far (+∞ until k are seen); it
      // only decreases, so every ref whose lower bound L is ≤ the final T = top was ≤ top
      // when it was seen, and is in the candidate list.
      heap.reset();
      let len = scanRange(blockOut, row, 0, excl ? q : nr, Au, Al, c1, rn, Pu, Pl, heap, cIdx, cLow, 0);
      if (excl) len = scanRange(blockOut, row, q + 1, nr, Au, Al, c1, rn, Pu, Pl, heap, cIdx, cLow, len);
      const T = heap.size === kEff ? heap.top : Infinity;
      if (!Number.isFinite(T)) throw new MetricArgumentError(fn, 'gemm', 'returned a non-finite product');
      // the candidates within T, re-ranked by their exact float64 distance and index
      let kept = 0;
      for (let i = 0; i < len; i++) {
        if (cLow[i] <= T) {
          const r = cIdx[i];
          cIdx[kept] = r;
          cDist[kept] = sqdist(query, q, ref, r, dim);
          kept++;
        }
      }
      if (kept < kEff) throw new MetricArgumentError(fn, 'gemm', 'returned products inconsistent with the inputs (fewer candidates than k)');
      cand += kept;
      sortCandidates(cIdx, cDist, kept);
      for (let j = 0; j < kEff; j++) {
        indices[q * kEff + j] = cIdx[j];
        distances[q * kEff + j] = Math.sqrt(cDist[j]);
      }
    }
  }
  return { indices, distances, k: kEff, nq, candidatesPerQuery: nq ? cand / nq : 0 };
}

/**
 * k nearest references of every query (Euclidean), exact: see the file header for the
 * definition, the fast path and its margin. The `gemm` hook must be synchronous here.
 *
 * @returns `{ indices (nq×k), distances (nq×k, float64), k, nq, candidatesPerQuery }`
 * @throws MetricArgumentError on bad shapes, NaN/±Inf input, or a gemm hook that returns a Promise
 */
export function knnSearch(opts: KnnOptions): KnnResult {
  const gemm = opts?.gemm ?? gemmNT;
  const it = knnCore(opts, 'knnSearch');
  let step = it.next();
  while (!step.done) {
    const g = step.value;
    const ret = gemm(g.a, g.m, g.b, g.n, g.k, g.out) as unknown;
    if (ret && typeof (ret as Promise<void>).then === 'function') {
      throw new MetricArgumentError('knnSearch', 'gemm', 'returned a Promise: use knnSearchAsync for an asynchronous gemm');
    }
    step = it.next();
  }
  return step.value;
}

/** `knnSearch` with a gemm hook that may return a Promise (e.g. an onnxruntime session). */
export async function knnSearchAsync(opts: Omit<KnnOptions, 'gemm'> & { gemm?: AsyncGemm }): Promise<KnnResult> {
  const gemm: AsyncGemm = opts?.gemm ?? gemmNT;
  const it = knnCore(opts as KnnOptions, 'knnSearchAsync');
  let step = it.next();
  while (!step.done) {
    const g = step.value;
    await gemm(g.a, g.m, g.b, g.n, g.k, g.out);
    step = it.next();
  }
  return step.value;
}
