/**
 * The pipeline: model + dataset file → results (CONTRACT.md §3), per METHOD.md §1–§4.
 *
 * Streaming, split by split (`train` first, as it is the reference): each batch of images
 * is run once with every tap requested; at every tap each location becomes a point
 * (its C-vector, plus the previous tap's vector at the same input location for roughness),
 * labelled by the area-pooled mask and the pooled prediction, and fed to a per-tap
 * stratified sampler. Memory: about `maxPoints × (C + C_prev)` floats per tap and stratum
 * for the split in progress, plus the train reference of each tap, plus one batch of
 * activations. After a split's pass its metrics are computed tap by tap and its points
 * dropped (only the PCA rows are kept).
 */
import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';
import { loadDatasetFile } from './data/datasetFile';
import { listSplit, type SplitItem, type SplitSource } from './data/splits';
import { toModelInput, toLabelMap } from './data/preprocess';
import { loadModel, type LoadedModel } from './model/load';
import {
  StratifiedSampler,
  SegmentationAccumulator,
  AccuracyAccumulator,
  buildTrainReferenceAsync,
  neighborsInTrainAsync,
  createOnnxGemm,
  type AsyncGemm,
  knnConfidence,
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
import { allFinite, inputPatches, pointsOfImage, prod, resolveActivation } from './points';
import {
  LensError,
  METHOD_VERSION,
  RESULTS_SCHEMA,
  type AnalysisSettings,
  type CancelToken,
  type DatasetConfig,
  type Performance,
  type ProgressEvent,
  type Results,
  type SplitResult,
  type TapInfo,
  type TapMetrics,
  type Tensor,
} from './types';

export interface AnalyzeOptions {
  overrides?: Partial<Pick<AnalysisSettings, 'maxPoints' | 'seed' | 'k' | 'maxTaps' | 'batchSize'>>;
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
/** Largest side of the input patch used as the "previous tap" of the first tap. */
const MAX_FIRST_PATCH = 9;

const TOOL_VERSION = '0.1.0';

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
  pca?: PcaModel;
}

interface SplitPass {
  samplers: StratifiedSampler[];
  /** Taps whose activations held NaN/Inf in this split. */
  nonFinite: Set<number>;
  performance: Performance | null;
  images: number;
}

export async function analyze(modelPath: string, datasetPath: string, opts: AnalyzeOptions = {}): Promise<Results> {
  const t0 = performance.now();
  const progress = (e: ProgressEvent) => opts.onProgress?.(e);
  const log = (m: string) => opts.log?.(m);
  const warnings: string[] = [];

  progress({ stage: 'load', message: 'Reading the dataset file' });
  const cfg = loadDatasetFile(datasetPath);
  const settings: AnalysisSettings = { ...cfg.analysis, ...definedOnly(opts.overrides ?? {}) };
  const sources: SplitSource[] = cfg.splits.map((s) => listSplit(cfg, s));
  for (const s of sources) for (const note of s.notes) log(`split "${s.name}": ${note}`);
  const train = sources.find((s) => s.name === 'train');
  if (!train) throw new LensError(`${datasetPath}: the dataset file has no "train" split`, 'dataset', datasetPath);
  if (train.count === 0) throw new LensError(`split "train" has no images`, 'data', datasetPath);
  for (const s of sources) if (s.count === 0) throw new LensError(`split "${s.name}" has no images`, 'data', datasetPath);

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
    // kNN distance products run through onnxruntime's Gemm (BLAS-class kernels), not JS loops.
    const gemm = await createOnnxGemm(ort, {
      graphOptimizationLevel: 'all',
      logSeverityLevel: 4,
      ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}),
    });
    const taps = buildTapStates(model, modelSpatial);

    const results: Results = {
      schema: RESULTS_SCHEMA,
      methodVersion: METHOD_VERSION,
      createdAt: new Date().toISOString(),
      tool: { name: 'unet-lens', version: TOOL_VERSION, backend: `onnxruntime-node ${ortVersion()} (cpu)` },
      model: { path: modelPath, sha256: model.sha256, format: 'onnx', inputs: model.inputs, outputs: model.outputs },
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

    const totalImages = sources.reduce((a, s) => a + s.count, 0);
    let imagesDone = 0;
    let forwardMs = 0;
    let metricsMs = 0;
    for (let si = 0; si < sources.length; si++) {
      const src = sources[si];
      const tf = performance.now();
      const pass = await forwardPass(cfg, settings, model, taps, src, si, numClasses, modelSpatial, opts.cancel, (done) =>
        progress({ stage: 'forward', message: `Forward passes: ${src.name}`, split: src.name, done: imagesDone + done, total: totalImages }),
      );
      imagesDone += src.count;
      forwardMs += performance.now() - tf;

      const tm = performance.now();
      const split: SplitResult = { name: src.name, labeled: src.labeled, images: src.count, performance: pass.performance };
      results.splits.push(split);
      results.metrics[src.name] = {};
      for (let ti = 0; ti < taps.length; ti++) {
        checkCancel(opts.cancel);
        const tap = taps[ti];
        progress({ stage: 'metrics', message: `Metrics: ${src.name}, ${shortName(tap.info.name)}`, split: src.name, tap: tap.info.name, done: ti, total: taps.length });
        if (pass.nonFinite.has(ti)) {
          warnings.push(`Tap ${tap.info.name}: split "${src.name}": activations hold NaN or Inf; metrics left out for this tap and split.`);
          results.metrics[src.name][tap.info.name] = { db: null, roughness: null, knnConfidence: null, featureShift: null, points: 0 };
          continue;
        }
        const sample = pass.samplers[ti].finish();
        results.metrics[src.name][tap.info.name] = await tapMetrics(gemm, tap, sample, src.name === 'train', src.labeled && cfg.task !== 'regression', numClasses, settings, results, warnings);
        // Let the event loop breathe between taps (progress messages, cancellation).
        await new Promise((r) => setImmediate(r));
      }
      metricsMs += performance.now() - tm;
    }
    results.timings = { totalMs: Math.round(performance.now() - t0), loadMs: Math.round(loadMs), forwardMs: Math.round(forwardMs), metricsMs: Math.round(metricsMs) };
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

async function forwardPass(
  cfg: DatasetConfig,
  settings: AnalysisSettings,
  model: LoadedModel,
  taps: TapState[],
  src: SplitSource,
  splitIndex: number,
  numClasses: number,
  spatial: number[],
  cancel: CancelToken | undefined,
  onBatch: (done: number) => void,
): Promise<SplitPass> {
  const labeled = src.labeled && cfg.task !== 'regression';
  const strata = Math.max(1, numClasses);
  const samplers = taps.map(
    (t, ti) => new StratifiedSampler({ maxPoints: settings.maxPoints, dim: t.C + t.prevDim, seed: streamSeed(settings.seed, ti, splitIndex), numStrata: strata }),
  );
  const nonFinite = new Set<number>();
  const seg = cfg.task === 'segmentation' && src.labeled ? new SegmentationAccumulator(numClasses) : null;
  const cls = cfg.task === 'classification' && src.labeled ? new AccuracyAccumulator() : null;
  const C0 = model.inputDims[0];
  const inL = prod(spatial);
  const B = Math.max(1, settings.batchSize);
  let activation: ReturnType<typeof resolveActivation> | undefined;

  for (let start = 0; start < src.count; start += B) {
    if (cancel?.cancelled) throw new LensError('Analysis cancelled.', 'cancelled');
    const n = Math.min(B, src.count - start);
    const items: SplitItem[] = [];
    const batch = new Float32Array(n * C0 * inL);
    for (let b = 0; b < n; b++) {
      const item = src.read(start + b);
      items.push(item);
      const x = toModelInput(item.image, cfg.input, spatial, item.imageFile);
      if (x.length !== C0 * inL) {
        throw new LensError(`${item.imageFile}: preprocessed to ${x.length} values, the model takes ${C0}×${spatial.join('×')}`, 'data', item.imageFile);
      }
      batch.set(x, b * C0 * inL);
    }
    const input: Tensor = { data: batch, dims: [n, C0, ...spatial] };
    const { output, taps: tapOut } = await model.run(input);

    const outSpatial = output.dims.slice(2);
    const outPerImage = prod(output.dims.slice(1));
    if (!allFinite(output.data)) {
      throw new LensError(`the model's prediction output "${model.outputName}" holds NaN or Inf for images ${items.map((i) => i.id).join(', ')} of split "${src.name}"`, 'model', model.path);
    }
    activation ??= resolveActivation(cfg.model.activation, output.dims[1], output.data.subarray(0, outPerImage));

    for (let b = 0; b < n; b++) {
      const item = items[b];
      // Prediction: per pixel (segmentation) or per image (classification).
      let predMap: Int32Array;
      let gtMap: Int32Array | null = null;
      let gtDims = spatial;
      if (cfg.task === 'classification') {
        const scores = output.data.subarray(b * outPerImage, (b + 1) * outPerImage);
        predMap = Int32Array.of(argmaxOrThreshold(scores, output.dims[1], activation));
        if (cls && item.label) cls.add([predMap[0]], [item.label.data[0]]);
      } else {
        const per = output.data.subarray(b * outPerImage, (b + 1) * outPerImage);
        predMap = cfg.task === 'segmentation' ? predictedLabels(per, output.dims.slice(1), activation) : new Int32Array(prod(outSpatial));
        if (labeled && item.label) {
          gtMap = toLabelMap(item.label, spatial, cfg.input.resize);
          gtDims = spatial;
          if (seg) {
            const gtAtOut = outSpatial.every((d, a) => d === spatial[a]) ? gtMap : poolLabels(gtMap, spatial, outSpatial, numClasses);
            seg.add(predMap, gtAtOut);
          }
        }
      }

      const image = batch.subarray(b * C0 * inL, (b + 1) * C0 * inL);
      let prevPoints: Float32Array | null = null;
      for (let ti = 0; ti < taps.length; ti++) {
        const tap = taps[ti];
        const t = tapOut.get(tap.info.name);
        if (!t) throw new LensError(`the model run did not return tap ${tap.info.name}`, 'model', model.path);
        const pts = pointsOfImage(t, b);
        const L = prod(tap.dims);
        if (nonFinite.has(ti) || !allFinite(pts)) {
          nonFinite.add(ti);
          prevPoints = pts;
          continue;
        }
        // Labels of the points.
        let gt: Int32Array;
        let pred: Int32Array;
        if (cfg.task === 'classification') {
          gt = new Int32Array(L).fill(item.label ? item.label.data[0] : -1);
          pred = new Int32Array(L).fill(predMap[0]);
        } else if (cfg.task === 'segmentation') {
          gt = gtMap ? poolLabels(gtMap, gtDims, tap.dims, numClasses) : new Int32Array(L).fill(-1);
          pred = poolLabels(predMap, outSpatial, tap.dims, numClasses);
        } else {
          gt = new Int32Array(L).fill(-1);
          pred = new Int32Array(L);
        }
        // The previous tap's vector at the same input location.
        const D = tap.C + tap.prevDim;
        const rows = new Float32Array(L * D);
        let prevRows: Float32Array;
        if (tap.prev && tap.prevLoc && prevPoints) {
          prevRows = prevPoints;
        } else {
          const side = Math.sqrt(tap.prevDim / C0);
          prevRows = inputPatches(image, C0, spatial, tap.dims, Math.round(tap.dims.length === 3 ? Math.cbrt(tap.prevDim / C0) : side)).data;
        }
        for (let l = 0; l < L; l++) {
          rows.set(pts.subarray(l * tap.C, (l + 1) * tap.C), l * D);
          const pl = tap.prevLoc ? tap.prevLoc[l] : l;
          rows.set(prevRows.subarray(pl * tap.prevDim, (pl + 1) * tap.prevDim), l * D + tap.C);
        }
        const stratum = new Int32Array(L);
        for (let l = 0; l < L; l++) stratum[l] = labeled ? Math.max(0, gt[l]) : Math.max(0, Math.min(pred[l], Math.max(0, numClasses - 1)));
        const loc = new Int32Array(L);
        for (let l = 0; l < L; l++) loc[l] = l;
        samplers[ti].add(rows, stratum, { gt, pred, image: new Int32Array(L).fill(start + b), loc });
        prevPoints = pts;
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
  }
  return { samplers, nonFinite, performance: perf, images: src.count };
}

function argmaxOrThreshold(scores: Float32Array, K: number, act: string): number {
  if (K === 1) return scores[0] > (act === 'probability' ? 0.5 : 0) ? 1 : 0;
  let best = 0;
  for (let k = 1; k < K; k++) if (scores[k] > scores[best]) best = k;
  return best;
}

type Sample = ReturnType<StratifiedSampler['finish']>;

async function tapMetrics(
  gemm: AsyncGemm,
  tap: TapState,
  sample: Sample,
  isTrain: boolean,
  labeled: boolean,
  numClasses: number,
  settings: AnalysisSettings,
  results: Results,
  warnings: string[],
): Promise<TapMetrics> {
  const n = sample.n;
  const D = sample.dim;
  const C = tap.C;
  const P = new Float32Array(n * C);
  const Q = new Float32Array(n * tap.prevDim);
  for (let i = 0; i < n; i++) {
    P.set(sample.points.subarray(i * D, i * D + C), i * C);
    Q.set(sample.points.subarray(i * D + C, (i + 1) * D), i * tap.prevDim);
  }
  const gt = sample.extras.gt as Int32Array;
  const pred = sample.extras.pred as Int32Array;
  const m: TapMetrics = { db: null, roughness: null, knnConfidence: null, featureShift: null, points: n };
  if (n === 0) return m;

  if (labeled) m.db = finiteOrNull(daviesBouldin(P, n, C, gt));
  if (numClasses >= 2 && n > numClasses) {
    const r = roughness({ points: P, dim: C, prevPoints: Q, prevDim: tap.prevDim, n, k: numClasses, seed: settings.seed, nInit: KMEANS_INITS });
    m.roughness = finiteOrNull(r.value);
  }

  if (isTrain) {
    tap.ref = await buildTrainReferenceAsync({ points: P, n, dim: C, labels: labeled ? gt : null, k: settings.k, gemm });
    tap.pca = fitPca(P, n, C, 3);
    results.pca[tap.info.name].explainedVariance = tap.pca.explainedVarianceRatio.slice();
  }
  const ref = tap.ref;
  if (ref && ref.n > 1) {
    const neighbors = isTrain ? ref.self : await neighborsInTrainAsync(ref, P, n, { gemm });
    if (ref.labels && numClasses >= 2) m.knnConfidence = finiteOrNull(knnConfidence({ ref, neighbors, predicted: pred }).mean);
    m.featureShift = finiteOrNull(featureShift({ ref, neighbors }).value);
  } else if (!ref) {
    warnings.push(`Tap ${tap.info.name}: no train reference (train activations were not usable); label-free metrics left out.`);
  }

  if (tap.pca) {
    const proj = project(P, n, C, tap.pca);
    const width = proj.length / Math.max(1, n);
    const stride = Math.max(1, Math.ceil(n / PCA_ROWS));
    const rows: number[][] = [];
    for (let i = 0; i < n; i += stride) {
      rows.push([round(proj[i * width], 4), round(proj[i * width + 1], 4), round(proj[i * width + 2], 4), labeled ? gt[i] : pred[i]]);
    }
    const split = Object.keys(results.metrics).at(-1)!;
    results.pca[tap.info.name].points[split] = rows;
  }
  return m;
}

function finiteOrNull(v: number | null | undefined): number | null {
  return v === null || v === undefined || !Number.isFinite(v) ? null : v;
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
