/**
 * The kNN's top-k hook (knn.ts `TopkHook`) as a small WebAssembly SIMD function: for a block
 * of queries, `s(i, r) = c[r] − 2·Σ_p a[i·k + p]·b[r·k + p]` in float32 for every reference,
 * and per query the kk references of smallest s, kept in a sorted list as the scan goes. The
 * products and the selection are one pass: no m×n matrix is written (onnxruntime's `Gemm` +
 * `TopK` writes and then reads 4·m·n bytes, and its `TopK` costs about 1 ns per value), so
 * on the narrow taps of a UNet (2–32 channels) this is 1.5–4× faster than the onnxruntime
 * route (bench/README.md, session 12).
 *
 * What knn.ts needs of a top-k hook holds here: each s is a float32 dot product of length
 * k + 1 (the products summed in channel order per lane, then `c − (acc + acc)`), inside the
 * error bound knn.ts allows for any order; the returned kk are the smallest s (a reference is
 * left out only when its s is not below the kk-th kept), so every reference not returned has
 * s ≥ the largest returned. The exact re-ranking and the proof of completeness stay in knn.ts,
 * so the neighbours are the brute force's, bit for bit, whichever hook runs.
 *
 * The module is assembled here (wasmAsm.ts). Where WebAssembly SIMD is missing, or a block is
 * too large for the memory cap, `wasmTopk` gives the fallback hook the call.
 */
import type { TopkHook } from './knn';
import { ADD, EQZ, F32, F32_GT, F32_LT, GE_U, I32, LT_U, MUL, SHL, SUB, V128, compiledOnce, get, i32, set, simd, tee, wasmModule } from './wasmAsm';

/** References per panel (two f32x4 lanes of 4) and queries per block of the kernel. */
const REFS = 8;
const QUERIES = 4;
/** Above this many bytes of queries, references, lists and norms, the fallback hook runs. */
const MAX_BYTES = 1 << 26;
/** Above this many channels, the fallback hook runs (onnxruntime's Gemm is faster there; bench/README.md). */
export const WASM_TOPK_MAX_DIM = 32;

const topkModule = compiledOnce(() => assemble());

/** Whether the WebAssembly route can run here (SIMD available). */
export function wasmTopkAvailable(): boolean {
  return topkModule() !== null;
}

/**
 * A top-k hook computed in WebAssembly where it helps (k ≤ `maxDim` channels, the block
 * within the memory cap), else by `fallback` (onnxruntime's, gemm-onnx.ts); the fallback
 * itself where WebAssembly SIMD is missing. Synchronous on the WebAssembly route. Its memory
 * is its own and reused from call to call (one hook per thread).
 */
export function preferWasmTopk(fallback: TopkHook, maxDim = WASM_TOPK_MAX_DIM): TopkHook {
  return wasmTopk(fallback, maxDim) ?? fallback;
}

/** The WebAssembly hook; `fallback` null: every call on the WebAssembly route (tests), null where it cannot run. */
export function wasmTopk(fallback: TopkHook | null, maxDim = WASM_TOPK_MAX_DIM): TopkHook | null {
  const mod = topkModule();
  if (!mod) return fallback;
  let mem: WebAssembly.Memory | null = null;
  // The references' order, kept for the next calls of the same search (knn.ts passes the same
  // b and c arrays at every call of one search, and new ones for the next search).
  let refs: RefOrder | null = null;
  let scan: ((...a: number[]) => void) | null = null;
  const ensure = (bytes: number) => {
    if (!mem) {
      mem = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
      scan = new WebAssembly.Instance(mod, { env: { mem } }).exports.scan as (...a: number[]) => void;
    } else if (mem.buffer.byteLength < bytes) {
      mem.grow(Math.ceil((bytes - mem.buffer.byteLength) / 65536));
    }
    return mem.buffer;
  };
  return (a, m, b, n, k, c, kk, values, indices) => {
    const m4 = Math.ceil(m / QUERIES) * QUERIES;
    const n8 = Math.ceil(n / REFS) * REFS;
    const qOff = 0;
    const rOff = align16(qOff + m4 * k * 4);
    const cOff = align16(rOff + n8 * k * 4);
    const thrOff = align16(cOff + n8 * 4);
    const valsOff = align16(thrOff + m4 * 4);
    const idsOff = align16(valsOff + m4 * kk * 4);
    const startsOff = align16(idsOff + m4 * kk * 4);
    const scratchOff = align16(startsOff + (m4 / QUERIES) * 4);
    const total = scratchOff + QUERIES * REFS * 4;
    if (k > maxDim || kk > n || total > MAX_BYTES) {
      if (!fallback) throw new Error(`wasm top-k: no fallback for k = ${k}, kk = ${kk}, n = ${n} (${total} bytes)`);
      return fallback(a, m, b, n, k, c, kk, values, indices);
    }
    const buf = ensure(total);
    const f = new Float32Array(buf);
    // Both sets in the order of their projection on the references' main direction: a block
    // of 4 neighbouring queries scans the references from those nearest to it along that
    // direction, so the lists fill with near references first and few later ones get in.
    if (!refs || refs.b !== b || refs.c !== c || refs.n !== n || refs.k !== k) refs = refOrder(b, c, n, k);
    const { w, order: rOrder, sortedProj: rProj } = refs;
    const qProj = projections(a, m, k, w);
    const qOrder = orderOf(qProj, m);
    // queries (in their order), zero rows up to a multiple of 4 (their lists are not read)
    for (let i = 0; i < m; i++) f.set(a.subarray(qOrder[i] * k, (qOrder[i] + 1) * k), qOff / 4 + i * k);
    f.fill(0, qOff / 4 + m * k, qOff / 4 + m4 * k);
    // references (in their order) in panels of 8: panel p holds, per channel d, the 8 references' values
    const R = rOff / 4;
    for (let p = 0; p < n8; p += REFS) {
      const base = R + p * k;
      const full = Math.min(REFS, n - p);
      for (let l = 0; l < full; l++) {
        const src = rOrder[p + l] * k;
        for (let d = 0; d < k; d++) f[base + d * REFS + l] = b[src + d];
      }
      for (let l = full; l < REFS; l++) for (let d = 0; d < k; d++) f[base + d * REFS + l] = 0;
    }
    const C = cOff / 4;
    for (let i = 0; i < n; i++) f[C + i] = c[rOrder[i]];
    // padding references: s = +∞, never below a threshold
    f.fill(Infinity, C + n, C + n8);
    f.fill(Infinity, thrOff / 4, thrOff / 4 + m4);
    f.fill(Infinity, valsOff / 4, valsOff / 4 + m4 * kk);
    new Int32Array(buf, idsOff, m4 * kk).fill(-1);
    // each block's first panel: the one holding the first reference at or past the block's middle query
    const starts = new Int32Array(buf, startsOff, m4 / QUERIES);
    for (let qb = 0; qb < m4 / QUERIES; qb++) {
      const mid = qProj[qOrder[Math.min(m - 1, qb * QUERIES + (QUERIES >> 1))]];
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const h = (lo + hi) >> 1;
        if (rProj[h] < mid) lo = h + 1;
        else hi = h;
      }
      starts[qb] = Math.min(n8 - REFS, lo - (lo % REFS));
    }
    scan!(qOff, m4, rOff, n8, k, cOff, thrOff, valsOff, idsOff, kk, scratchOff, startsOff);
    const vals = f.subarray(valsOff / 4, valsOff / 4 + m * kk);
    const ids = new Int32Array(buf, idsOff, m * kk);
    for (let i = 0; i < m; i++) {
      const q = qOrder[i];
      for (let j = 0; j < kk; j++) {
        values[q * kk + j] = vals[i * kk + j];
        indices[q * kk + j] = rOrder[ids[i * kk + j]];
      }
    }
  };
}

/** A unit vector along the points' main direction (a few power iterations on their second moments). */
function mainDirection(x: Float32Array, n: number, k: number): Float64Array {
  let w = new Float64Array(k).fill(1 / Math.sqrt(k));
  const step = Math.max(1, Math.floor(n / 1024));
  for (let it = 0; it < 4; it++) {
    const next = new Float64Array(k);
    for (let i = 0; i < n; i += step) {
      let t = 0;
      for (let d = 0; d < k; d++) t += x[i * k + d] * w[d];
      for (let d = 0; d < k; d++) next[d] += t * x[i * k + d];
    }
    let norm = 0;
    for (let d = 0; d < k; d++) norm += next[d] * next[d];
    if (!(norm > 0)) break;
    norm = Math.sqrt(norm);
    for (let d = 0; d < k; d++) next[d] /= norm;
    w = next;
  }
  return w;
}

function projections(x: Float32Array, n: number, k: number, w: Float64Array): Float64Array {
  const proj = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let t = 0;
    for (let d = 0; d < k; d++) t += x[i * k + d] * w[d];
    proj[i] = t;
  }
  return proj;
}

interface RefOrder {
  b: Float32Array;
  c: Float32Array;
  n: number;
  k: number;
  w: Float64Array;
  order: Int32Array;
  sortedProj: Float64Array;
}

function refOrder(b: Float32Array, c: Float32Array, n: number, k: number): RefOrder {
  const w = mainDirection(b, n, k);
  const proj = projections(b, n, k, w);
  const order = orderOf(proj, n);
  const sortedProj = new Float64Array(n);
  for (let i = 0; i < n; i++) sortedProj[i] = proj[order[i]];
  return { b, c, n, k, w, order, sortedProj };
}

/** Indices 0 … n−1 by increasing value, nearly (the values rounded to 31 bits; a native sort of packed numbers). */
function orderOf(v: Float64Array, n: number): Int32Array {
  const order = new Int32Array(n);
  if (n >= INDEX_SPAN) {
    for (let i = 0; i < n; i++) order[i] = i;
    return order.sort((i, j) => v[i] - v[j]);
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    if (v[i] < lo) lo = v[i];
    if (v[i] > hi) hi = v[i];
  }
  const scale = hi > lo ? (2 ** 31 - 1) / (hi - lo) : 0;
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = Math.floor((v[i] - lo) * scale) * INDEX_SPAN + i;
  keys.sort();
  for (let i = 0; i < n; i++) order[i] = keys[i] % INDEX_SPAN;
  return order;
}
/** Packed keys: bucket · 2²¹ + index, exact doubles below 2⁵². */
const INDEX_SPAN = 2 ** 21;

const align16 = (v: number) => (v + 15) & ~15;

/* ------------------------------------------------------------------------------------------ */
/* The module                                                                                   */
/* ------------------------------------------------------------------------------------------ */

const f32Load = (off = 0) => [0x2a, 2, off];
const f32Store = (off = 0) => [0x38, 2, off];
const i32Load = (off = 0) => [0x28, 2, off];
const i32Store = (off = 0) => [0x36, 2, off];
const vLoad = (off = 0) => [...simd(0x00), 4, off];
const vStore = (off = 0) => [...simd(0x0b), 4, off];
const vSplat32 = [...simd(0x09), 2, 0]; // v128.load32_splat
const f32x4Splat = simd(0x13);
const f32x4Lt = simd(0x43);
const f32x4Add = simd(0xe4);
const f32x4Sub = simd(0xe5);
const f32x4Mul = simd(0xe6);
const vOr = simd(0x50);
const anyTrue = simd(0x53);
const vZero = [...simd(0x0c), ...new Array<number>(16).fill(0)];
/** block { loop { … } }: `br_if 1` leaves, `br 0` goes round. */
const loop = (...body: number[][]) => [0x02, 0x40, 0x03, 0x40, ...body.flat(), 0x0b, 0x0b];
const exitIf = (cond: number[]) => [...cond, 0x0d, 1];
const again = [0x0c, 0];
const when = (cond: number[], ...body: number[][]) => [...cond, 0x04, 0x40, ...body.flat(), 0x0b];
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * `scan(q, m4, r, n8, dim, c, thr, vals, ids, kk, scratch)` (byte offsets):
 *
 *     for qb in 0, 4, … < m4:                         // 4 queries
 *       for p in 0, 8, … < n8:                        // 8 references (a panel)
 *         acc[j][l] = Σ_d q[qb+j][d] · r[p+l][d]      // f32x4 lanes, channel order
 *         s[j][l] = c[p+l] − (acc + acc)
 *         if any s[j][l] < thr[qb+j]: scratch ← s; take(qb, p, …)
 *
 * `take(qb, p, thr, vals, ids, kk, scratch)`: each of the 32 values below its query's
 * largest kept value takes that one's place in the query's max-heap (vals, ids: kk each, all
 * +∞ / −1 at first, so the first kk values fill it); the threshold becomes the heap's root.
 */
function assemble(): Uint8Array<ArrayBuffer> {
  // scan: params 0 q, 1 m4, 2 r, 3 n8, 4 dim, 5 c, 6 thr, 7 vals, 8 ids, 9 kk, 10 scratch, 11 starts
  // locals i32: 12 qb, 13 p, 14 d, 15–18 query row addresses, 19 ra, 20 dim·4, 21 panels left
  // locals v128: 22–25 A (refs 0–3 of the panel, per query), 26–29 B (refs 4–7), 30 r0, 31 r1, 32–35 thresholds, 36 x
  const [qb, p, d, ra, dim4, left] = [12, 13, 14, 19, 20, 21];
  const qRow = [15, 16, 17, 18];
  const A = [22, 23, 24, 25];
  const B = [26, 27, 28, 29];
  const [r0, r1, x] = [30, 31, 36];
  const T = [32, 33, 34, 35];
  const thresholds = range(QUERIES).flatMap((j) => [...get(6), ...get(qb), ...i32(j), ADD, ...i32(2), SHL, ADD, ...f32Load(), ...f32x4Splat, ...set(T[j])]);
  const s = (acc: number, cOffset: number) => [...get(5), ...get(p), ...i32(2), SHL, ADD, ...vLoad(cOffset), ...get(acc), ...get(acc), ...f32x4Add, ...f32x4Sub, ...set(acc)];
  const below = range(QUERIES).flatMap((j) => [...get(A[j]), ...get(T[j]), ...f32x4Lt, ...get(B[j]), ...get(T[j]), ...f32x4Lt, ...vOr, ...(j > 0 ? vOr : [])]);
  const scanCode = [
    ...get(4), ...i32(2), SHL, ...set(dim4),
    ...i32(0), ...set(qb),
    ...loop(
      exitIf([...get(qb), ...get(1), GE_U]),
      thresholds,
      // p = starts[qb / 4]; every panel once, from there round to the start
      [...get(11), ...get(qb), ADD, ...i32Load(), ...set(p), ...get(3), ...set(left)],
      loop(
        exitIf([...get(left), EQZ]),
        [...get(2), ...get(p), ...get(dim4), MUL, ADD, ...set(ra)],
        [...A, ...B].flatMap((v) => [...vZero, ...set(v)]),
        [...get(0), ...get(qb), ...get(dim4), MUL, ADD, ...tee(qRow[0]), ...get(dim4), ADD, ...tee(qRow[1]), ...get(dim4), ADD, ...tee(qRow[2]), ...get(dim4), ADD, ...set(qRow[3])],
        [...i32(0), ...set(d)],
        loop(
          exitIf([...get(d), ...get(4), GE_U]),
          [...get(ra), ...vLoad(0), ...set(r0), ...get(ra), ...vLoad(16), ...set(r1)],
          range(QUERIES).flatMap((j) => [
            ...get(qRow[j]), ...vSplat32, ...set(x),
            ...get(A[j]), ...get(x), ...get(r0), ...f32x4Mul, ...f32x4Add, ...set(A[j]),
            ...get(B[j]), ...get(x), ...get(r1), ...f32x4Mul, ...f32x4Add, ...set(B[j]),
          ]),
          [...get(ra), ...i32(32), ADD, ...set(ra)],
          qRow.flatMap((q) => [...get(q), ...i32(4), ADD, ...set(q)]),
          [...get(d), ...i32(1), ADD, ...set(d)],
          again,
        ),
        range(QUERIES).flatMap((j) => [...s(A[j], 0), ...s(B[j], 16)]),
        when(
          [...below, ...anyTrue],
          range(QUERIES).flatMap((j) => [...get(10), ...get(A[j]), ...vStore(j * 32), ...get(10), ...get(B[j]), ...vStore(j * 32 + 16)]),
          [...get(qb), ...get(p), ...get(6), ...get(7), ...get(8), ...get(9), ...get(10), 0x10, 1],
          thresholds,
        ),
        [...get(p), ...i32(REFS), ADD, ...set(p), ...get(left), ...i32(REFS), SUB, ...set(left)],
        when([...get(p), ...get(3), GE_U], [...i32(0), ...set(p)]),
        again,
      ),
      [...get(qb), ...i32(QUERIES), ADD, ...set(qb)],
      again,
    ),
  ];
  // take: params 0 qb, 1 p, 2 thr, 3 vals, 4 ids, 5 kk, 6 scratch
  // locals i32: 7 j, 8 l, 9 qi, 10 pos (the hole), 11 vrow, 12 irow, 13 child; f32: 14 v
  const [j, l, qi, pos, vrow, irow, child, v] = [7, 8, 9, 10, 11, 12, 13, 14];
  const at = (row: number, index: number[]) => [...get(row), ...index, ...i32(2), SHL, ADD];
  const valAt = (index: number[]) => [...at(vrow, index), ...f32Load()];
  const takeCode = [
    ...i32(0), ...set(j),
    ...loop(
      exitIf([...get(j), ...i32(QUERIES), GE_U]),
      [...get(0), ...get(j), ADD, ...set(qi)],
      [...at(3, [...get(qi), ...get(5), MUL]), ...set(vrow)],
      [...at(4, [...get(qi), ...get(5), MUL]), ...set(irow)],
      [...i32(0), ...set(l)],
      loop(
        exitIf([...get(l), ...i32(REFS), GE_U]),
        [...at(6, [...get(j), ...i32(REFS), MUL, ...get(l), ADD]), ...f32Load(), ...set(v)],
        // below the list's largest (the heap's root): it takes the root's place, sifted down
        when(
          [...get(v), ...valAt(i32(0)), F32_LT],
          [...i32(0), ...set(pos)],
          loop(
            [...get(pos), ...i32(1), SHL, ...i32(1), ADD, ...set(child)],
            exitIf([...get(child), ...get(5), GE_U]),
            when(
              [...get(child), ...i32(1), ADD, ...get(5), LT_U],
              when([...valAt([...get(child), ...i32(1), ADD]), ...valAt(get(child)), F32_GT], [...get(child), ...i32(1), ADD, ...set(child)]),
            ),
            exitIf([...valAt(get(child)), ...get(v), F32_GT, EQZ]),
            [...at(vrow, get(pos)), ...valAt(get(child)), ...f32Store()],
            [...at(irow, get(pos)), ...at(irow, get(child)), ...i32Load(), ...i32Store()],
            [...get(child), ...set(pos)],
            again,
          ),
          [...at(vrow, get(pos)), ...get(v), ...f32Store()],
          [...at(irow, get(pos)), ...get(1), ...get(l), ADD, ...i32Store()],
        ),
        [...get(l), ...i32(1), ADD, ...set(l)],
        again,
      ),
      [...at(2, get(qi)), ...valAt(i32(0)), ...f32Store()],
      [...get(j), ...i32(1), ADD, ...set(j)],
      again,
    ),
  ];
  return wasmModule(
    [
      { params: new Array<number>(12).fill(I32), results: [], locals: [[10, I32], [15, V128]], code: scanCode },
      { params: new Array<number>(7).fill(I32), results: [], locals: [[7, I32], [1, F32]], code: takeCode },
    ],
    { scan: 0 },
  );
}

