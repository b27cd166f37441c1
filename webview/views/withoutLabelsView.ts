/**
 * "Without labels" (METHOD.md §5): how well the model will do on data nobody labelled,
 * drawn from `results.performanceWithoutLabels`.
 *
 *  1. Indicativeness: a heat strip of taps (forward order, encoder / bottleneck / decoder
 *     marked) × the label-free metrics, each cell the Spearman ρ between that metric and the
 *     true performance over the shifted copies, on a diverging scale (−1 … +1, through the
 *     background colour); cells without a value are hatched. Clicking a cell (or Enter /
 *     Space on it; arrow keys, Home and End move) selects its tap in every view.
 *  2. Predicted versus true on the shifted copies: each copy's leave-one-family-out
 *     prediction against its true performance, one colour per shift family, with the
 *     diagonal; the output baselines (max-softmax, entropy) on demand as hollow markers.
 *  3. Every split without labels: the interior-features estimate with its [low, high]
 *     interval beside the two baselines', and a sentence saying what it means.
 * Without the section: a message saying why (no labelled split, or the sweep was off).
 *
 * Test hooks: the view's root has `data-shifts` (copies) and, without the section,
 * `data-empty="without-labels"` and `data-reason` (`no-labels` | `off`). The heat strip
 * <svg> has `data-chart="indicativeness"`, `data-cells`, `data-selected`, `data-theme`,
 * `data-bg`; each cell `data-tap`, `data-metric`, `data-rho` ("" when null) and
 * `data-input` (read by the predictor). The scatter canvas has `data-chart="shift-scatter"`,
 * `data-points` (interior-features points), `data-baselines` (true|false),
 * `data-baseline-points`, `data-families`, `data-theme`, `data-bg`. Each split's interval
 * plot is an <svg> with `data-chart="estimates"` and `data-split`, each row `data-predictor`
 * and `data-estimate` ("value,low,high", or "none"). The predictor table's rows carry
 * `data-predictor`, `data-mae`, `data-spearman`.
 */
import type { ChartConfiguration, Plugin, PointStyle } from 'chart.js';
import type { PerformanceWithoutLabels, PredictorName, Results, TapInfo } from '../../src/engine/types';
import { applyChartTheme, backgroundPlugin, Chart, exportName } from '../charts';
import { clear, h, dataTable, exportButton } from '../dom';
import { fileSafe, fmt, numOrNull, shapeText, shortTapName, tapsInOrder } from '../format';
import { readableOn, rgbCss, valueAxis, type RGB } from '../scale';
import { s, svgToPng } from '../svg';
import { seriesColor, toRgb, withAlpha, type Theme } from '../theme';
import {
  absence,
  est,
  estimateRows,
  estimateSentence,
  estimatesCsv,
  estimateSplits,
  estimateText,
  FAMILY_TITLES,
  indicativenessCells,
  indicativenessCsv,
  inputsText,
  parseInput,
  lfTitle,
  moveCell,
  perfTitle,
  PREDICTOR_INFO,
  PREDICTOR_NAMES,
  rhoText,
  scatterRange,
  shiftFamilies,
  shiftPoints,
  shiftsCsv,
  stripMetrics,
  withoutLabels,
  divergingColor,
  type IndicativenessCell,
  type LfMetric,
  type ShiftPoint,
} from '../withoutLabels';
import type { ViewContext } from './context';
import { isUnitMetric } from '../../src/protocol/metrics';

/** Names of the predictors in a narrow interval plot. */
const COMPACT_NAMES: Record<PredictorName, string> = { features: 'Ours', maxProbability: 'Max-softmax', entropy: 'Entropy' };

/** Marker of each predictor, the same in the scatter and the interval plots. */
const MARKER: Record<PredictorName, PointStyle> = { features: 'circle', maxProbability: 'triangle', entropy: 'rect' };

interface ScatterSet {
  family: string;
  predictor: PredictorName;
  points: ShiftPoint[];
}

export class WithoutLabelsView {
  private results?: Results;
  private pwl?: PerformanceWithoutLabels;
  private taps: TapInfo[] = [];
  private cells: IndicativenessCell[] = [];
  /** The heat strip's rows. */
  private metrics: LfMetric[] = [];
  private stripWrap?: HTMLElement;
  private strip?: SVGSVGElement;
  private canvas?: HTMLCanvasElement;
  private chart?: Chart<'scatter'>;
  private baselineBox?: HTMLInputElement;
  private estimateWraps: { split: string; wrap: HTMLElement; svg?: SVGSVGElement }[] = [];
  private observer?: ResizeObserver;
  private lastWidth = 0;
  private frame = 0;

  constructor(
    private readonly root: HTMLElement,
    private readonly ctx: ViewContext,
  ) {}

  render(results: Results): void {
    this.destroy();
    clear(this.root);
    this.results = results;
    this.taps = tapsInOrder(results);
    this.pwl = withoutLabels(results);
    delete this.root.dataset.empty;
    delete this.root.dataset.reason;
    const p = this.pwl;
    this.root.dataset.shifts = String(p?.shifts.length ?? 0);
    const head = h('div', { class: 'section-head' }, h('h2', { id: 'nl-h' }, 'Performance without labels'));
    if (!p) {
      const why = absence(results);
      this.root.dataset.empty = 'without-labels';
      this.root.dataset.reason = why.reason;
      this.root.append(
        h(
          'section',
          { class: 'section', 'aria-labelledby': 'nl-h' },
          head,
          h('div', { class: 'empty-state', 'data-role': 'nl-absent' }, h('p', null, h('strong', null, why.title)), h('p', { class: 'hint' }, why.detail)),
          this.relatedWarnings(results),
        ),
      );
      return;
    }
    this.cells = indicativenessCells(results, p);
    this.metrics = stripMetrics(p);

    this.root.append(
      h('section', { class: 'section', 'aria-labelledby': 'nl-h' }, head, h('p', { class: 'hint' }, this.calibrationText(p)), this.relatedWarnings(results)),
      this.stripSection(results, p),
      this.scatterSection(p),
      this.estimatesSection(results, p),
    );
    this.observer = new ResizeObserver(() => {
      const w = this.stripWrap?.clientWidth ?? 0;
      if (w > 0 && Math.abs(w - this.lastWidth) > 2) this.schedule();
    });
    if (this.stripWrap) this.observer.observe(this.stripWrap);
    this.draw();
  }

  /** Draws (again) everything with the current theme and width. */
  draw(): void {
    if (!this.pwl || !this.results) return;
    const width = this.stripWrap?.clientWidth ?? 0;
    if (width <= 0) return; // hidden: drawn when shown
    this.lastWidth = width;
    const theme = this.ctx.theme();
    this.drawStrip(theme, width);
    this.drawScatter(theme);
    this.drawEstimates(theme);
  }

  /** Moves the selected-tap outline of the heat strip. */
  setSelected(_name: string | undefined): void {
    if (!this.pwl || !this.stripWrap || this.stripWrap.clientWidth <= 0) return;
    this.drawStrip(this.ctx.theme(), this.stripWrap.clientWidth);
  }

  destroy(): void {
    this.observer?.disconnect();
    this.observer = undefined;
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.chart?.destroy();
    this.chart = undefined;
    this.canvas = undefined;
    this.strip = undefined;
    this.stripWrap = undefined;
    this.estimateWraps = [];
    this.lastWidth = 0;
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  // ---------------------------------------------------------------- words

  private calibrationText(p: PerformanceWithoutLabels): string {
    const cal = p.calibration;
    const fams = shiftFamilies(p).filter((f) => f !== 'none');
    const perFam = fams.map((f) => p.shifts.filter((c) => c.family === f).length);
    const same = perFam.length > 0 && perFam.every((n) => n === perFam[0]);
    const copies = `${p.shifts.length} cop${p.shifts.length === 1 ? 'y' : 'ies'}`;
    const what = fams.length
      ? `${fams.map((f) => FAMILY_TITLES[f] ?? f).join(', ')}${same ? `, ${perFam[0]} strength${perFam[0] === 1 ? '' : 's'} each` : ''}${p.shifts.some((c) => c.family === 'none') ? ', and the unshifted copy' : ''}`
      : 'no shift family';
    const from = cal.splits?.length ? cal.splits.join(', ') : 'the labelled data';
    const held = cal.heldOutOfTrain ? ' (train is the only labelled split: a held-out part of it was shifted, and left out of the train reference)' : '';
    return `Calibrated on ${copies} of ${from}${held}${cal.images ? ` (${cal.images} image${cal.images === 1 ? '' : 's'})` : ''}: ${what}. Each copy's true ${perfTitle(p.metric)} is known, and its label-free metrics are measured as on any split; a predictor fitted on the copies then estimates the ${perfTitle(p.metric)} of the splits without labels.${cal.note ? ` ${cal.note}` : ''}`;
  }

  private relatedWarnings(r: Results): HTMLElement | null {
    const w = (r.warnings ?? []).filter((x) => /shift|without labels|calibrat|predictor/i.test(x));
    if (!w.length) return null;
    return h('details', { class: 'warnings' }, h('summary', null, `${w.length} warning${w.length > 1 ? 's' : ''} about this part`), h('ul', null, w.map((x) => h('li', null, x))));
  }

  // ---------------------------------------------------------------- 1. indicativeness

  private stripSection(r: Results, p: PerformanceWithoutLabels): HTMLElement {
    this.stripWrap = h('div', { class: 'nl-strip-wrap' });
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
            return h('td', { class: `num${c?.input ? ' nl-input' : ''}`, title: c?.input ? 'read by the interior-features predictor' : undefined }, rhoText(c?.rho ?? null), c?.input ? ' •' : '');
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
        exportButton('Export the indicativeness strip as PNG', () => void this.exportStrip()),
        exportButton('Export the Spearman ρ per tap and metric as CSV', () => this.ctx.host.exportCsv(exportName('indicativeness'), indicativenessCsv(r, p)), 'CSV'),
      ),
      h(
        'p',
        { class: 'hint' },
        `Each cell: Spearman ρ between a label-free metric at a tap and the true ${perfTitle(p.metric)}, over the ${n} shifted copies. Far from 0 (either colour) = that metric at that tap follows performance, so it can stand in for labels; near 0 = it says little. Hatched: no value. ${marked ? 'A dot marks what the interior-features predictor reads.' : cellInputs ? 'The interior-features predictor reads every cell with a value.' : read ? `The interior-features predictor reads ${read} summaries of these cells (a metric averaged over the taps of each stage of the U), listed under the scatter.` : ''} Click a cell (or Tab to it and press Enter; arrow keys move) to select that tap in every view.`,
      ),
      this.stripWrap,
      h('details', { class: 'values' }, h('summary', null, `Table: ${this.taps.length} taps × ${metrics.length} metrics`), h('div', { class: 'table-wrap' }, table)),
    );
  }

  private drawStrip(theme: Theme, width: number): void {
    if (!this.stripWrap || !this.pwl) return;
    const focused = (document.activeElement as Element | null)?.closest?.('g.nl-cell');
    const focusKey = focused ? `${focused.getAttribute('data-tap')}\u0000${focused.getAttribute('data-metric')}` : undefined;
    const svg = this.buildStrip(theme, width);
    clear(this.stripWrap);
    this.stripWrap.append(svg);
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
    const p = this.pwl!;
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
    const nameH = colW >= 16 ? fontSize + 10 : 4;
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
    const runs: { stage: string; from: number; to: number }[] = [];
    taps.forEach((t, i) => {
      const last = runs[runs.length - 1];
      if (last && last.stage === t.stage) last.to = i;
      else runs.push({ stage: t.stage, from: i, to: i });
    });
    runs.forEach((run, k) => {
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
          `${c.tap.name}\n${metricName}: ${rhoWords}\nwith the true ${perfTitle(p.metric)} over the shifted copies${c.input ? '\nread by the interior-features predictor' : ''}\n${c.tap.stage}, level ${c.tap.level} · ${c.tap.op} · ${shapeText(c.tap.shape)}`,
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
        colW >= 34
          ? s('text', { x: x + colW / 2, y: y + cellH / 2, fill: rgbCss(textColor), 'text-anchor': 'middle', 'dominant-baseline': 'central', 'font-size': colW >= 44 ? fontSize : fontSize - 2, 'pointer-events': 'none' }, rhoText(c.rho, colW >= 44 ? 2 : 1))
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
    if (colW >= 16) {
      taps.forEach((t, i) => {
        const x = left + i * colW + colW / 2;
        const text = colW >= 34 ? fitName(t.name, colW, fontSize - 2) : String(i + 1);
        svg.append(
          s('text', { x, y: top + gridH + fontSize + 2, fill: i === selCol ? theme.fg : theme.muted, 'text-anchor': 'middle', 'font-size': fontSize - 2, 'font-weight': i === selCol ? 600 : 400 }, text),
        );
      });
    }

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

  private async exportStrip(): Promise<void> {
    if (!this.strip) return;
    try {
      this.ctx.host.exportPng(exportName('indicativeness'), await svgToPng(this.strip, this.ctx.theme().bg, 2));
    } catch (e) {
      console.error('UNet Lens: PNG export of the indicativeness strip failed', e);
    }
  }

  // ---------------------------------------------------------------- 2. predicted vs true

  private scatterSection(p: PerformanceWithoutLabels): HTMLElement {
    const m = perfTitle(p.metric);
    this.canvas = h('canvas', {
      'data-chart': 'shift-scatter',
      role: 'img',
      'aria-label': `Leave-one-family-out predicted ${m} against the true ${m} of ${p.shifts.length} shifted copies, one colour per shift family. The values are in the table below the chart.`,
    });
    this.baselineBox = h('input', { type: 'checkbox', id: 'nl-baselines' });
    this.baselineBox.checked = this.ctx.store.nlBaselines;
    this.baselineBox.addEventListener('change', () => {
      this.ctx.store.nlBaselines = this.baselineBox!.checked;
      this.ctx.store.persist();
      this.drawScatter(this.ctx.theme());
    });
    const anyBaseline = p.shifts.some((c) => numOrNull(c.lofo?.maxProbability) !== null || numOrNull(c.lofo?.entropy) !== null);
    if (!anyBaseline) this.baselineBox.disabled = true;

    const summaryText = PREDICTOR_NAMES.map((n) => {
      const sm = p.predictors?.[n];
      const name = n === 'features' ? 'interior features' : PREDICTOR_INFO[n].short.replace(/ baseline$/, '');
      if (!sm) return `${name}: not fitted`;
      return `${name} ${fmt(sm.lofoMae)} (ρ ${rhoText(sm.lofoSpearman)})`;
    }).join(' · ');

    const predictorRows = PREDICTOR_NAMES.map((n) => {
      const sm = p.predictors?.[n];
      const reads = sm ? inputsText(sm.inputs) : '—';
      return h(
        'tr',
        { 'data-predictor': n, 'data-mae': sm?.lofoMae ?? '', 'data-spearman': sm?.lofoSpearman ?? '' },
        h('th', { scope: 'row' }, h('span', { class: `nl-marker ${n}`, 'aria-hidden': 'true' }), PREDICTOR_INFO[n].title),
        h('td', { class: 'nl-reads', title: sm && sm.inputs.length > 4 ? sm.inputs.join('\n') : undefined }, sm ? reads : 'not fitted'),
        h('td', { class: 'num' }, sm ? fmt(sm.lofoMae) : '—'),
        h('td', { class: 'num' }, sm ? rhoText(sm.lofoSpearman) : '—'),
        h('td', { class: 'num' }, sm?.interval ? `−${est(sm.interval.below)} / +${est(sm.interval.above)}` : '—'),
      );
    });
    const predictorTable = dataTable(
      'data nl-predictors',
      'The predictors and their leave-one-family-out errors',
      h(
        'tr',
        null,
        h('th', { scope: 'col' }, 'Predictor'),
        h('th', { scope: 'col' }, 'Reads'),
        h('th', { scope: 'col', class: 'num', title: 'Mean absolute leave-one-family-out error over the shifted copies' }, 'LOFO MAE'),
        h('th', { scope: 'col', class: 'num', title: 'Spearman ρ of the leave-one-family-out predictions with the truth' }, 'LOFO ρ'),
        h('th', { scope: 'col', class: 'num', title: 'Added below / above a prediction to give its interval' }, 'Interval'),
      ),
      predictorRows,
    );
    const descriptions = h(
      'ul',
      { class: 'nl-descriptions' },
      PREDICTOR_NAMES.map((n) => {
        const sm = p.predictors?.[n];
        return sm?.description ? h('li', null, h('strong', null, `${PREDICTOR_INFO[n].title}: `), sm.description) : null;
      }),
    );

    const copies = dataTable(
      'data compact',
      'Every shifted copy: true performance and leave-one-family-out predictions',
      h(
        'tr',
        null,
        h('th', { scope: 'col' }, 'Copy'),
        h('th', { scope: 'col', class: 'num' }, 'Images'),
        h('th', { scope: 'col', class: 'num' }, `True ${m}`),
        PREDICTOR_NAMES.map((n) => h('th', { scope: 'col', class: 'num' }, `LOFO ${PREDICTOR_INFO[n].short}`)),
        h('th', { scope: 'col', class: 'num' }, 'mean max-softmax'),
        h('th', { scope: 'col', class: 'num' }, 'mean entropy'),
      ),
      p.shifts.map((c) =>
        h(
          'tr',
          null,
          h('th', { scope: 'row' }, c.label || `${c.family} ${c.strength}`),
          h('td', { class: 'num' }, fmt(c.images)),
          h('td', { class: 'num' }, fmt(c.performance)),
          PREDICTOR_NAMES.map((n) => h('td', { class: 'num' }, fmt(c.lofo?.[n]))),
          h('td', { class: 'num' }, fmt(c.output?.maxProbability)),
          h('td', { class: 'num' }, fmt(c.output?.entropy)),
        ),
      ),
    );

    return h(
      'section',
      { class: 'section', 'aria-labelledby': 'nl-scatter-h' },
      h(
        'div',
        { class: 'section-head' },
        h('h2', { id: 'nl-scatter-h' }, 'Predicted versus true, on the shifted copies'),
        exportButton('Export the predicted-versus-true scatter as PNG', () => {
          if (this.chart) this.ctx.host.exportPng(exportName('shift-scatter'), this.chart.toBase64Image('image/png', 1));
        }),
        exportButton('Export the shifted copies as CSV', () => this.ctx.host.exportCsv(exportName('shifts'), shiftsCsv(p)), 'CSV'),
      ),
      h(
        'p',
        { class: 'hint' },
        `Each point is one shifted copy: its true ${m} across, the prediction of a fit that never saw that copy's shift family (leave one family out) up. On the dashed diagonal the prediction is exact; the farther off, the worse. Filled circles: the interior features; hollow triangles and squares: the max-softmax and entropy baselines. Click a legend entry to hide it.`,
      ),
      h(
        'div',
        { class: 'controls', role: 'group', 'aria-label': 'Scatter' },
        h(
          'label',
          { class: 'check nl-check', for: 'nl-baselines', title: 'Also show the leave-one-family-out predictions of the two output baselines (max-softmax probability, predictive entropy)' },
          this.baselineBox,
          'Show the baselines (max-softmax, entropy)',
        ),
      ),
      h(
        'div',
        { class: 'nl-scatter-row' },
        h('div', { class: 'chart-box nl-scatter-box' }, this.canvas),
        h(
          'div',
          { class: 'nl-scatter-side' },
          h('p', { class: 'nl-caption', 'data-role': 'scatter-caption' }, h('strong', null, 'Leave-one-family-out MAE: '), summaryText),
          h('div', { class: 'table-wrap' }, predictorTable),
          descriptions,
        ),
      ),
      h('details', { class: 'values' }, h('summary', null, `Table: ${p.shifts.length} shifted copies`), h('div', { class: 'table-wrap' }, copies)),
    );
  }

  private scatterSets(p: PerformanceWithoutLabels, baselines: boolean): ScatterSet[] {
    const fams = shiftFamilies(p);
    const out: ScatterSet[] = [];
    const preds: PredictorName[] = baselines ? ['features', 'maxProbability', 'entropy'] : ['features'];
    for (const predictor of preds) {
      for (const family of fams) {
        const points = shiftPoints(p, predictor, family).sort((a, b) => a.x - b.x);
        if (points.length) out.push({ family, predictor, points });
      }
    }
    return out;
  }

  private familyColor(theme: Theme, family: string, fams: string[]): string {
    if (family === 'none') return theme.fg;
    const k = fams.filter((f) => f !== 'none').indexOf(family);
    return seriesColor(theme, k < 0 ? 0 : k);
  }

  private drawScatter(theme: Theme): void {
    const p = this.pwl;
    const canvas = this.canvas;
    if (!p || !canvas) return;
    applyChartTheme(theme);
    this.chart?.destroy();
    const baselines = this.ctx.store.nlBaselines && !this.baselineBox?.disabled;
    const sets = this.scatterSets(p, baselines);
    const fams = shiftFamilies(p);
    const m = perfTitle(p.metric);
    // one range for both axes, over every predictor (toggling the baselines keeps the axes)
    const all = PREDICTOR_NAMES.flatMap((n) => shiftPoints(p, n)).flatMap((q) => [q.x, q.y]);
    const [lo, hi] = scatterRange(all, p.metric);
    const diagonal: Plugin<'scatter'> = {
      id: 'unetlensDiagonal',
      beforeDatasetsDraw(chart) {
        const { ctx, chartArea: a } = chart;
        const x = chart.scales.x;
        const y = chart.scales.y;
        if (!a || !x || !y) return;
        ctx.save();
        ctx.beginPath();
        ctx.rect(a.left, a.top, a.right - a.left, a.bottom - a.top);
        ctx.clip();
        ctx.strokeStyle = theme.muted;
        ctx.lineWidth = 1.2;
        ctx.setLineDash([5, 4]);
        ctx.beginPath();
        ctx.moveTo(x.getPixelForValue(lo), y.getPixelForValue(lo));
        ctx.lineTo(x.getPixelForValue(hi), y.getPixelForValue(hi));
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.restore();
      },
    };
    const groupOf = (set: ScatterSet) => `family:${set.family}`;
    const famLabel = (f: string) => FAMILY_TITLES[f] ?? f;
    const config: ChartConfiguration<'scatter'> = {
      type: 'scatter',
      data: {
        datasets: sets.map((set) => {
          const color = this.familyColor(theme, set.family, fams);
          const ours = set.predictor === 'features';
          return {
            label: `${famLabel(set.family)} · ${PREDICTOR_INFO[set.predictor].short}`,
            data: set.points,
            pointStyle: ours && set.family === 'none' ? 'rectRot' : MARKER[set.predictor],
            pointRadius: ours ? (set.family === 'none' ? 6 : 5) : 5,
            pointHoverRadius: 8,
            pointHitRadius: 6,
            borderWidth: ours ? 1 : 1.6,
            borderColor: ours ? withAlpha(theme.bg, 0.9) : color,
            backgroundColor: ours ? withAlpha(color, 0.85) : 'transparent',
          };
        }),
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        parsing: false,
        scales: {
          x: {
            type: 'linear',
            min: lo,
            max: hi,
            title: { display: true, text: `true ${m} of the copy`, color: theme.muted },
            grid: { color: theme.grid },
            ticks: { color: theme.fg },
            border: { color: theme.border },
          },
          y: {
            type: 'linear',
            min: lo,
            max: hi,
            title: { display: true, text: `predicted ${m} (leave one family out)`, color: theme.muted },
            grid: { color: theme.grid },
            ticks: { color: theme.fg },
            border: { color: theme.border },
          },
        },
        plugins: {
          legend: {
            position: 'bottom',
            labels: {
              color: theme.fg,
              usePointStyle: true,
              boxWidth: 9,
              boxHeight: 9,
              padding: 12,
              generateLabels: (chart) => {
                const items: { text: string; group: string; fillStyle: string; strokeStyle: string; lineWidth: number; pointStyle: PointStyle; hidden: boolean; fontColor: string }[] = [];
                const hiddenGroup = (g: string) => {
                  const idx = sets.map((x, i) => (groupOf(x) === g || `predictor:${x.predictor}` === g ? i : -1)).filter((i) => i >= 0);
                  return idx.length > 0 && idx.every((i) => !chart.isDatasetVisible(i));
                };
                for (const f of fams) {
                  if (!sets.some((x) => x.family === f)) continue;
                  const color = this.familyColor(theme, f, fams);
                  const g = `family:${f}`;
                  items.push({ text: famLabel(f), group: g, fillStyle: withAlpha(color, 0.85), strokeStyle: color, lineWidth: 1, pointStyle: f === 'none' ? 'rectRot' : 'circle', hidden: hiddenGroup(g), fontColor: theme.fg });
                }
                if (baselines) {
                  for (const n of PREDICTOR_NAMES) {
                    if (!sets.some((x) => x.predictor === n)) continue;
                    const g = `predictor:${n}`;
                    items.push({ text: PREDICTOR_INFO[n].title, group: g, fillStyle: n === 'features' ? theme.muted : 'transparent', strokeStyle: theme.muted, lineWidth: 1.6, pointStyle: MARKER[n], hidden: hiddenGroup(g), fontColor: theme.fg });
                  }
                }
                return items;
              },
            },
            onClick: (_e, item, legend) => {
              const g = (item as unknown as { group?: string }).group;
              const chart = legend.chart;
              if (!g) return;
              const idx = sets.map((x, i) => (groupOf(x) === g || `predictor:${x.predictor}` === g ? i : -1)).filter((i) => i >= 0);
              const show = idx.every((i) => !chart.isDatasetVisible(i));
              for (const i of idx) chart.setDatasetVisibility(i, show);
              chart.update();
            },
          },
          tooltip: {
            usePointStyle: true,
            callbacks: {
              title: (items) => {
                const q = items[0]?.raw as ShiftPoint | undefined;
                return q ? q.label : '';
              },
              label: (item) => {
                const q = item.raw as ShiftPoint;
                const set = sets[item.datasetIndex];
                return ` ${set ? PREDICTOR_INFO[set.predictor].title : ''}: predicted ${est(q.y)} · true ${est(q.x)}`;
              },
            },
          },
          unetlensBackground: { color: theme.bg },
        },
      },
      plugins: [backgroundPlugin, diagonal],
    };
    this.chart = new Chart(canvas, config);
    const ours = sets.filter((x) => x.predictor === 'features').reduce((a, x) => a + x.points.length, 0);
    canvas.dataset.points = String(ours);
    canvas.dataset.baselines = String(baselines);
    canvas.dataset.baselinePoints = String(sets.filter((x) => x.predictor !== 'features').reduce((a, x) => a + x.points.length, 0));
    canvas.dataset.families = fams.join(',');
    canvas.dataset.theme = theme.kind;
    canvas.dataset.bg = theme.bg;
    if (this.baselineBox) this.baselineBox.checked = baselines;
  }

  // ---------------------------------------------------------------- 3. splits without labels

  private estimatesSection(r: Results, p: PerformanceWithoutLabels): HTMLElement {
    const names = estimateSplits(r, p);
    const m = perfTitle(p.metric);
    const head = h(
      'div',
      { class: 'section-head' },
      h('h2', { id: 'nl-est-h' }, 'Splits without labels'),
      names.length ? exportButton('Export the estimates as CSV', () => this.ctx.host.exportCsv(exportName('estimates'), estimatesCsv(r, p)), 'CSV') : null,
    );
    this.estimateWraps = [];
    if (!names.length) {
      return h(
        'section',
        { class: 'section', 'aria-labelledby': 'nl-est-h' },
        head,
        h(
          'p',
          { class: 'note', 'data-role': 'nl-no-unlabelled' },
          `No split of this dataset is without labels, so there is nothing to predict: the calibration above shows how well ${m} could be predicted. Add a split with images only to the dataset file to see its estimate.`,
        ),
      );
    }
    const cards = names.map((split) => {
      const rows = estimateRows(p, split);
      const wrap = h('div', { class: 'nl-estimate-plot' });
      this.estimateWraps.push({ split, wrap });
      const info = r.splits?.find((x) => x.name === split);
      const out = p.splits[split]?.output;
      return h(
        'section',
        { class: 'card nl-split-card', 'data-split': split, 'aria-label': `Estimates for split ${split}` },
        h(
          'div',
          { class: 'card-head' },
          h('h3', null, split),
          h('span', { class: 'badge unlabeled' }, 'unlabeled'),
          info ? h('span', { class: 'muted' }, `${fmt(info.images)} image${info.images === 1 ? '' : 's'}`) : null,
          exportButton(`Export the estimates of ${split} as PNG`, () => void this.exportEstimate(split)),
        ),
        wrap,
        h('p', { class: 'nl-sentence', 'data-role': 'estimate-text' }, estimateSentence(p.metric, rows)),
        h(
          'p',
          { class: 'explain' },
          `[low, high] comes from the predictor's leave-one-family-out errors on the shifted copies.${out ? ` The model's own output on this split: mean max-softmax ${fmt(out.maxProbability)}, mean entropy ${fmt(out.entropy)} nats.` : ''}`,
        ),
      );
    });
    return h(
      'section',
      { class: 'section', 'aria-labelledby': 'nl-est-h' },
      head,
      h(
        'p',
        { class: 'hint' },
        `The ${m} each predictor expects on the splits that have no labels: a marker at the estimate, a bar over its [low, high] interval. The baselines read only the final output; when they are far more optimistic than the interior features, the output is confident on data whose features have moved away from training.`,
      ),
      h('div', { class: 'nl-split-cards' }, cards),
    );
  }

  private drawEstimates(theme: Theme): void {
    const p = this.pwl;
    if (!p) return;
    for (const e of this.estimateWraps) {
      const width = e.wrap.clientWidth;
      if (width <= 0) continue;
      clear(e.wrap);
      e.svg = this.buildEstimate(theme, p, e.split, Math.min(width, 720));
      e.wrap.append(e.svg);
    }
  }

  private buildEstimate(theme: Theme, p: PerformanceWithoutLabels, split: string, width: number): SVGSVGElement {
    const rows = estimateRows(p, split);
    const m = perfTitle(p.metric);
    const fontSize = Math.max(10, Math.round(theme.fontSize * 0.9));
    // narrow: short names, no value text on the right (the sentence under the plot has the numbers)
    const compact = width < 540;
    const name = (n: PredictorName) => (compact ? COMPACT_NAMES[n] : PREDICTOR_INFO[n].title);
    const left = Math.round(Math.max(...rows.map((r) => name(r.predictor).length)) * fontSize * 0.58 + (compact ? 18 : 30));
    const right = compact ? Math.round(4 * fontSize * 0.6) + 8 : Math.round(20 * fontSize * 0.6);
    const rowH = Math.max(28, Math.round(fontSize * 2.3));
    const top = 8;
    const axisH = 30;
    const height = top + rows.length * rowH + axisH;
    const plotW = Math.max(100, width - left - right);
    const vals = rows.flatMap((r) => (r.estimate ? [r.estimate.value, r.estimate.low, r.estimate.high] : []));
    const axis = valueAxis(vals, isUnitMetric(p.metric), left, plotW);
    const X = axis.X;
    const svg = s('svg', {
      class: 'nl-estimate-svg',
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      role: 'img',
      'aria-label': `${split}: ${estimateSentence(p.metric, rows)}`,
      'font-family': theme.font,
      'font-size': fontSize,
      'data-chart': 'estimates',
      'data-split': split,
      'data-theme': theme.kind,
      'data-bg': theme.bg,
    });
    svg.append(s('rect', { x: 0, y: 0, width, height, fill: theme.bg }));
    const axisY = top + rows.length * rowH + 4;
    const ticks = axis.ticks(plotW < 240);
    for (const t of ticks) {
      svg.append(
        s('line', { x1: X(t), x2: X(t), y1: top, y2: axisY, stroke: theme.grid, 'stroke-width': 1 }),
        s('text', { x: X(t), y: axisY + fontSize + 2, fill: theme.fg, 'text-anchor': 'middle', 'font-size': fontSize - 1 }, fmt(t, 3)),
      );
    }
    svg.append(
      s('line', { x1: left, x2: left + plotW, y1: axisY, y2: axisY, stroke: theme.border, 'stroke-width': 1 }),
      s('text', { x: left + plotW + 8, y: axisY + fontSize + 2, fill: theme.muted, 'font-size': fontSize - 1 }, m),
    );
    rows.forEach((r, i) => {
      const y = top + i * rowH + rowH / 2;
      const ours = r.predictor === 'features';
      const color = ours ? theme.charts.blue : theme.muted;
      const e = r.estimate;
      const g = s('g', { 'data-predictor': r.predictor, 'data-estimate': e ? `${e.value},${e.low},${e.high}` : 'none' });
      g.append(
        s('text', { x: left - 12, y, fill: ours ? theme.fg : theme.muted, 'text-anchor': 'end', 'dominant-baseline': 'central', 'font-weight': ours ? 600 : 400 }, name(r.predictor)),
        s('line', { x1: left, x2: left + plotW, y1: y, y2: y, stroke: theme.grid, 'stroke-width': 1, 'stroke-dasharray': '2 3' }),
      );
      if (e) {
        const x0 = X(e.low);
        const x1 = X(e.high);
        const xv = X(e.value);
        g.append(
          s('rect', { x: x0, y: y - 5, width: Math.max(1, x1 - x0), height: 10, fill: withAlpha(color, ours ? 0.25 : 0.15), stroke: color, 'stroke-width': 1 }),
          s('line', { x1: x0, x2: x0, y1: y - 8, y2: y + 8, stroke: color, 'stroke-width': 2 }),
          s('line', { x1: x1, x2: x1, y1: y - 8, y2: y + 8, stroke: color, 'stroke-width': 2 }),
          marker(r.predictor, xv, y, color, theme.bg),
          s('title', null, `${PREDICTOR_INFO[r.predictor].title}: ${m} ≈ ${estimateText(e)}`),
        );
        if (!compact) g.append(s('text', { x: left + plotW + 8, y, fill: ours ? theme.fg : theme.muted, 'dominant-baseline': 'central', 'font-weight': ours ? 600 : 400 }, estimateText(e)));
      } else {
        g.append(s('text', { x: left + 8, y, fill: theme.muted, 'dominant-baseline': 'central', 'font-style': 'italic' }, compact ? 'no estimate' : 'no estimate (could not be fitted)'));
      }
      svg.append(g);
    });
    return svg;
  }

  private async exportEstimate(split: string): Promise<void> {
    const e = this.estimateWraps.find((x) => x.split === split);
    if (!e?.svg) return;
    try {
      this.ctx.host.exportPng(exportName(`estimates-${fileSafe(split)}`), await svgToPng(e.svg, this.ctx.theme().bg, 2));
    } catch (err) {
      console.error('UNet Lens: PNG export of the estimates failed', err);
    }
  }
}

/** The marker of a predictor in an SVG: filled circle (ours), hollow triangle or square (baselines). */
function marker(p: PredictorName, x: number, y: number, color: string, bg: string): SVGElement {
  if (p === 'features') return s('circle', { cx: x, cy: y, r: 6.5, fill: color, stroke: bg, 'stroke-width': 1.5 });
  if (p === 'maxProbability') return s('path', { d: `M${x},${y - 7} L${x + 7},${y + 5} L${x - 7},${y + 5} z`, fill: bg, stroke: color, 'stroke-width': 2 });
  return s('rect', { x: x - 5.5, y: y - 5.5, width: 11, height: 11, fill: bg, stroke: color, 'stroke-width': 2 });
}

/** A tap's short name under its column: the whole short name if it fits, else its last part (cut). */
function fitName(name: string, colW: number, fontSize: number): string {
  const short = shortTapName(name);
  const maxChars = Math.max(3, Math.floor((colW - 4) / (fontSize * 0.58)));
  if (short.length <= maxChars) return short;
  const last = short.split('/').pop() ?? short;
  return last.length <= maxChars ? last : last.slice(0, maxChars - 1) + '…';
}
