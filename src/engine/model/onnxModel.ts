/**
 * Loading an ONNX model for the analysis: read and check the file, find the input and the
 * prediction output, settle the per-image input dims, open an onnxruntime session whose
 * graph also outputs every candidate tap, probe it with one zero image to learn the
 * candidates' shapes (a large input: zero images at small sizes, probeShapes.ts), and plan
 * the taps (taps.ts).
 *
 * Batches are N×C×H×W (N×C×D×H×W) float32. Models that take channels-last input (a
 * Transpose to channels-first right after the input, as converted Keras models have) get
 * their batches transposed here; `inputDims` and `run`'s batch stay channels-first. Their
 * `output` comes back channels-first too (the tensor before the final Transpose). A model
 * whose batch dim is fixed (often 1) is run in chunks of that size.
 */
import { createHash } from 'node:crypto';
import { promises as fs, constants as fsConstants, copyFileSync, linkSync, mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { arenaFits, checkFixedBatch, confinedPath, formatBytes, memoryBudgetBytes, requireRegularFile } from '../limits';
import * as ort from 'onnxruntime-node';
import { LensError, Tensor, TensorDesc } from '../types';
import { modelError, type LoadedModel, type LoadModelOptions } from './contract';
import { OnnxGraph, OnnxValueInfo, parseOnnx } from './onnxGraph';
import { withExtraOutputs, withInputShape } from './onnxWrite';
import { extrapolateShapes, probeFactor } from './probeShapes';
import { checkRunRequest } from './runChecks';
import { GraphIndex, inputLayout, logitsValue, planTaps, probeValues } from './taps';

const fmt = (dims: (number | string)[]) => `[${dims.join(', ')}]`;

function describe(v: OnnxValueInfo): TensorDesc {
  return { name: v.name, dims: v.dims ?? [], type: v.type };
}

async function readModelFile(path: string): Promise<Uint8Array> {
  try {
    const st = await fs.stat(path);
    if (st.isDirectory()) throw modelError(`${path} is a folder, not an ONNX model file`, path);
    if (!st.isFile()) requireRegularFile(path, 'model', 'model file'); // throws: a FIFO, a device…
    if (st.size > memoryBudgetBytes()) {
      throw modelError(`${path}: the model file is ${formatBytes(st.size)}, over the memory limit of ${formatBytes(memoryBudgetBytes())} (set by unetLens.workerMemoryMB / UNET_LENS_MEMORY_MB)`, path);
    }
    const buf = await fs.readFile(path);
    // a view, not a copy (176 MB took 0.5–0.7 s to copy on the nested benchmark model)
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    if (e instanceof LensError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw modelError(`model file not found: ${path}`, path);
    if (code === 'EACCES' || code === 'EPERM') throw modelError(`cannot read the model file ${path}: permission denied`, path);
    throw modelError(`cannot read the model file ${path}: ${(e as Error).message}`, path);
  }
}

function ortMessage(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.replace(/\s+/g, ' ').trim();
}

/**
 * The external data files of a model, checked: each location a relative path inside the
 * model's folder (links followed), a regular file, and all of them within the memory budget.
 */
function externalFiles(graph: OnnxGraph, path: string): string[] {
  const dir = nodePath.dirname(path);
  const locations = new Set<string>();
  for (const t of graph.initializers.values()) {
    if (!t.external) continue;
    if (t.externalLocation === undefined) throw modelError(`${path}: initializer ${JSON.stringify(t.name)} keeps its data in an external file but names none`, path);
    locations.add(t.externalLocation);
  }
  let total = 0;
  for (const loc of locations) {
    const abs = confinedPath(dir, loc, path, 'the external data file');
    total += requireRegularFile(abs, 'model', `external data file ${JSON.stringify(loc)}`).size;
  }
  if (total > memoryBudgetBytes()) {
    throw modelError(`${path}: its external data files hold ${formatBytes(total)}, over the memory limit of ${formatBytes(memoryBudgetBytes())} (set by unetLens.workerMemoryMB / UNET_LENS_MEMORY_MB)`, path);
  }
  return [...locations];
}

/** Temporary folders of this process (removed on exit, however it exits but SIGKILL). */
const tempDirs = new Set<string>();
let exitHook = false;
function tempDir(): string {
  const d = mkdtempSync(nodePath.join(os.tmpdir(), `unetlens-onnx-${process.pid}-`));
  tempDirs.add(d);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const t of tempDirs) rmSync(t, { recursive: true, force: true });
    });
  }
  return d;
}

/**
 * Opens an onnxruntime session on `bytes`. A model whose weights live in external files is
 * opened from a temporary folder (in the system temp folder, never next to the user's
 * model) holding the modified model and hard links to (or copies of) its checked external
 * data files, which
 * onnxruntime finds relative to the model.
 */
async function createSession(
  bytes: Uint8Array,
  path: string,
  external: string[] | undefined,
  threads: number | undefined,
  arena = false,
  optimization: 'all' | 'basic' = 'all',
): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    // failures come back as exceptions, which we wrap; keep onnxruntime's own log quiet
    logSeverityLevel: 4,
    // 'basic' for the small-size shape probe: the graph outputs are kept at every level, and
    // it opens the nested benchmark model in 0.2 s instead of 0.7 s
    graphOptimizationLevel: optimization,
    // The CPU memory arena only when the activations are small against the memory budget
    // (limits.ts `arenaFits`): with every tap fetched as an output, a run's buffers are as large
    // as the activations themselves (about 1 GB for one 1024² image through a nested UNet with
    // 63 taps), and the arena keeps them after the run, beside the copies handed to JavaScript.
    // The probe's session has none. Numerics unchanged either way.
    enableCpuMemArena: arena,
    // Without the arena, no memory pattern either: with fixed shapes onnxruntime plans one block
    // for every intermediate tensor of a run and allocates it whole each run. For the 1024² nested
    // UNet that block, beside the fetched taps and their copies in JavaScript, set the peak
    // (six runs of one image: 3707 MB against 4317 MB, the second run 3.6 s against 5.6 s;
    // bench/README.md, issue 12 item 6). Numerics unchanged.
    enableMemPattern: arena,
    ...(threads && threads > 0 ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
  };
  if (!external) return ort.InferenceSession.create(bytes, options);
  let dir: string;
  const tmp = (d: string) => nodePath.join(d, nodePath.basename(path));
  try {
    dir = tempDir();
    await fs.writeFile(tmp(dir), bytes);
    const modelDir = await fs.realpath(nodePath.dirname(path));
    for (const loc of external) {
      const link = nodePath.join(dir, loc);
      mkdirSync(nodePath.dirname(link), { recursive: true });
      // onnxruntime resolves symbolic links and refuses data outside the model's folder: a
      // hard link when the temp folder is on the same file system, else a copy (within the budget).
      const src = await fs.realpath(nodePath.join(modelDir, loc));
      try {
        linkSync(src, link);
      } catch {
        copyFileSync(src, link, fsConstants.COPYFILE_FICLONE);
      }
    }
  } catch (e) {
    throw modelError(
      `${path} keeps its weights in external files; opening it needs a temporary copy in ${os.tmpdir()}, which could not be written: ${(e as Error).message}`,
      path,
    );
  }
  try {
    return await ort.InferenceSession.create(tmp(dir), options);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
}

function toFloat32(v: ort.Tensor): Float32Array {
  const d = v.data as unknown;
  if (d instanceof Float32Array) return d;
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Float32Array.from(d as ArrayLike<bigint>, (x) => Number(x));
  if (ArrayBuffer.isView(d)) return Float32Array.from(d as unknown as ArrayLike<number>);
  throw new LensError(`cannot read an onnxruntime tensor of type ${v.type} as numbers`, 'internal');
}

/** Loads an ONNX model (see the file comment). All failures are LensError(kind 'model', where = path). */
export async function loadOnnxModel(path: string, opts: LoadModelOptions): Promise<LoadedModel> {
  const bytes = await readModelFile(path);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const graph: OnnxGraph = parseOnnx(bytes, path);

  // ---- the input
  if (graph.inputs.length === 0) throw modelError(`${path} declares no input`, path);
  if (graph.inputs.length > 1) {
    throw modelError(
      `${path} has ${graph.inputs.length} inputs (${graph.inputs.map((i) => JSON.stringify(i.name)).join(', ')}); UNet Lens feeds one image input`,
      path,
    );
  }
  const input = graph.inputs[0];
  if (input.elemType !== 1 && input.elemType !== 0) {
    throw modelError(`${path}: input ${JSON.stringify(input.name)} is ${input.type}; only float32 inputs are supported`, path);
  }

  // ---- the prediction output
  if (graph.outputs.length === 0) throw modelError(`${path} declares no output`, path);
  let outputName: string;
  if (opts.output === 'auto') outputName = graph.outputs[0].name;
  else {
    if (!graph.outputs.some((o) => o.name === opts.output)) {
      throw modelError(
        `model.output is ${JSON.stringify(opts.output)}, but ${path} has the outputs ${graph.outputs.map((o) => JSON.stringify(o.name)).join(', ')}`,
        path,
      );
    }
    outputName = opts.output;
  }
  const idx = new GraphIndex(graph, { input: input.name, output: outputName });
  const layout = inputLayout(idx);
  const channelsLast = layout === 'channels-last';
  const toFirst = <T>(d: T[]) => (channelsLast ? [d[d.length - 1], ...d.slice(0, -1)] : [...d]);
  const toLast = <T>(d: T[]) => (channelsLast ? [...d.slice(1), d[0]] : [...d]);

  // ---- per-image input dims
  const declared = input.dims;
  let batchDim: number | undefined;
  let inputDims: number[];
  const want = opts.inputDims;
  if (declared && declared.length < 3) {
    throw modelError(
      `${path}: input ${JSON.stringify(input.name)} has shape ${fmt(declared)}; UNet Lens needs an image input N×C×H×W or N×C×D×H×W`,
      path,
    );
  }
  if (declared) {
    const fixed = (d: number | string): d is number => typeof d === 'number' && d > 0;
    batchDim = fixed(declared[0]) ? declared[0] : undefined;
    const per = toFirst(declared.slice(1));
    const shown = `${fmt(declared)}${channelsLast ? ' (channels-last)' : ''}`;
    if (want) {
      if (want.length !== per.length) {
        throw modelError(
          `${path}: input ${JSON.stringify(input.name)} has shape ${shown}, ${per.length}-D per image ${fmt(per)}, but the data gives ${want.length}-D images ${fmt(want)}`,
          path,
        );
      }
      per.forEach((d, a) => {
        if (fixed(d) && d !== want[a]) {
          throw modelError(
            `${path}: input ${JSON.stringify(input.name)} takes images of shape ${fmt(per)} (channels first; the model declares ${shown}), but the data gives ${fmt(want)}` +
              (a === 0 ? ` (${d} channel${d === 1 ? '' : 's'} expected, ${want[a]} given)` : ''),
            path,
          );
        }
      });
      inputDims = [...want];
    } else {
      const dynamic = per.map((d, a) => (fixed(d) ? -1 : a)).filter((a) => a >= 0);
      if (dynamic.length) {
        throw modelError(
          `${path}: input ${JSON.stringify(input.name)} has dynamic dims ${shown}; give the image size and channels in the dataset file (input.size, input.channels)`,
          path,
        );
      }
      inputDims = per as number[];
    }
  } else {
    if (!want) throw modelError(`${path}: input ${JSON.stringify(input.name)} declares no shape; give the image size and channels in the dataset file`, path);
    inputDims = [...want];
  }
  if (inputDims.length !== 3 && inputDims.length !== 4) {
    throw modelError(`${path}: per-image input dims ${fmt(inputDims)} are neither [C, H, W] nor [C, D, H, W]`, path);
  }
  if (inputDims.some((d) => !Number.isInteger(d) || d <= 0)) throw modelError(`${path}: bad per-image input dims ${fmt(inputDims)}`, path);

  // ---- session with the candidate outputs, probe, plan
  const probe = probeValues(idx, opts.taps);
  const outNames = graph.outputs.map((o) => o.name);
  const external = [...graph.initializers.values()].some((t) => t.external) ? externalFiles(graph, path) : undefined;
  const batchOf = batchDim ?? 1;
  checkFixedBatch(batchDim, inputDims.reduce((a, b) => a * b, 1), path);
  const perImage = inputDims.reduce((a, b) => a * b, 1);
  const modelDims = toLast(inputDims);

  const runOn = async (sess: ort.InferenceSession, data: Float32Array, dims: number[], names: string[]): Promise<Map<string, Tensor>> => {
    const feed = new ort.Tensor('float32', data, dims);
    let res: ort.InferenceSession.ReturnType;
    try {
      res = await sess.run({ [input.name]: feed }, names, { logSeverityLevel: 4 });
    } catch (e) {
      throw modelError(`onnxruntime could not run ${path} on input ${fmt(dims)}: ${ortMessage(e)}`, path);
    }
    const out = new Map<string, Tensor>();
    for (const name of names) {
      const v = res[name];
      out.set(name, { data: toFloat32(v), dims: [...v.dims] });
    }
    return out;
  };
  const logitsName = logitsValue(idx);
  const probeNames = (sess: ort.InferenceSession) => {
    const fetch = logitsName !== outputName && sess.outputNames.includes(logitsName) ? logitsName : outputName;
    return [...new Set([fetch, ...probe.filter((p) => sess.outputNames.includes(p))])];
  };
  /** Per-image dims of the candidates at the sides / f, / (f/2), / (f/4), extrapolated (probeShapes.ts); undefined when that does not work out. */
  const smallProbe = async (sess: ort.InferenceSession, f: number): Promise<Map<string, number[]> | undefined> => {
    const runs: Map<string, number[]>[] = [];
    for (const div of [f, f / 2, f / 4]) {
      const dims = toLast([inputDims[0], ...inputDims.slice(1).map((d) => d / div)]);
      try {
        const res = await runOn(sess, new Float32Array(batchOf * dims.reduce((a, b) => a * b, 1)), [batchOf, ...dims], probeNames(sess));
        runs.push(new Map([...res].map(([k, t]) => [k, t.dims.slice(1)])));
      } catch {
        return undefined; // e.g. a Reshape to a constant shape: the full-size probe decides
      }
    }
    const got = extrapolateShapes(runs as [Map<string, number[]>, Map<string, number[]>, Map<string, number[]>], f);
    return 'shapes' in got ? got.shapes : undefined;
  };

  // Large inputs: the shapes from small runs. A model that declares fixed sides gets a
  // session of its own for them, with the input's sides made symbolic (withInputShape).
  const factor = opts.probe === 'full' ? undefined : probeFactor(inputDims.slice(1));
  const sidesFixed = !!declared && toFirst(declared.slice(1)).slice(1).some((d) => typeof d === 'number' && d > 0);
  let learnt: Map<string, number[]> | undefined;
  if (factor && sidesFixed) {
    const sides = inputDims.slice(1).map((_, a) => `unet_lens_side${a}`);
    const symbolic = [declared![0], ...toLast([inputDims[0], ...sides])];
    let own: ort.InferenceSession | undefined;
    try {
      own = await createSession(withInputShape(bytes, input.name, symbolic, path, probe), path, external, opts.threads, false, 'basic');
      learnt = await smallProbe(own, factor);
    } catch {
      learnt = undefined; // the full-size probe below reports what is wrong, if anything
    } finally {
      await own?.release();
    }
  }

  // after the small-size probe's session is gone: one copy of the model bytes at a time
  const withTaps = withExtraOutputs(bytes, probe, { existing: outNames });
  let session: ort.InferenceSession;
  try {
    session = await createSession(withTaps, path, external, opts.threads);
  } catch (e) {
    if (e instanceof LensError) throw e;
    // is it the model itself, or the outputs we added?
    let plainOk = false;
    try {
      const plain = await createSession(bytes, path, external, opts.threads);
      plainOk = true;
      await plain.release();
    } catch {
      /* the model itself */
    }
    if (plainOk) {
      throw new LensError(`${path}: onnxruntime opens the model but not with its interior tensors as outputs: ${ortMessage(e)}`, 'internal', path);
    }
    throw modelError(`onnxruntime cannot load ${path}: ${ortMessage(e)}`, path);
  }

  const fetchOutput = probeNames(session)[0];
  const runRaw = (data: Float32Array, n: number, names: string[]) => runOn(session, data, [n, ...modelDims], names);

  if (factor && !sidesFixed) learnt = await smallProbe(session, factor);
  const small = !!learnt;
  if (!learnt) {
    // one zero image at the full size (a full batch when the batch dim is fixed)
    let probed: Map<string, Tensor>;
    try {
      probed = await runRaw(new Float32Array(perImage * batchOf), batchOf, probeNames(session));
    } catch (e) {
      await session.release();
      throw e;
    }
    learnt = new Map([...probed].map(([name, t]) => [name, t.dims.slice(1)]));
    probed.clear();
  }
  const shapeProbe = small
    ? `zero images at ${[factor!, factor! / 2, factor! / 4].map((d) => inputDims.slice(1).map((x) => x / d).join('×')).join(', ')}, extrapolated`
    : `a zero image at ${inputDims.slice(1).join('×')}`;
  const shapes = new Map<string, number[]>(learnt);
  shapes.set(input.name, toLast(inputDims));

  let plan;
  try {
    plan = planTaps(graph, shapes, { taps: opts.taps, maxTaps: opts.maxTaps, output: outputName, input: input.name });
  } catch (e) {
    await session.release();
    throw e;
  }
  // Small activations: the session again, with the CPU memory arena (limits.ts `arenaFits`).
  const tapBytes = plan.taps.reduce((a, t) => a + 4 * (shapes.get(t.name) ?? []).reduce((p, d) => p * d, 1), 0);
  if (arenaFits(tapBytes + 4 * perImage)) {
    const old = session;
    try {
      session = await createSession(withTaps, path, external, opts.threads, true);
      await old.release();
    } catch {
      session = old; // keep the one that works
    }
  }
  const tapNames = plan.taps.map((t) => t.name);
  const available = new Set(session.outputNames);
  const outputDims = shapes.get(fetchOutput) ?? [];
  let disposed = false;

  const transposeToLast = (src: Float32Array, n: number): Float32Array => {
    if (!channelsLast) return src;
    const c = inputDims[0];
    const sp = perImage / c;
    const dst = new Float32Array(src.length);
    for (let b = 0; b < n; b++) {
      const o = b * perImage;
      for (let ch = 0; ch < c; ch++) for (let p = 0; p < sp; p++) dst[o + p * c + ch] = src[o + ch * sp + p];
    }
    return dst;
  };

  const model: LoadedModel = {
    format: 'onnx',
    path,
    sha256,
    inputs: graph.inputs.map(describe),
    outputs: graph.outputs.map(describe),
    inputName: input.name,
    inputDims,
    inputLayout: layout,
    outputName,
    outputDims,
    taps: plan.taps,
    tapsLeftOut: plan.leftOut,
    shapeProbe,

    async run(batch, runOpts) {
      const wanted = runOpts?.taps ?? tapNames;
      const n = checkRunRequest({ path, disposed, inputDims, perImage, batch, wanted, fetchable: available, tapNames, outputsNoun: 'tensors loaded as outputs of' });
      const names = [...new Set([fetchOutput, ...wanted])];
      const chunk = batchDim ?? Math.max(n, 1);
      const parts: Map<string, Tensor>[] = [];
      for (let s = 0; s < n; s += chunk) {
        const m = Math.min(chunk, n - s);
        let data = batch.data.subarray(s * perImage, (s + m) * perImage);
        if (batchDim !== undefined && m < batchDim) {
          const padded = new Float32Array(batchDim * perImage);
          padded.set(data);
          data = padded;
        }
        const res = await runRaw(transposeToLast(data, batchDim ?? m), batchDim ?? m, names);
        if (batchDim !== undefined && m < batchDim) {
          for (const [k, t] of res) {
            const per = t.data.length / t.dims[0];
            res.set(k, { data: t.data.slice(0, m * per), dims: [m, ...t.dims.slice(1)] });
          }
        }
        parts.push(res);
      }
      const joined = new Map<string, Tensor>();
      for (const name of names) {
        if (parts.length === 1) {
          joined.set(name, parts[0].get(name)!);
          continue;
        }
        const ts = parts.map((p) => p.get(name)!);
        const total = ts.reduce((a, t) => a + t.data.length, 0);
        const data = new Float32Array(total);
        let o = 0;
        for (const t of ts) {
          data.set(t.data, o);
          o += t.data.length;
        }
        joined.set(name, { data, dims: [n, ...ts[0].dims.slice(1)] });
      }
      // The plan's shapes may come from the small-size probes: the real ones must match.
      for (const name of names) {
        const got = joined.get(name)!.dims.slice(1);
        const want = shapes.get(name);
        if (want && (got.length !== want.length || got.some((d, i) => d !== want[i]))) {
          throw new LensError(
            `${path}: ${JSON.stringify(name)} came out of onnxruntime as ${fmt(got)} per image, not ${fmt(want)} as the shape probe found; the taps were planned on wrong shapes`,
            'internal',
            path,
          );
        }
      }
      const output = joined.get(fetchOutput)!;
      const taps = new Map<string, Tensor>();
      for (const t of wanted) taps.set(t, joined.get(t)!);
      return { output, taps };
    },

    async dispose() {
      if (disposed) return;
      disposed = true;
      await session.release();
    },
  };
  return model;
}
