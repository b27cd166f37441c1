/**
 * The maps' inputs taken from a split's own pass (pipeline/maps.ts `mapsCapture`, `mapImage`)
 * against the maps' own second model run: the same query rows, labels and maps, value for
 * value. A fake model (no onnxruntime) with a tap wider than 128 cells (measured on the stored
 * grid, one location per cell), a small tap (every location), a tap that holds a NaN at a
 * location the map does not measure (no map, as before) and a 128² tap: 64² cells at the
 * default `analysis.mapGrid`, every location with `mapGrid` 128.
 * Run: node --import tsx --test test/unit/mapsCapture.test.ts
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SplitItem, SplitSource } from '../../src/engine/data/splits';
import { buildTrainReference, centreIndexMap } from '../../src/engine/metrics';
import { mapImage, mapsAsTheyCome, mapsCapture, mapsPass } from '../../src/engine/pipeline/maps';
import { runBatch } from '../../src/engine/pipeline/batch';
import { jobsOf } from '../../src/engine/pipeline/tapJobs';
import type { Run, TapState } from '../../src/engine/pipeline/context';
import type { TapReference } from '../../src/engine/pipeline/trainReference';
import { mapSize, pointsOfImage } from '../../src/engine/points';
import type { Tensor } from '../../src/engine/types';

const H = 130;
const W = 140;
/** tap name, channels, dims */
const TAPS: [string, number, [number, number]][] = [
  ['big', 3, [H, W]],
  ['small', 2, [65, 70]],
  ['nan', 2, [H, W]],
  ['sq', 2, [128, 128]],
];

function image(i: number): Float32Array {
  const x = new Float32Array(H * W);
  for (let p = 0; p < H * W; p++) x[p] = ((p * 7 + i * 131) % 97) / 97 + (((p % W) - 40 - 10 * i) ** 2 + (Math.floor(p / W) - 60) ** 2 < 900 ? 1 : 0);
  return x;
}

/** A deterministic fake model: taps computed from the input, 2-class output (foreground where the input > 1). */
const model = {
  path: 'fake.onnx',
  outputName: 'logits',
  async run(batch: Tensor): Promise<{ output: Tensor; taps: Map<string, Tensor> }> {
    const n = batch.dims[0];
    const L = H * W;
    const out = new Float32Array(n * 2 * L);
    const taps = new Map<string, Tensor>();
    for (const [name, C, dims] of TAPS) {
      const Lt = dims[0] * dims[1];
      const d = new Float32Array(n * C * Lt);
      for (let b = 0; b < n; b++) {
        for (let c = 0; c < C; c++) {
          for (let y = 0; y < dims[0]; y++) {
            for (let x = 0; x < dims[1]; x++) {
              const v = batch.data[b * L + Math.floor((y * H) / dims[0]) * W + Math.floor((x * W) / dims[1])];
              d[((b * C + c) * dims[0] + y) * dims[1] + x] = Math.sin(v * (c + 1) + 0.01 * x) + 0.1 * c;
            }
          }
        }
        // the NaN tap: one NaN at a location its map does not measure
        if (name === 'nan') d[b * C * Lt + 1] = NaN;
      }
      taps.set(name, { data: d, dims: [n, C, ...dims] });
    }
    for (let b = 0; b < n; b++) for (let l = 0; l < L; l++) out[(b * 2 + 1) * L + l] = batch.data[b * L + l] - 1;
    return { output: { data: out, dims: [n, 2, H, W] }, taps };
  },
};

function fakeRun(mapsPerSplit: number, batchSize: number, mapGrid?: number): Run {
  const taps: TapState[] = TAPS.map(([name, C, dims], i) => ({
    info: { name, index: i } as unknown as TapState['info'],
    dims,
    C,
    prev: null,
    prevDim: 0,
    prevLoc: null,
  }));
  return {
    cfg: { path: 'fake.unetlens.json', input: { layout: 'NCHW', channels: 1, scale: 1, mean: [0], std: [1], resize: 'resize' }, model: { activation: 'softmax' }, classes: ['bg', 'fg'] },
    settings: { k: 5, mapsPerSplit, batchSize, seed: 0, ...(mapGrid === undefined ? {} : { mapGrid }) },
    model,
    taps,
    task: 'segmentation',
    numClasses: 2,
    spatial: [H, W],
    C0: 1,
    outDims: [2, H, W],
    activation: 'softmax',
    gemm: undefined,
    topk: undefined,
    warnings: [],
    log: () => undefined,
  } as unknown as Run;
}

const src: SplitSource = {
  name: 'test',
  labeled: false,
  count: 5,
  notes: [],
  read: (i: number) => ({ id: `img${i}`, imageFile: `img${i}.png`, image: { data: image(i), dims: [1, H, W] } }) as unknown as SplitItem,
} as unknown as SplitSource;

/** A train reference per tap: points from image 9's batch (every 29th location), labelled by the fake ground truth. */
async function references(run: Run): Promise<TapReference[]> {
  const batch = await runBatch(run, { ...src, read: () => src.read(9) } as SplitSource, 0, 1);
  return run.taps.map((tap) => {
    const all = pointsOfImage(batch.taps.get(tap.info.name)!, 0);
    const L = tap.dims[0] * tap.dims[1];
    const idx = Array.from({ length: Math.ceil(L / 29) }, (_, i) => i * 29);
    const points = new Float32Array(idx.length * tap.C);
    idx.forEach((l, r) => points.set(all.subarray(l * tap.C, (l + 1) * tap.C), r * tap.C));
    const labels = Int32Array.from(idx, (l) => (all[l * tap.C] > 0.5 ? 1 : 0));
    const knn = buildTrainReference({ points: points.map((v) => (Number.isFinite(v) ? v : 0)), n: idx.length, dim: tap.C, labels, k: 5 });
    return { knn, image: new Int32Array(idx.length), loc: Int32Array.from(idx), pca: null } as unknown as TapReference;
  });
}

describe('maps from the split pass (mapsCapture) = maps from a second model run', () => {
  it('mapImage (mapGrid 128): the stored grid rows of a wide tap, every row of a small one, none for a plane with a NaN', async () => {
    const run = fakeRun(3, 2, 128);
    const batch = await runBatch(run, src, 0, 2);
    const m = mapImage(run, batch, 1, 1, false);
    assert.equal(m.image, 1);
    assert.equal(m.id, 'img1');
    const big = m.taps[0]!;
    assert.deepEqual(big.dims, mapSize([H, W], 128));
    assert.deepEqual(big.dims, [119, 128]);
    const locs = centreIndexMap([H, W], big.dims);
    assert.deepEqual(big.locs, locs);
    assert.equal(big.nq, locs.length);
    const rows = pointsOfImage(batch.taps.get('big')!, 1);
    for (let r = 0; r < big.nq; r++) assert.deepEqual(big.q.subarray(r * 3, r * 3 + 3), rows.subarray(locs[r] * 3, locs[r] * 3 + 3));
    const small = m.taps[1]!;
    assert.equal(small.locs, null);
    assert.deepEqual(small.q, pointsOfImage(batch.taps.get('small')!, 1));
    assert.equal(m.taps[2], null);
  });

  it('mapsCapture keeps the first mapsPerSplit images across batches, with their split indices', async () => {
    const run = fakeRun(3, 2);
    const cap = mapsCapture(run, src)!;
    for (let start = 0; start < src.count; start += 2) {
      const n = Math.min(2, src.count - start);
      await cap.perBatch(await runBatch(run, src, start, n), n);
    }
    assert.deepEqual(
      cap.images.map((m) => [m.image, m.id]),
      [
        [0, 'img0'],
        [1, 'img1'],
        [2, 'img2'],
      ],
    );
    assert.equal(mapsCapture(fakeRun(0, 2), src), null);
  });

  for (const isTrain of [false, true]) {
    it(`mapsPass from the captured inputs gives the maps of its own run${isTrain ? ' (train: leave-one-out)' : ''}`, async () => {
      const run = fakeRun(2, 1);
      const ref = await references(run);
      const cap = mapsCapture(run, src)!;
      for (let start = 0; start < src.count; start++) await cap.perBatch(await runBatch(run, src, start, 1), 1);
      const progress: number[] = [];
      const fromCapture = await mapsPass(run, src, ref, isTrain, new Set(), (d) => progress.push(d), jobsOf(run), cap.images);
      const fromRun = await mapsPass(run, src, ref, isTrain, new Set(), () => undefined, jobsOf(run));
      assert.deepEqual(progress, [1, 2]);
      assert.equal(fromCapture.length, 2);
      assert.deepEqual(Object.keys(fromCapture[0].confidence), ['big', 'small', 'sq']);
      assert.deepEqual(fromCapture, fromRun);
    });
  }

  it('mapsAsTheyCome (a split after train): each batch measured in the pass, the same maps as mapsPass; a tap that turns non-finite later is dropped', async () => {
    const run = fakeRun(2, 1);
    const ref = await references(run);
    const early = mapsAsTheyCome(run, src, ref, jobsOf(run))!;
    const cap = mapsCapture(run, src)!;
    let kept = 0;
    for (let start = 0; start < src.count; start++) {
      const batch = await runBatch(run, src, start, 1);
      await early.perBatch(batch, 1);
      await cap.perBatch(batch, 1);
      kept = Math.max(kept, cap.images.length);
    }
    assert.equal(kept, 2, 'the plain capture holds both images until the maps');
    assert.ok(early.ms > 0);
    const progress: number[] = [];
    const asTheyCame = early.finish(new Set(), (d, t) => progress.push(d, t));
    assert.deepEqual(progress, [1, 2, 2, 2]);
    const after = await mapsPass(run, src, ref, false, new Set(), () => undefined, jobsOf(run), cap.images);
    assert.equal(asTheyCame.length, 2);
    assert.deepEqual(asTheyCame, after);
    // a tap found non-finite in a later image: out of every map, as mapsPass leaves it out
    const again = mapsAsTheyCome(run, src, ref, jobsOf(run))!;
    for (let start = 0; start < src.count; start++) await again.perBatch(await runBatch(run, src, start, 1), 1);
    const without = again.finish(new Set([1]), () => undefined);
    const expected = await mapsPass(run, src, ref, false, new Set([1]), () => undefined, jobsOf(run));
    assert.deepEqual(Object.keys(without[0].confidence), ['big', 'sq']);
    assert.deepEqual(without, expected);
    // every tap non-finite: no maps at all (mapsPass: none)
    const none = mapsAsTheyCome(run, src, ref, jobsOf(run))!;
    for (let start = 0; start < src.count; start++) await none.perBatch(await runBatch(run, src, start, 1), 1);
    assert.deepEqual(none.finish(new Set([0, 1, 2, 3]), () => undefined), []);
    assert.equal(mapsAsTheyCome(fakeRun(0, 1), src, ref, jobsOf(run)), null);
  });

  it('mapGrid: a 128² tap plane gives a 64² grid by default (each cell the location holding its centre), 128² (every location) with mapGrid 128', async () => {
    const batch = await runBatch(fakeRun(1, 1), src, 0, 1);
    const def = mapImage(fakeRun(1, 1), batch, 0, 0, false).taps[3]!;
    assert.deepEqual(def.dims, [64, 64]);
    assert.equal(def.nq, 64 * 64);
    // the cell (i, j) of 64² over 128² covers locations 2i..2i+1: its centre is in location 2i+1
    assert.deepEqual(def.locs, centreIndexMap([128, 128], [64, 64]));
    assert.equal(def.locs![0], 1 * 128 + 1);
    assert.equal(def.locs![5 * 64 + 7], 11 * 128 + 15);
    assert.equal(def.locs![64 * 64 - 1], 127 * 128 + 127);
    assert.deepEqual(mapImage(fakeRun(1, 1, 64), batch, 0, 0, false).taps[3], def);
    const full = mapImage(fakeRun(1, 1, 128), batch, 0, 0, false);
    assert.deepEqual(full.taps[3]!.dims, [128, 128]);
    assert.equal(full.taps[3]!.locs, null);
    assert.equal(full.taps[3]!.nq, 128 * 128);
    // the wide tap (130×140) is cut to 128 a side; the small one (65×70) is whole at 128, cut to 64 a side at the default
    assert.deepEqual(full.taps[0]!.dims, [119, 128]);
    assert.deepEqual(full.taps[1]!.dims, [65, 70]);
    const small = mapImage(fakeRun(1, 1), batch, 0, 0, false).taps[1]!;
    assert.deepEqual(small.dims, [59, 64]);
    assert.deepEqual(small.locs, centreIndexMap([65, 70], [59, 64]));
    // the preview is not the confidence grid: at most 128 px a side either way
    assert.deepEqual(full.preview.dims, [119, 128]);
    assert.deepEqual(mapImage(fakeRun(1, 1, 8), batch, 0, 0, false).preview.dims, [119, 128]);
    assert.deepEqual(mapImage(fakeRun(1, 1, 8), batch, 0, 0, false).taps[3]!.dims, [8, 8]);
  });

  for (const isTrain of [false, true]) {
    it(`mapGrid 64: each cell's value is the value of the location holding its centre in the full 128² map${isTrain ? ' (train: leave-one-out)' : ''}`, async () => {
      const maps = async (mapGrid: number) => {
        const run = fakeRun(2, 1, mapGrid);
        return mapsPass(run, src, await references(run), isTrain, new Set(), () => undefined, jobsOf(run));
      };
      const coarse = await maps(64);
      const fine = await maps(128);
      assert.equal(coarse.length, 2);
      const locs = centreIndexMap([128, 128], [64, 64]);
      for (let i = 0; i < 2; i++) {
        const c = coarse[i].confidence.sq;
        const f = fine[i].confidence.sq;
        assert.deepEqual(c.dims, [64, 64]);
        assert.deepEqual(f.dims, [128, 128]);
        assert.deepEqual(c.values, Array.from(locs, (l) => f.values[l]));
        assert.deepEqual(coarse[i].preview, fine[i].preview);
      }
    });
  }
});
