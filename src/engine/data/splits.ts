/**
 * A split of the dataset as a lazy list of items: listing reads folder entries and array
 * headers only; `read(i)` reads one image (and its label) at a time.
 *
 * Sources:
 * - folder: the files with a supported extension (see READERS), sorted by name (natural
 *   order: img2 before img10); other files are skipped with a note. Images and labels are
 *   paired by base name, extension ignored (`case001.png` ↔ `case001.npy`). A sub-folder
 *   holding a DICOM series is one item named after the folder (`case001/` ↔ `case001.nii.gz`).
 * - array file: one .npy/.npz of N×H×W, N×C×H×W or N×H×W×C (N×D×H×W… for 3D layouts); images
 *   and labels arrays are paired by index.
 * - classification labels: a CSV `file,label` (label = class name or index; a header row is
 *   allowed), a folder with one sub-folder per class (files paired with images by base name;
 *   when `labels` is the images folder itself, the images are read from the class
 *   sub-folders, like torchvision's ImageFolder), or an .npy/.npz of N class indices.
 * - regression labels: target images, read like images.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LensError, type DatasetConfig, type SplitConfig } from '../types';
import { isCaseSplit, listCaseSplit } from './caseFolders';
import type { SplitItem, SplitSource } from './splitSource';

export type { SplitItem, SplitSource } from './splitSource';
import {
  baseNameOf,
  channelAxisOf,
  checkLabelRange,
  extOf,
  isDicomSeriesDir,
  NOT_YET_SUPPORTED,
  openItemArray,
  rawToLabel,
  readerFor,
  readerForPath,
  splitMember,
  supportedExtensions,
  toChannelsFirst,
  type ItemArray,
  type LabelMap,
  type RawImage,
  type ReadContext,
} from './formats';


/* ------------------------------------------------------------------------------------------ */

const JUNK = new Set(['thumbs.db', 'desktop.ini']);

/** Natural order: digit runs compare as numbers (img2 < img10); ties by code units. */
export function naturalCompare(a: string, b: string): number {
  const ra = a.match(/\d+|\D+/g) ?? [];
  const rb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(ra.length, rb.length); i++) {
    const x = ra[i];
    const y = rb[i];
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const nx = BigInt(x);
      const ny = BigInt(y);
      if (nx !== ny) return nx < ny ? -1 : 1;
      continue;
    }
    return x < y ? -1 : 1;
  }
  if (ra.length !== rb.length) return ra.length - rb.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

interface Ctx {
  cfg: DatasetConfig;
  split: SplitConfig;
  /** Dataset folder, for relative paths in messages. */
  dir: string;
  read: Omit<ReadContext, 'role'>;
}

function rel(ctx: Ctx, p: string): string {
  const { file, member } = splitMember(p);
  let r = path.relative(ctx.dir, file) || '.';
  if (r.startsWith(`..${path.sep}..${path.sep}`)) r = file;
  r = r.split(path.sep).join('/');
  return member !== undefined ? `${r}#${member}` : r;
}

function err(ctx: Ctx, msg: string, where?: string): LensError {
  return new LensError(`split "${ctx.split.name}": ${msg}`, 'data', where ?? ctx.split.images);
}

/** Re-throws a reader's error with the split name and paths relative to the dataset file. */
function withContext<T>(ctx: Ctx, files: string[], f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof LensError) {
      let msg = e.message;
      for (const file of files) msg = msg.split(splitMember(file).file).join(rel(ctx, splitMember(file).file));
      throw new LensError(`split "${ctx.split.name}": ${msg}`, e.kind, e.where);
    }
    throw e;
  }
}

function dims(d: number[]): string {
  return d.join('×');
}

function sameDims(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/* ------------------------------------------------------------------------------------------ */
/* Folders                                                                                     */
/* ------------------------------------------------------------------------------------------ */

interface FolderListing {
  /** Absolute paths of readable files, natural order. */
  files: string[];
  /** Base name → file. */
  byBase: Map<string, string>;
  subfolders: string[];
  /** The sub-folders holding a DICOM series, listed as items (absolute paths; also in `files`). */
  series?: Set<string>;
}

/** The base name of an item: a file's name without extension, a DICOM series folder's whole name. */
function itemBase(listing: FolderListing, f: string): string {
  return listing.series?.has(f) ? path.basename(f) : baseNameOf(f);
}

function listFolder(ctx: Ctx, dir: string, what: string, notes: string[], allowEmpty = false, dicomSeries = false): FolderListing {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw err(ctx, `cannot list ${what} folder ${rel(ctx, dir)} (${(e as Error).message})`, dir);
  }
  const files: string[] = [];
  const subfolders: string[] = [];
  const skipped = new Map<string, number>();
  for (const ent of entries) {
    const name = ent.name;
    if (name.startsWith('.') || JUNK.has(name.toLowerCase())) continue;
    const full = path.join(dir, name);
    let isDir = ent.isDirectory();
    let isFile = ent.isFile();
    if (ent.isSymbolicLink()) {
      try {
        const st = fs.statSync(full);
        isDir = st.isDirectory();
        isFile = st.isFile();
      } catch {
        continue; // dangling link
      }
    }
    if (isDir) subfolders.push(name);
    else if (!isFile) {
      // FIFOs, devices, sockets: never opened (a FIFO would block), listed as skipped.
      skipped.set('(not a regular file)', (skipped.get('(not a regular file)') ?? 0) + 1);
    } else if (isFile) {
      if (readerFor(name)) files.push(full);
      else {
        const e = extOf(name) || '(no extension)';
        skipped.set(e, (skipped.get(e) ?? 0) + 1);
      }
    }
  }
  // A sub-folder holding a DICOM series is one item (a volume), named after the folder.
  const series = new Set<string>();
  if (dicomSeries) {
    for (const name of subfolders.splice(0)) {
      const full = path.join(dir, name);
      if (isDicomSeriesDir(full)) {
        series.add(full);
        files.push(full);
      } else subfolders.push(name);
    }
  }
  files.sort((a, b) => naturalCompare(path.basename(a), path.basename(b)));
  subfolders.sort(naturalCompare);
  const found = [...skipped.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([e, n]) => `${n} ${e}${NOT_YET_SUPPORTED[e] ? ` (${NOT_YET_SUPPORTED[e]}, not supported yet)` : ''}`);
  if (files.length === 0 && !allowEmpty) {
    const what2 = found.length
      ? `found ${found.join(', ')}${subfolders.length ? ` and ${subfolders.length} sub-folder(s)` : ''}`
      : subfolders.length
        ? `found only sub-folders: ${subfolders.slice(0, 5).join(', ')}${subfolders.length > 5 ? ', …' : ''}`
        : 'the folder is empty';
    throw err(ctx, `no readable ${what} in ${rel(ctx, dir)} (${what2}; supported: ${supportedExtensions().join(', ')})`, dir);
  }
  if (found.length) {
    const n = [...skipped.values()].reduce((a, b) => a + b, 0);
    notes.push(`split "${ctx.split.name}": skipped ${n} file(s) in ${rel(ctx, dir)} that cannot be read: ${found.join(', ')}`);
  }
  const byBase = new Map<string, string>();
  for (const f of files) {
    const b = series.has(f) ? path.basename(f) : baseNameOf(f);
    const prev = byBase.get(b);
    if (prev !== undefined) {
      throw err(
        ctx,
        `${rel(ctx, dir)} holds two files with the base name "${b}" (${path.basename(prev)}, ${path.basename(f)}); files are paired by base name, so base names must be unique`,
        dir,
      );
    }
    byBase.set(b, f);
  }
  return { files, byBase, subfolders, series };
}

/* ------------------------------------------------------------------------------------------ */
/* Sides: where the images / labels of the items come from                                    */
/* ------------------------------------------------------------------------------------------ */

/** The images side, or a per-pixel labels/targets side: a list of files, or an array file. */
type Side =
  | { kind: 'files'; files: string[]; ids: string[] }
  | { kind: 'array'; array: ItemArray; count: number; ids: string[] };

function arraySide(ctx: Ctx, p: string, role: 'image' | 'label', what: string): Side & { kind: 'array' } {
  const array = withContext(ctx, [p], () => openItemArray(p, role));
  const shape = array.shape;
  if (shape.length < 2) {
    throw err(
      ctx,
      `${rel(ctx, array.name)} has shape [${shape.join(', ')}]; expected one ${what === 'images' ? 'image' : 'mask'} per row: N×H×W, N×C×H×W or N×H×W×C`,
      p,
    );
  }
  withContext(ctx, [p], () => channelAxisOf(shape.slice(1), { ...ctx.read, role }, rel(ctx, array.name)));
  if (shape[0] === 0) throw err(ctx, `${rel(ctx, array.name)} holds no ${what} (shape [${shape.join(', ')}])`, p);
  const base = path.basename(splitMember(p).file);
  const ids = Array.from({ length: shape[0] }, (_, i) => `${base}[${i}]`);
  return { kind: 'array', array, count: shape[0], ids };
}

function readSideImage(ctx: Ctx, side: Side, i: number, role: 'image' | 'label'): { raw: RawImage; file: string } {
  if (side.kind === 'files') {
    const file = side.files[i];
    const reader = readerForPath(file)!;
    const raw = withContext(ctx, [file], () => reader.read(file, { ...ctx.read, role }));
    return { raw, file };
  }
  const itemShape = side.array.shape.slice(1);
  const name = `${side.array.name}[${i}]`;
  const raw = withContext(ctx, [side.array.name], () => {
    const data = side.array.readItem(i);
    return toChannelsFirst(data, itemShape, channelAxisOf(itemShape, { ...ctx.read, role }, name));
  });
  return { raw, file: name };
}

/** Pairs two file lists by base name; errors name the first file without a partner. */
function pairByBase(
  ctx: Ctx,
  images: FolderListing,
  imagesDir: string,
  labels: FolderListing,
  labelsDir: string,
  labelWord: string,
): string[] {
  const out: string[] = [];
  for (const f of images.files) {
    const b = itemBase(images, f);
    const l = labels.byBase.get(b);
    if (!l) {
      throw err(
        ctx,
        `image ${path.basename(f)} has no ${labelWord} in ${rel(ctx, labelsDir)} (no file named ${b}.*${labels.series?.size || images.series?.size ? ` nor DICOM series folder ${b}/` : ''}; ${images.files.length} images, ${labels.files.length} ${labelWord}s)`,
        f,
      );
    }
    out.push(l);
  }
  if (labels.files.length !== images.files.length) {
    for (const l of labels.files) {
      if (!images.byBase.has(itemBase(labels, l))) {
        throw err(
          ctx,
          `${labelWord} ${path.basename(l)} in ${rel(ctx, labelsDir)} has no image in ${rel(ctx, imagesDir)} (${images.files.length} images, ${labels.files.length} ${labelWord}s)`,
          l,
        );
      }
    }
  }
  return out;
}

/* ------------------------------------------------------------------------------------------ */
/* Classification labels                                                                       */
/* ------------------------------------------------------------------------------------------ */

function classIndex(value: string, classes: string[]): number | undefined {
  const v = value.trim();
  const byName = classes.indexOf(v);
  if (byName >= 0) return byName;
  if (/^-?\d+$/.test(v)) return Number(v);
  return undefined;
}

function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (q) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') q = false;
      else cur += ch;
    } else if (ch === '"') q = true;
    else if (ch === ',' || ch === ';' || ch === '\t') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim());
}

/** Reads a CSV `file,label` → base name → class index (also keyed by the file column as written). */
function readLabelCsv(ctx: Ctx, csv: string): Map<string, number> {
  let text: string;
  try {
    text = fs.readFileSync(csv, 'utf8');
  } catch (e) {
    throw err(ctx, `cannot read ${rel(ctx, csv)} (${(e as Error).message})`, csv);
  }
  const classes = ctx.cfg.classes;
  const map = new Map<string, number>();
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let first = true;
  lines.forEach((line, li) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const cols = parseCsvLine(line);
    const isFirst = first;
    first = false;
    if (cols.length < 2) {
      throw err(ctx, `${rel(ctx, csv)}:${li + 1}: expected two columns "file,label" (got ${JSON.stringify(line)})`, csv);
    }
    const k = classIndex(cols[1], classes);
    if (k === undefined) {
      if (isFirst) return; // header row
      throw err(
        ctx,
        `${rel(ctx, csv)}:${li + 1}: label "${cols[1]}" is not one of the classes (${classes.join(', ')}) nor a class index 0..${classes.length - 1}`,
        csv,
      );
    }
    if (k < 0 || k >= classes.length) {
      throw err(ctx, `${rel(ctx, csv)}:${li + 1}: class index ${k} is outside 0..${classes.length - 1} (classes: ${classes.join(', ')})`, csv);
    }
    map.set(cols[0], k);
    map.set(baseNameOf(cols[0]), k);
  });
  return map;
}

/* ------------------------------------------------------------------------------------------ */
/* listSplit                                                                                   */
/* ------------------------------------------------------------------------------------------ */

function isDir(p: string): boolean {
  try {
    return fs.statSync(splitMember(p).file).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Lists one split of the dataset. Reads folder listings and array headers only (an .npz member
 * is decompressed once); images are read one at a time by `read(i)`.
 * Throws LensError(kind 'data') naming the split, the folder/file and the problem.
 */
export function listSplit(cfg: DatasetConfig, split: SplitConfig): SplitSource {
  const ctx: Ctx = {
    cfg,
    split,
    dir: path.dirname(cfg.path),
    read: { channels: cfg.input.channels, layout: cfg.input.layout },
  };
  const notes: string[] = [];
  const task = cfg.task;
  const labelWord = task === 'segmentation' ? 'mask' : task === 'regression' ? 'target' : 'label';

  /* ---- a folder of cases: one file per channel (nnU-Net), or a list of cases ---- */
  if (isCaseSplit(cfg, split)) return listCaseSplit(cfg, split);

  /* ---- classification with class sub-folders (ImageFolder) ---- */
  const imagesIsDir = isDir(split.images);
  const labels = split.labels;
  if (task === 'classification' && labels !== undefined && isDir(labels)) {
    return classFolderSplit(ctx, notes, imagesIsDir);
  }

  /* ---- images ---- */
  let images: Side;
  let imageListing: FolderListing | undefined;
  if (imagesIsDir) {
    imageListing = listFolder(ctx, split.images, 'images', notes, false, true);
    const listing = imageListing;
    images = { kind: 'files', files: listing.files, ids: listing.files.map((f) => itemBase(listing, f)) };
  } else {
    images = arraySide(ctx, split.images, 'image', 'images');
  }
  const count = images.kind === 'files' ? images.files.length : images.count;
  const ids = images.ids;

  /* ---- labels ---- */
  let classOf: ((i: number) => { k: number; file: string }) | undefined;
  let labelSide: Side | undefined;
  if (labels !== undefined) {
    const labelsIsDir = isDir(labels);
    if (task === 'classification') {
      if (extOf(splitMember(labels).file) === '.csv') {
        const map = readLabelCsv(ctx, labels);
        const per: number[] = [];
        for (let i = 0; i < count; i++) {
          const key = images.kind === 'files' ? path.basename(images.files[i]) : String(i);
          const k = map.get(key) ?? map.get(images.kind === 'files' ? baseNameOf(images.files[i]) : String(i));
          if (k === undefined) {
            throw err(ctx, `image ${images.kind === 'files' ? path.basename(images.files[i]) : ids[i]} has no row in ${rel(ctx, labels)}`, labels);
          }
          per.push(k);
        }
        classOf = (i) => ({ k: per[i], file: rel(ctx, labels) });
      } else {
        const arr = withContext(ctx, [labels], () => openItemArray(labels, 'label'));
        const shape = arr.shape;
        if (!(shape.length === 1 || (shape.length === 2 && shape[1] === 1))) {
          throw err(ctx, `${rel(ctx, arr.name)} has shape [${shape.join(', ')}]; classification labels must be N class indices`, labels);
        }
        if (shape[0] !== count) {
          throw err(ctx, `${rel(ctx, split.images)} holds ${count} images but ${rel(ctx, arr.name)} holds ${shape[0]} labels`, labels);
        }
        classOf = (i) => {
          const v = arr.readItem(i)[0];
          const lf = `${rel(ctx, arr.name)}[${i}]`;
          if (!Number.isInteger(v)) throw err(ctx, `${lf}: label value ${v} is not an integer class index`, labels);
          return { k: v, file: lf };
        };
      }
    } else if (labelsIsDir) {
      if (images.kind !== 'files') {
        throw err(
          ctx,
          `images is an array file but labels is a folder; use two folders (paired by name) or two arrays (paired by index)`,
          labels,
        );
      }
      const labelListing = listFolder(ctx, labels, `${labelWord}s`, notes, false, true);
      const paired = pairByBase(ctx, imageListing!, split.images, labelListing, labels, labelWord);
      labelSide = { kind: 'files', files: paired, ids };
    } else {
      if (images.kind !== 'array') {
        throw err(
          ctx,
          `images is a folder but labels is an array file; use two folders (paired by name) or two arrays (paired by index)`,
          labels,
        );
      }
      const side = arraySide(ctx, labels, task === 'segmentation' ? 'label' : 'image', `${labelWord}s`);
      if (side.count !== count) {
        throw err(ctx, `${rel(ctx, images.array.name)} holds ${count} images but ${rel(ctx, side.array.name)} holds ${side.count} ${labelWord}s`, labels);
      }
      labelSide = side;
    }
  }

  const read = (i: number): SplitItem => {
    if (!Number.isInteger(i) || i < 0 || i >= count) throw new RangeError(`split "${split.name}": no item ${i} (0..${count - 1})`);
    const { raw, file } = readSideImage(ctx, images, i, 'image');
    const item: SplitItem = { id: ids[i], image: raw, imageFile: file };
    if (classOf) {
      const { k, file: lf } = classOf(i);
      const label: LabelMap = { data: Int32Array.of(k), dims: [] };
      withContext(ctx, [], () => checkLabelRange(label, cfg.classes, lf));
      item.label = label;
      item.labelFile = lf;
    } else if (labelSide) {
      const { raw: lraw, file: lf } = readSideImage(ctx, labelSide, i, task === 'segmentation' ? 'label' : 'image');
      const lshown = rel(ctx, lf);
      const ishown = rel(ctx, file);
      const imgSpatial = raw.dims.slice(1);
      const labSpatial = lraw.dims.slice(1);
      if (!sameDims(imgSpatial, labSpatial)) {
        throw err(
          ctx,
          `${labelWord} ${lshown} is ${dims(labSpatial)} but its image ${ishown} is ${dims(imgSpatial)} (${imgSpatial.length === 3 ? 'D×H×W' : 'H×W'}); a ${labelWord} must have the size of its image`,
          lf,
        );
      }
      if (task === 'segmentation') {
        const label = withContext(ctx, [lf], () => rawToLabel(lraw, lshown));
        withContext(ctx, [], () => checkLabelRange(label, cfg.classes, lshown));
        item.label = label;
      } else {
        item.target = lraw;
      }
      item.labelFile = lf;
    }
    return item;
  };

  return { name: split.name, count, ids, labeled: labels !== undefined, notes, read };
}

/** Classification where `labels` is a folder with one sub-folder per class. */
function classFolderSplit(ctx: Ctx, notes: string[], imagesIsDir: boolean): SplitSource {
  const { cfg, split } = ctx;
  const labels = split.labels!;
  const classes = cfg.classes;
  const sameFolder = path.resolve(splitMember(split.images).file) === path.resolve(labels);
  const root = listFolder(ctx, labels, 'labels', notes, true);
  const unknown = root.subfolders.filter((s) => !classes.includes(s));
  if (unknown.length) {
    throw err(
      ctx,
      `sub-folder "${unknown[0]}" of ${rel(ctx, labels)} is not one of the classes (${classes.join(', ')}); with a folder per class, each sub-folder is named after its class`,
      path.join(labels, unknown[0]),
    );
  }
  const files: string[] = [];
  const ids: string[] = [];
  const ks: number[] = [];
  const byBase = new Map<string, number>();
  classes.forEach((c, k) => {
    const sub = path.join(labels, c);
    if (!isDir(sub)) return;
    // Classification label folders may also hold empty marker files: pair on any file name.
    const all = sameFolder
      ? listFolder(ctx, sub, 'images', notes, true).files
      : fs
          .readdirSync(sub)
          .filter((n) => !n.startsWith('.'))
          .map((n) => path.join(sub, n));
    for (const f of all) {
      const b = baseNameOf(f);
      if (sameFolder) {
        files.push(f);
        ids.push(`${c}/${b}`);
        ks.push(k);
      } else {
        if (byBase.has(b) && byBase.get(b) !== k) {
          throw err(ctx, `${b} appears under two classes in ${rel(ctx, labels)} (${classes[byBase.get(b)!]}, ${c})`, f);
        }
        byBase.set(b, k);
      }
    }
  });
  if (sameFolder) {
    if (files.length === 0) {
      throw err(ctx, `no readable images in the class sub-folders of ${rel(ctx, labels)} (expected ${classes.map((c) => `${c}/`).join(', ')}; supported: ${supportedExtensions().join(', ')})`, labels);
    }
  } else {
    if (!imagesIsDir) {
      throw err(ctx, `images is an array file but labels is a folder per class; use a CSV file,label or an array of class indices`, labels);
    }
    const listing = listFolder(ctx, split.images, 'images', notes);
    for (const f of listing.files) {
      const b = baseNameOf(f);
      const k = byBase.get(b);
      if (k === undefined) {
        throw err(ctx, `image ${path.basename(f)} is in none of the class sub-folders of ${rel(ctx, labels)} (${classes.join(', ')})`, f);
      }
      files.push(f);
      ids.push(b);
      ks.push(k);
    }
  }
  const count = files.length;
  return {
    name: split.name,
    count,
    ids,
    labeled: true,
    notes,
    read(i: number): SplitItem {
      if (!Number.isInteger(i) || i < 0 || i >= count) throw new RangeError(`split "${split.name}": no item ${i} (0..${count - 1})`);
      const file = files[i];
      const reader = readerFor(file)!;
      const image = withContext(ctx, [file], () => reader.read(file, { ...ctx.read, role: 'image' }));
      return {
        id: ids[i],
        image,
        label: { data: Int32Array.of(ks[i]), dims: [] },
        imageFile: file,
        labelFile: path.join(labels, classes[ks[i]]),
      };
    },
  };
}
