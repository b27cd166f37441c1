/**
 * The verdict (CONTRACT.md §3 `verdict`): the answer to the user's question, in sentences,
 * computed from the rest of the results. The panel and report.html print these sentences and
 * nothing else at the top; every number in them is here, none is computed in the webview.
 *
 * - Per unlabelled split: the expected performance against the labelled reference (the
 *   calibration split, e.g. `test`), with its interval and reliability grade, or "cannot
 *   tell" when the interval is wider than `CANNOT_TELL_WIDTH`; the share of pixels predicted
 *   as foreground against the reference's (segmentation); the layers whose features moved
 *   most (feature shift outside the usual band, either side); one suggested action.
 * - Per labelled split other than train: the generalization gap (train − split) and the
 *   first layer where the split's class separation falls behind train's.
 *
 * Pure: reads a Results, returns a Verdict. No I/O.
 */
import { FEATURE_SHIFT_USUAL, metricSpec } from '../protocol/metrics';
import { CANNOT_TELL_WIDTH, estimateNumber, estimateText, fmtNumber, shortTapName } from '../protocol/names';
import type { Estimate, Grade, LabeledVerdict, PerformanceWithoutLabels, Results, Stage, UnlabeledVerdict, Verdict } from './types';

/** An interval wider than this (high − low, on the metric's scale) cannot tell a drop from no drop (METHOD.md §5). */
export { CANNOT_TELL_WIDTH };
/** A drop of the expected performance below the reference larger than this is "a drop". */
export const DROP = 0.05;
/** A generalization gap (train − split) larger than this is worth naming. */
export const GAP = 0.03;
/** A layer's Davies–Bouldin on a split more than this factor above train's: the separation has fallen behind. */
export const DB_BEHIND = 1.1;
/** The foreground share of an unlabelled split off by more than this factor from the reference's is a sign in itself. */
export const FOREGROUND_FACTOR = 1.5;
/** How many layers the verdict names, and how many images it asks to label. */
export const LAYERS_NAMED = 3;
export const IMAGES_TO_LABEL = 10;

/**
 * What the predictor says about one unlabelled split, read in ONE place (the predictor's
 * fields are being revised, issue 10): the estimate, its reliability grade (the engine's when
 * it gives one, under `grade` or `reliability`; else from the interval's width), and the
 * images worst predicted first when the engine lists them (`perImage`, each with an `id`).
 */
export function readPrediction(
  pwl: PerformanceWithoutLabels | undefined,
  split: string,
): { estimate: Estimate | null; grade: Grade | null; gradeFrom: 'engine' | 'width' | null; worstImages: string[] | null; casesFile: string | null } {
  const entry = pwl?.splits?.[split] as (PerformanceWithoutLabels['splits'][string] & { [k: string]: unknown }) | undefined;
  const est = entry?.predicted?.features ?? null;
  if (!est || !Number.isFinite(est.value) || !Number.isFinite(est.low) || !Number.isFinite(est.high)) {
    return { estimate: null, grade: null, gradeFrom: null, worstImages: null, casesFile: null };
  }
  const e = est as Estimate & { grade?: unknown; reliability?: unknown };
  const given = typeof e.grade === 'string' ? e.grade : typeof e.reliability === 'string' ? e.reliability : undefined;
  const isGrade = (g: unknown): g is Grade => g === 'good' || g === 'fair' || g === 'cannot tell';
  const width = est.high - est.low;
  const grade: Grade = isGrade(given) ? given : width > CANNOT_TELL_WIDTH ? 'cannot tell' : width > CANNOT_TELL_WIDTH / 2 ? 'fair' : 'good';
  const list = Array.isArray(entry?.perImage) ? (entry!.perImage as unknown[]) : null;
  const worstImages = list
    ? list.map((x) => (x && typeof x === 'object' && typeof (x as { id?: unknown }).id === 'string' ? (x as { id: string }).id : null)).filter((x): x is string => x !== null)
    : null;
  const casesFile = typeof entry?.casesToLabel === 'string' ? entry.casesToLabel : null;
  return { estimate: { value: est.value, low: est.low, high: est.high }, grade, gradeFrom: isGrade(given) ? 'engine' : 'width', worstImages, casesFile };
}

/** The performance metric the verdict speaks of: the predictor's, else the task's first. */
function primaryMetric(r: Results): string {
  if (r.performanceWithoutLabels?.metric) return r.performanceWithoutLabels.metric;
  return r.dataset.task === 'segmentation' ? 'dice' : r.dataset.task === 'classification' ? 'accuracy' : 'ssim';
}

const n = (v: number, digits = 3) => fmtNumber(v, digits);
const perf = (r: Results, split: string, metric: string): number | null => {
  const v = r.splits.find((s) => s.name === split)?.performance?.[metric];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
};
const pctText = (v: number) => `${(v * 100).toFixed(v < 0.1 ? 1 : 0)} %`;

/** The labelled data the estimate is measured against: the one calibration split (its measured value), else the unshifted copy. */
function reference(r: Results, metric: string): { split: string; value: number; foreground: number | null; labelForeground?: number } | null {
  const pwl = r.performanceWithoutLabels;
  const plain = pwl?.shifts.find((c) => c.family === 'none');
  const fg = plain?.output?.foreground;
  const foreground = typeof fg === 'number' && Number.isFinite(fg) ? fg : null;
  const calib = pwl?.calibration.splits ?? [];
  if (calib.length === 1 && !pwl?.calibration.heldOutOfTrain) {
    const v = perf(r, calib[0], metric);
    const lf = r.splits.find((s) => s.name === calib[0])?.labelForeground;
    if (v !== null) return { split: calib[0], value: v, foreground, ...(typeof lf === 'number' && lf > 0 ? { labelForeground: lf } : {}) };
  }
  if (plain && Number.isFinite(plain.performance)) {
    return { split: pwl!.calibration.heldOutOfTrain ? 'the held-out train images' : calib.join(' + '), value: plain.performance, foreground };
  }
  // No sweep: the first labelled split that is not train.
  const other = r.splits.find((s) => s.labeled && s.name !== 'train' && perf(r, s.name, metric) !== null);
  return other ? { split: other.name, value: perf(r, other.name, metric)!, foreground: null } : null;
}

function tapStage(r: Results, tap: string): Stage {
  return r.taps.find((t) => t.name === tap)?.stage ?? 'encoder';
}

/**
 * The highest pooled Dice a prediction covering a share `predicted` of the pixels can reach when
 * the true share is `trueShare`: 2·min(p, t)/(p + t) (overlap at most the smaller of the two).
 */
export function diceCeiling(predicted: number, trueShare: number): number {
  return predicted + trueShare > 0 ? (2 * Math.min(predicted, trueShare)) / (predicted + trueShare) : 1;
}

/** |ln x|: how far a ratio-to-train is from 1, either way. */
const away = (x: number) => Math.abs(Math.log(x));

/** The layers whose feature shift is outside the usual band, furthest first (beyond what the reference split shows at the same layer). */
function movedMost(r: Results, split: string, ref: string | null): UnlabeledVerdict['movedMost'] {
  const m = r.metrics[split] ?? {};
  const rows: (UnlabeledVerdict['movedMost'][number] & { score: number })[] = [];
  for (const t of r.taps) {
    const v = m[t.name]?.featureShift;
    if (typeof v !== 'number' || !(v > 0)) continue;
    if (v >= FEATURE_SHIFT_USUAL[0] && v <= FEATURE_SHIFT_USUAL[1]) continue;
    const rv = ref ? r.metrics[ref]?.[t.name]?.featureShift : undefined;
    const refValue = typeof rv === 'number' && rv > 0 ? rv : null;
    const score = away(v) - (refValue !== null ? Math.min(away(refValue), away(v)) : 0);
    rows.push({ tap: t.name, stage: t.stage, featureShift: v, reference: refValue, direction: v > 1 ? 'away' : 'collapsed', score });
  }
  rows.sort((a, b) => b.score - a.score || r.taps.findIndex((t) => t.name === a.tap) - r.taps.findIndex((t) => t.name === b.tap));
  return rows.slice(0, LAYERS_NAMED).map(({ score: _s, ...x }) => x);
}

function layerText(x: UnlabeledVerdict['movedMost'][number]): string {
  return `${shortTapName(x.tap)} (${n(x.featureShift, 2)}× train, ${x.direction === 'away' ? 'features far from training' : 'features collapsed'})`;
}

function listText(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function unlabeledVerdict(r: Results, split: string, metric: string, calibrating: boolean): UnlabeledVerdict {
  const title = metricSpec(metric)?.short ?? metric;
  const ref = reference(r, metric);
  const pred = readPrediction(r.performanceWithoutLabels, split);
  const images = r.splits.find((s) => s.name === split)?.images ?? 0;
  const est = pred.estimate;
  let sentence: string;
  let expect: UnlabeledVerdict['expect'];
  const refText = ref ? `${n(ref.value)} measured on ${ref.split}` : 'no labelled split to compare with';
  if (!est && calibrating) {
    expect = 'unknown';
    sentence = `${split}: calibrating… the predicted ${title} comes when the shift sweep is done (${refText}).`;
  } else if (!est) {
    expect = 'unknown';
    sentence = r.performanceWithoutLabels
      ? `${split}: no predicted ${title} (the predictor could not read this split); ${refText}.`
      : `${split}: no predicted ${title} — the shift sweep did not run (it needs a labelled split besides train, or enough train images to hold some out).`;
  } else if (pred.grade === 'cannot tell') {
    expect = 'cannot tell';
    // the words, not a precise-looking number: only where it lies
    sentence = `${split}: cannot tell whether ${title} drops — it could be anywhere from ${estimateNumber(est.low)} to ${estimateNumber(est.high)} (${refText}).`;
  } else {
    const drop = ref ? ref.value - est.value : null;
    expect = drop === null ? 'unknown' : drop > DROP ? 'drop' : drop < -DROP ? 'better' : 'same';
    const vs = ref ? ` vs ${n(ref.value)} measured on ${ref.split}` : '';
    // Ours shrunk all the way to the unshifted copy's value: the split's inputs differ from that copy's by no more than sampling noise.
    const withinNoise = r.performanceWithoutLabels?.splits[split]?.samplingNoise?.shrink === 0 && ref !== null;
    const what =
      drop === null ? ''
      : expect === 'drop' ? ` — a drop of about ${n(drop, 2)}`
      : expect === 'better' ? ' — no drop expected'
      : withinNoise ? ` — about the same: its features differ from ${ref.split}'s by no more than the sampling noise`
      : ' — about the same';
    sentence = `${split}: expected ${title} ${estimateText(est, pred.grade)}${vs}${what} (reliability: ${pred.grade}).`;
  }

  // The share of pixels the model calls foreground: the clearest sign when objects go missing.
  let foreground: UnlabeledVerdict['foreground'] = null;
  let foregroundSentence: string | null = null;
  const fg = r.performanceWithoutLabels?.splits[split]?.output?.foreground;
  if (r.dataset.task === 'segmentation' && typeof fg === 'number' && Number.isFinite(fg) && ref?.foreground != null && ref.foreground > 0) {
    foreground = { split: fg, reference: ref.foreground, referenceSplit: ref.split };
    const cls = r.dataset.classes.length === 2 ? r.dataset.classes[1] : 'foreground';
    const ratio = fg / ref.foreground;
    const how =
      ratio < 1 / FOREGROUND_FACTOR ? `: it finds ${ratio < 0.5 ? 'less than half' : 'much less'} as much ${cls}`
      : ratio > FOREGROUND_FACTOR ? `: it finds ${ratio > 2 ? 'more than twice' : 'much more'} as much ${cls}`
      : ': about the same';
    foregroundSentence = `The model marks ${pctText(fg)} of ${split}'s pixels as ${cls} vs ${pctText(ref.foreground)} on ${ref.split}${how}.`;
    // Binary Dice: the ceiling the predicted share puts on it if the split's true share were the
    // reference's labelled one (said as a condition: prevalence may differ at a new site).
    const off = ratio < 1 / FOREGROUND_FACTOR || ratio > FOREGROUND_FACTOR;
    if (off && metric === 'dice' && r.dataset.classes.length === 2 && ref.labelForeground !== undefined) {
      const ceiling = diceCeiling(fg, ref.labelForeground);
      foreground.ceiling = { value: Math.round(ceiling * 1e4) / 1e4, labelReference: ref.labelForeground };
      foregroundSentence += ` If ${cls} is as common in ${split} as in ${ref.split}'s labels (${pctText(ref.labelForeground)} of pixels), its Dice is at most ${n(ceiling, 2)}.`;
    }
  }

  const moved = movedMost(r, split, ref && r.metrics[ref.split] ? ref.split : null);
  const movedSentence = moved.length
    ? `Features moved most at ${listText(moved.map(layerText))}; ${FEATURE_SHIFT_USUAL[0]}–${FEATURE_SHIFT_USUAL[1]}× is in distribution.`
    : `Features stay in distribution at every layer (feature shift ${FEATURE_SHIFT_USUAL[0]}–${FEATURE_SHIFT_USUAL[1]}× train).`;

  // One action.
  const count = Math.min(IMAGES_TO_LABEL, images || IMAGES_TO_LABEL);
  const listed = pred.worstImages?.slice(0, count) ?? [];
  const foregroundOff = foreground !== null && (foreground.split / foreground.reference < 1 / FOREGROUND_FACTOR || foreground.split / foreground.reference > FOREGROUND_FACTOR);
  let action: UnlabeledVerdict['action'];
  const labelWhich = listed.length
    ? `the ${listed.length} images listed under Without labels (worst predicted first${pred.casesFile ? `, also in ${pred.casesFile}` : ''})`
    : `${count} of ${split}'s ${images} images`;
  if (calibrating) {
    action = { kind: 'none', images: [], sentence: `Wait for the shift sweep: it predicts ${split}'s ${title} without labels.` };
  } else if (expect === 'same' || expect === 'better') {
    action = foregroundOff
      ? { kind: 'check', images: listed, sentence: `Check a few of ${split}'s predictions by eye: the ${title} looks fine but the foreground share is off.` }
      : { kind: 'none', images: [], sentence: `Nothing to do for ${split} now; run the analysis again when its data changes.` };
  } else if (expect === 'drop') {
    action = { kind: 'label', images: listed, sentence: `Label ${labelWhich} and fine-tune on them (or add ${split}-like augmentation), then run the analysis again.` };
  } else {
    action = { kind: 'label', images: listed, sentence: `Label ${labelWhich} and add them to the dataset file as a labelled split: that measures ${split}'s ${title} instead of predicting it.` };
  }

  return {
    split,
    metric,
    reference: ref ? { split: ref.split, value: ref.value } : null,
    estimate: est,
    grade: pred.grade,
    expect,
    sentence,
    foreground,
    foregroundSentence,
    movedMost: moved,
    movedSentence,
    action,
  };
}

function labeledVerdict(r: Results, split: string, metric: string): LabeledVerdict {
  const title = metricSpec(metric)?.short ?? metric;
  const train = perf(r, 'train', metric);
  const value = perf(r, split, metric);
  const gap = train !== null && value !== null ? train - value : null;
  // Where the split's class separation first falls behind train's, in forward order.
  let opensAt: LabeledVerdict['opensAt'] = null;
  for (const t of r.taps) {
    const a = r.metrics.train?.[t.name]?.db;
    const b = r.metrics[split]?.[t.name]?.db;
    if (typeof a === 'number' && typeof b === 'number' && a > 0 && b > a * DB_BEHIND) {
      opensAt = { tap: t.name, stage: tapStage(r, t.name), db: b, trainDb: a };
      break;
    }
  }
  let sentence: string;
  if (gap === null) sentence = `${split}: no ${title} to compare with train's.`;
  else {
    const head = `${split}: ${title} ${n(value!)} vs ${n(train!)} on train`;
    sentence =
      gap > GAP ? `${head} — a generalization gap of ${n(gap, 2)}.`
      : `${head} — no generalization gap (${n(Math.abs(gap), 1)} ${gap >= 0 ? 'lower' : 'higher'}).`;
  }
  const where = opensAt
    ? `Class separation first falls behind train's at ${shortTapName(opensAt.tap)} (${opensAt.stage}): Davies–Bouldin ${n(opensAt.db)} vs ${n(opensAt.trainDb)} on train.`
    : r.dataset.task === 'regression'
      ? null
      : `Class separation stays within ${Math.round((DB_BEHIND - 1) * 100)} % of train's at every layer.`;
  return { split, metric, train, value, gap, opensAt, sentence, whereSentence: where };
}

/**
 * The verdict of these results (CONTRACT.md §3). `calibrating`: partial results streamed
 * before the shift sweep has run (analyze.ts): the unlabelled splits' estimates are still to
 * come, and their sentences and actions say so instead of "the sweep did not run".
 */
export function computeVerdict(r: Results, opts: { calibrating?: boolean } = {}): Verdict {
  const metric = primaryMetric(r);
  const calibrating = opts.calibrating === true && !r.performanceWithoutLabels;
  return {
    unlabeled: r.splits.filter((s) => !s.labeled).map((s) => unlabeledVerdict(r, s.name, metric, calibrating)),
    labeled: r.splits.filter((s) => s.labeled && s.name !== 'train').map((s) => labeledVerdict(r, s.name, metric)),
    ...(calibrating ? { calibrating: true as const } : {}),
  };
}

/** These results with their verdict: as they are when they have one, else with one computed (files written before the verdict existed). */
export function withVerdict(r: Results): Results {
  if (r.verdict || !Array.isArray(r.splits) || !Array.isArray(r.taps) || !r.metrics || !r.dataset) return r;
  try {
    return { ...r, verdict: computeVerdict(r) };
  } catch {
    return r; // a malformed file is drawn as far as it goes, without a verdict
  }
}
