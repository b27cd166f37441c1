/**
 * Splits: how the final output performs on each split. Labeled splits show the measured
 * performance (Dice, accuracy, … as results.json gives them); an unlabeled split shows
 * its `predictedPerformance` (the value and its [low, high] interval) when the results
 * have one, else says it is not predicted yet. A dot plot puts every split on one axis
 * of the main metric; cards below list every number.
 *
 * Test hooks: the <svg> has `data-chart="splits"`, `data-splits`, `data-metric`; each row
 * `data-split`, `data-labeled`, and `data-value` (measured) or `data-predicted`
 * ("value,low,high", or "none").
 */
import type { Results, SplitResult } from '../../src/engine/types';
import { exportName, splitStyle } from '../charts';
import { clear, h, exportButton } from '../dom';
import { isUnitMetric, metricShort } from '../../src/protocol/metrics';
import { fmt, numOrNull, performanceCsv, predictedKey, primaryMetric, splitsInOrder } from '../format';
import { cannotTell, estimateText } from '../../src/protocol/names';
import { valueAxis } from '../scale';
import { s, svgToPng } from '../svg';
import { intervalBar, valueAxisMarks } from '../svgCharts';
import { withAlpha, type Theme } from '../theme';
import { BaseView } from './view';
import { inputsText } from '../withoutLabels';
import { exportFigure } from '../exportStamp';

export class SplitsView extends BaseView {
  private wrap?: HTMLElement;
  private svg?: SVGSVGElement;

  protected build(results: Results): void {
    const splits = results.splits ?? [];
    const metric = primaryMetric(results);
    const wrap = h('div', { class: 'splits-plot' });
    const head = h(
      'div',
      { class: 'section-head' },
      h('h2', { id: 'splits-h' }, 'Performance per split'),
      exportButton('Export the split plot as PNG', () => void this.exportPng()),
      exportButton('Export the performance table as CSV', () => this.ctx.host.exportCsv(exportName('performance'), performanceCsv(results)), 'CSV'),
    );
    if (splits.length === 0) {
      this.root.append(h('section', { class: 'section', 'aria-labelledby': 'splits-h' }, head, h('p', { class: 'note empty-state' }, 'These results list no splits.')));
      return;
    }
    this.wrap = wrap;
    this.root.append(
      h(
        'section',
        { class: 'section', 'aria-labelledby': 'splits-h' },
        head,
        h(
          'p',
          { class: 'hint' },
          metric
            ? `${metricShort(metric)} of the final output on each split. Filled dot: measured with labels. Hollow diamond with a bar: predicted for a split without labels, with its [low, high] interval.`
            : 'No performance numbers in these results.',
        ),
        this.wrap,
        h('div', { class: 'split-cards' }, splits.map((sp) => this.card(results, sp))),
      ),
    );
    this.redrawOnResize(this.wrap);
  }

  draw(): void {
    const r = this.results;
    if (!r || !this.wrap) return;
    const width = this.drawWidth(this.wrap);
    if (width <= 0) return;
    const metric = primaryMetric(r);
    clear(this.wrap);
    if (!metric) {
      this.svg = undefined;
      return;
    }
    this.svg = this.plot(r, metric, this.ctx.theme(), Math.min(width, 900));
    this.wrap.append(this.svg);
  }

  private plot(r: Results, metric: string, theme: Theme, width: number): SVGSVGElement {
    const splits = r.splits ?? [];
    const order = new Map(splitsInOrder(r).map((x) => [x.name, x]));
    const fontSize = Math.max(10, Math.round(theme.fontSize * 0.92));
    // room for the names on the left (the "unlabeled" tag goes under the name) and for the
    // value, or "≈ value [low, high]", on the right
    const left = Math.min(220, Math.max(72, Math.max(...splits.map((x) => Math.max(x.name.length, x.labeled ? 0 : 9) * fontSize * 0.62)) + 18));
    const anyPredicted = splits.some((x) => x.predictedPerformance);
    const right = anyPredicted ? 170 : 70;
    const rowH = Math.max(30, fontSize * 2.4);
    const top = 10;
    const axisH = 34;
    const height = top + splits.length * rowH + axisH;
    const plotW = Math.max(120, width - left - right);

    // the axis: [0, 1] for ratios, else the values' range with a margin
    const vals: number[] = [];
    for (const sp of splits) {
      const v = numOrNull(sp.performance?.[metric]);
      if (v !== null) vals.push(v);
      const p = sp.predictedPerformance;
      if (p && predictedKey(p) === metric) for (const x of [p[metric], p.low, p.high]) if (numOrNull(x) !== null) vals.push(x);
    }
    const axis = valueAxis(vals, isUnitMetric(metric), left, plotW);
    const X = axis.X;

    const svg = s('svg', {
      class: 'splits-svg',
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      role: 'img',
      'aria-label': `${metricShort(metric)} per split: ${splits
        .map((sp) => {
          const v = numOrNull(sp.performance?.[metric]);
          const p = sp.predictedPerformance;
          if (v !== null) return `${sp.name} ${fmt(v)}`;
          if (p && predictedKey(p) === metric) return `${sp.name} predicted ${fmt(p[metric])} [${fmt(p.low)}, ${fmt(p.high)}]`;
          return `${sp.name} ${sp.labeled ? 'no value' : 'not predicted yet'}`;
        })
        .join('; ')}`,
      'font-family': theme.font,
      'font-size': fontSize,
      'data-chart': 'splits',
      'data-splits': String(splits.length),
      'data-metric': metric,
      'data-theme': theme.kind,
      'data-bg': theme.bg,
    });
    svg.append(s('rect', { x: 0, y: 0, width, height, fill: theme.bg }));
    // grid and axis
    valueAxisMarks(svg, axis, { theme, fontSize, left, plotW, top, axisY: top + splits.length * rowH + 6, name: metricShort(metric) });

    splits.forEach((sp, i) => {
      const y = top + i * rowH + rowH / 2;
      const desc = order.get(sp.name) ?? { name: sp.name, labeled: sp.labeled, order: i };
      const st = splitStyle(theme, desc);
      const v = numOrNull(sp.performance?.[metric]);
      const p = sp.predictedPerformance;
      const predicted = p && predictedKey(p) === metric && numOrNull(p[metric]) !== null ? p : null;
      const g = s('g', {
        'data-split': sp.name,
        'data-labeled': String(sp.labeled),
        'data-value': v === null ? undefined : String(v),
        'data-predicted': v !== null ? undefined : predicted ? `${predicted[metric]},${predicted.low},${predicted.high}` : 'none',
      });
      g.append(
        s('text', { x: left - 12, y, fill: theme.fg, 'text-anchor': 'end', 'dominant-baseline': 'central', 'font-weight': 600 }, sp.name),
        s('line', { x1: left, x2: left + plotW, y1: y, y2: y, stroke: theme.grid, 'stroke-width': 1, 'stroke-dasharray': '2 3' }),
      );
      if (!sp.labeled) {
        g.append(s('text', { x: left - 12, y: y + fontSize, fill: theme.muted, 'text-anchor': 'end', 'dominant-baseline': 'central', 'font-size': fontSize - 2 }, 'unlabeled'));
      }
      if (v !== null) {
        g.append(
          s('circle', { cx: X(v), cy: y, r: 6, fill: st.color, stroke: theme.bg, 'stroke-width': 1.5 }),
          s('text', { x: left + plotW + 8, y, fill: theme.fg, 'dominant-baseline': 'central' }, fmt(v)),
        );
      } else if (predicted) {
        const x0 = X(numOrNull(predicted.low) ?? predicted[metric]);
        const x1 = X(numOrNull(predicted.high) ?? predicted[metric]);
        const xv = X(predicted[metric]);
        g.append(
          ...intervalBar(x0, x1, y, st.color, withAlpha(st.color, 0.22)),
          s('path', { d: `M${xv},${y - 7} L${xv + 7},${y} L${xv},${y + 7} L${xv - 7},${y} z`, fill: theme.bg, stroke: st.color, 'stroke-width': 2 }),
          s('text', { x: left + plotW + 8, y, fill: theme.fg, 'dominant-baseline': 'central', 'font-style': 'italic' }, predictedText(predicted, metric)),
        );
      } else {
        g.append(
          s('text', { x: left + 8, y, fill: theme.muted, 'dominant-baseline': 'central', 'font-style': 'italic' }, sp.labeled ? 'no value in these results' : 'not predicted yet'),
        );
      }
      svg.append(g);
    });
    return svg;
  }

  private card(r: Results, sp: SplitResult): HTMLElement {
    const classes = r.dataset?.classes ?? [];
    const rows: HTMLElement[] = [];
    const row = (label: string, value: Node | string, cls?: string) =>
      rows.push(h('div', { class: `kv${cls ? ` ${cls}` : ''}` }, h('dt', null, label), h('dd', null, value)));
    row('Images', fmt(sp.images));
    if (sp.performance) {
      for (const [k, v] of Object.entries(sp.performance)) {
        if (v === undefined) continue;
        if (Array.isArray(v)) {
          const named = v.length === classes.length;
          row(metricShort(k), v.map((x, i) => (named ? `${classes[i]} ${fmt(x)}` : fmt(x))).join(' · '));
        } else row(metricShort(k), fmt(v));
      }
    }
    const p = sp.predictedPerformance;
    const pk = predictedKey(p);
    if (p && pk) {
      row(
        `${metricShort(pk)} (predicted)`,
        h('span', null, predictedText(p, pk)),
        'predicted',
      );
    } else if (!sp.labeled) {
      row('Performance', h('span', { class: 'muted', 'data-role': 'not-predicted' }, 'not predicted yet'));
    }
    return h(
      'section',
      { class: 'card split-card', 'data-split': sp.name, 'aria-label': `Split ${sp.name}` },
      h('div', { class: 'card-head' }, h('h3', null, sp.name), h('span', { class: `badge ${sp.labeled ? 'labeled' : 'unlabeled'}` }, sp.labeled ? 'labeled' : 'unlabeled')),
      h('dl', { class: 'kv-list' }, rows),
      !sp.labeled
        ? h(
            'p',
            { class: 'explain' },
            p && pk
              ? `Predicted from ${r.performanceWithoutLabels?.predictors?.features?.inputs?.length ? inputsText(r.performanceWithoutLabels.predictors.features.inputs) : 'the label-free metrics of the interior features'}; [low, high] is the interval of the prediction (see the verdict at the top and Without labels).`
              : 'Without labels, performance can only be predicted from the label-free metrics; these results hold no prediction for this split.',
          )
        : null,
    );
  }

  private async exportPng(): Promise<void> {
    if (!this.svg) return;
    try {
      await exportFigure(this.ctx, exportName('splits'), await svgToPng(this.svg, this.ctx.theme().bg, 2), { title: 'Performance per split (measured, or predicted without labels)', extra: 'all splits' });
    } catch (e) {
      console.error('UNet Lens: PNG export of the splits plot failed', e);
    }
  }

  protected override teardown(): void {
    this.svg = undefined;
    this.wrap = undefined;
  }
}

/** A split's predicted performance: "≈ 0.88 [0.73, 1.00]", or only "0.65–1.00 (cannot tell)" (src/protocol/names.ts, the one rule). */
function predictedText(p: { [metric: string]: number; low: number; high: number }, metric: string): string {
  const e = { value: p[metric], low: p.low, high: p.high };
  return cannotTell(e) ? `${estimateText(e)} (cannot tell)` : `≈ ${estimateText(e)}`;
}
