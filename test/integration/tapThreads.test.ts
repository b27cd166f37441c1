/**
 * The tap threads (src/engine/pipeline/tapPool.ts) in the built CLI: the example analysed with
 * the default settings (the shift sweep on, whose copies' features overlap the next copy's
 * pass) on two tap threads and on none (`UNET_LENS_TAP_THREADS=0`, everything in the main
 * thread, one tap after the other) gives the same results file, apart from the times; the
 * log says which ran.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..');
const cli = join(root, 'dist', 'cli.js');
const model = join(root, 'examples', 'synthetic', 'model.onnx');
const data = join(root, 'examples', 'synthetic', 'unetlens.json');

function analyze(threads: string): { results: Record<string, unknown>; log: string } {
  const out = mkdtempSync(join(tmpdir(), `unetlens-taps-${threads}-`));
  const r = spawnSync(process.execPath, [cli, 'analyze', model, '--data', data, '--out', out, '--seed', '0', '--threads', '2'], {
    encoding: 'utf8',
    env: { ...process.env, UNET_LENS_TAP_THREADS: threads },
    timeout: 600_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return { results: JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')), log: r.stdout + r.stderr };
}

/** What differs between two runs of the same inputs (as scripts/compare-results.mjs ignores it). */
function strip(r: Record<string, unknown>): Record<string, unknown> {
  const p = r.performanceWithoutLabels as Record<string, unknown> | undefined;
  return { ...r, createdAt: '', timings: {}, ...(p ? { performanceWithoutLabels: { ...p, timingMs: 0 } } : {}) };
}

test('two tap threads and none give the same results file (example, default settings with the sweep)', () => {
  const threaded = analyze('2');
  const alone = analyze('0');
  assert.match(threaded.log, /taps measured on 2 threads/);
  assert.doesNotMatch(alone.log, /taps measured on/);
  assert.ok(threaded.results.performanceWithoutLabels, 'the sweep ran');
  assert.deepEqual(strip(threaded.results), strip(alone.results));
});
