/**
 * The per-split cache (issue 12, item 3: "same model hash, new dataset split → only the new
 * split runs"): what a run costs with `--cache` when a split has been added to the dataset file
 * since the last run, and when nothing changed, against the same run without the cache. The
 * three kinds of run alternate within each round, so they see the same machine:
 *
 *   plain    the dataset file with the new split, no cache (what every run cost before);
 *   added    the same file, with a cache filled (in the same round, untimed) by a run of the
 *            file without the new split: train, the old splits and the sweep's copies are read
 *            back, the new split is measured;
 *   warm     the same file once more with that cache: everything read back.
 *
 * Each timed run's results.json is compared with plain's (all but createdAt and timings).
 *
 *   node bench/splitCache.bench.mjs [--case example|large] [--runs N] [--no-shifts] [--no-build] [--no-readme]
 *
 * example: examples/synthetic with `siteC` (the test images, unlabelled) appended; default
 * settings (the shift sweep on). large: bench/.data/unetlens.json (scripts/make_bench_data.py)
 * with `extra` appended (the test images, unlabelled). Figures go to bench/README.md between
 * `<!-- splitcache:<case>:start -->` and `<!-- splitcache:<case>:end -->`.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ROOT, buildAndSnapshot, fmtMB, fmtS, fmtX, machine, median, runCli, writeReadmeBlock } from './benchlib.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const CASE = opt('--case', 'example');
const RUNS = Number(opt('--runs', CASE === 'example' ? '3' : '1'));
const NO_SHIFTS = args.includes('--no-shifts');
const WORK = join(ROOT, 'bench', '.data', 'splitcache');
const SNAP = join(WORK, 'cli');
const CASES = {
  example: { onnx: join(ROOT, 'examples/synthetic/model.onnx'), data: join(ROOT, 'examples/synthetic/unetlens.json'), added: 'siteC' },
  large: { onnx: join(ROOT, 'bench/.data/model.onnx'), data: join(ROOT, 'bench/.data/unetlens.json'), added: 'extra' },
};
const c = CASES[CASE];
if (!c || !existsSync(c.onnx) || !existsSync(c.data)) {
  console.error(`case ${CASE}: ${c ? `${c.onnx} or ${c.data} missing (large: /usr/bin/python3 scripts/make_bench_data.py)` : 'unknown (example | large)'}`);
  process.exit(2);
}

/** The dataset file with absolute paths (and the new split, unlabelled: the test images), written under WORK. */
function datasetFiles() {
  const d = JSON.parse(readFileSync(c.data, 'utf8'));
  const base = dirname(c.data);
  for (const s of Object.values(d.splits)) for (const k of ['images', 'labels']) if (typeof s[k] === 'string') s[k] = resolve(base, s[k]);
  const before = join(WORK, `${CASE}-before.json`);
  writeFileSync(before, JSON.stringify(d, null, 1));
  d.splits[c.added] = { images: d.splits.test.images };
  const after = join(WORK, `${CASE}-after.json`);
  writeFileSync(after, JSON.stringify(d, null, 1));
  return { before, after };
}

const strip = (r) => {
  const o = JSON.parse(JSON.stringify(r));
  delete o.createdAt;
  delete o.timings;
  if (o.performanceWithoutLabels) delete o.performanceWithoutLabels.timingMs;
  return JSON.stringify(o);
};
const dirMB = (d) => (existsSync(d) ? readdirSync(d).reduce((a, f) => a + statSync(join(d, f)).size, 0) / 1024 ** 2 : NaN);

mkdirSync(WORK, { recursive: true });
buildAndSnapshot(!args.includes('--no-build'), SNAP);
const { before, after } = datasetFiles();
const extra = ['--threads', '2', ...(NO_SHIFTS ? ['--no-shifts'] : [])];
const tmp = join(WORK, 'tmp');
mkdirSync(tmp, { recursive: true });
const rows = { plain: [], added: [], warm: [] };
let cacheMB = NaN;
let equal = true;
const load0 = loadavg()[0];
const started = new Date().toISOString();
for (let i = 0; i < RUNS; i++) {
  const cache = join(WORK, `cache-${CASE}`);
  rmSync(cache, { recursive: true, force: true });
  const out = (k) => join(WORK, `out-${CASE}-${k}`);
  const plain = await runCli({ snap: SNAP, onnx: c.onnx, data: after, outDir: out('plain'), extra, tmp });
  await runCli({ snap: SNAP, onnx: c.onnx, data: before, outDir: out('fill'), extra: [...extra, '--cache', cache], tmp });
  const added = await runCli({ snap: SNAP, onnx: c.onnx, data: after, outDir: out('added'), extra: [...extra, '--cache', cache], tmp });
  const warm = await runCli({ snap: SNAP, onnx: c.onnx, data: after, outDir: out('warm'), extra: [...extra, '--cache', cache], tmp });
  cacheMB = dirMB(cache);
  for (const [k, r] of Object.entries({ plain, added, warm })) rows[k].push(r);
  const same = strip(added.results) === strip(plain.results) && strip(warm.results) === strip(plain.results);
  equal &&= same;
  console.log(`round ${i + 1}: plain ${fmtS(plain.wallMs)}, added ${fmtS(added.wallMs)}, warm ${fmtS(warm.wallMs)}; results ${same ? 'equal' : 'DIFFER'}`);
}
const load1 = loadavg()[0];
const med = (k, f) => median(rows[k].map(f));
const line = (label, f, fmt) => `| ${label} | ${fmt(med('plain', f))} | ${fmt(med('added', f))} | ${fmt(med('warm', f))} |`;
const p = rows.plain[0].results;
const lines = [
  `**${CASE}** (${p.splits.map((s) => `${s.name} ${s.images}`).join(', ')}; \`${c.added}\` is the new split), ${NO_SHIFTS ? '`--no-shifts`' : 'default settings (the shift sweep on)'}, \`--threads 2\`; median of ${RUNS} round${RUNS > 1 ? 's' : ''}, the three runs alternating in each.`,
  `Run ${started} on ${machine()}; load average ${load0.toFixed(1)} at start, ${load1.toFixed(1)} at end (shared machine).`,
  '',
  '| | plain (no cache) | a split added (cache of the run before) | nothing changed (cache) |',
  '|---|---:|---:|---:|',
  line('wall time (process)', (r) => r.wallMs, fmtS),
  line('CPU time (user + system)', (r) => r.cpuMs, fmtS),
  line('peak RSS', (r) => r.rssMB, fmtMB),
  line('forward', (r) => r.timings.forwardMs, fmtS),
  line('metrics', (r) => r.timings.metricsMs, fmtS),
  line('maps', (r) => r.timings.mapsMs ?? NaN, fmtS),
  line('shift sweep', (r) => r.timings.shiftsMs ?? NaN, fmtS),
  `| plain / this, wall | 1.00× | ${fmtX(med('plain', (r) => r.wallMs) / med('added', (r) => r.wallMs))} | ${fmtX(med('plain', (r) => r.wallMs) / med('warm', (r) => r.wallMs))} |`,
  '',
  `Results of every run with the cache equal to the plain run's (createdAt and timings aside): **${equal ? 'yes' : 'NO'}**. The cache folder after a round: ${fmtMB(cacheMB)}.`,
];
console.log(lines.join('\n'));
if (!args.includes('--no-readme')) writeReadmeBlock(join(ROOT, 'bench', 'README.md'), `splitcache:${CASE}`, lines, 'bench/splitCache.bench.mjs');
if (!equal) process.exit(1);
