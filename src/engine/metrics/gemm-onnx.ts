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

import type { AsyncGemm } from './knn';

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
