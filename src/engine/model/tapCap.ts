/**
 * The `maxTaps` cap (METHOD.md §1): which of the `auto` candidates are kept when there are
 * more than `maxTaps`, so that the kept taps still draw a balanced U.
 *
 * Every candidate sits in one cell of the U: its stage (encoder, bottleneck, decoder) and its
 * level (resolution rank). Its *block output* is the last candidate before a change of
 * resolution (in forward order); the cell's block output is the last block output in the cell
 * (or its last candidate when the resolution never changes inside it).
 *
 *  1. The logits are always kept.
 *  2. Then every cell's block output (the skeleton of the U: one tap per stage and level). If
 *     even that does not fit, the skeleton is shared between the stages as evenly as their
 *     sizes allow (max-min fair shares) and spread evenly over depth inside each stage.
 *  3. The places left are shared between the cells, max-min fair: a place goes to the cell
 *     that holds the fewest kept taps so far (ties: the cell with more candidates left, then
 *     forward order), so the encoder and the decoder, and each level, get the same number when
 *     they have enough candidates, and a small cell (the bottleneck) gives its unused share to
 *     the others.
 *  4. Inside a cell: the other block outputs first, then the down-/up-sampling outputs, then the
 *     rest, each group evenly spread in forward order.
 *
 * The kept taps are returned in forward order. Pure: no graph, no shapes (taps.ts computes
 * the stage, level and resolution of each candidate before calling).
 */

/** What the cap needs to know about a candidate. */
export interface CapItem {
  /** Stage of the tap it would be (taps.ts: from the level and the graph's data flow). */
  stage: 'encoder' | 'bottleneck' | 'decoder';
  level: number;
  /** Spatial resolution, e.g. "64x64": a change between neighbours marks a block output. */
  resolution: string;
  /** A down-/up-sampling output. */
  sampling: boolean;
  /** The prediction's logits (always kept). */
  logits: boolean;
}

/** Evenly spread choice of m of the n items (in order). */
export function spread<T>(items: T[], m: number): T[] {
  const n = items.length;
  if (m >= n) return [...items];
  if (m <= 0) return [];
  const out: T[] = [];
  for (let i = 0; i < m; i++) out.push(items[Math.floor(((i + 0.5) * n) / m)]);
  return out;
}

/**
 * Max-min fair shares of `budget` places between groups holding `have[g]` already and able to
 * take at most `room[g]` more: each place goes to the group with the fewest so far (ties: more
 * room, then the lower index). Returns the extra places per group.
 */
export function fairShares(have: readonly number[], room: readonly number[], budget: number): number[] {
  const extra = have.map(() => 0);
  for (let b = 0; b < budget; b++) {
    let best = -1;
    for (let g = 0; g < have.length; g++) {
      if (extra[g] >= room[g]) continue;
      if (best < 0) {
        best = g;
        continue;
      }
      const a = have[g] + extra[g];
      const c = have[best] + extra[best];
      if (a < c || (a === c && room[g] - extra[g] > room[best] - extra[best])) best = g;
    }
    if (best < 0) break;
    extra[best]++;
  }
  return extra;
}

/** Indexes (into `items`, forward order) of the taps kept under the cap; all of them when they fit. */
export function capTaps(items: readonly CapItem[], maxTaps: number): number[] {
  const n = items.length;
  const all = items.map((_, i) => i);
  if (n <= maxTaps) return all;
  const blockOut = items.map((it, i) => i + 1 < n && items[i + 1].resolution !== it.resolution);

  // cells of the U, in order of first appearance
  const cellKey = (it: CapItem) => `${it.stage}:${it.level}`;
  const cells = new Map<string, number[]>();
  for (const i of all) {
    const k = cellKey(items[i]);
    if (!cells.has(k)) cells.set(k, []);
    cells.get(k)!.push(i);
  }
  const cellList = [...cells.values()];

  const kept = new Set<number>(all.filter((i) => items[i].logits));
  const skeleton = cellList
    .map((c) => [...c].reverse().find((i) => blockOut[i]) ?? c[c.length - 1])
    .filter((i) => !kept.has(i));
  const budget = maxTaps - kept.size;
  if (budget <= 0) return [...kept].sort((a, b) => a - b).slice(0, maxTaps);
  if (skeleton.length > budget) {
    // 2'. the skeleton does not fit: fair shares per stage, spread over depth inside each
    const stages = ['encoder', 'bottleneck', 'decoder'].map((s) => skeleton.filter((i) => items[i].stage === s));
    const haveStage = ['encoder', 'bottleneck', 'decoder'].map((s) => [...kept].filter((i) => items[i].stage === s).length);
    const share = fairShares(haveStage, stages.map((s) => s.length), budget);
    stages.forEach((s, k) => spread(s, share[k]).forEach((i) => kept.add(i)));
    return [...kept].sort((a, b) => a - b);
  }
  for (const i of skeleton) kept.add(i);

  // 3. the places left, fair between the cells
  const have = cellList.map((c) => c.filter((i) => kept.has(i)).length);
  const room = cellList.map((c, k) => c.length - have[k]);
  const share = fairShares(have, room, maxTaps - kept.size);

  // 4. inside a cell: block outputs, then sampling outputs, then the rest, each spread
  cellList.forEach((c, k) => {
    let left = share[k];
    const free = c.filter((i) => !kept.has(i));
    for (const group of [free.filter((i) => blockOut[i]), free.filter((i) => !blockOut[i] && items[i].sampling), free.filter((i) => !blockOut[i] && !items[i].sampling)]) {
      const take = spread(group, left);
      take.forEach((i) => kept.add(i));
      left -= take.length;
    }
  });
  return [...kept].sort((a, b) => a - b);
}
