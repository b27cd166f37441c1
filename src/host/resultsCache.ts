/**
 * The results cache: one folder of results per (model sha256, dataset-file sha256, data
 * listing, effective settings, method and tool version), in the extension's workspace
 * storage, and a small index file that maps each key to its folder. Re-running the same
 * analysis shows the cached results at once.
 *
 *   <root>/index.json          { "version": 1, "entries": { "<key>": CacheEntry } }
 *   <root>/<key[0:16]>/        results.json, report.html (written by the worker)
 *
 * Pure Node (no `vscode`): the unit tests drive it on a temp folder. The index is written
 * atomically (temp file + rename); a missing or unreadable index is an empty cache, and an
 * entry whose results.json is gone is dropped on lookup. Least recently used entries
 * beyond `maxEntries` are evicted with their folders, and each record sweeps what the index
 * no longer knows (orphaned key folders, old temp files, all but the newest few
 * `uncached/<hash>` folders). An entry's `dir` is used only when it is a key folder name.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { sha256Text } from './hash';
import { canonicalJson, pathStamps, splitPathFile } from '../engine/data/stamps';

export interface CacheKeyParts {
  modelSha256: string;
  datasetSha256: string;
  /** Fingerprint of the files the dataset file points at (names, sizes, mtimes). */
  dataFingerprint: string;
  /** Settings that change the results (overrides of the dataset file's `analysis`). */
  settings: Record<string, unknown>;
  methodVersion: string;
  toolVersion: string;
}

export interface CacheEntry {
  key: string;
  /** Folder of the results, relative to the cache root. */
  dir: string;
  modelPath: string;
  datasetPath: string;
  modelSha256: string;
  datasetSha256: string;
  settings: Record<string, unknown>;
  createdAt: string;
  usedAt: string;
}

interface CacheIndex {
  version: 1;
  entries: Record<string, CacheEntry>;
}

export { canonicalJson };

export function cacheKey(parts: CacheKeyParts): string {
  return sha256Text(canonicalJson({ ...parts, v: 1 }));
}

/** A key folder's name: the first 16 hex digits of the key. */
const DIR_RE = /^[0-9a-f]{16}$/;
/** Folders of analyses without a cache key (`uncached/<hash>`) kept, newest first. */
const KEEP_UNCACHED = 4;
/** Age after which an unreferenced folder or temp file in the cache is an orphan (a worker may be writing a newer one). */
const ORPHAN_AGE_MS = 60 * 60 * 1000;

export class ResultsCache {
  private readonly indexFile: string;
  /** Serialises index updates within this process. */
  private chain: Promise<unknown> = Promise.resolve();
  /** Told of every entry recorded (the model page shows the newest analysis of its file). */
  private readonly recorded = new Set<(entry: CacheEntry) => void>();

  constructor(
    readonly root: string,
    private readonly maxEntries = 20,
  ) {
    this.indexFile = path.join(root, 'index.json');
  }

  /** Folder for a key's results (created by the worker when it writes them). */
  dirFor(key: string): string {
    return path.join(this.root, key.slice(0, 16));
  }

  /**
   * The folder of an index entry, or undefined when its `dir` is not one this cache makes
   * (16 hex digits, directly under the root): index.json is a file on disk, and what it says
   * never steers a recursive delete or a read outside the cache.
   */
  private entryDir(entry: CacheEntry | undefined): string | undefined {
    const dir = entry?.dir;
    return typeof dir === 'string' && DIR_RE.test(dir) ? path.join(this.root, dir) : undefined;
  }

  async readIndex(): Promise<CacheIndex> {
    try {
      const raw = JSON.parse(await fs.readFile(this.indexFile, 'utf8')) as Partial<CacheIndex>;
      if (raw?.version === 1 && raw.entries && typeof raw.entries === 'object') return { version: 1, entries: raw.entries };
    } catch {
      /* missing or unreadable: an empty cache */
    }
    return { version: 1, entries: {} };
  }

  private async writeIndex(index: CacheIndex): Promise<void> {
    await fs.mkdir(this.root, { recursive: true });
    const tmp = `${this.indexFile}.${process.pid}.${Date.now()}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(index, null, 1), 'utf8');
    await fs.rename(tmp, this.indexFile);
  }

  private update<T>(fn: (index: CacheIndex) => Promise<T> | T): Promise<T> {
    const run = this.chain.then(async () => {
      const index = await this.readIndex();
      const out = await fn(index);
      await this.writeIndex(index);
      return out;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /**
   * The newest cached results of a model file (any dataset file and settings), or undefined:
   * read only (nothing marked used, nothing deleted); an entry whose folder or results.json is
   * gone is passed over.
   */
  async latestFor(modelPath: string): Promise<{ entry: CacheEntry; resultsPath: string } | undefined> {
    const index = await this.readIndex();
    const mine = Object.values(index.entries)
      .filter((e) => e && e.modelPath === modelPath)
      .sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
    for (const entry of mine) {
      const dir = this.entryDir(entry);
      if (!dir) continue;
      const resultsPath = path.join(dir, 'results.json');
      if (await fs.stat(resultsPath).then((s) => s.isFile(), () => false)) return { entry, resultsPath };
    }
    return undefined;
  }

  /** The cached results of a key (their results.json path), or undefined. Marks the entry used. */
  async lookup(key: string): Promise<{ entry: CacheEntry; resultsPath: string } | undefined> {
    const index = await this.readIndex();
    const entry = Object.prototype.hasOwnProperty.call(index.entries, key) ? index.entries[key] : undefined;
    if (!entry) return undefined;
    const dir = this.entryDir(entry);
    if (!dir) {
      await this.update((ix) => {
        delete ix.entries[key];
      });
      return undefined;
    }
    const resultsPath = path.join(dir, 'results.json');
    const exists = await fs.stat(resultsPath).then((s) => s.isFile(), () => false);
    if (!exists) {
      await this.update((ix) => {
        delete ix.entries[key];
      });
      return undefined;
    }
    await this.update((ix) => {
      if (ix.entries[key]) ix.entries[key].usedAt = new Date().toISOString();
    });
    return { entry, resultsPath };
  }

  /** Records the results now in `dirFor(key)`; evicts the least recently used beyond the limit. */
  async record(e: Omit<CacheEntry, 'dir' | 'createdAt' | 'usedAt'>): Promise<CacheEntry> {
    const now = new Date().toISOString();
    const entry: CacheEntry = { ...e, dir: path.basename(this.dirFor(e.key)), createdAt: now, usedAt: now };
    const evicted = await this.update((ix) => {
      ix.entries[e.key] = entry;
      const all = Object.values(ix.entries).sort((a, b) => (a.usedAt < b.usedAt ? 1 : a.usedAt > b.usedAt ? -1 : 0));
      const gone = all.slice(this.maxEntries).filter((x) => x.key !== e.key);
      for (const g of gone) delete ix.entries[g.key];
      return gone;
    });
    const kept = new Set((Object.values((await this.readIndex()).entries) as CacheEntry[]).map((x) => x.dir));
    for (const g of evicted) {
      const dir = this.entryDir(g);
      if (dir && !kept.has(g.dir)) await fs.rm(dir, { recursive: true, force: true });
    }
    await this.sweep().catch(() => undefined);
    for (const fn of this.recorded) {
      try {
        fn(entry);
      } catch {
        /* a listener's failure is its own */
      }
    }
    return entry;
  }

  /** Calls `fn` with every entry recorded from now on, until disposed. */
  onRecorded(fn: (entry: CacheEntry) => void): { dispose(): void } {
    this.recorded.add(fn);
    return { dispose: () => void this.recorded.delete(fn) };
  }

  /**
   * Removes what the index no longer knows: key folders no entry points at, temp files
   * (index.json.*.tmp, results.json.<pid>.tmp in key folders) older than an hour, and all
   * but the newest few `uncached/<hash>` folders. Only names this cache makes are touched.
   */
  async sweep(now = Date.now()): Promise<string[]> {
    const removed: string[] = [];
    const index = await this.readIndex();
    const referenced = new Set(Object.values(index.entries).map((e) => e?.dir));
    const old = async (p: string) => now - (await fs.stat(p)).mtimeMs > ORPHAN_AGE_MS;
    const rm = async (p: string) => {
      await fs.rm(p, { recursive: true, force: true });
      removed.push(p);
    };
    const names = await fs.readdir(this.root).catch(() => [] as string[]);
    for (const n of names) {
      const p = path.join(this.root, n);
      try {
        if (DIR_RE.test(n)) {
          if (!referenced.has(n) && (await old(p))) await rm(p);
          else if (referenced.has(n)) {
            for (const f of await fs.readdir(p)) if (/^(results\.json|report\.html)\..+\.tmp$/.test(f) && (await old(path.join(p, f)))) await rm(path.join(p, f));
          }
        } else if (/^index\.json\.[\d.]+\.tmp$/.test(n)) {
          if (await old(p)) await rm(p);
        } else if (n === 'uncached') {
          const dirs = (await fs.readdir(p)).filter((d) => /^[0-9a-f]{16}$/.test(d));
          const dated = await Promise.all(dirs.map(async (d) => ({ d, t: (await fs.stat(path.join(p, d))).mtimeMs })));
          dated.sort((a, b) => b.t - a.t);
          for (const { d } of dated.slice(KEEP_UNCACHED)) await rm(path.join(p, d));
        }
      } catch {
        /* gone meanwhile, or not ours to remove */
      }
    }
    return removed;
  }

  /** Drops a key (its folder too). */
  async remove(key: string): Promise<void> {
    const entry = await this.update((ix) => {
      const x = Object.prototype.hasOwnProperty.call(ix.entries, key) ? ix.entries[key] : undefined;
      delete ix.entries[key];
      return x;
    });
    const dir = this.entryDir(entry);
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * A fingerprint of the data a dataset file points at: for every split's `images` and
 * `labels` path (relative to the file), the names, sizes and modification times of the
 * files under it (at most `limit` files in all). New, removed or rewritten images change
 * it; the data are not read. A dataset file that cannot be parsed gives a fingerprint of
 * its text only (the worker will report what is wrong with it).
 */
export async function dataFingerprint(datasetPath: string, limit = 200_000): Promise<string> {
  const base = path.dirname(datasetPath);
  let doc: { splits?: Record<string, { images?: unknown; labels?: unknown }> };
  try {
    doc = JSON.parse(await fs.readFile(datasetPath, 'utf8'));
  } catch {
    return 'unreadable';
  }
  const roots: string[] = [];
  for (const sp of Object.values(doc?.splits ?? {})) {
    // `data.npz#member` names a member of data.npz: the file is what changes.
    for (const p of [sp?.images, sp?.labels]) if (typeof p === 'string') roots.push(path.resolve(base, splitPathFile(p)));
  }
  const lines = await pathStamps(roots, limit);
  return sha256Text(lines.join('\n'));
}
