/**
 * The `objects` shift family (src/engine/shift/objects.ts, METHOD.md §5): objects grown or
 * shrunk in the mask and in the image together.
 *
 * Run: node --import tsx --test test/unit/objectsShift.test.ts
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { ballOffsets, boxSum, morphObjects } from '../../src/engine/shift/objects';
import { applyShift, shiftLabel, sweepShifts, DEFAULT_STRENGTHS } from '../../src/engine/shift/transforms';
import { ALL_SHIFT_FAMILIES, SHIFT_FAMILIES } from '../../src/engine/types';
import { Prng } from '../../src/engine/metrics';

/** A ball of label `lab` and radius r centred at c in an image of size dims. */
function ballMask(dims: number[], blobs: { c: number[]; r: number; lab?: number }[]): Int32Array {
  const L = dims.reduce((a, b) => a * b, 1);
  const m = new Int32Array(L);
  const st = dims.map((_, a) => dims.slice(a + 1).reduce((p, q) => p * q, 1));
  for (let i = 0; i < L; i++) {
    const x = dims.map((d, a) => Math.floor(i / st[a]) % d);
    for (const b of blobs) if (x.reduce((s, v, a) => s + (v - b.c[a]) ** 2, 0) <= b.r * b.r) m[i] = b.lab ?? 1;
  }
  return m;
}
/** lo ⊆ mid ⊆ hi as foreground sets. */
function assertBetween(lo: Int32Array, mid: Int32Array, hi: Int32Array, what: string): void {
  for (let i = 0; i < mid.length; i++) {
    if (lo[i] > 0) assert.ok(mid[i] > 0, `${what}: pixel ${i} should be foreground`);
    if (mid[i] > 0) assert.ok(hi[i] > 0, `${what}: pixel ${i} should be background`);
  }
}
const area = (m: Int32Array) => m.reduce((s, v) => s + (v > 0 ? 1 : 0), 0);

/** An image: background ~100, objects ~160, plus noise; one channel. */
function imageOf(mask: Int32Array, seed: number): Float32Array {
  const rng = new Prng(seed);
  return Float32Array.from(mask, (v) => (v > 0 ? 160 : 100) + 5 * rng.normal());
}

describe('objects shift: the mask', () => {
  it('ballOffsets: Euclidean ball, nearest first', () => {
    assert.equal(ballOffsets(1, 2).length, 5);
    assert.equal(ballOffsets(2, 2).length, 13);
    assert.equal(ballOffsets(1, 3).length, 7);
    assert.deepEqual(ballOffsets(2, 2)[0], [0, 0]);
  });
  it('2-D: grows and shrinks a disc by the asked radius (area of the disc of radius R ± r)', () => {
    const dims = [48, 48];
    const m = ballMask(dims, [{ c: [24, 24], r: 8 }]);
    for (const r of [1, 2, 3]) {
      // triangle inequality: disc(R) ⊆ grown ⊆ disc(R + r), disc(R − r) ⊆ shrunk ⊆ disc(R)
      assertBetween(m, morphObjects(m, dims, r), ballMask(dims, [{ c: [24, 24], r: 8 + r }]), `grown ${r}`);
      assertBetween(ballMask(dims, [{ c: [24, 24], r: 8 - r }]), morphObjects(m, dims, -r), m, `shrunk ${r}`);
      const g = area(morphObjects(m, dims, r));
      const s = area(morphObjects(m, dims, -r));
      assert.ok(Math.abs(g - Math.PI * (8 + r) ** 2) < 0.12 * Math.PI * (8 + r) ** 2, `grown ${r}: ${g}`);
      assert.ok(Math.abs(s - Math.PI * (8 - r) ** 2) < 0.2 * Math.PI * (8 - r) ** 2, `shrunk ${r}: ${s}`);
      assert.ok(g > area(m) && s < area(m));
    }
    assert.deepEqual(morphObjects(m, dims, 0), m);
  });
  it('grown pixels take the nearest object label; shrinking removes objects smaller than the ball', () => {
    const dims = [40, 40];
    const m = ballMask(dims, [{ c: [10, 10], r: 5, lab: 1 }, { c: [30, 30], r: 1, lab: 2 }]);
    const g = morphObjects(m, dims, 2);
    assert.equal(g[10 * 40 + 17], 1);
    assert.equal(g[30 * 40 + 33], 2);
    const s = morphObjects(m, dims, -2);
    assert.equal(s[30 * 40 + 30], 0, 'the small object vanished');
    assert.equal(s[10 * 40 + 10], 1);
  });
  it('3-D volumes: a ball grows and shrinks in every axis', () => {
    const dims = [20, 20, 20];
    const m = ballMask(dims, [{ c: [10, 10, 10], r: 5 }]);
    const g = morphObjects(m, dims, 2);
    const s = morphObjects(m, dims, -2);
    assertBetween(m, g, ballMask(dims, [{ c: [10, 10, 10], r: 7 }]), 'grown');
    assertBetween(ballMask(dims, [{ c: [10, 10, 10], r: 3 }]), s, m, 'shrunk');
    assert.ok(area(s) < area(m) && area(g) > area(m));
    assert.equal(g[(10 * 20 + 10) * 20 + 16], 1, 'grown along the last axis');
    assert.equal(g[(16 * 20 + 10) * 20 + 10], 1, 'grown along the first axis');
    assert.equal(s[(14 * 20 + 10) * 20 + 10], 0, 'shrunk along the first axis');
  });
  it('refuses a mask of the wrong size', () => {
    assert.throws(() => morphObjects(new Int32Array(10), [3, 3], 1), /expected 3×3/);
  });
  it('boxSum: clipped box sums', () => {
    const s = boxSum(Float64Array.from([1, 2, 3, 4]), [4], 1);
    assert.deepEqual([...s], [3, 6, 9, 7]);
    assert.deepEqual([...boxSum(new Float64Array(9).fill(1), [3, 3], 1)], [4, 6, 4, 6, 9, 6, 4, 6, 4]);
  });
});

describe('objects shift: applyShift', () => {
  const norm = { mean: [100], std: [30] };
  for (const dims of [[40, 40], [16, 16, 16]]) {
    it(`${dims.length}-D: the label returned is the morphed mask; only ring pixels change, towards the object / background level`, () => {
      const c = dims.map((d) => d / 2);
      const mask = ballMask(dims, [{ c, r: 5 }]);
      const raw = imageOf(mask, 1);
      const x = raw.map((v) => (v - 100) / 30);
      for (const s of DEFAULT_STRENGTHS.objects) {
        const y = x.slice();
        const lab = applyShift(y, 1, dims, { family: 'objects', strength: s }, norm, 9, mask)!;
        assert.deepEqual(lab, morphObjects(mask, dims, s));
        assert.equal(Math.sign(area(lab) - area(mask)), Math.sign(s));
        let ring = 0;
        for (let i = 0; i < mask.length; i++) {
          const u = y[i] * 30 + 100;
          if ((mask[i] > 0) === (lab[i] > 0)) assert.equal(y[i], x[i], `pixel ${i} outside the ring changed`);
          else {
            ring++;
            // the level moves by the object/background contrast (60), the pixel's noise stays
            const want = raw[i] + (lab[i] > 0 ? 60 : -60);
            assert.ok(Math.abs(u - want) < 6, `ring pixel ${i}: ${u} vs ${want}`);
          }
        }
        assert.ok(ring > 0);
      }
    });
  }
  it('deterministic; without a mask or an object nothing changes; channels painted alike', () => {
    const dims = [30, 30];
    const mask = ballMask(dims, [{ c: [15, 15], r: 6 }]);
    const x = new Float32Array(2 * 900);
    x.set(imageOf(mask, 2).map((v) => (v - 100) / 30));
    x.set(imageOf(mask, 3).map((v) => (v - 100) / 30), 900);
    const sh = { family: 'objects' as const, strength: 3 };
    const a = x.slice();
    const b = x.slice();
    const la = applyShift(a, 2, dims, sh, { mean: [100], std: [30] }, 1, mask);
    const lb = applyShift(b, 2, dims, sh, { mean: [100], std: [30] }, 2, mask);
    assert.deepEqual(a, b, 'no random draw: the same for any seed');
    assert.deepEqual(la, lb);
    assert.ok(a.subarray(900).some((v, i) => v !== x[900 + i]), 'second channel painted');
    const c = x.slice();
    assert.equal(applyShift(c, 2, dims, sh, { mean: [100], std: [30] }, 1, null), null);
    assert.deepEqual(c, x);
    assert.equal(applyShift(c, 2, dims, sh, { mean: [100], std: [30] }, 1, new Int32Array(900)), null);
    assert.deepEqual(c, x);
  });
  it('a mix carrying objects returns the morphed mask, and later parts see it', () => {
    const dims = [30, 30];
    const mask = ballMask(dims, [{ c: [15, 15], r: 6 }]);
    const x = imageOf(mask, 4).map((v) => (v - 100) / 30);
    const lab = applyShift(x.slice(), 1, dims, { family: 'mix', strength: 0, parts: [{ family: 'objects', strength: -1 }, { family: 'noise', strength: 0.05 }] }, { mean: [100], std: [30] }, 5, mask);
    assert.deepEqual(lab, morphObjects(mask, dims, -1));
    assert.equal(applyShift(x.slice(), 1, dims, { family: 'noise', strength: 0.05 }, { mean: [100], std: [30] }, 5, mask), null);
  });
  it('sweep: objects is available by name, after the defaults, four strengths both ways; not a default', () => {
    assert.ok(!SHIFT_FAMILIES.includes('objects'));
    assert.equal(ALL_SHIFT_FAMILIES[ALL_SHIFT_FAMILIES.length - 1], 'objects');
    const sw = sweepShifts(['objects', 'noise']);
    assert.deepEqual(sw.map((s) => s.family), ['none', 'noise', 'noise', 'noise', 'objects', 'objects', 'objects', 'objects']);
    assert.deepEqual(DEFAULT_STRENGTHS.objects, [-3, -1, 1, 3]);
    assert.equal(shiftLabel({ family: 'objects', strength: -3 }), 'objects shrunk 3 px');
    assert.equal(shiftLabel({ family: 'objects', strength: 1 }), 'objects grown 1 px');
  });
});
