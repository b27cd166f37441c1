/**
 * Where the blocks of "The U" go: the taps drawn as the network. Pure (no DOM): importable
 * from Node tests.
 *
 * One column per tap in forward order and one row per level (the number of down-samplings
 * between the input and the tap): the encoder steps down the left, the bottleneck sits at
 * the bottom, the decoder climbs back up the right. A skip connection joins the last
 * encoder tap and the first decoder tap of each level that has both. Taps that the
 * results place oddly (a decoder tap deeper than the bottleneck, a network with no
 * decoder) still get a block: the layout never drops a tap.
 */
import type { Stage, TapInfo } from '../src/engine/types';
import { stageRuns } from './format';

export interface UBlock {
  tap: TapInfo;
  /** Position in forward order (0-based), also the column. */
  col: number;
  /** Row from the top: the tap's level (0 = full resolution). */
  row: number;
  stage: Stage;
}

export interface USkip {
  level: number;
  /** Column of the encoder tap the skip leaves from. */
  from: number;
  /** Column of the decoder tap it arrives at. */
  to: number;
}

export interface ULayout {
  blocks: UBlock[];
  cols: number;
  rows: number;
  /** Consecutive taps in forward order: [fromCol, toCol]. */
  flows: [number, number][];
  skips: USkip[];
  /** Column ranges of each stage (for the stage labels), in order. */
  stages: { stage: Stage; from: number; to: number }[];
}

function levelOf(t: TapInfo): number {
  return Number.isInteger(t.level) && t.level >= 0 ? t.level : 0;
}

/** Lays out taps that are already in forward order. */
export function layoutUnet(taps: readonly TapInfo[]): ULayout {
  const blocks: UBlock[] = taps.map((tap, col) => ({ tap, col, row: levelOf(tap), stage: tap.stage }));
  const rows = blocks.length ? Math.max(...blocks.map((b) => b.row)) + 1 : 0;
  const flows: [number, number][] = [];
  for (let i = 1; i < blocks.length; i++) flows.push([i - 1, i]);

  // Skips: per level, the last encoder block before the first decoder block of that level.
  const skips: USkip[] = [];
  const firstDecoder = new Map<number, number>();
  for (const b of blocks) if (b.stage === 'decoder' && !firstDecoder.has(b.row)) firstDecoder.set(b.row, b.col);
  for (const [level, to] of [...firstDecoder.entries()].sort((a, b) => a[0] - b[0])) {
    let from = -1;
    for (const b of blocks) if (b.stage === 'encoder' && b.row === level && b.col < to) from = b.col;
    // A skip only jumps over something: not when the decoder block follows at once.
    if (from >= 0 && to - from > 1) skips.push({ level, from, to });
  }

  // blocks are in column order, so a block's index is its column
  return { blocks, cols: blocks.length, rows, flows, skips, stages: stageRuns(blocks.map((b) => b.stage)) };
}

/** The column reached from `col` by a key (roving focus among the blocks), or null. */
export function moveFocus(col: number, key: string, cols: number): number | null {
  if (cols <= 0) return null;
  switch (key) {
    case 'ArrowRight':
    case 'ArrowDown':
      return Math.min(cols - 1, col + 1);
    case 'ArrowLeft':
    case 'ArrowUp':
      return Math.max(0, col - 1);
    case 'Home':
      return 0;
    case 'End':
      return cols - 1;
    default:
      return null;
  }
}
