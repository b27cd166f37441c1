/**
 * NIfTI reader (`.nii`, `.nii.gz`; NIfTI-1 and NIfTI-2 single files), on `nifti-reader-js`
 * for the header and Node's zlib for gzip (native, and it checks the gzip CRC and length, so a
 * damaged .nii.gz is an error rather than a silently short volume).
 *
 * - Voxels keep the file's own order, no reorientation (the affine / qform / sform are not
 *   applied): NIfTI stores x fastest, then y, z, t, so a volume of dims (X, Y, Z[, T]) comes
 *   back as `[C = T, D = Z, H = Y, W = X]`. This is SimpleITK's `GetArrayFromImage` order
 *   (nnU-Net); nibabel's `img.get_fdata()` is the same array transposed (`[x, y, z, t]`), i.e.
 *   ours equals `np.asarray(img.get_fdata()).T`.
 * - Dims beyond the third (t, and the 5th-7th) are channels: C = product of dims 4…7.
 * - Datatypes: uint8/16/32/64, int8/16/32/64, float32/64 (not complex, RGB, float128).
 * - Images: `scl_slope`/`scl_inter` are applied (`v·slope + inter`, skipped when slope is 0 or
 *   not finite, as in the NIfTI standard and nibabel's `get_fdata`). Masks: the stored integers,
 *   unscaled; a mask must have one value per voxel (no 4th dimension).
 * - With a 2D layout (NCHW/NHWC) a NIfTI with Z = 1 is a 2D image `[C, Y, X]`; a volume with
 *   Z > 1 is an error that points to input.layout "NCDHW".
 *
 * nifti-reader-js is an ES module only (its package.json exports only an `import` condition).
 * esbuild bundles it either way, but the tests run the TypeScript through tsx as CommonJS,
 * where `require('nifti-reader-js')` fails to resolve; importing its entry file by path works
 * in both (tsx compiles the ES module for require; esbuild bundles it).
 */
import { gunzipSync } from 'node:zlib';
import { checkAllocation, formatBytes, maxArrayBytes } from '../../limits';
import * as nifti from '../../../../node_modules/nifti-reader-js/dist/nifti.js';
import { LensError } from '../../types';
import { unreadable, type RawImage, type ReadRole } from './common';

interface NiftiType {
  name: string;
  bytes: number;
  get: (dv: DataView, o: number, le: boolean) => number;
}

const TYPES: Record<number, NiftiType> = {
  2: { name: 'uint8', bytes: 1, get: (dv, o) => dv.getUint8(o) },
  4: { name: 'int16', bytes: 2, get: (dv, o, le) => dv.getInt16(o, le) },
  8: { name: 'int32', bytes: 4, get: (dv, o, le) => dv.getInt32(o, le) },
  16: { name: 'float32', bytes: 4, get: (dv, o, le) => dv.getFloat32(o, le) },
  64: { name: 'float64', bytes: 8, get: (dv, o, le) => dv.getFloat64(o, le) },
  256: { name: 'int8', bytes: 1, get: (dv, o) => dv.getInt8(o) },
  512: { name: 'uint16', bytes: 2, get: (dv, o, le) => dv.getUint16(o, le) },
  768: { name: 'uint32', bytes: 4, get: (dv, o, le) => dv.getUint32(o, le) },
  1024: { name: 'int64', bytes: 8, get: (dv, o, le) => Number(dv.getBigInt64(o, le)) },
  1280: { name: 'uint64', bytes: 8, get: (dv, o, le) => Number(dv.getBigUint64(o, le)) },
};
type NumView = new (b: ArrayBuffer) => ArrayLike<number>;
/** Typed arrays of the datatypes whose values a little-endian host can view directly. */
const TYPED: Record<number, NumView> = {
  2: Uint8Array,
  4: Int16Array,
  8: Int32Array,
  16: Float32Array,
  64: Float64Array,
  256: Int8Array,
  512: Uint16Array,
  768: Uint32Array,
};
const LE_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const UNSUPPORTED_TYPES: Record<number, string> = {
  1: 'binary (1-bit)',
  32: 'complex64',
  128: 'RGB24',
  1536: 'float128',
  1792: 'complex128',
  2048: 'complex256',
  2304: 'RGBA32',
};

function bad(file: string, why: string): LensError {
  return unreadable(file, 'NIfTI file', why);
}

/** The bytes of the file, gunzipped when they start with the gzip magic (whatever the name). */
function inflate(buf: Uint8Array, file: string): { bytes: Uint8Array; gz: boolean } {
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      // Decompression stops at the memory budget: a small .nii.gz cannot become gigabytes.
      return { bytes: gunzipSync(buf, { maxOutputLength: maxArrayBytes() }), gz: true };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
        throw new LensError(
          `${file}: decompresses to more than ${formatBytes(maxArrayBytes())}, the limit of one image (set by unetLens.workerMemoryMB / UNET_LENS_MEMORY_MB); refusing to read it`,
          'data',
          file,
        );
      }
      throw bad(file, `corrupt or truncated gzip data (${(e as Error).message})`);
    }
  }
  return { bytes: buf, gz: false };
}

/**
 * Decodes a NIfTI file to raw values: `[C, D, H, W]` (`rank` 3) or `[C, H, W]` (`rank` 2, for
 * files with Z = 1). See the module comment for the axis order and scaling.
 */
export function decodeNifti(buf: Uint8Array, file: string, role: ReadRole, rank: 2 | 3, layout = 'NCHW'): RawImage {
  if (buf.length === 0) throw bad(file, 'the file is empty');
  const { bytes, gz } = inflate(buf, file);
  const dvh = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sizeLE = bytes.length >= 4 ? dvh.getInt32(0, true) : 0;
  const sizeBE = bytes.length >= 4 ? dvh.getInt32(0, false) : 0;
  const hdrSize = [348, 540].includes(sizeLE) ? sizeLE : [348, 540].includes(sizeBE) ? sizeBE : 0;
  if (!hdrSize) {
    throw bad(file, `it does not start with a NIfTI header (the first 4 bytes${gz ? ' after gunzip' : ''} should hold 348 or 540)`);
  }
  if (bytes.length < hdrSize) throw bad(file, `truncated header (${bytes.length} bytes; a NIfTI-${hdrSize === 348 ? 1 : 2} header is ${hdrSize})`);
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  if (!nifti.isNIFTI(ab)) {
    if (nifti.isNIFTI(ab, true)) throw bad(file, 'it is the header of a .hdr/.img pair; only single-file .nii/.nii.gz are supported');
    throw bad(file, 'no NIfTI magic ("n+1" / "n+2") in the header (an Analyze 7.5 file?)');
  }
  let h: ReturnType<typeof nifti.readHeader>;
  try {
    h = nifti.readHeader(ab);
  } catch (e) {
    throw bad(file, `corrupt header (${(e as Error).message})`);
  }
  const dims = h.dims.map(Number);
  const ndim = dims[0];
  if (!(ndim >= 1 && ndim <= 7)) throw bad(file, `bad dim[0] = ${ndim} (the number of dimensions, 1…7)`);
  const sizes = dims.slice(1, ndim + 1);
  if (sizes.some((d) => !Number.isInteger(d) || d < 1)) throw bad(file, `bad dims [${sizes.join(', ')}]`);
  const [nx, ny = 1, nz = 1] = sizes;
  const nc = sizes.slice(3).reduce((a, b) => a * b, 1);
  const type = TYPES[h.datatypeCode];
  if (!type) {
    const name = UNSUPPORTED_TYPES[h.datatypeCode];
    throw bad(
      file,
      `${name ? `${name} data is` : `datatype ${h.datatypeCode} is`} not supported (supported: uint8/16/32/64, int8/16/32/64, float32/64)`,
    );
  }
  const offset = Math.round(Number(h.vox_offset));
  if (!(offset >= hdrSize)) throw bad(file, `bad vox_offset ${h.vox_offset} (the voxels start after the ${hdrSize}-byte header)`);
  const nvox = nx * ny * nz * nc;
  const need = nvox * type.bytes;
  checkAllocation(nvox * 4, `its declared ${sizes.join('×')} voxels (as float32)`, file);
  if (offset + need > bytes.length) {
    throw bad(
      file,
      `truncated (the header promises ${need} bytes of ${type.name} voxels from byte ${offset}, the ${gz ? 'decompressed ' : ''}file holds ${Math.max(0, bytes.length - offset)})`,
    );
  }
  if (role === 'label' && nc > 1) {
    throw new LensError(
      `${file}: a mask must hold one class index per voxel, but this volume has ${nc} values per voxel (dims ${sizes.join('×')}); save the mask as X×Y×Z`,
      'data',
      file,
    );
  }
  if (rank === 2 && nz > 1) {
    throw new LensError(
      `${file} is a 3D volume (${sizes.slice(0, 3).join('×')}); with input.layout "${layout}" the model takes 2D images: set "input.layout": "NCDHW" for a 3D model`,
      'data',
      file,
    );
  }
  // Scaling (images only): NIfTI-1 stores float32, NIfTI-2 float64; nifti-reader-js reads both.
  let slope = Number(h.scl_slope);
  let inter = Number(h.scl_inter);
  const scaled = role === 'image' && Number.isFinite(slope) && slope !== 0;
  if (!scaled) slope = 1;
  if (!scaled || !Number.isFinite(inter)) inter = 0;
  const le = h.littleEndian;
  const out = new Float32Array(nvox);
  const View = LE_HOST && le ? TYPED[h.datatypeCode] : undefined;
  if (View) {
    // Fast path: a typed-array view of (an aligned copy of) the voxels.
    const src = new View(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + need) as ArrayBuffer);
    if (slope === 1 && inter === 0) out.set(src);
    else for (let i = 0; i < nvox; i++) out[i] = src[i] * slope + inter;
  } else {
    const dv = new DataView(bytes.buffer, bytes.byteOffset + offset, need);
    const get = type.get;
    const sz = type.bytes;
    if (slope === 1 && inter === 0) for (let i = 0; i < nvox; i++) out[i] = get(dv, i * sz, le);
    else for (let i = 0; i < nvox; i++) out[i] = get(dv, i * sz, le) * slope + inter;
  }
  // File order is x fastest, then y, z, then the channel dims: C-order [C][Z][Y][X].
  return { data: out, dims: rank === 3 ? [nc, nz, ny, nx] : [nc, ny, nx] };
}
