/**
 * The centre sums of k-means' update step, `sums[label(i)·dim + d] += x[i·dim + d]` over the
 * points in order, in float64 from float32 points: the same additions, in the same order, as
 * the JavaScript loop (`sumRowsJs`), so bit for bit the same sums (every value of a float32
 * array is exactly a float64, and each sum element takes its terms in point order whatever
 * the lanes). On the large benchmark case this pass was nearly all of k-means' own JavaScript
 * (`assignGemm`, 5.5 s per tap thread, at 0.8 ns per value); here it is a small WebAssembly
 * function that adds two values per SIMD instruction (`f64x2.add` of `f64x2.promote_low_f32x4`),
 * 4–6× faster on the points of a tap (bench/README.md, session 11).
 *
 * The module is assembled here, byte by byte (about 200 bytes: one function, one imported
 * memory), so nothing is fetched or generated at build time. Where WebAssembly or its SIMD is
 * missing (`rowSummer` returns null), the JavaScript loop runs: the same sums.
 */

/** `sums.fill(0)`, then every point's row added to its label's row of `sums` (k×dim), in point order. */
export function sumRowsJs(x: Float32Array, n: number, dim: number, labels: Int32Array, sums: Float64Array): void {
  sums.fill(0);
  for (let i = 0; i < n; i++) addRow(sums, labels[i] * dim, x, i * dim, dim);
}

/** `sums[c … c + dim) += x[p … p + dim)`, element by element (each sum in point order, as the M-step). */
export function addRow(sums: Float64Array, c: number, x: Float32Array, p: number, dim: number): void {
  let d = 0;
  for (; d + 3 < dim; d += 4) {
    sums[c + d] += x[p + d];
    sums[c + d + 1] += x[p + d + 1];
    sums[c + d + 2] += x[p + d + 2];
    sums[c + d + 3] += x[p + d + 3];
  }
  for (; d < dim; d++) sums[c + d] += x[p + d];
}

/** The points of one k-means call, copied once into WebAssembly memory; `sum` is `sumRowsJs` on them. */
export interface RowSummer {
  sum(labels: Int32Array, sums: Float64Array): void;
  /** Done: its memory may serve the next summer of this thread (the summer is not used again). */
  release(): void;
}

/** Above this many bytes of points, labels and sums, the JavaScript loop (no second copy of the points). */
const MAX_BYTES = 1 << 30;

let compiled: WebAssembly.Module | null | undefined;

/** The compiled module (once per thread), or null where WebAssembly SIMD is not available. */
function wasmModule(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    compiled = typeof WebAssembly === 'object' && WebAssembly.validate(ROW_SUMS_WASM) ? new WebAssembly.Module(ROW_SUMS_WASM) : null;
  } catch {
    compiled = null;
  }
  return compiled;
}

/**
 * A summer over `x` (n×dim, row-major) for labels in [0, k), or null (no WebAssembly SIMD, or
 * too large): the caller then uses `sumRowsJs`; `route` 'js' asks for that loop (the
 * benchmark's comparison). Its memory is its own until `release` (then the thread's next
 * summer may take it), so summers in use never share state.
 */
export function rowSummer(x: Float32Array, n: number, dim: number, k: number, route: 'auto' | 'js' = 'auto'): RowSummer | null {
  if (route === 'js') return null;
  const mod = wasmModule();
  if (!mod) return null;
  const xBytes = n * dim * 4;
  const labOff = align16(xBytes);
  const sumsOff = align16(labOff + n * 4);
  const total = sumsOff + k * dim * 8;
  if (total > MAX_BYTES) return null;
  const own = take(mod, total);
  const mem = own.mem;
  const addRows = own.inst.exports.addRows as (x: number, lab: number, n: number, dim: number, sums: number) => void;
  new Float32Array(mem.buffer, 0, n * dim).set(x.subarray(0, n * dim));
  const lab = new Int32Array(mem.buffer, labOff, n);
  const out = new Float64Array(mem.buffer, sumsOff, k * dim);
  let released = false;
  return {
    sum(labels, sums) {
      if (released) throw new Error('rowSummer: used after release');
      lab.set(labels.subarray(0, n));
      out.fill(0);
      addRows(0, labOff, n, dim, sumsOff);
      sums.set(out.subarray(0, sums.length));
    },
    release() {
      if (released) return;
      released = true;
      if (!spare || mem.buffer.byteLength > spare.mem.buffer.byteLength) spare = own;
    },
  };
}

interface Instance {
  mem: WebAssembly.Memory;
  inst: WebAssembly.Instance;
}
/**
 * The memory of the last released summer, kept for the next one of this thread: a tap's
 * k-means calls (ten starts on each of its splits) reuse one block instead of leaving one
 * copy of the points per call for the collector (the many-split case's peak RSS was about
 * 50 MB higher without this). Summers that overlap (several jobs in one thread) take their own.
 */
let spare: Instance | null = null;

function take(mod: WebAssembly.Module, bytes: number): Instance {
  const s = spare;
  spare = null;
  if (s && s.mem.buffer.byteLength >= bytes) return s;
  const mem = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
  return { mem, inst: new WebAssembly.Instance(mod, { env: { mem } }) };
}

const align16 = (b: number) => (b + 15) & ~15;

/* ------------------------------------------------------------------------------------------ */
/* The module                                                                                   */
/* ------------------------------------------------------------------------------------------ */

const uleb = (v: number): number[] => {
  const o: number[] = [];
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v) b |= 0x80;
    o.push(b);
  } while (v);
  return o;
};
const sleb = (v: number): number[] => {
  const o: number[] = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && !(b & 0x40)) || (v === -1 && b & 0x40)) return [...o, b];
    o.push(b | 0x80);
  }
};
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const vector = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const name = (s: string) => [...uleb(s.length), ...[...s].map((ch) => ch.charCodeAt(0))];

/**
 * `addRows(x, lab, n, dim, sums)` (byte offsets into the imported memory `env.mem`):
 *
 *     for i in 0 … n−1:                      // points in order
 *       c = sums + 8·lab[i]·dim
 *       for d in 0, 2, … while d + 2 ≤ dim:  // two values: f64x2 lanes d, d+1
 *         v128.store(c + 8d, f64x2.add(v128.load(c + 8d), f64x2.promote_low_f32x4(v128.load64_zero(x + 4(i·dim + d)))))
 *       if dim is odd: f64 at d = dim − 1, the same addition
 */
function assemble(): Uint8Array<ArrayBuffer> {
  const I32 = 0x7f;
  // params 0 x, 1 lab, 2 n, 3 dim, 4 sums; locals 5 i, 6 p (byte offset of point i), 7 c (byte offset of its sums row), 8 d, 9 even (dim & ~1)
  const get = (i: number) => [0x20, i];
  const set = (i: number) => [0x21, i];
  const i32 = (v: number) => [0x41, ...sleb(v)];
  const ADD = 0x6a;
  const MUL = 0x6c;
  const AND = 0x71;
  const SHL = 0x74;
  const LT_U = 0x49;
  const GE_U = 0x4f;
  const simd = (op: number) => [0xfd, ...uleb(op)];
  const sumsAddr = [...get(7), ...get(8), ...i32(3), SHL, ADD];
  const xAddr = [...get(6), ...get(8), ...i32(2), SHL, ADD];
  const code = [
    ...i32(0), ...set(5), ...get(0), ...set(6),
    ...get(3), ...i32(-2), AND, ...set(9),
    0x02, 0x40, 0x03, 0x40, // block, loop: the points
    ...get(5), ...get(2), GE_U, 0x0d, 1, // i ≥ n: out
    ...get(4), ...get(1), ...get(5), ...i32(2), SHL, ADD, 0x28, 2, 0, ...get(3), MUL, ...i32(3), SHL, ADD, ...set(7),
    ...i32(0), ...set(8),
    0x02, 0x40, 0x03, 0x40, // block, loop: two values at a time
    ...get(8), ...get(9), GE_U, 0x0d, 1,
    ...sumsAddr,
    ...sumsAddr, ...simd(0x00), 3, 0, // v128.load
    ...xAddr, ...simd(0x5d), 2, 0, // v128.load64_zero
    ...simd(0x5f), // f64x2.promote_low_f32x4
    ...simd(0xf0), // f64x2.add
    ...simd(0x0b), 3, 0, // v128.store
    ...get(8), ...i32(2), ADD, ...set(8),
    0x0c, 0, 0x0b, 0x0b,
    ...get(8), ...get(3), LT_U, 0x04, 0x40, // odd dim: the last value
    ...sumsAddr,
    ...sumsAddr, 0x2b, 3, 0, // f64.load
    ...xAddr, 0x2a, 2, 0, // f32.load
    0xbb, 0xa0, 0x39, 3, 0, // f64.promote_f32, f64.add, f64.store
    0x0b,
    ...get(6), ...get(3), ...i32(2), SHL, ADD, ...set(6),
    ...get(5), ...i32(1), ADD, ...set(5),
    0x0c, 0, 0x0b, 0x0b,
    0x0b,
  ];
  const body = [...vector([[5, I32]]), ...code];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector([[0x60, ...vector([[I32], [I32], [I32], [I32], [I32]]), 0]])),
    ...section(2, vector([[...name('env'), ...name('mem'), 0x02, 0x00, 0x01]])),
    ...section(3, vector([[0]])),
    ...section(7, vector([[...name('addRows'), 0x00, 0]])),
    ...section(10, vector([[...uleb(body.length), ...body]])),
  ]);
}

const ROW_SUMS_WASM = assemble();
