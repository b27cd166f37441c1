/**
 * Davies–Bouldin index (METHOD.md §4 `db`). Pure: no `vscode`, no I/O.
 */

import { MetricArgumentError, checkInt, checkLabels, checkPoints, type FloatArray, type IntArray } from './validate';

/**
 * Davies–Bouldin index of n points grouped by label, identical to scikit-learn's
 * `sklearn.metrics.davies_bouldin_score` (accumulated in float64):
 *
 * - classes k = the distinct label values present (K of them);
 * - `μ_k` = centroid of class k, `s_k` = mean Euclidean distance of its points to `μ_k`;
 * - `M_kj = ‖μ_k − μ_j‖`;
 * - `DB = (1/K) Σ_k max_{j≠k} (s_k + s_j) / M_kj`, where a ratio with `M_kj = 0` counts as 0
 *   (scikit-learn sets such distances to +inf);
 * - `DB = 0` when every `s_k` ≤ 1e-8 or every `M_kj` ≤ 1e-8 (scikit-learn's `np.allclose`
 *   short-cut).
 *
 * Lower is better separated.
 *
 * @param points row-major n×dim
 * @param labels per-point class label (any integers; every distinct value is a class)
 * @returns the index, or `null` when fewer than 2 classes are present or every point is its
 *   own class (K ≥ n, where scikit-learn raises)
 * @throws MetricArgumentError on bad shapes or NaN/±Inf in `points`
 */
export function daviesBouldin(points: FloatArray, n: number, dim: number, labels: IntArray): number | null {
  const fn = 'daviesBouldin';
  checkInt(fn, 'n', n, 0);
  checkInt(fn, 'dim', dim, 1);
  checkPoints(fn, 'points', points, n, dim);
  checkLabels(fn, 'labels', labels, n);

  // class index per point, classes in ascending label order (as LabelEncoder)
  const values = Array.from(new Set(Array.from(labels))).sort((a, b) => a - b);
  const K = values.length;
  if (K < 2 || K >= n) return null;
  const index = new Map<number, number>();
  values.forEach((v, i) => index.set(v, i));
  const cls = new Int32Array(n);
  for (let i = 0; i < n; i++) cls[i] = index.get(labels[i]) as number;

  const count = new Float64Array(K);
  const centroids = new Float64Array(K * dim);
  for (let i = 0; i < n; i++) {
    const k = cls[i];
    count[k]++;
    const c = k * dim;
    const p = i * dim;
    for (let d = 0; d < dim; d++) centroids[c + d] += points[p + d];
  }
  for (let k = 0; k < K; k++) {
    const c = k * dim;
    for (let d = 0; d < dim; d++) centroids[c + d] /= count[k];
  }

  const intra = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    const c = cls[i] * dim;
    const p = i * dim;
    let s = 0;
    for (let d = 0; d < dim; d++) {
      const t = points[p + d] - centroids[c + d];
      s += t * t;
    }
    intra[cls[i]] += Math.sqrt(s);
  }
  for (let k = 0; k < K; k++) intra[k] /= count[k];

  const cdist = new Float64Array(K * K);
  for (let a = 0; a < K; a++) {
    for (let b = a + 1; b < K; b++) {
      let s = 0;
      for (let d = 0; d < dim; d++) {
        const t = centroids[a * dim + d] - centroids[b * dim + d];
        s += t * t;
      }
      cdist[a * K + b] = cdist[b * K + a] = Math.sqrt(s);
    }
  }

  const ATOL = 1e-8; // np.allclose(x, 0): |x| <= atol
  if (intra.every((v) => Math.abs(v) <= ATOL) || cdist.every((v) => Math.abs(v) <= ATOL)) return 0;

  let total = 0;
  for (let a = 0; a < K; a++) {
    let best = 0;
    for (let b = 0; b < K; b++) {
      const m = cdist[a * K + b];
      if (m === 0) continue; // ratio against +inf is 0 (and the diagonal)
      const r = (intra[a] + intra[b]) / m;
      if (r > best) best = r;
    }
    total += best;
  }
  const db = total / K;
  if (!Number.isFinite(db)) throw new MetricArgumentError(fn, 'points', 'gave a non-finite index (values too large for float64)');
  return db;
}
