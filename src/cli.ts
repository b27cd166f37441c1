/**
 * unet-lens analyze <model> --data <unetlens.json> --out <dir> [--max-points N] [--seed S] [--json]
 *
 * The same engine as the extension's worker, in-process. Exit codes (CONTRACT.md §2):
 * 0 done; 2 bad arguments or dataset file; 3 model could not be loaded or run; 130 cancelled.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { analyze } from './engine/pipeline/analyze';
import { checkOutDir, removeTempOutputs, writeOutputs } from './engine/output';
import { ANALYSIS_LIMITS, requireRegularFile } from './engine/limits';
import { LensError, type ProgressEvent } from './engine/types';

const USAGE = `usage: unet-lens analyze <model> --data <unetlens.json> --out <dir> [--max-points N] [--seed S] [--k K] [--max-taps N] [--threads T] [--no-shifts] [--json]`;

interface Args {
  model: string;
  data: string;
  out: string;
  json: boolean;
  overrides: { maxPoints?: number; seed?: number; k?: number; maxTaps?: number; shifts?: { enabled: boolean } };
  threads?: number;
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
      default:
        if (a.startsWith('-')) throw new LensError(`unknown option ${a}`, 'args');
        if (args.model) throw new LensError(`unexpected argument "${a}" (the model is already ${args.model})`, 'args');
        args.model = a;
    }
  }
  if (!args.model) throw new LensError('no model file given', 'args');
  if (!args.data) throw new LensError('--data <unetlens.json> is required', 'args');
  if (!args.out) throw new LensError('--out <dir> is required', 'args');
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
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`unet-lens: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const outDir = path.resolve(args.out);
  const modelPath = path.resolve(args.model);
  const dataPath = path.resolve(args.data);
  const cancel = { cancelled: false };
  process.on('SIGINT', () => {
    if (cancel.cancelled) {
      removeTempOutputs(outDir);
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
    checkOutDir(outDir);
    requireRegularFile(dataPath, 'dataset', 'dataset file');
    requireRegularFile(modelPath, 'model', 'model file');
    const results = await analyze(modelPath, dataPath, {
      overrides: args.overrides,
      threads: args.threads,
      onProgress: progress,
      log: (m) => process.stderr.write(args.json ? `${JSON.stringify({ stage: 'log', message: m })}\n` : `${m}\n`),
      cancel,
      distDir: __dirname,
    });
    const out = await writeOutputs(results, outDir, __dirname);
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
function reportError(e: unknown): number {
  if (e instanceof LensError) {
    process.stderr.write(`unet-lens: ${e.message}\n`);
    return e.exitCode;
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

if (require.main === module) {
  process.on('uncaughtException', (e) => process.exit(reportError(e)));
  process.on('unhandledRejection', (e) => process.exit(reportError(e)));
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => process.exit(reportError(e)),
  );
}
