/**
 * chart.js set-up shared by the views: only the parts the panel uses are registered, the
 * theme goes into chart.js defaults, and two small plugins draw what chart.js has no option
 * for (the canvas background, so exported PNGs are not transparent; the encoder /
 * bottleneck / decoder bands, the selected tap and a reference line).
 */
import {
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LogarithmicScale,
  LineController,
  LineElement,
  PointElement,
  ScatterController,
  Tooltip,
  type ChartType,
  type Plugin,
  type PointStyle,
} from 'chart.js';
import type { Stage } from '../src/engine/types';
import { stageRuns } from './format';
import { seriesColor, withAlpha, type Theme } from './theme';

Chart.register(LineController, ScatterController, LineElement, PointElement, CategoryScale, LinearScale, LogarithmicScale, Tooltip, Legend);

export { Chart };

export interface StageBandsOptions {
  /** Stage of each x position (category index). */
  stages: Stage[];
  fill: Record<Stage, string>;
  text: string;
  separator: string;
  font: string;
  /** Category index of the selected tap, drawn as a vertical line. */
  selected: number | null;
  selectedColor: string;
  /** A horizontal reference value (e.g. featureShift = 1), drawn dashed. */
  refLine: number | null;
  refColor: string;
}

declare module 'chart.js' {
  interface PluginOptionsByType<TType extends ChartType> {
    unetlensBackground?: { color: string };
    unetlensStages?: StageBandsOptions | false;
    unetlensLayerCache?: { enabled: boolean };
  }
}

interface LayerCache {
  canvas: HTMLCanvasElement;
  valid: boolean;
  t0: number;
}
const layerCaches = new WeakMap<Chart, LayerCache>();

/**
 * Keeps big scatters smooth: after a full draw the canvas (background, axes, points) is
 * kept as a bitmap, and a redraw that changed nothing but the hover (the tooltip) copies
 * the bitmap instead of drawing thousands of points again. Any update (data, legend
 * toggle, resize, theme) draws in full and takes a new bitmap. The time of the last
 * render goes to the canvas's `data-render-ms`, and the number of redraws served from the
 * bitmap to `data-cache-hits` (test hooks).
 */
export const layerCachePlugin: Plugin = {
  id: 'unetlensLayerCache',
  afterUpdate(chart) {
    const c = layerCaches.get(chart);
    if (c) c.valid = false;
  },
  resize(chart) {
    const c = layerCaches.get(chart);
    if (c) c.valid = false;
  },
  beforeDraw(chart) {
    let c = layerCaches.get(chart);
    if (!c) layerCaches.set(chart, (c = { canvas: document.createElement('canvas'), valid: false, t0: 0 }));
    c.t0 = performance.now();
  },
  beforeDatasetsDraw(chart, _args, options) {
    const opts = options as { enabled?: boolean };
    const c = layerCaches.get(chart);
    if (!opts?.enabled || !c?.valid || c.canvas.width !== chart.canvas.width || c.canvas.height !== chart.canvas.height) return;
    const ctx = chart.ctx;
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.globalCompositeOperation = 'copy';
    ctx.drawImage(c.canvas, 0, 0);
    ctx.restore();
    chart.canvas.dataset.cacheHits = String(Number(chart.canvas.dataset.cacheHits ?? 0) + 1);
    return false;
  },
  afterDatasetsDraw(chart, _args, options) {
    const opts = options as { enabled?: boolean };
    const c = layerCaches.get(chart);
    if (!opts?.enabled || !c) return;
    c.canvas.width = chart.canvas.width;
    c.canvas.height = chart.canvas.height;
    const cctx = c.canvas.getContext('2d');
    if (!cctx) return;
    cctx.drawImage(chart.canvas, 0, 0);
    c.valid = true;
  },
  afterDraw(chart) {
    const c = layerCaches.get(chart);
    if (c) chart.canvas.dataset.renderMs = (performance.now() - c.t0).toFixed(1);
  },
};

/** Paints the canvas with the editor background before anything else. */
export const backgroundPlugin: Plugin = {
  id: 'unetlensBackground',
  beforeDraw(chart, _args, options) {
    const opts = options as { color?: string };
    if (!opts?.color) return;
    const { ctx } = chart;
    ctx.save();
    ctx.globalCompositeOperation = 'destination-over';
    ctx.fillStyle = opts.color;
    ctx.fillRect(0, 0, chart.width, chart.height);
    ctx.restore();
  },
};

/** Stage bands behind the lines of a per-tap chart, their names above the plot area. */
export const stageBandsPlugin: Plugin<'line'> = {
  id: 'unetlensStages',
  beforeDatasetsDraw(chart, _args, options) {
    const opts = options as unknown as StageBandsOptions | false;
    if (!opts || !opts.stages?.length) return;
    const { ctx, chartArea: area } = chart;
    const x = chart.scales.x;
    const y = chart.scales.y;
    if (!area || !x || !y) return;
    const n = opts.stages.length;
    const px = (i: number) => x.getPixelForValue(i);
    const half = n > 1 ? Math.abs(px(1) - px(0)) / 2 : area.width / 2;
    ctx.save();
    ctx.font = opts.font;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    const runs = stageRuns(opts.stages);
    for (const [k, run] of runs.entries()) {
      const left = Math.max(area.left, px(run.from) - half);
      const right = Math.min(area.right, px(run.to) + half);
      ctx.fillStyle = opts.fill[run.stage] ?? 'transparent';
      ctx.fillRect(left, area.top, right - left, area.bottom - area.top);
      if (k > 0) {
        ctx.strokeStyle = opts.separator;
        ctx.lineWidth = 1;
        ctx.setLineDash([3, 3]);
        ctx.beginPath();
        ctx.moveTo(Math.round(left) + 0.5, area.top);
        ctx.lineTo(Math.round(left) + 0.5, area.bottom);
        ctx.stroke();
        ctx.setLineDash([]);
      }
      const label = ctx.measureText(run.stage).width <= right - left - 2 ? run.stage : run.stage.slice(0, 3) + '.';
      if (ctx.measureText(label).width <= right - left + 2) {
        ctx.fillStyle = opts.text;
        ctx.fillText(label, (left + right) / 2, area.top - 2);
      }
    }
    if (opts.refLine !== null && opts.refLine !== undefined) {
      const ry = y.getPixelForValue(opts.refLine);
      if (ry >= area.top && ry <= area.bottom) {
        ctx.strokeStyle = opts.refColor;
        ctx.lineWidth = 1;
        ctx.setLineDash([2, 4]);
        ctx.beginPath();
        ctx.moveTo(area.left, Math.round(ry) + 0.5);
        ctx.lineTo(area.right, Math.round(ry) + 0.5);
        ctx.stroke();
        ctx.setLineDash([]);
      }
    }
    if (opts.selected !== null && opts.selected >= 0 && opts.selected < n) {
      // a soft column over the selected tap, edged in the focus colour
      const sx = px(opts.selected);
      const w = Math.max(6, Math.min(half, 14));
      const left = Math.max(area.left, sx - w);
      const right = Math.min(area.right, sx + w);
      ctx.fillStyle = withAlpha(opts.selectedColor, 0.14);
      ctx.fillRect(left, area.top, right - left, area.bottom - area.top);
      ctx.strokeStyle = withAlpha(opts.selectedColor, 0.7);
      ctx.lineWidth = 1;
      ctx.strokeRect(Math.round(left) + 0.5, Math.round(area.top) + 0.5, Math.round(right - left) - 1, Math.round(area.bottom - area.top) - 1);
    }
    ctx.restore();
  },
};

/** Puts the theme into chart.js defaults (called before every (re)draw). */
export function applyChartTheme(theme: Theme): void {
  Chart.defaults.color = theme.fg;
  Chart.defaults.borderColor = theme.grid;
  Chart.defaults.font.family = theme.font;
  Chart.defaults.font.size = Math.max(11, Math.round(theme.fontSize * 0.92));
  Chart.defaults.animation = false;
  Chart.defaults.plugins.tooltip.backgroundColor = withAlpha(theme.bg, 0.96);
  Chart.defaults.plugins.tooltip.titleColor = theme.fg;
  Chart.defaults.plugins.tooltip.bodyColor = theme.fg;
  Chart.defaults.plugins.tooltip.footerColor = theme.muted;
  Chart.defaults.plugins.tooltip.borderColor = theme.border;
  Chart.defaults.plugins.tooltip.borderWidth = 1;
}

export function stageFills(theme: Theme): Record<Stage, string> {
  if (theme.kind === 'high-contrast') return { encoder: 'transparent', bottleneck: withAlpha(theme.fg, 0.12), decoder: 'transparent' };
  return {
    encoder: withAlpha(theme.fg, 0.035),
    bottleneck: withAlpha(theme.fg, 0.1),
    decoder: withAlpha(theme.fg, 0.035),
  };
}

export const POINT_STYLES: PointStyle[] = ['circle', 'rect', 'triangle', 'rectRot', 'star', 'crossRot'];

/** The look of a split, the same in every view: colour, marker, dashed if unlabeled. */
export function splitStyle(theme: Theme, split: { order: number; labeled: boolean }) {
  return {
    color: seriesColor(theme, split.order),
    pointStyle: POINT_STYLES[split.order % POINT_STYLES.length],
    dash: split.labeled ? [] : [6, 4],
    width: theme.kind === 'high-contrast' ? 3 : 2,
  };
}

/** Export name of a chart (no extension: the host or the download adds it). */
export function exportName(s: string): string {
  return `unetlens-${s}`;
}

/** A linear chart.js axis in the theme's colours, titled `title`; `extra` adds range options (min, max, grace). */
export function linearAxis(theme: Theme, title: string, extra: { min?: number; max?: number; grace?: string } = {}) {
  return {
    type: 'linear' as const,
    ...extra,
    title: { display: true, text: title, color: theme.muted },
    grid: { color: theme.grid },
    ticks: { color: theme.fg },
    border: { color: theme.border },
  };
}

/** The options every scatter of the panel starts from: no animation, sized by its box, data as {x, y}. */
export const SCATTER_BASE = { animation: false, responsive: true, maintainAspectRatio: false, parsing: false } as const;
