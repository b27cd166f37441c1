/**
 * Point clouds and the exact comparison the kNN tests share (unit: test/unit/pipeline-knn.test.ts,
 * onnxruntime route: test/integration/knn-onnx.test.ts).
 */
import assert from 'node:assert/strict';
import { Prng } from '../src/engine/metrics/prng';
import type { KnnResult } from '../src/engine/metrics/knn';

/** n seeded points of `dim` values ≥ 0; optionally quantised, and with duplicates of the first `pool` points. */
export function points(n: number, dim: number, seed: number, opts: { quantum?: number; dup?: number; pool?: number; offset?: number } = {}): Float32Array {
  const r = new Prng(seed);
  const x = new Float32Array(n * dim);
  for (let i = 0; i < n * dim; i++) {
    let v = Math.max(0, r.normal() + 0.3) * 3 + (opts.offset ?? 0);
    if (opts.quantum) v = Math.round(v / opts.quantum) * opts.quantum;
    x[i] = v;
  }
  if (opts.dup) {
    const pool = opts.pool ?? 1;
    for (let i = pool; i < n; i++) {
      if (r.next() < opts.dup) {
        const b = r.int(pool);
        x.copyWithin(i * dim, b * dim, (b + 1) * dim);
      }
    }
  }
  return x;
}

/** The same neighbours and the same float32 distances, entry by entry. */
export function same(a: KnnResult, b: KnnResult, what: string): void {
  assert.equal(a.k, b.k, `${what}: k`);
  assert.equal(a.indices.length, b.indices.length, `${what}: size`);
  for (let i = 0; i < a.indices.length; i++) {
    if (a.indices[i] !== b.indices[i] || a.distances[i] !== b.distances[i]) {
      assert.fail(`${what}: query ${Math.floor(i / a.k)} column ${i % a.k}: (${a.indices[i]}, ${a.distances[i]}) vs brute force (${b.indices[i]}, ${b.distances[i]})`);
    }
  }
}
