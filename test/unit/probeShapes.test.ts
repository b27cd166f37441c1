/**
 * probeShapes.ts: the factor of the small-size shape probe and the extrapolation of the
 * probed dims to the full input size (pure; the loader's use of it, on real models, is in
 * test/integration/model-onnx.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROBE_MIN_SIDE, extrapolateShapes, probeFactor } from '../../src/engine/model/probeShapes';

test('probeFactor: the largest power of two ≥ 8 that keeps every side ≥ 64 and exact', () => {
  assert.equal(PROBE_MIN_SIDE, 64);
  assert.equal(probeFactor([1024, 1024]), 16); // 64, 128, 256
  assert.equal(probeFactor([512, 512]), 8);
  assert.equal(probeFactor([512, 1024]), 8); // the smaller side decides
  assert.equal(probeFactor([2048, 1536]), 16); // 1536 = 3·512: 96, 192, 384
  assert.equal(probeFactor([256, 256]), undefined); // f = 4 only: the full probe
  assert.equal(probeFactor([1000, 1000]), 8); // 125, 250, 500 (odd sizes: the extrapolation will usually refuse)
  assert.equal(probeFactor([64, 128, 128]), undefined);
  assert.equal(probeFactor([]), undefined);
  assert.equal(probeFactor([1024, 0]), undefined);
  assert.equal(probeFactor([1024.5, 1024]), undefined);
});

const maps = (...ms: Record<string, number[]>[]) => ms.map((m) => new Map(Object.entries(m))) as [Map<string, number[]>, Map<string, number[]>, Map<string, number[]>];

test('extrapolateShapes: planes scale with the sides, channels and pooled dims stay', () => {
  // a UNet at 64, 128, 256 → 1024 (f = 16): full = largest probe · 4^k
  const got = extrapolateShapes(
    maps(
      { enc: [32, 64, 64], down: [64, 32, 32], deep: [800, 2, 2], gate: [64, 1, 1], flat: [8, 4096], logits: [2, 64, 64] },
      { enc: [32, 128, 128], down: [64, 64, 64], deep: [800, 4, 4], gate: [64, 1, 1], flat: [8, 16384], logits: [2, 128, 128] },
      { enc: [32, 256, 256], down: [64, 128, 128], deep: [800, 8, 8], gate: [64, 1, 1], flat: [8, 65536], logits: [2, 256, 256] },
    ),
    16,
  );
  assert.ok('shapes' in got);
  assert.deepEqual(Object.fromEntries(got.shapes), {
    enc: [32, 1024, 1024],
    down: [64, 512, 512],
    deep: [800, 32, 32],
    gate: [64, 1, 1],
    flat: [8, 1048576], // a flattened plane grows by 4 per doubling
    logits: [2, 1024, 1024],
  });
  // 3D, f = 8: [C, D, H, W] at 64, 128, 256 → 512
  const vol = extrapolateShapes(maps({ v: [4, 64, 32, 32] }, { v: [4, 128, 64, 64] }, { v: [4, 256, 128, 128] }), 8);
  assert.ok('shapes' in vol);
  assert.deepEqual(vol.shapes.get('v'), [4, 512, 256, 256]);
});

test('extrapolateShapes: refuses what does not scale exactly, and says which tensor', () => {
  const cases: [Record<string, number[]>[], RegExp][] = [
    // rounding at odd sizes (1000: 125, 250, 500; a stride-2 conv with padding)
    [[{ a: [8, 63, 63] }, { a: [8, 125, 125] }, { a: [8, 250, 250] }], /"a" dim 1 is 63, 125, 250/],
    // doubling twice but not the third time
    [[{ a: [8, 16] }, { a: [8, 32] }, { a: [8, 48] }], /"a" dim 1 is 16, 32, 48/],
    // constant at two sizes, then not (a size clamp)
    [[{ a: [8, 64] }, { a: [8, 64] }, { a: [8, 128] }], /"a" dim 1 is 64, 64, 128/],
    // shrinking with the input
    [[{ a: [8, 16] }, { a: [8, 8] }, { a: [8, 4] }], /"a" dim 1 is 16, 8, 4/],
    // growing by 16 per doubling (not a 1-, 2- or 3-D plane)
    [[{ a: [1] }, { a: [16] }, { a: [256] }], /"a" dim 0 is 1, 16, 256/],
    // a zero dim
    [[{ a: [0] }, { a: [2] }, { a: [4] }], /"a" dim 0 is 0, 2, 4/],
    // rank changes, or a tensor missing from a probe
    [[{ a: [8, 16] }, { a: [8, 32, 1] }, { a: [8, 64] }], /"a" changes rank/],
    [[{ a: [8, 16], b: [1] }, { a: [8, 32] }, { a: [8, 64], b: [1] }], /"b" changes rank/],
  ];
  for (const [probes, re] of cases) {
    const got = extrapolateShapes(maps(...probes), 16);
    assert.ok('reason' in got, JSON.stringify(probes));
    assert.match(got.reason, re);
  }
});
