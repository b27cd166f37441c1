/**
 * The checkpoint series (CONTRACT.md §4, schema `unet-lens/series@1`): the results of many
 * checkpoints of one model on one dataset file, put side by side in training order. Pure:
 * no file system, no `vscode`. The numbers the timeline view draws (the per-tap metrics as
 * taps × checkpoints, every split's true or predicted performance, the generalization gap
 * and the peaks) are all computed here; the webview only draws them.
 *
 * Also the comparison of two results (`compareResults`), for the Compare view.
 */
import { TAP_METRICS, higherIsBetter, type TapMetricKey } from '../protocol/metrics';
import type { Estimate, Results, Stage, Task } from './types';

export const SERIES_SCHEMA = 'unet-lens/series@1';

/** One checkpoint of the series, as found on disk (or read from a results file). */
export interface CheckpointRef {
  path: string;
  /** Modification time of the checkpoint file, when known. */
  mtimeMs?: number | null;
}

/** How the checkpoints were put in order. */
export type SeriesOrder = 'number' | 'mtime';

export interface SeriesCheckpoint {
  /** Position in the series, from 0. */
  index: number;
  /** File name of the checkpoint (`epoch_3.onnx`). */
  name: string;
  path: string;
  /** The model file's sha256 (results.json `model.sha256`): the cache key, the folder name under `--results-dir`. */
  sha256: string;
  /** The epoch or step number parsed from the name; null when it has none. */
  number: number | null;
  mtimeMs: number | null;
  /** `createdAt` of its results. */
  createdAt: string;
  /** Where its results file was read from, when the series came from files. */
  resultsPath?: string;
}

export interface SeriesTap {
  name: string;
  op: string;
  stage: Stage;
  level: number;
  /** Per checkpoint: does that checkpoint's graph have this tap. */
  present: boolean[];
}

export interface SeriesPeak {
  /** Index into `checkpoints`. */
  checkpoint: number;
  value: number;
  /** `true`: the split's true performance (labelled); `predicted`: the feature predictor's estimate (unlabelled). */
  by: 'true' | 'predicted';
}

export interface SeriesSplit {
  name: string;
  labeled: boolean;
  /** Per checkpoint: the true performance (`metric`), null when unlabelled or missing. */
  performance: (number | null)[];
  /** Per checkpoint: the predicted performance with its interval (unlabelled splits), null where there is none. */
  predicted: (Estimate | null)[];
  /** The checkpoint where this split's performance (true, else predicted) is highest; null for `train` and when nothing was measured. */
  peak: SeriesPeak | null;
}

export interface Series {
  schema: typeof SERIES_SCHEMA;
  createdAt: string;
  dataset: { path: string; task: Task; classes: string[] };
  /** Settings every checkpoint was analysed with (the first checkpoint's; a difference is a warning). */
  settings: { seed: number; maxPoints: number; k: number };
  /** The performance metric of `splits[i].performance` and `predicted`: `dice`, `accuracy` or `ssim`. */
  metric: string;
  order: SeriesOrder;
  checkpoints: SeriesCheckpoint[];
  /** The union of the checkpoints' taps, in forward order. */
  taps: SeriesTap[];
  /** `metrics[split][metric][tap][checkpoint]`: the per-tap metrics (METHOD.md §4) as taps × checkpoints. */
  metrics: { [split: string]: { [K in TapMetricKey]: (number | null)[][] } };
  splits: SeriesSplit[];
  /** The generalization gap: train performance minus `against` performance per checkpoint; null when there is no second labelled split. */
  gap: { train: string; against: string; values: (number | null)[]; widest: SeriesPeak | null } | null;
  /** The checkpoint the timeline marks: where the test split's Dice (or the first unlabelled split's predicted Dice) peaks. */
  best: (SeriesPeak & { split: string }) | null;
  warnings: string[];
}

/** The epoch or step number of a checkpoint file name: `epoch_12.onnx` → 12, `ckpt-step3000.h5` → 3000, `model.onnx` → null. */
export function checkpointNumber(file: string): number | null {
  const base = file.split(/[\\/]/).pop() ?? file;
  const stem = base.replace(/\.(onnx|h5|hdf5|keras|json)$/i, '');
  const named = /(?:epoch|ep|step|iter|iteration|it|e|s)[_\-.=]?(\d+)/i.exec(stem);
  if (named) return Number(named[1]);
  const all = stem.match(/\d+/g);
  return all ? Number(all[all.length - 1]) : null;
}

/** Puts checkpoints in training order: by their number when every one has one, else by modification time (then name). */
export function orderCheckpoints<T extends CheckpointRef>(refs: readonly T[]): { order: SeriesOrder; items: T[] } {
  const nums = refs.map((r) => checkpointNumber(r.path));
  const byName = (a: T, b: T) => a.path.localeCompare(b.path, 'en', { numeric: true });
  if (refs.length > 0 && nums.every((n) => n !== null)) {
    const idx = refs.map((_, i) => i);
    idx.sort((a, b) => (nums[a]! - nums[b]!) || (refs[a].mtimeMs ?? 0) - (refs[b].mtimeMs ?? 0) || byName(refs[a], refs[b]));
    return { order: 'number', items: idx.map((i) => refs[i]) };
  }
  return { order: 'mtime', items: refs.slice().sort((a, b) => (a.mtimeMs ?? 0) - (b.mtimeMs ?? 0) || byName(a, b)) };
}

/** The performance metric of a task (what the predictor predicts, METHOD.md §5). */
export function performanceMetric(task: Task): string {
  return task === 'segmentation' ? 'dice' : task === 'classification' ? 'accuracy' : 'ssim';
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Index and value of the best entry (higher better unless `lower`); the earliest on a tie; null when all are null. */
export function argBest(values: readonly (number | null)[], lower = false): { index: number; value: number } | null {
  let best: { index: number; value: number } | null = null;
  values.forEach((v, index) => {
    if (v === null) return;
    if (!best || (lower ? v < best.value : v > best.value)) best = { index, value: v };
  });
  return best;
}

/** One checkpoint's input to `assembleSeries`. */
export interface SeriesInput extends CheckpointRef {
  results: Results;
  resultsPath?: string;
}

/**
 * The label-free estimate of a split in one results file: ours (METHOD.md §5) with its grade,
 * else the split's `predictedPerformance` (files written before the predictor kept its own).
 */
export function predictedEstimate(r: Results, split: string, metric: string): Estimate | null {
  const e = r.performanceWithoutLabels?.splits[split]?.predicted.features;
  if (e) return { value: e.value, low: e.low, high: e.high, ...(e.grade ? { grade: e.grade } : {}) };
  const pp = r.splits.find((s) => s.name === split)?.predictedPerformance;
  const v = num(pp?.[metric]);
  return pp && v !== null ? { value: v, low: pp.low, high: pp.high } : null;
}

/**
 * Assembles the series document from the results of each checkpoint. The inputs may come in
 * any order; they are ordered by `orderCheckpoints`, a model (by sha256) appears once.
 */
export function assembleSeries(inputs: readonly SeriesInput[], createdAt = new Date().toISOString()): Series {
  if (inputs.length === 0) throw new Error('a series needs at least one checkpoint');
  const warnings: string[] = [];
  const seen = new Set<string>();
  const unique = inputs.filter((i) => {
    const key = i.results.model.sha256;
    if (seen.has(key)) {
      warnings.push(`${basename(i.path)}: the same model (sha256 ${key.slice(0, 12)}…) as an earlier checkpoint; shown once`);
      return false;
    }
    seen.add(key);
    return true;
  });
  const { order, items } = orderCheckpoints(unique);
  const first = items[0].results;
  const task = first.dataset.task;
  const metric = performanceMetric(task);
  for (const it of items.slice(1)) {
    const r = it.results;
    const name = basename(it.path);
    if (r.dataset.task !== task || r.dataset.classes.join('\u0000') !== first.dataset.classes.join('\u0000'))
      warnings.push(`${name}: analysed with a different dataset (${r.dataset.task}, classes ${r.dataset.classes.join(', ')})`);
    for (const k of ['seed', 'maxPoints', 'k'] as const)
      if (r.settings[k] !== first.settings[k]) warnings.push(`${name}: ${k} ${r.settings[k]} differs from the series' ${first.settings[k]}`);
  }

  const checkpoints: SeriesCheckpoint[] = items.map((it, index) => ({
    index,
    name: basename(it.path),
    path: it.path,
    sha256: it.results.model.sha256,
    number: checkpointNumber(it.path),
    mtimeMs: it.mtimeMs ?? null,
    createdAt: it.results.createdAt,
    ...(it.resultsPath ? { resultsPath: it.resultsPath } : {}),
  }));
  const n = items.length;

  // Taps: the union in forward order (a tap new in a later graph goes after its predecessor there).
  const taps: SeriesTap[] = [];
  const tapIndex = new Map<string, number>();
  items.forEach((it, c) => {
    let after = -1;
    for (const t of it.results.taps) {
      let at = tapIndex.get(t.name);
      if (at === undefined) {
        at = after + 1;
        taps.splice(at, 0, { name: t.name, op: t.op, stage: t.stage, level: t.level, present: new Array(n).fill(false) });
        tapIndex.clear();
        taps.forEach((x, i) => tapIndex.set(x.name, i));
      }
      taps[at].present[c] = true;
      after = at;
    }
  });

  // Splits: the union, in the first checkpoint's order.
  const splitNames: string[] = [];
  const labeled = new Map<string, boolean>();
  for (const it of items)
    for (const s of it.results.splits) {
      if (!labeled.has(s.name)) splitNames.push(s.name);
      labeled.set(s.name, (labeled.get(s.name) ?? false) || s.labeled);
    }
  if (!splitNames.includes('train') && items.some((it) => it.results.metrics.train)) splitNames.unshift('train');

  const metrics: Series['metrics'] = {};
  for (const split of splitNames) {
    const perMetric = {} as { [K in TapMetricKey]: (number | null)[][] };
    for (const m of TAP_METRICS)
      perMetric[m] = taps.map((t) => items.map((it) => num(it.results.metrics[split]?.[t.name]?.[m])));
    metrics[split] = perMetric;
  }

  const lower = !higherIsBetter(metric);
  const splits: SeriesSplit[] = splitNames.map((name) => {
    const performance = items.map((it) => num(it.results.splits.find((s) => s.name === name)?.performance?.[metric]));
    const predicted = items.map((it) => predictedEstimate(it.results, name, metric));
    const isLabeled = labeled.get(name) ?? false;
    let peak: SeriesPeak | null = null;
    if (name !== 'train') {
      const t = argBest(performance, lower);
      const p = argBest(predicted.map((e) => e?.value ?? null), lower);
      if (t) peak = { checkpoint: t.index, value: t.value, by: 'true' };
      else if (p) peak = { checkpoint: p.index, value: p.value, by: 'predicted' };
    }
    return { name, labeled: isLabeled, performance, predicted, peak };
  });

  const train = splits.find((s) => s.name === 'train');
  const against = splits.find((s) => s.name === 'test' && s.labeled) ?? splits.find((s) => s.name !== 'train' && s.labeled);
  let gap: Series['gap'] = null;
  if (train && against) {
    const values = items.map((_, c) => {
      const a = train.performance[c];
      const b = against.performance[c];
      return a === null || b === null ? null : round6(lower ? b - a : a - b);
    });
    const w = argBest(values);
    gap = { train: 'train', against: against.name, values, widest: w ? { checkpoint: w.index, value: w.value, by: 'true' } : null };
  }

  const firstUnlabeled = splits.find((s) => !s.labeled && s.peak);
  const bestSplit = (against?.peak ? against : undefined) ?? firstUnlabeled;
  const best = bestSplit?.peak ? { ...bestSplit.peak, split: bestSplit.name } : null;

  return {
    schema: SERIES_SCHEMA,
    createdAt,
    dataset: { ...first.dataset, classes: first.dataset.classes.slice() },
    settings: { seed: first.settings.seed, maxPoints: first.settings.maxPoints, k: first.settings.k },
    metric,
    order,
    checkpoints,
    taps,
    metrics,
    splits,
    gap,
    best,
    warnings,
  };
}

/** Parses and checks a series document (a file or a message); throws an Error naming what is wrong. */
export function checkSeries(v: unknown): Series {
  const s = v as Series;
  if (!s || typeof s !== 'object' || s.schema !== SERIES_SCHEMA) throw new Error(`not a ${SERIES_SCHEMA} document`);
  if (!Array.isArray(s.checkpoints) || !Array.isArray(s.taps) || !Array.isArray(s.splits) || typeof s.metrics !== 'object')
    throw new Error(`${SERIES_SCHEMA}: checkpoints, taps, splits and metrics are required`);
  const n = s.checkpoints.length;
  for (const t of s.taps) if (!Array.isArray(t.present) || t.present.length !== n) throw new Error(`${SERIES_SCHEMA}: tap ${t.name} has the wrong number of checkpoints`);
  for (const sp of s.splits)
    if (!Array.isArray(sp.performance) || sp.performance.length !== n || !Array.isArray(sp.predicted) || sp.predicted.length !== n)
      throw new Error(`${SERIES_SCHEMA}: split ${sp.name} has the wrong number of checkpoints`);
  return s;
}

/* ------------------------------------------------------------------------------------------ */
/* Comparing two results                                                                       */
/* ------------------------------------------------------------------------------------------ */

export const COMPARISON_SCHEMA = 'unet-lens/comparison@1';

export interface Comparison {
  schema: typeof COMPARISON_SCHEMA;
  /** The two results, A then B: the model file, its sha256, when it was analysed. */
  sides: { name: string; path: string; sha256: string; createdAt: string }[];
  metric: string;
  /** Taps matched by name, in A's forward order, then B's taps A lacks. `inA`/`inB`: present on that side. */
  taps: { name: string; stage: Stage; level: number; inA: boolean; inB: boolean }[];
  /** True when the two graphs have the same taps (by name). */
  sameGraph: boolean;
  /** `metrics[split][metric]`: per tap `a`, `b` and `diff` (b − a; null unless both exist). */
  metrics: { [split: string]: { [K in TapMetricKey]: { a: (number | null)[]; b: (number | null)[]; diff: (number | null)[] } } };
  /** Per split: true performance (labelled) and predicted (unlabelled) on both sides and the difference. */
  splits: {
    name: string;
    labeled: boolean;
    a: number | null;
    b: number | null;
    diff: number | null;
    predictedA: Estimate | null;
    predictedB: Estimate | null;
    predictedDiff: number | null;
  }[];
  warnings: string[];
}

/** Puts two results side by side, taps matched by name (CONTRACT.md §4). */
export function compareResults(a: Results, b: Results, createdNames?: [string, string]): Comparison {
  const warnings: string[] = [];
  if (a.dataset.task !== b.dataset.task) warnings.push(`different tasks: ${a.dataset.task} and ${b.dataset.task}`);
  if (a.dataset.path !== b.dataset.path) warnings.push(`different dataset files: ${a.dataset.path} and ${b.dataset.path}`);
  const metric = performanceMetric(a.dataset.task);
  const bNames = new Set(b.taps.map((t) => t.name));
  const aNames = new Set(a.taps.map((t) => t.name));
  const taps = [
    ...a.taps.map((t) => ({ name: t.name, stage: t.stage, level: t.level, inA: true, inB: bNames.has(t.name) })),
    ...b.taps.filter((t) => !aNames.has(t.name)).map((t) => ({ name: t.name, stage: t.stage, level: t.level, inA: false, inB: true })),
  ];
  const sameGraph = taps.every((t) => t.inA && t.inB);
  if (!sameGraph) {
    const onlyA = taps.filter((t) => !t.inB).length;
    const onlyB = taps.filter((t) => !t.inA).length;
    warnings.push(`the graphs differ: ${onlyA} tap(s) only in A, ${onlyB} only in B; taps are matched by name`);
  }
  const splitNames = [...a.splits.map((s) => s.name), ...b.splits.map((s) => s.name).filter((n) => !a.splits.some((s) => s.name === n))];
  const metrics: Comparison['metrics'] = {};
  for (const split of splitNames) {
    const per = {} as Comparison['metrics'][string];
    for (const m of TAP_METRICS) {
      const av = taps.map((t) => num(a.metrics[split]?.[t.name]?.[m]));
      const bv = taps.map((t) => num(b.metrics[split]?.[t.name]?.[m]));
      per[m] = { a: av, b: bv, diff: av.map((x, i) => (x === null || bv[i] === null ? null : round6(bv[i]! - x))) };
    }
    metrics[split] = per;
  }
  const splits = splitNames.map((name) => {
    const sa = a.splits.find((s) => s.name === name);
    const sb = b.splits.find((s) => s.name === name);
    const va = num(sa?.performance?.[metric]);
    const vb = num(sb?.performance?.[metric]);
    const pa = predictedEstimate(a, name, metric);
    const pb = predictedEstimate(b, name, metric);
    return {
      name,
      labeled: Boolean(sa?.labeled || sb?.labeled),
      a: va,
      b: vb,
      diff: va === null || vb === null ? null : round6(vb - va),
      predictedA: pa,
      predictedB: pb,
      predictedDiff: pa && pb ? round6(pb.value - pa.value) : null,
    };
  });
  const names = createdNames ?? [basename(a.model.path), basename(b.model.path)];
  return {
    schema: COMPARISON_SCHEMA,
    sides: [a, b].map((r, i) => ({ name: names[i], path: r.model.path, sha256: r.model.sha256, createdAt: r.createdAt })),
    metric,
    taps,
    sameGraph,
    metrics,
    splits,
    warnings,
  };
}

function basename(p: string): string {
  return p.split(/[\\/]/).pop() ?? p;
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
