/**
 * The offline report's HTML helpers (src/engine/report.ts) that need no panel bundle: the
 * embedded JSON and the inlined script cannot end their <script> element early.
 * The report built with the real panel bundle is checked in test/integration/report.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { embedJson, renderReport } from '../../src/engine/report';
import type { Results } from '../../src/engine/types';

const root = path.resolve(__dirname, '../..');
const sample: Results = JSON.parse(readFileSync(path.join(root, 'test/fixtures/results-sample.json'), 'utf8'));

test('embedJson escapes every "<" and round-trips', () => {
  const v = { a: '</script>', b: '<!--', c: ['<', '\u2028'] };
  const text = embedJson(v);
  assert.ok(!text.includes('<'));
  assert.ok(text.includes('\\u003c/script>'));
  assert.deepEqual(JSON.parse(text), v);
});

test('a script containing "</script" is neutralised when inlined', () => {
  const html = renderReport(sample, { script: 'var s = "</script><p>";\n//# sourceMappingURL=webview.js.map\n', css: 'a{}' });
  assert.equal((html.match(/<\/script/gi) ?? []).length, 2);
  assert.ok(html.includes('var s = "<\\/script><p>"'));
  assert.doesNotMatch(html, /sourceMappingURL/);
});
