/**
 * Which TensorFlow.js runs the TF.js and Keras models, chosen once per process:
 *
 *  1. `@tensorflow/tfjs-node` (native TensorFlow), when it is installed: an optional
 *     dependency, kept external by esbuild and loaded with a plain `require` at run time.
 *     It brings its own copy of the tfjs API, which is then used for everything.
 *  2. otherwise the bundled `@tensorflow/tfjs` with the WebAssembly backend
 *     (`@tensorflow/tfjs-backend-wasm`, SIMD, single-threaded under Node). Its `.wasm` files
 *     are looked up next to the bundle (esbuild.mjs copies them into dist/) and, when running
 *     from source, in node_modules. `tf.setBackend('wasm')` quietly falls back to another
 *     backend when the binary cannot be loaded, so the result is checked with `tf.getBackend()`.
 *  3. the plain JavaScript `cpu` backend as the last resort (slow; said so in `backend`).
 *
 * `UNET_LENS_TFJS_BACKEND=node|wasm|cpu` forces one (for tests and comparisons); a forced
 * backend that cannot start is an error, not a fallback.
 *
 * The description (`TfRuntime.backend`) goes into the results as `tool.backend`, so that a
 * user can see why a run was slow.
 */
import { existsSync } from 'node:fs';
import * as nodePath from 'node:path';
import { LensError } from '../types';

/**
 * The TF.js API: the `@tensorflow/tfjs` umbrella (`require('@tensorflow/tfjs-node')` gives the
 * same API). Not tfjs-core + tfjs-layers alone, although that would bundle ≈ 2 MB less (no
 * converter, WebGL backend, tfjs-data): only the umbrella registers the chained tensor methods
 * (`t.cast()`…) that parts of tfjs-layers call.
 */
export type Tf = typeof import('@tensorflow/tfjs');

export interface TfRuntime {
  tf: Tf;
  /** 'tensorflow' (tfjs-node), 'wasm' or 'cpu'. */
  name: 'tensorflow' | 'wasm' | 'cpu';
  /** What ran, for results.tool.backend, e.g. "tfjs 4.22.0 wasm (simd)". */
  backend: string;
  /** Why a faster backend was not used (empty when the first choice ran). */
  notes: string[];
}

/** The binaries the wasm backend may load under Node (it never picks the threaded build there). */
const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm'];

let pending: Promise<TfRuntime> | undefined;

/** The TensorFlow.js runtime of this process (started on first use, then shared). */
export function tfRuntime(): Promise<TfRuntime> {
  pending ??= start().catch((e) => {
    pending = undefined;
    throw e;
  });
  return pending;
}

/** Folders where the wasm binaries may be: next to this bundle (dist/), then the package's dist. */
export function wasmDirCandidates(): string[] {
  const dirs = [__dirname];
  try {
    dirs.push(nodePath.join(nodePath.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist'));
  } catch {
    /* not resolvable from here (a packaged extension): the bundle folder only */
  }
  return dirs;
}

export function findWasmDir(): string | undefined {
  return wasmDirCandidates().find((d) => WASM_FILES.every((f) => existsSync(nodePath.join(d, f))));
}

function message(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

async function start(): Promise<TfRuntime> {
  const forced = (process.env.UNET_LENS_TFJS_BACKEND ?? '').trim().toLowerCase();
  if (forced && !['node', 'tensorflow', 'wasm', 'cpu'].includes(forced)) {
    throw new LensError(`UNET_LENS_TFJS_BACKEND is "${forced}"; expected node, wasm or cpu`, 'args');
  }
  const notes: string[] = [];

  if (!forced || forced === 'node' || forced === 'tensorflow') {
    try {
      // a runtime require, not bundled: '@tensorflow/tfjs-node' is external in esbuild.mjs
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const tfn = require('@tensorflow/tfjs-node') as Tf;
      await tfn.ready();
      const version = ((tfn as unknown as { version?: Record<string, string> }).version ?? {})['tfjs-node'] ?? tfn.version_core;
      return { tf: tfn, name: 'tensorflow', backend: `tfjs-node ${version} (${tfn.getBackend()})`, notes };
    } catch (e) {
      if (forced) throw new LensError(`UNET_LENS_TFJS_BACKEND=node, but @tensorflow/tfjs-node cannot be loaded: ${message(e)}`, 'model');
      notes.push(`@tensorflow/tfjs-node is not available (${message(e)})`);
    }
  }

  const tf: Tf = await import('@tensorflow/tfjs');
  // keep the bundled cpu backend quiet about tfjs-node ("Hi there 👋 ...")
  silenceNodeHint(tf);

  if (!forced || forced === 'wasm') {
    const dir = findWasmDir();
    if (!dir) {
      const why = `the TF.js WebAssembly binaries (${WASM_FILES[0]} …) are in none of ${wasmDirCandidates().join(', ')}`;
      if (forced) throw new LensError(`UNET_LENS_TFJS_BACKEND=wasm, but ${why}`, 'model');
      notes.push(why);
    } else {
      try {
        const wasm = await import('@tensorflow/tfjs-backend-wasm');
        wasm.setWasmPaths(dir + nodePath.sep);
        const ok = await tf.setBackend('wasm');
        await tf.ready();
        if (ok && tf.getBackend() === 'wasm') {
          const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
          return { tf, name: 'wasm', backend: `tfjs ${tf.version_core} wasm (${simd ? 'simd' : 'no simd'}, 1 thread)`, notes };
        }
        notes.push(`the wasm backend did not start (tf.getBackend() is ${tf.getBackend()})`);
      } catch (e) {
        notes.push(`the wasm backend did not start: ${message(e)}`);
      }
      if (forced) throw new LensError(`UNET_LENS_TFJS_BACKEND=wasm, but ${notes.at(-1)}`, 'model');
    }
  }

  const ok = await tf.setBackend('cpu');
  await tf.ready();
  if (!ok || tf.getBackend() !== 'cpu') throw new LensError(`no TensorFlow.js backend could start (${notes.join('; ')})`, 'model');
  return { tf, name: 'cpu', backend: `tfjs ${tf.version_core} cpu (plain JavaScript, slow)`, notes };
}

/**
 * Switches a wasm runtime to the cpu backend, for a model that needs a kernel the wasm
 * backend lacks (TF.js raises "Kernel 'X' not registered for backend 'wasm'" then). Tensors
 * already made move over on their next use. Returns false when there is nothing to switch.
 */
export async function fallBackToCpu(rt: TfRuntime, why: string): Promise<boolean> {
  if (rt.name !== 'wasm') return false;
  const ok = await rt.tf.setBackend('cpu');
  await rt.tf.ready();
  if (!ok || rt.tf.getBackend() !== 'cpu') return false;
  rt.name = 'cpu';
  rt.notes.push(why);
  rt.backend = `tfjs ${rt.tf.version_core} cpu (plain JavaScript, slow: ${why})`;
  return true;
}

/** True for TF.js's error about a kernel the current backend does not implement. */
export function isMissingKernel(message: string): string | undefined {
  const m = /Kernel '([^']+)' not registered for backend '([^']+)'/.exec(message);
  return m ? m[1] : undefined;
}

function silenceNodeHint(tf: Tf): void {
  try {
    // The cpu backend prints a hint about tfjs-node once per process; PROD (production mode:
    // no debug checks) turns tfjs's console warnings off. The backend in use is reported instead.
    tf.env().set('PROD', true);
  } catch {
    /* an older tfjs without the flag */
  }
}
