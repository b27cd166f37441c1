/**
 * When may the extension run a model? Pure logic (no `vscode`), used by runAnalysis, which
 * every path that runs a model goes through: the Analyze command, a panel's Re-run (also on
 * panels from Open Results… and panels restored after a reload) and the automatic re-run.
 *
 * - Never in an untrusted workspace (Workspace Trust): the analysis runs the model file.
 * - A job whose model and dataset paths were read from a results file (Re-run / auto re-run
 *   of a panel that shows a results.json) runs without asking only when that results file
 *   is the extension's own (in its results cache) or when the results file, the model and
 *   the dataset file all lie inside the workspace's folders. Otherwise the user confirms
 *   (a results.json from anywhere must not make the extension run the paths written in it;
 *   the answer holds for that model and dataset file until the window closes), and an
 *   automatic re-run of an unconfirmed pair never runs: it leaves the stale banner and its Re-run.
 */
import * as path from 'node:path';

export interface RunRequest {
  modelPath: string;
  datasetPath: string;
  /** The results file the paths were read from (Re-run, auto re-run); undefined: the user chose them. */
  source?: string;
  auto?: boolean;
}

export interface RunContext {
  trusted: boolean;
  /** Folders of the workspace (absolute). */
  workspaceFolders: string[];
  /** The extension's own results cache (absolute). */
  cacheRoot: string;
  /** model+dataset pairs the user already confirmed this session. */
  confirmed: ReadonlySet<string>;
}

export type RunDecision =
  | { action: 'run' }
  | { action: 'refuse'; reason: 'untrusted' | 'not-a-path' }
  | { action: 'confirm'; outside: string[] }
  | { action: 'skip-auto'; outside: string[] };

export function isInside(dir: string, p: string): boolean {
  const rel = path.relative(path.resolve(dir), path.resolve(p));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

export const confirmKey = (modelPath: string, datasetPath: string): string => `${path.resolve(modelPath)}\n${path.resolve(datasetPath)}`;

export function decideRun(req: RunRequest, ctx: RunContext): RunDecision {
  if (!ctx.trusted) return { action: 'refuse', reason: 'untrusted' };
  for (const p of [req.modelPath, req.datasetPath]) {
    if (typeof p !== 'string' || p === '' || p.includes('\0') || !path.isAbsolute(p)) return { action: 'refuse', reason: 'not-a-path' };
  }
  if (req.source === undefined) return { action: 'run' };
  if (isInside(ctx.cacheRoot, req.source)) return { action: 'run' };
  const inWorkspace = (p: string) => ctx.workspaceFolders.some((f) => isInside(f, p));
  const outside = [req.source, req.modelPath, req.datasetPath].filter((p) => !inWorkspace(p));
  if (outside.length === 0) return { action: 'run' };
  if (ctx.confirmed.has(confirmKey(req.modelPath, req.datasetPath))) return { action: 'run' };
  return req.auto ? { action: 'skip-auto', outside } : { action: 'confirm', outside };
}
