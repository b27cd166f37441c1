/**
 * The layer graph of a TF.js layers model (TF.js `model.json`, Keras `.h5` / `.keras`)
 * as the same graph structure the ONNX loader works on (onnxGraph.ts `OnnxGraph`), so that
 * the tap rules, forward order, levels, stages and receptive fields of taps.ts apply to
 * these models unchanged (METHOD.md §1), with no second copy of them.
 *
 * Each call of a layer (a TF.js `Node`) becomes one node with the ONNX op type of what it
 * computes and the attributes taps.ts reads:
 *  - Conv1D/2D/3D, DepthwiseConv2D, SeparableConv2D → `Conv` (kernel_shape, strides,
 *    dilations); Conv2DTranspose / Conv3DTranspose → `ConvTranspose`; Dense → a 1×1 `Conv`
 *    (on a feature map, a Dense layer is a pointwise convolution);
 *  - a built-in activation of such a layer (`activation: "relu"`) becomes a second node
 *    (Conv → `Relu`), as an exported ONNX graph has it: the layer's output is the activation
 *    after a convolution. The pre-activation value between the two is internal (`<layer>#linear`)
 *    and never a tap. Activations taps.ts does not count as activations (softmax, linear)
 *    stay inside the layer's node;
 *  - MaxPooling*, AveragePooling* → `MaxPool` / `AveragePool` (kernel_shape = pool size,
 *    strides); GlobalAverage/MaxPooling* → `GlobalAveragePool` / `GlobalMaxPool`;
 *  - UpSampling2D → `Resize` (mode nearest / linear, constant scales); Resizing → `Resize`
 *    (factor from the probed shapes);
 *  - Activation, ReLU, LeakyReLU, PReLU, ELU, ThresholdedReLU, Softmax → the activation op;
 *  - Concatenate → `Concat`, Add → `Add`, Multiply → `Mul`, BatchNormalization,
 *    LayerNormalization, Dropout and its variants, Reshape, Flatten, Permute (`Transpose`),
 *    ZeroPadding2D (`Pad`), Cropping2D / CenterCrop (`Slice`), Rescaling (`Mul`);
 *  - anything else keeps its class name as op: taps.ts then takes the largest receptive
 *    field of its inputs (right for element-wise layers; a nested model counts as one such
 *    layer).
 *
 * Value names: a layer's output is named after the layer (`conv2d_3`); a second call of a
 * shared layer or a second output adds `#<node>.<tensor>`. Shapes given to taps.ts are
 * channels-first, like the tensors `run()` returns.
 *
 * Nested models (a Keras `Model` or `Sequential` used as a layer, e.g. a pretrained encoder
 * `down_stack(inputs)` or `Sequential` up-sampling blocks, as in TensorFlow's segmentation
 * tutorial) are flattened first (`functionalView`): their layers are applied again, in their
 * own forward order, to the outer model's tensors (same layers, same weights), so that every
 * inner layer is a tap candidate with the right receptive field. Their values are named
 * `<nested model>/<layer>`.
 */
import type { Tf } from './tfjsRuntime';
import type { OnnxAttribute, OnnxGraph, OnnxNode, OnnxValueInfo } from './onnxGraph';

type LayersModel = import('@tensorflow/tfjs').LayersModel;
type SymbolicTensor = import('@tensorflow/tfjs').SymbolicTensor;
type Layer = import('@tensorflow/tfjs').layers.Layer;

export interface LayerGraph {
  graph: OnnxGraph;
  /** The symbolic tensor behind each fetchable value name. */
  tensors: Map<string, SymbolicTensor>;
  /** Value name → Keras class of the layer that produced it (for messages). */
  layerClass: Map<string, string>;
  inputName: string;
  outputNames: string[];
}

/** Keras activation (TF.js class name) → the ONNX op taps.ts knows as an activation. */
const ACTIVATION_OPS: Record<string, string> = {
  relu: 'Relu',
  relu6: 'Clip',
  elu: 'Elu',
  selu: 'Selu',
  sigmoid: 'Sigmoid',
  hardSigmoid: 'HardSigmoid',
  hard_sigmoid: 'HardSigmoid',
  tanh: 'Tanh',
  softplus: 'Softplus',
  softsign: 'Softsign',
  swish: 'Swish',
  silu: 'Swish',
  gelu: 'Gelu',
  gelu_new: 'Gelu',
  mish: 'Mish',
};

const OTHER_ACTIVATIONS: Record<string, string> = { softmax: 'Softmax', logSoftmax: 'LogSoftmax', log_softmax: 'LogSoftmax', linear: 'Identity' };

const CONV = new Set(['Conv1D', 'Conv2D', 'Conv3D', 'DepthwiseConv2D', 'SeparableConv2D', 'SeparableConv1D']);
const CONV_T = new Set(['Conv2DTranspose', 'Conv3DTranspose']);
const MAXPOOL = new Set(['MaxPooling1D', 'MaxPooling2D', 'MaxPooling3D']);
const AVGPOOL = new Set(['AveragePooling1D', 'AveragePooling2D', 'AveragePooling3D']);
const SIMPLE: Record<string, string> = {
  Concatenate: 'Concat',
  Add: 'Add',
  Multiply: 'Mul',
  Subtract: 'Sub',
  Average: 'Mean',
  Maximum: 'Max',
  Minimum: 'Min',
  Dot: 'MatMul',
  BatchNormalization: 'BatchNormalization',
  LayerNormalization: 'LayerNormalization',
  Dropout: 'Dropout',
  SpatialDropout1D: 'Dropout',
  SpatialDropout2D: 'Dropout',
  GaussianNoise: 'Dropout',
  GaussianDropout: 'Dropout',
  AlphaDropout: 'Dropout',
  Reshape: 'Reshape',
  Flatten: 'Flatten',
  Permute: 'Transpose',
  ZeroPadding2D: 'Pad',
  Cropping2D: 'Slice',
  CenterCrop: 'Slice',
  Rescaling: 'Mul',
  Identity: 'Identity',
  GlobalAveragePooling1D: 'GlobalAveragePool',
  GlobalAveragePooling2D: 'GlobalAveragePool',
  GlobalMaxPooling1D: 'GlobalMaxPool',
  GlobalMaxPooling2D: 'GlobalMaxPool',
  LeakyReLU: 'LeakyRelu',
  PReLU: 'PRelu',
  ELU: 'Elu',
  ThresholdedReLU: 'ThresholdedRelu',
  Softmax: 'Softmax',
};

const ints = (name: string, v: number[]): OnnxAttribute => ({ name, type: 7, ints: v });
const floats = (name: string, v: number[]): OnnxAttribute => ({ name, type: 6, floats: v });
const str = (name: string, s: string): OnnxAttribute => ({ name, type: 3, s });

function perAxis(v: unknown, n: number, dflt: number): number[] {
  if (Array.isArray(v)) return v.map((x) => Number(x));
  if (typeof v === 'number') return new Array(n).fill(v);
  return new Array(n).fill(dflt);
}

/** Spatial axes of a layer's input (rank − 2), or `fallback`. */
function spatialRank(t: SymbolicTensor | undefined, fallback: number): number {
  return t && t.shape.length >= 3 ? t.shape.length - 2 : fallback;
}

export function valueName(layer: Layer, nodeIndex: number, tensorIndex: number): string {
  return nodeIndex === 0 && tensorIndex === 0 ? layer.name : `${layer.name}#${nodeIndex}.${tensorIndex}`;
}

interface ContainerInternals {
  inputs: SymbolicTensor[];
  outputs: SymbolicTensor[];
  layers: Layer[];
  nodesByDepth: { [depth: string]: TfNode[] };
}

/**
 * A functional model over the same layers and weights as `model` (a Sequential too), with
 * nested models flattened (see the file comment); `names` holds the names of the values
 * that flattening made (empty when nothing was nested).
 */
export function functionalView(tf: Tf, model: LayersModel): { model: LayersModel; names: Map<SymbolicTensor, string> } {
  const names = new Map<SymbolicTensor, string>();
  const isContainer = (l: Layer) => l instanceof tf.LayersModel;
  const nested = (c: ContainerInternals): boolean => c.layers.some((l) => isContainer(l));
  const outer = model as unknown as ContainerInternals;
  if (!nested(outer)) return { model: tf.model({ inputs: model.inputs, outputs: model.outputs }), names };

  const used = new Map<string, number>();
  const unique = (name: string) => {
    const n = used.get(name) ?? 0;
    used.set(name, n + 1);
    return n === 0 ? name : `${name}#${n}`;
  };
  /** Applies the layers of `c` to `inputs` in forward order; returns the new outputs. */
  const applyContainer = (c: ContainerInternals, inputs: SymbolicTensor[], prefix: string): SymbolicTensor[] => {
    const map = new Map<number, SymbolicTensor>();
    c.inputs.forEach((t, i) => map.set(t.id, inputs[i]));
    const depths = Object.keys(c.nodesByDepth)
      .map(Number)
      .sort((a, b) => b - a);
    for (const depth of depths) {
      for (const node of c.nodesByDepth[String(depth)]) {
        const layer = (node as unknown as { outboundLayer: Layer }).outboundLayer;
        if (layer.getClassName() === 'InputLayer') continue;
        const ins = node.inputTensors.map((t) => map.get(t.id));
        if (ins.some((t) => !t)) continue; // a node of the layer outside this container
        let outs: SymbolicTensor[];
        if (isContainer(layer)) {
          outs = applyContainer(layer as unknown as ContainerInternals, ins as SymbolicTensor[], `${prefix}${layer.name}/`);
        } else {
          const kwargs = (node as unknown as { callArgs?: Record<string, unknown> }).callArgs ?? {};
          const y = layer.apply(ins.length === 1 ? ins[0]! : (ins as SymbolicTensor[]), kwargs);
          outs = (Array.isArray(y) ? y : [y]) as SymbolicTensor[];
          outs.forEach((t, ti) => names.set(t, unique(`${prefix}${layer.name}${outs.length > 1 ? `#${ti}` : ''}`)));
        }
        node.outputTensors.forEach((t, ti) => map.set(t.id, outs[ti]));
      }
    }
    return c.outputs.map((t) => {
      const v = map.get(t.id);
      if (!v) throw new Error(`flattening ${model.name}: output ${t.name} was not computed`);
      return v;
    });
  };
  const outputs = applyContainer(outer, model.inputs, '');
  for (const t of model.inputs) names.set(t, t.sourceLayer.name);
  return { model: tf.model({ inputs: model.inputs, outputs }), names };
}

/**
 * The graph of `model` (a functional view: `tf.model({inputs, outputs})` of any layers model).
 * `channelsLast`: the layers' data format, for the per-image dims of the declared input.
 */
export function layerGraph(tf: Tf, model: LayersModel, path: string, channelsLast: boolean, names = new Map<SymbolicTensor, string>()): LayerGraph {
  const nameOf = (t: SymbolicTensor) => names.get(t) ?? valueName(t.sourceLayer as Layer, t.nodeIndex, t.tensorIndex);
  const nodes: OnnxNode[] = [];
  const tensors = new Map<string, SymbolicTensor>();
  const layerClass = new Map<string, string>();
  const containerNodes: Set<string> = (model as unknown as { containerNodes: Set<string> }).containerNodes;
  let inputName = '';
  const inputs: OnnxValueInfo[] = [];

  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const inbound = (layer as unknown as { inboundNodes: TfNode[] }).inboundNodes;
    inbound.forEach((node, ni) => {
      if (containerNodes && !containerNodes.has(`${layer.name}_ib-${ni}`)) return;
      const outs = node.outputTensors.map((t) => {
        const name = nameOf(t);
        tensors.set(name, t);
        layerClass.set(name, cls);
        return name;
      });
      if (cls === 'InputLayer') {
        for (const [ti, t] of node.outputTensors.entries()) {
          const shape = t.shape.map((d) => (d === null ? -1 : d));
          const dims = channelsLast && shape.length >= 3 ? [shape[0], shape[shape.length - 1], ...shape.slice(1, -1)] : shape;
          inputs.push({ name: outs[ti], elemType: 1, type: t.dtype, dims });
        }
        if (!inputName) inputName = outs[0];
        return;
      }
      const ins = node.inputTensors.map(nameOf);
      nodes.push(...layerNodes(tf, layer, cls, ins, outs, node.inputTensors[0], nodes.length));
    });
  }
  nodes.forEach((n, i) => (n.index = i));

  const outputNames = model.outputs.map(nameOf);
  const outputs: OnnxValueInfo[] = model.outputs.map((t, i) => ({
    name: outputNames[i],
    elemType: 1,
    type: t.dtype,
    dims: t.shape.map((d) => (d === null ? -1 : d)),
  }));
  const graph: OnnxGraph = {
    path,
    irVersion: 0,
    opsets: [],
    producer: 'tfjs-layers',
    name: model.name,
    nodes,
    initializers: new Map(),
    inputs,
    outputs,
    valueInfo: new Map(),
  };
  return { graph, tensors, layerClass, inputName, outputNames };
}

interface TfNode {
  inboundLayers: unknown[];
  nodeIndices: number[];
  tensorIndices: number[];
  inputTensors: SymbolicTensor[];
  outputTensors: SymbolicTensor[];
}

function layerNodes(tf: Tf, layer: Layer, cls: string, ins: string[], outs: string[], x: SymbolicTensor | undefined, at: number): OnnxNode[] {
  const cfg = layer.getConfig() as Record<string, unknown>;
  const node = (opType: string, inputs: string[], outputs: string[], attrs: OnnxAttribute[] = [], suffix = ''): OnnxNode => ({
    index: at,
    name: layer.name + suffix,
    opType,
    domain: '',
    inputs,
    outputs,
    attrs: Object.fromEntries(attrs.map((a) => [a.name, a])),
  });
  const isConv = CONV.has(cls) || CONV_T.has(cls) || cls === 'Dense';
  if (isConv) {
    const ns = cls === 'Dense' ? spatialRank(x, 2) : spatialRank(x, Array.isArray(cfg.kernelSize) ? (cfg.kernelSize as number[]).length : 2);
    const kernel = cls === 'Dense' ? new Array(ns).fill(1) : perAxis(cfg.kernelSize, ns, 1);
    const attrs = [ints('kernel_shape', kernel), ints('strides', perAxis(cfg.strides, ns, 1)), ints('dilations', perAxis(cfg.dilationRate, ns, 1))];
    const op = CONV_T.has(cls) ? 'ConvTranspose' : 'Conv';
    const act = typeof cfg.activation === 'string' ? cfg.activation : 'linear';
    const actOp = ACTIVATION_OPS[act];
    if (actOp && outs.length === 1) {
      const linear = `${outs[0]}#linear`;
      return [node(op, ins, [linear], attrs), node(actOp, [linear], outs, [], `#${act}`)];
    }
    return [node(op, ins, outs, attrs)];
  }
  if (MAXPOOL.has(cls) || AVGPOOL.has(cls)) {
    const ns = spatialRank(x, Array.isArray(cfg.poolSize) ? (cfg.poolSize as number[]).length : 2);
    const pool = perAxis(cfg.poolSize, ns, 2);
    const attrs = [ints('kernel_shape', pool), ints('strides', cfg.strides == null ? pool : perAxis(cfg.strides, ns, 1))];
    return [node(MAXPOOL.has(cls) ? 'MaxPool' : 'AveragePool', ins, outs, attrs)];
  }
  if (cls === 'UpSampling2D' || cls === 'UpSampling3D') {
    const ns = spatialRank(x, cls === 'UpSampling2D' ? 2 : 3);
    const size = perAxis(cfg.size, ns, 2);
    const mode = String(cfg.interpolation ?? 'nearest') === 'nearest' ? 'nearest' : 'linear';
    return [node('Resize', ins, outs, [str('mode', mode), floats('scales', [1, 1, ...size])])];
  }
  if (cls === 'Resizing') {
    const interp = String(cfg.interpolation ?? 'bilinear');
    return [node('Resize', ins, outs, [str('mode', interp === 'nearest' ? 'nearest' : 'linear')])];
  }
  if (cls === 'Activation') {
    const act = String(cfg.activation ?? 'linear');
    return [node(ACTIVATION_OPS[act] ?? OTHER_ACTIVATIONS[act] ?? act, ins, outs)];
  }
  if (cls === 'ReLU') return [node(cfg.maxValue != null ? 'Clip' : 'Relu', ins, outs)];
  if (SIMPLE[cls]) return [node(SIMPLE[cls], ins, outs)];
  if (layer instanceof tf.LayersModel) return [node('Model', ins, outs)];
  return [node(cls, ins, outs)];
}
