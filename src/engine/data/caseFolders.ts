/**
 * Splits whose images are a folder of cases, nnU-Net style:
 *
 * - `input.channelFiles` (e.g. ["_0000", "_0001"]): one file per channel, named
 *   `<case><suffix><ext>` (`BRATS_001_0000.nii.gz`, `BRATS_001_0001.nii.gz`). The case id is
 *   the name without suffix and extension; the channel files are read (one channel each, the
 *   same spatial size) and stacked in suffix order. A case missing a channel is an error that
 *   names the case, the channel and its suffix.
 * - `splits.X.cases`: only these case ids, in this order (a validation fold taken from the
 *   same folder as train, from nnU-Net's splits_final.json).
 *
 * Labels (segmentation masks, regression targets) are a folder paired by case id:
 * `labelsTr/BRATS_001.nii.gz`.
 *
 * Pure Node (no `vscode`); reads folder listings up front and one case at a time.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LensError, type DatasetConfig, type SplitConfig } from '../types';
import { baseNameOf, checkLabelRange, extOf, rawToLabel, readerFor, type RawImage } from './formats';
import type { SplitItem, SplitSource } from './splitSource';

/** Whether a split is listed by case (channel files or a case list) rather than file by file. */
export function isCaseSplit(cfg: DatasetConfig, split: SplitConfig): boolean {
  return (cfg.input.channelFiles !== undefined && cfg.input.channelFiles.length > 0) || split.cases !== undefined;
}

/** Natural order: digit runs compare as numbers (case2 < case10). */
function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true }) || (a < b ? -1 : a > b ? 1 : 0);
}

export interface CaseListing {
  /** Case ids, natural order. */
  ids: string[];
  /** Case id → one file per channel (absolute paths), in channel order. */
  files: Map<string, string[]>;
  /** Files that matched no channel suffix (names only). */
  unmatched: string[];
}

/**
 * Groups file names into cases by channel suffix. `suffixes` [""] means one file per case.
 * The longest matching suffix wins (so "_10" is not taken for "_0"). `where` names the folder
 * in messages. Pure: no file access.
 */
export function groupChannelFiles(names: readonly string[], suffixes: readonly string[], dir: string, where: string, join: (...p: string[]) => string = path.join): CaseListing {
  const bySuffix = suffixes.map((s, c) => ({ s, c })).sort((a, b) => b.s.length - a.s.length);
  const files = new Map<string, string[]>();
  const unmatched: string[] = [];
  for (const name of names) {
    const base = baseNameOf(name);
    const hit = bySuffix.find(({ s }) => base.endsWith(s) && base.length > s.length);
    if (!hit) {
      unmatched.push(name);
      continue;
    }
    const id = base.slice(0, base.length - hit.s.length);
    const slot = files.get(id) ?? new Array<string>(suffixes.length).fill('');
    if (slot[hit.c]) {
      throw new LensError(
        `${where} holds two files for case "${id}", channel ${hit.c}${hit.s ? ` (suffix "${hit.s}")` : ''}: ${path.basename(slot[hit.c])} and ${name}`,
        'data',
        join(dir, name),
      );
    }
    slot[hit.c] = join(dir, name);
    files.set(id, slot);
  }
  const ids = [...files.keys()].sort(naturalCompare);
  for (const id of ids) {
    const slot = files.get(id)!;
    const missing = slot.findIndex((f) => !f);
    if (missing >= 0) {
      const have = slot.filter(Boolean).map((f) => path.basename(f));
      throw new LensError(
        `case "${id}" in ${where} has no file for channel ${missing} (suffix "${suffixes[missing]}": expected ${id}${suffixes[missing]}${extOf(have[0] ?? '') || '.nii.gz'}; found ${have.join(', ')}); every case needs one file per channel of input.channelFiles (${suffixes.map((s) => `"${s}"`).join(', ')})`,
        'data',
        join(dir, `${id}${suffixes[missing]}${extOf(have[0] ?? '')}`),
      );
    }
  }
  return { ids, files, unmatched };
}

function listNames(dir: string, what: string, splitName: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw new LensError(`split "${splitName}": cannot list ${what} folder ${dir} (${(e as Error).message})`, 'data', dir);
  }
  return entries
    .filter((e) => !e.name.startsWith('.') && (e.isFile() || e.isSymbolicLink()) && readerFor(e.name))
    .map((e) => e.name)
    .sort(naturalCompare);
}

/** Stacks single-channel reads of one case into `[C, ...spatial]`; spatial sizes must agree. */
export function stackChannels(parts: RawImage[], files: string[], caseId: string): RawImage {
  const spatial = parts[0].dims.slice(1);
  const n = spatial.reduce((a, b) => a * b, 1);
  parts.forEach((p, c) => {
    if (p.dims[0] !== 1) {
      throw new LensError(
        `case "${caseId}": ${path.basename(files[c])} holds ${p.dims[0]} channels; with input.channelFiles each file holds one channel`,
        'data',
        files[c],
      );
    }
    const s = p.dims.slice(1);
    if (s.length !== spatial.length || s.some((d, a) => d !== spatial[a])) {
      throw new LensError(
        `case "${caseId}": channel ${c} (${path.basename(files[c])}) is ${s.join('×')} but channel 0 (${path.basename(files[0])}) is ${spatial.join('×')}; the channel files of a case must have the same size`,
        'data',
        files[c],
      );
    }
  });
  const data = new Float32Array(parts.length * n);
  parts.forEach((p, c) => data.set(p.data, c * n));
  return { data, dims: [parts.length, ...spatial] };
}

/** Lists a split of case folders (see the file comment). Throws LensError(kind 'data'). */
export function listCaseSplit(cfg: DatasetConfig, split: SplitConfig): SplitSource {
  const name = split.name;
  const dir = path.dirname(cfg.path);
  const rel = (p: string) => path.relative(dir, p).split(path.sep).join('/') || '.';
  const fail = (msg: string, where: string): never => {
    throw new LensError(`split "${name}": ${msg}`, 'data', where);
  };
  if (cfg.task === 'classification') fail('"cases" and input.channelFiles work with segmentation and regression splits only', split.images);
  const isDir = (p: string) => {
    try {
      return fs.statSync(p).isDirectory();
    } catch {
      return false;
    }
  };
  if (!isDir(split.images)) fail(`images must be a folder when ${cfg.input.channelFiles ? 'input.channelFiles' : '"cases"'} is set (got ${rel(split.images)})`, split.images);
  const suffixes = cfg.input.channelFiles?.length ? cfg.input.channelFiles : [''];
  const notes: string[] = [];
  let listing: CaseListing;
  try {
    listing = groupChannelFiles(listNames(split.images, 'images', name), suffixes, split.images, rel(split.images));
  } catch (e) {
    if (e instanceof LensError) throw new LensError(`split "${name}": ${e.message}`, e.kind, e.where);
    throw e;
  }
  if (listing.unmatched.length) {
    notes.push(
      `split "${name}": skipped ${listing.unmatched.length} file(s) in ${rel(split.images)} that match no channel suffix (${suffixes.map((s) => `"${s}"`).join(', ')}): ${listing.unmatched.slice(0, 3).join(', ')}${listing.unmatched.length > 3 ? ', …' : ''}`,
    );
  }
  let ids = listing.ids;
  if (split.cases) {
    for (const c of split.cases) {
      if (!listing.files.has(c)) {
        fail(`case "${c}" of splits.${name}.cases is not in ${rel(split.images)} (${listing.ids.length} cases there, e.g. ${listing.ids.slice(0, 3).join(', ') || 'none'})`, split.images);
      }
    }
    ids = split.cases.slice();
  }
  if (ids.length === 0) fail(`no cases in ${rel(split.images)} (expected files named <case>${suffixes[0]}.nii.gz …)`, split.images);

  const labelWord = cfg.task === 'segmentation' ? 'mask' : 'target';
  let labelOf: Map<string, string> | undefined;
  if (split.labels !== undefined) {
    if (!isDir(split.labels)) fail(`labels must be a folder when images is a folder of cases (got ${rel(split.labels)})`, split.labels);
    labelOf = new Map(listNames(split.labels, `${labelWord}s`, name).map((f) => [baseNameOf(f), path.join(split.labels!, f)]));
    for (const id of ids) {
      if (!labelOf.has(id)) {
        fail(`case "${id}" has no ${labelWord} in ${rel(split.labels)} (no file named ${id}.*; ${ids.length} cases, ${labelOf.size} ${labelWord}s)`, split.labels);
      }
    }
  }
  // One suffix: the file holds every channel (nnU-Net's RGB PNGs); several: one channel per file.
  const readCtx = { channels: suffixes.length === 1 ? cfg.input.channels : 1, layout: cfg.input.layout };
  const read = (i: number): SplitItem => {
    if (!Number.isInteger(i) || i < 0 || i >= ids.length) throw new RangeError(`split "${name}": no item ${i} (0..${ids.length - 1})`);
    const id = ids[i];
    const files = listing.files.get(id)!;
    const wrap = <T>(f: () => T): T => {
      try {
        return f();
      } catch (e) {
        if (e instanceof LensError) throw new LensError(`split "${name}": ${e.message.split(dir + path.sep).join('')}`, e.kind, e.where);
        throw e;
      }
    };
    const parts = files.map((f) => wrap(() => readerFor(f)!.read(f, { ...readCtx, role: 'image' })));
    const image = files.length === 1 ? parts[0] : wrap(() => stackChannels(parts, files, id));
    const item: SplitItem = { id, image, imageFile: files[0] };
    const lf = labelOf?.get(id);
    if (lf) {
      const lraw = wrap(() => readerFor(lf)!.read(lf, { ...readCtx, role: cfg.task === 'segmentation' ? 'label' : 'image' }));
      const a = image.dims.slice(1);
      const b = lraw.dims.slice(1);
      if (a.length !== b.length || a.some((d, k) => d !== b[k])) {
        fail(`${labelWord} ${rel(lf)} is ${b.join('×')} but case "${id}" (${rel(files[0])}) is ${a.join('×')}; a ${labelWord} must have the size of its image`, lf);
      }
      if (cfg.task === 'segmentation') {
        const label = wrap(() => rawToLabel(lraw, rel(lf)));
        wrap(() => checkLabelRange(label, cfg.classes, rel(lf)));
        item.label = label;
      } else {
        item.target = lraw;
      }
      item.labelFile = lf;
    }
    return item;
  };
  return { name, count: ids.length, ids, labeled: split.labels !== undefined, notes, read };
}

/**
 * The checks of `input.channelFiles`, `input.normalize` and `splits.*.cases` a schema cannot
 * express. Returns a message (without the file name) or undefined when all is well.
 */
export function checkCaseOptions(input: DatasetConfig['input']): string | undefined {
  const cf = input.channelFiles;
  if (cf && cf.length !== 1 && cf.length !== input.channels) {
    return `"input.channelFiles" lists ${cf.length} suffixes but input.channels is ${input.channels}: one file suffix per channel, or one suffix for files that hold every channel (got ${JSON.stringify(cf)})`;
  }
  const nm = input.normalize;
  if (nm && nm.length !== 1 && nm.length !== input.channels) {
    return `"input.normalize" must have 1 entry or one per channel (input.channels is ${input.channels}) (got ${nm.length})`;
  }
  for (const [i, n] of (nm ?? []).entries()) {
    if (typeof n === 'object' && !(n.clip[0] < n.clip[1])) {
      return `"input.normalize[${i}].clip" must be [low, high] with low < high (got ${JSON.stringify(n.clip)})`;
    }
  }
  return undefined;
}
