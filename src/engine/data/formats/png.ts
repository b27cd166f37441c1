/**
 * PNG reader (`.png`, on `pngjs`): grey, grey+alpha, RGB, RGBA and palette images of any bit
 * depth; a palette mask reads as its palette indices (class indices). Alpha is dropped.
 */
import { PNG } from 'pngjs';
import { LensError } from '../../types';
import { checkAllocation } from '../../limits';
import { readFileOrThrow, unreadable, type RawImage, type ReadRole } from './common';

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
  const bad = (why: string): LensError => unreadable(file, 'PNG', why);
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
  // What decoding will allocate, from the declared size, before any pixel is inflated:
  // pngjs's RGBA buffer (16-bit: two bytes a sample) plus our float32 planes.
  const declared = header.width * header.height;
  if (header.width === 0 || header.height === 0) throw unreadable(file, 'PNG', `it declares a ${header.width}×${header.height} image`);
  checkAllocation(declared * 4 * (header.bitDepth > 8 ? 2 : 1) + declared * 3 * 4, `decoding its declared ${header.width}×${header.height} pixels`, file);
  let png: { width: number; height: number; data: Buffer | Uint16Array };
  try {
    png = PNG.sync.read(clean, { skipRescale: true }) as unknown as typeof png;
  } catch (e) {
    throw unreadable(file, 'PNG', `corrupt image data (${(e as Error).message})`);
  }
  const { width: w, height: h } = png;
  const px = png.data;
  const n = w * h;
  if (px.length < n * 4) throw unreadable(file, 'PNG', 'image data is incomplete');
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
