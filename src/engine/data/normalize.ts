/**
 * Per-channel intensity normalisation, `input.normalize` of the dataset file (one entry for
 * every channel, or one per channel; absent = "fixed" everywhere). With v = raw · scale:
 *
 *   "fixed"            x = (v − mean[c]) / std[c]
 *   "zscore"           x = (v − μ) / max(σ, 1e-8), μ and σ (population) over this image's channel
 *                      — nnU-Net v2's ZScoreNormalization (without use_mask_for_norm)
 *   "minmax"           x = (v − min) / max(max − min, 1e-8) over this image's channel
 *                      — nnU-Net v2's RescaleTo01Normalization
 *   { clip: [lo, hi] } x = (min(max(v, lo), hi) − mean[c]) / std[c]
 *                      — nnU-Net v2's CTNormalization when lo/hi are the fingerprint's foreground
 *                        percentiles 0.5/99.5 and mean/std its foreground mean and std
 *
 * Sums in float64. Pure: no file access.
 */
import { LensError, type DatasetConfig, type Normalization } from '../types';
import type { RawImage } from './formats';

type InputSpec = DatasetConfig['input'];

/** The normalisation of channel `c` (a list of one applies to every channel). */
export function normalizationOf(input: Pick<InputSpec, 'normalize'>, c: number): Normalization {
  const n = input.normalize;
  if (!n || n.length === 0) return 'fixed';
  return n.length === 1 ? n[0] : n[c];
}

/** Normalises `src[0..n)` (raw values of one channel) into `dst[0..n)`. */
export function normalizeChannel(src: ArrayLike<number>, dst: Float32Array, n: number, how: Normalization, scale: number, mean: number, std: number): void {
  if (how === 'zscore' || how === 'minmax') {
    let sum = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = src[i] * scale;
      sum += v;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (how === 'zscore') {
      const mu = n ? sum / n : 0;
      let ss = 0;
      for (let i = 0; i < n; i++) {
        const d = src[i] * scale - mu;
        ss += d * d;
      }
      const sd = Math.max(n ? Math.sqrt(ss / n) : 0, 1e-8);
      for (let i = 0; i < n; i++) dst[i] = (src[i] * scale - mu) / sd;
    } else {
      const range = Math.max(hi - lo, 1e-8);
      for (let i = 0; i < n; i++) dst[i] = (src[i] * scale - lo) / range;
    }
    return;
  }
  if (how === 'fixed') {
    for (let i = 0; i < n; i++) dst[i] = (src[i] * scale - mean) / std;
    return;
  }
  const [lo, hi] = how.clip;
  for (let i = 0; i < n; i++) {
    const v = src[i] * scale;
    dst[i] = ((v < lo ? lo : v > hi ? hi : v) - mean) / std;
  }
}

/**
 * Raw `[C0, ...spatial]` → normalised `[input.channels, ...spatial]`: a 1-channel image is
 * repeated when the model wants more channels (the caller has checked any other mismatch).
 */
export function normalizeImage(raw: RawImage, input: InputSpec, where = 'image'): Float32Array {
  const [c0, ...spatial] = raw.dims;
  const want = input.channels;
  let n = 1;
  for (const d of spatial) n *= d;
  const norm = new Float32Array(want * n);
  const { mean, std, scale } = input;
  const normList = input.normalize;
  if (normList && normList.length !== 1 && normList.length !== want) {
    throw new LensError(`input.normalize has ${normList.length} entries; expected 1 or ${want} (one per channel)`, 'dataset', where);
  }
  for (let c = 0; c < want; c++) {
    const m = mean.length === 1 ? mean[0] : mean[c];
    const s = std.length === 1 ? std[0] : std[c];
    const src = raw.data.subarray((c0 === 1 ? 0 : c) * n, (c0 === 1 ? 0 : c) * n + n);
    normalizeChannel(src, norm.subarray(c * n, c * n + n), n, normalizationOf(input, c), scale, m, s);
  }
  return norm;
}
