/**
 * Colour scales of the panel (the U's blocks, the confidence overlay): pure arithmetic on
 * numbers that are already in results.json, no DOM, no chart.js: importable from Node tests.
 *
 * A scale maps a value to a position t in [0, 1] along the domain (linear, or log10 when
 * asked and every value is positive), then to a colour interpolated between stops that
 * come from the theme's chart colours. It never computes a metric; it only places the
 * numbers it is given.
 */
import type { Results } from '../src/engine/types';
import { METRICS, numOrNull, splitsInOrder, tapsInOrder, type MetricKey } from './format';

export type RGB = [number, number, number];

export interface Domain {
  min: number;
  max: number;
  log: boolean;
}

/** Every finite value of a metric in the results (all splits, all taps). */
export function metricValues(results: Results, metric: MetricKey, split?: string): number[] {
  const out: number[] = [];
  const taps = tapsInOrder(results);
  for (const s of splitsInOrder(results)) {
    if (split !== undefined && s.name !== split) continue;
    const perTap = results.metrics?.[s.name];
    if (!perTap) continue;
    for (const t of taps) {
      const v = numOrNull(perTap[t.name]?.[metric]);
      if (v !== null) out.push(v);
    }
  }
  return out;
}

/** True when a log axis can show every value (all strictly positive, at least one). */
export function canLog(values: readonly (number | null)[]): boolean {
  const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
  return finite.length > 0 && finite.every((v) => v > 0);
}

/** Decades between the smallest and largest positive value (0 when fewer than two). */
export function decadesSpanned(values: readonly (number | null)[]): number {
  const pos = values.filter((v): v is number => v !== null && Number.isFinite(v) && v > 0);
  if (pos.length < 2) return 0;
  return Math.log10(Math.max(...pos) / Math.min(...pos));
}

/**
 * The domain of a set of values: [min, max], log10 when asked and possible. A single value
 * (or all equal) gets a small symmetric pad so that t is defined (0.5).
 */
export function domainOf(values: readonly (number | null)[], wantLog: boolean): Domain | null {
  const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (finite.length === 0) return null;
  const log = wantLog && canLog(finite);
  let min = Math.min(...finite);
  let max = Math.max(...finite);
  if (min === max) {
    if (log) {
      min /= 1.1;
      max *= 1.1;
    } else {
      const pad = Math.abs(min) * 0.05 || 0.5;
      min -= pad;
      max += pad;
    }
  }
  return { min, max, log };
}

/** Position of v in the domain, clamped to [0, 1]; null for a missing value. */
export function position(v: number | null | undefined, d: Domain): number | null {
  if (v === null || v === undefined || !Number.isFinite(v)) return null;
  let t: number;
  if (d.log) {
    if (v <= 0) return 0;
    t = (Math.log10(v) - Math.log10(d.min)) / (Math.log10(d.max) - Math.log10(d.min));
  } else {
    t = (v - d.min) / (d.max - d.min);
  }
  return Math.min(1, Math.max(0, t));
}

/** The value at position t of the domain (inverse of `position`), for legend ticks. */
export function valueAt(t: number, d: Domain): number {
  if (d.log) return 10 ** (Math.log10(d.min) + t * (Math.log10(d.max) - Math.log10(d.min)));
  return d.min + t * (d.max - d.min);
}

/** Linear interpolation between evenly spaced colour stops, t in [0, 1]. */
export function interpolate(stops: readonly RGB[], t: number): RGB {
  if (stops.length === 0) return [128, 128, 128];
  if (stops.length === 1 || !Number.isFinite(t)) return [...stops[0]] as RGB;
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i];
  const b = stops[i + 1];
  return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * f)) as RGB;
}

/**
 * "Badness" of a position: 0 = the better end, 1 = the worse end, so one good→bad set of
 * colour stops serves every metric.
 */
export function badness(t: number, higherIsBetter: boolean): number {
  return higherIsBetter ? 1 - t : t;
}

export function rgbCss(c: RGB, alpha = 1): string {
  return alpha >= 1 ? `rgb(${c[0]}, ${c[1]}, ${c[2]})` : `rgba(${c[0]}, ${c[1]}, ${c[2]}, ${+alpha.toFixed(3)})`;
}

/** Relative luminance (sRGB, WCAG) of a colour, 0..1. */
export function relLuminance(c: RGB): number {
  const lin = (v: number) => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
}

/** WCAG contrast ratio of two colours (1..21). */
export function contrast(a: RGB, b: RGB): number {
  const la = relLuminance(a);
  const lb = relLuminance(b);
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

/** Of two candidate text colours, the one that reads better on `fill`. */
export function readableOn(fill: RGB, a: RGB, b: RGB): RGB {
  return contrast(fill, a) >= contrast(fill, b) ? a : b;
}

/** Nice-ish tick values for a legend: the ends and up to `n - 2` values between. */
export function legendTicks(d: Domain, n = 5): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(valueAt(i / (n - 1), d));
  return out;
}

/** Metric keys in the order of METHOD.md §4 that have at least one value in the results. */
export function metricsPresent(results: Results): MetricKey[] {
  return METRICS.filter((m) => metricValues(results, m).length > 0);
}

/**
 * A horizontal value axis over `plotW` pixels from `left`: [0, 1] for a unit measure, else the
 * values' range padded by 10% on each side. `X` maps a value (clamped to the axis) to pixels;
 * `ticks(n)`: 6 ticks (unit) or 5 evenly spaced, or 3 when `narrow`.
 */
export function valueAxis(vals: number[], unit: boolean, left: number, plotW: number): { lo: number; hi: number; X: (v: number) => number; ticks: (narrow?: boolean) => number[] } {
  let lo = 0;
  let hi = 1;
  if (!unit && vals.length) {
    lo = Math.min(...vals);
    hi = Math.max(...vals);
    const pad = (hi - lo) * 0.1 || Math.abs(hi) * 0.1 || 1;
    lo -= pad;
    hi += pad;
  }
  const X = (v: number) => left + ((Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo)) * plotW;
  const ticks = (narrow = false) =>
    unit ? (narrow ? [0, 0.5, 1] : [0, 0.2, 0.4, 0.6, 0.8, 1]) : (narrow ? [0, 0.5, 1] : [0, 0.25, 0.5, 0.75, 1]).map((t) => lo + t * (hi - lo));
  return { lo, hi, X, ticks };
}

/**
 * What a colour on a metric means (issue 11: "scales with meaning"), decided by the metric
 * table (src/protocol/metrics.ts), never by the spread of the values alone:
 *
 * - `diverging` (direction centred-on-1, e.g. feature shift): log scale symmetric about 1; the
 *   usual band (FEATURE_SHIFT_USUAL) is neutral, both ends are marked unusual ("collapsed"
 *   below, "far from train" above) — below 1 is never "better";
 * - `absolute` (values in [0, 1]): a fixed 0–1 domain, coloured by the known direction;
 * - `relative` (no bound): the range over the values, coloured by the known direction, and
 *   said to be relative (it compares layers, it is not a verdict);
 * - direction `none`: one hue, no "better"/"worse".
 *
 * `tone(v)` names what a value's colour says (the test hook `data-tone`): `better`, `worse`,
 * `middle`, `usual`, `unusual-low`, `unusual-high` or `neutral`.
 */
/** A diverging scale runs from 1/4× to 4× (log, centred on 1); values beyond take the end colours. */
export const DIVERGING_SPAN = 4;

export interface MeaningScale {
  kind: 'diverging' | 'absolute' | 'relative' | 'plain';
  domain: Domain;
  /** Position of a value in [0, 1] (diverging: 0.5 at 1). */
  t(v: number | null): number | null;
  /** The colour at position t: `stops` good→bad (sequential) or low→usual→high (diverging, three stops; flat over the usual band). */
  colourAt(t: number, stops: readonly RGB[]): RGB;
  tone(v: number | null): string;
  /** Words at the left end, the middle and the right end of the legend bar. */
  ends: [string, string, string];
  /** A short note beside the legend. */
  note: string;
  /** The usual band's positions [t0, t1] (diverging only), drawn on the legend. */
  band?: [number, number];
}

export function meaningScale(
  spec: { direction: 'lower-better' | 'higher-better' | 'centred-on-1' | 'none'; unitRange: boolean; usual?: readonly [number, number]; short: string },
  values: readonly (number | null)[],
  wantLog: boolean,
): MeaningScale | null {
  const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
  if (spec.direction === 'centred-on-1' && spec.usual) {
    // a fixed scale (the same colours in every model): 1/DIVERGING_SPAN× to DIVERGING_SPAN×, beyond clamped to the ends
    const half = Math.log(DIVERGING_SPAN);
    const domain: Domain = { min: Math.exp(-half), max: Math.exp(half), log: true };
    const t = (v: number | null) => (v === null || !Number.isFinite(v) ? null : v <= 0 ? 0 : Math.min(1, Math.max(0, 0.5 + Math.log(v) / (2 * half))));
    return {
      kind: 'diverging',
      domain,
      t,
      colourAt: (x, stops) => {
        const [b0, b1] = [t(spec.usual![0])!, t(spec.usual![1])!];
        if (x < b0) return interpolate([stops[0], stops[1]], x / b0);
        if (x > b1) return interpolate([stops[1], stops[2]], (x - b1) / (1 - b1));
        return [...stops[1]] as RGB;
      },
      tone: (v) => (v === null || !Number.isFinite(v) ? 'none' : v < spec.usual![0] ? 'unusual-low' : v > spec.usual![1] ? 'unusual-high' : 'usual'),
      ends: ['unusual: collapsed', `≈ 1 in distribution`, 'unusual: far from train'],
      note: `log scale centred on 1 · ${spec.usual[0]}–${spec.usual[1]}× usual`,
      band: [t(spec.usual[0])!, t(spec.usual[1])!],
    };
  }
  const hib = spec.direction === 'higher-better';
  const directed = spec.direction === 'higher-better' || spec.direction === 'lower-better';
  let domain: Domain | null;
  let kind: MeaningScale['kind'];
  if (spec.unitRange) {
    domain = { min: 0, max: 1, log: false };
    kind = directed ? 'absolute' : 'plain';
  } else {
    domain = domainOf(finite, wantLog);
    kind = directed ? 'relative' : 'plain';
  }
  if (!domain) return null;
  const d = domain;
  const t = (v: number | null) => position(v, d);
  const colourAt = (x: number, stops: readonly RGB[]) => interpolate(stops, directed ? badness(x, hib) : x);
  const tone = (v: number | null) => {
    const x = t(v);
    if (x === null) return 'none';
    if (!directed) return 'neutral';
    const b = badness(x, hib);
    return b < 1 / 3 ? 'better' : b > 2 / 3 ? 'worse' : 'middle';
  };
  const better = hib ? 'higher = better' : 'lower = better';
  const ends: [string, string, string] =
    !directed ? ['lower', spec.short, 'higher']
    : hib ? ['worse', spec.short, 'better']
    : ['better', spec.short, 'worse'];
  const note =
    kind === 'absolute' ? `fixed 0–1 scale · ${better}`
    : kind === 'relative' ? `${d.log ? 'log scale · ' : ''}range over all splits: compares layers, not a verdict · ${better}`
    : `${d.log ? 'log scale · ' : ''}${kind === 'plain' && spec.unitRange ? 'fixed 0–1 scale' : 'range over all splits'} · no better or worse`;
  return { kind, domain: d, t, colourAt, tone, ends, note };
}
