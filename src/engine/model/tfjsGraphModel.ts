/**
 * TF.js graph models (`"format": "graph-model"`: `tensorflowjs_converter --input_format
 * tf_saved_model`, or a frozen graph): a TensorFlow GraphDef in JSON plus weight shards.
 *
 * Taps come from the graph's nodes, mapped to the ONNX op types taps.ts reads (the same rules,
 * receptive fields, levels and stages as every other format):
 *  - Conv2D, Conv3D, DepthwiseConv2dNative → `Conv` (kernel from the filter constant's shape,
 *    strides / dilations from the NHWC attribute lists); the converter's fused forms
 *    (`_FusedConv2D`, `FusedDepthwiseConv2dNative` with `fused_ops` [BiasAdd, Relu]) become
 *    `Conv` + the fused activation, like a Keras layer with a built-in activation;
 *  - Conv2DBackpropInput / Conv3DBackpropInputV2 (transposed convolutions) → `ConvTranspose`
 *    (inputs: output shape, filter, x);
 *  - MaxPool / AvgPool (3D too) → `MaxPool` / `AveragePool`; ResizeBilinear /
 *    ResizeNearestNeighbor → `Resize` (factor from the probed shapes); DepthToSpace,
 *    SpaceToDepth;
 *  - ConcatV2, AddV2 / BiasAdd, Mul, FusedBatchNormV3, Relu / Relu6 / Elu / Sigmoid / … ,
 *    Identity, Reshape, Pad, Slice … as their ONNX counterparts; other ops keep their name.
 *
 * Values are named after their node (`StatefulPartitionedCall/unet/conv2d/Relu`; a second
 * output `node:1`). Only nodes that exist in the file can be fetched: the converter may have
 * fused a convolution's BiasAdd and activation into one node, whose output is then the tap.
 * The layout is NHWC unless the convolutions say NCHW.
 */
import { errorText, modelError, type LoadModelOptions, type LoadedModel } from './contract';
import type { OnnxAttribute, OnnxGraph, OnnxNode, OnnxTensorInfo, OnnxValueInfo } from './onnxGraph';
import { loadExecutable, type TfExecutable } from './tfjsExecutable';
import type { TfRuntime } from './tfjsRuntime';

type GraphModel = import('@tensorflow/tfjs').GraphModel;

interface TfAttr {
  list?: { i?: (string | number)[]; s?: string[]; f?: number[] };
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  shape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
  tensor?: { dtype?: string; tensorShape?: { dim?: { size?: string | number }[] } };
}

export interface TfNodeDef {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}

const b64 = (s: string | undefined) => (s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8'));
const intList = (a: TfAttr | undefined) => a?.list?.i?.map(Number);
const strList = (a: TfAttr | undefined) => a?.list?.s?.map((x) => b64(x)!);
const dims = (d: { size?: string | number }[] | undefined) => (d ?? []).map((x) => Number(x.size ?? -1));

const ACT: Record<string, string> = {
  Relu: 'Relu',
  Relu6: 'Clip',
  Elu: 'Elu',
  Selu: 'Selu',
  Sigmoid: 'Sigmoid',
  Tanh: 'Tanh',
  LeakyRelu: 'LeakyRelu',
  Prelu: 'PRelu',
  _MklSwish: 'Swish',
};
const SIMPLE: Record<string, string> = {
  ...ACT,
  Softplus: 'Softplus',
  Softsign: 'Softsign',
  Softmax: 'Softmax',
  ConcatV2: 'Concat',
  Concat: 'Concat',
  AddV2: 'Add',
  Add: 'Add',
  AddN: 'Add',
  BiasAdd: 'Add',
  Sub: 'Sub',
  Mul: 'Mul',
  RealDiv: 'Div',
  Div: 'Div',
  FusedBatchNorm: 'BatchNormalization',
  FusedBatchNormV3: 'BatchNormalization',
  Identity: 'Identity',
  IdentityN: 'Identity',
  StopGradient: 'Identity',
  Snapshot: 'Identity',
  Reshape: 'Reshape',
  Squeeze: 'Reshape',
  ExpandDims: 'Reshape',
  Transpose: 'Transpose',
  Pad: 'Pad',
  PadV2: 'Pad',
  MirrorPad: 'Pad',
  StridedSlice: 'Slice',
  Slice: 'Slice',
  Mean: 'ReduceMean',
  Shape: 'Shape',
};
const CONV = new Set(['Conv2D', 'Conv3D', 'DepthwiseConv2dNative', '_FusedConv2D', 'FusedDepthwiseConv2dNative', '_FusedConv3D']);
/** Transposed convolutions: inputs (output shape, filter, x). */
const CONV_T = new Set(['Conv2DBackpropInput', 'Conv3DBackpropInputV2']);
const POOLS: Record<string, string> = { MaxPool: 'MaxPool', MaxPoolV2: 'MaxPool', MaxPool3D: 'MaxPool', AvgPool: 'AveragePool', AvgPool3D: 'AveragePool' };

/** "node:0" → "node", "^node" → undefined (a control input), "node:1" stays. */
function valueOf(input: string): string | undefined {
  if (input.startsWith('^')) return undefined;
  return input.endsWith(':0') ? input.slice(0, -2) : input;
}

export interface GraphDefGraph {
  graph: OnnxGraph;
  inputName: string;
  inputShape: (number | null)[];
  channelsLast: boolean;
  fetchable: Set<string>;
}

/** The GraphDef's nodes as an OnnxGraph for taps.ts (see the file comment). */
export function graphDefGraph(nodes: TfNodeDef[], outputNames: string[], path: string): GraphDefGraph {
  const consts = new Map<string, OnnxTensorInfo>();
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const placeholders = nodes.filter((n) => n.op === 'Placeholder' || n.op === 'PlaceholderWithDefault');
  for (const n of nodes) {
    if (n.op === 'Const') consts.set(n.name, { name: n.name, dims: dims(n.attr?.value?.tensor?.tensorShape?.dim), dataType: n.attr?.dtype?.type === 'DT_FLOAT' ? 1 : 6 });
  }
  const feeds = placeholders.filter((n) => n.op === 'Placeholder');
  if (feeds.length !== 1) {
    throw modelError(`${path} has ${feeds.length} inputs (${feeds.map((n) => JSON.stringify(n.name)).join(', ')}); UNet Lens feeds one image input`, path);
  }
  const input = feeds[0];
  const inputShape = dims(input.attr?.shape?.shape?.dim).map((d) => (d < 0 ? null : d));
  const formats = new Set(nodes.filter((n) => n.attr?.data_format?.s).map((n) => b64(n.attr!.data_format!.s)!));
  const channelsLast = !formats.has('NCHW') && !formats.has('NCDHW');
  const spatialOf = (l: number[] | undefined) => (l ? (channelsLast ? l.slice(1, -1) : l.slice(2)) : undefined);
  /** The constant behind a value (through Identity nodes). */
  const constOf = (v: string | undefined): OnnxTensorInfo | undefined => {
    for (let i = 0; v && i < 8; i++) {
      const c = consts.get(v);
      if (c) return c;
      const p = byName.get(v);
      if (!p || p.op !== 'Identity' || !p.input?.length) return undefined;
      v = valueOf(p.input[0]);
    }
    return undefined;
  };

  const out: OnnxNode[] = [];
  const fetchable = new Set<string>();
  const node = (name: string, opType: string, inputs: string[], outputs: string[], attrs: OnnxAttribute[] = []): OnnxNode => ({
    index: out.length,
    name,
    opType,
    domain: '',
    inputs,
    outputs,
    attrs: Object.fromEntries(attrs.map((a) => [a.name, a])),
  });
  const ints = (name: string, v: number[]): OnnxAttribute => ({ name, type: 7, ints: v });

  for (const n of nodes) {
    if (n.op === 'Const' || n.op === 'Placeholder' || n.op === 'NoOp') continue;
    const ins = (n.input ?? []).map(valueOf).filter((v): v is string => !!v);
    fetchable.add(n.name);
    const a = n.attr ?? {};
    if (CONV.has(n.op)) {
      const filter = constOf(ins[1]);
      const ns = n.op.includes('3D') ? 3 : 2;
      const k = filter ? filter.dims.slice(0, ns) : undefined;
      const attrs = [ints('strides', spatialOf(intList(a.strides)) ?? new Array(ns).fill(1)), ints('dilations', spatialOf(intList(a.dilations)) ?? new Array(ns).fill(1))];
      if (k) attrs.push(ints('kernel_shape', k));
      const fused = strList(a.fused_ops) ?? [];
      const act = ACT[fused[fused.length - 1] ?? ''];
      if (act) {
        const linear = `${n.name}#linear`;
        out.push(node(n.name, 'Conv', [ins[0], ins[1]], [linear], attrs), node(`${n.name}#act`, act, [linear], [n.name]));
      } else out.push(node(n.name, 'Conv', [ins[0], ins[1]], [n.name], attrs));
    } else if (CONV_T.has(n.op)) {
      const x = ins[2];
      const filter = constOf(ins[1]);
      const ns = n.op.includes('3D') ? 3 : 2;
      const attrs = [ints('strides', spatialOf(intList(a.strides)) ?? new Array(ns).fill(1)), ints('dilations', spatialOf(intList(a.dilations)) ?? new Array(ns).fill(1))];
      if (filter) attrs.push(ints('kernel_shape', filter.dims.slice(0, ns)));
      out.push(node(n.name, 'ConvTranspose', [x, ins[1]], [n.name], attrs));
    } else if (n.op in POOLS) {
      const ns = n.op.includes('3D') ? 3 : 2;
      out.push(
        node(n.name, POOLS[n.op], ins.slice(0, 1), [n.name], [
          ints('kernel_shape', spatialOf(intList(a.ksize)) ?? new Array(ns).fill(1)),
          ints('strides', spatialOf(intList(a.strides)) ?? new Array(ns).fill(1)),
        ]),
      );
    } else if (n.op === 'ResizeBilinear' || n.op === 'ResizeNearestNeighbor') {
      out.push(node(n.name, 'Resize', ins.slice(0, 1), [n.name], [{ name: 'mode', type: 3, s: n.op === 'ResizeBilinear' ? 'linear' : 'nearest' }]));
    } else if (n.op === 'DepthToSpace' || n.op === 'SpaceToDepth') {
      out.push(node(n.name, n.op, ins.slice(0, 1), [n.name], [{ name: 'blocksize', type: 2, i: Number(a.block_size?.i ?? 1) }]));
    } else {
      out.push(node(n.name, SIMPLE[n.op] ?? n.op, ins, [n.name]));
    }
  }

  const known = new Set([input.name, ...fetchable, ...consts.keys()]);
  for (const o of outputNames) {
    if (!known.has(o)) throw modelError(`${path}: the output ${JSON.stringify(o)} is not a node of the graph`, path);
  }
  const graph: OnnxGraph = {
    path,
    irVersion: 0,
    opsets: [],
    producer: 'tfjs-graph-model',
    name: '',
    nodes: out,
    initializers: consts,
    inputs: [{ name: input.name, elemType: 1, type: 'float32', dims: inputShape.map((d) => d ?? -1) } satisfies OnnxValueInfo],
    outputs: outputNames.map((name) => ({ name, elemType: 1, type: 'float32', dims: null })),
    valueInfo: new Map(),
  };
  return { graph, inputName: input.name, inputShape, channelsLast, fetchable };
}

/** Loads a TF.js graph model from its parsed model.json and weights (see tfjsModel.ts). */
export async function loadTfjsGraphModel(
  rt: TfRuntime,
  json: Record<string, unknown>,
  specs: unknown[],
  weightData: Uint8Array,
  info: { path: string; sha256: string },
  opts: LoadModelOptions,
): Promise<LoadedModel> {
  const { tf } = rt;
  const { path } = info;
  const topology = json.modelTopology as { node?: TfNodeDef[] };
  const nodes = topology.node ?? [];
  const feeds = nodes.filter((n) => n.op === 'Placeholder');
  if (feeds.length !== 1) {
    throw modelError(`${path} has ${feeds.length} inputs (${feeds.map((n) => JSON.stringify(n.name)).join(', ')}); UNet Lens feeds one image input`, path);
  }
  let model: GraphModel;
  try {
    model = await tf.loadGraphModel(
      tf.io.fromMemory({
        modelTopology: topology as object,
        weightSpecs: specs as never,
        weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength) as ArrayBuffer,
        format: 'graph-model',
        ...(json.signature ? { signature: json.signature as object } : {}),
      } as never),
    );
  } catch (e) {
    throw modelError(`TensorFlow.js cannot load the graph model ${path}: ${errorText(e)}`, path);
  }
  let exe: TfExecutable;
  try {
    exe = graphExecutable(model, nodes, json.signature as Signature | undefined, path);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return loadExecutable(rt, exe, { ...info, format: 'tfjs' }, opts);
}

interface Signature {
  outputs?: Record<string, { name?: string; tensorShape?: { dim?: { size?: string | number }[] } }>;
}

function graphExecutable(model: GraphModel, nodes: TfNodeDef[], signature: Signature | undefined, path: string): TfExecutable {
  const outputNames = model.outputNodes.map((o) => valueOf(o)!);
  const g = graphDefGraph(nodes, outputNames, path);
  const shapeOf = (name: string): (number | null)[] | undefined => {
    const own = model.outputs.find((o) => valueOf(o.name) === name)?.shape;
    if (own) return own;
    const sig = Object.values(signature?.outputs ?? {}).find((o) => valueOf(o.name ?? '') === name);
    return sig?.tensorShape?.dim ? dims(sig.tensorShape.dim) : undefined;
  };
  let useAsync = false;
  return {
    graph: g.graph,
    inputName: g.inputName,
    outputNames,
    fetchable: g.fetchable,
    inputShape: g.inputShape,
    inputDtype: 'float32',
    layout: g.channelsLast ? 'channels-last' : 'channels-first',
    inputs: [{ name: g.inputName, dims: g.inputShape.map((d) => d ?? -1), type: 'float32' }],
    outputs: outputNames.map((name) => ({ name, dims: (shapeOf(name) ?? []).map((d) => (d == null ? -1 : d)), type: 'float32' })),
    noun: 'node',
    async execute(x, names) {
      const feed = { [g.inputName]: x };
      if (!useAsync) {
        try {
          const y = model.execute(feed, names);
          return Array.isArray(y) ? y : [y];
        } catch (e) {
          // control flow (If / While) needs the asynchronous executor
          if (!/executeAsync/.test(errorText(e))) throw e;
          useAsync = true;
        }
      }
      const y = await model.executeAsync(feed, names);
      return Array.isArray(y) ? y : [y];
    },
    dispose() {
      model.dispose();
    },
  };
}
