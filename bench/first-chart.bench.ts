/**
 * Time to the first chart (issue 12, item 4), end to end in real VS Code: code-server 4.100.3
 * and Chromium as test/e2e/extension.e2e.ts starts them (helpers in test/e2e/codeServer.ts),
 * on a fresh copy of examples/synthetic (without model.pt, so the command asks nothing). A benchmark: it prints figures, nothing fails on a
 * slow run.
 *
 *   node esbuild.mjs && node --import tsx bench/first-chart.bench.ts [--runs 3] [--before <extension folder>]
 *
 * Every run starts its own code-server (fresh user data, so no cached results: the results
 * cache lives there) and browser, waits for the workbench (the extension activates on the
 * workspace's unetlens.json), then runs "UNet Lens: Analyze Generalization" from the palette.
 * The clock starts just before Enter. The panel's content frame is then polled (every 25 ms)
 * for its test hooks (webview/main.ts), and the first time of each is printed:
 * - panel: the panel's document answers (its loading state);
 * - skeleton: `data-taps` > 0 (the taps are laid out);
 * - first chart: a metric canvas (`canvas[data-chart]`) drawn (`data-theme` set by the draw)
 *   whose `data-series` holds a number;
 * - ready: `data-state="ready"` (the final results drawn).
 * plus every change of `data-splits` on the way (when each split's partial results arrived).
 *
 * `--before <folder>`: an unpacked extension to compare with (package.json, dist/ of the
 * other build, node_modules): the runs alternate between it and this repository's build (a
 * copy of dist/ taken at the start, bench/.scratch/first-chart-ext), and both medians are
 * printed. Make one from a build of another branch:
 *   mkdir -p bench/.scratch/ext-old && cp package.json bench/.scratch/ext-old/ && cp -r <old>/dist bench/.scratch/ext-old/dist && ln -s "$PWD/node_modules" bench/.scratch/ext-old/node_modules
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { REPO_ROOT, openBrowser, runCommand, startCodeServer, waitForWorkbench } from '../test/e2e/codeServer';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const RUNS = Number(opt('--runs', '3'));
const BEFORE = args.includes('--before') ? path.resolve(opt('--before', '')) : null;
const EXAMPLE = path.join(REPO_ROOT, 'examples', 'synthetic');
const TIMEOUT_MS = 600_000;

interface Hooks {
  state: string;
  taps: number;
  splits: number;
  chart: boolean;
}

/**
 * The panel's hooks (a `Hooks`), read inside its content frame; null in any other frame. A
 * string, not a function: tsx would compile a function with helpers the page does not have.
 */
const READ_HOOKS = `(() => {
  const b = document.body;
  if (!b || !document.getElementById('app') || b.dataset.mode !== 'vscode') return null;
  const chart = Array.from(document.querySelectorAll('canvas[data-chart][data-theme]')).some((c) => {
    try {
      return JSON.parse(c.dataset.series || '[]').some((s) => (s.values || []).some((v) => typeof v === 'number'));
    } catch (e) {
      return false;
    }
  });
  return { state: b.dataset.state || '', taps: Number(b.dataset.taps || 0), splits: Number(b.dataset.splits || 0), chart };
})()`;

interface Run {
  side: string;
  panel: number | null;
  skeleton: number | null;
  firstChart: number | null;
  ready: number | null;
  splits: [number, number][];
  log: string;
}

async function pollPanel(page: Page, t0: number, run: Run): Promise<void> {
  let frame: Frame | null = null;
  let lastSplits = -1;
  const deadline = performance.now() + TIMEOUT_MS;
  while (performance.now() < deadline) {
    const frames: Frame[] = frame ? [frame] : page.frames();
    for (const f of frames) {
      const hooks = (await f.evaluate(READ_HOOKS).catch(() => null)) as Hooks | null;
      if (!hooks) continue;
      frame = f;
      const t = performance.now() - t0;
      run.panel ??= t;
      if (hooks.taps > 0) run.skeleton ??= t;
      if (hooks.chart) run.firstChart ??= t;
      if (hooks.splits !== lastSplits) {
        lastSplits = hooks.splits;
        run.splits.push([t, hooks.splits]);
      }
      if (hooks.state === 'ready') {
        run.ready = t;
        return;
      }
      if (hooks.state === 'error') throw new Error('the panel shows an error');
    }
    if (frame && frame.isDetached()) frame = null;
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function oneRun(side: string, extensionDevPath: string): Promise<Run> {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'unetlens-bench-ws-'));
  // Without model.pt: with one model and one dataset file the command asks nothing.
  fs.cpSync(EXAMPLE, workspace, { recursive: true, filter: (src) => !src.includes('unetlens-out') && path.basename(src) !== 'model.pt' });
  const server = await startCodeServer({ workspace, extensionDevPath });
  const run: Run = { side, panel: null, skeleton: null, firstChart: null, ready: null, splits: [], log: '' };
  try {
    const { browser, page } = await openBrowser(server.url);
    try {
      await waitForWorkbench(page);
      process.stderr.write(`[first-chart] ${side}: workbench up\n`);
      let t0 = 0;
      await runCommand(page, 'UNet Lens: Analyze Generalization', 60_000, { onEnter: () => (t0 = performance.now()) });
      process.stderr.write(`[first-chart] ${side}: command run\n`);
      await pollPanel(page, t0, run);
    } finally {
      await browser.close().catch(() => {});
    }
    run.log = server.extensionLog();
  } finally {
    await server.stop();
    fs.rmSync(workspace, { recursive: true, force: true });
  }
  return run;
}

const s = (ms: number | null) => (ms === null ? 'n/a' : `${(ms / 1000).toFixed(2)} s`);
function median(xs: (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (!v.length) return null;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

/**
 * This repository's extension as it is built now, copied (package.json and dist/, with a link to
 * node_modules) into bench/.scratch/, so that a rebuild of dist/ during the runs changes nothing.
 */
function snapshot(): string {
  if (!fs.existsSync(path.join(REPO_ROOT, 'dist', 'extension.js'))) throw new Error('build first: node esbuild.mjs');
  const dir = path.join(REPO_ROOT, 'bench', '.scratch', 'first-chart-ext');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(REPO_ROOT, 'package.json'), path.join(dir, 'package.json'));
  fs.cpSync(path.join(REPO_ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.map') && !src.endsWith('.vsix') });
  fs.symlinkSync(fs.realpathSync(path.join(REPO_ROOT, 'node_modules')), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

async function main(): Promise<void> {
  const here = snapshot();
  const sides: [string, string][] = BEFORE ? [['before', BEFORE], ['after', here]] : [['this build', here]];
  const runs: Run[] = [];
  const load0 = os.loadavg()[0];
  for (let i = 0; i < RUNS; i++) {
    for (const [side, dir] of sides) {
      const r = await oneRun(side, dir);
      runs.push(r);
      const splits = r.splits.map(([t, n]) => `${n}@${s(t)}`).join(' ');
      console.log(`run ${i + 1} ${side}: panel ${s(r.panel)}, skeleton ${s(r.skeleton)}, first chart ${s(r.firstChart)}, ready ${s(r.ready)}; splits drawn ${splits}; load ${os.loadavg()[0].toFixed(1)}`);
      if (args.includes('--log')) console.log(r.log.split('\n').filter((l) => /analyze|done in|model /.test(l)).join('\n'));
    }
  }
  console.log(`\n${new Date().toISOString()}, ${os.cpus().length} cores, Node ${process.version}, load average ${load0.toFixed(1)} at start, ${os.loadavg()[0].toFixed(1)} at end`);
  console.log(`median of ${RUNS} run${RUNS === 1 ? '' : 's'} per side${BEFORE ? ', alternating' : ''} (from the command's Enter):`);
  console.log('| side | panel | skeleton (taps) | first chart with data | ready (final results) |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [side] of sides) {
    const of = runs.filter((r) => r.side === side);
    console.log(`| ${side} | ${s(median(of.map((r) => r.panel)))} | ${s(median(of.map((r) => r.skeleton)))} | ${s(median(of.map((r) => r.firstChart)))} | ${s(median(of.map((r) => r.ready)))} |`);
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
