/**
 * The Timeline panel's entry (dist/timeline.js): takes the host's messages (declared in
 * src/protocol/messages.ts, `hostToTimeline`) and draws them with timelineRender.ts.
 *
 * Its state (`setState`) holds the view choices and `restore`, what the host asked it to
 * remember (`remember`: the files the panel shows): after a window reload VS Code hands the
 * state to the host's serializer, which reads those files again. Nothing drawn is kept.
 */
import { clear, h } from './dom';
import { readTheme, observeTheme } from './theme';
import { parseHostToTimeline, type HostToTimeline, type SavedTimeline, type TimelineToHost } from '../src/protocol/messages';
import type { Comparison, Series } from '../src/engine/series';
import { drawComparison, drawSeries, type TimelineCtx, type UiState } from './timelineRender';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare const acquireVsCodeApi: (() => VsCodeApi) | undefined;
const api = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : undefined;

/** The webview's state: the view choices and what the host asked it to remember. */
interface Persisted extends UiState {
  restore?: SavedTimeline;
}
const persisted = (api?.getState() ?? {}) as Partial<Persisted>;
const ui: UiState = {
  metric: typeof persisted.metric === 'string' ? persisted.metric : 'featureShift',
  split: typeof persisted.split === 'string' ? persisted.split : 'test',
};
/** Kept as it was until the host says otherwise (the host checks it after a reload). */
let restore: SavedTimeline | undefined = persisted.restore;
let shown: { series?: Series; comparison?: Comparison; status?: string } = {};

function save(): void {
  api?.setState({ ...ui, ...(restore ? { restore } : {}) } satisfies Persisted);
}

function ctx(): TimelineCtx {
  return { root: document.getElementById('app')!, theme: readTheme(), post: (m: TimelineToHost) => api?.postMessage(m), ui, saveUi: save, status: shown.status };
}

function redraw(): void {
  if (shown.series) drawSeries(ctx(), shown.series);
  else if (shown.comparison) drawComparison(ctx(), shown.comparison);
  else {
    const root = document.getElementById('app')!;
    clear(root);
    root.append(h('p', { class: 'muted', id: 'timeline-status' }, shown.status ?? 'Waiting for the first checkpoint’s results…'));
    document.body.dataset.state = 'empty';
  }
}

function onMessage(raw: unknown): void {
  const parsed = parseHostToTimeline(raw);
  if (!parsed.ok) {
    console.warn(`UNet Lens timeline: ${parsed.reason}`);
    return;
  }
  const msg: HostToTimeline = parsed.message;
  switch (msg.type) {
    case 'series':
      shown = { series: msg.series, status: msg.status };
      break;
    case 'comparison':
      shown = { comparison: msg.comparison };
      break;
    case 'timelineStatus':
      shown = { ...shown, status: msg.message };
      break;
    case 'remember':
      restore = msg.state;
      save();
      return; // nothing to draw
    default: {
      const unhandled: never = msg;
      console.warn('unhandled', unhandled);
    }
  }
  redraw();
}

observeTheme(redraw);
window.addEventListener('message', (e) => onMessage(e.data));
redraw();
api?.postMessage({ type: 'ready' } satisfies TimelineToHost);
