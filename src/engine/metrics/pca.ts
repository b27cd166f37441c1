/**
 * Principal component analysis for the projection view (METHOD.md §3).
 * Pure: no `vscode`, no I/O.
 *
 * - Mean `μ = (1/n) Σ x_i`; covariance `Σ = (1/(n−1)) Σ (x_i − μ)(x_i − μ)ᵀ`, dim×dim, float64
 *   (divided by max(n−1, 1)).
 * - Symmetric eigen-decomposition `Σ = V Λ Vᵀ`: Householder tridiagonalization and the
 *   implicit QL algorithm with shifts (EISPACK tred2/tql2, as in JAMA), accurate to machine
 *   precision; eigenvalues sorted in decreasing order (ties: lower original index first).
 *   That costs O(dim³): 1.3 s at dim 800. For dim > LANCZOS_MIN_DIM the leading components
 *   come from the Lanczos process with full reorthogonalization instead (`lanczosTop`), when
 *   it converges to a residual ‖Σv − λv‖ ≤ 1e-13·λ₁ with the leading eigenvalues apart
 *   (gaps ≥ 1e-3·λ₁, so each vector is fixed to about 1e-10) and a second Lanczos run
 *   orthogonal to them finds nothing as large (no missed copy of a repeated eigenvalue);
 *   otherwise the full decomposition decides. Same values to rounding.
 * - Components: the first `nComponents` eigenvectors (unit length).
 *   `explainedVarianceRatio[c] = λ_c / trace(Σ)` — equal to scikit-learn's
 *   `PCA(n_components, svd_solver='full').explained_variance_ratio_` (the SVD of the centred
 *   data gives `λ = S²/(n−1)` and the same total).
 * - Sign convention: each component is flipped so that its coordinate of largest absolute
 *   value is positive (the first such coordinate on ties). scikit-learn's `svd_flip` instead
 *   makes the largest-|value| entry of each column of U positive, so its components may
 *   differ from these by a sign.
 * - Degenerate cases: when dim < nComponents or n < 2 some components carry no variance; they
 *   still come back (unit vectors), with ratio 0. When the total variance is 0 (n ≤ 1 or all
 *   points equal) every ratio is 0. Output never holds NaN.
 */

import { Prng } from './prng';
import { MetricArgumentError, checkInt, checkPoints, type FloatArray } from './validate';

export interface PcaModel {
  dim: number;
  /** Number of components (rows of `components`). */
  nComponents: number;
  /** Mean of the fitted points, length dim. */
  mean: Float64Array;
  /** Row-major nComponents×dim, unit rows, sign convention in the file header. */
  components: Float64Array;
  /** λ_c = variance along component c (scikit-learn's `explained_variance_`). */
  explainedVariance: number[];
  /** λ_c / trace(Σ) (scikit-learn's `explained_variance_ratio_`). */
  explainedVarianceRatio: number[];
  /** Points fitted. */
  n: number;
}

/**
 * Fits the PCA of n points (see the file header for the formulas).
 * @param points row-major n×dim
 * @param nComponents components kept (default 3)
 */
export function fitPca(points: FloatArray, n: number, dim: number, nComponents = 3): PcaModel {
  const fn = 'fitPca';
  checkInt(fn, 'n', n, 0);
  checkInt(fn, 'dim', dim, 1);
  checkInt(fn, 'nComponents', nComponents, 1);
  checkPoints(fn, 'points', points, n, dim);

  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const p = i * dim;
    for (let d = 0; d < dim; d++) mean[d] += points[p + d];
  }
  if (n > 0) for (let d = 0; d < dim; d++) mean[d] /= n;

  const cov = covariance(points, n, dim, mean);
  let trace = 0;
  for (let d = 0; d < dim; d++) trace += cov[d * dim + d];

  // A wide tap: the leading components by Lanczos when that is exact enough (else null).
  const top = dim > LANCZOS_MIN_DIM ? lanczosTop(cov, dim, Math.min(nComponents, dim)) : null;
  const { values, vectors } = top ?? symmetricEigen(cov, dim);
  // decreasing order, ties by index
  const order = top ? top.values.map((_, i) => i) : Array.from({ length: dim }, (_, i) => i).sort((a, b) => values[b] - values[a] || a - b);

  const components = new Float64Array(nComponents * dim);
  const explainedVariance: number[] = [];
  const explainedVarianceRatio: number[] = [];
  for (let c = 0; c < nComponents; c++) {
    if (c < dim) {
      const j = order[c];
      const row = components.subarray(c * dim, (c + 1) * dim);
      row.set(vectors.subarray(j * dim, (j + 1) * dim));
      normalizeSign(row);
      const lambda = Math.max(0, values[j]);
      explainedVariance.push(lambda);
      explainedVarianceRatio.push(trace > 0 ? lambda / trace : 0);
    } else {
      explainedVariance.push(0);
      explainedVarianceRatio.push(0);
    }
  }
  return { dim, nComponents, mean, components, explainedVariance, explainedVarianceRatio, n };
}

/**
 * Projects points on a fitted basis: `y_i = (x_i − μ) · Vᵀ`, one row of 3 per point
 * (components beyond `pca.nComponents`, or beyond dim, are 0).
 * @returns Float32Array n×3 (n×max(3, nComponents) when more components were fitted)
 */
export function project(points: FloatArray, n: number, dim: number, pca: PcaModel): Float32Array {
  const fn = 'project';
  checkInt(fn, 'n', n, 0);
  checkInt(fn, 'dim', dim, 1);
  if (!pca || !(pca.mean instanceof Float64Array) || !(pca.components instanceof Float64Array)) {
    throw new MetricArgumentError(fn, 'pca', 'must be the result of fitPca');
  }
  if (pca.dim !== dim) throw new MetricArgumentError(fn, 'dim', `is ${dim}, but the PCA was fitted on dim = ${pca.dim}`);
  checkPoints(fn, 'points', points, n, dim);
  const nc = pca.nComponents;
  const width = Math.max(3, nc);
  const out = new Float32Array(n * width);
  const centred = new Float64Array(dim);
  const used = Math.min(nc, dim);
  for (let i = 0; i < n; i++) {
    const p = i * dim;
    for (let d = 0; d < dim; d++) centred[d] = points[p + d] - pca.mean[d];
    for (let c = 0; c < used; c++) {
      const v = c * dim;
      let s = 0;
      for (let d = 0; d < dim; d++) s += centred[d] * pca.components[v + d];
      out[i * width + c] = s;
    }
  }
  return out;
}

/** Flips v so that its first coordinate of largest |value| is positive. */
function normalizeSign(v: Float64Array): void {
  let best = 0;
  let bestAbs = -1;
  for (let d = 0; d < v.length; d++) {
    const a = Math.abs(v[d]);
    if (a > bestAbs) {
      bestAbs = a;
      best = d;
    }
  }
  if (v[best] < 0) for (let d = 0; d < v.length; d++) v[d] = -v[d];
  // avoid -0 entries
  for (let d = 0; d < v.length; d++) if (v[d] === 0) v[d] = 0;
}

/**
 * dim×dim covariance in float64, divided by max(n−1, 1). Symmetric, both triangles filled.
 * Blocks of B centred points are transposed (dim padded to a multiple of 4 with zeros) and
 * the upper triangle accumulated by a 4×4 register-blocked kernel.
 */
function covariance(points: FloatArray, n: number, dim: number, mean: Float64Array): Float64Array {
  const D = (dim + 3) & ~3;
  const acc = new Float64Array(D * D);
  const B = 128; // points per block
  const xt = new Float64Array(D * B); // xt[d*B + b]
  for (let i0 = 0; i0 < n; i0 += B) {
    const nb = Math.min(B, n - i0);
    if (nb < B) xt.fill(0);
    for (let b = 0; b < nb; b++) {
      const p = (i0 + b) * dim;
      for (let d = 0; d < dim; d++) xt[d * B + b] = points[p + d] - mean[d];
    }
    for (let a = 0; a < D; a += 4) {
      const r0 = a * B;
      const r1 = r0 + B;
      const r2 = r1 + B;
      const r3 = r2 + B;
      for (let c = a; c < D; c += 4) {
        const s0 = c * B;
        const s1 = s0 + B;
        const s2 = s1 + B;
        const s3 = s2 + B;
        let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (let b = 0; b < nb; b++) {
          const x0 = xt[r0 + b], x1 = xt[r1 + b], x2 = xt[r2 + b], x3 = xt[r3 + b];
          const y0 = xt[s0 + b], y1 = xt[s1 + b], y2 = xt[s2 + b], y3 = xt[s3 + b];
          c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
          c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
          c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
          c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
        }
        let o = a * D + c;
        acc[o] += c00; acc[o + 1] += c01; acc[o + 2] += c02; acc[o + 3] += c03; o += D;
        acc[o] += c10; acc[o + 1] += c11; acc[o + 2] += c12; acc[o + 3] += c13; o += D;
        acc[o] += c20; acc[o + 1] += c21; acc[o + 2] += c22; acc[o + 3] += c23; o += D;
        acc[o] += c30; acc[o + 1] += c31; acc[o + 2] += c32; acc[o + 3] += c33;
      }
    }
  }
  const div = Math.max(n - 1, 1);
  const cov = new Float64Array(dim * dim);
  for (let a = 0; a < dim; a++) {
    for (let c = a; c < dim; c++) {
      const v = acc[a * D + c] / div;
      cov[a * dim + c] = v;
      cov[c * dim + a] = v;
    }
  }
  return cov;
}

/** Widths above which fitPca tries `lanczosTop` first (the full decomposition is cheap below). */
export const LANCZOS_MIN_DIM = 128;

/** A deterministic start vector of unit length (a fixed pseudo-random sequence). */
function startVector(n: number, seed: number): Float64Array {
  const prng = new Prng(seed);
  const q = new Float64Array(n);
  for (let i = 0; i < n; i++) q[i] = prng.next() - 0.5;
  const norm = Math.sqrt(dot(q, q, n));
  for (let i = 0; i < n; i++) q[i] /= norm;
  return q;
}

function dot(a: Float64Array, b: Float64Array, n: number, ao = 0, bo = 0): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[ao + i] * b[bo + i];
  return s;
}

/** y = A x for a dense symmetric n×n A (row-major). */
function symMatVec(A: Float64Array, n: number, x: Float64Array, y: Float64Array): void {
  for (let r = 0; r < n; r++) y[r] = dot(A, x, n, r * n, 0);
}

/** w −= Σ_i (q_i·w) q_i over the first `m` rows of Q (n wide), twice ("twice is enough"). */
function orthogonalize(Q: Float64Array, m: number, n: number, w: Float64Array): void {
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < m; i++) {
      const c = dot(Q, w, n, i * n, 0);
      if (c !== 0) for (let t = 0; t < n; t++) w[t] -= c * Q[i * n + t];
    }
  }
}

/**
 * Lanczos with full reorthogonalization from `start`, on A restricted to the complement of the
 * first `fixed` rows of Q (those rows hold orthonormal vectors; the run's own basis follows
 * them in Q). Stops when the `want` largest Ritz pairs have residuals ≤ `tol(θ₁)` (θ₁ the
 * largest Ritz value; or when the Krylov space is exhausted). Returns the Ritz values in decreasing order with their residual
 * bounds, and the Ritz vectors of the first `want` (row-major want×n); null when it did not
 * converge within `maxSteps`.
 */
function lanczosRun(
  A: Float64Array,
  n: number,
  Q: Float64Array,
  fixed: number,
  start: Float64Array,
  want: number,
  tol: (top: number) => number,
  maxSteps: number,
): { values: number[]; residuals: number[]; vectors: Float64Array } | null {
  const alpha: number[] = [];
  const beta: number[] = [];
  const w = new Float64Array(n);
  const q = Float64Array.from(start);
  orthogonalize(Q, fixed, n, q);
  const norm = Math.sqrt(dot(q, q, n));
  if (!(norm > 0)) return null;
  for (let t = 0; t < n; t++) q[t] /= norm;
  for (let j = 0; j < maxSteps; j++) {
    Q.set(q, (fixed + j) * n);
    symMatVec(A, n, q, w);
    const a = dot(q, w, n);
    alpha.push(a);
    for (let t = 0; t < n; t++) w[t] -= a * q[t];
    if (j > 0) for (let t = 0; t < n; t++) w[t] -= beta[j - 1] * Q[(fixed + j - 1) * n + t];
    orthogonalize(Q, fixed + j + 1, n, w);
    const b = Math.sqrt(dot(w, w, n));
    const m = j + 1;
    const exhausted = !(b > 1e-14 * Math.max(Math.abs(alpha[0]), Math.abs(a), 1e-300)) || fixed + m >= n;
    if (exhausted || (m >= want + 1 && (m % 4 === 0 || m === maxSteps))) {
      // the Ritz pairs of the m×m tridiagonal
      const T = new Float64Array(m * m);
      for (let i = 0; i < m; i++) {
        T[i * m + i] = alpha[i];
        if (i + 1 < m) T[i * m + i + 1] = T[(i + 1) * m + i] = beta[i];
      }
      const eig = symmetricEigen(T, m);
      const order = Array.from({ length: m }, (_, i) => i).sort((x, y) => eig.values[y] - eig.values[x] || x - y);
      const residuals = order.map((i) => (exhausted ? 0 : Math.abs(b * eig.vectors[i * m + m - 1])));
      const k = Math.min(want, m);
      const limit = tol(eig.values[order[0]]);
      if (exhausted || residuals.slice(0, k).every((r) => r <= limit)) {
        const vectors = new Float64Array(k * n);
        for (let c = 0; c < k; c++) {
          const s = eig.vectors.subarray(order[c] * m, order[c] * m + m);
          for (let r = 0; r < m; r++) {
            const f = s[r];
            const o = (fixed + r) * n;
            for (let t = 0; t < n; t++) vectors[c * n + t] += f * Q[o + t];
          }
        }
        return { values: order.map((i) => eig.values[i]), residuals, vectors };
      }
    }
    if (exhausted) return null;
    for (let t = 0; t < n; t++) q[t] = w[t] / b;
    beta.push(b);
  }
  return null;
}

/**
 * The k largest eigenpairs of a symmetric positive semi-definite n×n matrix (a covariance) by
 * Lanczos, or null when they are not determined well enough to stand in for the full
 * decomposition (see the file header): vectors row-major k×n, unit length, values decreasing.
 */
export function lanczosTop(A: Float64Array, n: number, k: number): { values: Float64Array; vectors: Float64Array } | null {
  if (k < 1 || k >= n) return null;
  const maxSteps = Math.min(n - 1, 300);
  const Q = new Float64Array((maxSteps + k + 1) * n);
  const first = lanczosRun(A, n, Q, 0, startVector(n, 0x5eed), k, (top) => 1e-13 * top, maxSteps);
  if (!first || first.values.length < k) return null;
  const l1 = first.values[0];
  if (!(l1 > 0)) return null;
  // the k leading values apart from each other
  for (let c = 0; c + 1 < k; c++) if (first.values[c] - first.values[c + 1] < 1e-3 * l1) return null;
  // and from the rest, none missed (a repeated eigenvalue shows once in one Krylov space): a
  // run orthogonal to the k vectors must converge below λ_k
  Q.fill(0);
  Q.set(first.vectors.subarray(0, k * n));
  const rest = lanczosRun(A, n, Q, k, startVector(n, 0xc4ec), 1, () => 1e-4 * l1, Math.min(n - k, 80));
  if (!rest || rest.values[0] > first.values[k - 1] - 1e-3 * l1) return null;
  const values = Float64Array.from(first.values.slice(0, k));
  return { values, vectors: first.vectors.subarray(0, k * n) };
}

/**
 * Eigen-decomposition of a symmetric n×n matrix (row-major, float64): EISPACK tred2 + tql2
 * (the JAMA port), run on the transpose so that the eigenvector updates walk rows.
 * @returns eigenvalues (unsorted as tql2 leaves them: ascending) and eigenvectors as the
 *   rows of `vectors` (row j belongs to values[j]).
 */
export function symmetricEigen(matrix: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  // W is the transpose of JAMA's V: W[a][b] = V[b][a]
  const W = Float64Array.from(matrix);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n === 0) return { values: d, vectors: W };
  tred2(W, d, e, n);
  tql2(W, d, e, n);
  return { values: d, vectors: W };
}

function tred2(W: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  // V[a][b] ≡ W[b*n + a]
  for (let j = 0; j < n; j++) d[j] = W[j * n + (n - 1)];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = W[j * n + (i - 1)];
        W[j * n + i] = 0; // V[i][j]
        W[i * n + j] = 0; // V[j][i]
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h = h - f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        W[i * n + j] = f; // V[j][i]
        const rj = j * n;
        g = e[j] + W[rj + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          const v = W[rj + k]; // V[k][j]
          g += v * d[k];
          e[k] += v * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        const rj = j * n;
        for (let k = j; k <= i - 1; k++) W[rj + k] -= f * e[k] + g * d[k]; // V[k][j]
        d[j] = W[rj + (i - 1)]; // V[i-1][j]
        W[rj + i] = 0; // V[i][j]
      }
    }
    d[i] = h;
  }
  // accumulate transformations
  for (let i = 0; i < n - 1; i++) {
    W[i * n + (n - 1)] = W[i * n + i]; // V[n-1][i] = V[i][i]
    W[i * n + i] = 1;
    const h = d[i + 1];
    const ri1 = (i + 1) * n;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = W[ri1 + k] / h; // V[k][i+1]
      for (let j = 0; j <= i; j++) {
        const rj = j * n;
        let g = 0;
        for (let k = 0; k <= i; k++) g += W[ri1 + k] * W[rj + k];
        for (let k = 0; k <= i; k++) W[rj + k] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) W[ri1 + k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = W[j * n + (n - 1)];
    W[j * n + (n - 1)] = 0;
  }
  W[(n - 1) * n + (n - 1)] = 1;
  e[0] = 0;
}

function tql2(W: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = Math.pow(2, -52);
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]) <= eps * tst1) break;
      m++;
    }
    if (m === n) m = n - 1; // e[n-1] = 0 always breaks first; guard
    if (m > l) {
      let iter = 0;
      do {
        iter++;
        if (iter > 300) throw new Error('symmetricEigen: QL iteration did not converge');
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          // rotate eigenvector columns i, i+1 of V = rows i, i+1 of W
          const ri = i * n;
          const ri1 = ri + n;
          for (let k = 0; k < n; k++) {
            const hv = W[ri1 + k];
            const vi = W[ri + k];
            W[ri1 + k] = s * vi + c * hv;
            W[ri + k] = c * vi - s * hv;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] = d[l] + f;
    e[l] = 0;
  }
}
