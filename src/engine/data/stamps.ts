/**
 * What identifies data on disk without reading it: JSON with sorted keys (equal values, equal
 * text) and the stamps (path, size, mtime) of the files under some roots. The host's results
 * cache (host/resultsCache.ts) and the engine's per-split cache (pipeline/splitCache.ts) key on
 * them. Pure Node.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

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

/**
 * One line per file under `roots` (folders walked to depth 4, dot-files skipped, names sorted):
 * `path\tsize\tmtime` (ms, rounded), or `path\tmissing`; at most `limit` files.
 */
export async function pathStamps(roots: readonly string[], limit = 200_000): Promise<string[]> {
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
  return lines;
}

/** The file a split path names: `data.npz#member` is data.npz. */
export function splitPathFile(p: string): string {
  return p.replace(/^(.*\.npz)#[^/\\]*$/i, '$1');
}
