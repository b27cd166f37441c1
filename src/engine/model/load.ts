/**
 * One entry point for every model format: picks the loader by file name.
 *
 *   *.onnx          ONNX (onnxruntime-node)                       onnxModel.ts
 *   model.json      TF.js layers model (+ its weight shards)      tfjsModel.ts
 *   *.json          the same, when the file is a TF.js model (has "modelTopology")
 *   *.h5, *.hdf5    Keras model saved as HDF5 (Keras 2, legacy)   kerasModel.ts
 *   *.keras         Keras 3 model (zip: config.json + weights)    kerasModel.ts
 *
 * Which file is which format is decided once, in contract.ts (`MODEL_FILES`, `modelFormatOf`).
 * Every loader returns the same `LoadedModel` (contract.ts): channels-first batches in,
 * channels-first tensors out, taps planned by taps.ts. TF.js and the Keras loaders are
 * imported only when such a model is opened (tfjsLoaders.ts, built as dist/tfjs.js apart from
 * worker.js and cli.js), so an ONNX run neither starts nor even compiles TensorFlow.js.
 */
import { readFileSync } from 'node:fs';
import { loadOnnxModel } from './onnxModel';
import { modelError, modelFileFormat, modelFormatOf, type LoadedModel, type LoadModelOptions } from './contract';

function looksLikeTfjs(path: string): boolean {
  if (modelFileFormat(path) === 'tfjs') return true;
  try {
    const head = readFileSync(path, { encoding: 'utf8', flag: 'r' }).slice(0, 1 << 16);
    return /"modelTopology"|"weightsManifest"/.test(head);
  } catch {
    return true; // let the loader report the missing or unreadable file
  }
}

/**
 * The TF.js and Keras loaders, required on first use. In the bundles this is
 * `require('./tfjs.js')`, the bundle next to worker.js / cli.js (esbuild.mjs).
 */
function tfjsLoaders(): typeof import('./tfjsLoaders') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('./tfjsLoaders') as typeof import('./tfjsLoaders');
}

export async function loadModel(path: string, opts: LoadModelOptions): Promise<LoadedModel> {
  const lower = path.toLowerCase();
  const format = modelFormatOf(path);
  if (format === 'onnx') return loadOnnxModel(path, opts);
  if (format === 'pytorch') {
    throw modelError(
      `${path} is a PyTorch file: it is exported to ONNX with your Python first (the extension and \`unet-lens analyze\` do that, see model/torchExport.ts), and the engine loads the .onnx`,
      path,
    );
  }
  if (format === 'keras') {
    const keras = tfjsLoaders();
    return lower.endsWith('.keras') ? keras.loadKerasV3Model(path, opts) : keras.loadKerasH5Model(path, opts);
  }
  if (format === 'tfjs') {
    if (!looksLikeTfjs(path)) {
      throw modelError(`${path} is a JSON file but not a TF.js model (no "modelTopology"); a dataset file goes to --data`, path);
    }
    return tfjsLoaders().loadTfjsModel(path, opts);
  }
  throw modelError(`${path}: unsupported model format (expected a .onnx file, a TF.js model.json, or a Keras .h5 / .keras file)`, path);
}
