/**
 * The memory bound of the pipeline (src/engine/pipeline/analyze.ts, "Memory bound"): the analysis
 * streams per batch and per tap, so what it holds does not grow with the number of images.
 *
 * At test time this writes (to a temp folder) 660 grey 64×64 images with disc masks as .npy
 * files — 600 train, 60 test — and runs the real worker (dist/worker.js through the host's
 * runner) on the bundled example UNet (15 taps) with its V8 heap capped at 192 MB,
 * maxPoints 512 and one map per split. Held at once, the points of every tap (C + C_prev
 * floats per location, 282 624 activations per image) would take about 1.5 GB; the run must
 * finish with a peak RSS under 450 MB (measured here: 210–230 MB; the same engine on a
 * 10-image fixture peaks at ~155 MB; the bound leaves room for the capped heap).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runWorker } from '../../src/host/workerRunner';
import type { AnalyzeJob } from '../../src/protocol/messages';

const root = path.resolve(__dirname, '..', '..');
const worker = path.join(root, 'dist', 'worker.js');
const model = path.join(root, 'examples', 'synthetic', 'model.onnx');

const TRAIN = 600;
const TEST = 60;
const HEAP_MB = 192;
const RSS_BOUND_MB = 450;

/** A uint8 .npy file (format 1.0). */
function writeNpyU8(file: string, shape: number[], data: Uint8Array): void {
  let header = `{'descr': '|u1', 'fortran_order': False, 'shape': (${shape.join(', ')}), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), Buffer.from(data)]));
}

/** Writes the dataset: a bright noisy disc on a dark noisy background, its mask, per image. */
function makeDataset(dir: string): string {
  let s = 12345;
  const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (const [split, n] of [['train', TRAIN], ['test', TEST]] as const) {
    fs.mkdirSync(path.join(dir, split, 'images'), { recursive: true });
    fs.mkdirSync(path.join(dir, split, 'masks'), { recursive: true });
    for (let i = 0; i < n; i++) {
      const img = new Uint8Array(4096);
      const mask = new Uint8Array(4096);
      const cy = 12 + rnd() * 40;
      const cx = 12 + rnd() * 40;
      const r = 5 + rnd() * 8;
      for (let y = 0; y < 64; y++) {
        for (let x = 0; x < 64; x++) {
          const inside = (y - cy) ** 2 + (x - cx) ** 2 <= r * r;
          mask[y * 64 + x] = inside ? 1 : 0;
          img[y * 64 + x] = Math.max(0, Math.min(255, Math.round((inside ? 170 : 60) + (rnd() - 0.5) * 60)));
        }
      }
      const name = `case${String(i).padStart(4, '0')}.npy`;
      writeNpyU8(path.join(dir, split, 'images', name), [64, 64], img);
      writeNpyU8(path.join(dir, split, 'masks', name), [64, 64], mask);
    }
  }
  const file = path.join(dir, 'unetlens.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      task: 'segmentation',
      classes: ['background', 'lesion'],
      input: { size: [64, 64], channels: 1, scale: 1 / 255 },
      splits: { train: { images: 'train/images', labels: 'train/masks' }, test: { images: 'test/images', labels: 'test/masks' } },
      analysis: { maxPoints: 512, mapsPerSplit: 1 },
    }),
  );
  return file;
}

test(`660 images through the worker with a ${HEAP_MB} MB heap: completes, peak RSS under ${RSS_BOUND_MB} MB`, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unetlens-memory-'));
  try {
    const datasetPath = makeDataset(dir);
    const job: AnalyzeJob = { type: 'analyze', id: 'memory', modelPath: model, datasetPath, overrides: { maxPoints: 512 }, outDir: path.join(dir, 'out') };
    const t0 = Date.now();
    const { results, peakRssBytes } = await runWorker(worker, job, { maxOldSpaceMB: HEAP_MB });
    const seconds = (Date.now() - t0) / 1000;

    assert.deepEqual(results.splits.map((s) => [s.name, s.images]), [['train', TRAIN], ['test', TEST]]);
    assert.equal(results.taps.length, 15);
    for (const t of results.taps) assert.equal(results.metrics.train[t.name].points, 512);
    assert.ok((results.splits[1].performance!.dice as number) > 0.5, 'the model does segment the discs');
    assert.equal(results.maps.items.length, 2);

    // what holding every point of every tap at once would take
    const perImage = results.taps.reduce((a, t, i) => {
      const [C, ...sp] = t.shape;
      const prevC = i > 0 ? results.taps[i - 1].shape[0] : 9; // the first tap's "previous": a 3×3 input patch
      return a + (C + prevC) * sp.reduce((p, d) => p * d, 1);
    }, 0);
    const heldAtOnceMB = (perImage * 4 * (TRAIN + TEST)) / 2 ** 20;
    assert.ok(heldAtOnceMB > 3 * RSS_BOUND_MB, `held at once: ${heldAtOnceMB.toFixed(0)} MB`);

    const peakMB = peakRssBytes / 2 ** 20;
    process.stderr.write(`# memory: peak RSS ${peakMB.toFixed(0)} MB (bound ${RSS_BOUND_MB} MB, heap cap ${HEAP_MB} MB; all points at once would be ${heldAtOnceMB.toFixed(0)} MB); ${seconds.toFixed(1)} s\n`);
    assert.ok(peakMB < RSS_BOUND_MB, `peak RSS ${peakMB.toFixed(0)} MB ≥ ${RSS_BOUND_MB} MB`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
