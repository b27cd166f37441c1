/**
 * src/engine/model: protobuf reader, ONNX graph parser, taps (METHOD.md §1). The ONNX loader
 * and everything that runs an onnxruntime session: test/integration/model-onnx.test.ts.
 * Fixtures: test/fixtures/models, made by scripts/make_model_fixtures.py (PyTorch 1.13);
 * their *.expected.json hold what PyTorch and onnx say, computed independently of this code.
 *
 *   node --import tsx --test test/unit/model.test.ts
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
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
import { OnnxGraph, OnnxNode, parseOnnx } from '../../src/engine/model/onnxGraph';
import { matMulModel, withExtraOutputs } from '../../src/engine/model/onnxWrite';
import { GraphIndex, autoCandidates, planTaps, sortNodes, spread } from '../../src/engine/model/taps';

import { MODELS, expected, fixture, isModelError } from '../modelFixtures';

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

  test('maxTaps: the logits and each cell\'s block output first (tapCap.ts)', () => {
    const plan = planTaps(mixed(), mixedShapes(), { taps: 'auto', maxTaps: 3 });
    // cells: encoder 0 {gelu}, bottleneck 1 {r6, gn}, decoder 0 {d2s, out}; out (logits) kept,
    // then the block outputs gelu (encoder 0) and gn (bottleneck 1; r6 is not the last at its
    // resolution); decoder 0's last tap is the logits: 3 taps, one per stage
    assert.deepEqual(plan.taps.map((t) => t.name), ['gelu', 'gn', 'out']);
    assert.deepEqual(plan.taps.map((t) => t.stage), ['encoder', 'bottleneck', 'decoder']);
    assert.deepEqual(plan.leftOut, ['r6', 'd2s']);
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
