/**
 * Performance without labels (METHOD.md §5): what the shift sweep shifts (the calibration
 * plan), every shifted copy and every unlabelled split measured as if unlabelled, then the
 * predictors (shift/withoutLabels.ts).
 */
import * as nodePath from 'node:path';
import type { SplitSource } from '../data/splits';
import { subsetSource } from '../data/splitSource';
import { toLabelMap } from '../data/preprocess';
import { poolLabels } from '../metrics';
import { prod } from '../points';
import { Prng } from '../metrics/prng';
import { augmentMap, imageOutput, inverseMap, labelObjects, maskDice, outputMask, ttaCount, type LabelObjects } from '../shift/outputFeatures';
import { DEFAULT_STRENGTHS, familyApplies, shiftLabel, sweepShifts, type Shift } from '../shift/transforms';
import { assemble, type CopyMeasure, type ImageRecord } from '../shift/withoutLabels';
import type { Batch } from './batch';
import { LensError, type LabelFreeMetrics, type ProgressEvent, type Results, type ShiftSettings, type Task } from '../types';
import { checkCancel, sweepSplitIndex, SWEEP_KMEANS_INITS, type Run } from './context';
import { finishSamples, forwardPass, type PassOptions, type SplitPass } from './forwardPass';
import { jobsOf } from './tapJobs';
import { aheadOf, slimTap, type JobRunner } from './jobTypes';
import { inOrder } from './tapPool';
import type { TrainReferences } from './trainReference';

/** The performance the sweep predicts, and its range. */
function targetMetric(task: Task): { metric: string; bounds: [number, number] } {
  if (task === 'classification') return { metric: 'accuracy', bounds: [0, 1] };
  if (task === 'regression') return { metric: 'ssim', bounds: [-1, 1] };
  return { metric: 'dice', bounds: [0, 1] };
}

/** At most `max` items of several splits, evenly strided over their concatenation. */
function concatSources(name: string, srcs: SplitSource[], max: number): SplitSource {
  const all: { s: SplitSource; i: number }[] = [];
  for (const s of srcs) for (let i = 0; i < s.count; i++) all.push({ s, i });
  const n = Math.min(all.length, Math.max(1, Math.floor(max)));
  const pick = Array.from({ length: n }, (_, j) => all[Math.floor((j * all.length) / n)]);
  return {
    name,
    count: n,
    ids: pick.map((p) => `${p.s.name}/${p.s.ids[p.i]}`),
    labeled: true,
    notes: [],
    read: (j) => pick[j].s.read(pick[j].i),
  };
}

/** How many random halvings of the calibration images measure the sampling noise, and the least images per half. */
export const HALF_PAIRS = 4;
const MIN_HALF = 2;
/** Sampler streams of the halves (clear of the copies' 1000 + c and the unlabelled splits' 2000 + u). */
const HALF_STREAM = 3000;

/** `pairs` random partitions of 0..n−1 into two halves (sizes ⌊n/2⌋ and ⌈n/2⌉), each half in index order; seeded. */
export function halfPartitions(n: number, pairs: number, seed: number): [number[], number[]][] {
  const rng = new Prng(seed * 7919 + 104729);
  const out: [number[], number[]][] = [];
  for (let k = 0; k < pairs; k++) {
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = rng.nextUint32() % (i + 1);
      [p[i], p[j]] = [p[j], p[i]];
    }
    const h = Math.floor(n / 2);
    out.push([p.slice(0, h).sort((x, y) => x - y), p.slice(h).sort((x, y) => x - y)]);
  }
  return out;
}

/** Least train images for a held-out part to be taken from train. */
const MIN_TRAIN_FOR_HOLDOUT = 8;

export interface CalibrationPlan {
  /** The images the sweep shifts (null: no sweep). */
  source: SplitSource | null;
  /** The labelled splits they come from. */
  splits: string[];
  heldOut: boolean;
  /** When a part of train is held out: train without it. */
  trainKept: SplitSource | null;
}

/**
 * What the sweep shifts: the labelled splits other than train (at most `images` of them,
 * evenly strided); when train is the only labelled split, its last fifth (≥ 2 images), which
 * then stays out of train's pass and of the train reference.
 */
export function calibrationPlan(sh: ShiftSettings, sources: SplitSource[], train: SplitSource, log: (m: string) => void, warnings: string[]): CalibrationPlan {
  const none: CalibrationPlan = { source: null, splits: [], heldOut: false, trainKept: null };
  if (sh.enabled === false) return none;
  if (sh.families.length < 2) {
    warnings.push('Performance without labels: analysis.shifts.families needs at least 2 families (the interval leaves one family out at a time); the shift sweep was not run.');
    return none;
  }
  const labelled = sources.filter((s) => s !== train && s.labeled);
  if (labelled.length) return { source: concatSources(labelled.map((s) => s.name).join(' + '), labelled, sh.images), splits: labelled.map((s) => s.name), heldOut: false, trainKept: null };
  if (train.labeled && train.count >= MIN_TRAIN_FOR_HOLDOUT) {
    const h = Math.max(2, Math.round(train.count / 5));
    const keep = Array.from({ length: train.count - h }, (_, i) => i);
    const held = Array.from({ length: h }, (_, i) => train.count - h + i);
    const heldSrc = subsetSource(train, 'train (held out)', held);
    log(`performance without labels: train is the only labelled split; its last ${h} images are held out of the train reference and shifted`);
    return { source: concatSources('train (held out)', [heldSrc], sh.images), splits: ['train'], heldOut: true, trainKept: subsetSource(train, 'train', keep) };
  }
  const why = `there is no labelled split besides train, and train has ${train.labeled ? `only ${train.count} images (a held-out part needs ${MIN_TRAIN_FOR_HOLDOUT})` : 'no labels'}`;
  if (sh.enabled === true) warnings.push(`Performance without labels: ${why}; the shift sweep was not run.`);
  else log(`performance without labels: skipped (${why})`);
  return none;
}

/**
 * The label-free metrics of every tap on one pass (no PCA rows, no db), each tap a job of its
 * own (on the tap threads when there are some: `jobsOf`), the answers taken in tap order.
 */
async function labelFreeFeatures(run: Run, jobs: JobRunner, reference: TrainReferences, pass: SplitPass, name: string): Promise<{ [tap: string]: LabelFreeMetrics }> {
  const out: { [tap: string]: LabelFreeMetrics } = {};
  const samples = finishSamples(pass);
  await inOrder(
    run.taps.length,
    aheadOf(jobs),
    (ti) => {
      checkCancel(run.cancel);
      const sample = samples[ti];
      samples[ti] = null;
      if (!sample) return Promise.resolve(null);
      return jobs.tap({
        tap: slimTap(run.taps[ti]),
        sample,
        split: name,
        reference: reference[ti],
        isTrain: false,
        labeled: false,
        withRoughness: !pass.roughOff.has(ti),
        withPca: false,
        withDerived: true,
        kmeansInits: SWEEP_KMEANS_INITS,
      });
    },
    async (ti, res) => {
      const tap = run.taps[ti];
      if (!res) {
        out[tap.info.name] = { roughness: null, knnConfidence: null, featureShift: null, knnDice: null, featureShiftFg: null };
        return;
      }
      run.warnings.push(...res.warnings);
      const m = res.metrics;
      out[tap.info.name] = { roughness: m.roughness, knnConfidence: m.knnConfidence, featureShift: m.featureShift, ...res.derived! };
      await new Promise((r) => setImmediate(r));
    },
  );
  return out;
}

/** How the sweep measures a set of images (segmentation: per-image output features with `tta` passes). */
function measurePlan(run: Run): { metric: string; seg: boolean; tta: number; dataDir: string } {
  const seg = run.task === 'segmentation';
  const tta = seg ? Math.max(0, Math.min(run.settings.shifts.tta ?? 0, ttaCount(run.spatial))) : 0;
  return { metric: targetMetric(run.task).metric, seg, tta, dataDir: nodePath.dirname(run.cfg.path) };
}

/** The per-batch hook of a measured pass, writing into `records` (none outside segmentation). */
function perBatchOf(run: Run, records: ImageRecord[]): Pick<PassOptions, 'perBatch'> {
  const { seg, tta, dataDir } = measurePlan(run);
  return seg ? { perBatch: perImage(run, tta, dataDir, records) } : {};
}

/** A measured pass (its sweep sample in `samplers`) as the predictor reads it. */
async function toMeasure(run: Run, jobs: JobRunner, reference: TrainReferences, pass: SplitPass, src: SplitSource, records: ImageRecord[]): Promise<CopyMeasure> {
  const perf = pass.performance?.[measurePlan(run).metric];
  return {
    performance: typeof perf === 'number' && Number.isFinite(perf) ? perf : null,
    images: src.count,
    output: pass.output,
    features: await labelFreeFeatures(run, jobs, reference, pass, src.name),
    ...(run.task === 'segmentation' ? { perImage: records } : {}),
  };
}

/** What the split cache keeps of the sweep: the copies' and the halves' measures, and the warnings they gave. */
export interface CachedCopies {
  copies: { shift: Shift; measure: CopyMeasure }[];
  halves: (CopyMeasure | null)[][];
  warnings: string[];
}

/** An unlabelled split measured for the sweep within its own pass, and the warnings that measuring gave (pushed when the sweep reaches it). */
export interface SharedMeasure {
  measure: CopyMeasure;
  warnings: string[];
}

/**
 * The sweep's measure of the u-th unlabelled split, taken in the split's main pass (analyze.ts)
 * so its images run through the model once: `options` add the sweep's own sample (`also`: its
 * streams and maxPoints, as the sweep's pass of the split would draw them) and the per-image
 * output features; `finish` turns that pass into the measure. The test-time-augmented passes
 * are extra inference either way. The result is the one a separate pass gives, bit for bit.
 */
export function sharedMeasure(run: Run, u: number): { options: PassOptions; finish: (pass: SplitPass, src: SplitSource, reference: TrainReferences) => Promise<SharedMeasure> } {
  const records: ImageRecord[] = [];
  return {
    options: { also: { splitIndex: sweepSplitIndex(u), maxPoints: run.settings.shifts.maxPoints }, ...perBatchOf(run, records) },
    finish: async (pass, src, reference) => {
      const warnings: string[] = [];
      const measure = await toMeasure({ ...run, warnings }, jobsOf(run), reference, { ...pass, samplers: pass.also ?? [] }, src, records);
      return { measure, warnings };
    },
  };
}

/**
 * METHOD.md §5: every shifted copy of the calibration images (`plan.source`) measured as if
 * unlabelled (the labels only give its true performance), every unlabelled split measured
 * the same way (or taken from `measured`, the splits' own passes: `sharedMeasure`), then the
 * predictors (shift/withoutLabels.ts).
 */
export async function shiftSweep(
  run: Run,
  reference: TrainReferences,
  plan: CalibrationPlan & { source: SplitSource },
  unlabeled: SplitSource[],
  progress: (e: ProgressEvent) => void,
  train: SplitSource | null = null,
  measured: ReadonlyMap<string, SharedMeasure> = new Map(),
  cache?: { get: () => CachedCopies | null; put: (v: CachedCopies) => void },
): Promise<NonNullable<Results['performanceWithoutLabels']>> {
  const { source: calib, splits: calibSplits, heldOut } = plan;
  const t0 = performance.now();
  const sh = run.settings.shifts;
  const { metric, bounds } = targetMetric(run.task);
  const families = sh.families.filter((f) => familyApplies(f, run.task));
  const shifts = sweepShifts(families, sh.mixes, run.settings.seed);
  const { seg, tta } = measurePlan(run);
  const measure = async (src: SplitSource, streamIndex: number, po: PassOptions): Promise<CopyMeasure> => {
    const records: ImageRecord[] = [];
    const pass = await forwardPass(run, src, streamIndex, () => undefined, { ...po, asUnlabeled: true, maxPoints: sh.maxPoints, ...perBatchOf(run, records) });
    return toMeasure(run, jobsOf(run), reference, pass, src, records);
  };
  const trainObjects = seg && train?.labeled ? trainLabelObjects(run, train) : null;
  const total = shifts.length + unlabeled.length;
  const copies: { shift: Shift; measure: CopyMeasure }[] = [];
  // The sampling noise of the estimate (withoutLabels.ts, "Sampling noise"): the unshifted
  // calibration images in two random halves, HALF_PAIRS times, each half measured as a copy
  // (after the copies, in the same stream of passes).
  const halving = unlabeled.length && calib.count >= 2 * MIN_HALF ? halfPartitions(calib.count, HALF_PAIRS, run.settings.seed) : [];
  const halfMeasures: (CopyMeasure | null)[][] = halving.map(() => [null, null]);
  const passes: { label: string; what: string; src: SplitSource; stream: number; po: PassOptions; message: string; done: number; keep: (m: CopyMeasure) => void }[] = [
    ...shifts.map((shift, c) => ({
      label: shiftLabel(shift),
      what: 'the shifted copy',
      src: calib,
      stream: 1000 + c,
      po: { shift, copy: c },
      message: `Shift sweep: ${shiftLabel(shift)}`,
      done: c,
      keep: (m: CopyMeasure) => void copies.push({ shift, measure: m }),
    })),
    ...halving.flatMap((parts, k) =>
      parts.map((indices, h) => ({
        label: `unshifted half ${k + 1}${'ab'[h]}`,
        what: 'the sampling-noise measure',
        src: subsetSource(calib, `${calib.name} (half ${k + 1}${'ab'[h]})`, indices),
        stream: HALF_STREAM + 2 * k + h,
        po: {},
        message: `Shift sweep: sampling noise (${k + 1} of ${halving.length})`,
        done: shifts.length,
        keep: (m: CopyMeasure) => void (halfMeasures[k][h] = m),
      })),
    ),
  ];
  // Pass p's label-free features (jobs on the tap threads) overlap pass p+1 through the model
  // (this thread). Each pass's warnings are held and pushed in order, its pass's before its
  // features', as one pass after the other gives them.
  const jobs = jobsOf(run);
  run.scaling ??= new Map();
  let before: Promise<void> = Promise.resolve();
  // The copies and halves measured before with this model, settings, train and calibration
  // images (analyze.ts, splitCache.ts): read back with the warnings they gave.
  const cached = cache?.get() ?? null;
  if (cached && cached.halves.length === halfMeasures.length) {
    copies.push(...cached.copies);
    cached.halves.forEach((h, k) => (halfMeasures[k] = h));
    run.warnings.push(...cached.warnings);
    run.log('shift sweep: the shifted copies read back from the split cache');
    passes.length = 0;
  }
  const warnedBefore = run.warnings.length;
  try {
    for (const item of passes) {
      checkCancel(run.cancel);
      progress({ stage: 'metrics', message: item.message, done: item.done, total });
      const held: string[] = [];
      const r: Run = { ...run, warnings: held };
      const records: ImageRecord[] = [];
      let pass: SplitPass;
      try {
        pass = await forwardPass(r, item.src, item.stream, () => undefined, { ...item.po, asUnlabeled: true, maxPoints: sh.maxPoints, ...perBatchOf(r, records) });
      } catch (e) {
        // A shift can push the model where its prediction is not finite (e.g. sqrt or log of a
        // negative input): that copy is left out, the rest of the sweep goes on.
        if (!(e instanceof LensError) || e.kind !== 'model') throw e;
        await before;
        run.warnings.push(...held, `Performance without labels: ${item.what} "${item.label}" was left out: ${e.message}.`);
        run.log(`shift sweep: ${item.label}: left out (${e.message})`);
        continue;
      }
      const features = toMeasure(r, jobs, reference, pass, item.src, records);
      const after = before;
      before = (async () => {
        await after;
        const m = await features;
        run.warnings.push(...held);
        item.keep(m);
        run.log(`shift sweep: ${item.label}: ${metric} ${m.performance?.toFixed(4) ?? 'n/a'}`);
      })();
    }
    await before;
  } finally {
    before.catch(() => undefined);
  }
  if (cache && passes.length) cache.put({ copies, halves: halfMeasures, warnings: run.warnings.slice(warnedBefore) });
  const halves: { a: CopyMeasure; b: CopyMeasure }[] = [];
  for (const [a, b] of halfMeasures) if (a && b && a.performance !== null && b.performance !== null) halves.push({ a, b });
  const splits: { name: string; measure: CopyMeasure }[] = [];
  for (let u = 0; u < unlabeled.length; u++) {
    checkCancel(run.cancel);
    progress({ stage: 'metrics', message: `Label-free features: ${unlabeled[u].name}`, split: unlabeled[u].name, done: shifts.length + u, total });
    const shared = measured.get(unlabeled[u].name);
    if (shared) run.warnings.push(...shared.warnings);
    splits.push({ name: unlabeled[u].name, measure: shared ? shared.measure : await measure(unlabeled[u], sweepSplitIndex(u), {}) });
  }
  const strengths: { [family: string]: number[] } = {};
  for (const f of families) strengths[f] = DEFAULT_STRENGTHS[f].slice();
  return assemble({
    metric,
    bounds,
    taps: run.taps.map((t) => ({ name: t.info.name, stage: t.info.stage })),
    calibration: {
      splits: calibSplits,
      images: calib.count,
      heldOutOfTrain: heldOut,
      ...(heldOut ? { note: `train is the only labelled split: its last ${calib.count} images were held out of the train reference and shifted` } : {}),
    },
    settings: { maxPoints: sh.maxPoints, kmeansInits: SWEEP_KMEANS_INITS, families: families.slice(), strengths, ...(seg ? { tta } : {}) },
    copies,
    splits,
    halves,
    trainObjects,
    timingMs: performance.now() - t0,
  });
}

/** The objects (counts and sizes) of the training labels, on the model's input grid. */
function trainLabelObjects(run: Run, train: SplitSource): LabelObjects {
  const masks: { mask: Int32Array; spatial: readonly number[] }[] = [];
  for (let i = 0; i < train.count; i++) {
    checkCancel(run.cancel);
    const item = train.read(i);
    if (item.label) masks.push({ mask: toLabelMap(item.label, run.spatial, run.cfg.input.resize), spatial: run.spatial });
  }
  return labelObjects(masks);
}

/**
 * The per-batch hook of the sweep (segmentation): per image, the output features of
 * shift/outputFeatures.ts with `tta` test-time-augmented passes (output only, no taps), and for
 * labelled images its own Dice.
 */
function perImage(run: Run, tta: number, dataDir: string, records: ImageRecord[]) {
  const augMaps = Array.from({ length: tta }, (_, k) => augmentMap(run.spatial, k));
  const backMaps = Array.from({ length: tta }, (_, k) => inverseMap(augmentMap(run.outDims.slice(1), k)));
  return async (batch: Batch, n: number): Promise<void> => {
    const { C0, spatial } = run;
    const inL = prod(spatial);
    const outPerImage = prod(run.outDims);
    const outSpatial = run.outDims.slice(1);
    const augMasks: Uint8Array[][] = Array.from({ length: n }, () => []);
    for (let k = 0; k < tta; k++) {
      const x = new Float32Array(batch.input.length);
      const map = augMaps[k];
      for (let b = 0; b < n; b++)
        for (let c = 0; c < C0; c++) {
          const off = (b * C0 + c) * inL;
          for (let i = 0; i < inL; i++) x[off + i] = batch.input[off + map[i]];
        }
      const { output } = await run.model.run({ data: x, dims: [n, C0, ...spatial] }, { taps: [] });
      for (let b = 0; b < n; b++) {
        const m = outputMask(output.data.subarray(b * outPerImage, (b + 1) * outPerImage), run.outDims, run.activation!);
        const back = new Uint8Array(m.length);
        const inv = backMaps[k];
        for (let i = 0; i < m.length; i++) back[i] = m[inv[i]];
        augMasks[b].push(back);
      }
    }
    for (let b = 0; b < n; b++) {
      const item = batch.items[b];
      const out = batch.output.data.subarray(b * outPerImage, (b + 1) * outPerImage);
      let gt: Int32Array | null = null;
      if (item.label) {
        const g = toLabelMap(item.label, spatial, run.cfg.input.resize);
        gt = outSpatial.every((d, a) => d === spatial[a]) ? g : poolLabels(g, spatial, outSpatial, run.numClasses);
      }
      const o = imageOutput(out, run.outDims, run.activation!, gt, augMasks[b]);
      let dice: number | null = null;
      if (gt) {
        const pm = outputMask(out, run.outDims, run.activation!);
        let any = false;
        for (let i = 0; i < gt.length && !any; i++) any = pm[i] > 0 || gt[i] > 0;
        dice = any ? maskDice(pm, gt) : null;
      }
      records.push({ id: item.id, file: nodePath.relative(dataDir, item.imageFile) || item.imageFile, dice, out: o });
    }
  };
}
