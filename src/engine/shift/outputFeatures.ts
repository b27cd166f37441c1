/**
 * Output-based label-free features of METHOD.md §5 (issue 10): what the final output of a
 * segmentation model says about each image, to see failures the interior features miss
 * (distractors predicted as objects, faint objects missed, over- or under-segmentation).
 * Pure: no `vscode`, no I/O. Per image, from the output (K × L, channel-major) read as
 * `softmax` / `sigmoid` / `probability`:
 *
 * - `p`: the probability of "any object" (softmax: 1 − p₀; one channel: p) at temperature T
 *   (logits divided by T; a `probability` output is turned into its logit first);
 *   `m`: the predicted mask (argmax ≠ 0; one channel: p > 0.5), which T does not change.
 * - `softDice[t]`: 2·Σ p·m / (Σ p + Σ m) for every T of `TEMPERATURES` (1 when both sums are
 *   0): the Dice the model expects of its own mask if its probabilities were right. T is fitted
 *   later (on the labelled unshifted images: `nll[t]`, the summed negative log-likelihood of the
 *   true labels at each T) and softDice is interpolated at it (linear in log T).
 * - `foreground`: Σ m / L; `components`, `logSizes`: connected components of m (face
 *   connectivity) and the natural log of their sizes in pixels.
 * - `boundaryConfidence`: mean of max(p, 1 − p) at T = 1 over the pixels of m that touch a pixel
 *   outside m (face neighbours); `interiorConfidence`: over the other pixels of m (null when
 *   there are none).
 * - `tta`: the mean Dice between m and the mask of each test-time-augmented pass, mapped back
 *   (1 when both are empty); null when no augmented pass was run.
 *
 * And per set, against the training LABELS (their objects' counts and sizes): Wasserstein-1
 * distances (scipy.stats.wasserstein_distance) between the per-image log(1 + object count)
 * and between the log object sizes. test/unit/outputFeatures.test.ts checks them against
 * NumPy/SciPy.
 */
import { components } from './transforms';

/** The temperatures at which softDice and the NLL are measured (T is fitted on this grid, refined by a parabola in log T). */
export const TEMPERATURES: readonly number[] = [0.5, 0.75, 1, 1.5, 2, 3, 5, 8];

export interface ImageOutput {
  softDice: number[];
  /** Summed NLL of the true labels at each temperature (labelled images only) and the number of pixels it sums. */
  nll: number[] | null;
  nllCount: number;
  foreground: number;
  components: number;
  logSizes: number[];
  boundaryConfidence: number | null;
  interiorConfidence: number | null;
  tta: number | null;
}

/** The per-class logits of one pixel (probability outputs: the logit of p). */
function pixelLogits(out: ArrayLike<number>, K: number, L: number, l: number, activation: string, z: number[]): void {
  if (K === 1 || activation !== 'softmax') {
    let v = out[l];
    if (activation === 'probability') {
      const q = Math.min(1 - 1e-7, Math.max(1e-7, v));
      v = Math.log(q / (1 - q));
    }
    z[0] = v; // the logit of the foreground (one channel)
    return;
  }
  for (let k = 0; k < K; k++) z[k] = out[k * L + l];
}

/** P(any object) at temperature T from the logits of one pixel. */
function fgProb(z: number[], K: number, binary: boolean, T: number): number {
  if (binary) return 1 / (1 + Math.exp(-z[0] / T));
  let mx = -Infinity;
  for (let k = 0; k < K; k++) if (z[k] > mx) mx = z[k];
  let s = 0;
  for (let k = 0; k < K; k++) s += Math.exp((z[k] - mx) / T);
  return 1 - Math.exp((z[0] - mx) / T) / s;
}

/** Face-neighbour boundary of a mask: 1 where m and some face neighbour is outside m (or outside the image: no). */
function boundaryOf(m: Uint8Array, spatial: readonly number[]): Uint8Array {
  const L = m.length;
  const st = new Array<number>(spatial.length).fill(1);
  for (let a = spatial.length - 2; a >= 0; a--) st[a] = st[a + 1] * spatial[a + 1];
  const b = new Uint8Array(L);
  for (let i = 0; i < L; i++) {
    if (!m[i]) continue;
    for (let a = 0; a < spatial.length && !b[i]; a++) {
      const x = Math.floor(i / st[a]) % spatial[a];
      if ((x > 0 && !m[i - st[a]]) || (x < spatial[a] - 1 && !m[i + st[a]])) b[i] = 1;
    }
  }
  return b;
}

/**
 * The features of one image. `dims` = [K, ...spatial]; `gt`: true labels on the output grid
 * (for the NLL), or null; `masks`: the predicted masks of the augmented passes, mapped back.
 */
export function imageOutput(out: ArrayLike<number>, dims: readonly number[], activation: string, gt: Int32Array | null, augMasks: Uint8Array[] = []): ImageOutput {
  const K = dims[0];
  const spatial = dims.slice(1);
  const L = spatial.reduce((a, b) => a * b, 1);
  const binary = K === 1 || activation !== 'softmax';
  const nT = TEMPERATURES.length;
  const sumP = new Float64Array(nT);
  const sumPM = new Float64Array(nT);
  const nll = gt ? new Float64Array(nT) : null;
  let nllCount = 0;
  const m = new Uint8Array(L);
  const p1 = new Float64Array(L);
  const z = new Array<number>(Math.max(1, K)).fill(0);
  let fg = 0;
  for (let l = 0; l < L; l++) {
    pixelLogits(out, K, L, l, activation, z);
    let isFg: boolean;
    if (binary) isFg = z[0] > 0;
    else {
      let arg = 0;
      for (let k = 1; k < K; k++) if (z[k] > z[arg]) arg = k;
      isFg = arg !== 0;
    }
    m[l] = isFg ? 1 : 0;
    if (isFg) fg++;
    for (let t = 0; t < nT; t++) {
      const p = fgProb(z, K, binary, TEMPERATURES[t]);
      sumP[t] += p;
      if (isFg) sumPM[t] += p;
    }
    p1[l] = fgProb(z, K, binary, 1);
    if (nll && gt && gt[l] >= 0) {
      const c = gt[l];
      for (let t = 0; t < nT; t++) {
        const T = TEMPERATURES[t];
        if (binary) {
          // −log σ(±z/T), stable
          const s = (c > 0 ? 1 : -1) * (z[0] / T);
          nll[t] += s > 0 ? Math.log1p(Math.exp(-s)) : -s + Math.log1p(Math.exp(s));
        } else {
          let mx = -Infinity;
          for (let k = 0; k < K; k++) if (z[k] > mx) mx = z[k];
          let s = 0;
          for (let k = 0; k < K; k++) s += Math.exp((z[k] - mx) / T);
          nll[t] += Math.log(s) - (z[Math.min(c, K - 1)] - mx) / T;
        }
      }
      nllCount++;
    }
  }
  const softDice: number[] = [];
  for (let t = 0; t < nT; t++) {
    const den = sumP[t] + fg;
    softDice.push(den > 0 ? (2 * sumPM[t]) / den : 1);
  }
  const cc = components(m, spatial);
  const b = boundaryOf(m, spatial);
  let bs = 0;
  let bn = 0;
  let is = 0;
  let inn = 0;
  for (let l = 0; l < L; l++) {
    if (!m[l]) continue;
    const c = Math.max(p1[l], 1 - p1[l]);
    if (b[l]) {
      bs += c;
      bn++;
    } else {
      is += c;
      inn++;
    }
  }
  let tta: number | null = null;
  if (augMasks.length) {
    let s = 0;
    for (const a of augMasks) s += maskDice(m, a);
    tta = s / augMasks.length;
  }
  return {
    softDice,
    nll: nll ? Array.from(nll) : null,
    nllCount,
    foreground: fg / L,
    components: cc.sizes.length,
    logSizes: cc.sizes.map((v) => Math.log(v)),
    boundaryConfidence: bn ? bs / bn : null,
    interiorConfidence: inn ? is / inn : null,
    tta,
  };
}

/** Dice of two binary masks (1 when both are empty). */
export function maskDice(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let inter = 0;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] > 0 ? 1 : 0;
    const y = b[i] > 0 ? 1 : 0;
    inter += x & y;
    sa += x;
    sb += y;
  }
  return sa + sb > 0 ? (2 * inter) / (sa + sb) : 1;
}

/** The predicted mask (argmax ≠ 0; one channel: > 0.5 or logit > 0) of one output. */
export function outputMask(out: ArrayLike<number>, dims: readonly number[], activation: string): Uint8Array {
  const K = dims[0];
  const L = out.length / K;
  const m = new Uint8Array(L);
  const binary = K === 1 || activation !== 'softmax';
  for (let l = 0; l < L; l++) {
    if (binary) m[l] = (activation === 'probability' ? out[l] > 0.5 : out[l] > 0) ? 1 : 0;
    else {
      let arg = 0;
      for (let k = 1; k < K; k++) if (out[k * L + l] > out[arg * L + l]) arg = k;
      m[l] = arg !== 0 ? 1 : 0;
    }
  }
  return m;
}

/**
 * The temperature that minimises the summed NLL over the grid, refined by the vertex of the
 * parabola through the best grid point and its neighbours in log T (kept within them).
 */
export function fitTemperature(nll: readonly number[]): number {
  const lt = TEMPERATURES.map(Math.log);
  let best = 0;
  for (let t = 1; t < nll.length; t++) if (nll[t] < nll[best]) best = t;
  if (best === 0 || best === nll.length - 1) return TEMPERATURES[best];
  const [x0, x1, x2] = [lt[best - 1], lt[best], lt[best + 1]];
  const [y0, y1, y2] = [nll[best - 1], nll[best], nll[best + 1]];
  const den = (x0 - x1) * (x0 - x2) * (x1 - x2);
  const A = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / den;
  const B = (x2 * x2 * (y0 - y1) + x1 * x1 * (y2 - y0) + x0 * x0 * (y1 - y2)) / den;
  if (!(A > 0)) return TEMPERATURES[best];
  const v = Math.min(x2, Math.max(x0, -B / (2 * A)));
  return Math.exp(v);
}

/** softDice at temperature T: linear interpolation in log T between the grid values (clamped to the grid). */
export function softDiceAt(sd: readonly number[], T: number): number {
  const lt = Math.log(T);
  const g = TEMPERATURES.map(Math.log);
  if (lt <= g[0]) return sd[0];
  if (lt >= g[g.length - 1]) return sd[sd.length - 1];
  let j = 0;
  while (lt > g[j + 1]) j++;
  const w = (lt - g[j]) / (g[j + 1] - g[j]);
  return sd[j] + w * (sd[j + 1] - sd[j]);
}

/** scipy.stats.wasserstein_distance of two 1-D samples with equal weights (NaN when either is empty). */
export function wasserstein1(a: readonly number[], b: readonly number[]): number {
  if (!a.length || !b.length) return NaN;
  const x = a.slice().sort((p, q) => p - q);
  const y = b.slice().sort((p, q) => p - q);
  const all = x.concat(y).sort((p, q) => p - q);
  let i = 0;
  let j = 0;
  let d = 0;
  for (let k = 0; k < all.length - 1; k++) {
    const v = all[k];
    while (i < x.length && x[i] <= v) i++;
    while (j < y.length && y[j] <= v) j++;
    d += Math.abs(i / x.length - j / y.length) * (all[k + 1] - v);
  }
  return d;
}

/** The training labels' objects: per image log(1 + count), and the log sizes of all objects. */
export interface LabelObjects {
  logCounts: number[];
  logSizes: number[];
}

export function labelObjects(masks: Iterable<{ mask: ArrayLike<number>; spatial: readonly number[] }>): LabelObjects {
  const logCounts: number[] = [];
  const logSizes: number[] = [];
  for (const { mask, spatial } of masks) {
    const cc = components(mask, spatial);
    logCounts.push(Math.log1p(cc.sizes.length));
    for (const s of cc.sizes) logSizes.push(Math.log(s));
  }
  return { logCounts, logSizes };
}

/** Test-time augmentations, in order: flip last axis, flip second-to-last, both; then (square last two axes) transpose and the two 90° rotations. */
export function ttaCount(spatial: readonly number[]): number {
  if (spatial.length < 2) return 1;
  return spatial[spatial.length - 1] === spatial[spatial.length - 2] ? 6 : 3;
}

/**
 * Index map of augmentation `k` over the last two axes of `spatial`: dst[i] = src[map[i]].
 * The inverse map (to bring an augmented output back) is `inverseMap`.
 */
export function augmentMap(spatial: readonly number[], k: number): Int32Array {
  const n = spatial.length;
  const H = n >= 2 ? spatial[n - 2] : 1;
  const W = spatial[n - 1];
  const outer = spatial.slice(0, Math.max(0, n - 2)).reduce((a, b) => a * b, 1);
  const L = outer * H * W;
  const map = new Int32Array(L);
  for (let o = 0; o < outer; o++)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        let sy = y;
        let sx = x;
        switch (k) {
          case 0:
            sx = W - 1 - x;
            break;
          case 1:
            sy = H - 1 - y;
            break;
          case 2:
            sy = H - 1 - y;
            sx = W - 1 - x;
            break;
          case 3:
            sy = x;
            sx = y;
            break;
          case 4: // rotate 90°: dst(y, x) = src(W−1−x, y)
            sy = W - 1 - x;
            sx = y;
            break;
          case 5: // rotate 270°
            sy = x;
            sx = H - 1 - y;
            break;
        }
        map[o * H * W + y * W + x] = o * H * W + sy * W + sx;
      }
  return map;
}

export function inverseMap(map: Int32Array): Int32Array {
  const inv = new Int32Array(map.length);
  for (let i = 0; i < map.length; i++) inv[map[i]] = i;
  return inv;
}
