/**
 * A minimal protobuf wire-format reader and writer: just what reading an ONNX ModelProto
 * (and appending a few fields to one) needs. No schema, no code generation.
 *
 * Wire types: 0 varint, 1 64-bit, 2 length-delimited, 5 32-bit (3/4, the deprecated
 * groups, are rejected). Every read is bounds-checked: truncated or corrupt input throws a
 * LensError('<file> is not a valid ONNX model: truncated at byte N', 'model', file) rather
 * than reading garbage or running past the end.
 */
import { LensError } from '../types';

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

/** Reads fields from `buf[start, end)`. Offsets in errors are absolute (from the file start). */
export class ProtoReader {
  pos: number;
  private readonly view: DataView;

  constructor(
    readonly buf: Uint8Array,
    readonly start: number,
    readonly end: number,
    /** File name for error messages. */
    readonly where: string,
  ) {
    if (start < 0 || end > buf.length || start > end) this.fail(Math.min(Math.max(start, 0), buf.length), 'truncated');
    this.pos = start;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** A reader over the whole buffer. */
  static of(buf: Uint8Array, where: string): ProtoReader {
    return new ProtoReader(buf, 0, buf.length, where);
  }

  fail(at: number, what: 'truncated' | string): never {
    const msg =
      what === 'truncated'
        ? `${this.where} is not a valid ONNX model: truncated at byte ${at}`
        : `${this.where} is not a valid ONNX model: ${what} at byte ${at}`;
    throw new LensError(msg, 'model', this.where);
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** An unsigned varint as a JS number (exact up to 2^53; larger values lose precision). */
  varint(): number {
    let result = 0;
    let mul = 1;
    const at = this.pos;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail(this.pos, 'truncated');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    return this.fail(at, 'varint longer than 10 bytes');
  }

  /** A signed int64/int32 varint (two's complement, as protobuf encodes negative int64). */
  int64(): number {
    const at = this.pos;
    // read the raw 64 bits as BigInt so negative values come out right
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail(this.pos, 'truncated');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return Number(BigInt.asIntN(64, result));
      shift += 7n;
    }
    return this.fail(at, 'varint longer than 10 bytes');
  }

  /** A field key: [fieldNumber, wireType]. */
  key(): [number, number] {
    const at = this.pos;
    const k = this.varint();
    const field = Math.floor(k / 8);
    const wire = k % 8;
    if (field === 0) this.fail(at, 'field number 0');
    if (wire === 3 || wire === 4 || wire > 5) this.fail(at, `unsupported wire type ${wire}`);
    return [field, wire];
  }

  /** Length-delimited payload bounds: [start, end). */
  lenBounds(): [number, number] {
    const at = this.pos;
    const n = this.varint();
    const s = this.pos;
    if (n > this.end - s) this.fail(at, 'truncated');
    this.pos = s + n;
    return [s, s + n];
  }

  /** A sub-reader over a length-delimited field (the embedded message). */
  sub(): ProtoReader {
    const [s, e] = this.lenBounds();
    return new ProtoReader(this.buf, s, e, this.where);
  }

  bytes(): Uint8Array {
    const [s, e] = this.lenBounds();
    return this.buf.subarray(s, e);
  }

  string(): string {
    return utf8.decode(this.bytes());
  }

  float(): number {
    if (this.end - this.pos < 4) this.fail(this.pos, 'truncated');
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  double(): number {
    if (this.end - this.pos < 8) this.fail(this.pos, 'truncated');
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  fixed32(): number {
    if (this.end - this.pos < 4) this.fail(this.pos, 'truncated');
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** Skips a field's value of the given wire type. */
  skipField(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_I64:
        if (this.end - this.pos < 8) this.fail(this.pos, 'truncated');
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.lenBounds();
        return;
      case WIRE_I32:
        if (this.end - this.pos < 4) this.fail(this.pos, 'truncated');
        this.pos += 4;
        return;
      default:
        this.fail(this.pos, `unsupported wire type ${wire}`);
    }
  }

  /** A repeated int64 field element(s): packed (wire 2) or not (wire 0). */
  repeatedInt64(wire: number, into: number[]): void {
    if (wire === WIRE_LEN) {
      const r = this.sub();
      while (!r.done) into.push(r.int64());
    } else if (wire === WIRE_VARINT) {
      into.push(this.int64());
    } else {
      this.fail(this.pos, `wire type ${wire} for an int64 field`);
    }
  }

  /** A repeated float field element(s): packed (wire 2) or not (wire 5). */
  repeatedFloat(wire: number, into: number[]): void {
    if (wire === WIRE_LEN) {
      const r = this.sub();
      if ((r.end - r.start) % 4 !== 0) this.fail(r.start, 'packed floats of odd length');
      while (!r.done) into.push(r.float());
    } else if (wire === WIRE_I32) {
      into.push(this.float());
    } else {
      this.fail(this.pos, `wire type ${wire} for a float field`);
    }
  }

  /** Asserts the wire type of a known field; corrupt input otherwise. */
  expect(wire: number, want: number, field: string): void {
    if (wire !== want) this.fail(this.pos, `field ${field} has wire type ${wire}, expected ${want}`);
  }
}

const utf8 = new TextDecoder('utf-8');
const utf8enc = new TextEncoder();

// ------------------------------------------------------------------------ writer helpers

/** Appends a varint (non-negative integer up to 2^53, or a negative int64 as 10 bytes). */
export function writeVarint(out: number[], v: number): void {
  if (v < 0) {
    let b = BigInt.asUintN(64, BigInt(v));
    while (b >= 0x80n) {
      out.push(Number(b & 0x7fn) | 0x80);
      b >>= 7n;
    }
    out.push(Number(b));
    return;
  }
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

export function writeKey(out: number[], field: number, wire: number): void {
  writeVarint(out, field * 8 + wire);
}

export function writeVarintField(out: number[], field: number, v: number): void {
  writeKey(out, field, WIRE_VARINT);
  writeVarint(out, v);
}

export function writeBytesField(out: number[], field: number, bytes: ArrayLike<number>): void {
  writeKey(out, field, WIRE_LEN);
  writeVarint(out, bytes.length);
  for (let i = 0; i < bytes.length; i++) out.push(bytes[i]);
}

export function writeStringField(out: number[], field: number, s: string): void {
  writeBytesField(out, field, utf8enc.encode(s));
}

/** An embedded message: `build` fills the body, written length-delimited. */
export function writeMessageField(out: number[], field: number, build: (body: number[]) => void): void {
  const body: number[] = [];
  build(body);
  writeBytesField(out, field, body);
}

export function writeFloatField(out: number[], field: number, v: number): void {
  writeKey(out, field, WIRE_I32);
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, v, true);
  for (const x of b) out.push(x);
}

/** Packed repeated int64 (non-negative values or negatives as 10-byte varints). */
export function writePackedInt64(out: number[], field: number, vs: number[]): void {
  const body: number[] = [];
  for (const v of vs) writeVarint(body, v);
  writeBytesField(out, field, body);
}
