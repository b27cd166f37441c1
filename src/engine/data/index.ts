/** The dataset side of the engine: dataset file, readers, splits, preprocessing. */
export { loadDatasetFile, validateDatasetJson, parseDatasetText, DEFAULT_INPUT, DEFAULT_MODEL, DATASET_SCHEMA } from './datasetFile';
export {
  READERS,
  NOT_YET_SUPPORTED,
  readImageFile,
  readLabelFile,
  decodePng,
  parseNpy,
  readNpy,
  readNpzMember,
  checkLabelRange,
  type RawImage,
  type LabelMap,
  type NdArray,
  type ReadContext,
  type ImageFileReader,
} from './formats';
export { listSplit, type SplitSource, type SplitItem } from './splits';
export { toModelInput, toLabelMap, resizeLinear, centerCrop, chwToHwc } from './preprocess';
