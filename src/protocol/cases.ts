/**
 * The "cases to label" list of a split without labels (METHOD.md §5, per-image estimates): its
 * images worst predicted first, as the engine writes it beside results.json (output.ts) and
 * the panel's Without labels view shows and exports it. Pure: no DOM, no engine code.
 */
import type { ImageEstimate } from '../engine/types';

/** The file name of a split's "cases to label" CSV (written by output.ts next to results.json). */
export function casesToLabelFile(split: string): string {
  return `cases-to-label-${split.replace(/[^A-Za-z0-9._-]/g, '_')}.csv`;
}

function csvField(v: string | number | boolean): string {
  const t = String(v);
  return /[",\n\r]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}

/**
 * The "cases to label" CSV of one split: its images, worst predicted first (rank 1 = label
 * first), with the estimate, its interval and grade.
 */
export function casesToLabelCsv(metric: string, per: readonly ImageEstimate[]): string {
  const head = ['rank', 'file', 'id', `predicted_${metric}`, 'low', 'high', 'grade', 'outside_calibration'];
  const lines = [head.join(',')];
  per.forEach((e, i) => lines.push([i + 1, e.file, e.id, e.value, e.low, e.high, e.grade ?? '', e.outside ?? false].map(csvField).join(',')));
  return `${lines.join('\n')}\n`;
}

