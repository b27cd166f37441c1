/**
 * A few helpers to write small WebAssembly modules byte by byte (rowSums.ts, topkWasm.ts):
 * LEB128 integers, sections, vectors, names, and the opcodes those modules use. Nothing is
 * fetched or generated at build time; each module is assembled when its file loads.
 */

export const uleb = (v: number): number[] => {
  const o: number[] = [];
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v) b |= 0x80;
    o.push(b);
  } while (v);
  return o;
};
export const sleb = (v: number): number[] => {
  const o: number[] = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && !(b & 0x40)) || (v === -1 && b & 0x40)) return [...o, b];
    o.push(b | 0x80);
  }
};
export const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
export const vector = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
export const name = (s: string): number[] => [...uleb(s.length), ...[...s].map((ch) => ch.charCodeAt(0))];

/** Value types. */
export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;

/** i32 and f32 opcodes. */
export const ADD = 0x6a;
export const SUB = 0x6b;
export const MUL = 0x6c;
export const AND = 0x71;
export const SHL = 0x74;
export const EQZ = 0x45;
export const LT_U = 0x49;
export const GE_U = 0x4f;
export const F32_LT = 0x5d;
export const F32_GT = 0x5e;

/** local.get / local.set / local.tee, i32.const. */
export const get = (i: number): number[] => [0x20, ...uleb(i)];
export const set = (i: number): number[] => [0x21, ...uleb(i)];
export const tee = (i: number): number[] => [0x22, ...uleb(i)];
export const i32 = (v: number): number[] => [0x41, ...sleb(v)];
/** A SIMD instruction (prefix 0xfd). */
export const simd = (op: number): number[] => [0xfd, ...uleb(op)];

/**
 * A module of functions over one imported memory (`env.mem`): each function with its
 * parameter and result types, its locals (runs of [count, type]) and its code (without the
 * final `end`); `exports` names functions by index.
 */
export function wasmModule(
  funcs: { params: number[]; results: number[]; locals: [number, number][]; code: number[] }[],
  exports: { [name: string]: number },
): Uint8Array<ArrayBuffer> {
  const types = funcs.map((f) => [0x60, ...vector(f.params.map((t) => [t])), ...vector(f.results.map((t) => [t]))]);
  const bodies = funcs.map((f) => {
    const body = [...vector(f.locals.map(([n, t]) => [...uleb(n), t])), ...f.code, 0x0b];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector(types)),
    ...section(2, vector([[...name('env'), ...name('mem'), 0x02, 0x00, 0x01]])),
    ...section(3, vector(funcs.map((_, i) => uleb(i)))),
    ...section(7, vector(Object.entries(exports).map(([n, i]) => [...name(n), 0x00, ...uleb(i)]))),
    ...section(10, vector(bodies)),
  ]);
}

/**
 * The module of `assemble()`, assembled and compiled on first use (once per thread), or null
 * where WebAssembly or its SIMD is not available (the caller then takes its other route).
 */
export function compiledOnce(assemble: () => Uint8Array<ArrayBuffer>): () => WebAssembly.Module | null {
  let compiled: WebAssembly.Module | null | undefined;
  return () => {
    if (compiled !== undefined) return compiled;
    try {
      const bytes = assemble();
      compiled = typeof WebAssembly === 'object' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
    } catch {
      compiled = null;
    }
    return compiled;
  };
}
