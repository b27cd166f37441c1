/**
 * Streaming stratified sampling without replacement (METHOD.md §2 "Sampling").
 * Pure: no `vscode`, no I/O.
 *
 * ## Design
 *
 * - Every point that arrives gets a random key `u ~ U[0, 1)` from a `Prng(seed)`, drawn in
 *   arrival order (one draw per point, whatever its stratum), and an arrival number `seq`.
 *   Order of points is `(u, seq)` lexicographic, so keys never tie.
 * - Per stratum, only the `maxPoints` points of smallest keys are kept (a bounded max-heap):
 *   memory ≤ `numStrata × maxPoints × dim` floats, whatever the number of points streamed.
 * - `finish()`, with `T` points seen in total and `c_s` in stratum `s`:
 *   - `T ≤ maxPoints`: every point, in arrival order. No sampling at all, so the results are
 *     exactly those of the full set.
 *   - otherwise, quotas proportional to the stratum counts by largest remainder:
 *     `q_s = floor(M·c_s / T)`, then the `M − Σ q_s` leftover points go one each to the
 *     strata with the largest remainders `(M·c_s) mod T` (ties: lower stratum index), with
 *     `M = maxPoints`; so `Σ q_s = M` and `q_s ≤ c_s`. Stratum `s` contributes its `q_s`
 *     points of smallest keys — a uniform sample without replacement of that stratum.
 *     The kept points are returned in arrival order.
 * - The result depends only on the seed and on the sequence of points (not on how the
 *   stream is cut into `add` calls).
 *
 * Unlabelled data: use `numStrata = 1` and strata all 0 (or pass no strata).
 */

import { MetricArgumentError, checkInt, firstNonFinite } from './validate';
import { Prng } from './prng';

export type SideArray = Int32Array | Float32Array | Float64Array;
type SideCtor = Int32ArrayConstructor | Float32ArrayConstructor | Float64ArrayConstructor;

export interface StratifiedSamplerOptions {
  /** At most this many points are returned (M ≥ 1). */
  maxPoints: number;
  /** Values per point (channels). */
  dim: number;
  /** Seed of the key stream. */
  seed: number;
  /** Strata are 0 … numStrata−1 (the number of classes; 1 for unlabelled data). Default 1. */
  numStrata?: number;
}

export interface SampleResult {
  /** Number of points kept. */
  n: number;
  dim: number;
  /** Kept points, row-major n×dim, in arrival order. */
  points: Float32Array;
  /** Stratum of each kept point. */
  strata: Int32Array;
  /** Arrival number (0-based, over all points ever added) of each kept point. */
  seq: Float64Array;
  /** Side data of each kept point, by the names given to `add`. */
  extras: { [name: string]: SideArray };
  /** Points seen in total. */
  total: number;
  /** Points seen per stratum. */
  totalPerStratum: number[];
  /** Points kept per stratum (the quotas). */
  keptPerStratum: number[];
  /** False when every point was kept (total ≤ maxPoints). */
  sampled: boolean;
  /** Points added that held a NaN or ±Inf value (they are stored like the others). */
  nonFinite: number;
}

/** `addRows`'s writer of points: one at a time, or all the call keeps at once (see addRows). */
export type BatchFill = { rows(is: Int32Array, n: number, dst: Float32Array, offsets: Int32Array): void };
export type RowFill = ((i: number, dst: Float32Array, offset: number) => void) | BatchFill;

/** point·SLOT_SPAN + slot orders a call's slots by point while the stratum has at most this many slots (maxPoints ≤ ANALYSIS_LIMITS.maxPoints = 10^6 always does); beyond, a comparison sort. */
const SLOT_SPAN = 2 ** 21;

class Stratum {
  size = 0;
  cap = 0;
  points: Float32Array = new Float32Array(0);
  keys: Float64Array = new Float64Array(0);
  seqs: Float64Array = new Float64Array(0);
  /** Max-heap of slot numbers ordered by (key, seq). */
  heap: Int32Array = new Int32Array(0);
  extras: SideArray[] = [];

  constructor(
    private readonly dim: number,
    private readonly max: number,
    private readonly extraCtors: SideCtor[],
  ) {}

  /** At least `want` slots (at most max): doubling, or `want` at once when that is more. */
  grow(want = 0): void {
    const cap = Math.min(this.max, Math.max(16, this.cap * 2, want));
    const p = new Float32Array(cap * this.dim);
    p.set(this.points);
    this.points = p;
    const k = new Float64Array(cap);
    k.set(this.keys);
    this.keys = k;
    const s = new Float64Array(cap);
    s.set(this.seqs);
    this.seqs = s;
    const h = new Int32Array(cap);
    h.set(this.heap);
    this.heap = h;
    this.extras = this.extraCtors.map((C, e) => {
      const a = new C(cap);
      if (this.extras[e]) a.set(this.extras[e] as never);
      return a;
    });
    this.cap = cap;
  }

  /** (key, seq) of slot a is greater than that of slot b. */
  private gt(a: number, b: number): boolean {
    const ka = this.keys[a];
    const kb = this.keys[b];
    return ka > kb || (ka === kb && this.seqs[a] > this.seqs[b]);
  }

  /** Slot to write the point into, or −1 if the point is not among the `max` smallest keys. */
  slotFor(key: number): number {
    if (this.size < this.max) {
      if (this.size === this.cap) this.grow();
      const slot = this.size++;
      return slot;
    }
    const top = this.heap[0];
    // a newer point has a larger seq, so it only wins with a strictly smaller key
    return key < this.keys[top] ? top : -1;
  }

  /**
   * After writing `slot`: restore the heap (push a new slot, or sift down the replaced top).
   * The moving slot's (key, seq) is held while the others move up or down into the hole: the
   * arrangement of the swaps it stands for.
   */
  settle(slot: number, isNew: boolean): void {
    const heap = this.heap;
    const keys = this.keys;
    const seqs = this.seqs;
    const key = keys[slot];
    const seq = seqs[slot];
    if (isNew) {
      let i = this.size - 1;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        const p = heap[parent];
        const kp = keys[p];
        if (!(key > kp || (key === kp && seq > seqs[p]))) break;
        heap[i] = p;
        i = parent;
      }
      heap[i] = slot;
    } else {
      let i = 0;
      const n = this.size;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        let c = l;
        let hc = heap[l];
        if (l + 1 < n) {
          const h2 = heap[l + 1];
          if (this.gt(h2, hc)) {
            c = l + 1;
            hc = h2;
          }
        }
        const kc = keys[hc];
        if (!(kc > key || (kc === key && seqs[hc] > seq))) break;
        heap[i] = hc;
        i = c;
      }
      heap[i] = slot;
    }
  }
}

/**
 * Streaming stratified sampler without replacement; see this file's header for the design.
 *
 * ```ts
 * const s = new StratifiedSampler({ maxPoints: 4096, dim: C, seed: 0, numStrata: K });
 * s.add(points, labels, { gt: labels, pred: predicted, image: imageIndex, loc: locationIndex });
 * const { points, strata, extras } = s.finish();
 * ```
 */
export class StratifiedSampler {
  readonly maxPoints: number;
  readonly dim: number;
  readonly numStrata: number;
  private readonly prng: Prng;
  private strata: Stratum[] | null = null;
  private extraNames: string[] | null = null;
  private extraCtors: SideCtor[] = [];
  private counts: number[];
  private total = 0;
  /** `addRows`: the keys of a call, and the per-stratum thresholds. */
  private keyBuf = new Float64Array(0);
  /** `addRows`: per stratum, the point that last took each slot in the current call (−1: none), and the slots taken. */
  private readonly owners: Int32Array[] = [];
  private readonly touched: Int32Array[] = [];
  private readonly thr: Float64Array;
  private nonFinite = 0;

  constructor(opts: StratifiedSamplerOptions) {
    const fn = 'StratifiedSampler';
    if (!opts || typeof opts !== 'object') throw new MetricArgumentError(fn, 'opts', 'must be an object');
    this.maxPoints = checkInt(fn, 'maxPoints', opts.maxPoints, 1);
    this.dim = checkInt(fn, 'dim', opts.dim, 1);
    this.numStrata = checkInt(fn, 'numStrata', opts.numStrata ?? 1, 1, 1 << 20);
    if (typeof opts.seed !== 'number' || !Number.isFinite(opts.seed)) {
      throw new MetricArgumentError(fn, 'seed', `must be a finite number, got ${String(opts.seed)}`);
    }
    this.prng = new Prng(opts.seed);
    this.counts = new Array(this.numStrata).fill(0);
    this.thr = new Float64Array(this.numStrata);
  }

  /** Points seen so far. */
  get seen(): number {
    return this.total;
  }

  /**
   * Streams in m points.
   * @param points row-major m×dim
   * @param strata per-point stratum in [0, numStrata); may be omitted when numStrata = 1
   * @param extras per-point side data (each array of length m); the same names and array
   *   types at every call (e.g. `{ gt, pred, image, loc }` as Int32Arrays)
   */
  add(points: Float32Array, strata?: Int32Array | Uint8Array | null, extras?: { [name: string]: SideArray }): void {
    const fn = 'StratifiedSampler.add';
    const dim = this.dim;
    if (!(points instanceof Float32Array)) throw new MetricArgumentError(fn, 'points', 'must be a Float32Array of m×dim values');
    if (points.length % dim !== 0) throw new MetricArgumentError(fn, 'points', `has length ${points.length}, not a multiple of dim = ${dim}`);
    const m = points.length / dim;
    if (strata == null) {
      if (this.numStrata !== 1) throw new MetricArgumentError(fn, 'strata', `is required when numStrata = ${this.numStrata}`);
    } else {
      if (!(strata instanceof Int32Array || strata instanceof Uint8Array)) throw new MetricArgumentError(fn, 'strata', 'must be an Int32Array or Uint8Array');
      if (strata.length !== m) throw new MetricArgumentError(fn, 'strata', `has length ${strata.length}, expected m = ${m} (points.length / dim)`);
      for (let i = 0; i < m; i++) {
        const s = strata[i];
        if (s < 0 || s >= this.numStrata) {
          throw new MetricArgumentError(fn, 'strata', `holds ${s} at index ${i}, outside [0, numStrata = ${this.numStrata})`);
        }
      }
    }
    const ex = extras ?? {};
    const names = Object.keys(ex).sort();
    if (this.extraNames === null) {
      for (const name of names) {
        const a = ex[name];
        if (!(a instanceof Int32Array || a instanceof Float32Array || a instanceof Float64Array)) {
          throw new MetricArgumentError(fn, `extras.${name}`, 'must be an Int32Array, Float32Array or Float64Array');
        }
      }
      this.extraNames = names;
      this.extraCtors = names.map((name) => ex[name].constructor as SideCtor);
      this.strata = [];
      for (let s = 0; s < this.numStrata; s++) this.strata.push(new Stratum(dim, this.maxPoints, this.extraCtors));
    } else if (names.join('\u0000') !== this.extraNames.join('\u0000')) {
      throw new MetricArgumentError(fn, 'extras', `must have the names given at the first call (${this.extraNames.join(', ') || 'none'}), got ${names.join(', ') || 'none'}`);
    }
    const extraArrays = names.map((name, e) => {
      const a = ex[name];
      if (!(a instanceof this.extraCtors[e])) throw new MetricArgumentError(fn, `extras.${name}`, `must be a ${this.extraCtors[e].name} as at the first call`);
      if (a.length !== m) throw new MetricArgumentError(fn, `extras.${name}`, `has length ${a.length}, expected m = ${m}`);
      return a;
    });
    const all = this.strata as Stratum[];
    for (let i = 0; i < m; i++) {
      const key = this.prng.next();
      const seq = this.total++;
      const s = strata == null ? 0 : strata[i];
      this.counts[s]++;
      const st = all[s];
      const isNew = st.size < this.maxPoints;
      const slot = st.slotFor(key);
      const row = points.subarray(i * dim, (i + 1) * dim);
      if (firstNonFinite(row) >= 0) this.nonFinite++;
      if (slot < 0) continue;
      st.points.set(row, slot * dim);
      st.keys[slot] = key;
      st.seqs[slot] = seq;
      for (let e = 0; e < extraArrays.length; e++) st.extras[e][slot] = extraArrays[e][i];
      st.settle(slot, isNew);
    }
  }

  /**
   * Streams in m points whose values are written on demand: exactly as `add` with the same
   * points (the same keys, the same sample), but only the points still kept at the end of the
   * call are materialised (a point kept at arrival and replaced later in the same call is
   * never written), stratum by stratum in increasing i: by `fill(i, dst, offset)` writing
   * point i's `dim` values to `dst[offset …]`, or by `fill.rows(is, n, dst, offsets)` writing
   * a stratum's points is[0 … n−1] (increasing) to `dst[offsets[j] …]` at once. For streams far longer than
   * `maxPoints`, most points are never copied.
   * `nonFinite` is not counted here: the caller checks its values.
   * @param strata per-point stratum in [0, numStrata) (may be omitted when numStrata = 1)
   * @param extras per-point side data, as for `add`
   */
  addRows(m: number, fill: RowFill, strata?: Int32Array | Uint8Array | null, extras?: { [name: string]: SideArray }): void {
    const fn = 'StratifiedSampler.addRows';
    checkInt(fn, 'm', m, 0);
    if (typeof fill !== 'function' && !(fill && typeof (fill as BatchFill).rows === 'function')) {
      throw new MetricArgumentError(fn, 'fill', 'must be a function (i, dst, offset) => void or { rows(is, n, dst, offsets) }');
    }
    const extraArrays = this.prepare(fn, m, strata, extras);
    const dim = this.dim;
    const max = this.maxPoints;
    const all = this.strata as Stratum[];
    // The keys of the m points, drawn at once (the same stream as one `next()` per point).
    if (this.keyBuf.length < m) this.keyBuf = new Float64Array(Math.max(m, 2 * this.keyBuf.length));
    const keys = this.keyBuf;
    this.prng.fillNext(keys, m);
    // Per stratum, the key a point must be below to be kept (the heap's top once full; a newer
    // point only wins with a strictly smaller key): the test of `slotFor`, without the call.
    const ns = this.numStrata;
    const thr = this.thr;
    for (let s = 0; s < ns; s++) thr[s] = all[s].size < max ? Infinity : all[s].keys[all[s].heap[0]];
    const counts = this.counts;
    const seq0 = this.total;
    const ne = extraArrays.length;
    // per stratum: the slots written in this call and each one's last point (filled at the end)
    if (this.owners.length === 0) for (let s = 0; s < ns; s++) (this.owners.push(new Int32Array(0)), this.touched.push(new Int32Array(0)));
    const touchedCount = new Int32Array(ns);
    // each stratum will hold min(max, size + its points in this call): one allocation, not a
    // doubling at every power of two (a stratum's first image at 1024² filled it 8 times)
    const incoming = new Int32Array(ns);
    if (strata == null) incoming[0] = m;
    else for (let i = 0; i < m; i++) incoming[strata[i]]++;
    for (let s = 0; s < ns; s++) {
      const st = all[s];
      const want = Math.min(max, st.size + incoming[s]);
      if (want > st.cap) st.grow(want);
    }
    for (let i = 0; i < m; i++) {
      const key = keys[i];
      const s = strata == null ? 0 : strata[i];
      counts[s]++;
      if (!(key < thr[s])) continue;
      const st = all[s];
      const isNew = st.size < max;
      const slot = st.slotFor(key);
      if (slot >= this.owners[s].length) this.growOwners(s, st.cap);
      const owner = this.owners[s];
      if (owner[slot] < 0) this.touched[s][touchedCount[s]++] = slot;
      owner[slot] = i;
      st.keys[slot] = key;
      st.seqs[slot] = seq0 + i;
      for (let e = 0; e < ne; e++) st.extras[e][slot] = extraArrays[e][i];
      st.settle(slot, isNew);
      if (st.size === max) thr[s] = st.keys[st.heap[0]];
    }
    this.total = seq0 + m;
    for (let s = 0; s < ns; s++) {
      const n = touchedCount[s];
      if (n === 0) continue;
      const owner = this.owners[s];
      const touched = this.touched[s];
      const is = new Int32Array(n);
      const offsets = new Int32Array(n);
      if (all[s].cap <= SLOT_SPAN) {
        // in increasing point order: i·SLOT_SPAN + slot (exact doubles: i < 2^31, slot < 2^21)
        const order = new Float64Array(n);
        for (let j = 0; j < n; j++) {
          const slot = touched[j];
          order[j] = owner[slot] * SLOT_SPAN + slot;
          owner[slot] = -1;
        }
        order.sort();
        for (let j = 0; j < n; j++) {
          const slot = order[j] % SLOT_SPAN;
          is[j] = (order[j] - slot) / SLOT_SPAN;
          offsets[j] = slot * dim;
        }
      } else {
        const slots = Array.from(touched.subarray(0, n)).sort((x, y) => owner[x] - owner[y]);
        slots.forEach((slot, j) => {
          is[j] = owner[slot];
          offsets[j] = slot * dim;
          owner[slot] = -1;
        });
      }
      const dst = all[s].points;
      if (typeof fill === 'function') for (let j = 0; j < n; j++) fill(is[j], dst, offsets[j]);
      else fill.rows(is, n, dst, offsets);
    }
  }

  /** The slot bookkeeping of `addRows` for a stratum of `cap` slots (grown as the stratum grows). */
  private growOwners(s: number, cap: number): void {
    const owner = new Int32Array(cap).fill(-1);
    owner.set(this.owners[s]);
    this.owners[s] = owner;
    const touched = new Int32Array(cap);
    touched.set(this.touched[s]);
    this.touched[s] = touched;
  }

  /** Checks strata and extras of m points (the first call fixes the extras' names and types); returns the extras in name order. */
  private prepare(fn: string, m: number, strata: Int32Array | Uint8Array | null | undefined, extras: { [name: string]: SideArray } | undefined): SideArray[] {
    if (strata == null) {
      if (this.numStrata !== 1) throw new MetricArgumentError(fn, 'strata', `is required when numStrata = ${this.numStrata}`);
    } else {
      if (!(strata instanceof Int32Array || strata instanceof Uint8Array)) throw new MetricArgumentError(fn, 'strata', 'must be an Int32Array or Uint8Array');
      if (strata.length !== m) throw new MetricArgumentError(fn, 'strata', `has length ${strata.length}, expected m = ${m}`);
      for (let i = 0; i < m; i++) {
        const s = strata[i];
        if (s < 0 || s >= this.numStrata) {
          throw new MetricArgumentError(fn, 'strata', `holds ${s} at index ${i}, outside [0, numStrata = ${this.numStrata})`);
        }
      }
    }
    const ex = extras ?? {};
    const names = Object.keys(ex).sort();
    if (this.extraNames === null) {
      for (const name of names) {
        const a = ex[name];
        if (!(a instanceof Int32Array || a instanceof Float32Array || a instanceof Float64Array)) {
          throw new MetricArgumentError(fn, `extras.${name}`, 'must be an Int32Array, Float32Array or Float64Array');
        }
      }
      this.extraNames = names;
      this.extraCtors = names.map((name) => ex[name].constructor as SideCtor);
      this.strata = [];
      for (let s = 0; s < this.numStrata; s++) this.strata.push(new Stratum(this.dim, this.maxPoints, this.extraCtors));
    } else if (names.join('\u0000') !== this.extraNames.join('\u0000')) {
      throw new MetricArgumentError(fn, 'extras', `must have the names given at the first call (${this.extraNames.join(', ') || 'none'}), got ${names.join(', ') || 'none'}`);
    }
    return names.map((name, e) => {
      const a = ex[name];
      if (!(a instanceof this.extraCtors[e])) throw new MetricArgumentError(fn, `extras.${name}`, `must be a ${this.extraCtors[e].name} as at the first call`);
      if (a.length !== m) throw new MetricArgumentError(fn, `extras.${name}`, `has length ${a.length}, expected m = ${m}`);
      return a;
    });
  }

  /**
   * The kept (stratum, slot) pairs in arrival order: per stratum its `q[s]` slots of smallest
   * (key, seq) when sampled (every slot otherwise). The slots are ordered by typed-array
   * sorts of numbers that encode them (a key for the quota's threshold; `seq·W + s·max + slot`
   * for the arrival order) when those are exact doubles, else by comparisons.
   */
  private picks(all: Stratum[], q: number[], sampled: boolean): { s: Int32Array; slot: Int32Array } {
    const max = this.maxPoints;
    const W = Math.max(1, all.length) * max;
    let n = 0;
    for (let s = 0; s < all.length; s++) n += sampled ? Math.min(q[s], all[s].size) : all[s].size;
    const outS = new Int32Array(n);
    const outSlot = new Int32Array(n);
    if (this.total * W >= 2 ** 52) {
      // too many points for the encoding: the comparison sorts
      const picks: { s: number; slot: number; seq: number }[] = [];
      for (let s = 0; s < all.length; s++) {
        const st = all[s];
        const slots = Array.from({ length: st.size }, (_, i) => i);
        if (sampled) {
          slots.sort((a, b) => st.keys[a] - st.keys[b] || st.seqs[a] - st.seqs[b]);
          slots.length = q[s];
        }
        for (const slot of slots) picks.push({ s, slot, seq: st.seqs[slot] });
      }
      picks.sort((a, b) => a.seq - b.seq);
      picks.forEach((p, i) => {
        outS[i] = p.s;
        outSlot[i] = p.slot;
      });
      return { s: outS, slot: outSlot };
    }
    const code = new Float64Array(n);
    let j = 0;
    for (let s = 0; s < all.length; s++) {
      const st = all[s];
      const base = s * max;
      if (!sampled || q[s] >= st.size) {
        for (let slot = 0; slot < st.size; slot++) code[j++] = st.seqs[slot] * W + base + slot;
        continue;
      }
      if (q[s] <= 0) continue;
      // the q-th smallest key; every slot below it is kept, and of those equal to it the earliest
      const sorted = st.keys.slice(0, st.size).sort();
      const kq = sorted[q[s] - 1];
      let below = 0;
      for (let i = 0; i < q[s] && sorted[i] < kq; i++) below++;
      let ties: number[] | null = null;
      for (let slot = 0; slot < st.size; slot++) {
        const key = st.keys[slot];
        if (key < kq) code[j++] = st.seqs[slot] * W + base + slot;
        else if (key === kq) (ties ??= []).push(slot);
      }
      ties!.sort((a, b) => st.seqs[a] - st.seqs[b]);
      for (let t = 0; t < q[s] - below; t++) code[j++] = st.seqs[ties![t]] * W + base + ties![t];
    }
    code.sort();
    for (let i = 0; i < n; i++) {
      const c = code[i];
      const rest = c % W;
      outS[i] = Math.floor(rest / max);
      outSlot[i] = rest - outS[i] * max;
    }
    return { s: outS, slot: outSlot };
  }

  /**
   * Quotas per stratum (largest-remainder rounding of `M·c_s/T`; see the file header).
   */
  quotas(): number[] {
    const T = this.total;
    const M = this.maxPoints;
    if (T <= M) return this.counts.slice();
    const q = this.counts.map((c) => Math.floor((M * c) / T));
    // exact integer arithmetic: M·c ≤ M·T stays below 2^53 for any realistic stream
    for (let s = 0; s < q.length; s++) {
      while (q[s] * T > M * this.counts[s]) q[s]--;
      while ((q[s] + 1) * T <= M * this.counts[s]) q[s]++;
    }
    let left = M - q.reduce((a, b) => a + b, 0);
    const order = q.map((_, s) => s).sort((a, b) => {
      const ra = M * this.counts[a] - q[a] * T;
      const rb = M * this.counts[b] - q[b] * T;
      return rb - ra || a - b;
    });
    for (let t = 0; left > 0; t++, left--) q[order[t]]++;
    return q;
  }

  /** The sample (see the file header). Does not consume the sampler: more points may follow. */
  finish(): SampleResult {
    const dim = this.dim;
    const names = this.extraNames ?? [];
    const all = this.strata ?? [];
    const q = this.quotas();
    const sampled = this.total > this.maxPoints;
    const picks = this.picks(all, q, sampled);
    const n = picks.s.length;
    const points = new Float32Array(n * dim);
    const strata = new Int32Array(n);
    const seq = new Float64Array(n);
    const extras: { [name: string]: SideArray } = {};
    const outExtras = this.extraCtors.map((C) => new C(n));
    names.forEach((name, e) => (extras[name] = outExtras[e]));
    for (let i = 0; i < n; i++) {
      const s = picks.s[i];
      const slot = picks.slot[i];
      const st = all[s];
      points.set(st.points.subarray(slot * dim, (slot + 1) * dim), i * dim);
      strata[i] = s;
      seq[i] = st.seqs[slot];
      for (let e = 0; e < outExtras.length; e++) outExtras[e][i] = st.extras[e][slot];
    }
    const kept = new Array(this.numStrata).fill(0);
    for (let i = 0; i < n; i++) kept[strata[i]]++;
    return {
      n,
      dim,
      points,
      strata,
      seq,
      extras,
      total: this.total,
      totalPerStratum: this.counts.slice(),
      keptPerStratum: kept,
      sampled,
      nonFinite: this.nonFinite,
    };
  }
}
