/**
 * One .vsix per platform (scripts/package-targets.mjs, run here as `npm run package:all` would):
 * each holds its own onnxruntime binding and library, nothing from another platform, the
 * PyTorch export script, and is smaller than 25 MB. Only linux-x64 can be run on this machine;
 * the others are built and checked by content.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(__dirname, '..', '..');

test('every target package holds its onnxruntime binding and library, nothing of another platform, < 25 MB', () => {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'package-targets.mjs')], { cwd: root, encoding: 'utf8', timeout: 600_000 });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const rows = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { target: string; bytes: number; problems: string[] });
  assert.deepEqual(rows.map((x) => x.target), ['linux-x64', 'linux-arm64', 'darwin-arm64', 'win32-x64', 'win32-arm64']);
  for (const x of rows) {
    assert.deepEqual(x.problems, [], x.target);
    assert.ok(x.bytes < 25 * 1024 * 1024, `${x.target}: ${x.bytes} bytes`);
  }
});

test('the check catches a package holding another platform’s binaries', async () => {
  const { checkVsix } = (await import(pathToFileURL(join(root, 'scripts', 'package-targets.mjs')).href)) as {
    checkVsix: (file: string, target: string) => { problems: string[] };
  };
  const c = checkVsix(join(root, 'dist', 'unet-lens-linux-x64.vsix'), 'win32-x64');
  assert.ok(c.problems.some((p) => p.startsWith('missing extension/node_modules/onnxruntime-node/bin/napi-v6/win32/x64/onnxruntime_binding.node')), c.problems.join('\n'));
  assert.ok(c.problems.some((p) => /holds other platforms' files: .*linux\/x64\/libonnxruntime.so.1/.test(p)), c.problems.join('\n'));
});
