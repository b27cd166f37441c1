/**
 * Checkpoint series on disk (CONTRACT.md §1 `checkpoints`, §2 `timeline` and `--results-dir`,
 * §4): finding the checkpoint files of a glob or folder, reading a results folder written by
 * many processes (`<dir>/<model-sha256>/results.json`), and writing the series document.
 * Pure Node (no `vscode`); the assembling itself is series.ts.
 */
import { promises as fs, statSync, readdirSync, type Stats } from 'node:fs';
import * as path from 'node:path';
import { MODEL_EXTENSIONS, MODEL_FILE_NAMES } from './model/contract';
import { assembleSeries, orderCheckpoints, type CheckpointRef, type Series, type SeriesInput } from './series';
import { LensError, RESULTS_SCHEMA, type Results } from './types';
import { writeAtomic } from './output';

/** Is this file name a model file (by MODEL_FILES)? */
export function isModelFile(name: string): boolean {
  const base = path.basename(name);
  return MODEL_FILE_NAMES.includes(base) || MODEL_EXTENSIONS.includes(path.extname(base).toLowerCase());
}

/** A glob segment (`*`, `?`, `[abc]`) as a regular expression; `**` is handled by the walker. */
export function segmentRegex(seg: string): RegExp {
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += `[${seg.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

const hasMagic = (s: string) => /[*?[]/.test(s);

/** Files matching an absolute glob (`/runs/exp1/epoch_*.onnx`, `/runs/**\/*.onnx`). */
export function globFiles(pattern: string): string[] {
  const abs = path.resolve(pattern);
  const parts = abs.split(path.sep).filter(Boolean);
  let fixed: string = path.sep;
  let i = 0;
  while (i < parts.length && !hasMagic(parts[i])) fixed = path.join(fixed, parts[i++]);
  const rest = parts.slice(i);
  if (rest.length === 0) return isFile(fixed) ? [fixed] : [];
  const out: string[] = [];
  const walk = (dir: string, segs: string[]) => {
    if (segs.length === 0) return;
    const [seg, ...more] = segs;
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    if (seg === '**') {
      walk(dir, more);
      for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.')) walk(path.join(dir, e.name), segs);
      return;
    }
    const re = segmentRegex(seg);
    for (const e of entries) {
      if (!re.test(e.name) || (e.name.startsWith('.') && !seg.startsWith('.'))) continue; // as a shell: * skips dot files
      const p = path.join(dir, e.name);
      if (more.length === 0) {
        if (e.isFile() || (e.isSymbolicLink() && isFile(p))) out.push(p);
      } else if (e.isDirectory()) walk(p, more);
    }
  };
  walk(fixed, rest);
  return [...new Set(out)];
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * The checkpoints of a series: `spec` is a folder (its model files, not recursive) or a glob;
 * ordered by `orderCheckpoints` (epoch/step number in the name, else modification time).
 * Temporary files (`*.tmp`, `*.part`, dot files) are never checkpoints.
 */
export function listCheckpoints(spec: string): { order: 'number' | 'mtime'; items: (CheckpointRef & { size: number })[] } {
  let files: string[];
  let st: Stats | undefined;
  try {
    st = statSync(spec);
  } catch {
    st = undefined;
  }
  if (st?.isDirectory()) files = readdirSync(spec).map((f) => path.join(spec, f)).filter((f) => isFile(f));
  else files = globFiles(spec);
  files = files.filter((f) => isModelFile(f) && !path.basename(f).startsWith('.'));
  const refs = files.map((f) => {
    const s = statSync(f);
    return { path: f, mtimeMs: s.mtimeMs, size: s.size };
  });
  return orderCheckpoints(refs);
}

/** The folder of one checkpoint's results under `--results-dir`: `<dir>/<model sha256>`. */
export function resultsDirFor(dir: string, results: Pick<Results, 'model'>): string {
  return path.join(dir, results.model.sha256);
}

/**
 * Reads every `<dir>/<hash>/results.json` (the folders `--results-dir` writes). A file that
 * is not (yet) a complete results file is skipped with a warning, never half-read: writers
 * rename complete files into place, so a partial one is a temporary name or another tool's.
 */
export async function readResultsDir(dir: string): Promise<{ inputs: SeriesInput[]; warnings: string[] }> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (e) {
    throw new LensError(`cannot read the results folder ${dir}: ${(e as Error).message}`, 'args', dir);
  }
  const warnings: string[] = [];
  const inputs: SeriesInput[] = [];
  for (const e of entries.filter((x) => x.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const file = path.join(dir, e.name, 'results.json');
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch {
      continue; // a folder whose run has not finished yet
    }
    let r: Results;
    try {
      r = JSON.parse(text) as Results;
    } catch (err) {
      warnings.push(`${file}: not valid JSON (${(err as Error).message}); skipped`);
      continue;
    }
    if (r?.schema !== RESULTS_SCHEMA || !r.model?.sha256) {
      warnings.push(`${file}: not a ${RESULTS_SCHEMA} file; skipped`);
      continue;
    }
    let mtimeMs: number | null = null;
    try {
      mtimeMs = (await fs.stat(r.model.path)).mtimeMs;
    } catch {
      mtimeMs = Date.parse(r.createdAt) || null; // analysed on another machine: its analysis time
    }
    inputs.push({ path: r.model.path, mtimeMs, results: r, resultsPath: file });
  }
  return { inputs, warnings };
}

/** Assembles the series of a results folder (`unet-lens timeline <dir>`). */
export async function seriesFromResultsDir(dir: string): Promise<Series> {
  const { inputs, warnings } = await readResultsDir(dir);
  if (inputs.length === 0) throw new LensError(`no results in ${dir} (expected <dir>/<model-hash>/results.json, written by "unet-lens analyze --results-dir")`, 'args', dir);
  const series = assembleSeries(inputs);
  series.warnings.unshift(...warnings);
  return series;
}

/** Writes a series document atomically (temporary name, then rename). */
export async function writeSeries(series: Series, file: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writeAtomic(file, `${JSON.stringify(series)}\n`);
}

/**
 * A checkpoint still being written is never read: resolves once the file exists, is not
 * empty, and its size and mtime have not changed for `quietMs`.
 */
export async function waitStable(file: string, signal: AbortSignal, quietMs = 1500, pollMs = 500): Promise<void> {
  let last = '';
  let since = Date.now();
  for (;;) {
    if (signal.aborted) throw new LensError('cancelled', 'cancelled', file);
    let now = 'missing';
    try {
      const st = statSync(file);
      now = `${st.size}:${st.mtimeMs}`;
      if (st.size === 0) now = `empty:${st.mtimeMs}`;
    } catch {
      /* not there (yet, or renamed away) */
    }
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (!now.startsWith('missing') && !now.startsWith('empty') && Date.now() - since >= quietMs) return;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
