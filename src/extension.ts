/**
 * Activation only: wires commands, menus, the CodeLens, the model-file watcher, the
 * results cache and the panel serializers (results; Timeline and Compare) to the host
 * services. Nothing heavy runs here: analyses run in a forked worker (src/worker.ts).
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { PanelManager, PANEL_TYPE } from './host/panelManager';
import { analyzeCommand, cancelCurrent, runAnalysis, startFileSearches } from './commands/analyze';
import { openResultsCommand } from './commands/openResults';
import { exportReportCommand } from './commands/exportReport';
import { createDatasetFileCommand } from './commands/createDatasetFile';
import { analyzeCheckpointsCommand, compareResultsCommand, timelineSerializer, TIMELINE_TYPE } from './commands/timeline';
import { CODELENS_SELECTOR, explainFormatComing, FORMAT_COMING_COMMAND, ModelSaveLensProvider } from './host/codeLens';
import { FileHasher } from './host/hash';
import { ModelFreshness } from './host/modelWatcher';
import { ResultsCache } from './host/resultsCache';
import { ModelEditorProvider } from './host/modelEditor';

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('UNet Lens', { log: true });
  const setRunning = (running: boolean) => void vscode.commands.executeCommand('setContext', 'unetLens.running', running);
  const storage = context.storageUri ?? context.globalStorageUri;
  const cache = new ResultsCache(path.join(storage.fsPath, 'results'));
  void cache.sweep().catch(() => undefined); // orphans of earlier sessions
  const hasher = new FileHasher();
  const lenses = new ModelSaveLensProvider();
  const panels: PanelManager = new PanelManager(context.extensionUri, {
    log: (line) => log.info(line),
    onRerun: (job) => void runAnalysis(deps, job.modelPath, job.datasetPath, { force: true, source: job.source }),
    onShowing: (panel) => freshness.track(panel),
    onClosed: (panel) => freshness.untrack(panel),
    onOpened: () => lenses.refresh(),
  });
  // The analyze command's searches for models and dataset files start now (issue 12: the first chart).
  const search = startFileSearches();
  const deps = { context, panels, log, setRunning, cache, hasher, search };
  const freshness = new ModelFreshness({
    panels,
    hasher,
    log: (line) => log.info(line),
    rerun: (job) => void runAnalysis(deps, job.modelPath, job.datasetPath, { auto: true, source: job.source }),
    // Never in an untrusted workspace (runAnalysis checks again); the setting is a restricted one.
    autoRerun: () => vscode.workspace.isTrusted && vscode.workspace.getConfiguration('unetLens').get<boolean>('autoRerun', false),
  });

  context.subscriptions.push(
    log,
    search,
    { dispose: () => panels.dispose() },
    freshness,
    lenses,
    vscode.languages.registerCodeLensProvider(CODELENS_SELECTOR, lenses),
    vscode.commands.registerCommand('unetLens.analyze', (arg?: unknown) => analyzeCommand(deps, arg)),
    vscode.commands.registerCommand('unetLens.openResults', (arg?: unknown) => openResultsCommand(panels, log, arg)),
    vscode.commands.registerCommand('unetLens.exportReport', () => exportReportCommand(panels)),
    vscode.commands.registerCommand(FORMAT_COMING_COMMAND, (file?: unknown, format?: unknown) => explainFormatComing(file, format)),
    vscode.commands.registerCommand('unetLens.cancel', () => {
      if (!cancelCurrent()) void vscode.window.showInformationMessage('UNet Lens: no analysis is running.');
    }),
    vscode.commands.registerCommand('unetLens.showLog', () => log.show(true)),
    vscode.commands.registerCommand('unetLens.createDatasetFile', (arg?: unknown) => createDatasetFileCommand(context, log, arg)),
    vscode.commands.registerCommand('unetLens.analyzeCheckpoints', (arg?: unknown) => analyzeCheckpointsCommand(deps, arg)),
    vscode.commands.registerCommand('unetLens.compareResults', (arg?: unknown, all?: unknown) => compareResultsCommand(deps, arg, all)),
    vscode.window.registerWebviewPanelSerializer(PANEL_TYPE, panels),
    vscode.window.registerWebviewPanelSerializer(TIMELINE_TYPE, timelineSerializer(deps)),
    ModelEditorProvider.register(context.extensionUri, cache),
  );
  log.info(`UNet Lens ${context.extension.packageJSON.version} activated`);
}

export function deactivate(): void {
  cancelCurrent();
}
