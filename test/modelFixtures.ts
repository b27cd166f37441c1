/**
 * The ONNX model fixtures (test/fixtures/models, made by scripts/make_model_fixtures.py) and
 * the small helpers the model tests share: unit (test/unit/model.test.ts) and integration
 * (test/integration/model-onnx.test.ts).
 */
import assert from 'node:assert/strict';
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LensError } from '../src/engine/types';

export const FIX = path.join(__dirname, 'fixtures', 'models');
export const fixture = (name: string) => path.join(FIX, name);
/** What PyTorch and onnx say of a fixture, computed independently of this code. */
export const expected = (name: string) => JSON.parse(readFileSync(fixture(`${name}.expected.json`), 'utf8'));
export const MODELS = ['unet2d', 'unet3d', 'bn_bilinear', 'dilated_strided', 'nhwc'];

/** For assert.throws/rejects: a LensError of kind 'model' whose message matches. */
export function isModelError(re: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof LensError, `expected a LensError, got ${e}`);
    assert.equal(e.kind, 'model', e.message);
    assert.match(e.message, re);
    return true;
  };
}

export async function tmpdir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'unetlens-model-'));
}
