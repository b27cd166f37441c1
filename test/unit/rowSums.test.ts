/**
 * k-means' centre sums (src/engine/metrics/rowSums.ts): the WebAssembly pass gives the
 * JavaScript loop's sums bit for bit (same additions, same order per sum), whatever the
 * dimension (odd, even, 1), the labels and the values' magnitudes; and it is the route taken
 * on this Node.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rowSummer, sumRowsJs } from '../../src/engine/metrics/rowSums';
import { Prng } from '../../src/engine/metrics/prng';

describe('rowSummer', () => {
  it('is available here (WebAssembly SIMD in Node 20), and null when the JavaScript loop is asked for', () => {
    assert.ok(rowSummer(new Float32Array(6), 3, 2, 2), 'the WebAssembly route');
    assert.equal(rowSummer(new Float32Array(6), 3, 2, 2, 'js'), null);
  });

  it('equals the JavaScript loop bit for bit', () => {
    const prng = new Prng(7);
    for (const [n, dim, k] of [
      [1, 1, 1],
      [5, 1, 2],
      [17, 2, 2],
      [33, 3, 3],
      [200, 7, 2],
      [513, 48, 5],
      [1000, 193, 2],
      [64, 768, 3],
    ]) {
      const x = new Float32Array(n * dim);
      // magnitudes from 1e-30 to 1e30 and both signs, so that the float64 sums round
      for (let i = 0; i < x.length; i++) x[i] = (prng.next() - 0.3) * 10 ** Math.floor(prng.next() * 60 - 30);
      const labels = new Int32Array(n);
      for (let i = 0; i < n; i++) labels[i] = Math.floor(prng.next() * k);
      const want = new Float64Array(k * dim).fill(99);
      sumRowsJs(x, n, dim, labels, want);
      const summer = rowSummer(x, n, dim, k)!;
      // twice, with other labels in between: the pass zeroes its sums and reads the labels it is given
      for (const round of [0, 1]) {
        const got = new Float64Array(k * dim).fill(-5);
        if (round === 1) summer.sum(new Int32Array(n), new Float64Array(k * dim));
        summer.sum(labels, got);
        for (let j = 0; j < want.length; j++) {
          assert.ok(Object.is(got[j], want[j]), `n ${n} dim ${dim} k ${k}: sum ${j} is ${got[j]}, the loop's ${want[j]}`);
        }
      }
      // the rounding is real: summing in another order gives other bits somewhere (the test can fail)
      if (n * dim >= 200 * 7) {
        const rev = new Float64Array(k * dim);
        for (let i = n - 1; i >= 0; i--) for (let d = 0; d < dim; d++) rev[labels[i] * dim + d] += x[i * dim + d];
        assert.ok(rev.some((v, j) => !Object.is(v, want[j])), `n ${n} dim ${dim}: another order rounds differently`);
      }
    }
  });

  it('a released memory serves the next summer; overlapping summers keep their own points', () => {
    const a = Float32Array.from({ length: 40 }, (_, i) => i + 0.5);
    const b = Float32Array.from({ length: 12 }, (_, i) => -i);
    const sa = rowSummer(a, 10, 4, 2)!;
    const sb = rowSummer(b, 4, 3, 2)!; // while sa is in use: its own memory
    const ga = new Float64Array(8);
    const gb = new Float64Array(6);
    const la = Int32Array.from({ length: 10 }, (_, i) => i % 2);
    const lb = Int32Array.from([0, 0, 1, 1]);
    sa.sum(la, ga);
    sb.sum(lb, gb);
    const wa = new Float64Array(8);
    const wb = new Float64Array(6);
    sumRowsJs(a, 10, 4, la, wa);
    sumRowsJs(b, 4, 3, lb, wb);
    assert.deepEqual([...ga], [...wa]);
    assert.deepEqual([...gb], [...wb]);
    sa.release();
    assert.throws(() => sa.sum(la, ga), /used after release/);
    // the next one takes sa's memory (it held more): its points are copied in, so its sums are its own
    const sc = rowSummer(b, 4, 3, 2)!;
    const gc = new Float64Array(6);
    sc.sum(lb, gc);
    assert.deepEqual([...gc], [...wb]);
    sb.sum(lb, gb);
    assert.deepEqual([...gb], [...wb], 'sb untouched by sc');
    sb.release();
    sc.release();
  });

  it('fills only the clusters asked for when the run made fewer (k below the summer\'s K)', () => {
    const x = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const s = rowSummer(x, 3, 2, 4)!;
    const got = new Float64Array(2 * 2);
    s.sum(Int32Array.from([1, 0, 1]), got);
    assert.deepEqual([...got], [3, 4, 6, 8]);
  });
});
