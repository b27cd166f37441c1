/**
 * A workspace search done ahead: the analyze command's search for models and dataset files
 * starts at activation, so the command (issue 12 item 4, the first chart) does not wait for
 * the search service. A file watcher on the same glob drops the result when a matching file
 * is created or deleted; the next use then searches again.
 *
 * A result taken from ahead is checked: files gone since are left out, and when none is left
 * the workspace is searched again (a file created a moment ago, before the watcher said so).
 */
import * as vscode from 'vscode';
import { promises as fs } from 'node:fs';

export class FileSearch implements vscode.Disposable {
  private found: Thenable<vscode.Uri[]> | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly glob: string,
    private readonly exclude: string,
    private readonly max: number,
  ) {
    const drop = () => {
      this.found = undefined;
      this.settled = false;
    };
    const watcher = vscode.workspace.createFileSystemWatcher(glob, false, true, false);
    this.disposables.push(watcher, watcher.onDidCreate(drop), watcher.onDidDelete(drop), vscode.workspace.onDidChangeWorkspaceFolders(drop));
  }

  private settled = false;

  /** For the log: whether a search done ahead is there, and done. */
  get state(): 'done' | 'running' | 'none' {
    return this.found ? (this.settled ? 'done' : 'running') : 'none';
  }

  /** Starts the search now, for a later `files()`. */
  warm(): void {
    this.found ??= this.search();
  }

  /** The matching files: the search done ahead (still on disk), else a new search. */
  async files(): Promise<vscode.Uri[]> {
    const ahead = this.found;
    if (ahead) {
      const uris = await Promise.resolve(ahead).catch(() => [] as vscode.Uri[]);
      const still = await Promise.all(uris.map((u) => fs.stat(u.fsPath).then((s) => s.isFile(), () => false)));
      const kept = uris.filter((_, i) => still[i]);
      if (kept.length) return kept;
    }
    this.found = this.search();
    return this.found;
  }

  private search(): Thenable<vscode.Uri[]> {
    this.settled = false;
    const found = vscode.workspace.findFiles(this.glob, this.exclude, this.max);
    found.then(
      () => void (this.found === found && (this.settled = true)),
      () => undefined,
    );
    return found;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
