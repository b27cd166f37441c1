/**
 * Builders of small Results objects for the view tests: a minimal, valid results file with
 * the taps, splits and numbers a test names, and nothing else. Each builder takes overrides,
 * so a test says only what it is about.
 */
import type { LabelFreeMetrics, PerformanceWithoutLabels, Results, ShiftCopy, SplitResult, Stage, TapInfo, TapMetrics } from '../src/engine/types';

/** A tap named `name` at `index`, by default an encoder ReLU at level 0 with an 8×16×16 output. */
export function tap(name: string, index: number, o: Partial<TapInfo> = {}): TapInfo {
  return { name, op: 'Relu', index, stage: 'encoder', level: 0, shape: [8, 16, 16], receptiveField: { size: 3, jump: 1 }, ...o };
}

/** Taps of a small U: `stages` gives each tap's stage in forward order (levels go down, then up). */
export function uTaps(stages: Stage[] = ['encoder', 'encoder', 'bottleneck', 'decoder', 'decoder']): TapInfo[] {
  let level = 0;
  return stages.map((stage, i) => {
    if (stage === 'bottleneck') level = 1;
    else if (stage === 'decoder') level = Math.max(0, level - (i > 0 && stages[i - 1] === 'decoder' ? 1 : 0));
    return tap(`/t${i}/Relu_output_0`, i, { stage, level });
  });
}

export function split(name: string, o: Partial<SplitResult> = {}): SplitResult {
  const labeled = o.labeled ?? true;
  return { name, labeled, images: 4, performance: labeled ? { dice: 0.8, accuracy: 0.95 } : null, ...o };
}

export function tapMetrics(o: Partial<TapMetrics> = {}): TapMetrics {
  return { db: 1, roughness: 2, knnConfidence: 0.9, knnConfidenceFg: 0.8, featureShift: 1, points: 100, ...o };
}

export function labelFree(o: Partial<LabelFreeMetrics> = {}): LabelFreeMetrics {
  return { roughness: null, knnConfidence: null, featureShift: null, knnDice: null, featureShiftFg: null, ...o };
}

/**
 * Results with `taps` and `splits`, and per split and tap the metrics `value(split, tap)`
 * gives (default: tapMetrics(), without db on unlabeled splits).
 */
export function results(o: {
  taps?: TapInfo[];
  splits?: SplitResult[];
  value?: (split: SplitResult, tap: TapInfo, i: number) => TapMetrics | undefined;
  extra?: Partial<Results>;
} = {}): Results {
  const taps = o.taps ?? uTaps();
  const splits = o.splits ?? [split('train'), split('test'), split('siteB', { labeled: false })];
  const value = o.value ?? ((s: SplitResult) => tapMetrics(s.labeled ? {} : { db: null }));
  const metrics: Results['metrics'] = {};
  for (const s of splits) {
    metrics[s.name] = {};
    taps.forEach((t, i) => {
      const m = value(s, t, i);
      if (m) metrics[s.name][t.name] = m;
    });
  }
  return {
    schema: 'unet-lens/results@1',
    methodVersion: '1',
    createdAt: '2026-01-01T00:00:00.000Z',
    tool: { name: 'unet-lens', version: '0.0.0', backend: 'test' },
    model: { path: '/m/model.onnx', sha256: '0'.repeat(64), format: 'onnx', inputs: [], outputs: [] },
    dataset: { path: '/m/unetlens.json', task: 'segmentation', classes: ['background', 'lesion'] },
    settings: { maxPoints: 100, k: 10, seed: 0, maxTaps: 64 },
    taps,
    tapsLeftOut: [],
    splits,
    metrics,
    pca: {},
    maps: { items: [] },
    warnings: [],
    timings: { totalMs: 0, loadMs: 0, forwardMs: 0, metricsMs: 0 },
    ...o.extra,
  };
}

/** A shifted copy of `family` at `strength` with true performance `performance` and LOFO predictions. */
export function shiftCopy(family: ShiftCopy['family'], strength: number, performance: number, lofo: Partial<ShiftCopy['lofo']> = {}): ShiftCopy {
  return {
    family,
    strength,
    label: family === 'none' ? 'unshifted' : `${family} ${strength}`,
    images: 4,
    performance,
    output: { maxProbability: 0.9, entropy: 0.2, foreground: 0.1 },
    features: {},
    lofo: { features: null, maxProbability: null, entropy: null, ...lofo },
  };
}

/**
 * A performance-without-labels section over `taps`: the copies given, ρ per tap from `rho`,
 * and the estimates of each unlabeled split.
 */
export function withoutLabelsSection(o: {
  taps: TapInfo[];
  shifts?: ShiftCopy[];
  rho?: (tap: TapInfo, i: number) => Partial<LabelFreeMetrics>;
  estimates?: PerformanceWithoutLabels['splits'];
}): PerformanceWithoutLabels {
  const indicativeness: PerformanceWithoutLabels['indicativeness'] = {};
  o.taps.forEach((t, i) => (indicativeness[t.name] = labelFree(o.rho?.(t, i) ?? {})));
  return {
    metric: 'dice',
    calibration: { splits: ['test'], images: 4, heldOutOfTrain: false },
    settings: { maxPoints: 100, kmeansInits: 1, families: ['noise'], strengths: { noise: [0.1, 0.2] } },
    shifts: o.shifts ?? [shiftCopy('none', 0, 0.8, { features: 0.78 }), shiftCopy('noise', 0.1, 0.7, { features: 0.72 }), shiftCopy('noise', 0.2, 0.5, { features: 0.55 })],
    indicativeness,
    predictors: { features: null, maxProbability: null, entropy: null },
    splits: o.estimates ?? {},
    timingMs: 0,
  };
}

/** A light theme with fixed colours (what readTheme() gives in a light VS Code, roughly). */
export function testTheme(): import('../webview/theme').Theme {
  const charts = { blue: '#1a85ff', orange: '#d18616', green: '#388a34', purple: '#652d90', red: '#e51400', yellow: '#bf8803' };
  return { kind: 'light', fg: '#333333', bg: '#ffffff', muted: '#777777', border: '#cccccc', grid: '#eeeeee', focus: '#0090f1', series: Object.values(charts), charts, font: 'sans-serif', fontSize: 13 };
}
