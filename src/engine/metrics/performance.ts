/**
 * Performance of the final output where labels exist (METHOD.md §4, last item), as
 * streaming accumulators: add one image at a time, read the split's numbers at the end.
 * Pure: no `vscode`, no I/O.
 */

import type { Performance } from '../types';
import { MetricArgumentError, checkInt, checkNumber, firstNonFinite, isFloatArray, isIntArray, type FloatArray, type IntArray } from './validate';

// ───────────────────────────── segmentation ─────────────────────────────

export interface SegmentationScores {
  /** `Dice_c = 2·Σ_img |P_c ∩ G_c| / (Σ_img |P_c| + Σ_img |G_c|)` pooled over the split; null when class c is in neither. */
  dicePerClass: (number | null)[];
  /** Mean of `dicePerClass` over the foreground classes 1…C−1 that are not null; null if none. */
  dice: number | null;
  /** `Σ [pred = gt] / Σ 1` over every labelled pixel (gt ≥ 0) of the split; null if none. */
  accuracy: number | null;
  /** Per image, the mean foreground Dice of that image alone (null where no foreground class is in either); when asked for. */
  perImageDice?: (number | null)[];
  images: number;
  /** Pooled counts per class: intersection, predicted size, ground-truth size. */
  intersection: number[];
  predicted: number[];
  groundTruth: number[];
}

/**
 * Segmentation Dice and pixel accuracy, pooled over all images of a split (METHOD.md §4:
 * intersections and sizes summed over the images, then divided; not a mean of per-image
 * Dice). Ground-truth values < 0 are unlabelled pixels and are skipped.
 */
export class SegmentationAccumulator {
  readonly numClasses: number;
  private readonly inter: Float64Array;
  private readonly pred: Float64Array;
  private readonly gt: Float64Array;
  private correct = 0;
  private count = 0;
  private images = 0;
  private readonly perImage: (number | null)[] | null;

  constructor(numClasses: number, opts: { perImage?: boolean } = {}) {
    this.numClasses = checkInt('SegmentationAccumulator', 'numClasses', numClasses, 2);
    this.inter = new Float64Array(numClasses);
    this.pred = new Float64Array(numClasses);
    this.gt = new Float64Array(numClasses);
    this.perImage = opts.perImage ? [] : null;
  }

  /** Adds one image: predicted and ground-truth label maps of the same size. */
  add(predicted: IntArray, groundTruth: IntArray): void {
    const fn = 'SegmentationAccumulator.add';
    const C = this.numClasses;
    if (!isIntArray(predicted)) throw new MetricArgumentError(fn, 'predicted', 'must be an integer typed array');
    if (!isIntArray(groundTruth)) throw new MetricArgumentError(fn, 'groundTruth', 'must be an integer typed array');
    if (predicted.length !== groundTruth.length) {
      throw new MetricArgumentError(fn, 'groundTruth', `has length ${groundTruth.length}, expected ${predicted.length} (the length of predicted)`);
    }
    const inter = new Float64Array(C);
    const ps = new Float64Array(C);
    const gs = new Float64Array(C);
    let correct = 0;
    let count = 0;
    for (let i = 0; i < predicted.length; i++) {
      const g = groundTruth[i];
      if (g < 0) continue;
      const p = predicted[i];
      if (g >= C) throw new MetricArgumentError(fn, 'groundTruth', `holds label ${g} at index ${i}, not below numClasses = ${C}`);
      if (p < 0 || p >= C) throw new MetricArgumentError(fn, 'predicted', `holds label ${p} at index ${i}, outside [0, numClasses = ${C})`);
      ps[p]++;
      gs[g]++;
      count++;
      if (p === g) {
        inter[p]++;
        correct++;
      }
    }
    for (let c = 0; c < C; c++) {
      this.inter[c] += inter[c];
      this.pred[c] += ps[c];
      this.gt[c] += gs[c];
    }
    this.correct += correct;
    this.count += count;
    this.images++;
    if (this.perImage) this.perImage.push(meanForeground(diceOf(inter, ps, gs)));
  }

  result(): SegmentationScores {
    const dicePerClass = diceOf(this.inter, this.pred, this.gt);
    const out: SegmentationScores = {
      dicePerClass,
      dice: meanForeground(dicePerClass),
      accuracy: this.count > 0 ? this.correct / this.count : null,
      images: this.images,
      intersection: Array.from(this.inter),
      predicted: Array.from(this.pred),
      groundTruth: Array.from(this.gt),
    };
    if (this.perImage) out.perImageDice = this.perImage.slice();
    return out;
  }
}

function diceOf(inter: Float64Array, p: Float64Array, g: Float64Array): (number | null)[] {
  return Array.from(inter, (v, c) => (p[c] + g[c] > 0 ? (2 * v) / (p[c] + g[c]) : null));
}

function meanForeground(d: (number | null)[]): number | null {
  let s = 0;
  let n = 0;
  for (let c = 1; c < d.length; c++) {
    const v = d[c];
    if (v !== null) {
      s += v;
      n++;
    }
  }
  return n > 0 ? s / n : null;
}

// ───────────────────────────── classification ─────────────────────────────

/** Classification accuracy `Σ [pred = gt] / n` over the split's images. */
export class AccuracyAccumulator {
  private correct = 0;
  private count = 0;

  /** Adds predicted and true labels (one per image, any number of images at once). */
  add(predicted: IntArray | number[], groundTruth: IntArray | number[]): void {
    const fn = 'AccuracyAccumulator.add';
    if (!(isIntArray(predicted) || Array.isArray(predicted))) throw new MetricArgumentError(fn, 'predicted', 'must be an integer array');
    if (!(isIntArray(groundTruth) || Array.isArray(groundTruth))) throw new MetricArgumentError(fn, 'groundTruth', 'must be an integer array');
    if (predicted.length !== groundTruth.length) {
      throw new MetricArgumentError(fn, 'groundTruth', `has length ${groundTruth.length}, expected ${predicted.length} (the length of predicted)`);
    }
    for (let i = 0; i < predicted.length; i++) {
      if (!Number.isInteger(predicted[i])) throw new MetricArgumentError(fn, 'predicted', `holds ${predicted[i]} at index ${i}, not an integer label`);
      if (!Number.isInteger(groundTruth[i])) throw new MetricArgumentError(fn, 'groundTruth', `holds ${groundTruth[i]} at index ${i}, not an integer label`);
      if (predicted[i] === groundTruth[i]) this.correct++;
      this.count++;
    }
  }

  result(): { accuracy: number | null; images: number } {
    return { accuracy: this.count > 0 ? this.correct / this.count : null, images: this.count };
  }
}

// ───────────────────────────── regression ─────────────────────────────

export interface RegressionScores {
  /** `Σ (pred − target)² / N` over every value of every image of the split (pooled). */
  mse: number | null;
  /** `10·log10(R² / mse)` with R = `dataRange`, from the pooled mse; null when mse = 0 (infinite) or no data. */
  psnr: number | null;
  /** Mean over images of the per-image SSIM (images smaller than the window are skipped); null if none. */
  ssim: number | null;
  perImage: { mse: number[]; psnr: (number | null)[]; ssim: (number | null)[] };
  images: number;
}

/**
 * Regression metrics of a split: MSE, PSNR and SSIM.
 *
 * - `dataRange` R: the dynamic range of the targets (max − min possible value), given by the
 *   caller, e.g. 1 for targets in [0, 1], 255 for 8-bit values, or max − min of the train
 *   targets. PSNR = `10·log10(R²/MSE)` (skimage `peak_signal_noise_ratio(data_range=R)`).
 * - SSIM per image: `skimage.metrics.structural_similarity(target, pred, data_range=R)` with
 *   its defaults (see `ssim`), the mean over channels for multi-channel images
 *   (skimage `channel_axis=0`).
 */
export class RegressionAccumulator {
  readonly dataRange: number;
  private sq = 0;
  private count = 0;
  private readonly per = { mse: [] as number[], psnr: [] as (number | null)[], ssim: [] as (number | null)[] };

  constructor(opts: { dataRange: number }) {
    this.dataRange = checkNumber('RegressionAccumulator', 'dataRange', opts?.dataRange, { positive: true });
  }

  /**
   * Adds one image.
   * @param predicted the model output, channel-first `[C, ...spatial]`
   * @param target the target image, same dims
   * @param dims `[C, H, W]` or `[C, D, H, W]` (`[H, W]` is taken as one channel)
   */
  add(predicted: FloatArray, target: FloatArray, dims: number[]): void {
    const fn = 'RegressionAccumulator.add';
    if (!isFloatArray(predicted)) throw new MetricArgumentError(fn, 'predicted', 'must be a Float32Array or Float64Array');
    if (!isFloatArray(target)) throw new MetricArgumentError(fn, 'target', 'must be a Float32Array or Float64Array');
    if (!Array.isArray(dims) || dims.length < 2 || dims.length > 4) throw new MetricArgumentError(fn, 'dims', 'must be [C, H, W], [C, D, H, W] or [H, W]');
    dims.forEach((d, a) => checkInt(fn, `dims[${a}]`, d, 1));
    const full = dims.length === 2 ? [1, ...dims] : dims;
    const size = full.reduce((p, v) => p * v, 1);
    if (predicted.length !== size) throw new MetricArgumentError(fn, 'predicted', `has length ${predicted.length}, expected prod(dims) = ${size}`);
    if (target.length !== size) throw new MetricArgumentError(fn, 'target', `has length ${target.length}, expected prod(dims) = ${size}`);
    let bad = firstNonFinite(predicted);
    if (bad >= 0) throw new MetricArgumentError(fn, 'predicted', `holds a non-finite value at index ${bad}`);
    bad = firstNonFinite(target);
    if (bad >= 0) throw new MetricArgumentError(fn, 'target', `holds a non-finite value at index ${bad}`);
    let s = 0;
    for (let i = 0; i < size; i++) {
      const t = predicted[i] - target[i];
      s += t * t;
    }
    this.sq += s;
    this.count += size;
    const mse = s / size;
    this.per.mse.push(mse);
    this.per.psnr.push(psnrOf(this.dataRange, mse));
    const C = full[0];
    const spatial = full.slice(1);
    const P = size / C;
    if (spatial.some((d) => d < 7)) {
      this.per.ssim.push(null);
    } else {
      let acc = 0;
      for (let c = 0; c < C; c++) {
        acc += ssim(target.subarray(c * P, (c + 1) * P), predicted.subarray(c * P, (c + 1) * P), spatial, { dataRange: this.dataRange });
      }
      this.per.ssim.push(acc / C);
    }
  }

  result(): RegressionScores {
    const mse = this.count > 0 ? this.sq / this.count : null;
    const ss = this.per.ssim.filter((v): v is number => v !== null);
    return {
      mse,
      psnr: mse === null ? null : psnrOf(this.dataRange, mse),
      ssim: ss.length > 0 ? ss.reduce((a, b) => a + b, 0) / ss.length : null,
      perImage: { mse: this.per.mse.slice(), psnr: this.per.psnr.slice(), ssim: this.per.ssim.slice() },
      images: this.per.mse.length,
    };
  }
}

function psnrOf(R: number, mse: number): number | null {
  return mse > 0 ? 10 * Math.log10((R * R) / mse) : null;
}

/**
 * Peak signal-to-noise ratio `10·log10(R² / MSE)`, `MSE = mean((target − pred)²)` (float64),
 * as `skimage.metrics.peak_signal_noise_ratio(target, pred, data_range=R)`.
 * @returns null when MSE = 0 (skimage: inf)
 */
export function psnr(target: FloatArray, predicted: FloatArray, dataRange: number): number | null {
  const fn = 'psnr';
  checkNumber(fn, 'dataRange', dataRange, { positive: true });
  if (!isFloatArray(target) || !isFloatArray(predicted)) throw new MetricArgumentError(fn, isFloatArray(target) ? 'predicted' : 'target', 'must be a Float32Array or Float64Array');
  if (target.length !== predicted.length || target.length === 0) throw new MetricArgumentError(fn, 'predicted', `has length ${predicted.length}, expected ${target.length} (> 0, the length of target)`);
  let s = 0;
  for (let i = 0; i < target.length; i++) {
    const t = target[i] - predicted[i];
    s += t * t;
  }
  if (!Number.isFinite(s)) throw new MetricArgumentError(fn, 'predicted', 'or target holds a non-finite value');
  return psnrOf(dataRange, s / target.length);
}

/** scipy.ndimage.uniform_filter1d(size=w, mode='reflect') along `axis` of an nD float64 array, in place into `out`. */
function uniform1d(src: Float64Array, dims: number[], axis: number, w: number, out: Float64Array): void {
  const len = dims[axis];
  let stride = 1;
  for (let a = dims.length - 1; a > axis; a--) stride *= dims[a];
  const outer = src.length / (len * stride);
  const size1 = w >> 1; // before
  const line = new Float64Array(len + w - 1);
  for (let o = 0; o < outer; o++) {
    for (let s = 0; s < stride; s++) {
      const base = o * len * stride + s;
      // extended line, 'reflect' (d c b a | a b c d | d c b a)
      for (let t = 0; t < len + w - 1; t++) {
        let i = t - size1;
        // fold until inside (periodic with period 2·len)
        while (i < 0 || i >= len) i = i < 0 ? -i - 1 : 2 * len - i - 1;
        line[t] = src[base + i * stride];
      }
      let tmp = 0;
      for (let t = 0; t < w; t++) tmp += line[t];
      out[base] = tmp / w;
      for (let t = 1; t < len; t++) {
        tmp += line[t + w - 1] - line[t - 1];
        out[base + t * stride] = tmp / w;
      }
    }
  }
}

function uniformFilter(x: Float64Array, dims: number[], w: number): Float64Array {
  let cur = x;
  for (let a = 0; a < dims.length; a++) {
    const next = new Float64Array(x.length);
    uniform1d(cur, dims, a, w, next);
    cur = next;
  }
  return cur;
}

/**
 * Mean structural similarity of one single-channel image (2D or 3D), as
 * `skimage.metrics.structural_similarity(target, pred, data_range=R)` with skimage's
 * defaults (0.19): a 7-wide uniform window (`win_size=7`, `gaussian_weights=False`),
 * `K1 = 0.01`, `K2 = 0.03`, sample covariance (`N/(N−1)`, N = 7^ndim), means by
 * `scipy.ndimage.uniform_filter(mode='reflect')`, computed in float64:
 *
 * `S = ((2·μx·μy + C1)(2·σxy + C2)) / ((μx² + μy² + C1)(σx² + σy² + C2))`,
 * `C1 = (K1·R)²`, `C2 = (K2·R)²`; the result is the mean of S over the image minus a
 * border of 3 pixels (`(win_size − 1)/2`).
 *
 * @param dims spatial dims, each ≥ 7
 */
export function ssim(target: FloatArray, predicted: FloatArray, dims: number[], opts: { dataRange: number; winSize?: number; K1?: number; K2?: number }): number {
  const fn = 'ssim';
  const R = checkNumber(fn, 'dataRange', opts?.dataRange, { positive: true });
  const w = checkInt(fn, 'winSize', opts.winSize ?? 7, 1);
  if (w % 2 !== 1) throw new MetricArgumentError(fn, 'winSize', `must be odd, got ${w}`);
  if (!Array.isArray(dims) || dims.length < 1) throw new MetricArgumentError(fn, 'dims', 'must list the spatial dims');
  dims.forEach((d, a) => checkInt(fn, `dims[${a}]`, d, w));
  const size = dims.reduce((p, v) => p * v, 1);
  if (!isFloatArray(target) || target.length !== size) throw new MetricArgumentError(fn, 'target', `must be a float array of length prod(dims) = ${size}`);
  if (!isFloatArray(predicted) || predicted.length !== size) throw new MetricArgumentError(fn, 'predicted', `must be a float array of length prod(dims) = ${size}`);
  let bad = firstNonFinite(target);
  if (bad >= 0) throw new MetricArgumentError(fn, 'target', `holds a non-finite value at index ${bad}`);
  bad = firstNonFinite(predicted);
  if (bad >= 0) throw new MetricArgumentError(fn, 'predicted', `holds a non-finite value at index ${bad}`);
  const K1 = opts.K1 ?? 0.01;
  const K2 = opts.K2 ?? 0.03;

  const X = Float64Array.from(target);
  const Y = Float64Array.from(predicted);
  const XX = new Float64Array(size);
  const YY = new Float64Array(size);
  const XY = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    XX[i] = X[i] * X[i];
    YY[i] = Y[i] * Y[i];
    XY[i] = X[i] * Y[i];
  }
  const ux = uniformFilter(X, dims, w);
  const uy = uniformFilter(Y, dims, w);
  const uxx = uniformFilter(XX, dims, w);
  const uyy = uniformFilter(YY, dims, w);
  const uxy = uniformFilter(XY, dims, w);
  const NP = Math.pow(w, dims.length);
  const covNorm = NP / (NP - 1);
  const C1 = (K1 * R) ** 2;
  const C2 = (K2 * R) ** 2;
  const pad = (w - 1) >> 1;

  // mean of S over the cropped region
  let sum = 0;
  let count = 0;
  const nd = dims.length;
  const idx = new Array(nd).fill(0);
  for (let i = 0; i < size; i++) {
    // decode the multi-index of i (row-major)
    let r = i;
    let inside = true;
    for (let a = nd - 1; a >= 0; a--) {
      idx[a] = r % dims[a];
      r = (r - idx[a]) / dims[a];
      if (idx[a] < pad || idx[a] >= dims[a] - pad) inside = false;
    }
    if (!inside) continue;
    const mx = ux[i];
    const my = uy[i];
    const vx = covNorm * (uxx[i] - mx * mx);
    const vy = covNorm * (uyy[i] - my * my);
    const vxy = covNorm * (uxy[i] - mx * my);
    const A1 = 2 * mx * my + C1;
    const A2 = 2 * vxy + C2;
    const B1 = mx * mx + my * my + C1;
    const B2 = vx + vy + C2;
    sum += (A1 * A2) / (B1 * B2);
    count++;
  }
  return sum / count;
}

/** The results-file view of segmentation scores: `dice`, `accuracy`, and `dice_<c>` per class. */
export function segmentationPerformance(s: SegmentationScores): Performance {
  const p: Performance = { dice: s.dice, accuracy: s.accuracy };
  s.dicePerClass.forEach((d, c) => (p[`dice_${c}`] = d));
  return p;
}

/** The results-file view of regression scores: `mse`, `psnr`, `ssim`. */
export function regressionPerformance(s: RegressionScores): Performance {
  return { mse: s.mse, psnr: s.psnr, ssim: s.ssim };
}
