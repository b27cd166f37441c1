/**
 * The pipeline: model + dataset file → results (CONTRACT.md §3), per METHOD.md §1–§4.
 *
 * ## Passes
 *
 * Split by split, `train` first (it is the reference): each batch of images is run once with
 * every tap requested; at every tap each location becomes a point (its C-vector, plus the
 * previous tap's vector at the same input location for roughness), labelled by the
 * area-pooled mask and the pooled prediction, and fed to a per-tap stratified sampler
 * (forwardPass.ts). After train's pass, the train reference of every tap is built from its
 * points, once, each just before train's metrics of that tap (trainReference.ts), and handed
 * to every split's metrics, maps and the shift sweep. After a split's pass its metrics are computed tap by tap and its points dropped
 * (only the PCA rows are kept; tapMetrics.ts). Then the spatial maps of the split's first
 * `analysis.mapsPerSplit` images are measured (maps.ts) from the query rows their batches
 * left in the split's own pass (`mapsCapture`: no second model run); train's own maps use the
 * same final reference as every other split. A split after train has that reference from the
 * start, so its maps are measured batch by batch inside its pass (`mapsAsTheyCome`: the same
 * jobs and numbers, and the query rows gone before the next batch runs).
 *
 * With the shift sweep on (METHOD.md §5), an unlabelled split's pass also draws the sweep's
 * own sample of every tap (its streams and `shifts.maxPoints`) from the same rows and the
 * per-image output features (sweep.ts `sharedMeasure`), so each of its images runs through
 * the model once (plus the sweep's test-time-augmented passes, output only); its label-free
 * features are computed right after its metrics, and only they wait for the sweep.
 *
 * ## The split cache
 *
 * With `opts.cacheDir` (the CLI's `--cache`, the extension's `unetLens.reuseSplits`), each split
 * is first looked up in the per-split cache (splitCache.ts): one measured before with this model,
 * these settings, this train and the same files is read back (its results entries, train's
 * reference, its sweep measure), not run; so are the sweep's shifted copies. What is measured is
 * written there as it completes, so a cancelled run keeps its finished splits for the next one.
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
 *   returns them; fewer images per batch when that would pass a quarter of the memory
 *   budget, limits.ts `batchForMemory`) and, per image and tap, a few transient arrays of that tap's size;
 * - the maps' inputs of the split in progress, from its pass until its maps: for its first
 *   `mapsPerSplit` images, per tap at most `mapGrid`² rows of C float32 (maps.ts `mapsCapture`;
 *   train's until its maps, every other split's only until the end of their batch);
 * - the kNN scratch of one search (a block of at most 2²² float32 distance products);
 * - the results themselves (≤ 1000 PCA rows per tap and split, the maps);
 * - the thumbnails of the unlabelled splits' images until the sweep has ranked them (segmentation;
 *   at most 64² grey values and labels, about 20 kB an image: the one part that grows with the
 *   number of images, 20 MB for 1000).
 * Apart from the thumbnails, nothing grows with the number of images. Point values are
 * copied only for the points the sampler keeps (`StratifiedSampler.addRows`), straight from the batch's activations.
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
 * ## The prediction output (`model.activation`): see batch.ts.
 *
 * ## Maps (`results.maps.items`): see maps.ts.
 *
 * ## Robustness
 *
 * A tap whose activations hold NaN/Inf on a split gets null metrics there (and no points);
 * the next tap's roughness, which reads it, too; each case is named in `warnings`. A NaN/Inf
 * in the prediction output or in a preprocessed image stops the analysis with a LensError
 * naming the model or the image. Nothing is written unless the analysis completes.
 */
import * as path from 'node:path';
import * as os from 'node:os';
import { computeVerdict, IMAGES_TO_LABEL } from '../verdict';
import * as ort from 'onnxruntime-node';
import { loadDatasetFile } from '../data/datasetFile';
import { listSplit, type SplitSource } from '../data/splits';
import { loadModel } from '../model/load';
import { createOnnxGemm, createOnnxTopk } from '../metrics';
import { batchForMemory, formatBytes, memoryBudgetBytes } from '../limits';
import { LensError, METHOD_VERSION, RESULTS_SCHEMA, type ImageMaps, type ProgressEvent, type Results, type TapMetrics } from '../types';
import {
  buildTapStates,
  checkCancel,
  checkOutputShape,
  finiteOrNull,
  firstImageSpatial,
  KMEANS_INITS,
  ortVersion,
  resolveSettings,
  round,
  TOOL_VERSION,
  type AnalyzeOptions,
  type Run,
} from './context';
import { targetRange, type Batch } from './batch';
import { finishSamples, forwardPass } from './forwardPass';
import type { TapReference, TrainReferences } from './trainReference';
import { splitMetrics } from './tapMetrics';
import { attachThumbs, mapsAsTheyCome, mapsCapture, mapsCount, mapsPass, thumbsCapture, worstMaps, type SplitThumbs } from './maps';
import { calibrationPlan, sharedMeasure, shiftSweep, type CachedCopies, type SharedMeasure } from './sweep';
import { createTapPool, tapLanes, tapThreadScript, type TapPool } from './tapPool';
import { contextOf, jobRunner, setJobs } from './tapJobs';
import { openSplitCache, splitStamps } from './splitCache';

export type { AnalyzeOptions } from './context';

/**
 * Least time between two partial results streamed tap by tap (`AnalyzeOptions.onPartial`):
 * each is the whole results so far, serialised to the host and drawn again by the panel.
 */
const PARTIAL_EVERY_MS = 3000;

/** What the split cache keeps of one split (splitCache.ts). */
interface CachedSplit {
  split: Results['splits'][number];
  metrics: { [tap: string]: TapMetrics };
  pca: { [tap: string]: Results['pca'][string]['points'][string] };
  maps: ImageMaps[];
  warnings: string[];
  /** Train: the reference of every tap, and how the output was read. */
  reference?: TrainReferences;
  activation?: Run['activation'];
  /** An unlabelled split the sweep reads: its sweep measure, and its images' thumbnails (segmentation). */
  shared?: SharedMeasure;
  thumbs?: SplitThumbs;
  /** The taps whose activations held NaN/Inf in this split (left out of its metrics and maps). */
  nonFinite?: number[];
}

export async function analyze(modelPath: string, datasetPath: string, opts: AnalyzeOptions = {}): Promise<Results> {
  const t0 = performance.now();
  const progress = (e: ProgressEvent) => opts.onProgress?.(e);
  const log = (m: string) => opts.log?.(m);
  const warnings: string[] = [];

  // Settings: the dataset file, the caller's overrides, the splits (train first).
  progress({ stage: 'load', message: 'Reading the dataset file' });
  const cfg = loadDatasetFile(datasetPath);
  const settings = resolveSettings(cfg, opts.overrides);
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

  // The model.
  progress({ stage: 'load', message: 'Loading the model' });
  checkCancel(opts.cancel);
  const model = await loadModel(modelPath, {
    taps: settings.taps,
    maxTaps: settings.maxTaps,
    output: cfg.model.output,
    inputDims,
    threads: opts.threads,
  });
  let pool: TapPool | null = null;
  try {
    const loadMs = performance.now() - t0;
    log(`model ${modelPath}: ${model.taps.length} taps (${model.tapsLeftOut.length} left out), input ${model.inputName} [${model.inputDims.join(', ')}], prediction ${model.outputName} [${model.outputDims.join(', ')}]${model.shapeProbe ? `; shapes from ${model.shapeProbe}` : ''}`);
    // Not an encoder–decoder (a single convolution, a plain CNN): say so rather than draw a
    // one-tap "U" without comment.
    const downsampled = model.taps.some((t) => t.level > 0);
    if (model.taps.length < 3 || !downsampled) {
      warnings.push(
        `${path.basename(modelPath)}: ${model.taps.length} tap${model.taps.length === 1 ? '' : 's'}${downsampled ? '' : ', none down-sampled'}: ` +
          'this does not look like an encoder–decoder (UNet); the layer-by-layer view says little about how it generalizes.',
      );
    }
    const modelSpatial = model.inputDims.slice(1);
    checkOutputShape(cfg, model, modelSpatial);
    // kNN distance products run through onnxruntime's Gemm (BLAS-class kernels), not JS loops.
    // Their calls are short and alternate with JavaScript: threads that sleep instead of
    // spin-waiting between calls leave the cores to the JS (and to other jobs on a shared machine).
    const kernelOptions = {
      graphOptimizationLevel: 'all',
      logSeverityLevel: 4,
      extra: { session: { intra_op: { allow_spinning: '0' } } },
      ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}),
    };
    const taps = buildTapStates(model, modelSpatial);
    // One batch holds every tap of every image at once: fewer images per pass when that would
    // take more than a quarter of the memory budget (limits.ts `batchForMemory`).
    const perImageBytes = 4 * (taps.reduce((a, t) => a + t.C * t.dims.reduce((p, d) => p * d, 1), 0) + model.outputDims.reduce((p, d) => p * d, 1) + model.inputDims.reduce((p, d) => p * d, 1));
    const batchSize = batchForMemory(settings.batchSize, perImageBytes);
    if (batchSize < settings.batchSize) {
      log(`batch size ${settings.batchSize} → ${batchSize}: one image's activations at every tap are ${formatBytes(perImageBytes)} (memory budget ${formatBytes(memoryBudgetBytes())})`);
      settings.batchSize = batchSize;
    }
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
      gemm: await createOnnxGemm(ort, kernelOptions),
      topk: await createOnnxTopk(ort, kernelOptions),
      cancel: opts.cancel,
      warnings,
      log,
    };
    // The taps' jobs (metrics, maps, the sweep's features) on `lanes` threads, each with its
    // own one-thread kernel sessions (tapPool.ts); here, one at a time, when there is one core
    // or no thread script (running from the sources).
    const lanes = tapLanes(opts.threads, os.availableParallelism());
    const script = lanes > 1 ? tapThreadScript() : null;
    if (script) {
      pool = createTapPool(script, lanes, kernelOptions, { settings: { k: settings.k, seed: settings.seed }, numClasses, task: cfg.task }, log);
      log(`taps measured on ${lanes} threads`);
    }
    const jobs = jobRunner(contextOf(run), pool);
    setJobs(run, jobs);

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
    // The results so far, to the panel: at most one partial per PARTIAL_EVERY_MS unless `now`.
    let lastPartial = -Infinity;
    const stream = (stage: string, now = true) => {
      if (!opts.onPartial || (!now && performance.now() - lastPartial < PARTIAL_EVERY_MS)) return;
      lastPartial = performance.now();
      opts.onPartial(results, stage);
    };
    // The skeleton first: the taps (names, shapes, stages), so the panel lays them out at once.
    stream('taps');

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

    // The splits, train first; train's pass also gives the train reference (built once, here).
    const totalImages = sources.reduce((a, s) => a + s.count, 0);
    let imagesDone = 0;
    const reference: TrainReferences = [];
    // The unlabelled splits the sweep measures: their own pass gathers the sweep's sample too.
    const unlabeled = calib.source ? sources.filter((s) => !s.labeled) : [];
    const measured = new Map<string, SharedMeasure>();
    // Their images' thumbnails (segmentation), for the worst predicted ones once the sweep ranks them.
    const thumbsOf = new Map<string, SplitThumbs>();
    // The per-split cache (splitCache.ts): a split measured before, with this model, these
    // settings and this train, is read back; only the others run.
    const cache = opts.cacheDir
      ? openSplitCache(
          opts.cacheDir,
          { tool: TOOL_VERSION, method: METHOD_VERSION, backend: results.tool.backend, model: model.sha256, taps: taps.map((t) => t.info.name), settings, task: cfg.task, classes: cfg.classes, input: cfg.input, modelBlock: cfg.model },
          log,
        )
      : null;
    const walked = new Map<string, Promise<string>>();
    const trainStamps = cache ? await splitStamps(cfg, sources[0], walked) : null;
    // Each split as measured: its source, its taps with NaN/Inf and its cache stamps (for the worst predicted images' maps).
    const passed = new Map<string, { src: SplitSource; nonFinite: Set<number>; stamps: unknown }>();
    for (let si = 0; si < sources.length; si++) {
      const src = sources[si];
      const isTrain = si === 0; // train (sorted first; without its held-out part, if any)
      const warnedBefore = warnings.length;
      const stamps = cache ? (isTrain ? trainStamps : await splitStamps(cfg, src, walked)) : null;
      const cacheKey = cache ? cache.key('split', { train: trainStamps, split: stamps, si, u: unlabeled.indexOf(src), sweep: !!calib.source, trainLabeled: sources[0].labeled }) : '';
      const hit = cache?.get<CachedSplit>(cacheKey);
      if (hit && (!isTrain || hit.reference)) {
        passed.set(src.name, { src, nonFinite: new Set(hit.nonFinite ?? []), stamps });
        cache!.stats.hits.push(src.name);
        log(`split ${src.name}: read back from the split cache (measured before with this model, settings and train)`);
        imagesDone += src.count;
        results.splits.push(hit.split);
        results.metrics[src.name] = hit.metrics;
        for (const [tap, rows] of Object.entries(hit.pca)) results.pca[tap].points[src.name] = rows;
        if (isTrain) {
          hit.reference!.forEach((r, ti) => {
            reference[ti] = r;
            if (r) results.pca[taps[ti].info.name].explainedVariance = r.pca.explainedVarianceRatio.slice();
          });
          if (hit.activation) run.activation = hit.activation;
        }
        if (run.activation && !results.model.activation) results.model.activation = run.activation;
        warnings.push(...hit.warnings);
        if (hit.shared) measured.set(src.name, hit.shared);
        if (hit.thumbs) thumbsOf.set(src.name, hit.thumbs);
        results.maps.items.push(...hit.maps);
        results.verdict = computeVerdict(results, { calibrating: !!calib.source });
        stream(`split ${src.name}`);
        continue;
      }
      cache?.stats.misses.push(src.name);
      const shared = unlabeled.includes(src) ? sharedMeasure(run, unlabeled.indexOf(src)) : null;
      // the maps' images are taken from this pass (maps.ts), not run again; after train, whose
      // reference is then complete, each batch's maps are measured before the next batch runs
      const early = sources[0].labeled && !isTrain ? mapsAsTheyCome(run, src, reference, jobs) : null;
      const capture = sources[0].labeled && !early ? mapsCapture(run, src) : null;
      const takeMaps = early ?? capture;
      const thumbs: SplitThumbs | null = shared && cfg.task === 'segmentation' ? new Map() : null;
      if (thumbs) thumbsOf.set(src.name, thumbs);
      const hooks = [takeMaps?.perBatch, thumbs ? thumbsCapture(run, thumbs) : undefined, shared?.options.perBatch].filter((f) => !!f);
      const passOptions = hooks.length
        ? {
            ...shared?.options,
            perBatch: async (batch: Batch, n: number) => {
              for (const f of hooks) await f(batch, n);
            },
          }
        : shared?.options;
      const tf = performance.now();
      const pass = await forwardPass(
        run,
        src,
        si,
        (done) => progress({ stage: 'forward', message: `Forward passes: ${src.name}`, split: src.name, done: imagesDone + done, total: totalImages }),
        passOptions,
      );
      imagesDone += src.count;
      passed.set(src.name, { src, nonFinite: pass.nonFinite, stamps });
      forwardMs += performance.now() - tf - (early?.ms ?? 0);
      if (run.activation && !results.model.activation) results.model.activation = run.activation;

      const tm = performance.now();
      const samples = finishSamples(pass);
      const fg = cfg.task === 'segmentation' ? finiteOrNull(pass.output?.foreground ?? null) : null;
      const lf = src.labeled ? finiteOrNull(pass.labelForeground) : null;
      results.splits.push({
        name: src.name,
        labeled: src.labeled,
        images: src.count,
        performance: pass.performance,
        ...(fg !== null ? { foreground: round(fg, 6) } : {}),
        ...(lf !== null ? { labelForeground: round(lf, 6) } : {}),
      });
      // Train's reference is built tap by tap, each in the same job as train's metrics of that
      // tap; the metrics stream out as they come (the first chart needs train's db only).
      if (isTrain) progress({ stage: 'metrics', message: 'Train reference', split: src.name });
      const onBuilt = (ti: number, r: TapReference | null) => {
        reference[ti] = r;
        if (r) results.pca[taps[ti].info.name].explainedVariance = r.pca.explainedVarianceRatio.slice();
      };
      await splitMetrics({
        run,
        src,
        pass,
        samples,
        reference,
        isTrain,
        pca: results.pca,
        kmeansInits: KMEANS_INITS,
        progress,
        into: (results.metrics[src.name] = {}),
        jobs,
        // train: every tap's db first (the first chart), each tap's reference before its metrics
        ...(isTrain ? { trainReference: { labeled: src.labeled && cfg.task !== 'regression', onBuilt }, dbFirst: true } : {}),
        afterTap: (ti) => stream(`metrics ${src.name}`, isTrain && ti <= 0),
      });
      if (shared) {
        progress({ stage: 'metrics', message: `Label-free features: ${src.name}`, split: src.name });
        measured.set(src.name, await shared.finish(pass, src, reference));
      }
      metricsMs += performance.now() - tm;

      const tmaps = performance.now();
      const onMap = (done: number, total: number) => progress({ stage: 'metrics', message: `Maps: ${src.name}`, split: src.name, done, total });
      const items = early
        ? early.finish(pass.nonFinite, onMap)
        : await mapsPass(run, src, reference, isTrain, pass.nonFinite, onMap, jobs, capture?.images);
      results.maps.items.push(...items);
      mapsMs += performance.now() - tmaps + (early?.ms ?? 0);
      if (cache) {
        const pca: CachedSplit['pca'] = {};
        for (const t of taps) {
          const rows = results.pca[t.info.name].points[src.name];
          if (rows) pca[t.info.name] = rows;
        }
        cache.put(cacheKey, {
          split: results.splits[results.splits.length - 1],
          metrics: results.metrics[src.name],
          pca,
          maps: items,
          warnings: warnings.slice(warnedBefore),
          ...(isTrain ? { reference, activation: run.activation } : {}),
          ...(measured.has(src.name) ? { shared: measured.get(src.name) } : {}),
          ...(thumbs ? { thumbs } : {}),
          ...(pass.nonFinite.size ? { nonFinite: [...pass.nonFinite] } : {}),
        } satisfies CachedSplit);
      }
      // The verdict so far (the labelled splits' gaps); the unlabelled splits' estimates wait for the sweep.
      results.verdict = computeVerdict(results, { calibrating: !!calib.source });
      stream(`split ${src.name}`);
    }

    // Performance without labels (METHOD.md §5).
    let shiftsMs = 0;
    if (calib.source) {
      stream('calibrating');
      const ts = performance.now();
      const sweepCache = cache
        ? cache.key('sweep', {
            train: trainStamps,
            calibration: { ids: calib.source.ids, heldOut: calib.heldOut, splits: await Promise.all(calib.splits.map((name) => splitStamps(cfg, { name, labeled: true, ids: [] }, walked))) },
            halves: unlabeled.length > 0,
          })
        : '';
      results.performanceWithoutLabels = await shiftSweep(run, reference, { ...calib, source: calib.source }, unlabeled, progress, sources[0], measured, cache
          ? {
              get: () => {
                const v = cache.get<CachedCopies>(sweepCache);
                (v ? cache.stats.hits : cache.stats.misses).push('the shifted copies');
                return v;
              },
              put: (v) => cache.put(sweepCache, v),
            }
          : undefined,
      );
      shiftsMs = performance.now() - ts;
      for (const sp of results.splits) {
        const entry = results.performanceWithoutLabels.splits[sp.name];
        const est = entry?.predicted.features;
        if (!sp.labeled && est) sp.predictedPerformance = { [results.performanceWithoutLabels.metric]: est.value, low: est.low, high: est.high };
        // the images the verdict asks to label, shown with the prediction over them
        const thumbs = thumbsOf.get(sp.name);
        if (entry?.perImage && thumbs) attachThumbs(entry.perImage, thumbs, IMAGES_TO_LABEL);
      }
      // The maps of an unlabelled split show its worst predicted images (the first cases to label).
      const tw = performance.now();
      for (const sp of results.splits) {
        const perImage = results.performanceWithoutLabels.splits[sp.name]?.perImage;
        const p = passed.get(sp.name);
        const have = results.maps.items.filter((m) => m.split === sp.name);
        if (sp.labeled || !perImage || !p || have.length === 0) continue;
        const worst = perImage.slice(0, mapsCount(run, p.src)).map((e) => e.id);
        if (worst.length === have.length && worst.every((id, i) => have[i].image === id)) continue;
        // images to run again (not among the first ones): their maps are cached like a split's
        const again = worst.some((id) => !have.some((m) => m.image === id));
        const key = cache && again ? cache.key('worst maps', { train: trainStamps, split: p.stamps, worst, nonFinite: [...p.nonFinite] }) : '';
        let items = key ? cache!.get<ImageMaps[]>(key) : undefined;
        if (!items) {
          const onMap = (done: number, total: number) => progress({ stage: 'metrics', message: `Maps: ${sp.name}, its worst predicted images`, split: sp.name, done, total });
          try {
            items = await worstMaps(run, p.src, reference, p.nonFinite, have, worst, onMap, jobs);
          } catch (e) {
            // The rest of the run is done: an image that cannot be read again (moved, deleted or
            // rewritten since its pass) costs these maps only, never the results.
            if (e instanceof LensError && e.kind === 'cancelled') throw e;
            const why = e instanceof Error ? e.message : String(e);
            log(`maps of ${sp.name}'s worst predicted images: ${e instanceof Error && e.stack ? e.stack : why}`);
            warnings.push(`The confidence maps of ${sp.name} show its first images, not its worst predicted ones: ${why}`);
            continue;
          }
          if (key) cache!.put(key, items);
        }
        const at = results.maps.items.indexOf(have[0]);
        const others = results.maps.items.filter((m) => m.split !== sp.name);
        others.splice(at, 0, ...items);
        results.maps.items = others;
        log(`maps of ${sp.name}: its ${items.length} worst predicted images (${worst.join(', ')})`);
      }
      mapsMs += performance.now() - tw;
    }
    results.timings = {
      totalMs: Math.round(performance.now() - t0),
      loadMs: Math.round(loadMs),
      forwardMs: Math.round(forwardMs),
      metricsMs: Math.round(metricsMs),
      mapsMs: Math.round(mapsMs),
      shiftsMs: Math.round(shiftsMs),
    };
    results.verdict = computeVerdict(results);
    if (cache) log(`split cache: ${cache.stats.hits.length ? `read back ${cache.stats.hits.join(', ')}` : 'nothing read back'}; measured ${cache.stats.misses.join(', ') || 'nothing'}`);
    progress({ stage: 'write', message: 'Writing results' });
    return results;
  } finally {
    await pool?.dispose();
    await model.dispose();
  }
}
