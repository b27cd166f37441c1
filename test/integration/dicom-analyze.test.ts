/**
 * DICOM end to end: a 3D run of analyze() on test/fixtures/models/unet3d.onnx whose images are
 * DICOM series (one sub-folder per case) and whose masks are NIfTI, TIFF and .npy files paired
 * by the folder names; and the DICOM reader bundled by esbuild (dicom-parser) in a child Node
 * process. Fixtures and the values pydicom reads: /usr/bin/python3 scripts/make_dicom_fixtures.py
 * The reader itself: test/unit/dicom.test.ts.
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
const FIX = path.join(ROOT, 'test/fixtures/data/dicom');
const expected: Record<string, any> = JSON.parse(fs.readFileSync(path.join(FIX, 'expected.json'), 'utf8'));

describe('3D end to end: analyze() on unet3d.onnx with DICOM series and NIfTI/TIFF/.npy masks', () => {
  let results: Results;
  before(async () => {
    results = await analyze(path.join(ROOT, 'test/fixtures/models/unet3d.onnx'), path.join(FIX, 'ds', 'unetlens.json'));
  });

  it('taps are volumes; every split has metrics at every tap; performance where there are labels', () => {
    assert.ok(results.taps.length >= 4);
    assert.deepEqual(results.taps[0].shape, [2, 8, 8, 8]);
    assert.deepEqual(results.splits.map((s) => [s.name, s.images, s.labeled]), [
      ['train', 3, true],
      ['test', 2, true],
      ['siteB', 1, false],
    ]);
    for (const s of results.splits) {
      for (const t of results.taps) {
        const m = results.metrics[s.name]?.[t.name];
        assert.ok(m && m.points > 0, `${s.name} ${t.name}`);
        if (s.labeled) assert.ok(Number.isFinite(m.db!) && Number.isFinite(m.knnConfidence!), `${s.name} ${t.name}`);
      }
      if (s.labeled) assert.ok(s.performance && Number.isFinite(s.performance.accuracy!), s.name);
      else assert.equal(s.performance, null);
    }
    assert.deepEqual(results.warnings, []);
  });
});

describe('bundle: the DICOM reader works when bundled by esbuild', () => {
  it('a CommonJS node bundle reads a Deflated and a Big Endian series', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'unetlens-bundle-'));
    try {
      const entry = path.join(tmp, 'entry.ts');
      fs.writeFileSync(
        entry,
        [
          `import { readImageFile } from ${JSON.stringify(path.join(ROOT, 'src/engine/data/formats'))};`,
          `const fix = ${JSON.stringify(FIX)};`,
          `const out = ['series/deflate_i8', 'series/be_i16'].map((f) => { const r = readImageFile(fix + '/' + f, { channels: 1, layout: 'NCDHW' }); return [r.dims, Array.from(r.data.slice(0, 8))]; });`,
          `console.log(JSON.stringify(out));`,
        ].join('\n'),
      );
      const outfile = path.join(tmp, 'bundle.js');
      await esbuild.build({ entryPoints: [entry], outfile, bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'silent' });
      const r = spawnSync(process.execPath, [outfile], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const got = JSON.parse(r.stdout);
      for (const [i, key] of ['series/deflate_i8', 'series/be_i16'].entries()) {
        assert.deepEqual(got[i][0], expected[key].dims);
        assert.deepEqual(got[i][1], expected[key].first.map(Math.fround));
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
