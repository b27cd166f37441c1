/**
 * Limits on what hostile or broken inputs can make the engine do (SECURITY.md).
 *
 * - Every file the engine reads must be a regular file: FIFOs, character and block devices
 *   and sockets are refused before they are read (opening a FIFO blocks until a writer
 *   comes; /dev/zero never ends). Symbolic links are followed; what they point at must be a
 *   regular file too.
 * - Every allocation whose size comes from a file (declared image dims × dtype, a
 *   decompressed member, a weight file) is checked against a memory budget BEFORE it is
 *   made, and decompression stops at the budget. The budget is `UNET_LENS_MEMORY_MB`
 *   (the extension sets it from `unetLens.workerMemoryMB`), else half the machine's memory
 *   up to 4 GB. A single array larger than the budget is refused with a message that names
 *   the file, what it declares and the limit.
 * - The analysis knobs (maxPoints, k, …) have hard upper bounds (ANALYSIS_LIMITS), checked
 *   wherever they come from: the dataset file (its JSON schema), CLI flags, settings.
 *
 * Pure Node, no `vscode`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LensError } from './types';

/** Hard upper bounds of the analysis settings (the dataset file's schema repeats them). */
export const ANALYSIS_LIMITS = {
  maxPoints: 1_000_000,
  k: 1024,
  seed: 0xffffffff,
  maxTaps: 4096,
  batchSize: 1024,
  mapsPerSplit: 1000,
  mapGrid: 128,
  threads: 1024,
} as const;

const MB = 2 ** 20;

/**
 * Largest fixed batch dimension a model may declare. Such a model must be fed whole batches
 * (every batch padded to that size): a declared batch of 20000 would make every forward pass
 * 20000 images. Dynamic batch dims are run in batches of `analysis.batchSize` (≤ 1024).
 */
export const MAX_FIXED_BATCH = 64;

/** Refuses a model whose fixed batch dimension is over MAX_FIXED_BATCH (LensError 'model'). */
export function checkFixedBatch(batch: number | undefined, perImage: number, file: string): void {
  if (batch === undefined) return;
  if (batch > MAX_FIXED_BATCH) {
    throw new LensError(
      `${file}: the model declares a fixed batch of ${batch} images, over the limit of ${MAX_FIXED_BATCH}: every forward pass would run ${batch} images; ` +
        're-export it with a dynamic batch dimension (torch.onnx.export(…, dynamic_axes={"input": {0: "batch"}})) or a small fixed one',
      'model',
      file,
    );
  }
  checkAllocation(batch * perImage * 4, `one batch of ${batch} inputs`, file, 'model');
}

/**
 * The environment an analysis process starts with (the extension's worker; the CLI relaunches
 * itself with it, cli.ts): glibc's malloc gives every block over its mmap threshold (at most
 * 32 MB) a mapping of its own, unmapped when freed, so every inference of a large network with
 * its taps as outputs maps, faults in and zeroes its gigabytes of activations again. With the
 * threshold at 4 GB those blocks come from the heap and are reused; the trim threshold at 4 GB
 * too, or the heap is given back and faulted in again whenever its top is freed (the threshold
 * alone made the small example 8 % slower, with 1.8× the page faults). Measured on the 1024²
 * nested UNet and the example (bench/README.md, issue 12 item 6).
 * `glibc.malloc.hugetlb=1` (glibc ≥ 2.35; older ones ignore it) has malloc ask for transparent
 * huge pages where the kernel offers them on request ("madvise"): the heap's gigabytes are then
 * faulted in 2 MB at a time, not 4 KB (nested UNet: 1.2 M → 0.2 M page faults, and the first
 * two images' runs no longer cost three times the later ones'; bench/README.md).
 * `MALLOC_ARENA_MAX=1`: one heap for every thread. Else each tap thread (pipeline/tapPool.ts)
 * allocates its jobs' rows from a heap of its own, which with the trim threshold above keeps
 * its largest size for the rest of the run, out of reach of the main thread's next batch
 * (nested UNet: peak 3.95–4.25 GB → 3.76–4.00 GB over 4–6 runs each, wall time within the noise
 * on the example; bench/README.md).
 * Read by glibc at process start only; other C libraries ignore it. Merged into the caller's
 * environment by `analysisProcessEnv`.
 */
export const ANALYSIS_PROCESS_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: String(4 * 1024 ** 3),
  MALLOC_TRIM_THRESHOLD_: String(4 * 1024 ** 3),
  MALLOC_ARENA_MAX: '1',
  GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1',
};

/** The glibc tunable names set in a GLIBC_TUNABLES value ("a.b.c=1:d.e=2"). */
const tunableNames = (v: string | undefined) => new Set((v ?? '').split(':').map((t) => t.split('=')[0]).filter(Boolean));

/**
 * What an analysis process adds to `base` (its parent's environment): ANALYSIS_PROCESS_ENV,
 * except what `base` sets itself. A GLIBC_TUNABLES of the user's is kept and extended with the
 * tunables it does not name (a `glibc.malloc.hugetlb=0` of theirs stays).
 */
export function analysisProcessEnv(base: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(ANALYSIS_PROCESS_ENV)) {
    if (k === 'GLIBC_TUNABLES') {
      const have = tunableNames(base[k]);
      const add = v.split(':').filter((t) => !have.has(t.split('=')[0]));
      out[k] = [base[k], ...add].filter(Boolean).join(':');
    } else out[k] = base[k] ?? v;
  }
  return out;
}

/** Whether `env` already holds everything `analysisProcessEnv` would add (no relaunch needed). */
export function hasAnalysisProcessEnv(env: NodeJS.ProcessEnv): boolean {
  const want = analysisProcessEnv(env);
  return Object.entries(want).every(([k, v]) => env[k] === v);
}

/**
 * Node flags an analysis process starts with (the extension's worker, workerRunner.ts; the
 * CLI's relaunched child, cli.ts): `--expose-gc`, for `releaseBatch`.
 */
export const ANALYSIS_EXEC_ARGV: readonly string[] = ['--expose-gc'];

/**
 * Batches of at least this many bytes of activations are collected as soon as they are used
 * (`releaseBatch`). A batch is at most a quarter of the memory budget unless one image is more
 * (batchForMemory), so with the default 4 GB budget this is a large network on large images.
 * Measured lower: at 256 MB the 256² large case (321 MB batches, 75 of them) paid 4–11 s of
 * CPU for its collections and its peak did not move.
 */
export const RELEASE_BATCH_BYTES = 1024 * MB;

/**
 * After a batch of `bytes` of activations has been used: a full garbage collection when the
 * batch is large and the process was started with `--expose-gc` (ANALYSIS_EXEC_ARGV); else
 * nothing. onnxruntime-node hands every output over in a new ArrayBuffer, which V8 frees only
 * when it collects: without this, the next image's gigabyte of taps is allocated (and faulted
 * in) beside the last one's, and with the allocator setting above the freed blocks are then
 * reused instead. On the 1024² nested UNet (1.2 GB of taps per image) it lowered the peak by
 * 200–700 MB (bench/README.md).
 */
export function releaseBatch(bytes: number): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (bytes >= RELEASE_BATCH_BYTES && typeof gc === 'function') gc();
}

/** The memory budget of one analysis, in bytes (see the file comment). */
export function memoryBudgetBytes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.UNET_LENS_MEMORY_MB;
  if (raw !== undefined && /^\d+$/.test(raw.trim()) && Number(raw) >= 64) return Number(raw) * MB;
  return Math.min(4096 * MB, Math.floor(os.totalmem() / 2));
}

/**
 * Images per forward pass: `batchSize`, or fewer when one batch of activations (`perImageBytes`
 * per image: every tap, the prediction output and the input, float32, as the model run returns
 * them all at once) would exceed a quarter of the memory budget; at least 1. A 1024² image
 * through a large nested UNet with 64 taps is about 1.2 GB of activations: four of them at
 * once would be 4.8 GB, past the budget before anything else is counted.
 */
export function batchForMemory(batchSize: number, perImageBytes: number, budgetBytes: number = memoryBudgetBytes()): number {
  const B = Math.max(1, Math.floor(batchSize));
  if (!(perImageBytes > 0)) return B;
  return Math.max(1, Math.min(B, Math.floor(budgetBytes / 4 / perImageBytes)));
}

/**
 * Whether the model's onnxruntime session keeps its CPU memory arena: yes when one image's
 * activations (`perImageBytes`, every tap fetched) are at most 1/32 of the memory budget. The
 * arena keeps a run's buffers for the next run instead of asking the system again, which makes
 * a pass with every tap fetched about 3× faster (4 images of 256² through a 4-level UNet with
 * 27 taps: 0.8–1.0 s against 2.3–2.9 s), and costs about three batches of activations more
 * memory (+0.7 GB there). A 1024² nested UNet with 64 taps (1.2 GB per image) runs without it:
 * with it, one image takes 5.9 GB instead of 3.3.
 */
export function arenaFits(perImageBytes: number, budgetBytes: number = memoryBudgetBytes()): boolean {
  return perImageBytes > 0 && perImageBytes * 32 <= budgetBytes;
}

/**
 * Largest single array (bytes) a reader may allocate, or a decompression may produce: a
 * quarter of the budget (an image is decoded, converted to float32 and preprocessed, and
 * several are held at once).
 */
export function maxArrayBytes(env: NodeJS.ProcessEnv = process.env): number {
  return Math.floor(memoryBudgetBytes(env) / 4);
}

export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GB`;
  if (n >= MB) return `${(n / MB).toFixed(0)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${n} bytes`;
}

/**
 * Throws a LensError when `bytes` (what `what` in `file` would need) is over the budget.
 * `kind`: 'data' for dataset files (exit 2), 'model' for model files (exit 3).
 */
export function checkAllocation(bytes: number, what: string, file: string, kind: 'data' | 'model' | 'dataset' = 'data', limit = maxArrayBytes()): void {
  if (!Number.isFinite(bytes) || bytes < 0 || bytes > limit) {
    throw new LensError(
      `${file}: ${what} needs ${Number.isFinite(bytes) ? formatBytes(bytes) : 'an impossible amount of memory'}, over the limit of ${formatBytes(limit)} ` +
        `(set by unetLens.workerMemoryMB / UNET_LENS_MEMORY_MB); refusing to read it`,
      kind,
      file,
    );
  }
}

/** Product of dims, checked: every dim a whole number ≥ 0 and the product a safe integer. */
export function checkedProduct(dims: readonly number[], file: string, what: string, kind: 'data' | 'model' = 'data'): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new LensError(`${file}: ${what} declares an impossible dimension ${d} (dims ${dims.join('×')})`, kind, file);
    n *= d;
    if (!Number.isSafeInteger(n)) throw new LensError(`${file}: ${what} declares ${dims.join('×')} values, more than can be addressed`, kind, file);
  }
  return n;
}

/** What a non-regular file is, for messages. */
function nodeKind(st: fs.Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Checks that `file` (symbolic links followed) is a regular file; returns its stats.
 * Throws LensError(kind) naming the file and what it is instead.
 */
export function requireRegularFile(file: string, kind: 'data' | 'model' | 'dataset' | 'args', what = 'file'): fs.Stats {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new LensError(`${file}: ${what} ${code === 'ENOENT' ? 'not found' : `cannot be read (${code ?? (e as Error).message})`}`, kind, file);
  }
  if (!st.isFile()) throw new LensError(`${file}: the ${what} is ${nodeKind(st)}, not a regular file; only regular files are read`, kind, file);
  return st;
}

function openError(e: unknown, file: string, kind: 'data' | 'model' | 'dataset', what: string): LensError {
  const code = (e as NodeJS.ErrnoException).code;
  const st = (() => {
    try {
      return fs.statSync(file);
    } catch {
      return undefined;
    }
  })();
  if (st && !st.isFile()) return new LensError(`${file}: the ${what} is ${nodeKind(st)}, not a regular file; only regular files are read`, kind, file);
  return new LensError(`${file}: ${what} ${code === 'ENOENT' ? 'not found' : `cannot be read (${code ?? (e as Error).message})`}`, kind, file);
}

/**
 * Reads a whole regular file with a size limit. Opens without blocking (O_NONBLOCK: a FIFO
 * does not wait for a writer), checks the open file is regular and its size within `limit`,
 * then reads. Race-free: the checks are on the opened descriptor.
 */
export function readRegularFile(file: string, kind: 'data' | 'model' | 'dataset', what = 'file', limit = maxArrayBytes()): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    throw openError(e, file, kind, what);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new LensError(`${file}: the ${what} is ${nodeKind(st)}, not a regular file; only regular files are read`, kind, file);
    checkAllocation(st.size, `the ${what} (${formatBytes(st.size)} on disk)`, file, kind, limit);
    const buf = Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < st.size) {
      const n = fs.readSync(fd, buf, off, st.size - off, off);
      if (n === 0) break;
      off += n;
    }
    return off === st.size ? buf : buf.subarray(0, off);
  } finally {
    fs.closeSync(fd);
  }
}

/** Async variant of readRegularFile (same checks). */
export async function readRegularFileAsync(file: string, kind: 'data' | 'model' | 'dataset', what = 'file', limit = maxArrayBytes()): Promise<Buffer> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    throw openError(e, file, kind, what);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new LensError(`${file}: the ${what} is ${nodeKind(st)}, not a regular file; only regular files are read`, kind, file);
    checkAllocation(st.size, `the ${what} (${formatBytes(st.size)} on disk)`, file, kind, limit);
    const buf = Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < st.size) {
      const { bytesRead } = await fh.read(buf, off, st.size - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    return off === st.size ? buf : buf.subarray(0, off);
  } finally {
    await fh.close();
  }
}

/**
 * Resolves `rel` against `dir` and checks it stays inside `dir` (after following symbolic
 * links of both): a weight or external-data path of a model must not leave the model's
 * folder. Throws LensError(kind 'model').
 */
export function confinedPath(dir: string, rel: string, modelFile: string, what: string): string {
  if (typeof rel !== 'string' || rel === '' || rel.includes('\0') || path.isAbsolute(rel)) {
    throw new LensError(`${modelFile}: ${what} ${JSON.stringify(rel)} is not a relative path inside the model's folder`, 'model', modelFile);
  }
  const abs = path.resolve(dir, rel);
  const inside = (root: string, p: string) => p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
  if (!inside(path.resolve(dir), abs)) {
    throw new LensError(`${modelFile}: ${what} ${JSON.stringify(rel)} points outside the model's folder ${dir}; refusing to read it`, 'model', modelFile);
  }
  let real: string;
  try {
    real = fs.realpathSync(abs);
  } catch {
    return abs; // missing: the reader says so
  }
  const realDir = fs.realpathSync(dir);
  if (!inside(realDir, real)) {
    throw new LensError(`${modelFile}: ${what} ${JSON.stringify(rel)} is a link to ${real}, outside the model's folder; refusing to read it`, 'model', modelFile);
  }
  return abs;
}
