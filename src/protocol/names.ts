/**
 * How the panel, the report and the engine's sentences (src/engine/verdict.ts) name taps and
 * print numbers: one copy, so a sentence in results.json and a label in the panel agree.
 * Pure: no DOM, no engine import.
 */

/**
 * A short label for a tap: `/enc1/relu2/Relu_output_0` → `enc1/relu2`,
 * `/pool1/MaxPool_output_0` → `pool1`. Keeps at most the last two module parts and
 * falls back to the full name when nothing readable is left.
 */
export function shortTapName(name: string, maxLength = 28): string {
  let parts = name.split('/').filter((p) => p.length > 0);
  const last = parts[parts.length - 1] ?? '';
  if (parts.length > 1 && /_output(_\d+)?$/.test(last)) parts = parts.slice(0, -1);
  else if (parts.length === 1) parts = [last.replace(/_output(_\d+)?$/, '') || last];
  if (parts.length > 2) parts = parts.slice(-2);
  let s = parts.join('/') || name;
  if (s.length > maxLength) s = '…' + s.slice(s.length - maxLength + 1);
  return s;
}

/** A number for a table cell or a sentence: `digits` significant digits, exponent for very large/small values, '—' for none. */
export function fmtNumber(v: unknown, digits = 3): string {
  const n = typeof v === 'number' && Number.isFinite(v) ? v : null;
  if (n === null) return '—';
  if (n === 0) return '0';
  const a = Math.abs(n);
  if (a >= 1e5 || a < 1e-3) return n.toExponential(digits - 1);
  if (Number.isInteger(n)) return String(n);
  return String(Number(n.toPrecision(digits)));
}

/** Wider than this, a label-free estimate cannot tell a drop from no drop (its grade is "cannot tell"). */
export const CANNOT_TELL_WIDTH = 0.3;

/** Whether an estimate cannot tell: its grade says so, or, without one, its interval is wider than CANNOT_TELL_WIDTH. */
export function cannotTell(e: { low: number; high: number }, grade?: string | null): boolean {
  return (grade ?? (e.high - e.low > CANNOT_TELL_WIDTH + 1e-12 ? 'cannot tell' : null)) === 'cannot tell';
}

/**
 * One number of a label-free estimate: two decimals. Its interval is never narrower than a
 * few hundredths, so a third decimal would not deserve its place. Values of 10 or more (e.g.
 * PSNR in dB) with three significant digits.
 */
export function estimateNumber(v: number): string {
  if (!Number.isFinite(v)) return '—';
  if (Math.abs(v) >= 10) return fmtNumber(v, 3);
  const s = v.toFixed(2);
  return s === '-0.00' ? '0.00' : s;
}

/**
 * A label-free estimate as text, one rule for the engine's sentences, the panel and the report:
 * "0.88 [0.73, 1.00]"; when it cannot tell (graded so, or, without a grade, an interval wider
 * than CANNOT_TELL_WIDTH) no point value, only where it lies: "0.65–1.00".
 */
export function estimateText(e: { value: number; low: number; high: number }, grade?: string | null): string {
  if (cannotTell(e, grade)) return `${estimateNumber(e.low)}–${estimateNumber(e.high)}`;
  return `${estimateNumber(e.value)} [${estimateNumber(e.low)}, ${estimateNumber(e.high)}]`;
}
