/**
 * Ours, final (METHOD.md §5, segmentation): the mean m of the anchored set-level fit and the
 * anchored per-image aggregate, recalibrated on its leave-one-family-out (LOFO) predictions of
 * the shifted copies. Pure arithmetic; withoutLabels.ts supplies the numbers.
 *
 * ## De-shrinking
 *
 * Both fits flatten the change from the unshifted copy: on the zoo the LOFO slope of m on the
 * truth is 0.46-0.55, so severe shifts are predicted too high. The change is stretched by
 * `k = Σ (m_c − y₀)(y_c − y₀) / Σ (m_c − y₀)²` over the copies c other than the unshifted one
 * (least squares through the anchor), clamped to [1, `K_MAX`]: `ŷ = y₀ + k·(m − y₀)`. The
 * copies' residuals use a k fitted without their own family (nested). If that nested LOFO
 * error is not below the unstretched one, k = 1: the stretch must earn its place on the copies.
 *
 * ## Normalised split-conformal interval
 *
 * A split close to the unshifted copy is predicted well, one far from it less so. The scale
 * `σ(d) = SIGMA_EPS + SIGMA_PER_DISTANCE·d`, d the mean over the set-level inputs of
 * |x_j − x₀_j| / sd_j (sd over the copies; x₀ the unshifted copy's inputs), and
 * `q = conformalHalfWidth(|y_c − ŷ_c| / σ(d_c))` over the copies (80 % nominal). The interval:
 * `ŷ ± (q·σ(d) + ext)`, ext the extrapolation widening of the two fits (predictor.ts), clipped
 * to the metric's range and graded.
 */
import { conformalHalfWidth, grade, slopeOf, type GradedEstimate } from './predictor';

export const K_MAX = 2;
export const SIGMA_EPS = 0.03;
export const SIGMA_PER_DISTANCE = 0.1;

/** Mean over the columns with sd > 0 of |x_j − x0_j| / sd_j; 0 without such columns. */
export function anchorDistance(x: readonly number[], x0: readonly number[], sd: readonly number[]): number {
  let s = 0;
  let n = 0;
  for (let j = 0; j < x.length; j++)
    if (sd[j] > 0 && Number.isFinite(x[j]) && Number.isFinite(x0[j])) {
      s += Math.abs(x[j] - x0[j]) / sd[j];
      n++;
    }
  return n ? s / n : 0;
}

/** Population standard deviation per column (0 where below 1e-12 relative to the mean, as the fits drop such columns). */
export function columnSd(X: readonly (readonly number[])[]): number[] {
  const n = X.length;
  const d = X[0]?.length ?? 0;
  const out = new Array<number>(d).fill(0);
  for (let j = 0; j < d; j++) {
    let m = 0;
    for (const r of X) m += r[j] / n;
    let v = 0;
    for (const r of X) v += (r[j] - m) ** 2;
    const sd = Math.sqrt(v / n);
    out[j] = sd > 1e-12 * Math.max(1, Math.abs(m)) ? sd : 0;
  }
  return out;
}

export function sigmaOf(d: number): number {
  return SIGMA_EPS + SIGMA_PER_DISTANCE * d;
}

/** Least squares through (y0, y0) of truth on prediction, clamped to [1, K_MAX]; 1 without a usable row. */
export function deshrinkFactor(pred: readonly number[], truth: readonly number[], y0: number): number {
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < pred.length; i++) {
    const d = pred[i] - y0;
    sxy += d * (truth[i] - y0);
    sxx += d * d;
  }
  if (!(sxx > 0)) return 1;
  return Math.min(K_MAX, Math.max(1, sxy / sxx));
}

export interface CombinedRow {
  /** The LOFO prediction m of the copy (NaN where there is none). */
  pred: number;
  truth: number;
  group: string;
  /** Its distance from the unshifted copy (anchorDistance). */
  dist: number;
}

export interface CombinedCalibration {
  y0: number;
  /** The stretch of the change from y₀ (1: none). */
  k: number;
  /** Conformal quantile of |residual| / σ. */
  q: number;
  /** The final LOFO prediction of each row (nested k, clipped), NaN where the row has none. */
  lofo: number[];
  mae: number;
  slope: number;
}

function clip(v: number, b: readonly [number, number]): number {
  return Math.min(b[1], Math.max(b[0], v));
}

function meanAbs(a: readonly number[], b: readonly number[], idx: readonly number[]): number {
  return idx.length ? idx.reduce((s, i) => s + Math.abs(a[i] - b[i]), 0) / idx.length : NaN;
}

/** See the file header. `rows`: the copies other than the unshifted one. */
export function calibrateCombined(rows: readonly CombinedRow[], y0: number, bounds: readonly [number, number]): CombinedCalibration {
  const idx = rows.map((_, i) => i).filter((i) => Number.isFinite(rows[i].pred));
  const pred = rows.map((r) => r.pred);
  const truth = rows.map((r) => r.truth);
  const raw = pred.map((p) => (Number.isFinite(p) ? clip(p, bounds) : NaN));
  const nested = raw.slice();
  for (const g of new Set(idx.map((i) => rows[i].group))) {
    const tr = idx.filter((i) => rows[i].group !== g);
    const kg = deshrinkFactor(tr.map((i) => pred[i]), tr.map((i) => truth[i]), y0);
    for (const i of idx) if (rows[i].group === g) nested[i] = clip(y0 + kg * (pred[i] - y0), bounds);
  }
  const stretch = meanAbs(nested, truth, idx) < meanAbs(raw, truth, idx);
  const k = stretch ? deshrinkFactor(idx.map((i) => pred[i]), idx.map((i) => truth[i]), y0) : 1;
  const lofo = stretch ? nested : raw;
  const q = conformalHalfWidth(idx.map((i) => Math.abs(truth[i] - lofo[i]) / sigmaOf(rows[i].dist)));
  return { y0, k, q, lofo, mae: meanAbs(lofo, truth, idx), slope: slopeOf(idx.map((i) => lofo[i]), idx.map((i) => truth[i])) };
}

/** The final estimate of a split from its mean m, distance d and extrapolation widening. */
export function estimateCombined(c: CombinedCalibration, m: number, d: number, ext: number, bounds: readonly [number, number]): GradedEstimate {
  const v = clip(c.y0 + c.k * (m - c.y0), bounds);
  const half = c.q * sigmaOf(d) + ext;
  const low = clip(v - half, bounds);
  const high = clip(v + half, bounds);
  return { value: v, low, high, grade: grade(low, high), outside: ext > 0 };
}
