/**
 * Writes the two files of an analysis: results.json (CONTRACT.md §3) and the
 * self-contained report.html. Each is written to a temporary name and renamed, so a
 * cancelled or crashed run never leaves a half-written file, and nothing else in the
 * folder is touched. A killed write leaves `<name>.<pid>.tmp`, which the next write into the
 * folder removes (once that process is gone).
 */
import { promises as fs, accessSync, constants, readdirSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { hostname } from 'node:os';

let tmpCounter = 0;
import { renderReport } from './report';
import { casesToLabelCsv } from '../protocol/cases';
import { LensError, type Results } from './types';

export interface Outputs {
  resultsPath: string;
  reportPath: string;
}

const OUTPUT_NAMES = ['results.json', 'report.html'] as const;
/**
 * A file being written by process <pid>: `results.json.<host>.<pid>.<unique>.tmp` (writeAtomic),
 * or the older `results.json.<pid>.tmp`. Only this host's temp files are judged.
 */
const TEMP_RE = /^(results\.json|report\.html)\.(?:(.+)\.)?(\d+)(?:\.[0-9a-z]+)?\.tmp$/;

const alive = (pid: number): boolean => {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Removes temp files of ours in `outDir`: those of this process (`all`: a cancelled run on
 * its way out), and those left by a process that no longer runs (a killed write).
 * Never touches anything else; never throws.
 */
export function removeTempOutputs(outDir: string, own = true): void {
  let names: string[];
  try {
    names = readdirSync(outDir);
  } catch {
    return;
  }
  for (const n of names) {
    const m = TEMP_RE.exec(n);
    if (!m) continue;
    if (m[2] !== undefined && m[2] !== hostname()) continue; // another machine's write: not ours to judge
    const pid = Number(m[3]);
    if ((own && pid === process.pid) || (pid !== process.pid && !alive(pid))) {
      try {
        rmSync(path.join(outDir, n), { force: true });
      } catch {
        /* not ours to fight over */
      }
    }
  }
}

/**
 * Checks, before any analysis runs, that the results can be written into `outDir`: it is a
 * folder we may write to (or does not exist yet and its nearest existing parent is such a
 * folder), and results.json / report.html in it, if present, are regular files. Creates
 * nothing. Throws LensError('args') naming the path.
 */
export function checkOutDir(outDir: string, label = '--out'): void {
  const fail = (why: string, where = outDir): never => {
    throw new LensError(`${label} ${outDir}: ${why}`, 'args', where);
  };
  let dir = outDir;
  for (;;) {
    let st;
    try {
      st = statSync(dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') fail(`${dir} cannot be read (${code})`, dir);
      const parent = path.dirname(dir);
      if (parent === dir) fail('no existing parent folder');
      dir = parent;
      continue;
    }
    if (!st.isDirectory()) fail(dir === outDir ? 'is a file, not a folder' : `${dir} is a file, not a folder`, dir);
    try {
      accessSync(dir, constants.W_OK | constants.X_OK);
    } catch {
      fail(dir === outDir ? 'the folder is not writable' : `cannot create it: ${dir} is not writable`, dir);
    }
    break;
  }
  if (dir !== outDir) return;
  for (const name of OUTPUT_NAMES) {
    const f = path.join(outDir, name);
    let st;
    try {
      st = statSync(f);
    } catch {
      continue;
    }
    if (!st.isFile()) fail(`${name} in it is ${st.isDirectory() ? 'a folder' : 'not a regular file'}; remove it or choose another ${label === '--out' ? '--out' : 'folder'}`, f);
  }
}

/**
 * Writes `file` by a temporary name in the same folder, then a rename: readers see the old
 * file or the whole new one. The temporary name is unique per host, process and call, so
 * processes on several machines may write into one shared folder (`--results-dir`). A failed
 * write removes its temporary file.
 */
export async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.${hostname()}.${process.pid}.${(tmpCounter++).toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`;
  try {
    await fs.writeFile(tmp, text, { encoding: 'utf8', mode: 0o644 });
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code;
    throw new LensError(`cannot write ${file}: ${code === 'EISDIR' ? 'it is a folder' : (e as Error).message}`, 'args', file);
  }
}

/** Reads the webview bundle and its stylesheet from the bundle folder (dist/). */
export async function reportAssets(distDir: string): Promise<{ script: string; css: string }> {
  const scriptPath = path.join(distDir, 'webview.js');
  const cssPath = path.join(distDir, 'media', 'panel.css');
  try {
    const [script, css] = await Promise.all([fs.readFile(scriptPath, 'utf8'), fs.readFile(cssPath, 'utf8')]);
    return { script, css };
  } catch (e) {
    throw new LensError(`cannot build report.html: ${(e as Error).message} (run "npm run build" first)`, 'internal', scriptPath);
  }
}

export async function writeOutputs(results: Results, outDir: string, distDir: string): Promise<Outputs> {
  try {
    await fs.mkdir(outDir, { recursive: true });
  } catch (e) {
    throw new LensError(`cannot create the output folder ${outDir}: ${(e as Error).message}`, 'args', outDir);
  }
  removeTempOutputs(outDir, false);
  const resultsPath = path.join(outDir, 'results.json');
  const reportPath = path.join(outDir, 'report.html');
  const assets = await reportAssets(distDir);
  await writeAtomic(resultsPath, `${JSON.stringify(results)}\n`);
  // METHOD.md §5 (issue 10): per unlabelled split, the images to label first.
  const pwl = results.performanceWithoutLabels;
  for (const sp of Object.values(pwl?.splits ?? {})) {
    if (sp.perImage && sp.casesToLabel) await writeAtomic(path.join(outDir, sp.casesToLabel), casesToLabelCsv(pwl!.metric, sp.perImage));
  }
  await writeAtomic(reportPath, renderReport(results, assets));
  return { resultsPath, reportPath };
}
