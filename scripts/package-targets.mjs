#!/usr/bin/env node
// One .vsix per platform, each with only its own onnxruntime-node binaries (CPU), and a check
// of what each holds:
//
//   node scripts/package-targets.mjs [--targets linux-x64,win32-x64] [--check-only]
//
// writes dist/unet-lens-<target>.vsix for linux-x64, linux-arm64, darwin-arm64, win32-x64 and
// win32-arm64 (every platform onnxruntime-node 1.30 ships binaries for), then checks each:
//   - it holds its onnxruntime binding (node_modules/onnxruntime-node/bin/napi-v6/<os>/<arch>/
//     onnxruntime_binding.node) and the onnxruntime library that binding loads;
//   - nothing from another platform's bin folder;
//   - it is smaller than 25 MB.
// The onnxruntime library each binding loads (from its import table: readelf / otool / objdump
// -p): libonnxruntime.so.1, libonnxruntime.1.dylib, onnxruntime.dll. DirectML.dll, dxcompiler.dll
// and dxil.dll (Windows GPU execution providers, loaded only on request) are left out: UNet Lens
// runs onnxruntime on the CPU. Prints one JSON line per target, then a table.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, statSync, mkdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = 'node_modules/onnxruntime-node/bin/napi-v6';
export const TARGETS = {
  'linux-x64': { dir: 'linux/x64', files: ['onnxruntime_binding.node', 'libonnxruntime.so.1'] },
  'linux-arm64': { dir: 'linux/arm64', files: ['onnxruntime_binding.node', 'libonnxruntime.so.1'] },
  'darwin-arm64': { dir: 'darwin/arm64', files: ['onnxruntime_binding.node', 'libonnxruntime.1.dylib'] },
  'win32-x64': { dir: 'win32/x64', files: ['onnxruntime_binding.node', 'onnxruntime.dll'] },
  'win32-arm64': { dir: 'win32/arm64', files: ['onnxruntime_binding.node', 'onnxruntime.dll'] },
};
const MAX_BYTES = 25 * 1024 * 1024;

const args = process.argv.slice(2);
const pick = args.includes('--targets') ? args[args.indexOf('--targets') + 1].split(',') : Object.keys(TARGETS);
const checkOnly = args.includes('--check-only');
for (const t of pick) if (!TARGETS[t]) throw new Error(`unknown target ${t} (known: ${Object.keys(TARGETS).join(', ')})`);

/** The base .vscodeignore with the linux-x64 binary line replaced by the target's files. */
export function ignoreFileFor(base, target) {
  const { dir, files } = TARGETS[target];
  const lines = base.split('\n').filter((l) => !l.startsWith(`!${BIN}/`));
  lines.push(`# ${target}: its onnxruntime binding and library only (scripts/package-targets.mjs)`);
  for (const f of files) lines.push(`!${BIN}/${dir}/${f}`);
  return `${lines.join('\n')}\n`;
}

/** Checks a packaged .vsix: its binding and library present, nothing of another platform, size. */
export function checkVsix(file, target) {
  const problems = [];
  const size = statSync(file).size;
  const names = [];
  // List the entries only (the filter sees every entry; returning false skips inflating it).
  unzipSync(readFileSync(file), {
    filter: (f) => {
      names.push(f.name);
      return false;
    },
  });
  const { dir, files } = TARGETS[target];
  for (const f of files) if (!names.includes(`extension/${BIN}/${dir}/${f}`)) problems.push(`missing extension/${BIN}/${dir}/${f}`);
  const foreign = names.filter((n) => n.startsWith(`extension/${BIN}/`) && !n.startsWith(`extension/${BIN}/${dir}/`));
  if (foreign.length) problems.push(`holds other platforms' files: ${foreign.join(', ')}`);
  const extra = names.filter((n) => n.startsWith(`extension/${BIN}/${dir}/`) && !files.some((f) => n.endsWith(`/${f}`)));
  if (extra.length) problems.push(`holds files not needed on the CPU: ${extra.join(', ')}`);
  for (const must of ['extension/dist/extension.js', 'extension/dist/worker.js', 'extension/dist/cli.js', 'extension/dist/tfjs.js', 'extension/dist/tapThread.js', 'extension/dist/webview.js', 'extension/dist/timeline.js', 'extension/dist/media/export_torchscript.py', 'extension/package.json']) {
    if (!names.includes(must)) problems.push(`missing ${must}`);
  }
  if (size >= MAX_BYTES) problems.push(`${(size / 2 ** 20).toFixed(1)} MB is not < 25 MB`);
  return { target, file, bytes: size, entries: names.length, problems };
}

function main() {
  const base = readFileSync(join(root, '.vscodeignore'), 'utf8');
  mkdirSync(join(root, 'dist'), { recursive: true });
  const results = [];
  for (const target of pick) {
    const out = join(root, 'dist', `unet-lens-${target}.vsix`);
    if (!checkOnly) {
      const ignore = join(root, 'dist', `.vscodeignore-${target}`);
      writeFileSync(ignore, ignoreFileFor(base, target));
      const vsce = join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'vsce.cmd' : 'vsce');
      const r = spawnSync(vsce, ['package', '--target', target, '--ignoreFile', ignore, '--allow-missing-repository', '--skip-license', '--no-rewrite-relative-links', '-o', out], {
        cwd: root,
        encoding: 'utf8',
        shell: process.platform === 'win32',
      });
      if (r.status !== 0) {
        console.error(r.stdout, r.stderr);
        process.exit(1);
      }
    }
    if (!existsSync(out)) {
      console.error(`${out} does not exist (run without --check-only)`);
      process.exit(1);
    }
    const c = checkVsix(out, target);
    results.push(c);
    console.log(JSON.stringify(c));
  }
  console.log('\ntarget         size      files  check');
  for (const c of results) console.log(`${c.target.padEnd(14)} ${(c.bytes / 2 ** 20).toFixed(1).padStart(5)} MB ${String(c.entries).padStart(6)}  ${c.problems.length ? c.problems.join('; ') : 'ok'}`);
  if (results.some((c) => c.problems.length)) process.exit(1);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
