/**
 * The forward pass of a split (analyze.ts, "Passes"): each batch of images is run once with
 * every tap requested; at every tap each location becomes a point (its C-vector, plus the
 * previous tap's vector at the same input location for roughness), labelled by the
 * area-pooled mask and the pooled prediction (METHOD.md §2), and fed to a per-tap stratified
 * sampler. Nothing here grows with the number of images (analyze.ts, "Memory bound").
 */
import type { SplitSource } from '../data/splits';
import {
  StratifiedSampler,
  SegmentationAccumulator,
  AccuracyAccumulator,
  RegressionAccumulator,
  OutputStatsAccumulator,
  poolLabels,
  type BatchFill,
} from '../metrics';
import { allFinite, inputPatchAt, prod } from '../points';
import { LensError, type OutputStats, type Performance } from '../types';
import { releaseBatch } from '../limits';
import { checkCancel, finiteOrNull, streamSeed, type Run, type TapState } from './context';
import { imageLabels, pointLabels, runBatch, targetForOutput, type Batch, type BatchShift, type LabelCache } from './batch';

export interface SplitPass {
  /** Per tap; set to null once its metrics are done (its points are no longer needed). */
  samplers: (StratifiedSampler | null)[];
  /** Taps whose activations held NaN/Inf in this split. */
  nonFinite: Set<number>;
  /** Taps whose previous tap held NaN/Inf (roughness reads it): tap index → previous tap's name. */
  roughOff: Map<number, string>;
  performance: Performance | null;
  /** Mean max probability and entropy of the prediction output (null for regression). */
  output: OutputStats | null;
  /** The second sample of every tap (`PassOptions.also`), null where none was asked for. */
  also: (StratifiedSampler | null)[] | null;
  /** Segmentation with labels: the share of the labelled pixels whose label is not the background. */
  labelForeground: number | null;
}

/** How a pass differs from the plain pass of a split (the shift sweep of METHOD.md §5). */
export interface PassOptions extends BatchShift {
  /** Sample by predicted label, as an unlabelled split (the performance still uses the labels). */
  asUnlabeled?: boolean;
  maxPoints?: number;
  /** Called after every batch has run (the shift sweep's per-image output features). */
  perBatch?: (batch: Batch, n: number) => Promise<void>;
  /**
   * A second sample of every tap from the same rows, with its own size and sampler streams
   * (`splitIndex` as in `streamSeed`): the shift sweep's label-free features of an unlabelled
   * split, taken in the split's own pass so its images run through the model once. Its
   * strata are those of the main sample, so only for a pass that samples by predicted label
   * (an unlabelled split, or `asUnlabeled`).
   */
  also?: { splitIndex: number; maxPoints: number };
}

export async function forwardPass(run: Run, src: SplitSource, splitIndex: number, onBatch: (done: number) => void, po: PassOptions = {}): Promise<SplitPass> {
  const { settings, taps, C0, spatial } = run;
  const labeled = src.labeled && run.task !== 'regression';
  const byGt = labeled && !po.asUnlabeled;
  const numClasses = run.numClasses;
  const strata = Math.max(1, numClasses);
  const samplers = taps.map(
    (t, ti) => new StratifiedSampler({ maxPoints: po.maxPoints ?? settings.maxPoints, dim: t.C + t.prevDim, seed: streamSeed(settings.seed, ti, splitIndex), numStrata: strata }),
  );
  if (po.also && byGt) throw new Error('forwardPass: a second sample ("also") needs a pass sampled by predicted label');
  const also = po.also
    ? taps.map((t, ti) => new StratifiedSampler({ maxPoints: po.also!.maxPoints, dim: t.C + t.prevDim, seed: streamSeed(settings.seed, ti, po.also!.splitIndex), numStrata: strata }))
    : null;
  const outStats = run.task === 'regression' ? null : new OutputStatsAccumulator();
  const nonFinite = new Set<number>();
  const roughOff = new Map<number, string>();
  const seg = run.task === 'segmentation' && src.labeled ? new SegmentationAccumulator(numClasses) : null;
  const cls = run.task === 'classification' && src.labeled ? new AccuracyAccumulator() : null;
  const reg = run.task === 'regression' && src.labeled && run.dataRange !== undefined ? new RegressionAccumulator({ dataRange: run.dataRange }) : null;
  const inL = prod(spatial);
  const outSpatial = run.outDims.slice(1);
  const outPerImage = prod(run.outDims);
  const B = Math.max(1, settings.batchSize);

  for (let start = 0; start < src.count; start += B) {
    checkCancel(run.cancel);
    const n = Math.min(B, src.count - start);
    // `let`, so that the batch is unreferenced before releaseBatch collects it
    let batch: Batch | null = await runBatch(run, src, start, n, po);
    if (po.perBatch) await po.perBatch(batch, n);

    for (let b = 0; b < n; b++) {
      const item = batch.items[b];
      const out = batch.output.data.subarray(b * outPerImage, (b + 1) * outPerImage);
      const il = imageLabels(run, item, out, labeled);
      outStats?.add(out, run.outDims, run.activation!);
      if (seg && il.gt) {
        const gtAtOut = outSpatial.every((d, a) => d === spatial[a]) ? il.gt : poolLabels(il.gt, spatial, outSpatial, numClasses);
        seg.add(il.pred!, gtAtOut);
      } else if (cls && item.label) {
        cls.add([il.pred![0]], [item.label.data[0]]);
      } else if (reg) {
        const target = targetForOutput(run, item);
        if (target) reg.add(out, target, run.outDims);
      }

      const image = batch.input.subarray(b * C0 * inL, (b + 1) * C0 * inL);
      const cache: LabelCache = new Map();
      // the previous tap of this image, channel-major (C_prev × L_prev), and whether it is finite
      let prevView: Float32Array | null = null;
      let prevFinite = true;
      for (let ti = 0; ti < taps.length; ti++) {
        const tap = taps[ti];
        const t = batch.taps.get(tap.info.name);
        if (!t) throw new LensError(`the model run did not return tap ${tap.info.name}`, 'model', run.model.path);
        const L = prod(tap.dims);
        const view = t.data.subarray(b * tap.C * L, (b + 1) * tap.C * L);
        const finite = allFinite(view);
        if (!finite) nonFinite.add(ti);
        if (nonFinite.has(ti)) {
          prevView = view;
          prevFinite = finite;
          continue;
        }
        if (tap.prev && !prevFinite && !roughOff.has(ti)) roughOff.set(ti, taps[ti - 1].info.name);
        const lab = pointLabels(run, il, tap.dims, cache);
        if (!lab.stratum) {
          const stratum = new Int32Array(L);
          for (let l = 0; l < L; l++) stratum[l] = byGt ? Math.max(0, lab.gt[l]) : Math.max(0, Math.min(lab.pred[l], Math.max(0, numClasses - 1)));
          lab.stratum = stratum;
          lab.image = new Int32Array(L).fill(start + b);
        }
        // A point: the tap's C-vector at the location, then the previous tap's vector at the same
        // input location (or the input patch), written only for the points the sampler keeps.
        const fill = rowFill(run, tap, view, prevView, image);
        const extras = { gt: lab.gt, pred: lab.pred, image: lab.image!, loc: locations(L) };
        samplers[ti].addRows(L, fill, lab.stratum, extras);
        also?.[ti].addRows(L, fill, lab.stratum, extras);
        prevView = view;
        prevFinite = true;
      }
    }
    onBatch(start + n);
    let bytes = batch.output.data.byteLength;
    for (const t of batch.taps.values()) bytes += t.data.byteLength;
    batch = null;
    releaseBatch(bytes);
  }

  let perf: Performance | null = null;
  let labelForeground: number | null = null;
  if (seg) {
    const s = seg.result();
    perf = { dice: s.dice, accuracy: s.accuracy, dicePerClass: s.dicePerClass };
    const all = s.groundTruth.reduce((a, b) => a + b, 0);
    labelForeground = all > 0 ? (all - s.groundTruth[0]) / all : null;
  } else if (cls) {
    perf = { accuracy: cls.result().accuracy };
  } else if (reg) {
    const r = reg.result();
    perf = { mse: finiteOrNull(r.mse), psnr: finiteOrNull(r.psnr), ssim: finiteOrNull(r.ssim) };
  }
  return { samplers, nonFinite, roughOff, performance: perf, output: outStats?.result() ?? null, also, labelForeground };
}

const LOCATIONS = new Map<number, Int32Array>();
/** 0 … L−1 (shared, read-only). */
function locations(L: number): Int32Array {
  let a = LOCATIONS.get(L);
  if (!a) {
    a = Int32Array.from({ length: L }, (_, l) => l);
    LOCATIONS.set(L, a);
  }
  return a;
}

/**
 * Writes the points `is[0 … n−1]` (increasing locations) of a tap into `dst[offsets[j] …]`:
 * each point's C values (`view` is the image's C×L activations, channel-major), then the
 * previous tap's C_prev values at the location `prevLoc[l]` (`prevView` channel-major), or
 * for the first tap the input patch of its receptive field (`inputPatchAt`). Only the points
 * the sampler still keeps at the end of the image are written (StratifiedSampler.addRows).
 */
function rowFill(run: Run, tap: TapState, view: Float32Array, prevView: Float32Array | null, image: Float32Array): BatchFill {
  const C = tap.C;
  const L = prod(tap.dims);
  const P = tap.prevDim;
  if (tap.prev && tap.prevLoc && prevView) {
    const Lp = prod(tap.prev.dims);
    const prevLoc = tap.prevLoc;
    return {
      rows(is, n, dst, offsets) {
        gatherPoints(view, L, C, is, n, dst, offsets, 0);
        const pl = new Int32Array(n);
        for (let j = 0; j < n; j++) pl[j] = prevLoc[is[j]];
        gatherPoints(prevView, Lp, P, pl, n, dst, offsets, C);
      },
    };
  }
  const { C0, spatial } = run;
  const r = Math.round(tap.dims.length === 3 ? Math.cbrt(P / C0) : Math.sqrt(P / C0));
  const side = Math.max(1, Math.round(r));
  return {
    rows(is, n, dst, offsets) {
      gatherPoints(view, L, C, is, n, dst, offsets, 0);
      for (let j = 0; j < n; j++) inputPatchAt(image, C0, spatial, tap.dims, side, is[j], dst, offsets[j] + C);
    },
  };
}

/** dst[offsets[j] + col + c] = src[c·L + locs[j]] for c < channels, j < n (point by point: faster than channel by channel except on the largest planes). */
function gatherPoints(src: Float32Array, L: number, channels: number, locs: Int32Array, n: number, dst: Float32Array, offsets: Int32Array, col: number): void {
  for (let j = 0; j < n; j++) {
    const l = locs[j];
    const o = offsets[j] + col;
    for (let c = 0; c < channels; c++) dst[o + c] = src[c * L + l];
  }
}

/**
 * The points of every tap sampled in a pass, its samplers dropped; null for a tap whose
 * activations held NaN/Inf in this split (it has no metrics there).
 */
export function finishSamples(pass: SplitPass): (Sample | null)[] {
  return pass.samplers.map((sampler, ti) => {
    pass.samplers[ti] = null;
    return sampler && !pass.nonFinite.has(ti) ? sampler.finish() : null;
  });
}

export type Sample = ReturnType<StratifiedSampler['finish']>;
