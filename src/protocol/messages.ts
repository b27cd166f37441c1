/**
 * Every message that crosses a process boundary, declared once and validated on arrival.
 *   host  → worker : WorkerRequest    (process.send)
 *   worker → host  : WorkerMessage
 *   host  → webview: HostToWebview   (webview.postMessage)
 *   webview → host : WebviewToHost
 * No `vscode` import here: the worker and the webview use this file too.
 */
import type { ProgressEvent, Results } from '../engine/types';

// ---------------------------------------------------------------- host ↔ worker

export interface AnalyzeJob {
  type: 'analyze';
  id: string;
  modelPath: string;
  datasetPath: string;
  /** Overrides of the dataset file's `analysis` block (from settings or CLI flags). */
  overrides?: { maxPoints?: number; seed?: number; k?: number; maxTaps?: number; batchSize?: number; shifts?: { enabled?: boolean } };
  /** Threads onnxruntime may use (0 = its default). */
  threads?: number;
  /** Where the worker writes results.json and report.html (absent: results only in the reply). */
  outDir?: string;
}

export type WorkerRequest = AnalyzeJob;

export type WorkerMessage =
  | { type: 'progress'; id: string; event: ProgressEvent }
  | { type: 'log'; id: string; level: 'info' | 'warn'; message: string }
  | { type: 'result'; id: string; results: Results; peakRssBytes: number }
  | { type: 'error'; id: string; message: string; kind: string; where?: string };

// ---------------------------------------------------------------- host ↔ webview

export type HostToWebview =
  | { type: 'results'; results: Results; source: string; /** found in the host's results cache */ cached?: boolean }
  | { type: 'status'; state: 'loading' | 'error' | 'stale'; message: string }
  | { type: 'theme' };

export type WebviewToHost =
  | { type: 'ready' }
  | { type: 'selectTap'; tap: string }
  | { type: 'exportPng'; name: string; dataUrl: string }
  | { type: 'exportCsv'; name: string; csv: string }
  | { type: 'rerun' }
  | { type: 'openReport' }
  /** Save a copy of the self-contained report.html (a save dialog in the host). */
  | { type: 'exportReport' };

// ---------------------------------------------------------------- validation

type Check = (m: Record<string, unknown>) => boolean;
const str = (v: unknown) => typeof v === 'string';
const obj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const workerRequestChecks: Record<string, Check> = {
  analyze: (m) =>
    str(m.id) && str(m.modelPath) && str(m.datasetPath) && (m.overrides === undefined || obj(m.overrides)) && (m.outDir === undefined || str(m.outDir)),
};

const workerMessageChecks: Record<string, Check> = {
  progress: (m) => str(m.id) && obj(m.event) && str(m.event.stage) && str(m.event.message),
  log: (m) => str(m.id) && str(m.message),
  result: (m) => str(m.id) && obj(m.results) && m.results.schema === 'unet-lens/results@1',
  error: (m) => str(m.id) && str(m.message) && str(m.kind),
};

const webviewToHostChecks: Record<string, Check> = {
  ready: () => true,
  selectTap: (m) => str(m.tap),
  exportPng: (m) => str(m.name) && str(m.dataUrl) && (m.dataUrl as string).startsWith('data:image/png;base64,'),
  exportCsv: (m) => str(m.name) && str(m.csv),
  rerun: () => true,
  openReport: () => true,
  exportReport: () => true,
};

const hostToWebviewChecks: Record<string, Check> = {
  results: (m) =>
    obj(m.results) && m.results.schema === 'unet-lens/results@1' && str(m.source) && (m.cached === undefined || typeof m.cached === 'boolean'),
  status: (m) => str(m.state) && str(m.message),
  theme: () => true,
};

export type Validated<T> = { ok: true; message: T } | { ok: false; reason: string };

function validate<T>(checks: Record<string, Check>, raw: unknown): Validated<T> {
  if (!obj(raw)) return { ok: false, reason: 'message is not an object' };
  const type = raw.type;
  if (typeof type !== 'string') return { ok: false, reason: 'message has no string "type"' };
  const check = checks[type];
  if (!check) return { ok: false, reason: `unknown message type "${type}"` };
  if (!check(raw)) return { ok: false, reason: `malformed "${type}" message` };
  return { ok: true, message: raw as T };
}

export const parseWorkerRequest = (raw: unknown) => validate<WorkerRequest>(workerRequestChecks, raw);
export const parseWorkerMessage = (raw: unknown) => validate<WorkerMessage>(workerMessageChecks, raw);
export const parseWebviewToHost = (raw: unknown) => validate<WebviewToHost>(webviewToHostChecks, raw);
export const parseHostToWebview = (raw: unknown) => validate<HostToWebview>(hostToWebviewChecks, raw);
