/**
 * What the Timeline panel draws (webview/timeline.ts is its entry): a checkpoint series
 * (CONTRACT.md §4, `unet-lens/series@1`) or a comparison of two results
 * (`unet-lens/comparison@1`). It never computes a metric, a peak or a gap:
 * src/engine/series.ts put every number in the document; this file places and colours them.
 *
 *  - the heat map: taps (rows, encoder / bottleneck / decoder marked) × checkpoints
 *    (columns) for the chosen metric and split; a click opens that checkpoint's full panel
 *    at that tap; the best checkpoint (the peak of test Dice, else of predicted Dice) marked;
 *  - under it, per checkpoint: every labelled split's true Dice, every unlabelled split's
 *    predicted Dice with its interval, and the generalization gap (train − test);
 *  - the comparison: per metric the two curves over the taps, the U's taps coloured by the
 *    difference, and the predicted Dice difference per unlabelled split.
 * PNG (SVG rendered) and CSV exports go to the host (its save dialog).
 */
import { h, clear, exportButton } from './dom';
import { s, svgToPng } from './svg';
import { divergingStops, seriesColor, scaleStops, type Theme } from './theme';
import { domainOf, meaningScale, position, rgbCss, type MeaningScale, type RGB } from './scale';
import { shortTapName, toCsv } from './format';
import { cannotTell, estimateNumber, estimateText, fmtNumber } from '../src/protocol/names';
import { TAP_METRIC_SPECS, improvement, metricShort, metricSpec } from '../src/protocol/metrics';
import type { TimelineToHost } from '../src/protocol/messages';
import type { Comparison, Series } from '../src/engine/series';

export interface UiState {
  metric: string;
  split: string;
}

/** What the drawing needs from its page: where, in which colours, how to talk to the host. */
export interface TimelineCtx {
  root: HTMLElement;
  theme: Theme;
  post: (m: TimelineToHost) => void;
  ui: UiState;
  /** Keeps `ui` across reloads (the webview's setState). */
  saveUi: () => void;
  /** A line from the host (what the live watcher does). */
  status?: string;
}

let ctx: TimelineCtx;
let theme: Theme;
const post = (m: TimelineToHost) => ctx.post(m);

const fmt = (v: number | null | undefined, digits = 3) => (v === null || v === undefined ? '–' : fmtNumber(v, digits));
/** A difference with its sign: measured values with three significant digits, estimates with two decimals. */
const signed = (v: number | null | undefined, estimate = false) => (v === null || v === undefined ? '–' : `${v > 0 ? '+' : v < 0 ? '−' : ''}${estimate ? estimateNumber(Math.abs(v)) : fmtNumber(Math.abs(v))}`);

function setBody(state: string, extra: Record<string, string> = {}): void {
  document.body.dataset.state = state;
  for (const [k, v] of Object.entries(extra)) document.body.dataset[k] = v;
}

function exportSvg(svg: SVGSVGElement, name: string): void {
  void svgToPng(svg, theme.bg).then((url) => post({ type: 'exportPng', name, dataUrl: url }));
}

function section(title: string, buttons: HTMLElement[], ...body: (Node | null)[]): HTMLElement {
  return h('section', { class: 'card' }, h('div', { class: 'section-head' }, h('h2', null, title), h('span', { class: 'actions' }, ...buttons)), ...body);
}

function select(label: string, id: string, options: { value: string; text: string }[], value: string, onChange: (v: string) => void): HTMLElement {
  const sel = h('select', { id, onchange: (e: Event) => onChange((e.target as HTMLSelectElement).value) }, ...options.map((o) => h('option', { value: o.value, selected: o.value === value }, o.text)));
  return h('label', { class: 'control' }, `${label} `, sel);
}

// ---------------------------------------------------------------- the series

/** Draws a series into `c.root`. */
export function drawSeries(c: TimelineCtx, series: Series): void {
  ctx = c;
  theme = c.theme;
  const ui = c.ui;
  const root = c.root;
  clear(root);
  const n = series.checkpoints.length;
  setBody('series', { checkpoints: String(n), taps: String(series.taps.length), best: series.best ? String(series.best.checkpoint) : '' });
  const splitNames = Object.keys(series.metrics);
  if (!splitNames.includes(ui.split)) ui.split = splitNames.find((x) => x !== 'train') ?? splitNames[0];
  const metric = TAP_METRIC_SPECS.find((m) => m.key === ui.metric) ?? TAP_METRIC_SPECS.find((m) => m.key === 'featureShift')!;
  const best = series.best;
  const header = h(
    'header',
    { class: 'timeline-head' },
    h('h1', null, `Generalization over training: ${n} checkpoint${n === 1 ? '' : 's'}`),
    h(
      'p',
      { class: 'muted', id: 'timeline-summary' },
      best
        ? `Best: ${series.checkpoints[best.checkpoint].name} (${best.split} ${metricShort(series.metric)} ${fmt(best.value)}${best.by === 'predicted' ? ', predicted' : ''}). `
        : '',
      `Ordered by ${series.order === 'number' ? 'the epoch/step number in the names' : 'modification time'}; seed ${series.settings.seed}.`,
      ctx.status ? ` ${ctx.status}` : '',
    ),
    h(
      'div',
      { class: 'controls' },
      select('Metric', 'timeline-metric', TAP_METRIC_SPECS.map((m) => ({ value: m.key, text: m.title })), metric.key, (v) => {
        ui.metric = v;
        ctx.saveUi();
        drawSeries(ctx, series);
      }),
      select('Split', 'timeline-split', splitNames.map((x) => ({ value: x, text: x })), ui.split, (v) => {
        ui.split = v;
        ctx.saveUi();
        drawSeries(ctx, series);
      }),
    ),
  );
  root.append(header, heatMap(series, metric.key), performance(series));
  if (series.warnings.length) root.append(h('ul', { class: 'warnings' }, ...series.warnings.map((w) => h('li', null, w))));
}

const CELL_W = 34;
const CELL_H = 16;
const LABEL_W = 230;

function heatMap(series: Series, metric: string): HTMLElement {
  const values = series.metrics[ctx.ui.split]?.[metric as keyof Series['metrics'][string]] ?? [];
  const flat = values.flat();
  const spec = metricSpec(metric);
  // the panel's one rule for what a colour means (scale.ts meaningScale): feature shift on its
  // log scale about 1 (collapsed and far from train both unusual), 0–1 metrics on a fixed scale
  const scale = spec ? meaningScale(spec, flat, false) : null;
  const stops = scale?.kind === 'diverging' ? divergingStops(theme) : scaleStops(theme);
  const n = series.checkpoints.length;
  const w = Math.max(LABEL_W + n * CELL_W + 10, LABEL_W + LEGEND_W + 20);
  const top = 40;
  const legendTop = top + series.taps.length * CELL_H + 22;
  const hgt = legendTop + 44;
  const svg = s('svg', { viewBox: `0 0 ${w} ${hgt}`, width: w, height: hgt, class: 'heatmap', role: 'img', 'aria-label': `${spec?.title ?? metric} of ${ctx.ui.split}, taps × checkpoints` });
  series.checkpoints.forEach((c, j) => {
    const x = LABEL_W + j * CELL_W;
    const isBest = series.best?.checkpoint === j;
    svg.append(s('text', { x: x + CELL_W / 2, y: top - 8, 'text-anchor': 'middle', fill: isBest ? theme.charts.green : theme.fg, 'font-size': 10, 'font-weight': isBest ? 'bold' : null, class: 'col-label', 'data-checkpoint': j }, c.number ?? j + 1));
    if (isBest) {
      svg.append(s('rect', { x: x + 1, y: top - 1, width: CELL_W - 2, height: series.taps.length * CELL_H + 2, fill: 'none', stroke: theme.charts.green, 'stroke-width': 2, class: 'best-col' }));
      svg.append(s('text', { x: x + CELL_W / 2, y: 12, 'text-anchor': 'middle', fill: theme.charts.green, 'font-size': 10 }, '★ best'));
    }
  });
  let lastStage = '';
  series.taps.forEach((t, i) => {
    const y = top + i * CELL_H;
    if (t.stage !== lastStage) {
      svg.append(s('line', { x1: 0, x2: w, y1: y, y2: y, stroke: theme.border }));
      svg.append(s('text', { x: 2, y: y + 11, fill: theme.muted, 'font-size': 9, class: 'stage-label' }, t.stage));
      lastStage = t.stage;
    }
    svg.append(s('text', { x: 62, y: y + 11, fill: theme.fg, 'font-size': 10 }, s('title', null, t.name), t.name.length > 30 ? `…${t.name.slice(-29)}` : t.name));
    for (let j = 0; j < n; j++) {
      const v = values[i]?.[j] ?? null;
      const tpos = scale ? scale.t(v) : null;
      const fill = tpos === null || !scale ? theme.grid : rgbCss(scale.colourAt(tpos, stops));
      svg.append(
        s(
          'rect',
          {
            x: LABEL_W + j * CELL_W + 1,
            y: y + 1,
            width: CELL_W - 2,
            height: CELL_H - 2,
            fill,
            class: 'cell',
            'data-tap': t.name,
            'data-checkpoint': j,
            'data-value': v === null ? '' : v,
            'data-tone': scale ? scale.tone(v) : 'none',
            tabindex: 0,
            onclick: () => post({ type: 'openCheckpoint', checkpoint: j, tap: t.name }),
          },
          s('title', null, `${t.name} @ ${series.checkpoints[j].name}: ${fmt(v, 4)}`),
        ),
      );
    }
  });
  if (scale) svg.append(colourLegend(scale, stops, LABEL_W, legendTop));
  const csv = () =>
    post({
      type: 'exportCsv',
      name: `timeline-${metric}-${ctx.ui.split}`,
      csv: toCsv(['tap', 'stage', ...series.checkpoints.map((c) => c.name)], series.taps.map((t, i) => [t.name, t.stage, ...(values[i] ?? [])])),
    });
  return section(`${spec?.title ?? metric} of ${ctx.ui.split}: taps × checkpoints`, [exportButton('Export PNG', () => exportSvg(svg, `timeline-${metric}-${ctx.ui.split}`)), exportButton('Export CSV', csv, 'CSV')], h('p', { class: 'muted' }, 'Click a cell to open that checkpoint’s full panel at that tap.'), h('div', { class: 'scroll-x' }, svg));
}

const LEGEND_W = 240;

/** What the heat map's colours mean: the bar from one end of the scale to the other, its words and note. */
function colourLegend(scale: MeaningScale, stops: RGB[], x: number, y: number): SVGElement {
  const g = s('g', { 'data-role': 'legend', 'data-scale-kind': scale.kind, 'data-ends': scale.ends.join('|') });
  const steps = 48;
  for (let i = 0; i < steps; i++) {
    g.append(s('rect', { x: x + (i * LEGEND_W) / steps, y, width: LEGEND_W / steps + 0.5, height: 10, fill: rgbCss(scale.colourAt((i + 0.5) / steps, stops)) }));
  }
  g.append(s('rect', { x, y, width: LEGEND_W, height: 10, fill: 'none', stroke: theme.border }));
  if (scale.band) g.append(s('rect', { x: x + LEGEND_W * scale.band[0], y: y - 1, width: LEGEND_W * (scale.band[1] - scale.band[0]), height: 12, fill: 'none', stroke: theme.fg, 'stroke-dasharray': '2 2' }));
  const ends = scale.ends.map((e) => e.replace(/^unusual: /, ''));
  g.append(
    s('text', { x: 2, y: y + 9, fill: theme.muted, 'font-size': 9 }, 'colour'),
    s('text', { x, y: y + 22, fill: theme.fg, 'font-size': 9 }, ends[0]),
    s('text', { x: x + LEGEND_W / 2, y: y + 22, fill: theme.fg, 'font-size': 9, 'text-anchor': 'middle' }, ends[1]),
    s('text', { x: x + LEGEND_W, y: y + 22, fill: theme.fg, 'font-size': 9, 'text-anchor': 'end' }, ends[2]),
    s('text', { x, y: y + 35, fill: theme.muted, 'font-size': 9 }, scale.note.replace('range over all splits', 'range over these taps and checkpoints')),
  );
  return g;
}

function performance(series: Series): HTMLElement {
  const n = series.checkpoints.length;
  const w = LABEL_W + n * CELL_W + 10;
  const hgt = 170;
  const y0 = 150;
  // 0–1, and below 0 when the gap is negative (test better than train).
  const lo = Math.min(0, ...(series.gap?.values ?? []).map((v) => v ?? 0));
  const yOf = (v: number) => y0 - Math.max(0, Math.min(1, (v - lo) / (1 - lo))) * 130;
  const xOf = (j: number) => LABEL_W + j * CELL_W + CELL_W / 2;
  const svg = s('svg', { viewBox: `0 0 ${w} ${hgt}`, width: w, height: hgt, class: 'perf-chart', role: 'img', 'aria-label': `${series.metric} per checkpoint` });
  for (const g of lo < 0 ? [Number(lo.toFixed(2)), 0, 0.5, 1] : [0, 0.5, 1]) {
    svg.append(s('line', { x1: LABEL_W, x2: w, y1: yOf(g), y2: yOf(g), stroke: theme.grid }));
    svg.append(s('text', { x: LABEL_W - 4, y: yOf(g) + 3, 'text-anchor': 'end', fill: theme.muted, 'font-size': 9 }, g));
  }
  // the checkpoints' numbers under the chart, as above the heat map's columns
  series.checkpoints.forEach((c, j) => svg.append(s('text', { x: xOf(j), y: y0 + 14, 'text-anchor': 'middle', fill: theme.muted, 'font-size': 9, class: 'x-label' }, c.number ?? j + 1)));
  const legend: { name: string; color: string; dashed: boolean }[] = [];
  const line = (vals: (number | null)[], color: string, dashed: boolean, cls: string) => {
    const pts = vals.map((v, j) => (v === null ? null : `${xOf(j)},${yOf(v)}`)).filter(Boolean);
    if (pts.length) svg.append(s('polyline', { points: pts.join(' '), fill: 'none', stroke: color, 'stroke-width': 2, 'stroke-dasharray': dashed ? '5 3' : null, class: cls }));
    vals.forEach((v, j) => v !== null && svg.append(s('circle', { cx: xOf(j), cy: yOf(v), r: 2.5, fill: color }, s('title', null, `${series.checkpoints[j].name}: ${fmt(v, 4)}`))));
  };
  series.splits.forEach((sp, i) => {
    const color = seriesColor(theme, i);
    if (sp.labeled) {
      line(sp.performance, color, false, `perf perf-${sp.name}`);
      legend.push({ name: `${sp.name} (true)`, color, dashed: false });
    } else if (sp.predicted.some(Boolean)) {
      sp.predicted.forEach((e, j) => e && svg.append(s('line', { x1: xOf(j), x2: xOf(j), y1: yOf(e.low), y2: yOf(e.high), stroke: color, 'stroke-opacity': 0.5, 'stroke-width': 6, class: `pred-range pred-range-${sp.name}`, 'data-cannot-tell': String(cannotTell(e, e.grade)) })));
      // the one rule: an interval that cannot tell gets its bar and no point on the line
      line(sp.predicted.map((e) => (e && !cannotTell(e, e.grade) ? e.value : null)), color, true, `pred pred-${sp.name}`);
      legend.push({ name: `${sp.name} (predicted)`, color, dashed: true });
    }
    if (sp.peak) svg.append(s('text', { x: xOf(sp.peak.checkpoint), y: yOf(sp.peak.value) - 6, 'text-anchor': 'middle', fill: color, 'font-size': 11, class: `peak peak-${sp.name}`, 'data-checkpoint': sp.peak.checkpoint }, '▼'));
  });
  if (series.gap) {
    line(series.gap.values, theme.charts.red, false, 'gap');
    legend.push({ name: `gap (${series.gap.train} − ${series.gap.against})`, color: theme.charts.red, dashed: false });
  }
  legend.forEach((l, i) => {
    const y = 12 + i * 14;
    svg.append(s('line', { x1: 4, x2: 24, y1: y, y2: y, stroke: l.color, 'stroke-width': 2, 'stroke-dasharray': l.dashed ? '5 3' : null }));
    svg.append(s('text', { x: 28, y: y + 3, fill: theme.fg, 'font-size': 10 }, l.name));
  });
  const rows = series.checkpoints.map((c, j) => [
    c.name,
    c.number,
    ...series.splits.flatMap((sp) => (sp.labeled ? [sp.performance[j]] : [sp.predicted[j]?.value ?? null, sp.predicted[j]?.low ?? null, sp.predicted[j]?.high ?? null])),
    series.gap?.values[j] ?? null,
  ]);
  const head = ['checkpoint', 'number', ...series.splits.flatMap((sp) => (sp.labeled ? [`${sp.name} ${series.metric}`] : [`${sp.name} predicted ${series.metric}`, 'low', 'high'])), 'gap'];
  // shown: measured values with three significant digits; the estimates by the one rule (two
  // decimals, and no point value when the interval cannot tell: its low and high stay)
  const cells = series.checkpoints.map((c, j) => [
    c.name,
    String(c.number ?? '–'),
    ...series.splits.flatMap((sp) => {
      if (sp.labeled) return [fmt(sp.performance[j])];
      const e = sp.predicted[j];
      return e ? [cannotTell(e, e.grade) ? 'cannot tell' : estimateNumber(e.value), estimateNumber(e.low), estimateNumber(e.high)] : ['–', '–', '–'];
    }),
    signed(series.gap?.values[j]),
  ]);
  const table = h(
    'table',
    { class: 'data perf-table' },
    h('thead', null, h('tr', null, ...head.map((x) => h('th', null, x)))),
    h('tbody', null, ...cells.map((r, j) => h('tr', { class: series.best?.checkpoint === j ? 'best' : null, 'data-checkpoint': j }, ...r.map((v) => h('td', null, v))))),
  );
  return section(
    `${metricShort(series.metric)} per checkpoint, and the generalization gap`,
    [exportButton('Export PNG', () => exportSvg(svg, `timeline-${series.metric}`)), exportButton('Export CSV', () => post({ type: 'exportCsv', name: `timeline-${series.metric}`, csv: toCsv(head, rows) }), 'CSV')],
    h('div', { class: 'scroll-x' }, svg),
    table,
  );
}

// ---------------------------------------------------------------- the comparison

/** Draws a comparison into `cx.root`. */
export function drawComparison(cx: TimelineCtx, c: Comparison): void {
  ctx = cx;
  theme = cx.theme;
  const ui = cx.ui;
  const root = cx.root;
  clear(root);
  setBody('comparison', { taps: String(c.taps.length), samegraph: String(c.sameGraph) });
  const splitNames = Object.keys(c.metrics);
  if (!splitNames.includes(ui.split)) ui.split = splitNames.find((x) => x !== 'train') ?? splitNames[0];
  root.append(
    h('header', { class: 'timeline-head' }, h('h1', null, `Compare: A = ${c.sides[0].name}, B = ${c.sides[1].name}`), h('p', { class: 'muted', id: 'compare-graphs' }, c.sameGraph ? 'Same taps in both graphs (matched by name).' : 'The graphs differ: taps are matched by name; a tap only one side has is drawn on that side only.')),
    h('div', { class: 'controls' }, select('Split', 'compare-split', splitNames.map((x) => ({ value: x, text: x })), ui.split, (v) => { ui.split = v; ctx.saveUi(); drawComparison(ctx, c); })),
  );
  // Performance and the predicted performance difference per split.
  const head = ['split', `A ${c.metric}`, `B ${c.metric}`, 'B − A', 'A predicted', 'B predicted', 'predicted B − A'];
  const rows = c.splits.map((sp) => [sp.name, sp.a, sp.b, sp.diff, sp.predictedA?.value ?? null, sp.predictedB?.value ?? null, sp.predictedDiff]);
  // shown: measured values with three significant digits; estimates by the one rule (two decimals,
  // only the range when it cannot tell, and then no difference either); the CSV keeps every digit
  const estimate = (e: Comparison['splits'][number]['predictedA']) => (e ? estimateText(e, e.grade) : '–');
  const unsure = (sp: Comparison['splits'][number]) => [sp.predictedA, sp.predictedB].some((e) => e && cannotTell(e, e.grade));
  const cells = c.splits.map((sp) => [sp.name, fmt(sp.a), fmt(sp.b), signed(sp.diff), estimate(sp.predictedA), estimate(sp.predictedB), sp.predictedDiff !== null && unsure(sp) ? 'cannot tell' : signed(sp.predictedDiff, true)]);
  root.append(section('Performance', [exportButton('Export CSV', () => post({ type: 'exportCsv', name: 'compare-performance', csv: toCsv(head, rows) }), 'CSV')], h('table', { class: 'data compare-splits' }, h('thead', null, h('tr', null, ...head.map((x) => h('th', null, x)))), h('tbody', null, ...cells.map((r, k) => h('tr', { 'data-split': r[0] }, ...r.map((v, i) => h('td', { 'data-col': i, class: i > 0 ? 'num' : null, 'data-value': typeof rows[k][i] === 'number' ? String(rows[k][i]) : null }, v))))))));
  for (const m of TAP_METRIC_SPECS) root.append(compareChart(c, m.key));
}

function compareChart(c: Comparison, metric: string): HTMLElement {
  const d = c.metrics[ctx.ui.split]?.[metric as keyof Comparison['metrics'][string]];
  const left = 44;
  const w = Math.max(400, left + 10 + c.taps.length * 22);
  // the taps' names under the U strip, turned 60°: room for the longest
  const names = c.taps.map((t) => shortTapName(t.name).split('/').pop() ?? t.name);
  const hgt = 182 + Math.round(Math.max(0, ...names.map((n) => n.length)) * 9 * 0.6 * Math.sin(Math.PI / 3)) + 8;
  const all = [...(d?.a ?? []), ...(d?.b ?? [])];
  const dom = domainOf(all, false);
  const yOf = (v: number) => 130 - (dom ? (position(v, dom) ?? 0) : 0) * 110;
  const xOf = (i: number) => left + i * 22 + 11;
  const svg = s('svg', { viewBox: `0 0 ${w} ${hgt}`, width: w, height: hgt, class: 'compare-chart', 'data-metric': metric });
  // the value axis: its lowest, middle and highest value, with grid lines
  if (dom) {
    for (const v of [dom.min, dom.log ? Math.sqrt(dom.min * dom.max) : (dom.min + dom.max) / 2, dom.max]) {
      svg.append(
        s('line', { x1: left, x2: w - 4, y1: yOf(v), y2: yOf(v), stroke: theme.grid }),
        s('text', { x: left - 4, y: yOf(v) + 3, 'text-anchor': 'end', fill: theme.muted, 'font-size': 9, class: 'y-label' }, fmt(v)),
      );
    }
  }
  names.forEach((n, i) => svg.append(s('text', { x: xOf(i), y: 182, 'text-anchor': 'end', fill: theme.muted, 'font-size': 9, transform: `rotate(-60 ${xOf(i)} 182)`, class: 'x-label' }, s('title', null, c.taps[i].name), n)));
  const colors = [seriesColor(theme, 0), seriesColor(theme, 1)];
  (['a', 'b'] as const).forEach((side, k) => {
    const vals = d?.[side] ?? [];
    const pts = vals.map((v, i) => (v === null ? null : `${xOf(i)},${yOf(v)}`)).filter(Boolean);
    if (pts.length) svg.append(s('polyline', { points: pts.join(' '), fill: 'none', stroke: colors[k], 'stroke-width': 2, 'stroke-dasharray': k ? '5 3' : null }));
    vals.forEach((v, i) => v !== null && svg.append(s('circle', { cx: xOf(i), cy: yOf(v), r: 2.5, fill: colors[k], class: `pt-${side}`, 'data-value': v }, s('title', null, `${side.toUpperCase()} ${c.taps[i].name}: ${v}`))));
  });
  // The U coloured by the difference: one block per tap, encoder down, decoder up.
  // coloured by how much better B is than A by the metric's direction (feature shift: closer to 1
  // on either side), not by the sign of B − A; a metric without a direction stays grey
  const diffs = d?.diff ?? [];
  const gains = c.taps.map((_, i) => improvement(metric, d?.a[i] ?? null, d?.b[i] ?? null));
  const maxGain = Math.max(1e-12, ...gains.map((v) => Math.abs(v ?? 0)));
  const directed = metricSpec(metric)?.direction !== 'none';
  c.taps.forEach((t, i) => {
    const v = diffs[i];
    const gain = gains[i];
    const y = 150 + Math.min(3, t.level) * 8;
    const fill = gain === null || gain === 0 ? theme.grid : gain > 0 ? theme.charts.green : theme.charts.red;
    const verdict = gain === null ? '' : gain > 0 ? ' (B better)' : gain < 0 ? ' (B worse)' : '';
    svg.append(s('rect', { x: xOf(i) - 9, y, width: 18, height: 8, fill, 'fill-opacity': gain === null ? 1 : 0.25 + 0.75 * (Math.abs(gain) / maxGain), class: 'u-block', 'data-tap': t.name, 'data-diff': v === null ? '' : v, 'data-better': gain === null || gain === 0 ? '' : String(gain > 0) }, s('title', null, `${t.name} (${t.stage}${t.inA && t.inB ? '' : t.inA ? ', only in A' : ', only in B'}): B − A = ${v ?? '–'}${verdict}`)));
  });
  const rule = metricSpec(metric)?.direction === 'centred-on-1' ? 'green = B closer to 1' : 'green = B better';
  svg.append(s('text', { x: 4, y: 12, fill: theme.fg, 'font-size': 10 }, `A solid, B dashed; the U below: B against A${directed ? ` (${rule})` : ''}`));
  return section(metricSpec(metric)?.title ?? metric, [exportButton('Export PNG', () => exportSvg(svg, `compare-${metric}-${ctx.ui.split}`)), exportButton('Export CSV', () => post({ type: 'exportCsv', name: `compare-${metric}-${ctx.ui.split}`, csv: toCsv(['tap', 'stage', 'inA', 'inB', 'A', 'B', 'B − A'], c.taps.map((t, i) => [t.name, t.stage, t.inA, t.inB, d?.a[i] ?? null, d?.b[i] ?? null, diffs[i] ?? null])) }), 'CSV')], h('div', { class: 'scroll-x' }, svg));
}

