/**
 * METHOD.md §5 from measured copies to the results section `performanceWithoutLabels`:
 * indicativeness (Spearman per tap and metric), the three calibrated predictors (ours on the
 * interior label-free features, the two output baselines) with their leave-one-family-out
 * errors, and the estimates for the unlabelled splits. Pure: the measuring (forward passes,
 * metrics) is done by the caller (analyze.ts); this file only does arithmetic on its numbers.
 *
 * ## The inputs of the predictors
 *
 * - `features` (ours): per stage of the U (encoder, bottleneck, decoder), the mean over the
 *   stage's taps (where finite) of `knnDice`, `log featureShift` and `log featureShiftFg`
 *   (positive ratios whose effect is multiplicative), and the log share of pixels predicted
 *   as foreground (floored at 1e-4), which tells a model that stops finding the objects —
 *   for segmentation (Dice). Classification (accuracy): `knnConfidence` and `log
 *   featureShift` per stage; regression (SSIM): `log featureShift` and `log roughness`. The
 *   columns finite on every copy go into a ridge fit (predictor.ts). Averaging per stage keeps
 *   the inputs few (≤ 10) next to the ~21 copies; per-tap inputs, roughness and knnConfidence
 *   did no better on the model zoo (bench/README.md). The heat strip still shows every tap and
 *   metric.
 * - `maxProbability`, `entropy`: the mean max-softmax probability and the mean predictive
 *   entropy of the final output, each into a straight line.
 *
 * An unlabelled split missing one of the features the fit uses (its tap held NaN there) is
 * predicted by a fit on the features it has.
 */
import { spearman } from '../metrics/stats';
import {
  LABEL_FREE_METRICS,
  PREDICTORS,
  type Estimate,
  type LabelFreeMetric,
  type LabelFreeMetrics,
  type OutputStats,
  type PerformanceWithoutLabels,
  type PredictorName,
  type PredictorSummary,
  type ShiftCopy,
  type Stage,
} from '../types';
import { calibrate, estimate, type Calibrated } from './predictor';
import { shiftLabel, type Shift } from './transforms';

export interface CopyMeasure {
  /** True value of the metric (calibration copies); null for unlabelled splits. */
  performance: number | null;
  images: number;
  output: OutputStats | null;
  features: { [tap: string]: LabelFreeMetrics };
}

export interface AssembleArgs {
  metric: string;
  /** Range of the metric: predictions and intervals are clipped to it. */
  bounds: [number, number];
  /** In network order, with their stage. */
  taps: { name: string; stage: Stage }[];
  calibration: PerformanceWithoutLabels['calibration'];
  settings: PerformanceWithoutLabels['settings'];
  copies: { shift: Shift; measure: CopyMeasure }[];
  splits: { name: string; measure: CopyMeasure }[];
  timingMs: number;
}

function featureValue(m: LabelFreeMetrics | undefined, metric: LabelFreeMetric): number | null {
  const v = m?.[metric];
  if (v === null || v === undefined || !Number.isFinite(v)) return null;
  if (metric === 'knnConfidence' || metric === 'knnDice') return v;
  return v > 0 ? Math.log(v) : null;
}

/** An input of our predictor: a metric averaged over the taps of one stage, or the output's foreground share. */
interface Column {
  name: string;
  /** The taps averaged (empty for the foreground share). */
  taps: string[];
  metric: LabelFreeMetric | 'foreground';
}

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
  if (metric === 'dice') cols.push({ name: 'output: log foreground share', taps: [], metric: 'foreground' });
  return cols;
}

/** Value of one column for a copy or split: the mean over its taps where finite (null if none is), or log of the foreground share (floored at 1e-4). */
function columnValue(measure: CopyMeasure, c: Column): number | null {
  if (c.metric === 'foreground') {
    const f = measure.output?.foreground;
    return f === undefined || f === null || !Number.isFinite(f) ? null : Math.log(Math.max(f, 1e-4));
  }
  let s = 0;
  let n = 0;
  for (const t of c.taps) {
    const v = featureValue(measure.features[t], c.metric);
    if (v !== null) {
      s += v;
      n++;
    }
  }
  return n ? s / n : null;
}

/** The predictor's inputs for one copy or split: value per column (null where missing). */
function row(measure: CopyMeasure, cols: Column[]): (number | null)[] {
  return cols.map((c) => columnValue(measure, c));
}

function outputValue(measure: CopyMeasure, which: 'maxProbability' | 'entropy'): number | null {
  const v = measure.output?.[which];
  return v === undefined || v === null || !Number.isFinite(v) ? null : v;
}

export function assemble(a: AssembleArgs): PerformanceWithoutLabels {
  const y = a.copies.map((c) => c.measure.performance ?? NaN);
  const usable = a.copies.map((c, i) => Number.isFinite(y[i]));
  const idx = a.copies.map((_, i) => i).filter((i) => usable[i]);
  const groups = a.copies.map((c) => c.shift.family);
  const yy = idx.map((i) => y[i]);
  const gg = idx.map((i) => groups[i]);

  // Indicativeness: Spearman of each tap × metric with the true performance over the copies.
  const indicativeness: PerformanceWithoutLabels['indicativeness'] = {};
  for (const { name: tap } of a.taps) {
    const cell = { roughness: null, knnConfidence: null, featureShift: null, knnDice: null, featureShiftFg: null } as LabelFreeMetrics;
    for (const m of LABEL_FREE_METRICS) {
      const xs = idx.map((i) => a.copies[i].measure.features[tap]?.[m]);
      if (xs.length >= 3 && xs.every((v) => v !== null && v !== undefined && Number.isFinite(v))) {
        const r = spearman(xs as number[], yy);
        cell[m] = r === null ? null : round(r, 4);
      }
    }
    indicativeness[tap] = cell;
  }

  // Columns of our predictor: finite on every usable copy.
  const allCols = predictorColumns(a.taps, a.metric);
  const calibRows = idx.map((i) => row(a.copies[i].measure, allCols));
  const cols = allCols.filter((_, j) => calibRows.every((r) => r[j] !== null));
  const colIdx = cols.map((c) => allCols.indexOf(c));
  const X = calibRows.map((r) => colIdx.map((j) => r[j] as number));

  const enough = idx.length >= 4 && new Set(gg).size >= 3;
  const predictors = {} as { [P in PredictorName]: PredictorSummary | null };
  const fits = {} as { [P in PredictorName]: Calibrated | null };
  const logoAll = {} as { [P in PredictorName]: (number | null)[] };

  const summarise = (name: PredictorName, c: Calibrated | null, description: string, inputs: string[]): void => {
    fits[name] = c;
    const logo = new Array<number | null>(a.copies.length).fill(null);
    if (c) idx.forEach((i, r) => (logo[i] = Number.isFinite(c.logo[r]) ? round(c.logo[r], 4) : null));
    logoAll[name] = logo;
    if (!c) {
      predictors[name] = null;
      return;
    }
    const pairs = idx.map((i, r) => [c.logo[r], y[i]]).filter(([p]) => Number.isFinite(p));
    const rho = pairs.length >= 3 ? spearman(pairs.map((p) => p[0]), pairs.map((p) => p[1])) : null;
    predictors[name] = {
      description,
      inputs,
      lofoMae: Number.isFinite(c.logoMae) ? round(c.logoMae, 4) : null,
      lofoSpearman: rho === null ? null : round(rho, 4),
      interval: Number.isFinite(c.below) ? { below: round(c.below, 4), above: round(c.above, 4) } : null,
    };
  };

  if (enough && cols.length > 0) {
    summarise(
      'features',
      calibrate('ridge', X, yy, gg, a.bounds),
      `Ridge regression (standardised inputs, α by leave-one-family-out error) on ${cols.length} label-free inputs: per stage of the U, the mean over its taps of ${listing(predictorMetrics(a.metric).filter((m) => cols.some((c) => c.metric === m)).map((m) => (m === 'knnDice' || m === 'knnConfidence' ? m : `log ${m}`)))}${cols.some((c) => c.metric === 'foreground') ? ', and the log share of pixels predicted as foreground' : ''}; fitted on ${idx.length} shifted copies.`,
      cols.map((c) => c.name),
    );
  } else summarise('features', null, '', []);
  for (const which of ['maxProbability', 'entropy'] as const) {
    const xs = idx.map((i) => outputValue(a.copies[i].measure, which));
    if (enough && xs.every((v) => v !== null)) {
      summarise(
        which,
        calibrate('linear', xs.map((v) => [v as number]), yy, gg, a.bounds),
        which === 'maxProbability'
          ? 'Baseline: a straight line from the mean max-softmax probability of the final output.'
          : 'Baseline: a straight line from the mean predictive entropy of the final output.',
        [which],
      );
    } else summarise(which, null, '', []);
  }

  const shifts: ShiftCopy[] = a.copies.map((c, i) => ({
    family: c.shift.family,
    strength: c.shift.strength,
    ...(c.shift.parts ? { parts: c.shift.parts.map((q) => ({ ...q })) } : {}),
    label: shiftLabel(c.shift),
    images: c.measure.images,
    performance: round(y[i], 6),
    output: roundOutput(c.measure.output),
    features: roundFeatures(c.measure.features),
    lofo: { features: logoAll.features[i], maxProbability: logoAll.maxProbability[i], entropy: logoAll.entropy[i] },
  }));

  const splits: PerformanceWithoutLabels['splits'] = {};
  for (const s of a.splits) {
    const predicted = {} as { [P in PredictorName]: Estimate | null };
    for (const p of PREDICTORS) predicted[p] = null;
    const fF = fits.features;
    if (fF) {
      const r = row(s.measure, cols);
      if (r.every((v) => v !== null)) predicted.features = roundEstimate(estimate(fF, r as number[], a.bounds));
      else {
        // Refit without the columns this split lacks.
        const keep = r.map((v, j) => (v === null ? -1 : j)).filter((j) => j >= 0);
        if (keep.length > 0) {
          const c = calibrate('ridge', X.map((xr) => keep.map((j) => xr[j])), yy, gg, a.bounds);
          predicted.features = roundEstimate(estimate(c, keep.map((j) => r[j] as number), a.bounds));
        }
      }
    }
    for (const which of ['maxProbability', 'entropy'] as const) {
      const f = fits[which];
      const v = outputValue(s.measure, which);
      if (f && v !== null) predicted[which] = roundEstimate(estimate(f, [v], a.bounds));
    }
    splits[s.name] = { output: roundOutput(s.measure.output), features: roundFeatures(s.measure.features), predicted };
  }

  return {
    metric: a.metric,
    calibration: a.calibration,
    settings: a.settings,
    shifts,
    indicativeness,
    predictors,
    splits,
    timingMs: Math.round(a.timingMs),
  };
}

function round(v: number, digits: number): number {
  if (!Number.isFinite(v)) return v;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function roundEstimate(e: Estimate): Estimate {
  return { value: round(e.value, 4), low: round(e.low, 4), high: round(e.high, 4) };
}

function roundOutput(o: OutputStats | null): OutputStats | null {
  return o ? { maxProbability: round(o.maxProbability, 6), entropy: round(o.entropy, 6), foreground: round(o.foreground, 6) } : null;
}

function roundFeatures(f: { [tap: string]: LabelFreeMetrics }): { [tap: string]: LabelFreeMetrics } {
  const out: { [tap: string]: LabelFreeMetrics } = {};
  for (const [tap, m] of Object.entries(f)) {
    const r = {} as LabelFreeMetrics;
    for (const k of LABEL_FREE_METRICS) r[k] = m[k] === null || m[k] === undefined ? null : round(m[k] as number, 6);
    out[tap] = r;
  }
  return out;
}

/** "a", "a and b", "a, b and c". */
function listing(items: string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}
