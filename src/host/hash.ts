/**
 * SHA-256 of files, streamed (models can be gigabytes: never read whole into memory), with
 * a small memo keyed by (path, size, mtime) so an unchanged file is not read twice.
 * Pure Node (no `vscode`). The digest is the same as `results.model.sha256`, which the
 * engine takes of the model file's bytes.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';

export function sha256File(file: string, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('hashing cancelled'));
    const hash = createHash('sha256');
    const stream = createReadStream(file, { highWaterMark: 1 << 20 });
    const onAbort = () => stream.destroy(new Error('hashing cancelled'));
    signal?.addEventListener('abort', onAbort, { once: true });
    stream.on('data', (chunk) => hash.update(chunk));
    stream.on('error', (e) => {
      signal?.removeEventListener('abort', onAbort);
      reject(e);
    });
    stream.on('end', () => {
      signal?.removeEventListener('abort', onAbort);
      resolve(hash.digest('hex'));
    });
  });
}

export function sha256Text(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

interface Memo {
  size: number;
  mtimeMs: number;
  sha256: string;
}

/** Hashes files, remembering the digest of each path until its size or mtime changes. */
export class FileHasher {
  private memo = new Map<string, Memo>();
  constructor(private readonly maxEntries = 64) {}

  async sha256(file: string, signal?: AbortSignal): Promise<string> {
    const st = await fs.stat(file);
    // A FIFO would never end (and hold a thread), a device neither: regular files only.
    if (!st.isFile()) throw new Error(`${file} is not a regular file`);
    const known = this.memo.get(file);
    if (known && known.size === st.size && known.mtimeMs === st.mtimeMs) return known.sha256;
    const sha256 = await sha256File(file, signal);
    // The file may have changed while it was read: only remember a stable result.
    const after = await fs.stat(file).catch(() => undefined);
    if (after && after.size === st.size && after.mtimeMs === st.mtimeMs) {
      this.memo.delete(file);
      this.memo.set(file, { size: st.size, mtimeMs: st.mtimeMs, sha256 });
      while (this.memo.size > this.maxEntries) this.memo.delete(this.memo.keys().next().value as string);
    }
    return sha256;
  }

  forget(file: string): void {
    this.memo.delete(file);
  }
}
