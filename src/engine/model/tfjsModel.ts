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
 *  - `loadExecutable` (tfjsExecutable.ts): the common part of layers and graph models
 *    (`TfExecutable`): input dims, the probe run, taps.ts's plan, `run()`.
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
import { LensError, type TensorDesc } from '../types';
import { errorText, modelError, type LoadedModel, type LoadModelOptions, type ModelFormat } from './contract';
import { confinedPath, formatBytes, memoryBudgetBytes } from '../limits';
import { checkLayersSupported, normalizeModelTopology, type KerasModelConfig } from './kerasConfig';
import { functionalView, layerGraph } from './tfjsGraph';
import { cannotRun, loadExecutable, type TfExecutable } from './tfjsExecutable';
import { tfRuntime, type Tf, type TfRuntime } from './tfjsRuntime';

type LayersModel = import('@tensorflow/tfjs').LayersModel;
type SymbolicTensor = import('@tensorflow/tfjs').SymbolicTensor;

/** Reads a file of the model; missing / unreadable files become model errors naming it. */
export async function readModelBytes(file: string, what: string, modelPath: string, limit = memoryBudgetBytes()): Promise<Uint8Array> {
  try {
    const st = await fs.stat(file);
    if (st.isDirectory()) throw modelError(`${file} is a folder, not ${what}`, modelPath);
    // Regular files only (a FIFO would block, /dev/zero never end), within the memory budget.
    if (!st.isFile()) throw modelError(`${file}: ${what} is not a regular file (a FIFO, a device or a socket); only regular files are read`, modelPath);
    if (st.size > limit) {
      throw modelError(`${file}: ${what} is ${formatBytes(st.size)}, over the memory limit of ${formatBytes(limit)} (set by unetLens.workerMemoryMB / UNET_LENS_MEMORY_MB)`, modelPath);
    }
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
  let weightTotal = 0;
  for (const [gi, g] of groups.entries()) {
    if (!Array.isArray(g.paths) || !Array.isArray(g.weights)) throw modelError(`${path}: weightsManifest[${gi}] needs "paths" and "weights" lists`, path);
    for (const p of g.paths) {
      if (typeof p !== 'string') throw modelError(`${path}: weightsManifest[${gi}].paths holds a non-string`, path);
      // Weight files stay inside the model's folder (no ../../etc/passwd, no links out of it).
      const file = confinedPath(dir, p, path, `weightsManifest[${gi}].paths entry`);
      const bytes = await readModelBytes(file, `a weight file of ${nodePath.basename(path)}`, path, memoryBudgetBytes() - weightTotal);
      weightTotal += bytes.length;
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
    throw cannotRun(e, info.path, model);
  }
  return loadExecutable(rt, exe, info, opts);
}
