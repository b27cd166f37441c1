#!/usr/bin/env node
/**
 * Summarise a V8 CPU profile of the CLI: where the time goes, by function.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof dist/cli.js analyze <model> --data <json> --out <dir> --threads 2
 *   node bench/profile-summary.mjs /tmp/prof/CPU.*.cpuprofile [--top 25] [--map dist/cli.js.map]
 *
 * Prints the functions with the most self time and the most inclusive (total) time, in ms and
 * as a share of the profile, with their source location in dist/cli.js mapped back to
 * src/ with the source map (default dist/cli.js.map: it must be the map of the very build that ran). "(program)" / "(idle)" / "(garbage collector)" are V8's
 * own buckets; time spent in onnxruntime's native threads is not in the profile, but the JS
 * call that waits for it (an `await session.run`) shows as idle.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const file = args.find((a, i) => !a.startsWith('--') && !['--map', '--top'].includes(args[i - 1]));
const TOP = Number(args[args.indexOf('--top') + 1]) || 25;
if (!file) {
  console.error('usage: node bench/profile-summary.mjs <file.cpuprofile> [--top N]');
  process.exit(2);
}
const prof = JSON.parse(readFileSync(file, 'utf8'));

// ── optional source map of dist/cli.js (VLQ decoding, enough for line lookups)
const mapFile = args.includes('--map') ? resolve(args[args.indexOf('--map') + 1]) : join(ROOT, 'dist/cli.js.map');
let lineMap = null;
if (existsSync(mapFile)) {
  const sm = JSON.parse(readFileSync(mapFile, 'utf8'));
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const val = new Map([...B64].map((c, i) => [c, i]));
  lineMap = [];
  let src = 0;
  let srcLine = 0;
  const lines = sm.mappings.split(';');
  for (let gl = 0; gl < lines.length; gl++) {
    const segs = [];
    let col = 0;
    for (const seg of lines[gl].split(',')) {
      if (!seg) continue;
      const nums = [];
      let shift = 0;
      let v = 0;
      for (const ch of seg) {
        const d = val.get(ch);
        v += (d & 31) << shift;
        if (d & 32) shift += 5;
        else {
          nums.push(v & 1 ? -(v >>> 1) : v >>> 1);
          v = 0;
          shift = 0;
        }
      }
      col += nums[0];
      if (nums.length >= 4) {
        src += nums[1];
        srcLine += nums[2];
        segs.push([col, src, srcLine]);
      }
    }
    lineMap.push(segs);
  }
  // sources are relative to dist/ (where esbuild wrote the map), wherever the map was copied to
  lineMap.sources = sm.sources.map((s) => relative(ROOT, resolve(ROOT, 'dist', s)));
}
function where(cf) {
  const url = cf.url || '';
  if (!url) return '';
  if (lineMap && url.endsWith('/cli.js')) {
    const segs = lineMap[cf.lineNumber] ?? [];
    let best = segs[0];
    for (const s of segs) if (s[0] <= cf.columnNumber) best = s;
    if (best) return `${lineMap.sources[best[1]]}:${best[2] + 1}`;
  }
  return `${url.replace(/^file:\/\//, '').replace(ROOT + '/', '')}:${cf.lineNumber + 1}`;
}

// ── self and inclusive time
const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const selfUs = new Map();
const dt = prof.timeDeltas;
for (let i = 0; i < prof.samples.length; i++) {
  const d = dt[i + 1] ?? 0;
  selfUs.set(prof.samples[i], (selfUs.get(prof.samples[i]) ?? 0) + d);
}
const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
const key = (n) => `${n.callFrame.functionName || '(anonymous)'} ${where(n.callFrame)}`;
const self = new Map();
const incl = new Map();
for (const [id, us] of selfUs) {
  const n = nodes.get(id);
  self.set(key(n), (self.get(key(n)) ?? 0) + us);
  // inclusive: every distinct function on the stack once
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const k = key(nodes.get(cur));
    if (seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) ?? 0) + us);
  }
}
const show = (title, m) => {
  console.log(`\n${title}`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
    console.log(`${(us / 1000).toFixed(0).padStart(9)} ms ${((100 * us) / totalUs).toFixed(1).padStart(5)}%  ${k}`);
  }
};
console.log(`profile ${file}: ${(totalUs / 1000).toFixed(0)} ms sampled`);
show('self time', self);
show('inclusive time', incl);

// ── time by engine stage: each sample goes to the innermost of the stage functions on its
// stack; samples with none of them (onnxruntime's synchronous run inside a setImmediate, GC,
// idle) go to the stage of the last sample that had one.
const STAGES = ['mapsPass', 'tapMetrics', 'forwardPass', 'runBatch'];
const stageOf = new Map();
for (const n of prof.nodes) {
  let st = null;
  for (let cur = n.id; cur !== undefined && !st; cur = parent.get(cur)) {
    const f = nodes.get(cur).callFrame.functionName;
    if (STAGES.includes(f)) st = f;
  }
  stageOf.set(n.id, st);
}
// runBatch alone is ambiguous (forward pass or maps); resolve by the outer function
for (const n of prof.nodes) {
  if (stageOf.get(n.id) !== 'runBatch') continue;
  for (let cur = n.id; cur !== undefined; cur = parent.get(cur)) {
    const f = nodes.get(cur).callFrame.functionName;
    if (f === 'mapsPass' || f === 'forwardPass') {
      stageOf.set(n.id, f);
      break;
    }
  }
}
const byStage = new Map();
let last = '(before the first stage)';
for (let i = 0; i < prof.samples.length; i++) {
  const id = prof.samples[i];
  const d = dt[i + 1] ?? 0;
  const n = nodes.get(id);
  const st = stageOf.get(id);
  if (st && st !== 'runBatch') last = st;
  const what = (n.callFrame.url || '').includes('onnxruntime-node') ? 'onnxruntime' : n.callFrame.functionName === '(garbage collector)' ? 'GC' : n.callFrame.functionName === '(idle)' ? 'idle' : 'JS';
  const s = byStage.get(last) ?? { total: 0, onnxruntime: 0, GC: 0, idle: 0, JS: 0 };
  s.total += d;
  s[what] += d;
  byStage.set(last, s);
}
console.log('\nby stage (onnxruntime = its synchronous session.run: model inference in forwardPass, the Gemm/TopK kNN sessions in tapMetrics/mapsPass)');
for (const [st, s] of [...byStage].sort((a, b) => b[1].total - a[1].total)) {
  const f = (us) => `${(us / 1000).toFixed(0)} ms`;
  console.log(`${f(s.total).padStart(12)}  ${st.padEnd(26)} onnxruntime ${f(s.onnxruntime)}, JS ${f(s.JS)}, GC ${f(s.GC)}, idle ${f(s.idle)}`);
}
