#!/usr/bin/env node
// `npm run example`: build, run the analysis on the bundled example with the CLI
// (writes examples/synthetic/unetlens-out/results.json and report.html), package the
// .vsix, and install it into VS Code when a `code` (or `code-server`) command exists.
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';

const run = (cmd, args, opts = {}) => {
  console.log(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.error || r.status !== 0) {
    console.error(`${cmd} failed (${r.error?.message ?? `exit ${r.status}`})`);
    process.exit(r.status || 1);
  }
};
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

run('node', ['esbuild.mjs', '--production']);
const out = 'examples/synthetic/unetlens-out';
const t0 = Date.now();
run('node', ['dist/cli.js', 'analyze', 'examples/synthetic/model.onnx', '--data', 'examples/synthetic/unetlens.json', '--out', out]);
console.log(`\nanalysis took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`results: ${out}/results.json\nreport:  ${out}/report.html (open it in a browser; works offline)\n`);

run('npx', ['vsce', 'package', '--target', 'linux-x64', '--allow-missing-repository', '--skip-license', '--no-rewrite-relative-links', '-o', 'dist/unet-lens-linux-x64.vsix']);
const vsix = 'dist/unet-lens-linux-x64.vsix';
console.log(`packaged ${vsix} (${(statSync(vsix).size / 2 ** 20).toFixed(1)} MB)`);
for (const code of ['code', 'code-server']) {
  if (has(code)) {
    run(code, ['--install-extension', vsix, '--force']);
    console.log(`installed into ${code}: right-click examples/synthetic/model.onnx → "UNet Lens: Analyze Generalization"`);
    break;
  }
}
