/**
 * The `objects` shift family of METHOD.md §5 (issue 10): every object of the mask grown or
 * shrunk by a few pixels, in the image and in the mask together, so that the copy's lesions are
 * truly larger or smaller and its true Dice is still measured (the grown or shrunk mask is the
 * copy's label). Pure: no `vscode`, no I/O. Any number of spatial axes (2-D images, 3-D volumes).
 *
 * Strength s: a signed radius in pixels; s > 0 grows, s < 0 shrinks, r = |s| (rounded).
 *
 * - Mask: the structuring element is the Euclidean ball {o ∈ ℤⁿ : |o|² ≤ r²}. Growing: a
 *   background pixel within the ball of an object pixel takes the label of the nearest one
 *   (offsets scanned by distance, ties in a fixed order). Shrinking: an object pixel stays only
 *   if every pixel of its ball that lies inside the image is an object pixel (any label); the
 *   image border does not erode. Objects smaller than the ball vanish.
 * - Image: only the ring (the pixels whose object/background state changed) is painted. With
 *   `om`/`bm` the means of u over the object / background pixels of the ORIGINAL mask in the
 *   box of half-side r + 3 around the pixel (the means over the whole image when the box holds
 *   none), a grown pixel becomes u + (om − bm) and a shrunk pixel u + (bm − om): the level moves
 *   to that of the object (or of the surrounding background), the pixel's own texture and
 *   noise stay. Every channel is painted the same way with its own means.
 * - Without a mask or without an object in it, nothing changes (and the label stays).
 */

/** The integer offsets of the n-D ball of radius r, nearest first (ties: lexicographic). */
export function ballOffsets(r: number, n: number): number[][] {
  const out: number[][] = [];
  const o = new Array<number>(n).fill(-r);
  if (n === 0) return [[]];
  for (;;) {
    let d2 = 0;
    for (const v of o) d2 += v * v;
    if (d2 <= r * r) out.push(o.slice());
    let a = n - 1;
    while (a >= 0 && o[a] === r) o[a--] = -r;
    if (a < 0) break;
    o[a]++;
  }
  const d = (v: number[]) => v.reduce((s, t) => s + t * t, 0);
  return out.sort((p, q) => d(p) - d(q));
}

/** The mask grown (s > 0) or shrunk (s < 0) by the ball of radius |s| (see the file header). */
export function morphObjects(mask: Int32Array, spatial: readonly number[], s: number): Int32Array {
  const n = spatial.length;
  const L = spatial.reduce((a, b) => a * b, 1);
  if (mask.length !== L) throw new Error(`morphObjects: the mask has ${mask.length} values, expected ${spatial.join('×')}`);
  const r = Math.round(Math.abs(s));
  const out = mask.slice();
  if (r === 0) return out;
  const offs = ballOffsets(r, n).filter((o) => o.some((v) => v !== 0));
  const st = new Array<number>(n).fill(1);
  for (let a = n - 2; a >= 0; a--) st[a] = st[a + 1] * spatial[a + 1];
  const xc = new Array<number>(n).fill(0);
  const grow = s > 0;
  for (let i = 0; i < L; i++) {
    if (grow ? mask[i] > 0 : mask[i] <= 0) continue;
    for (let a = 0; a < n; a++) xc[a] = Math.floor(i / st[a]) % spatial[a];
    for (const o of offs) {
      let j = 0;
      let inside = true;
      for (let a = 0; a < n; a++) {
        const y = xc[a] + o[a];
        if (y < 0 || y >= spatial[a]) {
          inside = false;
          break;
        }
        j += y * st[a];
      }
      if (!inside) continue;
      if (grow && mask[j] > 0) {
        out[i] = mask[j];
        break;
      }
      if (!grow && mask[j] <= 0) {
        out[i] = 0;
        break;
      }
    }
  }
  return out;
}

/** Sum of `src` over the box of half-side w around each pixel (clipped to the image), every axis. */
export function boxSum(src: Float64Array, dims: readonly number[], w: number): Float64Array {
  let a = src.slice();
  for (let axis = 0; axis < dims.length; axis++) {
    const n = dims[axis];
    const stride = dims.slice(axis + 1).reduce((p, q) => p * q, 1);
    const outer = a.length / (n * stride);
    const b = new Float64Array(a.length);
    const pre = new Float64Array(n + 1);
    for (let o = 0; o < outer; o++)
      for (let s = 0; s < stride; s++) {
        const base = o * n * stride + s;
        for (let i = 0; i < n; i++) pre[i + 1] = pre[i] + a[base + i * stride];
        for (let i = 0; i < n; i++) b[base + i * stride] = pre[Math.min(n, i + w + 1)] - pre[Math.max(0, i - w)];
      }
    a = b;
  }
  return a;
}

/**
 * Paints one channel `u` (in place) for the mask going from `old` to `neu` with radius r: the
 * ring pixels move to the local object or background level (see the file header).
 */
export function paintObjects(u: Float64Array, spatial: readonly number[], old: Int32Array, neu: Int32Array, r: number): void {
  const L = u.length;
  const w = Math.round(Math.abs(r)) + 3;
  const objU = new Float64Array(L);
  const objN = new Float64Array(L);
  const bgU = new Float64Array(L);
  const bgN = new Float64Array(L);
  let gObj = 0;
  let nObj = 0;
  let gBg = 0;
  let nBg = 0;
  let changed = false;
  for (let i = 0; i < L; i++) {
    if (old[i] > 0) {
      objU[i] = u[i];
      objN[i] = 1;
      gObj += u[i];
      nObj++;
    } else {
      bgU[i] = u[i];
      bgN[i] = 1;
      gBg += u[i];
      nBg++;
    }
    if (old[i] > 0 !== neu[i] > 0) changed = true;
  }
  if (!changed || nObj === 0) return;
  gObj /= nObj;
  gBg = nBg > 0 ? gBg / nBg : gObj;
  const so = boxSum(objU, spatial, w);
  const no = boxSum(objN, spatial, w);
  const sb = boxSum(bgU, spatial, w);
  const nb = boxSum(bgN, spatial, w);
  for (let i = 0; i < L; i++) {
    const was = old[i] > 0;
    if (was === neu[i] > 0) continue;
    const om = no[i] > 0.5 ? so[i] / no[i] : gObj;
    const bm = nb[i] > 0.5 ? sb[i] / nb[i] : gBg;
    u[i] += was ? bm - om : om - bm;
  }
}
