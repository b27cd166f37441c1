/**
 * TensorFlow.js and Keras models for the analysis, with the same `LoadedModel` the ONNX
 * loader gives (onnxModel.ts): one image input, channels-first batches in and tensors out,
 * taps planned by taps.ts on the layer graph (tfjsGraph.ts).
 *
 *  - `loadTfjsModel(path)`: a TF.js layers model, `model.json` + its weight shards, read with
 *    `fs` (plain tfjs has no `file://` loader) and handed over with `tf.io.fromMemory`; a TF.js
 *    graph model (`"format": "graph-model"`) goes to tfjsGraphModel.ts.
 *  - `loadLayersModel(runtime, model, info, opts)`: a built layers model, also used by the Keras
 *    loaders (kerasModel.ts) once they have rebuilt the model.
 *  - `loadExecutable`: the common part of layers and graph models (`TfExecutable`): input
 *    dims, the probe run, taps.ts's plan, `run()`.
 *
 * Layout. Keras layers compute channels-last (N×H×W×C). The model takes and gives
 * channels-first tensors like every `LoadedModel`: `run()` transposes the batch to
 * channels-last on the TF.js backend, and every fetched tensor of rank ≥ 3 back to
 * channels-first. A model whose layers all say `data_format: channels_first` is run as it is.
 *
 * Taps are the layers' outputs: one `tf.model({inputs, outputs: [prediction, ...taps]})`
 * (cached per set of names) computes them in one pass.
 *
 * The runtime (tfjs-node, else tfjs + wasm, else cpu) is tfjsRuntime.ts'; `backend` says
 * which one ran.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as nodePath from 'node:path';
import { LensError, type Tensor, type TensorDesc } from '../types';
import type { LoadedModel, LoadModelOptions, ModelFormat } from './load';
import { checkLayersSupported, normalizeModelTopology, type KerasModelConfig } from './kerasConfig';
import { GraphIndex, planTaps, probeValues } from './taps';
import type { OnnxGraph } from './onnxGraph';
import { functionalView, layerGraph } from './tfjsGraph';
import { checkRunRequest } from './runChecks';
import { fallBackToCpu, isMissingKernel, tfRuntime, type Tf, type TfRuntime } from './tfjsRuntime';

type LayersModel = import('@tensorflow/tfjs').LayersModel;
type TfTensor = import('@tensorflow/tfjs').Tensor;
type SymbolicTensor = import('@tensorflow/tfjs').SymbolicTensor;

const fmt = (dims: (number | string)[]) => `[${dims.join(', ')}]`;

export function modelError(message: string, path: string): LensError {
  return new LensError(message, 'model', path);
}

export function errorText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').trim();
}

/** Reads a file of the model; missing / unreadable files become model errors naming it. */
export async function readModelBytes(file: string, what: string, modelPath: string): Promise<Uint8Array> {
  try {
    const st = await fs.stat(file);
    if (st.isDirectory()) throw modelError(`${file} is a folder, not ${what}`, modelPath);
    return new Uint8Array(await fs.readFile(file));
  } catch (e) {
    if (e instanceof LensError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw modelError(`${what} not found: ${file}`, modelPath);
    if (code === 'EACCES' || code === 'EPERM') throw modelError(`cannot read ${what} ${file}: permission denied`, modelPath);
    throw modelError(`cannot read ${what} ${file}: ${errorText(e)}`, modelPath);
  }
}

/** Names of the layer classes TF.js can build (its serialization registry). */
export function knownClasses(tf: Tf): (className: string) => boolean {
  const map = tf.serialization.SerializationMap.getMap().classNameMap as Record<string, unknown>;
  return (c) => c in map;
}

interface WeightEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: unknown;
}

/** Loads a TF.js layers model: `model.json` and the weight files its manifest lists. */
export async function loadTfjsModel(path: string, opts: LoadModelOptions): Promise<LoadedModel> {
  const jsonBytes = await readModelBytes(path, 'the TF.js model file', path);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(new TextDecoder().decode(jsonBytes));
  } catch (e) {
    throw modelError(`${path} is not a valid TF.js model: not JSON (${errorText(e)})`, path);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw modelError(`${path} is not a valid TF.js model: not a JSON object`, path);
  const topology = json.modelTopology as Record<string, unknown> | undefined;
  if (!topology || typeof topology !== 'object') throw modelError(`${path} is not a valid TF.js model: it has no "modelTopology"`, path);
  const graphModel = json.format === 'graph-model' || Array.isArray((topology as { node?: unknown }).node);

  // ---- weights: every shard of every group, in manifest order
  const manifest = json.weightsManifest;
  if (manifest !== undefined && !Array.isArray(manifest)) throw modelError(`${path}: "weightsManifest" is not a list`, path);
  const groups = (manifest ?? []) as { paths?: unknown; weights?: unknown }[];
  const specs: WeightEntry[] = [];
  const chunks: Uint8Array[] = [];
  const hash = createHash('sha256').update(jsonBytes);
  const dir = nodePath.dirname(path);
  for (const [gi, g] of groups.entries()) {
    if (!Array.isArray(g.paths) || !Array.isArray(g.weights)) throw modelError(`${path}: weightsManifest[${gi}] needs "paths" and "weights" lists`, path);
    for (const p of g.paths) {
      if (typeof p !== 'string') throw modelError(`${path}: weightsManifest[${gi}].paths holds a non-string`, path);
      const file = nodePath.resolve(dir, p);
      const bytes = await readModelBytes(file, `a weight file of ${nodePath.basename(path)}`, path);
      hash.update(bytes);
      chunks.push(bytes);
    }
    specs.push(...(g.weights as WeightEntry[]));
  }
  const total = chunks.reduce((a, c) => a + c.length, 0);
  const weightData = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    weightData.set(c, o);
    o += c.length;
  }
  const expected = specs.reduce((a, s) => a + weightBytes(s), 0);
  if (Number.isFinite(expected) && expected !== total) {
    throw modelError(`${path}: the weight files hold ${total} bytes, but the manifest describes ${expected}`, path);
  }

  const rt = await tfRuntime();
  const { tf } = rt;
  if (graphModel) {
    const { loadTfjsGraphModel } = await import('./tfjsGraphModel');
    return loadTfjsGraphModel(rt, json, specs, weightData, { path, sha256: hash.digest('hex') }, opts);
  }
  const config = normalizeModelTopology(topology, path);
  checkLayersSupported(config, knownClasses(tf), path);
  let model: LayersModel;
  try {
    model = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: config as unknown as object,
        weightSpecs: specs as never,
        weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength) as ArrayBuffer,
      }),
      { strict: true },
    );
  } catch (e) {
    throw modelError(`TensorFlow.js cannot load ${path}: ${errorText(e)}`, path);
  }
  return loadLayersModel(rt, model, { path, sha256: hash.digest('hex'), format: 'tfjs', config }, opts);
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, float16: 2, uint8: 1, uint16: 2, int8: 1, int16: 2 };

function weightBytes(s: WeightEntry): number {
  const n = (s.shape ?? []).reduce((a, b) => a * b, 1);
  const q = s.quantization as { dtype?: string } | undefined;
  const b = DTYPE_BYTES[q?.dtype ?? s.dtype];
  return b === undefined ? NaN : n * b;
}

export interface LayersModelInfo {
  path: string;
  sha256: string;
  format: ModelFormat;
  /** The normalized Keras config the model was built from (for the data format). */
  config?: KerasModelConfig;
}

/**
 * What the common part needs of a TF.js model, layers or graph: its graph for taps.ts, and a
 * way to compute named values.
 */
export interface TfExecutable {
  graph: OnnxGraph;
  inputName: string;
  outputNames: string[];
  /** The values `execute` can compute (layer outputs; graph node outputs). */
  fetchable: ReadonlySet<string>;
  /** The input shape as the model declares it (its own layout; null = any). */
  inputShape: (number | null)[];
  inputDtype: string;
  layout: 'channels-first' | 'channels-last';
  inputs: TensorDesc[];
  outputs: TensorDesc[];
  /** 'layer' or 'node': what a value is, in messages. */
  noun: string;
  /** The tensors of `names`, in order, for `x` (both in the model's layout); the caller disposes them. */
  execute(x: TfTensor, names: string[]): Promise<TfTensor[]>;
  dispose(): void;
}

/** The layers' data format: channels-last unless every layer that declares one says channels_first. */
function dataFormat(model: LayersModel, path: string): 'channels-first' | 'channels-last' {
  const seen = new Set<string>();
  for (const l of model.layers) {
    const f = (l.getConfig() as { dataFormat?: unknown }).dataFormat;
    if (typeof f === 'string') seen.add(f);
  }
  if (seen.size > 1) {
    throw modelError(`${path} mixes channels_first and channels_last layers; UNet Lens needs one data format throughout`, path);
  }
  return seen.has('channelsFirst') ? 'channels-first' : 'channels-last';
}

/** A layers model as a TfExecutable: one `tf.model` per set of fetched values, cached. */
function layersExecutable(tf: Tf, model: LayersModel, path: string): TfExecutable {
  if (model.inputs.length !== 1) {
    throw modelError(
      `${path} has ${model.inputs.length} inputs (${model.inputs.map((i) => JSON.stringify(i.sourceLayer.name)).join(', ')}); UNet Lens feeds one image input`,
      path,
    );
  }
  // a functional view of the model (a Sequential too; nested models flattened), sharing its layers and weights
  const view = functionalView(tf, model);
  const fn = view.model;
  const layout = dataFormat(fn, path);
  const lg = layerGraph(tf, fn, path, layout === 'channels-last', view.names);
  const input = model.inputs[0];
  const fetchModels = new Map<string, LayersModel>();
  const describe = (name: string, t: SymbolicTensor): TensorDesc => ({ name, dims: t.shape.map((d) => (d === null ? -1 : d)), type: t.dtype });
  return {
    graph: lg.graph,
    inputName: lg.inputName,
    outputNames: lg.outputNames,
    fetchable: new Set([...lg.tensors.keys()].filter((n) => n !== lg.inputName)),
    inputShape: input.shape,
    inputDtype: input.dtype,
    layout,
    inputs: [describe(lg.inputName, input)],
    outputs: fn.outputs.map((t, i) => describe(lg.outputNames[i], t)),
    noun: 'layer',
    async execute(x, names) {
      const key = names.join('\u0000');
      let m = fetchModels.get(key);
      if (!m) {
        m = tf.model({ inputs: fn.inputs, outputs: names.map((n) => lg.tensors.get(n)!) });
        fetchModels.set(key, m);
      }
      const y = m.predict(x, { batchSize: x.shape[0] });
      return Array.isArray(y) ? y : [y];
    },
    dispose() {
      fetchModels.clear();
      model.dispose();
    },
  };
}

/**
 * The `LoadedModel` of a built TF.js layers model (weights set). Disposes `model` when it
 * fails, and on `dispose()`.
 */
export async function loadLayersModel(rt: TfRuntime, model: LayersModel, info: LayersModelInfo, opts: LoadModelOptions): Promise<LoadedModel> {
  let exe: TfExecutable;
  try {
    exe = layersExecutable(rt.tf, model, info.path);
  } catch (e) {
    try {
      model.dispose();
    } catch {
      /* already */
    }
    if (e instanceof LensError) throw e;
    throw modelError(`TensorFlow.js cannot run ${info.path}: ${errorText(e)}`, info.path);
  }
  return loadExecutable(rt, exe, info, opts);
}

/** The `LoadedModel` of a TfExecutable (layers or graph model); disposes it when it fails. */
export async function loadExecutable(rt: TfRuntime, exe: TfExecutable, info: { path: string; sha256: string; format: ModelFormat }, opts: LoadModelOptions): Promise<LoadedModel> {
  try {
    return await wrap(rt, exe, info, opts);
  } catch (e) {
    try {
      exe.dispose();
    } catch {
      /* already */
    }
    if (e instanceof LensError) throw e;
    throw modelError(`TensorFlow.js cannot run ${info.path}: ${errorText(e)}`, info.path);
  }
}

async function wrap(rt: TfRuntime, exe: TfExecutable, info: { path: string; sha256: string; format: ModelFormat }, opts: LoadModelOptions): Promise<LoadedModel> {
  const { tf } = rt;
  const { path } = info;
  const layout = exe.layout;
  const channelsLast = layout === 'channels-last';
  const inputName = exe.inputName;
  if (exe.inputDtype !== 'float32') throw modelError(`${path}: input ${JSON.stringify(inputName)} is ${exe.inputDtype}; only float32 inputs are supported`, path);

  // ---- the prediction output
  let outputName: string;
  if (opts.output === 'auto') outputName = exe.outputNames[0];
  else {
    if (!exe.outputNames.includes(opts.output)) {
      throw modelError(
        `model.output is ${JSON.stringify(opts.output)}, but ${path} has the outputs ${exe.outputNames.map((o) => JSON.stringify(o)).join(', ')}`,
        path,
      );
    }
    outputName = opts.output;
  }

  // ---- per-image input dims (channels-first)
  const toFirst = <T>(d: T[]) => (channelsLast ? [d[d.length - 1], ...d.slice(0, -1)] : [...d]);
  const toLast = <T>(d: T[]) => (channelsLast ? [...d.slice(1), d[0]] : [...d]);
  const declared = exe.inputShape;
  if (declared.length < 3) {
    throw modelError(`${path}: input ${JSON.stringify(inputName)} has shape ${fmt(declared.map((d) => d ?? -1))}; UNet Lens needs an image input N×H×W×C or N×D×H×W×C`, path);
  }
  const per = toFirst(declared.slice(1));
  const shown = `${fmt(declared.map((d) => (d === null ? 'None' : d)))}${channelsLast ? ' (channels-last)' : ''}`;
  const fixed = (d: number | null): d is number => typeof d === 'number' && d > 0;
  let inputDims: number[];
  const want = opts.inputDims;
  if (want) {
    if (want.length !== per.length) {
      throw modelError(`${path}: input ${JSON.stringify(inputName)} has shape ${shown}, ${per.length}-D per image, but the data gives ${want.length}-D images ${fmt(want)}`, path);
    }
    per.forEach((d, a) => {
      if (fixed(d) && d !== want[a]) {
        throw modelError(
          `${path}: input ${JSON.stringify(inputName)} takes images of shape ${fmt(per.map((x) => x ?? -1))} (channels first; the model declares ${shown}), but the data gives ${fmt(want)}` +
            (a === 0 ? ` (${d} channel${d === 1 ? '' : 's'} expected, ${want[a]} given)` : ''),
          path,
        );
      }
    });
    inputDims = [...want];
  } else {
    if (per.some((d) => !fixed(d))) {
      throw modelError(`${path}: input ${JSON.stringify(inputName)} has dynamic dims ${shown}; give the image size and channels in the dataset file (input.size, input.channels)`, path);
    }
    inputDims = per as number[];
  }
  if (inputDims.length !== 3 && inputDims.length !== 4) throw modelError(`${path}: per-image input dims ${fmt(inputDims)} are neither [C, H, W] nor [C, D, H, W]`, path);
  const perImage = inputDims.reduce((a, b) => a * b, 1);
  const modelDims = toLast(inputDims);
  const batchDim = typeof declared[0] === 'number' && declared[0] > 0 ? declared[0] : undefined;

  // ---- explicit taps must be computable values
  if (opts.taps !== 'auto') {
    for (const t of opts.taps) {
      if (!exe.fetchable.has(t)) {
        const some = [...exe.fetchable].slice(0, 6);
        throw modelError(`analysis.taps names ${JSON.stringify(t)}, which is not a ${exe.noun} of ${path}; its ${exe.noun}s include ${some.map((s) => JSON.stringify(s)).join(', ')}`, path);
      }
    }
  }

  // ---- running: channels-first in, channels-first out
  const firstPerm = (r: number) => [0, r - 1, ...Array.from({ length: r - 2 }, (_, i) => i + 1)];
  const lastPerm = (r: number) => [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2), 1];
  const runChunk = async (data: Float32Array, n: number, names: string[]): Promise<Map<string, Tensor>> => {
    const x = tf.tidy(() => {
      const t = tf.tensor(data, [n, ...inputDims], 'float32');
      return channelsLast ? tf.transpose(t, lastPerm(t.rank)) : t;
    });
    let raw: TfTensor[];
    try {
      raw = await exe.execute(x, names);
    } catch (e) {
      throw modelError(`TensorFlow.js (${rt.backend}) could not run ${path} on input ${fmt([n, ...modelDims])}: ${errorText(e)}`, path);
    } finally {
      x.dispose();
    }
    let outs: TfTensor[];
    try {
      outs = tf.tidy(() => raw.map((t) => (channelsLast && t.rank >= 3 ? tf.transpose(t, firstPerm(t.rank)) : tf.clone(t))));
    } finally {
      for (const t of new Set(raw)) t.dispose();
    }
    try {
      const res = new Map<string, Tensor>();
      const values = await Promise.all(outs.map((t) => t.data()));
      names.forEach((name, i) => {
        const v = values[i];
        res.set(name, { data: v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>), dims: [...outs[i].shape] });
      });
      return res;
    } finally {
      for (const t of outs) t.dispose();
    }
  };
  /** All n images, in chunks of the model's fixed batch size when it has one (the last one padded). */
  const runRaw = async (data: Float32Array, n: number, names: string[]): Promise<Map<string, Tensor>> => {
    if (batchDim === undefined || batchDim === n) return runChunk(data, n, names);
    const parts: Map<string, Tensor>[] = [];
    for (let s = 0; s < n; s += batchDim) {
      const m = Math.min(batchDim, n - s);
      const chunk = new Float32Array(batchDim * perImage);
      chunk.set(data.subarray(s * perImage, (s + m) * perImage));
      const res = await runChunk(chunk, batchDim, names);
      for (const [k, t] of res) {
        const each = t.data.length / batchDim;
        res.set(k, { data: t.data.slice(0, m * each), dims: [m, ...t.dims.slice(1)] });
      }
      parts.push(res);
    }
    const joined = new Map<string, Tensor>();
    for (const name of names) {
      const ts = parts.map((p) => p.get(name)!);
      const all = new Float32Array(ts.reduce((a, t) => a + t.data.length, 0));
      let o = 0;
      for (const t of ts) {
        all.set(t.data, o);
        o += t.data.length;
      }
      joined.set(name, { data: all, dims: [n, ...ts[0].dims.slice(1)] });
    }
    return joined;
  };

  // ---- probe one zero image for the shapes taps.ts needs, then plan
  const idx = new GraphIndex(exe.graph, { input: inputName, output: outputName });
  const probe = [...new Set([outputName, ...probeValues(idx, opts.taps).filter((v) => exe.fetchable.has(v))])];
  let probed: Map<string, Tensor>;
  try {
    probed = await runRaw(new Float32Array(perImage), 1, probe);
  } catch (e) {
    // a kernel the wasm backend lacks: the whole runtime goes over to the cpu backend
    const kernel = isMissingKernel(errorText(e));
    if (!kernel || !(await fallBackToCpu(rt, `the wasm backend has no ${kernel} kernel, which ${nodePath.basename(path)} needs`))) throw e;
    probed = await runRaw(new Float32Array(perImage), 1, probe);
  }
  const shapes = new Map<string, number[]>();
  shapes.set(inputName, [...inputDims]);
  for (const [name, t] of probed) shapes.set(name, t.dims.slice(1));
  probed.clear();
  const plan = planTaps(exe.graph, shapes, { taps: opts.taps, maxTaps: opts.maxTaps, output: outputName, input: inputName });
  const tapNames = plan.taps.map((t) => t.name);
  const outputDims = shapes.get(outputName) ?? [];
  let disposed = false;

  const loaded: LoadedModel = {
    format: info.format,
    backend: rt.backend,
    path,
    sha256: info.sha256,
    inputs: exe.inputs,
    outputs: exe.outputs,
    inputName,
    inputDims,
    inputLayout: layout,
    outputName,
    outputDims,
    taps: plan.taps,
    tapsLeftOut: plan.leftOut,

    async run(batch, runOpts) {
      const wanted = runOpts?.taps ?? tapNames;
      const n = checkRunRequest({ path, disposed, inputDims, perImage, batch, wanted, fetchable: exe.fetchable, tapNames, outputsNoun: `${exe.noun} outputs of` });
      const names = [...new Set([outputName, ...wanted])];
      const res = await runRaw(batch.data, n, names);
      const taps = new Map<string, Tensor>();
      for (const t of wanted) taps.set(t, res.get(t)!);
      return { output: res.get(outputName)!, taps };
    },

    async dispose() {
      if (disposed) return;
      disposed = true;
      try {
        exe.dispose();
      } catch {
        /* disposed already */
      }
    },
  };
  return loaded;
}
