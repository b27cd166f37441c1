/**
 * Synthetic shifts of METHOD.md §5: Gaussian noise, Gaussian blur, gamma, contrast and
 * intensity scale, applied to one preprocessed model input. Pure: no `vscode`, no I/O.
 *
 * ## Where a shift acts
 *
 * On the model input `x` (channel-major, C × spatial), in the image's own intensity units:
 * per channel c, `u = x·std_c + mean_c` (that is `raw × input.scale`, before normalisation),
 * the shift maps u to u', and `x' = (u' − mean_c) / std_c`. So a shift means the same thing
 * whatever the dataset's normalisation. Per image and channel, `lo`/`hi` are the minimum and
 * maximum of u, `R = hi − lo` its range (1 when constant) and `m` its mean. No clipping.
 *
 * | family   | strength s           | u'                                                    |
 * |----------|----------------------|-------------------------------------------------------|
 * | noise    | σ as a share of R    | u + s·R·ε, ε ~ N(0, 1) i.i.d. (seeded)                |
 * | blur     | σ in input pixels    | Gaussian filter of u over the spatial axes (below)    |
 * | gamma    | γ                    | lo + R·((u − lo) / R)^γ                               |
 * | contrast | factor               | m + s·(u − m)                                         |
 * | scale    | factor               | s·u                                                   |
 *
 * The blur is `scipy.ndimage.gaussian_filter(u, sigma=s, mode='reflect', truncate=4.0)` on
 * each channel over every spatial axis: a separable kernel of radius `floor(4·s + 0.5)`,
 * weights `exp(−t²/2s²)` normalised to sum 1, edges mirrored with the edge sample repeated
 * (d c b a | a b c d). test/unit/shifts.test.ts checks every family against NumPy/SciPy.
 */
import { Prng } from '../metrics/prng';
import { SHIFT_FAMILIES, type ShiftFamily } from '../types';

export interface Shift {
  family: ShiftFamily | 'none' | 'mix';
  strength: number;
  /** For `mix`: the single-family shifts applied, in `MIX_ORDER`. */
  parts?: { family: ShiftFamily; strength: number }[];
}

/** Order of the parts of a mix: the optics first (blur), then the intensity mapping, then the noise of the sensor. */
export const MIX_ORDER: readonly ShiftFamily[] = ['blur', 'contrast', 'gamma', 'scale', 'noise'];

/** Default strengths: four per family, mild to severe (the unshifted copy is added apart). */
export const DEFAULT_STRENGTHS: { readonly [F in ShiftFamily]: readonly number[] } = {
  noise: [0.04, 0.08, 0.16, 0.32],
  blur: [0.6, 1.2, 2.0, 3.2],
  gamma: [0.5, 0.7, 1.5, 2.2],
  contrast: [0.7, 0.5, 0.35, 0.2],
  scale: [0.6, 0.8, 1.25, 1.6],
};

/**
 * The copies of a sweep: the unshifted one first, then each family's strengths in order, then
 * `mixes` combinations: each of 2 or 3 distinct families (drawn from `families` with a
 * `Prng(seed)`), each at one of its three mildest strengths, applied in `MIX_ORDER`.
 */
export function sweepShifts(families: readonly ShiftFamily[] = SHIFT_FAMILIES, mixes = 0, seed = 0): Shift[] {
  const out: Shift[] = [{ family: 'none', strength: 0 }];
  const fams = SHIFT_FAMILIES.filter((f) => families.includes(f));
  for (const f of fams) for (const s of DEFAULT_STRENGTHS[f]) out.push({ family: f, strength: s });
  if (fams.length >= 2 && mixes > 0) {
    const rng = new Prng((seed ^ 0x5f3759df) >>> 0);
    for (let j = 0; j < mixes; j++) {
      const count = Math.min(fams.length, 2 + rng.int(2));
      const pool = fams.slice();
      const chosen: ShiftFamily[] = [];
      for (let c = 0; c < count; c++) chosen.push(pool.splice(rng.int(pool.length), 1)[0]);
      const parts = MIX_ORDER.filter((f) => chosen.includes(f)).map((f) => ({ family: f, strength: DEFAULT_STRENGTHS[f][rng.int(3)] }));
      out.push({ family: 'mix', strength: 0, parts });
    }
  }
  return out;
}

export function shiftLabel(s: Shift): string {
  switch (s.family) {
    case 'none':
      return 'unshifted';
    case 'mix':
      return (s.parts ?? []).map((p) => shiftLabel(p)).join(' + ');
    case 'noise':
      return `noise σ=${s.strength.toFixed(2)}·range`;
    case 'blur':
      return `blur σ=${s.strength.toFixed(1)} px`;
    case 'gamma':
      return `gamma γ=${s.strength.toFixed(2)}`;
    case 'contrast':
      return `contrast ×${s.strength.toFixed(2)}`;
    case 'scale':
      return `intensity ×${s.strength.toFixed(2)}`;
  }
}

/** Seed of the noise of one image of one copy: distinct streams from the user's seed. */
export function noiseSeed(seed: number, copy: number, image: number): number {
  return (Math.imul(seed + 7, 0x9e3779b1) ^ Math.imul(copy + 1, 0x27d4eb2f) ^ Math.imul(image + 1, 0x165667b1)) >>> 0;
}

/**
 * Applies `shift` to one image `x` (C × prod(spatial), channel-major), in place.
 * `mean`/`std`: the dataset's per-channel normalisation (one value is used for every channel).
 * `seed`: the noise stream of this image (noise only).
 */
export function applyShift(x: Float32Array, C: number, spatial: readonly number[], shift: Shift, norm: { mean: readonly number[]; std: readonly number[] }, seed = 0): void {
  if (shift.family === 'none') return;
  if (shift.family === 'mix') {
    for (const p of shift.parts ?? []) applyShift(x, C, spatial, p, norm, seed);
    return;
  }
  const L = spatial.reduce((a, b) => a * b, 1);
  if (x.length !== C * L) throw new Error(`applyShift: the image has ${x.length} values, expected ${C}×${spatial.join('×')}`);
  const s = shift.strength;
  const rng = shift.family === 'noise' ? new Prng(seed) : null;
  for (let c = 0; c < C; c++) {
    const mu = norm.mean.length > 1 ? norm.mean[c] : norm.mean[0] ?? 0;
    const sd = norm.std.length > 1 ? norm.std[c] : norm.std[0] ?? 1;
    const u = new Float64Array(L);
    let lo = Infinity;
    let hi = -Infinity;
    let m = 0;
    for (let i = 0; i < L; i++) {
      const v = x[c * L + i] * sd + mu;
      u[i] = v;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
      m += v;
    }
    m /= L;
    const R = hi - lo > 0 ? hi - lo : 1;
    let v: Float64Array = u;
    switch (shift.family) {
      case 'noise':
        for (let i = 0; i < L; i++) u[i] += s * R * rng!.normal();
        break;
      case 'blur':
        v = gaussianFilter(u, spatial, s);
        break;
      case 'gamma':
        for (let i = 0; i < L; i++) u[i] = lo + R * Math.pow(Math.max(0, (u[i] - lo) / R), s);
        break;
      case 'contrast':
        for (let i = 0; i < L; i++) u[i] = m + s * (u[i] - m);
        break;
      case 'scale':
        for (let i = 0; i < L; i++) u[i] = s * u[i];
        break;
    }
    for (let i = 0; i < L; i++) x[c * L + i] = (v[i] - mu) / sd;
  }
}

/** The 1-D kernel of `scipy.ndimage.gaussian_filter1d(sigma, truncate=4.0)`. */
export function gaussianKernel(sigma: number): Float64Array {
  const radius = Math.floor(4 * sigma + 0.5);
  const w = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let t = -radius; t <= radius; t++) {
    const e = Math.exp((-0.5 * t * t) / (sigma * sigma));
    w[t + radius] = e;
    sum += e;
  }
  for (let i = 0; i < w.length; i++) w[i] /= sum;
  return w;
}

/** Mirror index with the edge repeated (SciPy `mode='reflect'`), for any offset. */
function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n;
  let j = ((i % period) + period) % period;
  if (j >= n) j = period - 1 - j;
  return j;
}

/** Separable Gaussian filter of a row-major array over every axis of `dims`. */
export function gaussianFilter(src: Float64Array, dims: readonly number[], sigma: number): Float64Array {
  if (!(sigma > 0)) return src.slice();
  const w = gaussianKernel(sigma);
  const r = (w.length - 1) / 2;
  let a = src.slice();
  let b = new Float64Array(a.length);
  for (let axis = 0; axis < dims.length; axis++) {
    const n = dims[axis];
    const stride = dims.slice(axis + 1).reduce((p, q) => p * q, 1);
    const outer = a.length / (n * stride);
    for (let o = 0; o < outer; o++) {
      for (let s = 0; s < stride; s++) {
        const base = o * n * stride + s;
        for (let i = 0; i < n; i++) {
          let acc = 0;
          for (let t = -r; t <= r; t++) acc += w[t + r] * a[base + reflect(i + t, n) * stride];
          b[base + i * stride] = acc;
        }
      }
    }
    [a, b] = [b, a];
  }
  return a;
}
