/**
 * Helpers of "Where is the model unsure": reading `results.maps.items` defensively,
 * laying a tap's confidence grid over the preview grid (nearest neighbour), and contours
 * of label maps. Pure (no DOM): importable from Node tests. Nothing here computes a
 * metric: the confidence values are the ones in results.json, only placed on a grid.
 */
import type { ImageMaps, Results } from '../src/engine/types';

export interface Grid {
  /** rows */
  h: number;
  /** columns */
  w: number;
}

/** [H, W] of a dims array that ends with the spatial axes ([H, W], [1, H, W], [C, H, W]). */
export function gridOf(dims: readonly number[] | undefined, length: number): Grid | null {
  if (!Array.isArray(dims) || dims.length < 2) return null;
  const h = dims[dims.length - 2];
  const w = dims[dims.length - 1];
  if (!Number.isInteger(h) || !Number.isInteger(w) || h <= 0 || w <= 0) return null;
  if (h * w !== length) return null;
  return { h, w };
}

/** The items of `results.maps` whose preview is usable, in file order. */
export function mapItems(results: Results | undefined): ImageMaps[] {
  const items = (results as { maps?: { items?: unknown } } | undefined)?.maps?.items;
  if (!Array.isArray(items)) return [];
  return items.filter((it): it is ImageMaps => {
    const m = it as ImageMaps;
    return (
      !!m && typeof m.split === 'string' && typeof m.image === 'string' && !!m.preview &&
      Array.isArray(m.preview.values) && gridOf(m.preview.dims, m.preview.values.length) !== null &&
      !!m.confidence && typeof m.confidence === 'object'
    );
  });
}

/** The order a split's maps are shown in, and what it says (`mapOrder`). */
export interface MapOrder {
  /** The images' ids in the order shown. */
  images: string[];
  /** Some are ranked by the engine's per-image estimates (worst predicted first). */
  ranked: boolean;
  /** The maps are of the split's worst predicted images themselves (the engine chose them so). */
  worst: boolean;
}

/**
 * A split's mapped images (`inFile`, in the results' order) shown worst predicted first by
 * `worst`, the split's ids ranked worst first (`perImage`, or the verdict's `action.images`);
 * the others after them, in the results' order.
 */
export function mapOrder(inFile: string[], worst: string[]): MapOrder {
  const ranked = worst.filter((id) => inFile.includes(id));
  return {
    images: [...ranked, ...inFile.filter((id) => !ranked.includes(id))],
    ranked: ranked.length > 0,
    worst: inFile.length > 0 && inFile.every((id, i) => worst[i] === id),
  };
}

/** The splits that have maps, in the order of the results' splits (then any others). */
export function mapSplits(results: Results, items: ImageMaps[]): string[] {
  const names = (results.splits ?? []).map((s) => s.name).filter((n) => items.some((it) => it.split === n));
  for (const it of items) if (!names.includes(it.split)) names.push(it.split);
  return names;
}

/**
 * Index into a `src` grid of the cell that covers pixel (y, x) of a `dst` grid, when both
 * grids span the same image: nearest neighbour, the cell whose area contains the pixel's
 * centre.
 */
export function nearestIndex(y: number, x: number, dst: Grid, src: Grid): number {
  const sy = Math.min(src.h - 1, Math.floor(((y + 0.5) * src.h) / dst.h));
  const sx = Math.min(src.w - 1, Math.floor(((x + 0.5) * src.w) / dst.w));
  return sy * src.w + sx;
}

/** `values` on the `src` grid, resampled (nearest) onto the `dst` grid. */
export function upsampleNearest(values: ArrayLike<number>, src: Grid, dst: Grid): Float32Array {
  const out = new Float32Array(dst.h * dst.w);
  // column lookup once per row
  const cols = new Int32Array(dst.w);
  for (let x = 0; x < dst.w; x++) cols[x] = Math.min(src.w - 1, Math.floor(((x + 0.5) * src.w) / dst.w));
  for (let y = 0; y < dst.h; y++) {
    const sy = Math.min(src.h - 1, Math.floor(((y + 0.5) * src.h) / dst.h));
    for (let x = 0; x < dst.w; x++) out[y * dst.w + x] = values[sy * src.w + cols[x]];
  }
  return out;
}

/**
 * Contour of a label map: 1 at every pixel that has a 4-neighbour (inside the grid) with a
 * different label, else 0.
 */
export function contourMask(map: ArrayLike<number>, g: Grid): Uint8Array {
  const out = new Uint8Array(g.h * g.w);
  for (let y = 0; y < g.h; y++) {
    for (let x = 0; x < g.w; x++) {
      const i = y * g.w + x;
      const v = map[i];
      if (
        (x > 0 && map[i - 1] !== v) ||
        (x < g.w - 1 && map[i + 1] !== v) ||
        (y > 0 && map[i - g.w] !== v) ||
        (y < g.h - 1 && map[i + g.w] !== v)
      ) {
        out[i] = 1;
      }
    }
  }
  return out;
}

/**
 * The same contour as line segments on the pixel edges between two 4-neighbours with
 * different labels, in grid units ([x0, y0, x1, y1], pixel (x, y) spans x..x+1, y..y+1),
 * each edge once. Drawn at any zoom, this is a thin line exactly between the regions
 * instead of a band of whole pixels.
 */
export function contourSegments(map: ArrayLike<number>, g: Grid): number[][] {
  const segs: number[][] = [];
  for (let y = 0; y < g.h; y++) {
    for (let x = 0; x < g.w; x++) {
      const i = y * g.w + x;
      if (x < g.w - 1 && map[i] !== map[i + 1]) segs.push([x + 1, y, x + 1, y + 1]);
      if (y < g.h - 1 && map[i] !== map[i + g.w]) segs.push([x, y + 1, x + 1, y + 1]);
    }
  }
  return segs;
}

/** The largest integer zoom at which a grid fits in `maxPx` (at least 1). */
export function integerZoom(g: Grid, maxPx: number): number {
  return Math.max(1, Math.floor(maxPx / Math.max(g.h, g.w)));
}

/** A label map usable on the preview grid, or null (missing, wrong length). */
export function labelMap(values: unknown, g: Grid): number[] | null {
  return Array.isArray(values) && values.length === g.h * g.w ? (values as number[]) : null;
}
