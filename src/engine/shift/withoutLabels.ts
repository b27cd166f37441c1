/**
 * METHOD.md §5 from measured copies to the results section `performanceWithoutLabels`:
 * indicativeness (Spearman per tap and metric), the three calibrated predictors (ours on the
 * interior label-free features, the two output baselines) with their leave-one-family-out
 * errors, and the estimates for the unlabelled splits. Pure: the measuring (forward passes,
 * metrics) is done by the caller (analyze.ts); this file only does arithmetic on its numbers.
 *
 * ## The inputs of the predictors (assembled in shift/inputs.ts)
 *
 * - `features` (ours): per stage of the U (encoder, bottleneck, decoder), the mean over the
 *   stage's taps (where finite) of `knnDice`, `log featureShift` and `log featureShiftFg`
 *   (positive ratios whose effect is multiplicative), and the log share of pixels predicted
 *   as foreground (floored at 1e-4), which tells a model that stops finding the objects —
 *   for segmentation (Dice). Classification (accuracy): `knnConfidence` and `log
 *   featureShift` per stage; regression (SSIM): `log featureShift` and `log roughness`. The
 *   columns finite on every copy go into a ridge fit (predictor.ts). Averaging per stage keeps
 *   the inputs few (≤ 10) next to the ~21 copies; per-tap inputs, roughness and knnConfidence
 *   did no better on the model zoo (bench/README.md). The heat strip still shows every tap and
 *   metric.
 * - `maxProbability`, `entropy`: the mean max-softmax probability and the mean predictive
 *   entropy of the final output, each into a straight line.
 *
 * - For segmentation, also the output-based set features of shift/outputFeatures.ts (soft-Dice
 *   confidence at the fitted temperature, the distances of the predicted objects' counts and sizes
 *   to the training labels', boundary confidence, test-time-augmentation agreement).
 *
 * Issue 10: ours is ANCHORED on the unshifted copy (predictor.ts `calibrateAnchored`: it predicts
 * the change from the unshifted copy's measured performance), its interval is split-conformal on
 * the leave-one-family-out residuals and widened outside the calibration range, and every
 * estimate carries a grade ("good" / "fair" / "cannot tell"). The baselines keep their straight
 * line, with the same conformal interval and grade. For segmentation, ours is the mean of the
 * set-level fit and the per-image aggregate (below), its change from the unshifted copy
 * de-shrunk and its interval normalised by the distance from the unshifted copy (combine.ts).
 *
 * ## Sampling noise
 *
 * The sweep measures the unshifted calibration images in two random halves, `halves.length`
 * times (sweep.ts `HALF_PAIRS`). Their rows join the set-level anchored fit in the anchor's
 * group (in every leave-one-family-out fold: they teach the fit that differences of sampling
 * noise carry no change of performance). Ours on the two halves of a halving, ŷ_a and ŷ_b, give
 * the noise variance of one image's worth, s = mean (ŷ_a − ŷ_b)² / (1/n_a + 1/n_b); a split of
 * m images has τ = √(s·(1/m + 1/n)) (n: the unshifted copy's images) on its change Δ = ŷ − y₀,
 * and ŷ becomes y₀ + max(0, 1 − τ²/Δ²)·Δ, its interval widened by τ in quadrature
 * (`noiseFloor`). Copies are the anchor's own images, so their LOFO figures are not shrunk.
 *
 * Per image (segmentation): a ridge fit (intercept, α by leave-one-family-out error) from the
 * `ImageFeatures` of each image of each copy to its Dice, applied to every image of an
 * unlabelled split; listed worst first, and aggregated (weighted by the predicted foreground
 * share, plus 1e-3 so that an image predicting nothing still counts) to `fromImages`.
 *
 * An unlabelled split missing one of the features the fit uses (its tap held NaN there) is
 * predicted by a fit on the features it has.
 */
import { spearman } from '../metrics/stats';
import {
  LABEL_FREE_METRICS,
  PREDICTORS,
  type Estimate,
  type ImageEstimate,
  type ImageFeatures,
  type SetOutputFeatures,
  type LabelFreeMetrics,
  type OutputStats,
  type PerformanceWithoutLabels,
  type PredictorName,
  type PredictorSummary,
  type ShiftCopy,
  type Stage,
} from '../types';
import { imageFeatures, imageVector, IMAGE_INPUTS, OUTPUT_COLUMNS, outputValue, predictorColumns, predictorMetrics, row, setOut, type CopyMeasure, type OutputContext } from './inputs';
import { anchorDistance, calibrateCombined, columnSd, estimateCombined, sigmaOf, SIGMA_EPS, SIGMA_PER_DISTANCE, type CombinedCalibration, type CombinedRow } from './combine';
import { casesToLabelFile } from '../../protocol/cases';
import { CONFORMAL_MISS, calibrateAnchored, calibrateConformal, conformalHalfWidth, estimateGraded, extrapolation, fitRidgeSelected, grade, predict, slopeOf, type Calibrated, type GradedEstimate, type Model } from './predictor';
import { fitTemperature, TEMPERATURES, type LabelObjects } from './outputFeatures';
import { shiftLabel, type Shift } from './transforms';

export { imageFeatures, IMAGE_INPUTS, OUTPUT_COLUMNS, predictorColumns, predictorMetrics, setOutputFeatures, type CopyMeasure, type ImageRecord, type OutputColumn } from './inputs';

export interface AssembleArgs {
  metric: string;
  /** Range of the metric: predictions and intervals are clipped to it. */
  bounds: [number, number];
  /** In network order, with their stage. */
  taps: { name: string; stage: Stage }[];
  calibration: PerformanceWithoutLabels['calibration'];
  settings: PerformanceWithoutLabels['settings'];
  copies: { shift: Shift; measure: CopyMeasure }[];
  splits: { name: string; measure: CopyMeasure }[];
  /** Segmentation: the objects of the training labels (for the object-statistics features). */
  trainObjects?: LabelObjects | null;
  /**
   * The unshifted calibration images in two random halves, measured as copies (several
   * partitions): the sampling noise of our estimate ("Sampling noise" above). Absent or empty:
   * no noise floor.
   */
  halves?: { a: CopyMeasure; b: CopyMeasure }[];
  timingMs: number;
}


export function assemble(a: AssembleArgs): PerformanceWithoutLabels {
  const y = a.copies.map((c) => c.measure.performance ?? NaN);
  const usable = a.copies.map((c, i) => Number.isFinite(y[i]));
  const idx = a.copies.map((_, i) => i).filter((i) => usable[i]);
  const groups = a.copies.map((c) => c.shift.family);
  const yy = idx.map((i) => y[i]);
  const gg = idx.map((i) => groups[i]);
  const seg = a.metric === 'dice';

  // Temperature: fitted on the unshifted copy's labelled pixels (summed NLL over its images).
  let temperature: number | null = null;
  const plain = a.copies.find((c) => c.shift.family === 'none');
  if (seg && plain?.measure.perImage?.length) {
    const nll = new Array<number>(TEMPERATURES.length).fill(0);
    let count = 0;
    for (const r of plain.measure.perImage)
      if (r.out.nll) {
        r.out.nll.forEach((v, t) => (nll[t] += v));
        count += r.out.nllCount;
      }
    if (count > 0 && nll.every(Number.isFinite)) temperature = fitTemperature(nll);
  }
  const ctx: OutputContext | null = seg && a.copies.some((c) => c.measure.perImage?.length) ? { T: temperature ?? 1, train: a.trainObjects ?? null, memo: new Map() } : null;

  // Indicativeness: Spearman of each tap × metric with the true performance over the copies.
  const indicativeness: PerformanceWithoutLabels['indicativeness'] = {};
  for (const { name: tap } of a.taps) {
    const cell = { roughness: null, knnConfidence: null, featureShift: null, knnDice: null, featureShiftFg: null } as LabelFreeMetrics;
    for (const m of LABEL_FREE_METRICS) {
      const xs = idx.map((i) => a.copies[i].measure.features[tap]?.[m]);
      if (xs.length >= 3 && xs.every((v) => v !== null && v !== undefined && Number.isFinite(v))) {
        const r = spearman(xs as number[], yy);
        cell[m] = r === null ? null : round(r, 4);
      }
    }
    indicativeness[tap] = cell;
  }

  // Columns of our predictor: finite on every usable copy.
  const allCols = predictorColumns(a.taps, a.metric);
  const calibRows = idx.map((i) => row(a.copies[i].measure, allCols, ctx));
  const cols = allCols.filter((_, j) => calibRows.every((r) => r[j] !== null));
  const colIdx = cols.map((c) => allCols.indexOf(c));
  const X = calibRows.map((r) => colIdx.map((j) => r[j] as number));
  const anchor = idx.findIndex((i) => a.copies[i].shift.family === 'none');

  const enough = idx.length >= 4 && new Set(gg).size >= 3;
  const predictors = {} as { [P in PredictorName]: PredictorSummary | null };
  const fits = {} as { [P in PredictorName]: (Calibrated & { min?: number[]; max?: number[] }) | null };
  const logoAll = {} as { [P in PredictorName]: (number | null)[] };

  const summarise = (name: PredictorName, c: (Calibrated & { lofoSlope?: number }) | null, description: string, inputs: string[], anchored: boolean): void => {
    fits[name] = c;
    const logo = new Array<number | null>(a.copies.length).fill(null);
    if (c) idx.forEach((i, r) => (logo[i] = Number.isFinite(c.logo[r]) ? round(c.logo[r], 4) : null));
    logoAll[name] = logo;
    if (!c) {
      predictors[name] = null;
      return;
    }
    // The anchored fit reproduces the unshifted copy by construction: its LOFO figures leave it out.
    const rowsUsed = idx.map((i, r) => r).filter((r) => !(anchored && r === anchor));
    const pairs = rowsUsed.map((r) => [c.logo[r], yy[r]]).filter(([p]) => Number.isFinite(p));
    const rho = pairs.length >= 3 ? spearman(pairs.map((p) => p[0]), pairs.map((p) => p[1])) : null;
    const slope = c.lofoSlope ?? slopeOf(pairs.map((p) => p[0]), pairs.map((p) => p[1]));
    predictors[name] = {
      description,
      inputs,
      lofoMae: Number.isFinite(c.logoMae) ? round(c.logoMae, 4) : null,
      lofoSpearman: rho === null ? null : round(rho, 4),
      interval: Number.isFinite(c.below) ? { below: round(c.below, 4), above: round(c.above, 4) } : null,
      anchored,
      lofoSlope: Number.isFinite(slope) ? round(slope, 4) : null,
    };
  };

  // The halves of the unshifted images as rows of the anchored fit (the anchor's group: in every
  // leave-one-family-out fold): unshifted, labelled, their inputs differ from the anchor's by
  // sampling noise only, so the fit learns those differences carry no change of performance.
  const halfRows: { x: number[]; y: number }[] = [];
  if (anchor >= 0)
    for (const h of a.halves ?? [])
      for (const m of [h.a, h.b]) {
        const r = row(m, cols, ctx);
        if (m.performance !== null && Number.isFinite(m.performance) && r.every((v) => v !== null)) halfRows.push({ x: r as number[], y: m.performance });
      }
  const fitOurs = (Xc: number[][], keep?: number[]) => {
    if (anchor < 0) return calibrateConformal('ridge', Xc, yy, gg, a.bounds);
    const hx = halfRows.map((h) => (keep ? keep.map((j) => h.x[j]) : h.x));
    return calibrateAnchored(Xc.concat(hx), yy.concat(halfRows.map((h) => h.y)), gg.concat(halfRows.map(() => gg[anchor])), anchor, a.bounds);
  };
  if (enough && cols.length > 0) {
    const metricsUsed = predictorMetrics(a.metric).filter((m) => cols.some((c) => c.metric === m)).map((m) => (m === 'knnDice' || m === 'knnConfidence' ? m : `log ${m}`));
    const outUsed = cols.filter((c) => c.metric === 'foreground' || (OUTPUT_COLUMNS as readonly string[]).includes(c.metric)).length;
    summarise(
      'features',
      fitOurs(X),
      `${anchor >= 0 ? 'Anchored ridge regression: the change from the unshifted copy\'s measured value, from the change of the inputs' : 'Ridge regression'} (standardised inputs, α by leave-one-family-out error) on ${cols.length} label-free inputs: per stage of the U, the mean over its taps of ${listing(metricsUsed)}${outUsed ? `, and ${outUsed} output-based input${outUsed > 1 ? 's' : ''} (${cols.filter((c) => !c.taps.length).map((c) => c.name.replace(/^output: /, '')).join('; ')})` : ''}; fitted on ${idx.length} shifted copies. Interval: split-conformal on the leave-one-family-out errors, widened where a split lies outside the calibration range.`,
      cols.map((c) => c.name),
      anchor >= 0,
    );
  } else summarise('features', null, '', [], false);
  for (const which of ['maxProbability', 'entropy'] as const) {
    const xs = idx.map((i) => outputValue(a.copies[i].measure, which));
    if (enough && xs.every((v) => v !== null)) {
      summarise(
        which,
        calibrateConformal('linear', xs.map((v) => [v as number]), yy, gg, a.bounds),
        which === 'maxProbability'
          ? 'Baseline: a straight line from the mean max-softmax probability of the final output.'
          : 'Baseline: a straight line from the mean predictive entropy of the final output.',
        [which],
        false,
      );
    } else summarise(which, null, '', [], false);
  }

  // The per-image predictor (segmentation).
  const withTta = !!ctx && a.copies.every((c) => (c.measure.perImage ?? []).every((r) => r.out.tta !== null)) && a.splits.every((s) => (s.measure.perImage ?? []).every((r) => r.out.tta !== null));
  let imageFit: (Calibrated & { min: number[]; max: number[] }) | null = null;
  let imagePredictor: PredictorSummary | null = null;
  const feats = (m: CopyMeasure) => (m.perImage ?? []).map((r) => imageFeatures(r.out, ctx?.T ?? 1, ctx?.train ?? null));
  if (ctx && enough) {
    const Xi: number[][] = [];
    const yi: number[] = [];
    const gi: string[] = [];
    for (const i of idx) {
      const f = feats(a.copies[i].measure);
      a.copies[i].measure.perImage!.forEach((r, k) => {
        if (r.dice === null || !Number.isFinite(r.dice)) return;
        const v = imageVector(f[k], withTta);
        if (!v.every(Number.isFinite)) return;
        Xi.push(v);
        yi.push(r.dice);
        gi.push(groups[i]);
      });
    }
    if (Xi.length >= 10 && new Set(gi).size >= 3) {
      imageFit = calibrateConformal('ridge', Xi, yi, gi, a.bounds);
      const p = imageFit.logo.filter(Number.isFinite);
      const t = yi.filter((_, r) => Number.isFinite(imageFit!.logo[r]));
      const rho = p.length >= 3 ? spearman(p, t) : null;
      const slope = slopeOf(p, t);
      imagePredictor = {
        description: `Per image: ridge regression (standardised inputs, α by leave-one-family-out error) from ${withTta ? 7 : 6} output-based features of one image to its Dice, fitted on ${Xi.length} images of the shifted copies (images with no object predicted nor true left out). Interval: split-conformal on the leave-one-family-out errors.`,
        inputs: IMAGE_INPUTS.slice(0, withTta ? 7 : 6),
        lofoMae: Number.isFinite(imageFit.logoMae) ? round(imageFit.logoMae, 4) : null,
        lofoSpearman: rho === null ? null : round(rho, 4),
        interval: Number.isFinite(imageFit.below) ? { below: round(imageFit.below, 4), above: round(imageFit.above, 4) } : null,
        anchored: false,
        lofoSlope: Number.isFinite(slope) ? round(slope, 4) : null,
      };
    }
  }

  // The per-image estimates aggregated, anchored like ours: y₀ + A(split) − A(unshifted copy), A the
  // foreground-weighted mean of the per-image predictions; its interval is split-conformal on the
  // copies' leave-one-family-out errors (each family's images left out of the per-image fit).
  const aggregate = (m: CopyMeasure, model: Model): { value: number; ext: number } | null => {
    if (!m.perImage?.length) return null;
    const f = feats(m);
    let sw = 0;
    let sv = 0;
    let se = 0;
    m.perImage.forEach((r, k) => {
      const v = imageVector(f[k], withTta);
      if (!v.every(Number.isFinite)) return;
      const w = r.out.foreground + 1e-3;
      sw += w;
      sv += w * Math.min(a.bounds[1], Math.max(a.bounds[0], predict(model, v)));
      if (imageFit) se += w * extrapolation(model.coef, imageFit.min, imageFit.max, v);
    });
    return sw > 0 ? { value: sv / sw, ext: se / sw } : null;
  };
  const clipB = (v: number) => Math.min(a.bounds[1], Math.max(a.bounds[0], v));
  let aggQ = NaN;
  const lofoAgg = new Array<number | null>(a.copies.length).fill(null);
  const anchorCopy = anchor >= 0 ? a.copies[idx[anchor]].measure : null;
  const y0 = anchor >= 0 ? yy[anchor] : NaN;
  let A0: number | null = null;
  if (imageFit && anchorCopy) {
    A0 = aggregate(anchorCopy, imageFit.model)?.value ?? null;
    const rowsX: number[][] = [];
    const rowsY: number[] = [];
    const rowsG: string[] = [];
    for (const i of idx)
      feats(a.copies[i].measure).forEach((f, k) => {
        const d = a.copies[i].measure.perImage![k].dice;
        const v = imageVector(f, withTta);
        if (d === null || !Number.isFinite(d) || !v.every(Number.isFinite)) return;
        rowsX.push(v);
        rowsY.push(d);
        rowsG.push(groups[i]);
      });
    const abs: number[] = [];
    for (const g of new Set(gg)) {
      if (g === gg[anchor]) continue;
      const tr = rowsG.map((h, r) => (h !== g ? r : -1)).filter((r) => r >= 0);
      if (tr.length < 10) continue;
      const m = fitRidgeSelected(tr.map((r) => rowsX[r]), tr.map((r) => rowsY[r]), tr.map((r) => rowsG[r]));
      const a0 = aggregate(anchorCopy, m)?.value;
      if (a0 === undefined) continue;
      idx.forEach((i, r) => {
        if (gg[r] !== g) return;
        const ai = aggregate(a.copies[i].measure, m)?.value;
        if (ai === undefined) return;
        const v = clipB(y0 + ai - a0);
        lofoAgg[i] = round(v, 4);
        abs.push(Math.abs(v - yy[r]));
      });
    }
    aggQ = conformalHalfWidth(abs);
    if (imagePredictor) imagePredictor.aggregateLofoMae = abs.length ? round(abs.reduce((s2, v) => s2 + v, 0) / abs.length, 4) : null;
  }

  // Ours, final: the mean of the anchored set-level fit and the anchored per-image aggregate,
  // de-shrunk and with a normalised split-conformal interval, both from that mean's
  // leave-one-family-out predictions of the copies (combine.ts).
  let combined: CombinedCalibration | null = null;
  const sdX = columnSd(X);
  const x0 = anchor >= 0 ? X[anchor] : null;
  const fSum = predictors.features;
  if (fSum && fits.features && x0 && Number.isFinite(aggQ)) {
    const rowsC: CombinedRow[] = [];
    const at: number[] = [];
    idx.forEach((i, r) => {
      if (r === anchor) return;
      const ag = lofoAgg[i];
      const sl = fits.features!.logo[r];
      rowsC.push({ pred: ag === null || !Number.isFinite(sl) ? NaN : (sl + ag) / 2, truth: yy[r], group: gg[r], dist: anchorDistance(X[r], x0, sdX) });
      at.push(i);
    });
    combined = calibrateCombined(rowsC, y0, a.bounds);
    const c = combined;
    at.forEach((i, n) => (logoAll.features[i] = Number.isFinite(c.lofo[n]) ? round(c.lofo[n], 4) : null));
    const used = rowsC.map((_, n) => n).filter((n) => Number.isFinite(c.lofo[n]));
    const rho = used.length >= 3 ? spearman(used.map((n) => c.lofo[n]), used.map((n) => rowsC[n].truth)) : null;
    fSum.setLevelLofoMae = fSum.lofoMae;
    fSum.lofoMae = Number.isFinite(c.mae) ? round(c.mae, 4) : null;
    fSum.lofoSpearman = rho === null ? null : round(rho, 4);
    fSum.lofoSlope = Number.isFinite(c.slope) ? round(c.slope, 4) : null;
    fSum.interval = Number.isFinite(c.q) ? { below: round(c.q * sigmaOf(0), 4), above: round(c.q * sigmaOf(0), 4) } : null;
    fSum.intervalPerDistance = Number.isFinite(c.q) ? round(c.q * SIGMA_PER_DISTANCE, 4) : null;
    fSum.deshrink = round(c.k, 4);
    fSum.description = `The mean of two estimates, each anchored on the unshifted copy's measured value: (1) ${fSum.description.replace(/ Interval: .*$/, '')} (2) the per-image estimates aggregated (see imagePredictor), plus their change from the unshifted copy's. Its change from the unshifted copy's value is stretched by ${round(c.k, 3)} (least squares on the leave-one-family-out predictions; 1 when that does not lower their error). Interval: split-conformal (${Math.round((1 - CONFORMAL_MISS) * 100)} %) on the leave-one-family-out errors divided by ${SIGMA_EPS} + ${SIGMA_PER_DISTANCE}·d, d the mean standardised distance of the inputs from the unshifted copy's (narrow near it, wide far from it), widened where a split lies outside the calibration range.`;
  }

  const shifts: ShiftCopy[] = a.copies.map((c, i) => ({
    family: c.shift.family,
    strength: c.shift.strength,
    ...(c.shift.parts ? { parts: c.shift.parts.map((q) => ({ ...q })) } : {}),
    label: shiftLabel(c.shift),
    images: c.measure.images,
    performance: round(y[i], 6),
    output: roundOutput(c.measure.output),
    features: roundFeatures(c.measure.features),
    lofo: { features: logoAll.features[i], maxProbability: logoAll.maxProbability[i], entropy: logoAll.entropy[i] },
    ...(ctx ? { lofoFromImages: lofoAgg[i], outputFeatures: roundSet(setOut(c.measure, ctx)), perImage: (c.measure.perImage ?? []).map((r, k) => ({ dice: r.dice === null ? null : round(r.dice, 6), features: roundImage(feats(c.measure)[k]) })) } : {}),
  }));

  // One split's entry, and ours' final estimate unrounded (null when there is none).
  const splitEntry = (s: { name: string; measure: CopyMeasure }): { entry: PerformanceWithoutLabels['splits'][string]; ours: GradedEstimate | null } => {
    let ours: GradedEstimate | null = null;
    const predicted = {} as { [P in PredictorName]: Estimate | null };
    for (const p of PREDICTORS) predicted[p] = null;
    const fF = fits.features;
    let setEst: (GradedEstimate & { ext: number; dist: number }) | null = null;
    if (fF) {
      const r = row(s.measure, cols, ctx);
      const graded = (c: Calibrated & { min?: number[]; max?: number[] }, x: number[], keep: number[]) => ({
        ...estimateGraded(c, x, a.bounds),
        ext: c.min && c.max ? extrapolation(c.model.coef, c.min, c.max, x) : 0,
        dist: x0 ? anchorDistance(x, keep.map((j) => x0[j]), keep.map((j) => sdX[j])) : 0,
      });
      // Without the columns this split lacks, refitted.
      const keep = r.map((v, j) => (v === null ? -1 : j)).filter((j) => j >= 0);
      if (keep.length === r.length) setEst = graded(fF, r as number[], keep);
      else if (keep.length > 0) setEst = graded(fitOurs(X.map((xr) => keep.map((j) => xr[j])), keep), keep.map((j) => r[j] as number), keep);
      if (setEst) {
        ours = setEst;
        predicted.features = roundEstimate(setEst);
      }
    }
    for (const which of ['maxProbability', 'entropy'] as const) {
      const f = fits[which];
      const v = outputValue(s.measure, which);
      if (f && v !== null) predicted[which] = roundEstimate(estimateGraded(f, [v], a.bounds));
    }
    const entry: PerformanceWithoutLabels['splits'][string] = { output: roundOutput(s.measure.output), features: roundFeatures(s.measure.features), predicted };
    if (ctx) entry.outputFeatures = roundSet(setOut(s.measure, ctx));
    if (imageFit && s.measure.perImage?.length) {
      const f = feats(s.measure);
      const per: ImageEstimate[] = [];
      s.measure.perImage.forEach((r, k) => {
        const v = imageVector(f[k], withTta);
        if (!v.every(Number.isFinite)) return;
        per.push({ id: r.id, file: r.file, ...roundEstimate(estimateGraded(imageFit!, v, a.bounds)) });
      });
      per.sort((p, q) => p.value - q.value || (p.id < q.id ? -1 : p.id > q.id ? 1 : 0));
      entry.perImage = per;
      entry.casesToLabel = casesToLabelFile(s.name);
      entry.imageFeatures = f.map(roundImage);
      const ag = aggregate(s.measure, imageFit.model);
      if (ag && A0 !== null && Number.isFinite(aggQ)) {
        const v = clipB(y0 + ag.value - A0);
        const low = clipB(v - aggQ - ag.ext);
        const high = clipB(v + aggQ + ag.ext);
        entry.fromImages = roundEstimate({ value: v, low, high, grade: grade(low, high), outside: ag.ext > 0 });
        if (setEst && combined && Number.isFinite(combined.q)) {
          // ours, final: the mean of the two, de-shrunk, normalised interval (see above)
          entry.fromSets = roundEstimate(setEst);
          ours = estimateCombined(combined, (setEst.value + v) / 2, setEst.dist, (setEst.ext + ag.ext) / 2, a.bounds);
          predicted.features = roundEstimate(ours);
        }
      } else entry.fromImages = null;
    }
    return { entry, ours };
  };

  // Sampling noise: ours on each half of the unshifted images; the spread between two halves
  // gives the noise of one image's worth, s (see the file header), and a split of m images the
  // noise sd τ = √(s·(1/m + 1/n)) of its change from y₀. The change is shrunk by the positive
  // part of 1 − τ²/Δ², the interval widened by τ in quadrature.
  const nCalib = anchor >= 0 ? a.copies[idx[anchor]].measure.images : 0;
  const pairs: { images: [number, number]; performance: [number, number]; predicted: [number, number]; fromSets?: [number, number]; fromImages?: [number, number] }[] = [];
  if (anchor >= 0 && nCalib > 0)
    for (const h of a.halves ?? []) {
      const ea = splitEntry({ name: 'half a', measure: h.a });
      const eb = splitEntry({ name: 'half b', measure: h.b });
      const [pa, pb] = [ea.ours, eb.ours];
      if (!pa || !pb || !(h.a.images > 0) || !(h.b.images > 0)) continue;
      const both = (f: (e: typeof ea) => number | undefined): [number, number] | undefined => {
        const [u, v] = [f(ea), f(eb)];
        return u !== undefined && v !== undefined ? [u, v] : undefined;
      };
      pairs.push({
        images: [h.a.images, h.b.images],
        performance: [h.a.performance ?? NaN, h.b.performance ?? NaN],
        predicted: [pa.value, pb.value],
        fromSets: both((e) => e.entry.fromSets?.value),
        fromImages: both((e) => e.entry.fromImages?.value),
      });
    }
  const s1 = noiseVariance(pairs);

  const splits: PerformanceWithoutLabels['splits'] = {};
  for (const s of a.splits) {
    const { entry, ours } = splitEntry(s);
    if (ours && Number.isFinite(s1) && Number.isFinite(y0) && s.measure.images > 0) {
      const n = noiseFloor(ours, y0, s1, s.measure.images, nCalib, a.bounds);
      entry.predicted.features = roundEstimate(n.estimate);
      entry.samplingNoise = { sd: round(n.sd, 4), shrink: round(n.shrink, 4), unshrunk: round(ours.value, 4) };
    }
    splits[s.name] = entry;
  }

  return {
    metric: a.metric,
    calibration: a.calibration,
    settings: a.settings,
    shifts,
    indicativeness,
    predictors,
    splits,
    ...(ctx ? { temperature: temperature === null ? null : round(temperature, 4), imagePredictor } : {}),
    ...(pairs.length && Number.isFinite(s1)
      ? {
          samplingNoise: {
            perImageSd: round(Math.sqrt(s1), 4),
            halves: pairs.map((p) => ({
              images: p.images,
              performance: [round(p.performance[0], 6), round(p.performance[1], 6)] as [number, number],
              predicted: [round(p.predicted[0], 4), round(p.predicted[1], 4)] as [number, number],
              ...(p.fromSets && p.fromImages ? { fromSets: p.fromSets, fromImages: p.fromImages } : {}),
            })),
          },
        }
      : {}),
    timingMs: Math.round(a.timingMs),
  };
}


/** s of "Sampling noise": the mean over the halvings of (ŷ_a − ŷ_b)² / (1/n_a + 1/n_b); NaN without one. */
export function noiseVariance(halvings: readonly { images: readonly [number, number]; predicted: readonly [number, number] }[]): number {
  if (!halvings.length) return NaN;
  return halvings.reduce((acc, p) => acc + (p.predicted[0] - p.predicted[1]) ** 2 / (1 / p.images[0] + 1 / p.images[1]), 0) / halvings.length;
}

/**
 * The noise floor of one split's estimate `e` (see "Sampling noise" in the file header): s1 the
 * noise variance of one image's worth, m the split's images, n the unshifted copy's.
 */
export function noiseFloor(e: GradedEstimate, y0: number, s1: number, m: number, n: number, bounds: readonly [number, number]): { estimate: GradedEstimate; sd: number; shrink: number } {
  const sd = Math.sqrt(s1 * (1 / m + 1 / n));
  const delta = e.value - y0;
  const shrink = delta !== 0 ? Math.max(0, 1 - (sd * sd) / (delta * delta)) : 0;
  const value = Math.min(bounds[1], Math.max(bounds[0], y0 + shrink * delta));
  const low = Math.min(bounds[1], Math.max(bounds[0], value - Math.hypot(e.value - e.low, sd)));
  const high = Math.min(bounds[1], Math.max(bounds[0], value + Math.hypot(e.high - e.value, sd)));
  return { estimate: { value, low, high, grade: grade(low, high), outside: e.outside }, sd, shrink };
}

function roundSet(o: SetOutputFeatures | null): SetOutputFeatures | null {
  if (!o) return null;
  return {
    softDice: round(o.softDice, 6),
    objectCountDistance: round(o.objectCountDistance, 6),
    objectSizeDistance: round(o.objectSizeDistance, 6),
    boundaryConfidence: round(o.boundaryConfidence, 6),
    tta: o.tta === null ? null : round(o.tta, 6),
  };
}

function roundImage(f: ImageFeatures): ImageFeatures {
  return {
    softDice: round(f.softDice, 6),
    logForeground: round(f.logForeground, 6),
    logObjects: round(f.logObjects, 6),
    objectCountDistance: round(f.objectCountDistance, 6),
    objectSizeShift: round(f.objectSizeShift, 6),
    boundaryConfidence: round(f.boundaryConfidence, 6),
    tta: f.tta === null ? null : round(f.tta, 6),
  };
}

function round(v: number, digits: number): number {
  if (!Number.isFinite(v)) return v;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function roundEstimate(e: Estimate): Estimate {
  return { value: round(e.value, 4), low: round(e.low, 4), high: round(e.high, 4), ...(e.grade ? { grade: e.grade } : {}), ...(e.outside !== undefined ? { outside: e.outside } : {}) };
}

function roundOutput(o: OutputStats | null): OutputStats | null {
  return o ? { maxProbability: round(o.maxProbability, 6), entropy: round(o.entropy, 6), foreground: round(o.foreground, 6) } : null;
}

function roundFeatures(f: { [tap: string]: LabelFreeMetrics }): { [tap: string]: LabelFreeMetrics } {
  const out: { [tap: string]: LabelFreeMetrics } = {};
  for (const [tap, m] of Object.entries(f)) {
    const r = {} as LabelFreeMetrics;
    for (const k of LABEL_FREE_METRICS) r[k] = m[k] === null || m[k] === undefined ? null : round(m[k] as number, 6);
    out[tap] = r;
  }
  return out;
}

/** "a", "a and b", "a, b and c". */
function listing(items: string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}
