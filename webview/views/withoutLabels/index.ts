/**
 * "Without labels" (METHOD.md §5): how well the model will do on data nobody labelled,
 * drawn from `results.performanceWithoutLabels`, one widget per file:
 *
 *  1. heatStrip.ts: which taps are indicative (Spearman ρ per tap and label-free metric);
 *  2. shiftScatter.ts: predicted versus true on the shifted copies, with the baselines;
 *  3. estimates.ts: every split without labels, its estimate and interval beside the baselines';
 *  4. cases.ts: per split without labels, its images worst predicted first (cases to label).
 * Without the section: a message saying why (no labelled split, or the sweep was off).
 *
 * Test hooks: the view's root has `data-shifts` (copies) and, without the section,
 * `data-empty="without-labels"` and `data-reason` (`no-labels` | `off`); the widgets
 * describe theirs.
 */
import type { PerformanceWithoutLabels, Results } from '../../../src/engine/types';
import { h } from '../../dom';
import { absence, FAMILY_TITLES, perfTitle, shiftFamilies, withoutLabels } from '../../withoutLabels';
import { BaseView } from '../view';
import { CasesToLabel } from './cases';
import { Estimates } from './estimates';
import { HeatStrip } from './heatStrip';
import { ShiftScatter } from './shiftScatter';

export class WithoutLabelsView extends BaseView {
  private strip?: HeatStrip;
  private scatter?: ShiftScatter;
  private estimates?: Estimates;
  private cases?: CasesToLabel;

  protected build(results: Results): void {
    const p = withoutLabels(results);
    delete this.root.dataset.empty;
    delete this.root.dataset.reason;
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
          relatedWarnings(results),
        ),
      );
      return;
    }
    this.strip = new HeatStrip(this.ctx, results, p);
    this.scatter = new ShiftScatter(this.ctx, p);
    this.estimates = new Estimates(this.ctx, results, p);
    this.cases = new CasesToLabel(this.ctx, results, p);
    const cases = this.cases.element;
    this.root.append(
      h('section', { class: 'section', 'aria-labelledby': 'nl-h' }, head, h('p', { class: 'hint' }, calibrationText(p)), relatedWarnings(results)),
      // the answer first: the estimates of the splits without labels and the images to label
      // next, then how they were made
      this.estimates.element,
      ...(cases ? [cases] : []),
      this.strip.element,
      this.scatter.element,
    );
    this.redrawOnResize(this.strip.wrap);
  }

  /** Draws (again) everything with the current theme and width. */
  draw(): void {
    const width = this.drawWidth(this.strip?.wrap);
    if (!this.strip || width <= 0) return; // hidden: drawn when shown
    const theme = this.ctx.theme();
    this.strip.draw(theme, width);
    this.scatter?.draw(theme);
    this.estimates?.draw(theme);
    this.cases?.draw(theme);
  }

  /** Moves the selected-tap outline of the heat strip. */
  override selectTap(_name: string | undefined): void {
    const width = this.strip?.wrap.clientWidth ?? 0;
    if (width > 0) this.strip?.draw(this.ctx.theme(), width);
  }

  protected override teardown(): void {
    this.scatter?.destroy();
    this.strip = undefined;
    this.scatter = undefined;
    this.estimates = undefined;
    this.cases = undefined;
  }
}

/** Where the calibration copies come from, in one paragraph. */
function calibrationText(p: PerformanceWithoutLabels): string {
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

/** The results' warnings about the shift sweep and the predictors. */
function relatedWarnings(r: Results): HTMLElement | null {
  const w = (r.warnings ?? []).filter((x) => /shift|without labels|calibrat|predictor/i.test(x));
  if (!w.length) return null;
  return h('details', { class: 'warnings' }, h('summary', null, `${w.length} warning${w.length > 1 ? 's' : ''} about this part`), h('ul', null, w.map((x) => h('li', null, x))));
}
