/**
 * The per-split cache (issue 12, "no work done twice"): what one split's pass left in the
 * results, kept on disk so that the next run of the same model and settings measures only
 * the splits that are new or changed.
 *
 * ## What is kept, and under which key
 *
 * - **A split** (train included): its `results.splits` entry, its metrics, its PCA rows and
 *   maps, the warnings its pass and metrics gave, and, for an unlabelled split the sweep reads,
 *   its sweep measure (sweep.ts `SharedMeasure`). Train's entry also keeps the train reference
 *   of every tap (trainReference.ts: the points, their leave-one-out neighbours, the PCA basis)
 *   and how the output was read (`model.activation`), so a later split is measured against
 *   exactly the reference it would have had.
 * - **The sweep's copies**: every shifted copy's and every unshifted half's measure, and the
 *   warnings they gave. The unlabelled splits are not part of it: a new unlabelled split runs
 *   through the model once, the copies are read back.
 *
 * The key of an entry is the SHA-256 of canonical JSON of everything its values depend on:
 * the build (the running bundle's size and mtime), the run (tool and method versions, the
 * onnxruntime or TF.js backend, the model file's SHA-256 and its taps, every resolved
 * setting, the dataset file's task, classes, input and model blocks), train's stamps (the
 * reference), the split's own stamps (its config paths, the size and mtime of every file under
 * them, its item ids) and its place (the split index seeds its samplers; the unlabelled index
 * seeds its sweep sample). So a changed image, a changed setting or another model misses, and
 * a split appended to the dataset file runs alone. A split that moves in the file misses too.
 *
 * ## Files
 *
 *   <dir>/<key>.v8   one entry, `v8.serialize` of its value (typed arrays and NaN kept as they
 *                    are), written to a temp file and renamed, read back with `v8.deserialize`.
 *
 * An entry that cannot be read is a miss (and removed). After each write the folder is kept
 * under `maxBytes`, least recently used entries first (a read touches its entry). An entry
 * larger than a quarter of `maxBytes` is not written (logged). The cache never holds a user
 * file: it lives where the caller puts it (the extension's storage, or the CLI's `--cache`).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import type { DatasetConfig } from '../types';
import type { SplitSource } from '../data/splits';
import { canonicalJson, pathStamps, splitPathFile } from '../data/stamps';

/** Bump when what an entry holds changes shape. */
const CACHE_FORMAT = 1;
/** Default size bound of the cache folder. */
export const SPLIT_CACHE_MAX_BYTES = 2 * 1024 ** 3;

export interface SplitCache {
  /** The key of an entry: the run's parts plus these. */
  key(kind: string, parts: unknown): string;
  get<T>(key: string): T | null;
  put(key: string, value: unknown): void;
  /** What the run reused and measured, for the log. */
  readonly stats: { hits: string[]; misses: string[] };
}

/**
 * The build that computes: the size and mtime of the file this code runs from (the bundle,
 * dist/worker.js or dist/cli.js; this source file under tsx), so that a new build of the engine
 * never reads what an older one measured, even with the same version numbers.
 */
function buildStamp(): string {
  try {
    const st = fs.statSync(__filename);
    return `${st.size}:${Math.round(st.mtimeMs)}`;
  } catch {
    return 'unknown';
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * A split's own stamps: its config (paths, cases), the files under its paths, its item ids.
 * `walked` (one per run) keeps each split's files hash, so a folder is walked once per run
 * (train's and the calibration splits' are asked for again by later keys).
 */
export async function splitStamps(cfg: DatasetConfig, src: Pick<SplitSource, 'name' | 'labeled' | 'ids'>, walked = new Map<string, Promise<string>>()): Promise<unknown> {
  const sc = cfg.splits.find((s) => s.name === src.name);
  const roots = sc ? [sc.images, ...(sc.labels ? [sc.labels] : [])].map(splitPathFile) : [];
  const key = roots.join('\n');
  if (!walked.has(key)) walked.set(key, pathStamps(roots).then((lines) => sha256(lines.join('\n'))));
  return {
    name: src.name,
    labeled: src.labeled,
    images: sc?.images ?? null,
    labels: sc?.labels ?? null,
    cases: sc?.cases ?? null,
    ids: src.ids,
    files: await walked.get(key),
  };
}

/**
 * The cache in `dir` for one run (`run`: what every entry depends on, canonical JSON of it is
 * hashed into every key); null when the folder cannot be made (logged, the run goes on uncached).
 */
export function openSplitCache(dir: string, run: unknown, log: (m: string) => void, maxBytes = SPLIT_CACHE_MAX_BYTES): SplitCache | null {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    log(`split cache: ${dir} cannot be made (${(e as Error).message}); running without it`);
    return null;
  }
  const runText = canonicalJson({ format: CACHE_FORMAT, node: process.versions.v8, build: buildStamp(), run });
  const file = (key: string) => path.join(dir, `${key}.v8`);
  const stats = { hits: [] as string[], misses: [] as string[] };
  const prune = () => {
    let entries: { f: string; size: number; used: number }[] = [];
    try {
      entries = fs
        .readdirSync(dir)
        .filter((n) => n.endsWith('.v8') || n.includes('.v8.tmp-'))
        .map((n) => {
          const f = path.join(dir, n);
          const st = fs.statSync(f);
          return { f, size: st.size, used: st.mtimeMs };
        });
    } catch {
      return;
    }
    let total = entries.reduce((a, e) => a + e.size, 0);
    entries.sort((a, b) => a.used - b.used);
    for (const e of entries) {
      if (total <= maxBytes) break;
      try {
        fs.rmSync(e.f, { force: true });
        total -= e.size;
      } catch {
        /* another run holds it: left */
      }
    }
  };
  return {
    stats,
    key: (kind, parts) => sha256(`${runText}\n${kind}\n${canonicalJson(parts)}`),
    get<T>(key: string): T | null {
      const f = file(key);
      let buf: Buffer;
      try {
        buf = fs.readFileSync(f);
      } catch {
        return null;
      }
      try {
        const v = v8.deserialize(buf) as { format: number; value: T };
        if (v?.format !== CACHE_FORMAT) throw new Error('another format');
        const now = new Date();
        fs.utimesSync(f, now, now);
        return v.value;
      } catch (e) {
        log(`split cache: ${path.basename(f)} unreadable (${(e as Error).message}); measured again`);
        fs.rmSync(f, { force: true });
        return null;
      }
    },
    put(key: string, value: unknown): void {
      try {
        const buf = v8.serialize({ format: CACHE_FORMAT, value });
        if (buf.length > maxBytes / 4) {
          log(`split cache: an entry of ${(buf.length / 1024 ** 2).toFixed(0)} MB is over a quarter of the cache's ${(maxBytes / 1024 ** 2).toFixed(0)} MB; not kept`);
          return;
        }
        const tmp = `${file(key)}.tmp-${process.pid}-${Date.now()}`;
        fs.writeFileSync(tmp, buf);
        fs.renameSync(tmp, file(key));
        prune();
      } catch (e) {
        log(`split cache: could not write an entry (${(e as Error).message}); the run goes on`);
      }
    },
  };
}
