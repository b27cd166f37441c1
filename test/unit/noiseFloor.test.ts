/**
 * The sampling-noise floor of ours (METHOD.md §5 "Sampling noise"; withoutLabels.ts
 * `noiseVariance`, `noiseFloor`, sweep.ts `halfPartitions`): s from the halvings and the shrunk
 * estimates vs their NumPy re-statement in test/fixtures/shift-reference.json (`noiseFloor`, made
 * by scripts/make_shift_references.py), and the halvings' partitions.
 *
 * Run: node --import tsx --test test/unit/noiseFloor.test.ts
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { noiseFloor, noiseVariance } from '../../src/engine/shift/withoutLabels';
import { grade } from '../../src/engine/shift/predictor';
import { halfPartitions } from '../../src/engine/pipeline/sweep';
import { agreementTracker } from '../helpers';

const REF = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'shift-reference.json'), 'utf8')).noiseFloor;
const { assertClose } = agreementTracker();

describe('noise floor vs NumPy', () => {
  it('s: the mean of (ŷ_a − ŷ_b)² / (1/n_a + 1/n_b) over the halvings (one of them uneven)', () => {
    assertClose(noiseVariance(REF.halves), REF.s1, 1e-12, 's');
    assert.ok(Number.isNaN(noiseVariance([])));
  });
  it('per split: τ, the shrink factor, the shrunk value and the widened, clipped interval', () => {
    const sp = REF.splits;
    const ex = REF.expected;
    sp.value.forEach((v: number, i: number) => {
      const r = noiseFloor({ value: v, low: sp.low[i], high: sp.high[i], grade: grade(sp.low[i], sp.high[i]), outside: i === 4 }, REF.y0, REF.s1, sp.m[i], REF.n, [0, 1]);
      assertClose(r.sd, ex.sd[i], 1e-12, `sd ${i}`);
      assertClose(r.shrink, ex.shrink[i], 1e-12, `shrink ${i}`);
      assertClose(r.estimate.value, ex.value[i], 1e-12, `value ${i}`);
      assertClose(r.estimate.low, ex.low[i], 1e-12, `low ${i}`);
      assertClose(r.estimate.high, ex.high[i], 1e-12, `high ${i}`);
      assert.equal(r.estimate.grade, grade(r.estimate.low, r.estimate.high));
      assert.equal(r.estimate.outside, i === 4, 'outside is kept');
    });
  });
  it('the fixture covers: a split at y₀ and changes within the noise (value y₀ exactly), partial and near-full shrinking, a clipped value', () => {
    const ex = REF.expected;
    assert.deepEqual(ex.value.slice(0, 3), [REF.y0, REF.y0, REF.y0]);
    assert.ok(ex.shrink.some((w: number) => w > 0.5 && w < 0.8));
    assert.ok(ex.shrink.some((w: number) => w > 0.99));
    assert.ok(ex.value.includes(1));
  });
  it('the interval is never narrower than before on either side (before clipping), and a larger τ shrinks more', () => {
    const e = { value: 0.7, low: 0.6, high: 0.75, grade: grade(0.6, 0.75), outside: false };
    const a = noiseFloor(e, 0.8, 0.01, 24, 32, [0, 1]);
    const b = noiseFloor(e, 0.8, 0.04, 24, 32, [0, 1]);
    assert.ok(a.estimate.value - a.estimate.low >= 0.1 - 1e-12 && a.estimate.high - a.estimate.value >= 0.05 - 1e-12);
    assert.ok(b.shrink < a.shrink && b.estimate.value > a.estimate.value);
  });
});

describe('halfPartitions', () => {
  it('each halving splits 0..n−1 into two disjoint halves of ⌊n/2⌋ and ⌈n/2⌉, sorted; seeded; the halvings differ', () => {
    for (const n of [4, 5, 16, 33]) {
      const p = halfPartitions(n, 4, 7);
      assert.equal(p.length, 4);
      for (const [a, b] of p) {
        assert.equal(a.length, Math.floor(n / 2));
        assert.equal(b.length, Math.ceil(n / 2));
        assert.deepEqual([...a, ...b].sort((x, y) => x - y), Array.from({ length: n }, (_, i) => i));
        assert.deepEqual(a, a.slice().sort((x, y) => x - y));
        assert.deepEqual(b, b.slice().sort((x, y) => x - y));
      }
      assert.deepEqual(halfPartitions(n, 4, 7), p, 'the same seed, the same halvings');
      if (n >= 16) assert.ok(new Set(p.map(([a]) => a.join(','))).size > 1, 'the halvings differ');
    }
    assert.notDeepEqual(halfPartitions(16, 1, 1), halfPartitions(16, 1, 2), 'another seed, another halving');
  });
});
