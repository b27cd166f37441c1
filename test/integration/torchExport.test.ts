/**
 * PyTorch models through real Python and torch (Debian's python3-torch at /usr/bin/python3,
 * installed by .ci/run): the shipped media/export_torchscript.py exports TorchScript
 * fixtures (scripts/make_torch_fixtures.py) to ONNX, and the CLI's analysis of the .pt equals
 * its analysis of the example's own ONNX export. The failures say what and where, and no
 * file next to the user's model is written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { exportTorchModel, type PythonCandidate } from '../../src/engine/model/torchExport';
import { LensError } from '../../src/engine/types';

const root = resolve(__dirname, '..', '..');
const cli = join(root, 'dist', 'cli.js');
const fixtures = join(root, 'test', 'fixtures', 'torch');
const script = join(root, 'media', 'export_torchscript.py');
const data = join(root, 'examples', 'synthetic', 'unetlens.json');
const PY = '/usr/bin/python3';
const python: PythonCandidate[] = [{ command: PY, args: [], source: 'test' }];
const tmp = () => mkdtempSync(join(tmpdir(), 'unetlens-torch-'));
const runCli = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 300_000 });

const hasTorch = spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
const opts = { skip: hasTorch ? false : `${PY} has no torch (apt-get install python3-torch; .ci/run does)` };

async function exportError(file: string, pythons = python): Promise<LensError> {
  try {
    await exportTorchModel({ modelPath: join(fixtures, file), inputShape: [1, 1, 64, 64], pythons, scriptPath: script, cacheRoot: tmp() });
  } catch (e) {
    assert.ok(e instanceof LensError, String(e));
    return e;
  }
  assert.fail(`exporting ${file} should fail`);
}

test('a TorchScript .pt analyzed by the CLI gives the results of the same network exported to ONNX directly', opts, () => {
  const before = readdirSync(fixtures).sort();
  const exportDir = tmp();
  const outPt = tmp();
  const outOnnx = tmp();
  const common = ['--data', data, '--max-points', '256', '--no-shifts'];
  const a = runCli(['analyze', join(fixtures, 'example_traced.pt'), '--out', outPt, '--python', PY, '--export-dir', exportDir, ...common]);
  assert.equal(a.status, 0, a.stderr);
  assert.match(a.stderr, /exported with torch 1\.\d+/);
  const b = runCli(['analyze', join(root, 'examples', 'synthetic', 'model.onnx'), '--out', outOnnx, ...common]);
  assert.equal(b.status, 0, b.stderr);
  const rp = JSON.parse(readFileSync(join(outPt, 'results.json'), 'utf8'));
  const ro = JSON.parse(readFileSync(join(outOnnx, 'results.json'), 'utf8'));
  assert.equal(rp.model.path, join(fixtures, 'example_traced.pt'));
  assert.equal(rp.model.format, 'pytorch');
  assert.match(rp.model.onnxExport.torch, /^1\.\d+/);
  assert.ok(rp.model.onnxExport.path.startsWith(exportDir), `the ONNX export is in the export folder: ${rp.model.onnxExport.path}`);
  assert.deepEqual(readdirSync(fixtures).sort(), before, 'nothing written next to the .pt');
  // Same taps (ops, shapes, receptive fields); the exporter names only the output differently.
  assert.equal(rp.taps.length, ro.taps.length);
  rp.taps.forEach((t: { op: string; shape: number[]; stage: string; receptiveField: unknown }, i: number) => {
    const o = ro.taps[i];
    assert.deepEqual([t.op, t.shape, t.stage, t.receptiveField], [o.op, o.shape, o.stage, o.receptiveField], `tap ${i}`);
  });
  for (const [i, s] of rp.splits.entries()) {
    assert.equal(s.name, ro.splits[i].name);
    for (const [k, v] of Object.entries(s.performance ?? {})) {
      if (typeof v === 'number') assert.ok(Math.abs(v - ro.splits[i].performance[k]) < 1e-9, `${s.name} ${k}: ${v} vs ${ro.splits[i].performance[k]}`);
    }
  }
  let compared = 0;
  for (const split of Object.keys(ro.metrics)) {
    rp.taps.forEach((t: { name: string }, i: number) => {
      const mp = rp.metrics[split][t.name];
      const mo = ro.metrics[split][ro.taps[i].name];
      for (const key of ['db', 'roughness', 'knnConfidence', 'featureShift']) {
        if (mo[key] === null) assert.equal(mp[key], null);
        else {
          assert.ok(Math.abs(mp[key] - mo[key]) <= 1e-4 * Math.max(1, Math.abs(mo[key])), `${split} tap ${i} ${key}: ${mp[key]} vs ${mo[key]}`);
          compared++;
        }
      }
    });
  }
  assert.ok(compared > 100, `${compared} metric values compared`);
});

test('the export is made once per checkpoint and input shape, then reused; torch.jit.script files export too', opts, async () => {
  const cacheRoot = tmp();
  const first = await exportTorchModel({ modelPath: join(fixtures, 'example_scripted.pt'), inputShape: [1, 1, 64, 64], pythons: python, scriptPath: script, cacheRoot });
  assert.equal(first.cached, false);
  assert.ok(existsSync(first.onnxPath));
  const again = await exportTorchModel({ modelPath: join(fixtures, 'example_scripted.pt'), inputShape: [1, 1, 64, 64], pythons: python, scriptPath: script, cacheRoot });
  assert.deepEqual([again.cached, again.onnxPath], [true, first.onnxPath]);
  const other = await exportTorchModel({ modelPath: join(fixtures, 'example_scripted.pt'), inputShape: [2, 1, 32, 32], pythons: python, scriptPath: script, cacheRoot });
  assert.notEqual(other.onnxPath, first.onnxPath);
});

test('a plain state_dict (the example model.pt) says it holds weights without a graph and shows the two lines that fix it', opts, async () => {
  let e: LensError | undefined;
  try {
    await exportTorchModel({ modelPath: join(root, 'examples', 'synthetic', 'model.pt'), inputShape: [1, 1, 64, 64], pythons: python, scriptPath: script, cacheRoot: tmp() });
  } catch (x) {
    e = x as LensError;
  }
  assert.ok(e instanceof LensError);
  assert.equal(e.kind, 'model');
  assert.match(e.message, /^model.pt holds weights without a graph: a state_dict of 26 tensors \("enc1.conv1.weight"/);
  assert.match(e.message, /\n  torch.jit.save\(torch.jit.script\(model\), "model_scripted.pt"\)\n  torch.onnx.export\(model, torch.randn\(1, 1, 64, 64\), "model.onnx"/);
  const ck = await exportError('checkpoint.pth');
  assert.match(ck.message, /^checkpoint.pth holds weights without a graph: a training checkpoint/);
});

test('a pickled module is named and never unpickled; an operator the exporter cannot handle is named', opts, async () => {
  const p = await exportError('pickled_module.pth');
  assert.match(p.message, /^pickled_module.pth is a pickled Python object \(class __main__.TrainingScriptNet\): loading it would run code/);
  const f = await exportError('fft_net.pt');
  assert.match(f.message, /cannot export the operator aten::fft_rfft2 used in fft_net.pt/);
  assert.equal(f.where, join(fixtures, 'fft_net.pt'));
});

test('no Python, and a Python without torch, are told apart', opts, async () => {
  const none = await exportError('example_traced.pt', [{ command: join(tmpdir(), 'no-such-python'), args: [], source: 'the unetLens.pythonPath setting' }]);
  assert.match(none.message, /^No Python found to export example_traced.pt to ONNX: tried .*no-such-python \(the unetLens.pythonPath setting: not found\)\. Select an interpreter/);
  // -S: no site-packages, so no torch: a Python that starts but cannot import torch
  const noTorch = await exportError('example_traced.pt', [{ command: PY, args: ['-S'], source: 'test' }]);
  assert.match(noTorch.message, /^The Python at \/usr\/bin\/python3 has no PyTorch \(import torch: ModuleNotFoundError: No module named 'torch'\)/);
});
