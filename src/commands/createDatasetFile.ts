/**
 * UNet Lens: Create Dataset File… — on an nnU-Net v2 raw dataset folder or a Medical
 * Segmentation Decathlon task folder (Explorer context menu on folders, or the palette, which
 * offers the workspace's folders holding a dataset.json). The reading runs in a child process
 * (`dist/cli.js init <folder> --print`: it may read a few volumes), then the file is written
 * here: never over an existing unetlens.json without asking (Replace, or Keep Both with a new
 * name), and opened in an editor; what was guessed goes to the log.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { DEFAULT_DATASET_FILE, writeDatasetFile, type ImportResult } from '../engine/data/datasetImport';

const EXCLUDE = '**/{node_modules,.git,.cache,dist}/**';

async function pickDatasetFolder(): Promise<vscode.Uri | undefined> {
  const found = await vscode.workspace.findFiles('**/dataset.json', EXCLUDE, 200);
  const folders = [...new Set(found.map((u) => path.dirname(u.fsPath)))].sort();
  if (folders.length === 1) return vscode.Uri.file(folders[0]);
  if (folders.length > 1) {
    const picked = await vscode.window.showQuickPick(
      folders.map((f) => ({ label: path.basename(f), description: vscode.workspace.asRelativePath(f), folder: f })),
      { placeHolder: 'Which nnU-Net or Decathlon dataset folder (with a dataset.json)?' },
    );
    return picked ? vscode.Uri.file(picked.folder) : undefined;
  }
  const chosen = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Create Dataset File' });
  return chosen?.[0];
}

/** Runs `cli.js init <folder> --print` in a child Node process. */
function readDatasetFolder(cliPath: string, folder: string): Promise<ImportResult> {
  return new Promise((resolve, reject) => {
    const child = fork(cliPath, ['init', folder, '--print'], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' } });
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) {
        try {
          resolve(JSON.parse(out) as ImportResult);
        } catch (e) {
          reject(new Error(`unexpected answer from the dataset reader: ${(e as Error).message}`));
        }
      } else {
        reject(new Error(err.trim().replace(/^unet-lens: /, '').split('\n')[0] || `the dataset reader exited with ${code}`));
      }
    });
  });
}

/** A free `<name>.unetlens.json` beside `file`. */
function keepBothName(dir: string, base: string): string {
  for (let i = 0; ; i++) {
    const f = path.join(dir, `${base}${i ? `-${i + 1}` : ''}.unetlens.json`);
    if (!existsSync(f)) return f;
  }
}

export async function createDatasetFileCommand(context: vscode.ExtensionContext, log: vscode.LogOutputChannel, arg?: unknown): Promise<void> {
  const folder = arg instanceof vscode.Uri ? arg : await pickDatasetFolder();
  if (!folder) return;
  if (folder.scheme !== 'file') {
    void vscode.window.showErrorMessage(`UNet Lens can only read dataset folders on disk (got ${folder.toString()}).`);
    return;
  }
  let result: ImportResult;
  try {
    result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `UNet Lens: reading ${path.basename(folder.fsPath)}/dataset.json…` },
      () => readDatasetFolder(path.join(context.extensionUri.fsPath, 'dist', 'cli.js'), folder.fsPath),
    );
  } catch (e) {
    log.error(`Create Dataset File: ${(e as Error).message}`);
    void vscode.window.showErrorMessage(`UNet Lens: ${(e as Error).message}`);
    return;
  }
  let file = path.join(folder.fsPath, DEFAULT_DATASET_FILE);
  let overwrite = false;
  if (existsSync(file)) {
    const other = keepBothName(folder.fsPath, path.basename(folder.fsPath));
    const choice = await vscode.window.showWarningMessage(
      `${path.basename(folder.fsPath)} already has a ${DEFAULT_DATASET_FILE}. Replace it, or keep it and write ${path.basename(other)}?`,
      { modal: true },
      'Replace',
      'Keep Both',
    );
    if (!choice) return;
    if (choice === 'Replace') overwrite = true;
    else file = other;
  }
  try {
    writeDatasetFile(file, result.json, overwrite);
  } catch (e) {
    void vscode.window.showErrorMessage(`UNet Lens: ${(e as Error).message}`);
    return;
  }
  const kind = result.kind === 'msd' ? 'Decathlon' : 'nnU-Net';
  log.info(`Create Dataset File: wrote ${file} from ${result.source} (${kind})`);
  for (const n of result.notes) log.info(`  - ${n}`);
  await vscode.window.showTextDocument(vscode.Uri.file(file), { preview: false });
  const input = result.json.input as { channels: number };
  const choice = await vscode.window.showInformationMessage(
    `UNet Lens: created ${path.basename(file)} for the ${kind} dataset (${(result.json.classes as string[]).length} classes, ${input.channels} channel${input.channels === 1 ? '' : 's'}, splits ${Object.keys(result.json.splits as object).join(', ')}). Check input.size; then right-click your model → Analyze Generalization.`,
    'Show Notes',
  );
  if (choice) log.show(true);
}
