/**
 * The calibrated predictors of METHOD.md §5 (src/engine/shift/predictor.ts) and their
 * assembly into `performanceWithoutLabels` (src/engine/shift/withoutLabels.ts) vs reference
 * values from NumPy / SciPy / scikit-learn (test/fixtures/shift-reference.json, made by
 * scripts/make_shift_references.py):
 *
 * - `quantile` vs numpy.quantile; `fitLinear` vs LinearRegression; `fitRidge` vs
 *   StandardScaler + Ridge(alpha) (n > p, n < p, a constant column);
 * - `fitRidgeSelected` and `calibrate` vs the same pipeline with α chosen by the pooled MAE of
 *   LeaveOneGroupOut cross_val_predict (ties → larger α), nested inside an outer LOGO
 *   cross_val_predict; clipped LOGO predictions, interval = numpy.quantile(|r|, 0.9);
 * - `assemble` on synthetic measures: indicativeness = scipy.stats.spearmanr, the LOFO
 *   predictions and the unlabelled estimates of the three predictors, a column with a null
 *   dropped, a split missing a feature refitted without it. `assemble` rounds its output
 *   (4 digits), so there the check is "equals the reference rounded the same way".
 *
 * Run: node --import tsx --test test/unit/predictor.test.ts
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ALPHAS, INTERVAL_QUANTILE, calibrate, estimate, fitLinear, fitRidge, fitRidgeSelected, predict, quantile, type Model } from '../../src/engine/shift/predictor';
import { assemble, type AssembleArgs, type CopyMeasure } from '../../src/engine/shift/withoutLabels';
import { LABEL_FREE_METRICS, PREDICTORS, type LabelFreeMetrics, type ShiftFamily } from '../../src/engine/types';
import { agreementTracker } from '../helpers';

const REF = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'shift-reference.json'), 'utf8'));
const P = REF.predictor;

const { agreement, note, rel, assertClose } = agreementTracker();
/** Element-wise, each error relative to max(|expected_i|, 1e-3 · max|expected|). */
function assertArrayClose(actual: readonly number[], expected: readonly number[], tol: number, what: string, key: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const scale = Math.max(...expected.map(Math.abs));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Number.isFinite(actual[i]), `${what}[${i}] is ${actual[i]}`);
    const d = Math.abs(actual[i] - expected[i]);
    const e = d === 0 ? 0 : d / Math.max(Math.abs(expected[i]), 1e-3 * scale, 1e-300);
    if (e > worst) {
      worst = e;
      at = i;
    }
  }
  note(key, worst);
  assert.ok(worst <= tol, `${what}[${at}]: ${actual[at]} vs ${expected[at]} (relative error ${worst.toExponential(2)} > ${tol})`);
}
/**
 * `actual` is `expected` rounded to `digits` as assemble does (Math.round(v·10^d)/10^d); when
 * the reference sits within 1e-7 of a rounding boundary either neighbour is accepted.
 */
function assertRounded(actual: number | null, expected: number, digits: number, what: string, key: string): void {
  assert.ok(actual !== null && Number.isFinite(actual), `${what}: ${actual}`);
  const f = 10 ** digits;
  note(key, Math.abs(actual - expected) * f);
  const r = Math.round(expected * f) / f;
  if (actual === r) return;
  const frac = expected * f - Math.floor(expected * f);
  assert.ok(Math.abs(frac - 0.5) < 1e-7 && Math.abs(actual - expected) <= 0.5 / f + 1e-12, `${what}: ${actual}, expected ${expected} rounded to ${digits} digits = ${r}`);
}

after(() => {
  const lines = Object.entries(agreement).map(([k, v]) => `  ${k}: ${v.toExponential(2)}`);
  console.log(`\nagreement with the references (max relative error; assemble: max |Δ| in units of the last rounded digit, ≤ 0.5):\n${lines.join('\n')}`);
});

function predictions(m: Model, X: number[][]): number[] {
  return X.map((x) => predict(m, x));
}

// ───────────── quantile, fitLinear, fitRidge ─────────────

describe('quantile vs numpy.quantile (linear)', () => {
  for (const [i, c] of P.quantile.entries()) {
    it(`case ${i}: n = ${c.values.length}`, () => {
      const before = c.values.slice();
      c.qs.forEach((q: number, j: number) => assertClose(quantile(c.values, q), c.expected[j], 1e-12, `q=${q}`, 'quantile'));
      assert.deepEqual(c.values, before, 'the input is not sorted in place');
    });
  }
  it('empty → NaN', () => assert.ok(Number.isNaN(quantile([], 0.5))));
});

describe('fitLinear vs sklearn LinearRegression (first column only)', () => {
  for (const c of P.linear) {
    it(c.name, () => {
      const m = fitLinear(c.X, c.y);
      assert.equal(m.kind, 'linear');
      assert.equal(m.coef.length, 1);
      if (c.coef === 0) assert.equal(m.coef[0], 0);
      else assertClose(m.coef[0], c.coef, 1e-9, 'slope', 'fitLinear coef');
      assertClose(m.intercept, c.intercept, 1e-9, 'intercept', 'fitLinear intercept');
      assertArrayClose(predictions(m, c.Xnew), c.predictions, 1e-9, `${c.name} predictions`, 'fitLinear predictions');
    });
  }
});

describe('fitRidge(α) vs sklearn StandardScaler + Ridge(alpha)', () => {
  for (const c of P.ridge) {
    it(`${c.name}: n=${c.X.length}, p=${c.X[0].length}, α=${c.alpha}`, () => {
      const m = fitRidge(c.X, c.y, c.alpha);
      assert.equal(m.kind, 'ridge');
      assert.equal(m.alpha, c.alpha);
      assertArrayClose(m.coef, c.coef, 1e-9, `${c.name} coef`, 'fitRidge coef');
      assertClose(m.intercept, c.intercept, 1e-9, `${c.name} intercept`, 'fitRidge intercept');
      assertArrayClose(predictions(m, c.Xnew), c.predictions, 1e-9, `${c.name} predictions`, 'fitRidge predictions');
      c.coef.forEach((v: number, j: number) => {
        if (v === 0) assert.equal(m.coef[j], 0, `constant column ${j} has coefficient 0`);
      });
    });
  }
  it('the fixture covers n < p, n > p and a constant column', () => {
    assert.ok(P.ridge.some((c: any) => c.X.length < c.X[0].length));
    assert.ok(P.ridge.some((c: any) => c.X.length > c.X[0].length));
    assert.ok(P.ridge.some((c: any) => c.coef.includes(0)));
  });
});

// ───────────── α selection and calibration ─────────────

describe('fitRidgeSelected vs nested LeaveOneGroupOut α selection (pooled MAE, ties → larger α)', () => {
  it('ALPHAS and the interval quantile are the ones the reference used', () => {
    assert.deepEqual([...ALPHAS], [0.01, 0.1, 1, 10, 100]);
    assert.equal(INTERVAL_QUANTILE, 0.9);
  });
  for (const c of P.ridgeSelected) {
    it(`${c.name}: α = ${c.alpha}`, () => {
      const m = fitRidgeSelected(c.X, c.y, c.groups);
      assert.equal(m.alpha, c.alpha, `α chosen (inner MAEs ${c.innerMae.map((v: number) => v.toPrecision(6)).join(', ')})`);
      assertArrayClose(m.coef, c.coef, 1e-9, `${c.name} coef`, 'fitRidgeSelected coef');
      assertClose(m.intercept, c.intercept, 1e-9, `${c.name} intercept`, 'fitRidgeSelected intercept');
      assertArrayClose(predictions(m, c.Xnew), c.predictions, 1e-9, `${c.name} predictions`, 'fitRidgeSelected predictions');
    });
  }
  it('the fixture picks different α (the selection is exercised, not a constant)', () => {
    assert.ok(new Set(P.ridgeSelected.map((c: any) => c.alpha)).size >= 3);
  });
  it('one group only: no selection possible → the largest α', () => {
    const c = P.ridgeSelected[0];
    assert.equal(fitRidgeSelected(c.X, c.y, c.groups.map(() => 'one')).alpha, 100);
  });
});

describe('calibrate vs sklearn cross_val_predict(LeaveOneGroupOut) with nested α; interval = quantile(|r|, 0.9)', () => {
  for (const c of P.calibrate) {
    it(`${c.name} (${c.kind}, bounds [${c.bounds.map((v: number) => v.toFixed(3)).join(', ')}], ${c.clippedRows} LOGO predictions clipped)`, () => {
      const cal = calibrate(c.kind, c.X, c.y, c.groups, c.bounds);
      assert.equal(cal.model.kind, c.kind);
      if (c.kind === 'ridge') assert.equal(cal.model.alpha, c.model.alpha, 'α of the fit on every row');
      assertArrayClose(cal.model.coef, c.model.coef, 1e-9, 'coef', `calibrate ${c.kind} coef`);
      assertClose(cal.model.intercept, c.model.intercept, 1e-9, 'intercept', `calibrate ${c.kind} intercept`);
      assertArrayClose(cal.logo, c.logo, 1e-9, 'LOGO predictions', `calibrate ${c.kind} LOGO predictions`);
      for (let i = 0; i < c.logo.length; i++) assert.ok(cal.logo[i] >= c.bounds[0] && cal.logo[i] <= c.bounds[1]);
      assertClose(cal.below, c.halfWidth, 1e-9, 'interval below', `calibrate ${c.kind} interval`);
      assertClose(cal.above, c.halfWidth, 1e-9, 'interval above', `calibrate ${c.kind} interval`);
      assertClose(cal.logoMae, c.logoMae, 1e-9, 'LOGO MAE', `calibrate ${c.kind} LOGO MAE`);
      c.new.X.forEach((x: number[], j: number) => {
        const e = estimate(cal, x, c.bounds);
        assertClose(e.value, c.new.value[j], 1e-9, `estimate ${j} value`, `estimate ${c.kind}`);
        assertClose(e.low, c.new.low[j], 1e-9, `estimate ${j} low`, `estimate ${c.kind}`);
        assertClose(e.high, c.new.high[j], 1e-9, `estimate ${j} high`, `estimate ${c.kind}`);
        assert.ok(e.low <= e.value && e.value <= e.high);
      });
    });
  }
  it('the tight-bounds case really clips LOGO predictions (unclipped ones lie outside the bounds)', () => {
    const c = P.calibrate.find((x: any) => x.name === 'ridge-tight-bounds');
    const outside = c.logoUnclipped.filter((v: number) => v < c.bounds[0] || v > c.bounds[1]).length;
    assert.equal(outside, c.clippedRows);
    assert.ok(outside > 0);
  });
});

// ───────────── assemble ─────────────

describe('assemble on synthetic measures vs spearmanr and the sklearn pipeline', () => {
  const A = REF.assemble;
  const E = A.expected;
  const toFeatures = (f: any): { [tap: string]: LabelFreeMetrics } => {
    const out: { [tap: string]: LabelFreeMetrics } = {};
    for (const t of Object.keys(f)) {
      out[t] = {} as LabelFreeMetrics;
      for (const m of LABEL_FREE_METRICS) out[t][m] = f[t][m];
    }
    return out;
  };
  const argsFor = (copies: any[]): AssembleArgs => ({
    metric: A.metric,
    bounds: A.bounds,
    taps: A.taps,
    calibration: { splits: ['test'], images: 8, heldOutOfTrain: false },
    settings: { maxPoints: 1024, kmeansInits: 3, families: ['noise', 'blur', 'gamma', 'contrast', 'scale'], strengths: {} },
    copies: copies.map((c: any) => ({
      shift: { family: c.family, strength: c.strength },
      measure: { performance: c.performance, images: c.images, output: c.output, features: toFeatures(c.features) } as CopyMeasure,
    })),
    splits: A.splits.map((s: any) => ({ name: s.name, measure: { performance: null, images: s.images, output: s.output, features: toFeatures(s.features) } })),
    timingMs: 12.3,
  });
  const res = assemble(argsFor(A.copies));

  it('shifts: one per copy, in order, with the true performance', () => {
    assert.equal(res.shifts.length, A.copies.length);
    res.shifts.forEach((s, i) => {
      assert.equal(s.family, A.copies[i].family);
      assert.equal(s.strength, A.copies[i].strength);
      assertRounded(s.performance, A.copies[i].performance, 6, `copy ${i} performance`, 'assemble performance');
    });
  });

  it('indicativeness = scipy.stats.spearmanr per tap × metric (null for a constant or incomplete one)', () => {
    let numbers = 0;
    for (const { name: tap } of A.taps) {
      for (const m of LABEL_FREE_METRICS) {
        const exp = E.indicativeness[tap][m];
        const got = res.indicativeness[tap][m];
        if (exp === null) assert.equal(got, null, `${tap}.${m}`);
        else {
          assertRounded(got, exp, 4, `${tap}.${m}`, 'assemble indicativeness');
          numbers++;
        }
      }
    }
    assert.equal(res.indicativeness.dec1.roughness, null, 'constant on every copy');
    assert.equal(res.indicativeness.bottleneck.knnDice, null, 'null on copy 7');
    assert.equal(res.indicativeness.enc1.featureShiftFg, null, 'null on copy 9');
    assert.equal(numbers, 17);
  });

  it('inputs: per stage the mean of knnDice, log featureShift, log featureShiftFg over its taps, and the log foreground share; a stage column null on some copy is dropped', () => {
    assert.deepEqual(res.predictors.features?.inputs, E.columns);
    assert.equal(E.columns.length, 9);
    assert.ok(!E.columns.includes('bottleneck: knnDice (mean of 1 tap)'), 'the bottleneck has one tap, null on copy 7');
    assert.ok(E.columns.includes('encoder: log featureShiftFg (mean of 2 taps)'), 'enc1 null on copy 9: the mean of enc2 alone there');
    assert.ok(E.columns.includes('output: log foreground share'));
  });

  for (const p of PREDICTORS) {
    it(`${p}: LOFO predictions, their MAE and Spearman, and the interval equal the sklearn pipeline's`, () => {
      const s = res.predictors[p];
      const ep = E.predictors[p];
      assert.ok(s, `${p} fitted`);
      res.shifts.forEach((sh, i) => assertRounded(sh.lofo[p], ep.logo[i], 4, `copy ${i} lofo ${p}`, 'assemble lofo'));
      assertRounded(s.lofoMae, ep.lofoMae, 4, 'lofoMae', 'assemble lofoMae');
      assertRounded(s.lofoSpearman, ep.lofoSpearman, 4, 'lofoSpearman', 'assemble lofoSpearman');
      assert.ok(s.interval);
      assertRounded(s.interval.below, ep.interval, 4, 'interval below', 'assemble interval');
      assertRounded(s.interval.above, ep.interval, 4, 'interval above', 'assemble interval');
    });
  }

  for (const split of A.splits) {
    it(`split ${split.name}: estimates = the sklearn fits on all copies, value within [low, high]`, () => {
      const got = res.splits[split.name];
      assert.ok(got);
      const exp = E.estimates[split.name];
      for (const p of PREDICTORS) {
        const e = exp[p];
        const g = got.predicted[p];
        if (e === null) {
          assert.equal(g, null, `${p}: no estimate`);
          continue;
        }
        assert.ok(g, `${p}: an estimate`);
        assertRounded(g.value, e.value, 4, `${p} value`, 'assemble estimate');
        assertRounded(g.low, e.low, 4, `${p} low`, 'assemble estimate');
        assertRounded(g.high, e.high, 4, `${p} high`, 'assemble estimate');
        assert.ok(g.low <= g.value && g.value <= g.high, `${p}: ${g.low} ≤ ${g.value} ≤ ${g.high}`);
      }
    });
  }

  it('a split missing a feature gets a refit without it (its own interval), and no baselines without output', () => {
    const exp = E.estimates.partial;
    assert.deepEqual(exp.features.columns, E.columns.filter((c: string) => c !== 'bottleneck: log featureShift (mean of 1 tap)' && c !== 'output: log foreground share'));
    assert.ok(Math.abs(exp.features.halfWidth - E.predictors.features.interval) > 1e-3, 'the refit has another interval (so the test tells the two apart)');
    const g = res.splits.partial.predicted.features!;
    assert.ok(g.low > 0 && g.high < 1, 'not clipped: high − low is twice the half-width');
    // low and high are each rounded to 4 digits: their half-difference is within 1e-4.
    assert.ok(Math.abs((g.high - g.low) / 2 - exp.features.halfWidth) <= 1e-4 + 1e-12, `refit half-width ${(g.high - g.low) / 2} vs ${exp.features.halfWidth}`);
    assert.equal(res.splits.partial.features.bottleneck.featureShift, null);
    assert.equal(res.splits.partial.predicted.maxProbability, null);
    assert.equal(res.splits.partial.predicted.entropy, null);
  });

  it('fewer than three groups: no predictors, no estimates, indicativeness still computed', () => {
    const few = assemble(argsFor(A.copies.filter((c: any) => c.family === 'none' || c.family === 'noise')));
    for (const p of PREDICTORS) {
      assert.equal(few.predictors[p], null);
      for (const s of A.splits) assert.equal(few.splits[s.name].predicted[p], null);
      few.shifts.forEach((sh) => assert.equal(sh.lofo[p], null));
    }
    assert.equal(typeof few.indicativeness.bottleneck.knnConfidence, 'number');
  });

  it('copies: the families of the fixture are the five (plus the unshifted copy)', () => {
    const fams = new Set(A.copies.map((c: any) => c.family as ShiftFamily | 'none'));
    assert.deepEqual([...fams], ['none', 'noise', 'blur', 'gamma', 'contrast', 'scale']);
  });
});

// ───────────── anchored ridge, conformal interval, grade (issue 10) ─────────────

import { calibrateAnchored, conformalHalfWidth, estimateGraded, fitAnchoredRidge, grade } from '../../src/engine/shift/predictor';

describe('anchored ridge and conformal intervals vs sklearn Ridge(fit_intercept=False) and NumPy', () => {
  const AN = REF.anchored;
  for (const [i, c] of AN.conformal.entries()) {
    it(`conformalHalfWidth case ${i}: the ⌈(n+1)·0.9⌉-th smallest |r| (n = ${c.values.length})`, () => {
      assertClose(conformalHalfWidth(c.values), c.expected, 1e-15, 'half-width', 'conformal');
    });
  }
  it('conformalHalfWidth: with n < 9 the rank exceeds n, so the largest residual', () => {
    assert.equal(conformalHalfWidth([0.1, 0.5, 0.2]), 0.5);
    assert.ok(Number.isNaN(conformalHalfWidth([])));
  });
  for (const [i, c] of AN.fit.entries()) {
    it(`fitAnchoredRidge case ${i}: n=${c.X.length}, p=${c.X[0].length}, α=${c.alpha} (a constant column)`, () => {
      const m = fitAnchoredRidge(c.X, c.y, c.anchor, c.alpha);
      assertArrayClose(m.coef, c.coef, 1e-9, 'coef', 'anchored coef');
      assertClose(m.intercept, c.intercept, 1e-9, 'intercept', 'anchored intercept');
      assert.equal(m.coef[1], 0, 'the constant column gets 0');
      // the anchor row is reproduced exactly, whatever α
      assertClose(predict(m, c.X[c.anchor]), c.y[c.anchor], 1e-12, 'anchor reproduced', 'anchored anchor');
    });
  }
  for (const c of AN.calibrate) {
    const cal = calibrateAnchored(c.X, c.y, c.groups, c.anchor, c.bounds);
    it('calibrateAnchored: α (slope rule), coefficients, LOFO predictions (anchor in every fit), conformal half-width, slope', () => {
      assert.equal(cal.model.alpha, c.model.alpha);
      assertArrayClose(cal.model.coef, c.model.coef, 1e-8, 'coef', 'calibrateAnchored coef');
      assertArrayClose(cal.logo, c.logo, 1e-8, 'logo', 'calibrateAnchored logo');
      assertClose(cal.below, c.halfWidth, 1e-8, 'half-width', 'calibrateAnchored q');
      assertClose(cal.logoMae, c.logoMae, 1e-8, 'logoMae', 'calibrateAnchored mae');
      assertClose(cal.lofoSlope, c.lofoSlope, 1e-8, 'slope', 'calibrateAnchored slope');
      assert.equal(cal.logo[c.anchor], c.y[c.anchor], 'the anchor row: its own value');
    });
    it('estimates: the anchor itself → its measured value; outside the calibration range → widened by Σ|β|·excess and flagged', () => {
      c.new.X.forEach((x: number[], k: number) => {
        const e = estimateGraded(cal, x, c.bounds);
        assertClose(e.value, c.new.value[k], 1e-8, `value ${k}`, 'anchored estimate');
        assertClose(e.low, c.new.low[k], 1e-8, `low ${k}`, 'anchored estimate');
        assertClose(e.high, c.new.high[k], 1e-8, `high ${k}`, 'anchored estimate');
        assert.equal(e.outside, c.new.extrapolation[k] > 0, `outside ${k}`);
        assert.equal(e.grade, grade(e.low, e.high));
      });
      assert.equal(estimateGraded(cal, c.X[c.anchor], c.bounds).value, c.y[c.anchor]);
      assert.ok(c.new.extrapolation[2] > 0 && c.new.extrapolation[1] === 0, 'the fixture has one point outside and one inside');
    });
  }
  it('grade: ≤ 0.15 good, ≤ 0.30 fair, wider: cannot tell', () => {
    assert.equal(grade(0.5, 0.6), 'good');
    assert.equal(grade(0.5, 0.65), 'good');
    assert.equal(grade(0.5, 0.7), 'fair');
    assert.equal(grade(0.4, 0.7), 'fair');
    assert.equal(grade(0.4, 0.71), 'cannot tell');
    assert.equal(grade(0, 1), 'cannot tell');
  });
});

describe('assemble: anchored on the unshifted copy', () => {
  const A = REF.assemble;
  it('a split whose inputs equal the unshifted copy\'s gets the copy\'s measured value', () => {
    const c0 = A.copies[0];
    const res = assemble({
      metric: A.metric,
      bounds: A.bounds,
      taps: A.taps,
      calibration: { splits: ['test'], images: 8, heldOutOfTrain: false },
      settings: { maxPoints: 1024, kmeansInits: 3, families: ['noise', 'blur', 'gamma', 'contrast', 'scale'], strengths: {} },
      copies: A.copies.map((c: any) => ({ shift: { family: c.family, strength: c.strength }, measure: { performance: c.performance, images: c.images, output: c.output, features: c.features } as CopyMeasure })),
      splits: [{ name: 'same', measure: { performance: null, images: 8, output: c0.output, features: c0.features } }],
      timingMs: 1,
    });
    assertRounded(res.splits.same.predicted.features!.value, A.expected.estimates._anchor.truth, 4, 'anchor', 'assemble anchor');
    assert.equal(res.predictors.features!.anchored, true);
    assert.equal(res.shifts[0].lofo.features, Math.round(c0.performance * 1e4) / 1e4);
    assert.ok(['good', 'fair', 'cannot tell'].includes(res.splits.same.predicted.features!.grade!));
    assertRounded(res.predictors.features!.lofoSlope ?? null, A.expected.predictors.features.lofoSlope, 4, 'lofoSlope', 'assemble slope');
  });
});

describe('assemble: the halves of the unshifted images (sampling noise)', () => {
  const A = REF.assemble;
  const c0 = A.copies[0];
  const base = {
    metric: A.metric,
    bounds: A.bounds as [number, number],
    taps: A.taps,
    calibration: { splits: ['test'], images: 8, heldOutOfTrain: false },
    settings: { maxPoints: 1024, kmeansInits: 3, families: ['noise', 'blur', 'gamma', 'contrast', 'scale'] as ShiftFamily[], strengths: {} },
    copies: A.copies.map((c: any) => ({ shift: { family: c.family, strength: c.strength }, measure: { performance: c.performance, images: c.images, output: c.output, features: c.features } as CopyMeasure })),
    timingMs: 1,
  };
  // A half: the unshifted copy's features moved by a seeded ±4 % (sampling noise), its own true value near y₀.
  let state = 12345;
  const jitter = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 0.08;
  const half = (): CopyMeasure => {
    const features: { [tap: string]: LabelFreeMetrics } = {};
    for (const [t, m] of Object.entries(c0.features as { [tap: string]: LabelFreeMetrics })) {
      features[t] = { ...m };
      for (const k of LABEL_FREE_METRICS) if (typeof m[k] === 'number') features[t][k] = (m[k] as number) * (1 + jitter());
    }
    return { performance: c0.performance + jitter() / 4, images: 4, output: c0.output, features };
  };
  const halves = Array.from({ length: 4 }, () => ({ a: half(), b: half() }));
  const far = A.copies.reduce((w: any, c: any) => (Math.abs(c.performance - c0.performance) > Math.abs(w.performance - c0.performance) ? c : w), c0);
  const splits = [
    { name: 'same', measure: { performance: null, images: 8, output: c0.output, features: c0.features } },
    { name: 'noisy', measure: { ...halves[0].a, performance: null, images: 8 } },
    { name: 'far', measure: { performance: null, images: 8, output: far.output, features: far.features } },
  ];
  const withHalves = assemble({ ...base, splits, halves });
  const without = assemble({ ...base, splits });

  it('samplingNoise: every halving with ours on both halves, and √s from them (noiseVariance)', () => {
    const sn = withHalves.samplingNoise!;
    assert.equal(sn.halves.length, 4);
    sn.halves.forEach((h) => assert.deepEqual(h.images, [4, 4]));
    const s = sn.halves.reduce((acc, h) => acc + (h.predicted[0] - h.predicted[1]) ** 2 / (1 / 4 + 1 / 4), 0) / 4;
    assert.ok(Math.abs(sn.perImageSd - Math.sqrt(s)) < 2e-4, `${sn.perImageSd} vs ${Math.sqrt(s)}`);
    assert.equal(without.samplingNoise, undefined, 'no halves, no samplingNoise');
  });
  it('the unshifted copy\'s own inputs: still exactly y₀, shrink 0', () => {
    assertRounded(withHalves.splits.same.predicted.features!.value, c0.performance, 4, 'anchor', 'halves anchor');
    assert.equal(withHalves.splits.same.samplingNoise!.shrink, 0);
  });
  it('a split whose inputs differ by sampling noise: nearer y₀ than without the halves (rows of the fit, then the noise floor)', () => {
    const d = (r: typeof withHalves) => Math.abs(r.splits.noisy.predicted.features!.value - c0.performance);
    assert.ok(d(withHalves) < d(without), `${d(withHalves)} vs ${d(without)}`);
    const sn = withHalves.splits.noisy.samplingNoise!;
    assert.ok(sn.shrink < 1 && sn.sd > 0);
    const want = c0.performance + sn.shrink * (sn.unshrunk - c0.performance);
    assert.ok(Math.abs(withHalves.splits.noisy.predicted.features!.value - want) < 3e-4, `${withHalves.splits.noisy.predicted.features!.value} vs ${want}`);
  });
  it('a split far from the unshifted copy keeps nearly all its change, and its interval is not narrower', () => {
    const sn = withHalves.splits.far.samplingNoise!;
    assert.ok(sn.shrink > 0.9, String(sn.shrink));
    const e = withHalves.splits.far.predicted.features!;
    assert.ok(e.low <= sn.unshrunk && e.high >= e.value);
  });
});
