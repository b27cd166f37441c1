/**
 * Micro-benchmark of knnSearch (src/engine/metrics/knn.ts) against NumPy / scikit-learn.
 *
 *   node --import tsx bench/knn.bench.ts [--runs 3] [--n 4096] [--dims 32,128] [--no-ort] [--no-python]
 *
 * For each dim: 4096 seeded points (4 Gaussian clusters, ReLU-like), leave-one-out k = 10.
 * Prints the median time of
 *   - knnSearch with the default JavaScript gemm hook (gemmNT),
 *   - knnSearchAsync with the onnxruntime-node `Gemm` (transB = 1) hook of
 *     src/engine/metrics/gemm-onnx.ts (a one-node model built in memory),
 *   - scikit-learn NearestNeighbors(algorithm='brute').kneighbors(None, 10) on the same float32
 *     points, in a /usr/bin/python3 child started by this script,
 * and the GFLOP/s of each matrix product (4096×dim · dim×4096), with ratios to NumPy/sklearn.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prng } from '../src/engine/metrics/prng';
import { gemmNT, knnSearch, knnSearchAsync, type AsyncGemm } from '../src/engine/metrics/knn';
import { median } from '../src/engine/metrics/stats';
import { createOnnxGemm } from '../src/engine/metrics/gemm-onnx';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const RUNS = Number(opt('--runs', '3'));
const N = Number(opt('--n', '4096'));
const DIMS = opt('--dims', '32,128').split(',').map(Number);
const K = 10;
const useOrt = !args.includes('--no-ort');
const usePython = !args.includes('--no-python');

function makePoints(n: number, dim: number, seed: number): Float32Array {
  const r = new Prng(seed);
  const centres = Array.from({ length: 4 }, () => Array.from({ length: dim }, () => r.normal()));
  const x = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = centres[r.int(4)];
    for (let d = 0; d < dim; d++) x[i * dim + d] = Math.max(0, c[d] + r.normal() * 0.8 + 0.3);
  }
  return x;
}

function timeIt(fn: () => void, runs: number): number {
  fn(); // warm-up
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}

async function timeItAsync(fn: () => Promise<void>, runs: number): Promise<number> {
  await fn();
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}

async function ortGemm(): Promise<AsyncGemm | null> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const ort = require('onnxruntime-node');
    return await createOnnxGemm(ort, { intraOpNumThreads: 2, graphOptimizationLevel: 'all' });
  } catch (e) {
    console.log(`(onnxruntime hook unavailable: ${(e as Error).message})`);
    return null;
  }
}

// ───────────── the Python side ─────────────

const PY = String.raw`
import json, sys, time
import numpy as np
from sklearn.neighbors import NearestNeighbors
path, n, dim, k, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
X = np.fromfile(path, dtype='<f4').reshape(n, dim)
def timed(f):
    f()
    t = []
    for _ in range(runs):
        t0 = time.perf_counter(); f(); t.append(time.perf_counter() - t0)
    return float(np.median(t)) * 1000
gemm_ms = timed(lambda: X @ X.T)
res = {}
def knn():
    nn = NearestNeighbors(n_neighbors=k, algorithm='brute').fit(X)
    res['idx'] = nn.kneighbors(None, n_neighbors=k, return_distance=False)
knn_ms = timed(knn)
print(json.dumps({'gemm_ms': gemm_ms, 'knn_ms': knn_ms, 'idx': res['idx'].ravel().tolist()}))
`;

function python(x: Float32Array, n: number, dim: number): { gemm_ms: number; knn_ms: number; idx: number[] } | null {
  const dir = mkdtempSync(join(tmpdir(), 'knn-bench-'));
  try {
    const file = join(dir, 'x.f32');
    writeFileSync(file, Buffer.from(x.buffer, x.byteOffset, x.byteLength));
    const r = spawnSync('/usr/bin/python3', ['-c', PY, file, String(n), String(dim), String(K), String(RUNS)], { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (r.status !== 0) {
      console.log(`(python side failed: ${r.error?.message ?? r.stderr.trim().split('\n').pop()})`);
      return null;
    }
    return JSON.parse(r.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ───────────── run ─────────────

async function main(): Promise<void> {
  console.log(`knnSearch benchmark: n = ${N}, k = ${K}, leave-one-out, median of ${RUNS} runs (after a warm-up); node ${process.version}`);
  const ort = useOrt ? await ortGemm() : null;
  const fmt = (ms: number) => `${ms.toFixed(0).padStart(6)} ms`;
  const gflops = (ms: number, dim: number) => (2 * N * N * dim) / (ms * 1e6);
  for (const dim of DIMS) {
    const x = makePoints(N, dim, dim);
    const out = new Float32Array(N * N);
    const gemmJs = timeIt(() => gemmNT(x, N, x, N, dim, out), RUNS);
    let res = knnSearch({ query: x, nq: N, ref: x, nr: N, dim, k: K, excludeSelf: true });
    const knnJs = timeIt(() => {
      res = knnSearch({ query: x, nq: N, ref: x, nr: N, dim, k: K, excludeSelf: true });
    }, RUNS);
    console.log(`\ndim ${dim}`);
    console.log(`  JS gemm hook (gemmNT)       gemm ${fmt(gemmJs)}  ${gflops(gemmJs, dim).toFixed(2).padStart(6)} GFLOP/s   knnSearch ${fmt(knnJs)}   (candidates/query ${res.candidatesPerQuery.toFixed(2)})`);
    let gemmOrt = NaN;
    let knnOrt = NaN;
    if (ort) {
      gemmOrt = await timeItAsync(async () => ort(x, N, x, N, dim, out), RUNS);
      let r2 = await knnSearchAsync({ query: x, nq: N, ref: x, nr: N, dim, k: K, excludeSelf: true, gemm: ort });
      knnOrt = await timeItAsync(async () => {
        r2 = await knnSearchAsync({ query: x, nq: N, ref: x, nr: N, dim, k: K, excludeSelf: true, gemm: ort });
      }, RUNS);
      const same = r2.indices.every((v, i) => v === res.indices[i]);
      console.log(`  onnxruntime Gemm hook       gemm ${fmt(gemmOrt)}  ${gflops(gemmOrt, dim).toFixed(2).padStart(6)} GFLOP/s   knnSearch ${fmt(knnOrt)}   (same neighbours as JS: ${same})`);
    }
    const py = usePython ? python(x, N, dim) : null;
    if (py) {
      let differ = 0;
      for (let q = 0; q < N; q++) {
        for (let j = 0; j < K; j++) {
          if (py.idx[q * K + j] !== res.indices[q * K + j]) {
            differ++;
            break;
          }
        }
      }
      console.log(`  NumPy / sklearn (brute)     gemm ${fmt(py.gemm_ms)}  ${gflops(py.gemm_ms, dim).toFixed(2).padStart(6)} GFLOP/s   kneighbors ${fmt(py.knn_ms)}   (queries whose neighbour list differs from ours: ${differ}; sklearn ranks by float32 distances, ours are exact float64)`);
      console.log(`  ratio (ours / Python): JS knnSearch ${(knnJs / py.knn_ms).toFixed(2)}×, JS gemm ${(gemmJs / py.gemm_ms).toFixed(2)}×` + (ort ? `; ORT knnSearch ${(knnOrt / py.knn_ms).toFixed(2)}×, ORT gemm ${(gemmOrt / py.gemm_ms).toFixed(2)}×` : ''));
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
