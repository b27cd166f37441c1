/**
 * The calibrated predictors of METHOD.md §5: label-free numbers of a copy → its performance.
 * Pure: no `vscode`, no I/O. Fitted on the shifted copies of the calibration images (one row
 * per copy), applied to the unlabelled splits.
 *
 * ## Fits
 *
 * - `linear`: ordinary least squares on one input (`y = a + b·x`); the two baselines (mean
 *   max-softmax probability, mean predictive entropy). A constant input predicts the mean y.
 * - `ridge`: ridge regression on standardised inputs (each column centred on its mean and
 *   divided by its population standard deviation; constant columns dropped), with an
 *   intercept: `β = (ZᵀZ + αI)⁻¹ Zᵀ(y − ȳ)`, as scikit-learn's `Ridge(alpha)` after
 *   `StandardScaler`. α is picked from `ALPHAS` by the smallest leave-one-group-out mean
 *   absolute error within the rows it is fitted on (ties: the larger α).
 *
 * ## Groups and the interval
 *
 * Every row belongs to a group: its shift family (the unshifted copy is its own group).
 * Leave-one-group-out (LOGO): for each group g, fit on the rows of the other groups (α chosen
 * again inside them) and predict the rows of g. The residuals r = y − ŷ_LOGO give the
 * predictor's error on a kind of shift it has not seen, and the interval: with q the 90th
 * percentile of |r| (NumPy's linear interpolation), `[ŷ − q, ŷ + q]`.
 *
 * Predictions are clipped to the range of the metric (`bounds`), and so are intervals.
 * test/unit/predictor.test.ts compares the fits and the LOGO predictions with scikit-learn.
 */

export const ALPHAS: readonly number[] = [0.01, 0.1, 1, 10, 100];
/** Share of |LOGO residuals| below the interval's half-width. */
export const INTERVAL_QUANTILE = 0.9;

export type FitKind = 'linear' | 'ridge';

export interface Model {
  kind: FitKind;
  intercept: number;
  /** Per input column (0 for dropped constant columns), in the original units. */
  coef: number[];
  alpha?: number;
}

export interface Calibrated {
  model: Model;
  /** Leave-one-group-out prediction of every row (clipped). */
  logo: number[];
  /** Interval half-widths. */
  below: number;
  above: number;
  logoMae: number;
}

/** NumPy `quantile(..., method='linear')`. */
export function quantile(values: readonly number[], q: number): number {
  const s = values.slice().sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

function clip(v: number, bounds: readonly [number, number]): number {
  return Math.min(bounds[1], Math.max(bounds[0], v));
}

export function predict(model: Model, x: readonly number[]): number {
  let v = model.intercept;
  for (let j = 0; j < model.coef.length; j++) v += model.coef[j] * x[j];
  return v;
}

/** OLS on the first column of X. */
export function fitLinear(X: readonly (readonly number[])[], y: readonly number[]): Model {
  const n = y.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += X[i][0];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (X[i][0] - mx) * (y[i] - my);
    sxx += (X[i][0] - mx) ** 2;
  }
  // Constant input (as in fitRidge: population sd ≤ 1e-12 relative): its mean carries rounding
  // error, so sxx is tiny but not 0 and sxy / sxx would be noise; predict the mean y instead.
  const b = Math.sqrt(sxx / n) > 1e-12 * Math.max(1, Math.abs(mx)) ? sxy / sxx : 0;
  return { kind: 'linear', intercept: my - b * mx, coef: [b] };
}

/** Ridge on standardised columns with a fixed α (see the file header). */
export function fitRidge(X: readonly (readonly number[])[], y: readonly number[], alpha: number): Model {
  const n = y.length;
  const d = X[0]?.length ?? 0;
  const mean = new Array<number>(d).fill(0);
  const sd = new Array<number>(d).fill(0);
  let my = 0;
  for (let i = 0; i < n; i++) {
    my += y[i];
    for (let j = 0; j < d; j++) mean[j] += X[i][j];
  }
  my /= n;
  for (let j = 0; j < d; j++) mean[j] /= n;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) sd[j] += (X[i][j] - mean[j]) ** 2;
  const cols: number[] = [];
  for (let j = 0; j < d; j++) {
    sd[j] = Math.sqrt(sd[j] / n);
    if (sd[j] > 1e-12 * Math.max(1, Math.abs(mean[j]))) cols.push(j);
  }
  const p = cols.length;
  const coef = new Array<number>(d).fill(0);
  if (p > 0) {
    // Solve in the dual when n < p: β = Zᵀ (ZZᵀ + αI)⁻¹ y_c (same solution).
    const Z = (i: number, a: number) => (X[i][cols[a]] - mean[cols[a]]) / sd[cols[a]];
    let beta: Float64Array;
    if (n < p) {
      const K = new Float64Array(n * n);
      for (let i = 0; i < n; i++)
        for (let k = 0; k <= i; k++) {
          let s = 0;
          for (let a = 0; a < p; a++) s += Z(i, a) * Z(k, a);
          K[i * n + k] = K[k * n + i] = s;
        }
      for (let i = 0; i < n; i++) K[i * n + i] += alpha;
      const w = solveSpd(K, Float64Array.from(y, (v) => v - my), n);
      beta = new Float64Array(p);
      for (let a = 0; a < p; a++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += Z(i, a) * w[i];
        beta[a] = s;
      }
    } else {
      const A = new Float64Array(p * p);
      const b = new Float64Array(p);
      for (let i = 0; i < n; i++) {
        for (let a = 0; a < p; a++) {
          const za = Z(i, a);
          b[a] += za * (y[i] - my);
          for (let c = 0; c <= a; c++) A[a * p + c] += za * Z(i, c);
        }
      }
      for (let a = 0; a < p; a++) {
        for (let c = 0; c < a; c++) A[c * p + a] = A[a * p + c];
        A[a * p + a] += alpha;
      }
      beta = solveSpd(A, b, p);
    }
    for (let a = 0; a < p; a++) coef[cols[a]] = beta[a] / sd[cols[a]];
  }
  let intercept = my;
  for (let j = 0; j < d; j++) intercept -= coef[j] * mean[j];
  return { kind: 'ridge', intercept, coef, alpha };
}

/** Cholesky solve of a symmetric positive definite system (α > 0 keeps it so). */
function solveSpd(A: Float64Array, b: Float64Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = i === j ? Math.sqrt(Math.max(s, 1e-300)) : s / L[j * n + j];
    }
  }
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * n + k] * z[k];
    z[i] = s / L[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = z[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * x[k];
    x[i] = s / L[i * n + i];
  }
  return x;
}

function distinct(groups: readonly string[]): string[] {
  return [...new Set(groups)];
}

function rowsOf<T>(a: readonly T[], idx: readonly number[]): T[] {
  return idx.map((i) => a[i]);
}

/** Leave-one-group-out predictions of a fitter (unclipped); a group alone gets the mean y of nothing → NaN. */
function logoPredict(X: readonly (readonly number[])[], y: readonly number[], groups: readonly string[], fit: (X: readonly (readonly number[])[], y: readonly number[], groups: readonly string[]) => Model): number[] {
  const out = new Array<number>(y.length).fill(NaN);
  for (const g of distinct(groups)) {
    const tr: number[] = [];
    const te: number[] = [];
    groups.forEach((h, i) => (h === g ? te : tr).push(i));
    if (tr.length < 2) continue;
    const m = fit(rowsOf(X, tr), rowsOf(y, tr), rowsOf(groups, tr));
    for (const i of te) out[i] = predict(m, X[i]);
  }
  return out;
}

/** Ridge with α picked by leave-one-group-out MAE within the rows given (ties: the larger α). */
export function fitRidgeSelected(X: readonly (readonly number[])[], y: readonly number[], groups: readonly string[], alphas: readonly number[] = ALPHAS): Model {
  let best = alphas[alphas.length - 1];
  let bestErr = Infinity;
  if (distinct(groups).length >= 2) {
    for (const a of alphas) {
      const p = logoPredict(X, y, groups, (Xt, yt) => fitRidge(Xt, yt, a));
      let e = 0;
      let c = 0;
      for (let i = 0; i < y.length; i++)
        if (Number.isFinite(p[i])) {
          e += Math.abs(p[i] - y[i]);
          c++;
        }
      e = c ? e / c : Infinity;
      if (e <= bestErr) {
        bestErr = e;
        best = a;
      }
    }
  }
  return fitRidge(X, y, best);
}

/**
 * Fits `kind` on every row, and its leave-one-group-out predictions, residuals and interval.
 * `bounds`: the metric's range (predictions are clipped to it).
 */
export function calibrate(kind: FitKind, X: readonly (readonly number[])[], y: readonly number[], groups: readonly string[], bounds: readonly [number, number]): Calibrated {
  const fit = kind === 'linear' ? (Xt: readonly (readonly number[])[], yt: readonly number[]) => fitLinear(Xt, yt) : (Xt: readonly (readonly number[])[], yt: readonly number[], gt: readonly string[]) => fitRidgeSelected(Xt, yt, gt);
  const model = fit(X, y, groups);
  const logo = logoPredict(X, y, groups, fit).map((v) => (Number.isFinite(v) ? clip(v, bounds) : v));
  const abs: number[] = [];
  for (let i = 0; i < y.length; i++) if (Number.isFinite(logo[i])) abs.push(Math.abs(y[i] - logo[i]));
  const q = abs.length ? quantile(abs, INTERVAL_QUANTILE) : NaN;
  const mae = abs.length ? abs.reduce((a, b) => a + b, 0) / abs.length : NaN;
  return { model, logo, below: q, above: q, logoMae: mae };
}

/** A prediction with its interval, clipped to `bounds`. */
export function estimate(c: Calibrated, x: readonly number[], bounds: readonly [number, number]): { value: number; low: number; high: number } {
  const v = clip(predict(c.model, x), bounds);
  return { value: v, low: clip(v - c.below, bounds), high: clip(v + c.above, bounds) };
}

/* ------------------------------------------------------------------------------------------ */
/* Anchored fits, conformal intervals, grades (issue 10)                                        */
/* ------------------------------------------------------------------------------------------ */

/**
 * ## Anchored ridge
 *
 * The unshifted copy's performance y₀ is measured, so the fit predicts the change from it:
 * with x₀ its inputs, `ŷ(x) = y₀ + Σ_j β_j (x_j − x₀_j)`. The coefficients: ridge WITHOUT an
 * intercept on the differences, each column scaled by its population standard deviation over
 * the rows (columns with sd ≤ 1e-12 relative are dropped): `β = (ZᵀZ + αI)⁻¹ Zᵀ (y − y₀)`,
 * as scikit-learn's `Ridge(alpha, fit_intercept=False)` on `Z = (X − x₀) / sd`. So a split whose
 * inputs equal the unshifted copy's gets exactly y₀, whatever α.
 *
 * α: from `ANCHORED_ALPHAS`, by leave-one-group-out over the groups other than the anchor's
 * (the anchor row always stays in the fit): the smallest MAE among the α whose LOGO slope
 * (predicted on true, OLS) is at least `MIN_SLOPE`, so that regularisation does not flatten a
 * strong trend; when no α reaches it, the smallest MAE (ties: the larger α).
 *
 * ## Split-conformal interval
 *
 * The LOGO residuals |r_i| of the non-anchor rows (n of them), sorted: the half-width is the
 * ⌈(n + 1)(1 − a)⌉-th smallest (a = `CONFORMAL_MISS` = 0.2, nominal 80 %; the largest when that
 * rank exceeds n).
 * It is widened by what the fit extrapolates: for a split whose inputs fall outside the range
 * [min_j, max_j] the calibration rows cover, by Σ_j |β_j|·(distance of x_j outside it).
 *
 * ## Grade
 *
 * On the interval as clipped to the metric's range: width ≤ `GRADE_GOOD` "good", ≤
 * `GRADE_FAIR` "fair", wider "cannot tell" (the panel then prints words, not the number).
 */
export const ANCHORED_ALPHAS: readonly number[] = [0.001, 0.01, 0.1, 1, 10, 100];
export const MIN_SLOPE = 0.8;
/** Miss rate of the conformal interval (0.2: nominal 80 % coverage, the coverage issue 10 asks for). */
export const CONFORMAL_MISS = 0.2;
export const GRADE_GOOD = 0.15;
export const GRADE_FAIR = 0.3;

export type Grade = 'good' | 'fair' | 'cannot tell';

export function grade(low: number, high: number): Grade {
  const w = high - low;
  if (!(w <= GRADE_FAIR + 1e-12)) return 'cannot tell';
  return w <= GRADE_GOOD + 1e-12 ? 'good' : 'fair';
}

/** The split-conformal half-width of absolute residuals (see above); NaN when there are none. */
export function conformalHalfWidth(absResiduals: readonly number[], miss = CONFORMAL_MISS): number {
  const s = absResiduals.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const k = Math.ceil((s.length + 1) * (1 - miss));
  return s[Math.min(s.length, Math.max(1, k)) - 1];
}

/** Ridge without intercept on (X − X[anchor]) / sd → y − y[anchor], with a fixed α. */
export function fitAnchoredRidge(X: readonly (readonly number[])[], y: readonly number[], anchor: number, alpha: number): Model {
  const n = y.length;
  const d = X[0]?.length ?? 0;
  const x0 = X[anchor];
  const y0 = y[anchor];
  const mean = new Array<number>(d).fill(0);
  const sd = new Array<number>(d).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += X[i][j] / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) sd[j] += (X[i][j] - mean[j]) ** 2;
  const cols: number[] = [];
  for (let j = 0; j < d; j++) {
    sd[j] = Math.sqrt(sd[j] / n);
    if (sd[j] > 1e-12 * Math.max(1, Math.abs(mean[j]))) cols.push(j);
  }
  const p = cols.length;
  const coef = new Array<number>(d).fill(0);
  if (p > 0) {
    const A = new Float64Array(p * p);
    const b = new Float64Array(p);
    const z = new Float64Array(p);
    for (let i = 0; i < n; i++) {
      for (let a = 0; a < p; a++) z[a] = (X[i][cols[a]] - x0[cols[a]]) / sd[cols[a]];
      for (let a = 0; a < p; a++) {
        b[a] += z[a] * (y[i] - y0);
        for (let c = 0; c <= a; c++) A[a * p + c] += z[a] * z[c];
      }
    }
    for (let a = 0; a < p; a++) {
      for (let c = 0; c < a; c++) A[c * p + a] = A[a * p + c];
      A[a * p + a] += alpha;
    }
    const beta = solveSpd(A, b, p);
    for (let a = 0; a < p; a++) coef[cols[a]] = beta[a] / sd[cols[a]];
  }
  let intercept = y0;
  for (let j = 0; j < d; j++) intercept -= coef[j] * x0[j];
  return { kind: 'ridge', intercept, coef, alpha };
}

/** OLS slope of `pred` on `truth` (NaN when truth is constant or there are < 2 pairs). */
export function slopeOf(pred: readonly number[], truth: readonly number[]): number {
  const idx = pred.map((_, i) => i).filter((i) => Number.isFinite(pred[i]) && Number.isFinite(truth[i]));
  if (idx.length < 2) return NaN;
  const mp = idx.reduce((s, i) => s + pred[i], 0) / idx.length;
  const mt = idx.reduce((s, i) => s + truth[i], 0) / idx.length;
  let sxy = 0;
  let sxx = 0;
  for (const i of idx) {
    sxy += (truth[i] - mt) * (pred[i] - mp);
    sxx += (truth[i] - mt) ** 2;
  }
  return sxx > 0 ? sxy / sxx : NaN;
}

/** LOGO predictions of the anchored fit with a given α-picker; the anchor's group is never left out (its rows: NaN). */
function anchoredLogo(X: readonly (readonly number[])[], y: readonly number[], groups: readonly string[], anchor: number, fit: (X: readonly (readonly number[])[], y: readonly number[], groups: readonly string[], anchor: number) => Model): number[] {
  const out = new Array<number>(y.length).fill(NaN);
  const ga = groups[anchor];
  for (const g of distinct(groups)) {
    if (g === ga) continue;
    const tr: number[] = [];
    const te: number[] = [];
    groups.forEach((h, i) => (h === g ? te : tr).push(i));
    if (tr.length < 2) continue;
    const m = fit(rowsOf(X, tr), rowsOf(y, tr), rowsOf(groups, tr), tr.indexOf(anchor));
    for (const i of te) out[i] = predict(m, X[i]);
  }
  return out;
}

/** The anchored ridge with α picked as described above (within the rows given). */
export function fitAnchoredSelected(X: readonly (readonly number[])[], y: readonly number[], groups: readonly string[], anchor: number, alphas: readonly number[] = ANCHORED_ALPHAS): Model {
  const others = distinct(groups).filter((g) => g !== groups[anchor]);
  if (others.length < 2) return fitAnchoredRidge(X, y, anchor, alphas[alphas.length - 1]);
  let best = alphas[alphas.length - 1];
  let bestErr = Infinity;
  let bestOk = false;
  for (const a of alphas) {
    const p = anchoredLogo(X, y, groups, anchor, (Xt, yt, _g, an) => fitAnchoredRidge(Xt, yt, an, a));
    const abs: number[] = [];
    for (let i = 0; i < y.length; i++) if (Number.isFinite(p[i])) abs.push(Math.abs(p[i] - y[i]));
    const e = abs.length ? abs.reduce((s, v) => s + v, 0) / abs.length : Infinity;
    const ok = slopeOf(p, y) >= MIN_SLOPE;
    if ((ok && !bestOk) || (ok === bestOk && e <= bestErr)) {
      bestErr = e;
      best = a;
      bestOk = ok;
    }
  }
  return fitAnchoredRidge(X, y, anchor, best);
}

export interface AnchoredCalibrated extends Calibrated {
  anchor: number;
  /** The column ranges the calibration rows cover. */
  min: number[];
  max: number[];
  lofoSlope: number;
}

/**
 * The anchored fit on every row, its LOGO predictions (the anchor row: y₀), and the conformal
 * half-width from the LOGO residuals of the other rows. Predictions clipped to `bounds`.
 */
export function calibrateAnchored(X: readonly (readonly number[])[], y: readonly number[], groups: readonly string[], anchor: number, bounds: readonly [number, number]): AnchoredCalibrated {
  const model = fitAnchoredSelected(X, y, groups, anchor);
  const raw = anchoredLogo(X, y, groups, anchor, fitAnchoredSelected);
  const logo = raw.map((v, i) => (i === anchor || groups[i] === groups[anchor] ? clip(predict(model, X[i]), bounds) : Number.isFinite(v) ? clip(v, bounds) : v));
  const abs: number[] = [];
  for (let i = 0; i < y.length; i++) if (groups[i] !== groups[anchor] && Number.isFinite(logo[i])) abs.push(Math.abs(y[i] - logo[i]));
  const q = conformalHalfWidth(abs);
  const d = X[0]?.length ?? 0;
  const min = new Array<number>(d).fill(Infinity);
  const max = new Array<number>(d).fill(-Infinity);
  for (const r of X)
    for (let j = 0; j < d; j++) {
      if (r[j] < min[j]) min[j] = r[j];
      if (r[j] > max[j]) max[j] = r[j];
    }
  const lp = groups.map((g, i) => (g !== groups[anchor] ? logo[i] : NaN));
  return {
    model,
    logo,
    below: q,
    above: q,
    logoMae: abs.length ? abs.reduce((s, v) => s + v, 0) / abs.length : NaN,
    anchor,
    min,
    max,
    lofoSlope: slopeOf(lp, y),
  };
}

export interface GradedEstimate {
  value: number;
  low: number;
  high: number;
  grade: Grade;
  /** True when some input falls outside the range the calibration rows cover (the interval was widened). */
  outside: boolean;
}

/** How far x lies outside [min, max] per column, weighted by |coef|: what the fit extrapolates. */
export function extrapolation(coef: readonly number[], min: readonly number[], max: readonly number[], x: readonly number[]): number {
  let e = 0;
  for (let j = 0; j < x.length; j++) {
    const out = x[j] > max[j] ? x[j] - max[j] : x[j] < min[j] ? min[j] - x[j] : 0;
    e += Math.abs(coef[j]) * out;
  }
  return e;
}

/** A prediction with its conformal interval, widened by the extrapolation, clipped to `bounds`, graded. */
export function estimateGraded(c: Calibrated & { min?: number[]; max?: number[] }, x: readonly number[], bounds: readonly [number, number]): GradedEstimate {
  const v = clip(predict(c.model, x), bounds);
  const ext = c.min && c.max ? extrapolation(c.model.coef, c.min, c.max, x) : 0;
  const low = clip(v - c.below - ext, bounds);
  const high = clip(v + c.above + ext, bounds);
  return { value: v, low, high, grade: grade(low, high), outside: ext > 0 };
}

/** `calibrate` with the conformal half-width instead of the 90th percentile, and the calibration ranges (for `estimateGraded`). */
export function calibrateConformal(kind: FitKind, X: readonly (readonly number[])[], y: readonly number[], groups: readonly string[], bounds: readonly [number, number]): Calibrated & { min: number[]; max: number[] } {
  const c = calibrate(kind, X, y, groups, bounds);
  const abs: number[] = [];
  for (let i = 0; i < y.length; i++) if (Number.isFinite(c.logo[i])) abs.push(Math.abs(y[i] - c.logo[i]));
  const q = conformalHalfWidth(abs);
  const d = X[0]?.length ?? 0;
  const min = new Array<number>(d).fill(Infinity);
  const max = new Array<number>(d).fill(-Infinity);
  for (const r of X)
    for (let j = 0; j < d; j++) {
      if (r[j] < min[j]) min[j] = r[j];
      if (r[j] > max[j]) max[j] = r[j];
    }
  return { ...c, below: q, above: q, min, max };
}
