/**
 * The pipeline: model + dataset file → results (CONTRACT.md §3), per METHOD.md §1–§4.
 *
 * ## Passes
 *
 * Split by split, `train` first (it is the reference): each batch of images is run once with
 * every tap requested; at every tap each location becomes a point (its C-vector, plus the
 * previous tap's vector at the same input location for roughness), labelled by the
 * area-pooled mask and the pooled prediction, and fed to a per-tap stratified sampler.
 * After a split's pass its metrics are computed tap by tap and its points dropped (only the
 * PCA rows are kept). Then a small extra forward pass over the split's first
 * `analysis.mapsPerSplit` images makes their spatial maps (below); train's own maps come
 * after train's reference is final, so they use the same reference as every other split.
 *
 * ## Memory bound
 *
 * With S strata (the number of classes; 1 for regression), at any time the engine holds
 * - per tap, for the split in progress: at most `maxPoints × (C + C_prev)` float32 values
 *   per stratum (C the tap's channels, C_prev the previous tap's, or the first tap's input
 *   patch), plus four int32 side values per kept point;
 * - per tap, the train reference: `n × C` float32 (n ≤ maxPoints), its leave-one-out
 *   neighbours (`n × k` int32 + float64) and its labels and origins (3 × n int32);
 * - one batch of activations (`batchSize` images × Σ_taps C·H·W float32, as onnxruntime
 *   returns them) and, per image and tap, a few transient arrays of that tap's size;
 * - the kNN scratch of one search (a block of at most 2²² float32 distance products);
 * - the results themselves (≤ 1000 PCA rows per tap and split, the maps).
 * Nothing grows with the number of images. Point values are copied only for the points the
 * sampler keeps (`StratifiedSampler.addRows`), straight from the batch's activations.
 * test/integration/memory.test.ts streams 660 images of 64×64 through the example UNet
 * (15 taps; ≈ 1.6 GB of points if held at once) in a worker whose V8 heap is capped at
 * 192 MB, with maxPoints 512, and requires a peak RSS under 450 MB (measured: ~220 MB; the
 * same worker on a 10-image fixture peaks at ~155 MB).
 *
 * ## Tasks
 *
 * - segmentation: per-pixel labels; performance = pooled Dice (per class, mean over the
 *   foreground) and pixel accuracy.
 * - classification: the prediction output is N×K (or N×K×1×1) class scores; every point of an
 *   image carries the image's label (and predicted class); performance = accuracy.
 * - regression (denoising, translation, reconstruction): the labels are target images. A
 *   target is compared with the model output in the model's input space: it goes through the
 *   images' preprocessing (`input.scale`, `mean`, `std`, resize or crop to the output's size),
 *   so the model is taken to predict targets normalised like its inputs. Performance = MSE,
 *   PSNR, SSIM (RegressionAccumulator), all with one data range R for every split: max − min
 *   of the train targets so preprocessed (read once before the train pass; the first labelled
 *   split's targets when train has none; 1 when they are constant, with a warning), recorded
 *   as `settings.dataRange`. There are no classes: db and knnConfidence are null, roughness
 *   uses K = 2 clusters, featureShift is as usual, and there are no maps.
 *
 * ## The prediction output (`model.activation`)
 *
 * `softmax`: C ≥ 2 class channels, label = argmax; `sigmoid`: one channel of logits,
 * foreground where > 0; `probability`: one channel in [0, 1], foreground where > 0.5. `auto`
 * takes `softmax` for C ≥ 2, and for one channel `probability` when every value of the first
 * batch lies in [0, 1], else `sigmoid`. The choice is checked against the output's channels
 * and the dataset's classes (softmax: C = number of classes; one channel: two classes) and
 * recorded as `model.activation` in the results. Regression ignores it.
 *
 * ## Maps (`results.maps.items`)
 *
 * For the first `mapsPerSplit` images of every split (segmentation and classification, when
 * train has labels): per tap, the knnConfidence of every location of the tap (3D: of its
 * plane that holds the input's middle slice) against the tap's train reference — the share of
 * its k nearest train points whose ground-truth label equals the location's predicted label.
 * On train itself, a location that is one of the reference points does not count itself
 * (leave-one-out, exactly as the per-tap metric); all other reference points count, including
 * neighbouring locations of the same image. Without sampling, the mean of a split's maps over
 * all its images is its per-tap knnConfidence. Maps wider than 128 cells are stored
 * area-averaged to at most 128 a side; values are rounded to 4 decimals. Beside them: a grey
 * preview of the model input (mean over channels, area-averaged to at most 128 px a side,
 * min–max scaled to 0..255), and the ground-truth and predicted label maps on the preview grid
 * (majority-pooled; classification: the image's label everywhere).
 *
 * ## Robustness
 *
 * A tap whose activations hold NaN/Inf on a split gets null metrics there (and no points);
 * the next tap's roughness, which reads it, too; each case is named in `warnings`. A NaN/Inf
 * in the prediction output or in a preprocessed image stops the analysis with a LensError
 * naming the model or the image. Nothing is written unless the analysis completes.
 */
import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';
import { loadDatasetFile } from './data/datasetFile';
import { listSplit, type SplitItem, type SplitSource } from './data/splits';
import { toModelInput, toLabelMap } from './data/preprocess';
import { loadModel, type LoadedModel } from './model/load';
import * as nodePath from 'node:path';
import { applyShift, DEFAULT_STRENGTHS, familyApplies, noiseSeed, shiftLabel, sweepShifts, type Shift } from './shift/transforms';
import { assemble, type CopyMeasure, type ImageRecord } from './shift/withoutLabels';
import { augmentMap, imageOutput, inverseMap, labelObjects, maskDice, outputMask, ttaCount } from './shift/outputFeatures';
import { MASK_FAMILIES } from './types';
import {
  StratifiedSampler,
  SegmentationAccumulator,
  AccuracyAccumulator,
  RegressionAccumulator,
  buildTrainReferenceAsync,
  neighborsInTrainAsync,
  knnSearchAsync,
  createOnnxGemm,
  createOnnxTopk,
  OutputStatsAccumulator,
  type AsyncGemm,
  type TopkHook,
  knnConfidence,
  knnDice,
  foregroundShift,
  featureShift,
  daviesBouldin,
  roughness,
  fitPca,
  project,
  poolLabels,
  predictedLabels,
  centreIndexMap,
  type TrainReference,
  type PcaModel,
} from './metrics';
import {
  allFinite,
  areaMean,
  greyPreview,
  inputPatchAt,
  labelPlane,
  mapSize,
  middleCell,
  planeOf,
  pointsOfImage,
  prod,
  resolveActivation,
} from './points';
import {
  LensError,
  METHOD_VERSION,
  RESULTS_SCHEMA,
  type Activation,
  type AnalysisSettings,
  type CancelToken,
  type DatasetConfig,
  type ImageMaps,
  type LabelFreeMetrics,
  type OutputStats,
  type Performance,
  type ShiftSettings,
  type ProgressEvent,
  type Results,
  type SplitResult,
  type Task,
  type TapInfo,
  type TapMetrics,
  type Tensor,
} from './types';

export interface AnalyzeOptions {
  overrides?: Partial<Pick<AnalysisSettings, 'maxPoints' | 'seed' | 'k' | 'maxTaps' | 'batchSize' | 'mapsPerSplit'>> & { shifts?: Partial<ShiftSettings> };
  threads?: number;
  onProgress?: (e: ProgressEvent) => void;
  log?: (message: string) => void;
  cancel?: CancelToken;
  /** Folder of the bundles (for version info); not needed by the computation. */
  distDir?: string;
}

/** PCA rows kept per tap and split in the results file (evenly strided). */
const PCA_ROWS = 1000;
/** k-means++ initialisations for roughness (the best inertia wins), as scikit-learn's n_init. */
const KMEANS_INITS = 10;
/**
 * The same in the shift sweep, where roughness only feeds the indicativeness strip (and the
 * regression predictor): 3 keep the sweep's k-means from taking half its time.
 */
const SWEEP_KMEANS_INITS = 3;
/** Largest side of the input patch used as the "previous tap" of the first tap. */
const MAX_FIRST_PATCH = 9;
/** Clusters of roughness for regression (no classes). */
const REGRESSION_CLUSTERS = 2;

const TOOL_VERSION = '0.1.0';

type Mode = Exclude<Activation, 'auto'>;

function ortVersion(): string {
  try {
    const req = createRequire(__filename);
    return (req('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function checkCancel(cancel?: CancelToken): void {
  if (cancel?.cancelled) throw new LensError('Analysis cancelled.', 'cancelled');
}

/** Seed of the sampler of one tap and split: distinct streams, all from the user's seed. */
function streamSeed(seed: number, tap: number, split: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(tap + 1, 0x85ebca6b) ^ Math.imul(split + 1, 0xc2b2ae35)) >>> 0;
}

interface TapState {
  info: TapInfo;
  /** Spatial dims of this tap. */
  dims: number[];
  C: number;
  /** The previous tap (null: the input patch). */
  prev: TapState | null;
  prevDim: number;
  /** For each location here: the previous tap's location (same input pixels). */
  prevLoc: Int32Array | null;
  ref?: TrainReference;
  /** Per reference point: the train image (index in the split) and the location it came from. */
  refImage?: Int32Array;
  refLoc?: Int32Array;
  pca?: PcaModel;
}

/** Everything a pass needs, settled once per analysis. */
interface Run {
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
}

interface SplitPass {
  /** Per tap; set to null once its metrics are done (its points are no longer needed). */
  samplers: (StratifiedSampler | null)[];
  /** Taps whose activations held NaN/Inf in this split. */
  nonFinite: Set<number>;
  /** Taps whose previous tap held NaN/Inf (roughness reads it): tap index → previous tap's name. */
  roughOff: Map<number, string>;
  performance: Performance | null;
  /** Mean max probability and entropy of the prediction output (null for regression). */
  output: OutputStats | null;
}

/** How a pass differs from the plain pass of a split (the shift sweep of METHOD.md §5). */
interface PassOptions {
  /** Applied to every preprocessed image before the model runs. */
  shift?: Shift;
  /** Index of the copy in the sweep (the noise streams). */
  copy?: number;
  /** Sample by predicted label, as an unlabelled split (the performance still uses the labels). */
  asUnlabeled?: boolean;
  maxPoints?: number;
  /** Called after every batch has run (the shift sweep's per-image output features). */
  perBatch?: (batch: Batch, n: number) => Promise<void>;
}

/** Whether a shift needs the image's mask. */
function needsMask(sh: Shift | undefined): boolean {
  if (!sh) return false;
  if (sh.family === 'mix') return (sh.parts ?? []).some((p) => MASK_FAMILIES.includes(p.family));
  return sh.family !== 'none' && MASK_FAMILIES.includes(sh.family);
}

export async function analyze(modelPath: string, datasetPath: string, opts: AnalyzeOptions = {}): Promise<Results> {
  const t0 = performance.now();
  const progress = (e: ProgressEvent) => opts.onProgress?.(e);
  const log = (m: string) => opts.log?.(m);
  const warnings: string[] = [];

  progress({ stage: 'load', message: 'Reading the dataset file' });
  const cfg = loadDatasetFile(datasetPath);
  const { shifts: shiftOverrides, ...plainOverrides } = opts.overrides ?? {};
  const settings: AnalysisSettings = {
    ...cfg.analysis,
    ...definedOnly(plainOverrides),
    shifts: { ...cfg.analysis.shifts, ...definedOnly(shiftOverrides ?? {}) },
  };
  const sources: SplitSource[] = cfg.splits.map((s) => listSplit(cfg, s));
  for (const s of sources) for (const note of s.notes) log(note);
  const train = sources.find((s) => s.name === 'train');
  if (!train) throw new LensError(`${datasetPath}: the dataset file has no "train" split`, 'dataset', datasetPath);
  if (train.count === 0) throw new LensError(`split "train" has no images`, 'data', datasetPath);
  for (const s of sources) if (s.count === 0) throw new LensError(`split "${s.name}" has no images`, 'data', datasetPath);
  // train first: it is the reference of every other split
  sources.sort((a, b) => (a === train ? -1 : b === train ? 1 : 0));
  // METHOD.md §5: what the shift sweep shifts (decided before train's pass: a held-out part of
  // train must stay out of the train reference).
  const calib = calibrationPlan(settings.shifts, sources, train, log, warnings);
  if (calib.trainKept) sources[0] = calib.trainKept;

  const numClasses = cfg.task === 'regression' ? 0 : cfg.classes.length;
  const spatial = cfg.input.size ?? firstImageSpatial(train);
  const inputDims = [cfg.input.channels, ...spatial];

  progress({ stage: 'load', message: 'Loading the model' });
  checkCancel(opts.cancel);
  const model = await loadModel(modelPath, {
    taps: settings.taps,
    maxTaps: settings.maxTaps,
    output: cfg.model.output,
    inputDims,
    threads: opts.threads,
  });
  try {
    const loadMs = performance.now() - t0;
    log(`model ${modelPath}: ${model.taps.length} taps (${model.tapsLeftOut.length} left out), input ${model.inputName} [${model.inputDims.join(', ')}], prediction ${model.outputName} [${model.outputDims.join(', ')}]`);
    const modelSpatial = model.inputDims.slice(1);
    checkOutputShape(cfg, model, modelSpatial);
    // kNN distance products run through onnxruntime's Gemm (BLAS-class kernels), not JS loops.
    const kernelOptions = {
      graphOptimizationLevel: 'all',
      logSeverityLevel: 4,
      ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}),
    };
    const gemm = await createOnnxGemm(ort, kernelOptions);
    const topk = await createOnnxTopk(ort, kernelOptions);
    const taps = buildTapStates(model, modelSpatial);
    const run: Run = {
      cfg,
      settings,
      model,
      taps,
      task: cfg.task,
      numClasses,
      spatial: modelSpatial,
      C0: model.inputDims[0],
      outDims: model.outputDims.slice(),
      gemm,
      topk,
      cancel: opts.cancel,
      warnings,
      log,
    };

    const results: Results = {
      schema: RESULTS_SCHEMA,
      methodVersion: METHOD_VERSION,
      createdAt: new Date().toISOString(),
      tool: { name: 'unet-lens', version: TOOL_VERSION, backend: model.backend ?? `onnxruntime-node ${ortVersion()} (cpu)` },
      model: { path: modelPath, sha256: model.sha256, format: model.format, inputs: model.inputs, outputs: model.outputs },
      dataset: { path: datasetPath, task: cfg.task, classes: cfg.classes },
      settings: { maxPoints: settings.maxPoints, k: settings.k, seed: settings.seed, maxTaps: settings.maxTaps },
      taps: taps.map((t) => t.info),
      tapsLeftOut: model.tapsLeftOut,
      splits: [],
      metrics: {},
      pca: {},
      maps: { items: [] },
      warnings,
      timings: { totalMs: 0, loadMs, forwardMs: 0, metricsMs: 0 },
    };
    for (const t of taps) results.pca[t.info.name] = { explainedVariance: [], points: {} };

    let forwardMs = 0;
    let metricsMs = 0;
    let mapsMs = 0;
    if (cfg.task === 'regression') {
      const tr = performance.now();
      progress({ stage: 'forward', message: 'Reading the train targets (data range of PSNR and SSIM)' });
      run.dataRange = targetRange(run, sources);
      if (run.dataRange !== undefined) results.settings.dataRange = run.dataRange;
      forwardMs += performance.now() - tr;
    }

    const totalImages = sources.reduce((a, s) => a + s.count, 0);
    let imagesDone = 0;
    for (let si = 0; si < sources.length; si++) {
      const src = sources[si];
      const isTrain = si === 0; // train (sorted first; without its held-out part, if any)
      const tf = performance.now();
      const pass = await forwardPass(run, src, si, (done) =>
        progress({ stage: 'forward', message: `Forward passes: ${src.name}`, split: src.name, done: imagesDone + done, total: totalImages }),
      );
      imagesDone += src.count;
      forwardMs += performance.now() - tf;
      if (run.activation && !results.model.activation) results.model.activation = run.activation;

      const tm = performance.now();
      const split: SplitResult = { name: src.name, labeled: src.labeled, images: src.count, performance: pass.performance };
      results.splits.push(split);
      const metrics: { [tap: string]: TapMetrics } = (results.metrics[src.name] = {});
      for (let ti = 0; ti < taps.length; ti++) {
        checkCancel(opts.cancel);
        const tap = taps[ti];
        progress({ stage: 'metrics', message: `Metrics: ${src.name}, ${shortName(tap.info.name)}`, split: src.name, tap: tap.info.name, done: ti, total: taps.length });
        if (pass.nonFinite.has(ti)) {
          warnings.push(
            `Tap ${tap.info.name}: split "${src.name}": activations hold NaN or Inf; metrics left out for this tap and split` +
              (isTrain ? ' (and its knnConfidence and featureShift on every split, which need the train points).' : '.'),
          );
          metrics[tap.info.name] = { db: null, roughness: null, knnConfidence: null, featureShift: null, points: 0 };
          continue;
        }
        const roughOff = pass.roughOff.get(ti);
        if (roughOff !== undefined) {
          warnings.push(`Tap ${tap.info.name}: split "${src.name}": roughness left out (it reads the previous tap ${roughOff}, whose activations hold NaN or Inf).`);
        }
        const sample = pass.samplers[ti]!.finish();
        pass.samplers[ti] = null;
        metrics[tap.info.name] = await tapMetrics(run, tap, sample, src.name, isTrain, src.labeled && cfg.task !== 'regression', roughOff === undefined, { pca: results.pca, kmeansInits: KMEANS_INITS });
        // Let the event loop breathe between taps (progress messages, cancellation).
        await new Promise((r) => setImmediate(r));
      }
      metricsMs += performance.now() - tm;

      const tmaps = performance.now();
      const items = await mapsPass(run, src, isTrain, pass.nonFinite, (done, total) =>
        progress({ stage: 'metrics', message: `Maps: ${src.name}`, split: src.name, done, total }),
      );
      results.maps.items.push(...items);
      mapsMs += performance.now() - tmaps;
    }
    let shiftsMs = 0;
    if (calib.source) {
      const ts = performance.now();
      results.performanceWithoutLabels = await shiftSweep(run, calib.source, calib.splits, calib.heldOut, sources.filter((s) => !s.labeled), progress, sources[0]);
      shiftsMs = performance.now() - ts;
      for (const sp of results.splits) {
        const est = results.performanceWithoutLabels.splits[sp.name]?.predicted.features;
        if (!sp.labeled && est) sp.predictedPerformance = { [results.performanceWithoutLabels.metric]: est.value, low: est.low, high: est.high };
      }
    }
    results.timings = {
      totalMs: Math.round(performance.now() - t0),
      loadMs: Math.round(loadMs),
      forwardMs: Math.round(forwardMs),
      metricsMs: Math.round(metricsMs),
      mapsMs: Math.round(mapsMs),
      shiftsMs: Math.round(shiftsMs),
    };
    progress({ stage: 'write', message: 'Writing results' });
    return results;
  } finally {
    await model.dispose();
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as Partial<T>;
}

function firstImageSpatial(src: SplitSource): number[] {
  const item = src.read(0);
  return item.image.dims.slice(1);
}

export function shortName(name: string): string {
  return name.replace(/^\//, '').replace(/\/[A-Za-z]+_output_\d+$/, '');
}

function buildTapStates(model: LoadedModel, inSpatial: number[]): TapState[] {
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
function checkOutputShape(cfg: DatasetConfig, model: LoadedModel, spatial: number[]): void {
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

/** Settles how the output is read (`model.activation`) on the first batch, checked against the classes. */
function settleActivation(run: Run, output: Tensor): void {
  if (run.activation || run.task === 'regression') return;
  const K = output.dims[1];
  const mode = resolveActivation(run.cfg.model.activation, K, output.data);
  const shown = `${run.model.path}: the prediction output "${run.model.outputName}" has ${K} channel${K === 1 ? '' : 's'}`;
  const classes = `${run.numClasses} classes (${run.cfg.classes.join(', ')})`;
  if (mode === 'softmax' && K !== run.numClasses) {
    throw new LensError(`${shown}, one per class, but the dataset file ${run.cfg.path} lists ${classes}`, 'dataset', run.cfg.path);
  }
  if (mode !== 'softmax' && run.numClasses !== 2) {
    throw new LensError(`${shown}, read as "${mode}" (background/foreground), but the dataset file ${run.cfg.path} lists ${classes}`, 'dataset', run.cfg.path);
  }
  run.activation = mode;
  run.log(`prediction output read as "${mode}"${run.cfg.model.activation === 'auto' ? ' (model.activation "auto")' : ''}`);
}

/* ------------------------------------------------------------------------------------------ */
/* One batch, one image                                                                         */
/* ------------------------------------------------------------------------------------------ */

interface Batch {
  items: SplitItem[];
  /** n × C0 × inL model input. */
  input: Float32Array;
  output: Tensor;
  taps: Map<string, Tensor>;
}

/** Reads, preprocesses and runs images [start, start + n) of a split; checks what comes back. */
async function runBatch(run: Run, src: SplitSource, start: number, n: number, po: PassOptions = {}): Promise<Batch> {
  const { C0, spatial, model, cfg } = run;
  const inL = prod(spatial);
  const items: SplitItem[] = [];
  const input = new Float32Array(n * C0 * inL);
  for (let b = 0; b < n; b++) {
    const item = src.read(start + b);
    items.push(item);
    const x = toModelInput(item.image, cfg.input, spatial, item.imageFile);
    if (x.length !== C0 * inL) {
      throw new LensError(`${item.imageFile}: preprocessed to ${x.length} values, the model takes ${C0}×${spatial.join('×')}`, 'data', item.imageFile);
    }
    if (!allFinite(x)) {
      throw new LensError(`${item.imageFile}: the image holds NaN or Inf values (after preprocessing); the model cannot be run on it`, 'data', item.imageFile);
    }
    if (po.shift) {
      const mask = needsMask(po.shift) && item.label ? toLabelMap(item.label, spatial, cfg.input.resize) : null;
      applyShift(x, C0, spatial, po.shift, cfg.input, noiseSeed(run.settings.seed, po.copy ?? 0, start + b), mask);
    }
    input.set(x, b * C0 * inL);
  }
  const { output, taps } = await model.run({ data: input, dims: [n, C0, ...spatial] });
  if (!allFinite(output.data)) {
    throw new LensError(
      `${model.path}: the model's prediction output "${model.outputName}" holds NaN or Inf for image${n > 1 ? 's' : ''} ${items.map((i) => i.id).join(', ')} of split "${src.name}"`,
      'model',
      model.path,
    );
  }
  settleActivation(run, output);
  return { items, input, output, taps };
}

/** What the model predicts for an image and what its ground truth says, each on its own grid. */
interface ImageLabels {
  /** Segmentation: predicted label per output pixel; classification: [class]; regression: null. */
  pred: Int32Array | null;
  /** Segmentation: ground truth on the model input grid; classification: [label]; null: none. */
  gt: Int32Array | null;
}

function imageLabels(run: Run, item: SplitItem, out: Float32Array, labeled: boolean): ImageLabels {
  if (run.task === 'classification') {
    const pred = Int32Array.of(argmaxOrThreshold(out, run.outDims[0], run.activation!));
    return { pred, gt: labeled && item.label ? Int32Array.of(item.label.data[0]) : null };
  }
  if (run.task === 'segmentation') {
    const pred = predictedLabels(out, run.outDims, run.activation!);
    const gt = labeled && item.label ? toLabelMap(item.label, run.spatial, run.cfg.input.resize) : null;
    return { pred, gt };
  }
  return { pred: null, gt: null };
}

/** Per tap grid (key: its dims) within one image: the points' labels, and their strata and image index once needed. */
type LabelCache = Map<string, { gt: Int32Array; pred: Int32Array; stratum?: Int32Array; image?: Int32Array }>;

/** Labels of the L points of a tap grid (cached per grid within one image). */
function pointLabels(run: Run, il: ImageLabels, dims: number[], cache: LabelCache): { gt: Int32Array; pred: Int32Array; stratum?: Int32Array; image?: Int32Array } {
  const key = dims.join('x');
  const hit = cache.get(key);
  if (hit) return hit;
  const L = prod(dims);
  let gt: Int32Array;
  let pred: Int32Array;
  if (run.task === 'classification') {
    gt = new Int32Array(L).fill(il.gt ? il.gt[0] : -1);
    pred = new Int32Array(L).fill(il.pred![0]);
  } else if (run.task === 'segmentation') {
    gt = il.gt ? poolLabels(il.gt, run.spatial, dims, run.numClasses) : new Int32Array(L).fill(-1);
    pred = poolLabels(il.pred!, run.outDims.slice(1), dims, run.numClasses);
  } else {
    gt = new Int32Array(L).fill(-1);
    pred = new Int32Array(L);
  }
  const res: { gt: Int32Array; pred: Int32Array; stratum?: Int32Array; image?: Int32Array } = { gt, pred };
  cache.set(key, res);
  return res;
}

/** A regression target in the model's output space: preprocessed like the images, sized like the output. */
function targetForOutput(run: Run, item: SplitItem): Float32Array | null {
  const t = item.target;
  if (!t) return null;
  const [oc, ...osp] = run.outDims;
  const where = item.labelFile ?? item.imageFile;
  if (t.dims[0] !== oc) {
    throw new LensError(
      `${where}: the target has ${t.dims[0]} channel${t.dims[0] === 1 ? '' : 's'} but the prediction output "${run.model.outputName}" of ${run.model.path} has ${oc}`,
      'data',
      where,
    );
  }
  return toModelInput(t, { ...run.cfg.input, channels: oc }, osp, where);
}

/** Regression: R = max − min of the train targets (else of the first labelled split's) in the output space. */
function targetRange(run: Run, sources: SplitSource[]): number | undefined {
  const src = sources.find((s) => s.name === 'train' && s.labeled) ?? sources.find((s) => s.labeled);
  if (!src) return undefined;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < src.count; i++) {
    checkCancel(run.cancel);
    const item = src.read(i);
    const t = targetForOutput(run, item);
    if (!t) continue;
    for (let j = 0; j < t.length; j++) {
      const v = t[j];
      if (!Number.isFinite(v)) {
        throw new LensError(`${item.labelFile ?? item.imageFile}: the target holds NaN or Inf values`, 'data', item.labelFile ?? item.imageFile);
      }
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  const R = max - min;
  if (!(R > 0)) {
    run.warnings.push(`Split "${src.name}": every target value is ${min}; PSNR and SSIM use the data range 1.`);
    return 1;
  }
  run.log(`regression: data range R = ${R} (max − min of the targets of split "${src.name}", preprocessed like the images)`);
  return R;
}

/* ------------------------------------------------------------------------------------------ */
/* The forward pass of a split                                                                  */
/* ------------------------------------------------------------------------------------------ */

async function forwardPass(run: Run, src: SplitSource, splitIndex: number, onBatch: (done: number) => void, po: PassOptions = {}): Promise<SplitPass> {
  const { cfg, settings, taps, C0, spatial } = run;
  const labeled = src.labeled && run.task !== 'regression';
  const byGt = labeled && !po.asUnlabeled;
  const numClasses = run.numClasses;
  const strata = Math.max(1, numClasses);
  const samplers = taps.map(
    (t, ti) => new StratifiedSampler({ maxPoints: po.maxPoints ?? settings.maxPoints, dim: t.C + t.prevDim, seed: streamSeed(settings.seed, ti, splitIndex), numStrata: strata }),
  );
  const outStats = run.task === 'regression' ? null : new OutputStatsAccumulator();
  const nonFinite = new Set<number>();
  const roughOff = new Map<number, string>();
  const seg = run.task === 'segmentation' && src.labeled ? new SegmentationAccumulator(numClasses) : null;
  const cls = run.task === 'classification' && src.labeled ? new AccuracyAccumulator() : null;
  const reg = run.task === 'regression' && src.labeled && run.dataRange !== undefined ? new RegressionAccumulator({ dataRange: run.dataRange }) : null;
  const inL = prod(spatial);
  const outSpatial = run.outDims.slice(1);
  const outPerImage = prod(run.outDims);
  const B = Math.max(1, settings.batchSize);

  for (let start = 0; start < src.count; start += B) {
    checkCancel(run.cancel);
    const n = Math.min(B, src.count - start);
    const batch = await runBatch(run, src, start, n, po);
    if (po.perBatch) await po.perBatch(batch, n);

    for (let b = 0; b < n; b++) {
      const item = batch.items[b];
      const out = batch.output.data.subarray(b * outPerImage, (b + 1) * outPerImage);
      const il = imageLabels(run, item, out, labeled);
      outStats?.add(out, run.outDims, run.activation!);
      if (seg && il.gt) {
        const gtAtOut = outSpatial.every((d, a) => d === spatial[a]) ? il.gt : poolLabels(il.gt, spatial, outSpatial, numClasses);
        seg.add(il.pred!, gtAtOut);
      } else if (cls && item.label) {
        cls.add([il.pred![0]], [item.label.data[0]]);
      } else if (reg) {
        const target = targetForOutput(run, item);
        if (target) reg.add(out, target, run.outDims);
      }

      const image = batch.input.subarray(b * C0 * inL, (b + 1) * C0 * inL);
      const cache: LabelCache = new Map();
      // the previous tap of this image, channel-major (C_prev × L_prev), and whether it is finite
      let prevView: Float32Array | null = null;
      let prevFinite = true;
      for (let ti = 0; ti < taps.length; ti++) {
        const tap = taps[ti];
        const t = batch.taps.get(tap.info.name);
        if (!t) throw new LensError(`the model run did not return tap ${tap.info.name}`, 'model', run.model.path);
        const L = prod(tap.dims);
        const view = t.data.subarray(b * tap.C * L, (b + 1) * tap.C * L);
        const finite = allFinite(view);
        if (!finite) nonFinite.add(ti);
        if (nonFinite.has(ti)) {
          prevView = view;
          prevFinite = finite;
          continue;
        }
        if (tap.prev && !prevFinite && !roughOff.has(ti)) roughOff.set(ti, taps[ti - 1].info.name);
        const lab = pointLabels(run, il, tap.dims, cache);
        if (!lab.stratum) {
          const stratum = new Int32Array(L);
          for (let l = 0; l < L; l++) stratum[l] = byGt ? Math.max(0, lab.gt[l]) : Math.max(0, Math.min(lab.pred[l], Math.max(0, numClasses - 1)));
          lab.stratum = stratum;
          lab.image = new Int32Array(L).fill(start + b);
        }
        // A point: the tap's C-vector at the location, then the previous tap's vector at the same
        // input location (or the input patch), written only for the points the sampler keeps.
        samplers[ti].addRows(L, rowFill(run, tap, view, prevView, image), lab.stratum, { gt: lab.gt, pred: lab.pred, image: lab.image!, loc: locations(L) });
        prevView = view;
        prevFinite = true;
      }
    }
    onBatch(start + n);
  }

  let perf: Performance | null = null;
  if (seg) {
    const s = seg.result();
    perf = { dice: s.dice, accuracy: s.accuracy, dicePerClass: s.dicePerClass };
  } else if (cls) {
    perf = { accuracy: cls.result().accuracy };
  } else if (reg) {
    const r = reg.result();
    perf = { mse: finiteOrNull(r.mse), psnr: finiteOrNull(r.psnr), ssim: finiteOrNull(r.ssim) };
  }
  return { samplers, nonFinite, roughOff, performance: perf, output: outStats?.result() ?? null };
}

const LOCATIONS = new Map<number, Int32Array>();
/** 0 … L−1 (shared, read-only). */
function locations(L: number): Int32Array {
  let a = LOCATIONS.get(L);
  if (!a) {
    a = Int32Array.from({ length: L }, (_, l) => l);
    LOCATIONS.set(L, a);
  }
  return a;
}

/**
 * Writes point l of a tap into `dst[off …]`: its C values (`view` is the image's C×L
 * activations, channel-major), then the previous tap's C_prev values at the location
 * `prevLoc[l]` (`prevView` channel-major), or for the first tap the input patch of its
 * receptive field (`inputPatchAt`).
 */
function rowFill(run: Run, tap: TapState, view: Float32Array, prevView: Float32Array | null, image: Float32Array): (l: number, dst: Float32Array, off: number) => void {
  const C = tap.C;
  const L = prod(tap.dims);
  const P = tap.prevDim;
  if (tap.prev && tap.prevLoc && prevView) {
    const Lp = prod(tap.prev.dims);
    const prevLoc = tap.prevLoc;
    return (l, dst, off) => {
      for (let c = 0; c < C; c++) dst[off + c] = view[c * L + l];
      const pl = prevLoc[l];
      const o = off + C;
      for (let c = 0; c < P; c++) dst[o + c] = prevView[c * Lp + pl];
    };
  }
  const { C0, spatial } = run;
  const r = Math.round(tap.dims.length === 3 ? Math.cbrt(P / C0) : Math.sqrt(P / C0));
  const side = Math.max(1, Math.round(r));
  return (l, dst, off) => {
    for (let c = 0; c < C; c++) dst[off + c] = view[c * L + l];
    inputPatchAt(image, C0, spatial, tap.dims, side, l, dst, off + C);
  };
}

function argmaxOrThreshold(scores: Float32Array, K: number, act: string): number {
  if (K === 1) return scores[0] > (act === 'probability' ? 0.5 : 0) ? 1 : 0;
  let best = 0;
  for (let k = 1; k < K; k++) if (scores[k] > scores[best]) best = k;
  return best;
}

/* ------------------------------------------------------------------------------------------ */
/* Metrics of a tap on a split                                                                  */
/* ------------------------------------------------------------------------------------------ */

type Sample = ReturnType<StratifiedSampler['finish']>;

async function tapMetrics(
  run: Run,
  tap: TapState,
  sample: Sample,
  splitName: string,
  isTrain: boolean,
  labeled: boolean,
  withRoughness: boolean,
  out: {
    /** Where the PCA basis (train) and rows go; without it, none are kept (the shift sweep). */
    pca?: Results['pca'];
    /** When given, also the predictor's derived metrics (knnDice, featureShiftFg) go here. */
    derived?: { knnDice: number | null; featureShiftFg: number | null };
    /** k-means++ initialisations of roughness. */
    kmeansInits: number;
  },
): Promise<TapMetrics> {
  const { settings, numClasses, gemm, topk } = run;
  const n = sample.n;
  const D = sample.dim;
  const C = tap.C;
  const P = new Float32Array(n * C);
  const Q = withRoughness ? new Float32Array(n * tap.prevDim) : null;
  for (let i = 0; i < n; i++) {
    P.set(sample.points.subarray(i * D, i * D + C), i * C);
    Q?.set(sample.points.subarray(i * D + C, (i + 1) * D), i * tap.prevDim);
  }
  const gt = sample.extras.gt as Int32Array;
  const pred = sample.extras.pred as Int32Array;
  const m: TapMetrics = { db: null, roughness: null, knnConfidence: null, featureShift: null, points: n };
  if (n === 0) return m;

  if (labeled) m.db = finiteOrNull(daviesBouldin(P, n, C, gt));
  const clusters = run.task === 'regression' ? REGRESSION_CLUSTERS : numClasses;
  if (Q && clusters >= 2 && n > clusters) {
    const r = roughness({ points: P, dim: C, prevPoints: Q, prevDim: tap.prevDim, n, k: clusters, seed: settings.seed, nInit: out.kmeansInits });
    m.roughness = finiteOrNull(r.value);
  }

  if (isTrain) {
    tap.ref = await buildTrainReferenceAsync({ points: P, n, dim: C, labels: labeled ? gt : null, k: settings.k, gemm, topk });
    tap.refImage = (sample.extras.image as Int32Array).slice();
    tap.refLoc = (sample.extras.loc as Int32Array).slice();
    tap.pca = fitPca(P, n, C, 3);
    if (out.pca) out.pca[tap.info.name].explainedVariance = tap.pca.explainedVarianceRatio.slice();
  }
  const ref = tap.ref;
  if (ref && ref.n > 1) {
    const neighbors = isTrain ? ref.self : await neighborsInTrainAsync(ref, P, n, { gemm, topk });
    if (ref.labels && numClasses >= 2) m.knnConfidence = finiteOrNull(knnConfidence({ ref, neighbors, predicted: pred }).mean);
    const fs = featureShift({ ref, neighbors });
    m.featureShift = finiteOrNull(fs.value);
    const d = out.derived;
    if (d && ref.labels && run.task === 'segmentation') d.knnDice = finiteOrNull(knnDice({ ref, neighbors, predicted: pred, numClasses }));
    if (d && run.task === 'segmentation' && fs.perPoint.length === n) d.featureShiftFg = finiteOrNull(foregroundShift(fs.perPoint, pred) ?? fs.value);
  } else if (!ref) {
    run.warnings.push(`Tap ${tap.info.name}: split "${splitName}": knnConfidence and featureShift left out (no train reference: the train activations of this tap hold NaN or Inf).`);
  }

  if (out.pca && tap.pca) {
    const proj = project(P, n, C, tap.pca);
    const width = proj.length / Math.max(1, n);
    const stride = Math.max(1, Math.ceil(n / PCA_ROWS));
    const rows: number[][] = [];
    for (let i = 0; i < n; i += stride) {
      rows.push([round(proj[i * width], 4), round(proj[i * width + 1], 4), round(proj[i * width + 2], 4), labeled ? gt[i] : pred[i]]);
    }
    out.pca[tap.info.name].points[splitName] = rows;
  }
  return m;
}

/* ------------------------------------------------------------------------------------------ */
/* Maps                                                                                         */
/* ------------------------------------------------------------------------------------------ */

/** Spatial knnConfidence maps of the first `mapsPerSplit` images of a split (see the file header). */
async function mapsPass(
  run: Run,
  src: SplitSource,
  isTrain: boolean,
  nonFinite: Set<number>,
  onImage: (done: number, total: number) => void,
): Promise<ImageMaps[]> {
  const { settings, taps, C0, spatial, numClasses } = run;
  const count = Math.min(Math.max(0, Math.floor(settings.mapsPerSplit)), src.count);
  if (count === 0 || run.task === 'regression' || numClasses < 2) return [];
  const usable = taps
    .map((tap, ti) => ({ tap, ti }))
    .filter(({ tap, ti }) => tap.ref && tap.ref.labels && tap.ref.n > 1 && !nonFinite.has(ti));
  if (usable.length === 0) return [];
  const labeled = src.labeled;
  const inL = prod(spatial);
  const outPerImage = prod(run.outDims);
  const inDepth = spatial.length === 3 ? spatial[0] : undefined;
  const B = Math.max(1, settings.batchSize);
  const items: ImageMaps[] = [];
  for (let start = 0; start < count; start += B) {
    checkCancel(run.cancel);
    const n = Math.min(B, count - start);
    const batch = await runBatch(run, src, start, n);
    for (let b = 0; b < n; b++) {
      const item = batch.items[b];
      const out = batch.output.data.subarray(b * outPerImage, (b + 1) * outPerImage);
      const il = imageLabels(run, item, out, labeled);
      const preview = greyPreview(batch.input.subarray(b * C0 * inL, (b + 1) * C0 * inL), C0, spatial);
      const pv = preview.dims;
      const size = pv[0] * pv[1];
      let label: number[] | null = null;
      let prediction: number[] | null = null;
      if (run.task === 'classification') {
        if (il.gt && il.gt[0] >= 0) label = new Array<number>(size).fill(il.gt[0]);
        prediction = new Array<number>(size).fill(il.pred![0]);
      } else {
        if (il.gt) label = labelPlane(il.gt, spatial, inDepth, pv, numClasses);
        prediction = labelPlane(il.pred!, run.outDims.slice(1), inDepth, pv, numClasses);
      }
      const confidence: ImageMaps['confidence'] = {};
      const cache: LabelCache = new Map();
      for (const { tap } of usable) {
        checkCancel(run.cancel);
        const t = batch.taps.get(tap.info.name)!;
        const pts = pointsOfImage(t, b);
        const z = tap.dims.length === 3 ? middleCell(inDepth ?? tap.dims[0], tap.dims[0]) : 0;
        const plane = planeOf(tap.dims, z);
        const nq = plane.dims[0] * plane.dims[1];
        const q = pts.subarray(plane.offset * tap.C, (plane.offset + nq) * tap.C);
        if (!allFinite(q)) continue;
        const { pred } = pointLabels(run, il, tap.dims, cache);
        const values = await confidenceAt(run, tap, q, nq, pred.subarray(plane.offset, plane.offset + nq), isTrain ? { image: start + b, offset: plane.offset } : null);
        const dims = mapSize(plane.dims);
        const stored = areaMean(values, plane.dims, dims);
        confidence[tap.info.name] = { dims, values: Array.from(stored, (v) => round(v, 4)) };
        await new Promise((r) => setImmediate(r));
      }
      items.push({ split: src.name, image: item.id, preview, label, prediction, confidence });
      onImage(start + b + 1, count);
    }
  }
  return items;
}

/**
 * knnConfidence of each of `nq` points (row-major, the tap's C-vectors) with predicted labels
 * `pred`: the share of its k nearest reference points whose train label equals its predicted
 * label. `self` (train only): the image index and the flat location of the first point, so a
 * point that is itself a reference point leaves itself out (as `ref.self`).
 */
async function confidenceAt(
  run: Run,
  tap: TapState,
  q: Float32Array,
  nq: number,
  pred: Int32Array,
  self: { image: number; offset: number } | null,
): Promise<Float64Array> {
  const ref = tap.ref!;
  const labels = ref.labels!;
  const k = run.settings.k;
  const kq = Math.min(self ? k + 1 : k, ref.n);
  const nb = await knnSearchAsync({ query: q, nq, ref: ref.points, nr: ref.n, dim: ref.dim, k: kq, gemm: run.gemm, topk: run.topk });
  let own: Int32Array | null = null;
  if (self) {
    own = new Int32Array(nq).fill(-1);
    const img = tap.refImage!;
    const loc = tap.refLoc!;
    for (let j = 0; j < ref.n; j++) {
      if (img[j] !== self.image) continue;
      const l = loc[j] - self.offset;
      if (l >= 0 && l < nq) own[l] = j;
    }
  }
  const out = new Float64Array(nq);
  for (let i = 0; i < nq; i++) {
    const me = own ? own[i] : -1;
    const want = Math.min(k, ref.n - (me >= 0 ? 1 : 0));
    let used = 0;
    let agree = 0;
    for (let j = 0; j < nb.k && used < want; j++) {
      const r = nb.indices[i * nb.k + j];
      if (r === me) continue;
      used++;
      if (labels[r] === pred[i]) agree++;
    }
    out[i] = used > 0 ? agree / used : 0;
  }
  return out;
}

function finiteOrNull(v: number | null | undefined): number | null {
  return v === null || v === undefined || !Number.isFinite(v) ? null : v;
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/* ------------------------------------------------------------------------------------------ */
/* Performance without labels (METHOD.md §5)                                                    */
/* ------------------------------------------------------------------------------------------ */

/** The performance the sweep predicts, and its range. */
function targetMetric(task: Task): { metric: string; bounds: [number, number] } {
  if (task === 'classification') return { metric: 'accuracy', bounds: [0, 1] };
  if (task === 'regression') return { metric: 'ssim', bounds: [-1, 1] };
  return { metric: 'dice', bounds: [0, 1] };
}

/** A view of some items of a split, under a name. */
function subsetSource(src: SplitSource, name: string, indices: number[]): SplitSource {
  return { name, count: indices.length, ids: indices.map((i) => src.ids[i]), labeled: src.labeled, notes: [], read: (i) => src.read(indices[i]) };
}

/** At most `max` items of several splits, evenly strided over their concatenation. */
function concatSources(name: string, srcs: SplitSource[], max: number): SplitSource {
  const all: { s: SplitSource; i: number }[] = [];
  for (const s of srcs) for (let i = 0; i < s.count; i++) all.push({ s, i });
  const n = Math.min(all.length, Math.max(1, Math.floor(max)));
  const pick = Array.from({ length: n }, (_, j) => all[Math.floor((j * all.length) / n)]);
  return {
    name,
    count: n,
    ids: pick.map((p) => `${p.s.name}/${p.s.ids[p.i]}`),
    labeled: true,
    notes: [],
    read: (j) => pick[j].s.read(pick[j].i),
  };
}

/** Least train images for a held-out part to be taken from train. */
const MIN_TRAIN_FOR_HOLDOUT = 8;

interface CalibrationPlan {
  /** The images the sweep shifts (null: no sweep). */
  source: SplitSource | null;
  /** The labelled splits they come from. */
  splits: string[];
  heldOut: boolean;
  /** When a part of train is held out: train without it. */
  trainKept: SplitSource | null;
}

/**
 * What the sweep shifts: the labelled splits other than train (at most `images` of them,
 * evenly strided); when train is the only labelled split, its last fifth (≥ 2 images), which
 * then stays out of train's pass and of the train reference.
 */
function calibrationPlan(sh: ShiftSettings, sources: SplitSource[], train: SplitSource, log: (m: string) => void, warnings: string[]): CalibrationPlan {
  const none: CalibrationPlan = { source: null, splits: [], heldOut: false, trainKept: null };
  if (sh.enabled === false) return none;
  if (sh.families.length < 2) {
    warnings.push('Performance without labels: analysis.shifts.families needs at least 2 families (the interval leaves one family out at a time); the shift sweep was not run.');
    return none;
  }
  const labelled = sources.filter((s) => s !== train && s.labeled);
  if (labelled.length) return { source: concatSources(labelled.map((s) => s.name).join(' + '), labelled, sh.images), splits: labelled.map((s) => s.name), heldOut: false, trainKept: null };
  if (train.labeled && train.count >= MIN_TRAIN_FOR_HOLDOUT) {
    const h = Math.max(2, Math.round(train.count / 5));
    const keep = Array.from({ length: train.count - h }, (_, i) => i);
    const held = Array.from({ length: h }, (_, i) => train.count - h + i);
    const heldSrc = subsetSource(train, 'train (held out)', held);
    log(`performance without labels: train is the only labelled split; its last ${h} images are held out of the train reference and shifted`);
    return { source: concatSources('train (held out)', [heldSrc], sh.images), splits: ['train'], heldOut: true, trainKept: subsetSource(train, 'train', keep) };
  }
  const why = `there is no labelled split besides train, and train has ${train.labeled ? `only ${train.count} images (a held-out part needs ${MIN_TRAIN_FOR_HOLDOUT})` : 'no labels'}`;
  if (sh.enabled === true) warnings.push(`Performance without labels: ${why}; the shift sweep was not run.`);
  else log(`performance without labels: skipped (${why})`);
  return none;
}

/** The label-free metrics of every tap on one pass (no PCA rows, no db). */
async function labelFreeFeatures(run: Run, pass: SplitPass, name: string): Promise<{ [tap: string]: LabelFreeMetrics }> {
  const out: { [tap: string]: LabelFreeMetrics } = {};
  for (let ti = 0; ti < run.taps.length; ti++) {
    checkCancel(run.cancel);
    const tap = run.taps[ti];
    const sampler = pass.samplers[ti];
    pass.samplers[ti] = null;
    if (pass.nonFinite.has(ti) || !sampler) {
      out[tap.info.name] = { roughness: null, knnConfidence: null, featureShift: null, knnDice: null, featureShiftFg: null };
      continue;
    }
    const derived = { knnDice: null as number | null, featureShiftFg: null as number | null };
    const m = await tapMetrics(run, tap, sampler.finish(), name, false, false, !pass.roughOff.has(ti), { derived, kmeansInits: SWEEP_KMEANS_INITS });
    out[tap.info.name] = { roughness: m.roughness, knnConfidence: m.knnConfidence, featureShift: m.featureShift, ...derived };
    await new Promise((r) => setImmediate(r));
  }
  return out;
}

/**
 * METHOD.md §5: every shifted copy of the calibration images measured as if unlabelled (the
 * labels only give its true performance), every unlabelled split measured the same way, then
 * the predictors (shift/withoutLabels.ts).
 */
async function shiftSweep(
  run: Run,
  calib: SplitSource,
  calibSplits: string[],
  heldOut: boolean,
  unlabeled: SplitSource[],
  progress: (e: ProgressEvent) => void,
  train: SplitSource | null = null,
): Promise<NonNullable<Results['performanceWithoutLabels']>> {
  const t0 = performance.now();
  const sh = run.settings.shifts;
  const { metric, bounds } = targetMetric(run.task);
  const families = sh.families.filter((f) => familyApplies(f, run.task));
  const shifts = sweepShifts(families, sh.mixes, run.settings.seed);
  const seg = run.task === 'segmentation';
  const tta = seg ? Math.max(0, Math.min(sh.tta ?? 0, ttaCount(run.spatial))) : 0;
  const augMaps = Array.from({ length: tta }, (_, k) => augmentMap(run.spatial, k));
  const outMaps = Array.from({ length: tta }, (_, k) => inverseMap(augmentMap(run.outDims.slice(1), k)));
  const dataDir = nodePath.dirname(run.cfg.path);
  /** Per image: output features (with the test-time augmentations) and, for labelled images, its own Dice. */
  const perImage = (records: ImageRecord[]) => async (batch: Batch, n: number): Promise<void> => {
    const { C0, spatial } = run;
    const inL = prod(spatial);
    const outPerImage = prod(run.outDims);
    const outSpatial = run.outDims.slice(1);
    const augMasks: Uint8Array[][] = Array.from({ length: n }, () => []);
    for (let k = 0; k < tta; k++) {
      const x = new Float32Array(batch.input.length);
      const map = augMaps[k];
      for (let b = 0; b < n; b++)
        for (let c = 0; c < C0; c++) {
          const off = (b * C0 + c) * inL;
          for (let i = 0; i < inL; i++) x[off + i] = batch.input[off + map[i]];
        }
      const { output } = await run.model.run({ data: x, dims: [n, C0, ...spatial] }, { taps: [] });
      for (let b = 0; b < n; b++) {
        const m = outputMask(output.data.subarray(b * outPerImage, (b + 1) * outPerImage), run.outDims, run.activation!);
        const back = new Uint8Array(m.length);
        const inv = outMaps[k];
        for (let i = 0; i < m.length; i++) back[i] = m[inv[i]];
        augMasks[b].push(back);
      }
    }
    for (let b = 0; b < n; b++) {
      const item = batch.items[b];
      const out = batch.output.data.subarray(b * outPerImage, (b + 1) * outPerImage);
      let gt: Int32Array | null = null;
      if (item.label) {
        const g = toLabelMap(item.label, spatial, run.cfg.input.resize);
        gt = outSpatial.every((d, a) => d === spatial[a]) ? g : poolLabels(g, spatial, outSpatial, run.numClasses);
      }
      const o = imageOutput(out, run.outDims, run.activation!, gt, augMasks[b]);
      let dice: number | null = null;
      if (gt) {
        const pm = outputMask(out, run.outDims, run.activation!);
        let any = false;
        for (let i = 0; i < gt.length && !any; i++) any = pm[i] > 0 || gt[i] > 0;
        dice = any ? maskDice(pm, gt) : null;
      }
      records.push({ id: item.id, file: nodePath.relative(dataDir, item.imageFile) || item.imageFile, dice, out: o });
    }
  };
  const measure = async (src: SplitSource, streamIndex: number, po: PassOptions): Promise<CopyMeasure> => {
    const records: ImageRecord[] = [];
    const pass = await forwardPass(run, src, streamIndex, () => undefined, { ...po, asUnlabeled: true, maxPoints: sh.maxPoints, ...(seg ? { perBatch: perImage(records) } : {}) });
    const perf = pass.performance?.[metric];
    return {
      performance: typeof perf === 'number' && Number.isFinite(perf) ? perf : null,
      images: src.count,
      output: pass.output,
      features: await labelFreeFeatures(run, pass, src.name),
      ...(seg ? { perImage: records } : {}),
    };
  };
  // The training labels' objects (counts and sizes), for the object-statistics features.
  let trainObjects = null;
  if (seg && train?.labeled) {
    const masks: { mask: Int32Array; spatial: readonly number[] }[] = [];
    for (let i = 0; i < train.count; i++) {
      checkCancel(run.cancel);
      const item = train.read(i);
      if (!item.label) continue;
      const g = toLabelMap(item.label, run.spatial, run.cfg.input.resize);
      masks.push({ mask: g, spatial: run.spatial });
    }
    trainObjects = labelObjects(masks);
  }
  const total = shifts.length + unlabeled.length;
  const copies: { shift: Shift; measure: CopyMeasure }[] = [];
  for (let c = 0; c < shifts.length; c++) {
    checkCancel(run.cancel);
    const label = shiftLabel(shifts[c]);
    progress({ stage: 'metrics', message: `Shift sweep: ${label}`, done: c, total });
    let m: CopyMeasure;
    try {
      m = await measure(calib, 1000 + c, { shift: shifts[c], copy: c });
    } catch (e) {
      // A shift can push the model where its prediction is not finite (e.g. sqrt or log of a
      // negative input): that copy is left out, the rest of the sweep goes on.
      if (!(e instanceof LensError) || e.kind !== 'model') throw e;
      run.warnings.push(`Performance without labels: the shifted copy "${label}" was left out: ${e.message}.`);
      run.log(`shift sweep: ${label}: left out (${e.message})`);
      continue;
    }
    copies.push({ shift: shifts[c], measure: m });
    run.log(`shift sweep: ${label}: ${metric} ${m.performance?.toFixed(4) ?? 'n/a'}`);
  }
  const splits: { name: string; measure: CopyMeasure }[] = [];
  for (let u = 0; u < unlabeled.length; u++) {
    checkCancel(run.cancel);
    progress({ stage: 'metrics', message: `Label-free features: ${unlabeled[u].name}`, split: unlabeled[u].name, done: shifts.length + u, total });
    splits.push({ name: unlabeled[u].name, measure: await measure(unlabeled[u], 2000 + u, {}) });
  }
  const strengths: { [family: string]: number[] } = {};
  for (const f of families) strengths[f] = DEFAULT_STRENGTHS[f].slice();
  return assemble({
    metric,
    bounds,
    taps: run.taps.map((t) => ({ name: t.info.name, stage: t.info.stage })),
    calibration: {
      splits: calibSplits,
      images: calib.count,
      heldOutOfTrain: heldOut,
      ...(heldOut ? { note: `train is the only labelled split: its last ${calib.count} images were held out of the train reference and shifted` } : {}),
    },
    settings: { maxPoints: sh.maxPoints, kmeansInits: SWEEP_KMEANS_INITS, families: families.slice(), strengths, ...(seg ? { tta } : {}) },
    copies,
    splits,
    trainObjects,
    timingMs: performance.now() - t0,
  });
}
