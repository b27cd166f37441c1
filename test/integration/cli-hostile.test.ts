/**
 * Hostile command lines and paths (issue #14): every one ends with exit 2 or 3 and one line
 * that names the file or flag and the limit, before any analysis runs; no stack trace
 * reaches the terminal; nothing is written outside --out; temp files of killed writes are
 * removed by the next run. Runs the built bundle (dist/cli.js).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, existsSync, readdirSync, symlinkSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeBytesField, writeMessageField, writeStringField, writeVarintField } from '../../src/engine/model/protobuf';

const root = resolve(__dirname, '..', '..');
const cli = join(root, 'dist', 'cli.js');
const model = join(root, 'examples', 'synthetic', 'model.onnx');
const data = join(root, 'examples', 'synthetic', 'unetlens.json');
const tmp = () => mkdtempSync(join(tmpdir(), 'unetlens-hostile-'));
const runCli = (args: string[], timeout = 20_000) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout });

/** One `unet-lens:` line, no stack frames. */
function oneLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.startsWith('unet-lens:'));
  assert.equal(lines.length, 1, stderr);
  assert.ok(!/\n\s+at /.test(stderr), `no stack trace:\n${stderr}`);
  return lines[0];
}

test('huge numbers in flags exit 2 naming the flag and the limit (no internal error)', () => {
  const out = join(tmp(), 'out');
  for (const [flag, value, limit] of [
    ['--max-points', '99999999999999999999', '1000000'],
    ['--max-points', '1000001', '1000000'],
    ['--k', '1000000', '1024'],
    ['--seed', '1e20', ''],
    ['--max-taps', '99999999999', '4096'],
    ['--threads', '100000', '1024'],
  ]) {
    const r = runCli(['analyze', model, '--data', data, '--out', out, flag, value]);
    assert.equal(r.status, 2, `${flag} ${value}: ${r.stderr}`);
    const line = oneLine(r.stderr);
    assert.ok(line.includes(flag), line);
    if (limit) assert.ok(line.includes(`≤ ${limit}`), line);
  }
  assert.ok(!existsSync(out), 'nothing created');
});

test('"maxPoints": 1e20 in the dataset file exits 2 naming the field and the limit', () => {
  const dir = tmp();
  const cfg = JSON.parse(readFileSync(data, 'utf8'));
  for (const s of Object.values(cfg.splits) as { images: string; labels?: string }[]) {
    s.images = join(root, 'examples', 'synthetic', s.images);
    if (s.labels) s.labels = join(root, 'examples', 'synthetic', s.labels);
  }
  for (const [field, v] of [['maxPoints', 1e20], ['k', 1e6], ['batchSize', 1e9]] as const) {
    const file = join(dir, `${field}-unetlens.json`);
    writeFileSync(file, JSON.stringify({ ...cfg, analysis: { [field]: v } }));
    const r = runCli(['analyze', model, '--data', file, '--out', join(dir, 'out')]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(oneLine(r.stderr), new RegExp(`analysis\\.${field}.*≤ \\d+`));
  }
});

test('--out is checked before the analysis: a file, a results.json folder, a file on the way', () => {
  const dir = tmp();
  const file = join(dir, 'afile');
  writeFileSync(file, 'x');
  let r = runCli(['analyze', model, '--data', data, '--out', file]);
  assert.equal(r.status, 2);
  assert.match(oneLine(r.stderr), /--out .*afile: is a file, not a folder/);
  assert.ok(!/\[forward\]|\[load\]/.test(r.stderr), 'no analysis ran');

  r = runCli(['analyze', model, '--data', data, '--out', join(file, 'sub')]);
  assert.equal(r.status, 2);
  assert.match(oneLine(r.stderr), /afile is a file, not a folder/);

  const out = join(dir, 'out');
  mkdirSync(join(out, 'results.json'), { recursive: true });
  r = runCli(['analyze', model, '--data', data, '--out', out]);
  assert.equal(r.status, 2);
  assert.match(oneLine(r.stderr), /results\.json in it is a folder/);
  assert.ok(!/\[forward\]/.test(r.stderr), 'no analysis ran');
  assert.deepEqual(readdirSync(out), ['results.json'], 'no temp file left');
});

test('a FIFO or a device as the model or the dataset file is refused at once (exit 3 / 2), never waited on', () => {
  const dir = tmp();
  const fifo = join(dir, 'model.onnx');
  execFileSync('mkfifo', [fifo]);
  let t0 = Date.now();
  let r = runCli(['analyze', fifo, '--data', data, '--out', join(dir, 'out')], 10_000);
  assert.equal(r.status, 3, r.stderr);
  assert.match(oneLine(r.stderr), /model\.onnx: the model file is a FIFO \(named pipe\), not a regular file/);
  assert.ok(Date.now() - t0 < 8000);

  const zero = join(dir, 'zero.onnx');
  symlinkSync('/dev/zero', zero);
  r = runCli(['analyze', zero, '--data', data, '--out', join(dir, 'out')], 10_000);
  assert.equal(r.status, 3, r.stderr);
  assert.match(oneLine(r.stderr), /zero\.onnx: the model file is a character device/);

  const dfifo = join(dir, 'fifo-unetlens.json');
  execFileSync('mkfifo', [dfifo]);
  t0 = Date.now();
  r = runCli(['analyze', model, '--data', dfifo, '--out', join(dir, 'out')], 10_000);
  assert.equal(r.status, 2, r.stderr);
  assert.match(oneLine(r.stderr), /fifo-unetlens\.json: the dataset file is a FIFO/);
  assert.ok(!existsSync(join(dir, 'out')));

  // a split's .npy that is a FIFO
  execFileSync('mkfifo', [join(dir, 'train.npy')]);
  const ds = join(dir, 'unetlens.json');
  writeFileSync(ds, JSON.stringify({ task: 'segmentation', classes: ['bg', 'fg'], splits: { train: { images: 'train.npy' } } }));
  t0 = Date.now();
  r = runCli(['analyze', model, '--data', ds, '--out', join(dir, 'out')], 10_000);
  assert.equal(r.status, 2, r.stderr);
  assert.match(oneLine(r.stderr), /split "train": images train\.npy is a FIFO \(named pipe\); only regular files and folders are read \(unetlens\.json, splits\.train\.images\)/);
  assert.ok(Date.now() - t0 < 8000);
});

test('a temp file left by a killed write is removed by the next run; other files stay', () => {
  const out = tmp();
  // A pid that does not run: the largest pid the kernel can hand out, plus one.
  const deadPid = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8')) + 1;
  writeFileSync(join(out, `results.json.${deadPid}.tmp`), '{"half":');
  writeFileSync(join(out, `report.html.${deadPid}.tmp`), '<html');
  writeFileSync(join(out, 'notes.txt'), 'mine');
  writeFileSync(join(out, `results.json.${process.pid}.tmp`), 'a live writer'); // this test process: alive, kept
  const r = runCli(['analyze', model, '--data', data, '--out', out, '--max-points', '64', '--no-shifts'], 120_000);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(readdirSync(out).sort(), ['notes.txt', 'report.html', 'results.json', `results.json.${process.pid}.tmp`].sort());
});

/** An .npy holding one H×W image of `dtype` ('|u1' or '<u2'). */
function npyImage(values: Float32Array, h: number, w: number, dtype: '|u1' | '<u2'): Buffer {
  let hdr = `{'descr': '${dtype}', 'fortran_order': False, 'shape': (${h}, ${w}), }`;
  hdr += ' '.repeat((64 - ((10 + hdr.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  head.writeUInt16LE(hdr.length, 8);
  const data = dtype === '|u1' ? Buffer.from(Uint8Array.from(values)) : Buffer.from(Uint16Array.from(values, (v) => v * 257).buffer);
  return Buffer.concat([head, Buffer.from(hdr, 'latin1'), data]);
}

test('16-bit images with an 8-bit scale, and one 16-bit image among 8-bit ones: warnings, not silent wrong numbers', async () => {
  const { decodePng } = await import('../../src/engine/data/formats/png');
  const dir = tmp();
  const src = join(root, 'examples', 'synthetic', 'data', 'train');
  const names = readdirSync(join(src, 'images')).sort().slice(0, 6);
  for (const [folder, wide] of [['all16', () => true], ['mixed', (i: number) => i === 3]] as const) {
    mkdirSync(join(dir, folder, 'images'), { recursive: true });
    mkdirSync(join(dir, folder, 'masks'), { recursive: true });
    names.forEach((n, i) => {
      const img = decodePng(readFileSync(join(src, 'images', n)), n);
      const [, h, w] = img.dims;
      writeFileSync(join(dir, folder, 'images', n.replace('.png', '.npy')), npyImage(img.data, h, w, wide(i) ? '<u2' : '|u1'));
      writeFileSync(join(dir, folder, 'masks', n), readFileSync(join(src, 'masks', n)));
    });
  }
  const ds = join(dir, 'unetlens.json');
  writeFileSync(
    ds,
    JSON.stringify({
      task: 'segmentation',
      classes: ['background', 'lesion'],
      input: { size: [64, 64], channels: 1, scale: 1 / 255 },
      splits: { train: { images: 'mixed/images', labels: 'mixed/masks' }, test: { images: 'all16/images', labels: 'all16/masks' } },
    }),
  );
  const r = runCli(['analyze', model, '--data', ds, '--out', join(dir, 'out'), '--max-points', '64', '--no-shifts'], 120_000);
  assert.equal(r.status, 0, r.stderr);
  const warnings: string[] = JSON.parse(readFileSync(join(dir, 'out', 'results.json'), 'utf8')).warnings;
  assert.ok(warnings.some((w) => /^Split "train": images of different bit depths: case\d+\.npy fits in 8 bits, case\d+\.npy has values up to \d+/.test(w)), warnings.join('\n'));
  assert.ok(warnings.some((w) => /^Split "test": case\d+\.npy has raw values up to \d+, but input\.scale 0\.003922 implies raw values in \[0, 255\]/.test(w)), warnings.join('\n'));
  assert.match(r.stderr, /unet-lens: warning: Split "test": .*16-bit image with an 8-bit scale/);
});

/** A one-node ONNX model: Conv 1→2 channels, 3×3, padding 1 (no encoder, no decoder). */
function oneConvModel(): Uint8Array {
  const model: number[] = [];
  const vi = (g: number[], field: number, name: string, dims: (number | string)[]) =>
    writeMessageField(g, field, (v) => {
      writeStringField(v, 1, name);
      writeMessageField(v, 2, (tp) =>
        writeMessageField(tp, 1, (tt) => {
          writeVarintField(tt, 1, 1);
          writeMessageField(tt, 2, (sh) => {
            for (const d of dims) writeMessageField(sh, 1, (dim) => (typeof d === 'number' ? writeVarintField(dim, 1, d) : writeStringField(dim, 2, d)));
          });
        }),
      );
    });
  writeVarintField(model, 1, 7);
  writeMessageField(model, 7, (g) => {
    writeMessageField(g, 1, (n) => {
      writeStringField(n, 1, 'x');
      writeStringField(n, 1, 'w');
      writeStringField(n, 2, 'c');
      writeStringField(n, 4, 'Conv');
      writeMessageField(n, 5, (a) => {
        writeStringField(a, 1, 'pads');
        for (const p of [1, 1, 1, 1]) writeVarintField(a, 8, p);
        writeVarintField(a, 20, 7);
      });
    });
    writeStringField(g, 2, 'oneconv');
    writeMessageField(g, 5, (t) => {
      for (const d of [2, 1, 3, 3]) writeVarintField(t, 1, d);
      writeVarintField(t, 2, 1);
      writeStringField(t, 8, 'w');
      writeBytesField(t, 9, new Uint8Array(new Float32Array(18).fill(0.1).buffer));
    });
    vi(g, 11, 'x', ['N', 1, 64, 64]);
    vi(g, 12, 'c', ['N', 2, 64, 64]);
  });
  writeMessageField(model, 8, (o) => {
    writeStringField(o, 1, '');
    writeVarintField(o, 2, 13);
  });
  return Uint8Array.from(model);
}

test('a single-Conv model: the report says it is not an encoder–decoder', () => {
  const dir = tmp();
  writeFileSync(join(dir, 'oneconv.onnx'), oneConvModel());
  const r = runCli(['analyze', join(dir, 'oneconv.onnx'), '--data', data, '--out', join(dir, 'out'), '--max-points', '64', '--no-shifts'], 120_000);
  assert.equal(r.status, 0, r.stderr);
  const warnings: string[] = JSON.parse(readFileSync(join(dir, 'out', 'results.json'), 'utf8')).warnings;
  assert.ok(warnings.includes('oneconv.onnx: 1 tap, none down-sampled: this does not look like an encoder–decoder (UNet); the layer-by-layer view says little about how it generalizes.'), warnings.join('\n'));
});
