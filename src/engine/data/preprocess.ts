/**
 * Raw pixels → the model's input, and masks → class maps of the model's size.
 *
 * Order of operations for an image (`toModelInput`):
 *  1. channels: as many as `input.channels`; a 1-channel image is repeated when the model
 *     wants more (grey → RGB); any other mismatch is an error.
 *  2. normalise per channel: `x = (raw * scale - mean[c]) / std[c]` (mean/std of length 1
 *     apply to every channel), or per `input.normalize` (normalize.ts: per-image z-score,
 *     min-max, clipping; nnU-Net's conventions).
 *  3. size: to `targetHW` ([H, W] or [D, H, W]) by
 *     - `resize: "resize"`: linear interpolation along each spatial axis (bilinear in 2D,
 *       trilinear in 3D) with half-pixel centres, i.e. `align_corners=False` and no
 *       antialiasing — the same as `torch.nn.functional.interpolate(mode='bilinear',
 *       align_corners=False, antialias=False)` and cv2.resize INTER_LINEAR when upsampling.
 *       Output pixel o samples the input at s = (o + 0.5)·in/out − 0.5, clamped to ≥ 0;
 *       i0 = ⌊s⌋, i1 = min(i0 + 1, in − 1), weight of i1 = s − i0.
 *     - `resize: "crop"`: centre crop, offset ⌊(in − out)/2⌋; where the image is smaller than
 *       the target it is zero-padded (in model-input space, i.e. after normalisation) with
 *       offset ⌊(out − in)/2⌋.
 *  Normalising before resizing gives the same result as after (interpolation weights sum to 1),
 *  and makes crop padding a true 0 of the model input.
 *
 * Masks (`toLabelMap`) use nearest neighbour with half-pixel centres, i.e. torch's
 * `mode='nearest-exact'`: o samples ⌊(o + 0.5)·in/out⌋ (clamped to in − 1); or the same centre
 * crop, padding with class 0.
 */
import { LensError, type DatasetConfig } from '../types';
import type { LabelMap, RawImage } from './formats';
import { normalizeImage } from './normalize';

type InputSpec = DatasetConfig['input'];

function product(a: number[]): number {
  return a.reduce((p, d) => p * d, 1);
}

/** Per-output-index source taps of 1-D linear interpolation with half-pixel centres. */
export function linearTaps(inSize: number, outSize: number): { i0: Int32Array; i1: Int32Array; w1: Float64Array } {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const w1 = new Float64Array(outSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    let s = (o + 0.5) * scale - 0.5;
    if (s < 0) s = 0;
    let a = Math.floor(s);
    if (a > inSize - 1) a = inSize - 1;
    const b = Math.min(a + 1, inSize - 1);
    i0[o] = a;
    i1[o] = b;
    w1[o] = b === a ? 0 : s - a;
  }
  return { i0, i1, w1 };
}

/**
 * Resamples one axis of a row-major array of shape `shape` to `outSize` with linear
 * interpolation (half-pixel centres, align_corners=False).
 */
function resampleAxis(src: Float32Array | Float64Array, shape: number[], axis: number, outSize: number): Float64Array {
  const inSize = shape[axis];
  const outer = product(shape.slice(0, axis));
  const inner = product(shape.slice(axis + 1));
  const out = new Float64Array(outer * outSize * inner);
  const { i0, i1, w1 } = linearTaps(inSize, outSize);
  for (let a = 0; a < outer; a++) {
    const sBase = a * inSize * inner;
    const dBase = a * outSize * inner;
    for (let o = 0; o < outSize; o++) {
      const r0 = sBase + i0[o] * inner;
      const r1 = sBase + i1[o] * inner;
      const w = w1[o];
      const d = dBase + o * inner;
      for (let k = 0; k < inner; k++) out[d + k] = src[r0 + k] + w * (src[r1 + k] - src[r0 + k]);
    }
  }
  return out;
}

/**
 * Linear resize of planar `[C, ...spatial]` data to `[C, ...target]` (bilinear in 2D, trilinear
 * in 3D; align_corners=False, no antialiasing). Separable: one axis at a time, in float64.
 */
export function resizeLinear(data: Float32Array, dims: number[], target: number[]): Float32Array {
  const spatial = dims.slice(1);
  if (target.length !== spatial.length) throw new Error(`resizeLinear: target rank ${target.length} ≠ ${spatial.length}`);
  let cur: Float32Array | Float64Array = data;
  const shape = dims.slice();
  // Last axis first (contiguous), then the others.
  for (let ax = spatial.length; ax >= 1; ax--) {
    const want = target[ax - 1];
    if (shape[ax] === want) continue;
    cur = resampleAxis(cur, shape, ax, want);
    shape[ax] = want;
  }
  return cur instanceof Float32Array ? cur.slice() : Float32Array.from(cur);
}

/** Source index of output index o for a centre crop/pad along an axis; −1 = padding. */
function cropIndex(o: number, inSize: number, outSize: number): number {
  const s = inSize >= outSize ? o + Math.floor((inSize - outSize) / 2) : o - Math.floor((outSize - inSize) / 2);
  return s >= 0 && s < inSize ? s : -1;
}

/** Nearest-neighbour source index with half-pixel centres (torch 'nearest-exact'). */
function nearestIndex(o: number, inSize: number, outSize: number): number {
  return Math.min(Math.floor(((o + 0.5) * inSize) / outSize), inSize - 1);
}

/**
 * Index remap of `[lead, ...spatial]` planar data to `[lead, ...target]`, one source index
 * function per axis; `pad` where any axis maps to −1.
 */
function remap<T extends Float32Array | Int32Array>(
  src: T,
  lead: number,
  spatial: number[],
  target: number[],
  index: (o: number, inSize: number, outSize: number) => number,
  make: (n: number) => T,
  pad: number,
): T {
  const r = spatial.length;
  const maps = target.map((t, a) => Int32Array.from({ length: t }, (_, o) => index(o, spatial[a], t)));
  const inStride = new Array<number>(r);
  inStride[r - 1] = 1;
  for (let a = r - 2; a >= 0; a--) inStride[a] = inStride[a + 1] * spatial[a + 1];
  const nIn = product(spatial);
  const nOut = product(target);
  // Flat source offset (or −1) of every output location, computed once for all channels.
  const offs = new Int32Array(nOut);
  const idx = new Array<number>(r).fill(0);
  for (let q = 0; q < nOut; q++) {
    let off = 0;
    for (let a = 0; a < r; a++) {
      const s = maps[a][idx[a]];
      if (s < 0) {
        off = -1;
        break;
      }
      off += s * inStride[a];
    }
    offs[q] = off;
    for (let a = r - 1; a >= 0; a--) {
      if (++idx[a] < target[a]) break;
      idx[a] = 0;
    }
  }
  const out = make(lead * nOut);
  for (let c = 0; c < lead; c++) {
    const sb = c * nIn;
    const db = c * nOut;
    for (let q = 0; q < nOut; q++) out[db + q] = offs[q] < 0 ? pad : src[sb + offs[q]];
  }
  return out;
}

/** Centre crop (zero-pad where smaller) of planar `[C, ...spatial]` data to `[C, ...target]`. */
export function centerCrop(data: Float32Array, dims: number[], target: number[]): Float32Array {
  return remap(data, dims[0], dims.slice(1), target, cropIndex, (n) => new Float32Array(n), 0);
}

/**
 * Raw image → model input, planar `C×H×W` (or `C×D×H×W`), float32: channels matched to
 * `input.channels`, normalised `(raw * scale - mean[c]) / std[c]`, resized or centre-cropped to
 * `targetHW` (default: the image's own size). For an NHWC model, transpose with {@link chwToHwc}.
 * `where` names the image in error messages.
 */
export function toModelInput(raw: RawImage, input: InputSpec, targetHW?: number[], where = 'image'): Float32Array {
  const [c0, ...spatial] = raw.dims;
  const want = input.channels;
  const n = product(spatial);
  if (raw.data.length !== c0 * n) throw new LensError(`${where}: ${raw.data.length} values do not fill dims [${raw.dims.join(', ')}]`, 'internal', where);
  if (c0 !== want && c0 !== 1) {
    const hint =
      want === 1 && (c0 === 3 || c0 === 4)
        ? `; convert the images to grey, or set "input.channels": ${c0 === 4 ? 3 : c0} if the model takes colour images`
        : want === 3 && c0 === 4
          ? '; drop the alpha channel'
          : '';
    throw new LensError(`${where}: the image has ${c0} channels but input.channels is ${want}${hint}`, 'data', where);
  }
  const target = targetHW ?? spatial;
  if (target.length !== spatial.length) {
    throw new LensError(
      `${where}: the image is ${spatial.join('×')} (${spatial.length}D) but the model input size is ${target.join('×')} (${target.length}D)`,
      'data',
      where,
    );
  }
  const mean = input.mean;
  const std = input.std;
  for (const [name, v] of [['mean', mean], ['std', std]] as const) {
    if (v.length !== 1 && v.length !== want) {
      throw new LensError(`input.${name} has ${v.length} values; expected 1 or ${want} (one per channel)`, 'dataset', where);
    }
  }
  const norm = normalizeImage(raw, input, where);
  const dims = [want, ...spatial];
  if (target.every((t, a) => t === spatial[a])) return norm;
  if (target.some((t) => !Number.isInteger(t) || t < 1)) throw new LensError(`${where}: bad target size [${target.join(', ')}]`, 'internal', where);
  return input.resize === 'crop' ? centerCrop(norm, dims, target) : resizeLinear(norm, dims, target);
}

/**
 * Class map → `targetHW` by nearest neighbour (half-pixel centres, torch 'nearest-exact') or,
 * with `mode: "crop"`, the same centre crop as the images (padding with class 0).
 * Accepts dims `[H, W]` / `[D, H, W]` (or with a leading 1).
 */
export function toLabelMap(label: LabelMap, targetHW: number[] | undefined, mode: InputSpec['resize'] = 'resize'): Int32Array {
  let spatial = label.dims;
  if (targetHW && spatial.length === targetHW.length + 1 && spatial[0] === 1) spatial = spatial.slice(1);
  const target = targetHW ?? spatial;
  if (target.length !== spatial.length) {
    throw new LensError(`a mask of size ${spatial.join('×')} cannot be resized to ${target.join('×')}`, 'data');
  }
  if (target.every((t, a) => t === spatial[a])) return label.data.slice();
  return remap(
    label.data,
    1,
    spatial,
    target,
    mode === 'crop' ? cropIndex : nearestIndex,
    (k) => new Int32Array(k),
    0,
  );
}

/** Planar `[C, ...spatial]` → interleaved `[...spatial, C]` (for NHWC / NDHWC models). */
export function chwToHwc(data: Float32Array, dims: number[]): Float32Array {
  const c = dims[0];
  const n = product(dims.slice(1));
  if (c === 1) return data;
  const out = new Float32Array(data.length);
  for (let k = 0; k < c; k++) for (let i = 0; i < n; i++) out[i * c + k] = data[k * n + i];
  return out;
}
