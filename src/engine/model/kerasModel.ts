/**
 * Keras model files, rebuilt as TF.js layers models and then analysed like any other
 * (tfjsModel.ts `loadLayersModel`):
 *
 *  - `.h5` (Keras 2 `model.save('m.h5')`, and Keras 3's legacy h5): the root attribute
 *    `model_config` holds the model's JSON; the weights are in `model_weights/<layer>/`, listed
 *    in order by that group's `weight_names` attribute (e.g. `conv2d/kernel:0`,
 *    `conv2d/bias:0`), each a dataset at `model_weights/<layer>/<weight name>`. They are set in
 *    that order, which is the order of the layer's weights in Keras and in TF.js (trainable
 *    first: kernel, bias; gamma, beta, moving_mean, moving_variance), the way Keras's own
 *    `load_weights` does; every shape is checked.
 *  - `.keras` (Keras 3): a zip of `config.json` (the model's JSON) and `model.weights.h5`,
 *    where layer `L`'s variables are `layers/L/vars/0`, `1`, … (older Keras 3 files:
 *    `_layer_checkpoint_dependencies/L/vars/…`; a nested model's layers one level further down).
 *
 * HDF5 is read with h5wasm (the HDF5 C library compiled to WebAssembly) in its in-memory file
 * system: the file's bytes are copied in, read, and removed again.
 */
import { createHash, randomBytes } from 'node:crypto';
import { formatBytes, memoryBudgetBytes } from '../limits';
import { LensError } from '../types';
import { errorText, modelError, type LoadedModel, type LoadModelOptions } from './contract';
import { checkLayersSupported, normalizeModelTopology, type KerasModelConfig } from './kerasConfig';
import { knownClasses, loadLayersModel, readModelBytes } from './tfjsModel';
import { tfRuntime, type Tf } from './tfjsRuntime';

type H5 = typeof import('h5wasm');
type H5Group = import('h5wasm').Group;
type H5Dataset = import('h5wasm').Dataset;
type LayersModel = import('@tensorflow/tfjs').LayersModel;
type Layer = import('@tensorflow/tfjs').layers.Layer;
type TfTensor = import('@tensorflow/tfjs').Tensor;

let h5Pending: Promise<H5> | undefined;

/** h5wasm, started once per process. */
export function h5(): Promise<H5> {
  h5Pending ??= (async () => {
    const mod = (await import('h5wasm')) as H5 & { default?: H5 };
    const lib = (mod.File ? mod : mod.default) as H5;
    await lib.ready;
    return lib;
  })().catch((e) => {
    h5Pending = undefined;
    throw e;
  });
  return h5Pending;
}

interface MemFs {
  writeFile(path: string, data: Uint8Array): void;
  readFile(path: string): Uint8Array;
  unlink(path: string): void;
}

function memfs(lib: H5): MemFs {
  // `FS` is a live binding of the ES module, set once `ready` resolved
  const fs = (lib as unknown as { FS: MemFs | null }).FS ?? (lib as unknown as { default?: { FS?: MemFs } }).default?.FS;
  if (!fs) throw new LensError('h5wasm did not start (no file system)', 'internal');
  return fs;
}

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** True when `bytes` has the HDF5 superblock signature (at 0, 512, 1024, 2048… after a user block). */
export function isHdf5(bytes: Uint8Array): boolean {
  for (let at = 0; at + 8 <= bytes.length; at = at === 0 ? 512 : at * 2) {
    if (HDF5_SIGNATURE.every((b, i) => bytes[at + i] === b)) return true;
  }
  return false;
}

/** HDF5's error-stack lines ("HDF5-DIAG: Error detected…", "  #003: …", "    major: …"). */
const HDF5_DIAG = /^(HDF5-DIAG: |\s+#\d{3}: |\s+(major|minor): )/;

/**
 * Runs `fn` with the HDF5 library's diagnostic dump (40–90 lines for a corrupt file, written
 * to stderr by h5wasm) filtered out of stderr: the error we throw says what is wrong in one
 * line. Other stderr output passes.
 */
async function withoutHdf5Diagnostics<T>(fn: () => Promise<T>): Promise<T> {
  const stderr = process.stderr as unknown as { write: (chunk: unknown, ...rest: unknown[]) => boolean };
  const write = stderr.write;
  stderr.write = function (chunk: unknown, ...rest: unknown[]) {
    const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : undefined;
    if (text !== undefined) {
      const kept = text.split('\n').filter((l) => !HDF5_DIAG.test(l));
      if (kept.every((l) => l === '')) return true;
      return write.call(process.stderr, kept.join('\n'), ...rest);
    }
    return write.call(process.stderr, chunk, ...rest);
  };
  try {
    return await fn();
  } finally {
    stderr.write = write;
  }
}

/** Opens `bytes` as an HDF5 file in h5wasm's memory, runs `fn`, and removes the file. */
export async function withH5<T>(bytes: Uint8Array, path: string, fn: (file: import('h5wasm').File, lib: H5) => T | Promise<T>): Promise<T> {
  if (!isHdf5(bytes)) throw modelError(`${path} is not a readable HDF5 file (no HDF5 signature)`, path);
  const lib = await h5();
  const fs = memfs(lib);
  const name = `/unetlens-${process.pid}-${randomBytes(6).toString('hex')}.h5`;
  fs.writeFile(name, bytes);
  let file: import('h5wasm').File | undefined;
  return withoutHdf5Diagnostics(async () => {
  try {
    try {
      file = new lib.File(name, 'r');
    } catch (e) {
      throw modelError(`${path} is not a readable HDF5 file: ${errorText(e)}`, path);
    }
    try {
      return await fn(file, lib);
    } catch (e) {
      if (e instanceof LensError) throw e;
      throw modelError(`${path}: reading the HDF5 file failed: ${errorText(e)}`, path);
    }
  } finally {
    try {
      file?.close();
    } catch {
      /* closed */
    }
    try {
      fs.unlink(name);
    } catch {
      /* gone */
    }
  }
  });
}

/** An HDF5 string attribute (variable- or fixed-length, or bytes). */
function attrString(g: H5Group, name: string): string | undefined {
  const a = g.attrs[name];
  if (!a) return undefined;
  const v = a.value as unknown;
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'string') return v[0];
  return v == null ? undefined : String(v);
}

/** An HDF5 attribute holding a list of strings (Keras's `layer_names`, `weight_names`). */
function attrStrings(g: H5Group, name: string): string[] {
  const a = g.attrs[name];
  if (!a) return [];
  const v = a.value as unknown;
  const one = (x: unknown) => (x instanceof Uint8Array ? new TextDecoder().decode(x) : String(x));
  if (Array.isArray(v)) return v.map(one);
  if (typeof v === 'string') return [v];
  if (ArrayBuffer.isView(v)) return (v as unknown as ArrayLike<unknown>).length === 0 ? [] : [one(v)];
  return [];
}

/**
 * The entry at `rel` (a path relative to `g`, '/'-separated) or null, looking each step up in
 * its group's keys first: a plain `get` of a missing name makes the HDF5 library print an error
 * trace to stderr.
 */
function child(g: H5Group, rel: string): unknown {
  let cur: unknown = g;
  for (const part of rel.split('/').filter(Boolean)) {
    if (!isGroup(cur) || !cur.keys().includes(part)) return null;
    cur = cur.get(part);
  }
  return cur;
}

function isGroup(x: unknown): x is H5Group {
  return !!x && typeof (x as H5Group).keys === 'function' && typeof (x as H5Group).get === 'function';
}

function isDataset(x: unknown): x is H5Dataset {
  return !!x && !isGroup(x) && 'shape' in (x as object) && 'dtype' in (x as object);
}

function datasetFloat32(d: H5Dataset, where: string, path: string): { data: Float32Array; shape: number[] } {
  const v = d.value as unknown;
  const shape = d.shape ?? [];
  let data: Float32Array;
  if (v instanceof Float32Array) data = v;
  else if (ArrayBuffer.isView(v) && !(v instanceof DataView)) data = Float32Array.from(v as unknown as ArrayLike<number>, Number);
  else if (typeof v === 'number') data = Float32Array.of(v);
  else throw modelError(`${path}: weight ${where} is not numeric (HDF5 type ${JSON.stringify(d.dtype)})`, path);
  return { data, shape };
}

function parseConfigJson(text: string | undefined, what: string, path: string): KerasModelConfig {
  if (text === undefined) throw modelError(`${path}: ${what} is missing`, path);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw modelError(`${path}: ${what} is not JSON (${errorText(e)})`, path);
  }
  return normalizeModelTopology(raw, path);
}

async function buildModel(tf: Tf, config: KerasModelConfig, path: string): Promise<LayersModel> {
  checkLayersSupported(config, knownClasses(tf), path);
  try {
    return await tf.models.modelFromJSON({ modelTopology: config as never });
  } catch (e) {
    throw modelError(`TensorFlow.js cannot rebuild the model of ${path}: ${errorText(e)}`, path);
  }
}

/** Sets `values` as `layer`'s weights, in order, after checking count and shapes. */
function setLayerWeights(tf: Tf, layer: Layer, values: { name: string; data: Float32Array; shape: number[] }[], path: string): void {
  const ws = layer.weights;
  if (ws.length !== values.length) {
    throw modelError(
      `${path}: layer "${layer.name}" (${layer.getClassName()}) has ${ws.length} weights (${ws.map((w) => w.originalName.split('/').pop()).join(', ')}), ` +
        `but the file holds ${values.length} for it${values.length ? ` (${values.map((v) => v.name).join(', ')})` : ''}`,
      path,
    );
  }
  const tensors: TfTensor[] = [];
  try {
    ws.forEach((w, i) => {
      const v = values[i];
      const want = w.shape;
      if (want.length !== v.shape.length || want.some((d, a) => d !== v.shape[a])) {
        throw modelError(
          `${path}: layer "${layer.name}": weight ${v.name} has shape [${v.shape.join(', ')}], the layer expects [${want.join(', ')}] for ${w.originalName}`,
          path,
        );
      }
      tensors.push(tf.tensor(v.data, v.shape, 'float32'));
    });
    layer.setWeights(tensors);
  } finally {
    for (const t of tensors) t.dispose();
  }
}

/** Loads a Keras `.h5` model (see the file comment). */
export async function loadKerasH5Model(path: string, opts: LoadModelOptions): Promise<LoadedModel> {
  const bytes = await readModelBytes(path, 'the Keras model file', path);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const rt = await tfRuntime();
  const { tf } = rt;
  const model = await withH5(bytes, path, async (file) => {
    const configText = attrString(file, 'model_config');
    if (configText === undefined) {
      if (file.attrs.layer_names || file.keys().includes('model_weights') === false) {
        throw modelError(
          `${path} holds weights only (no "model_config": saved with model.save_weights()); save the whole model with model.save("model.h5") or model.save("model.keras")`,
          path,
        );
      }
      throw modelError(`${path}: the HDF5 file has no "model_config" attribute; it is not a Keras model file`, path);
    }
    const config = parseConfigJson(configText, 'its "model_config" attribute', path);
    const model = await buildModel(tf, config, path);
    try {
      const root = child(file, 'model_weights');
      const weightsRoot = isGroup(root) ? root : file;
      for (const layer of model.layers) {
        if (layer.weights.length === 0) continue;
        const g = child(weightsRoot, layer.name);
        if (!isGroup(g)) throw modelError(`${path}: no weights for layer "${layer.name}" (no group model_weights/${layer.name})`, path);
        const names = attrStrings(g, 'weight_names');
        const values = names.map((n) => {
          const d = child(g, n);
          if (!isDataset(d)) throw modelError(`${path}: weight ${n} of layer "${layer.name}" is listed but not stored`, path);
          return { name: n, ...datasetFloat32(d, `model_weights/${layer.name}/${n}`, path) };
        });
        setLayerWeights(tf, layer, values, path);
      }
    } catch (e) {
      model.dispose();
      throw e;
    }
    return model;
  });
  return loadLayersModel(rt, model, { path, sha256, format: 'keras' }, opts);
}

/** Loads a Keras 3 `.keras` model (see the file comment). */
export async function loadKerasV3Model(path: string, opts: LoadModelOptions): Promise<LoadedModel> {
  const bytes = await readModelBytes(path, 'the Keras model file', path);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (!(bytes[0] === 0x50 && bytes[1] === 0x4b)) throw modelError(`${path} is not a .keras file: not a zip archive`, path);
  const { unzipSync } = await import('fflate');
  let files: Record<string, Uint8Array>;
  try {
    // Each member's declared size is checked before it is inflated (fflate inflates into a
    // buffer of exactly that size): a small archive cannot become gigabytes.
    let declared = 0;
    files = unzipSync(bytes, {
      filter: (f) => {
        const wanted = f.name === 'config.json' || f.name === 'model.weights.h5' || f.name === 'metadata.json';
        if (wanted) {
          declared += f.originalSize;
          if (declared > memoryBudgetBytes()) {
            throw modelError(
              `${path}: the archive member ${f.name} decompresses to ${formatBytes(f.originalSize)}, over the memory limit of ${formatBytes(memoryBudgetBytes())} (set by unetLens.workerMemoryMB / UNET_LENS_MEMORY_MB); refusing to read it`,
              path,
            );
          }
        }
        return wanted;
      },
    });
  } catch (e) {
    if (e instanceof LensError) throw e;
    throw modelError(`${path} is not a readable .keras file: ${errorText(e)}`, path);
  }
  if (!files['config.json']) throw modelError(`${path} is not a Keras 3 model file: the archive has no config.json`, path);
  const config = parseConfigJson(new TextDecoder().decode(files['config.json']), 'config.json', path);
  const rt = await tfRuntime();
  const { tf } = rt;
  const model = await buildModel(tf, config, path);
  try {
    const weights = files['model.weights.h5'];
    if (model.weights.length > 0) {
      if (!weights) throw modelError(`${path}: the archive has no model.weights.h5`, path);
      await withH5(weights, path, (file) => assignKeras3(tf, file, model, '', path));
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  return loadLayersModel(rt, model, { path, sha256, format: 'keras', config }, opts);
}

/** Sets the weights of `container`'s layers from `layers/<name>/vars/<i>` under `group`. */
function assignKeras3(tf: Tf, group: H5Group, container: LayersModel, at: string, path: string): void {
  for (const layer of container.layers) {
    if (layer.weights.length === 0) continue;
    let g: unknown;
    let where = '';
    for (const sub of ['layers', '_layer_checkpoint_dependencies']) {
      const found = child(group, `${sub}/${layer.name}`);
      if (isGroup(found)) {
        g = found;
        where = `${at}${sub}/${layer.name}`;
        break;
      }
    }
    if (!isGroup(g)) throw modelError(`${path}: model.weights.h5 has no weights for layer "${layer.name}" (no group ${at}layers/${layer.name})`, path);
    if (layer instanceof tf.LayersModel) {
      assignKeras3(tf, g, layer, `${where}/`, path);
      continue;
    }
    const vars = child(g, 'vars');
    const keys = isGroup(vars) ? vars.keys().filter((k) => /^\d+$/.test(k)).sort((a, b) => Number(a) - Number(b)) : [];
    const values = keys.map((k) => {
      const d = child(vars as H5Group, k);
      if (!isDataset(d)) throw modelError(`${path}: ${where}/vars/${k} is not a dataset`, path);
      return { name: `${where}/vars/${k}`, ...datasetFloat32(d, `${where}/vars/${k}`, path) };
    });
    setLayerWeights(tf, layer, values, path);
  }
}
