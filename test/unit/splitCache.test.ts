/**
 * The per-split cache's store (src/engine/pipeline/splitCache.ts) on a temp folder: keys,
 * what an entry keeps, unreadable entries, the size bound, and a split's stamps. The cache in
 * the pipeline (the same results, only new splits through the model) is
 * test/integration/splitCache.test.ts.
 * Run: node --import tsx --test test/unit/splitCache.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openSplitCache, splitStamps } from '../../src/engine/pipeline/splitCache';
import type { DatasetConfig } from '../../src/engine/types';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'unetlens-splitcache-'));

test('keys: the same run and parts give the same key whatever the key order; every part, the kind and the run change it', () => {
  const dir = tmp();
  const a = openSplitCache(dir, { model: 'm', settings: { k: 10, seed: 0 } }, () => undefined)!;
  const b = openSplitCache(dir, { settings: { seed: 0, k: 10 }, model: 'm' }, () => undefined)!;
  const c = openSplitCache(dir, { model: 'm', settings: { k: 10, seed: 1 } }, () => undefined)!;
  const parts = { si: 1, split: { name: 'test', files: 'abc' } };
  assert.equal(a.key('split', parts), b.key('split', { split: { files: 'abc', name: 'test' }, si: 1 }));
  assert.match(a.key('split', parts), /^[0-9a-f]{64}$/);
  const keys = [a.key('split', parts), a.key('sweep', parts), a.key('split', { ...parts, si: 2 }), a.key('split', { ...parts, split: { name: 'test', files: 'abd' } }), c.key('split', parts)];
  assert.equal(new Set(keys).size, keys.length);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('an entry keeps typed arrays, NaN, null and nesting as they were; a missing key is null', () => {
  const dir = tmp();
  const cache = openSplitCache(dir, {}, () => undefined)!;
  const value = { points: new Float32Array([1.5, NaN, -0]), idx: new Int32Array([3, -1]), d: new Float64Array([Math.PI]), m: { x: null, y: [NaN, Infinity], s: 'é' } };
  const k = cache.key('split', { n: 1 });
  assert.equal(cache.get(k), null);
  cache.put(k, value);
  const back = cache.get<typeof value>(k)!;
  assert.ok(back.points instanceof Float32Array && back.idx instanceof Int32Array && back.d instanceof Float64Array);
  assert.deepEqual(back, value);
  assert.ok(Object.is(back.points[2], -0));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('an unreadable entry is a miss: logged, removed', () => {
  const dir = tmp();
  const log: string[] = [];
  const cache = openSplitCache(dir, {}, (m) => log.push(m))!;
  const k = cache.key('split', {});
  fs.writeFileSync(path.join(dir, `${k}.v8`), 'garbage');
  assert.equal(cache.get(k), null);
  assert.ok(!fs.existsSync(path.join(dir, `${k}.v8`)));
  assert.match(log.join('\n'), new RegExp(`${k}\\.v8 unreadable`));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the size bound: least recently used entries go first (a read counts as a use); an entry over a quarter of the bound is not kept', () => {
  const dir = tmp();
  const log: string[] = [];
  const cache = openSplitCache(dir, {}, (m) => log.push(m), 10_000)!;
  const blob = (n: number) => new Float64Array(n); // 8n bytes plus a small header
  const [k1, k2, k3, k4] = [1, 2, 3, 4].map((i) => cache.key('split', { i }));
  const age = (k: string, s: number) => fs.utimesSync(path.join(dir, `${k}.v8`), new Date(Date.now() - s * 1000), new Date(Date.now() - s * 1000));
  cache.put(k1, blob(250));
  age(k1, 30);
  cache.put(k2, blob(250));
  age(k2, 20);
  cache.put(k3, blob(250));
  age(k3, 10);
  assert.ok(cache.get(k1), 'k1 read: now the most recently used');
  cache.put(k4, blob(250)); // 4 × ~2 KB > 10 KB? no: ~8 KB, all kept
  assert.deepEqual([k1, k2, k3, k4].map((k) => !!cache.get(k)), [true, true, true, true]);
  age(k2, 40);
  age(k3, 30);
  age(k4, 20);
  const k5 = cache.key('split', { i: 5 });
  cache.put(k5, blob(250)); // ~10.1 KB: the least recently used (k2) goes
  const present = [k1, k2, k3, k4, k5].map((k) => fs.existsSync(path.join(dir, `${k}.v8`)));
  assert.deepEqual(present, [true, false, true, true, true]);
  const big = cache.key('split', { big: true });
  cache.put(big, blob(400)); // 3.2 KB > 10 KB / 4
  assert.equal(cache.get(big), null);
  assert.match(log.join('\n'), /over a quarter of the cache/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a folder that cannot be made: null, logged', () => {
  const dir = tmp();
  const file = path.join(dir, 'f');
  fs.writeFileSync(file, 'x');
  const log: string[] = [];
  assert.equal(openSplitCache(file, {}, (m) => log.push(m)), null);
  assert.match(log[0], /cannot be made/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('splitStamps: a split\'s files (size, mtime), its paths and its ids; a file added, touched or grown changes them', async () => {
  const dir = tmp();
  const images = path.join(dir, 'images');
  fs.mkdirSync(images);
  fs.writeFileSync(path.join(images, 'a.png'), 'aaaa');
  const cfg = { splits: [{ name: 'site', images }] } as unknown as DatasetConfig;
  const src = { name: 'site', labeled: false, ids: ['a'] };
  const s0 = JSON.stringify(await splitStamps(cfg, src));
  assert.equal(JSON.stringify(await splitStamps(cfg, src)), s0);
  assert.notEqual(JSON.stringify(await splitStamps(cfg, { ...src, ids: ['b'] })), s0, 'other ids');
  const later = new Date(Date.now() + 10_000);
  fs.utimesSync(path.join(images, 'a.png'), later, later);
  const s1 = JSON.stringify(await splitStamps(cfg, src));
  assert.notEqual(s1, s0, 'touched');
  fs.writeFileSync(path.join(images, 'b.png'), 'b');
  const s2 = JSON.stringify(await splitStamps(cfg, src));
  assert.notEqual(s2, s1, 'a file added');
  fs.rmSync(dir, { recursive: true, force: true });
});
