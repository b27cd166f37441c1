/**
 * "Which taps are indicative": the heat strip of taps (forward order, encoder / bottleneck /
 * decoder marked) × label-free metrics, each cell the Spearman ρ between that metric and the
 * true performance over the shifted copies, on a diverging scale through the background;
 * cells without a value are hatched. Clicking a cell (or Enter / Space on it; arrow keys,
 * Home and End move) selects its tap in every view. SVG, laid out for its width.
 *
 * Test hooks: the <svg> has `data-chart="indicativeness"`, `data-cells`, `data-selected`,
 * `data-theme`, `data-bg`; each cell `data-tap`, `data-metric`, `data-rho` ("" when null)
 * and `data-input` (read by the predictor).
 */
import type { PerformanceWithoutLabels, Results, TapInfo } from '../../../src/engine/types';
import { exportName } from '../../charts';
import { clear, dataTable, exportButton, h } from '../../dom';
import { numOrNull, shapeText, shortTapName, stageRuns, tapsInOrder } from '../../format';
import { readableOn, rgbCss, type RGB } from '../../scale';
import { s, svgToPng } from '../../svg';
import { fitName } from '../../svgCharts';
import { toRgb, withAlpha, type Theme } from '../../theme';
import {
  divergingColor,
  indicativenessCells,
  indicativenessCsv,
  lfTitle,
  moveCell,
  parseInput,
  perfTitle,
  PREDICTOR_INFO,
  rhoText,
  stripMetrics,
  type IndicativenessCell,
  type LfMetric,
} from '../../withoutLabels';
import type { ViewContext } from '../context';
import { exportFigure } from '../../exportStamp';

export class HeatStrip {
  /** The section: heading, hint, the strip's box and the values table. */
  readonly element: HTMLElement;
  /** The box the strip is drawn in (its width is the strip's). */
  readonly wrap: HTMLElement = h('div', { class: 'nl-strip-wrap' });
  private readonly taps: TapInfo[];
  private readonly cells: IndicativenessCell[];
  /** The strip's rows. */
  private readonly metrics: LfMetric[];
  private strip?: SVGSVGElement;

  constructor(
    private readonly ctx: ViewContext,
    results: Results,
    private readonly pwl: PerformanceWithoutLabels,
  ) {
    this.taps = tapsInOrder(results);
    this.cells = indicativenessCells(results, pwl);
    this.metrics = stripMetrics(pwl);
    this.element = this.section(results, pwl);
  }

  private section(r: Results, p: PerformanceWithoutLabels): HTMLElement {
    const n = p.shifts.filter((c) => numOrNull(c.performance) !== null).length;
    const metrics = this.metrics;
    const marked = this.cells.some((c) => c.input);
    const read = p.predictors?.features?.inputs?.length ?? 0;
    const tapNames = new Set(r.taps.map((t) => t.name));
    const cellInputs = (p.predictors?.features?.inputs ?? []).filter((s) => {
      const q = parseInput(s);
      return q !== null && tapNames.has(q.tap);
    }).length;
    const table = dataTable(
      'data compact',
      `Spearman ρ of each label-free metric with the true ${perfTitle(p.metric)}, per tap`,
      h(
        'tr',
        null,
        h('th', { scope: 'col' }, '#'),
        h('th', { scope: 'col' }, 'Tap'),
        h('th', { scope: 'col' }, 'Stage'),
        metrics.map((m) => h('th', { scope: 'col', class: 'num' }, `ρ ${lfTitle(m)}`)),
      ),
      this.taps.map((t, i) =>
        h(
          'tr',
          null,
          h('td', { class: 'num muted' }, String(i + 1)),
          h('th', { scope: 'row', title: t.name }, shortTapName(t.name)),
          h('td', null, t.stage),
          metrics.map((m) => {
            const c = this.cells.find((x) => x.col === i && x.metric === m);
            return h('td', { class: `num${c?.input ? ' nl-input' : ''}`, title: c?.input ? `read by the ${PREDICTOR_INFO.features.short} predictor` : undefined }, rhoText(c?.rho ?? null), c?.input ? ' •' : '');
          }),
        ),
      ),
    );
    return h(
      'section',
      { class: 'section', 'aria-labelledby': 'nl-strip-h' },
      h(
        'div',
        { class: 'section-head' },
        h('h2', { id: 'nl-strip-h' }, 'Which taps are indicative'),
        exportButton('Export the indicativeness strip as PNG', () => void this.exportPng()),
        exportButton('Export the Spearman ρ per tap and metric as CSV', () => this.ctx.host.exportCsv(exportName('indicativeness'), indicativenessCsv(r, p)), 'CSV'),
      ),
      h(
        'p',
        { class: 'hint' },
        `Each cell: Spearman ρ between a label-free metric at a tap and the true ${perfTitle(p.metric)}, over the ${n} shifted copies. Far from 0 (either colour) = that metric at that tap follows performance, so it can stand in for labels; near 0 = it says little. Hatched: no value. ${marked ? `A dot marks what the ${PREDICTOR_INFO.features.short} predictor reads.` : cellInputs ? `The ${PREDICTOR_INFO.features.short} predictor reads every cell with a value.` : read ? `The ${PREDICTOR_INFO.features.short} predictor reads ${read} summaries of these cells (a metric averaged over the taps of each stage of the U), listed under the scatter.` : ''} Click a cell (or Tab to it and press Enter; arrow keys move) to select that tap in every view.`,
      ),
      this.wrap,
      h('details', { class: 'values' }, h('summary', null, `Table: ${this.taps.length} taps × ${metrics.length} metrics`), h('div', { class: 'table-wrap' }, table)),
    );
  }

  /** Draws the strip (again) at this width, with the selected tap framed. */
  draw(theme: Theme, width: number): void {
    if (width <= 0) return;
    const focused = (document.activeElement as Element | null)?.closest?.('g.nl-cell');
    const focusKey = focused ? `${focused.getAttribute('data-tap')}\u0000${focused.getAttribute('data-metric')}` : undefined;
    const svg = this.buildStrip(theme, width);
    clear(this.wrap);
    this.wrap.append(svg);
    this.strip = svg;
    if (focusKey) {
      for (const g of Array.from(svg.querySelectorAll<SVGGElement>('g.nl-cell'))) {
        if (`${g.getAttribute('data-tap')}\u0000${g.getAttribute('data-metric')}` === focusKey) {
          svg.querySelectorAll<SVGGElement>('g.nl-cell').forEach((x) => x.setAttribute('tabindex', x === g ? '0' : '-1'));
          g.focus();
          break;
        }
      }
    }
  }

  private buildStrip(theme: Theme, width: number): SVGSVGElement {
    const p = this.pwl;
    const taps = this.taps;
    const cols = taps.length;
    const metrics = this.metrics;
    const rows = metrics.length;
    const fontSize = Math.max(10, Math.round(theme.fontSize * 0.9));
    const left = Math.round(Math.max(...metrics.map((m) => lfTitle(m).length)) * fontSize * 0.6 + 18);
    const colW = Math.max(14, Math.min(84, Math.floor((width - left - 12) / Math.max(1, cols))));
    const cellH = Math.max(28, Math.round(fontSize * 2.4));
    const top = 30;
    const gridH = rows * cellH;
    // tap names: level under wide columns, else turned 60° (a narrow panel keeps every name)
    const slanted = colW < 34;
    const nameFont = fontSize - 2;
    const longest = Math.max(0, ...taps.map((t) => (shortTapName(t.name).split('/').pop() ?? '').length));
    const nameH = slanted ? Math.round(longest * nameFont * 0.6 * Math.sin(Math.PI / 3)) + 14 : fontSize + 10;
    const plotW = Math.max(left + cols * colW + 12, width - 2);
    const selected = this.ctx.store.tap;
    const selCol = taps.findIndex((t) => t.name === selected);
    // the legend: the colour bar, and beside it (or under it, when narrow) the swatches
    const marked = this.cells.some((c) => c.input);
    const sideW = marked ? 170 : 90;
    let barW = Math.min(420, plotW - left - 24 - sideW);
    const swatchesBelow = barW < 150;
    if (swatchesBelow) barW = Math.max(120, Math.min(420, plotW - left - 12));
    const legendTop = top + gridH + nameH + 16;
    const legendH = swatchesBelow ? 64 + (marked ? 2 : 1) * (fontSize + 8) : 64;
    const totalH = legendTop + legendH;
    const neg = toRgb(theme.charts.orange);
    const pos = toRgb(theme.charts.blue);
    const mid = toRgb(theme.bg);
    const fg = toRgb(theme.fg);
    const bg = toRgb(theme.bg);
    const nCells = this.cells.length;
    const withValue = this.cells.filter((c) => c.rho !== null).length;

    const svg = s('svg', {
      class: 'nl-strip',
      viewBox: `0 0 ${plotW} ${totalH}`,
      width: plotW,
      height: totalH,
      role: 'group',
      'aria-label': `Indicativeness: Spearman ρ with the true ${perfTitle(p.metric)} for ${cols} taps × ${rows} label-free metrics (${withValue} of ${nCells} cells with a value)`,
      'font-family': theme.font,
      'font-size': fontSize,
      'data-chart': 'indicativeness',
      'data-cells': String(nCells),
      'data-selected': selected ?? '',
      'data-theme': theme.kind,
      'data-bg': theme.bg,
    });
    svg.append(
      s('rect', { x: 0, y: 0, width: plotW, height: totalH, fill: theme.bg }),
      s(
        'defs',
        null,
        s(
          'pattern',
          { id: 'nl-hatch', patternUnits: 'userSpaceOnUse', width: 6, height: 6, patternTransform: 'rotate(45)' },
          s('rect', { x: 0, y: 0, width: 6, height: 6, fill: theme.bg }),
          s('line', { x1: 0, y1: 0, x2: 0, y2: 6, stroke: withAlpha(theme.muted, 0.7), 'stroke-width': 1.5 }),
        ),
        s(
          'linearGradient',
          { id: 'nl-grad', x1: 0, x2: 1, y1: 0, y2: 0 },
          [0, 0.25, 0.5, 0.75, 1].map((t) => s('stop', { offset: t, 'stop-color': rgbCss(divergingColor(t * 2 - 1, neg, mid, pos)) })),
        ),
      ),
    );

    // stages over their column ranges, with a dashed separator between them
    stageRuns(taps.map((t) => t.stage)).forEach((run, k) => {
      const x0 = left + run.from * colW;
      const x1 = left + (run.to + 1) * colW;
      const fits = x1 - x0 > run.stage.length * fontSize * 0.6;
      svg.append(
        s('line', { x1: x0 + 2, x2: x1 - 2, y1: top - 8, y2: top - 8, stroke: theme.border, 'stroke-width': 2 }),
        s('text', { x: (x0 + x1) / 2, y: top - 13, fill: theme.muted, 'text-anchor': 'middle', 'font-size': fontSize - 1 }, fits ? run.stage : x1 - x0 > 3 * fontSize * 0.6 ? `${run.stage.slice(0, 3)}.` : ''),
      );
      if (k > 0) svg.append(s('line', { x1: x0, x2: x0, y1: top - 4, y2: top + gridH + 2, stroke: theme.border, 'stroke-width': 1, 'stroke-dasharray': '3 3' }));
    });

    // row labels
    metrics.forEach((m, row) => {
      svg.append(s('text', { x: left - 10, y: top + row * cellH + cellH / 2, fill: theme.fg, 'text-anchor': 'end', 'dominant-baseline': 'central' }, lfTitle(m)));
    });

    // the cells
    const grid = s('g', { class: 'nl-cells', role: 'grid', 'aria-label': 'Spearman ρ per tap and metric' });
    const firstFocus = selCol >= 0 ? selCol : 0;
    for (const c of this.cells) {
      const x = left + c.col * colW;
      const y = top + c.row * cellH;
      const fill = c.rho === null ? null : divergingColor(c.rho, neg, mid, pos);
      const textColor: RGB = fill ? readableOn(fill, fg, bg) : toRgb(theme.muted);
      const metricName = lfTitle(c.metric);
      const short = shortTapName(c.tap.name, 40);
      const rhoWords = c.rho === null ? 'no value' : `Spearman ρ = ${rhoText(c.rho)}`;
      const desc = `${short}, ${metricName}: ${rhoWords} with the true ${perfTitle(p.metric)}${c.input ? '; read by the predictor' : ''}. ${c.tap.stage}, level ${c.tap.level}.`;
      const g = s(
        'g',
        {
          class: `nl-cell${c.col === selCol ? ' selected' : ''}`,
          'data-tap': c.tap.name,
          'data-metric': c.metric,
          'data-rho': c.rho === null ? '' : String(c.rho),
          'data-input': c.input ? 'true' : undefined,
          'data-col': c.col,
          'data-row': c.row,
          role: 'gridcell',
          tabindex: c.col === firstFocus && c.row === 0 ? 0 : -1,
          'aria-selected': c.col === selCol ? 'true' : 'false',
          'aria-label': desc,
          onclick: () => this.ctx.selectTap(c.tap.name, false),
          onkeydown: (ev) => this.onKey(ev as KeyboardEvent, c),
        },
        s(
          'title',
          null,
          `${c.tap.name}\n${metricName}: ${rhoWords}\nwith the true ${perfTitle(p.metric)} over the shifted copies${c.input ? `\nread by the ${PREDICTOR_INFO.features.short} predictor` : ''}\n${c.tap.stage}, level ${c.tap.level} · ${c.tap.op} · ${shapeText(c.tap.shape)}`,
        ),
        s('rect', {
          class: 'body',
          x: x + 1,
          y: y + 1,
          width: colW - 2,
          height: cellH - 2,
          rx: 2,
          fill: fill ? rgbCss(fill) : 'url(#nl-hatch)',
          // an edge on every cell, so that a cell near ρ = 0 (the background colour) still shows
          stroke: fill ? (theme.kind === 'high-contrast' ? theme.fg : withAlpha(theme.fg, 0.16)) : withAlpha(theme.muted, 0.8),
          'stroke-width': 1,
        }),
        colW >= 24
          ? s('text', { x: x + colW / 2, y: y + cellH / 2, fill: rgbCss(textColor), 'text-anchor': 'middle', 'dominant-baseline': 'central', 'font-size': colW >= 44 ? fontSize : colW >= 34 ? fontSize - 2 : fontSize - 3, 'pointer-events': 'none' }, rhoText(c.rho, colW >= 44 ? 2 : 1))
          : null,
        c.input ? s('circle', { cx: x + colW - 6, cy: y + 6, r: 2.6, fill: rgbCss(textColor), 'pointer-events': 'none' }) : null,
      );
      grid.append(g);
    }
    svg.append(grid);

    // the selected tap: a frame around its column
    if (selCol >= 0) {
      svg.append(
        s('rect', {
          class: 'nl-sel',
          x: left + selCol * colW - 1,
          y: top - 1,
          width: colW + 2,
          height: gridH + 2,
          rx: 3,
          fill: 'none',
          stroke: theme.focus,
          'stroke-width': 2.5,
          'pointer-events': 'none',
        }),
      );
    }

    // tap names under the columns
    taps.forEach((t, i) => {
      const x = left + i * colW + colW / 2;
      const weight = i === selCol ? 600 : 400;
      const fill = i === selCol ? theme.fg : theme.muted;
      if (slanted) {
        const y0 = top + gridH + 6;
        svg.append(s('text', { x, y: y0, fill, 'text-anchor': 'end', 'dominant-baseline': 'hanging', transform: `rotate(-60 ${x} ${y0})`, 'font-size': nameFont, 'font-weight': weight }, shortTapName(t.name).split('/').pop() ?? ''));
      } else {
        svg.append(s('text', { x, y: top + gridH + fontSize + 2, fill, 'text-anchor': 'middle', 'font-size': nameFont, 'font-weight': weight }, fitName(t.name, colW, nameFont, true)));
      }
    });

    // legend
    const lx = left;
    const ly = legendTop + 14;
    const lg = s('g', { 'data-role': 'legend', 'aria-hidden': 'true' });
    lg.append(
      s('text', { x: 8, y: ly + 10, fill: theme.muted, 'font-size': fontSize - 1 }, 'Spearman ρ'),
      s('rect', { x: lx, y: ly, width: barW, height: 12, fill: 'url(#nl-grad)', stroke: theme.border, 'stroke-width': 1 }),
    );
    // what the ends mean, as long as the words fit over the bar
    const m = perfTitle(p.metric);
    const ends: [string, string, string | null] | null =
      barW >= 380 ? [`higher ↔ lower ${m}`, `higher ↔ higher ${m}`, 'no relation']
      : barW >= 190 ? [`metric ↑ ${m} ↓`, `metric ↑ ${m} ↑`, null]
      : null;
    if (ends) {
      lg.append(
        s('text', { x: lx, y: ly - 4, fill: theme.muted, 'font-size': fontSize - 1 }, ends[0]),
        s('text', { x: lx + barW, y: ly - 4, fill: theme.muted, 'text-anchor': 'end', 'font-size': fontSize - 1 }, ends[1]),
      );
      if (ends[2]) lg.append(s('text', { x: lx + barW / 2, y: ly - 4, fill: theme.muted, 'text-anchor': 'middle', 'font-size': fontSize - 1 }, ends[2]));
    }
    [-1, -0.5, 0, 0.5, 1].forEach((v, i, all) => {
      const tx = lx + (barW * i) / (all.length - 1);
      lg.append(
        s('line', { x1: tx, x2: tx, y1: ly + 12, y2: ly + 16, stroke: theme.muted }),
        s('text', { x: tx, y: ly + 17 + fontSize, fill: theme.fg, 'text-anchor': i === 0 ? 'start' : i === all.length - 1 ? 'end' : 'middle', 'font-size': fontSize - 1 }, v === 0 ? '0' : v > 0 ? `+${v}` : rhoText(v, v === -1 ? 0 : 1)),
      );
    });
    const nx = swatchesBelow ? lx : lx + barW + 24;
    const ny = swatchesBelow ? ly + 17 + fontSize + 10 : ly;
    lg.append(
      s('rect', { x: nx, y: ny, width: 16, height: 12, fill: 'url(#nl-hatch)', stroke: withAlpha(theme.muted, 0.8) }),
      s('text', { x: nx + 22, y: ny + 10, fill: theme.muted, 'font-size': fontSize - 1 }, 'no value'),
    );
    if (marked) {
      lg.append(
        s('circle', { cx: nx + 8, cy: ny + 17 + fontSize - 4, r: 2.6, fill: theme.fg }),
        s('text', { x: nx + 22, y: ny + 17 + fontSize, fill: theme.muted, 'font-size': fontSize - 1 }, 'read by the predictor'),
      );
    }
    svg.append(lg);
    return svg;
  }

  private onKey(ev: KeyboardEvent, c: IndicativenessCell): void {
    if (ev.key === 'Enter' || ev.key === ' ') {
      ev.preventDefault();
      this.ctx.selectTap(c.tap.name, false);
      return;
    }
    const next = moveCell(c.col, c.row, ev.key, this.taps.length, this.metrics.length);
    if (!next) return;
    ev.preventDefault();
    const all = this.strip?.querySelectorAll<SVGGElement>('g.nl-cell');
    if (!all) return;
    let target: SVGGElement | undefined;
    all.forEach((g) => {
      const on = Number(g.getAttribute('data-col')) === next.col && Number(g.getAttribute('data-row')) === next.row;
      g.setAttribute('tabindex', on ? '0' : '-1');
      if (on) target = g;
    });
    target?.focus();
  }

  private async exportPng(): Promise<void> {
    if (!this.strip) return;
    try {
      await exportFigure(this.ctx, exportName('indicativeness'), await svgToPng(this.strip, this.ctx.theme().bg, 2), { title: 'Which taps are indicative: Spearman ρ with the true performance over the shifted copies', extra: 'every tap' });
    } catch (e) {
      console.error('UNet Lens: PNG export of the indicativeness strip failed', e);
    }
  }
}
