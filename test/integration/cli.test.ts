/**
 * The CLI of CONTRACT.md §2 on the bundled example: exit codes, the results file's shape
 * (CONTRACT.md §3), the report, and failures that say what and where.
 * Runs the built bundle (dist/cli.js), as a user would. The example is analysed once (the
 * `before` hook) and every test that reads a finished run reads that one; the tests of
 * options that change the run (--no-shifts, determinism) use the small seg2d fixture.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ANALYSIS_EXEC_ARGV, analysisProcessEnv } from '../../src/engine/limits';

const root = resolve(__dirname, '..', '..');
const cli = join(root, 'dist', 'cli.js');
const model = join(root, 'examples', 'synthetic', 'model.onnx');
const data = join(root, 'examples', 'synthetic', 'unetlens.json');
const tmp = () => mkdtempSync(join(tmpdir(), 'unetlens-cli-'));
const runCli = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
const seg2d = join(root, 'test', 'fixtures', 'tasks', 'seg2d');

/** The one full run of the example: `analyze --max-points 512 --json`. */
let example: { out: string; r: SpawnSyncReturns<string> };
before(() => {
  const out = tmp();
  example = { out, r: runCli(['analyze', model, '--data', data, '--out', out, '--max-points', '512', '--json']) };
});

test('--no-shifts leaves the shift sweep out (no performanceWithoutLabels, no predictedPerformance)', () => {
  const out = tmp();
  const r = runCli(['analyze', join(seg2d, 'seg2d.onnx'), '--data', join(seg2d, 'unetlens.json'), '--out', out, '--no-shifts']);
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.equal(res.performanceWithoutLabels, undefined);
  assert.ok(res.splits.every((s: { predictedPerformance?: unknown }) => s.predictedPerformance === undefined));
  assert.ok(!/Shift sweep/.test(r.stderr));
});

test('analyze on the example writes results.json and report.html per the contract', () => {
  const { out, r } = example;
  assert.equal(r.status, 0, r.stderr);
  // --json: one JSON object per progress line on stderr
  const events = r.stderr.trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(events.some((e) => e.stage === 'forward' && e.total === 96), 'forward progress counts all 96 images');
  assert.equal(events.at(-1).stage, 'done');

  const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.equal(res.schema, 'unet-lens/results@1');
  assert.equal(res.methodVersion, '1');
  assert.ok(!Number.isNaN(Date.parse(res.createdAt)));
  assert.equal(res.model.format, 'onnx');
  assert.match(res.model.sha256, /^[0-9a-f]{64}$/);
  assert.equal(res.dataset.task, 'segmentation');
  assert.deepEqual(res.dataset.classes, ['background', 'lesion']);
  assert.deepEqual(res.settings, { maxPoints: 512, k: 10, seed: 0, maxTaps: 64 });
  assert.equal(res.taps.length, 15);
  assert.deepEqual(res.taps.map((t: { index: number }) => t.index), [...Array(15).keys()]);
  assert.deepEqual(
    [...new Set(res.taps.map((t: { stage: string }) => t.stage))],
    ['encoder', 'bottleneck', 'decoder'],
    'stages in forward order',
  );
  for (const t of res.taps) {
    assert.ok(t.receptiveField.size >= 1 && t.receptiveField.jump > 0);
    assert.equal(t.shape.length, 3);
  }
  assert.deepEqual(res.splits.map((s: { name: string }) => s.name), ['train', 'test', 'siteB']);
  const [train, testSplit, siteB] = res.splits;
  assert.equal(train.images, 48);
  assert.equal(testSplit.images, 24);
  assert.equal(siteB.labeled, false);
  assert.equal(siteB.performance, null);
  // METHOD.md §5: the test split is shifted; siteB gets a predicted Dice with its interval.
  assert.equal(res.performanceWithoutLabels.metric, 'dice');
  assert.deepEqual(res.performanceWithoutLabels.calibration.splits, ['test']);
  const pp = siteB.predictedPerformance;
  assert.ok(pp && pp.low <= pp.dice && pp.dice <= pp.high && pp.low >= 0 && pp.high <= 1, JSON.stringify(pp));
  assert.deepEqual(pp, { dice: res.performanceWithoutLabels.splits.siteB.predicted.features.value, low: res.performanceWithoutLabels.splits.siteB.predicted.features.low, high: res.performanceWithoutLabels.splits.siteB.predicted.features.high });
  assert.ok(events.some((e) => e.stage === 'metrics' && /^Shift sweep: /.test(e.message)), 'the sweep reports its progress');
  // The example's training log says test Dice 0.92: the same network, the same data.
  const log = JSON.parse(readFileSync(join(root, 'examples', 'synthetic', 'training-log.json'), 'utf8'));
  assert.ok(Math.abs(testSplit.performance.dice - log.dice.test) < 1e-3, `test dice ${testSplit.performance.dice} vs ${log.dice.test}`);
  for (const split of ['train', 'test', 'siteB']) {
    for (const t of res.taps) {
      const m = res.metrics[split][t.name];
      assert.ok(m, `metrics for ${split} ${t.name}`);
      assert.equal(m.points, 512);
      if (split === 'siteB') assert.equal(m.db, null, 'db needs labels: null on an unlabeled split');
      else assert.ok(m.db > 0 && Number.isFinite(m.db));
      assert.ok(m.knnConfidence >= 0 && m.knnConfidence <= 1);
      assert.ok(m.featureShift > 0);
    }
  }
  // featureShift on train is 1 by definition (median of the LOO k-th distance over itself).
  for (const t of res.taps) assert.ok(Math.abs(res.metrics.train[t.name].featureShift - 1) < 1e-9);
  for (const t of res.taps) {
    const p = res.pca[t.name];
    assert.equal(p.explainedVariance.length, 3);
    assert.ok(p.explainedVariance[0] >= p.explainedVariance[1]);
    for (const split of ['train', 'test', 'siteB']) {
      assert.ok(p.points[split].length > 0);
      assert.equal(p.points[split][0].length, 4);
    }
  }
  assert.ok(Array.isArray(res.warnings));
  assert.ok(res.timings.totalMs > 0);
  const text = readFileSync(join(out, 'results.json'), 'utf8');
  assert.ok(!/NaN|Infinity/.test(text), 'no NaN or Infinity in the results file');

  const report = readFileSync(join(out, 'report.html'), 'utf8');
  assert.ok(report.includes('id="unetlens-results"'));
  assert.ok(!/(src|href)\s*=\s*["']https?:/i.test(report), 'no remote resources in the report');
});

test('the same inputs and seed give the same numbers', () => {
  const a = tmp();
  const b = tmp();
  for (const out of [a, b]) assert.equal(runCli(['analyze', join(seg2d, 'seg2d.onnx'), '--data', join(seg2d, 'unetlens.json'), '--out', out, '--max-points', '256']).status, 0);
  const ra = JSON.parse(readFileSync(join(a, 'results.json'), 'utf8'));
  const rb = JSON.parse(readFileSync(join(b, 'results.json'), 'utf8'));
  assert.deepEqual(ra.metrics, rb.metrics);
  assert.deepEqual(ra.pca, rb.pca);
  assert.ok(ra.performanceWithoutLabels, 'the fixture has a labelled test split: the sweep runs');
  delete ra.performanceWithoutLabels.timingMs;
  delete rb.performanceWithoutLabels.timingMs;
  assert.deepEqual(ra.performanceWithoutLabels, rb.performanceWithoutLabels);
});

test('bad arguments exit 2 with one clear line', () => {
  const out = tmp();
  let r = runCli(['analyze', model, '--out', out]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--data <unetlens.json> is required/);
  r = runCli(['frobnicate']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command "frobnicate"/);
  r = runCli(['analyze', model, '--data', data, '--out', out, '--max-points', 'many']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--max-points needs an integer/);
  assert.deepEqual(readdirSync(out), [], 'nothing written');
});

test('a missing or bad dataset file exits 2 naming the file and field', () => {
  const out = tmp();
  let r = runCli(['analyze', model, '--data', join(out, 'nope-unetlens.json'), '--out', out]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /nope-unetlens\.json/);
  const bad = join(tmp(), 'unetlens.json');
  writeFileSync(bad, JSON.stringify({ task: 'segmentation', classes: ['a', 'b'], input: { channels: 'one' }, splits: { train: { images: 'x' } } }));
  r = runCli(['analyze', model, '--data', bad, '--out', out]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /input\.channels/);
  assert.equal(r.stderr.trim().split('\n').filter((l) => l.startsWith('unet-lens:')).length, 1, 'one error line');
  assert.ok(!existsSync(join(out, 'results.json')));
});

test('a corrupt model exits 3 naming the file, and leaves the model untouched', () => {
  const dir = tmp();
  const out = join(dir, 'out');
  const corrupt = join(dir, 'model.onnx');
  const bytes = readFileSync(model);
  writeFileSync(corrupt, bytes.subarray(0, Math.floor(bytes.length / 3)));
  const before = readFileSync(corrupt);
  const r = runCli(['analyze', corrupt, '--data', data, '--out', out]);
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /model\.onnx/);
  assert.match(r.stderr, /not a valid ONNX model|truncated/i);
  assert.deepEqual(readFileSync(corrupt), before, 'the model file is not changed');
  assert.ok(!existsSync(join(out, 'results.json')));
});

test('a model whose input cannot take the images exits 3 with both shapes', () => {
  const dir = tmp();
  // The model wants 1×64×64; tell the engine the images are 3-channel 32×32.
  const cfg = JSON.parse(readFileSync(data, 'utf8'));
  cfg.input.size = [32, 48];
  for (const s of Object.values(cfg.splits) as { images: string; labels?: string }[]) {
    s.images = join(root, 'examples', 'synthetic', s.images);
    if (s.labels) s.labels = join(root, 'examples', 'synthetic', s.labels);
  }
  const file = join(dir, 'unetlens.json');
  writeFileSync(file, JSON.stringify(cfg));
  const r = runCli(['analyze', model, '--data', file, '--out', join(dir, 'out')]);
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /64/);
  assert.match(r.stderr, /32/);
});

test('SIGINT cancels with exit code 130 and writes nothing', async () => {
  const out = tmp();
  const child = spawn(process.execPath, [cli, 'analyze', model, '--data', data, '--out', out, '--json'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  await new Promise<void>((resolveStarted) => {
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
      if (stderr.includes('"stage":"forward"')) resolveStarted();
    });
  });
  const t0 = Date.now();
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  assert.equal(code, 130, stderr);
  assert.ok(Date.now() - t0 < 2000, `stopped in ${Date.now() - t0} ms`);
  assert.ok(!existsSync(join(out, 'results.json')));
});

test('analyze runs in a relaunched child with the allocator setting and the gc flag (engine/limits.ts analysisProcessEnv, ANALYSIS_EXEC_ARGV); SIGTERM and SIGKILL of the CLI take the child with them', { skip: process.platform !== 'linux' && 'the relaunch is for glibc' }, async () => {
  const started = async (out: string) => {
    const child = spawn(process.execPath, [cli, 'analyze', model, '--data', data, '--out', out, '--json'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    await new Promise<void>((r) => child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t).includes('"stage":"forward"') && r()));
    // the analysing process: the CLI's only child (/proc/<pid>/task/<pid>/children)
    const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    assert.equal(kids.length, 1, `children of the CLI: ${kids}`);
    return { child, kid: kids[0] };
  };
  const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  const a = await started(tmp());
  const env = readFileSync(`/proc/${a.kid}/environ`, 'utf8').split('\0');
  for (const [k, v] of Object.entries(analysisProcessEnv(process.env))) assert.ok(env.includes(`${k}=${v}`), `the allocator setting ${k}`);
  assert.ok(env.includes(`MALLOC_MMAP_THRESHOLD_=${4 * 1024 ** 3}`));
  assert.ok(env.some((e) => /^GLIBC_TUNABLES=(.*:)?glibc\.malloc\.hugetlb=/.test(e)), 'transparent huge pages asked for');
  const cmdline = readFileSync(`/proc/${a.kid}/cmdline`, 'utf8').split('\0');
  for (const f of ANALYSIS_EXEC_ARGV) assert.ok(cmdline.includes(f), `the child's flags: ${cmdline.join(' ')}`);
  assert.ok(!readFileSync(`/proc/${a.child.pid}/environ`, 'utf8').split('\0').some((e) => e.startsWith('MALLOC_MMAP_THRESHOLD_=')), 'the CLI itself started without it');
  a.child.kill('SIGTERM');
  const sig = await new Promise<NodeJS.Signals | null>((r) => a.child.on('exit', (_c, s) => r(s)));
  assert.equal(sig, 'SIGTERM', 'the CLI ends as its child did: by the signal');
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(!alive(a.kid), 'the child got the SIGTERM');
  const b = await started(tmp());
  b.child.kill('SIGKILL');
  await new Promise((r) => b.child.on('exit', r));
  const t0 = Date.now();
  while (alive(b.kid) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 100));
  assert.ok(!alive(b.kid), 'the orphaned child stops within a few seconds');
});

test('a dataset whose images are not where it says fails before touching the model', () => {
  const dir = tmp();
  copyFileSync(model, join(dir, 'model.onnx'));
  const file = join(dir, 'unetlens.json');
  writeFileSync(file, JSON.stringify({ task: 'segmentation', classes: ['bg', 'fg'], splits: { train: { images: 'data/train/images' } } }));
  const r = runCli(['analyze', join(dir, 'model.onnx'), '--data', file, '--out', join(dir, 'out')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /data\/train\/images/);
});
