/**
 * The fuzz suite of issue #14: seeded, bounded in time. Every case must end with exit 0, 2
 * or 3 (readers: a result or a LensError) within its time limit, with a peak RSS under
 * RSS_BOUND, no stack trace on stderr, and no file written outside --out.
 *
 * - mutated data files of every format (PNG, JPEG, TIFF, NIfTI, .npy, .npz), read by the
 *   engine's readers in a child process per format (its peak RSS measured);
 * - mutated models (ONNX, .h5, .keras) through the CLI;
 * - crafted bombs of each kind and hostile paths through the CLI (decompression bombs, sparse
 *   arrays, /dev/zero, FIFOs, weight paths out of the model's folder, a fixed batch of 20000,
 *   huge settings, bad --out);
 * - hostile worker and webview messages: seeded mutations of the declared examples
 *   (test/unit/messageCases.ts; the protocol tests cover the hand-written malformed ones).
 *
 * UNETLENS_FUZZ_SEED picks another seed (default 14); every process under test gets
 * UNET_LENS_MEMORY_MB=1024 (so one array may use at most 256 MB).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { zipSync } from 'fflate';
import { parseWebviewToHost, parseWorkerMessage, parseWorkerRequest } from '../../src/protocol/messages';
import { createJobHandler } from '../../src/workerHandler';
import { writeMessageField, writeStringField, writeVarintField } from '../../src/engine/model/protobuf';
import { examples } from '../unit/messageCases';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const RSS = path.join(__dirname, 'rss.cjs');
const MODEL = path.join(ROOT, 'examples', 'synthetic', 'model.onnx');
const EXAMPLE = path.join(ROOT, 'examples', 'synthetic');
const FIX = path.join(ROOT, 'test', 'fixtures');
const SEED = Number(process.env.UNETLENS_FUZZ_SEED ?? 14);
const MEMORY_MB = 1024;
/** Peak RSS any process under test may reach (measured: see SECURITY.md). */
const RSS_BOUND = 512 * 2 ** 20;
const CLI_MS = 40_000;
const READER_MS = 10_000;

// ---------------------------------------------------------------- helpers

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded mutation of `src`: bit flips, random bytes, huge 32-bit values, zeroed runs, truncation, a duplicated slice. Biased to the first KB (headers). */
function mutate(src: Uint8Array, rnd: () => number): { bytes: Uint8Array; ops: string[] } {
  let b = Uint8Array.from(src);
  const ops: string[] = [];
  const n = 1 + Math.floor(rnd() * 4);
  const pos = () => Math.floor((rnd() < 0.6 ? Math.min(b.length, 1024) : b.length) * rnd());
  for (let i = 0; i < n && b.length > 0; i++) {
    const op = Math.floor(rnd() * 6);
    const p = pos();
    if (op === 0) {
      b[p] ^= 1 << Math.floor(rnd() * 8);
      ops.push(`flip@${p}`);
    } else if (op === 1) {
      b[p] = Math.floor(rnd() * 256);
      ops.push(`byte@${p}`);
    } else if (op === 2 && p + 4 <= b.length) {
      const v = [0xffffffff, 0x7fffffff, 0x80000000, 0x10000, Math.floor(rnd() * 2 ** 32)][Math.floor(rnd() * 5)];
      new DataView(b.buffer).setUint32(p, v >>> 0, rnd() < 0.5);
      ops.push(`u32@${p}=${v >>> 0}`);
    } else if (op === 3) {
      const len = Math.min(b.length - p, 1 + Math.floor(rnd() * 64));
      b.fill(0, p, p + len);
      ops.push(`zero@${p}+${len}`);
    } else if (op === 4) {
      b = b.slice(0, Math.max(1, p));
      ops.push(`truncate@${b.length}`);
    } else {
      const len = Math.min(b.length - p, 1 + Math.floor(rnd() * 256));
      const out = new Uint8Array(b.length + len);
      out.set(b.subarray(0, p + len), 0);
      out.set(b.subarray(p), p + len);
      b = out;
      ops.push(`dup@${p}+${len}`);
    }
  }
  return { bytes: b, ops };
}

/** Every file under `dir` (relative path, size, mtime), except under `skip`. */
function snapshot(dir: string, skip: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (p === skip) continue;
      if (e.isDirectory()) walk(p);
      else {
        const st = fs.lstatSync(p);
        out.push(`${path.relative(dir, p)}\t${st.size}\t${st.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return out.sort();
}

interface CliOutcome {
  status: number | null;
  stderr: string;
  ms: number;
  rss: number;
}

/** Results of every CLI case, for the summary printed at the end. */
const table: { name: string; status: number | null; ms: number; rssMB: number; line: string }[] = [];

function runCli(name: string, dir: string, args: string[], env: NodeJS.ProcessEnv = {}): CliOutcome {
  const rssFile = path.join(os.tmpdir(), `unetlens-fuzz-rss-${process.pid}-${table.length}`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--require', RSS, CLI, ...args], {
    encoding: 'utf8',
    timeout: CLI_MS,
    cwd: dir,
    env: { ...process.env, UNET_LENS_MEMORY_MB: String(MEMORY_MB), UNETLENS_RSS_FILE: rssFile, ...env },
  });
  const ms = Date.now() - t0;
  const rss = fs.existsSync(rssFile) ? Number(fs.readFileSync(rssFile, 'utf8')) : NaN;
  fs.rmSync(rssFile, { force: true });
  const line = r.stderr.split('\n').filter((l) => l.startsWith('unet-lens:')).pop() ?? '';
  table.push({ name, status: r.status, ms, rssMB: Math.round(rss / 2 ** 20), line: line.slice(0, 160) });
  return { status: r.status, stderr: r.stderr ?? '', ms, rss };
}

/**
 * Runs the CLI on a case folder and checks the invariants: exit code among `codes`, within
 * the time limit, peak RSS under the bound, no stack trace, nothing written outside out/.
 */
function cliCase(name: string, dir: string, model: string, dataset: string, codes: number[], extra: string[] = [], match?: RegExp): CliOutcome {
  const out = path.join(dir, 'out');
  const before = snapshot(dir, out);
  const r = runCli(name, dir, ['analyze', model, '--data', dataset, '--out', out, '--max-points', '64', '--no-shifts', ...extra]);
  const ctx = `${name}: exit ${r.status}, ${r.ms} ms, ${(r.rss / 2 ** 20).toFixed(0)} MB\n${r.stderr.slice(-2000)}`;
  assert.ok(r.status !== null, `${name}: killed after ${CLI_MS} ms (timeout)\n${r.stderr.slice(-1000)}`);
  assert.ok(codes.includes(r.status!), ctx);
  assert.ok(!/\n\s+at .*\(.*:\d+:\d+\)/.test(r.stderr) && !/internal error/.test(r.stderr), `${name}: a stack trace or internal error\n${r.stderr.slice(-2000)}`);
  assert.ok(r.rss < RSS_BOUND, `${name}: peak RSS ${(r.rss / 2 ** 20).toFixed(0)} MB over ${RSS_BOUND / 2 ** 20} MB`);
  assert.deepEqual(snapshot(dir, out), before, `${name}: files changed outside --out`);
  if (match) assert.match(r.stderr, match, ctx);
  return r;
}

const caseDir = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `unetlens-fuzz-${name}-`));

/** A dataset file in `dir` whose train split is `images` (absolute), unlabeled; test/siteB from the example. */
function dataset(dir: string, images: string, extra: Record<string, unknown> = {}): string {
  const file = path.join(dir, 'unetlens.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      task: 'segmentation',
      classes: ['background', 'lesion'],
      input: { size: [64, 64], channels: 1, scale: 1 / 255 },
      splits: { train: { images }, test: { images: path.join(EXAMPLE, 'data/test/images'), labels: path.join(EXAMPLE, 'data/test/masks') } },
      ...extra,
    }),
  );
  return file;
}

/** A folder of the example's first `n` train images plus `extra` files. */
function imageFolder(dir: string, n: number, extra: Record<string, Uint8Array | 'fifo'> = {}): string {
  const images = path.join(dir, 'images');
  fs.mkdirSync(images);
  const src = path.join(EXAMPLE, 'data/train/images');
  for (const f of fs.readdirSync(src).sort().slice(0, n)) fs.copyFileSync(path.join(src, f), path.join(images, f));
  for (const [name, bytes] of Object.entries(extra)) {
    if (bytes === 'fifo') execFileSync('mkfifo', [path.join(images, name)]);
    else fs.writeFileSync(path.join(images, name), bytes);
  }
  return images;
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(td) >>> 0);
  return Buffer.concat([len, td, crc]);
}

/** A PNG that declares w×h grey 8-bit pixels, with a little zlib data. */
function pngDeclaring(w: number, h: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', zlib.deflateSync(Buffer.alloc(1 << 20))),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

/** An .npy header for `shape` float32 (the data is not written). */
function npyHeader(shape: number[]): Buffer {
  let h = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + h.length + 1;
  h += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  head.writeUInt16LE(h.length, 8);
  return Buffer.concat([head, Buffer.from(h, 'latin1')]);
}

/** A zip whose member `name` declares `declared` bytes uncompressed (local and central headers patched). */
function zipDeclaring(members: Record<string, Uint8Array>, name: string, declared: number): Uint8Array {
  const zip = zipSync(members, { level: 6 });
  const dv = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const nameBytes = Buffer.from(name, 'utf8');
  for (let i = 0; i + 46 < zip.length; i++) {
    const sig = dv.getUint32(i, true);
    if (sig === 0x04034b50 && Buffer.from(zip.subarray(i + 30, i + 30 + nameBytes.length)).equals(nameBytes)) dv.setUint32(i + 22, declared, true);
    if (sig === 0x02014b50 && Buffer.from(zip.subarray(i + 46, i + 46 + nameBytes.length)).equals(nameBytes)) dv.setUint32(i + 24, declared, true);
  }
  return zip;
}

/** A one-node ONNX model (Relu) whose input and output declare a fixed batch. */
function fixedBatchModel(batch: number): Uint8Array {
  const model: number[] = [];
  const vi = (g: number[], field: number, name: string) =>
    writeMessageField(g, field, (v) => {
      writeStringField(v, 1, name);
      writeMessageField(v, 2, (tp) =>
        writeMessageField(tp, 1, (tt) => {
          writeVarintField(tt, 1, 1);
          writeMessageField(tt, 2, (sh) => {
            for (const d of [batch, 1, 64, 64]) writeMessageField(sh, 1, (dim) => writeVarintField(dim, 1, d));
          });
        }),
      );
    });
  writeVarintField(model, 1, 7);
  writeMessageField(model, 7, (g) => {
    writeMessageField(g, 1, (n) => {
      writeStringField(n, 1, 'x');
      writeStringField(n, 2, 'y');
      writeStringField(n, 4, 'Relu');
    });
    writeStringField(g, 2, 'fixed');
    vi(g, 11, 'x');
    vi(g, 12, 'y');
  });
  writeMessageField(model, 8, (o) => {
    writeStringField(o, 1, '');
    writeVarintField(o, 2, 13);
  });
  return Uint8Array.from(model);
}

// ---------------------------------------------------------------- mutated data files, per format

const SOURCES: Record<string, string[]> = {
  png: ['data/png/grey8.png', 'data/png/rgb16.png', 'data/png/palette.png'],
  jpeg: ['data/formats/jpeg/grey.jpg', 'data/formats/jpeg/rgb_progressive.jpeg'],
  tiff: ['data/formats/tiff/grey16_lzw.tif', 'data/formats/tiff/grey8_deflate.tif', 'data/formats/tiff/rgba8.tif'],
  nifti: ['data/formats/nifti/vol_f32.nii.gz', 'data/formats/nifti/hand_ext.nii'],
  npy: ['data/npy/u1.npy', 'data/npy/f4.npy', 'data/npy/fortran_hwc.npy'],
  npz: ['data/npz/single.npz', 'data/npz/multi.npz'],
};
const MUTATIONS = 6;

for (const [format, sources] of Object.entries(SOURCES)) {
  test(`mutated ${format} files: every read gives an image or a clear data error, within ${READER_MS / 1000} s and ${RSS_BOUND / 2 ** 20} MB`, () => {
    const dir = caseDir(format);
    try {
      const rnd = prng(SEED ^ format.length * 7919);
      const files: string[] = [];
      const ops: Record<string, string[]> = {};
      for (const src of sources) {
        const bytes = fs.readFileSync(path.join(FIX, src));
        for (let i = 0; i < MUTATIONS; i++) {
          const m = mutate(bytes, rnd);
          const f = path.join(dir, `m${i}-${path.basename(src)}`);
          fs.writeFileSync(f, m.bytes);
          files.push(f);
          ops[f] = m.ops;
        }
      }
      const rssFile = path.join(dir, 'rss');
      const t0 = Date.now();
      const r = spawnSync(process.execPath, ['--require', RSS, '--import', 'tsx', path.join(__dirname, 'readerRunner.ts'), JSON.stringify(files)], {
        encoding: 'utf8',
        timeout: READER_MS * files.length,
        env: { ...process.env, UNET_LENS_MEMORY_MB: String(MEMORY_MB), UNETLENS_RSS_FILE: rssFile },
      });
      assert.equal(r.status, 0, r.stderr);
      const rss = Number(fs.readFileSync(rssFile, 'utf8'));
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { file: string; role: string; outcome: string; ms: number; message: string });
      assert.equal(lines.length, files.length * 2);
      for (const l of lines) {
        assert.notEqual(l.outcome, 'internal', `${path.basename(l.file)} (${ops[l.file].join(' ')}) as ${l.role}: ${l.message}`);
        assert.ok(l.ms < READER_MS, `${path.basename(l.file)}: ${l.ms} ms`);
        if (l.outcome === 'error') assert.ok(l.message.includes(path.basename(l.file)), `the message names the file: ${l.message}`);
      }
      assert.ok(rss < RSS_BOUND, `peak RSS ${(rss / 2 ** 20).toFixed(0)} MB`);
      const errors = lines.filter((l) => l.outcome === 'error').length;
      table.push({ name: `mutated ${format} ×${files.length} (image+mask)`, status: null, ms: Date.now() - t0, rssMB: Math.round(rss / 2 ** 20), line: `${errors} data errors, ${lines.length - errors} read` });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

// ---------------------------------------------------------------- mutated models through the CLI

const MODEL_SOURCES: [string, string, number][] = [
  ['onnx', MODEL, 3],
  ['h5', path.join(FIX, 'tfjs', 'example.h5'), 2],
  ['keras', path.join(FIX, 'tfjs', 'example.keras'), 2],
];

for (const [ext, src, count] of MODEL_SOURCES) {
  test(`mutated .${ext} models: exit 0 or 3 with one line, no stack trace, nothing written beside the model`, () => {
    const rnd = prng(SEED * 31 + ext.length);
    const bytes = fs.readFileSync(src);
    for (let i = 0; i < count; i++) {
      const dir = caseDir(`model-${ext}`);
      try {
        const m = mutate(bytes, rnd);
        const model = path.join(dir, `model.${ext}`);
        fs.writeFileSync(model, m.bytes);
        cliCase(`mutated .${ext} #${i} (${m.ops.join(' ')})`, dir, model, dataset(dir, imageFolder(dir, 3)), [0, 3]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  });
}

// ---------------------------------------------------------------- crafted bombs and hostile paths

test('a PNG declaring 30000×30000 pixels: exit 2 naming the file and the limit, nothing decoded', () => {
  const dir = caseDir('pngbomb');
  try {
    const images = imageFolder(dir, 2, { 'case999.png': pngDeclaring(30000, 30000) });
    cliCase('PNG declaring 30000×30000', dir, MODEL, dataset(dir, images), [2], [], /case999\.png: decoding its declared 30000×30000 pixels needs .* over the limit of 256 MB/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a .nii.gz that inflates past the limit: decompression stops there (exit 2)', () => {
  const dir = caseDir('niibomb');
  try {
    // NIfTI-1 header declaring 1000×1000×300 uint8, then 300 MB of zeros, gzipped (~300 KB)
    const hdr = Buffer.alloc(352);
    hdr.writeInt32LE(348, 0);
    [3, 1000, 1000, 300, 1, 1, 1, 1].forEach((d, i) => hdr.writeInt16LE(d, 40 + 2 * i));
    hdr.writeInt16LE(2, 70); // uint8
    hdr.writeInt16LE(8, 72);
    hdr.writeFloatLE(352, 108);
    hdr.write('n+1\0', 344, 'latin1');
    const zero = Buffer.alloc(1 << 20);
    const parts: Buffer[] = [hdr];
    for (let i = 0; i < 300; i++) parts.push(zero);
    const gz = zlib.gzipSync(Buffer.concat(parts), { level: 9 });
    parts.length = 0;
    const images = imageFolder(dir, 0, { 'vol.nii.gz': gz });
    const file = dataset(dir, images, { input: { size: [64, 64], channels: 1, scale: 1 } });
    cliCase(`.nii.gz of ${(gz.length / 1024).toFixed(0)} KB inflating to 300 MB`, dir, MODEL, file, [2], [], /vol\.nii\.gz: decompresses to more than 256 MB/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an .npz member declaring 4 GB, and one declaring less than it holds: exit 2, bounded', () => {
  const dir = caseDir('npzbomb');
  try {
    const npy = Buffer.concat([npyHeader([2, 64, 64]), Buffer.alloc(2 * 64 * 64 * 4)]);
    fs.writeFileSync(path.join(dir, 'big.npz'), zipDeclaring({ 'images.npy': npy }, 'images.npy', 0xf0000000));
    cliCase('.npz member declaring 4 GB', dir, MODEL, dataset(dir, path.join(dir, 'big.npz')), [2], [], /big\.npz: the member "images\.npy" decompresses to 3\.8 GB, over the limit/);
    fs.writeFileSync(path.join(dir, 'small.npz'), zipDeclaring({ 'images.npy': npy }, 'images.npy', 100));
    cliCase('.npz member declaring less than it holds', dir, MODEL, dataset(dir, path.join(dir, 'small.npz')), [2]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a sparse .npy declaring 4×30000×30000 float32: exit 2 before any item is read', () => {
  const dir = caseDir('sparse');
  try {
    const f = path.join(dir, 'train.npy');
    const head = npyHeader([4, 30000, 30000]);
    fs.writeFileSync(f, head);
    fs.truncateSync(f, head.length + 4 * 30000 * 30000 * 4); // 14 GB, sparse
    cliCase('sparse .npy 4×30000×30000', dir, MODEL, dataset(dir, f), [2], [], /train\.npy: one item of its declared 4×30000×30000 <f4 array needs 6\.7 GB, over the limit of 256 MB/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a .keras archive whose config.json declares 3.7 GB: exit 3 before inflating', () => {
  const dir = caseDir('kerasbomb');
  try {
    const zip = zipDeclaring({ 'config.json': Buffer.from('{}'), 'model.weights.h5': new Uint8Array(8) }, 'config.json', 0xeeeeeeee);
    fs.writeFileSync(path.join(dir, 'model.keras'), zip);
    cliCase('.keras declaring 3.7 GB', dir, path.join(dir, 'model.keras'), dataset(dir, imageFolder(dir, 2)), [3], [], /model\.keras: the archive member config\.json decompresses to 3\.7 GB, over the memory limit/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('/dev/zero as the model, as TF.js weights, weight paths out of the folder, external data out of the folder: exit 3', () => {
  const dir = caseDir('paths');
  try {
    const ds = dataset(dir, imageFolder(dir, 2));
    fs.symlinkSync('/dev/zero', path.join(dir, 'zero.onnx'));
    cliCase('model linked to /dev/zero', dir, path.join(dir, 'zero.onnx'), ds, [3], [], /zero\.onnx: the model file is a character device/);

    const tfjs = path.join(dir, 'tfjs');
    fs.cpSync(path.join(FIX, 'tfjs', 'example'), tfjs, { recursive: true });
    const json = JSON.parse(fs.readFileSync(path.join(tfjs, 'model.json'), 'utf8'));
    for (const [label, p, why] of [
      ['TF.js weights /dev/zero', '/dev/zero', /is not a relative path inside the model's folder/],
      ['TF.js weights ../../etc/passwd', '../../../../../../../../etc/passwd', /points outside the model's folder/],
    ] as const) {
      json.weightsManifest[0].paths = [p];
      fs.writeFileSync(path.join(tfjs, 'model.json'), JSON.stringify(json));
      cliCase(label, dir, path.join(tfjs, 'model.json'), ds, [3], [], why);
    }
    json.weightsManifest[0].paths = ['weights.bin'];
    fs.writeFileSync(path.join(tfjs, 'model.json'), JSON.stringify(json));
    fs.rmSync(path.join(tfjs, 'weights.bin'));
    fs.symlinkSync('/dev/zero', path.join(tfjs, 'weights.bin'));
    cliCase('TF.js weights.bin linked to /dev/zero', dir, path.join(tfjs, 'model.json'), ds, [3], [], /is a link to \/dev\/zero, outside the model's folder/);
    fs.rmSync(path.join(tfjs, 'weights.bin'));
    execFileSync('mkfifo', [path.join(tfjs, 'weights.bin')]);
    cliCase('TF.js weights.bin a FIFO', dir, path.join(tfjs, 'model.json'), ds, [3], [], /not a regular file/);

    const ext = fs.readFileSync(path.join(FIX, 'models', 'unet2d_external.onnx'));
    const from = Buffer.from('unet2d_external.onnx.data');
    const to = Buffer.from('../../../../../etc/passwd');
    assert.equal(from.length, to.length);
    const patched = Buffer.from(ext);
    for (let i = patched.indexOf(from); i >= 0; i = patched.indexOf(from, i + 1)) to.copy(patched, i);
    fs.writeFileSync(path.join(dir, 'ext.onnx'), patched);
    cliCase('ONNX external data ../../etc/passwd', dir, path.join(dir, 'ext.onnx'), ds, [3], [], /points outside the model's folder/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('FIFOs: as the model, as a split .npy, as an image in a folder: refused at once (exit 3 / 2)', () => {
  const dir = caseDir('fifo');
  try {
    execFileSync('mkfifo', [path.join(dir, 'model.onnx')]);
    cliCase('FIFO model.onnx', dir, path.join(dir, 'model.onnx'), dataset(dir, imageFolder(dir, 2)), [3], [], /FIFO/);
    execFileSync('mkfifo', [path.join(dir, 'train.npy')]);
    cliCase('FIFO split train.npy', dir, MODEL, dataset(dir, path.join(dir, 'train.npy')), [2], [], /train\.npy is a FIFO/);
    const d2 = caseDir('fifo2');
    try {
      // A folder's FIFO is never opened: listed as skipped, the other images are analyzed.
      const r = cliCase('FIFO case999.png in a folder', d2, MODEL, dataset(d2, imageFolder(d2, 2, { 'case999.png': 'fifo' })), [0]);
      assert.ok(r.ms < CLI_MS / 2);
    } finally {
      fs.rmSync(d2, { recursive: true, force: true });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a model with a fixed batch of 20000: exit 3 at once, not 20000-image batches', () => {
  const dir = caseDir('batch');
  try {
    const ds = dataset(dir, imageFolder(dir, 2));
    fs.writeFileSync(path.join(dir, 'model.onnx'), fixedBatchModel(20000));
    cliCase('fixed batch 20000', dir, path.join(dir, 'model.onnx'), ds, [3], [], /declares a fixed batch of 20000 images, over the limit of 64/);
    fs.writeFileSync(path.join(dir, 'model.onnx'), fixedBatchModel(1e9));
    cliCase('fixed batch 1e9', dir, path.join(dir, 'model.onnx'), ds, [3], [], /declares a fixed batch of 1000000000 images/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('huge settings and a bad --out: exit 2 before any analysis', () => {
  const dir = caseDir('settings');
  try {
    const images = imageFolder(dir, 2);
    cliCase('"maxPoints": 1e20', dir, MODEL, dataset(dir, images, { analysis: { maxPoints: 1e20 } }), [2], [], /analysis\.maxPoints" must be an integer ≥ 1 and ≤ 1000000/);
    const ds = dataset(dir, images);
    cliCase('--k 1000000', dir, MODEL, ds, [2], ['--k', '1000000'], /--k must be ≤ 1024/);
    cliCase('--max-points 99999999999999999999', dir, MODEL, ds, [2], ['--max-points', '99999999999999999999'], /--max-points must be ≤ 1000000/);
    const out = path.join(dir, 'out');
    fs.mkdirSync(path.join(out, 'results.json'), { recursive: true });
    cliCase('--out/results.json a folder', dir, MODEL, ds, [2], [], /results\.json in it is a folder/);
    assert.deepEqual(fs.readdirSync(out), ['results.json'], 'no temp file left');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------- hostile messages

test('hostile worker and webview messages: seeded mutations of every declared message never throw; the worker handler never rejects', async () => {
  const rnd = prng(SEED);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)];
  const weird: unknown[] = [null, undefined, 0, -1, 1e308, NaN, '', 'x'.repeat(1000), [], {}, true, { __proto__: { type: 'ready' } }, Object.create(null), '__proto__', 'constructor'];
  const mutateMsg = (v: unknown, depth = 0): unknown => {
    if (depth > 3 || v === null || typeof v !== 'object') return rnd() < 0.3 ? pick(weird) : v;
    const o: Record<string, unknown> = Array.isArray(v) ? ([...v] as unknown as Record<string, unknown>) : { ...(v as Record<string, unknown>) };
    const keys = Object.keys(o);
    if (keys.length && rnd() < 0.7) {
      const k = pick(keys);
      o[k] = rnd() < 0.5 ? pick(weird) : mutateMsg(o[k], depth + 1);
    }
    if (rnd() < 0.2) o[pick(['type', 'id', 'constructor', '__proto__', 'toString', 'extra'])] = pick(weird);
    if (keys.length && rnd() < 0.1) delete o[pick(keys)];
    return o;
  };
  const groups: [string, (m: unknown) => { ok: boolean }, unknown[]][] = [
    ['worker requests', parseWorkerRequest, examples.workerRequests],
    ['worker messages', parseWorkerMessage, examples.workerMessages],
    ['webview to host', parseWebviewToHost, examples.webviewToHost],
  ];
  let count = 0;
  for (const [label, parse, base] of groups) {
    for (let i = 0; i < 400; i++) {
      const m = mutateMsg(pick(base));
      let r: { ok: boolean } | undefined;
      assert.doesNotThrow(() => (r = parse(m)), `${label}: ${String(JSON.stringify(m)).slice(0, 200)}`);
      assert.equal(typeof r?.ok, 'boolean');
      count++;
    }
  }
  // The worker's handler: any mutated job ends in a reply or a rejection, never a throw.
  for (let i = 0; i < 100; i++) {
    const exits: number[] = [];
    const handle = createJobHandler({
      send: async () => undefined,
      exit: (c) => void exits.push(c),
      stderr: () => undefined,
      analyze: (async () => {
        throw new Error('not reached in this test');
      }) as never,
      writeOutputs: (async () => undefined) as never,
      distDir: '/nonexistent',
      peakRssBytes: () => 0,
    });
    await assert.doesNotReject(handle(mutateMsg(examples.workerRequests[0])));
    assert.ok(exits.length <= 1);
  }
  table.push({ name: `hostile messages ×${count + 100}`, status: null, ms: 0, rssMB: 0, line: 'no throw, no rejection' });
});

test('summary', () => {
  const rows = table.map((r) => `| ${r.name} | ${r.status ?? '–'} | ${r.line.replace(/\|/g, '/')} | ${r.rssMB} | ${r.ms} |`);
  process.stdout.write(`\n| case | exit | message | peak RSS MB | ms |\n|---|---|---|---|---|\n${rows.join('\n')}\n`);
  if (process.env.UNETLENS_FUZZ_TABLE) fs.writeFileSync(process.env.UNETLENS_FUZZ_TABLE, rows.join('\n'));
});
