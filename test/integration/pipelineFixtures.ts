/**
 * Shared by the pipeline's integration tests (pipeline.test.ts, pipelineShifts.test.ts): the task
 * fixtures (test/fixtures/tasks/, written by scripts/make_task_fixtures.py), temp folders removed
 * after the file's tests, and the checks both files use.
 */
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { LensError, type Results } from '../../src/engine/types';

export const root = path.resolve(__dirname, '..', '..');
export const TASKS = path.join(root, 'test', 'fixtures', 'tasks');
export const expected = JSON.parse(fs.readFileSync(path.join(TASKS, 'expected.json'), 'utf8'));
export const cli = path.join(root, 'dist', 'cli.js');

export const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
const made: string[] = [];
export const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'unetlens-pipeline-'));
  made.push(d);
  return d;
};
after(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

/**
 * `f()`, counting the images onnxruntime runs meanwhile: every run whose feed is an N×C×H×W
 * batch (the kNN and k-means kernels' feeds are matrices).
 */
export async function countingImages<T>(f: () => Promise<T>): Promise<{ value: T; images: number }> {
  const proto = (ort.InferenceSession as unknown as { prototype: unknown }).prototype as { run: (feeds: Record<string, ort.Tensor>, ...rest: unknown[]) => Promise<unknown> };
  const run = proto.run;
  let images = 0;
  proto.run = function (this: unknown, feeds: Record<string, ort.Tensor>, ...rest: unknown[]) {
    const x = Object.values(feeds)[0];
    if (x?.dims.length === 4) images += x.dims[0];
    return run.call(this, feeds, ...rest);
  };
  try {
    return { value: await f(), images };
  } finally {
    proto.run = run;
  }
}

/** analyze() that must fail with a LensError; returns it. */
export async function lensError(p: Promise<unknown>): Promise<LensError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof LensError, `expected a LensError, got ${(e as Error)?.stack ?? String(e)}`);
    return e;
  }
  assert.fail('expected the analysis to fail');
}

/** Relative path → sha256 of every file under dir. */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(path.relative(dir, p), createHash('sha256').update(fs.readFileSync(p)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

/** A uint8 .npy file (format 1.0). */
export function writeNpyU8(file: string, shape: number[], data: Uint8Array): void {
  let header = `{'descr': '|u1', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(data)]));
}

/**
 * Runs the CLI on a dataset folder and checks the failure contract: the exit code, one clear
 * line matching `pattern`, no results.json, and every file of the dataset folder and the model
 * unchanged.
 */
export function cliFails(model: string, datasetDir: string, datasetFile: string, code: number, pattern: RegExp): string {
  const before = snapshot(datasetDir);
  const modelBefore = fs.readFileSync(model);
  const out = path.join(tmp(), 'out');
  const r = spawnSync(process.execPath, [cli, 'analyze', model, '--data', datasetFile, '--out', out], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, code, `exit ${r.status}; stderr:\n${r.stderr}`);
  const line = r.stderr.trim().split('\n').filter((l) => l.startsWith('unet-lens:')).at(-1) ?? '';
  assert.match(line, pattern);
  assert.ok(!fs.existsSync(path.join(out, 'results.json')), 'no results.json');
  assert.ok(!fs.existsSync(path.join(out, 'report.html')), 'no report.html');
  assert.deepEqual(snapshot(datasetDir), before, 'the dataset files are unchanged');
  assert.deepEqual(fs.readFileSync(model), modelBefore, 'the model file is unchanged');
  return line;
}

/** A copy of a fixture dataset folder in a temp dir, with its dataset file possibly edited. */
export function copyFixture(name: string, edit?: (cfg: any) => void): { dir: string; file: string } {
  const dir = path.join(tmp(), name);
  fs.cpSync(path.join(TASKS, name), dir, { recursive: true });
  const file = path.join(dir, 'unetlens.json');
  if (edit) {
    const cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
    edit(cfg);
    fs.writeFileSync(file, JSON.stringify(cfg, null, 2));
  }
  return { dir, file };
}

export function noNonFinite(r: Results): void {
  const text = JSON.stringify(r);
  const walk = (v: unknown, where: string): void => {
    if (typeof v === 'number') assert.ok(Number.isFinite(v), `non-finite number at ${where}`);
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${where}[${i}]`));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${where}.${k}`);
  };
  walk(r, 'results');
  assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(JSON.parse(text))));
}

/* ------------------------------------------------------------------------------------------ */

/** Writes a dataset file for the example's 2-D lesion task (64×64, one channel, 8-bit images). */
export function writeLesionDataset(file: string, splits: object, analysis: object): void {
  fs.writeFileSync(file, JSON.stringify({ task: 'segmentation', classes: ['background', 'lesion'], input: { size: [64, 64], channels: 1, scale: 1 / 255 }, splits, analysis }));
}
