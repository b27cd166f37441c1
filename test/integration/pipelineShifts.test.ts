/**
 * The shift sweep of METHOD.md §5 in the pipeline (src/engine/pipeline/sweep.ts,
 * src/engine/shift/): performance without labels on the tiny segmentation fixture
 * (test/fixtures/tasks/seg2d), its determinism, one model run per image of an unlabelled split
 * (its own pass feeds the sweep), and a copy whose prediction is not finite.
 * Split from pipeline.test.ts; the shared fixtures and checks are in pipelineFixtures.ts.
 * Run: node --import tsx --test test/integration/pipelineShifts.test.ts
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyze } from '../../src/engine/pipeline/analyze';
import { HALF_PAIRS } from '../../src/engine/pipeline/sweep';
import * as ort from 'onnxruntime-node';
import { LensError, type Results } from '../../src/engine/types';
import { readNpy } from '../../src/engine/data/formats/npy';
import { applyShift } from '../../src/engine/shift/transforms';
import { morphObjects } from '../../src/engine/shift/objects';
import { root, TASKS, tmp, lensError, copyFixture, countingImages, noNonFinite, writeLesionDataset } from './pipelineFixtures';

/* ------------------------------------------------------------------------------------------ */
/* Performance without labels (METHOD.md §5)                                                    */
/* ------------------------------------------------------------------------------------------ */

describe('performance without labels: the shift sweep in the pipeline', () => {
  /** seg2d with one more split: the test images without their labels. */
  const withUnlabelled = () =>
    copyFixture('seg2d', (c) => {
      c.splits.site = { images: 'data/test/images' };
    });

  it('segmentation: the test split is shifted; the unshifted copy scores the test split\'s Dice; every unlabelled split gets predictedPerformance = the features estimate', async () => {
    const { file } = withUnlabelled();
    const events: string[] = [];
    const r = await analyze(path.join(TASKS, 'seg2d', 'seg2d.onnx'), file, { onProgress: (e) => events.push(e.message) });
    noNonFinite(r);
    const p = r.performanceWithoutLabels!;
    assert.ok(p, 'the section is there');
    assert.equal(p.metric, 'dice');
    assert.deepEqual(p.calibration, { splits: ['test'], images: r.splits.find((s) => s.name === 'test')!.images, heldOutOfTrain: false });
    assert.equal(p.shifts.length, 31, 'the unshifted copy and 10 families × 3 strengths');
    assert.deepEqual([...new Set(p.shifts.map((s) => s.family))], ['none', 'noise', 'blur', 'gamma', 'contrast', 'scale', 'distractors', 'dim', 'bias', 'lowres', 'stripes']);
    // Every image of the test split is shifted: the unshifted copy is the test split itself.
    const testDice = r.splits.find((s) => s.name === 'test')!.performance!.dice as number;
    assert.ok(Math.abs(p.shifts[0].performance - testDice) <= 5e-7, `${p.shifts[0].performance} vs ${testDice}`);
    assert.ok(p.shifts.some((s) => s.performance < testDice - 0.05), 'some shift hurts the model');
    for (const s of p.shifts) {
      assert.deepEqual(Object.keys(s.features), r.taps.map((t) => t.name));
      assert.ok(s.output && s.output.maxProbability >= 0.5 && s.output.maxProbability <= 1 && s.output.entropy >= 0 && s.output.foreground >= 0);
    }
    assert.deepEqual(Object.keys(p.indicativeness), r.taps.map((t) => t.name));
    for (const name of ['features', 'maxProbability', 'entropy'] as const) {
      const s = p.predictors[name]!;
      assert.ok(s, name);
      assert.ok(s.lofoMae !== null && s.lofoMae >= 0 && s.interval && s.interval.below >= 0, name);
      for (const c of p.shifts) assert.ok(c.lofo[name] === null || (c.lofo[name]! >= 0 && c.lofo[name]! <= 1));
    }
    assert.deepEqual(Object.keys(p.splits), ['site']);
    const est = p.splits.site.predicted.features!;
    assert.ok(est.low <= est.value && est.value <= est.high && est.low >= 0 && est.high <= 1);
    const site = r.splits.find((s) => s.name === 'site')!;
    assert.deepEqual(site.predictedPerformance, { dice: est.value, low: est.low, high: est.high });
    // Issue 10: anchored on the unshifted copy, graded, per image, the CSV's name.
    assert.equal(p.predictors.features!.anchored, true);
    assert.equal(p.shifts[0].lofo.features, Math.round(p.shifts[0].performance * 1e4) / 1e4, 'the anchored fit reproduces the unshifted copy');
    assert.ok(['good', 'fair', 'cannot tell'].includes(est.grade!), `grade ${est.grade}`);
    assert.equal(est.grade === 'cannot tell', est.high - est.low > 0.3 + 1e-9);
    const ps = p.splits.site;
    assert.equal(ps.perImage!.length, site.images, 'one estimate per image');
    assert.ok(ps.perImage!.every((e, i, a) => i === 0 || a[i - 1].value <= e.value), 'worst first');
    assert.ok(ps.perImage!.every((e) => e.file.startsWith('data/test/images/') && e.low <= e.value && e.value <= e.high));
    assert.equal(ps.casesToLabel, 'cases-to-label-site.csv');
    assert.ok(ps.fromImages && ps.fromImages.low <= ps.fromImages.value && ps.fromImages.value <= ps.fromImages.high);
    // ours = the mean m of the set-level fit and the per-image aggregate, its change from the
    // unshifted copy's value stretched by `deshrink` (combine.ts; ≥ 1): y₀ + k·(m − y₀), clipped.
    // Each input is rounded to 4 digits, so the tolerance is k·1e-4 + 1e-4.
    const k = p.predictors.features!.deshrink!;
    const y0 = p.shifts[0].performance;
    assert.ok(k >= 1 && k <= 2, `deshrink ${k}`);
    const want = Math.min(1, Math.max(0, y0 + k * ((ps.fromSets!.value + ps.fromImages.value) / 2 - y0)));
    assert.ok(ps.fromSets && Math.abs(est.value - want) <= k * 1e-4 + 1e-4, `${est.value} vs ${want} (${ps.fromSets?.value}, ${ps.fromImages.value}, k ${k})`);
    // the normalised interval: never narrower than its half-width at the unshifted copy's inputs
    const q0 = p.predictors.features!.interval!.below;
    assert.ok(p.predictors.features!.intervalPerDistance! >= 0 && (est.high - est.low >= 2 * q0 - 2e-4 || est.low === 0 || est.high === 1));
    assert.ok(p.temperature! > 0 && p.imagePredictor && p.settings.tta === 2);
    assert.ok(p.shifts.every((s) => s.perImage!.length === s.images && s.outputFeatures && s.outputFeatures.tta !== null));
    // the test split's images as an unlabelled split: the same images as the unshifted copy
    assert.deepEqual(ps.outputFeatures, p.shifts[0].outputFeatures);
    assert.equal(r.splits.find((s) => s.name === 'test')!.predictedPerformance, undefined, 'labelled splits are measured, not predicted');
    assert.ok(events.some((m) => m.startsWith('Shift sweep: blur')), 'progress names the copies');
    assert.ok(typeof r.timings.shiftsMs === 'number' && r.timings.shiftsMs > 0);
    // the images the verdict asks to label carry their thumbnail (the image and its prediction),
    // taken in the split's own pass: the same preview and labels as a map of the same image
    const withThumb = ps.perImage!.filter((e) => e.thumb).map((e) => e.id);
    assert.deepEqual(withThumb, ps.perImage!.slice(0, 10).map((e) => e.id));
    assert.deepEqual(r.verdict!.unlabeled[0].action.images, withThumb.slice(0, r.verdict!.unlabeled[0].action.images.length));
    let compared = 0;
    for (const e of ps.perImage!.filter((x) => x.thumb)) {
      const t = e.thumb!;
      assert.ok(t.dims.length === 2 && Math.max(...t.dims) <= 64 && t.image.length === t.dims[0] * t.dims[1] && t.prediction.length === t.image.length);
      assert.ok(t.image.every((v) => Number.isInteger(v) && v >= 0 && v <= 255) && t.prediction.every((v) => v === 0 || v === 1));
      const m = r.maps.items.find((x) => x.split === 'site' && x.image === e.id);
      if (m && m.preview.dims[0] === t.dims[0] && m.preview.dims[1] === t.dims[1]) {
        assert.deepEqual(t.image, m.preview.values, `${e.id}: the maps' preview`);
        assert.deepEqual(t.prediction, m.prediction, `${e.id}: the maps' prediction`);
        compared++;
      }
    }
    assert.ok(compared > 0 || !r.maps.items.some((x) => x.split === 'site' && withThumb.includes(x.image)), 'compared with the maps where both exist');
  });

  it('the same seed gives the same section; analysis.shifts false (or the override) leaves it out', async () => {
    const { file } = withUnlabelled();
    const model = path.join(TASKS, 'seg2d', 'seg2d.onnx');
    const a = await analyze(model, file, { overrides: { mapsPerSplit: 0 } });
    const b = await analyze(model, file, { overrides: { mapsPerSplit: 0 } });
    const strip = (p: any) => ({ ...p, timingMs: 0 });
    assert.deepEqual(strip(b.performanceWithoutLabels), strip(a.performanceWithoutLabels));
    const off = await analyze(model, file, { overrides: { mapsPerSplit: 0, shifts: { enabled: false } } });
    assert.equal(off.performanceWithoutLabels, undefined);
    assert.equal(off.splits.find((s) => s.name === 'site')!.predictedPerformance, undefined);
    const { file: offFile } = copyFixture('seg2d', (c) => {
      c.analysis.shifts = false;
    });
    assert.equal((await analyze(model, offFile, { overrides: { mapsPerSplit: 0 } })).performanceWithoutLabels, undefined);
  });

  it('train the only labelled split: its last fifth is held out of the train reference and shifted, and the results say so', async () => {
    // The example's 48 train images (seg2d's train is too small to hold a part out).
    const ex = path.join(root, 'examples', 'synthetic');
    const file = path.join(tmp(), 'unetlens.json');
    writeLesionDataset(
      file,
      { train: { images: path.join(ex, 'data/train/images'), labels: path.join(ex, 'data/train/masks') }, site: { images: path.join(ex, 'data/siteB/images') } },
      { maxPoints: 256, mapsPerSplit: 0, shifts: { maxPoints: 256 } },
    );
    const trainCount = fs.readdirSync(path.join(ex, 'data', 'train', 'images')).length;
    const r = await analyze(path.join(ex, 'model.onnx'), file);
    const p = r.performanceWithoutLabels!;
    const held = Math.max(2, Math.round(trainCount / 5));
    assert.equal(p.calibration.heldOutOfTrain, true);
    assert.deepEqual(p.calibration.splits, ['train']);
    assert.equal(p.calibration.images, held);
    assert.match(p.calibration.note!, /held out of the train reference/);
    assert.equal(r.splits.find((s) => s.name === 'train')!.images, trainCount - held, 'train\'s pass leaves the held-out images out');
    assert.ok(r.splits.find((s) => s.name === 'site')!.predictedPerformance);
  });

  it('nothing to shift: "auto" skips quietly, true says why in warnings', async () => {
    const model = path.join(TASKS, 'seg2d', 'seg2d.onnx');
    const few = (enabled: boolean | 'auto') =>
      copyFixture('seg2d', (c) => {
        c.splits = { train: { images: 'data/test/images', labels: 'data/test/masks' }, site: { images: 'data/train/images' } };
        c.analysis.shifts = { enabled };
      });
    const testCount = fs.readdirSync(path.join(TASKS, 'seg2d', 'data', 'test', 'images')).length;
    assert.ok(testCount < 8, 'the fixture\'s test split is too small to hold a part out');
    const auto = await analyze(model, few('auto').file, { overrides: { mapsPerSplit: 0 } });
    assert.equal(auto.performanceWithoutLabels, undefined);
    assert.ok(!auto.warnings.some((w) => w.startsWith('Performance without labels')));
    const on = await analyze(model, few(true).file, { overrides: { mapsPerSplit: 0 } });
    assert.equal(on.performanceWithoutLabels, undefined);
    assert.ok(on.warnings.some((w) => /^Performance without labels: there is no labelled split besides train, and train has only \d+ images/.test(w)), on.warnings.join('\n'));
  });

  it('classification predicts accuracy; regression predicts SSIM without output baselines', async () => {
    const c = await analyze(path.join(TASKS, 'classification', 'classifier.onnx'), path.join(TASKS, 'classification', 'unetlens.json'), { overrides: { mapsPerSplit: 0 } });
    noNonFinite(c);
    const pc = c.performanceWithoutLabels!;
    assert.equal(pc.metric, 'accuracy');
    assert.ok(Math.abs(pc.shifts[0].performance - (c.splits.find((s) => s.name === 'test')!.performance!.accuracy as number)) <= 5e-7);
    assert.ok(pc.predictors.features!.inputs.every((i) => /knnConfidence|featureShift/.test(i)), pc.predictors.features!.inputs.join());
    assert.ok(c.splits.find((s) => s.name === 'shifted')!.predictedPerformance?.accuracy !== undefined);
    const d = await analyze(path.join(TASKS, 'denoise', 'denoiser.onnx'), path.join(TASKS, 'denoise', 'unetlens.json'));
    noNonFinite(d);
    const pd = d.performanceWithoutLabels!;
    assert.equal(pd.metric, 'ssim');
    assert.ok(Math.abs(pd.shifts[0].performance - (d.splits.find((s) => s.name === 'test')!.performance!.ssim as number)) <= 5e-7);
    assert.equal(pd.predictors.maxProbability, null);
    assert.equal(pd.predictors.entropy, null);
    assert.equal(pd.shifts[0].output, null);
    const est = pd.splits.noisier.predicted.features;
    assert.ok(est && est.low <= est.value && est.value <= est.high && est.low >= -1 && est.high <= 1);
  });

  it('NaN/Inf at an interior tap: its sweep features and indicativeness are null, the predictor fits on the rest, nothing non-finite', async () => {
    const { file } = withUnlabelled();
    const r = await analyze(path.join(TASKS, 'seg2d', 'nan_tap.onnx'), file, { overrides: { mapsPerSplit: 0 } });
    noNonFinite(r);
    const p = r.performanceWithoutLabels!;
    const bad = r.taps.filter((t) => Object.values(r.metrics.test[t.name]).every((v) => v === null || v === 0)).map((t) => t.name);
    assert.ok(bad.length >= 1, 'the fixture has a NaN tap');
    for (const t of bad) {
      for (const s of p.shifts) assert.equal(s.features[t].featureShift, null, t);
      assert.equal(p.indicativeness[t].featureShift, null);
    }
    assert.ok(p.predictors.features && p.splits.site.predicted.features);
  });

  it('an unlabelled split runs through the model once: its own pass feeds the sweep too (only the test-time-augmented passes are extra)', async () => {
    const { file } = withUnlabelled();
    // Images through the model (pipelineFixtures.ts `countingImages`).
    const { value: r, images } = await countingImages(() => analyze(path.join(TASKS, 'seg2d', 'seg2d.onnx'), file, { overrides: { mapsPerSplit: 0 } }));
    const p = r.performanceWithoutLabels!;
    const n = (name: string) => r.splits.find((s) => s.name === name)!.images;
    const tta = p.settings.tta!;
    assert.ok(tta > 0 && p.shifts.length > 1);
    // the loader's probe (one zero image); train, test and site once each; every shifted copy of the calibration images with its TTA
    // passes; the HALF_PAIRS halvings of the calibration images (each image once per halving) with their TTA passes; site's TTA
    // passes (its plain pass is the one above).
    assert.equal(p.samplingNoise?.halves.length, HALF_PAIRS);
    assert.equal(images, 1 + n('train') + n('test') + n('site') + (p.shifts.length + HALF_PAIRS) * p.calibration.images * (1 + tta) + n('site') * tta);
  });

  it('the maps of an unlabelled split are of its worst predicted images, worst first, with the numbers of maps taken in its pass; only those not among its first images run again', async () => {
    const { file } = withUnlabelled();
    const model = path.join(TASKS, 'seg2d', 'seg2d.onnx');
    const count = 2;
    const { value: r, images } = await countingImages(() => analyze(model, file, { overrides: { mapsPerSplit: count } }));
    const { images: noMaps } = await countingImages(() => analyze(model, file, { overrides: { mapsPerSplit: 0 } }));
    // without the sweep (no ranking): the first images of every split, as taken in their passes
    const first = await analyze(model, file, { overrides: { mapsPerSplit: count, shifts: { enabled: false } } });
    // every image of site mapped in its pass: the reference numbers of each
    const all = await analyze(model, file, { overrides: { mapsPerSplit: 1000, shifts: { enabled: false } } });
    const worst = r.performanceWithoutLabels!.splits.site.perImage!.slice(0, count).map((e) => e.id);
    const siteMaps = r.maps.items.filter((m) => m.split === 'site');
    assert.deepEqual(siteMaps.map((m) => m.image), worst, 'worst predicted first');
    for (const m of siteMaps) assert.deepEqual(m, all.maps.items.find((x) => x.split === 'site' && x.image === m.image), `${m.image}: the same map as one taken in site's pass`);
    // the labelled splits' maps are their first images, as before, and the splits keep their order
    assert.deepEqual(r.maps.items.map((m) => m.split), first.maps.items.map((m) => m.split));
    assert.deepEqual(r.maps.items.filter((m) => m.split !== 'site'), first.maps.items.filter((m) => m.split !== 'site'));
    const firstIds = first.maps.items.filter((m) => m.split === 'site').map((m) => m.image);
    const again = worst.filter((id) => !firstIds.includes(id)).length;
    assert.ok(again > 0, `the fixture's worst predicted images (${worst}) are not its first (${firstIds}): the path that runs them again is taken`);
    assert.equal(images - noMaps, again, 'only the worst images not among the first ones ran through the model again');
  });

  it('an image deleted before the worst predicted images are mapped again: a warning that names it, the maps of the first images, the rest of the results as in an undisturbed run', async () => {
    const { dir, file } = copyFixture('seg2d', (c) => {
      c.splits.site = { images: 'data/site/images' };
    });
    const siteDir = path.join(dir, 'data', 'site', 'images');
    fs.cpSync(path.join(dir, 'data', 'test', 'images'), siteDir, { recursive: true });
    const model = path.join(TASKS, 'seg2d', 'seg2d.onnx');
    const count = 2;
    const plain = await analyze(model, file, { overrides: { mapsPerSplit: count } });
    const first = fs.readdirSync(siteDir).sort().slice(0, count).map((f) => f.replace(/\.npy$/, ''));
    const gone = plain.performanceWithoutLabels!.splits.site.perImage!.slice(0, count).map((e) => e.id).filter((id) => !first.includes(id));
    assert.ok(gone.length > 0, 'the fixture\'s worst predicted images are not all among its first');
    // site's own pass is over when the sweep starts: its worst images are deleted then
    let deleted = false;
    const r = await analyze(model, file, {
      overrides: { mapsPerSplit: count },
      onProgress: (e) => {
        if (deleted || !e.message.startsWith('Shift sweep')) return;
        for (const id of gone) fs.rmSync(path.join(siteDir, `${id}.npy`));
        deleted = true;
      },
    });
    assert.ok(deleted);
    const warned = r.warnings.filter((w) => w.startsWith('The confidence maps of site show its first images, not its worst predicted ones: '));
    assert.equal(warned.length, 1, r.warnings.join('\n'));
    assert.ok(gone.some((id) => warned[0].includes(id)), `the warning names the file: ${warned[0]}`);
    assert.deepEqual(r.maps.items.filter((m) => m.split === 'site').map((m) => m.image), first, 'the maps of its first images, taken in its pass');
    const rest = (x: Results) => {
      const c = structuredClone(x);
      delete (c as Partial<Results>).createdAt;
      delete (c as Partial<Results>).timings;
      if (c.performanceWithoutLabels) delete (c.performanceWithoutLabels as { timingMs?: number }).timingMs;
      c.maps.items = c.maps.items.filter((m) => m.split !== 'site');
      c.warnings = c.warnings.filter((w) => !warned.includes(w));
      return c;
    };
    assert.deepEqual(rest(r), rest(plain), 'nothing else lost or changed');
  });

  it('cancel during the sweep: a cancelled LensError, between copies', async () => {
    const { file } = withUnlabelled();
    const token = { cancelled: false };
    const e = await lensError(
      analyze(path.join(TASKS, 'seg2d', 'seg2d.onnx'), file, {
        overrides: { mapsPerSplit: 0 },
        cancel: token,
        onProgress: (ev) => {
          if (ev.message.startsWith('Shift sweep: noise')) token.cancelled = true;
        },
      }),
    );
    assert.equal(e.kind, 'cancelled');
    assert.equal(e.exitCode, 130);
  });
});

describe('performance without labels: the objects family (grown / shrunk in image and mask)', () => {
  it('each objects copy\'s per-image Dice is the model\'s prediction on the repainted image against the MORPHED mask', async () => {
    const { dir, file } = copyFixture('seg2d', (c) => {
      c.analysis.shifts = { families: ['noise', 'objects'] };
    });
    const model = path.join(TASKS, 'seg2d', 'seg2d.onnx');
    const r = await analyze(model, file, { overrides: { mapsPerSplit: 0 } });
    noNonFinite(r);
    const p = r.performanceWithoutLabels!;
    assert.deepEqual(p.settings.families, ['noise', 'objects']);
    assert.deepEqual(p.settings.strengths.objects, [-3, -1, 1, 3]);
    const copies = p.shifts.filter((s) => s.family === 'objects');
    assert.deepEqual(copies.map((c) => c.strength), [-3, -1, 1, 3]);
    const names = fs.readdirSync(path.join(dir, 'data/test/images')).sort();
    assert.equal(p.calibration.images, names.length);
    const session = await ort.InferenceSession.create(model);
    const diceOf = (pm: Uint8Array, gt: Int32Array): number | null => {
      let tp = 0, np = 0, ng = 0;
      for (let i = 0; i < gt.length; i++) {
        np += pm[i];
        ng += gt[i] > 0 ? 1 : 0;
        tp += pm[i] && gt[i] > 0 ? 1 : 0;
      }
      return np + ng ? (2 * tp) / (np + ng) : null;
    };
    let differs = 0;
    for (const c of copies) {
      for (let k = 0; k < names.length; k++) {
        const img = readNpy(path.join(dir, 'data/test/images', names[k]));
        const lab = readNpy(path.join(dir, 'data/test/masks', names[k]));
        const [H, W] = img.shape;
        const x = Float32Array.from(img.data as ArrayLike<number>, (v) => v / 255);
        const mask = Int32Array.from(lab.data as ArrayLike<number>);
        const moved = applyShift(x, 1, [H, W], { family: 'objects', strength: c.strength }, { mean: [0], std: [1] }, 0, mask)!;
        assert.deepEqual(moved, morphObjects(mask, [H, W], c.strength));
        const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x, [1, 1, H, W]) });
        const o = out[session.outputNames[0]].data as Float32Array;
        const pm = new Uint8Array(H * W);
        for (let i = 0; i < H * W; i++) pm[i] = o[H * W + i] > o[i] ? 1 : 0;
        const want = diceOf(pm, moved);
        const got = (c as any).perImage[k].dice;
        if (want === null) assert.equal(got, null);
        else assert.ok(Math.abs(got - want) <= 1e-6, `${c.label} image ${k}: ${got} vs ${want}`);
        const old = diceOf(pm, mask);
        if (old !== want) differs++;
      }
    }
    assert.ok(differs > 0, 'the morphed mask gives another Dice than the original one on some images');
  });
});

describe('performance without labels: a copy whose prediction is not finite', () => {
  it('is left out with a warning naming the copy and the model; the sweep and the analysis complete', async () => {
    // sqrt_input.onnx takes sqrt(x): finite on the images, NaN once noise makes x negative.
    const { file } = copyFixture('seg2d', (c) => {
      c.splits.site = { images: 'data/test/images' };
    });
    const model = path.join(TASKS, 'seg2d', 'sqrt_input.onnx');
    const before = fs.readFileSync(model);
    const r = await analyze(model, file, { overrides: { mapsPerSplit: 0 } });
    noNonFinite(r);
    const p = r.performanceWithoutLabels!;
    const left = r.warnings.filter((w) => w.startsWith('Performance without labels: the shifted copy'));
    assert.ok(left.length >= 1, r.warnings.join('\n'));
    for (const w of left) {
      assert.match(w, /^Performance without labels: the shifted copy "[^"]+" was left out: .*sqrt_input\.onnx.*NaN or Inf/);
    }
    assert.ok(left.some((w) => /"noise σ=/.test(w)));
    assert.equal(p.shifts.length, 31 - left.length);
    assert.ok(p.shifts.every((s) => !left.some((w) => w.includes(`"${s.label}"`))));
    assert.ok(p.predictors.features, 'fitted on the copies that remain');
    assert.ok(r.splits.find((s) => s.name === 'site')!.predictedPerformance);
    assert.deepEqual(fs.readFileSync(model), before, 'the model file is unchanged');
  });
});
