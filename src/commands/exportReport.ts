/**
 * UNet Lens: Export Report… — saves a copy of the self-contained report.html of the
 * results panel in front (the worker writes it next to results.json; results opened from
 * elsewhere get one written on the spot). The panel's "Export report…" button does the same.
 */
import * as vscode from 'vscode';
import type { PanelManager } from '../host/panelManager';

export async function exportReportCommand(panels: PanelManager): Promise<void> {
  const panel = panels.active();
  if (!panel?.results) {
    void vscode.window.showInformationMessage(
      'UNet Lens: open a results panel first (Analyze Generalization or Open Results…), then export its report.',
    );
    return;
  }
  await panel.exportReport();
}
