/**
 * The CodeLens parser (src/host/codeLensParse.ts): which lines of a training script save a
 * model, and the file they name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import {
  analysisPath,
  candidatePaths,
  classifyTarget,
  findModelSaves,
  languageOf,
  normalizeSavePath,
} from '../../src/host/codeLensParse';

const py = (s: string) => findModelSaves(s, 'python');
const js = (s: string) => findModelSaves(s, 'javascript');

test('torch.onnx.export: the 3rd positional argument or f=, on the line where the call starts', () => {
  const src = [
    'import torch',
    '',
    '# torch.onnx.export(model, x, "commented.onnx")',
    'torch.onnx.export(model, x, "model.onnx", opset_version=13, input_names=["image"])',
    'torch.onnx.export(',
    '    model,',
    '    torch.zeros(1, 1, 64, 64),',
    "    f='out/unet.onnx',",
    ')',
  ].join('\n');
  const found = py(src);
  assert.deepEqual(
    found.map((f) => [f.call, f.path, f.line, f.column]),
    [
      ['torch.onnx.export', 'model.onnx', 3, 0],
      ['torch.onnx.export', 'out/unet.onnx', 4, 0],
    ],
  );
  assert.equal(found[0].pathLine, 3);
  assert.equal(found[0].pathColumn, 'torch.onnx.export(model, x, '.length);
  assert.equal(found[1].pathLine, 7);
});

test('model.save and friends; receivers must look like a model; definitions are not calls', () => {
  const src = [
    'model.save("unet.h5")',
    '    self.unet.save(filepath="ckpt/best.keras")',
    'img.save("preview.png")',
    'def save(self, path): pass',
    'tf.saved_model.save(model, "export/saved")',
    'tfjs.converters.save_keras_model(model, "web_model")',
    'tf.keras.models.save_model(model, r"C:\\models\\m.h5")',
    'keras.saving.save_model(model, filepath="k.keras")',
    'best_model.save(os.path.join(out, "m.h5"))',
    'model.save(f"runs/{epoch}.h5")',
    'model.save(f"runs/final.h5")',
    "model.save('a/' 'b.h5')",
  ].join('\n');
  assert.deepEqual(
    py(src).map((f) => [f.call, f.path, f.line]),
    [
      ['model.save', 'unet.h5', 0],
      ['self.unet.save', 'ckpt/best.keras', 1],
      ['tf.saved_model.save', 'export/saved', 4],
      ['tfjs.converters.save_keras_model', 'web_model', 5],
      ['tf.keras.models.save_model', 'C:\\models\\m.h5', 6],
      ['keras.saving.save_model', 'k.keras', 7],
      ['model.save', 'runs/final.h5', 10],
      ['model.save', 'a/b.h5', 11],
    ],
  );
});

test('strings and comments do not hide or fake calls; triple-quoted strings are skipped', () => {
  const src = [
    'doc = """',
    'torch.onnx.export(model, x, "in_docstring.onnx")',
    '"""',
    's = "model.save(\'in_string.h5\')"  # model.save("in_comment.h5")',
    'torch.onnx.export(model, x, "real.onnx")',
  ].join('\n');
  assert.deepEqual(py(src).map((f) => [f.path, f.line]), [['real.onnx', 4]]);
});

test('TypeScript / JavaScript: tfjs model.save with file://, templates without ${}, other schemes ignored', () => {
  const src = [
    "import * as tf from '@tensorflow/tfjs-node';",
    '// await model.save("file://./commented")',
    "await model.save('file://./web_model');",
    'await model.save(`file://${dir}/x`);',
    'await model.save(`file://out/plain`);',
    "await model.save('localstorage://my-model');",
    "await model.save('indexeddb://my-model');",
    '/* model.save("file://block") */ net.save("file:///abs/unet")',
  ].join('\n');
  assert.deepEqual(
    js(src).map((f) => [f.call, f.path, f.line]),
    [
      ['model.save', './web_model', 2],
      ['model.save', 'out/plain', 4],
      ['net.save', '/abs/unet', 7],
    ],
  );
});

test('an unfinished call (still being typed) is not a lens', () => {
  assert.deepEqual(py('torch.onnx.export(model, x, "m.onnx"'), []);
  assert.deepEqual(py('torch.onnx.export(model, x)'), []);
  assert.deepEqual(py(''), []);
});

test('languageOf, normalizeSavePath', () => {
  assert.equal(languageOf('python'), 'python');
  assert.equal(languageOf('typescriptreact'), 'javascript');
  assert.equal(languageOf('json'), undefined);
  assert.equal(normalizeSavePath('file://./a'), './a');
  assert.equal(normalizeSavePath('http://x/y'), null);
  assert.equal(normalizeSavePath('  '), null);
  assert.equal(normalizeSavePath('model.onnx'), 'model.onnx');
});

test('candidatePaths: the script folder first, then the workspace folders; absolute as is', () => {
  const c = (p: string) => candidatePaths(p, '/ws/train', ['/ws', '/other'], path.posix.join, path.posix.isAbsolute);
  assert.deepEqual(c('model.onnx'), ['/ws/train/model.onnx', '/ws/model.onnx', '/other/model.onnx']);
  assert.deepEqual(c('../model.onnx'), ['/ws/model.onnx', '/model.onnx'], 'each place once');
  assert.deepEqual(c('/abs/m.onnx'), ['/abs/m.onnx']);
});

test('classifyTarget and analysisPath', () => {
  assert.equal(classifyTarget('a/model.onnx', false), 'onnx');
  assert.equal(classifyTarget('a/M.ONNX', false), 'onnx');
  assert.equal(classifyTarget('web/model.json', false), 'tfjs');
  assert.equal(classifyTarget('web', true, ['model.json', 'group1-shard1of1.bin']), 'tfjs');
  assert.equal(classifyTarget('saved', true, ['saved_model.pb', 'variables']), 'savedmodel');
  assert.equal(classifyTarget('unet.h5', false), 'keras');
  assert.equal(classifyTarget('unet.keras', false), 'keras');
  assert.equal(classifyTarget('notes.txt', false), 'unknown');
  assert.equal(classifyTarget('empty', true, []), 'unknown');
  assert.equal(analysisPath('web', 'tfjs', true, path.posix.join), 'web/model.json');
  assert.equal(analysisPath('m.onnx', 'onnx', false, path.posix.join), 'm.onnx');
});

test('torch.jit.save and torch.save: the 2nd positional argument or f=; other .save calls on torch objects are not', () => {
  const src = [
    'torch.jit.save(torch.jit.script(model), "model_scripted.pt")',
    'torch.save(model.state_dict(), f="weights.pth")',
    'torch.save(obj)',
    'optimizer.save("x.pt")',
  ].join('\n');
  assert.deepEqual(
    py(src).map((f) => [f.call, f.path, f.line]),
    [
      ['torch.jit.save', 'model_scripted.pt', 0],
      ['torch.save', 'weights.pth', 1],
    ],
  );
});
