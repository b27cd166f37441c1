/**
 * Taps: which interior tensors of an ONNX graph are the "layers" of the analysis, and what
 * each one is (METHOD.md §1).
 *
 * Forward order. Nodes are sorted by a depth-first post-order walk from the graph outputs
 * (inputs of a node visited in their declared order, then the node), then from any node
 * not reached that way. That is a topological order that does not depend on the order of
 * the nodes in the file, and it reads like the network's forward(): in a UNet the whole
 * encoder comes before the up-sampling path that uses its skips.
 *
 * `auto` candidates, in forward order:
 *  1. the output of every activation that follows a convolution: Relu, LeakyRelu, PRelu,
 *     Elu, Selu, Celu, Sigmoid, HardSigmoid, Tanh, Softplus, Softsign, Gelu, HardSwish,
 *     Mish, ThresholdedRelu, Clip (ReLU6), and the gated forms exported as several nodes
 *     (SiLU/Swish = x·σ(x), Mish = x·tanh(softplus(x)), Gelu = x·(1+erf(x/√2))/2: the tap
 *     is the final Mul). "Follows" means: walking back from the activation's input through
 *     at most 8 of BatchNormalization, InstanceNormalization, LayerNormalization,
 *     GroupNormalization, Identity, Dropout, Reshape, Add, Sub, Mul, Div (bias add, residual
 *     add, the GroupNorm pattern) reaches a Conv or ConvTranspose;
 *  2. a Conv / ConvTranspose that no such activation follows: the end of its chain of
 *     single-consumer normalization / Identity / Dropout / Reshape / constant-affine nodes
 *     (for conv→BatchNormalization that is the BatchNormalization output);
 *  3. every pooling output (MaxPool, AveragePool, LpPool) and every output of Resize,
 *     Upsample, DepthToSpace, SpaceToDepth;
 *  4. the final logits: the prediction output (for a channels-last output, the tensor
 *     before its final Transpose).
 *  Strided convolutions count as down-sampling and transposed convolutions as
 *  up-sampling: their tap (rule 1 or 2, i.e. the layer's output after its activation) is a
 *  down-/up-sampling output for the `maxTaps` rule. Only tensors of rank 4 or 5 count
 *  (learnt from the probe run), and not those computed only from a global pooling (the
 *  squeeze-excitation gates, N×C×1×1).
 *
 * Level: the rank of the tap's spatial resolution (number of locations) among the distinct
 * resolutions of the input and of all candidates, counted from the input's (0 = input
 * resolution, 1 = the next smaller one…). In a UNet this is the number of down-samplings net
 * of up-samplings; it stays meaningful when one step down-samples by 4.
 *
 * Stage: `bottleneck` for taps at the deepest level (when there is any down-sampling);
 * `encoder` for taps from which data flows into a bottleneck tap (resolution still falling,
 * including the skip sources); `decoder` for the rest. A network that never down-samples
 * has encoder taps only.
 *
 * Receptive field, per spatial axis, propagated over the whole graph from the input
 * (r = 1, j = 1):
 *  - Conv, MaxPool, AveragePool, LpPool (kernel k, stride s, dilation d): r' = r + (k−1)·d·j,
 *    j' = j·s; GlobalAverage/Max/LpPool: the same with k = the input's extent, j' = j·extent;
 *  - ConvTranspose (k, s, d): j' = j/s and r' = r + span·j, where span = the largest distance
 *    (in input steps) between two inputs that feed one output location, over the s output
 *    phases: max over phases p of (kk_max − kk_min)·d/s for kernel taps kk with
 *    kk·d ≡ p (mod s). That is the exact field; for k = s (the usual 2×2 stride-2 up) span = 0
 *    and r' = r; for k = 4, s = 2 span = 1. (The "(k−1)·j'" shortcut would give 1.5 there.)
 *  - Resize / Upsample by f (from the probed shapes, else from constant scales): j' = j/f;
 *    r' = r for nearest, r + j for linear (each output blends the two nearest inputs),
 *    r + 3·j for cubic;
 *  - DepthToSpace (block b): j' = j/b, r' = r; SpaceToDepth: j' = j·b, r' = r + (b−1)·j;
 *  - every other op (Concat, Add, Mul, activations, normalizations, Pad, Slice, Transpose…):
 *    r' = the largest r of its inputs, j' = the j of its first input that is not a global
 *    pooling result; Shape and Size outputs carry no field.
 *  Reported: size and jump are the largest over the axes; `sizes`/`jumps` per axis when the
 *  axes differ. The fixtures check these against gradients measured in PyTorch.
 *
 *  Known limit of the formula (METHOD.md's): it treats every tensor as a regular lattice of
 *  step j. After an up-sampling the locations of the following layers are no longer evenly
 *  spaced in the input (the step alternates, e.g. 4, 0, 4, 0 input pixels), and after a
 *  second up-sampling followed by a convolution the largest true field (what a gradient
 *  probe measures at the worst location) can exceed the formula by a few pixels: the bundled
 *  example's /dec1/relu1 is 42 by the formula and 44 by probing. The formula is what is
 *  reported (it is the specification); the fixtures avoid that configuration.
 */
import { LensError, ReceptiveField, Stage, TapInfo } from '../types';
import { GraphIndex } from './graphIndex';
import { capTaps } from './tapCap';
import { OnnxGraph, OnnxNode } from './onnxGraph';

export { GraphIndex, sortNodes } from './graphIndex';
export { spread } from './tapCap';

export interface TapPlanOptions {
  taps: 'auto' | string[];
  maxTaps: number;
  /** The prediction output (default: the first graph output). */
  output?: string;
  /** The fed input (default: the first graph input that is not an initializer). */
  input?: string;
}

export interface TapPlan {
  taps: TapInfo[];
  leftOut: string[];
}

type Role = 'activation' | 'conv' | 'pool' | 'resample' | 'logits';

/** A structural candidate, before shapes are known. */
export interface Candidate {
  name: string;
  /** Op of the node that produces the value. */
  op: string;
  /** Forward position (index of the producing node in forward order). */
  order: number;
  roles: Set<Role>;
  /** Down-/up-sampling output for the maxTaps priority (resample and pool roles set it too). */
  sampling: boolean;
}

const ACTIVATIONS = new Set([
  'Relu',
  'LeakyRelu',
  'PRelu',
  'Elu',
  'Selu',
  'Celu',
  'Sigmoid',
  'HardSigmoid',
  'Tanh',
  'Softplus',
  'Softsign',
  'Gelu',
  'HardSwish',
  'Mish',
  'ThresholdedRelu',
  'Clip',
  'Swish',
  'QuickGelu',
]);
const NORMS = new Set(['BatchNormalization', 'InstanceNormalization', 'LayerNormalization', 'GroupNormalization']);
const TRANSPARENT = new Set([...NORMS, 'Identity', 'Dropout', 'Reshape', 'Add', 'Sub', 'Mul', 'Div']);
const CHAIN = new Set([...NORMS, 'Identity', 'Dropout', 'Reshape']);
const ARITH = new Set(['Add', 'Sub', 'Mul', 'Div']);
const CONVS = new Set(['Conv', 'ConvTranspose']);
const POOLS = new Set(['MaxPool', 'AveragePool', 'LpPool']);
const GLOBAL_POOLS = new Set(['GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool']);
const RESAMPLE = new Set(['Resize', 'Upsample', 'DepthToSpace', 'SpaceToDepth']);
/** Unary steps allowed inside a gated activation x·g(x). */
const GATE_STEPS = new Set(['Sigmoid', 'HardSigmoid', 'Tanh', 'Softplus', 'Erf', 'Add', 'Mul', 'Div', 'Sub']);
const NO_FIELD = new Set(['Shape', 'Size']);

/** 'channels-last' when the input goes straight into a Transpose to channels-first (a converted Keras/TF model). */
export function inputLayout(idx: GraphIndex): 'channels-first' | 'channels-last' {
  const cons = idx.consumers.get(idx.inputName) ?? [];
  if (cons.length === 1 && cons[0].opType === 'Transpose') {
    const perm = cons[0].attrs.perm?.ints;
    if (perm && (eq(perm, [0, 3, 1, 2]) || eq(perm, [0, 4, 1, 2, 3]))) return 'channels-last';
  }
  return 'channels-first';
}

/** The channels-first tensor behind the prediction output (itself, or the input of a final NHWC Transpose). */
export function logitsValue(idx: GraphIndex): string {
  const p = idx.producer.get(idx.outputName);
  if (p?.opType === 'Transpose') {
    const perm = p.attrs.perm?.ints;
    if (perm && (eq(perm, [0, 2, 3, 1]) || eq(perm, [0, 2, 3, 4, 1]))) return p.inputs[0];
  }
  return idx.outputName;
}

function eq(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Is `name` a constant (initializer, Constant output or computed from those only)? */
function isConst(idx: GraphIndex, name: string): boolean {
  return !name || idx.constants.has(name);
}

/**
 * Gated activations x·g(x): a Mul one of whose inputs is x and the other reaches back to x
 * through ≤ 4 GATE_STEPS nodes with at least one non-linear step. Returns, per such Mul, the
 * pre-activation value x, the absorbed nodes, and the tap value (the Mul output, carried on
 * through a following Mul/Div by a constant, e.g. Gelu's ·0.5).
 */
function gatedActivations(idx: GraphIndex): Map<OnnxNode, { x: string; absorbed: OnnxNode[]; out: string; outNode: OnnxNode }> {
  const res = new Map<OnnxNode, { x: string; absorbed: OnnxNode[]; out: string; outNode: OnnxNode }>();
  for (const m of idx.sorted) {
    if (m.opType !== 'Mul' || m.inputs.length !== 2) continue;
    for (const [xi, gi] of [
      [0, 1],
      [1, 0],
    ]) {
      const x = m.inputs[xi];
      if (isConst(idx, x)) continue;
      const absorbed: OnnxNode[] = [];
      let v = m.inputs[gi];
      let nonlinear = false;
      let ok = false;
      for (let step = 0; step < 4; step++) {
        const p = idx.producer.get(v);
        if (!p || !GATE_STEPS.has(p.opType)) break;
        const dyn = p.inputs.filter((i) => !isConst(idx, i));
        if (dyn.length !== 1) break;
        absorbed.push(p);
        if (!ARITH.has(p.opType)) nonlinear = true;
        v = dyn[0];
        if (v === x) {
          ok = nonlinear;
          break;
        }
      }
      if (!ok) continue;
      let out = m.outputs[0];
      let outNode = m;
      const next = idx.consumers.get(out) ?? [];
      if (next.length === 1 && (next[0].opType === 'Mul' || next[0].opType === 'Div')) {
        const other = next[0].inputs.find((i) => i !== out);
        if (other !== undefined && isConst(idx, other)) {
          out = next[0].outputs[0];
          outNode = next[0];
        }
      }
      res.set(m, { x, absorbed, out, outNode });
      break;
    }
  }
  return res;
}

/** Convs reached walking back from `value` through ≤ 8 TRANSPARENT nodes (not through constants). */
function convsBehind(idx: GraphIndex, value: string): OnnxNode[] {
  const found: OnnxNode[] = [];
  const seen = new Set<string>();
  let frontier = [value];
  for (let depth = 0; depth <= 8 && frontier.length; depth++) {
    const next: string[] = [];
    for (const v of frontier) {
      if (seen.has(v)) continue;
      seen.add(v);
      const p = idx.producer.get(v);
      if (!p) continue;
      if (CONVS.has(p.opType)) {
        found.push(p);
        continue;
      }
      if (!TRANSPARENT.has(p.opType)) continue;
      for (const i of p.inputs) if (!isConst(idx, i)) next.push(i);
    }
    frontier = next;
  }
  return found;
}

function ints(n: OnnxNode, attr: string): number[] | undefined {
  return n.attrs[attr]?.ints;
}

function isStrided(n: OnnxNode): boolean {
  return (ints(n, 'strides') ?? []).some((s) => s > 1);
}

/**
 * Structural `auto` candidates in forward order (before shapes: rank and global-ness are
 * checked by planTaps).
 */
export function autoCandidates(idx: GraphIndex): Candidate[] {
  const byName = new Map<string, Candidate>();
  const add = (name: string, node: OnnxNode, role: Role, sampling: boolean) => {
    if (!name) return;
    let c = byName.get(name);
    if (!c) {
      const p = idx.producer.get(name) ?? node;
      byName.set(name, (c = { name, op: p.opType, order: idx.position.get(p) ?? -1, roles: new Set(), sampling: false }));
    }
    c.roles.add(role);
    c.sampling ||= sampling;
  };

  const gated = gatedActivations(idx);
  const absorbed = new Set<OnnxNode>();
  for (const g of gated.values()) for (const n of g.absorbed) absorbed.add(n);
  const followed = new Set<OnnxNode>();

  // 1. activations after a convolution
  for (const n of idx.sorted) {
    let x: string;
    let out: string;
    if (gated.has(n)) {
      const g = gated.get(n)!;
      x = g.x;
      out = g.out;
    } else if (ACTIVATIONS.has(n.opType) && !absorbed.has(n)) {
      x = n.inputs[0];
      out = n.outputs[0];
    } else continue;
    const convs = convsBehind(idx, x);
    if (convs.length === 0) continue;
    for (const c of convs) followed.add(c);
    const sampling = convs.some((c) => c.opType === 'ConvTranspose' || isStrided(c));
    add(out, n, 'activation', sampling);
  }

  // 2. convolutions no activation follows: the end of their normalization chain
  for (const n of idx.sorted) {
    if (!CONVS.has(n.opType) || followed.has(n)) continue;
    let v = n.outputs[0];
    for (let step = 0; step < 8; step++) {
      const cons = idx.consumers.get(v) ?? [];
      if (cons.length !== 1 || idx.graph.outputs.some((o) => o.name === v)) break;
      const c = cons[0];
      const constAffine = ARITH.has(c.opType) && c.inputs.filter((i) => !isConst(idx, i)).length === 1;
      if (!CHAIN.has(c.opType) && !constAffine) break;
      v = c.outputs[0];
    }
    add(v, n, 'conv', n.opType === 'ConvTranspose' || isStrided(n));
  }

  // 3. pooling and resampling outputs
  for (const n of idx.sorted) {
    if (POOLS.has(n.opType)) add(n.outputs[0], n, 'pool', true);
    else if (RESAMPLE.has(n.opType)) add(n.outputs[0], n, 'resample', true);
  }

  // 4. the final logits
  const logits = logitsValue(idx);
  const lp = idx.producer.get(logits);
  if (lp) add(logits, lp, 'logits', false);

  return [...byName.values()].sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
}

/**
 * The values whose shapes planTaps needs from the probe run: the candidates (or the explicit
 * taps), the inputs and outputs of resampling nodes and the inputs of global pools (for the
 * receptive fields), and the logits.
 */
export function probeValues(idx: GraphIndex, taps: 'auto' | string[]): string[] {
  const out = new Set<string>();
  if (taps === 'auto') for (const c of autoCandidates(idx)) out.add(c.name);
  else {
    validateNames(idx, taps);
    for (const t of taps) out.add(t);
    // shapes of all candidates give the levels
    for (const c of autoCandidates(idx)) out.add(c.name);
  }
  for (const n of idx.sorted) {
    if (RESAMPLE.has(n.opType)) {
      out.add(n.inputs[0]);
      out.add(n.outputs[0]);
    } else if (GLOBAL_POOLS.has(n.opType)) out.add(n.inputs[0]);
  }
  out.add(logitsValue(idx));
  out.delete(idx.inputName);
  out.delete('');
  return [...out].filter((v) => !idx.constants.has(v));
}

function validateNames(idx: GraphIndex, names: string[]): void {
  for (const t of names) {
    if (!idx.has(t) || idx.constants.has(t)) {
      const some = autoCandidates(idx)
        .slice(0, 6)
        .map((c) => JSON.stringify(c.name));
      throw new LensError(
        `analysis.taps names ${JSON.stringify(t)}, which is not a tensor of ${idx.graph.path}` +
          (some.length ? `; tensors it has include ${some.join(', ')}` : ''),
        'model',
        idx.graph.path,
      );
    }
  }
}

interface Field {
  r: number[];
  j: number[];
  /** Computed only from a global pooling (no per-location meaning). */
  global: boolean;
}

function convTransposeSpan(k: number, s: number, d: number): number {
  let best = 0;
  for (let p = 0; p < s; p++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let kk = 0; kk < k; kk++) {
      if ((((kk * d - p) % s) + s) % s === 0) {
        lo = Math.min(lo, kk);
        hi = Math.max(hi, kk);
      }
    }
    if (hi > lo) best = Math.max(best, ((hi - lo) * d) / s);
  }
  return best;
}

function spatial(shape: number[] | undefined, channelsLast = false): number[] | undefined {
  if (!shape || shape.length < 2) return undefined;
  return channelsLast ? shape.slice(0, -1) : shape.slice(1);
}

/**
 * Receptive fields of every value derived from the input (per spatial axis). `shapes` are
 * per-image dims; those of resampling inputs/outputs and global-pool inputs are used.
 */
export function receptiveFields(idx: GraphIndex, shapes: Map<string, number[]>): Map<string, Field> {
  const inShape = shapes.get(idx.inputName) ?? (idx.graph.inputs.find((i) => i.name === idx.inputName)?.dims?.slice(1) as number[] | undefined);
  const ns = Math.max(1, (inShape?.length ?? 3) - 1);
  const fields = new Map<string, Field>();
  fields.set(idx.inputName, { r: new Array(ns).fill(1), j: new Array(ns).fill(1), global: false });
  const per = (v: number[] | undefined, dflt: number) => Array.from({ length: ns }, (_, a) => v?.[a] ?? dflt);

  for (const n of idx.sorted) {
    const ins = n.inputs.map((i) => (i ? fields.get(i) : undefined));
    const live = ins.filter((f): f is Field => !!f);
    if (live.length === 0 || NO_FIELD.has(n.opType)) continue;
    const x = ins[0] ?? live[0];
    let f: Field;
    const op = n.opType;
    if (op === 'Conv' || POOLS.has(op)) {
      let k = ints(n, 'kernel_shape');
      if (!k && op === 'Conv') k = idx.graph.initializers.get(n.inputs[1])?.dims.slice(2);
      const K = per(k, 1);
      const S = per(ints(n, 'strides'), 1);
      const D = per(ints(n, 'dilations'), 1);
      f = { r: x.r.map((r, a) => r + (K[a] - 1) * D[a] * x.j[a]), j: x.j.map((j, a) => j * S[a]), global: x.global };
    } else if (op === 'ConvTranspose') {
      const k = ints(n, 'kernel_shape') ?? idx.graph.initializers.get(n.inputs[1])?.dims.slice(2);
      const K = per(k, 1);
      const S = per(ints(n, 'strides'), 1);
      const D = per(ints(n, 'dilations'), 1);
      f = {
        r: x.r.map((r, a) => r + convTransposeSpan(K[a], S[a], D[a]) * x.j[a]),
        j: x.j.map((j, a) => j / S[a]),
        global: x.global,
      };
    } else if (GLOBAL_POOLS.has(op)) {
      const ext = per(spatial(shapes.get(n.inputs[0])), 1);
      f = { r: x.r.map((r, a) => r + (ext[a] - 1) * x.j[a]), j: x.j.map((j, a) => j * ext[a]), global: true };
    } else if (op === 'Resize' || op === 'Upsample') {
      const factor = resizeFactor(idx, n, shapes, ns);
      const mode = n.attrs.mode?.s ?? 'nearest';
      const extra = mode === 'nearest' ? 0 : mode === 'cubic' ? 3 : 1;
      f = { r: x.r.map((r, a) => r + extra * x.j[a]), j: x.j.map((j, a) => j / factor[a]), global: x.global };
    } else if (op === 'DepthToSpace') {
      const b = n.attrs.blocksize?.i ?? 1;
      f = { r: [...x.r], j: x.j.map((j) => j / b), global: x.global };
    } else if (op === 'SpaceToDepth') {
      const b = n.attrs.blocksize?.i ?? 1;
      f = { r: x.r.map((r, a) => r + (b - 1) * x.j[a]), j: x.j.map((j) => j * b), global: x.global };
    } else {
      const r = new Array(ns).fill(0);
      for (const l of live) for (let a = 0; a < ns; a++) r[a] = Math.max(r[a], l.r[a] ?? 0);
      const jSrc = live.find((l) => !l.global) ?? live[0];
      f = { r, j: [...jSrc.j], global: live.every((l) => l.global) };
    }
    for (const o of n.outputs) if (o) fields.set(o, f);
  }
  return fields;
}

function resizeFactor(idx: GraphIndex, n: OnnxNode, shapes: Map<string, number[]>, ns: number): number[] {
  const si = spatial(shapes.get(n.inputs[0]));
  const so = spatial(shapes.get(n.outputs[0]));
  if (si && so && si.length === ns && so.length === ns) return so.map((o, a) => o / si[a]);
  // constant scales: Resize (X, roi, scales, sizes) from opset 11, (X, scales) in opset 10 and Upsample-9
  const scalesName = n.opType === 'Resize' && n.inputs.length >= 3 ? n.inputs[2] : n.inputs[1];
  const scales = (scalesName ? idx.constantValues(scalesName) : undefined) ?? n.attrs.scales?.floats;
  if (scales && scales.length === ns + 2) return scales.slice(2);
  throw new LensError(
    `${idx.graph.path}: cannot tell the scale factor of ${n.opType} node ${JSON.stringify(n.name || n.outputs[0])} (no shapes, no constant scales)`,
    'model',
    idx.graph.path,
  );
}

const volume = (s: number[]) => s.reduce((a, b) => a * b, 1);

/**
 * Picks and describes the taps (METHOD.md §1).
 * @param shapes per-image dims (no batch) of the candidates, from a probe run; the input's too.
 */
export function planTaps(graph: OnnxGraph, shapes: Map<string, number[]>, opts: TapPlanOptions): TapPlan {
  const idx = new GraphIndex(graph, { input: opts.input, output: opts.output });
  if (!Number.isInteger(opts.maxTaps) || opts.maxTaps < 1) {
    throw new LensError(`analysis.maxTaps must be a whole number ≥ 1 (got ${opts.maxTaps})`, 'args');
  }
  const fields = receptiveFields(idx, shapes);
  const channelsLast = inputLayout(idx) === 'channels-last';
  const inSpatial = spatial(shapes.get(idx.inputName), channelsLast);

  const isSpatial = (name: string) => {
    const s = shapes.get(name);
    return !!s && (s.length === 3 || s.length === 4);
  };
  const candidates = autoCandidates(idx).filter((c) => isSpatial(c.name) && !fields.get(c.name)?.global);

  let chosen: Candidate[] = [];
  if (opts.taps === 'auto') {
    if (candidates.length === 0) {
      throw new LensError(
        `${graph.path} has no spatial layers: no N×C×H×W or N×C×D×H×W tensor after a convolution, pooling or ` +
          `resampling between its input and its output. UNet Lens analyses convolutional networks (UNets and the like).`,
        'model',
        graph.path,
      );
    }
  } else {
    validateNames(idx, opts.taps);
    const known = new Map(candidates.map((c) => [c.name, c]));
    chosen = [];
    for (const name of new Set(opts.taps)) {
      const s = shapes.get(name);
      if (!s) throw new LensError(`analysis.taps: no shape was measured for ${JSON.stringify(name)} in ${graph.path}`, 'model', graph.path);
      if (s.length !== 3 && s.length !== 4) {
        throw new LensError(
          `analysis.taps: ${JSON.stringify(name)} in ${graph.path} has shape [N, ${s.join(', ')}]; a tap must be N×C×H×W or N×C×D×H×W`,
          'model',
          graph.path,
        );
      }
      const p = idx.producer.get(name);
      chosen.push(
        known.get(name) ?? { name, op: p?.opType ?? 'Input', order: p ? idx.position.get(p)! : -1, roles: new Set(), sampling: false },
      );
    }
    chosen.sort((a, b) => a.order - b.order);
  }

  // levels: rank of the resolution among the input's, the candidates' and the taps'
  const vols = new Set<number>();
  if (inSpatial) vols.add(volume(inSpatial));
  for (const c of [...candidates, ...chosen]) vols.add(volume(spatial(shapes.get(c.name))!));
  const sortedVols = [...vols].sort((a, b) => b - a);
  const base = inSpatial ? sortedVols.indexOf(volume(inSpatial)) : 0;
  const levelOf = (name: string) => sortedVols.indexOf(volume(spatial(shapes.get(name))!)) - base;

  // stages
  const maxLevel = Math.max(...candidates.map((c) => levelOf(c.name)), ...chosen.map((c) => levelOf(c.name)));
  const bottleneckVals = [...candidates, ...chosen].filter((c) => levelOf(c.name) === maxLevel).map((c) => c.name);
  const feedsBottleneck = ancestorsOf(idx, bottleneckVals);
  const stageOf = (name: string): Stage => {
    if (maxLevel <= 0) return 'encoder';
    if (levelOf(name) === maxLevel) return 'bottleneck';
    return feedsBottleneck.has(name) ? 'encoder' : 'decoder';
  };

  // the maxTaps cap (tapCap.ts): levels and stages do not depend on it (they are the candidates')
  let leftOut: string[] = [];
  if (opts.taps === 'auto') {
    const items = candidates.map((c) => ({
      stage: stageOf(c.name),
      level: levelOf(c.name),
      resolution: spatial(shapes.get(c.name))!.join('x'),
      sampling: c.sampling,
      logits: c.roles.has('logits'),
    }));
    const keep = new Set(capTaps(items, opts.maxTaps));
    chosen = candidates.filter((_, i) => keep.has(i));
    leftOut = candidates.filter((_, i) => !keep.has(i)).map((c) => c.name);
  }

  const taps: TapInfo[] = chosen.map((c, index) => ({
    name: c.name,
    op: c.op,
    index,
    stage: stageOf(c.name),
    level: levelOf(c.name),
    shape: [...shapes.get(c.name)!],
    receptiveField: reportField(fields.get(c.name)),
  }));
  return { taps, leftOut };
}

function reportField(f: Field | undefined): ReceptiveField {
  if (!f) return { size: 0, jump: 0 };
  const size = Math.max(...f.r);
  const jump = Math.max(...f.j);
  const rf: ReceptiveField = { size, jump };
  if (f.r.some((r) => r !== f.r[0]) || f.j.some((j) => j !== f.j[0])) {
    rf.sizes = [...f.r];
    rf.jumps = [...f.j];
  }
  return rf;
}

/** Values from which data flows into any of `targets` (the targets excluded). */
function ancestorsOf(idx: GraphIndex, targets: string[]): Set<string> {
  const seen = new Set<string>();
  const stack = [...targets];
  const done = new Set<OnnxNode>();
  while (stack.length) {
    const v = stack.pop()!;
    const p = idx.producer.get(v);
    if (!p || done.has(p)) continue;
    done.add(p);
    for (const i of p.inputs) {
      if (!i || seen.has(i)) continue;
      seen.add(i);
      stack.push(i);
    }
  }
  return seen;
}
