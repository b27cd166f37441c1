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
