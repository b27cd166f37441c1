/**
 * What every view of the panel is, and the life cycle they share.
 *
 * `webview/main.ts` holds the views as a list of `View`s: it renders each with the results,
 * draws the visible one again when the theme changes or a hidden one is shown, tells every
 * view the selected tap the same way, and destroys them when the results go.
 *
 * `BaseView` does the common part: clears the view's root and builds it for the results,
 * then draws; redraws on the next animation frame when an observed element's width changes
 * (charts that lay themselves out for their width); and undoes all of it in `destroy`.
 */
import type { Results } from '../../src/engine/types';
import { clear } from '../dom';
import type { ViewContext } from './context';

export interface View {
  /** Builds the view for these results (dropping what it drew before), then draws it. */
  render(results: Results): void;
  /** Draws the charts again with the current theme and size (no-op while hidden). */
  draw(): void;
  /** A tap was selected, here or in another view: show it as selected. */
  selectTap(name: string | undefined): void;
  /** Drops charts, observers and pending frames. */
  destroy(): void;
}

export abstract class BaseView implements View {
  protected results?: Results;
  /** The width the view was last drawn at (0: not drawn yet). */
  protected lastWidth = 0;
  private observer?: ResizeObserver;
  private frame = 0;

  constructor(
    protected readonly root: HTMLElement,
    protected readonly ctx: ViewContext,
  ) {}

  render(results: Results): void {
    this.destroy();
    clear(this.root);
    this.results = results;
    this.build(results);
    this.draw();
  }

  /** Puts the view's elements into `this.root` for the results (no drawing of charts). */
  protected abstract build(results: Results): void;

  abstract draw(): void;

  /** Default: nothing in the view depends on the selected tap. */
  selectTap(_name: string | undefined): void {}

  destroy(): void {
    this.observer?.disconnect();
    this.observer = undefined;
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.lastWidth = 0;
    this.teardown();
  }

  /** What a view drops besides the shared parts (its charts, its element references). */
  protected teardown(): void {}

  /** Draws again (on the next frame) whenever `el`'s width changes by more than 2 px. */
  protected redrawOnResize(el: HTMLElement): void {
    this.observer ??= new ResizeObserver(() => {
      const w = el.clientWidth;
      if (w > 0 && Math.abs(w - this.lastWidth) > 2) this.schedule();
    });
    this.observer.observe(el);
  }

  /** `el`'s width, remembered as the width drawn at; 0 while the view is hidden. */
  protected drawWidth(el: HTMLElement | undefined): number {
    const w = el?.clientWidth ?? 0;
    if (w > 0) this.lastWidth = w;
    return w;
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }
}
