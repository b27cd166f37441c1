/**
 * TF.js and Keras models (src/engine/model/tfjs*.ts, keras*.ts): the same analysis as ONNX.
 *
 * Fixtures: test/fixtures/tfjs/, written by scripts/onnx-to-tfjs.ts from the bundled
 * example's ONNX weights (no TensorFlow on this machine): model.json + weights.bin (TF.js
 * layers model, Conv2D with built-in ReLU), example.h5 (Keras 2, Conv2D + Activation layers),
 * example.keras (Keras 3 zip, Conv2D + ReLU layers), example_graph/model.json (TF.js graph
 * model: GraphDef with the converter's fused ops), unsupported_layer.h5. The same network four
 * more ways must give onnxruntime's logits, the same taps and the same metrics.
 * Receptive fields, levels and stages of other layer types are checked against the
 * PyTorch-measured expectations of test/fixtures/models/*.expected.json, on TF.js models built
 * here with the tf.layers API.
 *
 *   node --import tsx --test test/integration/tfjs.test.ts
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LensError, type TapInfo } from '../../src/engine/types';
import { loadModel } from '../../src/engine/model/load';
import { modelFormatOf, type LoadedModel, type LoadModelOptions } from '../../src/engine/model/contract';
import { tfRuntime, type Tf } from '../../src/engine/model/tfjsRuntime';
import { checkLayersSupported, normalizeModelTopology } from '../../src/engine/model/kerasConfig';
import { h5 } from '../../src/engine/model/kerasModel';
import { analyze } from '../../src/engine/pipeline/analyze';
import { loadDatasetFile } from '../../src/engine/data/datasetFile';
import { listSplit } from '../../src/engine/data/splits';
import { toModelInput } from '../../src/engine/data/preprocess';

const ROOT = path.join(__dirname, '..', '..');
const FIX = path.join(ROOT, 'test', 'fixtures', 'tfjs');
const ONNX = path.join(ROOT, 'examples', 'synthetic', 'model.onnx');
const DATA = path.join(ROOT, 'examples', 'synthetic', 'unetlens.json');
const TFJS = path.join(FIX, 'example', 'model.json');
const H5 = path.join(FIX, 'example.h5');
const KERAS = path.join(FIX, 'example.keras');
const GRAPH = path.join(FIX, 'example_graph', 'model.json');
const FORMATS: [string, string, 'tfjs' | 'keras'][] = [
  ['TF.js model.json', TFJS, 'tfjs'],
  ['Keras 2 .h5', H5, 'keras'],
  ['Keras 3 .keras', KERAS, 'keras'],
  ['TF.js graph model', GRAPH, 'tfjs'],
];
const OPTS: LoadModelOptions = { taps: 'auto', maxTaps: 64, output: 'auto', inputDims: [1, 64, 64] };
const TOL = 1e-4;

function isModelError(re: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof LensError, `expected a LensError, got ${e}`);
    assert.equal(e.kind, 'model', e.message);
    assert.match(e.message, re);
    return true;
  };
}

const tmpdir = () => fs.mkdtemp(path.join(os.tmpdir(), 'unetlens-tfjs-'));

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** The first `n` test images of the example, preprocessed as analyze() does: N×1×64×64. */
function exampleBatch(n: number): { data: Float32Array; dims: number[] } {
  const cfg = loadDatasetFile(DATA);
  const src = listSplit(cfg, cfg.splits.find((s) => s.name === 'test')!);
  const data = new Float32Array(n * 64 * 64);
  for (let i = 0; i < n; i++) data.set(toModelInput(src.read(i).image, cfg.input, [64, 64], 'x'), i * 64 * 64);
  return { data, dims: [n, 1, 64, 64] };
}

/** Tap structure without the names (they differ between formats). */
const structure = (t: TapInfo) => ({ index: t.index, stage: t.stage, level: t.level, shape: t.shape, receptiveField: t.receptiveField });

/** Writes a tf.layers model as a TF.js layers model (model.json + weights.bin) in `dir`. */
async function saveTfjs(tf: Tf, model: import('@tensorflow/tfjs').LayersModel, dir: string): Promise<string> {
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const wd = a.weightData as ArrayBuffer | ArrayBuffer[];
      const parts = Array.isArray(wd) ? wd : [wd];
      const bin = Buffer.concat(parts.map((p) => Buffer.from(p)));
      await fs.writeFile(path.join(dir, 'weights.bin'), bin);
      const json = { format: 'layers-model', modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] };
      await fs.writeFile(path.join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return path.join(dir, 'model.json');
}

// ------------------------------------------------------------------------------- runtime

describe('TF.js runtime', () => {
  test('without tfjs-node: bundled tfjs on the wasm backend, and it says so', async () => {
    assert.throws(() => require.resolve('@tensorflow/tfjs-node'), 'tfjs-node is not installed on this machine');
    const rt = await tfRuntime();
    assert.equal(rt.name, 'wasm');
    assert.equal(rt.tf.getBackend(), 'wasm', 'setBackend("wasm") took effect (no silent fallback to cpu)');
    assert.match(rt.backend, /^tfjs 4\.\d+\.\d+ wasm \(simd, 1 thread\)$/);
    assert.match(rt.notes.join('\n'), /@tensorflow\/tfjs-node is not available/);
  });

  test('a forced cpu backend runs the model too (child process), the same logits', () => {
    const code = `
      const { loadModel } = require('./src/engine/model/load');
      (async () => {
        const opts = { taps: 'auto', maxTaps: 64, output: 'auto', inputDims: [1, 64, 64] };
        const x = { data: new Float32Array(64 * 64).map((_, i) => (i % 97) / 97), dims: [1, 1, 64, 64] };
        const a = await loadModel(${JSON.stringify(ONNX)}, opts);
        const b = await loadModel(${JSON.stringify(TFJS)}, opts);
        const ra = await a.run(x), rb = await b.run(x);
        let d = 0; for (let i = 0; i < ra.output.data.length; i++) d = Math.max(d, Math.abs(ra.output.data[i] - rb.output.data[i]));
        process.stdout.write(JSON.stringify({ backend: b.backend, diff: d }));
      })().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, UNET_LENS_TFJS_BACKEND: 'cpu' },
      timeout: 120_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.match(out.backend, /cpu/);
    assert.ok(out.diff < TOL, `cpu logits differ from onnxruntime by ${out.diff}`);
  });

  test('a kernel the wasm backend lacks: the model still runs, on the cpu backend, and backend says why', () => {
    const code = `
      const { tfRuntime } = require('./src/engine/model/tfjsRuntime');
      const { loadModel } = require('./src/engine/model/load');
      (async () => {
        const rt = await tfRuntime();
        rt.tf.unregisterKernel('MaxPool', 'wasm');
        const m = await loadModel(${JSON.stringify(TFJS)}, { taps: 'auto', maxTaps: 64, output: 'auto', inputDims: [1, 64, 64] });
        const r = await m.run({ data: new Float32Array(64 * 64).fill(0.5), dims: [1, 1, 64, 64] });
        process.stdout.write(JSON.stringify({ backend: m.backend, now: rt.tf.getBackend(), taps: m.taps.length, dims: r.output.dims }));
      })().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.now, 'cpu');
    assert.match(out.backend, /cpu .*no MaxPool kernel/);
    assert.equal(out.taps, 15);
    assert.deepEqual(out.dims, [1, 2, 64, 64]);
  });

  test('an unknown UNET_LENS_TFJS_BACKEND is an error', () => {
    const code = `require('./src/engine/model/tfjsRuntime').tfRuntime().then(() => process.exit(0), (e) => { process.stdout.write(e.message); process.exit(3); });`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, UNET_LENS_TFJS_BACKEND: 'gpu' },
      timeout: 60_000,
    });
    assert.equal(r.status, 3);
    assert.match(r.stdout, /UNET_LENS_TFJS_BACKEND is "gpu"; expected node, wasm or cpu/);
  });
});

// ------------------------------------------------------------------ the example, 3 formats

describe('the example UNet as TF.js / Keras files against the ONNX model', () => {
  let onnx: LoadedModel;
  const batch = exampleBatch(6);
  let ref: Awaited<ReturnType<LoadedModel['run']>>;

  before(async () => {
    onnx = await loadModel(ONNX, OPTS);
    ref = await onnx.run(batch);
  });
  after(async () => {
    await onnx?.dispose();
  });

  for (const [label, file, format] of FORMATS) {
    test(`${label}: logits and every tap equal onnxruntime's within ${TOL} on 6 example images`, async () => {
      const m = await loadModel(file, OPTS);
      try {
        assert.equal(m.format, format);
        assert.match(m.backend ?? '', /wasm/);
        assert.equal(m.inputLayout, 'channels-last');
        assert.deepEqual(m.inputDims, [1, 64, 64]);
        assert.deepEqual(m.outputDims, [2, 64, 64]);
        assert.equal(m.inputName, 'image');
        assert.deepEqual(m.inputs, [{ name: 'image', dims: [-1, 64, 64, 1], type: 'float32' }]);
        assert.deepEqual(m.outputs[0].dims, [-1, 64, 64, 2]);
        assert.match(m.sha256, /^[0-9a-f]{64}$/);
        const r = await m.run(batch);
        assert.deepEqual(r.output.dims, [6, 2, 64, 64], 'channels-first output');
        const dOut = maxAbsDiff(r.output.data, ref.output.data);
        assert.ok(dOut < TOL, `logits differ by ${dOut}`);
        assert.equal(m.taps.length, onnx.taps.length);
        m.taps.forEach((t, i) => {
          const o = onnx.taps[i];
          const a = r.taps.get(t.name)!;
          const b = ref.taps.get(o.name)!;
          assert.deepEqual(a.dims, b.dims, `${t.name} vs ${o.name}`);
          const d = maxAbsDiff(a.data, b.data);
          assert.ok(d < TOL, `tap ${i} ${t.name} differs from ${o.name} by ${d}`);
        });
      } finally {
        await m.dispose();
      }
    });

    test(`${label}: the same taps as ONNX (op, stage, level, shape, receptive field, by index)`, async () => {
      const m = await loadModel(file, OPTS);
      try {
        assert.deepEqual(m.taps.map(structure), onnx.taps.map(structure));
        // a graph model's taps are its nodes: the transposed convolutions' BiasAdd, the output Identity
        const asOnnx: Record<string, string> = file === GRAPH ? { Add: 'ConvTranspose', Identity: 'Conv' } : {};
        assert.deepEqual(
          m.taps.map((t) => asOnnx[t.op] ?? t.op),
          onnx.taps.map((t) => t.op),
        );
        assert.deepEqual(m.tapsLeftOut, []);
      } finally {
        await m.dispose();
      }
    });
  }

  test('tap names are the Keras layer names (graph models: the node names)', async () => {
    const a = await loadModel(TFJS, OPTS);
    const b = await loadModel(H5, OPTS);
    const g = await loadModel(GRAPH, OPTS);
    try {
      assert.deepEqual(a.taps.slice(0, 3).map((t) => t.name), ['enc1_conv1', 'enc1_conv2', 'pool1']);
      assert.deepEqual(b.taps.slice(0, 3).map((t) => t.name), ['enc1_relu1', 'enc1_relu2', 'pool1']);
      assert.equal(a.taps.at(-1)!.name, 'head');
      assert.equal(a.outputName, 'head');
      assert.deepEqual(g.taps.slice(7, 9).map((t) => [t.name, t.op]), [
        ['StatefulPartitionedCall/example_unet/bottleneck_conv2/Relu', 'Relu'],
        ['StatefulPartitionedCall/example_unet/up2/BiasAdd', 'Add'],
      ]);
      assert.equal(g.outputName, 'Identity');
    } finally {
      await a.dispose();
      await b.dispose();
      await g.dispose();
    }
  });

  test('maxTaps and explicit taps pick the same layers as for ONNX', async () => {
    const o3 = await loadModel(ONNX, { ...OPTS, maxTaps: 5 });
    const t3 = await loadModel(TFJS, { ...OPTS, maxTaps: 5 });
    try {
      assert.deepEqual(t3.taps.map(structure), o3.taps.map(structure));
      assert.equal(t3.tapsLeftOut.length, o3.tapsLeftOut.length);
    } finally {
      await o3.dispose();
      await t3.dispose();
    }
    const ex = await loadModel(TFJS, { ...OPTS, taps: ['up1', 'enc1_conv2'] });
    try {
      assert.deepEqual(ex.taps.map((t) => t.name), ['enc1_conv2', 'up1'], 'forward order');
      assert.deepEqual(ex.taps.map((t) => t.stage), ['encoder', 'decoder']);
    } finally {
      await ex.dispose();
    }
    await assert.rejects(loadModel(TFJS, { ...OPTS, taps: ['nope'] }), isModelError(/analysis\.taps names "nope", which is not a layer of .*model\.json; its layers include "enc1_conv1"/));
  });

  test('run(): any batch size, a subset of taps, no tensors left behind, errors after dispose', async () => {
    const rt = await tfRuntime();
    const m = await loadModel(TFJS, OPTS);
    const b1 = { data: batch.data.slice(0, 64 * 64), dims: [1, 1, 64, 64] };
    const before = rt.tf.memory().numTensors;
    const r1 = await m.run(b1, { taps: ['pool2'] });
    assert.deepEqual([...r1.taps.keys()], ['pool2']);
    assert.deepEqual(r1.taps.get('pool2')!.dims, [1, 16, 16, 16]);
    assert.ok(maxAbsDiff(r1.output.data, ref.output.data.subarray(0, 2 * 64 * 64)) < TOL);
    const r5 = await m.run({ data: batch.data.slice(0, 5 * 64 * 64), dims: [5, 1, 64, 64] });
    assert.deepEqual(r5.output.dims, [5, 2, 64, 64]);
    assert.equal(rt.tf.memory().numTensors, before, 'run() disposes every tensor it makes');
    await assert.rejects(m.run({ data: new Float32Array(32 * 32), dims: [1, 1, 32, 32] }), /takes batches of N×1×64×64 images/);
    await assert.rejects(m.run(b1, { taps: ['nope'] }), /not one of the layer outputs/);
    await m.dispose();
    await assert.rejects(m.run(b1), /already disposed/);
  });
});

// --------------------------------------------------------------------------- analyze()

describe('analyze(): TF.js and Keras models give the ONNX run\'s metrics', () => {
  // The metrics of every tap and split are what is compared; the shift sweep and the maps run the
  // same forward pass again on other inputs, so they are left out here (the CLI test keeps one map).
  const FAST = { maxPoints: 512, mapsPerSplit: 0, shifts: { enabled: false } } as const;
  let ref: Awaited<ReturnType<typeof analyze>>;
  const runs = new Map<string, Awaited<ReturnType<typeof analyze>>>();
  before(async () => {
    ref = await analyze(ONNX, DATA, { overrides: FAST });
  });

  for (const [label, file] of [FORMATS[0], FORMATS[1], FORMATS[3]]) {
    test(`${label}: every metric, performance and PCA variance within ${TOL} of ONNX (maxPoints 512)`, async () => {
      const res = await analyze(file, DATA, { overrides: FAST });
      runs.set(file, res);
      assert.equal(res.taps.length, ref.taps.length);
      assert.deepEqual(res.taps.map(structure), ref.taps.map(structure));
      assert.deepEqual(
        res.splits.map((s) => [s.name, s.labeled, s.images]),
        ref.splits.map((s) => [s.name, s.labeled, s.images]),
      );
      let worst = 0;
      let where = '';
      const close = (a: unknown, b: unknown, at: string) => {
        if (a === null || b === null || a === undefined || b === undefined) {
          assert.equal(a ?? null, b ?? null, at);
          return;
        }
        if (Array.isArray(a)) {
          (a as unknown[]).forEach((x, i) => close(x, (b as unknown[])[i], `${at}[${i}]`));
          return;
        }
        const d = Math.abs((a as number) - (b as number));
        if (d > worst) [worst, where] = [d, at];
        assert.ok(d <= TOL, `${at}: ${a} vs ${b}`);
      };
      for (const [si, s] of ref.splits.entries()) {
        const mine = res.splits[si];
        for (const k of Object.keys(s.performance ?? {})) close(mine.performance![k], s.performance![k], `${s.name} performance.${k}`);
        ref.taps.forEach((t, i) => {
          const a = res.metrics[s.name][res.taps[i].name];
          const b = ref.metrics[s.name][t.name];
          for (const k of ['db', 'roughness', 'knnConfidence', 'featureShift', 'points'] as const) close(a[k], b[k], `${s.name} tap ${i} ${k}`);
        });
      }
      ref.taps.forEach((t, i) => close(res.pca[res.taps[i].name].explainedVariance, ref.pca[t.name].explainedVariance, `pca tap ${i}`));
      // for the record (the lead reads this in the test log)
      console.log(`# ${label}: largest difference from the ONNX run ${worst.toExponential(2)} at ${where}`);
    });
  }

  test('results say which format and backend ran', async () => {
    const res = runs.get(TFJS) ?? (await analyze(TFJS, DATA, { overrides: { maxPoints: 64 } }));
    assert.equal(res.model.format, 'tfjs');
    assert.match(res.tool.backend, /wasm/);
  });
});

// ------------------------------------------------------ taps of other layer types (TF.js)

describe('layer graph → taps: receptive fields, levels, stages against PyTorch-measured fixtures', () => {
  const expected = (name: string) => JSON.parse(readFileSync(path.join(ROOT, 'test', 'fixtures', 'models', `${name}.expected.json`), 'utf8'));
  const fields = (taps: TapInfo[]) => taps.map((t) => ({ stage: t.stage, level: t.level, shape: t.shape, size: t.receptiveField.size, jump: t.receptiveField.jump }));

  test('dilated / strided Conv2D, swish, AveragePooling2D, Conv2DTranspose k4 s2 + relu, k2 s2 (= dilated_strided.onnx)', async () => {
    const { tf } = await tfRuntime();
    const x = tf.input({ shape: [16, 16, 1], name: 'image' });
    let y = tf.layers.conv2d({ filters: 4, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'relu', name: 'a' }).apply(x) as import('@tensorflow/tfjs').SymbolicTensor;
    y = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', name: 'down' }).apply(y) as typeof y;
    y = tf.layers.conv2d({ filters: 8, kernelSize: 5, dilationRate: 3, padding: 'same', activation: 'swish', name: 'b' }).apply(y) as typeof y;
    y = tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'avg' }).apply(y) as typeof y;
    y = tf.layers.conv2dTranspose({ filters: 4, kernelSize: 4, strides: 2, padding: 'same', activation: 'relu', name: 'up' }).apply(y) as typeof y;
    y = tf.layers.conv2dTranspose({ filters: 4, kernelSize: 2, strides: 2, padding: 'valid', name: 'up2' }).apply(y) as typeof y;
    y = tf.layers.conv2d({ filters: 2, kernelSize: 1, name: 'head' }).apply(y) as typeof y;
    const dir = await tmpdir();
    const file = await saveTfjs(tf, tf.model({ inputs: x, outputs: y }), dir);
    const m = await loadModel(file, { ...OPTS, inputDims: [1, 16, 16] });
    try {
      assert.deepEqual(fields(m.taps), fields(expected('dilated_strided').taps));
      assert.deepEqual(m.taps.map((t) => t.op), ['Relu', 'Relu', 'Swish', 'AveragePool', 'Relu', 'ConvTranspose', 'Conv']);
    } finally {
      await m.dispose();
    }
  });

  test('Conv-BN-ReLU, residual Add, MaxPool, Conv-BN, bilinear UpSampling2D, Concatenate, LeakyReLU (= bn_bilinear.onnx)', async () => {
    const { tf } = await tfRuntime();
    type ST = import('@tensorflow/tfjs').SymbolicTensor;
    const L = tf.layers;
    const x = tf.input({ shape: [16, 16, 3], name: 'image' });
    const ap = (l: import('@tensorflow/tfjs').layers.Layer, t: ST | ST[]) => l.apply(t) as ST;
    const s = ap(L.activation({ activation: 'relu', name: 'stem_relu' }), ap(L.batchNormalization({ name: 'stem_bn' }), ap(L.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false, name: 'stem_conv' }), x)));
    const y1 = ap(L.reLU({ name: 'res_relu1' }), ap(L.batchNormalization({ name: 'res_bn1' }), ap(L.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false, name: 'res_conv1' }), s)));
    const y2 = ap(L.batchNormalization({ name: 'res_bn2' }), ap(L.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false, name: 'res_conv2' }), y1));
    const r = ap(L.activation({ activation: 'relu', name: 'res_relu2' }), ap(L.add({ name: 'res_add' }), [y2, s]));
    const m1 = ap(L.batchNormalization({ name: 'mid_bn' }), ap(L.conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false, name: 'mid_conv' }), ap(L.maxPooling2d({ poolSize: 2, name: 'pool' }), r)));
    const up = ap(L.upSampling2d({ size: [2, 2], interpolation: 'bilinear', name: 'up' }), m1);
    const d = ap(L.leakyReLU({ alpha: 0.1, name: 'dec_act' }), ap(L.layerNormalization({ name: 'dec_norm' }), ap(L.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'dec_conv' }), ap(L.concatenate({ name: 'cat' }), [up, r]))));
    const out = ap(L.conv2d({ filters: 1, kernelSize: 1, name: 'head' }), d);
    const dir = await tmpdir();
    const file = await saveTfjs(tf, tf.model({ inputs: x, outputs: out }), dir);
    const m = await loadModel(file, { ...OPTS, inputDims: [3, 16, 16] });
    try {
      assert.deepEqual(fields(m.taps), fields(expected('bn_bilinear').taps));
      assert.deepEqual(m.taps.map((t) => t.name), ['stem_relu', 'res_relu1', 'res_relu2', 'pool', 'mid_bn', 'up', 'dec_act', 'head']);
    } finally {
      await m.dispose();
    }
  });

  test('3D: Conv3D, MaxPooling3D, Conv3DTranspose (NDHWC in the model, N×C×D×H×W out of run())', async () => {
    const { tf } = await tfRuntime();
    type ST = import('@tensorflow/tfjs').SymbolicTensor;
    const L = tf.layers;
    const x = tf.input({ shape: [8, 8, 8, 1], name: 'vol' });
    const e1 = L.conv3d({ filters: 2, kernelSize: 3, padding: 'same', activation: 'relu', name: 'enc1' }).apply(x) as ST;
    const e2 = L.conv3d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'enc2' }).apply(L.maxPooling3d({ poolSize: 2, name: 'pool1' }).apply(e1) as ST) as ST;
    const up = L.conv3dTranspose({ filters: 4, kernelSize: 2, strides: 2, name: 'up1' }).apply(e2) as ST;
    const d1 = L.conv3d({ filters: 2, kernelSize: 3, padding: 'same', activation: 'relu', name: 'dec1' }).apply(L.concatenate().apply([up, e1]) as ST) as ST;
    const head = L.conv3d({ filters: 2, kernelSize: 1, name: 'head' }).apply(d1) as ST;
    const model = tf.model({ inputs: x, outputs: head });
    const dir = await tmpdir();
    const file = await saveTfjs(tf, model, dir);
    const m = await loadModel(file, { ...OPTS, inputDims: [1, 8, 8, 8] });
    try {
      // the ONNX fixture up-samples by nearest Resize; a k2 s2 transposed conv has the same field
      assert.deepEqual(fields(m.taps), fields(expected('unet3d').taps));
      const data = new Float32Array(2 * 512).map((_, i) => Math.cos(i * 0.13));
      const r = await m.run({ data, dims: [2, 1, 8, 8, 8] });
      assert.deepEqual(r.output.dims, [2, 2, 8, 8, 8]);
      // TF.js's own NDHWC prediction, transposed here by index arithmetic
      const own = tf.tidy(() => (model.predict(tf.transpose(tf.tensor(data, [2, 1, 8, 8, 8]), [0, 2, 3, 4, 1])) as import('@tensorflow/tfjs').Tensor).dataSync() as Float32Array);
      let d = 0;
      for (let b = 0; b < 2; b++)
        for (let c = 0; c < 2; c++)
          for (let v = 0; v < 512; v++) d = Math.max(d, Math.abs(r.output.data[(b * 2 + c) * 512 + v] - own[(b * 512 + v) * 2 + c]));
      assert.ok(d < 1e-6, `channels-first output differs from TF.js's own by ${d}`);
      assert.deepEqual(r.taps.get('pool1')!.dims, [2, 2, 4, 4, 4]);
    } finally {
      await m.dispose();
      model.dispose();
    }
  });

  test('nested models (an encoder Model with two outputs, Sequential up-sampling blocks) are flattened into taps', async () => {
    const { tf } = await tfRuntime();
    type ST = import('@tensorflow/tfjs').SymbolicTensor;
    const L = tf.layers;
    // the encoder: its own model, as `down_stack` in TensorFlow's segmentation tutorial
    const ein = tf.input({ shape: [16, 16, 1], name: 'ein' });
    const s1 = L.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1' }).apply(ein) as ST;
    const bottom = L.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c2' }).apply(L.maxPooling2d({ poolSize: 2, name: 'p1' }).apply(s1) as ST) as ST;
    const encoder = tf.model({ inputs: ein, outputs: [s1, bottom], name: 'enc' });
    // an up-sampling block: a Sequential, as pix2pix.upsample
    const upBlock = tf.sequential({
      name: 'up_block',
      layers: [L.conv2dTranspose({ inputShape: [8, 8, 8], filters: 4, kernelSize: 2, strides: 2, name: 'tconv' }), L.batchNormalization({ name: 'bn' }), L.reLU({ name: 'relu' })],
    });
    const x = tf.input({ shape: [16, 16, 1], name: 'image' });
    const [e1, e2] = encoder.apply(x) as ST[];
    const cat = L.concatenate({ name: 'cat' }).apply([upBlock.apply(e2) as ST, e1]) as ST;
    const out = L.conv2d({ filters: 2, kernelSize: 1, name: 'head' }).apply(cat) as ST;
    const model = tf.model({ inputs: x, outputs: out });
    const dir = await tmpdir();
    const file = await saveTfjs(tf, model, dir);
    const m = await loadModel(file, { ...OPTS, inputDims: [1, 16, 16] });
    try {
      assert.deepEqual(
        m.taps.map((t) => [t.name, t.op, t.stage, t.level, t.receptiveField.size, t.receptiveField.jump]),
        [
          ['enc/c1', 'Relu', 'encoder', 0, 3, 1],
          ['enc/p1', 'MaxPool', 'bottleneck', 1, 4, 2],
          ['enc/c2', 'Relu', 'bottleneck', 1, 8, 2],
          ['up_block/relu', 'Relu', 'decoder', 0, 8, 1],
          ['head', 'Conv', 'decoder', 0, 8, 1],
        ],
      );
      const data = new Float32Array(2 * 256).map((_, i) => Math.sin(i * 0.21));
      const r = await m.run({ data, dims: [2, 1, 16, 16] });
      const own = tf.tidy(() => tf.transpose(model.predict(tf.transpose(tf.tensor(data, [2, 1, 16, 16]), [0, 2, 3, 1])) as import('@tensorflow/tfjs').Tensor, [0, 3, 1, 2]).dataSync() as Float32Array);
      assert.ok(maxAbsDiff(r.output.data, own) < 1e-6, 'the flattened model computes what the nested one does');
    } finally {
      await m.dispose();
    }
  });

  test('a Sequential model loads like a functional one', async () => {
    const { tf } = await tfRuntime();
    const seq = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 2, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1' }),
        tf.layers.maxPooling2d({ poolSize: 2, name: 'p1' }),
        tf.layers.upSampling2d({ size: [2, 2], name: 'u1' }),
        tf.layers.conv2d({ filters: 2, kernelSize: 1, name: 'head' }),
      ],
    });
    const dir = await tmpdir();
    const file = await saveTfjs(tf, seq, dir);
    const m = await loadModel(file, { ...OPTS, inputDims: [1, 8, 8] });
    try {
      assert.deepEqual(m.taps.map((t) => [t.name, t.op, t.stage, t.level, t.receptiveField.size, t.receptiveField.jump]), [
        ['c1', 'Relu', 'encoder', 0, 3, 1],
        ['p1', 'MaxPool', 'bottleneck', 1, 4, 2],
        ['u1', 'Resize', 'decoder', 0, 4, 1],
        ['head', 'Conv', 'decoder', 0, 4, 1],
      ]);
    } finally {
      await m.dispose();
    }
  });
});

// -------------------------------------------------------------------- Keras configurations

describe('Keras configurations', () => {
  test('a Keras 3 config.json becomes the Keras 2 form TF.js reads', async () => {
    const { unzipSync } = await import('fflate');
    const files = unzipSync(new Uint8Array(readFileSync(KERAS)));
    const raw = JSON.parse(new TextDecoder().decode(files['config.json']));
    assert.equal(raw.config.layers[1].inbound_nodes[0].args[0].class_name, '__keras_tensor__', 'the fixture is Keras 3 style');
    const cfg = normalizeModelTopology(raw, 'x.keras');
    const layers = cfg.config.layers as { class_name: string; config: Record<string, unknown>; inbound_nodes: unknown }[];
    assert.deepEqual(layers[0].config.batch_input_shape, [null, 64, 64, 1]);
    assert.equal(layers[0].config.batch_shape, undefined);
    assert.deepEqual(layers[1].inbound_nodes, [[['image', 0, 0, {}]]]);
    assert.equal(layers[1].config.dtype, 'float32');
    assert.deepEqual(layers[1].config.kernel_initializer, { class_name: 'Zeros', config: {} });
    const cat = layers.find((l) => l.class_name === 'Concatenate')!;
    assert.deepEqual(cat.inbound_nodes, [[['up2', 0, 0, {}], ['enc2_relu2', 0, 0, {}]]]);
    assert.deepEqual(cfg.config.input_layers, [['image', 0, 0]]);
    assert.ok(!('module' in (cfg as object)) && !('registered_name' in layers[1]));
  });

  test('layers TF.js cannot run are named with their class: Lambda, custom, grouped conv, ReLU with a slope', async () => {
    const { tf } = await tfRuntime();
    const known = (c: string) => c in (tf.serialization.SerializationMap.getMap().classNameMap as object);
    const model = (layer: object) =>
      normalizeModelTopology({ class_name: 'Functional', config: { name: 'm', layers: [{ class_name: 'InputLayer', name: 'in', config: { name: 'in', batch_input_shape: [null, 8, 8, 1] } }, layer] } }, 'm.h5');
    assert.throws(
      () => checkLayersSupported(model({ class_name: 'Lambda', name: 'my_lambda', config: { name: 'my_lambda', function: 'xyz' } }), known, 'm.h5'),
      isModelError(/m\.h5: layer "my_lambda" \(class Lambda\) is not supported: a Lambda layer holds Python code/),
    );
    assert.throws(
      () => checkLayersSupported(model({ class_name: 'MyAttention', name: 'att', config: { name: 'att' } }), known, 'm.h5'),
      isModelError(/layer "att" \(class MyAttention\) is not supported: TensorFlow\.js has no MyAttention layer/),
    );
    assert.throws(
      () => checkLayersSupported(model({ class_name: 'Conv2D', name: 'gc', config: { name: 'gc', filters: 4, kernel_size: 3, groups: 2 } }), known, 'm.h5'),
      isModelError(/layer "gc" \(class Conv2D\) is a grouped convolution \(groups=2\)/),
    );
    assert.throws(
      () => checkLayersSupported(model({ class_name: 'ReLU', name: 'lr', config: { name: 'lr', negative_slope: 0.2 } }), known, 'm.h5'),
      isModelError(/layer "lr" \(class ReLU\) has negative_slope=0\.2/),
    );
    checkLayersSupported(model({ class_name: 'Conv2D', name: 'ok', config: { name: 'ok', filters: 4, kernel_size: 3, groups: 1 } }), known, 'm.h5');
  });

  test('unsupported_layer.h5: loading fails naming the class and the layer', async () => {
    await assert.rejects(
      loadModel(path.join(FIX, 'unsupported_layer.h5'), OPTS),
      isModelError(/unsupported_layer\.h5: layer "bottleneck_relu2" \(class GroupNormalization\) is not supported.*Export the model to ONNX/),
    );
  });
});

// ------------------------------------------------------------------------------- failures

describe('TF.js / Keras model files that cannot be used', () => {
  test('file names pick the loader; other JSON is not a model', async () => {
    assert.equal(modelFormatOf('a/model.json'), 'tfjs');
    assert.equal(modelFormatOf('a/M.H5'), 'keras');
    assert.equal(modelFormatOf('a/m.keras'), 'keras');
    assert.equal(modelFormatOf('a/m.onnx'), 'onnx');
    assert.equal(modelFormatOf('a/m.pt'), 'pytorch');
    assert.equal(modelFormatOf('a/m.safetensors'), undefined);
    await assert.rejects(loadModel(DATA, OPTS), isModelError(/is a JSON file but not a TF\.js model/));
    await assert.rejects(loadModel('/nope/m.pt', OPTS), isModelError(/is a PyTorch file: it is exported to ONNX with your Python first/));
    await assert.rejects(loadModel('/nope/m.safetensors', OPTS), isModelError(/unsupported model format .*\.onnx.*model\.json.*\.h5/));
  });

  test('missing, short and corrupt TF.js files', async () => {
    const dir = await tmpdir();
    const json = path.join(dir, 'model.json');
    await fs.copyFile(TFJS, json);
    await assert.rejects(loadModel(json, OPTS), isModelError(/a weight file of model\.json not found: .*weights\.bin/));
    const bin = readFileSync(path.join(FIX, 'example', 'weights.bin'));
    await fs.writeFile(path.join(dir, 'weights.bin'), bin.subarray(0, bin.length - 8));
    await assert.rejects(loadModel(json, OPTS), isModelError(/the weight files hold 117312 bytes, but the manifest describes 117320/));
    await fs.writeFile(json, '{"modelTopology": ');
    await assert.rejects(loadModel(json, OPTS), isModelError(/is not a valid TF\.js model: not JSON/));
    await fs.writeFile(json, JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }));
    await assert.rejects(loadModel(json, OPTS), isModelError(/model\.json has 0 inputs \(\); UNet Lens feeds one image input/));
    await assert.rejects(loadModel(path.join(dir, 'none', 'model.json'), OPTS), isModelError(/the TF\.js model file not found/));
  });

  test('a model with two inputs, or images of the wrong size', async () => {
    const { tf } = await tfRuntime();
    const a = tf.input({ shape: [8, 8, 1], name: 'a' });
    const b = tf.input({ shape: [8, 8, 1], name: 'b' });
    const y = tf.layers.conv2d({ filters: 1, kernelSize: 1 }).apply(tf.layers.concatenate().apply([a, b])) as import('@tensorflow/tfjs').SymbolicTensor;
    const dir = await tmpdir();
    const file = await saveTfjs(tf, tf.model({ inputs: [a, b], outputs: y }), dir);
    await assert.rejects(loadModel(file, { ...OPTS, inputDims: [1, 8, 8] }), isModelError(/has 2 inputs \("a", "b"\); UNet Lens feeds one image input/));
    await assert.rejects(loadModel(TFJS, { ...OPTS, inputDims: [3, 64, 64] }), isModelError(/takes images of shape \[1, 64, 64\].*\(1 channel expected, 3 given\)/));
  });

  test('Keras files: weights only, not HDF5, not a zip, missing weights', async () => {
    const lib = await h5();
    const FS = (lib as unknown as { FS: { readFile(p: string): Uint8Array; unlink(p: string): void } }).FS;
    const dir = await tmpdir();
    const writeH5 = async (name: string, build: (f: import('h5wasm').File) => void) => {
      const f = new lib.File(`/${name}`, 'w');
      build(f);
      f.close();
      await fs.writeFile(path.join(dir, name), FS.readFile(`/${name}`));
      FS.unlink(`/${name}`);
      return path.join(dir, name);
    };
    const weightsOnly = await writeH5('w.h5', (f) => f.create_attribute('layer_names', ['conv2d']));
    await assert.rejects(loadModel(weightsOnly, OPTS), isModelError(/holds weights only .*model\.save_weights\(\)/));
    const config = await withConfig();
    const noWeights = await writeH5('nw.h5', (f) => {
      f.create_attribute('model_config', config);
      f.create_group('model_weights');
    });
    await assert.rejects(loadModel(noWeights, OPTS), isModelError(/no weights for layer "enc1_conv1"/));
    const text = path.join(dir, 'x.h5');
    await fs.writeFile(text, 'not hdf5');
    await assert.rejects(loadModel(text, OPTS), isModelError(/x\.h5 is not a readable HDF5 file/));
    const notZip = path.join(dir, 'x.keras');
    await fs.writeFile(notZip, 'not a zip');
    await assert.rejects(loadModel(notZip, OPTS), isModelError(/is not a \.keras file: not a zip archive/));
  });

  async function withConfig(): Promise<string> {
    // example.h5's model_config
    const lib = await h5();
    const FS = (lib as unknown as { FS: { writeFile(p: string, d: Uint8Array): void; unlink(p: string): void } }).FS;
    FS.writeFile('/cfg.h5', new Uint8Array(readFileSync(H5)));
    const f = new lib.File('/cfg.h5', 'r');
    const v = f.attrs.model_config.value as string;
    f.close();
    FS.unlink('/cfg.h5');
    return v;
  }
});
