/**
 * The readers end to end: a 3D run of analyze() on test/fixtures/models/unet3d.onnx with NIfTI
 * volumes, and the readers bundled by esbuild and run in a child Node process (nifti-reader-js
 * is ESM-only). Fixtures and the values Python reads from them are written by
 *   /usr/bin/python3 scripts/make_format_fixtures.py
 * The readers themselves are checked in test/unit/readers.test.ts.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import type { Results } from '../../src/engine/types';
import { analyze } from '../../src/engine/pipeline/analyze';

const ROOT = path.resolve(__dirname, '../..');
const FIX = path.join(ROOT, 'test/fixtures/data/formats');
const expected: Record<string, any> = JSON.parse(fs.readFileSync(path.join(FIX, 'expected.json'), 'utf8'));
const DS3D = path.join(FIX, 'ds3d', 'unetlens.json');

describe('3D end to end: analyze() on unet3d.onnx with NIfTI volumes', () => {
  let results: Results;
  before(async () => {
    results = await analyze(path.join(ROOT, 'test/fixtures/models/unet3d.onnx'), DS3D);
  });

  it('taps have shape [C, D, H, W]', () => {
    assert.ok(results.taps.length >= 4);
    for (const t of results.taps) {
      assert.equal(t.shape.length, 4, `${t.name}: ${JSON.stringify(t.shape)}`);
      assert.ok(t.shape.every((d) => Number.isInteger(d) && d >= 1), t.name);
    }
    assert.deepEqual(results.taps[0].shape, [2, 8, 8, 8]);
  });

  it('every split has metrics at every tap; performance only where there are labels', () => {
    assert.deepEqual(results.splits.map((s) => [s.name, s.images, s.labeled]), [
      ['train', 3, true],
      ['test', 2, true],
      ['siteB', 2, false],
    ]);
    for (const s of results.splits) {
      for (const t of results.taps) {
        const m = results.metrics[s.name]?.[t.name];
        assert.ok(m, `${s.name} ${t.name}`);
        assert.ok(m.points > 0, `${s.name} ${t.name}: points`);
        if (s.labeled) {
          assert.ok(Number.isFinite(m.db!), `${s.name} ${t.name}: db`);
          assert.ok(Number.isFinite(m.knnConfidence!), `${s.name} ${t.name}: knnConfidence`);
        }
      }
      if (s.labeled) assert.ok(s.performance && Number.isFinite(s.performance.accuracy!), s.name);
      else assert.equal(s.performance, null);
    }
    assert.deepEqual(results.warnings, []);
    assert.doesNotThrow(() => JSON.parse(JSON.stringify(results)));
  });
});

/* ============================================================================================ */

describe('bundle: the readers work when bundled by esbuild (nifti-reader-js is ESM-only)', () => {
  it('a CommonJS node bundle reads NIfTI, TIFF and JPEG', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unetlens-bundle-'));
    try {
      const entry = path.join(tmp, 'entry.ts');
      fs.writeFileSync(
        entry,
        [
          `import { readImageFile } from ${JSON.stringify(path.join(ROOT, 'src/engine/data/formats'))};`,
          `const fix = ${JSON.stringify(FIX)};`,
          `const out = [['nifti/vol_f32.nii.gz', 'NCDHW'], ['tiff/grey16_zlib_predictor.tif', 'NCHW'], ['jpeg/rgb420.jpg', 'NCHW']]`,
          `  .map(([f, layout]) => { const r = readImageFile(fix + '/' + f, { channels: 1, layout: layout as any }); return [r.dims, Array.from(r.data.slice(0, 3))]; });`,
          `console.log(JSON.stringify(out));`,
        ].join('\n'),
      );
      const outfile = path.join(tmp, 'bundle.js');
      await esbuild.build({ entryPoints: [entry], outfile, bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'silent' });
      const r = spawnSync(process.execPath, [outfile], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const got = JSON.parse(r.stdout);
      assert.deepEqual(got[0][0], expected['nifti/vol_f32.nii.gz'].dims);
      assert.deepEqual(got[0][1], expected['nifti/vol_f32.nii.gz'].data.slice(0, 3).map(Math.fround));
      assert.deepEqual(got[1][0], expected['tiff/grey16_zlib_predictor.tif'].dims);
      assert.deepEqual(got[1][1], expected['tiff/grey16_zlib_predictor.tif'].data.slice(0, 3));
      assert.deepEqual(got[2][0], [3, 13, 20]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
