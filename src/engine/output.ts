/**
 * Writes the two files of an analysis: results.json (CONTRACT.md §3) and the
 * self-contained report.html. Each is written to a temporary name and renamed, so a
 * cancelled or crashed run never leaves a half-written file, and nothing else in the
 * folder is touched.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { hostname } from 'node:os';

let tmpCounter = 0;
import { renderReport } from './report';
import { casesToLabelCsv } from './shift/withoutLabels';
import { LensError, type Results } from './types';

export interface Outputs {
  resultsPath: string;
  reportPath: string;
}

/**
 * Writes `file` by a temporary name in the same folder, then a rename: readers see the old
 * file or the whole new one. The temporary name is unique per host, process and call, so
 * processes on several machines may write into one shared folder (`--results-dir`).
 */
export async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.${hostname()}.${process.pid}.${(tmpCounter++).toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`;
  await fs.writeFile(tmp, text, 'utf8');
  await fs.rename(tmp, file);
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
