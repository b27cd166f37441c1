/**
 * The kNN's top-k hook in WebAssembly (src/engine/metrics/topkWasm.ts): its values are the
 * float32 `c − 2·x·y` it promises (emulated here with Math.fround in the same order), the kk
 * smallest of them (no reference left out is below the largest kept), whatever the shapes
 * (queries not a multiple of 4, references not a multiple of 8, 1 to 32 channels); knnSearch
 * through it equals the float64 brute force bit for bit (ties, duplicates, leave-one-out); wide
 * or oversized blocks go to the fallback hook.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../../src/engine/metrics/prng';
import { knnBruteForce, knnSearch, type TopkHook } from '../../src/engine/metrics/knn';
import { preferWasmTopk, wasmTopk, wasmTopkAvailable } from '../../src/engine/metrics/topkWasm';

/** The hook's s in float32, as the kernel computes it: products summed in channel order, then c − (acc + acc). */
function sRef(a: Float32Array, i: number, b: Float32Array, r: number, k: number, c: Float32Array): number {
  let acc = 0;
  for (let d = 0; d < k; d++) acc = Math.fround(acc + Math.fround(a[i * k + d] * b[r * k + d]));
  return Math.fround(c[r] - Math.fround(acc + acc));
}

function points(prng: Prng, n: number, k: number, grid = false): Float32Array {
  const x = new Float32Array(n * k);
  for (let i = 0; i < x.length; i++) x[i] = grid ? Math.floor(prng.next() * 4) : Math.max(0, prng.normal() + (i % 3 === 0 ? 1.5 : 0));
  return x;
}

describe('wasmTopk', () => {
  it('runs here (WebAssembly SIMD in Node 20)', () => {
    assert.equal(wasmTopkAvailable(), true);
    assert.ok(wasmTopk(null));
  });

  it('returns the kk smallest float32 s of every query, each value the one it promises', () => {
    const hook = wasmTopk(null, 64)!;
    const prng = new Prng(3);
    for (const [m, n, k, kk] of [
      [1, 9, 1, 3],
      [5, 37, 2, 7],
      [13, 100, 3, 19],
      [64, 256, 8, 19],
      [33, 1000, 17, 12],
      [7, 513, 32, 19],
      [9, 40, 5, 39],
    ]) {
      const a = points(prng, m, k);
      const b = points(prng, n, k);
      const c = new Float32Array(n);
      for (let r = 0; r < n; r++) {
        let s = 0;
        for (let d = 0; d < k; d++) s += b[r * k + d] ** 2;
        c[r] = s;
      }
      const values = new Float32Array(m * kk).fill(NaN);
      const indices = new Int32Array(m * kk).fill(-7);
      assert.equal(hook(a, m, b, n, k, c, kk, values, indices), undefined, 'synchronous');
      for (let i = 0; i < m; i++) {
        const got = new Set<number>();
        let sMax = -Infinity;
        for (let j = 0; j < kk; j++) {
          const r = indices[i * kk + j];
          assert.ok(r >= 0 && r < n, `m ${m} n ${n} k ${k}: index ${r}`);
          assert.ok(!got.has(r), `m ${m} n ${n} k ${k}: reference ${r} twice`);
          got.add(r);
          assert.ok(Object.is(values[i * kk + j], sRef(a, i, b, r, k, c)), `m ${m} n ${n} k ${k}: query ${i} ref ${r}: ${values[i * kk + j]} against ${sRef(a, i, b, r, k, c)}`);
          sMax = Math.max(sMax, values[i * kk + j]);
        }
        for (let r = 0; r < n; r++) {
          if (!got.has(r)) assert.ok(sRef(a, i, b, r, k, c) >= sMax, `m ${m} n ${n} k ${k}: query ${i}: ref ${r} left out below the largest kept`);
        }
      }
    }
  });

  it('gives knnSearch the brute force bit for bit: leave-one-out, grid ties, duplicates, every width up to 32', () => {
    const hook = wasmTopk(null)!;
    const prng = new Prng(11);
    let calls = 0;
    const counted: TopkHook = (...args) => {
      calls++;
      return hook(...args);
    };
    for (const [nq, nr, dim, k, grid] of [
      [300, 400, 2, 10, false],
      [257, 513, 8, 10, false],
      [200, 600, 16, 5, true],
      [150, 333, 32, 10, false],
      [400, 400, 3, 10, true],
    ] as const) {
      const ref = points(prng, nr, dim, grid);
      const query = points(prng, nq, dim, grid);
      for (const excl of [false, true]) {
        const q = excl ? ref : query;
        const n = excl ? nr : nq;
        const want = knnBruteForce({ query: q, nq: n, ref, nr, dim, k, excludeSelf: excl });
        const before = calls;
        // no dedup: the grid's duplicates go through the hook's path too
        const got = knnSearch({ query: q, nq: n, ref, nr, dim, k, excludeSelf: excl, topk: counted, dedup: false });
        assert.ok(calls > before, 'the hook ran');
        assert.deepEqual(got.indices, want.indices, `nq ${n} nr ${nr} dim ${dim} excl ${excl}`);
        assert.deepEqual(got.distances, want.distances);
      }
    }
  });

  it('hands wide channels and oversized blocks to the fallback; the preferred hook is the fallback where it cannot run', () => {
    const seen: number[] = [];
    const fallback: TopkHook = (_a, m, _b, _n, k, _c, kk, values, indices) => {
      seen.push(k);
      values.fill(0, 0, m * kk);
      indices.fill(0, 0, m * kk);
    };
    const hook = wasmTopk(fallback, 8)!;
    const prng = new Prng(5);
    for (const k of [8, 9]) {
      const a = points(prng, 4, k);
      const b = points(prng, 50, k);
      hook(a, 4, b, 50, k, new Float32Array(50), 5, new Float32Array(20), new Int32Array(20));
    }
    assert.deepEqual(seen, [9]);
    const n = 2_100_000; // over 2^26 bytes of references: the fallback
    hook(new Float32Array(8 * 4), 4, new Float32Array(n * 8), n, 8, new Float32Array(n), 5, new Float32Array(20), new Int32Array(20));
    assert.deepEqual(seen, [9, 8]);
    assert.equal(typeof preferWasmTopk(fallback), 'function');
    assert.throws(() => wasmTopk(null, 4)!(new Float32Array(5), 1, new Float32Array(50), 10, 5, new Float32Array(10), 3, new Float32Array(3), new Int32Array(3)), /no fallback for k = 5/);
  });
});
