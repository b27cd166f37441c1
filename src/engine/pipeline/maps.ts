/**
 * Maps: the per-image knnConfidence maps of METHOD.md §4 (metrics/confidence.ts).
 *
 * ## Maps (`results.maps.items`)
 *
 * For the first `mapsPerSplit` images of every split (segmentation and classification, when
 * train has labels; of an unlabelled split that the sweep ranks, its `mapsPerSplit` worst
 * predicted images instead, worst first: `worstMaps`): per tap, the knnConfidence of every
 * location of the tap (3D: of its plane that holds the input's middle slice) against the tap's
 * train reference — the share of its k nearest train points whose ground-truth label equals the
 * location's predicted label.
 * On train itself, a location that is one of the reference points does not count itself
 * (leave-one-out, exactly as the per-tap metric); all other reference points count, including
 * neighbouring locations of the same image. Without sampling, the mean of a split's maps over
 * all its images is its per-tap knnConfidence. A tap plane wider than `analysis.mapGrid` cells
 * (default 64, 8 to 128) is measured on a grid of at most `mapGrid` a side (`mapSize`): each
 * stored cell holds the knnConfidence of the tap location that contains the cell's centre
 * (`centreIndexMap`, the rule roughness uses to match locations across taps), not of every
 * location: the kNN work of a map is bounded by `mapGrid`² queries whatever the image size (a
 * 1024² tap at the default 64: 256× fewer). Values are rounded to 4 decimals. Beside them: a grey
 * preview of the model input (mean over channels, area-averaged to at most 128 px a side,
 * min–max scaled to 0..255), and the ground-truth and predicted label maps on the preview grid
 * (majority-pooled; classification: the image's label everywhere).
 *
 * The maps' images are not run through the model again: the split's own forward pass hands
 * each batch to `mapsCapture`, which keeps, for the first `mapsPerSplit` images only, what
 * their maps need (the preview, the label planes and per tap the query rows of the stored
 * grid: at most `mapGrid`² rows of C values), until the maps are measured after the split's metrics
 * (train's against the final train reference). Same rows, same numbers as a second run.
 * Only the worst predicted images that are not among the first ones run again, once the sweep
 * has ranked them.
 */
import type { SplitSource } from '../data/splits';
import { subsetSource } from '../data/splitSource';
import { centreIndexMap, knnConfidence, knnSearchAsync, type KnnResult } from '../metrics';
import { allFinite, greyPreview, labelPlane, mapSize, middleCell, planeOf, prod } from '../points';
import { DEFAULT_ANALYSIS, type ImageEstimate, type ImageMaps } from '../types';
import { checkCancel, round, type Run } from './context';
import { imageLabels, pointLabels, runBatch, type Batch, type LabelCache } from './batch';
import type { TapReference, TrainReferences } from './trainReference';
import { aheadOf, type JobRunner } from './jobTypes';
import { inOrder } from './tapPool';

/** The measured locations of one tap of one image: its query rows, taken from the batch (`mapImage`). */
export interface MapTapInput {
  /** The stored grid (`mapSize` of the plane). */
  dims: [number, number];
  /** The queries: row-major nq × C, the tap's C-vector at each measured location. */
  q: Float32Array;
  /** The predicted label of each query row. */
  pred: Int32Array;
  nq: number;
  /** Flat location of the plane's first cell in the tap grid. */
  offset: number;
  /** The plane location of each row (one per stored cell), or null: every location, in order. */
  locs: Int32Array | null;
}

/** What the maps of one image need from its batch; nothing of the batch is kept beyond it. */
export interface MapImage {
  /** Index of the image in its split. */
  image: number;
  id: string;
  preview: ImageMaps['preview'];
  label: number[] | null;
  prediction: number[] | null;
  /** Per tap of the run (`run.taps` order): its queries, or null (the plane holds NaN/Inf, or the tap is missing). */
  taps: (MapTapInput | null)[];
}

/** Images the split's own pass took for the maps (`mapsCapture`), in split order. */
export interface MapsCapture {
  images: MapImage[];
  /** For `PassOptions.perBatch`: takes the first `count` images of the split as their batches run. */
  perBatch: (batch: Batch, n: number) => Promise<void>;
}

/** How many images of a split get maps (0: none, e.g. regression). */
export function mapsCount(run: Run, src: SplitSource): number {
  if (run.task === 'regression' || run.numClasses < 2) return 0;
  return Math.min(Math.max(0, Math.floor(run.settings.mapsPerSplit)), src.count);
}

/** Largest side of a stored confidence map: `analysis.mapGrid` (the default when a caller's settings lack it). */
export function mapGridOf(run: Run): number {
  return run.settings.mapGrid ?? DEFAULT_ANALYSIS.mapGrid;
}

/**
 * Takes the map inputs of the split's first `mapsCount` images from the split's own forward
 * pass (its `perBatch`), so the maps do not run those images through the model a second time.
 * Holds per image and tap at most `mapGrid`² query rows of C values (the stored grid).
 * Null when the split gets no maps.
 */
export function mapsCapture(run: Run, src: SplitSource): MapsCapture | null {
  const count = mapsCount(run, src);
  if (count === 0) return null;
  const images: MapImage[] = [];
  let seen = 0;
  return {
    images,
    perBatch: async (batch, n) => {
      for (let b = 0; b < n && seen + b < count; b++) images.push(mapImage(run, batch, b, seen + b, src.labeled));
      seen += n;
    },
  };
}

/**
 * The map inputs of image `b` of a batch (split index `image`): the preview, the label and
 * prediction planes, and per tap the query rows of its plane (every location, or one per
 * stored cell: the file header), read straight from the batch's channel-major activations.
 */
export function mapImage(run: Run, batch: Batch, b: number, image: number, labeled: boolean): MapImage {
  const { taps, C0, spatial, numClasses } = run;
  const inL = prod(spatial);
  const outPerImage = prod(run.outDims);
  const inDepth = spatial.length === 3 ? spatial[0] : undefined;
  const item = batch.items[b];
  const out = batch.output.data.subarray(b * outPerImage, (b + 1) * outPerImage);
  const il = imageLabels(run, item, out, labeled);
  const preview = greyPreview(batch.input.subarray(b * C0 * inL, (b + 1) * C0 * inL), C0, spatial);
  const pv = preview.dims;
  const size = pv[0] * pv[1];
  let label: number[] | null = null;
  let prediction: number[] | null = null;
  if (run.task === 'classification') {
    if (il.gt && il.gt[0] >= 0) label = new Array<number>(size).fill(il.gt[0]);
    prediction = new Array<number>(size).fill(il.pred![0]);
  } else {
    if (il.gt) label = labelPlane(il.gt, spatial, inDepth, pv, numClasses);
    prediction = labelPlane(il.pred!, run.outDims.slice(1), inDepth, pv, numClasses);
  }
  const cache: LabelCache = new Map();
  const grid = mapGridOf(run);
  const inputs = taps.map((tap): MapTapInput | null => {
    const t = batch.taps.get(tap.info.name);
    if (!t) return null;
    const C = tap.C;
    const L = prod(tap.dims);
    const view = t.data.subarray(b * C * L, (b + 1) * C * L);
    const z = tap.dims.length === 3 ? middleCell(inDepth ?? tap.dims[0], tap.dims[0]) : 0;
    const plane = planeOf(tap.dims, z);
    const nPlane = plane.dims[0] * plane.dims[1];
    // the whole plane must be finite (not only the measured locations)
    for (let c = 0; c < C; c++) if (!allFinite(view.subarray(c * L + plane.offset, c * L + plane.offset + nPlane))) return null;
    const { pred } = pointLabels(run, il, tap.dims, cache);
    const dims = mapSize(plane.dims, grid);
    // the measured locations: all of them, or one per stored cell (see the file header)
    const locs = dims[0] === plane.dims[0] && dims[1] === plane.dims[1] ? null : centreIndexMap(plane.dims, dims);
    const nq = locs ? locs.length : nPlane;
    const q = new Float32Array(nq * C);
    const qPred = new Int32Array(nq);
    for (let r = 0; r < nq; r++) {
      const l = plane.offset + (locs ? locs[r] : r);
      for (let c = 0; c < C; c++) q[r * C + c] = view[c * L + l];
      qPred[r] = pred[l];
    }
    return { dims, q, pred: qPred, nq, offset: plane.offset, locs };
  });
  return { image, id: item.id, preview, label, prediction, taps: inputs };
}

type UsableTap = { tap: Run['taps'][number]; ti: number; ref: TapReference };

/** The taps a split's maps measure: those with a labelled reference of ≥ 2 points whose activations stayed finite. */
function usableTaps(run: Run, reference: TrainReferences, nonFinite: Set<number>): UsableTap[] {
  return run.taps
    .map((tap, ti) => ({ tap, ti, ref: reference[ti] }))
    .filter(({ ref, ti }) => ref && ref.knn.labels && ref.knn.n > 1 && !nonFinite.has(ti)) as UsableTap[];
}

/**
 * The maps of `images` at the `usable` taps, each image's emitted (`onItem`) with its last tap.
 * Each tap's map of each image is a job of its own (on the tap threads when there are some,
 * tapPool.ts), all the images' jobs in one stream (no wait between images); the answers are
 * taken in order. An image's queries are dropped from `images` once measured.
 */
async function measureImages(run: Run, src: SplitSource, usable: UsableTap[], isTrain: boolean, jobs: JobRunner, images: MapImage[], onItem: (item: ImageMaps) => void): Promise<void> {
  const pairs: { i: number; ti: number; tap: Run['taps'][number]; ref: TapReference; last: boolean }[] = [];
  images.forEach((m, i) => {
    const todo = usable.filter(({ ti }) => m.taps[ti]);
    todo.forEach((u, j) => pairs.push({ i, ...u, last: j === todo.length - 1 }));
    if (todo.length === 0) pairs.push({ i, ti: -1, tap: usable[0].tap, ref: usable[0].ref, last: true });
  });
  const confidence: ImageMaps['confidence'][] = images.map(() => ({}));
  await inOrder(
    pairs.length,
    aheadOf(jobs),
    (j) => {
      checkCancel(run.cancel);
      const { i, ti, ref } = pairs[j];
      if (ti < 0) return Promise.resolve(null);
      const m = images[i];
      const { q, nq, pred, locs, offset } = m.taps[ti]!;
      return jobs.map({ ref, q, nq, pred, self: isTrain ? { image: m.image, offset, locs } : null });
    },
    async (j, values) => {
      const { i, ti, tap, last } = pairs[j];
      const m = images[i];
      if (values) confidence[i][tap.info.name] = { dims: m.taps[ti]!.dims, values: Array.from(values, (v) => round(v, 4)) };
      if (last) {
        images[i] = undefined as unknown as MapImage; // drop its queries once measured
        onItem({ split: src.name, image: m.id, preview: m.preview, label: m.label, prediction: m.prediction, confidence: confidence[i] });
      }
      await new Promise((r) => setImmediate(r));
    },
  );
}

/**
 * Spatial knnConfidence maps of the first `mapsPerSplit` images of a split (see the file
 * header). `captured`: their inputs taken in the split's own pass (`mapsCapture`); without
 * it the images are run through the model here.
 */
export async function mapsPass(
  run: Run,
  src: SplitSource,
  reference: TrainReferences,
  isTrain: boolean,
  nonFinite: Set<number>,
  onImage: (done: number, total: number) => void,
  jobs: JobRunner,
  captured?: MapImage[],
): Promise<ImageMaps[]> {
  const { settings } = run;
  const count = mapsCount(run, src);
  if (count === 0) return [];
  const usable = usableTaps(run, reference, nonFinite);
  if (usable.length === 0) return [];
  const items: ImageMaps[] = [];
  const measure = (images: MapImage[]) =>
    measureImages(run, src, usable, isTrain, jobs, images, (item) => {
      items.push(item);
      onImage(items.length, count);
    });
  if (captured && captured.length >= count) {
    await measure(captured.splice(0, count)); // taken out: each image's queries go once measured
    return items;
  }
  const B = Math.max(1, settings.batchSize);
  for (let start = 0; start < count; start += B) {
    checkCancel(run.cancel);
    const n = Math.min(B, count - start);
    const batch = await runBatch(run, src, start, n);
    await measure(Array.from({ length: n }, (_, b) => mapImage(run, batch, b, start + b, src.labeled)));
  }
  return items;
}

/**
 * The maps of an unlabelled split's worst predicted images: `worst`, the ids of its first
 * `mapsCount` images in the sweep's ranking (`perImage`, worst first), in that order. The maps
 * its pass already took (`have`, of its first images) are kept; the other images, and only
 * they, run through the model here (`mapsPass` on a view of the split: the same rows, the same
 * numbers as maps taken in the pass). An id the split does not hold is left out.
 */
export async function worstMaps(
  run: Run,
  src: SplitSource,
  reference: TrainReferences,
  nonFinite: Set<number>,
  have: ImageMaps[],
  worst: string[],
  onImage: (done: number, total: number) => void,
  jobs: JobRunner,
): Promise<ImageMaps[]> {
  const byId = new Map(have.map((m) => [m.image, m] as const));
  const index = new Map(src.ids.map((id, i) => [id, i] as const));
  const missing = worst.filter((id) => !byId.has(id) && index.has(id)).map((id) => index.get(id)!);
  if (missing.length) {
    for (const m of await mapsPass(run, subsetSource(src, src.name, missing), reference, false, nonFinite, onImage, jobs)) byId.set(m.image, m);
  }
  return worst.flatMap((id) => byId.get(id) ?? []);
}

/** The maps of a split measured in its own pass, image by image (`mapsAsTheyCome`). */
export interface MapsAsTheyCome {
  /** For `PassOptions.perBatch`: takes the batch's map images (as `mapsCapture`) and measures them before the next batch runs. */
  perBatch: (batch: Batch, n: number) => Promise<void>;
  /**
   * The split's maps once its pass is done: what `mapsPass` gives for the same images, i.e.
   * without the taps that turned out to hold NaN/Inf in a later image of the split. `onImage`
   * is called for each, as mapsPass does.
   */
  finish: (nonFinite: Set<number>, onImage: (done: number, total: number) => void) => ImageMaps[];
  /** Milliseconds spent measuring (inside the forward pass: the caller counts them as the maps'). */
  ms: number;
}

/**
 * The maps of a split whose train reference is complete (every split after train), measured
 * as its pass takes the images (`mapsCapture`), each batch's before the next batch runs: the
 * captured query rows (≈ 134 MB an image for the 1024² nested UNet) are gone before the next
 * image's activations arrive, instead of waiting for the split's metrics. The same jobs, the
 * same numbers and the same items as `mapsPass` on the captured images. Null when the split
 * gets no maps or no tap can be measured.
 */
export function mapsAsTheyCome(run: Run, src: SplitSource, reference: TrainReferences, jobs: JobRunner): MapsAsTheyCome | null {
  const capture = mapsCapture(run, src);
  const usable = usableTaps(run, reference, new Set());
  if (!capture || usable.length === 0) return null;
  const count = mapsCount(run, src);
  const items: ImageMaps[] = [];
  const out: MapsAsTheyCome = {
    ms: 0,
    perBatch: async (batch, n) => {
      await capture.perBatch(batch, n);
      if (capture.images.length === 0) return;
      const t = performance.now();
      await measureImages(run, src, usable, false, jobs, capture.images.splice(0), (item) => items.push(item));
      out.ms += performance.now() - t;
    },
    finish: (nonFinite, onImage) => {
      if (!usable.some(({ ti }) => !nonFinite.has(ti))) return [];
      const dropped = usable.filter(({ ti }) => nonFinite.has(ti)).map(({ tap }) => tap.info.name);
      items.forEach((item, i) => {
        for (const name of dropped) delete item.confidence[name];
        onImage(i + 1, count);
      });
      return items;
    },
  };
  return out;
}

/**
 * knnConfidence of each of `nq` points (row-major, the tap's C-vectors) with predicted labels
 * `pred`. `self` (train only): the image index, the flat location of the plane's first point
 * and the plane locations of the rows (null: row i is location i), so a point that is itself a
 * reference point leaves itself out (as `ref.self` does for the
 * per-tap metric); every other reference point counts.
 */
export async function confidenceAt(
  run: Run,
  tapRef: TapReference,
  q: Float32Array,
  nq: number,
  pred: Int32Array,
  self: { image: number; offset: number; locs: Int32Array | null } | null,
): Promise<Float64Array> {
  const ref = tapRef.knn;
  const k = run.settings.k;
  const kq = Math.min(self ? k + 1 : k, ref.n);
  const nb = await knnSearchAsync({ query: q, nq, ref: ref.points, nr: ref.n, dim: ref.dim, k: kq, gemm: run.gemm, topk: run.topk });
  const own = new Int32Array(nq).fill(-1);
  if (self) {
    // plane location → query row (every location is a row, or only `locs`)
    let rowOf: Int32Array | null = null;
    if (self.locs) {
      let span = 0;
      for (const l of self.locs) span = Math.max(span, l + 1);
      rowOf = new Int32Array(span).fill(-1);
      for (let r = 0; r < self.locs.length; r++) rowOf[self.locs[r]] = r;
    }
    for (let j = 0; j < ref.n; j++) {
      if (tapRef.image[j] !== self.image) continue;
      const l = tapRef.loc[j] - self.offset;
      const row = rowOf ? (l >= 0 && l < rowOf.length ? rowOf[l] : -1) : l;
      if (row >= 0 && row < nq) own[row] = j;
    }
  }
  const out = new Float64Array(nq);
  // Points that are a reference point have one neighbour fewer to count when k ≥ n − 1: one
  // knnConfidence per group, each with its own k.
  for (const isOwn of [false, true]) {
    const rows: number[] = [];
    for (let i = 0; i < nq; i++) if ((own[i] >= 0) === isOwn) rows.push(i);
    if (rows.length === 0) continue;
    const want = Math.min(k, ref.n - (isOwn ? 1 : 0));
    const neighbors = othersOf(nb, rows, own, want);
    const conf = knnConfidence({ ref, neighbors, predicted: Int32Array.from(rows, (i) => pred[i]) }).perPoint;
    for (let r = 0; r < rows.length; r++) out[rows[r]] = conf[r];
  }
  return out;
}

/** Rows `rows` of a search result, each with its first `want` neighbours other than `own[row]`. */
function othersOf(nb: KnnResult, rows: number[], own: Int32Array, want: number): KnnResult {
  const indices = new Int32Array(rows.length * want);
  const distances = new Float64Array(rows.length * want);
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r];
    let used = 0;
    for (let j = 0; j < nb.k && used < want; j++) {
      const at = i * nb.k + j;
      if (nb.indices[at] === own[i]) continue;
      indices[r * want + used] = nb.indices[at];
      distances[r * want + used] = nb.distances[at];
      used++;
    }
  }
  return { indices, distances, k: want, nq: rows.length, candidatesPerQuery: nb.candidatesPerQuery };
}

/* ------------------------------------------------------------------------------------------ */
/* Thumbnails of the cases to label                                                             */
/* ------------------------------------------------------------------------------------------ */

/** Largest side of a case's thumbnail (the image and its prediction, in the cases to label). */
export const THUMB_SIDE = 64;

/** A split's thumbnails by image id, compact until the worst predicted ones are chosen. */
export type SplitThumbs = Map<string, { dims: [number, number]; image: Uint8Array; prediction: Int32Array }>;

/**
 * For `PassOptions.perBatch`: the grey preview and the predicted labels of every image of an
 * unlabelled split, at most THUMB_SIDE a side (a few kB an image), so that its worst predicted
 * images can be shown with their prediction once the sweep has ranked them, without running
 * them through the model again. The same preview and label rule as the maps (`mapImage`).
 */
export function thumbsCapture(run: Run, into: SplitThumbs): (batch: Batch, n: number) => Promise<void> {
  return async (batch, n) => {
    const { C0, spatial, numClasses } = run;
    const inL = prod(spatial);
    const outPerImage = prod(run.outDims);
    const inDepth = spatial.length === 3 ? spatial[0] : undefined;
    for (let b = 0; b < n; b++) {
      const item = batch.items[b];
      const pred = imageLabels(run, item, batch.output.data.subarray(b * outPerImage, (b + 1) * outPerImage), false).pred!;
      const g = greyPreview(batch.input.subarray(b * C0 * inL, (b + 1) * C0 * inL), C0, spatial, THUMB_SIDE);
      into.set(item.id, { dims: g.dims, image: Uint8Array.from(g.values), prediction: Int32Array.from(labelPlane(pred, run.outDims.slice(1), inDepth, g.dims, numClasses)) });
    }
  };
}

/** Gives the first `count` of `perImage` (the worst predicted) their thumbnails, as results.json holds them. */
export function attachThumbs(perImage: ImageEstimate[], thumbs: SplitThumbs, count: number): void {
  for (const e of perImage.slice(0, count)) {
    const t = thumbs.get(e.id);
    if (t) e.thumb = { dims: [...t.dims], image: Array.from(t.image), prediction: Array.from(t.prediction) };
  }
}
