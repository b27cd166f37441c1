/**
 * The Overview: what was analysed, how the model performs per split, and for each metric
 * of METHOD.md §4 a line over the taps in forward order, one line per split.
 */
import type { ChartConfiguration } from 'chart.js';
import type { Results, SplitResult, TapInfo } from '../../src/engine/types';
import { applyChartTheme, backgroundPlugin, Chart, exportName, splitStyle, stageBandsPlugin, stageFills } from '../charts';
import { clear, h, dataTable, exportButton } from '../dom';
import {
  baseName,
  fmt,
  METRICS,
  metricsCsv,
  metricSeries,
  performanceCsv,
  performanceKeys,
  predictedKey,
  type MetricKey,
  type Series,
  shapeText,
  splitsInOrder,
  tapDetails,
  tapLabels,
  tapsInOrder,
} from '../format';
import { canLog, decadesSpanned } from '../scale';
import type { Theme } from '../theme';
import { BaseView } from './view';
import { metricShort, metricSpec } from '../../src/protocol/metrics';
import { cannotTell, estimateNumber, estimateText } from '../../src/protocol/names';
import { metricExplain } from '../explain';
import { exportFigure } from '../exportStamp';

/** Tick labels of a log axis: 1-2-5 steps only, so the axis stays readable. */
function logTick(v: number): string {
  if (!(v > 0)) return '';
  const m = v / 10 ** Math.floor(Math.log10(v) + 1e-9);
  const r = Math.round(m * 1000) / 1000;
  return r === 1 || r === 2 || r === 5 ? fmt(v) : '';
}

export interface OverviewSummary {
  taps: number;
  splits: number;
  metrics: string[];
}

interface ChartSlot {
  canvas: HTMLCanvasElement;
  build: (theme: Theme) => ChartConfiguration<'line'>;
  chart?: Chart<'line'>;
}

export class OverviewView extends BaseView {
  private slots: ChartSlot[] = [];
  private taps: TapInfo[] = [];
  /** What the last render drew (the panel's test hooks). */
  summary: OverviewSummary = { taps: 0, splits: 0, metrics: [] };

  protected build(results: Results): void {
    this.taps = tapsInOrder(results);
    this.root.append(this.header(results), this.performance(results));

    const grid = h('div', { class: 'chart-grid' });
    const drawnMetrics: string[] = [];
    const drawnSplits = new Set<string>();
    const missing: string[] = [];
    for (const metric of METRICS) {
      const { drawn, empty } = metricSeries(results, metric);
      if (drawn.length === 0 || this.taps.length === 0) {
        missing.push(metric);
        continue;
      }
      drawnMetrics.push(metric);
      for (const s of drawn) drawnSplits.add(s.split);
      grid.append(this.metricCard(results, metric, drawn, empty));
    }
    this.root.append(
      h(
        'section',
        { class: 'section', 'aria-labelledby': 'ov-metrics-h' },
        h('div', { class: 'section-head' }, h('h2', { id: 'ov-metrics-h' }, 'Metrics by tap')),
        h(
          'p',
          { class: 'hint' },
          'Taps in forward order from input to output; shaded bands mark encoder, bottleneck and decoder. Labeled splits are solid lines, unlabeled dashed. Click a point to open that tap.',
        ),
        grid,
        missing.length
          ? h(
              'p',
              { class: 'note' },
              (results.splits ?? []).length
                ? `No values in these results for: ${missing.map((m) => metricShort(m)).join(', ')}.`
                : 'The taps are laid out; the charts fill in as each split is measured (train first).',
            )
          : null,
      ),
      this.valuesTable(results),
    );
    this.summary = { taps: this.taps.length, splits: drawnSplits.size, metrics: drawnMetrics };
  }

  /** Draws (again) every chart with the current theme. */
  draw(): void {
    const theme = this.ctx.theme();
    applyChartTheme(theme);
    for (const slot of this.slots) this.drawSlot(slot, theme);
  }

  private drawSlot(slot: ChartSlot, theme: Theme): void {
    slot.chart?.destroy();
    slot.chart = new Chart(slot.canvas, slot.build(theme));
    slot.canvas.dataset.theme = theme.kind;
    slot.canvas.dataset.bg = theme.bg;
  }

  /** Moves the selected-tap marker without rebuilding the charts. */
  override selectTap(tapName: string | undefined): void {
    const idx = this.taps.findIndex((t) => t.name === tapName);
    for (const slot of this.slots) {
      const opts = slot.chart?.options.plugins?.unetlensStages;
      if (slot.chart && opts) {
        opts.selected = idx >= 0 ? idx : null;
        slot.chart.update('none');
      }
    }
  }

  protected override teardown(): void {
    for (const slot of this.slots) slot.chart?.destroy();
    this.slots = [];
    this.summary = { taps: 0, splits: 0, metrics: [] };
  }

  // ---------------------------------------------------------------- header

  private header(r: Results): HTMLElement {
    const created = new Date(r.createdAt);
    const createdText = Number.isNaN(created.getTime()) ? r.createdAt : created.toLocaleString();
    const row = (label: string, value: Node | string, title?: string) =>
      h('div', { class: 'kv' }, h('dt', null, label), h('dd', { title }, value));
    const leftOut = r.tapsLeftOut?.length ?? 0;
    const dl = h(
      'dl',
      { class: 'kv-grid' },
      row('Model', baseName(r.model?.path ?? '?'), r.model?.path),
      row('Dataset', baseName(r.dataset?.path ?? '?'), r.dataset?.path),
      row('Task', `${r.dataset?.task ?? '?'} · classes: ${(r.dataset?.classes ?? []).join(', ') || '—'}`),
      row('Created', createdText, r.createdAt),
      row('Backend', r.tool?.backend ?? '?', `${r.tool?.name ?? 'unet-lens'} ${r.tool?.version ?? ''}`),
      row(
        'Taps',
        `${this.taps.length}${leftOut ? ` (${leftOut} left out by maxTaps)` : ''}`,
        leftOut ? `Left out: ${r.tapsLeftOut.join(', ')}` : undefined,
      ),
      row(
        'Settings',
        `maxPoints ${r.settings?.maxPoints ?? '?'} · k ${r.settings?.k ?? '?'} · seed ${r.settings?.seed ?? '?'} · method v${r.methodVersion ?? '?'}`,
      ),
      row('Model hash', `${r.model?.format ?? ''} · sha256 ${(r.model?.sha256 ?? '').slice(0, 12)}…`, r.model?.sha256),
    );
    const warnings = r.warnings ?? [];
    return h(
      'section',
      { class: 'section', 'aria-labelledby': 'ov-head-h' },
      h('h2', { id: 'ov-head-h', class: 'visually-hidden' }, 'Analysis'),
      dl,
      warnings.length
        ? h(
            'details',
            { class: 'warnings' },
            h('summary', null, `${warnings.length} warning${warnings.length > 1 ? 's' : ''}`),
            h('ul', null, warnings.map((w) => h('li', null, w))),
          )
        : null,
    );
  }

  // ---------------------------------------------------------------- performance

  private performance(r: Results): HTMLElement {
    const keys = performanceKeys(r);
    const classes = r.dataset?.classes ?? [];
    // predicted values in a column of their own, never beside measured ones
    const predKey = (r.splits ?? []).map((s) => predictedKey(s.predictedPerformance)).find((k) => !!k);
    const verdictOf = (name: string) => r.verdict?.unlabeled.find((v) => v.split === name);
    const predictedCell = (s: SplitResult): HTMLElement => {
      const p = s.predictedPerformance;
      if (!p || !predKey || predictedKey(p) !== predKey) return h('td', { class: 'num muted' }, s.labeled ? '' : '—');
      const grade = verdictOf(s.name)?.grade;
      const ranged = typeof p.low === 'number' && typeof p.high === 'number';
      // the one rule (src/protocol/names.ts): two decimals; when it cannot tell, only the range
      const unsure = ranged && cannotTell(p, grade);
      return h(
        'td',
        { class: 'num predicted', title: 'Predicted from the label-free metrics; [low, high] is the interval', 'data-role': 'predicted' },
        unsure ? estimateText({ value: p[predKey], low: p.low, high: p.high }, 'cannot tell') : `≈ ${estimateNumber(p[predKey])}`,
        ranged && !unsure ? h('span', { class: 'range' }, ` [${estimateNumber(p.low)}, ${estimateNumber(p.high)}]`) : null,
        grade ? h('span', { class: `grade-word grade-${grade.replace(' ', '-')}` }, ` ${grade}`) : null,
      );
    };
    // the share of pixels predicted as foreground: the engine's, per split over all its images
    // (files written before it existed: the verdict's, for its reference and unlabelled splits)
    const fg = new Map<string, number>();
    for (const s of r.splits ?? []) if (typeof s.foreground === 'number') fg.set(s.name, s.foreground);
    const fgPerSplit = fg.size > 0;
    for (const v of fgPerSplit ? [] : r.verdict?.unlabeled ?? []) {
      if (v.foreground) {
        fg.set(v.split, v.foreground.split);
        fg.set(v.foreground.referenceSplit, v.foreground.reference);
      }
    }
    const fgShown = fg.size > 0;
    const fgClass = classes.length === 2 ? classes[1] : 'foreground';
    // single numbers first, then the predicted columns, then per-class lists (wide)
    const listKeys = keys.filter((k) => (r.splits ?? []).some((s) => Array.isArray(s.performance?.[k])));
    const scalarKeys = keys.filter((k) => !listKeys.includes(k));
    const cell = (s: SplitResult, k: string): HTMLElement => {
      const v = s.performance?.[k];
      if (typeof v === 'number') return h('td', { class: 'num' }, fmt(v));
      if (Array.isArray(v)) {
        const named = v.length === classes.length;
        return h('td', { class: 'num' }, v.map((x, i) => (named ? `${classes[i]} ${fmt(x)}` : fmt(x))).join(' · '));
      }
      if (!s.labeled && !s.predictedPerformance && k === keys[0]) {
        return h('td', { class: 'num muted not-predicted', title: 'No labels: the performance of this split can only be predicted, and these results hold no prediction' }, 'not predicted yet');
      }
      return h('td', { class: 'num muted' }, '—');
    };
    const table = dataTable(
      'data',
      'Performance of the final output per split',
      h(
        'tr',
        null,
        h('th', { scope: 'col' }, 'Split'),
        h('th', { scope: 'col' }, 'Labels'),
        h('th', { scope: 'col', class: 'num' }, 'Images'),
        scalarKeys.map((k) => h('th', { scope: 'col', class: 'num' }, metricShort(k))),
        predKey ? h('th', { scope: 'col', class: 'num', title: 'Predicted from the label-free metrics (Without labels); not a measurement' }, `Predicted ${metricShort(predKey)} (no labels)`) : null,
        fgShown ? h('th', { scope: 'col', class: 'num', title: metricSpec('foreground')?.intuition }, `Predicted ${fgClass} share`) : null,
        listKeys.map((k) => h('th', { scope: 'col', class: 'num' }, metricShort(k))),
      ),
      (r.splits ?? []).map((s) =>
        h(
          'tr',
          null,
          h('th', { scope: 'row' }, s.name),
          h('td', null, s.labeled ? 'labeled' : 'unlabeled'),
          h('td', { class: 'num' }, fmt(s.images)),
          scalarKeys.map((k) => cell(s, k)),
          predKey ? predictedCell(s) : null,
          fgShown ? h('td', { class: 'num', 'data-role': 'foreground' }, fg.has(s.name) ? `${(fg.get(s.name)! * 100).toFixed(1)} %` : '—') : null,
          listKeys.map((k) => cell(s, k)),
        ),
      ),
    );
    const anyPredicted = (r.splits ?? []).some((s) => s.predictedPerformance);
    return h(
      'section',
      { class: 'section', 'aria-labelledby': 'ov-perf-h' },
      h(
        'div',
        { class: 'section-head' },
        h('h2', { id: 'ov-perf-h' }, 'Performance'),
        this.csvButton('performance', () => performanceCsv(r), 'Export the performance table as CSV'),
      ),
      h('div', { class: 'table-wrap' }, table),
      anyPredicted
        ? h('p', { class: 'hint' }, `≈ value [low, high]: predicted from the label-free metrics for a split without labels, with how far it can be trusted; "cannot tell" when the interval is too wide to tell a drop from no drop, and then only the range (low–high).${fgShown ? ` The ${fgClass} share: pixels the model predicts as ${fgClass}${fgPerSplit ? ', over all the split\'s images' : ' (on the shifted-copy sweep\'s images)'}.` : ''}`)
        : null,
    );
  }

  // ---------------------------------------------------------------- metric charts

  private metricCard(r: Results, metric: MetricKey, series: Series[], empty: string[]): HTMLElement {
    const info = metricSpec(metric)!;
    const taps = this.taps;
    const labels = tapLabels(taps);
    const drawn = series.map((s) => ({ split: s.split, values: s.values }));
    const allValues = series.flatMap((x) => x.values);
    const loggable = canLog(allValues);
    const decades = decadesSpanned(allValues);
    const useLog = () => loggable && this.ctx.store.log.has(metric);
    const canvas = h('canvas', {
      'data-chart': metric,
      'data-series': JSON.stringify(drawn),
      'data-scale': useLog() ? 'log' : 'linear',
      role: 'img',
      'aria-label': `${info.title} per tap for ${series.map((s) => s.split).join(', ')}. The values are in the table "Values by tap".`,
    });
    const selectedIdx = () => {
      const i = taps.findIndex((t) => t.name === this.ctx.store.tap);
      return i >= 0 ? i : null;
    };
    const build = (theme: Theme): ChartConfiguration<'line'> => ({
      type: 'line',
      data: {
        labels,
        datasets: series.map((s) => {
          const st = splitStyle(theme, s);
          return {
            label: s.labeled ? s.split : `${s.split} (unlabeled)`,
            data: s.values,
            borderColor: st.color,
            backgroundColor: st.color,
            borderDash: st.dash,
            borderWidth: st.width,
            pointStyle: st.pointStyle,
            pointRadius: 3,
            pointHoverRadius: 6,
            pointHitRadius: 8,
            spanGaps: false,
            tension: 0,
          };
        }),
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        layout: { padding: { top: 14 } },
        interaction: { mode: 'index', intersect: false },
        scales: {
          x: {
            grid: { color: theme.grid, drawOnChartArea: false },
            ticks: { color: theme.fg, maxRotation: 60, minRotation: 0, autoSkip: true, autoSkipPadding: 4 },
            border: { color: theme.border },
          },
          y: useLog()
            ? {
                type: 'logarithmic',
                title: { display: true, text: `${info.axis} (log)`, color: theme.muted },
                grid: { color: theme.grid },
                ticks: { color: theme.fg, callback: (v) => logTick(Number(v)) },
                border: { color: theme.border },
              }
            : {
                type: 'linear',
                title: { display: true, text: info.axis, color: theme.muted },
                grid: { color: theme.grid },
                ticks: { color: theme.fg },
                border: { color: theme.border },
                suggestedMax: info.unitRange ? 1 : undefined,
                suggestedMin: info.refLine !== null ? info.refLine * 0.8 : undefined,
              },
        },
        plugins: {
          legend: {
            position: 'bottom',
            labels: { color: theme.fg, boxWidth: 28, boxHeight: 2, padding: 12 },
          },
          tooltip: {
            callbacks: {
              title: (items) => (items.length ? taps[items[0].dataIndex]?.name ?? '' : ''),
              beforeBody: (items) => (items.length && taps[items[0].dataIndex] ? tapDetails(taps[items[0].dataIndex]) : []),
              label: (item) => ` ${series[item.datasetIndex]?.split ?? ''}: ${fmt(item.raw)}`,
            },
          },
          unetlensBackground: { color: theme.bg },
          unetlensStages: {
            stages: taps.map((t) => t.stage),
            fill: stageFills(theme),
            text: theme.muted,
            separator: theme.border,
            font: `${Math.max(10, Math.round(theme.fontSize * 0.85))}px ${theme.font}`,
            selected: selectedIdx(),
            selectedColor: theme.focus,
            refLine: info.refLine,
            refColor: theme.muted,
          },
        },
        onClick: (evt, elements, chart) => {
          let i = elements[0]?.index;
          if (i === undefined && evt.x !== null && evt.x !== undefined) {
            const v = chart.scales.x.getValueForPixel(evt.x);
            if (v !== undefined) i = Math.round(v);
          }
          if (i !== undefined && taps[i]) this.ctx.selectTap(taps[i].name, true);
        },
        onHover: (evt, elements) => {
          const target = evt.native?.target as HTMLElement | undefined;
          if (target) target.style.cursor = elements.length ? 'pointer' : 'default';
        },
      },
      plugins: [backgroundPlugin, stageBandsPlugin],
    });
    const slot: ChartSlot = { canvas, build };
    this.slots.push(slot);

    const title = `ov-chart-${metric}`;
    const logId = `ov-log-${metric}`;
    const logBox = h('input', { type: 'checkbox', id: logId, disabled: !loggable });
    logBox.checked = useLog();
    logBox.addEventListener('change', () => {
      if (logBox.checked) this.ctx.store.log.add(metric);
      else this.ctx.store.log.delete(metric);
      this.ctx.store.persist();
      canvas.dataset.scale = useLog() ? 'log' : 'linear';
      const theme = this.ctx.theme();
      applyChartTheme(theme);
      this.drawSlot(slot, theme);
    });
    const logTitle = loggable
      ? `Logarithmic y axis${decades >= 1 ? ` (the values span ${decades.toFixed(1)} orders of magnitude)` : ''}`
      : 'Not available: some values are zero or negative';
    return h(
      'section',
      { class: 'card chart-card', 'aria-labelledby': title },
      h(
        'div',
        { class: 'card-head' },
        h('h3', { id: title }, info.title),
        h(
          'label',
          { class: `check small${decades >= 1 ? ' suggest' : ''}`, for: logId, title: logTitle },
          logBox,
          decades >= 1 ? 'log (wide range)' : 'log',
        ),
        exportButton(`Export the ${info.title} chart as PNG`, () => this.exportPng(metric), 'PNG', `Export ${info.title} chart as PNG`),
      ),
      h('div', { class: 'chart-box' }, canvas),
      metricExplain(metric, r.settings?.k ?? 10),
      empty.length ? h('p', { class: 'note' }, `No values for ${empty.join(', ')}.`) : null,
    );
  }

  private exportPng(metric: string): void {
    const slot = this.slots.find((s) => s.canvas.dataset.chart === metric);
    if (slot?.chart) void exportFigure(this.ctx, exportName(metric), slot.chart.toBase64Image('image/png', 1), { title: `${metricSpec(metric)?.title ?? metric} per tap`, extra: 'all splits, every tap' });
  }

  private csvButton(name: string, csv: () => string, title: string): HTMLElement {
    return exportButton(title, () => this.ctx.host.exportCsv(exportName(name), csv()), 'CSV');
  }

  // ---------------------------------------------------------------- values table

  private valuesTable(r: Results): HTMLElement {
    const splits = splitsInOrder(r).filter((s) => r.metrics?.[s.name]);
    const labels = tapLabels(this.taps);
    const table = dataTable(
      'data compact',
      'Every metric per tap and split',
      [
        h(
          'tr',
          null,
          h('th', { scope: 'col', rowspan: 2 }, '#'),
          h('th', { scope: 'col', rowspan: 2 }, 'Tap'),
          h('th', { scope: 'col', rowspan: 2 }, 'Stage'),
          h('th', { scope: 'col', rowspan: 2 }, 'Shape'),
          METRICS.map((m) => h('th', { scope: 'colgroup', colspan: splits.length, class: 'group', title: m }, metricShort(m))),
        ),
        h('tr', null, METRICS.flatMap(() => splits.map((s) => h('th', { scope: 'col', class: 'num' }, s.name)))),
      ],
      this.taps.map((t, i) =>
        h(
          'tr',
          null,
          h('td', { class: 'num muted' }, String(i + 1)),
          h('th', { scope: 'row', title: t.name }, labels[i]),
          h('td', null, t.stage),
          h('td', null, shapeText(t.shape)),
          METRICS.flatMap((m) => splits.map((s) => h('td', { class: 'num' }, fmt(r.metrics[s.name]?.[t.name]?.[m])))),
        ),
      ),
    );
    return h(
      'section',
      { class: 'section', 'aria-labelledby': 'ov-values-h' },
      h(
        'div',
        { class: 'section-head' },
        h('h2', { id: 'ov-values-h' }, 'Values by tap'),
        this.csvButton('metrics', () => metricsCsv(r), 'Export every metric per tap and split as CSV'),
      ),
      h('details', { class: 'values' }, h('summary', null, `Table: ${this.taps.length} taps × ${splits.length} splits`), h('div', { class: 'table-wrap' }, table)),
    );
  }
}
