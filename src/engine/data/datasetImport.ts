/**
 * `unet-lens init <folder>` and **UNet Lens: Create Dataset File…**: reads the dataset.json of
 * an nnU-Net v2 raw dataset folder or of a Medical Segmentation Decathlon (MSD) task folder and
 * builds the matching unetlens.json. Pure Node, no `vscode`: the CLI and the extension share it.
 *
 * nnU-Net v2 (`channel_names`, `labels`, `file_ending`; imagesTr/labelsTr/imagesTs):
 * - classes: the `labels` names ordered by value (0..K−1, consecutive; region-based labels,
 *   whose values are lists, cannot be one class map and are refused);
 * - channels: one file per channel, `<case>_0000<file_ending>`, `<case>_0001…` →
 *   `input.channelFiles`;
 * - splits: `train` = imagesTr/labelsTr; with nnU-Net's `splits_final.json` (in the dataset's
 *   nnUNet_preprocessed folder), fold `fold`'s train cases are `train` and its val cases a
 *   labelled `validation` split (`cases` lists); imagesTs (+ labelsTs when present) → `test`;
 * - normalisation per channel name, as nnU-Net v2 maps it: "CT" → clip to the fingerprint's
 *   foreground percentiles 0.5/99.5, then its foreground mean/std (dataset_fingerprint.json;
 *   without it, computed here from the training foreground voxels); "noNorm" → none;
 *   "rescale_to_0_1" → min-max; "rgb_to_0_1" → /255; anything else → per-case z-score.
 * - size: the patch size of nnUNetPlans.json (3d_fullres, or 2d for 2D data), centre-cropped;
 *   without plans, the first training case's size (resized).
 *
 * MSD (`modality`, `labels` {"0": "background", …}, `training` [{image, label}], `test`): one
 * (4D for several modalities) NIfTI per case, channels along the 4th axis; the same
 * normalisation rules by modality name. The nnU-Net v1 variant (dataset.json lists
 * `case.nii.gz`, the folder holds `case_0000.nii.gz`) is recognised and read as channel files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LensError, type Normalization } from '../types';
import { baseNameOf, extOf, readerFor, rawToLabel, type RawImage } from './formats';
import { groupChannelFiles } from './caseFolders';
import { validateDatasetJson } from './datasetFile';

export interface ImportOptions {
  /** nnU-Net fold whose val cases become the `validation` split (default 0). */
  fold?: number;
  /** dataset_fingerprint.json to use (default: looked for, see {@link nnunetSideFolders}). */
  fingerprint?: string;
  /** nnUNetPlans.json to use (default: looked for). */
  plans?: string;
  /** Environment (for `nnUNet_preprocessed`); default process.env. */
  env?: Record<string, string | undefined>;
  /** Training cases read at most to compute CT statistics when there is no fingerprint (default 20). */
  maxFingerprintCases?: number;
}

export interface ImportResult {
  kind: 'nnunet' | 'msd' | 'nnunet-v1';
  /** The dataset file's content (valid against media/unetlens.schema.json). */
  json: Record<string, unknown>;
  /** What the user should know: where numbers came from, what was guessed. */
  notes: string[];
  /** The dataset.json read. */
  source: string;
}

/** Where a dataset file is written by default. */
export const DEFAULT_DATASET_FILE = 'unetlens.json';

type Json = Record<string, unknown>;

function fail(msg: string, where: string): never {
  throw new LensError(msg, 'dataset', where);
}

function readJson(file: string, what: string): Json {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    fail(`${what} ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, file);
  }
  try {
    const v = JSON.parse(text.replace(/^\uFEFF/, '')) as unknown;
    if (!v || typeof v !== 'object') fail(`${what} ${file} does not hold a JSON object`, file);
    return v as Json;
  } catch (e) {
    if (e instanceof LensError) throw e;
    fail(`${what} ${file} is not valid JSON (${(e as Error).message})`, file);
  }
}

const exists = (p: string) => fs.existsSync(p);
const isDir = (p: string) => {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/**
 * Folders where nnU-Net keeps a raw dataset's fingerprint, plans and splits: the dataset
 * folder itself, `$nnUNet_preprocessed/<name>`, and a sibling `nnUNet_preprocessed/<name>` of
 * the raw folder's parent (the usual nnUNet_raw / nnUNet_preprocessed / nnUNet_results tree).
 */
export function nnunetSideFolders(folder: string, env: Record<string, string | undefined>, p: typeof path = path): string[] {
  const name = p.basename(folder);
  const out = [folder];
  if (env.nnUNet_preprocessed) out.push(p.join(env.nnUNet_preprocessed, name));
  out.push(p.join(p.dirname(p.dirname(folder)), 'nnUNet_preprocessed', name));
  out.push(p.join(p.dirname(folder), 'nnUNet_preprocessed', name));
  return [...new Set(out)];
}

function findSide(folders: string[], file: string, given?: string): string | undefined {
  if (given) {
    if (!exists(given)) fail(`${given} does not exist`, given);
    return given;
  }
  return folders.map((f) => path.join(f, file)).find(exists);
}

/** nnU-Net v2's normalisation by channel name (nnunetv2/preprocessing/normalization/map_channel_name_to_normalization.py). */
export function normalizationForChannel(name: string): 'ct' | 'none' | 'minmax' | 'rgb' | 'zscore' {
  switch (name.trim().toLowerCase()) {
    case 'ct':
      return 'ct';
    case 'nonorm':
      return 'none';
    case 'rescale_to_0_1':
      return 'minmax';
    case 'rgb_to_0_1':
      return 'rgb';
    default:
      return 'zscore';
  }
}

/** Linear-interpolated percentile of sorted values (numpy's default). */
export function percentileSorted(sorted: Float64Array | number[], q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = (q / 100) * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

interface ChannelStats {
  mean: number;
  std: number;
  p005: number;
  p995: number;
  voxels: number;
}

/** Foreground (label > 0) intensity statistics of one channel over some cases. */
function foregroundStats(values: number[]): ChannelStats {
  const v = Float64Array.from(values).sort();
  let s = 0;
  for (const x of v) s += x;
  const mean = s / v.length;
  let ss = 0;
  for (const x of v) ss += (x - mean) * (x - mean);
  return { mean, std: Math.sqrt(ss / v.length), p005: percentileSorted(v, 0.5), p995: percentileSorted(v, 99.5), voxels: v.length };
}

interface Case {
  id: string;
  /** One file per channel, or one file holding every channel. */
  images: string[];
  label?: string;
}

function classesFromLabels(labels: unknown, file: string, style: 'nnunet' | 'msd'): { classes: string[]; notes: string[] } {
  if (!labels || typeof labels !== 'object' || Array.isArray(labels)) fail(`${file}: "labels" must be an object (got ${JSON.stringify(labels)})`, file);
  const pairs: [string, number][] = [];
  const notes: string[] = [];
  for (const [k, v] of Object.entries(labels as Json)) {
    if (style === 'nnunet') {
      if (Array.isArray(v)) {
        fail(
          `${file}: label "${k}" is a region (${JSON.stringify(v)}): region-based labels overlap, so they cannot be one class map; UNet Lens needs one class per label value`,
          file,
        );
      }
      if (typeof v !== 'number' || !Number.isInteger(v)) fail(`${file}: label "${k}" must be an integer value (got ${JSON.stringify(v)})`, file);
      pairs.push([k, v]);
    } else {
      if (!/^\d+$/.test(k)) fail(`${file}: "labels" keys must be the label values "0", "1", … (got "${k}")`, file);
      pairs.push([String(v), Number(k)]);
    }
  }
  pairs.sort((a, b) => a[1] - b[1]);
  pairs.forEach(([name, v], i) => {
    if (v !== i) {
      fail(
        `${file}: label values must be consecutive from 0 (got ${pairs.map(([n, x]) => `${n}=${x}`).join(', ')}); UNet Lens reads masks as class indices 0..${pairs.length - 1}`,
        file,
      );
    }
    if (name.toLowerCase() === 'ignore') notes.push(`label "ignore" (value ${v}) is counted as a class of its own`);
  });
  if (pairs.length < 2) fail(`${file}: "labels" must list at least 2 labels, background included (got ${pairs.length})`, file);
  return { classes: pairs.map(([n]) => n), notes };
}

function channelNames(obj: unknown, key: string, file: string): string[] {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) fail(`${file}: "${key}" must be an object {"0": "T2", …} (got ${JSON.stringify(obj)})`, file);
  const entries = Object.entries(obj as Json);
  const out: string[] = [];
  entries.forEach(([k, v]) => {
    if (!/^\d+$/.test(k) || Number(k) >= entries.length) fail(`${file}: "${key}" keys must be "0".."${entries.length - 1}" (got "${k}")`, file);
    out[Number(k)] = String(v);
  });
  if (out.length === 0) fail(`${file}: "${key}" is empty: at least one input channel`, file);
  return out;
}

const READABLE_ENDINGS = ['.nii.gz', '.nii', '.png', '.tif', '.tiff', '.npy'];
const READABLE_3D = ['.nii.gz', '.nii'];

/** Reads a case's image (channels stacked) with the given layout. */
function readCase(c: Case, layout: 'NCHW' | 'NCDHW', channels = 1): RawImage {
  const parts = c.images.map((f) => readerFor(f)!.read(f, { role: 'image', channels: c.images.length === 1 ? channels : 1, layout }));
  if (parts.length === 1) return parts[0];
  const n = parts[0].data.length;
  const data = new Float32Array(parts.length * n);
  parts.forEach((p, i) => data.set(p.data, i * n));
  return { data, dims: [parts.length, ...parts[0].dims.slice(1)] };
}

/**
 * Reads `<folder>/dataset.json` (nnU-Net v2 or MSD) and builds the unetlens.json for it.
 * Touches no file but reads: the dataset.json, folder listings, nnU-Net's plans / fingerprint /
 * splits when found, and the first training case (for the size and 2D/3D), plus — only for CT
 * channels without a fingerprint — up to `maxFingerprintCases` training cases.
 * Throws LensError(kind 'dataset') naming the file and what is wrong.
 */
export function importDataset(folder: string, opts: ImportOptions = {}): ImportResult {
  const root = path.resolve(folder);
  if (!isDir(root)) fail(`${root} is not a folder`, root);
  const source = path.join(root, 'dataset.json');
  if (!exists(source)) {
    fail(
      `no dataset.json in ${root}: expected an nnU-Net v2 raw dataset (dataset.json with channel_names, labels, file_ending; imagesTr, labelsTr) or a Medical Segmentation Decathlon task folder (dataset.json with modality, labels, training)`,
      root,
    );
  }
  const ds = readJson(source, 'dataset.json');
  const env = opts.env ?? process.env;
  const side = nnunetSideFolders(root, env);
  const notes: string[] = [];
  const rel = (p: string) => path.relative(root, p).split(path.sep).join('/');

  let kind: ImportResult['kind'];
  let names: string[];
  let classes: string[];
  let channelFiles: string[] | undefined;
  let ending: string;
  const train: Case[] = [];
  let trainCasesSubset: string[] | undefined;
  let testImages: string | undefined;
  let testLabels: string | undefined;
  let testCases: string[] | undefined;

  if ('channel_names' in ds || 'file_ending' in ds) {
    // ------------------------------------------------------------------ nnU-Net v2
    kind = 'nnunet';
    for (const k of ['channel_names', 'labels', 'file_ending']) if (!(k in ds)) fail(`${source}: "${k}" is missing (an nnU-Net v2 dataset.json has channel_names, labels and file_ending)`, source);
    names = channelNames(ds.channel_names, 'channel_names', source);
    const cl = classesFromLabels(ds.labels, source, 'nnunet');
    classes = cl.classes;
    notes.push(...cl.notes);
    ending = String(ds.file_ending).toLowerCase();
    if (!READABLE_ENDINGS.includes(ending)) {
      fail(`${source}: file_ending "${ds.file_ending}" cannot be read by UNet Lens (it reads ${READABLE_ENDINGS.join(', ')}); convert the images, e.g. with SimpleITK, to .nii.gz`, source);
    }
    channelFiles = names.map((_, c) => `_${String(c).padStart(4, '0')}`);
    const imagesTr = path.join(root, 'imagesTr');
    // nnU-Net's natural images (PNG/TIFF RGB): one _0000 file holds every channel.
    if (names.length > 1 && !READABLE_3D.includes(ending) && isDir(imagesTr)) {
      const listed = fs.readdirSync(imagesTr);
      if (!listed.some((n) => n.endsWith(`_0001${ending}`)) && listed.some((n) => n.endsWith(`_0000${ending}`))) channelFiles = ['_0000'];
    }
    const labelsTr = path.join(root, 'labelsTr');
    if (!isDir(imagesTr)) fail(`${root} has no imagesTr folder (nnU-Net's training images: <case>_0000${ending}, …)`, imagesTr);
    if (!isDir(labelsTr)) fail(`${root} has no labelsTr folder (nnU-Net's training labels: <case>${ending})`, labelsTr);
    const listing = groupChannelFiles(
      fs.readdirSync(imagesTr).filter((n) => !n.startsWith('.') && n.toLowerCase().endsWith(ending)),
      channelFiles,
      imagesTr,
      'imagesTr',
    );
    for (const id of listing.ids) {
      const label = path.join(labelsTr, `${id}${ending}`);
      if (!exists(label)) fail(`case "${id}" has images in imagesTr but no label labelsTr/${id}${ending}`, label);
      train.push({ id, images: listing.files.get(id)!, label });
    }
    if (typeof ds.numTraining === 'number' && ds.numTraining !== train.length) {
      notes.push(`dataset.json says numTraining ${ds.numTraining}; imagesTr holds ${train.length} cases (the files are used)`);
    }
    if (isDir(path.join(root, 'imagesTs'))) {
      const ts = groupChannelFiles(
        fs.readdirSync(path.join(root, 'imagesTs')).filter((n) => !n.startsWith('.') && n.toLowerCase().endsWith(ending)),
        channelFiles,
        path.join(root, 'imagesTs'),
        'imagesTs',
      );
      if (ts.ids.length) {
        testImages = 'imagesTs';
        if (isDir(path.join(root, 'labelsTs')) && ts.ids.every((id) => exists(path.join(root, 'labelsTs', `${id}${ending}`)))) testLabels = 'labelsTs';
      }
    }
  } else if ('modality' in ds || 'training' in ds) {
    // ------------------------------------------------------------------ MSD (and nnU-Net v1)
    kind = 'msd';
    for (const k of ['modality', 'labels', 'training']) if (!(k in ds)) fail(`${source}: "${k}" is missing (a Decathlon dataset.json has modality, labels and training)`, source);
    names = channelNames(ds.modality, 'modality', source);
    classes = classesFromLabels(ds.labels, source, 'msd').classes;
    if (!Array.isArray(ds.training) || ds.training.length === 0) fail(`${source}: "training" must be a non-empty list of {"image", "label"}`, source);
    const entries = ds.training as Json[];
    const first = entries[0];
    if (typeof first?.image !== 'string') fail(`${source}: training[0].image must be a path such as "./imagesTr/case_001.nii.gz"`, source);
    ending = extOf(first.image as string);
    if (!READABLE_ENDINGS.includes(ending)) fail(`${source}: ${first.image}: UNet Lens reads ${READABLE_ENDINGS.join(', ')}`, source);
    const firstPath = path.resolve(root, first.image as string);
    if (!exists(firstPath)) {
      const v1 = path.join(path.dirname(firstPath), `${baseNameOf(firstPath)}_0000${ending}`);
      if (!exists(v1)) fail(`${source}: training[0].image ${first.image} does not exist (nor ${rel(v1)})`, firstPath);
      kind = 'nnunet-v1';
      channelFiles = names.map((_, c) => `_${String(c).padStart(4, '0')}`);
    }
    const imageDirs = new Set<string>();
    const labelDirs = new Set<string>();
    entries.forEach((e, i) => {
      if (typeof e?.image !== 'string' || typeof e?.label !== 'string') fail(`${source}: training[${i}] must be {"image": …, "label": …}`, source);
      const img = path.resolve(root, e.image as string);
      const lab = path.resolve(root, e.label as string);
      const id = baseNameOf(img);
      const images = channelFiles ? channelFiles.map((s) => path.join(path.dirname(img), `${id}${s}${ending}`)) : [img];
      for (const f of images) if (!exists(f)) fail(`${source}: training[${i}]: ${rel(f)} does not exist`, f);
      if (!exists(lab)) fail(`${source}: training[${i}]: label ${rel(lab)} does not exist`, lab);
      imageDirs.add(path.dirname(img));
      labelDirs.add(path.dirname(lab));
      train.push({ id, images, label: lab });
    });
    if (imageDirs.size !== 1 || labelDirs.size !== 1) fail(`${source}: the training images (and labels) must be in one folder each (found ${[...imageDirs].map(rel).join(', ')})`, source);
    // Only the listed cases when the folder holds more.
    const dirNames = fs.readdirSync([...imageDirs][0]).filter((n) => !n.startsWith('.') && n.toLowerCase().endsWith(ending));
    const onDisk = channelFiles ? groupChannelFiles(dirNames, channelFiles, [...imageDirs][0], rel([...imageDirs][0])).ids : dirNames.map(baseNameOf);
    if (onDisk.length !== train.length) trainCasesSubset = train.map((c) => c.id);
    if (Array.isArray(ds.test) && ds.test.length > 0) {
      const t = (ds.test as unknown[]).map((x) => path.resolve(root, String(typeof x === 'object' && x ? (x as Json).image : x)));
      const dirs = new Set(t.map((f) => path.dirname(f)));
      if (dirs.size === 1 && isDir([...dirs][0])) {
        testImages = rel([...dirs][0]);
        const tsNames = fs.readdirSync([...dirs][0]).filter((n) => !n.startsWith('.') && n.toLowerCase().endsWith(ending));
        const tsIds = channelFiles ? groupChannelFiles(tsNames, channelFiles, [...dirs][0], testImages).ids : tsNames.map(baseNameOf);
        if (tsIds.length !== t.length) testCases = t.map((f) => baseNameOf(f));
      } else {
        notes.push(`the "test" images are not in one folder: no test split`);
      }
    }
  } else {
    fail(`${source} is neither an nnU-Net v2 dataset.json (channel_names, labels, file_ending) nor a Decathlon one (modality, labels, training)`, source);
  }
  if (train.length === 0) fail(`${root}: no training cases found`, root);

  // ------------------------------------------------------------------ 2D or 3D, size
  const threeD = READABLE_3D.includes(ending);
  let layout: 'NCHW' | 'NCDHW' = threeD ? 'NCDHW' : 'NCHW';
  const firstImage = readCase(train[0], layout, names.length);
  if (firstImage.dims[0] !== names.length) {
    fail(
      `case "${train[0].id}" (${rel(train[0].images[0])}) holds ${firstImage.dims[0]} channel(s) but dataset.json names ${names.length} (${names.join(', ')})`,
      train[0].images[0],
    );
  }
  if (threeD && firstImage.dims[1] === 1) layout = 'NCHW';
  let spatial = firstImage.dims.slice(1);
  if (layout === 'NCHW' && spatial.length === 3) spatial = spatial.slice(1);

  const plansFile = findSide(side, 'nnUNetPlans.json', opts.plans);
  let size = spatial;
  let resize: 'resize' | 'crop' = 'resize';
  if (plansFile) {
    const plans = readJson(plansFile, 'nnUNetPlans.json');
    const configs = (plans.configurations ?? {}) as Record<string, Json>;
    const cfgName = layout === 'NCDHW' ? '3d_fullres' : '2d';
    const patch = configs[cfgName]?.patch_size;
    if (Array.isArray(patch) && patch.length === spatial.length && patch.every((x) => Number.isInteger(x) && (x as number) > 0)) {
      size = patch as number[];
      resize = 'crop';
      notes.push(`input.size ${size.join('×')}: the ${cfgName} patch size of ${plansFile}; each case is centre-cropped to it (nnU-Net predicts by sliding window at its target spacing: resample the cases to that spacing for numbers that match nnU-Net's)`);
    } else {
      notes.push(`${plansFile} has no usable configurations.${cfgName}.patch_size; input.size is the first case's size`);
    }
  }
  if (!plansFile || resize === 'resize') {
    notes.push(`input.size ${size.join('×')}: the size of the first training case (${train[0].id}); every case is resized to it. Set it to the size your model was trained on`);
  }

  // ------------------------------------------------------------------ normalisation
  const normalize: Normalization[] = [];
  const mean: number[] = [];
  const std: number[] = [];
  const fpFile = findSide(side, 'dataset_fingerprint.json', opts.fingerprint);
  let fp: Json | undefined;
  let computed: ChannelStats[] | undefined;
  const computeStats = (): ChannelStats[] => {
    const max = opts.maxFingerprintCases ?? 20;
    const cases = train.slice(0, max);
    const per: number[][] = names.map(() => []);
    for (const c of cases) {
      const img = readCase(c, layout, names.length);
      const lab = rawToLabel(readerFor(c.label!)!.read(c.label!, { role: 'label', channels: 1, layout }), c.label!);
      const n = lab.data.length;
      for (let ch = 0; ch < names.length; ch++) for (let i = 0; i < n; i++) if (lab.data[i] > 0) per[ch].push(img.data[ch * n + i]);
    }
    if (per[0].length === 0) fail(`no foreground voxels (label > 0) in the first ${cases.length} training cases: the CT statistics cannot be computed; give --fingerprint`, source);
    notes.push(`CT normalisation computed from the foreground voxels (label > 0) of ${cases.length} of ${train.length} training cases (${per[0].length} voxels); nnU-Net's fingerprint samples them at random, so its numbers differ slightly. Put dataset_fingerprint.json next to dataset.json to use nnU-Net's`);
    return per.map(foregroundStats);
  };
  names.forEach((name, c) => {
    const how = normalizationForChannel(name);
    if (how === 'ct') {
      let st: { mean: number; std: number; p005: number; p995: number } | undefined;
      if (fpFile) {
        fp ??= readJson(fpFile, 'dataset_fingerprint.json');
        const props = (fp.foreground_intensity_properties_per_channel as Record<string, Json> | undefined)?.[String(c)];
        if (props && ['mean', 'std', 'percentile_00_5', 'percentile_99_5'].every((k) => typeof props[k] === 'number')) {
          st = { mean: props.mean as number, std: props.std as number, p005: props.percentile_00_5 as number, p995: props.percentile_99_5 as number };
          notes.push(`channel ${c} (${name}): CT normalisation from ${fpFile}`);
        } else {
          notes.push(`${fpFile} has no foreground_intensity_properties_per_channel["${c}"] with mean, std, percentile_00_5, percentile_99_5`);
        }
      }
      if (!st) st = (computed ??= computeStats())[c];
      normalize.push({ clip: [st.p005, st.p995] });
      mean.push(st.mean);
      std.push(Math.max(st.std, 1e-8));
    } else if (how === 'zscore') {
      normalize.push('zscore');
      mean.push(0);
      std.push(1);
    } else if (how === 'minmax') {
      normalize.push('minmax');
      mean.push(0);
      std.push(1);
    } else {
      normalize.push('fixed');
      mean.push(0);
      std.push(how === 'rgb' ? 255 : 1);
    }
  });

  // ------------------------------------------------------------------ splits
  const splitsOut: Record<string, Json> = {};
  const imagesDir = rel(path.dirname(train[0].images[0]));
  const labelsDir = rel(path.dirname(train[0].label!));
  const splitsFile = kind === 'msd' ? undefined : findSide(side, 'splits_final.json');
  const fold = opts.fold ?? 0;
  if (splitsFile) {
    const folds = JSON.parse(fs.readFileSync(splitsFile, 'utf8')) as { train: string[]; val: string[] }[];
    if (!Array.isArray(folds) || !folds[fold] || !Array.isArray(folds[fold].train) || !Array.isArray(folds[fold].val)) {
      fail(`${splitsFile}: no fold ${fold} with "train" and "val" lists (${Array.isArray(folds) ? folds.length : 0} folds)`, splitsFile);
    }
    const known = new Set(train.map((c) => c.id));
    for (const id of [...folds[fold].train, ...folds[fold].val]) {
      if (!known.has(id)) fail(`${splitsFile}: fold ${fold} names case "${id}", which is not in ${imagesDir}`, splitsFile);
    }
    splitsOut.train = { images: imagesDir, labels: labelsDir, cases: folds[fold].train };
    splitsOut.validation = { images: imagesDir, labels: labelsDir, cases: folds[fold].val };
    notes.push(`train / validation: fold ${fold} of ${splitsFile} (${folds[fold].train.length} / ${folds[fold].val.length} cases); analyze the model trained on that fold`);
  } else {
    splitsOut.train = { images: imagesDir, labels: labelsDir, ...(trainCasesSubset ? { cases: trainCasesSubset } : {}) };
    if (kind !== 'msd') notes.push(`no splits_final.json found (looked in ${side.map((s) => rel(s) || '.').join(', ')}): every training case is in "train"`);
  }
  if (testImages) {
    splitsOut.test = { images: testImages, ...(testLabels ? { labels: testLabels } : {}), ...(testCases ? { cases: testCases } : {}) };
  }

  const json: Json = {
    task: 'segmentation',
    classes,
    input: {
      layout,
      size,
      channels: names.length,
      ...(channelFiles ? { channelFiles } : {}),
      normalize: normalize.every((n) => JSON.stringify(n) === JSON.stringify(normalize[0])) ? [normalize[0]] : normalize,
      scale: 1,
      mean: mean.every((m) => m === mean[0]) ? [mean[0]] : mean,
      std: std.every((s) => s === std[0]) ? [std[0]] : std,
      resize,
    },
    splits: splitsOut,
    model: { output: 'auto', activation: 'softmax' },
  };
  // The result must be a valid dataset file (a bug here must not reach the user's folder).
  validateDatasetJson(json, path.join(root, DEFAULT_DATASET_FILE));
  return { kind, json, notes, source };
}

/**
 * Writes a dataset file; never replaces an existing one unless `overwrite` (the check and the
 * write are one exclusive-create, so a file appearing meanwhile is not lost either).
 * Throws LensError(kind 'dataset') with code-like message "… already exists" otherwise.
 */
export function writeDatasetFile(file: string, json: Json, overwrite = false): void {
  const text = `${JSON.stringify(json, null, 2)}\n`;
  try {
    fs.writeFileSync(file, text, { flag: overwrite ? 'w' : 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new LensError(`${file} already exists; it was left as it is (choose another name, or replace it explicitly: --force)`, 'dataset', file);
    }
    throw new LensError(`${file} cannot be written (${(e as Error).message})`, 'dataset', file);
  }
}
