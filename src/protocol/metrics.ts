/**
 * The one metric table: every number UNet Lens names, with its title in words, a one-line
 * intuition, which way is better, whether it needs labels, its reference line, unit and the
 * digits to show. The panel, the report and the engine's types read metric identity from
 * here; the README's "What the numbers mean" table is checked against it
 * (test/unit/metricTable.test.ts).
 *
 * Pure data: no `vscode` import, no engine import (METHOD.md §4–§5 for the definitions).
 */

/** Which way a metric is better: lower, higher, close to 1, or no direction (a description). */
export type Direction = 'lower-better' | 'higher-better' | 'centred-on-1' | 'none';

/**
 * Where a metric lives in results.json: `tap` per split and tap (`metrics[split][tap]`);
 * `labelFree` a predictor input (per tap of a shifted copy); `performance` of the final
 * output per split; `output` a statistic of the final output alone (baselines, foreground).
 */
export type MetricFamily = 'tap' | 'labelFree' | 'performance' | 'output';

export interface MetricSpec {
  key: string;
  /** The title of a chart or section, in words. */
  title: string;
  /** A short name for legends, table headers, tooltips. */
  short: string;
  /** The y axis label of a per-tap chart. */
  axis: string;
  /** One line: what a higher or lower value says. */
  intuition: string;
  direction: Direction;
  /** true: labels of the split measured; 'train': only the train labels (label-free on the split); false: none. */
  needsLabels: boolean | 'train';
  /** A horizontal reference line (featureShift: 1 = in distribution), or null. */
  refLine: number | null;
  /** Unit of the value, '' when it has none. */
  unit: string;
  /** Significant digits to show. */
  digits: number;
  /** Values live in [0, 1] (drawn on a fixed 0–1 axis). */
  unitRange: boolean;
  /**
   * centred-on-1 metrics: the band of usual values [low, high]; outside it, on either side, a
   * value is unusual (the panel's diverging colour scale marks both ends, the verdict names
   * such layers). Absent for other metrics.
   */
  usual?: readonly [number, number];
  family: MetricFamily;
  /** The panel's longer explanation under a chart; `{k}` stands for the number of neighbours. */
  explain?: string;
  /** One line in plain words, no formula: what the number tells about the model (the panel's "What it says"). */
  plain?: string;
  /** One line: what to do about a worrying value (the panel's "What to do"). */
  action?: string;
  /** The export of src/engine/metrics that computes it (a function or an accumulator class); absent when the engine does not. */
  engine?: string;
}

/**
 * Feature shift between 0.8 and 1.25 × train's median is "in distribution"; above, the
 * features have left the training manifold; below, they have collapsed (many points closer
 * to train than train is to itself: a layer that no longer tells the inputs apart).
 */
export const FEATURE_SHIFT_USUAL = [0.8, 1.25] as const;

type Defaulted = 'refLine' | 'unit' | 'digits' | 'unitRange';
/** A table row; no reference line, no unit, 3 digits and an open range unless it says otherwise. */
const spec = <K extends string>(key: K, s: Omit<MetricSpec, 'key' | Defaulted> & Partial<Pick<MetricSpec, Defaulted>>): MetricSpec & { key: K } => ({
  ...s,
  key,
  refLine: s.refLine ?? null,
  unit: s.unit ?? '',
  digits: s.digits ?? 3,
  unitRange: s.unitRange ?? false,
});

/** The per-tap metrics of METHOD.md §4, in their order (results.json `metrics[split][tap]`). */
export const TAP_METRIC_SPECS = [
  spec('db', {
    title: 'Class separation (Davies–Bouldin)',
    short: 'Davies–Bouldin',
    axis: 'DB index',
    intuition: "Davies–Bouldin index of the tap's points grouped by class. Lower = classes better separated.",
    direction: 'lower-better',
    needsLabels: true,
    engine: 'daviesBouldin',
    plain: "How cleanly this layer keeps the classes apart on this split's images.",
    action: 'Test much higher than train at a layer: the model separates the classes there only on what it was trained on — more varied training data or augmentation helps from that layer on.',
    family: 'tap',
    explain: 'Davies–Bouldin index of the points grouped by their true label. Lower = classes better separated. Needs labels: unlabeled splits have none.',
  }),
  spec('roughness', {
    title: 'Roughness',
    short: 'Roughness',
    axis: 'roughness (DB)',
    intuition:
      "Davies–Bouldin of the previous tap's points grouped by k-means clusters of this tap. Higher = the partition this layer draws is not yet separable in what it receives.",
    direction: 'lower-better',
    needsLabels: false,
    engine: 'roughness',
    plain: 'How abruptly this layer re-draws the regions it receives: a spike marks the layer that does the most re-partitioning.',
    action: "A spike on every split is the architecture's (e.g. right after an up-sampling); a spike higher on new data than on train marks the layer where that data is handled differently — open its maps under Where is the model unsure.",
    family: 'tap',
    explain: 'DB of the previous tap’s points grouped by the k-means clusters this tap draws. Higher = rougher: the partition is not yet separable in what the layer receives. Label-free.',
  }),
  spec('knnConfidence', {
    title: 'kNN confidence',
    short: 'kNN confidence',
    axis: 'kNN confidence',
    intuition:
      "Share of each point's k nearest train points whose label equals the point's predicted label. Lower on new data = less confident.",
    direction: 'higher-better',
    needsLabels: 'train',
    unitRange: true,
    engine: 'knnConfidence',
    plain: "Whether the training points nearest to each location agree with the model's prediction there, averaged over every location (mostly background).",
    action: 'High on new data does not mean the foreground is found: background dominates the mean. Read kNN confidence (foreground) beside it, and the foreground share in the verdict.',
    family: 'tap',
    explain: 'Share of each point’s {k} nearest train points whose label equals its predicted label, averaged over every point (segmentation: mostly background). Higher = more confident. Label-free on the split measured.',
  }),
  spec('knnConfidenceFg', {
    title: 'kNN confidence (foreground)',
    short: 'kNN confidence (fg)',
    axis: 'kNN confidence (fg)',
    intuition:
      "kNN confidence averaged over the points predicted as foreground only (over all points when none is). Lower on new data = the training points near the predicted foreground disagree with it.",
    direction: 'higher-better',
    needsLabels: 'train',
    unitRange: true,
    engine: 'foregroundConfidence',
    plain: 'Whether the training points nearest to the locations the model calls foreground agree that they are foreground: the background cannot hide a foreground failure here. Where the model predicts no foreground at a layer, it is the mean over every location.',
    action: 'Lower on a new split than on the labelled test, while kNN confidence stays high: the background is fine but the predicted foreground is not — look at those predictions under Where is the model unsure and label a few of them.',
    family: 'tap',
    explain: 'kNN confidence ({k} nearest train points) averaged over the points predicted as foreground only; over all points where none is predicted as foreground. Segmentation only. Higher = the training data agrees with the predicted foreground. Label-free on the split measured.',
  }),
  spec('featureShift', {
    title: 'Feature shift',
    short: 'Feature shift',
    axis: 'feature shift (× train)',
    intuition:
      'Distance to the k-th nearest train point over the train median of the same. ≈ 1 in distribution; larger = the features have left the training manifold.',
    direction: 'centred-on-1',
    needsLabels: false,
    refLine: 1,
    usual: FEATURE_SHIFT_USUAL,
    unit: '× train median',
    engine: 'featureShift',
    plain: "How far this split's features sit from the training data at this layer, in units of training's own spread.",
    action: 'Far from 1 at the first layers: the images differ (intensity, noise, scanner) — normalise or augment for it; below 0.8: the layer no longer tells the inputs apart (collapsed). Either way, label a few images of that split to measure.',
    family: 'tap',
    explain: 'Distance to the {k}-th nearest train point, divided by train’s own median. ≈ 1 = in distribution (dotted line); larger = the features have shifted away from training. Label-free.',
  }),
] as const;

/** The two label-free metrics derived from the same neighbours (predictor inputs, METHOD.md §5). */
export const DERIVED_METRIC_SPECS = [
  spec('knnDice', {
    title: 'kNN Dice',
    short: 'kNN Dice',
    axis: 'kNN Dice',
    intuition: "The Dice that the train neighbours' labels suggest for the predicted labels. Lower = the neighbours disagree with the prediction.",
    direction: 'higher-better',
    needsLabels: 'train',
    unitRange: true,
    engine: 'knnDice',
    plain: 'The Dice that the nearest training points would give the predicted foreground: low when they disagree with it.',
    action: "Lower on a new split than on the labelled test: label a few of that split's images (worst predicted first) and measure.",
    family: 'labelFree',
  }),
  spec('featureShiftFg', {
    title: 'Feature shift (fg)',
    short: 'Feature shift (fg)',
    axis: 'feature shift of the foreground (× train)',
    intuition: 'Feature shift over the points predicted as foreground (all points when none is). ≈ 1 in distribution.',
    direction: 'centred-on-1',
    needsLabels: false,
    refLine: 1,
    usual: FEATURE_SHIFT_USUAL,
    unit: '× train median',
    engine: 'foregroundShift',
    plain: "Feature shift of the locations predicted as foreground only: the foreground's features, not the background's.",
    action: 'Far above 1: the predicted foregrounds look unlike the training lesions at this layer — check those predictions by eye.',
    family: 'labelFree',
  }),
] as const;

/** Performance of the final output (results.json `splits[].performance`). */
export const PERFORMANCE_SPECS = [
  spec('dice', { title: 'Dice', short: 'Dice', axis: 'Dice', intuition: 'Overlap of the predicted and true foreground, mean over the foreground classes. Higher = better.', direction: 'higher-better', needsLabels: true, unitRange: true, engine: 'SegmentationAccumulator', family: 'performance' }),
  spec('accuracy', { title: 'Accuracy', short: 'Accuracy', axis: 'accuracy', intuition: 'Share of pixels (classification: images) whose predicted class is the true one. Higher = better.', direction: 'higher-better', needsLabels: true, unitRange: true, engine: 'SegmentationAccumulator', family: 'performance' }),
  spec('dicePerClass', { title: 'Dice per class', short: 'Dice per class', axis: 'Dice', intuition: 'Dice of each class on its own.', direction: 'higher-better', needsLabels: true, unitRange: true, engine: 'SegmentationAccumulator', family: 'performance' }),
  spec('mse', { title: 'MSE', short: 'MSE', axis: 'MSE', intuition: 'Mean squared error of a regression output. Lower = better.', direction: 'lower-better', needsLabels: true, engine: 'RegressionAccumulator', family: 'performance' }),
  spec('psnr', { title: 'PSNR', short: 'PSNR', axis: 'PSNR (dB)', intuition: 'Peak signal-to-noise ratio of a regression output. Higher = better.', direction: 'higher-better', needsLabels: true, unit: 'dB', engine: 'psnr', family: 'performance' }),
  spec('ssim', { title: 'SSIM', short: 'SSIM', axis: 'SSIM', intuition: 'Structural similarity of a regression output with the target. Higher = better.', direction: 'higher-better', needsLabels: true, unitRange: true, engine: 'ssim', family: 'performance' }),
  spec('iou', { title: 'IoU', short: 'IoU', axis: 'IoU', intuition: 'Intersection over union of the predicted and true foreground. Higher = better.', direction: 'higher-better', needsLabels: true, unitRange: true, family: 'performance' }),
] as const;

/** What the final output says about itself: the baselines' inputs and the foreground share. */
export const OUTPUT_SPECS = [
  spec('maxProbability', { title: 'Max-softmax probability', short: 'max-softmax', axis: 'mean max-softmax', intuition: 'Mean over pixels of the largest class probability. Lower = the output is less sure.', plain: 'How sure the final output is of itself, averaged over every pixel.', action: 'A weak guide on new data: a network can be sure and wrong. Trust it only as far as its ρ with the true Dice under Without labels.', direction: 'higher-better', needsLabels: false, unitRange: true, engine: 'OutputStatsAccumulator', family: 'output' }),
  spec('entropy', { title: 'Predictive entropy', short: 'entropy', axis: 'mean entropy (nats)', intuition: 'Mean over pixels of the entropy of the class probabilities. Higher = the output is less sure.', plain: 'How undecided the final output is, averaged over every pixel.', action: 'A weak guide on new data: a network can be sure and wrong. Trust it only as far as its ρ with the true Dice under Without labels.', direction: 'lower-better', needsLabels: false, unit: 'nats', engine: 'OutputStatsAccumulator', family: 'output' }),
  spec('foreground', { title: 'Foreground share', short: 'foreground share', axis: 'foreground share', intuition: 'Share of pixels predicted as a class other than the background.', plain: 'How much of the image the model calls foreground.', action: 'Much lower or higher than on the labelled test: the model finds less or more foreground on that data — check its predictions by eye.', direction: 'none', needsLabels: false, unitRange: true, engine: 'OutputStatsAccumulator', family: 'output' }),
] as const;

export const METRIC_SPECS: readonly MetricSpec[] = [...TAP_METRIC_SPECS, ...DERIVED_METRIC_SPECS, ...PERFORMANCE_SPECS, ...OUTPUT_SPECS];

/** The per-tap metrics' keys, in the order of METHOD.md §4. */
export const TAP_METRICS = TAP_METRIC_SPECS.map((m) => m.key) as unknown as readonly TapMetricKey[];
export type TapMetricKey = (typeof TAP_METRIC_SPECS)[number]['key'];

/** The label-free metrics (predictor inputs): the three of §4 without labels, then the two derived. */
export const LABEL_FREE_METRICS = ['roughness', 'knnConfidence', 'featureShift', 'knnDice', 'featureShiftFg'] as const satisfies readonly (
  | TapMetricKey
  | (typeof DERIVED_METRIC_SPECS)[number]['key']
)[];
export type LabelFreeMetric = (typeof LABEL_FREE_METRICS)[number];

export type PerformanceKey = (typeof PERFORMANCE_SPECS)[number]['key'];
export type OutputStatKey = (typeof OUTPUT_SPECS)[number]['key'];
export type MetricKeyAny = TapMetricKey | LabelFreeMetric | PerformanceKey | OutputStatKey;

const BY_KEY = new Map<string, MetricSpec>(METRIC_SPECS.map((m) => [m.key, m]));

/** The spec of a metric, or undefined for a key the table does not know. */
export function metricSpec(key: string | undefined): MetricSpec | undefined {
  return key === undefined ? undefined : BY_KEY.get(key);
}

/** A metric's title, else its key (a metric this version does not know yet is shown as it is). */
export function metricTitle(key: string): string {
  return BY_KEY.get(key)?.title ?? key;
}

/** A metric's short name, else its key. */
export function metricShort(key: string): string {
  return BY_KEY.get(key)?.short ?? key;
}

/** Higher values are better (a colour scale's "better" end). centred-on-1 reads as lower-better above 1. */
export function higherIsBetter(key: string): boolean {
  return BY_KEY.get(key)?.direction === 'higher-better';
}

/**
 * How much better b is than a, by the metric's direction: higher-better b − a, lower-better
 * a − b, centred-on-1 |ln a| − |ln b| (closer to 1 is better, on either side); null when the
 * metric has no direction or a value is missing (or, centred on 1, not positive).
 */
export function improvement(key: string, a: number | null, b: number | null): number | null {
  const dir = BY_KEY.get(key)?.direction;
  if (a === null || b === null || !Number.isFinite(a) || !Number.isFinite(b)) return null;
  if (dir === 'higher-better') return b - a;
  if (dir === 'lower-better') return a - b;
  if (dir === 'centred-on-1') return a > 0 && b > 0 ? Math.abs(Math.log(a)) - Math.abs(Math.log(b)) : null;
  return null;
}

/** The metric's values live in [0, 1]. */
export function isUnitMetric(key: string | undefined): boolean {
  return !!key && !!BY_KEY.get(key)?.unitRange;
}

/** The panel's explanation of a metric with `k` neighbours (its intuition when it has none). */
export function explainText(key: string, k: number): string {
  const m = BY_KEY.get(key);
  return (m?.explain ?? m?.intuition ?? '').replace(/\{k\}/g, String(k));
}

/** Which way a metric is better, in words (the panel's "Which way"). */
export function directionText(key: string): string {
  const m = BY_KEY.get(key);
  switch (m?.direction) {
    case 'lower-better':
      return 'Lower is better.';
    case 'higher-better':
      return 'Higher is better.';
    case 'centred-on-1':
      return m.usual ? `About 1 is in distribution; below ${m.usual[0]} or above ${m.usual[1]} is unusual (either way).` : 'About 1 is in distribution; far from 1 either way is unusual.';
    default:
      return 'Neither higher nor lower is better: compare the splits.';
  }
}

/** The README's "needs labels" words for a metric. */
export function needsLabelsText(m: MetricSpec): string {
  return m.needsLabels === true ? 'yes' : m.needsLabels === 'train' ? 'no (uses train labels)' : 'no';
}
