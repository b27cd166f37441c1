/**
 * The values of an ONNX model's initializers (its weights), for converting a model to
 * another format (scripts/onnx-to-tfjs.ts). Separate from onnxGraph.ts on purpose:
 * `parseOnnx` never copies tensor data (models can be hundreds of MB), this reads it.
 *
 * Reads float32 tensors (`raw_data`, or `float_data`) and, for shape-like constants, int64 /
 * int32 ones, as Float32Array. External data (data_location = EXTERNAL) and other types are
 * reported as errors naming the tensor. Field numbers as in onnxGraph.ts: ModelProto.graph 7,
 * GraphProto.initializer 5, TensorProto dims 1, data_type 2, float_data 4, int32_data 5,
 * int64_data 7, name 8, raw_data 9, data_location 14.
 */
import { LensError } from '../types';
import { ProtoReader, WIRE_LEN } from './protobuf';

export interface InitializerData {
  name: string;
  dims: number[];
  /** TensorProto.DataType (1 float32, 6 int32, 7 int64). */
  dataType: number;
  data: Float32Array;
}

/** Every initializer of the main graph with its values (or just those in `names`). */
export function readOnnxInitializers(bytes: Uint8Array, path: string, names?: Iterable<string>): Map<string, InitializerData> {
  const want = names ? new Set(names) : undefined;
  const out = new Map<string, InitializerData>();
  const r = ProtoReader.of(bytes, path);
  while (!r.done) {
    const [field, wire] = r.key();
    if (field === 7 && wire === WIRE_LEN) {
      const g = r.sub();
      while (!g.done) {
        const [f, w] = g.key();
        if (f === 5 && w === WIRE_LEN) {
          const t = readTensor(g.sub(), path);
          if (!want || want.has(t.name)) out.set(t.name, t);
        } else g.skipField(w);
      }
    } else r.skipField(wire);
  }
  return out;
}

function readTensor(r: ProtoReader, path: string): InitializerData {
  const dims: number[] = [];
  let dataType = 0;
  let name = '';
  let raw: Uint8Array | undefined;
  let external = false;
  const typed: number[] = [];
  while (!r.done) {
    const [field, wire] = r.key();
    switch (field) {
      case 1:
        r.repeatedInt64(wire, dims);
        break;
      case 2:
        dataType = r.varint();
        break;
      case 8:
        name = r.string();
        break;
      case 9:
        raw = r.bytes();
        break;
      case 14:
        external = r.varint() === 1;
        break;
      case 4:
        r.repeatedFloat(wire, typed);
        break;
      case 5:
      case 7:
        r.repeatedInt64(wire, typed);
        break;
      default:
        r.skipField(wire);
    }
  }
  const count = dims.reduce((a, b) => a * b, 1);
  const fail = (why: string) => {
    throw new LensError(`${path}: initializer ${JSON.stringify(name)}: ${why}`, 'model', path);
  };
  if (external) fail('its data lives in an external file, which this reader does not follow');
  let data: Float32Array;
  if (raw) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    data = new Float32Array(count);
    if (dataType === 1) {
      if (raw.byteLength !== 4 * count) fail(`raw_data holds ${raw.byteLength} bytes for ${count} float32 values`);
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(4 * i, true);
    } else if (dataType === 7) {
      if (raw.byteLength !== 8 * count) fail(`raw_data holds ${raw.byteLength} bytes for ${count} int64 values`);
      for (let i = 0; i < count; i++) data[i] = Number(view.getBigInt64(8 * i, true));
    } else if (dataType === 6) {
      if (raw.byteLength !== 4 * count) fail(`raw_data holds ${raw.byteLength} bytes for ${count} int32 values`);
      for (let i = 0; i < count; i++) data[i] = view.getInt32(4 * i, true);
    } else fail(`data type ${dataType} is not supported (float32, int32, int64 are)`);
  } else {
    if (typed.length !== count) fail(`holds ${typed.length} values for dims [${dims.join(', ')}]`);
    data = Float32Array.from(typed);
  }
  return { name, dims, dataType, data: data! };
}
