/**
 * UNet Lens: Analyze Generalization.
 * From the Explorer context menu or the editor title (a model URI is passed), or the
 * palette (quick picks of the workspace's models and dataset files), or the CodeLens over
 * a training script's export line. Takes the results from the cache when nothing changed,
 * else runs the analysis in the background worker with a cancellable progress
 * notification, and shows the panel beside the active editor. Closing that panel while
 * the analysis runs cancels it (the worker is stopped and nothing reopens the panel).
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { PrestartedWorker, runWorker, WorkerError, type WorkerStart } from '../host/workerRunner';
import { exportTorchForAnalysis } from '../host/torchModels';
import { asPyTorchResults, isTorchPath, type ExportResult } from '../engine/model/torchExport';
import type { PanelManager } from '../host/panelManager';
import type { FileHasher } from '../host/hash';
import { FileSearch } from '../host/fileSearch';
import { cacheKey, dataFingerprint, type ResultsCache } from '../host/resultsCache';
import { confirmKey, decideRun } from '../host/runPolicy';
import { ANALYSIS_LIMITS, analysisProcessEnv } from '../engine/limits';
import { METHOD_VERSION, type ProgressEvent, type Results } from '../engine/types';
import { modelFileFormat, modelFilesGlob } from '../engine/model/contract';

export interface AnalyzeDeps {
  context: vscode.ExtensionContext;
  panels: PanelManager;
  log: vscode.LogOutputChannel;
  setRunning: (running: boolean) => void;
  cache: ResultsCache;
  hasher: FileHasher;
  /** The searches for models and dataset files, started at activation (else searched when asked). */
  search?: { models: FileSearch; datasets: FileSearch };
}

const MODEL_GLOB = modelFilesGlob();
const DATASET_GLOB = '**/*unetlens.json';
const EXCLUDE = '**/{node_modules,.git,.cache,dist}/**';

/** The command's two workspace searches, started now (activation) and kept fresh by file watchers. */
export function startFileSearches(): { models: FileSearch; datasets: FileSearch } & vscode.Disposable {
  const models = new FileSearch(MODEL_GLOB, EXCLUDE, 500);
  const datasets = new FileSearch(DATASET_GLOB, EXCLUDE, 500);
  models.warm();
  datasets.warm();
  return { models, datasets, dispose: () => (models.dispose(), datasets.dispose()) };
}

let current: AbortController | undefined;

/**
 * The workspace's one analysis slot, for other runners (the checkpoint series,
 * commands/timeline.ts): true when it was free and is now held by `controller`. Cancel
 * Analysis aborts whoever holds it.
 */
export function claimSlot(deps: AnalyzeDeps, controller: AbortController): boolean {
  if (current) return false;
  current = controller;
  deps.setRunning(true);
  return true;
}

/** Gives the slot back (and starts an analysis the file watcher queued meanwhile). */
export function releaseSlot(deps: AnalyzeDeps, controller: AbortController): void {
  if (current !== controller) return;
  current = undefined;
  deps.setRunning(false);
  const next = queued;
  queued = undefined;
  if (next) void runAnalysis(deps, next.modelPath, next.datasetPath, next.opts);
}

export function cancelCurrent(): boolean {
  if (!current) return false;
  current.abort();
  return true;
}

/** One of the files a workspace search found (`searched`), asked for when there are several. */
async function pickFile(searched: Thenable<vscode.Uri[]>, placeHolder: string, near?: vscode.Uri): Promise<vscode.Uri | undefined> {
  const found = [...(await searched)];
  if (found.length === 0) return undefined;
  // Files in the model's folder or its ancestors first, then by path.
  const nearDir = near ? path.dirname(near.fsPath) : undefined;
  const score = (u: vscode.Uri) => (nearDir && nearDir.startsWith(path.dirname(u.fsPath)) ? nearDir.length - path.dirname(u.fsPath).length : 1e9);
  found.sort((a, b) => score(a) - score(b) || a.fsPath.localeCompare(b.fsPath));
  if (found.length === 1 || (near && score(found[0]) < score(found[1]))) return found[0];
  const items = found.map((u) => ({ label: path.basename(u.fsPath), description: vscode.workspace.asRelativePath(u), uri: u }));
  const picked = await vscode.window.showQuickPick(items, { placeHolder, matchOnDescription: true });
  return picked?.uri;
}

async function pickModel(search?: FileSearch): Promise<vscode.Uri | undefined> {
  const found = [...(await (search ? search.files() : vscode.workspace.findFiles(MODEL_GLOB, EXCLUDE, 500)))];
  if (found.length === 0) {
    void vscode.window.showErrorMessage('UNet Lens: no model in this workspace (.onnx, PyTorch .pt/.pth, TF.js model.json, Keras .h5/.keras). Export your UNet with torch.onnx.export or model.save and try again.');
    return undefined;
  }
  if (found.length === 1) return found[0];
  const items = found
    .sort((a, b) => a.fsPath.localeCompare(b.fsPath))
    .map((u) => ({ label: path.basename(u.fsPath), description: vscode.workspace.asRelativePath(u), uri: u }));
  return (await vscode.window.showQuickPick(items, { placeHolder: 'Which model should UNet Lens analyze?', matchOnDescription: true }))?.uri;
}

/** A file UNet Lens can analyze: ONNX, PyTorch .pt/.pth (exported to ONNX first), a TF.js model.json, a Keras .h5/.hdf5/.keras. */
export function isModelPath(p: string): boolean {
  return modelFileFormat(p) !== undefined;
}

function modelFromEditor(): vscode.Uri | undefined {
  const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
  const input = tab?.input as { uri?: vscode.Uri } | undefined;
  const uri = input?.uri ?? vscode.window.activeTextEditor?.document.uri;
  return uri && isModelPath(uri.fsPath) ? uri : undefined;
}

/** Says why nothing runs in an untrusted workspace, with the way to trust it. */
async function explainUntrusted(): Promise<void> {
  const choice = await vscode.window.showWarningMessage(
    'UNet Lens needs a trusted workspace: it runs the model file to analyze it.',
    'Manage Workspace Trust',
  );
  if (choice) void vscode.commands.executeCommand('workbench.trust.manage');
}

export async function analyzeCommand(deps: AnalyzeDeps, arg?: unknown): Promise<void> {
  const { log } = deps;
  if (!vscode.workspace.isTrusted) {
    log.info('analyze: the workspace is not trusted; nothing runs');
    await explainUntrusted();
    return;
  }
  if (current) {
    void vscode.window.showInformationMessage('UNet Lens is already analyzing a model. Cancel it first or wait for it to finish.');
    return;
  }
  const startedAt = Date.now();
  // The worker starts now (compiling its bundle, loading onnxruntime) while the workspace is
  // searched and the files hashed; stopped if nothing runs (no model, a cached result).
  const prestarted = prestartWorker(deps.context);
  const ahead = deps.search ? `models ${deps.search.models.state}, dataset files ${deps.search.datasets.state}` : 'none';
  log.info(`analyze: command; worker started ahead (+${Date.now() - startedAt} ms); searches done ahead: ${ahead}`);
  try {
    // The dataset files are searched for while the model is found or picked (the panel opens
    // after both: one workspace search less to wait for).
    const datasets = deps.search ? deps.search.datasets.files() : vscode.workspace.findFiles(DATASET_GLOB, EXCLUDE, 500);
    const modelUri = arg instanceof vscode.Uri ? arg : modelFromEditor() ?? (await pickModel(deps.search?.models));
    if (!modelUri) return;
    if (modelUri.scheme !== 'file') {
      void vscode.window.showErrorMessage(`UNet Lens can only analyze files on disk (got ${modelUri.toString()}).`);
      return;
    }
    log.info(`analyze: model ${modelUri.fsPath} (+${Date.now() - startedAt} ms)`);
    const datasetUri = await pickFile(datasets, 'Which dataset file (unetlens.json) goes with this model?', modelUri);
    if (!datasetUri) {
      const choice = await vscode.window.showErrorMessage(
        'UNet Lens needs a dataset file named *unetlens.json in the workspace that says where the images and labels are.',
        'Show Example',
      );
      if (choice === 'Show Example') void vscode.env.openExternal(vscode.Uri.joinPath(deps.context.extensionUri, 'README.md'));
      return;
    }
    log.info(`analyze: dataset file ${datasetUri.fsPath} (+${Date.now() - startedAt} ms)`);
    await runAnalysis(deps, modelUri.fsPath, datasetUri.fsPath, { prestarted, startedAt });
  } finally {
    prestarted?.dispose();
  }
}

/** The worker bundle and how it is started (heap limit from the settings). */
function workerLaunch(context: vscode.ExtensionContext, run: RunSettings): { workerPath: string; start: WorkerStart } {
  return {
    workerPath: path.join(context.extensionUri.fsPath, 'dist', 'worker.js'),
    // The readers' memory budget (engine/limits.ts) follows the worker's heap limit.
    start: { maxOldSpaceMB: run.workerMemoryMB, env: { ...analysisProcessEnv(), UNET_LENS_MEMORY_MB: String(run.workerMemoryMB) } },
  };
}

/** A worker started ahead of its job (undefined when the settings are invalid: runAnalysis says so). */
function prestartWorker(context: vscode.ExtensionContext): PrestartedWorker | undefined {
  const cfg = vscode.workspace.getConfiguration('unetLens');
  const run = readRunSettings((k) => cfg.get(k));
  if ('error' in run) return undefined;
  const { workerPath, start } = workerLaunch(context, run);
  return new PrestartedWorker(workerPath, start);
}

export interface RunOptions {
  /** Skip the cache (Re-run). */
  force?: boolean;
  /** Started by the file watcher: queue behind a running analysis instead of saying so. */
  auto?: boolean;
  /** The results file the model and dataset paths were read from (Re-run of a panel); see runPolicy.ts. */
  source?: string;
  /** A worker the command started ahead (used if it was started the same way; the caller disposes it). */
  prestarted?: PrestartedWorker;
  /** When the command started (Date.now()), for the log's timings. */
  startedAt?: number;
}

/** Model and dataset pairs from results files the user agreed to run, this session. */
const confirmedRuns = new Set<string>();

/**
 * The gate every analysis passes (runPolicy.ts): Workspace Trust, and a confirmation before
 * running paths read from a results file outside the workspace. True: go ahead.
 */
async function mayRun(deps: AnalyzeDeps, modelPath: string, datasetPath: string, opts: RunOptions): Promise<boolean> {
  const { log } = deps;
  const decision = decideRun(
    { modelPath, datasetPath, source: opts.source, auto: opts.auto },
    {
      trusted: vscode.workspace.isTrusted,
      workspaceFolders: (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath),
      cacheRoot: deps.cache.root,
      confirmed: confirmedRuns,
    },
  );
  switch (decision.action) {
    case 'run':
      return true;
    case 'refuse':
      if (decision.reason === 'untrusted') {
        log.info(`not running ${modelPath}: the workspace is not trusted${opts.auto ? ' (automatic re-run skipped)' : ''}`);
        if (!opts.auto) await explainUntrusted();
      } else {
        log.warn(`not running: the model or dataset path ${JSON.stringify(modelPath)} / ${JSON.stringify(datasetPath)} is not an absolute path`);
        if (!opts.auto) void vscode.window.showErrorMessage('UNet Lens: the results file does not name a model and dataset file on this disk; nothing runs.');
      }
      return false;
    case 'skip-auto':
      log.info(`automatic re-run skipped: ${modelPath} comes from the results file ${opts.source}, outside the workspace (${decision.outside.join(', ')}); Re-run asks first`);
      return false;
    case 'confirm': {
      const choice = await vscode.window.showWarningMessage(
        `Run the model named in ${path.basename(opts.source ?? '')}?`,
        {
          modal: true,
          detail:
            `The results file ${opts.source} names paths outside this workspace. Re-running it runs:\n\n` +
            `model: ${modelPath}\ndataset file: ${datasetPath}\n\nOnly run models you trust.`,
        },
        'Run',
      );
      if (choice !== 'Run') {
        log.info(`re-run of ${modelPath} from ${opts.source} not confirmed; nothing runs`);
        return false;
      }
      confirmedRuns.add(confirmKey(modelPath, datasetPath));
      return true;
    }
  }
}


let queued: { modelPath: string; datasetPath: string; opts: RunOptions } | undefined;

interface RunSettings {
  /** The overrides of the dataset file's `analysis` block that come from the settings. */
  overrides: { maxPoints?: number; seed?: number; shifts?: { enabled: boolean } };
  threads: number;
  workerMemoryMB: number;
  /** `unetLens.reuseSplits`: keep each split's measures for the next run (the split cache). */
  reuseSplits: boolean;
}

/**
 * The settings an analysis uses, checked against their bounds (VS Code only warns about
 * out-of-range values in the settings editor): a bad value is an error naming the setting.
 */
export function readRunSettings(get: <T>(key: string) => T | undefined): RunSettings | { error: string } {
  const overrides: RunSettings['overrides'] = {};
  if (get<boolean>('predictPerformance') === false) overrides.shifts = { enabled: false };
  const int = (key: string, min: number, max: number, nullable: boolean): number | undefined | { error: string } => {
    const v = get<unknown>(key);
    if (v === undefined || (nullable && v === null)) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
      return { error: `the setting unetLens.${key} must be a whole number from ${min} to ${max} (got ${JSON.stringify(v)})` };
    }
    return v;
  };
  const maxPoints = int('maxPoints', 16, ANALYSIS_LIMITS.maxPoints, true);
  const seed = int('seed', 0, ANALYSIS_LIMITS.seed, true);
  const threads = int('threads', 0, ANALYSIS_LIMITS.threads, false);
  const memory = int('workerMemoryMB', 512, 1_048_576, false);
  for (const v of [maxPoints, seed, threads, memory]) if (v && typeof v === 'object') return v;
  if (typeof maxPoints === 'number') overrides.maxPoints = maxPoints;
  if (typeof seed === 'number') overrides.seed = seed;
  return { overrides, threads: (threads as number | undefined) ?? 0, workerMemoryMB: (memory as number | undefined) ?? 8192, reuseSplits: get<boolean>('reuseSplits') !== false };
}

/** The overrides of the dataset file's `analysis` block that come from the settings; a setting out of its bounds throws, naming it. */
export function settingsOverrides(): RunSettings['overrides'] {
  const cfg = vscode.workspace.getConfiguration('unetLens');
  const r = readRunSettings((k) => cfg.get(k));
  if ('error' in r) throw new Error(r.error);
  return r.overrides;
}

/**
 * Runs (or takes from the cache) the analysis of a model with a dataset file and shows it
 * in the model's panel beside the editor.
 *
 * Cache: the key is the sha256 of the model file and of the dataset file (hashed here,
 * streamed), a fingerprint of the data files it names, the settings overrides and the
 * method and extension versions. A hit shows the cached results at once (the panel says
 * they are cached and offers Re-run); Re-run skips the cache, and so does analyzing again
 * the very results the model's open panel already shows (the user sees them and asks
 * again: they want a fresh run).
 */
export async function runAnalysis(deps: AnalyzeDeps, modelPath: string, datasetPath: string, opts: RunOptions = {}): Promise<void> {
  const { context, panels, log, cache, hasher } = deps;
  const cfg = vscode.workspace.getConfiguration('unetLens');
  const run = readRunSettings((k) => cfg.get(k));
  if (!(await mayRun(deps, modelPath, datasetPath, opts))) return;
  const key = modelPath;
  const title = `UNet Lens: ${path.basename(modelPath)}`;
  if (current) {
    if (opts.auto) {
      queued = { modelPath, datasetPath, opts };
      log.info(`analysis queued behind the running one: ${modelPath}`);
    } else {
      void vscode.window.showInformationMessage('UNet Lens is already analyzing a model. Cancel it first or wait for it to finish.');
    }
    return;
  }
  if ('error' in run) {
    log.error(run.error);
    void vscode.window.showErrorMessage(`UNet Lens: ${run.error}.`);
    return;
  }
  const overrides = run.overrides;
  // What the model's panel shows now, if it is open with results (see the cache rule below).
  const open = panels.get(key);
  const openKey = open?.results ? open.cacheKey : undefined;

  const started = opts.startedAt ?? Date.now();
  const since = () => `+${Date.now() - started} ms`;
  const controller = new AbortController();
  current = controller;
  deps.setRunning(true);
  // The panel opens at once beside the editor, in its loading state, and fills when the
  // cache or the worker answers. Closing it cancels the analysis.
  const panel = panels.showStatus(key, title, 'loading', `Analyzing ${path.basename(modelPath)} with ${path.basename(datasetPath)}…`, { modelPath, datasetPath });
  const onClose = panel.onDidClose(() => {
    log.info(`the panel of ${modelPath} was closed: cancelling its analysis`);
    controller.abort();
  });
  log.info(`analyze: panel shown (${since()})`);
  // The worker starts while the files are hashed and the cache looked up (killed on a hit).
  const launch = workerLaunch(context, run);
  const prestarted = opts.prestarted ?? new PrestartedWorker(launch.workerPath, launch.start);
  // The worker starts this analysis now, while the files are hashed and the cache looked up;
  // the job below takes it over (or, on a cache hit, the worker is stopped). Not for a PyTorch
  // file: its ONNX export comes first.
  // The split cache (engine/pipeline/splitCache.ts) in the extension's storage; not for a Re-run.
  const storage = context.storageUri ?? context.globalStorageUri;
  const cacheDir = run.reuseSplits && !opts.force && storage ? path.join(storage.fsPath, 'splits') : undefined;
  if (!isTorchPath(modelPath) && prestarted.preload({ type: 'preload', modelPath, datasetPath, overrides, threads: run.threads, ...(cacheDir ? { cacheDir } : {}) }, launch.workerPath, launch.start)) {
    log.info(`analyze: the worker started ahead begins the analysis (${since()})`);
  }
  try {
    // ---------------------------------------------------------------- the cache
    let cacheKeyValue: string | undefined;
    let modelSha256 = '';
    let datasetSha256 = '';
    try {
      [modelSha256, datasetSha256] = await Promise.all([hasher.sha256(modelPath, controller.signal), hasher.sha256(datasetPath, controller.signal)]);
      cacheKeyValue = cacheKey({
        modelSha256,
        datasetSha256,
        dataFingerprint: await dataFingerprint(datasetPath),
        settings: overrides,
        methodVersion: METHOD_VERSION,
        toolVersion: String(context.extension.packageJSON.version ?? ''),
      });
    } catch (e) {
      // No key (e.g. the model file is missing): no cache; the worker says what is wrong.
      log.warn(`results cache skipped: ${(e as Error).message}`);
    }
    log.info(`analyze: cache key ${cacheKeyValue?.slice(0, 12) ?? 'none'} (${since()})`);
    // Reopening an analysis (no panel, or a panel showing something else) takes the cached
    // results. Asking again for the analysis whose results the open panel already shows is
    // asking for a fresh run: it runs, as Re-run does.
    if (controller.signal.aborted) throw new WorkerError('Analysis cancelled.', 'cancelled');
    if (cacheKeyValue && !opts.force && openKey !== cacheKeyValue) {
      const hit = await cache.lookup(cacheKeyValue);
      if (hit) {
        let results: Results | undefined;
        try {
          results = JSON.parse(await fs.readFile(hit.resultsPath, 'utf8')) as Results;
        } catch (e) {
          log.warn(`cached results unreadable (${(e as Error).message}); running the analysis`);
          await cache.remove(cacheKeyValue);
        }
        if (results) {
          prestarted.dispose(); // no analysis runs: the worker started ahead stops before the results show
          if (panel.closed) throw new WorkerError('Analysis cancelled.', 'cancelled');
          panels.show(key, results, hit.resultsPath, true).cacheKey = cacheKeyValue;
          log.info(`cached results for ${modelPath} with ${datasetPath}: ${hit.resultsPath} (from ${hit.entry.createdAt})`);
          return;
        }
      }
    }
    if (controller.signal.aborted) throw new WorkerError('Analysis cancelled.', 'cancelled');
    const outDir = cacheKeyValue
      ? cache.dirFor(cacheKeyValue)
      : path.join(cache.root, 'uncached', createHash('sha256').update(`${modelPath}\n${datasetPath}`).digest('hex').slice(0, 16));
    log.info(`analyze ${modelPath} with ${datasetPath} → ${outDir} (${since()})`);
    if (!cacheKeyValue) await cache.sweep().catch(() => undefined); // keeps only the newest uncached/<hash> folders

    // ---------------------------------------------------------------- the worker
    let exported: ExportResult | undefined;
    const outcome = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `UNet Lens: ${path.basename(modelPath)}`, cancellable: true },
      async (progress, token) => {
        token.onCancellationRequested(() => controller.abort());
        let lastFraction = 0;
        const onProgress = (e: ProgressEvent) => {
          const count = e.total ? ` (${e.done ?? 0}/${e.total})` : '';
          const fraction = stageFraction(e);
          const increment = Math.max(0, fraction - lastFraction) * 100;
          lastFraction = Math.max(lastFraction, fraction);
          progress.report({ message: `${e.message}${count}${timeLeft(Date.now() - started, lastFraction)}`, increment });
        };
        // A PyTorch file: exported to ONNX first with the user's Python (host/torchModels.ts).
        let workerModel = modelPath;
        if (isTorchPath(modelPath)) {
          progress.report({ message: `Exporting ${path.basename(modelPath)} to ONNX with your Python…` });
          exported = await exportTorchForAnalysis(context, modelPath, datasetPath, { signal: controller.signal, log: (line) => log.info(line) });
          workerModel = exported.onnxPath;
        }
        let lastStage: string | undefined;
        return runWorker(launch.workerPath, {
          type: 'analyze',
          id: randomUUID(),
          modelPath: workerModel,
          datasetPath,
          overrides,
          threads: run.threads,
          ...(cacheDir ? { cacheDir } : {}),
          outDir,
        }, {
          onProgress,
          // The panel fills as the splits are measured (Cancel keeps what it shows).
          onPartial: (results, stage) => {
            if (stage !== lastStage) log.info(`analyze: partial results, ${stage} (${since()})`);
            lastStage = stage;
            if (!panel.closed) panel.showPartial(results, stage);
          },
          onLog: (line) => log.info(line),
          signal: controller.signal,
          ...launch.start,
          prestarted,
        });
      },
    );
    const resultsPath = path.join(outDir, 'results.json');
    if (exported) {
      // The results name the PyTorch file (panel title, watcher, Re-run); the ONNX export is model.onnxExport. In the file too, for the cache.
      asPyTorchResults(outcome.results, modelPath, exported);
      await fs.writeFile(resultsPath, `${JSON.stringify(outcome.results)}\n`).catch((e) => log.warn(`results.json not updated: ${(e as Error).message}`));
    }
    if (cacheKeyValue) {
      await cache
        .record({ key: cacheKeyValue, modelPath, datasetPath, modelSha256, datasetSha256, settings: overrides })
        .catch((e) => log.warn(`results cache not updated: ${(e as Error).message}`));
    }
    // Closed just as the results came in: they are in the cache; nothing reopens the panel.
    if (!panel.closed) panels.show(key, outcome.results, resultsPath).cacheKey = cacheKeyValue;
    const ms = Date.now() - started;
    log.info(
      `done in ${ms} ms (engine ${outcome.results.timings.totalMs} ms); worker peak RSS ${(outcome.peakRssBytes / 2 ** 20).toFixed(0)} MB; ` +
        `${outcome.results.taps.length} taps, ${outcome.results.splits.length} splits`,
    );
    for (const w of outcome.results.warnings) log.warn(w);
  } catch (e) {
    const err = e as WorkerError;
    if (panel.closed) {
      log.info(err.kind === 'cancelled' || controller.signal.aborted ? 'analysis cancelled: its panel was closed' : `analysis failed after its panel was closed: ${err.message}`);
      return;
    }
    if (err.kind === 'cancelled' || controller.signal.aborted) {
      log.info('analysis cancelled');
      panels.showStatus(key, title, 'error', 'Analysis cancelled. Run UNet Lens: Analyze Generalization to start again.');
      void vscode.window.showInformationMessage('UNet Lens: analysis cancelled.');
      return;
    }
    log.error(`${err.kind ?? 'error'}: ${err.message}${err.where ? ` (${err.where})` : ''}`);
    panels.showStatus(key, title, 'error', err.message);
    // Not awaited: an error notification stays until dismissed, and the next analysis must
    // not wait for that (the finally below frees the "running" state now).
    void vscode.window.showErrorMessage(`UNet Lens: ${err.message}`, 'Show Log').then((choice) => {
      if (choice === 'Show Log') log.show(true);
    });
  } finally {
    prestarted.dispose();
    onClose.dispose();
    current = undefined;
    deps.setRunning(false);
    const next = queued;
    queued = undefined;
    if (next) void runAnalysis(deps, next.modelPath, next.datasetPath, next.opts);
  }
}

/** Rough share of the whole job done at a progress event, for the notification's bar. */
/**
 * " — about 3 min left" once a long run is far enough along to say (elapsed over the share
 * done, `stageFraction`); nothing for short runs.
 */
export function timeLeft(elapsedMs: number, fraction: number): string {
  if (elapsedMs < 10_000 || fraction < 0.1 || fraction >= 0.97) return '';
  const left = (elapsedMs * (1 - fraction)) / fraction / 1000;
  return left < 90 ? ` — about ${Math.max(10, Math.round(left / 10) * 10)} s left` : ` — about ${Math.round(left / 60)} min left`;
}

function stageFraction(e: ProgressEvent): number {
  const within = e.total ? (e.done ?? 0) / e.total : 0;
  switch (e.stage) {
    case 'load':
      return 0.05;
    case 'forward':
      return 0.05 + 0.55 * within;
    case 'metrics':
      return 0.6 + 0.35 * within;
    case 'write':
    case 'done':
      return 0.97;
  }
}
