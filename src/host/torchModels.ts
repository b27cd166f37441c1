/**
 * PyTorch models in the extension: which Python exports them (the interpreter selected in the
 * Python extension, else `unetLens.pythonPath`, else python3 on PATH) and where the ONNX
 * export goes (the extension's global storage, keyed by the checkpoint's hash: never next to
 * the user's files). The export itself is engine/model/torchExport.ts, run here in a child
 * Python process (the extension host only waits for it).
 *
 * The Python extension (ms-python.python) API used: `exports.environments`
 * `.getActiveEnvironmentPath(resource?)` → `{ id, path }` and `.resolveEnvironment(envPath)`
 * → `{ executable: { uri } }`. Any failure there falls back to the setting and PATH.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { exportForDataset, pythonCandidates, type ExportResult } from '../engine/model/torchExport';
import { LensError } from '../engine/types';

interface PythonEnvironmentsApi {
  getActiveEnvironmentPath?(resource?: vscode.Uri): { id?: string; path?: string } | undefined;
  resolveEnvironment?(env: { id?: string; path?: string } | string): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
}

/** The interpreter selected in the Python extension for `resource`, when it is installed. */
export async function pythonFromExtension(resource: vscode.Uri | undefined, log: (line: string) => void): Promise<string | undefined> {
  const ext = vscode.extensions.getExtension<{ environments?: PythonEnvironmentsApi }>('ms-python.python');
  if (!ext) return undefined;
  try {
    const api = ext.isActive ? ext.exports : await ext.activate();
    const envs = api?.environments;
    const active = envs?.getActiveEnvironmentPath?.(resource);
    if (!active) return undefined;
    const resolved = envs?.resolveEnvironment ? await envs.resolveEnvironment(active) : undefined;
    const exe = resolved?.executable?.uri?.fsPath ?? active.path;
    log(`Python extension: selected interpreter ${exe ?? '(none)'}`);
    return exe || undefined;
  } catch (e) {
    log(`Python extension: no interpreter (${(e as Error).message}); using unetLens.pythonPath / PATH`);
    return undefined;
  }
}

/**
 * Exports a .pt/.pth for an analysis with the dataset file's input size. Only in a trusted
 * workspace: the user's Python opens the file. Throws LensError like the engine.
 */
export async function exportTorchForAnalysis(
  context: vscode.ExtensionContext,
  modelPath: string,
  datasetPath: string,
  opts: { signal?: AbortSignal; log: (line: string) => void },
): Promise<ExportResult> {
  if (!vscode.workspace.isTrusted) {
    throw new LensError('UNet Lens exports PyTorch files with your Python only in a trusted workspace (opening a .pt runs PyTorch on it).', 'model', modelPath);
  }
  const resource = vscode.Uri.file(modelPath);
  const setting = vscode.workspace.getConfiguration('unetLens', resource).get<string>('pythonPath') ?? '';
  const fromExtension = await pythonFromExtension(resource, opts.log);
  return exportForDataset(modelPath, datasetPath, {
    pythons: pythonCandidates({ fromExtension, setting }),
    scriptPath: path.join(context.extensionUri.fsPath, 'dist', 'media', 'export_torchscript.py'),
    cacheRoot: path.join(context.globalStorageUri.fsPath, 'exports'),
    signal: opts.signal,
    log: opts.log,
  });
}
