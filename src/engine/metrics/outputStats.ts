/**
 * What the final output says about itself: the two baselines of METHOD.md §5, the mean
 * max-softmax probability and the mean predictive entropy, over every output pixel of a split
 * (classification: every image). Streaming; pure: no `vscode`, no I/O.
 *
 * Per pixel, from the K scores of the prediction output:
 * - `softmax` (K ≥ 2): p = softmax(scores) (max-subtracted); max p; entropy −Σ p·ln p.
 * - `sigmoid` (K = 1): p = 1 / (1 + e^−s); `probability` (K = 1): p = s clipped to [0, 1];
 *   max(p, 1 − p); binary entropy −p·ln p − (1 − p)·ln(1 − p).
 * 0·ln 0 counts as 0. `foreground`: the share of pixels whose predicted label (argmax, first
 * on ties; one channel: p > 0.5) is not 0. test/unit/shifts.test.ts checks both against NumPy/SciPy.
 */
import type { OutputStats } from '../types';

export class OutputStatsAccumulator {
  private sumMax = 0;
  private sumEnt = 0;
  private count = 0;
  private fg = 0;
  private e = new Float64Array(0);

  /** `out`: one image's output, channel-major K × L; `dims` = [K, ...spatial]. */
  add(out: Float32Array, dims: readonly number[], activation: 'softmax' | 'sigmoid' | 'probability'): void {
    const K = dims[0];
    const L = out.length / K;
    if (K === 1 || activation !== 'softmax') {
      for (let l = 0; l < L; l++) {
        const s = out[l];
        const p = activation === 'sigmoid' ? 1 / (1 + Math.exp(-s)) : Math.min(1, Math.max(0, s));
        this.sumMax += Math.max(p, 1 - p);
        if (p > 0.5) this.fg++;
        this.sumEnt += xlogx(p) + xlogx(1 - p);
        this.count++;
      }
      return;
    }
    // each pixel's e^(s − max), computed once (the same numbers as computing them twice)
    if (this.e.length < K) this.e = new Float64Array(K);
    const e = this.e;
    for (let l = 0; l < L; l++) {
      let mx = -Infinity;
      let arg = 0;
      for (let k = 0; k < K; k++) {
        if (out[k * L + l] > mx) {
          mx = out[k * L + l];
          arg = k;
        }
      }
      if (arg !== 0) this.fg++;
      let z = 0;
      for (let k = 0; k < K; k++) {
        e[k] = Math.exp(out[k * L + l] - mx);
        z += e[k];
      }
      let ent = 0;
      for (let k = 0; k < K; k++) ent += xlogx(e[k] / z);
      this.sumMax += 1 / z; // the largest probability: e^0 / z
      this.sumEnt += ent;
      this.count++;
    }
  }

  result(): OutputStats | null {
    if (this.count === 0) return null;
    return { maxProbability: this.sumMax / this.count, entropy: this.sumEnt / this.count, foreground: this.fg / this.count };
  }
}

/** −p·ln p (0 at p = 0). */
function xlogx(p: number): number {
  return p > 0 ? -p * Math.log(p) : 0;
}
