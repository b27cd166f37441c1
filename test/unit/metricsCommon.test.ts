/**
 * Checks common to every metric the table (src/protocol/metrics.ts) says the engine
 * computes, in the manner of scikit-learn's `test_common`: for each engine export the table
 * names,
 *  - invariance (the value) and equivariance (per-point values) under a permutation of the
 *    points (for SSIM, a windowed measure, under transposing the image);
 *  - a NaN or ±Inf input is rejected with a MetricArgumentError naming the argument, as the
 *    doc comments say (or, where an input cannot hold one, the case says so);
 *  - a bad argument (wrong length) is rejected with an error naming that argument.
 * A metric added to the table with an `engine` and no case here fails the first test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as M from '../../src/engine/metrics';
import { METRIC_SPECS } from '../../src/protocol/metrics';

/** A seeded generator of numbers in [0, 1) (the engine's own), so the data are the same on every run. */
function rng(seed: number): () => number {
  const p = new M.Prng(seed);
  return () => p.next();
}

/** A permutation of 0..n-1 (seeded). */
function permutation(n: number, seed = 7): Int32Array {
  const r = rng(seed);
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** Rows of a row-major n×dim array in the order `perm`. */
function rows<T extends Float32Array | Float64Array | Int32Array>(a: T, dim: number, perm: Int32Array): T {
  const out = new (a.constructor as new (n: number) => T)(a.length);
  perm.forEach((src, i) => out.set(a.subarray(src * dim, src * dim + dim), i * dim));
  return out;
}

/** Two well-separated classes of n points in dim dimensions, labels 0/1 alternating. */
function blobs(n: number, dim: number, seed = 1): { points: Float32Array; labels: Int32Array } {
  const r = rng(seed);
  const points = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2;
    for (let d = 0; d < dim; d++) points[i * dim + d] = labels[i] * 10 + r();
  }
  return { points, labels };
}

const close = (a: number | null, b: number | null, what: string) => {
  assert.ok(a !== null && b !== null, `${what}: a value`);
  assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a)), `${what}: ${a} vs ${b}`);
};

/** Runs f and returns the MetricArgumentError it throws. */
function rejects(f: () => unknown, argument: string, what: string): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof M.MetricArgumentError, `${what}: expected a MetricArgumentError, got ${caught === undefined ? 'none' : String(caught)}`);
  const e = caught as InstanceType<typeof M.MetricArgumentError>;
  assert.equal(e.argument, argument, `${what}: names the argument (${e.message})`);
  assert.ok(e.message.includes(`'${argument}'`), `${what}: the message names '${argument}': ${e.message}`);
}

interface Case {
  /** Value (and per-point values, if any) on the data, its points permuted by `perm` (identity when absent). */
  compute(perm?: Int32Array): { value: number | null; perPoint?: ArrayLike<number> };
  /** Points the permutation runs over. */
  n: number;
  /** Calls it with NaN / Inf in a float input: the argument it must name; or why no input can hold one. */
  nonFinite: { call: (bad: number) => unknown; argument: string } | { none: string };
  /** Calls it with an argument of the wrong length, and the argument it must name; or why no argument can have one. */
  badLength: { call: () => unknown; argument: string } | { none: string };
}

// ---------------------------------------------------------------- the cases, by engine export

const N = 24;
const DIM = 3;
const train = blobs(N, DIM, 1);
const query = blobs(N, DIM, 2);
const ref = M.buildTrainReference({ points: train.points, n: N, dim: DIM, k: 4, labels: train.labels });
const predicted = Int32Array.from(query.labels, (l, i) => (i % 5 === 0 ? 1 - l : l));
const nb = (points: Float32Array) => M.neighborsInTrain(ref, points, N);

function knnCase(f: (pts: Float32Array, pred: Int32Array) => { value: number | null; perPoint?: ArrayLike<number> }): Omit<Case, 'badLength'> {
  return {
    n: N,
    compute: (perm = permutation(N, 0).sort()) => f(rows(query.points, DIM, perm), rows(predicted, 1, perm)),
    nonFinite: {
      call: (bad) => {
        const q = query.points.slice();
        q[5] = bad;
        return f(q, predicted);
      },
      argument: 'query',
    },
  };
}

const identity = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

const img = (() => {
  const r = rng(3);
  const H = 12;
  const target = Float64Array.from({ length: H * H }, () => r());
  const pred = Float64Array.from(target, (v) => v + 0.1 * (r() - 0.5));
  return { H, target, pred };
})();
const transpose = (a: Float64Array, H: number) => Float64Array.from(a, (_, i) => a[(i % H) * H + Math.floor(i / H)]);

const seg = (() => {
  const r = rng(4);
  const gt = Int32Array.from({ length: 64 }, () => Math.floor(r() * 3));
  const pr = Int32Array.from(gt, (g, i) => (i % 7 === 0 ? (g + 1) % 3 : g));
  return { gt, pr };
})();

const softmaxOut = (() => {
  const r = rng(5);
  const K = 3;
  const L = 40;
  return { K, L, out: Float32Array.from({ length: K * L }, () => 4 * r() - 2) };
})();
/** Channel-major K×L output with its pixels permuted the same way in every channel. */
const permutePixels = (out: Float32Array, K: number, L: number, perm: Int32Array) =>
  Float32Array.from(out, (_, i) => out[Math.floor(i / L) * L + perm[i % L]]);

const CASES: Record<string, Case> = {
  daviesBouldin: {
    n: N,
    compute: (perm = identity(N)) => ({ value: M.daviesBouldin(rows(train.points, DIM, perm), N, DIM, rows(train.labels, 1, perm)) }),
    nonFinite: {
      call: (bad) => {
        const p = train.points.slice();
        p[4] = bad;
        return M.daviesBouldin(p, N, DIM, train.labels);
      },
      argument: 'points',
    },
    badLength: { call: () => M.daviesBouldin(train.points, N, DIM, train.labels.subarray(1)), argument: 'labels' },
  },
  roughness: {
    n: N,
    compute: (perm = identity(N)) => {
      const pts = rows(train.points, DIM, perm);
      return { value: M.roughness({ points: pts, dim: DIM, prevPoints: pts, prevDim: DIM, n: N, k: 2, seed: 0 }).value };
    },
    nonFinite: {
      call: (bad) => {
        const p = train.points.slice();
        p[2] = bad;
        return M.roughness({ points: p, dim: DIM, prevPoints: train.points, prevDim: DIM, n: N, k: 2, seed: 0 });
      },
      argument: 'points',
    },
    badLength: { call: () => M.roughness({ points: train.points, dim: DIM, prevPoints: train.points.subarray(1), prevDim: DIM, n: N, k: 2, seed: 0 }), argument: 'prevPoints' },
  },
  knnConfidence: {
    ...knnCase((pts, pred) => {
      const r = M.knnConfidence({ ref, neighbors: nb(pts), predicted: pred });
      return { value: r.mean, perPoint: r.perPoint };
    }),
    badLength: { call: () => M.knnConfidence({ ref, neighbors: nb(query.points), predicted: predicted.subarray(1) }), argument: 'predicted' },
  },
  featureShift: {
    ...knnCase((pts) => {
      const r = M.featureShift({ ref, neighbors: nb(pts) });
      return { value: r.value, perPoint: r.perPoint };
    }),
    badLength: { call: () => M.featureShift({ ref, neighbors: { ...nb(query.points), nq: N + 1 } }), argument: 'neighbors' },
  },
  knnDice: {
    ...knnCase((pts, pred) => ({ value: M.knnDice({ ref, neighbors: nb(pts), predicted: pred, numClasses: 2 }) })),
    badLength: { call: () => M.knnDice({ ref, neighbors: nb(query.points), predicted: predicted.subarray(1), numClasses: 2 }), argument: 'predicted' },
  },
  foregroundShift: {
    n: N,
    compute: (perm = identity(N)) => {
      const per = M.featureShift({ ref, neighbors: nb(query.points) }).perPoint;
      return { value: M.foregroundShift(rows(Float64Array.from(per), 1, perm), rows(predicted, 1, perm)) };
    },
    nonFinite: { none: 'its per-point input comes from featureShift, whose query points are checked' },
    badLength: { call: () => M.foregroundShift(new Float64Array(N), predicted.subarray(1)), argument: 'predicted' },
  },
  foregroundConfidence: {
    n: N,
    compute: (perm = identity(N)) => {
      const per = M.knnConfidence({ ref, neighbors: nb(query.points), predicted }).perPoint;
      return { value: M.foregroundConfidence(rows(Float64Array.from(per), 1, perm), rows(predicted, 1, perm)) };
    },
    nonFinite: { none: 'its per-point input comes from knnConfidence, whose query points are checked' },
    badLength: { call: () => M.foregroundConfidence(new Float64Array(N), predicted.subarray(1)), argument: 'predicted' },
  },
  SegmentationAccumulator: {
    n: seg.gt.length,
    compute: (perm = identity(seg.gt.length)) => {
      const a = new M.SegmentationAccumulator(3);
      a.add(rows(seg.pr, 1, perm), rows(seg.gt, 1, perm));
      const r = a.result();
      return { value: r.dice, perPoint: r.dicePerClass.map((x) => x ?? NaN).concat([r.accuracy ?? NaN]) };
    },
    nonFinite: { none: 'labels are integer typed arrays' },
    badLength: { call: () => new M.SegmentationAccumulator(3).add(seg.pr, seg.gt.subarray(1)), argument: 'groundTruth' },
  },
  RegressionAccumulator: {
    n: img.target.length,
    compute: (perm = identity(img.target.length)) => {
      const a = new M.RegressionAccumulator({ dataRange: 1 });
      a.add(rows(img.pred, 1, perm), rows(img.target, 1, perm), [1, img.H, img.H]);
      return { value: a.result().mse };
    },
    nonFinite: {
      call: (bad) => {
        const p = img.pred.slice();
        p[3] = bad;
        return new M.RegressionAccumulator({ dataRange: 1 }).add(p, img.target, [1, img.H, img.H]);
      },
      argument: 'predicted',
    },
    badLength: { call: () => new M.RegressionAccumulator({ dataRange: 1 }).add(img.pred, img.target.subarray(1), [1, img.H, img.H]), argument: 'target' },
  },
  psnr: {
    n: img.target.length,
    compute: (perm = identity(img.target.length)) => ({ value: M.psnr(rows(img.target, 1, perm), rows(img.pred, 1, perm), 1) }),
    nonFinite: {
      call: (bad) => {
        const p = img.pred.slice();
        p[0] = bad;
        return M.psnr(img.target, p, 1);
      },
      argument: 'predicted',
    },
    badLength: { call: () => M.psnr(img.target, img.pred.subarray(1), 1), argument: 'predicted' },
  },
  ssim: {
    n: 0, // a windowed measure: checked under transposing the image, not under any permutation
    compute: (perm) => ({
      value: perm ? M.ssim(transpose(img.target, img.H), transpose(img.pred, img.H), [img.H, img.H], { dataRange: 1 }) : M.ssim(img.target, img.pred, [img.H, img.H], { dataRange: 1 }),
    }),
    nonFinite: {
      call: (bad) => {
        const p = img.pred.slice();
        p[0] = bad;
        return M.ssim(img.target, p, [img.H, img.H], { dataRange: 1 });
      },
      argument: 'predicted',
    },
    badLength: { call: () => M.ssim(img.target, img.pred.subarray(1), [img.H, img.H], { dataRange: 1 }), argument: 'predicted' },
  },
  OutputStatsAccumulator: {
    n: softmaxOut.L,
    compute: (perm = identity(softmaxOut.L)) => {
      const a = new M.OutputStatsAccumulator();
      a.add(permutePixels(softmaxOut.out, softmaxOut.K, softmaxOut.L, perm), [softmaxOut.K, softmaxOut.L], 'softmax');
      const r = a.result()!;
      return { value: r.maxProbability, perPoint: [r.entropy, r.foreground] };
    },
    nonFinite: { none: 'not validated: it reads a model output that the pipeline checked (left as is, see the report)' },
    badLength: { none: 'takes one output at a time, its length defines the image' },
  },
};

/** The engine exports the table names, each once. */
const ENGINE = [...new Set(METRIC_SPECS.flatMap((m) => (m.engine ? [m.engine] : [])))];

test('every engine export the metric table names exists and has a case here', () => {
  for (const e of ENGINE) {
    assert.ok(e in M, `src/engine/metrics exports ${e}`);
    assert.ok(CASES[e], `a common-test case for ${e}`);
  }
  assert.deepEqual(Object.keys(CASES).sort(), [...ENGINE].sort(), 'no case for an export the table does not name');
});

test('an export that opts out of a common check says why', () => {
  const optedOut = Object.entries(CASES).flatMap(([e, c]) => [c.nonFinite, c.badLength].filter((x): x is { none: string } => 'none' in x).map((x) => [e, x.none] as const));
  assert.ok(optedOut.length > 0);
  for (const [e, why] of optedOut) assert.ok(why.trim().length >= 20, `${e}: the reason "${why}" says why the check cannot apply`);
});

for (const e of ENGINE) {
  const c = CASES[e];
  test(`${e}: invariant under a permutation of the points, per-point values equivariant`, () => {
    const base = c.compute();
    const perm = permutation(Math.max(c.n, 2));
    const moved = c.compute(perm);
    close(moved.value, base.value, `${e} value`);
    if (base.perPoint && moved.perPoint) {
      const samePoints = base.perPoint.length === c.n;
      for (let i = 0; i < base.perPoint.length; i++) {
        const want = samePoints ? base.perPoint[perm[i]] : base.perPoint[i];
        if (Number.isNaN(want)) assert.ok(Number.isNaN(moved.perPoint[i]));
        else close(moved.perPoint[i], want, `${e} per-point ${i}`);
      }
    }
  });
  // A check that cannot apply to this export is not registered; the case says why (tested below).
  const nf = c.nonFinite;
  if (!('none' in nf)) {
    test(`${e}: NaN and ±Inf inputs are rejected, naming the argument`, () => {
      for (const bad of [NaN, Infinity, -Infinity]) rejects(() => nf.call(bad), nf.argument, `${e} with ${bad}`);
    });
  }
  const bl = c.badLength;
  if (!('none' in bl)) {
    test(`${e}: an argument of the wrong length is rejected, naming it`, () => {
      rejects(bl.call, bl.argument, e);
    });
  }
}
