/**
 * The indexes of an ONNX graph that tap planning walks (taps.ts, receptive fields): producer
 * and consumers of every value, the nodes in forward order (a depth-first post-order from the
 * graph outputs, see taps.ts), and which values are constants.
 */
import { LensError } from '../types';
import { OnnxGraph, OnnxNode } from './onnxGraph';

/** Indexes of a graph shared by the functions below. */
export class GraphIndex {
  readonly producer = new Map<string, OnnxNode>();
  readonly consumers = new Map<string, OnnxNode[]>();
  readonly sorted: OnnxNode[];
  readonly position = new Map<OnnxNode, number>();
  readonly constants = new Set<string>();
  readonly inputName: string;
  readonly outputName: string;

  constructor(
    readonly graph: OnnxGraph,
    opts: { input?: string; output?: string } = {},
  ) {
    for (const n of graph.nodes) {
      for (const o of n.outputs) if (o) this.producer.set(o, n);
      for (const i of n.inputs) {
        if (!i) continue;
        let c = this.consumers.get(i);
        if (!c) this.consumers.set(i, (c = []));
        if (!c.includes(n)) c.push(n);
      }
    }
    this.sorted = sortNodes(graph, this.producer);
    this.sorted.forEach((n, i) => this.position.set(n, i));
    for (const name of graph.initializers.keys()) this.constants.add(name);
    for (const n of this.sorted) {
      const ins = n.inputs.filter((i) => i);
      if (n.opType === 'Constant' || (ins.length > 0 && ins.every((i) => this.constants.has(i)))) {
        for (const o of n.outputs) this.constants.add(o);
      }
    }
    this.inputName = opts.input ?? graph.inputs[0]?.name ?? '';
    this.outputName = opts.output ?? graph.outputs[0]?.name ?? '';
  }

  /** True when `name` is a value of the graph (a graph input or a node output). */
  has(name: string): boolean {
    return this.producer.has(name) || this.graph.inputs.some((i) => i.name === name) || this.graph.initializers.has(name);
  }

  /** The small constant values of an initializer or Constant node output, when known. */
  constantValues(name: string): number[] | undefined {
    const init = this.graph.initializers.get(name);
    if (init) return init.values;
    const p = this.producer.get(name);
    if (p?.opType === 'Constant') return p.attrs.value?.t?.values ?? p.attrs.value_floats?.floats ?? p.attrs.value_ints?.ints;
    return undefined;
  }
}

/**
 * Topological order by depth-first post-order from the graph outputs (then from the nodes not
 * reached). Throws on a cycle.
 */
export function sortNodes(graph: OnnxGraph, producer?: Map<string, OnnxNode>): OnnxNode[] {
  if (!producer) {
    producer = new Map();
    for (const n of graph.nodes) for (const o of n.outputs) if (o) producer.set(o, n);
  }
  const state = new Map<OnnxNode, 1 | 2>(); // 1 visiting, 2 done
  const out: OnnxNode[] = [];
  const visit = (root: OnnxNode) => {
    if (state.has(root)) return;
    const stack: [OnnxNode, number][] = [[root, 0]];
    state.set(root, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [node, k] = top;
      if (k < node.inputs.length) {
        top[1]++;
        const p = node.inputs[k] ? producer!.get(node.inputs[k]) : undefined;
        if (!p || p === node) continue;
        const s = state.get(p);
        if (s === 1) {
          throw new LensError(
            `${graph.path} is not a valid ONNX model: its graph has a cycle through ${JSON.stringify(p.name || p.outputs[0])}`,
            'model',
            graph.path,
          );
        }
        if (s === undefined) {
          state.set(p, 1);
          stack.push([p, 0]);
        }
      } else {
        stack.pop();
        state.set(node, 2);
        out.push(node);
      }
    }
  };
  for (const o of graph.outputs) {
    const p = producer.get(o.name);
    if (p) visit(p);
  }
  for (const n of graph.nodes) visit(n);
  return out;
}
