/** Assertions shared by the test files. */
import assert from 'node:assert/strict';
import { LensError } from '../src/engine/types';

/** Asserts that f throws a LensError of the given kind whose message equals / matches `msg`. */
export function throwsLens(f: () => unknown, kind: LensError['kind'], msg: string | RegExp): LensError {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof LensError, `expected a LensError, got ${caught === undefined ? 'no error' : String(caught)}`);
  const e = caught as LensError;
  assert.equal(e.kind, kind, e.message);
  if (typeof msg === 'string') assert.equal(e.message, msg);
  else assert.match(e.message, msg);
  return e;
}
