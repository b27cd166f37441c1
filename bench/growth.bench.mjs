#!/usr/bin/env node
/**
 * How the full analysis grows (issue 12, item 7): time against the number of images, the number
 * of taps (`--max-taps`) and `--max-points`, on the 3D case (bench/.data/vol3d, made by
 * `/usr/bin/python3 scripts/make_bench3d.py`), so that a user can predict a long run.
 *
 *   node bench/growth.bench.mjs [--runs 3] [--base-images 10] [--images 5,10,20] [--taps 5,10]
 *                               [--points 1024,2048] [--threads 2] [--data bench/.data/vol3d]
 *                               [--no-build] [--no-readme] [--keep]
 *
 * One base configuration (`--base-images` volumes per split, every `auto` tap, the dataset
 * file's maxPoints) and one variation at a time: the image count (the first n volumes of every
 * split, through symbolic links in bench/.data/vol3d-sub/), `--max-taps` and `--max-points`. All
 * runs `--no-shifts` (the sweep is timed by analyze.bench.mjs --with-sweep) and `--threads 2`.
 * The configurations alternate: run r goes through all of them, forwards for even r, backwards
 * for odd r. Prints medians per configuration (wall, CPU, peak RSS, and the stages of
 * results.timings) and rewrites the README block `growth:vol3d` unless --no-readme.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildAndSnapshot, fmtMB, fmtS, machine as machineText, median, ROOT, runCli, writeReadmeBlock } from './benchlib.mjs';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
};
const flag = (name) => argv.includes(name);
const list = (name, dflt) => opt(name, dflt).split(',').filter(Boolean).map(Number);
const RUNS = Number(opt('--runs', '3'));
const THREADS = Number(opt('--threads', '2'));
const BASE_N = Number(opt('--base-images', '10'));
const IMAGES = list('--images', '5,10,20');
const TAPS = list('--taps', '5,10');
const POINTS = list('--points', '1024,2048');
const DATA = resolve(ROOT, opt('--data', 'bench/.data/vol3d'));
const SUB = `${DATA}-sub`;
const SNAP = join(ROOT, 'bench/.data/cli-growth');

if (!existsSync(join(DATA, 'unetlens.json'))) {
  console.error(`missing ${DATA}/unetlens.json — run: /usr/bin/python3 scripts/make_bench3d.py`);
  process.exit(1);
}
buildAndSnapshot(!flag('--no-build'), SNAP);
const TMP = mkdtempSync(join(tmpdir(), 'unetlens-growth-'));

/** A dataset file over the first n volumes of every split (symbolic links), in SUB/n<n>/. */
function subset(n) {
  const ds = JSON.parse(readFileSync(join(DATA, 'unetlens.json'), 'utf8'));
  const dir = join(SUB, `n${n}`);
  rmSync(dir, { recursive: true, force: true });
  for (const split of Object.values(ds.splits)) {
    for (const key of ['images', 'labels']) {
      if (!split[key]) continue;
      const from = join(DATA, split[key]);
      const to = join(dir, split[key]);
      mkdirSync(to, { recursive: true });
      const files = readdirSync(from).sort();
      if (files.length < n) throw new Error(`${from} has ${files.length} files, fewer than ${n}`);
      for (const f of files.slice(0, n)) symlinkSync(join(from, f), join(to, f));
    }
  }
  writeFileSync(join(dir, 'unetlens.json'), JSON.stringify(ds, null, 2));
  return { file: join(dir, 'unetlens.json'), splits: Object.keys(ds.splits).length, maxPoints: ds.analysis?.maxPoints };
}

const base = subset(BASE_N);
const configs = [];
const addConfig = (c) => {
  const key = `${c.images}/${c.maxTaps ?? 'all'}/${c.maxPoints ?? base.maxPoints}`;
  if (!configs.some((x) => x.key === key)) configs.push({ ...c, key, runs: [] });
};
addConfig({ vary: 'base', images: BASE_N });
for (const n of IMAGES) addConfig({ vary: 'images', images: n });
for (const t of TAPS) addConfig({ vary: 'taps', images: BASE_N, maxTaps: t });
for (const p of POINTS) addConfig({ vary: 'maxPoints', images: BASE_N, maxPoints: p });
const datasets = new Map([[BASE_N, base]]);
for (const c of configs) if (!datasets.has(c.images)) datasets.set(c.images, subset(c.images));

const machine = machineText();
const startedAt = new Date().toISOString();
const loads = [loadavg()[0]];
console.log(`UNet Lens growth benchmark — ${startedAt}; ${machine}; load average ${loads[0].toFixed(2)}`);
console.log(`${DATA}: ${configs.length} configurations × ${RUNS} runs, alternating; --threads ${THREADS} --no-shifts; outputs in ${TMP}\n`);

for (let r = 0; r < RUNS; r++) {
  for (const c of r % 2 === 0 ? configs : [...configs].reverse()) {
    const extra = ['--threads', String(THREADS), '--no-shifts', '--seed', '0'];
    if (c.maxTaps) extra.push('--max-taps', String(c.maxTaps));
    if (c.maxPoints) extra.push('--max-points', String(c.maxPoints));
    const onnx = join(DATA, 'model.onnx');
    const o = await runCli({ snap: SNAP, onnx, data: datasets.get(c.images).file, outDir: join(TMP, `${c.key.replace(/\//g, '-')}-${r}`), extra, logFile: join(TMP, `${c.key.replace(/\//g, '-')}-${r}.log`), tmp: TMP });
    c.taps = o.results.taps.length;
    c.runs.push(o);
    loads.push(loadavg()[0]);
    console.log(`  run ${r + 1} ${c.vary.padEnd(9)} ${String(c.images).padStart(3)} vol/split, ${String(c.taps).padStart(2)} taps, maxPoints ${c.maxPoints ?? base.maxPoints}: wall ${fmtS(o.wallMs)}, CPU ${fmtS(o.cpuMs)}, peak RSS ${fmtMB(o.rssMB)}, forward ${fmtS(o.timings.forwardMs)}, metrics ${fmtS(o.timings.metricsMs)}, maps ${fmtS(o.timings.mapsMs)} (load avg ${loads.at(-1).toFixed(1)})`);
  }
}

const cols = [
  ['wall', (o) => o.wallMs, fmtS],
  ['CPU', (o) => o.cpuMs, fmtS],
  ['forward', (o) => o.timings.forwardMs, fmtS],
  ['metrics', (o) => o.timings.metricsMs, fmtS],
  ['maps', (o) => o.timings.mapsMs, fmtS],
  ['peak RSS', (o) => o.rssMB, fmtMB],
];
const head = `| varied | volumes per split (all splits) | taps | maxPoints | ${cols.map(([l]) => l).join(' | ')} |`;
const rows = configs.map((c) => {
  const cells = cols.map(([, f, fmt]) => fmt(median(c.runs.map(f))));
  return `| ${c.vary} | ${c.images} (${c.images * base.splits}) | ${c.taps} | ${c.maxPoints ?? base.maxPoints} | ${cells.join(' | ')} |`;
});
const lines = [
  `**${DATA.replace(`${ROOT}/`, '')}** (${base.splits} splits), \`--threads ${THREADS} --no-shifts\`; median of ${RUNS} run${RUNS > 1 ? 's' : ''} per configuration, configurations alternating.`,
  `Run ${startedAt} on ${machine}; load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} during the runs (shared machine).`,
  '',
  head,
  `|---|---:|---:|---:|${cols.map(() => '---:').join('|')}|`,
  ...rows,
];
console.log(`\n${lines.join('\n')}`);
const load1 = loadavg()[0];
console.log(`\nload average at end ${load1.toFixed(2)}`);
if (!flag('--no-readme')) {
  writeReadmeBlock(join(ROOT, 'bench/README.md'), 'growth:vol3d', lines, 'bench/growth.bench.mjs');
  console.log('wrote the table to bench/README.md');
}
if (!flag('--keep')) rmSync(TMP, { recursive: true, force: true });
