/**
 * One entry point for every model format: picks the loader by file name.
 * ONNX today; TF.js / Keras loaders plug in here with the same `LoadedModel` shape.
 */
import { loadOnnxModel, type LoadedModel, type LoadOnnxOptions } from './onnxModel';
import { LensError } from '../types';

export type { LoadedModel } from './onnxModel';
export type LoadModelOptions = LoadOnnxOptions;

export async function loadModel(path: string, opts: LoadModelOptions): Promise<LoadedModel> {
  const lower = path.toLowerCase();
  if (lower.endsWith('.onnx')) return loadOnnxModel(path, opts);
  throw new LensError(`${path}: unsupported model format (expected a .onnx file)`, 'model', path);
}
