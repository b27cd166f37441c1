/**
 * From an nnU-Net v2 raw dataset folder to results, through the CLI as a user runs it:
 * `unet-lens init <folder>` writes unetlens.json, `unet-lens analyze` runs the tiny 3D UNet
 * (2 channels, 3 classes; scripts/make_nnunet_fixtures.py) on it. The Dice per class of every
 * split equals what torch computed on the same cases normalised as nnU-Net does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
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
