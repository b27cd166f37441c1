/**
 * The train reference (METHOD.md §4): per tap, what every split is measured against: the
 * train points with their leave-one-out k nearest neighbours (metrics/confidence.ts), the
 * image and location each came from (so the train maps leave a point itself out), and the
 * PCA basis of the tap view. Built once from train's pass, tap by tap before train's metrics
 * of that tap, and passed as a value to every other split's metrics and maps (analyze.ts).
 */
import { buildTrainReferenceAsync, fitPca, type PcaModel, type TrainReference } from '../metrics';
import { checkCancel, type Run, type TapState } from './context';
import type { Sample } from './forwardPass';

export interface TapReference {
  /** The train points of the tap and their leave-one-out neighbours. */
  knn: TrainReference;
  /** Per reference point: the train image (index in the split) and the location it came from. */
  image: Int32Array;
  loc: Int32Array;
  pca: PcaModel;
}

/** Per tap (in `run.taps` order): its reference, or null when train gave it no points (NaN/Inf activations). */
export type TrainReferences = (TapReference | null)[];

/** The tap's own C-vectors of a sample's points, row-major n×C (a sample row is C + prevDim values). */
export function tapPoints(sample: Sample, C: number): Float32Array {
  const { n, dim: D } = sample;
  const P = new Float32Array(n * C);
  for (let i = 0; i < n; i++) P.set(sample.points.subarray(i * D, i * D + C), i * C);
  return P;
}

/**
 * The reference of one tap from train's sampled points (`finishSamples` of train's pass), or
 * null when train gave it none (NaN/Inf activations); `labeled`: whether train's labels go
 * with it (train has labels and the task has classes). Each tap's reference depends on its
 * own points only: analyze.ts builds them tap by tap, each just before train's metrics of that
 * tap, so the first tap's values stream out before the last tap's reference is built.
 */
export async function tapReference(run: Run, tap: TapState, sample: Sample | null, labeled: boolean): Promise<TapReference | null> {
  checkCancel(run.cancel);
  if (!sample || sample.n === 0) return null;
  const n = sample.n;
  const P = tapPoints(sample, tap.C);
  const gt = sample.extras.gt as Int32Array;
  return {
    knn: await buildTrainReferenceAsync({ points: P, n, dim: tap.C, labels: labeled ? gt : null, k: run.settings.k, gemm: run.gemm, topk: run.topk }),
    image: (sample.extras.image as Int32Array).slice(),
    loc: (sample.extras.loc as Int32Array).slice(),
    pca: fitPca(P, n, tap.C, 3),
  };
}
