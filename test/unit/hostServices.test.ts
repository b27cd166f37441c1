/**
 * Extension-host services that run without VS Code: streamed hashing, the results cache
 * and its index, the data fingerprint, the keyed debouncer.
 */
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync, utimesSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileHasher, sha256File } from '../../src/host/hash';
import { cacheKey, canonicalJson, dataFingerprint, ResultsCache, type CacheKeyParts } from '../../src/host/resultsCache';
import { KeyedDebouncer } from '../../src/host/debounce';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'unetlens-host-'));

test('sha256File streams and agrees with a one-shot digest; FileHasher remembers until the file changes', async () => {
  const dir = tmp();
  try {
    const f = path.join(dir, 'm.onnx');
    const bytes = Buffer.alloc(3 * (1 << 20) + 17, 7);
    writeFileSync(f, bytes);
    const want = createHash('sha256').update(bytes).digest('hex');
    assert.equal(await sha256File(f), want);
    const hasher = new FileHasher();
    assert.equal(await hasher.sha256(f), want);
    writeFileSync(f, Buffer.from('changed'));
    utimesSync(f, new Date(), new Date(Date.now() + 5000));
    assert.equal(await hasher.sha256(f), createHash('sha256').update('changed').digest('hex'));
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(sha256File(f, ac.signal));
    await assert.rejects(sha256File(path.join(dir, 'missing.onnx')), /ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('canonicalJson and cacheKey: key order does not matter, every part does', () => {
  assert.equal(canonicalJson({ b: 1, a: [1, { d: 2, c: null }], u: undefined }), '{"a":[1,{"c":null,"d":2}],"b":1}');
  const parts: CacheKeyParts = {
    modelSha256: 'm',
    datasetSha256: 'd',
    dataFingerprint: 'f',
    settings: { maxPoints: 512, seed: 1 },
    methodVersion: '1',
    toolVersion: '0.1.0',
  };
  const k = cacheKey(parts);
  assert.match(k, /^[0-9a-f]{64}$/);
  assert.equal(cacheKey({ ...parts, settings: { seed: 1, maxPoints: 512 } }), k);
  for (const change of [
    { modelSha256: 'm2' },
    { datasetSha256: 'd2' },
    { dataFingerprint: 'f2' },
    { settings: { maxPoints: 1024, seed: 1 } },
    { methodVersion: '2' },
    { toolVersion: '0.2.0' },
  ]) {
    assert.notEqual(cacheKey({ ...parts, ...change }), k, JSON.stringify(change));
  }
});

test('ResultsCache: record, lookup, a vanished folder is a miss, LRU eviction removes folders', async () => {
  const root = tmp();
  try {
    const cache = new ResultsCache(root, 2);
    assert.equal(await cache.lookup('nope'), undefined);
    const put = async (key: string) => {
      const dir = cache.dirFor(key);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'results.json'), `{"key":"${key}"}`);
      return cache.record({ key, modelPath: `/m/${key}.onnx`, datasetPath: '/d/unetlens.json', modelSha256: key, datasetSha256: 'd', settings: {} });
    };
    const k1 = 'a'.repeat(64);
    const k2 = 'b'.repeat(64);
    const k3 = 'c'.repeat(64);
    await put(k1);
    const hit = await cache.lookup(k1);
    assert.ok(hit);
    assert.equal(hit.resultsPath, path.join(root, k1.slice(0, 16), 'results.json'));
    assert.equal(hit.entry.modelPath, `/m/${k1}.onnx`);
    const index = JSON.parse(readFileSync(path.join(root, 'index.json'), 'utf8'));
    assert.equal(index.version, 1);
    assert.deepEqual(Object.keys(index.entries), [k1]);

    await new Promise((r) => setTimeout(r, 5));
    await put(k2);
    await new Promise((r) => setTimeout(r, 5));
    await cache.lookup(k1); // k1 used after k2: k2 is now the least recently used
    await new Promise((r) => setTimeout(r, 5));
    await put(k3);
    assert.ok(await cache.lookup(k1));
    assert.ok(await cache.lookup(k3));
    assert.equal(await cache.lookup(k2), undefined);
    assert.ok(!existsSync(cache.dirFor(k2)), 'the evicted folder is removed');

    rmSync(cache.dirFor(k3), { recursive: true, force: true });
    assert.equal(await cache.lookup(k3), undefined, 'results gone: a miss');
    assert.ok(!(k3 in (await cache.readIndex()).entries), 'and the entry is dropped');

    writeFileSync(path.join(root, 'index.json'), '{ not json');
    assert.equal(await cache.lookup(k1), undefined, 'an unreadable index is an empty cache');
    await put(k1);
    assert.ok(await cache.lookup(k1), 'and is rewritten');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('ResultsCache.latestFor: the newest analysis of a model file, whatever its dataset; gone folders passed over; onRecorded tells of each entry', async () => {
  const root = tmp();
  try {
    const cache = new ResultsCache(root, 10);
    const told: string[] = [];
    const sub = cache.onRecorded((e) => told.push(e.key.slice(0, 1)));
    const put = async (key: string, model: string, dataset: string) => {
      mkdirSync(cache.dirFor(key), { recursive: true });
      writeFileSync(path.join(cache.dirFor(key), 'results.json'), '{}');
      await new Promise((r) => setTimeout(r, 5));
      return cache.record({ key, modelPath: model, datasetPath: dataset, modelSha256: key, datasetSha256: 'd', settings: {} });
    };
    assert.equal(await cache.latestFor('/m/a.onnx'), undefined);
    await put('a'.repeat(64), '/m/a.onnx', '/d/one.unetlens.json');
    await put('b'.repeat(64), '/m/a.onnx', '/d/two.unetlens.json');
    await put('c'.repeat(64), '/m/other.onnx', '/d/one.unetlens.json');
    assert.deepEqual(told, ['a', 'b', 'c']);
    sub.dispose();
    await put('d'.repeat(64), '/m/other.onnx', '/d/one.unetlens.json');
    assert.deepEqual(told, ['a', 'b', 'c'], 'not told once disposed');
    const newest = await cache.latestFor('/m/a.onnx');
    assert.equal(newest?.entry.datasetPath, '/d/two.unetlens.json');
    assert.equal(newest?.resultsPath, path.join(cache.dirFor('b'.repeat(64)), 'results.json'));
    const usedBefore = (await cache.readIndex()).entries['b'.repeat(64)].usedAt;
    rmSync(cache.dirFor('b'.repeat(64)), { recursive: true, force: true });
    assert.equal((await cache.latestFor('/m/a.onnx'))?.entry.datasetPath, '/d/one.unetlens.json', 'the gone one passed over');
    assert.ok('b'.repeat(64) in (await cache.readIndex()).entries, 'read only: nothing dropped');
    assert.equal(usedBefore, (await cache.readIndex()).entries['b'.repeat(64)].usedAt, 'nor marked used');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('dataFingerprint changes when an image is added or rewritten, not otherwise', async () => {
  const dir = tmp();
  try {
    mkdirSync(path.join(dir, 'data/train/images'), { recursive: true });
    mkdirSync(path.join(dir, 'data/train/masks'), { recursive: true });
    writeFileSync(path.join(dir, 'data/train/images/a.png'), 'a');
    writeFileSync(path.join(dir, 'data/train/masks/a.png'), 'a');
    const ds = path.join(dir, 'unetlens.json');
    writeFileSync(ds, JSON.stringify({ splits: { train: { images: 'data/train/images', labels: 'data/train/masks' }, x: { images: 'nowhere' } } }));
    const f1 = await dataFingerprint(ds);
    assert.equal(await dataFingerprint(ds), f1);
    writeFileSync(path.join(dir, 'data/train/images/b.png'), 'b');
    const f2 = await dataFingerprint(ds);
    assert.notEqual(f2, f1);
    writeFileSync(path.join(dir, 'data/train/images/b.png'), 'bb');
    assert.notEqual(await dataFingerprint(ds), f2);
    writeFileSync(ds, '{ broken');
    assert.equal(await dataFingerprint(ds), 'unreadable');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('KeyedDebouncer: one call per key after it has been quiet', () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const calls: string[] = [];
    const d = new KeyedDebouncer<string>(1000, (k) => calls.push(k));
    d.trigger('a');
    mock.timers.tick(600);
    d.trigger('a');
    d.trigger('b');
    mock.timers.tick(600);
    assert.deepEqual(calls, []);
    assert.ok(d.pending('a'));
    mock.timers.tick(400);
    assert.deepEqual(calls, ['a', 'b']);
    d.trigger('c');
    d.cancel('c');
    mock.timers.tick(2000);
    assert.deepEqual(calls, ['a', 'b']);
    d.trigger('d');
    d.dispose();
    mock.timers.tick(2000);
    assert.deepEqual(calls, ['a', 'b']);
  } finally {
    mock.timers.reset();
  }
});
