#!/usr/bin/env node
// The test command of the README: `npm test`.
// Builds the bundles, type-checks, makes sure code-server is in .cache/ (for the
// end-to-end tests inside real VS Code), then runs every test file in one node:test run.
//   npm test            unit + integration + e2e
//   npm run test:unit   unit + integration only
//   npm run test:e2e    e2e only
import { spawnSync } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const which = process.argv[2] ?? 'all';
const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    console.error(`\n${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
};
const files = (dir, suffix) =>
  existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(suffix)).sort().map((f) => join(dir, f)) : [];

run('node', ['esbuild.mjs']);
run('npx', ['tsc', '-p', '.', '--noEmit']);

const tests = [];
if (which === 'all' || which === 'unit') tests.push(...files('test/unit', '.test.ts'), ...files('test/integration', '.test.ts'));
if (which === 'all' || which === 'e2e') {
  run('bash', ['scripts/install-code-server.sh']);
  tests.push(...files('test/e2e', '.e2e.ts'));
}
if (tests.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
run('node', ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...tests]);
