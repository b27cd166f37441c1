/**
 * Bringing a Timeline or Compare panel back after a window reload. Pure Node (no `vscode`):
 * src/commands/timeline.ts's serializer calls it, the unit tests drive it on temp folders.
 *
 * The webview keeps what the host told it to remember (`remember`, declared in
 * src/protocol/messages.ts as `savedTimeline`) in its state, beside its view choices; after
 * a reload VS Code hands that state to the serializer. Here it is checked
 * (`parseTimelineState`) and the panel's content is read again from the files it names,
 * never taken from the state:
 *
 *  - a checkpoint series: each column's results file (in the results cache) is read again;
 *    a column whose file is gone, or whose checkpoint was rewritten since it was analysed, is
 *    left out and said so. Nothing is analysed on restore.
 *  - a results folder (`--results-dir`): read again, as the live panel does on every change.
 *  - a comparison: both results files read again.
 *
 * Whether a restored checkpoint series watches its folder again (and so analyses checkpoints
 * written from then on, as the live panel does) is `resumeProblem`: only in a trusted
 * workspace, with the folder and dataset file inside the workspace's folders and the dataset
 * file still there.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { parseSavedTimeline, type SavedTimeline } from '../protocol/messages';
import type { Results } from '../engine/types';
import type { SeriesInput } from '../engine/series';
import { isInside } from './runPolicy';
import { isGone, readResultsFile } from './resultsFile';

export type SavedSeries = Extract<SavedTimeline, { type: 'series' }>;
export type SavedComparison = Extract<SavedTimeline, { type: 'comparison' }>;

/** What the panel says when it cannot come back at all (followed by the reason). */
export const CANNOT_RESTORE = 'This panel could not come back after the window reload';
const RERUN = 'Run UNet Lens: Analyze Checkpoints… or UNet Lens: Compare Results… again.';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const badPath = (p: string) => p === '' || p.includes('\0') || !path.isAbsolute(p);

/**
 * The saved state of a Timeline / Compare panel (the webview's whole state: its view choices
 * and `restore`), checked: the declaration in messages.ts, then that every path is absolute,
 * that a checkpoint series names its dataset file and that each column's results file lies in
 * the extension's results cache (where the panel's analyses put them). The reason is a
 * sentence for the panel.
 */
export function parseTimelineState(state: unknown, cacheRoot: string): { ok: true; saved: SavedTimeline } | { ok: false; reason: string } {
  const fail = (why: string) => ({ ok: false as const, reason: `${CANNOT_RESTORE}: ${why}. ${RERUN}` });
  if (state === undefined || state === null) return fail('no saved state came back with it (it showed nothing yet, or the window closed before VS Code stored its state)');
  if (!isRecord(state)) return fail(`its saved state is not an object (got ${Array.isArray(state) ? 'an array' : typeof state})`);
  if (!Object.prototype.hasOwnProperty.call(state, 'restore')) return fail('it was saved by an older UNet Lens, which kept only the view choices');
  const parsed = parseSavedTimeline(state.restore);
  if (!parsed.ok) return fail(`its saved state is not valid (${parsed.reason})`);
  const saved = parsed.message;
  const paths = saved.type === 'comparison' ? [saved.a, saved.b] : [saved.spec, ...(saved.datasetPath !== undefined ? [saved.datasetPath] : []), ...saved.checkpoints.flatMap((c) => [c.path, c.resultsPath])];
  const bad = paths.find(badPath);
  if (bad !== undefined) return fail(`its saved state names ${JSON.stringify(bad.slice(0, 80))}, which is not an absolute path`);
  if (saved.type === 'series' && !saved.resultsDir) {
    if (saved.datasetPath === undefined) return fail('its saved state has no dataset file for the checkpoints');
    const outside = saved.checkpoints.find((c) => !isInside(cacheRoot, c.resultsPath));
    if (outside) return fail(`its saved state names a results file outside the extension's results cache (${outside.resultsPath.slice(0, 200)})`);
  }
  return { ok: true, saved };
}

/** A few names, then how many more. */
export function someNames(files: readonly string[], max = 3): string {
  const names = files.map((f) => path.basename(f));
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

/** One restored column: as the live panel keeps it (the model path is the checkpoint's). */
export interface RestoredColumn extends SeriesInput {
  resultsPath: string;
  mtimeMs: number;
}

export interface RestoredColumns {
  columns: RestoredColumn[];
  /** Checkpoints whose results file is gone (deleted, or dropped from the results cache). */
  gone: string[];
  /** Checkpoints rewritten since they were analysed (their results are of the old file). */
  changed: string[];
  /** Other results files that could not be read, each with why. */
  unreadable: string[];
}

/** The columns of a saved checkpoint series, read again from their results files. Runs nothing. */
export async function readSavedColumns(saved: SavedSeries): Promise<RestoredColumns> {
  const out: RestoredColumns = { columns: [], gone: [], changed: [], unreadable: [] };
  for (const c of saved.checkpoints) {
    const now = await fs.stat(c.path).then((s) => s.mtimeMs, (e: unknown) => (isGone(e) ? null : undefined));
    if (typeof now === 'number' && now !== c.mtimeMs) {
      out.changed.push(c.path);
      continue;
    }
    let results: Results;
    try {
      results = await readResultsFile(c.resultsPath);
    } catch (e) {
      if (isGone((e as Error).cause)) out.gone.push(c.path);
      else out.unreadable.push(`${path.basename(c.path)}: ${(e as Error).message}`);
      continue;
    }
    // A checkpoint deleted since keeps its column, as in the live panel.
    out.columns.push({ path: c.path, mtimeMs: c.mtimeMs, results: { ...results, model: { ...results.model, path: c.path } }, resultsPath: c.resultsPath });
  }
  return out;
}

export interface ResumeContext {
  trusted: boolean;
  /** Folders of the workspace (absolute). */
  workspaceFolders: readonly string[];
  /** Is the dataset file still there? */
  datasetExists: boolean;
}

/** The folder a series watches: the results folder, the checkpoint folder, or the fixed part of a glob. */
export function watchedFolder(spec: string, specIsFolder: boolean, resultsDir: boolean): string {
  return resultsDir || specIsFolder ? spec : path.dirname(spec.replace(/[*?[].*$/, 'x'));
}

/**
 * Why a restored series does not watch its folder again (undefined: it does). A results
 * folder is only read, so it is watched again even in an untrusted workspace (as Analyze
 * Checkpoints… on a results folder is allowed there). A checkpoint series analyses what is
 * written into its folder: only in a trusted workspace, and only when the folder and the
 * dataset file lie inside the workspace's folders (a restored state must not point the
 * extension at models elsewhere) and the dataset file is still there.
 */
export function resumeProblem(saved: SavedSeries, folder: string, ctx: ResumeContext): string | undefined {
  if (saved.resultsDir) return undefined;
  const again = 'run UNet Lens: Analyze Checkpoints… to watch it again';
  if (!ctx.trusted) return 'Not watching the folder: the workspace is not trusted, and UNet Lens analyses no checkpoint in it.';
  const inWorkspace = (p: string) => ctx.workspaceFolders.some((f) => isInside(f, p));
  const outside = [folder, saved.datasetPath!].filter((p) => !inWorkspace(p));
  if (outside.length) return `Not watching the folder after the reload: ${outside.join(' and ')} ${outside.length > 1 ? 'lie' : 'lies'} outside the workspace; ${again}.`;
  if (!ctx.datasetExists) return `Not watching the folder: the dataset file ${saved.datasetPath} is gone.`;
  return undefined;
}

/**
 * The line the restored series shows (`watching`: it watches its folder again; `notListed`:
 * checkpoints in the folder that are not in the timeline and were not analysed on restore).
 */
export function restoredStatus(r: RestoredColumns, o: { watching: boolean; notWatching?: string; notListed: readonly string[] }): string {
  const parts: string[] = [];
  const n = r.columns.length;
  parts.push(n ? `Back after the window reload: ${n} checkpoint${n === 1 ? '' : 's'} read from ${n === 1 ? 'its results file' : 'their results files'}.` : 'Back after the window reload, but no checkpoint’s results could be read again.');
  if (r.gone.length) parts.push(`The results of ${someNames(r.gone)} are gone (deleted, or dropped from the results cache).`);
  if (r.changed.length) parts.push(`${someNames(r.changed)} changed on disk after ${r.changed.length === 1 ? 'it was' : 'they were'} analysed: left out.`);
  if (r.unreadable.length) parts.push(`Unreadable: ${r.unreadable.slice(0, 3).join('; ')}.`);
  if (o.notListed.length) parts.push(`Not in this timeline: ${someNames(o.notListed)}.`);
  if (r.gone.length || r.changed.length || o.notListed.length) parts.push('Nothing is analysed on a reload: run UNet Lens: Analyze Checkpoints… on the same folder to analyse them here.');
  parts.push(o.watching ? 'Watching the folder for new checkpoints.' : (o.notWatching ?? ''));
  return parts.filter(Boolean).join(' ');
}

/** The two results files of a saved comparison, read again; or the sentence the panel says instead. */
export async function readSavedComparison(saved: SavedComparison): Promise<{ ok: true; a: Results; b: Results } | { ok: false; reason: string }> {
  const read: Results[] = [];
  for (const [label, file] of [['A', saved.a], ['B', saved.b]] as const) {
    try {
      read.push(await readResultsFile(file));
    } catch (e) {
      return { ok: false, reason: `${CANNOT_RESTORE}: the results file ${label}, ${file}: ${(e as Error).message}. Run UNet Lens: Compare Results… again.` };
    }
  }
  return { ok: true, a: read[0], b: read[1] };
}
