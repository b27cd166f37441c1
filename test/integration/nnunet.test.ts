/**
 * From an nnU-Net v2 raw dataset folder to results, through the CLI as a user runs it:
 * `unet-lens init <folder>` writes unetlens.json, `unet-lens analyze` runs the tiny 3D UNet
 * (2 channels, 3 classes; scripts/make_nnunet_fixtures.py) on it. The Dice per class of every
 * split equals what torch computed on the same cases normalised as nnU-Net does.
 * The same for a Decathlon (MSD) task folder, Task09_Tiny (one 4D NIfTI per case, CT + PET):
 * the reference is scripts/make_msd_reference.py's (expected.json, msd* keys).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..');
const cli = join(root, 'dist', 'cli.js');
const fixtures = join(root, 'test', 'fixtures', 'nnunet');
const expected = JSON.parse(readFileSync(join(fixtures, 'expected.json'), 'utf8'));
const runCli = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 300_000 });

test('init + analyze on an nnU-Net dataset: fold 0 train/validation and the test cases, Dice per class as torch computed it', () => {
  const d = mkdtempSync(join(tmpdir(), 'unetlens-nnunet-e2e-'));
  cpSync(fixtures, d, { recursive: true });
  const ds = join(d, 'nnUNet_raw', 'Dataset042_Tiny');
  const init = runCli(['init', ds]);
  assert.equal(init.status, 0, init.stderr);
  assert.match(init.stderr, /wrote .*unetlens.json \(nnU-Net dataset, 3 classes\)/);
  assert.match(init.stderr, /fold 0 of .*splits_final.json \(8 \/ 2 cases\)/);
  // a second init leaves the file alone
  const written = readFileSync(join(ds, 'unetlens.json'), 'utf8');
  const again = runCli(['init', ds]);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /already exists; it was left as it is/);
  assert.equal(readFileSync(join(ds, 'unetlens.json'), 'utf8'), written);

  const out = join(d, 'out');
  const r = runCli(['analyze', join(d, 'tiny3d.onnx'), '--data', join(ds, 'unetlens.json'), '--out', out, '--max-points', '512', '--no-shifts']);
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.deepEqual(res.dataset.classes, ['background', 'lesion', 'edema']);
  assert.deepEqual(
    res.splits.map((s: { name: string; images: number; labeled: boolean }) => [s.name, s.images, s.labeled]),
    [
      ['train', 8, true],
      ['validation', 2, true],
      ['test', 3, true],
    ],
  );
  for (const s of res.splits) {
    const ref = expected.dicePerClass[s.name] as number[];
    s.performance.dicePerClass.forEach((v: number, c: number) => assert.ok(Math.abs(v - ref[c]) < 1e-9, `${s.name} class ${c}: Dice ${v} vs torch ${ref[c]}`));
  }
  assert.ok(res.taps.length >= 4 && res.taps.every((t: { shape: number[] }) => t.shape.length === 4), '3D taps [C, D, H, W]');
  assert.ok(Object.keys(res.metrics.validation).length === res.taps.length);
});

/** Every file under `dir` (relative path → SHA-256 of its content). */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
    const full = join(dir, f);
    if (statSync(full).isFile()) out.set(f, createHash('sha256').update(readFileSync(full)).digest('hex'));
  }
  return out;
}

test('init + analyze on a Medical Segmentation Decathlon dataset (4D NIfTI, CT + PET): train labelled, test unlabelled, Dice per class as torch computed it', () => {
  const d = mkdtempSync(join(tmpdir(), 'unetlens-msd-e2e-'));
  const ds = join(d, 'Task09_Tiny');
  cpSync(join(fixtures, 'Task09_Tiny'), ds, { recursive: true });
  const before = snapshot(ds);
  const init = runCli(['init', ds]);
  assert.equal(init.status, 0, init.stderr);
  assert.match(init.stderr, /wrote .*unetlens.json \(Medical Segmentation Decathlon dataset, 3 classes\)/);
  assert.match(init.stderr, /CT normalisation computed from the foreground voxels \(label > 0\) of 8 of 8 training cases \(1340 voxels\)/);

  const out = join(d, 'out');
  const r = runCli(['analyze', join(fixtures, 'tiny3d.onnx'), '--data', join(ds, 'unetlens.json'), '--out', out, '--max-points', '512', '--no-shifts']);
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.deepEqual(res.dataset.classes, ['background', 'tumour', 'node']);
  assert.deepEqual(
    res.splits.map((s: { name: string; images: number; labeled: boolean }) => [s.name, s.images, s.labeled]),
    [
      ['train', 8, true],
      ['test', 2, false],
    ],
  );
  const [train, testSplit] = res.splits;
  // scripts/make_msd_reference.py: torch (float32) on the cases normalised as the created file
  // says (CT clipped to the training foreground's 0.5/99.5 percentiles and standardised with its
  // mean/std, PET z-scored per case). The engine's float32 inference differs from torch's by
  // rounding only (~1e-6 on the logits), far below the smallest top-2 logit gap (msdMinMargin,
  // 0.04), so no voxel's argmax changes and the Dice (a ratio of voxel counts) is equal; 1e-6 is
  // below the 1 / 4096 change one flipped voxel would make.
  assert.ok(expected.msdMinMargin > 1e-3);
  const ref = expected.msdDicePerClass.train as number[];
  assert.equal(train.performance.dicePerClass.length, 3);
  train.performance.dicePerClass.forEach((v: number, c: number) => assert.ok(Math.abs(v - ref[c]) < 1e-6, `train class ${c}: Dice ${v} vs torch ${ref[c]}`));
  assert.equal(testSplit.performance, null, 'no labels, no Dice');
  // shares written with 6 decimals
  assert.ok(Math.abs(train.foreground - expected.msdForeground.train) < 1e-6, `train foreground ${train.foreground}`);
  assert.ok(Math.abs(testSplit.foreground - expected.msdForeground.test) < 1e-6, `test foreground ${testSplit.foreground}`);
  assert.ok(Math.abs(train.labelForeground - expected.msdLabelForeground.train) < 1e-6, `train label foreground ${train.labelForeground}`);
  assert.ok(res.taps.length >= 4 && res.taps.every((t: { shape: number[] }) => t.shape.length === 4), '3D taps [C, D, H, W]');
  for (const s of ['train', 'test']) assert.equal(Object.keys(res.metrics[s]).length, res.taps.length, `metrics of every tap on ${s}`);
  // the dataset folder: unetlens.json added, nothing else written or changed
  const after = snapshot(ds);
  assert.deepEqual([...after.keys()].filter((f) => !before.has(f)), ['unetlens.json']);
  for (const [f, h] of before) assert.equal(after.get(f), h, `${f} unchanged`);
});
