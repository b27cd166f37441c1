#!/usr/bin/env node
// Writes test/fixtures/results-sample.json: a plausible results file (CONTRACT.md §3) for
// developing and testing the panel and the report. The numbers are random but shaped like
// a real run of the bundled 3-level example UNet (examples/synthetic): they are a drawing
// fixture only, never a reference for the metrics.
//
//   node scripts/make_sample_results.mjs [outFile] [--points N] [--maps-per-split M]
//
// `maps.items` (types.ts ImageMaps) holds M images per split (default 2): a 64×64 grey
// preview of a lesion scene like the example's, the label map (labeled splits), a
// prediction map (the label, eroded or dilated here and there, with a miss or a false
// alarm; worse on siteB) and, per tap, a kNN-confidence grid at the tap's resolution that
// drops along the prediction's boundaries and, on siteB, around the middle of the network.
//
// Deterministic: the same arguments always give the same file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const pointsArg = args.indexOf('--points');
const pointsPerSplit = pointsArg >= 0 ? Number(args[pointsArg + 1]) : 500;
const mapsArg = args.indexOf('--maps-per-split');
const mapsPerSplit = mapsArg >= 0 ? Number(args[mapsArg + 1]) : 2;
const positional = args.filter(
  (a, i) => !a.startsWith('--') && (pointsArg < 0 || i !== pointsArg + 1) && (mapsArg < 0 || i !== mapsArg + 1),
);
const outFile = resolve(positional[0] ?? resolve(here, '../test/fixtures/results-sample.json'));

// ---------------------------------------------------------------- seeded randomness
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(20211);
const gauss = () => {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
};
const round = (x, d = 4) => Math.round(x * 10 ** d) / 10 ** d;
const jitter = (x, rel) => x * (1 + rel * gauss());

// ---------------------------------------------------------------- the network's taps
// [module path, op, stage, level, channels, spatial side, rf size, rf jump]
const H0 = 64;
const tapDefs = [
  ['enc1/relu1', 'Relu', 'encoder', 0, 8, 64, 3, 1],
  ['enc1/relu2', 'Relu', 'encoder', 0, 8, 64, 5, 1],
  ['pool1', 'MaxPool', 'encoder', 1, 8, 32, 6, 2],
  ['enc2/relu1', 'Relu', 'encoder', 1, 16, 32, 10, 2],
  ['enc2/relu2', 'Relu', 'encoder', 1, 16, 32, 14, 2],
  ['pool2', 'MaxPool', 'encoder', 2, 16, 16, 16, 4],
  ['bottleneck/relu1', 'Relu', 'bottleneck', 2, 32, 16, 24, 4],
  ['bottleneck/relu2', 'Relu', 'bottleneck', 2, 32, 16, 32, 4],
  ['up2', 'ConvTranspose', 'decoder', 1, 16, 32, 34, 2],
  ['dec2/relu1', 'Relu', 'decoder', 1, 16, 32, 38, 2],
  ['dec2/relu2', 'Relu', 'decoder', 1, 16, 32, 42, 2],
  ['up1', 'ConvTranspose', 'decoder', 0, 8, 64, 43, 1],
  ['dec1/relu1', 'Relu', 'decoder', 0, 8, 64, 45, 1],
  ['dec1/relu2', 'Relu', 'decoder', 0, 8, 64, 47, 1],
  ['head', 'Conv', 'decoder', 0, 2, 64, 47, 1],
];
const opSuffix = { Relu: 'Relu', MaxPool: 'MaxPool', ConvTranspose: 'ConvTranspose', Conv: 'Conv' };
const taps = tapDefs.map(([path, op, stage, level, c, side, size, jump], index) => ({
  name: `/${path}/${opSuffix[op]}_output_0`,
  op,
  index,
  stage,
  level,
  shape: [c, side, side],
  receptiveField: { size, jump },
}));
const n = taps.length;
// 0 at the input, 1 at the output: how "deep" a tap is, and how far from the bottleneck.
const depth = (i) => i / (n - 1);

// ---------------------------------------------------------------- splits and metrics
const splits = [
  {
    name: 'train', labeled: true, images: 40, foreground: 0.0681,
    performance: { dice: 0.931, accuracy: 0.9874, dicePerClass: [0.9951, 0.931] },
  },
  {
    name: 'test', labeled: true, images: 20, foreground: 0.0642,
    performance: { dice: 0.862, accuracy: 0.9751, dicePerClass: [0.9902, 0.862] },
  },
  {
    name: 'siteB', labeled: false, images: 25, foreground: 0.0297,
    performance: null,
    predictedPerformance: { dice: 0.712, low: 0.624, high: 0.793 },
  },
];
// How far each split is from the training distribution (drives the fake numbers).
const shiftOf = { train: 0, test: 0.15, siteB: 0.9 };
const nanTap = '/dec1/relu1/Relu_output_0';
const warnings = [
  `Tap ${nanTap}: split "test": activations held NaN or Inf at 3 locations; metrics left out for this tap and split.`,
];

const metrics = {};
for (const split of splits) {
  const sh = shiftOf[split.name];
  const perTap = {};
  for (const [i, tap] of taps.entries()) {
    const d = depth(i);
    const side = tap.shape[1];
    const points = Math.min(4096, split.images * side * side);
    if (split.name === 'test' && tap.name === nanTap) {
      perTap[tap.name] = { db: null, roughness: null, knnConfidence: null, knnConfidenceFg: null, featureShift: null, points };
      continue;
    }
    // separation improves with depth (DB falls), a bump at the bottleneck
    const dbBase = 3.6 - 2.9 * d + 0.35 * Math.exp(-((d - 0.5) ** 2) / 0.01);
    const db = split.labeled ? round(jitter(dbBase * (1 + 0.6 * sh), 0.04), 4) : null;
    const rough = round(jitter((2.6 - 1.3 * d + 0.4 * Math.sin(6 * d)) * (1 + 0.5 * sh), 0.05), 4);
    const conf = round(Math.min(1, Math.max(0, jitter(0.82 + 0.15 * d - 0.3 * sh * Math.sin(Math.PI * d), 0.015))), 4);
    const shiftBase = 1 + sh * (0.3 + 2.4 * Math.sin(Math.PI * Math.min(1, d * 1.2)));
    const shift = round(split.name === 'train' ? jitter(1.0, 0.02) : jitter(shiftBase, 0.04), 4);
    // the foreground alone: lower than over every point (mostly background), and falling more
    // on a shifted split (no draw from the generator: the rest of the file stays as it was)
    const confFg = round(Math.min(1, Math.max(0, conf - 0.22 - 0.5 * sh * Math.sin(Math.PI * d))), 4);
    perTap[tap.name] = { db, roughness: rough, knnConfidence: conf, knnConfidenceFg: confFg, featureShift: shift, points };
  }
  metrics[split.name] = perTap;
}

// ---------------------------------------------------------------- PCA
const pca = {};
for (const [i, tap] of taps.entries()) {
  const d = depth(i);
  const sep = 0.6 + 3.2 * d; // class centroids move apart with depth
  const ev0 = round(0.28 + 0.35 * d + 0.05 * gauss(), 3);
  const ev1 = round((1 - ev0) * (0.35 + 0.05 * gauss()), 3);
  const ev2 = round((1 - ev0 - ev1) * (0.3 + 0.05 * gauss()), 3);
  const points = {};
  for (const split of splits) {
    const sh = shiftOf[split.name];
    const rows = [];
    for (let p = 0; p < pointsPerSplit; p++) {
      const label = rand() < 0.78 ? 0 : 1;
      const cx = label === 0 ? -sep / 2 : sep / 2;
      const cy = label === 0 ? 0.3 * sep : -0.4 * sep;
      const spread = label === 0 ? 1.0 : 0.7;
      const off = sh * (0.5 + 2.5 * Math.sin(Math.PI * d));
      rows.push([
        round(cx + spread * gauss() + off, 4),
        round(cy + 0.7 * spread * gauss() + 0.6 * off, 4),
        round(0.5 * spread * gauss() - 0.4 * off, 4),
        label,
      ]);
    }
    points[split.name] = rows;
  }
  pca[tap.name] = { explainedVariance: [ev0, ev1, ev2], points };
}

// ---------------------------------------------------------------- maps
// Own random stream, so adding maps leaves every number above as it was.
const mrand = mulberry32(7331);
const mgauss = () => {
  const u = Math.max(mrand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * mrand());
};
const P = H0; // preview side

/** Distance transform (chessboard, two passes) to the nearest pixel where mask != value. */
function distanceTo(mask, w, h, value) {
  const INF = 1e9;
  const d = new Float64Array(w * h);
  for (let i = 0; i < w * h; i++) d[i] = mask[i] === value ? INF : 0;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (x > 0) d[i] = Math.min(d[i], d[i - 1] + 1);
      if (y > 0) d[i] = Math.min(d[i], d[i - w] + 1);
      if (x > 0 && y > 0) d[i] = Math.min(d[i], d[i - w - 1] + 1);
      if (x < w - 1 && y > 0) d[i] = Math.min(d[i], d[i - w + 1] + 1);
    }
  for (let y = h - 1; y >= 0; y--)
    for (let x = w - 1; x >= 0; x--) {
      const i = y * w + x;
      if (x < w - 1) d[i] = Math.min(d[i], d[i + 1] + 1);
      if (y < h - 1) d[i] = Math.min(d[i], d[i + w] + 1);
      if (x < w - 1 && y < h - 1) d[i] = Math.min(d[i], d[i + w + 1] + 1);
      if (x > 0 && y < h - 1) d[i] = Math.min(d[i], d[i + w - 1] + 1);
    }
  return d;
}

function scene(shift) {
  const n = 1 + Math.floor(mrand() * 3);
  const blobs = [];
  for (let k = 0; k < n; k++) {
    blobs.push({
      cx: 10 + mrand() * (P - 20), cy: 10 + mrand() * (P - 20),
      a: 3 + mrand() * 7, b: 3 + mrand() * 7, th: mrand() * Math.PI,
      c: 0.18 + mrand() * 0.22,
    });
  }
  // smooth texture: a few low-frequency waves plus noise
  const waves = Array.from({ length: 4 }, () => ({ fx: mrand() * 0.3, fy: mrand() * 0.3, ph: mrand() * 6.28, amp: 0.03 + mrand() * 0.04 }));
  const gx = (mrand() - 0.5) * 0.004;
  const preview = [];
  const label = [];
  for (let y = 0; y < P; y++)
    for (let x = 0; x < P; x++) {
      let v = 0.35 + gx * (x - P / 2) * P / 8;
      for (const w of waves) v += w.amp * Math.sin(w.fx * x + w.fy * y + w.ph);
      let inside = 0;
      for (const b of blobs) {
        const dx = x - b.cx;
        const dy = y - b.cy;
        const u = (dx * Math.cos(b.th) + dy * Math.sin(b.th)) / b.a;
        const t = (-dx * Math.sin(b.th) + dy * Math.cos(b.th)) / b.b;
        const r2 = u * u + t * t;
        v += b.c / (1 + Math.exp((r2 - 1) * 6));
        if (r2 <= 1) inside = 1;
      }
      v += 0.03 * (1 + shift) * mgauss();
      if (shift > 0.5) v = 0.22 + 0.55 * v; // the "other scanner": lower gain
      preview.push(Math.max(0, Math.min(255, Math.round(v * 255))));
      label.push(inside);
    }
  return { preview, label, blobs };
}

function predictionOf(label, shift) {
  // erode or dilate by one pixel in places, and on a shifted split miss a blob half
  const pred = label.slice();
  const grow = mrand() < 0.5;
  for (let y = 1; y < P - 1; y++)
    for (let x = 1; x < P - 1; x++) {
      const i = y * P + x;
      const nb = label[i - 1] + label[i + 1] + label[i - P] + label[i + P];
      const edge = nb > 0 && nb < 4;
      if (edge && mrand() < 0.5) pred[i] = grow ? 1 : label[i] && nb >= 3 ? 1 : 0;
    }
  if (shift > 0.5) {
    const cut = Math.floor(P * (0.3 + 0.4 * mrand()));
    for (let y = 0; y < P; y++) for (let x = cut; x < P; x++) if (mrand() < 0.9) pred[y * P + x] = 0;
  }
  if (mrand() < 0.4 + shift * 0.5) {
    // a false alarm: a small blob
    const cx = 6 + Math.floor(mrand() * (P - 12));
    const cy = 6 + Math.floor(mrand() * (P - 12));
    for (let y = cy - 2; y <= cy + 2; y++) for (let x = cx - 2; x <= cx + 2; x++) if ((x - cx) ** 2 + (y - cy) ** 2 <= 5) pred[y * P + x] = 1;
  }
  return pred;
}

function confidenceGrid(pred, tap, i, shift) {
  const side = tap.shape[1];
  const f = P / side;
  // distance (preview px) to the prediction's boundary
  const dIn = distanceTo(pred, P, P, 1);
  const dOut = distanceTo(pred, P, P, 0);
  const d = depth(i);
  const midDip = shift * 0.45 * Math.sin(Math.PI * d); // shifted data: unsure in the middle
  const width = 1.5 + 5 * (1 - d) * (1 - d); // early taps: wide unsure bands
  const values = [];
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) {
      const py = Math.min(P - 1, Math.floor((y + 0.5) * f));
      const px = Math.min(P - 1, Math.floor((x + 0.5) * f));
      const j = py * P + px;
      const dist = Math.max(dIn[j], dOut[j]) - 1;
      let c = 0.97 - 0.55 * Math.exp(-(dist * dist) / (2 * width * width)) - midDip * (0.6 + 0.4 * mrand());
      c += 0.04 * mgauss();
      values.push(Math.round(Math.max(0, Math.min(1, c)) * 100) / 100);
    }
  return { dims: [side, side], values };
}

const maps = { items: [] };
for (const split of splits) {
  const sh = shiftOf[split.name];
  for (let k = 0; k < mapsPerSplit; k++) {
    const { preview, label } = scene(sh);
    const prediction = predictionOf(label, sh);
    const confidence = {};
    for (const [i, tap] of taps.entries()) {
      if (split.name === 'test' && tap.name === nanTap) continue; // as in the metrics: no values there
      confidence[tap.name] = confidenceGrid(prediction, tap, i, sh);
    }
    maps.items.push({
      split: split.name,
      image: `case${String(k * 7 + 3).padStart(3, '0')}`,
      preview: { dims: [P, P], values: preview },
      label: split.labeled ? label : null,
      prediction,
      confidence,
    });
  }
}


// ---------------------------------------------------------------- performance without labels
// METHOD.md §5 (types.ts PerformanceWithoutLabels): the test split shifted by five families
// at four strengths each, plus the unshifted copy; per copy the true Dice, the output's own
// statistics and the label-free features per tap; Spearman ρ per tap and metric over the
// copies; leave-one-family-out predictions of the three predictors; estimates for siteB.
// Own random stream, so the numbers above stay as they were. A drawing fixture: the
// "predictions" are the truth plus made-up errors (larger and biased upwards for the
// output baselines, which stay confident under shift), not the output of a fit.
const srand = mulberry32(5051);
const sgauss = () => {
  const u = Math.max(srand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * srand());
};
const FAMILIES = ['noise', 'blur', 'gamma', 'contrast', 'scale'];
// (the engine's default strengths and labels, src/engine/shift/transforms.ts)
const STRENGTHS = {
  noise: [0.04, 0.08, 0.16, 0.32],
  blur: [0.6, 1.2, 2.0, 3.2],
  gamma: [0.5, 0.7, 1.5, 2.2],
  contrast: [0.7, 0.5, 0.35, 0.2],
  scale: [0.6, 0.8, 1.25, 1.6],
};
// how severe a strength is, 0..1
const severity = {
  noise: (v) => v / 0.32,
  blur: (v) => v / 3.2,
  gamma: (v) => Math.min(1, Math.abs(Math.log(v)) / Math.log(2.2)),
  contrast: (v) => (1 - v) / 0.8,
  scale: (v) => Math.min(1, Math.abs(Math.log(v)) / Math.log(1.6)),
};
const strengthText = {
  noise: (v) => `noise σ=${v.toFixed(2)}·range`,
  blur: (v) => `blur σ=${v.toFixed(1)} px`,
  gamma: (v) => `gamma γ=${v.toFixed(2)}`,
  contrast: (v) => `contrast ×${v.toFixed(2)}`,
  scale: (v) => `intensity ×${v.toFixed(2)}`,
};
// How hard each family hits the model (Dice drop at severity 1), and where in the network
// it shows first (0 = input side, 1 = output side).
const familyDrop = { noise: 0.42, blur: 0.3, gamma: 0.2, contrast: 0.34, scale: 0.12 };
const familyWhere = { noise: 0.15, blur: 0.35, gamma: 0.25, contrast: 0.3, scale: 0.2 };
const baseDice = splits.find((s) => s.name === 'test').performance.dice;
const clamp01 = (x) => Math.min(1, Math.max(0, x));

/** Features of a copy at severity `sev` (0..1): the test split's metrics, moved by the shift. */
function shiftedFeatures(sev, where) {
  const out = {};
  for (const [i, tap] of taps.entries()) {
    const base = metrics.test[tap.name];
    if (base.featureShift === null) {
      out[tap.name] = { roughness: null, knnConfidence: null, featureShift: null, knnDice: null };
      continue;
    }
    const d = depth(i);
    // the shift shows most around `where` and in the middle of the network
    const reach = sev * (0.45 + 0.55 * Math.exp(-((d - where) ** 2) / 0.08)) * (0.6 + 0.6 * Math.sin(Math.PI * d));
    // the ends of the network follow the shift less faithfully than its middle
    const blur = 1 + 3 * (1 - Math.sin(Math.PI * d));
    out[tap.name] = {
      roughness: round(base.roughness * (1 + 0.25 * reach * (0.3 + d) + 0.05 * blur * sgauss()), 4),
      knnConfidence: round(clamp01(base.knnConfidence - 0.32 * reach + 0.02 * blur * sgauss()), 4),
      featureShift: round(base.featureShift * (1 + 1.6 * reach) + 0.07 * blur * sgauss(), 4),
      // the Dice the train neighbours' labels suggest: follows the truth, best near the output
      knnDice: round(clamp01(0.5 + 0.45 * d - 0.3 * reach + 0.03 * blur * sgauss()), 4),
    };
  }
  return out;
}

const shifts = [];
const addCopy = (family, strength, label, sev, where) => {
  const perf = family === 'none' ? baseDice : clamp01(baseDice - familyDrop[family] * sev ** 1.3 + 0.012 * sgauss());
  shifts.push({
    family,
    strength,
    label,
    images: 20,
    performance: round(perf, 4),
    // the output stays sure of itself under shift: max-softmax falls only a little
    output: {
      maxProbability: round(clamp01(0.985 - 0.05 * sev - 0.02 * (baseDice - perf) + 0.004 * sgauss()), 4),
      entropy: round(0.045 + 0.11 * sev + 0.05 * (baseDice - perf) + 0.006 * Math.abs(sgauss()), 4),
    },
    features: shiftedFeatures(sev, where),
    lofo: null,
  });
};
addCopy('none', 0, 'unshifted', 0, 0.3);
for (const fam of FAMILIES) {
  for (const v of STRENGTHS[fam]) addCopy(fam, v, strengthText[fam](v), severity[fam](v), familyWhere[fam]);
}

/** Spearman ρ (average ranks for ties); null with fewer than 3 pairs or a constant side. */
function spearman(a, b) {
  const pairs = a.map((x, i) => [x, b[i]]).filter(([x, y]) => x !== null && y !== null);
  if (pairs.length < 3) return null;
  const rank = (v) => {
    const idx = v.map((x, i) => [x, i]).sort((p, q) => p[0] - q[0]);
    const r = new Array(v.length);
    for (let i = 0; i < idx.length; ) {
      let j = i;
      while (j + 1 < idx.length && idx[j + 1][0] === idx[i][0]) j++;
      for (let k = i; k <= j; k++) r[idx[k][1]] = (i + j) / 2;
      i = j + 1;
    }
    return r;
  };
  const ra = rank(pairs.map((p) => p[0]));
  const rb = rank(pairs.map((p) => p[1]));
  const mean = (v) => v.reduce((s, x) => s + x, 0) / v.length;
  const ma = mean(ra);
  const mb = mean(rb);
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < ra.length; i++) {
    num += (ra[i] - ma) * (rb[i] - mb);
    da += (ra[i] - ma) ** 2;
    db += (rb[i] - mb) ** 2;
  }
  return da === 0 || db === 0 ? null : round(num / Math.sqrt(da * db), 4);
}

const truth = shifts.map((c) => c.performance);
const LF = ['roughness', 'knnConfidence', 'featureShift', 'knnDice'];
const indicativeness = {};
for (const tap of taps) {
  indicativeness[tap.name] = Object.fromEntries(LF.map((m) => [m, spearman(shifts.map((c) => c.features[tap.name][m]), truth)]));
}
// as in the engine, the features predictor reads every (tap, metric) finite on every copy
const featureInputs = taps
  .flatMap((t) => LF.map((m) => ({ tap: t.name, m })))
  .filter(({ tap, m }) => shifts.every((c) => c.features[tap][m] !== null))
  .map((x) => `${x.tap}:${x.m}`);

// LOFO "predictions": the truth plus an error; the baselines overshoot under strong shifts
for (const c of shifts) {
  const gap = baseDice - c.performance;
  c.lofo = {
    features: round(clamp01(c.performance + 0.03 * sgauss() + 0.1 * gap * (c.family === 'scale' ? 1 : 0.2)), 4),
    maxProbability: round(clamp01(c.performance + 0.55 * gap + 0.035 * sgauss()), 4),
    entropy: c.family === 'scale' && c.strength > 1.5 ? null : round(clamp01(c.performance + 0.45 * gap + 0.045 * sgauss()), 4),
  };
}
const shifted = shifts.filter((c) => c.family !== 'none');
function summary(p) {
  const err = shifted.filter((c) => c.lofo[p] !== null).map((c) => c.lofo[p] - c.performance);
  const sorted = [...err].sort((a, b) => a - b);
  const q = (f) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(f * (sorted.length - 1))))];
  return {
    lofoMae: round(err.reduce((s, e) => s + Math.abs(e), 0) / err.length, 4),
    lofoSpearman: spearman(shifted.map((c) => c.lofo[p]), shifted.map((c) => c.performance)),
    // a prediction above the truth needs room below, and the other way round
    interval: { below: round(Math.max(0, q(0.9)), 4), above: round(Math.max(0, -q(0.1)), 4) },
  };
}
const predictors = {
  features: {
    description: `Ridge regression on ${featureInputs.length} label-free interior features (knnConfidence, log featureShift, log roughness per tap; standardised, α by leave-one-family-out error), fitted on ${shifted.length} shifted copies.`,
    inputs: featureInputs,
    ...summary('features'),
  },
  maxProbability: {
    description: 'Baseline: a straight line from the mean max-softmax probability of the final output.',
    inputs: ['maxProbability'],
    ...summary('maxProbability'),
  },
  entropy: {
    description: 'Baseline: a straight line from the mean predictive entropy of the final output.',
    inputs: ['entropy'],
    ...summary('entropy'),
  },
};
const siteBFeatures = Object.fromEntries(
  taps.map((t, i) => [
    t.name,
    {
      ...Object.fromEntries(LF.filter((m) => m !== 'knnDice').map((m) => [m, metrics.siteB[t.name][m]])),
      knnDice: round(clamp01(0.48 + 0.4 * depth(i) - 0.2 * Math.sin(Math.PI * depth(i)) + 0.02 * sgauss()), 4),
    },
  ]),
);
const siteBPred = splits.find((s) => s.name === 'siteB').predictedPerformance;
const estimate = (v, p) => ({ value: round(v, 4), low: round(v - p.interval.below, 4), high: round(Math.min(1, v + p.interval.above), 4) });
const performanceWithoutLabels = {
  metric: 'dice',
  calibration: { splits: ['test'], images: 20, heldOutOfTrain: false },
  settings: { maxPoints: 1024, kmeansInits: 3, families: FAMILIES, strengths: STRENGTHS },
  shifts,
  indicativeness,
  predictors,
  splits: {
    siteB: {
      output: { maxProbability: 0.9521, entropy: 0.1284 },
      features: siteBFeatures,
      predicted: {
        // the same estimate as splits[siteB].predictedPerformance
        features: { value: siteBPred.dice, low: siteBPred.low, high: siteBPred.high },
        maxProbability: estimate(0.843, predictors.maxProbability),
        entropy: estimate(0.821, predictors.entropy),
      },
    },
  },
  timingMs: 5230,
};

const results = {
  schema: 'unet-lens/results@1',
  methodVersion: '1',
  createdAt: '2026-11-27T12:00:00.000Z',
  tool: { name: 'unet-lens', version: '0.1.0', backend: 'onnxruntime-node 1.30.0 (cpu, 2 threads)' },
  model: {
    path: '/workspace/examples/synthetic/model.onnx',
    sha256: '5f1c0b7e2a9d4c3b8e6f7a1d2c3b4a5968778695a4b3c2d1e0f9a8b7c6d5e4f3',
    format: 'onnx',
    inputs: [{ name: 'input', dims: ['N', 1, H0, H0], type: 'float32' }],
    outputs: [{ name: 'logits', dims: ['N', 2, H0, H0], type: 'float32' }],
  },
  dataset: {
    path: '/workspace/examples/synthetic/unetlens.json',
    task: 'segmentation',
    classes: ['background', 'lesion'],
  },
  settings: { maxPoints: 4096, k: 10, seed: 0, maxTaps: 64 },
  taps,
  tapsLeftOut: [],
  splits,
  metrics,
  pca,
  maps,
  performanceWithoutLabels,
  warnings,
  timings: { totalMs: 8421, loadMs: 212, forwardMs: 1310, metricsMs: 6899 },
};

mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, JSON.stringify(results) + '\n');
console.log(
  `wrote ${outFile} (${taps.length} taps, ${splits.length} splits, ${pointsPerSplit} PCA points per split, ${maps.items.length} image maps, ${shifts.length} shifted copies)`,
);
