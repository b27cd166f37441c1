/**
 * Learning the tap shapes of a large-input model from runs at small sizes.
 *
 * taps.ts plans the taps from the per-image shapes of every candidate tensor, which the
 * loader learns by running the model once. At 1024×1024 through a 44 M-parameter nested
 * UNet that run, with the 71 candidates fetched, took 8.7 s of a 12 s load. The shapes of a
 * fully convolutional network scale with the input: so the loader runs it at three sizes,
 * the input's sides divided by f, f/2 and f/4 (`probeFactor`), and extrapolates each dim to
 * the full size (`extrapolateShapes`) when it behaves the same way at all three: constant,
 * or multiplied by the same power of two at each doubling of the sides (a tap plane's side
 * by 2, a flattened plane by 4). Anything else (a Reshape to a constant shape, a Resize to
 * constant sizes, rounding that depends on the size) makes the extrapolation refuse, and
 * the loader probes at the full size as before. The first real run checks the fetched
 * shapes against the plan anyway (onnxModel.ts).
 */

/** The smallest side a small probe runs at: a 5- or 6-level UNet still keeps a plane of at least 1×1. */
export const PROBE_MIN_SIDE = 64;

/**
 * The factor f for the small probes of an input with these spatial sides: the largest power of
 * two that divides every side with side / f ≥ PROBE_MIN_SIDE, when that is at least 8 (the
 * probes at sides / f, / (f/2) and / (f/4) then cost 21/f² of a full one: a third for f = 8,
 * 8 % for f = 16); undefined otherwise
 * (the full-size probe is cheap enough, or the sides do not allow it).
 */
export function probeFactor(spatial: number[]): number | undefined {
  if (spatial.length === 0 || spatial.some((s) => !Number.isInteger(s) || s <= 0)) return undefined;
  let f = 1;
  while (spatial.every((s) => s % (f * 2) === 0 && s / (f * 2) >= PROBE_MIN_SIDE)) f *= 2;
  return f >= 8 ? f : undefined;
}

/**
 * The full-size per-image dims from the probes at sides / f, / (f/2) and / (f/4).
 * `probes[k]` maps each tensor name to its per-image dims at the k-th size. Each dim must be
 * the same at all three sizes (kept), or grow by the same factor 2^k (k = 1, 2 or 3) at each
 * doubling, which gives d·(f/4)^k at the full size from d at the largest probe. Returns the reason when a tensor does not
 * fit that rule (the loader then probes at the full size).
 */
export function extrapolateShapes(
  probes: [Map<string, number[]>, Map<string, number[]>, Map<string, number[]>],
  f: number,
): { shapes: Map<string, number[]> } | { reason: string } {
  const [a, b, c] = probes;
  const shapes = new Map<string, number[]>();
  for (const [name, da] of a) {
    const db = b.get(name);
    const dc = c.get(name);
    if (!db || !dc || db.length !== da.length || dc.length !== da.length) {
      return { reason: `${JSON.stringify(name)} changes rank between the probe sizes` };
    }
    const full: number[] = [];
    for (let i = 0; i < da.length; i++) {
      const [x, y, z] = [da[i], db[i], dc[i]];
      if (x === y && y === z) {
        full.push(x);
        continue;
      }
      const k = x > 0 && y % x === 0 ? Math.log2(y / x) : NaN;
      if (!(k === 1 || k === 2 || k === 3) || z !== y * 2 ** k) {
        return { reason: `${JSON.stringify(name)} dim ${i} is ${x}, ${y}, ${z} at the three probe sizes` };
      }
      full.push(z * (f / 4) ** k);
    }
    shapes.set(name, full);
  }
  return { shapes };
}
