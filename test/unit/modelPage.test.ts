/**
 * The page a model file opens to (src/host/modelPage.ts, engine/model/summary.ts): the graph's
 * inputs, outputs, opset, node and parameter counts against the ONNX Python package's reading
 * of the same files (test/fixtures/models/*.expected.json, `graph`, written by
 * scripts/make_model_fixtures.py); a graph without spatial layers says so; a corrupt or missing
 * file gives what and where, and no action; the page carries no script; package.json's editor
 * takes exactly the binary model files of contract.ts.
 *
 *   node --import tsx --test test/unit/modelPage.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeModel, lastAnalysis, modelPageHtml } from '../../src/host/modelPage';
import { computeVerdict } from '../../src/engine/verdict';
import type { Results } from '../../src/engine/types';
import { countText } from '../../src/engine/model/summary';
import { MODEL_EXTENSIONS } from '../../src/engine/model/contract';

const ROOT = path.join(__dirname, '..', '..');
const MODELS = path.join(ROOT, 'test', 'fixtures', 'models');
const OPTS = { cspSource: 'vscode-resource:', styleUri: 'vscode-resource:/dist/media/panel.css' };

interface RefGraph {
  irVersion: number;
  opsets: { domain: string; version: number }[];
  nodes: { op: string }[];
  initializers: Record<string, number[]>;
  inputs: { name: string; elemType: number; dims: (number | string)[] }[];
  outputs: { name: string; elemType: number; dims: (number | string)[] }[];
}

for (const name of ['unet2d', 'unet3d', 'bn_bilinear', 'nhwc']) {
  test(`${name}.onnx: the summary equals the onnx package's reading of the file`, async () => {
    const ref = (JSON.parse(fs.readFileSync(path.join(MODELS, `${name}.expected.json`), 'utf8')) as { graph: RefGraph }).graph;
    const page = await describeModel(path.join(MODELS, `${name}.onnx`), `models/${name}.onnx`);
    assert.equal(page.error, undefined);
    assert.equal(page.format, 'onnx');
    const st = fs.statSync(path.join(MODELS, `${name}.onnx`));
    assert.deepEqual([page.bytes, page.mtimeMs], [st.size, st.mtimeMs]);
    const g = page.onnx!;
    assert.equal(g.irVersion, ref.irVersion);
    assert.equal(g.opset, ref.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')!.version);
    assert.equal(g.nodes, ref.nodes.length);
    const counts = new Map<string, number>();
    for (const n of ref.nodes) counts.set(n.op, (counts.get(n.op) ?? 0) + 1);
    assert.deepEqual(new Map(g.ops.map((o) => [o.op, o.count])), counts);
    assert.ok(g.ops.every((o, i) => i === 0 || g.ops[i - 1].count >= o.count), 'most frequent first');
    assert.equal(g.parameters, Object.values(ref.initializers).reduce((a, dims) => a + dims.reduce((x, y) => x * y, 1), 0));
    assert.deepEqual(g.inputs.map((v) => [v.name, v.dims]), ref.inputs.map((v) => [v.name, v.dims]));
    assert.deepEqual(g.outputs.map((v) => [v.name, v.dims]), ref.outputs.map((v) => [v.name, v.dims]));
    assert.ok(g.spatialOps > 0);
    const html = modelPageHtml(page, OPTS);
    assert.match(html, /<a class="btn" data-role="analyze" href="command:unetLens\.analyze"/);
    assert.ok(html.includes(`${g.nodes} nodes: `));
    assert.ok(html.includes(`${ref.inputs[0].name}: float32 [${ref.inputs[0].dims.join(', ')}]`));
    assert.doesNotMatch(html, /data-role="no-spatial"/);
  });
}

test('a graph without spatial layers (an MLP) says UNet Lens would find nothing to tap', async () => {
  const page = await describeModel(path.join(MODELS, 'mlp.onnx'), 'mlp.onnx');
  assert.equal(page.onnx!.spatialOps, 0);
  assert.match(modelPageHtml(page, OPTS), /data-role="no-spatial"[^]*this graph has none/);
});

test('a file over the read limit is described without being read, and Analyze stays offered', async () => {
  const page = await describeModel(path.join(MODELS, 'unet2d.onnx'), 'unet2d.onnx', 100);
  assert.deepEqual([page.onnx, page.error], [undefined, undefined]);
  assert.match(page.note ?? '', /^unet2d\.onnx is \d+ KB: too large to be described here; Analyze Generalization reads it in the background\.$/);
  const html = modelPageHtml(page, OPTS);
  assert.match(html, /data-role="note"/);
  assert.match(html, /data-role="analyze"/);
  assert.doesNotMatch(html, /data-role="error"/);
});

test('weights in a file beside the model are said so', async () => {
  const page = await describeModel(path.join(MODELS, 'unet2d_external.onnx'), 'unet2d_external.onnx');
  assert.equal(page.onnx!.externalData, true);
  assert.match(modelPageHtml(page, OPTS), /weights in files beside the model/);
});

test('a truncated file and a missing one: what and where, no action, the file untouched', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unetlens-modelpage-'));
  try {
    const cut = path.join(dir, 'broken.onnx');
    const bytes = fs.readFileSync(path.join(MODELS, 'unet2d.onnx')).subarray(0, 300);
    fs.writeFileSync(cut, bytes);
    const page = await describeModel(cut, 'runs/broken.onnx');
    assert.match(page.error ?? '', /runs\/broken\.onnx.*not a valid ONNX model/);
    const html = modelPageHtml(page, OPTS);
    assert.match(html, /data-role="error"[^]*cannot be read as an ONNX model/);
    assert.doesNotMatch(html, /command:/);
    assert.deepEqual(fs.readFileSync(cut), bytes);
    const gone = await describeModel(path.join(dir, 'gone.onnx'), 'runs/gone.onnx');
    assert.equal(gone.error, 'runs/gone.onnx no longer exists.');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a PyTorch file is described without being read; names are escaped; the page has no script', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unetlens-modelpage-'));
  try {
    const f = path.join(dir, 'a<b>.pt');
    fs.writeFileSync(f, Buffer.alloc(2048));
    const page = await describeModel(f, 'a<b>.pt');
    assert.deepEqual([page.format, page.bytes, page.onnx, page.error], ['pytorch', 2048, undefined, undefined]);
    const html = modelPageHtml(page, OPTS);
    assert.ok(html.includes('a&lt;b&gt;.pt') && !html.includes('a<b>.pt'));
    assert.match(html, /PyTorch file · 2 KB/);
    assert.match(html, /exports it to ONNX with your Python/);
    const csp = /content="([^"]+)"/.exec(html)![1];
    assert.doesNotMatch(csp, /script-src/);
    assert.match(csp.replace(/&#39;/g, "'"), /^default-src 'none'; /);
    assert.doesNotMatch(html, /<script/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the last analysis: the verdict of the cached results (computed when the file has none), the answer first; said stale when the file was written after', async () => {
  const sample = path.join(ROOT, 'test', 'fixtures', 'results-sample.json');
  const verdict = computeVerdict(JSON.parse(fs.readFileSync(sample, 'utf8')) as Results);
  const entry = { createdAt: '2026-12-05T20:44:00.000Z', datasetPath: '/ws/unetlens.json' };
  const rel = (p: string) => p.replace('/ws/', '');
  // the results' own createdAt (2026-11-27T12:00Z, when the analysis began) is the one shown and compared
  const last = (await lastAnalysis(sample, entry, Date.parse('2026-11-27T11:00:00Z'), rel))!;
  assert.equal(last.createdAt, '2026-11-27T12:00:00.000Z');
  assert.deepEqual(last.sentences, [...verdict.unlabeled.map((u) => u.sentence), ...verdict.labeled.map((l) => l.sentence)]);
  assert.match(last.sentences[0], /^siteB: /);
  assert.deepEqual([last.dataset, last.stale], ['unetlens.json', false]);
  const page = await describeModel(path.join(MODELS, 'unet2d.onnx'), 'unet2d.onnx');
  const html = modelPageHtml({ ...page, last }, OPTS);
  assert.match(html, /data-role="last"[^]*Last analysis[^]*with unetlens\.json/);
  assert.ok(html.includes(`<li>${last.sentences[0].replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;')}</li>`));
  assert.match(html, /shows it again at once/);
  assert.doesNotMatch(html, /data-role="stale"/);
  const stale = (await lastAnalysis(sample, entry, Date.parse('2026-11-27T12:00:01Z'), rel))!;
  assert.equal(stale.stale, true);
  assert.match(modelPageHtml({ ...page, last: stale }, OPTS), /data-role="stale">the file was written again since/);
  assert.equal(await lastAnalysis(path.join(MODELS, 'unet2d.onnx'), entry, 0, rel), undefined, 'not a results file: no last analysis');
});

test('counts in words', () => {
  assert.deepEqual([7, 1234, 999_999, 44_012_345, 2.5e9].map(countText), ['7', '1.2 k', '1.0 M', '44.0 M', '2.50 G']);
});

test("package.json's model editor opens exactly the binary model files of contract.ts", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    contributes: { customEditors: { viewType: string; selector: { filenamePattern: string }[]; priority: string }[] };
    activationEvents: string[];
  };
  const editor = pkg.contributes.customEditors.find((e) => e.viewType === 'unetLens.model')!;
  const exts = editor.selector.map((s) => s.filenamePattern.replace(/^\*/, ''));
  // .h5/.hdf5 also hold data (HDF5), so they keep their own editor; model.json is text
  assert.deepEqual(exts.slice().sort(), MODEL_EXTENSIONS.filter((e) => e !== '.h5' && e !== '.hdf5').slice().sort());
  assert.equal(editor.priority, 'default');
  assert.ok(pkg.activationEvents.includes('onCustomEditor:unetLens.model'));
});
