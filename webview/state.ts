/**
 * What the panel shows, and its persistence: in VS Code the last results, the chosen view
 * and tap live in `vscode.setState`, so a hidden and restored panel draws again at once.
 */
import type { Results } from '../src/engine/types';
import type { Host } from './host';

export type PanelState = 'empty' | 'loading' | 'ready' | 'error' | 'stale';
export type ViewId = 'overview' | 'tap';
export const VIEWS: { id: ViewId; title: string }[] = [
  { id: 'overview', title: 'Overview' },
  { id: 'tap', title: 'Tap view' },
];

interface Persisted {
  v: 1;
  results?: Results;
  source?: string;
  view: ViewId;
  tap?: string;
  pc3: boolean;
}

export class Store {
  results: Results | undefined;
  source = '';
  state: PanelState = 'empty';
  /** Text of the loading / error / stale status. */
  message = '';
  view: ViewId = 'overview';
  tap: string | undefined;
  /** PCA scatter: PC3 (instead of PC2) on the y axis. */
  pc3 = false;

  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly host: Host) {}

  /** Takes back what a previous instance of this panel saved. True if results came back. */
  restore(): boolean {
    const s = this.host.getState() as Partial<Persisted> | undefined;
    if (!s || typeof s !== 'object' || s.v !== 1) return false;
    if (s.view === 'overview' || s.view === 'tap') this.view = s.view;
    if (typeof s.tap === 'string') this.tap = s.tap;
    this.pc3 = s.pc3 === true;
    if (s.results && typeof s.results === 'object' && s.results.schema === 'unet-lens/results@1') {
      this.setResults(s.results, typeof s.source === 'string' ? s.source : '', false);
      return true;
    }
    return false;
  }

  setResults(results: Results, source: string, persist = true): void {
    this.results = results;
    this.source = source;
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

  /** Saves the view choices (debounced: the results can be large). */
  persist(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.persistNow(), 250);
  }

  persistNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const s: Persisted = { v: 1, results: this.results, source: this.source, view: this.view, tap: this.tap, pc3: this.pc3 };
    try {
      this.host.setState(s);
    } catch (e) {
      console.warn('UNet Lens: could not save the panel state', e);
    }
  }
}
