/**
 * The checks every model loader's `run()` makes before computing: the batch has the
 * model's per-image dims and enough values, and every requested tap can be fetched.
 * Shared by the ONNX and TF.js loaders so both fail with the same messages.
 */
import { LensError, type Tensor } from '../types';

const fmt = (dims: readonly (number | string)[]) => `[${dims.join(', ')}]`;

/**
 * @param outputsNoun how the loader's fetchable values are named in a message,
 *   e.g. "tensors … was loaded to output" or "layer outputs of"
 * @returns the number of images in the batch
 */
export function checkRunRequest(o: {
  path: string;
  disposed: boolean;
  inputDims: readonly number[];
  perImage: number;
  batch: Tensor;
  wanted: readonly string[];
  fetchable: { has(name: string): boolean };
  tapNames: readonly string[];
  outputsNoun: string;
}): number {
  const { path, inputDims, batch } = o;
  if (o.disposed) throw new LensError(`the model ${path} was already disposed`, 'internal', path);
  const dims = batch.dims;
  if (dims.length !== inputDims.length + 1 || inputDims.some((d, a) => dims[a + 1] !== d)) {
    throw new LensError(`${path} takes batches of N×${inputDims.join('×')} images; got ${fmt(dims)}`, 'data', path);
  }
  const n = dims[0];
  if (n < 1) throw new LensError(`${path}: run() was given an empty batch`, 'internal', path);
  if (batch.data.length !== n * o.perImage) throw new LensError(`batch data has ${batch.data.length} values for dims ${fmt(dims)}`, 'internal', path);
  for (const t of o.wanted) {
    if (!o.fetchable.has(t)) {
      throw new LensError(
        `${JSON.stringify(t)} is not one of the ${o.outputsNoun} ${path} (its taps: ${o.tapNames.slice(0, 4).map((x) => JSON.stringify(x)).join(', ')}…)`,
        'model',
        path,
      );
    }
  }
  return n;
}
