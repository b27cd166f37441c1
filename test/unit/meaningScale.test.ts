/**
 * Scales with meaning (webview/scale.ts meaningScale, issue 11): feature shift diverging about
 * 1 with both ends unusual (below 1 is never "better"); 0–1 metrics on a fixed scale; "better"
 * and "worse" only where the metric table knows the direction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DIVERGING_SPAN, meaningScale } from '../../webview/scale';
import { metricSpec } from '../../src/protocol/metrics';

const spec = (k: string) => metricSpec(k)!;

test('feature shift: diverging, centred on 1, fixed span; both sides of the usual band are unusual, none is "better"', () => {
  const sc = meaningScale(spec('featureShift'), [0.12, 1, 1.59], false)!;
  assert.equal(sc.kind, 'diverging');
  assert.equal(sc.t(1), 0.5);
  assert.equal(sc.t(DIVERGING_SPAN), 1);
  assert.equal(sc.t(1 / DIVERGING_SPAN), 0);
  assert.equal(sc.tone(0.12), 'unusual-low');
  assert.equal(sc.tone(1.59), 'unusual-high');
  assert.equal(sc.tone(0.9), 'usual');
  for (const v of [0.05, 0.12, 0.5, 0.9, 1, 1.2, 2, 10]) assert.notEqual(sc.tone(v), 'better');
  assert.ok(!sc.ends.join(' ').includes('better') && !sc.ends.join(' ').includes('worse'));
  // the same value gets the same position whatever else is in the results
  assert.equal(meaningScale(spec('featureShift'), [1], false)!.t(1.59), sc.t(1.59));
  // the usual band is one flat colour
  const stops: [number, number, number][] = [[100, 0, 200], [128, 128, 128], [230, 140, 0]];
  assert.deepEqual(sc.colourAt(sc.t(0.85)!, stops), [128, 128, 128]);
  assert.deepEqual(sc.colourAt(sc.t(1.2)!, stops), [128, 128, 128]);
  assert.deepEqual(sc.colourAt(0, stops), stops[0]);
  assert.deepEqual(sc.colourAt(1, stops), stops[2]);
});

test('kNN confidence: a fixed 0–1 scale (not the spread of the values), higher = better', () => {
  const sc = meaningScale(spec('knnConfidence'), [0.94, 0.99], false)!;
  assert.equal(sc.kind, 'absolute');
  assert.deepEqual([sc.domain.min, sc.domain.max], [0, 1]);
  assert.equal(sc.tone(0.97), 'better');
  assert.equal(sc.tone(0.1), 'worse');
  assert.deepEqual(sc.ends, ['worse', 'kNN confidence', 'better']);
});

test('Davies–Bouldin: relative (range of the values) and says so; lower = better', () => {
  const sc = meaningScale(spec('db'), [0.4, 2.7], false)!;
  assert.equal(sc.kind, 'relative');
  assert.match(sc.note, /compares layers, not a verdict/);
  assert.equal(sc.tone(0.4), 'better');
  assert.equal(sc.tone(2.7), 'worse');
});

test('a metric without a direction gets no "better" or "worse"', () => {
  const sc = meaningScale(spec('foreground'), [0.03, 0.06], false)!;
  assert.equal(sc.kind, 'plain');
  assert.equal(sc.tone(0.03), 'neutral');
  assert.ok(!sc.ends.includes('better') && !sc.ends.includes('worse'));
});
