/** Assertions shared by the test files. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
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

/**
 * Closeness checks against a reference that remember the worst relative error per comparison
 * family (`agreement`), for the summary a reference test prints at the end.
 */
export function agreementTracker(): {
  agreement: Record<string, number>;
  note: (key: string, err: number) => void;
  rel: (a: number, b: number) => number;
  assertClose: (actual: number, expected: number, tol: number, what: string, key?: string) => void;
} {
  const agreement: Record<string, number> = {};
  const note = (key: string, err: number): void => {
    agreement[key] = Math.max(agreement[key] ?? 0, err);
  };
  const rel = (a: number, b: number): number => (a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-300));
  const assertClose = (actual: number, expected: number, tol: number, what: string, key?: string): void => {
    const e = rel(actual, expected);
    if (key) note(key, e);
    assert.ok(e <= tol, `${what}: ${actual} vs ${expected} (relative error ${e.toExponential(2)} > ${tol})`);
  };
  return { agreement, note, rel, assertClose };
}

let webviewBundle: string | undefined;
/** The panel's script (webview/main.ts bundled by esbuild in memory, once) and its CSS, for reports drawn in tests. */
export async function webviewAssets(): Promise<{ script: string; css: string }> {
  const root = path.resolve(__dirname, '..');
  if (!webviewBundle) {
    const esbuild = await import('esbuild');
    const out = await esbuild.build({
      entryPoints: [path.join(root, 'webview/main.ts')],
      bundle: true,
      write: false,
      platform: 'browser',
      format: 'iife',
      target: 'es2022',
      legalComments: 'none',
      logLevel: 'silent',
    });
    webviewBundle = out.outputFiles[0].text;
  }
  return { script: webviewBundle, css: readFileSync(path.join(root, 'media/panel.css'), 'utf8') };
}
