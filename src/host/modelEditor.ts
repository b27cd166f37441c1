/**
 * A model file opens to a page of its own instead of its bytes (an .onnx file is protobuf,
 * a .pt file a zip: as text they are noise): what the file is, its graph in a few lines and
 * Analyze Generalization (host/modelPage.ts). A read-only custom editor, after
 * microsoft/vscode-extension-samples' custom-editor-sample; "Reopen Editor With…" still gives
 * the text editor. The page follows the file: written again (a new export, a new checkpoint),
 * it is read again.
 *
 * Only the file is read, in the extension host (modelPage.ts `describeModel`), and the newest
 * cached analysis of it, if any (its verdict's sentences: what the user learned last time).
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { ANALYZE_COMMAND, describeModel, lastAnalysis, modelPageHtml } from './modelPage';
import type { ResultsCache } from './resultsCache';
import { KeyedDebouncer } from './debounce';

export const MODEL_EDITOR_TYPE = 'unetLens.model';

export class ModelEditorProvider implements vscode.CustomReadonlyEditorProvider {
  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly cache: ResultsCache,
  ) {}

  static register(extensionUri: vscode.Uri, cache: ResultsCache): vscode.Disposable {
    return vscode.window.registerCustomEditorProvider(MODEL_EDITOR_TYPE, new ModelEditorProvider(extensionUri, cache), { supportsMultipleEditorsPerDocument: true });
  }

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => undefined };
  }

  async resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): Promise<void> {
    const webview = panel.webview;
    webview.options = { enableScripts: false, enableCommandUris: [ANALYZE_COMMAND], localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist')] };
    const styleUri = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'media', 'panel.css')).toString();
    const file = document.uri.fsPath;
    let disposed = false;
    const render = async () => {
      const page = await describeModel(file, vscode.workspace.asRelativePath(document.uri, false));
      const cached = page.error ? undefined : await this.cache.latestFor(file).catch(() => undefined);
      if (cached) page.last = await lastAnalysis(cached.resultsPath, cached.entry, page.mtimeMs, (p) => vscode.workspace.asRelativePath(p, false));
      // closed while the file was read: nothing to draw into
      if (!disposed) webview.html = modelPageHtml(page, { cspSource: webview.cspSource, styleUri });
    };
    await render();
    // a new export or checkpoint written over the file: read it again (once the writing settles)
    const settle = new KeyedDebouncer<string>(300, () => void render());
    const again = () => settle.trigger(file);
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(path.dirname(file)), path.basename(file)));
    const subs: vscode.Disposable[] = [
      settle,
      watcher,
      watcher.onDidChange(again),
      watcher.onDidCreate(again),
      watcher.onDidDelete(again),
      // an analysis of this file just finished: its verdict becomes the page's "last analysis"
      this.cache.onRecorded((entry) => entry.modelPath === file && again()),
    ];
    panel.onDidDispose(() => {
      disposed = true;
      for (const s of subs) s.dispose();
    });
  }
}
