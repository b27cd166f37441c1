/**
 * What the panel shows, and its persistence: in VS Code the chosen view, tap, metric,
 * split, image and toggles live in `vscode.setState` together with `source` (the
 * results.json the panel shows), so a hidden and restored panel, or one brought back after
 * a window reload by the host's serializer, opens where the user left it. The results
 * themselves are not in the state (they can be many megabytes): the host posts them again
 * whenever the webview (re)loads and says `ready`.
 */
import type { Results } from '../src/engine/types';
import { METRICS, type MetricKey } from './format';
import type { Host } from './host';

export type PanelState = 'empty' | 'loading' | 'ready' | 'error' | 'stale';
export type ViewId = 'overview' | 'unet' | 'tap' | 'maps' | 'splits' | 'withoutLabels';
/** The views, in tab order; `short`: the tab's text in a narrow panel (the full title stays its accessible name). */
export const VIEWS: { id: ViewId; title: string; short?: string }[] = [
  { id: 'overview', title: 'Overview' },
  { id: 'unet', title: 'The U' },
  { id: 'tap', title: 'Tap view' },
  { id: 'maps', title: 'Where is the model unsure', short: 'Where unsure' },
  { id: 'splits', title: 'Splits' },
  { id: 'withoutLabels', title: 'Without labels' },
];
const VIEW_IDS = VIEWS.map((v) => v.id);

export function isViewId(v: unknown): v is ViewId {
  return typeof v === 'string' && (VIEW_IDS as string[]).includes(v);
}

export function isMetricKey(v: unknown): v is MetricKey {
  return typeof v === 'string' && (METRICS as readonly string[]).includes(v);
}

interface Persisted {
  v: 2;
  source?: string;
  view: ViewId;
  tap?: string;
  pc3: boolean;
  log: MetricKey[];
  unetMetric?: MetricKey;
  unetSplit?: string;
  mapSplit?: string;
  mapImage?: string;
  mapOpacity: number;
  mapLabel: boolean;
  mapPrediction: boolean;
  nlBaselines?: boolean;
}

export class Store {
  results: Results | undefined;
  source = '';
  /** The host found these results in its cache (same model, dataset file and settings). */
  cached = false;
  state: PanelState = 'empty';
  /** Text of the loading / error / stale status. */
  message = '';
  view: ViewId = 'overview';
  tap: string | undefined;
  /** PCA scatter: PC3 (instead of PC2) on the y axis. */
  pc3 = false;
  /** Metrics drawn on a log axis (Overview) and log colour scale (The U). */
  log = new Set<MetricKey>();
  /** The U: metric and split that colour the blocks. */
  unetMetric: MetricKey | undefined;
  unetSplit: string | undefined;
  /** Where is the model unsure: split, image, overlay opacity, contours. */
  mapSplit: string | undefined;
  mapImage: string | undefined;
  mapOpacity = 0.3;
  mapLabel = true;
  mapPrediction = true;
  /** Without labels: the baselines' predictions in the predicted-versus-true scatter. */
  nlBaselines = false;

  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly host: Host) {}

  /**
   * Takes back what a previous instance of this panel saved: the view choices and the
   * source. Results never come from the state (the host sends them after `ready`).
   */
  restore(): boolean {
    const s = this.host.getState() as (Omit<Partial<Persisted>, 'v'> & { v?: number }) | undefined;
    if (!s || typeof s !== 'object' || (s.v !== 1 && s.v !== 2)) return false;
    if (isViewId(s.view)) this.view = s.view;
    if (typeof s.tap === 'string') this.tap = s.tap;
    if (typeof s.source === 'string') this.source = s.source;
    this.pc3 = s.pc3 === true;
    if (Array.isArray(s.log)) this.log = new Set(s.log.filter(isMetricKey));
    if (isMetricKey(s.unetMetric)) this.unetMetric = s.unetMetric;
    if (typeof s.unetSplit === 'string') this.unetSplit = s.unetSplit;
    if (typeof s.mapSplit === 'string') this.mapSplit = s.mapSplit;
    if (typeof s.mapImage === 'string') this.mapImage = s.mapImage;
    if (typeof s.mapOpacity === 'number' && s.mapOpacity >= 0 && s.mapOpacity <= 1) this.mapOpacity = s.mapOpacity;
    if (typeof s.mapLabel === 'boolean') this.mapLabel = s.mapLabel;
    if (typeof s.mapPrediction === 'boolean') this.mapPrediction = s.mapPrediction;
    if (typeof s.nlBaselines === 'boolean') this.nlBaselines = s.nlBaselines;
    return true;
  }

  setResults(results: Results, source: string, persist = true, cached = false): void {
    this.results = results;
    this.source = source;
    this.cached = cached;
    this.state = 'ready';
    this.message = '';
    const names = (results.taps ?? []).map((t) => t.name);
    if (!this.tap || !names.includes(this.tap)) this.tap = names[0];
    if (persist) this.persistNow();
  }

  setStatus(state: 'loading' | 'error' | 'stale', message: string): void {
    this.state = state;
    this.message = message;
  }

  /** Saves the view choices (debounced). */
  persist(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.persistNow(), 250);
  }

  persistNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const s: Persisted = {
      v: 2,
      source: this.source || undefined,
      view: this.view,
      tap: this.tap,
      pc3: this.pc3,
      log: [...this.log],
      unetMetric: this.unetMetric,
      unetSplit: this.unetSplit,
      mapSplit: this.mapSplit,
      mapImage: this.mapImage,
      mapOpacity: this.mapOpacity,
      mapLabel: this.mapLabel,
      mapPrediction: this.mapPrediction,
      nlBaselines: this.nlBaselines,
    };
    try {
      this.host.setState(s);
    } catch (e) {
      console.warn('UNet Lens: could not save the panel state', e);
    }
  }
}
