/** UNet Lens: Open Results… — shows any results.json in a panel. */
import * as vscode from 'vscode';
import type { PanelManager } from '../host/panelManager';
import { MAX_RESULTS_BYTES, resultsProblem } from '../host/resultsFile';
import type { Results } from '../engine/types';

export async function openResultsCommand(panels: PanelManager, log: vscode.LogOutputChannel, arg?: unknown): Promise<void> {
  let uri = arg instanceof vscode.Uri ? arg : undefined;
  if (!uri) {
    const picked = await vscode.window.showOpenDialog({
      canSelectMany: false,
      filters: { 'UNet Lens results': ['json'] },
      openLabel: 'Open Results',
    });
    uri = picked?.[0];
  }
  if (!uri) return;
  let results: Results;
  try {
    const st = await vscode.workspace.fs.stat(uri);
    if (st.type & vscode.FileType.Directory || !(st.type & vscode.FileType.File)) throw new Error('not a regular file');
    if (st.size > MAX_RESULTS_BYTES) throw new Error(`${(st.size / 2 ** 20).toFixed(0)} MB is over the ${MAX_RESULTS_BYTES / 2 ** 20} MB limit of a results file`);
    results = JSON.parse(Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8')) as Results;
  } catch (e) {
    void vscode.window.showErrorMessage(`UNet Lens: cannot read ${uri.fsPath}: ${(e as Error).message}`);
    return;
  }
  const problem = resultsProblem(results);
  if (problem) {
    void vscode.window.showErrorMessage(`UNet Lens: ${uri.fsPath} is not a UNet Lens results file (${problem}).`);
    return;
  }
  log.info(`open results ${uri.fsPath}`);
  panels.show(results.model?.path ?? uri.fsPath, results, uri.fsPath);
}
