/**
 * Maps: the per-image knnConfidence maps of METHOD.md §4 (metrics/confidence.ts).
 *
 * ## Maps (`results.maps.items`)
 *
 * For the first `mapsPerSplit` images of every split (segmentation and classification, when
 * train has labels): per tap, the knnConfidence of every location of the tap (3D: of its
 * plane that holds the input's middle slice) against the tap's train reference — the share of
 * its k nearest train points whose ground-truth label equals the location's predicted label.
 * On train itself, a location that is one of the reference points does not count itself
 * (leave-one-out, exactly as the per-tap metric); all other reference points count, including
 * neighbouring locations of the same image. Without sampling, the mean of a split's maps over
 * all its images is its per-tap knnConfidence. A tap plane wider than 128 cells is measured on
 * a grid of at most 128 a side (`mapSize`): each stored cell holds the knnConfidence of the tap
 * location that contains the cell's centre (`centreIndexMap`, the rule roughness uses to match
 * locations across taps), not of every location: the kNN work of a map is bounded by 128² queries
 * whatever the image size (a 1024² tap: 64× fewer). Values are rounded to 4 decimals. Beside them: a grey
 * preview of the model input (mean over channels, area-averaged to at most 128 px a side,
 * min–max scaled to 0..255), and the ground-truth and predicted label maps on the preview grid
 * (majority-pooled; classification: the image's label everywhere).
 */
import type { SplitSource } from '../data/splits';
import { centreIndexMap, knnConfidence, knnSearchAsync, type KnnResult } from '../metrics';
import { allFinite, greyPreview, labelPlane, mapSize, middleCell, planeOf, pointsOfImage, prod } from '../points';
import type { ImageMaps } from '../types';
import { checkCancel, round, type Run } from './context';
import { imageLabels, pointLabels, runBatch, type LabelCache } from './batch';
import type { TapReference, TrainReferences } from './trainReference';

/** Spatial knnConfidence maps of the first `mapsPerSplit` images of a split (see the file header). */
export async function mapsPass(
  run: Run,
  src: SplitSource,
  reference: TrainReferences,
  isTrain: boolean,
  nonFinite: Set<number>,
  onImage: (done: number, total: number) => void,
): Promise<ImageMaps[]> {
  const { settings, taps, C0, spatial, numClasses } = run;
  const count = Math.min(Math.max(0, Math.floor(settings.mapsPerSplit)), src.count);
  if (count === 0 || run.task === 'regression' || numClasses < 2) return [];
  const usable = taps
    .map((tap, ti) => ({ tap, ref: reference[ti] }))
    .filter(({ ref }, ti) => ref && ref.knn.labels && ref.knn.n > 1 && !nonFinite.has(ti)) as { tap: Run['taps'][number]; ref: TapReference }[];
  if (usable.length === 0) return [];
  const labeled = src.labeled;
  const inL = prod(spatial);
  const outPerImage = prod(run.outDims);
  const inDepth = spatial.length === 3 ? spatial[0] : undefined;
  const B = Math.max(1, settings.batchSize);
  const items: ImageMaps[] = [];
  for (let start = 0; start < count; start += B) {
    checkCancel(run.cancel);
    const n = Math.min(B, count - start);
    const batch = await runBatch(run, src, start, n);
    for (let b = 0; b < n; b++) {
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
      const confidence: ImageMaps['confidence'] = {};
      const cache: LabelCache = new Map();
      for (const { tap, ref } of usable) {
        checkCancel(run.cancel);
        const t = batch.taps.get(tap.info.name)!;
        const pts = pointsOfImage(t, b);
        const z = tap.dims.length === 3 ? middleCell(inDepth ?? tap.dims[0], tap.dims[0]) : 0;
        const plane = planeOf(tap.dims, z);
        const nq = plane.dims[0] * plane.dims[1];
        const qPlane = pts.subarray(plane.offset * tap.C, (plane.offset + nq) * tap.C);
        if (!allFinite(qPlane)) continue;
        const { pred } = pointLabels(run, il, tap.dims, cache);
        const predPlane = pred.subarray(plane.offset, plane.offset + nq);
        const dims = mapSize(plane.dims);
        // the measured locations: all of them, or one per stored cell (see the file header)
        const locs = dims[0] === plane.dims[0] && dims[1] === plane.dims[1] ? null : centreIndexMap(plane.dims, dims);
        let q = qPlane;
        let qPred = predPlane;
        if (locs) {
          q = new Float32Array(locs.length * tap.C);
          qPred = new Int32Array(locs.length);
          for (let r = 0; r < locs.length; r++) {
            q.set(qPlane.subarray(locs[r] * tap.C, (locs[r] + 1) * tap.C), r * tap.C);
            qPred[r] = predPlane[locs[r]];
          }
        }
        const values = await confidenceAt(run, ref, q, locs ? locs.length : nq, qPred, isTrain ? { image: start + b, offset: plane.offset, locs } : null);
        confidence[tap.info.name] = { dims, values: Array.from(values, (v) => round(v, 4)) };
        await new Promise((r) => setImmediate(r));
      }
      items.push({ split: src.name, image: item.id, preview, label, prediction, confidence });
      onImage(start + b + 1, count);
    }
  }
  return items;
}

/**
 * knnConfidence of each of `nq` points (row-major, the tap's C-vectors) with predicted labels
 * `pred`. `self` (train only): the image index, the flat location of the plane's first point
 * and the plane locations of the rows (null: row i is location i), so a point that is itself a
 * reference point leaves itself out (as `ref.self` does for the
 * per-tap metric); every other reference point counts.
 */
async function confidenceAt(
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
