/**
 * The small writes of ONNX model bytes the engine needs, without any ONNX or protobuf library
 * (field numbers: onnxGraph.ts): extra graph outputs appended to a model, the input's declared
 * shape replaced (for the shape probe at small sizes, probeShapes.ts), and a 1-node MatMul
 * model built in memory.
 */
import { ProtoReader, WIRE_LEN, writeBytesField, writeKey, writeMessageField, writeStringField, writeVarint, writeVarintField } from './protobuf';

/**
 * The model bytes with `names` appended as extra graph outputs. Protobuf merges a repeated
 * occurrence of the singular `graph` field (ModelProto field 7) into the first one, and
 * repeated fields concatenate, so one more field-7 fragment holding only GraphProto.output
 * (field 12) entries extends the output list; the original bytes are copied untouched.
 *
 * Each entry is a ValueInfoProto with just its name (onnxruntime-node 1.30 infers the type:
 * verified, also for int64 values). With `typed: true` it also gets a tensor type of
 * `elemType(name)` (default float) and no shape, which is what the ONNX spec asks of a graph
 * output — but onnxruntime then rejects a wrong guess ("Type (tensor(float)) of output arg
 * (s) … does not match expected type (tensor(int64))"), so the loader leaves it off. Names
 * already declared as outputs in `existing` (and duplicates) are skipped.
 */
export function withExtraOutputs(
  bytes: Uint8Array,
  names: string[],
  opts: { existing?: Iterable<string>; elemType?: (name: string) => number; typed?: boolean } = {},
): Uint8Array {
  const seen = new Set(opts.existing ?? []);
  const graph: number[] = [];
  for (const name of names) {
    if (seen.has(name)) continue;
    seen.add(name);
    writeMessageField(graph, 12, (vi) => {
      writeStringField(vi, 1, name);
      if (opts.typed === true) {
        const elemType = opts.elemType?.(name) ?? 1;
        writeMessageField(vi, 2, (tp) => writeMessageField(tp, 1, (tt) => writeVarintField(tt, 1, elemType)));
      }
    });
  }
  if (graph.length === 0) return bytes;
  const tail: number[] = [];
  writeBytesField(tail, 7, graph);
  const out = new Uint8Array(bytes.length + tail.length);
  out.set(bytes, 0);
  out.set(tail, bytes.length);
  return out;
}

/**
 * The model bytes with the declared shape of graph input `inputName` replaced by `dims`
 * (a float tensor; strings are symbolic dims), the graph outputs reduced to their names
 * (onnxruntime infers their types, as for withExtraOutputs) and the graph's value_info
 * dropped, so that no declared intermediate or output shape contradicts the new input
 * shape. Everything else (nodes, initializers, opsets) is copied byte for byte.
 * `extraOutputs` are added as outputs too (by name, as withExtraOutputs does; in the same
 * copy). Used to learn the tap shapes of a model with a fixed input size from runs at
 * smaller sizes (onnxModel.ts). A model without that input is returned unchanged.
 */
export function withInputShape(bytes: Uint8Array, inputName: string, dims: (number | string)[], where: string, extraOutputs: string[] = []): Uint8Array {
  const parts: Uint8Array[] = [];
  let found = false;
  const outputs = new Set<string>();
  const nameOf = (vi: ProtoReader): string => {
    while (!vi.done) {
      const [f, w] = vi.key();
      if (f === 1 && w === WIRE_LEN) return vi.string();
      vi.skipField(w);
    }
    return '';
  };
  const r = ProtoReader.of(bytes, where);
  while (!r.done) {
    const start = r.pos;
    const [field, wire] = r.key();
    if (field !== 7 || wire !== WIRE_LEN) {
      r.skipField(wire);
      parts.push(bytes.subarray(start, r.pos));
      continue;
    }
    const g = r.sub();
    const body: Uint8Array[] = [];
    while (!g.done) {
      const at = g.pos;
      const [f, w] = g.key();
      if (w === WIRE_LEN && (f === 11 || f === 12 || f === 13)) {
        const name = nameOf(g.sub());
        if (f === 13) continue; // value_info: dropped
        const out: number[] = [];
        if (f === 11 && name === inputName) {
          found = true;
          valueInfo(out, 11, name, dims);
        } else if (f === 12) {
          outputs.add(name);
          writeMessageField(out, 12, (vi) => writeStringField(vi, 1, name));
        } else {
          body.push(bytes.subarray(at, g.pos));
          continue;
        }
        body.push(Uint8Array.from(out));
        continue;
      }
      g.skipField(w);
      body.push(bytes.subarray(at, g.pos));
    }
    const length = body.reduce((a, b) => a + b.length, 0);
    const head: number[] = [];
    writeKey(head, 7, WIRE_LEN);
    writeVarint(head, length);
    parts.push(Uint8Array.from(head), ...body);
  }
  if (!found) return bytes;
  // the extra outputs: one more graph fragment (merged into the graph, see withExtraOutputs)
  const more: number[] = [];
  for (const name of extraOutputs) {
    if (outputs.has(name)) continue;
    outputs.add(name);
    writeMessageField(more, 12, (vi) => writeStringField(vi, 1, name));
  }
  if (more.length) {
    const tail: number[] = [];
    writeBytesField(tail, 7, more);
    parts.push(Uint8Array.from(tail));
  }
  const out = new Uint8Array(parts.reduce((a, b) => a + b.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function valueInfo(out: number[], field: number, name: string, dims: (number | string)[]): void {
  writeMessageField(out, field, (vi) => {
    writeStringField(vi, 1, name);
    writeMessageField(vi, 2, (tp) =>
      writeMessageField(tp, 1, (tt) => {
        writeVarintField(tt, 1, 1); // float
        writeMessageField(tt, 2, (sh) => {
          for (const d of dims) {
            writeMessageField(sh, 1, (dim) => {
              if (typeof d === 'number') writeVarintField(dim, 1, d);
              else writeStringField(dim, 2, d);
            });
          }
        });
      }),
    );
  });
}

/**
 * A 1-node ONNX model `C = MatMul(A, B)`, float32, A: [M, K], B: [K, N] (dynamic dims),
 * IR version 7, opset 13. Built in memory: lets onnxruntime's BLAS-backed kernel compute the
 * distance products of the kNN metrics.
 */
export function matMulModel(): Uint8Array {
  const model: number[] = [];
  writeVarintField(model, 1, 7); // ir_version
  writeStringField(model, 2, 'unet-lens');
  writeMessageField(model, 7, (g) => {
    writeMessageField(g, 1, (n) => {
      writeStringField(n, 1, 'A');
      writeStringField(n, 1, 'B');
      writeStringField(n, 2, 'C');
      writeStringField(n, 3, 'matmul');
      writeStringField(n, 4, 'MatMul');
    });
    writeStringField(g, 2, 'matmul');
    valueInfo(g, 11, 'A', ['M', 'K']);
    valueInfo(g, 11, 'B', ['K', 'N']);
    valueInfo(g, 12, 'C', ['M', 'N']);
  });
  writeMessageField(model, 8, (o) => {
    writeStringField(o, 1, '');
    writeVarintField(o, 2, 13);
  });
  return Uint8Array.from(model);
}
