/** UNet Lens: Open Results… — shows any results.json in a panel. */
import * as vscode from 'vscode';
import type { PanelManager } from '../host/panelManager';
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
    results = JSON.parse(Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8')) as Results;
  } catch (e) {
    void vscode.window.showErrorMessage(`UNet Lens: cannot read ${uri.fsPath}: ${(e as Error).message}`);
    return;
  }
  if (results?.schema !== 'unet-lens/results@1') {
    void vscode.window.showErrorMessage(
      `UNet Lens: ${uri.fsPath} is not a UNet Lens results file (its "schema" is ${JSON.stringify(results?.schema)}, expected "unet-lens/results@1").`,
    );
    return;
  }
  log.info(`open results ${uri.fsPath}`);
  panels.show(results.model?.path ?? uri.fsPath, results, uri.fsPath);
}
