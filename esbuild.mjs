// Builds the three bundles of UNet Lens:
//   dist/extension.js  the extension host side (node, `vscode` external)
//   dist/worker.js, dist/cli.js  the engine's entries (node, onnxruntime-node external and shipped)
//   dist/tfjs.js       the TF.js / Keras loaders, required by those two only for such models
//   dist/tapThread.js  a thread of the tap pool (per-tap metrics, maps), started by those two
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

// The TF.js and Keras loaders (src/engine/model/tfjsLoaders.ts) with TF.js and h5wasm, about
// 10 MB of the engine's 12, are a bundle of their own, dist/tfjs.js: worker.js and cli.js
// `require('./tfjs.js')` (next to them in dist/) only when such a model is opened, so an ONNX
// run compiles a small bundle and starts sooner.
const tfjsApart = {
  name: 'tfjs-apart',
  setup(build) {
    build.onResolve({ filter: /^\.\/tfjsLoaders$/ }, () => ({ path: './tfjs.js', external: true }));
  },
};

const builds = [
  { ...node, entryPoints: { extension: 'src/extension.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { worker: 'src/worker.ts', cli: 'src/cli.ts' }, outdir: 'dist', banner: { js: '#!/usr/bin/env node' }, plugins: [tfjsApart] },
  { ...node, entryPoints: { tfjs: 'src/engine/model/tfjsLoaders.ts' }, outdir: 'dist' },
  // The tap threads (src/engine/pipeline/tapPool.ts), next to worker.js and cli.js.
  { ...node, entryPoints: { tapThread: 'src/engine/tapThread.ts' }, outdir: 'dist' },
  // The panels' scripts are minified in every build (webview.js 596 KB → about 300 KB): the
  // webview fetches and compiles them before it can draw anything (issue 12, item 4), and the
  // offline report inlines webview.js. The linked source map still maps them back.
  { ...common, minify: true, platform: 'browser', target: 'es2022', format: 'iife', entryPoints: { webview: 'webview/main.ts', timeline: 'webview/timeline.ts' }, outdir: 'dist' },
];

mkdirSync('dist', { recursive: true });
cpSync('media', 'dist/media', { recursive: true });
// The TF.js WebAssembly backend (bundled into tfjs.js) loads its binaries at run
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
