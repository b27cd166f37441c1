/**
 * Performance without labels (METHOD.md §5, issue 5): how well does the Dice that the CLI predicts
 * for an UNLABELLED split match the true Dice? Measured on a zoo of small UNets
 * (scripts/make_zoo.py: widths 4/8/16, short and long training, with and without augmentation,
 * clean and noisy labels) and held-out shifted sets whose shifts are NOT among the engine's
 * calibration families (noise, blur, gamma, contrast, scale): lesion size and contrast,
 * background texture, distractor dots, bias field, speckle, pixelation, stripes, rings, site B,
 * combinations, and a fresh in-distribution set.
 *
 *   node --import tsx bench/zoo.bench.ts [--models a,b] [--reuse] [--threads T] [--build] [--zoo lesion,vessel,vol3d | --all-tasks]
 *
 * --zoo picks the zoos (tasks) of scripts/make_zoo.py --task: `lesion` (bench/.data/zoo, the
 * default), `vessel` (bench/.data/zoo-vessel: a 2-D vessel task), `vol3d` (bench/.data/zoo-vol3d:
 * a 3-D UNet on volumes); --all-tasks = the three. With several zoos, the summary tables pool every
 * (model, held-out set) pair of all of them (each set's frozen / related status from its own
 * zoo's truth.json), the per-set tables are one per zoo, and the summary goes to
 * bench/.data/zoo/summary-all.json.
 *
 * 1. Runs `/usr/bin/python3 scripts/make_zoo.py` if bench/.data/zoo/truth.json is missing.
 * 2. Builds (`npm run build`) if dist/cli.js is missing (or with --build), then copies dist/ to
 *    bench/.data/zoo/cli/ and runs that copy, so that a rebuild of dist/ mid-run changes nothing.
 * 3. For every zoo model, one after the other: `node cli.js analyze models/<m>.onnx --data
 *    bench/.data/zoo/unetlens.json --out bench/.data/zoo/out/<m>` (wall time recorded).
 *    --reuse skips a model whose out/<m>/results.json exists; --models picks models.
 * 4. Compares, over zoo × held-out sets, each predictor's estimate
 *    (`performanceWithoutLabels.splits[set].predicted.{features,maxProbability,entropy}`) with the
 *    true Dice of truth.json: pooled Spearman (all pairs), mean per-model Spearman (across the
 *    sets of one model), mean and max absolute error, interval coverage (share of truths within
 *    [low, high]) and mean interval width. Prints markdown tables and writes
 *    bench/.data/zoo/summary.json.
 *
 * Also checks that the engine's own Dice on the labelled test split equals truth.json's (the
 * ONNX export and the torch model agree) and that `splits[i].predictedPerformance` equals the
 * `features` estimate.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { spearman } from '../src/engine/metrics/stats';

const ROOT = resolve(__dirname, '..');
const ZOO = join(ROOT, 'bench/.data/zoo');
const SNAP = join(ZOO, 'cli');
/** make_zoo.py --task name -> its directory. */
const ZOO_DIRS: Record<string, string> = { lesion: ZOO, vessel: join(ROOT, 'bench/.data/zoo-vessel'), vol3d: join(ROOT, 'bench/.data/zoo-vol3d') };
const args = process.argv.slice(2);
const opt = (name: string, dflt: string | undefined) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const REUSE = args.includes('--reuse');
const BUILD = args.includes('--build');
const THREADS = opt('--threads', undefined);
const PREDICTORS = ['features', 'fromImages', 'maxProbability', 'entropy'] as const;
type Predictor = (typeof PREDICTORS)[number];
const LABEL: Record<Predictor, string> = {
  features: 'ours (anchored: interior + output features)',
  fromImages: 'ours, per image aggregated (fromImages)',
  maxProbability: 'max softmax probability',
  entropy: 'predictive entropy',
};

interface Estimate {
  value: number;
  low: number;
  high: number;
  grade?: string;
}
interface Truth {
  task?: string;
  heldOut: string[];
  sets: Record<string, { description: string; kin?: string | null }>;
  models: Record<string, { width: number; steps: number; aug: string; labelNoise: string; trainSeconds: number; onnx: string; dice: Record<string, number> }>;
  wallSeconds: number;
}
/** One (model, held-out set) pair. */
interface Row {
  task: string;
  model: string;
  set: string;
  /** The set has no kin among the calibration families (and is not iid). */
  frozen: boolean;
  truth: number;
  predicted: Record<Predictor, Estimate | null>;
  /** results.splits[i].predictedPerformance, as written. */
  splitPredicted: { dice?: number; low: number; high: number } | null;
}

function sh(cmd: string, argv: string[], what: string): void {
  const r = spawnSync(cmd, argv, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status})`);
}

const mean = (a: number[]) => (a.length ? a.reduce((s, v) => s + v, 0) / a.length : null);
const f2 = (v: number | null | undefined, d = 3) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(d));

function stats(rows: Row[], p: Predictor, models: string[]) {
  const have = rows.filter((r) => r.predicted[p] !== null);
  const t = have.map((r) => r.truth);
  const v = have.map((r) => r.predicted[p]!.value);
  const err = have.map((r) => Math.abs(r.predicted[p]!.value - r.truth));
  const perModel: Record<string, number | null> = {};
  for (const m of models) {
    const mr = have.filter((r) => r.model === m);
    perModel[m] = mr.length >= 3 ? spearman(mr.map((r) => r.predicted[p]!.value), mr.map((r) => r.truth)) : null;
  }
  const pm = Object.values(perModel).filter((x): x is number => x !== null);
  return {
    pairs: rows.length,
    predicted: have.length,
    pooledSpearman: have.length >= 3 ? spearman(v, t) : null,
    meanPerModelSpearman: mean(pm),
    perModelSpearman: perModel,
    mae: mean(err),
    maxError: err.length ? Math.max(...err) : null,
    coverage: mean(have.map((r) => (r.truth >= r.predicted[p]!.low && r.truth <= r.predicted[p]!.high ? 1 : 0))),
    meanWidth: mean(have.map((r) => r.predicted[p]!.high - r.predicted[p]!.low)),
    bias: mean(have.map((r) => r.predicted[p]!.value - r.truth)),
    cannotTell: mean(have.map((r) => (r.predicted[p]!.grade === 'cannot tell' ? 1 : 0))),
  };
}

function summaryTable(o: string[], rows: Row[], models: string[]): void {
  o.push('| predictor | pairs predicted | pooled Spearman | mean per-model Spearman | MAE | max error | mean bias | interval coverage | mean interval width | "cannot tell" |');
  o.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const p of PREDICTORS) {
    const s = stats(rows, p, models);
    o.push(`| ${LABEL[p]} | ${s.predicted}/${s.pairs} | ${f2(s.pooledSpearman)} | ${f2(s.meanPerModelSpearman)} | ${f2(s.mae)} | ${f2(s.maxError)} | ${f2(s.bias)} | ${s.coverage === null ? '–' : `${(100 * s.coverage).toFixed(0)}%`} | ${f2(s.meanWidth)} | ${s.cannotTell === null ? '–' : `${(100 * s.cannotTell).toFixed(0)}%`} |`);
  }
}

function main() {
  // 1. the zoos
  const tasks = args.includes('--all-tasks') ? Object.keys(ZOO_DIRS) : (opt('--zoo', 'lesion') ?? 'lesion').split(',').map((t) => t.trim()).filter(Boolean);
  for (const t of tasks) if (!ZOO_DIRS[t]) throw new Error(`unknown zoo "${t}" (${Object.keys(ZOO_DIRS).join(', ')})`);
  const truths: Record<string, Truth> = {};
  const zooOf: Record<string, string> = {};
  for (const t of tasks) {
    const truthPath = join(ZOO_DIRS[t], 'truth.json');
    if (!existsSync(truthPath)) sh('/usr/bin/python3', [join(ROOT, 'scripts/make_zoo.py'), '--task', t], `scripts/make_zoo.py --task ${t}`);
    truths[t] = JSON.parse(readFileSync(truthPath, 'utf8')) as Truth;
    for (const m of Object.keys(truths[t].models)) {
      if (zooOf[m]) throw new Error(`model "${m}" is in two zoos (${zooOf[m]}, ${t})`);
      zooOf[m] = t;
    }
  }
  const all = Object.keys(zooOf);
  const pick = opt('--models', undefined);
  const models = pick ? pick.split(',').map((s) => s.trim()).filter(Boolean) : all;
  for (const m of models) if (!zooOf[m]) throw new Error(`unknown model "${m}" (zoos ${tasks.join(', ')}: ${all.join(', ')})`);
  const dirOf = (m: string) => ZOO_DIRS[zooOf[m]];
  const truthOf = (m: string) => truths[zooOf[m]];

  // 2. the CLI, a snapshot of dist/
  const needRun = models.some((m) => !REUSE || !existsSync(join(dirOf(m), 'out', m, 'results.json')));
  if (needRun) {
    const needed = ['cli.js', 'webview.js', 'media/panel.css'];
    if (BUILD || needed.some((f) => !existsSync(join(ROOT, 'dist', f)))) sh('npm', ['run', 'build'], 'npm run build');
    mkdirSync(SNAP, { recursive: true });
    for (const f of readdirSync(join(ROOT, 'dist'))) {
      if (/^((cli|webview|worker)\.js(\.map)?|.*\.wasm)$/.test(f) || f === 'media') cpSync(join(ROOT, 'dist', f), join(SNAP, f), { recursive: true });
    }
    const missing = needed.filter((f) => !existsSync(join(SNAP, f)));
    if (missing.length) throw new Error(`dist/ lacks ${missing.join(', ')} (a build under way?): run "npm run build" and retry`);
  }

  // 3. one analysis per model, sequentially
  const cliSeconds: Record<string, number | null> = {};
  const load0 = loadavg()[0];
  for (const m of models) {
    const out = join(dirOf(m), 'out', m);
    if (REUSE && existsSync(join(out, 'results.json'))) {
      cliSeconds[m] = null;
      console.error(`${m}: reusing ${join(dirOf(m), 'out', m, 'results.json')}`);
      continue;
    }
    const argv = [join(SNAP, 'cli.js'), 'analyze', join(dirOf(m), truthOf(m).models[m].onnx), '--data', join(dirOf(m), 'unetlens.json'), '--out', out];
    if (THREADS) argv.push('--threads', THREADS);
    const t0 = performance.now();
    const r = spawnSync(process.execPath, argv, { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28 });
    cliSeconds[m] = (performance.now() - t0) / 1000;
    if (r.status !== 0) {
      console.error(r.stderr.split('\n').slice(-5).join('\n'));
      throw new Error(`CLI failed on ${m} (exit ${r.status})`);
    }
    console.error(`${m}: analyze ${cliSeconds[m]!.toFixed(1)} s`);
  }

  // 4. predicted vs true
  const rows: Row[] = [];
  const checks: Record<string, { testDiceEngine: number | null; testDiceTruth: number; calibrationLofoMae: Record<Predictor, number | null> | null; pwlMs: number | null; totalMs: number | null }> = {};
  const problems: string[] = [];
  const calibrations: Record<string, string> = {};
  for (const m of models) {
    const truth = truthOf(m);
    const res = JSON.parse(readFileSync(join(dirOf(m), 'out', m, 'results.json'), 'utf8'));
    const pwl = res.performanceWithoutLabels;
    if (!pwl) problems.push(`${m}: results.json has no performanceWithoutLabels`);
    else calibrations[zooOf[m]] = `the engine's shift sweep (${pwl.shifts?.length ?? '?'} copies) of ${pwl.calibration?.splits?.join(', ')} (${pwl.calibration?.images} images)`;
    const test = (res.splits as { name: string; performance: { dice?: number } | null }[]).find((s) => s.name === 'test');
    checks[m] = {
      testDiceEngine: test?.performance?.dice ?? null,
      testDiceTruth: truth.models[m].dice.test,
      calibrationLofoMae: pwl ? (Object.fromEntries(PREDICTORS.map((p) => [p, p === 'fromImages' ? (pwl.imagePredictor?.aggregateLofoMae ?? null) : (pwl.predictors?.[p]?.lofoMae ?? null)])) as Record<Predictor, number | null>) : null,
      pwlMs: pwl?.timingMs ?? null,
      totalMs: res.timings?.totalMs ?? null,
    };
    for (const s of truth.heldOut) {
      const split = (res.splits as { name: string; predictedPerformance?: Row['splitPredicted'] }[]).find((x) => x.name === s);
      if (!split) problems.push(`${m}: no split ${s} in results.json`);
      const pred = { ...(pwl?.splits?.[s]?.predicted ?? {}), fromImages: pwl?.splits?.[s]?.fromImages ?? null };
      rows.push({
        task: zooOf[m],
        model: m,
        set: s,
        frozen: s !== 'iid' && (truth.sets[s]?.kin ?? null) === null,
        truth: truth.models[m].dice[s],
        predicted: Object.fromEntries(PREDICTORS.map((p) => [p, pred[p] ?? null])) as Row['predicted'],
        splitPredicted: split?.predictedPerformance ?? null,
      });
    }
  }
  for (const r of rows) {
    const a = r.splitPredicted;
    const b = r.predicted.features;
    if ((a === null) !== (b === null) || (a && b && (Math.abs((a.dice ?? NaN) - b.value) > 1e-9 || Math.abs(a.low - b.low) > 1e-9 || Math.abs(a.high - b.high) > 1e-9))) {
      problems.push(`${r.model}/${r.set}: splits[].predictedPerformance ${JSON.stringify(a)} differs from predicted.features ${JSON.stringify(b)}`);
    }
  }
  const calibration = Object.keys(calibrations).length === 0 ? 'no calibration (no performanceWithoutLabels in the results)' : `calibration: ${tasks.filter((t) => calibrations[t]).map((t) => (tasks.length > 1 ? `${t} ${calibrations[t]}` : calibrations[t])).join('; ')}`;
  const testDiff = Math.max(...models.map((m) => (checks[m].testDiceEngine === null ? Infinity : Math.abs(checks[m].testDiceEngine! - checks[m].testDiceTruth))));
  const setKey = (r: Row) => (tasks.length > 1 ? `${r.task}/${r.set}` : r.set);
  const setKeys = [...new Set(rows.map(setKey))];

  const summary = Object.fromEntries(PREDICTORS.map((p) => [p, stats(rows, p, models)]));
  const bySet = Object.fromEntries(
    setKeys.map((s) => {
      const sr = rows.filter((r) => setKey(r) === s);
      return [s, { meanTruth: mean(sr.map((r) => r.truth)), mae: Object.fromEntries(PREDICTORS.map((p) => [p, stats(sr, p, []).mae])) }];
    }),
  );
  const byModel = Object.fromEntries(
    models.map((m) => {
      const mr = rows.filter((r) => r.model === m);
      return [m, Object.fromEntries(PREDICTORS.map((p) => { const s = stats(mr, p, [m]); return [p, { spearman: s.perModelSpearman[m], mae: s.mae, coverage: s.coverage }]; }))];
    }),
  );

  // print
  const o: string[] = [];
  const nSets = tasks.map((t) => `${t} ${truths[t].heldOut.length}`).join(', ');
  o.push(`**Performance without labels, zoo benchmark**: ${models.length} models (${tasks.map((t) => `${t} ${models.filter((m) => zooOf[m] === t).length}`).join(', ')}) × their zoo's held-out sets (${nSets}) = ${rows.length} pairs; ${calibration}.`);
  o.push(`Run ${new Date().toISOString()} on ${cpus().length} cores, Node ${process.version}; load average ${load0.toFixed(1)} at start, ${loadavg()[0].toFixed(1)} at end. Zoo built in ${tasks.map((t) => `${truths[t].wallSeconds} s (${t})`).join(', ')}.`);
  o.push('');
  o.push('All held-out sets:');
  o.push('');
  summaryTable(o, rows, models);
  o.push('');
  const frozenOf = (t: string) => truths[t].heldOut.filter((s) => s !== 'iid' && (truths[t].sets[s]?.kin ?? null) === null);
  const relatedOf = (t: string) => truths[t].heldOut.filter((s) => s !== 'iid' && (truths[t].sets[s]?.kin ?? null) !== null);
  const perTask = (f: (t: string) => string) => (tasks.length > 1 ? tasks.map((t) => `${t}: ${f(t)}`).join('; ') : f(tasks[0]));
  o.push(`**Frozen families** (no calibration family resembles them; never tuned on): ${perTask((t) => frozenOf(t).join(', '))}.`);
  o.push('');
  summaryTable(o, rows.filter((r) => r.frozen), models);
  o.push('');
  o.push('Sets resembling a calibration family (truth.json `kin`): ' + perTask((t) => relatedOf(t).map((s) => `${s} (${truths[t].sets[s]?.kin})`).join(', ')) + '.');
  o.push('');
  summaryTable(o, rows.filter((r) => r.set !== 'iid' && !r.frozen), models);
  o.push('');
  if (tasks.length > 1) {
    for (const t of tasks) {
      const tr = rows.filter((r) => r.task === t);
      if (!tr.length) continue;
      const tm = models.filter((m) => zooOf[m] === t);
      o.push(`Zoo \`${t}\` alone (${tm.length} models × ${truths[t].heldOut.length} sets), all sets / frozen:`);
      o.push('');
      summaryTable(o, tr, tm);
      o.push('');
      summaryTable(o, tr.filter((r) => r.frozen), tm);
      o.push('');
    }
  }
  const iid = rows.filter((r) => r.set === 'iid');
  if (iid.length) {
    const errs = iid.map((r) => (r.predicted.features ? Math.abs(r.predicted.features.value - r.truth) : Infinity));
    o.push(`**iid** (fresh unshifted set): |predicted − true| per model, ours: ${iid.map((r, i) => `${r.model} ${f2(errs[i])}`).join(', ')} (max ${f2(Math.max(...errs))}; ${errs.filter((e) => e <= 0.03).length}/${errs.length} models within 0.03; the goal is ≤ 0.03 on every model). |test Dice − iid Dice| (the anchor's own sampling difference): ${iid.map((r) => `${r.model} ${f2(Math.abs(truthOf(r.model).models[r.model].dice.test - r.truth))}`).join(', ')}.`);
    o.push('');
  }
  const beats = models.filter((m) => {
    const b = byModel[m];
    return b.features.mae !== null && b.features.mae < Math.min(b.maxProbability.mae ?? Infinity, b.entropy.mae ?? Infinity) && (b.features.spearman ?? -Infinity) > Math.max(b.maxProbability.spearman ?? -Infinity, b.entropy.spearman ?? -Infinity);
  });
  o.push(`**Against the baselines**: ours has a lower MAE and a higher Spearman than both max probability and entropy on ${beats.length}/${models.length} models${beats.length < models.length ? ` (not on: ${models.filter((m) => !beats.includes(m)).join(', ')})` : ''}.`);
  o.push('');
  o.push('Per model: Spearman across the held-out sets and MAE (ours / max probability / entropy), CLI wall time, check of the test Dice.');
  o.push('');
  o.push('| model | task | width | steps | aug | label noise | test Dice | Spearman ours / per-image / maxP / ent | MAE ours / per-image / maxP / ent | calibration LOFO MAE ours / per-image / maxP / ent | analyze (s) |');
  o.push('|---|---|---:|---:|---|---|---:|---|---|---|---:|');
  for (const m of models) {
    const t = truthOf(m).models[m];
    const bm = byModel[m];
    const lofo = checks[m].calibrationLofoMae;
    o.push(`| ${m} | ${zooOf[m]} | ${t.width} | ${t.steps} | ${t.aug} | ${t.labelNoise} | ${f2(t.dice.test)} | ${PREDICTORS.map((p) => f2(bm[p].spearman, 2)).join(' / ')} | ${PREDICTORS.map((p) => f2(bm[p].mae)).join(' / ')} | ${lofo ? PREDICTORS.map((p) => f2(lofo[p])).join(' / ') : '–'} | ${cliSeconds[m] === null ? `reused (totalMs ${checks[m].totalMs === null ? '–' : (checks[m].totalMs! / 1000).toFixed(1)} s)` : cliSeconds[m]!.toFixed(1)} |`);
  }
  for (const t of tasks) {
    const tm = models.filter((m) => zooOf[m] === t);
    if (!tm.length) continue;
    const truth = truths[t];
    o.push('');
    o.push(`Per set (rows) × model (columns)${tasks.length > 1 ? `, zoo \`${t}\`` : ''}: true Dice → ours (\`*\`: truth outside ours' interval). Last columns: MAE over the models per predictor.`);
    o.push('');
    o.push(`| set | kin | ${tm.join(' | ')} | MAE ours | MAE per-image | MAE maxP | MAE ent | coverage ours |`);
    o.push(`|---|---|${tm.map(() => '---:').join('|')}|---:|---:|---:|---:|---:|`);
    for (const s of truth.heldOut) {
      const key = tasks.length > 1 ? `${t}/${s}` : s;
      const cells = tm.map((m) => {
        const r = rows.find((x) => x.model === m && x.set === s)!;
        const e = r.predicted.features;
        if (!e) return `${f2(r.truth, 2)} → –`;
        const out = r.truth < e.low || r.truth > e.high ? '*' : '';
        return `${f2(r.truth, 2)} → ${f2(e.value, 2)}${out}`;
      });
      const cov = stats(rows.filter((r) => setKey(r) === key), 'features', []).coverage;
      o.push(`| ${s} | ${truth.sets[s]?.kin ?? (s === 'iid' ? '(iid)' : '**frozen**')} | ${cells.join(' | ')} | ${PREDICTORS.map((p) => f2(bySet[key].mae[p])).join(' | ')} | ${cov === null ? '–' : `${(100 * cov).toFixed(0)}%`} |`);
    }
  }
  o.push('');
  o.push(`Check: |engine test Dice − torch test Dice| ≤ ${f2(testDiff, 4)} over the models (ONNX export agrees with the torch model).`);
  if (problems.length) {
    o.push('');
    o.push(`Problems (${problems.length}):`);
    for (const p of problems.slice(0, 20)) o.push(`- ${p}`);
    if (problems.length > 20) o.push(`- … ${problems.length - 20} more (summary.json)`);
  }
  console.log(o.join('\n'));

  const summaryFile = tasks.length > 1 ? 'summary-all.json' : 'summary.json';
  writeFileSync(
    join(tasks.length > 1 ? ZOO : ZOO_DIRS[tasks[0]], summaryFile),
    JSON.stringify(
      {
        createdAt: new Date().toISOString(),
        tasks,
        models,
        heldOut: Object.fromEntries(tasks.map((t) => [t, truths[t].heldOut])),
        summary,
        byModel,
        bySet,
        cliSeconds,
        checks,
        maxTestDiceDiff: testDiff,
        problems,
        rows,
      },
      null,
      2,
    ) + '\n',
  );
  console.error(`wrote ${join(tasks.length > 1 ? ZOO : ZOO_DIRS[tasks[0]], summaryFile)}`);
}

main();
