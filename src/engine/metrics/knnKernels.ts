/**
 * The kernels of the exact kNN search (knn.ts): the reference matrix product `gemmNT`, exact
 * float64 distances, candidate ordering and selection, a bounded max-heap, the bound scan of one
 * row of products, and the grouping of bit-identical rows. Pure: no `vscode`, no I/O. The
 * search itself, its proofs and its public API are in knn.ts.
 */

import { MetricArgumentError } from './validate';

/**
 * Default gemm hook: `out = A·Bᵀ` (see `Gemm`) by a register-blocked (4×4) JavaScript
 * kernel over panels of B; products accumulate in float64 and are rounded once to float32.
 */
export function gemmNT(a: Float32Array, m: number, b: Float32Array, n: number, k: number, out: Float32Array): void {
  const JB = Math.max(4, Math.floor(65536 / Math.max(1, k)) & ~3);
  const m4 = m - (m % 4);
  for (let j0 = 0; j0 < n; j0 += JB) {
    const j1 = Math.min(n, j0 + JB);
    const j4 = j0 + ((j1 - j0) - ((j1 - j0) % 4));
    for (let i = 0; i < m4; i += 4) {
      const a0 = i * k;
      const a1 = a0 + k;
      const a2 = a1 + k;
      const a3 = a2 + k;
      for (let j = j0; j < j4; j += 4) {
        const b0 = j * k;
        const b1 = b0 + k;
        const b2 = b1 + k;
        const b3 = b2 + k;
        let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (let p = 0; p < k; p++) {
          const x0 = a[a0 + p], x1 = a[a1 + p], x2 = a[a2 + p], x3 = a[a3 + p];
          const y0 = b[b0 + p], y1 = b[b1 + p], y2 = b[b2 + p], y3 = b[b3 + p];
          c00 += x0 * y0; c01 += x0 * y1; c02 += x0 * y2; c03 += x0 * y3;
          c10 += x1 * y0; c11 += x1 * y1; c12 += x1 * y2; c13 += x1 * y3;
          c20 += x2 * y0; c21 += x2 * y1; c22 += x2 * y2; c23 += x2 * y3;
          c30 += x3 * y0; c31 += x3 * y1; c32 += x3 * y2; c33 += x3 * y3;
        }
        let o = i * n + j;
        out[o] = c00; out[o + 1] = c01; out[o + 2] = c02; out[o + 3] = c03; o += n;
        out[o] = c10; out[o + 1] = c11; out[o + 2] = c12; out[o + 3] = c13; o += n;
        out[o] = c20; out[o + 1] = c21; out[o + 2] = c22; out[o + 3] = c23; o += n;
        out[o] = c30; out[o + 1] = c31; out[o + 2] = c32; out[o + 3] = c33;
      }
      // leftover columns of this panel
      for (let j = j4; j < j1; j++) {
        const bj = j * k;
        for (let ii = i; ii < i + 4; ii++) {
          const ai = ii * k;
          let s = 0;
          for (let p = 0; p < k; p++) s += a[ai + p] * b[bj + p];
          out[ii * n + j] = s;
        }
      }
    }
    // leftover rows
    for (let i = m4; i < m; i++) {
      const ai = i * k;
      for (let j = j0; j < j1; j++) {
        const bj = j * k;
        let s = 0;
        for (let p = 0; p < k; p++) s += a[ai + p] * b[bj + p];
        out[i * n + j] = s;
      }
    }
  }
}

/** Exact float64 squared distance between row q of a and row r of b. */
export function sqdist(a: Float32Array, q: number, b: Float32Array, r: number, dim: number): number {
  let s = 0;
  const pa = q * dim;
  const pb = r * dim;
  for (let i = 0; i < dim; i++) {
    const t = a[pa + i] - b[pb + i];
    s += t * t;
  }
  return s;
}

/** Sorts `idx[0..len)` by (dist[idx], idx) ascending; insertion sort for short lists. */
export function sortCandidates(idx: Int32Array, dist: Float64Array, len: number): void {
  if (len <= 48) {
    for (let i = 1; i < len; i++) {
      const vi = idx[i];
      const vd = dist[i];
      let j = i - 1;
      while (j >= 0 && (dist[j] > vd || (dist[j] === vd && idx[j] > vi))) {
        idx[j + 1] = idx[j];
        dist[j + 1] = dist[j];
        j--;
      }
      idx[j + 1] = vi;
      dist[j + 1] = vd;
    }
    return;
  }
  const order = Array.from({ length: len }, (_, i) => i).sort((p, q) => dist[p] - dist[q] || idx[p] - idx[q]);
  const i2 = Int32Array.from(order, (p) => idx[p]);
  const d2 = Float64Array.from(order, (p) => dist[p]);
  idx.set(i2);
  dist.set(d2);
}

/**
 * Moves the `k` smallest candidates by (dist, idx) to the front of `idx`/`dist[0..len)`,
 * ascending (the rest is left in no particular order). O(len·log k): long candidate lists
 * (many references tied with the k-th distance, e.g. duplicate points) cost about as much as
 * the scan that found them, not a full sort.
 */
export function selectSmallest(idx: Int32Array, dist: Float64Array, len: number, k: number): void {
  if (len <= 48 || 4 * k >= len) {
    sortCandidates(idx, dist, len);
    return;
  }
  // (dist[a], idx[a]) > (dist[b], idx[b])
  const gt = (a: number, b: number) => dist[a] > dist[b] || (dist[a] === dist[b] && idx[a] > idx[b]);
  const swap = (a: number, b: number) => {
    const ti = idx[a];
    idx[a] = idx[b];
    idx[b] = ti;
    const td = dist[a];
    dist[a] = dist[b];
    dist[b] = td;
  };
  const siftDown = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      if (l >= k) return;
      let c = l;
      if (l + 1 < k && gt(l + 1, l)) c = l + 1;
      if (!gt(c, i)) return;
      swap(c, i);
      i = c;
    }
  };
  // a max-heap of the first k, then every later candidate smaller than its top replaces it
  for (let i = (k >> 1) - 1; i >= 0; i--) siftDown(i);
  for (let i = k; i < len; i++) {
    if (gt(0, i)) {
      swap(0, i);
      siftDown(0);
    }
  }
  sortCandidates(idx, dist, k);
}

/** Max-heap helper over float64 values (k smallest kept). */
export class TopK {
  private heap: Float64Array;
  size = 0;
  constructor(private readonly cap: number) {
    this.heap = new Float64Array(Math.max(1, cap));
  }
  reset(): void {
    this.size = 0;
  }
  get top(): number {
    return this.heap[0];
  }
  get full(): boolean {
    return this.size === this.cap;
  }
  push(v: number): void {
    const h = this.heap;
    if (this.size < this.cap) {
      let i = this.size++;
      h[i] = v;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (h[p] >= h[i]) break;
        const t = h[p];
        h[p] = h[i];
        h[i] = t;
        i = p;
      }
    } else if (v < h[0]) {
      h[0] = v;
      let i = 0;
      const n = this.size;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        let c = l;
        if (l + 1 < n && h[l + 1] > h[l]) c = l + 1;
        if (h[c] <= h[i]) break;
        const t = h[c];
        h[c] = h[i];
        h[i] = t;
        i = c;
      }
    }
  }
}

/**
 * One pass over refs [rs, re) of a block row (a plain function, so that it is optimized
 * apart from the generator): pushes upper bounds U into `heap` (k smallest) and appends to
 * the candidate list every ref whose lower bound L is ≤ the running k-th smallest U. That
 * running value only decreases, so every ref with L ≤ the final T is in the list.
 * @returns the new length of the candidate list
 */
export function scanRange(
  out: Float32Array, row: number, rs: number, re: number,
  Au: number, Al: number, c1: number,
  rn: Float64Array, Pu: Float64Array, Pl: Float64Array,
  heap: TopK, cIdx: Int32Array, cLow: Float64Array, len: number,
): number {
  let top = heap.full ? heap.top : Infinity;
  for (let r = rs; r < re; r++) {
    const g2 = 2 * out[row + r];
    const cr = c1 * rn[r];
    const L = Al + Pl[r] - cr - g2;
    if (L > top) continue; // then U ≥ L > top too
    const U = Au + Pu[r] + cr - g2;
    if (U < top) {
      heap.push(U);
      if (heap.full) top = heap.top;
    }
    if (L <= top) {
      cIdx[len] = r;
      cLow[len] = L;
      len++;
    }
  }
  return len;
}

/** Grouping of identical rows: group g has the rows `members[start[g] … start[g+1])`, ascending; `rep[g]` is its first row. */
export interface Groups {
  nu: number;
  rep: Int32Array;
  start: Int32Array;
  members: Int32Array;
}

/** Duplicates are grouped when at most this share of the rows is unique. */
export const DEDUP_SHARE = 0.9;

/** Groups the bit-identical rows of a row-major n×dim float32 array (order of first appearance). */
export function groupRows(x: Float32Array, n: number, dim: number): Groups {
  const bits = new Uint32Array(x.buffer, x.byteOffset, n * dim);
  const groupOf = new Int32Array(n);
  const buckets = new Map<number, number[]>();
  const rep: number[] = [];
  for (let r = 0; r < n; r++) {
    let h = 0x811c9dc5;
    const o = r * dim;
    for (let i = 0; i < dim; i++) h = Math.imul(h ^ bits[o + i], 0x01000193);
    let list = buckets.get(h);
    let g = -1;
    if (list) {
      for (const cand of list) {
        const c = rep[cand] * dim;
        let same = true;
        for (let i = 0; i < dim; i++) {
          if (bits[c + i] !== bits[o + i]) {
            same = false;
            break;
          }
        }
        if (same) {
          g = cand;
          break;
        }
      }
    } else {
      list = [];
      buckets.set(h, list);
    }
    if (g < 0) {
      g = rep.length;
      rep.push(r);
      list.push(g);
    }
    groupOf[r] = g;
  }
  const nu = rep.length;
  const start = new Int32Array(nu + 1);
  for (let r = 0; r < n; r++) start[groupOf[r] + 1]++;
  for (let g = 0; g < nu; g++) start[g + 1] += start[g];
  const fill = start.slice(0, nu);
  const members = new Int32Array(n);
  for (let r = 0; r < n; r++) members[fill[groupOf[r]]++] = r;
  return { nu, rep: Int32Array.from(rep), start, members };
}
