/**
 * The panel's page (src/host/webviewHtml.ts) and the panel's pure helpers
 * (webview/format.ts): CSP, naming, CSV, display subsampling.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { makeNonce, panelHtml } from '../../src/host/webviewHtml';
import type { Results } from '../../src/engine/types';
import {
  fmt,
  metricSeries,
  metricsCsv,
  ordinal,
  performanceCsv,
  shortTapName,
  splitsInOrder,
  stageRuns,
  strideSample,
  tapLabels,
  toCsv,
} from '../../webview/format';

const root = path.resolve(__dirname, '../..');
const sample: Results = JSON.parse(readFileSync(path.join(root, 'test/fixtures/results-sample.json'), 'utf8'));

test('panelHtml: strict CSP with the nonce, no inline styles, the script carries the nonce', () => {
  const nonce = makeNonce();
  const html = panelHtml({
    cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
    nonce,
    scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview.js',
    styleUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/media/panel.css',
  });
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1].replace(/&#39;/g, "'");
  assert.ok(csp);
  assert.match(csp, /^default-src 'none'; /);
  assert.ok(csp.includes(`script-src 'nonce-${nonce}'`));
  assert.ok(!csp.includes('unsafe-inline'));
  assert.ok(!csp.includes('unsafe-eval'));
  assert.match(html, new RegExp(`<script nonce="${nonce.replace(/[+/]/g, '\\$&')}" src="[^"]+/dist/webview\\.js"></script>`));
  assert.doesNotMatch(html, /\sstyle=/);
  assert.match(html, /<body data-state="empty"/);
  assert.throws(() => panelHtml({ cspSource: 'x', nonce: '"><script>', scriptUri: 'a', styleUri: 'b' }));
});

test('shortTapName and tapLabels', () => {
  assert.equal(shortTapName('/enc1/relu2/Relu_output_0'), 'enc1/relu2');
  assert.equal(shortTapName('/pool1/MaxPool_output_0'), 'pool1');
  assert.equal(shortTapName('/model/encoder/layer1/block0/relu/Relu_output_0'), 'block0/relu');
  assert.equal(shortTapName('conv2d_3'), 'conv2d_3');
  assert.equal(shortTapName('onnx::Conv_12'), 'onnx::Conv_12');
  assert.equal(shortTapName('x_output_0'), 'x');
  const labels = tapLabels([
    { name: '/a/b/Relu_output_0', index: 0 },
    { name: '/a/b/Relu_output_1', index: 1 },
    { name: '/c/Conv_output_0', index: 2 },
  ] as Results['taps']);
  assert.deepEqual(labels, ['a/b#0', 'a/b#1', 'c']);
});

test('metricSeries gives the values as in results.json, with nulls, and leaves out all-null splits', () => {
  const { drawn, empty } = metricSeries(sample, 'db');
  assert.deepEqual(drawn.map((s) => s.split), ['train', 'test']);
  assert.deepEqual(empty, ['siteB']);
  assert.equal(drawn[0].values.length, sample.taps.length);
  assert.equal(drawn[0].values[3], sample.metrics.train[sample.taps[3].name].db);
  assert.ok(drawn[1].values.includes(null), 'the NaN tap of the sample is a gap');
  assert.deepEqual(splitsInOrder(sample).map((s) => [s.name, s.labeled]), [['train', true], ['test', true], ['siteB', false]]);
});

test('stageRuns', () => {
  assert.deepEqual(stageRuns(['encoder', 'encoder', 'bottleneck', 'decoder', 'decoder']), [
    { stage: 'encoder', from: 0, to: 1 },
    { stage: 'bottleneck', from: 2, to: 2 },
    { stage: 'decoder', from: 3, to: 4 },
  ]);
});

test('strideSample: deterministic, only above the limit, counts right', () => {
  const rows = (n: number) => Array.from({ length: n }, (_, i) => [i, 0, 0, 0]);
  const small = strideSample({ a: rows(100), b: rows(50) }, 5000);
  assert.equal(small.stride, 1);
  assert.equal(small.shown, 150);
  const big = strideSample({ a: rows(4000), b: rows(3000), c: rows(1) }, 5000);
  assert.equal(big.total, 7001);
  assert.equal(big.stride, 2);
  assert.equal(big.rows.a.length, 2000);
  assert.equal(big.rows.b.length, 1500);
  assert.equal(big.rows.c.length, 1);
  assert.equal(big.shown, 3501);
  assert.ok(big.shown <= 5000);
  assert.deepEqual(big.rows.a[1], [2, 0, 0, 0]);
  assert.deepEqual(strideSample({ a: rows(4000), b: rows(3000), c: rows(1) }, 5000), big);
});

test('CSV: quoting, nulls, one row per tap and split', () => {
  assert.equal(toCsv(['a', 'b'], [['x,y', null], ['say "hi"', 1.5]]), 'a,b\n"x,y",\n"say ""hi""",1.5\n');
  const csv = metricsCsv(sample).trim().split('\n');
  assert.equal(csv[0], 'tap,index,stage,level,op,shape,rfSize,rfJump,split,labeled,db,roughness,knnConfidence,knnConfidenceFg,featureShift,points');
  assert.equal(csv.length, 1 + sample.taps.length * 3);
  const siteB = csv.find((l) => l.startsWith(`${sample.taps[0].name},`) && l.includes(',siteB,'))!;
  assert.match(siteB, /,siteB,false,,/, 'a null db is an empty cell');
  const perf = performanceCsv(sample).trim().split('\n');
  assert.equal(perf.length, 4);
  assert.match(perf[3], /^siteB,false,25,/);
});

test('fmt and ordinal', () => {
  assert.equal(fmt(null), '—');
  assert.equal(fmt(0.123456), '0.123');
  assert.equal(fmt(4096), '4096');
  assert.equal(fmt(1.0e-5), '1.00e-5');
  assert.equal(fmt(Number.NaN), '—');
  assert.deepEqual([1, 2, 3, 4, 11, 12, 13, 21, 22, 102].map(ordinal), ['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '22nd', '102nd']);
});
