/**
 * The synthetic shifts and output statistics of METHOD.md §5 vs reference values from
 * NumPy / SciPy (test/fixtures/shift-reference.json, made by scripts/make_shift_references.py):
 *
 * - transforms.ts: `gaussianKernel` and `gaussianFilter` vs scipy.ndimage (mode='reflect',
 *   truncate=4.0; 1-D, 2-D, 3-D, an axis of length 1, radii several times the image), and
 *   `applyShift` (blur / gamma / contrast / scale on float32 images, per-channel and shared
 *   normalisation, a constant channel) vs the NumPy formulas of the file header. Noise cannot
 *   match NumPy's RNG: its added values are checked statistically, with bounds of 5 standard
 *   errors for the sample size, plus determinism and distinct streams; `sweepShifts`,
 *   `noiseSeed`.
 * - outputStats.ts: `OutputStatsAccumulator` vs scipy.special.softmax / expit and
 *   scipy.stats.entropy, with logits ±80 and ±800 and probabilities exactly 0 and 1.
 * - confidence.ts: `knnDice` vs a NumPy implementation of its documented formula.
 *
 * Run: node --import tsx --test test/unit/shifts.test.ts
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { applyShift, gaussianFilter, gaussianKernel, noiseSeed, shiftLabel, sweepShifts, DEFAULT_STRENGTHS, MIX_ORDER, type Shift } from '../../src/engine/shift/transforms';
import { OutputStatsAccumulator, buildTrainReference, knnDice, MetricArgumentError, Prng, type KnnResult } from '../../src/engine/metrics';
import { SHIFT_FAMILIES, type ShiftFamily } from '../../src/engine/types';
import { agreementTracker } from '../helpers';

const REF = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'shift-reference.json'), 'utf8'));

function f32(b64: string): Float32Array {
  const buf = Buffer.from(b64, 'base64');
  const out = new Float32Array(buf.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

/** Worst relative errors seen per comparison family, printed at the end. */
const { agreement, note, rel, assertClose } = agreementTracker();
/**
 * Element-wise relative error of two arrays; an element's error is measured against
 * max(|expected|, floor · max|expected|) so that values near 0 (after a mean subtraction)
 * are held to the array's own scale times `floor`.
 */
function assertArrayClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string, key: string, floor = 1e-3): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Number.isFinite(actual[i]), `${what}[${i}] is ${actual[i]}`);
    const d = Math.abs(actual[i] - expected[i]);
    const e = d === 0 ? 0 : d / Math.max(Math.abs(expected[i]), floor * scale, 1e-300);
    if (e > worst) {
      worst = e;
      at = i;
    }
  }
  note(key, worst);
  assert.ok(worst <= tol, `${what}: element ${at}: ${actual[at]} vs ${expected[at]} (relative error ${worst.toExponential(2)} > ${tol})`);
}

after(() => {
  const lines = Object.entries(agreement).map(([k, v]) => `  ${k}: ${v.toExponential(2)}`);
  console.log(`\nagreement with the references (shift-reference.json; max relative error, noise: max deviation in standard errors):\n${lines.join('\n')}`);
});

// ───────────── transforms.ts ─────────────

describe('gaussianKernel vs scipy.ndimage.gaussian_filter1d (truncate=4.0)', () => {
  for (const k of REF.gaussian.kernels) {
    it(`sigma ${k.sigma}: radius floor(4σ + 0.5) and weights`, () => {
      const w = gaussianKernel(k.sigma);
      assert.equal(w.length, k.weights.length, 'kernel length 2·radius + 1');
      assert.equal((w.length - 1) / 2, Math.floor(4 * k.sigma + 0.5));
      assertArrayClose(w, k.weights, 1e-12, `kernel σ=${k.sigma}`, 'gaussianKernel', 0);
    });
  }
});

describe("gaussianFilter vs scipy.ndimage.gaussian_filter(mode='reflect', truncate=4.0)", () => {
  for (const c of REF.gaussian.filters) {
    it(`${c.name}: dims ${c.dims.join('×')}, σ=${c.sigma} (radius ${Math.floor(4 * c.sigma + 0.5)})`, () => {
      const src = Float64Array.from(c.input as number[]);
      const copy = src.slice();
      const out = gaussianFilter(src, c.dims, c.sigma);
      assert.deepEqual(src, copy, 'the input is left unchanged');
      assertArrayClose(out, c.output, 1e-12, c.name, 'gaussianFilter (float64)');
    });
  }
  it('σ = 0 (or not positive) returns an unchanged copy, as gaussian_filter skips such axes', () => {
    const c = REF.gaussian.filters[1];
    const src = Float64Array.from(c.input as number[]);
    for (const s of [0, -1]) {
      const out = gaussianFilter(src, c.dims, s);
      assert.notEqual(out, src);
      assert.deepEqual(out, src);
    }
  });
  it('the "wraps" cases really have a radius beyond twice the axis (else they test nothing new)', () => {
    for (const c of REF.gaussian.filters.filter((x: any) => x.name.includes('wraps'))) {
      const r = Math.floor(4 * c.sigma + 0.5);
      assert.ok(c.dims.every((n: number) => r > 2 * n), `${c.name}: radius ${r} vs dims ${c.dims}`);
    }
  });
});

describe('applyShift vs the NumPy formulas (float32 in/out)', () => {
  for (const img of REF.shifts) {
    for (const c of img.cases) {
      it(`${img.name}: ${c.family} ${c.strength}`, () => {
        const x = f32(img.input);
        applyShift(x, img.C, img.spatial, { family: c.family, strength: c.strength }, { mean: img.mean, std: img.std }, 17);
        assertArrayClose(x, f32(c.output), 1e-6, `${img.name} ${c.family} ${c.strength}`, `applyShift ${c.family} (float32)`);
      });
    }
  }
  it('the constant channel (R = 1) keeps its value under gamma and contrast, and is scaled by scale', () => {
    const img = REF.shifts.find((s: any) => s.name === 'constant-channel');
    assert.equal(img.R[1], 1, 'NumPy: R = 1 for a constant channel');
    const L = img.spatial[0] * img.spatial[1];
    for (const [family, strength, expectedU] of [
      ['gamma', 2.2, 3],
      ['contrast', 0.2, 3],
      ['scale', 1.6, 4.8],
    ] as const) {
      const x = f32(img.input);
      applyShift(x, img.C, img.spatial, { family, strength }, { mean: img.mean, std: img.std });
      for (let i = 0; i < L; i++) assertClose(x[L + i] * img.std[1] + img.mean[1], expectedU, 1e-6, `${family} constant channel`);
    }
  });
  it("'none' leaves the image bit for bit; a wrong size throws", () => {
    const img = REF.shifts[0];
    const x = f32(img.input);
    applyShift(x, img.C, img.spatial, { family: 'none', strength: 0 }, { mean: img.mean, std: img.std }, 3);
    assert.deepEqual(x, f32(img.input));
    assert.throws(() => applyShift(new Float32Array(7), 1, [2, 3], { family: 'scale', strength: 2 }, { mean: [0], std: [1] }), /expected 1×2×3/);
  });
  it('families other than noise ignore the seed', () => {
    const img = REF.shifts[0];
    for (const family of ['blur', 'gamma', 'contrast', 'scale'] as const) {
      const shift = { family, strength: DEFAULT_STRENGTHS[family][2] };
      const a = f32(img.input);
      const b = f32(img.input);
      const c = f32(img.input);
      applyShift(a, img.C, img.spatial, shift, { mean: img.mean, std: img.std }, 1);
      applyShift(b, img.C, img.spatial, shift, { mean: img.mean, std: img.std }, 99);
      applyShift(c, img.C, img.spatial, shift, { mean: img.mean, std: img.std });
      assert.deepEqual(a, b, `${family}: seed 1 vs 99`);
      assert.deepEqual(a, c, `${family}: seed 1 vs default`);
    }
  });
});

describe('applyShift noise: statistics of the added values (5 standard errors)', () => {
  const N = REF.noise;
  const L = N.spatial[0] * N.spatial[1];
  const s = N.strength;
  /** ε = (u' − u) / (s·R_c) per channel, with u = x·std + mean and R_c NumPy's range. */
  function epsilons(seed: number): Float64Array[] {
    const x0 = f32(N.input);
    const x1 = f32(N.input);
    applyShift(x1, N.C, N.spatial, { family: 'noise', strength: s }, { mean: N.mean, std: N.std }, seed);
    const out: Float64Array[] = [];
    for (let c = 0; c < N.C; c++) {
      const e = new Float64Array(L);
      for (let i = 0; i < L; i++) {
        const u = x0[c * L + i] * N.std[c] + N.mean[c];
        const u1 = x1[c * L + i] * N.std[c] + N.mean[c];
        e[i] = (u1 - u) / (s * N.R[c]);
      }
      out.push(e);
    }
    return out;
  }
  const mean = (a: Float64Array) => a.reduce((p, q) => p + q, 0) / a.length;
  const sd = (a: Float64Array) => {
    const m = mean(a);
    return Math.sqrt(a.reduce((p, q) => p + (q - m) ** 2, 0) / (a.length - 1));
  };
  const corr = (a: Float64Array, b: Float64Array) => {
    const ma = mean(a);
    const mb = mean(b);
    let sab = 0;
    let saa = 0;
    let sbb = 0;
    for (let i = 0; i < a.length; i++) {
      sab += (a[i] - ma) * (b[i] - mb);
      saa += (a[i] - ma) ** 2;
      sbb += (b[i] - mb) ** 2;
    }
    return sab / Math.sqrt(saa * sbb);
  };

  it('the fixture channels have very different ranges (R ≈ 1, ≈ 200, and 1 for the constant one)', () => {
    assert.ok(N.R[0] > 0.9 && N.R[0] < 1.01, `R0 = ${N.R[0]}`);
    assert.ok(N.R[1] > 190 && N.R[1] < 201, `R1 = ${N.R[1]}`);
    assert.equal(N.R[2], 1);
    assert.equal(N.lo[2], N.hi[2]);
  });

  for (const seed of [0, 1, noiseSeed(0, 3, 5)]) {
    it(`seed ${seed}: per channel, ε has mean 0, std 1, 68.3 % within ±1 and no lag-1 correlation`, () => {
      const eps = epsilons(seed);
      const n = L;
      const seMean = 1 / Math.sqrt(n);
      const seSd = 1 / Math.sqrt(2 * (n - 1));
      const p1 = 0.682689492137086; // P(|Z| < 1)
      const seP = Math.sqrt((p1 * (1 - p1)) / n);
      for (let c = 0; c < N.C; c++) {
        const e = eps[c];
        const m = mean(e);
        const d = sd(e);
        const within = e.reduce((p, q) => p + (Math.abs(q) < 1 ? 1 : 0), 0) / n;
        const lag = corr(e.subarray(0, n - 1), e.subarray(1));
        assert.ok(Math.abs(m) <= 5 * seMean, `channel ${c}: mean ${m} beyond ±${5 * seMean}`);
        assert.ok(Math.abs(d - 1) <= 5 * seSd, `channel ${c}: std ${d} (as a share of s·R) beyond 1 ± ${5 * seSd}`);
        assert.ok(Math.abs(within - p1) <= 5 * seP, `channel ${c}: share within ±1σ ${within} vs ${p1} ± ${5 * seP}`);
        assert.ok(Math.abs(lag) <= 5 / Math.sqrt(n - 1), `channel ${c}: lag-1 correlation ${lag}`);
        note(`noise |std − 1| / SE (≤ 5)`, Math.abs(d - 1) / seSd);
        note(`noise |mean| / SE (≤ 5)`, Math.abs(m) / seMean);
      }
      // Channels draw different values (one stream runs on across channels).
      assert.ok(Math.abs(corr(eps[0], eps[1])) <= 5 / Math.sqrt(n - 1), 'channels 0 and 1 correlated');
    });
  }

  it('is deterministic for a seed; different seeds give independent streams', () => {
    const a = epsilons(42);
    const b = epsilons(42);
    const c = epsilons(43);
    for (let ch = 0; ch < N.C; ch++) {
      assert.deepEqual(a[ch], b[ch], `channel ${ch}: same seed, same noise`);
      assert.notDeepEqual(a[ch], c[ch]);
      assert.ok(Math.abs(corr(a[ch], c[ch])) <= 5 / Math.sqrt(L - 1), `channel ${ch}: seeds 42 and 43 correlated`);
    }
  });
});

describe('mixed shifts', () => {
  it('sweepShifts(families, mixes, seed): the single-family copies, then `mixes` seeded combinations of 2–3 families at one of their 3 mildest strengths, in MIX_ORDER', () => {
    const plain = sweepShifts();
    const sw = sweepShifts(SHIFT_FAMILIES, 12, 5);
    assert.deepEqual(sw.slice(0, plain.length), plain);
    const mixes = sw.slice(plain.length);
    assert.equal(mixes.length, 12);
    for (const m of mixes) {
      assert.equal(m.family, 'mix');
      assert.equal(m.strength, 0);
      const fams = m.parts!.map((p) => p.family);
      assert.ok(fams.length === 2 || fams.length === 3, `${fams}`);
      assert.equal(new Set(fams).size, fams.length, 'distinct families');
      assert.deepEqual(fams, MIX_ORDER.filter((f) => fams.includes(f)), 'in MIX_ORDER');
      for (const p of m.parts!) assert.ok(DEFAULT_STRENGTHS[p.family].slice(0, 3).includes(p.strength), `${p.family} ${p.strength}`);
      assert.equal(shiftLabel(m), m.parts!.map((p) => shiftLabel(p)).join(' + '));
    }
    assert.deepEqual(sweepShifts(SHIFT_FAMILIES, 12, 5), sw, 'the same seed gives the same mixes');
    assert.notDeepEqual(sweepShifts(SHIFT_FAMILIES, 12, 6).slice(plain.length), mixes, 'another seed, other mixes');
    assert.equal(sweepShifts(['noise'] as ShiftFamily[], 5).length, 4, 'one family: no mixes');
    const two = sweepShifts(['gamma', 'blur'] as ShiftFamily[], 4, 1).slice(7);
    for (const m of two) assert.deepEqual(m.parts!.map((p) => p.family), ['blur', 'gamma']);
  });

  it('applyShift of a mix = its parts applied one after the other (same noise seed)', () => {
    const rng = new Prng(3);
    const x = Float32Array.from({ length: 2 * 9 * 7 }, () => rng.next() * 200);
    const mix: Shift = { family: 'mix', strength: 0, parts: [{ family: 'blur', strength: 1.2 }, { family: 'gamma', strength: 0.7 }, { family: 'noise', strength: 0.08 }] };
    const norm = { mean: [10, 20], std: [50, 40] };
    const a = x.slice();
    applyShift(a, 2, [9, 7], mix, norm, 77);
    const b = x.slice();
    for (const p of mix.parts!) applyShift(b, 2, [9, 7], p, norm, 77);
    assert.deepEqual(a, b);
    assert.ok(a.some((v, i) => v !== x[i]));
  });
});

describe('sweepShifts and noiseSeed', () => {
  it('default sweep: the unshifted copy, then each family (SHIFT_FAMILIES order) with its three strengths', () => {
    const sw = sweepShifts();
    assert.equal(sw.length, 1 + 10 * 3);
    const expected: Shift[] = [{ family: 'none', strength: 0 }];
    for (const f of SHIFT_FAMILIES) for (const s of DEFAULT_STRENGTHS[f]) expected.push({ family: f, strength: s });
    assert.deepEqual(sw, expected);
    // The assemble fixture was generated in the same family order (the five intensity families, four strengths of its own each).
    assert.deepEqual(
      [...new Set(REF.assemble.copies.map((c: any) => c.family))],
      [...new Set(sweepShifts(['noise', 'blur', 'gamma', 'contrast', 'scale']).map((s) => s.family))],
    );
  });
  it('a subset keeps the SHIFT_FAMILIES order whatever the order asked; none → only the unshifted copy', () => {
    const sw = sweepShifts(['scale', 'noise'] as ShiftFamily[]);
    assert.deepEqual(
      sw.map((s) => s.family),
      ['none', 'noise', 'noise', 'noise', 'scale', 'scale', 'scale'],
    );
    assert.deepEqual(sweepShifts([]), [{ family: 'none', strength: 0 }]);
  });
  it('noiseSeed: uint32, deterministic, distinct over seeds × copies × images', () => {
    const seen = new Set<number>();
    let count = 0;
    for (const seed of [0, 1, 42, 2 ** 31 - 1]) {
      for (let copy = 0; copy < 21; copy++) {
        for (let image = 0; image < 128; image++) {
          const v = noiseSeed(seed, copy, image);
          assert.ok(Number.isInteger(v) && v >= 0 && v < 2 ** 32, `noiseSeed(${seed}, ${copy}, ${image}) = ${v}`);
          assert.equal(noiseSeed(seed, copy, image), v);
          seen.add(v);
          count++;
        }
      }
    }
    assert.equal(seen.size, count, 'collisions between noise streams');
  });
});

// ───────────── outputStats.ts ─────────────

describe('OutputStatsAccumulator vs scipy.special.softmax / expit and scipy.stats.entropy', () => {
  for (const c of REF.outputStats) {
    it(`${c.name} (${c.pixels} pixels)`, () => {
      const acc = new OutputStatsAccumulator();
      for (const im of c.images) acc.add(f32(im.data), im.dims, c.activation);
      const r = acc.result();
      assert.ok(r);
      assert.ok(Number.isFinite(r.maxProbability) && Number.isFinite(r.entropy));
      assertClose(r.maxProbability, c.maxProbability, 1e-9, `${c.name} maxProbability`, `outputStats maxProbability (${c.activation})`);
      assertClose(r.entropy, c.entropy, 1e-9, `${c.name} entropy`, `outputStats entropy (${c.activation})`);
      assert.equal(r.foreground, c.foreground, `${c.name} foreground share (argmax ≠ 0; one channel: p > 0.5)`);
    });
  }
  it('averages over pixels, not over images (images of different sizes)', () => {
    const c = REF.outputStats.find((x: any) => x.images.length === 2 && x.activation === 'softmax');
    const [a, b] = c.images;
    const accA = new OutputStatsAccumulator();
    accA.add(f32(a.data), a.dims, 'softmax');
    const accB = new OutputStatsAccumulator();
    accB.add(f32(b.data), b.dims, 'softmax');
    const La = a.dims.slice(1).reduce((p: number, q: number) => p * q, 1);
    const Lb = b.dims.slice(1).reduce((p: number, q: number) => p * q, 1);
    assert.notEqual(La, Lb);
    const pooled = (accA.result()!.entropy * La + accB.result()!.entropy * Lb) / (La + Lb);
    assertClose(pooled, c.entropy, 1e-9, 'pixel-weighted pooling');
  });
  it('single pixels: one-hot logits ±800 give max 1, entropy 0; equal logits give 1/K and ln K', () => {
    const acc = new OutputStatsAccumulator();
    acc.add(Float32Array.from([800, -800, -800]), [3, 1], 'softmax');
    assert.deepEqual(acc.result(), { maxProbability: 1, entropy: 0, foreground: 0 });
    const eq = new OutputStatsAccumulator();
    eq.add(Float32Array.from([2, 2, 2, 2]), [4, 1], 'softmax');
    assertClose(eq.result()!.maxProbability, 0.25, 1e-15, 'uniform max');
    assertClose(eq.result()!.entropy, Math.log(4), 1e-15, 'uniform entropy');
    const pr = new OutputStatsAccumulator();
    pr.add(Float32Array.from([0, 1, -3, 7]), [1, 4], 'probability');
    assert.deepEqual(pr.result(), { maxProbability: 1, entropy: 0, foreground: 0.5 });
  });
  it('no pixels → null', () => {
    assert.equal(new OutputStatsAccumulator().result(), null);
  });
});

// ───────────── confidence.ts knnDice ─────────────

describe('knnDice vs a NumPy implementation of its formula', () => {
  function refFor(labels: number[], n: number) {
    const r = new Prng(5);
    const pts = new Float32Array(n * 2);
    for (let i = 0; i < pts.length; i++) pts[i] = r.normal();
    return buildTrainReference({ points: pts, n, dim: 2, labels: Int32Array.from(labels), k: 3 });
  }
  function nbOf(indices: number[], nq: number, k: number): KnnResult {
    return { indices: Int32Array.from(indices), distances: new Float64Array(nq * k), k, nq, candidatesPerQuery: k };
  }
  for (const c of REF.knnDice) {
    it(`${c.name}: K=${c.K}, k=${c.k}, ${c.nq} queries (${c.note})`, () => {
      const ref = refFor(c.labels, c.n);
      const v = knnDice({ ref, neighbors: nbOf(c.indices, c.nq, c.k), predicted: Int32Array.from(c.predicted), numClasses: c.K });
      assert.ok(v !== null);
      if (c.value === 0) assert.equal(v, 0);
      else assertClose(v, c.value, 1e-12, c.name, 'knnDice');
    });
  }
  it('fixture sanity: the cases exercise a class with Dice 0 and a non-trivial value', () => {
    const absent = REF.knnDice.find((c: any) => c.name === 'K3-absent-class');
    assert.equal(absent.perClass[2], 0);
    assert.ok(absent.perClass[1] > 0);
  });
  it('null without neighbours or query points, or with fewer than 2 classes; throws without train labels', () => {
    const c = REF.knnDice[0];
    const ref = refFor(c.labels, c.n);
    assert.equal(knnDice({ ref, neighbors: nbOf([], 4, 0), predicted: new Int32Array(4), numClasses: 2 }), null);
    assert.equal(knnDice({ ref, neighbors: nbOf([], 0, 3), predicted: new Int32Array(0), numClasses: 2 }), null);
    assert.equal(knnDice({ ref, neighbors: nbOf([0, 1, 2], 1, 3), predicted: new Int32Array(1), numClasses: 1 }), null);
    const noLabels = buildTrainReference({ points: ref.points, n: ref.n, dim: 2, k: 3 });
    assert.throws(
      () => knnDice({ ref: noLabels, neighbors: nbOf([0, 1, 2], 1, 3), predicted: new Int32Array(1), numClasses: 2 }),
      (e: unknown) => e instanceof MetricArgumentError && e.argument === 'ref',
    );
    assert.throws(
      () => knnDice({ ref, neighbors: nbOf([0, 1, c.n], 1, 3), predicted: new Int32Array(1), numClasses: 2 }),
      (e: unknown) => e instanceof MetricArgumentError && e.argument === 'neighbors',
    );
  });
});
