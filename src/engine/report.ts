/**
 * The offline report: one self-contained HTML page with the same views as the panel.
 * The panel's script (dist/webview.js) and styles (dist/media/panel.css) are inlined and
 * the results embedded as JSON; it needs no network and opens from file://.
 *
 * Pure Node (no `vscode`): the CLI and the extension both write it.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Results } from './types';

export interface ReportAssets {
  /** The bundled panel script (dist/webview.js). */
  script: string;
  /** The panel's stylesheet (dist/media/panel.css). */
  css: string;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON that is safe inside a <script> element: every `<` written as `\u003c`. */
export function embedJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Script text that cannot end its <script> element early (`</script` → `<\/script`). */
function inlineScript(js: string): string {
  return js
    .replace(/\n\/\/# sourceMappingURL=\S*\s*$/, '\n')
    .replace(/<\/(script)/gi, '<\\/$1')
    .replace(/<!--/g, '<\\!--');
}

/** CSS text that cannot end its <style> element early. */
function inlineStyle(css: string): string {
  return css.replace(/\n\/\*# sourceMappingURL=\S*\s*\*\/\s*$/, '\n').replace(/<\/(style)/gi, '<\\/$1');
}

const sha256 = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;

export function renderReport(results: Results, assets: ReportAssets): string {
  const script = inlineScript(assets.script);
  const css = inlineStyle(assets.css);
  // A static page: the CSP allows exactly the inlined script and style (by hash), images
  // from data: (chart exports) and nothing from any network.
  const csp = ["default-src 'none'", 'img-src data: blob:', `style-src ${sha256(css)}`, `script-src ${sha256(script)}`].join('; ');
  const model = path.basename(results.model?.path ?? '') || 'model';
  const title = `UNet Lens report: ${model}`;
  return `<!DOCTYPE html>
<html lang="en" class="unetlens-report">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="generator" content="unet-lens ${escapeHtml(results.tool?.version ?? '')}">
<title>${escapeHtml(title)}</title>
<style>${css}</style>
</head>
<body data-state="empty" data-taps="0" data-splits="0" data-metrics="">
<div id="app"><noscript>This report needs JavaScript to draw its charts.</noscript></div>
<script type="application/json" id="unetlens-results">${embedJson(results)}</script>
<script>${script}</script>
</body>
</html>
`;
}

/**
 * Writes the report of `results` to `outFile`, with the panel assets read from `distDir`
 * (the extension's or CLI's dist/: webview.js and media/panel.css).
 */
export function writeReport(results: Results, outFile: string, distDir: string): void {
  const read = (rel: string) => {
    const file = path.join(distDir, rel);
    try {
      return readFileSync(file, 'utf8');
    } catch (e) {
      throw new Error(`cannot write the report: ${file} is missing (build with \`node esbuild.mjs\`): ${(e as Error).message}`);
    }
  };
  const html = renderReport(results, { script: read('webview.js'), css: read(path.join('media', 'panel.css')) });
  mkdirSync(path.dirname(path.resolve(outFile)), { recursive: true });
  writeFileSync(outFile, html, 'utf8');
}
