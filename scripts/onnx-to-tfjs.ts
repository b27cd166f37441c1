/**
 * The bundled example's UNet (examples/synthetic/model.onnx) as TensorFlow.js and Keras
 * files, for the parity tests of the TF.js / Keras loaders (test/integration/tfjs.test.ts). There is
 * no TensorFlow on this machine, so the files are written here from the ONNX weights, in the
 * formats TensorFlow's own tools write:
 *
 *   test/fixtures/tfjs/example/model.json + weights.bin   TF.js layers model, as
 *       tensorflowjs_converter writes it (Keras 2 topology, one weight group); Conv2D layers
 *       with the ReLU built in (`activation: "relu"`)
 *   test/fixtures/tfjs/example.h5       Keras 2 `model.save("x.h5")`: attributes model_config,
 *       keras_version, backend; model_weights/<layer>/<layer>/kernel:0 …; linear Conv2D layers,
 *       each followed by an Activation("relu") layer
 *   test/fixtures/tfjs/example.keras    Keras 3 `model.save("x.keras")`: a zip of config.json
 *       (Keras 3 serialization: {args, kwargs} inbound nodes, DTypePolicy, batch_shape) and
 *       model.weights.h5 (layers/<layer>/vars/0, 1); linear Conv2D + ReLU layers
 *   test/fixtures/tfjs/example_graph/model.json + weights.bin   TF.js graph model, as
 *       tensorflowjs_converter --input_format tf_saved_model writes it: a GraphDef in JSON with
 *       the converter's fused ops (_FusedConv2D with fused_ops [BiasAdd, Relu]), MaxPool,
 *       Conv2DBackpropInput + BiasAdd with a dynamic output shape (Shape → StridedSlice →
 *       Pack), ConcatV2, an Identity output, every weight a Const node in the manifest
 *   test/fixtures/tfjs/unsupported_layer.h5   the h5 model with the bottleneck's second
 *       activation replaced by a GroupNormalization layer (a Keras 3 layer TF.js lacks);
 *       model_config only, no weights: loading must fail naming the class and the layer
 *
 * Conversion: NCHW → NHWC; Conv weights [O, I, kh, kw] → Keras [kh, kw, I, O];
 * ConvTranspose weights [I, O, kh, kw] → Keras Conv2DTranspose [kh, kw, O, I] (no flip: both
 * scatter input (i, x) to output s·x + k); ONNX pads → padding "same" (symmetric (k−1)/2 at
 * stride 1) or "valid" (no pads), anything else is refused; Concat on axis 1 → Concatenate on
 * the channel axis (−1), inputs in the same order.
 *
 *   node --import tsx scripts/onnx-to-tfjs.ts [model.onnx] [outDir]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseOnnx, type OnnxNode } from '../src/engine/model/onnxGraph';
import { readOnnxInitializers } from '../src/engine/model/onnxInitializers';
import { h5 } from '../src/engine/model/kerasModel';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

interface Weight {
  /** Keras variable name within its layer: kernel, bias. */
  name: string;
  shape: number[];
  data: Float32Array;
}

interface LayerSpec {
  name: string;
  className: string;
  config: Obj;
  /** Producing layers of the inputs. */
  inputs: string[];
  weights: Weight[];
}

type Style = 'fused' | 'activation' | 'relu-layer';

const root = path.resolve(__dirname, '..');
const onnxPath = path.resolve(process.argv[2] ?? path.join(root, 'examples', 'synthetic', 'model.onnx'));
const outDir = path.resolve(process.argv[3] ?? path.join(root, 'test', 'fixtures', 'tfjs'));

const initializer = () => ({ class_name: 'GlorotUniform', config: { seed: null } });
const zeros = () => ({ class_name: 'Zeros', config: {} });

function layerName(node: OnnxNode): string {
  // "/enc1/conv1/Conv" → "enc1_conv1"
  const parts = node.name.replace(/^\//, '').split('/');
  if (parts.length > 1) parts.pop();
  return parts.join('_') || node.outputs[0];
}

/** Conv [O, I, kh, kw] → [kh, kw, I, O]. */
function convKernel(w: Float32Array, [O, I, kh, kw]: number[]): Weight {
  const out = new Float32Array(w.length);
  for (let o = 0; o < O; o++)
    for (let i = 0; i < I; i++)
      for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) out[((y * kw + x) * I + i) * O + o] = w[((o * I + i) * kh + y) * kw + x];
  return { name: 'kernel', shape: [kh, kw, I, O], data: out };
}

/** ConvTranspose [I, O, kh, kw] → [kh, kw, O, I]. */
function convTransposeKernel(w: Float32Array, [I, O, kh, kw]: number[]): Weight {
  const out = new Float32Array(w.length);
  for (let i = 0; i < I; i++)
    for (let o = 0; o < O; o++)
      for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) out[((y * kw + x) * O + o) * I + i] = w[((i * O + o) * kh + y) * kw + x];
  return { name: 'kernel', shape: [kh, kw, O, I], data: out };
}

function padding(node: OnnxNode, k: number[], strides: number[]): 'same' | 'valid' {
  const pads = node.attrs.pads?.ints ?? new Array(2 * k.length).fill(0);
  if (pads.every((p) => p === 0)) return 'valid';
  const same = strides.every((s) => s === 1) && k.every((kk, a) => kk % 2 === 1 && pads[a] === (kk - 1) / 2 && pads[a + k.length] === (kk - 1) / 2);
  if (same) return 'same';
  throw new Error(`${node.name}: pads [${pads.join(', ')}] have no Keras padding equivalent`);
}

function convert(style: Style): { layers: LayerSpec[]; inputName: string; outputName: string; H: number; W: number; C: number } {
  const bytes = new Uint8Array(readFileSync(onnxPath));
  const g = parseOnnx(bytes, onnxPath);
  const inits = readOnnxInitializers(bytes, onnxPath);
  const input = g.inputs[0];
  const [, C, H, W] = input.dims as number[];
  const layers: LayerSpec[] = [];
  const producer = new Map<string, string>(); // ONNX value → Keras layer
  const consumers = new Map<string, OnnxNode[]>();
  for (const n of g.nodes) for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const inputLayer = input.name;
  layers.push({
    name: inputLayer,
    className: 'InputLayer',
    config: { batch_input_shape: [null, H, W, C], dtype: 'float32', sparse: false, ragged: false, name: inputLayer },
    inputs: [],
    weights: [],
  });
  producer.set(input.name, inputLayer);
  const fused = new Set<OnnxNode>();

  for (const n of g.nodes) {
    if (fused.has(n)) continue;
    const name = layerName(n);
    const from = n.inputs.filter((i) => producer.has(i)).map((i) => producer.get(i)!);
    const base = { name, trainable: true, dtype: 'float32' } as Obj;
    if (n.opType === 'Conv') {
      const w = inits.get(n.inputs[1])!;
      const b = n.inputs[2] ? inits.get(n.inputs[2]) : undefined;
      const k = w.dims.slice(2);
      const strides = n.attrs.strides?.ints ?? [1, 1];
      const dil = n.attrs.dilations?.ints ?? [1, 1];
      // Conv → Relu with nothing else reading the Conv: one Conv2D(activation="relu") when fused
      const next = consumers.get(n.outputs[0]) ?? [];
      const relu = next.length === 1 && next[0].opType === 'Relu' ? next[0] : undefined;
      const fuse = style === 'fused' && relu !== undefined;
      layers.push({
        name,
        className: 'Conv2D',
        config: {
          ...base,
          filters: w.dims[0],
          kernel_size: k,
          strides,
          padding: padding(n, k, strides),
          data_format: 'channels_last',
          dilation_rate: dil,
          groups: 1,
          activation: fuse ? 'relu' : 'linear',
          use_bias: !!b,
          kernel_initializer: initializer(),
          bias_initializer: zeros(),
          kernel_regularizer: null,
          bias_regularizer: null,
          activity_regularizer: null,
          kernel_constraint: null,
          bias_constraint: null,
        },
        inputs: from,
        weights: [convKernel(w.data, w.dims), ...(b ? [{ name: 'bias', shape: b.dims, data: b.data }] : [])],
      });
      producer.set(n.outputs[0], name);
      if (fuse) {
        fused.add(relu!);
        producer.set(relu!.outputs[0], name);
      }
    } else if (n.opType === 'Relu') {
      if (style === 'relu-layer') {
        layers.push({ name, className: 'ReLU', config: { ...base, max_value: null, negative_slope: 0.0, threshold: 0.0 }, inputs: from, weights: [] });
      } else {
        layers.push({ name, className: 'Activation', config: { ...base, activation: 'relu' }, inputs: from, weights: [] });
      }
      producer.set(n.outputs[0], name);
    } else if (n.opType === 'MaxPool') {
      const k = n.attrs.kernel_shape!.ints!;
      const strides = n.attrs.strides?.ints ?? k;
      layers.push({
        name,
        className: 'MaxPooling2D',
        config: { ...base, pool_size: k, padding: padding(n, k, strides), strides, data_format: 'channels_last' },
        inputs: from,
        weights: [],
      });
      producer.set(n.outputs[0], name);
    } else if (n.opType === 'ConvTranspose') {
      const w = inits.get(n.inputs[1])!;
      const b = n.inputs[2] ? inits.get(n.inputs[2]) : undefined;
      const k = w.dims.slice(2);
      const strides = n.attrs.strides?.ints ?? [1, 1];
      if ((n.attrs.pads?.ints ?? []).some((p) => p !== 0) || (n.attrs.output_padding?.ints ?? []).some((p) => p !== 0)) {
        throw new Error(`${n.name}: padded ConvTranspose is not converted`);
      }
      layers.push({
        name,
        className: 'Conv2DTranspose',
        config: {
          ...base,
          filters: w.dims[1],
          kernel_size: k,
          strides,
          padding: 'valid',
          data_format: 'channels_last',
          dilation_rate: n.attrs.dilations?.ints ?? [1, 1],
          groups: 1,
          activation: 'linear',
          use_bias: !!b,
          kernel_initializer: initializer(),
          bias_initializer: zeros(),
          kernel_regularizer: null,
          bias_regularizer: null,
          activity_regularizer: null,
          kernel_constraint: null,
          bias_constraint: null,
          output_padding: null,
        },
        inputs: from,
        weights: [convTransposeKernel(w.data, w.dims), ...(b ? [{ name: 'bias', shape: b.dims, data: b.data }] : [])],
      });
      producer.set(n.outputs[0], name);
    } else if (n.opType === 'Concat') {
      if (n.attrs.axis?.i !== 1) throw new Error(`${n.name}: Concat on axis ${n.attrs.axis?.i} (only the channel axis is converted)`);
      layers.push({ name, className: 'Concatenate', config: { ...base, axis: -1 }, inputs: from, weights: [] });
      producer.set(n.outputs[0], name);
    } else {
      throw new Error(`${n.name}: ${n.opType} is not converted`);
    }
  }
  const outputName = producer.get(g.outputs[0].name)!;
  return { layers, inputName: inputLayer, outputName, H, W, C };
}

/** Keras 2 functional model JSON (as `model.to_json()` writes it). */
function keras2Config(c: ReturnType<typeof convert>): Obj {
  return {
    class_name: 'Functional',
    config: {
      name: 'example_unet',
      trainable: true,
      layers: c.layers.map((l) => ({
        class_name: l.className,
        config: l.config,
        name: l.name,
        inbound_nodes: l.inputs.length ? [l.inputs.map((i) => [i, 0, 0, {}])] : [],
      })),
      input_layers: [[c.inputName, 0, 0]],
      output_layers: [[c.outputName, 0, 0]],
    },
  };
}

/** Keras 3 functional model JSON (as `model.save("x.keras")` writes config.json). */
function keras3Config(c: ReturnType<typeof convert>): Obj {
  const policy = () => ({ module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null });
  const shapes = new Map<string, (number | null)[]>();
  const tensor = (layer: string) => ({
    class_name: '__keras_tensor__',
    config: { shape: shapes.get(layer) ?? null, dtype: 'float32', keras_history: [layer, 0, 0] },
  });
  // static shapes for the keras_history entries (NHWC)
  let h = c.H;
  const chans = new Map<string, number>();
  const size = new Map<string, number>();
  for (const l of c.layers) {
    if (l.className === 'InputLayer') {
      chans.set(l.name, c.C);
      size.set(l.name, c.H);
    } else {
      const s = size.get(l.inputs[0])!;
      let ch = chans.get(l.inputs[0])!;
      h = s;
      if (l.className === 'MaxPooling2D') h = s / 2;
      if (l.className === 'Conv2DTranspose') h = s * 2;
      if (l.className === 'Conv2D' || l.className === 'Conv2DTranspose') ch = l.config.filters as number;
      if (l.className === 'Concatenate') ch = l.inputs.reduce((a, i) => a + chans.get(i)!, 0);
      chans.set(l.name, ch);
      size.set(l.name, h);
    }
    shapes.set(l.name, [null, size.get(l.name)!, size.get(l.name)!, chans.get(l.name)!]);
  }
  const fix = (v: Json): Json => {
    if (Array.isArray(v)) return v.map(fix);
    if (v && typeof v === 'object') {
      if ('class_name' in v && 'config' in v) return { module: 'keras.initializers', ...(v as Obj), registered_name: null };
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fix(x)]));
    }
    return v;
  };
  return {
    module: 'keras.src.models.functional',
    class_name: 'Functional',
    config: {
      name: 'example_unet',
      trainable: true,
      layers: c.layers.map((l) => {
        let config: Obj;
        if (l.className === 'InputLayer') {
          config = { batch_shape: [null, c.H, c.W, c.C], dtype: 'float32', sparse: false, name: l.name };
        } else {
          config = Object.fromEntries(
            Object.entries(l.config).map(([k, v]) => [k, k === 'dtype' ? policy() : fix(v)]),
          );
        }
        const args = l.className === 'Concatenate' ? [l.inputs.map(tensor)] : l.inputs.map(tensor);
        return {
          module: 'keras.layers',
          class_name: l.className,
          config,
          registered_name: null,
          ...(l.className === 'InputLayer' ? {} : { build_config: { input_shape: l.className === 'Concatenate' ? l.inputs.map((i) => shapes.get(i)!) : shapes.get(l.inputs[0])! } }),
          name: l.name,
          inbound_nodes: l.inputs.length ? [{ args, kwargs: {} }] : [],
        };
      }),
      input_layers: [c.inputName, 0, 0],
      output_layers: [c.outputName, 0, 0],
    },
    registered_name: 'Functional',
    build_config: { input_shape: null },
    compile_config: null,
  };
}

/** A TF.js graph model (GraphDef JSON + manifest), as tensorflowjs_converter writes a SavedModel. */
function graphModel(c: ReturnType<typeof convert>): { json: Obj; bin: Uint8Array } {
  const enc = (t: string) => Buffer.from(t, 'utf8').toString('base64');
  const T = { type: 'DT_FLOAT' };
  const shapeAttr = (d: number[]) => ({ dim: d.map((x) => ({ size: String(x) })) });
  const nodes: Obj[] = [];
  const specs: Obj[] = [];
  const blobs: Uint8Array[] = [];
  const constF = (name: string, w: Weight) => {
    nodes.push({ name, op: 'Const', attr: { value: { tensor: { dtype: 'DT_FLOAT', tensorShape: shapeAttr(w.shape) } }, dtype: T } });
    specs.push({ name, shape: w.shape, dtype: 'float32' });
    blobs.push(new Uint8Array(w.data.buffer.slice(w.data.byteOffset, w.data.byteOffset + w.data.byteLength)));
    return name;
  };
  const constI = (name: string, values: number[], shape: number[]) => {
    nodes.push({ name, op: 'Const', attr: { value: { tensor: { dtype: 'DT_INT32', tensorShape: shapeAttr(shape) } }, dtype: { type: 'DT_INT32' } } });
    specs.push({ name, shape, dtype: 'int32' });
    blobs.push(new Uint8Array(Int32Array.from(values).buffer));
    return name;
  };
  const nhwc = { s: enc('NHWC') };
  const list = (v: number[]) => ({ list: { i: v.map(String) } });
  const value = new Map<string, string>(); // Keras layer → node producing its output
  const shapes = new Map<string, number[]>(); // Keras layer → [H, W, C]
  const scope = 'StatefulPartitionedCall/example_unet';
  for (const l of c.layers) {
    const cfg = l.config as Obj;
    const at = (i: number) => value.get(l.inputs[i])!;
    const inShape = l.inputs.length ? shapes.get(l.inputs[0])! : [];
    if (l.className === 'InputLayer') {
      nodes.push({ name: l.name, op: 'Placeholder', attr: { dtype: T, shape: { shape: shapeAttr([-1, c.H, c.W, c.C]) } } });
      value.set(l.name, l.name);
      shapes.set(l.name, [c.H, c.W, c.C]);
    } else if (l.className === 'Conv2D') {
      const k = constF(`${scope}/${l.name}/Conv2D/ReadVariableOp`, l.weights[0]);
      const b = constF(`${scope}/${l.name}/BiasAdd/ReadVariableOp`, l.weights[1]);
      const relu = cfg.activation === 'relu';
      const name = `${scope}/${l.name}/${relu ? 'Relu' : 'BiasAdd'}`;
      nodes.push({
        name,
        op: '_FusedConv2D',
        input: [at(0), k, b],
        device: '/device:CPU:0',
        attr: {
          T,
          strides: list([1, ...(cfg.strides as number[]), 1]),
          data_format: nhwc,
          dilations: list([1, ...(cfg.dilation_rate as number[]), 1]),
          padding: { s: enc(String(cfg.padding).toUpperCase()) },
          explicit_paddings: { list: {} },
          use_cudnn_on_gpu: { b: true },
          num_args: { i: '1' },
          fused_ops: { list: { s: (relu ? ['BiasAdd', 'Relu'] : ['BiasAdd']).map(enc) } },
          epsilon: { f: 0 },
          leakyrelu_alpha: { f: 0.2 },
        },
      });
      value.set(l.name, name);
      shapes.set(l.name, [inShape[0], inShape[1], cfg.filters as number]);
    } else if (l.className === 'MaxPooling2D') {
      const name = `${scope}/${l.name}/MaxPool`;
      const p = cfg.pool_size as number[];
      nodes.push({ name, op: 'MaxPool', input: [at(0)], attr: { T, ksize: list([1, ...p, 1]), strides: list([1, ...(cfg.strides as number[]), 1]), padding: { s: enc('VALID') }, data_format: nhwc, explicit_paddings: { list: {} } } });
      value.set(l.name, name);
      shapes.set(l.name, [inShape[0] / p[0], inShape[1] / p[1], inShape[2]]);
    } else if (l.className === 'Conv2DTranspose') {
      const s = cfg.strides as number[];
      const outShape = [inShape[0] * s[0], inShape[1] * s[1], cfg.filters as number];
      const base = `${scope}/${l.name}`;
      nodes.push({ name: `${base}/Shape`, op: 'Shape', input: [at(0)], attr: { T, out_type: { type: 'DT_INT32' } } });
      const b0 = constI(`${base}/strided_slice/stack`, [0], [1]);
      const b1 = constI(`${base}/strided_slice/stack_1`, [1], [1]);
      const b2 = constI(`${base}/strided_slice/stack_2`, [1], [1]);
      const I32 = { type: 'DT_INT32' };
      nodes.push({
        name: `${base}/strided_slice`,
        op: 'StridedSlice',
        input: [`${base}/Shape`, b0, b1, b2],
        attr: { T: I32, Index: I32, begin_mask: { i: '0' }, end_mask: { i: '0' }, ellipsis_mask: { i: '0' }, new_axis_mask: { i: '0' }, shrink_axis_mask: { i: '1' } },
      });
      const dims = outShape.map((d, i) => constI(`${base}/stack/${i + 1}`, [d], []));
      nodes.push({ name: `${base}/stack`, op: 'Pack', input: [`${base}/strided_slice`, ...dims], attr: { T: I32, N: { i: '4' }, axis: { i: '0' } } });
      const k = constF(`${base}/conv2d_transpose/ReadVariableOp`, l.weights[0]);
      nodes.push({
        name: `${base}/conv2d_transpose`,
        op: 'Conv2DBackpropInput',
        input: [`${base}/stack`, k, at(0)],
        attr: { T, strides: list([1, ...s, 1]), padding: { s: enc('VALID') }, data_format: nhwc, dilations: list([1, 1, 1, 1]), explicit_paddings: { list: {} }, use_cudnn_on_gpu: { b: true } },
      });
      const b = constF(`${base}/BiasAdd/ReadVariableOp`, l.weights[1]);
      nodes.push({ name: `${base}/BiasAdd`, op: 'BiasAdd', input: [`${base}/conv2d_transpose`, b], attr: { T, data_format: nhwc } });
      value.set(l.name, `${base}/BiasAdd`);
      shapes.set(l.name, outShape);
    } else if (l.className === 'Concatenate') {
      const axis = constI(`${scope}/${l.name}/concat/axis`, [3], []);
      const name = `${scope}/${l.name}/concat`;
      nodes.push({ name, op: 'ConcatV2', input: [...l.inputs.map((_, i) => at(i)), axis], attr: { T, N: { i: String(l.inputs.length) }, Tidx: { type: 'DT_INT32' } } });
      value.set(l.name, name);
      shapes.set(l.name, [inShape[0], inShape[1], l.inputs.reduce((a, i) => a + shapes.get(i)![2], 0)]);
    } else {
      throw new Error(`graph model: ${l.className} is not converted`);
    }
  }
  const out = shapes.get(c.outputName)!;
  nodes.push({ name: 'Identity', op: 'Identity', input: [value.get(c.outputName)!], attr: { T } });
  const sig = (name: string, d: number[]) => ({ name, dtype: 'DT_FLOAT', tensorShape: shapeAttr(d) });
  const json = {
    format: 'graph-model',
    generatedBy: '2.15.0',
    convertedBy: 'unet-lens scripts/onnx-to-tfjs.ts (from examples/synthetic/model.onnx)',
    signature: { inputs: { 'image:0': sig('image:0', [-1, c.H, c.W, c.C]) }, outputs: { 'Identity:0': sig('Identity:0', [-1, ...out]) } },
    modelTopology: { node: nodes, library: {}, versions: { producer: 1645 } },
    weightsManifest: [{ paths: ['weights.bin'], weights: specs }],
  };
  const n = blobs.reduce((a, b) => a + b.length, 0);
  const bin = new Uint8Array(n);
  let o = 0;
  for (const b of blobs) {
    bin.set(b, o);
    o += b.length;
  }
  return { json, bin };
}

function concatF32(parts: Float32Array[]): Uint8Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const all = new Float32Array(n);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return new Uint8Array(all.buffer);
}

async function writeH5(file: string, build: (f: import('h5wasm').File) => void): Promise<void> {
  const lib = await h5();
  const fs = (lib as unknown as { FS: { readFile(p: string): Uint8Array; unlink(p: string): void } }).FS;
  const tmp = `/write-${process.pid}-${path.basename(file)}`;
  const f = new lib.File(tmp, 'w');
  build(f);
  f.close();
  writeFileSync(file, fs.readFile(tmp));
  fs.unlink(tmp);
}

async function main(): Promise<void> {
  mkdirSync(path.join(outDir, 'example'), { recursive: true });

  // ---- TF.js layers model (fused Conv2D+ReLU), as tensorflowjs_converter writes it
  const fusedModel = convert('fused');
  const weightSpecs: Obj[] = [];
  const blobs: Float32Array[] = [];
  for (const l of fusedModel.layers) {
    for (const w of l.weights) {
      weightSpecs.push({ name: `${l.name}/${w.name}`, shape: w.shape, dtype: 'float32' });
      blobs.push(w.data);
    }
  }
  const modelJson = {
    format: 'layers-model',
    generatedBy: 'keras v2.15.0',
    convertedBy: 'unet-lens scripts/onnx-to-tfjs.ts (from examples/synthetic/model.onnx)',
    modelTopology: { keras_version: '2.15.0', backend: 'tensorflow', model_config: keras2Config(fusedModel) },
    weightsManifest: [{ paths: ['weights.bin'], weights: weightSpecs }],
  };
  writeFileSync(path.join(outDir, 'example', 'model.json'), JSON.stringify(modelJson));
  writeFileSync(path.join(outDir, 'example', 'weights.bin'), concatF32(blobs));

  // ---- TF.js graph model (as converted from a SavedModel)
  const g = graphModel(fusedModel);
  mkdirSync(path.join(outDir, 'example_graph'), { recursive: true });
  writeFileSync(path.join(outDir, 'example_graph', 'model.json'), JSON.stringify(g.json));
  writeFileSync(path.join(outDir, 'example_graph', 'weights.bin'), g.bin);

  // ---- Keras 2 .h5 (Conv2D + Activation layers)
  const actModel = convert('activation');
  const h5Config = keras2Config(actModel);
  await writeH5(path.join(outDir, 'example.h5'), (f) => {
    f.create_attribute('backend', 'tensorflow');
    f.create_attribute('keras_version', '2.15.0');
    f.create_attribute('model_config', JSON.stringify(h5Config));
    const mw = f.create_group('model_weights');
    mw.create_attribute('backend', 'tensorflow');
    mw.create_attribute('keras_version', '2.15.0');
    mw.create_attribute('layer_names', actModel.layers.map((l) => l.name));
    for (const l of actModel.layers) {
      const g = mw.create_group(l.name);
      if (l.weights.length === 0) continue;
      g.create_attribute('weight_names', l.weights.map((w) => `${l.name}/${w.name}:0`));
      const sub = g.create_group(l.name);
      for (const w of l.weights) sub.create_dataset({ name: `${w.name}:0`, data: w.data, shape: w.shape, dtype: '<f' });
    }
  });

  // ---- the same h5 with a layer TF.js lacks (config only)
  const bad = JSON.parse(JSON.stringify(h5Config)) as { config: { layers: { class_name: string; name: string; config: Obj }[] } };
  const victim = bad.config.layers.find((l) => l.name === 'bottleneck_relu2')!;
  victim.class_name = 'GroupNormalization';
  victim.config = { name: victim.name, trainable: true, dtype: 'float32', groups: 8, axis: -1, epsilon: 0.001, center: true, scale: true };
  await writeH5(path.join(outDir, 'unsupported_layer.h5'), (f) => {
    f.create_attribute('backend', 'tensorflow');
    f.create_attribute('keras_version', '2.15.0');
    f.create_attribute('model_config', JSON.stringify(bad));
    f.create_group('model_weights');
  });

  // ---- Keras 3 .keras (Conv2D + ReLU layers)
  const reluModel = convert('relu-layer');
  const weightsTmp = path.join(outDir, '.model.weights.h5');
  await writeH5(weightsTmp, (f) => {
    const ls = f.create_group('layers');
    for (const l of reluModel.layers) {
      if (l.className === 'InputLayer') continue;
      const g = ls.create_group(l.name);
      const vars = g.create_group('vars');
      l.weights.forEach((w, i) => vars.create_dataset({ name: String(i), data: w.data, shape: w.shape, dtype: '<f' }));
    }
    f.create_group('optimizer').create_group('vars');
  });
  const { zipSync, strToU8 } = await import('fflate');
  const weightsBytes = new Uint8Array(readFileSync(weightsTmp));
  (await import('node:fs')).rmSync(weightsTmp);
  const zip = zipSync(
    {
      'metadata.json': strToU8(JSON.stringify({ keras_version: '3.3.3', date_saved: '2026-11-27@12:00:00' })),
      'config.json': strToU8(JSON.stringify(keras3Config(reluModel))),
      'model.weights.h5': weightsBytes,
    },
    { level: 6, mtime: new Date('2026-11-27T12:00:00Z') },
  );
  writeFileSync(path.join(outDir, 'example.keras'), zip);

  const nw = fusedModel.layers.reduce((a, l) => a + l.weights.reduce((b, w) => b + w.data.length, 0), 0);
  process.stdout.write(`wrote ${outDir}: example/ and example_graph/ (model.json + weights.bin), example.h5, example.keras, unsupported_layer.h5 (${nw} weights)\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
