#!/usr/bin/env node
/**
 * Benchmark of the FULL analysis: `unet-lens analyze` (our CLI, dist/cli.js) against the plain
 * researcher's pipeline (bench/python_pipeline.py: PyTorch hooks + NumPy + scikit-learn) on the
 * same model, data and settings, in the same invocation, runs alternating.
 *
 *   node bench/analyze.bench.mjs [--runs 3] [--large-runs 3] [--only example|large|manysplit|vol3d]
 *                                [--no-build] [--no-readme] [--threads 2] [--py-sklearn-threads 1]
 *                                [--with-sweep] [--before-cli old/dist/cli.js] [--profile] [--keep]
 *                                [--threads-compare 1,2] [--vol3d-data other/unetlens.json]
 *
 * Cases
 *   example  examples/synthetic/ (3-level UNet 8/16/32, 64x64, 48 + 24 + 24 images)
 *   large    bench/.data/ (4-level UNet 32/64/128/256 + bottleneck 512, 256x256, 100 images per
 *            split), made by `/usr/bin/python3 scripts/make_bench_model.py` (git-ignored)
 *   manysplit  bench/.data/manysplit/ (the example's model and train split + 16 splits of 16
 *            images, 12 labelled), made by `/usr/bin/python3 scripts/make_manysplit.py` (seconds)
 *   vol3d    bench/.data/vol3d/ (3-level 3D UNet 8/16/32, 32x64x64 uint8 .npy volumes, 40 per
 *            split), made by `/usr/bin/python3 scripts/make_bench3d.py` (2-3 minutes); ours only
 *            (the Python pipeline is 2D)
 * --threads-compare 1,2: instead of ours against Python, ours with `--threads 1` against ours with
 *   `--threads 2` (both --no-shifts), alternating; medians per stage and the ratio (the speed-up
 *   of the second count over the first); README block `threads:<case>`.
 * Ours runs with --no-shifts (the Python pipeline has no shift sweep: like for like);
 * --with-sweep adds a third alternating side, ours with the default settings (the sweep on).
 * Per run and side: wall time of the whole process (node or python start to exit, measured here),
 * peak RSS (GNU time's "%M", i.e. getrusage ru_maxrss of the child), CPU time (user + system, GNU
 * time's "%U" + "%S": steadier than wall time on a loaded machine), and the stage times each
 * side reports: results.timings (loadMs / forwardMs / metricsMs) for ours, the same names plus
 * importMs and the metric sub-stages for Python. Both sides: 2 compute threads (`--threads 2` for
 * onnxruntime, torch.set_num_threads(2); sklearn's OpenMP uses the 2 cores), batch 4,
 * maxPoints 4096, k 10, seed 0.
 * Prints a table of medians and ratios python/ours (> 1: ours is faster), a check that both sides
 * computed the same numbers (Dice equal; interior metrics close: they draw different random
 * samples, so they agree only statistically), and rewrites the figures section of
 * bench/README.md (between the `<!-- figures -->` markers) unless --no-readme.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildAndSnapshot, fmtMB, fmtS, fmtX, machine as machineText, median, ROOT, runCli, snapshotCli, timed as timedIn, writeReadmeBlock } from './benchlib.mjs';

const HERE = join(ROOT, 'bench');
const PY = '/usr/bin/python3';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
};
const flag = (name) => argv.includes(name);
const RUNS = Number(opt('--runs', '3'));
const LARGE_RUNS = Number(opt('--large-runs', '3'));
const ONLY = opt('--only', '');
const THREADS = Number(opt('--threads', '2'));
const PROFILE = flag('--profile');
/** The CLI that runs: a copy of dist/ taken after the build, so that others rebuilding dist/ mid-run change nothing. */
const SNAP = join(ROOT, 'bench/.data/cli');
const SK_THREADS = Number(opt('--py-sklearn-threads', '1'));
const WITH_SWEEP = flag('--with-sweep');
/** --before-cli path/to/cli.js: one more alternating side, an older build (before / after in one invocation). */
const BEFORE = opt('--before-cli', '');
const SNAP_BEFORE = join(ROOT, 'bench/.data/cli-before');
/** --vol3d-data file: another dataset file for the vol3d case (e.g. growth.bench.mjs's subsets in bench/.data/vol3d-sub/). */
const VOL3D_DATA = opt('--vol3d-data', '');
/** --threads-compare a,b: ours at `--threads a` against ours at `--threads b` (no Python). */
const THREADS_CMP = opt('--threads-compare', '') ? opt('--threads-compare', '').split(',').map(Number) : null;

const CASES = [
  {
    id: 'example',
    title: 'example (3-level UNet 8/16/32, 64×64, 48/24/24 images)',
    onnx: join(ROOT, 'examples/synthetic/model.onnx'),
    weights: join(ROOT, 'examples/synthetic/model.pt'),
    data: join(ROOT, 'examples/synthetic/unetlens.json'),
    arch: 'example',
    runs: RUNS,
  },
  {
    id: 'large',
    title: 'large (4-level UNet 32/64/128/256, bottleneck 512, 256×256, 100/100/100 images)',
    onnx: join(ROOT, 'bench/.data/model.onnx'),
    weights: join(ROOT, 'bench/.data/model.pt'),
    data: join(ROOT, 'bench/.data/unetlens.json'),
    arch: 'bench',
    runs: LARGE_RUNS,
  },
  {
    id: 'manysplit',
    title: 'many splits (the example model; train + 16 splits of 16 images at 64×64, 12 labelled)',
    onnx: join(ROOT, 'examples/synthetic/model.onnx'),
    weights: join(ROOT, 'examples/synthetic/model.pt'),
    data: join(ROOT, 'bench/.data/manysplit/unetlens.json'),
    arch: 'example',
    runs: RUNS,
    make: 'scripts/make_manysplit.py',
  },
  {
    id: 'vol3d',
    title: `3D (3-level 3D UNet 8/16/32, 32×64×64 volumes, ${VOL3D_DATA ? VOL3D_DATA : '40/40/40'})`,
    onnx: join(ROOT, 'bench/.data/vol3d/model.onnx'),
    weights: null,
    data: VOL3D_DATA ? resolve(ROOT, VOL3D_DATA) : join(ROOT, 'bench/.data/vol3d/unetlens.json'),
    runs: RUNS,
    make: 'scripts/make_bench3d.py',
  },
].filter((c) => (ONLY ? c.id === ONLY : c.id !== 'vol3d'));

// ─────────────────────────────────────────────── helpers

/** GNU time around a child process, in this run's temporary folder. */
const timed = (cmd, args, o) => timedIn(cmd, args, { ...o, tmp: TMP });

function runOurs(c, outDir, sweep = false, snap = SNAP, threads = THREADS) {
  const tag = `${sweep ? '-sweep' : ''}${snap === SNAP ? '' : '-before'}${threads === THREADS ? '' : `-t${threads}`}`;
  return runCli({ snap, onnx: c.onnx, data: c.data, outDir, extra: ['--threads', String(threads), ...(sweep ? [] : ['--no-shifts'])], logFile: join(TMP, `${c.id}-ours${tag}.log`), tmp: TMP });
}

async function runPython(c, outFile) {
  const r = await timed(PY, [join(HERE, 'python_pipeline.py'), '--arch', c.arch, '--weights', c.weights, '--data', c.data, '--out', outFile, '--threads', String(THREADS), '--sklearn-threads', String(SK_THREADS)], {
    logFile: join(TMP, `${c.id}-python.log`),
  });
  if (r.code !== 0) throw new Error(`python pipeline failed (exit ${r.code}) on ${c.id}:\n${r.err.split('\n').slice(-8).join('\n')}`);
  const results = JSON.parse(readFileSync(outFile, 'utf8'));
  return { ...r, timings: results.timings, results };
}

/** ONNX value name → PyTorch module path (`/enc1/relu2/Relu_output_0` → `enc1.relu2`, `logits` → the head). */
function modulePath(name, pyTaps) {
  if (!name.startsWith('/')) return pyTaps.at(-1);
  return name.replace(/\/[A-Za-z]+_output_\d+$/, '').slice(1).replace(/\//g, '.');
}

/** How closely the two sides agree (different random samples: statistical agreement only). */
function agreement(ours, py) {
  const keys = ['db', 'roughness', 'knnConfidence', 'featureShift'];
  const rel = Object.fromEntries(keys.map((k) => [k, []]));
  let missing = 0;
  for (const split of Object.keys(ours.metrics)) {
    for (const [tap, m] of Object.entries(ours.metrics[split])) {
      const q = py.metrics[split]?.[modulePath(tap, py.taps)];
      if (!q) {
        missing++;
        continue;
      }
      for (const k of keys) {
        if (m[k] == null || q[k] == null) continue;
        rel[k].push(Math.abs(m[k] - q[k]) / Math.max(1e-12, Math.abs(q[k])));
      }
    }
  }
  let diceDiff = 0;
  for (const s of ours.splits) {
    const p = py.splits.find((x) => x.name === s.name);
    if (s.performance?.dice != null && p?.performance?.dice != null) diceDiff = Math.max(diceDiff, Math.abs(s.performance.dice - p.performance.dice));
  }
  return {
    taps: `${ours.taps.length} / ${py.taps.length}`,
    missing,
    diceDiff,
    medianRel: Object.fromEntries(keys.map((k) => [k, median(rel[k])])),
  };
}

// ─────────────────────────────────────────────── main

const TMP = mkdtempSync(join(tmpdir(), 'unetlens-bench-'));
const machine = machineText();
const startedAt = new Date().toISOString();
const load0 = loadavg()[0];

buildAndSnapshot(!flag('--no-build'), SNAP);
if (BEFORE) snapshotCli(join(BEFORE, '..'), SNAP_BEFORE);
const pyVersions = spawnSync(PY, ['-c', 'import torch, sklearn, numpy; print(torch.__version__, sklearn.__version__, numpy.__version__)'], { encoding: 'utf8' }).stdout.trim().split(' ');
const ortVersion = JSON.parse(readFileSync(join(ROOT, 'node_modules/onnxruntime-node/package.json'), 'utf8')).version;

console.log(`UNet Lens full-analysis benchmark — ${startedAt}`);
console.log(`machine: ${machine}; load average at start ${load0.toFixed(2)}`);
console.log(`ours: node dist/cli.js analyze … --threads ${THREADS} (onnxruntime-node ${ortVersion}); python: ${PY} bench/python_pipeline.py --threads ${THREADS} (torch ${pyVersions[0]}, sklearn ${pyVersions[1]}, numpy ${pyVersions[2]})`);
console.log(`temporary outputs and logs: ${TMP}\n`);

/** --threads-compare a,b: ours at `--threads a` and at `--threads b`, alternating; medians per stage and their ratio. */
async function threadsCompare(c) {
  const [ta, tb] = THREADS_CMP;
  const runs = { [ta]: [], [tb]: [] };
  const loads = [];
  for (let r = 0; r < c.runs; r++) {
    for (const t of r % 2 === 0 ? [ta, tb] : [tb, ta]) {
      const o = await runOurs(c, join(TMP, `${c.id}-t${t}-${r}`), false, SNAP, t);
      runs[t].push(o);
      loads.push(loadavg()[0]);
      console.log(`  run ${r + 1} --threads ${t}: wall ${fmtS(o.wallMs)}, CPU ${fmtS(o.cpuMs)}, peak RSS ${fmtMB(o.rssMB)}, load ${fmtS(o.timings.loadMs)}, forward ${fmtS(o.timings.forwardMs)}, metrics ${fmtS(o.timings.metricsMs)}, maps ${fmtS(o.timings.mapsMs)} (load avg ${loads.at(-1).toFixed(1)})`);
    }
  }
  const rows = [
    ['wall time (process)', (o) => o.wallMs, fmtS],
    ['CPU time (process, user + system)', (o) => o.cpuMs, fmtS],
    ['peak RSS', (o) => o.rssMB, fmtMB],
    ['load (model, dataset file)', (o) => o.timings.loadMs, fmtS],
    ['forward (read, infer, labels, sampling)', (o) => o.timings.forwardMs, fmtS],
    ['metrics (all taps and splits)', (o) => o.timings.metricsMs, fmtS],
    ['maps', (o) => o.timings.mapsMs, fmtS],
  ].map(([label, f, fmt]) => {
    const a = median(runs[ta].map(f));
    const b = median(runs[tb].map(f));
    // each round's two runs are next to each other in time: their ratio shares the machine's load
    const paired = median(runs[ta].map((o, r) => f(o) / f(runs[tb][r])));
    return { label, a: fmt(a), b: fmt(b), ratio: fmtX(a / b), paired: fmtX(paired) };
  });
  console.log(`\n  ${'median of ' + c.runs}`.padEnd(44) + `--threads ${ta}`.padStart(13) + `--threads ${tb}`.padStart(13) + `  ${ta} / ${tb}` + '  per round');
  for (const r of rows) console.log(`  ${r.label.padEnd(42)}${r.a.padStart(13)}${r.b.padStart(13)}  ${r.ratio.padStart(8)}  ${r.paired.padStart(8)}`);
  console.log('');
  return { c, rows, ta, tb, taps: runs[ta][0].results.taps.length, loads };
}

const report = [];
const threadReport = [];
for (const c of CASES) {
  if (!existsSync(c.onnx) || (c.weights && !existsSync(c.weights)) || !existsSync(c.data)) {
    console.log(`${c.id}: missing ${c.onnx} (or its .pt / unetlens.json) — run: /usr/bin/python3 ${c.make ?? 'scripts/make_bench_model.py'}\n`);
    continue;
  }
  console.log(`── ${c.title}: ${c.runs} run(s) per side, alternating`);
  if (THREADS_CMP) {
    threadReport.push(await threadsCompare(c));
    continue;
  }
  if (!c.weights) {
    console.log(`  ${c.id}: no Python side (2D only); ours alone: --threads-compare, or bench/growth.bench.mjs\n`);
    continue;
  }
  const ours = [];
  const py = [];
  const sweep = [];
  const before = [];
  for (let r = 0; r < c.runs; r++) {
    const sides = ['ours', 'python', ...(WITH_SWEEP ? ['sweep'] : []), ...(BEFORE ? ['before'] : [])];
    const order = r % 2 === 0 ? sides : sides.slice().reverse();
    for (const side of order) {
      if (side === 'before') {
        const o = await runOurs(c, join(TMP, `${c.id}-before-${r}`), false, SNAP_BEFORE);
        before.push(o);
        console.log(`  run ${r + 1} before: wall ${fmtS(o.wallMs)}, CPU ${fmtS(o.cpuMs)}, peak RSS ${fmtMB(o.rssMB)}, load ${fmtS(o.timings.loadMs)}, forward ${fmtS(o.timings.forwardMs)}, metrics ${fmtS(o.timings.metricsMs)}, maps ${fmtS(o.timings.mapsMs)} (load avg ${loadavg()[0].toFixed(1)})`);
      } else if (side === 'sweep') {
        const o = await runOurs(c, join(TMP, `${c.id}-sweep-${r}`), true);
        sweep.push(o);
        console.log(`  run ${r + 1} ours with the sweep: wall ${fmtS(o.wallMs)}, CPU ${fmtS(o.cpuMs)}, peak RSS ${fmtMB(o.rssMB)}, shifts ${fmtS(o.timings.shiftsMs)} (load avg ${loadavg()[0].toFixed(1)})`);
      } else if (side === 'ours') {
        const o = await runOurs(c, join(TMP, `${c.id}-ours-${r}`));
        ours.push(o);
        console.log(`  run ${r + 1} ours:   wall ${fmtS(o.wallMs)}, CPU ${fmtS(o.cpuMs)}, peak RSS ${fmtMB(o.rssMB)}, load ${fmtS(o.timings.loadMs)}, forward ${fmtS(o.timings.forwardMs)}, metrics ${fmtS(o.timings.metricsMs)}, maps ${fmtS(o.timings.mapsMs)} (load avg ${loadavg()[0].toFixed(1)})`);
      } else {
        const p = await runPython(c, join(TMP, `${c.id}-python-${r}.json`));
        py.push(p);
        const t = p.timings;
        console.log(`  run ${r + 1} python: wall ${fmtS(p.wallMs)}, CPU ${fmtS(p.cpuMs)}, peak RSS ${fmtMB(p.rssMB)}, import ${fmtS(t.importMs)}, load ${fmtS(t.loadMs)}, forward ${fmtS(t.forwardMs)}, metrics ${fmtS(t.metricsMs)} [db ${fmtS(t.dbMs)}, k-means+DB ${fmtS(t.roughnessMs)}, kNN ${fmtS(t.knnMs)}, PCA ${fmtS(t.pcaMs)}], maps ${fmtS(t.mapsMs)} (load avg ${loadavg()[0].toFixed(1)})`);
      }
    }
  }
  const med = (arr, f) => median(arr.map(f));
  const row = (label, fo, fp, fmt) => {
    const a = med(ours, fo);
    const b = med(py, fp);
    return { label, ours: fmt(a), python: fmt(b), ratio: fmtX(b / a), a, b };
  };
  const rows = [
    row('wall time (process)', (o) => o.wallMs, (p) => p.wallMs, fmtS),
    row('CPU time (process, user + system)', (o) => o.cpuMs, (p) => p.cpuMs, fmtS),
    row('peak RSS', (o) => o.rssMB, (p) => p.rssMB, fmtMB),
    row('load (imports, model, dataset file)', (o) => o.timings.loadMs, (p) => p.timings.importMs + p.timings.loadMs, fmtS),
    row('forward (read, infer, labels, sampling)', (o) => o.timings.forwardMs, (p) => p.timings.forwardMs, fmtS),
    row('metrics (all taps and splits)', (o) => o.timings.metricsMs, (p) => p.timings.metricsMs, fmtS),
    row('maps (3 images per split, at most 64² locations per tap)', (o) => o.timings.mapsMs, (p) => p.timings.mapsMs, fmtS),
  ];
  const sub = {
    db: med(py, (p) => p.timings.dbMs),
    roughness: med(py, (p) => p.timings.roughnessMs),
    knn: med(py, (p) => p.timings.knnMs),
    pca: med(py, (p) => p.timings.pcaMs),
  };
  const agree = agreement(ours.at(-1).results, py.at(-1).results);
  const beforeRows = before.length
    ? [
        ['wall time (process)', (o) => o.wallMs, (p) => p.wallMs],
        ['CPU time (process, user + system)', (o) => o.cpuMs, (p) => p.cpuMs],
        ['forward', (o) => o.timings.forwardMs, (p) => p.timings.forwardMs],
        ['metrics', (o) => o.timings.metricsMs, (p) => p.timings.metricsMs],
        ['maps', (o) => o.timings.mapsMs, (p) => p.timings.mapsMs],
      ].map(([label, fo, fp]) => ({ label, before: med(before, fo), after: med(ours, fo), py: med(py, fp) }))
    : null;
  if (beforeRows) {
    console.log(`\n  before → after (median of ${c.runs}; python/ours ratios)`);
    for (const b of beforeRows) console.log(`  ${b.label.padEnd(42)}${fmtS(b.before).padStart(10)} → ${fmtS(b.after).padStart(9)}   ${fmtX(b.py / b.before).padStart(7)} → ${fmtX(b.py / b.after).padStart(7)}`);
  }
  const withSweep = sweep.length ? { wall: med(sweep, (o) => o.wallMs), cpu: med(sweep, (o) => o.cpuMs), shifts: med(sweep, (o) => o.timings.shiftsMs), pyWall: med(py, (p) => p.wallMs), pyCpu: med(py, (p) => p.cpuMs) } : null;
  report.push({ c, rows, sub, agree, runs: c.runs, taps: ours[0].results.taps.length, withSweep, beforeRows, load: loadavg()[0] });

  console.log(`\n  ${'median of ' + c.runs}`.padEnd(44) + 'ours'.padStart(10) + 'python'.padStart(10) + '  python/ours');
  for (const r of rows) console.log(`  ${r.label.padEnd(42)}${r.ours.padStart(10)}${r.python.padStart(10)}  ${r.ratio.padStart(8)}`);
  if (withSweep) console.log(`  ours with the sweep (default settings): wall ${fmtS(withSweep.wall)} (python/ours ${fmtX(withSweep.pyWall / withSweep.wall)}), CPU ${fmtS(withSweep.cpu)} (${fmtX(withSweep.pyCpu / withSweep.cpu)}), of which the sweep ${fmtS(withSweep.shifts)}`);
  console.log(`  python metric stages: db ${fmtS(sub.db)}, k-means + DB (roughness) ${fmtS(sub.roughness)}, kNN ${fmtS(sub.knn)}, PCA ${fmtS(sub.pca)}`);
  const mr = agree.medianRel;
  if (PROFILE) {
    const dir = join(TMP, `${c.id}-prof`);
    const r = await timed(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, join(SNAP, 'cli.js'), 'analyze', c.onnx, '--data', c.data, '--out', join(TMP, `${c.id}-ours-prof`), '--threads', String(THREADS)], {});
    const prof = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    const sum = spawnSync(process.execPath, [join(HERE, 'profile-summary.mjs'), join(dir, prof), '--map', join(SNAP, 'cli.js.map'), '--top', '15'], { encoding: 'utf8' });
    console.log(`  CPU profile of one more run of ours (wall ${fmtS(r.wallMs)} under the profiler; kept in ${dir} with --keep):`);
    console.log(sum.stdout.replace(/^/gm, '    '));
  }
  console.log(`  same numbers? taps ${agree.taps} (unmatched ${agree.missing}); Dice |diff| ${agree.diceDiff.toExponential(1)}; median relative difference of db ${(100 * mr.db).toFixed(1)}%, roughness ${(100 * mr.roughness).toFixed(1)}%, knnConfidence ${(100 * mr.knnConfidence).toFixed(2)}%, featureShift ${(100 * mr.featureShift).toFixed(1)}% (independent random samples of 4096 points)\n`);
}
const load1 = loadavg()[0];
console.log(`load average at end ${load1.toFixed(2)}`);

// ─────────────────────────────────────────────── README figures
// One block per case, between `<!-- figures:<id>:start -->` and `<!-- figures:<id>:end -->`;
// a run replaces the blocks of the cases it ran and leaves the others as they were.
const readme = join(HERE, 'README.md');
if (!flag('--no-readme') && report.length) {
  for (const r of report) {
    const lines = [];
    lines.push(`**${r.c.title}**, ${r.taps} taps; median of ${r.runs} run${r.runs > 1 ? 's' : ''} per side, alternating; ours with \`--no-shifts\` (like for like).`);
    lines.push(`Run ${startedAt} on ${machine}; load average ${load0.toFixed(1)} at start, ${load1.toFixed(1)} at end (shared machine).`);
    lines.push(`ours: onnxruntime-node ${ortVersion}, \`--threads ${THREADS}\`; python: torch ${pyVersions[0]}, scikit-learn ${pyVersions[1]}, NumPy ${pyVersions[2]}, \`torch.set_num_threads(${THREADS})\`.`);
    lines.push('');
    lines.push('| | ours (CLI) | Python pipeline | python / ours |');
    lines.push('|---|---:|---:|---:|');
    for (const x of r.rows) lines.push(`| ${x.label} | ${x.ours} | ${x.python} | ${x.ratio} |`);
    lines.push('');
    if (r.beforeRows) {
      lines.push('Before → after (the `--before-cli` build, alternating in the same runs); python / ours:', '');
      lines.push('| | before | after | python / before | python / after |', '|---|---:|---:|---:|---:|');
      for (const b of r.beforeRows) lines.push(`| ${b.label} | ${fmtS(b.before)} | ${fmtS(b.after)} | ${fmtX(b.py / b.before)} | ${fmtX(b.py / b.after)} |`);
      lines.push('');
    }
    if (r.withSweep) lines.push(`Ours with the default settings (the shift sweep on), alternating in the same runs: wall ${fmtS(r.withSweep.wall)} (python / ours ${fmtX(r.withSweep.pyWall / r.withSweep.wall)}), CPU ${fmtS(r.withSweep.cpu)} (${fmtX(r.withSweep.pyCpu / r.withSweep.wall > 0 ? r.withSweep.pyCpu / r.withSweep.cpu : NaN)}), of which the sweep ${fmtS(r.withSweep.shifts)}.\n`);
    const mr = r.agree.medianRel;
    lines.push(`Python metric stages: db ${fmtS(r.sub.db)}, k-means + DB (roughness) ${fmtS(r.sub.roughness)}, kNN ${fmtS(r.sub.knn)}, PCA ${fmtS(r.sub.pca)}. ` +
      `Agreement (last run): Dice |diff| ${r.agree.diceDiff.toExponential(1)}; median relative difference of db ${(100 * mr.db).toFixed(1)}%, roughness ${(100 * mr.roughness).toFixed(1)}%, knnConfidence ${(100 * mr.knnConfidence).toFixed(2)}%, featureShift ${(100 * mr.featureShift).toFixed(1)}% (each side draws its own random sample).`);
    writeReadmeBlock(readme, `figures:${r.c.id}`, lines, 'bench/analyze.bench.mjs');
  }
  console.log(`wrote the figures to ${readme}`);
}
if (!flag('--no-readme') && threadReport.length) {
  for (const r of threadReport) {
    const lines = [
      `**${r.c.title}**, ${r.taps} taps, \`--no-shifts\`; median of ${r.c.runs} run${r.c.runs > 1 ? 's' : ''} per thread count, alternating.`,
      `Run ${startedAt} on ${machine}; load average ${Math.min(load0, ...r.loads).toFixed(1)}–${Math.max(load0, ...r.loads).toFixed(1)} during the runs (shared machine); onnxruntime-node ${ortVersion}.`,
      '',
      `| median | \`--threads ${r.ta}\` | \`--threads ${r.tb}\` | ${r.ta} / ${r.tb} (speed-up) | median of the ratios per round |`,
      '|---|---:|---:|---:|---:|',
      ...r.rows.map((x) => `| ${x.label} | ${x.a} | ${x.b} | ${x.ratio} | ${x.paired} |`),
    ];
    writeReadmeBlock(readme, `threads:${r.c.id}`, lines, 'bench/analyze.bench.mjs --threads-compare');
  }
  console.log(`wrote the thread figures to ${readme}`);
}
if (!flag('--keep')) rmSync(TMP, { recursive: true, force: true });
