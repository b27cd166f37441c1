/**
 * UNet Lens: Analyze Checkpoints… and UNet Lens: Compare Results… (CONTRACT.md §4).
 *
 * Analyze Checkpoints: on a folder in the Explorer (or from the palette: a dataset file
 * with `checkpoints`, or a folder to pick), lists the checkpoints (series of
 * src/engine/checkpoints.ts), analyses each one in the background worker, one at a time,
 * through the results cache (a checkpoint analysed before is read, not run), and shows the
 * Timeline panel, which grows by a column as each analysis finishes. While the panel is
 * open the folder is watched: a new checkpoint file is waited for until its size is stable
 * (never read half-written), then queued behind the running analysis. Every analysis
 * checks Workspace Trust first. A folder of results written by `--results-dir` (cluster
 * runs) is watched the same way, without running anything.
 *
 * Compare Results: two results (two selected model files or results.json files in the
 * Explorer, or picked) side by side.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { randomUUID, randomBytes } from 'node:crypto';
import { promises as fs, existsSync, readdirSync, statSync } from 'node:fs';
import { runWorker } from '../host/workerRunner';
import { cacheKey, dataFingerprint } from '../host/resultsCache';
import { panelHtml } from '../host/webviewHtml';
import { METHOD_VERSION, type Results } from '../engine/types';
import { assembleSeries, compareResults, type Series, type SeriesInput } from '../engine/series';
import { isModelFile, listCheckpoints, readResultsDir, waitStable } from '../engine/checkpoints';
import { loadDatasetFile } from '../engine/data/datasetFile';
import { parseTimelineToHost, type HostToTimeline } from '../protocol/messages';
import { claimSlot, releaseSlot, settingsOverrides, type AnalyzeDeps } from './analyze';

const TIMELINE_TYPE = 'unetLens.timeline';
const EXCLUDE = '**/{node_modules,.git,.cache,dist}/**';

/* ------------------------------------------------------------------------------------------ */
/* One checkpoint: cache or worker                                                             */
/* ------------------------------------------------------------------------------------------ */

/** Trusted workspace, or a warning and false: every path that runs a model checks this. */
function trusted(): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window
    .showWarningMessage('UNet Lens needs a trusted workspace: it runs the model files to analyze them.', 'Manage Workspace Trust')
    .then((c) => c && vscode.commands.executeCommand('workbench.trust.manage'));
  return false;
}

/**
 * The results of one model with a dataset file: from the results cache (same key as
 * Analyze Generalization: model and dataset hashes, data fingerprint, settings, versions),
 * else from the worker (into the cache). The caller holds the analysis slot.
 */
export async function analyzeOne(deps: AnalyzeDeps, modelPath: string, datasetPath: string, signal: AbortSignal): Promise<{ results: Results; resultsPath: string; cached: boolean }> {
  const { cache, hasher, context, log } = deps;
  // The last gate before a worker runs a model (the callers check too, and say why).
  if (!vscode.workspace.isTrusted) throw new Error('the workspace is not trusted: UNet Lens runs no model in it');
  const overrides = settingsOverrides();
  const [modelSha256, datasetSha256] = await Promise.all([hasher.sha256(modelPath, signal), hasher.sha256(datasetPath, signal)]);
  const key = cacheKey({
    modelSha256,
    datasetSha256,
    dataFingerprint: await dataFingerprint(datasetPath),
    settings: overrides,
    methodVersion: METHOD_VERSION,
    toolVersion: String(context.extension.packageJSON.version ?? ''),
  });
  const hit = await cache.lookup(key);
  if (hit) {
    try {
      return { results: JSON.parse(await fs.readFile(hit.resultsPath, 'utf8')) as Results, resultsPath: hit.resultsPath, cached: true };
    } catch (e) {
      log.warn(`cached results unreadable (${(e as Error).message}); running the analysis`);
    }
  }
  const outDir = cache.dirFor(key);
  const cfg = vscode.workspace.getConfiguration('unetLens');
  log.info(`[timeline] analyze ${modelPath} → ${outDir}`);
  const outcome = await runWorker(
    path.join(context.extensionUri.fsPath, 'dist', 'worker.js'),
    { type: 'analyze', id: randomUUID(), modelPath, datasetPath, overrides, threads: cfg.get<number>('threads') ?? 0, outDir },
    {
      onProgress: () => undefined,
      onLog: (line) => log.info(line),
      signal,
      maxOldSpaceMB: cfg.get<number>('workerMemoryMB') ?? 8192,
      // The readers' memory budget (engine/limits.ts) follows the worker's heap limit.
      env: { UNET_LENS_MEMORY_MB: String(cfg.get<number>('workerMemoryMB') ?? 8192) },
    },
  );
  await cache.record({ key, modelPath, datasetPath, modelSha256, datasetSha256, settings: overrides }).catch((e) => log.warn(`results cache not updated: ${(e as Error).message}`));
  return { results: outcome.results, resultsPath: path.join(outDir, 'results.json'), cached: false };
}

/* ------------------------------------------------------------------------------------------ */
/* The Timeline panel                                                                          */
/* ------------------------------------------------------------------------------------------ */

class TimelinePanel {
  readonly panel: vscode.WebviewPanel;
  private ready = false;
  private last: HostToTimeline | undefined;
  closed = false;

  constructor(
    extensionUri: vscode.Uri,
    title: string,
    private readonly log: (line: string) => void,
    private readonly onOpen: (checkpoint: number, tap: string | undefined) => void,
  ) {
    this.panel = vscode.window.createWebviewPanel(TIMELINE_TYPE, title, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, { enableScripts: true, retainContextWhenHidden: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist')] });
    const webview = this.panel.webview;
    webview.html = panelHtml({
      cspSource: webview.cspSource,
      nonce: randomBytes(16).toString('base64'),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'timeline.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'media', 'panel.css')).toString(),
      title,
    });
    webview.onDidReceiveMessage((raw) => void this.onMessage(raw));
    this.panel.onDidDispose(() => (this.closed = true));
  }

  post(msg: HostToTimeline): void {
    this.last = msg.type === 'timelineStatus' && this.last?.type === 'series' ? { ...this.last, status: msg.message } : msg;
    if (this.ready && !this.closed) void this.panel.webview.postMessage(this.last);
  }

  private async onMessage(raw: unknown): Promise<void> {
    const parsed = parseTimelineToHost(raw);
    if (!parsed.ok) return this.log(`[timeline] rejected a webview message: ${parsed.reason}`);
    const msg = parsed.message;
    try {
      switch (msg.type) {
        case 'ready':
          this.ready = true;
          if (this.last) void this.panel.webview.postMessage(this.last);
          break;
        case 'openCheckpoint':
          this.onOpen(msg.checkpoint, msg.tap);
          break;
        case 'exportPng':
          await this.save(msg.name, 'png', Buffer.from(msg.dataUrl.slice(msg.dataUrl.indexOf(',') + 1), 'base64'));
          break;
        case 'exportCsv':
          await this.save(msg.name, 'csv', Buffer.from(msg.csv, 'utf8'));
          break;
        default: {
          const unhandled: never = msg;
          this.log(`[timeline] unhandled ${JSON.stringify(unhandled)}`);
        }
      }
    } catch (e) {
      void vscode.window.showErrorMessage(`UNet Lens: ${(e as Error).message}`);
    }
  }

  private async save(name: string, ext: 'png' | 'csv', bytes: Buffer): Promise<void> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const target = await vscode.window.showSaveDialog({
      defaultUri: folder ? vscode.Uri.joinPath(folder, `${name.replace(/[^\w.-]+/g, '_')}.${ext}`) : undefined,
      filters: ext === 'png' ? { 'PNG image': ['png'] } : { CSV: ['csv'] },
    });
    if (target) await vscode.workspace.fs.writeFile(target, bytes);
  }
}

/* ------------------------------------------------------------------------------------------ */
/* A series session: the panel, the queue, the watcher                                        */
/* ------------------------------------------------------------------------------------------ */

interface Done extends SeriesInput {
  resultsPath: string;
}

class SeriesSession {
  private readonly done = new Map<string, Done>();
  private readonly pending: string[] = [];
  private readonly waiting = new Set<string>();
  private running = false;
  private readonly controller = new AbortController();
  private readonly disposables: vscode.Disposable[] = [];
  readonly view: TimelinePanel;

  constructor(
    private readonly deps: AnalyzeDeps,
    /** A checkpoint folder or glob; or a results folder (`resultsDir`). */
    private readonly spec: string,
    private readonly datasetPath: string | undefined,
    private readonly resultsDir: boolean,
  ) {
    this.view = new TimelinePanel(deps.context.extensionUri, `UNet Lens Timeline: ${path.basename(resultsDir ? spec : spec.replace(/[\\/][^\\/]*[*?[][^\\/]*$/, ''))}`, (l) => deps.log.info(l), (c, tap) => this.openCheckpoint(c, tap));
    this.view.panel.onDidDispose(() => this.dispose());
    // Watch the folder: a new (or rewritten) checkpoint or results file.
    const dir = resultsDir ? spec : existsSync(spec) && statSync(spec).isDirectory() ? spec : path.dirname(spec.replace(/[*?[].*$/, 'x'));
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(dir), resultsDir ? '*/results.json' : '**/*'));
    this.disposables.push(watcher, watcher.onDidCreate((u) => this.onFile(u.fsPath)), watcher.onDidChange((u) => this.onFile(u.fsPath)));
  }

  start(): void {
    if (this.resultsDir) return void this.reloadResultsDir();
    const { items } = listCheckpoints(this.spec);
    if (items.length === 0) this.view.post({ type: 'timelineStatus', message: `No checkpoints in ${this.spec} yet; waiting for the first one.` });
    for (const it of items) this.pending.push(it.path);
    void this.pump();
  }

  private onFile(file: string): void {
    if (this.view.closed) return;
    if (this.resultsDir) return void this.reloadResultsDir();
    if (!isModelFile(file) || file.endsWith('.tmp')) return;
    if (!listCheckpoints(this.spec).items.some((i) => i.path === file)) return;
    if (this.pending.includes(file) || this.waiting.has(file)) return;
    this.deps.log.info(`[timeline] new checkpoint ${file}`);
    this.pending.push(file);
    void this.pump();
  }

  private async reloadResultsDir(): Promise<void> {
    const { inputs, warnings } = await readResultsDir(this.spec);
    if (inputs.length === 0) return this.view.post({ type: 'timelineStatus', message: `No results in ${this.spec} yet; waiting.` });
    for (const i of inputs) this.done.set(i.path, { ...i, resultsPath: i.resultsPath! });
    this.publish(undefined, warnings);
  }

  private publish(status?: string, warnings: string[] = []): void {
    if (this.done.size === 0) return;
    const series: Series = assembleSeries([...this.done.values()]);
    series.warnings.unshift(...warnings);
    this.view.post({ type: 'series', series, ...(status ? { status } : {}) });
  }

  private async pump(): Promise<void> {
    if (this.running || this.view.closed) return;
    const file = this.pending.shift();
    if (!file || !this.datasetPath) return;
    this.running = true;
    const slot = new AbortController();
    const onAbort = () => slot.abort();
    this.controller.signal.addEventListener('abort', onAbort);
    try {
      this.waiting.add(file);
      this.view.post({ type: 'timelineStatus', message: `Waiting for ${path.basename(file)} to be written…` });
      await waitStable(file, slot.signal);
      this.waiting.delete(file);
      if (!trusted()) {
        this.view.post({ type: 'timelineStatus', message: 'Not analysing: the workspace is not trusted.' });
        return;
      }
      while (!claimSlot(this.deps, slot)) {
        if (slot.signal.aborted) return;
        await new Promise((r) => setTimeout(r, 1000)); // another analysis runs: at most one per workspace
      }
      try {
        this.view.post({ type: 'timelineStatus', message: `Analyzing ${path.basename(file)}… (${this.pending.length} more queued)` });
        const mtimeMs = statSync(file).mtimeMs;
        const r = await analyzeOne(this.deps, file, this.datasetPath, slot.signal);
        // Keyed by the model path: a rewritten checkpoint replaces its column.
        this.done.set(file, { path: file, mtimeMs, results: { ...r.results, model: { ...r.results.model, path: file } }, resultsPath: r.resultsPath });
        this.deps.log.info(`[timeline] ${path.basename(file)} ${r.cached ? 'from the cache' : 'analysed'}`);
      } finally {
        releaseSlot(this.deps, slot);
      }
      this.publish(this.pending.length ? `Queued: ${this.pending.length}.` : 'Watching the folder for new checkpoints.');
    } catch (e) {
      this.waiting.delete(file);
      if (slot.signal.aborted && !this.controller.signal.aborted) {
        // Cancel Analysis: the queue is dropped; checkpoints written from now on are still analysed.
        this.pending.length = 0;
        this.view.post({ type: 'timelineStatus', message: `Cancelled at ${path.basename(file)}. Run UNet Lens: Analyze Checkpoints… again to analyse the rest.` });
      } else if (!slot.signal.aborted) {
        this.deps.log.error(`[timeline] ${file}: ${(e as Error).message}`);
        this.view.post({ type: 'timelineStatus', message: `${path.basename(file)}: ${(e as Error).message}` });
      }
    } finally {
      this.controller.signal.removeEventListener('abort', onAbort);
      this.running = false;
      if (!this.view.closed) void this.pump();
    }
  }

  private openCheckpoint(index: number, tap: string | undefined): void {
    const ordered = assembleSeries([...this.done.values()]).checkpoints;
    const c = ordered[index];
    const d = c && this.done.get(c.path);
    if (!d) return;
    const p = this.deps.panels.panelFor(d.path, `UNet Lens: ${path.basename(d.path)}`);
    if (tap) p.selectedTap = tap;
    if (this.datasetPath) p.job = { modelPath: d.path, datasetPath: this.datasetPath };
    this.deps.panels.show(d.path, d.results, d.resultsPath, true);
  }

  dispose(): void {
    this.controller.abort();
    for (const d of this.disposables) d.dispose();
    this.disposables.length = 0;
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Commands                                                                                    */
/* ------------------------------------------------------------------------------------------ */

async function nearestDataset(near: string): Promise<string | undefined> {
  const found = await vscode.workspace.findFiles('**/*unetlens.json', EXCLUDE, 200);
  if (found.length === 0) return undefined;
  const score = (u: vscode.Uri) => (near.startsWith(path.dirname(u.fsPath)) ? near.length - path.dirname(u.fsPath).length : 1e9);
  found.sort((a, b) => score(a) - score(b) || a.fsPath.localeCompare(b.fsPath));
  if (found.length === 1 || score(found[0]) < score(found[1])) return found[0].fsPath;
  const pick = await vscode.window.showQuickPick(found.map((u) => ({ label: path.basename(u.fsPath), description: vscode.workspace.asRelativePath(u), uri: u })), { placeHolder: 'Which dataset file (unetlens.json) goes with these checkpoints?' });
  return pick?.uri.fsPath;
}

const isResultsDir = (dir: string) => {
  try {
    return readdirSync(dir, { withFileTypes: true }).some((e) => e.isDirectory() && existsSync(path.join(dir, e.name, 'results.json')));
  } catch {
    return false;
  }
};

export const sessions = new Set<SeriesSession>();

/** UNet Lens: Analyze Checkpoints… */
export async function analyzeCheckpointsCommand(deps: AnalyzeDeps, arg?: unknown): Promise<void> {
  let spec: string | undefined;
  let datasetPath: string | undefined;
  if (arg instanceof vscode.Uri && arg.scheme === 'file') {
    if (/unetlens\.json$/.test(arg.fsPath)) datasetPath = arg.fsPath;
    else spec = arg.fsPath;
  }
  if (spec && isResultsDir(spec) && listCheckpoints(spec).items.length === 0) {
    const session = new SeriesSession(deps, spec, undefined, true);
    sessions.add(session);
    session.view.panel.onDidDispose(() => sessions.delete(session));
    session.start();
    return;
  }
  if (!trusted()) return;
  if (!datasetPath) datasetPath = await nearestDataset(spec ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '');
  if (!datasetPath) {
    void vscode.window.showErrorMessage('UNet Lens needs a dataset file named *unetlens.json in the workspace (its "checkpoints" field may name the series).');
    return;
  }
  if (!spec) {
    try {
      spec = loadDatasetFile(datasetPath).checkpoints;
    } catch (e) {
      void vscode.window.showErrorMessage(`UNet Lens: ${(e as Error).message}`);
      return;
    }
  }
  if (!spec) {
    const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Analyze Checkpoints', title: 'The folder the training script writes its checkpoints to' });
    spec = picked?.[0]?.fsPath;
  }
  if (!spec) return;
  deps.log.info(`[timeline] series ${spec} with ${datasetPath}`);
  const session = new SeriesSession(deps, spec, datasetPath, false);
  sessions.add(session);
  session.view.panel.onDidDispose(() => sessions.delete(session));
  session.start();
}

async function resultsOf(deps: AnalyzeDeps, uri: vscode.Uri, datasetPath: string | undefined): Promise<Results | undefined> {
  if (uri.fsPath.endsWith('.json') && !isModelFile(uri.fsPath)) {
    const r = JSON.parse(await fs.readFile(uri.fsPath, 'utf8')) as Results;
    if (r?.schema !== 'unet-lens/results@1') throw new Error(`${uri.fsPath} is not a UNet Lens results file`);
    return r;
  }
  if (!trusted()) return undefined;
  const ds = datasetPath ?? (await nearestDataset(uri.fsPath));
  if (!ds) throw new Error('no dataset file (*unetlens.json) for the models');
  const controller = new AbortController();
  while (!claimSlot(deps, controller)) await new Promise((r) => setTimeout(r, 1000));
  try {
    return (await analyzeOne(deps, uri.fsPath, ds, controller.signal)).results;
  } finally {
    releaseSlot(deps, controller);
  }
}

/** UNet Lens: Compare Results… — two model files (analysed or from the cache) or two results.json files. */
export async function compareResultsCommand(deps: AnalyzeDeps, arg?: unknown, all?: unknown): Promise<void> {
  let uris = Array.isArray(all) ? all.filter((u): u is vscode.Uri => u instanceof vscode.Uri) : [];
  if (uris.length !== 2) {
    const picked = await vscode.window.showOpenDialog({ canSelectMany: true, openLabel: 'Compare', title: 'Pick two results.json files or two model files (A then B)', filters: { 'Results or models': ['json', 'onnx', 'h5', 'hdf5', 'keras'] } });
    uris = picked ?? [];
  }
  if (uris.length !== 2) {
    if (uris.length) void vscode.window.showErrorMessage(`UNet Lens: pick exactly two results or models to compare (got ${uris.length}).`);
    return;
  }
  try {
    const [a, b] = [await resultsOf(deps, uris[0], undefined), await resultsOf(deps, uris[1], undefined)];
    if (!a || !b) return;
    const view = new TimelinePanel(deps.context.extensionUri, `UNet Lens Compare: ${path.basename(a.model.path)} ↔ ${path.basename(b.model.path)}`, (l) => deps.log.info(l), () => undefined);
    view.post({ type: 'comparison', comparison: compareResults(a, b) });
  } catch (e) {
    void vscode.window.showErrorMessage(`UNet Lens: ${(e as Error).message}`);
  }
}
