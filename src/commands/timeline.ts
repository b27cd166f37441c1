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
 *
 * Both panels come back after a window reload (`timelineSerializer`): the webview keeps the
 * files the panel shows (`remember`), and src/host/timelineRestore.ts reads them again. A
 * restored checkpoint series analyses nothing on restore; it watches its folder again (and so
 * analyses checkpoints written from then on) only where resumeProblem allows it.
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
import { parseTimelineToHost, type HostToTimeline, type SavedTimeline } from '../protocol/messages';
import { parseTimelineState, readSavedColumns, readSavedComparison, restoredStatus, resumeProblem, watchedFolder, type SavedSeries } from '../host/timelineRestore';
import { claimSlot, releaseSlot, settingsOverrides, type AnalyzeDeps } from './analyze';
import { analysisProcessEnv } from '../engine/limits';

export const TIMELINE_TYPE = 'unetLens.timeline';
/** How long a restored panel's page may take to say `ready` before it is loaded again. */
const READY_MS = 20_000;
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
      env: { ...analysisProcessEnv(), UNET_LENS_MEMORY_MB: String(cfg.get<number>('workerMemoryMB') ?? 8192) },
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
  /** What the webview keeps for a window reload (posted after every `ready`). */
  private saved: SavedTimeline | undefined;
  closed = false;

  constructor(
    extensionUri: vscode.Uri,
    title: string,
    private readonly log: (line: string) => void,
    private readonly onOpen: (checkpoint: number, tap: string | undefined) => void,
    /** A panel VS Code restored after a reload (the serializer's); else a new one is opened. */
    restored?: vscode.WebviewPanel,
    /**
     * A restored panel whose page is still not loaded after the second retry: what replaces it
     * (given, the restored panel is closed and this is called; absent, the panel stays as it is).
     */
    private readonly onStuck?: () => void,
  ) {
    const localResourceRoots = [vscode.Uri.joinPath(extensionUri, 'dist')];
    this.panel = restored ?? vscode.window.createWebviewPanel(TIMELINE_TYPE, title, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, { enableScripts: true, retainContextWhenHidden: true, localResourceRoots });
    const webview = this.panel.webview;
    if (restored) webview.options = { enableScripts: true, localResourceRoots };
    const load = () =>
      (webview.html = panelHtml({
        cspSource: webview.cspSource,
        nonce: randomBytes(16).toString('base64'),
        scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'timeline.js')).toString(),
        styleUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'media', 'panel.css')).toString(),
        title,
      }));
    load();
    webview.onDidReceiveMessage((raw) => void this.onMessage(raw));
    this.panel.onDidDispose(() => (this.closed = true));
    if (restored) this.reloadUnlessReady(load, 1);
  }

  /**
   * A restored panel whose page never says `ready` is loaded again (twice at most, once with `onStuck`): after a
   * window reload, VS Code in the browser now and then leaves one of several restored
   * webviews' pages unloaded (its script request not served; cf. microsoft/vscode#125993).
   * When that does not help either, a panel with `onStuck` is closed and `onStuck` replaces it
   * (the e2e saw restored Compare and Timeline pages stay unloaded through two retries).
   */
  private reloadUnlessReady(load: () => void, attempt: number): void {
    const timer = setTimeout(() => {
      if (this.ready || this.closed || !this.panel.visible) return;
      if (attempt > (this.onStuck ? 1 : 2)) {
        if (!this.onStuck) return;
        this.log(`[timeline] the page of the restored panel "${this.panel.title}" is still not loaded; opening it again as a new panel`);
        this.panel.dispose();
        this.onStuck();
        return;
      }
      this.log(`[timeline] the page of the restored panel "${this.panel.title}" did not load within ${READY_MS / 1000} s; loading it again (${attempt} of ${this.onStuck ? 1 : 2})`);
      load();
      this.reloadUnlessReady(load, attempt + 1);
    }, READY_MS);
    timer.unref?.();
  }

  post(msg: HostToTimeline): void {
    this.last = msg.type === 'timelineStatus' && this.last?.type === 'series' ? { ...this.last, status: msg.message } : msg;
    if (this.ready && !this.closed) void this.panel.webview.postMessage(this.last);
  }

  /** What the panel shows, for a window reload: the webview keeps it in its state. */
  remember(saved: SavedTimeline): void {
    this.saved = saved;
    if (this.ready && !this.closed) void this.panel.webview.postMessage({ type: 'remember', state: saved } satisfies HostToTimeline);
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
          if (this.saved) void this.panel.webview.postMessage({ type: 'remember', state: this.saved } satisfies HostToTimeline);
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
  private watching = false;
  readonly view: TimelinePanel;

  constructor(
    private readonly deps: AnalyzeDeps,
    /** A checkpoint folder or glob; or a results folder (`resultsDir`). */
    readonly spec: string,
    readonly datasetPath: string | undefined,
    readonly resultsDir: boolean,
    /** A panel VS Code restored after a reload (see `restore`). */
    restored?: vscode.WebviewPanel,
    /** What replaces a restored panel whose page never loads (see TimelinePanel). */
    onStuck?: () => void,
  ) {
    this.view = new TimelinePanel(deps.context.extensionUri, `UNet Lens Timeline: ${path.basename(resultsDir ? spec : spec.replace(/[\\/][^\\/]*[*?[][^\\/]*$/, ''))}`, (l) => deps.log.info(l), (c, tap) => this.openCheckpoint(c, tap), restored, onStuck);
    this.view.panel.onDidDispose(() => this.dispose());
    this.remember();
  }

  /** The folder watched: a new (or rewritten) checkpoint or results file. */
  private get folder(): string {
    return watchedFolder(this.spec, existsSync(this.spec) && statSync(this.spec).isDirectory(), this.resultsDir);
  }

  private watch(): void {
    if (this.watching) return;
    this.watching = true;
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(this.folder), this.resultsDir ? '*/results.json' : '**/*'));
    this.disposables.push(watcher, watcher.onDidCreate((u) => this.onFile(u.fsPath)), watcher.onDidChange((u) => this.onFile(u.fsPath)));
  }

  /**
   * Lists the folder and analyses what is not in the timeline yet (through the cache), then
   * watches it. Also what Analyze Checkpoints… does to a session already open on that folder.
   */
  start(): void {
    this.watch();
    if (this.resultsDir) return void this.reloadResultsDir();
    const { items } = listCheckpoints(this.spec);
    if (items.length === 0) this.view.post({ type: 'timelineStatus', message: `No checkpoints in ${this.spec} yet; waiting for the first one.` });
    for (const it of items) {
      if (this.done.get(it.path)?.mtimeMs === it.mtimeMs || this.pending.includes(it.path) || this.waiting.has(it.path)) continue;
      this.pending.push(it.path);
    }
    void this.pump();
  }

  /** What the panel shows, for a window reload (the columns' results files, not the results). */
  private remember(): void {
    this.view.remember({
      type: 'series',
      spec: this.spec,
      ...(this.datasetPath !== undefined ? { datasetPath: this.datasetPath } : {}),
      resultsDir: this.resultsDir,
      checkpoints: this.resultsDir ? [] : [...this.done.values()].map((d) => ({ path: d.path, mtimeMs: d.mtimeMs ?? 0, resultsPath: d.resultsPath })),
    });
  }

  /**
   * After a window reload: the columns read again from their results files (a results folder
   * read again), nothing analysed; then the folder watched again where resumeProblem allows.
   */
  async restore(saved: SavedSeries): Promise<void> {
    const folder = this.folder;
    const notWatching = resumeProblem(saved, folder, {
      trusted: vscode.workspace.isTrusted,
      workspaceFolders: (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
      datasetExists: saved.datasetPath !== undefined && existsSync(saved.datasetPath),
    });
    if (!notWatching) this.watch();
    if (this.resultsDir) {
      if (!existsSync(this.spec)) return this.view.post({ type: 'timelineStatus', message: `The results folder ${this.spec} is gone (deleted or moved): nothing to show.` });
      return this.reloadResultsDir();
    }
    const read = await readSavedColumns(saved);
    for (const c of read.columns) this.done.set(c.path, c);
    const known = new Set(saved.checkpoints.map((c) => c.path));
    let notListed: string[] = [];
    try {
      notListed = listCheckpoints(this.spec).items.map((i) => i.path).filter((p) => !known.has(p));
    } catch {
      /* the folder is gone: only the columns read */
    }
    const status = restoredStatus(read, { watching: !notWatching, notWatching, notListed });
    this.deps.log.info(`[timeline] restored ${this.spec}: ${read.columns.length} of ${saved.checkpoints.length} columns${notWatching ? `; ${notWatching}` : ''}`);
    // The saved list stays as it was until the series changes (the next reload says the same).
    this.view.remember(saved);
    if (this.done.size) this.publish(status);
    else this.view.post({ type: 'timelineStatus', message: status });
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
    let read: Awaited<ReturnType<typeof readResultsDir>>;
    try {
      read = await readResultsDir(this.spec);
    } catch (e) {
      return this.view.post({ type: 'timelineStatus', message: (e as Error).message });
    }
    const { inputs, warnings } = read;
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

  /** A column was added or replaced: shown, and remembered for a window reload. */
  private changed(status?: string): void {
    this.remember();
    this.publish(status);
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
      this.changed(this.pending.length ? `Queued: ${this.pending.length}.` : 'Watching the folder for new checkpoints.');
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

/**
 * The session of this series: the one open on it (a panel restored after a reload goes on
 * there: it is shown and what is not in it yet is analysed), else a new panel.
 */
function openSession(deps: AnalyzeDeps, spec: string, datasetPath: string | undefined, resultsDir: boolean): void {
  const open = [...sessions].find((x) => x.spec === spec && x.datasetPath === datasetPath && x.resultsDir === resultsDir && !x.view.closed);
  if (open) open.view.panel.reveal(undefined, true);
  const session = open ?? track(new SeriesSession(deps, spec, datasetPath, resultsDir));
  session.start();
}

function track(session: SeriesSession): SeriesSession {
  sessions.add(session);
  session.view.panel.onDidDispose(() => sessions.delete(session));
  return session;
}

/** UNet Lens: Analyze Checkpoints… */
export async function analyzeCheckpointsCommand(deps: AnalyzeDeps, arg?: unknown): Promise<void> {
  let spec: string | undefined;
  let datasetPath: string | undefined;
  if (arg instanceof vscode.Uri && arg.scheme === 'file') {
    if (/unetlens\.json$/.test(arg.fsPath)) datasetPath = arg.fsPath;
    else spec = arg.fsPath;
  }
  if (spec && isResultsDir(spec) && listCheckpoints(spec).items.length === 0) return openSession(deps, spec, undefined, true);
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
  openSession(deps, spec, datasetPath, false);
}

async function resultsOf(deps: AnalyzeDeps, uri: vscode.Uri, datasetPath: string | undefined): Promise<{ results: Results; resultsPath: string } | undefined> {
  if (uri.fsPath.endsWith('.json') && !isModelFile(uri.fsPath)) {
    const r = JSON.parse(await fs.readFile(uri.fsPath, 'utf8')) as Results;
    if (r?.schema !== 'unet-lens/results@1') throw new Error(`${uri.fsPath} is not a UNet Lens results file`);
    return { results: r, resultsPath: uri.fsPath };
  }
  if (!trusted()) return undefined;
  const ds = datasetPath ?? (await nearestDataset(uri.fsPath));
  if (!ds) throw new Error('no dataset file (*unetlens.json) for the models');
  const controller = new AbortController();
  while (!claimSlot(deps, controller)) await new Promise((r) => setTimeout(r, 1000));
  try {
    return await analyzeOne(deps, uri.fsPath, ds, controller.signal);
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
    const view = comparisonPanel(deps, a.results, b.results);
    view.remember({ type: 'comparison', a: a.resultsPath, b: b.resultsPath });
  } catch (e) {
    void vscode.window.showErrorMessage(`UNet Lens: ${(e as Error).message}`);
  }
}

function comparisonPanel(deps: AnalyzeDeps, a: Results, b: Results, restored?: vscode.WebviewPanel, onStuck?: () => void): TimelinePanel {
  const title = `UNet Lens Compare: ${path.basename(a.model.path)} ↔ ${path.basename(b.model.path)}`;
  const view = new TimelinePanel(deps.context.extensionUri, title, (l) => deps.log.info(l), () => undefined, restored, onStuck);
  if (restored) view.panel.title = title;
  view.post({ type: 'comparison', comparison: compareResults(a, b) });
  return view;
}

/* ------------------------------------------------------------------------------------------ */
/* After a window reload                                                                       */
/* ------------------------------------------------------------------------------------------ */

/**
 * Brings a Timeline or Compare panel back (registered for TIMELINE_TYPE in extension.ts):
 * its saved state is checked, then what it shows is read again from the files it names
 * (src/host/timelineRestore.ts). A state that cannot be used, or files that are gone, leave
 * the panel saying so in words.
 */
export async function restoreTimelinePanel(deps: AnalyzeDeps, panel: vscode.WebviewPanel, state: unknown, again = false): Promise<void> {
  const parsed = parseTimelineState(state, deps.cache.root);
  // A restored page that never loads (see TimelinePanel) is closed, and the panel restored
  // again from the same state into a new panel in the same column: the files are read again,
  // so nothing is lost. Once: a new panel's page loads.
  // Read now: onStuck runs after the restored panel is disposed, when its title throws.
  const column = panel.viewColumn ?? vscode.ViewColumn.Beside;
  const title = panel.title;
  const onStuck = again
    ? undefined
    : () => {
        const fresh = vscode.window.createWebviewPanel(TIMELINE_TYPE, title, { viewColumn: column, preserveFocus: true }, { enableScripts: true, retainContextWhenHidden: true, localResourceRoots: [vscode.Uri.joinPath(deps.context.extensionUri, 'dist')] });
        void restoreTimelinePanel(deps, fresh, state, true);
      };
  const say = (message: string) => {
    deps.log.warn(`[timeline] ${message}`);
    new TimelinePanel(deps.context.extensionUri, title, (l) => deps.log.info(l), () => undefined, panel, onStuck).post({ type: 'timelineStatus', message });
  };
  if (!parsed.ok) return say(parsed.reason);
  const saved = parsed.saved;
  try {
    if (saved.type === 'comparison') {
      const read = await readSavedComparison(saved);
      if (!read.ok) {
        say(read.reason);
        return;
      }
      comparisonPanel(deps, read.a, read.b, panel, onStuck).remember(saved);
      deps.log.info(`[timeline] restored the comparison of ${saved.a} and ${saved.b}`);
      return;
    }
    await track(new SeriesSession(deps, saved.spec, saved.datasetPath, saved.resultsDir, panel, onStuck)).restore(saved);
  } catch (e) {
    say(`This panel could not come back after the window reload: ${(e as Error).message}`);
  }
}

export function timelineSerializer(deps: AnalyzeDeps): vscode.WebviewPanelSerializer {
  return { deserializeWebviewPanel: (panel, state) => restoreTimelinePanel(deps, panel, state) };
}
