/**
 * unet-lens analyze <model> --data <unetlens.json> --out <dir> [--max-points N] [--seed S] [--json]
 * unet-lens analyze <model> --data <unetlens.json> --results-dir <dir>   (writes <dir>/<model-sha256>/)
 * unet-lens init <dataset folder> [--out <file>] [--force] [--fold N] [--fingerprint F] [--plans P]
 * unet-lens timeline <results-dir> [--out <series.json>]                 (CONTRACT.md §4)
 *
 * A PyTorch model (.pt/.pth, TorchScript) is first exported to ONNX with Python
 * (--python, else python3 on PATH) into --export-dir (default: the user's cache folder).
 * --cache D keeps each split's measures in D (engine/pipeline/splitCache.ts): the next run of the
 * same model and settings measures only the splits that are new or changed.
 *
 * The same engine as the extension's worker, in-process. Exit codes (CONTRACT.md §2):
 * 0 done; 2 bad arguments or dataset file; 3 model could not be loaded or run; 130 cancelled;
 * 1 internal error (one line naming a log file with the details; never a stack trace).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { analyze } from './engine/pipeline/analyze';
import { checkOutDir, removeTempOutputs, writeOutputs } from './engine/output';
import { ANALYSIS_EXEC_ARGV, ANALYSIS_LIMITS, analysisProcessEnv, hasAnalysisProcessEnv, requireRegularFile } from './engine/limits';
import { spawn } from 'node:child_process';
import { asPyTorchResults, defaultExportRoot, exportForDataset, isTorchPath, pythonCandidates } from './engine/model/torchExport';
import { DEFAULT_DATASET_FILE, importDataset, writeDatasetFile } from './engine/data/datasetImport';
import { LensError, type ProgressEvent } from './engine/types';
import { resultsDirFor, seriesFromResultsDir, writeSeries } from './engine/checkpoints';

const USAGE = `usage: unet-lens analyze <model> --data <unetlens.json> (--out <dir> | --results-dir <dir>) [--max-points N] [--seed S] [--k K] [--max-taps N] [--threads T] [--no-shifts] [--json] [--python P] [--export-dir D] [--cache D]
       unet-lens init <nnU-Net or Decathlon dataset folder> [--out <file>] [--force] [--fold N] [--fingerprint F] [--plans P] [--print]
       unet-lens timeline <results-dir> [--out <series.json>]`;

interface Args {
  model: string;
  data: string;
  out: string;
  /** `--results-dir`: write to <dir>/<model sha256>/ instead of --out (CONTRACT.md §2). */
  resultsDir?: string;
  json: boolean;
  overrides: { maxPoints?: number; seed?: number; k?: number; maxTaps?: number; shifts?: { enabled: boolean } };
  threads?: number;
  /** PyTorch models: the Python to export with, and where exports go. */
  python?: string;
  exportDir?: string;
  /** `--cache`: the per-split cache's folder (engine/pipeline/splitCache.ts). */
  cache?: string;
}

export function parseArgs(argv: string[]): Args {
  const [cmd, ...rest] = argv;
  if (cmd !== 'analyze') throw new LensError(cmd ? `unknown command "${cmd}"` : 'no command given', 'args');
  const args: Partial<Args> & { overrides: Args['overrides'] } = { json: false, overrides: {} };
  const intFlag = (name: string, v: string | undefined, min: number, max: number): number => {
    if (v === undefined || !/^-?\d+$/.test(v)) throw new LensError(`${name} needs an integer (got ${v ?? 'nothing'})`, 'args');
    const n = Number(v);
    if (n < min) throw new LensError(`${name} must be ≥ ${min} (got ${v})`, 'args');
    if (!Number.isSafeInteger(n) || n > max) throw new LensError(`${name} must be ≤ ${max} (got ${v})`, 'args');
    return n;
  };
  const L = ANALYSIS_LIMITS;
  const value = (name: string, v: string | undefined): string => {
    if (v === undefined || v === '') throw new LensError(`${name} needs a path`, 'args');
    return v;
  };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    switch (a) {
      case '--data':
        args.data = value(a, rest[++i]);
        break;
      case '--out':
        args.out = value(a, rest[++i]);
        break;
      case '--results-dir':
        args.resultsDir = rest[++i];
        if (!args.resultsDir) throw new LensError('--results-dir needs a folder', 'args');
        break;
      case '--json':
        args.json = true;
        break;
      case '--max-points':
        args.overrides.maxPoints = intFlag(a, rest[++i], 2, L.maxPoints);
        break;
      case '--seed':
        args.overrides.seed = intFlag(a, rest[++i], 0, L.seed);
        break;
      case '--k':
        args.overrides.k = intFlag(a, rest[++i], 1, L.k);
        break;
      case '--max-taps':
        args.overrides.maxTaps = intFlag(a, rest[++i], 1, L.maxTaps);
        break;
      case '--no-shifts':
        args.overrides.shifts = { enabled: false };
        break;
      case '--threads':
        args.threads = intFlag(a, rest[++i], 0, L.threads);
        break;
      case '--python':
      case '--export-dir':
      case '--cache': {
        const v = rest[++i];
        if (!v || v.startsWith('--')) throw new LensError(`${a} needs a path`, 'args');
        if (a === '--python') args.python = v;
        else if (a === '--cache') args.cache = v;
        else args.exportDir = v;
        break;
      }
      default:
        if (a.startsWith('-')) throw new LensError(`unknown option ${a}`, 'args');
        if (args.model) throw new LensError(`unexpected argument "${a}" (the model is already ${args.model})`, 'args');
        args.model = a;
    }
  }
  if (!args.model) throw new LensError('no model file given', 'args');
  if (!args.data) throw new LensError('--data <unetlens.json> is required', 'args');
  if (!args.out && !args.resultsDir) throw new LensError('--out <dir> (or --results-dir <dir>) is required', 'args');
  if (args.out && args.resultsDir) throw new LensError('give --out or --results-dir, not both', 'args');
  return args as Args;
}

function formatProgress(e: ProgressEvent): string {
  const count = e.total ? ` ${e.done ?? 0}/${e.total}` : '';
  return `[${e.stage}]${count} ${e.message}`;
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h') || argv.length === 0) {
    process.stdout.write(`${USAGE}\n`);
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === 'init') return init(argv.slice(1));
  if (argv[0] === 'timeline') return timelineMain(argv.slice(1));
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`unet-lens: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const outDir = args.out ? path.resolve(args.out) : undefined;
  const cancel = { cancelled: false };
  process.on('SIGINT', () => {
    if (cancel.cancelled) {
      if (outDir) removeTempOutputs(outDir);
      process.exit(130);
    }
    cancel.cancelled = true;
    process.stderr.write('unet-lens: cancelling…\n');
  });
  const progress = (e: ProgressEvent) =>
    process.stderr.write(args.json ? `${JSON.stringify(e)}\n` : `${formatProgress(e)}\n`);
  try {
    // Checked before anything runs: the output folder can be written, the model and the
    // dataset file are regular files (a FIFO would block, a device never end).
    checkOutDir(outDir ?? path.resolve(args.resultsDir!), outDir ? '--out' : '--results-dir');
    requireRegularFile(path.resolve(args.data), 'dataset', 'dataset file');
    requireRegularFile(path.resolve(args.model), 'model', 'model file');
    let modelPath = path.resolve(args.model);
    let exported: Awaited<ReturnType<typeof exportForDataset>> | undefined;
    if (isTorchPath(modelPath)) {
      progress({ stage: 'load', message: `exporting ${path.basename(modelPath)} to ONNX` });
      exported = await exportForDataset(modelPath, path.resolve(args.data), {
        pythons: pythonCandidates({ setting: args.python }),
        scriptPath: path.join(__dirname, 'media', 'export_torchscript.py'),
        cacheRoot: path.resolve(args.exportDir ?? defaultExportRoot(process.env, process.platform, os.homedir())),
        log: (m) => process.stderr.write(args.json ? `${JSON.stringify({ stage: 'log', message: m })}\n` : `${m}\n`),
      });
      modelPath = exported.onnxPath;
    }
    const results = await analyze(modelPath, path.resolve(args.data), {
      overrides: args.overrides,
      threads: args.threads,
      onProgress: progress,
      log: (m) => process.stderr.write(args.json ? `${JSON.stringify({ stage: 'log', message: m })}\n` : `${m}\n`),
      cancel,
      distDir: __dirname,
      ...(args.cache ? { cacheDir: path.resolve(args.cache) } : {}),
    });
    if (exported) asPyTorchResults(results, path.resolve(args.model), exported);
    const target = args.resultsDir ? resultsDirFor(path.resolve(args.resultsDir), results) : outDir!;
    const out = await writeOutputs(results, target, __dirname);
    progress({ stage: 'done', message: `wrote ${out.resultsPath} and ${out.reportPath}` });
    for (const w of results.warnings) process.stderr.write(`unet-lens: warning: ${w}\n`);
    return 0;
  } catch (e) {
    return reportError(e);
  }
}

/**
 * Reports a failure in one line. A LensError says what and where and gives its exit code;
 * anything else is a bug: "internal error", with the stack written to a log file (never to
 * the terminal), exit code 1.
 */
export function reportError(e: unknown, exitCode?: number): number {
  if (e instanceof LensError) {
    process.stderr.write(`unet-lens: ${e.message}\n`);
    return exitCode ?? e.exitCode;
  }
  const err = e as Error;
  const logFile = path.join(os.tmpdir(), `unet-lens-error-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`);
  let where = '';
  try {
    fs.writeFileSync(logFile, `unet-lens ${process.argv.slice(2).join(' ')}\n${err?.stack ?? String(e)}\n`, { mode: 0o600 });
    where = ` (details in ${logFile})`;
  } catch {
    /* no log file: the one line still goes out */
  }
  const first = String(err?.message ?? e).split('\n')[0].slice(0, 300);
  process.stderr.write(`unet-lens: internal error: ${first}${where}\n`);
  return 1;
}

/** `unet-lens init <folder>`: writes a unetlens.json for an nnU-Net v2 or Decathlon dataset folder. */
export function parseInitArgs(argv: string[]): { folder: string; out?: string; force: boolean; print: boolean; fold?: number; fingerprint?: string; plans?: string } {
  const r: { folder?: string; out?: string; force: boolean; print: boolean; fold?: number; fingerprint?: string; plans?: string } = { force: false, print: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new LensError(`${a} needs a value`, 'args');
      return v;
    };
    if (a === '--force') r.force = true;
    else if (a === '--print') r.print = true;
    else if (a === '--out') r.out = val();
    else if (a === '--fingerprint') r.fingerprint = val();
    else if (a === '--plans') r.plans = val();
    else if (a === '--fold') {
      const v = val();
      if (!/^\d+$/.test(v)) throw new LensError(`--fold needs a fold number 0, 1, … (got ${v})`, 'args');
      r.fold = Number(v);
    } else if (a.startsWith('-')) throw new LensError(`unknown option ${a}`, 'args');
    else if (r.folder) throw new LensError(`unexpected argument "${a}" (the dataset folder is already ${r.folder})`, 'args');
    else r.folder = a;
  }
  if (!r.folder) throw new LensError('init needs the dataset folder (the one holding dataset.json)', 'args');
  return r as ReturnType<typeof parseInitArgs>;
}

function init(argv: string[]): number {
  let a: ReturnType<typeof parseInitArgs>;
  try {
    a = parseInitArgs(argv);
  } catch (e) {
    process.stderr.write(`unet-lens: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  try {
    const folder = path.resolve(a.folder);
    const r = importDataset(folder, { fold: a.fold, fingerprint: a.fingerprint, plans: a.plans });
    if (a.print) {
      // The extension's Create Dataset File…: it asks before writing.
      process.stdout.write(`${JSON.stringify(r)}\n`);
      return 0;
    }
    const out = path.resolve(a.out ?? path.join(folder, DEFAULT_DATASET_FILE));
    if (path.dirname(out) !== folder) {
      // Paths in the file are relative to it: rebase them when it goes elsewhere.
      rebaseSplits(r.json, folder, path.dirname(out));
    }
    writeDatasetFile(out, r.json, a.force);
    process.stderr.write(`unet-lens: wrote ${out} (${r.kind === 'msd' ? 'Medical Segmentation Decathlon' : 'nnU-Net'} dataset, ${(r.json.classes as string[]).length} classes)\n`);
    for (const n of r.notes) process.stderr.write(`  - ${n}\n`);
    return 0;
  } catch (e) {
    if (e instanceof LensError) {
      process.stderr.write(`unet-lens: ${e.message}\n`);
      return 2;
    }
    return reportError(e);
  }
}

/** `unet-lens timeline <results-dir> [--out <file>]`: assembles the series of a results folder (CONTRACT.md §4). */
export function parseTimelineArgs(argv: string[]): { dir: string; out: string } {
  let dir: string | undefined;
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') {
      out = argv[++i];
      if (!out) throw new LensError('--out needs a file', 'args');
    } else if (a.startsWith('-')) throw new LensError(`unknown option ${a}`, 'args');
    else if (dir) throw new LensError(`unexpected argument "${a}" (the results folder is already ${dir})`, 'args');
    else dir = a;
  }
  if (!dir) throw new LensError('no results folder given', 'args');
  return { dir: path.resolve(dir), out: path.resolve(out ?? path.join(dir, 'series.json')) };
}

async function timelineMain(argv: string[]): Promise<number> {
  try {
    const { dir, out } = parseTimelineArgs(argv);
    const series = await seriesFromResultsDir(dir);
    await writeSeries(series, out);
    const best = series.best ? `; best: ${series.checkpoints[series.best.checkpoint].name} (${series.best.split} ${series.metric} ${series.best.value.toFixed(4)})` : '';
    process.stderr.write(`[done] ${series.checkpoints.length} checkpoints → ${out}${best}\n`);
    for (const w of series.warnings) process.stderr.write(`unet-lens: warning: ${w}\n`);
    return 0;
  } catch (e) {
    if (e instanceof LensError) {
      process.stderr.write(`unet-lens: ${e.message}\n${USAGE}\n`);
      return e.exitCode;
    }
    return reportError(e);
  }
}

/** Makes the split paths of a created dataset file relative to another folder. */
export function rebaseSplits(json: Record<string, unknown>, from: string, to: string): void {
  for (const s of Object.values(json.splits as Record<string, Record<string, string>>)) {
    for (const k of ['images', 'labels']) if (s[k]) s[k] = path.relative(to, path.resolve(from, s[k])).split(path.sep).join('/');
  }
}

/**
 * `analyze` runs in a child process started with `analysisProcessEnv` (engine/limits.ts: glibc
 * reads it at start only; on Linux, whose other C libraries ignore it), unless the environment
 * already sets it or UNET_LENS_NO_RELAUNCH is set. The child has its own process group, so a
 * Ctrl-C reaches it once, forwarded from here (the first cancels, a second stops at once, as
 * without the relaunch); its exit code, or its signal, is this process's. Resolves null when
 * there is no relaunch.
 */
export function relaunch(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> | null {
  if (process.platform !== 'linux' || env.UNET_LENS_NO_RELAUNCH || argv.length === 0 || ['init', 'timeline', '--help', '-h'].includes(argv[0]) || argv.includes('--help')) return null;
  if (hasAnalysisProcessEnv(env)) return null;
  const flags = [...process.execArgv, ...ANALYSIS_EXEC_ARGV.filter((f) => !process.execArgv.includes(f))];
  const child = spawn(process.execPath, [...flags, process.argv[1], ...argv], {
    stdio: 'inherit',
    detached: true,
    env: { ...env, ...analysisProcessEnv(env), UNET_LENS_NO_RELAUNCH: String(process.pid) },
  });
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const forward = (s: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(s);
  };
  for (const s of signals) process.on(s, forward);
  return new Promise((resolve) => {
    child.on('error', (e) => resolve(reportError(e)));
    child.on('exit', (code, signal) => {
      for (const s of signals) process.off(s, forward);
      if (signal) {
        process.kill(process.pid, signal);
        resolve(128 + (os.constants.signals[signal] ?? 0));
      } else resolve(code ?? 1);
    });
  });
}

if (require.main === module) {
  process.on('uncaughtException', (e) => process.exit(reportError(e)));
  process.on('unhandledRejection', (e) => process.exit(reportError(e)));
  const argv = process.argv.slice(2);
  // The relaunched child (see `relaunch`) stops when its parent is gone (killed outright).
  const parent = Number(process.env.UNET_LENS_NO_RELAUNCH);
  if (parent > 1 && parent === process.ppid) setInterval(() => process.ppid !== parent && process.exit(130), 1000).unref();
  (relaunch(argv) ?? main(argv)).then(
    (code) => process.exit(code),
    (e) => process.exit(reportError(e)),
  );
}
