/**
 * Micro-benchmark of kMeans (src/engine/metrics/kmeans.ts), the roughness stage's k-means,
 * against scikit-learn's KMeans on the same points: the largest single gap found by
 * bench/analyze.bench.mjs (see bench/README.md).
 *
 *   node --import tsx bench/kmeans.bench.ts [--runs 3] [--n 4096] [--dims 32,128,512] [--k 2] [--n-init 10]
 *
 * For each dim: n seeded ReLU-like points (4 Gaussian clusters, clipped at 0), K = 2,
 * nInit = 10 (as the engine's roughness, KMEANS_INITS), seed 0. Prints the median ms of one
 * call on each side, the iterations of the winning run, and the ratio; `kMeansAsync` (the same
 * result through onnxruntime's Gemm, as the pipeline runs it; `--threads`, default 2) beside it,
 * and the same with its centre sums by the JavaScript loop instead of rowSums.ts's WebAssembly. The Python side is
 * KMeans(n_clusters=K, n_init=10, random_state=0) in /usr/bin/python3 with 1 OpenMP thread
 * (threadpoolctl; the fastest setting on this shared machine, as in the full benchmark).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prng } from '../src/engine/metrics/prng';
import { kMeans, kMeansAsync } from '../src/engine/metrics/kmeans';
import { createOnnxGemm } from '../src/engine/metrics/gemm-onnx';
import { median } from '../src/engine/metrics/stats';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const RUNS = Number(opt('--runs', '3'));
const N = Number(opt('--n', '4096'));
const DIMS = opt('--dims', '32,128,512').split(',').map(Number);
const K = Number(opt('--k', '2'));
const N_INIT = Number(opt('--n-init', '10'));
const THREADS = Number(opt('--threads', '2'));

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

const PY = `
import sys, time, json, numpy as np
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits
f, n, dim, k, n_init, runs = sys.argv[1], *map(int, sys.argv[2:])
x = np.fromfile(f, dtype=np.float32).reshape(n, dim)
with threadpool_limits(limits=1):
    KMeans(n_clusters=k, n_init=n_init, random_state=0).fit(x)
    ts = []
    for _ in range(runs):
        t = time.perf_counter(); km = KMeans(n_clusters=k, n_init=n_init, random_state=0).fit(x); ts.append((time.perf_counter() - t) * 1000)
print(json.dumps({"ms": sorted(ts)[len(ts) // 2], "iterations": int(km.n_iter_)}))
`;

async function main(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const gemm = await createOnnxGemm(require('onnxruntime-node'), { intraOpNumThreads: THREADS, graphOptimizationLevel: 'all' });
  const dir = mkdtempSync(join(tmpdir(), 'kmeans-bench-'));
  console.log(`kMeans: n = ${N}, K = ${K}, nInit = ${N_INIT}, median of ${RUNS} (ms per call); Gemm route: onnxruntime, ${THREADS} threads`);
  console.log('   dim    ours JS  (iters)  ours Gemm   same     sklearn  (iters)   JS/sklearn  Gemm/sklearn   Gemm, JS sums');
  for (const dim of DIMS) {
    const x = makePoints(N, dim, dim);
    const ref = kMeans({ points: x, n: N, dim, k: K, seed: 0, nInit: N_INIT }); // warm-up
    const t: number[] = [];
    let iters = 0;
    for (let r = 0; r < RUNS; r++) {
      const t0 = performance.now();
      iters = kMeans({ points: x, n: N, dim, k: K, seed: 0, nInit: N_INIT }).iterations;
      t.push(performance.now() - t0);
    }
    const ours = median(t);
    const g = await kMeansAsync({ points: x, n: N, dim, k: K, seed: 0, nInit: N_INIT, gemm });
    const same = g.inertia === ref.inertia && g.labels.every((v, i) => v === ref.labels[i]);
    const tg: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const t0 = performance.now();
      await kMeansAsync({ points: x, n: N, dim, k: K, seed: 0, nInit: N_INIT, gemm });
      tg.push(performance.now() - t0);
    }
    const oursG = median(tg);
    // the same route with the centre sums by the JavaScript loop (before rowSums.ts's WebAssembly)
    const tj: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const t0 = performance.now();
      await kMeansAsync({ points: x, n: N, dim, k: K, seed: 0, nInit: N_INIT, gemm, rowSums: 'js' });
      tj.push(performance.now() - t0);
    }
    const oursGJ = median(tj);
    const file = join(dir, `x${dim}.f32`);
    writeFileSync(file, Buffer.from(x.buffer, x.byteOffset, x.byteLength));
    const r = spawnSync('/usr/bin/python3', ['-c', PY, file, String(N), String(dim), String(K), String(N_INIT), String(RUNS)], { encoding: 'utf8' });
    const py = r.status === 0 ? JSON.parse(r.stdout.trim().split('\n').at(-1)!) : null;
    console.log(
      `${String(dim).padStart(6)} ${ours.toFixed(0).padStart(7)} ms (${String(iters).padStart(3)}) ${oursG.toFixed(0).padStart(7)} ms  ${same ? 'yes' : 'NO '}  ` +
        (py ? `${py.ms.toFixed(0).padStart(7)} ms (${String(py.iterations).padStart(3)})   ${(ours / py.ms).toFixed(2).padStart(8)}×  ${(oursG / py.ms).toFixed(2).padStart(8)}×` : `python failed: ${r.stderr.trim().split('\n').pop()}`) +
        `   ${oursGJ.toFixed(0).padStart(7)} ms (${(oursGJ / oursG).toFixed(2)}× the WebAssembly sums' time)`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
