/**
 * What the pipeline's integration tests share (test/integration/pipeline.test.ts and
 * sweepPipeline.test.ts): the task fixtures (scripts/make_task_fixtures.py → test/fixtures/tasks/),
 * temporary folders removed after the file's tests, copies of a fixture with an edited dataset
 * file, and the checks every analysis passes.
 */
import { after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LensError, type Results } from '../../src/engine/types';

export const root = path.resolve(__dirname, '..', '..');
export const TASKS = path.join(root, 'test', 'fixtures', 'tasks');

const made: string[] = [];
/** A temporary folder, removed after the test file. */
export const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'unetlens-pipeline-'));
  made.push(d);
  return d;
};
after(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

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

/** No NaN or Infinity anywhere in the results, and they survive a JSON round trip. */
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
