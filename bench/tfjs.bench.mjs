#!/usr/bin/env node
// The full analysis of the example through each model format, in one invocation:
// ONNX (onnxruntime-node) against the same network as a TF.js layers model.json and as a
// Keras .keras file (TF.js: tfjs-node where installed, else the wasm backend). Prints the
// median wall time of `runs` alternating runs, the engine's stage times and the backend.
//   node bench/tfjs.bench.mjs [--runs 3] [--no-build]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir, loadavg, cpus } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) || 3;
if (!args.includes('--no-build')) spawnSync('node', ['esbuild.mjs'], { stdio: 'ignore' });

const data = 'examples/synthetic/unetlens.json';
const models = [
  ['onnx', 'examples/synthetic/model.onnx'],
  ['tfjs model.json', 'test/fixtures/tfjs/example/model.json'],
  ['keras .keras', 'test/fixtures/tfjs/example.keras'],
];
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const rows = new Map(models.map(([name]) => [name, { wall: [], forward: [], metrics: [], maps: [], backend: '' }]));
console.log(`# ${runs} alternating runs per format; ${cpus().length} cores, load ${loadavg()[0].toFixed(1)}`);
for (let r = 0; r < runs; r++) {
  for (const [name, model] of models) {
    const out = mkdtempSync(join(tmpdir(), 'unetlens-bench-'));
    const t0 = process.hrtime.bigint();
    const p = spawnSync('node', ['dist/cli.js', 'analyze', model, '--data', data, '--out', out], { encoding: 'utf8' });
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    if (p.status !== 0) throw new Error(`${name}: exit ${p.status}\n${p.stderr}`);
    const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    const row = rows.get(name);
    row.wall.push(wall);
    row.forward.push(res.timings.forwardMs / 1000);
    row.metrics.push(res.timings.metricsMs / 1000);
    row.maps.push((res.timings.mapsMs ?? 0) / 1000);
    row.backend = res.tool.backend;
  }
}
const base = median(rows.get('onnx').wall);
console.log('\n| format | backend | wall (median) | forward | metrics | maps | wall / onnx |');
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const [name, r] of rows) {
  const w = median(r.wall);
  console.log(`| ${name} | ${r.backend} | ${w.toFixed(1)} s | ${median(r.forward).toFixed(2)} s | ${median(r.metrics).toFixed(2)} s | ${median(r.maps).toFixed(2)} s | ${(w / base).toFixed(2)}× |`);
}
console.log(`\nload average at end: ${loadavg()[0].toFixed(1)}`);
