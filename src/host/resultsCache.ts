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
 * beyond `maxEntries` are evicted with their folders.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { sha256Text } from './hash';

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

/** JSON with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

export function cacheKey(parts: CacheKeyParts): string {
  return sha256Text(canonicalJson({ ...parts, v: 1 }));
}

export class ResultsCache {
  private readonly indexFile: string;
  /** Serialises index updates within this process. */
  private chain: Promise<unknown> = Promise.resolve();

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

  /** The cached results of a key (their results.json path), or undefined. Marks the entry used. */
  async lookup(key: string): Promise<{ entry: CacheEntry; resultsPath: string } | undefined> {
    const index = await this.readIndex();
    const entry = index.entries[key];
    if (!entry) return undefined;
    const resultsPath = path.join(this.root, entry.dir, 'results.json');
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
    for (const g of evicted) if (!kept.has(g.dir)) await fs.rm(path.join(this.root, g.dir), { recursive: true, force: true });
    return entry;
  }

  /** Drops a key (its folder too). */
  async remove(key: string): Promise<void> {
    const entry = await this.update((ix) => {
      const x = ix.entries[key];
      delete ix.entries[key];
      return x;
    });
    if (entry) await fs.rm(path.join(this.root, entry.dir), { recursive: true, force: true });
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
    for (const p of [sp?.images, sp?.labels]) if (typeof p === 'string') roots.push(path.resolve(base, p));
  }
  const lines: string[] = [];
  let count = 0;
  const walk = async (p: string, depth: number): Promise<void> => {
    if (count >= limit) return;
    const st = await fs.stat(p).catch(() => undefined);
    if (!st) {
      lines.push(`${p}\tmissing`);
      return;
    }
    if (st.isFile()) {
      count++;
      lines.push(`${p}\t${st.size}\t${Math.round(st.mtimeMs)}`);
      return;
    }
    if (!st.isDirectory() || depth > 4) return;
    const names = (await fs.readdir(p).catch(() => [] as string[])).sort();
    for (const n of names) {
      if (n.startsWith('.')) continue;
      await walk(path.join(p, n), depth + 1);
      if (count >= limit) break;
    }
  };
  for (const r of [...new Set(roots)].sort()) await walk(r, 0);
  return sha256Text(lines.join('\n'));
}
