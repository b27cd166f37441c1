/**
 * "Cases to label": for every split without labels that has per-image estimates (segmentation,
 * METHOD.md §5), its images worst predicted first, the ones the verdict asks to label marked,
 * each of those shown with the model's prediction over it (its thumbnail in results.json), and
 * the list as CSV (the same file the engine writes beside results.json). The order is the
 * point: one image's interval is wide, so each row says how wide.
 *
 * Test hooks: the section has `data-role="cases"`; each split's table `data-split`, each row
 * `data-image` (the image's id), `data-rank` and, for the images the verdict names,
 * `data-label-first`; a thumbnail is a <canvas class="case-thumb"> with `data-image` and
 * `data-predicted` (its pixels predicted as foreground); an image with a confidence map has a
 * "where unsure" button (`data-role="show-map"`) that opens it in "Where is the model unsure".
 */
import type { CaseThumb, ImageEstimate, PerformanceWithoutLabels, Results } from '../../../src/engine/types';
import { casesToLabelCsv } from '../../../src/protocol/cases';
import { cannotTell, estimateText } from '../../../src/protocol/names';
import { exportName } from '../../charts';
import { mapItems } from '../../maps';
import { exportButton, h } from '../../dom';
import { fileSafe } from '../../format';
import { toRgb, type Theme } from '../../theme';
import { perfTitle } from '../../withoutLabels';
import type { ViewContext } from '../context';

/** Rows shown per split; the CSV has them all. */
export const CASES_SHOWN = 50;

/** The splits with per-image estimates, in the results' order, each with its worst-first list. */
export function casesOf(r: Results, p: PerformanceWithoutLabels): { split: string; images: ImageEstimate[]; file: string | null }[] {
  const order = (r.splits ?? []).map((s) => s.name);
  return Object.entries(p.splits ?? {})
    .filter(([, e]) => Array.isArray(e?.perImage) && e.perImage.length > 0)
    .sort(([a], [b]) => order.indexOf(a) - order.indexOf(b))
    .map(([split, e]) => ({ split, images: e.perImage!, file: typeof e.casesToLabel === 'string' ? e.casesToLabel : null }));
}

export class CasesToLabel {
  /** Null when no split has per-image estimates (classification, regression, older results). */
  readonly element: HTMLElement | null;
  private readonly thumbs: { canvas: HTMLCanvasElement; thumb: CaseThumb }[] = [];

  constructor(
    private readonly ctx: ViewContext,
    results: Results,
    pwl: PerformanceWithoutLabels,
  ) {
    const lists = casesOf(results, pwl);
    this.element = lists.length ? this.section(results, pwl, lists) : null;
  }

  private section(r: Results, p: PerformanceWithoutLabels, lists: ReturnType<typeof casesOf>): HTMLElement {
    const m = perfTitle(p.metric);
    return h(
      'section',
      { class: 'section', 'aria-labelledby': 'nl-cases-h', 'data-role': 'cases' },
      h('div', { class: 'section-head' }, h('h2', { id: 'nl-cases-h' }, 'Cases to label')),
      h(
        'p',
        { class: 'hint' },
        `Each image's ${m} as its own output predicts it (per-image estimate), worst first: the first ones are where the model most likely fails, so labelling them tells you most. One image's interval is wide, so read the order more than the numbers. Marked: the images the verdict asks to label, each shown with what the model predicts over it (tinted).`,
      ),
      ...lists.map((l) => this.table(r, p, l)),
    );
  }

  /** A canvas for the thumbnail of `e` (painted by `draw`, with the theme's colours). */
  private thumbCanvas(e: ImageEstimate): HTMLCanvasElement {
    const t = e.thumb!;
    const predicted = t.prediction.filter((v) => v > 0).length;
    const canvas = h('canvas', { class: 'case-thumb', width: t.dims[1], height: t.dims[0], 'data-image': e.id, 'data-predicted': String(predicted), role: 'img', 'aria-label': `${e.id}: the image, with the ${predicted} pixels the model predicts as foreground tinted` });
    this.thumbs.push({ canvas, thumb: t });
    return canvas;
  }

  /** Paints every thumbnail: the grey image, the predicted foreground tinted in the theme's orange. */
  draw(theme: Theme): void {
    const [pr, pg, pb] = toRgb(theme.charts.orange);
    for (const { canvas, thumb } of this.thumbs) {
      const ctx = canvas.getContext?.('2d');
      if (!ctx) continue;
      const [hh, ww] = thumb.dims;
      const img = ctx.createImageData(ww, hh);
      for (let i = 0; i < hh * ww; i++) {
        const g = Math.max(0, Math.min(255, thumb.image[i] ?? 0));
        const k = thumb.prediction[i] > 0 ? 0.55 : 0;
        img.data[i * 4] = g * (1 - k) + pr * k;
        img.data[i * 4 + 1] = g * (1 - k) + pg * k;
        img.data[i * 4 + 2] = g * (1 - k) + pb * k;
        img.data[i * 4 + 3] = 255;
      }
      ctx.putImageData(img, 0, 0);
    }
  }

  private table(r: Results, p: PerformanceWithoutLabels, l: ReturnType<typeof casesOf>[number]): HTMLElement {
    const m = perfTitle(p.metric);
    const first = new Set(r.verdict?.unlabeled.find((v) => v.split === l.split)?.action.images ?? []);
    const mapped = new Set(mapItems(r).filter((m) => m.split === l.split).map((m) => m.image));
    const shown = l.images.slice(0, CASES_SHOWN);
    const rows = shown.map((e, i) => {
      // the engine's grade; for older files without one, the width rule's word
      const word = e.grade ?? (cannotTell(e) ? 'cannot tell' : '');
      const base = e.file.split(/[\\/]/).pop() ?? e.file;
      return h(
        'tr',
        { 'data-image': e.id, 'data-rank': String(i + 1), 'data-label-first': first.has(e.id) ? 'true' : undefined, class: first.has(e.id) ? 'label-first' : undefined },
        h('td', { class: 'num' }, String(i + 1)),
        h('td', { class: 'thumb-cell' }, e.thumb ? this.thumbCanvas(e) : null),
        h(
          'td',
          { title: e.file },
          base,
          first.has(e.id) ? h('span', { class: 'badge' }, 'label first') : null,
          mapped.has(e.id) && this.ctx.showMap
            ? h('button', { type: 'button', class: 'link-btn', 'data-role': 'show-map', 'aria-label': `Where is the model unsure in ${e.id}: its confidence map`, onclick: () => this.ctx.showMap!(l.split, e.id) }, 'where unsure')
            : null,
        ),
        h('td', { class: 'num' }, estimateText(e, e.grade)),
        h('td', { class: `grade-word grade-${word.replace(' ', '-')}` }, word),
      );
    });
    const csvName = l.file ?? `cases-to-label-${fileSafe(l.split)}.csv`;
    return h(
      'div',
      { class: 'card nl-cases', 'data-split': l.split },
      h(
        'div',
        { class: 'card-head' },
        h('h3', null, l.split),
        h('span', { class: 'muted' }, `${l.images.length} image${l.images.length === 1 ? '' : 's'}, worst predicted first`),
        exportButton(`Export ${l.split}'s cases to label as CSV`, () => this.ctx.host.exportCsv(exportName(csvName.replace(/\.csv$/, '')), casesToLabelCsv(p.metric, l.images)), 'CSV'),
      ),
      h(
        'table',
        { class: 'data', 'data-split': l.split },
        h('thead', null, h('tr', null, h('th', { class: 'num' }, '#'), h('th', null, h('span', { class: 'visually-hidden' }, 'Prediction over the image')), h('th', null, 'Image'), h('th', { class: 'num' }, `Predicted ${m}`), h('th', null, 'Reliability'))),
        h('tbody', null, ...rows),
      ),
      h(
        'p',
        { class: 'note' },
        `${l.images.length > CASES_SHOWN ? `The first ${CASES_SHOWN} of ${l.images.length}; the CSV lists them all. ` : ''}${l.file ? `The same list is written beside results.json as ${l.file}.` : ''}`,
      ),
    );
  }
}
