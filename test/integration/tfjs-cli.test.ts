/**
 * TF.js / Keras models through the built CLI (dist/cli.js, as `npm test` builds it): the
 * bundled tfjs finds the wasm binaries that esbuild.mjs copies into dist/, model.json /
 * .h5 / .keras paths are accepted, and the results agree with the ONNX run's.
 *
 *   node esbuild.mjs && node --import tsx --test test/integration/tfjs-cli.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..');
const cli = join(root, 'dist', 'cli.js');
const data = join(root, 'examples', 'synthetic', 'unetlens.json');
const onnx = join(root, 'examples', 'synthetic', 'model.onnx');
const tfjs = join(root, 'test', 'fixtures', 'tfjs', 'example', 'model.json');
const keras = join(root, 'test', 'fixtures', 'tfjs', 'example.keras');
const tmp = () => mkdtempSync(join(tmpdir(), 'unetlens-tfjs-cli-'));
const runCli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 180_000, env: { ...process.env, ...env } });

test('the wasm binaries sit next to the bundle', () => {
  for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm']) assert.ok(existsSync(join(root, 'dist', f)), `dist/${f}`);
});

test('analyze model.json and .keras with the bundled CLI on the wasm backend: the ONNX run\'s numbers', () => {
  const outs: Record<string, string> = { onnx: tmp(), tfjs: tmp(), keras: tmp() };
  // UNET_LENS_TFJS_BACKEND=wasm makes a wasm backend that cannot start an error (exit 3), not a quiet fallback
  const runs: [string, string, Record<string, string>][] = [
    ['onnx', onnx, {}],
    ['tfjs', tfjs, { UNET_LENS_TFJS_BACKEND: 'wasm' }],
    ['keras', keras, { UNET_LENS_TFJS_BACKEND: 'wasm' }],
  ];
  for (const [k, model, env] of runs) {
    // --no-shifts: the sweep repeats the forward pass on shifted copies; the metrics are what is compared
    const r = runCli(['analyze', model, '--data', data, '--out', outs[k], '--max-points', '256', '--no-shifts'], env);
    assert.equal(r.status, 0, `${k}: ${r.stderr}`);
  }
  const read = (k: string) => JSON.parse(readFileSync(join(outs[k], 'results.json'), 'utf8'));
  const ref = read('onnx');
  for (const k of ['tfjs', 'keras']) {
    const res = read(k);
    assert.equal(res.taps.length, ref.taps.length);
    for (const s of ref.splits) {
      ref.taps.forEach((t: { name: string }, i: number) => {
        const a = res.metrics[s.name][res.taps[i].name];
        const b = ref.metrics[s.name][t.name];
        for (const m of ['db', 'roughness', 'knnConfidence', 'featureShift']) {
          if (b[m] === null) assert.equal(a[m], null);
          else assert.ok(Math.abs(a[m] - b[m]) <= 1e-4, `${k} ${s.name} tap ${i} ${m}: ${a[m]} vs ${b[m]}`);
        }
      });
    }
    assert.ok(existsSync(join(outs[k], 'report.html')));
  }
});

test('a Keras file with a layer TF.js lacks exits 3 naming the layer and its class', () => {
  const out = tmp();
  const r = runCli(['analyze', join(root, 'test', 'fixtures', 'tfjs', 'unsupported_layer.h5'), '--data', data, '--out', out]);
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /unet-lens: .*unsupported_layer\.h5: layer "bottleneck_relu2" \(class GroupNormalization\) is not supported/);
  assert.ok(!existsSync(join(out, 'results.json')));
});

test('results.json names the format and the TF.js backend', () => {
  const out = tmp();
  const r = runCli(['analyze', tfjs, '--data', data, '--out', out, '--max-points', '64', '--no-shifts']);
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.equal(res.model.format, 'tfjs');
  assert.match(res.tool.backend, /tfjs 4\.\d+\.\d+ wasm \(simd, 1 thread\)/);
});
