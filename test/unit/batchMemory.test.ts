/**
 * limits.ts `batchForMemory`: images per forward pass under the memory budget (a quarter of it
 * for one batch of activations); `releaseBatch`: a collection after a large batch, when gc is exposed;
 * `analysisProcessEnv`: the allocator settings merged into the caller's environment.
 * Run: node --import tsx --test test/unit/batchMemory.test.ts
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ANALYSIS_PROCESS_ENV, RELEASE_BATCH_BYTES, analysisProcessEnv, arenaFits, batchForMemory, hasAnalysisProcessEnv, releaseBatch } from '../../src/engine/limits';

const MB = 2 ** 20;

describe('batchForMemory', () => {
  it('keeps the batch size when a batch fits in a quarter of the budget', () => {
    assert.equal(batchForMemory(4, 2 * MB, 4096 * MB), 4); // the example: tiny activations
    assert.equal(batchForMemory(4, 80 * MB, 4096 * MB), 4); // 256² UNet, 27 taps: 320 MB a batch
    assert.equal(batchForMemory(4, 256 * MB, 4096 * MB), 4); // exactly a quarter
  });
  it('lowers it to what fits, never below 1', () => {
    assert.equal(batchForMemory(4, 300 * MB, 4096 * MB), 3);
    assert.equal(batchForMemory(4, 1380 * MB, 4096 * MB), 1); // 1024² nested UNet, 64 taps
    assert.equal(batchForMemory(8, 100 * MB, 1024 * MB), 2);
    assert.equal(batchForMemory(4, 5000 * MB, 512 * MB), 1);
  });
  it('whole numbers ≥ 1 whatever it is given', () => {
    assert.equal(batchForMemory(0, MB, 4096 * MB), 1);
    assert.equal(batchForMemory(2.7, MB, 4096 * MB), 2);
    assert.equal(batchForMemory(4, 0, 4096 * MB), 4);
    assert.equal(batchForMemory(4, NaN, 4096 * MB), 4);
  });
});

describe('arenaFits', () => {
  const GB = 2 ** 30;
  const MB = 2 ** 20;
  it("keeps onnxruntime's arena when one image's activations are at most 1/32 of the budget", () => {
    assert.equal(arenaFits(60 * MB, 4 * GB), true, 'a 256² 4-level UNet with 27 taps');
    assert.equal(arenaFits(128 * MB, 4 * GB), true, 'the bound itself');
    assert.equal(arenaFits(128 * MB + 1, 4 * GB), false);
    assert.equal(arenaFits(1.2 * GB, 4 * GB), false, 'a 1024² nested UNet with 64 taps');
    assert.equal(arenaFits(1.2 * GB, 64 * GB), true, 'with a budget 16 times larger');
  });
  it('no arena for an unknown or empty size', () => {
    assert.equal(arenaFits(0, 4 * GB), false);
    assert.equal(arenaFits(Number.NaN, 4 * GB), false);
  });
});

describe('releaseBatch', () => {
  const g = globalThis as { gc?: () => void };
  it('collects after a batch of at least RELEASE_BATCH_BYTES, only then, and only when gc is exposed', () => {
    const saved = g.gc;
    let calls = 0;
    try {
      g.gc = () => void calls++;
      releaseBatch(RELEASE_BATCH_BYTES - 1);
      assert.equal(calls, 0, 'a small batch: no collection');
      releaseBatch(RELEASE_BATCH_BYTES);
      releaseBatch(1200 * MB); // one 1024² image through the nested UNet
      assert.equal(calls, 2);
      delete g.gc;
      assert.doesNotThrow(() => releaseBatch(1200 * MB)); // a process started without --expose-gc
      assert.equal(calls, 2);
    } finally {
      if (saved) g.gc = saved;
      else delete g.gc;
    }
  });
});

describe('analysisProcessEnv', () => {
  it('adds the allocator settings to an environment without them', () => {
    const env = analysisProcessEnv({ PATH: '/usr/bin' });
    assert.deepEqual(env, { ...ANALYSIS_PROCESS_ENV });
    assert.equal(env.GLIBC_TUNABLES, 'glibc.malloc.hugetlb=1');
    assert.equal(env.MALLOC_MMAP_THRESHOLD_, String(4 * 1024 ** 3));
    assert.equal(env.MALLOC_ARENA_MAX, '1');
    assert.equal(hasAnalysisProcessEnv({ PATH: '/usr/bin' }), false);
    assert.equal(hasAnalysisProcessEnv({ PATH: '/usr/bin', ...env }), true);
  });
  it("keeps the user's own tunables and values, and adds only what they do not name", () => {
    const env = analysisProcessEnv({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2', MALLOC_TRIM_THRESHOLD_: '1048576' });
    assert.equal(env.GLIBC_TUNABLES, 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1');
    assert.equal(env.MALLOC_TRIM_THRESHOLD_, '1048576');
    assert.equal(env.MALLOC_MMAP_THRESHOLD_, String(4 * 1024 ** 3));
    // a hugetlb=0 of the user's stays, and then nothing is missing but the thresholds
    const off = { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' };
    assert.equal(analysisProcessEnv(off).GLIBC_TUNABLES, 'glibc.malloc.hugetlb=0');
    assert.equal(hasAnalysisProcessEnv(off), false);
    assert.equal(hasAnalysisProcessEnv({ ...off, MALLOC_MMAP_THRESHOLD_: '1', MALLOC_TRIM_THRESHOLD_: '1', MALLOC_ARENA_MAX: '4' }), true);
  });
});
