/**
 * src/engine/model: protobuf reader, ONNX graph parser, taps (METHOD.md §1), ONNX loader.
 * Fixtures: test/fixtures/models, made by scripts/make_model_fixtures.py (PyTorch 1.13);
 * their *.expected.json hold what PyTorch and onnx say, computed independently of this code.
 *
 *   node --import tsx --test test/unit/model.test.ts
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs, readFileSync, readdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { LensError, TapInfo } from '../../src/engine/types';
import {
  ProtoReader,
  writeVarint,
  writeVarintField,
  writeStringField,
  writeMessageField,
  writePackedInt64,
  writeFloatField,
  writeKey,
  WIRE_VARINT,
} from '../../src/engine/model/protobuf';
import { OnnxGraph, OnnxNode, matMulModel, parseOnnx, withExtraOutputs } from '../../src/engine/model/onnxGraph';
import { GraphIndex, autoCandidates, planTaps, sortNodes, spread } from '../../src/engine/model/taps';
import { loadOnnxModel } from '../../src/engine/model/onnxModel';

const FIX = path.join(__dirname, '..', 'fixtures', 'models');
const fixture = (name: string) => path.join(FIX, name);
const expected = (name: string) => JSON.parse(readFileSync(fixture(`${name}.expected.json`), 'utf8'));
const MODELS = ['unet2d', 'unet3d', 'bn_bilinear', 'dilated_strided', 'nhwc'];

function isModelError(re: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof LensError, `expected a LensError, got ${e}`);
    assert.equal(e.kind, 'model', e.message);
    assert.match(e.message, re);
    return true;
  };
}

async function tmpdir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'unetlens-model-'));
}

// ------------------------------------------------------------------------------- protobuf

describe('protobuf reader', () => {
  test('varints round-trip, including multi-byte and negative int64', () => {
    const vals = [0, 1, 127, 128, 300, 16383, 16384, 2 ** 31, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER];
    const out: number[] = [];
    for (const v of vals) writeVarint(out, v);
    writeVarint(out, -1);
    writeVarint(out, -123456789);
    const r = ProtoReader.of(Uint8Array.from(out), 'x.onnx');
    for (const v of vals) assert.equal(r.varint(), v);
    assert.equal(r.int64(), -1);
    assert.equal(r.int64(), -123456789);
    assert.ok(r.done);
    const neg: number[] = [];
    writeVarint(neg, -1);
    assert.equal(neg.length, 10);
  });

  test('fields, packed and unpacked repeated ints, floats, skipping unknown fields', () => {
    const out: number[] = [];
    writeVarintField(out, 1, 7);
    writeStringField(out, 2, 'héllo');
    writePackedInt64(out, 3, [1, 300, -2]);
    writeVarintField(out, 3, 9); // unpacked element of the same repeated field
    writeFloatField(out, 4, 1.5);
    writeKey(out, 5, 1); // a 64-bit field to skip
    out.push(1, 2, 3, 4, 5, 6, 7, 8);
    writeMessageField(out, 6, (b) => writeVarintField(b, 1, 42));
    const r = ProtoReader.of(Uint8Array.from(out), 'x.onnx');
    const ints: number[] = [];
    const seen: number[] = [];
    while (!r.done) {
      const [f, w] = r.key();
      seen.push(f);
      if (f === 1) assert.equal(r.varint(), 7);
      else if (f === 2) assert.equal(r.string(), 'héllo');
      else if (f === 3) r.repeatedInt64(w, ints);
      else if (f === 4) assert.equal(r.float(), 1.5);
      else if (f === 6) {
        const s = r.sub();
        assert.deepEqual(s.key(), [1, WIRE_VARINT]);
        assert.equal(s.varint(), 42);
      } else r.skipField(w);
    }
    assert.deepEqual(ints, [1, 300, -2, 9]);
    assert.deepEqual(seen, [1, 2, 3, 3, 4, 5, 6]);
  });

  test('truncated and corrupt input throws LensError naming the byte', () => {
    const out: number[] = [];
    writeStringField(out, 2, 'abcdef');
    const cut = Uint8Array.from(out.slice(0, 5));
    const r = ProtoReader.of(cut, 'm.onnx');
    r.key();
    assert.throws(() => r.string(), isModelError(/^m\.onnx is not a valid ONNX model: truncated at byte 1$/));
    assert.throws(() => ProtoReader.of(Uint8Array.from([0x80, 0x80]), 'm.onnx').varint(), isModelError(/truncated at byte 2/));
    assert.throws(() => ProtoReader.of(Uint8Array.from([0x0b]), 'm.onnx').key(), isModelError(/wire type 3 at byte 0/));
    assert.throws(() => ProtoReader.of(Uint8Array.from([0x0d, 1, 2]), 'm.onnx').float(), isModelError(/truncated at byte 0/));
    assert.throws(
      () => ProtoReader.of(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), 'm.onnx').varint(),
      isModelError(/varint longer than 10 bytes/),
    );
  });
});

// ------------------------------------------------------------------------------ graph

describe('parseOnnx', () => {
  for (const name of MODELS) {
    test(`${name}: graph matches what onnx (Python) reads`, () => {
      const g = parseOnnx(readFileSync(fixture(`${name}.onnx`)), name);
      const want = expected(name).graph;
      assert.equal(g.irVersion, want.irVersion);
      assert.deepEqual(g.opsets, want.opsets);
      assert.deepEqual(
        g.nodes.map((n) => ({ name: n.name, op: n.opType, inputs: n.inputs, outputs: n.outputs })),
        want.nodes,
      );
      assert.deepEqual(Object.fromEntries([...g.initializers].map(([k, t]) => [k, t.dims])), want.initializers);
      const vi = (v: { name: string; elemType: number; dims: (number | string)[] | null }) => ({ name: v.name, elemType: v.elemType, dims: v.dims });
      assert.deepEqual(g.inputs.map(vi), want.inputs);
      assert.deepEqual(g.outputs.map(vi), want.outputs);
      for (const t of g.initializers.values()) {
        const n = t.dims.reduce((a, b) => a * b, 1);
        if (n > 64) assert.equal(t.values, undefined, 'tensor data of big initializers is not copied');
      }
    });
  }

  test('attributes: ints, int, float, string, tiny constant tensors', () => {
    const g = parseOnnx(readFileSync(fixture('bn_bilinear.onnx')), 'bn');
    const conv = g.nodes.find((n) => n.opType === 'Conv')!;
    assert.deepEqual(conv.attrs.kernel_shape.ints, [3, 3]);
    assert.deepEqual(conv.attrs.pads.ints, [1, 1, 1, 1]);
    assert.equal(conv.attrs.group.i, 1);
    const bn = g.nodes.find((n) => n.opType === 'BatchNormalization')!;
    assert.ok(Math.abs(bn.attrs.epsilon.f! - 1e-5) < 1e-9);
    const resize = g.nodes.find((n) => n.opType === 'Resize')!;
    assert.equal(resize.attrs.mode.s, 'linear');
    assert.equal(resize.attrs.coordinate_transformation_mode.s, 'half_pixel');
    const k = g.nodes.find((n) => n.opType === 'Constant')!;
    assert.deepEqual(k.attrs.value.t!.values, [1, 1, 2, 2]);
  });

  test('external-data model: dims read, data location noted', () => {
    const g = parseOnnx(readFileSync(fixture('unet2d_external.onnx')), 'ext');
    const w = g.initializers.get('enc1.conv1.weight')!;
    assert.deepEqual(w.dims, [4, 1, 3, 3]);
    assert.equal(w.external, true);
  });

  test('every truncation of a model is either rejected with a LensError or parses', () => {
    const bytes = readFileSync(fixture('unet2d.onnx'));
    let rejected = 0;
    for (let n = 0; n < bytes.length; n++) {
      try {
        parseOnnx(bytes.subarray(0, n), 'cut.onnx');
      } catch (e) {
        assert.ok(e instanceof LensError && e.kind === 'model', String(e));
        assert.match(e.message, /^cut\.onnx is not a valid ONNX model: /);
        rejected++;
      }
    }
    assert.ok(rejected > bytes.length * 0.9, `${rejected} of ${bytes.length} cuts rejected`);
  });

  test('empty, random and non-ONNX bytes are rejected', () => {
    assert.throws(() => parseOnnx(new Uint8Array(0), 'e.onnx'), isModelError(/e\.onnx is not a valid ONNX model: the file is empty/));
    assert.throws(() => parseOnnx(new TextEncoder().encode('{"not": "onnx"}'), 'j.onnx'), isModelError(/j\.onnx is not a valid ONNX model/));
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let t = 0; t < 50; t++) {
      const b = Uint8Array.from({ length: 200 + t * 37 }, rnd);
      assert.throws(() => parseOnnx(b, 'r.onnx'), isModelError(/r\.onnx is not a valid ONNX model/));
    }
  });

  test('withExtraOutputs appends outputs; original bytes untouched; onnxruntime serves them', async () => {
    const bytes = readFileSync(fixture('unet2d.onnx'));
    const names = ['/enc1/relu2/Relu_output_0', '/pool1/MaxPool_output_0', 'logits'];
    for (const typed of [false, true]) {
      const out = withExtraOutputs(bytes, names, { existing: ['logits'], typed });
      assert.deepEqual(Buffer.from(out.subarray(0, bytes.length)), Buffer.from(bytes));
      const g = parseOnnx(out, 'x');
      assert.deepEqual(
        g.outputs.map((o) => o.name),
        ['logits', '/enc1/relu2/Relu_output_0', '/pool1/MaxPool_output_0'],
      );
      assert.equal(g.nodes.length, parseOnnx(bytes, 'x').nodes.length);
      const s = await ort.InferenceSession.create(out, { logSeverityLevel: 3 });
      const r = await s.run({ image: new ort.Tensor('float32', new Float32Array(16 * 16), [1, 1, 16, 16]) }, ['/pool1/MaxPool_output_0']);
      assert.deepEqual(r['/pool1/MaxPool_output_0'].dims, [1, 4, 8, 8]);
      assert.deepEqual(Object.keys(r), ['/pool1/MaxPool_output_0']);
      await s.release();
    }
    assert.equal(withExtraOutputs(bytes, ['logits'], { existing: ['logits'] }), bytes);
  });

  test('matMulModel: a valid 1-node model onnxruntime runs exactly', async () => {
    const m = matMulModel();
    const g = parseOnnx(m, 'mm');
    assert.deepEqual(g.nodes.map((n) => n.opType), ['MatMul']);
    assert.deepEqual(g.inputs.map((i) => i.dims), [
      ['M', 'K'],
      ['K', 'N'],
    ]);
    assert.deepEqual(g.opsets, [{ domain: '', version: 13 }]);
    const s = await ort.InferenceSession.create(m, { logSeverityLevel: 3 });
    const M = 37, K = 19, N = 23;
    const a = Float32Array.from({ length: M * K }, (_, i) => Math.sin(i));
    const b = Float32Array.from({ length: K * N }, (_, i) => Math.cos(i * 0.7));
    const r = await s.run({ A: new ort.Tensor('float32', a, [M, K]), B: new ort.Tensor('float32', b, [K, N]) });
    assert.deepEqual(r.C.dims, [M, N]);
    const c = r.C.data as Float32Array;
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let acc = 0;
        for (let p = 0; p < K; p++) acc += a[i * K + p] * b[p * N + j];
        assert.ok(Math.abs(acc - c[i * N + j]) < 1e-4);
      }
    await s.release();
  });
});

// ------------------------------------------------------------------------------- taps

/** A hand-made graph: nodes as [op, inputs, outputs, attrs]. */
function graph(spec: {
  input: string;
  inputDims: (number | string)[];
  output: string;
  nodes: [string, string[], string[], Record<string, number | number[] | string>?][];
  init?: Record<string, number[]>;
  consts?: Record<string, number[]>;
}): OnnxGraph {
  const nodes: OnnxNode[] = [];
  for (const [k, v] of Object.entries(spec.consts ?? {})) {
    nodes.push({
      index: nodes.length,
      name: `const_${k}`,
      opType: 'Constant',
      domain: '',
      inputs: [],
      outputs: [k],
      attrs: { value: { name: 'value', type: 4, t: { name: '', dims: [v.length], dataType: 1, values: v } } },
    });
  }
  for (const [op, inputs, outputs, attrs] of spec.nodes) {
    const a: OnnxNode['attrs'] = {};
    for (const [k, v] of Object.entries(attrs ?? {})) {
      a[k] = Array.isArray(v) ? { name: k, type: 7, ints: v } : typeof v === 'string' ? { name: k, type: 3, s: v } : { name: k, type: 2, i: v };
    }
    nodes.push({ index: nodes.length, name: outputs[0], opType: op, domain: '', inputs, outputs, attrs: a });
  }
  const init = new Map(Object.entries(spec.init ?? {}).map(([k, dims]) => [k, { name: k, dims, dataType: 1 }]));
  return {
    path: 'hand.onnx',
    irVersion: 7,
    opsets: [{ domain: '', version: 13 }],
    producer: '',
    name: '',
    nodes,
    initializers: init,
    inputs: [{ name: spec.input, elemType: 1, type: 'float32', dims: spec.inputDims }],
    outputs: [{ name: spec.output, elemType: 1, type: 'float32', dims: null }],
    valueInfo: new Map(),
  };
}

/** Gelu (exported as Div/Erf/Add/Mul/Mul), strided conv + Clip (ReLU6), a squeeze-excitation
 * block, the GroupNorm pattern (Reshape/InstanceNorm/Reshape/Mul/Add) without activation,
 * DepthToSpace and a 1x1 head. */
const mixed = () =>
  graph({
    input: 'x',
    inputDims: ['N', 1, 16, 16],
    output: 'out',
    init: { w1: [4, 1, 3, 3], w2: [8, 4, 3, 3], w3: [2, 8, 1, 1], w4: [8, 2, 1, 1], w5: [8, 8, 3, 3], w6: [2, 2, 1, 1] },
    consts: { sqrt2: [1.414], one: [1], half: [0.5], lo: [0], hi: [6], shp: [0, 2, -1], shp2: [0, 8, 8, 8], sc: [1, 1], bi: [0, 0], gamma: [1], beta: [0] },
    nodes: [
      ['Conv', ['x', 'w1'], ['c1'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }],
      ['Div', ['c1', 'sqrt2'], ['d']],
      ['Erf', ['d'], ['e']],
      ['Add', ['e', 'one'], ['a']],
      ['Mul', ['c1', 'a'], ['m']],
      ['Mul', ['m', 'half'], ['gelu']],
      ['Conv', ['gelu', 'w2'], ['c2'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }],
      ['Clip', ['c2', 'lo', 'hi'], ['r6']],
      ['GlobalAveragePool', ['r6'], ['gap']],
      ['Conv', ['gap', 'w3'], ['s1'], { kernel_shape: [1, 1] }],
      ['Relu', ['s1'], ['s1r']],
      ['Conv', ['s1r', 'w4'], ['s2'], { kernel_shape: [1, 1] }],
      ['Sigmoid', ['s2'], ['gate']],
      ['Mul', ['r6', 'gate'], ['se']],
      ['Conv', ['se', 'w5'], ['c5'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }],
      ['Reshape', ['c5', 'shp'], ['rs']],
      ['InstanceNormalization', ['rs', 'sc', 'bi'], ['inorm']],
      ['Reshape', ['inorm', 'shp2'], ['rs2']],
      ['Mul', ['rs2', 'gamma'], ['gm']],
      ['Add', ['gm', 'beta'], ['gn']],
      ['DepthToSpace', ['gn'], ['d2s'], { blocksize: 2 }],
      ['Conv', ['d2s', 'w6'], ['out'], { kernel_shape: [1, 1] }],
    ],
  });

const mixedShapes = () =>
  new Map<string, number[]>([
    ['x', [1, 16, 16]],
    ['c1', [4, 16, 16]],
    ['gelu', [4, 16, 16]],
    ['r6', [8, 8, 8]],
    ['gap', [8, 1, 1]],
    ['s1r', [2, 1, 1]],
    ['gate', [8, 1, 1]],
    ['gn', [8, 8, 8]],
    ['rs', [2, 256]],
    ['d2s', [2, 16, 16]],
    ['out', [2, 16, 16]],
  ]);

const brief = (t: TapInfo) => [t.name, t.op, t.stage, t.level, t.receptiveField.size, t.receptiveField.jump];

describe('planTaps', () => {
  test('activation patterns, SE gates left out, GroupNorm chain, DepthToSpace; fields and stages', () => {
    const plan = planTaps(mixed(), mixedShapes(), { taps: 'auto', maxTaps: 64 });
    // r = 1 → conv3: 3 → strided conv3: 3+2 = 5 (j 2) → SE Mul takes the global gate's field:
    // 5 + (8−1)·2 = 19 → conv3: 19 + 2·2 = 23 → DepthToSpace: j 1
    assert.deepEqual(plan.taps.map(brief), [
      ['gelu', 'Mul', 'encoder', 0, 3, 1],
      ['r6', 'Clip', 'bottleneck', 1, 5, 2],
      ['gn', 'Add', 'bottleneck', 1, 23, 2],
      ['d2s', 'DepthToSpace', 'decoder', 0, 23, 1],
      ['out', 'Conv', 'decoder', 0, 23, 1],
    ]);
    assert.deepEqual(plan.leftOut, []);
    assert.deepEqual(plan.taps.map((t) => t.index), [0, 1, 2, 3, 4]);
  });

  test('maxTaps: sampling outputs, block outputs and logits first, evenly spread', () => {
    const plan = planTaps(mixed(), mixedShapes(), { taps: 'auto', maxTaps: 3 });
    // priority: gelu (block end), r6 (strided), gn (block end), d2s (up), out (logits): 5 > 3
    // → out kept, 2 of the other 4 evenly spread: indexes 1 and 3
    assert.deepEqual(plan.taps.map((t) => t.name), ['r6', 'd2s', 'out']);
    assert.deepEqual(plan.leftOut, ['gelu', 'gn']);
    assert.deepEqual(plan.taps.map((t) => t.index), [0, 1, 2]);
    assert.throws(() => planTaps(mixed(), mixedShapes(), { taps: 'auto', maxTaps: 0 }), /maxTaps/);
  });

  test('spread picks evenly', () => {
    assert.deepEqual(spread([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 3), [1, 5, 8]);
    assert.deepEqual(spread([0, 1, 2], 5), [0, 1, 2]);
    assert.deepEqual(spread([0, 1, 2], 0), []);
  });

  test('anisotropic 3D: per-axis fields, cubic resize, constant-scale fallback', () => {
    const g = graph({
      input: 'x',
      inputDims: ['N', 1, 8, 16, 16],
      output: 'out',
      init: { w1: [2, 1, 1, 3, 3], w2: [2, 2, 3, 3, 3], w3: [1, 2, 1, 1, 1] },
      consts: { scales: [1, 1, 1, 2, 2] },
      nodes: [
        ['Conv', ['x', 'w1'], ['c1']],
        ['Relu', ['c1'], ['r1']],
        ['MaxPool', ['r1'], ['p1'], { kernel_shape: [1, 2, 2], strides: [1, 2, 2] }],
        ['Conv', ['p1', 'w2'], ['c2'], { kernel_shape: [3, 3, 3] }],
        ['Relu', ['c2'], ['r2']],
        ['Resize', ['r2', '', 'scales'], ['up'], { mode: 'cubic' }],
        ['Conv', ['up', 'w3'], ['out']],
      ],
    });
    const shapes = new Map<string, number[]>([
      ['x', [1, 8, 16, 16]],
      ['r1', [2, 8, 16, 16]],
      ['p1', [2, 8, 8, 8]],
      ['r2', [2, 8, 8, 8]],
      ['up', [2, 8, 16, 16]],
      ['out', [1, 8, 16, 16]],
    ]);
    const plan = planTaps(g, shapes, { taps: 'auto', maxTaps: 64 });
    const rf = Object.fromEntries(plan.taps.map((t) => [t.name, t.receptiveField]));
    assert.deepEqual(rf.r1, { size: 3, jump: 1, sizes: [1, 3, 3], jumps: [1, 1, 1] });
    assert.deepEqual(rf.p1, { size: 4, jump: 2, sizes: [1, 4, 4], jumps: [1, 2, 2] });
    assert.deepEqual(rf.r2, { size: 8, jump: 2, sizes: [3, 8, 8], jumps: [1, 2, 2] });
    assert.deepEqual(rf.up, { size: 14, jump: 1, sizes: [6, 14, 14], jumps: [1, 1, 1] }); // cubic: + 3 input steps
    assert.deepEqual(rf.out, rf.up);
    assert.deepEqual(
      plan.taps.map((t) => [t.name, t.stage, t.level]),
      [
        ['r1', 'encoder', 0],
        ['p1', 'bottleneck', 1],
        ['r2', 'bottleneck', 1],
        ['up', 'decoder', 0],
        ['out', 'decoder', 0],
      ],
    );
    // without the probe's shapes of the Resize, its constant scales give the factor
    const less = new Map(shapes);
    less.delete('up');
    const plan2 = planTaps(g, less, { taps: 'auto', maxTaps: 64 });
    assert.deepEqual(plan2.taps.find((t) => t.name === 'out')!.receptiveField, rf.out);
    assert.ok(!plan2.taps.some((t) => t.name === 'up'));
  });

  test('forward order ignores file order', () => {
    const g = mixed();
    const rev = { ...g, nodes: [...g.nodes].reverse().map((n, i) => ({ ...n, index: i })) };
    const a = planTaps(g, mixedShapes(), { taps: 'auto', maxTaps: 64 }).taps.map((t) => t.name);
    const b = planTaps(rev, mixedShapes(), { taps: 'auto', maxTaps: 64 }).taps.map((t) => t.name);
    assert.deepEqual(b, a);
    const order = sortNodes(rev).map((n) => n.outputs[0]);
    for (const n of rev.nodes) for (const i of n.inputs) {
      const p = rev.nodes.find((m) => m.outputs.includes(i));
      if (p) assert.ok(order.indexOf(p.outputs[0]) < order.indexOf(n.outputs[0]), `${i} before ${n.outputs[0]}`);
    }
  });

  test('a cycle is reported', () => {
    const g = graph({ input: 'x', inputDims: [1, 1, 4, 4], output: 'b', nodes: [['Relu', ['x', 'b'], ['a']], ['Relu', ['a'], ['b']]] });
    assert.throws(() => sortNodes(g), isModelError(/cycle/));
  });

  test('explicit taps: forward order, missing names and non-spatial tensors', () => {
    const g = mixed();
    const plan = planTaps(g, mixedShapes(), { taps: ['out', 'c1', 'gelu'], maxTaps: 1 });
    assert.deepEqual(plan.taps.map((t) => [t.name, t.op, t.index]), [
      ['c1', 'Conv', 0],
      ['gelu', 'Mul', 1],
      ['out', 'Conv', 2],
    ]);
    assert.deepEqual(plan.leftOut, []);
    assert.throws(
      () => planTaps(g, mixedShapes(), { taps: ['gelu', 'nope'], maxTaps: 64 }),
      isModelError(/analysis\.taps names "nope", which is not a tensor of hand\.onnx; tensors it has include "gelu", "r6"/),
    );
    assert.throws(() => planTaps(g, mixedShapes(), { taps: ['rs'], maxTaps: 64 }), isModelError(/"rs" .* has shape \[N, 2, 256\]; a tap must be N×C×H×W/));
    assert.throws(() => planTaps(g, mixedShapes(), { taps: ['w1'], maxTaps: 64 }), isModelError(/not a tensor/));
  });

  test('candidates are structural: no activation without a convolution before it', () => {
    const g = graph({
      input: 'x',
      inputDims: [1, 1, 4, 4],
      output: 'y',
      nodes: [
        ['Relu', ['x'], ['a']],
        ['Sigmoid', ['a'], ['y']],
      ],
    });
    const idx = new GraphIndex(g);
    assert.deepEqual(autoCandidates(idx).map((c) => c.name), ['y']); // the logits only
    const plan = planTaps(g, new Map([['x', [1, 4, 4]], ['y', [1, 4, 4]]]), { taps: 'auto', maxTaps: 8 });
    assert.deepEqual(plan.taps.map((t) => [t.name, t.op, t.stage, t.level]), [['y', 'Sigmoid', 'encoder', 0]]);
  });
});

// ------------------------------------------------------------------------------ loader

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) {
  assert.equal(a.length, b.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  assert.ok(worst <= tol, `${what}: max abs difference ${worst} > ${tol}`);
}

describe('loadOnnxModel on the fixtures (reference: PyTorch)', () => {
  for (const name of [...MODELS, 'unet2d_shuffled', 'unet2d_external']) {
    const base = name.replace(/_(shuffled|external)$/, '');
    test(`${name}: taps, shapes, stages, levels and receptive fields as PyTorch measured them`, async () => {
      const exp = expected(base);
      const inputDims = base === 'nhwc' ? [exp.inputDims[2], exp.inputDims[0], exp.inputDims[1]] : exp.inputDims;
      const m = await loadOnnxModel(fixture(`${name}.onnx`), { taps: 'auto', maxTaps: 64, output: 'auto', inputDims, threads: 1 });
      try {
        assert.deepEqual(
          m.taps.map((t) => ({ name: t.name, op: t.op, stage: t.stage, level: t.level, shape: t.shape, receptiveField: t.receptiveField })),
          exp.taps.map((t: TapInfo) => ({ name: t.name, op: t.op, stage: t.stage, level: t.level, shape: t.shape, receptiveField: t.receptiveField })),
        );
        assert.deepEqual(m.taps.map((t) => t.index), exp.taps.map((_: unknown, i: number) => i));
        assert.deepEqual(m.tapsLeftOut, []);
        assert.equal(m.inputName, exp.inputName);
        assert.equal(m.outputName, exp.outputName);
        assert.deepEqual(m.inputDims, inputDims);
        assert.equal(m.inputLayout, base === 'nhwc' ? 'channels-last' : 'channels-first');

        // activations of two taps and the output, for the fixed input
        const input = Float32Array.from(exp.input);
        let batch = input;
        if (base === 'nhwc') {
          // the fixture's input is N×H×W×C; run() takes channels-first
          const [H, W, C] = exp.inputDims;
          batch = new Float32Array(input.length);
          for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) batch[c * H * W + p] = input[p * C + c];
        }
        const r = await m.run({ data: batch, dims: [1, ...inputDims] });
        assert.deepEqual([...r.taps.keys()], m.taps.map((t) => t.name));
        for (const [tap, values] of Object.entries(exp.values as Record<string, number[]>)) {
          assert.deepEqual(r.taps.get(tap)!.dims, [1, ...m.taps.find((t) => t.name === tap)!.shape]);
          close(r.taps.get(tap)!.data, values, 1e-5, `${name} ${tap}`);
        }
        let want: number[] = exp.output;
        if (base === 'nhwc') {
          const [H, W] = exp.inputDims;
          const C = exp.outputDims[3];
          want = new Array(want.length);
          for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) want[c * H * W + p] = exp.output[p * C + c];
        }
        close(r.output.data, want, 1e-5, `${name} output`);
        assert.deepEqual(r.output.dims, [1, ...m.outputDims]);
      } finally {
        await m.dispose();
      }
    });
  }

  test('external data: the temporary copy is removed', async () => {
    const before = readdirSync(FIX).sort();
    const m = await loadOnnxModel(fixture('unet2d_external.onnx'), { taps: 'auto', maxTaps: 64, output: 'auto', inputDims: [1, 16, 16] });
    await m.dispose();
    assert.deepEqual(readdirSync(FIX).sort(), before);
  });

  test('sha256, inputs/outputs, run with a subset of taps, batches', async () => {
    const file = fixture('unet2d.onnx');
    const m = await loadOnnxModel(file, { taps: 'auto', maxTaps: 64, output: 'auto', inputDims: [1, 24, 32] });
    try {
      assert.equal(m.sha256, createHash('sha256').update(readFileSync(file)).digest('hex'));
      assert.equal(m.format, 'onnx');
      assert.deepEqual(m.inputs, [{ name: 'image', dims: ['batch', 1, 'height', 'width'], type: 'float32' }]);
      assert.deepEqual(m.outputs, [{ name: 'logits', dims: ['batch', 2, 'height', 'width'], type: 'float32' }]);
      assert.deepEqual(m.taps[2].shape, [4, 12, 16]); // non-square dynamic dims
      const n = 3;
      const data = Float32Array.from({ length: n * 24 * 32 }, (_, i) => Math.sin(i * 0.01));
      const want = ['/pool1/MaxPool_output_0', '/dec1/relu2/Relu_output_0'];
      const r = await m.run({ data, dims: [n, 1, 24, 32] }, { taps: want });
      assert.deepEqual([...r.taps.keys()], want);
      assert.deepEqual(r.taps.get(want[0])!.dims, [3, 4, 12, 16]);
      assert.deepEqual(r.output.dims, [3, 2, 24, 32]);
      // each image alone gives the same
      const one = await m.run({ data: data.slice(24 * 32, 2 * 24 * 32), dims: [1, 1, 24, 32] }, { taps: want });
      close(one.taps.get(want[1])!.data, r.taps.get(want[1])!.data.subarray(4 * 24 * 32, 8 * 24 * 32), 1e-6, 'image 1');
      await assert.rejects(m.run({ data, dims: [n, 1, 32, 24] }), /takes batches of N×1×24×32 images; got \[3, 1, 32, 24\]/);
      await assert.rejects(m.run({ data: data.slice(0, 768), dims: [1, 1, 24, 32] }, { taps: ['/enc1/conv1/Conv_output_0'] }), /not one of the tensors/);
    } finally {
      await m.dispose();
    }
    await assert.rejects(m.run({ data: new Float32Array(768), dims: [1, 1, 24, 32] }), /disposed/);
  });

  test('a fixed batch of 1 is run image by image', async () => {
    const m = await loadOnnxModel(fixture('bn_bilinear.onnx'), { taps: 'auto', maxTaps: 64, output: 'auto' });
    try {
      assert.deepEqual(m.inputDims, [3, 16, 16]);
      const per = 3 * 16 * 16;
      const data = Float32Array.from({ length: 3 * per }, (_, i) => Math.cos(i * 0.013));
      const r = await m.run({ data, dims: [3, 3, 16, 16] });
      assert.deepEqual(r.output.dims, [3, 1, 16, 16]);
      const tap = '/up/Resize_output_0';
      assert.deepEqual(r.taps.get(tap)!.dims, [3, 8, 16, 16]);
      for (let b = 0; b < 3; b++) {
        const one = await m.run({ data: data.slice(b * per, (b + 1) * per), dims: [1, 3, 16, 16] });
        close(one.taps.get(tap)!.data, r.taps.get(tap)!.data.subarray(b * 8 * 256, (b + 1) * 8 * 256), 0, `image ${b}`);
      }
    } finally {
      await m.dispose();
    }
  });

  test('maxTaps on a real model', async () => {
    const m = await loadOnnxModel(fixture('unet2d.onnx'), { taps: 'auto', maxTaps: 6, output: 'auto', inputDims: [1, 16, 16] });
    // priority: enc1.relu2 (block end), pool1, enc2.relu2 (block end), up1, logits = 5;
    // 1 of the other 4 (enc1.relu1, enc2.relu1, dec1.relu1, dec1.relu2), evenly: the 3rd
    assert.deepEqual(m.taps.map((t) => t.name), [
      '/enc1/relu2/Relu_output_0',
      '/pool1/MaxPool_output_0',
      '/enc2/relu2/Relu_output_0',
      '/up1/ConvTranspose_output_0',
      '/dec1/relu1/Relu_output_0',
      'logits',
    ]);
    assert.deepEqual(m.tapsLeftOut, ['/enc1/relu1/Relu_output_0', '/enc2/relu1/Relu_output_0', '/dec1/relu2/Relu_output_0']);
    assert.deepEqual(m.taps.map((t) => t.index), [0, 1, 2, 3, 4, 5]);
    await m.dispose();
  });

  test('explicit taps on a real model', async () => {
    const m = await loadOnnxModel(fixture('unet2d.onnx'), {
      taps: ['/dec1/relu1/Relu_output_0', '/enc1/conv1/Conv_output_0'],
      maxTaps: 64,
      output: 'auto',
      inputDims: [1, 16, 16],
    });
    assert.deepEqual(m.taps.map((t) => [t.name, t.op, t.index, t.stage, t.receptiveField.size]), [
      ['/enc1/conv1/Conv_output_0', 'Conv', 0, 'encoder', 3],
      ['/dec1/relu1/Relu_output_0', 'Relu', 1, 'decoder', 16],
    ]);
    const r = await m.run({ data: new Float32Array(256), dims: [1, 1, 16, 16] });
    assert.deepEqual([...r.taps.keys()], ['/enc1/conv1/Conv_output_0', '/dec1/relu1/Relu_output_0']);
    await m.dispose();
    await assert.rejects(
      loadOnnxModel(fixture('unet2d.onnx'), { taps: ['/enc1/relu9/Relu_output_0'], maxTaps: 64, output: 'auto', inputDims: [1, 16, 16] }),
      isModelError(/"\/enc1\/relu9\/Relu_output_0", which is not a tensor of .*unet2d\.onnx; tensors it has include "\/enc1\/relu1\/Relu_output_0"/),
    );
    await assert.rejects(
      loadOnnxModel(fixture('mlp.onnx'), { taps: ['/relu/Relu_output_0'], maxTaps: 64, output: 'auto', inputDims: [1, 8, 8] }),
      isModelError(/has shape \[N, 16\]; a tap must be N×C×H×W or N×C×D×H×W/),
    );
  });
});

describe('loadOnnxModel errors', () => {
  const opts = { taps: 'auto' as const, maxTaps: 64, output: 'auto', inputDims: [1, 16, 16] };

  test('missing file, folder, empty file', async () => {
    const dir = await tmpdir();
    await assert.rejects(loadOnnxModel(path.join(dir, 'nope.onnx'), opts), isModelError(/^model file not found: .*nope\.onnx$/));
    await assert.rejects(loadOnnxModel(dir, opts), isModelError(/is a folder, not an ONNX model file/));
    await fs.writeFile(path.join(dir, 'empty.onnx'), '');
    await assert.rejects(loadOnnxModel(path.join(dir, 'empty.onnx'), opts), isModelError(/empty\.onnx is not a valid ONNX model: the file is empty/));
    await fs.rm(dir, { recursive: true });
  });

  test('truncated copies and random bytes', async () => {
    const dir = await tmpdir();
    const bytes = readFileSync(fixture('unet2d.onnx'));
    for (const frac of [0.1, 0.5, 0.93]) {
      const p = path.join(dir, `cut${frac}.onnx`);
      await fs.writeFile(p, bytes.subarray(0, Math.floor(bytes.length * frac)));
      await assert.rejects(loadOnnxModel(p, opts), (e: unknown) => {
        assert.ok(e instanceof LensError && e.kind === 'model');
        assert.ok(e.message.includes(p), e.message);
        assert.match(e.message, /is not a valid ONNX model: truncated at byte \d+/);
        assert.equal(e.where, p);
        return true;
      });
    }
    // cut at the end of the graph, before opset_import: protobuf-valid, onnxruntime refuses it
    const g = parseOnnx(bytes, 'x');
    assert.ok(g.opsets.length);
    const r = ProtoReader.of(bytes, 'x');
    let cutAt = -1;
    while (!r.done) {
      const at = r.pos;
      const [f, w] = r.key();
      if (f === 8) {
        cutAt = at;
        break;
      }
      r.skipField(w);
    }
    const p2 = path.join(dir, 'noopset.onnx');
    await fs.writeFile(p2, bytes.subarray(0, cutAt));
    await assert.rejects(loadOnnxModel(p2, opts), isModelError(/^onnxruntime cannot load .*noopset\.onnx: .+/));
    const p3 = path.join(dir, 'random.onnx');
    await fs.writeFile(p3, Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24));
    await assert.rejects(loadOnnxModel(p3, opts), isModelError(/random\.onnx is not a valid ONNX model/));
    await fs.rm(dir, { recursive: true });
  });

  test("onnxruntime's own errors are wrapped with the file name", async () => {
    // a protobuf-valid model with an operator onnxruntime does not know
    const m: number[] = [];
    writeVarintField(m, 1, 7);
    writeMessageField(m, 7, (g) => {
      writeMessageField(g, 1, (n) => {
        writeStringField(n, 1, 'x');
        writeStringField(n, 2, 'y');
        writeStringField(n, 4, 'NoSuchOp');
      });
      for (const [field, name] of [
        [11, 'x'],
        [12, 'y'],
      ] as const) {
        writeMessageField(g, field, (vi) => {
          writeStringField(vi, 1, name);
          writeMessageField(vi, 2, (tp) =>
            writeMessageField(tp, 1, (tt) => {
              writeVarintField(tt, 1, 1);
              writeMessageField(tt, 2, (sh) => {
                for (const d of [1, 1, 8, 8]) writeMessageField(sh, 1, (dim) => writeVarintField(dim, 1, d));
              });
            }),
          );
        });
      }
    });
    writeMessageField(m, 8, (o) => writeVarintField(o, 2, 13));
    const dir = await tmpdir();
    const p = path.join(dir, 'weird.onnx');
    await fs.writeFile(p, Uint8Array.from(m));
    await assert.rejects(loadOnnxModel(p, { ...opts, inputDims: [1, 8, 8] }), isModelError(/^onnxruntime cannot load .*weird\.onnx: .*NoSuchOp/));
    await fs.rm(dir, { recursive: true });
  });

  test('input shape mismatches name both shapes', async () => {
    const bn = fixture('bn_bilinear.onnx');
    await assert.rejects(
      loadOnnxModel(bn, { ...opts, inputDims: [1, 16, 16] }),
      isModelError(/input "image" takes images of shape \[3, 16, 16\] .*but the data gives \[1, 16, 16\] \(3 channels expected, 1 given\)/),
    );
    await assert.rejects(
      loadOnnxModel(bn, { ...opts, inputDims: [3, 32, 32] }),
      isModelError(/takes images of shape \[3, 16, 16\] \(channels first; the model declares \[1, 3, 16, 16\]\), but the data gives \[3, 32, 32\]/),
    );
    await assert.rejects(loadOnnxModel(bn, { ...opts, inputDims: [3, 8, 16, 16] }), isModelError(/2-D per image|3-D per image/));
    await assert.rejects(
      loadOnnxModel(fixture('unet2d.onnx'), { ...opts, inputDims: undefined }),
      isModelError(/has dynamic dims \[batch, 1, height, width\]; give the image size and channels/),
    );
    await assert.rejects(
      loadOnnxModel(fixture('nhwc.onnx'), { ...opts, inputDims: [3, 16, 16] }),
      isModelError(/takes images of shape \[1, 16, 16\] \(channels first; the model declares \[batch, 16, 16, 1\] \(channels-last\)\)/),
    );
    // a size the network cannot take (odd size through pool + up + concat): onnxruntime's error, wrapped
    await assert.rejects(
      loadOnnxModel(fixture('unet2d.onnx'), { ...opts, inputDims: [1, 15, 15] }),
      isModelError(/onnxruntime could not run .*unet2d\.onnx on input \[1, 1, 15, 15\]: /),
    );
  });

  test('a model without spatial layers', async () => {
    await assert.rejects(
      loadOnnxModel(fixture('mlp.onnx'), { ...opts, inputDims: [1, 8, 8] }),
      isModelError(/mlp\.onnx has no spatial layers: no N×C×H×W or N×C×D×H×W tensor/),
    );
  });

  test('model.output must name an output', async () => {
    await assert.rejects(
      loadOnnxModel(fixture('unet2d.onnx'), { ...opts, output: 'probs' }),
      isModelError(/model\.output is "probs", but .*unet2d\.onnx has the outputs "logits"/),
    );
    const m = await loadOnnxModel(fixture('unet2d.onnx'), { ...opts, output: 'logits' });
    assert.equal(m.outputName, 'logits');
    await m.dispose();
  });
});
