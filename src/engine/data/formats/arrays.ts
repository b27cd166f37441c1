/**
 * Arrays → `[C, ...spatial]` (where the channel axis of an array is), and images read as
 * masks → integer class maps, with the checks that name a bad pixel.
 */
import { LensError } from '../../types';
import { product, type LabelMap, type RawImage, type ReadContext } from './common';

/* ------------------------------------------------------------------------------------------ */
/* Arrays → [C, ...spatial]                                                                   */
/* ------------------------------------------------------------------------------------------ */

/** Number of spatial dims for a layout: 2 (H, W) or 3 (D, H, W). */
export function spatialRank(layout: ReadContext['layout']): number {
  return layout === 'NCDHW' || layout === 'NDHWC' ? 3 : 2;
}

export type ChannelAxis = 'none' | 'first' | 'last';

/**
 * Decides where the channel axis of one item's shape is (batch axis already removed):
 * rank = spatial rank → no channel axis (one channel); rank = spatial + 1 → channels first or
 * last, chosen by which end equals `input.channels` (ties go to `input.layout`), else by which
 * end is 1 (a grey image for an RGB model). Labels may only have a channel axis of 1.
 */
export function channelAxisOf(shape: number[], ctx: ReadContext, what: string): ChannelAxis {
  const s = spatialRank(ctx.layout);
  const shapeStr = `[${shape.join(', ')}]`;
  const sp = s === 3 ? 'D×H×W' : 'H×W';
  if (shape.length === s) return 'none';
  if (shape.length !== s + 1) {
    const expected =
      ctx.role === 'label' ? `${sp} (or 1×${sp})` : `${sp}, C×${sp} or ${sp}×C for layout ${ctx.layout}`;
    throw new LensError(`${what}: array of shape ${shapeStr} is not an image: expected ${expected}`, 'data', what);
  }
  const first = shape[0];
  const last = shape[shape.length - 1];
  if (ctx.role === 'label') {
    if (first === 1) return 'first';
    if (last === 1) return 'last';
    throw new LensError(
      `${what}: label array of shape ${shapeStr} has a channel axis; a mask must be ${sp} (or 1×${sp}) holding class indices`,
      'data',
      what,
    );
  }
  const want = ctx.channels;
  if (first === want && last !== want) return 'first';
  if (last === want && first !== want) return 'last';
  if (first === want && last === want) return ctx.layout === 'NHWC' || ctx.layout === 'NDHWC' ? 'last' : 'first';
  if (first === 1) return 'first';
  if (last === 1) return 'last';
  throw new LensError(
    `${what}: cannot tell the channel axis of an array of shape ${shapeStr}: input.channels is ${want}, so expected C×${sp} or ${sp}×C with C = ${want} (or 1)`,
    'data',
    what,
  );
}

/** One item's values and shape (no batch axis) → planar `[C, ...spatial]`. */
export function toChannelsFirst(data: Float32Array, shape: number[], axis: ChannelAxis): RawImage {
  if (axis === 'none') return { data, dims: [1, ...shape] };
  if (axis === 'first') return { data, dims: shape.slice() };
  const c = shape[shape.length - 1];
  const spatial = shape.slice(0, -1);
  const n = product(spatial);
  if (c === 1) return { data, dims: [1, ...spatial] };
  const out = new Float32Array(data.length);
  for (let i = 0; i < n; i++) for (let k = 0; k < c; k++) out[k * n + i] = data[i * c + k];
  return { data: out, dims: [c, ...spatial] };
}

/* ------------------------------------------------------------------------------------------ */
/* Labels                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/** Formats the position of flat index `i` in spatial dims `[H, W]` / `[D, H, W]`. */
export function pixelAt(i: number, spatial: number[]): string {
  if (spatial.length === 2) return `(x=${i % spatial[1]}, y=${Math.floor(i / spatial[1])})`;
  if (spatial.length === 3) {
    const hw = spatial[1] * spatial[2];
    const r = i % hw;
    return `(x=${r % spatial[2]}, y=${Math.floor(r / spatial[2])}, z=${Math.floor(i / hw)})`;
  }
  return `(index ${i})`;
}

/**
 * A raw image read as a mask → integer class map with spatial dims only. Several channels are
 * accepted only when they are all equal (an RGB PNG saved from a grey mask); values must be
 * integers.
 */
export function rawToLabel(raw: RawImage, file: string): LabelMap {
  const [c, ...spatial] = raw.dims;
  const n = product(spatial);
  const d = raw.data;
  for (let k = 1; k < c; k++) {
    for (let i = 0; i < n; i++) {
      if (d[k * n + i] !== d[i]) {
        const vals = Array.from({ length: c }, (_, j) => d[j * n + i]).join(', ');
        throw new LensError(
          `${file}: a colour mask is not supported: pixel ${pixelAt(i, spatial)} is (${vals}); save masks as single-channel (grey or palette) images whose values are the class indices`,
          'data',
          file,
        );
      }
    }
  }
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = d[i];
    if (!Number.isInteger(v)) {
      throw new LensError(
        `${file}: label value ${v} at pixel ${pixelAt(i, spatial)} is not an integer class index`,
        'data',
        file,
      );
    }
    out[i] = v;
  }
  return { data: out, dims: spatial };
}

/**
 * Checks that every value of a class map is in `0..classes.length-1`. A mask of 0/255 with two
 * classes is the common mistake, and the message says so.
 */
export function checkLabelRange(label: LabelMap, classes: string[], file: string): void {
  const k = classes.length;
  const d = label.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    if (v < 0 || v >= k) {
      const where = label.dims.length ? ` at pixel ${pixelAt(i, label.dims)}` : '';
      let hint = '';
      if (v === 255 && k === 2) {
        hint = '. The mask looks like it was saved as 0/255: save it as 0/1 (class indices), e.g. mask // 255';
      } else if (v === 255) {
        hint = '. 255 is often an "ignore" value or a 0/255 mask: masks must hold class indices';
      } else if (v === k) {
        hint = `. Class indices start at 0; if the mask counts classes from 1, subtract 1 or add a background class`;
      }
      throw new LensError(
        `${file}: label value ${v}${where} is outside 0..${k - 1} (classes: ${classes.join(', ')})${hint}`,
        'data',
        file,
      );
    }
  }
}
