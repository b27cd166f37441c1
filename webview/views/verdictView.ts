/**
 * The verdict: the first thing in the panel and in report.html, above the tabs. It prints the
 * sentences of `results.verdict` (src/engine/verdict.ts) as they are — every number in them
 * comes from the engine — and makes the layers it names clickable (selects the tap
 * everywhere).
 *
 * Test hooks: `section[data-role="verdict"]`; per split `[data-split][data-expect][data-grade]`
 * holding `[data-role="answer"|"foreground"|"moved"|"action"|"gap"|"where"]` whose text is the
 * field of results.json; `data-verdict="none"` when the file has no verdict;
 * `data-calibrating="true"` (and a "calibrating…" mark) on the partial results streamed
 * before the shift sweep is done (`verdict.calibrating`).
 */
import type { Results, UnlabeledVerdict, Verdict } from '../../src/engine/types';
import { shortTapName } from '../../src/protocol/names';
import { h } from '../dom';
import { BaseView } from './view';

const GRADE_TEXT: Record<string, string> = { good: 'reliable', fair: 'rough', 'cannot tell': 'cannot tell' };

export class VerdictView extends BaseView {
  private calibrating = false;

  protected build(results: Results): void {
    const v: Verdict | undefined = results.verdict;
    this.calibrating = v?.calibrating === true;
    this.root.dataset.role = 'verdict';
    this.root.setAttribute('aria-label', 'Verdict');
    if (!v || (!v.unlabeled.length && !v.labeled.length)) {
      this.root.dataset.verdict = 'none';
      this.root.hidden = true;
      return;
    }
    this.root.hidden = false;
    this.root.dataset.verdict = 'shown';
    this.root.dataset.calibrating = String(v.calibrating === true);
    this.root.append(
      h(
        'h2',
        { class: 'verdict-title' },
        'Verdict',
        v.calibrating ? h('span', { class: 'verdict-grade grade-calibrating', 'data-role': 'calibrating', title: 'The shift sweep is still running: the estimates for the splits without labels come when it is done' }, 'calibrating…') : null,
      ),
    );
    for (const u of v.unlabeled) this.root.append(this.unlabeled(u));
    for (const l of v.labeled) {
      this.root.append(
        h(
          'div',
          { class: 'verdict-split labeled', 'data-split': l.split, 'data-expect': l.gap !== null && l.gap > 0.03 ? 'gap' : 'no gap' },
          h('p', { class: 'verdict-line' }, h('span', { 'data-role': 'gap' }, l.sentence)),
          l.whereSentence ? h('p', { class: 'verdict-line muted' }, h('span', { 'data-role': 'where' }, l.whereSentence)) : null,
        ),
      );
    }
  }

  private unlabeled(u: UnlabeledVerdict): HTMLElement {
    const badge = this.calibrating ? h('span', { class: 'verdict-grade grade-calibrating' }, 'calibrating…') : u.grade ? h('span', { class: `verdict-grade grade-${u.grade.replace(' ', '-')}`, title: 'How far the estimate can be trusted, from the width of its interval' }, GRADE_TEXT[u.grade] ?? u.grade) : null;
    const layers = u.movedMost.length
      ? h(
          'span',
          { class: 'verdict-layers' },
          ...u.movedMost.map((m) =>
            h(
              'button',
              { type: 'button', class: 'chip', title: `Show ${shortTapName(m.tap)} in every view`, 'data-tap': m.tap, onclick: () => this.ctx.selectTap(m.tap, false) },
              shortTapName(m.tap),
            ),
          ),
        )
      : null;
    return h(
      'div',
      { class: `verdict-split unlabeled expect-${u.expect.replace(' ', '-')}`, 'data-split': u.split, 'data-expect': u.expect, 'data-grade': u.grade ?? '' },
      h('p', { class: 'verdict-answer' }, badge, h('span', { 'data-role': 'answer' }, u.sentence)),
      u.foregroundSentence ? h('p', { class: 'verdict-line' }, h('span', { 'data-role': 'foreground' }, u.foregroundSentence)) : null,
      h('p', { class: 'verdict-line' }, h('span', { 'data-role': 'moved' }, u.movedSentence), layers),
      h('p', { class: 'verdict-line verdict-action' }, h('strong', null, 'What to do: '), h('span', { 'data-role': 'action' }, u.action.sentence)),
    );
  }

  draw(): void {}

  selectTap(name: string | undefined): void {
    for (const b of Array.from(this.root.querySelectorAll<HTMLElement>('.verdict-layers .chip'))) b.setAttribute('aria-pressed', String(b.dataset.tap === name));
  }
}
