/**
 * What a model file is, in a few lines, before anything runs: its graph's inputs and outputs,
 * opset, node count, the ops it is made of and its parameter count. Read from the ONNX file
 * alone (onnxGraph.ts, no onnxruntime), so the host can show it when the user opens the file
 * (host/modelEditor.ts). Pure: no `vscode`, no I/O.
 */
import type { OnnxGraph } from './onnxGraph';

export interface ValueSummary {
  name: string;
  type: string;
  /** Numbers, symbolic names ("batch"), or '?' where the file gives neither; null: no shape given. */
  dims: (number | string)[] | null;
}

export interface OnnxSummary {
  irVersion: number;
  /** The default domain's opset ('' or 'ai.onnx'); null when the file names none. */
  opset: number | null;
  producer: string;
  inputs: ValueSummary[];
  outputs: ValueSummary[];
  nodes: number;
  /** Node count per op type, most frequent first (ties by name). */
  ops: { op: string; count: number }[];
  /** Elements of the initializers (the weights), summed. */
  parameters: number;
  /** Some weights live in files beside the model (external data). */
  externalData: boolean;
  /** Spatial ops that UNet Lens can tap (convolutions, pooling, resampling): none means no spatial layers. */
  spatialOps: number;
}

const SPATIAL = new Set(['Conv', 'ConvTranspose', 'MaxPool', 'AveragePool', 'Resize', 'Upsample', 'DepthToSpace', 'SpaceToDepth']);

export function onnxSummary(g: OnnxGraph): OnnxSummary {
  const counts = new Map<string, number>();
  for (const n of g.nodes) counts.set(n.opType, (counts.get(n.opType) ?? 0) + 1);
  let parameters = 0;
  let externalData = false;
  for (const t of g.initializers.values()) {
    parameters += t.dims.reduce((a, b) => a * b, 1);
    externalData ||= Boolean(t.external);
  }
  const value = (v: OnnxGraph['inputs'][number]): ValueSummary => ({ name: v.name, type: v.type, dims: v.dims ? v.dims.map((d) => (d === -1 ? '?' : d)) : null });
  return {
    irVersion: g.irVersion,
    opset: g.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? null,
    producer: g.producer,
    inputs: g.inputs.map(value),
    outputs: g.outputs.map(value),
    nodes: g.nodes.length,
    ops: [...counts].map(([op, count]) => ({ op, count })).sort((a, b) => b.count - a.count || a.op.localeCompare(b.op)),
    parameters,
    externalData,
    spatialOps: g.nodes.filter((n) => SPATIAL.has(n.opType)).length,
  };
}

/** A count in words a reader takes in at once: 1 234 → "1.2 k", 44 012 345 → "44.0 M". */
export function countText(n: number): string {
  if (n < 1000) return String(n);
  // a unit's boundary where the rounded figure would show 1000
  if (n < 999_950) return `${(n / 1e3).toFixed(1)} k`;
  if (n < 999_950_000) return `${(n / 1e6).toFixed(1)} M`;
  return `${(n / 1e9).toFixed(2)} G`;
}
