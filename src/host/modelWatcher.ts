/**
 * Keeps panels honest about their model file: watches the model each panel shows; when it
 * changes on disk (a new checkpoint) and its sha256 is no longer the one in the results,
 * the panel shows its stale banner with Re-run; with `unetLens.autoRerun` the analysis
 * runs again by itself once the file has been quiet for a moment (debounced, so a
 * checkpoint written in several steps runs once).
 *
 * Watching works for model files outside the workspace too (a RelativePattern on the
 * file's folder). The hash comparison means a touched but unchanged file is not stale.
 */
import * as vscode from 'vscode';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { KeyedDebouncer } from './debounce';
import type { FileHasher } from './hash';
import type { Job, PanelManager, ResultsPanel } from './panelManager';

export interface FreshnessOptions {
  panels: PanelManager;
  hasher: FileHasher;
  log: (line: string) => void;
  /** Runs the analysis again (auto re-run). */
  rerun: (job: Job) => void;
  autoRerun: () => boolean;
  /** Quiet time before a change is checked (ms). */
  checkDelayMs?: number;
  /** Quiet time before an automatic re-run (ms). */
  rerunDelayMs?: number;
}

export class ModelFreshness implements vscode.Disposable {
  private watchers = new Map<string, { watcher: vscode.FileSystemWatcher; subs: vscode.Disposable[] }>();
  private readonly checks: KeyedDebouncer<string>;
  private readonly reruns: KeyedDebouncer<string>;
  /** Model files seen on disk since they were tracked. */
  private readonly seen = new Set<string>();

  private readonly configSub: vscode.Disposable;

  constructor(private readonly o: FreshnessOptions) {
    this.checks = new KeyedDebouncer(o.checkDelayMs ?? 700, (p) => void this.check(p));
    this.reruns = new KeyedDebouncer(o.rerunDelayMs ?? 2000, (p) => this.autoRerun(p));
    // Turning auto re-run on while a panel says its model changed re-runs that one too.
    this.configSub = vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration('unetLens.autoRerun') || !this.o.autoRerun()) return;
      for (const p of this.o.panels.all()) {
        const modelPath = p.results?.model?.path;
        if (modelPath && p.status === 'stale' && this.seen.has(modelPath)) this.reruns.trigger(modelPath);
      }
    });
  }

  /**
   * Watches the model of a panel that now shows results, and checks it at once. Results
   * whose model file is not on this disk (opened from elsewhere) are not watched.
   */
  track(panel: ResultsPanel): void {
    const modelPath = panel.results?.model?.path;
    if (!modelPath || !path.isAbsolute(modelPath)) return;
    void fs.stat(modelPath).then(
      () => this.watch(modelPath),
      () => undefined,
    );
  }

  private watch(modelPath: string): void {
    if (!this.o.panels.all().some((p) => p.results?.model?.path === modelPath)) return; // closed meanwhile
    if (!this.watchers.has(modelPath)) {
      const pattern = new vscode.RelativePattern(vscode.Uri.file(path.dirname(modelPath)), path.basename(modelPath));
      const watcher = vscode.workspace.createFileSystemWatcher(pattern);
      const onEvent = () => this.checks.trigger(modelPath);
      this.watchers.set(modelPath, { watcher, subs: [watcher.onDidChange(onEvent), watcher.onDidCreate(onEvent), watcher.onDidDelete(onEvent)] });
    }
    void this.check(modelPath);
  }

  /** Stops watching a model no open panel shows any more. */
  untrack(panel: ResultsPanel): void {
    const modelPath = panel.results?.model?.path;
    if (!modelPath) return;
    if (this.o.panels.all().some((p) => p !== panel && p.results?.model?.path === modelPath)) return;
    const w = this.watchers.get(modelPath);
    if (!w) return;
    for (const s of w.subs) s.dispose();
    w.watcher.dispose();
    this.watchers.delete(modelPath);
    this.checks.cancel(modelPath);
    this.reruns.cancel(modelPath);
  }

  /** Compares the file's hash with the results of every panel showing it. */
  async check(modelPath: string): Promise<void> {
    const showing = this.o.panels.all().filter((p) => p.results?.model?.path === modelPath);
    if (showing.length === 0) return;
    let sha: string | undefined;
    let gone = false;
    try {
      sha = await this.o.hasher.sha256(modelPath);
    } catch {
      gone = true;
    }
    // Results whose model was never on this disk (opened from elsewhere) are not "stale".
    if (gone && !this.seen.has(modelPath)) return;
    if (!gone) this.seen.add(modelPath);
    const name = path.basename(modelPath);
    let anyStale = false;
    for (const p of showing) {
      if (!p.results) continue;
      if (!gone && p.results.model.sha256 === sha) {
        // Back to the analyzed version (an undo, a checkout): the results are current again.
        if (p.status === 'stale') p.clearStatus();
        continue;
      }
      anyStale = true;
      const auto = !gone && this.o.autoRerun();
      const when = new Date().toLocaleTimeString();
      p.showStatus(
        'stale',
        gone ? `${name} is no longer on disk (${when})` : `${name} was rewritten at ${when}${auto ? '; re-running the analysis automatically…' : ''}`,
      );
    }
    if (anyStale) {
      this.o.log(`model changed on disk: ${modelPath}${gone ? ' (deleted)' : ` (sha256 ${sha?.slice(0, 12)}…)`}`);
      if (!gone && this.o.autoRerun()) this.reruns.trigger(modelPath);
    }
  }

  private autoRerun(modelPath: string): void {
    if (!this.o.autoRerun()) return; // turned off meanwhile
    const p = this.o.panels.all().find((x) => x.results?.model?.path === modelPath && x.job);
    if (p?.job) {
      this.o.log(`auto re-run: ${modelPath}`);
      this.o.rerun(p.job);
    }
  }

  dispose(): void {
    this.configSub.dispose();
    this.checks.dispose();
    this.reruns.dispose();
    for (const w of this.watchers.values()) {
      for (const s of w.subs) s.dispose();
      w.watcher.dispose();
    }
    this.watchers.clear();
  }
}
