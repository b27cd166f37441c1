/**
 * The Tap view: one tap in detail. Its facts, its metrics per split, and the PCA scatter
 * of its points (PC1 against PC2, or PC3), coloured by label, one marker per split.
 */
import type { ChartConfiguration, Plugin } from 'chart.js';
import type { Results, TapInfo } from '../../src/engine/types';
import { applyChartTheme, backgroundPlugin, Chart, exportName, layerCachePlugin, linearAxis, SCATTER_BASE, splitStyle } from '../charts';
import { clear, h, dataTable, exportButton } from '../dom';
import {
  fileSafe,
  fmt,
  METRICS,
  ordinal,
  pct,
  shapeText,
  shortTapName,
  splitsInOrder,
  strideSample,
  tapLabels,
  tapsInOrder,
  type SplitDesc,
} from '../format';
import { seriesColor, withAlpha, type Theme } from '../theme';
import { BaseView } from './view';
import { metricShort } from '../../src/protocol/metrics';
import { exportFigure } from '../exportStamp';

/** Above this many points in all splits, the scatter shows a deterministic subsample. */
export const MAX_SCATTER_POINTS = 5000;

interface Group {
  split: SplitDesc;
  /** Class index, or -1 for a row without a usable label. */
  cls: number;
  rows: number[][];
}

export class TapView extends BaseView {
  private chart?: Chart<'scatter'>;
  private canvas?: HTMLCanvasElement;
  private config?: (theme: Theme) => ChartConfiguration<'scatter'>;
  private select?: HTMLSelectElement;
  /** Colour the points by their class (shape = split) or by their split (shape = split too). */
  private colourBy: 'class' | 'split' = 'class';
  private colourSelect?: HTMLSelectElement;
  private pc3Box?: HTMLInputElement;
  private content?: HTMLElement;
  private taps: TapInfo[] = [];
  private drawnPoints = 0;

  protected build(results: Results): void {
    this.taps = tapsInOrder(results);
    const labels = tapLabels(this.taps);

    this.select = h(
      'select',
      { id: 'tap-select', 'aria-describedby': 'tap-select-hint' },
      this.taps.map((t, i) =>
        h('option', { value: t.name, title: t.name }, `${i + 1}. ${labels[i]} — ${t.stage}, level ${t.level}, ${shapeText(t.shape)}`),
      ),
    );
    this.select.addEventListener('change', () => this.ctx.selectTap(this.select!.value, false));
    const step = (d: number) => {
      const i = this.taps.findIndex((t) => t.name === this.ctx.store.tap);
      const next = this.taps[Math.min(this.taps.length - 1, Math.max(0, i + d))];
      if (next) this.ctx.selectTap(next.name, false);
    };
    this.pc3Box = h('input', { type: 'checkbox', id: 'pc3-toggle' });
    this.pc3Box.checked = this.ctx.store.pc3;
    this.pc3Box.addEventListener('change', () => {
      this.ctx.store.pc3 = this.pc3Box!.checked;
      this.ctx.store.persist();
      this.draw();
    });

    this.colourSelect = h('select', { id: 'pca-colour' }, h('option', { value: 'class' }, 'class'), h('option', { value: 'split' }, 'split'));
    this.colourSelect.value = this.colourBy;
    this.colourSelect.addEventListener('change', () => {
      this.colourBy = this.colourSelect!.value === 'split' ? 'split' : 'class';
      if (this.canvas) this.canvas.dataset.colourBy = this.colourBy;
      this.draw();
    });

    const controls = h(
      'div',
      { class: 'controls', role: 'group', 'aria-label': 'Tap' },
      h('label', { for: 'tap-select' }, 'Tap'),
      this.select,
      h('button', { type: 'button', class: 'btn secondary icon', title: 'Previous tap', 'aria-label': 'Previous tap', onclick: () => step(-1) }, '‹'),
      h('button', { type: 'button', class: 'btn secondary icon', title: 'Next tap', 'aria-label': 'Next tap', onclick: () => step(1) }, '›'),
      h('label', { class: 'check', for: 'pc3-toggle' }, this.pc3Box, 'PC3 on the y axis'),
      h('span', { class: 'field' }, h('label', { for: 'pca-colour' }, 'Colour by'), this.colourSelect),
      h('span', { id: 'tap-select-hint', class: 'visually-hidden' }, 'Taps in forward order, from the input to the output.'),
    );
    this.content = h('div', { class: 'tap-content' });
    this.root.append(h('section', { class: 'section', 'aria-label': 'Tap' }, controls), this.content);
    this.fill(this.ctx.store.tap);
  }

  /** Shows another tap (keeps the controls, so keyboard focus stays where it is). */
  override selectTap(name: string | undefined): void {
    this.fill(name);
    this.draw();
  }

  /** The facts, metrics and PCA card of a tap (the first when `name` is not one). */
  private fill(name: string | undefined): void {
    if (!this.results || !this.content || !this.select) return;
    this.chart?.destroy();
    this.chart = undefined;
    this.canvas = undefined;
    this.config = undefined;
    clear(this.content);
    const tap = this.taps.find((t) => t.name === name) ?? this.taps[0];
    if (!tap) {
      this.content.append(h('p', { class: 'note' }, 'These results have no taps.'));
      return;
    }
    if (this.select.value !== tap.name) this.select.value = tap.name;
    this.content.append(h('div', { class: 'tap-top' }, this.facts(tap), this.metricsTable(tap)), this.pcaCard(tap));
  }

  draw(): void {
    if (!this.canvas || !this.config) return;
    const theme = this.ctx.theme();
    applyChartTheme(theme);
    this.chart?.destroy();
    const t0 = performance.now();
    this.chart = new Chart(this.canvas, this.config(theme));
    this.canvas.dataset.drawMs = String(Math.round(performance.now() - t0));
    this.canvas.dataset.theme = theme.kind;
    this.canvas.dataset.bg = theme.bg;
  }

  protected override teardown(): void {
    this.chart?.destroy();
    this.chart = undefined;
  }

  get points(): number {
    return this.drawnPoints;
  }

  // ---------------------------------------------------------------- facts and metrics

  private facts(tap: TapInfo): HTMLElement {
    const rf = tap.receptiveField;
    const row = (label: string, value: string) => h('div', { class: 'kv' }, h('dt', null, label), h('dd', null, value));
    return h(
      'section',
      { class: 'section', 'aria-labelledby': 'tap-h' },
      h('h2', { id: 'tap-h', class: 'tap-name' }, shortTapName(tap.name, 60)),
      h(
        'dl',
        { class: 'kv-list' },
        row('Name', tap.name),
        row('Op', tap.op),
        row('Position', `${this.taps.indexOf(tap) + 1} of ${this.taps.length} · ${tap.stage}, level ${tap.level}`),
        row('Shape', `${shapeText(tap.shape)} (channels × spatial)`),
        row('Receptive field', rf ? `${rf.size} px, step ${rf.jump} px` : 'unknown'),
      ),
    );
  }

  private metricsTable(tap: TapInfo): HTMLElement {
    const r = this.results!;
    const splits = splitsInOrder(r).filter((s) => r.metrics?.[s.name]);
    return h(
      'section',
      { class: 'section', 'aria-label': 'Metrics at this tap' },
      h(
        'div',
        { class: 'table-wrap' },
        dataTable(
          'data',
          'Metrics at this tap per split',
          h(
            'tr',
            null,
            h('th', { scope: 'col' }, 'Split'),
            METRICS.map((m) => h('th', { scope: 'col', class: 'num', title: m }, metricShort(m))),
            h('th', { scope: 'col', class: 'num' }, 'Points measured'),
          ),
          splits.map((s) => {
            const m = r.metrics[s.name]?.[tap.name];
            return h(
              'tr',
              null,
              h('th', { scope: 'row' }, s.labeled ? s.name : `${s.name} (unlabeled)`),
              METRICS.map((k) => h('td', { class: 'num' }, fmt(m?.[k]))),
              h('td', { class: 'num' }, fmt(m?.points)),
            );
          }),
        ),
      ),
    );
  }

  // ---------------------------------------------------------------- PCA

  private pcaCard(tap: TapInfo): HTMLElement {
    const r = this.results!;
    const pca = r.pca?.[tap.name];
    const card = h('section', { class: 'card pca-card', 'aria-labelledby': 'pca-h' });
    const head = h('div', { class: 'card-head' }, h('h3', { id: 'pca-h' }, 'PCA of the points at this tap'));
    card.append(head);
    this.drawnPoints = 0;
    if (!pca || !pca.points || Object.keys(pca.points).length === 0) {
      card.append(h('p', { class: 'note' }, 'These results hold no PCA projection for this tap.'));
      if (this.pc3Box) this.pc3Box.disabled = true;
      return card;
    }
    const ev = pca.explainedVariance ?? [];
    const hasPc3 = ev.length >= 3 || Object.values(pca.points).some((rows) => rows.some((row) => Number.isFinite(row[2])));
    if (this.pc3Box) {
      this.pc3Box.disabled = !hasPc3;
      if (!hasPc3) this.pc3Box.checked = false;
    }

    const sample = strideSample(pca.points, MAX_SCATTER_POINTS);
    const classes = r.dataset?.classes ?? [];
    const groups: Group[] = [];
    for (const split of splitsInOrder(r)) {
      const rows = sample.rows[split.name];
      if (!rows) continue;
      const byClass = new Map<number, number[][]>();
      for (const row of rows) {
        const lab = row[3];
        const c = Number.isInteger(lab) && lab >= 0 && lab < Math.max(classes.length, 1) ? lab : -1;
        let list = byClass.get(c);
        if (!list) byClass.set(c, (list = []));
        list.push(row);
      }
      for (const c of [...byClass.keys()].sort((a, b) => a - b)) groups.push({ split, cls: c, rows: byClass.get(c)! });
    }
    this.drawnPoints = sample.shown;

    const canvas = h('canvas', {
      'data-chart': 'pca',
      'data-tap': tap.name,
      'data-points': String(sample.shown),
      'data-total': String(sample.total),
      role: 'img',
      'aria-label': `PCA scatter of ${sample.shown} points at tap ${tap.name}, coloured by label, one marker per split.`,
    });
    this.canvas = canvas;
    const className = (c: number) => (c < 0 ? 'no label' : classes[c] ?? `class ${c}`);
    this.config = (theme: Theme): ChartConfiguration<'scatter'> => {
      const yi = this.ctx.store.pc3 && hasPc3 ? 2 : 1;
      const radius = sample.shown > 2000 ? 2 : 2.5;
      // one frame for every split: hiding a series (legend click) does not move the axes
      const frame = (k: number) => {
        const v = groups.flatMap((g) => g.rows.map((row) => row[k])).filter(Number.isFinite);
        const lo = Math.min(...v);
        const hi = Math.max(...v);
        const pad = (hi - lo) * 0.03 || 1;
        return v.length ? { min: lo - pad, max: hi + pad } : {};
      };
      const bySplit = this.colourBy === 'split';
      // by split: one series per split (its legend entry hides the whole split); by class: per split and class
      const series: Group[] = bySplit
        ? [...new Set(groups.map((g) => g.split))].map((split) => ({ split, cls: -2, rows: groups.filter((g) => g.split === split).flatMap((g) => g.rows) }))
        : groups;
      return {
        type: 'scatter',
        data: {
          datasets: series.map((g) => {
            const st = splitStyle(theme, g.split);
            const color = bySplit ? st.color : classColor(theme, g.cls, classes);
            return {
              label: bySplit ? `${g.split.name}${g.split.labeled ? '' : ' (unlabeled)'}` : `${g.split.name} · ${className(g.cls)}${g.split.labeled ? '' : ' (predicted)'}`,
              // Sorted by x: with `parsing: false` chart.js takes the data as sorted along
              // the x axis (it reads the axis range from the first and last points and
              // binary-searches them on hover), so unsorted points would fall off the plot.
              data: g.rows.map((row) => ({ x: row[0], y: row[yi] })).sort((a, b) => a.x - b.x),
              pointStyle: st.pointStyle,
              clip: 6,
              pointRadius: radius,
              pointHoverRadius: radius + 3,
              borderWidth: 1,
              borderColor: withAlpha(color, 0.9),
              backgroundColor: g.split.labeled ? withAlpha(color, 0.5) : 'transparent',
            };
          }),
        },
        options: {
          ...SCATTER_BASE,
          scales: {
            x: { ...linearAxis(theme, `PC1 (${pct(ev[0])} of variance)`), ...frame(0) },
            y: { ...linearAxis(theme, `PC${yi + 1} (${pct(ev[yi])} of variance)`), ...frame(yi) },
          },
          plugins: {
            legend: { position: 'bottom', labels: { color: theme.fg, usePointStyle: true, padding: 12 } },
            tooltip: {
              callbacks: {
                label: (item) => {
                  const p = item.raw as { x: number; y: number };
                  return ` ${item.dataset.label ?? ''}: (${fmt(p.x)}, ${fmt(p.y)})`;
                },
              },
            },
            unetlensBackground: { color: theme.bg },
            // thousands of points: hovering only redraws the tooltip over a kept bitmap
            unetlensLayerCache: { enabled: sample.shown > 1000 },
          },
        },
        plugins: [backgroundPlugin, layerCachePlugin, pcaHooksPlugin],
      };
    };
    canvas.dataset.colourBy = this.colourBy;

    head.append(
      exportButton('Export the PCA scatter as PNG', () => {
        if (this.chart) void exportFigure(this.ctx, exportName(`pca-${fileSafe(shortTapName(tap.name))}`), this.chart.toBase64Image('image/png', 1), { title: 'Features of one tap (PCA of the train points, every split projected)', tap: tap.name, extra: 'all splits' });
      }),
    );
    card.append(
      h('div', { class: 'chart-box tall' }, canvas),
      h(
        'p',
        { class: 'explain' },
        'PCA fitted on the train points at this tap; every split is projected on the same axes. Colour = class (the predicted class on unlabeled splits, hollow markers) or split, as chosen; marker shape = split. Click a legend entry to hide it: the frame stays.',
      ),
      h(
        'p',
        { class: 'note', 'data-role': 'sample-note' },
        pointsNote(r, tap.name, sample),
      ),
    );
    return card;
  }
}

/**
 * What the scatter shows against what the metrics measured, per split: results.json keeps at
 * most 1000 evenly strided rows per split for the scatter (CONTRACT.md §3), while the metrics
 * use every sampled point (the Splits and metric tables' counts).
 */
function pointsNote(r: Results, tap: string, sample: { shown: number; total: number; stride: number; rows: { [split: string]: number[][] } }): string {
  const per = Object.keys(sample.rows).map((sp) => {
    const measured = r.metrics?.[sp]?.[tap]?.points;
    const kept = r.pca?.[tap]?.points?.[sp]?.length ?? 0;
    return `${sp} ${kept}${typeof measured === 'number' && measured !== kept ? ` of ${measured}` : ''}`;
  });
  const drawn = sample.stride > 1 ? `Showing ${sample.shown} of the ${sample.total} points kept for the scatter (every ${ordinal(sample.stride)} point, to keep drawing fast)` : `Showing all ${sample.total} points kept for the scatter`;
  return `${drawn}: ${per.join(', ')} (kept of measured; the metrics use every measured point, the scatter keeps at most 1000 per split).`;
}

/**
 * Test hooks of the scatter, written after every update (a legend click included): the series
 * drawn (`data-series`: label, points, hidden), the axes' frame (`data-frame`: x and y
 * [min, max]) and the legend entries' boxes in canvas pixels (`data-legend`).
 */
const pcaHooksPlugin: Plugin<'scatter'> = {
  id: 'unetlensPcaHooks',
  afterRender(chart) {
    const el = chart.canvas;
    el.dataset.series = JSON.stringify(chart.data.datasets.map((d, i) => ({ label: d.label, points: d.data.length, hidden: !chart.isDatasetVisible(i) })));
    const { x, y } = chart.scales;
    el.dataset.frame = JSON.stringify({ x: [x.min, x.max], y: [y.min, y.max] });
    const boxes = (chart.legend as unknown as { legendHitBoxes?: { left: number; top: number; width: number; height: number }[] } | undefined)?.legendHitBoxes ?? [];
    el.dataset.legend = JSON.stringify((chart.legend?.legendItems ?? []).map((it, i) => ({ text: it.text, ...boxes[i] })));
  },
};

/** A class's colour: a "background" class is drawn muted, the others take the chart colours in order. */
function classColor(theme: Theme, cls: number, classes: string[]): string {
  if (cls < 0) return theme.muted;
  const isBg = (name: string | undefined) => !!name && /^(background|bg|_?background_?)$/i.test(name);
  if (isBg(classes[cls])) return theme.muted;
  let k = 0;
  for (let i = 0; i < cls; i++) if (!isBg(classes[i])) k++;
  return seriesColor(theme, k);
}
