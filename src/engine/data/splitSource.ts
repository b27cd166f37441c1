/**
 * A split as the pipeline reads it: a lazy list of items (splits.ts lists folders and arrays,
 * caseFolders.ts folders of cases), and a view of some of its items. Its own file so both
 * listers use it without importing each other.
 */
import type { LabelMap, RawImage } from './formats';

export interface SplitItem {
  /** Unique within the split: the base name (folder), `class/name` (ImageFolder) or `file[i]` (array). */
  id: string;
  /** Raw pixel values, `[C, H, W]` (or `[C, D, H, W]`). */
  image: RawImage;
  /** Segmentation: class map with dims `[H, W]`; classification: one value with dims `[]`. */
  label?: LabelMap;
  /** Regression: the target image, raw values, `[C, H, W]`. */
  target?: RawImage;
  /** Where the image came from (path, or `file.npz#member[i]`), for messages. */
  imageFile: string;
  labelFile?: string;
}

export interface SplitSource {
  name: string;
  count: number;
  ids: string[];
  /** Whether items carry a label (or target). */
  labeled: boolean;
  /** Things worth telling the user that are not errors (skipped files…). */
  notes: string[];
  /** Reads item `i` (0 ≤ i < count); checks label values and label/image sizes. */
  read(i: number): SplitItem;
}

/** A view of some items of a split (`indices` into it, in the order given), under a name. */
export function subsetSource(src: SplitSource, name: string, indices: number[]): SplitSource {
  return { name, count: indices.length, ids: indices.map((i) => src.ids[i]), labeled: src.labeled, notes: [], read: (i) => src.read(indices[i]) };
}
