/**
 * Pieces shared by the panel's SVG charts (The U, the heat strip, the splits plot, the
 * estimate plots); the chart.js (canvas) pieces are in charts.ts. They lay out and draw
 * numbers that are already in results.json; none computes one.
 */
import { fmt, shortTapName } from './format';
import type { valueAxis } from './scale';
import { s } from './svg';
import type { Theme } from './theme';

/**
 * A tap's short name under its column: with `whole`, the whole short name if it fits; else
 * its last part, cut to the column.
 */
export function fitName(name: string, colW: number, fontSize: number, whole = false): string {
  const short = shortTapName(name);
  const maxChars = Math.max(3, Math.floor((colW - (whole ? 4 : 2)) / (fontSize * 0.58)));
  if (whole && short.length <= maxChars) return short;
  const last = short.split('/').pop() ?? short;
  return last.length <= maxChars ? last : last.slice(0, maxChars - 1) + '…';
}

/**
 * The horizontal value axis of a dot / interval plot: a grid line and a label per tick from
 * `top` down to the axis line at `axisY`, and the axis's name right of the plot.
 */
export function valueAxisMarks(
  svg: SVGSVGElement,
  axis: ReturnType<typeof valueAxis>,
  o: { theme: Theme; fontSize: number; left: number; plotW: number; top: number; axisY: number; name: string; narrow?: boolean },
): void {
  const { theme, fontSize, left, plotW, top, axisY } = o;
  for (const t of axis.ticks(o.narrow)) {
    svg.append(
      s('line', { x1: axis.X(t), x2: axis.X(t), y1: top, y2: axisY, stroke: theme.grid, 'stroke-width': 1 }),
      s('text', { x: axis.X(t), y: axisY + fontSize + 2, fill: theme.fg, 'text-anchor': 'middle', 'font-size': fontSize - 1 }, fmt(t, 3)),
    );
  }
  svg.append(
    s('line', { x1: left, x2: left + plotW, y1: axisY, y2: axisY, stroke: theme.border, 'stroke-width': 1 }),
    s('text', { x: left + plotW + 8, y: axisY + fontSize + 2, fill: theme.muted, 'font-size': fontSize - 1 }, o.name),
  );
}

/** An interval [x0, x1] on row y: a tinted bar with a whisker at each end. */
export function intervalBar(x0: number, x1: number, y: number, color: string, fill: string): SVGElement[] {
  return [
    s('rect', { x: x0, y: y - 5, width: Math.max(1, x1 - x0), height: 10, fill, stroke: color, 'stroke-width': 1 }),
    s('line', { x1: x0, x2: x0, y1: y - 8, y2: y + 8, stroke: color, 'stroke-width': 2 }),
    s('line', { x1: x1, x2: x1, y1: y - 8, y2: y + 8, stroke: color, 'stroke-width': 2 }),
  ];
}
