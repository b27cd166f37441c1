/**
 * From tensors to points (METHOD.md §2): one point per spatial location of a tap, its
 * C-vector; the model's predicted label map; and the mapping from a location of tap l to
 * the location of tap l−1 (or the input patch) that stands for the same input pixels.
 * (Predicted labels and the l → l−1 location map live in metrics/pooling.ts.)
 * Pure functions on typed arrays.
 */
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

/** True when every value is finite. */
export function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
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
  const rank = dims.length;
  const side = Math.max(1, Math.round(r));
  const half = Math.floor(side / 2);
  const patchLocs = side ** rank;
  const dim = C0 * patchLocs;
  const L = prod(dims);
  const inL = prod(inDims);
  const out = new Float32Array(L * dim);
  const idx = new Array<number>(rank).fill(0);
  const centre = new Array<number>(rank).fill(0);
  const off = new Array<number>(rank).fill(0);
  for (let l = 0; l < L; l++) {
    for (let a = 0; a < rank; a++) centre[a] = Math.min(inDims[a] - 1, Math.floor(((idx[a] + 0.5) * inDims[a]) / dims[a]));
    off.fill(0);
    for (let p = 0; p < patchLocs; p++) {
      let inside = true;
      let flat = 0;
      for (let a = 0; a < rank; a++) {
        const x = centre[a] - half + off[a];
        if (x < 0 || x >= inDims[a]) inside = false;
        flat = flat * inDims[a] + x;
      }
      if (inside) for (let c = 0; c < C0; c++) out[l * dim + p * C0 + c] = image[c * inL + flat];
      for (let a = rank - 1; a >= 0; a--) {
        if (++off[a] < side) break;
        off[a] = 0;
      }
    }
    for (let a = rank - 1; a >= 0; a--) {
      if (++idx[a] < dims[a]) break;
      idx[a] = 0;
    }
  }
  return { data: out, dim };
}
