/**
 * Types shared by every part of the engine and by the results file (CONTRACT.md §3).
 * Pure data: no `vscode`, no Node APIs. Metric names come from the one metric table,
 * src/protocol/metrics.ts.
 */
import { LABEL_FREE_METRICS, type LabelFreeMetric, type TapMetricKey } from '../protocol/metrics';

export type Task = 'segmentation' | 'classification' | 'regression';
export type Stage = 'encoder' | 'bottleneck' | 'decoder';
export type Activation = 'auto' | 'softmax' | 'sigmoid' | 'probability';

/** The parsed, validated and defaulted `unetlens.json` (CONTRACT.md §1). Paths are absolute. */
export interface DatasetConfig {
  /** Absolute path of the dataset file itself. */
  path: string;
  task: Task;
  classes: string[];
  input: {
    layout: 'NCHW' | 'NHWC' | 'NCDHW' | 'NDHWC';
    /** [H, W] or [D, H, W]; undefined = take images as they are (or the model's fixed dims). */
    size?: number[];
    channels: number;
    scale: number;
    mean: number[];
    std: number[];
    resize: 'resize' | 'crop';
    /** One file per channel (nnU-Net): the suffix of each channel's file name before its extension, e.g. ["_0000", "_0001"]. */
    channelFiles?: string[];
    /** Per-channel normalisation (one entry for all channels, or one per channel); undefined = "fixed" for every channel. */
    normalize?: Normalization[];
  };
  splits: SplitConfig[];
  model: { output: 'auto' | string; activation: Activation };
  analysis: AnalysisSettings;
  /** `checkpoints` (CONTRACT.md §1): the checkpoint series, an absolute glob or folder; absent when not given. */
  checkpoints?: string;
}

export interface SplitConfig {
  name: string;
  /** Absolute path: a folder, or a single .npy/.npz array. */
  images: string;
  /** Absolute path or undefined for an unlabeled split. */
  labels?: string;
  /** Only these cases (image base names, or case ids with input.channelFiles), in this order. */
  cases?: string[];
}

/**
 * How one channel's raw values become model input (normalize.ts):
 * - "fixed": (raw·scale − mean[c]) / std[c];
 * - "zscore": per image, (v − mean(v)) / max(std(v), 1e-8) with v = raw·scale (nnU-Net's ZScoreNormalization);
 * - "minmax": per image, (v − min(v)) / max(max(v) − min(v), 1e-8) (nnU-Net's rescale_to_0_1);
 * - { clip: [lo, hi] }: (clip(raw·scale, lo, hi) − mean[c]) / std[c] (nnU-Net's CTNormalization with the fingerprint's
 *   foreground percentiles 0.5/99.5, mean and std).
 */
export type Normalization = 'fixed' | 'zscore' | 'minmax' | { clip: [number, number] };

export interface AnalysisSettings {
  maxPoints: number;
  k: number;
  seed: number;
  taps: 'auto' | string[];
  maxTaps: number;
  /** Images per forward pass. */
  batchSize: number;
  /** How many images per split get a spatial knnConfidence map in the results. */
  mapsPerSplit: number;
  /**
   * Largest side of a stored confidence map, in cells (8..128): a tap plane wider than this is
   * measured on a grid of at most `mapGrid` a side (maps.ts). The preview stays ≤ 128 px.
   */
  mapGrid: number;
  /** Performance without labels (METHOD.md §5): the synthetic shift sweep and the predictor. */
  shifts: ShiftSettings;
}

/**
 * The synthetic shift families of METHOD.md §5: five that change the intensities, and five that
 * change the content (built from the image and, for `distractors` and `dim`, its mask).
 */
export type ShiftFamily = 'noise' | 'blur' | 'gamma' | 'contrast' | 'scale' | 'distractors' | 'dim' | 'bias' | 'lowres' | 'stripes' | 'objects';
/** The default families (`analysis.shifts.families` when not given). */
export const SHIFT_FAMILIES: readonly ShiftFamily[] = ['noise', 'blur', 'gamma', 'contrast', 'scale', 'distractors', 'dim', 'bias', 'lowres', 'stripes'];
/** Every family, in sweep order: the defaults, then `objects` (available by name, not a default: bench/README.md). */
export const ALL_SHIFT_FAMILIES: readonly ShiftFamily[] = [...SHIFT_FAMILIES, 'objects'];
/** The families that need the image's mask (segmentation only); `objects` also changes the mask (the copy's label). */
export const MASK_FAMILIES: readonly ShiftFamily[] = ['distractors', 'dim', 'objects'];

export interface ShiftSettings {
  /** `auto`: on when there is a labelled split to shift (any labelled split but train, else a held-out part of train). */
  enabled: boolean | 'auto';
  /** At most this many images of the calibration split(s) are shifted (evenly strided). */
  images: number;
  /** maxPoints of the label-free features in the sweep (and of the unlabelled splits' features the predictor reads). */
  maxPoints: number;
  /** Which families to use (default: all ten; `distractors` and `dim` only for segmentation). */
  families: ShiftFamily[];
  /** How many copies combine 2–3 of the families at random (seeded) strengths; 0: none. */
  mixes: number;
  /**
   * Segmentation: extra forward passes per image for the test-time-augmentation agreement (flips,
   * then 90° rotations where the input is square; 0 = no agreement feature).
   */
  tta: number;
}

export const DEFAULT_ANALYSIS: AnalysisSettings = {
  maxPoints: 4096,
  k: 10,
  seed: 0,
  taps: 'auto',
  maxTaps: 64,
  batchSize: 4,
  mapsPerSplit: 3,
  mapGrid: 64,
  shifts: { enabled: 'auto', images: 32, maxPoints: 1024, families: SHIFT_FAMILIES.slice(), mixes: 0, tta: 2 },
};

/** A dense float tensor, row-major, with its dims (e.g. [N, C, H, W]). */
export interface Tensor {
  data: Float32Array;
  dims: number[];
}

export interface ReceptiveField {
  /** Side of the receptive field in input pixels. */
  size: number;
  /** Distance in input pixels between neighbouring locations of this tap. */
  jump: number;
  /** Per spatial axis ([H, W] or [D, H, W]), only when the axes differ (anisotropic kernels or
   * pooling); `size` and `jump` are then the largest over the axes. */
  sizes?: number[];
  jumps?: number[];
}

export interface TapInfo {
  /** ONNX value name (or layer name for TF.js). */
  name: string;
  /** Op type of the node that produces it (Relu, Conv, MaxPool, ConvTranspose, Resize…). */
  op: string;
  /** Position in forward (topological) order among the chosen taps, from 0. */
  index: number;
  stage: Stage;
  /** Number of down-samplings between the input and this tap (net of up-samplings). */
  level: number;
  /** Per-image shape without batch: [C, H, W] or [C, D, H, W]. */
  shape: number[];
  receptiveField: ReceptiveField;
}

export interface TensorDesc {
  name: string;
  /** Dims with symbolic/unknown ones as strings or -1. */
  dims: (number | string)[];
  type: string;
}

/** The metrics of one tap and split: one number (or null) per key of src/protocol/metrics.ts TAP_METRICS. */
export type TapMetrics = { [K in TapMetricKey]: number | null } & {
  /** Points measured at this tap for this split (after sampling). */
  points: number;
};

export interface Performance {
  [metric: string]: number | (number | null)[] | null | undefined;
}

export interface SplitResult {
  name: string;
  labeled: boolean;
  images: number;
  performance: Performance | null;
  predictedPerformance?: { [metric: string]: number; low: number; high: number } | null;
  /** Segmentation: share of the split's output pixels predicted as a class other than the background, over all its images. Absent in older files. */
  foreground?: number;
  /** Segmentation, labelled splits: share of the labelled pixels whose label is not the background (the true counterpart of `foreground`). Absent in older files. */
  labelForeground?: number;
}

export interface PcaResult {
  explainedVariance: number[];
  /** rows [pc1, pc2, pc3, label] per split */
  points: { [split: string]: number[][] };
}

/**
 * Spatial knnConfidence maps of one image (METHOD.md §4: the per-point values laid back on
 * the tap's grid), with what the panel needs to draw them over the image.
 */
export interface ImageMaps {
  split: string;
  /** Item id within the split (base name). */
  image: string;
  /** Grey preview of the model input, row-major ints 0..255 on a grid of at most 128 px a side (3D: the middle slice). */
  preview: { dims: number[]; values: number[] };
  /** Ground-truth label map on the preview grid; null where the split has no labels. */
  label: number[] | null;
  /** Predicted label map on the preview grid; null for regression. */
  prediction: number[] | null;
  /**
   * Per tap name: knnConfidence of each location of that tap (3D: the middle slice), row-major, values in [0, 1];
   * a plane wider than `analysis.mapGrid` cells on a grid of at most that many a side.
   */
  confidence: { [tap: string]: { dims: number[]; values: number[] } };
}

/**
 * Label-free metrics of one tap, the inputs of the predictor: the three of METHOD.md §4, and
 * two derived from the same neighbours (metrics/confidence.ts): `knnDice` (segmentation), the
 * Dice the train neighbours' labels suggest for the predicted labels, and `featureShiftFg`, the
 * median featureShift of the points predicted as foreground (of all points when none is).
 */
export type LabelFreeMetrics = { [K in LabelFreeMetric]: number | null };
export { LABEL_FREE_METRICS, type LabelFreeMetric };

/** What the final output says about itself, over all output pixels (classification: images). */
export interface OutputStats {
  /** Mean over pixels of the largest class probability (softmax; sigmoid/probability: max(p, 1 − p)). */
  maxProbability: number;
  /** Mean over pixels of the predictive entropy in nats (softmax over classes; binary entropy for one channel). */
  entropy: number;
  /** Share of pixels predicted as a class other than 0 (the background). */
  foreground: number;
}

/** How far an estimate can be trusted, from its interval's width: ≤ 0.15 good, ≤ 0.30 fair, wider: cannot tell (print the words, not the number). */
export type Grade = 'good' | 'fair' | 'cannot tell';

/** A performance estimate with its interval. */
export interface Estimate {
  value: number;
  low: number;
  high: number;
  /** Reliability of the estimate (from `high − low`); "cannot tell" when the interval is wider than 0.3. */
  grade?: Grade;
  /** True when the split's inputs fall outside the range the calibration copies cover (the interval was widened by what the fit extrapolates). */
  outside?: boolean;
}

/** A small picture of one image and what the model predicts on it (the cases to label). */
export interface CaseThumb {
  /** [h, w], at most 64 a side (3D: the middle slice). */
  dims: number[];
  /** Grey preview of the model input, row-major ints 0..255. */
  image: number[];
  /** Predicted label map on the same grid. */
  prediction: number[];
}

/** Per image of an unlabelled split (segmentation): its predicted performance. */
export interface ImageEstimate extends Estimate {
  /** The image's id in its split and its file (relative to the dataset file). */
  id: string;
  file: string;
  /** The image and its prediction, for the worst predicted ones (the verdict's images to label). */
  thumb?: CaseThumb;
}

/**
 * Output-based features of one image (segmentation; shift/outputFeatures.ts), as the per-image
 * predictor reads them: soft-Dice confidence at the fitted temperature, log foreground share,
 * log(1 + predicted objects), its distance to the training labels' median, the mean log object
 * size minus the training labels' mean, boundary confidence, test-time-augmentation agreement.
 */
export interface ImageFeatures {
  softDice: number;
  logForeground: number;
  logObjects: number;
  objectCountDistance: number;
  objectSizeShift: number;
  boundaryConfidence: number;
  tta: number | null;
}

/** Output-based features of a set (a shifted copy or an unlabelled split). */
export interface SetOutputFeatures {
  /** Mean soft-Dice confidence over the images (temperature-scaled). */
  softDice: number;
  /** Wasserstein-1 distance between the per-image log(1 + predicted objects) and the training labels'. */
  objectCountDistance: number;
  /** Wasserstein-1 distance between the log sizes of the predicted objects and the training labels' objects. */
  objectSizeDistance: number;
  /** Mean max(p, 1 − p) on the boundary of the predicted objects. */
  boundaryConfidence: number;
  /** Mean test-time-augmentation agreement (Dice with the plain prediction); null when off. */
  tta: number | null;
}

/** The three predictors: ours (the interior, label-free features) and the two output baselines. */
export type PredictorName = 'features' | 'maxProbability' | 'entropy';
export const PREDICTORS: readonly PredictorName[] = ['features', 'maxProbability', 'entropy'];

/** One shifted copy of the calibration images. */
export interface ShiftCopy {
  /** `none` is the unshifted copy; `mix` combines several families (`parts`). */
  family: ShiftFamily | 'none' | 'mix';
  /** Family parameter: noise σ and blur σ (px) in units of the image's intensity range / pixels; gamma γ; contrast factor; scale factor (0 for `none` and `mix`). */
  strength: number;
  /** For `mix`: the shifts applied, in order. */
  parts?: { family: ShiftFamily; strength: number }[];
  /** Short text for the panel, e.g. "noise σ=0.10". */
  label: string;
  images: number;
  /** The true value of `metric` on this copy (labels known). */
  performance: number;
  output: OutputStats | null;
  /** Per tap. */
  features: { [tap: string]: LabelFreeMetrics };
  /** Leave-one-shift-family-out prediction of each predictor (the copy's family left out of the fit); null where it cannot be fitted. The unshifted copy is a group of its own: it is predicted by a fit on every family (for the anchored `features` predictor: its own measured value). */
  lofo: { [P in PredictorName]: number | null };
  /** Segmentation: the leave-one-family-out prediction of the anchored per-image aggregate (`fromImages`). */
  lofoFromImages?: number | null;
  /** Segmentation: the output-based features of the copy. */
  outputFeatures?: SetOutputFeatures | null;
  /** Segmentation: per image, its true performance (null: nothing to score, no object predicted or true) and its features. */
  perImage?: { dice: number | null; features: ImageFeatures }[];
}

export interface PredictorSummary {
  /** What it reads and how it maps it, in words. */
  description: string;
  /** Its inputs, e.g. "tap name:knnConfidence" or "maxProbability". */
  inputs: string[];
  /** Over the shifted copies: mean absolute leave-one-family-out error, and Spearman of LOFO prediction vs truth. */
  lofoMae: number | null;
  lofoSpearman: number | null;
  /** Interval half-widths added below/above a prediction (split-conformal on the LOFO errors; widened per split outside the calibration range). */
  interval: { below: number; above: number } | null;
  /** Anchored on the unshifted copy: a split whose inputs equal its inputs gets its measured performance. */
  anchored?: boolean;
  /** OLS slope of the LOFO predictions on the true values (near 1: the trend is not flattened). */
  lofoSlope?: number | null;
  /** Per-image predictor only: mean absolute leave-one-family-out error of its anchored aggregate over the copies. */
  aggregateLofoMae?: number | null;
  /** `features` when it combines the set-level fit with the per-image aggregate: the set-level fit's own LOFO MAE. */
  setLevelLofoMae?: number | null;
  /** `features` (segmentation, combined): the half-width grows by this per unit of the split's mean standardised input distance from the unshifted copy; `interval` is the half-width at that copy's inputs. */
  intervalPerDistance?: number | null;
  /** `features` (segmentation, combined): the stretch of the change from the unshifted copy's value (1: none). */
  deshrink?: number;
}

/** METHOD.md §5: performance without labels. */
export interface PerformanceWithoutLabels {
  /** The performance predicted: `dice` (segmentation), `accuracy` (classification), `ssim` (regression). */
  metric: string;
  calibration: {
    /** Labelled splits whose images were shifted. */
    splits: string[];
    images: number;
    /** True when train was the only labelled split: a held-out part of it was shifted (and left out of the train reference). */
    heldOutOfTrain: boolean;
    note?: string;
  };
  /** `tta`: segmentation, the test-time-augmented passes per image actually run (the setting, capped by the augmentations the input allows). */
  settings: { maxPoints: number; kmeansInits: number; families: ShiftFamily[]; strengths: { [family: string]: number[] }; tta?: number };
  shifts: ShiftCopy[];
  /** Per tap and label-free metric: Spearman correlation with the true performance across the shifted copies (null: constant or missing). */
  indicativeness: { [tap: string]: LabelFreeMetrics };
  predictors: { [P in PredictorName]: PredictorSummary | null };
  /** Every unlabelled split: its features and each predictor's estimate. */
  splits: {
    [split: string]: {
      output: OutputStats | null;
      features: { [tap: string]: LabelFreeMetrics };
      predicted: { [P in PredictorName]: Estimate | null };
      /** Segmentation: output-based features of the split. */
      outputFeatures?: SetOutputFeatures | null;
      /** Segmentation: per image, the predicted performance, worst first (the cases to label first). */
      perImage?: ImageEstimate[];
      /** Segmentation: the per-image estimates aggregated to the split (weighted by the predicted foreground), anchored: the unshifted copy's value plus the change of the aggregate from that copy's. */
      fromImages?: Estimate | null;
      /** Segmentation: the set-level anchored fit alone (`predicted.features` is the mean of it and `fromImages`). */
      fromSets?: Estimate | null;
      /**
       * The noise floor of ours (`predicted.features`): `sd`, the sampling noise of its change from
       * the unshifted copy for a split of this size; `shrink`, the factor that change was
       * multiplied by (0: within the noise, the unshifted copy's value); `unshrunk`, ours before.
       */
      samplingNoise?: { sd: number; shrink: number; unshrunk: number };
      /** Segmentation: the per-image features, in the split's order (as `perImage` before sorting). */
      imageFeatures?: ImageFeatures[];
      /** File name of the "cases to label" CSV written next to results.json (`cases-to-label-<split>.csv`). */
      casesToLabel?: string;
    };
  };
  /** Segmentation: temperature fitted on the unshifted labelled images (softmax/sigmoid logits ÷ T), null when not fitted. */
  temperature?: number | null;
  /** Segmentation: the per-image predictor (ridge on ImageFeatures, fitted on every image of every copy), null when not fitted. */
  imagePredictor?: PredictorSummary | null;
  /**
   * The sampling noise of ours, from the unshifted calibration images in two random halves
   * (several times): per halving, each half's images, true performance and ours' estimate;
   * `perImageSd`, the noise sd of one image's worth (√s). Absent without unlabelled splits.
   */
  samplingNoise?: {
    perImageSd: number;
    /** Per halving; segmentation also the two parts of ours on each half (`fromSets`, `fromImages`, as a split's). */
    halves: { images: [number, number]; performance: [number, number]; predicted: [number, number]; fromSets?: [number, number]; fromImages?: [number, number] }[];
  };
  timingMs: number;
}

export interface Results {
  schema: 'unet-lens/results@1';
  methodVersion: string;
  createdAt: string;
  tool: { name: 'unet-lens'; version: string; backend: string };
  model: {
    path: string;
    sha256: string;
    /** 'pytorch': `path` is the user's .pt/.pth, analysed through its ONNX export (`onnxExport`). */
    format: 'onnx' | 'tfjs' | 'keras' | 'pytorch';
    inputs: TensorDesc[];
    outputs: TensorDesc[];
    /** How the prediction output was read (`model.activation`, `auto` resolved); absent for regression. */
    activation?: Exclude<Activation, 'auto'>;
    /** Format "pytorch": the ONNX file the analysis ran (torchExport.ts), and the Python and torch that exported it. */
    onnxExport?: { path: string; sha256: string; python: string; torch: string };
  };
  dataset: { path: string; task: Task; classes: string[] };
  settings: {
    maxPoints: number;
    k: number;
    seed: number;
    maxTaps: number;
    /** Regression: the data range R of PSNR and SSIM (max − min of the train targets, in the model's output space). */
    dataRange?: number;
  };
  taps: TapInfo[];
  /** Tensors `auto` considered but left out because of maxTaps. */
  tapsLeftOut: string[];
  splits: SplitResult[];
  metrics: { [split: string]: { [tap: string]: TapMetrics } };
  pca: { [tap: string]: PcaResult };
  maps: { items: ImageMaps[] };
  /** METHOD.md §5; absent when the sweep is off or there is nothing labelled to shift. */
  performanceWithoutLabels?: PerformanceWithoutLabels;
  /** The answer first (src/engine/verdict.ts): sentences the panel and the report print at the top. Absent in files written before it existed. */
  verdict?: Verdict;
  warnings: string[];
  timings: { totalMs: number; loadMs: number; forwardMs: number; metricsMs: number; [k: string]: number };
}

/** CONTRACT.md §3 `verdict`: what the panel says first. Every sentence is printed as it is. */
export interface Verdict {
  /** One per unlabelled split, in the file's order. */
  unlabeled: UnlabeledVerdict[];
  /** One per labelled split other than train. */
  labeled: LabeledVerdict[];
  /**
   * Only in the partial results streamed before the shift sweep is done: the unlabelled
   * splits' estimates are still to come (their sentences say so). Never in results.json.
   */
  calibrating?: true;
}

export interface UnlabeledVerdict {
  split: string;
  /** The performance metric spoken of (`dice`, `accuracy`, `ssim`). */
  metric: string;
  /** The labelled data the estimate is compared with, and its measured value. */
  reference: { split: string; value: number } | null;
  /** The predictor's estimate (METHOD.md §5), null when there is none. */
  estimate: Estimate | null;
  grade: Grade | null;
  /** `drop` / `same` / `better` than the reference (beyond 0.05), `cannot tell` (interval too wide), `unknown` (no estimate or no reference). */
  expect: 'drop' | 'same' | 'better' | 'cannot tell' | 'unknown';
  /** The answer, one sentence. */
  sentence: string;
  /** Segmentation: share of pixels predicted as foreground on the split and on the reference. */
  foreground: {
    split: number;
    reference: number;
    referenceSplit: string;
    /** Binary Dice, the share far off the reference's: the most Dice can be if the split's true share were the reference's labelled share. */
    ceiling?: { value: number; labelReference: number };
  } | null;
  foregroundSentence: string | null;
  /** Up to 3 layers whose feature shift is outside the usual band (either side), furthest first. */
  movedMost: { tap: string; stage: Stage; featureShift: number; reference: number | null; direction: 'away' | 'collapsed' }[];
  movedSentence: string;
  /** One suggested action; `images`: the images to label, worst predicted first, when the engine ranks them. */
  action: { kind: 'label' | 'check' | 'none'; images: string[]; sentence: string };
}

export interface LabeledVerdict {
  split: string;
  metric: string;
  train: number | null;
  value: number | null;
  /** train − split (positive: worse than on train). */
  gap: number | null;
  /** The first layer (forward order) where the split's Davies–Bouldin exceeds train's by more than 10 %. */
  opensAt: { tap: string; stage: Stage; db: number; trainDb: number } | null;
  sentence: string;
  whereSentence: string | null;
}

export const METHOD_VERSION = '1';
export const RESULTS_SCHEMA = 'unet-lens/results@1';

/** Progress of a running analysis (also the CLI's `--json` lines). */
export interface ProgressEvent {
  stage: 'load' | 'forward' | 'metrics' | 'write' | 'done';
  message: string;
  split?: string;
  tap?: string;
  done?: number;
  total?: number;
}

/**
 * An error the user can act on: says what went wrong and where (file, field).
 * `code` picks the CLI exit code: 2 for bad arguments or dataset file, 3 for model errors.
 */
const LENS_ERROR = Symbol.for('unet-lens.LensError');

export class LensError extends Error {
  /**
   * `instanceof LensError` holds across bundles: the TF.js / Keras loaders are a bundle of
   * their own (dist/tfjs.js, with its own copy of this class), and their errors must still
   * reach the user as what they are, not as internal errors.
   */
  static [Symbol.hasInstance](value: unknown): boolean {
    if (this !== LensError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as { [LENS_ERROR]?: unknown })[LENS_ERROR] === true;
  }
  readonly [LENS_ERROR] = true;
  constructor(
    message: string,
    public readonly kind: 'dataset' | 'model' | 'data' | 'args' | 'cancelled' | 'internal',
    public readonly where?: string,
  ) {
    super(message);
    this.name = 'LensError';
  }
  get exitCode(): number {
    switch (this.kind) {
      case 'dataset':
      case 'data':
      case 'args':
        return 2;
      case 'model':
        return 3;
      case 'cancelled':
        return 130;
      default:
        return 1;
    }
  }
}

/** A cancellation signal the engine checks between batches and taps. */
export interface CancelToken {
  readonly cancelled: boolean;
}
