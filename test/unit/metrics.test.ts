/**
 * Metric functions vs reference values from NumPy / scikit-learn / SciPy / scikit-image
 * (test/fixtures/metrics-reference.json, made by scripts/make_metric_references.py), plus
 * edge cases. Run: node --import tsx --test test/unit/metrics.test.ts
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { agreementTracker } from '../helpers';
import { REF, SETS, f32, f64 } from '../metricsReference';
import {
  Prng,
  median,
  mean,
  spearman,
  pearson,
  rankData,
  poolLabels,
  poolPredictions,
  predictedLabels,
  axisBlocks,
  centreIndexMap,
  StratifiedSampler,
  daviesBouldin,
  fitPca,
  project,
  symmetricEigen,
  lanczosTop,
  LANCZOS_MIN_DIM,
  knnSearch,
  knnSearchAsync,
  knnBruteForce,
  gemmNT,
  buildTrainReference,
  buildTrainReferenceAsync,
  neighborsInTrain,
  knnConfidence,
  featureShift,
  kMeans,
  kMeansAsync,
  roughness,
  roughnessAsync,
  SegmentationAccumulator,
  AccuracyAccumulator,
  RegressionAccumulator,
  ssim,
  psnr,
  segmentationPerformance,
  MetricArgumentError,
} from '../../src/engine/metrics';

// ───────────── fixture: REF, SETS (test/metricsReference.ts) ─────────────

/** Worst relative errors seen per comparison family, printed at the end. */
const { agreement, note, rel, assertClose } = agreementTracker();
function throwsArg(fn: () => unknown, argument: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MetricArgumentError, `expected MetricArgumentError, got ${String(e)}`);
    assert.equal((e as MetricArgumentError).argument, argument);
    assert.match((e as Error).message, new RegExp(`'${argument.replace(/[.[\]]/g, '\\$&')}'`));
    return true;
  });
}

function randomPoints(seed: number, n: number, dim: number, opts: { offset?: number; quant?: number; scale?: number } = {}): Float32Array {
  const r = new Prng(seed);
  const a = new Float32Array(n * dim);
  for (let i = 0; i < a.length; i++) {
    let v = r.normal() * (opts.scale ?? 1) + (opts.offset ?? 0);
    if (opts.quant) v = Math.round(v * opts.quant) / opts.quant;
    a[i] = v;
  }
  return a;
}

after(() => {
  const lines = Object.entries(agreement).map(([k, v]) => `  ${k}: max relative error ${v.toExponential(2)}`);
  console.log(`\nagreement with the references:\n${lines.join('\n')}`);
});

// ───────────── prng ─────────────

describe('prng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = new Prng(7);
    const b = new Prng(7);
    const c = new Prng(8);
    const xa = Array.from({ length: 20 }, () => a.nextUint32());
    const xb = Array.from({ length: 20 }, () => b.nextUint32());
    const xc = Array.from({ length: 20 }, () => c.nextUint32());
    assert.deepEqual(xa, xb);
    assert.notDeepEqual(xa, xc);
  });
  it('next() is in [0, 1) with mean ~1/2; int(n) covers [0, n) evenly', () => {
    const r = new Prng(1);
    let s = 0;
    for (let i = 0; i < 100000; i++) {
      const v = r.next();
      assert.ok(v >= 0 && v < 1);
      s += v;
    }
    assert.ok(Math.abs(s / 100000 - 0.5) < 0.01);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70000; i++) counts[r.int(7)]++;
    for (const c of counts) assert.ok(Math.abs(c - 10000) < 500, `int(7) counts ${counts}`);
    assert.equal(r.int(1), 0);
    assert.throws(() => r.int(0), /'n'/);
    assert.throws(() => new Prng(NaN), /'seed'/);
  });
});

// ───────────── stats ─────────────

describe('stats', () => {
  it('median equals numpy.median', () => {
    for (const c of REF.median) assertClose(median(c.values), c.median, 0, `median of ${c.values.length}`, 'median (numpy)');
    // against a sort, many sizes
    const r = new Prng(3);
    for (let n = 1; n < 60; n++) {
      const v = Array.from({ length: n }, () => Math.round(r.normal() * 3));
      const s = v.slice().sort((a, b) => a - b);
      const m = n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
      assert.ok(median(v) === m, `median of ${v}`);
    }
  });
  it('median / mean reject empty and NaN input', () => {
    throwsArg(() => median([]), 'values');
    throwsArg(() => median([1, NaN, 2]), 'values');
    throwsArg(() => mean([1, Infinity]), 'values');
    assert.equal(mean([1, 2, 3, 4]), 2.5);
  });
  it('spearman equals scipy.stats.spearmanr (average ranks for ties)', () => {
    for (const c of REF.spearman) {
      const rho = spearman(c.x, c.y);
      if (c.rho === null) assert.equal(rho, null);
      else assertClose(rho as number, c.rho, 1e-12, `spearman n=${c.x.length}`, 'spearman (scipy)');
    }
    assert.deepEqual(Array.from(rankData([3, 1, 3, 2])), [3.5, 1, 3.5, 2]);
    assertClose(pearson([1, 2], [2, 4]) as number, 1, 1e-15, 'pearson'); // numpy: 0.9999999999999999
    assert.equal(spearman([1], [2]), null);
    throwsArg(() => spearman([1, 2, 3], [1, 2]), 'y');
    throwsArg(() => spearman([1, NaN], [1, 2]), 'x');
  });
});

// ───────────── pooling ─────────────

describe('pooling', () => {
  it('poolLabels equals the NumPy block-rule reference (2D, 3D, 1D, non-integer ratios, up-sampling, ties, unlabelled)', () => {
    for (const c of REF.pooling) {
      const got = poolLabels(Int32Array.from(c.mask), c.inDims, c.outDims, c.numClasses);
      assert.deepEqual(Array.from(got), c.expected, `pool ${c.inDims} -> ${c.outDims}`);
    }
  });
  it('predictedLabels (argmax, ties low) + poolPredictions equal the reference', () => {
    const c = REF.pooling.find((p: any) => p.logits);
    const logits = f32(c.logits);
    const pred = predictedLabels(logits, [3, 10, 10], 'softmax');
    assert.deepEqual(Array.from(pred), c.mask);
    assert.deepEqual(Array.from(poolPredictions(pred, [10, 10], [4, 4], 3)), c.expected);
    assert.deepEqual(Array.from(predictedLabels(new Float32Array([1, 1, 0.5, 0.5]), [2, 2], 'softmax')), [0, 0]);
    assert.deepEqual(Array.from(predictedLabels(new Float32Array([-1, 0, 0.1, 3]), [1, 4], 'sigmoid')), [0, 0, 1, 1]);
    assert.deepEqual(Array.from(predictedLabels(new Float32Array([0.2, 0.5, 0.51, 1]), [1, 2, 2], 'probability')), [0, 0, 1, 1]);
    throwsArg(() => predictedLabels(new Float32Array([NaN, 1]), [2, 1], 'softmax'), 'output');
    throwsArg(() => predictedLabels(new Float32Array([1, 1]), [2, 1], 'sigmoid'), 'mode');
  });
  it('blocks partition the axis (down) and take the centre pixel (up)', () => {
    for (let S = 1; S <= 40; S++) {
      for (let T = 1; T <= 40; T++) {
        const { start, end } = axisBlocks(S, T);
        if (T <= S) {
          assert.equal(start[0], 0);
          assert.equal(end[T - 1], S);
          for (let i = 0; i < T; i++) {
            assert.ok(end[i] > start[i]);
            if (i > 0) assert.equal(start[i], end[i - 1]);
            assert.ok(end[i] - start[i] === Math.floor(S / T) || end[i] - start[i] === Math.ceil(S / T));
          }
        } else {
          for (let i = 0; i < T; i++) {
            assert.equal(end[i] - start[i], 1);
            const centre = ((i + 0.5) * S) / T;
            assert.ok(start[i] <= centre && centre < start[i] + 1);
          }
        }
      }
    }
  });
  it('majority with ties to the lower class; mixed up/down axes; 3D', () => {
    // 2×2 blocks: [0,1,1,0] tie -> 0; [2,2,1,0] -> 2
    const mask = Int32Array.from([0, 1, 2, 2, 1, 0, 1, 0]);
    assert.deepEqual(Array.from(poolLabels(mask, [2, 4], [1, 2], 3)), [0, 2]);
    // up-sampling 2 -> 4 along W, down 2 -> 1 along H
    const m2 = Int32Array.from([1, 0, 1, 2]);
    assert.deepEqual(Array.from(poolLabels(m2, [2, 2], [1, 4], 3)), [1, 1, 0, 0]);
    // identity
    const m3 = Int32Array.from({ length: 24 }, (_, i) => i % 3);
    assert.deepEqual(Array.from(poolLabels(m3, [2, 3, 4], [2, 3, 4], 3)), Array.from(m3));
    // identity with unlabelled pixels (any negative value) -> -1, as a one-pixel block; uint8
    assert.deepEqual(Array.from(poolLabels(Int32Array.from([-5, 1, -1, 0, 2]), [5], [5], 3)), [-1, 1, -1, 0, 2]);
    assert.deepEqual(Array.from(poolLabels(Uint8Array.from([1, 0, 1, 1]), [2, 2], [2, 2], 2)), [1, 0, 1, 1]);
    // uint8 masks, all unlabelled block -> -1
    assert.deepEqual(Array.from(poolLabels(Int32Array.from([-1, -1, 1, 1]), [4], [2], 2)), [-1, 1]);
    assert.deepEqual(Array.from(poolLabels(Uint8Array.from([1, 1, 0, 1]), [2, 2], [1, 1], 2)), [1]);
  });
  it('validates its arguments', () => {
    throwsArg(() => poolLabels(Int32Array.from([0, 3]), [2], [1], 3), 'mask');
    throwsArg(() => poolLabels(Int32Array.from([0, 1]), [3], [1], 3), 'mask');
    throwsArg(() => poolLabels(Int32Array.from([0, 1]), [2], [1, 1], 3), 'outDims');
    throwsArg(() => poolLabels(Int32Array.from([0, 1]), [2], [0], 3), 'outDims[0]');
    throwsArg(() => poolLabels(new Float32Array([0, 1]) as any, [2], [1], 3), 'mask');
  });
  it('centreIndexMap: the cell containing each centre', () => {
    assert.deepEqual(Array.from(centreIndexMap([4], [2])), [1, 3]);
    assert.deepEqual(Array.from(centreIndexMap([2], [4])), [0, 0, 1, 1]);
    assert.deepEqual(Array.from(centreIndexMap([3, 3], [1, 1])), [4]);
    assert.deepEqual(Array.from(centreIndexMap([2, 4], [2, 2])), [1, 3, 5, 7]);
  });
});

// ───────────── sampler ─────────────

describe('StratifiedSampler', () => {
  function stream(seed: number, total: number, dim: number, numStrata: number, weights: number[]) {
    const r = new Prng(seed);
    const pts = new Float32Array(total * dim);
    const strata = new Int32Array(total);
    const cum = weights.map(((s) => (w: number) => (s += w))(0));
    for (let i = 0; i < total; i++) {
      const u = r.next() * cum[cum.length - 1];
      strata[i] = cum.findIndex((c) => u < c);
      for (let d = 0; d < dim; d++) pts[i * dim + d] = i + d / 10; // recognisable rows
    }
    return { pts, strata, numStrata };
  }
  it('keeps everything, in arrival order, when total <= maxPoints', () => {
    const { pts, strata } = stream(1, 500, 3, 3, [1, 2, 3]);
    const s = new StratifiedSampler({ maxPoints: 500, dim: 3, seed: 0, numStrata: 3 });
    const img = Int32Array.from({ length: 500 }, (_, i) => i >> 7);
    const loc = Int32Array.from({ length: 500 }, (_, i) => i & 127);
    s.add(pts.subarray(0, 900), strata.subarray(0, 300), { image: img.subarray(0, 300), loc: loc.subarray(0, 300) });
    s.add(pts.subarray(900), strata.subarray(300), { image: img.subarray(300), loc: loc.subarray(300) });
    const r = s.finish();
    assert.equal(r.sampled, false);
    assert.equal(r.n, 500);
    assert.deepEqual(r.points, pts);
    assert.deepEqual(r.strata, strata);
    assert.deepEqual(r.extras.image, img);
    assert.deepEqual(r.extras.loc, loc);
    assert.deepEqual(Array.from(r.seq), Array.from({ length: 500 }, (_, i) => i));
  });
  it('samples maxPoints with largest-remainder quotas, in arrival order, independent of chunking', () => {
    const { pts, strata } = stream(2, 10000, 2, 4, [10, 1, 5, 0.2]);
    const M = 777;
    const run = (chunks: number[]) => {
      const s = new StratifiedSampler({ maxPoints: M, dim: 2, seed: 42, numStrata: 4 });
      let at = 0;
      for (const c of chunks) {
        s.add(pts.subarray(at * 2, (at + c) * 2), strata.subarray(at, at + c), { pred: Int32Array.from(strata.subarray(at, at + c)) });
        at += c;
      }
      return s.finish();
    };
    const a = run([10000]);
    const b = run([1, 999, 4000, 3, 4997]);
    assert.equal(a.n, M);
    assert.deepEqual(a.points, b.points);
    assert.deepEqual(a.seq, b.seq);
    assert.deepEqual(a.extras.pred, a.strata);
    // quotas: floor or ceil of M·c/T, summing to M
    const T = 10000;
    let sum = 0;
    a.keptPerStratum.forEach((q, s) => {
      const exact = (M * a.totalPerStratum[s]) / T;
      assert.ok(q === Math.floor(exact) || q === Math.ceil(exact), `quota ${q} for ${exact}`);
      sum += q;
    });
    assert.equal(sum, M);
    // arrival order and the kept rows are real rows of the stream with their strata
    for (let i = 0; i < a.n; i++) {
      if (i > 0) assert.ok(a.seq[i] > a.seq[i - 1]);
      assert.equal(a.points[i * 2], a.seq[i]);
      assert.equal(a.strata[i], strata[a.seq[i]]);
    }
    // different seed, different sample; same seed, same sample
    const s2 = new StratifiedSampler({ maxPoints: M, dim: 2, seed: 43, numStrata: 4 });
    s2.add(pts, strata, { pred: Int32Array.from(strata) });
    assert.notDeepEqual(s2.finish().seq, a.seq);
  });
  it('is a uniform sample within a stratum (each point kept with probability ~ q/c)', () => {
    const n = 200;
    const hits = new Float64Array(n);
    const pts = Float32Array.from({ length: n }, (_, i) => i);
    const runs = 2000;
    for (let seed = 0; seed < runs; seed++) {
      const s = new StratifiedSampler({ maxPoints: 20, dim: 1, seed });
      s.add(pts);
      for (const v of s.finish().points) hits[v]++;
    }
    const p = 20 / n;
    for (let i = 0; i < n; i++) {
      const sd = Math.sqrt(runs * p * (1 - p));
      assert.ok(Math.abs(hits[i] - runs * p) < 5 * sd, `point ${i} kept ${hits[i]} times, expected ~${runs * p}`);
    }
  });
  it('bounds memory per stratum and validates input', () => {
    const s = new StratifiedSampler({ maxPoints: 50, dim: 4, seed: 0, numStrata: 2 });
    const pts = randomPoints(1, 5000, 4);
    s.add(pts, Int32Array.from({ length: 5000 }, (_, i) => i % 2));
    for (const st of (s as any).strata) assert.ok(st.cap <= 50 && st.points.length <= 50 * 4);
    assert.equal(s.finish().n, 50);
    throwsArg(() => s.add(pts.subarray(0, 8), Int32Array.from([0, 2])), 'strata');
    throwsArg(() => s.add(pts.subarray(0, 7), Int32Array.from([0, 1])), 'points');
    throwsArg(() => s.add(pts.subarray(0, 8)), 'strata');
    throwsArg(() => new StratifiedSampler({ maxPoints: 0, dim: 4, seed: 0 }), 'maxPoints');
    const u = new StratifiedSampler({ maxPoints: 5, dim: 1, seed: 0 });
    u.add(new Float32Array([1, NaN, 3]));
    assert.equal(u.finish().nonFinite, 1);
  });
});

// ───────────── Davies–Bouldin ─────────────

describe('daviesBouldin', () => {
  it('equals sklearn davies_bouldin_score to 1e-6 relative', () => {
    for (const c of REF.db) {
      const s = SETS[c.set];
      const labels = c.labels === 'labels' ? (s.labels as Int32Array) : Int32Array.from(c.labels);
      const v = daviesBouldin(s.points, s.n, s.dim, labels);
      assertClose(v as number, c.value, 1e-6, `db ${c.set}`, 'daviesBouldin (sklearn)');
    }
  });
  it('edge cases: one class -> null, every point its own class -> null, coincident points -> 0, bad input', () => {
    const p = randomPoints(1, 10, 3);
    assert.equal(daviesBouldin(p, 10, 3, new Int32Array(10)), null);
    assert.equal(daviesBouldin(p, 10, 3, Int32Array.from({ length: 10 }, (_, i) => i)), null);
    assert.equal(daviesBouldin(new Float32Array(12), 4, 3, Int32Array.from([0, 0, 1, 1])), 0);
    // dim 1
    const v = daviesBouldin(new Float64Array([0, 1, 10, 11]), 4, 1, Int32Array.from([0, 0, 1, 1]));
    assertClose(v as number, (0.5 + 0.5) / 10, 1e-15, 'db dim 1');
    const bad = p.slice();
    bad[7] = NaN;
    throwsArg(() => daviesBouldin(bad, 10, 3, new Int32Array(10)), 'points');
    throwsArg(() => daviesBouldin(p, 10, 3, new Int32Array(9)), 'labels');
    throwsArg(() => daviesBouldin(p, 11, 3, new Int32Array(11)), 'points');
  });
});

// ───────────── PCA ─────────────

describe('pca', () => {
  it('explained variance ratio equals sklearn PCA(3) to 1e-6 relative; components equal up to sign', () => {
    for (const c of REF.pca) {
      const s = SETS[c.set];
      const m = fitPca(s.points, s.n, s.dim, 3);
      for (let j = 0; j < 3; j++) {
        assertClose(m.explainedVarianceRatio[j], c.explainedVarianceRatio[j], 1e-6, `ratio ${c.set}[${j}]`, 'PCA explained_variance_ratio_ (sklearn)');
        assertClose(m.explainedVariance[j], c.explainedVariance[j], 1e-6, `variance ${c.set}[${j}]`, 'PCA explained_variance_ (sklearn)');
        let dot = 0;
        let maxAbs = 0;
        let maxAt = 0;
        for (let d = 0; d < s.dim; d++) {
          const v = m.components[j * s.dim + d];
          dot += v * c.components[j * s.dim + d];
          if (Math.abs(v) > maxAbs) {
            maxAbs = Math.abs(v);
            maxAt = d;
          }
        }
        note('PCA components (sklearn), | 1 - |cos| |', Math.abs(1 - Math.abs(dot)));
        assert.ok(Math.abs(Math.abs(dot) - 1) < 1e-9, `component ${j} of ${c.set}: |dot| = ${Math.abs(dot)}`);
        assert.ok(m.components[j * s.dim + maxAt] > 0, 'sign convention: largest |coordinate| positive');
      }
      for (let d = 0; d < s.dim; d++) assertClose(m.mean[d], c.mean[d], 1e-12, 'mean');
      // projection = sklearn transform up to the sign of each component
      const y = project(s.points, s.n, s.dim, m);
      for (let i = 0; i < Math.min(s.n, 50); i++) {
        for (let j = 0; j < 3; j++) {
          let t = 0;
          let dot = 0;
          for (let d = 0; d < s.dim; d++) {
            t += (s.points[i * s.dim + d] - c.mean[d]) * c.components[j * s.dim + d];
            dot += m.components[j * s.dim + d] * c.components[j * s.dim + d];
          }
          assert.ok(Math.abs(y[i * 3 + j] - Math.sign(dot) * t) <= 1e-5 * (1 + Math.abs(t)));
        }
      }
    }
  });
  it('handles dim < 3 and n < 3 without NaN', () => {
    const m1 = fitPca(new Float32Array([1, 2, 4]), 3, 1);
    assert.deepEqual(m1.explainedVarianceRatio, [1, 0, 0]);
    assert.equal(m1.components.length, 3);
    const y1 = project(new Float32Array([1, 2, 4]), 3, 1, m1);
    assert.equal(y1.length, 9);
    assert.ok(y1.every((v) => Number.isFinite(v)));
    assert.equal(y1[1], 0);
    const m2 = fitPca(new Float32Array([1, 2, 3, 5]), 2, 2);
    assert.ok(Math.abs(m2.explainedVarianceRatio[0] - 1) < 1e-12 && m2.explainedVarianceRatio[2] === 0);
    for (const n of [0, 1]) {
      const m = fitPca(new Float32Array(n * 5).fill(3), n, 5);
      assert.deepEqual(m.explainedVarianceRatio, [0, 0, 0]);
      assert.ok(m.components.every((v) => Number.isFinite(v)));
      assert.ok(project(new Float32Array(10).fill(1), 2, 5, m).every((v) => Number.isFinite(v)));
    }
    throwsArg(() => fitPca(new Float32Array([1, NaN]), 1, 2), 'points');
    throwsArg(() => project(new Float32Array(4), 2, 2, fitPca(new Float32Array(3), 1, 3)), 'dim');
  });
  it('symmetric eigen-decomposition is accurate (A v = λ v) on a 200×200 matrix', () => {
    const r = new Prng(5);
    const n = 200;
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) A[i * n + j] = A[j * n + i] = r.normal();
    const { values, vectors } = symmetricEigen(A, n);
    let worst = 0;
    for (let j = 0; j < n; j++) {
      for (let a = 0; a < n; a++) {
        let s = 0;
        for (let b = 0; b < n; b++) s += A[a * n + b] * vectors[j * n + b];
        worst = Math.max(worst, Math.abs(s - values[j] * vectors[j * n + a]));
      }
    }
    assert.ok(worst < 1e-11, `residual ${worst}`);
  });
});

describe('pca: the Lanczos route of wide taps', () => {
  /** The float64 covariance of a point set, divided by n − 1 (independent of pca.ts's kernel). */
  const cov = (points: Float32Array, n: number, dim: number) => {
    const mean = new Float64Array(dim);
    for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) mean[d] += points[i * dim + d] / n;
    const A = new Float64Array(dim * dim);
    const x = new Float64Array(dim);
    for (let i = 0; i < n; i++) {
      for (let d = 0; d < dim; d++) x[d] = points[i * dim + d] - mean[d];
      for (let a = 0; a < dim; a++) for (let b = 0; b < dim; b++) A[a * dim + b] += x[a] * x[b];
    }
    for (let i = 0; i < A.length; i++) A[i] /= n - 1;
    return A;
  };
  /** The full decomposition's k leading pairs, decreasing. */
  const fullTop = (A: Float64Array, n: number, k: number) => {
    const { values, vectors } = symmetricEigen(A, n);
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[b] - values[a] || a - b);
    return order.slice(0, k).map((j) => ({ value: values[j], vector: vectors.subarray(j * n, (j + 1) * n) }));
  };
  /** A = Q diag(λ) Qᵀ with a random orthogonal Q (the eigenvectors of a random symmetric matrix). */
  const withSpectrum = (lambda: number[], seed: number) => {
    const n = lambda.length;
    const r = new Prng(seed);
    const S = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) S[i * n + j] = S[j * n + i] = r.normal();
    const Q = symmetricEigen(S, n).vectors; // rows orthonormal
    const A = new Float64Array(n * n);
    for (let c = 0; c < n; c++) {
      const l = lambda[c];
      if (l === 0) continue;
      for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) A[a * n + b] += l * Q[c * n + a] * Q[c * n + b];
    }
    return A;
  };
  const agrees = (A: Float64Array, n: number, got: { values: Float64Array; vectors: Float64Array }, what: string) => {
    const want = fullTop(A, n, 3);
    for (let c = 0; c < 3; c++) {
      assert.ok(Math.abs(got.values[c] - want[c].value) <= 1e-12 * want[0].value, `${what}: λ${c} ${got.values[c]} vs ${want[c].value}`);
      let dot = 0;
      for (let t = 0; t < n; t++) dot += got.vectors[c * n + t] * want[c].vector[t];
      note('PCA Lanczos against the full decomposition, | 1 - |cos| |', Math.abs(1 - Math.abs(dot)));
      assert.ok(1 - Math.abs(dot) < 1e-12, `${what}: vector ${c}: |cos| = ${Math.abs(dot)}`);
    }
  };

  it("the reference's wide set (sklearn, above) takes it, and it gives the full decomposition's leading pairs", () => {
    const s = SETS.wide;
    assert.ok(s.dim > LANCZOS_MIN_DIM, `the wide set is ${s.dim} wide`);
    const A = cov(s.points, s.n, s.dim);
    const got = lanczosTop(A, s.dim, 3);
    assert.ok(got, 'the Lanczos route is taken');
    agrees(A, s.dim, got, 'wide');
  });

  it('well separated leading eigenvalues over a flat or decaying rest: taken and exact', () => {
    const n = 150;
    const decaying = Array.from({ length: n }, (_, i) => (i < 3 ? [9, 6, 4][i] : 2 * Math.exp(-i / 20)));
    const flat = Array.from({ length: n }, (_, i) => (i < 3 ? [3, 2, 1.5][i] : 1));
    const rankFour = Array.from({ length: n }, (_, i) => (i < 4 ? [8, 5, 3, 1][i] : 0));
    for (const [what, lambda] of [['decaying', decaying], ['flat', flat], ['rank 4', rankFour]] as const) {
      const A = withSpectrum(lambda, 11);
      const got = lanczosTop(A, n, 3);
      assert.ok(got, `${what}: taken`);
      agrees(A, n, got, what);
    }
  });

  it('leading components not fixed by the data: null, so that fitPca uses the full decomposition', () => {
    const n = 150;
    const rest = (i: number) => Math.exp(-i / 30);
    const cases: [string, number[]][] = [
      ['a repeated first eigenvalue', Array.from({ length: n }, (_, i) => (i < 3 ? [5, 5, 3][i] : rest(i)))],
      ['a repeated third eigenvalue (the 3rd component is any vector of a plane)', Array.from({ length: n }, (_, i) => (i < 4 ? [5, 4, 3, 3][i] : rest(i)))],
      ['the first two within 1e-4 of λ₁', Array.from({ length: n }, (_, i) => (i < 3 ? [5, 5 - 5e-4, 3][i] : rest(i)))],
      ['isotropic', new Array(n).fill(2)],
      ['all zero', new Array(n).fill(0)],
    ];
    for (const [what, lambda] of cases) assert.equal(lanczosTop(withSpectrum(lambda, 3), n, 3), null, what);
    assert.equal(lanczosTop(withSpectrum(new Array(3).fill(1).map((_, i) => 3 - i), 1), 3, 3), null, 'k = n');
    // fitPca on a repeated leading eigenvalue still gives an exact decomposition (the full route)
    const r = new Prng(9);
    const pts = new Float32Array(600 * 140);
    for (let i = 0; i < 600; i++) {
      const [u, v] = [r.normal() * 3, r.normal() * 3]; // the same variance on the first two axes
      for (let d = 0; d < 140; d++) pts[i * 140 + d] = (d === 0 ? u : d === 1 ? v : 0) + 0.01 * r.normal();
    }
    const m = fitPca(pts, 600, 140, 3);
    const A = cov(pts, 600, 140);
    const want = fullTop(A, 140, 3);
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(m.explainedVariance[c] - want[c].value) <= 1e-9 * want[0].value, `λ${c}`);
  });
});

// ───────────── kNN ─────────────

describe('knnSearch', () => {
  it('indices equal sklearn NearestNeighbors (and the NumPy brute force on ties); distances to 1e-12', () => {
    for (const c of REF.knn) {
      const q = SETS[c.query];
      const r = SETS[c.ref];
      const res = knnSearch({ query: q.points, nq: q.n, ref: r.points, nr: r.n, dim: r.dim, k: c.k, excludeSelf: c.excludeSelf });
      assert.equal(res.k, c.k);
      assert.deepEqual(Array.from(res.indices), c.indices, `indices ${c.query} vs ${c.ref} k=${c.k}`);
      const d = f64(c.distances);
      let worst = 0;
      for (let i = 0; i < d.length; i++) worst = Math.max(worst, rel(res.distances[i], d[i]));
      note('kNN distances (sklearn / NumPy)', worst);
      assert.ok(worst < 1e-12, `distances ${c.query} vs ${c.ref}: ${worst}`);
    }
  });
  it('the fast path equals the float64 brute force exactly (offsets, duplicates, ties, block edges)', () => {
    const cases = [
      { n: 700, dim: 16, opts: {} },
      { n: 600, dim: 40, opts: { offset: 100, scale: 0.5 } },
      { n: 500, dim: 8, opts: { quant: 2 } },
      { n: 300, dim: 3, opts: { quant: 1 } },
      { n: 257, dim: 33, opts: { offset: -3 } },
    ];
    for (const [i, c] of cases.entries()) {
      const ref = randomPoints(10 + i, c.n, c.dim, c.opts);
      const query = randomPoints(20 + i, 131, c.dim, c.opts);
      for (const k of [1, 7, 30]) {
        for (const [qq, nq, excl] of [[ref, c.n, true], [query, 131, false]] as const) {
          const o = { query: qq, nq, ref, nr: c.n, dim: c.dim, k, excludeSelf: excl, blockSize: 5000 };
          const fast = knnSearch(o);
          const slow = knnBruteForce(o);
          assert.deepEqual(fast.indices, slow.indices, `case ${i} k=${k} excl=${excl}`);
          assert.deepEqual(fast.distances, slow.distances);
          assert.ok(fast.candidatesPerQuery >= k);
        }
      }
    }
  });
  it('fuzz: fast path = brute force over random dims, offsets, scales, quantisation, duplicates, k, blocks', () => {
    const r = new Prng(2024);
    for (let t = 0; t < 80; t++) {
      const dim = 1 + r.int(70);
      const n = 10 + r.int(300);
      const nq = 1 + r.int(100);
      const offset = [0, 1, 100, 1e4, -3e3][r.int(5)];
      const scale = [1, 1e-3, 10, 1e-6, 1e3][r.int(5)];
      const quant = [0, 0, 1, 4][r.int(4)];
      const mk = (m: number) => Float32Array.from({ length: m * dim }, () => {
        let v = r.normal();
        if (quant) v = Math.round(v * quant) / quant;
        return offset + scale * v;
      });
      const ref = mk(n);
      const from = r.int(n);
      ref.copyWithin(r.int(n) * dim, from * dim, from * dim + dim); // a duplicate point
      const self = r.int(2) === 1;
      const query = self ? ref : mk(nq);
      const o = { query, nq: self ? n : nq, ref, nr: n, dim, k: 1 + r.int(30), excludeSelf: self && r.int(2) === 1, blockSize: 1 + r.int(20000) };
      const fast = knnSearch(o);
      const slow = knnBruteForce(o);
      assert.deepEqual(fast.indices, slow.indices, `fuzz case ${t}: ${JSON.stringify({ dim, n, offset, scale, quant, k: o.k })}`);
      assert.deepEqual(fast.distances, slow.distances);
    }
  });
  it('ties go to the lower reference index; excludeSelf skips only the same index', () => {
    const ref = new Float32Array([0, 0, 1, 0, 0, 0, -1, 0, 0, 0]); // points 0,2,4 coincide; 1 and 3 at distance 1
    const r1 = knnSearch({ query: ref, nq: 5, ref, nr: 5, dim: 2, k: 3, excludeSelf: true, exact: true });
    assert.deepEqual(Array.from(r1.indices.subarray(0, 3)), [2, 4, 1]);
    assert.deepEqual(Array.from(r1.distances.subarray(0, 3)), [0, 0, 1]);
    assert.deepEqual(Array.from(r1.indices.subarray(6, 9)), [0, 4, 1]);
  });
  it('k >= n clamps; dim 1; empty sets; validation', () => {
    const ref = new Float32Array([5, 1, 3]);
    const r = knnSearch({ query: ref, nq: 3, ref, nr: 3, dim: 1, k: 10, excludeSelf: true });
    assert.equal(r.k, 2);
    assert.deepEqual(Array.from(r.indices), [2, 1, 2, 0, 0, 1]);
    assert.deepEqual(Array.from(r.distances), [2, 4, 2, 4, 2, 2]);
    const r2 = knnSearch({ query: new Float32Array([2]), nq: 1, ref, nr: 3, dim: 1, k: 3 });
    assert.deepEqual(Array.from(r2.indices), [1, 2, 0]);
    const one = knnSearch({ query: new Float32Array([1]), nq: 1, ref: new Float32Array([1]), nr: 1, dim: 1, k: 3, excludeSelf: true });
    assert.equal(one.k, 0);
    assert.equal(one.indices.length, 0);
    const none = knnSearch({ query: new Float32Array(0), nq: 0, ref, nr: 3, dim: 1, k: 2 });
    assert.equal(none.indices.length, 0);
    const big = randomPoints(1, 2000, 1);
    assert.deepEqual(knnSearch({ query: big, nq: 2000, ref: big, nr: 2000, dim: 1, k: 5, excludeSelf: true }).indices, knnBruteForce({ query: big, nq: 2000, ref: big, nr: 2000, dim: 1, k: 5, excludeSelf: true }).indices);
    const bad = randomPoints(1, 100, 4);
    bad[17] = NaN;
    throwsArg(() => knnSearch({ query: bad, nq: 100, ref: bad, nr: 100, dim: 4, k: 3 }), 'query');
    throwsArg(() => knnSearch({ query: new Float32Array(4), nq: 1, ref: bad, nr: 100, dim: 4, k: 3 }), 'ref');
    throwsArg(() => knnSearch({ query: new Float32Array(4), nq: 1, ref: new Float32Array(8), nr: 2, dim: 4, k: 0 }), 'k');
    throwsArg(() => knnSearch({ query: new Float32Array(4), nq: 1, ref: new Float32Array(8), nr: 2, dim: 4, k: 1, excludeSelf: true }), 'excludeSelf');
    throwsArg(() => knnSearch({ query: new Float64Array(4) as any, nq: 1, ref: new Float32Array(8), nr: 2, dim: 4, k: 1 }), 'query');
  });
  it('uses a pluggable gemm (sync and async) with the same result', async () => {
    const ref = randomPoints(4, 900, 24, { offset: 2 });
    const query = randomPoints(5, 300, 24, { offset: 2.1 });
    const base = knnSearch({ query, nq: 300, ref, nr: 900, dim: 24, k: 10 });
    let calls = 0;
    const hook = (a: Float32Array, m: number, b: Float32Array, n: number, k: number, out: Float32Array) => {
      calls++;
      // a float32-accumulating naive product: less accurate than the default, within the bound
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s = Math.fround(s + Math.fround(a[i * k + p] * b[j * k + p]));
          out[i * n + j] = s;
        }
    };
    const withHook = knnSearch({ query, nq: 300, ref, nr: 900, dim: 24, k: 10, gemm: hook, blockSize: 90000 });
    assert.ok(calls >= 3);
    assert.deepEqual(withHook.indices, base.indices);
    const asyncRes = await knnSearchAsync({ query, nq: 300, ref, nr: 900, dim: 24, k: 10, gemm: async (...args) => { await new Promise((r) => setImmediate(r)); gemmNT(...args); } });
    assert.deepEqual(asyncRes.indices, base.indices);
    assert.deepEqual(asyncRes.distances, base.distances);
    throwsArg(() => knnSearch({ query, nq: 300, ref, nr: 900, dim: 24, k: 10, gemm: (async () => {}) as any }), 'gemm');
  });
  it('gemmNT computes A·Bᵀ for all shapes (remainders of the 4×4 blocking)', () => {
    for (const [m, n, k] of [[1, 1, 1], [5, 7, 3], [8, 8, 8], [13, 70000 / 5000 | 0, 129]]) {
      const a = randomPoints(m, m, k);
      const b = randomPoints(n + 100, n, k);
      const out = new Float32Array(m * n);
      gemmNT(a, m, b, n, k, out);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += a[i * k + p] * b[j * k + p];
          assert.equal(out[i * n + j], Math.fround(s));
        }
    }
  });
});

// ───────────── knnConfidence / featureShift ─────────────

describe('knnConfidence and featureShift', () => {
  it('equal the NumPy computation from sklearn neighbours (1e-9)', async () => {
    for (const c of REF.confidence) {
      const t = SETS[c.train];
      const q = SETS[c.query];
      const ref = buildTrainReference({ points: t.points, n: t.n, dim: t.dim, labels: t.labels, k: c.k });
      assertClose(ref.medianKth as number, c.medianKth, 1e-12, 'median k-th train distance', 'featureShift train median (NumPy)');
      const nb = c.query === c.train ? ref.self : neighborsInTrain(ref, q.points, q.n);
      const conf = knnConfidence({ ref, neighbors: nb, predicted: q.predicted });
      assertClose(conf.mean as number, c.confidence, 1e-9, `knnConfidence ${c.query} vs ${c.train} k=${c.k}`, 'knnConfidence mean (NumPy)');
      for (let i = 0; i < q.n; i++) assert.ok(Math.abs(conf.perPoint[i] - c.confidencePerPoint[i]) < 1e-7);
      const shift = featureShift({ ref, neighbors: nb });
      assertClose(shift.value as number, c.featureShift, 1e-9, `featureShift ${c.query} vs ${c.train}`, 'featureShift median (NumPy)');
      const per = f64(c.featureShiftPerPoint);
      let worst = 0;
      for (let i = 0; i < q.n; i++) worst = Math.max(worst, rel(shift.perPoint[i], per[i]));
      note('featureShift per point (NumPy)', worst);
      assert.ok(worst < 1e-9);
      // async variant, same numbers
      const refA = await buildTrainReferenceAsync({ points: t.points, n: t.n, dim: t.dim, labels: t.labels, k: c.k, gemm: async (...a) => gemmNT(...a) });
      assert.equal(refA.medianKth, ref.medianKth);
    }
  });
  it('edge cases: no labels, k >= n, zero median, tiny sets', () => {
    const pts = new Float32Array([0, 1, 2, 3]);
    const ref = buildTrainReference({ points: pts, n: 4, dim: 1, labels: Int32Array.from([0, 0, 1, 1]), k: 10 });
    assert.equal(ref.self.k, 3);
    const conf = knnConfidence({ ref, neighbors: ref.self, predicted: Int32Array.from([0, 0, 1, 1]) });
    assert.ok(Math.abs((conf.mean as number) - 1 / 3) < 1e-7);
    const noLabels = buildTrainReference({ points: pts, n: 4, dim: 1, k: 2 });
    throwsArg(() => knnConfidence({ ref: noLabels, neighbors: noLabels.self, predicted: new Int32Array(4) }), 'ref');
    throwsArg(() => knnConfidence({ ref, neighbors: ref.self, predicted: new Int32Array(3) }), 'predicted');
    const dup = buildTrainReference({ points: new Float32Array([1, 1, 1, 5]), n: 4, dim: 1, labels: new Int32Array(4), k: 1 });
    assert.equal(dup.medianKth, 0);
    assert.equal(featureShift({ ref: dup, neighbors: dup.self }).value, null);
    const single = buildTrainReference({ points: new Float32Array([1]), n: 1, dim: 1, labels: new Int32Array(1), k: 3 });
    assert.equal(single.medianKth, null);
    assert.equal(knnConfidence({ ref: single, neighbors: single.self, predicted: new Int32Array(1) }).mean, null);
    const shift = featureShift({ ref, neighbors: neighborsInTrain(ref, new Float32Array([1.5, 10]), 2) });
    // k clamped to 4 train points: farthest distances 1.5 and 10; train LOO 3rd-nearest: 3,2,2,3 -> median 2.5
    assert.deepEqual(Array.from(shift.perPoint), [1.5 / 2.5, 10 / 2.5]);
  });
});

// ───────────── k-means and roughness ─────────────

function blobs(seed: number, perCluster: number, dim: number, centres: number[][], spread = 0.1): { points: Float32Array; labels: Int32Array; n: number } {
  const r = new Prng(seed);
  const n = perCluster * centres.length;
  const points = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % centres.length;
    labels[i] = c;
    for (let d = 0; d < dim; d++) points[i * dim + d] = centres[c][d] + spread * r.normal();
  }
  return { points, labels, n };
}

describe('kMeans', () => {
  it('recovers well-separated clusters, deterministically', () => {
    const { points, labels, n } = blobs(1, 100, 3, [[0, 0, 0], [5, 0, 0], [0, 5, 0], [0, 0, 5]]);
    const a = kMeans({ points, n, dim: 3, k: 4, seed: 0 });
    const b = kMeans({ points, n, dim: 3, k: 4, seed: 0 });
    assert.deepEqual(a.labels, b.labels);
    assert.deepEqual(a.centroids, b.centroids);
    assert.ok(a.converged);
    // the partition equals the truth up to renaming
    const map = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      if (!map.has(labels[i])) map.set(labels[i], a.labels[i]);
      assert.equal(map.get(labels[i]), a.labels[i]);
    }
    assert.equal(new Set(map.values()).size, 4);
    assert.deepEqual(Array.from(a.sizes), [100, 100, 100, 100]);
  });
  it('fewer distinct points than K gives fewer clusters; nInit keeps the best inertia; validation', () => {
    const points = new Float32Array([1, 1, 1, 2, 2, 2]);
    const r = kMeans({ points, n: 6, dim: 1, k: 4, seed: 3 });
    assert.equal(r.k, 2);
    assert.equal(r.inertia, 0);
    const { points: p2, n } = blobs(2, 50, 2, [[0, 0], [1, 0], [0, 1], [3, 3], [3, 4]], 0.4);
    const one = kMeans({ points: p2, n, dim: 2, k: 5, seed: 0, nInit: 1 });
    const ten = kMeans({ points: p2, n, dim: 2, k: 5, seed: 0, nInit: 10 });
    assert.ok(ten.inertia <= one.inertia + 1e-12);
    const bad = p2.slice();
    bad[3] = Infinity;
    throwsArg(() => kMeans({ points: bad, n, dim: 2, k: 3, seed: 0 }), 'points');
    throwsArg(() => kMeans({ points: p2, n, dim: 2, k: 0, seed: 0 }), 'k');
  });
});

describe('kMeansAsync (the Gemm route)', () => {
  const same = (a: ReturnType<typeof kMeans>, b: ReturnType<typeof kMeans>, what: string) => {
    assert.deepEqual(b.labels, a.labels, `${what}: labels`);
    assert.deepEqual(b.centroids, a.centroids, `${what}: centroids`);
    assert.deepEqual(b.sizes, a.sizes, `${what}: sizes`);
    assert.equal(b.inertia, a.inertia, `${what}: inertia`);
    assert.equal(b.iterations, a.iterations, `${what}: iterations`);
    assert.equal(b.converged, a.converged, `${what}: converged`);
  };
  it('equals kMeans bit for bit (labels, centres, inertia, iterations), with any gemm hook', async () => {
    const cases: [string, Float32Array, number, number, number][] = [];
    const relu = (a: Float32Array) => a.map((v) => Math.max(0, v));
    cases.push(['blobs', blobs(1, 100, 3, [[0, 0, 0], [5, 0, 0], [0, 5, 0], [0, 0, 5]]).points, 400, 3, 4]);
    cases.push(['relu d32', relu(randomPoints(4, 600 * 32, 1, { offset: 0.3 })), 600, 32, 2]);
    cases.push(['relu d128 offset', relu(randomPoints(5, 300 * 128, 1, { offset: 3 })), 300, 128, 3]);
    cases.push(['quantised (ties)', randomPoints(6, 500 * 4, 1, { quant: 2 }), 500, 4, 2]);
    cases.push(['duplicates', new Float32Array([1, 1, 1, 2, 2, 2]), 6, 1, 4]);
    // K·dim ≤ 32: the exact fused loop (no gemm); K = 2 above it: the unrolled two-centre loop
    cases.push(['relu d16 k2 (exact route)', relu(randomPoints(7, 700 * 16, 1, { offset: 0.2 })), 700, 16, 2]);
    cases.push(['relu d17 k2 (two-centre route)', relu(randomPoints(8, 700 * 17, 1, { offset: 0.2 })), 700, 17, 2]);
    cases.push(['quantised d24 k2 (ties, two-centre route)', randomPoints(9, 500 * 24, 1, { quant: 1 }), 500, 24, 2]);
    // a crude hook: float32 products with a relative error of 1e-7 · dim (still inside the bound) …
    const crude = (a: Float32Array, m: number, b: Float32Array, n: number, k: number, out: Float32Array) => {
      gemmNT(a, m, b, n, k, out);
      for (let i = 0; i < out.length; i++) out[i] = Math.fround(out[i] * (1 + ((i % 3) - 1) * 1e-7));
    };
    for (const [what, points, n, dim, k] of cases) {
      for (const nInit of [1, 10]) {
        const a = kMeans({ points, n, dim, k, seed: 0, nInit });
        same(a, await kMeansAsync({ points, n, dim, k, seed: 0, nInit }), `${what} nInit ${nInit} (gemmNT)`);
        same(a, await kMeansAsync({ points, n, dim, k, seed: 0, nInit, gemm: async (...x) => crude(...x) }), `${what} nInit ${nInit} (crude hook)`);
        same(a, await kMeansAsync({ points, n, dim, k, seed: 0, nInit, rowSums: 'js' }), `${what} nInit ${nInit} (gemmNT, the centre sums by the JavaScript loop)`);
      }
    }
    const r = roughness({ points: cases[1][1], dim: 32, prevPoints: cases[2][1].subarray(0, 600 * 64), prevDim: 64, n: 600, k: 2, seed: 1, nInit: 10 });
    const r2 = await roughnessAsync({ points: cases[1][1], dim: 32, prevPoints: cases[2][1].subarray(0, 600 * 64), prevDim: 64, n: 600, k: 2, seed: 1, nInit: 10 });
    assert.equal(r2.value, r.value);
  });
});

describe('roughness', () => {
  it('is the DB of the previous tap grouped by k-means labels of this tap', () => {
    const centres = [[0, 0], [6, 0], [0, 6]];
    const cur = blobs(1, 60, 2, centres);
    // previous tap: same grouping but well separated, or mixed up
    const prevGood = blobs(2, 60, 4, [[0, 0, 0, 0], [4, 4, 0, 0], [0, 0, 4, 4]], 0.3);
    const prevBad = { points: randomPoints(3, 180, 4) };
    const good = roughness({ points: cur.points, dim: 2, prevPoints: prevGood.points, prevDim: 4, n: 180, k: 3, seed: 0 });
    const badR = roughness({ points: cur.points, dim: 2, prevPoints: prevBad.points, prevDim: 4, n: 180, k: 3, seed: 0 });
    assert.equal(good.clusters, 3);
    const expected = daviesBouldin(prevGood.points, 180, 4, good.labels);
    assert.equal(good.value, expected);
    assert.ok((good.value as number) < 0.5 && (badR.value as number) > 3, `good ${good.value} bad ${badR.value}`);
  });
  it('null when k-means yields fewer than 2 clusters', () => {
    const same = new Float32Array(20).fill(2);
    const r = roughness({ points: same, dim: 2, prevPoints: randomPoints(1, 10, 3), prevDim: 3, n: 10, k: 3, seed: 0 });
    assert.equal(r.value, null);
    assert.equal(r.clusters, 1);
    throwsArg(() => roughness({ points: same, dim: 2, prevPoints: randomPoints(1, 9, 3), prevDim: 3, n: 10, k: 3, seed: 0 }), 'prevPoints');
  });
});

// ───────────── performance ─────────────

describe('performance', () => {
  it('pooled Dice, per-image Dice and pixel accuracy equal the NumPy reference', () => {
    for (const c of REF.dice) {
      const acc = new SegmentationAccumulator(c.numClasses, { perImage: true });
      for (const im of c.images) acc.add(Int32Array.from(im.predicted), Int32Array.from(im.groundTruth));
      const r = acc.result();
      r.dicePerClass.forEach((d, k) => {
        if (c.dicePerClass[k] === null) assert.equal(d, null);
        else assertClose(d as number, c.dicePerClass[k], 1e-12, `dice class ${k}`, 'Dice (NumPy)');
      });
      if (c.dice === null) assert.equal(r.dice, null);
      else assertClose(r.dice as number, c.dice, 1e-12, 'mean foreground dice', 'Dice (NumPy)');
      assertClose(r.accuracy as number, c.accuracy, 1e-12, 'pixel accuracy', 'pixel accuracy (NumPy)');
      (r.perImageDice as (number | null)[]).forEach((d, i) => {
        if (c.perImageDice[i] === null) assert.equal(d, null);
        else assertClose(d as number, c.perImageDice[i], 1e-12, 'per-image dice');
      });
      const perf = segmentationPerformance(r);
      assert.equal(perf.dice, r.dice);
      assert.ok('dice_0' in perf);
    }
    const acc = new SegmentationAccumulator(2);
    throwsArg(() => acc.add(Int32Array.from([0, 2]), Int32Array.from([0, 1])), 'predicted');
    throwsArg(() => acc.add(Int32Array.from([0, 1]), Int32Array.from([0])), 'groundTruth');
    assert.equal(acc.result().accuracy, null);
  });
  it('SSIM equals skimage structural_similarity; PSNR equals peak_signal_noise_ratio', () => {
    for (const c of REF.ssim) {
      const [C, ...spatial] = c.dims;
      const target = Float64Array.from(c.target);
      const pred = Float64Array.from(c.predicted);
      const P = target.length / C;
      let s = 0;
      for (let ch = 0; ch < C; ch++) s += ssim(target.subarray(ch * P, (ch + 1) * P), pred.subarray(ch * P, (ch + 1) * P), spatial, { dataRange: c.dataRange });
      assertClose(s / C, c.ssim, 1e-9, `ssim ${c.dims}`, 'SSIM (skimage)');
      assertClose(psnr(target, pred, c.dataRange) as number, c.psnr, 1e-12, `psnr ${c.dims}`, 'PSNR (skimage)');
      const acc = new RegressionAccumulator({ dataRange: c.dataRange });
      acc.add(pred, target, c.dims);
      const r = acc.result();
      assertClose(r.ssim as number, c.ssim, 1e-9, 'accumulator ssim');
      assertClose(r.psnr as number, c.psnr, 1e-12, 'accumulator psnr');
    }
    throwsArg(() => ssim(new Float64Array(36), new Float64Array(36), [6, 6], { dataRange: 1 }), 'dims[0]');
    throwsArg(() => psnr(new Float64Array(4), new Float64Array(4), 0), 'dataRange');
    assert.equal(psnr(new Float64Array([1, 2]), new Float64Array([1, 2]), 1), null);
    const acc = new RegressionAccumulator({ dataRange: 1 });
    acc.add(new Float32Array(16), new Float32Array(16).fill(0.5), [1, 4, 4]);
    acc.add(new Float32Array(16), new Float32Array(16).fill(0.25), [4, 4]);
    const r = acc.result();
    assert.equal(r.mse, (0.25 + 0.0625) / 2);
    assert.equal(r.ssim, null); // images below the 7×7 window
    throwsArg(() => acc.add(new Float32Array([NaN, 0, 0, 0]), new Float32Array(4), [2, 2]), 'predicted');
  });
  it('classification accuracy', () => {
    const a = new AccuracyAccumulator();
    a.add([0, 1, 2], [0, 1, 1]);
    a.add(Int32Array.from([2]), Int32Array.from([2]));
    assert.deepEqual(a.result(), { accuracy: 0.75, images: 4 });
    assert.equal(new AccuracyAccumulator().result().accuracy, null);
  });
});
