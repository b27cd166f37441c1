/**
 * One batch, one image: reading, preprocessing and running a batch of a split's images, and
 * what the model predicts for an image and what its ground truth says (METHOD.md §2), each on
 * its own grid (analyze.ts, "Tasks").
 *
 * ## The prediction output (`model.activation`)
 *
 * `softmax`: C ≥ 2 class channels, label = argmax; `sigmoid`: one channel of logits,
 * foreground where > 0; `probability`: one channel in [0, 1], foreground where > 0.5. `auto`
 * takes `softmax` for C ≥ 2, and for one channel `probability` when every value of the first
 * batch lies in [0, 1], else `sigmoid`. The choice is checked against the output's channels
 * and the dataset's classes (softmax: C = number of classes; one channel: two classes) and
 * recorded as `model.activation` in the results. Regression ignores it.
 */
import type { SplitItem, SplitSource } from '../data/splits';
import { toModelInput, toLabelMap } from '../data/preprocess';
import { applyShift, noiseSeed, type Shift } from '../shift/transforms';
import { poolLabels, predictedLabels } from '../metrics';
import { allFinite, prod, resolveActivation } from '../points';
import { LensError, MASK_FAMILIES, type Tensor } from '../types';
import { checkCancel, type Run } from './context';

/** How the images of a batch are changed before the model runs (the shift sweep of METHOD.md §5). */
export interface BatchShift {
  /** Applied to every preprocessed image before the model runs. */
  shift?: Shift;
  /** Index of the copy in the sweep (the noise streams). */
  copy?: number;
}

/** Whether a shift needs the image's mask (the content families `distractors`, `dim` and `objects`). */
function needsMask(sh: Shift | undefined): boolean {
  if (!sh) return false;
  if (sh.family === 'mix') return (sh.parts ?? []).some((p) => MASK_FAMILIES.includes(p.family));
  return sh.family !== 'none' && MASK_FAMILIES.includes(sh.family);
}

/** Settles how the output is read (`model.activation`) on the first batch, checked against the classes. */
function settleActivation(run: Run, output: Tensor): void {
  if (run.activation || run.task === 'regression') return;
  const K = output.dims[1];
  const mode = resolveActivation(run.cfg.model.activation, K, output.data);
  const shown = `${run.model.path}: the prediction output "${run.model.outputName}" has ${K} channel${K === 1 ? '' : 's'}`;
  const classes = `${run.numClasses} classes (${run.cfg.classes.join(', ')})`;
  if (mode === 'softmax' && K !== run.numClasses) {
    throw new LensError(`${shown}, one per class, but the dataset file ${run.cfg.path} lists ${classes}`, 'dataset', run.cfg.path);
  }
  if (mode !== 'softmax' && run.numClasses !== 2) {
    throw new LensError(`${shown}, read as "${mode}" (background/foreground), but the dataset file ${run.cfg.path} lists ${classes}`, 'dataset', run.cfg.path);
  }
  run.activation = mode;
  run.log(`prediction output read as "${mode}"${run.cfg.model.activation === 'auto' ? ' (model.activation "auto")' : ''}`);
}

/* ------------------------------------------------------------------------------------------ */
/* One batch, one image                                                                         */
/* ------------------------------------------------------------------------------------------ */
export interface Batch {
  items: SplitItem[];
  /** n × C0 × inL model input. */
  input: Float32Array;
  output: Tensor;
  taps: Map<string, Tensor>;
}

/**
 * Warns (once per split and kind) about raw values that do not suit `input.scale`, the
 * usual sign of 16-bit images read with an 8-bit scale, which gives wrong numbers silently:
 * - values beyond the range the scale implies (raw × scale above 1.05 when scale < 1: a
 *   scale of 1/255 means raw values in [0, 255]);
 * - images of different bit depths in one split (some fit in 8 bits, some go above 255): one
 *   scale cannot suit both.
 */
export function checkScaling(run: Run, split: string, file: string, raw: Float32Array): void {
  const scale = run.cfg.input.scale;
  let seen = (run.scaling ??= new Map()).get(split);
  if (!seen) run.scaling.set(split, (seen = { seen: new Set<string>() }));
  if (seen.seen.has(file)) return;
  seen.seen.add(file);
  let max = -Infinity;
  for (let i = 0; i < raw.length; i++) if (raw[i] > max) max = raw[i];
  if (!Number.isFinite(max)) return;
  const name = file.split(/[\\/]/).pop();
  if (scale > 0 && scale < 1 && max * scale > 1.05 && !seen.warnedRange) {
    seen.warnedRange = true;
    run.warnings.push(
      `Split "${split}": ${name} has raw values up to ${max}, but input.scale ${+scale.toPrecision(4)} implies raw values in [0, ${+(1 / scale).toPrecision(4)}] ` +
        `(scaled values up to ${+(max * scale).toPrecision(4)}): a 16-bit image with an 8-bit scale? Check input.scale; the numbers may be wrong.`,
    );
  }
  if (max > 1 && max <= 255) seen.eightBit ??= name;
  else if (max > 255 && (!seen.wide || max > seen.wide.max)) seen.wide = { file: name ?? file, max };
  if (seen.eightBit && seen.wide && !seen.warnedMixed) {
    seen.warnedMixed = true;
    run.warnings.push(
      `Split "${split}": images of different bit depths: ${seen.eightBit} fits in 8 bits, ${seen.wide.file} has values up to ${seen.wide.max}; ` +
        `one input.scale (${+scale.toPrecision(4)}) cannot suit both, so some images reach the model scaled wrong.`,
    );
  }
}

/** Reads, preprocesses and runs images [start, start + n) of a split; checks what comes back. */
export async function runBatch(run: Run, src: SplitSource, start: number, n: number, po: BatchShift = {}): Promise<Batch> {
  const { C0, spatial, model, cfg } = run;
  const inL = prod(spatial);
  const items: SplitItem[] = [];
  const input = new Float32Array(n * C0 * inL);
  for (let b = 0; b < n; b++) {
    let item = src.read(start + b);
    if (!po.shift) checkScaling(run, src.name, item.imageFile, item.image.data);
    const x = toModelInput(item.image, cfg.input, spatial, item.imageFile);
    if (x.length !== C0 * inL) {
      throw new LensError(`${item.imageFile}: preprocessed to ${x.length} values, the model takes ${C0}×${spatial.join('×')}`, 'data', item.imageFile);
    }
    if (!allFinite(x)) {
      throw new LensError(`${item.imageFile}: the image holds NaN or Inf values (after preprocessing); the model cannot be run on it`, 'data', item.imageFile);
    }
    if (po.shift) {
      const mask = needsMask(po.shift) && item.label ? toLabelMap(item.label, spatial, cfg.input.resize) : null;
      const moved = applyShift(x, C0, spatial, po.shift, cfg.input, noiseSeed(run.settings.seed, po.copy ?? 0, start + b), mask);
      // `objects` grows or shrinks the objects: the changed mask (on the input grid) is the copy's label.
      if (moved) item = { ...item, label: { data: moved, dims: spatial.slice() } };
    }
    items.push(item);
    input.set(x, b * C0 * inL);
  }
  const { output, taps } = await model.run({ data: input, dims: [n, C0, ...spatial] });
  if (!allFinite(output.data)) {
    throw new LensError(
      `${model.path}: the model's prediction output "${model.outputName}" holds NaN or Inf for image${n > 1 ? 's' : ''} ${items.map((i) => i.id).join(', ')} of split "${src.name}"`,
      'model',
      model.path,
    );
  }
  settleActivation(run, output);
  return { items, input, output, taps };
}

/** What the model predicts for an image and what its ground truth says, each on its own grid. */
export interface ImageLabels {
  /** Segmentation: predicted label per output pixel; classification: [class]; regression: null. */
  pred: Int32Array | null;
  /** Segmentation: ground truth on the model input grid; classification: [label]; null: none. */
  gt: Int32Array | null;
}

export function imageLabels(run: Run, item: SplitItem, out: Float32Array, labeled: boolean): ImageLabels {
  if (run.task === 'classification') {
    // one score per class (N×K or N×K×1×1): the class rule of the segmentation maps on a 1-cell grid
    const pred = predictedLabels(out, [run.outDims[0], 1], run.activation!);
    return { pred, gt: labeled && item.label ? Int32Array.of(item.label.data[0]) : null };
  }
  if (run.task === 'segmentation') {
    const pred = predictedLabels(out, run.outDims, run.activation!);
    const gt = labeled && item.label ? toLabelMap(item.label, run.spatial, run.cfg.input.resize) : null;
    return { pred, gt };
  }
  return { pred: null, gt: null };
}

/** Per tap grid (key: its dims) within one image: the points' labels, and their strata and image index once needed. */
export type LabelCache = Map<string, { gt: Int32Array; pred: Int32Array; stratum?: Int32Array; image?: Int32Array }>;

/** Labels of the L points of a tap grid (cached per grid within one image). */
export function pointLabels(run: Run, il: ImageLabels, dims: number[], cache: LabelCache): { gt: Int32Array; pred: Int32Array; stratum?: Int32Array; image?: Int32Array } {
  const key = dims.join('x');
  const hit = cache.get(key);
  if (hit) return hit;
  const L = prod(dims);
  let gt: Int32Array;
  let pred: Int32Array;
  if (run.task === 'classification') {
    gt = new Int32Array(L).fill(il.gt ? il.gt[0] : -1);
    pred = new Int32Array(L).fill(il.pred![0]);
  } else if (run.task === 'segmentation') {
    gt = il.gt ? poolLabels(il.gt, run.spatial, dims, run.numClasses) : new Int32Array(L).fill(-1);
    pred = poolLabels(il.pred!, run.outDims.slice(1), dims, run.numClasses);
  } else {
    gt = new Int32Array(L).fill(-1);
    pred = new Int32Array(L);
  }
  const res: { gt: Int32Array; pred: Int32Array; stratum?: Int32Array; image?: Int32Array } = { gt, pred };
  cache.set(key, res);
  return res;
}

/** A regression target in the model's output space: preprocessed like the images, sized like the output. */
export function targetForOutput(run: Run, item: SplitItem): Float32Array | null {
  const t = item.target;
  if (!t) return null;
  const [oc, ...osp] = run.outDims;
  const where = item.labelFile ?? item.imageFile;
  if (t.dims[0] !== oc) {
    throw new LensError(
      `${where}: the target has ${t.dims[0]} channel${t.dims[0] === 1 ? '' : 's'} but the prediction output "${run.model.outputName}" of ${run.model.path} has ${oc}`,
      'data',
      where,
    );
  }
  return toModelInput(t, { ...run.cfg.input, channels: oc }, osp, where);
}

/** Regression: R = max − min of the train targets (else of the first labelled split's) in the output space. */
export function targetRange(run: Run, sources: SplitSource[]): number | undefined {
  const src = sources.find((s) => s.name === 'train' && s.labeled) ?? sources.find((s) => s.labeled);
  if (!src) return undefined;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < src.count; i++) {
    checkCancel(run.cancel);
    const item = src.read(i);
    const t = targetForOutput(run, item);
    if (!t) continue;
    for (let j = 0; j < t.length; j++) {
      const v = t[j];
      if (!Number.isFinite(v)) {
        throw new LensError(`${item.labelFile ?? item.imageFile}: the target holds NaN or Inf values`, 'data', item.labelFile ?? item.imageFile);
      }
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  const R = max - min;
  if (!(R > 0)) {
    run.warnings.push(`Split "${src.name}": every target value is ${min}; PSNR and SSIM use the data range 1.`);
    return 1;
  }
  run.log(`regression: data range R = ${R} (max − min of the targets of split "${src.name}", preprocessed like the images)`);
  return R;
}

