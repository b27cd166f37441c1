/**
 * Activation only: wires commands, menus and the panel serializer to the host services.
 * Nothing heavy runs here: analyses run in a forked worker (src/worker.ts).
 */
import * as vscode from 'vscode';
import { PanelManager, PANEL_TYPE } from './host/panelManager';
import { analyzeCommand, cancelCurrent, runAnalysis } from './commands/analyze';
import { openResultsCommand } from './commands/openResults';

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('UNet Lens', { log: true });
  const setRunning = (running: boolean) => void vscode.commands.executeCommand('setContext', 'unetLens.running', running);
  const panels: PanelManager = new PanelManager(context.extensionUri, {
    log: (line) => log.info(line),
    onRerun: (job) => void runAnalysis(deps, job.modelPath, job.datasetPath),
  });
  const deps = { context, panels, log, setRunning };

  context.subscriptions.push(
    log,
    { dispose: () => panels.dispose() },
    vscode.commands.registerCommand('unetLens.analyze', (arg?: unknown) => analyzeCommand(deps, arg)),
    vscode.commands.registerCommand('unetLens.openResults', (arg?: unknown) => openResultsCommand(panels, log, arg)),
    vscode.commands.registerCommand('unetLens.cancel', () => {
      if (!cancelCurrent()) void vscode.window.showInformationMessage('UNet Lens: no analysis is running.');
    }),
    vscode.commands.registerCommand('unetLens.showLog', () => log.show(true)),
    vscode.window.registerWebviewPanelSerializer(PANEL_TYPE, panels),
  );
  log.info(`UNet Lens ${context.extension.packageJSON.version} activated`);
}

export function deactivate(): void {
  cancelCurrent();
}
