#!/usr/bin/env node
// The test command of the README: `npm test`. Three layers (docs/ARCHITECTURE.md, "Tests"):
//   npm run test:unit          test/unit/*.test.ts: pure tests, files in parallel (one per
//                              core); no build, no type-check: the fast loop
//   npm run test:integration   builds, then test/integration/*.test.ts one file at a time
//                              (real models, the built CLI and worker, headless Chromium)
//   npm run test:fuzz          builds, then test/fuzz/*.test.ts: seeded hostile inputs through
//                              the readers and the built CLI (bombs, FIFOs, mutated files),
//                              each bounded in time and peak RSS (about 2 minutes)
//   npm run test:e2e           builds, makes sure code-server is in .cache/, then
//                              test/e2e/*.e2e.ts inside real VS Code
//   npm test                   builds and type-checks once, then all four in that order
//                              (stops at the first layer that fails)
import { spawnSync } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

const which = process.argv[2] ?? 'all';
if (!['all', 'unit', 'integration', 'fuzz', 'e2e'].includes(which)) {
  console.error(`usage: node scripts/test.mjs [all|unit|integration|fuzz|e2e] (got "${which}")`);
  process.exit(2);
}
const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    console.error(`\n${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
};
const files = (dir, suffix) =>
  existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(suffix)).sort().map((f) => join(dir, f)) : [];
const nodeTest = (label, tests, concurrency) => {
  if (tests.length === 0) {
    console.error(`no ${label} test files found`);
    process.exit(1);
  }
  const t0 = Date.now();
  console.log(`\n── ${label}: ${tests.length} files, ${concurrency} at a time`);
  run('node', ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...tests]);
  console.log(`── ${label}: passed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
};

if (which !== 'unit') run('node', ['esbuild.mjs']);
if (which === 'all') run('npx', ['tsc', '-p', '.', '--noEmit']);

if (which === 'all' || which === 'unit') nodeTest('unit', files('test/unit', '.test.ts'), availableParallelism());
if (which === 'all' || which === 'integration') nodeTest('integration', files('test/integration', '.test.ts'), 1);
if (which === 'all' || which === 'fuzz') nodeTest('fuzz', files('test/fuzz', '.test.ts'), 1);
if (which === 'all' || which === 'e2e') {
  run('bash', ['scripts/install-code-server.sh']);
  nodeTest('e2e', files('test/e2e', '.e2e.ts'), 1);
}
