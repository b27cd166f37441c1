/**
 * A small seeded pseudo-random generator: xoshiro128** (Blackman & Vigna, 2018), 128 bits of
 * state, seeded from one integer through splitmix32. Deterministic across platforms (only
 * 32-bit integer arithmetic via `Math.imul` and `>>>`).
 *
 * - `nextUint32()`: uniform integer in [0, 2^32).
 * - `next()`: uniform double in [0, 1) with 53 random bits: `((a >>> 5)·2^26 + (b >>> 6)) / 2^53`
 *   from two consecutive outputs a, b.
 * - `int(n)`: uniform integer in [0, n), unbiased (rejection of the top partial range).
 *
 * Pure: no `vscode`, no I/O.
 */

const TWO_POW_26 = 67108864;
const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

function splitmix32(state: number): [number, number] {
  state = (state + 0x9e3779b9) | 0;
  let z = state;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [state, z >>> 0];
}

export class Prng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  /**
   * @param seed any finite number; its integer part modulo 2^32 and (for larger seeds) the
   * high bits are mixed in, so seeds 0, 1, 2… give unrelated streams.
   */
  constructor(seed: number) {
    if (typeof seed !== 'number' || !Number.isFinite(seed)) {
      throw new RangeError(`Prng: argument 'seed' must be a finite number, got ${String(seed)}`);
    }
    const t = Math.trunc(seed);
    const lo = t >>> 0;
    const hi = Math.floor(t / TWO_POW_32) >>> 0;
    let st = (lo ^ Math.imul(hi, 0x27d4eb2d)) | 0;
    let z: number;
    [st, z] = splitmix32(st);
    this.s0 = z;
    [st, z] = splitmix32(st);
    this.s1 = z;
    [st, z] = splitmix32(st);
    this.s2 = z;
    [st, z] = splitmix32(st);
    this.s3 = z;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // never the all-zero state
  }

  /** Uniform integer in [0, 2^32). */
  nextUint32(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 bits of randomness. */
  next(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * TWO_POW_26 + b) / TWO_POW_53;
  }

  /**
   * Writes the next `m` values of `next()` to `out[0 … m)`: the same stream as m calls of
   * `next()`, in one loop with the state in locals (the sampler draws one key per location).
   */
  fillNext(out: Float64Array, m: number): void {
    let s0 = this.s0;
    let s1 = this.s1;
    let s2 = this.s2;
    let s3 = this.s3;
    for (let i = 0; i < m; i++) {
      // nextUint32, twice (a, then b), exactly as `next()`
      let x = Math.imul(s1, 5);
      const a = Math.imul((x << 7) | (x >>> 25), 9) >>> 5;
      let t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      x = Math.imul(s1, 5);
      const b = Math.imul((x << 7) | (x >>> 25), 9) >>> 6;
      t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      out[i] = (a * TWO_POW_26 + b) / TWO_POW_53;
    }
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
  }

  /** Uniform integer in [0, n) for an integer n ≥ 1 (unbiased). */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`Prng.int: argument 'n' must be an integer >= 1, got ${n}`);
    if (n <= TWO_POW_32) {
      // Reject the last partial block of 2^32 so that every residue is equally likely.
      const limit = TWO_POW_32 - (TWO_POW_32 % n);
      let r = this.nextUint32();
      while (r >= limit) r = this.nextUint32();
      return r % n;
    }
    return Math.floor(this.next() * n);
  }

  /** Standard normal deviate (Box–Muller, one value per call). */
  normal(): number {
    let u = this.next();
    while (u === 0) u = this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
