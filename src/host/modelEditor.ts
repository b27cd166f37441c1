/**
 * A model file opens to a page of its own instead of its bytes (an .onnx file is protobuf,
 * a .pt file a zip: as text they are noise): what the file is, its graph in a few lines and
 * Analyze Generalization (host/modelPage.ts). A read-only custom editor, after
 * microsoft/vscode-extension-samples' custom-editor-sample; "Reopen Editor With…" still gives
 * the text editor. The page follows the file: written again (a new export, a new checkpoint),
 * it is read again.
 * Only the file is read, in the extension host (modelPage.ts `describeModel`).
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { ANALYZE_COMMAND, describeModel, modelPageHtml } from './modelPage';
import { KeyedDebouncer } from './debounce';

export const MODEL_EDITOR_TYPE = 'unetLens.model';

export class ModelEditorProvider implements vscode.CustomReadonlyEditorProvider {
  constructor(private readonly extensionUri: vscode.Uri) {}

  static register(extensionUri: vscode.Uri): vscode.Disposable {
    return vscode.window.registerCustomEditorProvider(MODEL_EDITOR_TYPE, new ModelEditorProvider(extensionUri), { supportsMultipleEditorsPerDocument: true });
  }

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => undefined };
  }

  async resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): Promise<void> {
    const webview = panel.webview;
    webview.options = { enableScripts: false, enableCommandUris: [ANALYZE_COMMAND], localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist')] };
    const styleUri = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'media', 'panel.css')).toString();
    const file = document.uri.fsPath;
    const render = async () => {
      const page = await describeModel(file, vscode.workspace.asRelativePath(document.uri, false));
      webview.html = modelPageHtml(page, { cspSource: webview.cspSource, styleUri });
    };
    await render();
    // a new export or checkpoint written over the file: read it again (once the writing settles)
    const settle = new KeyedDebouncer<string>(300, () => void render());
    const again = () => settle.trigger(file);
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(path.dirname(file)), path.basename(file)));
    const subs: vscode.Disposable[] = [settle, watcher, watcher.onDidChange(again), watcher.onDidCreate(again), watcher.onDidDelete(again)];
    panel.onDidDispose(() => {
      for (const s of subs) s.dispose();
    });
  }
}
