/**
 * Pure helpers of the "Without labels" view (METHOD.md §5, `results.performanceWithoutLabels`):
 * what the heat strip, the shift scatter and the estimates draw, the diverging colour scale
 * of Spearman ρ, the words of the view and its CSV. No DOM, no chart.js: importable from
 * Node tests.
 *
 * Nothing here computes a metric or a prediction (ARCHITECTURE.md): it only picks, orders
 * and places the numbers the engine wrote.
 */
import type {
  Estimate,
  PerformanceWithoutLabels,
  PredictorName,
  Results,
  ShiftCopy,
  TapInfo,
} from '../src/engine/types';
import { isUnitMetric, LABEL_FREE_METRICS, METRIC_SPECS, metricShort, metricSpec } from '../src/protocol/metrics';
import { numOrNull, shortTapName, tapsInOrder, toCsv } from './format';
import { cannotTell, estimateText as estimateLabel } from '../src/protocol/names';
import type { RGB } from './scale';

/**
 * The label-free metrics the panel knows (src/protocol/metrics.ts LABEL_FREE_METRICS), in
 * order: the ones of METHOD.md §4 that need no labels are always rows of the heat strip;
 * `knnDice` (segmentation) and any other metric the results hold are rows when some tap has a
 * ρ for them.
 */
export const LF_METRICS = LABEL_FREE_METRICS;
/** A label-free metric's key in the results (one of LF_METRICS, or one this panel does not know yet). */
export type LfMetric = string;
const ALWAYS: readonly string[] = LF_METRICS.filter((m) => metricSpec(m)?.family === 'tap');

/** A label-free metric's name, or undefined when the table does not know it as one. */
function lfName(m: string): string | undefined {
  return (LF_METRICS as readonly string[]).includes(m) ? metricShort(m) : undefined;
}

export function lfTitle(m: string): string {
  return lfName(m) ?? m;
}

/** ρ of a tap and metric (the cell may hold keys the types do not list yet). */
function rhoOf(p: PerformanceWithoutLabels, tap: string, metric: string): number | null {
  return numOrNull((p.indicativeness?.[tap] as unknown as Record<string, unknown> | undefined)?.[metric]);
}

/** The rows of the heat strip: the three of METHOD.md §4, then every other metric some tap has a ρ for. */
export function stripMetrics(p: PerformanceWithoutLabels): LfMetric[] {
  const out = [...ALWAYS];
  const others: string[] = [];
  for (const [tap, cell] of Object.entries(p.indicativeness ?? {})) {
    for (const m of Object.keys(cell ?? {})) if (!out.includes(m) && !others.includes(m) && rhoOf(p, tap, m) !== null) others.push(m);
  }
  const rank = (m: string) => {
    const i = (LF_METRICS as readonly string[]).indexOf(m);
    return i < 0 ? LF_METRICS.length : i;
  };
  return [...out, ...others.map((m, i) => ({ m, i })).sort((a, b) => rank(a.m) - rank(b.m) || a.i - b.i).map((x) => x.m)];
}

/** The three predictors (types.ts PREDICTORS), ours first. */
export const PREDICTOR_NAMES: readonly PredictorName[] = ['features', 'maxProbability', 'entropy'];

export const PREDICTOR_INFO: Record<PredictorName, { title: string; short: string; baseline: boolean }> = {
  // ours reads the interior taps and, for segmentation, the output's shape and confidence too
  features: { title: 'Network features', short: 'network features', baseline: false },
  maxProbability: { title: 'Max-softmax baseline', short: 'max-softmax baseline', baseline: true },
  entropy: { title: 'Entropy baseline', short: 'entropy baseline', baseline: true },
};

export const FAMILY_TITLES: Record<string, string> = {
  none: 'unshifted',
  noise: 'Gaussian noise',
  blur: 'Gaussian blur',
  gamma: 'gamma',
  contrast: 'contrast',
  scale: 'intensity scale',
  mix: 'mixed shifts',
};

export function perfTitle(metric: string | undefined): string {
  return metric ? metricShort(metric) : 'performance';
}

/**
 * The section, when the results have one that can be drawn (an object with a `shifts`
 * array); undefined otherwise. Missing parts are filled with empty ones, never invented
 * numbers.
 */
export function withoutLabels(results: Results | undefined): PerformanceWithoutLabels | undefined {
  const p = results?.performanceWithoutLabels as Partial<PerformanceWithoutLabels> | undefined | null;
  if (!p || typeof p !== 'object' || !Array.isArray(p.shifts)) return undefined;
  return {
    metric: typeof p.metric === 'string' ? p.metric : 'dice',
    calibration: p.calibration ?? { splits: [], images: 0, heldOutOfTrain: false },
    settings: p.settings ?? { maxPoints: 0, kmeansInits: 0, families: [], strengths: {} },
    shifts: p.shifts.filter((c): c is ShiftCopy => !!c && typeof c === 'object'),
    indicativeness: p.indicativeness ?? {},
    predictors: { features: null, maxProbability: null, entropy: null, ...(p.predictors ?? {}) },
    splits: p.splits ?? {},
    timingMs: typeof p.timingMs === 'number' ? p.timingMs : 0,
  };
}

// ---------------------------------------------------------------- why it is absent

export interface Absence {
  /** `no-labels`: no labelled split at all; `off`: there was one, so the sweep was off or not run. */
  reason: 'no-labels' | 'off';
  title: string;
  detail: string;
}

/** Why the results have no performance-without-labels section, in words (from what the results show). */
export function absence(results: Results): Absence {
  const labelled = (results.splits ?? []).filter((s) => s.labeled).map((s) => s.name);
  if (labelled.length === 0) {
    return {
      reason: 'no-labels',
      title: 'No split of this dataset has labels, so there is nothing to shift.',
      detail:
        'Performance without labels is calibrated on shifted copies of a labelled split (noise, blur, gamma, contrast, intensity scale), whose true performance is known. Add a split with labels (a validation or test split; else a held-out part of train is used) to the dataset file.',
    };
  }
  return {
    reason: 'off',
    title: 'These results have no performance-without-labels section.',
    detail: `The synthetic shift sweep did not run. It is off with "analysis": { "shifts": false } (or analysis.shifts.enabled: false) in the dataset file, with the setting unetLens.predictPerformance off, or with --no-shifts on the command line; or these results come from a version of UNet Lens that did not run it. With it on, the labelled data (${labelled.join(', ')}) is shifted to calibrate a predictor of performance for the splits without labels. Turn it on and re-run the analysis.`,
  };
}

// ---------------------------------------------------------------- indicativeness

export interface IndicativenessCell {
  tap: TapInfo;
  /** Column: the tap's position in forward order. */
  col: number;
  metric: LfMetric;
  row: number;
  /** Spearman ρ as in the results, or null. */
  rho: number | null;
  /** The features predictor reads this (tap, metric). */
  input: boolean;
}

/** "tap:metric" → [tap, metric], split at the last ':' (tap names may hold '::'). */
export function parseInput(s: string): { tap: string; metric: string } | null {
  const i = s.lastIndexOf(':');
  if (i <= 0 || i === s.length - 1) return null;
  return { tap: s.slice(0, i), metric: s.slice(i + 1) };
}

/** The (tap, metric) pairs the features predictor reads, as "tap\u0000metric" keys. */
export function predictorInputs(p: PerformanceWithoutLabels): Set<string> {
  const out = new Set<string>();
  for (const s of p.predictors?.features?.inputs ?? []) {
    const x = parseInput(s);
    if (x) out.add(`${x.tap}\u0000${x.metric}`);
  }
  return out;
}

/**
 * One cell per tap (forward order) and row metric (`stripMetrics`), row by row. `input` marks
 * what the features predictor reads, only when it reads some of the cells with a value but
 * not all (a mark on every cell would say nothing).
 */
export function indicativenessCells(results: Results, p: PerformanceWithoutLabels): IndicativenessCell[] {
  const taps = tapsInOrder(results);
  const inputs = predictorInputs(p);
  const cells: IndicativenessCell[] = [];
  stripMetrics(p).forEach((metric, row) => {
    taps.forEach((tap, col) => {
      const rho = rhoOf(p, tap.name, metric);
      cells.push({ tap, col, metric, row, rho: rho === null ? null : Math.max(-1, Math.min(1, rho)), input: inputs.has(`${tap.name}\u0000${metric}`) });
    });
  });
  const valued = cells.filter((c) => c.rho !== null);
  const read = valued.filter((c) => c.input).length;
  if (read === 0 || read === valued.length) for (const c of cells) c.input = false;
  return cells;
}

/**
 * The inputs of a predictor in words: a few as they are ("enc2/relu2 · Feature shift"), many
 * summed up ("56 interior features: 14 taps × Roughness, kNN confidence, …").
 */
export function inputsText(inputs: readonly string[], maxListed = 4): string {
  // Per-stage summaries ("decoder: knnDice (mean of 7 taps)", "output: log foreground share"): the
  // metrics once, then the stages they are averaged over.
  const staged = inputs.map((x) => /^(encoder|bottleneck|decoder|output): (.+?)(?: \(mean of \d+ taps?\))?$/.exec(x));
  if (inputs.length > maxListed && staged.every((m) => m)) {
    const stages = [...new Set(staged.filter((m) => m![1] !== 'output').map((m) => m![1]))];
    const metrics = [...new Set(staged.filter((m) => m![1] !== 'output').map((m) => m![2]))];
    const extra = staged.filter((m) => m![1] === 'output').map((m) => m![2]);
    return keysInWords(`${inputs.length} inputs: ${metrics.join(', ')} averaged per stage (${stages.join(', ')})${extra.length ? `; ${extra.join(', ')}` : ''}`);
  }
  const parsed = inputs.map((x) => ({ raw: x, q: parseInput(x) }));
  const name = lfName;
  const one = (x: { raw: string; q: { tap: string; metric: string } | null }) => (x.q && name(x.q.metric) ? `${shortTapName(x.q.tap)} · ${name(x.q.metric)}` : x.raw);
  if (inputs.length <= maxListed || parsed.some((x) => !x.q || !name(x.q.metric))) return keysInWords(parsed.map(one).join(', '));
  const taps = new Set(parsed.map((x) => x.q!.tap));
  const metrics = [...new Set(parsed.map((x) => x.q!.metric))].map(lfTitle);
  return `${inputs.length} interior features: ${taps.size} tap${taps.size === 1 ? '' : 's'} × ${metrics.join(', ')}`;
}

/**
 * A text from the engine (a predictor's inputs or description) with the metric keys it names
 * replaced by their names in words from the metric table ("log featureShiftFg" → "log Feature
 * shift (fg)"): no code keys in the panel.
 */
export function keysInWords(text: string): string {
  const keys = METRIC_SPECS.map((m) => m.key).sort((a, b) => b.length - a.length);
  const re = new RegExp(`\\b(${keys.join('|')})\\b`, 'g');
  return text.replace(re, (k) => metricShort(k));
}

/** Position of ρ on the diverging scale: −1 → 0, 0 → 0.5, +1 → 1; null stays null. */
export function rhoPosition(rho: number | null | undefined): number | null {
  if (rho === null || rho === undefined || !Number.isFinite(rho)) return null;
  return (Math.max(-1, Math.min(1, rho)) + 1) / 2;
}

/**
 * Colour of ρ on a diverging scale through the background: `neg` at −1, `mid` at 0 (the
 * theme's background, so "says nothing" looks blank in light and dark themes), `pos` at +1.
 */
export function divergingColor(rho: number, neg: RGB, mid: RGB, pos: RGB): RGB {
  const t = rhoPosition(rho) ?? 0.5;
  const [a, b, f] = t < 0.5 ? [neg, mid, t / 0.5] : [mid, pos, (t - 0.5) / 0.5];
  return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * f)) as RGB;
}

/** ρ as text, with a real minus sign: "−0.82", "0.07", "—". */
export function rhoText(rho: number | null | undefined, digits = 2): string {
  if (rho === null || rho === undefined || !Number.isFinite(rho)) return '—';
  const s = Math.abs(rho).toFixed(digits);
  return rho < 0 && Number(s) !== 0 ? `−${s}` : s;
}

// ---------------------------------------------------------------- shift scatter

/** Families in the order of the settings (then any other the copies name), the unshifted copy first. */
export function shiftFamilies(p: PerformanceWithoutLabels): string[] {
  const out: string[] = [];
  const add = (f: string) => {
    if (!out.includes(f)) out.push(f);
  };
  if (p.shifts.some((c) => c.family === 'none')) add('none');
  for (const f of p.settings?.families ?? []) if (p.shifts.some((c) => c.family === f)) add(f);
  for (const c of p.shifts) add(c.family);
  return out;
}

export interface ShiftPoint {
  family: string;
  label: string;
  strength: number;
  /** True performance of the copy. */
  x: number;
  /** The predictor's leave-one-family-out prediction. */
  y: number;
}

/** The copies a predictor has a LOFO prediction for, as (true, predicted) points. */
export function shiftPoints(p: PerformanceWithoutLabels, predictor: PredictorName, family?: string): ShiftPoint[] {
  const out: ShiftPoint[] = [];
  for (const c of p.shifts) {
    if (family !== undefined && c.family !== family) continue;
    const x = numOrNull(c.performance);
    const y = numOrNull(c.lofo?.[predictor]);
    if (x === null || y === null) continue;
    out.push({ family: c.family, label: typeof c.label === 'string' && c.label ? c.label : `${c.family} ${c.strength}`, strength: c.strength, x, y });
  }
  return out;
}

/**
 * One range for both axes of the scatter (so that the diagonal is the diagonal): the
 * values' range with a small margin, kept inside [0, 1] for Dice, accuracy and SSIM.
 */
export function scatterRange(values: number[], metric: string | undefined): [number, number] {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length === 0) return [0, 1];
  let lo = Math.min(...v);
  let hi = Math.max(...v);
  const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.05 || 0.05;
  lo -= pad;
  hi += pad;
  if (isUnitMetric(metric)) {
    lo = Math.max(0, lo);
    hi = Math.min(1, hi);
  }
  // round outwards to a readable step
  const step = (hi - lo) > 0.5 ? 0.1 : 0.05;
  return [Math.floor(lo / step + 1e-9) * step, Math.ceil(hi / step - 1e-9) * step].map((x) => Number(x.toFixed(6))) as [number, number];
}

// ---------------------------------------------------------------- estimates

export interface EstimateRow {
  predictor: PredictorName;
  estimate: Estimate | null;
}

/** The splits with estimates, in the order of results.splits, then any others. */
export function estimateSplits(results: Results, p: PerformanceWithoutLabels): string[] {
  const names = Object.keys(p.splits ?? {});
  const ordered = (results.splits ?? []).map((s) => s.name).filter((n) => names.includes(n));
  return [...ordered, ...names.filter((n) => !ordered.includes(n))];
}

function validEstimate(e: unknown): Estimate | null {
  if (!e || typeof e !== 'object') return null;
  const x = e as Partial<Estimate>;
  const value = numOrNull(x.value);
  if (value === null) return null;
  return { value, low: numOrNull(x.low) ?? value, high: numOrNull(x.high) ?? value };
}

/** Each predictor's estimate for one split (null where it has none). */
export function estimateRows(p: PerformanceWithoutLabels, split: string): EstimateRow[] {
  const pred = p.splits?.[split]?.predicted;
  return PREDICTOR_NAMES.map((predictor) => ({ predictor, estimate: validEstimate(pred?.[predictor]) }));
}

/** 0.7123 → "0.712"; numbers in [0, 1] with 2–3 decimals, others with 3 significant digits. */
export function est(v: number): string {
  if (Math.abs(v) < 10) return String(Number(v.toFixed(3)));
  return String(Number(v.toPrecision(3)));
}

/** "0.88 [0.73, 1.00]", or only "0.65–1.00" when it cannot tell (src/protocol/names.ts, the one rule). */
export function estimateText(e: Estimate): string {
  return estimateLabel(e, e.grade);
}

/**
 * What the estimates of a split mean, in one sentence: "Predicted Dice 0.71 [0.62, 0.79]
 * from the network features; the max-softmax baseline says 0.84 [0.67, 0.84], the
 * entropy baseline 0.82 [0.69, 0.82]." An estimate that cannot tell gives only its range.
 */
export function estimateSentence(metric: string | undefined, rows: EstimateRow[]): string {
  const m = perfTitle(metric);
  const ours = rows.find((r) => r.predictor === 'features')?.estimate ?? null;
  const first = ours
    ? cannotTell(ours, ours.grade)
      ? `Predicted ${m} somewhere in ${estimateText(ours)} (cannot tell) from the ${PREDICTOR_INFO.features.short}`
      : `Predicted ${m} ${estimateText(ours)} from the ${PREDICTOR_INFO.features.short}`
    : `The ${PREDICTOR_INFO.features.short} predictor has no estimate of ${m} for this split`;
  const base = rows
    .filter((r) => r.predictor !== 'features')
    .map((r, i) => {
      const name = PREDICTOR_INFO[r.predictor].short;
      if (!r.estimate) return `the ${name} has none`;
      return i === 0 ? `the ${name} says ${estimateText(r.estimate)}` : `the ${name} ${estimateText(r.estimate)}`;
    });
  return `${first}${base.length ? `; ${base.join(', ')}` : ''}.`;
}

// ---------------------------------------------------------------- CSV

/** Every shifted copy: its true performance, output statistics and LOFO predictions. */
export function shiftsCsv(p: PerformanceWithoutLabels): string {
  const header = ['family', 'strength', 'label', 'images', p.metric, 'maxProbability', 'entropy', ...PREDICTOR_NAMES.map((n) => `lofo_${n}`)];
  const rows = p.shifts.map((c) => [
    c.family, c.strength, c.label, c.images, numOrNull(c.performance),
    numOrNull(c.output?.maxProbability), numOrNull(c.output?.entropy),
    ...PREDICTOR_NAMES.map((n) => numOrNull(c.lofo?.[n])),
  ]);
  return toCsv(header, rows);
}

/** Spearman ρ per tap (forward order) and label-free metric. */
export function indicativenessCsv(results: Results, p: PerformanceWithoutLabels): string {
  const metrics = stripMetrics(p);
  const header = ['tap', 'index', 'stage', 'level', ...metrics.map((m) => `rho_${m}`), 'predictorInputs'];
  const inputs = predictorInputs(p);
  const rows = tapsInOrder(results).map((t) => [
    t.name, t.index, t.stage, t.level,
    ...metrics.map((m) => rhoOf(p, t.name, m)),
    [...inputs].filter((k) => k.startsWith(`${t.name}\u0000`)).map((k) => k.slice(t.name.length + 1)).join(';'),
  ]);
  return toCsv(header, rows);
}

/** Each unlabelled split's estimate by each predictor. */
export function estimatesCsv(results: Results, p: PerformanceWithoutLabels): string {
  const header = ['split', 'metric', 'predictor', 'value', 'low', 'high'];
  const rows: unknown[][] = [];
  for (const split of estimateSplits(results, p)) {
    for (const r of estimateRows(p, split)) rows.push([split, p.metric, r.predictor, r.estimate?.value ?? null, r.estimate?.low ?? null, r.estimate?.high ?? null]);
  }
  return toCsv(header, rows);
}

// ---------------------------------------------------------------- keyboard

/** The cell the arrow keys, Home and End move to in a cols × rows grid; null for other keys. */
export function moveCell(col: number, row: number, key: string, cols: number, rows: number): { col: number; row: number } | null {
  if (cols <= 0 || rows <= 0) return null;
  const c = (x: number) => Math.min(cols - 1, Math.max(0, x));
  const r = (x: number) => Math.min(rows - 1, Math.max(0, x));
  switch (key) {
    case 'ArrowLeft':
      return { col: c(col - 1), row };
    case 'ArrowRight':
      return { col: c(col + 1), row };
    case 'ArrowUp':
      return { col, row: r(row - 1) };
    case 'ArrowDown':
      return { col, row: r(row + 1) };
    case 'Home':
      return { col: 0, row };
    case 'End':
      return { col: cols - 1, row };
    default:
      return null;
  }
}
