/**
 * Output-based features and content shifts of issue 10 (src/engine/shift/outputFeatures.ts,
 * the content families of src/engine/shift/transforms.ts, the cases-to-label CSV of
 * withoutLabels.ts) vs references from NumPy / SciPy (test/fixtures/shift-reference.json
 * `outputFeatures`, made by scripts/make_shift_references.py): scipy.stats.wasserstein_distance,
 * scipy.ndimage.label (face connectivity), block means, scipy.ndimage.maximum_filter rings,
 * soft Dice and NLL at every temperature from scipy.special.softmax / expit.
 *
 * Run: node --import tsx --test test/unit/outputFeatures.test.ts
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { augmentMap, fitTemperature, imageOutput, inverseMap, labelObjects, maskDice, outputMask, softDiceAt, TEMPERATURES, ttaCount, wasserstein1 } from '../../src/engine/shift/outputFeatures';
import { applyShift, blockMean, components, ringOf, sweepShifts, type Shift } from '../../src/engine/shift/transforms';
import { casesToLabelCsv, casesToLabelFile } from '../../src/protocol/cases';
import { Prng } from '../../src/engine/metrics/prng';

const REF = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'shift-reference.json'), 'utf8')).outputFeatures;

function close(a: number, b: number, tol: number, what: string): void {
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
}

describe('output features vs NumPy / SciPy', () => {
  for (const [i, c] of REF.wasserstein.entries()) {
    it(`wasserstein1 case ${i} = scipy.stats.wasserstein_distance (n = ${c.a.length}, ${c.b.length})`, () => close(wasserstein1(c.a, c.b), c.expected, 1e-12, 'W1'));
  }
  it('wasserstein1: identical samples → 0, a shift by d → d, empty → NaN', () => {
    assert.equal(wasserstein1([1, 2, 3], [3, 2, 1]), 0);
    close(wasserstein1([1, 2, 3], [1.5, 2.5, 3.5]), 0.5, 1e-12, 'shift');
    assert.ok(Number.isNaN(wasserstein1([], [1])));
  });
  for (const c of REF.components) {
    it(`components = scipy.ndimage.label, face connectivity (${c.dims.join('×')})`, () => {
      const r = components(c.mask, c.dims);
      assert.equal(r.sizes.length, c.count);
      assert.deepEqual(r.sizes.slice().sort((a, b) => a - b), c.sizes);
    });
  }
  for (const c of REF.ring) {
    it(`ringOf = maximum_filter(size 7) minus the mask (${c.dims.join('×')})`, () => {
      assert.deepEqual(Array.from(ringOf(Int32Array.from(c.mask), c.dims, c.width)!), c.ring);
    });
  }
  it('ringOf of an empty mask: null', () => assert.equal(ringOf(new Int32Array(12), [3, 4], 2), null));
  for (const c of REF.blockMean) {
    it(`blockMean k=${c.k} (${c.dims.join('×')}, partial edge blocks) = NumPy block sums / counts`, () => {
      const got = blockMean(Float64Array.from(c.u), c.dims, c.k);
      c.expected.forEach((v: number, i: number) => close(got[i], v, 1e-12, `[${i}]`));
    });
  }
  for (const c of REF.images) {
    it(`imageOutput (${c.activation}, K=${c.K}): soft Dice and NLL at every temperature, the mask, the components`, () => {
      const o = imageOutput(Float32Array.from(c.out), c.dims, c.activation, Int32Array.from(c.gt));
      // the output is stored as float32 on our side: compare at float32 precision
      o.softDice.forEach((v, t) => close(v, c.softDice[t], 1e-5, `softDice T=${TEMPERATURES[t]}`));
      o.nll!.forEach((v, t) => close(v, c.nll[t], 1e-5, `nll T=${TEMPERATURES[t]}`));
      assert.equal(o.nllCount, c.gt.length);
      assert.deepEqual(Array.from(outputMask(Float32Array.from(c.out), c.dims, c.activation)), c.mask.map(Number));
      assert.equal(o.components, c.components);
      close(o.foreground, c.mask.filter(Boolean).length / c.mask.length, 1e-12, 'foreground');
    });
  }
  it('fitTemperature: the NLL minimum (parabola vertex in log T between grid points); softDiceAt interpolates in log T', () => {
    const target = Math.log(1.8);
    const nll = TEMPERATURES.map((T) => (Math.log(T) - target) ** 2 + 3);
    close(fitTemperature(nll), 1.8, 1e-9, 'T');
    assert.equal(fitTemperature(TEMPERATURES.map((T) => T)), TEMPERATURES[0], 'increasing: the smallest');
    const sd = TEMPERATURES.map((T) => Math.log(T));
    close(softDiceAt(sd, 1.8), Math.log(1.8), 1e-12, 'linear in log T is exact');
    assert.equal(softDiceAt(sd, 100), sd[sd.length - 1]);
  });
  it('tta: the agreement of identical augmented masks is 1, of the complement 0', () => {
    const out = Float32Array.from({ length: 2 * 16 }, (_, i) => (i < 16 ? 0 : i % 3 === 0 ? 1 : -1));
    const m = outputMask(out, [2, 4, 4], 'softmax');
    assert.equal(imageOutput(out, [2, 4, 4], 'softmax', null, [m]).tta, 1);
    assert.equal(imageOutput(out, [2, 4, 4], 'softmax', null, [m.map((v) => 1 - v)]).tta, 0);
    assert.equal(imageOutput(out, [2, 4, 4], 'softmax', null).tta, null);
    assert.equal(maskDice([0, 0], [0, 0]), 1);
  });
  it('augmentMap: flips and rotations are permutations; inverseMap undoes them; rotating 4 times is the identity', () => {
    const dims = [5, 5];
    assert.equal(ttaCount(dims), 6);
    assert.equal(ttaCount([4, 6]), 3);
    const src = Int32Array.from({ length: 25 }, (_, i) => i);
    for (let k = 0; k < 6; k++) {
      const m = augmentMap(dims, k);
      assert.deepEqual([...m].sort((a, b) => a - b), [...src], `aug ${k} is a permutation`);
      const inv = inverseMap(m);
      const aug = Array.from(m, (j) => src[j]);
      assert.deepEqual(Array.from(inv, (j) => aug[j]), [...src], `inverse of ${k}`);
    }
    // flip of the last axis: row y, column x ← column W−1−x
    assert.equal(augmentMap(dims, 0)[0], 4);
    let r = [...src];
    const rot = augmentMap(dims, 4);
    for (let t = 0; t < 4; t++) r = Array.from(rot, (j) => r[j]);
    assert.deepEqual(r, [...src]);
  });
  it('labelObjects: per image log(1 + count) and the log sizes', () => {
    const m = Int32Array.from([1, 1, 0, 0, 0, 0, 0, 1, 0]);
    const o = labelObjects([{ mask: m, spatial: [3, 3] }, { mask: new Int32Array(9), spatial: [3, 3] }]);
    assert.deepEqual(o.logCounts, [Math.log(3), 0]);
    assert.deepEqual(o.logSizes.sort(), [0, Math.log(2)].sort());
  });
});

describe('content shifts (issue 10)', () => {
  const spatial = [24, 24];
  const L = 24 * 24;
  const norm = { mean: [0], std: [1] };
  const mask = new Int32Array(L);
  for (let y = 8; y < 13; y++) for (let x = 9; x < 14; x++) mask[y * 24 + x] = 1;
  const rng = new Prng(5);
  const img = Float32Array.from({ length: L }, (_, i) => 0.3 + 0.02 * rng.normal() + (mask[i] ? 0.3 : 0));
  const shifted = (sh: Shift, m: Int32Array | null = mask, seed = 9) => {
    const x = img.slice();
    applyShift(x, 1, spatial, sh, norm, seed, m);
    return x;
  };
  it('dim: only the mask pixels move, towards the ring mean; s = 1 changes nothing', () => {
    const x = shifted({ family: 'dim', strength: 0.4 });
    const ring = ringOf(mask, spatial, 3)!;
    let bg = 0;
    let n = 0;
    for (let i = 0; i < L; i++)
      if (ring[i]) {
        bg += img[i];
        n++;
      }
    bg /= n;
    for (let i = 0; i < L; i++) {
      if (mask[i]) close(x[i], bg + 0.4 * (img[i] - bg), 1e-6, `pixel ${i}`);
      else assert.equal(x[i], img[i]);
    }
    assert.deepEqual(shifted({ family: 'dim', strength: 1 }), img);
    assert.deepEqual(shifted({ family: 'dim', strength: 0.4 }, null), img, 'no mask: nothing to dim');
  });
  it('distractors: blobs of the objects\' contrast, never within 2 px of an object, deterministic per seed', () => {
    const x = shifted({ family: 'distractors', strength: 5 });
    let changed = 0;
    for (let i = 0; i < L; i++) {
      if (x[i] === img[i]) continue;
      changed++;
      assert.equal(mask[i], 0, 'not on an object');
      const yy = Math.floor(i / 24);
      const xx = i % 24;
      assert.ok(!(yy >= 7 && yy <= 13 && xx >= 8 && xx <= 14), `pixel (${yy}, ${xx}) is next to the object`);
      assert.ok(x[i] > img[i], 'brighter, like the objects');
    }
    assert.ok(changed >= 5, `${changed} pixels changed`);
    assert.deepEqual(shifted({ family: 'distractors', strength: 5 }), x, 'same seed, same blobs');
    assert.notDeepEqual(shifted({ family: 'distractors', strength: 5 }, mask, 10), x, 'another seed, other blobs');
  });
  it('bias: lo + (u − lo)·exp(s·g) with a smooth unit-sd field (neighbours differ little)', () => {
    const x = shifted({ family: 'bias', strength: 0.5 });
    let lo = Infinity;
    for (const v of img) lo = Math.min(lo, v);
    const g = Array.from(x, (v, i) => Math.log((v - lo) / (img[i] - lo)) / 0.5).filter((v, i) => img[i] - lo > 0.05);
    const m = g.reduce((a, b) => a + b, 0) / g.length;
    const sd = Math.sqrt(g.reduce((a, b) => a + (b - m) ** 2, 0) / g.length);
    assert.ok(Math.abs(m) < 0.25 && sd > 0.7 && sd < 1.3, `field mean ${m}, sd ${sd}`);
  });
  it('lowres: block means of k×k', () => {
    const x = shifted({ family: 'lowres', strength: 3 });
    const b = blockMean(Float64Array.from(img), spatial, 3);
    x.forEach((v, i) => close(v, b[i], 1e-6, `${i}`));
    assert.equal(x[0], x[25]);
  });
  it('stripes: added amplitude s·R, zero-mean-ish', () => {
    const x = shifted({ family: 'stripes', strength: 0.1 });
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of img) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const d = Array.from(x, (v, i) => v - img[i]);
    assert.ok(Math.max(...d.map(Math.abs)) <= 0.1 * (hi - lo) + 1e-6);
    assert.ok(Math.max(...d) > 0.08 * (hi - lo), 'reaches near the amplitude');
  });
  it('3-D volumes: every content family runs and changes the volume', () => {
    const dims = [6, 10, 10];
    const m3 = new Int32Array(600);
    for (let z = 2; z < 4; z++) for (let y = 3; y < 6; y++) for (let x = 3; x < 6; x++) m3[z * 100 + y * 10 + x] = 1;
    const r = new Prng(1);
    const v = Float32Array.from({ length: 600 }, (_, i) => 0.3 + 0.05 * r.next() + (m3[i] ? 0.3 : 0));
    for (const sh of sweepShifts(['distractors', 'dim', 'bias', 'lowres', 'stripes'])) {
      if (sh.family === 'none') continue;
      const x = v.slice();
      applyShift(x, 1, dims, sh, norm, 3, m3);
      assert.ok(x.some((a, i) => a !== v[i]), `${sh.family} ${sh.strength} changed the volume`);
      assert.ok(x.every(Number.isFinite));
    }
  });
});

describe('cases to label', () => {
  it('CSV: rank, file, id, the estimate, its interval and grade, worst first as given; fields with commas quoted', () => {
    const csv = casesToLabelCsv('dice', [
      { id: 'a', file: 'data/x,1.png', value: 0.1, low: 0, high: 0.3, grade: 'fair', outside: false },
      { id: 'b', file: 'data/b.png', value: 0.7, low: 0.6, high: 0.8, grade: 'good', outside: true },
    ]);
    assert.equal(csv, 'rank,file,id,predicted_dice,low,high,grade,outside_calibration\n1,"data/x,1.png",a,0.1,0,0.3,fair,false\n2,data/b.png,b,0.7,0.6,0.8,good,true\n');
    assert.equal(casesToLabelFile('site B/2'), 'cases-to-label-site_B_2.csv');
  });
});
