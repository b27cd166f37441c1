/**
 * The offline report (src/engine/report.ts): self-contained, results embedded, nothing
 * in it can end a <script> element early, and its CSP lets exactly its own script run.
 * Uses the real panel bundle, built in memory from webview/main.ts (esbuild); the pure parts
 * (embedJson, inlining) are in test/unit/report-html.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { webviewAssets } from '../helpers';
import { renderReport, writeReport } from '../../src/engine/report';
import type { Results } from '../../src/engine/types';

const root = path.resolve(__dirname, '../..');
const sample: Results = JSON.parse(readFileSync(path.join(root, 'test/fixtures/results-sample.json'), 'utf8'));

const assets = webviewAssets;

/** The text of every <script> element, in order, with its attributes. */
function scripts(html: string): { attrs: string; body: string }[] {
  return [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)].map((m) => ({ attrs: m[1], body: m[2] }));
}

function embedded(html: string): unknown {
  const s = scripts(html).find((x) => /id="unetlens-results"/.test(x.attrs));
  assert.ok(s, 'the results script element is present');
  assert.match(s.attrs, /type="application\/json"/);
  return JSON.parse(s.body);
}

test('the report embeds the results exactly', async () => {
  const html = renderReport(sample, await assets());
  assert.deepEqual(embedded(html), sample);
  assert.match(html, /^<!DOCTYPE html>/);
  assert.match(html, /<title>UNet Lens report: model\.onnx<\/title>/);
});

test('the report loads nothing from anywhere: no http(s) in src/href, no external script or stylesheet', async () => {
  const html = renderReport(sample, await assets());
  assert.doesNotMatch(html, /\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
  assert.doesNotMatch(html, /<script\b[^>]*\bsrc\s*=/i);
  assert.doesNotMatch(html, /<link\b/i);
  assert.doesNotMatch(html, /@import/i);
  assert.doesNotMatch(html, /sourceMappingURL/);
});

test('the report has a CSP that allows exactly its inlined script and style', async () => {
  const html = renderReport(sample, await assets());
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1].replace(/&#39;/g, "'");
  assert.ok(csp, 'has a CSP meta tag');
  assert.match(csp, /default-src 'none'/);
  const code = scripts(html).filter((s) => !/type=/.test(s.attrs));
  assert.equal(code.length, 1, 'one executable script');
  const hash = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;
  assert.ok(csp.includes(`script-src ${hash(code[0].body)}`), 'the script hash in the CSP matches the inlined script');
  const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1];
  assert.ok(style !== undefined && csp.includes(`style-src ${hash(style)}`), 'the style hash in the CSP matches the inlined style');
});

test('strings from the results cannot close the <script> element or open a comment', async () => {
  const evil: Results = structuredClone(sample);
  evil.dataset.classes = ['</script><script>alert(1)</script>', '<!-- lesion -->'];
  evil.warnings = ['</SCRIPT >', 'a < b', '\u2028line separator\u2029'];
  evil.model.path = '/x/</title><b>model.onnx';
  const html = renderReport(evil, await assets());
  const s = scripts(html);
  assert.equal(s.length, 2, 'exactly the two script elements of the page');
  assert.equal((html.match(/<\/script/gi) ?? []).length, 2);
  assert.doesNotMatch(s[0].body, /</, 'the embedded JSON has no raw "<"');
  assert.deepEqual(embedded(html), evil);
  assert.ok(!html.includes('</title><b>'), 'the title is HTML-escaped');
});

test('writeReport reads the assets from distDir and writes a file; a missing asset is a clear error', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'unetlens-report-'));
  try {
    const dist = path.join(dir, 'dist');
    mkdirSync(path.join(dist, 'media'), { recursive: true });
    const a = await assets();
    writeFileSync(path.join(dist, 'webview.js'), a.script);
    writeFileSync(path.join(dist, 'media', 'panel.css'), a.css);
    const out = path.join(dir, 'out', 'nested', 'report.html');
    writeReport(sample, out, dist);
    const html = readFileSync(out, 'utf8');
    assert.deepEqual(embedded(html), sample);
    assert.equal(html, renderReport(sample, a));

    rmSync(path.join(dist, 'media', 'panel.css'));
    assert.throws(() => writeReport(sample, out, dist), /panel\.css/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
