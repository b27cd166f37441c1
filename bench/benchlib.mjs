/**
 * What the full-analysis benchmarks share (analyze.bench.mjs, growth.bench.mjs): medians and
 * formatting, a child process timed under GNU time, a frozen copy of the built CLI, and one
 * run of our CLI.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TIME = '/usr/bin/time';

export const median = (xs) => {
  const a = xs.filter((x) => Number.isFinite(x)).sort((p, q) => p - q);
  if (!a.length) return NaN;
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
};
export const fmtS = (ms) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s` : '–');
export const fmtMB = (mb) => (Number.isFinite(mb) ? `${Math.round(mb)} MB` : '–');
export const fmtX = (r) => (Number.isFinite(r) ? `${r.toFixed(2)}×` : '–');

/**
 * Runs a command under GNU time (in `tmp`); resolves with wall ms (measured here), peak RSS MB
 * (`%M`), CPU ms (user + system), exit code and output. `logFile`: the command and its output.
 */
export function timed(cmd, args, { logFile, tmp }) {
  return new Promise((res) => {
    const tfile = join(tmp, `time-${Math.random().toString(36).slice(2)}.txt`);
    const t0 = performance.now();
    const child = spawn(TIME, ['-f', '%e %M %U %S', '-o', tfile, cmd, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONHASHSEED: '0' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      const wallMs = performance.now() - t0;
      let rssMB = NaN;
      let cpuMs = NaN;
      try {
        const [, kb, u, sy] = readFileSync(tfile, 'utf8').trim().split('\n').at(-1).split(/\s+/);
        rssMB = Number(kb) / 1024;
        cpuMs = (Number(u) + Number(sy)) * 1000;
      } catch {
        /* time output missing */
      }
      if (logFile) writeFileSync(logFile, `$ ${cmd} ${args.join(' ')}\n--- stdout\n${out}\n--- stderr\n${err}`);
      res({ wallMs, rssMB, cpuMs, code, out, err });
    });
  });
}

/** The machine, for the figures' headers. */
export const machine = () => `${cpus().length} cores (${cpus()[0]?.model?.trim() ?? 'cpu'}), ${Math.round(totalmem() / 2 ** 30)} GB, Node ${process.version}`;

/** `node esbuild.mjs` unless `build` is false (exits on failure), then the frozen copy of dist/'s CLI in `snap`. */
export function buildAndSnapshot(build, snap) {
  if (build) {
    const b = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT, encoding: 'utf8' });
    if (b.status !== 0) {
      console.error(`build failed:\n${b.stderr}`);
      process.exit(1);
    }
  }
  snapshotCli(join(ROOT, 'dist'), snap);
}

/** Copies the CLI bundle of `fromDir` (a dist/) to `snap`, so that a rebuild of dist/ mid-run changes nothing. */
export function snapshotCli(fromDir, snap) {
  rmSync(snap, { recursive: true, force: true });
  mkdirSync(snap, { recursive: true });
  for (const f of readdirSync(fromDir)) {
    // the CLI, the threads and bundles it starts or loads (tapThread.js, tfjs.js), the report's script
    if (/^(cli\.js(\.map)?|tapThread\.js|tfjs\.js|webview\.js|.*\.wasm)$/.test(f) || f === 'media') cpSync(join(fromDir, f), join(snap, f), { recursive: true });
  }
}

/**
 * One run of our CLI (`snap`/cli.js analyze … --json) under GNU time; `extra`: more flags
 * (--threads, --no-shifts, --max-taps …). Resolves with the timing and results.json.
 */
export async function runCli({ snap, onnx, data, outDir, extra, logFile, tmp }) {
  const r = await timed(process.execPath, [join(snap, 'cli.js'), 'analyze', onnx, '--data', data, '--out', outDir, '--json', ...extra], { logFile, tmp });
  if (r.code !== 0) throw new Error(`our CLI failed (exit ${r.code}) on ${data}:\n${r.err.split('\n').slice(-8).join('\n')}`);
  const results = JSON.parse(readFileSync(join(outDir, 'results.json'), 'utf8'));
  return { ...r, timings: results.timings, results };
}

/** Replaces the README block between `<!-- <id>:start … -->` and `<!-- <id>:end -->` (appends it when missing). */
export function writeReadmeBlock(readme, id, lines, writer) {
  let text = readFileSync(readme, 'utf8');
  const block = `<!-- ${id}:start (written by ${writer}) -->\n${lines.join('\n')}\n<!-- ${id}:end -->`;
  const re = new RegExp(`<!-- ${id}:start[^>]*-->[\\s\\S]*?<!-- ${id}:end -->`);
  text = re.test(text) ? text.replace(re, block) : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(readme, text);
}
