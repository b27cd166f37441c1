/**
 * Owns the results panels: opens them beside the active editor, does the `ready`
 * handshake before posting anything, answers the webview's requests (export PNG / CSV /
 * report, re-run), and brings panels back after a window reload (webview serializer).
 *
 * Each panel keeps what it shows (the last results and the status over them) and posts it
 * again whenever its webview (re)loads and says `ready`: a panel that is hidden loses its
 * webview (retainContextWhenHidden is off, to keep memory low) and draws again when shown.
 * The webview keeps only its view choices and `source` (the results.json it shows) in
 * its state, which is what the serializer gets back after a reload.
 *
 * The host remembers the tap selected in each panel (the webview's `selectTap`): the
 * results it posts carry it, so a panel of the same model opened again later (closed and
 * reopened from the cache, or restored after a reload) opens at that tap.
 *
 * A panel registers every disposable it creates (listener subscriptions, its event
 * emitter) and releases them when it closes (`Disposable`, as in the custom-editor sample).
 */
import * as vscode from 'vscode';
import { randomBytes } from 'node:crypto';
import { promises as fs, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { panelHtml } from './webviewHtml';
import { parseWebviewToHost, type HostToWebview } from '../protocol/messages';
import { Disposable } from './dispose';
import { writeReport } from '../engine/report';
import type { Results } from '../engine/types';
import { withVerdict } from '../engine/verdict';
import { readResultsFile } from './resultsFile';

export const PANEL_TYPE = 'unetLens.results';

interface PanelState {
  /** results.json the panel shows (for the serializer). */
  source?: string;
  /** The tap selected in the panel (the webview's view state). */
  tap?: string;
}

export interface Job {
  modelPath: string;
  datasetPath: string;
  /** The results file the paths were read from (undefined: the user chose them). See runPolicy.ts. */
  source?: string;
}

export interface PanelEvents {
  /** Re-run the analysis behind a panel (the model and dataset file it showed or tried). */
  onRerun?: (job: Job) => void;
  /** A panel now shows results (new, cached or restored after a reload). */
  onShowing?: (panel: ResultsPanel) => void;
  /** A panel was closed. */
  onClosed?: (panel: ResultsPanel) => void;
  /** A panel was created (or restored). */
  onOpened?: (panel: ResultsPanel) => void;
  log: (line: string) => void;
}

type StatusMsg = Extract<HostToWebview, { type: 'status' }>;
type ResultsMsg = Extract<HostToWebview, { type: 'results' }>;
type PartialMsg = Extract<HostToWebview, { type: 'partial' }>;

export class ResultsPanel extends Disposable {
  private ready = false;
  /** What the panel shows: the results, and the status shown over them (or alone). */
  private shown: { results?: Omit<ResultsMsg, 'tap'>; partial?: PartialMsg; status?: StatusMsg } = {};
  /** The tap selected in the webview (sent with the results when the webview (re)loads). */
  selectedTap: string | undefined;
  source: string | undefined;
  results: Results | undefined;
  /** The analysis this panel shows or waits for (for Re-run and the file watcher). */
  job: Job | undefined;
  /** The results-cache key of the results shown (set by the analyze command). */
  cacheKey: string | undefined;
  /** The report rendered for results that have none beside them (deleted on close). */
  private tempReport: string | undefined;
  private readonly _onDidClose = this._register(new vscode.EventEmitter<void>());
  /** Fires once, when the panel closes (the user closed it, or it was disposed). */
  readonly onDidClose = this._onDidClose.event;

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly events: PanelEvents,
    public key: string,
  ) {
    super();
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
    this._register(webview.onDidReceiveMessage((raw) => this.onMessage(raw)));
    // A hidden panel's webview is gone: it says `ready` again when shown, and gets everything then.
    this._register(
      panel.onDidChangeViewState((e) => {
        if (!e.webviewPanel.visible) this.ready = false;
      }),
    );
    this._register(panel.onDidDispose(() => this.dispose()));
  }

  get closed(): boolean {
    return this.isDisposed;
  }

  /** Closes the panel (if open), tells the listeners once, and releases every registration. */
  override dispose(): void {
    if (this.isDisposed) return;
    try {
      this._onDidClose.fire();
    } finally {
      super.dispose();
      this.panel.dispose();
    }
  }

  private send(msg: HostToWebview): void {
    if (this.ready && !this.isDisposed) void this.panel.webview.postMessage(msg);
  }

  private resultsMessage(): ResultsMsg | undefined {
    return this.shown.results && { ...this.shown.results, tap: this.selectedTap };
  }

  /** Shows a status (loading / error / stale) over the results, or alone. */
  showStatus(state: StatusMsg['state'], message: string): void {
    const msg: StatusMsg = { type: 'status', state, message };
    this.shown.status = msg;
    this.send(msg);
  }

  /** The status shown over the results, if any. */
  get status(): StatusMsg['state'] | undefined {
    return this.shown.status?.state;
  }

  /** Removes the status over the results (they are current again). */
  clearStatus(): void {
    if (!this.shown.status) return;
    this.shown.status = undefined;
    const results = this.resultsMessage();
    if (results) this.send(results);
  }

  showResults(results: Results, source: string, cached = false): void {
    results = withVerdict(results); // a results file written before the verdict existed
    this.source = source;
    this.results = results;
    this.cacheKey = undefined;
    this.job = { modelPath: results.model.path, datasetPath: results.dataset.path, source };
    this.panel.title = `UNet Lens: ${path.basename(results.model.path)}`;
    this.shown = { results: { type: 'results', results, source, cached } };
    this.send(this.resultsMessage()!);
    this.events.onShowing?.(this);
  }

  /**
   * Results still being computed (the worker's `partial`): drawn under the loading status; the
   * final results replace them (`showResults`). Cancelling keeps them on screen.
   */
  showPartial(results: Results, stage: string): void {
    if (this.shown.results) return; // a panel that shows final results keeps them until the new ones
    this.shown.partial = { type: 'partial', results, stage };
    this.send(this.shown.partial);
  }

  /** The newest results and status again (after the webview (re)loaded). */
  private replay(): void {
    const results = this.resultsMessage();
    if (results) this.send(results);
    else if (this.shown.partial) this.send(this.shown.partial);
    if (this.shown.status) this.send(this.shown.status);
  }

  private async onMessage(raw: unknown): Promise<void> {
    const parsed = parseWebviewToHost(raw);
    if (!parsed.ok) {
      this.events.log(`[panel] rejected a webview message: ${parsed.reason}`);
      return;
    }
    const msg = parsed.message;
    try {
      switch (msg.type) {
        case 'ready':
          this.ready = true;
          this.replay();
          this.events.log('[panel] ready');
          break;
        case 'rerun':
          if (this.job) this.events.onRerun?.(this.job);
          break;
        case 'exportPng':
          await this.saveExport(msg.name, 'png', Buffer.from(msg.dataUrl.slice(msg.dataUrl.indexOf(',') + 1), 'base64'));
          break;
        case 'exportCsv':
          await this.saveExport(msg.name, 'csv', Buffer.from(msg.csv, 'utf8'));
          break;
        case 'exportReport':
          await this.exportReport();
          break;
        case 'openReport': {
          const report = await this.reportFile();
          if (report) await vscode.env.openExternal(vscode.Uri.file(report));
          break;
        }
        case 'selectTap':
          this.selectedTap = msg.tap;
          break;
        default: {
          const unhandled: never = msg; // a new webview message must be handled here
          this.events.log(`[panel] unhandled webview message ${JSON.stringify(unhandled)}`);
        }
      }
    } catch (e) {
      this.events.log(`[panel] ${msg.type} failed: ${(e as Error).message}`);
      void vscode.window.showErrorMessage(`UNet Lens: ${(e as Error).message}`);
    }
  }

  /**
   * The report.html of the results shown: the one the worker wrote next to results.json,
   * or, when there is none (results opened from elsewhere), one rendered now into a temp
   * folder (never written into the user's folders unasked).
   */
  private async reportFile(): Promise<string | undefined> {
    if (!this.source || !this.results) return undefined;
    const beside = path.join(path.dirname(this.source), 'report.html');
    if (await fs.stat(beside).then((s) => s.isFile(), () => false)) return beside;
    // One temp report per panel, rewritten for the results shown, deleted when the panel closes.
    if (!this.tempReport) {
      const tmp = path.join(os.tmpdir(), `unetlens-report-${process.pid}-${randomBytes(6).toString('hex')}.html`);
      this.tempReport = tmp;
      this._register({ dispose: () => rmSync(tmp, { force: true }) });
    }
    writeReport(this.results, this.tempReport, vscode.Uri.joinPath(this.extensionUri, 'dist').fsPath);
    return this.tempReport;
  }

  /** UNet Lens: Export Report… — a save dialog, then a copy of the self-contained report. */
  async exportReport(): Promise<void> {
    const report = await this.reportFile();
    if (!report || !this.results) {
      void vscode.window.showInformationMessage('UNet Lens: this panel has no results to export yet.');
      return;
    }
    const model = path.basename(this.results.model.path).replace(/\.[^.]+$/, '');
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const target = await vscode.window.showSaveDialog({
      defaultUri: folder ? vscode.Uri.joinPath(folder, `unetlens-report-${model.replace(/[^\w.-]+/g, '_')}.html`) : undefined,
      filters: { 'HTML report': ['html'] },
      saveLabel: 'Export Report',
      title: 'Export the UNet Lens report (one self-contained HTML file)',
    });
    if (!target) return;
    await vscode.workspace.fs.copy(vscode.Uri.file(report), target, { overwrite: true });
    this.events.log(`[panel] exported the report to ${target.fsPath}`);
    const choice = await vscode.window.showInformationMessage(`UNet Lens: report saved to ${vscode.workspace.asRelativePath(target)}.`, 'Open in Browser');
    if (choice) await vscode.env.openExternal(target);
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
  /** The tap last selected in a closed panel, by panel key (the model path): the next panel of that model opens at it. */
  private lastTap = new Map<string, string>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly events: PanelEvents,
  ) {}

  /** The panel for a model (one per model file), created beside the active editor. */
  panelFor(key: string, title: string): ResultsPanel {
    let p = this.panels.get(key);
    if (p) {
      if (!p.panel.visible) p.panel.reveal(undefined, true);
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
    p.selectedTap = this.lastTap.get(key);
    this.panels.set(key, p);
    // The panel's own emitter: this subscription goes when the panel is disposed.
    p.onDidClose(() => {
      if (this.panels.get(p.key) === p) this.panels.delete(p.key);
      if (p.selectedTap) this.lastTap.set(p.key, p.selectedTap);
      this.events.onClosed?.(p);
    });
    this.events.onOpened?.(p);
    return p;
  }

  private rekey(p: ResultsPanel, key: string): void {
    if (p.key === key) return;
    if (this.panels.get(p.key) === p) this.panels.delete(p.key);
    p.key = key;
    this.panels.set(key, p);
  }

  showStatus(key: string, title: string, state: 'loading' | 'error' | 'stale', message: string, job?: Job): ResultsPanel {
    const p = this.panelFor(key, title);
    if (job) p.job = job;
    p.showStatus(state, message);
    return p;
  }

  /** Shows the stale banner on the panel of this model (the model changed on disk). */
  markStale(key: string, message: string): void {
    this.panels.get(key)?.showStatus('stale', message);
  }

  get(key: string): ResultsPanel | undefined {
    return this.panels.get(key);
  }

  all(): ResultsPanel[] {
    return [...this.panels.values()];
  }

  /** The panel the user looks at (for palette commands), else the only one. */
  active(): ResultsPanel | undefined {
    const all = this.all();
    return all.find((p) => p.panel.active) ?? (all.length === 1 ? all[0] : undefined);
  }

  show(key: string, results: Results, source: string, cached = false): ResultsPanel {
    const p = this.panelFor(key, `UNet Lens: ${path.basename(results.model.path)}`);
    p.showResults(results, source, cached);
    return p;
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: PanelState | undefined): Promise<void> {
    const source = typeof state?.source === 'string' ? state.source : undefined;
    const p = this.adopt(panel, source ?? `restored-${Date.now()}`);
    if (typeof state?.tap === 'string') p.selectedTap = state.tap;
    if (!source) {
      p.showStatus('error', 'This panel was closed before results were ready. Run UNet Lens: Analyze Generalization again.');
      return;
    }
    try {
      const results = await readResultsFile(source);
      const key = results.model?.path ?? source;
      const other = this.panels.get(key);
      if (other && other !== p) {
        // Two restored panels of one model: keep both, key the second by its source.
        this.rekey(p, source);
      } else this.rekey(p, key);
      p.showResults(results, source);
      this.events.log(`[panel] restored ${source}`);
    } catch (e) {
      p.showStatus('error', `Cannot reopen ${source}: ${(e as Error).message}`);
    }
  }

  dispose(): void {
    for (const p of [...this.panels.values()]) p.dispose();
    this.panels.clear();
  }
}
