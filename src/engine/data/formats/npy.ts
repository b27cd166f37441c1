/**
 * NumPy readers: `.npy` (one array) and `.npz` (a zip of them; `file.npz#member` picks one),
 * whole or item by item (slices along axis 0). Values converted to float32, C order.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { unzipSync } from 'fflate';
import { LensError } from '../../types';
import { checkAllocation, checkedProduct, formatBytes, maxArrayBytes, requireRegularFile } from '../../limits';
import { extOf, product, readFileOrThrow, splitMember, unreadable, type NdArray, type ReadRole } from './common';

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
  return unreadable(file, `${ext} array`, why);
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
  checkedProduct(shape, file, 'the array');
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
  checkAllocation(count * 4 * (h.fortranOrder ? 2 : 1), `its declared ${h.shape.join('×')} ${h.dtype} array (as float32)`, file);
  const need = count * h.itemSize;
  const have = buf.length - h.dataOffset;
  if (have < need) throw npyError(file, `truncated (the header promises ${need} bytes of data, the file holds ${have})`, ext);
  let data = decodeNpyValues(buf.subarray(h.dataOffset), h, count);
  if (h.fortranOrder) data = fortranToC(data, h.shape);
  return { dtype: h.dtype, shape: h.shape, data };
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
    requireRegularFile(file, 'data', 'array file');
    try {
      // O_NONBLOCK: a FIFO swapped in after the check does not block the open.
      fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    } catch (e) {
      readFileOrThrow(file); // throws the friendly message
      throw e;
    }
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) throw npyError(file, 'not a regular file');
      const size = st.size;
      const head = Buffer.alloc(Math.min(size, 65536 + 12));
      fs.readSync(fd, head, 0, head.length, 0);
      this.header = parseNpyHeader(head, file);
      const need = product(this.header.shape) * this.header.itemSize;
      const have = size - this.header.dataOffset;
      if (have < need) throw npyError(file, `truncated (the header promises ${need} bytes of data, the file holds ${have})`);
      checkItems(this.header, file);
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
    const fd = fs.openSync(this.file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
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
/**
 * A zip member's declared decompressed size against the budget, before it is inflated
 * (fflate inflates into a buffer of exactly that size, so the declaration bounds the memory).
 */
function checkMemberSize(file: string, f: { name: string; originalSize: number }): true {
  if (f.originalSize > maxArrayBytes()) {
    throw new LensError(
      `${file}: the member "${f.name}" decompresses to ${formatBytes(f.originalSize)}, over the limit of ${formatBytes(maxArrayBytes())} ` +
        `for one array (set by unetLens.workerMemoryMB / UNET_LENS_MEMORY_MB); refusing to read it`,
      'data',
      file,
    );
  }
  return true;
}

/** One item (and, for Fortran order, the whole array) as float32 within the budget. */
function checkItems(h: NpyHeader, file: string): void {
  const per = checkedProduct(h.shape.slice(1), file, 'one item of the array');
  checkAllocation(per * (4 + h.itemSize), `one item of its declared ${h.shape.join('×')} ${h.dtype} array`, file);
  if (h.fortranOrder) checkAllocation(product(h.shape) * 8, `its declared ${h.shape.join('×')} Fortran-order array (read whole)`, file);
}

export function listNpzMembers(file: string, buf?: Uint8Array): string[] {
  const names: string[] = [];
  try {
    unzipSync(buf ?? readFileOrThrow(file), {
      filter: (f) => {
        if (f.name.toLowerCase().endsWith('.npy')) names.push(f.name.slice(0, -4));
        checkMemberSize(file, f);
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
    const files = unzipSync(buf, { filter: (f) => f.name === `${member}.npy` && checkMemberSize(file, f) });
    entry = files[`${member}.npy`];
  } catch (e) {
    if (e instanceof LensError) throw e;
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
    checkItems(this.header, this.name);
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
