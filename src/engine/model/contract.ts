/**
 * What every model loader promises, and which files are models: the one list of model file
 * endings (the loader of model/load.ts, the CodeLens of host/codeLensParse.ts, the model
 * picker of commands/analyze.ts and the `when` clauses of package.json's menus all follow
 * it; test/unit/model.test.ts checks the menus against it).
 */
import { LensError, type TapInfo, type Tensor, type TensorDesc } from '../types';

/** 'pytorch': a .pt/.pth file, exported to ONNX with the user's Python before it is loaded (torchExport.ts). */
export type ModelFormat = 'onnx' | 'tfjs' | 'keras' | 'pytorch';

/**
 * The model files UNet Lens analyzes: by extension (lower case, with the dot), or by whole
 * file name. A TF.js model is its `model.json` (the engine also takes another `.json` file
 * whose content is a TF.js model: see `modelFormatOf`).
 */
/** The file of a TF.js model (in its folder, beside the weight shards). */
export const TFJS_MODEL_FILE = 'model.json';

export const MODEL_FILES: readonly ({ format: ModelFormat } & ({ extension: string } | { fileName: string }))[] = [
  { format: 'onnx', extension: '.onnx' },
  { format: 'pytorch', extension: '.pt' },
  { format: 'pytorch', extension: '.pth' },
  { format: 'keras', extension: '.h5' },
  { format: 'keras', extension: '.hdf5' },
  { format: 'keras', extension: '.keras' },
  { format: 'tfjs', fileName: TFJS_MODEL_FILE },
];

/** The extensions of `MODEL_FILES`, e.g. `['.onnx', '.h5', …]`. */
export const MODEL_EXTENSIONS: readonly string[] = MODEL_FILES.flatMap((f) => ('extension' in f ? [f.extension] : []));
/** The whole file names of `MODEL_FILES`, e.g. `['model.json']`. */
export const MODEL_FILE_NAMES: readonly string[] = MODEL_FILES.flatMap((f) => ('fileName' in f ? [f.fileName] : []));

/** The format of a model file by `MODEL_FILES` (case-insensitive); undefined when the path names none. */
export function modelFileFormat(path: string): ModelFormat | undefined {
  const name = path.toLowerCase().replace(/^.*[\\/]/, '');
  for (const f of MODEL_FILES) {
    if ('extension' in f ? name.endsWith(f.extension) : name === f.fileName) return f.format;
  }
  return undefined;
}

/**
 * The format the engine reads a path as: `modelFileFormat`, and any other `.json` file as a
 * TF.js model (the loader then checks its content). Undefined when it names none.
 */
export function modelFormatOf(path: string): ModelFormat | undefined {
  return modelFileFormat(path) ?? (path.toLowerCase().endsWith('.json') ? 'tfjs' : undefined);
}

/** A VS Code glob of the model files (`MODEL_FILES`), for `workspace.findFiles`. */
export function modelFilesGlob(): string {
  return `**/{${[...MODEL_EXTENSIONS.map((e) => `*${e}`), ...MODEL_FILE_NAMES].join(',')}}`;
}

export interface LoadModelOptions {
  taps: 'auto' | string[];
  maxTaps: number;
  /** Which graph output is the prediction; 'auto' = the first. */
  output: 'auto' | string;
  /** Per-image [C, H, W] ([C, D, H, W]) the dataset will feed; needed when the model's dims are dynamic, checked against them when fixed. */
  inputDims?: number[];
  /** onnxruntime intra-op threads (0 or undefined: its default). */
  threads?: number;
  /**
   * How the ONNX loader learns the candidates' shapes: 'auto' (default) runs a large input at
   * small sizes and extrapolates when that is exact (probeShapes.ts), 'full' always runs one
   * full-size zero image. Tests compare the two.
   */
  probe?: 'auto' | 'full';
}

/** A loaded model, whatever its format: channels-first batches in, channels-first tensors out, taps planned by taps.ts. */
export interface LoadedModel {
  format: ModelFormat;
  path: string;
  sha256: string;
  inputs: TensorDesc[];
  outputs: TensorDesc[];
  inputName: string;
  /** Per-image input dims the model takes, channels-first, e.g. [1, 64, 64]. */
  inputDims: number[];
  /** 'NCHW'-style (channels-first) or channels-last as the model file declares its input; run() takes channels-first either way. */
  inputLayout: 'channels-first' | 'channels-last';
  outputName: string;
  /** Per-image dims of `output` as run() returns it (channels-first). */
  outputDims: number[];
  taps: TapInfo[];
  tapsLeftOut: string[];
  /** How the candidates' shapes were learnt, for the log, e.g. "zero images at 64×64, 128×128, 256×256, extrapolated" (ONNX only). */
  shapeProbe?: string;
  /** What computes the forward passes, e.g. "tfjs 4.22.0 wasm (simd, 1 thread)"; for results.tool.backend. Not set by the ONNX loader (onnxruntime-node, cpu). */
  backend?: string;
  run(batch: Tensor, opts?: { taps?: string[] }): Promise<{ output: Tensor; taps: Map<string, Tensor> }>;
  dispose(): Promise<void>;
}

/** An error of the model file (LensError kind 'model'), naming it. */
export function modelError(message: string, path: string): LensError {
  return new LensError(message, 'model', path);
}

/** An error's message on one line. */
export function errorText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').trim();
}
