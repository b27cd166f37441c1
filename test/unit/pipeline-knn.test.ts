/**
 * The building blocks the pipeline's speed rests on, each checked to give exactly the result
 * of its plain definition:
 * - knnSearch with a JavaScript top-k hook and with duplicate grouping, against the float64
 *   brute force (indices and distances bit for bit), on random data, on quantised data full
 *   of exact ties and duplicates, with and without leave-one-out (the same with onnxruntime's
 *   Gemm + TopK: test/integration/knn-onnx.test.ts);
 * - StratifiedSampler.addRows (values written only for the points kept) against add;
 * - inputPatchAt against inputPatches; the map helpers of points.ts.
 * Run: node --import tsx --test test/unit/pipeline-knn.test.ts
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../../src/engine/metrics/prng';
import { knnBruteForce, knnSearch, knnSearchAsync, type TopkHook } from '../../src/engine/metrics/knn';
import { points, same } from '../knnPoints';
import { StratifiedSampler } from '../../src/engine/metrics/sampler';
import { allFinite, areaMean, greyPreview, inputPatchAt, inputPatches, mapSize, middleCell, planeOf } from '../../src/engine/points';



/** A JavaScript top-k hook: float32 s = c − 2·a·b accumulated in float32, then the kk smallest. */
const jsTopk: TopkHook = (a, m, b, n, k, c, kk, values, indices) => {
  const s = new Float32Array(n);
  const order = new Int32Array(n);
  for (let i = 0; i < m; i++) {
    for (let r = 0; r < n; r++) {
      let dot = 0;
      for (let p = 0; p < k; p++) dot = Math.fround(dot + Math.fround(a[i * k + p] * b[r * k + p]));
      s[r] = Math.fround(c[r] - Math.fround(2 * dot));
      order[r] = r;
    }
    const sorted = Array.from(order).sort((x, y) => s[x] - s[y]);
    for (let j = 0; j < kk; j++) {
      values[i * kk + j] = s[sorted[j]];
      indices[i * kk + j] = sorted[j];
    }
  }
};

describe('knnSearch: top-k hook and duplicate grouping give the brute force, bit for bit', () => {
  const cases: [string, number, number, Parameters<typeof points>[3], number][] = [
    ['random, dim 8', 1500, 8, {}, 10],
    ['random, dim 32, far from the origin', 1200, 32, { offset: 100 }, 10],
    ['dim 2, quantised (exact ties at many distances)', 1500, 2, { quantum: 0.5 }, 10],
    ['dim 4, 95% copies of one point', 1500, 4, { dup: 0.95, pool: 1 }, 10],
    ['dim 8, 70% copies of 3 points, quantised', 1500, 8, { dup: 0.7, pool: 3, quantum: 0.25 }, 10],
    ['dim 16, 50% copies of 40 points', 1000, 16, { dup: 0.5, pool: 40 }, 7],
    ['dim 1, k 30', 600, 1, { quantum: 0.1 }, 30],
  ];
  it('with a JavaScript top-k hook (synchronous knnSearch), small blocks', () => {
    for (const [name, n, dim, opts, k] of cases.slice(0, 5)) {
      const m = Math.min(n, 500);
      const x = points(m, dim, 3, opts);
      for (const excl of [true, false]) {
        const q = excl ? x : points(m, dim, 4, opts);
        const ref = knnBruteForce({ query: q, nq: m, ref: x, nr: m, dim, k, excludeSelf: excl });
        same(knnSearch({ query: q, nq: m, ref: x, nr: m, dim, k, excludeSelf: excl, topk: jsTopk, blockSize: 5000 }), ref, `${name} (js top-k)`);
      }
    }
  });
});

describe('StratifiedSampler.addRows', () => {
  it('keeps exactly what add keeps (points, strata, extras), whatever the batching', () => {
    const dim = 5;
    const n = 3000;
    const r = new Prng(9);
    const pts = new Float32Array(n * dim).map(() => r.normal());
    const strata = Int32Array.from({ length: n }, () => r.int(3));
    const tag = Int32Array.from({ length: n }, (_, i) => i * 7);
    for (const maxPoints of [100, 5000]) {
      const a = new StratifiedSampler({ maxPoints, dim, seed: 4, numStrata: 3 });
      const b = new StratifiedSampler({ maxPoints, dim, seed: 4, numStrata: 3 });
      const c = new StratifiedSampler({ maxPoints, dim, seed: 4, numStrata: 3 });
      for (let s = 0; s < n; s += 700) {
        const e = Math.min(n, s + 700);
        a.add(pts.slice(s * dim, e * dim), strata.slice(s, e), { tag: tag.slice(s, e) });
        let written = 0;
        b.addRows(
          e - s,
          (i, dst, off) => {
            written++;
            for (let c = 0; c < dim; c++) dst[off + c] = pts[(s + i) * dim + c];
          },
          strata.slice(s, e),
          { tag: tag.slice(s, e) },
        );
        // the same, all rows the call keeps at once
        let batched = 0;
        c.addRows(
          e - s,
          {
            rows(is, m, dst, offsets) {
              for (let j = 0; j < m; j++) {
                if (j > 0) assert.ok(is[j] > is[j - 1], 'increasing points (one call per stratum)');
                for (let d = 0; d < dim; d++) dst[offsets[j] + d] = pts[(s + is[j]) * dim + d];
              }
              batched += m;
            },
          },
          strata.slice(s, e),
          { tag: tag.slice(s, e) },
        );
        assert.equal(batched, written, 'the same rows either way');
        // only the points still kept at the end of the call are written
        assert.ok(written <= Math.min(e - s, 3 * maxPoints), `${written} written`);
        if (maxPoints === 100) assert.ok(written <= 300, 'at most the quota of each stratum, whatever was replaced within the call');
      }
      const ra = a.finish();
      for (const rb of [b.finish(), c.finish()]) {
        assert.deepEqual(rb.points, ra.points);
        assert.deepEqual(rb.strata, ra.strata);
        assert.deepEqual(rb.seq, ra.seq);
        assert.deepEqual(rb.extras.tag, ra.extras.tag);
        assert.deepEqual(rb.keptPerStratum, ra.keptPerStratum);
      }
    }
  });
});

describe('StratifiedSampler.addRows: the definition (issue 12, the keys drawn at once)', () => {
  it('keeps, per stratum, the quota of points of smallest (key, arrival), the keys one Prng.next() per point', () => {
    const r = new Prng(11);
    const n = 5000;
    const strata = Int32Array.from({ length: n }, () => (r.next() < 0.1 ? 1 : r.next() < 0.5 ? 2 : 0));
    // 2 ** 40: too large for finish's number encoding, so its comparison sorts
    for (const [maxPoints, cuts] of [[300, [1, 999, 1000, 2500, 5000]], [64, [4999, 5000]], [6000, [3000, 5000]], [2 ** 40, [5000]]] as [number, number[]][]) {
      const s = new StratifiedSampler({ maxPoints, dim: 2, seed: 8, numStrata: 3 });
      let from = 0;
      for (const to of cuts) {
        // an add() between two addRows: the thresholds are those of the heaps, whoever filled them
        if (to === 1000) {
          s.add(Float32Array.from({ length: 2 * (to - from) }, (_, j) => from + (j >> 1)), strata.slice(from, to));
        } else {
          s.addRows(to - from, (i, dst, off) => { dst[off] = from + i; dst[off + 1] = -(from + i); }, strata.slice(from, to));
        }
        from = to;
      }
      const res = s.finish();
      // the definition, from the key stream itself
      const prng = new Prng(8);
      const keys = Array.from({ length: n }, () => prng.next());
      const q = s.quotas();
      const want: number[] = [];
      for (let st = 0; st < 3; st++) {
        const idx = [...Array(n).keys()].filter((i) => strata[i] === st).sort((a, b) => keys[a] - keys[b] || a - b);
        want.push(...(n <= maxPoints ? idx : idx.slice(0, q[st])));
      }
      want.sort((a, b) => a - b);
      assert.deepEqual(Array.from(res.seq), want, `maxPoints ${maxPoints}`);
      assert.deepEqual(Array.from(res.points.filter((_, j) => j % 2 === 0)), want);
    }
  });
  it('Prng.fillNext writes the stream of next(), and the stream goes on from there', () => {
    for (const m of [0, 1, 2, 7, 1000]) {
      const a = new Prng(123);
      const b = new Prng(123);
      a.next();
      b.next();
      const buf = new Float64Array(m + 3).fill(-1);
      a.fillNext(buf, m);
      for (let i = 0; i < m; i++) assert.equal(buf[i], b.next(), `m ${m}, value ${i}`);
      assert.equal(buf[m], -1, 'nothing written past m');
      assert.equal(a.nextUint32(), b.nextUint32());
      assert.equal(a.int(1000), b.int(1000));
    }
  });
});

describe('points.ts', () => {
  it('allFinite (a running sum) is false exactly when a value is NaN or ±Inf, wherever it is', () => {
    for (let n = 0; n < 12; n++) {
      const a = new Float32Array(n).map((_, i) => (i % 2 ? -3.4e38 : 3.4e38));
      assert.equal(allFinite(a), true, `n ${n}, huge finite values`);
      for (let at = 0; at < n; at++) {
        for (const bad of [NaN, Infinity, -Infinity]) {
          const b = a.slice();
          b[at] = bad;
          assert.equal(allFinite(b), false, `n ${n}, ${bad} at ${at}`);
        }
      }
    }
    const big = new Float32Array(1 << 20).fill(3.4e38);
    assert.equal(allFinite(big), true);
    const mixed = new Float32Array(9).fill(1);
    mixed[2] = Infinity;
    mixed[7] = -Infinity;
    assert.equal(allFinite(mixed), false, '+Inf and −Inf in two partial sums');
  });
  it('inputPatchAt writes what inputPatches does (2D and 3D, zeros outside, over stale values)', () => {
    const r = new Prng(2);
    for (const [inDims, dims, side, C0] of [
      [[16, 12], [8, 6], 5, 1],
      [[16, 16], [16, 16], 3, 3],
      [[8, 16, 16], [4, 8, 8], 3, 1],
      [[9, 7], [3, 7], 4, 2],
    ] as [number[], number[], number, number][]) {
      const image = new Float32Array(C0 * inDims.reduce((a, b) => a * b, 1)).map(() => r.normal());
      const all = inputPatches(image, C0, inDims, dims, side);
      const L = dims.reduce((a, b) => a * b, 1);
      const dst = new Float32Array(all.dim + 3).fill(42);
      for (let l = 0; l < L; l++) {
        inputPatchAt(image, C0, inDims, dims, side, l, dst, 3);
        assert.deepEqual(dst.subarray(3), all.data.subarray(l * all.dim, (l + 1) * all.dim), `location ${l}`);
      }
    }
  });

  it('inputPatchAt (2D and 3D) against a plain reference: the r×r(×r) patch centred on the cell centre, channel-last, zeros outside', () => {
    const ref = (image: Float32Array, C0: number, inDims: number[], dims: number[], side: number, l: number): number[] => {
      const rank = dims.length;
      const idx: number[] = [];
      let rest = l;
      for (let a = rank - 1; a >= 0; a--) {
        idx[a] = rest % dims[a];
        rest = Math.floor(rest / dims[a]);
      }
      const centre = idx.map((i, a) => Math.min(inDims[a] - 1, Math.floor(((i + 0.5) * inDims[a]) / dims[a])));
      const inL = inDims.reduce((a, b) => a * b, 1);
      const half = Math.floor(side / 2);
      const out: number[] = [];
      const offs = rank === 2 ? [...Array(side * side).keys()].map((p) => [Math.floor(p / side), p % side]) : [...Array(side ** 3).keys()].map((p) => [Math.floor(p / side / side), Math.floor(p / side) % side, p % side]);
      for (const off of offs) {
        const x = centre.map((c, a) => c - half + off[a]);
        const inside = x.every((v, a) => v >= 0 && v < inDims[a]);
        const flat = x.reduce((f, v, a) => f * inDims[a] + v, 0);
        for (let c = 0; c < C0; c++) out.push(inside ? image[c * inL + flat] : 0);
      }
      return out;
    };
    const r = new Prng(5);
    for (const [inDims, dims, side, C0] of [
      [[16, 12], [8, 6], 5, 1],
      [[16, 16], [16, 16], 3, 3],
      [[9, 7], [3, 7], 4, 2],
      [[5, 6], [10, 12], 2, 1],
      [[64, 64], [64, 64], 1, 1],
      [[7, 9], [4, 3], 6, 3],
      [[8, 10, 6], [4, 5, 3], 3, 2],
    ] as [number[], number[], number, number][]) {
      const image = new Float32Array(C0 * inDims.reduce((a, b) => a * b, 1)).map(() => r.normal());
      const L = dims.reduce((a, b) => a * b, 1);
      const dim = C0 * side ** dims.length;
      const dst = new Float32Array(dim + 2).fill(42);
      for (let l = 0; l < L; l++) {
        inputPatchAt(image, C0, inDims, dims, side, l, dst, 2);
        assert.deepEqual(Array.from(dst.subarray(2)), ref(image, C0, inDims, dims, side, l).map(Math.fround), `${inDims} → ${dims}, side ${side}, location ${l}`);
      }
    }
  });

  it('middle slices, planes, map sizes, area means, grey previews', () => {
    assert.equal(middleCell(8, 8), 4);
    assert.equal(middleCell(8, 4), 2);
    assert.equal(middleCell(12, 3), 1);
    assert.equal(middleCell(7, 7), 3);
    assert.equal(middleCell(4, 8), 4);
    assert.deepEqual(planeOf([4, 8, 6], 2), { dims: [8, 6], offset: 96 });
    assert.deepEqual(planeOf([8, 6], 0), { dims: [8, 6], offset: 0 });
    assert.deepEqual(mapSize([64, 64]), [64, 64]);
    assert.deepEqual(mapSize([512, 384]), [128, 96]);
    assert.deepEqual(mapSize([100, 300]), [43, 128]);
    // analysis.mapGrid (default 64, 8..128) as maxSide
    assert.deepEqual(mapSize([128, 128], 64), [64, 64]);
    assert.deepEqual(mapSize([128, 128], 128), [128, 128]);
    assert.deepEqual(mapSize([64, 64], 64), [64, 64]);
    assert.deepEqual(mapSize([512, 384], 64), [64, 48]);
    assert.deepEqual(mapSize([1024, 1024], 8), [8, 8]);
    assert.deepEqual(Array.from(areaMean([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [4, 4], [2, 2])), [3.5, 5.5, 11.5, 13.5]);
    // 2 channels, 2×2: grey = channel mean, min-max to 0..255
    const p = greyPreview(Float32Array.of(0, 1, 2, 3, 2, 3, 4, 5), 2, [2, 2]);
    assert.deepEqual(p, { dims: [2, 2], values: [0, 85, 170, 255] });
    // constant: all 0; 3D: the middle slice
    assert.deepEqual(greyPreview(new Float32Array(8).fill(3), 1, [2, 2, 2]).values, [0, 0, 0, 0]);
    assert.deepEqual(greyPreview(Float32Array.of(9, 9, 9, 9, 0, 1, 2, 4, 9, 9, 9, 9), 1, [3, 2, 2]).values, [0, 64, 128, 255]);
    // a big image is area-averaged to ≤ 128 a side
    const big = greyPreview(new Float32Array(300 * 200).map((_, i) => i % 200), 1, [300, 200]);
    assert.deepEqual(big.dims, [128, 85]);
    assert.equal(big.values.length, 128 * 85);
  });
});
