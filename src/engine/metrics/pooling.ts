/**
 * Labels of the points of a tap (METHOD.md §2): the ground-truth mask, or the model's own
 * prediction, area-pooled to the tap's spatial grid. Pure: no `vscode`, no I/O.
 *
 * ## The block rule, per axis
 *
 * An axis of input size `S` (the mask) is brought to output size `T` (the tap). Axes are
 * treated independently; a location's block is the product of its per-axis ranges.
 *
 * - `T ≤ S` (down-sampling or equal size): location `i` owns input indices
 *   `[floor(i·S/T), floor((i+1)·S/T))`. With a non-integer ratio `S/T` the block edges are
 *   the floors of the exact rational edges (integer arithmetic, no floating-point rounding):
 *   the blocks partition the axis exactly, none is empty, and their lengths are
 *   `floor(S/T)` or `ceil(S/T)`. Every input pixel belongs to exactly one block and counts
 *   as one whole pixel (no fractional areas).
 * - `T > S` (up-sampling): location `i` takes the single input index containing its centre,
 *   `floor((i + ½)·S/T) = floor((2i+1)·S / (2T))`.
 *
 * The label of a location is the class with the most pixels in its block; ties go to the
 * lower class index. Negative mask values mean "no label" (e.g. an ignore region): they are
 * not counted, and a block holding only such pixels gets the label −1.
 */

import { MetricArgumentError, checkInt, isIntArray, type IntArray } from './validate';

/** floor(a / b) for non-negative safe integers, exact. */
function idiv(a: number, b: number): number {
  let q = Math.floor(a / b);
  if (q * b > a) q--;
  else if ((q + 1) * b <= a) q++;
  return q;
}

/**
 * The per-axis input range `[start[i], end[i])` owned by each output location `i`
 * (see the block rule in this file's header).
 */
export function axisBlocks(inSize: number, outSize: number): { start: Int32Array; end: Int32Array } {
  checkInt('axisBlocks', 'inSize', inSize, 1);
  checkInt('axisBlocks', 'outSize', outSize, 1);
  const start = new Int32Array(outSize);
  const end = new Int32Array(outSize);
  if (outSize <= inSize) {
    for (let i = 0; i < outSize; i++) {
      start[i] = idiv(i * inSize, outSize);
      end[i] = idiv((i + 1) * inSize, outSize);
    }
  } else {
    for (let i = 0; i < outSize; i++) {
      const c = idiv((2 * i + 1) * inSize, 2 * outSize);
      start[i] = c;
      end[i] = c + 1;
    }
  }
  return { start, end };
}

/** Index along an axis of size `inSize` of the cell containing the centre of cell `i` of `outSize`. */
function centreIndex(i: number, inSize: number, outSize: number): number {
  return idiv((2 * i + 1) * inSize, 2 * outSize);
}

function checkDims(fn: string, name: string, dims: unknown, rank?: number): number[] {
  if (!Array.isArray(dims) || dims.length < 1 || dims.length > 3) {
    throw new MetricArgumentError(fn, name, 'must be an array of 1 to 3 spatial sizes ([W], [H, W] or [D, H, W])');
  }
  if (rank !== undefined && dims.length !== rank) {
    throw new MetricArgumentError(fn, name, `must have ${rank} entries (the rank of the other grid), got ${dims.length}`);
  }
  for (let a = 0; a < dims.length; a++) checkInt(fn, `${name}[${a}]`, dims[a], 1);
  return dims as number[];
}

/** Pads spatial dims to rank 3 with leading ones. */
function to3(d: number[]): [number, number, number] {
  return [d.length >= 3 ? d[d.length - 3] : 1, d.length >= 2 ? d[d.length - 2] : 1, d[d.length - 1]];
}

/**
 * Area-pools a label mask to a coarser (or finer) grid: the majority label of each
 * location's block, ties to the lower class index (rule in this file's header).
 *
 * `label[o] = argmax_c #{ p ∈ block(o) : mask[p] = c }` (lowest c among maxima),
 * `−1` where the block holds no pixel with a label ≥ 0.
 *
 * @param mask row-major labels over `inDims` (values in [0, numClasses), or negative = unlabelled)
 * @param inDims spatial dims of the mask, `[H0, W0]` or `[D0, H0, W0]` (also `[W0]`)
 * @param outDims spatial dims of the tap, same rank as `inDims`
 * @param numClasses number of classes C (≥ 1)
 * @returns Int32Array of length `prod(outDims)`, row-major
 */
export function poolLabels(
  mask: IntArray,
  inDims: number[],
  outDims: number[],
  numClasses: number,
): Int32Array {
  const fn = 'poolLabels';
  checkDims(fn, 'inDims', inDims);
  checkDims(fn, 'outDims', outDims, inDims.length);
  checkInt(fn, 'numClasses', numClasses, 1);
  if (!isIntArray(mask)) throw new MetricArgumentError(fn, 'mask', 'must be an Int32Array or Uint8Array (or another integer typed array)');
  const inSize = inDims.reduce((p, v) => p * v, 1);
  if (mask.length !== inSize) {
    throw new MetricArgumentError(fn, 'mask', `has length ${mask.length}, expected prod(inDims) = ${inSize}`);
  }
  for (let p = 0; p < inSize; p++) {
    if (mask[p] >= numClasses) {
      throw new MetricArgumentError(fn, 'mask', `holds label ${mask[p]} at index ${p}, not below numClasses = ${numClasses}`);
    }
  }
  const [D0, H0, W0] = to3(inDims);
  const [D, H, W] = to3(outDims);
  if (D === D0 && H === H0 && W === W0) {
    // one pixel per block: its own label (−1 where unlabelled)
    const same = new Int32Array(inSize);
    for (let p = 0; p < inSize; p++) same[p] = mask[p] >= 0 ? mask[p] : -1;
    return same;
  }
  const bd = axisBlocks(D0, D);
  const bh = axisBlocks(H0, H);
  const bw = axisBlocks(W0, W);
  const out = new Int32Array(D * H * W);
  const counts = new Int32Array(numClasses);
  let o = 0;
  for (let d = 0; d < D; d++) {
    for (let h = 0; h < H; h++) {
      for (let w = 0; w < W; w++, o++) {
        for (let c = 0; c < numClasses; c++) counts[c] = 0;
        for (let z = bd.start[d]; z < bd.end[d]; z++) {
          for (let y = bh.start[h]; y < bh.end[h]; y++) {
            const row = (z * H0 + y) * W0;
            for (let x = bw.start[w]; x < bw.end[w]; x++) {
              const v = mask[row + x];
              if (v >= 0) counts[v]++;
            }
          }
        }
        let best = -1;
        let bestCount = 0;
        for (let c = 0; c < numClasses; c++) {
          if (counts[c] > bestCount) {
            bestCount = counts[c];
            best = c;
          }
        }
        out[o] = best;
      }
    }
  }
  return out;
}

/**
 * How a model output becomes a predicted label (CONTRACT.md §1 `model.activation`):
 * `softmax`: C ≥ 2 class channels, label = argmax over channels (ties to the lower index);
 * `sigmoid`: one channel of logits, label = 1 where the value is > 0, else 0;
 * `probability`: one channel in [0, 1], label = 1 where the value is > 0.5, else 0.
 */
export type PredictionMode = 'softmax' | 'sigmoid' | 'probability';

/**
 * Per-location predicted labels of one image's output, channel-first: `output` has dims
 * `[C, ...spatial]` row-major.
 *
 * `label[p] = argmax_c output[c, p]` (lowest c among maxima) for `softmax`;
 * `label[p] = [output[0, p] > 0]` for `sigmoid`; `[output[0, p] > 0.5]` for `probability`.
 *
 * @returns Int32Array of length `prod(spatial)`
 */
export function predictedLabels(output: Float32Array | Float64Array, dims: number[], mode: PredictionMode): Int32Array {
  const fn = 'predictedLabels';
  if (!Array.isArray(dims) || dims.length < 2) throw new MetricArgumentError(fn, 'dims', 'must be [C, ...spatial] with at least one spatial axis');
  for (let a = 0; a < dims.length; a++) checkInt(fn, `dims[${a}]`, dims[a], 1);
  if (!(output instanceof Float32Array || output instanceof Float64Array)) {
    throw new MetricArgumentError(fn, 'output', 'must be a Float32Array or Float64Array');
  }
  const C = dims[0];
  const P = dims.slice(1).reduce((p, v) => p * v, 1);
  if (output.length !== C * P) throw new MetricArgumentError(fn, 'output', `has length ${output.length}, expected prod(dims) = ${C * P}`);
  const labels = new Int32Array(P);
  if (mode === 'softmax') {
    if (C < 2) throw new MetricArgumentError(fn, 'mode', `'softmax' needs C >= 2 channels, got C = ${C}`);
    for (let p = 0; p < P; p++) {
      let best = 0;
      let bv = output[p];
      if (bv !== bv) throw new MetricArgumentError(fn, 'output', `holds NaN at channel 0, location ${p}`);
      for (let c = 1; c < C; c++) {
        const v = output[c * P + p];
        if (v !== v) throw new MetricArgumentError(fn, 'output', `holds NaN at channel ${c}, location ${p}`);
        if (v > bv) {
          bv = v;
          best = c;
        }
      }
      labels[p] = best;
    }
  } else if (mode === 'sigmoid' || mode === 'probability') {
    if (C !== 1) throw new MetricArgumentError(fn, 'mode', `'${mode}' needs exactly 1 channel, got C = ${C}`);
    const thr = mode === 'sigmoid' ? 0 : 0.5;
    for (let p = 0; p < P; p++) {
      const v = output[p];
      if (v !== v) throw new MetricArgumentError(fn, 'output', `holds NaN at location ${p}`);
      labels[p] = v > thr ? 1 : 0;
    }
  } else {
    throw new MetricArgumentError(fn, 'mode', `must be 'softmax', 'sigmoid' or 'probability', got ${String(mode)}`);
  }
  return labels;
}

/**
 * Predicted labels pooled to a tap's grid: the same rule as `poolLabels`, applied to the
 * per-pixel predicted labels (`predictedLabels`) of the model output (METHOD.md §2).
 */
export function poolPredictions(
  predicted: IntArray,
  inDims: number[],
  outDims: number[],
  numClasses: number,
): Int32Array {
  return poolLabels(predicted, inDims, outDims, numClasses);
}

/**
 * Location correspondence between two grids of the same rank (METHOD.md §4 roughness: "the
 * l−1 location is the one whose cell contains the centre of the l cell").
 *
 * `map[o]` = flat row-major index in the `fromDims` grid of the cell containing the centre of
 * cell `o` of the `toDims` grid, per axis `floor((2i+1)·F / (2T))` (a centre on a cell
 * boundary belongs to the cell after it, the cells being half-open).
 *
 * @returns Int32Array of length `prod(toDims)`
 */
export function centreIndexMap(fromDims: number[], toDims: number[]): Int32Array {
  const fn = 'centreIndexMap';
  checkDims(fn, 'fromDims', fromDims);
  checkDims(fn, 'toDims', toDims, fromDims.length);
  const [FD, FH, FW] = to3(fromDims);
  const [TD, TH, TW] = to3(toDims);
  const cw = new Int32Array(TW);
  for (let w = 0; w < TW; w++) cw[w] = centreIndex(w, FW, TW);
  const map = new Int32Array(TD * TH * TW);
  let o = 0;
  for (let d = 0; d < TD; d++) {
    const z = centreIndex(d, FD, TD);
    for (let h = 0; h < TH; h++) {
      const base = (z * FH + centreIndex(h, FH, TH)) * FW;
      for (let w = 0; w < TW; w++) map[o++] = base + cw[w];
    }
  }
  return map;
}
