/**
 * Where the panel runs: inside VS Code (talks to the extension host through
 * `acquireVsCodeApi`) or in the offline report (a file:// page with the results embedded,
 * no host: exports become downloads).
 */
import type { WebviewToHost } from '../src/protocol/messages';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare const acquireVsCodeApi: (() => VsCodeApi) | undefined;

export interface Host {
  readonly mode: 'vscode' | 'report';
  post(message: WebviewToHost): void;
  getState(): unknown;
  setState(state: unknown): void;
  /** `name` has no extension: the host adds it to its save dialog's default file name. */
  exportPng(name: string, dataUrl: string): void;
  exportCsv(name: string, csv: string): void;
}

/** Starts a download of `href` as `name` through a temporary link (the report has no host). */
export function download(name: string, href: string): void {
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  a.hidden = true;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

export function createHost(): Host {
  const api = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : undefined;
  if (api) {
    const post = (m: WebviewToHost) => api.postMessage(m);
    return {
      mode: 'vscode',
      post,
      getState: () => api.getState(),
      setState: (s) => api.setState(s),
      exportPng: (name, dataUrl) => post({ type: 'exportPng', name, dataUrl }),
      exportCsv: (name, csv) => post({ type: 'exportCsv', name, csv }),
    };
  }
  return {
    mode: 'report',
    post: () => undefined,
    getState: () => undefined,
    setState: () => undefined,
    exportPng: (name, dataUrl) => download(`${name}.png`, dataUrl),
    exportCsv: (name, csv) => download(`${name}.csv`, 'data:text/csv;charset=utf-8,' + encodeURIComponent(csv)),
  };
}
