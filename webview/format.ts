/**
 * Pure helpers of the panel: naming, number formatting, CSV, display subsampling.
 * No DOM, no chart.js: importable from Node tests.
 *
 * None of this computes a metric (ARCHITECTURE.md: the webview only draws what
 * results.json says); it only formats, orders and thins out what is there.
 */
import type { Results, Stage, TapInfo, TapMetrics } from '../src/engine/types';
import { TAP_METRICS, type TapMetricKey } from '../src/protocol/metrics';
import { fmtNumber, shortTapName } from '../src/protocol/names';

/** The per-tap metrics (src/protocol/metrics.ts), in the order of METHOD.md §4. */
export const METRICS = TAP_METRICS;
export type MetricKey = TapMetricKey;

export { shortTapName } from '../src/protocol/names';

/** Short labels for all taps, made unique by appending `#index` where two would collide. */
export function tapLabels(taps: TapInfo[]): string[] {
  const labels = taps.map((t) => shortTapName(t.name));
  const count = new Map<string, number>();
  for (const l of labels) count.set(l, (count.get(l) ?? 0) + 1);
  return labels.map((l, i) => ((count.get(l) ?? 0) > 1 ? `${l}#${taps[i].index}` : l));
}

/** Taps in forward order (by `index`, then by their order in the file). */
export function tapsInOrder(results: Results): TapInfo[] {
  return (results.taps ?? [])
    .map((t, i) => ({ t, i }))
    .sort((a, b) => a.t.index - b.t.index || a.i - b.i)
    .map((x) => x.t);
}

export interface SplitDesc {
  name: string;
  labeled: boolean;
  /** Position among the splits, for colour and marker choice. */
  order: number;
}

/** Splits in the file's order, plus any that only appear in `metrics` or `pca` (at the end). */
export function splitsInOrder(results: Results): SplitDesc[] {
  const out: SplitDesc[] = [];
  const seen = new Set<string>();
  const add = (name: string, labeled: boolean) => {
    if (seen.has(name)) return;
    seen.add(name);
    out.push({ name, labeled, order: out.length });
  };
  for (const s of results.splits ?? []) add(s.name, s.labeled);
  for (const name of Object.keys(results.metrics ?? {})) add(name, true);
  for (const p of Object.values(results.pca ?? {})) for (const name of Object.keys(p.points ?? {})) add(name, true);
  return out;
}

export interface Series {
  split: string;
  labeled: boolean;
  order: number;
  /** One value per tap in forward order; null where results.json has no number. */
  values: (number | null)[];
}

/** The per-tap values of one metric for every split that has at least one number for it. */
export function metricSeries(results: Results, metric: MetricKey): { drawn: Series[]; empty: string[] } {
  const taps = tapsInOrder(results);
  const drawn: Series[] = [];
  const empty: string[] = [];
  for (const s of splitsInOrder(results)) {
    const perTap = results.metrics?.[s.name];
    if (!perTap) continue;
    const values = taps.map((t) => numOrNull(perTap[t.name]?.[metric]));
    if (values.some((v) => v !== null)) drawn.push({ split: s.name, labeled: s.labeled, order: s.order, values });
    else empty.push(s.name);
  }
  return { drawn, empty };
}

export function numOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** A number for a table cell: 3 significant digits, exponent for very large/small values. */
export function fmt(v: unknown, digits = 3): string {
  return fmtNumber(v, digits);
}

/** An explained-variance ratio as a percentage label, e.g. 0.4123 → "41.2 %". */
export function pct(ratio: unknown): string {
  const n = numOrNull(ratio);
  return n === null ? '?' : `${(n * 100).toFixed(1)} %`;
}

export function shapeText(shape: number[]): string {
  return shape.join('×');
}

export const STAGE_ORDER: Stage[] = ['encoder', 'bottleneck', 'decoder'];

/** Runs of consecutive taps with the same stage: [{stage, from, to}] (inclusive indices). */
export function stageRuns(stages: Stage[]): { stage: Stage; from: number; to: number }[] {
  const runs: { stage: Stage; from: number; to: number }[] = [];
  stages.forEach((stage, i) => {
    const last = runs[runs.length - 1];
    if (last && last.stage === stage) last.to = i;
    else runs.push({ stage, from: i, to: i });
  });
  return runs;
}

/** One line of tap details (tooltip, select option titles). */
export function tapDetails(t: TapInfo): string[] {
  const rf = t.receptiveField;
  return [
    `op ${t.op} · shape ${shapeText(t.shape)}`,
    `${t.stage}, level ${t.level}`,
    rf ? `receptive field ${rf.size} px (step ${rf.jump} px)` : 'receptive field unknown',
  ];
}

// ---------------------------------------------------------------- CSV

export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  if (Array.isArray(v)) return csvCell(v.map((x) => (x === null ? '' : String(x))).join(';'));
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(header: string[], rows: unknown[][]): string {
  return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

/** Every per-tap metric, one row per tap and split, exactly as in results.json. */
export function metricsCsv(results: Results): string {
  const header = ['tap', 'index', 'stage', 'level', 'op', 'shape', 'rfSize', 'rfJump', 'split', 'labeled', ...METRICS, 'points'];
  const rows: unknown[][] = [];
  const splits = splitsInOrder(results);
  for (const t of tapsInOrder(results)) {
    for (const s of splits) {
      const m: TapMetrics | undefined = results.metrics?.[s.name]?.[t.name];
      if (!m) continue;
      rows.push([
        t.name, t.index, t.stage, t.level, t.op, t.shape.join('x'), t.receptiveField?.size, t.receptiveField?.jump,
        s.name, s.labeled, ...METRICS.map((k) => numOrNull(m[k])), numOrNull(m.points),
      ]);
    }
  }
  return toCsv(header, rows);
}

/** The keys of the performance table, in order of first appearance. */
export function performanceKeys(results: Results): string[] {
  const keys: string[] = [];
  const add = (k: string) => {
    if (!keys.includes(k)) keys.push(k);
  };
  for (const s of results.splits ?? []) {
    for (const [k, v] of Object.entries(s.performance ?? {})) if (v !== undefined) add(k);
    for (const k of Object.keys(s.predictedPerformance ?? {})) if (k !== 'low' && k !== 'high') add(k);
  }
  return keys;
}

/** The metric a predictedPerformance entry predicts (its key other than low/high). */
export function predictedKey(p: { [k: string]: number } | null | undefined): string | undefined {
  return p ? Object.keys(p).find((k) => k !== 'low' && k !== 'high') : undefined;
}

/**
 * The metric a per-split plot shows: the first of dice, accuracy, psnr, ssim, mse that any
 * split has (measured or predicted), else the first performance key.
 */
export function primaryMetric(results: Results): string | undefined {
  const keys = performanceKeys(results).filter((k) => k !== 'dicePerClass');
  for (const k of ['dice', 'accuracy', 'psnr', 'ssim', 'mse']) if (keys.includes(k)) return k;
  return keys[0];
}

export function performanceCsv(results: Results): string {
  const keys = performanceKeys(results);
  const header = ['split', 'labeled', 'images', ...keys, 'predictedMetric', 'predicted', 'predictedLow', 'predictedHigh'];
  const rows = (results.splits ?? []).map((s) => {
    const p = s.predictedPerformance ?? null;
    const pk = predictedKey(p);
    return [
      s.name, s.labeled, s.images, ...keys.map((k) => s.performance?.[k] ?? null),
      pk ?? null, pk && p ? p[pk] : null, p?.low ?? null, p?.high ?? null,
    ];
  });
  return toCsv(header, rows);
}

// ---------------------------------------------------------------- display subsampling

/**
 * Deterministic thinning for drawing: when the splits hold more than `max` rows in all,
 * keep every `stride`-th row of each split (stride = ceil(total / max)). Not a statistic:
 * only keeps the scatter fast. Returns the kept rows per split and the counts.
 */
export function strideSample<T>(
  rowsBySplit: { [split: string]: T[] },
  max: number,
): { rows: { [split: string]: T[] }; shown: number; total: number; stride: number } {
  const total = Object.values(rowsBySplit).reduce((a, r) => a + (Array.isArray(r) ? r.length : 0), 0);
  const stride = total > max ? Math.ceil(total / max) : 1;
  const rows: { [split: string]: T[] } = {};
  let shown = 0;
  for (const [split, r] of Object.entries(rowsBySplit)) {
    if (!Array.isArray(r)) continue;
    const kept = stride === 1 ? r : r.filter((_, i) => i % stride === 0);
    rows[split] = kept;
    shown += kept.length;
  }
  return { rows, shown, total, stride };
}

/** 1 → "1st", 2 → "2nd", 11 → "11th", 23 → "23rd". */
export function ordinal(n: number): string {
  const t = n % 100;
  const suffix = t >= 11 && t <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/** A file-name-safe version of a label. */
export function fileSafe(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '') || 'chart';
}

/** Base name of a path (either separator). */
export function baseName(p: string): string {
  const parts = p.split(/[\\/]/).filter(Boolean);
  return parts[parts.length - 1] ?? p;
}

