/**
 * DICOM reader, read-only, on `dicom-parser`: a FOLDER holding one series is one volume.
 *
 * - Which files: in a series folder, the regular files named `*.dcm` / `*.dicom`, and the other
 *   files (no extension, or a UID-like name) that carry the `DICM` magic at byte 128. Dot
 *   files, `DICOMDIR` and files of other known formats are ignored.
 * - Order: by ImagePositionPatient projected on the slice normal (row × column direction of
 *   ImageOrientationPatient), ascending; when a slice has no position/orientation, by
 *   InstanceNumber. Volume `[C = 1, D = slices, H = Rows, W = Columns]`, rows and columns as
 *   stored (no reorientation, no flipping).
 * - Pixels: uncompressed transfer syntaxes only (Implicit VR Little Endian, Explicit VR Little
 *   Endian, Deflated Explicit VR Little Endian, Explicit VR Big Endian); BitsAllocated 8 or 16,
 *   signed or unsigned (values masked to BitsStored, sign-extended when signed); one sample
 *   per pixel, MONOCHROME1 or MONOCHROME2 (MONOCHROME1 is NOT inverted: values as stored, like
 *   pydicom's `pixel_array`). Images: RescaleSlope/RescaleIntercept applied per slice
 *   (`v·slope + intercept`, pydicom's `apply_modality_lut`, e.g. CT in HU). Masks: the stored
 *   integers, unscaled (as NIfTI masks).
 * - Refused, with a message naming the file or the folder: compressed transfer syntaxes (JPEG,
 *   JPEG-LS, JPEG 2000, RLE, …: decompress first with `gdcmconv --raw` or `dcmdjpeg`), slices
 *   of several series (SeriesInstanceUID), of different sizes, orientations or pixel formats,
 *   two slices at one position, unevenly spaced slices (a missing slice), multi-frame files
 *   in a folder of several files.
 * - A single file is a series of one slice: a 2D image `[1, H, W]` (or `[1, 1, H, W]` in a 3D
 *   layout); a single multi-frame file is a volume of its frames in file order.
 * - Size: the declared Rows × Columns × frames × slices is checked against a memory limit
 *   before the volume is allocated (engine/limits.ts, as the other readers).
 *
 * No `vscode` import.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as dicomParser from 'dicom-parser';
import { LensError } from '../../types';
import { extOf, unreadable, type RawImage, type ReadRole } from './common';
import { checkAllocation } from '../../limits';

/** Transfer syntaxes whose pixels are stored uncompressed (the ones read here). */
export const DICOM_READABLE_SYNTAXES: Record<string, string> = {
  '1.2.840.10008.1.2': 'Implicit VR Little Endian',
  '1.2.840.10008.1.2.1': 'Explicit VR Little Endian',
  '1.2.840.10008.1.2.1.99': 'Deflated Explicit VR Little Endian',
  '1.2.840.10008.1.2.2': 'Explicit VR Big Endian',
};

/** Names of the compressed transfer syntaxes, for the message that refuses them. */
const COMPRESSED_SYNTAXES: Record<string, string> = {
  '1.2.840.10008.1.2.4.50': 'JPEG Baseline (lossy)',
  '1.2.840.10008.1.2.4.51': 'JPEG Extended (lossy)',
  '1.2.840.10008.1.2.4.57': 'JPEG Lossless',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless SV1',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS Lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS Near-Lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 Lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.4.92': 'JPEG 2000 Part 2 Multi-component Lossless',
  '1.2.840.10008.1.2.4.93': 'JPEG 2000 Part 2 Multi-component',
  '1.2.840.10008.1.2.4.100': 'MPEG2',
  '1.2.840.10008.1.2.4.102': 'MPEG-4',
  '1.2.840.10008.1.2.4.201': 'HTJ2K Lossless',
  '1.2.840.10008.1.2.4.203': 'HTJ2K',
  '1.2.840.10008.1.2.5': 'RLE Lossless',
};

const DICOM_EXTS = new Set(['.dcm', '.dicom']);

/* ------------------------------------------------------------------------------------------ */
/* Which files                                                                                 */
/* ------------------------------------------------------------------------------------------ */

function isRegularFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Whether a file carries the DICOM Part 10 magic `DICM` at byte 128. */
export function hasDicmMagic(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const b = Buffer.alloc(4);
    return fs.readSync(fd, b, 0, 4, 128) === 4 && b.toString('latin1') === 'DICM';
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Whether `name` in `dir` is a DICOM file of a series: `*.dcm`/`*.dicom`, or another regular
 * file (not a dot file, not DICOMDIR, not of a known format `known`) with the DICM magic.
 */
function isSeriesFile(dir: string, name: string, known: (name: string) => boolean): boolean {
  if (name.startsWith('.') || name.toUpperCase() === 'DICOMDIR') return false;
  const full = path.join(dir, name);
  if (!isRegularFile(full)) return false;
  if (DICOM_EXTS.has(extOf(name))) return true;
  if (known(name)) return false;
  return hasDicmMagic(full);
}

function listNames(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** The DICOM files of a series folder (absolute paths, name order). `known`: names of other formats. */
export function dicomSeriesFiles(dir: string, known: (name: string) => boolean = () => false): string[] {
  return listNames(dir)
    .filter((n) => isSeriesFile(dir, n, known))
    .sort()
    .map((n) => path.join(dir, n));
}

/** Whether a folder holds a DICOM series (stops at its first DICOM file). */
export function isDicomSeriesFolder(dir: string, known: (name: string) => boolean = () => false): boolean {
  return listNames(dir).some((n) => isSeriesFile(dir, n, known));
}

/* ------------------------------------------------------------------------------------------ */
/* One file                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/** What one file declares, and a view of its pixel bytes. */
export interface DicomSlice {
  file: string;
  syntax: string;
  littleEndian: boolean;
  series?: string;
  rows: number;
  cols: number;
  frames: number;
  bitsAllocated: number;
  bitsStored: number;
  signed: boolean;
  photometric: string;
  slope: number;
  intercept: number;
  /** ImagePositionPatient, ImageOrientationPatient (6 cosines), InstanceNumber, when present. */
  position?: number[];
  orientation?: number[];
  instance?: number;
  pixels: Uint8Array;
}

function bad(file: string, why: string): LensError {
  return unreadable(file, 'DICOM file', why);
}

function numbers(ds: dicomParser.DataSet, tag: string): number[] | undefined {
  const n = ds.numStringValues(tag);
  if (!n) return undefined;
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(ds.floatString(tag, i) ?? NaN);
  return out.every(Number.isFinite) ? out : undefined;
}

/** Parses one file's header and locates its pixels (not decoded). `buf` is the whole file. */
export function parseDicomSlice(buf: Uint8Array, file: string): DicomSlice {
  if (buf.length === 0) throw bad(file, 'the file is empty');
  const magic = buf.length >= 132 && buf[128] === 0x44 && buf[129] === 0x49 && buf[130] === 0x43 && buf[131] === 0x4d;
  if (!magic) throw bad(file, 'no "DICM" at byte 128 (not a DICOM Part 10 file; raw ACR-NEMA data sets are not supported)');
  // The transfer syntax first (meta header only), so a compressed file is refused by name
  // before its pixel data is parsed.
  let meta: dicomParser.DataSet;
  try {
    meta = dicomParser.parseDicom(buf, { untilTag: 'x00020010' });
  } catch (e) {
    throw bad(file, `corrupt header (${String((e as Error)?.message ?? e)})`);
  }
  const syntax = (meta.string('x00020010') ?? '').replace(/\0/g, '').trim();
  if (!DICOM_READABLE_SYNTAXES[syntax]) {
    const name = COMPRESSED_SYNTAXES[syntax];
    throw new LensError(
      `${file}: the pixels are stored in a compressed transfer syntax, ${name ? `${name} ` : ''}(${syntax || 'none given'}), which UNet Lens does not decode; ` +
        `decompress the series first, e.g. \`gdcmconv --raw in.dcm out.dcm\` (GDCM) or \`dcmdjpeg in.dcm out.dcm\` (DCMTK; \`dcmdrle\` for RLE, \`dcmdjpls\` for JPEG-LS). ` +
        `Readable: ${Object.values(DICOM_READABLE_SYNTAXES).join(', ')}`,
      'data',
      file,
    );
  }
  let ds: dicomParser.DataSet;
  try {
    ds = dicomParser.parseDicom(buf);
  } catch (e) {
    throw bad(file, `corrupt data set (${String((e as Error)?.message ?? e)})`);
  }
  const pix = ds.elements.x7fe00010;
  if (!pix) throw bad(file, 'no pixel data (a report, a presentation state or a DICOMDIR?)');
  if (pix.encapsulatedPixelData) throw bad(file, `encapsulated (compressed) pixel data in transfer syntax ${syntax}`);
  const rows = ds.uint16('x00280010') ?? 0;
  const cols = ds.uint16('x00280011') ?? 0;
  if (!(rows > 0 && cols > 0)) throw bad(file, `bad image size: Rows ${rows}, Columns ${cols}`);
  const spp = ds.uint16('x00280002') ?? 1;
  const photometric = (ds.string('x00280004') ?? 'MONOCHROME2').trim().toUpperCase();
  if (spp !== 1 || (photometric !== 'MONOCHROME1' && photometric !== 'MONOCHROME2')) {
    throw bad(file, `${photometric} with ${spp} sample(s) per pixel is not supported (one sample per pixel, MONOCHROME1 or MONOCHROME2)`);
  }
  const bitsAllocated = ds.uint16('x00280100') ?? 0;
  if (bitsAllocated !== 8 && bitsAllocated !== 16) throw bad(file, `BitsAllocated ${bitsAllocated} is not supported (8 or 16)`);
  const bitsStored = ds.uint16('x00280101') ?? bitsAllocated;
  if (!(bitsStored >= 1 && bitsStored <= bitsAllocated)) throw bad(file, `bad BitsStored ${bitsStored} (BitsAllocated ${bitsAllocated})`);
  const signed = (ds.uint16('x00280103') ?? 0) === 1;
  const framesRaw = ds.intString('x00280008');
  const frames = framesRaw === undefined || !Number.isFinite(framesRaw) ? 1 : framesRaw;
  if (!(Number.isInteger(frames) && frames >= 1)) throw bad(file, `bad NumberOfFrames ${framesRaw}`);
  const need = rows * cols * frames * (bitsAllocated / 8);
  // The data set's own bytes: for the Deflated syntax, the inflated copy dicom-parser made.
  const bytes = ds.byteArray as Uint8Array;
  checkAllocation(rows * cols * frames * 4, `its declared ${frames > 1 ? `${frames}×` : ''}${rows}×${cols} pixels (as float32)`, file);
  if (pix.dataOffset + need > bytes.length || pix.length < need) {
    throw bad(file, `truncated (${rows}×${cols}${frames > 1 ? `×${frames}` : ''} ${bitsAllocated}-bit pixels need ${need} bytes, the pixel data holds ${Math.max(0, Math.min(pix.length, bytes.length - pix.dataOffset))})`);
  }
  const slopeRaw = ds.floatString('x00281053');
  const interRaw = ds.floatString('x00281052');
  const position = numbers(ds, 'x00200032');
  const orientation = numbers(ds, 'x00200037');
  const instance = ds.intString('x00200013');
  return {
    file,
    syntax,
    littleEndian: syntax !== '1.2.840.10008.1.2.2',
    series: ds.string('x0020000e')?.replace(/\0/g, '').trim() || undefined,
    rows,
    cols,
    frames,
    bitsAllocated,
    bitsStored,
    signed,
    photometric,
    slope: slopeRaw !== undefined && Number.isFinite(slopeRaw) ? slopeRaw : 1,
    intercept: interRaw !== undefined && Number.isFinite(interRaw) ? interRaw : 0,
    position: position?.length === 3 ? position : undefined,
    orientation: orientation?.length === 6 ? orientation : undefined,
    instance: instance !== undefined && Number.isFinite(instance) ? instance : undefined,
    pixels: bytes.subarray(pix.dataOffset, pix.dataOffset + need),
  };
}

/** Decodes one slice's pixels (all its frames) into `out` at `at`: stored values, then rescaled when `rescale`. */
function decodePixels(s: DicomSlice, out: Float32Array, at: number, rescale: boolean): void {
  const n = s.rows * s.cols * s.frames;
  const dv = new DataView(s.pixels.buffer, s.pixels.byteOffset, s.pixels.byteLength);
  const shift = 32 - s.bitsStored;
  const mask = s.bitsStored >= 32 ? 0xffffffff : 2 ** s.bitsStored - 1;
  const slope = rescale ? s.slope : 1;
  const inter = rescale ? s.intercept : 0;
  const scaled = slope !== 1 || inter !== 0;
  for (let i = 0; i < n; i++) {
    const raw = s.bitsAllocated === 8 ? dv.getUint8(i) : dv.getUint16(2 * i, s.littleEndian);
    const v = s.signed ? ((raw << shift) >> shift) : raw & mask;
    out[at + i] = scaled ? v * slope + inter : v;
  }
}

/* ------------------------------------------------------------------------------------------ */
/* A series                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/** Relative tolerance on the spacing of slices: a gap this far from the median is a missing slice. */
export const DICOM_SPACING_TOLERANCE = 0.05;

function normalOf(o: number[]): number[] {
  const [a, b, c, d, e, f] = o;
  return [b * f - c * e, c * d - a * f, a * e - b * d];
}

/**
 * Orders the slices of one series (see the module comment) and checks that they make one
 * volume. `where` names the folder in messages. Exported for the tests.
 */
export function orderSlices(slices: DicomSlice[], where: string): DicomSlice[] {
  const name = (s: DicomSlice) => path.basename(s.file);
  const s0 = slices[0];
  const series = new Set(slices.map((s) => s.series ?? ''));
  if (series.size > 1) {
    const other = slices.find((s) => (s.series ?? '') !== (s0.series ?? ''))!;
    throw new LensError(
      `${where}: the folder mixes DICOM series: ${name(s0)} is in series ${s0.series || '(none)'} but ${name(other)} in ${other.series || '(none)'} (${series.size} SeriesInstanceUIDs); put each series in its own folder`,
      'data',
      where,
    );
  }
  for (const s of slices) {
    if (s.rows !== s0.rows || s.cols !== s0.cols) {
      throw new LensError(`${where}: slice ${name(s)} is ${s.rows}×${s.cols} (rows×columns) but ${name(s0)} is ${s0.rows}×${s0.cols}; the slices of a series must have one size`, 'data', where);
    }
    if (s.photometric !== s0.photometric) {
      throw new LensError(`${where}: slice ${name(s)} is ${s.photometric} but ${name(s0)} is ${s0.photometric}; the slices of a series must have one photometric interpretation`, 'data', where);
    }
    if (slices.length > 1 && s.frames > 1) {
      throw new LensError(`${where}: ${name(s)} is a multi-frame file (${s.frames} frames) in a folder of ${slices.length} files; a series is one multi-frame file or a folder of single-frame files`, 'data', where);
    }
  }
  if (slices.length === 1) return slices.slice();
  const byPosition = slices.every((s) => s.position && s.orientation);
  if (byPosition) {
    const o0 = s0.orientation!;
    for (const s of slices) {
      if (s.orientation!.some((v, i) => Math.abs(v - o0[i]) > 1e-3)) {
        throw new LensError(
          `${where}: slice ${name(s)} has ImageOrientationPatient [${s.orientation!.join(', ')}] but ${name(s0)} has [${o0.join(', ')}]; the slices of a volume must be parallel (a localizer in the folder?)`,
          'data',
          where,
        );
      }
    }
    const nrm = normalOf(o0);
    const key = new Map(slices.map((s) => [s, s.position!.reduce((a, p, i) => a + p * nrm[i], 0)]));
    const sorted = slices.slice().sort((a, b) => key.get(a)! - key.get(b)! || (a.file < b.file ? -1 : 1));
    const gaps = sorted.slice(1).map((s, i) => key.get(s)! - key.get(sorted[i])!);
    const median = gaps.slice().sort((a, b) => a - b)[Math.floor(gaps.length / 2)];
    gaps.forEach((g, i) => {
      if (g < 1e-4) {
        throw new LensError(`${where}: slices ${name(sorted[i])} and ${name(sorted[i + 1])} are at the same position (${sorted[i].position!.join(', ')}); duplicate slices, or two series in one folder?`, 'data', where);
      }
      if (Math.abs(g - median) > DICOM_SPACING_TOLERANCE * median + 1e-3) {
        throw new LensError(
          `${where}: the slices are not evenly spaced: ${name(sorted[i])} → ${name(sorted[i + 1])} is ${+g.toFixed(4)} mm where the median gap is ${+median.toFixed(4)} mm (a missing slice?); ` +
            `UNet Lens reads a series as a regular volume of ${sorted.length} slices`,
          'data',
          where,
        );
      }
    });
    return sorted;
  }
  if (slices.every((s) => s.instance !== undefined)) {
    const sorted = slices.slice().sort((a, b) => a.instance! - b.instance!);
    sorted.slice(1).forEach((s, i) => {
      if (s.instance === sorted[i].instance) {
        throw new LensError(`${where}: slices ${name(sorted[i])} and ${name(s)} have the same InstanceNumber ${s.instance} and no ImagePositionPatient to order them by`, 'data', where);
      }
    });
    return sorted;
  }
  const lacking = slices.find((s) => s.instance === undefined)!;
  throw new LensError(
    `${where}: cannot order the slices: ${name(lacking)} has neither ImagePositionPatient/ImageOrientationPatient nor InstanceNumber`,
    'data',
    where,
  );
}

function readSliceFile(file: string): Uint8Array {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw new LensError(`${file} cannot be read (${(e as Error).message})`, 'data', file);
  }
  if (!st.isFile()) throw new LensError(`${file} is not a regular file`, 'data', file);
  checkAllocation(st.size, `the file (${st.size} bytes)`, file);
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new LensError(`${file} cannot be read (${(e as Error).message})`, 'data', file);
  }
}

/** Decodes ordered slices to `[1, D, H, W]` (`rank` 3) or `[1, H, W]` (`rank` 2, one slice). */
function assemble(ordered: DicomSlice[], where: string, role: ReadRole, rank: 2 | 3, layout: string): RawImage {
  const s0 = ordered[0];
  const depth = ordered.reduce((a, s) => a + s.frames, 0);
  if (rank === 2 && depth > 1) {
    throw new LensError(
      `${where} is a DICOM volume of ${depth} slices (${s0.rows}×${s0.cols} each); with input.layout "${layout}" the model takes 2D images: set "input.layout": "NCDHW" for a 3D model, or give one slice per folder`,
      'data',
      where,
    );
  }
  const plane = s0.rows * s0.cols;
  checkAllocation(plane * depth * 4, `the volume of ${depth}×${s0.rows}×${s0.cols} voxels (as float32)`, where);
  const out = new Float32Array(plane * depth);
  let at = 0;
  for (const s of ordered) {
    decodePixels(s, out, at, role === 'image');
    at += plane * s.frames;
  }
  return { data: out, dims: rank === 3 ? [1, depth, s0.rows, s0.cols] : [1, s0.rows, s0.cols] };
}

/**
 * Reads a DICOM series: a folder (its DICOM files, see the module comment) or a single file.
 * `known`: names of files of other formats, skipped in a folder.
 */
export function readDicomSeries(p: string, role: ReadRole, rank: 2 | 3, layout = 'NCHW', known: (name: string) => boolean = () => false): RawImage {
  let isDir = false;
  try {
    isDir = fs.statSync(p).isDirectory();
  } catch {
    throw new LensError(`${p} does not exist`, 'data', p);
  }
  const files = isDir ? dicomSeriesFiles(p, known) : [p];
  if (files.length === 0) throw new LensError(`${p}: no DICOM files in the folder (*.dcm, or files with "DICM" at byte 128)`, 'data', p);
  const slices = files.map((f) => parseDicomSlice(readSliceFile(f), f));
  return assemble(orderSlices(slices, p), p, role, rank, layout);
}
