/**
 * One entry point for every model format: picks the loader by file name.
 *
 *   *.onnx          ONNX (onnxruntime-node)                       onnxModel.ts
 *   model.json      TF.js layers model (+ its weight shards)      tfjsModel.ts
 *   *.json          the same, when the file is a TF.js model (has "modelTopology")
 *   *.h5, *.hdf5    Keras model saved as HDF5 (Keras 2, legacy)   kerasModel.ts
 *   *.keras         Keras 3 model (zip: config.json + weights)    kerasModel.ts
 *
 * Every loader returns the same `LoadedModel`: channels-first batches in, channels-first
 * tensors out, taps planned by taps.ts. TF.js and the Keras loaders are imported only when
 * such a model is opened, so an ONNX run never starts TensorFlow.js.
 */
import { readFileSync } from 'node:fs';
import { loadOnnxModel, type LoadedModel as OnnxLoadedModel, type LoadOnnxOptions } from './onnxModel';
import { LensError } from '../types';

export type ModelFormat = 'onnx' | 'tfjs' | 'keras';

export interface LoadedModel extends Omit<OnnxLoadedModel, 'format'> {
  format: ModelFormat;
  /** What computes the forward passes, e.g. "tfjs 4.22.0 wasm (simd, 1 thread)"; for results.tool.backend. Not set by the ONNX loader (onnxruntime-node, cpu). */
  backend?: string;
}

export type LoadModelOptions = LoadOnnxOptions;

export const MODEL_EXTENSIONS = ['.onnx', '.json', '.h5', '.hdf5', '.keras'];

/** The format a model path names, by file name; undefined when it names none. */
export function modelFormatOf(path: string): ModelFormat | undefined {
  const lower = path.toLowerCase();
  if (lower.endsWith('.onnx')) return 'onnx';
  if (lower.endsWith('.h5') || lower.endsWith('.hdf5') || lower.endsWith('.keras')) return 'keras';
  if (lower.endsWith('.json')) return 'tfjs';
  return undefined;
}

function looksLikeTfjs(path: string): boolean {
  if (/(^|[\\/])model\.json$/i.test(path)) return true;
  try {
    const head = readFileSync(path, { encoding: 'utf8', flag: 'r' }).slice(0, 1 << 16);
    return /"modelTopology"|"weightsManifest"/.test(head);
  } catch {
    return true; // let the loader report the missing or unreadable file
  }
}

export async function loadModel(path: string, opts: LoadModelOptions): Promise<LoadedModel> {
  const lower = path.toLowerCase();
  if (lower.endsWith('.onnx')) return loadOnnxModel(path, opts);
  if (lower.endsWith('.h5') || lower.endsWith('.hdf5')) return (await import('./kerasModel')).loadKerasH5Model(path, opts);
  if (lower.endsWith('.keras')) return (await import('./kerasModel')).loadKerasV3Model(path, opts);
  if (lower.endsWith('.json')) {
    if (!looksLikeTfjs(path)) {
      throw new LensError(`${path} is a JSON file but not a TF.js model (no "modelTopology"); a dataset file goes to --data`, 'model', path);
    }
    return (await import('./tfjsModel')).loadTfjsModel(path, opts);
  }
  throw new LensError(
    `${path}: unsupported model format (expected a .onnx file, a TF.js model.json, or a Keras .h5 / .keras file)`,
    'model',
    path,
  );
}
