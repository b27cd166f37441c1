/**
 * Image and array readers. Each returns RAW pixel values (no scaling, no normalisation):
 * `input.scale`, `mean` and `std` are applied later by preprocess.ts.
 *
 * - Images come back planar, channels first: dims `[C, H, W]` (or `[C, D, H, W]` for 3D).
 * - Label masks come back as integer class maps with spatial dims only: `[H, W]` (or `[D, H, W]`).
 *
 * A reader is one entry of {@link READERS}, keyed by (lower-case) extension; adding a format
 * means adding one entry (the decoders of JPEG, TIFF and NIfTI live in jpeg.ts, tiff.ts and
 * nifti.ts). Extensions UNet Lens knows but cannot read yet are listed in
 * {@link NOT_YET_SUPPORTED} so folder listings can say so.
 *
 * Formats: PNG, NumPy .npy/.npz, JPEG (images only: never masks), TIFF (multi-page = the slices
 * of a volume in a 3D layout), NIfTI .nii/.nii.gz (voxels in file order, no reorientation).
 *
 * No `vscode` import: shared by the CLI, the worker and the tests.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { unzipSync } from 'fflate';
import { LensError } from '../types';
import { decodeJpeg } from './jpeg';
import { decodeNifti } from './nifti';
import { decodeTiff } from './tiff';

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

/* ------------------------------------------------------------------------------------------ */
/* PNG                                                                                         */
/* ------------------------------------------------------------------------------------------ */

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let crcTable: Uint32Array | undefined;
function crc32(buf: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = crcTable[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  /** 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA. */
  colorType: number;
  /** Palette entries [r, g, b] (colour type 3 only). */
  palette?: number[][];
}

/**
 * Walks the chunks of a PNG: checks the signature and that no chunk runs past the end,
 * reads IHDR and PLTE, and rebuilds the file for pngjs without `tRNS` (pngjs would zero
 * the pixels that match the transparent colour; we drop alpha anyway) and, when
 * `paletteAsIndex`, with a palette image turned into a grey one of the same bit depth so
 * that the decoded values are the palette indices (class indices of a palette mask).
 */
function preparePng(buf: Buffer, file: string, paletteAsIndex: boolean): { header: PngHeader; buf: Buffer } {
  const bad = (why: string): LensError => new LensError(`${file} is not a readable PNG: ${why}`, 'data', file);
  if (buf.length < 8 || !buf.subarray(0, 8).equals(PNG_SIGNATURE)) {
    throw bad(buf.length === 0 ? 'the file is empty' : 'it does not start with the PNG signature');
  }
  const parts: Buffer[] = [PNG_SIGNATURE];
  let header: PngHeader | undefined;
  let pos = 8;
  let sawEnd = false;
  let sawData = false;
  while (pos < buf.length) {
    if (pos + 12 > buf.length) throw bad(`truncated (chunk header at byte ${pos} runs past the end of the file)`);
    const len = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    const end = pos + 12 + len;
    if (end > buf.length) {
      throw bad(`truncated (${type} chunk at byte ${pos} needs ${len} bytes, the file ends ${buf.length - pos - 8} bytes later)`);
    }
    let chunk = buf.subarray(pos, end);
    if (type === 'IHDR') {
      if (len !== 13) throw bad('bad IHDR chunk');
      header = {
        width: buf.readUInt32BE(pos + 8),
        height: buf.readUInt32BE(pos + 12),
        bitDepth: buf[pos + 16],
        colorType: buf[pos + 17],
      };
      if (paletteAsIndex && header.colorType === 3) {
        const c = Buffer.from(chunk);
        c[8 + 9] = 0; // colour type → grey
        c.writeUInt32BE(crc32(c.subarray(4, 8 + len)), 8 + len);
        chunk = c;
      }
    } else if (type === 'PLTE' && header) {
      const pal: number[][] = [];
      for (let i = 0; i + 2 < len; i += 3) pal.push([buf[pos + 8 + i], buf[pos + 9 + i], buf[pos + 10 + i]]);
      header.palette = pal;
    } else if (type === 'IDAT') {
      sawData = true;
    }
    pos = end;
    const drop = type === 'tRNS' || (paletteAsIndex && header?.colorType === 3 && type === 'PLTE');
    if (!drop) parts.push(chunk);
    if (type === 'IEND') {
      sawEnd = true;
      break;
    }
  }
  if (!header) throw bad('no IHDR chunk');
  if (!sawData) throw bad('no image data (IDAT chunk)');
  if (!sawEnd) throw bad('truncated (no IEND chunk)');
  return { header, buf: Buffer.concat(parts) };
}

/**
 * Decodes a PNG to raw values.
 *
 * - Grey (colour types 0, 4): one channel; 1/2/4/8/16-bit values as stored (no rescaling).
 * - RGB (2, 6): three channels; alpha is dropped.
 * - Palette (3): for images, the palette colours — one channel when every palette entry is
 *   grey (r = g = b), else three; for labels (`role: 'label'`), the palette indices.
 * - A `tRNS` transparent colour is ignored (alpha is not used).
 */
export function decodePng(buf: Buffer, file: string, role: ReadRole = 'image'): RawImage {
  const { header, buf: clean } = preparePng(buf, file, role === 'label');
  let png: { width: number; height: number; data: Buffer | Uint16Array };
  try {
    png = PNG.sync.read(clean, { skipRescale: true }) as unknown as typeof png;
  } catch (e) {
    throw new LensError(`${file} is not a readable PNG: corrupt image data (${(e as Error).message})`, 'data', file);
  }
  const { width: w, height: h } = png;
  const px = png.data;
  const n = w * h;
  if (px.length < n * 4) throw new LensError(`${file} is not a readable PNG: image data is incomplete`, 'data', file);
  let ct = header.colorType;
  if (ct === 3 && role === 'label') ct = 0;
  let channels = ct === 0 || ct === 4 ? 1 : 3;
  if (ct === 3 && header.palette && header.palette.every((c) => c[0] === c[1] && c[1] === c[2])) channels = 1;
  const out = new Float32Array(channels * n);
  for (let c = 0; c < channels; c++) {
    const plane = c * n;
    for (let i = 0; i < n; i++) out[plane + i] = px[i * 4 + c];
  }
  return { data: out, dims: [channels, h, w] };
}

/** Reads the header of a PNG without decoding the pixels (size, bit depth, colour type). */
export function readPngHeader(file: string): PngHeader {
  return preparePng(readFileOrThrow(file), file, false).header;
}

/* ------------------------------------------------------------------------------------------ */
/* NPY                                                                                         */
/* ------------------------------------------------------------------------------------------ */

export interface NpyHeader {
  dtype: string;
  kind: 'b' | 'i' | 'u' | 'f';
  itemSize: number;
  littleEndian: boolean;
  fortranOrder: boolean;
  shape: number[];
  /** Byte offset of the data from the start of the .npy. */
  dataOffset: number;
}

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const NPY_KINDS: Record<string, number[]> = { b: [1], i: [1, 2, 4, 8], u: [1, 2, 4, 8], f: [2, 4, 8] };

function npyError(file: string, why: string, ext = '.npy'): LensError {
  return new LensError(`${file} is not a readable ${ext} array: ${why}`, 'data', file);
}

/** Parses the header of a .npy (format versions 1, 2 and 3). `buf` must hold at least the header. */
export function parseNpyHeader(buf: Uint8Array, file: string): NpyHeader {
  if (buf.length < 10 || NPY_MAGIC.some((b, i) => buf[i] !== b)) {
    throw npyError(file, buf.length === 0 ? 'the file is empty' : 'it does not start with the .npy magic "\\x93NUMPY"');
  }
  const major = buf[6];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw npyError(file, 'truncated header');
    headerLen = dv.getUint32(8, true);
    start = 12;
  } else {
    throw npyError(file, `unknown .npy format version ${major}`);
  }
  if (start + headerLen > buf.length) throw npyError(file, 'truncated header');
  const text = Buffer.from(buf.buffer, buf.byteOffset + start, headerLen).toString(major === 3 ? 'utf8' : 'latin1');
  const descr = /['"]descr['"]\s*:\s*(['"])([^'"]*)\1/.exec(text);
  if (!descr) {
    if (/['"]descr['"]\s*:\s*\[/.test(text)) throw npyError(file, 'structured (record) arrays are not supported');
    throw npyError(file, `no dtype in the header (${text.trim()})`);
  }
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(text);
  const shapeM = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(text);
  if (!shapeM) throw npyError(file, `no shape in the header (${text.trim()})`);
  const shape = shapeM[1]
    .split(',')
    .map((s) => s.trim().replace(/L$/, ''))
    .filter((s) => s.length > 0)
    .map((s) => Number(s));
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw npyError(file, `bad shape (${shapeM[1]})`);
  const dtype = descr[2];
  const m = /^([<>|=]?)([a-zA-Z])(\d+)$/.exec(dtype);
  const order = m?.[1] ?? '';
  const kind = m?.[2] ?? '';
  const itemSize = m ? Number(m[3]) : 0;
  if (!m || !NPY_KINDS[kind] || !NPY_KINDS[kind].includes(itemSize)) {
    const hint = /^\|?O/.test(dtype)
      ? 'object arrays (saved with allow_pickle) are not supported'
      : /^[<>|]?[US]/.test(dtype)
        ? 'string arrays are not supported'
        : /^[<>|]?c/.test(dtype)
          ? 'complex arrays are not supported'
          : 'supported: bool, int8/16/32/64, uint8/16/32/64, float16/32/64';
    throw npyError(file, `unsupported dtype "${dtype}" (${hint})`);
  }
  return {
    dtype,
    kind: kind as NpyHeader['kind'],
    itemSize,
    littleEndian: order !== '>',
    fortranOrder: fortran?.[1] === 'True',
    shape,
    dataOffset: start + headerLen,
  };
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Converts `count` elements of raw .npy data (starting at `bytes[0]`) to float32. */
export function decodeNpyValues(bytes: Uint8Array, h: Pick<NpyHeader, 'kind' | 'itemSize' | 'littleEndian'>, count: number): Float32Array {
  const out = new Float32Array(count);
  const le = h.littleEndian;
  const key = h.kind + h.itemSize;
  // Fast path: little-endian data on a little-endian machine → a typed-array view of a copy.
  if (le && key !== 'f2' && key !== 'b1') {
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + count * h.itemSize);
    let src: ArrayLike<number | bigint>;
    switch (key) {
      case 'u1': src = new Uint8Array(ab); break;
      case 'i1': src = new Int8Array(ab); break;
      case 'u2': src = new Uint16Array(ab); break;
      case 'i2': src = new Int16Array(ab); break;
      case 'u4': src = new Uint32Array(ab); break;
      case 'i4': src = new Int32Array(ab); break;
      case 'f4': return new Float32Array(ab);
      case 'f8': src = new Float64Array(ab); break;
      case 'i8': src = new BigInt64Array(ab); break;
      case 'u8': src = new BigUint64Array(ab); break;
      default: throw new Error(`unreachable dtype ${key}`);
    }
    if (key === 'i8' || key === 'u8') {
      const b = src as BigInt64Array;
      for (let i = 0; i < count; i++) out[i] = Number(b[i]);
    } else {
      out.set(src as ArrayLike<number>);
    }
    return out;
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, count * h.itemSize);
  const sz = h.itemSize;
  for (let i = 0; i < count; i++) {
    const o = i * sz;
    switch (key) {
      case 'b1': out[i] = dv.getUint8(o) ? 1 : 0; break;
      case 'u1': out[i] = dv.getUint8(o); break;
      case 'i1': out[i] = dv.getInt8(o); break;
      case 'u2': out[i] = dv.getUint16(o, le); break;
      case 'i2': out[i] = dv.getInt16(o, le); break;
      case 'u4': out[i] = dv.getUint32(o, le); break;
      case 'i4': out[i] = dv.getInt32(o, le); break;
      case 'u8': out[i] = Number(dv.getBigUint64(o, le)); break;
      case 'i8': out[i] = Number(dv.getBigInt64(o, le)); break;
      case 'f2': out[i] = halfToFloat(dv.getUint16(o, le)); break;
      case 'f4': out[i] = dv.getFloat32(o, le); break;
      case 'f8': out[i] = dv.getFloat64(o, le); break;
    }
  }
  return out;
}

function product(a: number[]): number {
  return a.reduce((p, d) => p * d, 1);
}

/** Fortran (column-major) order data → C (row-major) order, same shape. */
export function fortranToC(data: Float32Array, shape: number[]): Float32Array {
  const n = data.length;
  const r = shape.length;
  if (r <= 1) return data;
  const out = new Float32Array(n);
  // C strides of the output; the Fortran index of an element advances along axis 0 fastest.
  const cStride = new Array<number>(r);
  cStride[r - 1] = 1;
  for (let a = r - 2; a >= 0; a--) cStride[a] = cStride[a + 1] * shape[a + 1];
  const idx = new Array<number>(r).fill(0);
  let c = 0;
  for (let f = 0; f < n; f++) {
    out[c] = data[f];
    for (let a = 0; a < r; a++) {
      idx[a]++;
      c += cStride[a];
      if (idx[a] < shape[a]) break;
      c -= cStride[a] * shape[a];
      idx[a] = 0;
    }
  }
  return out;
}

/** Parses a whole .npy (in memory). Fortran-order arrays are transposed to C order. */
export function parseNpy(buf: Uint8Array, file: string, ext = '.npy'): NdArray {
  const h = parseNpyHeader(buf, file);
  const count = product(h.shape);
  const need = count * h.itemSize;
  const have = buf.length - h.dataOffset;
  if (have < need) throw npyError(file, `truncated (the header promises ${need} bytes of data, the file holds ${have})`, ext);
  let data = decodeNpyValues(buf.subarray(h.dataOffset), h, count);
  if (h.fortranOrder) data = fortranToC(data, h.shape);
  return { dtype: h.dtype, shape: h.shape, data };
}

function readFileOrThrow(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder, not a file' : `cannot be read (${(e as Error).message})`;
    throw new LensError(`${file} ${why}`, 'data', file);
  }
}

/** Reads a whole .npy file. */
export function readNpy(file: string): NdArray {
  return parseNpy(readFileOrThrow(file), file);
}

/**
 * A .npy on disk whose items (slices along axis 0) are read one at a time, without loading
 * the whole array: only the header is read up front. Fortran-order files are loaded whole.
 */
export class NpyFile implements ItemArray {
  readonly header: NpyHeader;
  get name(): string {
    return this.file;
  }
  get dtype(): string {
    return this.header.dtype;
  }
  private whole?: Float32Array;
  constructor(readonly file: string) {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (e) {
      readFileOrThrow(file); // throws the friendly message
      throw e;
    }
    try {
      const size = fs.fstatSync(fd).size;
      const head = Buffer.alloc(Math.min(size, 65536 + 12));
      fs.readSync(fd, head, 0, head.length, 0);
      this.header = parseNpyHeader(head, file);
      const need = product(this.header.shape) * this.header.itemSize;
      const have = size - this.header.dataOffset;
      if (have < need) throw npyError(file, `truncated (the header promises ${need} bytes of data, the file holds ${have})`);
    } finally {
      fs.closeSync(fd);
    }
  }
  get shape(): number[] {
    return this.header.shape;
  }
  /** Item `i` along axis 0, C order. */
  readItem(i: number): Float32Array {
    const s = this.header.shape;
    const per = product(s.slice(1));
    if (this.header.fortranOrder) {
      if (!this.whole) this.whole = readNpy(this.file).data;
      return this.whole.slice(i * per, (i + 1) * per);
    }
    const bytes = Buffer.alloc(per * this.header.itemSize);
    const fd = fs.openSync(this.file, 'r');
    try {
      fs.readSync(fd, bytes, 0, bytes.length, this.header.dataOffset + i * bytes.length);
    } finally {
      fs.closeSync(fd);
    }
    return decodeNpyValues(bytes, this.header, per);
  }
}

/* ------------------------------------------------------------------------------------------ */
/* NPZ                                                                                         */
/* ------------------------------------------------------------------------------------------ */

/** Names of the arrays in an .npz (without `.npy`), in archive order; nothing is decompressed. */
export function listNpzMembers(file: string, buf?: Uint8Array): string[] {
  const names: string[] = [];
  try {
    unzipSync(buf ?? readFileOrThrow(file), {
      filter: (f) => {
        if (f.name.toLowerCase().endsWith('.npy')) names.push(f.name.slice(0, -4));
        return false;
      },
    });
  } catch (e) {
    if (e instanceof LensError) throw e;
    throw npyError(file, `not a valid zip archive (${(e as Error).message})`, '.npz');
  }
  return names;
}

const ROLE_MEMBERS: Record<ReadRole, string[]> = {
  image: ['images', 'image', 'imgs', 'img', 'x', 'inputs', 'input', 'data', 'volumes', 'arr_0'],
  label: ['labels', 'label', 'masks', 'mask', 'y', 'targets', 'target', 'segmentations', 'seg', 'gt', 'arr_1'],
};

/**
 * Which member of an .npz to read: the one named (`file.npz#name`), the only one, or the one
 * whose name says its role (`images`/`x`/… for images, `labels`/`masks`/`y`/… for labels).
 */
export function pickNpzMember(members: string[], file: string, role: ReadRole, wanted?: string): string {
  const shown = path.basename(file);
  if (wanted !== undefined) {
    if (members.includes(wanted)) return wanted;
    throw new LensError(
      `${file} has no array named "${wanted}" (it holds: ${members.join(', ') || 'nothing'})`,
      'data',
      file,
    );
  }
  if (members.length === 0) throw npyError(file, 'it holds no .npy arrays', '.npz');
  if (members.length === 1) return members[0];
  const lower = members.map((m) => m.toLowerCase());
  for (const cand of ROLE_MEMBERS[role]) {
    const i = lower.indexOf(cand);
    if (i >= 0) return members[i];
  }
  throw new LensError(
    `${file} holds several arrays (${members.join(', ')}); name the one with the ${role === 'image' ? 'images' : 'labels'} as "${shown}#${members[0]}" in unetlens.json`,
    'data',
    file,
  );
}

/** Decompresses one member of an .npz: its .npy bytes (header included). */
export function readNpzMemberBytes(file: string, role: ReadRole, wanted?: string): { member: string; bytes: Uint8Array } {
  const buf = readFileOrThrow(file);
  const member = pickNpzMember(listNpzMembers(file, buf), file, role, wanted);
  let entry: Uint8Array | undefined;
  try {
    const files = unzipSync(buf, { filter: (f) => f.name === `${member}.npy` });
    entry = files[`${member}.npy`];
  } catch (e) {
    throw npyError(file, `cannot decompress "${member}" (${(e as Error).message})`, '.npz');
  }
  if (!entry) throw npyError(file, `cannot find "${member}.npy" in the archive`, '.npz');
  return { member, bytes: entry };
}

/** Reads one array of an .npz (only that member is decompressed). */
export function readNpzMember(file: string, role: ReadRole, wanted?: string): NdArray & { member: string } {
  const { member, bytes } = readNpzMemberBytes(file, role, wanted);
  const arr = parseNpy(bytes, `${file}#${member}`, '.npz');
  return { ...arr, member };
}

/** An array whose items (slices along axis 0) can be read one at a time. */
export interface ItemArray {
  /** Display name: the file, or `file.npz#member`. */
  readonly name: string;
  readonly shape: number[];
  readonly dtype: string;
  readItem(i: number): Float32Array;
}

/**
 * One array of an .npz. Zip members cannot be read in parts, so the member is decompressed
 * once and kept as its raw bytes (1 byte per value for uint8 data); items are decoded to
 * float32 one at a time.
 */
export class NpzArray implements ItemArray {
  readonly name: string;
  readonly shape: number[];
  readonly dtype: string;
  private readonly header: NpyHeader;
  private readonly bytes: Uint8Array;
  private whole?: Float32Array;
  constructor(file: string, role: ReadRole, wanted?: string) {
    const { member, bytes } = readNpzMemberBytes(file, role, wanted);
    this.name = `${file}#${member}`;
    this.header = parseNpyHeader(bytes, this.name);
    const need = product(this.header.shape) * this.header.itemSize;
    const have = bytes.length - this.header.dataOffset;
    if (have < need) throw npyError(this.name, `truncated (the header promises ${need} bytes of data, the member holds ${have})`, '.npz');
    this.bytes = bytes;
    this.shape = this.header.shape;
    this.dtype = this.header.dtype;
  }
  readItem(i: number): Float32Array {
    const per = product(this.shape.slice(1));
    if (this.header.fortranOrder) {
      if (!this.whole) this.whole = parseNpy(this.bytes, this.name, '.npz').data;
      return this.whole.slice(i * per, (i + 1) * per);
    }
    const start = this.header.dataOffset + i * per * this.header.itemSize;
    return decodeNpyValues(this.bytes.subarray(start), this.header, per);
  }
}

/** Opens `file.npy`, `file.npz` or `file.npz#member` for item-by-item reading. */
export function openItemArray(p: string, role: ReadRole): ItemArray {
  const { file, member } = splitMember(p);
  const ext = extOf(file);
  if (ext === '.npz') return new NpzArray(file, role, member);
  if (ext === '.npy') return new NpyFile(file);
  throw new LensError(`${file}: expected an .npy or .npz array file`, 'data', file);
}

/* ------------------------------------------------------------------------------------------ */
/* Arrays → [C, ...spatial]                                                                   */
/* ------------------------------------------------------------------------------------------ */

/** Number of spatial dims for a layout: 2 (H, W) or 3 (D, H, W). */
export function spatialRank(layout: ReadContext['layout']): number {
  return layout === 'NCDHW' || layout === 'NDHWC' ? 3 : 2;
}

export type ChannelAxis = 'none' | 'first' | 'last';

/**
 * Decides where the channel axis of one item's shape is (batch axis already removed):
 * rank = spatial rank → no channel axis (one channel); rank = spatial + 1 → channels first or
 * last, chosen by which end equals `input.channels` (ties go to `input.layout`), else by which
 * end is 1 (a grey image for an RGB model). Labels may only have a channel axis of 1.
 */
export function channelAxisOf(shape: number[], ctx: ReadContext, what: string): ChannelAxis {
  const s = spatialRank(ctx.layout);
  const shapeStr = `[${shape.join(', ')}]`;
  const sp = s === 3 ? 'D×H×W' : 'H×W';
  if (shape.length === s) return 'none';
  if (shape.length !== s + 1) {
    const expected =
      ctx.role === 'label' ? `${sp} (or 1×${sp})` : `${sp}, C×${sp} or ${sp}×C for layout ${ctx.layout}`;
    throw new LensError(`${what}: array of shape ${shapeStr} is not an image: expected ${expected}`, 'data', what);
  }
  const first = shape[0];
  const last = shape[shape.length - 1];
  if (ctx.role === 'label') {
    if (first === 1) return 'first';
    if (last === 1) return 'last';
    throw new LensError(
      `${what}: label array of shape ${shapeStr} has a channel axis; a mask must be ${sp} (or 1×${sp}) holding class indices`,
      'data',
      what,
    );
  }
  const want = ctx.channels;
  if (first === want && last !== want) return 'first';
  if (last === want && first !== want) return 'last';
  if (first === want && last === want) return ctx.layout === 'NHWC' || ctx.layout === 'NDHWC' ? 'last' : 'first';
  if (first === 1) return 'first';
  if (last === 1) return 'last';
  throw new LensError(
    `${what}: cannot tell the channel axis of an array of shape ${shapeStr}: input.channels is ${want}, so expected C×${sp} or ${sp}×C with C = ${want} (or 1)`,
    'data',
    what,
  );
}

/** One item's values and shape (no batch axis) → planar `[C, ...spatial]`. */
export function toChannelsFirst(data: Float32Array, shape: number[], axis: ChannelAxis): RawImage {
  if (axis === 'none') return { data, dims: [1, ...shape] };
  if (axis === 'first') return { data, dims: shape.slice() };
  const c = shape[shape.length - 1];
  const spatial = shape.slice(0, -1);
  const n = product(spatial);
  if (c === 1) return { data, dims: [1, ...spatial] };
  const out = new Float32Array(data.length);
  for (let i = 0; i < n; i++) for (let k = 0; k < c; k++) out[k * n + i] = data[i * c + k];
  return { data: out, dims: [c, ...spatial] };
}

/* ------------------------------------------------------------------------------------------ */
/* Labels                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/** Formats the position of flat index `i` in spatial dims `[H, W]` / `[D, H, W]`. */
export function pixelAt(i: number, spatial: number[]): string {
  if (spatial.length === 2) return `(x=${i % spatial[1]}, y=${Math.floor(i / spatial[1])})`;
  if (spatial.length === 3) {
    const hw = spatial[1] * spatial[2];
    const r = i % hw;
    return `(x=${r % spatial[2]}, y=${Math.floor(r / spatial[2])}, z=${Math.floor(i / hw)})`;
  }
  return `(index ${i})`;
}

/**
 * A raw image read as a mask → integer class map with spatial dims only. Several channels are
 * accepted only when they are all equal (an RGB PNG saved from a grey mask); values must be
 * integers.
 */
export function rawToLabel(raw: RawImage, file: string): LabelMap {
  const [c, ...spatial] = raw.dims;
  const n = product(spatial);
  const d = raw.data;
  for (let k = 1; k < c; k++) {
    for (let i = 0; i < n; i++) {
      if (d[k * n + i] !== d[i]) {
        const vals = Array.from({ length: c }, (_, j) => d[j * n + i]).join(', ');
        throw new LensError(
          `${file}: a colour mask is not supported: pixel ${pixelAt(i, spatial)} is (${vals}); save masks as single-channel (grey or palette) images whose values are the class indices`,
          'data',
          file,
        );
      }
    }
  }
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = d[i];
    if (!Number.isInteger(v)) {
      throw new LensError(
        `${file}: label value ${v} at pixel ${pixelAt(i, spatial)} is not an integer class index`,
        'data',
        file,
      );
    }
    out[i] = v;
  }
  return { data: out, dims: spatial };
}

/**
 * Checks that every value of a class map is in `0..classes.length-1`. A mask of 0/255 with two
 * classes is the common mistake, and the message says so.
 */
export function checkLabelRange(label: LabelMap, classes: string[], file: string): void {
  const k = classes.length;
  const d = label.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    if (v < 0 || v >= k) {
      const where = label.dims.length ? ` at pixel ${pixelAt(i, label.dims)}` : '';
      let hint = '';
      if (v === 255 && k === 2) {
        hint = '. The mask looks like it was saved as 0/255: save it as 0/1 (class indices), e.g. mask // 255';
      } else if (v === 255) {
        hint = '. 255 is often an "ignore" value or a 0/255 mask: masks must hold class indices';
      } else if (v === k) {
        hint = `. Class indices start at 0; if the mask counts classes from 1, subtract 1 or add a background class`;
      }
      throw new LensError(
        `${file}: label value ${v}${where} is outside 0..${k - 1} (classes: ${classes.join(', ')})${hint}`,
        'data',
        file,
      );
    }
  }
}

/* ------------------------------------------------------------------------------------------ */
/* The reader table                                                                            */
/* ------------------------------------------------------------------------------------------ */

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
};

/** Formats UNet Lens knows of but cannot read yet (for the "skipped" note). */
export const NOT_YET_SUPPORTED: Record<string, string> = {
  '.bmp': 'BMP',
  '.gif': 'GIF',
  '.webp': 'WebP',
  '.hdr': 'Analyze/NIfTI .hdr/.img pair',
  '.img': 'Analyze/NIfTI .hdr/.img pair',
  '.dcm': 'DICOM',
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

/** Reads one image file: raw values, `[C, ...spatial]`. */
export function readImageFile(file: string, ctx: Omit<ReadContext, 'role'>): RawImage {
  const r = readerFor(file);
  if (!r) {
    throw new LensError(
      `${file}: cannot read ${extOf(file) || 'files without an extension'} files (supported: ${supportedExtensions().join(', ')})`,
      'data',
      file,
    );
  }
  return r.read(file, { ...ctx, role: 'image' });
}

/** Reads one mask file: integer class map with spatial dims only (no range check: see checkLabelRange). */
export function readLabelFile(file: string, ctx: Omit<ReadContext, 'role'>): LabelMap {
  const r = readerFor(file);
  if (!r) {
    throw new LensError(
      `${file}: cannot read ${extOf(file) || 'files without an extension'} masks (supported: ${supportedExtensions().join(', ')})`,
      'data',
      file,
    );
  }
  return rawToLabel(r.read(file, { ...ctx, role: 'label' }), file);
}
