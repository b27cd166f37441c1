/**
 * TIFF reader (`.tif`, `.tiff`), on `utif2` (pure JavaScript).
 *
 * Values come back as stored (no rescaling, like tifffile / skimage.io.imread):
 * - samples: unsigned 1/2/4/8/16/32-bit, signed 8/16/32-bit, float 32/64-bit; little- or
 *   big-endian;
 * - compression: none, LZW, Deflate (Adobe and old-style), PackBits, with or without the
 *   horizontal predictor (8- and 16-bit data); strips or tiles; chunky or planar
 *   (PlanarConfiguration 2) samples;
 * - grey (BlackIsZero; WhiteIsZero is NOT inverted, as tifffile): one channel per sample,
 *   alpha samples (ExtraSamples 1/2) dropped; RGB: three channels, alpha dropped; palette:
 *   the colour-map colours (16-bit, one channel when every entry is grey), or the indices when
 *   read as a mask.
 * - Pages: with a 2D layout (NCHW/NHWC) a file must hold one image; with a 3D layout
 *   (NCDHW/NDHWC) the pages are the slices of a volume, `[C, D, H, W]` with D = number of
 *   pages (1 for a single-page file). Reduced-resolution pages (thumbnails, pyramid levels:
 *   NewSubfileType bit 0) and transparency masks (bit 2) are skipped.
 * - Not supported (a clear error says so): JPEG/CCITT/other compressions, the floating-point
 *   predictor, CMYK/YCbCr/Lab photometrics, BigTIFF, float16.
 */
import { checkAllocation } from '../../limits';
import * as UTIF from 'utif2';
import { LensError } from '../../types';
import { unreadable, type RawImage, type ReadRole } from './common';

type Ifd = UTIF.IFD & { isLE?: boolean };

const COMPRESSIONS: Record<number, string> = {
  1: 'none',
  5: 'LZW',
  8: 'Deflate',
  32946: 'Deflate',
  32773: 'PackBits',
};
const OTHER_COMPRESSIONS: Record<number, string> = {
  2: 'CCITT RLE',
  3: 'CCITT Group 3',
  4: 'CCITT Group 4',
  6: 'old-style JPEG',
  7: 'JPEG',
  34712: 'JPEG 2000',
  34892: 'lossy JPEG',
  50000: 'Zstandard',
  34925: 'LZMA',
  50001: 'WebP',
  34887: 'LERC',
};
const PHOTOMETRICS: Record<number, string> = {
  4: 'transparency mask',
  5: 'CMYK',
  6: 'YCbCr',
  8: 'CIE L*a*b*',
  9: 'ICC L*a*b*',
  10: 'ITU L*a*b*',
  32844: 'LogL',
  32845: 'LogLuv',
  32803: 'colour filter array (raw camera)',
  34892: 'linear raw',
};

function bad(file: string, why: string): LensError {
  return unreadable(file, 'TIFF', why);
}

function tag(ifd: Ifd, t: number): number[] | undefined {
  const v = ifd[`t${t}`];
  return Array.isArray(v) ? (v as number[]) : v instanceof Uint8Array ? Array.from(v) : undefined;
}

function tag1(ifd: Ifd, t: number, dflt: number): number {
  const v = tag(ifd, t);
  return v && v.length ? Number(v[0]) : dflt;
}

interface PageInfo {
  ifd: Ifd;
  width: number;
  height: number;
  bps: number;
  spp: number;
  /** 1 uint, 2 int, 3 float. */
  format: number;
  photometric: number;
  planar: number;
  compression: number;
  predictor: number;
  /** Indices of the samples kept as channels. */
  keep: number[];
  /** 16-bit colour map (3 × 2^bps, R then G then B), palette images only. */
  colormap?: number[];
}

/** Reads and checks the tags of one page; nothing is decompressed. */
function pageInfo(ifd: Ifd, file: string, page: number, buf: Uint8Array): PageInfo {
  const where = page > 0 ? ` (page ${page + 1})` : '';
  const width = tag1(ifd, 256, 0);
  const height = tag1(ifd, 257, 0);
  if (!(width > 0 && height > 0)) throw bad(file, `bad image size ${width}×${height}${where}`);
  const spp = tag1(ifd, 277, 1);
  const bpsAll = tag(ifd, 258) ?? [1];
  const bps = Number(bpsAll[0]);
  if (bpsAll.some((b) => Number(b) !== bps)) throw bad(file, `samples of different bit depths (${bpsAll.join(', ')}) are not supported${where}`);
  const format = tag1(ifd, 339, 1);
  const photometric = tag1(ifd, 262, spp >= 3 ? 2 : 1);
  const planar = tag1(ifd, 284, 1);
  const compression = tag1(ifd, 259, 1);
  const predictor = tag1(ifd, 317, 1);
  if (!COMPRESSIONS[compression]) {
    const name = OTHER_COMPRESSIONS[compression];
    throw bad(file, `${name ? `${name} compression` : `compression ${compression}`} is not supported (supported: none, LZW, Deflate, PackBits)${where}`);
  }
  if (predictor === 3) throw bad(file, `the floating-point predictor is not supported (save without a predictor, or with predictor 2 for integer data)${where}`);
  if (predictor !== 1 && predictor !== 2) throw bad(file, `predictor ${predictor} is not supported${where}`);
  if (predictor === 2 && bps !== 8 && bps !== 16) throw bad(file, `the horizontal predictor is supported for 8- and 16-bit samples only (this file has ${bps}-bit samples)${where}`);
  const okBits =
    format === 1 || format === 4 ? [1, 2, 4, 8, 16, 32] : format === 2 ? [8, 16, 32] : format === 3 ? [32, 64] : [];
  if (!okBits.includes(bps)) {
    const kind = format === 1 || format === 4 ? 'unsigned integer' : format === 2 ? 'signed integer' : format === 3 ? 'floating-point' : `sample format ${format}`;
    throw bad(file, `${bps}-bit ${kind} samples are not supported${where} (supported: unsigned 1/2/4/8/16/32-bit, signed 8/16/32-bit, float 32/64-bit)`);
  }
  if (bps < 8 && spp !== 1) throw bad(file, `${bps}-bit samples are supported for one-sample (grey) images only${where}`);
  if (PHOTOMETRICS[photometric]) throw bad(file, `${PHOTOMETRICS[photometric]} images are not supported (grey, RGB and palette are)${where}`);
  if (photometric > 3) throw bad(file, `photometric interpretation ${photometric} is not supported${where}`);
  if (planar !== 1 && planar !== 2) throw bad(file, `bad PlanarConfiguration ${planar}${where}`);
  if (tag(ifd, 322) && planar === 2 && spp > 1) throw bad(file, `tiled images with separate sample planes are not supported${where}`);

  let keep: number[];
  if (photometric === 2) {
    if (spp < 3) throw bad(file, `an RGB image with ${spp} samples per pixel${where}`);
    keep = [0, 1, 2];
  } else {
    // Grey/palette: drop alpha (ExtraSamples 1 = associated, 2 = unassociated); keep the rest.
    const extra = tag(ifd, 338) ?? [];
    const first = spp - extra.length;
    keep = [];
    for (let s = 0; s < spp; s++) {
      const e = s >= first ? Number(extra[s - first]) : 0;
      if (s === 0 || (e !== 1 && e !== 2)) keep.push(s);
    }
  }
  let colormap: number[] | undefined;
  if (photometric === 3) {
    colormap = tag(ifd, 320);
    if (!colormap || colormap.length < 3 * 2 ** bps) throw bad(file, `a palette image without a complete colour map${where}`);
    if (spp !== 1) throw bad(file, `a palette image with ${spp} samples per pixel${where}`);
  }

  // Data segments (strips or tiles) must lie inside the file: catches truncated files before
  // the decoder reads past the end.
  const tiled = tag(ifd, 322) !== undefined;
  const offs = tag(ifd, tiled ? 324 : 273);
  const counts = tag(ifd, tiled ? 325 : 279);
  if (!offs || offs.length === 0) throw bad(file, `no image data (no ${tiled ? 'tile' : 'strip'} offsets)${where}`);
  const rowBytes = Math.ceil((width * bps * (planar === 2 ? 1 : spp)) / 8);
  const rps = Math.min(tag1(ifd, 278, height), height);
  const segBytes = tiled
    ? Math.ceil((tag1(ifd, 322, 0) * bps * (planar === 2 ? 1 : spp)) / 8) * tag1(ifd, 323, 0)
    : rowBytes * rps;
  for (let i = 0; i < offs.length; i++) {
    const o = Number(offs[i]);
    let c = counts ? Number(counts[i]) : NaN;
    if (compression === 1 && !tiled) {
      // the last strip may hold fewer rows
      const strip = i % Math.ceil(height / rps);
      c = rowBytes * Math.min(rps, height - strip * rps);
    } else if (compression === 1) {
      c = segBytes;
    }
    if (!Number.isFinite(c)) throw bad(file, `no ${tiled ? 'tile' : 'strip'} byte counts${where}`);
    if (o + c > buf.length) {
      throw bad(
        file,
        `truncated (${tiled ? 'tile' : 'strip'} ${i + 1} of ${offs.length}${where} at byte ${o} needs ${c} bytes, the file ends ${Math.max(0, buf.length - o)} bytes later)`,
      );
    }
  }
  return { ifd, width, height, bps, spp, format, photometric, planar, compression, predictor, keep, colormap };
}

/** Runs utif2's decoder on one IFD, silencing its debug output (it logs tile counts). */
function utifDecode(ab: ArrayBuffer, ifd: Ifd, file: string, where: string): Uint8Array {
  const log = console.log;
  try {
    console.log = () => undefined;
    UTIF.decodeImage(ab, ifd);
  } catch (e) {
    throw bad(file, `corrupt image data${where} (${(e as Error).message})`);
  } finally {
    console.log = log;
  }
  if (!(ifd.data instanceof Uint8Array)) throw bad(file, `corrupt image data${where}`);
  return ifd.data;
}

/** The decoded bytes of one page, one entry per sample plane when planar, else one interleaved. */
function pageBytes(ab: ArrayBuffer, p: PageInfo, file: string, where: string): Uint8Array[] {
  if (p.planar === 1 || p.spp === 1) return [utifDecode(ab, p.ifd, file, where)];
  // PlanarConfiguration 2: the strips of sample 0, then those of sample 1… Decode each plane as
  // a one-sample image (utif2 does not handle separate planes itself).
  const offs = tag(p.ifd, 273)!;
  const counts = tag(p.ifd, 279) ?? [];
  const per = offs.length / p.spp;
  if (!Number.isInteger(per)) throw bad(file, `${offs.length} strips do not divide into ${p.spp} sample planes${where}`);
  const planes: Uint8Array[] = [];
  for (const s of p.keep) {
    const sub: Ifd = { ...p.ifd } as Ifd;
    delete (sub as Partial<Ifd>).data;
    sub.t277 = [1];
    sub.t258 = [p.bps];
    sub.t273 = offs.slice(s * per, (s + 1) * per);
    sub.t279 = counts.slice(s * per, (s + 1) * per);
    delete sub.t338;
    planes.push(utifDecode(ab, sub, file, where));
  }
  return planes;
}

/** One page → planar channels `[C, H, W]` (C = kept samples, or 3 for palette colours). */
function decodePage(ab: ArrayBuffer, p: PageInfo, file: string, role: ReadRole, where: string): { data: Float32Array; channels: number } {
  const { width: w, height: h, bps, format } = p;
  const n = w * h;
  const raw = pageBytes(ab, p, file, where);
  const planarData = p.planar === 2 && p.spp > 1;
  const sppIn = planarData ? 1 : p.spp;
  const bytes = bps / 8;
  // utif2 swaps 16-bit samples of big-endian files to little-endian itself; not 32/64-bit ones.
  const le = bps === 16 ? true : p.ifd.isLE !== false;
  const channels = p.keep.length;
  const out = new Float32Array(channels * n);
  for (let c = 0; c < channels; c++) {
    const src = planarData ? raw[c] : raw[0];
    const sample = planarData ? 0 : p.keep[c];
    const need = bps < 8 ? Math.ceil((w * bps) / 8) * h : n * sppIn * bytes;
    if (src.length < need) throw bad(file, `image data is incomplete${where} (${src.length} of ${need} bytes)`);
    const dst = c * n;
    if (bps < 8) {
      const stride = Math.ceil((w * bps) / 8);
      const mask = (1 << bps) - 1;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const bit = x * bps;
          out[dst + y * w + x] = (src[y * stride + (bit >> 3)] >> (8 - bps - (bit & 7))) & mask;
        }
      }
      continue;
    }
    const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
    const step = sppIn * bytes;
    let o = sample * bytes;
    for (let i = 0; i < n; i++, o += step) {
      let v: number;
      switch (bps) {
        case 8: v = format === 2 ? dv.getInt8(o) : dv.getUint8(o); break;
        case 16: v = format === 2 ? dv.getInt16(o, le) : dv.getUint16(o, le); break;
        case 32: v = format === 3 ? dv.getFloat32(o, le) : format === 2 ? dv.getInt32(o, le) : dv.getUint32(o, le); break;
        default: v = dv.getFloat64(o, le); break;
      }
      out[dst + i] = v;
    }
  }
  if (p.photometric === 3 && role === 'image') {
    // Palette colours (16-bit, as stored in the colour map), one channel when all are grey.
    const cmap = p.colormap!;
    const size = 2 ** bps;
    let grey = true;
    for (let k = 0; k < size && grey; k++) grey = cmap[k] === cmap[size + k] && cmap[k] === cmap[2 * size + k];
    const cc = grey ? 1 : 3;
    const col = new Float32Array(cc * n);
    for (let c = 0; c < cc; c++) for (let i = 0; i < n; i++) col[c * n + i] = cmap[c * size + out[i]];
    return { data: col, channels: cc };
  }
  return { data: out, channels };
}

/**
 * Decodes a TIFF to raw values: `[C, H, W]` (`rank` 2) or `[C, D, H, W]` with one slice per
 * page (`rank` 3).
 */
export function decodeTiff(buf: Uint8Array, file: string, role: ReadRole, rank: 2 | 3, layout = 'NCHW'): RawImage {
  if (buf.length === 0) throw bad(file, 'the file is empty');
  const magic = buf.length >= 4 ? (buf[0] << 24) | (buf[1] << 16) | (buf[2] << 8) | buf[3] : 0;
  const le = buf[0] === 0x49 && buf[1] === 0x49;
  if (magic === 0x49492b00 || magic === 0x4d4d002b) throw bad(file, 'BigTIFF files are not supported');
  if (magic !== 0x49492a00 && magic !== 0x4d4d002a) throw bad(file, 'it does not start with a TIFF header ("II*\\0" or "MM\\0*")');
  if (buf.length < 8) throw bad(file, 'truncated header');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const first = dv.getUint32(4, le);
  if (first + 2 > buf.length) throw bad(file, `truncated (the first directory at byte ${first} is past the end of the file, ${buf.length} bytes)`);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  // Every directory must fit in the file (utif2 would read past the end).
  for (let off = first, k = 0; off !== 0; k++) {
    if (off + 2 > buf.length) throw bad(file, `truncated (directory ${k + 1} at byte ${off} is past the end of the file)`);
    const cnt = dv.getUint16(off, le);
    const end = off + 2 + cnt * 12 + 4;
    if (end > buf.length) throw bad(file, `truncated (directory ${k + 1} at byte ${off} needs ${end - off} bytes, the file ends ${buf.length - off} bytes later)`);
    off = dv.getUint32(end - 4, le);
    if (k > 100000) throw bad(file, 'the directories form a loop');
  }
  let ifds: Ifd[];
  try {
    ifds = UTIF.decode(ab) as Ifd[];
  } catch (e) {
    throw bad(file, `corrupt directory (${(e as Error).message})`);
  }
  const pagesIfd = ifds.filter((d) => tag(d, 256) !== undefined && (tag1(d, 254, 0) & 5) === 0);
  if (pagesIfd.length === 0) throw bad(file, 'no image in the file');
  if (rank === 2 && pagesIfd.length > 1) {
    throw new LensError(
      `${file} holds ${pagesIfd.length} pages (a stack); with input.layout "${layout}" each file must be one 2D image: save one image per file, or set "input.layout": "NCDHW" to read the pages as the slices of a volume`,
      'data',
      file,
    );
  }
  const pages = pagesIfd.map((d, i) => pageInfo(d, file, pagesIfd.length > 1 ? i : 0, buf));
  // What decoding will allocate, from the declared sizes, before anything is decompressed:
  // each page's decoded bytes (one page at a time) and the float32 planes of every page.
  let floats = 0;
  let largestPage = 0;
  for (const p of pages) {
    floats += p.width * p.height * p.keep.length * 4;
    largestPage = Math.max(largestPage, Math.ceil((p.width * p.bps * p.spp) / 8) * p.height);
  }
  checkAllocation(floats + largestPage, `decoding its ${pages.length} page${pages.length > 1 ? 's' : ''} of ${pages[0].width}×${pages[0].height} pixels`, file);
  const p0 = pages[0];
  const planes: Float32Array[] = [];
  let channels = 0;
  pages.forEach((p, i) => {
    const where = pages.length > 1 ? ` (page ${i + 1})` : '';
    if (p.width !== p0.width || p.height !== p0.height) {
      throw bad(file, `page ${i + 1} is ${p.width}×${p.height} but page 1 is ${p0.width}×${p0.height}; the pages of a volume must have one size`);
    }
    const { data, channels: c } = decodePage(ab, p, file, role, where);
    if (i > 0 && c !== channels) throw bad(file, `page ${i + 1} has ${c} channels but page 1 has ${channels}`);
    channels = c;
    planes.push(data);
  });
  const n = p0.width * p0.height;
  if (rank === 2) return { data: planes[0], dims: [channels, p0.height, p0.width] };
  // [D][C][HW] → [C][D][HW]
  const d = planes.length;
  const out = new Float32Array(channels * d * n);
  for (let z = 0; z < d; z++) for (let c = 0; c < channels; c++) out.set(planes[z].subarray(c * n, (c + 1) * n), (c * d + z) * n);
  return { data: out, dims: [channels, d, p0.height, p0.width] };
}
