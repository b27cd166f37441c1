/**
 * src/engine/model with onnxruntime: extra outputs and the 1-node MatMul model served by a real
 * session, and the ONNX loader (loadOnnxModel) on the fixtures of test/fixtures/models, made by
 * scripts/make_model_fixtures.py (PyTorch 1.13); their *.expected.json hold what PyTorch and
 * onnx say, computed independently of this code. The pure parts (protobuf, graph, taps) are in
 * test/unit/model.test.ts.
 *
 *   node --import tsx --test test/integration/model-onnx.test.ts
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs, readFileSync, readdirSync } from 'node:fs';
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
import { OnnxGraph, OnnxNode, parseOnnx } from '../../src/engine/model/onnxGraph';
import { matMulModel, withExtraOutputs, withInputShape } from '../../src/engine/model/onnxWrite';
import { GraphIndex, autoCandidates, planTaps, sortNodes, spread } from '../../src/engine/model/taps';
import { loadOnnxModel } from '../../src/engine/model/onnxModel';

import { FIX, MODELS, expected, fixture, isModelError, tmpdir } from '../modelFixtures';

// ------------------------------------------------------------------------------- onnxruntime

describe('ONNX models built or edited here, run by onnxruntime', () => {
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
    // cells (tapCap.ts): encoder 0 {enc1.relu1, enc1.relu2}, bottleneck 1 {pool1, enc2.relu1,
    // enc2.relu2}, decoder 0 {up1, dec1.relu1, dec1.relu2, logits}. The logits and the block
    // outputs enc1.relu2 and enc2.relu2 (decoder 0's last tap is the logits) = 3; 3 more, one
    // per cell (the cell with most room first): up1 and pool1 (sampling outputs), enc1.relu1
    assert.deepEqual(m.taps.map((t) => t.name), [
      '/enc1/relu1/Relu_output_0',
      '/enc1/relu2/Relu_output_0',
      '/pool1/MaxPool_output_0',
      '/enc2/relu2/Relu_output_0',
      '/up1/ConvTranspose_output_0',
      'logits',
    ]);
    assert.deepEqual(m.taps.map((t) => t.stage), ['encoder', 'encoder', 'bottleneck', 'bottleneck', 'decoder', 'decoder']);
    assert.deepEqual(m.tapsLeftOut, ['/enc2/relu1/Relu_output_0', '/dec1/relu1/Relu_output_0', '/dec1/relu2/Relu_output_0']);
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

// The shape probe at small sizes (probeShapes.ts): a large input's candidates are run at
// sides / f, / (f/2), / (f/4) and their shapes extrapolated; the plan must be the one that a
// full-size probe gives, and where the model cannot run small, the full-size probe decides.
describe('loadOnnxModel: the shape probe at small sizes', () => {
  const plan = (m: { taps: TapInfo[]; tapsLeftOut: string[]; outputDims: number[] }) => JSON.stringify([m.taps, m.tapsLeftOut, m.outputDims]);
  const loadBoth = async (file: string, inputDims: number[]) => {
    const base = { taps: 'auto' as const, maxTaps: 64, output: 'auto', inputDims, threads: 1 };
    const auto = await loadOnnxModel(file, base);
    const full = await loadOnnxModel(file, { ...base, probe: 'full' });
    return { auto, full };
  };
  /** A large copy of a fixture with its input's declared shape fixed (or changed) by withInputShape. */
  const resized = async (name: string, dims: (number | string)[]) => {
    const file = path.join(await tmpdir(), name.replace('.onnx', '-large.onnx'));
    await fs.writeFile(file, withInputShape(readFileSync(fixture(name)), 'image', dims, name));
    return file;
  };

  test('withInputShape: the input declared anew, outputs by name, value_info gone, the rest byte for byte', async () => {
    const bytes = readFileSync(fixture('nhwc.onnx'));
    const before = parseOnnx(bytes, 'nhwc');
    const out = withInputShape(bytes, 'image', ['batch', 'h', 'w', 1], 'nhwc');
    const g = parseOnnx(out, 'nhwc');
    assert.deepEqual(g.inputs.map((i) => [i.name, i.type, i.dims]), [['image', 'float32', ['batch', 'h', 'w', 1]]]);
    assert.deepEqual(g.outputs.map((o) => [o.name, o.dims]), [['logits', null]]);
    assert.equal(g.valueInfo.size, 0);
    assert.deepEqual(g.nodes, before.nodes);
    assert.deepEqual([...g.initializers.keys()], [...before.initializers.keys()]);
    // onnxruntime runs the copy at a size the original refuses, with the same numbers at 16×16
    const s0 = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
    const s1 = await ort.InferenceSession.create(out, { logSeverityLevel: 3 });
    try {
      const x = Float32Array.from({ length: 16 * 16 }, (_, i) => Math.sin(i * 0.1));
      const a = await s0.run({ image: new ort.Tensor('float32', x, [1, 16, 16, 1]) });
      const b = await s1.run({ image: new ort.Tensor('float32', x, [1, 16, 16, 1]) });
      close(b.logits.data as Float32Array, a.logits.data as Float32Array, 0, 'nhwc at 16×16');
      await assert.rejects(s0.run({ image: new ort.Tensor('float32', new Float32Array(64 * 64), [1, 64, 64, 1]) }));
      const c = await s1.run({ image: new ort.Tensor('float32', new Float32Array(64 * 64), [1, 64, 64, 1]) });
      assert.deepEqual(c.logits.dims, [1, 64, 64, 2]);
    } finally {
      await s0.release();
      await s1.release();
    }
    // extra outputs in the same copy, an existing one not twice; onnxruntime serves them
    const taps = withInputShape(bytes, 'image', ['batch', 'h', 'w', 1], 'nhwc', ['/pool/MaxPool_output_0', 'logits']);
    assert.deepEqual(parseOnnx(taps, 'nhwc').outputs.map((o) => o.name), ['logits', '/pool/MaxPool_output_0']);
    const s2 = await ort.InferenceSession.create(taps, { logSeverityLevel: 3 });
    try {
      const r = await s2.run({ image: new ort.Tensor('float32', new Float32Array(64 * 64), [1, 64, 64, 1]) }, ['/pool/MaxPool_output_0']);
      assert.deepEqual(r['/pool/MaxPool_output_0'].dims, [1, 4, 32, 32]);
    } finally {
      await s2.release();
    }
    // a name that is not an input: the bytes come back unchanged
    assert.equal(withInputShape(bytes, 'nope', [1, 2, 3, 4], 'nhwc'), bytes);
  });

  const cases: [string, () => Promise<string>, number[], boolean][] = [
    // dynamic sides, fed 512×512: the probes run on the analysis session itself
    ['unet2d (dynamic sides) at 512×512', async () => fixture('unet2d.onnx'), [1, 512, 512], true],
    ['unet2d at 1024×768, non-square', async () => fixture('unet2d.onnx'), [1, 1024, 768], true],
    // a fixed 512×512 declaration: a session of its own with symbolic sides
    ['unet2d declared 1×512×512', () => resized('unet2d.onnx', ['batch', 1, 512, 512]), [1, 512, 512], true],
    ['nhwc (channels-last, Resize) declared 512×512×1', () => resized('nhwc.onnx', ['batch', 512, 512, 1]), [1, 512, 512], true],
    // a Reshape to constant shapes: it cannot run small, so one full-size zero image decides
    ['fixed_reshape (constant Reshape) 512×512', async () => fixture('fixed_reshape.onnx'), [1, 512, 512], false],
    // too small for the small probes
    ['unet2d at 256×256', async () => fixture('unet2d.onnx'), [1, 256, 256], false],
  ];
  for (const [what, file, inputDims, small] of cases) {
    test(`${what}: the plan of a full-size probe${small ? ', learnt from small runs' : ', from the full-size probe'}`, async () => {
      const { auto, full } = await loadBoth(await file(), inputDims);
      try {
        const sides = inputDims.slice(1);
        const f = sides[0] >= 1024 && sides[1] >= 1024 ? 16 : 8;
        assert.equal(
          auto.shapeProbe,
          small
            ? `zero images at ${[f, f / 2, f / 4].map((d) => sides.map((s) => s / d).join('×')).join(', ')}, extrapolated`
            : `a zero image at ${sides.join('×')}`,
        );
        assert.equal(full.shapeProbe, `a zero image at ${sides.join('×')}`);
        assert.ok(auto.taps.length >= 3, `${auto.taps.length} taps`);
        assert.equal(plan(auto), plan(full));
        // a real image runs, and the fetched shapes agree with the plan (run() checks them)
        const x = Float32Array.from({ length: inputDims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.001));
        const [ra, rf] = [await auto.run({ data: x, dims: [1, ...inputDims] }), await full.run({ data: x, dims: [1, ...inputDims] })];
        for (const t of auto.taps) assert.deepEqual(ra.taps.get(t.name)!.dims, [1, ...t.shape]);
        close(ra.output.data, rf.output.data, 0, 'the same output');
      } finally {
        await auto.dispose();
        await full.dispose();
      }
    });
  }
});
