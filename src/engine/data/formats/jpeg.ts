/**
 * JPEG reader (`.jpg`, `.jpeg`), on `jpeg-js` (pure JavaScript).
 *
 * - A one-component (grey) JPEG comes back as one channel, every other one as three (RGB;
 *   YCbCr is converted, CMYK/YCCK with an Adobe marker too). Values 0–255, no rescaling.
 * - Baseline, extended and progressive 8-bit Huffman JPEGs; not lossless, arithmetic-coded or
 *   12-bit ones (a clear error says so). EXIF orientation is not applied (pixels as stored, as
 *   PIL's `Image.open` without `exif_transpose`).
 * - Decoders differ slightly: jpeg-js rounds its IDCT differently from libjpeg(-turbo), and it
 *   upsamples subsampled chroma (4:2:0, 4:2:2) by pixel replication where libjpeg's default is
 *   "fancy" (triangle) upsampling. Measured against PIL (libjpeg-turbo 2.1.5) on the fixtures
 *   of test/unit/readers.test.ts (max / mean |difference|, 0–255): grey 1 / 0.08, 4:4:4 colour
 *   2–3 / 0.55, 4:2:0 colour 10–18 / 2.5–3.7 (largest at sharp colour edges).
 * - Never a mask: JPEG is lossy, so class indices smear at every edge. Reading a JPEG as a
 *   label map is an error that says to save masks losslessly.
 */
import * as jpeg from 'jpeg-js';
import { checkAllocation, maxArrayBytes } from '../../limits';
import { LensError } from '../../types';
import { unreadable, type RawImage, type ReadRole } from './common';

interface JpegFrame {
  /** SOF marker (0xC0…0xCF). */
  marker: number;
  precision: number;
  width: number;
  height: number;
  components: number;
}

const SOF_NAMES: Record<number, string> = {
  0xc3: 'lossless',
  0xc5: 'differential sequential',
  0xc6: 'differential progressive',
  0xc7: 'differential lossless',
  0xc9: 'arithmetic-coded',
  0xca: 'arithmetic-coded progressive',
  0xcb: 'arithmetic-coded lossless',
  0xcd: 'arithmetic-coded differential',
  0xce: 'arithmetic-coded differential progressive',
  0xcf: 'arithmetic-coded differential lossless',
};

function bad(file: string, why: string): LensError {
  return unreadable(file, 'JPEG', why);
}

/**
 * Walks the markers up to the first scan: finds the frame header (size, components, kind) and
 * checks that no segment runs past the end and that an end-of-image marker follows the scan data
 * (a truncated download has none).
 */
function scanMarkers(buf: Uint8Array, file: string): JpegFrame {
  if (buf.length === 0) throw bad(file, 'the file is empty');
  if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) throw bad(file, 'it does not start with the JPEG start-of-image marker (FF D8)');
  let pos = 2;
  let frame: JpegFrame | undefined;
  let sos = -1;
  while (pos < buf.length) {
    if (buf[pos] !== 0xff) throw bad(file, `corrupt marker structure (byte ${pos} is 0x${buf[pos].toString(16)}, expected a marker)`);
    while (pos < buf.length && buf[pos] === 0xff) pos++; // fill bytes
    if (pos >= buf.length) break;
    const m = buf[pos];
    const at = pos - 1;
    pos++;
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) continue; // no length
    if (m === 0xd9) throw bad(file, 'no image data (end-of-image marker before any scan)');
    if (pos + 2 > buf.length) break;
    const len = (buf[pos] << 8) | buf[pos + 1];
    if (len < 2 || pos + len > buf.length) {
      throw bad(file, `truncated (segment 0x${m.toString(16).toUpperCase()} at byte ${at} needs ${len} bytes, the file ends ${buf.length - pos} bytes later)`);
    }
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc && !frame) {
      if (len < 8) throw bad(file, 'bad frame header');
      frame = {
        marker: m,
        precision: buf[pos + 2],
        height: (buf[pos + 3] << 8) | buf[pos + 4],
        width: (buf[pos + 5] << 8) | buf[pos + 6],
        components: buf[pos + 7],
      };
    }
    if (m === 0xda) {
      sos = pos + len;
      break;
    }
    pos += len;
  }
  if (!frame) throw bad(file, sos < 0 ? 'truncated (no frame header)' : 'no frame header before the image data');
  if (sos < 0) throw bad(file, 'truncated (no image data)');
  // In entropy-coded data every 0xFF is followed by 0x00 or a restart marker, so the first
  // FF D9 after the first scan header is the end of the image.
  let eoi = false;
  for (let i = sos; i + 1 < buf.length; i++) {
    if (buf[i] === 0xff && buf[i + 1] === 0xd9) {
      eoi = true;
      break;
    }
  }
  if (!eoi) throw bad(file, 'truncated (no end-of-image marker after the image data)');
  const kind = SOF_NAMES[frame.marker];
  if (kind) throw bad(file, `${kind} JPEGs are not supported (baseline and progressive JPEGs are)`);
  if (frame.precision !== 8) throw bad(file, `${frame.precision}-bit JPEGs are not supported (8-bit only)`);
  if (frame.width === 0 || frame.height === 0) throw bad(file, `bad size ${frame.width}×${frame.height}`);
  if (frame.components !== 1 && frame.components !== 3 && frame.components !== 4) {
    throw bad(file, `${frame.components} colour components are not supported (1 = grey, 3 = colour, 4 = CMYK)`);
  }
  return frame;
}

/** Decodes a JPEG to raw values: `[1, H, W]` for grey, `[3, H, W]` for colour. */
export function decodeJpeg(buf: Uint8Array, file: string, role: ReadRole = 'image'): RawImage {
  if (role === 'label') {
    throw new LensError(
      `${file}: a JPEG cannot be a mask: JPEG compression is lossy and changes the class indices along every edge; save masks losslessly (PNG, TIFF, .npy or NIfTI)`,
      'data',
      file,
    );
  }
  const frame = scanMarkers(buf, file);
  // What decoding will allocate, from the declared size, before any pixel is decoded:
  // jpeg-js's component planes and RGB output, and our float32 planes.
  checkAllocation(frame.width * frame.height * (frame.components * 2 + 3 + 3 * 4), `decoding its declared ${frame.width}×${frame.height} pixels`, file);
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: false, tolerantDecoding: true, maxResolutionInMP: 1000, maxMemoryUsageInMB: Math.max(64, Math.floor(maxArrayBytes() / 2 ** 20)) });
  } catch (e) {
    throw bad(file, `corrupt image data (${(e as Error).message})`);
  }
  const { width: w, height: h, data: px } = img;
  const n = w * h;
  if (w !== frame.width || h !== frame.height || px.length < n * 3) throw bad(file, 'corrupt image data (incomplete decode)');
  // jpeg-js returns RGB triplets (R = G = B for grey).
  const channels = frame.components === 1 ? 1 : 3;
  const out = new Float32Array(channels * n);
  for (let c = 0; c < channels; c++) {
    const plane = c * n;
    for (let i = 0; i < n; i++) out[plane + i] = px[i * 3 + c];
  }
  return { data: out, dims: [channels, h, w] };
}
