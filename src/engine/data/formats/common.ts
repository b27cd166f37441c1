/**
 * What every format reader shares: the raw image and label types a reader returns, the
 * reader interface of the registry (registry.ts), file names and reading a whole file.
 * Readers return RAW pixel values (no scaling, no normalisation): `input.scale`, `mean` and
 * `std` are applied later by preprocess.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LensError } from '../../types';
import { readRegularFile } from '../../limits';

/** Raw pixel values, planar, channels first: `[C, H, W]` or `[C, D, H, W]`. */
export interface RawImage {
  data: Float32Array;
  dims: number[];
}

/** Integer class map with spatial dims only: `[H, W]` or `[D, H, W]` (`[]` for one label per image). */
export interface LabelMap {
  data: Int32Array;
  dims: number[];
}

/** A decoded n-d array in C (row-major) order, values converted to float32. */
export interface NdArray {
  /** numpy dtype string as written in the file, e.g. `<f4`, `|u1`. */
  dtype: string;
  shape: number[];
  data: Float32Array;
}

export type ReadRole = 'image' | 'label';

/** What a reader needs to know to turn an array into `[C, ...spatial]`. */
export interface ReadContext {
  role: ReadRole;
  /** `input.channels`: the channel count the model expects (decides C×H×W vs H×W×C). */
  channels: number;
  /** `input.layout`: breaks the tie when both ends of the shape could be the channel axis. */
  layout: 'NCHW' | 'NHWC' | 'NCDHW' | 'NDHWC';
  /** For .npz files that hold several arrays: the member to use (from `file.npz#member`). */
  member?: string;
}

export interface ImageFileReader {
  /** Human name of the format, for messages. */
  format: string;
  /** Reads one image (`[C, ...spatial]`, raw values). Throws LensError(kind 'data'). */
  read(file: string, ctx: ReadContext): RawImage;
}

/* ------------------------------------------------------------------------------------------ */
/* File names                                                                                  */
/* ------------------------------------------------------------------------------------------ */

const DOUBLE_EXTS = ['.nii.gz', '.tar.gz'];

/** Lower-case extension including the dot; knows double extensions such as `.nii.gz`. */
export function extOf(file: string): string {
  const name = path.basename(file).toLowerCase();
  for (const d of DOUBLE_EXTS) if (name.endsWith(d) && name.length > d.length) return d;
  const e = path.extname(name);
  return e;
}

/** File name without directory and extension (`case001.nii.gz` → `case001`). */
export function baseNameOf(file: string): string {
  const name = path.basename(file);
  const ext = extOf(name);
  return ext ? name.slice(0, name.length - ext.length) : name;
}

/** Splits `data/train.npz#images` into the file and the member name. */
export function splitMember(p: string): { file: string; member?: string } {
  const m = /^(.*\.npz)#([^#/\\]+)$/i.exec(p);
  return m ? { file: m[1], member: m[2] } : { file: p };
}

/** The error of a file a reader cannot decode: "`file` is not a readable `what`: `why`" (kind 'data'). */
export function unreadable(file: string, what: string, why: string): LensError {
  return new LensError(`${file} is not a readable ${what}: ${why}`, 'data', file);
}

/**
 * Reads a whole file; a missing or unreadable one is a data error naming it. Only regular
 * files are read (a FIFO or a device is refused at once), and only up to the memory budget
 * (engine/limits.ts).
 */
export function readFileOrThrow(file: string): Buffer {
  try {
    if (!fs.statSync(file).isDirectory()) return readRegularFile(file, 'data', 'file');
    return fs.readFileSync(file);
  } catch (e) {
    if (e instanceof LensError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder, not a file' : `cannot be read (${(e as Error).message})`;
    throw new LensError(`${file} ${why}`, 'data', file);
  }
}

/** Product of the sizes (1 for none). */
export function product(a: number[]): number {
  return a.reduce((p, d) => p * d, 1);
}

