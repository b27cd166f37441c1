/**
 * Keras model configurations (the JSON of `model.to_json()`, the `model_config` attribute of
 * a Keras `.h5`, `config.json` of a `.keras` file, `modelTopology` of a TF.js `model.json`)
 * brought into the form `tf.models.modelFromJSON` reads: Keras 2's.
 *
 * What differs in Keras 3 (and in TF.js files converted from Keras 3 models):
 *  - `inbound_nodes` entries are `{args: [...], kwargs: {...}}` with the input tensors as
 *    `{class_name: "__keras_tensor__", config: {keras_history: [layer, node, tensor]}}`
 *    (a Concatenate gets a list of them as its first argument); Keras 2 has
 *    `[[layer, node, tensor, kwargs], ...]` per call;
 *  - `dtype` is a `DTypePolicy` object, not a string;
 *  - `InputLayer` has `batch_shape`, not `batch_input_shape`;
 *  - `input_layers` / `output_layers` of a single-input model are one `[layer, node, tensor]`
 *    triple, not a list of them;
 *  - `module`, `registered_name`, `build_config`, `compile_config` entries; activations may be
 *    `{class_name: "function", config: "relu"}`; `silu` is TF.js's `swish`.
 *
 * For inference only, so initializers, regularizers and constraints are replaced (initializers
 * by `Zeros`: faster to build, the weights are set right after) or dropped: they are often
 * custom classes that TF.js does not know and play no part in a forward pass.
 *
 * `checkLayersSupported` walks the (normalized) config and names the first layer whose class
 * TF.js cannot build: `Lambda` (Python code), custom classes, Keras 3 layers TF.js lacks.
 */
import { LensError } from '../types';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

/** `{class_name, config}` of the model, Keras 2 style. */
export interface KerasModelConfig {
  class_name: string;
  config: JsonObject;
}

const isObj = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

const DROP_KEYS = new Set(['module', 'registered_name', 'build_config', 'compile_config', 'shared_object_id']);

/** Finds the model config in what a file holds (see the file comment) and normalizes it. */
export function normalizeModelTopology(raw: unknown, path: string): KerasModelConfig {
  let top: unknown = raw;
  if (isObj(top) && isObj(top.model_config)) top = top.model_config;
  if (!isObj(top) || typeof top.class_name !== 'string' || !isObj(top.config)) {
    throw new LensError(`${path}: no Keras model configuration found (expected {"class_name": …, "config": {…}})`, 'model', path);
  }
  return normalizeLayerEntry(top, path) as unknown as KerasModelConfig;
}

/** One layer (or model) entry: {class_name, config, name?, inbound_nodes?}. */
function normalizeLayerEntry(entry: JsonObject, path: string): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(entry)) {
    if (DROP_KEYS.has(k)) continue;
    if (k === 'inbound_nodes') out[k] = normalizeInboundNodes(v, path, String(entry.name ?? (isObj(entry.config) ? entry.config.name : '')));
    else if (k === 'config' && isObj(v)) out[k] = normalizeLayerConfig(String(entry.class_name), v, path);
    else out[k] = v;
  }
  return out;
}

function normalizeLayerConfig(className: string, cfg: JsonObject, path: string): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(cfg)) {
    if (DROP_KEYS.has(k)) continue;
    if (/_regularizer$|_constraint$/.test(k)) continue;
    if (/_initializer$/.test(k)) {
      out[k] = { class_name: 'Zeros', config: {} };
      continue;
    }
    if (k === 'dtype') out[k] = dtypeName(v);
    else if (k === 'activation' || k === 'recurrent_activation') out[k] = activationName(v);
    else if (k === 'layers' && Array.isArray(v)) out[k] = v.map((l) => (isObj(l) ? normalizeLayerEntry(l, path) : l));
    else if (k === 'layer' && isObj(v)) out[k] = normalizeLayerEntry(v, path);
    else if ((k === 'input_layers' || k === 'output_layers') && Array.isArray(v)) {
      out[k] = v.length > 0 && typeof v[0] === 'string' ? [v] : v;
    } else out[k] = v;
  }
  if (className === 'InputLayer') {
    if (out.batch_input_shape === undefined && out.batch_shape !== undefined) out.batch_input_shape = out.batch_shape;
    delete out.batch_shape;
    delete out.optional;
  }
  return out;
}

function dtypeName(v: Json): Json {
  if (isObj(v)) {
    const c = v.config;
    const name = isObj(c) && typeof c.name === 'string' ? c.name : 'float32';
    // mixed precision policies compute in float16 but keep float32 variables: run in float32
    return name.startsWith('mixed_') ? 'float32' : name;
  }
  return v;
}

function activationName(v: Json): Json {
  if (isObj(v)) {
    if (typeof v.config === 'string') v = v.config;
    else if (isObj(v.config) && typeof v.config.name === 'string') v = v.config.name;
    else if (typeof v.class_name === 'string') v = v.class_name;
  }
  if (v === 'silu') return 'swish';
  return v;
}

/** Keras 3 `{args, kwargs}` nodes → Keras 2 `[[layer, node, tensor, kwargs], …]`. */
function normalizeInboundNodes(v: Json, path: string, layer: string): Json {
  if (!Array.isArray(v)) return v;
  return v.map((node) => {
    if (Array.isArray(node)) return node; // Keras 2 already
    if (!isObj(node)) {
      throw new LensError(`${path}: layer "${layer}": an inbound node is neither a list nor {args, kwargs}`, 'model', path);
    }
    const refs: Json[] = [];
    const walk = (x: Json) => {
      if (Array.isArray(x)) x.forEach(walk);
      else if (isObj(x)) {
        if (x.class_name === '__keras_tensor__' && isObj(x.config) && Array.isArray(x.config.keras_history)) {
          const [name, ni, ti] = x.config.keras_history as [string, number, number];
          refs.push([name, ni ?? 0, ti ?? 0, {}]);
        } else for (const y of Object.values(x)) walk(y);
      }
    };
    walk(node.args ?? []);
    return refs;
  });
}

export interface LayerEntryInfo {
  name: string;
  className: string;
  config: JsonObject;
}

/** Every layer entry of a normalized config, nested models and wrapped layers included. */
export function allLayerEntries(model: KerasModelConfig): LayerEntryInfo[] {
  const out: LayerEntryInfo[] = [];
  const visit = (entry: JsonObject) => {
    const cfg = isObj(entry.config) ? entry.config : {};
    const name = String(entry.name ?? cfg.name ?? '?');
    out.push({ name, className: String(entry.class_name), config: cfg });
    if (Array.isArray(cfg.layers)) for (const l of cfg.layers) if (isObj(l)) visit(l);
    if (isObj(cfg.layer)) visit(cfg.layer);
  };
  if (Array.isArray(model.config.layers)) for (const l of model.config.layers) if (isObj(l)) visit(l);
  return out;
}

/**
 * Throws a LensError naming the first layer TF.js cannot build (`known`: TF.js's registered
 * class names, from tf.serialization.SerializationMap).
 */
export function checkLayersSupported(model: KerasModelConfig, known: (className: string) => boolean, path: string): void {
  if (!known(model.class_name)) {
    throw new LensError(`${path}: the model class ${model.class_name} is not one TensorFlow.js can build (Functional, Sequential, Model are)`, 'model', path);
  }
  for (const l of allLayerEntries(model)) {
    if (!known(l.className)) {
      const why =
        l.className === 'Lambda'
          ? 'a Lambda layer holds Python code, which cannot run outside Python'
          : `TensorFlow.js has no ${l.className} layer (a custom layer, or one TF.js does not implement)`;
      throw new LensError(
        `${path}: layer "${l.name}" (class ${l.className}) is not supported: ${why}. ` +
          `Export the model to ONNX (e.g. with tf2onnx) to analyse it with UNet Lens.`,
        'model',
        path,
      );
    }
    if (l.className === 'ReLU') {
      const slope = Number(l.config.negative_slope ?? 0);
      const threshold = Number(l.config.threshold ?? 0);
      if (slope !== 0 || threshold !== 0) {
        throw new LensError(
          `${path}: layer "${l.name}" (class ReLU) has negative_slope=${slope}, threshold=${threshold}; TensorFlow.js's ReLU layer supports neither ` +
            `(use LeakyReLU for a slope). Export the model to ONNX (e.g. with tf2onnx) to analyse it with UNet Lens.`,
          'model',
          path,
        );
      }
    }
    const groups = l.config.groups;
    if (typeof groups === 'number' && groups > 1) {
      throw new LensError(
        `${path}: layer "${l.name}" (class ${l.className}) is a grouped convolution (groups=${groups}), which TensorFlow.js does not implement. ` +
          `Export the model to ONNX (e.g. with tf2onnx) to analyse it with UNet Lens.`,
        'model',
        path,
      );
    }
  }
}
