/**
 * The HTML of the UNet Lens panel. A pure function (no `vscode` import), so it can be
 * tested on its own; the panel manager passes `webview.cspSource` and the
 * `asWebviewUri` of dist/webview.js and dist/media/panel.css.
 *
 * CSP: nothing remote, no inline script (the one script tag carries the per-load nonce),
 * no inline styles in markup. chart.js sizes its canvas through `element.style` (CSSOM),
 * which `style-src` without 'unsafe-inline' allows; the panel never sets `style`
 * attributes, so 'unsafe-inline' is not needed.
 */
import { randomBytes } from 'node:crypto';

export interface PanelHtmlOptions {
  /** `webview.cspSource`. */
  cspSource: string;
  /** A fresh random value for every load (see `makeNonce`). */
  nonce: string;
  /** URI of dist/webview.js as the webview sees it. */
  scriptUri: string;
  /** URI of dist/media/panel.css as the webview sees it. */
  styleUri: string;
  title?: string;
}

/** A nonce for the CSP: 16 random bytes, base64. */
export function makeNonce(): string {
  return randomBytes(16).toString('base64');
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function panelCsp(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data:`,
    `style-src ${cspSource}`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
}

/** The document's start up to `</head>`: its CSP, the stylesheet and the title (the panel's and the model page's). */
export function pageHead(csp: string, styleUri: string, title: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${escapeHtml(styleUri)}">
<title>${escapeHtml(title)}</title>
</head>`;
}

export function panelHtml(o: PanelHtmlOptions): string {
  if (!/^[A-Za-z0-9+/=_-]+$/.test(o.nonce)) throw new Error('panelHtml: the nonce must be base64 or base64url');
  return `${pageHead(panelCsp(o.cspSource, o.nonce), o.styleUri, o.title ?? 'UNet Lens')}
<body data-state="empty" data-taps="0" data-splits="0" data-metrics="">
<div id="app"></div>
<script nonce="${o.nonce}" src="${escapeHtml(o.scriptUri)}"></script>
</body>
</html>
`;
}
