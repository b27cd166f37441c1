/**
 * The `maxTaps` cap (src/engine/model/tapCap.ts, METHOD.md §1) on synthetic tap lists: a
 * lopsided nested UNet (U²-Net-like: a U of blocks that are each a small U) and a plain UNet.
 *
 *   node --import tsx --test test/unit/tapCap.test.ts
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { capTaps, fairShares, spread, type CapItem } from '../../src/engine/model/tapCap';

type Item = CapItem & { name: string };

/**
 * The candidates of a nested UNet in forward order, staged the way planTaps stages them:
 * `bottleneck` at the deepest level, `encoder` for what flows into a bottleneck tap (on the main
 * chain: everything before its last deepest tap), `decoder` for the rest (the last block's way
 * up and the side outputs). Outer levels 0..depth-1; every block at outer level L < depth - 2
 * is a small U that goes down to the deepest level and back (a pool and a conv per level down,
 * an up-sampling and a conv per level up); the two deepest outer blocks are flat (dilated
 * convs, no resampling). Side outputs: one conv per outer decoder level, up-sampled to level 0,
 * and the fused logits.
 */
function nestedUnet(depth = 6, side = 1024): Item[] {
  const deepest = depth - 1;
  const main: { name: string; level: number; sampling: boolean }[] = [];
  const add = (name: string, level: number, sampling = false) => main.push({ name, level, sampling });
  const block = (id: string, L: number) => {
    if (L >= depth - 2) {
      for (let k = 0; k < 8; k++) add(`${id}/conv${k}`, L);
      return;
    }
    add(`${id}/in`, L);
    add(`${id}/conv${L}`, L);
    for (let l = L + 1; l <= deepest; l++) {
      add(`${id}/pool${l}`, l, true);
      add(`${id}/conv${l}`, l);
    }
    add(`${id}/dil`, deepest);
    add(`${id}/conv${deepest}d`, deepest);
    for (let l = deepest - 1; l >= L; l--) {
      add(`${id}/up${l}`, l, true);
      add(`${id}/conv${l}d`, l);
    }
  };
  for (let L = 0; L < depth; L++) {
    if (L > 0) add(`pool${L}`, L, true);
    block(`En_${L + 1}`, L);
  }
  for (let L = depth - 2; L >= 0; L--) {
    add(`up${L}`, L, true);
    block(`De_${L + 1}`, L);
  }
  const lastDeep = main.map((m) => m.level).lastIndexOf(deepest);
  const res = (level: number) => `${side >> level}x${side >> level}`;
  const items: Item[] = main.map((m, i) => ({
    name: m.name,
    level: m.level,
    resolution: res(m.level),
    sampling: m.sampling,
    logits: false,
    stage: m.level === deepest ? 'bottleneck' : i < lastDeep ? 'encoder' : 'decoder',
  }));
  for (let L = 0; L < depth; L++) {
    items.push({ name: `side${L + 1}`, level: L, resolution: res(L), sampling: false, logits: false, stage: L === deepest ? 'bottleneck' : 'decoder' });
    if (L > 0) items.push({ name: `side${L + 1}/up`, level: 0, resolution: res(0), sampling: true, logits: false, stage: 'decoder' });
  }
  items.push({ name: 'fuse', level: 0, resolution: res(0), sampling: false, logits: true, stage: 'decoder' });
  return items;
}

/** A plain UNet: per encoder level two convs, then a pool; bottleneck two convs; per decoder level an up-conv and two convs; logits. */
function plainUnet(levels = 4): Item[] {
  const items: Item[] = [];
  const add = (name: string, level: number, stage: CapItem['stage'], sampling = false, logits = false) =>
    items.push({ name, level, resolution: `${256 >> level}`, stage, sampling, logits });
  for (let l = 0; l < levels; l++) {
    add(`enc${l}/relu1`, l, 'encoder');
    add(`enc${l}/relu2`, l, 'encoder');
    add(`pool${l + 1}`, l + 1, 'encoder', true);
  }
  items[items.length - 1].stage = 'bottleneck'; // the last pool is at the deepest level
  add('bott/relu1', levels, 'bottleneck');
  add('bott/relu2', levels, 'bottleneck');
  for (let l = levels - 1; l >= 0; l--) {
    add(`up${l}`, l, 'decoder', true);
    add(`dec${l}/relu1`, l, 'decoder');
    add(`dec${l}/relu2`, l, 'decoder');
  }
  add('logits', 0, 'decoder', false, true);
  return items;
}

const cellOf = (it: CapItem) => `${it.stage}:${it.level}`;
const countBy = (items: CapItem[], key: (it: CapItem) => string) => {
  const m = new Map<string, number>();
  for (const it of items) m.set(key(it), (m.get(key(it)) ?? 0) + 1);
  return m;
};
/** The block outputs the cap must keep: per cell, its last tap before a change of resolution (or its last tap). */
function skeleton(items: Item[]): Set<string> {
  const out = new Map<string, string>();
  const last = new Map<string, string>();
  items.forEach((it, i) => {
    last.set(cellOf(it), it.name);
    if (i + 1 < items.length && items[i + 1].resolution !== it.resolution) out.set(cellOf(it), it.name);
  });
  return new Set([...last.keys()].map((k) => out.get(k) ?? last.get(k)!));
}

describe('maxTaps cap (tapCap.ts)', () => {
  test('under the cap nothing is left out', () => {
    const items = plainUnet();
    assert.deepEqual(capTaps(items, items.length), items.map((_, i) => i));
    assert.deepEqual(capTaps(items, 64), items.map((_, i) => i));
  });

  test('a lopsided nested UNet: the cap keeps the U balanced over stages and depth, block outputs and logits kept', () => {
    const items = nestedUnet();
    const all = countBy(items, (it) => it.stage);
    // the synthetic list is lopsided the way the real one was: most candidates are "encoder"
    assert.ok(items.length > 150 && all.get('encoder')! > 3 * all.get('decoder')!, JSON.stringify([...all]));
    const idx = capTaps(items, 64);
    const kept = idx.map((i) => items[i]);
    assert.equal(kept.length, 64);
    assert.deepEqual(idx, [...idx].sort((a, b) => a - b), 'forward order');
    assert.ok(kept.some((it) => it.logits), 'the logits are kept');
    const names = new Set(kept.map((it) => it.name));
    for (const b of skeleton(items)) assert.ok(names.has(b), `block output ${b} kept`);

    // max-min fair between the cells of the U: a cell that lost candidates holds at least as
    // many as any other cell, less one
    const have = countBy(kept, cellOf);
    const total = countBy(items, cellOf);
    const most = Math.max(...have.values());
    for (const [cell, n] of total) {
      const k = have.get(cell) ?? 0;
      assert.ok(k >= 1, `cell ${cell} keeps a tap`);
      if (k < n) assert.ok(k >= most - 1, `cell ${cell}: ${k} of ${n} kept, another cell keeps ${most}`);
    }
    // encoder and decoder level by level: the same count, or every candidate of the smaller
    const levels = new Set(items.map((it) => it.level));
    for (const l of levels) {
      const e = have.get(`encoder:${l}`) ?? 0;
      const d = have.get(`decoder:${l}`) ?? 0;
      const eAll = total.get(`encoder:${l}`) ?? 0;
      const dAll = total.get(`decoder:${l}`) ?? 0;
      if (!eAll || !dAll) continue;
      assert.ok(Math.abs(e - d) <= 1 || (e < d && e === eAll) || (d < e && d === dAll), `level ${l}: encoder ${e}/${eAll}, decoder ${d}/${dAll}`);
    }
    // per stage: the rule before this cap kept 45 encoder, 10 bottleneck and 9 decoder taps of
    // this list (127 / 42 / 21 candidates); now 37 / 8 / 19 (7-8 per cell, all of the small
    // decoder cells)
    const stages = countBy(kept, (it) => it.stage);
    assert.deepEqual([stages.get('encoder'), stages.get('bottleneck'), stages.get('decoder')], [37, 8, 19]);
  });

  test('a plain UNet under a tight cap: one tap per cell first, then even shares; block outputs kept', () => {
    const items = plainUnet(4); // 27 taps, 9 cells
    assert.equal(items.length, 27);
    const kept = capTaps(items, 16).map((i) => items[i]);
    assert.equal(kept.length, 16);
    const names = kept.map((it) => it.name);
    for (const b of skeleton(items)) assert.ok(names.includes(b), `block output ${b} kept`);
    assert.ok(names.includes('logits'));
    const stages = countBy(kept, (it) => it.stage);
    assert.ok(Math.abs(stages.get('encoder')! - stages.get('decoder')!) <= 1, JSON.stringify([...stages]));
    // 9 cells: the logits and 8 block outputs, then 7 more, one to each of the cells with the
    // most room; inside a cell the up-sampling output comes before a plain conv
    const perCell = countBy(kept, cellOf);
    assert.ok(Math.max(...perCell.values()) <= 2, JSON.stringify([...perCell]));
    for (let l = 0; l < 4; l++) {
      if (kept.filter((it) => it.stage === 'decoder' && it.level === l && !it.logits).length >= 2) assert.ok(names.includes(`up${l}`), names.join(' '));
    }
  });

  test('a cap below the number of cells: the logits, then the block outputs shared fairly between the stages', () => {
    const items = nestedUnet(); // 11 cells
    for (const cap of [1, 2, 3, 4, 7]) {
      const kept = capTaps(items, cap).map((i) => items[i]);
      assert.equal(kept.length, cap, `cap ${cap}`);
      assert.ok(kept.some((it) => it.logits), `cap ${cap}: logits kept`);
      const sk = skeleton(items);
      for (const it of kept) assert.ok(it.logits || sk.has(it.name), `cap ${cap}: ${it.name} is a block output`);
      const stages = countBy(kept, (it) => it.stage);
      if (cap >= 3) for (const s of ['encoder', 'bottleneck', 'decoder']) assert.ok(stages.get(s)! >= 1, `cap ${cap}: ${s} kept`);
    }
  });

  test('fairShares: max-min fair, ties to the group with more room, then the first', () => {
    assert.deepEqual(fairShares([0, 0, 0], [10, 2, 10], 9), [4, 2, 3]);
    assert.deepEqual(fairShares([3, 0, 1], [5, 5, 5], 4), [0, 2, 2]); // after one: 1 and 1, the second has more room left
    assert.deepEqual(fairShares([0, 0], [1, 1], 5), [1, 1]);
    assert.deepEqual(fairShares([], [], 3), []);
  });

  test('spread picks evenly', () => {
    assert.deepEqual(spread([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 3), [1, 5, 8]);
    assert.deepEqual(spread([0, 1, 2], 5), [0, 1, 2]);
  });
});
