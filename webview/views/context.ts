import type { Host } from '../host';
import type { Store } from '../state';
import type { Theme } from '../theme';

/** What a view gets from the panel. */
export interface ViewContext {
  host: Host;
  store: Store;
  /** The colours to draw with now (read at draw time). */
  theme(): Theme;
  /** Selects a tap everywhere; `reveal` also switches to the Tap view. */
  selectTap(name: string, reveal: boolean): void;
  /** Shows image `image` of `split` in "Where is the model unsure" (absent where there is no such view, e.g. a test harness). */
  showMap?(split: string, image: string): void;
}
