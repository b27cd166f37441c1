/**
 * The run context: the settings of one analysis, the taps as the pipeline walks them, and
 * everything a pass needs, settled once per analysis (see analyze.ts for the flow).
 */
import { ANALYSIS_LIMITS } from '../limits';
import { createRequire } from 'node:module';
import type { SplitSource } from '../data/splits';
import type { LoadedModel } from '../model/contract';
import { centreIndexMap, type AsyncGemm, type TopkHook } from '../metrics';
import {
  LensError,
  type Activation,
  type AnalysisSettings,
  type CancelToken,
  type DatasetConfig,
  type ProgressEvent,
  type Results,
  type ShiftSettings,
  type Task,
  type TapInfo,
} from '../types';

export interface AnalyzeOptions {
  overrides?: Partial<Pick<AnalysisSettings, 'maxPoints' | 'seed' | 'k' | 'maxTaps' | 'batchSize' | 'mapsPerSplit' | 'mapGrid'>> & { shifts?: Partial<ShiftSettings> };
  threads?: number;
  onProgress?: (e: ProgressEvent) => void;
  /**
   * The results so far, a valid Results: first the taps alone, before any image is read
   * (`stage` 'taps': the panel's skeleton), then as a split's taps are measured (`metrics
   * <name>`: train's Davies–Bouldin of every tap and its first tap at once, then at most one
   * every 3 s), then with
   * the splits measured up to now (train first, then each split with its maps: `split
   * <name>`) and the verdict so far, and once
   * more before the shift sweep (`stage` 'calibrating'). While the sweep is still to come the
   * verdict says so (`verdict.calibrating`). Called synchronously: serialise or copy before
   * returning; the object keeps growing.
   */
  onPartial?: (results: Results, stage: string) => void;
  log?: (message: string) => void;
  cancel?: CancelToken;
  /** Folder of the bundles (for version info); not needed by the computation. */
  distDir?: string;
  /**
   * Folder of the per-split cache (splitCache.ts): splits measured before with this model,
   * these settings and this train are read back, not run. Absent: no cache.
   */
  cacheDir?: string;
}

/** PCA rows kept per tap and split in the results file (evenly strided). */
export const PCA_ROWS = 1000;
/** k-means++ initialisations for roughness (the best inertia wins), as scikit-learn's n_init. */
export const KMEANS_INITS = 10;
/**
 * The same in the shift sweep, where roughness only feeds the indicativeness strip (and the
 * regression predictor): 3 keep the sweep's k-means from taking half its time.
 */
export const SWEEP_KMEANS_INITS = 3;
/** Largest side of the input patch used as the "previous tap" of the first tap. */
const MAX_FIRST_PATCH = 9;
/** Clusters of roughness for regression (no classes). */
export const REGRESSION_CLUSTERS = 2;

export const TOOL_VERSION = '0.1.0';

export type Mode = Exclude<Activation, 'auto'>;

export interface TapState {
  info: TapInfo;
  /** Spatial dims of this tap. */
  dims: number[];
  C: number;
  /** The previous tap (null: the input patch). */
  prev: TapState | null;
  prevDim: number;
  /** For each location here: the previous tap's location (same input pixels). */
  prevLoc: Int32Array | null;
}

/** Everything a pass needs, settled once per analysis. */
export interface Run {
  cfg: DatasetConfig;
  settings: AnalysisSettings;
  model: LoadedModel;
  taps: TapState[];
  task: Task;
  /** Classes (segmentation, classification); 0 for regression. */
  numClasses: number;
  /** Spatial dims of the model input. */
  spatial: number[];
  /** Channels of the model input. */
  C0: number;
  /** Per-image dims of the prediction output, [K, ...spatial]. */
  outDims: number[];
  /** How the output is read; settled on the first batch (not for regression). */
  activation?: Mode;
  /** Regression: R of PSNR/SSIM. */
  dataRange?: number;
  gemm: AsyncGemm;
  /** The kNN candidate search (onnxruntime Gemm + TopK); exact results either way. */
  topk: TopkHook;
  cancel?: CancelToken;
  warnings: string[];
  log: (m: string) => void;
  /** Per split: what checkScaling has seen of the raw value ranges (batch.ts). */
  scaling?: Map<string, ScalingSeen>;
}

/** Raw value ranges seen in a split, for the suspicious-scaling warnings. */
export interface ScalingSeen {
  seen: Set<string>;
  /** An image whose raw values fit 8 bits (max in (1, 255]), and one with values above 255. */
  eightBit?: string;
  wide?: { file: string; max: number };
  warnedRange?: boolean;
  warnedMixed?: boolean;
}

/** The dataset file's analysis settings with the caller's overrides (undefined/null ones ignored). */
export function resolveSettings(cfg: DatasetConfig, overrides: AnalyzeOptions['overrides'] = {}): AnalysisSettings {
  const { shifts: shiftOverrides, ...plainOverrides } = overrides;
  // Overrides come from flags, settings or a worker message: the same bounds as the dataset file's schema.
  const mins: Record<string, number> = { maxPoints: 2, seed: 0, k: 1, maxTaps: 1, batchSize: 1, mapsPerSplit: 0, mapGrid: 8 };
  for (const [key, v] of Object.entries(plainOverrides)) {
    if (v === undefined || v === null || !(key in ANALYSIS_LIMITS)) continue;
    const max = ANALYSIS_LIMITS[key as keyof typeof ANALYSIS_LIMITS];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < (mins[key] ?? 0) || v > max) {
      throw new LensError(`the ${key} override must be a whole number from ${mins[key] ?? 0} to ${max} (got ${JSON.stringify(v)})`, 'args');
    }
  }
  return {
    ...cfg.analysis,
    ...definedOnly(plainOverrides),
    shifts: { ...cfg.analysis.shifts, ...definedOnly(shiftOverrides ?? {}) },
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as Partial<T>;
}

export function ortVersion(): string {
  try {
    const req = createRequire(__filename);
    return (req('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function checkCancel(cancel?: CancelToken): void {
  if (cancel?.cancelled) throw new LensError('Analysis cancelled.', 'cancelled');
}

/** The sampler stream of the shift sweep's u-th unlabelled split (sweep.ts). */
export const sweepSplitIndex = (u: number): number => 2000 + u;

/** Seed of the sampler of one tap and split: distinct streams, all from the user's seed. */
export function streamSeed(seed: number, tap: number, split: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(tap + 1, 0x85ebca6b) ^ Math.imul(split + 1, 0xc2b2ae35)) >>> 0;
}

export function firstImageSpatial(src: SplitSource): number[] {
  const item = src.read(0);
  return item.image.dims.slice(1);
}

export function shortName(name: string): string {
  return name.replace(/^\//, '').replace(/\/[A-Za-z]+_output_\d+$/, '');
}

export function finiteOrNull(v: number | null | undefined): number | null {
  return v === null || v === undefined || !Number.isFinite(v) ? null : v;
}

export function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export function buildTapStates(model: LoadedModel, inSpatial: number[]): TapState[] {
  const states: TapState[] = [];
  const C0 = model.inputDims[0];
  for (const info of model.taps) {
    const [C, ...dims] = info.shape;
    const prev = states.length ? states[states.length - 1] : null;
    let prevDim: number;
    let prevLoc: Int32Array | null = null;
    if (prev) {
      prevDim = prev.C;
      prevLoc = centreIndexMap(prev.dims, dims);
    } else {
      const side = Math.min(MAX_FIRST_PATCH, Math.max(1, Math.round(info.receptiveField.size)));
      prevDim = C0 * side ** dims.length;
    }
    if (dims.length !== inSpatial.length) {
      throw new LensError(`tap ${info.name} has ${dims.length} spatial dims but the input has ${inSpatial.length}`, 'model', model.path);
    }
    states.push({ info, dims, C, prev, prevDim, prevLoc });
  }
  return states;
}

/** The prediction output must suit the task: checked once, from the shapes, before any data is read. */
export function checkOutputShape(cfg: DatasetConfig, model: LoadedModel, spatial: number[]): void {
  const dims = model.outputDims;
  const [, ...sp] = dims;
  const shown = `${model.path}: the prediction output "${model.outputName}" is ${dims.join('×')} per image`;
  if (cfg.task === 'classification') {
    if (!sp.every((d) => d === 1)) {
      throw new LensError(`${shown}, but the dataset file ${cfg.path} says "task": "classification", which needs one score per class (N×K or N×K×1×1)`, 'dataset', cfg.path);
    }
  } else if (sp.length !== spatial.length) {
    throw new LensError(
      `${shown}, but the dataset file ${cfg.path} says "task": "${cfg.task}", which needs an output map of the input's rank (N×C×${spatial.map(() => '…').join('×')}, like the input ${spatial.join('×')})`,
      'dataset',
      cfg.path,
    );
  }
}
