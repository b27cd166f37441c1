/**
 * Small statistics with NumPy / SciPy semantics. Pure: no `vscode`, no I/O.
 */

import { MetricArgumentError, firstNonFinite } from './validate';

function checkValues(fn: string, name: string, values: ArrayLike<number>, minLength: number): void {
  if (values === null || typeof values !== 'object' || typeof (values as ArrayLike<number>).length !== 'number') {
    throw new MetricArgumentError(fn, name, 'must be an array of numbers');
  }
  if (values.length < minLength) {
    throw new MetricArgumentError(fn, name, `must hold at least ${minLength} value(s), got ${values.length}`);
  }
  const bad = firstNonFinite(values);
  if (bad >= 0) throw new MetricArgumentError(fn, name, `holds a non-finite value (${values[bad]}) at index ${bad}`);
}

/** k-th smallest (0-based) of a (which is reordered in place): Hoare quickselect, median of 3. */
function select(a: Float64Array, k: number, lo = 0, hi = a.length - 1): number {
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // median of three into a[mid]
    if (a[mid] < a[lo]) swap(a, mid, lo);
    if (a[hi] < a[lo]) swap(a, hi, lo);
    if (a[hi] < a[mid]) swap(a, hi, mid);
    const pivot = a[mid];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

/**
 * Median, as `numpy.median`: the middle value of the sorted values for an odd count, the
 * mean of the two middle values `(a + b) / 2` for an even count.
 * @throws MetricArgumentError for an empty input or a NaN/±Inf value (NumPy would return nan).
 */
export function median(values: ArrayLike<number>): number {
  checkValues('median', 'values', values, 1);
  const a = Float64Array.from(values as ArrayLike<number>);
  const n = a.length;
  const h = n >>> 1;
  if (n % 2 === 1) return select(a, h);
  const upper = select(a, h);
  // after select, a[0..h-1] are all <= upper: the lower middle is their maximum
  let lower = a[0];
  for (let i = 1; i < h; i++) if (a[i] > lower) lower = a[i];
  return (lower + upper) / 2;
}

/**
 * Arithmetic mean `Σ x_i / n`, accumulated in float64.
 * @throws MetricArgumentError for an empty input or a NaN/±Inf value.
 */
export function mean(values: ArrayLike<number>): number {
  checkValues('mean', 'values', values, 1);
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
}

/**
 * Ranks from 1 to n, ties given the average of the ranks they span
 * (`scipy.stats.rankdata(method='average')`).
 */
export function rankData(values: ArrayLike<number>): Float64Array {
  checkValues('rankData', 'values', values, 0);
  const n = values.length;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const sorted = Array.from(order).sort((p, q) => values[p] - values[q] || p - q);
  const ranks = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && values[sorted[j + 1]] === values[sorted[i]]) j++;
    const r = (i + j) / 2 + 1; // average of ranks i+1 … j+1
    for (let t = i; t <= j; t++) ranks[sorted[t]] = r;
    i = j + 1;
  }
  return ranks;
}

/**
 * Pearson correlation `r = Σ(x−x̄)(y−ȳ) / sqrt(Σ(x−x̄)² · Σ(y−ȳ)²)`, clipped to [−1, 1]
 * (as `numpy.corrcoef`). `null` when n < 2 or either input is constant (NumPy: nan).
 */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number | null {
  checkValues('pearson', 'x', x, 0);
  checkValues('pearson', 'y', y, 0);
  if (x.length !== y.length) throw new MetricArgumentError('pearson', 'y', `has length ${y.length}, expected ${x.length} (the length of x)`);
  return pearsonUnchecked(x, y);
}

function pearsonUnchecked(x: ArrayLike<number>, y: ArrayLike<number>): number | null {
  const n = x.length;
  if (n < 2) return null;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return null;
  const r = sxy / Math.sqrt(sxx) / Math.sqrt(syy);
  return Math.max(-1, Math.min(1, r));
}

/**
 * Spearman rank correlation, as `scipy.stats.spearmanr(x, y).correlation`: the Pearson
 * correlation of the average ranks (`rankData`) of x and of y. `null` when n < 2 or either
 * input is constant (SciPy: nan).
 * @throws MetricArgumentError on length mismatch or NaN/±Inf values.
 */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number | null {
  checkValues('spearman', 'x', x, 0);
  checkValues('spearman', 'y', y, 0);
  if (x.length !== y.length) throw new MetricArgumentError('spearman', 'y', `has length ${y.length}, expected ${x.length} (the length of x)`);
  return pearsonUnchecked(rankData(x), rankData(y));
}
