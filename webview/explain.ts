/**
 * Every metric explained where it is shown (issue 11): what it says in plain words, which way
 * is better, what to do — all from the metric table (src/protocol/metrics.ts); the formula
 * stays in the tooltip. No code keys: the title comes from the table too.
 */
import { directionText, explainText, metricSpec } from '../src/protocol/metrics';
import { h } from './dom';

/** The three lines under a chart of `key` (`k`: neighbours, for the formula's wording). */
export function metricExplain(key: string, k: number): HTMLElement {
  const m = metricSpec(key);
  const formula = explainText(key, k);
  const line = (label: string, text: string | undefined, role: string) =>
    text ? h('p', { class: 'explain-line', 'data-role': role }, h('strong', null, `${label} `), text) : null;
  return h(
    'div',
    { class: 'metric-explain', 'data-metric': key, title: formula },
    line('What it says:', m?.plain ?? formula, 'says'),
    line('Which way:', directionText(key), 'direction'),
    line('What to do:', m?.action, 'todo'),
  );
}
