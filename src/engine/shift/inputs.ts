/**
 * The inputs of the predictors of METHOD.md §5 (see withoutLabels.ts for how they are fitted):
 * the columns of our set-level predictor (a label-free metric averaged over the taps of one stage
 * of the U, the output's log foreground share, the output-based set features), their values for a
 * measured copy or an unlabelled split, the per-image feature vectors of the per-image predictor,
 * and the two output baselines' single inputs. Pure arithmetic on the caller's measures.
 */
import type { ImageFeatures, LabelFreeMetric, LabelFreeMetrics, OutputStats, SetOutputFeatures, Stage } from '../types';
import { softDiceAt, wasserstein1, type ImageOutput, type LabelObjects } from './outputFeatures';

export interface ImageRecord {
  id: string;
  file: string;
  /** The image's own Dice (labelled copies; null when neither the prediction nor the truth has an object, or unlabelled). */
  dice: number | null;
  out: ImageOutput;
}

export interface CopyMeasure {
  /** True value of the metric (calibration copies); null for unlabelled splits. */
  performance: number | null;
  images: number;
  output: OutputStats | null;
  features: { [tap: string]: LabelFreeMetrics };
  /** Segmentation: per image, in order. */
  perImage?: ImageRecord[];
}

function featureValue(m: LabelFreeMetrics | undefined, metric: LabelFreeMetric): number | null {
  const v = m?.[metric];
  if (v === null || v === undefined || !Number.isFinite(v)) return null;
  if (metric === 'knnConfidence' || metric === 'knnDice') return v;
  return v > 0 ? Math.log(v) : null;
}

/** An input of our predictor: a metric averaged over the taps of one stage, or the output's foreground share. */
export interface Column {
  name: string;
  /** The taps averaged (empty for the output columns). */
  taps: string[];
  metric: LabelFreeMetric | 'foreground' | OutputColumn;
}

/** The output-based set features our predictor reads (segmentation). */
export const OUTPUT_COLUMNS = ['softDice', 'objectCountDistance', 'objectSizeDistance', 'boundaryConfidence', 'tta'] as const;
export type OutputColumn = (typeof OUTPUT_COLUMNS)[number];
const OUTPUT_COLUMN_NAMES: { [C in OutputColumn]: string } = {
  softDice: 'output: soft-Dice confidence (temperature-scaled, mean over images)',
  objectCountDistance: 'output: distance of the predicted object counts to the training labels (W1 of log(1 + count))',
  objectSizeDistance: 'output: distance of the predicted object sizes to the training labels (W1 of log size)',
  boundaryConfidence: 'output: confidence on the predicted objects\' boundaries',
  tta: 'output: test-time-augmentation agreement (mean Dice)',
};

/** The metrics our predictor reads per stage, by the performance it predicts (see the file header). */
export function predictorMetrics(metric: string): readonly LabelFreeMetric[] {
  if (metric === 'dice') return ['knnDice', 'featureShift', 'featureShiftFg'];
  if (metric === 'accuracy') return ['knnConfidence', 'featureShift'];
  return ['featureShift', 'roughness'];
}

/** The candidate columns of our predictor, for the taps given with their stages. */
export function predictorColumns(taps: { name: string; stage: Stage }[], metric: string): Column[] {
  const cols: Column[] = [];
  for (const stage of ['encoder', 'bottleneck', 'decoder'] as const) {
    const names = taps.filter((t) => t.stage === stage).map((t) => t.name);
    if (!names.length) continue;
    for (const m of predictorMetrics(metric)) {
      const shown = m === 'knnDice' || m === 'knnConfidence' ? m : `log ${m}`;
      cols.push({ name: `${stage}: ${shown} (mean of ${names.length} tap${names.length > 1 ? 's' : ''})`, taps: names, metric: m });
    }
  }
  if (metric === 'dice') {
    cols.push({ name: 'output: log foreground share', taps: [], metric: 'foreground' });
    for (const c of OUTPUT_COLUMNS) cols.push({ name: OUTPUT_COLUMN_NAMES[c], taps: [], metric: c });
  }
  return cols;
}

/** What the output-based features need besides the measures: the temperature and the training labels' objects. */
export interface OutputContext {
  T: number;
  train: LabelObjects | null;
  memo: Map<CopyMeasure, SetOutputFeatures | null>;
}

function median(a: readonly number[]): number {
  const s = a.slice().sort((x, y) => x - y);
  if (!s.length) return NaN;
  const h = Math.floor(s.length / 2);
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

function meanOf(a: readonly number[]): number {
  return a.length ? a.reduce((s, v) => s + v, 0) / a.length : NaN;
}

/** The per-image features of one image (see ImageFeatures). */
export function imageFeatures(o: ImageOutput, T: number, train: LabelObjects | null): ImageFeatures {
  const logObjects = Math.log1p(o.components);
  const tMedian = train && train.logCounts.length ? median(train.logCounts) : 0;
  const tSize = train && train.logSizes.length ? meanOf(train.logSizes) : 0;
  return {
    softDice: softDiceAt(o.softDice, T),
    logForeground: Math.log(Math.max(o.foreground, 1e-4)),
    logObjects,
    objectCountDistance: Math.abs(logObjects - tMedian),
    objectSizeShift: (o.logSizes.length ? meanOf(o.logSizes) : 0) - tSize,
    boundaryConfidence: o.boundaryConfidence ?? 1,
    tta: o.tta,
  };
}

/** The set features of a copy or split (null without per-image records). */
export function setOutputFeatures(recs: readonly ImageRecord[] | undefined, T: number, train: LabelObjects | null): SetOutputFeatures | null {
  if (!recs || !recs.length) return null;
  const sd = recs.map((r) => softDiceAt(r.out.softDice, T));
  const counts = recs.map((r) => Math.log1p(r.out.components));
  const sizes = recs.flatMap((r) => r.out.logSizes);
  const bc = recs.map((r) => r.out.boundaryConfidence).filter((v): v is number => v !== null);
  const tta = recs.map((r) => r.out.tta).filter((v): v is number => v !== null);
  const tc = train?.logCounts.length ? train.logCounts : [0];
  const ts = train?.logSizes.length ? train.logSizes : [0];
  return {
    softDice: meanOf(sd),
    objectCountDistance: wasserstein1(counts, tc),
    objectSizeDistance: wasserstein1(sizes.length ? sizes : [0], ts),
    boundaryConfidence: bc.length ? meanOf(bc) : 1,
    tta: tta.length === recs.length ? meanOf(tta) : null,
  };
}

export function setOut(measure: CopyMeasure, ctx: OutputContext | null): SetOutputFeatures | null {
  if (!ctx) return null;
  if (!ctx.memo.has(measure)) ctx.memo.set(measure, setOutputFeatures(measure.perImage, ctx.T, ctx.train));
  return ctx.memo.get(measure)!;
}

/** The vector of the per-image predictor (the tta entry only when every image has it). */
export function imageVector(f: ImageFeatures, withTta: boolean): number[] {
  const v = [f.softDice, f.logForeground, f.logObjects, f.objectCountDistance, f.objectSizeShift, f.boundaryConfidence];
  if (withTta) v.push(f.tta ?? NaN);
  return v;
}
export const IMAGE_INPUTS = ['soft-Dice confidence', 'log foreground share', 'log(1 + predicted objects)', 'distance of log(1 + objects) to the training labels\' median', 'mean log object size − the training labels\'', 'boundary confidence', 'test-time-augmentation agreement'];

/** Value of one column for a copy or split: the mean over its taps where finite (null if none is), or log of the foreground share (floored at 1e-4), or an output set feature. */
function columnValue(measure: CopyMeasure, c: Column, ctx: OutputContext | null): number | null {
  if ((OUTPUT_COLUMNS as readonly string[]).includes(c.metric)) {
    const o = setOut(measure, ctx);
    const v = o ? o[c.metric as OutputColumn] : null;
    return v === null || v === undefined || !Number.isFinite(v) ? null : v;
  }
  if (c.metric === 'foreground') {
    const f = measure.output?.foreground;
    return f === undefined || f === null || !Number.isFinite(f) ? null : Math.log(Math.max(f, 1e-4));
  }
  let s = 0;
  let n = 0;
  for (const t of c.taps) {
    const v = featureValue(measure.features[t], c.metric as LabelFreeMetric);
    if (v !== null) {
      s += v;
      n++;
    }
  }
  return n ? s / n : null;
}

/** The predictor's inputs for one copy or split: value per column (null where missing). */
export function row(measure: CopyMeasure, cols: Column[], ctx: OutputContext | null): (number | null)[] {
  return cols.map((c) => columnValue(measure, c, ctx));
}

export function outputValue(measure: CopyMeasure, which: 'maxProbability' | 'entropy'): number | null {
  const v = measure.output?.[which];
  return v === undefined || v === null || !Number.isFinite(v) ? null : v;
}
