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
 *
 * Content families (issue 10: the calibration must also see failures that are not intensity
 * changes). All work on any number of spatial axes (2-D images, 3-D volumes). `mask`: the
 * image's labels on the input grid (> 0: an object), needed by `distractors` and `dim` (without
 * a mask, or without an object in it, they use the fallbacks below). Random draws: `Prng(seed)`.
 *
 * | family      | strength s                  | u'                                                        |
 * |-------------|-----------------------------|-----------------------------------------------------------|
 * | distractors | number of blobs             | u + a·b_j(x) for s balls outside the objects (below)      |
 * | dim         | kept share of the contrast  | inside the objects: bg + s·(u − bg)                      |
 * | bias        | log-amplitude               | lo + (u − lo)·exp(s·g), g a smooth unit-sd field (below)  |
 * | lowres      | block side k (pixels)       | mean over k×k(×k) blocks, repeated back (nearest)         |
 * | stripes     | amplitude as a share of R   | u + s·R·sin(2π⟨d, x⟩/P + φ), d a random unit direction     |
 * | objects     | signed radius (px)          | objects grown (s > 0) / shrunk (s < 0) in image AND mask  |
 *
 * - `distractors`: the objects' contrast `a` = mean of u inside the mask − `bg`, where `bg` is
 *   the mean of u on the ring of pixels within 3 px of the mask (outside it); the ball radius r
 *   = the equivalent radius of the mask, (area / number of objects / ω_n)^(1/n), with a random
 *   factor in [0.6, 1.2]. Without an object: a = 0.25·R, r = 4% of the smallest side. A ball
 *   profile b(x) = clip(r + 0.5 − |x − c|, 0, 1) (1 inside, a one-pixel soft edge); its centre
 *   is drawn where no object lies within r + 2 px (at most 50 tries per ball). The mask is
 *   unchanged: the blobs are background.
 * - `dim`: `bg` as above; every pixel of the mask moves towards it (s = 1: unchanged).
 * - `bias`: g = multilinear interpolation of a 4×4(×4) grid of N(0, 1) values spanning the
 *   image, centred and scaled to unit standard deviation.
 * - `stripes`: period P uniform in [4, 10] px, phase φ uniform.
 * - `objects` (objects.ts): the mask dilated / eroded by a Euclidean ball of radius |s|, the
 *   changed ring repainted to the local object / background level; the changed mask is the
 *   copy's label (`applyShift` returns it). Not a default family (bench/README.md).
 *
 * The blur is `scipy.ndimage.gaussian_filter(u, sigma=s, mode='reflect', truncate=4.0)` on
 * each channel over every spatial axis: a separable kernel of radius `floor(4·s + 0.5)`,
 * weights `exp(−t²/2s²)` normalised to sum 1, edges mirrored with the edge sample repeated
 * (d c b a | a b c d). test/unit/shifts.test.ts checks every family against NumPy/SciPy.
 */
import { Prng } from '../metrics/prng';
import { ALL_SHIFT_FAMILIES, MASK_FAMILIES, SHIFT_FAMILIES, type ShiftFamily } from '../types';
import { morphObjects, paintObjects } from './objects';

export interface Shift {
  family: ShiftFamily | 'none' | 'mix';
  strength: number;
  /** For `mix`: the single-family shifts applied, in `MIX_ORDER`. */
  parts?: { family: ShiftFamily; strength: number }[];
}

/** Order of the parts of a mix: the scene first (distractors, dim), then the optics (blur, resolution), the intensity mapping, and the noise of the sensor. */
export const MIX_ORDER: readonly ShiftFamily[] = ['objects', 'distractors', 'dim', 'blur', 'lowres', 'bias', 'contrast', 'gamma', 'scale', 'stripes', 'noise'];

/**
 * Default strengths, mild to severe (the unshifted copy is added apart): three per family, so
 * that the ten families cost 31 copies (the five intensity families had four each, 21 copies,
 * before the content families came; issue 10's cost budget is twice that sweep's time).
 */
export const DEFAULT_STRENGTHS: { readonly [F in ShiftFamily]: readonly number[] } = {
  noise: [0.04, 0.16, 0.32],
  blur: [0.6, 2.0, 3.2],
  gamma: [0.5, 0.7, 2.2],
  contrast: [0.7, 0.35, 0.2],
  scale: [0.6, 0.8, 1.6],
  distractors: [2, 5, 10],
  dim: [0.6, 0.4, 0.2],
  bias: [0.2, 0.4, 0.7],
  lowres: [2, 3, 4],
  stripes: [0.03, 0.06, 0.12],
  objects: [-3, -1, 1, 3],
};

/** Whether a family can be used: the mask families need a segmentation task. */
export function familyApplies(f: ShiftFamily, task: string): boolean {
  return task === 'segmentation' || !MASK_FAMILIES.includes(f);
}

/**
 * The copies of a sweep: the unshifted one first, then each family's strengths in order, then
 * `mixes` combinations: each of 2 or 3 distinct families (drawn from `families` with a
 * `Prng(seed)`), each at one of its three mildest strengths, applied in `MIX_ORDER`.
 */
export function sweepShifts(families: readonly ShiftFamily[] = SHIFT_FAMILIES, mixes = 0, seed = 0): Shift[] {
  const out: Shift[] = [{ family: 'none', strength: 0 }];
  const fams = ALL_SHIFT_FAMILIES.filter((f) => families.includes(f));
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
    case 'distractors':
      return `${s.strength} distractor${s.strength === 1 ? '' : 's'}`;
    case 'dim':
      return `objects dimmed ×${s.strength.toFixed(2)}`;
    case 'bias':
      return `bias field ${s.strength.toFixed(2)}`;
    case 'lowres':
      return `resolution ÷${s.strength}`;
    case 'stripes':
      return `stripes ${s.strength.toFixed(2)}·range`;
    case 'objects':
      return `objects ${s.strength > 0 ? 'grown' : 'shrunk'} ${Math.abs(s.strength)} px`;
  }
}

/** Seed of the noise of one image of one copy: distinct streams from the user's seed. */
export function noiseSeed(seed: number, copy: number, image: number): number {
  return (Math.imul(seed + 7, 0x9e3779b1) ^ Math.imul(copy + 1, 0x27d4eb2f) ^ Math.imul(image + 1, 0x165667b1)) >>> 0;
}

/**
 * Applies `shift` to one image `x` (C × prod(spatial), channel-major), in place.
 * `mean`/`std`: the dataset's per-channel normalisation (one value is used for every channel).
 * `seed`: the random stream of this image (noise and the content families).
 * `mask`: the image's labels on the input grid (`distractors`, `dim`, `objects`); null: none.
 * Returns the copy's new labels when the shift changes them (`objects`, objects.ts), else null.
 */
export function applyShift(
  x: Float32Array,
  C: number,
  spatial: readonly number[],
  shift: Shift,
  norm: { mean: readonly number[]; std: readonly number[] },
  seed = 0,
  mask: Int32Array | null = null,
): Int32Array | null {
  if (shift.family === 'none') return null;
  if (shift.family === 'mix') {
    let m = mask;
    let changed: Int32Array | null = null;
    for (const p of shift.parts ?? []) {
      const next = applyShift(x, C, spatial, p, norm, seed, m);
      if (next) m = changed = next;
    }
    return changed;
  }
  const L = spatial.reduce((a, b) => a * b, 1);
  if (x.length !== C * L) throw new Error(`applyShift: the image has ${x.length} values, expected ${C}×${spatial.join('×')}`);
  const s = shift.strength;
  const rng = new Prng(seed);
  // Drawn once per image (shared by its channels): the bias field, the stripes' direction, the balls.
  const shared = contentPlan(shift, spatial, rng, mask);
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
      case 'bias':
        for (let i = 0; i < L; i++) u[i] = lo + (u[i] - lo) * Math.exp(s * shared!.field![i]);
        break;
      case 'stripes':
        for (let i = 0; i < L; i++) u[i] += s * R * shared!.field![i];
        break;
      case 'lowres':
        v = blockMean(u, spatial, Math.max(1, Math.round(s)));
        break;
      case 'dim': {
        const bg = mask && shared?.ring ? ringMean(u, shared.ring) : null;
        if (bg === null || !mask) break;
        for (let i = 0; i < L; i++) if (mask![i] > 0) u[i] = bg + s * (u[i] - bg);
        break;
      }
      case 'distractors': {
        const bg = ringMean(u, shared!.ring ?? new Uint8Array(0));
        let a = 0.25 * R;
        if (bg !== null && mask) {
          let sum = 0;
          let n = 0;
          for (let i = 0; i < L; i++)
            if (mask[i] > 0) {
              sum += u[i];
              n++;
            }
          if (n > 0) a = sum / n - bg;
        }
        const f = shared!.field!;
        for (let i = 0; i < L; i++) u[i] += a * f[i];
        break;
      }
      case 'objects':
        if (mask && shared?.mask) paintObjects(u, spatial, mask, shared.mask, s);
        break;
    }
    for (let i = 0; i < L; i++) x[c * L + i] = (v[i] - mu) / sd;
  }
  return shared?.mask ?? null;
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

/** What a content shift draws once per image: a field over the pixels (bias, stripes, the balls' profile) and the ring around the objects. */
interface ContentPlan {
  field?: Float64Array;
  /** 1 on pixels outside the mask within 3 px of it (Chebyshev distance). */
  ring?: Uint8Array;
  /** `objects`: the grown or shrunk mask. */
  mask?: Int32Array;
}

function strides(dims: readonly number[]): number[] {
  const st = new Array<number>(dims.length).fill(1);
  for (let a = dims.length - 2; a >= 0; a--) st[a] = st[a + 1] * dims[a + 1];
  return st;
}

/** Coordinates of flat index i. */
function coords(i: number, dims: readonly number[], st: readonly number[], out: number[]): void {
  for (let a = 0; a < dims.length; a++) {
    out[a] = Math.floor(i / st[a]) % dims[a];
  }
}

function contentPlan(shift: Shift, spatial: readonly number[], rng: Prng, mask: Int32Array | null): ContentPlan | null {
  const f = shift.family;
  const L = spatial.reduce((a, b) => a * b, 1);
  const n = spatial.length;
  const st = strides(spatial);
  const xc = new Array<number>(n).fill(0);
  if (f === 'bias') {
    const G = 4;
    const grid = new Float64Array(G ** n);
    for (let j = 0; j < grid.length; j++) grid[j] = rng.normal();
    const gst = strides(new Array<number>(n).fill(G));
    const field = new Float64Array(L);
    let mean = 0;
    for (let i = 0; i < L; i++) {
      coords(i, spatial, st, xc);
      // multilinear interpolation: corner weights over the 2^n corners of the cell
      const base: number[] = [];
      const t: number[] = [];
      for (let a = 0; a < n; a++) {
        const g = spatial[a] > 1 ? (xc[a] * (G - 1)) / (spatial[a] - 1) : 0;
        const b0 = Math.min(G - 2, Math.floor(g));
        base.push(b0);
        t.push(g - b0);
      }
      let v = 0;
      for (let corner = 0; corner < 1 << n; corner++) {
        let w = 1;
        let idx = 0;
        for (let a = 0; a < n; a++) {
          const bit = (corner >> a) & 1;
          w *= bit ? t[a] : 1 - t[a];
          idx += (base[a] + bit) * gst[a];
        }
        v += w * grid[idx];
      }
      field[i] = v;
      mean += v;
    }
    mean /= L;
    let sd = 0;
    for (let i = 0; i < L; i++) sd += (field[i] - mean) ** 2;
    sd = Math.sqrt(sd / L) || 1;
    for (let i = 0; i < L; i++) field[i] = (field[i] - mean) / sd;
    return { field };
  }
  if (f === 'stripes') {
    const d: number[] = [];
    let norm = 0;
    for (let a = 0; a < n; a++) {
      d.push(rng.normal());
      norm += d[a] * d[a];
    }
    norm = Math.sqrt(norm) || 1;
    const period = 4 + 6 * rng.next();
    const phase = 2 * Math.PI * rng.next();
    const field = new Float64Array(L);
    for (let i = 0; i < L; i++) {
      coords(i, spatial, st, xc);
      let p = 0;
      for (let a = 0; a < n; a++) p += (d[a] / norm) * xc[a];
      field[i] = Math.sin((2 * Math.PI * p) / period + phase);
    }
    return { field };
  }
  if (f === 'objects') return mask && mask.some((v) => v > 0) ? { mask: morphObjects(mask, spatial, shift.strength) } : null;
  if (f === 'dim' || f === 'distractors') {
    const ring = mask ? ringOf(mask, spatial, 3) : null;
    if (f === 'dim') return { ring: ring ?? undefined };
    // Balls: radius from the mask's objects (equivalent radius), centres away from them.
    let area = 0;
    if (mask) for (let i = 0; i < L; i++) if (mask[i] > 0) area++;
    const objects = mask && area > 0 ? countObjects(mask, spatial) : 0;
    const omega = n === 3 ? (4 / 3) * Math.PI : n === 2 ? Math.PI : n === 1 ? 2 : Math.PI;
    const r0 = objects > 0 ? Math.pow(area / objects / omega, 1 / n) : 0.04 * Math.min(...spatial);
    const field = new Float64Array(L);
    const count = Math.max(0, Math.round(shift.strength));
    const c: number[] = new Array<number>(n).fill(0);
    for (let b = 0; b < count; b++) {
      const r = Math.max(1, r0 * (0.6 + 0.6 * rng.next()));
      let placed = false;
      for (let tries = 0; tries < 50 && !placed; tries++) {
        for (let a = 0; a < n; a++) c[a] = rng.next() * (spatial[a] - 1);
        placed = !mask || clearOf(mask, spatial, st, c, r + 2);
      }
      if (!placed) continue;
      // the ball's bounding box
      const lo = c.map((v) => Math.max(0, Math.floor(v - r - 1)));
      const hi = c.map((v, a) => Math.min(spatial[a] - 1, Math.ceil(v + r + 1)));
      forBox(lo, hi, st, (idx, p) => {
        let d2 = 0;
        for (let a = 0; a < n; a++) d2 += (p[a] - c[a]) ** 2;
        const w = Math.min(1, Math.max(0, r + 0.5 - Math.sqrt(d2)));
        if (w > field[idx]) field[idx] = w;
      });
    }
    return { field, ring: ring ?? undefined };
  }
  return null;
}

/** Calls fn(flat index, coordinates) for every point of the box [lo, hi] (inclusive). */
function forBox(lo: number[], hi: number[], st: readonly number[], fn: (idx: number, p: number[]) => void): void {
  const n = lo.length;
  const p = lo.slice();
  for (;;) {
    let idx = 0;
    for (let a = 0; a < n; a++) idx += p[a] * st[a];
    fn(idx, p);
    let a = n - 1;
    while (a >= 0) {
      p[a]++;
      if (p[a] <= hi[a]) break;
      p[a] = lo[a];
      a--;
    }
    if (a < 0) return;
  }
}

/** True when no mask pixel lies within Euclidean distance `d` of c. */
function clearOf(mask: Int32Array, spatial: readonly number[], st: readonly number[], c: number[], d: number): boolean {
  const lo = c.map((v) => Math.max(0, Math.floor(v - d)));
  const hi = c.map((v, a) => Math.min(spatial[a] - 1, Math.ceil(v + d)));
  let clear = true;
  forBox(lo, hi, st, (idx, p) => {
    if (!clear || mask[idx] <= 0) return;
    let d2 = 0;
    for (let a = 0; a < p.length; a++) d2 += (p[a] - c[a]) ** 2;
    if (d2 <= d * d) clear = false;
  });
  return clear;
}

/** Pixels outside the mask within Chebyshev distance `w` of it (a max filter of the mask, minus the mask); null when the mask is empty. */
export function ringOf(mask: Int32Array, spatial: readonly number[], w: number): Uint8Array | null {
  const L = mask.length;
  let a = new Uint8Array(L);
  let any = false;
  for (let i = 0; i < L; i++)
    if (mask[i] > 0) {
      a[i] = 1;
      any = true;
    }
  if (!any) return null;
  const st = strides(spatial);
  // separable max filter of half-width w along each axis
  for (let ax = 0; ax < spatial.length; ax++) {
    const b = new Uint8Array(L);
    const n = spatial[ax];
    const s = st[ax];
    for (let i = 0; i < L; i++) {
      if (!a[i]) continue;
      const x = Math.floor(i / s) % n;
      for (let t = Math.max(0, x - w); t <= Math.min(n - 1, x + w); t++) b[i + (t - x) * s] = 1;
    }
    a = b;
  }
  for (let i = 0; i < L; i++) if (mask[i] > 0) a[i] = 0;
  return a;
}

function ringMean(u: Float64Array, ring: Uint8Array): number | null {
  let s = 0;
  let n = 0;
  for (let i = 0; i < ring.length; i++)
    if (ring[i]) {
      s += u[i];
      n++;
    }
  return n ? s / n : null;
}

/** Connected components of mask > 0 (face connectivity: 4 in 2-D, 6 in 3-D): labels 1…count, 0 elsewhere. */
export function components(mask: ArrayLike<number>, spatial: readonly number[]): { labels: Int32Array; sizes: number[] } {
  const L = mask.length;
  const st = strides(spatial);
  const labels = new Int32Array(L);
  const sizes: number[] = [];
  const stack = new Int32Array(L);
  for (let i = 0; i < L; i++) {
    if (mask[i] <= 0 || labels[i]) continue;
    const id = sizes.length + 1;
    let top = 0;
    stack[top++] = i;
    labels[i] = id;
    let size = 0;
    while (top > 0) {
      const j = stack[--top];
      size++;
      for (let a = 0; a < spatial.length; a++) {
        const x = Math.floor(j / st[a]) % spatial[a];
        if (x > 0) {
          const k = j - st[a];
          if (mask[k] > 0 && !labels[k]) {
            labels[k] = id;
            stack[top++] = k;
          }
        }
        if (x < spatial[a] - 1) {
          const k = j + st[a];
          if (mask[k] > 0 && !labels[k]) {
            labels[k] = id;
            stack[top++] = k;
          }
        }
      }
    }
    sizes.push(size);
  }
  return { labels, sizes };
}

function countObjects(mask: Int32Array, spatial: readonly number[]): number {
  return components(mask, spatial).sizes.length;
}

/** Means over blocks of side k along every axis (the last block of an axis may be shorter), written back to every pixel of the block. */
export function blockMean(src: Float64Array, dims: readonly number[], k: number): Float64Array {
  if (k <= 1) return src.slice();
  const st = strides(dims);
  const nb = dims.map((d) => Math.ceil(d / k));
  const bst = strides(nb);
  const sum = new Float64Array(nb.reduce((a, b) => a * b, 1));
  const cnt = new Float64Array(sum.length);
  const blockOf = new Int32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    let b = 0;
    for (let a = 0; a < dims.length; a++) b += Math.floor((Math.floor(i / st[a]) % dims[a]) / k) * bst[a];
    blockOf[i] = b;
    sum[b] += src[i];
    cnt[b]++;
  }
  const out = new Float64Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = sum[blockOf[i]] / cnt[blockOf[i]];
  return out;
}
