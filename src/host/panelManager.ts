/**
 * Owns the results panels: opens them beside the active editor, does the `ready`
 * handshake before posting results, answers the webview's requests (export, re-run),
 * and brings panels back after a window reload (webview serializer).
 */
import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { panelHtml } from './webviewHtml';
import { parseWebviewToHost, type HostToWebview } from '../protocol/messages';
import type { Results } from '../engine/types';

export const PANEL_TYPE = 'unetLens.results';

interface PanelState {
  /** results.json the panel shows (for the serializer). */
  source?: string;
}

export interface PanelEvents {
  /** Re-run the analysis behind a panel (the model and dataset file it showed or tried). */
  onRerun?: (job: { modelPath: string; datasetPath: string }) => void;
  log: (line: string) => void;
}

class ResultsPanel {
  private ready = false;
  private pending: HostToWebview[] = [];
  source: string | undefined;
  /** The analysis this panel shows or waits for (for Re-run). */
  job: { modelPath: string; datasetPath: string } | undefined;
  readonly disposed = new vscode.EventEmitter<void>();

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly events: PanelEvents,
    readonly key: string,
  ) {
    const webview = panel.webview;
    webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist')],
    };
    webview.html = panelHtml({
      cspSource: webview.cspSource,
      nonce: randomBytes(16).toString('base64'),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'media', 'panel.css')).toString(),
    });
    webview.onDidReceiveMessage((raw) => this.onMessage(raw));
    panel.onDidDispose(() => this.disposed.fire());
  }

  post(msg: HostToWebview): void {
    if (!this.ready) {
      // Keep only the newest state message; results replace everything before them.
      if (msg.type === 'results') this.pending = [msg];
      else this.pending.push(msg);
      return;
    }
    void this.panel.webview.postMessage(msg);
  }

  showResults(results: Results, source: string): void {
    this.source = source;
    this.job = { modelPath: results.model.path, datasetPath: results.dataset.path };
    this.panel.title = `UNet Lens: ${path.basename(results.model.path)}`;
    this.post({ type: 'results', results, source });
  }

  private async onMessage(raw: unknown): Promise<void> {
    const parsed = parseWebviewToHost(raw);
    if (!parsed.ok) {
      this.events.log(`[panel] rejected a webview message: ${parsed.reason}`);
      return;
    }
    const msg = parsed.message;
    switch (msg.type) {
      case 'ready': {
        this.ready = true;
        const queued = this.pending;
        this.pending = [];
        for (const m of queued) void this.panel.webview.postMessage(m);
        this.events.log('[panel] ready');
        break;
      }
      case 'rerun':
        if (this.job) this.events.onRerun?.(this.job);
        break;
      case 'exportPng':
        await this.saveExport(msg.name, 'png', Buffer.from(msg.dataUrl.slice(msg.dataUrl.indexOf(',') + 1), 'base64'));
        break;
      case 'exportCsv':
        await this.saveExport(msg.name, 'csv', Buffer.from(msg.csv, 'utf8'));
        break;
      case 'openReport':
        if (this.source) {
          const report = path.join(path.dirname(this.source), 'report.html');
          await vscode.env.openExternal(vscode.Uri.file(report));
        }
        break;
      case 'selectTap':
        break;
    }
  }

  private async saveExport(name: string, ext: 'png' | 'csv', bytes: Buffer): Promise<void> {
    const safe = name.replace(/[^\w.-]+/g, '_');
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const target = await vscode.window.showSaveDialog({
      defaultUri: folder ? vscode.Uri.joinPath(folder, `${safe}.${ext}`) : undefined,
      filters: ext === 'png' ? { 'PNG image': ['png'] } : { CSV: ['csv'] },
    });
    if (!target) return;
    await vscode.workspace.fs.writeFile(target, bytes);
    this.events.log(`[panel] exported ${target.fsPath}`);
  }
}

export class PanelManager implements vscode.WebviewPanelSerializer<PanelState> {
  private panels = new Map<string, ResultsPanel>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly events: PanelEvents,
  ) {}

  /** The panel for a model (one per model file), created beside the active editor. */
  panelFor(key: string, title: string): ResultsPanel {
    let p = this.panels.get(key);
    if (p) {
      p.panel.reveal(vscode.ViewColumn.Beside, true);
      return p;
    }
    const panel = vscode.window.createWebviewPanel(
      PANEL_TYPE,
      title,
      { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      { enableScripts: true, retainContextWhenHidden: false },
    );
    p = this.adopt(panel, key);
    return p;
  }

  private adopt(panel: vscode.WebviewPanel, key: string): ResultsPanel {
    const p = new ResultsPanel(panel, this.extensionUri, this.events, key);
    this.panels.set(key, p);
    p.disposed.event(() => {
      if (this.panels.get(key) === p) this.panels.delete(key);
    });
    return p;
  }

  showStatus(
    key: string,
    title: string,
    state: 'loading' | 'error' | 'stale',
    message: string,
    job?: { modelPath: string; datasetPath: string },
  ): void {
    const p = this.panelFor(key, title);
    if (job) p.job = job;
    p.post({ type: 'status', state, message });
  }

  /** Marks every panel showing this model as stale (the model changed on disk). */
  markStale(key: string, message: string): void {
    this.panels.get(key)?.post({ type: 'status', state: 'stale', message });
  }

  show(key: string, results: Results, source: string): void {
    this.panelFor(key, `UNet Lens: ${path.basename(results.model.path)}`).showResults(results, source);
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: PanelState | undefined): Promise<void> {
    const source = state?.source;
    const p = this.adopt(panel, source ?? `restored-${Date.now()}`);
    if (!source) {
      p.post({ type: 'status', state: 'error', message: 'This panel was closed before results were ready. Run UNet Lens: Analyze Generalization again.' });
      return;
    }
    try {
      const results = JSON.parse(await fs.readFile(source, 'utf8')) as Results;
      const key = results.model?.path ?? source;
      this.panels.delete(p.key);
      this.panels.set(key, p);
      p.showResults(results, source);
    } catch (e) {
      p.post({ type: 'status', state: 'error', message: `Cannot reopen ${source}: ${(e as Error).message}` });
    }
  }

  dispose(): void {
    for (const p of this.panels.values()) p.panel.dispose();
    this.panels.clear();
  }
}
