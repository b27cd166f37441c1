/**
 * PyTorch models (.pt / .pth): exported to ONNX with the user's own Python and torch, by the
 * script the extension ships (media/export_torchscript.py), then analysed like any ONNX file.
 *
 * - Which Python: the candidates in order (the interpreter selected in the Python extension,
 *   the `unetLens.pythonPath` setting, then `python3` on PATH — `python`, then `py -3` on
 *   Windows); the first that starts is used. {@link pythonCandidates} builds the list.
 * - Where: `<cacheRoot>/<sha256 of the checkpoint, 16 hex>-<input shape>/model.onnx` (the
 *   extension's storage, or the CLI's --export-dir), never next to the user's files. A second
 *   analysis of the same checkpoint with the same input shape reuses the export.
 * - The script opens a TorchScript archive with torch.jit.load; anything else only with
 *   torch.load(weights_only=True) (no code from the file runs), to say what it holds.
 *   Running it at all is for trusted workspaces only (the command checks).
 * - Every failure is a LensError(kind 'model', where = the checkpoint) saying what and where:
 *   no Python, no torch in that Python, weights without a graph (with the two lines that fix
 *   it), a pickled module, an operator the exporter cannot handle (named), a shape the model
 *   does not accept.
 *
 * Pure Node (no `vscode`): the CLI and the extension host share it.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LensError, type DatasetConfig, type Results } from '../types';

export const TORCH_EXTENSIONS = ['.pt', '.pth'] as const;

/** Whether a path names a PyTorch file UNet Lens exports before analysing. */
export function isTorchPath(p: string): boolean {
  return /\.(pt|pth)$/i.test(p);
}

export interface PythonCandidate {
  command: string;
  args: string[];
  /** Where it came from, for messages: "the Python extension's interpreter", "unetLens.pythonPath", "PATH". */
  source: string;
}

/**
 * The Pythons to try, in order: the Python extension's selected interpreter, the
 * `unetLens.pythonPath` setting, then PATH (`python3`; on Windows `python` and `py -3`).
 * Empty or repeated entries are dropped.
 */
export function pythonCandidates(opts: { fromExtension?: string; setting?: string; platform?: NodeJS.Platform }): PythonCandidate[] {
  const out: PythonCandidate[] = [];
  const add = (command: string | undefined, args: string[], source: string) => {
    const c = command?.trim();
    if (!c) return;
    if (out.some((o) => o.command === c && o.args.join(' ') === args.join(' '))) return;
    out.push({ command: c, args, source });
  };
  add(opts.fromExtension, [], "the Python extension's selected interpreter");
  add(opts.setting, [], 'the unetLens.pythonPath setting');
  if ((opts.platform ?? process.platform) === 'win32') {
    add('python', [], 'PATH');
    add('py', ['-3'], 'PATH (the py launcher)');
  } else {
    add('python3', [], 'PATH');
  }
  return out;
}

/** The model's input shape for the export, from the dataset file: [1, C, ...size] (or [1, ...size, C]). */
export function exportInputShape(input: DatasetConfig['input'], datasetFile: string): number[] {
  if (!input.size) {
    throw new LensError(
      `${path.basename(datasetFile)}: "input.size" is needed to export a PyTorch model to ONNX (the export runs the model once on an input of that size); add e.g. "size": [128, 128]`,
      'dataset',
      datasetFile,
    );
  }
  const last = input.layout === 'NHWC' || input.layout === 'NDHWC';
  return last ? [1, ...input.size, input.channels] : [1, input.channels, ...input.size];
}

/** `<cacheRoot>/<sha16>-<shape>`: where the ONNX export of a checkpoint with a given input shape goes. */
export function exportDirFor(cacheRoot: string, sha256: string, shape: number[], p: Pick<typeof path, 'join'> = path): string {
  return p.join(cacheRoot, `${sha256.slice(0, 16)}-${shape.join('x')}`);
}

export interface ExportOptions {
  /** The .pt / .pth file. */
  modelPath: string;
  /** Input shape, with batch 1 (see {@link exportInputShape}). */
  inputShape: number[];
  /** Pythons to try, in order. */
  pythons: PythonCandidate[];
  /** media/export_torchscript.py. */
  scriptPath: string;
  /** Folder for exports (the extension's storage or the CLI's --export-dir). */
  cacheRoot: string;
  opset?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** Kill the export after this long (default 10 min). */
  timeoutMs?: number;
}

export interface ExportResult {
  onnxPath: string;
  /** The checkpoint's sha256. */
  sha256: string;
  /** Taken from an earlier export. */
  cached: boolean;
  python: string;
  pythonSource: string;
  torch: string;
}

/** Exit status and output of a process. */
interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The spawn error (ENOENT: no such program). */
  error?: NodeJS.ErrnoException;
}

function run(command: string, args: string[], opts: { signal?: AbortSignal; timeoutMs: number }): Promise<RunResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let settled = false;
    const done = (r: RunResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true, env: { ...process.env, PYTHONIOENCODING: 'utf-8', PYTHONDONTWRITEBYTECODE: '1' } });
    const onAbort = () => child.kill();
    const timer = setTimeout(() => {
      stderr += `\n(stopped after ${Math.round(opts.timeoutMs / 1000)} s)`;
      child.kill();
    }, opts.timeoutMs);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (error: NodeJS.ErrnoException) => done({ code: null, stdout, stderr, error }));
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    fs.createReadStream(file)
      .on('error', reject)
      .on('data', (d) => h.update(d))
      .on('end', () => resolve(h.digest('hex')));
  });
}

/** The script's JSON answer (its last stdout line). */
export interface ScriptAnswer {
  ok: boolean;
  code?: string;
  message?: string;
  python?: string;
  torch?: string;
  [k: string]: unknown;
}

export function parseAnswer(stdout: string): ScriptAnswer | undefined {
  const lines = stdout.trim().split(/\r?\n/);
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i].trim();
    if (l.startsWith('{')) {
      try {
        return JSON.parse(l) as ScriptAnswer;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** The two ways to save a graph, as the messages show them. */
export function fixLines(stem: string, shape: number[]): string {
  return (
    `  torch.jit.save(torch.jit.script(model), "${stem}_scripted.pt")\n` +
    `  torch.onnx.export(model, torch.randn(${shape.join(', ')}), "${stem}.onnx", opset_version=13, input_names=["input"], dynamic_axes={"input": {0: "batch"}})`
  );
}

/** A script answer that is not ok → the user's message. */
export function explainFailure(a: ScriptAnswer, modelPath: string, shape: number[], python: string): string {
  const name = path.basename(modelPath);
  const stem = name.replace(/\.(pt|pth)$/i, '');
  const fix = fixLines(stem, shape);
  const torchV = a.torch ? `torch ${a.torch}` : 'torch';
  switch (a.code) {
    case 'no-torch':
      return `The Python at ${a.python ?? python} has no PyTorch (import torch: ${a.message}). Install torch in that environment, or choose a Python that has it (Python: Select Interpreter, or the unetLens.pythonPath setting).`;
    case 'weights-only': {
      const what =
        a.holds === 'state_dict'
          ? `a state_dict of ${a.tensors} tensors (${(a.keys as string[]).map((k) => `"${k}"`).join(', ')}, …)`
          : a.holds === 'checkpoint'
            ? `a training checkpoint${a.key ? ` (the weights are under "${a.key}")` : ''}`
            : `a ${a.holds}`;
      return `${name} holds weights without a graph: ${what}. UNet Lens needs the network itself. In your training script, with the model built and these weights loaded, save it one of two ways, then analyze that file:\n${fix}`;
    }
    case 'pickled-module':
      return `${name} is a pickled Python object${a.cls ? ` (class ${a.cls})` : ''}: loading it would run code from your training scripts, and it holds no graph UNet Lens can read. Save the model as TorchScript or ONNX instead, then analyze that file:\n${fix}`;
    case 'unsupported-op':
      return `PyTorch's ONNX exporter (${torchV}, opset ${a.opset ?? 13}) cannot export the operator ${a.op} used in ${name}. Replace that operation in the model (or export to ONNX yourself with a newer torch / opset) and analyze the .onnx file.`;
    case 'run-failed':
      return `${name} does not run on an input of shape [${shape.join(', ')}] (input.channels and input.size of the dataset file): ${a.message}`;
    case 'bad-output':
      return `${name}: ${a.message}`;
    case 'not-torch':
      return `${name} is not a PyTorch file (neither torch.save nor torch.jit.save wrote it)`;
    case 'not-found':
      return `${name}: file not found (${modelPath})`;
    case 'load-failed':
      return `${name} is a TorchScript archive that ${torchV} cannot load: ${a.message}`;
    default:
      return `exporting ${name} to ONNX failed (${torchV}): ${a.message ?? 'no details'}`;
  }
}

/**
 * Exports a .pt/.pth to ONNX (or takes an earlier export of the same bytes and shape).
 * Throws LensError(kind 'model', where = the checkpoint), or kind 'cancelled'.
 */
export async function exportTorchModel(opts: ExportOptions): Promise<ExportResult> {
  const { modelPath, inputShape, log } = opts;
  const name = path.basename(modelPath);
  const err = (msg: string) => new LensError(msg, 'model', modelPath);
  let sha256: string;
  try {
    sha256 = await sha256File(modelPath);
  } catch (e) {
    throw err(`${name}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? `file not found (${modelPath})` : (e as Error).message}`);
  }
  const dir = exportDirFor(opts.cacheRoot, sha256, inputShape);
  const onnxPath = path.join(dir, 'model.onnx');
  const metaPath = path.join(dir, 'export.json');
  try {
    const meta = JSON.parse(fs.readFileSync(metaPath, 'utf8')) as { python: string; pythonSource: string; torch: string };
    if (fs.statSync(onnxPath).size > 0) {
      log?.(`${name}: using the ONNX export made earlier (${onnxPath})`);
      return { onnxPath, sha256, cached: true, python: meta.python, pythonSource: meta.pythonSource, torch: meta.torch };
    }
  } catch {
    /* not exported yet */
  }
  fs.mkdirSync(dir, { recursive: true });
  const timeoutMs = opts.timeoutMs ?? 600_000;
  const tried: string[] = [];
  for (const py of opts.pythons) {
    if (opts.signal?.aborted) throw new LensError('cancelled', 'cancelled');
    const shown = [py.command, ...py.args].join(' ');
    log?.(`exporting ${name} to ONNX with ${shown} (${py.source})`);
    const r = await run(py.command, [...py.args, opts.scriptPath, modelPath, onnxPath, '--shape', inputShape.join(','), '--opset', String(opts.opset ?? 13)], {
      signal: opts.signal,
      timeoutMs,
    });
    if (opts.signal?.aborted) throw new LensError('cancelled', 'cancelled');
    if (r.error) {
      tried.push(`${shown} (${py.source}: ${r.error.code === 'ENOENT' ? 'not found' : r.error.message})`);
      continue;
    }
    const a = parseAnswer(r.stdout);
    if (!a) {
      // Python started but the script did not answer (a Python 2, a broken install, killed).
      const last = r.stderr.trim().split(/\r?\n/).slice(-3).join(' | ');
      if (/SyntaxError|No such file or directory/.test(r.stderr) && /python.?2|print /i.test(r.stderr + shown)) {
        tried.push(`${shown} (${py.source}: not Python 3)`);
        continue;
      }
      throw err(`exporting ${name} to ONNX with ${shown} failed (exit ${r.code ?? 'killed'}): ${last || 'no output'}`);
    }
    if (!a.ok) throw err(explainFailure(a, modelPath, inputShape, shown));
    const meta = { python: a.python ?? shown, pythonSource: py.source, torch: String(a.torch ?? ''), source: modelPath, sha256, inputShape, createdAt: new Date().toISOString() };
    fs.writeFileSync(metaPath, `${JSON.stringify(meta, null, 2)}\n`);
    log?.(`${name}: exported with torch ${meta.torch} (${meta.python}) to ${onnxPath}`);
    return { onnxPath, sha256, cached: false, python: meta.python, pythonSource: py.source, torch: meta.torch };
  }
  throw err(
    `No Python found to export ${name} to ONNX: tried ${tried.join(', ') || 'nothing'}. Select an interpreter with PyTorch in the Python extension, set "unetLens.pythonPath", or put python3 on PATH.`,
  );
}

/** The default export folder of the CLI: the user's cache folder (never next to the model). */
export function defaultExportRoot(env: Record<string, string | undefined> = process.env, platform: NodeJS.Platform = process.platform, home = ''): string {
  const p = platform === 'win32' ? path.win32 : path.posix;
  if (platform === 'win32') return p.join(env.LOCALAPPDATA || p.join(home || env.USERPROFILE || 'C:\\', 'AppData', 'Local'), 'unet-lens', 'exports');
  if (platform === 'darwin') return p.join(home || env.HOME || '/tmp', 'Library', 'Caches', 'unet-lens', 'exports');
  return p.join(env.XDG_CACHE_HOME || p.join(home || env.HOME || '/tmp', '.cache'), 'unet-lens', 'exports');
}

/**
 * The export for an analysis: the input shape comes from the dataset file (read and
 * validated here, so a bad dataset file is reported before Python starts).
 */
export async function exportForDataset(modelPath: string, datasetPath: string, opts: Omit<ExportOptions, 'modelPath' | 'inputShape'>): Promise<ExportResult> {
  const { loadDatasetFile } = await import('../data/datasetFile');
  const cfg = loadDatasetFile(datasetPath);
  return exportTorchModel({ ...opts, modelPath, inputShape: exportInputShape(cfg.input, cfg.path) });
}

/**
 * Results of the ONNX export's analysis → results of the PyTorch file: `model.path`, `sha256`
 * and `format` name the .pt/.pth (what the user analysed, watches and re-runs); the export is
 * kept under `model.onnxExport`.
 */
export function asPyTorchResults(results: Results, modelPath: string, exported: ExportResult): void {
  const m = results.model;
  m.onnxExport = { path: m.path, sha256: m.sha256, python: exported.python, torch: exported.torch };
  m.path = modelPath;
  m.sha256 = exported.sha256;
  m.format = 'pytorch';
}
