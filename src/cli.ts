/**
 * unet-lens analyze <model> --data <unetlens.json> --out <dir> [--max-points N] [--seed S] [--json]
 *
 * The same engine as the extension's worker, in-process. Exit codes (CONTRACT.md §2):
 * 0 done; 2 bad arguments or dataset file; 3 model could not be loaded or run; 130 cancelled.
 */
import * as path from 'node:path';
import { analyze } from './engine/pipeline/analyze';
import { writeOutputs } from './engine/output';
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
  const intFlag = (name: string, v: string | undefined, min: number): number => {
    if (v === undefined || !/^-?\d+$/.test(v)) throw new LensError(`${name} needs an integer (got ${v ?? 'nothing'})`, 'args');
    const n = Number(v);
    if (n < min) throw new LensError(`${name} must be ≥ ${min} (got ${n})`, 'args');
    return n;
  };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    switch (a) {
      case '--data':
        args.data = rest[++i];
        break;
      case '--out':
        args.out = rest[++i];
        break;
      case '--json':
        args.json = true;
        break;
      case '--max-points':
        args.overrides.maxPoints = intFlag(a, rest[++i], 2);
        break;
      case '--seed':
        args.overrides.seed = intFlag(a, rest[++i], 0);
        break;
      case '--k':
        args.overrides.k = intFlag(a, rest[++i], 1);
        break;
      case '--max-taps':
        args.overrides.maxTaps = intFlag(a, rest[++i], 1);
        break;
      case '--no-shifts':
        args.overrides.shifts = { enabled: false };
        break;
      case '--threads':
        args.threads = intFlag(a, rest[++i], 0);
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
  const cancel = { cancelled: false };
  process.on('SIGINT', () => {
    if (cancel.cancelled) process.exit(130);
    cancel.cancelled = true;
    process.stderr.write('unet-lens: cancelling…\n');
  });
  const progress = (e: ProgressEvent) =>
    process.stderr.write(args.json ? `${JSON.stringify(e)}\n` : `${formatProgress(e)}\n`);
  try {
    const results = await analyze(path.resolve(args.model), path.resolve(args.data), {
      overrides: args.overrides,
      threads: args.threads,
      onProgress: progress,
      log: (m) => process.stderr.write(args.json ? `${JSON.stringify({ stage: 'log', message: m })}\n` : `${m}\n`),
      cancel,
      distDir: __dirname,
    });
    const out = await writeOutputs(results, path.resolve(args.out), __dirname);
    progress({ stage: 'done', message: `wrote ${out.resultsPath} and ${out.reportPath}` });
    for (const w of results.warnings) process.stderr.write(`unet-lens: warning: ${w}\n`);
    return 0;
  } catch (e) {
    if (e instanceof LensError) {
      process.stderr.write(`unet-lens: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`unet-lens: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`unet-lens: ${String(e)}\n`);
      process.exit(1);
    },
  );
}
