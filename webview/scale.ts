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
