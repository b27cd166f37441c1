// Builds the three bundles of UNet Lens:
//   dist/extension.js  the extension host side (node, `vscode` external)
//   dist/worker.js, dist/cli.js  the engine's entries (node, onnxruntime-node external and shipped)
//   dist/webview.js    the panel (browser, chart.js bundled); dist/timeline.js the Timeline / Compare panel
import * as esbuild from 'esbuild';
import { cpSync, mkdirSync, readdirSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const common = {
  bundle: true,
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'info',
  legalComments: 'none',
};

const node = {
  ...common,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['vscode', 'onnxruntime-node', '@tensorflow/tfjs-node'],
};

const builds = [
  { ...node, entryPoints: { extension: 'src/extension.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { worker: 'src/worker.ts', cli: 'src/cli.ts' }, outdir: 'dist', banner: { js: '#!/usr/bin/env node' } },
  { ...common, platform: 'browser', target: 'es2022', format: 'iife', entryPoints: { webview: 'webview/main.ts', timeline: 'webview/timeline.ts' }, outdir: 'dist' },
];

mkdirSync('dist', { recursive: true });
cpSync('media', 'dist/media', { recursive: true });
// The TF.js WebAssembly backend (bundled into worker.js / cli.js) loads its binaries at run
// time from the folder given to setWasmPaths: the bundle's own folder (src/engine/model/tfjsRuntime.ts).
// Under Node it never uses the threaded build (tfjs-backend-wasm turns threads off there).
const wasmDir = 'node_modules/@tensorflow/tfjs-backend-wasm/dist';
for (const f of readdirSync(wasmDir)) {
  if (f.endsWith('.wasm') && !f.includes('threaded')) cpSync(`${wasmDir}/${f}`, `dist/${f}`);
}

if (watch) {
  for (const b of builds) (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
