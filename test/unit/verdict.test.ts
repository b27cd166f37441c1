/**
 * The verdict (src/engine/verdict.ts, CONTRACT.md §3 `verdict`) from small Results
 * (test/builders.ts): "cannot tell" from a wide interval, the engine's grade and image list
 * when it gives them, a drop against the reference, the foreground share, the layers that
 * moved (both directions), and the labelled generalization gap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Estimate, Results } from '../../src/engine/types';
import { CANNOT_TELL_WIDTH, computeVerdict, diceCeiling, readPrediction, withVerdict } from '../../src/engine/verdict';
import { results, shiftCopy, split, tapMetrics, uTaps, withoutLabelsSection } from '../builders';

const taps = uTaps();

function withEstimate(est: Estimate & Record<string, unknown>, extra: Record<string, unknown> = {}, fs: (i: number) => number = () => 1): Results {
  const base = results({
    taps,
    splits: [split('train', { performance: { dice: 0.9 } }), split('test', { performance: { dice: 0.88 } }), split('siteB', { labeled: false, images: 24 })],
    value: (s, _t, i) => tapMetrics(s.labeled ? {} : { db: null, featureShift: fs(i) }),
  });
  base.performanceWithoutLabels = withoutLabelsSection({
    taps,
    shifts: [shiftCopy('none', 0, 0.88), shiftCopy('noise', 0.1, 0.7)],
    estimates: { siteB: { output: { maxProbability: 0.99, entropy: 0.01, foreground: 0.03 }, features: {}, predicted: { features: est, maxProbability: null, entropy: null }, ...extra } },
  });
  return base;
}

test('an interval wider than CANNOT_TELL_WIDTH says "cannot tell" with only the range (no point value that looks precise) and the reference', () => {
  const v = computeVerdict(withEstimate({ value: 0.605, low: 0.241, high: 0.97 }));
  const u = v.unlabeled[0];
  assert.equal(u.split, 'siteB');
  assert.equal(u.grade, 'cannot tell');
  assert.equal(u.expect, 'cannot tell');
  assert.match(u.sentence, /^siteB: cannot tell whether Dice drops/);
  assert.equal(u.sentence, 'siteB: cannot tell whether Dice drops — it could be anywhere from 0.24 to 0.97 (0.88 measured on test).');
  assert.doesNotMatch(u.sentence, /0\.6/, 'the point value is not printed');
  assert.match(u.sentence, /0\.88 measured on test/);
  assert.deepEqual(u.reference, { split: 'test', value: 0.88 });
  assert.equal(u.action.kind, 'label');
  assert.match(u.action.sentence, /^Label 10 of siteB's 24 images/);
});

test('the grade is derived from the width with the one constant; the engine\'s grade (grade or reliability) wins', () => {
  const w = CANNOT_TELL_WIDTH;
  assert.equal(readPrediction(withEstimate({ value: 0.5, low: 0.5 - w / 2 - 0.01, high: 0.5 + w / 2 }).performanceWithoutLabels, 'siteB').grade, 'cannot tell');
  assert.equal(readPrediction(withEstimate({ value: 0.5, low: 0.4, high: 0.6 }).performanceWithoutLabels, 'siteB').grade, 'fair');
  assert.equal(readPrediction(withEstimate({ value: 0.5, low: 0.45, high: 0.55 }).performanceWithoutLabels, 'siteB').grade, 'good');
  const given = readPrediction(withEstimate({ value: 0.5, low: 0.45, high: 0.55, grade: 'cannot tell' }).performanceWithoutLabels, 'siteB');
  assert.equal(given.grade, 'cannot tell');
  assert.equal(given.gradeFrom, 'engine');
  assert.equal(readPrediction(withEstimate({ value: 0.5, low: 0.3, high: 0.7, reliability: 'fair' }).performanceWithoutLabels, 'siteB').grade, 'fair');
});

test('a narrow estimate below the reference is a drop; the engine\'s worst-first images become the action', () => {
  const perImage = ['case7', 'case2', 'case9'].map((id) => ({ id, file: `${id}.png`, value: 0.3, low: 0.2, high: 0.4 }));
  const v = computeVerdict(withEstimate({ value: 0.7, low: 0.65, high: 0.75 }, { perImage, casesToLabel: 'cases-to-label-siteB.csv' }));
  const u = v.unlabeled[0];
  assert.equal(u.expect, 'drop');
  assert.equal(u.grade, 'good');
  assert.equal(u.sentence, 'siteB: expected Dice 0.70 [0.65, 0.75] vs 0.88 measured on test — a drop of about 0.18 (reliability: good).');
  assert.deepEqual(u.action.images, ['case7', 'case2', 'case9']);
  assert.match(u.action.sentence, /the 3 images listed under Without labels \(worst predicted first, also in cases-to-label-siteB\.csv\)/);
});

test('the foreground share against the reference\'s unshifted copy is named with the class', () => {
  const r = withEstimate({ value: 0.9, low: 0.85, high: 0.95 });
  r.performanceWithoutLabels!.shifts[0].output!.foreground = 0.064;
  const u = computeVerdict(r).unlabeled[0];
  assert.deepEqual(u.foreground, { split: 0.03, reference: 0.064, referenceSplit: 'test' });
  assert.equal(u.foregroundSentence, "The model marks 3.0 % of siteB's pixels as lesion vs 6.4 % on test: it finds less than half as much lesion.");
  assert.equal(u.expect, 'same');
  assert.equal(u.action.kind, 'check');
});

test('a foreground share far off the reference\'s: the Dice ceiling if the labelled share held, as a condition; none when the shares agree', () => {
  const r = withEstimate({ value: 0.87, low: 0.65, high: 1 });
  r.performanceWithoutLabels!.shifts[0].output!.foreground = 0.064;
  r.splits.find((s) => s.name === 'test')!.labelForeground = 0.062;
  const u = computeVerdict(r).unlabeled[0];
  // 2·min(0.03, 0.062)/(0.03 + 0.062) = 0.06/0.092
  assert.equal(u.foreground!.ceiling!.value, Math.round((0.06 / 0.092) * 1e4) / 1e4);
  assert.equal(u.foreground!.ceiling!.labelReference, 0.062);
  assert.equal(
    u.foregroundSentence,
    "The model marks 3.0 % of siteB's pixels as lesion vs 6.4 % on test: it finds less than half as much lesion. If lesion is as common in siteB as in test's labels (6.2 % of pixels), its Dice is at most 0.65.",
  );
  // the other way: twice the reference's share caps Dice the same way (2·0.062/(0.124 + 0.062))
  r.performanceWithoutLabels!.splits.siteB.output!.foreground = 0.124;
  assert.equal(computeVerdict(r).unlabeled[0].foreground!.ceiling!.value, Math.round((0.124 / 0.186) * 1e4) / 1e4);
  assert.ok(Math.abs(diceCeiling(0.124, 0.062) - 0.124 / 0.186) < 1e-15);
  // shares within the usual factor: no ceiling, no extra sentence
  r.performanceWithoutLabels!.splits.siteB.output!.foreground = 0.07;
  const same = computeVerdict(r).unlabeled[0];
  assert.equal(same.foreground!.ceiling, undefined);
  assert.doesNotMatch(same.foregroundSentence!, /at most/);
  assert.equal(diceCeiling(0, 0), 1);
  assert.equal(diceCeiling(0.05, 0.05), 1);
});

test('layers moved most: outside the usual band on either side, furthest first; in-band layers are not named', () => {
  const shifts = [1, 0.12, 1.6, 1.1, 0.7];
  const u = computeVerdict(withEstimate({ value: 0.6, low: 0.2, high: 0.9 }, {}, (i) => shifts[i])).unlabeled[0];
  assert.deepEqual(u.movedMost.map((m) => [m.tap, m.direction]), [
    [taps[1].name, 'collapsed'],
    [taps[2].name, 'away'],
    [taps[4].name, 'collapsed'],
  ]);
  assert.match(u.movedSentence, /^Features moved most at t1 \(0\.12× train, features collapsed\), t2 \(1\.6× train, features far from training\) and t4/);
  const calm = computeVerdict(withEstimate({ value: 0.6, low: 0.2, high: 0.9 })).unlabeled[0];
  assert.deepEqual(calm.movedMost, []);
  assert.match(calm.movedSentence, /in distribution at every layer/);
});

test('labelled splits: the gap against train and the first layer where the class separation falls behind', () => {
  const r = results({
    taps,
    splits: [split('train', { performance: { dice: 0.9 } }), split('test', { performance: { dice: 0.7 } })],
    value: (s, _t, i) => tapMetrics({ db: s.name === 'test' && i >= 2 ? 2 : 1 }),
  });
  const l = computeVerdict(r).labeled[0];
  assert.equal(l.split, 'test');
  assert.ok(Math.abs(l.gap! - 0.2) < 1e-12);
  assert.equal(l.sentence, 'test: Dice 0.7 vs 0.9 on train — a generalization gap of 0.2.');
  assert.equal(l.opensAt?.tap, taps[2].name);
  assert.equal(l.whereSentence, "Class separation first falls behind train's at t2 (bottleneck): Davies–Bouldin 2 vs 1 on train.");
  // no sweep: the unlabelled part says why there is no estimate
  assert.deepEqual(computeVerdict(r).unlabeled, []);
});

test('no sweep: the unlabelled split says why, and asks for labels; withVerdict adds one only where missing', () => {
  const r = results();
  const v = computeVerdict(r).unlabeled[0];
  assert.equal(v.expect, 'unknown');
  assert.match(v.sentence, /the shift sweep did not run/);
  assert.equal(v.action.kind, 'label');
  assert.ok(withVerdict(r).verdict);
  const own = { ...r, verdict: { unlabeled: [], labeled: [] } };
  assert.equal(withVerdict(own), own);
});

test('calibrating (partial results before the sweep): the unlabelled split waits for the sweep instead of saying it did not run; the final verdict has no mark', () => {
  const r = results();
  const v = computeVerdict(r, { calibrating: true });
  assert.equal(v.calibrating, true);
  const u = v.unlabeled[0];
  assert.equal(u.expect, 'unknown');
  assert.equal(u.estimate, null);
  assert.match(u.sentence, /^siteB: calibrating… the predicted Dice comes when the shift sweep is done/);
  assert.doesNotMatch(u.sentence, /did not run/);
  assert.equal(u.action.kind, 'none');
  assert.match(u.action.sentence, /^Wait for the shift sweep/);
  assert.deepEqual(v.labeled, computeVerdict(r).labeled, 'the labelled splits are measured already');
  assert.equal(computeVerdict(r).calibrating, undefined);
  // once the sweep's section is there, there is nothing left to wait for
  assert.equal(computeVerdict(withEstimate({ value: 0.7, low: 0.65, high: 0.75 }), { calibrating: true }).calibrating, undefined);
});

test('within the sampling noise (shrink 0): "about the same", and why; a partly shrunk estimate keeps the plain wording', () => {
  const within = computeVerdict(withEstimate({ value: 0.88, low: 0.8, high: 0.96, grade: 'fair' }, { samplingNoise: { sd: 0.03, shrink: 0, unshrunk: 0.86 } })).unlabeled[0];
  assert.equal(within.expect, 'same');
  assert.equal(within.sentence, "siteB: expected Dice 0.88 [0.80, 0.96] vs 0.88 measured on test — about the same: its features differ from test's by no more than the sampling noise (reliability: fair).");
  const partly = computeVerdict(withEstimate({ value: 0.87, low: 0.8, high: 0.95, grade: 'fair' }, { samplingNoise: { sd: 0.03, shrink: 0.5, unshrunk: 0.86 } })).unlabeled[0];
  assert.equal(partly.sentence, 'siteB: expected Dice 0.87 [0.80, 0.95] vs 0.88 measured on test — about the same (reliability: fair).');
});
