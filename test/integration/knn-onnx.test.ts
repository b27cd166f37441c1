/**
 * knnSearch with onnxruntime's kernels (Gemm + TopK, src/engine/metrics/gemm-onnx.ts) and with
 * duplicate grouping, against the float64 brute force (indices and distances bit for bit), on
 * random data, on quantised data full of exact ties and duplicates, with and without
 * leave-one-out. The same with a JavaScript top-k hook: test/unit/pipeline-knn.test.ts.
 * Run: node --import tsx --test test/integration/knn-onnx.test.ts
 */
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import { knnBruteForce, knnSearchAsync } from '../../src/engine/metrics/knn';
import { points, same } from '../knnPoints';
import { createOnnxGemm, createOnnxTopk } from '../../src/engine/metrics/gemm-onnx';

// points() and same() as in test/unit/pipeline-knn.test.ts


describe('knnSearch with onnxruntime: top-k hook and duplicate grouping give the brute force, bit for bit', () => {
  const cases: [string, number, number, Parameters<typeof points>[3], number][] = [
    ['random, dim 8', 1500, 8, {}, 10],
    ['random, dim 32, far from the origin', 1200, 32, { offset: 100 }, 10],
    ['dim 2, quantised (exact ties at many distances)', 1500, 2, { quantum: 0.5 }, 10],
    ['dim 4, 95% copies of one point', 1500, 4, { dup: 0.95, pool: 1 }, 10],
    ['dim 8, 70% copies of 3 points, quantised', 1500, 8, { dup: 0.7, pool: 3, quantum: 0.25 }, 10],
    ['dim 16, 50% copies of 40 points', 1000, 16, { dup: 0.5, pool: 40 }, 7],
    ['dim 1, k 30', 600, 1, { quantum: 0.1 }, 30],
  ];
  it('with onnxruntime (Gemm + TopK) and the onnxruntime gemm', async () => {
    const topk = await createOnnxTopk(ort, { logSeverityLevel: 4 });
    const gemm = await createOnnxGemm(ort, { logSeverityLevel: 4 });
    for (const [name, n, dim, opts, k] of cases) {
      const x = points(n, dim, 1, opts);
      const y = points(n, dim, 2, opts);
      for (const excl of [true, false]) {
        const q = excl ? x : y;
        const ref = knnBruteForce({ query: q, nq: n, ref: x, nr: n, dim, k, excludeSelf: excl });
        for (const dedup of [true, false]) {
          const a = await knnSearchAsync({ query: q, nq: n, ref: x, nr: n, dim, k, excludeSelf: excl, gemm, topk, dedup });
          same(a, ref, `${name}, ${excl ? 'leave-one-out' : 'queries'}, top-k${dedup ? '' : ', no grouping'}`);
          const g = await knnSearchAsync({ query: q, nq: n, ref: x, nr: n, dim, k, excludeSelf: excl, gemm, dedup });
          same(g, ref, `${name}, ${excl ? 'leave-one-out' : 'queries'}, gemm${dedup ? '' : ', no grouping'}`);
        }
      }
    }
  });

  it('k at least the number of points: every point, ordered', async () => {
    const topk = await createOnnxTopk(ort, { logSeverityLevel: 4 });
    const x = points(300, 3, 5, { dup: 0.5, pool: 2 });
    for (const k of [299, 300, 400]) {
      const ref = knnBruteForce({ query: x, nq: 300, ref: x, nr: 300, dim: 3, k, excludeSelf: true });
      same(await knnSearchAsync({ query: x, nq: 300, ref: x, nr: 300, dim: 3, k, excludeSelf: true, topk }), ref, `k ${k}`);
    }
  });
});
