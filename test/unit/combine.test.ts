/**
 * Ours, final (src/engine/shift/combine.ts, METHOD.md §5): the de-shrinking of the change from
 * the unshifted copy and the normalised split-conformal interval, vs their NumPy re-statement
 * in test/fixtures/shift-reference.json (`combined`, made by scripts/make_shift_references.py):
 * one case whose LOFO predictions are shrunk (k > 1) and one where they are stretched (the
 * nested error does not improve: k = 1), and the standardised distance from the anchor.
 *
 * Run: node --import tsx --test test/unit/combine.test.ts
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { anchorDistance, calibrateCombined, columnSd, deshrinkFactor, estimateCombined, K_MAX, sigmaOf } from '../../src/engine/shift/combine';
import { grade } from '../../src/engine/shift/predictor';
import { agreementTracker } from '../helpers';

const REF = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'shift-reference.json'), 'utf8')).combined;
const { assertClose } = agreementTracker();

describe('combine: de-shrinking and the normalised conformal interval vs NumPy', () => {
  for (const [n, c] of (REF.cases as any[]).entries()) {
    it(`case ${n}: k, q, the nested LOFO predictions, their MAE and slope, and the estimates`, () => {
      const rows = c.pred.map((p: number, i: number) => ({ pred: p, truth: c.truth[i], group: c.groups[i], dist: c.dist[i] }));
      const cal = calibrateCombined(rows, c.y0, [0, 1]);
      assertClose(cal.k, c.k, 1e-12, 'k');
      assertClose(cal.q, c.q, 1e-12, 'q');
      c.lofo.forEach((v: number, i: number) => assertClose(cal.lofo[i], v, 1e-12, `lofo ${i}`));
      assertClose(cal.mae, c.mae, 1e-12, 'mae');
      assertClose(cal.slope, c.slope, 1e-9, 'slope');
      c.new.m.forEach((m: number, i: number) => {
        const e = estimateCombined(cal, m, c.new.d[i], c.new.ext[i], [0, 1]);
        assertClose(e.value, c.new.value[i], 1e-12, `value ${i}`);
        assertClose(e.low, c.new.low[i], 1e-12, `low ${i}`);
        assertClose(e.high, c.new.high[i], 1e-12, `high ${i}`);
        assert.equal(e.grade, grade(e.low, e.high));
        assert.equal(e.outside, c.new.ext[i] > 0);
      });
    });
  }
  it('the fixture has one shrunk case (1 < k < K_MAX) and one where the stretch does not earn its place (k = 1)', () => {
    assert.ok(REF.cases[0].k > 1 && REF.cases[0].k < K_MAX && REF.cases[1].k === 1);
  });
  it('the unshifted copy itself (m = y₀, d = 0): exactly y₀, with the narrowest interval q·σ(0)', () => {
    const c = REF.cases[0];
    const cal = calibrateCombined(c.pred.map((p: number, i: number) => ({ pred: p, truth: c.truth[i], group: c.groups[i], dist: c.dist[i] })), c.y0, [0, 1]);
    const e = estimateCombined(cal, c.y0, 0, 0, [0, 1]);
    assert.equal(e.value, c.y0);
    assertClose(e.high - e.value, cal.q * sigmaOf(0), 1e-12, 'half-width at the anchor');
  });
  it('deshrinkFactor: clamped to [1, K_MAX]; 1 without a usable row', () => {
    assert.equal(deshrinkFactor([0.7, 0.6], [0.4, 0.2], 0.8), K_MAX);
    assert.equal(deshrinkFactor([0.4, 0.2], [0.7, 0.6], 0.8), 1);
    assert.equal(deshrinkFactor([0.8], [0.5], 0.8), 1);
    assert.equal(deshrinkFactor([], [], 0.8), 1);
  });
  it('anchorDistance over the columns with sd > 0 (columnSd drops a constant column)', () => {
    const d = REF.distance;
    const sd = columnSd(d.X);
    d.sd.forEach((v: number, j: number) => assertClose(sd[j], v, 1e-12, `sd ${j}`));
    assertClose(anchorDistance(d.x, d.X[0], sd), d.expected, 1e-12, 'distance');
    assert.equal(anchorDistance([1, 2], [1, 2], [0, 0]), 0);
  });
});
