/**
 * Entry of the UNet Lens panel (bundled into dist/webview.js, browser, iife).
 *
 * Two modes:
 *  - in VS Code (`acquireVsCodeApi` exists): posts `ready`, then draws the `results`
 *    messages it receives and shows `status` messages (loading / error / stale); the view
 *    choices and the `source` are kept with `setState` (the host's serializer reads
 *    `source` after a window reload), and the host posts the results again after every
 *    `ready`, so a hidden and restored panel draws again;
 *  - in the offline report: reads the results embedded in
 *    `<script type="application/json" id="unetlens-results">` and draws them at load.
 *
 * It draws only what results.json says; it never computes a metric.
 *
 * Test hooks (a contract with the end-to-end tests): on <body>, `data-state`
 * (empty|loading|ready|error|stale), `data-taps`, `data-splits`, `data-metrics`,
 * `data-view`, `data-cached`, `data-theme` and `data-redraws` (counts theme redraws); on
 * each metric canvas `data-chart`, `data-series` and `data-scale`; on the PCA canvas
 * `data-chart="pca"`, `data-tap` and `data-points`; The U, the map, the splits plot and
 * the "Without labels" view describe theirs in their own files. Every chart carries
 * `data-theme` and `data-bg`, the theme it was last drawn with.
 */
import type { Results } from '../src/engine/types';
import { parseHostToWebview } from '../src/protocol/messages';
import { clear, h } from './dom';
import { baseName } from './format';
import { createHost } from './host';
import { isViewId, Store, VIEWS, type ViewId } from './state';
import { observeTheme, readTheme } from './theme';
import type { ViewContext } from './views/context';
import type { View } from './views/view';
import { MapsView } from './views/mapsView';
import { OverviewView } from './views/overview';
import { SplitsView } from './views/splitsView';
import { TapView } from './views/tapView';
import { UnetView } from './views/unetView';
import { VerdictView } from './views/verdictView';
import { WithoutLabelsView } from './views/withoutLabels';

function start(): void {
  const host = createHost();
  const store = new Store(host);
  const body = document.body;
  body.dataset.mode = host.mode;

  if (host.mode === 'report') applyReportTheme();

  // ---------------------------------------------------------------- layout
  const app = document.getElementById('app') ?? body.appendChild(h('div', { id: 'app' }));
  clear(app);
  const titleModel = h('span', { class: 'title-model' });
  const titleSource = h('span', { class: 'title-source' });
  const actions = h('div', { class: 'title-actions' });
  if (host.mode === 'vscode') {
    actions.append(
      h(
        'button',
        {
          type: 'button',
          class: 'btn secondary',
          title: 'Save a self-contained HTML report of these results (it opens offline, in any browser)',
          onclick: () => host.post({ type: 'exportReport' }),
        },
        'Export report…',
      ),
      h(
        'button',
        { type: 'button', class: 'btn secondary', title: 'Open the HTML report of these results in the browser', onclick: () => host.post({ type: 'openReport' }) },
        'Open report',
      ),
    );
  }
  const statusArea = h('div', { class: 'status-area', role: 'status', 'aria-live': 'polite' });
  const placeholder = h('div', { class: 'placeholder' });
  const tabList = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Views' });
  const panels = {} as Record<ViewId, HTMLElement>;
  const tabs = {} as Record<ViewId, HTMLButtonElement>;
  for (const v of VIEWS) {
    tabs[v.id] = h(
      'button',
      { type: 'button', role: 'tab', id: `tab-${v.id}`, 'aria-controls': `view-${v.id}`, 'aria-label': v.title, title: v.title, class: 'tab', onclick: () => showView(v.id, true) },
      h('span', { class: `tab-full${v.short ? ' has-short' : ''}` }, v.title),
      v.short ? h('span', { class: 'tab-short', 'aria-hidden': 'true' }, v.short) : null,
    );
    tabList.append(tabs[v.id]);
    panels[v.id] = h('div', { role: 'tabpanel', id: `view-${v.id}`, 'aria-labelledby': `tab-${v.id}`, class: 'view', tabindex: -1 });
  }
  tabList.addEventListener('keydown', (ev) => {
    const ids = VIEWS.map((v) => v.id);
    const i = ids.indexOf(store.view);
    const next =
      ev.key === 'ArrowRight' ? ids[(i + 1) % ids.length]
      : ev.key === 'ArrowLeft' ? ids[(i - 1 + ids.length) % ids.length]
      : ev.key === 'Home' ? ids[0]
      : ev.key === 'End' ? ids[ids.length - 1]
      : undefined;
    if (next) {
      ev.preventDefault();
      showView(next, true);
      tabs[next].focus();
    }
  });
  // The answer first: the verdict sits above the tabs, whatever view is chosen.
  const verdictRoot = h('section', { class: 'verdict', id: 'verdict' });
  const main = h('main', { class: 'results' }, verdictRoot, tabList, ...VIEWS.map((v) => panels[v.id]));
  app.append(
    h('header', { class: 'titlebar' }, h('h1', null, 'UNet Lens', titleModel), titleSource, actions),
    statusArea,
    placeholder,
    main,
  );

  // ---------------------------------------------------------------- views
  const ctx: ViewContext = {
    host,
    store,
    theme: readTheme,
    selectTap(name, reveal) {
      if (store.tap !== name) {
        store.tap = name;
        store.persist();
        host.post({ type: 'selectTap', tap: name });
        body.dataset.tap = name;
        for (const v of allViews) v.selectTap(name);
      }
      if (reveal) showView('tap', true);
    },
    showMap(split, image) {
      maps.show(split, image);
      showView('maps', true);
      // from far down another view (the cases to label): the view's top, its controls and the image
      panels.maps.scrollIntoView({ block: 'start' });
    },
  };
  const overview = new OverviewView(panels.overview, ctx);
  const maps = new MapsView(panels.maps, ctx);
  const views: Record<ViewId, View> = {
    overview,
    unet: new UnetView(panels.unet, ctx),
    tap: new TapView(panels.tap, ctx),
    maps,
    splits: new SplitsView(panels.splits, ctx),
    withoutLabels: new WithoutLabelsView(panels.withoutLabels, ctx),
  };
  const verdict = new VerdictView(verdictRoot, ctx);
  const allViews: View[] = [verdict, ...VIEWS.map((v) => views[v.id])];
  /** Views drawn while hidden (no size yet): drawn again when shown. */
  const needsDraw = new Set<ViewId>();

  function showView(id: ViewId, persist: boolean): void {
    store.view = id;
    body.dataset.view = id;
    for (const v of VIEWS) {
      const on = v.id === id;
      tabs[v.id].setAttribute('aria-selected', String(on));
      tabs[v.id].tabIndex = on ? 0 : -1;
      panels[v.id].hidden = !on;
    }
    if (needsDraw.has(id) && store.results) {
      needsDraw.delete(id);
      views[id].draw();
    }
    if (persist) store.persist();
  }

  function setHooks(taps: number, splits: number, metrics: string[]): void {
    body.dataset.taps = String(taps);
    body.dataset.splits = String(splits);
    body.dataset.metrics = metrics.join(',');
  }

  function renderStatus(): void {
    body.dataset.state = store.state;
    body.dataset.cached = String(store.state === 'ready' && store.cached);
    clear(statusArea);
    const rerun = () =>
      h('button', { type: 'button', class: 'btn', onclick: () => host.post({ type: 'rerun' }) }, 'Re-run');
    if (store.state === 'loading') {
      statusArea.append(
        h('div', { class: 'banner loading' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('span', null, store.message || 'Analyzing…')),
      );
    } else if (store.state === 'error') {
      statusArea.append(
        h(
          'div',
          { class: 'banner error', role: 'alert' },
          h('span', { class: 'banner-text' }, h('strong', null, 'Analysis failed: '), store.message),
          host.mode === 'vscode' ? rerun() : null,
        ),
      );
    } else if (store.state === 'ready' && store.cached && host.mode === 'vscode') {
      statusArea.append(
        h(
          'div',
          { class: 'banner cached', 'data-role': 'cached' },
          h(
            'span',
            { class: 'banner-text' },
            h('strong', null, 'Cached results'),
            ` from ${whenText(store.results?.createdAt)}: the model file, the dataset file and the settings are the same as then.`,
          ),
          rerun(),
        ),
      );
    } else if (store.state === 'stale') {
      statusArea.append(
        h(
          'div',
          { class: 'banner stale' },
          h(
            'span',
            { class: 'banner-text' },
            h('strong', null, 'The model file changed on disk'),
            store.message ? ` — ${store.message}` : '',
            store.results ? ' — these results are from the previous version.' : '',
          ),
          rerun(),
        ),
      );
    }
    placeholder.textContent =
      store.results ? ''
      : store.state === 'empty' ? 'No results yet. Run “UNet Lens: Analyze Generalization” on a model file to see how its layers separate the classes.'
      : store.state === 'loading' ? 'The analysis is running; the charts appear when it is done.'
      : '';
    placeholder.hidden = !!store.results || placeholder.textContent === '';
  }

  function renderResults(): void {
    const r = store.results;
    actions.hidden = !r;
    if (!r) {
      for (const v of allViews) v.destroy();
      main.hidden = true;
      titleModel.textContent = '';
      titleSource.textContent = '';
      setHooks(0, 0, []);
      return;
    }
    main.hidden = false;
    titleModel.textContent = ` — ${baseName(r.model?.path ?? '')}`;
    // The file shown, short (its folder and name; the whole path as the tooltip); nothing for
    // the extension's own results cache, whose path says nothing to the user.
    const inCache = /[\\/]unetlens\.unet-lens[\\/]results[\\/]/.test(store.source);
    const parts = store.source.split(/[\\/]/).filter(Boolean);
    titleSource.textContent = store.source && !inCache ? parts.slice(-2).join('/') : '';
    titleSource.title = store.source;
    // Show the view first: charts size themselves from their (visible) container.
    showView(store.view, false);
    body.dataset.tap = store.tap ?? '';
    try {
      for (const v of allViews) v.render(r);
      needsDraw.clear();
      for (const v of VIEWS) if (v.id !== store.view) needsDraw.add(v.id);
      const summary = overview.summary;
      setHooks(summary.taps, summary.splits, summary.metrics);
    } catch (e) {
      console.error('UNet Lens: could not draw these results', e);
      store.setStatus('error', `Could not draw these results: ${e instanceof Error ? e.message : String(e)}`);
      renderStatus();
    }
  }

  let redraws = 0;
  function redraw(): void {
    body.dataset.theme = readTheme().kind;
    if (!store.results) return;
    const y = window.scrollY;
    // The visible view now, the others when they are shown.
    views[store.view].draw();
    needsDraw.clear();
    for (const v of VIEWS) if (v.id !== store.view) needsDraw.add(v.id);
    body.dataset.redraws = String(++redraws);
    window.scrollTo(0, y);
  }
  body.dataset.theme = readTheme().kind;

  observeTheme(redraw);

  // ---------------------------------------------------------------- go
  if (host.mode === 'report') {
    const embedded = document.getElementById('unetlens-results');
    applyHash(store);
    try {
      const results = JSON.parse(embedded?.textContent ?? 'null') as Results | null;
      if (!results || results.schema !== 'unet-lens/results@1') throw new Error('no results of schema unet-lens/results@1 in this page');
      store.setResults(results, '', false);
    } catch (e) {
      store.setStatus('error', e instanceof Error ? e.message : String(e));
    }
    renderStatus();
    renderResults();
    return;
  }

  window.addEventListener('message', (ev: MessageEvent) => {
    const parsed = parseHostToWebview(ev.data);
    if (!parsed.ok) {
      console.warn(`UNet Lens: ignored a message from the host: ${parsed.reason}`);
      return;
    }
    const m = parsed.message;
    if (m.type === 'results') {
      // The host's tap: the one last selected in a panel of this model (a new panel opens at it).
      if (m.tap !== undefined) store.tap = m.tap;
      store.setResults(m.results, m.source, true, m.cached === true);
      renderStatus();
      renderResults();
    } else if (m.type === 'partial') {
      // Results still being computed: drawn as they are, under the loading banner.
      const message = store.message;
      store.setResults(m.results, '', false, false);
      store.setStatus('loading', m.stage === 'calibrating' ? 'Calibrating the performance predictor…' : message || 'Analyzing…');
      renderStatus();
      renderResults();
    } else if (m.type === 'status') {
      store.setStatus(m.state, m.message);
      renderStatus();
    } else {
      const unhandled: never = m; // a new host message must be handled here
      console.warn('UNet Lens: unhandled message from the host', unhandled);
    }
  });
  // The view choices come back from the state; the results come from the host after `ready`.
  store.restore();
  if (store.source) store.setStatus('loading', 'Opening the results…');
  renderStatus();
  setHooks(0, 0, []);
  main.hidden = true;
  actions.hidden = true;
  host.post({ type: 'ready' });
}

function whenText(iso: string | undefined): string {
  if (!iso) return 'an earlier run';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** The report honours `?theme=light|dark` (else the OS setting, through CSS). */
function applyReportTheme(): void {
  const theme = new URLSearchParams(location.search).get('theme');
  const root = document.documentElement;
  root.classList.add('unetlens-report');
  if (theme === 'dark' || theme === 'light') root.classList.add(`theme-${theme}`);
}

/** The report honours `#view=tap&tap=<name>&pc3=1` (deep links, screenshots). */
function applyHash(store: Store): void {
  const p = new URLSearchParams(location.hash.replace(/^#/, ''));
  const view = p.get('view');
  if (isViewId(view)) store.view = view;
  const tap = p.get('tap');
  if (tap) store.tap = tap;
  if (p.get('pc3') === '1') store.pc3 = true;
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
