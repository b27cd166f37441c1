/**
 * Reading the graph of an ONNX model (onnx.proto, IR version 3+) without any ONNX or
 * protobuf library. The few writes the engine needs are in onnxWrite.ts.
 *
 * Field numbers (onnx/onnx.proto, checked against onnx 1.12's copy):
 *   ModelProto:  ir_version 1, producer_name 2, producer_version 3, domain 4,
 *                model_version 5, doc_string 6, graph 7, opset_import 8
 *   OperatorSetIdProto: domain 1, version 2
 *   GraphProto:  node 1, name 2, initializer 5, doc_string 10, input 11, output 12,
 *                value_info 13, sparse_initializer 15
 *   NodeProto:   input 1, output 2, name 3, op_type 4, attribute 5, doc_string 6, domain 7
 *   AttributeProto: name 1, f 2, i 3, s 4, t 5, g 6, floats 7, ints 8, strings 9, type 20
 *   TensorProto: dims 1, data_type 2, float_data 4, int32_data 5, int64_data 7, name 8,
 *                raw_data 9, double_data 10, data_location 14
 *   SparseTensorProto: values 1, indices 2, dims 3
 *   ValueInfoProto: name 1, type 2
 *   TypeProto:   tensor_type 1 (Tensor: elem_type 1, shape 2)
 *   TensorShapeProto: dim 1 (Dimension: dim_value 1, dim_param 2)
 *
 * Tensor data is never copied (models can be hundreds of MB): initializers keep their
 * dims and type only, plus the values of tiny ones (≤ 64 elements: Resize scales, Clip
 * bounds and the like). Subgraphs (If/Loop bodies) are skipped.
 */
import { LensError } from '../types';
import {
  ProtoReader,
  WIRE_I32,
  WIRE_I64,
  WIRE_LEN,
  WIRE_VARINT,
} from './protobuf';

export interface OnnxAttribute {
  name: string;
  /** AttributeProto.AttributeType: 1 FLOAT, 2 INT, 3 STRING, 4 TENSOR, 5 GRAPH, 6 FLOATS, 7 INTS, 8 STRINGS… (0 when the file omits it). */
  type: number;
  f?: number;
  i?: number;
  s?: string;
  floats?: number[];
  ints?: number[];
  strings?: string[];
  t?: OnnxTensorInfo;
}

export interface OnnxNode {
  /** Position in the file's node list. */
  index: number;
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, OnnxAttribute>;
}

export interface OnnxTensorInfo {
  name: string;
  dims: number[];
  /** TensorProto.DataType (1 float, 7 int64…). */
  dataType: number;
  /** The values of a tiny tensor (≤ 64 elements, numeric, stored in the file). */
  values?: number[];
  /** Data lives in an external file (data_location = EXTERNAL). */
  external?: boolean;
  /** external_data "location": the file, relative to the model's folder. */
  externalLocation?: string;
}

export interface OnnxValueInfo {
  name: string;
  /** TensorProto.DataType of a tensor value, 0 when unknown or not a tensor. */
  elemType: number;
  /** 'float32', 'int64', … ('unknown' when not given). */
  type: string;
  /** Dims: numbers (dim_value), strings (dim_param) or -1 (neither); null when no shape is given. */
  dims: (number | string)[] | null;
}

export interface OnnxGraph {
  path: string;
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producer: string;
  name: string;
  nodes: OnnxNode[];
  initializers: Map<string, OnnxTensorInfo>;
  /** Graph inputs that are not initializers (what must be fed). */
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  valueInfo: Map<string, OnnxValueInfo>;
}

const ELEM_TYPES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  14: 'complex64',
  15: 'complex128',
  16: 'bfloat16',
};

export function elemTypeName(t: number): string {
  return ELEM_TYPES[t] ?? (t === 0 ? 'unknown' : `type${t}`);
}

const TINY = 64;

/**
 * Parses an ONNX ModelProto. Throws LensError(kind 'model', where = path) on anything that is
 * not one: empty file, truncated or corrupt bytes, no graph.
 */
export function parseOnnx(bytes: Uint8Array, path: string): OnnxGraph {
  if (bytes.length === 0) throw new LensError(`${path} is not a valid ONNX model: the file is empty`, 'model', path);
  const g: OnnxGraph = {
    path,
    irVersion: 0,
    opsets: [],
    producer: '',
    name: '',
    nodes: [],
    initializers: new Map(),
    inputs: [],
    outputs: [],
    valueInfo: new Map(),
  };
  const allInputs: OnnxValueInfo[] = [];
  let sawGraph = false;
  const r = ProtoReader.of(bytes, path);
  while (!r.done) {
    const [field, wire] = r.key();
    switch (field) {
      case 1:
        r.expect(wire, WIRE_VARINT, 'ModelProto.ir_version');
        g.irVersion = r.int64();
        break;
      case 2:
        r.expect(wire, WIRE_LEN, 'ModelProto.producer_name');
        g.producer = r.string();
        break;
      case 7:
        r.expect(wire, WIRE_LEN, 'ModelProto.graph');
        // a repeated occurrence of a singular message field merges into the first
        parseGraph(r.sub(), g, allInputs);
        sawGraph = true;
        break;
      case 8: {
        r.expect(wire, WIRE_LEN, 'ModelProto.opset_import');
        const s = r.sub();
        const o = { domain: '', version: 0 };
        while (!s.done) {
          const [f, w] = s.key();
          if (f === 1 && w === WIRE_LEN) o.domain = s.string();
          else if (f === 2 && w === WIRE_VARINT) o.version = s.int64();
          else s.skipField(w);
        }
        g.opsets.push(o);
        break;
      }
      default:
        r.skipField(wire);
    }
  }
  if (!sawGraph || (g.nodes.length === 0 && allInputs.length === 0 && g.outputs.length === 0)) {
    throw new LensError(`${path} is not a valid ONNX model: it holds no graph`, 'model', path);
  }
  if (g.irVersion <= 0 || g.irVersion > 100) {
    throw new LensError(`${path} is not a valid ONNX model: ir_version ${g.irVersion} is not an ONNX IR version`, 'model', path);
  }
  g.inputs = allInputs.filter((v) => !g.initializers.has(v.name));
  return g;
}

function parseGraph(r: ProtoReader, g: OnnxGraph, allInputs: OnnxValueInfo[]): void {
  while (!r.done) {
    const [field, wire] = r.key();
    switch (field) {
      case 1:
        r.expect(wire, WIRE_LEN, 'GraphProto.node');
        g.nodes.push(parseNode(r.sub(), g.nodes.length));
        break;
      case 2:
        r.expect(wire, WIRE_LEN, 'GraphProto.name');
        g.name = r.string();
        break;
      case 5: {
        r.expect(wire, WIRE_LEN, 'GraphProto.initializer');
        const t = parseTensor(r.sub());
        g.initializers.set(t.name, t);
        break;
      }
      case 15: {
        r.expect(wire, WIRE_LEN, 'GraphProto.sparse_initializer');
        const t = parseSparseTensor(r.sub());
        if (t) g.initializers.set(t.name, t);
        break;
      }
      case 11:
        r.expect(wire, WIRE_LEN, 'GraphProto.input');
        allInputs.push(parseValueInfo(r.sub()));
        break;
      case 12:
        r.expect(wire, WIRE_LEN, 'GraphProto.output');
        g.outputs.push(parseValueInfo(r.sub()));
        break;
      case 13: {
        r.expect(wire, WIRE_LEN, 'GraphProto.value_info');
        const v = parseValueInfo(r.sub());
        g.valueInfo.set(v.name, v);
        break;
      }
      default:
        r.skipField(wire);
    }
  }
}

function parseNode(r: ProtoReader, index: number): OnnxNode {
  const n: OnnxNode = { index, name: '', opType: '', domain: '', inputs: [], outputs: [], attrs: {} };
  while (!r.done) {
    const [field, wire] = r.key();
    if (field === 1 && wire === WIRE_LEN) n.inputs.push(r.string());
    else if (field === 2 && wire === WIRE_LEN) n.outputs.push(r.string());
    else if (field === 3 && wire === WIRE_LEN) n.name = r.string();
    else if (field === 4 && wire === WIRE_LEN) n.opType = r.string();
    else if (field === 7 && wire === WIRE_LEN) n.domain = r.string();
    else if (field === 5 && wire === WIRE_LEN) {
      const a = parseAttribute(r.sub());
      n.attrs[a.name] = a;
    } else r.skipField(wire);
  }
  return n;
}

function parseAttribute(r: ProtoReader): OnnxAttribute {
  const a: OnnxAttribute = { name: '', type: 0 };
  while (!r.done) {
    const [field, wire] = r.key();
    switch (field) {
      case 1:
        r.expect(wire, WIRE_LEN, 'AttributeProto.name');
        a.name = r.string();
        break;
      case 20:
        r.expect(wire, WIRE_VARINT, 'AttributeProto.type');
        a.type = r.varint();
        break;
      case 2:
        r.expect(wire, WIRE_I32, 'AttributeProto.f');
        a.f = r.float();
        break;
      case 3:
        r.expect(wire, WIRE_VARINT, 'AttributeProto.i');
        a.i = r.int64();
        break;
      case 4:
        r.expect(wire, WIRE_LEN, 'AttributeProto.s');
        a.s = r.string();
        break;
      case 5:
        r.expect(wire, WIRE_LEN, 'AttributeProto.t');
        a.t = parseTensor(r.sub());
        break;
      case 7:
        r.repeatedFloat(wire, (a.floats ??= []));
        break;
      case 8:
        r.repeatedInt64(wire, (a.ints ??= []));
        break;
      case 9:
        r.expect(wire, WIRE_LEN, 'AttributeProto.strings');
        (a.strings ??= []).push(r.string());
        break;
      default:
        r.skipField(wire); // g, graphs (subgraphs), tensors, sparse tensors, type protos
    }
  }
  return a;
}

function parseTensor(r: ProtoReader): OnnxTensorInfo {
  const t: OnnxTensorInfo = { name: '', dims: [], dataType: 0 };
  let raw: Uint8Array | undefined;
  const typed: number[] = [];
  let typedCount = 0;
  while (!r.done) {
    const [field, wire] = r.key();
    switch (field) {
      case 1:
        r.repeatedInt64(wire, t.dims);
        break;
      case 2:
        r.expect(wire, WIRE_VARINT, 'TensorProto.data_type');
        t.dataType = r.varint();
        break;
      case 8:
        r.expect(wire, WIRE_LEN, 'TensorProto.name');
        t.name = r.string();
        break;
      case 9:
        r.expect(wire, WIRE_LEN, 'TensorProto.raw_data');
        raw = r.bytes(); // a view, not a copy
        break;
      case 14:
        r.expect(wire, WIRE_VARINT, 'TensorProto.data_location');
        t.external = r.varint() === 1;
        break;
      case 13: {
        // external_data: StringStringEntryProto { key = 1, value = 2 }
        r.expect(wire, WIRE_LEN, 'TensorProto.external_data');
        const e = r.sub();
        let key = '';
        let value = '';
        while (!e.done) {
          const [f, w] = e.key();
          if (f === 1 && w === WIRE_LEN) key = e.string();
          else if (f === 2 && w === WIRE_LEN) value = e.string();
          else e.skipField(w);
        }
        if (key === 'location') t.externalLocation = value;
        break;
      }
      case 4: // float_data
      case 5: // int32_data
      case 7: // int64_data
      case 10: // double_data
        if (wire === WIRE_LEN) {
          // packed: decoded only when small enough to be a tiny tensor
          const [s, e] = r.lenBounds();
          if (typedCount >= 0 && e - s <= TINY * 10) {
            const sub = new ProtoReader(r.buf, s, e, r.where);
            while (!sub.done) {
              if (field === 4) typed.push(sub.float());
              else if (field === 10) typed.push(sub.double());
              else typed.push(sub.int64());
            }
          } else typedCount = -1;
        } else {
          r.expect(wire, field === 4 ? WIRE_I32 : field === 10 ? WIRE_I64 : WIRE_VARINT, 'TensorProto data');
          const v = field === 4 ? r.float() : field === 10 ? r.double() : r.int64();
          if (typed.length <= TINY) typed.push(v);
          else typedCount = -1;
        }
        break;
      default:
        r.skipField(wire);
    }
  }
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (count <= TINY && !t.external) {
    if (raw) t.values = decodeRaw(raw, t.dataType, count);
    else if (typedCount >= 0 && typed.length === count) t.values = typed;
  }
  return t;
}

function decodeRaw(raw: Uint8Array, dataType: number, count: number): number[] | undefined {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const size: Record<number, number> = { 1: 4, 6: 4, 7: 8, 11: 8, 2: 1, 3: 1, 9: 1 };
  const s = size[dataType];
  if (!s || raw.length !== s * count) return undefined;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const o = i * s;
    switch (dataType) {
      case 1:
        out.push(view.getFloat32(o, true));
        break;
      case 6:
        out.push(view.getInt32(o, true));
        break;
      case 7:
        out.push(Number(view.getBigInt64(o, true)));
        break;
      case 11:
        out.push(view.getFloat64(o, true));
        break;
      case 2:
      case 9:
        out.push(view.getUint8(o));
        break;
      case 3:
        out.push(view.getInt8(o));
        break;
    }
  }
  return out;
}

function parseSparseTensor(r: ProtoReader): OnnxTensorInfo | undefined {
  let values: OnnxTensorInfo | undefined;
  const dims: number[] = [];
  while (!r.done) {
    const [field, wire] = r.key();
    if (field === 1 && wire === WIRE_LEN) values = parseTensor(r.sub());
    else if (field === 3) r.repeatedInt64(wire, dims);
    else r.skipField(wire);
  }
  return values ? { name: values.name, dims, dataType: values.dataType } : undefined;
}

function parseValueInfo(r: ProtoReader): OnnxValueInfo {
  const v: OnnxValueInfo = { name: '', elemType: 0, type: 'unknown', dims: null };
  while (!r.done) {
    const [field, wire] = r.key();
    if (field === 1 && wire === WIRE_LEN) v.name = r.string();
    else if (field === 2 && wire === WIRE_LEN) {
      const tp = r.sub();
      while (!tp.done) {
        const [f, w] = tp.key();
        if (f === 1 && w === WIRE_LEN) {
          // TypeProto.Tensor
          const tt = tp.sub();
          while (!tt.done) {
            const [f2, w2] = tt.key();
            if (f2 === 1 && w2 === WIRE_VARINT) v.elemType = tt.varint();
            else if (f2 === 2 && w2 === WIRE_LEN) {
              const sh = tt.sub();
              v.dims = [];
              while (!sh.done) {
                const [f3, w3] = sh.key();
                if (f3 === 1 && w3 === WIRE_LEN) {
                  const d = sh.sub();
                  let dim: number | string = -1;
                  while (!d.done) {
                    const [f4, w4] = d.key();
                    if (f4 === 1 && w4 === WIRE_VARINT) dim = d.int64();
                    else if (f4 === 2 && w4 === WIRE_LEN) dim = d.string();
                    else d.skipField(w4);
                  }
                  v.dims.push(dim);
                } else sh.skipField(w3);
              }
            } else tt.skipField(w2);
          }
        } else tp.skipField(w); // sequence / map / optional / sparse types: not tensors
      }
    } else r.skipField(wire);
  }
  v.type = elemTypeName(v.elemType);
  return v;
}
