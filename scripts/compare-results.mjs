#!/usr/bin/env node
// Compare two results.json files, ignoring the fields that legitimately differ between
// runs of the same inputs (`createdAt`, `timings`, `performanceWithoutLabels.timingMs`).
//   node scripts/compare-results.mjs a/results.json b/results.json
// Exit 0 when equal; 1 with the first differing paths otherwise.
import { readFileSync } from 'node:fs';

const [a, b] = process.argv.slice(2);
if (!a || !b) {
  console.error('usage: compare-results.mjs A/results.json B/results.json');
  process.exit(2);
}
const load = (p) => {
  const r = JSON.parse(readFileSync(p, 'utf8'));
  delete r.createdAt;
  delete r.timings;
  if (r.performanceWithoutLabels) delete r.performanceWithoutLabels.timingMs;
  return r;
};
const diffs = [];
const walk = (x, y, path) => {
  if (diffs.length >= 20) return;
  if (typeof x !== typeof y || Array.isArray(x) !== Array.isArray(y) || (x === null) !== (y === null)) {
    diffs.push(`${path}: ${JSON.stringify(x)?.slice(0, 80)} vs ${JSON.stringify(y)?.slice(0, 80)}`);
    return;
  }
  if (x && typeof x === 'object') {
    const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
    for (const k of keys) walk(x[k], y[k], `${path}.${k}`);
    return;
  }
  if (!Object.is(x, y)) diffs.push(`${path}: ${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
};
walk(load(a), load(b), '$');
if (diffs.length) {
  console.log(`results differ (first ${diffs.length}):\n  ${diffs.join('\n  ')}`);
  process.exit(1);
}
console.log('results equal (createdAt and timings ignored)');
