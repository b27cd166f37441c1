#!/usr/bin/env node
// Writes test/fixtures/results-sample.json: a plausible results file (CONTRACT.md §3) for
// developing and testing the panel and the report. The numbers are random but shaped like
// a real run of the bundled 3-level example UNet (examples/synthetic): they are a drawing
// fixture only, never a reference for the metrics.
//
//   node scripts/make_sample_results.mjs [outFile] [--points N]
//
// Deterministic: the same arguments always give the same file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const pointsArg = args.indexOf('--points');
const pointsPerSplit = pointsArg >= 0 ? Number(args[pointsArg + 1]) : 500;
const positional = args.filter((a, i) => !a.startsWith('--') && (pointsArg < 0 || i !== pointsArg + 1));
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
    name: 'train', labeled: true, images: 40,
    performance: { dice: 0.931, accuracy: 0.9874, dicePerClass: [0.9951, 0.931] },
  },
  {
    name: 'test', labeled: true, images: 20,
    performance: { dice: 0.862, accuracy: 0.9751, dicePerClass: [0.9902, 0.862] },
  },
  {
    name: 'siteB', labeled: false, images: 25,
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
      perTap[tap.name] = { db: null, roughness: null, knnConfidence: null, featureShift: null, points };
      continue;
    }
    // separation improves with depth (DB falls), a bump at the bottleneck
    const dbBase = 3.6 - 2.9 * d + 0.35 * Math.exp(-((d - 0.5) ** 2) / 0.01);
    const db = split.labeled ? round(jitter(dbBase * (1 + 0.6 * sh), 0.04), 4) : null;
    const rough = round(jitter((2.6 - 1.3 * d + 0.4 * Math.sin(6 * d)) * (1 + 0.5 * sh), 0.05), 4);
    const conf = round(Math.min(1, Math.max(0, jitter(0.82 + 0.15 * d - 0.3 * sh * Math.sin(Math.PI * d), 0.015))), 4);
    const shiftBase = 1 + sh * (0.3 + 2.4 * Math.sin(Math.PI * Math.min(1, d * 1.2)));
    const shift = round(split.name === 'train' ? jitter(1.0, 0.02) : jitter(shiftBase, 0.04), 4);
    perTap[tap.name] = { db, roughness: rough, knnConfidence: conf, featureShift: shift, points };
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
  maps: { items: [] },
  warnings,
  timings: { totalMs: 8421, loadMs: 212, forwardMs: 1310, metricsMs: 6899 },
};

mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, JSON.stringify(results) + '\n');
console.log(`wrote ${outFile} (${taps.length} taps, ${splits.length} splits, ${pointsPerSplit} PCA points per split)`);
