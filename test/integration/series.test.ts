/**
 * The checkpoint series end to end (CONTRACT.md §2 `--results-dir` and `timeline`, §4): the
 * fixture test/fixtures/series/ (scripts/make_series_fixture.py: a tiny UNet whose test Dice
 * peaks at epoch 2 and whose generalization gap grows after it) analysed by several CLI
 * processes at once, each started by the SLURM array script of examples/cluster/ with its
 * own SLURM_ARRAY_TASK_ID, into one results folder; then `unet-lens timeline`.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..');
const cli = join(root, 'dist', 'cli.js');
const fixture = join(root, 'test', 'fixtures', 'series');
const script = join(root, 'examples', 'cluster', 'slurm-checkpoints.sh');
const expected = JSON.parse(readFileSync(join(fixture, 'expected.json'), 'utf8')) as {
  peakTestEpoch: number;
  epochs: { epoch: number; file: string; dice: { train: number; test: number } }[];
};
const checkpoints = readdirSync(join(fixture, 'checkpoints')).filter((f) => f.endsWith('.onnx'));

function runTask(task: number, resultsDir: string): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const p = spawn('bash', [script, join(fixture, 'unetlens.json'), join(fixture, 'checkpoints', 'epoch_*.onnx'), resultsDir], {
      env: { ...process.env, SLURM_ARRAY_TASK_ID: String(task), UNETLENS: `${process.execPath} ${cli}`, UNETLENS_ARGS: '--no-shifts --threads 1' },
    });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) => done({ code, out }));
  });
}

let resultsDir: string;
let runs: { code: number | null; out: string }[];
before(async () => {
  resultsDir = mkdtempSync(join(tmpdir(), 'unetlens-series-'));
  // Every array task at once (plus one task index past the end, which has nothing to do).
  runs = await Promise.all([...checkpoints.map((_, i) => runTask(i, resultsDir)), runTask(checkpoints.length, resultsDir)]);
});

test('the SLURM array script: every task exits 0, one results folder per checkpoint, no temporary or torn file', () => {
  for (const r of runs) assert.equal(r.code, 0, r.out);
  const dirs = readdirSync(resultsDir);
  assert.equal(dirs.length, checkpoints.length, dirs.join(', '));
  for (const d of dirs) {
    assert.match(d, /^[0-9a-f]{64}$/);
    const files = readdirSync(join(resultsDir, d)).sort();
    assert.deepEqual(files, ['report.html', 'results.json']);
    const r = JSON.parse(readFileSync(join(resultsDir, d, 'results.json'), 'utf8'));
    assert.equal(r.model.sha256, d, 'the folder is named by the model hash');
  }
  assert.match(runs[checkpoints.length].out, /has no checkpoint/);
});

test('unet-lens timeline assembles the complete series: ordered by epoch, peak at the epoch PyTorch says, the gap grows', () => {
  const r = spawnSync(process.execPath, [cli, 'timeline', resultsDir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(readFileSync(join(resultsDir, 'series.json'), 'utf8'));
  assert.equal(s.schema, 'unet-lens/series@1');
  assert.equal(s.order, 'number');
  assert.deepEqual(s.checkpoints.map((c: { number: number }) => c.number), [1, 2, 3, 4, 5, 6]);
  const test_ = s.splits.find((x: { name: string }) => x.name === 'test');
  const train = s.splits.find((x: { name: string }) => x.name === 'train');
  s.checkpoints.forEach((_: unknown, i: number) => {
    assert.ok(Math.abs(test_.performance[i] - expected.epochs[i].dice.test) < 1e-4, `test Dice of epoch ${i + 1}`);
    assert.ok(Math.abs(train.performance[i] - expected.epochs[i].dice.train) < 1e-4, `train Dice of epoch ${i + 1}`);
  });
  assert.equal(s.best.split, 'test');
  assert.equal(s.checkpoints[s.best.checkpoint].number, expected.peakTestEpoch);
  assert.equal(test_.peak.checkpoint, s.best.checkpoint);
  assert.equal(s.gap.against, 'test');
  assert.ok(s.gap.values[5] > s.gap.values[1] + 0.5, `gap ${s.gap.values}`);
  assert.equal(s.checkpoints[s.gap.widest.checkpoint].number, 6);
  assert.equal(s.taps.length, 15);
  assert.equal(s.metrics.test.db.length, 15);
  assert.equal(s.metrics.test.db[0].length, 6);
  assert.match(r.stderr, /6 checkpoints/);
  assert.ok(statSync(join(resultsDir, 'series.json')).size < 200_000);
});

test('unet-lens timeline on a folder without results fails with exit 2 and says what it expected', () => {
  const r = spawnSync(process.execPath, [cli, 'timeline', mkdtempSync(join(tmpdir(), 'unetlens-empty-'))], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /no results in .*results-dir/);
});

test('compareResults on two of the checkpoints: every number is the one in the two results files', async () => {
  const { compareResults } = await import('../../src/engine/series');
  const files = readdirSync(resultsDir).filter((d) => /^[0-9a-f]{64}$/.test(d)).map((d) => JSON.parse(readFileSync(join(resultsDir, d, 'results.json'), 'utf8')));
  const [a, b] = files;
  const c = compareResults(a, b);
  assert.equal(c.sameGraph, true);
  for (const [split, perMetric] of Object.entries(c.metrics))
    for (const [m, v] of Object.entries(perMetric))
      c.taps.forEach((t, i) => {
        assert.equal(v.a[i], a.metrics[split][t.name][m], `${split} ${t.name} ${m} A`);
        assert.equal(v.b[i], b.metrics[split][t.name][m], `${split} ${t.name} ${m} B`);
      });
  for (const s of c.splits) {
    assert.equal(s.a, a.splits.find((x: { name: string }) => x.name === s.name).performance?.dice ?? null);
    assert.equal(s.b, b.splits.find((x: { name: string }) => x.name === s.name).performance?.dice ?? null);
  }
});
