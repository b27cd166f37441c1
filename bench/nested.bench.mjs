#!/usr/bin/env node
/**
 * Issue 12, item 6: the large nested-UNet case (scripts/make_bench_nested.py: ~44 M parameters,
 * 1024×1024 RGB, 2 labelled + 2 unlabelled images) analysed by our CLI with the default
 * settings, and once with `--no-shifts`; beside them, in the same invocation, plain inference:
 * onnxruntime-node running the model on the same 4 images (one batch of 4, the prediction
 * output only), the reference that makes the CLI's times comparable on a shared machine.
 *
 *   /usr/bin/python3 scripts/make_bench_nested.py        # once: bench/.data/nested/
 *   node bench/nested.bench.mjs [--runs 1] [--no-build] [--no-readme] [--keep] [--profile] [--only default|noshifts]
 *
 * Order: plain, default, plain, --no-shifts, plain, … (alternating). Per CLI run: wall time and
 * peak RSS of the process (GNU time `%M`), CPU time, results.timings per stage, the taps per
 * stage (encoder / bottleneck / decoder, and how many `auto` left out), the load average at
 * start and end. `--profile`: one more default run under `node --cpu-prof`, summarised by
 * profile-summary.mjs. Prints a markdown table; with the README flag on (default) it replaces
 * the `nested` block of bench/README.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAndSnapshot, fmtMB, fmtS, fmtX, machine, median, ROOT, runCli, timed, writeReadmeBlock } from './benchlib.mjs';

const args = process.argv.slice(2);
const flag = (f) => args.includes(f);
const opt = (f, d) => (args.includes(f) ? args[args.indexOf(f) + 1] : d);
const RUNS = Number(opt('--runs', '1'));
const ONLY = opt('--only', null);
const DATA = join(ROOT, 'bench/.data/nested');
const SNAP = join(ROOT, 'bench/.data/nested-cli');
const onnx = join(DATA, 'model.onnx');
const data = join(DATA, 'unetlens.json');
if (!existsSync(onnx) || !existsSync(data)) {
  console.error(`missing ${onnx}: run /usr/bin/python3 scripts/make_bench_nested.py first`);
  process.exit(2);
}
const TMP = mkdtempSync(join(tmpdir(), 'nested-bench-'));
const load1 = () => loadavg()[0];

buildAndSnapshot(!flag('--no-build'), SNAP);

/** Plain inference in a child process: session, then one run of the 4 images (batch 4), output only. */
const PLAIN = `
import * as ort from 'onnxruntime-node';
import { PNG } from 'pngjs';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
const dir = process.argv[2];
const files = [];
for (const split of ['train', 'photos']) for (const f of readdirSync(join(dir, 'data', split, 'images')).sort()) files.push(join(dir, 'data', split, 'images', f));
const t0 = performance.now();
const s = await ort.InferenceSession.create(join(dir, 'model.onnx'));
const t1 = performance.now();
const H = 1024, W = 1024, L = H * W;
const x = new Float32Array(files.length * 3 * L);
files.forEach((f, n) => {
  const p = PNG.sync.read(readFileSync(f));
  for (let l = 0; l < L; l++) for (let c = 0; c < 3; c++) x[(n * 3 + c) * L + l] = p.data[l * 4 + c] / 255;
});
const t2 = performance.now();
const out = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, [files.length, 3, H, W]) }, [s.outputNames[0]]);
const t3 = performance.now();
console.log(JSON.stringify({ images: files.length, createMs: t1 - t0, readMs: t2 - t1, runMs: t3 - t2, out: out[s.outputNames[0]].dims }));
`;
writeFileSync(join(ROOT, 'bench/.data/nested-plain.mjs'), PLAIN);

async function plain(i) {
  const la = load1();
  const r = await timed(process.execPath, [join(ROOT, 'bench/.data/nested-plain.mjs'), DATA], { tmp: TMP, logFile: join(TMP, `plain-${i}.log`) });
  if (r.code !== 0) throw new Error(`plain inference failed:\n${r.err}`);
  const j = JSON.parse(r.out.trim().split('\n').at(-1));
  console.log(`plain ${i}: run ${fmtS(j.runMs)} (session ${fmtS(j.createMs)}), wall ${fmtS(r.wallMs)}, CPU ${fmtS(r.cpuMs)}, RSS ${fmtMB(r.rssMB)}, load ${la.toFixed(1)}→${load1().toFixed(1)}`);
  return { ...j, wallMs: r.wallMs, cpuMs: r.cpuMs, rssMB: r.rssMB, loadStart: la, loadEnd: load1() };
}

async function ours(kind, i) {
  const la = load1();
  const outDir = join(TMP, `${kind}-${i}`);
  const r = await runCli({ snap: SNAP, onnx, data, outDir, extra: kind === 'noshifts' ? ['--no-shifts'] : [], logFile: join(TMP, `${kind}-${i}.log`), tmp: TMP });
  const taps = { encoder: 0, bottleneck: 0, decoder: 0 };
  for (const t of r.results.taps) taps[t.stage] = (taps[t.stage] ?? 0) + 1;
  const row = { kind, wallMs: r.wallMs, cpuMs: r.cpuMs, rssMB: r.rssMB, timings: r.timings, taps, leftOut: r.results.tapsLeftOut?.length ?? 0, loadStart: la, loadEnd: load1() };
  const t = r.timings;
  console.log(
    `${kind} ${i}: wall ${fmtS(r.wallMs)}, CPU ${fmtS(r.cpuMs)}, RSS ${fmtMB(r.rssMB)}; load ${fmtS(t.loadMs)}, forward ${fmtS(t.forwardMs)}, metrics ${fmtS(t.metricsMs)}, maps ${fmtS(t.mapsMs)}, sweep ${fmtS(t.shiftsMs)}; ` +
      `taps ${taps.encoder}/${taps.bottleneck}/${taps.decoder} (+${row.leftOut} left out); load avg ${la.toFixed(1)}→${row.loadEnd.toFixed(1)}`,
  );
  if (!flag('--keep')) rmSync(outDir, { recursive: true, force: true });
  return row;
}

const kinds = ONLY ? [ONLY] : ['default', 'noshifts'];
const plains = [];
const rows = Object.fromEntries(kinds.map((k) => [k, []]));
const started = new Date().toISOString();
const loads = [load1()];
plains.push(await plain(0));
for (let i = 0; i < RUNS; i++) {
  for (const k of kinds) {
    rows[k].push(await ours(k, i));
    loads.push(load1());
    plains.push(await plain(plains.length));
    loads.push(load1());
  }
}

let profileLines = [];
if (flag('--profile')) {
  const dir = join(TMP, 'prof');
  mkdirSync(dir, { recursive: true });
  const r = await timed(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, join(SNAP, 'cli.js'), 'analyze', onnx, '--data', data, '--out', join(TMP, 'prof-out')], { tmp: TMP });
  const prof = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  const sum = spawnSync(process.execPath, [join(ROOT, 'bench/profile-summary.mjs'), join(dir, prof), '--map', join(SNAP, 'cli.js.map'), '--top', '20'], { encoding: 'utf8' });
  profileLines = sum.stdout.split('\n');
  writeFileSync(join(TMP, 'profile-summary.txt'), sum.stdout);
  console.log(`profile run: wall ${fmtS(r.wallMs)}; summary in ${join(TMP, 'profile-summary.txt')}`);
  console.log(sum.stdout);
}

const info = existsSync(join(DATA, 'info.json')) ? JSON.parse(readFileSync(join(DATA, 'info.json'), 'utf8')) : {};
const plainMs = median(plains.map((p) => p.runMs));
const plainCpuMs = median(plains.map((p) => p.cpuMs));
const med = (k, f) => median(rows[k].map(f));
const cols = kinds;
const title = { default: 'default settings', noshifts: '`--no-shifts`' };
const lines = [];
lines.push(
  `**nested UNet (UNet++ over a ResNet-34-like encoder, ${((info.parameters ?? NaN) / 1e6).toFixed(1)} M parameters, ${info.gflopPerImage ?? '?'} GFLOP per image; 1024×1024 RGB; train 2 labelled + photos 2 unlabelled)**; ` +
    `${RUNS === 1 ? 'one run' : `median of ${RUNS} runs`} per column, alternating with plain inference.`,
);
lines.push(`Run ${started} on ${machine()}; load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} during the runs (shared machine).`);
lines.push('');
lines.push(`| | ${cols.map((k) => title[k]).join(' | ')} |`);
lines.push(`|---|${cols.map(() => '---:').join('|')}|`);
const row = (label, f, fmt) => lines.push(`| ${label} | ${cols.map((k) => fmt(med(k, f))).join(' | ')} |`);
row('wall time (process)', (r) => r.wallMs, fmtS);
row('wall / plain inference', (r) => r.wallMs / plainMs, fmtX);
row('CPU time (process, user + system)', (r) => r.cpuMs, fmtS);
row('CPU / plain inference CPU (process)', (r) => r.cpuMs / plainCpuMs, fmtX);
row('peak RSS', (r) => r.rssMB, fmtMB);
row('load (model, dataset file)', (r) => r.timings.loadMs, fmtS);
row('forward (read, infer, labels, sampling)', (r) => r.timings.forwardMs, fmtS);
row('metrics (all taps and splits)', (r) => r.timings.metricsMs, fmtS);
row('maps (mapsPerSplit images per split)', (r) => r.timings.mapsMs, fmtS);
row('maps / metrics', (r) => r.timings.mapsMs / r.timings.metricsMs, fmtX);
row('shift sweep', (r) => r.timings.shiftsMs ?? 0, fmtS);
const t0 = rows[cols[0]][0];
lines.push(`| taps encoder / bottleneck / decoder (left out) | ${cols.map((k) => { const t = rows[k][0]; return `${t.taps.encoder} / ${t.taps.bottleneck} / ${t.taps.decoder} (${t.leftOut})`; }).join(' | ')} |`);
lines.push(`| load average at start → end | ${cols.map((k) => rows[k].map((r) => `${r.loadStart.toFixed(1)} → ${r.loadEnd.toFixed(1)}`).join(', ')).join(' | ')} |`);
lines.push('');
lines.push(
  `Plain inference (onnxruntime-node, default session options, the 4 images as one batch, prediction output only): ` +
    `median ${fmtS(plainMs)} (runs: ${plains.map((p) => fmtS(p.runMs)).join(', ')}; CPU of the process ${fmtS(plainCpuMs)}; session creation ${fmtS(median(plains.map((p) => p.createMs)))}; peak RSS ${fmtMB(median(plains.map((p) => p.rssMB)))}).`,
);
void t0;
console.log('\n' + lines.join('\n'));
if (!flag('--no-readme')) writeReadmeBlock(join(ROOT, 'bench/README.md'), 'nested', lines, 'bench/nested.bench.mjs');
if (profileLines.length) console.log(`\nprofile: ${join(TMP, 'profile-summary.txt')}`);
if (!flag('--keep')) rmSync(TMP, { recursive: true, force: true });
else console.log(`kept: ${TMP}`);
