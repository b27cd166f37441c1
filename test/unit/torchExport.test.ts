/**
 * The pure parts of the PyTorch path (torchExport.ts): which Pythons are tried in which order,
 * the export input shape, where exports go (POSIX and Windows paths), and the messages.
 * The export itself runs in test/integration/torchExport.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import {
  defaultExportRoot,
  explainFailure,
  exportDirFor,
  exportInputShape,
  isTorchPath,
  parseAnswer,
  pythonCandidates,
} from '../../src/engine/model/torchExport';
import { DEFAULT_INPUT } from '../../src/engine/data/datasetFile';
import { LensError } from '../../src/engine/types';

test('Pythons: the Python extension, then unetLens.pythonPath, then PATH; duplicates and blanks dropped', () => {
  assert.deepEqual(
    pythonCandidates({ fromExtension: '/venv/bin/python', setting: '/usr/bin/python3', platform: 'linux' }).map((c) => [c.command, c.args, c.source]),
    [
      ['/venv/bin/python', [], "the Python extension's selected interpreter"],
      ['/usr/bin/python3', [], 'the unetLens.pythonPath setting'],
      ['python3', [], 'PATH'],
    ],
  );
  assert.deepEqual(pythonCandidates({ setting: '  ', platform: 'darwin' }).map((c) => c.command), ['python3']);
  assert.deepEqual(pythonCandidates({ fromExtension: 'python3', platform: 'linux' }).length, 1);
  assert.deepEqual(
    pythonCandidates({ fromExtension: 'C:\\Users\\me\\.venv\\Scripts\\python.exe', platform: 'win32' }).map((c) => [c.command, c.args]),
    [
      ['C:\\Users\\me\\.venv\\Scripts\\python.exe', []],
      ['python', []],
      ['py', ['-3']],
    ],
  );
});

test('export input shape from the dataset file: [1, C, …size], channels last for NHWC; no size is a dataset error', () => {
  assert.deepEqual(exportInputShape({ ...DEFAULT_INPUT, size: [64, 64] }, 'u.json'), [1, 1, 64, 64]);
  assert.deepEqual(exportInputShape({ ...DEFAULT_INPUT, layout: 'NCDHW', channels: 2, size: [8, 16, 16] }, 'u.json'), [1, 2, 8, 16, 16]);
  assert.deepEqual(exportInputShape({ ...DEFAULT_INPUT, layout: 'NHWC', channels: 3, size: [32, 32] }, 'u.json'), [1, 32, 32, 3]);
  assert.throws(
    () => exportInputShape({ ...DEFAULT_INPUT }, '/w/unetlens.json'),
    (e: LensError) => e.kind === 'dataset' && /unetlens.json: "input.size" is needed to export a PyTorch model/.test(e.message),
  );
});

test('exports go to the storage folder keyed by checkpoint hash and shape (POSIX and Windows)', () => {
  const sha = 'ab'.repeat(32);
  assert.equal(exportDirFor('/home/u/.cache/unet-lens/exports', sha, [1, 1, 64, 64], path.posix), '/home/u/.cache/unet-lens/exports/abababababababab-1x1x64x64');
  assert.equal(
    exportDirFor('C:\\Users\\u\\AppData\\Roaming\\Code\\User\\globalStorage\\unetlens.unet-lens\\exports', sha, [1, 2, 8, 16, 16], path.win32),
    'C:\\Users\\u\\AppData\\Roaming\\Code\\User\\globalStorage\\unetlens.unet-lens\\exports\\abababababababab-1x2x8x16x16',
  );
  assert.equal(defaultExportRoot({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32'), 'C:\\Users\\u\\AppData\\Local\\unet-lens\\exports');
  assert.equal(defaultExportRoot({}, 'win32', 'C:\\Users\\u'), 'C:\\Users\\u\\AppData\\Local\\unet-lens\\exports');
  assert.equal(defaultExportRoot({ XDG_CACHE_HOME: '/c' }, 'linux'), '/c/unet-lens/exports');
  assert.equal(defaultExportRoot({}, 'linux', '/home/u'), '/home/u/.cache/unet-lens/exports');
  assert.equal(defaultExportRoot({}, 'darwin', '/Users/u'), '/Users/u/Library/Caches/unet-lens/exports');
  assert.ok(isTorchPath('C:\\runs\\best.PTH') && isTorchPath('/r/model.pt') && !isTorchPath('/r/model.onnx') && !isTorchPath('/r/pt'));
});

test("the script's answer is its last JSON line, whatever torch printed before", () => {
  assert.deepEqual(parseAnswer('UserWarning: blah\n{"ok": true, "onnx": "/x"}\n'), { ok: true, onnx: '/x' });
  assert.equal(parseAnswer('Traceback …\nSyntaxError'), undefined);
});

test('messages: weights without a graph show the two lines that fix it; pickles, operators and torch are named', () => {
  const sd = explainFailure({ ok: false, code: 'weights-only', holds: 'state_dict', tensors: 26, keys: ['enc1.conv1.weight', 'enc1.conv1.bias'] }, '/w/runs/best.pt', [1, 1, 64, 64], 'python3');
  assert.equal(
    sd,
    'best.pt holds weights without a graph: a state_dict of 26 tensors ("enc1.conv1.weight", "enc1.conv1.bias", …). UNet Lens needs the network itself. In your training script, with the model built and these weights loaded, save it one of two ways, then analyze that file:\n' +
      '  torch.jit.save(torch.jit.script(model), "best_scripted.pt")\n' +
      '  torch.onnx.export(model, torch.randn(1, 1, 64, 64), "best.onnx", opset_version=13, input_names=["input"], dynamic_axes={"input": {0: "batch"}})',
  );
  assert.match(
    explainFailure({ ok: false, code: 'pickled-module', cls: '__main__.UNet' }, '/w/m.pth', [1, 1, 8, 8], 'p'),
    /^m.pth is a pickled Python object \(class __main__.UNet\): loading it would run code from your training scripts.*\n  torch.jit.save\(torch.jit.script\(model\), "m_scripted.pt"\)\n  torch.onnx.export/s,
  );
  assert.match(
    explainFailure({ ok: false, code: 'unsupported-op', op: 'aten::fft_rfft2', opset: 13, torch: '1.13.0' }, '/w/f.pt', [1, 1, 8, 8], 'p'),
    /^PyTorch's ONNX exporter \(torch 1.13.0, opset 13\) cannot export the operator aten::fft_rfft2 used in f.pt/,
  );
  assert.match(
    explainFailure({ ok: false, code: 'no-torch', message: "ModuleNotFoundError: No module named 'torch'", python: '/venv/bin/python' }, '/w/f.pt', [1], 'p'),
    /^The Python at \/venv\/bin\/python has no PyTorch \(import torch: ModuleNotFoundError: No module named 'torch'\)\. Install torch in that environment/,
  );
});
