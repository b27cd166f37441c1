/**
 * The one list of model files (src/engine/model/contract.ts) against the places that cannot
 * import it: the `when` clauses of package.json's menus.
 *
 *   node --import tsx --test test/unit/modelFiles.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { MODEL_EXTENSIONS, MODEL_FILE_NAMES, modelFileFormat, modelFilesGlob, modelFormatOf } from '../../src/engine/model/contract';

const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
  contributes: { menus: Record<string, { command: string; when?: string }[]> };
};

test('every menu entry of unetLens.analyze shows on exactly the model files of contract.ts', () => {
  const entries = Object.entries(pkg.contributes.menus).flatMap(([menu, items]) =>
    items.filter((i) => i.command === 'unetLens.analyze' && menu !== 'commandPalette').map((i) => ({ menu, when: i.when })),
  );
  assert.ok(entries.length >= 3, 'the explorer, editor title and editor title context menus');
  for (const { menu, when } of entries) {
    assert.ok(when, `${menu}: no when clause`);
    const exts: string[] = [];
    const names: string[] = [];
    for (const term of when.split('||').map((t) => t.trim())) {
      const m = /^(resourceExtname|resourceFilename) == (\S+)$/.exec(term);
      assert.ok(m, `${menu}: unexpected term "${term}" in the when clause`);
      (m[1] === 'resourceExtname' ? exts : names).push(m[2]);
    }
    assert.deepEqual(exts.slice().sort(), MODEL_EXTENSIONS.slice().sort(), `${menu}: extensions of the when clause`);
    assert.deepEqual(names.slice().sort(), MODEL_FILE_NAMES.slice().sort(), `${menu}: file names of the when clause`);
  }
});

test('model file formats by name, and the workspace glob', () => {
  assert.equal(modelFileFormat('a/b/M.ONNX'), 'onnx');
  assert.equal(modelFileFormat('unet.h5'), 'keras');
  assert.equal(modelFileFormat('unet.hdf5'), 'keras');
  assert.equal(modelFileFormat('unet.keras'), 'keras');
  assert.equal(modelFileFormat('web\\model.json'), 'tfjs');
  assert.equal(modelFileFormat('web/other.json'), undefined);
  assert.equal(modelFormatOf('web/other.json'), 'tfjs'); // the loader checks the content
  assert.equal(modelFileFormat('notes.txt'), undefined);
  assert.equal(modelFileFormat('runs\\best.PTH'), 'pytorch');
  assert.equal(modelFilesGlob(), '**/{*.onnx,*.pt,*.pth,*.h5,*.hdf5,*.keras,model.json}');
});
