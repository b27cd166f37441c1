/**
 * The loaders that need TensorFlow.js (and h5wasm for Keras HDF5 files): one module, so the
 * build can put it and those large dependencies in a bundle of its own (dist/tfjs.js,
 * esbuild.mjs), which worker.js and cli.js `require` at run time only when such a model is
 * opened. An ONNX run then compiles a small worker.js. Unbundled (tests, tsx) it is an
 * ordinary module imported lazily by load.ts.
 */
export { loadTfjsModel } from './tfjsModel';
export { loadKerasH5Model, loadKerasV3Model } from './kerasModel';
