/**
 * "Splits without labels": for every split without labels, the network-features estimate
 * with its [low, high] interval beside the two baselines', and a sentence saying what it
 * means. One SVG interval plot per split.
 *
 * Test hooks: each plot is an <svg> with `data-chart="estimates"` and `data-split`, each
 * row `data-predictor` and `data-estimate` ("value,low,high", or "none").
 */
import type { PerformanceWithoutLabels, PredictorName, Results } from '../../../src/engine/types';
import { isUnitMetric } from '../../../src/protocol/metrics';
import { exportName } from '../../charts';
import { clear, exportButton, h } from '../../dom';
import { fileSafe, fmt } from '../../format';
import { valueAxis } from '../../scale';
import { s, svgToPng } from '../../svg';
import { intervalBar, valueAxisMarks } from '../../svgCharts';
import { withAlpha, type Theme } from '../../theme';
import { estimateRows, estimateSentence, estimatesCsv, estimateSplits, estimateText, perfTitle, PREDICTOR_INFO, PREDICTOR_NAMES, rhoText } from '../../withoutLabels';
import { cannotTell, estimateNumber } from '../../../src/protocol/names';
import type { ViewContext } from '../context';
import { exportFigure } from '../../exportStamp';

/** Names of the predictors in a narrow interval plot. */
const COMPACT_NAMES: Record<PredictorName, string> = { features: 'Features', maxProbability: 'Max-softmax', entropy: 'Entropy' };

export class Estimates {
  readonly element: HTMLElement;
  private estimateWraps: { split: string; wrap: HTMLElement; svg?: SVGSVGElement; reference: { split: string; value: number } | null }[] = [];

  constructor(
    private readonly ctx: ViewContext,
    results: Results,
    private readonly pwl: PerformanceWithoutLabels,
  ) {
    this.element = this.section(results, pwl);
  }

  private section(r: Results, p: PerformanceWithoutLabels): HTMLElement {
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
      this.estimateWraps.push({ split, wrap, reference: r.verdict?.unlabeled.find((v) => v.split === split)?.reference ?? null });
      const info = r.splits?.find((x) => x.name === split);
      const out = p.splits[split]?.output;
      const verdict = r.verdict?.unlabeled.find((v) => v.split === split);
      const weak = PREDICTOR_NAMES.filter((n) => n !== 'features' && typeof p.predictors[n]?.lofoSpearman === 'number' && p.predictors[n]!.lofoSpearman! <= 0);
      return h(
        'section',
        { class: 'card nl-split-card', 'data-split': split, 'aria-label': `Estimates for split ${split}` },
        h(
          'div',
          { class: 'card-head' },
          h('h3', null, split),
          h('span', { class: 'badge unlabeled' }, 'unlabeled'),
          info ? h('span', { class: 'muted' }, `${fmt(info.images)} image${info.images === 1 ? '' : 's'}`) : null,
          exportButton(`Export the estimates of ${split} as PNG`, () => void this.exportPng(split)),
        ),
        verdict ? h('p', { class: 'nl-verdict verdict-answer', 'data-role': 'verdict-answer', 'data-grade': verdict.grade ?? '' }, verdict.sentence) : null,
        wrap,
        h('p', { class: 'nl-sentence', 'data-role': 'estimate-text' }, estimateSentence(p.metric, rows)),
        weak.length
          ? h(
              'p',
              { class: 'note', 'data-role': 'weak-baselines' },
              `Not a guide here: ${weak.map((n) => `the ${PREDICTOR_INFO[n].short} (ρ ${rhoText(p.predictors[n]!.lofoSpearman)})`).join(' and ')} did not follow the true ${m} across the shifted copies (leave-one-family-out ρ ≤ 0), so ${weak.length > 1 ? 'they are' : 'it is'} drawn faint, for comparison only.`,
            )
          : null,
        noiseNote(p, split),
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
        `The ${m} each predictor expects on the splits that have no labels: a bar over its [low, high] interval and a marker at the estimate (none when the interval is too wide to tell a drop from no drop). The baselines read only the final output's confidence; when they are far more optimistic than the ${PREDICTOR_INFO.features.short} (the interior taps and, for segmentation, the output's shape), the output is confident on data whose features have moved away from training.`,
      ),
      h('div', { class: 'nl-split-cards' }, cards),
    );
  }

  /** Draws every split's interval plot (again) at its box's width. */
  draw(theme: Theme): void {
    const p = this.pwl;
    if (!p) return;
    for (const e of this.estimateWraps) {
      const width = e.wrap.clientWidth;
      if (width <= 0) continue;
      clear(e.wrap);
      e.svg = this.buildEstimate(theme, p, e.split, Math.min(width, 720), e.reference);
      e.wrap.append(e.svg);
    }
  }

  private buildEstimate(theme: Theme, p: PerformanceWithoutLabels, split: string, width: number, reference: { split: string; value: number } | null): SVGSVGElement {
    const rows = estimateRows(p, split);
    const m = perfTitle(p.metric);
    const fontSize = Math.max(10, Math.round(theme.fontSize * 0.9));
    // narrow: short names, no value text on the right (the sentence under the plot has the numbers)
    const compact = width < 540;
    const name = (n: PredictorName) => (compact ? COMPACT_NAMES[n] : PREDICTOR_INFO[n].title);
    const left = Math.round(Math.max(...rows.map((r) => name(r.predictor).length)) * fontSize * 0.58 + (compact ? 18 : 30));
    const right = compact ? Math.round(4 * fontSize * 0.6) + 8 : Math.round(20 * fontSize * 0.6);
    const rowH = Math.max(28, Math.round(fontSize * 2.3));
    const top = reference ? 8 + fontSize + 6 : 8;
    const axisH = 30;
    const height = top + rows.length * rowH + axisH;
    const plotW = Math.max(100, width - left - right);
    const vals = [...rows.flatMap((r) => (r.estimate ? [r.estimate.value, r.estimate.low, r.estimate.high] : [])), ...(reference ? [reference.value] : [])];
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
    valueAxisMarks(svg, axis, { theme, fontSize, left, plotW, top, axisY: top + rows.length * rowH + 4, name: m, narrow: plotW < 240 });
    if (reference) {
      // the labelled reference's measured value (from results.verdict): what "a drop" is measured against
      const xr = X(reference.value);
      svg.append(
        s(
          'g',
          { 'data-role': 'reference', 'data-value': String(reference.value) },
          s('line', { x1: xr, x2: xr, y1: top - 2, y2: top + rows.length * rowH, stroke: theme.fg, 'stroke-width': 1.5, 'stroke-dasharray': '4 3' }),
          s('text', { x: xr, y: top - 6, fill: theme.fg, 'text-anchor': xr > left + plotW * 0.7 ? 'end' : 'middle', 'font-size': fontSize - 1 }, `${reference.split}: ${fmt(reference.value)} measured`),
        ),
      );
    }
    rows.forEach((r, i) => {
      const y = top + i * rowH + rowH / 2;
      const ours = r.predictor === 'features';
      const color = ours ? theme.charts.blue : theme.muted;
      const e = r.estimate;
      const rho = p.predictors[r.predictor]?.lofoSpearman;
      const weak = !ours && typeof rho === 'number' && rho <= 0;
      // cannot tell: the interval alone, no marker and no number that looks precise
      const unsure = !!e && cannotTell(e, e.grade);
      const g = s('g', { 'data-predictor': r.predictor, 'data-estimate': e ? `${e.value},${e.low},${e.high}` : 'none', 'data-cannot-tell': e ? String(unsure) : undefined, 'data-weak': weak ? 'true' : undefined, opacity: weak ? 0.45 : undefined });
      g.append(
        s('text', { x: left - 12, y, fill: ours ? theme.fg : theme.muted, 'text-anchor': 'end', 'dominant-baseline': 'central', 'font-weight': ours ? 600 : 400 }, name(r.predictor)),
        s('line', { x1: left, x2: left + plotW, y1: y, y2: y, stroke: theme.grid, 'stroke-width': 1, 'stroke-dasharray': '2 3' }),
      );
      if (e) {
        const x0 = X(e.low);
        const x1 = X(e.high);
        const xv = X(e.value);
        g.append(
          ...intervalBar(x0, x1, y, color, withAlpha(color, ours ? 0.25 : 0.15)),
          ...(unsure ? [] : [marker(r.predictor, xv, y, color, theme.bg)]),
          s('title', null, `${PREDICTOR_INFO[r.predictor].title}: ${unsure ? `cannot tell — ${m} anywhere in ${estimateText(e)}` : `${m} ≈ ${estimateText(e)}`}`),
        );
        if (!compact) g.append(s('text', { x: left + plotW + 8, y, fill: ours ? theme.fg : theme.muted, 'dominant-baseline': 'central', 'font-weight': ours ? 600 : 400 }, estimateText(e)));
      } else {
        g.append(s('text', { x: left + 8, y, fill: theme.muted, 'dominant-baseline': 'central', 'font-style': 'italic' }, compact ? 'no estimate' : 'no estimate (could not be fitted)'));
      }
      svg.append(g);
    });
    return svg;
  }

  private async exportPng(split: string): Promise<void> {
    const e = this.estimateWraps.find((x) => x.split === split);
    if (!e?.svg) return;
    try {
      await exportFigure(this.ctx, exportName(`estimates-${fileSafe(split)}`), await svgToPng(e.svg, this.ctx.theme().bg, 2), { title: `Predicted ${perfTitle(this.pwl.metric)} without labels`, split });
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

/** What the noise floor did to ours on this split (METHOD.md §5 "Sampling noise"), in words; null without it. */
function noiseNote(p: PerformanceWithoutLabels, split: string): HTMLElement | null {
  const sn = p.splits[split]?.samplingNoise;
  const est = p.splits[split]?.predicted.features;
  if (!sn || !est) return null;
  const m = perfTitle(p.metric);
  const what =
    sn.shrink === 0 ? `Its features differ from the unshifted calibration images' by no more than that, so ours is their measured ${m} (${estimateNumber(sn.unshrunk)} before).`
    : sn.shrink < 0.995
      ? `Part of its change from the unshifted calibration images' ${m} may be that noise, so ours was pulled toward their ${m}${cannotTell(est, est.grade) ? '' : `: ${estimateNumber(sn.unshrunk)} before, ${estimateNumber(est.value)} now`}.`
    : 'Its change is far beyond that; ours is unchanged by it.';
  return h('p', { class: 'note', 'data-role': 'sampling-noise' }, `Sampling noise: another set of this size from the calibration images' distribution would move ours by about ±${fmt(sn.sd, 2)}. ${what}`);
}
