/**
 * The format registry. Each reader returns RAW pixel values (no scaling, no normalisation):
 * `input.scale`, `mean` and `std` are applied later by preprocess.ts.
 *
 * - Images come back planar, channels first: dims `[C, H, W]` (or `[C, D, H, W]` for 3D).
 * - Label masks come back as integer class maps with spatial dims only: `[H, W]` (or `[D, H, W]`).
 *
 * A reader is one entry of {@link READERS}, keyed by (lower-case) extension; adding a format
 * means adding its file beside this one (png.ts, npy.ts, jpeg.ts, tiff.ts, nifti.ts) and one
 * entry here. Extensions UNet Lens knows but cannot read yet are listed in
 * {@link NOT_YET_SUPPORTED} so folder listings can say so.
 *
 * Formats: PNG, NumPy .npy/.npz, JPEG (images only: never masks), TIFF (multi-page = the slices
 * of a volume in a 3D layout), NIfTI .nii/.nii.gz (voxels in file order, no reorientation),
 * DICOM (dicom.ts: a folder holding one series is one volume, {@link DICOM_SERIES_READER};
 * a single .dcm file is a series of one slice).
 *
 * No `vscode` import: shared by the CLI, the worker and the tests.
 */
import { LensError } from '../../types';
import { extOf, readFileOrThrow, type ImageFileReader, type LabelMap, type NdArray, type RawImage, type ReadContext } from './common';
import { channelAxisOf, rawToLabel, spatialRank, toChannelsFirst } from './arrays';
import { decodePng } from './png';
import { readNpy, readNpzMember } from './npy';
import { decodeJpeg } from './jpeg';
import { decodeTiff } from './tiff';
import { decodeNifti } from './nifti';
import { isDicomSeriesFolder, readDicomSeries } from './dicom';
import * as fs from 'node:fs';

function readArrayImage(arr: NdArray, ctx: ReadContext, what: string): RawImage {
  return toChannelsFirst(arr.data, arr.shape, channelAxisOf(arr.shape, ctx, what));
}

const rankOf = (ctx: ReadContext): 2 | 3 => (spatialRank(ctx.layout) === 3 ? 3 : 2);

const JPEG_READER: ImageFileReader = {
  format: 'JPEG',
  read: (file, ctx) => decodeJpeg(readFileOrThrow(file), file, ctx.role),
};
const TIFF_READER: ImageFileReader = {
  format: 'TIFF',
  read: (file, ctx) => decodeTiff(readFileOrThrow(file), file, ctx.role, rankOf(ctx), ctx.layout),
};
const NIFTI_READER: ImageFileReader = {
  format: 'NIfTI',
  read: (file, ctx) => decodeNifti(readFileOrThrow(file), file, ctx.role, rankOf(ctx), ctx.layout),
};

const DICOM_READER: ImageFileReader = {
  format: 'DICOM',
  read: (file, ctx) => {
    const img = readDicomSeries(file, ctx.role, rankOf(ctx), ctx.layout);
    if (img.dims.length === 4 && img.dims[1] === 1) {
      throw new LensError(
        `${file} is one DICOM slice; with input.layout "${ctx.layout}" a volume is a folder holding one series: put the .dcm files of each case in a sub-folder of the images (and labels) folder, named after the case`,
        'data',
        file,
      );
    }
    return img;
  },
};

/**
 * The reader of a FOLDER holding one DICOM series (one volume; dicom.ts). Files of the other
 * formats in the folder are not taken for DICOM slices.
 */
export const DICOM_SERIES_READER: ImageFileReader = {
  format: 'DICOM series',
  read: (dir, ctx) => readDicomSeries(dir, ctx.role, rankOf(ctx), ctx.layout, (name) => readerFor(name) !== undefined),
};

/** Whether `dir` is a folder holding a DICOM series (it has a .dcm file, or a file with the DICM magic). */
export function isDicomSeriesDir(dir: string): boolean {
  return isDicomSeriesFolder(dir, (name) => readerFor(name) !== undefined);
}

/** Readers by lower-case extension (`.nii.gz` is one extension, see {@link extOf}). One entry per format. */
export const READERS: Record<string, ImageFileReader> = {
  '.png': {
    format: 'PNG',
    read: (file, ctx) => decodePng(readFileOrThrow(file), file, ctx.role),
  },
  '.npy': {
    format: 'NumPy .npy',
    read: (file, ctx) => readArrayImage(readNpy(file), ctx, file),
  },
  '.npz': {
    format: 'NumPy .npz',
    read: (file, ctx) => {
      const arr = readNpzMember(file, ctx.role, ctx.member);
      return readArrayImage(arr, ctx, `${file}#${arr.member}`);
    },
  },
  '.jpg': JPEG_READER,
  '.jpeg': JPEG_READER,
  '.tif': TIFF_READER,
  '.tiff': TIFF_READER,
  '.nii': NIFTI_READER,
  '.nii.gz': NIFTI_READER,
  '.dcm': DICOM_READER,
};

/** Formats UNet Lens knows of but cannot read yet (for the "skipped" note). */
export const NOT_YET_SUPPORTED: Record<string, string> = {
  '.bmp': 'BMP',
  '.gif': 'GIF',
  '.webp': 'WebP',
  '.hdr': 'Analyze/NIfTI .hdr/.img pair',
  '.img': 'Analyze/NIfTI .hdr/.img pair',
  '.mha': 'MetaImage',
  '.mhd': 'MetaImage',
  '.nrrd': 'NRRD',
  '.h5': 'HDF5',
};

export function supportedExtensions(): string[] {
  return Object.keys(READERS);
}

export function readerFor(file: string): ImageFileReader | undefined {
  return READERS[extOf(file)];
}

/** The reader of a path: a folder is read as a DICOM series, a file by its extension. */
export function readerForPath(p: string): ImageFileReader | undefined {
  try {
    if (fs.statSync(p).isDirectory()) return DICOM_SERIES_READER;
  } catch {
    // a missing path: the reader of its extension says so when it reads it
  }
  return readerFor(p);
}

/** The reader of a file; a file of no known format is a data error naming what it was read as. */
function readerOrThrow(file: string, what: 'files' | 'masks'): ImageFileReader {
  const r = readerForPath(file);
  if (!r) {
    throw new LensError(
      `${file}: cannot read ${extOf(file) || 'files without an extension'} ${what} (supported: ${supportedExtensions().join(', ')})`,
      'data',
      file,
    );
  }
  return r;
}

/** Reads one image file: raw values, `[C, ...spatial]`. */
export function readImageFile(file: string, ctx: Omit<ReadContext, 'role'>): RawImage {
  return readerOrThrow(file, 'files').read(file, { ...ctx, role: 'image' });
}

/** Reads one mask file: integer class map with spatial dims only (no range check: see checkLabelRange). */
export function readLabelFile(file: string, ctx: Omit<ReadContext, 'role'>): LabelMap {
  return rawToLabel(readerOrThrow(file, 'masks').read(file, { ...ctx, role: 'label' }), file);
}
