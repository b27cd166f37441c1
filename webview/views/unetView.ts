/**
 * "The U": the taps drawn as the network (encoder down the left by level, bottleneck at the
 * bottom, decoder up the right, skip connections across), each block coloured by the
 * selected metric on the selected split. Clicking a block, or Enter / Space on it, selects
 * that tap in every view; arrow keys, Home and End move between the blocks.
 *
 * SVG, laid out for the width it gets (text stays at the theme's font size) and drawn again
 * when that width or the theme changes. Colours are presentation attributes resolved from
 * the theme, so the PNG export looks like the panel.
 *
 * Test hooks: the <svg> has `data-chart="unet"`, `data-blocks`, `data-metric`,
 * `data-split`, `data-selected`, `data-theme`; each block `data-tap`, `data-value`.
 */
import type { Results, TapInfo } from '../../src/engine/types';
import { exportName } from '../charts';
import { clear, h, dataTable, exportButton } from '../dom';
import { fmt, METRICS, numOrNull, shapeText, shortTapName, splitsInOrder, tapsInOrder, type MetricKey, type SplitDesc } from '../format';
import { decadesSpanned, legendTicks, meaningScale, metricsPresent, metricValues, readableOn, rgbCss, valueAt, type MeaningScale, type RGB } from '../scale';
import { s, svgToPng } from '../svg';
import { fitName } from '../svgCharts';
import { divergingStops, scaleStops, toRgb, type Theme } from '../theme';
import { layoutUnet, moveFocus, type ULayout } from '../unetLayout';
import { BaseView } from './view';
import { metricShort, metricSpec } from '../../src/protocol/metrics';
import { metricExplain } from '../explain';
import { exportFigure } from '../exportStamp';

const LEFT = 92; // level labels
const TOP = 54; // stage labels, and room for the level-0 skip arcs
const LEGEND_H = 104;

export class UnetView extends BaseView {
  private taps: TapInfo[] = [];
  private layout?: ULayout;
  private splits: SplitDesc[] = [];
  private metricSelect?: HTMLSelectElement;
  private splitSelect?: HTMLSelectElement;
  private logBox?: HTMLInputElement;
  private logLabel?: HTMLElement;
  private wrap?: HTMLElement;
  private svg?: SVGSVGElement;
  private detail?: HTMLElement;
  private note?: HTMLElement;

  protected build(results: Results): void {
    this.taps = tapsInOrder(results);
    this.layout = layoutUnet(this.taps);
    this.splits = splitsInOrder(results).filter((sp) => results.metrics?.[sp.name]);
    const store = this.ctx.store;

    const present = metricsPresent(results);
    // The skeleton (partial results before any split is measured): every tap laid out, hollow.
    const skeleton = this.taps.length > 0 && present.length === 0 && !(results.splits ?? []).length;
    if (this.taps.length === 0 || (present.length === 0 && !skeleton)) {
      this.root.append(
        h('section', { class: 'section' }, h('p', { class: 'note empty-state' }, 'These results have no per-tap metrics to draw the network with.')),
      );
      return;
    }
    if (!store.unetMetric || (!skeleton && !present.includes(store.unetMetric))) store.unetMetric = skeleton || present.includes('db') ? 'db' : present[0];
    this.pickSplit();

    this.metricSelect = h(
      'select',
      { id: 'unet-metric' },
      METRICS.map((m) => h('option', { value: m, disabled: !present.includes(m) }, metricShort(m))),
    );
    this.metricSelect.value = store.unetMetric;
    this.metricSelect.addEventListener('change', () => {
      store.unetMetric = this.metricSelect!.value as MetricKey;
      this.pickSplit();
      this.fillSplits();
      store.persist();
      this.draw();
    });
    this.splitSelect = h('select', { id: 'unet-split' });
    this.fillSplits();
    this.splitSelect.addEventListener('change', () => {
      store.unetSplit = this.splitSelect!.value;
      store.persist();
      this.draw();
    });
    this.logBox = h('input', { type: 'checkbox', id: 'unet-log' });
    this.logBox.addEventListener('change', () => {
      const m = store.unetMetric!;
      if (this.logBox!.checked) store.log.add(m);
      else store.log.delete(m);
      store.persist();
      this.draw();
    });
    this.logLabel = h('label', { class: 'check', for: 'unet-log', title: 'Colour by the logarithm of the value (every value must be positive)' }, this.logBox, 'Log colour scale');

    const controls = h(
      'div',
      { class: 'controls', role: 'group', 'aria-label': 'Colour the network by' },
      h('span', { class: 'field' }, h('label', { for: 'unet-metric' }, 'Colour by'), this.metricSelect),
      h('span', { class: 'field' }, h('label', { for: 'unet-split' }, 'on split'), this.splitSelect),
      this.logLabel,
      h('span', { class: 'spacer' }),
      exportButton('Export the network picture as PNG', () => void this.exportPng()),
    );
    this.wrap = h('div', { class: 'unet-wrap' });
    this.note = h('p', { class: 'note', 'data-role': 'unet-note' });
    this.detail = h('div', { class: 'unet-detail', 'aria-live': 'polite' });
    this.root.append(
      h(
        'section',
        { class: 'section', 'aria-labelledby': 'unet-h' },
        h('div', { class: 'section-head' }, h('h2', { id: 'unet-h' }, 'The network, tap by tap')),
        h(
          'p',
          { class: 'hint' },
          'Encoder down the left (one row per resolution level), bottleneck at the bottom, decoder up the right; dashed arrows are skip connections. Each block is a tap, coloured by the metric on the split chosen. Click a block (or Tab to it and press Enter; arrow keys move between blocks) to select that tap in every view.',
        ),
        controls,
        this.wrap,
        this.note,
        this.detail,
      ),
    );
    this.redrawOnResize(this.wrap);
  }

  /** A split that has values for the metric: the one chosen before, else the first that is not train. */
  private pickSplit(): void {
    const r = this.results!;
    const store = this.ctx.store;
    const m = store.unetMetric!;
    const withValues = this.splits.filter((sp) => metricValues(r, m, sp.name).length > 0).map((sp) => sp.name);
    if (store.unetSplit && withValues.includes(store.unetSplit)) return;
    store.unetSplit = withValues.find((n) => n !== 'train') ?? withValues[0] ?? this.splits[0]?.name;
  }

  private fillSplits(): void {
    const r = this.results!;
    const sel = this.splitSelect!;
    const m = this.ctx.store.unetMetric!;
    clear(sel);
    for (const sp of this.splits) {
      const has = metricValues(r, m, sp.name).length > 0;
      sel.append(
        h(
          'option',
          { value: sp.name, disabled: !has },
          `${sp.name}${sp.labeled ? '' : ' (unlabeled)'}${has ? '' : ' — no values'}`,
        ),
      );
    }
    if (this.ctx.store.unetSplit) sel.value = this.ctx.store.unetSplit;
  }

  /** Draws (again) the network with the current theme, metric, split and width. */
  draw(): void {
    if (!this.results || !this.layout || !this.wrap) return;
    const width = this.drawWidth(this.wrap);
    if (width <= 0) return; // hidden: drawn when it gets a size
    const theme = this.ctx.theme();
    const store = this.ctx.store;
    const metric = store.unetMetric!;
    const split = store.unetSplit ?? '';
    const all = metricValues(this.results, metric);
    const spec = metricSpec(metric)!;
    // Feature shift (centred on 1) is always on a log scale about 1; a 0–1 metric on its fixed scale.
    const fixedScale = spec.direction === 'centred-on-1' || spec.unitRange;
    const canLogNow = !fixedScale && all.length > 0 && all.every((v) => v > 0);
    if (this.logBox) {
      this.logBox.disabled = !canLogNow;
      this.logBox.checked = canLogNow && store.log.has(metric);
    }
    const decades = decadesSpanned(all);
    if (this.logLabel) this.logLabel.title = fixedScale
      ? (spec.direction === 'centred-on-1' ? 'Always a log scale centred on 1: 0.5× and 2× are equally far from training' : 'A fixed 0–1 scale: the colours mean the same in every model')
      : canLogNow
        ? `Colour by the logarithm of the value${decades >= 1 ? ` (the values span ${decades.toFixed(1)} orders of magnitude)` : ''}`
        : 'Not available: some values are zero or negative';
    // One scale over every split, so switching splits compares like with like.
    const scale = meaningScale(spec, all, canLogNow && store.log.has(metric));
    const focusedTap = (document.activeElement as Element | null)?.closest?.('[data-tap]')?.getAttribute('data-tap');
    const svg = this.buildSvg(theme, metric, split, scale, width);
    clear(this.wrap);
    this.wrap.append(svg);
    this.svg = svg;
    if (focusedTap) (svg.querySelector(`[data-tap="${cssEscape(focusedTap)}"]`) as SVGGElement | null)?.focus();
    this.updateDetail();
    const sp = this.splits.find((x) => x.name === split);
    const missing = this.layout.blocks.filter((b) => numOrNull(this.results!.metrics?.[split]?.[b.tap.name]?.[metric]) === null).length;
    this.note!.textContent =
      !this.splits.length ? 'The taps are laid out; they are coloured as each split is measured (train first).'
      : metric === 'db' && sp && !sp.labeled ? `${split} has no labels: the Davies–Bouldin index needs them.`
      : missing ? `${missing} of ${this.taps.length} taps have no ${metricShort(metric)} value on ${split} (drawn hollow).`
      : metric === 'knnConfidence' && metricValues(this.results, 'knnConfidenceFg').length > 0
        ? `${metricShort(metric)} is a mean over every location, mostly background: a foreground failure can hide behind it. Colour by ${metricShort('knnConfidenceFg')} for the predicted foreground alone.`
      : '';
    this.note!.hidden = this.note!.textContent === '';
  }

  private buildSvg(theme: Theme, metric: MetricKey, split: string, scale: MeaningScale | null, width: number): SVGSVGElement {
    const L = this.layout!;
    const r = this.results!;
    const fontSize = Math.max(10, Math.round(theme.fontSize * 0.9));
    const colW = Math.max(22, Math.min(76, Math.floor((width - LEFT - 8) / Math.max(1, L.cols))));
    const blockW = Math.max(16, colW - Math.max(4, Math.round(colW * 0.14)));
    const blockH = Math.max(30, Math.round(fontSize * 2.9));
    // Names under the blocks: level when the column is wide enough, else turned 60° (a narrow
    // panel keeps every block's name).
    const slanted = colW < 40;
    const nameFont = fontSize - 2;
    const names = L.blocks.map((b) => (slanted ? (shortTapName(b.tap.name).split('/').pop() ?? '') : fitName(b.tap.name, colW, nameFont)));
    const longest = Math.max(0, ...names.map((n) => n.length));
    const nameH = slanted ? Math.round(longest * nameFont * 0.6 * Math.sin(Math.PI / 3)) + 10 : fontSize + 4;
    const rowH = blockH + nameH + 20;
    const plotW = LEFT + L.cols * colW + 8;
    const plotH = TOP + L.rows * rowH;
    const totalH = plotH + LEGEND_H;
    const cx = (col: number) => LEFT + col * colW + colW / 2;
    const cy = (row: number) => TOP + row * rowH + blockH / 2 + 4;

    const stops = scale?.kind === 'diverging' ? divergingStops(theme) : scaleStops(theme);
    const bgRgb = toRgb(theme.bg);
    const fgRgb = toRgb(theme.fg);
    const colorOf = (v: number | null): RGB | null => {
      if (!scale) return null;
      const t = scale.t(v);
      return t === null ? null : scale.colourAt(t, stops);
    };
    const selected = this.ctx.store.tap;

    const svg = s('svg', {
      class: 'unet-svg',
      viewBox: `0 0 ${plotW} ${totalH}`,
      width: plotW,
      height: totalH,
      role: 'group',
      'aria-label': `The network: ${L.cols} taps coloured by ${metricShort(metric)} on ${split}`,
      'font-family': theme.font,
      'font-size': fontSize,
      'data-chart': 'unet',
      'data-blocks': String(L.blocks.length),
      'data-metric': metric,
      'data-split': split,
      'data-scale-kind': scale?.kind ?? 'none',
      'data-selected': selected ?? '',
      'data-theme': theme.kind,
      'data-bg': theme.bg,
    });
    svg.append(s('rect', { x: 0, y: 0, width: plotW, height: totalH, fill: theme.bg }));

    // marker for the skip arrows
    svg.append(
      s(
        'defs',
        null,
        s(
          'marker',
          { id: 'unet-arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
          s('path', { d: 'M0,0 L10,5 L0,10 z', fill: theme.muted }),
        ),
        this.gradient(stops, scale),
      ),
    );

    // level labels and row guides
    const sides = new Map<number, string>();
    for (const b of L.blocks) if (!sides.has(b.row)) sides.set(b.row, shapeText(b.tap.shape.slice(1)));
    for (let row = 0; row < L.rows; row++) {
      const y = cy(row);
      svg.append(
        s('line', { x1: LEFT - 6, x2: plotW - 4, y1: y, y2: y, stroke: theme.grid, 'stroke-width': 1, 'stroke-dasharray': '1 5' }),
        s('text', { x: 8, y: y - 2, fill: theme.fg, 'dominant-baseline': 'auto' }, `level ${row}`),
        s('text', { x: 8, y: y + fontSize, fill: theme.muted, 'font-size': fontSize - 1 }, sides.get(row) ?? ''),
      );
    }
    // stage labels over their column ranges
    for (const st of L.stages) {
      const x0 = LEFT + st.from * colW;
      const x1 = LEFT + (st.to + 1) * colW;
      svg.append(
        s('line', { x1: x0 + 3, x2: x1 - 3, y1: 22, y2: 22, stroke: theme.border, 'stroke-width': 2 }),
        s('text', { x: (x0 + x1) / 2, y: 17, fill: theme.muted, 'text-anchor': 'middle' }, x1 - x0 > st.stage.length * fontSize * 0.6 ? st.stage : st.stage.slice(0, 3) + '.'),
      );
    }

    // forward flow, then skips, then blocks on top
    const flows = s('g', { 'aria-hidden': 'true' });
    for (const [a, b] of L.flows) {
      const A = L.blocks[a];
      const B = L.blocks[b];
      flows.append(s('line', { x1: cx(A.col), y1: cy(A.row), x2: cx(B.col), y2: cy(B.row), stroke: theme.muted, 'stroke-width': 1.5, 'stroke-opacity': 0.7 }));
    }
    svg.append(flows);
    const skips = s('g', { 'aria-hidden': 'true', 'data-skips': String(L.skips.length) });
    for (const k of L.skips) {
      const y = cy(k.level) - blockH / 2 - 5;
      const x0 = cx(k.from);
      const x1 = cx(k.to);
      const lift = Math.min(16, rowH * 0.25);
      skips.append(
        s('path', {
          d: `M${x0},${y + 4} C${x0},${y - lift} ${x1},${y - lift} ${x1},${y + 1}`,
          fill: 'none',
          stroke: theme.muted,
          'stroke-width': 1.5,
          'stroke-dasharray': '5 4',
          'marker-end': 'url(#unet-arrow)',
          'data-skip': `${k.level}`,
        }),
      );
    }
    svg.append(skips);

    const blocks = s('g', { class: 'unet-blocks' });
    const perTap = r.metrics?.[split] ?? {};
    for (const b of L.blocks) {
      const v = numOrNull(perTap[b.tap.name]?.[metric]);
      const fill = colorOf(v);
      const x = cx(b.col) - blockW / 2;
      const y = cy(b.row) - blockH / 2;
      const isSel = b.tap.name === selected;
      const label = shortTapName(b.tap.name, 40);
      const rf = b.tap.receptiveField;
      const desc = `${label}: ${metricShort(metric)} ${v === null ? 'no value' : fmt(v)} on ${split}. ${b.tap.op}, ${b.tap.stage} level ${b.tap.level}, shape ${shapeText(b.tap.shape)}${rf ? `, receptive field ${rf.size} px` : ''}.`;
      const textColor = fill ? readableOn(fill, fgRgb, bgRgb) : fgRgb;
      const g = s(
        'g',
        {
          class: `ublock${isSel ? ' selected' : ''}`,
          'data-tap': b.tap.name,
          'data-col': b.col,
          'data-value': v === null ? '' : String(v),
          'data-tone': scale ? scale.tone(v) : 'none',
          role: 'button',
          tabindex: isSel || (!selected && b.col === 0) ? 0 : -1,
          'aria-pressed': isSel ? 'true' : 'false',
          'aria-label': desc,
          onclick: () => this.choose(b.tap.name),
          onkeydown: (ev) => this.onKey(ev as KeyboardEvent, b.col),
        },
        s('title', null, `${b.tap.name}\nop ${b.tap.op} · shape ${shapeText(b.tap.shape)}\n${b.tap.stage}, level ${b.tap.level}${rf ? ` · receptive field ${rf.size} px (step ${rf.jump})` : ''}\n${metricShort(metric)} on ${split}: ${v === null ? 'no value' : fmt(v)}`),
        s('rect', {
          class: 'frame',
          x: x - 3,
          y: y - 3,
          width: blockW + 6,
          height: blockH + 6,
          rx: 5,
          fill: 'none',
          stroke: isSel ? theme.focus : 'none',
          'stroke-width': isSel ? 2.5 : 0,
        }),
        s('rect', {
          class: 'body',
          x,
          y,
          width: blockW,
          height: blockH,
          rx: 3,
          fill: fill ? rgbCss(fill) : theme.bg,
          stroke: fill ? (theme.kind === 'high-contrast' ? theme.fg : rgbCss(fill)) : theme.muted,
          'stroke-width': fill ? 1 : 1.2,
          'stroke-dasharray': fill ? undefined : '3 2',
        }),
        // the value across the block, or up it when the block is too narrow (a narrow panel keeps every value)
        blockW >= 26
          ? s('text', { class: 'value', x: cx(b.col), y: cy(b.row), fill: rgbCss(textColor), 'text-anchor': 'middle', 'dominant-baseline': 'central', 'font-size': blockW >= 40 ? fontSize : fontSize - 2, 'pointer-events': 'none' }, v === null ? '—' : fmt(v, blockW >= 44 ? 3 : 2))
          : s('text', { class: 'value', x: cx(b.col), y: cy(b.row), fill: rgbCss(textColor), 'text-anchor': 'middle', 'dominant-baseline': 'central', 'font-size': Math.max(9, Math.min(fontSize - 2, blockW - 5)), transform: `rotate(-90 ${cx(b.col)} ${cy(b.row)})`, 'pointer-events': 'none' }, v === null ? '—' : fmt(v, 2)),
        slanted
          ? s('text', { class: 'name', x: cx(b.col), y: y + blockH + 6, fill: isSel ? theme.fg : theme.muted, 'text-anchor': 'end', 'dominant-baseline': 'hanging', transform: `rotate(-60 ${cx(b.col)} ${y + blockH + 6})`, 'font-size': nameFont, 'pointer-events': 'none', 'font-weight': isSel ? 600 : 400 }, names[L.blocks.indexOf(b)])
          : s('text', { class: 'name', x: cx(b.col), y: y + blockH + fontSize + 2, fill: isSel ? theme.fg : theme.muted, 'text-anchor': 'middle', 'font-size': nameFont, 'pointer-events': 'none', 'font-weight': isSel ? 600 : 400 }, names[L.blocks.indexOf(b)]),
      );
      blocks.append(g);
    }
    svg.append(blocks);

    this.legend(svg, theme, metric, scale, plotH, plotW, fontSize);
    return svg;
  }

  private gradient(stops: RGB[], scale: MeaningScale | null): SVGElement {
    const grad = s('linearGradient', { id: 'unet-legend-grad', x1: 0, x2: 1, y1: 0, y2: 0 });
    if (!scale) return grad;
    for (let i = 0; i <= 40; i++) {
      const t = i / 40;
      grad.append(s('stop', { offset: t, 'stop-color': rgbCss(scale.colourAt(t, stops)) }));
    }
    return grad;
  }

  private legend(svg: SVGSVGElement, theme: Theme, metric: MetricKey, scale: MeaningScale | null, top: number, plotW: number, fontSize: number): void {
    const barW = Math.min(360, Math.max(120, plotW - LEFT - 100));
    const x = LEFT;
    const y = top + 14;
    const g = s('g', { 'data-role': 'legend', 'aria-hidden': 'true', 'data-scale-kind': scale?.kind ?? 'none', 'data-ends': scale ? scale.ends.join('|') : '' });
    g.append(s('text', { x: 8, y: y + 11, fill: theme.muted }, 'colour'));
    if (!scale) {
      g.append(s('text', { x, y: y + 11, fill: theme.muted }, 'no values'));
      svg.append(g);
      return;
    }
    const domain = scale.domain;
    g.append(s('rect', { x, y, width: barW, height: 12, fill: 'url(#unet-legend-grad)', stroke: theme.border, 'stroke-width': 1 }));
    const ticks =
      scale.kind === 'diverging' ? [domain.min, scale.band ? valueAt(scale.band[0], domain) : 0.8, 1, scale.band ? valueAt(scale.band[1], domain) : 1.25, domain.max]
      : legendTicks(domain, 5);
    ticks.forEach((v, i) => {
      const tx = x + barW * (scale.t(v) ?? i / (ticks.length - 1));
      g.append(
        s('line', { x1: tx, x2: tx, y1: y + 12, y2: y + 16, stroke: theme.muted }),
        s('text', { x: tx, y: y + 17 + fontSize, fill: theme.fg, 'text-anchor': i === 0 ? 'start' : i === ticks.length - 1 ? 'end' : 'middle', 'font-size': fontSize - 1 }, scale.kind === 'diverging' ? (i === 0 ? `≤ ${fmt(v, 2)}` : i === 4 ? `≥ ${fmt(v, 2)}` : i === 2 ? '1' : '') : fmt(v, 2)),
      );
    });
    if (scale.band) {
      const bx0 = x + barW * scale.band[0];
      const bx1 = x + barW * scale.band[1];
      g.append(s('rect', { x: bx0, y: y - 1, width: bx1 - bx0, height: 14, fill: 'none', stroke: theme.fg, 'stroke-width': 1, 'stroke-dasharray': '2 2' }));
    }
    // the words at the ends (and the middle, when they fit on one line)
    const roomy = (scale.ends.join('   ').length + 6) * (fontSize - 1) * 0.56 < barW;
    const ends = roomy ? scale.ends : scale.ends.map((e) => e.replace(/^unusual: /, ''));
    g.append(
      s('text', { x, y: y - 4, fill: theme.muted, 'font-size': fontSize - 1 }, ends[0]),
      s('text', { x: x + barW, y: y - 4, fill: theme.muted, 'text-anchor': 'end', 'font-size': fontSize - 1 }, ends[2]),
      ...(roomy ? [s('text', { x: x + barW * 0.5, y: y - 4, fill: theme.fg, 'text-anchor': 'middle', 'font-size': fontSize - 1 }, scale.kind === 'diverging' ? ends[1] : metricShort(metric))] : []),
      // the note on one line, or one part per line in a narrow panel
      s(
        'text',
        { x, y: y + 34 + fontSize, fill: theme.muted, 'font-size': fontSize - 1, 'data-role': 'scale-note' },
        ...(scale.note.length * (fontSize - 1) * 0.55 > plotW - x - 4
          ? scale.note.split(' · ').map((part, i) => s('tspan', { x, dy: i === 0 ? 0 : fontSize + 1 }, part))
          : [scale.note]),
      ),
    );
    // the "no value" swatch
    const nx = x + barW + 14;
    g.append(
      s('rect', { x: nx, y: y + 1, width: 14, height: 10, fill: theme.bg, stroke: theme.muted, 'stroke-dasharray': '3 2' }),
      s('text', { x: nx + 20, y: y + 10, fill: theme.muted, 'font-size': fontSize - 1 }, 'no value'),
    );
    svg.append(g);
  }

  private onKey(ev: KeyboardEvent, col: number): void {
    if (ev.key === 'Enter' || ev.key === ' ') {
      ev.preventDefault();
      const tap = this.layout?.blocks[col]?.tap.name;
      if (tap) this.choose(tap);
      return;
    }
    const next = moveFocus(col, ev.key, this.layout?.cols ?? 0);
    if (next === null || next === col) return;
    ev.preventDefault();
    const blocks = this.svg?.querySelectorAll<SVGGElement>('g.ublock');
    if (!blocks) return;
    blocks.forEach((b, i) => b.setAttribute('tabindex', i === next ? '0' : '-1'));
    blocks[next]?.focus();
  }

  private choose(tap: string): void {
    this.ctx.selectTap(tap, false);
  }

  /** Moves the selection outline (no re-layout); the tap is already in the store. */
  override selectTap(name: string | undefined): void {
    if (!this.svg) return;
    const theme = this.ctx.theme();
    this.svg.setAttribute('data-selected', name ?? '');
    this.svg.querySelectorAll<SVGGElement>('g.ublock').forEach((g) => {
      const on = g.getAttribute('data-tap') === name;
      g.classList.toggle('selected', on);
      g.setAttribute('aria-pressed', on ? 'true' : 'false');
      const frame = g.querySelector('rect.frame');
      frame?.setAttribute('stroke', on ? theme.focus : 'none');
      frame?.setAttribute('stroke-width', on ? '2.5' : '0');
      const name2 = g.querySelector('text.name');
      if (name2) {
        name2.setAttribute('fill', on ? theme.fg : theme.muted);
        name2.setAttribute('font-weight', on ? '600' : '400');
      }
      if (on) g.setAttribute('tabindex', '0');
      else if (g !== document.activeElement) g.setAttribute('tabindex', '-1');
    });
    this.updateDetail();
  }

  private updateDetail(): void {
    const d = this.detail;
    const r = this.results;
    if (!d || !r) return;
    clear(d);
    const tap = this.taps.find((t) => t.name === this.ctx.store.tap);
    if (!tap) return;
    const metric = this.ctx.store.unetMetric!;
    const rf = tap.receptiveField;
    const row = (label: string, value: string) => h('div', { class: 'kv' }, h('dt', null, label), h('dd', null, value));
    d.append(
      h(
        'div',
        { class: 'unet-detail-head' },
        h('h3', { class: 'tap-name' }, shortTapName(tap.name, 60)),
        h(
          'button',
          { type: 'button', class: 'btn secondary', onclick: () => this.ctx.selectTap(tap.name, true) },
          'Open in Tap view',
        ),
      ),
      h(
        'div',
        { class: 'unet-detail-body' },
        h(
          'dl',
          { class: 'kv-list' },
          row('Name', tap.name),
          row('Op', tap.op),
          row('Where', `${tap.stage}, level ${tap.level} (tap ${this.taps.indexOf(tap) + 1} of ${this.taps.length})`),
          row('Shape', shapeText(tap.shape)),
          row('Receptive field', rf ? `${rf.size} px, step ${rf.jump} px` : 'unknown'),
        ),
        dataTable(
          'data',
          `${metricShort(metric)} at this tap per split`,
          h('tr', null, h('th', { scope: 'col' }, 'Split'), h('th', { scope: 'col', class: 'num' }, metricShort(metric))),
          this.splits.map((sp) =>
            h(
              'tr',
              { class: sp.name === this.ctx.store.unetSplit ? 'current' : undefined },
              h('th', { scope: 'row' }, sp.labeled ? sp.name : `${sp.name} (unlabeled)`),
              h('td', { class: 'num' }, fmt(r.metrics?.[sp.name]?.[tap.name]?.[metric])),
            ),
          ),
        ),
      ),
      metricExplain(metric, r.settings?.k ?? 10),
    );
  }

  private async exportPng(): Promise<void> {
    if (!this.svg) return;
    const theme = this.ctx.theme();
    try {
      const url = await svgToPng(this.svg, theme.bg, 2);
      await exportFigure(this.ctx, exportName(`unet-${this.ctx.store.unetMetric}-${this.ctx.store.unetSplit}`), url, { title: `The U coloured by ${metricSpec(this.ctx.store.unetMetric ?? '')?.title ?? this.ctx.store.unetMetric}`, split: this.ctx.store.unetSplit });
    } catch (e) {
      console.error('UNet Lens: PNG export of the network failed', e);
    }
  }

  protected override teardown(): void {
    this.svg = undefined;
    this.wrap = undefined;
  }
}

function cssEscape(s: string): string {
  return typeof CSS !== 'undefined' && CSS.escape ? CSS.escape(s) : s.replace(/["\\]/g, '\\$&');
}
