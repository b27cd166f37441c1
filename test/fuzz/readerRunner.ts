/**
 * Child process of the fuzz suite: reads each file given (JSON list on argv[2]) with the
 * engine's readers, as an image and as a mask, and prints one JSON line per case:
 * { file, outcome: 'ok' | 'error' (a LensError of kind data/dataset: exit 2) | 'internal' (anything else), ms, message }.
 * The memory budget comes from UNET_LENS_MEMORY_MB, as in the worker.
 */
import { readImageFile, readLabelFile } from '../../src/engine/data/formats/registry';
import { openItemArray } from '../../src/engine/data/formats/npy';
import { LensError } from '../../src/engine/types';

const files = JSON.parse(process.argv[2]) as string[];
const ctx = { channels: 1, layout: 'NCHW' as const };
for (const file of files) {
  for (const role of ['image', 'label'] as const) {
    const t0 = Date.now();
    let outcome = 'ok';
    let message = '';
    try {
      if (/\.(npy|npz)$/i.test(file)) {
        const arr = openItemArray(file, role);
        for (let i = 0; i < Math.min(arr.shape[0] ?? 0, 3); i++) arr.readItem(i);
      } else if (role === 'image') readImageFile(file, ctx);
      else readLabelFile(file, ctx);
    } catch (e) {
      if (e instanceof LensError && (e.kind === 'data' || e.kind === 'dataset')) {
        outcome = 'error';
        message = e.message;
      } else {
        outcome = 'internal';
        message = (e as Error)?.stack ?? String(e);
      }
    }
    process.stdout.write(`${JSON.stringify({ file, role, outcome, ms: Date.now() - t0, message: message.slice(0, 400) })}\n`);
  }
}
