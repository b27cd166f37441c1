/**
 * From tensors to points (METHOD.md §2): one point per spatial location of a tap, its
 * C-vector; the model's predicted label map; and the mapping from a location of tap l to
 * the location of tap l−1 (or the input patch) that stands for the same input pixels.
 * (Predicted labels and the l → l−1 location map live in metrics/pooling.ts.)
 * Pure functions on typed arrays.
 */
import { axisBlocks, poolLabels } from './metrics/pooling';
import { LensError, type Activation, type Tensor } from './types';

/** Number of elements of a dims list. */
export const prod = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/**
 * Points of image `n` of a tap tensor N×C×(spatial): a row-major (locations × C) array.
 * `F[n, :, loc]` becomes row `loc`.
 */
export function pointsOfImage(t: Tensor, n: number): Float32Array {
  const C = t.dims[1];
  const L = prod(t.dims.slice(2));
  const base = n * C * L;
  const out = new Float32Array(L * C);
  for (let c = 0; c < C; c++) {
    const src = base + c * L;
    for (let l = 0; l < L; l++) out[l * C + c] = t.data[src + l];
  }
  return out;
}

/**
 * True when every value is finite. One running float64 sum (four, interleaved): a NaN or ±Inf
 * makes it NaN or ±Inf for good, and finite float32 values cannot overflow it (each is below
 * 2^128, so fewer than 2^895 of them sum below 2^1023), so the sum is finite exactly when
 * every value is. About 3× cheaper than testing each value: the forward pass runs it over
 * every activation value of every tap.
 */
export function allFinite(a: Float32Array): boolean {
  const n = a.length;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    s0 += a[i];
    s1 += a[i + 1];
    s2 += a[i + 2];
    s3 += a[i + 3];
  }
  for (; i < n; i++) s0 += a[i];
  return Number.isFinite(s0 + s1 + s2 + s3);
}

/** How the prediction channel(s) are read (CONTRACT.md §1 `model.activation`). */
export function resolveActivation(activation: Activation, channels: number, sample: Float32Array): Exclude<Activation, 'auto'> {
  if (activation !== 'auto') {
    if (activation === 'softmax' && channels < 2) {
      throw new LensError(`model.activation is "softmax" but the prediction output has ${channels} channel`, 'dataset', 'model.activation');
    }
    if (activation !== 'softmax' && channels !== 1) {
      throw new LensError(`model.activation is "${activation}" but the prediction output has ${channels} channels (expected 1)`, 'dataset', 'model.activation');
    }
    return activation;
  }
  if (channels >= 2) return 'softmax';
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < sample.length; i++) {
    if (sample[i] < min) min = sample[i];
    if (sample[i] > max) max = sample[i];
  }
  return min >= 0 && max <= 1 ? 'probability' : 'sigmoid';
}

/**
 * The "previous tap" of the first tap: the input pixels of its receptive field. For each
 * location of `dims`, the r×r (×r) patch of the input image (C0×inDims) centred on the
 * input pixel that holds the cell's centre, zero outside the image; flattened channel-last.
 * Returns (locations × patchDim) and patchDim = C0·r^rank.
 */
export function inputPatches(
  image: Float32Array,
  C0: number,
  inDims: readonly number[],
  dims: readonly number[],
  r: number,
): { data: Float32Array; dim: number } {
  const side = Math.max(1, Math.round(r));
  const dim = C0 * side ** dims.length;
  const L = prod(dims);
  const out = new Float32Array(L * dim);
  for (let l = 0; l < L; l++) inputPatchAt(image, C0, inDims, dims, side, l, out, l * dim);
  return { data: out, dim };
}

/**
 * The input patch of one location `l` (row-major in `dims`) of `inputPatches`, written to
 * `dst[offset … offset + C0·side^rank)` (zeros outside the image).
 */
export function inputPatchAt(
  image: Float32Array,
  C0: number,
  inDims: readonly number[],
  dims: readonly number[],
  side: number,
  l: number,
  dst: Float32Array,
  offset: number,
): void {
  const rank = dims.length;
  const half = Math.floor(side / 2);
  if (rank === 2) {
    // the loop below for two axes, without its per-call arrays (the forward pass calls this for every point its sampler keeps at the first tap)
    const H = inDims[0];
    const W = inDims[1];
    const inL2 = H * W;
    const i1 = l % dims[1];
    const i0 = (l - i1) / dims[1];
    const cx = Math.min(W - 1, Math.floor(((i1 + 0.5) * W) / dims[1]));
    const cy = Math.min(H - 1, Math.floor(((i0 + 0.5) * H) / dims[0]));
    let o = offset;
    for (let dy = 0; dy < side; dy++) {
      const y = cy - half + dy;
      for (let dx = 0; dx < side; dx++, o += C0) {
        const x = cx - half + dx;
        if (y >= 0 && y < H && x >= 0 && x < W) {
          const flat = y * W + x;
          for (let c = 0; c < C0; c++) dst[o + c] = image[c * inL2 + flat];
        } else {
          for (let c = 0; c < C0; c++) dst[o + c] = 0;
        }
      }
    }
    return;
  }
  const patchLocs = side ** rank;
  const inL = prod(inDims);
  // centre of the cell in input pixels, per axis (last axis fastest in l)
  let rest = l;
  let c0 = 0;
  let c1 = 0;
  let c2 = 0;
  for (let a = rank - 1; a >= 0; a--) {
    const i = rest % dims[a];
    rest = (rest - i) / dims[a];
    const c = Math.min(inDims[a] - 1, Math.floor(((i + 0.5) * inDims[a]) / dims[a]));
    if (a === rank - 1) c0 = c;
    else if (a === rank - 2) c1 = c;
    else c2 = c;
  }
  const centre = rank === 1 ? [c0] : rank === 2 ? [c1, c0] : [c2, c1, c0];
  const off = new Array<number>(rank).fill(0);
  for (let p = 0; p < patchLocs; p++) {
    let inside = true;
    let flat = 0;
    for (let a = 0; a < rank; a++) {
      const x = centre[a] - half + off[a];
      if (x < 0 || x >= inDims[a]) inside = false;
      flat = flat * inDims[a] + x;
    }
    const o = offset + p * C0;
    if (inside) for (let c = 0; c < C0; c++) dst[o + c] = image[c * inL + flat];
    else for (let c = 0; c < C0; c++) dst[o + c] = 0;
    for (let a = rank - 1; a >= 0; a--) {
      if (++off[a] < side) break;
      off[a] = 0;
    }
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Per-image maps (results.maps): slices, previews, area means                                  */
/* ------------------------------------------------------------------------------------------ */

/**
 * Largest side of a preview (results.maps), in pixels, and the default `maxSide` of `mapSize`.
 * The confidence maps use `analysis.mapGrid` (default 64, at most 128) instead (pipeline/maps.ts).
 */
export const MAP_MAX_SIDE = 128;

/**
 * The cell of an axis of `outSize` cells that holds input index `floor(inSize / 2)` (the
 * middle slice of a 3D input), by the block rule of metrics/pooling.ts: for `outSize ≤ inSize`
 * the cell whose block contains it; for `outSize > inSize` the first cell whose centre falls
 * in it.
 */
export function middleCell(inSize: number, outSize: number): number {
  const zc = Math.floor(inSize / 2);
  const { start, end } = axisBlocks(inSize, outSize);
  for (let i = 0; i < outSize; i++) if (start[i] <= zc && zc < end[i]) return i;
  return Math.min(outSize - 1, Math.floor(outSize / 2));
}

/**
 * The 2D grid of a spatial grid for the maps: `[H, W]` itself, or for `[D, H, W]` the slice
 * `z` (row-major, so its locations are the contiguous range `[z·H·W, (z+1)·H·W)`).
 */
export function planeOf(dims: readonly number[], z: number): { dims: [number, number]; offset: number } {
  if (dims.length === 2) return { dims: [dims[0], dims[1]], offset: 0 };
  if (dims.length === 3) return { dims: [dims[1], dims[2]], offset: z * dims[1] * dims[2] };
  if (dims.length === 1) return { dims: [1, dims[0]], offset: 0 };
  throw new LensError(`no 2D plane in a grid of ${dims.length} spatial dims`, 'internal');
}

/** `[h, w]` of a grid of at most `maxSide` cells a side with the aspect of `[H, W]` (`[H, W]` itself when it fits). */
export function mapSize(dims: readonly [number, number], maxSide = MAP_MAX_SIDE): [number, number] {
  const m = Math.max(dims[0], dims[1]);
  if (m <= maxSide) return [dims[0], dims[1]];
  return [Math.max(1, Math.round((dims[0] * maxSide) / m)), Math.max(1, Math.round((dims[1] * maxSide) / m))];
}

/**
 * Area mean of a row-major `[H, W]` plane onto `[h, w]` (h ≤ H, w ≤ W): each output cell is
 * the mean of its block (`axisBlocks`, the same blocks as label pooling).
 */
export function areaMean(values: ArrayLike<number>, dims: readonly [number, number], out: readonly [number, number]): Float64Array {
  const [H, W] = dims;
  const [h, w] = out;
  const res = new Float64Array(h * w);
  if (h === H && w === W) {
    for (let i = 0; i < h * w; i++) res[i] = values[i];
    return res;
  }
  const by = axisBlocks(H, h);
  const bx = axisBlocks(W, w);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      let s = 0;
      let n = 0;
      for (let y = by.start[i]; y < by.end[i]; y++) {
        for (let x = bx.start[j]; x < bx.end[j]; x++) {
          s += values[y * W + x];
          n++;
        }
      }
      res[i * w + j] = s / n;
    }
  }
  return res;
}

/**
 * Grey preview of one model input (planar `C0×spatial`): the middle slice in 3D, the mean
 * over channels, area-averaged to at most `maxSide` (MAP_MAX_SIDE) a side, then min–max scaled to
 * integers 0..255 (all 0 when the slice is constant).
 */
export function greyPreview(image: Float32Array, C0: number, spatial: readonly number[], maxSide = MAP_MAX_SIDE): { dims: [number, number]; values: number[] } {
  const z = spatial.length === 3 ? Math.floor(spatial[0] / 2) : 0;
  const plane = planeOf(spatial, z);
  const P = plane.dims[0] * plane.dims[1];
  const inL = prod(spatial);
  const grey = new Float64Array(P);
  for (let c = 0; c < C0; c++) {
    const base = c * inL + plane.offset;
    for (let i = 0; i < P; i++) grey[i] += image[base + i];
  }
  for (let i = 0; i < P; i++) grey[i] /= C0;
  const dims = mapSize(plane.dims, maxSide);
  const small = areaMean(grey, plane.dims, dims);
  let min = Infinity;
  let max = -Infinity;
  for (const v of small) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const span = max - min;
  const values = Array.from(small, (v) => (span > 0 ? Math.round(((v - min) / span) * 255) : 0));
  return { dims, values };
}

/**
 * A label map on its own grid (`dims`, 2D or 3D) as shown beside a preview: the plane holding
 * the input's middle slice (`inDepth` = the input's depth in 3D), majority-pooled
 * (`poolLabels`) onto the preview grid `to`.
 */
export function labelPlane(labels: Int32Array, dims: readonly number[], inDepth: number | undefined, to: readonly [number, number], numClasses: number): number[] {
  const z = dims.length === 3 ? middleCell(inDepth ?? dims[0], dims[0]) : 0;
  const plane = planeOf(dims, z);
  const P = plane.dims[0] * plane.dims[1];
  const sub = labels.subarray(plane.offset, plane.offset + P);
  return Array.from(poolLabels(sub, [...plane.dims], [...to], Math.max(1, numClasses)));
}
