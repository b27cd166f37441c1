/**
 * The per-split cache (src/engine/pipeline/splitCache.ts, issue 12 "no work done twice") in the
 * real pipeline, onnxruntime included, on the tiny segmentation fixture (test/fixtures/tasks/seg2d)
 * with an unlabelled split, the shift sweep and the maps on: a run that reads splits back gives
 * the results a run without the cache gives (all but `createdAt` and `timings`), and only what is
 * new or changed goes through the model (counted as pipelineShifts.test.ts counts it).
 * Run: node --import tsx --test test/integration/splitCache.test.ts
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyze, type AnalyzeOptions } from '../../src/engine/pipeline/analyze';
import type { Results } from '../../src/engine/types';
import { tmp, copyFixture, countingImages, lensError } from './pipelineFixtures';

/** Results without what differs between two runs of the same inputs. */
function comparable(r: Results): unknown {
  const c = JSON.parse(JSON.stringify(r));
  delete c.createdAt;
  delete c.timings;
  if (c.performanceWithoutLabels) delete c.performanceWithoutLabels.timingMs;
  return c;
}

/** analyze(), counting the images onnxruntime runs (feeds that are N×C×H×W batches), and its log. */
async function counted(model: string, file: string, opts: AnalyzeOptions = {}): Promise<{ r: Results; images: number; log: string[] }> {
  const log: string[] = [];
  const { value: r, images } = await countingImages(() => analyze(model, file, { ...opts, log: (m) => log.push(m) }));
  return { r, images, log };
}

/**
 * Images of unlabelled split `name` that its maps ran through the model again: its worst
 * predicted ones not among its first (`ids`: the split's ids in file order). Their maps are
 * cached in an entry of their own.
 */
function mapsAgain(r: Results, name: string, ids: string[]): number {
  const items = r.maps.items.filter((m) => m.split === name);
  return items.filter((m) => !ids.slice(0, items.length).includes(m.image)).length;
}

/** The ids of the fixture's test images (site's and site2's too), in file order. */
const testIds = (dir: string) => fs.readdirSync(path.join(dir, 'data', 'test', 'images')).sort().map((f) => f.replace(/\.npy$/, ''));

const withSite = () =>
  copyFixture('seg2d', (c) => {
    c.splits.site = { images: 'data/test/images' };
  });

describe('the split cache in the pipeline', () => {
  it('a second run reads train, test, site and the shifted copies back: the same results, only the loader\'s probe through the model', async () => {
    const { dir, file } = withSite();
    const model = path.join(dir, 'seg2d.onnx');
    const cacheDir = path.join(tmp(), 'cache');
    const plain = await counted(model, file);
    const cold = await counted(model, file, { cacheDir });
    assert.deepEqual(comparable(cold.r), comparable(plain.r), 'a run that fills the cache gives the same results');
    assert.equal(cold.images, plain.images, 'and runs every image');
    assert.ok(plain.r.maps.items.length > 0 && plain.r.performanceWithoutLabels && plain.r.warnings.length >= 0);
    const again = mapsAgain(plain.r, 'site', testIds(dir));
    assert.equal(fs.readdirSync(cacheDir).filter((f) => f.endsWith('.v8')).length, 4 + (again ? 1 : 0), 'train, test, site and the copies (and the maps of site\'s worst predicted images when they are not its first)');
    const warm = await counted(model, file, { cacheDir });
    assert.deepEqual(comparable(warm.r), comparable(plain.r), 'read back: the same results, maps, warnings and predictions');
    assert.equal(warm.images, 1, 'only the loader\'s one-image probe');
    assert.ok(warm.log.some((m) => m.includes('read back train, test, site, the shifted copies; measured nothing')), warm.log.join('\n'));
    assert.ok(warm.log.some((m) => m.startsWith('shift sweep: the shifted copies read back')));
  });

  it('a split appended to the dataset file runs alone (its plain and test-time-augmented passes); a changed image re-measures its split only', async () => {
    const { dir, file } = withSite();
    const model = path.join(dir, 'seg2d.onnx');
    const cacheDir = path.join(tmp(), 'cache');
    await counted(model, file, { cacheDir });
    const cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
    cfg.splits.site2 = { images: 'data/test/images' };
    fs.writeFileSync(file, JSON.stringify(cfg, null, 2));
    const plain = await counted(model, file);
    const added = await counted(model, file, { cacheDir });
    const p = plain.r.performanceWithoutLabels!;
    const n2 = plain.r.splits.find((s) => s.name === 'site2')!.images;
    assert.deepEqual(comparable(added.r), comparable(plain.r));
    assert.equal(added.images, 1 + n2 * (1 + p.settings.tta!) + mapsAgain(plain.r, 'site2', testIds(dir)), 'the probe, site2 once and its TTA passes (and its worst predicted images for their maps, when not its first)');
    assert.ok(added.log.some((m) => m.includes('read back train, test, site, the shifted copies; measured site2')), added.log.join('\n'));

    // A new mtime on one of site's images: site is measured again (the same pixels, so the same results).
    const imgDir = path.join(dir, 'data', 'test', 'images');
    const one = path.join(imgDir, fs.readdirSync(imgDir).sort()[0]);
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(one, later, later);
    const touched = await counted(model, file, { cacheDir });
    assert.deepEqual(comparable(touched.r), comparable(plain.r));
    // test's images are site's and site2's too: test, the copies (made from test), site and site2 run again; train is read back
    assert.ok(touched.log.some((m) => m.includes('read back train; measured test, site, site2, the shifted copies')), touched.log.join('\n'));
    assert.ok(touched.images > n2 * 2 && touched.images < plain.images, `${touched.images} of ${plain.images}`);
  });

  it('another seed misses everything; a corrupt entry is measured again and replaced; a cache folder that cannot be made leaves the run uncached', async () => {
    const { dir, file } = withSite();
    const model = path.join(dir, 'seg2d.onnx');
    const cacheDir = path.join(tmp(), 'cache');
    const first = await counted(model, file, { cacheDir, overrides: { mapsPerSplit: 0 } });
    const entries = fs.readdirSync(cacheDir).filter((f) => f.endsWith('.v8'));
    assert.equal(entries.length, 4);
    const seed = await counted(model, file, { cacheDir, overrides: { mapsPerSplit: 0, seed: 7 } });
    assert.equal(seed.images, first.images, 'another seed: everything runs');
    assert.ok(seed.log.some((m) => m.includes('nothing read back')));
    assert.equal(fs.readdirSync(cacheDir).filter((f) => f.endsWith('.v8')).length, 8, 'the first run\'s 4 and the other seed\'s 4');
    // garbage in every entry of the first run's: each is dropped, measured again, written again
    for (const f of entries) fs.writeFileSync(path.join(cacheDir, f), 'not a cache entry');
    const again = await counted(model, file, { cacheDir, overrides: { mapsPerSplit: 0 } });
    assert.deepEqual(comparable(again.r), comparable(first.r));
    assert.equal(again.images, first.images);
    assert.ok(again.log.some((m) => /split cache: [0-9a-f]{64}\.v8 unreadable/.test(m)), again.log.join('\n'));
    const rewritten = entries.filter((f) => fs.existsSync(path.join(cacheDir, f)) && fs.readFileSync(path.join(cacheDir, f)).length > 100);
    assert.equal(rewritten.length, 4, 'every entry written again');
    // a regular file where the folder should be
    const notDir = path.join(tmp(), 'a-file');
    fs.writeFileSync(notDir, 'x');
    const uncached = await counted(model, file, { cacheDir: notDir, overrides: { mapsPerSplit: 0 } });
    assert.deepEqual(comparable(uncached.r), comparable(first.r));
    assert.ok(uncached.log.some((m) => m.startsWith(`split cache: ${notDir} cannot be made`)), uncached.log.join('\n'));
    assert.equal(fs.readFileSync(notDir, 'utf8'), 'x', 'the file is left as it was');
  });

  it('cancelled during the sweep: the splits measured so far are kept, and the next run starts from them', async () => {
    const { dir, file } = withSite();
    const model = path.join(dir, 'seg2d.onnx');
    const cacheDir = path.join(tmp(), 'cache');
    const token = { cancelled: false };
    const e = await lensError(
      analyze(model, file, {
        cacheDir,
        overrides: { mapsPerSplit: 0 },
        cancel: token,
        onProgress: (ev) => {
          if (ev.message.startsWith('Shift sweep: noise')) token.cancelled = true;
        },
      }),
    );
    assert.equal(e.kind, 'cancelled');
    const plain = await counted(model, file, { overrides: { mapsPerSplit: 0 } });
    const next = await counted(model, file, { cacheDir, overrides: { mapsPerSplit: 0 } });
    assert.deepEqual(comparable(next.r), comparable(plain.r));
    assert.ok(next.log.some((m) => m.includes('read back train, test, site; measured the shifted copies')), next.log.join('\n'));
    const p = plain.r.performanceWithoutLabels!;
    const n = (name: string) => plain.r.splits.find((s) => s.name === name)!.images;
    // site's test-time-augmented passes are part of its own measure, read back with it
    assert.equal(next.images, plain.images - (n('train') + n('test') + n('site') * (1 + p.settings.tta!)), 'only the sweep\'s copies run again');
    assert.ok(p.shifts.length > 1);
  });
});
