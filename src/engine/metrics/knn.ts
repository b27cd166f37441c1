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
 * ## Faster: the top-k hook (same result, provably)
 *
 * With a `topk` hook (e.g. onnxruntime's Gemm + TopK, `createOnnxTopk`), the scan of step 4
 * moves out of JavaScript. The hook returns, per query, the kk = k + (1 with `excludeSelf`)
 * + 8 references of smallest float32 `s(q, r) = fl32(‖y_r‖²) − 2·x·y_r` (any summation order).
 * Those candidates (minus q itself with `excludeSelf`) are re-ranked by their exact float64
 * distance; let T be the k-th smallest. Every reference not returned has `s ≥ s_max`, the
 * largest value returned, and so `d ≥ ‖x‖² + s_max − E`, with
 * `E = 2·(γ'·((1+u)·Y² + 2‖x‖·Y) + u·Y² + β(‖x‖ + Y)²)`, `γ' = γ_{dim+1}·gemmErrorFactor`,
 * Y = the largest ‖y‖ (the float32 error of s, the rounding of ‖y‖² to float32, and β as
 * above; doubled). Y may be lowered to `Yc = ‖x‖ + √T + 2√β·(2‖x‖ + √T)` when that is
 * smaller: a reference with ‖y‖ > Yc is farther than T anyway (`d ≥ (‖y‖ − ‖x‖)² −
 * β(‖x‖ + ‖y‖)² > T`, checked numerically), so only references with ‖y‖ ≤ Yc need the
 * bound. When `‖x‖² + s_max − E > T`, no reference outside the candidates can be in the top
 * k or tie with the k-th, and the result equals the brute force. Otherwise (near-ties
 * at the k-th distance, e.g. many duplicate points) that query takes the gemm path of steps
 * 2–4 (every reference scanned). Used when kk < nr; else the gemm path throughout.
 *
 * ## Duplicate points (same result, provably)
 *
 * Feature maps often hold many bit-identical points (a flat background gives the same vector
 * at every location; dead ReLUs give zeros). Tied at the k-th distance, they would all be
 * candidates of steps 4 and re-ranked per query: O(D) per query for D duplicates, O(D²) in
 * all. When at most 90% of the reference (or query) rows are unique, the search runs on the
 * unique rows and expands the groups afterwards (`dedupCore`): identical rows have
 * bit-identical distances, so the k smallest (distance, index) are found among the members of
 * the unique neighbours whose multiplicities reach k (+1 with `excludeSelf`), ties included.
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
import { DEDUP_SHARE, gemmNT, groupRows, scanRange, selectSmallest, sortCandidates, sqdist, TopK, type Groups } from './knnKernels';

export { gemmNT } from './knnKernels';

/** `out[i·n + j] = Σ_p a[i·k + p] · b[j·k + p]`, i < m, j < n (A·Bᵀ, row-major). */
export type Gemm = (a: Float32Array, m: number, b: Float32Array, n: number, k: number, out: Float32Array) => void;
/** A gemm hook that may be asynchronous (for `knnSearchAsync`). */
export type AsyncGemm = (a: Float32Array, m: number, b: Float32Array, n: number, k: number, out: Float32Array) => void | Promise<void>;

/**
 * Top-k hook: for each row i < m, the kk references r < n of smallest
 * `s(i, r) = c[r] − 2·Σ_p a[i·k + p]·b[r·k + p]` computed in float32 (any order, FMA or
 * not), written to `values[i·kk + j]` (those s values) and `indices[i·kk + j]` (j < kk, any
 * order among them; the j-th smallest first is fine). `b` and `c` are the same arrays at every
 * call of one search. May return a Promise (`knnSearchAsync` only).
 */
export type TopkHook = (
  a: Float32Array, m: number, b: Float32Array, n: number, k: number, c: Float32Array, kk: number,
  values: Float32Array, indices: Int32Array,
) => void | Promise<void>;

/** Extra candidates the top-k hook returns beyond k (+1 with excludeSelf). */
const TOPK_EXTRA = 8;

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
  /** Top-k hook (see the file header): when given, used instead of `gemm` where kk < nr. */
  topk?: TopkHook;
  /** Group bit-identical rows (default true; see the file header). */
  dedup?: boolean;
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
  kind: 'gemm';
  a: Float32Array;
  m: number;
  b: Float32Array;
  n: number;
  k: number;
  out: Float32Array;
}

interface TopkRequest {
  kind: 'topk';
  a: Float32Array;
  m: number;
  b: Float32Array;
  n: number;
  k: number;
  c: Float32Array;
  kk: number;
  values: Float32Array;
  indices: Int32Array;
}

type Request = GemmRequest | TopkRequest;

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
  if (o.topk !== undefined && typeof o.topk !== 'function') throw new MetricArgumentError(fn, 'topk', 'must be a function');
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
    selectSmallest(cIdx, cDist, len, kEff);
    for (let j = 0; j < kEff; j++) {
      indices[q * kEff + j] = cIdx[j];
      distances[q * kEff + j] = Math.sqrt(cDist[j]);
    }
  }
  return { indices, distances, k: kEff, nq, candidatesPerQuery: nq ? cand / nq : 0 };
}

/**
 * The search with duplicate rows grouped (same result, provably). Identical rows have
 * bit-identical distances to anything, so: (1) the exact search over the unique query rows
 * and unique reference rows, with k' = k (+1 with `excludeSelf`) unique neighbours; (2) per
 * unique query, T* = the smallest distance at which the neighbours' multiplicities reach k'
 * (every reference closer than T* or tied with it is in the k' unique neighbours, unless the
 * k'-th is itself at T*, when every unique reference is checked for ties); (3) per query row,
 * the members of those groups (at most k + 1 each, lowest indices first) ordered by
 * (distance, index), itself skipped with `excludeSelf`, the first k taken. Without this, a
 * point with D duplicates among the references costs O(D) per query.
 */
function* dedupCore(o: KnnOptions, fn: string, kEff: number, excl: boolean, G: Groups, H: Groups): Generator<Request, KnnResult, void> {
  const { query, nq, ref, dim } = o;
  const gather = (x: Float32Array, g: Groups) => {
    const out = new Float32Array(g.nu * dim);
    for (let u = 0; u < g.nu; u++) out.set(x.subarray(g.rep[u] * dim, (g.rep[u] + 1) * dim), u * dim);
    return out;
  };
  const Ru = gather(ref, G);
  const Qu = H === G ? Ru : gather(query, H);
  const need = kEff + (excl ? 1 : 0);
  const ku = Math.min(G.nu, need);
  const sub = yield* knnCore(
    { query: Qu, nq: H.nu, ref: Ru, nr: G.nu, dim, k: ku, gemm: o.gemm, topk: o.topk, gemmErrorFactor: o.gemmErrorFactor, blockSize: o.blockSize, dedup: false },
    fn,
  );
  const indices = new Int32Array(nq * kEff);
  const distances = new Float64Array(nq * kEff);
  const kc = sub.k;
  let gIdx = new Int32Array(kc);
  let gD = new Float64Array(kc);
  let pIdx = new Int32Array(64);
  let pD = new Float64Array(64);
  let cand = 0;
  for (let u = 0; u < H.nu; u++) {
    // the unique neighbours with their exact squared distances, and T*
    let ng = 0;
    let cum = 0;
    let T = Infinity;
    for (let j = 0; j < kc; j++) {
      const g = sub.indices[u * kc + j];
      const d = sqdist(Qu, u, Ru, g, dim);
      if (d > T) break; // the list is ascending: past T and the ties with it
      gIdx[ng] = g;
      gD[ng] = d;
      ng++;
      cum += G.start[g + 1] - G.start[g];
      if (cum >= need && T === Infinity) T = d;
    }
    if (!(T < Infinity)) throw new MetricArgumentError(fn, 'ref', 'has fewer points than k (internal: grouped search)');
    // every listed group is within T: more ties with T may lie beyond the list; check every unique reference
    if (ng === kc && kc < G.nu) {
      const all: number[] = [];
      for (let g = 0; g < G.nu; g++) if (sqdist(Qu, u, Ru, g, dim) <= T) all.push(g);
      if (all.length > ng) {
        gIdx = Int32Array.from(all);
        gD = Float64Array.from(all, (g) => sqdist(Qu, u, Ru, g, dim));
        ng = all.length;
      }
    }
    // the members, at most kEff + 1 per group
    let np = 0;
    for (let j = 0; j < ng; j++) {
      const g = gIdx[j];
      const end = Math.min(G.start[g + 1], G.start[g] + kEff + 1);
      for (let m = G.start[g]; m < end; m++) {
        if (np === pIdx.length) {
          const i2 = new Int32Array(np * 2);
          i2.set(pIdx);
          pIdx = i2;
          const d2 = new Float64Array(np * 2);
          d2.set(pD);
          pD = d2;
        }
        pIdx[np] = G.members[m];
        pD[np] = gD[j];
        np++;
      }
    }
    selectSmallest(pIdx, pD, np, Math.min(np, kEff + 1));
    cand += np;
    for (let m = H.start[u]; m < H.start[u + 1]; m++) {
      const q = H.members[m];
      let taken = 0;
      for (let j = 0; j < np && taken < kEff; j++) {
        if (excl && pIdx[j] === q) continue;
        indices[q * kEff + taken] = pIdx[j];
        distances[q * kEff + taken] = Math.sqrt(pD[j]);
        taken++;
      }
      if (taken < kEff) throw new MetricArgumentError(fn, 'ref', 'has fewer points than k (internal: grouped search)');
    }
    if (gIdx.length > kc) {
      gIdx = new Int32Array(kc);
      gD = new Float64Array(kc);
    }
  }
  return { indices, distances, k: kEff, nq, candidatesPerQuery: H.nu ? cand / H.nu : 0 };
}

/** Points centred on the reference mean and rounded to float32, with their float64 squared norms and norms. */
interface Centred {
  c: Float32Array;
  n2: Float64Array;
  nn: Float64Array;
  maxAbs: number;
}

/** The top-k path (see the file header): candidates from the hook, exact re-ranking, proof of completeness per query. */
function* topkCore(
  o: KnnOptions, fn: string, kEff: number, excl: boolean, kk: number, R: Centred, Q: Centred, u: number, alpha: number, beta: number,
): Generator<Request, KnnResult, void> {
  const { query, nq, ref, nr, dim } = o;
  const indices = new Int32Array(nq * kEff);
  const distances = new Float64Array(nq * kEff);
  // c = fl32(‖y‖²), Y = max ‖y‖
  const c = new Float32Array(nr);
  let Y = 0;
  for (let r = 0; r < nr; r++) {
    c[r] = R.n2[r];
    if (R.nn[r] > Y) Y = R.nn[r];
  }
  const g1 = ((dim + 1) * u) / (1 - (dim + 1) * u) * (o.gemmErrorFactor ?? 1);
  const blockSize = o.blockSize ?? 1 << 22;
  const bq = Math.max(1, Math.min(nq, Math.floor(blockSize / nr)));
  const values = new Float32Array(bq * kk);
  const ids = new Int32Array(bq * kk);
  const cIdx = new Int32Array(nr);
  const cDist = new Float64Array(nr);
  const scanner = new RowScanner(o, fn, kEff, excl, R, Q, alpha, beta, indices, distances);
  const failed = new Int32Array(bq);
  let cand = 0;
  for (let q0 = 0; q0 < nq; q0 += bq) {
    const m = Math.min(bq, nq - q0);
    let nFailed = 0;
    const vals = values.subarray(0, m * kk);
    const idx = ids.subarray(0, m * kk);
    yield { kind: 'topk', a: Q.c.subarray(q0 * dim, (q0 + m) * dim), m, b: R.c, n: nr, k: dim, c, kk, values: vals, indices: idx };
    for (let qi = 0; qi < m; qi++) {
      const q = q0 + qi;
      let sMax = -Infinity;
      let len = 0;
      for (let j = 0; j < kk; j++) {
        const v = vals[qi * kk + j];
        const r = idx[qi * kk + j];
        if (!(v === v) || r < 0 || r >= nr) throw new MetricArgumentError(fn, 'topk', `returned an invalid candidate (index ${r}, value ${v})`);
        if (v > sMax) sMax = v;
        if (excl && r === q) continue;
        cIdx[len] = r;
        cDist[len] = sqdist(query, q, ref, r, dim);
        len++;
      }
      if (len < kEff) throw new MetricArgumentError(fn, 'topk', 'returned fewer candidates than k');
      sortCandidates(cIdx, cDist, len);
      const T = cDist[kEff - 1];
      const x = Q.nn[q];
      // A reference of norm > Yc is farther than T: (‖y‖ − ‖x‖)² − β(‖x‖ + ‖y‖)² > T there.
      const rT = Math.sqrt(T);
      const Yc = x + rT + 2 * Math.sqrt(beta) * (2 * x + rT);
      const Yb = (Yc - x) ** 2 - beta * (x + Yc) ** 2 > T * (1 + 1e-9) ? Math.min(Y, Yc * (1 + 1e-9)) : Y;
      const E = 2 * (g1 * ((1 + u) * Yb * Yb + 2 * x * Yb) + u * Yb * Yb + beta * (x + Yb) * (x + Yb));
      if (Q.n2[q] + sMax - E > T) {
        cand += len;
        for (let j = 0; j < kEff; j++) {
          indices[q * kEff + j] = cIdx[j];
          distances[q * kEff + j] = Math.sqrt(cDist[j]);
        }
      } else {
        failed[nFailed++] = q;
      }
    }
    if (nFailed > 0) {
      // near-ties at the k-th distance: these queries take the gemm path (every reference scanned)
      const a = new Float32Array(nFailed * dim);
      for (let j = 0; j < nFailed; j++) a.set(Q.c.subarray(failed[j] * dim, (failed[j] + 1) * dim), j * dim);
      const out = new Float32Array(nFailed * nr);
      yield { kind: 'gemm', a, m: nFailed, b: R.c, n: nr, k: dim, out };
      for (let j = 0; j < nFailed; j++) cand += scanner.scan(out, j * nr, failed[j]);
    }
  }
  return { indices, distances, k: kEff, nq, candidatesPerQuery: nq ? cand / nq : 0 };
}

/** The search as a coroutine: yields gemm requests, returns the result. */
function* knnCore(o: KnnOptions, fn: string): Generator<Request, KnnResult, void> {
  const { kEff, excl } = validate(fn, o);
  const { query, nq, ref, nr, dim } = o;
  if (kEff === 0) return emptyResult(nq);
  if (o.exact || nq * nr * dim <= 65536) return bruteForce(o, kEff, excl);
  if (o.dedup !== false) {
    const G = groupRows(ref, nr, dim);
    const H = query === ref ? G : groupRows(query, nq, dim);
    if (G.nu <= DEDUP_SHARE * nr || H.nu <= DEDUP_SHARE * nq) return yield* dedupCore(o, fn, kEff, excl, G, H);
  }

  // 1. centre on the mean of ref, round to float32
  const mu = new Float64Array(dim);
  for (let r = 0; r < nr; r++) for (let i = 0; i < dim; i++) mu[i] += ref[r * dim + i];
  for (let i = 0; i < dim; i++) mu[i] /= nr;
  const centre = (src: Float32Array, n: number): Centred => {
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

  const kk = Math.min(nr, kEff + (excl ? 1 : 0) + TOPK_EXTRA);
  if (o.topk && kk < nr) return yield* topkCore(o, fn, kEff, excl, kk, R, Q, u, alpha, beta);

  const indices = new Int32Array(nq * kEff);
  const distances = new Float64Array(nq * kEff);
  const blockSize = o.blockSize ?? 1 << 22;
  const bq = Math.max(1, Math.min(nq, Math.floor(blockSize / nr)));
  const out = new Float32Array(bq * nr);
  const scanner = new RowScanner(o, fn, kEff, excl, R, Q, alpha, beta, indices, distances);
  let cand = 0;
  for (let q0 = 0; q0 < nq; q0 += bq) {
    const m = Math.min(bq, nq - q0);
    const blockOut = out.subarray(0, m * nr);
    yield { kind: 'gemm', a: Q.c.subarray(q0 * dim, (q0 + m) * dim), m, b: R.c, n: nr, k: dim, out: blockOut };
    for (let qi = 0; qi < m; qi++) cand += scanner.scan(blockOut, qi * nr, q0 + qi);
  }
  return { indices, distances, k: kEff, nq, candidatesPerQuery: nq ? cand / nq : 0 };
}

/**
 * Steps 3–4 of the file header for one query, from its row of products G: bounds, the
 * running k-th smallest upper bound, the candidates, their exact re-ranking; writes row q of
 * the result.
 */
class RowScanner {
  private readonly heap: TopK;
  private readonly cIdx: Int32Array;
  private readonly cLow: Float64Array;
  private readonly cDist: Float64Array;
  private readonly Pu: Float64Array;
  private readonly Pl: Float64Array;
  private readonly ab: number;

  constructor(
    private readonly o: KnnOptions,
    private readonly fn: string,
    private readonly kEff: number,
    private readonly excl: boolean,
    private readonly R: Centred,
    private readonly Q: Centred,
    alpha: number,
    private readonly beta: number,
    private readonly indices: Int32Array,
    private readonly distances: Float64Array,
  ) {
    const nr = o.nr;
    this.heap = new TopK(kEff);
    this.cIdx = new Int32Array(nr);
    this.cLow = new Float64Array(nr);
    this.cDist = new Float64Array(nr);
    // U = d̃ + B and L = d̃ − B expanded:  B = α‖x‖‖y‖ + β(‖x‖² + 2‖x‖‖y‖ + ‖y‖²), so
    // U = (1+β)‖x‖² + (1+β)‖y‖² + (α+2β)‖x‖‖y‖ − 2G and L = (1−β)‖x‖² + (1−β)‖y‖² − (α+2β)‖x‖‖y‖ − 2G.
    // The few extra float64 roundings of this form (≲ 6·2⁻⁵³(‖x‖+‖y‖)²) sit well inside the
    // factor-2 slack of β.
    this.Pu = new Float64Array(nr);
    this.Pl = new Float64Array(nr);
    for (let r = 0; r < nr; r++) {
      this.Pu[r] = (1 + beta) * R.n2[r];
      this.Pl[r] = (1 - beta) * R.n2[r];
    }
    this.ab = alpha + 2 * beta;
  }

  /** Query q from `out[row … row + nr)` (its products with every reference); returns the candidates re-ranked. */
  scan(out: Float32Array, row: number, q: number): number {
    const { o, fn, kEff, excl, Q, beta, heap, cIdx, cLow, cDist, Pu, Pl } = this;
    const { query, ref, nr, dim } = o;
    const rn = this.R.nn;
    const Au = (1 + beta) * Q.n2[q];
    const Al = (1 - beta) * Q.n2[q];
    const c1 = this.ab * Q.nn[q];
    // One pass: `top` is the k-th smallest upper bound U so far (+∞ until k are seen); it
    // only decreases, so every ref whose lower bound L is ≤ the final T = top was ≤ top
    // when it was seen, and is in the candidate list.
    heap.reset();
    let len = scanRange(out, row, 0, excl ? q : nr, Au, Al, c1, rn, Pu, Pl, heap, cIdx, cLow, 0);
    if (excl) len = scanRange(out, row, q + 1, nr, Au, Al, c1, rn, Pu, Pl, heap, cIdx, cLow, len);
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
    selectSmallest(cIdx, cDist, kept, kEff);
    for (let j = 0; j < kEff; j++) {
      this.indices[q * kEff + j] = cIdx[j];
      this.distances[q * kEff + j] = Math.sqrt(cDist[j]);
    }
    return kept;
  }
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
    const ret = (g.kind === 'gemm' ? gemm(g.a, g.m, g.b, g.n, g.k, g.out) : opts.topk!(g.a, g.m, g.b, g.n, g.k, g.c, g.kk, g.values, g.indices)) as unknown;
    if (ret && typeof (ret as Promise<void>).then === 'function') {
      throw new MetricArgumentError('knnSearch', g.kind, 'returned a Promise: use knnSearchAsync for an asynchronous hook');
    }
    step = it.next();
  }
  return step.value;
}

/** `knnSearch` with gemm / top-k hooks that may return a Promise (e.g. an onnxruntime session). */
export async function knnSearchAsync(opts: Omit<KnnOptions, 'gemm'> & { gemm?: AsyncGemm }): Promise<KnnResult> {
  const gemm: AsyncGemm = opts?.gemm ?? gemmNT;
  const it = knnCore(opts as KnnOptions, 'knnSearchAsync');
  let step = it.next();
  while (!step.done) {
    const g = step.value;
    if (g.kind === 'gemm') await gemm(g.a, g.m, g.b, g.n, g.k, g.out);
    else await opts.topk!(g.a, g.m, g.b, g.n, g.k, g.c, g.kk, g.values, g.indices);
    step = it.next();
  }
  return step.value;
}
