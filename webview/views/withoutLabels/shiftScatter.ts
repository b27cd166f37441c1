/**
 * "Predicted versus true, on the shifted copies": each copy's leave-one-family-out
 * prediction against its true performance, one colour per shift family, with the diagonal;
 * the output baselines (max-softmax, entropy) on demand as hollow markers. Beside it the
 * predictors' table, under it every copy's numbers. chart.js canvas.
 *
 * Test hooks: the canvas has `data-chart="shift-scatter"`, `data-points` (network-features
 * points), `data-baselines` (true|false), `data-baseline-points`, `data-families`,
 * `data-theme`, `data-bg`. The predictor table's rows carry `data-predictor`, `data-mae`,
 * `data-spearman`.
 */
import type { ChartConfiguration, Plugin, PointStyle } from 'chart.js';
import type { PerformanceWithoutLabels, PredictorName } from '../../../src/engine/types';
import { applyChartTheme, backgroundPlugin, Chart, exportName, linearAxis, SCATTER_BASE } from '../../charts';
import { dataTable, exportButton, h } from '../../dom';
import { fmt, numOrNull } from '../../format';
import { seriesColor, withAlpha, type Theme } from '../../theme';
import {
  est,
  FAMILY_TITLES,
  inputsText,
  keysInWords,
  perfTitle,
  PREDICTOR_INFO,
  PREDICTOR_NAMES,
  rhoText,
  scatterRange,
  shiftFamilies,
  shiftPoints,
  shiftsCsv,
  type ShiftPoint,
} from '../../withoutLabels';
import type { ViewContext } from '../context';
import { exportFigure } from '../../exportStamp';

/** Marker of each predictor, the same in the scatter and the interval plots. */
const MARKER: Record<PredictorName, PointStyle> = { features: 'circle', maxProbability: 'triangle', entropy: 'rect' };

interface ScatterSet {
  family: string;
  predictor: PredictorName;
  points: ShiftPoint[];
}

export class ShiftScatter {
  readonly element: HTMLElement;
  private canvas?: HTMLCanvasElement;
  private chart?: Chart<'scatter'>;
  private baselineBox?: HTMLInputElement;

  constructor(
    private readonly ctx: ViewContext,
    private readonly pwl: PerformanceWithoutLabels,
  ) {
    this.element = this.section(pwl);
  }

  destroy(): void {
    this.chart?.destroy();
    this.chart = undefined;
  }

  private section(p: PerformanceWithoutLabels): HTMLElement {
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
      this.draw(this.ctx.theme());
    });
    const anyBaseline = p.shifts.some((c) => numOrNull(c.lofo?.maxProbability) !== null || numOrNull(c.lofo?.entropy) !== null);
    if (!anyBaseline) this.baselineBox.disabled = true;

    const summaryText = PREDICTOR_NAMES.map((n) => {
      const sm = p.predictors?.[n];
      const name = PREDICTOR_INFO[n].short.replace(/ baseline$/, '');
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
        sm?.interval && typeof sm.intervalPerDistance === 'number'
          ? h('td', { class: 'num', title: "d: the split's mean standardised distance of the inputs from the unshifted copy's (narrow near it, wide far from it)" }, `±(${est(sm.interval.below)} + ${est(sm.intervalPerDistance)}·d)`)
          : h('td', { class: 'num' }, sm?.interval ? `−${est(sm.interval.below)} / +${est(sm.interval.above)}` : '—'),
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
        return sm?.description ? h('li', null, h('strong', null, `${PREDICTOR_INFO[n].title}: `), keysInWords(sm.description)) : null;
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
          if (this.chart) void exportFigure(this.ctx, exportName('shift-scatter'), this.chart.toBase64Image('image/png', 1), { title: 'Predicted versus true, on the shifted copies (leave one family out)', extra: `calibrated on ${this.pwl.calibration.splits.join(', ') || 'the labelled data'}` });
        }),
        exportButton('Export the shifted copies as CSV', () => this.ctx.host.exportCsv(exportName('shifts'), shiftsCsv(p)), 'CSV'),
      ),
      h(
        'p',
        { class: 'hint' },
        `Each point is one shifted copy: its true ${m} across, the prediction of a fit that never saw that copy's shift family (leave one family out) up. On the dashed diagonal the prediction is exact; the farther off, the worse. Filled circles: the ${PREDICTOR_INFO.features.short}; hollow triangles and squares: the max-softmax and entropy baselines. Click a legend entry to hide it.`,
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

  /** Draws the scatter (again) with this theme and the baselines as the store says. */
  draw(theme: Theme): void {
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
        ...SCATTER_BASE,
        scales: {
          x: linearAxis(theme, `true ${m} of the copy`, { min: lo, max: hi }),
          y: linearAxis(theme, `predicted ${m} (leave one family out)`, { min: lo, max: hi }),
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
}
