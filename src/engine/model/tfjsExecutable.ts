/**
 * The common part of TF.js layers models (tfjsModel.ts, and the Keras loaders through it)
 * and TF.js graph models (tfjsGraphModel.ts): a `TfExecutable` becomes a `LoadedModel`
 * (contract.ts): input dims, the probe run, taps.ts's plan, `run()` (see tfjsModel.ts for the
 * layout rules).
 */
import { checkFixedBatch } from '../limits';
import * as nodePath from 'node:path';
import { LensError, type Tensor, type TensorDesc } from '../types';
import { errorText, modelError, type LoadedModel, type LoadModelOptions, type ModelFormat } from './contract';
import { GraphIndex, planTaps, probeValues } from './taps';
import type { OnnxGraph } from './onnxGraph';
import { checkRunRequest } from './runChecks';
import { fallBackToCpu, isMissingKernel, type TfRuntime } from './tfjsRuntime';

type TfTensor = import('@tensorflow/tfjs').Tensor;

const fmt = (dims: (number | string)[]) => `[${dims.join(', ')}]`;

/**
 * What the common part needs of a TF.js model, layers or graph: its graph for taps.ts, and a
 * way to compute named values.
 */
export interface TfExecutable {
  graph: OnnxGraph;
  inputName: string;
  outputNames: string[];
  /** The values `execute` can compute (layer outputs; graph node outputs). */
  fetchable: ReadonlySet<string>;
  /** The input shape as the model declares it (its own layout; null = any). */
  inputShape: (number | null)[];
  inputDtype: string;
  layout: 'channels-first' | 'channels-last';
  inputs: TensorDesc[];
  outputs: TensorDesc[];
  /** 'layer' or 'node': what a value is, in messages. */
  noun: string;
  /** The tensors of `names`, in order, for `x` (both in the model's layout); the caller disposes them. */
  execute(x: TfTensor, names: string[]): Promise<TfTensor[]>;
  dispose(): void;
}

/** The `LoadedModel` of a TfExecutable (layers or graph model); disposes it when it fails. */
export async function loadExecutable(rt: TfRuntime, exe: TfExecutable, info: { path: string; sha256: string; format: ModelFormat }, opts: LoadModelOptions): Promise<LoadedModel> {
  try {
    return await wrap(rt, exe, info, opts);
  } catch (e) {
    throw cannotRun(e, info.path, exe);
  }
}

/**
 * A failure while making a model runnable: disposes what was built (`owner`), and gives the
 * error to throw: a LensError as it is, anything else as a model error naming the file.
 */
export function cannotRun(e: unknown, path: string, owner: { dispose(): void }): unknown {
  try {
    owner.dispose();
  } catch {
    /* already */
  }
  return e instanceof LensError ? e : modelError(`TensorFlow.js cannot run ${path}: ${errorText(e)}`, path);
}

async function wrap(rt: TfRuntime, exe: TfExecutable, info: { path: string; sha256: string; format: ModelFormat }, opts: LoadModelOptions): Promise<LoadedModel> {
  const { tf } = rt;
  const { path } = info;
  const layout = exe.layout;
  const channelsLast = layout === 'channels-last';
  const inputName = exe.inputName;
  if (exe.inputDtype !== 'float32') throw modelError(`${path}: input ${JSON.stringify(inputName)} is ${exe.inputDtype}; only float32 inputs are supported`, path);

  // ---- the prediction output
  let outputName: string;
  if (opts.output === 'auto') outputName = exe.outputNames[0];
  else {
    if (!exe.outputNames.includes(opts.output)) {
      throw modelError(
        `model.output is ${JSON.stringify(opts.output)}, but ${path} has the outputs ${exe.outputNames.map((o) => JSON.stringify(o)).join(', ')}`,
        path,
      );
    }
    outputName = opts.output;
  }

  // ---- per-image input dims (channels-first)
  const toFirst = <T>(d: T[]) => (channelsLast ? [d[d.length - 1], ...d.slice(0, -1)] : [...d]);
  const toLast = <T>(d: T[]) => (channelsLast ? [...d.slice(1), d[0]] : [...d]);
  const declared = exe.inputShape;
  if (declared.length < 3) {
    throw modelError(`${path}: input ${JSON.stringify(inputName)} has shape ${fmt(declared.map((d) => d ?? -1))}; UNet Lens needs an image input N×H×W×C or N×D×H×W×C`, path);
  }
  const per = toFirst(declared.slice(1));
  const shown = `${fmt(declared.map((d) => (d === null ? 'None' : d)))}${channelsLast ? ' (channels-last)' : ''}`;
  const fixed = (d: number | null): d is number => typeof d === 'number' && d > 0;
  let inputDims: number[];
  const want = opts.inputDims;
  if (want) {
    if (want.length !== per.length) {
      throw modelError(`${path}: input ${JSON.stringify(inputName)} has shape ${shown}, ${per.length}-D per image, but the data gives ${want.length}-D images ${fmt(want)}`, path);
    }
    per.forEach((d, a) => {
      if (fixed(d) && d !== want[a]) {
        throw modelError(
          `${path}: input ${JSON.stringify(inputName)} takes images of shape ${fmt(per.map((x) => x ?? -1))} (channels first; the model declares ${shown}), but the data gives ${fmt(want)}` +
            (a === 0 ? ` (${d} channel${d === 1 ? '' : 's'} expected, ${want[a]} given)` : ''),
          path,
        );
      }
    });
    inputDims = [...want];
  } else {
    if (per.some((d) => !fixed(d))) {
      throw modelError(`${path}: input ${JSON.stringify(inputName)} has dynamic dims ${shown}; give the image size and channels in the dataset file (input.size, input.channels)`, path);
    }
    inputDims = per as number[];
  }
  if (inputDims.length !== 3 && inputDims.length !== 4) throw modelError(`${path}: per-image input dims ${fmt(inputDims)} are neither [C, H, W] nor [C, D, H, W]`, path);
  const perImage = inputDims.reduce((a, b) => a * b, 1);
  const modelDims = toLast(inputDims);
  const batchDim = typeof declared[0] === 'number' && declared[0] > 0 ? declared[0] : undefined;
  checkFixedBatch(batchDim, perImage, path);

  // ---- explicit taps must be computable values
  if (opts.taps !== 'auto') {
    for (const t of opts.taps) {
      if (!exe.fetchable.has(t)) {
        const some = [...exe.fetchable].slice(0, 6);
        throw modelError(`analysis.taps names ${JSON.stringify(t)}, which is not a ${exe.noun} of ${path}; its ${exe.noun}s include ${some.map((s) => JSON.stringify(s)).join(', ')}`, path);
      }
    }
  }

  // ---- running: channels-first in, channels-first out
  const firstPerm = (r: number) => [0, r - 1, ...Array.from({ length: r - 2 }, (_, i) => i + 1)];
  const lastPerm = (r: number) => [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2), 1];
  const runChunk = async (data: Float32Array, n: number, names: string[]): Promise<Map<string, Tensor>> => {
    const x = tf.tidy(() => {
      const t = tf.tensor(data, [n, ...inputDims], 'float32');
      return channelsLast ? tf.transpose(t, lastPerm(t.rank)) : t;
    });
    let raw: TfTensor[];
    try {
      raw = await exe.execute(x, names);
    } catch (e) {
      throw modelError(`TensorFlow.js (${rt.backend}) could not run ${path} on input ${fmt([n, ...modelDims])}: ${errorText(e)}`, path);
    } finally {
      x.dispose();
    }
    let outs: TfTensor[];
    try {
      outs = tf.tidy(() => raw.map((t) => (channelsLast && t.rank >= 3 ? tf.transpose(t, firstPerm(t.rank)) : tf.clone(t))));
    } finally {
      for (const t of new Set(raw)) t.dispose();
    }
    try {
      const res = new Map<string, Tensor>();
      const values = await Promise.all(outs.map((t) => t.data()));
      names.forEach((name, i) => {
        const v = values[i];
        res.set(name, { data: v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>), dims: [...outs[i].shape] });
      });
      return res;
    } finally {
      for (const t of outs) t.dispose();
    }
  };
  /** All n images, in chunks of the model's fixed batch size when it has one (the last one padded). */
  const runRaw = async (data: Float32Array, n: number, names: string[]): Promise<Map<string, Tensor>> => {
    if (batchDim === undefined || batchDim === n) return runChunk(data, n, names);
    const parts: Map<string, Tensor>[] = [];
    for (let s = 0; s < n; s += batchDim) {
      const m = Math.min(batchDim, n - s);
      const chunk = new Float32Array(batchDim * perImage);
      chunk.set(data.subarray(s * perImage, (s + m) * perImage));
      const res = await runChunk(chunk, batchDim, names);
      for (const [k, t] of res) {
        const each = t.data.length / batchDim;
        res.set(k, { data: t.data.slice(0, m * each), dims: [m, ...t.dims.slice(1)] });
      }
      parts.push(res);
    }
    const joined = new Map<string, Tensor>();
    for (const name of names) {
      const ts = parts.map((p) => p.get(name)!);
      const all = new Float32Array(ts.reduce((a, t) => a + t.data.length, 0));
      let o = 0;
      for (const t of ts) {
        all.set(t.data, o);
        o += t.data.length;
      }
      joined.set(name, { data: all, dims: [n, ...ts[0].dims.slice(1)] });
    }
    return joined;
  };

  // ---- probe one zero image for the shapes taps.ts needs, then plan
  const idx = new GraphIndex(exe.graph, { input: inputName, output: outputName });
  const probe = [...new Set([outputName, ...probeValues(idx, opts.taps).filter((v) => exe.fetchable.has(v))])];
  let probed: Map<string, Tensor>;
  try {
    probed = await runRaw(new Float32Array(perImage), 1, probe);
  } catch (e) {
    // a kernel the wasm backend lacks: the whole runtime goes over to the cpu backend
    const kernel = isMissingKernel(errorText(e));
    if (!kernel || !(await fallBackToCpu(rt, `the wasm backend has no ${kernel} kernel, which ${nodePath.basename(path)} needs`))) throw e;
    probed = await runRaw(new Float32Array(perImage), 1, probe);
  }
  const shapes = new Map<string, number[]>();
  shapes.set(inputName, [...inputDims]);
  for (const [name, t] of probed) shapes.set(name, t.dims.slice(1));
  probed.clear();
  const plan = planTaps(exe.graph, shapes, { taps: opts.taps, maxTaps: opts.maxTaps, output: outputName, input: inputName });
  const tapNames = plan.taps.map((t) => t.name);
  const outputDims = shapes.get(outputName) ?? [];
  let disposed = false;

  const loaded: LoadedModel = {
    format: info.format,
    backend: rt.backend,
    path,
    sha256: info.sha256,
    inputs: exe.inputs,
    outputs: exe.outputs,
    inputName,
    inputDims,
    inputLayout: layout,
    outputName,
    outputDims,
    taps: plan.taps,
    tapsLeftOut: plan.leftOut,

    async run(batch, runOpts) {
      const wanted = runOpts?.taps ?? tapNames;
      const n = checkRunRequest({ path, disposed, inputDims, perImage, batch, wanted, fetchable: exe.fetchable, tapNames, outputsNoun: `${exe.noun} outputs of` });
      const names = [...new Set([outputName, ...wanted])];
      const res = await runRaw(batch.data, n, names);
      const taps = new Map<string, Tensor>();
      for (const t of wanted) taps.set(t, res.get(t)!);
      return { output: res.get(outputName)!, taps };
    },

    async dispose() {
      if (disposed) return;
      disposed = true;
      try {
        exe.dispose();
      } catch {
        /* disposed already */
      }
    },
  };
  return loaded;
}
