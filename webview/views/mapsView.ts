/**
 * "Where is the model unsure": one image of a split, its grey preview with the selected
 * tap's kNN-confidence map laid over it (nearest-neighbour upsampled, semi-transparent,
 * the panel's good → bad colour scale), and the label and prediction contours where the
 * results have them. A strip below shows the same image at every tap, so one sees where
 * along the network the model becomes unsure. Everything drawn is in `results.maps.items`.
 *
 * Test hooks: the main canvas has `data-chart="map"`, `data-split`, `data-image`,
 * `data-tap`, `data-grid` (the confidence grid, "h×w", or "" when the tap has none),
 * `data-preview` ("H×W"), `data-contours`, `data-theme`, `data-bg`; the view's root has
 * `data-items` (maps in the file) and, when there are none, `data-empty="maps"`.
 */
import type { ImageMaps, Results, TapInfo } from '../../src/engine/types';
import { exportName } from '../charts';
import { clear, h, exportButton } from '../dom';
import { fileSafe, fmt, shortTapName, tapLabels, tapsInOrder } from '../format';
import { contourSegments, gridOf, integerZoom, labelMap, mapItems, mapOrder, mapSplits, upsampleNearest, type Grid, type MapOrder } from '../maps';
import { badness, interpolate } from '../scale';
import { canvasToPng } from '../svg';
import { scaleStops, type Theme } from '../theme';
import { BaseView } from './view';
import { exportFigure } from '../exportStamp';

interface PaintOptions {
  zoom: number;
  opacity: number;
  label: boolean;
  prediction: boolean;
  /** Contour line width in canvas pixels (0: no contours). */
  line: number;
  /** Lay the errors (false positives / negatives) over the image instead of the confidence. */
  errors?: boolean;
}

/** Colour-blind-safe colours (Okabe–Ito): errors and contours, the same in every theme. */
const FP_RGB: [number, number, number] = [213, 94, 0]; // vermillion: predicted, not labelled
const FN_RGB: [number, number, number] = [0, 114, 178]; // blue: labelled, missed
const LABEL_LINE = '#ffffff'; // true label: white, solid
const PRED_LINE = '#e69f00'; // prediction: orange, dashed
const HALO = 'rgba(0, 0, 0, 0.85)';

export class MapsView extends BaseView {
  private items: ImageMaps[] = [];
  /** The tap the maps show: the last decoder tap before the output until one is selected (here or elsewhere). */
  private tap?: string;
  /** What is laid over the image: the kNN confidence of the tap, or the errors (labelled splits). */
  private overlay: 'confidence' | 'errors' = 'confidence';
  private overlaySelect?: HTMLSelectElement;
  /** The images of each split in the order shown (`mapOrder`). */
  private order = new Map<string, MapOrder>();
  private taps: TapInfo[] = [];
  private splitSelect?: HTMLSelectElement;
  /** Whether the split shown is the default (not picked by the user): see build(). */
  private splitIsDefault = false;
  private tapSelect?: HTMLSelectElement;
  private opacity?: HTMLInputElement;
  private labelBox?: HTMLInputElement;
  private predBox?: HTMLInputElement;
  private thumbs?: HTMLElement;
  private stage?: HTMLElement;
  private canvas?: HTMLCanvasElement;
  private readout?: HTMLElement;
  private strip?: HTMLElement;
  private note?: HTMLElement;

  protected build(results: Results): void {
    this.items = mapItems(results);
    this.taps = tapsInOrder(results);
    this.root.dataset.items = String(this.items.length);
    delete this.root.dataset.empty;
    const head = h(
      'div',
      { class: 'section-head' },
      h('h2', { id: 'maps-h' }, 'Where is the model unsure'),
    );
    if (this.items.length === 0) {
      this.root.dataset.empty = 'maps';
      this.root.append(
        h(
          'section',
          { class: 'section', 'aria-labelledby': 'maps-h' },
          head,
          h(
            'div',
            { class: 'empty-state' },
            h('p', null, h('strong', null, 'This results file has no confidence maps.')),
            h(
              'p',
              { class: 'hint' },
              'The analysis lays the kNN confidence of a few images per split back on their pixel grid (analysis.mapsPerSplit in the dataset file). Re-run the analysis with a version of UNet Lens that writes them to see where the model is unsure.',
            ),
          ),
        ),
      );
      return;
    }
    const store = this.ctx.store;
    const splits = mapSplits(results, this.items);
    // Start where problems are: an unlabelled split, its worst predicted images first, at the
    // last decoder tap before the output (the output's own map says little).
    const unlabelled = splits.find((sp) => results.splits?.find((x) => x.name === sp)?.labeled === false);
    // The default is taken again on every render until the user picks a split: partial results
    // (train first, streamed) must not pin the view to the only split they hold yet.
    if (!store.mapSplit || !splits.includes(store.mapSplit) || this.splitIsDefault) {
      store.mapSplit = unlabelled ?? splits[0];
      this.splitIsDefault = true;
    }
    const decoder = this.taps.filter((t) => t.stage === 'decoder');
    const beforeOutput = decoder.length > 1 && decoder[decoder.length - 1] === this.taps[this.taps.length - 1] ? decoder[decoder.length - 2] : decoder[decoder.length - 1];
    this.tap ??= (beforeOutput ?? this.taps[this.taps.length - 1])?.name;
    this.order.clear();
    for (const sp of splits) {
      const inFile = this.items.filter((it) => it.split === sp).map((it) => it.image);
      // the split's images worst predicted first: all of them (perImage), else the verdict's few
      const perImage = results.performanceWithoutLabels?.splits?.[sp]?.perImage;
      const worst = Array.isArray(perImage) ? perImage.map((e) => e.id) : (results.verdict?.unlabeled.find((v) => v.split === sp)?.action.images ?? []);
      this.order.set(sp, mapOrder(inFile, worst));
    }

    this.splitSelect = h(
      'select',
      { id: 'maps-split' },
      splits.map((sp) => {
        const n = this.items.filter((it) => it.split === sp).length;
        const labeled = results.splits?.find((x) => x.name === sp)?.labeled;
        const which = this.order.get(sp)?.worst ? ' worst predicted' : '';
        return h('option', { value: sp }, `${sp}${labeled === false ? ' (unlabeled)' : ''} — ${n}${which} image${n === 1 ? '' : 's'}`);
      }),
    );
    this.splitSelect.value = store.mapSplit;
    this.splitSelect.addEventListener('change', () => {
      store.mapSplit = this.splitSelect!.value;
      this.splitIsDefault = false;
      store.mapImage = undefined;
      store.persist();
      this.draw();
    });
    const labels = tapLabels(this.taps);
    this.tapSelect = h(
      'select',
      { id: 'maps-tap' },
      this.taps.map((t, i) => h('option', { value: t.name, title: t.name }, `${i + 1}. ${labels[i]} — ${t.stage}, level ${t.level}`)),
    );
    this.tapSelect.value = this.tap ?? '';
    this.tapSelect.addEventListener('change', () => this.ctx.selectTap(this.tapSelect!.value, false));
    this.overlaySelect = h(
      'select',
      { id: 'maps-overlay' },
      h('option', { value: 'confidence' }, 'kNN confidence (unsure where low)'),
      h('option', { value: 'errors' }, 'Errors: false positives / false negatives'),
    );
    this.overlaySelect.value = this.overlay;
    this.overlaySelect.addEventListener('change', () => {
      this.overlay = this.overlaySelect!.value === 'errors' ? 'errors' : 'confidence';
      this.draw();
    });
    this.opacity = h('input', { type: 'range', id: 'maps-opacity', min: 0, max: 100, step: 5, 'aria-valuetext': '' });
    this.opacity.value = String(Math.round(store.mapOpacity * 100));
    this.opacity.addEventListener('input', () => {
      store.mapOpacity = Number(this.opacity!.value) / 100;
      this.opacity!.setAttribute('aria-valuetext', `${this.opacity!.value} %`);
      store.persist();
      this.paintAll();
    });
    this.labelBox = h('input', { type: 'checkbox', id: 'maps-label' });
    this.labelBox.checked = store.mapLabel;
    this.labelBox.addEventListener('change', () => {
      store.mapLabel = this.labelBox!.checked;
      store.persist();
      this.paintAll();
    });
    this.predBox = h('input', { type: 'checkbox', id: 'maps-pred' });
    this.predBox.checked = store.mapPrediction;
    this.predBox.addEventListener('change', () => {
      store.mapPrediction = this.predBox!.checked;
      store.persist();
      this.paintAll();
    });

    const controls = h(
      'div',
      { class: 'controls', role: 'group', 'aria-label': 'Confidence map' },
      h('span', { class: 'field' }, h('label', { for: 'maps-split' }, 'Split'), this.splitSelect),
      h('span', { class: 'field' }, h('label', { for: 'maps-tap' }, 'Tap'), this.tapSelect),
      h('span', { class: 'field' }, h('label', { for: 'maps-overlay' }, 'Show'), this.overlaySelect),
      h('label', { for: 'maps-opacity', class: 'range-label' }, 'Overlay strength', this.opacity),
      h('label', { class: 'check', for: 'maps-label' }, this.labelBox, h('span', { class: 'swatch line label', 'aria-hidden': 'true' }), 'Label contour'),
      h('label', { class: 'check', for: 'maps-pred' }, this.predBox, h('span', { class: 'swatch line prediction', 'aria-hidden': 'true' }), 'Prediction contour'),
      h('span', { class: 'spacer' }),
      exportButton('Export this map as PNG', () => this.exportPng(), 'PNG', 'Export this confidence map as PNG'),
    );
    this.thumbs = h('div', { class: 'map-thumbs', role: 'group', 'aria-label': 'Images' });
    this.stage = h('div', { class: 'map-stage' });
    this.readout = h('p', { class: 'readout', 'aria-live': 'off' }, ' ');
    this.note = h('p', { class: 'note', 'data-role': 'maps-note' });
    this.strip = h('div', { class: 'map-strip', role: 'group', 'aria-label': 'This image at every tap' });
    this.root.append(
      h(
        'section',
        { class: 'section', 'aria-labelledby': 'maps-h' },
        head,
        h(
          'p',
          { class: 'hint' },
          'The kNN confidence of each location at the chosen tap (the share of its nearest train points that agree with the predicted label), laid over the input: red = unsure, blue = confident. On a labelled split, "Show: Errors" lays the false positives and false negatives over it instead. Contours: the true label (white, solid) and the prediction (orange, dashed).',
        ),
        controls,
        this.thumbs,
        h(
          'div',
          { class: 'map-legend' },
          h('span', { class: 'muted' }, 'kNN confidence: unsure'),
          h('span', { class: 'gradient-bar', role: 'img', 'aria-label': 'Colour scale: red = kNN confidence 0 (unsure), yellow = 0.5, blue = 1 (confident)' }),
          h('span', { class: 'muted' }, 'confident'),
          h('span', { class: 'ticks' }, h('span', null, '0'), h('span', null, '0.5'), h('span', null, '1')),
          h('span', { class: 'muted' }, h('span', { class: 'swatch fill fp', 'aria-hidden': 'true' }), 'false positive', h('span', { class: 'swatch fill fn', 'aria-hidden': 'true' }), 'false negative (Errors)'),
        ),
        h('div', { class: 'map-main' }, this.stage, this.readout, this.note),
        h('h3', { class: 'strip-title' }, 'This image at every tap'),
        this.strip,
      ),
    );
  }

  /** Shows image `image` of `split` (a choice, as if picked here: kept over the default split). */
  show(split: string, image: string): void {
    const store = this.ctx.store;
    store.mapSplit = split;
    store.mapImage = image;
    this.splitIsDefault = false;
    store.persist();
    this.draw();
  }

  private current(): ImageMaps | undefined {
    const store = this.ctx.store;
    const ofSplit = this.ordered(store.mapSplit);
    return ofSplit.find((it) => it.image === store.mapImage) ?? ofSplit[0];
  }

  /** The split's items in the order shown. */
  private ordered(split: string | undefined): ImageMaps[] {
    const ids = this.order.get(split ?? '')?.images ?? [];
    const of = this.items.filter((it) => it.split === split);
    return ids.map((id) => of.find((it) => it.image === id)).filter((it): it is ImageMaps => !!it);
  }

  /** Rebuilds thumbnails, the main canvas and the strip for the current choices and theme. */
  draw(): void {
    if (!this.results || this.items.length === 0 || !this.thumbs || !this.stage || !this.strip) return;
    const store = this.ctx.store;
    const item = this.current();
    if (!item) return;
    store.mapImage = item.image;
    if (this.splitSelect && this.splitSelect.value !== store.mapSplit) this.splitSelect.value = store.mapSplit!;
    if (this.tapSelect && this.tap && this.tapSelect.value !== this.tap) this.tapSelect.value = this.tap;
    const theme = this.ctx.theme();

    // thumbnails of the split's images
    clear(this.thumbs);
    for (const it of this.ordered(store.mapSplit)) {
      const c = h('canvas', { 'aria-hidden': 'true' });
      const on = it === item;
      const btn = h(
        'button',
        {
          type: 'button',
          class: `map-thumb${on ? ' selected' : ''}`,
          'aria-pressed': on ? 'true' : 'false',
          'data-image': it.image,
          title: it.image,
          onclick: () => {
            store.mapImage = it.image;
            store.persist();
            this.draw();
          },
        },
        c,
        h('span', { class: 'thumb-name' }, it.image),
      );
      this.thumbs.append(btn);
      const g = gridOf(it.preview.dims, it.preview.values.length)!;
      this.paint(c, it, this.tap, theme, { zoom: integerZoom(g, 72), opacity: store.mapOpacity, label: false, prediction: false, line: 0 });
    }

    // the main picture
    const g = gridOf(item.preview.dims, item.preview.values.length)!;
    const zoom = this.mainZoom(g);
    const canvas = h('canvas', { class: 'map-canvas', role: 'img' });
    clear(this.stage);
    this.stage.append(canvas);
    this.canvas = canvas;
    this.paintMain(theme);
    canvas.addEventListener('mousemove', (ev) => this.onHover(ev, item, g, zoom));
    canvas.addEventListener('mouseleave', () => {
      if (this.readout) this.readout.textContent = ' ';
    });

    // the same image at every tap
    clear(this.strip);
    const labels = tapLabels(this.taps);
    this.taps.forEach((t, i) => {
      const c = h('canvas', { 'aria-hidden': 'true' });
      const has = !!item.confidence?.[t.name];
      const on = t.name === this.tap;
      const btn = h(
        'button',
        {
          type: 'button',
          class: `map-tapcell${on ? ' selected' : ''}${has ? '' : ' missing'}`,
          'aria-pressed': on ? 'true' : 'false',
          'data-tap': t.name,
          title: `${t.name}${has ? '' : ' (no map)'}`,
          'aria-label': `Tap ${labels[i]}${has ? '' : ', no map'}`,
          onclick: () => this.ctx.selectTap(t.name, false),
        },
        c,
        h('span', { class: 'cell-name' }, labels[i]),
      );
      this.strip!.append(btn);
      this.paint(c, item, t.name, theme, { zoom: integerZoom(g, 76), opacity: store.mapOpacity, label: false, prediction: false, line: 0 });
    });
  }

  private paintMain(theme: Theme): void {
    const item = this.current();
    const canvas = this.canvas;
    if (!item || !canvas) return;
    const store = this.ctx.store;
    const g = gridOf(item.preview.dims, item.preview.values.length)!;
    const zoom = this.mainZoom(g);
    const info = this.paint(canvas, item, this.tap, theme, {
      zoom,
      opacity: store.mapOpacity,
      label: store.mapLabel,
      prediction: store.mapPrediction,
      line: Math.max(2.5, Math.min(5, zoom * 0.6)),
      errors: this.overlay === 'errors',
    });
    const tap = this.tap ?? '';
    canvas.dataset.chart = 'map';
    canvas.dataset.split = item.split;
    canvas.dataset.image = item.image;
    canvas.dataset.tap = tap;
    canvas.dataset.grid = info.grid ? `${info.grid.h}x${info.grid.w}` : '';
    canvas.dataset.preview = `${g.h}x${g.w}`;
    canvas.dataset.contours = info.contours.join(',');
    canvas.dataset.overlay = info.errors ? 'errors' : 'confidence';
    canvas.dataset.opacity = String(store.mapOpacity);
    canvas.dataset.theme = theme.kind;
    canvas.dataset.bg = theme.bg;
    canvas.setAttribute(
      'aria-label',
      `Image ${item.image} of ${item.split} with the kNN confidence of tap ${shortTapName(tap)} laid over it${info.contours.length ? `, contours: ${info.contours.join(' and ')}` : ''}.`,
    );
    if (this.note) {
      const labeled = this.results?.splits?.find((x) => x.name === item.split)?.labeled;
      const parts: string[] = [];
      const order = this.order.get(item.split);
      if (this.overlay === 'errors' && !info.errors) parts.push(labeled === false ? `${item.split} has no labels: its errors cannot be shown; showing the kNN confidence.` : 'This image has no label or prediction map: no errors to show.');
      else if (!info.grid && !info.errors) parts.push(`The results hold no confidence map of this image at tap ${shortTapName(tap)}.`);
      parts.push(
        order?.worst
          ? `The ${order.images.length} worst predicted image${order.images.length === 1 ? '' : 's'} of ${item.split}, worst predicted first: the first of its cases to label (Without labels).`
          : order?.ranked
          ? `Maps of ${order.images.length} image${order.images.length === 1 ? '' : 's'} of ${item.split} (analysis.mapsPerSplit), worst predicted first among them (the engine's per-image estimates).`
          : `The results hold maps of ${order?.images.length ?? 0} image${order?.images.length === 1 ? '' : 's'} of ${item.split} (analysis.mapsPerSplit), in file order: per-image estimates are not in these results, so they cannot be ordered worst first.`,
      );
      if (store.mapLabel && !labelMap(item.label, g)) parts.push(labeled === false ? `${item.split} has no labels: no label contour.` : 'No label map for this image.');
      if (store.mapPrediction && !labelMap(item.prediction, g)) parts.push('No prediction map for this image.');
      this.note.textContent = parts.join(' ');
      this.note.hidden = parts.length === 0;
    }
  }

  /** Zoom of the main picture: as large as fits the view (at most 448 px), whole pixels. */
  private mainZoom(g: Grid): number {
    const avail = this.root.clientWidth || 448;
    return integerZoom(g, Math.max(128, Math.min(448, avail - 8)));
  }

  /** Redraws every canvas without rebuilding the DOM (opacity, contours). */
  private paintAll(): void {
    if (!this.results || this.items.length === 0) return;
    this.draw();
  }

  /**
   * Draws the preview of `item`, the confidence of `tap` over it and the contours, on
   * `canvas` at `zoom` device pixels per preview pixel.
   */
  private paint(canvas: HTMLCanvasElement, item: ImageMaps, tap: string | undefined, theme: Theme, o: PaintOptions): { grid: Grid | null; contours: string[]; errors: boolean } {
    const g = gridOf(item.preview.dims, item.preview.values.length)!;
    canvas.width = g.w * o.zoom;
    canvas.height = g.h * o.zoom;
    const ctx = canvas.getContext('2d');
    if (!ctx) return { grid: null, contours: [], errors: false };
    const img = new ImageData(g.w, g.h);
    const lab = labelMap(item.label, g);
    const pred = labelMap(item.prediction, g);
    const errors = !!o.errors && !!lab && !!pred;
    const conf = tap && !errors ? item.confidence?.[tap] : undefined;
    const cg = conf ? gridOf(conf.dims, conf.values.length) : null;
    const up = conf && cg ? upsampleNearest(conf.values, cg, g) : null;
    const stops = scaleStops(theme);
    // 64 colours are plenty for a [0, 1] overlay
    const lut: number[][] = [];
    for (let i = 0; i < 64; i++) lut.push(interpolate(stops, badness(i / 63, true)));
    const a = up || errors ? o.opacity : 0;
    const pv = item.preview.values;
    for (let i = 0; i < g.h * g.w; i++) {
      const grey = Math.max(0, Math.min(255, pv[i] ?? 0));
      let r = grey;
      let gg = grey;
      let b = grey;
      let col: number[] | null = null;
      if (errors) {
        // drawn, not measured: where the stored prediction and label maps disagree
        const p = pred![i] > 0;
        const l = lab![i] > 0;
        col = p && !l ? FP_RGB : l && !p ? FN_RGB : null;
      } else if (up) {
        const c = up[i];
        if (Number.isFinite(c)) col = lut[Math.round(Math.min(1, Math.max(0, c)) * 63)];
      }
      if (col) {
        const k = errors ? Math.max(a, 0.5) : a;
        r = grey * (1 - k) + col[0] * k;
        gg = grey * (1 - k) + col[1] * k;
        b = grey * (1 - k) + col[2] * k;
      }
      img.data[i * 4] = r;
      img.data[i * 4 + 1] = gg;
      img.data[i * 4 + 2] = b;
      img.data[i * 4 + 3] = 255;
    }
    const small = document.createElement('canvas');
    small.width = g.w;
    small.height = g.h;
    small.getContext('2d')!.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(small, 0, 0, canvas.width, canvas.height);

    const contours: string[] = [];
    const drawContour = (map: number[] | null, color: string, dash: number[], name: string) => {
      if (!map) return;
      const segs = contourSegments(map, g);
      ctx.save();
      ctx.lineCap = 'square';
      ctx.beginPath();
      for (const [x0, y0, x1, y1] of segs) {
        ctx.moveTo(x0 * o.zoom, y0 * o.zoom);
        ctx.lineTo(x1 * o.zoom, y1 * o.zoom);
      }
      // a dark halo under a thick line: visible on any overlay colour
      ctx.strokeStyle = HALO;
      ctx.lineWidth = o.line + 2;
      ctx.setLineDash([]);
      ctx.stroke();
      ctx.strokeStyle = color;
      ctx.lineWidth = o.line;
      ctx.setLineDash(dash);
      ctx.stroke();
      ctx.restore();
      contours.push(name);
    };
    if (o.line > 0 && o.label) drawContour(lab, LABEL_LINE, [], 'label');
    if (o.line > 0 && o.prediction) drawContour(pred, PRED_LINE, [o.zoom * 1.5, o.zoom], 'prediction');
    return { grid: cg, contours, errors };
  }

  private onHover(ev: MouseEvent, item: ImageMaps, g: Grid, zoom: number): void {
    if (!this.readout || !this.canvas) return;
    const rect = this.canvas.getBoundingClientRect();
    const sx = this.canvas.width / rect.width;
    const x = Math.floor(((ev.clientX - rect.left) * sx) / zoom);
    const y = Math.floor(((ev.clientY - rect.top) * sx) / zoom);
    if (x < 0 || y < 0 || x >= g.w || y >= g.h) return;
    const tap = this.tap;
    const conf = tap ? item.confidence?.[tap] : undefined;
    const cg = conf ? gridOf(conf.dims, conf.values.length) : null;
    const classes = this.results?.dataset?.classes ?? [];
    const cls = (v: number | undefined) => (v === undefined ? '—' : classes[v] ?? String(v));
    const i = y * g.w + x;
    const parts = [`x ${x}, y ${y}`];
    if (conf && cg) {
      const cy = Math.min(cg.h - 1, Math.floor(((y + 0.5) * cg.h) / g.h));
      const cx = Math.min(cg.w - 1, Math.floor(((x + 0.5) * cg.w) / g.w));
      parts.push(`confidence ${fmt(conf.values[cy * cg.w + cx])} (cell ${cx}, ${cy} of the tap's ${cg.w}×${cg.h} grid)`);
    }
    const lab = labelMap(item.label, g);
    const pred = labelMap(item.prediction, g);
    if (lab) parts.push(`label ${cls(lab[i])}`);
    if (pred) parts.push(`predicted ${cls(pred[i])}`);
    this.readout.textContent = parts.join(' · ');
  }

  /** Another tap was selected elsewhere. */
  override selectTap(name: string | undefined): void {
    if (name) this.tap = name;
    if (this.items.length === 0) return;
    this.draw();
  }

  private exportPng(): void {
    const item = this.current();
    if (!this.canvas || !item) return;
    const theme = this.ctx.theme();
    const name = `map-${fileSafe(item.split)}-${fileSafe(item.image)}-${fileSafe(shortTapName(this.tap ?? ''))}`;
    void exportFigure(this.ctx, exportName(name), canvasToPng(this.canvas, theme.bg), { title: this.overlay === 'errors' ? 'Where is the model wrong: false positives and false negatives' : 'Where is the model unsure: kNN confidence map', split: item.split, tap: this.overlay === 'errors' ? undefined : this.tap, extra: `image ${item.image}` });
  }

  protected override teardown(): void {
    this.canvas = undefined;
  }
}
