/**
 * The one metric table (src/protocol/metrics.ts): complete, free of `vscode` and engine
 * imports, and in agreement with the README's "What the numbers mean" table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  explainText,
  improvement,
  LABEL_FREE_METRICS,
  METRIC_SPECS,
  metricSpec,
  needsLabelsText,
  TAP_METRIC_SPECS,
  TAP_METRICS,
} from '../../src/protocol/metrics';

const root = path.resolve(__dirname, '../..');

/** The rows of the README table under `## What the numbers mean`: metric key, needs labels, reading. */
function readmeRows(): { key: string; labels: string; reading: string }[] {
  const text = readFileSync(path.join(root, 'README.md'), 'utf8');
  const start = text.indexOf('## What the numbers mean');
  assert.ok(start >= 0, 'README.md has a "What the numbers mean" section');
  const section = text.slice(start).split(/\n## /)[0];
  const rows: { key: string; labels: string; reading: string }[] = [];
  for (const line of section.split('\n')) {
    const m = /^\|\s*`([^`]+)`\s*\|\s*([^|]+?)\s*\|\s*(.+?)\s*\|\s*$/.exec(line);
    if (m) rows.push({ key: m[1], labels: m[2], reading: m[3] });
  }
  return rows;
}

test("the README's 'What the numbers mean' table agrees with the metric table", () => {
  const rows = readmeRows();
  assert.deepEqual(rows.map((r) => r.key), [...TAP_METRICS], 'one README row per per-tap metric, in the same order');
  for (const r of rows) {
    const m = metricSpec(r.key)!;
    assert.ok(m, `${r.key} is in the table`);
    assert.equal(r.labels, needsLabelsText(m), `${r.key}: needs labels`);
    assert.equal(r.reading, m.intuition, `${r.key}: the reading is the table's intuition`);
  }
});

test('every metric has a key once, a title in words, an intuition, a direction and digits', () => {
  const keys = METRIC_SPECS.map((m) => m.key);
  assert.equal(new Set(keys).size, keys.length, 'keys are unique');
  for (const m of METRIC_SPECS) {
    assert.notEqual(m.title, m.key, `${m.key}: a title in words, not the key`);
    assert.doesNotMatch(m.title, /\b[a-z]+[A-Z][a-z]+/, `${m.key}: no camelCase code key in the title`);
    assert.ok(m.intuition.length > 20 && !m.intuition.includes('\n'), `${m.key}: a one-line intuition`);
    assert.ok(['lower-better', 'higher-better', 'centred-on-1', 'none'].includes(m.direction));
    assert.ok(Number.isInteger(m.digits) && m.digits > 0);
    if (m.direction === 'centred-on-1') assert.equal(m.refLine, 1, `${m.key}: centred on 1 draws its reference line at 1`);
  }
  for (const m of ['db', 'roughness', 'knnConfidence', 'knnConfidenceFg', 'featureShift', 'knnDice', 'featureShiftFg', 'dice', 'accuracy', 'mse', 'psnr', 'ssim', 'maxProbability', 'entropy', 'foreground']) {
    assert.ok(metricSpec(m), `${m} is in the table`);
  }
  assert.deepEqual(TAP_METRIC_SPECS.map((m) => m.key), ['db', 'roughness', 'knnConfidence', 'knnConfidenceFg', 'featureShift']);
  for (const m of LABEL_FREE_METRICS) assert.notEqual(metricSpec(m)!.needsLabels, true, `${m} is label-free`);
  assert.equal(explainText('featureShift', 7).includes('7-th'), true);
});

test('the table imports nothing (no vscode, no engine)', () => {
  const src = readFileSync(path.join(root, 'src/protocol/metrics.ts'), 'utf8');
  assert.doesNotMatch(src, /^\s*import\s/m);
  assert.doesNotMatch(src, /require\(/);
});

test('improvement: how much better b is than a, by each direction of the table', () => {
  assert.equal(improvement('dice', 0.7, 0.8)! > 0, true);
  assert.equal(improvement('db', 2, 3)! < 0, true, 'Davies–Bouldin: lower is better');
  // feature shift: closer to 1 on either side, on the log scale (0.5× and 2× equally far)
  assert.ok(Math.abs(improvement('featureShift', 0.5, 2)!) < 1e-12);
  assert.ok(improvement('featureShift', 0.5, 0.9)! > 0 && improvement('featureShift', 1.1, 1.6)! < 0 && improvement('featureShift', 3, 0.6)! > 0);
  assert.equal(improvement('featureShift', 0, 1), null);
  assert.equal(improvement('dice', null, 0.5), null);
  assert.equal(improvement('dice', Number.NaN, 0.5), null);
  for (const m of METRIC_SPECS.filter((x) => x.direction === 'none')) assert.equal(improvement(m.key, 1, 2), null, m.key);
});
