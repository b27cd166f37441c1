/**
 * A BLAS-backed gemm hook for `knnSearchAsync`: a one-node ONNX model
 * `Y = Gemm(A[M,K], B[N,K], transB = 1)` (float32, opset 13) run by onnxruntime.
 *
 * Pure with respect to this folder's rules: no `vscode`, no file I/O, and onnxruntime is not
 * imported here — the caller passes the module in (`require('onnxruntime-node')`), so the
 * metrics stay loadable where onnxruntime is absent.
 *
 * Measured here (2 cores): ~20 GFLOP/s at K = 32 and ~100 GFLOP/s at K = 128 for
 * 4096×K·K×4096, against ~4 GFLOP/s for the JavaScript `gemmNT` (bench/knn.bench.ts).
 * Its float32 products satisfy knnSearch's error bound (gemmErrorFactor 1).
 */

import type { AsyncGemm, TopkHook } from './knn';

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const fieldVarint = (f: number, v: number): number[] => [...varint(f << 3), ...varint(v)];
const fieldBytes = (f: number, b: number[]): number[] => [...varint((f << 3) | 2), ...varint(b.length), ...b];
const utf8 = (s: string): number[] => Array.from(new TextEncoder().encode(s));

/**
 * The serialized ONNX ModelProto (protobuf wire format, written by hand): inputs A [M, K]
 * and B [N, K] with symbolic dims, output Y [M, N], one `Gemm` node with `transB = 1`.
 */
export function gemmOnnxModel(): Uint8Array {
  const dimParam = (p: string) => fieldBytes(1, fieldBytes(2, utf8(p))); // TensorShapeProto.dim { dim_param }
  const valueInfo = (name: string, dims: string[]) => [
    ...fieldBytes(1, utf8(name)),
    // TypeProto { tensor_type { elem_type: FLOAT, shape { dim… } } }
    ...fieldBytes(2, fieldBytes(1, [...fieldVarint(1, 1), ...fieldBytes(2, dims.flatMap(dimParam))])),
  ];
  // AttributeProto { name: "transB", i: 1, type: INT }
  const attr = [...fieldBytes(1, utf8('transB')), ...fieldVarint(3, 1), ...fieldVarint(20, 2)];
  const node = [
    ...fieldBytes(1, utf8('A')),
    ...fieldBytes(1, utf8('B')),
    ...fieldBytes(2, utf8('Y')),
    ...fieldBytes(3, utf8('gemm')),
    ...fieldBytes(4, utf8('Gemm')),
    ...fieldBytes(5, attr),
  ];
  const graph = [
    ...fieldBytes(1, node),
    ...fieldBytes(2, utf8('knn_gemm')),
    ...fieldBytes(11, valueInfo('A', ['M', 'K'])),
    ...fieldBytes(11, valueInfo('B', ['N', 'K'])),
    ...fieldBytes(12, valueInfo('Y', ['M', 'N'])),
  ];
  const opset = [...fieldBytes(1, []), ...fieldVarint(2, 13)];
  const model = [...fieldVarint(1, 8), ...fieldBytes(2, utf8('unet-lens')), ...fieldBytes(7, graph), ...fieldBytes(8, opset)];
  return Uint8Array.from(model);
}

/** The parts of the onnxruntime module this needs (`onnxruntime-node` or `onnxruntime-web`). */
export interface OrtLike {
  InferenceSession: { create(model: Uint8Array, options?: object): Promise<{ run(feeds: object): Promise<Record<string, { data: unknown }>> }> };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => unknown;
}

/**
 * An asynchronous gemm hook (`out = A·Bᵀ`) backed by an onnxruntime session of
 * `gemmOnnxModel()`. Use with `knnSearchAsync` / `buildTrainReferenceAsync` /
 * `neighborsInTrainAsync`.
 */
export async function createOnnxGemm(ort: OrtLike, sessionOptions: object = { graphOptimizationLevel: 'all' }): Promise<AsyncGemm> {
  const session = await ort.InferenceSession.create(gemmOnnxModel(), sessionOptions);
  return async (a, m, b, n, k, out) => {
    const res = await session.run({ A: new ort.Tensor('float32', a, [m, k]), B: new ort.Tensor('float32', b, [n, k]) });
    const y = res.Y.data as Float32Array;
    if (!(y instanceof Float32Array) || y.length !== m * n) throw new Error(`onnx gemm: output of length ${(y as Float32Array)?.length}, expected ${m * n}`);
    out.set(y);
  };
}

/**
 * The serialized ONNX model of the top-k hook: inputs A [M, K], B [N, K], C [N] (float32)
 * and KK [1] (int64); `S = Gemm(A, B, C, alpha = −2, beta = 1, transB = 1)`, i.e.
 * `S[i, r] = C[r] − 2·A[i]·B[r]`, then `V, I = TopK(S, KK, axis = 1, largest = 0, sorted = 1)`
 * (opset 13).
 */
export function topkOnnxModel(): Uint8Array {
  const dimParam = (p: string) => fieldBytes(1, fieldBytes(2, utf8(p)));
  const dimValue = (v: number) => fieldBytes(1, fieldVarint(1, v));
  const valueInfo = (name: string, elemType: number, dims: (string | number)[]) => [
    ...fieldBytes(1, utf8(name)),
    ...fieldBytes(2, fieldBytes(1, [...fieldVarint(1, elemType), ...fieldBytes(2, dims.flatMap((d) => (typeof d === 'number' ? dimValue(d) : dimParam(d))))])),
  ];
  const f32 = (v: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    return Array.from(b);
  };
  // AttributeProto { name, f (fixed32) , type FLOAT = 1 } / { name, i, type INT = 2 }
  const attrFloat = (name: string, v: number) => [...fieldBytes(1, utf8(name)), ...varint((2 << 3) | 5), ...f32(v), ...fieldVarint(20, 1)];
  const attrInt = (name: string, v: number) => [...fieldBytes(1, utf8(name)), ...fieldVarint(3, v), ...fieldVarint(20, 2)];
  const gemm = [
    ...fieldBytes(1, utf8('A')),
    ...fieldBytes(1, utf8('B')),
    ...fieldBytes(1, utf8('C')),
    ...fieldBytes(2, utf8('S')),
    ...fieldBytes(3, utf8('gemm')),
    ...fieldBytes(4, utf8('Gemm')),
    ...fieldBytes(5, attrFloat('alpha', -2)),
    ...fieldBytes(5, attrFloat('beta', 1)),
    ...fieldBytes(5, attrInt('transB', 1)),
  ];
  const topk = [
    ...fieldBytes(1, utf8('S')),
    ...fieldBytes(1, utf8('KK')),
    ...fieldBytes(2, utf8('V')),
    ...fieldBytes(2, utf8('I')),
    ...fieldBytes(3, utf8('topk')),
    ...fieldBytes(4, utf8('TopK')),
    ...fieldBytes(5, attrInt('axis', 1)),
    ...fieldBytes(5, attrInt('largest', 0)),
    ...fieldBytes(5, attrInt('sorted', 1)),
  ];
  const graph = [
    ...fieldBytes(1, gemm),
    ...fieldBytes(1, topk),
    ...fieldBytes(2, utf8('knn_topk')),
    ...fieldBytes(11, valueInfo('A', 1, ['M', 'K'])),
    ...fieldBytes(11, valueInfo('B', 1, ['N', 'K'])),
    ...fieldBytes(11, valueInfo('C', 1, ['N'])),
    ...fieldBytes(11, valueInfo('KK', 7, [1])),
    ...fieldBytes(12, valueInfo('V', 1, ['M', 'T'])),
    ...fieldBytes(12, valueInfo('I', 7, ['M', 'T'])),
  ];
  const opset = [...fieldBytes(1, []), ...fieldVarint(2, 13)];
  const model = [...fieldVarint(1, 8), ...fieldBytes(2, utf8('unet-lens')), ...fieldBytes(7, graph), ...fieldBytes(8, opset)];
  return Uint8Array.from(model);
}

/** The parts of the onnxruntime module the top-k hook needs (int64 tensors too). */
export interface OrtLikeTopk {
  InferenceSession: { create(model: Uint8Array, options?: object): Promise<{ run(feeds: object): Promise<Record<string, { data: unknown }>> }> };
  Tensor: new (type: 'float32' | 'int64', data: Float32Array | BigInt64Array, dims: number[]) => unknown;
}

/**
 * A top-k hook for `knnSearchAsync` (see knn.ts `TopkHook`) backed by an onnxruntime session
 * of `topkOnnxModel()`: the distance products and the per-row selection run natively, and only
 * m × kk values and indices come back to JavaScript.
 */
export async function createOnnxTopk(ort: OrtLikeTopk, sessionOptions: object = { graphOptimizationLevel: 'all' }): Promise<TopkHook> {
  const session = await ort.InferenceSession.create(topkOnnxModel(), sessionOptions);
  return async (a, m, b, n, k, c, kk, values, indices) => {
    const res = await session.run({
      A: new ort.Tensor('float32', a, [m, k]),
      B: new ort.Tensor('float32', b, [n, k]),
      C: new ort.Tensor('float32', c, [n]),
      KK: new ort.Tensor('int64', BigInt64Array.of(BigInt(kk)), [1]),
    });
    const v = res.V.data as Float32Array;
    const ix = res.I.data as BigInt64Array;
    if (!(v instanceof Float32Array) || v.length !== m * kk || !(ix instanceof BigInt64Array) || ix.length !== m * kk) {
      throw new Error(`onnx topk: outputs of length ${(v as Float32Array)?.length} and ${(ix as BigInt64Array)?.length}, expected ${m * kk}`);
    }
    values.set(v);
    for (let i = 0; i < ix.length; i++) indices[i] = Number(ix[i]);
  };
}
