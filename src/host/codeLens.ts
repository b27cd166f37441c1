/**
 * "Analyze generalization" above the lines of a training script that export or save a
 * model (codeLensParse.ts finds them), when the file the line names exists: relative to
 * the script's folder, else to a workspace folder.
 *
 * - An ONNX file: the lens runs UNet Lens: Analyze Generalization on it.
 * - An existing model in a format the engine cannot read yet (TF.js, Keras, SavedModel):
 *   the lens is shown, says so in its title, and explains when clicked (so the user learns
 *   why nothing runs, and what to do now: export to ONNX). Unknown files get no lens.
 * - A file that does not exist (yet): no lens; the lenses refresh when model files appear
 *   or disappear in the workspace.
 */
import * as vscode from 'vscode';
import { promises as fs } from 'node:fs';
import { MODEL_EXTENSIONS } from '../engine/model/contract';
import * as path from 'node:path';
import {
  ANALYZABLE,
  analysisPath,
  candidatePaths,
  classifyTarget,
  findModelSaves,
  FORMAT_LABEL,
  languageOf,
  type ModelFormat,
} from './codeLensParse';

export const CODELENS_SELECTOR: vscode.DocumentSelector = [
  { language: 'python', scheme: 'file' },
  { language: 'javascript', scheme: 'file' },
  { language: 'typescript', scheme: 'file' },
  { language: 'javascriptreact', scheme: 'file' },
  { language: 'typescriptreact', scheme: 'file' },
];

/** Command the lens runs for a format that cannot be analyzed yet (hidden from the palette). */
export const FORMAT_COMING_COMMAND = 'unetLens.formatComing';

interface Target {
  path: string;
  isDirectory: boolean;
  format: ModelFormat;
}

async function resolveTarget(p: string, doc: vscode.TextDocument): Promise<Target | undefined> {
  const roots = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
  const home = p.startsWith('~/') ? path.join(process.env.HOME ?? '~', p.slice(2)) : p;
  for (const c of candidatePaths(home, path.dirname(doc.uri.fsPath), roots, path.join, path.isAbsolute)) {
    const st = await fs.stat(c).catch(() => undefined);
    if (!st) continue;
    const isDirectory = st.isDirectory();
    const entries = isDirectory ? await fs.readdir(c).catch(() => [] as string[]) : [];
    return { path: c, isDirectory, format: classifyTarget(c, isDirectory, entries) };
  }
  return undefined;
}

export class ModelSaveLensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor() {
    // New or deleted model files (a training run just exported one) change which lines get a lens:
    // the model files of contract.ts, any .json (a TF.js model.json) and .pb (a SavedModel).
    const watcher = vscode.workspace.createFileSystemWatcher(`**/*.{${[...MODEL_EXTENSIONS.map((e) => e.slice(1)), 'json', 'pb'].join(',')}}`, false, true, false);
    const refresh = () => this.refresh();
    this.disposables.push(
      watcher,
      watcher.onDidCreate(refresh),
      watcher.onDidDelete(refresh),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('unetLens.codeLens')) this.changed.fire();
      }),
      this.changed,
    );
  }

  async provideCodeLenses(doc: vscode.TextDocument, token: vscode.CancellationToken): Promise<vscode.CodeLens[]> {
    if (!vscode.workspace.getConfiguration('unetLens').get<boolean>('codeLens', true)) return [];
    const lang = languageOf(doc.languageId);
    if (!lang || doc.uri.scheme !== 'file') return [];
    const text = doc.getText();
    // Cheap test first: most files never mention a save.
    if (!/\b(export|save|save_model|save_keras_model)\s*\(/.test(text)) return [];
    const lenses: vscode.CodeLens[] = [];
    for (const save of findModelSaves(text, lang)) {
      if (token.isCancellationRequested) return [];
      const target = await resolveTarget(save.path, doc);
      if (!target || target.format === 'unknown') continue;
      const range = new vscode.Range(save.line, save.column, save.line, save.column + save.call.length);
      const rel = vscode.workspace.asRelativePath(target.path);
      if (ANALYZABLE.has(target.format)) {
        const file = analysisPath(target.path, target.format, target.isDirectory, path.join);
        lenses.push(
          new vscode.CodeLens(range, {
            title: '$(graph-line) Analyze generalization',
            tooltip: `UNet Lens: analyze how ${rel} separates the classes layer by layer on train, test and unlabeled data`,
            command: 'unetLens.analyze',
            arguments: [vscode.Uri.file(file)],
          }),
        );
      } else {
        lenses.push(
          new vscode.CodeLens(range, {
            title: `$(graph-line) Analyze generalization (${FORMAT_LABEL[target.format]}: support coming)`,
            tooltip: `UNet Lens reads ONNX models today; ${FORMAT_LABEL[target.format]} support is coming. Click for what to do now.`,
            command: FORMAT_COMING_COMMAND,
            arguments: [target.path, target.format],
          }),
        );
      }
    }
    return lenses;
  }

  /**
   * Asks VS Code for the lenses again (soon). Called when a results panel opens: in VS Code
   * 1.100 an editor whose lens request was due while a panel opened beside it can be left
   * without lenses until something else changes.
   */
  refresh(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.changed.fire(), 300);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
  }
}

/** What the lens of a not-yet-supported format says when clicked. */
export async function explainFormatComing(file: unknown, format: unknown): Promise<void> {
  const label = FORMAT_LABEL[(format as ModelFormat) in FORMAT_LABEL ? (format as ModelFormat) : 'unknown'];
  const name = typeof file === 'string' ? path.basename(file) : 'this model';
  const hint =
    format === 'savedmodel'
      ? 'To analyze it now, convert it with tensorflowjs_converter (to a TF.js model.json) or export it to ONNX (python -m tf2onnx.convert).'
      : 'To analyze it now, export it to ONNX and run UNet Lens on the .onnx file.';
  const choice = await vscode.window.showInformationMessage(
    `UNet Lens reads ONNX, TF.js (model.json) and Keras (.h5, .keras) models; ${label} support is coming, so ${name} cannot be analyzed yet. ${hint}`,
    'Analyze a model…',
  );
  if (choice) await vscode.commands.executeCommand('unetLens.analyze');
}
