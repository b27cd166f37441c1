/**
 * Reading a results.json in the extension host (the serializers of the results panel and of
 * the Timeline / Compare panels, Open Results…): the size is capped, what the host reads of
 * the file is checked, and a file that is gone says so in words. Pure Node (no `vscode`).
 */
import { promises as fs } from 'node:fs';
import type { Results } from '../engine/types';

/** Largest results.json the host reads (a results file with maps of 3 images per split is a few MB). */
export const MAX_RESULTS_BYTES = 256 * 2 ** 20;

/**
 * What is wrong with a parsed results file for the host (undefined: nothing). The host only
 * reads `schema`, `model.path` and `dataset.path` (the webview validates what it draws).
 */
export function resultsProblem(r: unknown): string | undefined {
  const o = r as { schema?: unknown; model?: { path?: unknown }; dataset?: { path?: unknown } } | null;
  if (!o || typeof o !== 'object' || Array.isArray(o)) return 'not a JSON object';
  if (o.schema !== 'unet-lens/results@1') return `its "schema" is ${JSON.stringify(o.schema)?.slice(0, 80)}, expected "unet-lens/results@1"`;
  if (typeof o.model?.path !== 'string' || o.model.path === '') return '"model.path" is not a path';
  if (typeof o.dataset?.path !== 'string' || o.dataset.path === '') return '"dataset.path" is not a path';
  return undefined;
}

/** Was this error a file (or a folder on its path) that is not there? */
export function isGone(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * The results in `file`, checked. Throws an Error whose message says what is wrong, fit to
 * follow the file's name ("it is gone (deleted or moved)", "not a UNet Lens results file: …").
 */
export async function readResultsFile(file: string): Promise<Results> {
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > MAX_RESULTS_BYTES) throw new Error(`${(st.size / 2 ** 20).toFixed(0)} MB is over the ${MAX_RESULTS_BYTES / 2 ** 20} MB limit of a results file`);
    const results = JSON.parse(await fs.readFile(file, 'utf8')) as Results;
    const problem = resultsProblem(results);
    if (problem) throw new Error(`not a UNet Lens results file: ${problem}`);
    return results;
  } catch (e) {
    if (isGone(e)) throw new Error('it is gone (deleted or moved)', { cause: e });
    throw e;
  }
}
